/* SPDX-License-Identifier: MIT */
/*
 * The xdp: port end to end, in a private network namespace: a veth pair
 * va/vb, the application on xdp:va (burst and socket APIs), an AF_PACKET
 * socket on vb as the far end. Frames carry EtherType 0x88b5 (frames.h)
 * and everything else (kernel chatter) is skipped; IPv6 is off to keep
 * the chatter down. Needs root: exits 77 (skip) when the namespace, veth
 * or bpf() are not permitted.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>

#include <cmocka.h>

#include "vnet/socket.h"
#include "vnet/vnet.h"
#include "../unit/testutil.h"
#include "events.h"
#include "frames.h"
#include "ifkernel.h"

#define MIN_LEN 60
#define MAX_LEN 1514
#define WINDOW 32
#define TIMEOUT_MS 2000

static uint8_t mac_a[6], mac_b[6]; /* va's and vb's */

static void get_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* An AF_PACKET socket on ifname that sees only our EtherType. */
static int pk_open(const char *ifname)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(TF_ETHERTYPE),
				  .sll_ifindex = (int)if_nametoindex(ifname) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TF_ETHERTYPE));

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void pk_send(int fd, uint64_t seq, size_t len, const uint8_t mac[6])
{
	uint8_t f[MAX_LEN];

	tf_fill(f, len, mac, seq);
	assert_int_equal(send(fd, f, len, 0), (ssize_t)len);
}

/* The next frame arriving on fd (never our own sends), or -1 on timeout. */
static ssize_t pk_recv(int fd, uint8_t *f, size_t cap, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, timeout_ms) == 1) {
		struct sockaddr_ll sa;
		socklen_t sl = sizeof(sa);
		ssize_t n = recvfrom(fd, f, cap, 0, (struct sockaddr *)&sa, &sl);

		assert_true(n >= 0);
		if (sa.sll_pkttype != PACKET_OUTGOING)
			return n;
	}
	return -1;
}

static struct vnet_dev *open_dev(const char *uri, struct vnet_queue **q)
{
	struct vnet_dev *dev = NULL;

	if (vnet_dev_open(uri, NULL, &dev) != 0)
		fail_msg("%s: %s", uri, vnet_last_error());
	*q = vnet_dev_queue(dev, 0);
	assert_non_null(*q);
	return dev;
}

/* Send frames [seq, seq + n) from the application, in one burst. */
static void app_send(struct vnet_queue *q, uint64_t seq, unsigned n, const uint8_t mac[6])
{
	struct vnet_buf b[WINDOW];
	int got = 0;

	assert_true(n <= WINDOW);
	for (int tries = 0; got < (int)n && tries < 1000; tries++) {
		int r = vnet_tx_reserve(q, b + got, n - (unsigned)got);

		assert_true(r >= 0);
		got += r;
		if (got < (int)n)
			usleep(100);
	}
	assert_int_equal(got, n);
	for (unsigned i = 0; i < n; i++) {
		b[i].len = (uint32_t)tf_len(seq + i, MIN_LEN, MAX_LEN);
		assert_true(b[i].len <= 1518);
		tf_fill(b[i].data, b[i].len, mac, seq + i);
	}
	assert_int_equal(vnet_tx_submit(q, b, n), (int)n);
}

/* Receive frame seq on the application side and check every byte. */
static void app_expect(struct vnet_queue *q, uint64_t seq, const uint8_t mac[6])
{
	for (;;) {
		struct vnet_wait w = { .q = q, .events = VNET_WAIT_RX };
		struct vnet_buf b;
		int r = vnet_rx_peek(q, &b, 1);

		assert_true(r >= 0);
		if (r == 0) {
			assert_int_equal(vnet_wait(&w, 1, TIMEOUT_MS), 1);
			continue;
		}
		assert_int_equal(b.flags, 0);
		if (b.len >= 14 && ((uint8_t *)b.data)[12] == (TF_ETHERTYPE >> 8) &&
		    ((uint8_t *)b.data)[13] == (TF_ETHERTYPE & 0xff)) {
			assert_true(tf_check(b.data, b.len, mac, seq,
					     tf_len(seq, MIN_LEN, MAX_LEN)));
			assert_int_equal(vnet_rx_release(q, &b, 1), 0);
			return;
		}
		assert_int_equal(vnet_rx_release(q, &b, 1), 0); /* chatter */
	}
}

