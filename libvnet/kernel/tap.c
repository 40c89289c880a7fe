/* SPDX-License-Identifier: MIT */
/*
 * The tap port (port.h): the vnet API over a kernel TAP interface,
 * tap:IFNAME?queues=N&qsize=N&mac=XX:XX:XX:XX:XX:XX (libvnet(7)).
 *
 * The application is the far end of the wire: what it sends, the kernel
 * receives on IFNAME, and what the kernel sends out of IFNAME, the
 * application receives. Each queue pair is one /dev/net/tun file attached
 * to IFNAME (IFF_MULTI_QUEUE when there are several), which creates the
 * interface when it does not exist; such an interface goes away with the
 * last file, a persistent one stays.
 *
 * Buffers: per queue, one allocation of 2 * qsize slots of MTU + 18 bytes
 * (Ethernet header and a VLAN tag), each starting on a cache line and
 * with one spare byte to tell a frame that did not fit. Slots
 * 0..qsize-1 receive, qsize..2*qsize-1 transmit, so neither direction can
 * starve the other; a buffer's id is its slot index. Every frame costs one
 * system call, which is what TAP costs: tx_submit() write()s each frame,
 * rx_peek() read()s frames into free slots until it has n or the kernel has
 * none. The kick counters count those calls: tx_kicks every write(),
 * rx_kicks every read(), including the one that finds nothing.
 *
 * Losses are counted: a write() the kernel refuses (other than EINTR, which
 * is retried) counts in tx_errors and the frame is gone; a frame longer
 * than a slot (the interface's MTU was raised after open: the kernel
 * truncates it) counts in rx_dropped and rx_errors. The interface
 * vanishing (ip link del) marks the port broken: calls fail with ENETDOWN.
 *
 * Settings (ifctl.h) are the interface's, but for three: the station
 * address is the application's end of the wire (mac=, fixed at open; the
 * kernel filters on its own address, not this one), so set mac is refused;
 * administrative state is the port's (ifctl.h says why); and a lower MTU
 * is also the port's frame limit, which the data path loads once per burst.
 *
 * Waking up: the tun file is readable while frames wait, but it cannot be
 * the queue's descriptor (vnet_queue_fd() is an eventfd): a relay
 * (relay.h) turns its readiness into the queue's interrupt. TX never waits
 * for the kernel (write() is synchronous), so it has no descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <net/if.h>

#include "port.h"
#include "ifctl.h"
#include "linkwatch.h"
#include "relay.h"
#include "log.h"

#define TAP_DEFAULT_QSIZE 256u
#define TAP_MAX_QSIZE 32768u  /* 2 * qsize slot ids fit in vnet_buf.id */
#define TAP_MAX_QUEUES 256u   /* MAX_TAP_QUEUES of drivers/net/tun.c */
#define TAP_FRAME_EXTRA 18u   /* Ethernet header and one VLAN tag on top of the MTU */
#define TAP_CACHE_LINE 64u

struct tap_queue {
	struct vnet_queue pub; /* first: what vnet_dev_queue() hands out */
	int fd;                /* the /dev/net/tun file of this queue */
	struct vn_relay wake;  /* its readiness as the queue's eventfd (pub.rx_fd) */
	unsigned qsize;        /* slots per direction */
	uint32_t cap, stride;  /* frame capacity; bytes from one slot to the next */
	uint32_t frame_max;    /* MTU + 18 <= cap (vnet_dev_set_mtu()): relaxed atomic */
	uint8_t *mem;          /* 2 * qsize slots */
	uint8_t *held;         /* per slot: 1 while the application holds it */
	uint16_t *rx_free, *tx_free; /* stacks of free slots */
	unsigned n_rx_free, n_tx_free;
	struct vnet_queue_stats st; /* VN_STAT_ADD() by the queue's thread */
};

