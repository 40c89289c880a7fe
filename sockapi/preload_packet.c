/* SPDX-License-Identifier: MIT */
/*
 * The AF_PACKET half of libvnet-preload.so (semantics: NOTES in preload.c),
 * following net/packet/af_packet.c where the two can agree: socket(),
 * bind() to a mapped ifindex, the send and receive calls with sockaddr_ll,
 * SOCK_DGRAM's Ethernet header, the protocol filter, socket options.
 *
 * Frames pass through a per-socket bounce buffer: the filter and SOCK_DGRAM
 * need the Ethernet header whatever the caller's buffer is (the kernel
 * copies once too).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>

#include "preload.h"
#include "vnet/socket.h"

#define ETH_HDR 14

/* ---- socket and bind ---- */

VNET_EXPORT int socket(int domain, int type, int proto)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), fd, err = 0, r;
	struct ps_obj *o;

	ps_init();
	if (domain != AF_PACKET || (base != SOCK_RAW && base != SOCK_DGRAM) ||
	    (!ps_active() && !ps_strict_fail()))
		return ps_real.socket(domain, type, proto);
	if (ps_strict_fail())
		return ps_fail(EINVAL);
	fd = ps_real.socket(domain, type, proto);
	if (fd < 0) {
		/* Without CAP_NET_RAW a mapped interface still works. */
		err = errno;
		if (err != EPERM && err != EACCES)
			return -1;
		fd = eventfd(0, type & SOCK_CLOEXEC ? EFD_CLOEXEC : 0);
		if (fd < 0)
			return ps_fail(err);
	}
	r = ps_track(fd, PS_PKT_PENDING, err, &o);
	if (r) {
		ps_debug("socket(AF_PACKET) fd %d untracked: %s", fd, strerror(-r));
		if (!err)
			return fd;
		ps_real.close(fd);
		return ps_fail(err);
	}
	o->sock_type = base;
	o->proto_raw = proto;
	o->proto = ntohs((uint16_t)proto);
	if (err)
		o->nonblock = !!(type & SOCK_NONBLOCK);
	ps_debug("socket(AF_PACKET) fd %d -> %s until bound", fd,
		 err ? "placeholder" : "kernel");
	return fd;
}

/* Settings made before the bind, carried to the vnet socket. */
static void carry_options(struct ps_obj *o)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };

	ps_enter();
	vnet_socket_set(o->s, VNET_SO_RCVTIMEO_MS, o->rcvtimeo_ms);
	vnet_socket_set(o->s, VNET_SO_SNDTIMEO_MS, o->sndtimeo_ms);
	if (vnet_socket_info(o->s, &info) == 0)
		memcpy(o->mac, info.mac, 6);
	ps_leave();
}

VNET_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_ll a, *sll = &a;
	struct ps_obj *o;
	int ifx, r;

	ps_init();
	o = ps_get(fd);
	if (!o || (o->kind != PS_PKT_PENDING && o->kind != PS_PKT)) {
		ps_put(o);
		return ps_real.bind(fd, addr, len);
	}
	if (ps_forked() && o->kind == PS_PKT) {
		ps_put(o);
		return ps_fail(EBADFD);
	}
	/* af_packet.c: packet_bind() wants a whole sockaddr_ll. It is read
	 * from a copy: the program's need not be aligned. */
	if (addr && len >= sizeof(a))
		memcpy(&a, addr, sizeof(a));
	if (!addr || len < sizeof(a) || a.sll_family != AF_PACKET) {
		ps_put(o);
		return ps_fail(EINVAL);
	}
	ifx = ps_ifindex_find(sll->sll_ifindex);
	if (o->kind == PS_PKT) {
		/* Bound to a libvnet device it stays there: a device of the
		 * kernel cannot take over a descriptor the shim replaced. */
		r = ifx == o->ifx ? 0 : ps_fail(EINVAL);
		if (!r && sll->sll_protocol)
			o->proto = ntohs(sll->sll_protocol);
		ps_put(o);
		return r;
	}
	if (ifx < 0) {
		if (o->placeholder_err) {
			r = ps_fail(o->placeholder_err);
		} else {
			r = ps_real.bind(fd, addr, len);
			if (r == 0)
				ps_untrack(o);
		}
		ps_debug("bind fd %d ifindex %d -> %s", fd, sll->sll_ifindex, r ? strerror(errno) : "kernel");
		ps_put(o);
		return r;
	}
	if (!o->placeholder_err) {
		int fl = ps_real.fcntl(fd, F_GETFL);

		o->nonblock = fl >= 0 && (fl & O_NONBLOCK);
	}
	if (sll->sll_protocol)
		o->proto = ntohs(sll->sll_protocol);
	r = ps_attach(o, fd, ifx, 1);
	/* Each socket takes a queue pair: none left is a busy device. */
	if (r == -E2BIG)
		r = -EBUSY;
	if (r) {
		ps_debug("bind fd %d %s -> %s", fd, ps_cfg.ifs[ifx].name, strerror(-r));
		ps_put(o);
		return ps_fail(-r);
	}
	carry_options(o);
	ps_put(o);
	return 0;
}

