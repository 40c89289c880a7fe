/* SPDX-License-Identifier: MIT */
/*
 * The control server (vnet/ctl.h) against hostile or careless clients:
 * malformed requests, a flood never read, another uid, run directories
 * that are unsafe or too long, stale sockets and names (ctl_test.h).
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_uid_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_dir, setup, teardown),
	};

	return ctl_run_tests("ctl hostile", tests, VN_ARRAY_SIZE(tests));
}
