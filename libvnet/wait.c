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
 */
#include <errno.h>
#include <time.h>

#include "vnet/vnet.h"
#include "event.h"
#include "log.h"
#include "port.h"

#define WAIT_EVENTS (VNET_WAIT_RX | VNET_WAIT_TX)
#define POLL_STEP_NS 1000000ull /* queues without interrupts: check each ms */
#define RECHECK_NS (VN_WAIT_RECHECK_MS * 1000000ull)

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

/* Sleep without interrupt sources until deadline: -EINTR or -ETIMEDOUT. */
static int nap(uint64_t deadline)
{
	uint64_t now = vn_ev_now_ns(), d = deadline > now ? deadline - now : 0;
	struct timespec ts = { .tv_sec = (time_t)(d / 1000000000u),
			       .tv_nsec = (long)(d % 1000000000u) };

	return nanosleep(&ts, NULL) ? -EINTR : -ETIMEDOUT;
}

/* Notifications off for the entries that have work: their caller polls. */
static void disarm_ready(struct vnet_wait *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (w[i].revents & WAIT_EVENTS)
			disarm(w[i].q, w[i].revents & WAIT_EVENTS);
}

/*
 * Arm and sleep once, until a source fires or deadline. Returns 0 after a
 * wake-up, -ETIMEDOUT, -EINTR, or another -errno. Entries that turned
 * ready while arming are disarmed; the others stay armed.
 */
static int sleep_once(struct vnet_wait *w, unsigned n, uint64_t deadline)
{
	uint32_t ids[3 * VNET_WAIT_MAX], seen[3 * VNET_WAIT_MAX];
	unsigned k;
	bool polled;

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

VNET_API int vnet_wait(struct vnet_wait *w, unsigned n, int timeout_ms)
{
	uint64_t deadline = UINT64_MAX;
	int rc = 0, got;

	vn_err_clear();
	if ((!w && n) || n > VNET_WAIT_MAX)
		return fail(vn_err(-EINVAL, "vnet_wait: %u entries (at most %d)", n, VNET_WAIT_MAX));
	for (unsigned i = 0; i < n; i++) {
		rc = check_queue(w[i].q, w[i].events, "vnet_wait");
		if (rc)
			return fail(rc);
	}
	if (timeout_ms >= 0)
		deadline = vn_ev_now_ns() + (uint64_t)timeout_ms * 1000000u;
	got = scan(w, n);
	/*
	 * Sleep until work or the deadline, in slices of at most RECHECK_NS
	 * after which the rings are scanned and the devices looked at (a lost
	 * interrupt, a device gone silent); without interrupts, in 1 ms steps.
	 * With interrupts, a wake-up without work (another thread took it)
	 * ends the call.
	 */
	while (!got && !rc && vn_ev_now_ns() < deadline) {
		bool woke;

		rc = sleep_once(w, n, VN_MIN(deadline, next_check(w, n)));
		woke = !rc && !any_polled(w, n);
		if (rc == -ETIMEDOUT) {
			rc = 0;
			recheck(w, n);
		}
		got = scan(w, n);
		if (woke)
			break;
	}
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
