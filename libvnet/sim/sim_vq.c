/* SPDX-License-Identifier: MIT */
/*
 * Device side of a split virtqueue, from virtio 1.2 §2.7. See sim_vq.h.
 *
 * Ring fields shared with the driver are accessed with __atomic builtins:
 * the driver runs in another thread (in-process sim:) or process (vnet-simd)
 * and the C memory model needs them to order the accesses; on x86 the
 * relaxed ones compile to plain loads and stores.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "sim/sim_vq.h"
#include "sim/vfu_server.h"

/* Sizes of the three areas (§2.7: descriptor table, available ring with
 * used_event, used ring with avail_event). */
#define DESC_BYTES(n)  (16u * (n))
#define AVAIL_BYTES(n) (6u + 2u * (n))
#define USED_BYTES(n)  (6u + 8u * (n))

void sim_vq_reset(struct sim_vq *vq)
{
	uint16_t max = vq->max_size;

	memset(vq, 0, sizeof(*vq));
	vq->max_size = max;
	vq->size = max;
	vq->msix_vector = 0xffff; /* VIRTIO_MSI_NO_VECTOR */
	vq->notify_on = true;
	/* §2.8.1: both wrap counters of a packed ring start at 1. */
	vq->av_wrap = vq->us_wrap = vq->sig_wrap = true;
}

void sim_vq_unmap(struct sim_vq *vq)
{
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->ring = NULL;
	vq->drv_ev = vq->dev_ev = NULL;
}

int sim_vq_map(struct sim_vq *vq, struct vfu_server *srv)
{
	sim_vq_unmap(vq);
	if (vq->packed)
		return sim_vqp_map(vq, srv);
	/* virtio 1.2 §2.7: alignment 16 (descriptors), 2 (available), 4 (used). */
	if ((vq->desc_iova & 15) || (vq->avail_iova & 1) || (vq->used_iova & 3))
		return vn_err(-EFAULT, "virtqueue ring address misaligned");
	vq->desc = vfu_dma_ptr(srv, vq->desc_iova, DESC_BYTES(vq->size), false);
	vq->avail = vfu_dma_ptr(srv, vq->avail_iova, AVAIL_BYTES(vq->size), false);
	vq->used = vfu_dma_ptr(srv, vq->used_iova, USED_BYTES(vq->size), true);
	if (!vq->desc || !vq->avail || !vq->used) {
		sim_vq_unmap(vq); /* all or nothing */
		return vn_err(-EFAULT, "virtqueue ring at %#llx/%#llx/%#llx is not in mapped memory",
			      (unsigned long long)vq->desc_iova,
			      (unsigned long long)vq->avail_iova,
			      (unsigned long long)vq->used_iova);
	}
	/* The device resumes where the driver's indices are; a fresh ring
	 * starts at 0 (§2.7.6, §2.7.8), which is what the driver wrote. */
	vq->used_idx = vq->published = vq->signalled =
		le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_RELAXED));
	sim_vq_notify(vq, vq->notify_on);
	return 0;
}

