/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci transport against a fake devio: config space bytes and a
 * BAR0 array in the test. The fake answers the common config selectors
 * (feature and queue select) like a device; everything else is memory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <linux/virtio_pci.h>

#include "log.h"
#include "virtio/virtio_pci.h"

#define BAR_SIZE 0x4000u
#define COMMON_OFF 0x0000u
#define NOTIFY_OFF 0x1000u
#define ISR_OFF 0x2000u
#define DEV_OFF 0x3000u
#define CC(f) (COMMON_OFF + offsetof(struct virtio_pci_common_cfg, f))

struct fdev {
	struct vn_devio d;
	uint8_t cfg[256];
	uint8_t bar[BAR_SIZE];
	bool mmap;
	bool msix_refuse;
	uint64_t offered;
	uint16_t qmax, notify_off;
	unsigned maps, writes;
	/* IRQs (fops_irq only): INTx vectors offered, the last set_irqs() and
	 * irq_unmask() calls. */
	uint32_t intx;
	unsigned irq_idx, irq_start, irq_count, unmasks, unmask_idx;
	int irq_fd;
};

static struct fdev *to_f(struct vn_devio *d)
{
	return (struct fdev *)(void *)d;
}

static int f_info(struct vn_devio *d, unsigned idx, struct vn_region_info *ri)
{
	ri->size = idx == 0 ? BAR_SIZE : idx == 7 ? 256 : 0;
	ri->flags = VN_REGION_READ | VN_REGION_WRITE | (to_f(d)->mmap ? VN_REGION_MMAP : 0);
	return 0;
}

static uint8_t *at(struct fdev *f, unsigned idx, uint64_t off, size_t len)
{
	if (idx == 7 && off + len <= sizeof(f->cfg))
		return f->cfg + off;
	if (idx == 0 && off + len <= sizeof(f->bar))
		return f->bar + off;
	fail_msg("access outside the fake regions: %u +0x%llx", idx, (unsigned long long)off);
	return NULL;
}

static int f_read(struct vn_devio *d, unsigned idx, uint64_t off, void *buf, size_t len)
{
	memcpy(buf, at(to_f(d), idx, off, len), len);
	return 0;
}

static void set16(struct fdev *f, unsigned off, uint16_t v) { memcpy(f->bar + off, &v, 2); }
static void set32(struct fdev *f, unsigned off, uint32_t v) { memcpy(f->bar + off, &v, 4); }
static uint32_t get32(struct fdev *f, unsigned off) { uint32_t v; memcpy(&v, f->bar + off, 4); return v; }

static int f_write(struct vn_devio *d, unsigned idx, uint64_t off, const void *buf, size_t len)
{
	struct fdev *f = to_f(d);
	uint32_t v = 0;

	f->writes++;
	memcpy(at(f, idx, off, len), buf, len);
	memcpy(&v, buf, len < 4 ? len : 4);
	/* The few registers whose reads depend on a write. */
	if (idx == 0 && off == CC(device_feature_select))
		set32(f, CC(device_feature), (uint32_t)(f->offered >> (v ? 32 : 0)));
	if (idx == 0 && off == CC(queue_select)) {
		set16(f, CC(queue_size), v < 3 ? f->qmax : 0);
		set16(f, CC(queue_notify_off), f->notify_off);
	}
	if (idx == 0 && off == CC(queue_msix_vector) && f->msix_refuse)
		set16(f, CC(queue_msix_vector), VIRTIO_MSI_NO_VECTOR);
	return 0;
}

static int f_map(struct vn_devio *d, unsigned idx, uint64_t off, size_t len, void **va)
{
	struct fdev *f = to_f(d);

	if (!f->mmap)
		return -ENOTSUP;
	f->maps++;
	*va = at(f, idx, off, len);
	return 0;
}

static void f_close(struct vn_devio *d)
{
	(void)d;
}

static const struct vn_devio_ops fops = {
	.region_info = f_info, .region_read = f_read, .region_write = f_write,
	.region_map = f_map, .close = f_close,
};

static int f_irq_info(struct vn_devio *d, unsigned idx, uint32_t *count)
{
	*count = idx == 0 ? to_f(d)->intx : 0;
	return 0;
}

static int f_set_irqs(struct vn_devio *d, unsigned idx, unsigned start, unsigned count,
		      const int *fds)
{
	struct fdev *f = to_f(d);

	f->irq_idx = idx;
	f->irq_start = start;
	f->irq_count = count;
	f->irq_fd = count ? fds[0] : -1;
	return 0;
}

