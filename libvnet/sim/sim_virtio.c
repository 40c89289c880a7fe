/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci transport of the simulated device (virtio 1.2 §4.1.4): the
 * structures BAR0 holds (common configuration, ISR status, device
 * configuration, notifications), the device status state machine (§2.1,
 * §3.1) and interrupts. sim_pci.c routes BAR0 accesses here, already bounds
 * checked to 1, 2, 4 or 8 bytes inside the BAR.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "log.h"
#include "sim/sim_dev.h"

bool sim_dev_has(const struct sim_dev *d, unsigned feature)
{
	return (d->driver_features >> feature) & 1;
}

bool sim_dev_running(const struct sim_dev *d)
{
	return (d->status & (VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK |
			     VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) ==
		       (VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !d->vanished;
}

/* ---- interrupts -------------------------------------------------------- */

/*
 * Legacy INTx (virtio 1.2 §4.1.4.5, §4.1.5.3-4): the line is asserted
 * while ISR status is non-zero; reading ISR de-asserts it. The driver sees
 * it the way vfio-pci shows it: each trigger signals the eventfd and masks
 * the line until the driver unmasks it (VFIO_IRQ_SET_ACTION_UNMASK), and
 * PCI 3.0 §6.2.2 Command bit 10 (Interrupt Disable) keeps it quiet.
 */
static void intx_fire(struct sim_dev *d)
{
	uint64_t one = 1;

	if (d->intx_fd < 0 || d->intx_masked || !d->isr ||
	    (d->cfg[PCI_COMMAND + 1] & (PCI_COMMAND_INTX_DISABLE >> 8)) ||
	    sim_fault_due(d, SIM_FAULT_DROP_IRQ))
		return;
	d->intx_masked = true;
	SIM_INC(d->st.intx);
	if (write(d->intx_fd, &one, sizeof(one)) != sizeof(one))
		vn_debug("sim: INTx: eventfd write failed");
}

void sim_dev_intx_unmask(struct sim_dev *d)
{
	d->intx_masked = false;
	intx_fire(d); /* level-triggered: still asserted, so it fires again */
}

static void irq_send(struct sim_dev *d, uint16_t vector)
{
	uint64_t one = 1;

	/* virtio 1.2 §4.1.5.3-4: with MSI-X off, notifications go through
	 * INTx and the ISR bits the caller set. */
	if (!d->msix_routed) {
		intx_fire(d);
		return;
	}
	if (sim_fault_due(d, SIM_FAULT_DROP_IRQ))
		return;
	/* VFIO uAPI: a routed MSI-X vector is an eventfd; signal it by adding 1. */
	if (vector < d->n_vectors && d->irq_fd[vector] >= 0 &&
	    write(d->irq_fd[vector], &one, sizeof(one)) != sizeof(one))
		vn_debug("sim: MSI-X vector %u: eventfd write failed", vector);
}

void sim_dev_irq_vq(struct sim_dev *d, unsigned q)
{
	d->isr |= 0x1; /* §4.1.4.5: bit 0, queue interrupt */
	if (q / 2 < d->p.queues)
		SIM_INC(d->st.qp[q / 2].irqs);
	irq_send(d, d->vq[q].msix_vector);
}

void sim_dev_irq_config(struct sim_dev *d)
{
	d->isr |= VIRTIO_PCI_ISR_CONFIG; /* §4.1.4.5: configuration change bit */
	irq_send(d, d->config_vector);
}

void sim_dev_config_changed(struct sim_dev *d, bool notify)
{
	/* §4.1.4.3.1: config_generation changes with the device configuration. */
	d->generation++;
	if (notify)
		sim_dev_irq_config(d);
}

void sim_dev_fail(struct sim_dev *d, int err)
{
	if (err == -EPROTO || err == -EFAULT)
		SIM_INC(d->st.bad_desc);
	if (d->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	vn_warn("sim: device error, setting DEVICE_NEEDS_RESET: %s", vn_err_msg());
	/* §2.1.2: the device sets NEEDS_RESET and, when DRIVER_OK is set, sends
	 * a configuration change notification. */
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (d->status & VIRTIO_CONFIG_S_DRIVER_OK)
		sim_dev_irq_config(d);
}

/* ---- reset and start --------------------------------------------------- */

/* §4.1.4.3.1 / §2.4: writing 0 to device_status resets the device. */
void sim_virtio_reset(struct sim_dev *d)
{
	unsigned q;

	d->status = 0;
	d->driver_features = 0;
	d->dfselect = d->gfselect = 0;
	d->config_vector = VIRTIO_MSI_NO_VECTOR;
	d->qsel = 0;
	d->isr = 0;
	for (q = 0; q < d->n_vqs; q++)
		sim_vq_reset(&d->vq[q]);
	sim_net_reset(d);
}

static bool features_acceptable(const struct sim_dev *d)
{
	const uint64_t host_tso = 1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6;
	const uint64_t guest_tso = 1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6;

	/* §2.2.1 / §6.1: only offered bits, and a modern driver needs VERSION_1;
	 * §5.1.3.1: HOST_TSO4/6 need CSUM, GUEST_TSO4/6 need GUEST_CSUM. */
	return !(d->driver_features & ~d->offered) &&
	       sim_dev_has(d, VIRTIO_F_VERSION_1) &&
	       (!(d->driver_features & host_tso) || sim_dev_has(d, VIRTIO_NET_F_CSUM)) &&
	       (!(d->driver_features & guest_tso) || sim_dev_has(d, VIRTIO_NET_F_GUEST_CSUM));
}

bool sim_dev_vq(struct sim_dev *d, unsigned q)
{
	struct sim_vq *vq = &d->vq[q];
	int err;

	/* PCI Local Bus 3.0 §6.2.2: no DMA while Bus Master Enable is clear,
	 * as QEMU and real functions behave; a driver must set it. */
	if (!vq->enabled || !(sim_get32(d->cfg + PCI_COMMAND) & PCI_COMMAND_MASTER))
		return false;
	if (vq->used || vq->remote)
		return true;
	if (!d->srv)
		return false;
	vq->event_idx = sim_dev_has(d, VIRTIO_RING_F_EVENT_IDX);
	vq->packed = sim_dev_has(d, VIRTIO_F_RING_PACKED);
	/* §2.8.8: in order, TX queues report a batch with one used
	 * descriptor; not under fault injection, whose used ids must each
	 * reach the driver. */
	vq->batch = vq->packed && sim_dev_has(d, VIRTIO_F_IN_ORDER) && q % 2 == 1 &&
		    q != 2 * d->p.queues && d->p.fault == SIM_FAULT_NONE;
	err = sim_vq_map(vq, d->srv);
	if (err) {
		sim_dev_fail(d, err);
		return false;
	}
	return true;
}

static void status_write(struct sim_dev *d, uint8_t v)
{
	uint8_t old = d->status;
	unsigned q;

	if (v == 0) {
		sim_virtio_reset(d);
		return;
	}
	/* NEEDS_RESET is the device's; only a reset clears it. */
	v = (uint8_t)((v & ~VIRTIO_CONFIG_S_NEEDS_RESET) | (old & VIRTIO_CONFIG_S_NEEDS_RESET));
	/* §3.1.1 step 5/6: FEATURES_OK stays clear when the features are refused. */
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !features_acceptable(d))
		v &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	d->status = v;
	if (!(v & VIRTIO_CONFIG_S_DRIVER_OK) || (old & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	if (!(v & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* §3.1.1: DRIVER_OK without FEATURES_OK is a driver error. */
		sim_dev_fail(d, vn_err(-EINVAL, "DRIVER_OK set before FEATURES_OK"));
		return;
	}
	for (q = 0; q < d->n_vqs && sim_dev_running(d); q++)
		sim_dev_vq(d, q);
}

/* ---- common configuration (§4.1.4.3) ----------------------------------- */

static uint16_t vector_check(const struct sim_dev *d, uint16_t v)
{
	/* §4.1.4.3: an unusable vector reads back as NO_VECTOR. */
	return v < d->n_vectors ? v : VIRTIO_MSI_NO_VECTOR;
}

static void common_read(struct sim_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uint8_t raw[0x1000] = { 0 };
	struct virtio_pci_common_cfg c = { 0 };
	const struct sim_vq *vq = d->qsel < d->n_vqs ? &d->vq[d->qsel] : NULL;

	if (d->dfselect < 2)
		c.device_feature = htole32((uint32_t)(d->offered >> (32 * d->dfselect)));
	c.device_feature_select = htole32(d->dfselect);
	c.guest_feature_select = htole32(d->gfselect);
	if (d->gfselect < 2)
		c.guest_feature = htole32((uint32_t)(d->driver_features >> (32 * d->gfselect)));
	c.msix_config = htole16(d->config_vector);
	c.num_queues = htole16((uint16_t)d->n_vqs);
	c.device_status = d->status;
	c.config_generation = d->generation;
	c.queue_select = htole16(d->qsel);
	if (vq) { /* §4.1.4.3.1: a nonexistent queue reads queue_size 0 */
		c.queue_size = htole16(vq->size);
		c.queue_msix_vector = htole16(vq->msix_vector);
		c.queue_enable = htole16(vq->enabled);
		c.queue_notify_off = htole16(d->qsel);
		c.queue_desc_lo = htole32((uint32_t)vq->desc_iova);
		c.queue_desc_hi = htole32((uint32_t)(vq->desc_iova >> 32));
		c.queue_avail_lo = htole32((uint32_t)vq->avail_iova);
		c.queue_avail_hi = htole32((uint32_t)(vq->avail_iova >> 32));
		c.queue_used_lo = htole32((uint32_t)vq->used_iova);
		c.queue_used_hi = htole32((uint32_t)(vq->used_iova >> 32));
	}
	memcpy(raw, &c, sizeof(c));
	memcpy(buf, raw + off, len);
}

/* Write the low (off 0) or high (off 4) half, or all 8 bytes, of a 64-bit address. */
static void addr_write(uint64_t *a, uint32_t off, uint32_t len, uint64_t val)
{
	if (len == 8)
		*a = val;
	else if (off == 0)
		*a = (*a & ~0xffffffffull) | (uint32_t)val;
	else
		*a = (*a & 0xffffffffull) | (val << 32);
}

static int common_write(struct sim_dev *d, uint32_t off, uint32_t len, uint64_t val)
{
	/* Writable fields and their widths (§4.1.4.3: natural-width accesses). */
	static const struct { uint8_t off, len; } rw[] = {
		{ 0, 4 }, { 8, 4 }, { 12, 4 }, { 16, 2 }, { 20, 1 }, { 22, 2 }, { 24, 2 },
		{ 26, 2 }, { 28, 2 }, { 32, 4 }, { 36, 4 }, { 40, 4 }, { 44, 4 }, { 48, 4 },
		{ 52, 4 },
	};
	struct sim_vq *vq = d->qsel < d->n_vqs ? &d->vq[d->qsel] : NULL;
	size_t i;

	for (i = 0; i < VN_ARRAY_SIZE(rw); i++)
		if (rw[i].off == off)
			break;
	if (i == VN_ARRAY_SIZE(rw))
		return 0; /* read-only or reserved: ignored */
	if (len != rw[i].len && !(off >= 32 && !(off & 7) && len == 8))
		return vn_err(-EINVAL, "common cfg offset %u: %u-byte write to a %u-byte field",
			      off, len, rw[i].len);
	switch (off) {
	case 0: d->dfselect = (uint32_t)val; return 0;
	case 8: d->gfselect = (uint32_t)val; return 0;
	case 12:
		/* §3.1.1: features are fixed once FEATURES_OK is set. */
		if (!(d->status & VIRTIO_CONFIG_S_FEATURES_OK) && d->gfselect < 2) {
			unsigned sh = 32 * d->gfselect;

			d->driver_features = (d->driver_features & ~(0xffffffffull << sh)) |
					     ((uint64_t)(uint32_t)val << sh);
		}
		return 0;
	case 16: d->config_vector = vector_check(d, (uint16_t)val); return 0;
	case 20: status_write(d, (uint8_t)val); return 0;
	case 22: d->qsel = (uint16_t)val; return 0;
	}
	/* Per-queue fields: ignored for a nonexistent queue and, except the
	 * vector, once the queue is enabled (§4.1.4.3.2). */
	if (!vq)
		return 0;
	if (off == 26) {
		vq->msix_vector = vector_check(d, (uint16_t)val);
		return 0;
	}
	if (vq->enabled)
		return 0;
	switch (off) {
	case 24:
		/* §2.7 / §4.1.4.3.2: the driver may lower the size, to a power of 2. */
		if (val && val <= vq->max_size && !(val & (val - 1)))
			vq->size = (uint16_t)val;
		return 0;
	case 28:
		/* §4.1.4.3.2: writing 0 is not allowed (no VIRTIO_F_RING_RESET). */
		if (val == 1) {
			vq->enabled = true;
			if (sim_dev_running(d))
				sim_dev_vq(d, d->qsel);
		}
		return 0;
	case 32: case 36: addr_write(&vq->desc_iova, off - 32, len, val); return 0;
	case 40: case 44: addr_write(&vq->avail_iova, off - 40, len, val); return 0;
	default: addr_write(&vq->used_iova, off - 48, len, val); return 0;
	}
}

/* ---- BAR0 --------------------------------------------------------------- */

static void devcfg_read(const struct sim_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uint8_t raw[0x1000] = { 0 };

	/* §5.1.4: mac, status (LINK_UP), max_virtqueue_pairs, mtu; with RSS
	 * rss_max_key_size, rss_max_indirection_table_length and
	 * supported_hash_types. */
	memcpy(raw, d->mac, 6);
	sim_put16(raw + 6, d->link_down ? 0 : VIRTIO_NET_S_LINK_UP);
	sim_put16(raw + 8, (uint16_t)d->p.queues);
	sim_put16(raw + 10, (uint16_t)d->p.mtu);
	if (d->p.rss) {
		raw[offsetof(struct virtio_net_config, rss_max_key_size)] = SIM_RSS_KEY_MAX;
		sim_put16(raw + offsetof(struct virtio_net_config, rss_max_indirection_table_length),
			  SIM_RSS_TABLE_MAX);
		sim_put32(raw + offsetof(struct virtio_net_config, supported_hash_types),
			  SIM_RSS_HASH_TYPES);
	}
	memcpy(buf, raw + off, len);
}

int sim_bar0_read(struct sim_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uint32_t page = off & ~0xfffu, in = off & 0xfffu;

	if (in + len > 0x1000)
		return vn_err(-EINVAL, "BAR0 access at %#x+%u crosses a structure", off, len);
	memset(buf, 0, len);
	switch (page) {
	case SIM_COMMON_OFF:
		common_read(d, in, buf, len);
		break;
	case SIM_ISR_OFF:
		/* §4.1.4.5.1: reading the ISR status clears it. */
		if (in == 0) {
			*(uint8_t *)buf = d->isr;
			d->isr = 0;
		}
		break;
	case SIM_DEVCFG_OFF:
		devcfg_read(d, in, buf, len);
		break;
	default: /* notification structure: write-only */
		break;
	}
	return 0;
}

int sim_bar0_write(struct sim_dev *d, uint32_t off, const void *buf, uint32_t len)
{
	uint32_t page = off & ~0xfffu, in = off & 0xfffu;
	uint64_t val = 0;

	if (in + len > 0x1000)
		return vn_err(-EINVAL, "BAR0 access at %#x+%u crosses a structure", off, len);
	memcpy(&val, buf, len);
	val = le64toh(val);
	switch (page) {
	case SIM_COMMON_OFF:
		return common_write(d, in, len, val);
	case SIM_NOTIFY_OFF:
		/* §4.1.4.4: a write at queue_notify_off * multiplier kicks that
		 * queue. The loop services every queue after each message, so
		 * only the count is kept here (ioeventfds count in sim_host.c). */
		if (!(in % SIM_NOTIFY_MULT) && in / SIM_NOTIFY_MULT < d->n_vqs &&
		    in / SIM_NOTIFY_MULT / 2 < d->p.queues)
			SIM_INC(d->st.qp[in / SIM_NOTIFY_MULT / 2].kicks);
		/* §4.1.5.2: with NOTIFICATION_DATA the doorbell carries 32 bits
		 * (ioeventfds match 2-byte writes only, so these arrive here). */
		if (len == 4 && !(in % SIM_NOTIFY_MULT) && in / SIM_NOTIFY_MULT < d->n_vqs &&
		    sim_dev_has(d, VIRTIO_F_NOTIFICATION_DATA) && sim_dev_running(d) &&
		    sim_dev_vq(d, in / SIM_NOTIFY_MULT)) {
			int err = sim_vq_check_notify(&d->vq[in / SIM_NOTIFY_MULT],
						      (uint16_t)(in / SIM_NOTIFY_MULT), (uint32_t)val);

			if (err)
				sim_dev_fail(d, err);
		}
		return 0;
	default: /* ISR and device configuration are read-only here (§4.1.4.5, §5.1.4) */
		return 0;
	}
}
