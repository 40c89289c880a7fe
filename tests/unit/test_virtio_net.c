/* SPDX-License-Identifier: MIT */
/*
 * virtio-net bring-up over a fake transport (fake_vtr.c): feature
 * negotiation and its refusals, queue sizing, the control queue, layout
 * limits and the health checks that detect NEEDS_RESET and a vanished device.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "fake_vtr.h"
#include "log.h"
#include "virtio/virtio_net.h"

#define B(x) (1ull << (x))
#define NET_ALL (B(VIRTIO_RING_F_EVENT_IDX) | B(VIRTIO_NET_F_MAC) | B(VIRTIO_NET_F_STATUS) | \
		 B(VIRTIO_NET_F_MRG_RXBUF) | B(VIRTIO_NET_F_CTRL_VQ) | B(VIRTIO_NET_F_MQ))

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* A two-pair device with a control queue (5 queues of 1024). */
static void fake_mq(struct fake_vtr *f, uint64_t extra)
{
	fake_init(f, NET_ALL | extra, 5, 1024);
	memcpy(f->cfg, mac, 6);
	fake_set_cfg16(f, offsetof(struct virtio_net_config, status), VIRTIO_NET_S_LINK_UP);
	fake_set_cfg16(f, offsetof(struct virtio_net_config, max_virtqueue_pairs), 2);
}

static void refused(struct fake_vtr *f, int want_rc, const char *words)
{
	struct vn_net_cfg cfg = { 0 };
	struct vn_net *n = NULL;

	vn_err_clear();
	assert_int_equal(vn_net_open(&f->t, &cfg, &n), want_rc);
	assert_null(n);
	assert_non_null(strstr(vn_err_msg(), words));
	/* Left reset: nothing of ours is in use by the device. */
	assert_int_equal(f->status, 0);
}

/* Devices the driver must refuse: how the fake misbehaves, and what open says. */
static const struct refusal {
	uint64_t withhold;        /* feature bits the device does not offer */
	bool refuse_features_ok;  /* it clears FEATURES_OK (virtio 1.2 §3.1.1) */
	enum fake_ctrl ctrl_mode; /* how its control queue answers */
	int rc;
	const char *words;
	bool failed;              /* the driver set FAILED */
} refusals[] = {
	{ .withhold = B(VIRTIO_F_VERSION_1), .rc = -ENOTSUP, .words = "VIRTIO_F_VERSION_1 (bit 32)",
	  .failed = true },
	{ .withhold = B(VIRTIO_F_ACCESS_PLATFORM), .rc = -ENOTSUP,
	  .words = "VIRTIO_F_ACCESS_PLATFORM (bit 33)", .failed = true },
	{ .refuse_features_ok = true, .rc = -ENOTSUP, .words = "refused FEATURES_OK", .failed = true },
	{ .ctrl_mode = FAKE_CTRL_ERR, .rc = -EIO, .words = "rejected control command class 4 cmd 0" },
	{ .ctrl_mode = FAKE_CTRL_SILENT, .rc = -ETIMEDOUT, .words = "did not answer" },
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *r = &refusals[i];
		struct fake_vtr f;

		fake_mq(&f, 0);
		f.offered &= ~r->withhold;
		f.refuse_features_ok = r->refuse_features_ok;
		f.ctrl_mode = r->ctrl_mode;
		refused(&f, r->rc, r->words);
		assert_int_equal(f.saw_failed, r->failed);
	}
}

/* No-IOMMU mode hands out physical addresses: the bit is then optional. */
static void test_access_platform_optional_with_phys_addrs(void **state)
{
	struct vn_net_cfg cfg = { .phys_addrs = true };
	struct fake_vtr f;
	struct vn_net *n;

	(void)state;
	fake_mq(&f, 0);
	f.offered &= ~B(VIRTIO_F_ACCESS_PLATFORM);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_false(n->features & B(VIRTIO_F_ACCESS_PLATFORM));
	assert_int_equal(f.accepted, n->features);
	vn_net_close(n);
	/* ... and still accepted when offered. */
	fake_mq(&f, 0);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_true(n->features & B(VIRTIO_F_ACCESS_PLATFORM));
	vn_net_close(n);
}

