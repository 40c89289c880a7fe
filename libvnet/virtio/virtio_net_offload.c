/* SPDX-License-Identifier: MIT */
/*
 * virtio-net checksum and segmentation offloads (VNET_DEV_F_OFFLOAD): what
 * is negotiated, the TX header the application's metadata becomes (virtio
 * 1.2 §5.1.6.2) and the check of every RX header the device writes
 * (§5.1.6.4). Ring-independent: the burst bodies (virtio_net_rxtx_body.h)
 * call in here only when offloads were asked for, so the plain data path
 * pays one predictable branch.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "log.h"
#include "virtio/virtio_net.h"

#define BIT(b) (1ULL << (b))
#define TSO_HOST (BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6))
#define TSO_GUEST (BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6))

static void left_out(uint64_t offered, uint64_t bits, const char *why)
{
	if (offered & bits)
		vn_info("virtio-net: %s", why);
}

uint64_t vn_net_offload_accept(uint64_t offered, uint64_t accept, bool phys_addrs)
{
	/* A TSO frame takes one device-contiguous TX buffer of 64 KiB. With
	 * physical addresses (no-IOMMU mode) only huge pages give that, and
	 * whether they can be had is known only after negotiation. */
	if (phys_addrs) {
		left_out(offered, accept & TSO_HOST, "HOST_TSO4/6 not negotiated: a TSO frame "
			 "needs a 64 KiB device-contiguous TX buffer, which no-IOMMU mode cannot "
			 "promise");
		accept &= ~TSO_HOST;
	}
	/* virtio 1.2 §5.1.3.1: HOST_TSO4/6 need CSUM, GUEST_TSO4/6 need GUEST_CSUM. */
	if (!(accept & BIT(VIRTIO_NET_F_CSUM))) {
		left_out(offered, accept & TSO_HOST, "HOST_TSO4/6 not negotiated: they need "
			 "VIRTIO_NET_F_CSUM (virtio 1.2 §5.1.3.1)");
		accept &= ~TSO_HOST;
	}
	if (!(accept & BIT(VIRTIO_NET_F_GUEST_CSUM))) {
		left_out(offered, accept & TSO_GUEST, "GUEST_TSO4/6 not negotiated: they need "
			 "VIRTIO_NET_F_GUEST_CSUM (virtio 1.2 §5.1.3.1)");
		accept &= ~TSO_GUEST;
	}
	/* virtio 1.2 §5.1.6.3.1: with GUEST_TSO and without MRG_RXBUF every RX
	 * buffer must hold 65562 bytes; libvnet keeps its 2 KiB buffers. */
	if (!(accept & BIT(VIRTIO_NET_F_MRG_RXBUF))) {
		left_out(offered, accept & TSO_GUEST, "GUEST_TSO4/6 not negotiated: without "
			 "VIRTIO_NET_F_MRG_RXBUF every RX buffer would need 65562 bytes "
			 "(virtio 1.2 §5.1.6.3.1)");
		accept &= ~TSO_GUEST;
	}
	return accept;
}

unsigned vn_net_offloads(const struct vn_net *n)
{
	static const struct { unsigned bit, off; } map[] = {
		{ VIRTIO_NET_F_CSUM, VNET_OFFLOAD_TX_CSUM },
		{ VIRTIO_NET_F_GUEST_CSUM, VNET_OFFLOAD_RX_CSUM },
		{ VIRTIO_NET_F_HOST_TSO4, VNET_OFFLOAD_TX_TSO4 },
		{ VIRTIO_NET_F_HOST_TSO6, VNET_OFFLOAD_TX_TSO6 },
		{ VIRTIO_NET_F_GUEST_TSO4, VNET_OFFLOAD_RX_TSO4 },
		{ VIRTIO_NET_F_GUEST_TSO6, VNET_OFFLOAD_RX_TSO6 },
	};
	unsigned out = 0;

	if (!n->offload)
		return 0;
	for (size_t i = 0; i < VN_ARRAY_SIZE(map); i++)
		if (n->features & BIT(map[i].bit))
			out |= map[i].off;
	return out;
}

static bool has(const struct vn_netq *q, unsigned bit)
{
	return q->net->features & BIT(bit);
}

/* The feature a TX gso_type needs, or -1 for an unknown type. */
static int gso_feature(unsigned type)
{
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return VIRTIO_NET_F_HOST_TSO4;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return VIRTIO_NET_F_HOST_TSO6;
	case VNET_GSO_UDP_L4:
		return 56; /* VIRTIO_NET_F_HOST_USO, newer than some uAPI headers */
	}
	return -1;
}