/* ---- receive ---- */

static int want_frame(const struct ps_obj *o, const unsigned char *f, size_t len)
{
	uint16_t type;

	if (o->proto == ETH_P_ALL)
		return 1;
	if (len < ETH_HDR || !o->proto)
		return 0;
	type = (uint16_t)(f[12] << 8 | f[13]);
	return type == o->proto;
}

static unsigned char pkttype(const struct ps_obj *o, const unsigned char *dst)
{
	static const unsigned char bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (!memcmp(dst, bcast, 6))
		return PACKET_BROADCAST;
	if (dst[0] & 1)
		return PACKET_MULTICAST;
	return memcmp(dst, o->mac, 6) ? PACKET_OTHERHOST : PACKET_HOST;
}

/* One received frame, as recvmsg() gives it. */
struct pkt_in {
	const struct iovec *iov;
	int n;
	struct sockaddr_ll *from; /* or NULL */
	socklen_t *fromlen;
	size_t len;               /* out: bytes of the packet (before truncation) */
	size_t copied;            /* out: bytes stored */
};

/* Receive one frame the filter lets through (rx_lock held). */
static int recv_one(struct ps_obj *o, int flags, struct pkt_in *in)
{
	size_t hdr = o->sock_type == SOCK_DGRAM ? ETH_HDR : 0, flen;
	ssize_t got;

	if (!o->rxbuf && !(o->rxbuf = malloc(PS_FRAME_MAX)))
		return ps_fail(ENOMEM);
	for (;;) {
		got = ps_recv(o->s, o->rxbuf, PS_FRAME_MAX, flags & MSG_DONTWAIT);
		if (got < 0)
			return -1;
		flen = (size_t)got;
		if (want_frame(o, o->rxbuf, flen) && flen >= hdr)
			break;
		o->stat_filtered++;
		ps_debug("fd frame of %zu bytes: EtherType filtered (%u so far)", flen,
			 o->stat_filtered);
	}
	o->stat_packets++;
	in->len = flen - hdr;
	in->copied = ps_iov_scatter(in->iov, in->n, o->rxbuf + hdr, in->len);
	if (in->from && in->fromlen) {
		struct sockaddr_ll a = {
			.sll_family = AF_PACKET,
			.sll_ifindex = PS_IFINDEX_BASE + 1 + o->ifx,
			.sll_hatype = ARPHRD_ETHER,
			.sll_halen = 6,
		};
		size_t k = *in->fromlen < sizeof(a) ? *in->fromlen : sizeof(a);

		if (flen >= ETH_HDR) {
			memcpy(&a.sll_protocol, o->rxbuf + 12, 2);
			a.sll_pkttype = pkttype(o, o->rxbuf);
			memcpy(a.sll_addr, o->rxbuf + 6, 6);
		}
		memcpy(in->from, &a, k);
		*in->fromlen = sizeof(a);
	}
	return 0;
}

