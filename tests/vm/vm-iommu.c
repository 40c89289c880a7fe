/* SPDX-License-Identifier: MIT */
/*
 * vm-iommu: reads back, from outside, what a running libvnet process let its
 * device reach through the IOMMU (tests/vm/scenarios.sh, scenario iommu).
 *
 *   vm-iommu PID
 *
 * It borrows the process's IOMMU descriptor (/dev/iommu for cdev + iommufd,
 * the /dev/vfio/vfio container for group + type1) with pidfd_getfd(2) and
 * asks the kernel, not libvnet, what is mapped:
 *   1. a scan of the IOVA window [0, SCAN_END): a fixed-address map of a
 *      scratch page fails with EEXIST exactly where a mapping exists (iommufd
 *      iopt_check_iova(); type1 vfio_dma_do_map()); 2 MiB probes first, then
 *      4 KiB probes inside the 2 MiB blocks that are in use;
 *   2. then, at the end (destructive: the process's device loses its DMA),
 *      an unmap of everything, which returns how many bytes were mapped in
 *      all (IOMMU_IOAS_UNMAP over [0, 2^64); VFIO_DMA_UNMAP_FLAG_ALL), so a
 *      mapping outside the scanned window cannot go unseen.
 * The process's DMA memory is its memfds named vnet-* (libvnet/iommu/dma.c:
 * rings and packet buffers only). The check passes when the mapped extents
 * are exactly those memfds, one contiguous extent each, and nothing else.
 *
 * With a no-IOMMU container there is nothing to read back: it says so, and
 * exits 3, so that the scenario can tell that case from a failure (exit 1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "iommu/vfio_uapi.h"

#define BLOCK (2u << 20)
#define PAGE 4096u
#define SCAN_END (1ull << 30)
#define MAX_EXTENTS 64
#define MAX_IOAS_ID 64

struct iommu {
	int fd;
	bool iommufd;
	uint32_t ioas;
	void *scratch; /* BLOCK bytes, the memory every probe maps */
};

struct extent {
	uint64_t start, len;
};

static int probe_map(const struct iommu *m, uint64_t iova, uint64_t len)
{
	if (m->iommufd) {
		struct iommu_ioas_map map = {
			.size = sizeof(map), .ioas_id = m->ioas,
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.user_va = (uintptr_t)m->scratch, .length = len, .iova = iova,
		};

		return ioctl(m->fd, IOMMU_IOAS_MAP, &map) ? -errno : 0;
	}
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)m->scratch, .iova = iova, .size = len,
	};

	return ioctl(m->fd, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

/* Unmap [iova, iova + len); len UINT64_MAX: everything. Bytes unmapped, or -errno. */
static int64_t unmap(const struct iommu *m, uint64_t iova, uint64_t len)
{
	if (m->iommufd) {
		struct iommu_ioas_unmap u = {
			.size = sizeof(u), .ioas_id = m->ioas, .iova = iova, .length = len,
		};

		return ioctl(m->fd, IOMMU_IOAS_UNMAP, &u) ? -errno : (int64_t)u.length;
	}
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = len };

	if (len == UINT64_MAX) {
		u.flags = VFIO_DMA_UNMAP_FLAG_ALL;
		u.iova = u.size = 0;
	}
	return ioctl(m->fd, VFIO_IOMMU_UNMAP_DMA, &u) ? -errno : (int64_t)u.size;
}

/* 1: [iova, iova + len) overlaps a mapping; 0: it is free; -errno: the kernel refused. */
static int in_use(const struct iommu *m, uint64_t iova, uint64_t len)
{
	int rc = probe_map(m, iova, len);

	if (rc == -EEXIST)
		return 1;
	if (rc)
		return rc;
	if (unmap(m, iova, len) != (int64_t)len) {
		fprintf(stderr, "vm-iommu: cannot unmap the probe at 0x%" PRIx64 "\n", iova);
		return -EIO;
	}
	return 0;
}

/* EINVAL, EADDRINUSE, ERANGE: outside the IOMMU's usable ranges (reserved,
 * such as the MSI window): nothing can be mapped there. */
static bool unusable(int rc)
{
	return rc == -EINVAL || rc == -EADDRINUSE || rc == -ERANGE;
}

static int probe_failed(uint64_t iova, int rc)
{
	fprintf(stderr, "vm-iommu: probe at 0x%" PRIx64 ": %s\n", iova, strerror(-rc));
	return -1;
}

/* Mapped 4 KiB pages of [0, SCAN_END) as extents; their count, or -1. */
static int scan(const struct iommu *m, struct extent *ex)
{
	int n = 0;
	bool open = false;

	for (uint64_t b = 0; b < SCAN_END; b += BLOCK) {
		int used = in_use(m, b, BLOCK);

		if (used == 0) {
			open = false;
			continue;
		}
		if (used < 0 && !unusable(used))
			return probe_failed(b, used);
		/* In use, or partly unusable: page by page. */
		for (uint64_t p = b; p < b + BLOCK; p += PAGE) {
			int u = in_use(m, p, PAGE);

			if (u < 0 && !unusable(u))
				return probe_failed(p, u);
			if (u != 1) {
				open = false;
				continue;
			}
			if (!open) {
				if (n == MAX_EXTENTS)
					return -1;
				ex[n++] = (struct extent){ p, 0 };
				open = true;
			}
			ex[n - 1].len += PAGE;
		}
	}
	return n;
}