static const char *gso_feature_name(int bit)
{
	return bit == VIRTIO_NET_F_HOST_TSO4 ? "VIRTIO_NET_F_HOST_TSO4" :
	       bit == VIRTIO_NET_F_HOST_TSO6 ? "VIRTIO_NET_F_HOST_TSO6" : "VIRTIO_NET_F_HOST_USO";
}

static int no_offload(const char *what)
{
	return vn_err(-EOPNOTSUPP, "%s: the device was opened without offloads "
		      "(VNET_DEV_F_OFFLOAD, or offload=on in the URI)", what);
}

int vn_net_tx_offload(struct vnet_queue *pub, const struct vnet_buf *b, const struct vnet_offload *o)
{
	struct vn_netq *q = vn_netq(pub);
	struct vq *vq = &q->tx;
	struct virtio_net_hdr_v1 h;
	uint32_t len = b->len;
	int bit;

	if (!q->offload)
		return no_offload("vnet_tx_offload");
	if (b->id >= vq->size || vq->state[b->id] != VQ_APP)
		return vn_err(-EINVAL, "vnet_tx_offload: buffer id %u is not a reserved TX buffer",
			      b->id);
	if (o->flags & ~VNET_OFFLOAD_F_CSUM_NEEDED)
		return vn_err(-EINVAL, "vnet_tx_offload: flags 0x%x: only CSUM_NEEDED applies to TX "
			      "(virtio 1.2 §5.1.6.2.1: no DATA_VALID)", o->flags);
	if ((o->flags & VNET_OFFLOAD_F_CSUM_NEEDED) && !has(q, VIRTIO_NET_F_CSUM))
		return vn_err(-EOPNOTSUPP, "vnet_tx_offload: checksum offload needs "
			      "VIRTIO_NET_F_CSUM, which the device did not negotiate");
	if (len == 0 || len > VN_NET_GSO_MAX)
		return vn_err(-EINVAL, "vnet_tx_offload: frame of %u bytes (1 .. %u)", len,
			      VN_NET_GSO_MAX);
	if ((o->flags & VNET_OFFLOAD_F_CSUM_NEEDED) &&
	    (uint32_t)o->csum_start + o->csum_offset + 2u > len)
		return vn_err(-EINVAL, "vnet_tx_offload: csum_start %u + csum_offset %u + 2 is beyond "
			      "the %u-byte frame", o->csum_start, o->csum_offset, len);
	if (o->gso_type != VNET_GSO_NONE) {
		bit = gso_feature(o->gso_type);
		if (bit < 0)
			return vn_err(-EINVAL, "vnet_tx_offload: unknown gso_type %u", o->gso_type);
		if (!has(q, (unsigned)bit))
			return vn_err(-EOPNOTSUPP, "vnet_tx_offload: gso_type %u needs %s, which the "
				      "device did not negotiate", o->gso_type, gso_feature_name(bit));
		/* virtio 1.2 §5.1.6.2.1: GSO needs NEEDS_CSUM and the MSS. */
		if (!(o->flags & VNET_OFFLOAD_F_CSUM_NEEDED))
			return vn_err(-EINVAL, "vnet_tx_offload: GSO without CSUM_NEEDED "
				      "(virtio 1.2 §5.1.6.2.1)");
		if (o->gso_size == 0 || o->hdr_len == 0 || o->hdr_len > len)
			return vn_err(-EINVAL, "vnet_tx_offload: gso_size %u, hdr_len %u for a %u-byte "
				      "frame", o->gso_size, o->hdr_len, len);
	} else if (len > vn_net_frame_max(q)) {
		return vn_err(-EMSGSIZE, "vnet_tx_offload: %u bytes without GSO, the MTU allows %u",
			      len, vn_net_frame_max(q));
	}
	/* virtio 1.2 §5.1.6.2: the header's fields are little-endian
	 * (VERSION_1); num_buffers is unused on TX. */
	h = (struct virtio_net_hdr_v1){
		.flags = (uint8_t)(o->flags & VNET_OFFLOAD_F_CSUM_NEEDED ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0),
		.gso_type = (uint8_t)o->gso_type,
		.hdr_len = htole16(o->hdr_len),
		.gso_size = htole16(o->gso_size),
		.csum_start = htole16(o->csum_start),
		.csum_offset = htole16(o->csum_offset),
	};
	memcpy(vq_buf(vq, b->id), &h, VN_NET_HDR_LEN);
	return 0;
}