static int recv_flags_ok(int flags)
{
	/* MSG_PEEK would need the frame kept while the descriptor no longer
	 * says one waits; the error queue is always empty (no timestamps);
	 * af_packet.c refuses other flags with EINVAL. */
	if (flags & MSG_PEEK)
		return ps_fail(EOPNOTSUPP);
	if (flags & MSG_ERRQUEUE)
		return ps_fail(EAGAIN);
	if (flags & ~(MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC))
		return ps_fail(EINVAL);
	return 0;
}

static ssize_t pkt_recv(struct ps_obj *o, int flags, struct pkt_in *in, int *msg_flags)
{
	int r;

	if (recv_flags_ok(flags))
		return -1;
	if (ps_dontwait(o, flags))
		flags |= MSG_DONTWAIT;
	pthread_mutex_lock(&o->rx_lock);
	r = recv_one(o, flags, in);
	pthread_mutex_unlock(&o->rx_lock);
	if (r)
		return -1;
	if (msg_flags)
		*msg_flags = in->copied < in->len ? MSG_TRUNC : 0;
	return (ssize_t)(flags & MSG_TRUNC ? in->len : in->copied);
}

ssize_t ps_pkt_readv(struct ps_obj *o, const struct iovec *iov, int n)
{
	struct pkt_in in = { .iov = iov, .n = n };

	if (ps_iov_len(iov, n) < 0)
		return -1;
	return pkt_recv(o, 0, &in, NULL);
}

/* ---- send ---- */

/* The frame to send for a payload of len bytes in iov, with dest (or NULL). */
static ssize_t pkt_send(struct ps_obj *o, const struct iovec *iov, int n, int flags,
			const void *to, socklen_t destlen)
{
	struct sockaddr_ll d, *dest = NULL;
	size_t hdr = o->sock_type == SOCK_DGRAM ? ETH_HDR : 0;
	ssize_t total = ps_iov_len(iov, n), r;
	uint16_t proto = htons(o->proto);
	size_t off = 0;

	if (total < 0)
		return -1;
	if (to) {
		/* packet_snd(): a whole sockaddr_ll, from AF_PACKET (read from
		 * a copy: the program's need not be aligned). */
		if (destlen < sizeof(d))
			return ps_fail(EINVAL);
		memcpy(&d, to, sizeof(d));
		dest = &d;
		if (dest->sll_family != AF_PACKET)
			return ps_fail(EINVAL);
		/* Another interface than this socket's: not one it can reach. */
		if (dest->sll_ifindex && ps_ifindex_find(dest->sll_ifindex) != o->ifx)
			return ps_fail(ENXIO);
		if (dest->sll_protocol)
			proto = dest->sll_protocol;
	}
	if (hdr && (!dest || dest->sll_halen < 6))
		return ps_fail(EINVAL); /* SOCK_DGRAM: no Ethernet destination */
	if (!hdr && n == 1)
		r = ps_send(o->s, iov[0].iov_base, (size_t)total, flags & MSG_DONTWAIT);
	else if ((size_t)total + hdr > PS_FRAME_MAX)
		return ps_fail(EMSGSIZE);
	else {
		pthread_mutex_lock(&o->tx_lock);
		if (!o->txbuf && !(o->txbuf = malloc(PS_FRAME_MAX))) {
			pthread_mutex_unlock(&o->tx_lock);
			return ps_fail(ENOMEM);
		}
		if (hdr) {
			memcpy(o->txbuf, dest->sll_addr, 6);
			memcpy(o->txbuf + 6, o->mac, 6);
			memcpy(o->txbuf + 12, &proto, 2);
		}
		off = hdr;
		for (int i = 0; i < n; i++) {
			memcpy(o->txbuf + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		r = ps_send(o->s, o->txbuf, off, flags & MSG_DONTWAIT);
		pthread_mutex_unlock(&o->tx_lock);
	}
	return r < 0 ? -1 : total;
}

ssize_t ps_pkt_writev(struct ps_obj *o, const struct iovec *iov, int n)
{
	return pkt_send(o, iov, n, ps_dontwait(o, 0) ? MSG_DONTWAIT : 0, NULL, 0);
}

/* ---- the call family ---- */

/*
 * The object behind fd when the shim answers the call: attached (or a
 * placeholder, which fails with the socket()'s errno). NULL: the kernel's.
 * *rc is set when the call must fail without the kernel.
 */
static struct ps_obj *pkt_get(int fd, ssize_t *rc)
{
	struct ps_obj *o = ps_get(fd);

	*rc = 0;
	if (!o)
		return NULL;
	if (o->kind == PS_PKT && !ps_forked())
		return o;
	if (o->kind == PS_PKT)
		*rc = ps_fail(EBADFD);
	else if (o->placeholder_err && o->kind == PS_PKT_PENDING)
		*rc = ps_fail(o->placeholder_err);
	else if (o->kind == PS_TAP && !ps_forked())
		*rc = ps_fail(ENOTSOCK); /* as on a tun fd */
	ps_put(o);
	return NULL;
}

static ssize_t send_common(int fd, const struct iovec *iov, int n, int flags,
			   const struct sockaddr *to, socklen_t tolen, int *handled)
{
	ssize_t rc;
	struct ps_obj *o = pkt_get(fd, &rc);

	*handled = o || rc;
	if (!o)
		return rc;
	rc = pkt_send(o, iov, n, ps_dontwait(o, flags) ? MSG_DONTWAIT : 0, to, tolen);
	ps_put(o);
	return rc;
}

VNET_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	struct iovec v = { (void *)buf, len };
	int handled;
	ssize_t rc;

	ps_init();
	rc = send_common(fd, &v, 1, flags, NULL, 0, &handled);
	return handled ? rc : ps_real.send(fd, buf, len, flags);
}

VNET_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *to, socklen_t tolen)
{
	struct iovec v = { (void *)buf, len };
	int handled;
	ssize_t rc;

	ps_init();
	rc = send_common(fd, &v, 1, flags, to, tolen, &handled);
	return handled ? rc : ps_real.sendto(fd, buf, len, flags, to, tolen);
}

