/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the driver's used-ring processing: the split
 * virtqueue (libvnet/virtio/virtqueue.[ch]) and the virtio-net RX/TX
 * completion paths (virtio_net_rxtx.c), against a device that writes
 * anything it likes where a device may write. The driver runs over the unit
 * tests' fake transport (tests/unit/fake_vtr.c) with one queue pair.
 *
 * Input: byte 0 picks the setup (queue size 2..16, MRG_RXBUF, EVENT_IDX,
 * offloads: VNET_DEV_F_OFFLOAD with CSUM, GUEST_CSUM and GUEST_TSO4/6),
 * then steps of 4 bytes, op a b c:
 *   driver: TX reserve a, submit the first b of them with c bytes;
 *           RX peek up to a; RX release the first a held buffers;
 *           release a buffer the application does not hold
 *   device: complete b ring entries as a correct device would (RX: frames
 *           of c bytes, num_buffers from a); write a raw used entry (any id,
 *           any length) and bump used idx; move used idx anywhere; write an
 *           RX buffer's num_buffers; write used flags / avail_event; write
 *           an RX buffer's offload header fields (flags, gso_type, sizes)
 * Ring positions wrap within a few steps (2..16 entries); used idx moves
 * anywhere, so also across 65535 relative to the driver's. The driver's own
 * indices wrapping at 2^16 takes 65536 completions, far too slow per input:
 * tests/unit/test_virtqueue.c (test_index_wraparound) covers that.
 * After every step: every buffer is in exactly one place (free, the
 * application's, or the device's), no buffer the application holds is
 * handed out again, every buffer handed out lies inside its slot, every
 * frame handed out is counted, the offload metadata of every frame handed
 * out lies inside the frame, and once the device is marked broken every
 * call fails with ENETDOWN. Run with clang: `make fuzz-vring`
 * (libvnet/virtio/local.mk, tests/fuzz/local.mk); seeds in
 * tests/fuzz/vring-seeds/.
 *
 * The device's writes go through struct ring_dev, one implementation per
 * ring layout: split_dev here; a packed ring (virtio 1.2 §2.8) adds its own
 * four functions (take an available buffer, write a used element, move the
 * device's position, write the event suppression area) and a setup bit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "../unit/fake_vtr.h"
#include "event.h"
#include "log.h"
#include "virtio/virtio_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RXQ 0
#define TXQ 1
#define MAXQ 16

/* What a device can write, for one ring layout. */
struct ring_dev {
	/* The next buffer the driver made available on queue qi, or -1. */
	int (*pop)(struct fake_vtr *f, unsigned qi);
	/* Report buffer id used with len bytes written (raw: may lie). */
	void (*used)(struct fake_vtr *f, unsigned qi, uint32_t id, uint32_t len);
	/* Move the device's used position to pos (split: used->idx). */
	void (*jump)(struct fake_vtr *f, unsigned qi, uint16_t pos);
	/* Write the device's notification suppression fields. */
	void (*suppress)(struct fake_vtr *f, unsigned qi, uint16_t flags, uint16_t event);
};

static void split_jump(struct fake_vtr *f, unsigned qi, uint16_t pos)
{
	struct vring_used *u = fake_va(f, f->q[qi].device);

	f->q[qi].dev_used = pos;
	__atomic_store_n(&u->idx, pos, __ATOMIC_RELEASE);
}

static void split_suppress(struct fake_vtr *f, unsigned qi, uint16_t flags, uint16_t event)
{
	struct vring_used *u = fake_va(f, f->q[qi].device);

	u->flags = flags;
	*(uint16_t *)(void *)&u->ring[f->q[qi].size] = event; /* avail_event, §2.7.10 */
}

static const struct ring_dev split_dev = {
	.pop = fake_pop, .used = fake_used, .jump = split_jump, .suppress = split_suppress,
};

/* Outside this harness: the device layer (never administratively down
 * here) and the event engine (the fake transport has no interrupts). */
int vn_port_admin_down(void)
{
	return -ENETDOWN;
}

int vn_ev_add(int fd, vn_ev_cb cb, void *arg, uint32_t *id)
{
	return -ENOSYS;
}

int vn_ev_add_once(int fd, unsigned events, vn_ev_cb cb, void *arg, uint32_t *id)
{
	return -ENOSYS;
}

void vn_ev_del(uint32_t id)
{
}

struct fx {
	struct fake_vtr f;
	const struct ring_dev *dev;
	struct vn_net *n;
	struct vn_netq *q;
	struct vnet_buf rx[MAXQ], tx[MAXQ]; /* what the application holds */
	unsigned n_rx, n_tx;
	uint64_t frames; /* RX frames handed out */
};

static bool broken(const struct fx *x)
{
	return __atomic_load_n(&x->n->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN;
}

/* Every id in exactly one place: the free stack, the application, or the
 * device; and the application's buffers are the ones the harness holds. */
static void check_vq(const struct vq *vq, const struct vnet_buf *held, unsigned n_held)
{
	unsigned n_state[4] = { 0 };

	for (unsigned id = 0; id < vq->size; id++) {
		if (vq->state[id] > VQ_DEV_TAIL)
			abort();
		n_state[vq->state[id]]++;
	}
	if (n_state[VQ_FREE] != vq->n_free || n_state[VQ_DEV] != vq->in_flight ||
	    n_state[VQ_DEV_TAIL] || n_state[VQ_APP] != n_held)
		abort();
	for (unsigned i = 0; i < vq->n_free; i++)
		if (vq->state[vq->free_ids[i]] != VQ_FREE)
			abort();
	for (unsigned i = 0; i < n_held; i++)
		if (vq->state[held[i].id] != VQ_APP)
			abort();
}

/* A buffer handed out: not already held, and inside its slot. */
static void check_new(const struct vq *vq, const struct vnet_buf *held, unsigned n_held,
		      const struct vnet_buf *b)
{
	const char *slot, *p = b->data;

	if (b->id >= vq->size)
		abort();
	for (unsigned i = 0; i < n_held; i++)
		if (held[i].id == b->id)
			abort();
	slot = vq_buf(vq, b->id);
	if (p < slot || (size_t)(p - slot) + b->len > vq->buf_len ||
	    vq->buf_len > (size_t)1 << vq->stride_shift)
		abort();
}

static void check(struct fx *x)
{
	struct vnet_queue_stats st = { .sz = sizeof(st) };

	check_vq(&x->q->rx, x->rx, x->n_rx);
	check_vq(&x->q->tx, x->tx, x->n_tx);
	vn_net_queue_stats(&x->q->pub, &st);
	if (st.rx_packets != x->frames)
		abort();
}

static void drv_tx(struct fx *x, unsigned want, unsigned send, uint32_t len)
{
	struct vnet_buf b[MAXQ];
	bool was_broken = broken(x);
	int got = vn_net_tx_reserve(&x->q->pub, b, want % (MAXQ + 1));

	if (got < 0) {
		if (broken(x) && got != -ENETDOWN)
			abort();
		return;
	}
	if (was_broken && got > 0)
		abort();
	for (int i = 0; i < got; i++) {
		check_new(&x->q->tx, x->tx, x->n_tx, &b[i]);
		x->tx[x->n_tx++] = b[i];
	}
	/* Submit the first send held ones (a length over capacity is refused whole). */
	send = send < x->n_tx ? send : x->n_tx;
	for (unsigned i = 0; i < send; i++)
		x->tx[i].len = len < x->tx[i].len ? len : x->tx[i].len + (len & 1);
	if (vn_net_tx_submit(&x->q->pub, x->tx, send) == (int)send) {
		x->n_tx -= send;
		memmove(x->tx, x->tx + send, x->n_tx * sizeof(x->tx[0]));
	}
}

/* With offloads: what vnet_rx_offload() says of a frame handed out (nb
 * buffers) lies inside it, and only its first buffer has metadata. */
static void check_offload(struct fx *x, const struct vnet_buf *b, unsigned nb)
{
	struct vnet_offload o = VNET_OFFLOAD_INIT;
	uint32_t total = 0;

	if (!x->q->offload)
		return;
	for (unsigned k = 0; k < nb; k++)
		total += b[k].len;
	if (vn_net_rx_offload(&x->q->pub, &b[0], &o))
		abort();
	if ((o.flags & VNET_OFFLOAD_F_CSUM_NEEDED) && (uint32_t)o.csum_start + o.csum_offset + 2 > total)
		abort();
	if (o.gso_type && (!o.gso_size || o.hdr_len > total || total > VN_NET_GSO_MAX ||
			   !(o.flags & VNET_OFFLOAD_F_CSUM_NEEDED)))
		abort();
	if (!o.gso_type && total > vn_net_frame_max(x->q))
		abort();
	if (nb > 1 && vn_net_rx_offload(&x->q->pub, &b[1], &o) != -EINVAL)
		abort();
}

static void drv_rx_peek(struct fx *x, unsigned want)
{
	struct vnet_buf b[MAXQ];
	bool was_broken = broken(x);
	int got = vn_net_rx_peek(&x->q->pub, b, want % (MAXQ + 1));

	/* A device that breaks in this burst still leaves the application
	 * the whole frames before; after that, nothing. */
	if (got < 0) {
		if (broken(x) && got != -ENETDOWN)
			abort();
		return;
	}
	if (was_broken && got > 0)
		abort();
	for (int i = 0, first = 0; i < got; i++) {
		check_new(&x->q->rx, x->rx, x->n_rx, &b[i]);
		x->frames += !(b[i].flags & VNET_BUF_MORE);
		x->rx[x->n_rx++] = b[i];
		if (!(b[i].flags & VNET_BUF_MORE)) {
			check_offload(x, b + first, (unsigned)(i + 1 - first));
			first = i + 1;
		}
	}
	if (got && (b[got - 1].flags & VNET_BUF_MORE))
		abort(); /* a burst ends with a whole frame */
}

static void drv_rx_release(struct fx *x, unsigned n)
{
	n = n < x->n_rx ? n : x->n_rx;
	if (vn_net_rx_release(&x->q->pub, x->rx, n) == 0) {
		x->n_rx -= n;
		memmove(x->rx, x->rx + n, x->n_rx * sizeof(x->rx[0]));
	} else if (!broken(x)) {
		abort(); /* buffers the application holds are always taken back */
	}
}

/* Give back a buffer the application does not hold: always refused. */
static void drv_bad_release(struct fx *x, uint16_t id, bool rx)
{
	struct vnet_buf b = { .id = id };
	struct vq *vq = rx ? &x->q->rx : &x->q->tx;

	if (id < vq->size && vq->state[id] == VQ_APP)
		return;
	if ((rx ? vn_net_rx_release(&x->q->pub, &b, 1) : vn_net_tx_submit(&x->q->pub, &b, 1)) >= 0)
		abort();
}

/* The device uses the next n available buffers of queue qi as it should,
 * but for RX frames of len bytes (cut to the buffer) with num_buffers nb
 * (a lie, with MRG_RXBUF, unless it is 1). */
static void dev_serve(struct fx *x, unsigned qi, unsigned n, uint32_t len, unsigned nb)
{
	for (unsigned k = 0; k < n; k++) {
		int id = x->dev->pop(&x->f, qi);
		struct vring_desc *d;

		if (id < 0 || (unsigned)id >= x->f.q[qi].size)
			return;
		d = fake_desc(&x->f, qi, (unsigned)id);
		if (qi == RXQ) {
			struct virtio_net_hdr_v1 *h = fake_va(&x->f, d->addr);
			uint32_t l = VN_NET_HDR_LEN + len;

			memset(h, 0, sizeof(*h));
			h->num_buffers = (uint16_t)(nb ? nb : 1);
			x->dev->used(&x->f, qi, (uint32_t)id, l < d->len ? l : d->len);
		} else {
			x->dev->used(&x->f, qi, (uint32_t)id, 0);
		}
	}
}

static void step(struct fx *x, const uint8_t *s)
{
	unsigned qi = s[0] & 0x10 ? TXQ : RXQ;
	uint16_t ab = (uint16_t)(s[1] | s[2] << 8);

	switch (s[0] & 0x0f) {
	case 0: drv_tx(x, s[1], s[2], s[3] * 8u); break;
	case 1: drv_rx_peek(x, s[1]); break;
	case 2: drv_rx_release(x, s[1]); break;
	case 3: drv_bad_release(x, ab, qi == RXQ); break;
	case 4: dev_serve(x, qi, s[2] % (MAXQ + 1), s[3] * 16u, s[1]); break;
	case 5: x->dev->used(&x->f, qi, s[1] | (uint32_t)(s[2] & 0x80) << 24, s[3] * 64u); break;
	case 6: x->dev->jump(&x->f, qi, (uint16_t)(x->f.q[qi].dev_used + (int8_t)s[1])); break;
	case 7: x->dev->jump(&x->f, qi, ab); break;
	case 8: {
		/* num_buffers of RX buffer s[1] (the device owns it or not). */
		uint16_t id = s[1] % x->f.q[RXQ].size;
		struct virtio_net_hdr_v1 *h = fake_va(&x->f, fake_desc(&x->f, RXQ, id)->addr);

		h->num_buffers = (uint16_t)(s[2] | s[3] << 8);
		break;
	}
	case 9: x->dev->suppress(&x->f, qi, s[1], ab); break;
	case 10: {
		/* Offload fields of RX buffer s[1]'s header, anything at all. */
		uint16_t id = s[1] % x->f.q[RXQ].size;
		struct virtio_net_hdr_v1 *h = fake_va(&x->f, fake_desc(&x->f, RXQ, id)->addr);

		h->flags = s[2] & 0x7;
		h->gso_type = s[2] >> 3;
		h->csum_start = (uint16_t)(s[3] * 4u);
		h->csum_offset = s[3] & 0x1f;
		h->hdr_len = (uint16_t)(s[3] * 2u);
		h->gso_size = s[3];
		break;
	}
	default: vn_net_tx_drain(x->n, 0); break;
	}
	check(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fx x;
	struct vn_net_cfg cfg = { .queue_pairs = 1 };
	uint64_t extra = 0;

	if (size < 1)
		return 0;
	vnet_set_log_level(0);
	memset(&x, 0, sizeof(x));
	x.dev = &split_dev;
	cfg.queue_size = 2u << (data[0] % 4);
	if (data[0] & 0x10)
		extra |= 1ull << VIRTIO_NET_F_MRG_RXBUF;
	if (data[0] & 0x20)
		extra |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (data[0] & 0x40) {
		cfg.offload = true;
		extra |= 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
			 1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6;
	}
	fake_init(&x.f, extra, 2, MAXQ);
	if (vn_net_open(&x.f.t, &cfg, &x.n))
		abort();
	x.q = &x.n->q[0];
	check(&x);
	for (size_t at = 1; at + 4 <= size; at += 4)
		step(&x, data + at);
	/* A device that lied may keep TX buffers for ever: close would wait
	 * out its drain time for them, as for a slow device. */
	if (x.q->tx.in_flight)
		vq_mark_broken(&x.q->tx, "fuzz: end of input");
	vn_net_close(x.n);
	return 0;
}
