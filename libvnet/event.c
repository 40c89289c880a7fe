/* SPDX-License-Identifier: MIT */
/*
 * The event engine (see event.h): one io_uring for the process, a multishot
 * poll per interrupt eventfd, a sleeper and its followers.
 *
 * Why multishot polls and not reads: a poll does not consume the eventfd's
 * count, so the receive eventfd can double as the socket descriptor the
 * application polls (sockapi/socket.c), and the ring only holds completions
 * for interrupts that happened (devices only interrupt while the driver
 * asked them to, so the completion queue stays short). Each write to an
 * eventfd wakes its poll, so each interrupt gives one completion whatever
 * the count already was.
 *
 * Why a thread of its own: a poll's completion is posted by task work that
 * runs in the thread that submitted it, so a poll armed by an application
 * thread that is busy elsewhere, or gone, completes late or never. The
 * engine thread submits every poll and sleeps in io_uring_enter(), so the
 * task work always finds it there; it harvests completions and wakes the
 * waiting threads through a futex (one system call per wake-up for them,
 * EINTR on a signal). Registrations reach it through its own eventfd.
 *
 * Where io_uring cannot be had (io_uring_setup refused: seccomp filters in
 * containers, kernel.io_uring_disabled), or when VNET_EVENTS=epoll asks for
 * it, the engine thread sleeps in epoll_wait() instead, with each eventfd
 * registered edge-triggered: like a multishot poll, an edge-triggered epoll
 * item reports every write to the eventfd and never consumes its count.
 * (valgrind also needs this: it holds its scheduler lock across
 * io_uring_enter(), so a thread sleeping there stops every other thread.)
 *
 * Once sources (vn_ev_add_once(): a socket's hang-up) are single-shot polls
 * (EPOLLONESHOT), never re-armed after they reported: the condition lasts,
 * and a re-armed poll would complete again at once, for ever.
 *
 * The ring (or epoll instance) and the thread live while at least one source
 * is registered.
 */
#include "event.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <liburing.h>

#include "log.h"

#define EV_SQ_ENTRIES 64
#define EV_EPOLL_BATCH 64
#define EV_CQ_ENTRIES 4096
#define EV_TAG_REMOVE 0 /* user_data of poll-remove requests: ignored */

struct ev_src {
	int fd;           /* -1: free slot */
	uint16_t gen;     /* bumped on reuse, so stale completions are ignored */
	uint32_t seq;     /* fire count */
	vn_ev_cb cb;
	void *arg;
	unsigned once;    /* vn_ev_add_once()'s poll events; 0: an eventfd, multishot POLLIN */
	bool fired;       /* a once source reported: never re-armed */
};

static struct {
	pthread_mutex_t lock;
	bool up;                 /* the ring and the thread exist */
	bool stop;               /* the thread is asked to leave */
	struct io_uring ring;
	int epfd;                /* the epoll instance when used instead of the ring, else -1 */
	pthread_t thread;
	int wake_fd;             /* eventfd: SQEs wait to be submitted, or stop */
	struct ev_src *src;
	unsigned n_src, live, waiters;
	uint32_t fseq;           /* futex word: bumped when a source fired */
	pthread_cond_t setup_cond; /* the thread set its backend up: setup_rc */
	bool setup_done;
	int setup_rc;
} ev = { .lock = PTHREAD_MUTEX_INITIALIZER, .setup_cond = PTHREAD_COND_INITIALIZER,
	 .wake_fd = -1, .epfd = -1 };

#define EV_TAG_WAKE 1 /* user_data of the poll on wake_fd (ids are > 0xffff) */

uint64_t vn_ev_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t make_id(unsigned slot, uint16_t gen)
{
	/* gen >= 1, so an id never collides with the EV_TAG_* values. */
	return (uint32_t)gen << 16 | (slot + 1);
}

/* The source named by id, or NULL when it is gone (lock held). */
static struct ev_src *lookup(uint64_t id)
{
	unsigned slot = (unsigned)(id & 0xffff);
	struct ev_src *s;