static int f_irq_unmask(struct vn_devio *d, unsigned idx, unsigned start, unsigned count)
{
	struct fdev *f = to_f(d);

	assert_int_equal(start, 0);
	assert_int_equal(count, 1);
	f->unmasks++;
	f->unmask_idx = idx;
	return 0;
}

/* fops with interrupts. */
static const struct vn_devio_ops fops_irq = {
	.region_info = f_info, .region_read = f_read, .region_write = f_write,
	.region_map = f_map, .irq_info = f_irq_info, .set_irqs = f_set_irqs,
	.irq_unmask = f_irq_unmask, .close = f_close,
};

static void put_cap(struct fdev *f, uint8_t pos, uint8_t next, uint8_t type, uint8_t bar,
		    uint32_t off, uint32_t len)
{
	struct virtio_pci_cap c = {
		.cap_vndr = 0x09, .cap_next = next, .cap_len = sizeof(c), .cfg_type = type,
		.bar = bar, .offset = off, .length = len,
	};

	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		c.cap_len = sizeof(struct virtio_pci_notify_cap);
	memcpy(f->cfg + pos, &c, sizeof(c));
}

/* A well-formed modern virtio device: caps at 0x40, 0x54 (notify), 0x70, 0x80. */
static void fdev_init(struct fdev *f, bool mmap)
{
	uint32_t mult = 4;

	memset(f, 0, sizeof(*f));
	f->d.ops = &fops;
	f->d.access = "fake";
	f->mmap = mmap;
	f->offered = 0x300000021ull;
	f->qmax = 256;
	f->notify_off = 3;
	memcpy(f->cfg, "\xf4\x1a\x41\x10", 4); /* virtio-net, modern: 1af4:1041 */
	f->cfg[0x06] = 0x10; /* status: capability list */
	f->cfg[0x34] = 0x40;
	/* A non-virtio capability first (MSI-X, id 0x11) that must be skipped. */
	put_cap(f, 0x40, 0x54, VIRTIO_PCI_CAP_COMMON_CFG, 0, COMMON_OFF,
		sizeof(struct virtio_pci_common_cfg));
	put_cap(f, 0x54, 0x70, VIRTIO_PCI_CAP_NOTIFY_CFG, 0, NOTIFY_OFF, 0x100);
	memcpy(f->cfg + 0x54 + 16, &mult, 4);
	put_cap(f, 0x70, 0x80, VIRTIO_PCI_CAP_ISR_CFG, 0, ISR_OFF, 4);
	put_cap(f, 0x80, 0x90, VIRTIO_PCI_CAP_DEVICE_CFG, 0, DEV_OFF, 0x20);
	f->cfg[0x90] = 0x11; /* MSI-X: not ours, skipped */
	f->cfg[0x91] = 0;
	memcpy(f->bar + DEV_OFF, "\x52\x54\x00\x12\x34\x56", 6);
}

/* INTx is routed (IRQ index 0, one eventfd) only when the function has
 * the line and an ISR structure and the device access can unmask; ISR is
 * one byte read of the ISR structure; unmask is index 0, vector 0. */
static void test_intx(void **state)
{
	struct vn_vtr *t;
	struct fdev f;
	uint8_t isr = 0;

	(void)state;
	fdev_init(&f, false);
	f.d.ops = &fops_irq;
	f.intx = 1;
	assert_int_equal(vpci_open(&f.d, &t), 0);
	assert_int_equal(t->ops->intx_route(t, 42), 0);
	assert_int_equal(f.irq_idx, 0);
	assert_int_equal(f.irq_start, 0);
	assert_int_equal(f.irq_count, 1);
	assert_int_equal(f.irq_fd, 42);
	f.bar[ISR_OFF] = VIRTIO_PCI_ISR_CONFIG | 1;
	assert_int_equal(t->ops->isr_read(t, &isr), 0);
	assert_int_equal(isr, VIRTIO_PCI_ISR_CONFIG | 1);
	assert_int_equal(t->ops->intx_unmask(t), 0);
	assert_int_equal(f.unmasks, 1);
	assert_int_equal(f.unmask_idx, 0);
	assert_int_equal(t->ops->intx_route(t, -1), 0);
	assert_int_equal(f.irq_count, 0);
	/* No interrupt pin: no INTx. */
	f.intx = 0;
	assert_int_equal(t->ops->intx_route(t, 42), -ENOTSUP);
	t->ops->close(t);

	/* No ISR structure, then no unmask operation: refused as well. */
	fdev_init(&f, false);
	f.d.ops = &fops_irq;
	f.intx = 1;
	f.cfg[0x70 + 3] = 0x7f; /* the ISR capability becomes an unknown type */
	assert_int_equal(vpci_open(&f.d, &t), 0);
	assert_int_equal(t->ops->intx_route(t, 42), -ENOTSUP);
	assert_int_equal(t->ops->isr_read(t, &isr), -ENOTSUP);
	t->ops->close(t);
	fdev_init(&f, false);
	assert_int_equal(vpci_open(&f.d, &t), 0);
	assert_int_equal(t->ops->intx_route(t, 42), -ENOTSUP);
	assert_int_equal(t->ops->intx_unmask(t), -ENOTSUP);
	t->ops->close(t);
}

