/* SPDX-License-Identifier: MIT */
/*
 * vnetperf: packet rate, throughput and round-trip latency over any libvnet
 * device URI (see vnetperf(1)).
 *
 * Every frame vnetperf sends is addressed to the device's own MAC (so RX
 * filters accept it on a loopback), has EtherType 0x88B5 (IEEE local
 * experimental), a little-endian 64-bit sequence number at offset 14, a
 * send timestamp in nanoseconds at offset 22 and the low byte of the
 * sequence number in every following byte. Receivers check the sequence
 * to count loss and reordering.
 *
 * Every frame sent ends up in one of: received; lost (a later one came
 * back, so this one never will); in flight (nothing sent after it came
 * back by the stop, or by the device's failure: still in the rings, or
 * gone with the device). A run ends at the count or the duration, whichever
 * comes first, at a signal, or when the device fails (exit status 1, the
 * counters still printed).
 *
 * With --tso MSS, frames are TCP/IPv4 segmentation frames the device cuts
 * into MSS segments (vnetperf_tso.c), their vnetperf fields in the TCP
 * payload; a receiver counts a frame at its first segment, and every
 * segment's bytes.
 *
 * With -Q N, N threads each run the mode on a queue pair of their own (the
 * device's rule: one thread per queue pair); each has its own struct perf
 * (the options copied, its own counters and sequence numbers), and the
 * summary adds them up.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "vnet/socket.h"
#include "vnet/vnet.h"
#include "vnetperf.h"

/* Set by a signal, or by a pair's thread whose device failed: every pair's
 * loop ends. (A lock-free atomic may be written by a signal handler.) */
static atomic_int stop;

const char *const perf_mode_names[] = { "tx", "rx", "loop", "pingpong" };

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Where the sequence number and timestamp sit, past PERF_SEQ_OFF. */
static size_t fields_off(const struct perf *p)
{
	return p->tso ? PERF_TSO_HDR - PERF_SEQ_OFF : 0;
}

static void fill_frame(const struct perf *p, uint8_t *f, uint64_t seq)
{
	size_t o = fields_off(p);

	if (p->tso) {
		perf_tso_fill(f, p->size, p->info.mac, seq);
	} else {
		memcpy(f, p->info.mac, 6);
		memcpy(f + 6, p->info.mac, 6);
		f[12] = PERF_ETHERTYPE >> 8;
		f[13] = PERF_ETHERTYPE & 0xff;
	}
	put_le64(f + o + PERF_SEQ_OFF, seq);
	put_le64(f + o + PERF_TS_OFF, now_ns());
	memset(f + o + PERF_TS_OFF + 8, (int)(seq & 0xff), p->size - o - PERF_TS_OFF - 8);
}

/* The VNET_SO_VNET_HDR header of a TSO frame (vnet_socket(3)): flags
 * NEEDS_CSUM, gso_type TCPV4, then hdr_len, gso_size, csum_start,
 * csum_offset, little-endian. */
static void fill_vnet_hdr(const struct perf *p, uint8_t *h)
{
	struct vnet_offload o;
	uint16_t f[4];

	perf_tso_offload(&o, p->tso);
	f[0] = o.hdr_len;
	f[1] = o.gso_size;
	f[2] = o.csum_start;
	f[3] = o.csum_offset;
	h[0] = 1; /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	h[1] = (uint8_t)o.gso_type;
	for (int i = 0; i < 4; i++) {
		h[2 + 2 * i] = (uint8_t)f[i];
		h[3 + 2 * i] = (uint8_t)(f[i] >> 8);
	}
}

/* Account one received frame (of len bytes; f holds at least its first
 * segment). Returns its timestamp. */
