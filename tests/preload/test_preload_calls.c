/* SPDX-License-Identifier: MIT */
/*
 * Every call issue 11 lists, made by a plain libc program run under
 * LD_PRELOAD=libvnet-preload.so (preload-calls.sh maps the names in
 * calls.h to sim:loopback devices): this file has the TAP half and the
 * process semantics (dup, fork, exec, signals, threads, configuration);
 * packet_calls.c the AF_PACKET half. What is asserted is what the kernel
 * does for the same calls on a real TAP interface: bytes and order of
 * frames, errno values, readiness, wake-ups.
 *
 * Used by the configuration tests: "test_preload_calls --probe NAME ''" only
 * asks if_nametoindex(NAME) and exits 0 when the answer is 0 (unshimmed);
 * "--open2 A B" attaches TAP files to A and B (B "": A only) and exits 0
 * when they open (preload-env.sh uses it to see whether the shim works).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../integration/frames.h"
#include "calls.h"

#define TAPF (IFF_TAP | IFF_NO_PI)

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static size_t frame_len(uint64_t seq) { return tf_len(seq, 60, 1514); }

/* n frames through fd in bursts of 16 (the loopback ring is finite). */
static void tap_frames(int fd, uint64_t first, uint64_t n)
{
	uint8_t f[MAX_FRAME];

	for (uint64_t b = 0; b < n; b += 16) {
		uint64_t k = n - b < 16 ? n - b : 16;

		for (uint64_t i = 0; i < k; i++) {
			uint64_t seq = first + b + i;

			tf_fill(f, frame_len(seq), bcast, seq);
			assert_int_equal(write(fd, f, frame_len(seq)), (ssize_t)frame_len(seq));
		}
		for (uint64_t i = 0; i < k; i++)
			tap_read_check(fd, bcast, first + b + i, frame_len(first + b + i));
	}
}

/* ---- open, TUNSETIFF, TUNGETIFF ---- */

static void t_tap_frames(void **state)
{
	int fd = tap_open(TAP_A, TAPF);

	ok(fd >= 0);
	assert_true(fd < FD_SETSIZE);
	tap_frames(fd, 0, tf_scale(1000));
	assert_int_equal(close(fd), 0);
}

static void t_tungetiff(void **state)
{
	struct ifreq ifr = { 0 };
	int raw = open("/dev/net/tun", O_RDWR);
	int fd = tap_open(TAP_A, TAPF);

	ok(raw >= 0 && fd >= 0);
	/* Not attached yet: the kernel's tun answers EBADFD. */
	assert_int_equal(ioctl(raw, TUNGETIFF, &ifr), -1);
	assert_int_equal(errno, EBADFD);
	assert_int_equal(ioctl(fd, TUNGETIFF, &ifr), 0);
	assert_string_equal(ifr.ifr_name, TAP_A);
	assert_int_equal(ifr.ifr_flags & (IFF_TAP | IFF_TUN | IFF_NO_PI | IFF_VNET_HDR), TAPF);
	/* An attached file cannot be attached again. */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_B);
	ifr.ifr_flags = TAPF;
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), -1);
	assert_int_equal(errno, EEXIST);
	close(raw);
	close(fd);
}

static void t_tap_refusals(void **state)
{
	int fd = tap_open(TAP_A, TAPF);

	ok(fd >= 0);
	/* A second single-queue file on a busy interface. */
	assert_int_equal(tap_open(TAP_A, TAPF), -1);
	assert_int_equal(errno, EBUSY);
	close(fd);
	/* The mapped device is an Ethernet (TAP) one: IFF_TUN is refused. */
	assert_int_equal(tap_open(TAP_B, IFF_TUN | IFF_NO_PI), -1);
	assert_int_equal(errno, EINVAL);
	/* Released by close: it opens again. */
	fd = tap_open(TAP_A, TAPF);
	ok(fd >= 0);
	close(fd);
}

