/* SPDX-License-Identifier: MIT */
/*
 * The device side of the virtio-net offloads (virtio 1.2 §5.1.6.2, §5.1.6.4):
 * check the header each TX frame carries, compute the checksum it asks for,
 * and for a GSO frame either pass it whole to a receiver that negotiated
 * the matching GUEST_TSO, or cut it into MSS-sized TCP segments with their
 * IPv4/IPv6 and TCP headers rewritten, as a NIC does. Written apart from
 * the driver (libvnet/virtio/virtio_net_offload.c) on purpose: the two
 * check each other.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "sim/sim_dev.h"

#define SIM_ET_IPV4 0x0800
#define SIM_ET_IPV6 0x86dd
#define SIM_ET_VLAN 0x8100
#define IPPROTO_TCP_ 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

uint32_t sim_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		sum += get16(p + i);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (len & 1) {
		sum += (uint32_t)p[len - 1] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum;
}

uint16_t sim_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Find the IP and TCP headers of a GSO frame of the given type: IPv4
 * (with options) or IPv6 without extension headers, after an Ethernet
 * header with at most one VLAN tag. 0, or -EINVAL.
 */
static int parse_tcp(const uint8_t *f, uint32_t len, uint8_t type, struct sim_txo *t)
{
	uint16_t et = get16(f + 12);
	uint32_t l3 = 14, l4, hl; /* after the Ethernet header */

	if (et == SIM_ET_VLAN) {
		if (len < 18)
			return -EINVAL;
		et = get16(f + 16);
		l3 = 18;
	}
	if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (et != SIM_ET_IPV4 || len < l3 + 20 || (f[l3] >> 4) != 4 || f[l3 + 9] != IPPROTO_TCP_)
			return -EINVAL;
		l4 = l3 + (f[l3] & 0xfu) * 4u;
		if (l4 < l3 + 20)
			return -EINVAL;
	} else {
		if (et != SIM_ET_IPV6 || len < l3 + 40 || (f[l3] >> 4) != 6 || f[l3 + 6] != IPPROTO_TCP_)
			return -EINVAL;
		l4 = l3 + 40;
	}
	if (len < l4 + 20)
		return -EINVAL;
	hl = l4 + (f[l4 + 12] >> 4) * 4u;
	if (hl < l4 + 20 || hl > len)
		return -EINVAL;
	t->l3 = (uint16_t)l3;
	t->l4 = (uint16_t)l4;
	t->hl = (uint16_t)hl;
	return 0;
}

int sim_offload_tx(struct sim_dev *d, uint32_t len)
{
	struct virtio_net_hdr_v1 h;
	uint8_t *f = d->buf + SIM_HDR_LEN;
	struct sim_txo *t = &d->txo;
	uint16_t start, off, mss;
	uint32_t sum;

	/* §5.1.6.2: the driver wrote the header before the frame (le fields). */
	memcpy(&h, d->buf, sizeof(h));
	t->gso_type = VIRTIO_NET_HDR_GSO_NONE;
	t->csum_done = false;
	/* No offload asked for (flags 0, GSO_NONE): always acceptable. */
	if (!h.flags && h.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	start = le16toh(h.csum_start);
	off = le16toh(h.csum_offset);
	mss = le16toh(h.gso_size);
	/* §5.1.6.2.1: only NEEDS_CSUM, and only with CSUM; never DATA_VALID. */
	if (h.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return -EINVAL;
	if (h.flags && !sim_dev_has(d, VIRTIO_NET_F_CSUM))
		return -EINVAL;
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && (uint32_t)start + off + 2u > len)
		return -EINVAL;
	switch (h.gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!sim_dev_has(d, h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 ? VIRTIO_NET_F_HOST_TSO4
									      : VIRTIO_NET_F_HOST_TSO6))
			return -EINVAL;
		/* §5.1.6.2.1: GSO needs NEEDS_CSUM and the MSS; the checksum
		 * asked for must be the TCP one. */
		if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || mss == 0 ||
		    parse_tcp(f, len, h.gso_type, t) || start != t->l4 || off != 16 ||
		    t->hl + mss > SIM_FRAME_MAX || t->hl == len)
			return -EINVAL;
		t->gso_type = h.gso_type;
		t->mss = mss;
		return 0;
	default: /* ECN, UDP, UFO: not offered */
		return -EINVAL;
	}
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* The field holds the pseudo-header's sum (§5.1.6.2.1); sum from
		 * csum_start to the end and store the result there. */
		sum = sim_csum_add(0, f + start, len - start);
		put16(f + start + off, sim_csum_fold(sum));
		t->csum_done = true;
	}
	return 0;
}