static uint64_t account_rx(struct perf *p, const uint8_t *f, size_t seg_len, size_t len)
{
	size_t o = fields_off(p);
	uint64_t seq;
	bool ok;

	p->rx_bytes += len;
	if (p->tso) {
		int kind = perf_tso_kind(f, seg_len);

		if (kind == 0)
			return 0; /* a later segment of a frame counted at its first */
		ok = kind == 1;
	} else {
		ok = f[12] == PERF_ETHERTYPE >> 8 && f[13] == (PERF_ETHERTYPE & 0xff);
	}
	p->rx++;
	if (!ok || seg_len < o + PERF_TS_OFF + 8) {
		p->corrupt++;
		return 0;
	}
	f += o;
	seq = get_le64(f + PERF_SEQ_OFF);
	if (seq > p->next_rx_seq)
		p->lost += seq - p->next_rx_seq;
	else if (seq < p->next_rx_seq)
		p->reordered++;
	if (seq >= p->next_rx_seq)
		p->next_rx_seq = seq + 1;
	return get_le64(f + PERF_TS_OFF);
}

struct vnet_dev *perf_dev(const struct perf *p)
{
	return p->api == API_SOCKET ? vnet_socket_dev(p->fd) : p->dev;
}

/*
 * A send failed with ENETDOWN: unless the device is broken, it was (or
 * still is) administratively down (vnetconf link set DEV down), and the
 * run pauses instead of ending (received frames are dropped and counted
 * meanwhile). True then: try again.
 */
static bool admin_down(struct perf *p)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct timespec ms = { 0, 1000000 };
	int err = errno;

	if (err != ENETDOWN || vnet_dev_info(perf_dev(p), &i) < 0 || i.broken) {
		errno = err;
		return false;
	}
	if (!(i.flags & VNET_IFF_UP))
		nanosleep(&ms, NULL);
	return true;
}

/* Send up to n frames with sequence numbers from p->tx. Returns frames sent. */
static int send_burst(struct perf *p, unsigned n)
{
	int got;

	if (p->api == API_SOCKET) {
		struct vnet_msg m[PERF_MAX_BATCH];

		for (unsigned i = 0; i < n; i++) {
			m[i].buf = p->frames + (size_t)i * (p->size + p->hdr);
			m[i].len = p->size + p->hdr;
			if (p->hdr)
				fill_vnet_hdr(p, m[i].buf);
			fill_frame(p, (uint8_t *)m[i].buf + p->hdr, p->tx + i);
		}
		got = vnet_sendmmsg(p->fd, m, n, MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || admin_down(p)))
			got = 0;
	} else {
		struct vnet_buf b[PERF_MAX_BATCH];

		got = vnet_tx_reserve(p->q, b, n);
		if (got < 0 && admin_down(p))
			got = 0;
		for (int i = 0; i < got; i++) {
			fill_frame(p, b[i].data, p->tx + (unsigned)i);
			b[i].len = p->size;
		}
		if (p->tso && got > 0) {
			struct vnet_offload o;

			perf_tso_offload(&o, p->tso);
			for (int i = 0; i < got; i++)
				if (vnet_tx_offload(p->q, &b[i], &o) < 0) {
					int err = errno;

					for (int k = 0; k < got; k++)
						b[k].len = 0; /* back unsent */
					(void)vnet_tx_submit(p->q, b, (unsigned)got);
					errno = err;
					return -1;
				}
		}
		/* Taken down between reserve and submit: the buffers stay ours
		 * until submitted, so they wait for the device to come up. */
		if (got > 0) {
			int rc;

			while ((rc = vnet_tx_submit(p->q, b, (unsigned)got)) < 0 && !stop &&
			       admin_down(p))
				;
			if (rc < 0)
				got = stop && errno == ENETDOWN ? 0 : -1;
		}
	}
	if (got > 0)
		p->tx += (unsigned)got;
	return got;
}

/* Receive what waits (up to one batch). Returns frames, -1 on error.
 * *last_ts receives the timestamp of the last frame. */
