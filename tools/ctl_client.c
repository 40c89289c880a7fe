/* SPDX-License-Identifier: MIT */
/*
 * The control protocol client of ctl_client.h, over libmnl.
 *
 * One request is in flight per connection: it gets the next nlmsg_seq, and
 * only answers carrying that seq count (anything else, such as a late
 * answer to an earlier request, is skipped). An answer is every datagram
 * until the one that ends the request: the GET's answer, the NLMSG_ERROR
 * (0 for an ack) of a request sent with NLM_F_ACK, or NLMSG_DONE of a dump.
 * The whole exchange must finish within CTL_TIMEOUT_MS.
 *
 * Every attribute is checked against its declared type and length
 * (attr_spec[]) before it is read; unknown attribute types are skipped, as
 * ctl.h asks of clients, so a newer server still works.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "compiler.h"
#include "ctl/ctl_int.h"
#include "ctl_client.h"
#include "log.h"

#define REQ_MAX 512       /* our requests carry a few small attributes */
#define MAX_STATS 4096    /* more counters than any device has */

static char why[512];

static int fail(int err, const char *fmt, ...) VN_PRINTF(2, 3);
static int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return err;
}

const char *ctl_why(void)
{
	return why;
}

/* ---- Finding devices ---- */

int ctl_run_dir(char *buf, size_t sz)
{
	int r = vn_ctl_run_dir(buf, sz);

	return r ? fail(r, "%s", vn_err_msg()) : 0;
}

bool ctl_valid_name(const char *name)
{
	return vn_ctl_name_valid(name) == 0;
}

int ctl_list(char (*names)[VN_CTL_NAME_MAX], size_t max)
{
	char dir[VN_CTL_PATH_MAX];
	int n = ctl_run_dir(dir, sizeof(dir));

	if (n)
		return n;
	n = vn_ctl_list(dir, names, (unsigned)max);
	if (n == -ENOENT)
		return fail(n, "no libvnet device is running (there is no run directory %s)", dir);
	if (n < 0)
		return fail(n, "%s", vn_err_msg());
	return n < (int)max ? n : (int)max;
}

