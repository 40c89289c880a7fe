/* SPDX-License-Identifier: MIT */
/*
 * The virtio transport seam (virtio 1.2 §4): what a virtio device driver
 * needs from the bus it sits on. virtio_pci.c implements it over the
 * device-access ops of iommu/devio.h; tests implement it with fakes. The ops
 * table is chosen once at open; the data path only ever calls kick(), and
 * only when the notify register could not be mapped.
 *
 * Generic device logic over these ops (reset, feature negotiation, stable
 * config reads) lives in virtio.c; it knows no transport and no device type.
 * Every function returns 0 or a negative errno recorded with vn_err().
 */
#ifndef VN_VIRTIO_TRANSPORT_H
#define VN_VIRTIO_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "iommu/dma.h"

struct vn_vtr;

/* Where a queue's available-buffer notification goes (virtio 1.2 §4.1.4.4). */
struct vn_vtr_notify {
	volatile uint16_t *reg; /* mapped doorbell, or NULL: use ops->kick() */
	uint16_t value;         /* the queue index (no VIRTIO_F_NOTIFICATION_DATA) */
	uint64_t off;           /* doorbell offset in its BAR, for ops->kick() */
	struct vn_vtr *t;
	/* VIRTIO_F_NOTIFICATION_DATA (virtio 1.2 §4.1.5.2): the ring sets data
	 * (queue index, next avail position) before each kick, written as
	 * 32 bits instead of value. */
	bool with_data;
	uint32_t data;
};

/* Where the rings of one virtqueue are, in device (IOVA) addresses. */
struct vn_vtr_queue {
	uint16_t size;
	uint16_t msix_vector; /* VIRTIO_MSI_NO_VECTOR until interrupts are wired */
	uint64_t desc, driver, device;
};

struct vn_vtr_ops {
	int (*get_status)(struct vn_vtr *t, uint8_t *status);
	int (*set_status)(struct vn_vtr *t, uint8_t status);
	int (*get_features)(struct vn_vtr *t, uint64_t *features);
	int (*set_features)(struct vn_vtr *t, uint64_t features);
	/* config_generation (virtio 1.2 §2.5.1). */
	int (*cfg_generation)(struct vn_vtr *t, uint8_t *gen);
	/* Device-specific config, one access of len 1, 2 or 4 bytes. */
	int (*cfg_read)(struct vn_vtr *t, uint32_t off, void *buf, size_t len);
	/* Number of virtqueues the device offers. */
	int (*num_queues)(struct vn_vtr *t, uint16_t *n);
	/* Largest size of queue idx (0: the queue does not exist). */
	int (*queue_max)(struct vn_vtr *t, uint16_t idx, uint16_t *max);
	/* Program and enable queue idx; fill in its doorbell. */
	int (*queue_setup)(struct vn_vtr *t, uint16_t idx, const struct vn_vtr_queue *q,
			   struct vn_vtr_notify *n);
	/* Ring the doorbell of n when n->reg is NULL (data path: no vn_err). */
	void (*kick)(struct vn_vtr *t, const struct vn_vtr_notify *n);
	/* Allocate zeroed DMA memory the device can reach, and release it. */
	int (*dma_alloc)(struct vn_vtr *t, struct vn_dma_mem *m, size_t len, const char *name);
	void (*dma_free)(struct vn_vtr *t, struct vn_dma_mem *m);
	/* MSI-X vectors the function offers (0: none; virtio 1.2 §4.1.5.1.2). */
	int (*irq_count)(struct vn_vtr *t, unsigned *count);
	/* Route MSI-X vectors 0..n-1 to the eventfds fds[0..n-1]; n == 0 tears
	 * MSI-X down again. */
	int (*irq_route)(struct vn_vtr *t, unsigned n, const int *fds);
	/*
	 * Program MSI-X vector vec for virtqueue queue, or for configuration
	 * changes when queue is VN_VTR_CONFIG, and read it back into *got
	 * (virtio 1.2 §4.1.5.1.2: VIRTIO_MSI_NO_VECTOR read back means the device
	 * could not map it).
	 */
	int (*set_vector)(struct vn_vtr *t, int queue, uint16_t vec, uint16_t *got);
	/*
	 * Legacy INTx, for functions without usable MSI-X (virtio 1.2 §4.1.5.3-4).
	 * Optional: NULL when the transport has none. intx_route(): route the
	 * line to eventfd fd (-ENOTSUP when the function has no INTx, no ISR
	 * status or no way to unmask), or tear it down with fd -1. isr_read():
	 * read ISR status, which clears it and de-asserts the line (virtio 1.2
	 * §4.1.4.5). intx_unmask(): the line is masked from each interrupt
	 * until this (VFIO); still asserted, it fires again.
	 */
	int (*intx_route)(struct vn_vtr *t, int fd);
	int (*isr_read)(struct vn_vtr *t, uint8_t *isr);
	int (*intx_unmask)(struct vn_vtr *t);
	/* 0 while reachable, -ENODEV once gone; a system call: slow cadence only. */
	int (*alive)(struct vn_vtr *t);
	/* Optional: the device access's gone_fd() (devio.h); -ENOTSUP: none. */
	int (*gone_fd)(struct vn_vtr *t, unsigned *events);
	/* Release the transport (not the device access below it). */
	void (*close)(struct vn_vtr *t);
};

/* set_vector(): the configuration change vector rather than a queue's. */
#define VN_VTR_CONFIG (-1)

struct vn_vtr {
	const struct vn_vtr_ops *ops;
};

/* Ring a doorbell: a plain store when mapped (virtio 1.2 §4.1.4.4). */
static inline void vn_vtr_kick(const struct vn_vtr_notify *n)
{
	if (n->reg && n->with_data)
		/* virtio 1.2 §4.1.5.2: with NOTIFICATION_DATA, 32 bits of data. */
		*(volatile uint32_t *)(volatile void *)n->reg = n->data;
	else if (n->reg)
		*n->reg = n->value; /* virtio 1.2 §4.1.5.2: write the queue index */
	else
		n->t->ops->kick(n->t, n);
}

#endif
