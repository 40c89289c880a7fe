/* SPDX-License-Identifier: MIT */
/*
 * The VFIO device fd, shared by the group/type1, no-IOMMU and cdev/iommufd
 * backends: once a backend holds a device fd, regions, interrupts and reset
 * work the same way (linux/vfio.h, "VFIO_DEVICE_*"). Also the IOVA glue of
 * the two IOMMU modes.
 */
#include "iommu/vfio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommu/vfio_uapi.h"
#include "log.h"

/* IOVAs below this are never handed out (see vfio_iova_setup()). */
#define VFIO_IOVA_FLOOR (1ULL << 20)

/* MSI-X allows at most 2048 vectors (PCI 3.0 §6.8.2); nothing routes more. */
#define VFIO_MAX_IRQS 2048

struct vfio_sparse {
	uint64_t off, size;
};

/* What VFIO_DEVICE_GET_REGION_INFO said about one region (size 0: absent). */
struct vfio_region {
	uint32_t flags;  /* VFIO_REGION_INFO_FLAG_* */
	uint64_t size;
	uint64_t offset; /* of the region in the device fd */
	struct vfio_sparse *sparse; /* mmap-able areas when the region has a sparse cap */
	uint32_t n_sparse;
};

struct vfio_map {
	void *base;
	size_t len;
};

static struct vfio_dev *to_dev(struct vn_devio *d)
{
	return VN_CONTAINER_OF(d, struct vfio_dev, base);
}

int vfio_cap_find(const void *buf, uint32_t argsz, uint32_t first, uint16_t id, size_t min_len,
		  const void **cap, uint32_t *cap_len)
{
	const struct vfio_info_cap_header *h;
	uint32_t off = first;

	*cap = NULL;
	*cap_len = 0;
	while (off) {
		if (off < sizeof(*h) || off > argsz || argsz - off < sizeof(*h) || off % 8)
			return vn_err(-EINVAL, "vfio: capability at offset %u lies outside the %u-byte reply",
				      off, argsz);
		h = (const void *)((const char *)buf + off);
		/* Each step must move forward (so a looping chain ends) and stay
		 * inside the reply (so a capability's length is known). */
		if (h->next && (h->next <= off || h->next > argsz))
			return vn_err(-EINVAL, "vfio: capability chain at %u points to %u (reply: %u bytes)",
				      off, h->next, argsz);
		if (h->id == id) {
			uint32_t len = (h->next ? h->next : argsz) - off;

			if (len < min_len)
				return vn_err(-EINVAL, "vfio: capability %u is truncated (%u < %zu bytes)",
					      id, len, min_len);
			*cap = h;
			*cap_len = len;
			return 0;
		}
		off = h->next;
	}
	return 0;
}

/* Read the sparse mmap capability of a region info reply. */
static int region_sparse(struct vfio_region *rg, const struct vfio_region_info *ri)
{
	const struct vfio_region_info_cap_sparse_mmap *sp;
	const void *cap;
	uint32_t len;
	int r;

	r = vfio_cap_find(ri, ri->argsz, ri->cap_offset, VFIO_REGION_INFO_CAP_SPARSE_MMAP,
			  sizeof(*sp), &cap, &len);
	if (r || !cap)
		return r;
	sp = cap;
	if (sp->nr_areas > (len - sizeof(*sp)) / sizeof(sp->areas[0]))
		return vn_err(-EINVAL, "vfio: sparse mmap capability claims %u areas in %u bytes",
			      sp->nr_areas, len);
	rg->sparse = calloc(sp->nr_areas ? sp->nr_areas : 1, sizeof(*rg->sparse));
	if (!rg->sparse)
		return vn_err(-ENOMEM, "vfio: out of memory");
	for (uint32_t i = 0; i < sp->nr_areas; i++) {
		rg->sparse[i].off = sp->areas[i].offset;
		rg->sparse[i].size = sp->areas[i].size;
	}
	rg->n_sparse = sp->nr_areas;
	return 0;
}

