/* SPDX-License-Identifier: MIT */
/*
 * Device side of a packed virtqueue, from virtio 1.2 §2.8 (see sim_vq.h),
 * independent of the driver's vq_packed.h: positions here are an offset and
 * a wrap counter, as the spec states them, not the driver's counters.
 *
 * The device reads available descriptors from the ring and writes used ones
 * back into it, at its own used position, one per chain (or, IN_ORDER TX,
 * one per published batch: §2.8.8). Everything the driver wrote is
 * untrusted: flags, lengths, addresses, ids and event suppression fields.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "sim/sim_vq.h"
#include "sim/vfu_server.h"

#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED  (1u << VRING_PACKED_DESC_F_USED)

/* Step a position n descriptors forward; the wrap counter flips at the end
 * of the ring (§2.8.1). */
static void step(const struct sim_vq *vq, uint16_t *off, bool *wrap, uint16_t n)
{
	*off = (uint16_t)(*off + n);
	if (*off >= vq->size) {
		*off = (uint16_t)(*off - vq->size);
		*wrap = !*wrap;
	}
}

static void step_back(const struct sim_vq *vq, uint16_t *off, bool *wrap, uint16_t n)
{
	if (*off < n) {
		*off = (uint16_t)(*off + vq->size);
		*wrap = !*wrap;
	}
	*off = (uint16_t)(*off - n);
}

/* A position as a number in [0, 2 * size): lap parity and offset. */
static unsigned linear(const struct sim_vq *vq, uint16_t off, bool wrap)
{
	return wrap ? off : (unsigned)vq->size + off;
}

/* §2.8.1: available when AVAIL equals the driver's wrap counter for that
 * position and USED does not. The flags are read with acquire: the driver
 * writes the rest of the descriptor first (§2.8.21.1). */
static bool desc_avail(const struct sim_vq *vq, uint16_t off, bool wrap)
{
	uint16_t f = le16toh(__atomic_load_n(&vq->ring[off].flags, __ATOMIC_ACQUIRE));

	return !!(f & F_AVAIL) == wrap && !!(f & F_USED) != wrap;
}

int sim_vqp_map(struct sim_vq *vq, struct vfu_server *srv)
{
	/* §2.8.10.1: the ring is 16-byte aligned, the event
	 * suppression structures 4-byte aligned. The device writes used
	 * descriptors into the ring itself. */
	if ((vq->desc_iova & 15) || (vq->avail_iova & 3) || (vq->used_iova & 3))
		return vn_err(-EFAULT, "packed virtqueue address misaligned");
	vq->ring = vfu_dma_ptr(srv, vq->desc_iova, 16u * vq->size, true);
	vq->drv_ev = vfu_dma_ptr(srv, vq->avail_iova, sizeof(*vq->drv_ev), false);
	vq->dev_ev = vfu_dma_ptr(srv, vq->used_iova, sizeof(*vq->dev_ev), true);
	if (!vq->ring || !vq->drv_ev || !vq->dev_ev) {
		vq->ring = NULL;
		vq->drv_ev = vq->dev_ev = NULL;
		return vn_err(-EFAULT, "packed virtqueue at %#llx/%#llx/%#llx is not in mapped memory",
			      (unsigned long long)vq->desc_iova,
			      (unsigned long long)vq->avail_iova,
			      (unsigned long long)vq->used_iova);
	}
	/* The generic code tests used for "mapped". */
	vq->used = (struct vring_used *)(void *)vq->dev_ev;
	sim_vqp_notify(vq, vq->notify_on);
	return 0;
}

