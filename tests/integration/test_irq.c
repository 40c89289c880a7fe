/* SPDX-License-Identifier: MIT */
/*
 * Interrupt-driven waiting over the in-process simulated device: blocked
 * receivers wake on the frame that arrives, sleep without CPU, return EINTR
 * and time out; the socket descriptor is readable exactly while frames wait
 * (poll, epoll, select); suppressed interrupts are not raised; NEEDS_RESET
 * reaches vnet_dev_event() at once; a port's observer hears each event as
 * it is queued; a one-queue wait's learned busy-poll budget decays once
 * traffic stops, and a set one is kept. With a vector per queue, blocking
 * calls sleep on the direct path (their queue's own eventfds, wait.c) and
 * cost no CPU while idle. That no wake-up is lost over long streams is
 * test_irq_stream.c's.
 *
 * The wake-up tests run once per interrupt plan, table-driven (IRQ_MODES,
 * irq_test.h): MSI-X with a vector per queue, with two vectors (queues
 * share one) and with one (configuration changes share it too: vectors=1),
 * and legacy INTx (sim:...?irq=intx, a device without MSI-X), each checking
 * in the device's counters that INTx was used or not.
 */
#include "irq_test.h"

/* ---- a blocked receiver ------------------------------------------------ */

struct rx_arg {
	int fd;
	uint8_t mac[6];
	ssize_t got;
	int err;
	uint64_t cpu_ns, woke_ns;
	uint8_t buf[FRAME_MAX];
};

static void *rx_one(void *p)
{
	struct rx_arg *a = p;
	uint64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);

	a->got = vnet_recv(a->fd, a->buf, sizeof(a->buf), 0);
	a->err = errno;
	a->woke_ns = now_ns(CLOCK_MONOTONIC);
	a->cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	return NULL;
}

/* A frame sent on the other end of a wire wakes a receiver asleep on this one. */
static void test_frame_wakes_sleeper(void **state)
{
	const struct irq_mode *m = *state;
	char u0[URI_MAX], u1[URI_MAX];
	int tx = vnet_socket(mode_uri(u0, m, "wake", 0, ""), 0, 0);
	int rx = vnet_socket(mode_uri(u1, m, "wake", 1, ""), 0, 0);
	struct rx_arg a = { .fd = rx };
	pthread_t t;
	uint64_t sent;

	assert_true(tx >= 0 && rx >= 0);
	get_mac(tx, a.mac);
	assert_int_equal(pthread_create(&t, NULL, rx_one, &a), 0);
	sleep_us(200000); /* long enough to be asleep */
	sent = now_ns(CLOCK_MONOTONIC);
	send_seq(tx, a.mac, 7);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.got, (ssize_t)tf_len(7, 60, 200));
	assert_true(tf_check(a.buf, (size_t)a.got, a.mac, 7, tf_len(7, 60, 200)));
	assert_true(a.woke_ns >= sent);
	/* 200 ms asleep: a spinning receiver would spend ~200 ms on the CPU.
	 * 10% leaves room for the first call's setup on a loaded machine; the
	 * strict 1% bound is test_idle_receiver_costs_nothing's, over 5 s. */
	assert_true(a.cpu_ns < 20000000);
	check_irq_mode(m, wire_of(u0, m, "wake"), 1);
	check_direct(m, rx);
	vnet_close(tx);
	vnet_close(rx);
}