VNET_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	int handled;
	ssize_t rc;

	ps_init();
	if (!m)
		return ps_real.sendmsg(fd, m, flags);
	rc = send_common(fd, m->msg_iov, (int)m->msg_iovlen, flags, m->msg_name, m->msg_namelen,
			 &handled);
	return handled ? rc : ps_real.sendmsg(fd, m, flags);
}

VNET_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	ssize_t rc = 0;
	int handled = 0;
	unsigned i;

	ps_init();
	for (i = 0; i < n; i++) {
		/* After the first frame nothing blocks, as the kernel's loop
		 * returns what it sent once one fails. */
		rc = send_common(fd, v[i].msg_hdr.msg_iov, (int)v[i].msg_hdr.msg_iovlen,
				 i ? flags | MSG_DONTWAIT : flags, v[i].msg_hdr.msg_name,
				 v[i].msg_hdr.msg_namelen, &handled);
		if (!handled)
			return i ? (int)i : ps_real.sendmmsg(fd, v, n, flags);
		if (rc < 0)
			break;
		v[i].msg_len = (unsigned)rc;
	}
	return i ? (int)i : (int)rc;
}

static ssize_t recv_common(int fd, struct msghdr *m, int flags, int *handled)
{
	ssize_t rc;
	struct ps_obj *o = pkt_get(fd, &rc);
	struct pkt_in in = { .iov = m->msg_iov, .n = (int)m->msg_iovlen };

	*handled = o || rc;
	if (!o)
		return rc;
	if (m->msg_name) {
		in.from = m->msg_name;
		in.fromlen = &m->msg_namelen;
	} else {
		m->msg_namelen = 0;
	}
	/* No ancillary data: PACKET_AUXDATA is not supported. */
	m->msg_controllen = 0;
	rc = ps_iov_len(in.iov, in.n) < 0 ? -1 : pkt_recv(o, flags, &in, &m->msg_flags);
	ps_put(o);
	return rc;
}

VNET_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	int handled;
	ssize_t rc;

	ps_init();
	if (!m)
		return ps_real.recvmsg(fd, m, flags);
	rc = recv_common(fd, m, flags, &handled);
	return handled ? rc : ps_real.recvmsg(fd, m, flags);
}