int vn_net_tx_check(struct vn_netq *q, const struct vnet_buf *bufs, unsigned n)
{
	uint32_t lim = vn_net_frame_max(q);

	for (unsigned i = 0; i < n; i++) {
		const struct virtio_net_hdr_v1 *h;
		uint32_t len = bufs[i].len;

		if (bufs[i].id >= q->tx.size || !len)
			continue; /* claim() refuses the id; len 0 is sent back */
		/* The driver's own header (vnet_tx_offload(), or zero from reserve). */
		h = (const struct virtio_net_hdr_v1 *)(const void *)vq_buf(&q->tx, bufs[i].id);
		if (len > (h->gso_type != VIRTIO_NET_HDR_GSO_NONE ? VN_NET_GSO_MAX : lim))
			return vn_err(-EMSGSIZE, "buffer %u: %u bytes, the %s allows %u", i, len,
				      h->gso_type ? "GSO limit" : "MTU",
				      h->gso_type ? VN_NET_GSO_MAX : lim);
		if (((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		     (uint32_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2u > len) ||
		    (h->gso_type && le16toh(h->hdr_len) > len))
			return vn_err(-EINVAL, "buffer %u: %u bytes, shorter than its offload metadata "
				      "said (vnet_tx_offload() takes the final len)", i, len);
	}
	return 0;
}

/* The feature an RX gso_type needs (ECN and UFO are never negotiated). */
static bool rx_gso_ok(const struct vn_netq *q, uint8_t type)
{
	return (type == VIRTIO_NET_HDR_GSO_TCPV4 && has(q, VIRTIO_NET_F_GUEST_TSO4)) ||
	       (type == VIRTIO_NET_HDR_GSO_TCPV6 && has(q, VIRTIO_NET_F_GUEST_TSO6));
}

bool vn_net_rx_hdr(struct vn_netq *q, const struct vnet_buf *b, unsigned nb, uint32_t total)
{
	struct virtio_net_hdr_v1 h;
	struct vn_rx_meta *m = &q->rx_meta[b->id];
	uint16_t hdr_len, gso_size, start, off;

	/* Device-written (virtio 1.2 §5.1.6.4): read once into our copy, then
	 * check the copy only; the device may write the buffer again. */
	memcpy(&h, (const char *)b->data - VN_NET_HDR_LEN, VN_NET_HDR_LEN);
	/* A compiler barrier (C11 §7.17.4): the checks below must read the copy,
	 * never the device's buffer again (no double fetch). */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	for (unsigned k = 1; k < nb; k++)
		q->rx_meta[b[k].id].start = 0;
	m->start = 0;
	hdr_len = le16toh(h.hdr_len);
	gso_size = le16toh(h.gso_size);
	start = le16toh(h.csum_start);
	off = le16toh(h.csum_offset);
	/* §5.1.6.4.1: flags only with GUEST_CSUM, and only NEEDS_CSUM and
	 * DATA_VALID (RSC_INFO needs RSC_EXT, never negotiated). */
	if (h.flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return false;
	if (h.flags && !has(q, VIRTIO_NET_F_GUEST_CSUM))
		return false;
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && (uint32_t)start + off + 2u > total)
		return false;
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if (total > vn_net_frame_max(q))
			return false;
	} else {
		/* §5.1.6.4.1: only the GSO types negotiated, always with
		 * NEEDS_CSUM; a segment size and a header inside the frame. */
		if (!rx_gso_ok(q, h.gso_type) || !(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
		    gso_size == 0 || hdr_len == 0 || hdr_len > total || total > VN_NET_GSO_MAX)
			return false;
	}
	*m = (struct vn_rx_meta){ .gso_size = gso_size, .hdr_len = hdr_len, .csum_start = start,
				  .csum_offset = off, .flags = h.flags, .gso_type = h.gso_type,
				  .start = 1 };
	return true;
}

int vn_net_rx_offload(struct vnet_queue *pub, const struct vnet_buf *b, struct vnet_offload *o)
{
	struct vn_netq *q = vn_netq(pub);
	const struct vn_rx_meta *m;
	size_t sz = o->sz;

	if (!q->offload)
		return no_offload("vnet_rx_offload");
	if (b->id >= q->rx.size || q->rx.state[b->id] != VQ_APP || !q->rx_meta[b->id].start)
		return vn_err(-EINVAL, "vnet_rx_offload: buffer id %u is not the first of a peeked "
			      "frame", b->id);
	m = &q->rx_meta[b->id];
	memset(o, 0, sizeof(*o));
	o->sz = sz;
	if (m->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		o->flags |= VNET_OFFLOAD_F_CSUM_NEEDED;
		o->csum_start = m->csum_start;
		o->csum_offset = m->csum_offset;
	}
	if (m->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		o->flags |= VNET_OFFLOAD_F_CSUM_VALID;
	if (m->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		o->gso_type = m->gso_type;
		o->gso_size = m->gso_size;
		o->hdr_len = m->hdr_len;
	}
	return 0;
}