static void test_mask_required_bit(void **state)
{
	struct fake_vtr f;
	struct vn_net_cfg cfg = { .features_mask = B(VIRTIO_F_VERSION_1) };
	struct vn_net *n = NULL;

	(void)state;
	fake_mq(&f, 0);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), -EINVAL);
	assert_non_null(strstr(vn_err_msg(), "required"));
}

static void test_open_mq(void **state)
{
	struct fake_vtr f;
	struct vn_net_cfg cfg = { 0 };
	struct vn_net *n;
	int up;

	(void)state;
	/* Offered but not wanted: never accepted. */
	fake_mq(&f, B(VIRTIO_NET_F_GUEST_TSO4) | B(VIRTIO_NET_F_CSUM));
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_int_equal(n->features, NET_ALL | B(VIRTIO_F_VERSION_1) | B(VIRTIO_F_ACCESS_PLATFORM));
	assert_int_equal(f.accepted, n->features);
	assert_int_equal(f.status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(n->pairs, 2);
	assert_int_equal(n->max_pairs, 2);
	assert_int_equal(n->qsize, 256);
	assert_int_equal(n->mtu, 1500);
	assert_memory_equal(n->mac, mac, 6);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(f.q[i].enabled);
		assert_int_equal(f.q[i].msix, 0xffff);
	}
	assert_int_equal(f.q[4].size, 8); /* control queue */
	/* Every RX buffer is posted, with one doorbell per queue. */
	assert_int_equal(fake_avail_idx(&f, 0), 256);
	assert_int_equal(fake_avail_idx(&f, 2), 256);
	assert_int_equal(fake_avail_idx(&f, 1), 0);
	/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 2 went through the control queue. */
	assert_int_equal(f.ctrl_cmds, 1);
	assert_int_equal(f.ctrl_len, 4);
	assert_int_equal(f.ctrl_cmd[0], VIRTIO_NET_CTRL_MQ);
	assert_int_equal(f.ctrl_cmd[1], VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
	assert_int_equal(f.ctrl_cmd[2] | f.ctrl_cmd[3] << 8, 2);
	assert_int_equal(vn_net_link_up(n, &up), 0);
	assert_int_equal(up, 1);
	fake_set_cfg16(&f, offsetof(struct virtio_net_config, status), 0);
	assert_int_equal(vn_net_link_up(n, &up), 0);
	assert_int_equal(up, 0);
	vn_net_close(n);
	assert_int_equal(f.status, 0);
}

static void test_mask_ctrl_vq_drops_mq(void **state)
{
	struct fake_vtr f;
	struct vn_net_cfg cfg = { .features_mask = B(VIRTIO_NET_F_CTRL_VQ) };
	struct vn_net *n;

	(void)state;
	fake_mq(&f, B(VIRTIO_NET_F_CTRL_RX));
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	/* virtio 1.2 §5.1.3.1: MQ and CTRL_RX need CTRL_VQ. */
	assert_false(n->features & (B(VIRTIO_NET_F_MQ) | B(VIRTIO_NET_F_CTRL_RX) |
				    B(VIRTIO_NET_F_CTRL_VQ)));
	assert_int_equal(n->pairs, 1);
	assert_int_equal(f.ctrl_cmds, 0);
	assert_int_equal(vn_net_ctrl(n, 0, 0, NULL, 0), -ENOTSUP);
	vn_net_close(n);
}

/* The bytes of the last control command, as the device saw them. */
static void expect_cmd(const struct fake_vtr *f, const uint8_t *want, uint32_t len)
{
	assert_int_equal(f->ctrl_len, len);
	assert_memory_equal(f->ctrl_cmd, want, len);
}

/* Settings become the commands of virtio 1.2 §5.1.6.5, byte for byte; a
 * VIRTIO_NET_ERR ack is EIO and changes nothing in the driver. */
static void test_settings_commands(void **state)
{
	static const uint8_t uc[6] = { 0x02, 1, 2, 3, 4, 5 }, mc[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	struct vn_set s = { .kind = VN_SET_PROMISC, .val = 0 };
	struct vnet_dev_filters flt = { .sz = sizeof(flt) };
	/* The fake serves a control command per kick and never moves
	 * avail_event, so with EVENT_IDX only the first would be kicked. */
	struct vn_net_cfg cfg = { .features_mask = B(VIRTIO_RING_F_EVENT_IDX) };
	struct fake_vtr f;
	struct vn_net *n;
	int type;

	(void)state;
	fake_mq(&f, B(VIRTIO_NET_F_CTRL_RX) | B(VIRTIO_NET_F_CTRL_VLAN) |
		B(VIRTIO_NET_F_CTRL_MAC_ADDR));
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_int_equal(vn_net_flags(n), VNET_IFF_UP | VNET_IFF_PROMISC);

	assert_int_equal(vn_net_set(n, &s), 0);
	expect_cmd(&f, (const uint8_t[]){ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0 }, 3);
	assert_int_equal(vn_net_flags(n), VNET_IFF_UP);
	assert_int_equal(vn_net_event_pop(n, &type), 1);
	assert_int_equal(type, VNET_EV_SETTINGS);

	/* both tables, unicast first, each with its le32 count */
	s = (struct vn_set){ .kind = VN_SET_MAC_ADD };
	memcpy(s.mac, mc, 6);
	assert_int_equal(vn_net_set(n, &s), 0);
	memcpy(s.mac, uc, 6);
	assert_int_equal(vn_net_set(n, &s), 0);
	expect_cmd(&f, (const uint8_t[]){ VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
					  1, 0, 0, 0, 0x02, 1, 2, 3, 4, 5,
					  1, 0, 0, 0, 0x01, 0, 0x5e, 0, 0, 1 }, 22);
	s.kind = VN_SET_MAC;
	assert_int_equal(vn_net_set(n, &s), 0);
	expect_cmd(&f, (const uint8_t[]){ VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
					  0x02, 1, 2, 3, 4, 5 }, 8);
	assert_memory_equal(n->mac, uc, 6);
	s = (struct vn_set){ .kind = VN_SET_VLAN_ADD, .val = 0x123 };
	assert_int_equal(vn_net_set(n, &s), 0);
	expect_cmd(&f, (const uint8_t[]){ VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, 0x23, 0x01 },
		   4);
	s = (struct vn_set){ .kind = VN_SET_QUEUE_PAIRS, .val = 1 };
	assert_int_equal(vn_net_set(n, &s), 0);
	expect_cmd(&f, (const uint8_t[]){ VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1, 0 },
		   4);
	assert_int_equal(n->active_pairs, 1);

	/* the device says VIRTIO_NET_ERR: EIO, and the driver's state stays */
	f.ctrl_mode = FAKE_CTRL_ERR;
	vn_err_clear();
	s = (struct vn_set){ .kind = VN_SET_ALLMULTI, .val = 1 };
	assert_int_equal(vn_net_set(n, &s), -EIO);
	assert_non_null(strstr(vn_err_msg(), "the device refused"));
	assert_int_equal(vn_net_flags(n), VNET_IFF_UP);
	s = (struct vn_set){ .kind = VN_SET_MAC_DEL };
	memcpy(s.mac, uc, 6);
	assert_int_equal(vn_net_set(n, &s), -EIO);
	s = (struct vn_set){ .kind = VN_SET_VLAN_DEL, .val = 0x123 };
	assert_int_equal(vn_net_set(n, &s), -EIO);
	vn_net_filters(n, &flt);
	assert_int_equal(flt.n_mac, 2);
	assert_memory_equal(flt.mac[0], mc, 6);
	assert_memory_equal(flt.mac[1], uc, 6);
	assert_int_equal(flt.n_vlan, 1);
	assert_int_equal(flt.vlan[0], 0x123);
	assert_int_equal(n->ctrl_errors, 3);
	/* only what took effect was announced: the other five changes */
	for (int k = 0; k < 5; k++) {
		assert_int_equal(vn_net_event_pop(n, &type), 1);
		assert_int_equal(type, VNET_EV_SETTINGS);
	}
	assert_int_equal(vn_net_event_pop(n, &type), 0);
	vn_net_close(n);
}

/* RSS_CONFIG (virtio 1.2 §5.1.6.5.7.1) and NOTF_COAL (1.3 §5.1.6.5.10)
 * byte for byte; out-of-range configurations never reach the device; an
 * ERR ack changes nothing; VQ_PAIRS_SET turns RSS off. */
static void test_rss_coalesce_commands(void **state)
{
	struct vn_net_cfg cfg = { .features_mask = B(VIRTIO_RING_F_EVENT_IDX) };
	struct vnet_rss r = { .sz = sizeof(r) }, got = { .sz = sizeof(got) };
	struct vnet_coalesce c = { .sz = sizeof(c), .rx_usecs = 0x10203, .rx_max_frames = 32,
				   .tx_usecs = 7, .tx_max_frames = 0x40000 };
	struct vn_set s = { .kind = VN_SET_RSS, .arg = &r };
	uint8_t want[2 + 8 + 2 * 4 + 3 + 40];
	struct fake_vtr f;
	struct vn_net *n;
	unsigned cmds;

	(void)state;
	fake_mq(&f, B(VIRTIO_NET_F_RSS) | B(VIRTIO_NET_F_NOTF_COAL));
	f.cfg[offsetof(struct virtio_net_config, rss_max_key_size)] = 40;
	fake_set_cfg16(&f, offsetof(struct virtio_net_config, rss_max_indirection_table_length), 128);
	fake_set_cfg16(&f, offsetof(struct virtio_net_config, supported_hash_types), 0x3f);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_int_equal(vn_net_get(n, VN_SET_RSS, &got), 0);
	assert_int_equal(got.max_key_len, 40);
	assert_int_equal(got.max_table_len, 128);
	assert_int_equal(got.supported_hash_types, 0x3f);
	assert_int_equal(got.enabled, 0);

	r.hash_types = VNET_RSS_HASH_IPV4 | VNET_RSS_HASH_TCP4;
	r.key_len = 40;
	for (unsigned i = 0; i < 40; i++)
		r.key[i] = (uint8_t)(0xa0 + i);
	r.table_len = 4;
	memcpy(r.table, (const uint16_t[]){ 1, 0, 1, 1 }, 8);
	assert_int_equal(vn_net_set(n, &s), 0);
	memcpy(want, (const uint8_t[]){ VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG,
					0x03, 0, 0, 0,  /* hash_types */
					3, 0,           /* indirection_table_mask */
					1, 0,           /* unclassified_queue: table[0] */
					1, 0, 0, 0, 1, 0, 1, 0,
					2, 0,           /* max_tx_vq: the pairs opened */
					40 }, 21);
	memcpy(want + 21, r.key, 40);
	expect_cmd(&f, want, sizeof(want));
	assert_int_equal(vn_net_get(n, VN_SET_RSS, &got), 0);
	assert_int_equal(got.enabled, 1);
	assert_int_equal(got.table_len, 4);
	assert_memory_equal(got.table, r.table, 8);
	assert_int_equal(n->active_pairs, 2);

	/* Refused before the device sees them. */
	cmds = f.ctrl_cmds;
	r.table[2] = 2; /* only pairs 0 and 1 are open */
	assert_int_equal(vn_net_set(n, &s), -EINVAL);
	r.table[2] = 1;
	r.table_len = 3;
	assert_int_equal(vn_net_set(n, &s), -EINVAL);
	r.table_len = 256; /* over the device's 128 */
	assert_int_equal(vn_net_set(n, &s), -EINVAL);
	r.table_len = 4;
	r.key_len = 41;
	assert_int_equal(vn_net_set(n, &s), -EINVAL);
	r.key_len = 40;
	r.hash_types = VNET_RSS_HASH_IP_EX;
	vn_err_clear();
	assert_int_equal(vn_net_set(n, &s), -EINVAL);
	assert_non_null(strstr(vn_err_msg(), "hash types 0x40 not supported"));
	assert_int_equal(f.ctrl_cmds, cmds);

	/* RX_SET then TX_SET, each le32 max_packets, le32 usecs. */
	s = (struct vn_set){ .kind = VN_SET_COALESCE, .arg = &c };
	assert_int_equal(vn_net_set(n, &s), 0);
	assert_int_equal(f.ctrl_cmds, cmds + 2);
	expect_cmd(&f, (const uint8_t[]){ VIRTIO_NET_CTRL_NOTF_COAL, VIRTIO_NET_CTRL_NOTF_COAL_TX_SET,
					  0, 0, 4, 0, 7, 0, 0, 0 }, 10);
	memset(&c, 0, sizeof(c));
	c.sz = sizeof(c);
	assert_int_equal(vn_net_get(n, VN_SET_COALESCE, &c), 0);
	assert_int_equal(c.rx_usecs, 0x10203);
	assert_int_equal(c.rx_max_frames, 32);
	assert_int_equal(c.tx_max_frames, 0x40000);

	/* VIRTIO_NET_ERR: nothing changes. */
	f.ctrl_mode = FAKE_CTRL_ERR;
	c.rx_usecs = 1;
	assert_int_equal(vn_net_set(n, &s), -EIO);
	assert_int_equal(n->coal.rx_usecs, 0x10203);
	f.ctrl_mode = FAKE_CTRL_OK;

	/* VQ_PAIRS_SET hands steering back to the pair count. */
	s = (struct vn_set){ .kind = VN_SET_QUEUE_PAIRS, .val = 1 };
	assert_int_equal(vn_net_set(n, &s), 0);
	assert_int_equal(vn_net_get(n, VN_SET_RSS, &got), 0);
	assert_int_equal(got.enabled, 0);
	vn_net_close(n);

	/* Not offered: EOPNOTSUPP naming the feature, and nothing sent. */
	fake_mq(&f, 0);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	cmds = f.ctrl_cmds;
	vn_err_clear();
	s = (struct vn_set){ .kind = VN_SET_RSS, .arg = &r };
	assert_int_equal(vn_net_set(n, &s), -EOPNOTSUPP);
	assert_non_null(strstr(vn_err_msg(), "VIRTIO_NET_F_RSS"));
	assert_int_equal(vn_net_get(n, VN_SET_COALESCE, &c), -EOPNOTSUPP);
	assert_non_null(strstr(vn_err_msg(), "VIRTIO_NET_F_NOTF_COAL"));
	assert_int_equal(f.ctrl_cmds, cmds);
	vn_net_close(n);
}

/* A config mtu that moves (a config interrupt, or the health check) is
 * VNET_EV_CONFIG; a link change stays LINK_*, an unchanged mtu nothing. */
static void test_config_mtu_event(void **state)
{
	struct vn_net_cfg cfg = { 0 };
	struct fake_vtr f;
	struct vn_net *n;
	int type;

	(void)state;
	fake_mq(&f, B(VIRTIO_NET_F_MTU));
	fake_set_cfg16(&f, offsetof(struct virtio_net_config, mtu), 1400);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_int_equal(n->mtu, 1400);
	vn_net_config_event(n);
	assert_int_equal(vn_net_event_pop(n, &type), 0);
	fake_set_cfg16(&f, offsetof(struct virtio_net_config, mtu), 1300);
	vn_net_config_event(n);
	assert_int_equal(vn_net_event_pop(n, &type), 1);
	assert_int_equal(type, VNET_EV_CONFIG);
	vn_net_config_event(n);
	assert_int_equal(vn_net_event_pop(n, &type), 0);
	fake_set_cfg16(&f, offsetof(struct virtio_net_config, status), 0);
	vn_net_config_event(n);
	assert_int_equal(vn_net_event_pop(n, &type), 1);
	assert_int_equal(type, VNET_EV_LINK_DOWN);
	assert_int_equal(vn_net_event_pop(n, &type), 0);
	/* the driver keeps the MTU its buffers were sized for */
	assert_int_equal(n->mtu, 1400);
	vn_net_close(n);
}

static void test_queue_options(void **state)
{
	struct fake_vtr f;
	struct vn_net_cfg cfg = { .queue_pairs = 3 };
	struct vn_net *n;

	(void)state;
	fake_mq(&f, 0);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), -EINVAL);
	assert_non_null(strstr(vn_err_msg(), "device offers 2"));
	cfg = (struct vn_net_cfg){ .queue_size = 100 };
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), -EINVAL);
	cfg.queue_size = 2048;
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), -EINVAL);
	cfg = (struct vn_net_cfg){ .queue_size = 64, .queue_pairs = 1 };
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_int_equal(n->qsize, 64);
	assert_int_equal(n->pairs, 1);
	assert_int_equal(f.q[0].size, 64);
	assert_int_equal(f.ctrl_cmds, 0); /* one pair: nothing to set */
	vn_net_close(n);
	/* A device with fewer queues than it claims pairs. */
	fake_mq(&f, 0);
	f.nq = 3;
	cfg = (struct vn_net_cfg){ 0 };
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), -EINVAL);
	assert_non_null(strstr(vn_err_msg(), "too few"));
}