VNET_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
			     socklen_t *fromlen)
{
	struct iovec v = { buf, len };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	int handled;
	ssize_t rc;

	ps_init();
	if (from && fromlen) {
		m.msg_name = from;
		m.msg_namelen = *fromlen;
	}
	rc = recv_common(fd, &m, flags, &handled);
	if (!handled)
		return ps_real.recvfrom(fd, buf, len, flags, from, fromlen);
	if (rc >= 0 && from && fromlen)
		*fromlen = m.msg_namelen;
	return rc;
}

VNET_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

/* Fortified recv()/recvfrom(): an overflow is glibc's to report. */
VNET_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	ps_init();
	if (len > buflen)
		return ps_real.recv_chk(fd, buf, len, buflen, flags);
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

VNET_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
				   struct sockaddr *from, socklen_t *fromlen)
{
	ps_init();
	if (len > buflen)
		return ps_real.recvfrom_chk(fd, buf, len, buflen, flags, from, fromlen);
	return recvfrom(fd, buf, len, flags, from, fromlen);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

VNET_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *tmo)
{
	uint64_t end = 0;
	ssize_t rc = 0;
	int handled = 0;
	unsigned i;

	ps_init();
	if (tmo)
		end = mono_ns() + (uint64_t)tmo->tv_sec * 1000000000u + (uint64_t)tmo->tv_nsec;
	for (i = 0; i < n; i++) {
		int f = (flags & ~MSG_WAITFORONE) | (i && (flags & MSG_WAITFORONE) ? MSG_DONTWAIT : 0);

		rc = recv_common(fd, &v[i].msg_hdr, f, &handled);
		if (!handled)
			return i ? (int)i : ps_real.recvmmsg(fd, v, n, flags, tmo);
		if (rc < 0)
			break;
		v[i].msg_len = (unsigned)rc;
		/* As the kernel: the timeout is looked at after each frame. */
		if (tmo && mono_ns() >= end) {
			i++;
			break;
		}
	}
	return i ? (int)i : (int)rc;
}

/* ---- socket options ---- */

