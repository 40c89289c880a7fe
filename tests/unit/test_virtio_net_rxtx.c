/* SPDX-License-Identifier: MIT */
/*
 * virtio-net data path over a fake transport (fake_vtr.c): the device side
 * is played here, reading TX descriptors and writing RX buffers and used
 * entries directly in ring memory. Bytes, lengths, flags, counters, kicks,
 * and every malformed device write.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <linux/virtio_net.h>

#include "fake_vtr.h"
#include "virtio/virtio_net.h"

#define B(x) (1ull << (x))
#define RXQ 0
#define TXQ 1

struct fx {
	struct fake_vtr f;
	struct vn_net *n;
	struct vnet_queue *q;
};

static struct fx *fx_open_cfg(uint64_t extra, uint16_t mtu, unsigned qsize, bool offload)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct vn_net_cfg cfg = { .queue_size = qsize, .offload = offload };

	assert_non_null(x);
	fake_init(&x->f, extra | (mtu ? B(VIRTIO_NET_F_MTU) : 0), 2, 256);
	if (mtu)
		fake_set_cfg16(&x->f, offsetof(struct virtio_net_config, mtu), mtu);
	assert_int_equal(vn_net_open(&x->f.t, &cfg, &x->n), 0);
	x->q = &x->n->q[0].pub;
	return x;
}

static struct fx *fx_open(uint64_t extra, uint16_t mtu, unsigned qsize)
{
	return fx_open_cfg(extra, mtu, qsize, false);
}

static void fx_close(struct fx *x)
{
	vn_net_close(x->n);
	free(x);
}

static struct vnet_queue_stats stats(struct fx *x)
{
	struct vnet_queue_stats s = { .sz = sizeof(s) };

	vn_net_queue_stats(x->q, &s);
	return s;
}

/* Device: deliver one frame of len bytes (pattern seed) over as many RX
 * buffers as needed, num_buffers in the first header, the other header
 * fields from off (NULL: zero). Returns buffers used. */
static unsigned dev_rx_hdr(struct fx *x, uint32_t len, uint8_t seed, uint16_t lie_nb,
			   const struct virtio_net_hdr_v1 *off)
{
	int heads[64];
	unsigned nb = 0, done = 0;
	uint32_t left = len + 12;

	while (left) {
		struct vring_desc *d;
		uint32_t chunk;

		heads[nb] = fake_pop(&x->f, RXQ);
		assert_true(heads[nb] >= 0);
		d = fake_desc(&x->f, RXQ, (unsigned)heads[nb]);
		assert_int_equal(d->flags, VRING_DESC_F_WRITE);
		chunk = left < d->len ? left : d->len;
		for (uint32_t i = 0; i < chunk; i++) {
			uint32_t pos = done + i; /* position in header + frame */

			if (pos >= 12)
				((uint8_t *)fake_va(&x->f, d->addr))[i] = (uint8_t)(seed + pos - 12);
		}
		done += chunk;
		left -= chunk;
		nb++;
	}
	{
		struct vring_desc *d0 = fake_desc(&x->f, RXQ, (unsigned)heads[0]);
		struct virtio_net_hdr_v1 *h = fake_va(&x->f, d0->addr);

		if (off)
			*h = *off;
		else
			memset(h, 0, sizeof(*h));
		h->num_buffers = lie_nb ? lie_nb : (uint16_t)nb;
	}
	done = len + 12;
	for (unsigned i = 0; i < nb; i++) {
		uint32_t cap = fake_desc(&x->f, RXQ, (unsigned)heads[i])->len;
		uint32_t l = done < cap ? done : cap;

		fake_used(&x->f, RXQ, (uint32_t)heads[i], l);
		done -= l;
	}
	return nb;
}

static unsigned dev_rx(struct fx *x, uint32_t len, uint8_t seed, uint16_t lie_nb)
{
	return dev_rx_hdr(x, len, seed, lie_nb, NULL);
}

