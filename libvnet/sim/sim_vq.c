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
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim/sim_vq.h"
#include "sim/vfu_server.h"

/* Sizes of the three areas (§2.7: descriptor table, available ring with
 * used_event, used ring with avail_event). */
#define DESC_BYTES(n)  (16u * (n))
#define AVAIL_BYTES(n) (6u + 2u * (n))
#define USED_BYTES(n)  (6u + 8u * (n))
#define BOUNCE_MAX (1u << 20) /* longest buffer copied through DMA messages */

/* The buffers of one chain in client-kept memory, by bounce copy. */
struct sim_bounce {
	unsigned n;
	struct { uint64_t iova; uint32_t len; bool write; uint8_t *p; } seg[];
};

static void bounce_free(struct sim_vq *vq, uint16_t head)
{
	struct sim_bounce *b = vq->bounce ? vq->bounce[head] : NULL;

	if (!b)
		return;
	for (unsigned k = 0; k < b->n; k++)
		free(b->seg[k].p);
	free(b);
	vq->bounce[head] = NULL;
}

static void bounce_free_all(struct sim_vq *vq)
{
	for (unsigned h = 0; vq->bounce && h < vq->size; h++)
		bounce_free(vq, (uint16_t)h);
	free(vq->bounce);
	vq->bounce = NULL;
}

/* A ring field in client-kept memory, by message; a failure fails the queue
 * at the next pop (reads give 0 meanwhile). */
static void remote_rw(struct sim_vq *vq, uint64_t iova, void *v, unsigned len, bool write)
{
	if (!vq->remote_fault && vfu_dma_rw(vq->srv, iova, v, len, write)) {
		vn_warn("sim: virtqueue ring access by DMA message failed: %s", vn_err_msg());
		vq->remote_fault = true;
	}
	if (vq->remote_fault && !write)
		memset(v, 0, len);
}

static uint16_t remote_get16(struct sim_vq *vq, uint64_t iova)
{
	uint16_t v;

	remote_rw(vq, iova, &v, 2, false);
	return v;
}

static void remote_put16(struct sim_vq *vq, uint64_t iova, uint16_t v)
{
	remote_rw(vq, iova, &v, 2, true);
}

/* §2.7.6, §2.7.8: where the fields are, from the ring addresses. */
#define AVAIL_FLAGS(vq)    ((vq)->avail_iova)
#define AVAIL_IDX(vq)      ((vq)->avail_iova + 2)
#define AVAIL_RING(vq, i)  ((vq)->avail_iova + 4 + 2u * (i))
#define USED_EVENT(vq)     AVAIL_RING(vq, (vq)->size)
#define USED_FLAGS(vq)     ((vq)->used_iova)
#define USED_IDX(vq)       ((vq)->used_iova + 2)
#define USED_ELEM(vq, i)   ((vq)->used_iova + 4 + 8u * (i))
#define AVAIL_EVENT(vq)    USED_ELEM(vq, (vq)->size)

void sim_vq_reset(struct sim_vq *vq)
{
	uint16_t max = vq->max_size;

	bounce_free_all(vq);
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
	bounce_free_all(vq);
	vq->remote = vq->remote_fault = false;
}

/* Buffer [iova, +len) of chain head, by bounce copy: a device-readable one
 * is read now; a device-writable one starts zeroed (only what the device
 * wrote goes back, at push). NULL when it cannot be had. */
static void *bounce_seg(struct sim_vq *vq, uint16_t head, uint64_t iova, uint32_t len, bool write)
{
	struct sim_bounce *b = vq->bounce[head];
	unsigned n = b ? b->n : 0;
	uint8_t *p;

	if (len > BOUNCE_MAX) {
		vn_warn("sim: a %u-byte buffer in client-kept memory (at most %u by DMA message)",
			len, BOUNCE_MAX);
		return NULL;
	}
	b = realloc(b, sizeof(*b) + (n + 1) * sizeof(b->seg[0]));
	if (!b)
		return NULL;
	b->n = n;
	vq->bounce[head] = b;
	p = calloc(1, len);
	if (!p || (!write && vfu_dma_rw(vq->srv, iova, p, len, false))) {
		free(p);
		return NULL;
	}
	b->seg[n].iova = iova;
	b->seg[n].len = len;
	b->seg[n].write = write;
	b->seg[n].p = p;
	b->n = n + 1;
	return p;
}

