/* SPDX-License-Identifier: MIT */
/*
 * Sleeping on queues (vnet.h "Interrupts and waiting"): vnet_wait() and the
 * notification switches, over the event engine (event.h) and the ports'
 * ready/arm/disarm operations (port.h).
 *
 * A wait is: check the rings; snapshot the fire counts of the interrupt
 * sources involved (each queue's vector and its device's config vector);
 * arm the notifications, which ends with a full barrier and a last look at
 * the rings; sleep until one of the counts moves; disarm; check again. An
 * interrupt raised at any point after the snapshot ends the sleep, and one
 * raised before it is covered by the look after arming, so no wake-up is
 * lost. An interrupt the device never raised is: so no sleep lasts longer
 * than VN_WAIT_RECHECK_MS without a look at the rings and the devices.
 *
 * The direct path: a wait on one queue whose port gave it descriptors of
 * its own (port.h own_fds) sleeps in ppoll() on the queue's eventfds and
 * the device's err_fd, so the device's interrupt wakes the waiter itself,
 * with no hop through the engine thread. Its eventfds are drained before
 * arming (below: why no interrupt is lost). Only one thread at a time
 * sleeps so on a direction (vnet_queue::direct): a second one would find
 * the count the first drained, and sleeps in the engine instead.
 *
 * Busy-polling: a one-queue wait first polls its rings with notifications
 * off, for the budget vnet_queue_busy_poll() set or, by default, one
 * learned from the waits before (learn()), so that a ping-pong spins
 * through its short gaps and an idle receiver goes to sleep at once.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "vnet/vnet.h"
#include "event.h"
#include "log.h"
#include "port.h"

#define WAIT_EVENTS (VNET_WAIT_RX | VNET_WAIT_TX)
#define POLL_STEP_NS 1000000ull /* queues without interrupts: check each ms */
#define RECHECK_NS (VN_WAIT_RECHECK_MS * 1000000ull)
#define SPIN_CAP_NS 50000u      /* the most a learned busy-poll budget grows to */
#define SPIN_MIN_NS 1000u       /* a learned budget shrinking below this is 0 */
#define BUSY_MAX_US 1000000     /* the most vnet_queue_busy_poll() takes */

static int fail(int rc)
{
	errno = -rc;
	return -1;
}

static int check_queue(struct vnet_queue *q, unsigned events, const char *fn)
{
	if (!q)
		return vn_err(-EINVAL, "%s: the queue is NULL", fn);
	if (!events || (events & ~WAIT_EVENTS))
		return vn_err(-EINVAL, "%s: events 0x%x: want VNET_WAIT_RX and/or VNET_WAIT_TX",
			      fn, events);
	return 0;
}

/* The events of q that hold now, VNET_WAIT_ERR when the device broke. */
static unsigned ready(struct vnet_queue *q, unsigned events)
{
	unsigned r = 0;

	if ((events & VNET_WAIT_RX) && q->port->ops->ready(q, false))
		r |= VNET_WAIT_RX;
	if ((events & VNET_WAIT_TX) && q->port->ops->ready(q, true))
		r |= VNET_WAIT_TX;
	if (__atomic_load_n(q->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN)
		r = VNET_WAIT_ERR;
	return r;
}

/* Arm each asked direction; the ones that turn out ready are returned. */
static unsigned arm(struct vnet_queue *q, unsigned events)
{
	unsigned r = 0;

	if ((events & VNET_WAIT_RX) && q->port->ops->arm(q, false))
		r |= VNET_WAIT_RX;
	if ((events & VNET_WAIT_TX) && q->port->ops->arm(q, true))
		r |= VNET_WAIT_TX;
	return r;
}

static void disarm(struct vnet_queue *q, unsigned events)
{
	if (events & VNET_WAIT_RX)
		q->port->ops->disarm(q, false);
	if (events & VNET_WAIT_TX)
		q->port->ops->disarm(q, true);
}

static int scan(struct vnet_wait *w, unsigned n)
{
	int got = 0;

	for (unsigned i = 0; i < n; i++) {
		w[i].revents = ready(w[i].q, w[i].events);
		got += w[i].revents != 0;
	}
	return got;
}

/* The interrupt sources of w: each asked direction's, and each device's
 * event source (a NEEDS_RESET must wake the waiter too). Returns how many;
 * *polled when some asked direction has none. */
static unsigned sources(const struct vnet_wait *w, unsigned n, uint32_t *ids, bool *polled)
{
	unsigned k = 0;

	*polled = false;
	for (unsigned i = 0; i < n; i++) {
		const struct vnet_queue *q = w[i].q;

		if (w[i].events & VNET_WAIT_RX) {
			if (q->rx_src)
				ids[k++] = q->rx_src;
			else
				*polled = true;
		}
		if (w[i].events & VNET_WAIT_TX) {
			if (q->tx_src)
				ids[k++] = q->tx_src;
			else
				*polled = true;
		}
		if (q->ev_src)
			ids[k++] = q->ev_src;
	}
	return k;
}

/* The time from now to deadline. */
static struct timespec left(uint64_t deadline)
{
	uint64_t now = vn_ev_now_ns(), d = deadline > now ? deadline - now : 0;

	return (struct timespec){ .tv_sec = (time_t)(d / 1000000000u),
				  .tv_nsec = (long)(d % 1000000000u) };
}

/* Sleep without interrupt sources until deadline: -EINTR or -ETIMEDOUT. */
static int nap(uint64_t deadline)
{
	struct timespec ts = left(deadline);

	return nanosleep(&ts, NULL) ? -EINTR : -ETIMEDOUT;
}

/* Notifications off for the entries that have work: their caller polls. */
static void disarm_ready(struct vnet_wait *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (w[i].revents & WAIT_EVENTS)
			disarm(w[i].q, w[i].revents & WAIT_EVENTS);
}

/* Empty the count of a queue's own eventfd (nothing to read is fine). */
static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vn_debug("vnet_wait: reading eventfd %d: %s", fd, strerror(errno));
}

