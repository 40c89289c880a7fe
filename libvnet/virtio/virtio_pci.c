/* SPDX-License-Identifier: MIT */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>

#include "log.h"
#include "pci.h"

#define CFG_REGION 7 /* VFIO_PCI_CONFIG_REGION_INDEX */
#define CAP_MIN 0x40 /* capabilities live after the standard header */

/* One virtio structure: where it is in which BAR, and its mapping if any. */
struct area {
	bool present;
	uint8_t bar;
	uint32_t off, len;
	volatile uint8_t *va; /* NULL: go through region_read/write */
};

struct vpci {
	struct vn_vtr t;
	struct vn_devio *d;
	struct area common, notify, isr, device;
	uint32_t notify_mult;
};

static struct vpci *to_vpci(struct vn_vtr *t)
{
	return VN_CONTAINER_OF(t, struct vpci, t);
}

/* Register access of width len (1, 2 or 4) at off in area a. */
static int area_read(struct vpci *p, const struct area *a, uint32_t off, void *buf, size_t len)
{
	if (!a->va)
		return vn_devio_read(p->d, a->bar, (uint64_t)a->off + off, buf, len);
	/* virtio 1.2 §4.1.3.1: accesses as wide as the field, aligned. */
	switch (len) {
	case 1: *(uint8_t *)buf = *(volatile uint8_t *)(a->va + off); break;
	case 2: *(uint16_t *)buf = *(volatile uint16_t *)(void *)(a->va + off); break;
	default: *(uint32_t *)buf = *(volatile uint32_t *)(void *)(a->va + off); break;
	}
	return 0;
}

static int area_write(struct vpci *p, const struct area *a, uint32_t off, const void *buf,
		      size_t len)
{
	if (!a->va)
		return vn_devio_write(p->d, a->bar, (uint64_t)a->off + off, buf, len);
	/* virtio 1.2 §4.1.3.1: accesses as wide as the field, aligned. */
	switch (len) {
	case 1: *(volatile uint8_t *)(a->va + off) = *(const uint8_t *)buf; break;
	case 2: *(volatile uint16_t *)(void *)(a->va + off) = *(const uint16_t *)buf; break;
	default: *(volatile uint32_t *)(void *)(a->va + off) = *(const uint32_t *)buf; break;
	}
	return 0;
}

#define COMMON(f) ((uint32_t)offsetof(struct virtio_pci_common_cfg, f))

static int common_r8(struct vpci *p, uint32_t off, uint8_t *v) { return area_read(p, &p->common, off, v, 1); }
static int common_r16(struct vpci *p, uint32_t off, uint16_t *v) { return area_read(p, &p->common, off, v, 2); }
static int common_r32(struct vpci *p, uint32_t off, uint32_t *v) { return area_read(p, &p->common, off, v, 4); }
static int common_w8(struct vpci *p, uint32_t off, uint8_t v) { return area_write(p, &p->common, off, &v, 1); }
static int common_w16(struct vpci *p, uint32_t off, uint16_t v) { return area_write(p, &p->common, off, &v, 2); }
static int common_w32(struct vpci *p, uint32_t off, uint32_t v) { return area_write(p, &p->common, off, &v, 4); }

/* virtio 1.2 §4.1.3.1: 64-bit fields are written as two 32-bit halves. */
static int common_w64(struct vpci *p, uint32_t lo_off, uint64_t v)
{
	int rc = common_w32(p, lo_off, (uint32_t)v);

	return rc ? rc : common_w32(p, lo_off + 4, (uint32_t)(v >> 32));
}

static int vpci_get_status(struct vn_vtr *t, uint8_t *st)
{
	/* virtio 1.2 §4.1.4.3: device_status. */
	return common_r8(to_vpci(t), COMMON(device_status), st);
}

static int vpci_set_status(struct vn_vtr *t, uint8_t st)
{
	/* virtio 1.2 §4.1.4.3: device_status (0 resets the device). */
	return common_w8(to_vpci(t), COMMON(device_status), st);
}