struct tap_port {
	struct vn_port port;   /* first */
	char ifname[IFNAMSIZ];
	int ctl;               /* a datagram socket for the interface's ioctls */
	uint8_t broken;        /* atomic VN_STOP_* (port.h): BROKEN, the interface went away */
	uint8_t mac[6];
	unsigned mtu, qsize;   /* mtu: at open, what the slots hold (max_mtu) */
	uint16_t cur_mtu;      /* vnet_dev_set_mtu() (atomic) */
	struct vn_ifctl ifc;   /* settings */
	struct tap_queue *q;
	struct vn_linkwatch links; /* link events; the queues' ev_src */
};

static struct tap_port *tp(struct vn_port *p)
{
	return (struct tap_port *)p; /* port is the first member */
}

static struct tap_queue *tq(struct vnet_queue *pub)
{
	return (struct tap_queue *)pub; /* pub is the first member */
}

static uint8_t *slot(const struct tap_queue *q, uint16_t id)
{
	return q->mem + (size_t)id * q->stride;
}

/* The port's VN_STOP_* bits: the data path's one test per burst. */
static uint8_t stopped(const struct tap_queue *q)
{
	return __atomic_load_n(q->pub.broken, __ATOMIC_RELAXED);
}

static int down(void)
{
	return vn_err(-ENETDOWN, "tap: the interface went away; reopen it");
}

static int stop_error(uint8_t stop)
{
	return stop & VN_STOP_BROKEN ? down() : vn_port_admin_down();
}

static uint32_t frame_max(const struct tap_queue *q)
{
	return __atomic_load_n(&q->frame_max, __ATOMIC_RELAXED);
}

/* The interface is gone (the tun file answers EBADFD or POLLERR). */
static void mark_broken(struct tap_queue *q)
{
	struct tap_port *p = tp(q->pub.port);

	if (!(__atomic_fetch_or(&p->broken, VN_STOP_BROKEN, __ATOMIC_RELAXED) & VN_STOP_BROKEN))
		vn_warn("tap: %s went away; the port is broken", p->ifname);
}

/* --- opening ------------------------------------------------------------ */

static int if_ioctl(struct tap_port *p, unsigned long req, struct ifreq *ifr)
{
	memset(ifr->ifr_name, 0, sizeof(ifr->ifr_name));
	memcpy(ifr->ifr_name, p->ifname, strnlen(p->ifname, IFNAMSIZ - 1));
	return ioctl(p->ctl, req, ifr) < 0 ? -errno : 0;
}

static bool if_exists(struct tap_port *p)
{
	struct ifreq ifr;

	return if_ioctl(p, SIOCGIFINDEX, &ifr) == 0;
}

/* Why TUNSETIFF failed with err, in words a person can act on. */
static int attach_error(struct tap_port *p, int err, unsigned queues)
{
	const char *why = "";

	switch (err) {
	case -EPERM:
		why = " (CAP_NET_ADMIN is needed to create an interface or to attach to one "
		      "owned by another user)";
		break;
	case -EINVAL:
		if (if_exists(p))
			why = queues > 1 ? " (it exists but is not a TAP interface, or is one "
					   "created without multi_queue)"
					 : " (it exists but is not a TAP interface)";
		break;
	case -EBUSY:
		why = " (another process has it open: a TAP without multi_queue takes one)";
		break;
	}
	return vn_err(err, "tap: TUNSETIFF %s: %s%s", p->ifname, strerror(-err), why);
}

/*
 * Attach one queue: a /dev/net/tun file bound to the interface. The first
 * attach creates the interface when missing, and may learn its name (a
 * name like "vt%d" is a pattern the kernel fills in).
 */
