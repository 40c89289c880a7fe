/* SPDX-License-Identifier: MIT */
/*
 * virtio-net on top of the device-side rings (virtio 1.2 §5.1): frames in
 * and out of the TX/RX queues with the 12-byte virtio_net_hdr_v1, mergeable
 * RX buffers, the RX filter, the control queue, and fault injection on the
 * used ring.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>

#include "log.h"
#include "sim/sim_dev.h"

#define SIM_ETH_HLEN 14
#define CTRL_MAX 1024 /* largest command accepted: a full MAC table is 2 + 8 + 768 */

static unsigned rxq(unsigned pair) { return 2 * pair; }
static unsigned txq(unsigned pair) { return 2 * pair + 1; }

void sim_net_reset(struct sim_dev *d)
{
	/* §5.1.6.5.1: without CTRL_RX the device must be promiscuous (QEMU
	 * starts that way for every driver); the driver turns it off. */
	d->promisc = true;
	d->allmulti = false;
	d->n_uc = d->n_mc = 0;
	memset(d->vlan, 0, sizeof(d->vlan));
	memcpy(d->mac, d->p.mac, 6);
	d->mac[5] = (uint8_t)(d->mac[5] + d->end); /* the two ends of a pair differ */
	/* §5.1.6.5.5: only the first queue pair is used until VQ_PAIRS_SET. */
	d->active_pairs = 1;
	/* No steering by hash and no coalescing until the driver asks. */
	memset(&d->rss, 0, sizeof(d->rss));
	memset(d->coal, 0, sizeof(d->coal));
	memset(d->held, 0, sizeof(d->held));
	/* source mode: each driver's frames are numbered from 0, so a receiver
	 * after a reset (vnet-simd's next client) sees no gap it would count as
	 * lost. */
	memset(d->source_seq, 0, sizeof(d->source_seq));
}

bool sim_fault_due(struct sim_dev *d, enum sim_fault f)
{
	if (d->p.fault != f || d->frames < d->p.fault_after)
		return false;
	if ((f == SIM_FAULT_DROP_IRQ || f == SIM_FAULT_CTRL_STALL) && d->fault_fired)
		return true; /* persistent once started */
	if (d->fault_fired)
		return false;
	d->fault_fired = true;
	SIM_INC(d->st.faults);
	vn_info("sim: fault fired after %llu frames", (unsigned long long)d->frames);
	return true;
}

