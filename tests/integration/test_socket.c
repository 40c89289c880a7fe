/* SPDX-License-Identifier: MIT */
/*
 * The socket API end to end over the in-process simulated device: bytes,
 * lengths and order of every frame, the errno of every refusal, batching,
 * several queue pairs at once, and closing under a blocked caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "frames.h"
#include "vnet/socket.h"

#define MAX_FRAME (9000 + 18)

static void get_mac(int fd, uint8_t mac[6], unsigned *mtu)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };

	assert_int_equal(vnet_socket_info(fd, &info), 0);
	memcpy(mac, info.mac, 6);
	if (mtu)
		*mtu = info.mtu;
}

/*
 * Send n frames from seq0 in batches and check each one comes back intact
 * and in order. Returns 0, or -1 after printing what went wrong (callable
 * from any thread: it does not use cmocka's asserts).
 */
static int echo_frames(int fd, uint64_t seq0, uint64_t n, size_t min, size_t max)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	uint8_t (*tx)[MAX_FRAME] = malloc(2 * 32 * sizeof(*tx)), (*rx)[MAX_FRAME] = tx + 32;
	struct vnet_msg m[32];
	uint64_t sent = 0, got = 0;
	int rc = -1;

	if (!tx || vnet_socket_info(fd, &info) < 0)
		goto out;
	while (got < n) {
		unsigned b = (unsigned)(n - sent < 32 ? n - sent : 32);
		int r = 0;

		for (unsigned i = 0; i < b; i++) {
			m[i].buf = tx[i];
			m[i].len = tf_len(seq0 + sent + i, min, max);
			tf_fill(tx[i], m[i].len, info.mac, seq0 + sent + i);
		}
		if (b && (r = vnet_sendmmsg(fd, m, b, 0)) <= 0) {
			print_error("sendmmsg: %d errno %d\n", r, errno);
			goto out;
		}
		for (int i = 0; i < r; i++)
			if (m[i].msg_len != m[i].len)
				goto out;
		sent += (unsigned)r;
		for (unsigned i = 0; i < 32; i++) {
			m[i].buf = rx[i];
			m[i].len = MAX_FRAME;
		}
		r = vnet_recvmmsg(fd, m, 32, got < sent ? 0 : MSG_DONTWAIT);
		if (r < 0 && errno != EAGAIN) {
			print_error("recvmmsg: errno %d\n", errno);
			goto out;
		}
		for (int i = 0; i < r; i++, got++)
			if (m[i].flags || !tf_check(rx[i], m[i].msg_len, info.mac, seq0 + got,
						    tf_len(seq0 + got, min, max))) {
				print_error("frame %llu: wrong bytes (len %zu)\n",
					    (unsigned long long)(seq0 + got), m[i].msg_len);
				goto out;
			}
	}
	rc = 0;
out:
	free(tx);
	return rc;
}

static void test_frames_come_back_in_order(void **state)
{
	int fd = vnet_socket("sim:loopback", 0, 0);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(echo_frames(fd, 0, tf_scale(100000), 60, 1514), 0);
	assert_int_equal(vnet_close(fd), 0);
}

static void test_single_send_recv(void **state)
{
	uint8_t f[1514], g[1514], mac[6];
	int fd = vnet_socket("sim:loopback", 0, 0);

	(void)state;
	assert_true(fd >= 0);
	get_mac(fd, mac, NULL);
	for (uint64_t s = 0; s < 500; s++) {
		size_t len = tf_len(s, 14, 1514);

		tf_fill(f, len < TF_HDR ? TF_HDR : len, mac, s);
		assert_int_equal(vnet_send(fd, f, len, 0), (ssize_t)len);
		assert_int_equal(vnet_recv(fd, g, sizeof(g), 0), (ssize_t)len);
		assert_memory_equal(f, g, len);
	}
	vnet_close(fd);
}