static int tap_attach(struct tap_port *p, unsigned queues, int *fdp)
{
	struct ifreq ifr;
	int fd, rc;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return vn_err(rc, "tap: /dev/net/tun: %s%s", strerror(-rc),
			      rc == -ENOENT ? " (is the tun module loaded?)" : "");
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, p->ifname, strnlen(p->ifname, IFNAMSIZ - 1));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (queues > 1 ? IFF_MULTI_QUEUE : 0);
	rc = ioctl(fd, TUNSETIFF, &ifr) < 0 ? -errno : 0;
	if (rc == -EINVAL && queues == 1 && if_exists(p)) {
		/* One queue of an existing multi_queue TAP: the mode must match. */
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
		rc = ioctl(fd, TUNSETIFF, &ifr) < 0 ? -errno : 0;
	}
	if (rc) {
		close(fd);
		return attach_error(p, rc, queues);
	}
	memcpy(p->ifname, ifr.ifr_name, IFNAMSIZ - 1);
	*fdp = fd;
	return 0;
}

/* The frame capacity follows the MTU the interface has now. */
static int read_mtu(struct tap_port *p)
{
	struct ifreq ifr;
	int rc = if_ioctl(p, SIOCGIFMTU, &ifr);

	if (rc)
		return vn_err(rc, "tap: SIOCGIFMTU %s: %s", p->ifname, strerror(-rc));
	if (ifr.ifr_mtu <= 0 || ifr.ifr_mtu > 65535)
		return vn_err(-EINVAL, "tap: %s reports MTU %d", p->ifname, ifr.ifr_mtu);
	p->mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

/* Bring the interface up when it is down and we may; else it stays as it is. */
static void link_up(struct tap_port *p)
{
	struct ifreq ifr;
	int rc = if_ioctl(p, SIOCGIFFLAGS, &ifr);

	if (rc || (ifr.ifr_flags & IFF_UP))
		return;
	ifr.ifr_flags |= IFF_UP;
	rc = if_ioctl(p, SIOCSIFFLAGS, &ifr);
	if (rc)
		vn_info("tap: %s is down and cannot be brought up: %s", p->ifname, strerror(-rc));
}

/* FNV-1a over the name: the same station address at every open. */
static void derive_mac(const char *name, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	mac[0] = 0x02; /* locally administered, unicast */
	mac[1] = 0x76; /* 'v' */
	for (int i = 0; i < 4; i++)
		mac[2 + i] = (uint8_t)(h >> (24 - 8 * i));
}

/* mac= (its form was checked by uri.c), else derived from the name. */
static int pick_mac(const struct vn_uri *u, const char *ifname, uint8_t mac[6])
{
	const char *v = vn_uri_opt(u, "mac");

	if (!v) {
		derive_mac(ifname, mac);
		return 0;
	}
	if (sscanf(v, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		   &mac[4], &mac[5]) != 6)
		return vn_err(-EINVAL, "tap: mac=%s: want XX:XX:XX:XX:XX:XX", v);
	if (mac[0] & 1)
		return vn_err(-EINVAL, "tap: mac=%s is a multicast address", v);
	return 0;
}

/* Slots and free stacks of queue q. */
static int queue_setup(struct tap_port *p, struct tap_queue *q)
{
	size_t n = 2 * (size_t)p->qsize;
	void *mem;
	int rc;

	q->qsize = p->qsize;
	q->cap = p->mtu + TAP_FRAME_EXTRA;
	q->frame_max = q->cap;
	/* One spare byte: a read() that fills it met a frame too long. */
	q->stride = VN_ALIGN_UP(q->cap + 1, TAP_CACHE_LINE);
	rc = posix_memalign(&mem, TAP_CACHE_LINE, n * q->stride);
	q->held = calloc(n, 1);
	q->rx_free = calloc(n, sizeof(*q->rx_free));
	if (rc || !q->held || !q->rx_free) {
		if (!rc)
			free(mem);
		return vn_err(-ENOMEM, "tap: out of memory for %zu slots of %u bytes", n,
			      q->stride);
	}
	q->mem = mem;
	q->tx_free = q->rx_free + p->qsize;
	for (unsigned i = 0; i < p->qsize; i++) {
		/* Popped from the top: slots are handed out from id 0 up. */
		q->rx_free[i] = (uint16_t)(p->qsize - 1 - i);
		q->tx_free[i] = (uint16_t)(2 * p->qsize - 1 - i);
	}
	q->n_rx_free = q->n_tx_free = p->qsize;
	return 0;
}

/* Event sources last: from here on, the engine may signal the queue. */
static int queue_watch(struct tap_port *p, struct tap_queue *q)
{
	int rc = vn_relay_open(&q->wake, q->fd, "tap");

	q->pub.port = &p->port;
	q->pub.broken = &p->broken;
	q->pub.rx_fd = q->wake.efd;
	q->pub.rx_src = q->wake.src;
	q->pub.tx_fd = -1;
	return rc;
}

/* Link up/down events (linkwatch.h), from the state the interface has now;
 * they also wake waiters, who then see an interface that went away. */
static int watch_links(struct tap_port *p)
{
	struct ifreq ifr;
	int rc = if_ioctl(p, SIOCGIFINDEX, &ifr), idx;

	if (rc)
		return vn_err(rc, "tap: SIOCGIFINDEX %s: %s", p->ifname, strerror(-rc));
	idx = ifr.ifr_ifindex;
	rc = if_ioctl(p, SIOCGIFFLAGS, &ifr);
	if (rc)
		return vn_err(rc, "tap: SIOCGIFFLAGS %s: %s", p->ifname, strerror(-rc));
	rc = vn_linkwatch_open(&p->links, &p->port, idx, (ifr.ifr_flags & IFF_RUNNING) != 0, NULL,
			       NULL, "tap");
	if (rc)
		return rc;
	p->port.event_fd = p->links.ev_fd;
	for (unsigned i = 0; i < p->port.pairs; i++)
		p->q[i].pub.ev_src = p->links.src;
	return 0;
}

/* Release what exists of p; safe on a partly opened port. */
static void tap_free(struct tap_port *p)
{
	vn_linkwatch_close(&p->links);
	for (unsigned i = 0; p->q && i < p->port.pairs; i++) {
		struct tap_queue *q = &p->q[i];

		vn_relay_close(&q->wake);
		if (q->fd >= 0)
			close(q->fd);
		free(q->mem);
		free(q->held);
		free(q->rx_free);
	}
	free(p->q);
	if (p->ctl >= 0)
		close(p->ctl);
	free(p);
}

static int check_sizes(const struct vnet_dev_opts *o, unsigned *pairs, unsigned *qsize)
{
	*pairs = o->queue_pairs ? o->queue_pairs : 1;
	*qsize = o->queue_size ? o->queue_size : TAP_DEFAULT_QSIZE;
	if (*pairs > TAP_MAX_QUEUES)
		return vn_err(-EINVAL, "tap: %u queue pairs; a TAP interface has at most %u",
			      *pairs, TAP_MAX_QUEUES);
	if (*qsize > TAP_MAX_QSIZE)
		return vn_err(-EINVAL, "tap: queue size %u; at most %u", *qsize, TAP_MAX_QSIZE);
	return 0;
}

static int tap_open(const struct vn_uri *u, const struct vnet_dev_opts *o, struct vn_port **out)
{
	struct tap_port *p;
	unsigned pairs, qsize;
	int rc = check_sizes(o, &pairs, &qsize);

	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return vn_err(-ENOMEM, "tap: out of memory");
	p->port.ops = &vn_tap_port_ops;
	p->port.event_fd = -1;
	vn_linkwatch_init(&p->links);
	p->qsize = qsize;
	memcpy(p->ifname, u->target, strnlen(u->target, IFNAMSIZ - 1)); /* uri.c checked the length */
	/* Any socket takes the SIOC[GS]IF* ioctls; AF_UNIX needs no network stack. */
	p->ctl = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->ctl < 0) {
		rc = vn_err(-errno, "tap: socket: %s", strerror(errno));
		goto err;
	}
	p->q = calloc(pairs, sizeof(*p->q));
	if (!p->q) {
		rc = vn_err(-ENOMEM, "tap: out of memory");
		goto err;
	}
	p->port.pairs = pairs;
	for (unsigned i = 0; i < pairs; i++) {
		p->q[i].fd = -1;
		vn_relay_init(&p->q[i].wake);
	}
	for (unsigned i = 0; !rc && i < pairs; i++)
		rc = tap_attach(p, pairs, &p->q[i].fd);
	if (!rc)
		rc = pick_mac(u, p->ifname, p->mac);
	if (!rc)
		rc = read_mtu(p);
	p->cur_mtu = (uint16_t)p->mtu;
	p->ifc = (struct vn_ifctl){ .fd = p->ctl, .ifname = p->ifname, .who = "tap",
				    .stop = &p->broken, .max_mtu = p->mtu };
	for (unsigned i = 0; !rc && i < pairs; i++)
		rc = queue_setup(p, &p->q[i]);
	for (unsigned i = 0; !rc && i < pairs; i++)
		rc = queue_watch(p, &p->q[i]);
	if (rc)
		goto err;
	link_up(p);
	rc = watch_links(p);
	if (rc)
		goto err;
	*out = &p->port;
	return 0;
err:
	tap_free(p);
	return rc;
}