static void test_tx_frames(void **state)
{
	struct fx *x = fx_open(0, 0, 64);
	struct vnet_buf b[8];
	struct vnet_queue_stats s;

	(void)state;
	assert_int_equal(vn_net_tx_reserve(x->q, b, 3), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(b[i].len, 1518);
		assert_int_equal((uintptr_t)b[i].data % 64, 0); /* cache-line aligned frame */
		memset(b[i].data, 0xa0 + i, 60 + i);
		b[i].len = 60 + (uint32_t)i;
	}
	assert_int_equal(vn_net_tx_submit(x->q, b, 3), 3);
	/* One burst, one doorbell. */
	assert_int_equal(x->f.q[TXQ].kicks, 1);
	for (int i = 0; i < 3; i++) {
		int id = fake_pop(&x->f, TXQ);
		struct vring_desc *d = fake_desc(&x->f, TXQ, (unsigned)id);
		const uint8_t *p = fake_va(&x->f, d->addr);
		static const uint8_t zero[12];

		assert_int_equal(id, b[i].id);
		assert_int_equal(d->len, 12 + 60 + i);
		assert_int_equal(d->flags, 0);
		assert_memory_equal(p, zero, 12); /* virtio_net_hdr_v1: no offloads */
		assert_ptr_equal(p + 12, b[i].data);
		for (int k = 0; k < 60 + i; k++)
			assert_int_equal(p[12 + k], 0xa0 + i);
		fake_used(&x->f, TXQ, (uint32_t)id, 0);
	}
	s = stats(x);
	assert_int_equal(s.tx_packets, 3);
	assert_int_equal(s.tx_bytes, 60 + 61 + 62);
	assert_int_equal(s.tx_kicks, 1);
	assert_int_equal(s.tx_errors, 0);
	fx_close(x);
}

static void test_tx_reclaim_and_full(void **state)
{
	struct fx *x = fx_open(0, 0, 16);
	struct vnet_buf b[32];
	int id;

	(void)state;
	assert_int_equal(vn_net_tx_reserve(x->q, b, 32), 16);
	assert_int_equal(vn_net_tx_reserve(x->q, b + 16, 1), 0); /* ring full */
	for (int i = 0; i < 16; i++)
		b[i].len = 64;
	assert_int_equal(vn_net_tx_submit(x->q, b, 16), 16);
	assert_int_equal(vn_net_tx_reserve(x->q, b, 1), 0);
	/* The device completes 5 out of order: reserve reclaims exactly those. */
	for (int i = 0; i < 5; i++) {
		id = fake_pop(&x->f, TXQ);
		(void)id;
	}
	for (int i = 4; i >= 0; i--)
		fake_used(&x->f, TXQ, b[i].id, 0);
	assert_int_equal(vn_net_tx_reserve(x->q, b + 16, 8), 5);
	/* Returned unsent: len 0 puts them back without a descriptor. */
	for (int i = 16; i < 21; i++)
		b[i].len = 0;
	assert_int_equal(vn_net_tx_submit(x->q, b + 16, 5), 5);
	assert_int_equal(fake_avail_idx(&x->f, TXQ), 16);
	assert_int_equal(vn_net_tx_reserve(x->q, b + 16, 8), 5);
	fx_close(x);
}