/* Complete a chain of queue q; cap is the chain's writable size (RX). */
static void complete(struct sim_dev *d, unsigned q, uint16_t head, uint32_t len, uint64_t cap)
{
	struct sim_vq *vq = &d->vq[q];
	uint32_t id = head;

	if (sim_fault_due(d, SIM_FAULT_BAD_USED_ID))
		id = vq->size + head; /* out of range on purpose */
	if (q % 2 == 0 && q != 2 * d->p.queues && sim_fault_due(d, SIM_FAULT_BAD_USED_LEN))
		len = (uint32_t)VN_MIN(cap + 1, UINT32_MAX); /* longer than the buffer */
	sim_vq_push(vq, id, len);
	if (q % 2 == 1 && sim_fault_due(d, SIM_FAULT_DUP_USED_ID))
		sim_vq_push(vq, id, len); /* the same id twice */
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The coalescing of data queue q (RX even, TX odd), NULL for the control
 * queue and while off: usecs 0 or max_packets 0 or 1 notify at once. */
static const struct sim_coal *coal_of(const struct sim_dev *d, unsigned q)
{
	const struct sim_coal *c = &d->coal[q % 2];

	if (q >= 2 * d->p.queues || !c->usecs || c->max_packets <= 1)
		return NULL;
	return c;
}

/*
 * virtio 1.3 §5.1.6.5.10: a notification the driver asked for waits until
 * max_packets used buffers were published since it became due, or usecs
 * passed; the used ring itself is published at once (nothing but the
 * interrupt is delayed).
 */
static bool notify_now(struct sim_dev *d, unsigned q, bool due, uint16_t published)
{
	const struct sim_coal *c = coal_of(d, q);
	struct sim_held *h = &d->held[q];

	if (!c) {
		due |= h->due;
		h->due = false;
		return due;
	}
	if (!h->due) {
		if (!due)
			return false;
		*h = (struct sim_held){ .due = true, .since_ns = mono_ns() };
	}
	h->frames += published;
	if (h->frames < c->max_packets &&
	    mono_ns() - h->since_ns < (uint64_t)c->usecs * 1000u)
		return false;
	h->due = false;
	return true;
}

void sim_net_flush(struct sim_dev *d)
{
	unsigned q;

	for (q = 0; q < d->n_vqs; q++) {
		struct sim_vq *vq = &d->vq[q];
		uint16_t before = vq->published;
		bool due;

		if (!vq->used && !vq->remote)
			continue;
		due = sim_vq_publish(vq);
		if (notify_now(d, q, due, (uint16_t)(vq->published - before)))
			sim_dev_irq_vq(d, q);
	}
}

int64_t sim_net_hold_ns(const struct sim_dev *d)
{
	int64_t next = -1;
	uint64_t now = 0;
	unsigned q;

	for (q = 0; q < d->n_vqs; q++) {
		const struct sim_coal *c = coal_of(d, q);
		uint64_t end;

		if (!c || !d->held[q].due)
			continue;
		if (!now)
			now = mono_ns();
		end = d->held[q].since_ns + (uint64_t)c->usecs * 1000u;
		if (end <= now)
			return 0;
		if (next < 0 || (int64_t)(end - now) < next)
			next = (int64_t)(end - now);
	}
	return next;
}

/* ---- TX ---------------------------------------------------------------- */

int sim_net_tx_pop(struct sim_dev *d, unsigned pair, uint16_t *head, uint32_t *len)
{
	unsigned q = txq(pair), i;
	struct sim_vq *vq = &d->vq[q];
	bool tso = d->driver_features &
		   (1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6);
	struct sim_chain c;
	uint8_t *p;
	int r;

	for (;;) {
		if (!sim_dev_running(d) || !sim_dev_vq(d, q))
			return 0;
		r = sim_vq_pop(vq, d->srv, d->seg, SIM_VQ_MAX_SIZE, &c);
		if (r <= 0) {
			if (r < 0)
				sim_dev_fail(d, r);
			return r;
		}
		if (c.n_in) {
			r = vn_err(-EPROTO, "TX chain %u has a device-writable descriptor", c.head);
			sim_dev_fail(d, r);
			return r;
		}
		/* §5.1.6.2: header then the frame; frames are at least an
		 * Ethernet header and at most MTU + Ethernet header + VLAN tag,
		 * or a GSO frame (checked with its header below). */
		if (c.out_len < SIM_HDR_LEN + SIM_ETH_HLEN ||
		    c.out_len > SIM_HDR_LEN + (tso ? SIM_GSO_MAX : d->p.mtu + 18)) {
			SIM_INC(d->st.qp[pair].tx_bad);
			complete(d, q, c.head, 0, 0);
			d->bad_work++;
			continue;
		}
		p = d->buf;
		for (i = 0; i < c.n_out; i++) {
			memcpy(p, c.seg[i].p, c.seg[i].len);
			p += c.seg[i].len;
		}
		/* The driver's header: what it asks for, honoured or refused. */
		if (sim_offload_tx(d, (uint32_t)c.out_len - SIM_HDR_LEN) ||
		    (d->txo.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
		     c.out_len > SIM_HDR_LEN + d->p.mtu + 18)) {
			SIM_INC(d->st.qp[pair].tx_bad);
			complete(d, q, c.head, 0, 0);
			d->bad_work++;
			continue;
		}
		*head = c.head;
		*len = (uint32_t)c.out_len - SIM_HDR_LEN;
		return 1;
	}
}

void sim_net_tx_done(struct sim_dev *d, unsigned pair, uint16_t head, uint32_t len)
{
	SIM_INC(d->st.qp[pair].tx_frames);
	SIM_ADD(d->st.qp[pair].tx_bytes, len);
	d->frames++;
	d->gso_done[pair] = 0; /* the next frame's segments start at 0 */
	/* §2.7.8: used len counts bytes written into the buffer: none for TX. */
	complete(d, txq(pair), head, 0, 0);
}

/* ---- RX ---------------------------------------------------------------- */

static bool mac_in(const uint8_t (*tab)[6], unsigned n, const uint8_t *mac)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!memcmp(tab[i], mac, 6))
			return true;
	return false;
}