/* Without IFF_NO_PI every frame carries struct tun_pi both ways. */
static void t_tap_pi(void **state)
{
	uint8_t f[MAX_FRAME + sizeof(struct tun_pi)], g[sizeof(f)];
	struct tun_pi pi = { .flags = 0, .proto = htons(TF_ETHERTYPE) }, got;
	int fd = tap_open(TAP_A, IFF_TAP);

	ok(fd >= 0);
	for (uint64_t seq = 0; seq < 20; seq++) {
		size_t len = frame_len(seq);

		memcpy(f, &pi, sizeof(pi));
		tf_fill(f + sizeof(pi), len, bcast, seq);
		assert_int_equal(write(fd, f, len + sizeof(pi)), (ssize_t)(len + sizeof(pi)));
		assert_int_equal(read(fd, g, sizeof(g)), (ssize_t)(len + sizeof(pi)));
		memcpy(&got, g, sizeof(got));
		assert_int_equal(got.flags, 0);
		assert_int_equal(got.proto, htons(TF_ETHERTYPE));
		assert_true(tf_check(g + sizeof(pi), len, bcast, seq, len));
	}
	close(fd);
}

/* IFF_VNET_HDR: a struct virtio_net_hdr (10 bytes by default) first. */
static void t_tap_vnet_hdr(void **state)
{
	struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_NONE }, got;
	uint8_t f[MAX_FRAME + sizeof(h)], g[sizeof(f)];
	struct ifreq ifr = { 0 };
	int fd = tap_open(TAP_A, TAPF | IFF_VNET_HDR);

	ok(fd >= 0);
	assert_int_equal(ioctl(fd, TUNGETIFF, &ifr), 0);
	assert_true(ifr.ifr_flags & IFF_VNET_HDR);
	for (uint64_t seq = 0; seq < 20; seq++) {
		size_t len = frame_len(seq);

		memcpy(f, &h, sizeof(h));
		tf_fill(f + sizeof(h), len, bcast, seq);
		assert_int_equal(write(fd, f, len + sizeof(h)), (ssize_t)(len + sizeof(h)));
		assert_int_equal(read(fd, g, sizeof(g)), (ssize_t)(len + sizeof(h)));
		memcpy(&got, g, sizeof(got));
		assert_int_equal(got.flags, 0);
		assert_int_equal(got.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_true(tf_check(g + sizeof(h), len, bcast, seq, len));
	}
	close(fd);
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	ok(fl >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK), 0);
	assert_int_equal(!!(fcntl(fd, F_GETFL) & O_NONBLOCK), on);
}

/* Nothing to read on fd within ms milliseconds. */
static void assert_idle(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, ms), 0);
}

/* IFF_MULTI_QUEUE: each file is one queue pair; loopback stays on its queue. */
static void t_tap_multiqueue(void **state)
{
	int q[2];

	for (int i = 0; i < 2; i++) {
		q[i] = tap_open(TAP_MQ, TAPF | IFF_MULTI_QUEUE);
		ok(q[i] >= 0);
	}
	for (uint64_t seq = 0; seq < 64; seq++) {
		int i = (int)(seq % 2);

		tap_echo(q[i], bcast, seq, frame_len(seq));
		assert_idle(q[!i], 0);
	}
	/* The two queues of the device are taken (tun's errno past its limit). */
	assert_int_equal(tap_open(TAP_MQ, TAPF | IFF_MULTI_QUEUE), -1);
	assert_int_equal(errno, E2BIG);
	close(q[0]);
	close(q[1]);
}

