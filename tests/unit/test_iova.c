/* SPDX-License-Identifier: MIT */
/* IOVA allocator: ranges, alignment, exhaustion, fragmentation, bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iommu/dma.h"

#define K 0x1000ULL

/* The free list must equal want[] exactly. */
static void assert_free(const struct vn_iova_alloc *a, const struct vn_iova_range *want, unsigned n)
{
	assert_int_equal(a->n_free, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(a->free[i].start, want[i].start);
		assert_int_equal(a->free[i].last, want[i].last);
	}
}

static void test_init(void **state)
{
	struct vn_iova_alloc a;
	const struct vn_iova_range ok[] = { { 0, K - 1 }, { K, 2 * K - 1 }, { 4 * K, 5 * K - 1 } };
	const struct vn_iova_range merged[] = { { 0, 2 * K - 1 }, { 4 * K, 5 * K - 1 } };
	const struct vn_iova_range empty[] = { { 5, 4 } };
	const struct vn_iova_range overlap[] = { { 0, 2 * K }, { 2 * K, 3 * K } };
	const struct vn_iova_range unsorted[] = { { 4 * K, 5 * K }, { 0, K } };

	/* Adjacent ranges are merged. */
	assert_int_equal(vn_iova_init(&a, ok, 3), 0);
	assert_free(&a, merged, 2);
	vn_iova_fini(&a);
	assert_null(a.free);

	assert_int_equal(vn_iova_init(&a, ok, 0), -EINVAL);
	assert_int_equal(vn_iova_init(&a, NULL, 1), -EINVAL);
	assert_int_equal(vn_iova_init(&a, empty, 1), -EINVAL);
	assert_int_equal(vn_iova_init(&a, overlap, 2), -EINVAL);
	assert_int_equal(vn_iova_init(&a, unsorted, 2), -EINVAL);
	assert_null(a.free);
	vn_iova_fini(&a); /* harmless after a failed init */
}

static void test_alignment_and_ranges(void **state)
{
	/* Like x86: everything but the MSI window 0xfee00000-0xfeefffff. */
	const struct vn_iova_range r[] = { { 0, 0xfedfffffULL }, { 0xfef00000ULL, (1ULL << 39) - 1 } };
	struct vn_iova_alloc a;
	uint64_t i1, i2, i3, i4;

	assert_int_equal(vn_iova_init(&a, r, 2), 0);
	assert_int_equal(vn_iova_get(&a, K, K, &i1), 0);
	assert_int_equal(i1, 0);
	/* 2 MiB aligned: the first 2 MiB boundary after the first page. */
	assert_int_equal(vn_iova_get(&a, 2 << 20, 2 << 20, &i2), 0);
	assert_int_equal(i2, 2 << 20);
	/* An extent that does not fit below the MSI window lands above it. */
	assert_int_equal(vn_iova_get(&a, 0xff000000ULL, K, &i3), 0);
	assert_int_equal(i3, 0xfef00000ULL);
	assert_true(i3 > 0xfeefffffULL);
	/* The gap [4K, 2M) is still there for a small one. */
	assert_int_equal(vn_iova_get(&a, K, K, &i4), 0);
	assert_int_equal(i4, K);
	/* Alignment of 1 is allowed. */
	uint64_t i5;
	assert_int_equal(vn_iova_get(&a, 3, 1, &i5), 0);
	assert_int_equal(i5, 2 * K);
	vn_iova_fini(&a);
}

static void test_exhaustion_and_bad_args(void **state)
{
	const struct vn_iova_range r[] = { { 0x10000, 0x13fff } }; /* 16 KiB */
	struct vn_iova_alloc a;
	uint64_t iova, x[4];

	assert_int_equal(vn_iova_init(&a, r, 1), 0);
	assert_int_equal(vn_iova_get(&a, 0, K, &iova), -EINVAL);
	assert_int_equal(vn_iova_get(&a, K, 0, &iova), -EINVAL);
	assert_int_equal(vn_iova_get(&a, K, 3 * K, &iova), -EINVAL); /* not a power of two */
	assert_int_equal(vn_iova_get(&a, 5 * K, K, &iova), -ENOSPC);
	assert_int_equal(vn_iova_get(&a, UINT64_MAX, K, &iova), -ENOSPC);
	/* Alignment larger than the range start can satisfy. */
	assert_int_equal(vn_iova_get(&a, K, 1ULL << 63, &iova), -ENOSPC);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vn_iova_get(&a, K, K, &x[i]), 0);
	assert_int_equal(a.n_free, 0);
	assert_int_equal(vn_iova_get(&a, 1, 1, &iova), -ENOSPC);
	/* Bad puts. */
	assert_int_equal(vn_iova_put(&a, x[0], 0), -EINVAL);
	assert_int_equal(vn_iova_put(&a, UINT64_MAX, 2), -EINVAL);   /* wraps */
	assert_int_equal(vn_iova_put(&a, 0x20000, K), -EINVAL);      /* foreign */
	assert_int_equal(vn_iova_put(&a, x[0], 2 * K), -EINVAL);     /* wrong size */
	assert_int_equal(vn_iova_put(&a, x[0] + 1, K - 1), -EINVAL); /* inside */
	assert_int_equal(vn_iova_put(&a, x[1], K), 0);
	assert_int_equal(vn_iova_put(&a, x[1], K), -EINVAL); /* double */
	assert_int_equal(a.n_free, 1);
	vn_iova_fini(&a);
}

