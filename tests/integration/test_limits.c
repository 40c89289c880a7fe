/* SPDX-License-Identifier: MIT */
/*
 * Resource limits at open: with RLIMIT_NOFILE set so that the open runs
 * out of descriptors at each of its steps in turn, vnet_dev_open() fails
 * with EMFILE and an error naming the limit, and leaves no descriptor
 * behind; with enough, the device opens and works.
 *
 * The device is vnet-simd's, in a process of its own: the in-process sim:
 * device shares the application's limit, so its server side runs out too
 * and hangs up, which the client can only report as such.
 *
 * A full RX ring: a receiver that pauses while a device (sim:source, and
 * sim:loopback fed by a sender that keeps going) fills its ring loses
 * nothing silently and does not stall: once it reads again every frame
 * comes in order, the sender having been held back (vnet_tx_reserve()
 * returning 0), and the device's drop counters say 0. With rxfull=drop the
 * device drops instead, as a NIC does, and counts every frame it dropped.
 *
 * A memory budget (sim mem=) refused at open with ENOMEM, saying so; a
 * program killed mid-traffic leaves the device (vnet-simd's, or a sim:
 * name) to the next open, which resets it and works.
 *
 * Runs the built tools/vnet-simd and tools/vnetperf (VNET_SIMD and
 * VNETPERF override the paths).
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "frames.h"
#include "sim/sim.h" /* VN_SIM_SOURCE_SEQ_OFF: where sim:source puts its sequence */
#include "vnet/vnet.h"
#include "xstat.h"

#define STEPS_MAX 64 /* more descriptors than one device takes */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One more than the highest open descriptor, and how many are open. */
static int fds_open(int *top)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, self;

	assert_non_null(dir);
	self = dirfd(dir);
	*top = 0;
	while ((e = readdir(dir))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == self)
			continue;
		n++;
		if (fd + 1 > *top)
			*top = fd + 1;
	}
	closedir(dir);
	return n;
}

struct simd {
	char dir[32], path[64], uri[80];
	pid_t pid;
};

/* vnet-simd --mode loopback in a temporary directory; returns once it listens. */
static void simd_start(struct simd *s)
{
	const char *bin = getenv("VNET_SIMD") ? getenv("VNET_SIMD") : "tools/vnet-simd";
	struct pollfd p;
	char line[256];
	int out[2];

	strcpy(s->dir, "/tmp/vnet-limits-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/s", s->dir);
	snprintf(s->uri, sizeof(s->uri), "vfio-user:%s", s->path);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		execl(bin, bin, "--socket", s->path, "--mode", "loopback", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	/* It prints "vnet-simd: loopback device 0 on PATH" once it listens. */
	p = (struct pollfd){ .fd = out[0], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_true(read(out[0], line, sizeof(line)) > 0);
	close(out[0]);
}

static void simd_stop(struct simd *s)
{
	int st;

	kill(s->pid, SIGTERM);
	assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
	unlink(s->path);
	rmdir(s->dir);
}

/* Fill the holes below top (descriptors are allocated lowest first), so
 * that the limit top + n leaves exactly n; returns how many were opened
 * into fill[]. */
static int fill_holes(int top, int *fill, int cap)
{
	int n = 0;

	for (;;) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		if (fd >= top || n == cap) {
			close(fd);
			return n;
		}
		fill[n++] = fd;
	}
}

/* One frame out and back through the open device. */
static void loop_one(struct vnet_dev *d)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_queue *q = vnet_dev_queue(d, 0);
	struct vnet_wait w = { .q = q, .events = VNET_WAIT_RX };
	struct vnet_buf b;
	size_t len = tf_len(5, 60, 200);

	assert_non_null(q);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	assert_int_equal(vnet_tx_reserve(q, &b, 1), 1);
	tf_fill(b.data, len, info.mac, 5);
	b.len = (uint32_t)len;
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	for (int i = 0; i < 50 && vnet_rx_peek(q, &b, 1) == 0; i++)
		vnet_wait(&w, 1, 100);
	assert_true(tf_check(b.data, b.len, info.mac, 5, len));
	assert_int_equal(vnet_rx_release(q, &b, 1), 0);
}

static void test_nofile(void **state)
{
	struct rlimit old, rl;
	struct vnet_dev *d = NULL;
	int fill[256], n_fill, top, base, step, rc = -1, err;
	char msg[512];
	struct simd sd;

	(void)state;
	simd_start(&sd);
	fds_open(&top);
	n_fill = fill_holes(top, fill, 256);
	base = fds_open(&top);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	for (step = 0; step < STEPS_MAX && rc; step++) {
		int top_after;

		rl = old;
		rl.rlim_cur = (rlim_t)(top + step);
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			/* valgrind keeps descriptors of its own at the top and
			 * refuses a lower limit. */
			fprintf(stderr, "skipped: cannot set RLIMIT_NOFILE to %d: %s\n", top + step,
				strerror(errno));
			while (n_fill)
				close(fill[--n_fill]);
			simd_stop(&sd);
			skip();
		}
		rc = vnet_dev_open(sd.uri, NULL, &d);
		err = errno;
		snprintf(msg, sizeof(msg), "%s", vnet_last_error());
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
		if (!rc)
			break;
		if (err != EMFILE || !strstr(msg, "RLIMIT_NOFILE"))
			fail_msg("%d descriptors allowed: errno %d, \"%s\"", top + step, err, msg);
		if (fds_open(&top_after) != base)
			fail_msg("%d descriptors allowed: the failed open left %d behind (\"%s\")",
				 top + step, fds_open(&top_after) - base, msg);
	}
	assert_int_equal(rc, 0);
	assert_true(step > 0); /* it did fail for want of descriptors first */
	loop_one(d);
	vnet_dev_close(d);
	assert_int_equal(fds_open(&top), base);
	while (n_fill)
		close(fill[--n_fill]);
	simd_stop(&sd);
}