static int timeo_ms(const void *val, socklen_t len, int *ms)
{
	struct timeval tv;

	if (!val || len < sizeof(tv))
		return ps_fail(EINVAL);
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return ps_fail(EDOM); /* sock_set_timeout() */
	if (tv.tv_sec < 0) {
		*ms = 1; /* the kernel's "do not wait": the shortest wait there is */
		return 0;
	}
	*ms = tv.tv_sec > 2000000 ? 2000000000 : (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
	return 0;
}

static int get_out(void *val, socklen_t *len, const void *v, socklen_t vlen)
{
	if (!val || !len)
		return ps_fail(EFAULT);
	if (*len < vlen && vlen == sizeof(int)) {
		/* getsockopt(2) shortens an int answer rather than failing. */
		memcpy(val, v, *len);
		return 0;
	}
	if (*len < vlen)
		return ps_fail(EINVAL);
	memcpy(val, v, vlen);
	*len = vlen;
	return 0;
}

/* PACKET_ADD_MEMBERSHIP / PACKET_DROP_MEMBERSHIP on an attached socket. */
static int membership(struct ps_obj *o, int add, const void *val, socklen_t len)
{
	struct packet_mreq mr;
	struct vnet_dev *dev;
	unsigned *cnt;
	int r;

	if (!val || len < sizeof(mr))
		return ps_fail(EINVAL);
	memcpy(&mr, val, sizeof(mr));
	/* Memberships of other interfaces than the socket's: not here (EINVAL);
	 * an index naming no interface at all: ENODEV, as af_packet.c says. */
	if (ps_ifindex_find(mr.mr_ifindex) != o->ifx) {
		char name[IF_NAMESIZE];

		if (ps_ifindex_find(mr.mr_ifindex) >= 0 ||
		    (mr.mr_ifindex > 0 && ps_real.if_indextoname((unsigned)mr.mr_ifindex, name)))
			return ps_fail(EINVAL);
		return ps_fail(ENODEV);
	}
	switch (mr.mr_type) {
	case PACKET_MR_PROMISC:
	case PACKET_MR_ALLMULTI:
		cnt = mr.mr_type == PACKET_MR_PROMISC ? &o->promisc : &o->allmulti;
		if (!add && !*cnt)
			return ps_fail(EADDRNOTAVAIL);
		r = ps_if_rxmode(o->ifx, o->s, mr.mr_type == PACKET_MR_ALLMULTI, -1, add ? 1 : -1);
		if (!r)
			*cnt += add ? 1u : (unsigned)-1;
		return r;
	case PACKET_MR_MULTICAST:
	case PACKET_MR_UNICAST:
		if (mr.mr_alen != 6)
			return ps_fail(EINVAL);
		dev = vnet_socket_dev(o->s);
		if (add) {
			if (o->n_mc == PS_MAX_MC)
				return ps_fail(ENOBUFS);
			ps_enter();
			r = vnet_dev_mac_add(dev, mr.mr_address);
			ps_leave();
			if (!r)
				memcpy(o->mc[o->n_mc++], mr.mr_address, 6);
			return r;
		}
		for (unsigned i = 0; i < o->n_mc; i++)
			if (!memcmp(o->mc[i], mr.mr_address, 6)) {
				ps_enter();
				r = vnet_dev_mac_del(dev, mr.mr_address);
				ps_leave();
				memmove(o->mc[i], o->mc[i + 1], (o->n_mc - i - 1) * 6u);
				o->n_mc--;
				return r;
			}
		return ps_fail(EADDRNOTAVAIL);
	default:
		return ps_fail(EINVAL);
	}
}

void ps_pkt_release(struct ps_obj *o)
{
	struct vnet_dev *dev = vnet_socket_dev(o->s);

	if (o->promisc)
		ps_if_rxmode(o->ifx, o->s, 0, -1, -(int)o->promisc);
	if (o->allmulti)
		ps_if_rxmode(o->ifx, o->s, 1, -1, -(int)o->allmulti);
	for (unsigned i = 0; i < o->n_mc; i++)
		vnet_dev_mac_del(dev, o->mc[i]);
	o->promisc = o->allmulti = o->n_mc = 0;
}

static int set_opt(struct ps_obj *o, int level, int name, const void *val, socklen_t len)
{
	int v, ms = 0;

	if (level == SOL_PACKET) {
		if (name == PACKET_ADD_MEMBERSHIP || name == PACKET_DROP_MEMBERSHIP)
			return membership(o, name == PACKET_ADD_MEMBERSHIP, val, len);
		/* PACKET_RX_RING, PACKET_FANOUT, PACKET_AUXDATA, ...: not (yet). */
		return ps_fail(ENOPROTOOPT);
	}
	if (level != SOL_SOCKET)
		return ps_fail(ENOPROTOOPT);
	switch (name) {
	case SO_RCVTIMEO_OLD:
	case SO_RCVTIMEO_NEW:
	case SO_SNDTIMEO_OLD:
	case SO_SNDTIMEO_NEW: {
		int rx = name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW;

		if (timeo_ms(val, len, &ms))
			return -1;
		*(rx ? &o->rcvtimeo_ms : &o->sndtimeo_ms) = ms;
		if (o->s < 0)
			return 0;
		ps_enter();
		v = vnet_socket_set(o->s, rx ? VNET_SO_RCVTIMEO_MS : VNET_SO_SNDTIMEO_MS, ms);
		ps_leave();
		return v;
	}
	case SO_RCVBUF:
	case SO_RCVBUFFORCE:
	case SO_SNDBUF:
	case SO_SNDBUFFORCE:
		/* Remembered for getsockopt; the device's ring is the buffer. */
		if (!val || len < sizeof(int))
			return ps_fail(EINVAL);
		memcpy(&v, val, sizeof(v));
		*(name == SO_RCVBUF || name == SO_RCVBUFFORCE ? &o->rcvbuf : &o->sndbuf) = v;
		return 0;
	default:
		return ps_fail(ENOPROTOOPT);
	}
}

static int get_opt(struct ps_obj *o, int level, int name, void *val, socklen_t *len)
{
	struct tpacket_stats st;
	struct timeval tv;
	int v;

	if (level == SOL_PACKET && name == PACKET_STATISTICS) {
		/* tp_drops: the frames the protocol filter consumed (the kernel
		 * filters before queueing; the shim can only after). Reading
		 * resets both, as the kernel's. */
		pthread_mutex_lock(&o->rx_lock);
		st.tp_packets = o->stat_packets + o->stat_filtered;
		st.tp_drops = o->stat_filtered;
		o->stat_packets = o->stat_filtered = 0;
		pthread_mutex_unlock(&o->rx_lock);
		return get_out(val, len, &st, sizeof(st));
	}
	if (level != SOL_SOCKET)
		return ps_fail(ENOPROTOOPT);
	switch (name) {
	case SO_TYPE:
		return get_out(val, len, &o->sock_type, sizeof(int));
	case SO_DOMAIN:
		v = AF_PACKET;
		return get_out(val, len, &v, sizeof(v));
	case SO_PROTOCOL:
		return get_out(val, len, &o->proto_raw, sizeof(int));
	case SO_ERROR:
		v = 0;
		return get_out(val, len, &v, sizeof(v));
	case SO_RCVBUF:
	case SO_SNDBUF:
		/* net.core.[rw]mem_default, as an untouched socket reports. */
		v = name == SO_RCVBUF ? o->rcvbuf : o->sndbuf;
		v = v ? 2 * v : 212992;
		return get_out(val, len, &v, sizeof(v));
	case SO_RCVTIMEO_OLD:
	case SO_RCVTIMEO_NEW:
	case SO_SNDTIMEO_OLD:
	case SO_SNDTIMEO_NEW:
		v = name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW ? o->rcvtimeo_ms : o->sndtimeo_ms;
		tv.tv_sec = v / 1000;
		tv.tv_usec = (v % 1000) * 1000;
		return get_out(val, len, &tv, sizeof(tv));
	default:
		return ps_fail(ENOPROTOOPT);
	}
}

VNET_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct ps_obj *o;
	int r;

	ps_init();
	o = ps_get(fd);
	if (!o || (o->kind != PS_PKT && o->kind != PS_PKT_PENDING)) {
		ps_put(o);
		return ps_real.setsockopt(fd, level, name, val, len);
	}
	if (o->kind == PS_PKT_PENDING && !o->placeholder_err) {
		/* The kernel's socket still: it answers, the shim takes note
		 * of the timeouts for the bind. */
		r = ps_real.setsockopt(fd, level, name, val, len);
		if (!r && level == SOL_SOCKET)
			(void)set_opt(o, level, name, val, len);
	} else {
		r = ps_forked() ? ps_fail(EBADFD) : set_opt(o, level, name, val, len);
	}
	ps_put(o);
	return r;
}

