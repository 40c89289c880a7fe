/* SPDX-License-Identifier: MIT */
/*
 * The xdp: port (port.h): the vnet API over AF_XDP sockets bound to queues
 * QUEUE..QUEUE+N-1 of a kernel interface, for xdp:IFNAME[@QUEUE]
 * ?queues=N&qsize=N&attach=drv|skb. This file opens, closes and describes
 * the port; the data path is xdp_rxtx.c, the XDP program xdp_prog.c.
 *
 * Sleeping: the AF_XDP socket is readable while its RX ring has entries
 * (the kernel wakes its poll waiters as it fills the ring); a relay
 * (relay.h) turns that into the queue's eventfd (rx_fd), as vnet.h wants
 * of vnet_queue_fd(). TX has no descriptor (tx_fd -1):
 * waits for TX look again every millisecond (wait.c). The port's event
 * source (ev_src) is its link watch (linkwatch.h): link up and down reach
 * vnet_dev_event(), and a waiter learns that the interface went away (see
 * on_link()).
 */
#include "xdp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>

#include "event.h"
#include "log.h"

#define QSIZE_DEFAULT 256u
#define DRAIN_NS 200000000ull      /* close() waits this long for TX (vnet.h) */
#define BIND_RETRY_NS 500000000ull /* see bind_socket() */

static struct xdp_port *xport(struct vn_port *p)
{
	return (struct xdp_port *)p; /* port is the first member */
}

/* Frames of the TX direction return within DRAIN_NS, or are dropped. */
static void drain(struct xdp_port *x, unsigned nq)
{
	uint64_t deadline = vn_ev_now_ns() + DRAIN_NS;
	struct timespec pause = { 0, 100000 };

	for (unsigned i = 0; i < nq; i++) {
		struct xq *q = &x->q[i];

		while (q->in_flight && !vn_xq_broken(q) && vn_ev_now_ns() < deadline) {
			vn_xq_tx_kick(q);
			vn_xq_tx_reclaim(q);
			if (q->in_flight)
				nanosleep(&pause, NULL);
		}
	}
}

/* Undo xq_open(), however far it went. */
static void xq_close(struct xq *q)
{
	vn_relay_close(&q->wake);
	if (q->xsk)
		xsk_socket__delete(q->xsk);
	/* The umem's descriptor is its first socket's; this closes it. */
	if (q->umem && xsk_umem__delete(q->umem))
		vn_warn("xdp: queue %u: the umem is still in use", q->queue_id);
	if (q->area)
		munmap(q->area, (size_t)2 * q->qsize * FRAME);
	free(q->state);
	free(q->free);
}

/*
 * Create the socket and bind it to the queue. The kernel lets go of a
 * closed AF_XDP socket's queue in a deferred work item, so a bind right
 * after a close (this process reopening the port) can find the queue still
 * taken: EBUSY is retried for up to BIND_RETRY_NS before it is reported.
 */
static int bind_socket(struct xdp_port *x, struct xq *q, unsigned queue_id,
		       const struct xsk_socket_config *sc)
{
	uint64_t deadline = vn_ev_now_ns() + BIND_RETRY_NS;
	struct timespec pause = { 0, 1000000 };
	int rc;

	for (;;) {
		rc = xsk_socket__create(&q->xsk, x->ifname, queue_id, q->umem, &q->rx, &q->tx, sc);
		if (rc != -EBUSY || vn_ev_now_ns() >= deadline)
			return rc;
		nanosleep(&pause, NULL);
	}
}

/* Register the umem, bind the socket, fill the fill ring, hand the socket
 * to the XDP program and to the event engine. */