static void test_config_values(void **state)
{
	struct fake_vtr f;
	struct vn_net_cfg cfg = { 0 };
	struct vn_net *n;

	(void)state;
	/* No MAC feature: a random, locally administered unicast address. */
	fake_init(&f, 0, 2, 256);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_int_equal(n->mac[0] & 0x03, 0x02);
	assert_int_equal(n->mtu, 1500);
	vn_net_close(n);
	/* MTU below 68 is refused; 9000 is taken. */
	fake_init(&f, B(VIRTIO_NET_F_MTU), 2, 256);
	fake_set_cfg16(&f, offsetof(struct virtio_net_config, mtu), 60);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), -EINVAL);
	fake_set_cfg16(&f, offsetof(struct virtio_net_config, mtu), 9000);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_int_equal(n->mtu, 9000);
	assert_int_equal(n->q[0].tx_cap, 9018);
	vn_net_close(n);
}

static void test_contig_limit(void **state)
{
	struct fake_vtr f;
	struct vn_net_cfg cfg = { 0 };
	struct vn_net *n;

	(void)state;
	/* Page-granular device addresses (no-IOMMU) and 9000-byte frames
	 * without MRG_RXBUF: a buffer would span pages, so open refuses. */
	fake_init(&f, B(VIRTIO_NET_F_MTU), 2, 256);
	fake_set_cfg16(&f, offsetof(struct virtio_net_config, mtu), 9000);
	f.page_mode = true;
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), -EINVAL);
	assert_non_null(strstr(vn_err_msg(), "device-contiguous"));
	/* At MTU 1500 every buffer and ring fits in a page. */
	fake_init(&f, 0, 2, 256);
	f.page_mode = true;
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	for (unsigned i = 0; i < 256; i++) {
		uint64_t a = fake_desc(&f, 0, i)->addr;

		assert_int_equal(a / 4096, (a + 2048 - 52 - 1) / 4096);
	}
	vn_net_close(n);
}