/*
 * The direct path's sleep: drain, arm, ppoll() the queue's eventfds and
 * the device's err_fd until one is readable or deadline. No interrupt is
 * lost between the drain and the sleep: the device interrupts only for
 * used buffers it published before, and only when it sees notifications
 * enabled. arm() enables them after the drain and then, after a full
 * barrier, looks at the used ring. Either that look finds the buffer (no
 * sleep), or the device published it after the barrier, saw the enable
 * and wrote the eventfd after our drain, so ppoll() returns at once. An
 * interrupt from before the drain is for a buffer published before it,
 * which the look finds. err_fd is never drained: readable means broken,
 * and a broken device ends every wait at once anyway.
 */
static int sleep_direct(struct vnet_wait *w, uint64_t deadline)
{
	struct vnet_queue *q = w->q;
	struct pollfd pfd[3];
	struct timespec ts;
	nfds_t k = 0;
	int r;

	if (w->events & VNET_WAIT_RX)
		pfd[k++] = (struct pollfd){ .fd = q->rx_fd, .events = POLLIN };
	if (w->events & VNET_WAIT_TX)
		pfd[k++] = (struct pollfd){ .fd = q->tx_fd, .events = POLLIN };
	for (nfds_t i = 0; i < k; i++)
		drain(pfd[i].fd);
	pfd[k++] = (struct pollfd){ .fd = q->err_fd, .events = POLLIN };
	if (arm(q, w->events))
		return 0;
	/* A read-modify-write: an RX and a TX sleeper of q may count at once. */
	__atomic_fetch_add(&q->direct_sleeps, 1, __ATOMIC_RELAXED);
	ts = left(deadline);
	/* ppoll(2): EINTR when a signal handler ran, never restarted. */
	r = ppoll(pfd, k, deadline == UINT64_MAX ? NULL : &ts, NULL);
	if (r < 0)
		return errno == EINTR ? -EINTR : vn_err(-errno, "vnet_wait: ppoll: %s", strerror(errno));
	return r ? 0 : -ETIMEDOUT;
}

/*
 * Arm and sleep once, until a source fires or deadline. Returns 0 after a
 * wake-up, -ETIMEDOUT, -EINTR, or another -errno. Entries that turned
 * ready while arming are disarmed; the others stay armed.
 */
static int sleep_once(struct vnet_wait *w, unsigned n, uint64_t deadline, unsigned direct)
{
	uint32_t ids[3 * VNET_WAIT_MAX], seen[3 * VNET_WAIT_MAX];
	unsigned k;
	bool polled;

	if (direct)
		return sleep_direct(w, deadline);
	k = sources(w, n, ids, &polled);
	if (k)
		vn_ev_seq(ids, seen, k);
	for (unsigned i = 0; i < n; i++)
		if (arm(w[i].q, w[i].events))
			return 0;
	if (polled)
		deadline = VN_MIN(deadline, vn_ev_now_ns() + POLL_STEP_NS);
	return k ? vn_ev_wait(ids, seen, k, deadline) : nap(deadline);
}

