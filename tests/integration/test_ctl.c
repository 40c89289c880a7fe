/* SPDX-License-Identifier: MIT */
/*
 * The control server (vnet/ctl.h) end to end: a small libmnl client talks
 * to devices on sim:loopback whose sockets live in a private run directory
 * (VNET_RUN_DIR, a mkdtemp() directory per test). Every test runs twice:
 * with the event engine on io_uring and on epoll (VNET_EVENTS=epoll).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "compiler.h"
#include "ctl/ctl_int.h"
#include "ctl_client.h"
#include "event.h"
#include "frames.h"
#include "vnet/ctl.h"
#include "vnet/vnet.h"

static char run_dir[64];

static void cli_open(struct cli *c, const char *name)
{
	cli_connect(c, run_dir, name);
}

/* --- fixtures and helpers --- */

static int setup(void **state)
{
	strcpy(run_dir, "/tmp/vnet-ctl-XXXXXX");
	if (!mkdtemp(run_dir))
		return -1;
	setenv("VNET_RUN_DIR", run_dir, 1);
	unsetenv("VNET_CTL");
	return 0;
}

/* Nothing is left behind: no socket file (closed devices remove theirs). */
static int teardown(void **state)
{
	char names[8][VN_CTL_NAME_MAX];
	char path[128];
	int n = vn_ctl_list(run_dir, names, 8);

	snprintf(path, sizeof(path), "%s/.lock", run_dir);
	unlink(path);
	for (int i = 0; i < n && i < 8; i++) {
		vn_ctl_sock_path(run_dir, names[i], path, sizeof(path));
		unlink(path);
	}
	rmdir(run_dir);
	return n == 0 ? 0 : -1;
}

static struct vnet_dev *open_dev(const char *uri)
{
	struct vnet_dev *d = NULL;

	assert_int_equal(vnet_dev_open(uri, NULL, &d), 0);
	return d;
}

static struct vnet_dev_info info_of(struct vnet_dev *d)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };

	assert_int_equal(vnet_dev_info(d, &i), 0);
	return i;
}

static bool sock_exists(const char *dir, const char *name)
{
	char path[128];
	struct stat st;

	vn_ctl_sock_path(dir, name, path, sizeof(path));
	return lstat(path, &st) == 0;
}

/* The value of counter name in a STATS_GET answer on c (the request
 * counts in ctl_requests). */
static uint64_t stat_of(struct cli *c, const char *name)
{
	const struct nlattr *tb[VNET_A_MAX + 1], *stat, *leaf[VNET_A_MAX + 1];
	uint64_t v = UINT64_MAX;

	req(c, VNET_CTL_FAMILY_ID, VNET_CMD_STATS_GET, 0);
	send_req(c);
	parse(answer(c), GENL_HDRLEN, tb, VNET_A_MAX + 1);
	mnl_attr_for_each_nested(stat, tb[VNET_A_STATS]) {
		struct tb t = { leaf, VNET_A_MAX + 1 };

		memset(leaf, 0, sizeof(leaf));
		assert_int_equal(mnl_attr_parse_nested(stat, tb_cb, &t), MNL_CB_OK);
		if (!strcmp(mnl_attr_get_str(leaf[VNET_A_STAT_NAME]), name))
			v = mnl_attr_get_u64(leaf[VNET_A_STAT_VALUE]);
	}
	if (v == UINT64_MAX)
		fail_msg("no counter %s", name);
	return v;
}

/* The same over a connection of its own to device dev. */
static uint64_t ctl_stat(const char *dev, const char *name)
{
	struct cli *c = malloc(sizeof(*c));
	uint64_t v;

	assert_non_null(c);
	cli_open(c, dev);
	v = stat_of(c, name);
	cli_close(c);
	free(c);
	return v;
}

/* Move n frames through queue pair 0 of a sim:loopback device. */
static void move_frames(struct vnet_dev *d, const uint8_t mac[6], unsigned n)
{
	struct vnet_queue *q = vnet_dev_queue(d, 0);
	struct vnet_buf b[8];
	unsigned sent = 0, got = 0;

	for (int spins = 0; got < n && spins < 200000; spins++) {
		int k = sent < n ? vnet_tx_reserve(q, b, VN_MIN(n - sent, 8u)) : 0;

		assert_true(k >= 0);
		for (int i = 0; i < k; i++) {
			tf_fill(b[i].data, 64, mac, sent + (unsigned)i);
			b[i].len = 64;
		}
		assert_int_equal(vnet_tx_submit(q, b, (unsigned)k), k);
		sent += (unsigned)k;
		k = vnet_rx_peek(q, b, 8);
		assert_true(k >= 0);
		for (int i = 0; i < k; i++)
			assert_true(tf_check(b[i].data, b[i].len, mac, got + (unsigned)i, 64));
		assert_int_equal(vnet_rx_release(q, b, (unsigned)k), 0);
		got += (unsigned)k;
		if (!k)
			usleep(50);
	}
	assert_int_equal(got, n);
}

/* --- tests --- */

static uint64_t ms_now(void)
{
	return vn_ev_now_ns() / 1000000u;
}

struct late_frame {
	struct vnet_dev *d;
	uint8_t mac[6];
};

/* Send one frame on pair 0 after 50 ms: past any busy-poll of the waiter. */
static void *send_late(void *arg)
{
	struct late_frame *l = arg;
	struct vnet_queue *q = vnet_dev_queue(l->d, 0);
	struct vnet_buf b;

	usleep(50000);
	assert_int_equal(vnet_tx_reserve(q, &b, 1), 1);
	memset(b.data, 0, 60);
	memcpy(b.data, l->mac, 6);
	b.len = 60;
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
	return NULL;
}

/*
 * A LINK_SET on a device that never acks its control queue waits for the
 * driver's bound (1 s) and fails ETIMEDOUT; meanwhile another device's
 * control requests are answered and its sleeping receiver wakes at once:
 * the wait holds neither the event engine nor the other server.
 */
