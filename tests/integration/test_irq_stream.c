/* SPDX-License-Identifier: MIT */
/*
 * No interrupt-driven wake-up is lost over many frames with random pauses,
 * under every interrupt plan (IRQ_MODES, irq_test.h), on small rings, and
 * through the burst API with and without VIRTIO_RING_F_EVENT_IDX.
 */
#include "irq_test.h"

/* ---- no lost wake-up --------------------------------------------------- */

struct stream {
	const char *uri;
	uint64_t n;
	bool pauses;
	int rc;
	/* Closing the device drops frames still in flight: the sender keeps
	 * it open until the receiver has them all. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool received;
};

/* Sender: batches of 1..32 frames, with random pauses so the receiver
 * keeps falling asleep and waking up. */
static void *sender(void *p)
{
	struct stream *st = p;
	uint8_t (*f)[256] = malloc(32 * sizeof(*f));
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_msg m[32];
	unsigned seed = 1;
	int fd = -1;

	st->rc = -1;
	if (!f)
		return NULL;
	fd = vnet_socket(st->uri, 0, 0);
	/* A lost TX wake-up stalls the receiver (which fails) instead of
	 * hanging the test. */
	if (fd < 0 || vnet_socket_info(fd, &info) < 0 ||
	    vnet_socket_set(fd, VNET_SO_SNDTIMEO_MS, 10000) < 0)
		goto out;
	for (uint64_t seq = 0; seq < st->n;) {
		unsigned b = 1 + rand_r(&seed) % 32;
		int r;

		b = (unsigned)VN_TEST_MIN(b, st->n - seq);
		for (unsigned i = 0; i < b; i++) {
			m[i].buf = f[i];
			m[i].len = tf_len(seq + i, 60, 256);
			tf_fill(f[i], m[i].len, info.mac, seq + i);
		}
		r = vnet_sendmmsg(fd, m, b, 0);
		if (r <= 0) {
			print_error("sendmmsg: %d errno %d after %llu frames\n", r, errno,
				    (unsigned long long)seq);
			goto out;
		}
		seq += (unsigned)r;
		if (st->pauses && rand_r(&seed) % 64 == 0)
			sleep_us(rand_r(&seed) % 300);
	}
	st->rc = 0;
out:
	pthread_mutex_lock(&st->lock);
	while (!st->received)
		pthread_cond_wait(&st->cond, &st->lock);
	pthread_mutex_unlock(&st->lock);
	if (fd >= 0)
		vnet_close(fd);
	free(f);
	return NULL;
}

/* A blocking receive that took longer than this slept through its wake-up
 * (the sender never pauses for more than 300 us) and was only rescued when
 * its timeout made it look at the ring again. */
#define STALL_NS 3000000000ull

/* Receive n frames with blocking calls and check every byte and the order. */
static int receive_all(int fd, uint64_t n)
{
	uint8_t (*f)[256] = malloc(32 * sizeof(*f)), mac[6];
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_msg m[32];
	uint64_t got = 0;
	int rc = -1;

	if (!f || vnet_socket_info(fd, &info) < 0)
		goto out;
	while (got < n) {
		uint64_t t0 = now_ns(CLOCK_MONOTONIC), dt;
		int r;

		for (unsigned i = 0; i < 32; i++)
			m[i] = (struct vnet_msg){ .buf = f[i], .len = 256 };
		r = vnet_recvmmsg(fd, m, 32, 0);
		if (r <= 0) {
			print_error("recvmmsg: %d errno %d after %llu frames\n", r, errno,
				    (unsigned long long)got);
			goto out;
		}
		dt = now_ns(CLOCK_MONOTONIC) - t0;
		if (dt > STALL_NS) {
			print_error("recvmmsg slept %.1f s after %llu frames: a lost wake-up\n",
				    dt / 1e9, (unsigned long long)got);
			goto out;
		}
		/* The sender's MAC, which tf_fill() puts in both address fields. */
		if (got == 0)
			memcpy(mac, f[0] + 6, 6);
		for (int i = 0; i < r; i++, got++)
			if (!tf_check(f[i], m[i].msg_len, mac, got, tf_len(got, 60, 256))) {
				print_error("frame %llu: wrong\n", (unsigned long long)got);
				goto out;
			}
	}
	rc = 0;
out:
	free(f);
	return rc;
}

/* n frames over the wire NAME-MODE of m, with extra URI options opts. */
static void run_stream(const struct irq_mode *m, const char *name, const char *opts, uint64_t n)
{
	char wire[32], rx_uri[URI_MAX], tx_uri[URI_MAX];
	struct stream st = { .uri = tx_uri, .n = n, .pauses = true,
			     .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct vn_sim_stats s0, s1;
	pthread_t t;
	int rx, rc;

	rx = vnet_socket(mode_uri(rx_uri, m, name, 1, opts), 0, 0);
	mode_uri(tx_uri, m, name, 0, opts);
	name = wire_of(wire, m, name);
	assert_true(rx >= 0);
	/* A lost wake-up fails the test instead of hanging it. */
	assert_int_equal(vnet_socket_set(rx, VNET_SO_RCVTIMEO_MS, 10000), 0);
	assert_int_equal(pthread_create(&t, NULL, sender, &st), 0);
	rc = receive_all(rx, n);
	if (rc && !vn_sim_stats(name, 0, &s0) && !vn_sim_stats(name, 1, &s1))
		print_error("device: end 0 sent %llu, end 1 delivered %llu, irqs %llu\n",
			    (unsigned long long)s0.qp[0].tx_frames,
			    (unsigned long long)s1.qp[0].rx_frames,
			    (unsigned long long)s1.qp[0].irqs);
	if (!rc) {
		check_irq_mode(m, name, 1);
		check_direct(m, rx);
	}
	pthread_mutex_lock(&st.lock);
	st.received = true;
	pthread_cond_signal(&st.cond);
	pthread_mutex_unlock(&st.lock);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rc, 0);
	assert_int_equal(st.rc, 0);
	vnet_close(rx);
}

/* 10^6 frames through blocking calls on both sides, the sender pausing at
 * random: every frame arrives, in order, and nobody sleeps through one. */
static void test_no_lost_wakeup(void **state)
{
	run_stream(*state, "stream", "", tf_scale(1000000));
}

/* The same with small rings, where senders wait for TX interrupts often. */
static void test_no_lost_wakeup_small_rings(void **state)
{
	run_stream(*state, "small", "qsize=8", tf_scale(20000));
}

/* ---- the burst API without EVENT_IDX ----------------------------------- */

struct burst_rx {
	struct vnet_queue *q;
	uint64_t n, got;
	int rc;
};

static void *burst_receiver(void *p)
{
	struct burst_rx *a = p;
	struct vnet_buf b[64];

	a->rc = -1;
	while (a->got < a->n) {
		struct vnet_wait w = { .q = a->q, .events = VNET_WAIT_RX };
		int r = vnet_rx_peek(a->q, b, 64);

		if (r < 0)
			return NULL;
		if (r == 0) {
			if (vnet_wait(&w, 1, 5000) < 0 && errno != EINTR)
				return NULL;
			continue;
		}
		for (int i = 0; i < r; i++, a->got++) {
			const uint8_t *f = b[i].data;
			uint64_t seq;

			memcpy(&seq, f + 14, 8);
			if (seq != a->got || b[i].len != tf_len(seq, 60, 256))
				return NULL;
		}
		if (vnet_rx_release(a->q, b, (unsigned)r) < 0)
			return NULL;
	}
	a->rc = 0;
	return NULL;
}

/* Without EVENT_IDX the driver switches interrupts with
 * VRING_AVAIL_F_NO_INTERRUPT; wake-ups must be just as reliable. */
static void test_no_lost_wakeup_flags(void **state)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct vnet_dev *d0, *d1;
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct burst_rx a = { .n = tf_scale(200000) };
	struct vnet_queue *q0;
	unsigned seed = 7;
	pthread_t t;

