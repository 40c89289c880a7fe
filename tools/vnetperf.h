/* SPDX-License-Identifier: MIT */
/* vnetperf (vnetperf.c): its run state, the summary (vnetperf_report.c) and
 * the TSO frames (vnetperf_tso.c). */
#ifndef VNETPERF_H
#define VNETPERF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnet/vnet.h"

#define PERF_ETHERTYPE 0x88b5
#define PERF_SEQ_OFF 14
#define PERF_TS_OFF 22
#define PERF_MIN_SIZE 60
#define PERF_MAX_BATCH 256
#define PERF_MAX_SAMPLES (1u << 20)
#define PERF_PING_TIMEOUT_NS 1000000000ull
#define PERF_DRAIN_NS 200000000ull
#define PERF_MAX_PAIRS 16 /* what vnet_dev_open() sets up at most */

enum perf_mode { MODE_TX, MODE_RX, MODE_LOOP, MODE_PINGPONG };
enum perf_api { API_BURST, API_SOCKET };
enum perf_wait { WAIT_BUSY, WAIT_IRQ };

struct perf {
	/* options */
	const char *uri;
	enum perf_mode mode;
	enum perf_api api;
	unsigned size, batch, queue;
	unsigned pairs;        /* -Q: queue pairs queue .. queue + pairs - 1, a thread each */
	uint64_t count;        /* 0: none */
	double duration, interval; /* duration 0: none */
	bool json;
	enum perf_wait wait;   /* pingpong: spin, or sleep on the interrupt */
	int busy_us;           /* with WAIT_IRQ: poll this long before sleeping; -1: libvnet's
				  learned budget (vnet_queue_busy_poll()) */
	unsigned tso;          /* --tso: MSS of the TSO frames sent; 0: plain frames */
	size_t hdr;            /* socket API with --tso: VNET_SO_VNET_HDR bytes per frame */
	/* device */
	struct vnet_dev *dev;
	struct vnet_queue *q;
	int fd;
	struct vnet_dev_info info;
	uint8_t *frames;       /* socket API: batch frames of size bytes */
	/* counters */
	uint64_t tx, rx, rx_bytes, lost, in_flight, reordered, corrupt, next_rx_seq;
	uint64_t given_up;     /* pingpong: pings timed out since the last reply */
	bool failed;           /* the device failed: the run ended early */
	uint64_t *rtt;
	size_t n_rtt;
	uint64_t t_start, t_end;
	pthread_t thread;
};

/* "tx", "rx", "loop", "pingpong": by enum perf_mode. */
extern const char *const perf_mode_names[];

/* The device's own handle (the socket API's too). */
struct vnet_dev *perf_dev(const struct perf *p);

static inline double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* The run's summary, text or -j JSON (vnetperf_report.c). */
void perf_summary(struct perf *w, unsigned n);

/* Ethernet, IPv4 and TCP headers: where the vnetperf fields start. */
#define PERF_TSO_HDR 54u
/* Largest --tso frame: 65535 IPv4 bytes after the Ethernet header. */
#define PERF_TSO_MAX 65549u

/* Build a TSO frame of len bytes (>= PERF_TSO_HDR) for sequence number seq:
 * the headers; the caller writes the payload from PERF_TSO_HDR on. */
void perf_tso_fill(uint8_t *f, size_t len, const uint8_t mac[6], uint64_t seq);
/* The metadata of such a frame cut into mss payload bytes. */
void perf_tso_offload(struct vnet_offload *o, unsigned mss);
/* A received frame (len bytes in f): 1 the first segment of a vnetperf
 * TSO frame (or the whole GSO frame), 0 a later segment, -1 something else. */
int perf_tso_kind(const uint8_t *f, size_t len);

#endif