static void test_slow_ctrl_stalls_nobody(void **state)
{
	struct vnet_dev *slow = open_dev("sim:loopback?name=slow0&fault=ctrl_stall");
	struct vnet_dev *other = open_dev("sim:loopback?name=other0");
	struct late_frame l = { .d = other };
	struct vnet_wait w = { .q = vnet_dev_queue(other, 0), .events = VNET_WAIT_RX };
	struct cli *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	const char *why;
	uint64_t t0, t_get, t_wake, t_slow;
	struct vnet_buf buf;
	pthread_t t;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	memcpy(l.mac, info_of(other).mac, 6);
	cli_open(a, "slow0");
	cli_open(b, "other0");
	t0 = ms_now();
	mnl_attr_put_u8(req(a, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_SET, NLM_F_ACK), VNET_A_PROMISC, 0);
	send_req(a);
	usleep(20000); /* slow0's server is in its wait now */
	req(b, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_GET, 0);
	send_req(b);
	assert_int_equal(answer(b)->nlmsg_type, VNET_CTL_FAMILY_ID);
	t_get = ms_now() - t0;
	assert_int_equal(pthread_create(&t, NULL, send_late, &l), 0);
	assert_int_equal(vnet_wait(&w, 1, 3000), 1);
	t_wake = ms_now() - t0;
	pthread_join(t, NULL);
	assert_int_equal(vnet_rx_peek(w.q, &buf, 1), 1);
	assert_int_equal(vnet_rx_release(w.q, &buf, 1), 0);
	assert_int_equal(error_of(answer(a), a->seq, &why), -ETIMEDOUT);
	t_slow = ms_now() - t0;
	print_message("slow0's LINK_SET answered after %llu ms; meanwhile other0's LINK_GET after "
		      "%llu ms, its receiver woke after %llu ms (frame sent at ~70 ms)\n",
		      (unsigned long long)t_slow, (unsigned long long)t_get,
		      (unsigned long long)t_wake);
	assert_true(t_slow >= 900);
	assert_true(t_get < 500);
	assert_true(t_wake < 500);
	cli_close(a);
	cli_close(b);
	free(a);
	free(b);
	vnet_dev_close(slow);
	vnet_dev_close(other);
}

static void test_getfamily(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback");
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const struct nlmsghdr *nlh;
	struct nlmsghdr *r;
	struct cli c;

	cli_open(&c, "vnet0");
	r = req(&c, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	mnl_attr_put_strz(r, CTRL_ATTR_FAMILY_NAME, VNET_CTL_FAMILY_NAME);
	send_req(&c);
	nlh = answer(&c);
	assert_int_equal(nlh->nlmsg_type, GENL_ID_CTRL);
	assert_int_equal(nlh->nlmsg_seq, c.seq);
	parse(nlh, GENL_HDRLEN, tb, CTRL_ATTR_MAX + 1);
	assert_non_null(tb[CTRL_ATTR_FAMILY_ID]);
	assert_int_equal(mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]), VNET_CTL_FAMILY_ID);
	assert_string_equal(mnl_attr_get_str(tb[CTRL_ATTR_FAMILY_NAME]), VNET_CTL_FAMILY_NAME);
	cli_close(&c);
	vnet_dev_close(d);
}

static bool has_feature(const struct nlattr *names, const char *want)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, names)
		if (mnl_attr_get_type(a) == VNET_A_FEATURE_NAME && !strcmp(mnl_attr_get_str(a), want))
			return true;
	return false;
}