/* ---- a full RX ring -------------------------------------------------------- */

#define PAUSE_MS 200

static void pause_ms(unsigned ms)
{
	struct timespec ts = { 0, (long)ms * 1000000 };

	nanosleep(&ts, NULL);
}

/* Take n frames; each is checked by check(seq expected, frame, len). */
static void take(struct vnet_queue *q, uint64_t *next, uint64_t n,
		 bool (*check)(const struct vnet_buf *b, uint64_t seq, const uint8_t *mac),
		 const uint8_t *mac)
{
	struct vnet_wait w = { .q = q, .events = VNET_WAIT_RX };
	struct vnet_buf b[32];
	uint64_t end = *next + n;

	while (*next < end) {
		int got = vnet_rx_peek(q, b, 32);

		assert_true(got >= 0);
		if (!got) {
			assert_true(vnet_wait(&w, 1, 2000) >= 0);
			continue;
		}
		for (int i = 0; i < got; i++, (*next)++)
			if (!check(&b[i], *next, mac))
				fail_msg("frame %llu: wrong bytes, length or order",
					 (unsigned long long)*next);
		assert_int_equal(vnet_rx_release(q, b, (unsigned)got), 0);
	}
}

static bool source_frame(const struct vnet_buf *b, uint64_t seq, const uint8_t *mac)
{
	uint64_t got;

	(void)mac;
	memcpy(&got, (const uint8_t *)b->data + VN_SIM_SOURCE_SEQ_OFF, 8);
	return b->len >= VN_SIM_SOURCE_SEQ_OFF + 8 && le64toh(got) == seq;
}

static bool test_frame(const struct vnet_buf *b, uint64_t seq, const uint8_t *mac)
{
	return tf_check(b->data, b->len, mac, seq, tf_len(seq, 60, 200));
}

static void test_ring_full_source(void **state)
{
	struct vnet_dev *d;
	uint64_t next = 0;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:source", NULL, &d), 0);
	take(vnet_dev_queue(d, 0), &next, 1000, source_frame, NULL);
	pause_ms(PAUSE_MS); /* the ring fills; the source must wait, not drop */
	take(vnet_dev_queue(d, 0), &next, 5000, source_frame, NULL);
	assert_int_equal(xstat(d, "dev_rx_queue_0_no_buffer"), 0);
	vnet_dev_close(d);
}

/* Send numbered frames for ms while nobody reads; returns whether the
 * sender was ever held back (vnet_tx_reserve() 0). */
static bool send_for(struct vnet_queue *q, const uint8_t *mac, unsigned ms, uint64_t *sent)
{
	uint64_t end = now_ms() + ms;
	struct vnet_buf b[32];
	bool held = false;

	while (now_ms() < end) {
		int got = vnet_tx_reserve(q, b, 32);

		assert_true(got >= 0);
		held |= got == 0;
		for (int i = 0; i < got; i++, (*sent)++) {
			size_t len = tf_len(*sent, 60, 200);

			tf_fill(b[i].data, len, mac, *sent);
			b[i].len = (uint32_t)len;
		}
		if (got)
			assert_int_equal(vnet_tx_submit(q, b, (unsigned)got), got);
	}
	return held;
}

/* The receiver pauses while the sender keeps going: the sender is held
 * back, and afterwards everything it sent arrives. */
static void test_ring_full_loopback(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *d;
	struct vnet_queue *q;
	uint64_t sent = 0, next = 0;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:loopback", NULL, &d), 0);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	q = vnet_dev_queue(d, 0);
	/* both rings filled: the sender was held back */
	assert_true(send_for(q, info.mac, PAUSE_MS, &sent));
	assert_true(sent >= 256);   /* at least a ring's worth went out */
	take(q, &next, sent, test_frame, info.mac);
	assert_int_equal(xstat(d, "dev_rx_queue_0_no_buffer"), 0);
	assert_int_equal(xstat(d, "dev_tx_queue_0_dropped"), 0);
	vnet_dev_close(d);
}

/*
 * rxfull=drop: the device drops what finds no RX buffer, as a NIC does.
 * The receiver pauses; the sender keeps going; every frame sent is
 * received (in order, intact) or counted in dev_rx_queue_0_no_buffer; and
 * once the receiver reads again nothing is stuck: new frames all arrive.
 */