/* A name that is not mapped is the kernel's: a real TAP interface appears. */
static void t_tap_unmapped(void **state)
{
	const char *ns = getenv("PRELOAD_PRIVATE_NETNS");
	int fd;

	if (!ns || strcmp(ns, "1") || access("/dev/net/tun", R_OK | W_OK))
		skip(); /* the harness runs us in a network namespace of our own when root */
	assert_int_equal(if_nametoindex(UNMAPPED), 0);
	fd = tap_open(UNMAPPED, TAPF);
	ok(fd >= 0);
	assert_true(if_nametoindex(UNMAPPED) > 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(if_nametoindex(UNMAPPED), 0);
}

static void t_readv_writev(void **state)
{
	uint8_t f[MAX_FRAME], g[MAX_FRAME];
	int fd = tap_open(TAP_A, TAPF);

	ok(fd >= 0);
	for (uint64_t seq = 0; seq < 50; seq++) {
		size_t len = frame_len(seq);
		struct iovec out[3] = { { f, 14 }, { f + 14, 40 }, { f + 54, len - 54 } };
		struct iovec in[2] = { { g, 20 }, { g + 20, sizeof(g) - 20 } };

		tf_fill(f, len, bcast, seq);
		assert_int_equal(writev(fd, out, 3), (ssize_t)len);
		assert_int_equal(readv(fd, in, 2), (ssize_t)len);
		assert_true(tf_check(g, len, bcast, seq, len));
	}
	close(fd);
}

/* ---- readiness: one shim fd and one pipe in each kind of wait ---- */

enum { W_POLL, W_PPOLL, W_SELECT, W_PSELECT, W_EPOLL };

/* Which of fds[0..1] are readable within ms: bit i for fds[i]. No wait may
 * fail: in particular not with EINTR when no signal came. */
static unsigned wait_in(int how, const int fds[2], int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
	struct epoll_event ev[2];
	unsigned got = 0;
	fd_set rs;
	int n, ep;

	FD_ZERO(&rs);
	FD_SET(fds[0], &rs);
	FD_SET(fds[1], &rs);
	switch (how) {
	case W_POLL:
	case W_PPOLL:
		n = how == W_POLL ? poll(p, 2, ms) : ppoll(p, 2, &ts, NULL);
		ok(n >= 0);
		for (int i = 0; i < 2; i++)
			got |= (p[i].revents & POLLIN) ? 1u << i : 0;
		break;
	case W_SELECT:
	case W_PSELECT: {
		int nfds = (fds[0] > fds[1] ? fds[0] : fds[1]) + 1;

		n = how == W_SELECT ? select(nfds, &rs, NULL, NULL, &tv)
				    : pselect(nfds, &rs, NULL, NULL, &ts, NULL);
		ok(n >= 0);
		for (int i = 0; i < 2; i++)
			got |= FD_ISSET(fds[i], &rs) ? 1u << i : 0;
		break;
	}
	default:
		ep = epoll_create1(EPOLL_CLOEXEC);
		ok(ep >= 0);
		for (int i = 0; i < 2; i++) {
			struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

			assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e), 0);
		}
		n = epoll_wait(ep, ev, 2, ms);
		ok(n >= 0);
		for (int i = 0; i < n; i++)
			got |= 1u << ev[i].data.u32;
		close(ep);
		break;
	}
	assert_int_equal((unsigned)n, (unsigned)__builtin_popcount(got));
	return got;
}

/* Wait (up to 2 s) until the set readable is exactly want. */
static void expect_ready(int how, const int fds[2], unsigned want)
{
	uint64_t t0 = now_ms();
	unsigned got;

	while ((got = wait_in(how, fds, 100)) != want && now_ms() - t0 < 2000)
		;
	assert_int_equal(got, want);
}

static void t_wait(int how)
{
	int fds[2], pp[2];
	uint8_t f[MAX_FRAME], c = 'x';

	assert_int_equal(pipe(pp), 0);
	fds[0] = tap_open(TAP_A, TAPF);
	fds[1] = pp[0];
	ok(fds[0] >= 0);
	assert_int_equal(wait_in(how, fds, 0), 0);
	assert_int_equal(wait_in(how, fds, 50), 0); /* a timeout is a timeout */
	tf_fill(f, 100, bcast, 1);
	assert_int_equal(write(fds[0], f, 100), 100);
	expect_ready(how, fds, 1);
	tap_read_check(fds[0], bcast, 1, 100);
	assert_int_equal(wait_in(how, fds, 0), 0); /* read: no longer readable */
	assert_int_equal(write(pp[1], &c, 1), 1);
	expect_ready(how, fds, 2);
	tf_fill(f, 200, bcast, 2);
	assert_int_equal(write(fds[0], f, 200), 200);
	expect_ready(how, fds, 3);
	assert_int_equal(read(pp[0], &c, 1), 1);
	expect_ready(how, fds, 1);
	/* Two frames waiting: readable until both are read. */
	tf_fill(f, 300, bcast, 3);
	assert_int_equal(write(fds[0], f, 300), 300);
	tap_read_check(fds[0], bcast, 2, 200);
	expect_ready(how, fds, 1);
	tap_read_check(fds[0], bcast, 3, 300);
	assert_int_equal(wait_in(how, fds, 0), 0);
	close(fds[0]);
	close(pp[0]);
	close(pp[1]);
}

