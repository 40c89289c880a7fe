/* SPDX-License-Identifier: MIT */
/*
 * Link events of a kernel interface (linkwatch.h): rtnetlink link
 * notifications, received and walked with libmnl (the running state is in
 * each message's fixed struct ifinfomsg, so no attribute is parsed).
 */
#include "linkwatch.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "vnet/vnet.h"
#include "event.h"
#include "log.h"
#include "port.h"

void vn_linkwatch_init(struct vn_linkwatch *w)
{
	memset(w, 0, sizeof(*w));
	w->ev_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
}

void vn_linkwatch_push(struct vn_linkwatch *w, int type)
{
	uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	vn_evq_push(&w->evq, type);
	vn_port_notify(w->port, type);
	pthread_mutex_unlock(&w->lock);
	if (write(w->ev_fd, &one, sizeof(one)) != sizeof(one))
		vn_debug("link watch: eventfd: %s", strerror(errno));
}

/* mnl_cb_run() callback, one rtnetlink message: a change of our
 * interface's running state is queued (gone counts as down). */
static int on_msg(const struct nlmsghdr *h, void *arg)
{
	struct vn_linkwatch *w = arg;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	int up;

	if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
	    mnl_nlmsg_get_payload_len(h) < sizeof(*ifi) || ifi->ifi_index != w->ifindex)
		return MNL_CB_OK;
	up = h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_RUNNING);
	if (up != w->up) {
		w->up = up;
		vn_linkwatch_push(w, up ? VNET_EV_LINK_UP : VNET_EV_LINK_DOWN);
	}
	return MNL_CB_OK;
}

/* The engine thread: read every message waiting, queue the changes of our
 * interface's state, then run the port's hook. */
static void on_link(void *arg)
{
	struct vn_linkwatch *w = arg;
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		/* Non-blocking socket: -1 with EAGAIN once it is drained. */
		ssize_t n = mnl_socket_recvfrom(w->nl, buf, sizeof(buf));

		if (n < 0 && (errno == ENOBUFS || errno == ENOSPC)) {
			/* Messages were lost to an overrun (ENOBUFS), or one was
			 * longer than buf and cut (ENOSPC: MSG_TRUNC): the hook
			 * and the next vnet_dev_info() still see the truth. */
			vn_debug("link watch: rtnetlink %s",
				 errno == ENOBUFS ? "overrun" : "message truncated");
			continue;
		}
		if (n <= 0)
			break;
		/* Each message is bounded by what was received (mnl_nlmsg_ok());
		 * seq and portid 0: notifications, matched by no request. An
		 * NLMSG_ERROR or a malformed message ends this batch only. */
		if (mnl_cb_run(buf, (size_t)n, 0, 0, on_msg, w) == MNL_CB_ERROR)
			vn_debug("link watch: rtnetlink message refused: %s", strerror(errno));
	}
	if (w->hook)
		w->hook(w->arg);
}

int vn_linkwatch_open(struct vn_linkwatch *w, struct vn_port *port, int ifindex, int up,
		      void (*hook)(void *arg), void *arg, const char *who)
{
	w->port = port;
	w->ifindex = ifindex;
	w->up = up;
	w->hook = hook;
	w->arg = arg;
	w->ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->ev_fd < 0)
		return vn_err(-errno, "%s: eventfd: %s", who, strerror(errno));
	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!w->nl || mnl_socket_bind(w->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
		return vn_err(-errno, "%s: listening to link changes (rtnetlink): %s", who,
			      strerror(errno));
	return vn_ev_add(mnl_socket_get_fd(w->nl), on_link, w, &w->src);
}

static int take(struct vn_linkwatch *w, int *type)
{
	int got;

	pthread_mutex_lock(&w->lock);
	got = vn_evq_pop(&w->evq, type);
	pthread_mutex_unlock(&w->lock);
	return got;
}

int vn_linkwatch_pop(struct vn_linkwatch *w, int *type)
{
	uint64_t count;

	if (take(w, type))
		return 1;
	/* Empty: consume the eventfd's count, then look once more, so an event
	 * queued after this read still leaves the eventfd readable. */
	if (read(w->ev_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return vn_err(-errno, "vnet_dev_event: reading the event eventfd: %s",
			      strerror(errno));
	return take(w, type);
}

void vn_linkwatch_close(struct vn_linkwatch *w)
{
	/* The source first: on_link() uses w. */
	if (w->src)
		vn_ev_del(w->src);
	if (w->nl)
		mnl_socket_close(w->nl);
	if (w->ev_fd >= 0)
		close(w->ev_fd);
	pthread_mutex_destroy(&w->lock);
	vn_linkwatch_init(w);
}