static void test_tx_submit_errors(void **state)
{
	struct fx *x = fx_open(0, 0, 16);
	struct vnet_buf b[4], dup[2];

	(void)state;
	assert_int_equal(vn_net_tx_reserve(x->q, b, 4), 4);
	for (int i = 0; i < 4; i++)
		b[i].len = 100;
	b[2].len = 1519;
	/* One too long: nothing is sent, all stay reserved. */
	assert_int_equal(vn_net_tx_submit(x->q, b, 4), -EMSGSIZE);
	assert_int_equal(fake_avail_idx(&x->f, TXQ), 0);
	assert_int_equal(stats(x).tx_errors, 1);
	b[2].len = 1518;
	/* The same id twice, and an id never reserved. */
	dup[0] = b[0];
	dup[1] = b[0];
	assert_int_equal(vn_net_tx_submit(x->q, dup, 2), -EINVAL);
	dup[0].id = 15;
	assert_int_equal(vn_net_tx_submit(x->q, dup, 1), -EINVAL);
	dup[0].id = 999;
	assert_int_equal(vn_net_tx_submit(x->q, dup, 1), -EINVAL);
	assert_int_equal(fake_avail_idx(&x->f, TXQ), 0);
	/* After all that, the reserved buffers still go out. */
	assert_int_equal(vn_net_tx_submit(x->q, b, 4), 4);
	assert_int_equal(fake_avail_idx(&x->f, TXQ), 4);
	assert_int_equal(vn_net_tx_submit(x->q, b, 1), -EINVAL); /* already sent */
	fx_close(x);
}

static void check_frame(const struct vnet_buf *b, unsigned nb, uint32_t len, uint8_t seed)
{
	uint32_t pos = 0;

	for (unsigned i = 0; i < nb; i++) {
		assert_int_equal(b[i].flags, i + 1 < nb ? VNET_BUF_MORE : 0);
		for (uint32_t k = 0; k < b[i].len; k++, pos++)
			assert_int_equal(((const uint8_t *)b[i].data)[k], (uint8_t)(seed + pos));
	}
	assert_int_equal(pos, len);
}

static void test_rx_frames_and_refill(void **state)
{
	struct fx *x = fx_open(0, 0, 64);
	struct vnet_buf b[8];
	struct vnet_queue_stats s;
	unsigned kicks = x->f.q[RXQ].kicks;

	(void)state;
	assert_int_equal(vn_net_rx_peek(x->q, b, 8), 0);
	assert_int_equal(dev_rx(x, 60, 1, 0), 1);
	assert_int_equal(dev_rx(x, 1514, 7, 0), 1);
	assert_int_equal(vn_net_rx_peek(x->q, b, 8), 2);
	check_frame(&b[0], 1, 60, 1);
	check_frame(&b[1], 1, 1514, 7);
	s = stats(x);
	assert_int_equal(s.rx_packets, 2);
	assert_int_equal(s.rx_bytes, 60 + 1514);
	/* Bulk refill: both back in the ring, one doorbell. */
	assert_int_equal(vn_net_rx_release(x->q, b, 2), 0);
	assert_int_equal(fake_avail_idx(&x->f, RXQ), 66);
	assert_int_equal(x->f.q[RXQ].kicks, kicks + 1);
	assert_int_equal(vn_net_rx_release(x->q, b, 1), -EINVAL); /* not held any more */
	fx_close(x);
}

static void test_rx_mergeable_jumbo(void **state)
{
	struct fx *x = fx_open(B(VIRTIO_NET_F_MRG_RXBUF), 9000, 64);
	struct vnet_buf b[16];
	unsigned nb;

	(void)state;
	assert_int_equal(vn_netq(x->q)->rx.buf_len, 2048 - 52);
	nb = dev_rx(x, 9014, 3, 0);
	assert_int_equal(nb, 5);
	/* Room for 4 buffers only: the whole frame or nothing. */
	assert_int_equal(vn_net_rx_peek(x->q, b, 4), -ENOBUFS);
	assert_int_equal(vn_net_rx_peek(x->q, b, 16), 5);
	check_frame(b, 5, 9014, 3);
	assert_int_equal(stats(x).rx_bytes, 9014);
	assert_int_equal(vn_net_rx_release(x->q, b, 5), 0);
	fx_close(x);
}

