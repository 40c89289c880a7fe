/* SPDX-License-Identifier: MIT */
/*
 * The control protocol client of ctl_client.h, over libmnl: finding and
 * connecting to devices, requests and their answers (decoded by
 * ctl_answer.c).
 *
 * One request is in flight per connection: it gets the next nlmsg_seq, and
 * only answers carrying that seq count (anything else, such as a late
 * answer to an earlier request, is skipped). An answer is every datagram
 * until the one that ends the request: the GET's answer, the NLMSG_ERROR
 * (0 for an ack) of a request sent with NLM_F_ACK, or NLMSG_DONE of a dump.
 * The whole exchange must finish within CTL_TIMEOUT_MS.
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
#include "ctl_answer.h"
#include "ctl_client.h"
#include "log.h"

#define REQ_MAX 1024      /* our requests: the largest, an RSS_SET, is ~620 bytes */

static char why[512];

int ctl_fail(int err, const char *fmt, ...)
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

	return r ? ctl_fail(r, "%s", vn_err_msg()) : 0;
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
		return ctl_fail(n, "no libvnet device is running (there is no run directory %s)", dir);
	if (n < 0)
		return ctl_fail(n, "%s", vn_err_msg());
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
		return ctl_fail(r, "%s", vn_err_msg());
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return ctl_fail(-errno, "socket: %s", strerror(errno));
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return ctl_fail(-errno, "SO_SNDTIMEO: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		/* No socket, or one whose process is gone: no such device. */
		if (r == -ENOENT || r == -ECONNREFUSED)
			return -ENODEV;
		if (r == -EAGAIN)
			return ctl_fail(-ETIMEDOUT, "%s did not accept the connection in %d s (is its "
				    "process stuck?)", name, CTL_TIMEOUT_MS / 1000);
		if (r == -EACCES)
			return ctl_fail(r, "%s: permission denied on %s (run vnetconf as the "
				    "application's user or as root)", name, sa.sun_path);
		return ctl_fail(r, "%s: connect to %s: %s", name, sa.sun_path, strerror(-r));
	}
	if (!getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
		c->pid = cred.pid;
	c->buf = malloc(VNET_CTL_MSG_MAX);
	if (!c->buf)
		return ctl_fail(-ENOMEM, "out of memory");
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
		return ctl_fail(-ENODEV, "no libvnet device named %s: %s", name, reason);
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
		return ctl_fail(-ENODEV, "no libvnet device named %s: no libvnet device is running "
			    "(run directory %s has no live socket)", name, dir);
	return -ENODEV;
}