static int vpci_get_features(struct vn_vtr *t, uint64_t *f)
{
	struct vpci *p = to_vpci(t);
	uint32_t lo, hi;
	int rc;

	/* virtio 1.2 §4.1.4.3: select the 32-bit half, then read device_feature. */
	rc = common_w32(p, COMMON(device_feature_select), 0);
	if (!rc)
		rc = common_r32(p, COMMON(device_feature), &lo);
	if (!rc)
		rc = common_w32(p, COMMON(device_feature_select), 1);
	if (!rc)
		rc = common_r32(p, COMMON(device_feature), &hi);
	if (!rc)
		*f = (uint64_t)hi << 32 | lo;
	return rc;
}

static int vpci_set_features(struct vn_vtr *t, uint64_t f)
{
	struct vpci *p = to_vpci(t);
	int rc;

	/* virtio 1.2 §4.1.4.3: select the half, then write driver_feature. */
	rc = common_w32(p, COMMON(guest_feature_select), 0);
	if (!rc)
		rc = common_w32(p, COMMON(guest_feature), (uint32_t)f);
	if (!rc)
		rc = common_w32(p, COMMON(guest_feature_select), 1);
	if (!rc)
		rc = common_w32(p, COMMON(guest_feature), (uint32_t)(f >> 32));
	return rc;
}

static int vpci_cfg_generation(struct vn_vtr *t, uint8_t *gen)
{
	/* virtio 1.2 §4.1.4.3: config_generation. */
	return common_r8(to_vpci(t), COMMON(config_generation), gen);
}

static int vpci_cfg_read(struct vn_vtr *t, uint32_t off, void *buf, size_t len)
{
	struct vpci *p = to_vpci(t);

	if (!p->device.present)
		return vn_err(-ENOTSUP, "virtio-pci: the device has no device config structure");
	if (off > p->device.len || len > p->device.len - off || (off & (len - 1)))
		return vn_err(-EINVAL,
			      "virtio-pci: device config read of %zu bytes at %u is outside its %u bytes",
			      len, off, p->device.len);
	/* virtio 1.2 §4.1.4.6: device-specific configuration. */
	return area_read(p, &p->device, off, buf, len);
}

static int vpci_num_queues(struct vn_vtr *t, uint16_t *n)
{
	/* virtio 1.2 §4.1.4.3: num_queues. */
	return common_r16(to_vpci(t), COMMON(num_queues), n);
}

static int vpci_queue_max(struct vn_vtr *t, uint16_t idx, uint16_t *max)
{
	struct vpci *p = to_vpci(t);
	/* virtio 1.2 §4.1.4.3: queue_size reads the maximum after queue_select. */
	int rc = common_w16(p, COMMON(queue_select), idx);

	return rc ? rc : common_r16(p, COMMON(queue_size), max);
}

static int vpci_queue_setup(struct vn_vtr *t, uint16_t idx, const struct vn_vtr_queue *q,
			    struct vn_vtr_notify *n)
{
	struct vpci *p = to_vpci(t);
	uint16_t max, vec, noff;
	uint64_t at;
	int rc;

	/* virtio 1.2 §4.1.5.1.3: select, size, vector, addresses, then enable. */
	rc = vpci_queue_max(t, idx, &max);
	if (rc)
		return rc;
	if (q->size == 0 || q->size > max || (q->size & (q->size - 1)))
		return vn_err(-EINVAL, "virtio-pci: queue %u: size %u is not a power of two <= %u",
			      idx, q->size, max);
	rc = common_w16(p, COMMON(queue_size), q->size);
	if (!rc)
		rc = common_w16(p, COMMON(queue_msix_vector), q->msix_vector);
	/* virtio 1.2 §4.1.5.1.2: read the vector back; NO_VECTOR means the
	 * device could not allocate the one we asked for. */
	if (!rc)
		rc = common_r16(p, COMMON(queue_msix_vector), &vec);
	if (rc)
		return rc;
	if (vec != q->msix_vector)
		return vn_err(-EIO, "virtio-pci: queue %u: MSI-X vector 0x%x read back as 0x%x",
			      idx, q->msix_vector, vec);
	rc = common_w64(p, COMMON(queue_desc_lo), q->desc);
	if (!rc)
		rc = common_w64(p, COMMON(queue_avail_lo), q->driver);
	if (!rc)
		rc = common_w64(p, COMMON(queue_used_lo), q->device);
	if (!rc)
		rc = common_r16(p, COMMON(queue_notify_off), &noff);
	if (rc)
		return rc;
	/* virtio 1.2 §4.1.4.4: cap.offset + queue_notify_off * multiplier, which
	 * must leave room for the 16-bit write (32 with NOTIFICATION_DATA,
	 * §4.1.5.2) inside the notify structure. */
	at = (uint64_t)noff * p->notify_mult;
	if (at + (n->with_data ? 4u : 2u) > p->notify.len)
		return vn_err(-EINVAL,
			      "virtio-pci: queue %u: notify offset %u * %u is outside the %u-byte notify structure",
			      idx, noff, p->notify_mult, p->notify.len);
	n->t = t;
	n->value = idx;
	n->off = p->notify.off + at;
	n->reg = p->notify.va ? (volatile uint16_t *)(void *)(p->notify.va + at) : NULL;
	/* virtio 1.2 §4.1.4.3.2: enable only after the queue is configured. */
	return common_w16(p, COMMON(queue_enable), 1);
}

