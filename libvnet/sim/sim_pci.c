/* SPDX-License-Identifier: MIT */
/*
 * The PCI function of the simulated device: configuration space with the
 * virtio capabilities (virtio 1.2 §4.1.4) and MSI-X, the BARs (BAR0's
 * virtio structures are sim_virtio.c's; BAR2 holds the MSI-X table), the
 * vfio-user device callbacks, and the device's life cycle.
 *
 * BAR0 is a 64-bit memory BAR, so it also occupies BAR slot 1; MSI-X lives
 * in BAR2 (the capabilities say where everything is; drivers must not guess).
 * Interrupt Pin is INTA, so legacy INTx (IRQ index 0, one vector) is there
 * too; with irq=intx the MSI-X capability, BAR2 and the MSI-X IRQ index are
 * absent, like QEMU's virtio-net-pci with vectors=0.
 *
 * Every offset and length a client sends is untrusted: accesses are bounds
 * checked, unimplemented bytes read as 0 and writes to read-only fields are
 * ignored.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "log.h"
#include "sim/sim_dev.h"

/* Capability list layout in configuration space. */
#define CAP_COMMON 0x40
#define CAP_NOTIFY 0x50
#define CAP_ISR 0x64
#define CAP_DEVICE 0x74
#define CAP_PCI 0x84
#define CAP_MSIX 0x98
#define CAP_PCI_DATA (CAP_PCI + 16)
#define COMMON_LEN ((uint32_t)sizeof(struct virtio_pci_common_cfg))
#define DEVCFG_LEN 12u /* mac, status, max_virtqueue_pairs, mtu */
/* rss=on: up to supported_hash_types (virtio 1.2 §5.1.4), the whole struct. */
#define DEVCFG_LEN_RSS ((uint32_t)sizeof(struct virtio_net_config))
#define BAR0_FLAGS PCI_BASE_ADDRESS_MEM_TYPE_64

/* ---- BAR2 --------------------------------------------------------------- */

static int bar2_access(struct sim_dev *d, uint32_t off, void *buf, uint32_t len, bool write)
{
	/* MSI-X table entries are stored for the driver to read back; delivery
	 * goes through the eventfds the client routed (set_irqs). The PBA is
	 * always 0: nothing is ever held pending. */
	if (off + len <= d->n_vectors * 16u) {
		if (write)
			memcpy(d->msix_table + off, buf, len);
		else
			memcpy(buf, d->msix_table + off, len);
	} else if (!write) {
		memset(buf, 0, len);
	}
	return 0;
}

/* ---- configuration space ----------------------------------------------- */

static void put_cap(struct sim_dev *d, unsigned at, unsigned next, unsigned len,
		    unsigned type, uint32_t off, uint32_t length)
{
	uint8_t *c = d->cfg + at;

	c[0] = PCI_CAP_ID_VNDR; /* §4.1.4: virtio structures are vendor capabilities */
	c[1] = (uint8_t)next;
	c[2] = (uint8_t)len;
	c[3] = (uint8_t)type;
	c[4] = 0; /* BAR0 */
	sim_put32(c + 8, off);
	sim_put32(c + 12, length);
}

