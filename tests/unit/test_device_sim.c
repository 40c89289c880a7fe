/* SPDX-License-Identifier: MIT */
/*
 * The public device API on the in-process simulated device (sim: URIs):
 * open/close/info, option struct sizes, frames looped back byte for byte
 * and in order (also jumbo frames over mergeable buffers, and several queue
 * pairs), and the device's fault modes reported as a broken device; the
 * traffic and fault tests run over split and packed rings (prestate: the
 * ring= value), the sim's own device-side rings checking the driver's.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#include <linux/virtio_config.h>

#include "vnet/vnet.h"

#define VN_MIN_U(a, b) ((a) < (b) ? (a) : (b))


static struct vnet_dev *open_ok(const char *uri)
{
	struct vnet_dev *dev = NULL;

	if (vnet_dev_open(uri, NULL, &dev))
		fail_msg("open %s: %s (%s)", uri, strerror(errno), vnet_last_error());
	return dev;
}

/* uri with ring=RING (*state) added; the negotiated layout is checked. */
static struct vnet_dev *open_ring(void **state, const char *uri)
{
	const char *ring = *state;
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *dev;
	char buf[200];

	snprintf(buf, sizeof(buf), "%s%sring=%s", uri, strchr(uri, '?') ? "&" : "?", ring);
	dev = open_ok(buf);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(!!(info.features & (1ull << VIRTIO_F_RING_PACKED)), !strcmp(ring, "packed"));
	/* IN_ORDER only with packed rings (the split ring has no batch support). */
	assert_int_equal(!!(info.features & (1ull << VIRTIO_F_IN_ORDER)), !strcmp(ring, "packed"));
	return dev;
}

static void test_open_info_close(void **state)
{
	int fds = count_fds();
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *dev;

	(void)state;
	for (int i = 0; i < 3; i++) {
		dev = open_ok("sim:loopback");
		assert_int_equal(vnet_dev_info(dev, &info), 0);
		assert_string_equal(info.uri, "sim:loopback");
		assert_string_equal(info.access, "vfio-user");
		assert_int_equal(info.mtu, 1500);
		assert_int_equal(info.queue_pairs, 1);
		assert_int_equal(info.queue_size, 256);
		assert_true(info.features & (1ull << VIRTIO_F_VERSION_1));
		assert_true(info.features & (1ull << VIRTIO_F_ACCESS_PLATFORM));
		assert_int_equal(info.link_up, 1);
		assert_int_equal(info.broken, 0);
		assert_non_null(vnet_dev_queue(dev, 0));
		assert_null(vnet_dev_queue(dev, 1));
		assert_int_equal(errno, EINVAL);
		vnet_dev_close(dev);
	}
	/* No fd survives a close (memfd, socket, eventfds, threads' fds). */
	assert_int_equal(count_fds(), fds);
	vnet_dev_close(NULL);
}

