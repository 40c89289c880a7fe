/* SPDX-License-Identifier: MIT */
/*
 * vnetperf --tso MSS: the frames become TCP/IPv4 segmentation frames
 * (vnet_tx_offload(), virtio 1.2 §5.1.6.2) that the device cuts into MSS
 * segments, or hands whole to a receiver that takes GSO frames.
 *
 * Layout: Ethernet (to and from the device's own MAC, as every vnetperf
 * frame), IPv4 10.0.0.1 -> 10.0.0.2 (id: the sequence number's low 16
 * bits), TCP from and to port 0x88b5 with sequence number seq << 16 (so
 * the first segment of a frame, and only it, has its low 16 bits zero:
 * a frame is at most 65535 payload bytes), flags ACK|PSH, and the TCP
 * checksum field holding the pseudo-header sum (the device completes it).
 * The TCP payload starts as a vnetperf frame's bytes from offset 14 do:
 * sequence number, timestamp, then the sequence number's low byte.
 */
#include <string.h>

#include "vnetperf.h"

#define ETH 14
#define IP4 20
#define TCP 20
#define PORT 0x88b5

static void be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += get16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

void perf_tso_fill(uint8_t *f, size_t len, const uint8_t mac[6], uint64_t seq)
{
	uint8_t *ip = f + ETH, *tcp = ip + IP4;
	uint32_t tseq = (uint32_t)seq << 16;

	memcpy(f, mac, 6);
	memcpy(f + 6, mac, 6);
	be16(f + 12, 0x0800);
	memset(ip, 0, IP4 + TCP);
	ip[0] = 0x45;
	be16(ip + 2, (unsigned)(len - ETH));
	be16(ip + 4, (unsigned)(seq & 0xffff));
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, (const uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	be16(ip + 10, (uint16_t)~fold(sum16(0, ip, IP4)));
	be16(tcp, PORT);
	be16(tcp + 2, PORT);
	be16(tcp + 4, tseq >> 16);
	be16(tcp + 6, tseq & 0xffff);
	tcp[12] = (TCP / 4) << 4;
	tcp[13] = 0x18; /* ACK PSH */
	be16(tcp + 14, 65535);
	/* CHECKSUM_PARTIAL: the pseudo-header's sum, not complemented. */
	be16(tcp + 16, fold(sum16(6 + (uint32_t)(len - ETH - IP4), ip + 12, 8)));
}

void perf_tso_offload(struct vnet_offload *o, unsigned mss)
{
	*o = (struct vnet_offload){
		.sz = sizeof(*o),
		.flags = VNET_OFFLOAD_F_CSUM_NEEDED,
		.gso_type = VNET_GSO_TCP4,
		.gso_size = (uint16_t)mss,
		.hdr_len = PERF_TSO_HDR,
		.csum_start = ETH + IP4,
		.csum_offset = 16,
	};
}

int perf_tso_kind(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + ETH, *tcp = ip + IP4;

	if (len < PERF_TSO_HDR || get16(f + 12) != 0x0800 || ip[0] != 0x45 || ip[9] != 6 ||
	    get16(tcp + 2) != PORT)
		return -1;
	return get16(tcp + 6) == 0 ? 1 : 0; /* the low 16 bits of the sequence number */
}