static int pidfd_fd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

/* The IOMMU descriptor of PID and the sizes of its vnet-* memfds (sorted). */
static int inspect(pid_t pid, struct iommu *m, uint64_t *mem, int *nmem)
{
	char dir[64], path[320], link[256];
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), found = 0;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if (pidfd < 0 || !(d = opendir(dir))) {
		fprintf(stderr, "vm-iommu: process %d: %s\n", (int)pid, strerror(errno));
		return -1;
	}
	*nmem = 0;
	while ((e = readdir(d))) {
		ssize_t l;
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		if (l < 0)
			continue;
		link[l] = '\0';
		if (!strncmp(link, "/memfd:vnet-", 12) && stat(path, &st) == 0 &&
		    *nmem < MAX_EXTENTS) {
			int k = (*nmem)++;

			while (k > 0 && mem[k - 1] > (uint64_t)st.st_size) {
				mem[k] = mem[k - 1];
				k--;
			}
			mem[k] = (uint64_t)st.st_size;
		} else if (!strcmp(link, "/dev/iommu") || !strcmp(link, "/dev/vfio/vfio")) {
			m->iommufd = link[5] == 'i';
			m->fd = pidfd_fd(pidfd, atoi(e->d_name));
			if (m->fd < 0) {
				fprintf(stderr, "vm-iommu: pidfd_getfd: %s\n", strerror(errno));
				break;
			}
			found++;
		}
	}
	closedir(d);
	close(pidfd);
	if (found != 1) {
		fprintf(stderr, "vm-iommu: process %d holds %d IOMMU descriptors, not one\n", (int)pid,
			found);
		return -1;
	}
	return 0;
}

/* The IOAS the device is attached to: the one iommufd object that is an IOAS. */
static int find_ioas(struct iommu *m)
{
	int n = 0;

	for (uint32_t id = 1; id <= MAX_IOAS_ID; id++) {
		struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = id };

		if (ioctl(m->fd, IOMMU_IOAS_IOVA_RANGES, &r) == 0 || errno == EMSGSIZE) {
			m->ioas = id;
			n++;
		}
	}
	if (n != 1) {
		fprintf(stderr, "vm-iommu: %d IOAS objects in the iommufd, not one\n", n);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct iommu m = { .fd = -1 };
	struct extent ex[MAX_EXTENTS];
	uint64_t mem[MAX_EXTENTS], want = 0, seen = 0;
	int nmem, n, bad = 0;
	int64_t total;

	if (argc != 2) {
		fprintf(stderr, "usage: vm-iommu PID\n");
		return 2;
	}
	if (inspect((pid_t)atoi(argv[1]), &m, mem, &nmem) || (m.iommufd && find_ioas(&m)))
		return 1;
	if (!m.iommufd && ioctl(m.fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) == 1 &&
	    ioctl(m.fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		printf("no IOMMU: the container is no-IOMMU, the device reaches all memory\n");
		return 3;
	}
	m.scratch = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m.scratch == MAP_FAILED || (n = scan(&m, ex)) < 0)
		return 1;
	printf("%s: %d vnet memfd(s), %d mapped extent(s) below 0x%llx\n",
	       m.iommufd ? "iommufd" : "type1", nmem, n, SCAN_END);
	for (int i = 0; i < n; i++) {
		printf("  iova 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " KiB)\n", ex[i].start,
		       ex[i].start + ex[i].len - 1, ex[i].len >> 10);
		seen += ex[i].len;
	}
	for (int i = 0; i < nmem; i++)
		want += mem[i];
	/* Every extent must be one memfd: same count, and the sorted lengths match. */
	for (int i = 0; i < n; i++) {
		for (int j = i; j > 0 && ex[j - 1].len > ex[j].len; j--) {
			struct extent t = ex[j];

			ex[j] = ex[j - 1];
			ex[j - 1] = t;
		}
	}
	if (n != nmem || nmem == 0) {
		printf("FAIL: %d mapped extents for %d DMA memfds\n", n, nmem);
		bad = 1;
	}
	for (int i = 0; !bad && i < n; i++) {
		if (ex[i].len != mem[i]) {
			printf("FAIL: an extent of %" PRIu64 " bytes, the memfd has %" PRIu64 "\n",
			       ex[i].len, mem[i]);
			bad = 1;
		}
	}
	total = unmap(&m, 0, UINT64_MAX);
	printf("unmapped in all: %" PRId64 " bytes (memfds: %" PRIu64 ", scanned: %" PRIu64 ")\n",
	       total, want, seen);
	if (total != (int64_t)want || total != (int64_t)seen) {
		printf("FAIL: the IOMMU mapped %" PRId64 " bytes, not the %" PRIu64
		       " bytes of DMA memory\n", total, want);
		bad = 1;
	}
	if (!bad)
		printf("OK: the device reaches the DMA memory only\n");
	return bad;
}
