/* SPDX-License-Identifier: MIT */
/* DMA memory: allocation, backing, translation, and no fd or mapping leaked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "compiler.h"
#include "iommu/dma.h"


/* Lines of /proc/self/maps that mention name. */
static int count_maps(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, name) != NULL;
	fclose(f);
	return n;
}

/* Nothing named name is open or mapped, and the fd count is back to fds. */
static void assert_clean(int fds, const char *name)
{
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_maps(name), 0);
}

static void test_lifecycle(void **state)
{
	const char *name = "vnet-test-life";
	long pg = sysconf(_SC_PAGESIZE);
	int fds = count_fds();
	struct vn_dma_mem m;
	char link[64], target[128];
	unsigned char back[16];
	ssize_t n;

	assert_int_equal(vn_dma_alloc(&m, 10000, name), 0);
	/* Less than a huge page: ordinary pages, rounded up. */
	assert_false(m.huge);
	assert_int_equal(m.page_size, pg);
	assert_int_equal(m.len, VN_ALIGN_UP(10000, (size_t)pg));
	assert_null(m.page_iova);
	assert_false(m.mapped);
	assert_int_equal(count_fds(), fds + 1);
	assert_int_equal(count_maps(name), 1);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", m.fd);
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_non_null(strstr(target, "memfd:vnet-test-life"));
	assert_int_equal(fcntl(m.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* Its size is final (a server may insist): it cannot shrink or grow. */
	assert_int_equal(fcntl(m.fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_int_equal(ftruncate(m.fd, 0), -1);
	assert_int_equal(errno, EPERM);

	/* Zeroed, writable, and shared with the memfd (what a server maps). */
	for (size_t i = 0; i < m.len; i++)
		assert_int_equal(((unsigned char *)m.va)[i], 0);
	memcpy((char *)m.va + 4096, "dma-bytes-here!", 16);
	assert_int_equal(pread(m.fd, back, sizeof(back), 4096), 16);
	assert_memory_equal(back, "dma-bytes-here!", 16);

	vn_dma_free(&m);
	assert_null(m.va);
	assert_int_equal(m.fd, -1);
	assert_clean(fds, name);
	vn_dma_free(&m); /* twice is harmless */
	assert_clean(fds, name);
}

static void test_error_paths(void **state)
{
	const char *name = "vnet-test-err";
	int fds = count_fds();
	struct vn_dma_mem m;

	assert_int_equal(vn_dma_alloc(&m, 0, name), -EINVAL);
	assert_null(m.va);
	assert_clean(fds, name);
	/* Rounding up to a page would wrap. */
	assert_int_equal(vn_dma_alloc(&m, SIZE_MAX, name), -ENOMEM);
	assert_clean(fds, name);
	/* The file can be sized, but no address space holds the mapping:
	 * both backings fail at mmap and close their memfd. */
	assert_true(vn_dma_alloc(&m, (size_t)1 << 62, name) < 0);
	assert_null(m.va);
	assert_clean(fds, name);
	vn_dma_free(&m); /* a failed alloc leaves nothing to free */
}

static void test_ftruncate_fails(void **state)
{
	const char *name = "vnet-test-fsize";
	int fds = count_fds();
	struct rlimit old, lim;
	struct vn_dma_mem m;
	void (*oldsig)(int);

	/* RLIMIT_FSIZE makes ftruncate fail with EFBIG (SIGXFSZ ignored). */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 65536;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int r = vn_dma_alloc(&m, 1 << 20, name);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(r, -EFBIG);
	assert_clean(fds, name);
}

static long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

static void test_huge_when_available(void **state)
{
	long hp_kb = meminfo("Hugepagesize:"), free_hp = meminfo("HugePages_Free:");
	int fds = count_fds();
	struct vn_dma_mem m;

	/* Huge pages are never required; only check them where the host has some. */
	if (hp_kb <= 0 || free_hp < 2)
		skip();
	assert_int_equal(vn_dma_alloc(&m, (size_t)hp_kb * 1024 + 1, "vnet-test-huge"), 0);
	assert_true(m.huge);
	assert_int_equal(m.page_size, (size_t)hp_kb * 1024);
	assert_int_equal(m.len, 2 * m.page_size);
	vn_dma_free(&m);
	assert_clean(fds, "vnet-test-huge");
}

static void test_translation(void **state)
{
	struct vn_dma_mem m;
	uint64_t *tbl;

	assert_int_equal(vn_dma_alloc(&m, 3 * 4096, "vnet-test-xlate"), 0);
	/* IOMMU modes: one contiguous range. */
	m.iova = 0x100000000ULL;
	assert_int_equal(vn_dma_iova(&m, (char *)m.va + 5000), 0x100000000ULL + 5000);
	assert_int_equal(vn_dma_contig(&m), m.len);
	/* No-IOMMU: one bus address per page. */
	tbl = calloc(m.len / m.page_size, sizeof(*tbl));
	assert_non_null(tbl);
	for (size_t i = 0; i < m.len / m.page_size; i++)
		tbl[i] = 0x7000000ULL - i * m.page_size * 4;
	m.page_iova = tbl;
	assert_int_equal(vn_dma_iova(&m, (char *)m.va + m.page_size + 12),
			 0x7000000ULL - m.page_size * 4 + 12);
	assert_int_equal(vn_dma_contig(&m), m.page_size);
	/* Freed while still mapped: a warning, and the table is not leaked
	 * (ASan and valgrind would report it). */
	m.mapped = true;
	vn_dma_free(&m);
	assert_null(m.va);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_error_paths),
		cmocka_unit_test(test_ftruncate_fails),
		cmocka_unit_test(test_huge_when_available),
		cmocka_unit_test(test_translation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
