/* SPDX-License-Identifier: MIT */
/*
 * Socket options (vnet_socket_set/get) and vnet_poll(): readiness of many
 * sockets at once, from the stash of each and the rings behind it, then
 * one vnet_wait() over all their queues when nothing is ready.
 *
 * While vnet_poll() sleeps it holds the RX (POLLIN) and TX (POLLOUT) locks
 * of its sockets, taken in descriptor order, so that arming a queue's
 * notifications never races a receive or send on it in another thread;
 * such calls wait for the poll to return.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>

#include "compiler.h"
#include "log.h"
#include "socket_int.h"

static int fail(int err)
{
	errno = -err;
	return -1;
}

static int *opt_field(struct vs_sock *s, int opt)
{
	switch (opt) {
	case VNET_SO_RCVTIMEO_MS: return &s->rcvtimeo_ms;
	case VNET_SO_SNDTIMEO_MS: return &s->sndtimeo_ms;
	case VNET_SO_BUSY_POLL_US: return &s->busy_us;
	case VNET_SO_VNET_HDR: return &s->vnet_hdr;
	default: return NULL;
	}
}

VNET_API int vnet_socket_set(int fd, int opt, int value)
{
	struct vs_sock *s;
	int *f;

	vn_err_clear();
	if (fd == VNET_SOCK_ALL) {
		if (opt != VNET_SO_BUSY_POLL_US || value < 0)
			return fail(vn_err(-EINVAL, "vnet_socket_set: VNET_SOCK_ALL takes "
					   "VNET_SO_BUSY_POLL_US >= 0 only"));
		vs_busy_set(value);
		return 0;
	}
	s = vs_sock_get(fd);
	if (!s)
		return -1;
	f = opt_field(s, opt);
	/* -1 (process-wide default) is a value of the busy-poll budget only. */
	if (!f || value < (opt == VNET_SO_BUSY_POLL_US ? -1 : 0) ||
	    (opt == VNET_SO_VNET_HDR && value > 1)) {
		vs_sock_put(s);
		return fail(vn_err(-EINVAL, "vnet_socket_set: option %d value %d", opt, value));
	}
	__atomic_store_n(f, value, __ATOMIC_RELAXED);
	vs_sock_put(s);
	return 0;
}

VNET_API int vnet_socket_get(int fd, int opt, int *value)
{
	struct vs_sock *s;
	int *f;

	vn_err_clear();
	if (!value)
		return fail(vn_err(-EINVAL, "vnet_socket_get: value is NULL"));
	if (fd == VNET_SOCK_ALL) {
		if (opt != VNET_SO_BUSY_POLL_US)
			return fail(vn_err(-EINVAL, "vnet_socket_get: VNET_SOCK_ALL has "
					   "VNET_SO_BUSY_POLL_US only"));
		*value = vs_busy_get();
		return 0;
	}
	s = vs_sock_get(fd);
	if (!s)
		return -1;
	f = opt_field(s, opt);
	if (f)
		*value = __atomic_load_n(f, __ATOMIC_RELAXED);
	vs_sock_put(s);
	return f ? 0 : fail(vn_err(-EINVAL, "vnet_socket_get: unknown option %d", opt));
}

/* One socket of a vnet_poll() call. */
struct poll_ent {
	struct vs_sock *s;
	unsigned idx;    /* in fds[] */
	unsigned events; /* VNET_WAIT_RX / VNET_WAIT_TX */
};

static int by_fd(const void *a, const void *b)
{
	const struct poll_ent *x = a, *y = b;

	return (x->s->fd > y->s->fd) - (x->s->fd < y->s->fd);
}

static void lock_all(struct poll_ent *e, unsigned n, bool lock)
{
	for (unsigned i = 0; i < n; i++) {
		if (e[i].events & VNET_WAIT_RX)
			(lock ? pthread_mutex_lock : pthread_mutex_unlock)(&e[i].s->rx_io);
		if (e[i].events & VNET_WAIT_TX)
			(lock ? pthread_mutex_lock : pthread_mutex_unlock)(&e[i].s->tx_io);
	}
}

