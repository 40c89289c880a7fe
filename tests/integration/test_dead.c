/* SPDX-License-Identifier: MIT */
/*
 * Dead and silent devices, in every wait mode: a receiver asleep (or
 * busy-polling) when its device goes away wakes with ENETDOWN within a
 * second, vnet_dev_event() says NEEDS_RESET, and the device closes and a
 * fresh one opens and works.
 *
 * How the device goes (struct death): vnet-simd killed with SIGKILL (the
 * vfio-user socket hangs up: the client's "gone" source fires), the
 * in-process simulator hanging up (fault=vanish), and NEEDS_RESET
 * (fault=needs_reset). How the application waits (struct waiter): blocking
 * vnet_recv() in interrupt mode and busy-polling (VNET_SO_BUSY_POLL_US),
 * vnet_poll(), vnet_wait() and a vnet_rx_peek() spin on the device API.
 * Every pair runs. Both devices give each queue a vector, so the sleepers
 * sleep on their queue's own eventfds (wait.c's direct path, checked):
 * the device's death must reach them there, not only in the event engine.
 *
 * A server that hangs (vnet-simd stopped) is noticed by the sleepers'
 * re-check, once the client's request timeout expires, even by a caller
 * looping on short vnet_wait() timeouts.
 *
 * Also: a device that stops interrupting (fault=drop_irq) still delivers
 * its frames within the sleepers' re-check bound (VN_WAIT_RECHECK_MS), and
 * the event engine's once sources report a hang-up once, never input.
 *
 * vnetperf against a device that fails mid-run exits 1, still prints its
 * counters, and accounts for every frame it sent (received, lost or in
 * flight); -n and -d both bound a run.
 *
 * Runs the built tools/vnet-simd and tools/vnetperf (VNET_SIMD and
 * VNETPERF override the paths).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "frames.h"
#include "port.h"
#include "vnet/socket.h"
#include "vnet/vnet.h"

#define FRAME_MAX 1514
#define WAKE_BOUND_NS 1000000000ull /* a sleeper notices within a second */
#define GIVE_UP_MS 5000             /* a waiter that never notices fails, not hangs */
#define VN_TEST_MIN(a, b) ((a) < (b) ? (a) : (b))

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- vnet-simd in a child process --------------------------------------- */

struct simd {
	char dir[32];
	char path[64];
	char uri[80];
	pid_t pid;
};