static void poll_until_down(struct vn_net *n, struct fake_vtr *f)
{
	struct vnet_buf b[4];
	unsigned calls = 0;
	int rc;

	f->health_reads = 0;
	while ((rc = vn_net_rx_peek(&n->q[0].pub, b, 4)) == 0 && calls < 1000000)
		calls++;
	assert_int_equal(rc, -ENETDOWN);
	/* Status is read on a slow cadence, not per poll. */
	assert_true(calls >= 1000);
	assert_true(f->health_reads <= 2);
	assert_int_equal(n->broken, 1);
	assert_int_equal(vn_net_tx_reserve(&n->q[0].pub, b, 4), -ENETDOWN);
	assert_int_equal(vn_net_rx_release(&n->q[0].pub, b, 0), -ENETDOWN);
}

static void test_needs_reset_detected(void **state)
{
	struct fake_vtr f;
	struct vn_net_cfg cfg = { 0 };
	struct vn_net *n;

	(void)state;
	fake_init(&f, 0, 2, 256);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	f.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	poll_until_down(n, &f);
	assert_non_null(strstr(vn_err_msg(), "broken"));
	vn_net_close(n);
}

static void test_vanished_device_detected(void **state)
{
	struct fake_vtr f;
	struct vn_net_cfg cfg = { 0 };
	struct vn_net *n;

	(void)state;
	fake_init(&f, 0, 2, 256);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	f.alive_rc = -ENODEV;
	poll_until_down(n, &f);
	vn_net_close(n);
}