static bool any_polled(const struct vnet_wait *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (((w[i].events & VNET_WAIT_RX) && !w[i].q->rx_src) ||
		    ((w[i].events & VNET_WAIT_TX) && !w[i].q->tx_src))
			return true;
	return false;
}

/* When the first queue of w is due for a look at its device. */
static uint64_t next_check(const struct vnet_wait *w, unsigned n)
{
	uint64_t t = UINT64_MAX;

	for (unsigned i = 0; i < n; i++)
		t = VN_MIN(t, __atomic_load_n(&w[i].q->checked_ns, __ATOMIC_RELAXED) + RECHECK_NS);
	return t;
}

/*
 * A sleep ended with nothing heard: have each port look at its device if
 * no sleeper did for RECHECK_NS (the queue remembers, so that callers
 * looping on short timeouts are covered too), once per device however
 * many of its queues are waited on (a look may be a round trip to a
 * vfio-user server).
 */
static void recheck(struct vnet_wait *w, unsigned n)
{
	uint64_t now = vn_ev_now_ns();
	bool looked[VNET_WAIT_MAX];

	for (unsigned i = 0; i < n; i++) {
		struct vnet_queue *q = w[i].q;
		unsigned j = 0;

		looked[i] = false;
		if (__atomic_load_n(&q->checked_ns, __ATOMIC_RELAXED) + RECHECK_NS > now)
			continue;
		__atomic_store_n(&q->checked_ns, now, __ATOMIC_RELAXED);
		while (j < i && !(looked[j] && w[j].q->port == q->port))
			j++;
		if (j == i && q->port->ops->check) {
			q->port->ops->check(q);
			looked[i] = true;
		}
	}
}

/*
 * The directions of w's one entry a direct sleep takes hold of (released
 * with release()): 0 when there are more entries, the queue has no
 * descriptors of its own, or another thread sleeps directly on one.
 */
static unsigned claim(struct vnet_wait *w, unsigned n)
{
	uint8_t dirs = (uint8_t)(w->events & WAIT_EVENTS), prev;

	if (n != 1 || !w->q->own_fds)
		return 0;
	prev = __atomic_fetch_or(&w->q->direct, dirs, __ATOMIC_ACQUIRE);
	if (!(prev & dirs))
		return dirs;
	/* Taken: give back the bits this call set, if any. */
	__atomic_fetch_and(&w->q->direct, (uint8_t)~(dirs & ~prev), __ATOMIC_RELEASE);
	return 0;
}

static void release(struct vnet_wait *w, unsigned dirs)
{
	__atomic_fetch_and(&w->q->direct, (uint8_t)~dirs, __ATOMIC_RELEASE);
}

/* The learned budget of a one-entry wait: RX alone, or the others. */
static struct vn_spin *spin_of(const struct vnet_wait *w)
{
	return &w->q->spin[w->events == VNET_WAIT_RX ? 0 : 1];
}

/* The busy-poll budget of a one-entry wait in ns: the one set with
 * vnet_queue_busy_poll(), else the learned one. */
static uint64_t budget(const struct vnet_wait *w)
{
	uint32_t cfg = __atomic_load_n(&w->q->busy_cfg, __ATOMIC_RELAXED);

	return cfg ? (uint64_t)(cfg - 1) * 1000u : spin_of(w)->ns;
}

/* Poll the rings of w's one entry, notifications off, until work or end. */
static int spin(struct vnet_wait *w, uint64_t end)
{
	int got;

	disarm(w->q, w->events);
	while (!(got = scan(w, 1)) && vn_ev_now_ns() < end)
		vn_cpu_relax();
	return got;
}

/*
 * Learn the next budget of an adaptive queue from a one-entry wait that
 * spun for budget ns (0: did not), found work while spinning (hit), or
 * else slept for slept ns and then found work or not.
 *  - A hit keeps the budget and makes the next try after a miss sooner.
 *  - A miss halves it, to 0 below SPIN_MIN_NS: an idle receiver stops
 *    spinning within a few waits. A miss costs the spinner's CPU and, on
 *    a loaded machine, the peer's: a device thread or the sender may be
 *    waiting for that very CPU.
 *  - Without a budget, sleeps that end with work within SPIN_CAP_NS are
 *    quick: after 2^backoff of them in a row, spinning is tried again for
 *    twice the last one (room for jitter). A miss of that try doubles the
 *    quick sleeps to wait for before the next, up to 2^10.
 */
