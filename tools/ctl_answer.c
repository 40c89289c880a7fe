/* SPDX-License-Identifier: MIT */
/*
 * Decoding the server's answers (ctl_answer.h). Every attribute is checked
 * against the type and length vnet/ctl.h declares (attr_spec[]) before it
 * is read; attribute types this client does not know are skipped, as
 * ctl.h asks of clients, so a newer server still works. Lists longer than
 * CTL_MAX_LIST keep their first entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "compiler.h"
#include "ctl_answer.h"

#define MAX_STATS 4096 /* more counters than any device has */

/* Type and exact length (0: any) of each attribute, as ctl.h declares them. */
static const struct {
	enum mnl_attr_data_type type;
	size_t len;
} attr_spec[__VNET_A_MAX] = {
	[VNET_A_NAME] = { MNL_TYPE_STRING, 0 },
	[VNET_A_URI] = { MNL_TYPE_STRING, 0 },
	[VNET_A_PID] = { MNL_TYPE_U32, 0 },
	[VNET_A_ACCESS] = { MNL_TYPE_STRING, 0 },
	[VNET_A_DRIVER] = { MNL_TYPE_STRING, 0 },
	[VNET_A_MAC] = { MNL_TYPE_BINARY, 6 },
	[VNET_A_MTU] = { MNL_TYPE_U32, 0 },
	[VNET_A_MAX_MTU] = { MNL_TYPE_U32, 0 },
	[VNET_A_OPER_UP] = { MNL_TYPE_U8, 0 },
	[VNET_A_ADMIN_UP] = { MNL_TYPE_U8, 0 },
	[VNET_A_PROMISC] = { MNL_TYPE_U8, 0 },
	[VNET_A_ALLMULTI] = { MNL_TYPE_U8, 0 },
	[VNET_A_BROKEN] = { MNL_TYPE_U8, 0 },
	[VNET_A_QUEUE_PAIRS] = { MNL_TYPE_U32, 0 },
	[VNET_A_OPEN_PAIRS] = { MNL_TYPE_U32, 0 },
	[VNET_A_MAX_PAIRS] = { MNL_TYPE_U32, 0 },
	[VNET_A_QUEUE_SIZE] = { MNL_TYPE_U32, 0 },
	[VNET_A_FEATURES] = { MNL_TYPE_U64, 0 },
	[VNET_A_FEATURE_NAMES] = { MNL_TYPE_NESTED, 0 },
	[VNET_A_FEATURE_NAME] = { MNL_TYPE_STRING, 0 },
	[VNET_A_MAC_FILTERS] = { MNL_TYPE_NESTED, 0 },
	[VNET_A_VLAN] = { MNL_TYPE_U16, 0 },
	[VNET_A_VLANS] = { MNL_TYPE_NESTED, 0 },
	[VNET_A_STATS] = { MNL_TYPE_NESTED, 0 },
	[VNET_A_STAT] = { MNL_TYPE_NESTED, 0 },
	[VNET_A_STAT_NAME] = { MNL_TYPE_STRING, 0 },
	[VNET_A_STAT_VALUE] = { MNL_TYPE_U64, 0 },
	[VNET_A_EVENT] = { MNL_TYPE_U32, 0 },
	[VNET_A_RSS_ON] = { MNL_TYPE_U8, 0 },
	[VNET_A_RSS_HASH_TYPES] = { MNL_TYPE_U32, 0 },
	[VNET_A_RSS_HASH_SUPPORTED] = { MNL_TYPE_U32, 0 },
	[VNET_A_RSS_KEY] = { MNL_TYPE_BINARY, 0 },   /* 1 .. VNET_RSS_KEY_MAX: rss_cb() */
	[VNET_A_RSS_KEY_MAX] = { MNL_TYPE_U32, 0 },
	[VNET_A_RSS_TABLE] = { MNL_TYPE_BINARY, 0 }, /* whole u16s: rss_cb() */
	[VNET_A_RSS_TABLE_MAX] = { MNL_TYPE_U32, 0 },
	[VNET_A_COAL_RX_USECS] = { MNL_TYPE_U32, 0 },
	[VNET_A_COAL_RX_FRAMES] = { MNL_TYPE_U32, 0 },
	[VNET_A_COAL_TX_USECS] = { MNL_TYPE_U32, 0 },
	[VNET_A_COAL_TX_FRAMES] = { MNL_TYPE_U32, 0 },
};

