/* SPDX-License-Identifier: MIT */
/*
 * VFIO cdev + iommufd backend up to the ioctl boundary: against the fake
 * kernel of vfio_fake_kernel.c and a fake sysfs/dev tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "iommu/devio.h"
#include "iommu/vfio.h"
#include "iommu/vfio_uapi.h"
#include "log.h"
#include "vfio_fake.h"

static void test_cdev_staged_undo(void **state)
{
	static const struct {
		unsigned long req;
		bool ioas; /* IOAS_ALLOC had succeeded */
	} steps[] = {
		{ VFIO_DEVICE_BIND_IOMMUFD, false }, { IOMMU_IOAS_ALLOC, false },
		{ VFIO_DEVICE_ATTACH_IOMMUFD_PT, true }, { IOMMU_IOAS_IOVA_RANGES, true },
		{ VFIO_DEVICE_GET_INFO, true },
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct vn_devio *d = NULL;

		fk.fail_req = steps[i].req;
		fk.log[0] = '\0';
		fk.destroys = 0;
		assert_true(vfio_cdev_open(BDF, &d) < 0);
		assert_null(d);
		assert_non_null(strstr(fk.log, "FAIL"));
		assert_int_equal(fk.destroys, steps[i].ioas);
		assert_int_equal(count_fds(), fake_fds_before);
	}
}

static void test_cdev_sequence(void **state)
{
	struct vn_devio *d;
	struct vn_dma_mem m;
	int dev = open(fake_path("dev/vfio/devices/vfio0"), O_RDWR | O_CLOEXEC);
	uint32_t v = 0xdeadbeef, got = 0;

	fk.ranges_grow = true; /* exercise the retry of the two-call pattern */
	assert_int_equal(vfio_cdev_open(BDF, &d), 0);
	assert_string_equal(d->access, "vfio-cdev");
	assert_string_equal(fk.log, "BIND IOAS_ALLOC ATTACH RANGES RANGES RANGES DEVICE_INFO ");
	assert_int_equal(count_fds(), fake_fds_before + 3); /* cdev, iommufd, and our dev */

	/* The cdev fd is the device fd. */
	assert_int_equal(vn_devio_write(d, VFIO_PCI_CONFIG_REGION_INDEX, 4, &v, 4), 0);
	assert_int_equal(pread(dev, &got, 4, VFIO_PCI_CONFIG_REGION_INDEX * REGION_STRIDE + 4), 4);
	assert_int_equal(got, v);

	assert_int_equal(vn_dma_alloc(&m, 5000, "vnet-test-cdev"), 0);
	assert_int_equal(d->ops->dma_map(d, &m), 0);
	assert_int_equal(fk.ioas_map.size, sizeof(fk.ioas_map));
	assert_int_equal(fk.ioas_map.flags,
			 IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE);
	assert_int_equal(fk.ioas_map.ioas_id, IOAS_ID);
	assert_int_equal(fk.ioas_map.user_va, (uintptr_t)m.va);
	assert_int_equal(fk.ioas_map.length, m.len);
	assert_int_equal(fk.ioas_map.iova, m.iova);
	assert_int_equal(m.iova, 0x200000);
	assert_int_equal(d->ops->dma_unmap(d, &m), 0);
	assert_int_equal(fk.unmap_iova, fk.ioas_map.iova);
	assert_int_equal(fk.unmap_size, m.len);
	vn_dma_free(&m);

	d->ops->close(d);
	assert_int_equal(fk.destroys, 1);
	close(dev);
}

static void test_cdev_missing(void **state)
{
	struct vn_devio *d = NULL;

	fake_unlink("dev/iommu");
	assert_int_equal(vfio_cdev_open(BDF, &d), -ENOENT);
	assert_non_null(strstr(vn_err_msg(), "dev/iommu"));
	assert_null(d);
	assert_string_equal(fk.log, "");
}

static void test_devio_dispatch(void **state)
{
	struct vn_devio *d;
	struct vn_uri u;

	/* An IOMMU-backed device: drop the no-IOMMU node of the fixture. */
	fake_unlink("dev/vfio/noiommu-7");
	assert_int_equal(vn_uri_parse("vfio:00:04.0", &u), 0);
	assert_int_equal(vn_devio_open(&u, VNET_VFIO_AUTO, &d), 0);
	assert_string_equal(d->access, "vfio-cdev");
	d->ops->close(d);
	assert_int_equal(vn_uri_parse("vfio:00:04.0?mode=group", &u), 0);
	assert_int_equal(vn_devio_open(&u, VNET_VFIO_AUTO, &d), 0);
	assert_string_equal(d->access, "vfio-group");
	d->ops->close(d);
	assert_int_equal(vn_devio_open(&u, VNET_VFIO_CDEV, &d), 0);
	assert_string_equal(d->access, "vfio-cdev");
	d->ops->close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cdev_sequence, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_cdev_staged_undo, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_cdev_missing, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_devio_dispatch, fake_kernel_setup, fake_kernel_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
