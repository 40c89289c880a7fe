/* SPDX-License-Identifier: MIT */
/* A kernel file as a queue's interrupt (relay.h). */
#include "relay.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event.h"
#include "log.h"

void vn_relay_init(struct vn_relay *r)
{
	*r = (struct vn_relay){ .fd = -1, .efd = -1, .epfd = -1 };
}

/*
 * The engine thread calls this each time fd turns readable (or fails),
 * through epfd: collect the event (the one-shot watch stays off until the
 * next arm) and signal the eventfd if a waiter armed.
 */
static void relay_wake(void *arg)
{
	struct vn_relay *r = arg;
	struct epoll_event e;
	uint64_t one = 1;

	(void)epoll_wait(r->epfd, &e, 1, 0);
	/* Acquire: pairs with the store in vn_relay_arm(). */
	if (__atomic_exchange_n(&r->armed, 0, __ATOMIC_ACQUIRE) &&
	    write(r->efd, &one, sizeof(one)) != sizeof(one))
		vn_debug("relay: signalling eventfd %d: %s", r->efd, strerror(errno));
}

int vn_relay_open(struct vn_relay *r, int fd, const char *who)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT };
	int rc;

	r->fd = fd;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0)
		return vn_err(-errno, "%s: eventfd: %s", who, strerror(errno));
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		return vn_err(-errno, "%s: epoll: %s", who, strerror(errno));
	rc = vn_ev_add(r->efd, NULL, NULL, &r->src);
	if (!rc)
		rc = vn_ev_add(r->epfd, relay_wake, r, &r->ep_src);
	return rc;
}

bool vn_relay_arm(struct vn_relay *r)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT };

	/*
	 * The flag is set before the watch is renewed and before the caller's
	 * last look (seq_cst orders the store before both system calls), so a
	 * frame that the look misses arrives after it, and its wake-up finds
	 * the flag set.
	 */
	__atomic_store_n(&r->armed, 1, __ATOMIC_SEQ_CST);
	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->fd, &e) < 0) {
		vn_debug("relay: renewing the watch of fd %d: %s", r->fd, strerror(errno));
		return false;
	}
	return true;
}

void vn_relay_disarm(struct vn_relay *r)
{
	__atomic_store_n(&r->armed, 0, __ATOMIC_RELAXED);
}

void vn_relay_close(struct vn_relay *r)
{
	/* Sources first: relay_wake() uses r and writes r->efd. */
	if (r->ep_src)
		vn_ev_del(r->ep_src);
	if (r->src)
		vn_ev_del(r->src);
	if (r->efd >= 0)
		close(r->efd);
	if (r->epfd >= 0)
		close(r->epfd);
	vn_relay_init(r);
}
