/* SPDX-License-Identifier: MIT */
/*
 * The data path of the xdp: port (xdp.h): the zero-copy burst calls and
 * the wait operations over one AF_XDP socket's four rings. No locks; system
 * calls only to kick the kernel when its rings ask for it (at most one per
 * burst, but for copy-mode TX, which sends a bounded batch per kick).
 *   RX: every frame the application does not hold sits in the fill ring
 *       or the RX ring. rx_peek() reads the RX ring, rx_release() puts the
 *       frames back in the fill ring with one producer update.
 *   TX: free frames sit on a stack; tx_submit() writes TX descriptors,
 *       publishes them and kicks the kernel (sendto) when the ring says it
 *       needs it; completions are reclaimed onto the stack lazily, when
 *       tx_reserve() finds it short.
 * Memory ordering on the rings is libxdp's: its producer updates are
 * store-release and its index reads load-acquire (xsk.h), which is what
 * the kernel's side (net/xdp/xsk_queue.h) pairs with. Every place that
 * relies on this says so.
 */
#include "xdp.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_xdp.h>

#include "log.h"

#define HEALTH_PERIOD (1u << 20) /* see tick() */
#define IDLE_TICKS 16u

void vn_xq_mark_broken(struct xq *q, int err, const char *what)
{
	if (!(__atomic_fetch_or(&q->x->broken, VN_STOP_BROKEN, __ATOMIC_RELAXED) & VN_STOP_BROKEN))
		vn_log(VN_LOG_ERR, "xdp: %s queue %u: %s: %s; the port is stopped", q->x->ifname,
		       q->queue_id, what, strerror(err));
}

static int down(void)
{
	return vn_err(-ENETDOWN, "xdp: the interface is gone or its socket failed; reopen it");
}

static int stop_error(uint8_t stop)
{
	return stop & VN_STOP_BROKEN ? down() : vn_port_admin_down();
}

/* The MTU's frame limit (vnet_dev_set_mtu() may change it on another
 * thread): one relaxed load per burst. */
static uint32_t frame_max(const struct xq *q)
{
	return __atomic_load_n(&q->x->frame_max, __ATOMIC_RELAXED);
}

/* A failed kick: errors that only mean "not now" pass; the interface gone
 * (ENXIO: the socket was unbound; ENETDOWN) stops the port. */
static void kick_failed(struct xq *q, const char *call)
{
	int err = errno;

	if (err == ENXIO || err == ENETDOWN)
		vn_xq_mark_broken(q, err, call);
	else if (err != EAGAIN && err != EBUSY && err != ENOBUFS && err != EINTR)
		vn_debug("xdp: %s queue %u: %s: %s", q->x->ifname, q->queue_id, call, strerror(err));
}

/* The kernel reports the interface's unregistration as a socket error. */
void vn_xq_check_alive(struct xq *q)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
		vn_xq_mark_broken(q, err, "socket error");
}

/* Health checks cost a system call: one per 65536 idle polls, or per
 * million busy bursts. */
static inline void tick(struct xq *q, unsigned got)
{
	q->ticks += got ? 1u : IDLE_TICKS;
	if (VN_UNLIKELY(q->ticks >= HEALTH_PERIOD)) {
		q->ticks = 0;
		vn_xq_check_alive(q);
	}
}

/*
 * Before reading a ring's NEED_WAKEUP flag after publishing entries: the
 * kernel sets the flag and then looks at the ring once more, we publish
 * and then look at the flag, and a store followed by a load needs a full
 * barrier on both sides, or each could miss the other's store (the
 * need_wakeup scheme of the AF_XDP uAPI, Documentation/networking/af_xdp.rst).
 */
static inline void wakeup_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Let the kernel know the fill ring has frames, when it asked to be told
 * (XDP_USE_NEED_WAKEUP; a driver that needs no kick never asks). */
void vn_xq_rx_kick(struct xq *q)
{
	wakeup_fence();
	if (!xsk_ring_prod__needs_wakeup(&q->fill))
		return;
	VN_STAT_ADD(q->st.rx_kicks, 1);
	if (recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0)
		kick_failed(q, "recvfrom");
}