	if (!slot || slot > ev.n_src || id > UINT32_MAX)
		return NULL;
	s = &ev.src[slot - 1];
	return s->fd >= 0 && s->gen == (uint16_t)(id >> 16) ? s : NULL;
}

/* An SQE, submitting queued ones first when the queue is full (lock held). */
static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ev.ring);

	if (!sqe) {
		(void)io_uring_submit(&ev.ring);
		sqe = io_uring_get_sqe(&ev.ring);
	}
	return sqe;
}

/* Watch fd for events, as id (lock held). */
static int epoll_watch(int fd, uint64_t id, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.u64 = id };

	if (epoll_ctl(ev.epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		return vn_err(-errno, "event engine: epoll_ctl on fd %d: %s", fd, strerror(errno));
	return 0;
}

/*
 * Queue the poll of source s (lock held): multishot for input on an
 * eventfd (edge-triggered with epoll), a single-shot poll (EPOLLONESHOT)
 * for a once source, whose poll(2) bits epoll takes as they are (Linux
 * gives POLLRDHUP/EPOLLRDHUP and the others the same values).
 */
static int arm(struct ev_src *s)
{
	uint64_t id = make_id((unsigned)(s - ev.src), s->gen);
	struct io_uring_sqe *sqe;

	if (ev.epfd >= 0)
		return epoll_watch(s->fd, id, s->once ? s->once | EPOLLONESHOT : EPOLLIN | EPOLLET);
	sqe = get_sqe();
	if (!sqe)
		return vn_err(-EBUSY, "event engine: the submission queue stays full");
	if (s->once)
		io_uring_prep_poll_add(sqe, s->fd, s->once);
	else
		io_uring_prep_poll_multishot(sqe, s->fd, POLLIN);
	io_uring_sqe_set_data64(sqe, id);
	return 0;
}

/* Poll wake_fd for the engine thread (lock held). */
static void rearm_wake(void)
{
	struct io_uring_sqe *sqe;

	if (ev.epfd >= 0) {
		/* Level-triggered: the thread empties it on every wake-up. */
		if (epoll_watch(ev.wake_fd, EV_TAG_WAKE, EPOLLIN))
			vn_warn("event engine: %s", vn_err_msg());
		return;
	}
	sqe = get_sqe();
	if (!sqe) {
		vn_warn("event engine: cannot re-arm its wake-up eventfd");
		return;
	}
	io_uring_prep_poll_multishot(sqe, ev.wake_fd, POLLIN);
	io_uring_sqe_set_data64(sqe, EV_TAG_WAKE);
}

/* Tell the engine thread to submit queued SQEs (or to stop). */
static void kick(void)
{
	uint64_t one = 1;

	if (write(ev.wake_fd, &one, sizeof(one)) != sizeof(one))
		vn_debug("event engine: wake eventfd: %s", strerror(errno));
}

/*
 * One readiness report for id (res > 0: ready; < 0: the poll failed); more
 * is false when the kernel ended a multishot poll (completion queue
 * overflow), which is then re-armed. Returns true when a source fired.
 * (lock held, engine thread)
 */
static bool on_event(uint64_t id, int res, bool more)
{
	struct ev_src *s;
	bool fired = false;

	if (id == EV_TAG_WAKE) {
		uint64_t v;

		/* Empty the count, so the next kick wakes us again. */
		if (read(ev.wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			vn_debug("event engine: wake eventfd: %s", strerror(errno));
		if (!more)
			rearm_wake();
		return false;
	}
	s = id == EV_TAG_REMOVE ? NULL : lookup(id);
	if (!s || s->fired)
		return false;
	if (res > 0) {
		s->fired = s->once != 0;
		s->seq++;
		fired = true;
		if (s->cb)
			s->cb(s->arg);
	} else if (res < 0 && res != -ECANCELED) {
		vn_warn("event engine: poll on eventfd %d failed: %s", s->fd, strerror(-res));
	}
	if (!more && !s->fired)
		(void)arm(s);
	return fired;
}

/* Take every completion of the ring. (lock held, engine thread) */
static bool harvest(void)
{
	struct io_uring_cqe *cqe;
	bool fired = false;

	while (io_uring_peek_cqe(&ev.ring, &cqe) == 0) {
		uint64_t id = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		bool more = cqe->flags & IORING_CQE_F_MORE;

		io_uring_cqe_seen(&ev.ring, cqe);
		fired |= on_event(id, res, more);
	}
	return fired;
}

/*
 * Sleep until something is ready, then account for it: io_uring_enter(2)
 * GETEVENTS with min_complete 1 (the task work of our polls runs here), or
 * epoll_wait(2). Called and returns with the lock held; sleeps without it.
 */
static bool sleep_and_harvest(void)
{
	struct epoll_event e[EV_EPOLL_BATCH];
	bool fired = false;
	int rc;

	if (ev.epfd >= 0) {
		pthread_mutex_unlock(&ev.lock);
		rc = epoll_wait(ev.epfd, e, EV_EPOLL_BATCH, -1);
		pthread_mutex_lock(&ev.lock);
		if (rc < 0 && errno != EINTR)
			vn_warn("event engine: epoll_wait: %s", strerror(errno));
		for (int i = 0; i < rc; i++)
			fired |= on_event(e[i].data.u64, (int)e[i].events, true);
		return fired;
	}
	rc = io_uring_submit(&ev.ring);
	if (rc < 0 && rc != -EINTR && rc != -EAGAIN)
		vn_warn("event engine: io_uring_submit: %s", strerror(-rc));
	pthread_mutex_unlock(&ev.lock);
	rc = io_uring_enter((unsigned)ev.ring.ring_fd, 0, 1, IORING_ENTER_GETEVENTS, NULL);
	pthread_mutex_lock(&ev.lock);
	if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		vn_warn("event engine: io_uring_enter: %s", strerror(-rc));
	return harvest();
}

/* VNET_EVENTS=epoll: sleep in epoll_wait() even where io_uring works. */
static bool epoll_requested(void)
{
	const char *v = getenv("VNET_EVENTS");

	if (v && strcmp(v, "epoll") && strcmp(v, "io_uring"))
		vn_warn("event engine: VNET_EVENTS=%s is neither io_uring nor epoll; using io_uring", v);
	return v && !strcmp(v, "epoll");
}

/* Close the ring, or the epoll instance used instead (lock held). */
static void backend_close(void)
{
	if (ev.epfd >= 0) {
		close(ev.epfd);
		ev.epfd = -1;
	} else {
		io_uring_queue_exit(&ev.ring);
	}
}

/* Create the ring, or the epoll instance instead (lock held, engine thread). */
static int backend_open(void)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE, .cq_entries = EV_CQ_ENTRIES };
	int rc;

	rc = epoll_requested() ? -ENOTSUP : io_uring_queue_init_params(EV_SQ_ENTRIES, &ev.ring, &p);
	if (rc < 0) {
		if (rc != -ENOTSUP)
			vn_info("event engine: io_uring_setup: %s; sleeping in epoll instead",
				strerror(-rc));
		ev.epfd = epoll_create1(EPOLL_CLOEXEC);
		if (ev.epfd < 0)
			return vn_err(-errno, "event engine: epoll_create1: %s", strerror(errno));
	}
	rearm_wake();
	return 0;
}

/*
 * The engine thread creates the ring (or epoll instance) and closes it
 * again when it leaves: io_uring directs work of a ring's teardown at the
 * task that set it up, and when that was an application thread, its next
 * epoll_wait() or read() failed with a spurious EINTR. Setting up reports
 * to ring_up() through ev.setup_rc and ev.setup_cond.
 */
static void *engine_main(void *arg)
{
	sigset_t all;

	(void)arg;
	/* Signals are for the application's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&ev.lock);
	ev.setup_rc = backend_open();
	ev.setup_done = true;
	pthread_cond_signal(&ev.setup_cond);
	if (ev.setup_rc) {
		pthread_mutex_unlock(&ev.lock);
		return NULL;
	}
	while (!ev.stop) {
		if (sleep_and_harvest() && ev.waiters) {
			__atomic_add_fetch(&ev.fseq, 1, __ATOMIC_RELEASE);
			/* futex(2) FUTEX_WAKE: every waiter rechecks its sources. */
			syscall(SYS_futex, &ev.fseq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
		}
	}
	backend_close();
	pthread_mutex_unlock(&ev.lock);
	return NULL;
}

