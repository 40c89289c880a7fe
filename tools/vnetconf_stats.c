/* SPDX-License-Identifier: MIT */
/*
 * vnetconf stats [DEV]: a device's counters as ip -s link and ethtool -S
 * show them. The server names every counter ethtool-style
 * ("rx_queue_0_drops"); the summary adds up the per-queue ones by kind
 * (packets, bytes, drops, errors) and shows them under ip's names, and
 * -s -s lists every counter, device-level ones included, as it came.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_client.h"
#include "json.h"
#include "vnetconf.h"

/* The per-queue counters the summary shows: their suffix in the server's
 * names ("rx_queue_0_drops"), and what ip -s link calls them. */
enum { SUM_PACKETS, SUM_BYTES, SUM_DROPPED, SUM_ERRORS, N_SUM };
static const char *const sum_suffix[N_SUM] = { "packets", "bytes", "drops", "errors" };
static const char *const sum_names[N_SUM] = { "packets", "bytes", "dropped", "errors" };
enum { RX, TX };
static const char *const dir_names[2] = { "rx", "tx" };

struct qsum {
	uint64_t v[2][N_SUM];
	bool have[2][N_SUM];
};

/* The summary of a STATS_GET answer: totals and each queue's. */
struct summary {
	struct qsum total;
	unsigned n_queues;
	struct qsum *q;
};

/* A STATS_GET answer and its summary. */
struct counters {
	struct ctl_stats st;
	struct summary sum;
};

#define MAX_QUEUES 1024

/* "rx_queue_3_drops" -> RX, 3, SUM_DROPPED; false for anything else. */
static bool parse_stat_name(const char *name, int *dir, unsigned *queue, int *sum)
{
	char *end;
	unsigned long q;

	for (*dir = RX; *dir <= TX; (*dir)++)
		if (!strncmp(name, dir_names[*dir], 2) && !strncmp(name + 2, "_queue_", 7))
			break;
	if (*dir > TX || !isdigit((unsigned char)name[9]))
		return false;
	q = strtoul(name + 9, &end, 10);
	if (q >= MAX_QUEUES || *end != '_')
		return false;
	for (*sum = 0; *sum < N_SUM; (*sum)++)
		if (!strcmp(end + 1, sum_suffix[*sum])) {
			*queue = (unsigned)q;
			return true;
		}
	return false;
}

static int summarise(const struct ctl_stats *s, struct summary *sum)
{
	int dir, k;
	unsigned q;

	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < s->n; i++)
		if (parse_stat_name(s->v[i].name, &dir, &q, &k) && q >= sum->n_queues)
			sum->n_queues = q + 1;
	sum->q = calloc(sum->n_queues ? sum->n_queues : 1, sizeof(*sum->q));
	if (!sum->q) {
		err("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!parse_stat_name(s->v[i].name, &dir, &q, &k))
			continue;
		sum->q[q].v[dir][k] += s->v[i].value;
		sum->q[q].have[dir][k] = true;
		sum->total.v[dir][k] += s->v[i].value;
		sum->total.have[dir][k] = true;
	}
	return 0;
}

static void json_qsum(struct json *j, const struct qsum *q)
{
	for (int d = RX; d <= TX; d++) {
		json_key(j, dir_names[d]);
		json_obj_open(j);
		for (int k = 0; k < N_SUM; k++)
			if (q->have[d][k])
				json_kuint(j, sum_names[k], q->v[d][k]);
		json_obj_close(j);
	}
}

/* ip -s link's block: "RX:  packets  bytes ..." then the values. */
static void text_qsum(const struct qsum *q)
{
	for (int d = RX; d <= TX; d++) {
		printf("    %s: ", d == RX ? "RX" : "TX");
		for (int k = 0; k < N_SUM; k++)
			if (q->have[d][k])
				printf(" %12s", sum_names[k]);
		printf("\n        ");
		for (int k = 0; k < N_SUM; k++)
			if (q->have[d][k])
				printf(" %12" PRIu64, q->v[d][k]);
		printf("\n");
	}
}

static void text_queue(unsigned n, const struct qsum *q)
{
	printf("    queue %u:", n);
	for (int d = RX; d <= TX; d++) {
		printf("  %s", d == RX ? "rx" : "tx");
		for (int k = 0; k < N_SUM; k++)
			if (q->have[d][k])
				printf(" %s %" PRIu64, sum_names[k], q->v[d][k]);
	}
	printf("\n");
}

struct counters *counters_get(struct ctl_conn *conn)
{
	struct counters *k = calloc(1, sizeof(*k));

	if (!k) {
		err("out of memory");
		return NULL;
	}
	if (ctl_stats_get(conn, &k->st)) {
		err("stats %s: %s", conn->name, ctl_why());
		free(k);
		return NULL;
	}
	if (summarise(&k->st, &k->sum)) {
		counters_free(k);
		return NULL;
	}
	return k;
}

void counters_free(struct counters *k)
{
	if (!k)
		return;
	free(k->sum.q);
	ctl_stats_free(&k->st);
	free(k);
}

void counters_totals(const struct ctx *c, struct json *j, const struct counters *k)
{
	if (c->json)
		json_qsum(j, &k->sum.total);
	else
		text_qsum(&k->sum.total);
}

static int stats_one(const struct ctx *c, struct ctl_conn *conn, struct json *j)
{
	struct counters *k = counters_get(conn);
	struct ctl_stats *st;
	struct summary *sum;

	if (!k)
		return EXIT_FAILED;
	st = &k->st;
	sum = &k->sum;
	if (!st->name[0])
		snprintf(st->name, sizeof(st->name), "%s", conn->name);
	if (c->json) {
		json_obj_open(j);
		json_kstr(j, "name", st->name);
		counters_totals(c, j, k);
		json_key(j, "queues");
		json_arr_open(j);
		for (unsigned q = 0; q < sum->n_queues; q++) {
			json_obj_open(j);
			json_kuint(j, "queue", q);
			json_qsum(j, &sum->q[q]);
			json_obj_close(j);
		}
		json_arr_close(j);
		/* Every counter, queue and device-level, by its own name. */
		json_key(j, "counters");
		json_obj_open(j);
		for (size_t i = 0; i < st->n; i++)
			json_kuint(j, st->v[i].name, st->v[i].value);
		json_obj_close(j);
		json_obj_close(j);
	} else {
		text_clean(st->name);
		printf("%s:\n", st->name);
		counters_totals(c, NULL, k);
		for (unsigned q = 0; q < sum->n_queues; q++)
			text_queue(q, &sum->q[q]);
		if (c->stats >= 2) {
			printf("    counters:\n");
			for (size_t i = 0; i < st->n; i++) {
				text_clean(st->v[i].name);
				printf("        %s: %" PRIu64 "\n", st->v[i].name, st->v[i].value);
			}
		}
	}
	counters_free(k);
	return EXIT_OK;
}

int stats_show(const struct ctx *c, int argc, char **argv)
{
	const char *dev;
	int rc = target_arg("stats", argc, argv, &dev);

	return rc ? rc : visit(c, dev, stats_one);
}
