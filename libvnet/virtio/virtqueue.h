/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue, driver side (virtio 1.2 §2.7). Transport-agnostic: it sees
 * ring memory, buffer memory and a doorbell (transport.h), nothing else.
 *
 * Every descriptor owns one fixed buffer (base + id * stride) whose device
 * address is written into the descriptor once, at init. A buffer id is then
 * in one of four states: free (on the free stack), held by the application
 * (reserved for TX, peeked from RX), owned by the device as a chain head, or
 * owned by the device as the tail of a two-descriptor chain (control queue).
 *
 * Fast path (inline below): enqueue writes one descriptor length and one
 * avail ring slot; publish makes the whole burst visible with one release
 * store of avail->idx and rings the doorbell at most once, only when the
 * device asked for it (EVENT_IDX or VRING_USED_F_NO_NOTIFY).
 *
 * Everything the device writes (used idx, used entries, avail_event and
 * used flags) is untrusted: an impossible value marks the device broken
 * (vq_mark_broken(), logged once per device), never an out-of-bounds access.
 *
 * Ring fields are little-endian (virtio 1.2 §2.4); libvnet builds for
 * little-endian hosts only (checked below).
 */
#ifndef VN_VIRTQUEUE_H
#define VN_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "compiler.h"
#include "iommu/dma.h"
#include "port.h"
#include "virtio/transport.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libvnet's virtqueues assume a little-endian host (virtio 1.2 §2.4)"
#endif

enum vq_state {
	VQ_FREE = 0,
	VQ_APP,     /* handed to the application */
	VQ_DEV,     /* a chain head the device owns */
	VQ_DEV_TAIL, /* the second descriptor of a chain the device owns */
	VQ_SEEN     /* packed: the device used it, the driver has not taken it yet */
};

#define VQ_F_EVENT_IDX   0x1 /* VIRTIO_F_RING_EVENT_IDX negotiated */
#define VQ_F_STRONG      0x2 /* VIRTIO_F_ORDER_PLATFORM: platform barriers */
#define VQ_F_DEV_WRITES  0x4 /* buffers are device-writable (RX) */
#define VQ_F_PACKED      0x8 /* VIRTIO_F_RING_PACKED: vq_packed.h's ring */
#define VQ_F_IN_ORDER    0x10 /* VIRTIO_F_IN_ORDER negotiated (packed) */
#define VQ_F_NOTIFY_DATA 0x20 /* VIRTIO_F_NOTIFICATION_DATA negotiated */

#define VQ_NO_LINK 0xffff

struct vq_cfg {
	uint16_t size;    /* power of two, <= 32768 */
	uint16_t index;   /* queue index, for messages */
	unsigned flags;   /* VQ_F_* */
	/* Ring parts in DMA memory, zeroed. Packed: desc is the descriptor
	 * ring, avail the driver and used the device event suppression area. */
	void *desc, *avail, *used;
	char *bufs;       /* buffer i is at bufs + i * stride */
	uint32_t stride;  /* power of two */
	uint32_t buf_len; /* device-visible bytes of each buffer */
	const struct vn_dma_mem *mem;
	uint8_t *dev_broken; /* the device's shared VN_STOP_* byte (port.h) */
};

