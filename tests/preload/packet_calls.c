/* SPDX-License-Identifier: MIT */
/*
 * The AF_PACKET half of test_preload_calls: packet sockets bound to PKT_A
 * (a sim:loopback device, so every frame sent comes back as received on
 * the socket's queue pair) and to the two ends of a sim:pair, with
 * what the kernel's af_packet does for the same calls asserted: sockaddr_ll
 * contents, SOCK_DGRAM headers, protocol filtering, MSG_TRUNC, timeouts,
 * memberships, error codes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../integration/frames.h"
#include "calls.h"

#define OTHER_TYPE 0x88b7

static const uint8_t peer[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };

/* Frame seq of len bytes to dst, from peer, EtherType type. */
static void pk_fill(uint8_t *f, size_t len, const uint8_t dst[6], uint16_t type, uint64_t seq)
{
	tf_fill(f, len, dst, seq);
	memcpy(f + 6, peer, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
}

static void pk_check(const uint8_t *g, ssize_t n, const uint8_t dst[6], uint16_t type,
		     uint64_t seq, size_t len)
{
	uint8_t f[MAX_FRAME];

	pk_fill(f, len, dst, type, seq);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(g, f, len);
}

static int pk_ifindex(void)
{
	unsigned idx = if_nametoindex(PKT_A);

	assert_true(idx > 0);
	return (int)idx;
}

/* A SOCK_RAW or SOCK_DGRAM packet socket for proto bound to ifname, with a
 * 2 s receive timeout so that a lost frame fails instead of hanging. */
static int pk_open_on(const char *ifname, int type, uint16_t proto)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_protocol = htons(proto),
		.sll_ifindex = (int)if_nametoindex(ifname),
	};
	struct timeval tv = { 2, 0 };
	int s = socket(AF_PACKET, type, htons(proto));

	ok(s >= 0);
	fd_note(s);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return s;
}

static int pk_open(int type, uint16_t proto) { return pk_open_on(PKT_A, type, proto); }

static void assert_sll(const struct sockaddr_ll *sll, uint16_t type, unsigned char pkttype,
		       const uint8_t src[6])
{
	assert_int_equal(sll->sll_family, AF_PACKET);
	assert_int_equal(sll->sll_protocol, htons(type));
	assert_int_equal(sll->sll_ifindex, pk_ifindex());
	assert_int_equal(sll->sll_hatype, ARPHRD_ETHER);
	assert_int_equal(sll->sll_pkttype, pkttype);
	assert_int_equal(sll->sll_halen, 6);
	assert_memory_equal(sll->sll_addr, src, 6);
}

static void p_socket_types(void **state)
{
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	int d = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	int v = 0;
	socklen_t vl = sizeof(v);

	ok(s >= 0 && d >= 0);
	assert_true(s < FD_SETSIZE && d < FD_SETSIZE);
	assert_int_equal(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
	assert_int_equal(v, SOCK_RAW);
	assert_int_equal(getsockopt(d, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
	assert_int_equal(v, SOCK_DGRAM);
	close(s);
	close(d);
	assert_int_equal(socket(AF_PACKET, SOCK_STREAM, htons(ETH_P_ALL)), -1);
	assert_int_equal(errno, ESOCKTNOSUPPORT);
}

static void p_names(void **state)
{
	char name[IF_NAMESIZE];
	struct ifreq ifr = { 0 };
	int idx = pk_ifindex(), s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	ok(s >= 0);
	assert_non_null(if_indextoname((unsigned)idx, name));
	assert_string_equal(name, PKT_A);
	assert_int_not_equal(if_nametoindex(TAP_A), (unsigned)idx);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", PKT_A);
	assert_int_equal(ioctl(s, SIOCGIFINDEX, &ifr), 0);
	assert_int_equal(ifr.ifr_ifindex, idx);
	assert_null(if_indextoname(0x7ffffff0u, name));
	assert_int_equal(errno, ENXIO);
	close(s);
}

static void p_bind_errors(void **state)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = 0x7ffffff0 };
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	ok(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), -1);
	assert_int_equal(errno, ENODEV);
	sll.sll_ifindex = pk_ifindex();
	assert_int_equal(bind(s, (struct sockaddr *)&sll, 4), -1);
	assert_int_equal(errno, EINVAL);
	sll.sll_family = AF_INET;
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), -1);
	assert_int_equal(errno, EINVAL);
	close(s);
}

