/* SPDX-License-Identifier: MIT */
/*
 * Auto reset (VNET_DEV_F_AUTO_RESET, `reset=auto`): a simulated device
 * sets NEEDS_RESET mid-traffic (fault=needs_reset@N); the driver resets
 * it, and traffic goes on. Checked, in busy-poll and interrupt mode: every
 * frame sent is received, intact and in order, or counted as dropped
 * (rx_dropped, reset_tx_dropped), dev_resets is 1, the events are
 * NEEDS_RESET then RESET_DONE, the settings survive (promisc off, a filter
 * entry, queue pairs), two threads with a queue pair each take part and
 * carry on, a queue pair nobody holds does not hold the reset up, and
 * without the option the device stays broken as before.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "events.h"
#include "frames.h"
#include "xstat.h"
#include "vnet/vnet.h"

#define FAULT_AT 4000u   /* device frames (TX and RX) before NEEDS_RESET */
#define FRAMES 20000u    /* sent in all, most after the reset */
#define MIN_LEN 60
#define MAX_LEN 1000
#define WAIT_MS 100
#define GIVE_UP_WAITS 100 /* of WAIT_MS: 10 s without progress fails the test */
#define GIVE_UP_MS 10000
#define VN_TEST_MIN(a, b) ((a) < (b) ? (a) : (b))

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct run {
	struct vnet_dev *d;
	struct vnet_queue *q;
	struct vnet_dev_info info;
	bool irq;             /* sleep in vnet_wait() when there is nothing to do */
	uint64_t sent, got, next; /* frames sent, received; next sequence expected */
	uint64_t skipped;     /* sequence numbers that never came (dropped) */
};

/* Send what the ring takes, up to FRAMES. */
static void send_some(struct run *r)
{
	struct vnet_buf b[32];
	unsigned want = (unsigned)VN_TEST_MIN(32, FRAMES - r->sent);
	int n;

	if (!want)
		return;
	n = vnet_tx_reserve(r->q, b, want);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		size_t len = tf_len(r->sent + (unsigned)i, MIN_LEN, MAX_LEN);

		tf_fill(b[i].data, len, r->info.mac, r->sent + (unsigned)i);
		b[i].len = (uint32_t)len;
	}
	if (n)
		assert_int_equal(vnet_tx_submit(r->q, b, (unsigned)n), n);
	r->sent += (unsigned)n;
}

/* Take what waits: each frame intact, in order; gaps are drops. */
static int recv_some(struct run *r)
{
	struct vnet_buf b[32];
	int n = vnet_rx_peek(r->q, b, 32);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		const uint8_t *f = b[i].data;
		uint64_t seq;

		assert_true(b[i].len >= TF_HDR);
		memcpy(&seq, f + 14, 8);
		assert_true(seq >= r->next && seq < r->sent);
		assert_true(tf_check(f, b[i].len, r->info.mac, seq, tf_len(seq, MIN_LEN, MAX_LEN)));
		r->skipped += seq - r->next;
		r->next = seq + 1;
	}
	if (n)
		assert_int_equal(vnet_rx_release(r->q, b, (unsigned)n), 0);
	r->got += (unsigned)n;
	return n;
}

/* Loop traffic until every frame is sent and received or dropped. */
static void run_traffic(struct run *r)
{
	uint64_t since = 0;
	unsigned idle = 0;

	while (r->next < FRAMES || r->sent < FRAMES) {
		uint64_t before = r->sent + r->got;

		send_some(r);
		recv_some(r);
		if (r->sent + r->got != before) {
			idle = 0;
			continue;
		}
		/* All sent, nothing more came: the rest was dropped at the reset. */
		if (r->sent == FRAMES && r->got + xstat(r->d, "reset_tx_dropped") +
		    xstat(r->d, "reset_rx_dropped") >= FRAMES)
			break;
		if (!idle++)
			since = now_ms();
		if (now_ms() - since > GIVE_UP_MS)
			fail_msg("stalled: sent %llu, received %llu, next %llu, resets %llu, dropped rx %llu tx %llu",
				 (unsigned long long)r->sent, (unsigned long long)r->got,
				 (unsigned long long)r->next, (unsigned long long)xstat(r->d, "dev_resets"),
				 (unsigned long long)xstat(r->d, "reset_rx_dropped"),
				 (unsigned long long)xstat(r->d, "reset_tx_dropped"));
		if (r->irq) {
			struct vnet_wait w = { .q = r->q, .events = VNET_WAIT_RX };

			if (r->sent < FRAMES)
				w.events |= VNET_WAIT_TX;

			/* Never VNET_WAIT_ERR: the reset is not a failure. */
			assert_true(vnet_wait(&w, 1, WAIT_MS) >= 0);
			assert_true(!(w.revents & VNET_WAIT_ERR));
		}
	}
}