/* Start vnet-simd --mode mode on s->path; returns once it listens. */
static void simd_start(struct simd *s, const char *mode)
{
	const char *bin = getenv("VNET_SIMD") ? getenv("VNET_SIMD") : "tools/vnet-simd";
	struct pollfd p;
	char line[256];
	size_t got = 0;
	int out[2];

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		execl(bin, bin, "--socket", s->path, "--mode", mode, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	/* It prints "vnet-simd: MODE device 0 on PATH" once it listens. */
	p = (struct pollfd){ .fd = out[0], .events = POLLIN };
	while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
		ssize_t n;

		assert_int_equal(poll(&p, 1, GIVE_UP_MS), 1);
		n = read(out[0], line + got, sizeof(line) - 1 - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(out[0]);
}

static void simd_kill(struct simd *s)
{
	int st;

	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
	s->pid = 0;
}

static void simd_new(struct simd *s)
{
	strcpy(s->dir, "/tmp/vnet-dead-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/s", s->dir);
	snprintf(s->uri, sizeof(s->uri), "vfio-user:%s", s->path);
	s->pid = 0;
}

static void simd_free(struct simd *s)
{
	simd_kill(s);
	unlink(s->path);
	rmdir(s->dir);
}

/* ---- how the device dies ------------------------------------------------ */

struct death {
	const char *name;
	const char *uri;   /* in-process sim: the device; NULL: vnet-simd */
	bool by_frame;     /* the fault fires once a frame went through the device */
};

static const struct death death_killed = { "vnet-simd killed", NULL, false };
/* sink: the frame that triggers the fault is consumed, never received. */
static const struct death death_vanish = { "server hangs up", "sim:sink?fault=vanish@1", true };
static const struct death death_reset = { "needs_reset", "sim:sink?fault=needs_reset@1", true };

/* ---- how the application waits ------------------------------------------ */

struct wait_arg {
	int fd;               /* socket waiters */
	struct vnet_queue *q; /* device waiters */
	int rc, err;
	uint64_t woke_ns;
};

static void *wait_recv(void *p)
{
	struct wait_arg *a = p;
	uint8_t buf[FRAME_MAX];

	a->rc = (int)vnet_recv(a->fd, buf, sizeof(buf), 0);
	a->err = errno;
	a->woke_ns = now_ns();
	return NULL;
}

/* vnet_poll() until it reports something: POLLERR, then vnet_recv() says why. */
static void *wait_poll(void *p)
{
	struct wait_arg *a = p;
	struct vnet_pollfd pf = { .fd = a->fd, .events = POLLIN };
	uint8_t buf[FRAME_MAX];

	a->rc = vnet_poll(&pf, 1, GIVE_UP_MS);
	a->woke_ns = now_ns();
	if (a->rc == 1 && pf.revents == POLLERR)
		a->rc = (int)vnet_recv(a->fd, buf, sizeof(buf), MSG_DONTWAIT);
	else
		a->rc = -2;
	a->err = errno;
	return NULL;
}

/* vnet_wait() until it reports something, then look at the queue. */
static void *wait_dev(void *p)
{
	struct wait_arg *a = p;
	struct vnet_wait w = { .q = a->q, .events = VNET_WAIT_RX };
	struct vnet_buf b[4];
	uint64_t end = now_ns() + GIVE_UP_MS * 1000000ull;
	int n = 0;

	while (n == 0 && now_ns() < end)
		n = vnet_wait(&w, 1, GIVE_UP_MS);
	a->rc = n == 1 && w.revents == VNET_WAIT_ERR ? vnet_rx_peek(a->q, b, 4) : -2;
	a->err = errno;
	a->woke_ns = now_ns();
	return NULL;
}

/* vnet_rx_peek() in a loop, as a busy-polling application does. */
static void *spin_dev(void *p)
{
	struct wait_arg *a = p;
	struct vnet_buf b[4];
	uint64_t end = now_ns() + GIVE_UP_MS * 1000000ull;

	do
		a->rc = vnet_rx_peek(a->q, b, 4);
	while (a->rc == 0 && now_ns() < end);
	a->err = errno;
	a->woke_ns = now_ns();
	return NULL;
}

struct waiter {
	const char *name;
	void *(*fn)(void *);
	bool socket;
	int busy_us;  /* VNET_SO_BUSY_POLL_US of the socket (-1: the learned budget) */
	bool direct;  /* sleeps on the queue's own eventfds (wait.c's direct path) */
};

static const struct waiter waiters[] = {
	{ "vnet_recv, interrupts", wait_recv, true, 0, true },
	{ "vnet_recv, learned busy-poll", wait_recv, true, -1, true },
	{ "vnet_recv, busy-polling", wait_recv, true, 10 * 1000 * 1000, false },
	{ "vnet_poll", wait_poll, true, 0, true },
	{ "vnet_wait", wait_dev, false, 0, true },
	{ "vnet_rx_peek spin", spin_dev, false, 0, false },
};

/* ---- the device ends, as seen by each waiter ----------------------------- */

static void dev_send(struct vnet_queue *q, const uint8_t mac[6], uint64_t seq)
{
	struct vnet_buf b;
	size_t len = tf_len(seq, 60, 200);

	assert_int_equal(vnet_tx_reserve(q, &b, 1), 1);
	tf_fill(b.data, len, mac, seq);
	b.len = (uint32_t)len;
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
}

static void sock_send(int fd, const uint8_t mac[6], uint64_t seq)
{
	uint8_t f[FRAME_MAX];
	size_t len = tf_len(seq, 60, 200);

	tf_fill(f, len, mac, seq);
	assert_int_equal(vnet_send(fd, f, len, 0), (ssize_t)len);
}

/* The device reports NEEDS_RESET among its events. */
static void assert_needs_reset(struct vnet_dev *d)
{
	struct vnet_dev_event ev = { .sz = sizeof(ev) };

	while (vnet_dev_event(d, &ev) == 1)
		if (ev.type == VNET_EV_NEEDS_RESET)
			return;
	fail_msg("no VNET_EV_NEEDS_RESET queued");
}

/* A fresh device at uri works: one frame out and back (loopback). */
static void assert_works(const char *uri)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	uint8_t f[FRAME_MAX];
	int fd = vnet_socket(uri, 0, 0);
	size_t len = tf_len(42, 60, 200);

	assert_true(fd >= 0);
	assert_int_equal(vnet_socket_set(fd, VNET_SO_RCVTIMEO_MS, GIVE_UP_MS), 0);
	assert_int_equal(vnet_socket_info(fd, &info), 0);
	sock_send(fd, info.mac, 42);
	assert_int_equal(vnet_recv(fd, f, sizeof(f), 0), (ssize_t)len);
	assert_true(tf_check(f, len, info.mac, 42, len));
	vnet_close(fd);
}

static void run(const struct death *dth, const struct waiter *wt)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct wait_arg a = { .fd = -1 };
	struct vnet_dev *d = NULL;
	struct simd s = { .pid = 0 };
	const char *uri = dth->uri;
	uint64_t t0;
	pthread_t t;

	if (!uri) {
		simd_new(&s);
		simd_start(&s, "sink");
		uri = s.uri;
	}
	if (wt->socket) {
		a.fd = vnet_socket(uri, 0, 0);
		assert_true(a.fd >= 0);
		assert_int_equal(vnet_socket_set(a.fd, VNET_SO_RCVTIMEO_MS, GIVE_UP_MS), 0);
		assert_int_equal(vnet_socket_set(a.fd, VNET_SO_BUSY_POLL_US, wt->busy_us), 0);
		assert_int_equal(vnet_socket_info(a.fd, &info), 0);
	} else {
		assert_int_equal(vnet_dev_open(uri, NULL, &d), 0);
		a.q = vnet_dev_queue(d, 0);
		assert_non_null(a.q);
		assert_int_equal(vnet_dev_info(d, &info), 0);
	}
	assert_int_equal(pthread_create(&t, NULL, wt->fn, &a), 0);
	sleep_ms(100); /* asleep (or spinning) by now */
	t0 = now_ns();
	if (!dth->by_frame)
		simd_kill(&s);
	else if (wt->socket)
		sock_send(a.fd, info.mac, 1);
	else
		dev_send(a.q, info.mac, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (a.rc != -1 || a.err != ENETDOWN)
		fail_msg("%s, %s: got %d (%s), want -1 (ENETDOWN)", dth->name, wt->name, a.rc,
			 strerror(a.err));
	if (a.woke_ns - t0 > WAKE_BOUND_NS)
		fail_msg("%s, %s: woke after %llu ms", dth->name, wt->name,
			 (unsigned long long)((a.woke_ns - t0) / 1000000));
	/* Both devices have a vector per queue: sleepers sleep directly, and
	 * the device's death reaches them there. */
	if (wt->direct) {
		struct vnet_queue *q = wt->socket ? vnet_dev_queue(vnet_socket_dev(a.fd), 0) : a.q;

		struct pollfd pe;

		assert_non_null(q);
		if (!__atomic_load_n(&q->direct_sleeps, __ATOMIC_RELAXED))
			fail_msg("%s, %s: never slept on the direct path", dth->name, wt->name);
		/* What woke them: the device's err_fd, readable for good now. */
		pe = (struct pollfd){ .fd = q->err_fd, .events = POLLIN };
		assert_int_equal(poll(&pe, 1, 0), 1);
		printf("# %s, %s: woke after %.3f ms\n", dth->name, wt->name, (a.woke_ns - t0) / 1e6);
	}
	if (wt->socket) {
		info.sz = sizeof(info);
		assert_int_equal(vnet_socket_info(a.fd, &info), 0);
		assert_int_equal(info.broken, 1);
		assert_int_equal(vnet_close(a.fd), 0);
	} else {
		assert_int_equal(vnet_dev_info(d, &info), 0);
		assert_int_equal(info.broken, 1);
		assert_needs_reset(d);
		vnet_dev_close(d);
	}
	/* A fresh server (the same socket path for vnet-simd) works. */
	if (dth->uri) {
		assert_works("sim:loopback");
	} else {
		simd_start(&s, "loopback");
		assert_works(s.uri);
		simd_free(&s);
	}
}

static void run_all(const struct death *dth)
{
	for (size_t i = 0; i < sizeof(waiters) / sizeof(waiters[0]); i++)
		run(dth, &waiters[i]);
}

static void test_simd_killed(void **state)
{
	(void)state;
	run_all(&death_killed);
}

static void test_server_hangs_up(void **state)
{
	(void)state;
	run_all(&death_vanish);
}

static void test_needs_reset(void **state)
{
	(void)state;
	run_all(&death_reset);
}

/* ---- a server that hangs ------------------------------------------------- */

#define HUNG_BOUND_NS 13000000000ull /* the client's 10 s request timeout, and some */

/* vnet_wait() with short timeouts, as an event loop calls it, until the
 * device is reported broken. */
static void *wait_short(void *p)
{
	struct wait_arg *a = p;
	struct vnet_wait w = { .q = a->q, .events = VNET_WAIT_RX };
	struct vnet_buf b[4];
	uint64_t end = now_ns() + 2 * HUNG_BOUND_NS;

	a->rc = -2;
	while (now_ns() < end)
		if (vnet_wait(&w, 1, 100) == 1 && w.revents == VNET_WAIT_ERR) {
			a->rc = vnet_rx_peek(a->q, b, 4);
			break;
		}
	a->err = errno;
	a->woke_ns = now_ns();
	return NULL;
}

/* vnet-simd stopped (SIGSTOP): the socket stays open, nothing answers. The
 * sleepers' re-check asks the device for its status, which times out, and
 * the device is broken; close is quick then. */
static void test_simd_hangs(void **state)
{
	struct wait_arg a = { .fd = -1 };
	struct vnet_dev *d;
	struct simd s;
	uint64_t t0;
	pthread_t t;

	(void)state;
	simd_new(&s);
	simd_start(&s, "loopback");
	assert_int_equal(vnet_dev_open(s.uri, NULL, &d), 0);
	a.q = vnet_dev_queue(d, 0);
	assert_int_equal(pthread_create(&t, NULL, wait_short, &a), 0);
	sleep_ms(100);
	t0 = now_ns();
	assert_int_equal(kill(s.pid, SIGSTOP), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (a.rc != -1 || a.err != ENETDOWN)
		fail_msg("hung server: got %d (%s), want -1 (ENETDOWN)", a.rc, strerror(a.err));
	assert_true(a.woke_ns - t0 < HUNG_BOUND_NS);
	assert_needs_reset(d);
	t0 = now_ns();
	vnet_dev_close(d);
	assert_true(now_ns() - t0 < WAKE_BOUND_NS);
	kill(s.pid, SIGCONT);
	simd_free(&s);
}

/* A control command waits for vnet-simd's answer when the server dies:
 * the command fails with ENETDOWN soon after, not at its 1 s timeout. The
 * soak found this: run from a vnetconf request, the wait held up the
 * engine thread, whose source would have heard the hang-up. So here the
 * command runs on the engine thread too (a once source's callback). */
struct ctrl_arg {
	struct vnet_dev *d;
	int rc, err; /* rc: -2 until done (atomic) */
	uint64_t done_ns;
};

static void set_promisc(void *p)
{
	struct ctrl_arg *a = p;
	int rc = vnet_dev_set_promisc(a->d, 0);

	a->err = errno;
	a->done_ns = now_ns();
	__atomic_store_n(&a->rc, rc, __ATOMIC_RELEASE);
}

/* kill(SIGSTOP) returns before every thread of pid has stopped. */
static void wait_stopped(pid_t pid)
{
	char path[64], st[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < GIVE_UP_MS; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(st, 1, sizeof(st) - 1, f) : 0;
		const char *paren;

		if (f)
			fclose(f);
		st[n] = '\0';
		paren = strrchr(st, ')');
		if (paren && paren[1] == ' ' && paren[2] == 'T')
			return;
		sleep_ms(1);
	}
	fail_msg("vnet-simd %d did not stop", (int)pid);
}

static void test_ctrl_server_dies(void **state)
{
	struct ctrl_arg a = { .rc = -2 };
	struct simd s;
	uint64_t t0;
	uint32_t id;
	int sv[2];

	(void)state;
	simd_new(&s);
	simd_start(&s, "loopback");
	assert_int_equal(vnet_dev_open(s.uri, NULL, &a.d), 0);
	/* Stopped, it takes the command and never answers; then it dies. */
	assert_int_equal(kill(s.pid, SIGSTOP), 0);
	wait_stopped(s.pid);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vn_ev_add_once(sv[0], POLLRDHUP, set_promisc, &a, &id), 0);
	close(sv[1]); /* the engine thread runs the command */
	sleep_ms(100);
	t0 = now_ns();
	simd_kill(&s);
	for (int i = 0; i < GIVE_UP_MS && __atomic_load_n(&a.rc, __ATOMIC_ACQUIRE) == -2; i++)
		sleep_ms(1);
	assert_int_equal(__atomic_load_n(&a.rc, __ATOMIC_ACQUIRE), -1);
	assert_int_equal(a.err, ENETDOWN);
	if (a.done_ns - t0 > 300000000ull)
		fail_msg("the command failed %.0f ms after the server died",
			 (double)(a.done_ns - t0) / 1e6);
	sleep_ms(100); /* the engine hears the hang-up too, and queues the event */
	assert_needs_reset(a.d);
	vn_ev_del(id);
	close(sv[0]);
	vnet_dev_close(a.d);
	simd_free(&s);
}

/* ---- a device that stops interrupting ------------------------------------ */

/* fault=drop_irq: no interrupt is ever raised. A receiver asleep in
 * vnet_recv() still gets each frame, after at most the re-check period
 * (and not at once: the interrupts really are lost). */
static void test_lost_interrupts(void **state)
{
	int fd = vnet_socket("sim:loopback?fault=drop_irq", 0, 0);
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct wait_arg a = { .fd = fd };
	uint64_t t0;
	pthread_t t;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(vnet_socket_set(fd, VNET_SO_RCVTIMEO_MS, GIVE_UP_MS), 0);
	assert_int_equal(vnet_socket_info(fd, &info), 0);
	for (uint64_t seq = 0; seq < 3; seq++) {
		assert_int_equal(pthread_create(&t, NULL, wait_recv, &a), 0);
		sleep_ms(20);
		t0 = now_ns();
		sock_send(fd, info.mac, seq);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(a.rc, (int)tf_len(seq, 60, 200));
		assert_true(a.woke_ns - t0 <= 2ull * VN_WAIT_RECHECK_MS * 1000000ull);
	}
	assert_int_equal(vnet_socket_info(fd, &info), 0);
	assert_int_equal(info.broken, 0);
	vnet_close(fd);
}

/* ---- vnetperf ------------------------------------------------------------- */

struct perf_run {
	char out[4096]; /* its standard output */
	int status;     /* exit status, -1 when it did not exit normally */
	uint64_t ns;    /* how long it ran */
};

static pid_t perf_spawn(const char *const *args, int *out_fd)
{
	const char *bin = getenv("VNETPERF") ? getenv("VNETPERF") : "tools/vnetperf";
	char *argv[16] = { (char *)bin };
	int out[2];
	pid_t pid;

	for (size_t i = 0; args[i]; i++) {
		assert_true(i + 2 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = (char *)args[i];
	}
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		execv(bin, argv);
		_exit(127);
	}
	close(out[1]);
	*out_fd = out[0];
	return pid;
}

/* Collect what vnetperf prints until it exits (it must within GIVE_UP_MS). */
static void perf_reap(pid_t pid, int fd, uint64_t t0, struct perf_run *r)
{
	uint64_t end = t0 + 2ull * GIVE_UP_MS * 1000000ull;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	int st;

	for (;;) {
		int left = (int)((end - VN_TEST_MIN(now_ns(), end)) / 1000000u);
		ssize_t n;

		if (poll(&p, 1, left) != 1) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			close(fd);
			fail_msg("vnetperf ran longer than %d ms", 2 * GIVE_UP_MS);
		}
		n = read(fd, r->out + got, sizeof(r->out) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r->out[got] = 0;
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->ns = now_ns() - t0;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void perf_run(const char *const *args, struct perf_run *r)
{
	uint64_t t0 = now_ns();
	int fd;
	pid_t pid = perf_spawn(args, &fd);

	perf_reap(pid, fd, t0, r);
}

/* A numeric field of vnetperf's JSON summary. */
static uint64_t json_u64(const struct perf_run *r, const char *key)
{
	char pat[64];
	const char *at;
	unsigned long long v = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = strstr(r->out, pat);
	if (!at || sscanf(at + strlen(pat), "%llu", &v) != 1)
		fail_msg("no %s in vnetperf's output: %s", key, r->out);
	return v;
}

/* Every frame sent is received, lost or in flight, and the failure shows. */
static void assert_failed_run(const struct perf_run *r)
{
	uint64_t tx = json_u64(r, "tx_frames");

	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->out, "\"failed\":true"));
	assert_true(tx > 0);
	assert_int_equal(tx, json_u64(r, "rx_frames") + json_u64(r, "lost") +
				     json_u64(r, "in_flight"));
}

/* The server hangs up mid-run: pingpong (sleeping on the interrupt, both
 * APIs) and loop end at once with status 1 and their counters. Pingpong
 * has one frame out at a time; loop at most its TX ring plus its RX ring
 * (256 each): sent but not yet taken by the device, and delivered but not
 * yet read (a slow receiver, as under ASan, lets RX fill). */
static void test_perf_device_fails(void **state)
{
	static const struct {
		const char *args[12];
		uint64_t max_in_flight;
	} runs[] = {
		{ { "-w", "irq", "-i", "0", "-j", "-d", "20", "sim:loopback?fault=vanish@2000",
		    "pingpong", NULL }, 1 },
		{ { "-a", "socket", "-w", "irq", "-i", "0", "-j", "-d", "20",
		    "sim:loopback?fault=vanish@2000", "pingpong", NULL }, 1 },
		{ { "-i", "0", "-j", "-d", "20", "sim:loopback?fault=vanish@20000", "loop", NULL },
		  2 * 256 },
	};
	struct perf_run r;

	(void)state;
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		perf_run(runs[i].args, &r);
		assert_failed_run(&r);
		assert_true(json_u64(&r, "in_flight") <= runs[i].max_in_flight);
		assert_true(r.ns < (uint64_t)GIVE_UP_MS * 1000000ull);
	}
}