/* N frames with send/recv and sendto/recvfrom: bytes, order, addresses. */
static void p_raw_frames(void **state)
{
	uint8_t mac[6], f[MAX_FRAME], g[MAX_FRAME];
	int s = pk_open(SOCK_RAW, ETH_P_ALL);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = pk_ifindex(), .sll_halen = 6 };
	uint64_t n = tf_scale(1000);

	dev_mac(PKT_A, mac);
	memcpy(to.sll_addr, mac, 6);
	for (uint64_t b = 0; b < n; b += 16) {
		for (uint64_t seq = b; seq < b + 16; seq++) {
			size_t len = tf_len(seq, 60, 1514);

			pk_fill(f, len, mac, TF_ETHERTYPE, seq);
			assert_int_equal(seq & 1 ? sendto(s, f, len, 0, (struct sockaddr *)&to, sizeof(to))
						 : send(s, f, len, 0),
					 (ssize_t)len);
		}
		for (uint64_t seq = b; seq < b + 16; seq++) {
			struct sockaddr_ll from = { 0 };
			socklen_t fl = sizeof(from);
			ssize_t r = seq & 1 ? recvfrom(s, g, sizeof(g), 0, (struct sockaddr *)&from, &fl)
					    : recv(s, g, sizeof(g), 0);

			pk_check(g, r, mac, TF_ETHERTYPE, seq, tf_len(seq, 60, 1514));
			if (seq & 1) {
				assert_int_equal(fl, sizeof(from));
				assert_sll(&from, TF_ETHERTYPE, PACKET_HOST, peer);
			}
		}
	}
	close(s);
}

/* sll_pkttype follows the destination address. */
static void p_pkttype(void **state)
{
	static const struct {
		uint8_t dst[6];
		unsigned char type;
	} cases[] = {
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, PACKET_BROADCAST },
		{ { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, PACKET_MULTICAST },
		{ { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 }, PACKET_MULTICAST },
	};
	uint8_t f[MAX_FRAME], g[MAX_FRAME];
	int s = pk_open(SOCK_RAW, ETH_P_ALL);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_ll from = { 0 };
		socklen_t fl = sizeof(from);

		pk_fill(f, 100, cases[i].dst, TF_ETHERTYPE, i);
		assert_int_equal(send(s, f, 100, 0), 100);
		pk_check(g, recvfrom(s, g, sizeof(g), 0, (struct sockaddr *)&from, &fl), cases[i].dst,
			 TF_ETHERTYPE, i, 100);
		assert_sll(&from, TF_ETHERTYPE, cases[i].type, peer);
	}
	close(s);
}

static void p_msg(void **state)
{
	uint8_t mac[6], f[MAX_FRAME], g[MAX_FRAME];
	int s = pk_open(SOCK_RAW, ETH_P_ALL);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = pk_ifindex(), .sll_halen = 6 };

	dev_mac(PKT_A, mac);
	memcpy(to.sll_addr, mac, 6);
	for (uint64_t seq = 0; seq < 40; seq++) {
		size_t len = tf_len(seq, 60, 1514);
		struct iovec out[2] = { { f, 14 }, { f + 14, len - 14 } };
		struct iovec in[2] = { { g, 30 }, { g + 30, sizeof(g) - 30 } };
		struct sockaddr_ll from = { 0 };
		struct msghdr mo = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = out, .msg_iovlen = 2 };
		struct msghdr mi = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = in, .msg_iovlen = 2 };

		pk_fill(f, len, mac, TF_ETHERTYPE, seq);
		assert_int_equal(sendmsg(s, &mo, 0), (ssize_t)len);
		pk_check(g, recvmsg(s, &mi, 0), mac, TF_ETHERTYPE, seq, len);
		assert_int_equal(mi.msg_flags, 0);
		assert_int_equal(mi.msg_namelen, sizeof(from));
		assert_sll(&from, TF_ETHERTYPE, PACKET_HOST, peer);
	}
	close(s);
}

