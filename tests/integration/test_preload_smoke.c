/* SPDX-License-Identifier: MIT */
/*
 * Smoke test of libvnet-preload.so: a program that runs itself again under
 * LD_PRELOAD and moves frames through a TAP fd and an AF_PACKET socket over
 * sim:loopback. It links libvnet only to ask, before that, whether device
 * URIs take the name= option the shim adds (it comes with the control
 * server); the calls under test are all libc's. The full interception test
 * of every call is the shimtest branch's tests/preload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vnet/vnet.h"

#define CONFIG "tap0=sim:loopback,eth9=sim:loopback?queues=2,mq0=sim:loopback?queues=2"
#define IFINDEX_TAP0 0x7fff0001
#define IFINDEX_ETH9 0x7fff0002

/* A 60-byte broadcast frame of EtherType type, payload bytes seed + i. */
static void frame(unsigned char *f, uint16_t type, unsigned char seed)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x07", 6);
	f[12] = (unsigned char)(type >> 8);
	f[13] = (unsigned char)type;
	for (int i = 14; i < 60; i++)
		f[i] = (unsigned char)(seed + i);
}

static int tap_open(const char *name, int flags)
{
	struct ifreq ifr = { .ifr_flags = (short)flags };
	int fd = open("/dev/net/tun", O_RDWR);

	assert_true(fd >= 0);
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_true(p.revents & POLLIN);
}

/* TAP with IFF_NO_PI: the frame comes back byte for byte; poll says so;
 * O_NONBLOCK is the shim's; a dup reads the same queue. */
static void test_tap(void **state)
{
	unsigned char f[60], b[2048];
	int fd = tap_open("tap0", IFF_TAP | IFF_NO_PI), d, fl;

	assert_true(fd >= 0);
	frame(f, 0x88b5, 1);
	assert_int_equal(write(fd, f, sizeof(f)), sizeof(f));
	wait_readable(fd);
	assert_int_equal(read(fd, b, sizeof(b)), sizeof(f));
	assert_memory_equal(b, f, sizeof(f));

	fl = fcntl(fd, F_GETFL);
	assert_false(fl & O_NONBLOCK);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(read(fd, b, sizeof(b)), -1);
	assert_int_equal(errno, EAGAIN);

	/* A short buffer truncates; the rest of the frame is gone. */
	d = dup(fd);
	assert_true(d >= 0);
	assert_true(fcntl(d, F_GETFL) & O_NONBLOCK); /* shared, as a file description's */
	assert_int_equal(close(fd), 0);
	assert_int_equal(write(d, f, sizeof(f)), sizeof(f));
	wait_readable(d);
	assert_int_equal(read(d, b, 20), 20);
	assert_memory_equal(b, f, 20);
	assert_int_equal(read(d, b, sizeof(b)), -1);
	assert_int_equal(errno, EAGAIN);
	/* Frames shorter than an Ethernet header are refused, as by tun. */
	assert_int_equal(write(d, f, 13), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(close(d), 0);
}

/* Without IFF_NO_PI and with IFF_VNET_HDR: tun_pi, then a zero
 * virtio_net_hdr, before each frame; writev takes the same shape. */
static void test_tap_headers(void **state)
{
	unsigned char f[60], b[2048], pre[4 + 10] = { 0 };
	struct iovec v[2] = { { pre, sizeof(pre) }, { f, sizeof(f) } };
	struct tun_pi pi;
	int fd = tap_open("tap0", IFF_TAP | IFF_VNET_HDR), sz;

	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, TUNGETVNETHDRSZ, &sz), 0);
	assert_int_equal(sz, 10);
	frame(f, 0x0800, 9);
	assert_int_equal(writev(fd, v, 2), sizeof(pre) + sizeof(f));
	wait_readable(fd);
	assert_int_equal(read(fd, b, sizeof(b)), sizeof(pre) + sizeof(f));
	memcpy(&pi, b, sizeof(pi));
	assert_int_equal(pi.flags, 0);
	assert_int_equal(ntohs(pi.proto), 0x0800);
	assert_memory_equal(b + 4, (unsigned char[10]){ 0 }, 10);
	assert_memory_equal(b + 14, f, sizeof(f));
	/* A header asking for an offload: not there yet. */
	pre[4] = 1; /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	assert_int_equal(writev(fd, v, 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(close(fd), 0);
}

/* The tun errnos for a mapped name; interface ioctls on a socket. */
static void test_tap_errors(void **state)
{
	struct ifreq ifr = { 0 };
	int fd = tap_open("tap0", IFF_TAP | IFF_NO_PI), s;

	assert_true(fd >= 0);
	assert_int_equal(tap_open("tap0", IFF_TUN | IFF_NO_PI), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tap_open("tap0", IFF_TAP), -1); /* attached, not multi-queue */
	assert_int_equal(errno, EBUSY);
	strcpy(ifr.ifr_name, "tap0");
	ifr.ifr_flags = IFF_TAP;
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), -1);
	assert_int_equal(errno, EEXIST);

	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "tap0");
	assert_int_equal(ioctl(s, SIOCGIFINDEX, &ifr), 0);
	assert_int_equal(ifr.ifr_ifindex, IFINDEX_TAP0);
	assert_int_equal(ioctl(s, SIOCGIFMTU, &ifr), 0);
	assert_int_equal(ifr.ifr_mtu, 1500);
	assert_int_equal(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	assert_int_equal(ifr.ifr_hwaddr.sa_family, 1 /* ARPHRD_ETHER */);
	assert_int_equal(if_nametoindex("tap0"), IFINDEX_TAP0);
	assert_int_equal(close(fd), 0);
	/* Nothing attached: the device is not open. */
	assert_int_equal(ioctl(s, SIOCGIFMTU, &ifr), -1);
	assert_int_equal(errno, ENODEV);
	assert_int_equal(ioctl(s, SIOCGIFINDEX, &ifr), 0);
	assert_int_equal(close(s), 0);
}

