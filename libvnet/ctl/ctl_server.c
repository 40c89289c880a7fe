/* SPDX-License-Identifier: MIT */
/*
 * The control server of one device (vnet/ctl.h), in a thread of its own
 * that touches nothing of the data path.
 *
 * Not in the event engine's thread: a request can wait on the device (a
 * control virtqueue command waits up to VN_NET_CTRL_TIMEOUT_MS for its
 * ack), and the engine calls its callbacks under its lock, so a slow
 * device would stall every other device's interrupts and every waiter of
 * the process for that long (test_ctl's test_slow_ctrl_stalls_nobody
 * measured 1 s). The thread sleeps in epoll_wait() on the server's own
 * epoll instance (the listening socket, the clients, an eventfd) and
 * costs nothing while no one talks to it. Each round does at most
 * CTL_BUDGET requests, CTL_PER_CLIENT per client, for fairness; when it
 * leaves work behind it writes the eventfd, so the next epoll_wait()
 * returns at once.
 *
 * Clients are trusted only after SO_PEERCRED says they run as our euid or
 * as root; answers are sent without blocking, and a client that does not
 * read them (EAGAIN) is dropped. Events reach the server from any thread
 * through the port's observer: a short ring under a mutex of its own, and
 * the eventfd.
 */
#include "ctl/ctl_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event.h"
#include "log.h"

#define CTL_CLIENTS_MAX 16  /* connections served at once; more are refused */
#define CTL_BUDGET 64       /* requests per engine callback */
#define CTL_PER_CLIENT 8    /* requests of one client per round, for fairness */
#define CTL_EVQ 64          /* events waiting to be sent */

/* epoll data of the server's items; clients are CTL_TAG_CLIENT + slot. */
enum { CTL_TAG_LISTEN, CTL_TAG_EVENT, CTL_TAG_CLIENT };

/* The server's own counters, after the device's in STATS_GET: written by
 * the engine thread (events_lost: by any, under evlock). */
enum {
	CTL_C_REQUESTS,
	CTL_C_ERRORS,
	CTL_C_REFUSED,
	CTL_C_DROPPED,
	CTL_C_EVENTS_LOST,
	CTL_C_N
};
static const char *const counter_names[CTL_C_N] = {
	[CTL_C_REQUESTS] = "ctl_requests",
	[CTL_C_ERRORS] = "ctl_errors",
	[CTL_C_REFUSED] = "ctl_clients_refused",
	[CTL_C_DROPPED] = "ctl_clients_dropped",
	[CTL_C_EVENTS_LOST] = "ctl_events_lost",
};

struct ctl_client {
	int fd;          /* -1: free slot */
	bool subscribed;
};

struct vn_ctl_server {
	struct vnet_dev *dev;
	struct vn_port *port;
	struct vn_ctl_ctx ctx;
	struct vn_port_observer obs;
	struct vn_ctl_bound bound;
	int lfd, epfd, efd;
	pthread_t thread;
	bool running;           /* the thread was started */
	int stop;               /* vn_ctl_stop() asks the thread to end (atomic) */
	struct ctl_client cl[CTL_CLIENTS_MAX];
	uint64_t counters[CTL_C_N];

	pthread_mutex_t evlock; /* the event ring */
	int evq[CTL_EVQ];
	unsigned ev_head, ev_len;

	struct vn_ctl_reply reply;            /* the server thread only */
	uint32_t msg[VNET_CTL_MSG_MAX / 4];   /* a received request, then an event */
};

static void count(struct vn_ctl_server *s, unsigned c)
{
	__atomic_add_fetch(&s->counters[c], 1, __ATOMIC_RELAXED);
}

/* --- the device, through the public API (what vnetconf may change) --- */

static int pub(int rc)
{
	return rc < 0 ? -errno : rc;
}

/* The handler's context is the server (ctx.dev). */
static struct vnet_dev *dev_of(void *srv)
{
	return ((struct vn_ctl_server *)srv)->dev;
}

static int op_info(void *srv, struct vnet_dev_info *i)
{
	return pub(vnet_dev_info(dev_of(srv), i));
}

static int op_filters(void *srv, struct vnet_dev_filters *f)
{
	return pub(vnet_dev_filters(dev_of(srv), f));
}

static int op_queue_stats(void *srv, unsigned qp, struct vnet_queue_stats *st)
{
	return pub(vnet_queue_stats(dev_of(srv), qp, st));
}

