/* SPDX-License-Identifier: MIT */
/* Fake sysfs/dev/proc tree for the VFIO tests (see vfio_fake.h). */
#include "vfio_fake.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "iommu/vfio.h"

static char root[64];

const char *fake_path(const char *rel)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", root, rel);
	return buf;
}

void fake_mkdir(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
		*s = '/';
	}
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

/* mkdir -p of the directory part of rel. */
static void parent_dirs(const char *rel)
{
	char d[PATH_MAX];
	char *slash;

	snprintf(d, sizeof(d), "%s", rel);
	slash = strrchr(d, '/');
	if (slash) {
		*slash = '\0';
		fake_mkdir(d);
	}
}

void fake_file(const char *rel, const char *content)
{
	int fd;

	parent_dirs(rel);
	fd = open(fake_path(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

void fake_link(const char *rel, const char *target_rel)
{
	char target[PATH_MAX];

	parent_dirs(rel);
	snprintf(target, sizeof(target), "%s/%s", root, target_rel);
	unlink(fake_path(rel));
	assert_int_equal(symlink(target, fake_path(rel)), 0);
}

void fake_unlink(const char *rel)
{
	assert_int_equal(unlink(fake_path(rel)), 0);
}

void fake_pci_dev(const char *bdf, const char *driver, int group)
{
	char rel[PATH_MAX], target[PATH_MAX];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", bdf);
	fake_mkdir(rel);
	if (driver) {
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", bdf);
		snprintf(target, sizeof(target), "sys/bus/pci/drivers/%s", driver);
		fake_mkdir(target);
		fake_link(rel, target);
	}
	if (group >= 0) {
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/iommu_group", bdf);
		snprintf(target, sizeof(target), "sys/kernel/iommu_groups/%d", group);
		fake_mkdir(target);
		fake_link(rel, target);
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices/%s", group, bdf);
		snprintf(target, sizeof(target), "sys/bus/pci/devices/%s", bdf);
		fake_link(rel, target);
	}
}

void fake_cdev(const char *bdf, int n)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vfio-dev/vfio%d", bdf, n);
	fake_mkdir(rel);
	snprintf(rel, sizeof(rel), "dev/vfio/devices/vfio%d", n);
	fake_file(rel, "");
}

const char *fake_tree_create(void)
{
	char sys[PATH_MAX], dev[PATH_MAX], proc[PATH_MAX];

	snprintf(root, sizeof(root), "/tmp/vnet-vfio-XXXXXX");
	assert_non_null(mkdtemp(root));
	fake_mkdir("sys/bus/pci/devices");
	fake_mkdir("dev/vfio");
	fake_mkdir("proc/self");
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	snprintf(proc, sizeof(proc), "%s/proc", root);
	vn_vfio_set_roots(sys, dev, proc);
	return root;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

void fake_tree_destroy(void)
{
	vn_vfio_set_roots(NULL, NULL, NULL);
	assert_int_equal(nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}