static int recv_burst(struct perf *p, uint64_t *last_ts)
{
	int got, frames = 0;

	if (p->api == API_SOCKET) {
		struct vnet_msg m[PERF_MAX_BATCH];

		for (unsigned i = 0; i < p->batch; i++) {
			m[i].buf = p->frames + (size_t)i * (p->size + p->hdr);
			m[i].len = p->size + p->hdr;
		}
		got = vnet_recvmmsg(p->fd, m, p->batch, MSG_DONTWAIT);
		if (got < 0)
			return errno == EAGAIN ? 0 : -1;
		for (int i = 0; i < got; i++) {
			size_t len = m[i].msg_len - p->hdr; /* the socket counts the header */
			uint64_t ts = account_rx(p, (uint8_t *)m[i].buf + p->hdr,
						 m[i].msg_len < m[i].len ? len : m[i].len - p->hdr, len);

			if (ts)
				*last_ts = ts;
		}
		return got;
	}
	struct vnet_buf b[PERF_MAX_BATCH];

	/* A frame over several buffers (jumbo, or a GSO frame received whole:
	 * up to 33) may not fit a small batch: then take what one holds. */
	got = vnet_rx_peek(p->q, b, p->batch);
	if (got < 0 && errno == ENOBUFS)
		got = vnet_rx_peek(p->q, b, PERF_MAX_BATCH);
	for (int i = 0; i < got; i++) {
		size_t len = b[i].len;
		int first = i;
		uint64_t ts;

		while (b[i].flags & VNET_BUF_MORE && i + 1 < got)
			len += b[++i].len;
		ts = account_rx(p, b[first].data, b[first].len, len);
		if (ts)
			*last_ts = ts;
		frames++;
	}
	if (got > 0 && vnet_rx_release(p->q, b, (unsigned)got) < 0)
		return -1;
	return got < 0 ? -1 : frames;
}

static void progress(const struct perf *p, uint64_t t, uint64_t *last_t,
		     uint64_t *last_tx, uint64_t *last_rx)
{
	double dt = secs(t - *last_t);

	char label[16] = "";

	if (p->pairs > 1)
		snprintf(label, sizeof(label), " q%u", p->queue);
	printf("[%6.1fs]%s tx %10.0f pps  rx %10.0f pps  %7.3f Gbit/s  lost %" PRIu64 "\n",
	       secs(t - p->t_start), label, (double)(p->tx - *last_tx) / dt,
	       (double)(p->rx - *last_rx) / dt,
	       (double)(p->rx - *last_rx) * p->size * 8 / dt / 1e9, p->lost);
	fflush(stdout);
	*last_t = t;
	*last_tx = p->tx;
	*last_rx = p->rx;
}

static bool done(const struct perf *p, uint64_t t)
{
	uint64_t n = p->mode == MODE_RX ? p->rx : p->tx;

	if (stop)
		return true;
	if (p->count && n >= p->count)
		return true;
	return p->duration > 0 && secs(t - p->t_start) >= p->duration;
}

/* tx, rx and loop: one loop that sends and/or receives a burst per turn. */
static int run_stream(struct perf *p)
{
	uint64_t ts = 0, t, last_t, last_tx = 0, last_rx = 0;
	bool sending = p->mode != MODE_RX;

	p->t_start = last_t = t = now_ns();
	while (!done(p, t)) {
		if (sending) {
			unsigned n = p->batch;

			if (p->count && p->count - p->tx < n)
				n = (unsigned)(p->count - p->tx);
			if (send_burst(p, n) < 0)
				return -1;
		}
		/* tx mode drains RX too, so a loopback device never backs up. */
		if (recv_burst(p, &ts) < 0)
			return -1;
		t = now_ns();
		if (p->interval > 0 && secs(t - last_t) >= p->interval)
			progress(p, t, &last_t, &last_tx, &last_rx);
	}
	p->t_end = t;
	/* Let frames in flight arrive before they are counted so. */
	if (p->mode == MODE_LOOP)
		while (p->rx < p->tx && now_ns() - t < PERF_DRAIN_NS && !stop)
			if (recv_burst(p, &ts) < 0)
				return -1;
	return 0;
}