int ctl_connect(struct ctl_conn *c, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	/* A listener whose backlog is full (a stuck server) makes connect()
	 * wait; SO_SNDTIMEO bounds that wait and every send (socket(7)). */
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_MS / 1000,
			      .tv_usec = CTL_TIMEOUT_MS % 1000 * 1000 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char dir[VN_CTL_PATH_MAX];
	int r = ctl_run_dir(dir, sizeof(dir));

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (r)
		return r;
	snprintf(c->name, sizeof(c->name), "%s", name);
	/* Not vn_ctl_connect(): its connect() has no time limit. */
	r = vn_ctl_sock_path(dir, name, sa.sun_path, sizeof(sa.sun_path));
	if (r)
		return fail(r, "%s", vn_err_msg());
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail(-errno, "socket: %s", strerror(errno));
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return fail(-errno, "SO_SNDTIMEO: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		/* No socket, or one whose process is gone: no such device. */
		if (r == -ENOENT || r == -ECONNREFUSED)
			return -ENODEV;
		if (r == -EAGAIN)
			return fail(-ETIMEDOUT, "%s did not accept the connection in %d s (is its "
				    "process stuck?)", name, CTL_TIMEOUT_MS / 1000);
		if (r == -EACCES)
			return fail(r, "%s: permission denied on %s (run vnetconf as the "
				    "application's user or as root)", name, sa.sun_path);
		return fail(r, "%s: connect to %s: %s", name, sa.sun_path, strerror(-r));
	}
	if (!getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
		c->pid = cred.pid;
	c->buf = malloc(VNET_CTL_MSG_MAX);
	if (!c->buf)
		return fail(-ENOMEM, "out of memory");
	/* Start where no earlier vnetconf run's late answer can match. */
	c->seq = (uint32_t)time(NULL);
	return 0;
}

/* "no libvnet device named X; running: ..." */
static int no_device(const char *name)
{
	char names[CTL_MAX_LIST][VN_CTL_NAME_MAX], dir[VN_CTL_PATH_MAX];
	size_t len;
	int n = ctl_list(names, CTL_MAX_LIST), shown = 0;

	if (n < 0) {
		char reason[sizeof(why)];

		snprintf(reason, sizeof(reason), "%s", why);
		return fail(-ENODEV, "no libvnet device named %s: %s", name, reason);
	}
	len = (size_t)snprintf(why, sizeof(why), "no libvnet device named %s; running:", name);
	for (int i = 0; i < n && len < sizeof(why); i++) {
		struct ctl_conn o;

		if (ctl_connect(&o, names[i]) == 0) {
			len += (size_t)snprintf(why + len, sizeof(why) - len, "%s %s (pid %ld)",
						shown ? "," : "", names[i], (long)o.pid);
			shown++;
		}
		ctl_close(&o);
	}
	if (!shown && !ctl_run_dir(dir, sizeof(dir)))
		return fail(-ENODEV, "no libvnet device named %s: no libvnet device is running "
			    "(run directory %s has no live socket)", name, dir);
	return -ENODEV;
}

int ctl_open(struct ctl_conn *c, const char *name)
{
	int r;

	if (vn_ctl_name_valid(name)) {
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		return fail(-EINVAL, "%s", vn_err_msg());
	}
	r = ctl_connect(c, name);
	if (r == -ENODEV)
		r = no_device(name);
	if (r)
		ctl_close(c);
	return r;
}

void ctl_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

/* ---- Attributes ---- */

/* Type and exact length (0: any) of each attribute, as ctl.h declares them. */
static const struct {
	enum mnl_attr_data_type type;
	size_t len;
} attr_spec[__VNET_A_MAX] = {
	[VNET_A_NAME] = { MNL_TYPE_STRING, 0 },
	[VNET_A_URI] = { MNL_TYPE_STRING, 0 },
	[VNET_A_PID] = { MNL_TYPE_U32, 0 },
	[VNET_A_ACCESS] = { MNL_TYPE_STRING, 0 },
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
};

/* Names for messages about a bad answer. */
static const char *const attr_names[__VNET_A_MAX] = {
	[VNET_A_NAME] = "NAME", [VNET_A_URI] = "URI", [VNET_A_PID] = "PID",
	[VNET_A_ACCESS] = "ACCESS", [VNET_A_MAC] = "MAC", [VNET_A_MTU] = "MTU",
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
		return fail(-EPROTO, "malformed answer: attribute VNET_A_%s has %u bytes",
			    attr_names[t], mnl_attr_get_payload_len(a));
	return t;
}

/* A string attribute, NUL-terminated or not, into dst (truncated to fit). */
static void copy_str(char *dst, size_t sz, const struct nlattr *a)
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

/* ---- Requests and answers ---- */

/*
 * mnl_nlmsg_ok(), but safe for any nlmsg_len: libmnl compares it as an
 * int, so a length of 2^31 or more passes and mnl_nlmsg_next() leaves the
 * buffer (the fuzzer found it).
 */
static bool msg_ok(const struct nlmsghdr *m, int len)
{
	return mnl_nlmsg_ok(m, len) && m->nlmsg_len <= (uint32_t)len;
}

/* buf holds REQ_MAX bytes. */
static struct nlmsghdr *put_request(struct ctl_conn *c, char *buf, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	/* libmnl leaves the padding after an attribute as it was: no stack
	 * bytes may leave in it (valgrind saw them do so). */
	memset(buf, 0, REQ_MAX);
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = VNET_CTL_FAMILY_ID;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++c->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = VNET_CTL_VERSION;
	return nlh;
}

/* NLMSGERR_ATTR_MSG of an NLMSG_ERROR with NLM_F_ACK_TLVS. */
static int extack_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && !mnl_attr_validate(a, MNL_TYPE_STRING))
		copy_str(data, 256, a);
	return MNL_CB_OK;
}