/* Wait (bounded) until the engine thread logged n INTx calls. */
static void wait_intx_log(struct fake_vtr *f, unsigned n)
{
	for (int i = 0; i < 2000 && __atomic_load_n(&f->n_intx_log, __ATOMIC_ACQUIRE) < n; i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&f->n_intx_log, __ATOMIC_ACQUIRE), n);
}

/* Raise the line with ISR status isr, as a device and VFIO would. */
static void intx_fire(struct fake_vtr *f, uint8_t isr)
{
	uint64_t one = 1;

	__atomic_store_n(&f->isr, isr, __ATOMIC_RELEASE);
	assert_int_equal(write(f->intx_fd, &one, sizeof(one)), sizeof(one));
}

/*
 * No MSI-X: the driver routes INTx to an eventfd of its own and gives the
 * queues and configuration changes another one. Each interrupt reads ISR
 * and only then unmasks; queue interrupts signal the queues' eventfd, a
 * configuration change (ISR bit 1) re-reads the link, and a spurious one
 * (ISR 0) signals nothing.
 */
static void test_intx(void **state)
{
	struct fake_vtr f;
	struct vn_net_cfg cfg = { 0 };
	struct vn_net *n;
	uint64_t cnt;
	int type;

	(void)state;
	fake_mq(&f, 0);
	f.intx = true;
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_true(n->intx);
	assert_int_equal(n->n_irq, 2);
	assert_int_equal(f.intx_fd, n->irq_fd[1]);
	for (unsigned i = 0; i < n->pairs; i++) {
		assert_int_equal(n->q[i].pub.rx_fd, n->irq_fd[0]);
		assert_int_equal(n->q[i].pub.tx_fd, n->irq_fd[0]);
		assert_int_equal(f.q[2 * i].msix, VIRTIO_MSI_NO_VECTOR);
	}

	intx_fire(&f, 1);
	wait_intx_log(&f, 2);
	assert_memory_equal(f.intx_log, "ru", 2);
	assert_int_equal(read(n->irq_fd[0], &cnt, sizeof(cnt)), sizeof(cnt));
	assert_int_equal(vn_net_event_pop(n, &type), 0);

	fake_set_cfg16(&f, offsetof(struct virtio_net_config, status), 0);
	intx_fire(&f, VIRTIO_PCI_ISR_CONFIG);
	wait_intx_log(&f, 4);
	assert_memory_equal(f.intx_log, "ruru", 4);
	assert_int_equal(vn_net_event_pop(n, &type), 1);
	assert_int_equal(type, VNET_EV_LINK_DOWN);
	assert_int_equal(read(n->irq_fd[0], &cnt, sizeof(cnt)), sizeof(cnt));

	intx_fire(&f, 0);
	wait_intx_log(&f, 6);
	assert_int_equal(read(n->irq_fd[0], &cnt, sizeof(cnt)), -1);
	vn_net_close(n);
	assert_int_equal(f.intx_fd, -1);
}

