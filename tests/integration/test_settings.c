/* SPDX-License-Identifier: MIT */
/*
 * Device settings (vnet.h "Device settings") on the simulated device,
 * through the public API only: RX mode, MAC and VLAN filters, station
 * address, MTU, administrative state and queue pairs change what the
 * device delivers (bytes checked), refused frames show up in the device's
 * counters (vnet_dev_xstats()), each change queues VNET_EV_SETTINGS, and a
 * device without a control queue refuses with EOPNOTSUPP and a reason.
 *
 * sim:loopback keeps the order of frames: sending a frame that must be
 * filtered, then one that must pass, and receiving the second first proves
 * the first was dropped (expect_filtered()).
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"
#include "sendrecv.h"
#include "vnet/vnet.h"

static const uint8_t other[6] = { 0x02, 0x55, 0x55, 0x55, 0x55, 0x55 };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x07 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct dev {
	struct vnet_dev *d;
	struct vnet_queue *q;
	struct vnet_dev_info i;
};

/* No VNET_EV_SETTINGS waits (link events, e.g. from the peer of a pair
 * coming up, may). */
static void no_settings(struct dev *x)
{
	int t;

	while ((t = next_event(x->d, 0)) != 0)
		assert_int_not_equal(t, VNET_EV_SETTINGS);
}

static void dev_open(struct dev *x, const char *uri, const struct vnet_dev_opts *o)
{
	assert_int_equal(vnet_dev_open(uri, o, &x->d), 0);
	x->q = vnet_dev_queue(x->d, 0);
	assert_non_null(x->q);
	x->i = (struct vnet_dev_info){ .sz = sizeof(x->i) };
	assert_int_equal(vnet_dev_info(x->d, &x->i), 0);
	/* events of the open itself (link state) are not this test's */
	no_settings(x);
}

static void reinfo(struct dev *x)
{
	assert_int_equal(vnet_dev_info(x->d, &x->i), 0);
}

/* The call that just succeeded queued exactly one VNET_EV_SETTINGS. */
static void expect_settings(struct dev *x)
{
	int t;

	while ((t = next_event(x->d, 1000)) != VNET_EV_SETTINGS)
		assert_true(t == VNET_EV_LINK_UP || t == VNET_EV_LINK_DOWN);
	no_settings(x);
}

static void expect_fail(int rc, int err)
{
	assert_int_equal(rc, -1);
	assert_int_equal(errno, err);
}

/* The device counter called name (vnet_dev_xstats()). */
static uint64_t xstat(struct dev *x, const char *name)
{
	struct vnet_xstat xs[64];
	int n = vnet_dev_xstats(x->d, xs, 64);

	assert_true(n > 0 && n <= 64);
	for (int k = 0; k < n; k++)
		if (!strcmp(xs[k].name, name))
			return xs[k].value;
	fail_msg("no counter %s", name);
	return 0;
}

static struct vnet_queue_stats qstats(struct dev *x)
{
	struct vnet_queue_stats st = { .sz = sizeof(st) };

	assert_int_equal(vnet_queue_stats(x->d, 0, &st), 0);
	return st;
}

/* Send f (must pass) and receive exactly its bytes. */
static void expect_pass(struct dev *x, const uint8_t *f, size_t len)
{
	uint8_t g[2048];

	send_frame(x->q, f, len);
	assert_int_equal(recv_frame(x->q, g, sizeof(g), 2000, NULL), len);
	assert_memory_equal(g, f, len);
}

/* Send bad, then a good frame to the station address: only good arrives,
 * and the device counts bad as filtered. */
static void expect_filtered(struct dev *x, const uint8_t *bad, size_t bad_len)
{
	uint64_t filtered = xstat(x, "dev_rx_queue_0_filtered");
	uint8_t good[64];

	reinfo(x);
	frame_to(good, sizeof(good), x->i.mac, 0xaa);
	send_frame(x->q, bad, bad_len);
	expect_pass(x, good, sizeof(good));
	assert_int_equal(xstat(x, "dev_rx_queue_0_filtered"), filtered + 1);
}

/* A frame to dst tagged with VLAN vid (802.1Q), 68 bytes. */
static void tagged_to(uint8_t f[68], const uint8_t dst[6], unsigned vid, uint8_t tag)
{
	frame_to(f, 68, dst, tag);
	memmove(f + 16, f + 12, 52);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = (uint8_t)(vid >> 8);
	f[15] = (uint8_t)vid;
}