static void cfg_init(struct sim_dev *d)
{
	uint8_t *c = d->cfg;

	memset(c, 0, SIM_CFG_SIZE);
	sim_put16(c + PCI_VENDOR_ID, 0x1af4);   /* §4.1.2: Red Hat, Inc. */
	sim_put16(c + PCI_DEVICE_ID, 0x1041);   /* §4.1.2: 0x1040 + 1 (network) */
	sim_put16(c + PCI_STATUS, PCI_STATUS_CAP_LIST);
	c[PCI_REVISION_ID] = 1;             /* §4.1.2.1: modern devices >= 1 */
	c[PCI_CLASS_DEVICE + 1] = 0x02;     /* class 0x020000: Ethernet controller */
	sim_put32(c + PCI_BASE_ADDRESS_0, BAR0_FLAGS);
	sim_put16(c + PCI_SUBSYSTEM_VENDOR_ID, 0x1af4);
	sim_put16(c + PCI_SUBSYSTEM_ID, 0x0001);
	c[PCI_INTERRUPT_PIN] = 1; /* PCI 3.0 §6.2.4: INTA# */
	c[PCI_CAPABILITY_LIST] = CAP_COMMON;
	put_cap(d, CAP_COMMON, CAP_NOTIFY, 16, VIRTIO_PCI_CAP_COMMON_CFG, SIM_COMMON_OFF, COMMON_LEN);
	put_cap(d, CAP_NOTIFY, CAP_ISR, 20, VIRTIO_PCI_CAP_NOTIFY_CFG, SIM_NOTIFY_OFF,
		d->n_vqs * SIM_NOTIFY_MULT);
	sim_put32(c + CAP_NOTIFY + 16, SIM_NOTIFY_MULT);
	put_cap(d, CAP_ISR, CAP_DEVICE, 16, VIRTIO_PCI_CAP_ISR_CFG, SIM_ISR_OFF, 1);
	put_cap(d, CAP_DEVICE, CAP_PCI, 16, VIRTIO_PCI_CAP_DEVICE_CFG, SIM_DEVCFG_OFF,
		d->p.rss ? DEVCFG_LEN_RSS : DEVCFG_LEN);
	/* §4.1.4.9: the window's bar/offset/length are the driver's to set. */
	put_cap(d, CAP_PCI, d->n_vectors ? CAP_MSIX : 0, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
	if (d->n_vectors) {
		c[CAP_MSIX] = PCI_CAP_ID_MSIX;
		c[CAP_MSIX + 1] = 0;
		sim_put16(c + CAP_MSIX + PCI_MSIX_FLAGS, (uint16_t)(d->n_vectors - 1));
		sim_put32(c + CAP_MSIX + PCI_MSIX_TABLE, SIM_MSIX_BAR);
		sim_put32(c + CAP_MSIX + PCI_MSIX_PBA, SIM_PBA_OFF | SIM_MSIX_BAR);
	}
	d->bar0 = 0;
	d->bar2 = 0;
	memset(d->msix_table, 0, sizeof(d->msix_table));
}

/* §4.1.4.9: the pci_cfg_access window onto BAR0; NULL when it does not select
 * a usable range (bar 0, length 1/2/4, aligned, inside the BAR). */
static bool window(const struct sim_dev *d, uint32_t *off, uint32_t *len)
{
	*off = sim_get32(d->cfg + CAP_PCI + 8);
	*len = sim_get32(d->cfg + CAP_PCI + 12);
	return d->cfg[CAP_PCI + 4] == 0 && (*len == 1 || *len == 2 || *len == 4) &&
	       !(*off % *len) && *off < SIM_BAR0_SIZE;
}

static void cfg_dword_write(struct sim_dev *d, uint32_t at, uint32_t v, uint32_t mask)
{
	uint32_t old = sim_get32(d->cfg + at), off, len;
	uint8_t data[4];

	v = (old & ~mask) | (v & mask);
	switch (at) {
	case PCI_COMMAND:
		/* Memory space, bus master and INTx disable are kept; status is RO. */
		v = (old & 0xffff0000u) |
		    (v & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE));
		break;
	case PCI_BASE_ADDRESS_0: /* BAR sizing: the size bits read back as 0 */
		d->bar0 = (d->bar0 & ~0xffffffffull) | (v & ~(SIM_BAR0_SIZE - 1));
		v = (uint32_t)d->bar0 | BAR0_FLAGS;
		break;
	case PCI_BASE_ADDRESS_1: /* upper half of the 64-bit BAR0 */
		d->bar0 = (d->bar0 & 0xffffffffull) | ((uint64_t)v << 32);
		break;
	case PCI_BASE_ADDRESS_2:
		d->bar2 = v & ~(SIM_BAR2_SIZE - 1);
		v = d->bar2;
		break;
	case PCI_INTERRUPT_LINE & ~3u: /* only the line byte is writable */
		v = (old & ~0xffu) | (v & 0xffu);
		break;
	case CAP_PCI + 4: /* bar byte of the window */
		v = (old & ~0xffu) | (v & 0xffu);
		break;
	case CAP_PCI + 8:
	case CAP_PCI + 12:
		break;
	case CAP_PCI_DATA:
		if (window(d, &off, &len)) {
			sim_put32(data, v);
			sim_bar0_write(d, off, data, len);
		}
		return; /* the data register itself keeps nothing */
	case CAP_MSIX: /* message control: only enable and function mask */
		if (!d->n_vectors)
			return; /* irq=intx: no capability here */
		v = (old & ~((uint32_t)(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) << 16)) |
		    (v & ((uint32_t)(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) << 16));
		break;
	default:
		return; /* read-only */
	}
	sim_put32(d->cfg + at, v);
}

