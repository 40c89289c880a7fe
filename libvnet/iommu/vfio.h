/* SPDX-License-Identifier: MIT */
/*
 * What the three kernel VFIO backends share (internal to libvnet/iommu):
 *   - the VFIO device fd: regions (with capability chains and sparse mmap),
 *     region read/write/map, IRQ info, routing and unmasking, reset;
 *   - the IOVA allocator glue of the two IOMMU modes;
 *   - sysfs probing of a PCI function (group, cdev, driver, no-IOMMU);
 *   - the system-call seam a unit test replaces with a fake kernel.
 * Backends: vfio_group.c (type1 and no-IOMMU), vfio_cdev.c (iommufd).
 */
#ifndef VN_VFIO_H
#define VN_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "iommu/devio.h"
#include "iommu/dma.h"
#include "vnet/vnet.h"

/* ---- The kernel boundary ---- */

/*
 * Every VFIO/iommufd ioctl goes through here so that unit tests can answer
 * them. Files are opened for real: tests point the roots at a fake tree.
 */
struct vfio_sys {
	int (*ioctl)(int fd, unsigned long req, void *arg);
};

/* Tests only: replace the kernel (NULL restores the real one). */
void vn_vfio_set_sys(const struct vfio_sys *sys);

/* Where sysfs, /dev and /proc live (NULL: the default): for tests and for
 * vnetconf's hidden --sysfs-root/--dev-root. -ENAMETOOLONG (with vn_err,
 * and nothing changed) when a root leaves no room below PATH_MAX. */
int vn_vfio_set_roots(const char *sys, const char *dev, const char *proc);

/* ioctl() through the seam: its result (>= 0) or -errno. */
int vfio_ioctl(int fd, unsigned long req, void *arg);
/* For ioctls whose argument is a plain integer (VFIO_SET_IOMMU, ...). */
int vfio_ioctl_val(int fd, unsigned long req, unsigned long val);

enum vfio_root { VFIO_ROOT_SYS, VFIO_ROOT_DEV, VFIO_ROOT_PROC };

/* "<root>/<fmt...>" into buf; -ENAMETOOLONG (with vn_err) when it does not fit. */
int vfio_path(char *buf, size_t sz, enum vfio_root root, const char *fmt, ...) VN_PRINTF(4, 5);
/* Open a file under a root (O_CLOEXEC added): fd, or -errno with vn_err. */
int vfio_open(enum vfio_root root, int flags, const char *fmt, ...) VN_PRINTF(3, 4);
bool vfio_exists(enum vfio_root root, const char *fmt, ...) VN_PRINTF(2, 3);

/* ---- sysfs probing (bdf is the canonical "DDDD:BB:DD.F") ---- */

/* The IOMMU group number of a device; -ENOENT when it has none. */
int vfio_sysfs_group(const char *bdf, unsigned *group);
/* The device's VFIO cdev name ("vfio3"); -ENOENT when vfio-pci exposes none. */
int vfio_sysfs_cdev(const char *bdf, char *name, size_t sz);
/* The driver a device is bound to, or "" when none. Path relative to the sys
 * root, e.g. "bus/pci/devices/0000:00:04.0". */
void vfio_sysfs_driver(const char *devpath, char *buf, size_t sz);
/* A hex attribute of the device such as vendor ("0x1af4\n"): 0, -ENOENT when
 * absent, -EINVAL (with vn_err) when malformed or above max. */
int vfio_sysfs_hex(const char *bdf, const char *attr, unsigned max, unsigned *val);
/* enable_unsafe_noiommu_mode of the vfio module is Y. */
bool vfio_noiommu_enabled(void);

/* What the system offers for opening one device, mode by mode. */
struct vfio_avail {
	bool has_group;   /* sysfs iommu_group link */
	unsigned group;
	bool noiommu_grp; /* the group is a no-IOMMU group (/dev/vfio/noiommu-N) */
	bool cdev, type1, noiommu; /* each mode can open it */
	char cdev_name[32];
};
/* Fill a for device bdf. The one place that decides which VFIO modes can
 * open a device: vn_devio_open() and vnetconf dev list both ask it. */
void vfio_probe(const char *bdf, struct vfio_avail *a);
/* Call fn for every device of the group except skip (may be NULL), with the
 * driver it is bound to ("" when none). Stops at the first nonzero return of
 * fn and returns it; 0 after the last device, -errno when the group cannot
 * be read. */
int vfio_group_foreach(unsigned group, const char *skip,
		       int (*fn)(const char *bdf, const char *drv, void *arg), void *arg);
/* "0000:00:05.0 (e1000e), 0000:00:05.1 (no driver)": every device of the
 * group except bdf. Returns the number listed, or -errno. */
int vfio_group_members(unsigned group, const char *bdf, char *buf, size_t sz);

/* ---- The device fd ---- */