static void vpci_kick(struct vn_vtr *t, const struct vn_vtr_notify *n)
{
	struct vpci *p = to_vpci(t);

	/* virtio 1.2 §4.1.5.2: the queue index written to its notify address.
	 * vfio-user serves this write with an ioeventfd: one eventfd write. A
	 * failure is not reported here: a dead device shows up in the health
	 * checks of the data path. */
	if (n->with_data)
		(void)vn_devio_write(p->d, p->notify.bar, n->off, &n->data, 4);
	else
		(void)vn_devio_write(p->d, p->notify.bar, n->off, &n->value, 2);
}

static int vpci_dma_alloc(struct vn_vtr *t, struct vn_dma_mem *m, size_t len, const char *name)
{
	struct vpci *p = to_vpci(t);
	int rc = vn_dma_alloc(m, len, name);

	if (rc)
		return rc;
	rc = p->d->ops->dma_map(p->d, m);
	if (rc)
		vn_dma_free(m);
	return rc;
}

static void vpci_dma_free(struct vn_vtr *t, struct vn_dma_mem *m)
{
	struct vpci *p = to_vpci(t);

	if (m->mapped)
		(void)p->d->ops->dma_unmap(p->d, m);
	vn_dma_free(m);
}

#define MSIX_IRQ_INDEX 2 /* VFIO_PCI_MSIX_IRQ_INDEX */

static int vpci_irq_count(struct vn_vtr *t, unsigned *count)
{
	struct vpci *p = to_vpci(t);
	uint32_t n = 0;
	/* VFIO uAPI VFIO_DEVICE_GET_IRQ_INFO (vfio-user: VFIO_USER_DEVICE_GET_IRQ_INFO). */
	int rc = p->d->ops->irq_info(p->d, MSIX_IRQ_INDEX, &n);

	*count = rc ? 0 : n;
	return rc;
}

static int vpci_irq_route(struct vn_vtr *t, unsigned n, const int *fds)
{
	struct vpci *p = to_vpci(t);

	/* VFIO uAPI VFIO_DEVICE_SET_IRQS: DATA_EVENTFD | ACTION_TRIGGER per
	 * vector; count 0 disables the MSI-X index. */
	return p->d->ops->set_irqs(p->d, MSIX_IRQ_INDEX, 0, n, fds);
}

static int vpci_set_vector(struct vn_vtr *t, int queue, uint16_t vec, uint16_t *got)
{
	struct vpci *p = to_vpci(t);
	uint32_t off = COMMON(queue_msix_vector);
	int rc = 0;

	if (queue == VN_VTR_CONFIG)
		off = COMMON(msix_config);
	else
		/* virtio 1.2 §4.1.4.3: per-queue fields follow queue_select. */
		rc = common_w16(p, COMMON(queue_select), (uint16_t)queue);
	/* virtio 1.2 §4.1.5.1.2: write the vector, then read it back: the
	 * device answers VIRTIO_MSI_NO_VECTOR when it could not map it. */
	if (!rc)
		rc = common_w16(p, off, vec);
	return rc ? rc : common_r16(p, off, got);
}

