/* SPDX-License-Identifier: MIT */
/*
 * The burst calls of the virtio-net data path, written once for both ring
 * layouts: included by virtio_net_rxtx.c with
 *   RING(op) -> vq_op   (split, virtqueue.h),   NET_FN(f) -> vn_net_f
 * and by virtio_net_rxtx_packed.c with
 *   RING(op) -> vqp_op  (packed, vq_packed.h),  NET_FN(f) -> vn_net_f_packed.
 * The port installs one of the two sets at open (virtio_port.c), so the ring
 * layout costs no test per frame. No locks, no system calls but the doorbell
 * (at most one per burst), no per-frame indirect calls.
 */
#ifndef RING
#error "define RING() and NET_FN() before including virtio_net_rxtx_body.h"
#endif

#include <errno.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "log.h"
#include "virtio/virtio_net.h"

/*
 * Health checks (vn_net_health()) cost system calls, so they run on a
 * budget: a burst that moved frames costs 1 tick, an idle one 16; a check
 * every HEALTH_PERIOD ticks is one per 65536 idle polls, or per million
 * busy bursts.
 */
#define HEALTH_PERIOD (1u << 20)
#define IDLE_TICKS 16u

static inline void tick(struct vn_netq *q, int got)
{
	q->health_ticks += got ? 1u : IDLE_TICKS;
	if (VN_UNLIKELY(q->health_ticks >= HEALTH_PERIOD))
		vn_net_health(q);
}

static int down(void)
{
	return vn_err(-ENETDOWN, "the device is broken or was reset; reopen it");
}

/*
 * A burst call found VN_STOP_* bits (port.h): with VN_STOP_RESET (and not
 * BROKEN) this queue takes its part in the auto reset, which may finish
 * it. Returns the bits left. While a reset runs, calls return 0: nothing
 * received, no TX buffer free; the caller tries again or waits. (The auto
 * reset runs on split rings only: virtio_port.c asks for them with it.)
 */
static uint8_t settle(struct vn_netq *q, uint8_t stop)
{
	if ((stop & VN_STOP_RESET) && !(stop & VN_STOP_BROKEN))
		return vn_net_recover(q);
	return stop;
}

static inline bool in_reset(uint8_t stop)
{
	return (stop & (VN_STOP_RESET | VN_STOP_BROKEN)) == VN_STOP_RESET;
}

/* The error of a burst call stopped for good or administratively down. */
static int stopped(uint8_t stop)
{
	if (stop & VN_STOP_BROKEN)
		return down();
	return vn_port_admin_down();
}

/* The driver's frame limit, MTU + 18: one relaxed load per burst. */
static inline uint32_t frame_max(const struct vn_netq *q)
{
	return vn_net_frame_max(q);
}

/*
 * Validate a whole burst of app-held buffers before touching the ring, so
 * that a bad one leaves everything as it was. Claimed ids are marked free
 * for the moment, which also catches the same id twice in one burst.
 */
static int claim(struct vq *vq, const struct vnet_buf *bufs, unsigned n, uint32_t cap)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t id = bufs[i].id;
		int err = 0;

		if (id >= vq->size || vq->state[id] != VQ_APP)
			err = vn_err(-EINVAL, "buffer %u (id %u) is not one the application holds", i, id);
		else if (bufs[i].len > cap)
			err = vn_err(-EMSGSIZE, "buffer %u: %u bytes, capacity %u", i, bufs[i].len, cap);
		if (err) {
			while (i--)
				vq->state[bufs[i].id] = VQ_APP;
			return err;
		}
		vq->state[id] = VQ_FREE;
	}
	return 0;
}

/* Take back what the device finished sending (also vn_net_tx_drain()'s). */
int NET_FN(tx_reclaim)(struct vq *vq)
{
	int pending = RING(used_pending)(vq);
	uint32_t len;

	if (pending < 0)
		return -1;
	for (int i = 0; i < pending; i++) {
		int id = RING(used_get)(vq, &len);

		if (id < 0)
			return -1;
		vq_give(vq, (uint16_t)id);
	}
	if (pending)
		RING(used_done)(vq);
	return 0;
}

int NET_FN(tx_reserve)(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n)
{
	struct vn_netq *q = vn_netq(pub);
	struct vq *vq = &q->tx;
	uint8_t stop = vq_stopped(vq);
	uint32_t cap;
	unsigned got;

	if (VN_UNLIKELY(stop) && (stop = settle(q, stop)) != 0)
		return in_reset(stop) ? 0 : stopped(stop);
	/* Lazy reclaim: only when the free stack runs low. */
	if (vq->n_free < n || vq->n_free < vq->size / 4u)
		if (VN_UNLIKELY(NET_FN(tx_reclaim)(vq)))
			return -ENETDOWN;
	got = VN_MIN(n, (unsigned)vq->n_free);
	/* With HOST_TSO (VNET_DEV_F_OFFLOAD) a buffer takes a GSO frame. */
	cap = VN_UNLIKELY(q->gso_cap) ? q->gso_cap : frame_max(q);
	for (unsigned i = 0; i < got; i++) {
		uint16_t id = vq_take(vq);

		/* virtio 1.2 §5.1.6.2: no offload asked for is flags 0 and
		 * gso_type VIRTIO_NET_HDR_GSO_NONE, an all-zero header, which
		 * vnet_tx_offload() may then fill in (VNET_DEV_F_OFFLOAD). */
		memset(vq_buf(vq, id), 0, VN_NET_HDR_LEN);
		bufs[i].data = vq_buf(vq, id) + VN_NET_HDR_LEN;
		bufs[i].len = cap;
		bufs[i].flags = 0;
		bufs[i].id = id;
	}
	tick(q, (int)got);
	return (int)got;
}