/* TX descriptors published but not yet taken by the kernel (refreshes the
 * consumer index with a load-acquire, in libxdp). */
static uint32_t tx_queued(struct xq *q)
{
	return q->tx.size - xsk_prod_nb_free(&q->tx, q->tx.size);
}

/* Make the kernel send what the TX ring holds, when it asked to be told.
 * In copy mode a sendto() sends a bounded batch (EAGAIN: more left), so
 * kick again while each kick takes descriptors. */
void vn_xq_tx_kick(struct xq *q)
{
	uint32_t queued = tx_queued(q), before;

	wakeup_fence();
	while (queued && xsk_ring_prod__needs_wakeup(&q->tx)) {
		VN_STAT_ADD(q->st.tx_kicks, 1);
		if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN) {
			kick_failed(q, "sendto");
			return;
		}
		before = queued;
		queued = tx_queued(q);
		if (queued >= before)
			return; /* no progress: the next kick takes the rest */
	}
}

/* Take back what the kernel finished sending. */
void vn_xq_tx_reclaim(struct xq *q)
{
	uint32_t idx, got = xsk_ring_cons__peek(&q->comp, q->qsize, &idx);

	for (uint32_t i = 0; i < got; i++) {
		/* Read once: the ring is shared with the kernel. */
		uint64_t addr = *xsk_ring_cons__comp_addr(&q->comp, idx + i);
		uint64_t fr = addr / FRAME;

		if (fr < q->qsize || fr >= 2u * q->qsize || q->state[fr] != FR_KERNEL) {
			vn_warn("xdp: %s queue %u: completion for address 0x%llx, not a frame in flight",
				q->x->ifname, q->queue_id, (unsigned long long)addr);
			continue;
		}
		q->state[fr] = FR_FREE;
		q->free[q->n_free++] = (uint16_t)fr;
		q->in_flight--;
	}
	/* Store-release in libxdp: the entries are read before the kernel may
	 * reuse their slots. */
	if (got)
		xsk_ring_cons__release(&q->comp, got);
}

/*
 * Validate a whole burst of application-held buffers of frames [lo, hi)
 * before touching a ring, so that a bad one changes nothing. Claimed
 * frames are marked, which also catches an id given twice.
 */
static int claim(struct xq *q, const struct vnet_buf *bufs, unsigned n, uint32_t lo, uint32_t hi,
		 uint32_t cap)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t id = bufs[i].id;
		int err = 0;

		if (id < lo || id >= hi || q->state[id] != FR_APP)
			err = vn_err(-EINVAL, "buffer %u (id %u) is not one the application holds", i, id);
		else if (bufs[i].len > cap)
			err = vn_err(-EMSGSIZE, "buffer %u: %u bytes, capacity %u", i, bufs[i].len, cap);
		if (err) {
			while (i--)
				q->state[bufs[i].id] = FR_APP;
			return err;
		}
		q->state[id] = FR_CLAIMED;
	}
	return 0;
}

static void unclaim(struct xq *q, const struct vnet_buf *bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		q->state[bufs[i].id] = FR_APP;
}

/* Put RX frames in the fill ring: one producer update, at most one kick. */
static int fill(struct xq *q, const struct vnet_buf *bufs, unsigned n)
{
	uint32_t idx;

	if (xsk_ring_prod__reserve(&q->fill, n, &idx) != n) {
		vn_xq_mark_broken(q, EIO, "no room in the fill ring for a frame of its own (inconsistent kernel indices)");
		return -ENETDOWN;
	}
	for (unsigned i = 0; i < n; i++) {
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = (uint64_t)bufs[i].id * FRAME;
		q->state[bufs[i].id] = FR_KERNEL;
	}
	/* Store-release in libxdp: the addresses before the producer index. */
	xsk_ring_prod__submit(&q->fill, n);
	vn_xq_rx_kick(q);
	return 0;
}

