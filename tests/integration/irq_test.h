/* SPDX-License-Identifier: MIT */
/*
 * What the interrupt tests share (test_irq.c: sleepers, readiness,
 * busy-polling, suppression, configuration events; test_irq_stream.c: no
 * lost wake-up over long streams): the interrupt plans each wake-up test
 * runs under (IRQ_MODES), sim URIs and wires per plan, and checks of the
 * device-side counters (vn_sim_stats(), from the internal library).
 */
#ifndef VNET_TEST_IRQ_TEST_H
#define VNET_TEST_IRQ_TEST_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_ring.h>

#include "frames.h"
#include "port.h"
#include "sim/sim.h"
#include "uri.h"
#include "vnet/socket.h"

#define FRAME_MAX 1514
#define URI_MAX 128
#define VN_TEST_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VN_TEST_MAX(a, b) ((a) > (b) ? (a) : (b))

/* How the simulated device interrupts: the prestate of the wake-up tests. */
struct irq_mode {
	const char *name; /* also suffixed to wire names: each mode has its own */
	const char *opt;  /* sim option selecting it, "" for the default */
	bool intx;
	bool direct;      /* one-queue waits sleep on the queue's own eventfds (wait.c) */
};

static const struct irq_mode irq_msix = { "msix", "", false, true };
static const struct irq_mode irq_intx = { "intx", "irq=intx", true, false };
/* Fewer MSI-X vectors: queues share vector 1 (shared), or everything,
 * configuration changes included, shares vector 0 (single). */
static const struct irq_mode irq_shared = { "shared", "vectors=2", false, false };
/* The modes above run on packed rings (the default where offered); this
 * one on split rings. */
static const struct irq_mode irq_split = { "split", "ring=split", false, true };
static const struct irq_mode irq_single = { "single", "vectors=1", false, false };

/* The wire of a pair in mode m: "NAME-MODE". */
static inline const char *wire_of(char buf[32], const struct irq_mode *m, const char *name)
{
	snprintf(buf, 32, "%s-%s", name, m->name);
	return buf;
}

/* "sim:pair=WIRE/END" of mode m (end >= 0), or "sim:MODE" (end < 0, name
 * is the sim mode), with options opts (may be "") and m's option. */
static inline const char *mode_uri(char buf[URI_MAX], const struct irq_mode *m, const char *name,
			    int end, const char *opts)
{
	char q[64], wire[32];

	snprintf(q, sizeof(q), "%s%s%s", opts, *opts && *m->opt ? "&" : "", m->opt);
	if (end >= 0)
		snprintf(buf, URI_MAX, "sim:pair=%s/%d%s%s", wire_of(wire, m, name), end,
			 *q ? "?" : "", q);
	else
		snprintf(buf, URI_MAX, "sim:%s%s%s", name, *q ? "?" : "", q);
	return buf;
}

/* Device name/end (as vn_sim_stats() finds it) interrupted the driver
 * through INTx exactly when m says so. */
static inline void check_irq_mode(const struct irq_mode *m, const char *name, unsigned end)
{
	struct vn_sim_stats st;

	assert_int_equal(vn_sim_stats(name, end, &st), 0);
	if (m->intx)
		assert_true(st.intx > 0);
	else
		assert_int_equal(st.intx, 0);
}

/* The blocking calls on socket fd slept on its queue's own eventfds (the
 * direct path, no engine hop) exactly when m has a vector per queue. */
static inline void check_direct(const struct irq_mode *m, int fd)
{
	struct vnet_queue *q = vnet_dev_queue(vnet_socket_dev(fd), 0);

	assert_non_null(q);
	if (m->direct)
		assert_true(__atomic_load_n(&q->direct_sleeps, __ATOMIC_RELAXED) > 0);
	else
		assert_int_equal(__atomic_load_n(&q->direct_sleeps, __ATOMIC_RELAXED), 0);
}

static inline uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000 };

	nanosleep(&ts, NULL);
}

static inline void get_mac(int fd, uint8_t mac[6])
{
	struct vnet_dev_info info = { .sz = sizeof(info) };

	assert_int_equal(vnet_socket_info(fd, &info), 0);
	memcpy(mac, info.mac, 6);
}

static inline void send_seq(int fd, const uint8_t mac[6], uint64_t seq)
{
	uint8_t f[FRAME_MAX];
	size_t len = tf_len(seq, 60, 200);

	tf_fill(f, len, mac, seq);
	assert_int_equal(vnet_send(fd, f, len, 0), (ssize_t)len);
}

static inline bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Wait (bounded) until end `end` of the sim device `name` delivered n frames. */
static inline void wait_delivered(const char *name, unsigned end, uint64_t n)
{
	struct vn_sim_stats st;

	for (int i = 0; i < 2000; i++) {
		assert_int_equal(vn_sim_stats(name, end, &st), 0);
		if (st.qp[0].rx_frames >= n)
			return;
		sleep_us(1000);
	}
	fail_msg("%s/%u delivered %llu frames, not %llu", name, end,
		 (unsigned long long)st.qp[0].rx_frames, (unsigned long long)n);
}

/* The wake-up tests, once per interrupt mode, named "test [mode]". */
#define IRQ_TEST(f, m) { #f " [" #m "]", f, NULL, NULL, (void *)&(m) }
/* T(m) for every interrupt plan. */
#define IRQ_MODES(T) T(irq_msix), T(irq_shared), T(irq_single), T(irq_intx), T(irq_split)

#endif