static void test_rx_partial_frame_waits(void **state)
{
	struct fx *x = fx_open(B(VIRTIO_NET_F_MRG_RXBUF), 9000, 64);
	struct vring_used *u;
	struct vnet_buf b[16];

	(void)state;
	assert_int_equal(dev_rx(x, 5000, 9, 0), 3);
	/* Hide the last used entry: the frame is not complete yet. */
	u = fake_va(&x->f, x->f.q[RXQ].device);
	__atomic_store_n(&u->idx, (uint16_t)(x->f.q[RXQ].dev_used - 1), __ATOMIC_RELEASE);
	assert_int_equal(vn_net_rx_peek(x->q, b, 16), 0);
	__atomic_store_n(&u->idx, x->f.q[RXQ].dev_used, __ATOMIC_RELEASE);
	assert_int_equal(vn_net_rx_peek(x->q, b, 16), 3);
	check_frame(b, 3, 5000, 9);
	fx_close(x);
}

static void test_rx_short_frame_dropped(void **state)
{
	struct fx *x = fx_open(0, 0, 64);
	struct vnet_buf b[4];
	struct vnet_queue_stats s;
	int id;

	(void)state;
	id = fake_pop(&x->f, RXQ);
	fake_used(&x->f, RXQ, (uint32_t)id, 11); /* shorter than the header */
	id = fake_pop(&x->f, RXQ);
	fake_used(&x->f, RXQ, (uint32_t)id, 12); /* a header, no frame */
	dev_rx(x, 64, 5, 0);
	assert_int_equal(vn_net_rx_peek(x->q, b, 4), 1);
	check_frame(b, 1, 64, 5);
	s = stats(x);
	assert_int_equal(s.rx_dropped, 2);
	assert_int_equal(s.rx_errors, 2);
	assert_int_equal(s.rx_packets, 1);
	/* The dropped buffers went straight back to the device. */
	assert_int_equal(fake_avail_idx(&x->f, RXQ), 66);
	assert_int_equal(x->n->broken, 0);
	fx_close(x);
}

static void test_rx_bad_num_buffers(void **state)
{
	uint16_t lies[] = { 0xffff, 65 };
	struct vnet_buf b[8];

	(void)state;
	/* A zero num_buffers, and more buffers than were ever posted. */
	for (unsigned i = 0; i < 2; i++) {
		struct fx *x = fx_open(B(VIRTIO_NET_F_MRG_RXBUF), 0, 64);
		struct virtio_net_hdr_v1 *h;
		int id = fake_pop(&x->f, RXQ);

		h = fake_va(&x->f, fake_desc(&x->f, RXQ, (unsigned)id)->addr);
		h->num_buffers = i == 0 ? 0 : lies[i];
		fake_used(&x->f, RXQ, (uint32_t)id, 100);
		assert_int_equal(vn_net_rx_peek(x->q, b, 8), -ENETDOWN);
		assert_int_equal(x->n->broken, 1);
		assert_int_equal(vn_net_rx_peek(x->q, b, 8), -ENETDOWN);
		fx_close(x);
	}
}

static void test_rx_bad_used(void **state)
{
	struct vnet_buf b[8];

	(void)state;
	for (unsigned kind = 0; kind < 3; kind++) {
		struct fx *x = fx_open(0, 0, 64);
		int id = fake_pop(&x->f, RXQ);

		if (kind == 0) /* longer than the buffer */
			fake_used(&x->f, RXQ, (uint32_t)id, vn_netq(x->q)->rx.buf_len + 1);
		else if (kind == 1) /* an id out of range */
			fake_used(&x->f, RXQ, 64, 100);
		else { /* the same buffer twice: the first time is a frame */
			fake_used(&x->f, RXQ, (uint32_t)id, 72);
			fake_used(&x->f, RXQ, (uint32_t)id, 72);
			assert_int_equal(vn_net_rx_peek(x->q, b, 8), 1);
			assert_int_equal(b[0].id, id);
			assert_int_equal(b[0].len, 60);
		}
		assert_int_equal(vn_net_rx_peek(x->q, b, 8), -ENETDOWN);
		assert_int_equal(x->n->broken, 1);
		assert_int_equal(vn_net_tx_reserve(x->q, b, 1), -ENETDOWN);
		fx_close(x);
	}
}