int sim_vqp_pop(struct sim_vq *vq, struct vfu_server *srv, struct sim_seg *seg,
		unsigned seg_cap, struct sim_chain *c)
{
	uint16_t off = vq->av_off, count = 0;
	bool wrap = vq->av_wrap;
	int err;

	if (!desc_avail(vq, off, wrap))
		return 0;
	memset(c, 0, sizeof(*c));
	c->seg = seg;
	for (;;) {
		struct vring_packed_desc d;
		uint16_t flags;
		uint32_t len;
		bool write;
		void *p;

		/* §2.8.5: a chain never holds more descriptors than the ring. */
		if (++count > vq->size)
			return vn_err(-EPROTO, "packed chain from %u is longer than the ring",
				      vq->av_off);
		/* §2.8.6: every descriptor of the chain is made available. */
		if (count > 1 && !desc_avail(vq, off, wrap))
			return vn_err(-EPROTO, "packed chain from %u runs into descriptor %u, "
				      "not available", vq->av_off, off);
		/* Copy once: the driver could change it under us. */
		memcpy(&d, &vq->ring[off], sizeof(d));
		flags = le16toh(d.flags);
		len = le32toh(d.len);
		write = flags & VRING_DESC_F_WRITE;
		err = sim_chain_check(c, seg_cap, flags, len, off);
		if (err)
			return err;
		if (len) {
			p = vfu_dma_ptr(srv, le64toh(d.addr), len, write);
			err = sim_chain_add(c, p, len, write, le64toh(d.addr), off);
			if (err)
				return err;
		}
		/* §2.8.6: the buffer id is the last descriptor's. */
		c->head = le16toh(d.id);
		step(vq, &off, &wrap, 1);
		if (!(flags & VRING_DESC_F_NEXT))
			break;
	}
	/* Popped chains are used in order (this device never reorders): their
	 * lengths tell where each used descriptor's successor goes (§2.8.6). */
	vq->held[(vq->held_head + vq->held_n) % SIM_VQ_MAX_SIZE] = count;
	vq->held_n++;
	vq->av_off = off;
	vq->av_wrap = wrap;
	return 1;
}

void sim_vqp_unpop(struct sim_vq *vq, uint16_t n)
{
	while (n-- && vq->held_n) {
		vq->held_n--;
		step_back(vq, &vq->av_off, &vq->av_wrap,
			  vq->held[(vq->held_head + vq->held_n) % SIM_VQ_MAX_SIZE]);
	}
}

/* Write one used descriptor (§2.8.1: id, len, then AVAIL and USED both set
 * to the used wrap counter) covering descs descriptors. The first one of a
 * publish keeps its flags back: sim_vqp_publish() writes them last. */
static void put_used(struct sim_vq *vq, uint16_t id, uint32_t len, uint16_t descs)
{
	struct vring_packed_desc *d = &vq->ring[vq->us_off];
	uint16_t flags = vq->us_wrap ? (uint16_t)(F_AVAIL | F_USED) : 0;

	__atomic_store_n(&d->id, htole16(id), __ATOMIC_RELAXED);
	__atomic_store_n(&d->len, htole32(len), __ATOMIC_RELAXED);
	if (!vq->unpublished) {
		vq->first_off = vq->us_off;
		vq->first_wrap = vq->us_wrap;
		vq->first_flags = flags;
		vq->unpublished = true;
	} else {
		/* Ordered before the first one's release store in publish. */
		__atomic_store_n(&d->flags, htole16(flags), __ATOMIC_RELAXED);
	}
	step(vq, &vq->us_off, &vq->us_wrap, descs);
}

void sim_vqp_push(struct sim_vq *vq, uint32_t id, uint32_t len)
{
	uint16_t descs = 1;

	/* More pushes than pops happen only under fault injection (a
	 * duplicate used id): one descriptor then. */
	if (vq->held_n) {
		descs = vq->held[vq->held_head];
		vq->held_head = (uint16_t)((vq->held_head + 1) % SIM_VQ_MAX_SIZE);
		vq->held_n--;
	}
	if (vq->batch) {
		/* §2.8.8: in order, one used descriptor (the last id) stands
		 * for the whole batch; TX lengths carry nothing. */
		vq->batch_id = (uint16_t)id;
		vq->batch_len = len;
		vq->batch_descs = (uint16_t)(vq->batch_descs + descs);
		return;
	}
	put_used(vq, (uint16_t)id, len, descs);
}

