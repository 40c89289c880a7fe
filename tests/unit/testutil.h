/* SPDX-License-Identifier: MIT */
/* Helpers shared by the cmocka tests (include after <cmocka.h>). */
#ifndef VNET_TESTUTIL_H
#define VNET_TESTUTIL_H

#include <dirent.h>

/* Open descriptors of this process, not counting the one used to count. */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

#endif
