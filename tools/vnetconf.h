/* SPDX-License-Identifier: MIT */
/* What vnetconf's command files share (see vnetconf.c). */
#ifndef VNETCONF_H
#define VNETCONF_H

#include <stdbool.h>

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

/* Command handlers: argv holds what follows the command words; each
 * returns an exit code. */
typedef int cmd_fn(const struct ctx *c, int argc, char **argv);
cmd_fn link_show, link_set, stats_show, mac_add, mac_del, vlan_add, vlan_del, monitor;

#endif
