/* SPDX-License-Identifier: MIT */
/*
 * Ports: what a struct vnet_dev is underneath. One ops table per backend,
 * chosen once at open by the URI's scheme (uri.h) and, for PCI functions
 * (vfio:, vfio-user:), by their vendor and device ids (pci.c):
 *   virtio/virtio_port.c  virtio-net over device access (vfio:, vfio-user:, sim:)
 *   e1000e/e1000e.c       the Intel 82574 (e1000e) over device access (vfio:, vfio-user:)
 *   kernel/tap.c          a kernel TAP interface (tap:IFNAME)
 *   kernel/xdp.c          AF_XDP sockets on a kernel interface (xdp:IFNAME[@QUEUE])
 * The kernel-backed ports exist as a fallback where no VFIO device is at
 * hand, and so that vnetperf measures TAP and AF_XDP with the same program.
 *
 * device.c (the public device and burst calls) and wait.c (sleeping) are
 * the only callers. A burst call is one indirect call away from its public
 * vnet_* function; the same contracts apply (vnet.h), but functions return
 * the count or -errno and record why with vn_err() as usual.
 *
 * Threading: as vnet.h says, a queue is used by one thread at a time; info,
 * stats and events may be called from any thread.
 */
#ifndef VN_PORT_H
#define VN_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vnet/vnet.h"
#include "compiler.h"
#include "uri.h"

struct vn_port;
struct vn_devio;

/*
 * The part of a queue pair every port shares: the public struct vnet_queue
 * is this header, embedded first in each port's own queue struct.
 */
struct vnet_queue {
	struct vn_port *port;
	const uint8_t *broken; /* the device-wide VN_STOP_* bits (atomic reads); waits
				  report VNET_WAIT_ERR on VN_STOP_BROKEN */
	int rx_fd, tx_fd;      /* readable while the direction has work (vnet_queue_fd()); -1: none */
	uint32_t rx_src, tx_src; /* their event engine sources (event.h); 0: polled */
	uint32_t ev_src;       /* the device's event source, which also ends waits; 0: none */
	uint64_t checked_ns;   /* wait.c: when a sleeper last had the device looked at
				  (ops->check; CLOCK_MONOTONIC, relaxed atomic) */
	/* The direct path (wait.c): set by the port when rx_fd and tx_fd are
	 * this queue's alone and err_fd turns readable, for good, once the
	 * device is broken (never drained): a lone waiter then sleeps on these
	 * descriptors itself, not in the event engine. */
	bool own_fds;
	int err_fd;
	uint8_t direct;        /* wait.c: the directions a direct sleeper holds (atomic) */
	uint32_t busy_cfg;     /* vnet_queue_busy_poll(): 0 adaptive, else the budget in us + 1 */
	struct vn_spin {       /* wait.c: the learned busy-poll budget of RX waits ([0])
				  and the others ([1]); their waiting thread's alone */
		uint32_t ns;
		uint8_t backoff;   /* log2 of the quick sleeps before spinning is tried again */
		uint16_t quick;    /* quick sleeps since the budget fell to 0 */
	} spin[2];
	uint64_t direct_sleeps; /* wait.c: sleeps taken on the direct path (atomic; tests read it) */
	uint8_t claimed;       /* handed out by vnet_dev_queue() (relaxed atomic): an
				  application thread uses it (virtio auto reset) */
};

/*
 * Why a port's data path stops, in the one device-wide byte each burst
 * call loads once (vnet_queue::broken): any bit set sends the call to its
 * slow path, which tells the two apart. BROKEN is for good (reopen);
 * DOWN is vnet_dev_set_up(0): sends fail with ENETDOWN, received frames
 * are dropped and counted, until vnet_dev_set_up(1) clears it.
 */
#define VN_STOP_BROKEN 0x1
#define VN_STOP_DOWN 0x2
/* A reset is under way (VNET_DEV_F_AUTO_RESET): bursts return 0, waits
 * sleep; BROKEN, when also set, wins. */
#define VN_STOP_RESET 0x4

