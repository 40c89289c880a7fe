/* SPDX-License-Identifier: MIT */
/*
 * RSS and notification coalescing end to end on the simulated device with
 * two queue pairs (sim:loopback?queues=2&rss=on&coalesce=on): frames of
 * different flows land on the queue pair the indirection table names for
 * their Toeplitz hash (the expected hashes are Microsoft's published ones,
 * not computed here), in order and byte for byte, and the per-queue
 * counters of driver and device agree; coalescing cuts the interrupts a
 * re-arming receiver takes without losing or reordering a frame, and a
 * lone frame's interrupt comes when rx-usecs ran out.
 * Links the internal library for vn_sim_stats() (device-side counters).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim/sim.h"
#include "vnet/vnet.h"

#define URI "sim:loopback?queues=2&rss=on&coalesce=on&ctl=off"

static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* Flows of Microsoft's RSS verification table: the 4-tuple hash. */
static const struct flow {
	int af;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t hash;
} flows[] = {
	{ AF_INET, "66.9.149.187", "161.142.100.80", 2794, 1766, 0x51ccc178 },
	{ AF_INET, "199.92.111.2", "65.69.140.83", 14230, 4739, 0xc626b0ea },
	{ AF_INET, "24.19.198.95", "12.22.207.184", 12898, 38024, 0x5c2b394a },
	{ AF_INET, "38.27.205.30", "209.142.163.6", 48228, 2217, 0xafc7327f },
	{ AF_INET, "153.39.163.191", "202.188.127.2", 44251, 1303, 0x10e828a2 },
	{ AF_INET6, "3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x40207d3d },
	{ AF_INET6, "3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0xdde51bbf },
	{ AF_INET6, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", 44251, 38024,
	  0x02d1feef },
};
#define N_FLOWS (sizeof(flows) / sizeof(flows[0]))
#define FRAME_LEN 96

/*
 * Frame seq: flow seq % (2 * N_FLOWS + 1): each flow over TCP, then over
 * UDP, then one that is not IP (unclassified); the sequence number after
 * the L4 header (or the Ethernet header) tells frames apart.
 */
static void build(uint8_t *f, const uint8_t mac[6], uint64_t seq)
{
	unsigned k = (unsigned)(seq % (2 * N_FLOWS + 1)), l3 = 14, l4;
	const struct flow *fl = &flows[k % N_FLOWS];

	memset(f, 0, FRAME_LEN);
	memcpy(f, mac, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x09", 6);
	if (k == 2 * N_FLOWS) {
		f[12] = 0x88;
		f[13] = 0xb5;
		memcpy(f + 14, &seq, 8);
		return;
	}
	if (fl->af == AF_INET) {
		f[12] = 0x08;
		f[l3] = 0x45;
		f[l3 + 9] = k < N_FLOWS ? IPPROTO_TCP : IPPROTO_UDP;
		assert_int_equal(inet_pton(AF_INET, fl->src, f + l3 + 12), 1);
		assert_int_equal(inet_pton(AF_INET, fl->dst, f + l3 + 16), 1);
		l4 = l3 + 20;
	} else {
		f[12] = 0x86;
		f[13] = 0xdd;
		f[l3] = 0x60;
		f[l3 + 6] = k < N_FLOWS ? IPPROTO_TCP : IPPROTO_UDP;
		assert_int_equal(inet_pton(AF_INET6, fl->src, f + l3 + 8), 1);
		assert_int_equal(inet_pton(AF_INET6, fl->dst, f + l3 + 24), 1);
		l4 = l3 + 40;
	}
	f[l4] = (uint8_t)(fl->sport >> 8);
	f[l4 + 1] = (uint8_t)fl->sport;
	f[l4 + 2] = (uint8_t)(fl->dport >> 8);
	f[l4 + 3] = (uint8_t)fl->dport;
	memcpy(f + l4 + 8, &seq, 8);
}

static unsigned expected_queue(const struct vnet_rss *r, uint64_t seq)
{
	unsigned k = (unsigned)(seq % (2 * N_FLOWS + 1));

	if (k == 2 * N_FLOWS)
		return r->table[0]; /* unclassified_queue is table[0] (vnet.h) */
	return r->table[flows[k % N_FLOWS].hash & (r->table_len - 1)];
}

static void send_frames(struct vnet_queue *q, const uint8_t mac[6], uint64_t from, uint64_t n)
{
	struct vnet_buf b[16];

	for (uint64_t seq = from; seq < from + n;) {
		unsigned want = (unsigned)(n - (seq - from) < 16 ? n - (seq - from) : 16);
		int got = vnet_tx_reserve(q, b, want);

		assert_true(got >= 0);
		for (int i = 0; i < got; i++, seq++) {
			build(b[i].data, mac, seq);
			b[i].len = FRAME_LEN;
		}
		if (got)
			assert_int_equal(vnet_tx_submit(q, b, (unsigned)got), got);
		else
			usleep(100);
	}
}

/* Take every frame from both queues until total arrived (bounded), checking
 * each against what its sequence number says and its queue's order. */
static void receive_check(struct vnet_dev *d, const struct vnet_rss *r, const uint8_t mac[6],
			  uint64_t from, uint64_t total, uint64_t per_q[2])
{
	uint64_t last[2] = { 0, 0 }, got = 0;
	bool seen[2] = { false, false };
	uint8_t want[FRAME_LEN];
	struct vnet_buf b[32];

	per_q[0] = per_q[1] = 0;
	for (int spins = 0; got < total && spins < 200000; spins++) {
		for (unsigned qp = 0; qp < 2; qp++) {
			struct vnet_queue *q = vnet_dev_queue(d, qp);
			int n = vnet_rx_peek(q, b, 32);

			assert_true(n >= 0);
			for (int i = 0; i < n; i++) {
				uint64_t seq;

				assert_int_equal(b[i].len, FRAME_LEN);
				/* The sequence number sits 8 bytes into the L4 header
				 * (or right after Ethernet for the unclassified frame). */
				memcpy(&seq, (const uint8_t *)b[i].data +
					     (((const uint8_t *)b[i].data)[12] == 0x88 ? 14 :
					      ((const uint8_t *)b[i].data)[12] == 0x08 ? 42 : 62), 8);
				assert_true(seq >= from && seq < from + total);
				build(want, mac, seq);
				assert_memory_equal(b[i].data, want, FRAME_LEN);
				assert_int_equal(qp, expected_queue(r, seq));
				if (seen[qp])
					assert_true(seq > last[qp]);
				seen[qp] = true;
				last[qp] = seq;
				per_q[qp]++;
				got++;
			}
			if (n)
				assert_int_equal(vnet_rx_release(q, b, (unsigned)n), 0);
		}
		if (got < total)
			usleep(50);
	}
	assert_int_equal(got, total);
}

static void check_counters(struct vnet_dev *d, const uint64_t before[2], const uint64_t per_q[2])
{
	struct vn_sim_stats st;

	assert_int_equal(vn_sim_stats("loopback", 0, &st), 0);
	for (unsigned qp = 0; qp < 2; qp++) {
		struct vnet_queue_stats qs = { .sz = sizeof(qs) };

		assert_int_equal(vnet_queue_stats(d, qp, &qs), 0);
		assert_int_equal(qs.rx_packets - before[qp], per_q[qp]);
		assert_int_equal(st.qp[qp].rx_frames - before[qp], per_q[qp]);
		assert_int_equal(qs.rx_dropped, 0);
	}
}

static void open_dev(struct vnet_dev **d, struct vnet_dev_info *info)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;

	o.queue_pairs = 2;
	assert_int_equal(vnet_dev_open(URI, &o, d), 0);
	info->sz = sizeof(*info);
	assert_int_equal(vnet_dev_info(*d, info), 0);
	assert_int_equal(info->queue_pairs, 2);
}

static void test_rss_steers_by_table(void **state)
{
	static const uint16_t tables[2][8] = { { 1, 0, 1, 1, 0, 0, 1, 0 }, { 0, 1, 0, 0, 1, 1, 0, 1 } };
	struct vnet_rss r = { .sz = sizeof(r) };
	struct vnet_dev_info info;
	uint64_t per_q[2], before[2] = { 0, 0 }, seq = 0;
	const uint64_t n = 4 * (2 * N_FLOWS + 1);
	struct vnet_dev *d;

	(void)state;
	open_dev(&d, &info);
	assert_int_equal(vnet_dev_rss(d, &r), 0);
	assert_int_equal(r.enabled, 0);
	assert_int_equal(r.max_key_len, 40);
	assert_int_equal(r.max_table_len, 128);
	assert_int_equal(r.supported_hash_types, 0x3f);
	r.hash_types = VNET_RSS_HASH_IPV4 | VNET_RSS_HASH_TCP4 | VNET_RSS_HASH_UDP4 |
		       VNET_RSS_HASH_IPV6 | VNET_RSS_HASH_TCP6 | VNET_RSS_HASH_UDP6;
	r.key_len = 40;
	memcpy(r.key, ms_key, 40);
	r.table_len = 8;
	for (int t = 0; t < 2; t++) {
		memcpy(r.table, tables[t], sizeof(tables[t]));
		assert_int_equal(vnet_dev_set_rss(d, &r), 0);
		/* Every frame is sent on pair 0: the table alone spreads them. */
		send_frames(vnet_dev_queue(d, 0), info.mac, seq, n);
		receive_check(d, &r, info.mac, seq, n, per_q);
		/* Both queues got some (the table and flows are chosen so). */
		assert_true(per_q[0] > 0 && per_q[1] > 0);
		check_counters(d, before, per_q);
		before[0] += per_q[0];
		before[1] += per_q[1];
		seq += n;
	}
	{
		struct vnet_rss back = { .sz = sizeof(back) };

		assert_int_equal(vnet_dev_rss(d, &back), 0);
		assert_int_equal(back.enabled, 1);
		assert_int_equal(back.table_len, 8);
		assert_memory_equal(back.table, tables[1], sizeof(tables[1]));
		assert_memory_equal(back.key, ms_key, 40);
	}
	/* A table naming a pair not opened never reaches the device. */
	r.table[3] = 2;
	assert_int_equal(vnet_dev_set_rss(d, &r), -1);
	assert_int_equal(errno, EINVAL);
	vnet_dev_close(d);
}

/* ---- coalescing ---------------------------------------------------------- */

struct sender {
	struct vnet_queue *q;
	const uint8_t *mac;
	uint64_t from, n;
	unsigned gap_us;
};

static void *send_spaced(void *arg)
{
	struct sender *s = arg;

	/* The gap comes first: the receiver is asleep when the frame comes. */
	for (uint64_t i = 0; i < s->n; i++) {
		usleep(s->gap_us);
		send_frames(s->q, s->mac, s->from + i, 1);
	}
	return NULL;
}

/*
 * A receiver that sleeps on queue pair 0's RX eventfd after each batch,
 * as an interrupt-driven application does, while another thread sends n
 * frames on pair 1 that the table steers to pair 0. Returns the
 * interrupts the device sent for pair 0 (its irqs counter).
 */
static uint64_t interrupted_receive(struct vnet_dev *d, const struct vnet_rss *r,
				    const uint8_t *mac, uint64_t from, uint64_t n, unsigned gap_us)
{
	struct vnet_queue *q = vnet_dev_queue(d, 0);
	struct sender s = { .q = vnet_dev_queue(d, 1), .mac = mac, .from = from, .n = n,
			    .gap_us = gap_us };
	struct pollfd p = { .fd = vnet_queue_fd(q, VNET_WAIT_RX), .events = POLLIN };
	struct vn_sim_stats st0, st1;
	uint8_t want[FRAME_LEN];
	struct vnet_buf b[32];
	uint64_t got = 0, v;
	pthread_t t;

	assert_true(p.fd >= 0);
	assert_int_equal(vn_sim_stats("loopback", 0, &st0), 0);
	assert_int_equal(pthread_create(&t, NULL, send_spaced, &s), 0);
	while (got < n) {
		int k;

		if (vnet_queue_arm(q, VNET_WAIT_RX) == 0) {
			assert_int_equal(poll(&p, 1, 5000), 1);
			assert_int_equal(read(p.fd, &v, sizeof(v)), (ssize_t)sizeof(v));
		}
		vnet_queue_disarm(q, VNET_WAIT_RX);
		while ((k = vnet_rx_peek(q, b, 32)) > 0) {
			for (int i = 0; i < k; i++, got++) {
				build(want, mac, from + got); /* one queue: strictly in order */
				assert_int_equal(b[i].len, FRAME_LEN);
				assert_memory_equal(b[i].data, want, FRAME_LEN);
				assert_int_equal(expected_queue(r, from + got), 0);
			}
			assert_int_equal(vnet_rx_release(q, b, (unsigned)k), 0);
		}
		assert_true(k == 0);
	}
	pthread_join(t, NULL);
	assert_int_equal(got, n);
	assert_int_equal(vn_sim_stats("loopback", 0, &st1), 0);
	return st1.qp[0].irqs - st0.qp[0].irqs;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_coalescing_cuts_interrupts(void **state)
{
	struct vnet_rss r = { .sz = sizeof(r), .key_len = 40, .table_len = 1 };
	struct vnet_coalesce c = { .sz = sizeof(c) }, back = { .sz = sizeof(back) };
	struct vnet_dev_info info;
	const uint64_t n = 60;
	uint64_t plain, coal, t0, seq, held;
	struct vnet_dev *d;

	(void)state;
	open_dev(&d, &info);
	/* Every frame to pair 0 (table[0]; all hash types off: unclassified). */
	memcpy(r.key, ms_key, 40);
	assert_int_equal(vnet_dev_set_rss(d, &r), 0);
	assert_int_equal(vnet_dev_coalesce(d, &back), 0);
	assert_int_equal(back.rx_usecs | back.rx_max_frames | back.tx_usecs | back.tx_max_frames, 0);

	plain = interrupted_receive(d, &r, info.mac, 0, n, 1000);
	c.rx_max_frames = 16;
	c.rx_usecs = 200000; /* 200 ms: the count decides, but for the tail */
	assert_int_equal(vnet_dev_set_coalesce(d, &c), 0);
	assert_int_equal(vnet_dev_coalesce(d, &back), 0);
	assert_int_equal(back.rx_max_frames, 16);
	assert_int_equal(back.rx_usecs, 200000);
	coal = interrupted_receive(d, &r, info.mac, n, n, 1000);
	print_message("interrupts for %llu frames: %llu without coalescing, %llu with rx-frames 16\n",
		      (unsigned long long)n, (unsigned long long)plain, (unsigned long long)coal);
	/* 60 frames: 3 interrupts by count, 1 by time for the last 12; fewer
	 * when a busy machine delays the receiver so that it finds frames
	 * waiting as it re-arms (it then needs no interrupt at all). */
	assert_true(coal >= 1 && coal <= 6);
	assert_true(plain > 2 * coal);

	/* A lone frame (sent 20 ms in): its interrupt waits rx-usecs (50 ms),
	 * never for ever. */
	c.rx_max_frames = 64;
	c.rx_usecs = 50000;
	assert_int_equal(vnet_dev_set_coalesce(d, &c), 0);
	seq = 2 * n;
	t0 = mono_ms();
	assert_int_equal(interrupted_receive(d, &r, info.mac, seq, 1, 20000), 1);
	held = mono_ms() - t0;
	assert_true(held >= 65);

	/* Back to no coalescing: one interrupt, not held (the time is only
	 * printed: a loaded machine stretches it, and the bound above is the
	 * device's, which load can only lengthen). */
	c.rx_max_frames = c.rx_usecs = 0;
	assert_int_equal(vnet_dev_set_coalesce(d, &c), 0);
	t0 = mono_ms();
	assert_int_equal(interrupted_receive(d, &r, info.mac, seq + 1, 1, 20000), 1);
	print_message("a lone frame sent at 20 ms woke the receiver after %llu ms with rx-usecs "
		      "50000, after %llu ms without\n", (unsigned long long)held,
		      (unsigned long long)(mono_ms() - t0));
	vnet_dev_close(d);
}

/* Not offered (the default sim:), or not a virtio port: EOPNOTSUPP and why. */
static void test_refused_without_feature(void **state)
{
	struct vnet_rss r = { .sz = sizeof(r) };
	struct vnet_coalesce c = { .sz = sizeof(c) };
	struct vnet_dev *d;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:loopback?queues=2&ctl=off", NULL, &d), 0);
	assert_int_equal(vnet_dev_rss(d, &r), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_non_null(strstr(vnet_last_error(), "VIRTIO_NET_F_RSS"));
	assert_int_equal(vnet_dev_set_coalesce(d, &c), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_non_null(strstr(vnet_last_error(), "VIRTIO_NET_F_NOTF_COAL"));
	/* Bad arguments are EINVAL before anything else. */
	assert_int_equal(vnet_dev_set_rss(d, NULL), -1);
	assert_int_equal(errno, EINVAL);
	r.sz = 4;
	assert_int_equal(vnet_dev_set_rss(d, &r), -1);
	assert_int_equal(errno, EINVAL);
	vnet_dev_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rss_steers_by_table),
		cmocka_unit_test(test_coalescing_cuts_interrupts),
		cmocka_unit_test(test_refused_without_feature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