static void get_stats(struct vnet_dev *dev, struct vnet_queue_stats *st)
{
	*st = (struct vnet_queue_stats){ .sz = sizeof(*st) };
	assert_int_equal(vnet_queue_stats(dev, 0, st), 0);
}

static bool xdp_attached(const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, o);

	assert_int_equal(bpf_xdp_query((int)if_nametoindex(ifname), 0, &o), 0);
	return o.attach_mode != XDP_ATTACHED_NONE;
}

static void test_info(void **state)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vnet_queue *q;
	struct vnet_dev *dev = open_dev("xdp:va", &q);

	(void)state;
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_string_equal(i.uri, "xdp:va");
	assert_string_equal(i.access, "af_xdp");
	assert_memory_equal(i.mac, mac_a, 6);
	assert_int_equal(i.mtu, 1500);
	assert_int_equal(i.queue_pairs, 1);
	assert_true(i.max_queue_pairs >= 1);
	assert_int_equal(i.queue_size, 256);
	assert_int_equal(i.features, 0);
	assert_int_equal(i.link_up, 1);
	assert_int_equal(i.broken, 0);
	assert_true(vnet_queue_fd(q, VNET_WAIT_RX) >= 0);
	assert_int_equal(vnet_queue_fd(q, VNET_WAIT_TX), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_true(vnet_dev_event_fd(dev) >= 0); /* link events */
	vnet_dev_close(dev);
}

/* Windows of frames each way, every byte checked, and the counters. */
static void test_both_ways(void **state)
{
	uint64_t n = tf_scale(10000), bytes = 0;
	struct vnet_queue_stats st;
	struct vnet_queue *q;
	struct vnet_dev *dev = open_dev("xdp:va", &q);
	int pk = pk_open("vb");
	uint8_t f[MAX_LEN + 64];

	(void)state;
	for (uint64_t seq = 0; seq < n; seq += WINDOW) {
		unsigned w = (unsigned)(n - seq < WINDOW ? n - seq : WINDOW);

		app_send(q, seq, w, mac_b);
		for (unsigned i = 0; i < w; i++) {
			ssize_t len = pk_recv(pk, f, sizeof(f), TIMEOUT_MS);

			assert_true(len > 0);
			assert_true(tf_check(f, (size_t)len, mac_b, seq + i,
					     tf_len(seq + i, MIN_LEN, MAX_LEN)));
			bytes += (uint64_t)len;
		}
	}
	get_stats(dev, &st);
	assert_int_equal(st.tx_packets, n);
	assert_int_equal(st.tx_bytes, bytes);
	assert_int_equal(st.tx_errors, 0);
	assert_true(st.tx_kicks > 0);

	bytes = 0;
	for (uint64_t seq = 0; seq < n; seq += WINDOW) {
		unsigned w = (unsigned)(n - seq < WINDOW ? n - seq : WINDOW);

		for (unsigned i = 0; i < w; i++)
			pk_send(pk, seq + i, tf_len(seq + i, MIN_LEN, MAX_LEN), mac_a);
		for (unsigned i = 0; i < w; i++) {
			app_expect(q, seq + i, mac_a);
			bytes += tf_len(seq + i, MIN_LEN, MAX_LEN);
		}
	}
	get_stats(dev, &st);
	assert_true(st.rx_packets >= n); /* and any chatter */
	assert_true(st.rx_bytes >= bytes);
	assert_int_equal(st.rx_dropped, 0);
	assert_int_equal(st.rx_errors, 0);
	close(pk);
	vnet_dev_close(dev);
}