/* The case: vnetperf -w irq pingpong against vnet-simd, which is
 * killed: vnetperf notices within a second and exits 1. */
static void test_perf_simd_killed(void **state)
{
	const char *args[] = { "-w", "irq", "-i", "0", "-j", "-d", "30", NULL, "pingpong", NULL };
	struct simd s;
	struct perf_run r;
	uint64_t t0, t_kill;
	pid_t pid;
	int fd;

	(void)state;
	simd_new(&s);
	simd_start(&s, "loopback");
	args[7] = s.uri;
	t0 = now_ns();
	pid = perf_spawn(args, &fd);
	sleep_ms(300);
	t_kill = now_ns();
	simd_kill(&s);
	perf_reap(pid, fd, t0, &r);
	simd_free(&s);
	assert_failed_run(&r);
	assert_true(json_u64(&r, "in_flight") <= 1);
	assert_true(t0 + r.ns - t_kill < WAKE_BOUND_NS);
}

/* -n and -d together: whichever comes first ends the run. */
static void test_perf_count_and_duration(void **state)
{
	const char *const by_time[] = { "-n", "1000000000000", "-d", "0.3", "-i", "0", "-j", NULL };
	const char *const by_count[] = { "-n", "1000", "-d", "30", "-i", "0", "-j", "pingpong",
					 NULL };
	struct perf_run r;

	(void)state;
	perf_run(by_time, &r);
	assert_int_equal(r.status, 0);
	assert_true(r.ns < 3000000000ull);
	assert_true(json_u64(&r, "tx_frames") < 1000000000000ull);
	perf_run(by_count, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_u64(&r, "tx_frames"), 1000);
	assert_int_equal(json_u64(&r, "rx_frames"), 1000);
	assert_true(r.ns < 20000000000ull);
}