/*
 * What the device may reach (issue 13: DMA mappings cover only packet
 * memory). The driver asks its transport for one DMA region, the arena,
 * which VFIO then maps as a whole (test_vfio_group, test_vfio_cdev check the
 * MAP_DMA / IOAS_MAP arguments). Here: every ring area the device was given
 * and every buffer a descriptor names lies inside the arena, none overlaps
 * another, and every other byte of it is untouched padding (zero): no driver
 * state lives in device-visible memory, and the queue state arrays are
 * outside it.
 */
static void mark(uint8_t *owner, const struct vn_dma_mem *m, uint64_t iova, uint64_t len)
{
	assert_true(iova >= m->iova && len <= m->len && iova - m->iova <= m->len - len);
	for (uint64_t i = 0; i < len; i++)
		assert_int_equal(owner[iova - m->iova + i]++, 0); /* overlaps nothing */
}

static void outside(const struct vn_dma_mem *m, const void *p)
{
	assert_true((const char *)p < (const char *)m->va ||
		    (const char *)p >= (const char *)m->va + m->len);
}

static void test_dma_arena_holds_rings_and_buffers(void **state)
{
	struct vn_net_cfg cfg = { 0 };
	struct fake_vtr f;
	struct vn_net *n;
	uint8_t *owner;
	size_t padding = 0;

	(void)state;
	fake_mq(&f, 0);
	assert_int_equal(vn_net_open(&f.t, &cfg, &n), 0);
	assert_int_equal(f.dma_allocs, 1);
	owner = calloc(1, f.mem->len);
	assert_non_null(owner);
	for (unsigned qi = 0; qi < f.nq; qi++) {
		struct fake_q *q = &f.q[qi];

		assert_true(q->enabled);
		mark(owner, f.mem, q->desc, 16u * q->size);          /* virtio 1.2 §2.7.5 */
		mark(owner, f.mem, q->driver, 6u + 2u * q->size);    /* §2.7.6 */
		mark(owner, f.mem, q->device, 6u + 8u * q->size);    /* §2.7.8 */
		for (unsigned id = 0; id < q->size; id++) {
			struct vring_desc *d = fake_desc(&f, qi, id);

			mark(owner, f.mem, d->addr, d->len);
		}
	}
	for (size_t i = 0; i < f.mem->len; i++)
		if (!owner[i]) {
			assert_int_equal(((uint8_t *)f.mem->va)[i], 0);
			padding++;
		}
	/* Padding: alignment of each area and each slot's headroom, less
	 * than a quarter of the arena (a stray allocation would show). */
	assert_true(padding < f.mem->len / 4);
	for (unsigned i = 0; i < n->pairs; i++) {
		outside(f.mem, n->q[i].rx.state);
		outside(f.mem, n->q[i].rx.free_ids);
		outside(f.mem, n->q[i].tx.state);
		outside(f.mem, n->q[i].tx.link);
	}
	outside(f.mem, n->q);
	free(owner);
	vn_net_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_dma_arena_holds_rings_and_buffers),
		cmocka_unit_test(test_access_platform_optional_with_phys_addrs),
		cmocka_unit_test(test_mask_required_bit),
		cmocka_unit_test(test_open_mq),
		cmocka_unit_test(test_mask_ctrl_vq_drops_mq),
		cmocka_unit_test(test_settings_commands),
		cmocka_unit_test(test_rss_coalesce_commands),
		cmocka_unit_test(test_config_mtu_event),
		cmocka_unit_test(test_queue_options),
		cmocka_unit_test(test_config_values),
		cmocka_unit_test(test_contig_limit),
		cmocka_unit_test(test_needs_reset_detected),
		cmocka_unit_test(test_intx),
		cmocka_unit_test(test_vanished_device_detected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