/* Fill revents of every socket; returns how many are ready. (locks held) */
static int scan(struct vnet_pollfd *fds, struct poll_ent *e, struct vnet_wait *w, unsigned n)
{
	int got = 0;

	if (vnet_wait(w, n, 0) < 0)
		return -errno;
	for (unsigned i = 0; i < n; i++) {
		struct vnet_pollfd *p = &fds[e[i].idx];
		unsigned r = w[i].revents;

		if ((e[i].events & VNET_WAIT_RX) && e[i].s->stash_pos < e[i].s->stash_len)
			r |= VNET_WAIT_RX;
		p->revents = (short)((r & VNET_WAIT_RX ? POLLIN : 0) |
				     (r & VNET_WAIT_TX ? POLLOUT : 0) |
				     (r & VNET_WAIT_ERR ? POLLERR : 0));
		if (__atomic_load_n(&e[i].s->closing, __ATOMIC_ACQUIRE))
			p->revents = POLLNVAL;
		got += p->revents != 0;
	}
	return got;
}

/* Poll until ready, timeout or signal (locks held). */
static int poll_locked(struct vnet_pollfd *fds, struct poll_ent *e, struct vnet_wait *w,
		       unsigned n, int timeout_ms)
{
	uint64_t start = vs_now_ns(), busy = 0, deadline = UINT64_MAX, now;
	int got, rc;

	for (unsigned i = 0; i < n; i++)
		busy = VN_MAX(busy, vs_busy_prepare(e[i].s));
	if (timeout_ms >= 0)
		deadline = start + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		got = scan(fds, e, w, n);
		now = vs_now_ns();
		if (got || now >= deadline)
			break;
		if (now - start < busy)
			continue;
		rc = vnet_wait(w, n, deadline == UINT64_MAX ? -1 :
				     (int)VN_MIN((deadline - now + 999999u) / 1000000u,
						 (uint64_t)INT_MAX));
		if (rc < 0) {
			got = -errno;
			break;
		}
	}
	/* Leave each RX descriptor settled, as every receive does. */
	for (unsigned i = 0; i < n; i++)
		if (e[i].events & VNET_WAIT_RX)
			vs_rx_settle(e[i].s);
	return got;
}

VNET_API int vnet_poll(struct vnet_pollfd *fds, unsigned n, int timeout_ms)
{
	struct vnet_wait w[VNET_WAIT_MAX];
	struct poll_ent *e;
	unsigned k = 0;
	int got = 0;

	vn_err_clear();
	if ((!fds && n) || n > VNET_WAIT_MAX)
		return fail(vn_err(-EINVAL, "vnet_poll: %u sockets (at most %d)", n, VNET_WAIT_MAX));
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return fail(-ENOMEM);
	for (unsigned i = 0; i < n; i++) {
		struct vs_sock *s = fds[i].fd >= 0 ? vs_sock_get(fds[i].fd) : NULL;

		fds[i].revents = 0;
		if (!s) {
			fds[i].revents = POLLNVAL;
			got++;
			continue;
		}
		e[k] = (struct poll_ent){ .s = s, .idx = i };
		e[k].events = (fds[i].events & POLLIN ? VNET_WAIT_RX : 0) |
			      (fds[i].events & POLLOUT ? VNET_WAIT_TX : 0);
		/* Asked for neither: only errors are reported, as poll(2) does. */
		if (!e[k].events) {
			vs_sock_put(s);
			continue;
		}
		k++;
	}
	/* The same socket twice would lock itself: poll(2) allows it, we do not. */
	qsort(e, k, sizeof(*e), by_fd);
	for (unsigned i = 1; i < k; i++)
		if (e[i].s == e[i - 1].s) {
			got = vn_err(-EINVAL, "vnet_poll: socket %d is listed twice", e[i].s->fd);
			goto out;
		}
	for (unsigned i = 0; i < k; i++)
		w[i] = (struct vnet_wait){ .q = e[i].s->q, .events = e[i].events };
	if (k) {
		int r;

		/* Invalid descriptors are news already: then only look. */
		lock_all(e, k, true);
		r = poll_locked(fds, e, w, k, got ? 0 : timeout_ms);
		lock_all(e, k, false);
		got = r < 0 ? r : got + r;
	}
out:
	for (unsigned i = 0; i < k; i++)
		vs_sock_put(e[i].s);
	free(e);
	return got < 0 ? fail(got) : got;
}