/* §2.7.8.2 for a chain in client-kept memory: the len bytes the device
 * wrote go back to the driver's buffers before the used entry. */
static void bounce_flush(struct sim_vq *vq, uint32_t head, uint32_t len)
{
	struct sim_bounce *b = head < vq->size ? vq->bounce[head] : NULL;

	for (unsigned k = 0; b && k < b->n && len; k++) {
		uint32_t n = VN_MIN(len, b->seg[k].len);

		if (!b->seg[k].write)
			continue;
		remote_rw(vq, b->seg[k].iova, b->seg[k].p, n, true);
		len -= n;
	}
	if (head < vq->size)
		bounce_free(vq, (uint16_t)head);
}

/* The rings are not all in memory we mapped: all of them by message then,
 * if the client mapped them (checked by reading each area's first field
 * and writing used->idx back unchanged). */
static int map_remote(struct sim_vq *vq, struct vfu_server *srv)
{
	uint8_t d[16];
	uint16_t idx;

	if (vfu_dma_rw(srv, vq->desc_iova, d, sizeof(d), false) ||
	    vfu_dma_rw(srv, vq->avail_iova, d, 2, false) ||
	    vfu_dma_rw(srv, USED_IDX(vq), &idx, 2, false) ||
	    vfu_dma_rw(srv, USED_IDX(vq), &idx, 2, true))
		return -EFAULT;
	vq->bounce = calloc(vq->size, sizeof(*vq->bounce));
	if (!vq->bounce)
		return vn_err(-ENOMEM, "virtqueue: out of memory");
	vq->srv = srv;
	vq->remote = true;
	vq->used_idx = vq->published = vq->signalled = le16toh(idx);
	return 0;
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
		if (map_remote(vq, srv) == 0) {
			sim_vq_notify(vq, vq->notify_on);
			return 0;
		}
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
		vq->avail_seen = vq->remote ? le16toh(remote_get16(vq, AVAIL_IDX(vq))) :
			le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	}
	*n = (uint16_t)(vq->avail_seen - vq->last_avail);
	if (*n > vq->size)
		return vn_err(-EPROTO, "available index moved by %u on a ring of %u",
			      *n, vq->size);
	return 0;
}

int sim_chain_check(const struct sim_chain *c, unsigned seg_cap, uint16_t flags, uint32_t len,
		    unsigned where)
{
	if (flags & VRING_DESC_F_INDIRECT)
		return vn_err(-EPROTO, "indirect descriptor %u, feature not offered", where);
	/* §2.7.4.2 (split), §2.8 (packed): device-writable descriptors come
	 * after readable ones. */
	if (!(flags & VRING_DESC_F_WRITE) && c->n_in)
		return vn_err(-EPROTO, "readable descriptor %u after a writable one", where);
	return len && c->n_out + c->n_in == seg_cap ? -ENOSPC : 0;
}

int sim_chain_add(struct sim_chain *c, void *p, uint32_t len, bool write, uint64_t addr,
		  unsigned where)
{
	if (!p)
		return vn_err(-EPROTO, "descriptor %u: %#llx+%u is not in mapped memory", where,
			      (unsigned long long)addr, len);
	c->seg[c->n_out + c->n_in] = (struct sim_seg){ .p = p, .len = len };
	if (write) {
		c->n_in++;
		c->in_len += len;
	} else {
		c->n_out++;
		c->out_len += len;
	}
	return 0;
}

