/* SPDX-License-Identifier: MIT */
/*
 * The tap: port end to end, through the public API, in a private network
 * namespace: the application on tap:IFNAME, an AF_PACKET socket on IFNAME
 * as the kernel's side of the wire. Bytes, lengths and order of every
 * frame both ways, counters, error codes, waking up, several queues, the
 * interface going away, no descriptor left behind, and device settings
 * (through the interface's ioctls, checked against the kernel's view).
 *
 * Needs CAP_SYS_ADMIN (unshare) and /dev/net/tun: exits 77 (skip) without.
 * The kernel's own frames on the interface (IPv6 router solicitations and
 * the like) are skipped: the test's frames carry EtherType 0x88b5.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
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

#include "events.h"
#include "frames.h"
#include "ifkernel.h"
#include "vnet/socket.h"
#include "vnet/vnet.h"
#include "../unit/testutil.h"

#define MAX_FRAME 2048
#define CAP (1500 + 18)

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x42 };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The kernel's end: a packet socket on ifname for the test's EtherType. */
static int pkt_open(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(TF_ETHERTYPE) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TF_ETHERTYPE));

	assert_true(fd >= 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static bool is_test_frame(const uint8_t *f, size_t len)
{
	return len >= 14 && f[12] == TF_ETHERTYPE >> 8 && f[13] == (TF_ETHERTYPE & 0xff);
}

static uint64_t stat_of(struct vnet_dev *dev, unsigned qp, size_t off)
{
	struct vnet_queue_stats st = { .sz = sizeof(st) };
	uint64_t v;

	assert_int_equal(vnet_queue_stats(dev, qp, &st), 0);
	memcpy(&v, (const char *)&st + off, sizeof(v));
	return v;
}

#define STAT(dev, qp, field) stat_of(dev, qp, offsetof(struct vnet_queue_stats, field))

/* Send frame seq (len bytes) from the application. */
static void app_send(struct vnet_queue *q, const uint8_t mac[6], uint64_t seq, size_t len)
{
	struct vnet_buf b;

	assert_int_equal(vnet_tx_reserve(q, &b, 1), 1);
	assert_int_equal(b.len, CAP);
	tf_fill(b.data, len, mac, seq);
	b.len = (uint32_t)len;
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
}

/*
 * Receive the next test frame on the application side into f, waiting up
 * to 2 s; other frames (the kernel's chatter) are released and counted in
 * *others, their bytes in *other_bytes. Returns its length.
 */
static size_t app_recv(struct vnet_queue *q, uint8_t *f, uint64_t *others, uint64_t *other_bytes)
{
	uint64_t end = now_ms() + 2000;

	for (;;) {
		struct vnet_wait w = { .q = q, .events = VNET_WAIT_RX };
		struct vnet_buf b;
		int n;

		assert_true(now_ms() < end);
		assert_true(vnet_wait(&w, 1, 100) >= 0);
		n = vnet_rx_peek(q, &b, 1);
		assert_true(n >= 0);
		if (!n)
			continue;
		assert_int_equal(b.flags, 0);
		assert_true(b.len <= CAP);
		if (is_test_frame(b.data, b.len)) {
			size_t len = b.len;

			memcpy(f, b.data, len);
			assert_int_equal(vnet_rx_release(q, &b, 1), 0);
			return len;
		}
		++*others;
		*other_bytes += b.len;
		assert_int_equal(vnet_rx_release(q, &b, 1), 0);
	}
}

static void set_mtu(const char *ifname, int mtu)
{
	struct ifreq ifr = { .ifr_mtu = mtu };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	assert_int_equal(ioctl(fd, SIOCSIFMTU, &ifr), 0);
	close(fd);
}

static void test_info(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) }, again = { .sz = sizeof(again) };
	struct vnet_dev *dev;
	int fds = count_fds();

	(void)state;
	assert_int_equal(if_nametoindex("vt0"), 0);
	assert_int_equal(vnet_dev_open("tap:vt0", NULL, &dev), 0);
	assert_true(if_nametoindex("vt0") > 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_string_equal(info.uri, "tap:vt0");
	assert_string_equal(info.access, "tap");
	assert_int_equal(info.mtu, 1500);
	assert_int_equal(info.max_queue_pairs, 1);
	assert_int_equal(info.queue_pairs, 1);
	assert_int_equal(info.queue_size, 256);
	assert_int_equal(info.features, 0);
	assert_int_equal(info.link_up, 1); /* the port brought it up */
	assert_int_equal(info.broken, 0);
	assert_int_equal(info.mac[0] & 3, 2); /* locally administered unicast */
	assert_null(vnet_dev_queue(dev, 1));
	assert_int_equal(errno, EINVAL);
	assert_true(vnet_dev_event_fd(dev) >= 0); /* link events */
	vnet_dev_close(dev);
	/* Created by the open, gone with it; nothing left open. */
	assert_int_equal(if_nametoindex("vt0"), 0);
	assert_int_equal(count_fds(), fds);

	/* The derived address is stable; mac= overrides it. */
	assert_int_equal(vnet_dev_open("tap:vt0?qsize=64", NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &again), 0);
	assert_memory_equal(again.mac, info.mac, 6);
	assert_int_equal(again.queue_size, 64);
	vnet_dev_close(dev);
	assert_int_equal(vnet_dev_open("tap:vt0?mac=02:11:22:33:44:55", NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &again), 0);
	assert_memory_equal(again.mac, ((const uint8_t[6]){ 2, 0x11, 0x22, 0x33, 0x44, 0x55 }), 6);
	vnet_dev_close(dev);
	assert_int_equal(vnet_dev_open("tap:vt0?mac=01:11:22:33:44:55", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(if_nametoindex("vt0"), 0); /* a failed open leaves nothing */
	assert_int_equal(count_fds(), fds);
}

/* 150 frames of 60..1514 bytes each way, in order, byte for byte. */
static void test_frames(void **state)
{
	uint8_t f[MAX_FRAME], g[MAX_FRAME];
	struct vnet_dev_info info = { .sz = sizeof(info) };
	uint64_t others = 0, other_bytes = 0, bytes = 0, n = 150;
	struct vnet_queue *q;
	struct vnet_dev *dev;
	int ps, fds = count_fds();

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt0", NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	q = vnet_dev_queue(dev, 0);
	assert_non_null(q);
	ps = pkt_open("vt0");

	/* application -> kernel, in batches the socket's buffer holds */
	for (uint64_t s = 0; s < n; s += 30) {
		for (uint64_t i = s; i < s + 30; i++) {
			app_send(q, info.mac, i, tf_len(i, 60, 1514));
			bytes += tf_len(i, 60, 1514);
		}
		for (uint64_t i = s; i < s + 30; i++) {
			ssize_t r = recv(ps, g, sizeof(g), 0);

			assert_true(r > 0);
			assert_true(tf_check(g, (size_t)r, info.mac, i, tf_len(i, 60, 1514)));
		}
	}
	assert_int_equal(STAT(dev, 0, tx_packets), n);
	assert_int_equal(STAT(dev, 0, tx_bytes), bytes);
	assert_int_equal(STAT(dev, 0, tx_kicks), n); /* one write() per frame */
	assert_int_equal(STAT(dev, 0, tx_errors), 0);

	/* kernel -> application */
	bytes = 0;
	for (uint64_t s = 0; s < n; s += 30) {
		for (uint64_t i = s; i < s + 30; i++) {
			size_t len = tf_len(i + 7, 60, 1514);

			tf_fill(f, len, peer_mac, i);
			assert_int_equal(send(ps, f, len, 0), (ssize_t)len);
			bytes += len;
		}
		for (uint64_t i = s; i < s + 30; i++) {
			size_t len = app_recv(q, g, &others, &other_bytes);

			assert_true(tf_check(g, len, peer_mac, i, tf_len(i + 7, 60, 1514)));
		}
	}
	assert_int_equal(STAT(dev, 0, rx_packets), n + others);
	assert_int_equal(STAT(dev, 0, rx_bytes), bytes + other_bytes);
	assert_int_equal(STAT(dev, 0, rx_dropped), 0);
	assert_int_equal(STAT(dev, 0, rx_errors), 0);
	/* every read() counts, the ones that found nothing too */
	assert_true(STAT(dev, 0, rx_kicks) >= n + others);
	close(ps);
	vnet_dev_close(dev);
	assert_int_equal(count_fds(), fds);
}

static void test_errors(void **state)
{
	struct vnet_buf b[8], c[2], r;
	struct vnet_dev *dev, *dev2;
	struct vnet_queue *q;
	int fds = count_fds();

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt0?qsize=4", NULL, &dev), 0);
	q = vnet_dev_queue(dev, 0);

	/* A second reader of a TAP without multi_queue is refused. */
	assert_int_equal(vnet_dev_open("tap:vt0", NULL, &dev2), -1);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(vnet_last_error(), "vt0"));

	/* qsize slots for TX, whatever is asked. */
	assert_int_equal(vnet_tx_reserve(q, b, 8), 4);
	assert_int_equal(vnet_tx_reserve(q, c, 1), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(b[i].len, CAP);

	/* Too long: refused, counted, nothing sent, the buffer still held. */
	b[0].len = CAP + 1;
	assert_int_equal(vnet_tx_submit(q, b, 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(STAT(dev, 0, tx_errors), 1);
	assert_int_equal(STAT(dev, 0, tx_kicks), 0);

	/* Bad ids: one not handed out, one twice in a burst, an RX slot. */
	c[0] = b[1];
	c[0].id = 60000;
	assert_int_equal(vnet_tx_submit(q, c, 1), -1);
	assert_int_equal(errno, EINVAL);
	c[0] = b[1];
	c[1] = b[1];
	c[0].len = c[1].len = 0;
	assert_int_equal(vnet_tx_submit(q, c, 2), -1);
	assert_int_equal(errno, EINVAL);
	c[0].id = 0; /* RX slots come first */
	assert_int_equal(vnet_tx_submit(q, c, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_rx_release(q, &b[1], 1), -1); /* a TX slot */
	assert_int_equal(errno, EINVAL);

	/* Nothing changed: the four still go out (len 0: returned unsent). A
	 * frame the kernel refuses (shorter than an Ethernet header) counts. */
	b[0].len = 60;
	b[1].len = 0;
	b[2].len = 10;
	b[3].len = 1514;
	memset(b[0].data, 0xff, 60);
	memset(b[2].data, 0xff, 10);
	memset(b[3].data, 0xff, 1514);
	assert_int_equal(vnet_tx_submit(q, b, 4), 4);
	assert_int_equal(STAT(dev, 0, tx_packets), 2);
	assert_int_equal(STAT(dev, 0, tx_bytes), 60 + 1514);
	assert_int_equal(STAT(dev, 0, tx_errors), 2);
	assert_int_equal(STAT(dev, 0, tx_kicks), 3);
	/* ...and the slots are free again; a submitted one is not held. */
	assert_int_equal(vnet_tx_submit(q, b, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_tx_reserve(q, b, 8), 4);
	for (int i = 0; i < 4; i++)
		b[i].len = 0;
	assert_int_equal(vnet_tx_submit(q, b, 4), 4);

	/* RX: release of something never peeked. */
	r = (struct vnet_buf){ .id = 1 };
	assert_int_equal(vnet_rx_release(q, &r, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_rx_peek(q, NULL, 0), 0);
	vnet_dev_close(dev);

	/* A name that exists as something else than a TAP. */
	assert_int_equal(vnet_dev_open("tap:lo", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(vnet_last_error(), "not a TAP"));
	assert_int_equal(vnet_dev_open("tap:lo?queues=2", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_dev_open("tap:vt0?queues=257", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(if_nametoindex("vt0"), 0);
	assert_int_equal(count_fds(), fds);
}

/* A frame longer than a slot (the MTU grew after open) is dropped, counted. */
static void test_oversize(void **state)
{
	uint8_t f[MAX_FRAME + 100], g[MAX_FRAME];
	struct vnet_dev_info info = { .sz = sizeof(info) };
	uint64_t others = 0, other_bytes = 0;
	struct vnet_dev *dev;
	int ps;

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt0", NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	set_mtu("vt0", 2000);
	ps = pkt_open("vt0");
	tf_fill(f, 2014, peer_mac, 1);
	assert_int_equal(send(ps, f, 2014, 0), 2014);
	tf_fill(f, 100, peer_mac, 2);
	assert_int_equal(send(ps, f, 100, 0), 100);
	assert_int_equal(app_recv(vnet_dev_queue(dev, 0), g, &others, &other_bytes), 100);
	assert_true(tf_check(g, 100, peer_mac, 2, 100));
	assert_int_equal(STAT(dev, 0, rx_dropped), 1);
	assert_int_equal(STAT(dev, 0, rx_errors), 1);
	assert_int_equal(STAT(dev, 0, rx_packets), 1 + others);
	close(ps);
	vnet_dev_close(dev);
}

/* queues=2: two tun files on one multi_queue interface, each sends. */
static void test_queues(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	uint8_t g[MAX_FRAME];
	struct vnet_dev *dev;
	int ps, fds = count_fds();

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt2?queues=2", NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.queue_pairs, 2);
	assert_int_equal(info.max_queue_pairs, 2);
	assert_null(vnet_dev_queue(dev, 2));
	ps = pkt_open("vt2");
	for (unsigned qp = 0; qp < 2; qp++) {
		app_send(vnet_dev_queue(dev, qp), info.mac, qp, 100 + qp);
		assert_int_equal(recv(ps, g, sizeof(g), 0), 100 + qp);
		assert_true(tf_check(g, 100 + qp, info.mac, qp, 100 + qp));
		assert_int_equal(STAT(dev, qp, tx_packets), 1);
	}
	/* One queue of an existing multi_queue TAP (the mode follows it). */
	{
		struct vnet_dev *one;

		assert_int_equal(vnet_dev_open("tap:vt2", NULL, &one), 0);
		app_send(vnet_dev_queue(one, 0), info.mac, 9, 200);
		assert_int_equal(recv(ps, g, sizeof(g), 0), 200);
		assert_true(tf_check(g, 200, info.mac, 9, 200));
		vnet_dev_close(one);
	}
	close(ps);
	vnet_dev_close(dev);
	assert_int_equal(count_fds(), fds);
}

struct sender {
	const char *ifname;
	unsigned delay_ms;
	size_t len;
};

/* After a pause, the kernel side sends one test frame. */
static void *send_later(void *arg)
{
	const struct sender *s = arg;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(TF_ETHERTYPE) };
	uint8_t f[MAX_FRAME];
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TF_ETHERTYPE));

	usleep(s->delay_ms * 1000);
	sll.sll_ifindex = (int)if_nametoindex(s->ifname);
	tf_fill(f, s->len, peer_mac, 77);
	if (fd < 0 || sendto(fd, f, s->len, 0, (struct sockaddr *)&sll, sizeof(sll)) !=
			      (ssize_t)s->len)
		fprintf(stderr, "send_later: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The next test frame on socket fd (blocking), skipping the kernel's own. */
static ssize_t sock_recv_test(int fd, uint8_t *g)
{
	for (;;) {
		ssize_t r = vnet_recv(fd, g, MAX_FRAME, 0);

		if (r < 0 || is_test_frame(g, (size_t)r))
			return r;
	}
}

/* The socket API over tap:, blocking receive and poll() included. */
static void test_socket(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct sender s = { .ifname = "vt1", .delay_ms = 100, .len = 321 };
	uint8_t f[MAX_FRAME], g[MAX_FRAME];
	struct pollfd pfd;
	pthread_t t;
	uint64_t t0;
	int fd, ps, fds = count_fds();

	(void)state;
	fd = vnet_socket("tap:vt1", 0, 0);
	assert_true(fd >= 0);
	assert_int_equal(vnet_socket_info(fd, &info), 0);
	ps = pkt_open("vt1");
	for (uint64_t i = 0; i < 40; i++) {
		size_t len = tf_len(i, 60, 1514);

		tf_fill(f, len, info.mac, i);
		assert_int_equal(vnet_send(fd, f, len, 0), (ssize_t)len);
		assert_int_equal(recv(ps, g, sizeof(g), 0), (ssize_t)len);
		assert_true(tf_check(g, len, info.mac, i, len));
	}
	for (uint64_t i = 0; i < 40; i++) {
		size_t len = tf_len(i + 3, 60, 1514);

		tf_fill(f, len, peer_mac, i);
		assert_int_equal(send(ps, f, len, 0), (ssize_t)len);
	}
	for (uint64_t i = 0; i < 40; i++) {
		ssize_t r = sock_recv_test(fd, g);

		assert_true(r > 0);
		assert_true(tf_check(g, (size_t)r, peer_mac, i, tf_len(i + 3, 60, 1514)));
	}

	/* A blocked vnet_recv() wakes when a frame arrives. */
	t0 = now_ms();
	assert_int_equal(pthread_create(&t, NULL, send_later, &s), 0);
	assert_int_equal(sock_recv_test(fd, g), 321);
	assert_true(now_ms() - t0 >= 90);
	assert_true(tf_check(g, 321, peer_mac, 77, 321));
	pthread_join(t, NULL);

	/* poll() on the descriptor reports the next one. */
	s.len = 123;
	assert_int_equal(pthread_create(&t, NULL, send_later, &s), 0);
	for (;;) {
		ssize_t r;

		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&pfd, 1, 2000), 1);
		r = vnet_recv(fd, g, sizeof(g), MSG_DONTWAIT);
		if (r < 0) {
			assert_int_equal(errno, EAGAIN); /* a spurious wake-up */
			continue;
		}
		if (is_test_frame(g, (size_t)r))
			break;
	}
	assert_true(tf_check(g, 123, peer_mac, 77, 123));
	pthread_join(t, NULL);
	close(ps);
	assert_int_equal(vnet_close(fd), 0);
	assert_int_equal(count_fds(), fds);
}

/* Make or unmake a persistent TAP interface, as ip tuntap does. */
static void persist(const char *ifname, int on)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, on), 0);
	close(fd);
}

/* An existing persistent interface: brought up, still there after close. */
static void test_persistent(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *dev;
	int fds = count_fds();

	(void)state;
	persist("vt4", 1);
	assert_int_equal(vnet_dev_open("tap:vt4", NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.link_up, 1);
	vnet_dev_close(dev);
	assert_true(if_nametoindex("vt4") > 0);
	/* It has no multi_queue: two queues cannot attach. */
	assert_int_equal(vnet_dev_open("tap:vt4?queues=2", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(vnet_last_error(), "multi_queue"));
	persist("vt4", 0);
	assert_int_equal(if_nametoindex("vt4"), 0);
	assert_int_equal(count_fds(), fds);
}

/* The raw wake-up path: vnet_queue_fd(), vnet_queue_arm(), poll(). */
static void test_queue_fd(void **state)
{
	struct sender s = { .ifname = "vt0", .delay_ms = 100, .len = 222 };
	struct vnet_wait w;
	struct vnet_dev *dev;
	struct vnet_queue *q;
	bool got = false;
	pthread_t t;
	int efd, fds = count_fds();

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt0", NULL, &dev), 0);
	q = vnet_dev_queue(dev, 0);
	assert_int_equal(vnet_queue_fd(q, VNET_WAIT_TX), -1); /* TX is always ready */
	assert_int_equal(errno, ENOTSUP);
	w = (struct vnet_wait){ .q = q, .events = VNET_WAIT_TX };
	assert_int_equal(vnet_wait(&w, 1, 0), 1);
	assert_int_equal(w.revents, VNET_WAIT_TX);
	efd = vnet_queue_fd(q, VNET_WAIT_RX);
	assert_true(efd >= 0);
	assert_int_equal(pthread_create(&t, NULL, send_later, &s), 0);
	while (!got) {
		struct pollfd pfd = { .fd = efd, .events = POLLIN };
		struct vnet_buf b;
		uint64_t count;
		int n;

		/* Armed with nothing waiting: the eventfd tells when to look. */
		if (vnet_queue_arm(q, VNET_WAIT_RX) == 0) {
			assert_int_equal(poll(&pfd, 1, 2000), 1);
			assert_int_equal(read(efd, &count, sizeof(count)), sizeof(count));
		}
		assert_int_equal(vnet_queue_disarm(q, VNET_WAIT_RX), 0);
		while ((n = vnet_rx_peek(q, &b, 1)) == 1) {
			if (is_test_frame(b.data, b.len)) {
				assert_int_equal(b.len, 222);
				assert_true(tf_check(b.data, b.len, peer_mac, 77, 222));
				got = true;
			}
			assert_int_equal(vnet_rx_release(q, &b, 1), 0);
		}
		assert_int_equal(n, 0);
	}
	pthread_join(t, NULL);
	vnet_dev_close(dev);
	assert_int_equal(count_fds(), fds);
}

/* The interface is deleted under the port: broken, ENETDOWN, waits end. */
static void test_vanish(void **state)
{
	struct vnet_dev *dev;
	struct vnet_queue *q;
	struct vnet_wait w;
	int fds = count_fds();

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt3", NULL, &dev), 0);
	q = vnet_dev_queue(dev, 0);
	if (system("ip link del vt3") != 0) {
		vnet_dev_close(dev);
		skip(); /* no ip(8) */
	}
	w = (struct vnet_wait){ .q = q, .events = VNET_WAIT_RX };
	assert_int_equal(vnet_wait(&w, 1, 1000), 1);
	assert_int_equal(w.revents, VNET_WAIT_ERR);
	expect_gone(dev, q);
	vnet_dev_close(dev);
	assert_int_equal(count_fds(), fds);
}

/* Taking the interface down and up: LINK_DOWN, then LINK_UP, through
 * vnet_dev_event() and its descriptor; vnet_dev_info() agrees. */
static void test_link_events(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *dev;

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt4", NULL, &dev), 0);
	assert_int_equal(next_event(dev, 0), 0);
	if (system("ip link set vt4 down") != 0) {
		vnet_dev_close(dev);
		skip(); /* no ip(8) */
	}
	assert_int_equal(next_event(dev, 1000), VNET_EV_LINK_DOWN);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.link_up, 0);
	assert_int_equal(system("ip link set vt4 up"), 0);
	assert_int_equal(next_event(dev, 1000), VNET_EV_LINK_UP);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.link_up, 1);
	vnet_dev_close(dev);
}

/* Settings go to the interface (checked with the kernel's own view) or
 * are refused with a reason; each change queues VNET_EV_SETTINGS. */
static void test_settings(void **state)
{
	static const uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x09 };
	struct vnet_dev_filters flt = { .sz = sizeof(flt) };
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *dev;
	struct vnet_queue *q;
	struct vnet_buf b;

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt5", NULL, &dev), 0);
	q = vnet_dev_queue(dev, 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.flags, VNET_IFF_UP);
	assert_int_equal(info.max_mtu, 1500);
	assert_int_equal(info.active_pairs, 1);
	while (next_event(dev, 0))
		;

	assert_int_equal(vnet_dev_set_promisc(dev, 1), 0);
	assert_int_equal(next_event(dev, 1000), VNET_EV_SETTINGS);
	assert_true(kernel_if("vt5", SIOCGIFFLAGS) & IFF_PROMISC);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.flags, VNET_IFF_UP | VNET_IFF_PROMISC);
	assert_int_equal(vnet_dev_set_allmulti(dev, 1), 0);
	assert_int_equal(next_event(dev, 1000), VNET_EV_SETTINGS);
	assert_true(kernel_if("vt5", SIOCGIFFLAGS) & IFF_ALLMULTI);
	assert_int_equal(vnet_dev_set_promisc(dev, 0), 0);
	assert_int_equal(vnet_dev_set_allmulti(dev, 0), 0);
	assert_int_equal(kernel_if("vt5", SIOCGIFFLAGS) & (IFF_PROMISC | IFF_ALLMULTI), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.flags, VNET_IFF_UP);

	/* MTU: the kernel's, and the port's own frame limit */
	assert_int_equal(vnet_dev_set_mtu(dev, 1000), 0);
	assert_int_equal(kernel_if("vt5", SIOCGIFMTU), 1000);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.mtu, 1000);
	assert_int_equal(vnet_tx_reserve(q, &b, 1), 1);
	assert_int_equal(b.len, 1018);
	tf_fill(b.data, 1019, peer_mac, 1);
	b.len = 1019;
	expect_err(vnet_tx_submit(q, &b, 1), EMSGSIZE);
	assert_int_equal(STAT(dev, 0, tx_errors), 1);
	b.len = 0; /* returned unsent */
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	expect_err(vnet_dev_set_mtu(dev, 1501), ERANGE);
	assert_non_null(strstr(vnet_last_error(), "1500"));
	assert_int_equal(kernel_if("vt5", SIOCGIFMTU), 1000);

	/* multicast entries: the kernel's list; unicast ones have no ioctl */
	assert_int_equal(vnet_dev_mac_add(dev, mc), 0);
	assert_true(kernel_has_mc("vt5", mc));
	expect_err(vnet_dev_mac_add(dev, mc), EEXIST);
	assert_int_equal(vnet_dev_filters(dev, &flt), 0);
	assert_int_equal(flt.n_mac, 1);
	assert_memory_equal(flt.mac[0], mc, 6);
	assert_int_equal(vnet_dev_mac_del(dev, mc), 0);
	assert_false(kernel_has_mc("vt5", mc));
	expect_err(vnet_dev_mac_del(dev, mc), ENOENT);
	expect_err(vnet_dev_mac_add(dev, peer_mac), EOPNOTSUPP);

	/* no kernel equivalent: refused with the reason */
	expect_err(vnet_dev_set_mac(dev, peer_mac), EOPNOTSUPP);
	assert_non_null(strstr(vnet_last_error(), "mac="));
	expect_err(vnet_dev_vlan_add(dev, 5), EOPNOTSUPP);
	expect_err(vnet_dev_set_queue_pairs(dev, 1), EOPNOTSUPP);
	expect_kernel_owns_rss(dev);
	/* the changes above that took effect, one event each: 5 so far */
	for (int k = 0; k < 5; k++)
		assert_int_equal(next_event(dev, 1000), VNET_EV_SETTINGS);
	assert_int_equal(next_event(dev, 0), 0);
	vnet_dev_close(dev);
	/* the interface went with the port: nothing to restore */
	assert_int_equal(if_nametoindex("vt5"), 0);
}

/* Down is the port's state (the interface stays up): sends fail, frames
 * from the kernel are dropped and counted; up again, they flow. */
static void test_admin_down(void **state)
{
	uint8_t f[MAX_FRAME], g[MAX_FRAME];
	uint64_t others = 0, other_bytes = 0, end;
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *dev;
	struct vnet_queue *q;
	struct vnet_buf b;
	int ps;

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt6", NULL, &dev), 0);
	q = vnet_dev_queue(dev, 0);
	ps = pkt_open("vt6");
	assert_int_equal(vnet_dev_set_up(dev, 0), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.flags & VNET_IFF_UP, 0);
	assert_int_equal(info.link_up, 1);
	assert_true(kernel_if("vt6", SIOCGIFFLAGS) & IFF_UP);
	expect_err(vnet_tx_reserve(q, &b, 1), ENETDOWN);
	for (uint64_t i = 0; i < 3; i++) {
		tf_fill(f, 100, peer_mac, i);
		assert_int_equal(send(ps, f, 100, 0), 100);
	}
	end = now_ms() + 2000;
	while (STAT(dev, 0, rx_dropped) < 3) {
		assert_int_equal(vnet_rx_peek(q, &b, 1), 0);
		assert_true(now_ms() < end);
	}
	assert_int_equal(STAT(dev, 0, rx_packets), 0);
	assert_int_equal(STAT(dev, 0, rx_errors), 0);

	assert_int_equal(vnet_dev_set_up(dev, 1), 0);
	tf_fill(f, 120, peer_mac, 9);
	assert_int_equal(send(ps, f, 120, 0), 120);
	assert_int_equal(app_recv(q, g, &others, &other_bytes), 120);
	assert_true(tf_check(g, 120, peer_mac, 9, 120));
	app_send(q, peer_mac, 10, 90);
	for (;;) {
		ssize_t r = recv(ps, g, sizeof(g), 0);

		assert_true(r > 0);
		if (tf_check(g, (size_t)r, peer_mac, 10, 90))
			break;
	}
	close(ps);
	vnet_dev_close(dev);
}

/* The kernel's counters of the interface: frames the application did not
 * read in time (a TAP queue of one frame) are its TX drops. */
static void test_xstats(void **state)
{
	struct ifreq ifr = { .ifr_qlen = 1 };
	struct vnet_xstat xs[8];
	struct vnet_dev *dev;
	uint8_t f[200];
	int ps, fd, n;

	(void)state;
	assert_int_equal(vnet_dev_open("tap:vt7", NULL, &dev), 0);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vt7");
	assert_int_equal(ioctl(fd, SIOCSIFTXQLEN, &ifr), 0);
	close(fd);
	n = vnet_dev_xstats(dev, xs, 8);
	assert_int_equal(n, 4);
	assert_string_equal(xs[0].name, "if_rx_errors");
	assert_string_equal(xs[1].name, "if_rx_dropped");
	assert_string_equal(xs[2].name, "if_tx_errors");
	assert_string_equal(xs[3].name, "if_tx_dropped");
	assert_int_equal(xs[3].value, 0);
	ps = pkt_open("vt7");
	for (uint64_t i = 0; i < 5; i++) {
		tf_fill(f, sizeof(f), peer_mac, i);
		assert_int_equal(send(ps, f, sizeof(f), 0), (ssize_t)sizeof(f));
	}
	/* one waits in the TAP's queue, the others were dropped */
	assert_int_equal(vnet_dev_xstats(dev, xs, 8), 4);
	assert_true(xs[3].value >= 4);
	close(ps);
	vnet_dev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info),    cmocka_unit_test(test_frames),
		cmocka_unit_test(test_errors),  cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_queues),  cmocka_unit_test(test_socket),
		cmocka_unit_test(test_queue_fd), cmocka_unit_test(test_persistent),
		cmocka_unit_test(test_vanish),  cmocka_unit_test(test_link_events),
		cmocka_unit_test(test_settings), cmocka_unit_test(test_admin_down),
		cmocka_unit_test(test_xstats),
	};
	int fd;

	/* Before any thread exists: interfaces made here vanish with us. */
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "skip: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "skip: /dev/net/tun: %s\n", strerror(errno));
		return 77;
	}
	close(fd);
	alarm(300); /* a lost wake-up fails the test instead of hanging it */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