static void t_poll(void **state) { t_wait(W_POLL); }
static void t_ppoll(void **state) { t_wait(W_PPOLL); }
static void t_select(void **state) { t_wait(W_SELECT); }
static void t_pselect(void **state) { t_wait(W_PSELECT); }
static void t_epoll(void **state) { t_wait(W_EPOLL); }

/* Python hands ioctl() a buffer at any address: struct ifreq is copied,
 * not dereferenced in place (UBSan: misaligned access). */
static void t_ifreq_unaligned(void **state)
{
	union {
		struct ifreq align;
		char b[sizeof(struct ifreq) + 1];
	} buf;
	struct ifreq ifr = { 0 };
	int fd = tap_open(TAP_A, TAPF), s = socket(AF_INET, SOCK_DGRAM, 0);

	ok(fd >= 0 && s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_A);
	memcpy(buf.b + 1, &ifr, sizeof(ifr));
	ok(ioctl(s, SIOCGIFMTU, buf.b + 1) == 0);
	memcpy(&ifr, buf.b + 1, sizeof(ifr));
	assert_int_equal(ifr.ifr_mtu, 1500);
	close(s);
	close(fd);
}

/* A TAP file is always writable (socat selects on it for writing). */
static void t_writable(void **state)
{
	int fd = tap_open(TAP_A, TAPF);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	struct timeval tv = { 0 };
	fd_set ws;

	ok(fd >= 0);
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_int_equal(p.revents, POLLOUT);
	FD_ZERO(&ws);
	FD_SET(fd, &ws);
	assert_int_equal(select(fd + 1, NULL, &ws, NULL, &tv), 1);
	assert_true(FD_ISSET(fd, &ws));
	close(fd);
}

/* ---- blocking, non-blocking, wake-ups ---- */

/* A blocked read sleeps until the frame another thread writes at 150 ms. */
static void blocked_read_woken(int fd, uint64_t seq)
{
	uint64_t t0 = now_ms(), c0 = thread_cpu_ms(), dt;

	later(pthread_self(), 0, fd, seq, 99, 150);
	tap_read_check(fd, bcast, seq, 99);
	dt = now_ms() - t0;
	later_join();
	assert_true(dt >= 100);
	assert_true(thread_cpu_ms() - c0 <= dt / 2 + 20); /* slept, did not spin */
}

