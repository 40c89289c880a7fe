/* SPDX-License-Identifier: MIT */
/*
 * vnetconf: see and change libvnet devices (see vnetconf(8)).
 *
 *   vnetconf [OPTIONS] OBJECT [COMMAND] [ARGS]
 *
 * Commands live in one table (OBJECT, COMMAND, handler); object and command
 * may be abbreviated to any prefix, as in iproute2: the first table entry
 * that matches wins, and `help` at any level prints that level's usage.
 * This file holds the table and the options. The commands:
 *   vnetconf_dev.c      dev list|bind|unbind (PCI functions, sysfs alone)
 *   vnetconf_link.c     link show|set, mac, vlan (over the control socket)
 *   vnetconf_stats.c    stats
 *   vnetconf_monitor.c  monitor
 * and the control protocol client they share: ctl_client.c.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "iommu/vfio.h"
#include "log.h"
#include "vnetconf.h"

/* ---- Output ---- */

void err(const char *fmt, ...)
{
	va_list ap;

	fputs("vnetconf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- Command table and main ---- */

static cmd_fn help;

/* verb NULL: the object is the command and takes the arguments itself. */
static const struct cmd {
	const char *object, *verb, *args;
	cmd_fn *fn;
} cmds[] = {
	{ "link", "show", " [DEV]", link_show },
	{ "link", "set", " DEV { mtu N | address MAC | promisc on|off | allmulti on|off |\n"
			 "                         queues N | up | down } ...", link_set },
	{ "stats", NULL, " [DEV]", stats_show },
	{ "monitor", NULL, " [DEV]", monitor },
	{ "mac", "add", " DEV MAC", mac_add },
	{ "mac", "del", " DEV MAC", mac_del },
	{ "vlan", "add", " DEV ID", vlan_add },
	{ "vlan", "del", " DEV ID", vlan_del },
	{ "rss", "show", " [DEV]", rss_show },
	{ "rss", "set", " DEV [key HEX] [equal N | weight W0 W1 ...] [hash TYPE,...]", rss_set },
	{ "coalesce", "show", " [DEV]", coalesce_show },
	{ "coalesce", "set", " DEV [rx-usecs N] [rx-frames N] [tx-usecs N] [tx-frames N]",
	  coalesce_set },
	{ "dev", "list", "", dev_list },
	{ "dev", "bind", " PCI", dev_bind },
	{ "dev", "unbind", " PCI", dev_unbind },
	{ "help", NULL, "", help },
};

/* The usage lines of object (all when NULL) and, given verb, of that one. */
static void usage_of(FILE *f, const char *object, const char *verb)
{
	for (size_t i = 0; i < VN_ARRAY_SIZE(cmds); i++)
		if ((!object || !strcmp(object, cmds[i].object)) &&
		    (!verb || (cmds[i].verb && !strcmp(verb, cmds[i].verb))))
			fprintf(f, "       vnetconf %s%s%s%s\n", cmds[i].object, cmds[i].verb ? " " : "",
				cmds[i].verb ? cmds[i].verb : "", cmds[i].args);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vnetconf [OPTIONS] OBJECT [COMMAND] [ARGS]\n");
	usage_of(f, NULL, NULL);
	fprintf(f, "  -j, --json     JSON output (monitor: one object per line)\n"
		   "  -p, --pretty   pretty-printed JSON (implies -j)\n"
		   "  -s, --stats    link show: with counters; stats: twice for every counter\n"
		   "  -d, --details  link show: with the negotiated features\n"
		   "  -h, --help\n"
		   "DEV is a device's control-plane name (vnet0, or its URI's ?name=); PCI is a\n"
		   "PCI address, DDDD:BB:DD.F or BB:DD.F. Exit status: 0 done, 1 failed, 2 usage.\n"
		   "See vnetconf(8).\n");
}

static int help(const struct ctx *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	usage(stdout);
	return EXIT_OK;
}

bool matches(const char *s, const char *word)
{
	size_t n = strlen(s);

	return n && n <= strlen(word) && !strncmp(s, word, n);
}

static bool is_help(int argc, char **argv)
{
	return argc >= 1 && matches(argv[0], "help");
}

static int dispatch(const struct ctx *c, int argc, char **argv)
{
	const char *object = NULL;

	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < VN_ARRAY_SIZE(cmds) && !object; i++)
		if (matches(argv[0], cmds[i].object))
			object = cmds[i].object;
	if (!object) {
		err("unknown object \"%s\" (see vnetconf --help)", argv[0]);
		return EXIT_USAGE;
	}
	/* "link" alone is "link show", as "ip link" is. */
	if (argc < 2 && !strcmp(object, "link"))
		return link_show(c, 0, NULL);
	for (size_t i = 0; i < VN_ARRAY_SIZE(cmds); i++) {
		const struct cmd *k = &cmds[i];

		if (strcmp(object, k->object))
			continue;
		if (!k->verb && is_help(argc - 1, argv + 1)) {
			printf("usage:\n");
			usage_of(stdout, object, NULL);
			return EXIT_OK;
		}
		if (!k->verb)
			return k->fn(c, argc - 1, argv + 1);
		if (argc < 2) {
			err("%s: which command? (see vnetconf %s help)", object, object);
			return EXIT_USAGE;
		}
		if (!matches(argv[1], k->verb))
			continue;
		if (is_help(argc - 2, argv + 2)) {
			printf("usage:\n");
			usage_of(stdout, object, k->verb);
			return EXIT_OK;
		}
		return k->fn(c, argc - 2, argv + 2);
	}
	if (matches(argv[1], "help")) {
		printf("usage:\n");
		usage_of(stdout, object, NULL);
		return EXIT_OK;
	}
	err("unknown command \"%s %s\" (see vnetconf %s help)", object, argv[1], object);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	enum { OPT_SYSFS = 256, OPT_DEV, OPT_STATE };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' }, { "pretty", no_argument, NULL, 'p' },
		{ "stats", no_argument, NULL, 's' }, { "details", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		/* Tests only: a fake sysfs tree, /dev and state directory. */
		{ "sysfs-root", required_argument, NULL, OPT_SYSFS },
		{ "dev-root", required_argument, NULL, OPT_DEV },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { .state = "/run/vnet", .real_sys = true };
	const char *sys = NULL, *dev = NULL; /* NULL: the library's default */
	int opt;

	/* "+": options end at the object, so commands can take their own. */
	while ((opt = getopt_long(argc, argv, "+jpsdh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': c.json = true; break;
		case 'p': c.json = c.pretty = true; break;
		case 's': c.stats++; break;
		case 'd': c.details = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case OPT_SYSFS: sys = optarg; c.real_sys = false; break;
		case OPT_DEV: dev = optarg; break;
		case OPT_STATE: c.state = optarg; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	/* vnetconf reads no /proc: NULL keeps that root at its default. */
	if (vn_vfio_set_roots(sys, dev, NULL)) {
		err("%s", vn_err_msg());
		return EXIT_USAGE;
	}
	return dispatch(&c, argc - optind, argv + optind);
}
