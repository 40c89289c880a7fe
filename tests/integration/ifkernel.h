/* SPDX-License-Identifier: MIT */
/* The kernel's own view of an interface, to check settings against
 * (include after <cmocka.h>). */
#ifndef VNET_TEST_IFKERNEL_H
#define VNET_TEST_IFKERNEL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

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

#endif