static void t_nonblock(void **state)
{
	uint8_t g[MAX_FRAME];
	int fd = tap_open(TAP_A, TAPF), on = 1;

	ok(fd >= 0);
	set_nonblock(fd, true);
	assert_int_equal(read(fd, g, sizeof(g)), -1);
	assert_int_equal(errno, EAGAIN);
	set_nonblock(fd, false);
	blocked_read_woken(fd, 10);
	/* FIONBIO is the same file flag. */
	assert_int_equal(ioctl(fd, FIONBIO, &on), 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(read(fd, g, sizeof(g)), -1);
	assert_int_equal(errno, EAGAIN);
	on = 0;
	assert_int_equal(ioctl(fd, FIONBIO, &on), 0);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	blocked_read_woken(fd, 11);
	close(fd);
}

static volatile sig_atomic_t n_sig;
static void on_sig(int s) { n_sig++; }

static void catch_usr1(int flags)
{
	struct sigaction sa = { .sa_handler = on_sig, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
}

static void t_eintr(void **state)
{
	uint8_t g[MAX_FRAME];
	struct pollfd p;
	uint64_t t0, c0, dt;
	int fd = tap_open(TAP_A, TAPF);

	ok(fd >= 0);
	catch_usr1(0);
	n_sig = 0;
	t0 = now_ms();
	c0 = thread_cpu_ms();
	later(pthread_self(), SIGUSR1, -1, 0, 0, 200);
	assert_int_equal(read(fd, g, sizeof(g)), -1);
	assert_int_equal(errno, EINTR);
	dt = now_ms() - t0;
	later_join();
	assert_int_equal(n_sig, 1);
	assert_true(dt >= 150);
	assert_true(thread_cpu_ms() - c0 <= dt / 2 + 20);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	later(pthread_self(), SIGUSR1, -1, 0, 0, 100);
	assert_int_equal(poll(&p, 1, 5000), -1);
	assert_int_equal(errno, EINTR);
	later_join();
	assert_int_equal(n_sig, 2);
	signal(SIGUSR1, SIG_DFL);
	close(fd);
}

/* SA_RESTART: tun's read(2) is restarted by the kernel after the handler
 * (as every read without a timeout is): it goes on and returns the frame
 * that comes later. Programs that install their handlers with SA_RESTART
 * do not expect EINTR from read(). */
static void t_sa_restart(void **state)
{
	int fd = tap_open(TAP_A, TAPF);

	ok(fd >= 0);
	catch_usr1(SA_RESTART);
	n_sig = 0;
	later(pthread_self(), SIGUSR1, -1, 0, 0, 100);
	later(pthread_self(), 0, fd, 5, 77, 300);
	tap_read_check(fd, bcast, 5, 77);
	later_join();
	assert_int_equal(n_sig, 1);
	signal(SIGUSR1, SIG_DFL);
	close(fd);
}

/* ---- interface ioctls on an AF_INET socket (what socat and ip do) ---- */

static int ifreq_ioctl(int s, unsigned long req, const char *name, struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	return ioctl(s, req, ifr);
}

static void t_if_ioctls(void **state)
{
	int fd = tap_open(TAP_A, TAPF), fdb = tap_open(TAP_B, TAPF);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = { 0 }, tifr = { 0 };
	uint8_t mac[6], zero[6] = { 0 };
	short flags;

	ok(fd >= 0 && fdb >= 0 && s >= 0);
	dev_mac(TAP_A, mac);
	assert_memory_not_equal(mac, zero, 6);
	assert_int_equal(mac[0] & 1, 0);
	/* The tun file answers SIOCGIFHWADDR for its interface too. */
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &tifr), 0);
	assert_memory_equal(tifr.ifr_hwaddr.sa_data, mac, 6);

	ok(ifreq_ioctl(s, SIOCGIFINDEX, TAP_A, &ifr) == 0);
	assert_true(ifr.ifr_ifindex > 0);
	assert_int_equal((unsigned)ifr.ifr_ifindex, if_nametoindex(TAP_A));
	assert_int_not_equal((unsigned)ifr.ifr_ifindex, if_nametoindex(TAP_B));

	ok(ifreq_ioctl(s, SIOCGIFMTU, TAP_A, &ifr) == 0);
	assert_int_equal(ifr.ifr_mtu, 1500);
	ifr.ifr_mtu = 1400;
	ok(ifreq_ioctl(s, SIOCSIFMTU, TAP_A, &ifr) == 0);
	ok(ifreq_ioctl(s, SIOCGIFMTU, TAP_A, &ifr) == 0);
	assert_int_equal(ifr.ifr_mtu, 1400);
	ifr.ifr_mtu = 1 << 20;
	assert_int_equal(ifreq_ioctl(s, SIOCSIFMTU, TAP_A, &ifr), -1);
	assert_int_equal(errno, EINVAL);
	ifr.ifr_mtu = 1500;
	ok(ifreq_ioctl(s, SIOCSIFMTU, TAP_A, &ifr) == 0);

	/* Devices start up and promiscuous (virtio-net after reset). */
	ok(ifreq_ioctl(s, SIOCGIFFLAGS, TAP_A, &ifr) == 0);
	flags = ifr.ifr_flags;
	assert_true(flags & IFF_UP);
	assert_true(flags & IFF_PROMISC);
	ifr.ifr_flags = (short)(flags & ~IFF_PROMISC);
	ok(ifreq_ioctl(s, SIOCSIFFLAGS, TAP_A, &ifr) == 0);
	ok(ifreq_ioctl(s, SIOCGIFFLAGS, TAP_A, &ifr) == 0);
	assert_true(ifr.ifr_flags & IFF_UP);
	assert_false(ifr.ifr_flags & IFF_PROMISC);
	/* Only the interface asked about changed. */
	ok(ifreq_ioctl(s, SIOCGIFFLAGS, TAP_B, &ifr) == 0);
	assert_true(ifr.ifr_flags & IFF_PROMISC);
	tap_echo(fd, bcast, 1, 1514); /* broadcast passes without promisc */
	ifr.ifr_flags = flags;
	ok(ifreq_ioctl(s, SIOCSIFFLAGS, TAP_A, &ifr) == 0);
	ok(ifreq_ioctl(s, SIOCGIFFLAGS, TAP_A, &ifr) == 0);
	assert_true(ifr.ifr_flags & IFF_PROMISC);
	tap_echo(fd, bcast, 2, 1514);

	/* Names that are not mapped are the kernel's: it does not know them. */
	assert_int_equal(ifreq_ioctl(s, SIOCGIFMTU, "plnone0", &ifr), -1);
	assert_int_equal(errno, ENODEV);
	assert_int_equal(if_nametoindex("plnone0"), 0);
	close(s);
	close(fd);
	close(fdb);
}