/* Start the engine thread, which sets its backend up (lock held). */
static int ring_up(void)
{
	int rc;

	if (ev.up)
		return 0;
	ev.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev.wake_fd < 0)
		return vn_err(-errno, "event engine: eventfd: %s", strerror(errno));
	ev.stop = false;
	ev.setup_done = false;
	rc = pthread_create(&ev.thread, NULL, engine_main, NULL);
	if (rc) {
		close(ev.wake_fd);
		ev.wake_fd = -1;
		return vn_err(-rc, "event engine: cannot start its thread: %s", strerror(rc));
	}
	while (!ev.setup_done)
		pthread_cond_wait(&ev.setup_cond, &ev.lock);
	if (ev.setup_rc) {
		pthread_join(ev.thread, NULL);
		close(ev.wake_fd);
		ev.wake_fd = -1;
		return ev.setup_rc;
	}
	ev.up = true;
	return 0;
}

/*
 * When nothing uses the engine, stop its thread and close the ring (which
 * cancels whatever polls remain). Called with the lock held; drops it.
 */
static void unlock_maybe_down(void)
{
	pthread_t t = ev.thread;

	if (ev.live || !ev.up || ev.waiters) {
		pthread_mutex_unlock(&ev.lock);
		return;
	}
	ev.stop = true;
	kick();
	pthread_mutex_unlock(&ev.lock);
	pthread_join(t, NULL);
	pthread_mutex_lock(&ev.lock);
	/* Someone may have registered meanwhile: it waits for this to end.
	 * The thread closed the ring on its way out. */
	close(ev.wake_fd);
	ev.wake_fd = -1;
	ev.up = false;
	free(ev.src);
	ev.src = NULL;
	ev.n_src = 0;
	pthread_mutex_unlock(&ev.lock);
}