VNET_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct ps_obj *o;
	int r;

	ps_init();
	o = ps_get(fd);
	if (!o || !(o->kind == PS_PKT || (o->kind == PS_PKT_PENDING && o->placeholder_err))) {
		ps_put(o);
		return ps_real.getsockopt(fd, level, name, val, len);
	}
	r = ps_forked() ? ps_fail(EBADFD) : get_opt(o, level, name, val, len);
	ps_put(o);
	return r;
}

VNET_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct ps_obj *o;
	struct sockaddr_ll a = { .sll_family = AF_PACKET };
	int r;

	ps_init();
	o = ps_get(fd);
	if (!o || !(o->kind == PS_PKT || (o->kind == PS_PKT_PENDING && o->placeholder_err))) {
		ps_put(o);
		return ps_real.getsockname(fd, addr, len);
	}
	a.sll_protocol = htons(o->proto);
	if (o->kind == PS_PKT) {
		a.sll_ifindex = PS_IFINDEX_BASE + 1 + o->ifx;
		a.sll_hatype = ARPHRD_ETHER;
		a.sll_halen = 6;
		memcpy(a.sll_addr, o->mac, 6);
	}
	if (!addr || !len) {
		r = ps_fail(EFAULT);
	} else {
		memcpy(addr, &a, *len < sizeof(a) ? *len : sizeof(a));
		*len = sizeof(a);
		r = 0;
	}
	ps_put(o);
	return r;
}