/* LINK_GET says what vnet_dev_info() says; names are vnet0, then vnet1. */
static void test_link_get(void **state)
{
	struct vnet_dev *d0 = open_dev("sim:loopback"), *d1 = open_dev("sim:loopback?mtu=9000");
	struct vnet_dev *devs[2] = { d0, d1 };
	const struct nlattr *tb[VNET_A_MAX + 1];
	char names[4][VN_CTL_NAME_MAX];
	struct cli c;

	struct stat st;
	char path[128];

	assert_int_equal(vn_ctl_list(run_dir, names, 4), 2);
	assert_string_equal(names[0], "vnet0");
	assert_string_equal(names[1], "vnet1");
	vn_ctl_sock_path(run_dir, "vnet0", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(run_dir, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	for (int k = 0; k < 2; k++) {
		struct vnet_dev_info i = info_of(devs[k]);

		assert_string_equal(i.name, names[k]);
		cli_open(&c, names[k]);
		link_get(&c, tb);
		assert_string_equal(mnl_attr_get_str(tb[VNET_A_NAME]), names[k]);
		assert_string_equal(mnl_attr_get_str(tb[VNET_A_URI]), i.uri);
		assert_string_equal(mnl_attr_get_str(tb[VNET_A_ACCESS]), i.access);
		assert_string_equal(mnl_attr_get_str(tb[VNET_A_DRIVER]), "virtio-net");
		assert_string_equal(i.driver, "virtio-net");
		assert_int_equal(mnl_attr_get_u32(tb[VNET_A_PID]), (uint32_t)getpid());
		assert_int_equal(mnl_attr_get_payload_len(tb[VNET_A_MAC]), 6);
		assert_memory_equal(mnl_attr_get_payload(tb[VNET_A_MAC]), i.mac, 6);
		assert_int_equal(mnl_attr_get_u32(tb[VNET_A_MTU]), i.mtu);
		assert_int_equal(mnl_attr_get_u32(tb[VNET_A_MAX_MTU]), i.max_mtu);
		assert_int_equal(mnl_attr_get_u8(tb[VNET_A_OPER_UP]), i.link_up);
		assert_int_equal(mnl_attr_get_u8(tb[VNET_A_ADMIN_UP]), !!(i.flags & VNET_IFF_UP));
		assert_int_equal(mnl_attr_get_u8(tb[VNET_A_PROMISC]), !!(i.flags & VNET_IFF_PROMISC));
		assert_int_equal(mnl_attr_get_u8(tb[VNET_A_BROKEN]), 0);
		assert_int_equal(mnl_attr_get_u32(tb[VNET_A_OPEN_PAIRS]), i.queue_pairs);
		assert_int_equal(mnl_attr_get_u32(tb[VNET_A_QUEUE_PAIRS]), i.active_pairs);
		assert_int_equal(mnl_attr_get_u32(tb[VNET_A_MAX_PAIRS]), i.max_queue_pairs);
		assert_int_equal(mnl_attr_get_u32(tb[VNET_A_QUEUE_SIZE]), i.queue_size);
		assert_int_equal(mnl_attr_get_u64(tb[VNET_A_FEATURES]), i.features);
		assert_true(has_feature(tb[VNET_A_FEATURE_NAMES], "VIRTIO_F_VERSION_1"));
		assert_non_null(tb[VNET_A_MAC_FILTERS]);
		assert_non_null(tb[VNET_A_VLANS]);
		cli_close(&c);
	}
	assert_int_equal(mnl_attr_get_u32(tb[VNET_A_MTU]), 9000);
	assert_int_equal(info_of(d0).flags & VNET_IFF_UP, VNET_IFF_UP);
	vnet_dev_close(d0);
	assert_false(sock_exists(run_dir, "vnet0"));
	vnet_dev_close(d1);
	assert_false(sock_exists(run_dir, "vnet1"));
}

/* The lowest free name is reused once its device closed. */
static void test_lowest_free_name(void **state)
{
	struct vnet_dev *d[3];

	for (int i = 0; i < 3; i++)
		d[i] = open_dev("sim:loopback");
	vnet_dev_close(d[1]);
	d[1] = open_dev("sim:loopback");
	assert_string_equal(info_of(d[1]).name, "vnet1");
	assert_string_equal(info_of(d[2]).name, "vnet2");
	for (int i = 0; i < 3; i++)
		vnet_dev_close(d[i]);
}

/* A socket file nobody serves, as a killed process leaves it. */
static void make_stale(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	assert_int_equal(vn_ctl_sock_path(run_dir, name, sa.sun_path, sizeof(sa.sun_path)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

/* Listing: sockets only, in natural order; automatic names skip what is
 * not a socket and reclaim stale ones. */
static void test_list(void **state)
{
	char names[8][VN_CTL_NAME_MAX], path[128];
	struct vnet_dev *d0, *d1;
	int fd;

	make_stale("vnet10");
	make_stale("vnet2");
	vn_ctl_sock_path(run_dir, "vnet1", path, sizeof(path));
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	d0 = open_dev("sim:loopback");
	d1 = open_dev("sim:loopback");
	assert_string_equal(info_of(d0).name, "vnet0");
	assert_string_equal(info_of(d1).name, "vnet2");
	assert_int_equal(vn_ctl_list(run_dir, names, 8), 3);
	assert_string_equal(names[0], "vnet0");
	assert_string_equal(names[1], "vnet2");
	assert_string_equal(names[2], "vnet10");
	/* Fewer slots than sockets: the count says so. */
	assert_int_equal(vn_ctl_list(run_dir, names, 1), 3);
	vnet_dev_close(d0);
	vnet_dev_close(d1);
	unlink(path);
	vn_ctl_sock_path(run_dir, "vnet10", path, sizeof(path));
	unlink(path);
}

/* At most 16 clients: the 17th is closed at once, and counted. */
static void test_client_limit(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback");
	struct cli *c = calloc(17, sizeof(*c));

	assert_non_null(c);
	for (int i = 0; i < 17; i++)
		cli_open(&c[i], "vnet0");
	assert_int_equal(recv_wait(c[16].fd, c[16].in, sizeof(c[16].in), 5000), 0);
	assert_int_equal(stat_of(&c[0], "ctl_clients_refused"), 1);
	for (int i = 0; i < 16; i++)
		link_get(&c[i], (const struct nlattr *[VNET_A_MAX + 1]){ NULL });
	for (int i = 0; i < 17; i++)
		cli_close(&c[i]);
	free(c);
	vnet_dev_close(d);
}

/* NLM_F_DUMP: the answer (NLM_F_MULTI), then NLMSG_DONE; no ACK. */
static void test_dump(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback");
	const struct nlmsghdr *nlh;
	struct cli c;

	cli_open(&c, "vnet0");
	req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_GET, NLM_F_DUMP | NLM_F_ACK);
	send_req(&c);
	nlh = answer(&c);
	assert_int_equal(nlh->nlmsg_type, VNET_CTL_FAMILY_ID);
	assert_true(nlh->nlmsg_flags & NLM_F_MULTI);
	nlh = answer(&c);
	assert_int_equal(nlh->nlmsg_type, NLMSG_DONE);
	assert_int_equal(nlh->nlmsg_seq, c.seq);
	assert_true(nlh->nlmsg_flags & NLM_F_MULTI);
	/* Nothing else follows: the next answer is the next request's. */
	nlh = link_get(&c, (const struct nlattr *[VNET_A_MAX + 1]){ NULL });
	assert_int_equal(nlh->nlmsg_seq, c.seq);
	cli_close(&c);
	vnet_dev_close(d);
}

/* Per queue names and order of vnet/ctl.h, then totals, then xstats. */
static const char *const queue_names[] = {
	"rx_queue_0_packets", "rx_queue_0_bytes", "rx_queue_0_drops", "rx_queue_0_errors",
	"tx_queue_0_packets", "tx_queue_0_bytes", "tx_queue_0_errors", "rx_queue_0_kicks",
	"tx_queue_0_kicks", "rx_packets", "rx_bytes", "rx_dropped", "rx_errors",
	"tx_packets", "tx_bytes", "tx_errors",
};
static const char *const ctl_names[] = {
	"ctl_requests", "ctl_errors", "ctl_clients_refused", "ctl_clients_dropped", "ctl_events_lost",
};
#define QS(f) offsetof(struct vnet_queue_stats, f)
static const size_t queue_fields[] = {
	QS(rx_packets), QS(rx_bytes), QS(rx_dropped), QS(rx_errors), QS(tx_packets), QS(tx_bytes),
	QS(tx_errors), QS(rx_kicks), QS(tx_kicks), QS(rx_packets), QS(rx_bytes), QS(rx_dropped),
	QS(rx_errors), QS(tx_packets), QS(tx_bytes), QS(tx_errors),
};

static void test_stats(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback");
	struct vnet_dev_info i = info_of(d);
	struct vnet_queue_stats st = { .sz = sizeof(st) };
	const struct nlattr *tb[VNET_A_MAX + 1], *stat, *leaf[VNET_A_MAX + 1];
	const struct nlmsghdr *nlh;
	struct vnet_xstat xs[64];
	unsigned k = 0;
	int nx;
	struct cli c;

	move_frames(d, i.mac, 100);
	assert_int_equal(vnet_queue_stats(d, 0, &st), 0);
	assert_int_equal(st.rx_packets, 100);
	nx = vnet_dev_xstats(d, xs, 64);
	assert_true(nx > 0 && nx <= 64);
	cli_open(&c, "vnet0");
	req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_STATS_GET, 0);
	send_req(&c);
	nlh = answer(&c);
	parse(nlh, GENL_HDRLEN, tb, VNET_A_MAX + 1);
	assert_string_equal(mnl_attr_get_str(tb[VNET_A_NAME]), "vnet0");
	mnl_attr_for_each_nested(stat, tb[VNET_A_STATS]) {
		const char *name;
		uint64_t val;
		struct tb t = { leaf, VNET_A_MAX + 1 };

		memset(leaf, 0, sizeof(leaf));
		assert_int_equal(mnl_attr_get_type(stat), VNET_A_STAT);
		assert_int_equal(mnl_attr_parse_nested(stat, tb_cb, &t), MNL_CB_OK);
		name = mnl_attr_get_str(leaf[VNET_A_STAT_NAME]);
		val = mnl_attr_get_u64(leaf[VNET_A_STAT_VALUE]);
		if (k < VN_ARRAY_SIZE(queue_names)) {
			uint64_t want;

			assert_string_equal(name, queue_names[k]);
			memcpy(&want, (const char *)&st + queue_fields[k], sizeof(want));
			assert_int_equal(val, want);
		} else {
			unsigned x = k - (unsigned)VN_ARRAY_SIZE(queue_names);

			if (x < (unsigned)nx) {
				assert_string_equal(name, xs[x].name);
				assert_int_equal(val, xs[x].value);
			} else {
				/* The server's own, after the device's; this
				 * request counts while it is answered. */
				assert_true(x - (unsigned)nx < VN_ARRAY_SIZE(ctl_names));
				assert_string_equal(name, ctl_names[x - (unsigned)nx]);
				assert_int_equal(val, !strcmp(name, "ctl_requests"));
			}
		}
		k++;
	}
	assert_int_equal(k, VN_ARRAY_SIZE(queue_names) + (unsigned)nx + VN_ARRAY_SIZE(ctl_names));
	cli_close(&c);
	vnet_dev_close(d);
}

/* LINK_SET changes the device through vnet_dev_set_*(), in ctl.h's order. */
static void test_link_set(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback");
	struct nlmsghdr *r;
	const char *why;
	struct cli c;

	cli_open(&c, "vnet0");
	for (int on = 1; on >= 0; on--) {
		r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_SET, NLM_F_ACK);
		mnl_attr_put_u8(r, VNET_A_PROMISC, (uint8_t)on);
		mnl_attr_put_u32(r, VNET_A_MTU, on ? 1400 : 1500);
		assert_int_equal(ask_error(&c, &why), 0);
		assert_int_equal(!!(info_of(d).flags & VNET_IFF_PROMISC), on);
		assert_int_equal(info_of(d).mtu, on ? 1400 : 1500);
	}
	/* Down first, MTU next: one request. */
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_SET, NLM_F_ACK);
	mnl_attr_put_u32(r, VNET_A_MTU, 1280);
	mnl_attr_put_u8(r, VNET_A_ADMIN_UP, 0);
	assert_int_equal(ask_error(&c, &why), 0);
	assert_int_equal(info_of(d).flags & VNET_IFF_UP, 0);
	assert_int_equal(info_of(d).mtu, 1280);
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_SET, NLM_F_ACK);
	mnl_attr_put_u8(r, VNET_A_ADMIN_UP, 1);
	assert_int_equal(ask_error(&c, &why), 0);
	assert_int_equal(info_of(d).flags & VNET_IFF_UP, VNET_IFF_UP);
	/* A refusal: the errno and the words of the public call. */
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_SET, 0);
	mnl_attr_put_u32(r, VNET_A_MTU, 10);
	assert_int_equal(vnet_dev_set_mtu(d, 10), -1);
	assert_int_equal(ask_error(&c, &why), -errno);
	assert_string_equal(why, vnet_last_error());
	/* What the device does not offer (one queue pair, no MQ). */
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_SET, 0);
	mnl_attr_put_u32(r, VNET_A_QUEUE_PAIRS, 2);
	assert_int_equal(vnet_dev_set_queue_pairs(d, 2), -1);
	assert_int_equal(ask_error(&c, &why), -errno);
	assert_string_equal(why, vnet_last_error());
	/* Without NLM_F_ACK a success is silent: the next answer is LINK_GET's. */
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_SET, 0);
	mnl_attr_put_u8(r, VNET_A_ALLMULTI, 1);
	send_req(&c);
	link_get(&c, (const struct nlattr *[VNET_A_MAX + 1]){ NULL });
	assert_int_equal(info_of(d).flags & VNET_IFF_ALLMULTI, VNET_IFF_ALLMULTI);
	cli_close(&c);
	vnet_dev_close(d);
}

