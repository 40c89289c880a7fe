/* SPDX-License-Identifier: MIT */
/*
 * The simulated device's PCI side, driven directly through its vfio-user
 * device callbacks (no socket): configuration space and capabilities, BAR
 * sizing, feature negotiation, the status machine, queue configuration,
 * device configuration, the pci_cfg_access window, interrupts and bounds;
 * and one loopback frame through rings written by hand, then a broken ring.
 *
 * vfu_dma_ptr() and vfu_server_fd() are replaced here (no server): IOVA
 * BASE.. maps the array mem[].
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "compiler.h"
#include "sim/sim_dev.h"

#define CFG 7 /* VFIO_PCI_CONFIG_REGION_INDEX */
#define BASE 0x200000ull

static uint8_t mem[0x10000] __attribute__((aligned(4096)));

void *vfu_dma_ptr(struct vfu_server *s, uint64_t iova, uint64_t len, bool write)
{
	if (iova < BASE || iova - BASE > sizeof(mem) || len > sizeof(mem) - (iova - BASE))
		return NULL;
	return mem + (iova - BASE);
}

int vfu_server_fd(const struct vfu_server *s)
{
	return -1;
}

/* All of mem is mapped: nothing is reached by DMA message here. */
int vfu_dma_rw(struct vfu_server *s, uint64_t iova, void *buf, uint64_t len, bool write)
{
	return -EFAULT;
}

static const struct vfu_dev_ops *ops = &sim_dev_ops;

static uint32_t rd(struct sim_dev *d, unsigned idx, uint64_t off, uint32_t len)
{
	uint32_t v = 0;

	assert_int_equal(ops->region_read(d, idx, off, &v, len), 0);
	return v;
}

static void wr(struct sim_dev *d, unsigned idx, uint64_t off, uint32_t v, uint32_t len)
{
	assert_int_equal(ops->region_write(d, idx, off, &v, len), 0);
}

static struct sim_dev *dev_new(unsigned queues)
{
	struct sim_params p;
	struct sim_dev *d;

	sim_params_default(&p);
	p.queues = queues;
	assert_int_equal(sim_dev_new(&p, 0, &d), 0);
	return d;
}

/* Offset of the first virtio capability of cfg_type, or 0. */
static unsigned find_vcap(struct sim_dev *d, unsigned type)
{
	unsigned at = rd(d, CFG, PCI_CAPABILITY_LIST, 1), n;

	for (n = 0; at && n < 48; n++) {
		assert_true(at >= 0x40 && at < 0x100 && !(at & 3));
		if (rd(d, CFG, at, 1) == PCI_CAP_ID_VNDR && rd(d, CFG, at + 3, 1) == type)
			return at;
		at = rd(d, CFG, at + 1, 1);
	}
	assert_int_equal(at, 0); /* the list ends */
	return 0;
}

static unsigned find_cap(struct sim_dev *d, unsigned id)
{
	unsigned at = rd(d, CFG, PCI_CAPABILITY_LIST, 1), n;

	for (n = 0; at && n < 48; n++, at = rd(d, CFG, at + 1, 1))
		if (rd(d, CFG, at, 1) == id)
			return at;
	return 0;
}

