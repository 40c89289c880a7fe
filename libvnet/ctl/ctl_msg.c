/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's request handler (vnet/ctl.h): one datagram in,
 * its answers out. Everything in a request comes from another process:
 * the headers are checked against the datagram, every attribute against
 * one policy table (nested ones too, to a bounded depth) before any
 * command runs, and every failure is an NLMSG_ERROR that says why.
 */
#include "ctl/ctl_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "log.h"

/* Nesting a request may carry (VNET_A_STATS > VNET_A_STAT > leaves). */
#define CTL_NEST_DEPTH 3
/* Device-level counters a STATS_GET answer carries at most. */
#define CTL_XSTATS_MAX 128

/* What each attribute must look like (vnet/ctl.h's brackets). */
static const struct policy {
	enum mnl_attr_data_type type;
	uint16_t len;   /* MNL_TYPE_BINARY: exact length (0: 1 .. max bytes); strings: most
			   bytes with the NUL */
	uint32_t max;   /* integers: largest value (0: any); binaries of len 0: most bytes */
} policy[VNET_A_MAX + 1] = {
	[VNET_A_NAME] = { MNL_TYPE_NUL_STRING, VN_CTL_NAME_MAX, 0 },
	[VNET_A_URI] = { MNL_TYPE_NUL_STRING, 256, 0 },
	[VNET_A_PID] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_ACCESS] = { MNL_TYPE_NUL_STRING, 16, 0 },
	[VNET_A_DRIVER] = { MNL_TYPE_NUL_STRING, 16, 0 },
	[VNET_A_MAC] = { MNL_TYPE_BINARY, 6, 0 },
	[VNET_A_MTU] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_MAX_MTU] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_OPER_UP] = { MNL_TYPE_U8, 0, 1 },
	[VNET_A_ADMIN_UP] = { MNL_TYPE_U8, 0, 1 },
	[VNET_A_PROMISC] = { MNL_TYPE_U8, 0, 1 },
	[VNET_A_ALLMULTI] = { MNL_TYPE_U8, 0, 1 },
	[VNET_A_BROKEN] = { MNL_TYPE_U8, 0, 1 },
	[VNET_A_QUEUE_PAIRS] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_OPEN_PAIRS] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_MAX_PAIRS] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_QUEUE_SIZE] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_FEATURES] = { MNL_TYPE_U64, 0, 0 },
	[VNET_A_FEATURE_NAMES] = { MNL_TYPE_NESTED, 0, 0 },
	[VNET_A_FEATURE_NAME] = { MNL_TYPE_NUL_STRING, 64, 0 },
	[VNET_A_MAC_FILTERS] = { MNL_TYPE_NESTED, 0, 0 },
	[VNET_A_VLAN] = { MNL_TYPE_U16, 0, 4095 },
	[VNET_A_VLANS] = { MNL_TYPE_NESTED, 0, 0 },
	[VNET_A_STATS] = { MNL_TYPE_NESTED, 0, 0 },
	[VNET_A_STAT] = { MNL_TYPE_NESTED, 0, 0 },
	[VNET_A_STAT_NAME] = { MNL_TYPE_NUL_STRING, 32, 0 },
	[VNET_A_STAT_VALUE] = { MNL_TYPE_U64, 0, 0 },
	[VNET_A_EVENT] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_RSS_ON] = { MNL_TYPE_U8, 0, 1 },
	[VNET_A_RSS_HASH_TYPES] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_RSS_HASH_SUPPORTED] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_RSS_KEY] = { MNL_TYPE_BINARY, 0, VNET_RSS_KEY_MAX },
	[VNET_A_RSS_KEY_MAX] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_RSS_TABLE] = { MNL_TYPE_BINARY, 0, 2 * VNET_RSS_TABLE_MAX },
	[VNET_A_RSS_TABLE_MAX] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_COAL_RX_USECS] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_COAL_RX_FRAMES] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_COAL_TX_USECS] = { MNL_TYPE_U32, 0, 0 },
	[VNET_A_COAL_TX_FRAMES] = { MNL_TYPE_U32, 0, 0 },
};

/* The generic netlink controller's attributes that GETFAMILY reads. */
static const struct policy ctrl_policy[CTRL_ATTR_FAMILY_NAME + 1] = {
	[CTRL_ATTR_FAMILY_ID] = { MNL_TYPE_U16, 0, 0 },
	[CTRL_ATTR_FAMILY_NAME] = { MNL_TYPE_NUL_STRING, GENL_NAMSIZ, 0 },
};