/*
 * Interrupt mode: sleep until the RX interrupt (vnet_wait() or, with the
 * socket API, vnet_poll()), which busy-poll first as open_dev() set up.
 */
static int wait_rx(struct perf *p)
{
	int rc;

	if (p->api == API_SOCKET) {
		struct vnet_pollfd pf = { .fd = p->fd, .events = POLLIN };

		rc = vnet_poll(&pf, 1, 100);
	} else {
		struct vnet_wait w = { .q = p->q, .events = VNET_WAIT_RX };

		rc = vnet_wait(&w, 1, 100);
	}
	return rc < 0 && errno != EINTR ? -1 : 0;
}

/* pingpong: one frame out, wait for it to come back, record the RTT. */
static int run_pingpong(struct perf *p)
{
	uint64_t t, last_t, last_tx = 0, last_rx = 0;

	p->rtt = calloc(PERF_MAX_SAMPLES, sizeof(*p->rtt));
	if (!p->rtt)
		return -1;
	p->batch = 1;
	p->t_start = last_t = t = now_ns();
	while (!done(p, t)) {
		uint64_t sent_at = now_ns(), ts = 0, rx0 = p->rx;
		int rc;

		while ((rc = send_burst(p, 1)) == 0 && !stop)
			;
		if (rc < 0)
			return -1;
		while (p->rx == rx0 && now_ns() - sent_at < PERF_PING_TIMEOUT_NS && !stop) {
			if (recv_burst(p, &ts) < 0)
				return -1;
			if (p->rx == rx0 && p->wait == WAIT_IRQ && wait_rx(p) < 0)
				return -1;
		}
		t = now_ns();
		if (p->rx == rx0 && stop)
			break; /* the ping is in flight at the stop, not lost */
		if (p->rx == rx0) {
			/* Lost after the timeout; should it come back later, it
			 * counts as reordered, not as a gap before the next.
			 * Until a later one comes back it may yet be in flight
			 * (finish()). */
			p->lost++;
			p->given_up++;
			p->next_rx_seq = p->tx;
		} else {
			p->given_up = 0;
			if (p->n_rtt < PERF_MAX_SAMPLES)
				p->rtt[p->n_rtt++] = t - ts;
		}
		if (p->interval > 0 && secs(t - last_t) >= p->interval)
			progress(p, t, &last_t, &last_tx, &last_rx);
	}
	p->t_end = t;
	/* A reply given up on may still come (it then counts as reordered:
	 * late, not lost): a loaded machine can hold one past the timeout. */
	if (p->lost)
		while (now_ns() - t < PERF_DRAIN_NS && !stop) {
			uint64_t ts, late = p->reordered;

			if (recv_burst(p, &ts) < 0)
				return -1;
			/* A late one is lost and reordered, not in flight. */
			late = p->reordered - late;
			p->given_up -= late < p->given_up ? late : p->given_up;
		}
	return 0;
}

/*
 * The run ended (done, stopped or failed at time t): frames the loop sent
 * after the last one that came back are in flight, not lost; nothing sent
 * later has overtaken them. (tx and rx modes do not expect frames back.)
 */