/*
 * Read the info of region idx into d->regions[idx]. All regions are read
 * once at open, so that later lookups are plain reads of immutable data,
 * safe from any thread. A region the kernel refuses to describe (vfio-pci
 * says EINVAL for the VGA region of a non-VGA device) is absent.
 */
static int region_load(struct vfio_dev *d, unsigned idx)
{
	struct vfio_region_info *ri, head = { .argsz = sizeof(head), .index = idx };
	struct vfio_region *rg = &d->regions[idx];
	int r;

	r = vfio_ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &head);
	if (r == -EINVAL)
		return 0;
	if (r < 0)
		return vn_err(r, "vfio: VFIO_DEVICE_GET_REGION_INFO(%u) failed", idx);
	ri = &head;
	/* The kernel asks for a larger buffer when capabilities follow. */
	if ((head.flags & VFIO_REGION_INFO_FLAG_CAPS) && head.argsz > sizeof(head)) {
		uint32_t want = head.argsz;

		if (want > 65536)
			return vn_err(-EINVAL, "vfio: region %u info wants %u bytes", idx, want);
		ri = calloc(1, want);
		if (!ri)
			return vn_err(-ENOMEM, "vfio: out of memory");
		ri->argsz = want;
		ri->index = idx;
		r = vfio_ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, ri);
		if (r < 0)
			r = vn_err(r, "vfio: VFIO_DEVICE_GET_REGION_INFO(%u) failed", idx);
		else if (ri->argsz > want)
			r = vn_err(-EAGAIN, "vfio: region %u info grew between two calls", idx);
		else
			r = region_sparse(rg, ri);
		if (r)
			goto out;
	}
	if (ri->size && ri->offset > UINT64_MAX - ri->size) {
		r = vn_err(-EINVAL, "vfio: region %u at %#llx + %#llx wraps", idx,
			   (unsigned long long)ri->offset, (unsigned long long)ri->size);
		goto out;
	}
	rg->flags = ri->flags;
	rg->size = ri->size;
	rg->offset = ri->offset;
out:
	if (ri != &head)
		free(ri);
	return r;
}


