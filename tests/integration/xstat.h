/* SPDX-License-Identifier: MIT */
/*
 * One named counter of vnet_dev_xstats(), for the integration tests; the
 * test fails when the device has no counter of that name. Include after
 * <cmocka.h>.
 */
#ifndef VNET_TEST_XSTAT_H
#define VNET_TEST_XSTAT_H

#include <stdint.h>
#include <string.h>

#include "vnet/vnet.h"

static inline uint64_t xstat(struct vnet_dev *d, const char *name)
{
	struct vnet_xstat xs[128];
	int n = vnet_dev_xstats(d, xs, 128);

	assert_true(n > 0 && n <= 128);
	for (int i = 0; i < n; i++)
		if (!strcmp(xs[i].name, name))
			return xs[i].value;
	fail_msg("no xstat %s", name);
	return 0;
}

#endif