/* fork: the child's descriptor fails cleanly, the parent's keeps working. */
static void test_tap_fork(void **state)
{
	unsigned char f[60], b[2048];
	int fd = tap_open("tap0", IFF_TAP | IFF_NO_PI), st;
	pid_t pid;

	assert_true(fd >= 0);
	frame(f, 0x88b5, 3);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ok = write(fd, f, sizeof(f)) == -1 && errno == EBADFD &&
			 read(fd, b, sizeof(b)) == -1 && errno == EBADFD && close(fd) == 0;

		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(write(fd, f, sizeof(f)), sizeof(f));
	wait_readable(fd);
	assert_int_equal(read(fd, b, sizeof(b)), sizeof(f));
	assert_memory_equal(b, f, sizeof(f));
	assert_int_equal(close(fd), 0);
}

/* One thread per multi-queue fd: frames numbered in order, blocking calls. */
static void *echo_thread(void *arg)
{
	int fd = *(int *)arg;
	unsigned char f[60], b[2048];

	for (unsigned i = 0; i < 2000; i++) {
		frame(f, 0x88b5, (unsigned char)fd);
		memcpy(f + 14, &i, sizeof(i));
		if (write(fd, f, sizeof(f)) != sizeof(f) || read(fd, b, sizeof(b)) != sizeof(f) ||
		    memcmp(b, f, sizeof(f)))
			return (void *)1;
	}
	return NULL;
}

static void test_tap_threads(void **state)
{
	int fd[2] = { tap_open("mq0", IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE),
		      tap_open("mq0", IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE) };
	pthread_t t[2];
	void *rv;

	assert_true(fd[0] >= 0 && fd[1] >= 0);
	/* Two queue pairs: a third attach finds none (tun's E2BIG). */
	assert_int_equal(tap_open("mq0", IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE), -1);
	assert_int_equal(errno, E2BIG);
	/* Mixing multi-queue and not: EINVAL, as tun. */
	assert_int_equal(tap_open("mq0", IFF_TAP | IFF_NO_PI), -1);
	assert_int_equal(errno, EINVAL);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, echo_thread, &fd[i]), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_null(rv);
		assert_int_equal(close(fd[i]), 0);
	}
}