int ctl_open(struct ctl_conn *c, const char *name)
{
	int r;

	if (vn_ctl_name_valid(name)) {
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		return ctl_fail(-EINVAL, "%s", vn_err_msg());
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
		ctl_copy_str(data, 256, a);
	return MNL_CB_OK;
}

/* An NLMSG_ERROR answer: 0 for an ack, else its errno with its message. */
static int error_answer(const struct ctl_conn *c, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh), off = sizeof(*e);
	char msg[256] = "";

	if (len < sizeof(*e) || e->error > 0 || e->error < -4095)
		return ctl_fail(-EPROTO, "%s (pid %ld) sent a malformed error message", c->name,
			    (long)c->pid);
	if (e->error == 0)
		return 0;
	/* The request is echoed unless capped; the TLVs follow it. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off <= len)
		mnl_attr_parse(nlh, (unsigned)off, extack_cb, msg);
	return ctl_fail(e->error, "%s", msg[0] ? msg : strerror(-e->error));
}

static int hung_up(const struct ctl_conn *c)
{
	return ctl_fail(-ECONNRESET, "%s (pid %ld) closed the connection without an answer (it "
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
		return ctl_fail(-ETIMEDOUT, "%s (pid %ld) did not answer in %d s (is its process "
			    "stuck?)", c->name, (long)c->pid, CTL_TIMEOUT_MS / 1000);
	/* MSG_TRUNC: the datagram's real length, to refuse an oversize one. */
	n = r < 0 ? -1 : recv(c->fd, c->buf, VNET_CTL_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return hung_up(c);
	if (n < 0)
		return ctl_fail(-errno, "%s (pid %ld): %s", c->name, (long)c->pid, strerror(errno));
	if (n > VNET_CTL_MSG_MAX)
		return ctl_fail(-EMSGSIZE, "%s (pid %ld) sent %zd bytes, more than the %d a message "
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
		return ctl_fail(-errno, "%s (pid %ld): %s", c->name, (long)c->pid,
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
				return ctl_fail(-EPROTO, "%s (pid %ld) sent an unexpected message (type "
					    "%u)", c->name, (long)c->pid, m->nlmsg_type);
			r = fn(m, arg);
			if (r < 0 || single)
				return r;
		}
		if (len != 0)
			return ctl_fail(-EPROTO, "%s (pid %ld) sent a truncated message", c->name,
				    (long)c->pid);
	}
}

/* ---- GETs ---- */

static int link_msg(const struct nlmsghdr *nlh, void *arg)
{
	return ctl_parse_link(nlh, arg);
}

int ctl_link_get(struct ctl_conn *c, struct ctl_link *l)
{
	char buf[REQ_MAX];
	int r = transact(c, put_request(c, buf, VNET_CMD_LINK_GET, 0), true, link_msg, l);

	if (r == 0 && !ctl_has(l, VNET_A_NAME))
		return ctl_fail(-EPROTO, "%s (pid %ld) answered without the device's name", c->name,
			    (long)c->pid);
	return r;
}

static int stats_msg(const struct nlmsghdr *nlh, void *arg)
{
	return ctl_parse_stats(nlh, arg);
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

/* ---- RSS and coalescing ---- */

static int rss_msg(const struct nlmsghdr *nlh, void *arg)
{
	return ctl_parse_rss(nlh, arg);
}

static int coal_msg(const struct nlmsghdr *nlh, void *arg)
{
	return ctl_parse_coal(nlh, arg);
}

int ctl_rss_get(struct ctl_conn *c, struct ctl_rss *r)
{
	char buf[REQ_MAX];

	return transact(c, put_request(c, buf, VNET_CMD_RSS_GET, 0), true, rss_msg, r);
}

int ctl_rss_set(struct ctl_conn *c, const struct ctl_rss *r)
{
	char buf[REQ_MAX];
	struct nlmsghdr *nlh = put_request(c, buf, VNET_CMD_RSS_SET, NLM_F_ACK);

	if (r->have >> VNET_A_RSS_HASH_TYPES & 1)
		mnl_attr_put_u32(nlh, VNET_A_RSS_HASH_TYPES, r->hash_types);
	if (r->have >> VNET_A_RSS_KEY & 1)
		mnl_attr_put(nlh, VNET_A_RSS_KEY, r->key_len, r->key);
	if (r->have >> VNET_A_RSS_TABLE & 1)
		mnl_attr_put(nlh, VNET_A_RSS_TABLE, r->table_len * 2u, r->table);
	return transact(c, nlh, false, no_data, NULL);
}

int ctl_coal_get(struct ctl_conn *c, struct ctl_coal *k)
{
	char buf[REQ_MAX];

	return transact(c, put_request(c, buf, VNET_CMD_COALESCE_GET, 0), true, coal_msg, k);
}

int ctl_coal_set(struct ctl_conn *c, const struct ctl_coal *k)
{
	char buf[REQ_MAX];
	struct nlmsghdr *nlh = put_request(c, buf, VNET_CMD_COALESCE_SET, NLM_F_ACK);

	for (int i = 0; i < CTL_COAL_N; i++)
		if (k->have >> (VNET_A_COAL_RX_USECS + i) & 1)
			mnl_attr_put_u32(nlh, (uint16_t)(VNET_A_COAL_RX_USECS + i), k->v[i]);
	return transact(c, nlh, false, no_data, NULL);
}

/* ---- Notifications ---- */

int ctl_read_events(struct ctl_conn *c, void (*fn)(const struct ctl_event *ev, void *arg),
		    void *arg)
{
	const struct nlmsghdr *m = (const struct nlmsghdr *)c->buf;
	ssize_t n = recv(c->fd, c->buf, VNET_CTL_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);
	int len, r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0; /* nothing (more) waits */
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return ctl_fail(-ECONNRESET, "%s went away", c->name);
	if (n < 0)
		return ctl_fail(-errno, "%s: %s", c->name, strerror(errno));
	if (n > VNET_CTL_MSG_MAX)
		return ctl_fail(-EMSGSIZE, "%s (pid %ld) sent %zd bytes, more than the %d a message "
			    "may have", c->name, (long)c->pid, n, VNET_CTL_MSG_MAX);
	len = (int)n;
	for (; msg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
		const struct genlmsghdr *g = mnl_nlmsg_get_payload(m);
		struct ctl_event ev;

		/* Only notifications: anything else (a late ack) is skipped. */
		if (m->nlmsg_type != VNET_CTL_FAMILY_ID || m->nlmsg_seq != 0 ||
		    mnl_nlmsg_get_payload_len(m) < sizeof(*g) || g->cmd != VNET_CMD_EVENT)
			continue;
		r = ctl_parse_event(m, &ev);
		if (r)
			return r;
		if (!ev.name[0])
			snprintf(ev.name, sizeof(ev.name), "%s", c->name);
		fn(&ev, arg);
	}
	return 1;
}
