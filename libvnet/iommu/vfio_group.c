/* SPDX-License-Identifier: MIT */
/*
 * VFIO group + container (Documentation/driver-api/vfio.rst):
 *   type1v2 IOMMU  ("vfio-group"):   the IOMMU confines the device to the
 *                                    IOVAs mapped with VFIO_IOMMU_MAP_DMA;
 *   no-IOMMU       ("vfio-noiommu"): nothing confines it; the device sees
 *                                    physical addresses, read from pagemap.
 * Both open /dev/vfio/vfio, attach the group to it and set the IOMMU type;
 * the device fd then works as in vfio.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommu/vfio.h"
#include "iommu/vfio_uapi.h"
#include "log.h"

struct vfio_group {
	struct vfio_dev dev;
	int container;
	int group;
	bool attached; /* VFIO_GROUP_SET_CONTAINER done */
};

static struct vfio_group *to_group(struct vn_devio *d)
{
	return VN_CONTAINER_OF(d, struct vfio_group, dev.base);
}

static int container_open(struct vfio_group *g, bool noiommu)
{
	unsigned long type = noiommu ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU;
	int r;

	g->container = vfio_open(VFIO_ROOT_DEV, O_RDWR, "vfio/vfio");
	if (g->container < 0)
		return g->container;
	r = vfio_ioctl(g->container, VFIO_GET_API_VERSION, NULL);
	if (r != VFIO_API_VERSION)
		return vn_err(r < 0 ? r : -ENOTSUP, "vfio: container API version %d, want %d", r,
			      VFIO_API_VERSION);
	r = vfio_ioctl_val(g->container, VFIO_CHECK_EXTENSION, type);
	if (r <= 0)
		return vn_err(r < 0 ? r : -ENOTSUP, "vfio: the kernel does not offer the %s IOMMU",
			      noiommu ? "no-IOMMU" : "type1v2");
	return 0;
}

static int group_open(struct vfio_group *g, unsigned num, const char *bdf, bool noiommu)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char members[200];
	int r;

	g->group = noiommu ? vfio_open(VFIO_ROOT_DEV, O_RDWR, "vfio/noiommu-%u", num)
			   : vfio_open(VFIO_ROOT_DEV, O_RDWR, "vfio/%u", num);
	if (g->group < 0)
		return g->group;
	r = vfio_ioctl(g->group, VFIO_GROUP_GET_STATUS, &st);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_GROUP_GET_STATUS of group %u failed", num);
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		/* The usual cause: another device of the group still has a driver. */
		r = vfio_group_members(num, bdf, members, sizeof(members));
		return vn_err(-EBUSY,
			      "IOMMU group %u of %s is not viable: bind every device in it to vfio-pci or to no driver; the others are: %s",
			      num, bdf, r > 0 ? members : "(cannot list)");
	}
	/* VFIO uAPI: the argument is a pointer to the container fd. */
	r = vfio_ioctl(g->group, VFIO_GROUP_SET_CONTAINER, &g->container);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_GROUP_SET_CONTAINER for group %u failed", num);
	g->attached = true;
	return 0;
}

