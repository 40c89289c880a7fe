/* SPDX-License-Identifier: MIT */
/*
 * vm-tso: libvnet's side of the VM offload scenario (tests/vm/scenarios.sh,
 * scenario tso).
 *
 *   vm-tso URI DSTMAC SRCIP DSTIP COUNT PAYLOAD MSS
 *
 * Opens URI with offloads on, then sends COUNT TCP/IPv4 segmentation frames
 * of PAYLOAD bytes each (virtio 1.2 §5.1.6.2: NEEDS_CSUM, GSO_TCPV4,
 * gso_size MSS), and one frame of MSS payload bytes with the checksum
 * offload only, from SRCIP port 40000 to DSTIP port 9, ACK set. The TCP
 * checksum field holds the pseudo-header sum over the frame's whole TCP
 * length, as Linux's CHECKSUM_PARTIAL frames do; the device (QEMU, then the
 * host kernel) cuts and checksums. Prints "segments N": how many TCP
 * segments the peer must count. Nothing here computes a TCP checksum: if the
 * metadata were wrong, the peer would count checksum errors.
 *
 * A device that agreed to the checksum offload but not to TSO (libvnet
 * leaves HOST_TSO out in no-IOMMU mode) gets the same segments as
 * checksum-offload frames of MSS bytes, and the line "tso refused".
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vnet/vnet.h>

#define ETH 14
#define IP4 20
#define TCP 20
#define HDRS (ETH + IP4 + TCP)

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned v[6];
	int n = -1;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &n) != 6 || s[n])
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* One frame of payload bytes at f; returns its length. */
static uint32_t build(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], const uint8_t ips[8],
		      uint32_t seq, unsigned payload, unsigned k)
{
	uint8_t *ip = f + ETH, *tcp = ip + IP4;
	unsigned tcp_len = TCP + payload;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, IP4 + TCP);
	ip[0] = 0x45;
	put16(ip + 2, IP4 + tcp_len);
	put16(ip + 4, k);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, ips, 8);
	put16(ip + 10, (uint16_t)~fold(sum16(0, ip, IP4)));
	put16(tcp, 40000);
	put16(tcp + 2, 9);
	put16(tcp + 4, seq >> 16);
	put16(tcp + 6, seq & 0xffff);
	put16(tcp + 8, 1); /* an acknowledgment number: the peer answers with RST */
	tcp[12] = (TCP / 4) << 4;
	tcp[13] = 0x10; /* ACK */
	put16(tcp + 14, 65535);
	/* CHECKSUM_PARTIAL: the pseudo-header's sum, length included. */
	put16(tcp + 16, fold(sum16(6 + tcp_len, ip + 12, 8)));
	for (unsigned i = 0; i < payload; i++)
		tcp[TCP + i] = (uint8_t)(i * 7 + k);
	return (uint32_t)(HDRS + payload);
}

static int send_one(struct vnet_queue *q, const uint8_t *frame_args[3], uint32_t seq,
		    unsigned payload, unsigned mss, unsigned k)
{
	struct vnet_offload o = VNET_OFFLOAD_INIT;
	struct vnet_buf b;
	int n;

	for (long spins = 0; (n = vnet_tx_reserve(q, &b, 1)) == 0 && spins < 100000000; spins++)
		; /* the ring is full: the device is busy sending */
	if (n <= 0 || b.len < HDRS + payload) {
		fprintf(stderr, "vm-tso: reserve: %s (capacity %u)\n", vnet_last_error(),
			n < 0 ? 0 : b.len);
		return -1;
	}
	b.len = build(b.data, frame_args[0], frame_args[1], frame_args[2], seq, payload, k);
	o.flags = VNET_OFFLOAD_F_CSUM_NEEDED;
	o.csum_start = ETH + IP4;
	o.csum_offset = 16;
	if (payload > mss) {
		o.gso_type = VNET_GSO_TCP4;
		o.gso_size = (uint16_t)mss;
		o.hdr_len = HDRS;
	}
	if (vnet_tx_offload(q, &b, &o) < 0 || vnet_tx_submit(q, &b, 1) != 1) {
		fprintf(stderr, "vm-tso: send: %s\n", vnet_last_error());
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vnet_dev_opts opts = VNET_DEV_OPTS_INIT;
	struct vnet_dev_info info = { .sz = sizeof(info) };
	uint8_t dst[6], ips[8];
	const uint8_t *args[3] = { dst, info.mac, ips };
	unsigned count, payload, mss, segs = 0;
	struct vnet_dev *d;
	struct vnet_queue *q;
	uint32_t seq = 1000;
	bool tso;
	int rc = 0;

	if (argc != 8 || parse_mac(argv[2], dst) || inet_pton(AF_INET, argv[3], ips) != 1 ||
	    inet_pton(AF_INET, argv[4], ips + 4) != 1) {
		fprintf(stderr, "usage: vm-tso URI DSTMAC SRCIP DSTIP COUNT PAYLOAD MSS\n");
		return 2;
	}
	count = (unsigned)strtoul(argv[5], NULL, 10);
	payload = (unsigned)strtoul(argv[6], NULL, 10);
	mss = (unsigned)strtoul(argv[7], NULL, 10);
	if (mss < 64 || mss > 1460 || payload <= mss || payload > 65535 - HDRS) {
		fprintf(stderr, "vm-tso: want 64 <= MSS <= 1460 < PAYLOAD <= %u\n", 65535 - HDRS);
		return 2;
	}
	opts.flags = VNET_DEV_F_OFFLOAD;
	if (vnet_dev_open(argv[1], &opts, &d) < 0) {
		fprintf(stderr, "vm-tso: %s: %s\n", argv[1], vnet_last_error());
		return 1;
	}
	q = vnet_dev_queue(d, 0);
	if (vnet_dev_info(d, &info) < 0 || !q || !(info.offloads & VNET_OFFLOAD_TX_CSUM)) {
		fprintf(stderr, "vm-tso: the device agreed to offloads 0x%x, without TX checksum\n",
			info.offloads);
		vnet_dev_close(d);
		return 1;
	}
	tso = info.offloads & VNET_OFFLOAD_TX_TSO4;
	if (!tso)
		printf("tso refused (offloads 0x%x): checksum offload only\n", info.offloads);
	for (unsigned k = 0; k < count && !rc; k++) {
		for (unsigned off = 0; off < payload && !rc; off += tso ? payload : mss) {
			unsigned len = tso ? payload : payload - off < mss ? payload - off : mss;

			rc = send_one(q, args, seq, len, mss, k);
			seq += len;
		}
		segs += (payload + mss - 1) / mss;
	}
	if (!rc)
		rc = send_one(q, args, seq, mss, mss, count); /* checksum offload only */
	segs++;
	vnet_dev_close(d); /* the frames submitted get their time to leave */
	if (rc)
		return 1;
	printf("segments %u\n", segs);
	return 0;
}
