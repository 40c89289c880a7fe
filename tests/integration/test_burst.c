/* SPDX-License-Identifier: MIT */
/*
 * The zero-copy burst API end to end over the in-process simulated device:
 * a million frames through loopback with zero loss and every byte and the
 * order of every frame checked, jumbo frames spread over several receive
 * buffers (VIRTIO_NET_F_MRG_RXBUF), and the counters that account for them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "frames.h"
#include "vnet/vnet.h"

#define BATCH 32
#define MAX_FRAME (9000 + 18)

struct rx_state {
	uint8_t frame[MAX_FRAME];
	uint64_t next;          /* sequence number expected next */
	uint64_t multi_segment; /* frames that arrived in several buffers */
};

/* Check the frames of one peeked burst (reassembling multi-buffer ones). */
static void check_burst(struct rx_state *rx, const uint8_t mac[6], const struct vnet_buf *b,
			int n, size_t min, size_t max)
{
	for (int i = 0; i < n; i++) {
		size_t len = 0;
		bool multi = b[i].flags & VNET_BUF_MORE;

		for (;;) {
			assert_true(len + b[i].len <= sizeof(rx->frame));
			memcpy(rx->frame + len, b[i].data, b[i].len);
			len += b[i].len;
			if (!(b[i].flags & VNET_BUF_MORE))
				break;
			assert_true(++i < n); /* a frame never straddles bursts */
		}
		rx->multi_segment += multi;
		if (!tf_check(rx->frame, len, mac, rx->next, tf_len(rx->next, min, max)))
			fail_msg("frame %llu: wrong bytes or length (%zu)",
				 (unsigned long long)rx->next, len);
		rx->next++;
	}
}

/* Send n frames through dev's queue pair 0 and check all come back. */
static void run_loopback(const char *uri, uint64_t n, size_t min, size_t max,
			 struct vnet_queue_stats *st, uint64_t *multi)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	static struct rx_state rx;
	struct vnet_buf b[BATCH * 8];
	struct vnet_dev *dev;
	struct vnet_queue *q;
	uint64_t sent = 0;

	assert_int_equal(vnet_dev_open(uri, NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	q = vnet_dev_queue(dev, 0);
	assert_non_null(q);
	memset(&rx, 0, sizeof(rx));
	while (rx.next < n) {
		unsigned want = (unsigned)(n - sent < BATCH ? n - sent : BATCH);
		int got = want ? vnet_tx_reserve(q, b, want) : 0;

		assert_true(got >= 0);
		for (int i = 0; i < got; i++) {
			size_t len = tf_len(sent + (unsigned)i, min, max);

			assert_true(b[i].len >= len); /* capacity covers MTU + 18 */
			tf_fill(b[i].data, len, info.mac, sent + (unsigned)i);
			b[i].len = (uint32_t)len;
		}
		if (got)
			assert_int_equal(vnet_tx_submit(q, b, (unsigned)got), got);
		sent += (unsigned)got;
		got = vnet_rx_peek(q, b, sizeof(b) / sizeof(b[0]));
		assert_true(got >= 0);
		check_burst(&rx, info.mac, b, got, min, max);
		assert_int_equal(vnet_rx_release(q, b, (unsigned)got), 0);
	}
	st->sz = sizeof(*st);
	assert_int_equal(vnet_queue_stats(dev, 0, st), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.broken, 0);
	*multi = rx.multi_segment;
	vnet_dev_close(dev);
}

static void test_million_frames_in_order(void **state)
{
	uint64_t n = tf_scale(1000000), multi;
	struct vnet_queue_stats st;

	(void)state;
	run_loopback("sim:loopback", n, 60, 1514, &st, &multi);
	assert_int_equal(st.tx_packets, n);
	assert_int_equal(st.rx_packets, n);
	assert_int_equal(st.rx_dropped, 0);
	assert_int_equal(st.tx_errors, 0);
	/* Batching: far fewer doorbell writes than frames. */
	assert_true(st.tx_kicks < n / 4);
}

static void test_jumbo_frames_span_buffers(void **state)
{
	uint64_t n = tf_scale(50000), multi;
	struct vnet_queue_stats st;

	(void)state;
	run_loopback("sim:loopback?mtu=9000", n, 60, 9014, &st, &multi);
	assert_int_equal(st.rx_packets, n);
	assert_int_equal(st.rx_dropped, 0);
	/* Most sizes in 60..9014 exceed one 2 KiB receive buffer. */
	assert_true(multi > n / 2);
}

static void test_bad_arguments(void **state)
{
	struct vnet_dev_opts small = { .sz = 1 };
	struct vnet_dev *dev;
	struct vnet_buf b[2];
	struct vnet_queue *q;

	(void)state;
	assert_int_equal(vnet_dev_open("nonsense", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_dev_open("sim:loopback", &small, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_dev_open("sim:loopback", NULL, &dev), 0);
	assert_null(vnet_dev_queue(dev, 1));
	assert_int_equal(errno, EINVAL);
	q = vnet_dev_queue(dev, 0);
	assert_non_null(q);
	/* Over capacity: refused, nothing sent, buffer still reserved. */
	assert_int_equal(vnet_tx_reserve(q, b, 1), 1);
	b[0].len += 1;
	assert_int_equal(vnet_tx_submit(q, b, 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	b[0].len = 0; /* returned unsent */
	assert_int_equal(vnet_tx_submit(q, b, 1), 1);
	vnet_dev_close(dev);
}

/* Frames submitted just before vnet_dev_close() still leave: the far end
 * of a wire receives every one of them. */
static void test_close_sends_frames_in_flight(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *a, *b;
	struct vnet_queue *qa, *qb;
	struct vnet_buf buf[64];
	unsigned got = 0;
	int n;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:pair=drain/1", NULL, &b), 0);
	assert_int_equal(vnet_dev_open("sim:pair=drain/0", NULL, &a), 0);
	assert_int_equal(vnet_dev_info(b, &info), 0);
	qa = vnet_dev_queue(a, 0);
	qb = vnet_dev_queue(b, 0);
	assert_non_null(qa);
	assert_non_null(qb);
	n = vnet_tx_reserve(qa, buf, 64);
	assert_int_equal(n, 64);
	for (int i = 0; i < n; i++) {
		tf_fill(buf[i].data, 60, info.mac, (uint64_t)i);
		buf[i].len = 60;
	}
	assert_int_equal(vnet_tx_submit(qa, buf, 64), 64);
	vnet_dev_close(a);
	/* The wire is gone on one side; what it carried is on the other. */
	for (int tries = 0; got < 64 && tries < 100000; tries++) {
		n = vnet_rx_peek(qb, buf, 64);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++, got++)
			assert_true(tf_check(buf[i].data, buf[i].len, info.mac, got, 60));
		assert_int_equal(vnet_rx_release(qb, buf, (unsigned)n), 0);
	}
	assert_int_equal(got, 64);
	vnet_dev_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_million_frames_in_order),
		cmocka_unit_test(test_jumbo_frames_span_buffers),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_close_sends_frames_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