/* Usable IOVA ranges from the type1 info capability chain. */
static int type1_ranges(struct vfio_group *g)
{
	const struct vfio_iommu_type1_info_cap_iova_range *cr;
	struct vfio_iommu_type1_info head = { .argsz = sizeof(head) };
	struct vfio_iommu_type1_info *info = NULL;
	struct vn_iova_range *ranges = NULL;
	uint64_t align = 4096;
	const void *cap;
	uint32_t len;
	int r;

	r = vfio_ioctl(g->container, VFIO_IOMMU_GET_INFO, &head);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_IOMMU_GET_INFO failed");
	if (!(head.flags & VFIO_IOMMU_INFO_CAPS) || head.argsz <= sizeof(head))
		return vn_err(-ENOTSUP, "vfio: the type1 IOMMU reports no usable IOVA ranges (Linux 5.4 or later needed)");
	if (head.argsz > 65536)
		return vn_err(-EINVAL, "vfio: VFIO_IOMMU_GET_INFO wants %u bytes", head.argsz);
	len = head.argsz;
	info = calloc(1, len);
	if (!info)
		return vn_err(-ENOMEM, "vfio: out of memory");
	info->argsz = len;
	r = vfio_ioctl(g->container, VFIO_IOMMU_GET_INFO, info);
	if (r < 0) {
		r = vn_err(r, "vfio: VFIO_IOMMU_GET_INFO failed");
		goto out;
	}
	if (info->argsz > len) {
		r = vn_err(-EAGAIN, "vfio: IOMMU info grew between two calls");
		goto out;
	}
	r = vfio_cap_find(info, info->argsz, info->cap_offset, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
			  sizeof(*cr), &cap, &len);
	if (r)
		goto out;
	if (!cap) {
		r = vn_err(-ENOTSUP, "vfio: the type1 IOMMU info has no IOVA range capability");
		goto out;
	}
	cr = cap;
	if (cr->nr_iovas == 0 || cr->nr_iovas > (len - sizeof(*cr)) / sizeof(cr->iova_ranges[0])) {
		r = vn_err(-EINVAL, "vfio: IOVA range capability claims %u ranges in %u bytes",
			   cr->nr_iovas, len);
		goto out;
	}
	ranges = calloc(cr->nr_iovas, sizeof(*ranges));
	if (!ranges) {
		r = vn_err(-ENOMEM, "vfio: out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < cr->nr_iovas; i++) {
		ranges[i].start = cr->iova_ranges[i].start;
		ranges[i].last = cr->iova_ranges[i].end; /* inclusive */
	}
	/* The smallest IOMMU page is the finest IOVA granularity. */
	if ((info->flags & VFIO_IOMMU_INFO_PGSIZES) && info->iova_pgsizes)
		align = info->iova_pgsizes & -info->iova_pgsizes;
	r = vfio_iova_setup(&g->dev, ranges, cr->nr_iovas, align);
out:
	free(ranges);
	free(info);
	return r;
}

static int type1_map(struct vfio_dev *d, struct vn_dma_mem *m, uint64_t iova)
{
	struct vfio_group *g = VN_CONTAINER_OF(d, struct vfio_group, dev);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)m->va,
		.iova = iova,
		.size = m->len,
	};
	int r = vfio_ioctl(g->container, VFIO_IOMMU_MAP_DMA, &map);

	if (r < 0) {
		char what[80];

		snprintf(what, sizeof(what), "vfio: VFIO_IOMMU_MAP_DMA at IOVA %#llx",
			 (unsigned long long)iova);
		return vn_dma_pin_err(r, m, what);
	}
	return 0;
}

static int type1_unmap(struct vfio_dev *d, struct vn_dma_mem *m)
{
	struct vfio_group *g = VN_CONTAINER_OF(d, struct vfio_group, dev);
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = m->iova, .size = m->len,
	};
	int r = vfio_ioctl(g->container, VFIO_IOMMU_UNMAP_DMA, &unmap);

	if (r < 0)
		return vn_err(r, "vfio: VFIO_IOMMU_UNMAP_DMA at IOVA %#llx failed",
			      (unsigned long long)m->iova);
	/* The kernel reports how much it unmapped. */
	if (unmap.size != m->len)
		return vn_err(-EIO, "vfio: VFIO_IOMMU_UNMAP_DMA unmapped %llu of %zu bytes",
			      (unsigned long long)unmap.size, m->len);
	return 0;
}

static int group_dma_map(struct vn_devio *d, struct vn_dma_mem *m)
{
	return vfio_iova_map(&to_group(d)->dev, m, type1_map);
}

static int group_dma_unmap(struct vn_devio *d, struct vn_dma_mem *m)
{
	return vfio_iova_unmap(&to_group(d)->dev, m, type1_unmap);
}

/*
 * No-IOMMU: pin the pages (mlock) and read their physical addresses from
 * /proc/self/pagemap (Documentation/admin-guide/mm/pagemap.rst: bit 63 page
 * present, bits 0-54 the PFN, reported as 0 without CAP_SYS_ADMIN).
 * mlock keeps pages resident; hugetlb pages also do not migrate, which is
 * why huge pages are the safer backing in this mode.
 */
#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)

static int pagemap_fill(const struct vn_dma_mem *m, uint64_t *tbl)
{
	uint64_t base = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t n = m->len / m->page_size;
	int fd, r = 0;

	fd = vfio_open(VFIO_ROOT_PROC, O_RDONLY, "self/pagemap");
	if (fd < 0)
		return fd;
	for (size_t i = 0; i < n; i++) {
		uint64_t va = (uint64_t)(uintptr_t)m->va + i * m->page_size, e;
		ssize_t got = pread(fd, &e, sizeof(e), (off_t)(va / base * sizeof(e)));

		if (got != (ssize_t)sizeof(e)) {
			r = vn_err(got < 0 ? -errno : -EIO, "vfio: cannot read pagemap for %#llx",
				   (unsigned long long)va);
			break;
		}
		if (!(e & PM_PRESENT)) {
			r = vn_err(-EFAULT, "vfio: page at %#llx is not present after mlock",
				   (unsigned long long)va);
			break;
		}
		if ((e & PM_PFN_MASK) == 0) {
			r = vn_err(-EPERM, "vfio: pagemap hides physical addresses: no-IOMMU mode needs CAP_SYS_ADMIN");
			break;
		}
		tbl[i] = (e & PM_PFN_MASK) * base;
	}
	close(fd);
	return r;
}