static void finish(struct perf *p, uint64_t t)
{
	if (!p->t_end)
		p->t_end = t;
	if ((p->mode == MODE_LOOP || p->mode == MODE_PINGPONG) && p->tx > p->next_rx_seq)
		p->in_flight = p->tx - p->next_rx_seq;
	/* Pings given up after the last reply: nothing later came back, so
	 * they are in flight too (with a device that failed, they went with
	 * it), not lost. */
	p->lost -= p->given_up;
	p->in_flight += p->given_up;
	p->given_up = 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vnetperf [OPTIONS] [[URI] tx|rx|loop|pingpong]\n"
		"  with no mode: loop\n"
		"  URI defaults to sim:loopback (the built-in simulated device)\n"
		"  -s, --size N       frame size in bytes, Ethernet header included (60..MTU+14; 64)\n"
		"  -n, --count N      stop after N frames\n"
		"  -d, --duration S   stop after S seconds (5 when no count is given);\n"
		"                     with both, whichever comes first\n"
		"  -b, --batch N      frames per burst (1..%d; 32)\n"
		"  -q, --queue N      queue pair (0)\n"
		"  -Q, --pairs N      tx, rx, loop: one thread on each of N queue pairs from -q's\n"
		"                     (1..%d; 1); -n counts per pair\n"
		"  -a, --api API      burst (zero-copy, default) or socket (vnet_sendmmsg/recvmmsg)\n"
		"  -i, --interval S   seconds between progress lines, 0 for none (1)\n"
		"  -w, --wait MODE    pingpong: busy (spin, default) or irq (sleep on the interrupt)\n"
		"  -B, --busy-poll US with --wait irq: poll this long before sleeping (default: a\n"
		"                     budget libvnet learns, at most 50 us)\n"
		"  -T, --tso MSS      send TCP/IPv4 frames of --size bytes (70..%u) that the device\n"
		"                     cuts into MSS-byte segments (needs its TSO; opens it with\n"
		"                     offload=on); receivers count a frame at its first segment\n"
		"  -j, --json         print the summary as one JSON object\n"
		"  -h, --help\n", PERF_MAX_BATCH, PERF_MAX_PAIRS, PERF_TSO_MAX);
}