/* Attribute parsing state (mnl_attr_parse callbacks). */
struct parse {
	const struct policy *pol;
	unsigned n_pol;
	const struct nlattr **tb; /* top level: the last attribute of each type */
	unsigned depth;
	const char *end;          /* where the attributes seen so far end */
	int err;
};

static int check_nest(struct parse *p, const struct nlattr *nest);

static int value_check(const struct policy *pol, const struct nlattr *a)
{
	uint64_t v;

	switch (pol->type) {
	case MNL_TYPE_U8: v = mnl_attr_get_u8(a); break;
	case MNL_TYPE_U16: v = mnl_attr_get_u16(a); break;
	case MNL_TYPE_U32: v = mnl_attr_get_u32(a); break;
	default: return 0;
	}
	if (pol->max && v > pol->max)
		return vn_err(-EINVAL, "attribute %u: value %llu is over %u", mnl_attr_get_type(a),
			      (unsigned long long)v, (unsigned)pol->max);
	return 0;
}

/* One attribute against the policy (unknown types are skipped: newer clients). */
static int attr_check(const struct nlattr *a, struct parse *p)
{
	uint16_t type = mnl_attr_get_type(a), len = mnl_attr_get_payload_len(a);
	const struct policy *pol = type < p->n_pol ? &p->pol[type] : NULL;
	int rc;

	if (!pol || !pol->type)
		return 0;
	/* mnl_attr_validate2: the length is exact for integers and binaries. */
	if (pol->type == MNL_TYPE_BINARY && pol->len)
		rc = mnl_attr_validate2(a, MNL_TYPE_BINARY, pol->len);
	else if (pol->type == MNL_TYPE_BINARY)
		rc = len >= 1 && len <= pol->max ? 0 : -1;
	else
		rc = mnl_attr_validate(a, pol->type);
	if (rc < 0)
		return vn_err(-EINVAL, "attribute %u: wrong type or length (%u bytes)", type, len);
	if (pol->type == MNL_TYPE_NUL_STRING &&
	    (len > pol->len || strnlen(mnl_attr_get_str(a), len) != (size_t)len - 1u))
		return vn_err(-EINVAL, "attribute %u: a string of %u bytes (at most %u with its NUL, none inside)",
			      type, len, pol->len);
	if (pol->type == MNL_TYPE_NESTED) {
		struct parse in = { .pol = p->pol, .n_pol = p->n_pol, .depth = p->depth + 1 };

		if (in.depth > CTL_NEST_DEPTH)
			return vn_err(-EINVAL, "attribute %u: nested deeper than %d", type,
				      CTL_NEST_DEPTH);
		return check_nest(&in, a);
	}
	return value_check(pol, a);
}

static int parse_cb(const struct nlattr *a, void *data)
{
	struct parse *p = data;
	uint16_t type = mnl_attr_get_type(a);

	p->err = attr_check(a, p);
	if (p->err)
		return MNL_CB_ERROR;
	p->end = (const char *)a + MNL_ALIGN(a->nla_len);
	if (p->tb && type < p->n_pol)
		p->tb[type] = a;
	return MNL_CB_OK;
}

/* mnl_attr_parse*() stop quietly at a truncated attribute: they must have
 * reached tail (the last attribute's padding may go past an unaligned one). */
static int stream_end(const struct parse *p, const char *tail)
{
	if (p->end < tail)
		return vn_err(-EINVAL, "a truncated attribute (%zu bytes left over)",
			      (size_t)(tail - p->end));
	return 0;
}

static int check_nest(struct parse *p, const struct nlattr *nest)
{
	p->end = mnl_attr_get_payload(nest);
	if (mnl_attr_parse_nested(nest, parse_cb, p) == MNL_CB_ERROR)
		return p->err ? p->err : vn_err(-EINVAL, "malformed nested attribute");
	return stream_end(p, (const char *)mnl_attr_get_payload(nest) +
				     mnl_attr_get_payload_len(nest));
}

/* The attributes of a request, after its genlmsghdr, into tb. */
static int parse_attrs(const struct nlmsghdr *nlh, const struct policy *pol, unsigned n_pol,
		       const struct nlattr **tb)
{
	struct parse p = { .pol = pol, .n_pol = n_pol, .tb = tb };
	const char *tail = (const char *)mnl_nlmsg_get_payload_tail(nlh);

	p.end = (const char *)mnl_nlmsg_get_payload_offset(nlh, GENL_HDRLEN);
	if (mnl_attr_parse(nlh, GENL_HDRLEN, parse_cb, &p) == MNL_CB_ERROR)
		return p.err ? p.err : vn_err(-EINVAL, "malformed attribute");
	return stream_end(&p, tail);
}