int vfio_dev_init(struct vfio_dev *d, int fd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int r;

	r = vfio_ioctl(fd, VFIO_DEVICE_GET_INFO, &info);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_DEVICE_GET_INFO failed");
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
		return vn_err(-ENOTSUP, "vfio: the device is not a PCI device (flags %#x)", info.flags);
	if (info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return vn_err(-EINVAL, "vfio: the device reports only %u regions", info.num_regions);
	/* Only the standard PCI regions are used: BARs, ROM, config, VGA. */
	d->num_regions = VN_MIN(info.num_regions, (uint32_t)VFIO_PCI_NUM_REGIONS);
	d->regions = calloc(d->num_regions, sizeof(*d->regions));
	if (!d->regions)
		return vn_err(-ENOMEM, "vfio: out of memory");
	d->num_irqs = info.num_irqs;
	d->dev_flags = info.flags;
	d->fd = fd;
	for (unsigned i = 0; i < d->num_regions; i++) {
		r = region_load(d, i);
		if (r) {
			d->fd = -1; /* the caller still owns it */
			return r;
		}
	}
	return 0;
}

void vfio_dev_fini(struct vfio_dev *d)
{
	for (unsigned i = 0; i < d->n_maps; i++)
		munmap(d->maps[i].base, d->maps[i].len);
	free(d->maps);
	for (unsigned i = 0; d->regions && i < d->num_regions; i++)
		free(d->regions[i].sparse);
	free(d->regions);
	if (d->fd >= 0)
		close(d->fd);
	if (d->req_on)
		close(d->req_fd);
	d->req_on = false;
	vn_iova_fini(&d->iova);
	d->maps = NULL;
	d->regions = NULL;
	d->n_maps = d->maps_cap = 0;
	d->fd = -1;
}

int vfio_dev_region_info(struct vn_devio *d, unsigned idx, struct vn_region_info *out)
{
	struct vfio_dev *vd = to_dev(d);
	const struct vfio_region *rg;

	memset(out, 0, sizeof(*out));
	if (idx >= vd->num_regions)
		return 0; /* does not exist */
	rg = &vd->regions[idx];
	out->size = rg->size;
	if (rg->flags & VFIO_REGION_INFO_FLAG_READ)
		out->flags |= VN_REGION_READ;
	if (rg->flags & VFIO_REGION_INFO_FLAG_WRITE)
		out->flags |= VN_REGION_WRITE;
	if ((rg->flags & VFIO_REGION_INFO_FLAG_MMAP) && (!rg->sparse || rg->n_sparse))
		out->flags |= VN_REGION_MMAP;
	return 0;
}

/* Region idx when [off, off+len) lies inside it and it allows need, else
 * NULL with vn_err (*err). */
static const struct vfio_region *region_range(const struct vfio_dev *d, unsigned idx, uint64_t off,
					      size_t len, uint32_t need, int *err)
{
	const struct vfio_region *rg = idx < d->num_regions ? &d->regions[idx] : NULL;

	if (!rg || rg->size == 0)
		*err = vn_err(-EINVAL, "vfio: region %u does not exist", idx);
	else if (!(rg->flags & need))
		*err = vn_err(-EACCES, "vfio: region %u is not %s", idx,
			      need == VFIO_REGION_INFO_FLAG_READ ? "readable" : "writable");
	else if (len == 0 || off > rg->size || len > rg->size - off)
		*err = vn_err(-EINVAL, "vfio: access [%#llx, +%zu) outside region %u (%#llx bytes)",
			      (unsigned long long)off, len, idx, (unsigned long long)rg->size);
	else
		return rg;
	return NULL;
}

int vfio_dev_region_read(struct vn_devio *d, unsigned idx, uint64_t off, void *buf, size_t len)
{
	struct vfio_dev *vd = to_dev(d);
	const struct vfio_region *rg;
	ssize_t n;
	int r;

	rg = region_range(vd, idx, off, len, VFIO_REGION_INFO_FLAG_READ, &r);
	if (!rg)
		return r;
	/* VFIO uAPI: a region is accessed with pread at its offset in the
	 * device fd; an aligned 1/2/4/8-byte read is one access of that width. */
	n = pread(vd->fd, buf, len, (off_t)(rg->offset + off));
	if (n != (ssize_t)len)
		return vn_err(n < 0 ? -errno : -EIO, "vfio: read of %zu bytes at %#llx in region %u failed",
			      len, (unsigned long long)off, idx);
	return 0;
}

int vfio_dev_region_write(struct vn_devio *d, unsigned idx, uint64_t off, const void *buf, size_t len)
{
	struct vfio_dev *vd = to_dev(d);
	const struct vfio_region *rg;
	ssize_t n;
	int r;

	rg = region_range(vd, idx, off, len, VFIO_REGION_INFO_FLAG_WRITE, &r);
	if (!rg)
		return r;
	/* VFIO uAPI: pwrite at the region offset; one access per aligned 1/2/4/8 bytes. */
	n = pwrite(vd->fd, buf, len, (off_t)(rg->offset + off));
	if (n != (ssize_t)len)
		return vn_err(n < 0 ? -errno : -EIO, "vfio: write of %zu bytes at %#llx in region %u failed",
			      len, (unsigned long long)off, idx);
	return 0;
}

/* [off, off+len) lies inside a mmap-able part of rg. */
static bool region_mappable(const struct vfio_region *rg, uint64_t off, uint64_t len)
{
	if (!(rg->flags & VFIO_REGION_INFO_FLAG_MMAP) || off > rg->size || len > rg->size - off)
		return false;
	if (!rg->sparse)
		return true;
	for (uint32_t i = 0; i < rg->n_sparse; i++) {
		const struct vfio_sparse *a = &rg->sparse[i];

		if (off >= a->off && a->size <= rg->size && off - a->off <= a->size &&
		    len <= a->size - (off - a->off))
			return true;
	}
	return false;
}

int vfio_dev_region_map(struct vn_devio *d, unsigned idx, uint64_t off, size_t len, void **va)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	struct vfio_dev *vd = to_dev(d);
	const struct vfio_region *rg;
	uint64_t aoff, mlen;
	int prot = 0;
	void *p;

	if (idx >= vd->num_regions)
		return vn_err(-EINVAL, "vfio: region %u does not exist", idx);
	rg = &vd->regions[idx];
	if (len == 0 || len > UINT64_MAX / 2 || off > UINT64_MAX / 2)
		return vn_err(-EINVAL, "vfio: bad mapping request (%#llx, %zu bytes)",
			      (unsigned long long)off, len);
	/* mmap works in whole pages: the page-aligned span must be mappable. */
	aoff = off & ~(pg - 1);
	mlen = VN_ALIGN_UP(off + len, pg) - aoff;
	if (!region_mappable(rg, aoff, mlen))
		return vn_err(-ENOTSUP, "vfio: [%#llx, +%zu) of region %u cannot be mapped",
			      (unsigned long long)off, len, idx);
	if (vd->n_maps == vd->maps_cap) {
		unsigned ncap = vd->maps_cap ? vd->maps_cap * 2 : 4;
		struct vfio_map *m = reallocarray(vd->maps, ncap, sizeof(*m));

		if (!m)
			return vn_err(-ENOMEM, "vfio: out of memory");
		vd->maps = m;
		vd->maps_cap = ncap;
	}
	if (rg->flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (rg->flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;
	/* VFIO uAPI: mmap of the device fd at the region offset maps the BAR. */
	p = mmap(NULL, mlen, prot, MAP_SHARED, vd->fd, (off_t)(rg->offset + aoff));
	if (p == MAP_FAILED)
		return vn_err(-ENOTSUP, "vfio: mmap of region %u failed: %s", idx, strerror(errno));
	vd->maps[vd->n_maps++] = (struct vfio_map){ p, mlen };
	*va = (char *)p + (off - aoff);
	return 0;
}

int vfio_dev_irq_info(struct vn_devio *d, unsigned idx, uint32_t *count)
{
	struct vfio_dev *vd = to_dev(d);
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = idx };
	int r;

	*count = 0;
	if (idx >= vd->num_irqs)
		return 0;
	r = vfio_ioctl(vd->fd, VFIO_DEVICE_GET_IRQ_INFO, &info);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_DEVICE_GET_IRQ_INFO(%u) failed", idx);
	*count = info.count;
	return 0;
}

int vfio_dev_set_irqs(struct vn_devio *d, unsigned idx, unsigned start, unsigned count, const int *fds)
{
	struct vfio_dev *vd = to_dev(d);
	struct vfio_irq_set *set;
	size_t sz;
	int r;

	if (count > VFIO_MAX_IRQS)
		return vn_err(-EINVAL, "vfio: %u interrupt vectors requested", count);
	for (unsigned i = 0; i < count; i++)
		if (fds[i] < -1)
			return vn_err(-EINVAL, "vfio: bad eventfd %d for vector %u", fds[i], start + i);
	sz = sizeof(*set) + (size_t)count * sizeof(int32_t);
	set = calloc(1, sz);
	if (!set)
		return vn_err(-ENOMEM, "vfio: out of memory");
	set->argsz = (uint32_t)sz;
	set->index = idx;
	if (count) {
		/* VFIO uAPI: DATA_EVENTFD + ACTION_TRIGGER routes each vector to
		 * an eventfd; -1 tears that vector's trigger down. */
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		set->start = start;
		set->count = count;
		for (unsigned i = 0; i < count; i++) {
			int32_t fd = fds[i];

			memcpy(set->data + i * sizeof(fd), &fd, sizeof(fd));
		}
	} else {
		/* VFIO uAPI: DATA_NONE + ACTION_TRIGGER with count 0 disables the index. */
		set->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	}
	r = vfio_ioctl(vd->fd, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_DEVICE_SET_IRQS(index %u, vectors %u+%u) failed", idx, start,
			      count);
	return 0;
}

int vfio_dev_gone_fd(struct vn_devio *d, unsigned *events)
{
	struct vfio_dev *vd = to_dev(d);
	uint32_t count;
	int fd, r;

	*events = POLLIN;
	if (vd->req_on)
		return vd->req_fd;
	r = vfio_dev_irq_info(d, VFIO_PCI_REQ_IRQ_INDEX, &count);
	if (r)
		return r;
	if (!count)
		return -ENOTSUP;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return vn_err(-errno, "vfio: eventfd: %s", strerror(errno));
	/* VFIO uAPI: the request index has one vector; vfio-pci signals its
	 * eventfd (repeatedly) while it waits for the driver to let go. */
	r = vfio_dev_set_irqs(d, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &fd);
	if (r) {
		close(fd);
		return r;
	}
	vd->req_fd = fd;
	vd->req_on = true;
	return fd;
}

int vfio_dev_irq_unmask(struct vn_devio *d, unsigned idx, unsigned start, unsigned count)
{
	struct vfio_dev *vd = to_dev(d);
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		/* VFIO uAPI: DATA_NONE + ACTION_UNMASK unmasks [start, start+count)
		 * (vfio-pci masks INTx on every trigger until this). */
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		.index = idx,
		.start = start,
		.count = count,
	};
	int r;

	if (!count || count > VFIO_MAX_IRQS || start > VFIO_MAX_IRQS - count)
		return vn_err(-EINVAL, "vfio: unmask of vectors %u+%u", start, count);
	r = vfio_ioctl(vd->fd, VFIO_DEVICE_SET_IRQS, &set);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_DEVICE_SET_IRQS(index %u, unmask %u+%u) failed", idx,
			      start, count);
	return 0;
}

