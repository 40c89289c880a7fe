/* SPDX-License-Identifier: MIT */
/*
 * The simulated device's data path, checked through the driver:
 *  - loopback: 100 000 frames of 60..1514 bytes, every byte and the order,
 *    and the device's own counters (nothing dropped, doorbells suppressed);
 *  - pair, source and sink modes;
 *  - tap mode against the host kernel (AF_PACKET on the TAP), both ways;
 *    skipped when not root or without /dev/net/tun.
 *
 * Everything goes through vnet.h, except the device counters
 * (vn_sim_stats()). The RX filter the control queue programs is tested
 * through the public settings calls in test_settings.c.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "frames.h"
#include "sendrecv.h"
#include "vnet/vnet.h"
#include "sim/sim.h"
#include "compiler.h"

#define BATCH 32

static void loopback_run(struct vnet_queue *q, const uint8_t mac[6], uint64_t n)
{
	static uint8_t rx[9018];
	struct vnet_buf b[BATCH * 4];
	uint64_t sent = 0, next = 0;
	int got, i;

	while (next < n) {
		unsigned want = (unsigned)(n - sent < BATCH ? n - sent : BATCH);

		got = want ? vnet_tx_reserve(q, b, want) : 0;
		assert_true(got >= 0);
		for (i = 0; i < got; i++) {
			size_t len = tf_len(sent + (unsigned)i, 60, 1514);

			tf_fill(b[i].data, len, mac, sent + (unsigned)i);
			b[i].len = (uint32_t)len;
		}
		if (got)
			assert_int_equal(vnet_tx_submit(q, b, (unsigned)got), got);
		sent += (unsigned)got;
		got = vnet_rx_peek(q, b, VN_ARRAY_SIZE(b));
		assert_true(got >= 0);
		for (i = 0; i < got; i++) {
			size_t len = 0;
			int first = i;

			for (; b[i].flags & VNET_BUF_MORE; i++) {
				memcpy(rx + len, b[i].data, b[i].len);
				len += b[i].len;
			}
			memcpy(rx + len, b[i].data, b[i].len);
			len += b[i].len;
			if (!tf_check(rx, len, mac, next, tf_len(next, 60, 1514)))
				fail_msg("frame %llu (%d buffers): wrong bytes, length or order",
					 (unsigned long long)next, i - first + 1);
			next++;
		}
		if (got)
			assert_int_equal(vnet_rx_release(q, b, (unsigned)got), 0);
	}
}

static void test_loopback_100k(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	uint64_t n = tf_scale(100000), cpu0;
	struct vn_sim_stats st;
	struct vnet_dev *dev;

	assert_int_equal(vnet_dev_open("sim:loopback", NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	loopback_run(vnet_dev_queue(dev, 0), info.mac, n);
	assert_int_equal(vn_sim_stats("loopback", 0, &st), 0);
	assert_int_equal(st.qp[0].tx_frames, n);
	assert_int_equal(st.qp[0].rx_frames, n);
	assert_int_equal(st.qp[0].rx_dropped_no_buffer, 0);
	assert_int_equal(st.qp[0].rx_filtered, 0);
	assert_int_equal(st.qp[0].tx_bad, 0);
	assert_int_equal(st.bad_desc, 0);
	assert_true(st.qp[0].tx_bytes >= 60 * n && st.qp[0].tx_bytes == st.qp[0].rx_bytes);
	/* doorbells and interrupts are suppressed while the rings are busy */
	assert_true(st.qp[0].kicks < n);
	assert_true(st.cpu_ns > 0);
	/* idle: the device thread sleeps (well under 5% of a CPU over 300 ms) */
	cpu0 = st.cpu_ns;
	usleep(300000);
	assert_int_equal(vn_sim_stats("loopback", 0, &st), 0);
	assert_true(st.cpu_ns - cpu0 < 15000000);
	vnet_dev_close(dev);
	/* the device is gone with its last client */
	assert_int_equal(vn_sim_stats("loopback", 0, &st), -ENOENT);
}