/* One change of vnet_dev_set_*() (and of the control plane, which calls them). */
enum vn_set_kind {
	VN_SET_MTU,         /* val: 68 .. max_mtu */
	VN_SET_UP,          /* val: 1 up, 0 down */
	VN_SET_PROMISC,     /* val: 1 on, 0 off */
	VN_SET_ALLMULTI,    /* val: 1 on, 0 off */
	VN_SET_MAC,         /* mac: station address */
	VN_SET_QUEUE_PAIRS, /* val: 1 .. pairs */
	VN_SET_MAC_ADD,     /* mac: unicast or multicast filter entry */
	VN_SET_MAC_DEL,
	VN_SET_VLAN_ADD,    /* val: VLAN id 0 .. 4095 */
	VN_SET_VLAN_DEL,
	VN_SET_RSS,         /* arg: const struct vnet_rss * (checked sz) */
	VN_SET_COALESCE,    /* arg: const struct vnet_coalesce * */
};

struct vn_set {
	enum vn_set_kind kind;
	unsigned val;
	uint8_t mac[6];
	const void *arg;    /* the kinds with a payload of their own */
};

/* Who is told of device events as a port queues them (the control plane's
 * notifications); see vn_port_notify(). */
struct vn_port_observer {
	void (*fn)(void *arg, int type); /* any thread; must not block */
	void *arg;
};

struct vn_port_ops {
	const char *name;
	/* Open what u names, with the caller's options (defaults filled in).
	 * NULL for drivers reached only through attach(). */
	int (*open)(const struct vn_uri *u, const struct vnet_dev_opts *o, struct vn_port **out);
	/*
	 * Drivers of PCI functions (pci.c; NULL for the others): take over the
	 * device access d that u opened, whose ids are the driver's. On success
	 * the port owns d; on failure d stays the caller's.
	 */
	int (*attach)(struct vn_devio *d, const struct vn_uri *u, const struct vnet_dev_opts *o,
		      struct vn_port **out);
	/* Frames already submitted leave first (bounded), then everything is released. */
	void (*close)(struct vn_port *p);
	/* Fill in everything of i but uri. */
	void (*info)(struct vn_port *p, struct vnet_dev_info *i);
	/* Queue pair qp (< p->pairs). */
	struct vnet_queue *(*queue)(struct vn_port *p, unsigned qp);
	/* Copy the counters of q into st (sz is the caller's and stays). */
	void (*stats)(struct vnet_queue *q, struct vnet_queue_stats *st);

	int (*tx_reserve)(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n);
	int (*tx_submit)(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n);
	int (*rx_peek)(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n);
	int (*rx_release)(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n);
	/* Offload metadata of one buffer (vnet.h; off's sz already checked).
	 * Optional: NULL refuses them with EOPNOTSUPP. */
	int (*tx_offload)(struct vnet_queue *q, const struct vnet_buf *b,
			  const struct vnet_offload *off);
	int (*rx_offload)(struct vnet_queue *q, const struct vnet_buf *b, struct vnet_offload *off);

	/*
	 * Sleeping (wait.c): ready() tells whether a direction has work (RX: a
	 * frame waits; TX: a buffer can be reserved) without side effects but
	 * reclaiming. arm() asks for a wake-up on the direction's source and
	 * checks once more, after a full barrier: true means work is already
	 * there (the caller does not sleep, and disarms). disarm() stops the
	 * wake-ups while the caller polls. Ports whose fds are always armed
	 * (sockets) implement arm() as ready() and disarm() as nothing.
	 */
	bool (*ready)(struct vnet_queue *q, bool tx);
	bool (*arm)(struct vnet_queue *q, bool tx);
	void (*disarm)(struct vnet_queue *q, bool tx);
	/*
	 * Optional (NULL: nothing to look at). A sleeper heard nothing for
	 * VN_WAIT_RECHECK_MS (called once per device, with one of the queues
	 * waited on): look at the device itself (system calls allowed)
	 * and mark it broken when it is gone or hung, so that a device which
	 * stopped interrupting, or died without a word, cannot keep a waiter
	 * asleep for ever. (Work a lost interrupt left in the rings is found
	 * by the ready() scan that follows.)
	 */
	void (*check)(struct vnet_queue *q);

	/* The oldest device event (VNET_EV_*) in *type: 1, 0 when none, or -errno. */
	int (*event)(struct vn_port *p, int *type);