static void test_bad_buffers(void **state)
{
	struct vnet_queue_stats st;
	struct vnet_queue *q;
	struct vnet_dev *dev = open_dev("xdp:va", &q);
	struct vnet_buf b[2], rx;
	int pk = pk_open("vb");
	uint8_t f[MAX_LEN + 64];

	(void)state;
	assert_int_equal(vnet_tx_reserve(q, b, 2), 2);
	assert_int_equal(b[0].len, 1518);
	/* Too long: nothing sent, counted. */
	b[1].len = b[1].len + 1;
	b[0].len = 100;
	assert_int_equal(vnet_tx_submit(q, b, 2), -1);
	assert_int_equal(errno, EMSGSIZE);
	/* The same buffer twice, and an id never reserved. */
	b[1] = b[0];
	assert_int_equal(vnet_tx_submit(q, b, 2), -1);
	assert_int_equal(errno, EINVAL);
	b[1].id = 0; /* an RX frame */
	b[1].len = 0;
	assert_int_equal(vnet_tx_submit(q, b, 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_rx_release(q, b, 1), -1); /* a TX frame */
	assert_int_equal(errno, EINVAL);
	get_stats(dev, &st);
	assert_int_equal(st.tx_errors, 1);
	assert_int_equal(st.tx_packets, 0);
	/* Nothing changed: both buffers still go, one sent, one unsent. */
	assert_int_equal(vnet_tx_reserve(q, b + 1, 1), 1);
	tf_fill(b[0].data, 100, mac_b, 7);
	b[1].len = 0;
	assert_int_equal(vnet_tx_submit(q, b, 2), 2);
	assert_int_equal(pk_recv(pk, f, sizeof(f), TIMEOUT_MS), 100);
	assert_true(tf_check(f, 100, mac_b, 7, 100));
	assert_int_equal(pk_recv(pk, f, sizeof(f), 100), -1);
	/* A peeked frame given back twice. */
	pk_send(pk, 3, tf_len(3, MIN_LEN, MAX_LEN), mac_a);
	app_expect(q, 3, mac_a);
	pk_send(pk, 4, 64, mac_a);
	for (int r = 0; r == 0;) {
		struct vnet_wait w = { .q = q, .events = VNET_WAIT_RX };

		assert_int_equal(vnet_wait(&w, 1, TIMEOUT_MS), 1);
		r = vnet_rx_peek(q, &rx, 1);
		assert_true(r >= 0);
	}
	b[0] = rx;
	b[1] = rx;
	assert_int_equal(vnet_rx_release(q, b, 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_rx_release(q, &rx, 1), 0);
	assert_int_equal(vnet_rx_release(q, &rx, 1), -1);
	assert_int_equal(errno, EINVAL);
	close(pk);
	vnet_dev_close(dev);
}

struct later {
	int pk;
	uint64_t seq;
};

static void *send_later(void *arg)
{
	struct later *l = arg;

	usleep(100000);
	pk_send(l->pk, l->seq, tf_len(l->seq, MIN_LEN, MAX_LEN), mac_a);
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The socket API: a blocked vnet_recv() wakes on arrival; poll() on the
 * descriptor reports a frame in the ring; vnet_send() reaches the peer. */
static void test_socket(void **state)
{
	int fd = vnet_socket("xdp:va", 0, 0), pk = pk_open("vb");
	struct later l = { .pk = pk, .seq = 11 };
	uint8_t f[MAX_LEN + 64];
	struct pollfd p;
	pthread_t t;
	uint64_t t0;
	ssize_t n;

	(void)state;
	if (fd < 0)
		fail_msg("vnet_socket: %s", vnet_last_error());
	assert_int_equal(pthread_create(&t, NULL, send_later, &l), 0);
	t0 = now_ms();
	n = vnet_recv(fd, f, sizeof(f), 0);
	assert_true(now_ms() - t0 >= 90);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(tf_check(f, (size_t)n, mac_a, 11, tf_len(11, MIN_LEN, MAX_LEN)));

	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	l.seq = 12;
	assert_int_equal(pthread_create(&t, NULL, send_later, &l), 0);
	assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
	assert_true(p.revents & POLLIN);
	assert_int_equal(pthread_join(t, NULL), 0);
	n = vnet_recv(fd, f, sizeof(f), MSG_DONTWAIT);
	assert_true(tf_check(f, (size_t)n, mac_a, 12, tf_len(12, MIN_LEN, MAX_LEN)));

	/* Two frames: a receive takes both from the ring and keeps one; the
	 * descriptor stays readable until that one is read too. */
	pk_send(pk, 14, 100, mac_a);
	pk_send(pk, 15, 100, mac_a);
	assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
	usleep(20000); /* both in the ring */
	assert_int_equal(vnet_recv(fd, f, sizeof(f), MSG_DONTWAIT), 100);
	assert_true(tf_check(f, 100, mac_a, 14, 100));
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_int_equal(vnet_recv(fd, f, sizeof(f), MSG_DONTWAIT), 100);
	assert_true(tf_check(f, 100, mac_a, 15, 100));
	assert_int_equal(poll(&p, 1, 0), 0);

	tf_fill(f, 200, mac_b, 13);
	assert_int_equal(vnet_send(fd, f, 200, 0), 200);
	assert_int_equal(pk_recv(pk, f, sizeof(f), TIMEOUT_MS), 200);
	assert_true(tf_check(f, 200, mac_b, 13, 200));
	assert_int_equal(vnet_close(fd), 0);
	close(pk);
}

/* A second open finds the first one's program: EBUSY, and the first goes on. */
static void test_second_open_busy(void **state)
{
	struct vnet_queue *q;
	struct vnet_dev *dev = open_dev("xdp:va", &q), *dev2 = NULL;
	int pk = pk_open("vb");
	uint8_t f[MAX_LEN + 64];

	(void)state;
	assert_int_equal(vnet_dev_open("xdp:va", NULL, &dev2), -1);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(vnet_last_error(), "already has an XDP program"));
	assert_null(dev2);
	assert_int_equal(vnet_dev_open("xdp:va?attach=skb", NULL, &dev2), -1);
	assert_int_equal(errno, EBUSY);
	app_send(q, 21, 1, mac_b);
	assert_true(pk_recv(pk, f, sizeof(f), TIMEOUT_MS) > 0);
	assert_true(tf_check(f, tf_len(21, MIN_LEN, MAX_LEN), mac_b, 21,
			     tf_len(21, MIN_LEN, MAX_LEN)));
	pk_send(pk, 22, tf_len(22, MIN_LEN, MAX_LEN), mac_a);
	app_expect(q, 22, mac_a);
	close(pk);
	vnet_dev_close(dev);
}

/* Close detaches our program and leaves no descriptor; generic mode too. */
static void test_close_detaches(void **state)
{
	static const char *const uris[] = { "xdp:va", "xdp:va?attach=skb", "xdp:va?attach=drv" };

	(void)state;
	for (size_t k = 0; k < sizeof(uris) / sizeof(uris[0]); k++) {
		int fds = count_fds(), pk = pk_open("vb");
		struct vnet_queue *q;
		struct vnet_dev *dev = open_dev(uris[k], &q);

		assert_true(xdp_attached("va"));
		pk_send(pk, 30 + k, tf_len(30 + k, MIN_LEN, MAX_LEN), mac_a);
		app_expect(q, 30 + k, mac_a);
		app_send(q, 40 + k, 1, mac_b);
		vnet_dev_close(dev);
		assert_false(xdp_attached("va"));
		close(pk);
		assert_int_equal(count_fds(), fds);
	}
}

static void expect_open_error(const char *uri, int err, const char *words)
{
	struct vnet_dev *dev = NULL;
	int fds = count_fds();

	assert_int_equal(vnet_dev_open(uri, NULL, &dev), -1);
	assert_int_equal(errno, err);
	if (!strstr(vnet_last_error(), words))
		fail_msg("%s: \"%s\" does not say \"%s\"", uri, vnet_last_error(), words);
	assert_null(dev);
	assert_int_equal(count_fds(), fds);
	assert_false(xdp_attached("va"));
}

static void test_open_errors(void **state)
{
	(void)state;
	expect_open_error("xdp:nosuch0", ENODEV, "no interface nosuch0");
	expect_open_error("xdp:va?qsize=100", EINVAL, "power of two");
	expect_open_error("xdp:va?qsize=2048", ENOBUFS, "RLIMIT_MEMLOCK");
	expect_open_error("xdp:va@7", EINVAL, "queue 7");
}

static void *delete_later(void *arg)
{
	usleep(100000);
	assert_int_equal(system(arg), 0);
	return NULL;
}

/* The interface vanishes under an open port: a waiter sleeping on RX
 * without a frame in sight wakes, and calls fail. */
static void vanish_once(void)
{
	int fds = count_fds();
	struct vnet_queue *q;
	struct vnet_dev *dev;
	struct vnet_wait w;
	pthread_t t;
	uint64_t t0;
	int rc;

	assert_int_equal(system("ip link add vc type veth peer name vd && ip link set vc up && "
				"ip link set vd up"), 0);
	dev = open_dev("xdp:vc", &q);
	assert_int_equal(pthread_create(&t, NULL, delete_later, "ip link del vc"), 0);
	w = (struct vnet_wait){ .q = q, .events = VNET_WAIT_RX };
	t0 = now_ms();
	/* Other link changes (the carrier going down first) may end a wait
	 * early with nothing to report, as any spurious wake-up may. */
	while ((rc = vnet_wait(&w, 1, 3 * TIMEOUT_MS)) == 0 && now_ms() - t0 < 1500)
		;
	assert_int_equal(rc, 1);
	assert_true(now_ms() - t0 < 1500);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.revents, VNET_WAIT_ERR);
	expect_gone(dev, q);
	vnet_dev_close(dev);
	assert_int_equal(count_fds(), fds);
}

/* Once as configured, once with the event engine in epoll, whose sleeper
 * hears nothing from the AF_XDP socket itself when its interface goes (the
 * engine picks its backend as its first source arrives: none is open). */
static void test_vanish(void **state)
{
	const char *mode = getenv("VNET_EVENTS");
	char *saved = mode ? strdup(mode) : NULL;

	(void)state;
	vanish_once();
	assert_int_equal(setenv("VNET_EVENTS", "epoll", 1), 0);
	vanish_once();
	if (saved)
		setenv("VNET_EVENTS", saved, 1);
	else
		unsetenv("VNET_EVENTS");
	free(saved);
}

/* Receive one frame of ours from either queue of w; its queue's index. */
static int app_recv_any(struct vnet_wait *w, uint8_t *f, size_t *len)
{
	for (;;) {
		for (int k = 0; k < 2; k++) {
			struct vnet_buf b;
			int r = vnet_rx_peek(w[k].q, &b, 1);

			assert_true(r >= 0);
			if (!r)
				continue;
			assert_true(b.len <= MAX_LEN);
			memcpy(f, b.data, b.len);
			*len = b.len;
			assert_int_equal(vnet_rx_release(w[k].q, &b, 1), 0);
			if (b.len >= 14 && f[12] == (TF_ETHERTYPE >> 8) && f[13] == (TF_ETHERTYPE & 0xff))
				return k;
		}
		assert_true(vnet_wait(w, 2, TIMEOUT_MS) > 0);
	}
}

/* queues=2 binds a socket to each queue; @QUEUE picks where to start. */
/* The peer going down takes va's carrier: LINK_DOWN, then LINK_UP, through
 * vnet_dev_event() and its descriptor; vnet_dev_info() agrees. */
static void test_link_events(void **state)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vnet_queue *q;
	struct vnet_dev *dev = open_dev("xdp:va", &q);

	(void)state;
	assert_int_equal(next_event(dev, 0), 0);
	assert_int_equal(system("ip link set vb down"), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_LINK_DOWN);
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_int_equal(i.link_up, 0);
	assert_int_equal(i.broken, 0);
	assert_int_equal(system("ip link set vb up"), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_LINK_UP);
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_int_equal(i.link_up, 1);
	vnet_dev_close(dev);
}