#define INTX_IRQ_INDEX 0 /* VFIO_PCI_INTX_IRQ_INDEX */

static int vpci_intx_route(struct vn_vtr *t, int fd)
{
	struct vpci *p = to_vpci(t);
	uint32_t n = 0;
	int rc;

	/* VFIO uAPI: DATA_NONE | ACTION_TRIGGER with count 0 disables INTx. */
	if (fd < 0)
		return p->d->ops->set_irqs(p->d, INTX_IRQ_INDEX, 0, 0, NULL);
	if (!p->isr.present || !p->d->ops->irq_unmask)
		return vn_err(-ENOTSUP, "virtio-pci: INTx needs %s",
			      p->isr.present ? "an IRQ unmask operation" : "the ISR capability");
	/* VFIO uAPI VFIO_DEVICE_GET_IRQ_INFO: count 1 when the function has an
	 * interrupt pin (and the host a line for it). */
	rc = p->d->ops->irq_info(p->d, INTX_IRQ_INDEX, &n);
	if (rc)
		return rc;
	if (n == 0)
		return vn_err(-ENOTSUP, "virtio-pci: the function has no INTx");
	/* VFIO uAPI: DATA_EVENTFD | ACTION_TRIGGER routes the line to fd. */
	return p->d->ops->set_irqs(p->d, INTX_IRQ_INDEX, 0, 1, &fd);
}

static int vpci_isr_read(struct vn_vtr *t, uint8_t *isr)
{
	struct vpci *p = to_vpci(t);

	if (!p->isr.present)
		return vn_err(-ENOTSUP, "virtio-pci: the device has no ISR status");
	/* virtio 1.2 §4.1.4.5: reading ISR status returns and clears it,
	 * de-asserting the legacy interrupt. */
	return area_read(p, &p->isr, 0, isr, 1);
}

static int vpci_intx_unmask(struct vn_vtr *t)
{
	struct vpci *p = to_vpci(t);

	if (!p->d->ops->irq_unmask)
		return vn_err(-ENOTSUP, "virtio-pci: %s cannot unmask interrupts", p->d->access);
	/* VFIO uAPI: DATA_NONE | ACTION_UNMASK on the INTx index. */
	return p->d->ops->irq_unmask(p->d, INTX_IRQ_INDEX, 0, 1);
}

static int vpci_alive(struct vn_vtr *t)
{
	struct vpci *p = to_vpci(t);

	return p->d->ops->alive ? p->d->ops->alive(p->d) : 0;
}

static int vpci_gone_fd(struct vn_vtr *t, unsigned *events)
{
	struct vpci *p = to_vpci(t);

	if (!p->d->ops->gone_fd)
		return -ENOTSUP;
	return p->d->ops->gone_fd(p->d, events);
}

static void vpci_close(struct vn_vtr *t)
{
	free(to_vpci(t));
}

static const struct vn_vtr_ops vpci_ops = {
	.get_status = vpci_get_status,
	.set_status = vpci_set_status,
	.get_features = vpci_get_features,
	.set_features = vpci_set_features,
	.cfg_generation = vpci_cfg_generation,
	.cfg_read = vpci_cfg_read,
	.num_queues = vpci_num_queues,
	.queue_max = vpci_queue_max,
	.queue_setup = vpci_queue_setup,
	.kick = vpci_kick,
	.dma_alloc = vpci_dma_alloc,
	.dma_free = vpci_dma_free,
	.irq_count = vpci_irq_count,
	.irq_route = vpci_irq_route,
	.set_vector = vpci_set_vector,
	.intx_route = vpci_intx_route,
	.isr_read = vpci_isr_read,
	.intx_unmask = vpci_intx_unmask,
	.alive = vpci_alive,
	.gone_fd = vpci_gone_fd,
	.close = vpci_close,
};

static const char *cap_name(uint8_t type)
{
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG: return "common config";
	case VIRTIO_PCI_CAP_NOTIFY_CFG: return "notify";
	case VIRTIO_PCI_CAP_ISR_CFG: return "ISR";
	default: return "device config";
	}
}

