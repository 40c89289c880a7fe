/* SPDX-License-Identifier: MIT */
/*
 * vnetconf link show|set, mac add|del, vlan add|del: the commands that ask
 * a running device over its control socket (ctl_client.h), and the device
 * visiting that stats shares.
 *
 * Without a DEV, show and stats visit every device of the run directory in
 * name order; a stale socket (its process is gone) is skipped silently, a
 * device that does not answer is reported and makes the exit code 1.
 * Strings the server sent are shown with control characters replaced in
 * text output (they come from another process, and a terminal would obey
 * them) and escaped in JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_client.h"
#include "json.h"
#include "log.h"
#include "vnetconf.h"

#define MAX_DEVS 256

/* ---- Argument syntax ---- */

bool vc_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* XX:XX:XX:XX:XX:XX, hexadecimal in either case. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++, s += 3) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    s[2] != (i == 5 ? '\0' : ':'))
			return false;
		mac[i] = (uint8_t)strtoul((char[3]){ s[0], s[1], 0 }, NULL, 16);
	}
	return true;
}

static void fmt_mac(char buf[18], const uint8_t m[6])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

void text_clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* ---- Visiting devices ---- */

int visit(const struct ctx *c, const char *dev, visit_fn *fn)
{
	static char names[MAX_DEVS][VN_CTL_NAME_MAX];
	char dir[PATH_MAX] = "";
	struct ctl_conn conn;
	struct json j;
	int n = 1, rc = EXIT_OK, shown = 0;

	json_init(&j, stdout, c->pretty);
	if (dev) {
		snprintf(names[0], VN_CTL_NAME_MAX, "%s", dev);
	} else if ((n = ctl_list(names, MAX_DEVS)) < 0) {
		err("%s", ctl_why());
		n = 0;
		rc = EXIT_FAILED;
	}
	if (c->json)
		json_arr_open(&j);
	for (int i = 0; i < n; i++) {
		int r = dev ? ctl_open(&conn, dev) : ctl_connect(&conn, names[i]);

		if (r == -ENODEV && !dev)
			continue; /* a stale socket */
		if (r == 0) {
			r = fn(c, &conn, &j);
			shown += r == EXIT_OK;
		} else {
			err("%s", ctl_why());
			r = EXIT_FAILED;
		}
		ctl_close(&conn);
		if (r > rc)
			rc = r;
	}
	if (c->json) {
		json_arr_close(&j);
		json_end(&j);
	}
	if (!dev && !shown && rc == EXIT_OK) {
		ctl_run_dir(dir, sizeof(dir));
		err("no libvnet device is running (run directory %s has no live socket)", dir);
		rc = EXIT_FAILED;
	}
	return rc;
}