/* write() is synchronous: nothing submitted is left to drain. */
static void tap_close(struct vn_port *p)
{
	tap_free(tp(p));
}

static void tap_info(struct vn_port *port, struct vnet_dev_info *i)
{
	struct tap_port *p = tp(port);
	struct ifreq ifr;

	snprintf(i->access, sizeof(i->access), "tap");
	memcpy(i->mac, p->mac, sizeof(i->mac));
	i->mtu = __atomic_load_n(&p->cur_mtu, __ATOMIC_RELAXED);
	i->max_mtu = (uint16_t)p->mtu;
	i->active_pairs = (uint16_t)p->port.pairs;
	i->flags = vn_ifctl_flags(&p->ifc);
	i->max_queue_pairs = (uint16_t)p->port.pairs;
	i->queue_pairs = (uint16_t)p->port.pairs;
	i->queue_size = (uint16_t)p->qsize;
	i->features = 0;
	i->broken = (__atomic_load_n(&p->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN) != 0;
	/* IFF_RUNNING: up, with its carrier (a tun file attached). */
	i->link_up = !i->broken && !if_ioctl(p, SIOCGIFFLAGS, &ifr) &&
		     (ifr.ifr_flags & IFF_RUNNING);
}

static struct vnet_queue *tap_queue(struct vn_port *p, unsigned qp)
{
	return &tp(p)->q[qp].pub;
}

static void tap_stats(struct vnet_queue *pub, struct vnet_queue_stats *st)
{
	struct vnet_queue_stats s;

	vn_port_stats_load(&tq(pub)->st, &s);
	vn_port_stats_out(&s, st);
}

/* --- the data path ------------------------------------------------------ */

/*
 * Validate a whole burst of buffers the application holds in slots
 * [lo, lo + qsize) before changing anything: a bad one leaves everything
 * as it was. Claimed slots are marked not held for the moment, which also
 * catches the same id twice in one burst.
 */
static int claim(struct tap_queue *q, const struct vnet_buf *bufs, unsigned n, unsigned lo,
		 uint32_t cap)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t id = bufs[i].id;
		int err = 0;

		if (id < lo || id - lo >= q->qsize || !q->held[id])
			err = vn_err(-EINVAL, "buffer %u (id %u) is not one the application holds",
				     i, id);
		else if (bufs[i].len > cap)
			err = vn_err(-EMSGSIZE, "buffer %u: %u bytes, capacity %u", i,
				     bufs[i].len, cap);
		if (err) {
			while (i--)
				q->held[bufs[i].id] = 1;
			return err;
		}
		q->held[id] = 0;
	}
	return 0;
}

