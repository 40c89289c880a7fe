/* SPDX-License-Identifier: MIT */
/*
 * DMA memory and IOVA allocation.
 *
 * A struct vn_dma_mem is one memfd-backed, MAP_SHARED region of this process
 * (hugetlb-backed when huge pages can be had, ordinary pages otherwise; huge
 * pages are never required). The memfd is what a vfio-user server maps and
 * what VFIO pins. A device-access backend's dma_map() gives the region its
 * device-visible addresses; the data path then translates in O(1):
 *   - IOMMU modes and vfio-user: one contiguous IOVA range, iova + offset;
 *   - no-IOMMU mode: the device sees physical addresses, so page_iova holds
 *     one bus address per page (read from /proc/self/pagemap after pinning).
 * A DMA buffer must not cross a page boundary when page_iova is set: users
 * lay buffers out with vn_dma_contig() in mind.
 */
#ifndef VN_DMA_H
#define VN_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vn_dma_mem {
	void *va;           /* base in this process */
	size_t len;         /* bytes, a multiple of page_size */
	int fd;             /* the memfd (mapped at file offset 0) */
	size_t page_size;   /* 4096 or the huge page size */
	bool huge;          /* hugetlb-backed */
	uint64_t iova;      /* device address of va; valid when page_iova == NULL */
	uint64_t *page_iova; /* no-IOMMU: bus address of each page, else NULL */
	bool mapped;        /* a backend's dma_map() succeeded (dma_unmap() owed) */
};

/*
 * Allocate len bytes (rounded up to the page size), zeroed. name labels the
 * memfd (seen in /proc/PID/fd). Returns 0 or -errno. The region has no
 * device address until a backend maps it.
 */
int vn_dma_alloc(struct vn_dma_mem *m, size_t len, const char *name);

/* Unmap and close. The region must have been dma_unmap()ed first. */
void vn_dma_free(struct vn_dma_mem *m);

/*
 * Record that pinning m (an IOMMU map, or mlock: both count against
 * RLIMIT_MEMLOCK) failed with rc in step what; when the limit is the
 * likely cause (ENOMEM, EPERM, EAGAIN) the message names it and its value.
 * Returns rc.
 */
int vn_dma_pin_err(int rc, const struct vn_dma_mem *m, const char *what);

/* Device address of a byte inside the region. */
static inline uint64_t vn_dma_iova(const struct vn_dma_mem *m, const void *va)
{
	size_t off = (size_t)((const char *)va - (const char *)m->va);

	if (m->page_iova)
		return m->page_iova[off / m->page_size] + off % m->page_size;
	return m->iova + off;
}

/* Largest span in which a buffer is contiguous for the device. */
static inline size_t vn_dma_contig(const struct vn_dma_mem *m)
{
	return m->page_iova ? m->page_size : m->len;
}

/*
 * IOVA allocator: hands out aligned extents from the usable ranges the
 * kernel reported (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, IOMMU_IOAS_IOVA_RANGES)
 * or, for vfio-user, from the whole 64-bit space above 4 GiB. First fit over
 * a sorted free list; O(free extents) per call, which is the control path.
 */
struct vn_iova_range {
	uint64_t start;
	uint64_t last; /* inclusive, as the kernel reports it */
};

struct vn_iova_alloc {
	struct vn_iova_range *free; /* sorted, non-overlapping, non-adjacent */
	unsigned n_free;
	unsigned cap;
	/* Extents handed out, sorted: put() accepts exactly these, so a double
	 * or foreign put is caught instead of corrupting the free list. */
	struct vn_iova_range *used;
	unsigned n_used;
	unsigned used_cap;
};

/* Returns 0, or -EINVAL for empty/overlapping/unsorted ranges, -ENOMEM. */
int vn_iova_init(struct vn_iova_alloc *a, const struct vn_iova_range *ranges, unsigned n);
void vn_iova_fini(struct vn_iova_alloc *a);
/* size and align (a power of two) > 0. Returns 0, -EINVAL or -ENOSPC. */
int vn_iova_get(struct vn_iova_alloc *a, uint64_t size, uint64_t align, uint64_t *iova);
/* Give back an extent from vn_iova_get(). Returns 0 or -EINVAL (not allocated). */
int vn_iova_put(struct vn_iova_alloc *a, uint64_t iova, uint64_t size);

#endif
