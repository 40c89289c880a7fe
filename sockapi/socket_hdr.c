/* SPDX-License-Identifier: MIT */
/*
 * VNET_SO_VNET_HDR: the 10-byte struct virtio_net_hdr before each frame
 * (virtio 1.2 §5.1.6; TAP's IFF_VNET_HDR, AF_PACKET's PACKET_VNET_HDR),
 * mapped to vnet_tx_offload() and vnet_rx_offload(). Byte layout: flags,
 * gso_type, then hdr_len, gso_size, csum_start, csum_offset, each 16 bits
 * little-endian.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "socket_int.h"

/* virtio_net_hdr flags (linux/virtio_net.h values). */
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

bool vs_hdr_gso(const uint8_t *h)
{
	return h[1] != VNET_GSO_NONE;
}

int vs_hdr_send(struct vs_sock *s, const uint8_t *h, struct vnet_buf *b)
{
	struct vnet_offload o = VNET_OFFLOAD_INIT;
	static const uint8_t zero[VNET_VNET_HDR_LEN];

	/* An all-zero header asks for nothing: fine on any device. */
	if (!memcmp(h, zero, sizeof(zero)))
		return 0;
	if (!s->offloads)
		return vn_err(-EOPNOTSUPP, "VNET_SO_VNET_HDR: the device negotiated no offloads "
			      "(open it with offload=on), so the header must be zero");
	if (h[0] & ~HDR_F_NEEDS_CSUM)
		return vn_err(-EINVAL, "VNET_SO_VNET_HDR: flags 0x%x: only NEEDS_CSUM is for sending",
			      h[0]);
	o.flags = h[0] & HDR_F_NEEDS_CSUM ? VNET_OFFLOAD_F_CSUM_NEEDED : 0;
	o.gso_type = h[1];
	o.hdr_len = get16(h + 2);
	o.gso_size = get16(h + 4);
	o.csum_start = get16(h + 6);
	o.csum_offset = get16(h + 8);
	return vnet_tx_offload(s->q, b, &o) ? -errno : 0;
}

void vs_hdr_recv(struct vs_sock *s, const struct vnet_buf *b, uint8_t *h)
{
	struct vnet_offload o = VNET_OFFLOAD_INIT;

	memset(h, 0, VNET_VNET_HDR_LEN);
	if (!s->offloads || vnet_rx_offload(s->q, b, &o))
		return;
	h[0] = (uint8_t)((o.flags & VNET_OFFLOAD_F_CSUM_NEEDED ? HDR_F_NEEDS_CSUM : 0) |
			 (o.flags & VNET_OFFLOAD_F_CSUM_VALID ? HDR_F_DATA_VALID : 0));
	h[1] = (uint8_t)o.gso_type;
	put16(h + 2, o.hdr_len);
	put16(h + 4, o.gso_size);
	put16(h + 6, o.csum_start);
	put16(h + 8, o.csum_offset);
}