static void test_two_queues(void **state)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vnet_wait w[2];
	struct vnet_dev *dev = NULL;
	uint64_t last[2] = { 0, 0 };
	uint8_t f[MAX_LEN + 64], mac_m[6];
	int fds = count_fds(), pk;

	(void)state;
	assert_int_equal(system("ip link add vm numtxqueues 2 numrxqueues 2 type veth peer name vn "
			    "numtxqueues 2 numrxqueues 2 && ip link set vm up && ip link set vn up"),
			 0);
	get_mac("vm", mac_m);
	pk = pk_open("vn");
	if (vnet_dev_open("xdp:vm?queues=2", NULL, &dev) != 0)
		fail_msg("xdp:vm?queues=2: %s", vnet_last_error());
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_int_equal(i.queue_pairs, 2);
	assert_int_equal(i.max_queue_pairs, 2);
	for (int k = 0; k < 2; k++)
		w[k] = (struct vnet_wait){ .q = vnet_dev_queue(dev, (unsigned)k),
					   .events = VNET_WAIT_RX };
	assert_non_null(w[1].q);
	assert_true(vnet_queue_fd(w[0].q, VNET_WAIT_RX) != vnet_queue_fd(w[1].q, VNET_WAIT_RX));
	/* Out through queue 1. */
	app_send(w[1].q, 50, 1, mac_b);
	assert_true(pk_recv(pk, f, sizeof(f), TIMEOUT_MS) > 0);
	assert_true(tf_check(f, tf_len(50, MIN_LEN, MAX_LEN), mac_b, 50,
			     tf_len(50, MIN_LEN, MAX_LEN)));
	/* In on whichever queue the peer's side picks: each frame once, in
	 * order on its queue. */
	for (uint64_t seq = 1; seq <= 64; seq++)
		pk_send(pk, seq, tf_len(seq, MIN_LEN, MAX_LEN), mac_m);
	for (int got = 0; got < 64; got++) {
		size_t len;
		int k = app_recv_any(w, f, &len);
		uint64_t seq;

		memcpy(&seq, f + 14, sizeof(seq));
		assert_true(seq > last[k] && seq <= 64);
		assert_true(tf_check(f, len, mac_m, seq, tf_len(seq, MIN_LEN, MAX_LEN)));
		last[k] = seq;
	}
	vnet_dev_close(dev);
	/* Queue 1 alone; queues past the interface's are refused. */
	if (vnet_dev_open("xdp:vm@1", NULL, &dev) != 0)
		fail_msg("xdp:vm@1: %s", vnet_last_error());
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_int_equal(i.queue_pairs, 1);
	vnet_dev_close(dev);
	dev = NULL;
	assert_int_equal(vnet_dev_open("xdp:vm@1?queues=2", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(vnet_last_error(), "queue 2"));
	close(pk);
	assert_int_equal(system("ip link del vm"), 0);
	assert_int_equal(count_fds(), fds);
}

