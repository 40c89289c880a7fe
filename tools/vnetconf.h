/* SPDX-License-Identifier: MIT */
/* What vnetconf's command files share (see vnetconf.c). */
#ifndef VNETCONF_H
#define VNETCONF_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"

/* Exit codes (vnetconf(8)). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* Global options. */
struct ctx {
	const char *state;  /* where dev bind remembers the previous driver */
	bool json, pretty;  /* -j, -p */
	bool details;       /* -d */
	int stats;          /* how many -s */
	bool real_sys;      /* sysfs is the real /sys: privilege checks apply */
};

/* "vnetconf: ..." on stderr. */
void err(const char *fmt, ...) VN_PRINTF(1, 2);

/* s abbreviates word (iproute2 style: any non-empty prefix). */
bool matches(const char *s, const char *word);

/* A decimal number up to max into *out (vnetconf_link.c); false when s is
 * not one. */
bool vc_parse_u32(const char *s, uint32_t max, uint32_t *out);

/* Command handlers: argv holds what follows the command words; each
 * returns an exit code. */
typedef int cmd_fn(const struct ctx *c, int argc, char **argv);
cmd_fn link_show, link_set, stats_show, mac_add, mac_del, vlan_add, vlan_del, monitor;
cmd_fn dev_list, dev_bind, dev_unbind;
cmd_fn rss_show, rss_set, coalesce_show, coalesce_set;

struct ctl_conn;
struct json;

/* Control characters of a string from a server replaced, for a terminal. */
void text_clean(char *s);

/* The device's name, or NULL for all devices, from [DEV] or [dev DEV]. */
int target_arg(const char *cmd, int argc, char **argv, const char **dev);

/*
 * Run fn on dev, or on every live device in name order (stale sockets
 * skipped, an empty run directory is an error), inside one JSON array with
 * -j. Returns the worst exit code.
 */
typedef int visit_fn(const struct ctx *c, struct ctl_conn *conn, struct json *j);
int visit(const struct ctx *c, const char *dev, visit_fn *fn);

/* A device's counters (vnetconf_stats.c): NULL, reported, on failure. */
struct counters;
struct counters *counters_get(struct ctl_conn *conn);
void counters_free(struct counters *k);
/* The RX and TX totals: members "rx", "tx" of j's open object with -j,
 * else ip -s link's text block. */
void counters_totals(const struct ctx *c, struct json *j, const struct counters *k);

#endif