static int tap_tx_reserve(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n)
{
	struct tap_queue *q = tq(pub);
	uint8_t stop = stopped(q);
	uint32_t cap;
	unsigned got;

	if (VN_UNLIKELY(stop))
		return stop_error(stop);
	got = VN_MIN(n, q->n_tx_free);
	cap = frame_max(q);
	for (unsigned i = 0; i < got; i++) {
		uint16_t id = q->tx_free[--q->n_tx_free];

		q->held[id] = 1;
		bufs[i] = (struct vnet_buf){ .data = slot(q, id), .len = cap, .id = id };
	}
	return (int)got;
}

/* One write() per frame; false when the interface is gone. */
static bool tx_one(struct tap_queue *q, const struct vnet_buf *b)
{
	ssize_t r;

	do {
		VN_STAT_ADD(q->st.tx_kicks, 1);
		r = write(q->fd, b->data, b->len);
	} while (r < 0 && errno == EINTR);
	if (VN_LIKELY(r == (ssize_t)b->len)) {
		VN_STAT_ADD(q->st.tx_packets, 1);
		VN_STAT_ADD(q->st.tx_bytes, b->len);
		return true;
	}
	/* Refused (too short, no memory, interface down...): the frame is gone. */
	VN_STAT_ADD(q->st.tx_errors, 1);
	if (r < 0 && errno == EBADFD) {
		mark_broken(q);
		return false;
	}
	vn_debug("tap: write of %u bytes: %s", b->len, r < 0 ? strerror(errno) : "short");
	return true;
}

