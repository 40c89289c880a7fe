/* SPDX-License-Identifier: MIT */
/*
 * Link events of a kernel interface, for the ports on one (tap:, xdp:):
 * an rtnetlink socket on the link group (libmnl), whose messages the event engine's
 * thread reads (a callback source, event.h). Each change of the interface's
 * running state (IFF_RUNNING: up, with a carrier; gone counts as down)
 * queues VNET_EV_LINK_UP or VNET_EV_LINK_DOWN for vnet_dev_event() and
 * signals an eventfd, its vnet_dev_event_fd(); the port's observer hears
 * of each (vn_port_notify()). On every notification the port's own hook
 * runs too (xdp: checks its sockets' errors). The port queues its own
 * events (VNET_EV_SETTINGS) here too, with vn_linkwatch_push().
 */
#ifndef VN_LINKWATCH_H
#define VN_LINKWATCH_H

#include <pthread.h>
#include <stdint.h>

#include "evq.h"

struct mnl_socket;
struct vn_port;

struct vn_linkwatch {
	struct mnl_socket *nl; /* rtnetlink socket (libmnl), RTMGRP_LINK; NULL: none */
	int ev_fd;             /* eventfd: signalled when an event is queued */
	uint32_t src;          /* the engine source of nl's fd: waiters' ev_src */
	int ifindex;
	int up;                /* the running state last seen: 1 or 0 */
	void (*hook)(void *arg);
	void *arg;
	struct vn_port *port;  /* whose observer is told */
	pthread_mutex_t lock;  /* evq */
	struct vn_evq evq;
};

/* Set w up empty (vn_linkwatch_close() is then harmless). */
void vn_linkwatch_init(struct vn_linkwatch *w);

/*
 * Watch interface ifindex of port, whose running state is up now (1 or 0);
 * hook (may be NULL) is called with arg in the engine thread on each link
 * notification. who names the port in messages. 0 or -errno.
 */
int vn_linkwatch_open(struct vn_linkwatch *w, struct vn_port *port, int ifindex, int up,
		      void (*hook)(void *arg), void *arg, const char *who);

/* Queue event type (VNET_EV_*), tell the observer, signal the eventfd. */
void vn_linkwatch_push(struct vn_linkwatch *w, int type);

/* The oldest queued event in *type: 1, 0 when none (the eventfd's count is
 * then consumed, so its next signal is news). */
int vn_linkwatch_pop(struct vn_linkwatch *w, int *type);

void vn_linkwatch_close(struct vn_linkwatch *w);

#endif