/* AF_PACKET: bound by ifindex, a frame out and back with its sockaddr_ll;
 * a second socket filtering one EtherType counts what it skips. */
static void test_packet(void **state)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_ifindex = IFINDEX_ETH9 };
	struct tpacket_stats st;
	socklen_t alen = sizeof(a);
	unsigned char f[60], b[2048];
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), t;

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	frame(f, 0x88b5, 5);
	assert_int_equal(send(s, f, sizeof(f), 0), sizeof(f));
	wait_readable(s);
	memset(&a, 0, sizeof(a));
	assert_int_equal(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&a, &alen), sizeof(f));
	assert_memory_equal(b, f, sizeof(f));
	assert_int_equal(alen, sizeof(a));
	assert_int_equal(a.sll_ifindex, IFINDEX_ETH9);
	assert_int_equal(ntohs(a.sll_protocol), 0x88b5);
	assert_int_equal(a.sll_pkttype, PACKET_BROADCAST);
	assert_int_equal(a.sll_halen, 6);
	assert_memory_equal(a.sll_addr, f + 6, 6);
	assert_int_equal(recv(s, b, sizeof(b), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);

	/* The second socket has the second queue pair: sim:loopback sends
	 * back on the queue it received from. */
	t = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(0x0800));
	assert_true(t >= 0);
	a = (struct sockaddr_ll){ .sll_family = AF_PACKET, .sll_ifindex = IFINDEX_ETH9 };
	assert_int_equal(bind(t, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(send(t, f, sizeof(f), 0), sizeof(f)); /* 0x88b5: filtered */
	frame(f, 0x0800, 6);
	assert_int_equal(send(t, f, sizeof(f), 0), sizeof(f));
	/* The filtered frame makes the socket readable too, and a receive
	 * that consumed only it finds nothing yet: EAGAIN, poll again. */
	for (int tries = 0;; tries++) {
		ssize_t got;

		assert_true(tries < 3);
		wait_readable(t);
		got = recv(t, b, sizeof(b), 0);
		if (got < 0 && errno == EAGAIN)
			continue;
		assert_int_equal(got, sizeof(f));
		break;
	}
	assert_memory_equal(b, f, sizeof(f));
	alen = sizeof(st);
	assert_int_equal(getsockopt(t, SOL_PACKET, PACKET_STATISTICS, &st, &alen), 0);
	assert_int_equal(st.tp_packets, 2);
	assert_int_equal(st.tp_drops, 1);
	assert_int_equal(close(t), 0);
	assert_int_equal(close(s), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap),         cmocka_unit_test(test_tap_headers),
		cmocka_unit_test(test_tap_errors),  cmocka_unit_test(test_tap_fork),
		cmocka_unit_test(test_tap_threads), cmocka_unit_test(test_packet),
	};

	if (!getenv("VNET_PRELOAD")) {
		struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
		struct vnet_dev *dev;

		/* No control sockets: tests in parallel may use the same
		 * names. The shim opens every device with name=IFNAME. */
		setenv("VNET_CTL", "off", 1);
		if (vnet_dev_open("sim:sink?name=smoke", &o, &dev) < 0) {
			printf("SKIP: device URIs do not take name= yet: %s\n", vnet_last_error());
			return 77;
		}
		vnet_dev_close(dev);
		/* Once more with the shim. An ASan build preloads an ASan
		 * library ahead of the runtime the program links. */
		const char *asan = getenv("ASAN_OPTIONS");
		char opts[512];

		snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0", asan ? asan : "",
			 asan ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
		setenv("LD_PRELOAD", PRELOAD_SO, 1);
		setenv("VNET_PRELOAD", CONFIG, 1);
		/* argv[0], not /proc/self/exe: under valgrind that is valgrind's
		 * own tool, and the re-run is meant to run outside it. */
		execv(strchr(argv[0], '/') ? argv[0] : "/proc/self/exe", argv);
		perror("exec under LD_PRELOAD");
		return 99;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