static void learn(struct vnet_wait *w, uint64_t budget_ns, bool hit, uint64_t slept, bool work)
{
	struct vn_spin *sp = spin_of(w);

	if (__atomic_load_n(&w->q->busy_cfg, __ATOMIC_RELAXED))
		return;
	if (hit) {
		sp->backoff = (uint8_t)(sp->backoff ? sp->backoff - 1 : 0);
	} else if (budget_ns) {
		sp->ns = sp->ns / 2 < SPIN_MIN_NS ? 0 : sp->ns / 2;
		if (!sp->ns && sp->backoff < 10)
			sp->backoff++;
		sp->quick = 0;
	} else if (work && slept <= SPIN_CAP_NS) {
		if (++sp->quick >= 1u << sp->backoff) {
			sp->ns = (uint32_t)VN_MAX(VN_MIN(2 * slept, (uint64_t)SPIN_CAP_NS), SPIN_MIN_NS);
			sp->quick = 0;
		}
	} else {
		sp->quick = 0;
	}
}

VNET_API int vnet_wait(struct vnet_wait *w, unsigned n, int timeout_ms)
{
	uint64_t deadline = UINT64_MAX, start, spun = 0, slept;
	unsigned direct = 0;
	bool hit = false, waited;
	int rc = 0, got;

	vn_err_clear();
	if ((!w && n) || n > VNET_WAIT_MAX)
		return fail(vn_err(-EINVAL, "vnet_wait: %u entries (at most %d)", n, VNET_WAIT_MAX));
	for (unsigned i = 0; i < n; i++) {
		rc = check_queue(w[i].q, w[i].events, "vnet_wait");
		if (rc)
			return fail(rc);
	}
	start = vn_ev_now_ns();
	if (timeout_ms >= 0)
		deadline = start + (uint64_t)timeout_ms * 1000000u;
	got = scan(w, n);
	if (!got && n == 1 && deadline > start && (spun = budget(w)) != 0) {
		got = spin(w, VN_MIN(deadline, start + spun));
		hit = got != 0;
	}
	waited = !got && deadline > start;
	if (!got)
		direct = claim(w, n);
	slept = vn_ev_now_ns();
	/*
	 * Sleep until work or the deadline, in slices of at most RECHECK_NS
	 * after which the rings are scanned and the devices looked at (a lost
	 * interrupt, a device gone silent); without interrupts, in 1 ms steps.
	 * With interrupts, a wake-up without work (another thread took it)
	 * ends the call.
	 */
	while (!got && !rc && vn_ev_now_ns() < deadline) {
		bool woke;

		rc = sleep_once(w, n, VN_MIN(deadline, next_check(w, n)), direct);
		woke = !rc && !any_polled(w, n);
		if (rc == -ETIMEDOUT) {
			rc = 0;
			recheck(w, n);
		}
		got = scan(w, n);
		if (woke)
			break;
	}
	if (direct)
		release(w, direct);
	/* Only waits that spun or slept teach anything. */
	if (n == 1 && (spun || waited))
		learn(w, spun, hit, vn_ev_now_ns() - slept, got && !(w->revents & VNET_WAIT_ERR));
	disarm_ready(w, n);
	return got || !rc ? got : fail(rc);
}

VNET_API int vnet_queue_fd(struct vnet_queue *q, unsigned dir)
{
	int fd;

	vn_err_clear();
	if (!q || (dir != VNET_WAIT_RX && dir != VNET_WAIT_TX))
		return fail(vn_err(-EINVAL, "vnet_queue_fd: a queue and one direction are required"));
	fd = dir == VNET_WAIT_RX ? q->rx_fd : q->tx_fd;
	if (fd < 0)
		return fail(vn_err(-ENOTSUP, "vnet_queue_fd: the device runs without interrupts"));
	return fd;
}

VNET_API int vnet_queue_arm(struct vnet_queue *q, unsigned events)
{
	int rc = check_queue(q, events, "vnet_queue_arm");

	return rc ? fail(rc) : (int)arm(q, events);
}

VNET_API int vnet_queue_disarm(struct vnet_queue *q, unsigned events)
{
	int rc = check_queue(q, events, "vnet_queue_disarm");

	if (rc)
		return fail(rc);
	disarm(q, events);
	return 0;
}

VNET_API int vnet_queue_busy_poll(struct vnet_queue *q, int us)
{
	vn_err_clear();
	if (!q || us < -1 || us > BUSY_MAX_US)
		return fail(vn_err(-EINVAL, "vnet_queue_busy_poll: a queue and -1 .. %d us are required",
				   BUSY_MAX_US));
	__atomic_store_n(&q->busy_cfg, us < 0 ? 0u : (uint32_t)us + 1, __ATOMIC_RELAXED);
	return 0;
}