int vfio_dev_reset(struct vn_devio *d)
{
	struct vfio_dev *vd = to_dev(d);
	int r;

	if (!(vd->dev_flags & VFIO_DEVICE_FLAGS_RESET))
		return vn_err(-ENOTSUP, "vfio: the device offers no reset");
	r = vfio_ioctl(vd->fd, VFIO_DEVICE_RESET, NULL);
	if (r < 0)
		return vn_err(r, "vfio: VFIO_DEVICE_RESET failed");
	return 0;
}

/* ---- IOVA glue of the IOMMU modes ---- */

int vfio_iova_setup(struct vfio_dev *d, struct vn_iova_range *r, unsigned n, uint64_t align)
{
	unsigned k = 0;

	if (align == 0 || (align & (align - 1)))
		return vn_err(-EINVAL, "vfio: IOVA alignment %#llx is not a power of two",
			      (unsigned long long)align);
	/* Keep the lowest IOVAs unmapped, so that a zeroed or near-null
	 * descriptor address faults in the IOMMU instead of hitting a buffer. */
	for (unsigned i = 0; i < n; i++) {
		if (r[i].last < VFIO_IOVA_FLOOR)
			continue;
		r[k].start = VN_MAX(r[i].start, VFIO_IOVA_FLOOR);
		r[k++].last = r[i].last;
	}
	d->iova_align = align;
	return vn_iova_init(&d->iova, r, k);
}

int vfio_iova_map(struct vfio_dev *d, struct vn_dma_mem *m,
		  int (*map)(struct vfio_dev *d, struct vn_dma_mem *m, uint64_t iova))
{
	uint64_t iova;
	int r;

	if (m->mapped)
		return vn_err(-EBUSY, "vfio: DMA region already mapped");
	/* Page-size alignment lets the IOMMU use huge mappings for huge pages. */
	r = vn_iova_get(&d->iova, m->len, VN_MAX((uint64_t)m->page_size, d->iova_align), &iova);
	if (r)
		return r;
	r = map(d, m, iova);
	if (r) {
		vn_iova_put(&d->iova, iova, m->len);
		return r;
	}
	m->iova = iova;
	m->mapped = true;
	return 0;
}

int vfio_iova_unmap(struct vfio_dev *d, struct vn_dma_mem *m,
		    int (*unmap)(struct vfio_dev *d, struct vn_dma_mem *m))
{
	int r;

	if (!m->mapped)
		return vn_err(-EINVAL, "vfio: DMA region is not mapped");
	r = unmap(d, m);
	if (r)
		return r;
	vn_iova_put(&d->iova, m->iova, m->len);
	m->iova = 0;
	m->mapped = false;
	return 0;
}