static int cfg_write(struct sim_dev *d, uint32_t off, const uint8_t *buf, uint32_t len)
{
	uint32_t at, i;

	/* Merge the written bytes into each dword they touch. */
	for (at = off & ~3u; at < off + len; at += 4) {
		uint8_t v[4] = { 0 };
		uint32_t mask = 0;

		for (i = 0; i < 4; i++) {
			if (at + i >= off && at + i < off + len) {
				v[i] = buf[at + i - off];
				mask |= 0xffu << (8 * i);
			}
		}
		cfg_dword_write(d, at, sim_get32(v), mask);
	}
	return 0;
}

static void cfg_read(struct sim_dev *d, uint32_t off, uint8_t *buf, uint32_t len)
{
	uint32_t woff, wlen, i;
	uint8_t data[4] = { 0 };

	memcpy(buf, d->cfg + off, len);
	if (off >= CAP_PCI_DATA + 4 || off + len <= CAP_PCI_DATA)
		return;
	if (window(d, &woff, &wlen))
		sim_bar0_read(d, woff, data, wlen);
	for (i = 0; i < 4; i++)
		if (CAP_PCI_DATA + i >= off && CAP_PCI_DATA + i < off + len)
			buf[CAP_PCI_DATA + i - off] = data[i];
}

/* ---- vfio-user device callbacks ---------------------------------------- */

/* 0 when [off, off+len) lies in a region of size bytes (registers: 1, 2, 4, 8 bytes). */
static int check(uint64_t off, uint32_t len, uint64_t size, bool reg)
{
	if (!len || off > size || len > size - off ||
	    (reg && len != 1 && len != 2 && len != 4 && len != 8))
		return -EINVAL;
	return 0;
}

static int ops_read(void *dev, unsigned idx, uint64_t off, void *buf, uint32_t len)
{
	struct sim_dev *d = dev;

	if (idx == 0 && !check(off, len, SIM_BAR0_SIZE, true))
		return sim_bar0_read(d, (uint32_t)off, buf, len);
	if (idx == SIM_MSIX_BAR && d->n_vectors && !check(off, len, SIM_BAR2_SIZE, true))
		return bar2_access(d, (uint32_t)off, buf, len, false);
	if (idx == 7 && !check(off, len, SIM_CFG_SIZE, false)) { /* VFIO_PCI_CONFIG_REGION_INDEX */
		cfg_read(d, (uint32_t)off, buf, len);
		return 0;
	}
	return vn_err(-EINVAL, "region %u: no access at %#llx+%u", idx, (unsigned long long)off, len);
}

static int ops_write(void *dev, unsigned idx, uint64_t off, const void *buf, uint32_t len)
{
	struct sim_dev *d = dev;

	if (idx == 0 && !check(off, len, SIM_BAR0_SIZE, true))
		return sim_bar0_write(d, (uint32_t)off, buf, len);
	if (idx == SIM_MSIX_BAR && d->n_vectors && !check(off, len, SIM_BAR2_SIZE, true))
		return bar2_access(d, (uint32_t)off, (void *)(uintptr_t)buf, len, true);
	if (idx == 7 && !check(off, len, SIM_CFG_SIZE, false))
		return cfg_write(d, (uint32_t)off, buf, len);
	return vn_err(-EINVAL, "region %u: no access at %#llx+%u", idx, (unsigned long long)off, len);
}