/* Settings are va's own (checked with the kernel's view) or refused with
 * a reason; everything is put back for the other tests. */
static void test_settings(void **state)
{
	static const uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x0b };
	static const uint8_t mac[6] = { 0x02, 0x33, 0x33, 0x33, 0x33, 0x01 };
	struct vnet_dev_filters flt = { .sz = sizeof(flt) };
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vnet_queue_stats st;
	struct vnet_queue *q;
	struct vnet_dev *dev = open_dev("xdp:va", &q);
	struct vnet_buf b;
	uint8_t kmac[6];

	(void)state;
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_int_equal(i.flags, VNET_IFF_UP);
	assert_int_equal(i.max_mtu, 1500);
	assert_int_equal(i.active_pairs, 1);

	assert_int_equal(vnet_dev_set_promisc(dev, 1), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_SETTINGS);
	assert_true(kernel_if("va", SIOCGIFFLAGS) & IFF_PROMISC);
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_int_equal(i.flags, VNET_IFF_UP | VNET_IFF_PROMISC);
	assert_int_equal(vnet_dev_set_promisc(dev, 0), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_SETTINGS);
	assert_int_equal(kernel_if("va", SIOCGIFFLAGS) & IFF_PROMISC, 0);

	/* MTU: the interface's, and the port's frame limit */
	assert_int_equal(vnet_dev_set_mtu(dev, 1000), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_SETTINGS);
	assert_int_equal(kernel_if("va", SIOCGIFMTU), 1000);
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_int_equal(i.mtu, 1000);
	assert_int_equal(vnet_tx_reserve(q, &b, 1), 1);
	assert_int_equal(b.len, 1018);
	b.len = 1019;
	expect_err(vnet_tx_submit(q, &b, 1), EMSGSIZE);
	get_stats(dev, &st);
	assert_int_equal(st.tx_errors, 1);
	b.len = 0; /* returned unsent */
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	expect_err(vnet_dev_set_mtu(dev, 1501), ERANGE);
	assert_int_equal(vnet_dev_set_mtu(dev, 1500), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_SETTINGS);
	assert_int_equal(kernel_if("va", SIOCGIFMTU), 1500);

	/* the station address is the interface's */
	assert_int_equal(vnet_dev_set_mac(dev, mac), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_SETTINGS);
	get_mac("va", kmac);
	assert_memory_equal(kmac, mac, 6);
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_memory_equal(i.mac, mac, 6);
	assert_int_equal(vnet_dev_set_mac(dev, mac_a), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_SETTINGS);
	get_mac("va", kmac);
	assert_memory_equal(kmac, mac_a, 6);

	/* multicast entries; the rest has no kernel equivalent */
	assert_int_equal(vnet_dev_mac_add(dev, mc), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_SETTINGS);
	assert_true(kernel_has_mc("va", mc));
	assert_int_equal(vnet_dev_filters(dev, &flt), 0);
	assert_int_equal(flt.n_mac, 1);
	assert_memory_equal(flt.mac[0], mc, 6);
	assert_int_equal(vnet_dev_mac_del(dev, mc), 0);
	assert_int_equal(next_event(dev, TIMEOUT_MS), VNET_EV_SETTINGS);
	assert_false(kernel_has_mc("va", mc));
	expect_err(vnet_dev_mac_del(dev, mc), ENOENT);
	expect_err(vnet_dev_mac_add(dev, mac), EOPNOTSUPP);
	expect_err(vnet_dev_vlan_add(dev, 7), EOPNOTSUPP);
	expect_err(vnet_dev_set_queue_pairs(dev, 1), EOPNOTSUPP);
	expect_kernel_owns_rss(dev);
	assert_int_equal(next_event(dev, 0), 0);
	/* the interface's own counters, as the kernel has them */
	assert_int_equal(vnet_dev_xstats(dev, NULL, 0), 4);
	vnet_dev_close(dev);
}