/* avail->ring[size] is used_event, used->ring[size] is avail_event (§2.7.6, §2.7.8). */
static uint16_t *avail_used_event(struct sim_vq *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *used_avail_event(struct sim_vq *vq)
{
	return (uint16_t *)(void *)&vq->used->ring[vq->size];
}

/* How many entries the driver has made available beyond ours. */
static int avail_pending(struct sim_vq *vq, uint16_t *n)
{
	if (vq->avail_seen == vq->last_avail) {
		/* virtio 1.2 §2.7.13.3: the driver writes ring entries before
		 * idx with a release barrier; acquire pairs with it so the
		 * entries read below are the ones idx covers. */
		vq->avail_seen = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	}
	*n = (uint16_t)(vq->avail_seen - vq->last_avail);
	if (*n > vq->size)
		return vn_err(-EPROTO, "available index moved by %u on a ring of %u",
			      *n, vq->size);
	return 0;
}

int sim_vq_pop(struct sim_vq *vq, struct vfu_server *srv, struct sim_seg *seg,
	       unsigned seg_cap, struct sim_chain *c)
{
	uint16_t n, head, i;
	unsigned count = 0;
	int err;

	if (vq->packed)
		return sim_vqp_pop(vq, srv, seg, seg_cap, c);
	err = avail_pending(vq, &n);
	if (err || n == 0)
		return err;
	head = le16toh(__atomic_load_n(&vq->avail->ring[vq->last_avail & (vq->size - 1)],
				       __ATOMIC_RELAXED));
	if (head >= vq->size)
		return vn_err(-EPROTO, "available ring names descriptor %u of %u", head, vq->size);

	memset(c, 0, sizeof(*c));
	c->head = head;
	c->seg = seg;
	for (i = head;;) {
		struct vring_desc d;
		uint16_t flags;
		uint32_t len;
		uint64_t addr;
		bool write;
		void *p;

		/* §2.7.5.1 bounds a chain by the queue size; longer means a loop. */
		if (++count > vq->size)
			return vn_err(-EPROTO, "descriptor chain from %u loops", head);
		/* Copy once: the driver could change it under us. */
		memcpy(&d, &vq->desc[i], sizeof(d));
		flags = le16toh(d.flags);
		len = le32toh(d.len);
		addr = le64toh(d.addr);
		write = flags & VRING_DESC_F_WRITE;
		if (flags & VRING_DESC_F_INDIRECT)
			return vn_err(-EPROTO, "indirect descriptor %u, feature not offered", i);
		/* §2.7.4.2: device-writable descriptors come after readable ones. */
		if (!write && c->n_in)
			return vn_err(-EPROTO, "readable descriptor %u after a writable one", i);
		if (len) {
			if (c->n_out + c->n_in == seg_cap)
				return -ENOSPC;
			p = vfu_dma_ptr(srv, addr, len, write);
			if (!p)
				return vn_err(-EPROTO, "descriptor %u: %#llx+%u is not in mapped memory",
					      i, (unsigned long long)addr, len);
			seg[c->n_out + c->n_in] = (struct sim_seg){ .p = p, .len = len };
			if (write) {
				c->n_in++;
				c->in_len += len;
			} else {
				c->n_out++;
				c->out_len += len;
			}
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(d.next);
		if (i >= vq->size)
			return vn_err(-EPROTO, "descriptor chain from %u links to %u of %u",
				      head, i, vq->size);
	}
	vq->last_avail++;
	return 1;
}

void sim_vq_unpop(struct sim_vq *vq, uint16_t n)
{
	if (vq->packed) {
		sim_vqp_unpop(vq, n);
		return;
	}
	vq->last_avail -= n;
}

void sim_vq_push(struct sim_vq *vq, uint32_t id, uint32_t len)
{
	struct vring_used_elem *e;

	if (vq->packed) {
		sim_vqp_push(vq, id, len);
		return;
	}
	e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	/* §2.7.8.2: the entry (id and len) is written before used->idx. */
	__atomic_store_n(&e->id, htole32(id), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(len), __ATOMIC_RELAXED);
	vq->used_idx++;
}

bool sim_vq_publish(struct sim_vq *vq)
{
	uint16_t old = vq->signalled, new = vq->used_idx;
	bool need;

	if (vq->packed)
		return sim_vqp_publish(vq);
	if (vq->published == new)
		return false;
	/* §2.7.8.2: entries must be visible before the index that covers them. */
	__atomic_store_n(&vq->used->idx, htole16(new), __ATOMIC_RELEASE);
	vq->published = new;
	/* §2.7.7.2: the index store must be ordered before reading the driver's
	 * suppression state, which the driver writes before re-reading used->idx
	 * (store-load ordering: a full barrier on both sides). Without it the
	 * driver could sleep on a suppressed interrupt and never be woken. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled = new;
	if (vq->event_idx) {
		/* §2.7.7.2: notify when used->idx passes used_event, i.e. when
		 * used_event lies in [old, new). */
		uint16_t ev = le16toh(__atomic_load_n(avail_used_event(vq), __ATOMIC_RELAXED));

		need = (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	} else {
		/* §2.7.7.2: without EVENT_IDX, NO_INTERRUPT in avail->flags asks us not to. */
		need = !(le16toh(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED)) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	}
	return need;
}

void sim_vq_notify(struct sim_vq *vq, bool on)
{
	if (vq->packed) {
		sim_vqp_notify(vq, on);
		return;
	}
	vq->notify_on = on;
	if (!vq->used)
		return;
	if (vq->event_idx) {
		/* §2.7.10.1: the driver notifies when avail->idx passes
		 * avail_event. Off: leave it behind, so the driver stops
		 * notifying; on: ask for the next buffer. */
		if (on)
			__atomic_store_n(used_avail_event(vq), htole16(vq->last_avail),
					 __ATOMIC_RELAXED);
	} else {
		/* §2.7.10.1: without EVENT_IDX, NO_NOTIFY in used->flags. */
		__atomic_store_n(&vq->used->flags, htole16(on ? 0 : VRING_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
	}
	if (on) {
		/* §2.7.10: the change must be visible before the caller re-reads
		 * avail->idx; the driver orders its idx store before reading our
		 * flag the same way (store-load: full barrier). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		vq->avail_seen = vq->last_avail; /* force a fresh read of avail->idx */
	}
}

int sim_vq_check_notify(struct sim_vq *vq, uint16_t qidx, uint32_t data)
{
	uint16_t next = (uint16_t)(data >> 16), idx;

	/* §4.1.5.2: bits 0-15 name the queue the doorbell belongs to. */
	if ((uint16_t)data != qidx)
		return vn_err(-EPROTO, "notification data for queue %u on queue %u's doorbell",
			      (uint16_t)data, qidx);
	if (vq->packed)
		return sim_vqp_check_notify(vq, data);
	/* Split: bits 16-31 the next avail idx, which the driver has already
	 * published (§2.7.13.4: idx before the notification), so it cannot lie
	 * ahead of avail->idx. */
	idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	if ((uint16_t)(next - idx) != 0 && (uint16_t)(next - idx) < 0x8000u)
		return vn_err(-EPROTO, "notification data: avail idx %u ahead of the ring's %u",
			      next, idx);
	return 0;
}