static bool nest_has(const struct nlattr *nest, uint16_t type, const void *v, size_t len)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == type && mnl_attr_get_payload_len(a) == len &&
		    !memcmp(mnl_attr_get_payload(a), v, len))
			return true;
	return false;
}

/* MAC and VLAN filters, with ACKs; SUBSCRIBE acks too. */
static void test_filters_ack(void **state)
{
	static const uint8_t mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x07 };
	const uint16_t vid = 42;
	struct vnet_dev *d = open_dev("sim:loopback");
	const struct nlattr *tb[VNET_A_MAX + 1];
	struct nlmsghdr *r;
	const char *why;
	struct cli c;

	cli_open(&c, "vnet0");
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_MAC_ADD, NLM_F_ACK);
	mnl_attr_put(r, VNET_A_MAC, 6, mac);
	assert_int_equal(ask_error(&c, &why), 0);
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_VLAN_ADD, NLM_F_ACK);
	mnl_attr_put_u16(r, VNET_A_VLAN, vid);
	assert_int_equal(ask_error(&c, &why), 0);
	link_get(&c, tb);
	assert_true(nest_has(tb[VNET_A_MAC_FILTERS], VNET_A_MAC, mac, 6));
	assert_true(nest_has(tb[VNET_A_VLANS], VNET_A_VLAN, &vid, 2));
	/* Adding it again: the device's EEXIST. */
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_MAC_ADD, 0);
	mnl_attr_put(r, VNET_A_MAC, 6, mac);
	assert_int_equal(ask_error(&c, &why), -EEXIST);
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_MAC_DEL, NLM_F_ACK);
	mnl_attr_put(r, VNET_A_MAC, 6, mac);
	assert_int_equal(ask_error(&c, &why), 0);
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_VLAN_DEL, NLM_F_ACK);
	mnl_attr_put_u16(r, VNET_A_VLAN, vid);
	assert_int_equal(ask_error(&c, &why), 0);
	link_get(&c, tb);
	assert_false(nest_has(tb[VNET_A_MAC_FILTERS], VNET_A_MAC, mac, 6));
	assert_false(nest_has(tb[VNET_A_VLANS], VNET_A_VLAN, &vid, 2));
	req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_SUBSCRIBE, NLM_F_ACK);
	assert_int_equal(ask_error(&c, &why), 0);
	cli_close(&c);
	vnet_dev_close(d);
}

/* RSS and coalescing over the protocol: a first RSS_SET needs key and
 * table; what a SET leaves out keeps its value; GETs read it all back. */
