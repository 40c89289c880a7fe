/* SPDX-License-Identifier: MIT */
/*
 * Checksum and TCP segmentation offloads (vnet_tx_offload(),
 * vnet_rx_offload()) end to end on the simulated device:
 *  - refusals: offloads not asked for, or not offered, or one bit masked
 *    (EOPNOTSUPP naming the bit); bad metadata (EINVAL, EMSGSIZE);
 *  - NEEDS_CSUM: the frame arrives with the checksum this test computes
 *    on its own, flagged CSUM_VALID;
 *  - TSO over IPv4 and IPv6, 20 000-byte frames: at a receiver without
 *    GUEST_TSO, every segment checked (bytes, order, IP id and length,
 *    sequence numbers, flags, both checksums); at one with GUEST_TSO, one
 *    GSO frame with its metadata; on sim:loopback (packed and split
 *    rings) and sim:pair;
 *  - a driver header the device must refuse (dev_tx_queue_0_bad), and
 *    impossible headers from the device (rx_errors);
 *  - the socket API's VNET_SO_VNET_HDR.
 * Everything goes through vnet.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_net.h>

#include "sendrecv.h"
#include "vnet/socket.h"
#include "vnet/vnet.h"
#include "xstat.h"

#define BIG 20000u
#define F(bit) (1ull << (bit))
#define GUEST_TSO (F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6))
#define ALL_OFFLOADS (VNET_OFFLOAD_TX_CSUM | VNET_OFFLOAD_RX_CSUM | VNET_OFFLOAD_TX_TSO4 | \
		      VNET_OFFLOAD_TX_TSO6 | VNET_OFFLOAD_RX_TSO4 | VNET_OFFLOAD_RX_TSO6)

static uint8_t tx_frame[VNET_GSO_FRAME_MAX], rx_frame[VNET_GSO_FRAME_MAX];

/* Buffers peeked but not yet handed out (recv_off() returns one frame at a
 * time; a peek returns whole frames only, as many as fit).
 * A new device starts with none, even after a failed test. */
static struct vnet_buf stash[64];
static int stash_n, stash_at;

static struct vnet_dev *open_dev(const char *uri, uint64_t mask)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct vnet_dev *d = NULL;

	o.features_mask = mask;
	stash_n = stash_at = 0;
	if (vnet_dev_open(uri, &o, &d))
		fail_msg("open %s: %s", uri, vnet_last_error());
	return d;
}

static unsigned offloads(struct vnet_dev *d)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };

	assert_int_equal(vnet_dev_info(d, &i), 0);
	return i.offloads;
}

/* ---- frames ----------------------------------------------------------- */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)be16(p) << 16 | be16(p + 2); }
static void wbe16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wbe32(uint8_t *p, uint32_t v) { wbe16(p, v >> 16); wbe16(p + 2, v); }

