/* SPDX-License-Identifier: MIT */
/*
 * Test fixture: a fake sysfs, /dev and /proc tree in a mkdtemp directory,
 * wired into the VFIO backends with vn_vfio_set_roots().
 */
#ifndef VN_TEST_VFIO_FAKE_H
#define VN_TEST_VFIO_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/vfio_uapi.h"

/* Create the tree and point the backends at it. Returns its root. */
const char *fake_tree_create(void);
/* Remove the tree and restore the real roots. */
void fake_tree_destroy(void);

/* Write content to <root>/rel, creating parent directories. */
void fake_file(const char *rel, const char *content);
/* Make <root>/rel a symlink to <root>/target_rel. */
void fake_link(const char *rel, const char *target_rel);
void fake_mkdir(const char *rel);
void fake_unlink(const char *rel);
/* The absolute path of rel, in a static buffer. */
const char *fake_path(const char *rel);

/*
 * A PCI device: sys/bus/pci/devices/BDF, its driver link (NULL: none) and,
 * when group >= 0, its iommu_group link and the group's devices entry.
 */
void fake_pci_dev(const char *bdf, const char *driver, int group);
/* Expose BDF's VFIO cdev vfioN in sysfs and /dev/vfio/devices/vfioN. */
void fake_cdev(const char *bdf, int n);

/* ---- The fake kernel behind the vfio_sys seam ---- */

#define BDF "0000:00:04.0"
#define REGION_STRIDE 0x10000ULL /* the fake device's region offsets */
#define IOAS_ID 9

enum info_mode {
	INFO_GOOD,       /* migration cap, then the IOVA range cap */
	INFO_NO_CAPS,    /* an old kernel: no capability chain */
	INFO_NO_RANGE,   /* a chain without the IOVA range cap */
	INFO_LOOP,       /* next points back at itself */
	INFO_OUTSIDE,    /* next points past the reply */
	INFO_LAST_PAST,  /* the IOVA range cap's own next points past the reply */
	INFO_TRUNCATED,  /* nr_iovas larger than the bytes that follow */
	INFO_ZERO,       /* nr_iovas == 0 */
	INFO_UNSORTED,   /* ranges out of order */
};

/* What the fake kernel answers, and what it saw. Reset by fake_kernel_setup(). */
struct fake_kernel {
	enum info_mode info;
	bool viable;
	bool ranges_grow;  /* IOAS ranges change between the two calls */
	bool device_resettable;
	int ranges_calls;
	char log[2048];
	uint32_t iommu_type;
	struct vfio_iommu_type1_dma_map map;
	struct iommu_ioas_map ioas_map;
	int maps, unmaps, destroys, resets;
	unsigned long fail_req; /* this ioctl fails with fail_err (0: EIO) */
	int fail_err;
	bool unmap_short;       /* UNMAP reports less than asked */
	bool sparse_bad;        /* BAR0's sparse cap claims more areas than it holds */
	uint64_t unmap_iova, unmap_size;
	struct {
		uint32_t flags, index, start, count;
		int32_t fds[8];
	} irq;
};

extern struct fake_kernel fk;

/*
 * cmocka setup/teardown: a fake tree with BDF bound to vfio-pci in group 7
 * (/dev/vfio/7 and noiommu-7), its cdev vfio0 and /dev/iommu; device fds
 * are regular files holding the regions. Teardown checks no fd leaked.
 */
int fake_kernel_setup(void **state);
int fake_kernel_teardown(void **state);
/* Open file descriptors of this process. */
/* Descriptors open when the test started. */
extern int fake_fds_before;

#endif