int sim_vq_pop(struct sim_vq *vq, struct vfu_server *srv, struct sim_seg *seg,
	       unsigned seg_cap, struct sim_chain *c)
{
	uint16_t n, head, i, slot;
	unsigned count = 0;
	int err;

	if (vq->remote_fault)
		return vn_err(-EPROTO, "virtqueue: the client did not serve a DMA message");
	if (vq->packed)
		return sim_vqp_pop(vq, srv, seg, seg_cap, c);
	err = avail_pending(vq, &n);
	if (err || n == 0)
		return err;
	slot = vq->last_avail & (vq->size - 1);
	head = le16toh(vq->remote ? remote_get16(vq, AVAIL_RING(vq, slot)) :
		       __atomic_load_n(&vq->avail->ring[slot], __ATOMIC_RELAXED));
	if (head >= vq->size)
		return vn_err(-EPROTO, "available ring names descriptor %u of %u", head, vq->size);

	memset(c, 0, sizeof(*c));
	c->head = head;
	c->seg = seg;
	if (vq->remote)
		bounce_free(vq, head); /* left from a chain given back (sim_vq_unpop) */
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
		if (vq->remote)
			remote_rw(vq, vq->desc_iova + 16u * i, &d, sizeof(d), false);
		else
			memcpy(&d, &vq->desc[i], sizeof(d));
		flags = le16toh(d.flags);
		len = le32toh(d.len);
		addr = le64toh(d.addr);
		write = flags & VRING_DESC_F_WRITE;
		err = sim_chain_check(c, seg_cap, flags, len, i);
		if (err)
			return err;
		if (len) {
			p = vq->remote ? bounce_seg(vq, head, addr, len, write) :
					 vfu_dma_ptr(srv, addr, len, write);
			err = sim_chain_add(c, p, len, write, addr, i);
			if (err)
				return err;
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

	if (vq->remote) {
		struct vring_used_elem r = { htole32(id), htole32(len) };

		/* §2.7.8.2: buffer contents, then the entry (each message is
		 * answered before the next is sent: they land in this order). */
		bounce_flush(vq, id, len);
		remote_rw(vq, USED_ELEM(vq, vq->used_idx & (vq->size - 1)), &r, sizeof(r), true);
		vq->used_idx++;
		return;
	}

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
	/* §2.7.8.2: entries must be visible before the index that covers them
	 * (by message: the entries' messages were answered before this one). */
	if (vq->remote)
		remote_put16(vq, USED_IDX(vq), htole16(new));
	else
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
		uint16_t ev = le16toh(vq->remote ? remote_get16(vq, USED_EVENT(vq)) :
				      __atomic_load_n(avail_used_event(vq), __ATOMIC_RELAXED));

		need = (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	} else {
		/* §2.7.7.2: without EVENT_IDX, NO_INTERRUPT in avail->flags asks us not to. */
		need = !(le16toh(vq->remote ? remote_get16(vq, AVAIL_FLAGS(vq)) :
				 __atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED)) &
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
	if (vq->remote) {
		if (vq->event_idx && on)
			remote_put16(vq, AVAIL_EVENT(vq), htole16(vq->avail_seen));
		else if (!vq->event_idx)
			remote_put16(vq, USED_FLAGS(vq), htole16(on ? 0 : VRING_USED_F_NO_NOTIFY));
		if (on)
			vq->avail_seen = vq->last_avail;
		return;
	}
	if (!vq->used)
		return;
	if (vq->event_idx) {
		/* §2.7.10.1: the driver notifies when avail->idx passes
		 * avail_event. Off: leave it behind, so the driver stops
		 * notifying; on: ask for the next buffer after those seen
		 * (avail_seen, ahead of last_avail when the device stopped short
		 * of a frame's worth of RX buffers: those do not count). */
		if (on)
			__atomic_store_n(used_avail_event(vq), htole16(vq->avail_seen),
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