static int xq_open(struct xdp_port *x, struct xq *q, unsigned queue_id)
{
	size_t size = (size_t)2 * x->qsize * FRAME;
	const struct xsk_umem_config uc = { .fill_size = x->qsize, .comp_size = x->qsize,
					    .frame_size = FRAME };
	const struct xsk_socket_config sc = { .rx_size = x->qsize, .tx_size = x->qsize,
					      .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
					      .bind_flags = XDP_USE_NEED_WAKEUP };
	uint32_t idx;
	int rc;

	q->x = x;
	q->queue_id = queue_id;
	q->qsize = x->qsize;
	q->pub = (struct vnet_queue){ .port = &x->port, .broken = &x->broken, .rx_fd = -1,
				      .tx_fd = -1 };
	vn_relay_init(&q->wake);
	q->state = calloc(2u * x->qsize, 1);
	q->free = calloc(x->qsize, sizeof(*q->free));
	if (!q->state || !q->free)
		return vn_err(-ENOMEM, "xdp: out of memory");
	q->area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->area == MAP_FAILED) {
		q->area = NULL;
		return vn_err(-errno, "xdp: %zu KiB of umem: %s", size >> 10, strerror(errno));
	}
	rc = xsk_umem__create(&q->umem, q->area, size, &q->fill, &q->comp, &uc);
	if (rc) {
		q->umem = NULL;
		return vn_err(rc, "xdp: registering %zu KiB of umem for queue %u: %s%s", size >> 10,
			      queue_id, strerror(-rc),
			      rc == -ENOBUFS || rc == -ENOMEM || rc == -EPERM ?
				      " (AF_XDP umems count against RLIMIT_MEMLOCK, for all of "
				      "this user's processes)" : "");
	}
	rc = bind_socket(x, q, queue_id, &sc);
	if (rc) {
		q->xsk = NULL;
		return vn_err(rc, "xdp: AF_XDP socket on %s queue %u: %s%s", x->ifname, queue_id,
			      strerror(-rc),
			      rc == -EINVAL ? " (does the interface have that queue?)" :
			      rc == -EBUSY ? " (another AF_XDP socket is bound to it)" : "");
	}
	q->fd = xsk_socket__fd(q->xsk);
	/* Every RX frame to the kernel (store-release in libxdp's submit), every
	 * TX frame on the free stack. */
	if (xsk_ring_prod__reserve(&q->fill, q->qsize, &idx) != q->qsize)
		return vn_err(-EIO, "xdp: queue %u: a new fill ring has no room", queue_id);
	for (uint32_t i = 0; i < q->qsize; i++) {
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = (uint64_t)i * FRAME;
		q->state[i] = FR_KERNEL;
	}
	xsk_ring_prod__submit(&q->fill, q->qsize);
	for (uint32_t i = q->qsize; i < 2u * q->qsize; i++) {
		q->state[i] = FR_FREE;
		q->free[q->n_free++] = (uint16_t)i;
	}
	rc = vn_xdp_prog_bind(&x->prog, queue_id, q->fd);
	if (!rc)
		rc = vn_relay_open(&q->wake, q->fd, "xdp");
	if (rc)
		return rc;
	q->pub.rx_fd = q->wake.efd;
	q->pub.rx_src = q->wake.src;
	vn_xq_rx_kick(q);
	return 0;
}

/*
 * The kernel tells an AF_XDP socket that its interface went away only by
 * the socket's error, and its poll then reports nothing, so a waiter
 * sleeping on RX would never hear of it. So on each link notification
 * (linkwatch.h, in the event engine's thread) the port checks every
 * queue's socket error, which the kernel sets before it announces the
 * deletion. The engine then wakes the waiters (the queues' ev_src), who
 * find the port broken.
 */
static void on_link(void *arg)
{
	struct xdp_port *x = arg;

	for (unsigned i = 0; i < x->port.pairs; i++)
		vn_xq_check_alive(&x->q[i]);
}

static int watch_links(struct xdp_port *x, int ifindex)
{
	struct ifreq ifr = { 0 };
	int rc;

	memcpy(ifr.ifr_name, x->ifname, sizeof(x->ifname));
	if (ioctl(x->ctl_fd, SIOCGIFFLAGS, &ifr) < 0)
		return vn_err(-errno, "xdp: reading the flags of %s: %s", x->ifname, strerror(errno));
	rc = vn_linkwatch_open(&x->links, &x->port, ifindex, (ifr.ifr_flags & IFF_RUNNING) != 0,
			       on_link, x, "xdp");
	if (rc)
		return rc;
	x->port.event_fd = x->links.ev_fd;
	for (unsigned i = 0; i < x->port.pairs; i++)
		x->q[i].pub.ev_src = x->links.src;
	return 0;
}