int NET_FN(tx_submit)(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n)
{
	struct vn_netq *q = vn_netq(pub);
	struct vq *vq = &q->tx;
	uint8_t stop = vq_stopped(vq);
	int rc;

	if (VN_UNLIKELY(stop) && (stop = settle(q, stop)) != 0 && !in_reset(stop) &&
	    !vn_bufs_unsent(bufs, n))
		return stopped(stop);
	/* Offloads: each frame's limit depends on its header (GSO or not). */
	if (VN_UNLIKELY(q->offload)) {
		rc = vn_net_tx_check(q, bufs, n);
		if (!rc)
			rc = claim(vq, bufs, n, VN_MAX(q->gso_cap, q->tx_cap));
	} else {
		rc = claim(vq, bufs, n, frame_max(q));
	}
	if (VN_UNLIKELY(rc)) {
		if (rc == -EMSGSIZE)
			VN_STAT_ADD(q->st.tx_errors, 1);
		return rc;
	}
	if (VN_UNLIKELY(stop)) {
		/* Down or broken: only buffers handed back unsent (len 0) get
		 * here. A reset under way: frames reserved before it and sent
		 * while it runs have no ring to go to, and are counted lost. */
		for (unsigned i = 0; i < n; i++) {
			vq_give(vq, bufs[i].id);
			if (bufs[i].len) {
				VN_STAT_ADD(q->st.tx_packets, 1);
				VN_STAT_ADD(q->st.tx_bytes, bufs[i].len);
				VN_STAT_ADD(q->reset_tx_lost, 1);
			}
		}
		return (int)n;
	}
	for (unsigned i = 0; i < n; i++) {
		uint16_t id = bufs[i].id;
		uint32_t len = bufs[i].len;

		if (!len) {
			vq_give(vq, id);
			continue;
		}
		/* The header is as reserve zeroed it, or as vnet_tx_offload()
		 * wrote it. */
		RING(enqueue)(vq, id, VN_NET_HDR_LEN + len);
		VN_STAT_ADD(q->st.tx_packets, 1);
		VN_STAT_ADD(q->st.tx_bytes, len);
	}
	RING(publish)(vq);
	return (int)n;
}

/*
 * Drop a malformed or too long frame: its buffers go on the RX free stack
 * (otherwise unused: RX buffers live with the device or the application),
 * to be reposted once the burst's used entries are all read, so that none
 * of them can pass for a valid used id in the meantime.
 */
static void rx_drop(struct vn_netq *q, const struct vnet_buf *bufs, unsigned nb)
{
	for (unsigned k = 0; k < nb; k++)
		vq_give(&q->rx, bufs[k].id);
	VN_STAT_ADD(q->st.rx_dropped, 1);
	VN_STAT_ADD(q->st.rx_errors, 1);
}

/*
 * How many buffers the frame starting at the next used entry spans
 * (virtio 1.2 §5.1.6.4: num_buffers of its header with MRG_RXBUF, else 1),
 * or 0 when the device is broken.
 */
static unsigned frame_buffers(struct vn_netq *q)
{
	struct vq *vq = &q->rx;
	const struct virtio_net_hdr_v1 *h;
	uint32_t len;
	uint16_t nb;
	int id = RING(used_peek)(vq, &len);

	if (id < 0)
		return 0;
	/* Too short to hold a header: one buffer, dropped by the caller. */
	if (!q->mrg || len < VN_NET_HDR_LEN)
		return 1;
	h = (const struct virtio_net_hdr_v1 *)(const void *)vq_buf(vq, (uint16_t)id);
	/* Read once: the device could rewrite it. */
	nb = __atomic_load_n(&h->num_buffers, __ATOMIC_RELAXED);
	if (nb == 0 || nb > vq->in_flight) {
		vq_mark_broken(vq, "queue %u: num_buffers %u with %u buffers posted", vq->index, nb,
			       vq->in_flight);
		return 0;
	}
	return nb;
}

/*
 * Administratively down (VN_STOP_DOWN): every whole frame waiting is taken,
 * counted in rx_dropped and its buffers posted again; nothing is returned.
 */