/* Register fd as a source: once 0 for an eventfd, else vn_ev_add_once()'s events. */
static int add(int fd, unsigned once, vn_ev_cb cb, void *arg, uint32_t *id)
{
	struct ev_src *s = NULL;
	unsigned i;
	int rc;

	pthread_mutex_lock(&ev.lock);
	while (ev.up && ev.stop) {
		/* A teardown is in progress in another thread: let it finish. */
		pthread_mutex_unlock(&ev.lock);
		sched_yield();
		pthread_mutex_lock(&ev.lock);
	}
	rc = ring_up();
	if (rc)
		goto out;
	for (i = 0; i < ev.n_src && !s; i++)
		if (ev.src[i].fd < 0)
			s = &ev.src[i];
	if (!s) {
		struct ev_src *t;

		if (ev.n_src == 0xffff) {
			rc = vn_err(-ENOSPC, "event engine: %u eventfds registered", ev.n_src);
			goto out;
		}
		t = realloc(ev.src, (ev.n_src + 1) * sizeof(*t));
		if (!t) {
			rc = vn_err(-ENOMEM, "event engine: out of memory");
			goto out;
		}
		ev.src = t;
		s = &ev.src[ev.n_src++];
		s->gen = 0;
	}
	s->fd = fd;
	s->gen = (uint16_t)(s->gen + 1);
	if (!s->gen)
		s->gen = 1;
	s->seq = 0;
	s->cb = cb;
	s->arg = arg;
	s->once = once;
	s->fired = false;
	rc = arm(s);
	if (rc) {
		s->fd = -1;
		goto out;
	}
	/* The engine thread submits it: the poll's task work then runs there. */
	kick();
	ev.live++;
	*id = make_id((unsigned)(s - ev.src), s->gen);
out:
	unlock_maybe_down();
	return rc;
}

