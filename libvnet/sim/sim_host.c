/* SPDX-License-Identifier: MIT */
/* The event loop thread of the simulated device(s); see sim_host.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sim/sim_dev.h"
#include "sim/sim_host.h"

#define SIM_POLL_EVENTS 32 /* polling rounds between two looks at the fds */

enum tag { TAG_STOP, TAG_CMD, TAG_CLIENT, TAG_KICK, TAG_TAP, TAG_LISTEN };

#define TAG(t, end, q) ((uint64_t)(t) << 16 | (uint64_t)(end) << 8 | (q))

struct sim_host {
	unsigned n_dev;
	struct sim_dev *dev[2];
	struct vfu_server *srv[2];
	int listen_fd[2];
	bool attached[2];
	int epfd, stop_fd, cmd_fd;

	pthread_mutex_t lock; /* guards pending_fd */
	int pending_fd[2];

	pthread_t thread;
	bool running;
	uint64_t cpu_ns; /* the thread's CPU time when it ended */
};

static int ep_ctl(struct sim_host *h, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	if (epoll_ctl(h->epfd, op, fd, &ev) < 0)
		return vn_err(-errno, "sim: epoll_ctl: %m");
	return 0;
}

static int host_fds(struct sim_host *h)
{
	unsigned e, q;
	int err;

	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->epfd < 0 || h->stop_fd < 0 || h->cmd_fd < 0)
		return vn_err(-errno, "sim: epoll/eventfd: %m");
	err = ep_ctl(h, EPOLL_CTL_ADD, h->stop_fd, EPOLLIN, TAG(TAG_STOP, 0, 0));
	if (!err)
		err = ep_ctl(h, EPOLL_CTL_ADD, h->cmd_fd, EPOLLIN, TAG(TAG_CMD, 0, 0));
	for (e = 0; e < h->n_dev && !err; e++) {
		struct sim_dev *d = h->dev[e];

		for (q = 0; q < d->n_vqs && !err; q++)
			err = ep_ctl(h, EPOLL_CTL_ADD, d->kick_fd[q], EPOLLIN, TAG(TAG_KICK, e, q));
		if (!err && d->tap_fd >= 0)
			err = ep_ctl(h, EPOLL_CTL_ADD, d->tap_fd, EPOLLIN, TAG(TAG_TAP, e, 0));
	}
	return err;
}

int sim_host_new(const struct sim_params *p, struct sim_host **out)
{
	struct sim_host *h = calloc(1, sizeof(*h));
	struct vfu_server_cfg cfg;
	unsigned e;
	int err = 0;

	if (!h)
		return vn_err(-ENOMEM, "sim: out of memory");
	h->epfd = h->stop_fd = h->cmd_fd = -1;
	h->listen_fd[0] = h->listen_fd[1] = -1;
	h->pending_fd[0] = h->pending_fd[1] = -1;
	pthread_mutex_init(&h->lock, NULL);
	h->n_dev = p->mode == SIM_PAIR ? 2 : 1;
	for (e = 0; e < h->n_dev && !err; e++)
		err = sim_dev_new(p, e, &h->dev[e]);
	if (h->n_dev == 2 && !err) {
		h->dev[0]->peer = h->dev[1];
		h->dev[1]->peer = h->dev[0];
	}
	for (e = 0; e < h->n_dev && !err; e++) {
		sim_dev_server_cfg(h->dev[e], &cfg);
		err = vfu_server_new(&cfg, &h->srv[e]);
		if (!err)
			h->dev[e]->srv = h->srv[e];
	}
	if (!err)
		err = host_fds(h);
	if (err) {
		sim_host_free(h);
		return err;
	}
	*out = h;
	return 0;
}