/* ---- descriptors: dup, dup2, dup3, close, many fds ---- */

static void t_dup(void **state)
{
	int a = tap_open(TAP_A, TAPF), b, c;

	ok(a >= 0);
	b = dup(a);
	ok(b >= 0 && b != a);
	tap_echo(b, bcast, 1, 60);
	tap_echo(a, bcast, 2, 61); /* both name the one queue */
	assert_int_equal(close(a), 0);
	tap_echo(b, bcast, 3, 62); /* closing one keeps the other */
	c = dup3(b, 200, O_CLOEXEC);
	assert_int_equal(c, 200);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
	tap_echo(c, bcast, 4, 63);
	assert_int_equal(dup3(c, c, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(dup2(c, c), c);
	tap_echo(c, bcast, 5, 64);
	assert_int_equal(close(b), 0);
	assert_int_equal(close(c), 0);
	/* The last reference closed: the interface can be attached again. */
	a = tap_open(TAP_A, TAPF);
	ok(a >= 0);
	close(a);
}

/* dup2 onto a shim fd: it now names the other device, the first is released. */
static void t_dup2_over(void **state)
{
	struct ifreq ifr = { 0 };
	int a = tap_open(TAP_A, TAPF), b = tap_open(TAP_B, TAPF), a2;

	ok(a >= 0 && b >= 0);
	assert_int_equal(dup2(b, a), a);
	assert_int_equal(ioctl(a, TUNGETIFF, &ifr), 0);
	assert_string_equal(ifr.ifr_name, TAP_B);
	tap_echo(a, bcast, 1, 100);
	tap_echo(b, bcast, 2, 100);
	a2 = tap_open(TAP_A, TAPF);
	ok(a2 >= 0);
	tap_echo(a2, bcast, 3, 100);
	close(a2);
	close(a);
	close(b);
}

static void t_close(void **state)
{
	uint8_t g[64] = { 0 };
	int fd = tap_open(TAP_A, TAPF);

	ok(fd >= 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(read(fd, g, sizeof(g)), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(write(fd, g, sizeof(g)), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(close(fd), -1);
	assert_int_equal(errno, EBADF);
}

/* With several hundred descriptors open, the shim's fd is still select()able. */
static void t_fd_setsize(void **state)
{
	enum { N = 600 };
	int busy[N], fd;
	fd_set rs;
	struct timeval tv = { 2, 0 };
	uint8_t f[MAX_FRAME];

	for (int i = 0; i < N; i++) {
		busy[i] = open("/dev/null", O_RDONLY);
		ok(busy[i] >= 0);
	}
	fd = tap_open(TAP_A, TAPF);
	ok(fd >= 0);
	assert_true(fd < FD_SETSIZE);
	tf_fill(f, 128, bcast, 9);
	assert_int_equal(write(fd, f, 128), 128);
	FD_ZERO(&rs);
	FD_SET(fd, &rs);
	assert_int_equal(select(fd + 1, &rs, NULL, NULL, &tv), 1);
	tap_read_check(fd, bcast, 9, 128);
	close(fd);
	for (int i = 0; i < N; i++)
		close(busy[i]);
}

/* ---- processes: fork, exec ---- */

static int wait_child(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* The child's copy fails cleanly (no crash, no hang); its exit()
 * (destructors and all) leaves the parent's device working. */
static void t_fork(void **state)
{
	int fd = tap_open(TAP_A, TAPF);
	uint8_t f[MAX_FRAME];
	pid_t pid;

	ok(fd >= 0);
	tap_frames(fd, 0, 32);
	pid = fork();
	ok(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		alarm(10);
		tf_fill(f, 60, bcast, 0);
		bad |= write(fd, f, 60) != -1;
		bad |= (fcntl(fd, F_SETFL, O_NONBLOCK) == 0 && read(fd, f, sizeof(f)) != -1) << 1;
		close(fd);
		exit(bad);
	}
	assert_int_equal(wait_child(pid), 0);
	tap_frames(fd, 100, 200);
	close(fd);
}

static void t_exec(void **state)
{
	int fd = tap_open(TAP_A, TAPF);
	char cmd[64];
	pid_t pid;

	ok(fd >= 0);
	snprintf(cmd, sizeof(cmd), "test ! -e /proc/self/fd/%d", fd);
	pid = fork();
	ok(pid >= 0);
	if (pid == 0) {
		/* What an uninstrumented program preloads (preload-env.sh): in a
		 * sanitizer build /bin/sh needs the ASan runtime first. */
		const char *ld = getenv("PRELOAD_FOREIGN_LD");

		alarm(10);
		if (ld)
			setenv("LD_PRELOAD", ld, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(wait_child(pid), 0);
	tap_frames(fd, 0, 32);
	close(fd);
}

/* ---- threads: four at once on two devices and two queues of a third ---- */

struct worker {
	pthread_t t;
	int fd;
	uint64_t first, n, bad;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t f[MAX_FRAME], g[MAX_FRAME];

	for (uint64_t b = 0; b < w->n; b += 8) {
		for (uint64_t i = 0; i < 8; i++) {
			uint64_t seq = w->first + b + i;

			tf_fill(f, frame_len(seq), bcast, seq);
			w->bad += write(w->fd, f, frame_len(seq)) != (ssize_t)frame_len(seq);
		}
		for (uint64_t i = 0; i < 8; i++) {
			uint64_t seq = w->first + b + i;
			ssize_t n = read(w->fd, g, sizeof(g));

			w->bad += n < 0 || !tf_check(g, (size_t)n, bcast, seq, frame_len(seq));
		}
	}
	return NULL;
}

static void t_threads(void **state)
{
	struct worker w[4] = {
		{ .fd = tap_open(TAP_A, TAPF) },
		{ .fd = tap_open(TAP_B, TAPF) },
		{ .fd = tap_open(TAP_MQ, TAPF | IFF_MULTI_QUEUE) },
		{ .fd = tap_open(TAP_MQ, TAPF | IFF_MULTI_QUEUE) },
	};

	for (int i = 0; i < 4; i++) {
		ok(w[i].fd >= 0);
		w[i].first = (uint64_t)i << 32;
		w[i].n = tf_scale(2000) / 2;
		assert_int_equal(pthread_create(&w[i].t, NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(w[i].t, NULL);
		assert_int_equal(w[i].bad, 0);
		close(w[i].fd);
	}
}

/* ---- configuration: a bad VNET_PRELOAD, VNET_DEBUG ---- */

/* argv[0]: under valgrind /proc/self/exe is valgrind's tool, not us. */
static const char *self_path;

/* Run this program again as "MODE A B" with one variable changed; returns
 * its exit status, its stderr in err. Modes: see main(). */
static int run_child(const char *var, const char *val, const char *mode, const char *a,
		     const char *b, char *err, size_t cap)
{
	int pp[2], st;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pp), 0);
	pid = fork();
	ok(pid >= 0);
	if (pid == 0) {
		alarm(20);
		dup2(pp[1], 2);
		setenv(var, val, 1);
		execl(self_path, self_path, mode, a, b, (char *)NULL);
		_exit(127);
	}
	close(pp[1]);
	while (len + 1 < cap && (n = read(pp[0], err + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	err[len] = '\0';
	close(pp[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int run_probe(const char *var, const char *val, const char *name, char *err, size_t cap)
{
	return run_child(var, val, "--probe", name, "", err, cap);
}

static void t_bad_config(void **state)
{
	static const char *const bad[] = {
		"pltap0",                             /* no '=' */
		"=sim:loopback",                      /* no name */
		"averyveryverylongname=sim:loopback", /* longer than IFNAMSIZ */
		"pltap0=",                            /* no URI */
	};
	char err[4096];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* A clear message naming the variable; the program runs unshimmed. */
		assert_int_equal(run_probe("VNET_PRELOAD", bad[i], TAP_A, err, sizeof(err)), 0);
		if (!strstr(err, "VNET_PRELOAD"))
			fail_msg("VNET_PRELOAD=\"%s\": stderr \"%s\"", bad[i], err);
	}
}

static void t_debug(void **state)
{
	char err[4096];

	/* Mapped as configured: if_nametoindex answers, so the probe says 1. */
	assert_int_equal(run_probe("VNET_DEBUG", "1", TAP_A, err, sizeof(err)), 1);
	if (!strstr(err, TAP_A) || !strstr(err, "sim:loopback"))
		fail_msg("VNET_DEBUG=1: stderr \"%s\"", err);
	/* Quiet without it. */
	assert_int_equal(run_probe("VNET_DEBUG", "0", TAP_A, err, sizeof(err)), 1);
	assert_string_equal(err, "");
}

/* Two names mapped to one URI are two interfaces, each with its own device
 * (the shim names each device after its interface: URI option name=). */
static void t_same_uri(void **state)
{
	char err[4096];

	if (run_child("VNET_PRELOAD", "plsame0=sim:loopback,plsame1=sim:loopback",
		      "--open2", "plsame0", "plsame1", err, sizeof(err)))
		fail_msg("two names on sim:loopback: stderr \"%s\"", err);
}

static const struct CMUnitTest tap_tests[] = {
	T(t_tap_frames),    T(t_tungetiff),
	T(t_tap_refusals),  T(t_tap_pi),
	T(t_tap_vnet_hdr),  T(t_tap_multiqueue),
	T(t_tap_unmapped),  T(t_readv_writev),
	T(t_poll),          T(t_ppoll),
	T(t_select),        T(t_pselect),
	T(t_epoll),         T(t_writable),
	T(t_nonblock),      T(t_eintr),
	T(t_sa_restart),
	T(t_if_ioctls),     T(t_dup),
	T(t_dup2_over),     T(t_close),
	T(t_fd_setsize),    T(t_fork),
	T(t_exec),          T(t_threads),
	T(t_bad_config),    T(t_debug),
	T(t_same_uri),
};

static const struct CMUnitTest last_tests[] = { T(t_ifreq_unaligned) };

int main(int argc, char **argv)
{
	int rc;

	self_path = argv[0];
	if (argc == 4 && !strcmp(argv[1], "--probe"))
		return if_nametoindex(argv[2]) != 0;
	if (argc == 4 && !strcmp(argv[1], "--open2")) { /* B "" : only A */
		int a = tap_open(argv[2], TAPF), b = *argv[3] ? tap_open(argv[3], TAPF) : 0;

		if (a < 0 || b < 0)
			fprintf(stderr, "open2: %s %d, %s %d: %s\n", argv[2], a, argv[3], b, strerror(errno));
		return a < 0 || b < 0;
	}
	if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "libvnet-preload")) {
		fprintf(stderr, "skip: run me through preload-calls.sh (LD_PRELOAD=libvnet-preload.so)\n");
		return 77;
	}
	alarm(getenv("VNET_TEST_QUICK") ? 600 : 120); /* every test is bounded */
	if (getenv("PRELOAD_TEST_FILTER")) /* e.g. "t_dup*": run only those */
		cmocka_set_test_filter(getenv("PRELOAD_TEST_FILTER"));
	rc = cmocka_run_group_tests_name("preload_tap", tap_tests, NULL, NULL);
	rc |= _cmocka_run_group_tests("preload_packet", packet_tests, n_packet_tests, NULL, NULL);
	/* Last: under UBSan (halt_on_error) a misaligned access ends the run. */
	return rc | cmocka_run_group_tests_name("preload_last", last_tests, NULL, NULL);
}