	/*
	 * Settings (vnet.h "Device settings"). set() changes one; 0, or -errno
	 * with vn_err() (-EOPNOTSUPP and the reason where the port or its
	 * device cannot). device.c serialises calls; a change that took effect
	 * queues VNET_EV_SETTINGS (and tells the observer). filters() and
	 * xstats() are optional (NULL: no filters; no device-level counters).
	 */
	int (*set)(struct vn_port *p, const struct vn_set *s);
	/* Optional (NULL: -EOPNOTSUPP): read back the setting of a kind with a
	 * payload (VN_SET_RSS: struct vnet_rss; VN_SET_COALESCE: struct
	 * vnet_coalesce) into out, whole (device.c copies the caller's sz). */
	int (*get)(struct vn_port *p, enum vn_set_kind kind, void *out);
	void (*filters)(struct vn_port *p, struct vnet_dev_filters *f);
	int (*xstats)(struct vn_port *p, struct vnet_xstat *xs, unsigned n);
};

/* How long a sleeper goes without looking at its rings and devices
 * (wait.c): the bound on a lost interrupt's delay and on noticing a
 * device that died silently; 4 wake-ups a second cost nothing measurable. */
#define VN_WAIT_RECHECK_MS 250

struct vn_port {
	const struct vn_port_ops *ops;
	unsigned pairs;   /* queue pairs in use */
	int event_fd;     /* vnet_dev_event_fd(): readable when an event may wait; -1: none */
	/* Set and cleared (atomically) by the control server that device.c
	 * starts and stops (ctl/ctl_server.c); NULL: nobody listens. */
	struct vn_port_observer *observer;
};

/* Tell the observer, if any, of event type (VNET_EV_*): ports call it each
 * time they queue an event. */
static inline void vn_port_notify(struct vn_port *p, int type)
{
	struct vn_port_observer *o = __atomic_load_n(&p->observer, __ATOMIC_ACQUIRE);

	if (o)
		o->fn(o->arg, type);
}

/* VN_SET_UP on a port's VN_STOP_* byte: the data path sees it at its
 * next burst (a relaxed atomic; no ordering with anything else needed). */
static inline void vn_port_set_up(uint8_t *stop, bool up)
{
	if (up)
		__atomic_fetch_and(stop, (uint8_t)~VN_STOP_DOWN, __ATOMIC_RELAXED);
	else
		__atomic_fetch_or(stop, VN_STOP_DOWN, __ATOMIC_RELAXED);
}

/* tx_submit() of buffers all handed back unsent (len 0): allowed even
 * while the port is stopped (vnet.h), so reserved buffers never strand. */
static inline bool vn_bufs_unsent(const struct vnet_buf *bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (bufs[i].len)
			return false;
	return true;
}

/* The error of a send while VN_STOP_DOWN: -ENETDOWN, recorded (device.c). */
int vn_port_admin_down(void);

/*
 * stats(): a snapshot of counters the queue's thread may be adding to right
 * now (VN_STAT_ADD, compiler.h), each loaded atomically; then handed out
 * up to the caller's st->sz (which stays).
 */
static inline void vn_port_stats_load(const struct vnet_queue_stats *c, struct vnet_queue_stats *s)
{
	s->rx_packets = VN_STAT_GET(c->rx_packets);
	s->rx_bytes = VN_STAT_GET(c->rx_bytes);
	s->rx_dropped = VN_STAT_GET(c->rx_dropped);
	s->rx_errors = VN_STAT_GET(c->rx_errors);
	s->tx_packets = VN_STAT_GET(c->tx_packets);
	s->tx_bytes = VN_STAT_GET(c->tx_bytes);
	s->tx_errors = VN_STAT_GET(c->tx_errors);
	s->rx_kicks = VN_STAT_GET(c->rx_kicks);
	s->tx_kicks = VN_STAT_GET(c->tx_kicks);
}

static inline void vn_port_stats_out(struct vnet_queue_stats *s, struct vnet_queue_stats *st)
{
	size_t sz = VN_MIN(st->sz, sizeof(*s));

	s->sz = st->sz;
	memcpy(st, s, sz);
}

extern const struct vn_port_ops vn_virtio_port_ops;
extern const struct vn_port_ops vn_e1000e_port_ops;
extern const struct vn_port_ops vn_tap_port_ops;
extern const struct vn_port_ops vn_xdp_port_ops; /* built when configure found libxdp (HAVE_XDP) */

#endif