struct vq {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;  /* in the driver area, after avail->ring[size] */
	uint16_t *avail_event; /* in the device area, after used->ring[size] */
	uint16_t size, mask, index;
	uint16_t avail_idx;    /* next avail slot to fill */
	uint16_t avail_pub;    /* avail->idx as last published */
	uint16_t used_last;    /* next used entry to read */
	uint16_t in_flight;    /* chain heads the device owns */
	uint16_t n_free;
	bool event_idx, strong, dev_writes;
	uint32_t buf_len;
	uint8_t stride_shift;
	char *bufs;
	uint16_t *free_ids;    /* stack of free ids */
	uint8_t *state;        /* enum vq_state by id */
	uint16_t *link;        /* chain tail by head id, or VQ_NO_LINK */
	uint8_t *dev_broken;
	struct vn_vtr_notify notify;
	uint64_t kicks;
	/*
	 * Packed ring only (vq_packed.h). avail_idx, avail_pub and used_last
	 * then count descriptors, free-running: slot = count & mask, wrap
	 * counter = !(count & size). Used entries are read from the ring into
	 * seen[] (validated, in order) and taken from there.
	 */
	bool packed, in_order, notify_data;
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *drv_event, *dev_event;
	uint64_t *iova;              /* device address of buffer id */
	struct vring_used_elem *seen; /* size entries */
	uint16_t seen_head, seen_tail;
	uint16_t *order;             /* in-order: buffer ids as made available */
	uint16_t avail_seq, used_seq; /* in-order: buffers made available / used */
	uint16_t first_flags;        /* flags of the burst's first descriptor, not yet written */
};

/* Bytes of each ring part for a queue of size entries (virtio 1.2 §2.7). */
size_t vq_desc_bytes(uint16_t size);
size_t vq_avail_bytes(uint16_t size);
size_t vq_used_bytes(uint16_t size);

/* Set up vq over zeroed rings, split or (VQ_F_PACKED) packed
 * (vq_packed.h); all ids start free. 0 or -errno. */
int vq_init(struct vq *vq, const struct vq_cfg *cfg);
void vq_fini(struct vq *vq);

/* Mark the device broken (VN_STOP_BROKEN; once per device: the first
 * reason is logged). */
void vq_mark_broken(struct vq *vq, const char *fmt, ...) VN_PRINTF(2, 3);

/*
 * Barriers. Without VIRTIO_F_ORDER_PLATFORM the device is another CPU as far
 * as ordering goes, and SMP ordering suffices: the release store of
 * avail->idx and the acquire load of used->idx carry it, so vq_wmb() and
 * vq_rmb() add nothing. With it, the device may be a real DMA master and the
 * platform's I/O-strength barriers are needed on top (virtio 1.2 §6
 * VIRTIO_F_ORDER_PLATFORM, §2.7.13.3.1). On x86 coherent DMA is ordered like
 * another CPU, so a fence suffices; arm64 needs the outer shareable domain.
 * The flavour is fixed at init (vq->strong); the branch is predictable.
 */