static void test_promisc(void **state)
{
	uint8_t f[128];
	struct dev x;

	(void)state;
	dev_open(&x, "sim:loopback", NULL);
	/* the device's state after reset: promiscuous, allmulti off, up */
	assert_int_equal(x.i.flags, VNET_IFF_UP | VNET_IFF_PROMISC);
	frame_to(f, 100, other, 0x11);
	expect_pass(&x, f, 100);
	assert_int_equal(xstat(&x, "dev_rx_queue_0_filtered"), 0);

	assert_int_equal(vnet_dev_set_promisc(x.d, 0), 0);
	expect_settings(&x);
	reinfo(&x);
	assert_int_equal(x.i.flags, VNET_IFF_UP);
	expect_filtered(&x, f, 100);
	expect_filtered(&x, f, 80);
	/* own MAC and broadcast still pass */
	frame_to(f, 90, x.i.mac, 0x22);
	expect_pass(&x, f, 90);
	frame_to(f, 70, bcast, 0x33);
	expect_pass(&x, f, 70);
	assert_int_equal(xstat(&x, "dev_rx_queue_0_filtered"), 2);

	assert_int_equal(vnet_dev_set_promisc(x.d, 1), 0);
	expect_settings(&x);
	frame_to(f, 100, other, 0x44);
	expect_pass(&x, f, 100);
	assert_int_equal(xstat(&x, "dev_rx_queue_0_filtered"), 2);
	/* the driver's own counters: the commands it sent, none refused */
	assert_int_equal(xstat(&x, "ctrl_commands"), 2);
	assert_int_equal(xstat(&x, "ctrl_errors"), 0);
	assert_int_equal(xstat(&x, "dev_ctrl_ok"), 2);
	vnet_dev_close(x.d);
}

static void test_allmulti(void **state)
{
	uint8_t f[128];
	struct dev x;

	(void)state;
	dev_open(&x, "sim:loopback", NULL);
	assert_int_equal(vnet_dev_set_promisc(x.d, 0), 0);
	expect_settings(&x);
	frame_to(f, 64, mcast, 0x55);
	expect_filtered(&x, f, 64);
	assert_int_equal(vnet_dev_set_allmulti(x.d, 1), 0);
	expect_settings(&x);
	reinfo(&x);
	assert_int_equal(x.i.flags, VNET_IFF_UP | VNET_IFF_ALLMULTI);
	expect_pass(&x, f, 64);
	/* allmulti does not open the unicast filter */
	frame_to(f, 64, other, 0x56);
	expect_filtered(&x, f, 64);
	assert_int_equal(vnet_dev_set_allmulti(x.d, 0), 0);
	expect_settings(&x);
	frame_to(f, 64, mcast, 0x57);
	expect_filtered(&x, f, 64);
	vnet_dev_close(x.d);
}

static void test_mac_filter(void **state)
{
	struct vnet_dev_filters flt = { .sz = sizeof(flt) };
	uint8_t f[128], m[6] = { 0x02, 0x77, 0, 0, 0, 0 };
	struct dev x;

	(void)state;
	dev_open(&x, "sim:loopback", NULL);
	assert_int_equal(vnet_dev_set_promisc(x.d, 0), 0);
	expect_settings(&x);
	frame_to(f, 64, other, 0x61);
	expect_filtered(&x, f, 64);
	assert_int_equal(vnet_dev_mac_add(x.d, other), 0);
	expect_settings(&x);
	expect_pass(&x, f, 64);
	expect_fail(vnet_dev_mac_add(x.d, other), EEXIST);
	no_settings(&x); /* a refusal changes nothing */

	frame_to(f, 64, mcast, 0x62);
	expect_filtered(&x, f, 64);
	assert_int_equal(vnet_dev_mac_add(x.d, mcast), 0);
	expect_settings(&x);
	expect_pass(&x, f, 64);
	assert_int_equal(vnet_dev_filters(x.d, &flt), 0);
	assert_int_equal(flt.n_mac, 2);
	assert_memory_equal(flt.mac[0], other, 6);
	assert_memory_equal(flt.mac[1], mcast, 6);
	assert_int_equal(flt.n_vlan, 0);

	assert_int_equal(vnet_dev_mac_del(x.d, other), 0);
	expect_settings(&x);
	frame_to(f, 64, other, 0x63);
	expect_filtered(&x, f, 64);
	expect_fail(vnet_dev_mac_del(x.d, other), ENOENT);
	/* the multicast entry stays */
	frame_to(f, 64, mcast, 0x64);
	expect_pass(&x, f, 64);

	/* 64 entries in all, then ENOSPC */
	for (unsigned k = 1; k < 64; k++) {
		m[5] = (uint8_t)k;
		assert_int_equal(vnet_dev_mac_add(x.d, m), 0);
		expect_settings(&x);
	}
	m[5] = 64;
	expect_fail(vnet_dev_mac_add(x.d, m), ENOSPC);
	assert_int_equal(vnet_dev_filters(x.d, &flt), 0);
	assert_int_equal(flt.n_mac, 64);
	m[5] = 63;
	assert_memory_equal(flt.mac[63], m, 6);
	/* the last one is live in the device */
	frame_to(f, 64, m, 0x65);
	expect_pass(&x, f, 64);
	vnet_dev_close(x.d);
}