static void p_mmsg(void **state)
{
	enum { B = 8 };
	uint8_t mac[6], f[B][MAX_FRAME], g[B][MAX_FRAME];
	struct iovec out[B], in[B];
	struct mmsghdr mo[B], mi[B];
	struct sockaddr_ll from[B];
	int s = pk_open(SOCK_RAW, ETH_P_ALL);

	dev_mac(PKT_A, mac);
	for (uint64_t r = 0; r < 10; r++) {
		int got = 0;

		memset(mo, 0, sizeof(mo));
		memset(mi, 0, sizeof(mi));
		for (int i = 0; i < B; i++) {
			uint64_t seq = r * B + (uint64_t)i;

			pk_fill(f[i], tf_len(seq, 60, 1514), mac, TF_ETHERTYPE, seq);
			out[i] = (struct iovec){ f[i], tf_len(seq, 60, 1514) };
			in[i] = (struct iovec){ g[i], MAX_FRAME };
			mo[i].msg_hdr = (struct msghdr){ .msg_iov = &out[i], .msg_iovlen = 1 };
			mi[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
							 .msg_iov = &in[i], .msg_iovlen = 1 };
		}
		assert_int_equal(sendmmsg(s, mo, B, 0), B);
		for (int i = 0; i < B; i++)
			assert_int_equal(mo[i].msg_len, out[i].iov_len);
		while (got < B) {
			int n = recvmmsg(s, mi + got, (unsigned)(B - got), MSG_WAITFORONE, NULL);

			ok(n > 0);
			got += n;
		}
		for (int i = 0; i < B; i++) {
			uint64_t seq = r * B + (uint64_t)i;

			pk_check(g[i], (ssize_t)mi[i].msg_len, mac, TF_ETHERTYPE, seq, tf_len(seq, 60, 1514));
			assert_sll(&from[i], TF_ETHERTYPE, PACKET_HOST, peer);
		}
	}
	close(s);
}

/* SOCK_DGRAM across a cable (sim:pair): the header is built from sll on
 * send, as a raw socket at the far end sees it, and taken off on receive. */
static void p_dgram(void **state)
{
	uint8_t amac[6], bmac[6], p[MAX_FRAME], g[MAX_FRAME];
	int d = pk_open_on(PAIR_A, SOCK_DGRAM, OTHER_TYPE), r = pk_open_on(PAIR_B, SOCK_RAW, ETH_P_ALL);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(OTHER_TYPE),
				  .sll_ifindex = (int)if_nametoindex(PAIR_A), .sll_halen = 6 }, from;
	socklen_t fl;

	dev_mac(PAIR_A, amac);
	dev_mac(PAIR_B, bmac);
	memcpy(to.sll_addr, bmac, 6);
	for (uint64_t seq = 0; seq < 20; seq++) {
		size_t len = tf_len(seq, 46, 1500);

		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)(seq + i * 3);
		/* A -> B: B's raw socket gets dst B, src A, the socket's type. */
		assert_int_equal(sendto(d, p, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
		assert_int_equal(recv(r, g, sizeof(g), 0), (ssize_t)(len + 14));
		assert_memory_equal(g, bmac, 6);
		assert_memory_equal(g + 6, amac, 6);
		assert_int_equal(g[12] << 8 | g[13], OTHER_TYPE);
		assert_memory_equal(g + 14, p, len);
		/* B -> A: the whole frame back with swapped addresses; A's
		 * datagram socket gets the payload and the source in sll. */
		memcpy(g, amac, 6);
		memcpy(g + 6, bmac, 6);
		assert_int_equal(send(r, g, len + 14, 0), (ssize_t)(len + 14));
		fl = sizeof(from);
		assert_int_equal(recvfrom(d, g, sizeof(g), 0, (struct sockaddr *)&from, &fl), (ssize_t)len);
		assert_memory_equal(g, p, len);
		assert_int_equal(from.sll_protocol, htons(OTHER_TYPE));
		assert_int_equal(from.sll_pkttype, PACKET_HOST);
		assert_memory_equal(from.sll_addr, bmac, 6);
	}
	/* No destination: the header cannot be built. */
	assert_int_equal(send(d, p, 60, 0), -1);
	assert_int_equal(errno, EINVAL);
	close(d);
	close(r);
}