/* Undo xp_open() for the first nq queues (the last one maybe half open). */
static void teardown(struct xdp_port *x, unsigned nq)
{
	/* First the link watch, whose callback looks at the queues. */
	vn_linkwatch_close(&x->links);
	drain(x, nq);
	/* First the program, so that no frame is redirected to a socket that
	 * is going away. */
	vn_xdp_prog_detach(&x->prog);
	for (unsigned i = 0; i < nq; i++)
		xq_close(&x->q[i]);
	if (x->ctl_fd >= 0)
		close(x->ctl_fd);
	free(x->q);
	free(x);
}

/* Ring sizes the kernel takes, and umems that fit in locked memory. */
static int check_sizes(unsigned pairs, unsigned qsize)
{
	uint64_t total = (uint64_t)pairs * 2u * qsize * FRAME;
	struct rlimit rl;

	if (qsize & (qsize - 1))
		return vn_err(-EINVAL, "xdp: qsize=%u: AF_XDP rings take a power of two", qsize);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    total >= rl.rlim_cur)
		return vn_err(-ENOBUFS, "xdp: %u queue(s) x %u frames x %u bytes = %llu KiB of umem; "
			      "RLIMIT_MEMLOCK allows less than %llu KiB: lower qsize= or queues=",
			      pairs, 2u * qsize, FRAME, (unsigned long long)(total >> 10),
			      (unsigned long long)(rl.rlim_cur >> 10));
	return 0;
}

static int xp_open(const struct vn_uri *u, const struct vnet_dev_opts *o, struct vn_port **out)
{
	unsigned pairs = o->queue_pairs ? o->queue_pairs : 1, nq = 0;
	unsigned qsize = o->queue_size ? o->queue_size : QSIZE_DEFAULT;
	/* uri.c checked the queue: 1 to 5 decimal digits, or none. */
	unsigned first = u->arg[0] ? (unsigned)strtoul(u->arg, NULL, 10) : 0;
	struct ifreq ifr = { 0 };
	struct xdp_port *x;
	int ifindex, rc;

	rc = check_sizes(pairs, qsize);
	if (rc)
		return rc;
	ifindex = (int)if_nametoindex(u->target);
	if (!ifindex)
		return vn_err(-ENODEV, "xdp: no interface %s in this network namespace", u->target);
	x = calloc(1, sizeof(*x));
	if (!x)
		return vn_err(-ENOMEM, "xdp: out of memory");
	x->ctl_fd = -1;
	vn_linkwatch_init(&x->links);
	x->prog = (struct vn_xdp_prog){ .map_fd = -1, .prog_fd = -1 };
	x->q = aligned_alloc(64, pairs * sizeof(*x->q));
	if (!x->q) {
		rc = vn_err(-ENOMEM, "xdp: out of memory");
		goto fail;
	}
	memset(x->q, 0, pairs * sizeof(*x->q));
	/* uri.c keeps names shorter than IFNAMSIZ; x is zeroed. */
	memcpy(x->ifname, u->target, strnlen(u->target, sizeof(x->ifname) - 1));
	x->qsize = qsize;
	x->port = (struct vn_port){ .ops = &vn_xdp_port_ops, .pairs = pairs, .event_fd = -1 };
	x->ctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memcpy(ifr.ifr_name, x->ifname, sizeof(x->ifname));
	if (x->ctl_fd < 0 || ioctl(x->ctl_fd, SIOCGIFMTU, &ifr) < 0) {
		rc = vn_err(-errno, "xdp: reading the MTU of %s: %s", x->ifname, strerror(errno));
		goto fail;
	}
	/* A whole frame: MTU, Ethernet header and one VLAN tag (vnet.h). */
	x->tx_cap = VN_MIN((uint32_t)ifr.ifr_mtu + 18u, FRAME);
	x->frame_max = x->tx_cap;
	/* Settings are the interface's (ifctl.h), the station address too:
	 * it is what xp_info() reports. */
	x->ifc = (struct vn_ifctl){ .fd = x->ctl_fd, .ifname = x->ifname, .who = "xdp",
				    .stop = &x->broken, .max_mtu = x->tx_cap - 18u };
	rc = vn_xdp_prog_attach(x->ifname, ifindex, first + pairs - 1, vn_uri_opt(u, "attach"),
				&x->prog);
	while (!rc && nq < pairs) {
		rc = xq_open(x, &x->q[nq], first + nq);
		nq++;
	}
	if (!rc)
		rc = watch_links(x, ifindex);
	if (rc)
		goto fail;
	vn_info("xdp: %s queues %u..%u, %s mode, %u frames of %u bytes each", x->ifname, first,
		first + pairs - 1, x->prog.mode == XDP_FLAGS_DRV_MODE ? "native" : "generic",
		2u * qsize, FRAME);
	*out = &x->port;
	return 0;

fail:
	teardown(x, nq);
	return rc;
}

