/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueue, driver side (virtio 1.2 §2.8), beside the split one of
 * virtqueue.h and with the same contract towards the data path: one fixed
 * buffer per id, burst enqueue with one publish, used entries taken in the
 * order the device wrote them. The vqp_* names mirror the vq_* ones, so
 * that virtio_net_rxtx_body.h compiles once for each ring layout and the
 * port picks one set of burst calls at open (virtio_port.c): no per-frame
 * test of the layout.
 *
 * Counters: avail_idx, avail_pub and used_last count descriptors, modulo
 * 2^16; as the size is a power of two <= 32768, the ring slot is
 * count & mask and the wrap counter (§2.8.1, starting at 1) is
 * !(count & size), for both the driver's and the device's position.
 *
 * Used entries (§2.8.1, §2.8.22): a descriptor is used when its AVAIL and USED
 * flags both equal the driver's used wrap counter. vqp_used_pending() reads
 * them from the ring into seen[], validating each: an id the device does not
 * own, one used twice, or a length beyond the buffer marks the device broken
 * and is never followed. With VIRTIO_F_IN_ORDER (§2.8.8) a used entry must
 * name the oldest buffer the device holds, or a later one that closes a batch
 * (§2.8.8: one used entry for the whole batch). The batch's other buffers
 * "are assumed to have been used completely" (§2.8.8): device-writable ones
 * are reported with their full length, device-readable ones with 0.
 */
#ifndef VN_VQ_PACKED_H
#define VN_VQ_PACKED_H

#include "virtio/virtqueue.h"

#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38 /* virtio 1.2 §6; not in older uAPI headers */
#endif

/* Bytes of each ring part (virtio 1.2 §2.8.10.1): 16-byte descriptors;
 * the driver and device event suppression structures are 4 bytes each. */
size_t vqp_desc_bytes(uint16_t size);
size_t vqp_event_bytes(void);

/* Set up vq as a packed ring (cfg->flags has VQ_F_PACKED). 0 or -errno. */
int vqp_init(struct vq *vq, const struct vq_cfg *cfg);

/* Wrap counter of the position count counts to (virtio 1.2 §2.8.1). */
static inline unsigned vqp_wrap(const struct vq *vq, uint16_t count)
{
	return !(count & vq->size);
}

/* virtio 1.2 §2.8.1: a driver makes a descriptor available with AVAIL equal
 * to its wrap counter and USED the inverse. */
static inline uint16_t vqp_avail_flags(const struct vq *vq, uint16_t count)
{
	return vqp_wrap(vq, count) ? (uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL)
				   : (uint16_t)(1u << VRING_PACKED_DESC_F_USED);
}

/* Write one descriptor at the next avail position; the burst's first one
 * keeps its flags back for vqp_publish(). */
static inline void vqp_put_desc(struct vq *vq, uint16_t id, uint64_t addr, uint32_t len,
				uint16_t flags)
{
	uint16_t at = vq->avail_idx;
	struct vring_packed_desc *d = &vq->ring[at & vq->mask];

	flags |= vqp_avail_flags(vq, at);
	d->addr = addr;
	d->len = len;
	d->id = id;
	if (at == vq->avail_pub)
		vq->first_flags = flags;
	else
		/* Ordered by the release store of the first descriptor's flags. */
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELAXED);
	vq->avail_idx++;
}

/* Buffer id (app-held) into the next descriptor, len device-visible bytes.
 * Not visible to the device until vqp_publish(). */
static inline void vqp_enqueue(struct vq *vq, uint16_t id, uint32_t len)
{
	vqp_put_desc(vq, id, vq->iova[id], len, vq->dev_writes ? VRING_DESC_F_WRITE : 0);
	vq->order[vq->avail_seq++ & vq->mask] = id;
	vq->state[id] = VQ_DEV;
	vq->in_flight++;
}

static inline void vqp_enqueue_free(struct vq *vq)
{
	while (vq->n_free)
		vqp_enqueue(vq, vq_take(vq), vq->buf_len);
}

/* Count c lies in [old, now) of the 2 * size position space: the
 * wrap-aware form of vring_need_event() (virtio 1.2 §2.8.10). */
static inline bool vqp_passed(const struct vq *vq, uint16_t c, uint16_t now, uint16_t old)
{
	uint16_t m = (uint16_t)(2u * vq->size - 1u);

	return (uint16_t)((now - c - 1) & m) < (uint16_t)((now - old) & m);
}

/* The position count an off_wrap field names (virtio 1.2 §2.8.10: bits 0-14
 * the descriptor offset, bit 15 its wrap counter), in our counters' space. */
static inline uint16_t vqp_event_count(const struct vq *vq, uint16_t off_wrap)
{
	uint16_t off = (uint16_t)(off_wrap & 0x7fffu & vq->mask);

	return (off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR) ? off : (uint16_t)(off | vq->size);
}