static void p_dontwait_trunc(void **state)
{
	uint8_t mac[6], f[MAX_FRAME], g[MAX_FRAME];
	struct iovec in = { g, 50 };
	struct msghdr mi = { .msg_iov = &in, .msg_iovlen = 1 };
	int s = pk_open(SOCK_RAW, ETH_P_ALL);

	dev_mac(PKT_A, mac);
	assert_int_equal(recv(s, g, sizeof(g), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	pk_fill(f, 200, mac, TF_ETHERTYPE, 1);
	assert_int_equal(send(s, f, 200, MSG_DONTWAIT), 200);
	/* MSG_TRUNC: the real length, the buffer filled as far as it goes. */
	assert_int_equal(recv(s, g, 50, MSG_TRUNC), 200);
	assert_memory_equal(g, f, 50);
	assert_int_equal(send(s, f, 200, 0), 200);
	assert_int_equal(recvmsg(s, &mi, 0), 50);
	assert_true(mi.msg_flags & MSG_TRUNC);
	assert_memory_equal(g, f, 50);
	/* Still a blocking socket after MSG_DONTWAIT. */
	assert_int_equal(send(s, f, 100, 0), 100);
	assert_int_equal(recv(s, g, sizeof(g), 0), 100);
	close(s);
}

static void p_timeouts(void **state)
{
	struct timeval tv = { 0, 200000 }, got;
	socklen_t gl = sizeof(got);
	uint8_t g[MAX_FRAME];
	int s = pk_open(SOCK_RAW, ETH_P_ALL);
	uint64_t t0, c0, dt;

	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &got, &gl), 0);
	assert_int_equal(got.tv_sec, 0);
	assert_int_equal(got.tv_usec, 200000);
	t0 = now_ms();
	c0 = thread_cpu_ms();
	assert_int_equal(recv(s, g, sizeof(g), 0), -1);
	assert_int_equal(errno, EAGAIN);
	dt = now_ms() - t0;
	assert_true(dt >= 150 && dt < 2000);
	assert_true(thread_cpu_ms() - c0 <= dt / 2 + 20); /* slept, did not spin */
	tv = (struct timeval){ 1, 500000 };
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	gl = sizeof(got);
	assert_int_equal(getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &got, &gl), 0);
	assert_int_equal(got.tv_sec, 1);
	assert_int_equal(got.tv_usec, 500000);
	close(s);
}

/* Bound to one EtherType: only those frames, in order; the rest never show. */
static void p_filter(void **state)
{
	uint8_t mac[6], f[MAX_FRAME], g[MAX_FRAME];
	struct pollfd pfd;
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);
	int s = pk_open(SOCK_RAW, TF_ETHERTYPE);

	dev_mac(PKT_A, mac);
	for (uint64_t seq = 0; seq < 40; seq++) {
		pk_fill(f, tf_len(seq, 60, 1514), mac, seq % 2 ? OTHER_TYPE : TF_ETHERTYPE, seq);
		assert_int_equal(send(s, f, tf_len(seq, 60, 1514), 0), (ssize_t)tf_len(seq, 60, 1514));
		if (seq % 2 == 0)
			continue;
		pk_check(g, recv(s, g, sizeof(g), 0), mac, TF_ETHERTYPE, seq - 1, tf_len(seq - 1, 60, 1514));
	}
	/* The last frame (seq 39) is of the other type. The filter runs at
	 * receive time (shim NOTES): waiting, it makes the fd readable; a
	 * non-blocking receive consumes it, counts it and finds nothing. */
	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(recv(s, g, sizeof(g), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &sl), 0);
	assert_int_equal(st.tp_packets, 40); /* 20 received + 20 filtered */
	assert_int_equal(st.tp_drops, 20);
	assert_int_equal(poll(&pfd, 1, 200), 0);
	/* A matching frame still gets through after it. */
	pk_fill(f, 77, mac, TF_ETHERTYPE, 40);
	assert_int_equal(send(s, f, 77, 0), 77);
	pk_check(g, recv(s, g, sizeof(g), 0), mac, TF_ETHERTYPE, 40, 77);
	close(s);
}

static short if_flags(int s)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", PKT_A);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	return ifr.ifr_flags;
}

static void set_if_flags(int s, short flags)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", PKT_A);
	ifr.ifr_flags = flags;
	ok(ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
}