/* Down is the port's state: sends fail, frames that arrive are dropped
 * and counted, the interface stays up; up again, frames flow. */
static void test_admin_down(void **state)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vnet_queue_stats st;
	struct vnet_queue *q;
	struct vnet_dev *dev = open_dev("xdp:va", &q);
	struct vnet_buf b;
	uint8_t f[MAX_LEN];
	uint64_t end = now_ms() + TIMEOUT_MS;
	int pk = pk_open("vb");

	(void)state;
	assert_int_equal(vnet_dev_set_up(dev, 0), 0);
	assert_int_equal(vnet_dev_info(dev, &i), 0);
	assert_int_equal(i.flags & VNET_IFF_UP, 0);
	assert_true(kernel_if("va", SIOCGIFFLAGS) & IFF_UP);
	expect_err(vnet_tx_reserve(q, &b, 1), ENETDOWN);
	for (uint64_t k = 0; k < 3; k++)
		pk_send(pk, k, 100, mac_a);
	do {
		assert_int_equal(vnet_rx_peek(q, &b, 1), 0);
		get_stats(dev, &st);
		assert_true(now_ms() < end);
	} while (st.rx_dropped < 3);
	assert_int_equal(st.rx_packets, 0);
	assert_int_equal(st.rx_errors, 0);

	assert_int_equal(vnet_dev_set_up(dev, 1), 0);
	pk_send(pk, 5, tf_len(5, MIN_LEN, MAX_LEN), mac_a);
	app_expect(q, 5, mac_a);
	app_send(q, 6, 1, mac_a);
	for (;;) {
		ssize_t n = pk_recv(pk, f, sizeof(f), TIMEOUT_MS);

		assert_true(n > 0);
		if (tf_check(f, (size_t)n, mac_a, 6, tf_len(6, MIN_LEN, MAX_LEN)))
			break;
	}
	close(pk);
	vnet_dev_close(dev);
}