/* The RX filter of §5.1.6.5.1-5.1.6.5.3 (the semantics of QEMU's). */
static bool rx_accept(const struct sim_dev *d, const uint8_t *f, uint32_t len)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (d->promisc)
		return true;
	if (sim_dev_has(d, VIRTIO_NET_F_CTRL_VLAN) && len >= 18 && f[12] == 0x81 && f[13] == 0) {
		unsigned vid = ((f[14] << 8) | f[15]) & 0xfff;

		if (!(d->vlan[vid / 8] & (1u << (vid % 8))))
			return false;
	}
	if (!memcmp(f, bcast, 6))
		return true;
	if (f[0] & 1)
		return d->allmulti || mac_in((const uint8_t (*)[6])d->mc, d->n_mc, f);
	return !memcmp(f, d->mac, 6) || mac_in((const uint8_t (*)[6])d->uc, d->n_uc, f);
}

/* One RX chain taken for the frame being delivered. */
struct rx_chain {
	uint16_t head;
	unsigned seg0, nseg;
	uint64_t cap;
};

/* Copy header then frame across the chains; complete each with what it got. */
static void scatter(struct sim_dev *d, unsigned q, const struct rx_chain *rc, unsigned n,
		    const struct virtio_net_hdr_v1 *h, const uint8_t *frame, uint32_t len)
{
	const uint8_t *src[2] = { (const uint8_t *)h, frame };
	uint32_t left[2] = { SIM_HDR_LEN, len };
	unsigned piece = 0, b, s;

	for (b = 0; b < n; b++) {
		uint32_t put = 0;

		for (s = rc[b].seg0; s < rc[b].seg0 + rc[b].nseg && piece < 2; s++) {
			uint32_t off = 0;

			while (off < d->seg[s].len && piece < 2) {
				uint32_t k = VN_MIN(d->seg[s].len - off, left[piece]);

				memcpy(d->seg[s].p + off, src[piece], k);
				src[piece] += k;
				left[piece] -= k;
				off += k;
				put += k;
				if (!left[piece])
					piece++;
			}
		}
		complete(d, q, rc[b].head, put, rc[b].cap);
	}
}

/* A header the driver must refuse, for the bad_rx_* faults (§5.1.6.4.1). */
static void bad_header(struct sim_dev *d, struct virtio_net_hdr_v1 *h, uint32_t len)
{
	if (sim_fault_due(d, SIM_FAULT_BAD_RX_CSUM)) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = htole16((uint16_t)VN_MIN(len, 0xffffu));
		h->csum_offset = htole16(16);
	}
	if (sim_fault_due(d, SIM_FAULT_BAD_RX_GSO)) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = 0;
		h->hdr_len = htole16(54);
		h->csum_start = htole16(34);
		h->csum_offset = htole16(16);
	}
}