int vn_ev_add(int fd, vn_ev_cb cb, void *arg, uint32_t *id)
{
	return add(fd, 0, cb, arg, id);
}

int vn_ev_add_once(int fd, unsigned events, vn_ev_cb cb, void *arg, uint32_t *id)
{
	if (!events)
		return vn_err(-EINVAL, "event engine: a once source needs poll events");
	return add(fd, events | POLLHUP | POLLERR, cb, arg, id);
}

void vn_ev_del(uint32_t id)
{
	struct io_uring_sqe *sqe;
	struct ev_src *s;

	pthread_mutex_lock(&ev.lock);
	s = lookup(id);
	if (s) {
		if (ev.epfd >= 0) {
			/* The fd is still open (vn_ev_add's contract): unregister it. */
			if (epoll_ctl(ev.epfd, EPOLL_CTL_DEL, s->fd, NULL) < 0)
				vn_debug("event engine: epoll_ctl DEL %d: %s", s->fd, strerror(errno));
		} else if ((sqe = get_sqe())) {
			io_uring_prep_poll_remove(sqe, id);
			io_uring_sqe_set_data64(sqe, EV_TAG_REMOVE);
			kick();
		}
		/* The poll's last completion, if any, no longer finds it. */
		s->fd = -1;
		s->cb = NULL;
		ev.live--;
	}
	unlock_maybe_down();
}

static void read_seq(const uint32_t *ids, uint32_t *seq, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct ev_src *s = lookup(ids[i]);

		seq[i] = s ? s->seq : 0;
	}
}

void vn_ev_seq(const uint32_t *ids, uint32_t *seq, unsigned n)
{
	pthread_mutex_lock(&ev.lock);
	read_seq(ids, seq, n);
	pthread_mutex_unlock(&ev.lock);
}

static bool moved(const uint32_t *ids, const uint32_t *seen, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct ev_src *s = lookup(ids[i]);

		/* A source removed under a waiter counts as moved: wake it. */
		if (!s || s->seq != seen[i])
			return true;
	}
	return false;
}

static struct timespec left(uint64_t deadline_ns)
{
	uint64_t now = vn_ev_now_ns(), d = deadline_ns > now ? deadline_ns - now : 0;

	return (struct timespec){ .tv_sec = (time_t)(d / 1000000000u),
				  .tv_nsec = (long)(d % 1000000000u) };
}

int vn_ev_wait(const uint32_t *ids, const uint32_t *seen, unsigned n, uint64_t deadline_ns)
{
	int rc = 0;

	pthread_mutex_lock(&ev.lock);
	ev.waiters++;
	for (;;) {
		uint32_t fseq = __atomic_load_n(&ev.fseq, __ATOMIC_ACQUIRE);
		struct timespec ts;
		long r;

		if (moved(ids, seen, n)) {
			rc = 0;
			break;
		}
		if (rc == -EINTR)
			break;
		if (vn_ev_now_ns() >= deadline_ns) {
			rc = -ETIMEDOUT;
			break;
		}
		if (!ev.up) {
			rc = vn_err(-ENODEV, "event engine: no device is open");
			break;
		}
		ts = left(deadline_ns);
		pthread_mutex_unlock(&ev.lock);
		/* futex(2) FUTEX_WAIT: sleeps while fseq is unchanged (the engine
		 * thread bumps it under the lock, after we read it); EINTR when
		 * a signal handler runs. */
		r = syscall(SYS_futex, &ev.fseq, FUTEX_WAIT_PRIVATE, fseq,
			    deadline_ns == UINT64_MAX ? NULL : &ts, NULL, 0);
		rc = r < 0 && errno == EINTR ? -EINTR : 0;
		pthread_mutex_lock(&ev.lock);
	}
	ev.waiters--;
	unlock_maybe_down();
	return rc;
}
