/* SPDX-License-Identifier: MIT */
/* Link events of a kernel interface (linkwatch.h). */
#include "linkwatch.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "vnet/vnet.h"
#include "event.h"
#include "log.h"
#include "port.h"

void vn_linkwatch_init(struct vn_linkwatch *w)
{
	memset(w, 0, sizeof(*w));
	w->nl_fd = w->ev_fd = -1;
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

/* One rtnetlink message: our interface's new running state, or -1. */
static int link_state(const struct vn_linkwatch *w, const struct nlmsghdr *h)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);

	if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || ifi->ifi_index != w->ifindex)
		return -1;
	return h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_RUNNING);
}

/* The engine thread: read every message waiting, queue the changes of our
 * interface's state, then run the port's hook. */
static void on_link(void *arg)
{
	struct vn_linkwatch *w = arg;
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(w->nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		int len = (int)n;

		if (n < 0 && errno == ENOBUFS) {
			/* Messages were lost to an overrun: the hook and the next
			 * vnet_dev_info() still see the truth. */
			vn_debug("link watch: rtnetlink overrun");
			continue;
		}
		if (n <= 0)
			break;
		/* NLMSG_OK() bounds each message by what was received. */
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
		     h = NLMSG_NEXT(h, len)) {
			int up = link_state(w, h);

			if (up >= 0 && up != w->up) {
				w->up = up;
				vn_linkwatch_push(w, up ? VNET_EV_LINK_UP : VNET_EV_LINK_DOWN);
			}
		}
	}
	if (w->hook)
		w->hook(w->arg);
}

int vn_linkwatch_open(struct vn_linkwatch *w, struct vn_port *port, int ifindex, int up,
		      void (*hook)(void *arg), void *arg, const char *who)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };

	w->port = port;
	w->ifindex = ifindex;
	w->up = up;
	w->hook = hook;
	w->arg = arg;
	w->ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->ev_fd < 0)
		return vn_err(-errno, "%s: eventfd: %s", who, strerror(errno));
	w->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (w->nl_fd < 0 || bind(w->nl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vn_err(-errno, "%s: listening to link changes (rtnetlink): %s", who,
			      strerror(errno));
	return vn_ev_add(w->nl_fd, on_link, w, &w->src);
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
	if (w->nl_fd >= 0)
		close(w->nl_fd);
	if (w->ev_fd >= 0)
		close(w->ev_fd);
	pthread_mutex_destroy(&w->lock);
	vn_linkwatch_init(w);
}
