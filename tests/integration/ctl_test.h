/* SPDX-License-Identifier: MIT */
/*
 * What the control server's tests share (test_ctl.c: the commands;
 * test_ctl_hostile.c: bad requests, floods, other users and run
 * directories): a private run directory per test (VNET_RUN_DIR, a
 * mkdtemp() directory), devices on sim:loopback, a libmnl client
 * (ctl_client.h), and a main that runs every test twice, with the event
 * engine on io_uring and on epoll (VNET_EVENTS=epoll).
 */
#ifndef VNET_TEST_CTL_TEST_H
#define VNET_TEST_CTL_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "compiler.h"
#include "ctl_client.h"
#include "event.h"
#include "frames.h"
#include "vnet/vnet.h"

static char run_dir[64];

static inline void cli_open(struct cli *c, const char *name)
{
	cli_connect(c, run_dir, name);
}

/* --- fixtures and helpers --- */

static inline int setup(void **state)
{
	strcpy(run_dir, "/tmp/vnet-ctl-XXXXXX");
	if (!mkdtemp(run_dir))
		return -1;
	setenv("VNET_RUN_DIR", run_dir, 1);
	unsetenv("VNET_CTL");
	return 0;
}

/* Nothing is left behind: no socket file (closed devices remove theirs). */
static inline int teardown(void **state)
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

static inline struct vnet_dev *open_dev(const char *uri)
{
	struct vnet_dev *d = NULL;

	assert_int_equal(vnet_dev_open(uri, NULL, &d), 0);
	return d;
}

static inline struct vnet_dev_info info_of(struct vnet_dev *d)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };

	assert_int_equal(vnet_dev_info(d, &i), 0);
	return i;
}

static inline bool sock_exists(const char *dir, const char *name)
{
	char path[128];
	struct stat st;

	vn_ctl_sock_path(dir, name, path, sizeof(path));
	return lstat(path, &st) == 0;
}

/* The value of counter name in a STATS_GET answer on c (the request
 * counts in ctl_requests). */
static inline uint64_t stat_of(struct cli *c, const char *name)
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
static inline uint64_t ctl_stat(const char *dev, const char *name)
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
static inline void move_frames(struct vnet_dev *d, const uint8_t mac[6], unsigned n)
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

static inline uint64_t ms_now(void)
{
	return vn_ev_now_ns() / 1000000u;
}

/* Run tests twice: the engine reads VNET_EVENTS each time it starts, and
 * it stops between tests (no device is left open). A VNET_EVENTS already
 * set picks the one engine. */
static inline int ctl_run_tests(const char *name, const struct CMUnitTest *tests, size_t n)
{
	const bool one = getenv("VNET_EVENTS") != NULL;
	char title[64];
	int rc;

	snprintf(title, sizeof(title), "%s (engine default)", name);
	rc = _cmocka_run_group_tests(title, tests, n, NULL, NULL);
	if (one)
		return rc;
	setenv("VNET_EVENTS", "epoll", 1);
	snprintf(title, sizeof(title), "%s (engine epoll)", name);
	return rc | _cmocka_run_group_tests(title, tests, n, NULL, NULL);
}

#endif