/* Names for messages about a bad answer. */
static const char *const attr_names[__VNET_A_MAX] = {
	[VNET_A_NAME] = "NAME", [VNET_A_URI] = "URI", [VNET_A_PID] = "PID",
	[VNET_A_ACCESS] = "ACCESS", [VNET_A_DRIVER] = "DRIVER", [VNET_A_MAC] = "MAC", [VNET_A_MTU] = "MTU",
	[VNET_A_MAX_MTU] = "MAX_MTU", [VNET_A_OPER_UP] = "OPER_UP",
	[VNET_A_ADMIN_UP] = "ADMIN_UP", [VNET_A_PROMISC] = "PROMISC",
	[VNET_A_ALLMULTI] = "ALLMULTI", [VNET_A_BROKEN] = "BROKEN",
	[VNET_A_QUEUE_PAIRS] = "QUEUE_PAIRS", [VNET_A_OPEN_PAIRS] = "OPEN_PAIRS",
	[VNET_A_MAX_PAIRS] = "MAX_PAIRS", [VNET_A_QUEUE_SIZE] = "QUEUE_SIZE",
	[VNET_A_FEATURES] = "FEATURES", [VNET_A_FEATURE_NAMES] = "FEATURE_NAMES",
	[VNET_A_FEATURE_NAME] = "FEATURE_NAME", [VNET_A_MAC_FILTERS] = "MAC_FILTERS",
	[VNET_A_VLAN] = "VLAN", [VNET_A_VLANS] = "VLANS", [VNET_A_STATS] = "STATS",
	[VNET_A_STAT] = "STAT", [VNET_A_STAT_NAME] = "STAT_NAME",
	[VNET_A_STAT_VALUE] = "STAT_VALUE", [VNET_A_EVENT] = "EVENT",
	[VNET_A_RSS_ON] = "RSS_ON", [VNET_A_RSS_HASH_TYPES] = "RSS_HASH_TYPES",
	[VNET_A_RSS_HASH_SUPPORTED] = "RSS_HASH_SUPPORTED", [VNET_A_RSS_KEY] = "RSS_KEY",
	[VNET_A_RSS_KEY_MAX] = "RSS_KEY_MAX", [VNET_A_RSS_TABLE] = "RSS_TABLE",
	[VNET_A_RSS_TABLE_MAX] = "RSS_TABLE_MAX", [VNET_A_COAL_RX_USECS] = "COAL_RX_USECS",
	[VNET_A_COAL_RX_FRAMES] = "COAL_RX_FRAMES", [VNET_A_COAL_TX_USECS] = "COAL_TX_USECS",
	[VNET_A_COAL_TX_FRAMES] = "COAL_TX_FRAMES",
};

/*
 * The type of a, checked against attr_spec[]: 0 for a type this client does
 * not know (skip it), -EPROTO (with a reason) when its length is wrong.
 */
static int attr_type(const struct nlattr *a)
{
	int t = mnl_attr_get_type(a);

	if (t <= VNET_A_UNSPEC || t > VNET_A_MAX)
		return 0;
	if (attr_spec[t].len ? mnl_attr_validate2(a, attr_spec[t].type, attr_spec[t].len)
			     : mnl_attr_validate(a, attr_spec[t].type))
		return ctl_fail(-EPROTO, "malformed answer: attribute VNET_A_%s has %u bytes",
			    attr_names[t], mnl_attr_get_payload_len(a));
	return t;
}

/* A string attribute, NUL-terminated or not, into dst (truncated to fit). */
void ctl_copy_str(char *dst, size_t sz, const struct nlattr *a)
{
	const char *p = mnl_attr_get_payload(a);
	size_t n = strnlen(p, mnl_attr_get_payload_len(a));

	snprintf(dst, sz, "%.*s", (int)(n < sz ? n : sz - 1), p);
}

/*
 * mnl_attr_parse*() calls fn for each attribute of a known type, checked;
 * fn returns 0 or a negative errno (with a reason), which ends the walk.
 */
struct walk {
	int (*fn)(const struct nlattr *a, int type, void *arg);
	void *arg;
	int err;
};

static int walk_cb(const struct nlattr *a, void *data)
{
	struct walk *w = data;
	int t = attr_type(a);

	if (t > 0)
		t = w->fn(a, t, w->arg);
	if (t < 0) {
		w->err = t;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* The attributes of a generic netlink message, after its genlmsghdr. */
static int walk_msg(const struct nlmsghdr *nlh, int (*fn)(const struct nlattr *, int, void *),
		    void *arg)
{
	struct walk w = { fn, arg, 0 };

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), walk_cb, &w);
	return w.err;
}

static int walk_nested(const struct nlattr *a, int (*fn)(const struct nlattr *, int, void *),
		       void *arg)
{
	struct walk w = { fn, arg, 0 };

	mnl_attr_parse_nested(a, walk_cb, &w);
	return w.err;
}