/* Every frame is accounted for, the reset happened once and said so. */
static void check_accounts(struct run *r)
{
	struct vnet_queue_stats st = { .sz = sizeof(st) };
	uint64_t tx_lost = xstat(r->d, "reset_tx_dropped"), rx_lost = xstat(r->d, "reset_rx_dropped");

	assert_int_equal(vnet_queue_stats(r->d, 0, &st), 0);
	assert_int_equal(xstat(r->d, "dev_resets"), 1);
	assert_int_equal(st.tx_packets, FRAMES);
	assert_int_equal(st.rx_packets, r->got);
	assert_int_equal(st.rx_dropped, rx_lost);
	/* sent == received + dropped, and the drops are exactly the gaps. */
	assert_int_equal(r->got + rx_lost + tx_lost, FRAMES);
	assert_int_equal(r->skipped + (FRAMES - r->next), rx_lost + tx_lost);
	assert_true(r->got > FRAMES - FAULT_AT); /* traffic went on after the reset */
	assert_int_equal(next_event(r->d, 0), VNET_EV_NEEDS_RESET);
	assert_int_equal(next_event(r->d, 0), VNET_EV_RESET_DONE);
}

static void open_run(struct run *r, const char *uri, bool irq)
{
	memset(r, 0, sizeof(*r));
	r->irq = irq;
	assert_int_equal(vnet_dev_open(uri, NULL, &r->d), 0);
	r->info.sz = sizeof(r->info);
	assert_int_equal(vnet_dev_info(r->d, &r->info), 0);
	r->q = vnet_dev_queue(r->d, 0);
	assert_non_null(r->q);
}

static void reset_mid_traffic(bool irq)
{
	char uri[128];
	struct run r;

	snprintf(uri, sizeof(uri), "sim:loopback?fault=needs_reset@%u&reset=auto", FAULT_AT);
	open_run(&r, uri, irq);
	run_traffic(&r);
	check_accounts(&r);
	r.info.sz = sizeof(r.info);
	assert_int_equal(vnet_dev_info(r.d, &r.info), 0);
	assert_int_equal(r.info.broken, 0);
	assert_int_equal(r.info.link_up, 1);
	vnet_dev_close(r.d);
}

static void test_busy(void **state)
{
	(void)state;
	reset_mid_traffic(false);
}

static void test_irq(void **state)
{
	(void)state;
	reset_mid_traffic(true);
}

/* The same through the options struct rather than the URI. */
static void test_opts_flag(void **state)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct run r;

	(void)state;
	memset(&r, 0, sizeof(r));
	o.flags = VNET_DEV_F_AUTO_RESET;
	assert_int_equal(vnet_dev_open("sim:loopback?fault=needs_reset@4000", &o, &r.d), 0);
	r.info.sz = sizeof(r.info);
	assert_int_equal(vnet_dev_info(r.d, &r.info), 0);
	r.q = vnet_dev_queue(r.d, 0);
	run_traffic(&r);
	check_accounts(&r);
	vnet_dev_close(r.d);
	o.flags = 0x80;
	assert_int_equal(vnet_dev_open("sim:loopback", &o, &r.d), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_dev_open("sim:loopback?reset=sometimes", NULL, &r.d), -1);
	assert_int_equal(errno, EINVAL);
}