/* Found by fuzz_vring: a device that breaks in the middle of a burst. The
 * whole frames before the bad entry are the application's (counted, bytes
 * intact), the part of the frame taken is dropped and counted, the next call
 * says ENETDOWN. Before, the burst failed and its good frames were lost,
 * yet counted as received. */
static void test_rx_broken_mid_burst(void **state)
{
	struct fx *x = fx_open(B(VIRTIO_NET_F_MRG_RXBUF), 9000, 64);
	struct vnet_buf b[16];
	struct vnet_queue_stats s;
	int id;

	(void)state;
	assert_int_equal(dev_rx(x, 60, 1, 0), 1);
	assert_int_equal(dev_rx(x, 3000, 2, 0), 2);
	/* A two-buffer frame whose second used entry names an id out of range. */
	id = fake_pop(&x->f, RXQ);
	((struct virtio_net_hdr_v1 *)fake_va(&x->f, fake_desc(&x->f, RXQ, (unsigned)id)->addr))
		->num_buffers = 2;
	fake_used(&x->f, RXQ, (uint32_t)id, vn_netq(x->q)->rx.buf_len);
	fake_used(&x->f, RXQ, 64, 100);
	assert_int_equal(vn_net_rx_peek(x->q, b, 16), 3);
	check_frame(&b[0], 1, 60, 1);
	check_frame(&b[1], 2, 3000, 2);
	assert_int_equal(x->n->broken, 1);
	s = stats(x);
	assert_int_equal(s.rx_packets, 2);
	assert_int_equal(s.rx_bytes, 60 + 3000);
	assert_int_equal(s.rx_dropped, 1);
	assert_int_equal(s.rx_errors, 1);
	assert_int_equal(vn_net_rx_peek(x->q, b, 16), -ENETDOWN);
	fx_close(x);
}

/*
 * VNET_DEV_F_OFFLOAD: every header field the device writes is checked
 * (virtio 1.2 §5.1.6.4.1); an impossible header drops the frame and counts
 * it in rx_errors, a possible one reaches vnet_rx_offload() as written.
 */