static void xp_close(struct vn_port *p)
{
	teardown(xport(p), p->pairs);
}

/* The interface's queue count as ethtool has it; at least those in use. */
static unsigned max_queues(struct xdp_port *x)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { .ifr_data = (void *)&ch };

	memcpy(ifr.ifr_name, x->ifname, sizeof(x->ifname));
	if (ioctl(x->ctl_fd, SIOCETHTOOL, &ifr) < 0)
		return x->port.pairs;
	return VN_MAX(VN_MAX(ch.combined_count, ch.rx_count), x->port.pairs);
}

static void xp_info(struct vn_port *p, struct vnet_dev_info *i)
{
	struct xdp_port *x = xport(p);
	struct ifreq ifr = { 0 };

	snprintf(i->access, sizeof(i->access), "af_xdp");
	i->queue_pairs = (uint16_t)p->pairs;
	i->max_queue_pairs = (uint16_t)VN_MIN(max_queues(x), 0xffffu);
	i->queue_size = (uint16_t)x->qsize;
	i->features = 0;
	i->broken = (__atomic_load_n(&x->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN) != 0;
	i->max_mtu = (uint16_t)x->ifc.max_mtu;
	i->active_pairs = (uint16_t)p->pairs;
	i->flags = vn_ifctl_flags(&x->ifc);
	memcpy(ifr.ifr_name, x->ifname, sizeof(x->ifname));
	if (ioctl(x->ctl_fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(i->mac, ifr.ifr_hwaddr.sa_data, sizeof(i->mac));
	if (ioctl(x->ctl_fd, SIOCGIFMTU, &ifr) == 0)
		i->mtu = (uint16_t)VN_MIN((unsigned)ifr.ifr_mtu, 0xffffu);
	if (ioctl(x->ctl_fd, SIOCGIFFLAGS, &ifr) == 0)
		i->link_up = !i->broken && (ifr.ifr_flags & IFF_RUNNING);
}

static struct vnet_queue *xp_queue(struct vn_port *p, unsigned qp)
{
	return &xport(p)->q[qp].pub;
}

static int xp_event(struct vn_port *p, int *type)
{
	return vn_linkwatch_pop(&xport(p)->links, type);
}

static int xp_set(struct vn_port *p, const struct vn_set *s)
{
	struct xdp_port *x = xport(p);
	int rc = vn_ifctl_set(&x->ifc, s);

	if (rc)
		return rc;
	if (s->kind == VN_SET_MTU)
		__atomic_store_n(&x->frame_max, s->val + 18u, __ATOMIC_RELAXED);
	vn_linkwatch_push(&x->links, VNET_EV_SETTINGS);
	return 0;
}

static void xp_filters(struct vn_port *p, struct vnet_dev_filters *f)
{
	vn_ifctl_filters(&xport(p)->ifc, f);
}

static int xp_xstats(struct vn_port *p, struct vnet_xstat *xs, unsigned n)
{
	return vn_ifctl_xstats(&xport(p)->ifc, xs, n);
}

const struct vn_port_ops vn_xdp_port_ops = {
	.name = "xdp",
	.open = xp_open,
	.close = xp_close,
	.info = xp_info,
	.queue = xp_queue,
	.stats = vn_xq_stats,
	.tx_reserve = vn_xq_tx_reserve,
	.tx_submit = vn_xq_tx_submit,
	.rx_peek = vn_xq_rx_peek,
	.rx_release = vn_xq_rx_release,
	.ready = vn_xq_ready,
	.arm = vn_xq_arm,
	.disarm = vn_xq_disarm,
	.event = xp_event,
	.set = xp_set,
	.filters = xp_filters,
	.xstats = xp_xstats,
};