static void test_transport_ops(void **state)
{
	struct fdev f;
	struct vn_vtr *t;
	struct vn_vtr_queue q = { .size = 128, .msix_vector = VIRTIO_MSI_NO_VECTOR,
				  .desc = 0x1122334455667788ull, .driver = 0x10000, .device = 0x20000 };
	struct vn_vtr_notify n = { .with_data = false };
	uint64_t feat;
	uint8_t st, mac[4];
	uint16_t max, nq;

	(void)state;
	fdev_init(&f, false);
	set16(&f, CC(num_queues), 3);
	assert_int_equal(vpci_open(&f.d, &t), 0);
	assert_int_equal(t->ops->get_features(t, &feat), 0);
	assert_int_equal(feat, 0x300000021ull);
	assert_int_equal(t->ops->set_features(t, 0x100000001ull), 0);
	/* The last half written is the high one, selected by 1. */
	assert_int_equal(get32(&f, CC(guest_feature_select)), 1);
	assert_int_equal(get32(&f, CC(guest_feature)), 1);
	assert_int_equal(t->ops->set_status(t, 3), 0);
	assert_int_equal(f.bar[CC(device_status)], 3);
	assert_int_equal(t->ops->get_status(t, &st), 0);
	assert_int_equal(st, 3);
	assert_int_equal(t->ops->num_queues(t, &nq), 0);
	assert_int_equal(nq, 3);
	assert_int_equal(t->ops->queue_max(t, 1, &max), 0);
	assert_int_equal(max, 256);
	assert_int_equal(t->ops->cfg_read(t, 0, mac, 4), 0);
	assert_memory_equal(mac, "\x52\x54\x00\x12", 4);
	assert_int_equal(t->ops->cfg_read(t, 0x1e, mac, 4), -EINVAL); /* past its 0x20 bytes */
	assert_int_equal(t->ops->queue_setup(t, 1, &q, &n), 0);
	assert_int_equal(get32(&f, CC(queue_desc_lo)), 0x55667788);
	assert_int_equal(get32(&f, CC(queue_desc_hi)), 0x11223344);
	assert_int_equal(get32(&f, CC(queue_avail_lo)), 0x10000);
	assert_int_equal(get32(&f, CC(queue_used_lo)), 0x20000);
	assert_int_equal(f.bar[CC(queue_size)], 128);
	assert_int_equal(f.bar[CC(queue_enable)], 1);
	/* Not mapped: the doorbell is a region write at offset + 3 * 4. */
	assert_null(n.reg);
	assert_int_equal(n.off, NOTIFY_OFF + 12);
	vn_vtr_kick(&n);
	assert_int_equal(f.bar[NOTIFY_OFF + 12], 1);
	/* A size that is no power of two, or over the maximum. */
	q.size = 96;
	assert_int_equal(t->ops->queue_setup(t, 1, &q, &n), -EINVAL);
	q.size = 512;
	assert_int_equal(t->ops->queue_setup(t, 1, &q, &n), -EINVAL);
	/* The MSI-X vector must read back as written. */
	q.size = 64;
	q.msix_vector = 1;
	f.msix_refuse = true;
	assert_int_equal(t->ops->queue_setup(t, 1, &q, &n), -EIO);
	assert_non_null(strstr(vn_err_msg(), "read back"));
	/* A notify offset outside the notify structure. */
	f.msix_refuse = false;
	f.notify_off = 0x40;
	assert_int_equal(t->ops->queue_setup(t, 1, &q, &n), -EINVAL);
	t->ops->close(t);
}