int vn_xq_tx_reserve(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n)
{
	struct xq *q = vn_xq(pub);
	uint8_t stop = vn_xq_stopped(q);
	uint32_t cap;
	unsigned got;

	if (VN_UNLIKELY(stop))
		return stop_error(stop);
	/* Lazy reclaim: only when the stack cannot serve the burst. */
	if (q->n_free < n) {
		vn_xq_tx_kick(q);
		vn_xq_tx_reclaim(q);
	}
	got = VN_MIN(n, q->n_free);
	cap = frame_max(q);
	for (unsigned i = 0; i < got; i++) {
		uint16_t fr = q->free[--q->n_free];

		q->state[fr] = FR_APP;
		bufs[i] = (struct vnet_buf){ .data = q->area + (size_t)fr * FRAME,
					     .len = cap, .id = fr };
	}
	tick(q, got);
	return (int)got;
}

int vn_xq_tx_submit(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n)
{
	struct xq *q = vn_xq(pub);
	uint32_t idx = 0, sending = 0;
	uint8_t stop = vn_xq_stopped(q);
	int rc;

	if (VN_UNLIKELY(stop) && !vn_bufs_unsent(bufs, n))
		return stop_error(stop);
	rc = claim(q, bufs, n, q->qsize, 2u * q->qsize, frame_max(q));
	if (VN_UNLIKELY(rc)) {
		if (rc == -EMSGSIZE)
			VN_STAT_ADD(q->st.tx_errors, 1);
		return rc;
	}
	for (unsigned i = 0; i < n; i++)
		sending += bufs[i].len != 0;
	if (sending && xsk_ring_prod__reserve(&q->tx, sending, &idx) != sending) {
		unclaim(q, bufs, n);
		vn_xq_mark_broken(q, EIO, "no room in the TX ring for a frame of its own (inconsistent kernel indices)");
		return -ENETDOWN;
	}
	for (unsigned i = 0; i < n; i++) {
		uint16_t fr = bufs[i].id;
		struct xdp_desc *d;

		if (!bufs[i].len) { /* returned unsent (vnet.h) */
			q->state[fr] = FR_FREE;
			q->free[q->n_free++] = fr;
			continue;
		}
		d = xsk_ring_prod__tx_desc(&q->tx, idx++);
		*d = (struct xdp_desc){ .addr = (uint64_t)fr * FRAME, .len = bufs[i].len };
		q->state[fr] = FR_KERNEL;
		VN_STAT_ADD(q->st.tx_packets, 1);
		VN_STAT_ADD(q->st.tx_bytes, bufs[i].len);
	}
	if (sending) {
		/* Store-release in libxdp: descriptors before the producer index. */
		xsk_ring_prod__submit(&q->tx, sending);
		q->in_flight += sending;
		vn_xq_tx_kick(q);
	}
	return (int)n;
}

/* A frame the kernel handed over that cannot be passed on: counted, and
 * back to the fill ring when it is one of ours. */
static void rx_drop(struct xq *q, uint64_t fr, bool ours)
{
	VN_STAT_ADD(q->st.rx_dropped, 1);
	VN_STAT_ADD(q->st.rx_errors, 1);
	if (ours)
		(void)fill(q, &(struct vnet_buf){ .id = (uint16_t)fr }, 1);
}

/*
 * Administratively down: every frame waiting goes back to the fill ring,
 * counted in rx_dropped; nothing is returned.
 */
static int rx_discard(struct xq *q)
{
	uint32_t idx, got = xsk_ring_cons__peek(&q->rx, q->qsize, &idx);

	for (uint32_t i = 0; i < got; i++) {
		struct xdp_desc d = *xsk_ring_cons__rx_desc(&q->rx, idx + i);
		uint64_t fr = d.addr / FRAME;

		if (fr >= q->qsize || q->state[fr] != FR_KERNEL) {
			rx_drop(q, fr, false);
			continue;
		}
		q->state[fr] = FR_APP;
		VN_STAT_ADD(q->st.rx_dropped, 1);
		(void)fill(q, &(struct vnet_buf){ .id = (uint16_t)fr }, 1);
	}
	/* Store-release in libxdp: the descriptors were read first. */
	if (got)
		xsk_ring_cons__release(&q->rx, got);
	return 0;
}