static inline void vq_wmb(const struct vq *vq)
{
	if (!vq->strong)
		return;
#if defined(__aarch64__)
	__asm__ volatile("dmb oshst" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static inline void vq_rmb(const struct vq *vq)
{
	if (!vq->strong)
		return;
#if defined(__aarch64__)
	__asm__ volatile("dmb oshld" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* Store-load ordering: a full barrier in both flavours. */
static inline void vq_mb(const struct vq *vq)
{
#if defined(__aarch64__)
	if (vq->strong) {
		__asm__ volatile("dmb osh" ::: "memory");
		return;
	}
#endif
	(void)vq;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* The device's VN_STOP_* bits: the data path's one test per burst. */
static inline uint8_t vq_stopped(const struct vq *vq)
{
	return __atomic_load_n(vq->dev_broken, __ATOMIC_RELAXED);
}

static inline bool vq_broken(const struct vq *vq)
{
	return vq_stopped(vq) & VN_STOP_BROKEN;
}

/* The device-visible start of buffer id. */
static inline char *vq_buf(const struct vq *vq, uint16_t id)
{
	return vq->bufs + ((size_t)id << vq->stride_shift);
}

/* Take a free id (caller checked n_free > 0); it becomes the app's. */
static inline uint16_t vq_take(struct vq *vq)
{
	uint16_t id = vq->free_ids[--vq->n_free];

	vq->state[id] = VQ_APP;
	return id;
}

/* Return an app-held id to the free stack. */
static inline void vq_give(struct vq *vq, uint16_t id)
{
	vq->state[id] = VQ_FREE;
	vq->free_ids[vq->n_free++] = id;
}

/*
 * Put buffer id (app-held) into the next avail slot with len device-visible
 * bytes. Not visible to the device until vq_publish().
 */
static inline void vq_enqueue(struct vq *vq, uint16_t id, uint32_t len)
{
	/* virtio 1.2 §2.7.13.1-2: fill the descriptor, then the avail slot. */
	vq->desc[id].len = len;
	vq->avail->ring[vq->avail_idx & vq->mask] = id;
	vq->avail_idx++;
	vq->state[id] = VQ_DEV;
	vq->in_flight++;
}

/* Enqueue every free id with a full-length buffer (RX: post or repost). */
static inline void vq_enqueue_free(struct vq *vq)
{
	while (vq->n_free)
		vq_enqueue(vq, vq_take(vq), vq->buf_len);
}

/* Make everything enqueued visible and kick if the device wants it. */
static inline void vq_publish(struct vq *vq)
{
	uint16_t old = vq->avail_pub, now = vq->avail_idx;
	bool kick;

	if (old == now)
		return;
	/* virtio 1.2 §2.7.13.3.1: a memory barrier before the idx update, so the
	 * device sees the descriptors and ring entries before the new idx (the
	 * release store, plus vq_wmb() for a platform DMA master). */
	vq_wmb(vq);
	__atomic_store_n(&vq->avail->idx, now, __ATOMIC_RELEASE);
	vq->avail_pub = now;
	/* virtio 1.2 §2.7.13.4.1 (and §2.7.10): a full barrier between the idx
	 * store and reading the suppression field, or a notification the device
	 * needs can be missed. */
	vq_mb(vq);
	if (vq->event_idx)
		/* virtio 1.2 §2.7.10: kick only if avail_event lies in [old, now). */
		kick = vring_need_event(__atomic_load_n(vq->avail_event, __ATOMIC_RELAXED),
					now, old);
	else
		/* virtio 1.2 §2.7.10: the device may set VRING_USED_F_NO_NOTIFY. */
		kick = !(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	if (kick) {
		/* virtio 1.2 §4.1.5.2: with NOTIFICATION_DATA, the queue index and
		 * the next avail index (used only when vq->notify.with_data). */
		vq->notify.data = vq->index | (uint32_t)now << 16;
		vn_vtr_kick(&vq->notify);
		VN_STAT_ADD(vq->kicks, 1);
	}
}

/*
 * Make everything enqueued visible without a doorbell: while the device is
 * being reset (auto reset), when it must not be notified (virtio 1.2
 * §3.1.1: queues are used from DRIVER_OK on) and will look at the ring
 * anyway once it runs. The same release store as vq_publish().
 */
static inline void vq_publish_quiet(struct vq *vq)
{
	vq_wmb(vq); /* virtio 1.2 §2.7.13.3.1, as in vq_publish() */
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	vq->avail_pub = vq->avail_idx;
}

/*
 * Used entries waiting, or -1 (device marked broken) when the device moved
 * used->idx further than the buffers it owns allow.
 */
static inline int vq_used_pending(struct vq *vq)
{
	/* virtio 1.2 §2.7.14 / §2.7.8: read idx first (acquire), then entries. */
	uint16_t idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(idx - vq->used_last);

	if (VN_UNLIKELY(n > vq->in_flight)) {
		vq_mark_broken(vq, "queue %u: used idx moved by %u with %u buffers in flight",
			       vq->index, n, vq->in_flight);
		return -1;
	}
	if (n)
		vq_rmb(vq); /* virtio 1.2 §2.7.8: entries only after idx (see vq_wmb) */
	return n;
}

/*
 * Look at the next used entry without taking it (caller saw
 * vq_used_pending() > 0): its id, validated as for vq_used_get(), or -1
 * after marking the device broken.
 */
static inline int vq_used_peek(struct vq *vq, uint32_t *len)
{
	const struct vring_used_elem *e = &vq->used->ring[vq->used_last & vq->mask];
	uint32_t id = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
	uint32_t l = __atomic_load_n(&e->len, __ATOMIC_RELAXED);

	if (VN_UNLIKELY(id >= vq->size || vq->state[id] != VQ_DEV)) {
		vq_mark_broken(vq, "queue %u: used id %u is not a buffer the device owns",
			       vq->index, id);
		return -1;
	}
	if (VN_UNLIKELY(vq->dev_writes && l > vq->buf_len)) {
		vq_mark_broken(vq, "queue %u: used len %u exceeds buffer length %u",
			       vq->index, l, vq->buf_len);
		return -1;
	}
	*len = l;
	return (int)id;
}

/*
 * Take the next used entry (caller saw vq_used_pending() > 0). Returns its id,
 * now app-held, with the device-written length in *len; or -1 when the entry
 * is impossible (id out of range or not in flight, len over the buffer),
 * after marking the device broken.
 */
static inline int vq_used_get(struct vq *vq, uint32_t *len)
{
	int id = vq_used_peek(vq, len);

	if (VN_UNLIKELY(id < 0))
		return -1;
	if (VN_UNLIKELY(vq->link[id] != VQ_NO_LINK)) {
		vq_give(vq, vq->link[id]);
		vq->link[id] = VQ_NO_LINK;
	}
	vq->state[id] = VQ_APP;
	vq->used_last++;
	vq->in_flight--;
	return id;
}

/*
 * After consuming used entries: keep the device's used-buffer notifications
 * off while polling. With EVENT_IDX, used_event is parked one behind
 * used_last, which the device cannot reach before we read on (virtio 1.2
 * §2.7.7); without it, VRING_AVAIL_F_NO_INTERRUPT stays set (set at init).
 */
static inline void vq_used_done(struct vq *vq)
{
	if (vq->event_idx)
		__atomic_store_n(vq->used_event, (uint16_t)(vq->used_last - 1), __ATOMIC_RELAXED);
}

/*
 * Ask for a used-buffer notification for the next entry the device adds
 * beyond those seen (virtio 1.2 §2.7.7.1: with EVENT_IDX used_event =
 * used_last; else clear VRING_AVAIL_F_NO_INTERRUPT), then a full barrier
 * so that the caller's next look at used->idx cannot be ordered before the
 * store (virtio 1.2 §2.7.10 / §2.7.13.3: store-load ordering, or an entry
 * added just before the device read the old value is never signalled).
 */
static inline void vq_notify_on(struct vq *vq)
{
	if (vq->event_idx)
		__atomic_store_n(vq->used_event, vq->used_last, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->avail->flags, 0, __ATOMIC_RELAXED);
	vq_mb(vq);
}

/* No used-buffer notifications while the driver polls (virtio 1.2 §2.7.7). */
static inline void vq_notify_off(struct vq *vq)
{
	if (vq->event_idx)
		vq_used_done(vq);
	else
		__atomic_store_n(&vq->avail->flags, VRING_AVAIL_F_NO_INTERRUPT, __ATOMIC_RELAXED);
}

/*
 * The device was reset (virtio 1.2 §2.4: it forgets the ring indices and
 * every buffer it held): take back every buffer it owned and zero the
 * rings, as vq_init() left them; buffers the application holds stay its.
 * *held: chains the device owned; *done: of those, the ones it had
 * completed (used entries not read yet; 0 when used->idx is impossible).
 */
void vq_restart(struct vq *vq, unsigned *held, unsigned *done);

/*
 * Control queue: post a two-descriptor chain, out_id device-readable with
 * out_len bytes, then in_id device-writable with in_len bytes (virtio 1.2
 * §2.7.5, §5.1.6.5). Both ids app-held; the used entry names out_id.
 */
void vq_enqueue_chain(struct vq *vq, uint16_t out_id, uint32_t out_len, uint16_t in_id,
		      uint32_t in_len);

#endif