int sim_net_rx_hdr(struct sim_dev *d, unsigned pair, const uint8_t *frame, uint32_t len,
		   const struct virtio_net_hdr_v1 *off)
{
	struct rx_chain rc[SIM_VQ_MAX_SIZE];
	unsigned q = rxq(pair), n = 0, nseg = 0;
	struct sim_vq *vq = &d->vq[q];
	uint64_t need = SIM_HDR_LEN + (uint64_t)len, cap = 0;
	bool mrg = sim_dev_has(d, VIRTIO_NET_F_MRG_RXBUF);
	struct virtio_net_hdr_v1 h;
	struct sim_chain c;
	int r;

	/* §5.1.6.4.3: with RSS configured, the hash picks the queue (frames
	 * the device makes itself, sim:source, keep theirs). */
	if (d->rss.on && d->p.mode != SIM_SOURCE) {
		pair = sim_rss_queue(d, frame, len);
		q = rxq(pair);
		vq = &d->vq[q];
	}
	if (!sim_dev_running(d) || pair >= d->p.queues || !sim_dev_vq(d, q)) {
		SIM_INC(d->st.qp[VN_MIN(pair, d->p.queues - 1)].rx_dropped_no_buffer);
		return 0;
	}
	if (!rx_accept(d, frame, len)) {
		SIM_INC(d->st.qp[pair].rx_filtered);
		return 0;
	}
	/* §5.1.6.3.1: without MRG_RXBUF a frame goes into one chain; with it,
	 * into as many as it takes, their count in num_buffers. */
	while (cap < need && (mrg || n == 0)) {
		r = sim_vq_pop(vq, d->srv, d->seg + nseg, SIM_VQ_MAX_SIZE - nseg, &c);
		if (r == 0 || r == -ENOSPC) {
			sim_vq_unpop(vq, (uint16_t)n);
			return -EAGAIN;
		}
		if (r < 0) {
			sim_dev_fail(d, r);
			return r;
		}
		if (c.n_out) {
			r = vn_err(-EPROTO, "RX chain %u has a device-readable descriptor", c.head);
			sim_dev_fail(d, r);
			return r;
		}
		rc[n++] = (struct rx_chain){ .head = c.head, .seg0 = nseg, .nseg = c.n_in,
					     .cap = c.in_len };
		nseg += c.n_in;
		cap += c.in_len;
	}
	if (cap < need) {
		/* No MRG_RXBUF and the buffer is too small for this frame. */
		sim_vq_unpop(vq, (uint16_t)n);
		SIM_INC(d->st.qp[pair].rx_dropped_no_buffer);
		return 0;
	}
	if (off)
		h = *off;
	else
		memset(&h, 0, sizeof(h));
	if (VN_UNLIKELY(d->p.fault == SIM_FAULT_BAD_RX_CSUM || d->p.fault == SIM_FAULT_BAD_RX_GSO))
		bad_header(d, &h, len);
	h.num_buffers = htole16((uint16_t)n); /* 1 without MRG_RXBUF (§5.1.6.4) */
	scatter(d, q, rc, n, &h, frame, len);
	SIM_INC(d->st.qp[pair].rx_frames);
	SIM_ADD(d->st.qp[pair].rx_bytes, len);
	d->frames++;
	return 1;
}

/* ---- control virtqueue (§5.1.6.5) --------------------------------------- */

static int mac_table(struct sim_dev *d, const uint8_t *p, uint32_t len)
{
	uint8_t (*tab[2])[6] = { d->uc, d->mc };
	unsigned *cnt[2] = { &d->n_uc, &d->n_mc };
	uint32_t n[2], at = 0;
	int i;

	for (i = 0; i < 2; i++) {
		if (len - at < 4)
			return -1;
		memcpy(&n[i], p + at, 4);
		n[i] = le32toh(n[i]);
		if (n[i] > SIM_MAC_TABLE || (uint64_t)n[i] * 6 > len - at - 4)
			return -1;
		at += 4 + n[i] * 6;
	}
	if (at != len)
		return -1;
	for (i = 0, at = 0; i < 2; i++) {
		memcpy(tab[i], p + at + 4, n[i] * 6);
		*cnt[i] = n[i];
		at += 4 + n[i] * 6;
	}
	return 0;
}