static void test_vlan(void **state)
{
	struct vnet_dev_filters flt = { .sz = sizeof(flt) };
	uint8_t f[68];
	struct dev x;

	(void)state;
	dev_open(&x, "sim:loopback", NULL);
	assert_int_equal(vnet_dev_set_promisc(x.d, 0), 0);
	expect_settings(&x);
	tagged_to(f, x.i.mac, 5, 0x71);
	expect_filtered(&x, f, 68);
	assert_int_equal(vnet_dev_vlan_add(x.d, 5), 0);
	expect_settings(&x);
	expect_pass(&x, f, 68);
	tagged_to(f, x.i.mac, 6, 0x72);
	expect_filtered(&x, f, 68);
	expect_fail(vnet_dev_vlan_add(x.d, 5), EEXIST);
	expect_fail(vnet_dev_vlan_add(x.d, 4096), EINVAL);
	assert_int_equal(vnet_dev_vlan_add(x.d, 4095), 0);
	expect_settings(&x);
	assert_int_equal(vnet_dev_filters(x.d, &flt), 0);
	assert_int_equal(flt.n_vlan, 2);
	assert_int_equal(flt.vlan[0], 5);
	assert_int_equal(flt.vlan[1], 4095);

	assert_int_equal(vnet_dev_vlan_del(x.d, 5), 0);
	expect_settings(&x);
	tagged_to(f, x.i.mac, 5, 0x73);
	expect_filtered(&x, f, 68);
	expect_fail(vnet_dev_vlan_del(x.d, 5), ENOENT);
	vnet_dev_close(x.d);
}

static void test_set_mac(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x42, 0x42, 0x42, 0x42, 0x01 };
	uint8_t f[64], old[6];
	struct dev x;

	(void)state;
	dev_open(&x, "sim:loopback", NULL);
	memcpy(old, x.i.mac, 6);
	assert_int_equal(vnet_dev_set_promisc(x.d, 0), 0);
	expect_settings(&x);
	assert_int_equal(vnet_dev_set_mac(x.d, mac), 0);
	expect_settings(&x);
	reinfo(&x);
	assert_memory_equal(x.i.mac, mac, 6);
	frame_to(f, 64, old, 0x81);
	expect_filtered(&x, f, 64);
	frame_to(f, 64, mac, 0x82);
	expect_pass(&x, f, 64);
	expect_fail(vnet_dev_set_mac(x.d, mcast), EINVAL);
	vnet_dev_close(x.d);
}

static void test_mtu(void **state)
{
	struct dev a, b;
	struct vnet_buf buf;
	uint8_t f[1600], g[2048];
	struct vnet_queue_stats st;

	(void)state;
	dev_open(&a, "sim:pair=t_set_mtu/0", NULL);
	dev_open(&b, "sim:pair=t_set_mtu/1", NULL);
	assert_int_equal(a.i.mtu, 1500);
	assert_int_equal(a.i.max_mtu, 1500);
	expect_fail(vnet_dev_set_mtu(a.d, 1501), ERANGE);
	assert_non_null(strstr(vnet_last_error(), "1500"));
	expect_fail(vnet_dev_set_mtu(a.d, 67), ERANGE);
	no_settings(&a);

	assert_int_equal(vnet_dev_set_mtu(a.d, 1000), 0);
	expect_settings(&a);
	reinfo(&a);
	assert_int_equal(a.i.mtu, 1000);
	assert_int_equal(a.i.max_mtu, 1500);
	/* TX: the reserved capacity is the new limit; longer fails */
	assert_int_equal(vnet_tx_reserve(a.q, &buf, 1), 1);
	assert_int_equal(buf.len, 1018);
	frame_to(buf.data, 1019, b.i.mac, 0x91);
	buf.len = 1019;
	expect_fail(vnet_tx_submit(a.q, &buf, 1), EMSGSIZE);
	st = qstats(&a);
	assert_int_equal(st.tx_errors, 1);
	assert_int_equal(st.tx_packets, 0);
	buf.len = 1018;
	assert_int_equal(vnet_tx_submit(a.q, &buf, 1), 1);
	assert_int_equal(recv_frame(b.q, g, sizeof(g), 2000, NULL), 1018);

	/* RX: a frame over the limit is dropped and counted, the next passes */
	frame_to(f, 1100, a.i.mac, 0x92);
	send_frame(b.q, f, 1100);
	frame_to(f, 1018, a.i.mac, 0x93);
	send_frame(b.q, f, 1018);
	assert_int_equal(recv_frame(a.q, g, sizeof(g), 2000, NULL), 1018);
	assert_memory_equal(g, f, 1018);
	st = qstats(&a);
	assert_int_equal(st.rx_dropped, 1);
	assert_int_equal(st.rx_errors, 1);
	assert_int_equal(st.rx_packets, 1);

	/* back up to the maximum */
	assert_int_equal(vnet_dev_set_mtu(a.d, 1500), 0);
	expect_settings(&a);
	frame_to(f, 1514, a.i.mac, 0x94);
	send_frame(b.q, f, 1514);
	assert_int_equal(recv_frame(a.q, g, sizeof(g), 2000, NULL), 1514);
	assert_memory_equal(g, f, 1514);
	vnet_dev_close(a.d);
	vnet_dev_close(b.d);
}

