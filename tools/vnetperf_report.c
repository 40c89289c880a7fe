/* SPDX-License-Identifier: MIT */
/* vnetperf's summary at the end of a run, as text or (-j) JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "json.h"
#include "vnetperf.h"

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

/*
 * -j: the device's counters at the end, as vnetconf stats names them: the
 * queue pair's, and every device-level one (vnet_dev_xstats()), so that
 * frames the run lost can be matched with drops counted.
 */
static void json_dev(struct json *j, const struct perf *p)
{
	struct vnet_queue_stats st = { .sz = sizeof(st) };
	struct vnet_dev *d = perf_dev(p);
	struct vnet_xstat xs[256];
	int n;

	if (!d || vnet_queue_stats(d, p->queue, &st) < 0)
		return;
	json_key(j, "dev");
	json_obj_open(j);
	json_kuint(j, "rx_packets", st.rx_packets);
	json_kuint(j, "rx_dropped", st.rx_dropped);
	json_kuint(j, "rx_errors", st.rx_errors);
	json_kuint(j, "tx_packets", st.tx_packets);
	json_kuint(j, "tx_errors", st.tx_errors);
	n = vnet_dev_xstats(d, xs, 256);
	for (int i = 0; i < n && i < 256; i++)
		json_kuint(j, xs[i].name, xs[i].value);
	json_obj_close(j);
}

static double run_secs(const struct perf *p)
{
	return p->t_end > p->t_start ? secs(p->t_end - p->t_start) : 1e-9;
}

static double run_gbps(const struct perf *p)
{
	return (double)(p->mode == MODE_TX ? p->tx * p->size : p->rx_bytes) * 8 / run_secs(p) / 1e9;
}

/* The counters of one pair, or of the whole run, as JSON members. */
static void json_counters(struct json *j, const struct perf *p)
{
	double dt = run_secs(p);

	json_key(j, "seconds");
	json_double(j, dt, 3);
	json_kuint(j, "tx_frames", p->tx);
	json_kuint(j, "rx_frames", p->rx);
	json_key(j, "tx_pps");
	json_double(j, (double)p->tx / dt, 0);
	json_key(j, "rx_pps");
	json_double(j, (double)p->rx / dt, 0);
	json_key(j, "gbit_s");
	json_double(j, run_gbps(p), 3);
	json_kuint(j, "lost", p->lost);
	json_kuint(j, "in_flight", p->in_flight);
	json_kuint(j, "reordered", p->reordered);
	json_kuint(j, "corrupt", p->corrupt);
	json_kbool(j, "failed", p->failed);
}

/* The sum of the pairs' counters, over the time from the first start to
 * the last end. */
static struct perf total(const struct perf *w, unsigned n)
{
	struct perf t = w[0];

	for (unsigned i = 1; i < n; i++) {
		t.tx += w[i].tx;
		t.rx += w[i].rx;
		t.rx_bytes += w[i].rx_bytes;
		t.lost += w[i].lost;
		t.in_flight += w[i].in_flight;
		t.reordered += w[i].reordered;
		t.corrupt += w[i].corrupt;
		t.failed |= w[i].failed;
		if (w[i].t_start && w[i].t_start < t.t_start)
			t.t_start = w[i].t_start;
		if (w[i].t_end > t.t_end)
			t.t_end = w[i].t_end;
	}
	return t;
}

/* The run's summary: the totals (for one pair, its counters) and, with
 * more than one pair, each pair's. */
void perf_summary(struct perf *w, unsigned n)
{
	struct perf all = total(w, n), *p = &all;
	double dt = run_secs(p);

	if (p->n_rtt)
		qsort(p->rtt, p->n_rtt, sizeof(*p->rtt), cmp_u64);
	if (p->json) {
		struct json j;

		json_init(&j, stdout, false);
		json_obj_open(&j);
		json_kstr(&j, "uri", p->uri);
		json_kstr(&j, "mode", perf_mode_names[p->mode]);
		json_kstr(&j, "api", p->api == API_SOCKET ? "socket" : "burst");
		json_kstr(&j, "wait", p->wait == WAIT_IRQ ? "irq" : "busy");
		json_kuint(&j, "size", p->size);
		json_kuint(&j, "batch", p->batch);
		json_kuint(&j, "tso", p->tso);
		json_kuint(&j, "pairs", n);
		json_counters(&j, p);
		if (p->mode == MODE_PINGPONG) {
			json_key(&j, "rtt_ns");
			json_obj_open(&j);
			json_kuint(&j, "samples", p->n_rtt);
			json_kuint(&j, "p50", pct(p, .5));
			json_kuint(&j, "p99", pct(p, .99));
			json_kuint(&j, "p999", pct(p, .999));
			json_obj_close(&j);
		}
		json_dev(&j, p);
		if (n > 1) {
			json_key(&j, "per_pair");
			json_arr_open(&j);
			for (unsigned i = 0; i < n; i++) {
				json_obj_open(&j);
				json_kuint(&j, "queue", w[i].queue);
				json_counters(&j, &w[i]);
				json_obj_close(&j);
			}
			json_arr_close(&j);
		}
		json_obj_close(&j);
		json_end(&j);
		return;
	}
	printf("%s %s on %s (%s API, %s wait, %u-byte frames, batch %u", "vnetperf",
	       perf_mode_names[p->mode], p->uri, p->api == API_SOCKET ? "socket" : "burst",
	       p->wait == WAIT_IRQ ? "irq" : "busy", p->size, p->batch);
	if (n > 1)
		printf(", queue pairs %u-%u", p->queue, p->queue + n - 1);
	if (p->tso)
		printf(", TSO segments of %u bytes", p->tso);
	printf("), %.2f s%s:\n", dt, p->failed ? ", ended by the device's failure" : "");
	printf("  tx %" PRIu64 " frames  %.0f pps\n", p->tx, (double)p->tx / dt);
	printf("  rx %" PRIu64 " frames  %.0f pps  %.3f Gbit/s\n", p->rx, (double)p->rx / dt,
	       run_gbps(p));
	printf("  lost %" PRIu64 "  in flight %" PRIu64 "  reordered %" PRIu64 "  corrupt %" PRIu64 "\n",
	       p->lost, p->in_flight, p->reordered, p->corrupt);
	if (p->mode == MODE_PINGPONG)
		printf("  rtt p50 %.1f us  p99 %.1f us  p99.9 %.1f us (%zu samples)\n",
		       pct(p, .5) / 1e3, pct(p, .99) / 1e3, pct(p, .999) / 1e3, p->n_rtt);
	for (unsigned i = 0; n > 1 && i < n; i++)
		printf("  q%u: tx %" PRIu64 " (%.0f pps)  rx %" PRIu64 " (%.0f pps)  lost %" PRIu64
		       "  in flight %" PRIu64 "  reordered %" PRIu64 "  corrupt %" PRIu64 "%s\n",
		       w[i].queue, w[i].tx, (double)w[i].tx / run_secs(&w[i]), w[i].rx,
		       (double)w[i].rx / run_secs(&w[i]), w[i].lost, w[i].in_flight,
		       w[i].reordered, w[i].corrupt, w[i].failed ? "  failed" : "");
}