/* --- building answers --- */

/* A message under construction; full once an attribute did not fit. */
struct out {
	struct nlmsghdr *nlh;
	bool full;
};

static void put(struct out *o, uint16_t type, size_t len, const void *data)
{
	if (!o->full && !mnl_attr_put_check(o->nlh, VNET_CTL_MSG_MAX, type, len, data))
		o->full = true;
}

static void put_u8(struct out *o, uint16_t type, uint8_t v) { put(o, type, sizeof(v), &v); }
static void put_u16(struct out *o, uint16_t type, uint16_t v) { put(o, type, sizeof(v), &v); }
static void put_u32(struct out *o, uint16_t type, uint32_t v) { put(o, type, sizeof(v), &v); }
static void put_u64(struct out *o, uint16_t type, uint64_t v) { put(o, type, sizeof(v), &v); }
static void put_str(struct out *o, uint16_t type, const char *s) { put(o, type, strlen(s) + 1, s); }

static struct nlattr *nest_start(struct out *o, uint16_t type)
{
	struct nlattr *n = o->full ? NULL : mnl_attr_nest_start_check(o->nlh, VNET_CTL_MSG_MAX, type);

	if (!n)
		o->full = true;
	return n;
}

static void nest_end(struct out *o, struct nlattr *n)
{
	if (n && !o->full)
		mnl_attr_nest_end(o->nlh, n);
}

/* Start answer number r->n: a header echoing req's seq and pid. */
static struct out msg_start(struct vn_ctl_reply *r, const struct nlmsghdr *req, uint16_t type,
			    uint16_t flags)
{
	struct out o = { .full = false };

	/* libmnl leaves attribute padding as it finds it: start from zeros,
	 * so no stale bytes leave the process. */
	memset(r->buf[r->n], 0, sizeof(r->buf[r->n]));
	o.nlh = mnl_nlmsg_put_header(r->buf[r->n]);
	o.nlh->nlmsg_type = type;
	o.nlh->nlmsg_flags = flags;
	o.nlh->nlmsg_seq = req->nlmsg_seq;
	o.nlh->nlmsg_pid = req->nlmsg_pid;
	return o;
}

static struct out genl_start(struct vn_ctl_reply *r, const struct nlmsghdr *req, uint16_t type,
			     uint8_t cmd, uint16_t flags)
{
	struct out o = msg_start(r, req, type, flags);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(o.nlh, sizeof(*g));

	g->cmd = cmd;
	g->version = VNET_CTL_VERSION;
	return o;
}

/* Count the answer o; -EMSGSIZE when it did not fit. */
static int msg_end(struct vn_ctl_reply *r, struct out *o)
{
	if (o->full)
		return vn_err(-EMSGSIZE, "the answer does not fit in %d bytes", VNET_CTL_MSG_MAX);
	r->len[r->n++] = o->nlh->nlmsg_len;
	return 0;
}

/* NLMSG_ERROR with err (0: an ACK), the request's header and why. */
static void put_error(struct vn_ctl_reply *r, const struct nlmsghdr *req, int err)
{
	struct out o = msg_start(r, req, NLMSG_ERROR, NLM_F_CAPPED);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(o.nlh, sizeof(*e));
	const char *why = vn_err_msg();

	e->error = err;
	e->msg = *req;
	if (err && !*why)
		why = strerror(-err);
	if (err) {
		o.nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		put_str(&o, NLMSGERR_ATTR_MSG, why);
	}
	/* An error message always fits: it is capped at the header. */
	r->len[r->n++] = o.nlh->nlmsg_len;
}

/* --- commands --- */

struct req {
	const struct vn_ctl_ctx *c;
	const struct nlmsghdr *nlh;
	const struct nlattr *tb[VNET_A_MAX + 1];
	struct vn_ctl_reply *r;
};

static void put_features(struct out *o, uint64_t features)
{
	struct nlattr *n = nest_start(o, VNET_A_FEATURE_NAMES);
	char bit[16];

	for (unsigned i = 0; i < 64; i++) {
		const char *name = vn_ctl_feature_name(i);

		if (!(features >> i & 1))
			continue;
		if (!name) {
			snprintf(bit, sizeof(bit), "bit %u", i);
			name = bit;
		}
		put_str(o, VNET_A_FEATURE_NAME, name);
	}
	nest_end(o, n);
}

