/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the control protocol's request handler
 * (libvnet/ctl/ctl_msg.c): the input is one datagram from a client, handled
 * against a fake device whose settings succeed or fail by their value, so
 * both paths of every command are reached. Each answer must be one whole
 * netlink message. Run with `make fuzz-ctl` (clang; tests/fuzz/local.mk);
 * seeds in tests/fuzz/ctl-seeds/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "ctl/ctl_int.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int f_info(void *dev, struct vnet_dev_info *i)
{
	strcpy(i->uri, "sim:loopback");
	strcpy(i->access, "vfio-user");
	memcpy(i->mac, "\x02\x00\x00\x00\x00\x01", 6);
	i->mtu = 1500;
	i->max_mtu = 9000;
	i->queue_pairs = i->active_pairs = i->max_queue_pairs = 4;
	i->queue_size = 256;
	i->features = 0xf00000030038ffffull; /* known and unknown bits */
	i->link_up = 1;
	i->flags = VNET_IFF_UP;
	return 0;
}

static int f_queue_stats(void *dev, unsigned qp, struct vnet_queue_stats *st)
{
	st->rx_packets = qp * 1000u + 1;
	st->tx_bytes = UINT64_MAX - qp;
	return 0;
}

static int f_xstats(void *dev, struct vnet_xstat *xs, unsigned n)
{
	static const char *const names[] = { "dev_rx_filtered", "dev_rx_no_buffer", "ctl_requests" };

	for (unsigned i = 0; i < n && i < 3; i++) {
		strcpy(xs[i].name, names[i]);
		xs[i].value = i;
	}
	return 3;
}

static int f_filters(void *dev, struct vnet_dev_filters *f)
{
	f->n_mac = 2;
	memcpy(f->mac[1], "\x01\x00\x5e\x00\x00\x01", 6);
	f->n_vlan = 64;
	for (unsigned i = 0; i < 64; i++)
		f->vlan[i] = (uint16_t)i;
	return 0;
}

/* Odd values fail, as a device may refuse anything. */
static int f_set(void *dev, const struct vn_set *s)
{
	if ((s->val | s->mac[5]) & 1)
		return vn_err(-EOPNOTSUPP, "fuzz: setting %d refused", (int)s->kind);
	return 0;
}

/* A configured RSS (full key and table) and coalescing, so that RSS_SET
 * and COALESCE_SET reach f_set with every field in play. */
static int f_get(void *dev, enum vn_set_kind kind, void *out)
{
	(void)dev;
	if (kind == VN_SET_RSS) {
		struct vnet_rss *r = out;

		r->enabled = 1;
		r->key_len = VNET_RSS_KEY_MAX;
		r->table_len = VNET_RSS_TABLE_MAX;
		memset(r->key, 0x6d, sizeof(r->key));
		return 0;
	}
	if (kind == VN_SET_COALESCE)
		return 0;
	return vn_err(-EINVAL, "fuzz: setting %d has no value", (int)kind);
}

static const struct vn_ctl_dev_ops f_ops = {
	.info = f_info, .queue_stats = f_queue_stats, .xstats = f_xstats,
	.filters = f_filters, .set = f_set, .get = f_get,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vn_ctl_reply r;
	static uint32_t ev[VNET_CTL_MSG_MAX / 4];
	const struct vn_ctl_ctx c = { .ops = &f_ops, .name = "vnet0", .pid = 1 };

	vnet_set_log_level(0);
	vn_ctl_handle(&c, data, size, &r);
	/* A failure is exactly one NLMSG_ERROR; a silent success is none. */
	if (r.n > VN_CTL_REPLY_MAX || (r.error && r.n != 1))
		abort();
	for (unsigned k = 0; k < r.n; k++) {
		const struct nlmsghdr *h = (const void *)r.buf[k];

		if (r.len[k] != h->nlmsg_len || r.len[k] < NLMSG_HDRLEN || r.len[k] > VNET_CTL_MSG_MAX)
			abort();
	}
	if (vn_ctl_event_msg(&c, size ? data[0] : 0, ev) < NLMSG_HDRLEN)
		abort();
	return 0;
}