/* The test's own RFC 1071 sum (not folded to 16 bits until the end). */
static uint64_t sum16(uint64_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += be16(p + i);
	if (len & 1)
		s += (uint64_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Offsets: Ethernet 14, then IPv4 (20) or IPv6 (40), then TCP (20). */
static size_t l4_of(bool v6) { return v6 ? 54 : 34; }
static size_t hl_of(bool v6) { return l4_of(v6) + 20; }

/* Pseudo-header sum of a TCP segment of tcp_len bytes in frame f. */
static uint64_t pseudo(const uint8_t *f, bool v6, size_t tcp_len)
{
	uint64_t s = v6 ? sum16(0, f + 22, 32) : sum16(0, f + 26, 8);

	return s + 6 + tcp_len;
}

/* The correct TCP checksum of frame f (len bytes), computed from scratch. */
static uint16_t tcp_check(const uint8_t *f, size_t len, bool v6)
{
	size_t l4 = l4_of(v6);
	uint64_t s = pseudo(f, v6, len - l4);

	s = sum16(s, f + l4, 16);                 /* up to the checksum field */
	s = sum16(s, f + l4 + 18, len - l4 - 18); /* and after it */
	return (uint16_t)~fold(s);
}

static uint8_t payload_byte(size_t i) { return (uint8_t)(i * 13 + (i >> 9)); }

/*
 * A TCP frame of len bytes: IPv4 id 0x1234 or IPv6, seq 1000, flags
 * ACK|PSH|FIN|CWR, payload byte i = payload_byte(i); the TCP checksum
 * field holds the pseudo-header sum (as for CHECKSUM_PARTIAL).
 */
static void tcp_frame(uint8_t *f, size_t len, bool v6)
{
	size_t l3 = 14, l4 = l4_of(v6), hl = hl_of(v6);

	memset(f, 0, hl);
	memcpy(f, (const uint8_t[]){ 0x02, 0x76, 0x6e, 0, 0, 1 }, 6);
	memcpy(f + 6, (const uint8_t[]){ 0x02, 0, 0, 0, 0, 0x42 }, 6);
	wbe16(f + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		f[l3] = 0x60;
		wbe16(f + l3 + 4, (uint32_t)(len - l4));
		f[l3 + 6] = 6;
		f[l3 + 7] = 64;
		for (int i = 0; i < 32; i++)
			f[l3 + 8 + i] = (uint8_t)(0x20 + i);
	} else {
		f[l3] = 0x45;
		wbe16(f + l3 + 2, (uint32_t)(len > 65535 + l3 ? 0 : len - l3));
		wbe16(f + l3 + 4, 0x1234);
		f[l3 + 8] = 64;
		f[l3 + 9] = 6;
		wbe32(f + l3 + 12, 0x0a000001);
		wbe32(f + l3 + 16, 0x0a000002);
		wbe16(f + l3 + 10, (uint16_t)~fold(sum16(0, f + l3, 20)));
	}
	wbe16(f + l4, 40000);
	wbe16(f + l4 + 2, 80);
	wbe32(f + l4 + 4, 1000);
	wbe32(f + l4 + 8, 77);
	f[l4 + 12] = 5 << 4;
	f[l4 + 13] = 0x80 | 0x10 | 0x08 | 0x01; /* CWR ACK PSH FIN */
	wbe16(f + l4 + 14, 65535);
	for (size_t i = hl; i < len; i++)
		f[i] = payload_byte(i - hl);
	wbe16(f + l4 + 16, fold(pseudo(f, v6, len - l4)));
}

/* ---- sending and receiving -------------------------------------------- */

/* Reserve one buffer, copy f in, attach off (NULL: none); rc of vnet_tx_offload(). */
static int reserve_frame(struct vnet_queue *q, struct vnet_buf *b, const uint8_t *f, size_t len,
			 const struct vnet_offload *off)
{
	uint64_t end = now_ms() + 2000;
	int n;

	while ((n = vnet_tx_reserve(q, b, 1)) == 0)
		assert_true(now_ms() < end);
	assert_int_equal(n, 1);
	assert_true(b->len >= len);
	memcpy(b->data, f, len);
	b->len = (uint32_t)len;
	return off ? vnet_tx_offload(q, b, off) : 0;
}

static void send_off(struct vnet_queue *q, const uint8_t *f, size_t len, const struct vnet_offload *off)
{
	struct vnet_buf b;

	if (reserve_frame(q, &b, f, len, off))
		fail_msg("vnet_tx_offload: %s", vnet_last_error());
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
}

static struct vnet_offload tso(bool v6, uint16_t mss)
{
	return (struct vnet_offload){
		.sz = sizeof(struct vnet_offload),
		.flags = VNET_OFFLOAD_F_CSUM_NEEDED,
		.gso_type = v6 ? VNET_GSO_TCP6 : VNET_GSO_TCP4,
		.gso_size = mss,
		.hdr_len = (uint16_t)hl_of(v6),
		.csum_start = (uint16_t)l4_of(v6),
		.csum_offset = 16,
	};
}

/* Receive one whole frame into rx_frame (0: none within ms); its metadata
 * in *off when off is not NULL. */
static size_t recv_off(struct vnet_queue *q, unsigned ms, struct vnet_offload *off)
{
	uint64_t end = now_ms() + ms;
	struct vnet_buf *b;
	size_t len = 0;
	int n = 1;

	while (stash_at == stash_n) {
		stash_at = 0;
		stash_n = vnet_rx_peek(q, stash, 64);
		assert_true(stash_n >= 0);
		if (stash_n)
			break;
		if (now_ms() >= end)
			return 0;
		usleep(100);
	}
	b = &stash[stash_at];
	while (b[n - 1].flags & VNET_BUF_MORE) {
		assert_true(stash_at + n < stash_n);
		n++;
	}
	stash_at += n;
	if (off) {
		*off = (struct vnet_offload)VNET_OFFLOAD_INIT;
		if (vnet_rx_offload(q, &b[0], off))
			fail_msg("vnet_rx_offload: %s", vnet_last_error());
		if (n > 1) /* only the first buffer of a frame has metadata */
			assert_int_equal(vnet_rx_offload(q, &b[1], off) == -1 && errno == EINVAL, 1);
	}
	for (int i = 0; i < n; i++) {
		assert_true(len + b[i].len <= sizeof(rx_frame));
		memcpy(rx_frame + len, b[i].data, b[i].len);
		len += b[i].len;
	}
	assert_int_equal(vnet_rx_release(q, b, (unsigned)n), 0);
	return len;
}

static void expect_err(int rc, int err, const char *words)
{
	assert_int_equal(rc, -1);
	assert_int_equal(errno, err);
	if (words && !strstr(vnet_last_error(), words))
		fail_msg("error '%s' does not say '%s'", vnet_last_error(), words);
}

/* ---- refusals ----------------------------------------------------------- */

static void test_not_asked(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback", 0);
	struct vnet_queue *q = vnet_dev_queue(d, 0);
	struct vnet_offload off = tso(false, 1448);
	struct vnet_buf b;

	(void)state;
	/* The device offers offloads, but the application did not ask. */
	assert_int_equal(offloads(d), 0);
	tcp_frame(tx_frame, 1000, false);
	expect_err(reserve_frame(q, &b, tx_frame, 1000, &off), EOPNOTSUPP, "VNET_DEV_F_OFFLOAD");
	expect_err(vnet_rx_offload(q, &b, &off), EOPNOTSUPP, "VNET_DEV_F_OFFLOAD");
	/* The buffer still goes out as a plain frame. */
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	assert_int_equal(recv_off(q, 2000, NULL), 1000);
	assert_memory_equal(rx_frame, tx_frame, 1000);
	vnet_dev_close(d);
}

static void test_not_offered(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback?offload=on&dev_offload=off", 0);
	struct vnet_queue *q = vnet_dev_queue(d, 0);
	struct vnet_offload off = VNET_OFFLOAD_INIT;
	struct vnet_buf b;

	(void)state;
	assert_int_equal(offloads(d), 0);
	tcp_frame(tx_frame, 1000, false);
	off.flags = VNET_OFFLOAD_F_CSUM_NEEDED;
	off.csum_start = 34;
	off.csum_offset = 16;
	expect_err(reserve_frame(q, &b, tx_frame, 1000, &off), EOPNOTSUPP, "VIRTIO_NET_F_CSUM");
	b.len = 0;
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	vnet_dev_close(d);
}

static void test_masked(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback?offload=on", F(VIRTIO_NET_F_HOST_TSO4));
	struct vnet_queue *q = vnet_dev_queue(d, 0);
	struct vnet_offload off = tso(false, 1448);
	struct vnet_buf b;

	(void)state;
	assert_int_equal(offloads(d), ALL_OFFLOADS & ~VNET_OFFLOAD_TX_TSO4);
	tcp_frame(tx_frame, BIG, false);
	expect_err(reserve_frame(q, &b, tx_frame, BIG, &off), EOPNOTSUPP, "VIRTIO_NET_F_HOST_TSO4");
	b.len = 0;
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	vnet_dev_close(d);
}

static void test_bad_metadata(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback?offload=on", 0);
	struct vnet_queue *q = vnet_dev_queue(d, 0);
	struct vnet_offload off;
	struct vnet_buf b, other;
	struct vnet_queue_stats st = { .sz = sizeof(st) };

	(void)state;
	assert_int_equal(offloads(d), ALL_OFFLOADS);
	tcp_frame(tx_frame, BIG, false);
	assert_int_equal(reserve_frame(q, &b, tx_frame, BIG, NULL), 0);
	assert_int_equal(b.len, BIG);
	/* The checksum field beyond the frame. */
	off = tso(false, 1448);
	off.gso_type = VNET_GSO_NONE;
	b.len = 1000;
	off.csum_start = 990;
	expect_err(vnet_tx_offload(q, &b, &off), EINVAL, "beyond");
	off.csum_start = 34;
	off.csum_offset = 16;
	b.len = 1514;
	assert_int_equal(vnet_tx_offload(q, &b, &off), 0);
	/* A frame over the MTU without GSO. */
	b.len = 1600;
	expect_err(vnet_tx_offload(q, &b, &off), EMSGSIZE, "MTU");
	b.len = BIG;
	/* GSO without CSUM_NEEDED, with gso_size 0, over 64 KiB, unknown type. */
	off = tso(false, 1448);
	off.flags = 0;
	expect_err(vnet_tx_offload(q, &b, &off), EINVAL, "CSUM_NEEDED");
	off = tso(false, 0);
	expect_err(vnet_tx_offload(q, &b, &off), EINVAL, "gso_size 0");
	off = tso(false, 1448);
	b.len = VNET_GSO_FRAME_MAX + 1;
	expect_err(vnet_tx_offload(q, &b, &off), EINVAL, "65550");
	b.len = BIG;
	off.gso_type = 3;
	expect_err(vnet_tx_offload(q, &b, &off), EINVAL, "gso_type");
	off.gso_type = VNET_GSO_UDP_L4;
	expect_err(vnet_tx_offload(q, &b, &off), EOPNOTSUPP, "VIRTIO_NET_F_HOST_USO");
	/* DATA_VALID is not for TX (virtio 1.2 §5.1.6.2.1); sz too small. */
	off = tso(false, 1448);
	off.flags |= VNET_OFFLOAD_F_CSUM_VALID;
	expect_err(vnet_tx_offload(q, &b, &off), EINVAL, "DATA_VALID");
	off = tso(false, 1448);
	off.sz = 8;
	expect_err(vnet_tx_offload(q, &b, &off), EINVAL, "sz");
	/* A buffer that is not reserved. */
	other = b;
	other.id = (uint16_t)(b.id ^ 1);
	off = tso(false, 1448);
	expect_err(vnet_tx_offload(q, &other, &off), EINVAL, "reserved");
	/* Good metadata, then a shorter len at submit: refused, nothing sent. */
	assert_int_equal(vnet_tx_offload(q, &b, &off), 0);
	b.len = 40;
	expect_err(vnet_tx_submit(q, &b, 1), EINVAL, "offload metadata");
	/* GSO frames may be large, plain ones may not. */
	off.gso_type = VNET_GSO_NONE;
	b.len = BIG;
	expect_err(vnet_tx_offload(q, &b, &off), EMSGSIZE, NULL);
	b.len = 0;
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	assert_int_equal(vnet_queue_stats(d, 0, &st), 0);
	assert_int_equal(st.tx_packets, 0);
	vnet_dev_close(d);
}

/* ---- checksum ----------------------------------------------------------- */

static void csum_once(const char *tx_uri, const char *rx_uri, bool v6)
{
	struct vnet_dev *t = open_dev(tx_uri, 0), *r = rx_uri ? open_dev(rx_uri, 0) : t;
	struct vnet_queue *tq = vnet_dev_queue(t, 0), *rq = vnet_dev_queue(r, 0);
	struct vnet_offload off = VNET_OFFLOAD_INIT, got;
	size_t len = 1514, l4 = l4_of(v6);
	uint16_t want;

	tcp_frame(tx_frame, len, v6);
	want = tcp_check(tx_frame, len, v6);
	assert_int_not_equal(be16(tx_frame + l4 + 16), want);
	off.flags = VNET_OFFLOAD_F_CSUM_NEEDED;
	off.csum_start = (uint16_t)l4;
	off.csum_offset = 16;
	send_off(tq, tx_frame, len, &off);
	assert_int_equal(recv_off(rq, 2000, &got), len);
	assert_int_equal(be16(rx_frame + l4 + 16), want);
	/* Every other byte as sent. */
	assert_memory_equal(rx_frame, tx_frame, l4 + 16);
	assert_memory_equal(rx_frame + l4 + 18, tx_frame + l4 + 18, len - l4 - 18);
	assert_int_equal(got.flags, VNET_OFFLOAD_F_CSUM_VALID);
	assert_int_equal(got.gso_type, VNET_GSO_NONE);
	if (r != t)
		vnet_dev_close(r);
	vnet_dev_close(t);
}

static void test_csum_loopback(void **state)
{
	(void)state;
	csum_once("sim:loopback?offload=on", NULL, false);
	csum_once("sim:loopback?offload=on", NULL, true);
}

static void test_csum_pair(void **state)
{
	(void)state;
	csum_once("sim:pair=offcs/0?offload=on", "sim:pair=offcs/1?offload=on", false);
}

/* ---- segmentation ------------------------------------------------------- */

/* Receive the segments of tx_frame (len bytes, mss) and check each. */
static void expect_segments(struct vnet_queue *rq, size_t len, bool v6, uint16_t mss, bool meta)
{
	size_t hl = hl_of(v6), l3 = 14, l4 = l4_of(v6), at = hl;
	unsigned n = (unsigned)((len - hl + mss - 1) / mss);

	for (unsigned i = 0; i < n; i++, at += mss) {
		size_t plen = len - at < mss ? len - at : mss, slen;
		struct vnet_offload got;
		uint8_t flags = 0x10; /* ACK */

		slen = recv_off(rq, 2000, meta ? &got : NULL);
		if (slen != hl + plen)
			fail_msg("segment %u of %u: %zu bytes, want %zu", i, n, slen, hl + plen);
		/* Ethernet header as sent; payload bytes in order. */
		assert_memory_equal(rx_frame, tx_frame, l3);
		assert_memory_equal(rx_frame + hl, tx_frame + at, plen);
		if (v6) {
			assert_memory_equal(rx_frame + l3, tx_frame + l3, 4);
			assert_int_equal(be16(rx_frame + l3 + 4), slen - l4);
			assert_memory_equal(rx_frame + l3 + 6, tx_frame + l3 + 6, 34);
		} else {
			assert_int_equal(be16(rx_frame + l3 + 2), slen - l3);
			assert_int_equal(be16(rx_frame + l3 + 4), 0x1234 + i);
			assert_memory_equal(rx_frame + l3 + 6, tx_frame + l3 + 6, 4);
			assert_memory_equal(rx_frame + l3 + 12, tx_frame + l3 + 12, 8);
			assert_int_equal(fold(sum16(0, rx_frame + l3, 20)), 0xffff);
		}
		assert_memory_equal(rx_frame + l4, tx_frame + l4, 4); /* ports */
		assert_int_equal(be32(rx_frame + l4 + 4), 1000 + i * (uint32_t)mss);
		assert_int_equal(be32(rx_frame + l4 + 8), 77);
		if (i == 0)
			flags |= 0x80;         /* CWR on the first */
		if (i + 1 == n)
			flags |= 0x08 | 0x01;  /* PSH and FIN on the last */
		assert_int_equal(rx_frame[l4 + 13], flags);
		assert_int_equal(be16(rx_frame + l4 + 16), tcp_check(rx_frame, slen, v6));
		if (meta) {
			assert_int_equal(got.flags, VNET_OFFLOAD_F_CSUM_VALID);
			assert_int_equal(got.gso_type, VNET_GSO_NONE);
		}
	}
	assert_int_equal(recv_off(rq, 50, NULL), 0); /* nothing more */
}

static void expect_gso(struct vnet_queue *rq, size_t len, bool v6, uint16_t mss)
{
	struct vnet_offload got;

	assert_int_equal(recv_off(rq, 2000, &got), len);
	assert_memory_equal(rx_frame, tx_frame, len);
	assert_int_equal(got.flags, VNET_OFFLOAD_F_CSUM_NEEDED);
	assert_int_equal(got.gso_type, v6 ? VNET_GSO_TCP6 : VNET_GSO_TCP4);
	assert_int_equal(got.gso_size, mss);
	assert_int_equal(got.hdr_len, hl_of(v6));
	assert_int_equal(got.csum_start, l4_of(v6));
	assert_int_equal(got.csum_offset, 16);
	assert_int_equal(recv_off(rq, 50, NULL), 0);
}

/* One BIG TSO frame from tx_uri to rx_uri (NULL: the same device). */
static void tso_once(const char *tx_uri, const char *rx_uri, uint64_t rx_mask, bool v6,
		     bool want_gso, bool meta)
{
	struct vnet_dev *t = open_dev(tx_uri, rx_uri ? 0 : rx_mask);
	struct vnet_dev *r = rx_uri ? open_dev(rx_uri, rx_mask) : t;
	struct vnet_queue *tq = vnet_dev_queue(t, 0), *rq = vnet_dev_queue(r, 0);
	uint16_t mss = v6 ? 1400 : 1448;
	struct vnet_offload off = tso(v6, mss);
	struct vnet_queue_stats st = { .sz = sizeof(st) };

	tcp_frame(tx_frame, BIG, v6);
	send_off(tq, tx_frame, BIG, &off);
	if (want_gso)
		expect_gso(rq, BIG, v6, mss);
	else
		expect_segments(rq, BIG, v6, mss, meta);
	assert_int_equal(vnet_queue_stats(t, 0, &st), 0);
	assert_int_equal(st.tx_errors, 0);
	assert_int_equal(vnet_queue_stats(r, 0, &st), 0);
	assert_int_equal(st.rx_errors, 0);
	if (r != t)
		vnet_dev_close(r);
	vnet_dev_close(t);
}

static void test_tso_loopback_segments(void **state)
{
	(void)state;
	tso_once("sim:loopback?offload=on", NULL, GUEST_TSO, false, false, true);
	tso_once("sim:loopback?offload=on", NULL, GUEST_TSO, true, false, true);
	tso_once("sim:loopback?offload=on&ring=split", NULL, GUEST_TSO, false, false, true);
}

static void test_tso_loopback_gso(void **state)
{
	(void)state;
	tso_once("sim:loopback?offload=on", NULL, 0, false, true, true);
	tso_once("sim:loopback?offload=on", NULL, 0, true, true, true);
	tso_once("sim:loopback?offload=on&ring=split", NULL, 0, true, true, true);
}

static void test_tso_pair(void **state)
{
	(void)state;
	/* A peer that masked GUEST_TSO, one that did not ask for offloads at
	 * all (segments, no metadata), and one that takes GSO frames. */
	tso_once("sim:pair=offp1/0?offload=on", "sim:pair=offp1/1?offload=on", GUEST_TSO, false,
		 false, true);
	tso_once("sim:pair=offp2/0?offload=on", "sim:pair=offp2/1", 0, true, false, false);
	tso_once("sim:pair=offp3/0?offload=on", "sim:pair=offp3/1?offload=on", 0, false, true, true);
	tso_once("sim:pair=offp4/0?offload=on", "sim:pair=offp4/1?offload=on", 0, true, true, true);
}

/* ---- hostile headers -------------------------------------------------- */

/* The driver's header, broken behind the driver's back: the device must
 * refuse it (virtio 1.2 §5.1.6.2.1 forbids DATA_VALID on TX). */
static void test_device_refuses(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback?offload=on", 0);
	struct vnet_queue *q = vnet_dev_queue(d, 0);
	struct vnet_offload off = tso(false, 1448);
	struct vnet_buf b;

	(void)state;
	tcp_frame(tx_frame, BIG, false);
	assert_int_equal(reserve_frame(q, &b, tx_frame, BIG, &off), 0);
	((uint8_t *)b.data)[-12] |= VIRTIO_NET_HDR_F_DATA_VALID;
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	/* A good one after it goes through. */
	send_off(q, tx_frame, BIG, &off);
	expect_gso(q, BIG, false, 1448);
	assert_int_equal(xstat(d, "dev_tx_queue_0_bad"), 1);
	vnet_dev_close(d);
}

/* Frame 3 of 6 comes with an impossible header: dropped and counted. */
static void hostile_rx(const char *uri)
{
	struct vnet_dev *d = open_dev(uri, 0);
	struct vnet_queue *q = vnet_dev_queue(d, 0);
	struct vnet_queue_stats st = { .sz = sizeof(st) };
	struct vnet_offload got;
	uint8_t mac[6] = { 0x02, 0x76, 0x6e, 0, 0, 1 };
	unsigned i;

	for (i = 0; i < 6; i++) {
		frame_to(tx_frame, 100, mac, (uint8_t)i);
		send_off(q, tx_frame, 100, NULL);
	}
	for (i = 0; i < 6; i++) {
		if (i == 3)
			continue;
		frame_to(tx_frame, 100, mac, (uint8_t)i);
		assert_int_equal(recv_off(q, 2000, &got), 100);
		assert_memory_equal(rx_frame, tx_frame, 100);
		assert_int_equal(got.flags, 0);
	}
	assert_int_equal(recv_off(q, 50, NULL), 0);
	assert_int_equal(vnet_queue_stats(d, 0, &st), 0);
	assert_int_equal(st.rx_packets, 5);
	assert_int_equal(st.rx_errors, 1);
	assert_int_equal(st.rx_dropped, 1);
	vnet_dev_close(d);
}

static void test_hostile_rx(void **state)
{
	(void)state;
	/* The device counts each frame twice (TX, then RX): @6 is frame 3. */
	hostile_rx("sim:loopback?offload=on&fault=bad_rx_csum@6");
	hostile_rx("sim:loopback?offload=on&fault=bad_rx_gso@6");
	hostile_rx("sim:loopback?offload=on&ring=packed&fault=bad_rx_csum@6");
}

/* ---- sockets: VNET_SO_VNET_HDR ---------------------------------------- */

static uint8_t sock_buf[VNET_VNET_HDR_LEN + VNET_GSO_FRAME_MAX];

/* The 10-byte virtio_net_hdr: flags, gso_type, then le16 fields. */
static void vhdr(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
		 uint16_t start, uint16_t off)
{
	const uint16_t v[4] = { hdr_len, gso_size, start, off };

	h[0] = flags;
	h[1] = gso;
	for (int i = 0; i < 4; i++) {
		h[2 + 2 * i] = (uint8_t)v[i];
		h[3 + 2 * i] = (uint8_t)(v[i] >> 8);
	}
}

static ssize_t sock_roundtrip(int fd, const uint8_t *h, size_t len)
{
	memcpy(sock_buf, h, VNET_VNET_HDR_LEN);
	memcpy(sock_buf + VNET_VNET_HDR_LEN, tx_frame, len);
	if (vnet_send(fd, sock_buf, VNET_VNET_HDR_LEN + len, 0) < 0)
		return -1;
	assert_int_equal(vnet_socket_set(fd, VNET_SO_RCVTIMEO_MS, 2000), 0);
	return vnet_recv(fd, sock_buf, sizeof(sock_buf), 0);
}

static void test_socket_vnet_hdr(void **state)
{
	int fd = vnet_socket("sim:loopback?offload=on", 0, 0), v = -1;
	uint8_t h[VNET_VNET_HDR_LEN], want[VNET_VNET_HDR_LEN];
	const size_t H = VNET_VNET_HDR_LEN;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(vnet_socket_set(fd, VNET_SO_VNET_HDR, 2), -1);
	assert_int_equal(vnet_socket_set(fd, VNET_SO_VNET_HDR, 1), 0);
	assert_int_equal(vnet_socket_get(fd, VNET_SO_VNET_HDR, &v), 0);
	assert_int_equal(v, 1);
	/* NEEDS_CSUM: the frame comes back checksummed, flagged DATA_VALID. */
	tcp_frame(tx_frame, 1514, false);
	vhdr(h, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16);
	assert_int_equal(sock_roundtrip(fd, h, 1514), H + 1514);
	vhdr(want, VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0);
	assert_memory_equal(sock_buf, want, H);
	assert_int_equal(be16(sock_buf + H + 50), tcp_check(tx_frame, 1514, false));
	assert_memory_equal(sock_buf + H, tx_frame, 50);
	/* TSO: one GSO frame back (loopback has GUEST_TSO), with its header. */
	tcp_frame(tx_frame, BIG, true);
	vhdr(h, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 74, 1400, 54, 16);
	assert_int_equal(sock_roundtrip(fd, h, BIG), H + BIG);
	assert_memory_equal(sock_buf, h, H);
	assert_memory_equal(sock_buf + H, tx_frame, BIG);
	/* Bad metadata is refused as by vnet_tx_offload(). */
	vhdr(h, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 74, 0, 54, 16);
	expect_err((int)sock_roundtrip(fd, h, BIG), EINVAL, "gso_size 0");
	/* Without the option, the same bytes are a plain (over-long) frame. */
	assert_int_equal(vnet_socket_set(fd, VNET_SO_VNET_HDR, 0), 0);
	expect_err((int)vnet_send(fd, sock_buf, H + BIG, 0), EMSGSIZE, NULL);
	vnet_close(fd);

	/* A device without offloads: zero headers both ways, others refused. */
	fd = vnet_socket("sim:loopback", 0, 0);
	assert_true(fd >= 0);
	assert_int_equal(vnet_socket_set(fd, VNET_SO_VNET_HDR, 1), 0);
	frame_to(tx_frame, 100, (const uint8_t[]){ 2, 0x76, 0x6e, 0, 0, 1 }, 7);
	memset(h, 0, H);
	assert_int_equal(sock_roundtrip(fd, h, 100), H + 100);
	assert_memory_equal(sock_buf, h, H);
	assert_memory_equal(sock_buf + H, tx_frame, 100);
	vhdr(h, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16);
	expect_err((int)sock_roundtrip(fd, h, 100), EOPNOTSUPP, "offload=on");
	vnet_close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_asked),
		cmocka_unit_test(test_not_offered),
		cmocka_unit_test(test_masked),
		cmocka_unit_test(test_bad_metadata),
		cmocka_unit_test(test_csum_loopback),
		cmocka_unit_test(test_csum_pair),
		cmocka_unit_test(test_tso_loopback_segments),
		cmocka_unit_test(test_tso_loopback_gso),
		cmocka_unit_test(test_tso_pair),
		cmocka_unit_test(test_device_refuses),
		cmocka_unit_test(test_hostile_rx),
		cmocka_unit_test(test_socket_vnet_hdr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