void sim_host_free(struct sim_host *h)
{
	unsigned e;

	if (!h)
		return;
	sim_host_stop(h);
	for (e = 0; e < 2; e++) {
		if (h->srv[e])
			vfu_server_free(h->srv[e]); /* drops a client, resetting the device */
		sim_dev_free(h->dev[e]);
		if (h->pending_fd[e] >= 0)
			close(h->pending_fd[e]);
	}
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->stop_fd >= 0)
		close(h->stop_fd);
	if (h->cmd_fd >= 0)
		close(h->cmd_fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

unsigned sim_host_ends(const struct sim_host *h)
{
	return h->n_dev;
}

int sim_host_listen(struct sim_host *h, unsigned end, int listen_fd)
{
	if (end >= h->n_dev || h->running)
		return vn_err(-EINVAL, "sim: no device end %u to listen for", end);
	h->listen_fd[end] = listen_fd;
	return ep_ctl(h, EPOLL_CTL_ADD, listen_fd, EPOLLIN, TAG(TAG_LISTEN, end, 0));
}

int sim_host_attach(struct sim_host *h, unsigned end, int fd)
{
	uint64_t one = 1;
	int err = 0;

	if (end >= h->n_dev) {
		close(fd);
		return vn_err(-EINVAL, "sim: no device end %u", end);
	}
	pthread_mutex_lock(&h->lock);
	if (h->pending_fd[end] >= 0)
		err = -EBUSY;
	else
		h->pending_fd[end] = fd;
	pthread_mutex_unlock(&h->lock);
	if (err) {
		close(fd);
		return vn_err(err, "sim: a client for end %u is already pending", end);
	}
	if (write(h->cmd_fd, &one, sizeof(one)) != sizeof(one))
		return vn_err(-EIO, "sim: cannot wake the device thread");
	return 0;
}

/* ---- the loop ---------------------------------------------------------- */

static void client_attach(struct sim_host *h, unsigned e, int fd)
{
	int err;

	if (h->attached[e]) { /* sim_host_attach() callers open each end once */
		vn_warn("sim: device end %u already has a client; refusing another", e);
		close(fd);
		return;
	}
	err = vfu_server_attach(h->srv[e], fd);
	if (!err)
		err = ep_ctl(h, EPOLL_CTL_ADD, vfu_server_fd(h->srv[e]), EPOLLIN,
			     TAG(TAG_CLIENT, e, 0));
	if (err) {
		vn_warn("sim: cannot serve a client: %s", vn_err_msg());
		return;
	}
	h->attached[e] = true;
	/* One client at a time: later ones wait in the listen backlog. */
	if (h->listen_fd[e] >= 0)
		ep_ctl(h, EPOLL_CTL_MOD, h->listen_fd[e], 0, TAG(TAG_LISTEN, e, 0));
}

static void client_message(struct sim_host *h, unsigned e)
{
	if (!h->attached[e] || vfu_server_handle(h->srv[e]) != -ECONNRESET)
		return;
	/* The server closed the socket; epoll forgot it with the close. */
	h->attached[e] = false;
	vn_info("sim: device end %u: client gone", e);
	if (h->listen_fd[e] >= 0)
		ep_ctl(h, EPOLL_CTL_MOD, h->listen_fd[e], EPOLLIN, TAG(TAG_LISTEN, e, 0));
}

static void take_pending(struct sim_host *h)
{
	int fd[2];
	uint64_t v;
	unsigned e;

	if (read(h->cmd_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vn_debug("sim: command eventfd: %m");
	pthread_mutex_lock(&h->lock);
	for (e = 0; e < 2; e++) {
		fd[e] = h->pending_fd[e];
		h->pending_fd[e] = -1;
	}
	pthread_mutex_unlock(&h->lock);
	for (e = 0; e < 2; e++)
		if (fd[e] >= 0)
			client_attach(h, e, fd[e]);
}

static void kick(struct sim_host *h, unsigned e, unsigned q)
{
	struct sim_dev *d = h->dev[e];
	uint64_t v;

	if (read(d->kick_fd[q], &v, sizeof(v)) == sizeof(v) && q / 2 < d->p.queues)
		SIM_ADD(d->st.qp[q / 2].kicks, v);
}

/*
 * A client on a listening socket (vnet-simd) is served only if it runs as
 * our effective uid or as root (SO_PEERCRED, unix(7): its credentials at
 * connect()): the socket's mode 0600 is the first fence, this the second,
 * should the mode or the directory be wider than they ought to be.
 */
static void client_accept(struct sim_host *h, unsigned e)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1 };
	socklen_t len = sizeof(cred);
	int fd = accept4(h->listen_fd[e], NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		vn_debug("sim: accept: %m");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != geteuid() && cred.uid != 0)) {
		vn_warn("sim: device %u: refusing a client of uid %d (pid %d): only uid %d "
			"and root are served", e, (int)cred.uid, (int)cred.pid, (int)geteuid());
		close(fd);
		return;
	}
	client_attach(h, e, fd);
}

/* Dispatch one epoll event; false when told to stop. */
static bool event(struct sim_host *h, uint64_t tag)
{
	unsigned e = (tag >> 8) & 0xff, q = tag & 0xff;

	switch ((enum tag)(tag >> 16)) {
	case TAG_STOP:
		return false;
	case TAG_CMD:
		take_pending(h);
		break;
	case TAG_CLIENT:
		client_message(h, e);
		break;
	case TAG_KICK:
		kick(h, e, q);
		break;
	case TAG_TAP:
		h->dev[e]->tap_readable = true;
		break;
	case TAG_LISTEN:
		client_accept(h, e);
		break;
	}
	return true;
}

static unsigned service(struct sim_host *h)
{
	unsigned work = 0, e;

	for (e = 0; e < h->n_dev; e++)
		work += sim_mode_service(h->dev[e]);
	for (e = 0; e < h->n_dev; e++)
		sim_net_flush(h->dev[e]);
	return work;
}

/* Commands a client sent while the device waited for the reply to a DMA
 * message (vfu_server.h) leave its socket unreadable: they are answered
 * here, and while any wait the loop does not sleep. Returns true if any. */