/* Minimum length of each structure (virtio 1.2 §4.1.4.3-4.1.4.6). */
static uint32_t cap_min_len(uint8_t type)
{
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG: return sizeof(struct virtio_pci_common_cfg);
	case VIRTIO_PCI_CAP_NOTIFY_CFG: return 2;
	case VIRTIO_PCI_CAP_ISR_CFG: return 1;
	default: return 1;
	}
}

/* Alignment of each structure's offset (virtio 1.2 §4.1.4.3-4.1.4.6). */
static uint32_t cap_align(uint8_t type)
{
	switch (type) {
	case VIRTIO_PCI_CAP_NOTIFY_CFG: return 2;
	case VIRTIO_PCI_CAP_ISR_CFG: return 1;
	default: return 4;
	}
}

/* Validate one virtio capability at pos and record its structure. */
static int take_cap(struct vpci *p, uint8_t pos, const struct virtio_pci_cap *c)
{
	struct area *a;
	struct vn_region_info ri;
	void *va;
	int rc;

	switch (c->cfg_type) {
	case VIRTIO_PCI_CAP_COMMON_CFG: a = &p->common; break;
	case VIRTIO_PCI_CAP_NOTIFY_CFG: a = &p->notify; break;
	case VIRTIO_PCI_CAP_ISR_CFG: a = &p->isr; break;
	case VIRTIO_PCI_CAP_DEVICE_CFG: a = &p->device; break;
	default: return 0; /* virtio 1.2 §4.1.4: other types are not needed */
	}
	/* virtio 1.2 §4.1.4: the driver uses the first capability of a type. */
	if (a->present)
		return 0;
	if (c->cap_len < sizeof(*c))
		return vn_err(-EINVAL, "virtio-pci: %s capability at 0x%02x is %u bytes, less than %zu",
			      cap_name(c->cfg_type), pos, c->cap_len, sizeof(*c));
	/* virtio 1.2 §4.1.4: bar values 0x6-0x7 are reserved. */
	if (c->bar > 5)
		return vn_err(-EINVAL, "virtio-pci: %s capability at 0x%02x names BAR %u",
			      cap_name(c->cfg_type), pos, c->bar);
	if (c->length < cap_min_len(c->cfg_type))
		return vn_err(-EINVAL, "virtio-pci: %s capability at 0x%02x is %u bytes, less than %u",
			      cap_name(c->cfg_type), pos, c->length, cap_min_len(c->cfg_type));
	if (c->offset % cap_align(c->cfg_type))
		return vn_err(-EINVAL, "virtio-pci: %s capability at 0x%02x: offset 0x%x is not %u-byte aligned",
			      cap_name(c->cfg_type), pos, c->offset, cap_align(c->cfg_type));
	rc = p->d->ops->region_info(p->d, c->bar, &ri);
	if (rc)
		return rc;
	/* Both are 32-bit, so the sum cannot overflow 64 bits. */
	if ((uint64_t)c->offset + c->length > ri.size)
		return vn_err(-EINVAL,
			      "virtio-pci: %s capability at 0x%02x: [0x%x, +0x%x) is past the end of BAR %u (0x%llx bytes)",
			      cap_name(c->cfg_type), pos, c->offset, c->length, c->bar,
			      (unsigned long long)ri.size);
	a->present = true;
	a->bar = c->bar;
	a->off = c->offset;
	a->len = c->length;
	a->va = NULL;
	if (ri.flags & VN_REGION_MMAP) {
		rc = p->d->ops->region_map(p->d, c->bar, c->offset, c->length, &va);
		if (rc == 0)
			a->va = va;
		else if (rc != -ENOTSUP)
			return rc;
	}
	if (c->cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		uint32_t mult;

		/* virtio 1.2 §4.1.4.4: notify_off_multiplier follows the cap. */
		if (c->cap_len < sizeof(struct virtio_pci_notify_cap))
			return vn_err(-EINVAL, "virtio-pci: notify capability at 0x%02x is %u bytes, less than %zu",
				      pos, c->cap_len, sizeof(struct virtio_pci_notify_cap));
		rc = vn_devio_read(p->d, CFG_REGION, pos + sizeof(*c), &mult, 4);
		if (rc)
			return rc;
		/* virtio 1.2 §4.1.4.4: an even power of 2, or 0. */
		if (mult && ((mult & (mult - 1)) || (mult & 1)))
			return vn_err(-EINVAL, "virtio-pci: notify_off_multiplier %u is not an even power of two",
				      mult);
		p->notify_mult = mult;
	}
	return 0;
}

