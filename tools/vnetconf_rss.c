/* SPDX-License-Identifier: MIT */
/*
 * vnetconf rss show|set and coalesce show|set: ethtool -x/-X and -c/-C for
 * a running libvnet device, in iproute2's grammar (keywords matched by
 * prefix, -j JSON). rss set reads the device's configuration first and
 * sends only what the command line changes; the indirection table of
 * "equal N" and "weight W..." is computed here, at the length the device
 * already uses (or the longest it takes): "equal N" round robin over the
 * first N queue pairs, "weight" in contiguous blocks sized by the weights
 * (both as ethtool -X builds them).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_client.h"
#include "json.h"
#include "log.h"
#include "vnetconf.h"

/* Hash type names, bit i of VNET_RSS_HASH_* (vnet.h). */
static const char *const hash_names[] = {
	"ipv4", "tcp4", "udp4", "ipv6", "tcp6", "udp6", "ip_ex", "tcp_ex", "udp_ex",
};
#define HASH_LIST "ipv4, tcp4, udp4, ipv6, tcp6, udp6, ip_ex, tcp_ex, udp_ex or none"

/* Coalescing keywords, in the order of struct ctl_coal::v (ethtool -C's). */
static const char *const coal_names[CTL_COAL_N] = {
	"rx-usecs", "rx-frames", "tx-usecs", "tx-frames",
};

/* "ipv4,tcp4" (or "none") into VNET_RSS_HASH_* bits. */
static bool parse_hash(const char *s, uint32_t *out)
{
	*out = 0;
	if (!strcmp(s, "none"))
		return true;
	while (*s) {
		size_t n = strcspn(s, ","), i;

		for (i = 0; i < VN_ARRAY_SIZE(hash_names); i++)
			if (strlen(hash_names[i]) == n && !strncmp(s, hash_names[i], n))
				break;
		if (i == VN_ARRAY_SIZE(hash_names))
			return false;
		*out |= 1u << i;
		s += n;
		if (*s == ',' && *++s == '\0')
			return false;
	}
	return true;
}

/* Hex bytes, with or without ':' between them (ethtool -X hkey). */
static bool parse_key(const char *s, uint8_t *key, unsigned *len)
{
	*len = 0;
	while (*s) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    *len == VNET_RSS_KEY_MAX)
			return false;
		key[(*len)++] = (uint8_t)strtoul((char[3]){ s[0], s[1], 0 }, NULL, 16);
		s += 2;
		if (*s == ':' && *++s == '\0')
			return false;
	}
	return *len > 0;
}

/* ---- show ---- */

static void hash_words(char *buf, size_t sz, uint32_t bits)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < 32 && n < sz; i++)
		if (bits >> i & 1)
			n += (size_t)snprintf(buf + n, sz - n, "%s%s", n ? " " : "",
					      i < VN_ARRAY_SIZE(hash_names) ? hash_names[i] : "?");
	if (!n)
		snprintf(buf, sz, "none");
}

static void json_hash(struct json *j, const char *key, uint32_t bits)
{
	json_key(j, key);
	json_arr_open(j);
	for (size_t i = 0; i < VN_ARRAY_SIZE(hash_names); i++)
		if (bits >> i & 1)
			json_str(j, hash_names[i]);
	json_arr_close(j);
}

/* aa:bb:... into buf (3 * VNET_RSS_KEY_MAX bytes suffice). */
static void key_hex(char *buf, const struct ctl_rss *r)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < r->key_len; i++)
		n += (size_t)sprintf(buf + n, "%s%02x", i ? ":" : "", r->key[i]);
}