/* The device's counters, then the server's own. */
static int op_xstats(void *srv, struct vnet_xstat *xs, unsigned n)
{
	struct vn_ctl_server *s = srv;
	int rc = pub(vnet_dev_xstats(s->dev, xs, n));

	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < CTL_C_N && (unsigned)rc + i < n; i++) {
		snprintf(xs[rc + (int)i].name, sizeof(xs->name), "%s", counter_names[i]);
		xs[rc + (int)i].value = __atomic_load_n(&s->counters[i], __ATOMIC_RELAXED);
	}
	return rc + CTL_C_N;
}

static int op_set(void *srv, const struct vn_set *s)
{
	struct vnet_dev *d = dev_of(srv);

	switch (s->kind) {
	case VN_SET_MTU: return pub(vnet_dev_set_mtu(d, s->val));
	case VN_SET_UP: return pub(vnet_dev_set_up(d, (int)s->val));
	case VN_SET_PROMISC: return pub(vnet_dev_set_promisc(d, (int)s->val));
	case VN_SET_ALLMULTI: return pub(vnet_dev_set_allmulti(d, (int)s->val));
	case VN_SET_MAC: return pub(vnet_dev_set_mac(d, s->mac));
	case VN_SET_QUEUE_PAIRS: return pub(vnet_dev_set_queue_pairs(d, s->val));
	case VN_SET_MAC_ADD: return pub(vnet_dev_mac_add(d, s->mac));
	case VN_SET_MAC_DEL: return pub(vnet_dev_mac_del(d, s->mac));
	case VN_SET_VLAN_ADD: return pub(vnet_dev_vlan_add(d, s->val));
	case VN_SET_VLAN_DEL: return pub(vnet_dev_vlan_del(d, s->val));
	case VN_SET_RSS: return pub(vnet_dev_set_rss(d, s->arg));
	case VN_SET_COALESCE: return pub(vnet_dev_set_coalesce(d, s->arg));
	}
	return vn_err(-EINVAL, "control: unknown setting %d", (int)s->kind);
}

static int op_get(void *srv, enum vn_set_kind kind, void *out)
{
	struct vnet_dev *d = dev_of(srv);

	if (kind == VN_SET_RSS)
		return pub(vnet_dev_rss(d, out));
	if (kind == VN_SET_COALESCE)
		return pub(vnet_dev_coalesce(d, out));
	return vn_err(-EINVAL, "control: setting %d cannot be read back", (int)kind);
}

static const struct vn_ctl_dev_ops dev_ops = {
	.info = op_info,
	.queue_stats = op_queue_stats,
	.xstats = op_xstats,
	.filters = op_filters,
	.set = op_set,
	.get = op_get,
};

/* --- clients --- */

static void wake(struct vn_ctl_server *s)
{
	uint64_t one = 1;

	if (write(s->efd, &one, sizeof(one)) != sizeof(one))
		vn_debug("control %s: eventfd: %s", s->bound.name, strerror(errno));
}

static void drop(struct vn_ctl_server *s, struct ctl_client *c)
{
	/* close() removes it from the epoll set (its only reference). */
	close(c->fd);
	c->fd = -1;
	c->subscribed = false;
}

/* Send one message to c without waiting; false when c was dropped. */
static bool send_to(struct vn_ctl_server *s, struct ctl_client *c, const void *buf, size_t len)
{
	if (send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
		return true;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		count(s, CTL_C_DROPPED);
		vn_debug("control %s: dropping a client that does not read its answers", s->bound.name);
	}
	drop(s, c);
	return false;
}

static void accept_one(struct vn_ctl_server *s, int fd)
{
	struct ucred cred = { .uid = (uid_t)-1 };
	socklen_t len = sizeof(cred);
	struct epoll_event e = { .events = EPOLLIN };
	struct ctl_client *c = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != geteuid() && cred.uid != 0)) {
		count(s, CTL_C_REFUSED);
		vn_debug("control %s: refusing a client of uid %d", s->bound.name, (int)cred.uid);
		close(fd);
		return;
	}
	for (unsigned i = 0; i < CTL_CLIENTS_MAX && !c; i++)
		if (s->cl[i].fd < 0)
			c = &s->cl[i];
	if (!c) {
		count(s, CTL_C_REFUSED);
		vn_debug("control %s: refusing a client: %d are connected", s->bound.name,
			 CTL_CLIENTS_MAX);
		close(fd);
		return;
	}
	e.data.u32 = CTL_TAG_CLIENT + (uint32_t)(c - s->cl);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		vn_debug("control %s: epoll_ctl: %s", s->bound.name, strerror(errno));
		close(fd);
		return;
	}
	c->fd = fd;
}

