/* SPDX-License-Identifier: MIT */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "virtio/vq_packed.h"

/* virtio 1.2 §2.7: 16-byte descriptors; avail and used rings carry flags,
 * idx, the ring and one trailing event field each. */
size_t vq_desc_bytes(uint16_t size)
{
	return 16u * size;
}

size_t vq_avail_bytes(uint16_t size)
{
	return 6u + 2u * size;
}

size_t vq_used_bytes(uint16_t size)
{
	return 6u + 8u * size;
}

/* No used-buffer notifications until asked for (vq_notify_on()). */
static void notify_off_init(struct vq *vq)
{
	/* virtio 1.2 §2.7.7 / §2.7.10: we poll, so no used-buffer notifications:
	 * without EVENT_IDX flags = NO_INTERRUPT, with it flags MUST be 0 and
	 * used_event parks behind us. */
	if (vq->event_idx)
		vq_used_done(vq);
	else
		__atomic_store_n(&vq->avail->flags, VRING_AVAIL_F_NO_INTERRUPT, __ATOMIC_RELAXED);
}

int vq_init(struct vq *vq, const struct vq_cfg *cfg)
{
	uint16_t n = cfg->size;

	if (n == 0 || n > 32768 || (n & (n - 1)))
		return vn_err(-EINVAL, "queue %u: size %u is not a power of two in 1..32768",
			      cfg->index, n);
	if (cfg->stride == 0 || (cfg->stride & (cfg->stride - 1)))
		return vn_err(-EINVAL, "queue %u: buffer stride %u is not a power of two",
			      cfg->index, cfg->stride);
	memset(vq, 0, sizeof(*vq));
	vq->free_ids = calloc(n, sizeof(*vq->free_ids));
	vq->link = calloc(n, sizeof(*vq->link));
	vq->state = calloc(n, sizeof(*vq->state));
	if (!vq->free_ids || !vq->link || !vq->state) {
		vq_fini(vq);
		return vn_err(-ENOMEM, "queue %u: out of memory", cfg->index);
	}
	vq->size = n;
	vq->mask = (uint16_t)(n - 1);
	vq->index = cfg->index;
	vq->event_idx = cfg->flags & VQ_F_EVENT_IDX;
	vq->strong = cfg->flags & VQ_F_STRONG;
	vq->dev_writes = cfg->flags & VQ_F_DEV_WRITES;
	vq->notify.with_data = cfg->flags & VQ_F_NOTIFY_DATA;
	vq->buf_len = cfg->buf_len;
	vq->stride_shift = (uint8_t)__builtin_ctz(cfg->stride);
	vq->bufs = cfg->bufs;
	vq->dev_broken = cfg->dev_broken;
	for (uint16_t i = 0; i < n; i++) {
		vq->link[i] = VQ_NO_LINK;
		/* Stack order: id 0 is taken first. */
		vq->free_ids[i] = (uint16_t)(n - 1 - i);
	}
	vq->n_free = n;
	if (cfg->flags & VQ_F_PACKED) {
		int rc = vqp_init(vq, cfg);

		if (rc)
			vq_fini(vq);
		return rc;
	}
	vq->desc = cfg->desc;
	vq->avail = cfg->avail;
	vq->used = cfg->used;
	vq->used_event = &vq->avail->ring[n];
	vq->avail_event = (uint16_t *)(void *)&vq->used->ring[n];
	for (uint16_t i = 0; i < n; i++) {
		/* virtio 1.2 §2.7.5: each descriptor points at its own buffer for
		 * good; only len (and the chain flags of the control queue) change. */
		vq->desc[i].addr = vn_dma_iova(cfg->mem, vq_buf(vq, i));
		vq->desc[i].len = cfg->buf_len;
		vq->desc[i].flags = vq->dev_writes ? VRING_DESC_F_WRITE : 0;
	}
	notify_off_init(vq);
	return 0;
}

void vq_restart(struct vq *vq, unsigned *held, unsigned *done)
{
	/* virtio 1.2 §2.7.8: used->idx, read once (acquire); the device is
	 * reset, so it no longer moves. */
	uint16_t used = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(used - vq->used_last);

	*held = vq->in_flight;
	*done = n <= vq->in_flight ? n : 0;
	for (uint16_t id = 0; id < vq->size; id++) {
		if (vq->state[id] != VQ_DEV && vq->state[id] != VQ_DEV_TAIL)
			continue;
		/* As vq_init() wrote it: the device may have scribbled on it. */
		vq->desc[id].len = vq->buf_len;
		vq->desc[id].flags = vq->dev_writes ? VRING_DESC_F_WRITE : 0;
		vq->desc[id].next = 0;
		vq->link[id] = VQ_NO_LINK;
		vq_give(vq, id);
	}
	/* virtio 1.2 §2.7: the rings start zeroed, with indices 0 on both sides
	 * (the device's after its reset, ours from here on). */
	memset(vq->avail, 0, vq_avail_bytes(vq->size));
	memset(vq->used, 0, vq_used_bytes(vq->size));
	vq->avail_idx = vq->avail_pub = vq->used_last = 0;
	vq->in_flight = 0;
	notify_off_init(vq);
}

void vq_fini(struct vq *vq)
{
	free(vq->free_ids);
	free(vq->link);
	free(vq->state);
	free(vq->iova);
	free(vq->seen);
	free(vq->order);
	vq->free_ids = NULL;
	vq->link = NULL;
	vq->state = NULL;
	vq->iova = NULL;
	vq->seen = NULL;
	vq->order = NULL;
}

void vq_mark_broken(struct vq *vq, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The first reason wins and is logged; later ones would only repeat it. */
	if (!(__atomic_fetch_or(vq->dev_broken, VN_STOP_BROKEN, __ATOMIC_RELAXED) & VN_STOP_BROKEN))
		vn_log(VN_LOG_ERR, "device broken: %s; the device is stopped", msg);
	vn_err(-ENETDOWN, "device broken: %s", msg);
}

void vq_enqueue_chain(struct vq *vq, uint16_t out_id, uint32_t out_len, uint16_t in_id,
		      uint32_t in_len)
{
	/* virtio 1.2 §2.7.5 / §2.7.13.1: device-readable part first, then the
	 * device-writable part, linked with VRING_DESC_F_NEXT. */
	vq->desc[out_id].flags = VRING_DESC_F_NEXT;
	vq->desc[out_id].next = in_id;
	vq->desc[in_id].flags = VRING_DESC_F_WRITE;
	vq->desc[in_id].len = in_len;
	vq->state[in_id] = VQ_DEV_TAIL;
	vq->link[out_id] = in_id;
	vq_enqueue(vq, out_id, out_len);
}