static void test_up_down(void **state)
{
	struct vnet_queue_stats st;
	struct vnet_buf buf;
	uint8_t f[128], g[256];
	struct dev a, b;
	uint64_t end;

	(void)state;
	dev_open(&a, "sim:pair=t_set_up/0", NULL);
	dev_open(&b, "sim:pair=t_set_up/1", NULL);
	assert_int_equal(vnet_dev_set_up(a.d, 0), 0);
	expect_settings(&a);
	reinfo(&a);
	assert_int_equal(a.i.flags & VNET_IFF_UP, 0);
	assert_int_equal(a.i.broken, 0);
	expect_fail(vnet_tx_reserve(a.q, &buf, 1), ENETDOWN);
	assert_non_null(strstr(vnet_last_error(), "administratively down"));

	/* what arrives while down is taken, dropped and counted */
	for (int k = 0; k < 3; k++) {
		frame_to(f, 100, a.i.mac, (uint8_t)(0xa0 + k));
		send_frame(b.q, f, 100);
	}
	end = now_ms() + 2000;
	do {
		assert_int_equal(vnet_rx_peek(a.q, &buf, 1), 0);
		st = qstats(&a);
		assert_true(now_ms() < end);
	} while (st.rx_dropped < 3);
	assert_int_equal(st.rx_dropped, 3);
	assert_int_equal(st.rx_packets, 0);
	assert_int_equal(st.rx_errors, 0);

	assert_int_equal(vnet_dev_set_up(a.d, 1), 0);
	expect_settings(&a);
	reinfo(&a);
	assert_int_equal(a.i.flags & VNET_IFF_UP, VNET_IFF_UP);
	frame_to(f, 100, a.i.mac, 0xa8);
	send_frame(b.q, f, 100);
	assert_int_equal(recv_frame(a.q, g, sizeof(g), 2000, NULL), 100);
	assert_memory_equal(g, f, 100);
	frame_to(f, 90, b.i.mac, 0xa9);
	send_frame(a.q, f, 90);
	assert_int_equal(recv_frame(b.q, g, sizeof(g), 2000, NULL), 90);
	assert_memory_equal(g, f, 90);
	st = qstats(&a);
	assert_int_equal(st.rx_dropped, 3);
	vnet_dev_close(a.d);
	vnet_dev_close(b.d);
}

static void test_queue_pairs(void **state)
{
	struct dev x;

	(void)state;
	dev_open(&x, "sim:loopback?queues=2", NULL);
	assert_int_equal(x.i.queue_pairs, 2);
	assert_int_equal(x.i.active_pairs, 2);
	assert_int_equal(vnet_dev_set_queue_pairs(x.d, 1), 0);
	expect_settings(&x);
	reinfo(&x);
	assert_int_equal(x.i.active_pairs, 1);
	expect_fail(vnet_dev_set_queue_pairs(x.d, 3), EINVAL);
	expect_fail(vnet_dev_set_queue_pairs(x.d, 0), EINVAL);
	assert_int_equal(vnet_dev_set_queue_pairs(x.d, 2), 0);
	expect_settings(&x);
	reinfo(&x);
	assert_int_equal(x.i.active_pairs, 2);
	/* both pairs' device counters are there */
	assert_int_equal(xstat(&x, "dev_rx_queue_1_filtered"), 0);
	vnet_dev_close(x.d);
}