static int parse_num(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(struct perf *p, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' }, { "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' }, { "batch", required_argument, NULL, 'b' },
		{ "queue", required_argument, NULL, 'q' }, { "api", required_argument, NULL, 'a' },
		{ "interval", required_argument, NULL, 'i' }, { "json", no_argument, NULL, 'j' },
		{ "wait", required_argument, NULL, 'w' }, { "busy-poll", required_argument, NULL, 'B' },
		{ "pairs", required_argument, NULL, 'Q' }, { "tso", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	bool have_duration = false;
	int c, i;
	double v;

	while ((c = getopt_long(argc, argv, "s:n:d:b:q:Q:a:i:w:B:T:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': if (parse_num(optarg, PERF_MIN_SIZE, PERF_TSO_MAX, &v)) goto bad; p->size = (unsigned)v; break;
		case 'T': if (parse_num(optarg, 1, 9000, &v)) goto bad; p->tso = (unsigned)v; break;
		case 'n': if (parse_num(optarg, 1, 1e15, &v)) goto bad; p->count = (uint64_t)v; break;
		case 'd': if (parse_num(optarg, 0.001, 1e6, &v)) goto bad; p->duration = v; have_duration = true; break;
		case 'b': if (parse_num(optarg, 1, PERF_MAX_BATCH, &v)) goto bad; p->batch = (unsigned)v; break;
		case 'q': if (parse_num(optarg, 0, 65535, &v)) goto bad; p->queue = (unsigned)v; break;
		case 'Q': if (parse_num(optarg, 1, PERF_MAX_PAIRS, &v)) goto bad; p->pairs = (unsigned)v; break;
		case 'i': if (parse_num(optarg, 0, 3600, &v)) goto bad; p->interval = v; break;
		case 'a':
			if (!strcmp(optarg, "burst"))
				p->api = API_BURST;
			else if (!strcmp(optarg, "socket"))
				p->api = API_SOCKET;
			else
				goto bad;
			break;
		case 'B': if (parse_num(optarg, 0, 1e6, &v)) goto bad; p->busy_us = (int)v; break;
		case 'w':
			if (!strcmp(optarg, "busy"))
				p->wait = WAIT_BUSY;
			else if (!strcmp(optarg, "irq"))
				p->wait = WAIT_IRQ;
			else
				goto bad;
			break;
		case 'j': p->json = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (argc - optind > 2) {
		usage(stderr);
		return -1;
	}
	/* A count alone runs until it is reached; with -d, both bound the run. */
	if (p->count && !have_duration)
		p->duration = 0;
	if (p->tso && p->size < PERF_TSO_HDR + 16) {
		fprintf(stderr, "vnetperf: --tso frames need --size %u or more (TCP/IPv4 headers "
			"and vnetperf's fields)\n", PERF_TSO_HDR + 16);
		return -1;
	}
	if (argc - optind == 0) {
		p->mode = MODE_LOOP;
		return 0;
	}
	if (argc - optind == 2)
		p->uri = argv[optind++];
	for (i = 0; i < 4 && strcmp(argv[optind], perf_mode_names[i]); i++)
		;
	if (i == 4) {
		fprintf(stderr, "vnetperf: unknown mode '%s' (tx, rx, loop or pingpong)\n", argv[optind]);
		return -1;
	}
	p->mode = (enum perf_mode)i;
	if (p->mode == MODE_PINGPONG && p->pairs > 1) {
		fprintf(stderr, "vnetperf: -Q is for tx, rx and loop, not pingpong\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "vnetperf: bad value '%s' for -%c (see vnetperf --help)\n", optarg, c);
	return -1;
}

/* Open pair p's queue: on its own socket (sockets of one URI share the
 * device), or on dev, the device opened by pair 0 (NULL: open it). */
static int open_pair(struct perf *p, struct vnet_dev *dev)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	char uri[512];

	p->info.sz = sizeof(p->info);
	if (p->api == API_SOCKET) {
		/* --tso: offloads on (the URI is how a socket's device opens). */
		if ((size_t)snprintf(uri, sizeof(uri), "%s%s", p->uri,
				     !p->tso ? "" : strchr(p->uri, '?') ? "&offload=on" : "?offload=on") >=
		    sizeof(uri)) {
			errno = EINVAL;
			return -1;
		}
		p->fd = vnet_socket(uri, p->queue, 0);
		if (p->fd < 0 || vnet_socket_info(p->fd, &p->info) < 0 ||
		    (p->busy_us >= 0 && vnet_socket_set(p->fd, VNET_SO_BUSY_POLL_US, p->busy_us) < 0) ||
		    (p->tso && vnet_socket_set(p->fd, VNET_SO_VNET_HDR, 1) < 0))
			return -1;
		p->hdr = p->tso ? VNET_VNET_HDR_LEN : 0;
		p->dev = vnet_socket_dev(p->fd);
		p->frames = calloc(PERF_MAX_BATCH, (p->size > p->info.mtu + 18u ? p->size : p->info.mtu + 18u) +
				   p->hdr);
		return p->frames ? 0 : -1;
	}
	if (p->tso)
		o.flags = VNET_DEV_F_OFFLOAD;
	if (dev)
		p->dev = dev;
	else if (vnet_dev_open(p->uri, &o, &p->dev) < 0)
		return -1;
	if (vnet_dev_info(p->dev, &p->info) < 0)
		return -1;
	p->q = vnet_dev_queue(p->dev, p->queue);
	return p->q && vnet_queue_busy_poll(p->q, p->busy_us) == 0 ? 0 : -1;
}

/* Pairs w[1..n-1] are w[0]'s options on the following queue pairs; the
 * device delivers to all of them (a source device sends on the active
 * pairs only). */
static int open_device(struct perf *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (i) {
			w[i] = w[0];
			w[i].queue = w[0].queue + i;
			w[i].fd = -1;
			w[i].frames = NULL;
		}
		if (open_pair(&w[i], i ? w[0].dev : NULL) < 0)
			return -1;
	}
	if (n > 1 && w[0].info.active_pairs < w[0].queue + n)
		return vnet_dev_set_queue_pairs(w[0].dev, w[0].queue + n);
	return 0;
}

/* errno and vnet_last_error() of this thread; pair: its queue, or -1. */
static void report_error(const char *uri, int pair)
{
	char where[24] = "";

	if (pair >= 0)
		snprintf(where, sizeof(where), " queue pair %d", pair);
	fprintf(stderr, "vnetperf: %s%s: %s%s%s\n", uri, where, strerror(errno),
		*vnet_last_error() ? ": " : "", vnet_last_error());
}

/* One pair's run; its failure (reported here: errno and vnet_last_error()
 * are this thread's) ends the others too. */
static void *run_pair(void *arg)
{
	struct perf *p = arg;
	int rc = p->mode == MODE_PINGPONG ? run_pingpong(p) : run_stream(p);

	if (rc) {
		report_error(p->uri, p->pairs > 1 ? (int)p->queue : -1);
		p->failed = true;
		stop = 1;
	}
	/* The counters up to the failure are the run's result too. */
	if (p->t_start)
		finish(p, now_ns());
	return NULL;
}

/* Pair 0 runs in this thread, the others in threads of their own. */
static int run_pairs(struct perf *w, unsigned n)
{
	unsigned started = 1;
	int err = 0;

	for (; started < n; started++) {
		err = pthread_create(&w[started].thread, NULL, run_pair, &w[started]);
		if (err) {
			fprintf(stderr, "vnetperf: cannot start a thread: %s\n", strerror(err));
			stop = 1;
			break;
		}
	}
	if (!err)
		run_pair(&w[0]);
	for (unsigned i = 1; i < started; i++)
		pthread_join(w[i].thread, NULL);
	for (unsigned i = 0; i < n; i++)
		if (w[i].failed)
			err = 1;
	return err;
}

int main(int argc, char **argv)
{
	struct perf w[PERF_MAX_PAIRS] = { {
		.uri = "sim:loopback", .size = 64, .batch = 32, .duration = 5, .interval = 1, .fd = -1,
		.busy_us = -1, .pairs = 1,
	} };
	struct perf *p = &w[0];
	unsigned n;
	int rc;

	if (parse_args(p, argc, argv))
		return 2;
	n = p->pairs;
	for (unsigned i = 1; i < PERF_MAX_PAIRS; i++)
		w[i].fd = -1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (open_device(w, n)) {
		report_error(p->uri, -1);
		rc = 1;
		goto out;
	}
	if (p->tso && !(p->info.offloads & VNET_OFFLOAD_TX_TSO4)) {
		fprintf(stderr, "vnetperf: --tso: the device did not agree to TSO over IPv4 "
			"(VIRTIO_NET_F_HOST_TSO4; offloads 0x%x)\n", p->info.offloads);
		rc = 1; /* the device's limit, not a bad argument (vnetperf(1)) */
		goto out;
	}
	if (!p->tso && p->size > p->info.mtu + 14u) {
		fprintf(stderr, "vnetperf: frame size %u exceeds MTU %u + 14\n", p->size, p->info.mtu);
		rc = 2;
		goto out;
	}
	if (!p->json)
		printf("vnetperf: %s (%s) mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u, %s\n", p->uri,
		       p->info.access, p->info.mac[0], p->info.mac[1], p->info.mac[2], p->info.mac[3],
		       p->info.mac[4], p->info.mac[5], p->info.mtu, perf_mode_names[p->mode]);
	fflush(stdout);
	rc = run_pairs(w, n);
	if (p->t_start)
		perf_summary(w, n);
out:
	for (unsigned i = 0; i < n; i++) {
		if (w[i].fd >= 0)
			vnet_close(w[i].fd);
		free(w[i].frames);
	}
	if (p->api == API_BURST)
		vnet_dev_close(p->dev);
	free(p->rtt);
	return rc;
}