/* An NLMSG_ERROR answer: 0 for an ack, else its errno with its message. */
static int error_answer(const struct ctl_conn *c, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh), off = sizeof(*e);
	char msg[256] = "";

	if (len < sizeof(*e) || e->error > 0 || e->error < -4095)
		return fail(-EPROTO, "%s (pid %ld) sent a malformed error message", c->name,
			    (long)c->pid);
	if (e->error == 0)
		return 0;
	/* The request is echoed unless capped; the TLVs follow it. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off <= len)
		mnl_attr_parse(nlh, (unsigned)off, extack_cb, msg);
	return fail(e->error, "%s", msg[0] ? msg : strerror(-e->error));
}

static int hung_up(const struct ctl_conn *c)
{
	return fail(-ECONNRESET, "%s (pid %ld) closed the connection without an answer (it "
		    "answers only its own user and root)", c->name, (long)c->pid);
}

/* Receive one datagram into c->buf before the deadline; its length. */
static int recv_answer(struct ctl_conn *c, const struct timespec *deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	struct timespec now;
	long ms;
	ssize_t n;
	int r;

	do {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline->tv_sec - now.tv_sec) * 1000 +
		     (deadline->tv_nsec - now.tv_nsec) / 1000000;
		r = poll(&p, 1, ms > 0 ? (int)ms : 0);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return fail(-ETIMEDOUT, "%s (pid %ld) did not answer in %d s (is its process "
			    "stuck?)", c->name, (long)c->pid, CTL_TIMEOUT_MS / 1000);
	/* MSG_TRUNC: the datagram's real length, to refuse an oversize one. */
	n = r < 0 ? -1 : recv(c->fd, c->buf, VNET_CTL_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return hung_up(c);
	if (n < 0)
		return fail(-errno, "%s (pid %ld): %s", c->name, (long)c->pid, strerror(errno));
	if (n > VNET_CTL_MSG_MAX)
		return fail(-EMSGSIZE, "%s (pid %ld) sent %zd bytes, more than the %d a message "
			    "may have", c->name, (long)c->pid, n, VNET_CTL_MSG_MAX);
	return (int)n;
}

/*
 * Send the request nlh and read its answer: fn gets each message of the
 * request's cmd. The answer ends with the first such message (single),
 * or with NLMSG_DONE or NLMSG_ERROR.
 */
static int transact(struct ctl_conn *c, struct nlmsghdr *nlh, bool single,
		    int (*fn)(const struct nlmsghdr *nlh, void *arg), void *arg)
{
	const uint8_t cmd = ((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd;
	struct timespec deadline;
	int len, r;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += CTL_TIMEOUT_MS / 1000;
	if (send(c->fd, nlh, nlh->nlmsg_len, MSG_NOSIGNAL) != (ssize_t)nlh->nlmsg_len) {
		if (errno == EPIPE || errno == ECONNRESET)
			return hung_up(c);
		return fail(-errno, "%s (pid %ld): %s", c->name, (long)c->pid,
			    errno == EAGAIN ? "did not take the request (is its process stuck?)"
					    : strerror(errno));
	}
	for (;;) {
		const struct nlmsghdr *m = (const struct nlmsghdr *)c->buf;

		len = recv_answer(c, &deadline);
		if (len < 0)
			return len;
		for (; msg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			const struct genlmsghdr *g = mnl_nlmsg_get_payload(m);

			if (m->nlmsg_seq != c->seq)
				continue; /* not the answer to this request */
			if (m->nlmsg_type == NLMSG_ERROR)
				return error_answer(c, m);
			if (m->nlmsg_type == NLMSG_DONE)
				return 0;
			if (m->nlmsg_type != VNET_CTL_FAMILY_ID ||
			    mnl_nlmsg_get_payload_len(m) < sizeof(*g) || g->cmd != cmd)
				return fail(-EPROTO, "%s (pid %ld) sent an unexpected message (type "
					    "%u)", c->name, (long)c->pid, m->nlmsg_type);
			r = fn(m, arg);
			if (r < 0 || single)
				return r;
		}
		if (len != 0)
			return fail(-EPROTO, "%s (pid %ld) sent a truncated message", c->name,
				    (long)c->pid);
	}
}

/* ---- LINK_GET ---- */

static int feature_cb(const struct nlattr *a, int type, void *arg)
{
	struct ctl_link *l = arg;

	if (type == VNET_A_FEATURE_NAME && l->n_features < CTL_MAX_LIST)
		copy_str(l->feature_names[l->n_features++], CTL_NAME_LEN, a);
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
		return fail(-EPROTO, "malformed answer: VLAN id %u", vid);
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
		copy_str(l->name, sizeof(l->name), a);
	else if (type == VNET_A_URI)
		copy_str(l->uri, sizeof(l->uri), a);
	else if (type == VNET_A_ACCESS)
		copy_str(l->access, sizeof(l->access), a);
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

static int link_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct ctl_link *l = arg;

	memset(l, 0, sizeof(*l));
	return walk_msg(nlh, link_cb, l);
}

int ctl_link_get(struct ctl_conn *c, struct ctl_link *l)
{
	char buf[REQ_MAX];
	int r = transact(c, put_request(c, buf, VNET_CMD_LINK_GET, 0), true, link_msg, l);

	if (r == 0 && !ctl_has(l, VNET_A_NAME))
		return fail(-EPROTO, "%s (pid %ld) answered without the device's name", c->name,
			    (long)c->pid);
	return r;
}

/* ---- STATS_GET ---- */

struct stat_parse {
	struct ctl_stats *s;
	struct ctl_stat cur;
	uint64_t have;
};

static int stat_field_cb(const struct nlattr *a, int type, void *arg)
{
	struct stat_parse *p = arg;

	if (type == VNET_A_STAT_NAME)
		copy_str(p->cur.name, sizeof(p->cur.name), a);
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
		return fail(-EPROTO, "malformed answer: a counter without a name or a value");
	if (p->s->n >= MAX_STATS)
		return fail(-EPROTO, "malformed answer: more than %d counters", MAX_STATS);
	v = realloc(p->s->v, (p->s->n + 1) * sizeof(*v));
	if (!v)
		return fail(-ENOMEM, "out of memory");
	p->s->v = v;
	v[p->s->n++] = p->cur;
	return 0;
}

static int stats_cb(const struct nlattr *a, int type, void *arg)
{
	struct stat_parse *p = arg;

	if (type == VNET_A_NAME)
		copy_str(p->s->name, sizeof(p->s->name), a);
	else if (type == VNET_A_STATS)
		return walk_nested(a, stat_cb, p);
	return 0;
}

static int stats_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct stat_parse p = { .s = arg };

	return walk_msg(nlh, stats_cb, &p);
}

int ctl_stats_get(struct ctl_conn *c, struct ctl_stats *s)
{
	char buf[REQ_MAX];
	int r;

	memset(s, 0, sizeof(*s));
	r = transact(c, put_request(c, buf, VNET_CMD_STATS_GET, 0), true, stats_msg, s);
	if (r)
		ctl_stats_free(s);
	return r;
}

void ctl_stats_free(struct ctl_stats *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* ---- Requests acknowledged with NLMSG_ERROR 0 ---- */

static int no_data(const struct nlmsghdr *nlh, void *arg)
{
	(void)nlh;
	(void)arg;
	return 0; /* an ack-only request has no data to read */
}

int ctl_link_set(struct ctl_conn *c, const struct ctl_settings *set)
{
	const bool admin = set->have >> VNET_A_ADMIN_UP & 1;
	char buf[REQ_MAX];
	struct nlmsghdr *nlh = put_request(c, buf, VNET_CMD_LINK_SET, NLM_F_ACK);

	/* ctl.h's order: down first, up last, the rest in between. */
	if (admin && !set->up)
		mnl_attr_put_u8(nlh, VNET_A_ADMIN_UP, 0);
	if (set->have >> VNET_A_MTU & 1)
		mnl_attr_put_u32(nlh, VNET_A_MTU, set->mtu);
	if (set->have >> VNET_A_MAC & 1)
		mnl_attr_put(nlh, VNET_A_MAC, 6, set->mac);
	if (set->have >> VNET_A_PROMISC & 1)
		mnl_attr_put_u8(nlh, VNET_A_PROMISC, set->promisc);
	if (set->have >> VNET_A_ALLMULTI & 1)
		mnl_attr_put_u8(nlh, VNET_A_ALLMULTI, set->allmulti);
	if (set->have >> VNET_A_QUEUE_PAIRS & 1)
		mnl_attr_put_u32(nlh, VNET_A_QUEUE_PAIRS, set->queue_pairs);
	if (admin && set->up)
		mnl_attr_put_u8(nlh, VNET_A_ADMIN_UP, 1);
	return transact(c, nlh, false, no_data, NULL);
}

int ctl_filter(struct ctl_conn *c, uint8_t cmd, const uint8_t *mac, uint16_t vid)
{
	char buf[REQ_MAX];
	struct nlmsghdr *nlh = put_request(c, buf, cmd, NLM_F_ACK);

	if (mac)
		mnl_attr_put(nlh, VNET_A_MAC, 6, mac);
	else
		mnl_attr_put_u16(nlh, VNET_A_VLAN, vid);
	return transact(c, nlh, false, no_data, NULL);
}

int ctl_subscribe(struct ctl_conn *c)
{
	char buf[REQ_MAX];

	return transact(c, put_request(c, buf, VNET_CMD_SUBSCRIBE, NLM_F_ACK), false, no_data,
			NULL);
}

/* ---- Notifications ---- */

static int event_cb(const struct nlattr *a, int type, void *arg)
{
	struct ctl_event *ev = arg;

	if (type == VNET_A_NAME)
		copy_str(ev->name, sizeof(ev->name), a);
	else if (type == VNET_A_EVENT)
		ev->type = mnl_attr_get_u32(a);
	else if (type == VNET_A_OPER_UP)
		ev->oper_up = mnl_attr_get_u8(a) != 0;
	else if (type == VNET_A_ADMIN_UP)
		ev->admin_up = mnl_attr_get_u8(a) != 0;
	return 0;
}

int ctl_read_events(struct ctl_conn *c, void (*fn)(const struct ctl_event *ev, void *arg),
		    void *arg)
{
	const struct nlmsghdr *m = (const struct nlmsghdr *)c->buf;
	ssize_t n = recv(c->fd, c->buf, VNET_CTL_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);
	int len, r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0; /* nothing (more) waits */
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return fail(-ECONNRESET, "%s went away", c->name);
	if (n < 0)
		return fail(-errno, "%s: %s", c->name, strerror(errno));
	if (n > VNET_CTL_MSG_MAX)
		return fail(-EMSGSIZE, "%s (pid %ld) sent %zd bytes, more than the %d a message "
			    "may have", c->name, (long)c->pid, n, VNET_CTL_MSG_MAX);
	len = (int)n;
	for (; msg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
		const struct genlmsghdr *g = mnl_nlmsg_get_payload(m);
		struct ctl_event ev = { .oper_up = -1, .admin_up = -1 };

		/* Only notifications: anything else (a late ack) is skipped. */
		if (m->nlmsg_type != VNET_CTL_FAMILY_ID || m->nlmsg_seq != 0 ||
		    mnl_nlmsg_get_payload_len(m) < sizeof(*g) || g->cmd != VNET_CMD_EVENT)
			continue;
		r = walk_msg(m, event_cb, &ev);
		if (r)
			return r;
		if (!ev.name[0])
			snprintf(ev.name, sizeof(ev.name), "%s", c->name);
		fn(&ev, arg);
	}
	return 1;
}