static void test_rss_coalesce(void **state)
{
	static const uint16_t table[4] = { 1, 0, 1, 0 }, odd[3] = { 0, 1, 0 };
	struct vnet_dev *d = open_dev("sim:loopback?queues=2&rss=on&coalesce=on");
	const struct nlattr *tb[VNET_A_MAX + 1];
	uint8_t key[40];
	struct nlmsghdr *r;
	const char *why;
	struct cli c;

	(void)state;
	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	cli_open(&c, "vnet0");
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_RSS_SET, NLM_F_ACK);
	mnl_attr_put_u32(r, VNET_A_RSS_HASH_TYPES, VNET_RSS_HASH_IPV4);
	assert_int_equal(ask_error(&c, &why), -EINVAL);
	assert_non_null(strstr(why, "needs VNET_A_RSS_KEY and VNET_A_RSS_TABLE"));
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_RSS_SET, NLM_F_ACK);
	mnl_attr_put(r, VNET_A_RSS_KEY, sizeof(key), key);
	mnl_attr_put(r, VNET_A_RSS_TABLE, sizeof(table), table);
	mnl_attr_put_u32(r, VNET_A_RSS_HASH_TYPES, VNET_RSS_HASH_IPV4 | VNET_RSS_HASH_TCP4);
	assert_int_equal(ask_error(&c, &why), 0);
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_RSS_SET, NLM_F_ACK);
	mnl_attr_put(r, VNET_A_RSS_TABLE, sizeof(odd) - 1, odd);
	assert_int_equal(ask_error(&c, &why), -EINVAL);
	assert_non_null(strstr(why, "whole number"));
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_RSS_SET, NLM_F_ACK);
	mnl_attr_put_u32(r, VNET_A_RSS_HASH_TYPES, VNET_RSS_HASH_UDP4);
	assert_int_equal(ask_error(&c, &why), 0);
	req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_RSS_GET, 0);
	send_req(&c);
	parse(answer(&c), GENL_HDRLEN, tb, VNET_A_MAX + 1);
	assert_string_equal(mnl_attr_get_str(tb[VNET_A_NAME]), "vnet0");
	assert_int_equal(mnl_attr_get_u8(tb[VNET_A_RSS_ON]), 1);
	assert_int_equal(mnl_attr_get_u32(tb[VNET_A_RSS_HASH_TYPES]), VNET_RSS_HASH_UDP4);
	assert_int_equal(mnl_attr_get_u32(tb[VNET_A_RSS_HASH_SUPPORTED]), 0x3f);
	assert_int_equal(mnl_attr_get_u32(tb[VNET_A_RSS_KEY_MAX]), 40);
	assert_int_equal(mnl_attr_get_u32(tb[VNET_A_RSS_TABLE_MAX]), 128);
	assert_int_equal(mnl_attr_get_payload_len(tb[VNET_A_RSS_KEY]), sizeof(key));
	assert_memory_equal(mnl_attr_get_payload(tb[VNET_A_RSS_KEY]), key, sizeof(key));
	assert_int_equal(mnl_attr_get_payload_len(tb[VNET_A_RSS_TABLE]), sizeof(table));
	assert_memory_equal(mnl_attr_get_payload(tb[VNET_A_RSS_TABLE]), table, sizeof(table));

	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_COALESCE_SET, NLM_F_ACK);
	mnl_attr_put_u32(r, VNET_A_COAL_RX_USECS, 250);
	mnl_attr_put_u32(r, VNET_A_COAL_TX_FRAMES, 9);
	assert_int_equal(ask_error(&c, &why), 0);
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_COALESCE_SET, NLM_F_ACK);
	mnl_attr_put_u32(r, VNET_A_COAL_RX_FRAMES, 16);
	assert_int_equal(ask_error(&c, &why), 0);
	req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_COALESCE_GET, 0);
	send_req(&c);
	parse(answer(&c), GENL_HDRLEN, tb, VNET_A_MAX + 1);
	assert_int_equal(mnl_attr_get_u32(tb[VNET_A_COAL_RX_USECS]), 250);
	assert_int_equal(mnl_attr_get_u32(tb[VNET_A_COAL_RX_FRAMES]), 16);
	assert_int_equal(mnl_attr_get_u32(tb[VNET_A_COAL_TX_USECS]), 0);
	assert_int_equal(mnl_attr_get_u32(tb[VNET_A_COAL_TX_FRAMES]), 9);
	cli_close(&c);
	vnet_dev_close(d);
}

/* --- malformed requests: each answered with the right errno --- */

static struct nlmsghdr *bad_base(void *buf, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	nlh->nlmsg_type = VNET_CTL_FAMILY_ID;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	g->cmd = cmd;
	g->version = VNET_CTL_VERSION;
	return nlh;
}

/* Each builds a request in buf (zeroed, with seq set by the caller) and
 * returns the datagram's length. */
static size_t bad_short(struct nlmsghdr *n) { return 8; }
static size_t bad_len_over(struct nlmsghdr *n) { n->nlmsg_len = 100; return 20; }
static size_t bad_len_under(struct nlmsghdr *n) { n->nlmsg_len = 8; return 20; }
static size_t bad_no_genl(struct nlmsghdr *n) { n->nlmsg_len = NLMSG_HDRLEN; return NLMSG_HDRLEN; }
static size_t bad_trailing(struct nlmsghdr *n) { return n->nlmsg_len + 8; }
static size_t bad_oversize(struct nlmsghdr *n) { return VNET_CTL_MSG_MAX + 64; }

static size_t bad_version(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->version = 2;
	return n->nlmsg_len;
}

static size_t bad_cmd(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = 200;
	return n->nlmsg_len;
}

static size_t bad_event_cmd(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_EVENT;
	return n->nlmsg_len;
}

static size_t bad_family(struct nlmsghdr *n) { n->nlmsg_type = 0x99; return n->nlmsg_len; }
static size_t bad_not_request(struct nlmsghdr *n) { n->nlmsg_flags = 0; return n->nlmsg_len; }

static size_t bad_u32_len(struct nlmsghdr *n)
{
	mnl_attr_put_u16(n, VNET_A_MTU, 1400);
	return n->nlmsg_len;
}

static size_t bad_u32_long(struct nlmsghdr *n)
{
	mnl_attr_put_u64(n, VNET_A_PID, 1);
	return n->nlmsg_len;
}

static size_t bad_mac_len(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_MAC_ADD;
	mnl_attr_put(n, VNET_A_MAC, 5, "\x02\x00\x00\x00\x01");
	return n->nlmsg_len;
}

static size_t bad_u8_range(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_LINK_SET;
	mnl_attr_put_u8(n, VNET_A_PROMISC, 2);
	return n->nlmsg_len;
}

static size_t bad_vlan_range(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_VLAN_ADD;
	mnl_attr_put_u16(n, VNET_A_VLAN, 5000);
	return n->nlmsg_len;
}

static size_t bad_no_nul(struct nlmsghdr *n)
{
	mnl_attr_put(n, VNET_A_NAME, 3, "abc");
	return n->nlmsg_len;
}

/* An attribute whose nla_len runs past the message. */
static size_t bad_truncated_attr(struct nlmsghdr *n)
{
	mnl_attr_put_u64(n, VNET_A_FEATURES, 1);
	n->nlmsg_len -= 4;
	return n->nlmsg_len;
}

static size_t bad_attr_hdr(struct nlmsghdr *n)
{
	struct nlattr *a = mnl_nlmsg_get_payload_tail(n);

	a->nla_len = 2;
	a->nla_type = VNET_A_MTU;
	n->nlmsg_len += 4;
	return n->nlmsg_len;
}

static size_t bad_nest_garbage(struct nlmsghdr *n)
{
	struct nlattr *nest = mnl_attr_nest_start(n, VNET_A_STATS);

	mnl_attr_put(n, VNET_A_STAT_VALUE, 3, "xyz"); /* a u64 of 3 bytes */
	mnl_attr_nest_end(n, nest);
	return n->nlmsg_len;
}

static size_t bad_nest_deep(struct nlmsghdr *n)
{
	struct nlattr *a[4];

	for (int i = 0; i < 4; i++)
		a[i] = mnl_attr_nest_start(n, i & 1 ? VNET_A_STAT : VNET_A_STATS);
	for (int i = 3; i >= 0; i--)
		mnl_attr_nest_end(n, a[i]);
	return n->nlmsg_len;
}

static size_t bad_mac_missing(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_MAC_ADD;
	return n->nlmsg_len;
}

