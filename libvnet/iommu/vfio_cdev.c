/* SPDX-License-Identifier: MIT */
/*
 * VFIO device cdev + iommufd ("vfio-cdev"; Documentation/userspace-api/iommufd.rst
 * and driver-api/vfio.rst "VFIO device cdev"): open /dev/vfio/devices/vfioN,
 * bind it to an iommufd, attach it to a fresh IOAS, and map DMA memory into
 * that IOAS at IOVAs this library allocates inside the IOAS's usable ranges.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iommu/vfio.h"
#include "iommu/vfio_uapi.h"
#include "log.h"

/* IOMMU_IOAS_IOVA_RANGES can change between the two calls (a device attached
 * meanwhile); retry a few times, then give up. */
#define RANGES_TRIES 4

struct vfio_cdev {
	struct vfio_dev dev;
	int iommufd;
	int cdev; /* the device fd until vfio_dev_init() takes it */
	uint32_t ioas;
	bool have_ioas;
};

static struct vfio_cdev *to_cdev(struct vn_devio *d)
{
	return VN_CONTAINER_OF(d, struct vfio_cdev, dev.base);
}

/* The usable IOVA ranges of the IOAS: ask for the count, then the ranges. */
static int ioas_ranges(struct vfio_cdev *c)
{
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = c->ioas };
	struct iommu_iova_range *kr = NULL;
	struct vn_iova_range *ranges = NULL;
	int r = 0;

	for (int tries = 0; tries < RANGES_TRIES; tries++) {
		uint32_t room = q.num_iovas;

		q.allowed_iovas = (uintptr_t)kr;
		r = vfio_ioctl(c->iommufd, IOMMU_IOAS_IOVA_RANGES, &q);
		if (r == 0 && q.num_iovas <= room)
			break;
		if (r < 0 && r != -EMSGSIZE) {
			r = vn_err(r, "iommufd: IOMMU_IOAS_IOVA_RANGES failed");
			goto out;
		}
		/* EMSGSIZE: num_iovas now holds how many there are. */
		if (q.num_iovas == 0 || q.num_iovas > 4096) {
			r = vn_err(-EINVAL, "iommufd: IOAS reports %u IOVA ranges", q.num_iovas);
			goto out;
		}
		free(kr);
		kr = calloc(q.num_iovas, sizeof(*kr));
		if (!kr) {
			r = vn_err(-ENOMEM, "iommufd: out of memory");
			goto out;
		}
		r = -EMSGSIZE;
	}
	if (r) {
		r = vn_err(-EAGAIN, "iommufd: IOVA ranges kept changing");
		goto out;
	}
	if (q.num_iovas == 0) {
		r = vn_err(-ENOSPC, "iommufd: the IOAS has no usable IOVA range");
		goto out;
	}
	ranges = calloc(q.num_iovas, sizeof(*ranges));
	if (!ranges) {
		r = vn_err(-ENOMEM, "iommufd: out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < q.num_iovas; i++) {
		ranges[i].start = kr[i].start;
		ranges[i].last = kr[i].last;
	}
	r = vfio_iova_setup(&c->dev, ranges, q.num_iovas,
			    q.out_iova_alignment ? q.out_iova_alignment : 1);
out:
	free(ranges);
	free(kr);
	return r;
}

static int cdev_map(struct vfio_dev *d, struct vn_dma_mem *m, uint64_t iova)
{
	struct vfio_cdev *c = VN_CONTAINER_OF(d, struct vfio_cdev, dev);
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = c->ioas,
		.user_va = (uintptr_t)m->va,
		.length = m->len,
		.iova = iova,
	};
	int r = vfio_ioctl(c->iommufd, IOMMU_IOAS_MAP, &map);

	if (r < 0) {
		char what[80];

		snprintf(what, sizeof(what), "iommufd: IOMMU_IOAS_MAP at IOVA %#llx",
			 (unsigned long long)iova);
		return vn_dma_pin_err(r, m, what);
	}
	return 0;
}