/* Five seconds of silence: the receiver and the device thread stay idle. */
static void test_idle_receiver_costs_nothing(void **state)
{
	const struct irq_mode *m = *state;
	char u0[URI_MAX], u1[URI_MAX], wire[32];
	int rx = vnet_socket(mode_uri(u1, m, "idle", 1, ""), 0, 0);
	int tx = vnet_socket(mode_uri(u0, m, "idle", 0, ""), 0, 0);
	struct rx_arg a = { .fd = rx };
	struct vn_sim_stats st0, st1;
	uint64_t secs = getenv("VNET_TEST_QUICK") ? 1 : 5;
	pthread_t t;

	assert_true(tx >= 0 && rx >= 0);
	wire_of(wire, m, "idle");
	get_mac(tx, a.mac);
	assert_int_equal(vn_sim_stats(wire, 1, &st0), 0);
	assert_int_equal(pthread_create(&t, NULL, rx_one, &a), 0);
	sleep_us((unsigned)secs * 1000000u);
	assert_int_equal(vn_sim_stats(wire, 1, &st1), 0);
	send_seq(tx, a.mac, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(a.got > 0);
	printf("# idle %llu s: receiver %.3f ms CPU, device thread %.3f ms CPU\n",
	       (unsigned long long)secs, a.cpu_ns / 1e6, (st1.cpu_ns - st0.cpu_ns) / 1e6);
	/* Under 1% of the silence, for each thread. */
	assert_true(a.cpu_ns < secs * 10000000u);
	assert_true(st1.cpu_ns - st0.cpu_ns < secs * 10000000u);
	check_irq_mode(m, wire, 1);
	check_direct(m, rx);
	vnet_close(tx);
	vnet_close(rx);
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* A signal handler without SA_RESTART ends a blocking receive with EINTR. */
static void test_signal_interrupts(void **state)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	int rx = vnet_socket("sim:loopback", 0, 0);
	struct rx_arg a = { .fd = rx };
	pthread_t t;

	(void)state;
	assert_true(rx >= 0);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	assert_int_equal(pthread_create(&t, NULL, rx_one, &a), 0);
	sleep_us(100000);
	assert_int_equal(pthread_kill(t, SIGUSR1), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.got, -1);
	assert_int_equal(a.err, EINTR);
	/* The socket still works. */
	get_mac(rx, a.mac);
	send_seq(rx, a.mac, 3);
	assert_int_equal(vnet_recv(rx, a.buf, sizeof(a.buf), 0), (ssize_t)tf_len(3, 60, 200));
	sigaction(SIGUSR1, &old, NULL);
	vnet_close(rx);
}

static void test_timeouts_and_options(void **state)
{
	int rx = vnet_socket("sim:loopback", 0, 0), v = 0;
	uint8_t buf[64];
	uint64_t t0, dt;

	(void)state;
	assert_true(rx >= 0);
	assert_int_equal(vnet_socket_set(rx, VNET_SO_RCVTIMEO_MS, 100), 0);
	t0 = now_ns(CLOCK_MONOTONIC);
	assert_int_equal(vnet_recv(rx, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
	dt = now_ns(CLOCK_MONOTONIC) - t0;
	assert_true(dt >= 99000000 && dt < 1000000000);
	/* A busy-poll budget first polls, then sleeps, within the same timeout. */
	assert_int_equal(vnet_socket_set(rx, VNET_SO_BUSY_POLL_US, 20000), 0);
	t0 = now_ns(CLOCK_MONOTONIC);
	assert_int_equal(vnet_recv(rx, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_true(now_ns(CLOCK_MONOTONIC) - t0 >= 99000000);
	assert_int_equal(vnet_socket_get(rx, VNET_SO_BUSY_POLL_US, &v), 0);
	assert_int_equal(v, 20000);
	assert_int_equal(vnet_socket_get(rx, VNET_SO_RCVTIMEO_MS, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(vnet_socket_get(rx, VNET_SO_SNDTIMEO_MS, &v), 0);
	assert_int_equal(v, 0);
	/* Refusals. */
	assert_int_equal(vnet_socket_set(rx, VNET_SO_RCVTIMEO_MS, -1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_socket_set(rx, 99, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_socket_set(VNET_SOCK_ALL, VNET_SO_RCVTIMEO_MS, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_socket_set(12345, VNET_SO_RCVTIMEO_MS, 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(vnet_socket_set(VNET_SOCK_ALL, VNET_SO_BUSY_POLL_US, 5), 0);
	assert_int_equal(vnet_socket_get(VNET_SOCK_ALL, VNET_SO_BUSY_POLL_US, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(vnet_socket_set(VNET_SOCK_ALL, VNET_SO_BUSY_POLL_US, 0), 0);
	vnet_close(rx);
}

/* ---- readiness of the descriptor --------------------------------------- */

static void test_fd_readable_exactly_when_frames_wait(void **state)
{
	int tx = vnet_socket("sim:pair=ready/0", 0, 0), rx = vnet_socket("sim:pair=ready/1", 0, 0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	uint8_t mac[6], buf[FRAME_MAX];
	struct timeval tv = { .tv_sec = 2 };
	fd_set set;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	(void)state;
	assert_true(tx >= 0 && rx >= 0 && ep >= 0);
	get_mac(tx, mac);
	assert_false(readable(rx));
	ev.data.fd = rx;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, rx, &ev), 0);
	assert_int_equal(epoll_wait(ep, &out, 1, 0), 0);

	/* Three frames: readable (poll, epoll, select) until the third is taken. */
	for (uint64_t s = 0; s < 3; s++)
		send_seq(tx, mac, s);
	wait_delivered("ready", 1, 3);
	assert_int_equal(epoll_wait(ep, &out, 1, 2000), 1);
	assert_int_equal(out.data.fd, rx);
	FD_ZERO(&set);
	FD_SET(rx, &set);
	assert_int_equal(select(rx + 1, &set, NULL, NULL, &tv), 1);
	for (uint64_t s = 0; s < 3; s++) {
		assert_true(readable(rx));
		assert_int_equal(vnet_recv(rx, buf, sizeof(buf), MSG_DONTWAIT),
				 (ssize_t)tf_len(s, 60, 200));
		assert_true(tf_check(buf, tf_len(s, 60, 200), mac, s, tf_len(s, 60, 200)));
	}
	/* The last one was taken: not readable any more, everywhere. */
	assert_false(readable(rx));
	assert_int_equal(epoll_wait(ep, &out, 1, 0), 0);
	FD_ZERO(&set);
	FD_SET(rx, &set);
	tv = (struct timeval){ 0 };
	assert_int_equal(select(rx + 1, &set, NULL, NULL, &tv), 0);
	assert_int_equal(vnet_recv(rx, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);

	/* And readable again with the next frame, without any call in between. */
	send_seq(tx, mac, 9);
	assert_int_equal(epoll_wait(ep, &out, 1, 2000), 1);
	assert_int_equal(vnet_recv(rx, buf, sizeof(buf), 0), (ssize_t)tf_len(9, 60, 200));
	assert_false(readable(rx));
	close(ep);
	vnet_close(tx);
	vnet_close(rx);
}

/* vnet_poll() over sockets of two devices reports the one that is ready. */
static void test_vnet_poll_many(void **state)
{
	int a0 = vnet_socket("sim:pair=pa/0", 0, 0), a1 = vnet_socket("sim:pair=pa/1", 0, 0);
	int b0 = vnet_socket("sim:pair=pb/0", 0, 0), b1 = vnet_socket("sim:pair=pb/1", 0, 0);
	struct vnet_pollfd p[3] = {
		{ .fd = a1, .events = POLLIN }, { .fd = b1, .events = POLLIN },
		{ .fd = a0, .events = POLLOUT },
	};
	uint8_t mac[6], buf[FRAME_MAX];

	(void)state;
	assert_true(a0 >= 0 && a1 >= 0 && b0 >= 0 && b1 >= 0);
	get_mac(b0, mac);
	/* a0 can send, nothing else holds. */
	assert_int_equal(vnet_poll(p, 3, 0), 1);
	assert_int_equal(p[0].revents, 0);
	assert_int_equal(p[1].revents, 0);
	assert_int_equal(p[2].revents, POLLOUT);
	assert_int_equal(vnet_poll(p, 2, 100), 0);
	send_seq(b0, mac, 5);
	assert_int_equal(vnet_poll(p, 2, 2000), 1);
	assert_int_equal(p[0].revents, 0);
	assert_int_equal(p[1].revents, POLLIN);
	assert_int_equal(vnet_recv(b1, buf, sizeof(buf), MSG_DONTWAIT), (ssize_t)tf_len(5, 60, 200));
	/* A descriptor that is not a socket. */
	p[0].fd = 0;
	assert_int_equal(vnet_poll(p, 1, 0), 1);
	assert_int_equal(p[0].revents, POLLNVAL);
	vnet_close(a0);
	vnet_close(a1);
	vnet_close(b0);
	vnet_close(b1);
}

/* ---- busy-polling before sleeping ---------------------------------------- */

/* One ping on sim:loopback with the burst API, waited for with vnet_wait():
 * the frame comes back with its bytes. */
static void ping(struct vnet_queue *q, const uint8_t mac[6], uint64_t seq)
{
	struct vnet_wait w = { .q = q, .events = VNET_WAIT_RX };
	struct vnet_buf b;
	int r;

	assert_int_equal(vnet_tx_reserve(q, &b, 1), 1);
	b.len = (uint32_t)tf_len(seq, 60, 200);
	tf_fill(b.data, b.len, mac, seq);
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	while ((r = vnet_rx_peek(q, &b, 1)) == 0)
		assert_true(vnet_wait(&w, 1, 1000) >= 0);
	assert_int_equal(r, 1);
	assert_true(tf_check(b.data, b.len, mac, seq, tf_len(seq, 60, 200)));
	assert_int_equal(vnet_rx_release(q, &b, 1), 0);
}

/* CPU time of this thread over 2 s of 1 ms waits on q with nothing coming. */
static uint64_t idle_cpu(struct vnet_queue *q)
{
	uint64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID), t0 = now_ns(CLOCK_MONOTONIC);

	while (now_ns(CLOCK_MONOTONIC) - t0 < 2000000000ull) {
		struct vnet_wait w = { .q = q, .events = VNET_WAIT_RX };

		assert_int_equal(vnet_wait(&w, 1, 1), 0);
	}
	return now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
}

/*
 * After request-response traffic (which teaches the queue a busy-poll
 * budget when its round trips are short), a receiver looping on 1 ms waits
 * with nothing coming stops spinning: its CPU over 2 s is within 2.5% of
 * the same loop's with busy-polling off (each wait's system calls; the
 * margin is for a loaded machine), where a budget that kept its up to
 * 50 us would add 5%; and the learned budget is back to 0.
 */
static void test_busy_poll_decays(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *d;
	struct vnet_queue *q;
	uint32_t learned = 0;
	uint64_t adaptive, off;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:loopback", NULL, &d), 0);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	q = vnet_dev_queue(d, 0);
	for (uint64_t seq = 0; seq < 5000; seq++) {
		ping(q, info.mac, seq);
		learned = VN_TEST_MAX(learned, q->spin[0].ns);
	}
	/* The traffic was waited for on the direct path. */
	assert_true(q->direct_sleeps > 0);
	assert_true(learned <= 50000);
	adaptive = idle_cpu(q);
	assert_int_equal(q->spin[0].ns, 0);
	assert_int_equal(vnet_queue_busy_poll(q, 0), 0);
	off = idle_cpu(q);
	printf("# largest budget learned during the ping-pong %u ns; then idle, 2 s of 1 ms "
	       "waits: %.3f ms CPU (busy-poll off: %.3f ms)\n", learned, adaptive / 1e6, off / 1e6);
	assert_true(adaptive < off + 50000000u);
	vnet_dev_close(d);
}

/* vnet_queue_busy_poll() takes -1 (learned), 0 (never) and up to 1 s, and
 * a set budget is not learned over. */
static void test_busy_poll_setting(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *d;
	struct vnet_queue *q;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:loopback", NULL, &d), 0);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	q = vnet_dev_queue(d, 0);
	assert_int_equal(vnet_queue_busy_poll(NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_queue_busy_poll(q, -2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_queue_busy_poll(q, 1000001), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_queue_busy_poll(q, 1000000), 0);
	assert_int_equal(vnet_queue_busy_poll(q, 0), 0);
	for (uint64_t seq = 0; seq < 1000; seq++)
		ping(q, info.mac, seq);
	assert_int_equal(q->spin[0].ns, 0);
	assert_int_equal(q->spin[0].quick, 0);
	assert_int_equal(vnet_queue_busy_poll(q, -1), 0);
	vnet_dev_close(d);
}

/* ---- suppression -------------------------------------------------------- */

/* While the driver polls (notifications off), the device raises no used
 * buffer interrupts; armed, it raises the one that wakes the sleeper. */
static void test_suppressed_interrupts_are_not_raised(void **state)
{
	struct vnet_dev *d;
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vn_sim_stats st0, st1;
	struct vnet_queue *q;
	struct vnet_buf b[64];
	uint64_t got = 0, sent = 0;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:loopback", NULL, &d), 0);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	q = vnet_dev_queue(d, 0);
	assert_int_equal(vnet_queue_disarm(q, VNET_WAIT_RX | VNET_WAIT_TX), 0);
	assert_int_equal(vn_sim_stats("loopback", 0, &st0), 0);
	/* Poll only: send 2000 frames one by one and take them back. */
	for (long spins = 0; got < 2000 && spins < 100000000; spins++) {
		int r = sent < 2000 ? vnet_tx_reserve(q, b, 1) : 0;

		assert_true(r >= 0);
		if (r == 1) {
			b[0].len = 60;
			tf_fill(b[0].data, 60, info.mac, sent);
			assert_int_equal(vnet_tx_submit(q, b, 1), 1);
			sent++;
		}
		r = vnet_rx_peek(q, b, 64);
		assert_true(r >= 0);
		got += (unsigned)r;
		if (r)
			assert_int_equal(vnet_rx_release(q, b, (unsigned)r), 0);
	}
	assert_int_equal(got, 2000);
	assert_int_equal(vn_sim_stats("loopback", 0, &st1), 0);
	assert_int_equal(st1.qp[0].irqs, st0.qp[0].irqs);

	/* Armed and asleep: the next frame interrupts once and wakes us. */
	{
		struct vnet_wait w = { .q = q, .events = VNET_WAIT_RX };

		assert_int_equal(vnet_queue_arm(q, VNET_WAIT_RX), 0);
		assert_int_equal(vnet_tx_reserve(q, b, 1), 1);
		b[0].len = 60;
		tf_fill(b[0].data, 60, info.mac, 1);
		assert_int_equal(vnet_tx_submit(q, b, 1), 1);
		assert_int_equal(vnet_wait(&w, 1, 2000), 1);
		assert_int_equal(w.revents, VNET_WAIT_RX);
		assert_int_equal(vn_sim_stats("loopback", 0, &st1), 0);
		assert_true(st1.qp[0].irqs >= st0.qp[0].irqs + 1);
	}
	vnet_dev_close(d);
}

/* ---- configuration interrupts ------------------------------------------ */

/* NEEDS_RESET marks the device broken at once and is reported as an event;
 * a blocked receiver wakes with ENETDOWN. */
static void test_needs_reset_event(void **state)
{
	/* sink: sent frames vanish, so the receiver can only wake for the fault,
	 * which fires once the first frame went through the device. */
	int fd = vnet_socket("sim:sink?fault=needs_reset@1", 0, 0);
	struct rx_arg a = { .fd = fd };
	struct vnet_dev_event ev = { .sz = sizeof(ev) };
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *d;
	pthread_t t;

	(void)state;
	assert_true(fd >= 0);
	get_mac(fd, a.mac);
	assert_int_equal(pthread_create(&t, NULL, rx_one, &a), 0);
	sleep_us(50000);
	send_seq(fd, a.mac, 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.got, -1);
	assert_int_equal(a.err, ENETDOWN);
	assert_int_equal(vnet_socket_info(fd, &info), 0);
	assert_int_equal(info.broken, 1);
	vnet_close(fd);

	/* The same through the device API: the event is queued. */
	assert_int_equal(vnet_dev_open("sim:loopback?fault=needs_reset", NULL, &d), 0);
	for (int i = 0; i < 200 && vnet_dev_event(d, &ev) == 0; i++)
		sleep_us(10000);
	assert_int_equal(ev.type, VNET_EV_NEEDS_RESET);
	assert_int_equal(vnet_dev_event(d, &ev), 0);
	assert_true(vnet_dev_event_fd(d) >= 0);
	info.sz = sizeof(info);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	assert_int_equal(info.broken, 1);
	vnet_dev_close(d);
}

/* The link going down mid-traffic (a configuration interrupt) reaches
 * vnet_dev_event() and vnet_dev_info(), and does not break the device. */
static void test_link_down_event(void **state)
{
	const struct irq_mode *m = *state;
	struct vnet_dev_event ev = { .sz = sizeof(ev) };
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *d;
	struct vnet_queue *q;
	struct vnet_buf b[32];
	char u[URI_MAX];
	int got = 0, n;

	assert_int_equal(vnet_dev_open(mode_uri(u, m, "loopback", -1, "fault=link_down@10"), NULL, &d),
			 0);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	assert_int_equal(info.link_up, 1);
	assert_int_equal(vnet_dev_event(d, &ev), 0);
	q = vnet_dev_queue(d, 0);
	assert_non_null(q);
	n = vnet_tx_reserve(q, b, 20);
	assert_int_equal(n, 20);
	for (int i = 0; i < n; i++) {
		tf_fill(b[i].data, 60, info.mac, (uint64_t)i);
		b[i].len = 60;
	}
	assert_int_equal(vnet_tx_submit(q, b, (unsigned)n), n);
	for (int i = 0; i < 200 && (got = vnet_dev_event(d, &ev)) == 0; i++)
		sleep_us(10000);
	assert_int_equal(got, 1);
	assert_int_equal(ev.type, VNET_EV_LINK_DOWN);
	assert_int_equal(vnet_dev_event(d, &ev), 0);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	assert_int_equal(info.link_up, 0);
	assert_int_equal(info.broken, 0);
	check_irq_mode(m, "loopback", 0);
	vnet_dev_close(d);
}

/* What an observer (port.h, the control server's hook) heard. */
struct heard {
	int type[8];
	unsigned n; /* atomic: the engine thread adds link events */
};

static void hear(void *arg, int type)
{
	struct heard *h = arg;
	unsigned i = __atomic_load_n(&h->n, __ATOMIC_RELAXED);

	if (i < 8) {
		h->type[i] = type;
		__atomic_store_n(&h->n, i + 1, __ATOMIC_RELEASE);
	}
}

/* The port's observer hears every event as it is queued, from the caller's
 * thread (a setting) and from the engine's (the link going down). */
static void test_observer(void **state)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct vn_set set = { .kind = VN_SET_PROMISC, .val = 0 };
	struct heard h = { .n = 0 };
	struct vn_port_observer obs = { .fn = hear, .arg = &h };
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_queue *q;
	struct vnet_buf b[20];
	struct vn_port *p;
	struct vn_uri u;
	int type, n;

	(void)state;
	assert_int_equal(vn_uri_parse("sim:loopback?fault=link_down@10", &u), 0);
	assert_int_equal(vn_virtio_port_ops.open(&u, &o, &p), 0);
	__atomic_store_n(&p->observer, &obs, __ATOMIC_RELEASE);
	assert_int_equal(p->ops->set(p, &set), 0);
	assert_int_equal(__atomic_load_n(&h.n, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(h.type[0], VNET_EV_SETTINGS);

	p->ops->info(p, &info);
	q = p->ops->queue(p, 0);
	n = p->ops->tx_reserve(q, b, 20);
	assert_int_equal(n, 20);
	for (int i = 0; i < n; i++) {
		tf_fill(b[i].data, 60, info.mac, (uint64_t)i);
		b[i].len = 60;
	}
	assert_int_equal(p->ops->tx_submit(q, b, (unsigned)n), n);
	for (int i = 0; i < 200 && __atomic_load_n(&h.n, __ATOMIC_ACQUIRE) < 2; i++)
		sleep_us(10000);
	assert_int_equal(__atomic_load_n(&h.n, __ATOMIC_ACQUIRE), 2);
	assert_int_equal(h.type[1], VNET_EV_LINK_DOWN);
	/* and both are queued for vnet_dev_event(), in the same order */
	assert_int_equal(p->ops->event(p, &type), 1);
	assert_int_equal(type, VNET_EV_SETTINGS);
	assert_int_equal(p->ops->event(p, &type), 1);
	assert_int_equal(type, VNET_EV_LINK_DOWN);
	__atomic_store_n(&p->observer, NULL, __ATOMIC_RELEASE);
	p->ops->close(p);
}

#define IRQ_TESTS(m)                                                  \
	IRQ_TEST(test_frame_wakes_sleeper, m),                           \
	IRQ_TEST(test_link_down_event, m),                               \
	IRQ_TEST(test_idle_receiver_costs_nothing, m)

int main(void)
{
	const struct CMUnitTest tests[] = {
		IRQ_MODES(IRQ_TESTS),
		cmocka_unit_test(test_signal_interrupts),
		cmocka_unit_test(test_timeouts_and_options),
		cmocka_unit_test(test_fd_readable_exactly_when_frames_wait),
		cmocka_unit_test(test_vnet_poll_many),
		cmocka_unit_test(test_suppressed_interrupts_are_not_raised),
		cmocka_unit_test(test_needs_reset_event),
		cmocka_unit_test(test_observer),
		cmocka_unit_test(test_busy_poll_decays),
		cmocka_unit_test(test_busy_poll_setting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