/* ---- the engine's once sources --------------------------------------------- */

static void count(void *arg)
{
	(*(int *)arg)++;
}

/* A peer's data neither fires a POLLRDHUP source nor is taken from the
 * socket; the hang-up fires it exactly once. */
static void test_once_source(void **state)
{
	uint32_t id, seen = 0;
	int sv[2], calls = 0;
	char c = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vn_ev_add_once(sv[0], POLLRDHUP, count, &calls, &id), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(vn_ev_wait(&id, &seen, 1, vn_ev_now_ns() + 100000000ull), -ETIMEDOUT);
	assert_int_equal(read(sv[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	close(sv[1]);
	assert_int_equal(vn_ev_wait(&id, &seen, 1, vn_ev_now_ns() + 2000000000ull), 0);
	sleep_ms(50); /* a re-armed poll would fire again and again by now */
	vn_ev_seq(&id, &seen, 1);
	assert_int_equal(seen, 1);
	assert_int_equal(calls, 1);
	vn_ev_del(id);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once_source),
		cmocka_unit_test(test_lost_interrupts),
		cmocka_unit_test(test_needs_reset),
		cmocka_unit_test(test_server_hangs_up),
		cmocka_unit_test(test_simd_killed),
		cmocka_unit_test(test_simd_hangs),
		cmocka_unit_test(test_ctrl_server_dies),
		cmocka_unit_test(test_perf_device_fails),
		cmocka_unit_test(test_perf_simd_killed),
		cmocka_unit_test(test_perf_count_and_duration),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