static void test_mapped(void **state)
{
	struct fdev f;
	struct vn_vtr *t;
	struct vn_vtr_queue q = { .size = 64, .msix_vector = VIRTIO_MSI_NO_VECTOR };
	struct vn_vtr_notify n = { .with_data = false };
	uint8_t st;

	(void)state;
	fdev_init(&f, true);
	set16(&f, CC(queue_size), 256);
	assert_int_equal(vpci_open(&f.d, &t), 0);
	assert_int_equal(f.maps, 4);
	/* Registers are plain loads and stores now: no region writes. */
	f.writes = 0;
	assert_int_equal(t->ops->set_status(t, 7), 0);
	assert_int_equal(f.bar[CC(device_status)], 7);
	f.bar[CC(device_status)] = 0x47;
	assert_int_equal(t->ops->get_status(t, &st), 0);
	assert_int_equal(st, 0x47);
	set16(&f, CC(queue_notify_off), 5);
	assert_int_equal(t->ops->queue_setup(t, 2, &q, &n), 0);
	assert_ptr_equal((void *)n.reg, f.bar + NOTIFY_OFF + 20);
	vn_vtr_kick(&n);
	assert_int_equal(f.bar[NOTIFY_OFF + 20], 2);
	assert_int_equal(f.writes, 0);
	t->ops->close(t);
}

static void bad(struct fdev *f, int want, const char *words)
{
	struct vn_vtr *t = NULL;

	vn_err_clear();
	assert_int_equal(vpci_open(&f->d, &t), want);
	assert_null(t);
	if (!strstr(vn_err_msg(), words))
		fail_msg("\"%s\" not in \"%s\"", words, vn_err_msg());
}

static void test_malformed_caps(void **state)
{
	struct vn_vtr *t;
	struct fdev f;
	uint32_t odd = 3;

	(void)state;
	/* other functions are refused by their IDs, before the capabilities */
	fdev_init(&f, false);
	memcpy(f.cfg, "\x86\x80\xd3\x10", 4); /* an Intel 82574L NIC */
	bad(&f, -ENODEV, "not a virtio-net device (vendor:device 8086:10d3)");
	fdev_init(&f, false);
	memcpy(f.cfg, "\xf4\x1a\x42\x10", 4); /* virtio-block */
	bad(&f, -ENODEV, "not a virtio-net device (vendor:device 1af4:1042)");
	/* the transitional virtio-net ID (QEMU's default) offers the modern interface too */
	fdev_init(&f, false);
	memcpy(f.cfg + 2, "\x00\x10", 2);
	assert_int_equal(vpci_open(&f.d, &t), 0);
	t->ops->close(t);

	fdev_init(&f, false);
	f.cfg[0x06] = 0;
	bad(&f, -ENODEV, "no PCI capability list");

	fdev_init(&f, false);
	f.cfg[0x81] = 0x54; /* device cfg -> notify: a loop */
	bad(&f, -EINVAL, "loops back to 0x54");

	fdev_init(&f, false);
	f.cfg[0x41] = 0x40; /* points at itself */
	bad(&f, -EINVAL, "loops back to 0x40");

	fdev_init(&f, false);
	f.cfg[0x40 + 4] = 7;
	bad(&f, -EINVAL, "names BAR 7");

	fdev_init(&f, false);
	put_cap(&f, 0x70, 0x80, VIRTIO_PCI_CAP_ISR_CFG, 0, BAR_SIZE - 2, 4);
	bad(&f, -EINVAL, "past the end of BAR 0");

	fdev_init(&f, false);
	put_cap(&f, 0x80, 0x90, VIRTIO_PCI_CAP_DEVICE_CFG, 0, 0xfffffffc, 0xffffffff);
	bad(&f, -EINVAL, "past the end of BAR 0");

	fdev_init(&f, false);
	put_cap(&f, 0x80, 0x90, VIRTIO_PCI_CAP_DEVICE_CFG, 0, DEV_OFF + 2, 0x20);
	bad(&f, -EINVAL, "not 4-byte aligned");

	fdev_init(&f, false);
	put_cap(&f, 0x40, 0x54, VIRTIO_PCI_CAP_COMMON_CFG, 0, COMMON_OFF, 0x20);
	bad(&f, -EINVAL, "less than 56");

	fdev_init(&f, false);
	f.cfg[0x40 + 2] = 8; /* cap_len too short to hold the structure */
	bad(&f, -EINVAL, "less than 16");

	fdev_init(&f, false);
	memcpy(f.cfg + 0x54 + 16, &odd, 4);
	bad(&f, -EINVAL, "notify_off_multiplier 3");

	fdev_init(&f, false);
	f.cfg[0x34] = 0x20; /* into the standard header */
	bad(&f, -EINVAL, "outside config space");

	fdev_init(&f, false);
	f.cfg[0x91] = 0xfc; /* a capability that runs past config space */
	f.cfg[0xfc] = 0x09;
	bad(&f, -EINVAL, "runs past config space");

	fdev_init(&f, false);
	f.cfg[0x40 + 3] = 0x7; /* common config becomes an unknown type */
	bad(&f, -ENODEV, "no common config capability");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transport_ops),
		cmocka_unit_test(test_mapped),
		cmocka_unit_test(test_malformed_caps),
		cmocka_unit_test(test_intx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