static void put_filters(struct out *o, const struct vnet_dev_filters *f)
{
	struct nlattr *n = nest_start(o, VNET_A_MAC_FILTERS);

	for (unsigned i = 0; i < VN_MIN(f->n_mac, VN_ARRAY_SIZE(f->mac)); i++)
		put(o, VNET_A_MAC, sizeof(f->mac[i]), f->mac[i]);
	nest_end(o, n);
	n = nest_start(o, VNET_A_VLANS);
	for (unsigned i = 0; i < VN_MIN(f->n_vlan, VN_ARRAY_SIZE(f->vlan)); i++)
		put_u16(o, VNET_A_VLAN, f->vlan[i]);
	nest_end(o, n);
}

static int link_get(struct req *q)
{
	const struct vn_ctl_ctx *c = q->c;
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vnet_dev_filters f = { .sz = sizeof(f) };
	struct out o;
	int rc = c->ops->info(c->dev, &i);

	if (!rc)
		rc = c->ops->filters(c->dev, &f);
	if (rc)
		return rc;
	o = genl_start(q->r, q->nlh, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_GET, 0);
	put_str(&o, VNET_A_NAME, c->name);
	put_str(&o, VNET_A_URI, i.uri);
	put_u32(&o, VNET_A_PID, c->pid);
	put_str(&o, VNET_A_ACCESS, i.access);
	put_str(&o, VNET_A_DRIVER, i.driver);
	put(&o, VNET_A_MAC, sizeof(i.mac), i.mac);
	put_u32(&o, VNET_A_MTU, i.mtu);
	put_u32(&o, VNET_A_MAX_MTU, i.max_mtu);
	put_u8(&o, VNET_A_OPER_UP, i.link_up != 0);
	put_u8(&o, VNET_A_ADMIN_UP, !!(i.flags & VNET_IFF_UP));
	put_u8(&o, VNET_A_PROMISC, !!(i.flags & VNET_IFF_PROMISC));
	put_u8(&o, VNET_A_ALLMULTI, !!(i.flags & VNET_IFF_ALLMULTI));
	put_u8(&o, VNET_A_BROKEN, i.broken != 0);
	put_u32(&o, VNET_A_QUEUE_PAIRS, i.active_pairs);
	put_u32(&o, VNET_A_OPEN_PAIRS, i.queue_pairs);
	put_u32(&o, VNET_A_MAX_PAIRS, i.max_queue_pairs);
	put_u32(&o, VNET_A_QUEUE_SIZE, i.queue_size);
	put_u64(&o, VNET_A_FEATURES, i.features);
	put_features(&o, i.features);
	put_filters(&o, &f);
	return msg_end(q->r, &o);
}

/* Per queue counters, in the order of vnet/ctl.h, then their totals. */
#define QS(f) offsetof(struct vnet_queue_stats, f)
static const struct {
	const char *fmt;  /* per queue, with its number */
	const char *total; /* the device-wide sum, or NULL */
	size_t off;
} qstats[] = {
	{ "rx_queue_%u_packets", "rx_packets", QS(rx_packets) },
	{ "rx_queue_%u_bytes", "rx_bytes", QS(rx_bytes) },
	{ "rx_queue_%u_drops", "rx_dropped", QS(rx_dropped) },
	{ "rx_queue_%u_errors", "rx_errors", QS(rx_errors) },
	{ "tx_queue_%u_packets", "tx_packets", QS(tx_packets) },
	{ "tx_queue_%u_bytes", "tx_bytes", QS(tx_bytes) },
	{ "tx_queue_%u_errors", "tx_errors", QS(tx_errors) },
	{ "rx_queue_%u_kicks", NULL, QS(rx_kicks) },
	{ "tx_queue_%u_kicks", NULL, QS(tx_kicks) },
};

static void put_stat(struct out *o, const char *name, uint64_t v)
{
	struct nlattr *n = nest_start(o, VNET_A_STAT);

	put_str(o, VNET_A_STAT_NAME, name);
	put_u64(o, VNET_A_STAT_VALUE, v);
	nest_end(o, n);
}

static uint64_t field(const struct vnet_queue_stats *st, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)st + off, sizeof(v));
	return v;
}

