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
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "vnet/socket.h"
#include "vnet/vnet.h"

#define PERF_ETHERTYPE 0x88b5
#define PERF_SEQ_OFF 14
#define PERF_TS_OFF 22
#define PERF_MIN_SIZE 60
#define PERF_MAX_BATCH 256
#define PERF_MAX_SAMPLES (1u << 20)
#define PERF_PING_TIMEOUT_NS 1000000000ull
#define PERF_DRAIN_NS 200000000ull

enum perf_mode { MODE_TX, MODE_RX, MODE_LOOP, MODE_PINGPONG };
enum perf_api { API_BURST, API_SOCKET };
enum perf_wait { WAIT_BUSY, WAIT_IRQ };

struct perf {
	/* options */
	const char *uri;
	enum perf_mode mode;
	enum perf_api api;
	unsigned size, batch, queue;
	uint64_t count;        /* 0: none */
	double duration, interval; /* duration 0: none */
	bool json;
	enum perf_wait wait;   /* pingpong: spin, or sleep on the interrupt */
	int busy_us;           /* with WAIT_IRQ: poll this long before sleeping */
	/* device */
	struct vnet_dev *dev;
	struct vnet_queue *q;
	int fd;
	struct vnet_dev_info info;
	uint8_t *frames;       /* socket API: batch frames of size bytes */
	/* counters */
	uint64_t tx, rx, rx_bytes, lost, in_flight, reordered, corrupt, next_rx_seq;
	bool failed;           /* the device failed: the run ended early */
	uint64_t *rtt;
	size_t n_rtt;
	uint64_t t_start, t_end;
};

static volatile sig_atomic_t stop;

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

static void fill_frame(const struct perf *p, uint8_t *f, uint64_t seq)
{
	memcpy(f, p->info.mac, 6);
	memcpy(f + 6, p->info.mac, 6);
	f[12] = PERF_ETHERTYPE >> 8;
	f[13] = PERF_ETHERTYPE & 0xff;
	put_le64(f + PERF_SEQ_OFF, seq);
	put_le64(f + PERF_TS_OFF, now_ns());
	memset(f + PERF_TS_OFF + 8, (int)(seq & 0xff), p->size - PERF_TS_OFF - 8);
}

/* Account one received frame (of len bytes; f holds at least its first
 * segment). Returns its timestamp. */
static uint64_t account_rx(struct perf *p, const uint8_t *f, size_t seg_len, size_t len)
{
	uint64_t seq;

	p->rx++;
	p->rx_bytes += len;
	if (seg_len < PERF_TS_OFF + 8 || f[12] != PERF_ETHERTYPE >> 8 ||
	    f[13] != (PERF_ETHERTYPE & 0xff)) {
		p->corrupt++;
		return 0;
	}
	seq = get_le64(f + PERF_SEQ_OFF);
	if (seq > p->next_rx_seq)
		p->lost += seq - p->next_rx_seq;
	else if (seq < p->next_rx_seq)
		p->reordered++;
	if (seq >= p->next_rx_seq)
		p->next_rx_seq = seq + 1;
	return get_le64(f + PERF_TS_OFF);
}