static size_t bad_other_family_name(struct nlmsghdr *n)
{
	n->nlmsg_type = GENL_ID_CTRL;
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = CTRL_CMD_GETFAMILY;
	mnl_attr_put_strz(n, CTRL_ATTR_FAMILY_NAME, "nl80211");
	return n->nlmsg_len;
}

static size_t bad_dump_set(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_LINK_SET;
	n->nlmsg_flags |= NLM_F_DUMP;
	return n->nlmsg_len;
}

static size_t bad_rss_key_long(struct nlmsghdr *n)
{
	static const uint8_t key[VNET_RSS_KEY_MAX + 1];

	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_RSS_SET;
	mnl_attr_put(n, VNET_A_RSS_KEY, sizeof(key), key);
	return n->nlmsg_len;
}

static size_t bad_rss_table_empty(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_RSS_SET;
	mnl_attr_put(n, VNET_A_RSS_TABLE, 0, NULL);
	return n->nlmsg_len;
}

/* sim:loopback offers neither RSS nor coalescing: the device's refusal. */
static size_t bad_rss_unoffered(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_RSS_GET;
	return n->nlmsg_len;
}

static size_t bad_coal_unoffered(struct nlmsghdr *n)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(n))->cmd = VNET_CMD_COALESCE_SET;
	mnl_attr_put_u32(n, VNET_A_COAL_RX_USECS, 10);
	return n->nlmsg_len;
}

static const struct {
	const char *what;
	size_t (*build)(struct nlmsghdr *n);
	int err;
} bad[] = {
	{ "short datagram", bad_short, EINVAL },
	{ "nlmsg_len past the datagram", bad_len_over, EINVAL },
	{ "nlmsg_len under a header", bad_len_under, EINVAL },
	{ "no genlmsghdr", bad_no_genl, EINVAL },
	{ "bytes after the message", bad_trailing, EINVAL },
	{ "oversized", bad_oversize, EMSGSIZE },
	{ "genl version 2", bad_version, EOPNOTSUPP },
	{ "unknown command", bad_cmd, EOPNOTSUPP },
	{ "EVENT from a client", bad_event_cmd, EOPNOTSUPP },
	{ "unknown family", bad_family, EOPNOTSUPP },
	{ "not a request", bad_not_request, EINVAL },
	{ "u32 of 2 bytes", bad_u32_len, EINVAL },
	{ "u32 of 8 bytes", bad_u32_long, EINVAL },
	{ "MAC of 5 bytes", bad_mac_len, EINVAL },
	{ "u8 flag of 2", bad_u8_range, EINVAL },
	{ "VLAN 5000", bad_vlan_range, EINVAL },
	{ "string without NUL", bad_no_nul, EINVAL },
	{ "attribute past the message", bad_truncated_attr, EINVAL },
	{ "attribute shorter than its header", bad_attr_hdr, EINVAL },
	{ "garbage in a nest", bad_nest_garbage, EINVAL },
	{ "nests too deep", bad_nest_deep, EINVAL },
	{ "MAC_ADD without a MAC", bad_mac_missing, EINVAL },
	{ "GETFAMILY of another family", bad_other_family_name, ENOENT },
	{ "NLM_F_DUMP on LINK_SET", bad_dump_set, EOPNOTSUPP },
	{ "RSS key of 65 bytes", bad_rss_key_long, EINVAL },
	{ "RSS table of 0 bytes", bad_rss_table_empty, EINVAL },
	{ "RSS_GET where the device has no RSS", bad_rss_unoffered, EOPNOTSUPP },
	{ "COALESCE_SET where the device has none", bad_coal_unoffered, EOPNOTSUPP },
};

static void test_malformed(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback");
	const struct nlattr *tb[VNET_A_MAX + 1];
	struct nlmsghdr *r;
	const char *why;
	struct cli c;

	cli_open(&c, "vnet0");
	for (size_t k = 0; k < VN_ARRAY_SIZE(bad); k++) {
		const struct nlmsghdr *nlh;
		const struct nlmsgerr *e;
		size_t len;

		memset(c.out, 0, sizeof(c.out));
		r = bad_base(c.out, VNET_CMD_LINK_GET, 0);
		r->nlmsg_seq = ++c.seq;
		len = bad[k].build(r);
		send_bytes(&c, len);
		nlh = answer(&c);
		e = mnl_nlmsg_get_payload(nlh);
		print_message("%s: %s\n", bad[k].what, strerror(-e->error));
		assert_int_equal(nlh->nlmsg_type, NLMSG_ERROR);
		assert_int_equal(e->error, -bad[k].err);
		if (len >= NLMSG_HDRLEN)
			assert_int_equal(error_of(nlh, c.seq, &why), -bad[k].err);
	}
	/* An unknown attribute is ignored; the server still answers. */
	r = req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_GET, 0);
	mnl_attr_put_u32(r, 300, 7);
	send_req(&c);
	parse(answer(&c), GENL_HDRLEN, tb, VNET_A_MAX + 1);
	assert_string_equal(mnl_attr_get_str(tb[VNET_A_NAME]), "vnet0");
	assert_int_equal(ctl_stat("vnet0", "ctl_errors"), VN_ARRAY_SIZE(bad));
	cli_close(&c);
	vnet_dev_close(d);
}

/* --- a flood of requests that are never read --- */

struct mover {
	struct vnet_dev *d;
	uint8_t mac[6];
	int stop;
	uint64_t moved, max_gap_ms;
};

/* Loop frames on queue pair 0 until told to stop; note the longest stall. */
static void *mover_main(void *arg)
{
	struct mover *m = arg;
	struct vnet_queue *q = vnet_dev_queue(m->d, 0);
	uint64_t last = ms_now(), seq = 0, want = 0;
	struct vnet_buf b[16];

	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		int n = vnet_tx_reserve(q, b, 16);

		for (int i = 0; i < n; i++) {
			tf_fill(b[i].data, 64, m->mac, seq++);
			b[i].len = 64;
		}
		if (n > 0 && vnet_tx_submit(q, b, (unsigned)n) != n)
			break;
		n = vnet_rx_peek(q, b, 16);
		for (int i = 0; i < n; i++)
			if (!tf_check(b[i].data, b[i].len, m->mac, want++, 64))
				return NULL; /* moved stays short: the test fails */
		if (n > 0) {
			uint64_t now = ms_now();

			vnet_rx_release(q, b, (unsigned)n);
			m->moved += (uint64_t)n;
			m->max_gap_ms = VN_MAX(m->max_gap_ms, now - last);
			last = now;
		}
	}
	return NULL;
}