static int stats_get(struct req *q)
{
	const struct vn_ctl_ctx *c = q->c;
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vnet_xstat xs[CTL_XSTATS_MAX];
	uint64_t total[VN_ARRAY_SIZE(qstats)] = { 0 };
	struct nlattr *n;
	struct out o;
	char name[32];
	int rc = c->ops->info(c->dev, &i), nx = rc ? rc : c->ops->xstats(c->dev, xs, CTL_XSTATS_MAX);

	if (nx < 0)
		return nx;
	if (nx > CTL_XSTATS_MAX)
		return vn_err(-EMSGSIZE, "the device has %d counters, more than %d", nx,
			      CTL_XSTATS_MAX);
	o = genl_start(q->r, q->nlh, VNET_CTL_FAMILY_ID, VNET_CMD_STATS_GET, 0);
	put_str(&o, VNET_A_NAME, c->name);
	n = nest_start(&o, VNET_A_STATS);
	for (unsigned qp = 0; qp < i.queue_pairs; qp++) {
		struct vnet_queue_stats st = { .sz = sizeof(st) };

		rc = c->ops->queue_stats(c->dev, qp, &st);
		if (rc)
			return rc;
		for (size_t k = 0; k < VN_ARRAY_SIZE(qstats); k++) {
			snprintf(name, sizeof(name), qstats[k].fmt, qp);
			put_stat(&o, name, field(&st, qstats[k].off));
			total[k] += field(&st, qstats[k].off);
		}
	}
	for (size_t k = 0; k < VN_ARRAY_SIZE(qstats); k++)
		if (qstats[k].total)
			put_stat(&o, qstats[k].total, total[k]);
	for (int k = 0; k < nx; k++) {
		xs[k].name[sizeof(xs[k].name) - 1] = '\0';
		put_stat(&o, xs[k].name, xs[k].value);
	}
	nest_end(&o, n);
	return msg_end(q->r, &o);
}

/* LINK_SET's attributes in the order they apply (vnet/ctl.h). */
static const struct {
	uint16_t attr;
	enum vn_set_kind kind;
	int only;  /* for VNET_A_ADMIN_UP: the value this step applies (down first, up last); -1 any */
} link_steps[] = {
	{ VNET_A_ADMIN_UP, VN_SET_UP, 0 },
	{ VNET_A_MTU, VN_SET_MTU, -1 },
	{ VNET_A_MAC, VN_SET_MAC, -1 },
	{ VNET_A_PROMISC, VN_SET_PROMISC, -1 },
	{ VNET_A_ALLMULTI, VN_SET_ALLMULTI, -1 },
	{ VNET_A_QUEUE_PAIRS, VN_SET_QUEUE_PAIRS, -1 },
	{ VNET_A_ADMIN_UP, VN_SET_UP, 1 },
};

/* The vn_set of attribute a (a MAC or an integer). */
static struct vn_set set_of(enum vn_set_kind kind, const struct nlattr *a)
{
	struct vn_set s = { .kind = kind };

	switch (mnl_attr_get_type(a)) {
	case VNET_A_MAC:
		memcpy(s.mac, mnl_attr_get_payload(a), sizeof(s.mac));
		break;
	case VNET_A_VLAN:
		s.val = mnl_attr_get_u16(a);
		break;
	case VNET_A_MTU:
	case VNET_A_QUEUE_PAIRS:
		s.val = mnl_attr_get_u32(a);
		break;
	default:
		s.val = mnl_attr_get_u8(a);
		break;
	}
	return s;
}

static int link_set(struct req *q)
{
	for (size_t k = 0; k < VN_ARRAY_SIZE(link_steps); k++) {
		const struct nlattr *a = q->tb[link_steps[k].attr];
		struct vn_set s;
		int rc;

		if (!a)
			continue;
		s = set_of(link_steps[k].kind, a);
		if (link_steps[k].only >= 0 && s.val != (unsigned)link_steps[k].only)
			continue;
		rc = q->c->ops->set(q->c->dev, &s);
		if (rc)
			return rc;
	}
	return 0;
}

/* MAC_ADD/DEL and VLAN_ADD/DEL: one attribute, one change. */
static int filter_cmd(struct req *q, uint16_t attr, enum vn_set_kind kind)
{
	struct vn_set s;

	if (!q->tb[attr])
		return vn_err(-EINVAL, "the request needs %s",
			      attr == VNET_A_MAC ? "VNET_A_MAC" : "VNET_A_VLAN");
	s = set_of(kind, q->tb[attr]);
	return q->c->ops->set(q->c->dev, &s);
}

static int mac_add(struct req *q) { return filter_cmd(q, VNET_A_MAC, VN_SET_MAC_ADD); }
static int mac_del(struct req *q) { return filter_cmd(q, VNET_A_MAC, VN_SET_MAC_DEL); }
static int vlan_add(struct req *q) { return filter_cmd(q, VNET_A_VLAN, VN_SET_VLAN_ADD); }
static int vlan_del(struct req *q) { return filter_cmd(q, VNET_A_VLAN, VN_SET_VLAN_DEL); }

