/* SPDX-License-Identifier: MIT */
/*
 * DMA memory (memfd-backed, shared mappings) and the IOVA allocator.
 */
#include "iommu/dma.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/*
 * One attempt at a backing: hugetlb or ordinary pages. Returns 0 with m
 * filled, or -errno with nothing left open or mapped.
 */
static int dma_try(struct vn_dma_mem *m, size_t len, const char *name, bool huge)
{
	const char *what = "memfd_create";
	size_t pgsz;
	struct stat st;
	void *va;
	int fd, r;

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | (huge ? MFD_HUGETLB : 0));
	if (fd < 0)
		return vn_err(-errno, "dma: %s(%s%s) failed", what, name, huge ? ", MFD_HUGETLB" : "");
	if (huge) {
		/* A hugetlbfs file reports the huge page size as its block size. */
		what = "fstat";
		if (fstat(fd, &st) < 0)
			goto fail_errno;
		pgsz = (size_t)st.st_blksize;
		/* Never spend a whole huge page on a smaller region. */
		if (len < pgsz) {
			r = vn_err(-E2BIG, "dma: %zu bytes is less than one %zu-byte huge page", len, pgsz);
			goto fail;
		}
	} else {
		pgsz = (size_t)sysconf(_SC_PAGESIZE);
	}
	if (len > SIZE_MAX - (pgsz - 1)) {
		r = vn_err(-ENOMEM, "dma: %zu bytes cannot be rounded to whole pages", len);
		goto fail;
	}
	len = VN_ALIGN_UP(len, pgsz);
	what = "ftruncate";
	if (ftruncate(fd, (off_t)len) < 0)
		goto fail_errno;
	/* memfd_create(2): the size is final. A vfio-user server that maps the
	 * memory may insist on this seal, or a client could truncate the file
	 * and make the server's next access a SIGBUS. */
	what = "F_ADD_SEALS";
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail_errno;
	/* MAP_SHARED: the memfd pages themselves are what a vfio-user server maps
	 * and VFIO pins. MAP_POPULATE faults them in now rather than on the data
	 * path; a fresh memfd reads as zeroes, so the region starts zeroed. */
	what = "mmap";
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (va == MAP_FAILED)
		goto fail_errno;
	*m = (struct vn_dma_mem){
		.va = va, .len = len, .fd = fd, .page_size = pgsz, .huge = huge,
	};
	return 0;
fail_errno:
	r = vn_err(-errno, "dma: %s of %zu bytes (%s pages) failed", what, len, huge ? "huge" : "ordinary");
fail:
	close(fd);
	return r;
}

int vn_dma_alloc(struct vn_dma_mem *m, size_t len, const char *name)
{
	int r;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (len == 0)
		return vn_err(-EINVAL, "dma: zero-length region");
	if (!name)
		name = "vnet-dma";
	r = dma_try(m, len, name, true);
	if (r == 0) {
		vn_debug("dma: %s: %zu bytes on %zu-byte huge pages", name, m->len, m->page_size);
		return 0;
	}
	vn_debug("dma: %s: huge pages unavailable (%s), using ordinary pages", name, vn_err_msg());
	r = dma_try(m, len, name, false);
	if (r == 0)
		vn_debug("dma: %s: %zu bytes on %zu-byte pages", name, m->len, m->page_size);
	return r;
}