static int noiommu_dma_map(struct vn_devio *d, struct vn_dma_mem *m)
{
	uint64_t *tbl;
	int r;

	if (m->mapped)
		return vn_err(-EBUSY, "vfio: DMA region already mapped");
	if (m->page_size == 0 || m->len % m->page_size)
		return vn_err(-EINVAL, "vfio: DMA region is not made of whole pages");
	tbl = calloc(m->len / m->page_size, sizeof(*tbl));
	if (!tbl)
		return vn_err(-ENOMEM, "vfio: out of memory");
	if (mlock(m->va, m->len) < 0) {
		r = vn_dma_pin_err(-errno, m, "vfio: mlock");
		free(tbl);
		return r;
	}
	r = pagemap_fill(m, tbl);
	if (r) {
		munlock(m->va, m->len);
		free(tbl);
		return r;
	}
	m->page_iova = tbl;
	m->mapped = true;
	return 0;
}

static int noiommu_dma_unmap(struct vn_devio *d, struct vn_dma_mem *m)
{
	if (!m->mapped)
		return vn_err(-EINVAL, "vfio: DMA region is not mapped");
	munlock(m->va, m->len);
	free(m->page_iova);
	m->page_iova = NULL;
	m->mapped = false;
	return 0;
}

/* Release in the reverse order of group_setup(); safe on a partial setup. */
static void group_release(struct vfio_group *g)
{
	vfio_dev_fini(&g->dev);
	if (g->attached)
		vfio_ioctl(g->group, VFIO_GROUP_UNSET_CONTAINER, NULL);
	if (g->group >= 0)
		close(g->group);
	if (g->container >= 0)
		close(g->container);
	free(g);
}

static void group_close(struct vn_devio *d)
{
	group_release(to_group(d));
}

static const struct vn_devio_ops type1_ops = {
	VFIO_DEV_OPS,
	.dma_map = group_dma_map,
	.dma_unmap = group_dma_unmap,
	.close = group_close,
};

static const struct vn_devio_ops noiommu_ops = {
	VFIO_DEV_OPS,
	.dma_map = noiommu_dma_map,
	.dma_unmap = noiommu_dma_unmap,
	.close = group_close,
};

static int group_setup(struct vfio_group *g, const char *bdf, bool noiommu)
{
	unsigned num;
	int r, fd;

	r = vfio_sysfs_group(bdf, &num);
	if (r == -ENOENT)
		return vn_err(r, "%s has no IOMMU group", bdf);
	if (r)
		return r;
	r = container_open(g, noiommu);
	if (r)
		return r;
	r = group_open(g, num, bdf, noiommu);
	if (r)
		return r;
	r = vfio_ioctl_val(g->container, VFIO_SET_IOMMU, noiommu ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_SET_IOMMU(%s) failed", noiommu ? "no-IOMMU" : "type1v2");
	if (!noiommu) {
		r = type1_ranges(g);
		if (r)
			return r;
	}
	/* VFIO uAPI: the device is named by its sysfs name. */
	fd = vfio_ioctl(g->group, VFIO_GROUP_GET_DEVICE_FD, (void *)bdf);
	if (fd < 0) {
		char devpath[64], drv[64];

		snprintf(devpath, sizeof(devpath), "bus/pci/devices/%s", bdf);
		vfio_sysfs_driver(devpath, drv, sizeof(drv));
		return vn_err(fd, "vfio: cannot get %s from group %u (bound to %s)", bdf, num,
			      drv[0] ? drv : "no driver");
	}
	r = vfio_dev_init(&g->dev, fd);
	if (r)
		close(fd);
	return r;
}

int vfio_group_open(const char *bdf, bool noiommu, struct vn_devio **out)
{
	struct vfio_group *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return vn_err(-ENOMEM, "vfio: out of memory");
	g->container = g->group = g->dev.fd = -1;
	r = group_setup(g, bdf, noiommu);
	if (r) {
		group_release(g);
		return r;
	}
	g->dev.base.ops = noiommu ? &noiommu_ops : &type1_ops;
	g->dev.base.access = noiommu ? "vfio-noiommu" : "vfio-group";
	if (noiommu)
		vn_warn("%s is used WITHOUT an IOMMU (no-IOMMU mode): the device can DMA anywhere in "
			"memory, and a bug or a malicious device can corrupt the whole system",
			bdf);
	*out = &g->dev.base;
	return 0;
}