bool sim_vqp_publish(struct sim_vq *vq)
{
	uint16_t ev_flags, ev;
	unsigned m = 2u * vq->size, old, now, at;

	if (vq->batch_descs) {
		put_used(vq, vq->batch_id, vq->batch_len, vq->batch_descs);
		vq->batch_descs = 0;
	}
	if (!vq->unpublished)
		return false;
	/* §2.8.9 (the device side of §2.8.6): the first used descriptor's
	 * flags last, with release, so the driver sees every other one whole. */
	__atomic_store_n(&vq->ring[vq->first_off].flags, htole16(vq->first_flags),
			 __ATOMIC_RELEASE);
	vq->unpublished = false;
	/* §2.8.10: the used descriptors must be visible before we read the
	 * driver's suppression structure, which it writes before looking at the
	 * ring again (store-load ordering: a full barrier on both sides). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	old = linear(vq, vq->sig_off, vq->sig_wrap);
	now = linear(vq, vq->us_off, vq->us_wrap);
	vq->sig_off = vq->us_off;
	vq->sig_wrap = vq->us_wrap;
	ev_flags = le16toh(__atomic_load_n(&vq->drv_ev->flags, __ATOMIC_ACQUIRE));
	if (ev_flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (ev_flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx)
		return true; /* ENABLE (or a value we do not know: notify) */
	/* §2.8.10: notify when the descriptor at off_wrap was used by this
	 * publish, i.e. lies in [old, now) of the 2 * size position space. */
	ev = le16toh(__atomic_load_n(&vq->drv_ev->off_wrap, __ATOMIC_RELAXED));
	at = linear(vq, (uint16_t)((ev & 0x7fffu) % vq->size), ev >> VRING_PACKED_EVENT_F_WRAP_CTR);
	return (now + m - at - 1) % m < (now + m - old) % m;
}

void sim_vqp_notify(struct sim_vq *vq, bool on)
{
	vq->notify_on = on;
	if (!vq->dev_ev)
		return;
	if (!on) {
		/* §2.8.10: DISABLE, no available buffer notifications. */
		__atomic_store_n(&vq->dev_ev->flags, htole16(VRING_PACKED_EVENT_FLAG_DISABLE),
				 __ATOMIC_RELAXED);
		return;
	}
	if (vq->event_idx && !desc_avail(vq, vq->av_off, vq->av_wrap)) {
		/* §2.8.10: a notification once the driver makes the descriptor
		 * at our read position available; off_wrap before flags. (When
		 * that one is available already, the device stopped short of
		 * what it needs, a frame's worth of RX buffers: it must hear of
		 * the next descriptor made available, wherever it is: ENABLE.) */
		__atomic_store_n(&vq->dev_ev->off_wrap,
				 htole16((uint16_t)(vq->av_off |
						    (unsigned)vq->av_wrap << VRING_PACKED_EVENT_F_WRAP_CTR)),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&vq->dev_ev->flags, htole16(VRING_PACKED_EVENT_FLAG_DESC),
				 __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&vq->dev_ev->flags, htole16(VRING_PACKED_EVENT_FLAG_ENABLE),
				 __ATOMIC_RELAXED);
	}
	/* §2.8.10: visible before the caller looks at the ring again; the
	 * driver orders its descriptor stores before reading this the same way. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int sim_vqp_check_notify(struct sim_vq *vq, uint32_t data)
{
	/* §4.1.5.2: bits 16-30 the next available offset, bit 31 its wrap counter. */
	uint16_t off = (uint16_t)((data >> 16) & 0x7fffu), poff;
	bool wrap = data >> 31, pwrap;
	unsigned m = 2u * vq->size, ahead;

	if (off >= vq->size)
		return vn_err(-EPROTO, "notification data: offset %u on a ring of %u", off, vq->size);
	ahead = (linear(vq, off, wrap) + m - linear(vq, vq->av_off, vq->av_wrap)) % m;
	if (ahead == 0 || ahead > vq->size)
		return 0; /* at or behind what we already read */
	/* Ahead of us: the driver made everything before it available, so the
	 * descriptor just before it must be available now. */
	poff = off;
	pwrap = wrap;
	step_back(vq, &poff, &pwrap, 1);
	if (!desc_avail(vq, poff, pwrap))
		return vn_err(-EPROTO, "notification data names offset %u wrap %u, but descriptor "
			      "%u is not available", off, wrap, poff);
	return 0;
}