static int cdev_unmap(struct vfio_dev *d, struct vn_dma_mem *m)
{
	struct vfio_cdev *c = VN_CONTAINER_OF(d, struct vfio_cdev, dev);
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = c->ioas, .iova = m->iova, .length = m->len,
	};
	int r = vfio_ioctl(c->iommufd, IOMMU_IOAS_UNMAP, &unmap);

	if (r < 0)
		return vn_err(r, "iommufd: IOMMU_IOAS_UNMAP at IOVA %#llx failed",
			      (unsigned long long)m->iova);
	/* The kernel returns the bytes it unmapped in length. */
	if (unmap.length != m->len)
		return vn_err(-EIO, "iommufd: IOMMU_IOAS_UNMAP unmapped %llu of %zu bytes",
			      (unsigned long long)unmap.length, m->len);
	return 0;
}

static int cdev_dma_map(struct vn_devio *d, struct vn_dma_mem *m)
{
	return vfio_iova_map(&to_cdev(d)->dev, m, cdev_map);
}

static int cdev_dma_unmap(struct vn_devio *d, struct vn_dma_mem *m)
{
	return vfio_iova_unmap(&to_cdev(d)->dev, m, cdev_unmap);
}

/* Reverse order of cdev_setup(): closing the device fd unbinds and detaches
 * it, after which the IOAS can be destroyed. Safe on a partial setup. */
static void cdev_release(struct vfio_cdev *c)
{
	vfio_dev_fini(&c->dev);
	if (c->cdev >= 0)
		close(c->cdev);
	if (c->have_ioas) {
		struct iommu_destroy d = { .size = sizeof(d), .id = c->ioas };

		vfio_ioctl(c->iommufd, IOMMU_DESTROY, &d);
	}
	if (c->iommufd >= 0)
		close(c->iommufd);
	free(c);
}

static void cdev_close(struct vn_devio *d)
{
	cdev_release(to_cdev(d));
}

static const struct vn_devio_ops cdev_ops = {
	VFIO_DEV_OPS,
	.dma_map = cdev_dma_map,
	.dma_unmap = cdev_dma_unmap,
	.close = cdev_close,
};

static int cdev_setup(struct vfio_cdev *c, const char *bdf)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	char name[32];
	int r;

	r = vfio_sysfs_cdev(bdf, name, sizeof(name));
	if (r)
		return vn_err(r, "%s has no VFIO device cdev (vfio-dev/vfioN in sysfs)", bdf);
	c->cdev = vfio_open(VFIO_ROOT_DEV, O_RDWR, "vfio/devices/%s", name);
	if (c->cdev < 0)
		return c->cdev;
	c->iommufd = vfio_open(VFIO_ROOT_DEV, O_RDWR, "iommu");
	if (c->iommufd < 0)
		return c->iommufd;
	/* A cdev accepts no other ioctl before it is bound to an iommufd. */
	bind.iommufd = c->iommufd;
	r = vfio_ioctl(c->cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_DEVICE_BIND_IOMMUFD of %s failed%s", name,
			      r == -EBUSY ? " (is it in use, or its group open?)" : "");
	r = vfio_ioctl(c->iommufd, IOMMU_IOAS_ALLOC, &alloc);
	if (r < 0)
		return vn_err(r, "iommufd: IOMMU_IOAS_ALLOC failed");
	c->ioas = alloc.out_ioas_id;
	c->have_ioas = true;
	attach.pt_id = c->ioas;
	r = vfio_ioctl(c->cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_DEVICE_ATTACH_IOMMUFD_PT of %s to IOAS %u failed", name,
			      c->ioas);
	/* Only after attaching: the device's reserved regions narrow the IOAS. */
	r = ioas_ranges(c);
	if (r)
		return r;
	r = vfio_dev_init(&c->dev, c->cdev);
	if (r)
		return r;
	c->cdev = -1; /* now owned by c->dev */
	return 0;
}

int vfio_cdev_open(const char *bdf, struct vn_devio **out)
{
	struct vfio_cdev *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return vn_err(-ENOMEM, "vfio: out of memory");
	c->iommufd = c->cdev = c->dev.fd = -1;
	r = cdev_setup(c, bdf);
	if (r) {
		cdev_release(c);
		return r;
	}
	c->dev.base.ops = &cdev_ops;
	c->dev.base.access = "vfio-cdev";
	*out = &c->dev.base;
	return 0;
}