static void test_top_of_space(void **state)
{
	/* The very end of the 64-bit space: no wrap-around anywhere. */
	const struct vn_iova_range r[] = { { UINT64_MAX - 2 * K + 1, UINT64_MAX } };
	const struct vn_iova_range all[] = { { UINT64_MAX - 2 * K + 1, UINT64_MAX } };
	struct vn_iova_alloc a;
	uint64_t i1, i2;

	assert_int_equal(vn_iova_init(&a, r, 1), 0);
	assert_int_equal(vn_iova_get(&a, K, K, &i1), 0);
	assert_int_equal(vn_iova_get(&a, K, K, &i2), 0);
	assert_int_equal(i2, UINT64_MAX - K + 1);
	assert_int_equal(vn_iova_get(&a, 1, 1, &i1), -ENOSPC);
	assert_int_equal(vn_iova_get(&a, 1, 1ULL << 63, &i1), -ENOSPC);
	assert_int_equal(vn_iova_put(&a, i2, K), 0);
	assert_int_equal(vn_iova_put(&a, UINT64_MAX - 2 * K + 1, K), 0); /* merges with the next */
	assert_free(&a, all, 1);
	vn_iova_fini(&a);
}

static void test_fragmentation_and_coalescing(void **state)
{
	const struct vn_iova_range r[] = { { 0, 8 * K - 1 } };
	struct vn_iova_alloc a;
	uint64_t x[8], big;

	assert_int_equal(vn_iova_init(&a, r, 1), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(vn_iova_get(&a, K, K, &x[i]), 0);
		assert_int_equal(x[i], (uint64_t)i * K);
	}
	/* Free every other page: four holes, none of two pages. */
	for (int i = 0; i < 8; i += 2)
		assert_int_equal(vn_iova_put(&a, x[i], K), 0);
	const struct vn_iova_range holes[] = { { 0, K - 1 }, { 2 * K, 3 * K - 1 }, { 4 * K, 5 * K - 1 },
					      { 6 * K, 7 * K - 1 } };
	assert_free(&a, holes, 4);
	assert_int_equal(vn_iova_get(&a, 2 * K, K, &big), -ENOSPC);
	/* Freeing page 3 joins holes 2 and 4 into [2K, 5K). */
	assert_int_equal(vn_iova_put(&a, x[3], K), 0);
	const struct vn_iova_range joined[] = { { 0, K - 1 }, { 2 * K, 5 * K - 1 }, { 6 * K, 7 * K - 1 } };
	assert_free(&a, joined, 3);
	assert_int_equal(vn_iova_get(&a, 3 * K, K, &big), 0);
	assert_int_equal(big, 2 * K);
	assert_int_equal(vn_iova_put(&a, big, 3 * K), 0);
	/* Merge with both neighbours, then the previous only, then both
	 * (test_top_of_space merges with the next only). */
	assert_int_equal(vn_iova_put(&a, x[5], K), 0); /* [2K,5K)+[5K,6K)+[6K,7K) */
	const struct vn_iova_range step[] = { { 0, K - 1 }, { 2 * K, 7 * K - 1 } };
	assert_free(&a, step, 2);
	assert_int_equal(vn_iova_put(&a, x[7], K), 0); /* prev only */
	assert_int_equal(vn_iova_put(&a, x[1], K), 0); /* both */
	const struct vn_iova_range whole[] = { { 0, 8 * K - 1 } };
	assert_free(&a, whole, 1);
	assert_int_equal(a.n_used, 0);
	assert_int_equal(vn_iova_get(&a, 8 * K, 8 * K, &big), 0);
	assert_int_equal(big, 0);
	vn_iova_fini(&a);
}

static void test_many_extents(void **state)
{
	/* Enough extents to make both arrays grow several times. */
	const struct vn_iova_range r[] = { { 0, (1ULL << 32) - 1 } };
	struct vn_iova_alloc a;
	static uint64_t x[1000];

	assert_int_equal(vn_iova_init(&a, r, 1), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(vn_iova_get(&a, K, K, &x[i]), 0);
	for (int i = 0; i < 1000; i += 2)
		assert_int_equal(vn_iova_put(&a, x[i], K), 0);
	assert_int_equal(a.n_free, 501); /* 500 holes and the tail */
	for (int i = 1; i < 1000; i += 2)
		assert_int_equal(vn_iova_put(&a, x[i], K), 0);
	assert_int_equal(a.n_free, 1);
	assert_int_equal(a.free[0].start, 0);
	assert_int_equal(a.free[0].last, (1ULL << 32) - 1);
	vn_iova_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_alignment_and_ranges),
		cmocka_unit_test(test_exhaustion_and_bad_args),
		cmocka_unit_test(test_top_of_space),
		cmocka_unit_test(test_fragmentation_and_coalescing),
		cmocka_unit_test(test_many_extents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