static int tap_tx_submit(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n)
{
	struct tap_queue *q = tq(pub);
	uint8_t stop = stopped(q);
	bool up = true;
	int rc;

	if (VN_UNLIKELY(stop) && !vn_bufs_unsent(bufs, n))
		return stop_error(stop);
	rc = claim(q, bufs, n, q->qsize, frame_max(q));
	if (VN_UNLIKELY(rc)) {
		if (rc == -EMSGSIZE)
			VN_STAT_ADD(q->st.tx_errors, 1);
		return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		if (bufs[i].len) {
			if (up)
				up = tx_one(q, &bufs[i]);
			else
				VN_STAT_ADD(q->st.tx_errors, 1); /* not written: the interface is gone */
		}
		q->tx_free[q->n_tx_free++] = bufs[i].id;
	}
	return up ? (int)n : down();
}

/*
 * Administratively down: read every frame the kernel has into a free slot
 * (kept free) and count it in rx_dropped; nothing is returned.
 */
static int rx_discard(struct tap_queue *q)
{
	while (q->n_rx_free) {
		ssize_t r;

		VN_STAT_ADD(q->st.rx_kicks, 1);
		r = read(q->fd, slot(q, q->rx_free[q->n_rx_free - 1]), q->cap + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EBADFD)
			mark_broken(q);
		if (r < 0)
			break; /* EAGAIN: nothing left; errors: the next peek meets them */
		VN_STAT_ADD(q->st.rx_dropped, 1);
	}
	return 0;
}

static int tap_rx_peek(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n)
{
	struct tap_queue *q = tq(pub);
	uint8_t stop = stopped(q);
	unsigned out = 0;
	uint32_t lim;

	if (VN_UNLIKELY(stop))
		return stop & VN_STOP_BROKEN ? down() : rx_discard(q);
	lim = frame_max(q);
	while (out < n && q->n_rx_free) {
		uint16_t id = q->rx_free[q->n_rx_free - 1];
		uint8_t *data = slot(q, id);
		ssize_t r;

		VN_STAT_ADD(q->st.rx_kicks, 1);
		r = read(q->fd, data, q->cap + 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == EBADFD)
				mark_broken(q);
			/* Frames already taken go out first; the next call
			 * meets the error again. */
			if (out)
				break;
			return errno == EBADFD ? down()
					       : vn_err(-errno, "tap: read: %s", strerror(errno));
		}
		/* The kernel cuts a frame to the length asked: one that
		 * fills the spare byte did not fit (the MTU was raised); one
		 * over lim is longer than vnet_dev_set_mtu() allows. */
		if (VN_UNLIKELY(r == 0 || (size_t)r > lim)) {
			VN_STAT_ADD(q->st.rx_dropped, 1);
			VN_STAT_ADD(q->st.rx_errors, 1);
			continue;
		}
		q->n_rx_free--;
		q->held[id] = 1;
		VN_STAT_ADD(q->st.rx_packets, 1);
		VN_STAT_ADD(q->st.rx_bytes, (uint64_t)r);
		bufs[out++] = (struct vnet_buf){ .data = data, .len = (uint32_t)r, .id = id };
	}
	return (int)out;
}