static void test_refusals(void **state)
{
	uint8_t f[MAX_FRAME + 1] = { 0 };
	unsigned mtu;
	uint8_t mac[6];
	int fd = vnet_socket("sim:loopback", 0, 0), devnull;

	(void)state;
	assert_true(fd >= 0);
	get_mac(fd, mac, &mtu);
	/* Longest legal frame, then one byte more. */
	tf_fill(f, mtu + 18, mac, 1);
	assert_int_equal(vnet_send(fd, f, mtu + 18, 0), (ssize_t)(mtu + 18));
	assert_int_equal(vnet_recv(fd, f, sizeof(f), 0), (ssize_t)(mtu + 18));
	assert_int_equal(vnet_send(fd, f, mtu + 19, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(vnet_send(fd, f, 13, 0), -1);
	assert_int_equal(errno, EINVAL);
	/* Nothing waits. */
	assert_int_equal(vnet_recv(fd, f, sizeof(f), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(vnet_recv(fd, f, sizeof(f), MSG_OOB), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	/* A queue pair has one socket; a queue that does not exist. */
	assert_int_equal(vnet_socket("sim:loopback", 0, 0), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(vnet_socket("sim:loopback", 1, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_socket("sim:nonsense", 0, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_not_equal(vnet_last_error(), "");
	assert_int_equal(vnet_socket("sim:loopback", 0, 0x100), -1);
	assert_int_equal(errno, EINVAL);
	/* Descriptors that are not vnet sockets. */
	devnull = open("/dev/null", O_RDONLY);
	assert_int_equal(vnet_send(devnull, f, 60, 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(vnet_recv(-1, f, 60, 0), -1);
	assert_int_equal(errno, EBADF);
	close(devnull);
	assert_int_equal(vnet_close(fd), 0);
	assert_int_equal(vnet_close(fd), -1);
	assert_int_equal(errno, EBADF);
}

static void test_truncation(void **state)
{
	uint8_t f[200], g[100], mac[6];
	int fd = vnet_socket("sim:loopback", 0, VNET_SOCK_NONBLOCK);

	(void)state;
	assert_true(fd >= 0);
	get_mac(fd, mac, NULL);
	assert_int_equal(vnet_recv(fd, g, sizeof(g), 0), -1);
	assert_int_equal(errno, EAGAIN);
	for (int i = 0; i < 2; i++) {
		tf_fill(f, sizeof(f), mac, (uint64_t)i);
		assert_int_equal(vnet_send(fd, f, sizeof(f), 0), 200);
	}
	/* Poll until the device loops them back; the tail is discarded. */
	while (vnet_recv(fd, g, sizeof(g), 0) < 0)
		assert_int_equal(errno, EAGAIN);
	tf_fill(f, sizeof(f), mac, 0);
	assert_memory_equal(f, g, sizeof(g));
	while (vnet_recv(fd, g, sizeof(g), MSG_TRUNC) != 200)
		assert_int_equal(errno, EAGAIN);
	tf_fill(f, sizeof(f), mac, 1);
	assert_memory_equal(f, g, sizeof(g));
	vnet_close(fd);
}

static void test_jumbo_frames(void **state)
{
	int fd = vnet_socket("sim:loopback?mtu=9000", 0, 0);
	unsigned mtu;
	uint8_t mac[6];

	(void)state;
	assert_true(fd >= 0);
	get_mac(fd, mac, &mtu);
	assert_int_equal(mtu, 9000);
	assert_int_equal(echo_frames(fd, 0, tf_scale(20000), 60, 9014), 0);
	vnet_close(fd);
}

struct stream {
	unsigned queue;
	uint64_t n;
	int rc;
};

static void *stream_thread(void *arg)
{
	struct stream *s = arg;
	int fd = vnet_socket("sim:loopback?queues=2", s->queue, 0);

	/* Each queue carries its own sequence space. */
	s->rc = fd < 0 ? -1 : echo_frames(fd, s->queue * 1000000000ull, s->n, 60, 1514);
	if (fd >= 0)
		vnet_close(fd);
	return NULL;
}

static void test_two_queue_pairs_at_once(void **state)
{
	struct stream s[2] = { { 0, tf_scale(50000), -1 }, { 1, tf_scale(50000), -1 } };
	pthread_t t[2];

	(void)state;
	/* Both sockets share one device: whichever thread comes first opens it. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, stream_thread, &s[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].rc, 0);
	}
}

static void *blocked_recv(void *arg)
{
	uint8_t f[64];
	static int err;

	if (vnet_recv(*(int *)arg, f, sizeof(f), 0) < 0)
		err = errno;
	return &err;
}

static void test_close_wakes_blocked_receiver(void **state)
{
	int fd = vnet_socket("sim:loopback", 0, 0);
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	pthread_t t;
	void *ret;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(pthread_create(&t, NULL, blocked_recv, &fd), 0);
	nanosleep(&pause, NULL);
	assert_int_equal(vnet_close(fd), 0);
	pthread_join(t, &ret);
	assert_int_equal(*(int *)ret, EBADF);
}

/*
 * Closing the last device stops the event engine and opening one starts it
 * again: the application's own waits must not notice. (io_uring sent the
 * ring's teardown work to the thread that had set the ring up, whose next
 * epoll_wait() failed with EINTR although no signal came.)
 */
static void test_reopen_leaves_caller_waits_alone(void **state)
{
	(void)state;
	for (int i = 0; i < 10; i++) {
		struct epoll_event e = { .events = EPOLLIN };
		int pp[2], ep, fd;

		fd = vnet_socket("sim:loopback", 0, 0);
		assert_true(fd >= 0);
		assert_int_equal(vnet_close(fd), 0);
		fd = vnet_socket("sim:loopback", 0, 0);
		assert_true(fd >= 0);
		assert_int_equal(pipe(pp), 0);
		ep = epoll_create1(EPOLL_CLOEXEC);
		assert_true(ep >= 0);
		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &e), 0);
		/* Nothing is written to the pipe: a timeout, not an error. */
		assert_int_equal(epoll_wait(ep, &e, 1, 20), 0);
		close(ep);
		close(pp[0]);
		close(pp[1]);
		assert_int_equal(vnet_close(fd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_send_recv),
		cmocka_unit_test(test_frames_come_back_in_order),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_jumbo_frames),
		cmocka_unit_test(test_two_queue_pairs_at_once),
		cmocka_unit_test(test_close_wakes_blocked_receiver),
		cmocka_unit_test(test_reopen_leaves_caller_waits_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