/* Each bound socket takes one of the device's queue pairs: PKT_A has two. */
static void p_queue_pairs(void **state)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = pk_ifindex() };
	int a = pk_open(SOCK_RAW, ETH_P_ALL), b = pk_open(SOCK_RAW, ETH_P_ALL);
	int c = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	ok(c >= 0);
	assert_int_equal(bind(c, (struct sockaddr *)&sll, sizeof(sll)), -1);
	assert_int_equal(errno, EBUSY);
	close(a); /* its pair is free again */
	assert_int_equal(bind(c, (struct sockaddr *)&sll, sizeof(sll)), 0);
	close(b);
	close(c);
}

/* The device starts promiscuous (virtio-net after reset, as QEMU and the
 * sim have it): with the flag off, PACKET_MR_PROMISC turns the mode on
 * while any socket holds the membership (counted: two sockets do not undo
 * each other); dropped, or the socket closed, it goes. */
static void p_membership(void **state)
{
	struct packet_mreq mr = { .mr_ifindex = pk_ifindex(), .mr_type = PACKET_MR_PROMISC };
	static const uint8_t other[6] = { 0x02, 0x99, 0x00, 0x00, 0x00, 0x01 };
	uint8_t f[MAX_FRAME], g[MAX_FRAME];
	struct sockaddr_ll from;
	socklen_t fl = sizeof(from);
	int keep = pk_open(SOCK_RAW, OTHER_TYPE), s = pk_open(SOCK_RAW, ETH_P_ALL);
	short flags = if_flags(keep);

	assert_true(flags & IFF_PROMISC);
	set_if_flags(keep, (short)(flags & ~IFF_PROMISC));
	assert_false(if_flags(keep) & IFF_PROMISC);
	ok(setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) == 0);
	assert_true(if_flags(keep) & IFF_PROMISC);
	pk_fill(f, 90, other, TF_ETHERTYPE, 7);
	assert_int_equal(send(s, f, 90, 0), 90);
	pk_check(g, recvfrom(s, g, sizeof(g), 0, (struct sockaddr *)&from, &fl), other, TF_ETHERTYPE, 7, 90);
	assert_sll(&from, TF_ETHERTYPE, PACKET_OTHERHOST, peer);
	assert_int_equal(setsockopt(s, SOL_PACKET, PACKET_DROP_MEMBERSHIP, &mr, sizeof(mr)), 0);
	assert_false(if_flags(keep) & IFF_PROMISC);
	/* Two memberships: the first dropped keeps the mode. */
	ok(setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) == 0);
	ok(setsockopt(keep, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) == 0);
	assert_int_equal(setsockopt(keep, SOL_PACKET, PACKET_DROP_MEMBERSHIP, &mr, sizeof(mr)), 0);
	assert_true(if_flags(keep) & IFF_PROMISC);
	close(s);
	assert_false(if_flags(keep) & IFF_PROMISC);
	/* Only the socket's own interface; then the kernel's refusals: an
	 * unknown interface, an unknown type. */
	mr.mr_ifindex = (int)if_nametoindex(PAIR_A);
	assert_int_equal(setsockopt(keep, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)), -1);
	assert_int_equal(errno, EINVAL);
	mr.mr_ifindex = 0x7ffffff0;
	assert_int_equal(setsockopt(keep, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)), -1);
	assert_int_equal(errno, ENODEV);
	mr = (struct packet_mreq){ .mr_ifindex = pk_ifindex(), .mr_type = 99 };
	assert_int_equal(setsockopt(keep, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)), -1);
	assert_int_equal(errno, EINVAL);
	set_if_flags(keep, flags);
	assert_true(if_flags(keep) & IFF_PROMISC);
	close(keep);
}

const struct CMUnitTest packet_tests[] = {
	T(p_socket_types), T(p_names),
	T(p_bind_errors),  T(p_raw_frames),
	T(p_pkttype),      T(p_msg),
	T(p_mmsg),         T(p_dgram),
	T(p_dontwait_trunc), T(p_timeouts),
	T(p_filter),       T(p_queue_pairs),
	T(p_membership),
};
const size_t n_packet_tests = sizeof(packet_tests) / sizeof(packet_tests[0]);