struct vfio_region;
struct vfio_map;

struct vfio_dev {
	struct vn_devio base;
	int fd;                      /* the VFIO device fd, -1 when none */
	uint32_t dev_flags;          /* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions, num_irqs;
	struct vfio_region *regions; /* num_regions entries, filled on first use */
	struct vfio_map *maps;       /* region_map() mappings, undone at close */
	unsigned n_maps, maps_cap;
	/* IOMMU modes: the IOVA space and the alignment the IOMMU requires. */
	struct vn_iova_alloc iova;
	uint64_t iova_align;
	/* gone_fd(): the eventfd of the device request interrupt, once routed. */
	int req_fd;
	bool req_on;
};

/* Take ownership of a device fd and read its info. On failure the fd is
 * still the caller's. vfio_dev_fini() is safe after a failed init, or on a
 * zeroed d whose fd was set to -1. */
int vfio_dev_init(struct vfio_dev *d, int fd);
/* Unmap regions, close the device fd, free the IOVA allocator. */
void vfio_dev_fini(struct vfio_dev *d);

int vfio_dev_region_info(struct vn_devio *d, unsigned idx, struct vn_region_info *ri);
int vfio_dev_region_read(struct vn_devio *d, unsigned idx, uint64_t off, void *buf, size_t len);
int vfio_dev_region_write(struct vn_devio *d, unsigned idx, uint64_t off, const void *buf, size_t len);
int vfio_dev_region_map(struct vn_devio *d, unsigned idx, uint64_t off, size_t len, void **va);
int vfio_dev_irq_info(struct vn_devio *d, unsigned idx, uint32_t *count);
int vfio_dev_set_irqs(struct vn_devio *d, unsigned idx, unsigned start, unsigned count, const int *fds);
int vfio_dev_irq_unmask(struct vn_devio *d, unsigned idx, unsigned start, unsigned count);
int vfio_dev_reset(struct vn_devio *d);
/* The device request eventfd (VFIO_PCI_REQ_IRQ_INDEX), routed on first use:
 * vfio-pci signals it when the device is to be removed or unbound. */
int vfio_dev_gone_fd(struct vn_devio *d, unsigned *events);

/* The part of a vn_devio_ops table every kernel backend shares. */
#define VFIO_DEV_OPS                                  \
	.region_info = vfio_dev_region_info,          \
	.region_read = vfio_dev_region_read,          \
	.region_write = vfio_dev_region_write,        \
	.region_map = vfio_dev_region_map,            \
	.irq_info = vfio_dev_irq_info,                \
	.set_irqs = vfio_dev_set_irqs,                \
	.irq_unmask = vfio_dev_irq_unmask,            \
	.reset = vfio_dev_reset,                      \
	.gone_fd = vfio_dev_gone_fd

/*
 * Find capability id in a VFIO info buffer of argsz bytes whose chain
 * starts at offset first (0: none). *cap is NULL when it is absent, else
 * *cap_len is its length (up to the next capability or the end). A chain
 * that points outside the buffer, backwards or at a too short capability
 * (shorter than min_len) is -EINVAL: it came from the kernel, but is parsed
 * as untrusted input all the same.
 */
int vfio_cap_find(const void *buf, uint32_t argsz, uint32_t first, uint16_t id, size_t min_len,
		  const void **cap, uint32_t *cap_len);

/* ---- IOMMU modes: IOVA allocation around a backend's map ioctl ---- */

/* Set up d->iova from the kernel's usable ranges (clipped in place to leave
 * the first MiB unused) and the IOMMU's minimum alignment. */
int vfio_iova_setup(struct vfio_dev *d, struct vn_iova_range *r, unsigned n, uint64_t align);
/* Allocate an IOVA for m, then map(d, m, iova); undo the allocation if map fails. */
int vfio_iova_map(struct vfio_dev *d, struct vn_dma_mem *m,
		  int (*map)(struct vfio_dev *d, struct vn_dma_mem *m, uint64_t iova));
/* unmap(d, m), then give m's IOVA back. */
int vfio_iova_unmap(struct vfio_dev *d, struct vn_dma_mem *m,
		    int (*unmap)(struct vfio_dev *d, struct vn_dma_mem *m));

/* ---- Backends and mode selection ---- */

int vfio_group_open(const char *bdf, bool noiommu, struct vn_devio **out);
int vfio_cdev_open(const char *bdf, struct vn_devio **out);

/*
 * The mode to open bdf in: api_mode when not VNET_VFIO_AUTO, else uri_mode
 * (may be NULL), else $VNET_VFIO_MODE, else what the system offers. An
 * explicitly requested mode must be available. 0 or -errno with vn_err.
 */
int vfio_select_mode(const char *bdf, int api_mode, const char *uri_mode, enum vnet_vfio_mode *mode);

#endif