int vn_xq_rx_peek(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n)
{
	struct xq *q = vn_xq(pub);
	uint8_t stop = vn_xq_stopped(q);
	uint32_t idx, got, lim;
	unsigned out = 0;

	if (VN_UNLIKELY(stop))
		return stop & VN_STOP_BROKEN ? down() : rx_discard(q);
	lim = frame_max(q);
	/* Load-acquire of the producer index in libxdp: the descriptors and
	 * the frames they point to are the kernel's finished writes. */
	got = xsk_ring_cons__peek(&q->rx, n, &idx);
	for (uint32_t i = 0; i < got; i++) {
		/* Copied once: the ring is shared with the kernel. */
		struct xdp_desc d = *xsk_ring_cons__rx_desc(&q->rx, idx + i);
		uint64_t fr = d.addr / FRAME, off = d.addr % FRAME;

		if (fr >= q->qsize || q->state[fr] != FR_KERNEL) {
			rx_drop(q, fr, false);
			continue;
		}
		q->state[fr] = FR_APP;
		/* Empty, past its frame, or longer than the MTU allows. */
		if (!d.len || d.len > FRAME - off || d.len > lim) {
			rx_drop(q, fr, true);
			continue;
		}
		bufs[out++] = (struct vnet_buf){ .data = q->area + d.addr, .len = d.len,
						 .id = (uint16_t)fr };
		VN_STAT_ADD(q->st.rx_packets, 1);
		VN_STAT_ADD(q->st.rx_bytes, d.len);
	}
	/* Store-release in libxdp: the descriptors were read first. */
	if (got)
		xsk_ring_cons__release(&q->rx, got);
	tick(q, out);
	return (int)out;
}

int vn_xq_rx_release(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n)
{
	struct xq *q = vn_xq(pub);
	int rc;

	if (VN_UNLIKELY(vn_xq_broken(q)))
		return down();
	rc = claim(q, bufs, n, 0, q->qsize, UINT32_MAX);
	if (VN_UNLIKELY(rc))
		return rc;
	rc = n ? fill(q, bufs, n) : 0;
	if (rc)
		unclaim(q, bufs, n);
	return rc;
}

bool vn_xq_ready(struct vnet_queue *pub, bool tx)
{
	struct xq *q = vn_xq(pub);

	if (vn_xq_broken(q))
		return true; /* the next call reports ENETDOWN */
	if (tx)
		return q->n_free || xsk_cons_nb_avail(&q->comp, 1);
	return xsk_cons_nb_avail(&q->rx, 1) != 0;
}

/*
 * Arming: make sure the kernel can make progress (TX descriptors still
 * queued are kicked, the fill ring is rung if the kernel asks), renew the
 * relay's watch (RX), then a full barrier and one more look at the rings.
 * An interface that went away is the link watch's to notice (xdp.c
 * on_link(), which marks the port broken and wakes waiters): no system
 * call for it here.
 */
bool vn_xq_arm(struct vnet_queue *pub, bool tx)
{
	struct xq *q = vn_xq(pub);

	if (!vn_xq_broken(q)) {
		vn_xq_tx_kick(q);
		vn_xq_rx_kick(q);
	}
	/* No wake-up would come when the watch cannot be renewed: have the
	 * caller poll instead. */
	if (!tx && !vn_relay_arm(&q->wake))
		return true;
	/* port.h: the caller's snapshot of the wake-up counts and the kicks
	 * above come before the last look at the rings' indices. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vn_xq_ready(pub, tx);
}

void vn_xq_disarm(struct vnet_queue *pub, bool tx)
{
	if (!tx)
		vn_relay_disarm(&vn_xq(pub)->wake);
}

void vn_xq_stats(struct vnet_queue *pub, struct vnet_queue_stats *st)
{
	struct xq *q = vn_xq(pub);
	struct vnet_queue_stats s;
	struct xdp_statistics ks = { 0 };
	socklen_t len = sizeof(ks);

	vn_port_stats_load(&q->st, &s);
	/* The kernel's drops: no fill buffer or frame too long (rx_dropped),
	 * RX ring full; and TX descriptors it refused. */
	if (getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, &ks, &len) == 0) {
		s.rx_dropped += ks.rx_dropped + ks.rx_ring_full;
		s.tx_errors += ks.tx_invalid_descs;
	}
	vn_port_stats_out(&s, st);
}