static int tap_rx_release(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n)
{
	struct tap_queue *q = tq(pub);
	int rc = claim(q, bufs, n, 0, UINT32_MAX);

	if (VN_UNLIKELY(rc))
		return rc;
	for (unsigned i = 0; i < n; i++)
		q->rx_free[q->n_rx_free++] = bufs[i].id;
	return 0;
}

/* --- waking up ---------------------------------------------------------- */

/* RX: a frame waits in the kernel (or the interface is gone, which a peek
 * reports); TX: a slot is free. */
static bool tap_ready(struct vnet_queue *pub, bool tx)
{
	struct tap_queue *q = tq(pub);
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };

	if (tx)
		return q->n_tx_free > 0;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
		mark_broken(q);
	return true;
}

static bool tap_arm(struct vnet_queue *pub, bool tx)
{
	if (tx)
		return tap_ready(pub, true);
	/* No wake-up would come when the watch cannot be renewed: have the
	 * caller poll instead. */
	if (!vn_relay_arm(&tq(pub)->wake))
		return true;
	return tap_ready(pub, false);
}

static void tap_disarm(struct vnet_queue *pub, bool tx)
{
	if (!tx)
		vn_relay_disarm(&tq(pub)->wake);
}

static int tap_event(struct vn_port *p, int *type)
{
	return vn_linkwatch_pop(&tp(p)->links, type);
}

static int tap_set(struct vn_port *port, const struct vn_set *s)
{
	struct tap_port *p = tp(port);
	int rc;

	if (s->kind == VN_SET_MAC)
		return vn_err(-EOPNOTSUPP, "tap: the station address is the application's end of "
			      "the wire, chosen at open (mac=); the kernel does not filter on it");
	rc = vn_ifctl_set(&p->ifc, s);
	if (rc)
		return rc;
	if (s->kind == VN_SET_MTU) {
		for (unsigned i = 0; i < p->port.pairs; i++)
			__atomic_store_n(&p->q[i].frame_max, s->val + TAP_FRAME_EXTRA,
					 __ATOMIC_RELAXED);
		__atomic_store_n(&p->cur_mtu, (uint16_t)s->val, __ATOMIC_RELAXED);
	}
	vn_linkwatch_push(&p->links, VNET_EV_SETTINGS);
	return 0;
}

static void tap_filters(struct vn_port *p, struct vnet_dev_filters *f)
{
	vn_ifctl_filters(&tp(p)->ifc, f);
}

static int tap_xstats(struct vn_port *p, struct vnet_xstat *xs, unsigned n)
{
	return vn_ifctl_xstats(&tp(p)->ifc, xs, n);
}

const struct vn_port_ops vn_tap_port_ops = {
	.name = "tap",
	.open = tap_open,
	.close = tap_close,
	.info = tap_info,
	.queue = tap_queue,
	.stats = tap_stats,
	.tx_reserve = tap_tx_reserve,
	.tx_submit = tap_tx_submit,
	.rx_peek = tap_rx_peek,
	.rx_release = tap_rx_release,
	.ready = tap_ready,
	.arm = tap_arm,
	.disarm = tap_disarm,
	.event = tap_event,
	.set = tap_set,
	.filters = tap_filters,
	.xstats = tap_xstats,
};
