/* SPDX-License-Identifier: MIT */
/*
 * Device access: the one seam between libvnet and whatever gives it a PCI
 * function. Four backends implement struct vn_devio_ops, chosen once at open:
 *   vfio_group.c   VFIO group + container, type1 IOMMU   ("vfio-group")
 *                  and the same path in no-IOMMU mode      ("vfio-noiommu")
 *   vfio_cdev.c    VFIO device cdev + iommufd IOAS        ("vfio-cdev")
 *   vfio_user.c    vfio-user client over a Unix socket    ("vfio-user")
 * Region and IRQ indexes are those of VFIO's PCI device API (linux/vfio.h):
 * BAR0..BAR5 = 0..5, ROM = 6, config space = 7 (VFIO_PCI_CONFIG_REGION_INDEX);
 * IRQ index 0 INTx, 1 MSI, 2 MSI-X (VFIO_PCI_MSIX_IRQ_INDEX).
 *
 * All functions return 0 or a negative errno and record why with vn_err().
 */
#ifndef VN_DEVIO_H
#define VN_DEVIO_H

#include <stddef.h>
#include <stdint.h>

#include "uri.h"
#include "iommu/dma.h"

struct vn_devio;

#define VN_REGION_READ  0x1
#define VN_REGION_WRITE 0x2
#define VN_REGION_MMAP  0x4 /* some or all of it can be mapped: try region_map() */

struct vn_region_info {
	uint64_t size;  /* 0: the region does not exist */
	uint32_t flags; /* VN_REGION_* */
};

struct vn_devio_ops {
	int (*region_info)(struct vn_devio *d, unsigned idx, struct vn_region_info *ri);
	/* len is 1, 2, 4 or 8 for registers, anything for config space. */
	int (*region_read)(struct vn_devio *d, unsigned idx, uint64_t off, void *buf, size_t len);
	int (*region_write)(struct vn_devio *d, unsigned idx, uint64_t off, const void *buf, size_t len);
	/*
	 * Map [off, off+len) of a region into this process for direct register
	 * access. -ENOTSUP when that range cannot be mapped (the caller then uses
	 * region_read/write). Mappings live until close().
	 */
	int (*region_map)(struct vn_devio *d, unsigned idx, uint64_t off, size_t len, void **va);
	/* Number of vectors behind an IRQ index (0 when absent). */
	int (*irq_info)(struct vn_devio *d, unsigned idx, uint32_t *count);
	/*
	 * Route vectors [start, start+count) of an IRQ index to eventfds
	 * (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER); fds[i] = -1
	 * leaves vector start+i unrouted. count == 0 disables the whole index.
	 */
	int (*set_irqs)(struct vn_devio *d, unsigned idx, unsigned start, unsigned count,
			const int *fds);
	/*
	 * Unmask vectors [start, start+count) of an IRQ index
	 * (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK). vfio-pci masks
	 * INTx (index 0) each time it fires, until the driver unmasks it: a
	 * level-triggered line still asserted then fires again.
	 */
	int (*irq_unmask)(struct vn_devio *d, unsigned idx, unsigned start, unsigned count);
	/* Give m device addresses (allocating IOVA in this device's space). */
	int (*dma_map)(struct vn_devio *d, struct vn_dma_mem *m);
	int (*dma_unmap)(struct vn_devio *d, struct vn_dma_mem *m);
	/* Function-level reset (VFIO_DEVICE_RESET / VFIO_USER_DEVICE_RESET). */
	int (*reset)(struct vn_devio *d);
	/*
	 * Optional (NULL: cannot tell). 0 while the device is reachable,
	 * -ENODEV once it is gone (vfio-user: the server hung up). Cheap, but a
	 * system call: callers use it when a queue stalls, not per frame.
	 */
	int (*alive)(struct vn_devio *d);
	/*
	 * Optional (NULL: none). A descriptor that turns ready for the poll(2)
	 * events in *events once the device is gone, for the event engine to
	 * watch (vn_ev_add_once()); it stays the backend's, open until close(),
	 * and is never read. vfio-user: the socket, POLLRDHUP (the server hung
	 * up or died); kernel VFIO: the device request eventfd, POLLIN (the
	 * device is being removed or unbound). -ENOTSUP when there is none.
	 */
	int (*gone_fd)(struct vn_devio *d, unsigned *events);
	/* Release everything; d is freed. */
	void (*close)(struct vn_devio *d);
};

struct vn_devio {
	const struct vn_devio_ops *ops;
	const char *access; /* "vfio-cdev", "vfio-group", "vfio-noiommu", "vfio-user" */
};

/*
 * Open the device a parsed URI names (vfio: or vfio-user:; sim: URIs go
 * through vn_sim_open(), which starts the simulated device and then opens it
 * with vn_vfio_user_open_fd()). vfio_mode is enum vnet_vfio_mode; when
 * VNET_VFIO_AUTO, the URI's "mode=" option and then the VNET_VFIO_MODE
 * environment variable (cdev, group, noiommu) are consulted before probing.
 */
int vn_devio_open(const struct vn_uri *u, int vfio_mode, struct vn_devio **out);

/* vfio-user client: connect to the server socket at path and negotiate. */
int vn_vfio_user_open(const char *path, struct vn_devio **out);

/*
 * vfio-user client on an already connected socket (takes ownership of fd).
 * release, when not NULL, is called with arg after the socket is closed at
 * close() time (the in-process simulator uses it to join its thread).
 * On failure, too, fd is closed and then release(arg) is called.
 */
int vn_vfio_user_open_fd(int fd, void (*release)(void *arg), void *arg,
			 struct vn_devio **out);

/* Convenience wrappers for the data path's register accessors. */
static inline int vn_devio_read(struct vn_devio *d, unsigned idx, uint64_t off, void *buf, size_t len)
{
	return d->ops->region_read(d, idx, off, buf, len);
}

static inline int vn_devio_write(struct vn_devio *d, unsigned idx, uint64_t off, const void *buf, size_t len)
{
	return d->ops->region_write(d, idx, off, buf, len);
}

#endif