/*
 * A sleeper in interrupt mode, nothing in flight, when the device asks
 * for a reset: it wakes (no VNET_WAIT_ERR), the reset runs in its calls,
 * and it carries on with the device's settings restored: promisc off
 * with a filter entry (a foreign frame is filtered, one to the entry
 * arrives), two queue pairs active, the MTU kept, though the second pair
 * is never handed out.
 */
static void test_sleeper_settings(void **state)
{
	static const uint8_t extra[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	static const uint8_t foreign[6] = { 0x02, 0x99, 0x99, 0x99, 0x99, 0x99 };
	struct vnet_wait w;
	struct vnet_buf b[4];
	struct run r;
	uint64_t filtered;
	int waits = 0, n;

	(void)state;
	open_run(&r, "sim:loopback?queues=2&fault=needs_reset@4&reset=auto", true);
	assert_int_equal(vnet_dev_set_promisc(r.d, 0), 0);
	assert_int_equal(vnet_dev_mac_add(r.d, extra), 0);
	assert_int_equal(vnet_dev_set_mtu(r.d, 1000), 0);
	assert_int_equal(vnet_dev_set_queue_pairs(r.d, 2), 0);
	while (next_event(r.d, 0))
		;
	/* Two frames out and back; the fault fires once they are delivered,
	 * so taking them races with the reset: they are received or dropped. */
	send_some(&r);
	assert_int_equal(r.sent, 32);
	assert_int_equal(next_event(r.d, 2000), VNET_EV_NEEDS_RESET);
	/* Asleep while the reset is pending; woken, never with an error. */
	do {
		w = (struct vnet_wait){ .q = r.q, .events = VNET_WAIT_RX };
		assert_true(vnet_wait(&w, 1, WAIT_MS) >= 0);
		assert_true(!(w.revents & VNET_WAIT_ERR));
		recv_some(&r);
	} while (xstat(r.d, "dev_resets") == 0 && ++waits < GIVE_UP_WAITS);
	assert_int_equal(xstat(r.d, "dev_resets"), 1);
	assert_int_equal(r.got + xstat(r.d, "reset_rx_dropped") + xstat(r.d, "reset_tx_dropped"), 32);
	r.sent = FRAMES; /* no more test frames */
	assert_int_equal(next_event(r.d, 0), VNET_EV_RESET_DONE);
	r.info.sz = sizeof(r.info);
	assert_int_equal(vnet_dev_info(r.d, &r.info), 0);
	assert_int_equal(r.info.flags & VNET_IFF_PROMISC, 0);
	assert_int_equal(r.info.mtu, 1000);
	assert_int_equal(r.info.active_pairs, 2);
	/* The device itself filters again: a foreign frame is refused. */
	filtered = xstat(r.d, "dev_rx_queue_0_filtered") + xstat(r.d, "dev_rx_queue_1_filtered");
	for (int i = 0; i < 2; i++) {
		const uint8_t *dst = i ? extra : foreign;

		assert_int_equal(vnet_tx_reserve(r.q, b, 1), 1);
		tf_fill(b[0].data, 60, dst, 7);
		b[0].len = 60;
		assert_int_equal(vnet_tx_submit(r.q, b, 1), 1);
	}
	waits = 0;
	do {
		w = (struct vnet_wait){ .q = r.q, .events = VNET_WAIT_RX };
		assert_true(vnet_wait(&w, 1, WAIT_MS) >= 0);
		n = vnet_rx_peek(r.q, b, 4);
		assert_true(n >= 0);
	} while (n == 0 && ++waits < GIVE_UP_WAITS);
	assert_int_equal(n, 1);
	assert_memory_equal(b[0].data, extra, 6);
	assert_int_equal(vnet_rx_release(r.q, b, 1), 0);
	assert_int_equal(xstat(r.d, "dev_rx_queue_0_filtered") + xstat(r.d, "dev_rx_queue_1_filtered"),
			 filtered + 1);
	/* A frame over the MTU kept is still refused. */
	assert_int_equal(vnet_tx_reserve(r.q, b, 1), 1);
	b[0].len = 1000 + 18 + 1;
	assert_int_equal(vnet_tx_submit(r.q, b, 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	b[0].len = 0;
	assert_int_equal(vnet_tx_submit(r.q, b, 1), 1);
	vnet_dev_close(r.d);
}

/* ---- two queue pairs, each on a thread of its own ----------------------- */

struct pair_run {
	struct vnet_dev *d;
	struct vnet_queue *q;
	const uint8_t *mac;
	bool irq;
	uint64_t sent, got, next, skipped;
	int bad; /* 0, or which check failed: cmocka asserts only on the main thread */
};

static uint64_t resets_of(struct vnet_dev *d)
{
	struct vnet_xstat xs[128];
	int n = vnet_dev_xstats(d, xs, 128);

	for (int i = 0; i < n && i < 128; i++)
		if (!strcmp(xs[i].name, "dev_resets"))
			return xs[i].value;
	return 0;
}

/* Traffic on one pair until all is sent, the reset is done and nothing
 * came for a second; each frame checked as recv_some() does. */
static void *pair_thread(void *arg)
{
	struct pair_run *r = arg;
	uint64_t deadline = now_ms() + 3 * GIVE_UP_MS, quiet = now_ms();
	struct vnet_buf b[32];

	while (!r->bad && now_ms() < deadline) {
		struct vnet_wait w = { .q = r->q, .events = VNET_WAIT_RX };
		unsigned want = (unsigned)VN_TEST_MIN(32, FRAMES - r->sent);
		int n = want ? vnet_tx_reserve(r->q, b, want) : 0;

		if (n < 0)
			r->bad = 1;
		for (int i = 0; i < n; i++, r->sent++) {
			tf_fill(b[i].data, tf_len(r->sent, MIN_LEN, MAX_LEN), r->mac, r->sent);
			b[i].len = (uint32_t)tf_len(r->sent, MIN_LEN, MAX_LEN);
		}
		if (n > 0 && vnet_tx_submit(r->q, b, (unsigned)n) != n)
			r->bad = 2;
		n = vnet_rx_peek(r->q, b, 32);
		if (n < 0)
			r->bad = 3;
		for (int i = 0; i < n; i++) {
			uint64_t seq;

			memcpy(&seq, (const uint8_t *)b[i].data + 14, 8);
			if (seq < r->next || seq >= r->sent ||
			    !tf_check(b[i].data, b[i].len, r->mac, seq, tf_len(seq, MIN_LEN, MAX_LEN)))
				r->bad = 4;
			r->skipped += seq - r->next;
			r->next = seq + 1;
		}
		if (n > 0) {
			r->got += (unsigned)n;
			quiet = now_ms();
			if (vnet_rx_release(r->q, b, (unsigned)n))
				r->bad = 5;
		} else if (r->sent == FRAMES && resets_of(r->d) && now_ms() - quiet > 1000) {
			break;
		}
		if (r->irq && n <= 0) {
			if (r->sent < FRAMES)
				w.events |= VNET_WAIT_TX;
			if (vnet_wait(&w, 1, WAIT_MS) < 0 || (w.revents & VNET_WAIT_ERR))
				r->bad = 6;
		}
	}
	return NULL;
}

/*
 * Two pairs used by two threads (one busy-polls, one sleeps in vnet_wait()),
 * a third pair never handed out: the reset waits for both threads to rebuild
 * their own rings, goes on without the third, and both carry on. Every frame
 * of both is received in order or counted.
 */
static void test_two_threads(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct pair_run r[2];
	pthread_t t[2];
	struct vnet_dev *d;
	uint64_t got = 0, gaps = 0;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:loopback?queues=3&fault=needs_reset@8000&reset=auto",
				       NULL, &d), 0);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct pair_run){ .d = d, .q = vnet_dev_queue(d, (unsigned)i), .mac = info.mac,
					  .irq = i == 1 };
		assert_non_null(r[i].q);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, pair_thread, &r[i]), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].bad, 0);
		assert_int_equal(r[i].sent, FRAMES);
		got += r[i].got;
		gaps += r[i].skipped + (FRAMES - r[i].next);
	}
	assert_int_equal(xstat(d, "dev_resets"), 1);
	assert_int_equal(got + xstat(d, "reset_rx_dropped") + xstat(d, "reset_tx_dropped"), 2 * FRAMES);
	assert_int_equal(gaps, xstat(d, "reset_rx_dropped") + xstat(d, "reset_tx_dropped"));
	assert_true(r[0].got > FRAMES / 2 && r[1].got > FRAMES / 2);
	vnet_dev_close(d);
}