	(void)state;
	o.features_mask = 1ull << VIRTIO_RING_F_EVENT_IDX;
	assert_int_equal(vnet_dev_open("sim:pair=flags/1", &o, &d1), 0);
	assert_int_equal(vnet_dev_open("sim:pair=flags/0", &o, &d0), 0);
	assert_int_equal(vnet_dev_info(d0, &info), 0);
	assert_int_equal(info.features & (1ull << VIRTIO_RING_F_EVENT_IDX), 0);
	a.q = vnet_dev_queue(d1, 0);
	q0 = vnet_dev_queue(d0, 0);
	assert_int_equal(pthread_create(&t, NULL, burst_receiver, &a), 0);
	for (uint64_t seq = 0; seq < a.n;) {
		struct vnet_wait w = { .q = q0, .events = VNET_WAIT_TX };
		struct vnet_buf b[32];
		unsigned want = 1 + rand_r(&seed) % 32;
		int r = vnet_tx_reserve(q0, b, (unsigned)VN_TEST_MIN(want, a.n - seq));

		assert_true(r >= 0);
		if (r == 0) {
			assert_true(vnet_wait(&w, 1, 5000) >= 0);
			continue;
		}
		for (int i = 0; i < r; i++) {
			b[i].len = (uint32_t)tf_len(seq + (unsigned)i, 60, 256);
			tf_fill(b[i].data, b[i].len, info.mac, seq + (unsigned)i);
		}
		assert_int_equal(vnet_tx_submit(q0, b, (unsigned)r), r);
		seq += (unsigned)r;
		if (rand_r(&seed) % 64 == 0)
			sleep_us(rand_r(&seed) % 300);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.got, a.n);
	vnet_dev_close(d0);
	vnet_dev_close(d1);
}

#define IRQ_TESTS(m)                                                  \
	IRQ_TEST(test_no_lost_wakeup, m),                                \
	IRQ_TEST(test_no_lost_wakeup_small_rings, m)

int main(void)
{
	const struct CMUnitTest tests[] = {
		IRQ_MODES(IRQ_TESTS),
		cmocka_unit_test(test_no_lost_wakeup_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