static void test_options(void **state)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct {
		struct vnet_dev_opts o;
		uint64_t future;
	} big = { .o = VNET_DEV_OPTS_INIT };
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_dev *dev = NULL;

	(void)state;
	o.sz = 4;
	assert_int_equal(vnet_dev_open("sim:loopback", &o, &dev), -1);
	assert_int_equal(errno, EINVAL);
	/* A newer caller's larger struct: fine while the unknown tail is zero. */
	big.o.sz = sizeof(big);
	big.future = 1;
	assert_int_equal(vnet_dev_open("sim:loopback", &big.o, &dev), -1);
	assert_int_equal(errno, EINVAL);
	big.future = 0;
	big.o.queue_size = 64;
	assert_int_equal(vnet_dev_open("sim:loopback", &big.o, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.queue_size, 64);
	vnet_dev_close(dev);
	/* An older caller's smaller struct: the rest takes defaults. */
	o = (struct vnet_dev_opts)VNET_DEV_OPTS_INIT;
	o.queue_pairs = 1;
	o.queue_size = 999; /* beyond the old struct: ignored */
	o.sz = offsetof(struct vnet_dev_opts, queue_size);
	assert_int_equal(vnet_dev_open("sim:loopback?qsize=128", &o, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.queue_size, 128);
	vnet_dev_close(dev);
	/* Bad URIs and impossible requests. */
	assert_int_equal(vnet_dev_open("nonsense", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
	o = (struct vnet_dev_opts)VNET_DEV_OPTS_INIT;
	o.features_mask = 1ull << VIRTIO_F_ACCESS_PLATFORM;
	assert_int_equal(vnet_dev_open("sim:loopback", &o, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(vnet_last_error(), "required"));
	assert_int_equal(vnet_dev_info(NULL, &info), -1);
	dev = open_ok("sim:loopback");
	info.sz = 2;
	assert_int_equal(vnet_dev_info(dev, &info), -1);
	assert_int_equal(errno, EINVAL);
	vnet_dev_close(dev);
}

/* Send count frames of the given lengths on q and expect them back in order. */
static void loop_frames(struct vnet_queue *q, unsigned count, uint32_t (*len_of)(unsigned))
{
	unsigned sent = 0, got = 0, spins = 0;
	struct vnet_buf b[16];

	while (got < count) {
		int n = vnet_tx_reserve(q, b, VN_MIN_U(16, count - sent));
		int r;

		assert_true(n >= 0);
		for (int k = 0; k < n; k++) {
			uint32_t len = len_of(sent + (unsigned)k);

			assert_true(b[k].len >= len);
			for (uint32_t i = 0; i < len; i++)
				((uint8_t *)b[k].data)[i] = (uint8_t)(sent + (unsigned)k + i);
			b[k].len = len;
		}
		assert_int_equal(vnet_tx_submit(q, b, (unsigned)n), n);
		sent += (unsigned)n;
		r = vnet_rx_peek(q, b, 16);
		if (r < 0)
			fail_msg("rx_peek: %s (%s)", strerror(errno), vnet_last_error());
		for (int k = 0; k < r;) {
			uint32_t want = len_of(got), pos = 0;
			int first = k;

			/* One frame: its buffers up to the one without MORE. */
			do {
				for (uint32_t i = 0; i < b[k].len; i++, pos++)
					assert_int_equal(((uint8_t *)b[k].data)[i], (uint8_t)(got + pos));
			} while (b[k++].flags & VNET_BUF_MORE);
			assert_int_equal(pos, want);
			assert_true(k > first);
			got++;
		}
		if (r)
			assert_int_equal(vnet_rx_release(q, b, (unsigned)r), 0);
		assert_true(++spins < 10000000);
	}
}

static uint32_t len_small(unsigned i) { return 60 + (i * 7) % (1514 - 60 + 1); }
static uint32_t len_jumbo(unsigned i) { return i % 2 ? 9014 : 60 + i % 3000; }

static void test_loopback_bytes(void **state)
{
	struct vnet_dev *dev = open_ring(state, "sim:loopback");
	struct vnet_queue_stats st = { .sz = sizeof(st) };

	loop_frames(vnet_dev_queue(dev, 0), 5000, len_small);
	assert_int_equal(vnet_queue_stats(dev, 0, &st), 0);
	assert_int_equal(st.tx_packets, 5000);
	assert_int_equal(st.rx_packets, 5000);
	assert_int_equal(st.rx_dropped, 0);
	assert_true(st.tx_kicks >= 1);
	assert_int_equal(vnet_queue_stats(dev, 1, &st), -1);
	vnet_dev_close(dev);
}

static void test_loopback_jumbo(void **state)
{
	struct vnet_dev *dev = open_ring(state, "sim:loopback?mtu=9000");
	struct vnet_dev_info info = { .sz = sizeof(info) };

	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.mtu, 9000);
	loop_frames(vnet_dev_queue(dev, 0), 500, len_jumbo);
	vnet_dev_close(dev);
}

static void test_loopback_queue_pairs(void **state)
{
	struct vnet_dev *dev = open_ring(state, "sim:loopback?queues=3");
	struct vnet_dev_info info = { .sz = sizeof(info) };

	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.queue_pairs, 3);
	for (unsigned i = 0; i < 3; i++)
		loop_frames(vnet_dev_queue(dev, i), 300, len_small);
	vnet_dev_close(dev);
}

/* A faulty device is reported broken, calls fail with ENETDOWN, close is clean. */
static void run_fault(void **state, const char *uri)
{
	struct vnet_dev *dev = open_ring(state, uri);
	struct vnet_queue *q = vnet_dev_queue(dev, 0);
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_buf b[16];
	unsigned i;
	int rc = 0;

	for (i = 0; i < 2000000 && rc >= 0; i++) {
		rc = vnet_tx_reserve(q, b, 16);
		if (rc > 0) {
			for (int k = 0; k < rc; k++)
				b[k].len = 60;
			rc = vnet_tx_submit(q, b, (unsigned)rc);
		}
		if (rc >= 0)
			rc = vnet_rx_peek(q, b, 16);
		if (rc > 0)
			rc = vnet_rx_release(q, b, (unsigned)rc);
	}
	assert_int_equal(rc, -1);
	assert_int_equal(errno, ENETDOWN);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.broken, 1);
	vnet_dev_close(dev);
}

static void test_fault_bad_used_id(void **state) { run_fault(state, "sim:loopback?fault=bad_used_id"); }
static void test_fault_bad_used_len(void **state) { run_fault(state, "sim:loopback?fault=bad_used_len"); }
static void test_fault_dup_used_id(void **state) { run_fault(state, "sim:loopback?fault=dup_used_id"); }
static void test_fault_needs_reset(void **state) { run_fault(state, "sim:loopback?fault=needs_reset"); }
static void test_fault_vanish(void **state) { run_fault(state, "sim:loopback?fault=vanish"); }

/*
 * VIRTIO_F_NOTIFICATION_DATA (sim option notify_data=on): every doorbell
 * carries the next avail position, which the device checks against its
 * ring (a mismatch would break the device); frames still loop in order.
 */
static void test_notification_data(void **state)
{
	struct vnet_dev *dev = open_ring(state, "sim:loopback?notify_data=on&qsize=64");
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vnet_queue_stats st = { .sz = sizeof(st) };

	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_true(info.features & (1ull << 38)); /* VIRTIO_F_NOTIFICATION_DATA */
	loop_frames(vnet_dev_queue(dev, 0), 3000, len_small);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_int_equal(info.broken, 0);
	assert_int_equal(vnet_queue_stats(dev, 0, &st), 0);
	assert_true(st.tx_kicks >= 1);
	vnet_dev_close(dev);
	/* Not offered unless asked for. */
	dev = open_ring(state, "sim:loopback");
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	assert_false(info.features & (1ull << 38));
	vnet_dev_close(dev);
}

static void test_ring_option(void **state)
{
	struct vnet_dev *dev = NULL;

	(void)state;
	assert_int_equal(vnet_dev_open("sim:loopback?ring=ring", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_dev_open("tap:vnt0?ring=split", NULL, &dev), -1);
	assert_int_equal(errno, EINVAL);
}

#define RING_TESTS(r)                                                        \
	cmocka_unit_test_prestate(test_loopback_bytes, r),                 \
	cmocka_unit_test_prestate(test_loopback_jumbo, r),                 \
	cmocka_unit_test_prestate(test_loopback_queue_pairs, r),           \
	cmocka_unit_test_prestate(test_notification_data, r),              \
	cmocka_unit_test_prestate(test_fault_bad_used_id, r),              \
	cmocka_unit_test_prestate(test_fault_bad_used_len, r),             \
	cmocka_unit_test_prestate(test_fault_dup_used_id, r),              \
	cmocka_unit_test_prestate(test_fault_needs_reset, r),              \
	cmocka_unit_test_prestate(test_fault_vanish, r)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_info_close),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_ring_option),
		RING_TESTS("split"),
		RING_TESTS("packed"),
	};

	vnet_set_log_level(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
