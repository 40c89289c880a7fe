/* SPDX-License-Identifier: MIT */
/*
 * vnet-responder: answer ARP requests and ICMP echo requests for one IPv4
 * address on a libvnet device. A complete libvnet application in one page:
 *
 *   vnet-responder [-c COUNT] [-v] URI IPV4
 *
 * It exits after COUNT replies (default: never), printing how many requests
 * of each kind it answered and how many frames it ignored.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vnet/socket.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ARP_LEN 28
#define ICMP_ECHO_REQUEST 8
#define ICMP_ECHO_REPLY 0

static uint8_t mac[6];
static uint32_t my_ip; /* network byte order */
static int verbose;

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* RFC 1071 Internet checksum. */
static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Turn an Ethernet frame around: reply goes back to the sender. */
static void swap_eth(uint8_t *f)
{
	memcpy(f, f + 6, 6);
	memcpy(f + 6, mac, 6);
}

/* ARP request for my_ip -> ARP reply (RFC 826). Returns reply length or 0. */
static size_t arp(uint8_t *f, size_t len)
{
	uint8_t *a = f + ETH_HLEN;

	if (len < ETH_HLEN + ARP_LEN || get16(a) != 1 || get16(a + 2) != ETHERTYPE_IPV4 ||
	    a[4] != 6 || a[5] != 4 || get16(a + 6) != 1 || memcmp(a + 24, &my_ip, 4))
		return 0;
	swap_eth(f);
	put16(a + 6, 2);                /* op: reply */
	memcpy(a + 18, a + 8, 10);      /* target = old sender (MAC + IP) */
	memcpy(a + 8, mac, 6);          /* sender = us */
	memcpy(a + 14, &my_ip, 4);
	return len;
}

/* ICMP echo request to my_ip -> echo reply (RFC 792). Returns length or 0. */
static size_t icmp(uint8_t *f, size_t len)
{
	uint8_t *ip = f + ETH_HLEN, *ic;
	size_t ihl, tot;

	if (len < ETH_HLEN + 20 || ip[0] >> 4 != 4)
		return 0;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = get16(ip + 2);
	if (ihl < 20 || tot < ihl + 8 || ETH_HLEN + tot > len || ip[9] != 1 ||
	    memcmp(ip + 16, &my_ip, 4) || csum(ip, ihl))
		return 0;
	ic = ip + ihl;
	if (ic[0] != ICMP_ECHO_REQUEST || csum(ic, tot - ihl))
		return 0;
	swap_eth(f);
	memcpy(ip + 16, ip + 12, 4);    /* destination = old source */
	memcpy(ip + 12, &my_ip, 4);
	ip[8] = 64;                     /* fresh TTL */
	put16(ip + 10, 0);
	put16(ip + 10, csum(ip, ihl));
	ic[0] = ICMP_ECHO_REPLY;
	put16(ic + 2, 0);
	put16(ic + 2, csum(ic, tot - ihl));
	return ETH_HLEN + tot;
}

int main(int argc, char **argv)
{
	unsigned long count = 0, replies = 0, arps = 0, pings = 0, ignored = 0;
	struct vnet_dev_info info = { .sz = sizeof(info) };
	uint8_t f[9018 + 4];
	int fd, c;

	while ((c = getopt(argc, argv, "c:v")) != -1) {
		char *end;

		if (c == 'c') {
			count = strtoul(optarg, &end, 10);
			if (*end || end == optarg)
				goto usage;
		} else if (c == 'v')
			verbose = 1;
		else
			goto usage;
	}
	if (argc - optind != 2 || inet_pton(AF_INET, argv[optind + 1], &my_ip) != 1)
		goto usage;
	fd = vnet_socket(argv[optind], 0, 0);
	if (fd < 0 || vnet_socket_info(fd, &info) < 0) {
		fprintf(stderr, "vnet-responder: %s: %s: %s\n", argv[optind], strerror(errno),
			vnet_last_error());
		return 1;
	}
	memcpy(mac, info.mac, 6);
	printf("vnet-responder: %s answering for %s\n", argv[optind], argv[optind + 1]);
	fflush(stdout);
	while (!count || replies < count) {
		ssize_t n = vnet_recv(fd, f, sizeof(f), 0);
		const char *kind = "arp";
		size_t out = 0;

		if (n < 0) {
			fprintf(stderr, "vnet-responder: receive: %s\n", strerror(errno));
			break;
		}
		if (n >= ETH_HLEN && get16(f + 12) == ETHERTYPE_ARP && (out = arp(f, (size_t)n)))
			arps++;
		else if (n >= ETH_HLEN && get16(f + 12) == ETHERTYPE_IPV4 && (out = icmp(f, (size_t)n)))
			pings++, kind = "icmp";
		if (!out) {
			ignored++;
			continue;
		}
		if (vnet_send(fd, f, out, 0) < 0) {
			fprintf(stderr, "vnet-responder: send: %s\n", strerror(errno));
			break;
		}
		replies++;
		if (verbose)
			printf("%s reply #%lu\n", kind, replies);
	}
	printf("vnet-responder: %lu arp replies, %lu echo replies, %lu frames ignored\n",
	       arps, pings, ignored);
	vnet_close(fd);
	return replies == count || !count ? 0 : 1;
usage:
	fprintf(stderr, "usage: vnet-responder [-c COUNT] [-v] URI IPV4\n");
	return 2;
}
