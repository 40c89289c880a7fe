/* SPDX-License-Identifier: MIT */
/*
 * tap-loop: the TAP baseline for `vnetperf loop`. Frames written to one TAP
 * interface cross a Linux bridge and are read back from a second TAP, one
 * write() and one read() per frame -- the path a TAP application pays for.
 * The frames are vnetperf's (EtherType 0x88B5, sequence number at byte 14),
 * batched the same way: BATCH writes, then reads until they are back.
 *
 *   tap-loop TAP_IN TAP_OUT [SIZE [SECONDS [BATCH]]]
 *   tap-loop -p TAP_A TAP_B [SIZE [SECONDS]]
 *
 * With -p it measures round trips instead, like `vnetperf pingpong`: a frame
 * written to TAP_A crosses the bridge, is read from TAP_B, written back
 * there with its addresses swapped, crosses again and is read from TAP_A.
 *
 * The interfaces must already be up and enslaved to one bridge (see
 * bench/compare.sh). Prints one line: frames, seconds, pps, lost (or the
 * round-trip percentiles).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static int tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read the next vnetperf-format frame from fd within 100 ms; its length or -1.
 * (The first frame after a TAP is attached can be lost while its bridge
 * port comes up: it counts as lost and costs only the timeout.) */
static ssize_t read_ours(int fd, uint8_t *g, size_t cap)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			return -1;
		n = read(fd, g, cap);
		if (n >= 22 && g[12] == 0x88 && g[13] == 0xb5)
			return n;
		/* else: the kernel's own frames (IPv6 ND and such) */
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* -p: one frame at a time, A -> bridge -> B, reflected, B -> bridge -> A. */
static int pingpong(int a, int b, uint8_t *f, unsigned size, double secs)
{
	static double rtt[1 << 20];
	size_t n = 0, lost = 0;
	uint8_t g[2048];
	double t0 = now();

	while (now() - t0 < secs && n < sizeof(rtt) / sizeof(rtt[0])) {
		double t = now();
		ssize_t len;

		if (write(a, f, size) != (ssize_t)size || (len = read_ours(b, g, sizeof(g))) < 0) {
			lost++;
			continue;
		}
		memcpy(g, g + 6, 6); /* back to the sender's address */
		memcpy(g + 6, "\x02\x00\x00\x00\x00\x02", 6);
		if (write(b, g, (size_t)len) != len || read_ours(a, g, sizeof(g)) < 0) {
			lost++;
			continue;
		}
		rtt[n++] = now() - t;
	}
	qsort(rtt, n, sizeof(rtt[0]), cmp_double);
	if (!n)
		return 1;
	printf("tap-loop pingpong: %zu round trips, %zu lost: p50 %.1f us p99 %.1f us p99.9 %.1f us\n",
	       n, lost, rtt[n / 2] * 1e6, rtt[(size_t)((double)(n - 1) * .99)] * 1e6,
	       rtt[(size_t)((double)(n - 1) * .999)] * 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	int pp = argc > 1 && !strcmp(argv[1], "-p");
	unsigned size = argc > 3 ? (unsigned)atoi(argv[3]) : 64;
	double secs = argc > 4 ? atof(argv[4]) : 5;
	unsigned batch = argc > 5 ? (unsigned)atoi(argv[5]) : 32;
	uint64_t seq = 0, rx = 0, lost = 0;
	uint8_t f[2048], g[2048];
	int in, out;
	double t0, t;

	if (pp) {
		argv++;
		argc--;
		size = argc > 3 ? (unsigned)atoi(argv[3]) : 64;
		secs = argc > 4 ? atof(argv[4]) : 5;
	}
	if (argc < 3 || size < 60 || size > 1514 || secs <= 0 || batch < 1) {
		fprintf(stderr, "usage: tap-loop TAP_IN TAP_OUT [SIZE [SECONDS [BATCH]]]\n"
			"       tap-loop -p TAP_A TAP_B [SIZE [SECONDS]]\n");
		return 2;
	}
	in = tap_open(argv[1]);
	out = tap_open(argv[2]);
	if (in < 0 || out < 0) {
		fprintf(stderr, "tap-loop: cannot attach to %s/%s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	/* A locally administered unicast address nobody owns: the bridge floods
	 * it to the other port once it has learnt the source on ours. */
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x88\xb5", 14);
	memset(f + 14, 0xab, size - 14);
	if (pp)
		return pingpong(in, out, f, size, secs);
	t0 = t = now();
	while (t - t0 < secs) {
		for (unsigned i = 0; i < batch; i++, seq++) {
			memcpy(f + 14, &seq, 8);
			if (write(in, f, size) != (ssize_t)size) {
				perror("tap-loop: write");
				return 1;
			}
		}
		/* Read until this batch is back, or give up on it after 100 ms. */
		for (;;) {
			struct pollfd p = { .fd = out, .events = POLLIN };
			ssize_t n;
			uint64_t got;

			if (poll(&p, 1, 100) <= 0)
				break;
			n = read(out, g, sizeof(g));
			if (n < 22 || g[12] != 0x88 || g[13] != 0xb5)
				continue; /* the kernel's own frames (IPv6 ND and such) */
			memcpy(&got, g + 14, 8);
			rx++;
			if (got == seq - 1)
				break;
		}
		t = now();
	}
	lost = seq - rx;
	printf("tap-loop: %llu frames in %.2f s: %.0f pps, %llu lost\n", (unsigned long long)rx,
	       t - t0, (double)rx / (t - t0), (unsigned long long)lost);
	return 0;
}