/* virtio 1.2 §4.1.4: walk the PCI capability list for virtio structures. */
static int walk_caps(struct vpci *p)
{
	uint8_t seen[PCI_CFG_SPACE_SIZE / 8] = { 0 };
	uint16_t status;
	uint8_t pos;
	int rc;

	/* PCI 3.0 §6.7: a capability list exists when status bit 4 is set. */
	rc = vn_devio_read(p->d, CFG_REGION, PCI_STATUS, &status, 2);
	if (rc)
		return rc;
	if (!(status & PCI_STATUS_CAP_LIST))
		return vn_err(-ENODEV, "virtio-pci: the device has no PCI capability list");
	rc = vn_devio_read(p->d, CFG_REGION, PCI_CAPABILITY_LIST, &pos, 1);
	while (!rc && pos) {
		struct virtio_pci_cap c;

		/* Pointers are dword aligned (low bits reserved), inside the header. */
		pos &= 0xfc;
		if (pos < CAP_MIN || pos > PCI_CFG_SPACE_SIZE - 2)
			return vn_err(-EINVAL, "virtio-pci: capability pointer 0x%02x is outside config space",
				      pos);
		if (seen[pos / 8] & (1u << (pos % 8)))
			return vn_err(-EINVAL, "virtio-pci: the capability list loops back to 0x%02x", pos);
		seen[pos / 8] |= (uint8_t)(1u << (pos % 8));
		memset(&c, 0, sizeof(c));
		rc = vn_devio_read(p->d, CFG_REGION, pos, &c, 2);
		if (rc)
			return rc;
		if (c.cap_vndr == PCI_CAP_ID_VNDR) {
			if (pos + sizeof(c) > PCI_CFG_SPACE_SIZE)
				return vn_err(-EINVAL, "virtio-pci: capability at 0x%02x runs past config space",
					      pos);
			rc = vn_devio_read(p->d, CFG_REGION, pos, &c, sizeof(c));
			if (!rc)
				rc = take_cap(p, pos, &c);
		}
		pos = c.cap_next;
	}
	return rc;
}

/* virtio 1.2 §4.1.2.1: PCI vendor 0x1af4; network device ID 0x1041
 * (0x1040 + 1), or 0x1000, the transitional ID, which a transitional
 * device also offers the modern interface under. */
#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_NET_MODERN 0x1041
#define VIRTIO_PCI_NET_TRANSITIONAL 0x1000

/* Refuse a function that is not virtio-net before touching its BARs. */
static int check_ids(struct vpci *p)
{
	uint16_t id[2]; /* PCI 3.0 §6.2.1: vendor ID at 0x00, device ID at 0x02 */
	int rc = vn_devio_read(p->d, CFG_REGION, PCI_VENDOR_ID, id, sizeof(id));

	if (rc)
		return rc;
	if (id[0] != VIRTIO_PCI_VENDOR ||
	    (id[1] != VIRTIO_PCI_NET_MODERN && id[1] != VIRTIO_PCI_NET_TRANSITIONAL))
		return vn_err(-ENODEV, "virtio-pci: not a virtio-net device (vendor:device %04x:%04x)",
			      id[0], id[1]);
	return 0;
}

int vpci_open(struct vn_devio *d, struct vn_vtr **out)
{
	struct vpci *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return vn_err(-ENOMEM, "virtio-pci: out of memory");
	p->t.ops = &vpci_ops;
	p->d = d;
	rc = check_ids(p);
	if (!rc)
		rc = walk_caps(p);
	if (!rc)
		rc = vn_pci_bus_master(p->d);
	if (!rc && (!p->common.present || !p->notify.present))
		rc = vn_err(-ENODEV, "virtio-pci: no %s capability: not a modern (virtio 1.x) device",
			    p->common.present ? "notify" : "common config");
	if (rc) {
		free(p);
		return rc;
	}
	*out = &p->t;
	return 0;
}