int target_arg(const char *cmd, int argc, char **argv, const char **dev)
{
	if (argc >= 1 && !strcmp(argv[0], "dev")) {
		argc--;
		argv++;
		if (!argc) {
			err("%s: \"dev\" needs a device name", cmd);
			return EXIT_USAGE;
		}
	}
	if (argc > 1) {
		err("%s: unexpected \"%s\" (usage: vnetconf %s [DEV])", cmd, argv[1], cmd);
		return EXIT_USAGE;
	}
	*dev = argc ? argv[0] : NULL;
	if (*dev && !ctl_valid_name(*dev)) {
		err("%s: %s", cmd, vn_err_msg());
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* ---- link show ---- */

static const struct {
	int attr;
	const char *name;
} flag_names[] = {
	{ VNET_A_ADMIN_UP, "UP" }, { VNET_A_OPER_UP, "LOWER_UP" }, { VNET_A_PROMISC, "PROMISC" },
	{ VNET_A_ALLMULTI, "ALLMULTI" }, { VNET_A_BROKEN, "BROKEN" },
};

static bool flag_set(const struct ctl_link *l, int attr)
{
	const bool *v[] = {
		[VNET_A_ADMIN_UP] = &l->admin_up, [VNET_A_OPER_UP] = &l->oper_up,
		[VNET_A_PROMISC] = &l->promisc, [VNET_A_ALLMULTI] = &l->allmulti,
		[VNET_A_BROKEN] = &l->broken,
	};

	return *v[attr];
}

static const char *state_name(const struct ctl_link *l)
{
	if (l->broken)
		return "BROKEN";
	return l->admin_up && l->oper_up ? "UP" : "DOWN";
}

static void json_link(const struct ctx *c, struct json *j, const struct ctl_link *l,
		      const struct counters *k)
{
	/* Numbers, in the order they are shown. */
	static const struct { int attr; const char *key; size_t off; } nums[] = {
		{ VNET_A_PID, "pid", offsetof(struct ctl_link, pid) },
		{ VNET_A_MTU, "mtu", offsetof(struct ctl_link, mtu) },
		{ VNET_A_MAX_MTU, "max_mtu", offsetof(struct ctl_link, max_mtu) },
		{ VNET_A_QUEUE_PAIRS, "queue_pairs", offsetof(struct ctl_link, queue_pairs) },
		{ VNET_A_OPEN_PAIRS, "open_pairs", offsetof(struct ctl_link, open_pairs) },
		{ VNET_A_MAX_PAIRS, "max_pairs", offsetof(struct ctl_link, max_pairs) },
		{ VNET_A_QUEUE_SIZE, "queue_size", offsetof(struct ctl_link, queue_size) },
	};
	char mac[18];

	json_obj_open(j);
	json_kstr(j, "name", l->name);
	if (ctl_has(l, VNET_A_URI))
		json_kstr(j, "uri", l->uri);
	if (ctl_has(l, VNET_A_ACCESS))
		json_kstr(j, "access", l->access);
	if (ctl_has(l, VNET_A_DRIVER))
		json_kstr(j, "driver", l->driver);
	if (ctl_has(l, VNET_A_MAC)) {
		fmt_mac(mac, l->mac);
		json_kstr(j, "address", mac);
	}
	for (size_t i = 0; i < VN_ARRAY_SIZE(nums); i++)
		if (ctl_has(l, nums[i].attr))
			json_kuint(j, nums[i].key, *(const uint32_t *)((const char *)l + nums[i].off));
	json_kstr(j, "state", state_name(l));
	json_key(j, "flags");
	json_arr_open(j);
	for (size_t i = 0; i < VN_ARRAY_SIZE(flag_names); i++)
		if (flag_set(l, flag_names[i].attr))
			json_str(j, flag_names[i].name);
	json_arr_close(j);
	if (ctl_has(l, VNET_A_FEATURES))
		json_kuint(j, "features", l->features);
	json_key(j, "feature_names");
	json_arr_open(j);
	for (unsigned i = 0; i < l->n_features; i++)
		json_str(j, l->feature_names[i]);
	json_arr_close(j);
	json_key(j, "mac_filters");
	json_arr_open(j);
	for (unsigned i = 0; i < l->n_macs; i++) {
		fmt_mac(mac, l->macs[i]);
		json_str(j, mac);
	}
	json_arr_close(j);
	json_key(j, "vlans");
	json_arr_open(j);
	for (unsigned i = 0; i < l->n_vlans; i++)
		json_uint(j, l->vlans[i]);
	json_arr_close(j);
	if (k) {
		json_key(j, "stats");
		json_obj_open(j);
		counters_totals(c, j, k);
		json_obj_close(j);
	}
	json_obj_close(j);
}

static void text_link(const struct ctx *c, struct ctl_link *l, const struct counters *k)
{
	char mac[18];
	bool first = true;

	text_clean(l->name);
	text_clean(l->uri);
	text_clean(l->access);
	text_clean(l->driver);
	printf("%s: <", l->name);
	for (size_t i = 0; i < VN_ARRAY_SIZE(flag_names); i++)
		if (flag_set(l, flag_names[i].attr)) {
			printf("%s%s", first ? "" : ",", flag_names[i].name);
			first = false;
		}
	printf("> mtu %" PRIu32 " max_mtu %" PRIu32 " queues %" PRIu32 "/%" PRIu32 "/%" PRIu32
	       " qsize %" PRIu32 " state %s\n", l->mtu, l->max_mtu, l->queue_pairs, l->open_pairs,
	       l->max_pairs, l->queue_size, state_name(l));
	fmt_mac(mac, l->mac);
	printf("    link/ether %s uri %s pid %" PRIu32 " access %s driver %s\n", mac,
	       l->uri[0] ? l->uri : "-", l->pid, l->access[0] ? l->access : "-",
	       l->driver[0] ? l->driver : "-");
	if (l->n_macs) {
		printf("    mac filter");
		for (unsigned i = 0; i < l->n_macs; i++) {
			fmt_mac(mac, l->macs[i]);
			printf(" %s", mac);
		}
		printf("\n");
	}
	if (l->n_vlans) {
		printf("    vlan filter");
		for (unsigned i = 0; i < l->n_vlans; i++)
			printf(" %u", l->vlans[i]);
		printf("\n");
	}
	if (c->details) {
		printf("    features 0x%016" PRIx64, l->features);
		for (unsigned i = 0; i < l->n_features; i++) {
			text_clean(l->feature_names[i]);
			printf(" %s", l->feature_names[i]);
		}
		printf("\n");
	}
	if (k)
		counters_totals(c, NULL, k);
}

static int show_one(const struct ctx *c, struct ctl_conn *conn, struct json *j)
{
	struct counters *k = NULL;
	struct ctl_link l;

	if (ctl_link_get(conn, &l)) {
		err("link show %s: %s", conn->name, ctl_why());
		return EXIT_FAILED;
	}
	if (c->stats && !(k = counters_get(conn)))
		return EXIT_FAILED;
	if (c->json)
		json_link(c, j, &l, k);
	else
		text_link(c, &l, k);
	counters_free(k);
	return EXIT_OK;
}

int link_show(const struct ctx *c, int argc, char **argv)
{
	const char *dev;
	int rc = target_arg("link show", argc, argv, &dev);

	return rc ? rc : visit(c, dev, show_one);
}

/* ---- link set ---- */

/* "on" or "off". */
static bool parse_onoff(const char *s, bool *v)
{
	if (strcmp(s, "on") && strcmp(s, "off"))
		return false;
	*v = !strcmp(s, "on");
	return true;
}

enum set_arg { ARG_NONE, ARG_U32, ARG_MAC, ARG_ONOFF };

/* link set keywords, matched by prefix in this order (as ip link set). */
static const struct {
	const char *word;
	int attr;
	enum set_arg arg;
	const char *syntax; /* of the value, for errors (the device checks ranges) */
} set_words[] = {
	{ "mtu", VNET_A_MTU, ARG_U32, "a number of bytes" },
	{ "address", VNET_A_MAC, ARG_MAC, "a MAC address XX:XX:XX:XX:XX:XX" },
	{ "promisc", VNET_A_PROMISC, ARG_ONOFF, "on or off" },
	{ "allmulti", VNET_A_ALLMULTI, ARG_ONOFF, "on or off" },
	{ "queues", VNET_A_QUEUE_PAIRS, ARG_U32, "a number of queue pairs" },
	{ "up", VNET_A_ADMIN_UP, ARG_NONE, NULL },
	{ "down", VNET_A_ADMIN_UP, ARG_NONE, NULL },
};

/* Parse one keyword (and its value) at argv[*i] into set. */
static int parse_setting(int argc, char **argv, int *i, struct ctl_settings *set)
{
	const char *w = argv[*i], *v;
	size_t k;
	bool ok = true, on = false;

	for (k = 0; k < VN_ARRAY_SIZE(set_words) && !matches(w, set_words[k].word); k++)
		;
	if (k == VN_ARRAY_SIZE(set_words)) {
		err("link set: unknown setting \"%s\" (mtu, address, promisc, allmulti, queues, "
		    "up, down)", w);
		return EXIT_USAGE;
	}
	set->have |= 1ull << set_words[k].attr;
	if (set_words[k].arg == ARG_NONE) {
		set->up = !strcmp(set_words[k].word, "up");
		return EXIT_OK;
	}
	if (++*i >= argc) {
		err("link set: %s needs a value: %s", set_words[k].word, set_words[k].syntax);
		return EXIT_USAGE;
	}
	v = argv[*i];
	switch (set_words[k].arg) {
	case ARG_U32:
		ok = vc_parse_u32(v, UINT32_MAX,
			       set_words[k].attr == VNET_A_MTU ? &set->mtu : &set->queue_pairs);
		break;
	case ARG_MAC:
		ok = parse_mac(v, set->mac);
		break;
	case ARG_ONOFF:
		ok = parse_onoff(v, &on);
		if (set_words[k].attr == VNET_A_PROMISC)
			set->promisc = on;
		else
			set->allmulti = on;
		break;
	case ARG_NONE:
		break;
	}
	if (!ok) {
		err("link set: bad %s \"%s\": expected %s", set_words[k].word, v,
		    set_words[k].syntax);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* "link set vnet0 mtu 9000" for messages: the words as given. */
static void join(char *buf, size_t sz, const char *cmd, int argc, char **argv)
{
	size_t n = (size_t)snprintf(buf, sz, "%s", cmd);

	for (int i = 0; i < argc && n < sz; i++)
		n += (size_t)snprintf(buf + n, sz - n, " %s", argv[i]);
}

/* Connect to dev, run req, report its failure as "WHAT: why". */
static int request(const char *what, const char *dev,
		   int (*req)(struct ctl_conn *conn, const void *arg), const void *arg)
{
	struct ctl_conn conn;
	int r;

	if (!ctl_valid_name(dev)) {
		err("%s: %s", what, vn_err_msg());
		return EXIT_USAGE;
	}
	r = ctl_open(&conn, dev);
	if (r == 0)
		r = req(&conn, arg);
	if (r)
		err("%s: %s", what, ctl_why());
	ctl_close(&conn);
	return r ? EXIT_FAILED : EXIT_OK;
}

static int do_link_set(struct ctl_conn *conn, const void *set)
{
	return ctl_link_set(conn, set);
}

int link_set(const struct ctx *c, int argc, char **argv)
{
	struct ctl_settings set = { 0 };
	char what[256];
	int rc;

	(void)c;
	if (argc < 2) {
		err("usage: vnetconf link set DEV { mtu N | address MAC | promisc on|off | "
		    "allmulti on|off | queues N | up | down } ...");
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		rc = parse_setting(argc, argv, &i, &set);
		if (rc)
			return rc;
	}
	join(what, sizeof(what), "link set", argc, argv);
	return request(what, argv[0], do_link_set, &set);
}

/* ---- mac / vlan ---- */

struct filter_req {
	uint8_t cmd;
	uint8_t mac[6];
	uint16_t vid;
	bool is_mac;
};

static int do_filter(struct ctl_conn *conn, const void *arg)
{
	const struct filter_req *f = arg;

	return ctl_filter(conn, f->cmd, f->is_mac ? f->mac : NULL, f->vid);
}

static int filter(int argc, char **argv, const char *cmd, uint8_t ctl_cmd)
{
	struct filter_req f = { .cmd = ctl_cmd, .is_mac = cmd[0] == 'm' };
	char what[256];
	uint32_t vid;

	if (argc != 2) {
		err("usage: vnetconf %s DEV %s", cmd, f.is_mac ? "MAC" : "ID");
		return EXIT_USAGE;
	}
	if (f.is_mac && !parse_mac(argv[1], f.mac)) {
		err("%s: bad MAC address \"%s\": expected XX:XX:XX:XX:XX:XX", cmd, argv[1]);
		return EXIT_USAGE;
	}
	if (!f.is_mac) {
		if (!vc_parse_u32(argv[1], 4095, &vid)) {
			err("%s: bad VLAN id \"%s\": expected 0 to 4095", cmd, argv[1]);
			return EXIT_USAGE;
		}
		f.vid = (uint16_t)vid;
	}
	join(what, sizeof(what), cmd, argc, argv);
	return request(what, argv[0], do_filter, &f);
}

int mac_add(const struct ctx *c, int argc, char **argv)
{
	(void)c;
	return filter(argc, argv, "mac add", VNET_CMD_MAC_ADD);
}

int mac_del(const struct ctx *c, int argc, char **argv)
{
	(void)c;
	return filter(argc, argv, "mac del", VNET_CMD_MAC_DEL);
}

int vlan_add(const struct ctx *c, int argc, char **argv)
{
	(void)c;
	return filter(argc, argv, "vlan add", VNET_CMD_VLAN_ADD);
}

int vlan_del(const struct ctx *c, int argc, char **argv)
{
	(void)c;
	return filter(argc, argv, "vlan del", VNET_CMD_VLAN_DEL);
}