/* TCP checksum of the segment s (len bytes) as t describes it. */
static void tcp_csum(uint8_t *s, uint32_t len, const struct sim_txo *t)
{
	uint32_t tcp_len = len - t->l4, sum;
	uint8_t pseudo[8];

	put16(s + t->l4 + 16, 0);
	if (t->gso_type == VIRTIO_NET_HDR_GSO_TCPV4) {
		sum = sim_csum_add(0, s + t->l3 + 12, 8); /* source and destination */
		put16(pseudo, IPPROTO_TCP_);
		put16(pseudo + 2, (uint16_t)tcp_len);
		sum = sim_csum_add(sum, pseudo, 4);
	} else {
		sum = sim_csum_add(0, s + t->l3 + 8, 32);
		put32(pseudo, tcp_len);
		put32(pseudo + 4, IPPROTO_TCP_);
		sum = sim_csum_add(sum, pseudo, 8);
	}
	sum = sim_csum_add(sum, s + t->l4, tcp_len);
	put16(s + t->l4 + 16, sim_csum_fold(sum));
}

/* Segment i (of n) of frame f: headers rewritten, checksums recomputed. */
static uint32_t segment(struct sim_dev *d, const uint8_t *f, uint32_t len, unsigned i, unsigned n)
{
	const struct sim_txo *t = &d->txo;
	uint8_t *s = d->segbuf, *ip = s + t->l3, *tcp = s + t->l4;
	uint32_t at = t->hl + i * (uint32_t)t->mss;
	uint32_t plen = VN_MIN((uint32_t)t->mss, len - at), slen = t->hl + plen;
	uint8_t clear = 0;

	memcpy(s, f, t->hl);
	memcpy(s + t->hl, f + at, plen);
	if (t->gso_type == VIRTIO_NET_HDR_GSO_TCPV4) {
		/* Total length, an id per segment, the header checksum. */
		put16(ip + 2, (uint16_t)(slen - t->l3));
		put16(ip + 4, (uint16_t)(get16(f + t->l3 + 4) + i));
		put16(ip + 10, 0);
		put16(ip + 10, sim_csum_fold(sim_csum_add(0, ip, t->l4 - t->l3)));
	} else {
		put16(ip + 4, (uint16_t)(slen - t->l4)); /* payload length */
	}
	put32(tcp + 4, get32(f + t->l4 + 4) + i * (uint32_t)t->mss);
	/* FIN and PSH end the stream of segments: the last only; CWR, once
	 * sent, is not repeated (as Linux's GSO does). */
	if (i + 1 < n)
		clear |= TCP_FIN | TCP_PSH;
	if (i > 0)
		clear |= TCP_CWR;
	tcp[13] &= (uint8_t)~clear;
	tcp_csum(s, slen, t);
	return slen;
}

int sim_offload_deliver(struct sim_dev *d, unsigned pair, struct sim_dev *to, unsigned to_pair,
			uint32_t len)
{
	const uint8_t *f = d->buf + SIM_HDR_LEN;
	const struct sim_txo *t = &d->txo;
	struct virtio_net_hdr_v1 h;
	bool valid = sim_dev_has(to, VIRTIO_NET_F_GUEST_CSUM);
	unsigned n, i;
	int r;

	memset(&h, 0, sizeof(h));
	if (t->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		/* §5.1.6.4: DATA_VALID for the checksum this device computed. */
		if (t->csum_done && valid)
			h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
		return sim_net_rx_hdr(to, to_pair, f, len, &h);
	}
	if (sim_dev_has(to, t->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 ? VIRTIO_NET_F_GUEST_TSO4
								   : VIRTIO_NET_F_GUEST_TSO6)) {
		/* §5.1.6.4: a GSO frame, its checksum partial (NEEDS_CSUM). */
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.gso_type = t->gso_type;
		h.gso_size = htole16(t->mss);
		h.hdr_len = htole16(t->hl);
		h.csum_start = htole16(t->l4);
		h.csum_offset = htole16(16);
		return sim_net_rx_hdr(to, to_pair, f, len, &h);
	}
	if (valid)
		h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	n = (len - t->hl + t->mss - 1) / t->mss;
	for (i = d->gso_done[pair]; i < n; i++) {
		uint32_t slen = segment(d, f, len, i, n);

		r = sim_net_rx_hdr(to, to_pair, d->segbuf, slen, &h);
		if (r == -EAGAIN && to->p.rx_drop) {
			SIM_INC(to->st.qp[to_pair].rx_dropped_no_buffer);
			continue;
		}
		if (r == -EAGAIN)
			d->gso_done[pair] = i; /* resume here when RX has room */
		if (r < 0)
			return r;
	}
	d->gso_done[pair] = 0;
	return 1;
}