static int rss_show_one(const struct ctx *c, struct ctl_conn *conn, struct json *j)
{
	char hex[3 * VNET_RSS_KEY_MAX + 1], words[128], sup[128];
	struct ctl_rss r;

	if (ctl_rss_get(conn, &r)) {
		err("rss show %s: %s", conn->name, ctl_why());
		return EXIT_FAILED;
	}
	text_clean(r.name);
	key_hex(hex, &r);
	if (c->json) {
		json_obj_open(j);
		json_kstr(j, "ifname", r.name[0] ? r.name : conn->name);
		json_kbool(j, "rss", r.on);
		json_hash(j, "hash", r.hash_types);
		json_hash(j, "hash_supported", r.hash_supported);
		json_kstr(j, "key", hex);
		json_kuint(j, "key_max", r.key_max);
		json_key(j, "table");
		json_arr_open(j);
		for (unsigned i = 0; i < r.table_len; i++)
			json_uint(j, r.table[i]);
		json_arr_close(j);
		json_kuint(j, "table_max", r.table_max);
		json_obj_close(j);
		return EXIT_OK;
	}
	hash_words(words, sizeof(words), r.hash_types);
	hash_words(sup, sizeof(sup), r.hash_supported);
	printf("%s: rss %s\n    hash %s (supported: %s)\n    key %s (%u bytes, at most %u)\n"
	       "    table %u entries (at most %u):",
	       r.name[0] ? r.name : conn->name, r.on ? "on" : "off", words, sup,
	       r.key_len ? hex : "none", r.key_len, r.key_max, r.table_len, r.table_max);
	for (unsigned i = 0; i < r.table_len; i++)
		printf(i % 8 ? " %5u" : "\n    %5u: %5u", i % 8 ? r.table[i] : i, r.table[i]);
	printf("\n");
	return EXIT_OK;
}

int rss_show(const struct ctx *c, int argc, char **argv)
{
	const char *dev;
	int rc = target_arg("rss show", argc, argv, &dev);

	return rc ? rc : visit(c, dev, rss_show_one);
}

/* ---- set ---- */

/* ethtool -X's spread: entry i goes to the queue pair whose share of the
 * weights' sum covers i * sum / len. */
static void spread(struct ctl_rss *r, const uint32_t *w, unsigned n)
{
	uint64_t sum = 0;

	for (unsigned q = 0; q < n; q++)
		sum += w[q];
	for (unsigned i = 0; i < r->table_len; i++) {
		uint64_t pos = (uint64_t)i * sum / r->table_len, cum = 0;
		unsigned q = 0;

		while (q < n && (cum += w[q]) <= pos)
			q++;
		r->table[i] = (uint16_t)q;
	}
}

struct rss_req {
	struct ctl_rss set;
	uint32_t weight[VNET_RSS_TABLE_MAX];
	unsigned n_weight; /* 0: the table is not changed */
	bool equal;        /* equal N: round robin over N pairs, as ethtool -X does */
};

static int do_rss_set(struct ctl_conn *conn, const struct rss_req *q)
{
	struct ctl_rss cur, r = q->set;
	int rc = ctl_rss_get(conn, &cur);

	if (rc)
		return rc;
	if (q->n_weight) {
		r.table_len = cur.table_len ? cur.table_len : cur.table_max;
		if (!r.table_len)
			return -EOPNOTSUPP; /* the device takes no table: ctl_why() is stale */
		if (q->equal)
			for (unsigned i = 0; i < r.table_len; i++)
				r.table[i] = (uint16_t)(i % q->n_weight);
		else
			spread(&r, q->weight, q->n_weight);
		r.have |= 1ull << VNET_A_RSS_TABLE;
	}
	return ctl_rss_set(conn, &r);
}