static void test_identity(void **state)
{
	struct sim_dev *d = dev_new(1);

	assert_int_equal(rd(d, CFG, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(rd(d, CFG, PCI_DEVICE_ID, 2), 0x1041);
	assert_int_equal(rd(d, CFG, PCI_REVISION_ID, 1), 1);
	assert_int_equal(rd(d, CFG, PCI_CLASS_REVISION, 4) >> 8, 0x020000);
	assert_true(rd(d, CFG, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(rd(d, CFG, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	/* unimplemented bytes read 0; read-only fields ignore writes */
	assert_int_equal(rd(d, CFG, 0x200, 4), 0);
	wr(d, CFG, PCI_VENDOR_ID, 0x1234, 2);
	assert_int_equal(rd(d, CFG, PCI_VENDOR_ID, 2), 0x1af4);
	sim_dev_free(d);
}

static void test_capabilities(void **state)
{
	struct sim_dev *d = dev_new(2);
	static const struct { unsigned type, off, min_len; } want[] = {
		{ VIRTIO_PCI_CAP_COMMON_CFG, 0x0000, 56 },
		{ VIRTIO_PCI_CAP_NOTIFY_CFG, 0x3000, 5 * 4 },
		{ VIRTIO_PCI_CAP_ISR_CFG, 0x1000, 1 },
		{ VIRTIO_PCI_CAP_DEVICE_CFG, 0x2000, 12 },
	};
	unsigned i, at;

	for (i = 0; i < VN_ARRAY_SIZE(want); i++) {
		at = find_vcap(d, want[i].type);
		assert_int_not_equal(at, 0);
		assert_int_equal(rd(d, CFG, at + 4, 1), 0); /* BAR0 */
		assert_int_equal(rd(d, CFG, at + 8, 4), want[i].off);
		assert_true(rd(d, CFG, at + 12, 4) >= want[i].min_len);
		assert_true(rd(d, CFG, at + 8, 4) + rd(d, CFG, at + 12, 4) <= SIM_BAR0_SIZE);
	}
	at = find_vcap(d, VIRTIO_PCI_CAP_NOTIFY_CFG);
	assert_int_equal(rd(d, CFG, at + 2, 1), 20);
	assert_int_equal(rd(d, CFG, at + 16, 4), 4); /* notify_off_multiplier */
	assert_int_not_equal(find_vcap(d, VIRTIO_PCI_CAP_PCI_CFG), 0);

	at = find_cap(d, PCI_CAP_ID_MSIX);
	assert_int_not_equal(at, 0);
	assert_int_equal((rd(d, CFG, at + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1, 2 * 2 + 2);
	assert_int_equal(rd(d, CFG, at + PCI_MSIX_TABLE, 4), SIM_MSIX_BAR); /* offset 0, BIR 2 */
	assert_int_equal(rd(d, CFG, at + PCI_MSIX_PBA, 4), SIM_PBA_OFF | SIM_MSIX_BAR);
	/* the MSI-X table is stored for read-back */
	wr(d, SIM_MSIX_BAR, 16, 0xfee00000, 4);
	assert_int_equal(rd(d, SIM_MSIX_BAR, 16, 4), 0xfee00000);
	assert_int_equal(rd(d, SIM_MSIX_BAR, SIM_PBA_OFF, 4), 0);
	sim_dev_free(d);
}

static void test_bar_sizing(void **state)
{
	struct sim_dev *d = dev_new(1);

	wr(d, CFG, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	wr(d, CFG, PCI_BASE_ADDRESS_1, 0xffffffff, 4);
	wr(d, CFG, PCI_BASE_ADDRESS_2, 0xffffffff, 4);
	wr(d, CFG, PCI_BASE_ADDRESS_3, 0xffffffff, 4);
	assert_int_equal(rd(d, CFG, PCI_BASE_ADDRESS_0, 4),
			 (uint32_t)~(SIM_BAR0_SIZE - 1) | PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(rd(d, CFG, PCI_BASE_ADDRESS_1, 4), 0xffffffff);
	assert_int_equal(rd(d, CFG, PCI_BASE_ADDRESS_2, 4), (uint32_t)~(SIM_BAR2_SIZE - 1));
	assert_int_equal(rd(d, CFG, PCI_BASE_ADDRESS_3, 4), 0); /* no BAR3 */
	wr(d, CFG, PCI_BASE_ADDRESS_0, 0xfe001234, 4);
	wr(d, CFG, PCI_BASE_ADDRESS_1, 0, 4);
	assert_int_equal(rd(d, CFG, PCI_BASE_ADDRESS_0, 4), 0xfe000000 | PCI_BASE_ADDRESS_MEM_TYPE_64);
	sim_dev_free(d);
}

#define COMMON(f) offsetof(struct virtio_pci_common_cfg, f)

static uint64_t device_features(struct sim_dev *d)
{
	wr(d, 0, COMMON(device_feature_select), 0, 4);
	uint64_t lo = rd(d, 0, COMMON(device_feature), 4);
	wr(d, 0, COMMON(device_feature_select), 1, 4);
	return lo | (uint64_t)rd(d, 0, COMMON(device_feature), 4) << 32;
}

static void set_driver_features(struct sim_dev *d, uint64_t f)
{
	wr(d, 0, COMMON(guest_feature_select), 0, 4);
	wr(d, 0, COMMON(guest_feature), (uint32_t)f, 4);
	wr(d, 0, COMMON(guest_feature_select), 1, 4);
	wr(d, 0, COMMON(guest_feature), (uint32_t)(f >> 32), 4);
}

static uint8_t status(struct sim_dev *d)
{
	return (uint8_t)rd(d, 0, COMMON(device_status), 1);
}

/* Acknowledge, driver, features, FEATURES_OK; returns the status read back. */
static uint8_t negotiate(struct sim_dev *d, uint64_t f)
{
	wr(d, 0, COMMON(device_status), 0, 1);
	wr(d, 0, COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	wr(d, 0, COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	set_driver_features(d, f);
	wr(d, 0, COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	   VIRTIO_CONFIG_S_FEATURES_OK, 1);
	return status(d);
}

static void test_features(void **state)
{
	struct sim_dev *d = dev_new(1), *d2 = dev_new(2);
	uint64_t f = device_features(d);
	uint64_t v1 = 1ull << VIRTIO_F_VERSION_1;

	assert_true(f & v1);
	assert_true(f & 1ull << VIRTIO_F_ACCESS_PLATFORM);
	assert_true(f & 1ull << VIRTIO_RING_F_EVENT_IDX);
	assert_true(f & 1ull << VIRTIO_NET_F_MRG_RXBUF);
	assert_true(f & 1ull << VIRTIO_NET_F_CTRL_VQ);
	assert_true(f & 1ull << VIRTIO_NET_F_MAC);
	assert_false(f & 1ull << VIRTIO_NET_F_MQ); /* one pair: no MQ */
	/* loopback offers the offloads (dev_offload=on, the default) */
	assert_true(f & 1ull << VIRTIO_NET_F_CSUM);
	assert_true(f & 1ull << VIRTIO_NET_F_HOST_TSO4);
	assert_true(f & 1ull << VIRTIO_NET_F_GUEST_TSO6);
	assert_true(device_features(d2) & 1ull << VIRTIO_NET_F_MQ);
	/* a selector past the features reads 0 */
	wr(d, 0, COMMON(device_feature_select), 7, 4);
	assert_int_equal(rd(d, 0, COMMON(device_feature), 4), 0);

	/* refused: no VERSION_1 */
	assert_false(negotiate(d, 1ull << VIRTIO_NET_F_MAC) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* refused: a bit not offered */
	assert_false(negotiate(d, v1 | 1ull << VIRTIO_NET_F_GUEST_ECN) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* refused: HOST_TSO4 without CSUM, GUEST_TSO6 without GUEST_CSUM (§5.1.3.1) */
	assert_false(negotiate(d, v1 | 1ull << VIRTIO_NET_F_HOST_TSO4) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_false(negotiate(d, v1 | 1ull << VIRTIO_NET_F_GUEST_TSO6) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_true(negotiate(d, v1 | 1ull << VIRTIO_NET_F_GUEST_TSO6 | 1ull << VIRTIO_NET_F_GUEST_CSUM) &
		    VIRTIO_CONFIG_S_FEATURES_OK);
	/* accepted: a subset with VERSION_1 */
	assert_true(negotiate(d, v1 | 1ull << VIRTIO_NET_F_MAC) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* features are frozen after FEATURES_OK */
	set_driver_features(d, f);
	wr(d, 0, COMMON(guest_feature_select), 0, 4);
	assert_int_equal(rd(d, 0, COMMON(guest_feature), 4), 1u << VIRTIO_NET_F_MAC);
	sim_dev_free(d);
	sim_dev_free(d2);
}

static void test_status_machine(void **state)
{
	struct sim_dev *d = dev_new(1);

	/* DRIVER_OK before FEATURES_OK: NEEDS_RESET */
	wr(d, 0, COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	wr(d, 0, COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	   VIRTIO_CONFIG_S_DRIVER_OK, 1);
	assert_true(status(d) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(sim_dev_running(d));
	/* the driver cannot clear NEEDS_RESET except by a reset */
	wr(d, 0, COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	assert_true(status(d) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* queue set up, then reset clears it */
	negotiate(d, 1ull << VIRTIO_F_VERSION_1);
	assert_int_equal(status(d) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	wr(d, 0, COMMON(queue_select), 1, 2);
	wr(d, 0, COMMON(queue_size), 64, 2);
	wr(d, 0, COMMON(queue_desc_lo), 0x10000, 4);
	wr(d, 0, COMMON(queue_desc_hi), 0x1, 4);
	wr(d, 0, COMMON(queue_msix_vector), 2, 2);
	wr(d, 0, COMMON(queue_enable), 1, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_desc_hi), 4), 1);
	assert_int_equal(rd(d, 0, COMMON(queue_enable), 2), 1);
	/* enabled: configuration is frozen */
	wr(d, 0, COMMON(queue_size), 32, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_size), 2), 64);
	assert_int_equal(rd(d, 0, COMMON(queue_notify_off), 2), 1);
	wr(d, 0, COMMON(device_status), 0, 1);
	assert_int_equal(status(d), 0);
	wr(d, 0, COMMON(queue_select), 1, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_size), 2), 256);
	assert_int_equal(rd(d, 0, COMMON(queue_enable), 2), 0);
	assert_int_equal(rd(d, 0, COMMON(queue_desc_lo), 4), 0);
	assert_int_equal(rd(d, 0, COMMON(queue_msix_vector), 2), VIRTIO_MSI_NO_VECTOR);
	sim_dev_free(d);
}

static void test_queue_config(void **state)
{
	struct sim_dev *d = dev_new(1);

	assert_int_equal(rd(d, 0, COMMON(num_queues), 2), 3); /* rx0, tx0, ctrl */
	wr(d, 0, COMMON(queue_select), 0, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_size), 2), 256);
	wr(d, 0, COMMON(queue_size), 100, 2); /* not a power of 2 */
	assert_int_equal(rd(d, 0, COMMON(queue_size), 2), 256);
	wr(d, 0, COMMON(queue_size), 512, 2); /* above the maximum */
	assert_int_equal(rd(d, 0, COMMON(queue_size), 2), 256);
	wr(d, 0, COMMON(queue_size), 0, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_size), 2), 256);
	wr(d, 0, COMMON(queue_size), 128, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_size), 2), 128);
	/* vectors beyond the table read back as NO_VECTOR */
	wr(d, 0, COMMON(queue_msix_vector), 4, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_msix_vector), 2), VIRTIO_MSI_NO_VECTOR);
	wr(d, 0, COMMON(queue_msix_vector), 3, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_msix_vector), 2), 3);
	wr(d, 0, COMMON(msix_config), 0x8000, 2);
	assert_int_equal(rd(d, 0, COMMON(msix_config), 2), VIRTIO_MSI_NO_VECTOR);
	/* a nonexistent queue reads size 0 and ignores writes */
	wr(d, 0, COMMON(queue_select), 3, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_size), 2), 0);
	wr(d, 0, COMMON(queue_enable), 1, 2);
	assert_int_equal(rd(d, 0, COMMON(queue_enable), 2), 0);
	/* 64-bit address as one 8-byte access */
	wr(d, 0, COMMON(queue_select), 2, 2);
	uint64_t a = 0x123456789abcdef0ull, back = 0;
	assert_int_equal(ops->region_write(d, 0, COMMON(queue_used_lo), &a, 8), 0);
	assert_int_equal(ops->region_read(d, 0, COMMON(queue_used_lo), &back, 8), 0);
	assert_true(back == a);
	/* wrong width for a field */
	uint32_t v = 1;
	assert_int_equal(ops->region_write(d, 0, COMMON(queue_size), &v, 4), -EINVAL);
	sim_dev_free(d);
}

static void test_device_cfg(void **state)
{
	struct sim_params p;
	struct sim_dev *d;
	uint8_t mac[6];
	unsigned i, gen;
	int efd;
	uint64_t cnt = 0;

	sim_params_default(&p);
	assert_int_equal(sim_params_set(&p, "mac", "02:11:22:33:44:55"), 0);
	assert_int_equal(sim_params_set(&p, "queues", "4"), 0);
	assert_int_equal(sim_params_set(&p, "mtu", "9000"), 0);
	assert_int_equal(sim_dev_new(&p, 0, &d), 0);
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)rd(d, 0, SIM_DEVCFG_OFF + i, 1);
	assert_memory_equal(mac, ((uint8_t[]){ 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 }), 6);
	assert_int_equal(rd(d, 0, SIM_DEVCFG_OFF + 6, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(rd(d, 0, SIM_DEVCFG_OFF + 8, 2), 4);
	assert_int_equal(rd(d, 0, SIM_DEVCFG_OFF + 10, 2), 9000);
	/* read-only: writes ignored */
	wr(d, 0, SIM_DEVCFG_OFF, 0, 4);
	assert_int_equal(rd(d, 0, SIM_DEVCFG_OFF, 1), 0x02);

	/* a configuration change bumps config_generation, sets ISR bit 1 and
	 * signals the config vector's eventfd */
	efd = eventfd(0, EFD_NONBLOCK);
	assert_true(efd >= 0);
	ops->set_irqs(d, 2, 0, 1, &efd);
	wr(d, 0, COMMON(msix_config), 0, 2);
	gen = rd(d, 0, COMMON(config_generation), 1);
	sim_dev_config_changed(d, true);
	assert_int_equal(rd(d, 0, COMMON(config_generation), 1), (gen + 1) & 0xff);
	assert_int_equal(read(efd, &cnt, 8), 8);
	assert_int_equal(cnt, 1);
	assert_int_equal(rd(d, 0, SIM_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(rd(d, 0, SIM_ISR_OFF, 1), 0); /* read clears */
	/* after the IRQ routing is dropped nothing is signalled */
	ops->set_irqs(d, 2, 0, 0, NULL);
	sim_dev_config_changed(d, true);
	assert_int_equal(read(efd, &cnt, 8), -1);
	close(efd);
	sim_dev_free(d);
}

static void test_bounds(void **state)
{
	struct sim_dev *d = dev_new(1);
	uint8_t buf[16] = { 0 };

	assert_int_equal(ops->region_read(d, 0, SIM_BAR0_SIZE, buf, 4), -EINVAL);
	assert_int_equal(ops->region_read(d, 0, SIM_BAR0_SIZE - 2, buf, 4), -EINVAL);
	assert_int_equal(ops->region_read(d, 0, 0, buf, 3), -EINVAL);
	assert_int_equal(ops->region_read(d, 0, 0, buf, 16), -EINVAL);
	assert_int_equal(ops->region_read(d, 0, 0, buf, 0), -EINVAL);
	assert_int_equal(ops->region_read(d, 0, 0x0ffe, buf, 4), -EINVAL); /* crosses structures */
	assert_int_equal(ops->region_read(d, 0, UINT64_MAX, buf, 4), -EINVAL);
	assert_int_equal(ops->region_write(d, 0, UINT64_MAX - 1, buf, 4), -EINVAL);
	assert_int_equal(ops->region_read(d, 1, 0, buf, 4), -EINVAL); /* upper half of BAR0 */
	assert_int_equal(ops->region_read(d, 5, 0, buf, 4), -EINVAL);
	assert_int_equal(ops->region_read(d, 9, 0, buf, 4), -EINVAL);
	assert_int_equal(ops->region_read(d, CFG, SIM_CFG_SIZE - 1, buf, 2), -EINVAL);
	assert_int_equal(ops->region_write(d, CFG, SIM_CFG_SIZE, buf, 1), -EINVAL);
	assert_int_equal(ops->region_read(d, SIM_MSIX_BAR, SIM_BAR2_SIZE - 4, buf, 8), -EINVAL);
	/* config space accepts any length inside it */
	assert_int_equal(ops->region_read(d, CFG, 0, buf, 16), 0);
	assert_int_equal(buf[0], 0xf4);
	/* notify area: writes accepted, reads 0 */
	wr(d, 0, SIM_NOTIFY_OFF, 0, 2);
	wr(d, 0, SIM_NOTIFY_OFF + 0x800, 0, 2);
	assert_int_equal(rd(d, 0, SIM_NOTIFY_OFF, 2), 0);
	sim_dev_free(d);
}

static void test_pci_cfg_window(void **state)
{
	struct sim_dev *d = dev_new(1);
	unsigned at = find_vcap(d, VIRTIO_PCI_CAP_PCI_CFG);
	uint32_t v;

	assert_int_not_equal(at, 0);
	/* read the first 4 MAC bytes through the window */
	wr(d, CFG, at + 4, 0, 1);
	wr(d, CFG, at + 8, SIM_DEVCFG_OFF, 4);
	wr(d, CFG, at + 12, 4, 4);
	assert_int_equal(rd(d, CFG, at + 8, 4), SIM_DEVCFG_OFF);
	v = rd(d, CFG, at + 16, 4);
	assert_int_equal(v, 0x006e7602); /* 02:76:6e:00 little-endian */
	/* write device_status through the window */
	wr(d, CFG, at + 8, COMMON(device_status), 4);
	wr(d, CFG, at + 12, 1, 4);
	wr(d, CFG, at + 16, VIRTIO_CONFIG_S_ACKNOWLEDGE, 4);
	assert_int_equal(status(d), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(rd(d, CFG, at + 16, 1), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* a bad length or an unaligned offset selects nothing: reads 0 */
	wr(d, CFG, at + 12, 3, 4);
	assert_int_equal(rd(d, CFG, at + 16, 4), 0);
	wr(d, CFG, at + 8, SIM_DEVCFG_OFF + 1, 4);
	wr(d, CFG, at + 12, 2, 4);
	assert_int_equal(rd(d, CFG, at + 16, 4), 0);
	/* another BAR selects nothing either */
	wr(d, CFG, at + 8, SIM_DEVCFG_OFF, 4);
	wr(d, CFG, at + 4, 2, 1);
	assert_int_equal(rd(d, CFG, at + 16, 4), 0);
	sim_dev_free(d);
}

/* Ring layout in mem[] for queue q (size 8). */
#define QSZ 8
#define RING(q) (0x1000u * (3 * (q)))
#define DESC_OF(q) ((struct vring_desc *)(void *)(mem + RING(q)))
#define AVAIL_OF(q) ((struct vring_avail *)(void *)(mem + RING(q) + 0x1000))
#define USED_OF(q) ((struct vring_used *)(void *)(mem + RING(q) + 0x2000))
#define BUF 0x8000u

static void queue_setup(struct sim_dev *d, unsigned q, uint16_t vector)
{
	wr(d, 0, COMMON(queue_select), q, 2);
	wr(d, 0, COMMON(queue_size), QSZ, 2);
	wr(d, 0, COMMON(queue_msix_vector), vector, 2);
	wr(d, 0, COMMON(queue_desc_lo), (uint32_t)(BASE + RING(q)), 4);
	wr(d, 0, COMMON(queue_avail_lo), (uint32_t)(BASE + RING(q) + 0x1000), 4);
	wr(d, 0, COMMON(queue_used_lo), (uint32_t)(BASE + RING(q) + 0x2000), 4);
	wr(d, 0, COMMON(queue_enable), 1, 2);
}

static void post(unsigned q, unsigned i, uint32_t off, uint32_t len, uint16_t flags, uint16_t next)
{
	DESC_OF(q)[i] = (struct vring_desc){ .addr = BASE + off, .len = len, .flags = flags,
					     .next = next };
}

static void make_avail(unsigned q, uint16_t head)
{
	AVAIL_OF(q)->ring[AVAIL_OF(q)->idx % QSZ] = head;
	AVAIL_OF(q)->idx++;
}

static uint64_t irqs(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, 8) == 8 ? v : 0;
}

static void test_datapath(void **state)
{
	static char fake_server;
	struct virtio_net_hdr_v1 h;
	struct sim_params p;
	struct sim_dev *d;
	int fds[3], i;

	memset(mem, 0, sizeof(mem));
	sim_params_default(&p);
	assert_int_equal(sim_dev_new(&p, 0, &d), 0);
	d->srv = (struct vfu_server *)(void *)&fake_server;
	for (i = 0; i < 3; i++)
		assert_true((fds[i] = eventfd(0, EFD_NONBLOCK)) >= 0);
	ops->set_irqs(d, 2, 0, 3, fds); /* config, rx0, tx0 */
	negotiate(d, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_ACCESS_PLATFORM);
	wr(d, 0, COMMON(msix_config), 0, 2);
	queue_setup(d, 0, 1);
	queue_setup(d, 1, 2);
	wr(d, 0, COMMON(device_status), status(d) | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	assert_true(sim_dev_running(d));

	/* one RX buffer; one TX frame as header + payload descriptors */
	post(0, 0, BUF, 2048, VRING_DESC_F_WRITE, 0);
	make_avail(0, 0);
	for (i = 0; i < 60; i++)
		mem[BUF + 0x1000 + 12 + i] = (uint8_t)(i < 6 ? d->mac[i] : i);
	post(1, 4, BUF + 0x1000, 12, VRING_DESC_F_NEXT, 5);
	post(1, 5, BUF + 0x1000 + 12, 60, 0, 0);
	make_avail(1, 4);
	/* Bus Master Enable is clear after reset: the device must not DMA. */
	assert_int_equal(sim_mode_service(d), 0);
	assert_int_equal(USED_OF(0)->idx, 0);
	assert_int_equal(d->vq[1].last_avail, 0);
	wr(d, CFG, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_int_equal(sim_mode_service(d), 1);
	sim_net_flush(d);

	assert_int_equal(USED_OF(0)->idx, 1);
	assert_int_equal(USED_OF(0)->ring[0].id, 0);
	assert_int_equal(USED_OF(0)->ring[0].len, 12 + 60);
	memcpy(&h, mem + BUF, sizeof(h));
	assert_int_equal(h.num_buffers, 1);
	assert_memory_equal(mem + BUF + 12, mem + BUF + 0x1000 + 12, 60);
	assert_int_equal(USED_OF(1)->idx, 1);
	assert_int_equal(USED_OF(1)->ring[0].id, 4);
	assert_int_equal(USED_OF(1)->ring[0].len, 0);
	assert_int_equal(irqs(fds[1]), 1);
	assert_int_equal(irqs(fds[2]), 1);
	assert_int_equal(irqs(fds[0]), 0);
	assert_int_equal(d->st.qp[0].tx_frames, 1);
	assert_int_equal(d->st.qp[0].rx_frames, 1);

	/* a TX frame with no RX buffer waits (loopback is lossless) */
	make_avail(1, 4);
	assert_int_equal(sim_mode_service(d), 0);
	assert_int_equal(d->vq[1].last_avail, 1);

	/* a chain naming a descriptor beyond the ring: NEEDS_RESET + config irq */
	make_avail(0, 0);
	post(1, 4, BUF + 0x1000, 12, VRING_DESC_F_NEXT, QSZ + 3);
	assert_int_equal(sim_mode_service(d), 0);
	assert_true(status(d) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(sim_dev_running(d));
	assert_int_equal(irqs(fds[0]), 1);
	assert_int_equal(d->st.bad_desc, 1);
	assert_int_equal(rd(d, 0, SIM_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG | 1);

	/* reset brings it back */
	wr(d, 0, COMMON(device_status), 0, 1);
	assert_int_equal(status(d), 0);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	sim_dev_free(d);
}

/* The INTx eventfd's count since the last call (0: not signalled). */
static uint64_t fired(int efd)
{
	uint64_t cnt = 0;

	return read(efd, &cnt, sizeof(cnt)) == sizeof(cnt) ? cnt : 0;
}

/*
 * Legacy INTx (virtio 1.2 §4.1.4.5, VFIO's automask): without MSI-X an
 * interrupt sets ISR and signals the INTx eventfd, then the line stays
 * masked until unmasked; an unmask while ISR is still set fires again;
 * reading ISR returns and clears it. irq=intx hides MSI-X altogether.
 */
static void test_intx(void **state)
{
	struct vfu_server_cfg cfg;
	struct sim_params p;
	struct sim_dev *d;
	int efd = eventfd(0, EFD_NONBLOCK), mfd = eventfd(0, EFD_NONBLOCK);

	assert_true(efd >= 0 && mfd >= 0);
	sim_params_default(&p);
	assert_int_equal(sim_params_set(&p, "irq", "msi"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "irq", "intx"), 0);
	assert_int_equal(sim_dev_new(&p, 0, &d), 0);
	assert_int_equal(rd(d, CFG, PCI_INTERRUPT_PIN, 1), 1); /* INTA# */
	assert_int_equal(find_cap(d, PCI_CAP_ID_MSIX), 0);
	sim_dev_server_cfg(d, &cfg);
	assert_int_equal(cfg.irq_count[0], 1);
	assert_int_equal(cfg.irq_count[2], 0);
	assert_int_equal(cfg.regions[SIM_MSIX_BAR].size, 0);
	wr(d, 0, COMMON(msix_config), 0, 2);
	assert_int_equal(rd(d, 0, COMMON(msix_config), 2), VIRTIO_MSI_NO_VECTOR);

	ops->set_irqs(d, 0, 0, 1, &efd);
	sim_dev_config_changed(d, true);
	assert_int_equal(fired(efd), 1);
	assert_int_equal(d->st.intx, 1);
	/* masked since: a queue interrupt only sets its ISR bit */
	sim_dev_irq_vq(d, 0);
	assert_int_equal(fired(efd), 0);
	/* unmasked with ISR still set: the line is still asserted, it fires */
	assert_int_equal(ops->irq_mask(d, 0, 0, 1, false), 0);
	assert_int_equal(fired(efd), 1);
	assert_int_equal(rd(d, 0, SIM_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG | 1);
	assert_int_equal(rd(d, 0, SIM_ISR_OFF, 1), 0); /* read clears */
	/* ISR read, then unmasked: quiet until the next interrupt */
	assert_int_equal(ops->irq_mask(d, 0, 0, 1, false), 0);
	assert_int_equal(fired(efd), 0);
	/* masked by the driver: held until unmasked */
	assert_int_equal(ops->irq_mask(d, 0, 0, 1, true), 0);
	sim_dev_irq_vq(d, 0);
	assert_int_equal(fired(efd), 0);
	assert_int_equal(ops->irq_mask(d, 0, 0, 1, false), 0);
	assert_int_equal(fired(efd), 1);
	assert_int_equal(rd(d, 0, SIM_ISR_OFF, 1), 1);
	/* Interrupt Disable (command register bit 10) keeps the line quiet */
	assert_int_equal(ops->irq_mask(d, 0, 0, 1, false), 0);
	wr(d, CFG, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	sim_dev_irq_vq(d, 0);
	assert_int_equal(fired(efd), 0);
	wr(d, CFG, PCI_COMMAND, 0, 2);
	assert_int_equal(ops->irq_mask(d, 0, 0, 1, false), 0);
	assert_int_equal(fired(efd), 1);
	assert_int_equal(d->st.intx, 4);
	/* only INTx masks; unrouted, nothing is signalled */
	assert_int_equal(ops->irq_mask(d, 2, 0, 1, true), -ENOTSUP);
	ops->set_irqs(d, 0, 0, 0, NULL);
	(void)rd(d, 0, SIM_ISR_OFF, 1);
	sim_dev_irq_vq(d, 0);
	assert_int_equal(fired(efd), 0);
	sim_dev_free(d);

	/* With MSI-X routed, interrupts go there and INTx stays quiet. */
	d = dev_new(1);
	ops->set_irqs(d, 0, 0, 1, &efd);
	ops->set_irqs(d, 2, 0, 1, &mfd);
	wr(d, 0, COMMON(msix_config), 0, 2);
	sim_dev_config_changed(d, true);
	assert_int_equal(fired(mfd), 1);
	assert_int_equal(fired(efd), 0);
	/* MSI-X torn down: INTx takes over */
	ops->set_irqs(d, 2, 0, 0, NULL);
	sim_dev_config_changed(d, true);
	assert_int_equal(fired(efd), 1);
	assert_int_equal(fired(mfd), 0);
	sim_dev_free(d);
	close(efd);
	close(mfd);
}

static void test_params(void **state)
{
	struct sim_params p;

	sim_params_default(&p);
	assert_int_equal(sim_params_set(&p, "queues", "0"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "queues", "9"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "queues", "2x"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "queues", "-1"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "qsize", "100"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "qsize", "2048"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "mtu", "67"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "mtu", "9001"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "mac", "02:00:00:00:00"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "mac", "02:00:00:00:00:0g"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "mac", "01:00:00:00:00:00"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "fault", "explode"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "fault", "drop_irq@x"), -EINVAL);
	assert_int_equal(sim_params_set(&p, "speed", "1"), -EINVAL);
	assert_int_equal(sim_params_mode(&p, "bridge", ""), -EINVAL);
	assert_int_equal(sim_params_mode(&p, "tap", ""), -EINVAL);
	assert_int_equal(sim_params_mode(&p, "tap", "a-name-far-too-long"), -EINVAL);
	/* nothing above changed the defaults */
	assert_int_equal(p.queues, 1);
	assert_int_equal(p.qsize, 256);
	assert_int_equal(p.mtu, 1500);
	assert_int_equal(p.fault, SIM_FAULT_NONE);

	assert_int_equal(sim_params_set(&p, "qsize", "1024"), 0);
	assert_int_equal(sim_params_set(&p, "fault", "dup_used_id@1000"), 0);
	assert_int_equal(p.fault, SIM_FAULT_DUP_USED_ID);
	assert_int_equal(p.fault_after, 1000);
	assert_int_equal(sim_params_set(&p, "size", "1514"), 0);
	assert_int_equal(sim_params_check(&p), 0);
	assert_int_equal(sim_params_set(&p, "size", "1515"), 0);
	assert_int_equal(sim_params_check(&p), -EINVAL);
	assert_int_equal(sim_params_mode(&p, "tap", "vn0"), 0);
	assert_int_equal(p.mode, SIM_TAP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_bar_sizing),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_status_machine),
		cmocka_unit_test(test_queue_config),
		cmocka_unit_test(test_device_cfg),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_pci_cfg_window),
		cmocka_unit_test(test_datapath),
		cmocka_unit_test(test_intx),
		cmocka_unit_test(test_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