static int rss_get(struct req *q)
{
	struct vnet_rss r = { .sz = sizeof(r) };
	int rc = q->c->ops->get(q->c->dev, VN_SET_RSS, &r);
	struct out o;

	if (rc)
		return rc;
	o = genl_start(q->r, q->nlh, VNET_CTL_FAMILY_ID, VNET_CMD_RSS_GET, 0);
	put_str(&o, VNET_A_NAME, q->c->name);
	put_u8(&o, VNET_A_RSS_ON, r.enabled != 0);
	put_u32(&o, VNET_A_RSS_HASH_TYPES, r.hash_types);
	put_u32(&o, VNET_A_RSS_HASH_SUPPORTED, r.supported_hash_types);
	put_u32(&o, VNET_A_RSS_KEY_MAX, r.max_key_len);
	put_u32(&o, VNET_A_RSS_TABLE_MAX, r.max_table_len);
	if (r.key_len && r.key_len <= VNET_RSS_KEY_MAX)
		put(&o, VNET_A_RSS_KEY, r.key_len, r.key);
	if (r.table_len && r.table_len <= VNET_RSS_TABLE_MAX)
		put(&o, VNET_A_RSS_TABLE, r.table_len * sizeof(r.table[0]), r.table);
	return msg_end(q->r, &o);
}

/* The current configuration with what the request carries over it. */
static int rss_set(struct req *q)
{
	const struct nlattr *key = q->tb[VNET_A_RSS_KEY], *table = q->tb[VNET_A_RSS_TABLE];
	struct vnet_rss r = { .sz = sizeof(r) };
	struct vn_set s = { .kind = VN_SET_RSS, .arg = &r };
	int rc = q->c->ops->get(q->c->dev, VN_SET_RSS, &r);

	if (rc)
		return rc;
	if (q->tb[VNET_A_RSS_HASH_TYPES])
		r.hash_types = mnl_attr_get_u32(q->tb[VNET_A_RSS_HASH_TYPES]);
	if (key) {
		r.key_len = mnl_attr_get_payload_len(key);
		memcpy(r.key, mnl_attr_get_payload(key), r.key_len);
	}
	if (table) {
		if (mnl_attr_get_payload_len(table) % 2)
			return vn_err(-EINVAL, "VNET_A_RSS_TABLE: %u bytes is not a whole number of "
				      "u16 entries", mnl_attr_get_payload_len(table));
		r.table_len = mnl_attr_get_payload_len(table) / 2u;
		memcpy(r.table, mnl_attr_get_payload(table), r.table_len * 2u);
	}
	if (!r.key_len || !r.table_len)
		return vn_err(-EINVAL, "RSS is not configured yet: the first RSS_SET needs %s",
			      r.key_len ? "VNET_A_RSS_TABLE"
			      : r.table_len ? "VNET_A_RSS_KEY" : "VNET_A_RSS_KEY and VNET_A_RSS_TABLE");
	return q->c->ops->set(q->c->dev, &s);
}

/* VNET_A_COAL_* and the field of struct vnet_coalesce each is. */
static const struct {
	uint16_t attr;
	size_t off;
} coal_attrs[] = {
	{ VNET_A_COAL_RX_USECS, offsetof(struct vnet_coalesce, rx_usecs) },
	{ VNET_A_COAL_RX_FRAMES, offsetof(struct vnet_coalesce, rx_max_frames) },
	{ VNET_A_COAL_TX_USECS, offsetof(struct vnet_coalesce, tx_usecs) },
	{ VNET_A_COAL_TX_FRAMES, offsetof(struct vnet_coalesce, tx_max_frames) },
};

static int coal_get(struct req *q)
{
	struct vnet_coalesce c = { .sz = sizeof(c) };
	int rc = q->c->ops->get(q->c->dev, VN_SET_COALESCE, &c);
	struct out o;
	uint32_t v;

	if (rc)
		return rc;
	o = genl_start(q->r, q->nlh, VNET_CTL_FAMILY_ID, VNET_CMD_COALESCE_GET, 0);
	put_str(&o, VNET_A_NAME, q->c->name);
	for (size_t k = 0; k < VN_ARRAY_SIZE(coal_attrs); k++) {
		memcpy(&v, (const char *)&c + coal_attrs[k].off, sizeof(v));
		put_u32(&o, coal_attrs[k].attr, v);
	}
	return msg_end(q->r, &o);
}

