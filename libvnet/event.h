/* SPDX-License-Identifier: MIT */
/*
 * The event engine: every interrupt eventfd of every open device is armed,
 * once, as a multishot poll in one io_uring per process, which a libvnet
 * thread sleeps in. Each completion it harvests bumps the source's fire
 * count and wakes the threads waiting in vn_ev_wait() (a futex): one system
 * call per wake-up for them, however many queues they wait on.
 *
 * Each registered eventfd is a source with a fire count. Waiting is "until
 * the fire count of one of these sources moves past what I saw", so the
 * caller snapshots the counts (vn_ev_seq()), re-enables its device
 * notifications, re-checks its rings, and only then sleeps (vn_ev_wait()):
 * an interrupt anywhere after the snapshot ends the sleep.
 *
 * Any number of threads may wait at once. A wait ends with -EINTR when a
 * signal handler runs, as epoll_wait() does (even with SA_RESTART).
 *
 * All functions return 0 or a negative errno recorded with vn_err().
 */
#ifndef VN_EVENT_H
#define VN_EVENT_H

#include <stdint.h>

/* Called in the engine thread, under the engine's lock, each time the
 * source fires. It must not call back into the engine. */
typedef void (*vn_ev_cb)(void *arg);

/* Register eventfd fd (which must stay open until vn_ev_del()). */
int vn_ev_add(int fd, vn_ev_cb cb, void *arg, uint32_t *id);

/*
 * Register fd for one report of poll(2) events (POLLHUP and POLLERR always
 * count): the source fires once and cb runs once, then it stays quiet until
 * vn_ev_del(). For conditions that last once they hold, which a re-armed
 * poll would report for ever: a socket whose peer hung up (POLLRDHUP). The
 * engine only polls fd, so a socket others read and write is not disturbed
 * as long as events has no POLLIN or POLLOUT.
 */
int vn_ev_add_once(int fd, unsigned events, vn_ev_cb cb, void *arg, uint32_t *id);

/* Stop watching a source; its callback is not called after this returns. */
void vn_ev_del(uint32_t id);

/* Read the fire counts of n sources into seq[] (a removed source reads 0). */
void vn_ev_seq(const uint32_t *ids, uint32_t *seq, unsigned n);

/*
 * Sleep until the fire count of one of ids[] differs from seen[], or until
 * CLOCK_MONOTONIC passes deadline_ns (-ETIMEDOUT; UINT64_MAX: no deadline),
 * or a signal handler ran (-EINTR). 0 when a source fired.
 */
int vn_ev_wait(const uint32_t *ids, const uint32_t *seen, unsigned n, uint64_t deadline_ns);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t vn_ev_now_ns(void);

#endif