/* Accept what waits, up to one client more than we serve; true when more may wait. */
static bool accept_all(struct vn_ctl_server *s)
{
	for (unsigned i = 0; i <= CTL_CLIENTS_MAX; i++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				vn_debug("control %s: accept: %s", s->bound.name, strerror(errno));
			return false;
		}
		accept_one(s, fd);
	}
	return true;
}

/* Up to max requests of c; the number served (max: more may wait). */
static unsigned serve(struct vn_ctl_server *s, struct ctl_client *c, unsigned max)
{
	unsigned done = 0;

	while (done < max && c->fd >= 0) {
		/* MSG_TRUNC: the datagram's real length, to refuse an oversized one. */
		ssize_t n = recv(c->fd, s->msg, sizeof(s->msg), MSG_DONTWAIT | MSG_TRUNC);
		struct vn_ctl_reply *r = &s->reply;

		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
				drop(s, c); /* closed by the client, or failed */
			return done;
		}
		done++;
		count(s, CTL_C_REQUESTS);
		vn_ctl_handle(&s->ctx, s->msg, (size_t)n, r);
		if (r->subscribe)
			c->subscribed = true;
		if (r->error)
			count(s, CTL_C_ERRORS);
		for (unsigned k = 0; k < r->n; k++)
			if (!send_to(s, c, r->buf[k], r->len[k]))
				return done;
	}
	return done;
}

/* Send the events queued by the observer to every subscriber. */
static void send_events(struct vn_ctl_server *s)
{
	for (;;) {
		int type;
		size_t len;

		pthread_mutex_lock(&s->evlock);
		if (!s->ev_len) {
			pthread_mutex_unlock(&s->evlock);
			return;
		}
		type = s->evq[s->ev_head];
		s->ev_head = (s->ev_head + 1) % CTL_EVQ;
		s->ev_len--;
		pthread_mutex_unlock(&s->evlock);
		len = vn_ctl_event_msg(&s->ctx, type, s->msg);
		for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++)
			if (s->cl[i].fd >= 0 && s->cl[i].subscribed)
				(void)send_to(s, &s->cl[i], s->msg, len);
	}
}

/* One round over what epoll reported; true when work was left behind. */
static bool round_of(struct vn_ctl_server *s, const struct epoll_event *ev, int n)
{
	unsigned budget = CTL_BUDGET;
	bool more = false;

	for (int i = 0; i < n; i++) {
		uint32_t tag = ev[i].data.u32;
		uint64_t v;

		if (tag == CTL_TAG_LISTEN) {
			more |= accept_all(s);
		} else if (tag == CTL_TAG_EVENT) {
			/* Empty the count: the next write wakes the thread again. */
			if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				vn_debug("control %s: eventfd: %s", s->bound.name, strerror(errno));
			send_events(s);
		} else if (tag - CTL_TAG_CLIENT < CTL_CLIENTS_MAX) {
			struct ctl_client *c = &s->cl[tag - CTL_TAG_CLIENT];
			unsigned max = VN_MIN(budget, (unsigned)CTL_PER_CLIENT);
			unsigned done = c->fd >= 0 ? serve(s, c, max) : 0;

			budget -= done;
			more |= done == max;
		}
	}
	return more;
}

static void *server_main(void *arg)
{
	struct vn_ctl_server *s = arg;
	struct epoll_event ev[CTL_CLIENTS_MAX + 2];
	sigset_t all;

	/* Signals are for the application's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(s->epfd, ev, (int)VN_ARRAY_SIZE(ev), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			vn_warn("control %s: epoll_wait: %s; the server stops", s->bound.name,
				strerror(errno));
			break;
		}
		if (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) && round_of(s, ev, n))
			wake(s); /* level-triggered: the rest is there next round anyway */
	}
	return NULL;
}

/* The port's observer: any thread, must not block (port.h). */
static void on_event(void *arg, int type)
{
	struct vn_ctl_server *s = arg;

	pthread_mutex_lock(&s->evlock);
	if (s->ev_len < CTL_EVQ) {
		s->evq[(s->ev_head + s->ev_len) % CTL_EVQ] = type;
		s->ev_len++;
	} else {
		/* Subscribers can read the current state; the loss is counted. */
		count(s, CTL_C_EVENTS_LOST);
	}
	pthread_mutex_unlock(&s->evlock);
	wake(s);
}