static void test_rx_offload_headers(void **state)
{
	const uint64_t feat = B(VIRTIO_NET_F_MRG_RXBUF) | B(VIRTIO_NET_F_GUEST_CSUM) |
			      B(VIRTIO_NET_F_GUEST_TSO4);
	struct fx *x = fx_open_cfg(feat, 0, 64, true);
	const struct {
		uint8_t flags, gso;
		uint16_t hdr_len, gso_size, start, off;
		uint32_t len;
		bool ok;
	} c[] = {
		{ 0, 0, 0, 0, 0, 0, 100, true },
		{ VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0, 100, true },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16, 100, true },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 65, 100, false },  /* past the end */
		{ 0x4, 0, 0, 0, 0, 0, 100, false },                           /* RSC_INFO */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 74, 1400, 54, 16, 5000, false },
		{ 0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 34, 16, 5000, false },  /* no NEEDS_CSUM */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 34, 16, 5000, false },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 5001, 1448, 34, 16, 5000, false },
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 54,
		  1448, 34, 16, 5000, false },
		{ 0, 0, 0, 0, 0, 0, 5000, false },                             /* over the MTU */
		{ VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 34, 16, 5000, true },
	};
	struct vnet_buf b[16];
	unsigned errors = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct virtio_net_hdr_v1 h = {
			/* virtio 1.2 §5.1.6: little-endian fields */
			.flags = c[i].flags, .gso_type = c[i].gso, .hdr_len = htole16(c[i].hdr_len),
			.gso_size = htole16(c[i].gso_size), .csum_start = htole16(c[i].start),
			.csum_offset = htole16(c[i].off),
		};
		struct vnet_offload o = VNET_OFFLOAD_INIT;
		unsigned nb = dev_rx_hdr(x, c[i].len, (uint8_t)i, 0, &h);
		int got = vn_net_rx_peek(x->q, b, 16);

		if (!c[i].ok) {
			errors++;
			assert_int_equal(got, 0);
			assert_int_equal(stats(x).rx_errors, errors);
			continue;
		}
		assert_int_equal(got, (int)nb);
		check_frame(b, nb, c[i].len, (uint8_t)i);
		assert_int_equal(vn_net_rx_offload(x->q, &b[0], &o), 0);
		assert_int_equal(!!(o.flags & VNET_OFFLOAD_F_CSUM_NEEDED),
				 !!(c[i].flags & VIRTIO_NET_HDR_F_NEEDS_CSUM));
		assert_int_equal(!!(o.flags & VNET_OFFLOAD_F_CSUM_VALID),
				 !!(c[i].flags & VIRTIO_NET_HDR_F_DATA_VALID));
		assert_int_equal(o.gso_type, c[i].gso);
		assert_int_equal(o.gso_size, c[i].gso ? c[i].gso_size : 0);
		assert_int_equal(o.csum_start, o.flags & VNET_OFFLOAD_F_CSUM_NEEDED ? c[i].start : 0);
		if (nb > 1) /* metadata belongs to a frame's first buffer only */
			assert_int_equal(vn_net_rx_offload(x->q, &b[1], &o), -EINVAL);
		assert_int_equal(vn_net_rx_release(x->q, b, nb), 0);
		assert_int_equal(vn_net_rx_offload(x->q, &b[0], &o), -EINVAL); /* released */
	}
	assert_int_equal(stats(x).rx_packets, 4);
	fx_close(x);

	/* Without GUEST_CSUM negotiated, any flag is impossible. */
	x = fx_open_cfg(B(VIRTIO_NET_F_MRG_RXBUF), 0, 64, true);
	{
		struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };

		dev_rx_hdr(x, 100, 1, 0, &h);
		assert_int_equal(vn_net_rx_peek(x->q, b, 16), 0);
		assert_int_equal(stats(x).rx_errors, 1);
	}
	fx_close(x);
}

static void test_event_idx_batching(void **state)
{
	struct fx *x = fx_open(B(VIRTIO_RING_F_EVENT_IDX), 0, 64);
	struct vnet_buf b[8];
	uint16_t *avail_event;

	(void)state;
	avail_event = (uint16_t *)((char *)fake_va(&x->f, x->f.q[TXQ].device) + 4 + 8 * 64);
	*avail_event = 0;
	assert_int_equal(vn_net_tx_reserve(x->q, b, 4), 4);
	for (int i = 0; i < 4; i++)
		b[i].len = 60;
	assert_int_equal(vn_net_tx_submit(x->q, b, 2), 2);
	assert_int_equal(vn_net_tx_submit(x->q, b + 2, 2), 2);
	/* The device asked for a kick at 0 only: the second burst is silent. */
	assert_int_equal(x->f.q[TXQ].kicks, 1);
	assert_int_equal(stats(x).tx_kicks, 1);
	fx_close(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_frames),
		cmocka_unit_test(test_tx_reclaim_and_full),
		cmocka_unit_test(test_tx_submit_errors),
		cmocka_unit_test(test_rx_frames_and_refill),
		cmocka_unit_test(test_rx_mergeable_jumbo),
		cmocka_unit_test(test_rx_partial_frame_waits),
		cmocka_unit_test(test_rx_short_frame_dropped),
		cmocka_unit_test(test_rx_bad_num_buffers),
		cmocka_unit_test(test_rx_bad_used),
		cmocka_unit_test(test_rx_broken_mid_burst),
		cmocka_unit_test(test_event_idx_batching),
		cmocka_unit_test(test_rx_offload_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