void vn_dma_free(struct vn_dma_mem *m)
{
	if (!m->va)
		return;
	if (m->mapped) {
		/* A caller bug, not a reason to leak: the kernel keeps its own
		 * references to pinned pages until the mapping goes away. */
		vn_warn("dma: freeing %zu bytes that are still mapped for the device", m->len);
		free(m->page_iova);
	}
	munmap(m->va, m->len);
	close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

/* ---- IOVA allocator: two sorted arrays of inclusive ranges. ---- */

/* Make room for one more entry in a range array. */
static int ranges_reserve(struct vn_iova_range **v, unsigned n, unsigned *cap)
{
	struct vn_iova_range *p;
	unsigned ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap <= *cap)
		return -ENOMEM;
	p = reallocarray(*v, ncap, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

/* Insert at idx; the caller reserved room. */
static void ranges_insert(struct vn_iova_range *v, unsigned *n, unsigned idx, struct vn_iova_range r)
{
	memmove(&v[idx + 1], &v[idx], (*n - idx) * sizeof(*v));
	v[idx] = r;
	(*n)++;
}

static void ranges_remove(struct vn_iova_range *v, unsigned *n, unsigned idx)
{
	memmove(&v[idx], &v[idx + 1], (*n - idx - 1) * sizeof(*v));
	(*n)--;
}

/* First index whose start is above iova. */
static unsigned ranges_upper(const struct vn_iova_range *v, unsigned n, uint64_t iova)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (v[mid].start <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int vn_iova_init(struct vn_iova_alloc *a, const struct vn_iova_range *ranges, unsigned n)
{
	memset(a, 0, sizeof(*a));
	if (!ranges || n == 0)
		return vn_err(-EINVAL, "iova: no usable IOVA ranges");
	for (unsigned i = 0; i < n; i++) {
		if (ranges[i].start > ranges[i].last)
			return vn_err(-EINVAL, "iova: empty range [%#llx, %#llx]",
				      (unsigned long long)ranges[i].start,
				      (unsigned long long)ranges[i].last);
		if (i && ranges[i].start <= ranges[i - 1].last)
			return vn_err(-EINVAL, "iova: range [%#llx, %#llx] overlaps or precedes the one before",
				      (unsigned long long)ranges[i].start,
				      (unsigned long long)ranges[i].last);
	}
	a->free = calloc(n, sizeof(*a->free));
	if (!a->free)
		return vn_err(-ENOMEM, "iova: out of memory");
	a->cap = n;
	for (unsigned i = 0; i < n; i++) {
		/* Adjacent ranges become one, keeping the free list canonical. */
		if (a->n_free && a->free[a->n_free - 1].last + 1 == ranges[i].start)
			a->free[a->n_free - 1].last = ranges[i].last;
		else
			a->free[a->n_free++] = ranges[i];
	}
	return 0;
}

void vn_iova_fini(struct vn_iova_alloc *a)
{
	free(a->free);
	free(a->used);
	memset(a, 0, sizeof(*a));
}

int vn_iova_get(struct vn_iova_alloc *a, uint64_t size, uint64_t align, uint64_t *iova)
{
	unsigned i;
	uint64_t s = 0;

	if (size == 0 || align == 0 || (align & (align - 1)))
		return vn_err(-EINVAL, "iova: bad request (size %#llx, alignment %#llx)",
			      (unsigned long long)size, (unsigned long long)align);
	/* Room first, so that nothing can fail once the lists change. */
	if (ranges_reserve(&a->free, a->n_free, &a->cap) ||
	    ranges_reserve(&a->used, a->n_used, &a->used_cap))
		return vn_err(-ENOMEM, "iova: out of memory");
	for (i = 0; i < a->n_free; i++) {
		struct vn_iova_range *f = &a->free[i];

		if (f->start > UINT64_MAX - (align - 1))
			continue; /* aligning up would wrap */
		s = VN_ALIGN_UP(f->start, align);
		if (s <= f->last && size - 1 <= f->last - s)
			break;
	}
	if (i == a->n_free)
		return vn_err(-ENOSPC, "iova: no free range of %#llx bytes aligned to %#llx",
			      (unsigned long long)size, (unsigned long long)align);

	struct vn_iova_range f = a->free[i];
	struct vn_iova_range got = { s, s + (size - 1) };
	bool left = f.start < got.start, right = got.last < f.last;

	if (left)
		a->free[i].last = got.start - 1;
	if (right) {
		struct vn_iova_range r = { got.last + 1, f.last };

		if (left)
			ranges_insert(a->free, &a->n_free, i + 1, r);
		else
			a->free[i] = r;
	}
	if (!left && !right)
		ranges_remove(a->free, &a->n_free, i);
	ranges_insert(a->used, &a->n_used, ranges_upper(a->used, a->n_used, got.start), got);
	*iova = got.start;
	return 0;
}

int vn_iova_put(struct vn_iova_alloc *a, uint64_t iova, uint64_t size)
{
	struct vn_iova_range e = { iova, iova + (size - 1) };
	unsigned u, i;
	bool prev, next;

	if (size == 0 || iova > UINT64_MAX - (size - 1))
		return vn_err(-EINVAL, "iova: bad extent (%#llx, %#llx bytes)", (unsigned long long)iova,
			      (unsigned long long)size);
	u = ranges_upper(a->used, a->n_used, iova);
	if (u == 0 || a->used[u - 1].start != e.start || a->used[u - 1].last != e.last)
		return vn_err(-EINVAL, "iova: [%#llx, %#llx] was not allocated (double or foreign put)",
			      (unsigned long long)e.start, (unsigned long long)e.last);
	if (ranges_reserve(&a->free, a->n_free, &a->cap))
		return vn_err(-ENOMEM, "iova: out of memory");
	ranges_remove(a->used, &a->n_used, u - 1);

	/* Coalesce with the free neighbours so that fragmentation heals. */
	i = ranges_upper(a->free, a->n_free, iova);
	prev = i > 0 && a->free[i - 1].last + 1 == e.start;
	next = i < a->n_free && e.last + 1 == a->free[i].start;
	if (prev && next) {
		a->free[i - 1].last = a->free[i].last;
		ranges_remove(a->free, &a->n_free, i);
	} else if (prev) {
		a->free[i - 1].last = e.last;
	} else if (next) {
		a->free[i].start = e.start;
	} else {
		ranges_insert(a->free, &a->n_free, i, e);
	}
	return 0;
}

int vn_dma_pin_err(int rc, const struct vn_dma_mem *m, const char *what)
{
	struct rlimit rl;
	char lim[64] = "";

	if (rc != -ENOMEM && rc != -EPERM && rc != -EAGAIN)
		return vn_err(rc, "%s of %zu bytes failed: %s", what, m->len, strerror(-rc));
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		snprintf(lim, sizeof(lim), " is %llu KiB", (unsigned long long)(rl.rlim_cur >> 10));
	return vn_err(rc, "%s of %zu bytes failed: %s (pinned memory counts against "
		      "RLIMIT_MEMLOCK, which%s: raise it, e.g. ulimit -l, or grant CAP_IPC_LOCK)",
		      what, m->len, strerror(-rc), lim[0] ? lim : " may be too low");
}
