/* SPDX-License-Identifier: MIT */
/* Waiting for device events in tests (include after <cmocka.h>). */
#ifndef VNET_TEST_EVENTS_H
#define VNET_TEST_EVENTS_H

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

#endif