/* Root, a network namespace of our own, a veth pair and bpf(), or skip. */
static int setup_netns(void)
{
	int fd;

	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "test_xdp_port: SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	/* No IPv6 router solicitations or MLD reports on the wire. */
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "test_xdp_port: IPv6 stays on: %s\n", strerror(errno));
		close(fd);
	}
	if (system("ip link add va type veth peer name vb && ip link set va up && "
	       "ip link set vb up") != 0) {
		fprintf(stderr, "test_xdp_port: SKIP: cannot make a veth pair with ip(8)\n");
		return 77;
	}
	get_mac("va", mac_a);
	get_mac("vb", mac_b);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_both_ways),
		cmocka_unit_test(test_bad_buffers),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_second_open_busy),
		cmocka_unit_test(test_close_detaches),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_vanish),
		cmocka_unit_test(test_link_events),
		cmocka_unit_test(test_two_queues),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_admin_down),
	};
	struct vnet_dev *dev = NULL;
	int rc = setup_netns();

	if (rc)
		return rc;
	if (vnet_dev_open("xdp:va", NULL, &dev) != 0) {
		if (errno == EPERM || errno == EACCES) {
			fprintf(stderr, "test_xdp_port: SKIP: %s\n", vnet_last_error());
			return 77;
		}
		fprintf(stderr, "test_xdp_port: xdp:va: %s\n", vnet_last_error());
		return 1;
	}
	vnet_dev_close(dev);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