/* Execute one command; 0 (VIRTIO_NET_OK) or -1 (VIRTIO_NET_ERR). */
static int ctrl_exec(struct sim_dev *d, uint8_t cls, uint8_t cmd, const uint8_t *p, uint32_t len)
{
	uint16_t v16;

	switch (cls) {
	case VIRTIO_NET_CTRL_RX:
		if (!sim_dev_has(d, VIRTIO_NET_F_CTRL_RX) || len != 1)
			return -1;
		if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
			d->promisc = p[0];
		else if (cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)
			d->allmulti = p[0];
		else
			return -1; /* the others need CTRL_RX_EXTRA, not offered */
		return 0;
	case VIRTIO_NET_CTRL_MAC:
		if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET && sim_dev_has(d, VIRTIO_NET_F_CTRL_RX))
			return mac_table(d, p, len);
		if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET && len == 6 &&
		    sim_dev_has(d, VIRTIO_NET_F_CTRL_MAC_ADDR)) {
			memcpy(d->mac, p, 6);
			/* The mac field of the device configuration follows;
			 * the driver asked for it, so no notification. */
			sim_dev_config_changed(d, false);
			return 0;
		}
		return -1;
	case VIRTIO_NET_CTRL_VLAN:
		if (!sim_dev_has(d, VIRTIO_NET_F_CTRL_VLAN) || len != 2)
			return -1;
		memcpy(&v16, p, 2);
		v16 = le16toh(v16);
		if (v16 >= 4096)
			return -1;
		if (cmd == VIRTIO_NET_CTRL_VLAN_ADD)
			d->vlan[v16 / 8] |= (uint8_t)(1u << (v16 % 8));
		else if (cmd == VIRTIO_NET_CTRL_VLAN_DEL)
			d->vlan[v16 / 8] &= (uint8_t)~(1u << (v16 % 8));
		else
			return -1;
		return 0;
	case VIRTIO_NET_CTRL_MQ:
		if (cmd == VIRTIO_NET_CTRL_MQ_RSS_CONFIG && sim_dev_has(d, VIRTIO_NET_F_RSS))
			return sim_rss_config(d, p, len);
		if (!sim_dev_has(d, VIRTIO_NET_F_MQ) || cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
		    len != 2)
			return -1;
		memcpy(&v16, p, 2);
		v16 = le16toh(v16);
		if (v16 < 1 || v16 > d->p.queues)
			return -1;
		d->active_pairs = v16;
		d->rss.on = false; /* steering by VQ_PAIRS_SET again, as QEMU does */
		return 0;
	case VIRTIO_NET_CTRL_NOTF_COAL:
		/* virtio 1.3 §5.1.6.5.10: le32 max_packets, le32 usecs. */
		if (!sim_dev_has(d, VIRTIO_NET_F_NOTF_COAL) || len != 8 ||
		    (cmd != VIRTIO_NET_CTRL_NOTF_COAL_RX_SET && cmd != VIRTIO_NET_CTRL_NOTF_COAL_TX_SET))
			return -1;
		d->coal[cmd == VIRTIO_NET_CTRL_NOTF_COAL_TX_SET] =
			(struct sim_coal){ .max_packets = sim_get32(p), .usecs = sim_get32(p + 4) };
		return 0;
	}
	return -1;
}

unsigned sim_net_ctrl(struct sim_dev *d)
{
	unsigned q = 2 * d->p.queues, n = 0, i;
	uint8_t cmd[CTRL_MAX];
	struct sim_chain c;
	uint32_t at;
	int r, ack;

	if (!sim_dev_running(d) || !sim_dev_has(d, VIRTIO_NET_F_CTRL_VQ) || !sim_dev_vq(d, q) ||
	    sim_fault_due(d, SIM_FAULT_CTRL_STALL))
		return 0;
	while ((r = sim_vq_pop(&d->vq[q], d->srv, d->seg, SIM_VQ_MAX_SIZE, &c)) > 0) {
		/* §5.1.6.5: class and command readable, the ack byte writable. */
		if (c.out_len < 2 || !c.n_in) {
			r = vn_err(-EPROTO, "control command %u without header or ack", c.head);
			break;
		}
		ack = -1;
		if (c.out_len <= sizeof(cmd)) {
			for (i = 0, at = 0; i < c.n_out; at += c.seg[i].len, i++)
				memcpy(cmd + at, c.seg[i].p, c.seg[i].len);
			ack = ctrl_exec(d, cmd[0], cmd[1], cmd + 2, at - 2);
		}
		c.seg[c.n_out].p[0] = ack ? VIRTIO_NET_ERR : VIRTIO_NET_OK;
		if (ack)
			SIM_INC(d->st.ctrl_err);
		else
			SIM_INC(d->st.ctrl_ok);
		complete(d, q, c.head, 1, c.in_len);
		n++;
	}
	if (r < 0)
		sim_dev_fail(d, r);
	return n;
}
