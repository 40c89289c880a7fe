/* SPDX-License-Identifier: MIT */
/*
 * A small control-protocol client for the tests (vnet/ctl.h), on libmnl:
 * build a request in place, send it, take the answers apart. Include after
 * <cmocka.h>; link libvnet-core (vn_ctl_connect()) and libmnl.
 */
#ifndef VNET_TEST_CTL_CLIENT_H
#define VNET_TEST_CTL_CLIENT_H

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "ctl/ctl_int.h"
#include "vnet/ctl.h"

struct cli {
	int fd;
	uint32_t seq;
	uint32_t out[VNET_CTL_MSG_MAX / 4 + 64]; /* room for an oversized request */
	uint32_t in[VNET_CTL_MSG_MAX / 4];
};

/* Connect to the device name serves in dir. */
static inline void cli_connect(struct cli *c, const char *dir, const char *name)
{
	c->fd = vn_ctl_connect(dir, name);
	assert_true(c->fd >= 0);
	c->seq = 100;
}

static inline void cli_close(struct cli *c)
{
	close(c->fd);
}

/* A request header (and genlmsghdr) in c->out. */
static inline struct nlmsghdr *req(struct cli *c, uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(memset(c->out, 0, sizeof(c->out)));
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	nlh->nlmsg_seq = ++c->seq;
	nlh->nlmsg_pid = 4242;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = VNET_CTL_VERSION;
	return nlh;
}

static inline void send_bytes(struct cli *c, size_t len)
{
	assert_int_equal(send(c->fd, c->out, len, MSG_NOSIGNAL), (ssize_t)len);
}

static inline void send_req(struct cli *c)
{
	send_bytes(c, ((struct nlmsghdr *)c->out)->nlmsg_len);
}

/* Wait up to ms for a datagram: its length, 0 on EOF, -1 on timeout. */
static inline ssize_t recv_wait(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	n = recv(fd, buf, len, MSG_DONTWAIT);
	return n < 0 && errno == ECONNRESET ? 0 : n;
}

/* The next answer, checked to be one whole message. */
static inline const struct nlmsghdr *answer(struct cli *c)
{
	ssize_t n = recv_wait(c->fd, c->in, sizeof(c->in), 5000);
	const struct nlmsghdr *nlh = (const void *)c->in;

	assert_true(n >= (ssize_t)sizeof(*nlh));
	assert_int_equal(nlh->nlmsg_len, (uint32_t)n);
	return nlh;
}

struct tb {
	const struct nlattr **tb;
	unsigned n;
};

static inline int tb_cb(const struct nlattr *a, void *data)
{
	struct tb *t = data;

	if (mnl_attr_get_type(a) < t->n)
		t->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static inline void parse(const struct nlmsghdr *nlh, size_t off, const struct nlattr **tb, unsigned n)
{
	struct tb t = { tb, n };

	memset(tb, 0, n * sizeof(*tb));
	assert_int_equal(mnl_attr_parse(nlh, (unsigned)off, tb_cb, &t), MNL_CB_OK);
}

/* An NLMSG_ERROR answering seq: its error; why gets NLMSGERR_ATTR_MSG. */
static inline int error_of(const struct nlmsghdr *nlh, uint32_t seq, const char **why)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	assert_int_equal(nlh->nlmsg_type, NLMSG_ERROR);
	assert_int_equal(nlh->nlmsg_seq, seq);
	assert_int_equal(e->msg.nlmsg_seq, seq);
	*why = NULL;
	if (e->error) {
		assert_true(nlh->nlmsg_flags & NLM_F_ACK_TLVS);
		parse(nlh, sizeof(*e), tb, NLMSGERR_ATTR_MAX + 1);
		assert_non_null(tb[NLMSGERR_ATTR_MSG]);
		*why = mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
		assert_true(strlen(*why) > 0);
	}
	return e->error;
}

/* Send the request in c->out and return the error of its NLMSG_ERROR. */
static inline int ask_error(struct cli *c, const char **why)
{
	send_req(c);
	return error_of(answer(c), c->seq, why);
}

static inline const struct nlmsghdr *link_get(struct cli *c, const struct nlattr **tb)
{
	const struct nlmsghdr *nlh;

	req(c, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_GET, 0);
	send_req(c);
	nlh = answer(c);
	assert_int_equal(nlh->nlmsg_type, VNET_CTL_FAMILY_ID);
	assert_int_equal(nlh->nlmsg_seq, c->seq);
	assert_int_equal(((const struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd,
			 VNET_CMD_LINK_GET);
	parse(nlh, GENL_HDRLEN, tb, VNET_A_MAX + 1);
	return nlh;
}

#endif