static int feature_cb(const struct nlattr *a, int type, void *arg)
{
	struct ctl_link *l = arg;

	if (type == VNET_A_FEATURE_NAME && l->n_features < CTL_MAX_LIST)
		ctl_copy_str(l->feature_names[l->n_features++], CTL_NAME_LEN, a);
	return 0;
}

static int mac_filter_cb(const struct nlattr *a, int type, void *arg)
{
	struct ctl_link *l = arg;

	if (type == VNET_A_MAC && l->n_macs < CTL_MAX_LIST)
		memcpy(l->macs[l->n_macs++], mnl_attr_get_payload(a), 6);
	return 0;
}

static int vlan_cb(const struct nlattr *a, int type, void *arg)
{
	struct ctl_link *l = arg;
	uint16_t vid;

	if (type != VNET_A_VLAN || l->n_vlans >= CTL_MAX_LIST)
		return 0;
	vid = mnl_attr_get_u16(a);
	if (vid > 4095)
		return ctl_fail(-EPROTO, "malformed answer: VLAN id %u", vid);
	l->vlans[l->n_vlans++] = vid;
	return 0;
}

static int link_cb(const struct nlattr *a, int type, void *arg)
{
	struct ctl_link *l = arg;
	/* Where each u32 and u8 attribute goes. */
	uint32_t *const u32s[__VNET_A_MAX] = {
		[VNET_A_PID] = &l->pid, [VNET_A_MTU] = &l->mtu, [VNET_A_MAX_MTU] = &l->max_mtu,
		[VNET_A_QUEUE_PAIRS] = &l->queue_pairs, [VNET_A_OPEN_PAIRS] = &l->open_pairs,
		[VNET_A_MAX_PAIRS] = &l->max_pairs, [VNET_A_QUEUE_SIZE] = &l->queue_size,
	};
	bool *const u8s[__VNET_A_MAX] = {
		[VNET_A_OPER_UP] = &l->oper_up, [VNET_A_ADMIN_UP] = &l->admin_up,
		[VNET_A_PROMISC] = &l->promisc, [VNET_A_ALLMULTI] = &l->allmulti,
		[VNET_A_BROKEN] = &l->broken,
	};

	l->have |= 1ull << type;
	if (u32s[type])
		*u32s[type] = mnl_attr_get_u32(a);
	else if (u8s[type])
		*u8s[type] = mnl_attr_get_u8(a) != 0;
	else if (type == VNET_A_NAME)
		ctl_copy_str(l->name, sizeof(l->name), a);
	else if (type == VNET_A_URI)
		ctl_copy_str(l->uri, sizeof(l->uri), a);
	else if (type == VNET_A_ACCESS)
		ctl_copy_str(l->access, sizeof(l->access), a);
	else if (type == VNET_A_DRIVER)
		ctl_copy_str(l->driver, sizeof(l->driver), a);
	else if (type == VNET_A_MAC)
		memcpy(l->mac, mnl_attr_get_payload(a), 6);
	else if (type == VNET_A_FEATURES)
		l->features = mnl_attr_get_u64(a);
	else if (type == VNET_A_FEATURE_NAMES)
		return walk_nested(a, feature_cb, l);
	else if (type == VNET_A_MAC_FILTERS)
		return walk_nested(a, mac_filter_cb, l);
	else if (type == VNET_A_VLANS)
		return walk_nested(a, vlan_cb, l);
	return 0;
}

int ctl_parse_link(const struct nlmsghdr *nlh, struct ctl_link *l)
{

	memset(l, 0, sizeof(*l));
	return walk_msg(nlh, link_cb, l);
}

struct stat_parse {
	struct ctl_stats *s;
	struct ctl_stat cur;
	uint64_t have;
};

static int stat_field_cb(const struct nlattr *a, int type, void *arg)
{
	struct stat_parse *p = arg;

	if (type == VNET_A_STAT_NAME)
		ctl_copy_str(p->cur.name, sizeof(p->cur.name), a);
	else if (type == VNET_A_STAT_VALUE)
		p->cur.value = mnl_attr_get_u64(a);
	p->have |= 1ull << type;
	return 0;
}