static void test_ring_full_drops(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_wait w;
	struct vnet_buf b[32];
	struct vnet_dev *d;
	struct vnet_queue *q;
	uint64_t sent = 0, got = 0, next = 0, gaps = 0, end;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:loopback?rxfull=drop", NULL, &d), 0);
	assert_int_equal(vnet_dev_info(d, &info), 0);
	q = vnet_dev_queue(d, 0);
	(void)send_for(q, info.mac, PAUSE_MS, &sent); /* held only while the device catches up */
	assert_true(sent > 2 * 256);                  /* more than both rings hold */
	end = now_ms() + 2000;
	/* Take what came; the gaps are the drops. */
	while (now_ms() < end && got + xstat(d, "dev_rx_queue_0_no_buffer") < sent) {
		int n = vnet_rx_peek(q, b, 32);

		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			uint64_t seq;

			memcpy(&seq, (const uint8_t *)b[i].data + 14, 8);
			assert_true(seq >= next && seq < sent);
			assert_true(test_frame(&b[i], seq, info.mac));
			gaps += seq - next;
			next = seq + 1;
		}
		got += (unsigned)n;
		if (n)
			assert_int_equal(vnet_rx_release(q, b, (unsigned)n), 0);
		w = (struct vnet_wait){ .q = q, .events = VNET_WAIT_RX };
		if (!n)
			assert_true(vnet_wait(&w, 1, 100) >= 0);
	}
	assert_true(xstat(d, "dev_rx_queue_0_no_buffer") > 0);
	assert_int_equal(got + xstat(d, "dev_rx_queue_0_no_buffer"), sent);
	assert_int_equal(gaps + (sent - next), xstat(d, "dev_rx_queue_0_no_buffer"));
	/* No stall: with the receiver back, the next frames all arrive. */
	next = sent;
	for (uint64_t i = 0; i < 200; i += 8) {
		uint64_t from = sent;

		assert_int_equal(vnet_tx_reserve(q, b, 8), 8);
		for (int k = 0; k < 8; k++, sent++) {
			tf_fill(b[k].data, tf_len(sent, 60, 200), info.mac, sent);
			b[k].len = (uint32_t)tf_len(sent, 60, 200);
		}
		assert_int_equal(vnet_tx_submit(q, b, 8), 8);
		take(q, &next, sent - from, test_frame, info.mac);
	}
	vnet_dev_close(d);
}

/* A memory budget (mem=): an open that needs more fails with ENOMEM and an
 * error that says so; within it, the device works. */
static void test_mem_budget(void **state)
{
	struct vnet_dev *d;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:loopback?mem=64k", NULL, &d), -1);
	assert_int_equal(errno, ENOMEM);
	assert_non_null(strstr(vnet_last_error(), "memory budget"));
	assert_int_equal(vnet_dev_open("sim:loopback?mem=1m&qsize=1024&mtu=9000", NULL, &d), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(vnet_dev_open("sim:loopback?mem=4g", NULL, &d), 0);
	loop_one(d);
	vnet_dev_close(d);
	assert_int_equal(vnet_dev_open("sim:loopback?mem=16m", NULL, &d), 0);
	loop_one(d);
	vnet_dev_close(d);
	assert_int_equal(vnet_dev_open("sim:loopback?mem=1t", NULL, &d), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_dev_open("sim:loopback?mem=12x", NULL, &d), -1);
	assert_int_equal(errno, EINVAL);
}

/* A program using the device is killed mid-traffic (SIGKILL: no close, no
 * reset from it): the next open of the same device resets it and works.
 * For vnet-simd, the same socket; for sim:, the same control-plane name,
 * whose stale socket the next open reclaims. */
static void kill_then_open(const char *uri)
{
	const char *perf = getenv("VNETPERF") ? getenv("VNETPERF") : "tools/vnetperf";
	struct vnet_dev *d;
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execl(perf, perf, "-d", "20", "-i", "0", uri, "loop", (char *)NULL);
		_exit(127);
	}
	pause_ms(PAUSE_MS); /* mid-traffic */
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(vnet_dev_open(uri, NULL, &d), 0);
	for (int i = 0; i < 3; i++)
		loop_one(d);
	vnet_dev_close(d);
}

static void test_killed_simd(void **state)
{
	struct simd s;

	(void)state;
	simd_start(&s);
	kill_then_open(s.uri);
	simd_stop(&s);
}

static void test_killed_sim(void **state)
{
	char uri[64];

	(void)state;
	snprintf(uri, sizeof(uri), "sim:loopback?name=kill%d", (int)getpid() % 100000);
	kill_then_open(uri);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nofile),
		cmocka_unit_test(test_ring_full_source),
		cmocka_unit_test(test_ring_full_loopback),
		cmocka_unit_test(test_ring_full_drops),
		cmocka_unit_test(test_mem_budget),
		cmocka_unit_test(test_killed_simd),
		cmocka_unit_test(test_killed_sim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