static void test_flood(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback");
	struct mover m = { .d = d };
	const uint64_t end = ms_now() + 20000;
	struct vnet_dev_info i = info_of(d);
	bool dropped = false;
	uint64_t before;
	pthread_t t;
	struct cli c;
	unsigned sent = 0;

	memcpy(m.mac, i.mac, 6);
	assert_int_equal(pthread_create(&t, NULL, mover_main, &m), 0);
	cli_open(&c, "vnet0");
	assert_int_equal(fcntl(c.fd, F_SETFL, O_NONBLOCK), 0);
	req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_STATS_GET, 0);
	usleep(20000);
	before = __atomic_load_n(&m.moved, __ATOMIC_RELAXED);
	while (sent < 10000 && !dropped && ms_now() < end) {
		struct pollfd p = { .fd = c.fd, .events = POLLOUT };

		if (send(c.fd, c.out, ((struct nlmsghdr *)c.out)->nlmsg_len, MSG_NOSIGNAL) > 0)
			sent++;
		else if (errno == EAGAIN)
			poll(&p, 1, 50);
		else
			dropped = errno == EPIPE || errno == ECONNRESET;
	}
	/* The data path kept moving while the server worked through it (the
	 * server, in a thread of its own, may drop the client within a few
	 * milliseconds: give a busy machine's mover up to a second). */
	for (int k = 0; k < 100 && __atomic_load_n(&m.moved, __ATOMIC_RELAXED) <= before; k++)
		usleep(10000);
	assert_true(__atomic_load_n(&m.moved, __ATOMIC_RELAXED) > before);
	__atomic_store_n(&m.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	print_message("flood: %u requests sent before the drop, %llu frames moved, longest stall %llu ms\n",
		      sent, (unsigned long long)m.moved, (unsigned long long)m.max_gap_ms);
	assert_true(dropped);
	assert_true(m.max_gap_ms < 1000);
	assert_int_equal(ctl_stat("vnet0", "ctl_clients_dropped"), 1);
	cli_close(&c);
	/* And a well-behaved client is served afterwards. */
	cli_open(&c, "vnet0");
	link_get(&c, (const struct nlattr *[VNET_A_MAX + 1]){ NULL });
	cli_close(&c);
	vnet_dev_close(d);
}

/* --- who may connect, and where --- */

/* As uid 65534, connect and ask: the server must close without answering. */
static int child_other_uid(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t buf[64] = { 0 };
	struct nlmsghdr *nlh = bad_base(buf, VNET_CMD_LINK_GET, 0);
	int fd;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return 2;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 3;
	send(fd, buf, nlh->nlmsg_len, MSG_NOSIGNAL);
	return recv_wait(fd, buf, sizeof(buf), 5000) == 0 ? 0 : 4;
}

static void test_other_uid_refused(void **state)
{
	struct vnet_dev *d;
	char path[128];
	int status;
	pid_t pid;

	if (geteuid() != 0)
		skip(); /* needs root to become another uid */
	d = open_dev("sim:loopback");
	/* Let uid 65534 reach the socket: only SO_PEERCRED stands in its way. */
	vn_ctl_sock_path(run_dir, "vnet0", path, sizeof(path));
	assert_int_equal(chmod(run_dir, 0711), 0);
	assert_int_equal(chmod(path, 0666), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_other_uid(path));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Only this STATS_GET was served. */
	assert_int_equal(ctl_stat("vnet0", "ctl_requests"), 1);
	assert_int_equal(ctl_stat("vnet0", "ctl_clients_refused"), 1);
	vnet_dev_close(d);
}

/* A directory others can write (or a symlink, or someone else's) is
 * refused: the device opens without a control socket. */
static void test_refused_dirs(void **state)
{
	char sub[96], link[96];
	struct vnet_dev *d;
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/open", run_dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	setenv("VNET_RUN_DIR", sub, 1);
	d = open_dev("sim:loopback");
	assert_string_equal(info_of(d).name, "");
	assert_false(sock_exists(sub, "vnet0"));
	vnet_dev_close(d);
	assert_int_equal(chmod(sub, 0700), 0);
	snprintf(link, sizeof(link), "%s/link", run_dir);
	assert_int_equal(symlink(sub, link), 0);
	setenv("VNET_RUN_DIR", link, 1);
	d = open_dev("sim:loopback");
	assert_string_equal(info_of(d).name, "");
	vnet_dev_close(d);
	if (geteuid() == 0) {
		assert_int_equal(chown(sub, 65534, 65534), 0);
		setenv("VNET_RUN_DIR", sub, 1);
		d = open_dev("sim:loopback");
		assert_string_equal(info_of(d).name, "");
		vnet_dev_close(d);
	}
	/* Nothing was created in any of them. */
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	unlink(link);
	rmdir(sub);
	setenv("VNET_RUN_DIR", run_dir, 1);
}

static void test_name_option(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback?name=uplink"), *d2 = NULL;
	struct cli c;

	assert_string_equal(info_of(d).name, "uplink");
	assert_true(sock_exists(run_dir, "uplink"));
	/* A live process holds it: the open fails, it never gets another name. */
	assert_int_equal(vnet_dev_open("sim:loopback?name=uplink", NULL, &d2), -1);
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(vnet_last_error(), "uplink"));
	assert_null(d2);
	cli_open(&c, "uplink");
	link_get(&c, (const struct nlattr *[VNET_A_MAX + 1]){ NULL });
	cli_close(&c);
	/* Names are checked like interface names. */
	assert_int_equal(vnet_dev_open("sim:loopback?name=0bad", NULL, &d2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vnet_dev_open("sim:loopback?name=Bad", NULL, &d2), -1);
	assert_int_equal(vnet_dev_open("sim:loopback?name=waytoolongname16", NULL, &d2), -1);
	assert_int_equal(vnet_dev_open("sim:loopback?ctl=maybe", NULL, &d2), -1);
	vnet_dev_close(d);
	assert_false(sock_exists(run_dir, "uplink"));
}

/* A process that dies without closing leaves its socket: the next open
 * finds nobody behind it (ECONNREFUSED) and takes the name over. */