static void irqs_off(struct sim_dev *d)
{
	for (unsigned i = 0; i < SIM_MAX_VECTORS; i++)
		d->irq_fd[i] = -1;
	d->msix_routed = 0;
	d->intx_fd = -1;
	d->intx_masked = false;
}

static void ops_set_irqs(void *dev, unsigned idx, unsigned start, unsigned count,
			 const int *fds)
{
	struct sim_dev *d = dev;
	unsigned i;

	if (idx == 0) { /* VFIO_PCI_INTX_IRQ_INDEX: one vector */
		/* VFIO uAPI: a newly set INTx trigger starts unmasked. */
		d->intx_fd = count && start == 0 ? fds[0] : -1;
		d->intx_masked = false;
		return;
	}
	if (idx != 2) /* VFIO_PCI_MSIX_IRQ_INDEX */
		return;
	if (!count)
		for (i = 0; i < SIM_MAX_VECTORS; i++)
			d->irq_fd[i] = -1;
	for (i = 0; i < count && start + i < d->n_vectors; i++)
		d->irq_fd[start + i] = fds[i];
	/* Over vfio-user, routing MSI-X vectors is what enables MSI-X (as
	 * VFIO_DEVICE_SET_IRQS on the MSI-X index does in vfio-pci). */
	d->msix_routed = 0;
	for (i = 0; i < d->n_vectors; i++)
		d->msix_routed += d->irq_fd[i] >= 0;
}

static int ops_irq_mask(void *dev, unsigned idx, unsigned start, unsigned count, bool masked)
{
	struct sim_dev *d = dev;

	/* The server checked the range: for INTx it is vector 0. */
	(void)start;
	(void)count;
	if (idx != 0)
		return vn_err(-ENOTSUP, "sim: only INTx can be masked (IRQ index %u)", idx);
	if (masked)
		d->intx_masked = true;
	else
		sim_dev_intx_unmask(d);
	return 0;
}

/* The interrupt routing stays (vfu_server.h): the server keeps the fds.
 * VFIO_DEVICE_RESET restores the configuration state vfio-pci saved before
 * the function reset (pci_save_state()/pci_restore_state()): a driver
 * finds bus mastering and MSI-X as it left them; a new client does not. */
static void ops_reset(void *dev, bool client_gone)
{
	struct sim_dev *d = dev;
	uint32_t cmd = sim_get32(d->cfg + PCI_COMMAND), msix = sim_get32(d->cfg + CAP_MSIX);

	sim_virtio_reset(d);
	cfg_init(d);
	if (!client_gone) {
		cfg_dword_write(d, PCI_COMMAND, cmd, 0xffff);
		if (d->n_vectors)
			cfg_dword_write(d, CAP_MSIX, msix, 0xffff0000u);
	}
	d->vanished = false;
}

static void ops_dma_unmap(void *dev, uint64_t iova, uint64_t len)
{
	struct sim_dev *d = dev;
	unsigned q;

	/* Cheap and always safe: every ring is translated again before use. */
	for (q = 0; q < d->n_vqs; q++)
		sim_vq_unmap(&d->vq[q]);
}

const struct vfu_dev_ops sim_dev_ops = {
	.region_read = ops_read,
	.region_write = ops_write,
	.set_irqs = ops_set_irqs,
	.irq_mask = ops_irq_mask,
	.reset = ops_reset,
	.dma_unmap = ops_dma_unmap,
};

/* ---- life cycle -------------------------------------------------------- */

