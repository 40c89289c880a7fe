/* SPDX-License-Identifier: MIT */
/*
 * The helpers both halves of test_preload_calls share (calls.h): opening a
 * TAP file, a frame echoed through a device, clocks, a delayed signal or
 * frame from a helper thread, and the per-test descriptor cleanup.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../integration/frames.h"
#include "calls.h"


int tap_open(const char *name, short flags)
{
	struct ifreq ifr = { .ifr_flags = flags };
	int fd = open("/dev/net/tun", O_RDWR);
	int e;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) == 0) {
		fd_note(fd);
		return fd;
	}
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

void dev_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	ok(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	assert_int_equal(ifr.ifr_hwaddr.sa_family, ARPHRD_ETHER);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
}

void tap_read_check(int fd, const uint8_t mac[6], uint64_t seq, size_t len)
{
	uint8_t g[MAX_FRAME];
	ssize_t n = read(fd, g, sizeof(g));

	assert_int_equal(n, (ssize_t)len);
	assert_true(tf_check(g, (size_t)n, mac, seq, len));
}

void tap_echo(int fd, const uint8_t mac[6], uint64_t seq, size_t len)
{
	uint8_t f[MAX_FRAME];

	tf_fill(f, len, mac, seq);
	assert_int_equal(write(fd, f, len), (ssize_t)len);
	tap_read_check(fd, mac, seq, len);
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct later_job {
	pthread_t thr, target;
	int sig, fd;
	uint64_t seq;
	size_t len;
	unsigned ms;
};
static struct later_job jobs[4];
static unsigned n_jobs;

static void *later_run(void *arg)
{
	struct later_job *j = arg;
	uint8_t mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[MAX_FRAME];

	usleep(j->ms * 1000);
	if (j->sig) {
		pthread_kill(j->target, j->sig);
	} else {
		tf_fill(f, j->len, mac, j->seq);
		if (write(j->fd, f, j->len) != (ssize_t)j->len)
			fprintf(stderr, "later: write: %s\n", strerror(errno));
	}
	return NULL;
}

void later(pthread_t t, int sig, int fd, uint64_t seq, size_t len, unsigned ms)
{
	struct later_job *j = &jobs[n_jobs++];

	*j = (struct later_job){ .target = t, .sig = sig, .fd = fd, .seq = seq, .len = len, .ms = ms };
	assert_int_equal(pthread_create(&j->thr, NULL, later_run, j), 0);
}

void later_join(void)
{
	while (n_jobs)
		pthread_join(jobs[--n_jobs].thr, NULL);
}

/* The descriptors tap_open() and pk_open_on() handed out during a test
 * (not the library's own, which a close would break: the shim does not
 * support closing its descriptors behind its back, as close_range does). */
static int test_fds[64];
static unsigned n_test_fds;

void fd_note(int fd)
{
	if (fd >= 0 && n_test_fds < sizeof(test_fds) / sizeof(test_fds[0]))
		test_fds[n_test_fds++] = fd;
}

int fd_baseline(void **state)
{
	n_test_fds = 0;
	return 0;
}

/* After a failed test its devices may still be attached: close them. After
 * a passing one every noted fd is closed already (EBADF here). */
int fd_cleanup(void **state)
{
	later_join();
	while (n_test_fds)
		close(test_fds[--n_test_fds]);
	return 0;
}