static void test_stale_socket(void **state)
{
	static const char *const uris[] = { "sim:loopback", "sim:loopback?name=stale" };
	static const char *const names[] = { "vnet0", "stale" };

	for (int k = 0; k < 2; k++) {
		struct vnet_dev *d;
		int status;
		pid_t pid = fork();
		struct cli c;

		assert_true(pid >= 0);
		if (pid == 0) {
			struct vnet_dev *cd;

			_exit(vnet_dev_open(uris[k], NULL, &cd) == 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_true(sock_exists(run_dir, names[k]));
		assert_int_equal(vn_ctl_connect(run_dir, names[k]), -ECONNREFUSED);
		d = open_dev(uris[k]);
		assert_string_equal(info_of(d).name, names[k]);
		cli_open(&c, names[k]);
		link_get(&c, (const struct nlattr *[VNET_A_MAX + 1]){ NULL });
		cli_close(&c);
		vnet_dev_close(d);
	}
}

static void test_ctl_off(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback?ctl=off");
	char names[2][VN_CTL_NAME_MAX];

	assert_string_equal(info_of(d).name, "");
	assert_int_equal(vn_ctl_list(run_dir, names, 2), 0);
	vnet_dev_close(d);
	setenv("VNET_CTL", "off", 1);
	d = open_dev("sim:loopback");
	assert_string_equal(info_of(d).name, "");
	assert_int_equal(vn_ctl_list(run_dir, names, 2), 0);
	vnet_dev_close(d);
	/* The URI wins over the environment. */
	d = open_dev("sim:loopback?ctl=on");
	assert_string_equal(info_of(d).name, "vnet0");
	vnet_dev_close(d);
	unsetenv("VNET_CTL");
}

/* The next VNET_CMD_EVENT of type want, within 5 s; its attributes in tb. */
static void wait_event(struct cli *c, uint32_t want, const struct nlattr **tb)
{
	const uint64_t end = ms_now() + 5000;

	while (ms_now() < end) {
		ssize_t n = recv_wait(c->fd, c->in, sizeof(c->in), 100);
		const struct nlmsghdr *nlh = (const void *)c->in;

		if (n <= 0)
			continue;
		assert_int_equal(nlh->nlmsg_type, VNET_CTL_FAMILY_ID);
		assert_int_equal(nlh->nlmsg_seq, 0);
		assert_int_equal(((const struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd,
				 VNET_CMD_EVENT);
		parse(nlh, GENL_HDRLEN, tb, VNET_A_MAX + 1);
		assert_string_equal(mnl_attr_get_str(tb[VNET_A_NAME]), "vnet0");
		if (mnl_attr_get_u32(tb[VNET_A_EVENT]) == want)
			return;
	}
	fail_msg("no event %u", want);
}

/* Where the run directory is (vnet/ctl.h), and a path too long for a
 * socket address: the device then opens without a control socket. */
static void test_run_dir(void **state)
{
	char buf[VN_CTL_PATH_MAX], longer[120], xdg[256] = "";
	const char *was = getenv("XDG_RUNTIME_DIR");
	struct vnet_dev *d;

	if (was)
		snprintf(xdg, sizeof(xdg), "%s", was);
	assert_int_equal(vn_ctl_run_dir(buf, sizeof(buf)), 0);
	assert_string_equal(buf, run_dir);
	memset(longer, 'x', sizeof(longer) - 1);
	longer[0] = '/';
	longer[sizeof(longer) - 1] = '\0';
	setenv("VNET_RUN_DIR", longer, 1);
	assert_int_equal(vn_ctl_run_dir(buf, sizeof(buf)), -ENAMETOOLONG);
	d = open_dev("sim:loopback");
	assert_string_equal(info_of(d).name, "");
	vnet_dev_close(d);
	unsetenv("VNET_RUN_DIR");
	setenv("XDG_RUNTIME_DIR", "/tmp/xdg-test", 1);
	assert_int_equal(vn_ctl_run_dir(buf, sizeof(buf)), 0);
	assert_string_equal(buf, geteuid() == 0 ? "/run/vnet" : "/tmp/xdg-test/vnet");
	if (geteuid() != 0) {
		unsetenv("XDG_RUNTIME_DIR");
		assert_int_equal(vn_ctl_run_dir(buf, sizeof(buf)), -ENOENT);
	}
	if (*xdg)
		setenv("XDG_RUNTIME_DIR", xdg, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	setenv("VNET_RUN_DIR", run_dir, 1);
}

/* Subscribers hear of the link going down (the sim fault) and of settings. */
static void test_subscribe(void **state)
{
	struct vnet_dev *d = open_dev("sim:loopback?fault=link_down@10");
	const struct nlattr *tb[VNET_A_MAX + 1];
	struct cli c, other;
	const char *why;
	struct nlmsghdr *r;

	cli_open(&c, "vnet0");
	cli_open(&other, "vnet0");
	req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_SUBSCRIBE, NLM_F_ACK);
	assert_int_equal(ask_error(&c, &why), 0);
	move_frames(d, info_of(d).mac, 20);
	wait_event(&c, VNET_EV_LINK_DOWN, tb);
	assert_int_equal(mnl_attr_get_u8(tb[VNET_A_OPER_UP]), 0);
	assert_int_equal(mnl_attr_get_u8(tb[VNET_A_ADMIN_UP]), 1);
	/* A change made by another client reaches the subscriber. */
	r = req(&other, VNET_CTL_FAMILY_ID, VNET_CMD_LINK_SET, NLM_F_ACK);
	mnl_attr_put_u8(r, VNET_A_ADMIN_UP, 0);
	assert_int_equal(ask_error(&other, &why), 0);
	wait_event(&c, VNET_EV_SETTINGS, tb);
	assert_int_equal(mnl_attr_get_u8(tb[VNET_A_ADMIN_UP]), 0);
	/* The other client did not subscribe: nothing but its answers came. */
	assert_int_equal(recv_wait(other.fd, other.in, sizeof(other.in), 50), -1);
	cli_close(&other);
	cli_close(&c);
	vnet_dev_close(d);
}

#define CTL_TESTS                                                              \
	cmocka_unit_test_setup_teardown(test_getfamily, setup, teardown),          \
	cmocka_unit_test_setup_teardown(test_link_get, setup, teardown),           \
	cmocka_unit_test_setup_teardown(test_lowest_free_name, setup, teardown),   \
	cmocka_unit_test_setup_teardown(test_list, setup, teardown),               \
	cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),       \
	cmocka_unit_test_setup_teardown(test_dump, setup, teardown),               \
	cmocka_unit_test_setup_teardown(test_stats, setup, teardown),              \
	cmocka_unit_test_setup_teardown(test_link_set, setup, teardown),           \
	cmocka_unit_test_setup_teardown(test_filters_ack, setup, teardown),        \
	cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),          \
	cmocka_unit_test_setup_teardown(test_flood, setup, teardown),              \
	cmocka_unit_test_setup_teardown(test_other_uid_refused, setup, teardown),  \
	cmocka_unit_test_setup_teardown(test_refused_dirs, setup, teardown),       \
	cmocka_unit_test_setup_teardown(test_name_option, setup, teardown),        \
	cmocka_unit_test_setup_teardown(test_stale_socket, setup, teardown),       \
	cmocka_unit_test_setup_teardown(test_ctl_off, setup, teardown),            \
	cmocka_unit_test_setup_teardown(test_run_dir, setup, teardown),            \
	cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),          \
	cmocka_unit_test_setup_teardown(test_rss_coalesce, setup, teardown),        \
	cmocka_unit_test_setup_teardown(test_slow_ctrl_stalls_nobody, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = { CTL_TESTS };
	const char *events = getenv("VNET_EVENTS");
	int rc;

	/* Twice: the engine reads VNET_EVENTS each time it starts, and it
	 * stops between tests (no device is left open). */
	rc = cmocka_run_group_tests_name("ctl (engine default)", tests, NULL, NULL);
	if (events)
		return rc;
	setenv("VNET_EVENTS", "epoll", 1);
	return rc | cmocka_run_group_tests_name("ctl (engine epoll)", tests, NULL, NULL);
}