static int coal_set(struct req *q)
{
	struct vnet_coalesce c = { .sz = sizeof(c) };
	struct vn_set s = { .kind = VN_SET_COALESCE, .arg = &c };
	int rc = q->c->ops->get(q->c->dev, VN_SET_COALESCE, &c);

	if (rc)
		return rc;
	for (size_t k = 0; k < VN_ARRAY_SIZE(coal_attrs); k++) {
		const struct nlattr *a = q->tb[coal_attrs[k].attr];
		uint32_t v;

		if (!a)
			continue;
		v = mnl_attr_get_u32(a);
		memcpy((char *)&c + coal_attrs[k].off, &v, sizeof(v));
	}
	return q->c->ops->set(q->c->dev, &s);
}

static int subscribe(struct req *q)
{
	q->r->subscribe = true;
	return 0;
}

static const struct {
	int (*fn)(struct req *q);
	bool dumps; /* takes NLM_F_DUMP: its one answer, then NLMSG_DONE */
} commands[__VNET_CMD_MAX] = {
	[VNET_CMD_LINK_GET] = { link_get, true },   [VNET_CMD_LINK_SET] = { link_set, false },
	[VNET_CMD_STATS_GET] = { stats_get, true }, [VNET_CMD_MAC_ADD] = { mac_add, false },
	[VNET_CMD_MAC_DEL] = { mac_del, false },    [VNET_CMD_VLAN_ADD] = { vlan_add, false },
	[VNET_CMD_VLAN_DEL] = { vlan_del, false },  [VNET_CMD_SUBSCRIBE] = { subscribe, false },
	[VNET_CMD_RSS_GET] = { rss_get, false },    [VNET_CMD_RSS_SET] = { rss_set, false },
	[VNET_CMD_COALESCE_GET] = { coal_get, false }, [VNET_CMD_COALESCE_SET] = { coal_set, false },
};