static bool serve_kept(struct sim_host *h)
{
	bool any = false;

	for (unsigned e = 0; e < h->n_dev; e++)
		while (h->attached[e] && vfu_server_pending(h->srv[e])) {
			client_message(h, e);
			any = true;
		}
	return any;
}

static void notify_all(struct sim_host *h, bool on)
{
	unsigned e, q;

	for (e = 0; e < h->n_dev; e++)
		for (q = 0; q < h->dev[e]->n_vqs; q++)
			sim_vq_notify(&h->dev[e]->vq[q], on);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Wait for the fds: not at all while polling, else until one is ready or
 * a notification that coalescing holds back is due, rounded up to the
 * millisecond (epoll_wait(); epoll_pwait2() would be finer, but valgrind
 * 3.19 does not know it). Shorter holds end while the loop still polls.
 */
static int host_wait(struct sim_host *h, struct epoll_event *ev, int max, bool polling)
{
	int64_t hold = -1;
	unsigned e;

	for (e = 0; e < h->n_dev && !polling; e++) {
		int64_t t = sim_net_hold_ns(h->dev[e]);

		if (t >= 0 && (hold < 0 || t < hold))
			hold = t;
	}
	if (polling)
		return epoll_wait(h->epfd, ev, max, 0);
	return epoll_wait(h->epfd, ev, max, hold < 0 ? -1 : (int)VN_MIN((hold + 999999) / 1000000,
									  INT32_MAX));
}

static void *host_main(void *arg)
{
	struct sim_host *h = arg;
	struct epoll_event ev[32];
	bool polling = false;
	uint64_t last = 0;
	unsigned rounds = 0;
	sigset_t all;
	int n, i;

	/* Signals are for the application's threads, not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		/* While polling, look at the fds only every SIM_POLL_EVENTS
		 * rounds: the rings need no system call, and messages and
		 * stop requests can wait that long. */
		if (!polling || ++rounds % SIM_POLL_EVENTS == 0) {
			/* A kept command just answered may have given the
			 * device work: look, do not sleep. */
			bool kept = serve_kept(h);

			n = host_wait(h, ev, VN_ARRAY_SIZE(ev), polling || kept);
			if (n < 0 && errno != EINTR) {
				vn_warn("sim: epoll_wait: %m; device thread stops");
				break;
			}
			for (i = 0; i < n; i++)
				if (!event(h, ev[i].data.u64))
					goto out;
		}
		serve_kept(h);
		if (service(h)) {
			last = now_ns(CLOCK_MONOTONIC);
			if (!polling)
				notify_all(h, false);
			polling = true;
		} else if (polling && now_ns(CLOCK_MONOTONIC) - last >= SIM_POLL_NS) {
			/* Idle for the poll budget: ask for notifications again,
			 * then look once more (notify_all ends with a full
			 * barrier) so that a buffer made available meanwhile is
			 * not left waiting for a kick that will not come. */
			notify_all(h, true);
			polling = service(h) != 0;
			if (polling) {
				notify_all(h, false);
				last = now_ns(CLOCK_MONOTONIC);
			}
		}
	}
out:
	__atomic_store_n(&h->cpu_ns, now_ns(CLOCK_THREAD_CPUTIME_ID), __ATOMIC_RELAXED);
	return NULL;
}

int sim_host_start(struct sim_host *h)
{
	int err = pthread_create(&h->thread, NULL, host_main, h);

	if (err)
		return vn_err(-err, "sim: cannot start the device thread: %s", strerror(err));
	h->running = true;
	return 0;
}

void sim_host_stop(struct sim_host *h)
{
	uint64_t one = 1;

	if (!h->running)
		return;
	if (write(h->stop_fd, &one, sizeof(one)) != sizeof(one))
		vn_warn("sim: cannot signal the device thread to stop");
	pthread_join(h->thread, NULL);
	h->running = false;
}

void sim_host_stats(struct sim_host *h, unsigned end, struct vn_sim_stats *st)
{
	const uint64_t *src = (const uint64_t *)(const void *)&h->dev[end]->st.qp[0];
	uint64_t *dst;
	clockid_t cid;
	size_t i;

	_Static_assert((sizeof(*st) - offsetof(struct vn_sim_stats, qp)) % 8 == 0,
		       "vn_sim_stats: only uint64_t counters after n_pairs");
	memset(st, 0, sizeof(*st));
	st->n_pairs = h->dev[end]->st.n_pairs;
	/* All counters after n_pairs are uint64_t, written by the device thread. */
	dst = (uint64_t *)(void *)&st->qp[0];
	for (i = 0; i < (sizeof(*st) - offsetof(struct vn_sim_stats, qp)) / 8; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	if (h->running && !pthread_getcpuclockid(h->thread, &cid))
		st->cpu_ns = now_ns(cid);
	else
		st->cpu_ns = __atomic_load_n(&h->cpu_ns, __ATOMIC_RELAXED);
}
