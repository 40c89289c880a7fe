/* SPDX-License-Identifier: MIT */
/*
 * vm-rawsend: the kernel side of the VM receive test (tests/vm/scenarios.sh).
 *
 *   vm-rawsend IFNAME COUNT DSTMAC
 *
 * Sends COUNT 64-byte frames to DSTMAC through the kernel driver of IFNAME
 * with an AF_PACKET socket, in the format vnetperf(1) checks on receive:
 * EtherType 0x88B5, little-endian sequence number 0, 1, ... at byte 14, a
 * (zero) timestamp at byte 22, the sequence's low byte in every later byte.
 *
 * Deterministic: a frame the queueing discipline refuses (ENOBUFS, the NIC's
 * queue is full) is sent again after a pause, never skipped, so exactly COUNT
 * frames leave in order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_LEN 64
#define PERF_ETHERTYPE 0x88b5
#define SEQ_OFF 14
#define PAYLOAD_OFF 30 /* after the sequence number and the timestamp */
#define MAX_RETRIES 10000

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned v[6];
	int n = -1;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &n) != 6 || n != 17 || s[n])
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000 };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
	uint8_t f[FRAME_LEN] = { 0 };
	unsigned long count;
	char *end;
	int fd;

	if (argc != 4 || parse_mac(argv[3], f)) {
		fprintf(stderr, "usage: vm-rawsend IFNAME COUNT DSTMAC\n");
		return 2;
	}
	errno = 0;
	count = strtoul(argv[2], &end, 10);
	if (errno || end == argv[2] || *end) {
		fprintf(stderr, "vm-rawsend: bad count '%s'\n", argv[2]);
		return 2;
	}
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "vm-rawsend: no interface %s\n", argv[1]);
		return 1;
	}
	memcpy(sll.sll_addr, f, ETH_ALEN);
	fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only */
	if (fd < 0) {
		perror("vm-rawsend: AF_PACKET socket");
		return 1;
	}
	f[6] = 0x02; /* a locally administered source address */
	f[12] = PERF_ETHERTYPE >> 8;
	f[13] = PERF_ETHERTYPE & 0xff;
	for (unsigned long seq = 0; seq < count; seq++) {
		int tries = 0;

		for (int i = 0; i < 8; i++)
			f[SEQ_OFF + i] = (uint8_t)(seq >> (8 * i));
		memset(f + PAYLOAD_OFF, (int)(seq & 0xff), FRAME_LEN - PAYLOAD_OFF);
		while (sendto(fd, f, sizeof(f), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "vm-rawsend: frame %lu: %s\n", seq, strerror(errno));
				close(fd);
				return 1;
			}
			if (++tries > MAX_RETRIES) {
				fprintf(stderr, "vm-rawsend: frame %lu: queue stays full\n", seq);
				close(fd);
				return 1;
			}
			pause_ms(1);
		}
	}
	close(fd);
	printf("vm-rawsend: %lu frames sent on %s\n", count, argv[1]);
	return 0;
}