int rss_set(const struct ctx *c, int argc, char **argv)
{
	static struct rss_req q;
	struct ctl_conn conn;
	int rc, i;

	(void)c;
	memset(&q, 0, sizeof(q));
	if (argc < 2) {
		err("usage: vnetconf rss set DEV [key HEX] [equal N | weight W0 W1 ...] "
		    "[hash TYPE,...]");
		return EXIT_USAGE;
	}
	for (i = 1; i < argc; i++) {
		const char *w = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint32_t n;

		if (matches(w, "key")) {
			if (!v || !parse_key(v, q.set.key, &q.set.key_len)) {
				err("rss set: key needs 1 to %d hex bytes (6d:5a:56:... or 6d5a56...)",
				    VNET_RSS_KEY_MAX);
				return EXIT_USAGE;
			}
			q.set.have |= 1ull << VNET_A_RSS_KEY;
		} else if (matches(w, "hash")) {
			if (!v || !parse_hash(v, &q.set.hash_types)) {
				err("rss set: hash needs a comma-separated list of " HASH_LIST);
				return EXIT_USAGE;
			}
			q.set.have |= 1ull << VNET_A_RSS_HASH_TYPES;
		} else if (matches(w, "equal")) {
			if (!v || !vc_parse_u32(v, VNET_RSS_TABLE_MAX, &n) || !n || q.n_weight) {
				err("rss set: equal needs a number of queue pairs (1 .. %d), and no "
				    "weight", VNET_RSS_TABLE_MAX);
				return EXIT_USAGE;
			}
			q.n_weight = n;
			q.equal = true;
		} else if (matches(w, "weight")) {
			if (q.n_weight) {
				err("rss set: weight and equal exclude each other");
				return EXIT_USAGE;
			}
			while (i + 1 < argc && q.n_weight < VNET_RSS_TABLE_MAX &&
			       vc_parse_u32(argv[i + 1], 0xffff, &q.weight[q.n_weight])) {
				q.n_weight++;
				i++;
			}
			if (!q.n_weight) {
				err("rss set: weight needs one number per queue pair (W0 W1 ...)");
				return EXIT_USAGE;
			}
			continue;
		} else {
			err("rss set: unknown setting \"%s\" (key, equal, weight, hash)", w);
			return EXIT_USAGE;
		}
		i++;
	}
	if (!ctl_valid_name(argv[0])) {
		err("rss set: %s", vn_err_msg());
		return EXIT_USAGE;
	}
	rc = ctl_open(&conn, argv[0]);
	if (!rc)
		rc = do_rss_set(&conn, &q);
	if (rc)
		err("rss set %s: %s", argv[0], rc == -EOPNOTSUPP && q.n_weight ?
		    "the device reports no indirection table" : ctl_why());
	ctl_close(&conn);
	return rc ? EXIT_FAILED : EXIT_OK;
}

/* ---- coalesce ---- */

static int coal_show_one(const struct ctx *c, struct ctl_conn *conn, struct json *j)
{
	struct ctl_coal k;

	if (ctl_coal_get(conn, &k)) {
		err("coalesce show %s: %s", conn->name, ctl_why());
		return EXIT_FAILED;
	}
	text_clean(k.name);
	if (c->json) {
		json_obj_open(j);
		json_kstr(j, "ifname", k.name[0] ? k.name : conn->name);
		for (int i = 0; i < CTL_COAL_N; i++)
			json_kuint(j, coal_names[i], k.v[i]);
		json_obj_close(j);
		return EXIT_OK;
	}
	printf("%s:", k.name[0] ? k.name : conn->name);
	for (int i = 0; i < CTL_COAL_N; i++)
		printf(" %s %u", coal_names[i], k.v[i]);
	printf("\n");
	return EXIT_OK;
}

int coalesce_show(const struct ctx *c, int argc, char **argv)
{
	const char *dev;
	int rc = target_arg("coalesce show", argc, argv, &dev);

	return rc ? rc : visit(c, dev, coal_show_one);
}

int coalesce_set(const struct ctx *c, int argc, char **argv)
{
	struct ctl_coal k = { 0 };
	struct ctl_conn conn;
	int rc;

	(void)c;
	if (argc < 3 || argc % 2 == 0) {
		err("usage: vnetconf coalesce set DEV [rx-usecs N] [rx-frames N] [tx-usecs N] "
		    "[tx-frames N]");
		return EXIT_USAGE;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		int f;

		for (f = 0; f < CTL_COAL_N && strcmp(argv[i], coal_names[f]); f++)
			;
		if (f == CTL_COAL_N) {
			err("coalesce set: unknown setting \"%s\" (rx-usecs, rx-frames, tx-usecs, "
			    "tx-frames)", argv[i]);
			return EXIT_USAGE;
		}
		if (!vc_parse_u32(argv[i + 1], UINT32_MAX, &k.v[f])) {
			err("coalesce set: bad %s \"%s\": expected a number", argv[i], argv[i + 1]);
			return EXIT_USAGE;
		}
		k.have |= 1ull << (VNET_A_COAL_RX_USECS + f);
	}
	if (!ctl_valid_name(argv[0])) {
		err("coalesce set: %s", vn_err_msg());
		return EXIT_USAGE;
	}
	rc = ctl_open(&conn, argv[0]);
	if (!rc)
		rc = ctl_coal_set(&conn, &k);
	if (rc)
		err("coalesce set %s: %s", argv[0], ctl_why());
	ctl_close(&conn);
	return rc ? EXIT_FAILED : EXIT_OK;
}