/* --- start and stop --- */

/* Does u, or VNET_CTL, turn the control socket off? */
static bool ctl_off(const struct vn_uri *u)
{
	const char *v = vn_uri_opt(u, "ctl"), *env = getenv("VNET_CTL");

	if (v)
		return !strcmp(v, "off");
	if (env && strcmp(env, "on") && strcmp(env, "off"))
		vn_warn("control: VNET_CTL=%s is neither on nor off; serving", env);
	return env && !strcmp(env, "off");
}

static int watch(struct vn_ctl_server *s, int fd, uint32_t tag)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u32 = tag };

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		return vn_err(-errno, "control: epoll_ctl: %s", strerror(errno));
	return 0;
}

static void release(struct vn_ctl_server *s)
{
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++)
		if (s->cl[i].fd >= 0)
			drop(s, &s->cl[i]);
	if (s->lfd >= 0) {
		vn_ctl_unlink(&s->bound);
		close(s->lfd);
	}
	if (s->efd >= 0)
		close(s->efd);
	if (s->epfd >= 0)
		close(s->epfd);
	pthread_mutex_destroy(&s->evlock);
	free(s);
}

/* Socket, epoll set and engine source (not yet the observer). */
static int setup(struct vn_ctl_server *s, const char *dir, const char *name)
{
	int rc = vn_ctl_dir_check(dir);

	if (rc)
		return rc;
	s->lfd = vn_ctl_listen(dir, name, &s->bound);
	if (s->lfd < 0)
		return s->lfd;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->epfd < 0 || s->efd < 0)
		return vn_err(-errno, "control: epoll/eventfd: %s", strerror(errno));
	rc = watch(s, s->lfd, CTL_TAG_LISTEN);
	if (!rc)
		rc = watch(s, s->efd, CTL_TAG_EVENT);
	return rc;
}

/* The device opens without a control socket: say why, once. */
static int no_server(void)
{
	vn_warn("%s; the device has no control socket", vn_err_msg());
	vn_err_clear();
	return 0;
}

int vn_ctl_start(struct vnet_dev *dev, struct vn_port *port, const struct vn_uri *u,
		 struct vn_ctl_server **out)
{
	const char *name = vn_uri_opt(u, "name");
	char dir[VN_CTL_PATH_MAX];
	struct vn_ctl_server *s;
	int rc;

	*out = NULL;
	if (ctl_off(u))
		return 0;
	if (vn_ctl_run_dir(dir, sizeof(dir)))
		return no_server();
	s = calloc(1, sizeof(*s));
	if (!s) {
		vn_err(-ENOMEM, "control: out of memory");
		return no_server();
	}
	s->lfd = s->epfd = s->efd = -1;
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++)
		s->cl[i].fd = -1;
	pthread_mutex_init(&s->evlock, NULL);
	rc = setup(s, dir, name);
	if (rc) {
		release(s);
		/* A name asked for and taken fails the open: no other name is given. */
		if (rc == -EADDRINUSE && name)
			return rc;
		return no_server();
	}
	s->dev = dev;
	s->port = port;
	s->ctx = (struct vn_ctl_ctx){ .ops = &dev_ops, .dev = s, .name = s->bound.name,
				      .pid = (uint32_t)getpid() };
	s->obs = (struct vn_port_observer){ .fn = on_event, .arg = s };
	rc = pthread_create(&s->thread, NULL, server_main, s);
	if (rc) {
		vn_err(-rc, "control: cannot start the server thread: %s", strerror(rc));
		release(s);
		return no_server();
	}
	s->running = true;
	/* Release: the observer's fields are visible to whoever loads it (port.h). */
	__atomic_store_n(&port->observer, &s->obs, __ATOMIC_RELEASE);
	vn_info("control: serving %s", s->bound.path);
	*out = s;
	return 0;
}

const char *vn_ctl_name(const struct vn_ctl_server *s)
{
	return s ? s->bound.name : "";
}

void vn_ctl_stop(struct vn_ctl_server *s)
{
	if (!s)
		return;
	/* No new events. Ports call the observer from engine callbacks
	 * (configuration interrupts), under the engine's lock: taking that
	 * lock once (vn_ev_seq() of nothing) waits out a call in progress.
	 * Calls from the application's threads end before it closes. */
	__atomic_store_n(&s->port->observer, NULL, __ATOMIC_RELEASE);
	vn_ev_seq(NULL, NULL, 0);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	wake(s);
	pthread_join(s->thread, NULL);
	release(s);
}