/* Every command the control queue carries is refused, naming the bit. */
static void test_no_ctrl_vq(void **state)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct dev x;

	(void)state;
	o.features_mask = 1ull << VIRTIO_NET_F_CTRL_VQ;
	dev_open(&x, "sim:loopback", &o);
	assert_int_equal(x.i.flags, VNET_IFF_UP | VNET_IFF_PROMISC);
	expect_fail(vnet_dev_set_promisc(x.d, 0), EOPNOTSUPP);
	assert_non_null(strstr(vnet_last_error(), "VIRTIO_NET_F_CTRL_VQ"));
	assert_non_null(strstr(vnet_last_error(), "VIRTIO_NET_F_CTRL_RX"));
	expect_fail(vnet_dev_set_allmulti(x.d, 1), EOPNOTSUPP);
	expect_fail(vnet_dev_mac_add(x.d, other), EOPNOTSUPP);
	expect_fail(vnet_dev_vlan_add(x.d, 1), EOPNOTSUPP);
	assert_non_null(strstr(vnet_last_error(), "VIRTIO_NET_F_CTRL_VLAN"));
	expect_fail(vnet_dev_set_mac(x.d, other), EOPNOTSUPP);
	assert_non_null(strstr(vnet_last_error(), "VIRTIO_NET_F_CTRL_MAC_ADDR"));
	expect_fail(vnet_dev_set_queue_pairs(x.d, 1), EOPNOTSUPP);
	assert_non_null(strstr(vnet_last_error(), "VIRTIO_NET_F_MQ"));
	no_settings(&x);
	reinfo(&x);
	assert_int_equal(x.i.flags, VNET_IFF_UP | VNET_IFF_PROMISC);
	/* what the driver does alone still works */
	assert_int_equal(vnet_dev_set_mtu(x.d, 900), 0);
	expect_settings(&x);
	assert_int_equal(xstat(&x, "ctrl_commands"), 0);
	vnet_dev_close(x.d);
}

/*
 * Down between reserve and submit (vnetconf on another thread): the submit
 * fails with ENETDOWN and the buffers stay reserved; handed back with len
 * 0 they return even while down, so the ring keeps all its buffers (the
 * socket API used to strand them, found by the soak). Once up, a whole
 * ring's worth can be reserved again, again and again.
 */
static void test_down_while_reserved(void **state)
{
	struct vnet_buf b[64];
	struct dev x;
	int n;

	(void)state;
	dev_open(&x, "sim:loopback?qsize=64", NULL);
	for (int round = 0; round < 4; round++) {
		n = vnet_tx_reserve(x.q, b, 64);
		assert_int_equal(n, 64);
		assert_int_equal(vnet_dev_set_up(x.d, 0), 0);
		for (int i = 0; i < n; i++)
			b[i].len = 60;
		expect_fail(vnet_tx_submit(x.q, b, (unsigned)n), ENETDOWN);
		for (int i = 0; i < n; i++)
			b[i].len = 0;
		assert_int_equal(vnet_tx_submit(x.q, b, (unsigned)n), n);
		expect_fail(vnet_tx_submit(x.q, b, 1), EINVAL); /* returned: no longer ours */
		assert_int_equal(vnet_dev_set_up(x.d, 1), 0);
	}
	assert_int_equal(vnet_tx_reserve(x.q, b, 64), 64);
	for (int i = 0; i < 64; i++)
		b[i].len = 0;
	assert_int_equal(vnet_tx_submit(x.q, b, 64), 64);
	assert_int_equal(qstats(&x).tx_packets, 0);
	vnet_dev_close(x.d);
}

/* Counting, then a short array: the count stays, the names are filled in order. */
static void test_xstats(void **state)
{
	struct vnet_xstat xs[2];
	struct dev x;
	int n;

	(void)state;
	dev_open(&x, "sim:loopback", NULL);
	n = vnet_dev_xstats(x.d, NULL, 0);
	/* 3 driver counters and 3 of auto resets, 4 per queue pair, 3 device-wide */
	assert_int_equal(n, 3 + 3 + 4 + 3);
	assert_int_equal(vnet_dev_xstats(x.d, xs, 2), n);
	assert_string_equal(xs[0].name, "ctrl_commands");
	assert_string_equal(xs[1].name, "ctrl_errors");
	expect_fail(vnet_dev_xstats(x.d, NULL, 2), EINVAL);
	vnet_dev_close(x.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_promisc),
		cmocka_unit_test(test_allmulti),
		cmocka_unit_test(test_mac_filter),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_set_mac),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_up_down),
		cmocka_unit_test(test_queue_pairs),
		cmocka_unit_test(test_no_ctrl_vq),
		cmocka_unit_test(test_xstats),
		cmocka_unit_test(test_down_while_reserved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