static void test_pair(void **state)
{
	struct vnet_dev_info i0 = { .sz = sizeof(i0) }, i1 = { .sz = sizeof(i1) };
	struct vnet_dev *d0, *d1, *d2;
	uint8_t f[256], g[256];

	assert_int_equal(vnet_dev_open("sim:pair=t_wire/0", NULL, &d0), 0);
	assert_int_equal(vnet_dev_open("sim:pair=t_wire/1", NULL, &d1), 0);
	assert_int_equal(vnet_dev_open("sim:pair=t_wire/1", NULL, &d2), -1); /* one client per end */
	assert_int_equal(vnet_dev_info(d0, &i0), 0);
	assert_int_equal(vnet_dev_info(d1, &i1), 0);
	assert_memory_not_equal(i0.mac, i1.mac, 6);
	frame_to(f, sizeof(f), i1.mac, 0x11);
	send_frame(vnet_dev_queue(d0, 0), f, 100);
	assert_int_equal(recv_frame(vnet_dev_queue(d1, 0), g, sizeof(g), 2000, NULL), 100);
	assert_memory_equal(f, g, 100);
	frame_to(f, sizeof(f), i0.mac, 0x22);
	send_frame(vnet_dev_queue(d1, 0), f, 80);
	assert_int_equal(recv_frame(vnet_dev_queue(d0, 0), g, sizeof(g), 2000, NULL), 80);
	assert_memory_equal(f, g, 80);
	vnet_dev_close(d0);
	vnet_dev_close(d1);
}

static void test_source_sink(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	struct vn_sim_stats st;
	struct vnet_dev *dev;
	uint8_t f[256];
	uint64_t seq, i;

	assert_int_equal(vnet_dev_open("sim:source?size=100", NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(recv_frame(vnet_dev_queue(dev, 0), f, sizeof(f), 2000, NULL), 100);
		assert_memory_equal(f, info.mac, 6);
		assert_int_equal(f[12], 0x88);
		assert_int_equal(f[13], 0xb5);
		memcpy(&seq, f + VN_SIM_SOURCE_SEQ_OFF, 8);
		assert_int_equal(le64toh(seq), i);
		assert_int_equal(f[99], 99);
	}
	vnet_dev_close(dev);

	assert_int_equal(vnet_dev_open("sim:sink", NULL, &dev), 0);
	frame_to(f, sizeof(f), info.mac, 0x33);
	for (i = 0; i < 500; i++)
		send_frame(vnet_dev_queue(dev, 0), f, 60 + i % 100);
	/* the device consumes them asynchronously */
	for (i = 0; i < 2000; i++) {
		assert_int_equal(vn_sim_stats("sink", 0, &st), 0);
		if (st.qp[0].tx_frames == 500)
			break;
		usleep(1000);
	}
	assert_int_equal(st.qp[0].tx_frames, 500);
	assert_int_equal(st.qp[0].rx_frames, 0);
	vnet_dev_close(dev);
}

/* ---- tap ---------------------------------------------------------------- */

#define TAP_NAME "vnsimtest0"

static bool not_test_frame(const uint8_t *f, size_t len)
{
	return len < 64 || f[12] != 0x88 || f[13] != 0xb5;
}

static int packet_socket(unsigned ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)ifindex };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

static void link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static void test_tap(void **state)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	static const uint8_t kmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x42 };
	uint8_t f[2048], g[2048];
	struct vnet_dev *dev;
	struct pollfd pfd;
	unsigned ifindex;
	uint64_t end;
	ssize_t n;
	int ps;

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		skip();
		return;
	}
	assert_int_equal(vnet_dev_open("sim:tap=" TAP_NAME, NULL, &dev), 0);
	assert_int_equal(vnet_dev_info(dev, &info), 0);
	ifindex = if_nametoindex(TAP_NAME);
	assert_true(ifindex > 0);
	link_up(TAP_NAME);
	ps = packet_socket(ifindex);

	/* libvnet -> kernel: the frame shows up on the TAP interface */
	frame_to(f, sizeof(f), kmac, 0x5a);
	memcpy(f + 6, info.mac, 6);
	send_frame(vnet_dev_queue(dev, 0), f, 200);
	end = now_ms() + 2000;
	for (;;) {
		pfd = (struct pollfd){ .fd = ps, .events = POLLIN };
		assert_true(now_ms() < end);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(ps, g, sizeof(g), 0);
		if (n == 200 && !memcmp(f, g, 200))
			break;
	}

	/* kernel -> libvnet: a frame written on the TAP arrives at the device */
	frame_to(f, sizeof(f), info.mac, 0xa5);
	memcpy(f + 6, kmac, 6);
	assert_int_equal(send(ps, f, 300, 0), 300);
	assert_int_equal(recv_frame(vnet_dev_queue(dev, 0), g, sizeof(g), 2000, not_test_frame), 300);
	assert_memory_equal(f, g, 300);
	close(ps);
	vnet_dev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback_100k),
		cmocka_unit_test(test_pair),
		cmocka_unit_test(test_source_sink),
		cmocka_unit_test(test_tap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