static int rx_discard(struct vn_netq *q)
{
	struct vq *vq = &q->rx;
	int p = RING(used_pending)(vq);
	unsigned pending;
	bool took = false;
	uint32_t len;

	if (p < 0)
		return -ENETDOWN;
	pending = (unsigned)p;
	while (pending) {
		unsigned nb = frame_buffers(q);

		if (nb == 0)
			return -ENETDOWN;
		if (nb > pending)
			break; /* the rest of the frame is not there yet */
		for (unsigned k = 0; k < nb; k++) {
			int id = RING(used_get)(vq, &len);

			if (id < 0)
				return -ENETDOWN;
			vq_give(vq, (uint16_t)id);
		}
		pending -= nb;
		took = true;
		VN_STAT_ADD(q->st.rx_dropped, 1);
	}
	if (took) {
		RING(used_done)(vq);
		RING(enqueue_free)(vq);
		RING(publish)(vq);
	}
	return 0;
}

int NET_FN(rx_peek)(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n)
{
	struct vn_netq *q = vn_netq(pub);
	struct vq *vq = &q->rx;
	uint8_t stop = vq_stopped(vq);
	unsigned out = 0, pending;
	bool took = false, dropped = false;
	uint32_t lim;
	int p;

	if (VN_UNLIKELY(stop) && (stop = settle(q, stop)) != 0) {
		if (in_reset(stop))
			return 0;
		return stop & VN_STOP_BROKEN ? down() : rx_discard(q);
	}
	if (VN_UNLIKELY(n == 0))
		return 0;
	p = RING(used_pending)(vq);
	if (VN_UNLIKELY(p < 0))
		return -ENETDOWN;
	pending = (unsigned)p;
	lim = frame_max(q);
	while (pending) {
		unsigned nb = frame_buffers(q);
		uint32_t total = 0;
		bool bad = false;

		if (VN_UNLIKELY(nb == 0))
			goto broken;
		if (nb > pending)
			break; /* the rest of the frame is not there yet */
		if (out + nb > n) {
			if (out == 0 && !took)
				return vn_err(-ENOBUFS, "the next frame spans %u buffers, room for %u",
					      nb, n);
			break;
		}
		for (unsigned k = 0; k < nb; k++) {
			struct vnet_buf *b = &bufs[out + k];
			uint32_t len;
			int id = RING(used_get)(vq, &len);

			if (VN_UNLIKELY(id < 0)) {
				if (k)
					rx_drop(q, &bufs[out], k); /* the part taken */
				goto broken;
			}
			b->data = vq_buf(vq, (uint16_t)id);
			b->id = (uint16_t)id;
			b->flags = k + 1 < nb ? VNET_BUF_MORE : 0;
			b->len = len;
			if (k == 0) {
				/* The header leads the first buffer only. */
				bad = len < VN_NET_HDR_LEN;
				b->data = (char *)b->data + VN_NET_HDR_LEN;
				b->len = bad ? 0 : len - VN_NET_HDR_LEN;
			}
			total += b->len;
		}
		pending -= nb;
		took = true;
		/* A header cut short, a frame with no bytes, or one longer than
		 * the MTU allows (with offloads: than its header allows, or an
		 * impossible header): drop and count. */
		if (VN_UNLIKELY(q->offload))
			bad = bad || !vn_net_rx_hdr(q, &bufs[out], nb, total);
		else
			bad = bad || total > lim;
		if (VN_UNLIKELY(bad || total == 0)) {
			rx_drop(q, &bufs[out], nb);
			dropped = true;
			continue;
		}
		out += nb;
		VN_STAT_ADD(q->st.rx_packets, 1);
		VN_STAT_ADD(q->st.rx_bytes, total);
	}
	if (took)
		RING(used_done)(vq);
	if (VN_UNLIKELY(dropped)) {
		RING(enqueue_free)(vq);
		RING(publish)(vq);
	}
	tick(q, (int)out);
	return (int)out;
broken:
	/* The device broke in this burst (the ring's check said why): the whole
	 * frames already taken and counted are still the application's; the
	 * next call reports the device down. */
	return out ? (int)out : -ENETDOWN;
}

int NET_FN(rx_release)(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n)
{
	struct vn_netq *q = vn_netq(pub);
	struct vq *vq = &q->rx;
	uint8_t stop = settle(q, vq_stopped(vq));
	int rc;

	if (VN_UNLIKELY(stop & VN_STOP_BROKEN))
		return down();
	rc = claim(vq, bufs, n, UINT32_MAX);
	if (VN_UNLIKELY(rc))
		return rc;
	/* Bulk refill: every buffer back in the ring, one publish, one kick
	 * (none while a reset runs: the reset tells the device). */
	for (unsigned i = 0; i < n; i++)
		RING(enqueue)(vq, bufs[i].id, vq->buf_len);
	if (VN_UNLIKELY(stop & VN_STOP_RESET))
		RING(publish_quiet)(vq);
	else
		RING(publish)(vq);
	return 0;
}