/*
 * Frames reserved before the reset and submitted while it is pending (a
 * second queue pair's thread has not taken its part yet), with the device
 * also taken down meanwhile: accepted, and counted in reset_tx_dropped and
 * tx_packets, none silently lost; then the second pair completes the reset
 * and traffic flows on both once the device is up.
 */
static void test_submit_while_pending(void **state)
{
	struct vnet_queue *q1;
	struct vnet_buf b[4];
	struct run r;
	uint64_t tx_before;
	int n;

	(void)state;
	open_run(&r, "sim:loopback?queues=2&fault=needs_reset@4&reset=auto", false);
	q1 = vnet_dev_queue(r.d, 1);
	assert_non_null(q1);
	assert_int_equal(vnet_tx_reserve(r.q, b, 4), 4);
	for (int i = 0; i < 4; i++)
		b[i].len = 60;
	send_some(&r);
	assert_int_equal(next_event(r.d, 2000), VNET_EV_NEEDS_RESET);
	assert_int_equal(vnet_dev_set_up(r.d, 0), 0);
	tx_before = xstat(r.d, "reset_tx_dropped");
	assert_int_equal(vnet_tx_submit(r.q, b, 4), 4);
	assert_int_equal(xstat(r.d, "reset_tx_dropped"), tx_before + 4);
	assert_int_equal(xstat(r.d, "dev_resets"), 0); /* pair 1 has not taken part */
	assert_int_equal(vnet_rx_peek(q1, b, 4), 0);  /* now it has */
	assert_int_equal(xstat(r.d, "dev_resets"), 1);
	assert_int_equal(vnet_dev_set_up(r.d, 1), 0);
	r.got = 0;
	r.sent = r.next = 0;
	r.skipped = 0;
	for (int tries = 0; r.got < 8 && tries < GIVE_UP_WAITS * 1000; tries++) {
		struct vnet_buf f[8];

		if (r.sent < 8) {
			n = vnet_tx_reserve(r.q, f, 8);
			assert_int_equal(n, 8);
			for (int i = 0; i < n; i++) {
				tf_fill(f[i].data, 60, r.info.mac, 1000 + r.sent + (unsigned)i);
				f[i].len = 60;
			}
			assert_int_equal(vnet_tx_submit(r.q, f, 8), 8);
			r.sent = 8;
		}
		n = vnet_rx_peek(r.q, f, 8);
		assert_true(n >= 0);
		if (n)
			assert_int_equal(vnet_rx_release(r.q, f, (unsigned)n), 0);
		r.got += (unsigned)n;
	}
	assert_int_equal(r.got, 8);
	vnet_dev_close(r.d);
}

/* Without the option, NEEDS_RESET still breaks the device for good. */
static void test_default_reports(void **state)
{
	struct vnet_buf b[4];
	struct run r;
	int waits = 0;

	(void)state;
	open_run(&r, "sim:loopback?fault=needs_reset@4", false);
	send_some(&r);
	assert_int_equal(next_event(r.d, 2000), VNET_EV_NEEDS_RESET);
	while (vnet_rx_peek(r.q, b, 4) >= 0 && ++waits < GIVE_UP_WAITS)
		;
	assert_int_equal(errno, ENETDOWN);
	assert_int_equal(xstat(r.d, "dev_resets"), 0);
	vnet_dev_close(r.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_irq),
		cmocka_unit_test(test_opts_flag),
		cmocka_unit_test(test_sleeper_settings),
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_submit_while_pending),
		cmocka_unit_test(test_default_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