/* Make everything enqueued visible and kick if the device wants it. */
static inline void vqp_publish(struct vq *vq)
{
	uint16_t old = vq->avail_pub, now = vq->avail_idx, ev_flags;
	bool kick;

	if (old == now)
		return;
	/* virtio 1.2 §2.8.21.1 / §2.8.6: the first descriptor's flags are written
	 * last, with a release store (plus vq_wmb() for a platform DMA master),
	 * so the device sees the whole burst, every other descriptor complete,
	 * once it sees the first available. */
	vq_wmb(vq);
	__atomic_store_n(&vq->ring[old & vq->mask].flags, vq->first_flags, __ATOMIC_RELEASE);
	vq->avail_pub = now;
	/* virtio 1.2 §2.8.21.3.1 (§2.8.10): a full barrier between making the
	 * descriptors available and reading the device's suppression structure. */
	vq_mb(vq);
	ev_flags = __atomic_load_n(&vq->dev_event->flags, __ATOMIC_RELAXED);
	if (ev_flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		kick = false;
	else if (ev_flags == VRING_PACKED_EVENT_FLAG_DESC && vq->event_idx)
		/* virtio 1.2 §2.8.10: kick when the descriptor off_wrap names was
		 * made available by this burst. */
		kick = vqp_passed(vq, vqp_event_count(vq, __atomic_load_n(&vq->dev_event->off_wrap,
								       __ATOMIC_RELAXED)),
				  now, old);
	else
		kick = true; /* ENABLE; anything else errs on the side of a kick */
	if (kick) {
		/* virtio 1.2 §4.1.5.2: queue index, next avail offset and its
		 * wrap counter in bit 31. */
		vq->notify.data = vq->index | (uint32_t)(now & vq->mask) << 16 |
				  (uint32_t)vqp_wrap(vq, now) << 31;
		vn_vtr_kick(&vq->notify);
		VN_STAT_ADD(vq->kicks, 1);
	}
}

/* vqp_publish() without the notification: an auto reset under way tells
 * the device itself. */
static inline void vqp_publish_quiet(struct vq *vq)
{
	uint16_t old = vq->avail_pub;

	if (old == vq->avail_idx)
		return;
	vq_wmb(vq); /* virtio 1.2 §2.8.21.1, as in vqp_publish() */
	__atomic_store_n(&vq->ring[old & vq->mask].flags, vq->first_flags, __ATOMIC_RELEASE);
	vq->avail_pub = vq->avail_idx;
}

/* Descriptors buffer id took in the ring: 2 for a control chain, else 1. */
static inline uint16_t vqp_descs(const struct vq *vq, uint16_t id)
{
	return vq->link[id] == VQ_NO_LINK ? 1 : 2;
}

static inline void vqp_seen(struct vq *vq, uint16_t id, uint32_t len)
{
	struct vring_used_elem *e = &vq->seen[vq->seen_tail++ & vq->mask];

	e->id = id;
	e->len = len;
	vq->state[id] = VQ_SEEN;
	vq->used_last = (uint16_t)(vq->used_last + vqp_descs(vq, id));
}

/*
 * In-order (§2.8.8): the used entry names the oldest buffer the device
 * holds (one compare, no lookup) or closes a batch that starts there. The
 * buffers covered, or 0 (device marked broken).
 */
static inline unsigned vqp_take_in_order(struct vq *vq, uint16_t id, uint32_t len, uint16_t owned)
{
	uint16_t k = 0;

	while (vq->order[(uint16_t)(vq->used_seq + k) & vq->mask] != id)
		if (++k >= owned) {
			vq_mark_broken(vq, "queue %u: used id %u is not a buffer the device owns "
				       "(in order)", vq->index, id);
			return 0;
		}
	for (uint16_t j = 0; j < k; j++)
		vqp_seen(vq, vq->order[vq->used_seq++ & vq->mask], vq->dev_writes ? vq->buf_len : 0);
	vqp_seen(vq, id, len);
	vq->used_seq++;
	return k + 1u;
}

/*
 * Read the used descriptors the device wrote into seen[]; the entries
 * waiting there, or -1 (device marked broken) when one is impossible.
 */
static inline int vqp_used_pending(struct vq *vq)
{
	uint16_t owned = (uint16_t)(vq->in_flight - (uint16_t)(vq->seen_tail - vq->seen_head));

	while (owned) {
		const struct vring_packed_desc *d = &vq->ring[vq->used_last & vq->mask];
		/* virtio 1.2 §2.8.22: read flags first (acquire), then
		 * the rest of the used descriptor. */
		uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
		unsigned w = vqp_wrap(vq, vq->used_last);
		uint16_t id;
		uint32_t len;

		/* virtio 1.2 §2.8.1: used when AVAIL and USED both equal the used
		 * wrap counter. */
		if (((f >> VRING_PACKED_DESC_F_AVAIL) & 1u) != w ||
		    ((f >> VRING_PACKED_DESC_F_USED) & 1u) != w)
			break;
		vq_rmb(vq); /* virtio 1.2 §2.8.22: id and len only after flags */
		id = __atomic_load_n(&d->id, __ATOMIC_RELAXED);
		len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
		if (VN_UNLIKELY(vq->dev_writes && len > vq->buf_len)) {
			vq_mark_broken(vq, "queue %u: used len %u exceeds buffer length %u",
				       vq->index, len, vq->buf_len);
			return -1;
		}
		if (vq->in_order) {
			unsigned n = vqp_take_in_order(vq, id, len, owned);

			if (VN_UNLIKELY(!n))
				return -1;
			owned = (uint16_t)(owned - n);
			continue;
		}
		if (VN_UNLIKELY(id >= vq->size || vq->state[id] != VQ_DEV)) {
			vq_mark_broken(vq, "queue %u: used id %u is not a buffer the device owns",
				       vq->index, id);
			return -1;
		}
		vqp_seen(vq, id, len);
		owned--;
	}
	return (uint16_t)(vq->seen_tail - vq->seen_head);
}

/* The next entry read (caller saw vqp_used_pending() > 0), not taken. */
static inline int vqp_used_peek(struct vq *vq, uint32_t *len)
{
	const struct vring_used_elem *e = &vq->seen[vq->seen_head & vq->mask];

	*len = e->len;
	return (int)e->id;
}

/* Take the next entry read: its id, now app-held. Never fails: the entry
 * was validated when read from the ring. */
static inline int vqp_used_get(struct vq *vq, uint32_t *len)
{
	int id = vqp_used_peek(vq, len);

	if (VN_UNLIKELY(vq->link[id] != VQ_NO_LINK)) {
		vq_give(vq, vq->link[id]);
		vq->link[id] = VQ_NO_LINK;
	}
	vq->state[id] = VQ_APP;
	vq->seen_head++;
	vq->in_flight--;
	return id;
}

/* Polling keeps RING_EVENT_FLAGS_DISABLE (vqp_notify_off()): nothing to do. */
static inline void vqp_used_done(struct vq *vq)
{
	(void)vq;
}

/*
 * Ask for a used-buffer notification for the next descriptor the device
 * uses beyond those read (virtio 1.2 §2.8.10: with EVENT_IDX, flags DESC and
 * off_wrap = our used position, written before the flags; else ENABLE), then
 * a full barrier so the caller's next look at the ring cannot be ordered
 * before the store (§2.8.22: re-check after enabling; store-load ordering).
 */
static inline void vqp_notify_on(struct vq *vq)
{
	if (vq->event_idx) {
		__atomic_store_n(&vq->drv_event->off_wrap,
				 (uint16_t)((vq->used_last & vq->mask) |
					    vqp_wrap(vq, vq->used_last) << VRING_PACKED_EVENT_F_WRAP_CTR),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&vq->drv_event->flags, VRING_PACKED_EVENT_FLAG_DESC,
				 __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&vq->drv_event->flags, VRING_PACKED_EVENT_FLAG_ENABLE,
				 __ATOMIC_RELAXED);
	}
	vq_mb(vq);
}

/* No used-buffer notifications while the driver polls (virtio 1.2 §2.8.10). */
static inline void vqp_notify_off(struct vq *vq)
{
	__atomic_store_n(&vq->drv_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE, __ATOMIC_RELAXED);
}

/* Control queue: a two-descriptor chain as vq_enqueue_chain(); the buffer id
 * (out_id) goes in the last descriptor (virtio 1.2 §2.8.6). */
void vqp_enqueue_chain(struct vq *vq, uint16_t out_id, uint32_t out_len, uint16_t in_id,
		       uint32_t in_len);

/*
 * Either layout, for the slow paths (control queue, setup, close, the
 * arm/ready checks of sleeping): one predictable test per call.
 */
static inline void vq_any_enqueue_free(struct vq *vq)
{
	if (vq->packed)
		vqp_enqueue_free(vq);
	else
		vq_enqueue_free(vq);
}

static inline void vq_any_publish(struct vq *vq)
{
	if (vq->packed)
		vqp_publish(vq);
	else
		vq_publish(vq);
}

static inline int vq_any_used_pending(struct vq *vq)
{
	return vq->packed ? vqp_used_pending(vq) : vq_used_pending(vq);
}

static inline int vq_any_used_get(struct vq *vq, uint32_t *len)
{
	return vq->packed ? vqp_used_get(vq, len) : vq_used_get(vq, len);
}

static inline void vq_any_used_done(struct vq *vq)
{
	if (!vq->packed)
		vq_used_done(vq);
}

static inline void vq_any_notify_on(struct vq *vq)
{
	if (vq->packed)
		vqp_notify_on(vq);
	else
		vq_notify_on(vq);
}

static inline void vq_any_notify_off(struct vq *vq)
{
	if (vq->packed)
		vqp_notify_off(vq);
	else
		vq_notify_off(vq);
}

static inline void vq_any_enqueue_chain(struct vq *vq, uint16_t out_id, uint32_t out_len,
					uint16_t in_id, uint32_t in_len)
{
	if (vq->packed)
		vqp_enqueue_chain(vq, out_id, out_len, in_id, in_len);
	else
		vq_enqueue_chain(vq, out_id, out_len, in_id, in_len);
}

#endif