int sim_dev_new(const struct sim_params *p, unsigned end, struct sim_dev **out)
{
	struct sim_dev *d = calloc(1, sizeof(*d));
	unsigned q;
	int err;

	if (!d)
		return vn_err(-ENOMEM, "sim: out of memory");
	d->buf = malloc(SIM_HDR_LEN + SIM_GSO_MAX);
	if (!d->buf) {
		free(d);
		return vn_err(-ENOMEM, "sim: out of memory");
	}
	d->p = *p;
	d->n_vqs = 2 * p->queues + 1; /* rx0, tx0, ..., ctrl (§5.1.2) */
	d->n_vectors = p->intx_only ? 0 : p->vectors ? p->vectors : 2 * p->queues + 2;
	d->tap_fd = -1;
	for (q = 0; q < SIM_MAX_VQS; q++)
		d->kick_fd[q] = -1;
	for (q = 0; q < d->n_vqs; q++) {
		d->kick_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->kick_fd[q] < 0) {
			err = vn_err(-errno, "sim: eventfd: %m");
			sim_dev_free(d);
			return err;
		}
		d->vq[q].max_size = (uint16_t)p->qsize;
	}
	d->end = end;
	d->offered = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_ACCESS_PLATFORM |
		     1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_NET_F_MAC |
		     1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_MTU |
		     1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_CTRL_VQ |
		     1ull << VIRTIO_NET_F_CTRL_RX | 1ull << VIRTIO_NET_F_CTRL_VLAN |
		     1ull << VIRTIO_NET_F_CTRL_MAC_ADDR | 1ull << VIRTIO_F_RING_PACKED |
		     1ull << VIRTIO_F_IN_ORDER;
	if (p->notify_data)
		d->offered |= 1ull << VIRTIO_F_NOTIFICATION_DATA;
	if (p->queues > 1)
		d->offered |= 1ull << VIRTIO_NET_F_MQ;
	if (p->rss)
		d->offered |= 1ull << VIRTIO_NET_F_RSS;
	if (p->coalesce)
		d->offered |= 1ull << VIRTIO_NET_F_NOTF_COAL;
	/* Offloads where the device moves frames between drivers; tap, sink
	 * and source have none (sim_offload.c). */
	if (p->offload && (p->mode == SIM_LOOPBACK || p->mode == SIM_PAIR))
		d->offered |= 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
			      1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6 |
			      1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6;
	d->st.n_pairs = p->queues;
	irqs_off(d);
	ops_reset(d, true);
	err = sim_mode_init(d);
	if (err) {
		sim_dev_free(d);
		return err;
	}
	*out = d;
	return 0;
}

void sim_dev_free(struct sim_dev *d)
{
	unsigned q;

	if (!d)
		return;
	sim_mode_fini(d);
	for (q = 0; q < SIM_MAX_VQS; q++)
		if (d->kick_fd[q] >= 0)
			close(d->kick_fd[q]);
	free(d->buf);
	free(d);
}

void sim_dev_server_cfg(struct sim_dev *d, struct vfu_server_cfg *cfg)
{
	struct vfu_region *r;
	unsigned q;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ops = &sim_dev_ops;
	cfg->dev = d;
	cfg->dma_budget = d->p.mem;
	r = &cfg->regions[0];
	r->size = SIM_BAR0_SIZE;
	r->flags = VN_REGION_READ | VN_REGION_WRITE;
	r->mmap_fd = -1;
	/* Doorbells as ioeventfds: a kick costs the client one eventfd write,
	 * no message (2-byte writes, §4.1.4.4). */
	for (q = 0; q < d->n_vqs; q++) {
		r->ioeventfd[q].off = SIM_NOTIFY_OFF + q * SIM_NOTIFY_MULT;
		r->ioeventfd[q].size = 2;
		r->ioeventfd[q].fd = d->kick_fd[q];
	}
	r->n_ioeventfd = d->n_vqs;
	r = &cfg->regions[SIM_MSIX_BAR];
	r->size = d->n_vectors ? SIM_BAR2_SIZE : 0;
	r->flags = VN_REGION_READ | VN_REGION_WRITE;
	r->mmap_fd = -1;
	r = &cfg->regions[7];
	r->size = SIM_CFG_SIZE;
	r->flags = VN_REGION_READ | VN_REGION_WRITE;
	r->mmap_fd = -1;
	cfg->irq_count[0] = 1; /* INTx (VFIO_PCI_INTX_IRQ_INDEX) */
	cfg->irq_count[2] = d->n_vectors;
}