static int stat_cb(const struct nlattr *a, int type, void *arg)
{
	const uint64_t both = 1ull << VNET_A_STAT_NAME | 1ull << VNET_A_STAT_VALUE;
	struct stat_parse *p = arg;
	struct ctl_stat *v;
	int r;

	if (type != VNET_A_STAT)
		return 0;
	memset(&p->cur, 0, sizeof(p->cur));
	p->have = 0;
	r = walk_nested(a, stat_field_cb, p);
	if (r)
		return r;
	if ((p->have & both) != both || !p->cur.name[0])
		return ctl_fail(-EPROTO, "malformed answer: a counter without a name or a value");
	if (p->s->n >= MAX_STATS)
		return ctl_fail(-EPROTO, "malformed answer: more than %d counters", MAX_STATS);
	v = realloc(p->s->v, (p->s->n + 1) * sizeof(*v));
	if (!v)
		return ctl_fail(-ENOMEM, "out of memory");
	p->s->v = v;
	v[p->s->n++] = p->cur;
	return 0;
}

static int stats_cb(const struct nlattr *a, int type, void *arg)
{
	struct stat_parse *p = arg;

	if (type == VNET_A_NAME)
		ctl_copy_str(p->s->name, sizeof(p->s->name), a);
	else if (type == VNET_A_STATS)
		return walk_nested(a, stat_cb, p);
	return 0;
}

int ctl_parse_stats(const struct nlmsghdr *nlh, struct ctl_stats *s)
{
	struct stat_parse p = { .s = s };

	return walk_msg(nlh, stats_cb, &p);
}

void ctl_stats_free(struct ctl_stats *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int event_cb(const struct nlattr *a, int type, void *arg)
{
	struct ctl_event *ev = arg;

	if (type == VNET_A_NAME)
		ctl_copy_str(ev->name, sizeof(ev->name), a);
	else if (type == VNET_A_EVENT)
		ev->type = mnl_attr_get_u32(a);
	else if (type == VNET_A_OPER_UP)
		ev->oper_up = mnl_attr_get_u8(a) != 0;
	else if (type == VNET_A_ADMIN_UP)
		ev->admin_up = mnl_attr_get_u8(a) != 0;
	return 0;
}

int ctl_parse_event(const struct nlmsghdr *nlh, struct ctl_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->oper_up = ev->admin_up = -1;
	return walk_msg(nlh, event_cb, ev);
}

static int rss_cb(const struct nlattr *a, int type, void *arg)
{
	struct ctl_rss *r = arg;
	uint16_t len = mnl_attr_get_payload_len(a);

	r->have |= 1ull << type;
	switch (type) {
	case VNET_A_NAME: ctl_copy_str(r->name, sizeof(r->name), a); break;
	case VNET_A_RSS_ON: r->on = mnl_attr_get_u8(a) != 0; break;
	case VNET_A_RSS_HASH_TYPES: r->hash_types = mnl_attr_get_u32(a); break;
	case VNET_A_RSS_HASH_SUPPORTED: r->hash_supported = mnl_attr_get_u32(a); break;
	case VNET_A_RSS_KEY_MAX: r->key_max = mnl_attr_get_u32(a); break;
	case VNET_A_RSS_TABLE_MAX: r->table_max = mnl_attr_get_u32(a); break;
	case VNET_A_RSS_KEY:
		if (len < 1 || len > sizeof(r->key))
			return ctl_fail(-EPROTO, "malformed answer: attribute VNET_A_RSS_KEY has %u "
				    "bytes", len);
		r->key_len = len;
		memcpy(r->key, mnl_attr_get_payload(a), len);
		break;
	case VNET_A_RSS_TABLE:
		if (len < 2 || len % 2 || len > sizeof(r->table))
			return ctl_fail(-EPROTO, "malformed answer: attribute VNET_A_RSS_TABLE has "
				    "%u bytes", len);
		r->table_len = len / 2u;
		memcpy(r->table, mnl_attr_get_payload(a), len);
		break;
	}
	return 0;
}

int ctl_parse_rss(const struct nlmsghdr *nlh, struct ctl_rss *r)
{
	memset(r, 0, sizeof(*r));
	return walk_msg(nlh, rss_cb, r);
}

static int coal_cb(const struct nlattr *a, int type, void *arg)
{
	struct ctl_coal *k = arg;

	if (type == VNET_A_NAME)
		ctl_copy_str(k->name, sizeof(k->name), a);
	else if (type >= VNET_A_COAL_RX_USECS && type < VNET_A_COAL_RX_USECS + CTL_COAL_N)
		k->v[type - VNET_A_COAL_RX_USECS] = mnl_attr_get_u32(a);
	else
		return 0;
	k->have |= 1ull << type;
	return 0;
}

int ctl_parse_coal(const struct nlmsghdr *nlh, struct ctl_coal *k)
{
	memset(k, 0, sizeof(*k));
	return walk_msg(nlh, coal_cb, k);
}