static bool is_dump(const struct nlmsghdr *nlh)
{
	return (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

/* A dump's one answer becomes a multipart one, ended by NLMSG_DONE. */
static int end_dump(struct req *q)
{
	struct out o = msg_start(q->r, q->nlh, NLMSG_DONE, NLM_F_MULTI);

	((struct nlmsghdr *)q->r->buf[0])->nlmsg_flags |= NLM_F_MULTI;
	/* NLMSG_DONE carries an int: the dump's error, 0. */
	*(int *)mnl_nlmsg_put_extra_header(o.nlh, sizeof(int)) = 0;
	return msg_end(q->r, &o);
}

/* CTRL_CMD_GETFAMILY "vnet": answered as the kernel's controller does. */
static int get_family(struct req *q, const struct genlmsghdr *g)
{
	const struct nlattr *tb[CTRL_ATTR_FAMILY_NAME + 1] = { NULL };
	struct out o;
	int rc;

	if (g->cmd != CTRL_CMD_GETFAMILY)
		return vn_err(-EOPNOTSUPP, "controller command %u: only CTRL_CMD_GETFAMILY is served",
			      g->cmd);
	rc = parse_attrs(q->nlh, ctrl_policy, VN_ARRAY_SIZE(ctrl_policy), tb);
	if (rc)
		return rc;
	if (!tb[CTRL_ATTR_FAMILY_NAME])
		return vn_err(-EINVAL, "CTRL_CMD_GETFAMILY needs CTRL_ATTR_FAMILY_NAME");
	if (strcmp(mnl_attr_get_str(tb[CTRL_ATTR_FAMILY_NAME]), VNET_CTL_FAMILY_NAME))
		return vn_err(-ENOENT, "no family \"%s\" here (this socket speaks \"%s\")",
			      mnl_attr_get_str(tb[CTRL_ATTR_FAMILY_NAME]), VNET_CTL_FAMILY_NAME);
	o = genl_start(q->r, q->nlh, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, 0);
	put_str(&o, CTRL_ATTR_FAMILY_NAME, VNET_CTL_FAMILY_NAME);
	put_u16(&o, CTRL_ATTR_FAMILY_ID, VNET_CTL_FAMILY_ID);
	put_u32(&o, CTRL_ATTR_VERSION, VNET_CTL_VERSION);
	put_u32(&o, CTRL_ATTR_HDRSIZE, 0);
	put_u32(&o, CTRL_ATTR_MAXATTR, VNET_A_MAX);
	return msg_end(q->r, &o);
}

/* Check the headers of a datagram of len bytes (the aligned copy in nlh). */
static int check_headers(const struct nlmsghdr *nlh, size_t len)
{
	if (len > VNET_CTL_MSG_MAX)
		return vn_err(-EMSGSIZE, "a request of %zu bytes (at most %d)", len, VNET_CTL_MSG_MAX);
	if (len < sizeof(*nlh))
		return vn_err(-EINVAL, "a datagram of %zu bytes is shorter than a netlink header", len);
	if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
		return vn_err(-EINVAL, "nlmsg_len %u does not fit the datagram of %zu bytes",
			      nlh->nlmsg_len, len);
	if (len > NLMSG_ALIGN(nlh->nlmsg_len))
		return vn_err(-EINVAL, "%zu bytes after the message (one message per datagram)",
			      len - NLMSG_ALIGN(nlh->nlmsg_len));
	if (!(nlh->nlmsg_flags & NLM_F_REQUEST))
		return vn_err(-EINVAL, "not a request (NLM_F_REQUEST is clear)");
	if (nlh->nlmsg_type != VNET_CTL_FAMILY_ID && nlh->nlmsg_type != GENL_ID_CTRL)
		return vn_err(-EOPNOTSUPP, "message type %u: this socket speaks family %u (\"%s\")",
			      nlh->nlmsg_type, VNET_CTL_FAMILY_ID, VNET_CTL_FAMILY_NAME);
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return vn_err(-EINVAL, "no generic netlink header");
	return 0;
}

static int run(struct req *q, const struct genlmsghdr *g)
{
	int rc;

	if (q->nlh->nlmsg_type == GENL_ID_CTRL)
		return get_family(q, g);
	if (g->version != VNET_CTL_VERSION)
		return vn_err(-EOPNOTSUPP, "protocol version %u (this server speaks %d)", g->version,
			      VNET_CTL_VERSION);
	if (g->cmd >= __VNET_CMD_MAX || !commands[g->cmd].fn)
		return vn_err(-EOPNOTSUPP, "unknown command %u", g->cmd);
	if (is_dump(q->nlh) && !commands[g->cmd].dumps)
		return vn_err(-EOPNOTSUPP, "command %u does not take NLM_F_DUMP", g->cmd);
	rc = parse_attrs(q->nlh, policy, VN_ARRAY_SIZE(policy), q->tb);
	return rc ? rc : commands[g->cmd].fn(q);
}

static int dispatch(struct req *q)
{
	int rc = run(q, mnl_nlmsg_get_payload(q->nlh));

	return !rc && is_dump(q->nlh) ? end_dump(q) : rc;
}

void vn_ctl_handle(const struct vn_ctl_ctx *c, const void *req, size_t len, struct vn_ctl_reply *r)
{
	struct req q = { .c = c, .r = r };
	size_t got = VN_MIN(len, (size_t)VNET_CTL_MSG_MAX);
	struct nlmsghdr *nlh = (struct nlmsghdr *)r->in;
	int rc;

	/* An aligned copy, zero-padded to the next 4 bytes: attributes are
	 * parsed up to NLMSG_ALIGN(nlmsg_len). */
	memset((char *)r->in + (got & ~(size_t)3), 0, 4);
	memcpy(r->in, req, got);
	if (got < sizeof(*nlh))
		memset((char *)r->in + got, 0, sizeof(*nlh) - got);
	r->n = 0;
	r->subscribe = false;
	q.nlh = nlh;
	vn_err_clear();
	rc = check_headers(nlh, len);
	if (!rc)
		rc = dispatch(&q);
	r->error = rc;
	if (rc) {
		/* Answers built before the failure are not sent. */
		r->n = 0;
		r->subscribe = false;
		put_error(r, nlh, rc);
	} else if ((nlh->nlmsg_flags & NLM_F_ACK) && !is_dump(nlh)) {
		/* A dump ends with NLMSG_DONE instead, as the kernel's do. */
		put_error(r, nlh, 0);
	}
}

size_t vn_ctl_event_msg(const struct vn_ctl_ctx *c, int type, void *buf)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(memset(buf, 0, VNET_CTL_MSG_MAX));
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	struct out o = { .nlh = nlh };

	nlh->nlmsg_type = VNET_CTL_FAMILY_ID;
	g->cmd = VNET_CMD_EVENT;
	g->version = VNET_CTL_VERSION;
	put_str(&o, VNET_A_NAME, c->name);
	put_u32(&o, VNET_A_EVENT, (uint32_t)type);
	if (c->ops->info(c->dev, &i) == 0) {
		put_u8(&o, VNET_A_OPER_UP, i.link_up != 0);
		put_u8(&o, VNET_A_ADMIN_UP, !!(i.flags & VNET_IFF_UP));
	}
	return nlh->nlmsg_len;
}
