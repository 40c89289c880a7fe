/* SPDX-License-Identifier: MIT */
/* Packed virtqueue, driver side: setup and the control chain (vq_packed.h). */
#include "virtio/vq_packed.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"

size_t vqp_desc_bytes(uint16_t size)
{
	return 16u * size;
}

size_t vqp_event_bytes(void)
{
	return sizeof(struct vring_packed_desc_event);
}

int vqp_init(struct vq *vq, const struct vq_cfg *cfg)
{
	uint16_t n = vq->size;

	vq->iova = calloc(n, sizeof(*vq->iova));
	vq->seen = calloc(n, sizeof(*vq->seen));
	vq->order = calloc(n, sizeof(*vq->order));
	if (!vq->iova || !vq->seen || !vq->order)
		return vn_err(-ENOMEM, "queue %u: out of memory", cfg->index);
	vq->packed = true;
	vq->in_order = cfg->flags & VQ_F_IN_ORDER;
	vq->ring = cfg->desc;
	vq->drv_event = cfg->avail;
	vq->dev_event = cfg->used;
	/* The buffers' device addresses, looked up once: packed descriptors
	 * are rewritten in full each time a buffer is made available. */
	for (uint16_t i = 0; i < n; i++)
		vq->iova[i] = vn_dma_iova(cfg->mem, vq_buf(vq, i));
	/* virtio 1.2 §2.8.10: we poll, so no used-buffer notifications. The
	 * zeroed ring reads as neither available nor used for wrap counter 1
	 * (§2.8.1), where both sides start. */
	vqp_notify_off(vq);
	return 0;
}

void vqp_enqueue_chain(struct vq *vq, uint16_t out_id, uint32_t out_len, uint16_t in_id,
		       uint32_t in_len)
{
	/* virtio 1.2 §2.8.6: the chain in consecutive descriptors, linked by
	 * NEXT, device-readable part first (§2.8); the buffer id is that of
	 * the last descriptor, and the used entry will name it. */
	vqp_put_desc(vq, 0, vq->iova[out_id], out_len, VRING_DESC_F_NEXT);
	vqp_put_desc(vq, out_id, vq->iova[in_id], in_len, VRING_DESC_F_WRITE);
	vq->order[vq->avail_seq++ & vq->mask] = out_id;
	vq->state[in_id] = VQ_DEV_TAIL;
	vq->link[out_id] = in_id;
	vq->state[out_id] = VQ_DEV;
	vq->in_flight++;
}
