/* SPDX-License-Identifier: MIT */
/*
 * The control server (vnet/ctl.h) end to end, its commands: a small libmnl
 * client talks to devices on sim:loopback (ctl_test.h). Bad requests,
 * floods, other users and run directories: test_ctl_hostile.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "ctl_test.h"

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

/* RSS and coalescing over the protocol: a first RSS_SET needs a table (the
 * driver made a random key at open); what a SET leaves out keeps its value;
 * GETs read it all back. */
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
	assert_non_null(strstr(why, "the first RSS_SET needs VNET_A_RSS_TABLE"));
	/* Before any SET: off, with the driver's own 40-byte key. */
	req(&c, VNET_CTL_FAMILY_ID, VNET_CMD_RSS_GET, 0);
	send_req(&c);
	parse(answer(&c), GENL_HDRLEN, tb, VNET_A_MAX + 1);
	assert_int_equal(mnl_attr_get_u8(tb[VNET_A_RSS_ON]), 0);
	assert_int_equal(mnl_attr_get_payload_len(tb[VNET_A_RSS_KEY]), 40);
	assert_null(tb[VNET_A_RSS_TABLE]);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_getfamily, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lowest_free_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rss_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_ctrl_stalls_nobody, setup, teardown),
	};

	return ctl_run_tests("ctl", tests, VN_ARRAY_SIZE(tests));
}
