/* SPDX-License-Identifier: MIT */
/*
 * The xdp: port (port.h) over AF_XDP sockets: its queues and their data
 * path (xdp_rxtx.c), shared with the opening, closing and watching of the
 * port (xdp.c). The kernel side (XSKMAP and program) is xdp_prog.c; the
 * rings are libxdp's (xsk.h).
 *
 * Each queue has its own umem of 2*qsize frames of FRAME bytes: frames
 * [0, qsize) receive, frames [qsize, 2*qsize) send, so an id tells its
 * direction and the four rings of qsize entries can always hold every
 * frame they may be handed (a reserve on them never fails for lack of
 * room unless the kernel's indices are inconsistent).
 */
#ifndef VN_XDP_H
#define VN_XDP_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <xdp/xsk.h>

#include "ifctl.h"
#include "linkwatch.h"
#include "port.h"
#include "relay.h"
#include "xdp_prog.h"

#define FRAME 2048u              /* bytes per umem frame (the smallest the kernel takes) */

/* Where a frame is. Only FR_APP frames may be handed back. */
enum { FR_KERNEL, FR_FREE, FR_APP, FR_CLAIMED };

struct xdp_port;

struct xq {
	struct vnet_queue pub; /* first: port.h */
	struct xdp_port *x;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	int fd;                /* the socket (also the umem's) */
	struct vn_relay wake;  /* its readiness as the queue's eventfd (pub.rx_fd) */
	unsigned queue_id;
	char *area;            /* the umem */
	uint32_t qsize;
	uint8_t *state;        /* 2*qsize entries: FR_* */
	uint16_t *free;        /* TX frames on the stack */
	uint32_t n_free;
	uint32_t in_flight;    /* TX frames with the kernel */
	uint32_t ticks;
	struct vnet_queue_stats st; /* single writer (the queue's thread), read anywhere */
} __attribute__((aligned(64)));

struct xdp_port {
	struct vn_port port;   /* first: port.h */
	char ifname[IF_NAMESIZE];
	int ctl_fd;            /* for interface ioctls (an AF_XDP socket has none) */
	uint8_t broken;        /* atomic VN_STOP_* (port.h) */
	uint32_t qsize, tx_cap; /* tx_cap: what a frame holds at most (max MTU + 18) */
	uint32_t frame_max;    /* MTU + 18 <= tx_cap (vnet_dev_set_mtu()): relaxed atomic */
	struct vn_ifctl ifc;   /* settings */
	struct vn_xdp_prog prog;
	struct vn_linkwatch links; /* link events, and the queues' ev_src (see xdp.c) */
	struct xq *q;
};

static inline struct xq *vn_xq(struct vnet_queue *q)
{
	return (struct xq *)q; /* pub is the first member (C11 §6.7.2.1p15) */
}

/* The port's VN_STOP_* bits: the data path's one test per burst. */
static inline uint8_t vn_xq_stopped(const struct xq *q)
{
	return __atomic_load_n(&q->x->broken, __ATOMIC_RELAXED);
}

static inline bool vn_xq_broken(const struct xq *q)
{
	return vn_xq_stopped(q) & VN_STOP_BROKEN;
}

/* Stop the port (once), saying why in the log. */
void vn_xq_mark_broken(struct xq *q, int err, const char *what);
/* Mark the port broken if the socket has an error (the interface went). */
void vn_xq_check_alive(struct xq *q);
/* Kick the kernel for the fill ring / the TX ring, when it asks for it. */
void vn_xq_rx_kick(struct xq *q);
void vn_xq_tx_kick(struct xq *q);
/* Take completed TX frames back onto the free stack. */
void vn_xq_tx_reclaim(struct xq *q);

/* The port operations of the data path (port.h). */
int vn_xq_tx_reserve(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n);
int vn_xq_tx_submit(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n);
int vn_xq_rx_peek(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n);
int vn_xq_rx_release(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n);
bool vn_xq_ready(struct vnet_queue *pub, bool tx);
bool vn_xq_arm(struct vnet_queue *pub, bool tx);
void vn_xq_disarm(struct vnet_queue *pub, bool tx);
void vn_xq_stats(struct vnet_queue *pub, struct vnet_queue_stats *st);

#endif
