/* SPDX-License-Identifier: MIT */
/* The kernel's own view of an interface, to check settings against
 * (include after <cmocka.h>), and what a kernel-backed port refuses. */
#ifndef VNET_TEST_IFKERNEL_H
#define VNET_TEST_IFKERNEL_H

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vnet/vnet.h"

/* The kernel's view of ifname: its flags, or its MTU. */
static inline int kernel_if(const char *ifname, unsigned long req)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	assert_int_equal(ioctl(fd, req, &ifr), 0);
	close(fd);
	return req == SIOCGIFMTU ? ifr.ifr_mtu : ifr.ifr_flags;
}

/* Whether the kernel's multicast list of ifname holds mac (/proc/net/dev_mcast). */
static inline bool kernel_has_mc(const char *ifname, const uint8_t mac[6])
{
	char line[256], want[13], name[IFNAMSIZ], addr[64];
	FILE *f = fopen("/proc/net/dev_mcast", "r");
	bool found = false;
	int idx, users, global;

	assert_non_null(f);
	snprintf(want, sizeof(want), "%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %15s %d %d %63s", &idx, name, &users, &global, addr) == 5 &&
		    !strcmp(name, ifname) && !strcmp(addr, want))
			found = true;
	fclose(f);
	return found;
}

/* A call that failed with -1 and errno err. */
static inline void expect_err(int rc, int err)
{
	assert_int_equal(rc, -1);
	assert_int_equal(errno, err);
}

/* RSS and coalescing of a kernel-backed port (tap:, xdp:) are the kernel
 * driver's: refused with EOPNOTSUPP and the ethtool command, never faked. */
static inline void expect_kernel_owns_rss(struct vnet_dev *dev)
{
	struct vnet_rss rss = { .sz = sizeof(rss), .key_len = 40, .table_len = 1 };
	struct vnet_coalesce co = { .sz = sizeof(co), .rx_usecs = 10, .rx_max_frames = 4 };

	expect_err(vnet_dev_set_rss(dev, &rss), EOPNOTSUPP);
	assert_non_null(strstr(vnet_last_error(), "ethtool -X"));
	expect_err(vnet_dev_set_coalesce(dev, &co), EOPNOTSUPP);
	assert_non_null(strstr(vnet_last_error(), "ethtool -C"));
	expect_err(vnet_dev_rss(dev, &rss), EOPNOTSUPP);
	expect_err(vnet_dev_coalesce(dev, &co), EOPNOTSUPP);
}

#endif