/* The device's own device handle (the socket API's too). */
static struct vnet_dev *perf_dev(const struct perf *p)
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
			m[i].buf = p->frames + (size_t)i * p->size;
			m[i].len = p->size;
			fill_frame(p, m[i].buf, p->tx + i);
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
			m[i].buf = p->frames + (size_t)i * p->size;
			m[i].len = p->size;
		}
		got = vnet_recvmmsg(p->fd, m, p->batch, MSG_DONTWAIT);
		if (got < 0)
			return errno == EAGAIN ? 0 : -1;
		for (int i = 0; i < got; i++)
			*last_ts = account_rx(p, m[i].buf,
					      m[i].msg_len < m[i].len ? m[i].msg_len : m[i].len,
					      m[i].msg_len);
		return got;
	}
	struct vnet_buf b[PERF_MAX_BATCH];

	got = vnet_rx_peek(p->q, b, p->batch);
	for (int i = 0; i < got; i++) {
		size_t len = b[i].len;
		int first = i;

		while (b[i].flags & VNET_BUF_MORE && i + 1 < got)
			len += b[++i].len;
		*last_ts = account_rx(p, b[first].data, b[first].len, len);
		frames++;
	}
	if (got > 0 && vnet_rx_release(p->q, b, (unsigned)got) < 0)
		return -1;
	return got < 0 ? -1 : frames;
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void progress(const struct perf *p, uint64_t t, uint64_t *last_t,
		     uint64_t *last_tx, uint64_t *last_rx)
{
	double dt = secs(t - *last_t);

	printf("[%6.1fs] tx %10.0f pps  rx %10.0f pps  %7.3f Gbit/s  lost %" PRIu64 "\n",
	       secs(t - p->t_start), (double)(p->tx - *last_tx) / dt,
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
 * Interrupt mode: busy-poll for busy_us after the send, then sleep until
 * the RX interrupt (vnet_wait() or, with the socket API, vnet_poll()).
 */
static int wait_rx(struct perf *p, uint64_t sent_at)
{
	int rc;

	if (now_ns() - sent_at < (uint64_t)p->busy_us * 1000u)
		return 0;
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
			if (p->rx == rx0 && p->wait == WAIT_IRQ && wait_rx(p, sent_at) < 0)
				return -1;
		}
		t = now_ns();
		if (p->rx == rx0 && stop)
			break; /* the ping is in flight at the stop, not lost */
		if (p->rx == rx0) {
			/* Lost after the timeout; should it come back later, it
			 * counts as reordered, not as a gap before the next. */
			p->lost++;
			p->next_rx_seq = p->tx;
		} else if (p->n_rtt < PERF_MAX_SAMPLES)
			p->rtt[p->n_rtt++] = t - ts;
		if (p->interval > 0 && secs(t - last_t) >= p->interval)
			progress(p, t, &last_t, &last_tx, &last_rx);
	}
	p->t_end = t;
	/* A reply given up on may still come (it then counts as reordered:
	 * late, not lost): a loaded machine can hold one past the timeout. */
	if (p->lost)
		while (now_ns() - t < PERF_DRAIN_NS && !stop) {
			uint64_t ts;

			if (recv_burst(p, &ts) < 0)
				return -1;
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
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(const struct perf *p, double q)
{
	size_t i = (size_t)(q * (double)(p->n_rtt - 1) + 0.5);

	return p->n_rtt ? p->rtt[i] : 0;
}

static const char *const mode_names[] = { "tx", "rx", "loop", "pingpong" };

/*
 * -j: the device's counters at the end, as vnetconf stats names them: the
 * queue pair's, and every device-level one (vnet_dev_xstats()), so that
 * frames the run lost can be matched with drops counted.
 */
static void json_dev(const struct perf *p)
{
	struct vnet_queue_stats st = { .sz = sizeof(st) };
	struct vnet_dev *d = perf_dev(p);
	struct vnet_xstat xs[256];
	int n;

	if (!d || vnet_queue_stats(d, p->queue, &st) < 0)
		return;
	printf(",\"dev\":{\"rx_packets\":%" PRIu64 ",\"rx_dropped\":%" PRIu64
	       ",\"rx_errors\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",\"tx_errors\":%" PRIu64,
	       st.rx_packets, st.rx_dropped, st.rx_errors, st.tx_packets, st.tx_errors);
	n = vnet_dev_xstats(d, xs, 256);
	for (int i = 0; i < n && i < 256; i++)
		printf(",\"%s\":%" PRIu64, xs[i].name, xs[i].value);
	printf("}");
}

static void summary(struct perf *p)
{
	double dt = p->t_end > p->t_start ? secs(p->t_end - p->t_start) : 1e-9;
	double tx_pps = (double)p->tx / dt, rx_pps = (double)p->rx / dt;
	double gbps = (double)(p->mode == MODE_TX ? p->tx * p->size : p->rx_bytes) * 8 / dt / 1e9;

	if (p->n_rtt)
		qsort(p->rtt, p->n_rtt, sizeof(*p->rtt), cmp_u64);
	if (p->json) {
		printf("{\"uri\":\"%s\",\"mode\":\"%s\",\"api\":\"%s\",\"wait\":\"%s\",\"size\":%u,\"batch\":%u,"
		       "\"seconds\":%.3f,\"tx_frames\":%" PRIu64 ",\"rx_frames\":%" PRIu64 ","
		       "\"tx_pps\":%.0f,\"rx_pps\":%.0f,\"gbit_s\":%.3f,\"lost\":%" PRIu64 ","
		       "\"in_flight\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"corrupt\":%" PRIu64
		       ",\"failed\":%s",
		       p->uri, mode_names[p->mode], p->api == API_SOCKET ? "socket" : "burst",
		       p->wait == WAIT_IRQ ? "irq" : "busy", p->size, p->batch, dt, p->tx, p->rx, tx_pps, rx_pps, gbps, p->lost,
		       p->in_flight, p->reordered, p->corrupt, p->failed ? "true" : "false");
		if (p->mode == MODE_PINGPONG)
			printf(",\"rtt_ns\":{\"samples\":%zu,\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
			       ",\"p999\":%" PRIu64 "}", p->n_rtt, pct(p, .5), pct(p, .99), pct(p, .999));
		json_dev(p);
		printf("}\n");
		return;
	}
	printf("%s %s on %s (%s API, %s wait, %u-byte frames, batch %u), %.2f s%s:\n",
	       "vnetperf", mode_names[p->mode], p->uri, p->api == API_SOCKET ? "socket" : "burst",
	       p->wait == WAIT_IRQ ? "irq" : "busy", p->size, p->batch, dt,
	       p->failed ? ", ended by the device's failure" : "");
	printf("  tx %" PRIu64 " frames  %.0f pps\n", p->tx, tx_pps);
	printf("  rx %" PRIu64 " frames  %.0f pps  %.3f Gbit/s\n", p->rx, rx_pps, gbps);
	printf("  lost %" PRIu64 "  in flight %" PRIu64 "  reordered %" PRIu64 "  corrupt %" PRIu64 "\n",
	       p->lost, p->in_flight, p->reordered, p->corrupt);
	if (p->mode == MODE_PINGPONG)
		printf("  rtt p50 %.1f us  p99 %.1f us  p99.9 %.1f us (%zu samples)\n",
		       pct(p, .5) / 1e3, pct(p, .99) / 1e3, pct(p, .999) / 1e3, p->n_rtt);
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
		"  -a, --api API      burst (zero-copy, default) or socket (vnet_sendmmsg/recvmmsg)\n"
		"  -i, --interval S   seconds between progress lines, 0 for none (1)\n"
		"  -w, --wait MODE    pingpong: busy (spin, default) or irq (sleep on the interrupt)\n"
		"  -B, --busy-poll US with --wait irq: poll this long before sleeping (0)\n"
		"  -j, --json         print the summary as one JSON object\n"
		"  -h, --help\n", PERF_MAX_BATCH);
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
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	bool have_duration = false;
	int c, i;
	double v;

	while ((c = getopt_long(argc, argv, "s:n:d:b:q:a:i:w:B:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': if (parse_num(optarg, PERF_MIN_SIZE, 65535, &v)) goto bad; p->size = (unsigned)v; break;
		case 'n': if (parse_num(optarg, 1, 1e15, &v)) goto bad; p->count = (uint64_t)v; break;
		case 'd': if (parse_num(optarg, 0.001, 1e6, &v)) goto bad; p->duration = v; have_duration = true; break;
		case 'b': if (parse_num(optarg, 1, PERF_MAX_BATCH, &v)) goto bad; p->batch = (unsigned)v; break;
		case 'q': if (parse_num(optarg, 0, 65535, &v)) goto bad; p->queue = (unsigned)v; break;
		case 'i': if (parse_num(optarg, 0, 3600, &v)) goto bad; p->interval = v; break;
		case 'a':
			if (!strcmp(optarg, "burst"))
				p->api = API_BURST;
			else if (!strcmp(optarg, "socket"))
				p->api = API_SOCKET;
			else
				goto bad;
			break;
		case 'B': if (parse_num(optarg, 0, 1e7, &v)) goto bad; p->busy_us = (int)v; break;
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
	if (argc - optind == 0) {
		p->mode = MODE_LOOP;
		return 0;
	}
	if (argc - optind == 2)
		p->uri = argv[optind++];
	for (i = 0; i < 4 && strcmp(argv[optind], mode_names[i]); i++)
		;
	if (i == 4) {
		fprintf(stderr, "vnetperf: unknown mode '%s' (tx, rx, loop or pingpong)\n", argv[optind]);
		return -1;
	}
	p->mode = (enum perf_mode)i;
	return 0;
bad:
	fprintf(stderr, "vnetperf: bad value '%s' for -%c (see vnetperf --help)\n", optarg, c);
	return -1;
}

static int open_device(struct perf *p)
{
	p->info.sz = sizeof(p->info);
	if (p->api == API_SOCKET) {
		p->fd = vnet_socket(p->uri, p->queue, 0);
		if (p->fd < 0 || vnet_socket_info(p->fd, &p->info) < 0)
			return -1;
		p->frames = calloc(PERF_MAX_BATCH, p->info.mtu + 18u);
		return p->frames ? 0 : -1;
	}
	if (vnet_dev_open(p->uri, NULL, &p->dev) < 0 || vnet_dev_info(p->dev, &p->info) < 0)
		return -1;
	p->q = vnet_dev_queue(p->dev, p->queue);
	return p->q ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct perf p = {
		.uri = "sim:loopback", .size = 64, .batch = 32, .duration = 5, .interval = 1, .fd = -1,
	};
	int rc;

	if (parse_args(&p, argc, argv))
		return 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (open_device(&p)) {
		fprintf(stderr, "vnetperf: %s: %s%s%s\n", p.uri, strerror(errno),
			*vnet_last_error() ? ": " : "", vnet_last_error());
		rc = 1;
		goto out;
	}
	if (p.size > p.info.mtu + 14u) {
		fprintf(stderr, "vnetperf: frame size %u exceeds MTU %u + 14\n", p.size, p.info.mtu);
		rc = 2;
		goto out;
	}
	if (!p.json)
		printf("vnetperf: %s (%s) mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u, %s\n", p.uri,
		       p.info.access, p.info.mac[0], p.info.mac[1], p.info.mac[2], p.info.mac[3],
		       p.info.mac[4], p.info.mac[5], p.info.mtu, mode_names[p.mode]);
	rc = p.mode == MODE_PINGPONG ? run_pingpong(&p) : run_stream(&p);
	if (rc) {
		fprintf(stderr, "vnetperf: %s: %s%s%s\n", p.uri, strerror(errno),
			*vnet_last_error() ? ": " : "", vnet_last_error());
		p.failed = true;
		rc = 1;
	}
	/* The counters up to the failure are the run's result too. */
	if (p.t_start) {
		finish(&p, now_ns());
		summary(&p);
	}
out:
	if (p.fd >= 0)
		vnet_close(p.fd);
	vnet_dev_close(p.dev);
	free(p.frames);
	free(p.rtt);
	return rc;
}
