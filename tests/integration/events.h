/* SPDX-License-Identifier: MIT */
/* Device events and device state in tests (include after <cmocka.h>). */
#ifndef VNET_TEST_EVENTS_H
#define VNET_TEST_EVENTS_H

#include <errno.h>
#include <poll.h>

#include "vnet/vnet.h"

/* The next event of d within timeout_ms, sleeping on vnet_dev_event_fd():
 * its type, or 0 when none came. */
static inline int next_event(struct vnet_dev *d, int timeout_ms)
{
	struct vnet_dev_event ev = { .sz = sizeof(ev) };
	struct pollfd p = { .fd = vnet_dev_event_fd(d), .events = POLLIN };
	int rc;

	assert_true(p.fd >= 0);
	while ((rc = vnet_dev_event(d, &ev)) == 0)
		if (poll(&p, 1, timeout_ms) <= 0)
			return 0;
	assert_int_equal(rc, 1);
	return ev.type;
}

/* d's interface went away: queue q's calls fail with ENETDOWN, and
 * vnet_dev_info() reports it broken with its link down. */
static inline void expect_gone(struct vnet_dev *d, struct vnet_queue *q)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vnet_buf b;

	assert_int_equal(vnet_rx_peek(q, &b, 1), -1);
	assert_int_equal(errno, ENETDOWN);
	assert_int_equal(vnet_tx_reserve(q, &b, 1), -1);
	assert_int_equal(errno, ENETDOWN);
	assert_int_equal(vnet_dev_info(d, &i), 0);
	assert_int_equal(i.broken, 1);
	assert_int_equal(i.link_up, 0);
}

#endif
