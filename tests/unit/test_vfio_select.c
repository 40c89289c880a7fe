/* SPDX-License-Identifier: MIT */
/* VFIO mode selection against a fake sysfs + /dev tree. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iommu/devio.h"
#include "iommu/vfio.h"
#include "log.h"
#include "vfio_fake.h"

#define BDF "0000:00:04.0"

static int setup(void **state)
{
	unsetenv("VNET_VFIO_MODE");
	fake_tree_create();
	return 0;
}

static int teardown(void **state)
{
	unsetenv("VNET_VFIO_MODE");
	fake_tree_destroy();
	return 0;
}

/* What a kernel with IOMMUFD and VFIO cdev shows for a vfio-pci device. */
static void make_cdev_and_group(void)
{
	fake_pci_dev(BDF, "vfio-pci", 7);
	fake_file("dev/vfio/vfio", "");
	fake_file("dev/vfio/7", "");
	fake_file("dev/iommu", "");
	fake_cdev(BDF, 0);
}

/* No-IOMMU: the group exists, its node is /dev/vfio/noiommu-N. */
static void make_noiommu(const char *param)
{
	fake_pci_dev(BDF, "vfio-pci", 3);
	fake_file("dev/vfio/vfio", "");
	fake_file("dev/vfio/noiommu-3", "");
	fake_file("sys/module/vfio/parameters/enable_unsafe_noiommu_mode", param);
}

static enum vnet_vfio_mode pick(int api, const char *uri)
{
	enum vnet_vfio_mode m = 99;

	assert_int_equal(vfio_select_mode(BDF, api, uri, &m), 0);
	return m;
}

/* Selection fails with err and a message containing words. */
static void pick_fails(int api, const char *uri, int err, const char *words)
{
	enum vnet_vfio_mode m = 99;

	vn_err_clear();
	assert_int_equal(vfio_select_mode(BDF, api, uri, &m), err);
	assert_int_equal(m, 99);
	if (!strstr(vn_err_msg(), words))
		fail_msg("message \"%s\" lacks \"%s\"", vn_err_msg(), words);
}

static void test_auto_prefers_cdev(void **state)
{
	make_cdev_and_group();
	assert_int_equal(pick(VNET_VFIO_AUTO, NULL), VNET_VFIO_CDEV);
	/* Without /dev/iommu, or without the cdev node: group. */
	fake_unlink("dev/iommu");
	assert_int_equal(pick(VNET_VFIO_AUTO, NULL), VNET_VFIO_GROUP);
	fake_file("dev/iommu", "");
	fake_unlink("dev/vfio/devices/vfio0");
	assert_int_equal(pick(VNET_VFIO_AUTO, NULL), VNET_VFIO_GROUP);
}

static void test_only_group(void **state)
{
	fake_pci_dev(BDF, "vfio-pci", 12);
	fake_file("dev/vfio/vfio", "");
	fake_file("dev/vfio/12", "");
	assert_int_equal(pick(VNET_VFIO_AUTO, NULL), VNET_VFIO_GROUP);
	pick_fails(VNET_VFIO_CDEV, NULL, -ENODEV, "needs /dev/iommu");
	pick_fails(VNET_VFIO_NOIOMMU, NULL, -ENODEV, "enable_unsafe_noiommu_mode");
}

static void test_noiommu(void **state)
{
	make_noiommu("Y\n");
	/* Even with /dev/iommu and a cdev, a no-IOMMU device is not cdev. */
	fake_file("dev/iommu", "");
	fake_cdev(BDF, 1);
	/* Only on request: URI option, environment or open options. */
	pick_fails(VNET_VFIO_AUTO, NULL, -EPERM, "uses it only when asked (?mode=noiommu");
	assert_int_equal(pick(VNET_VFIO_AUTO, "noiommu"), VNET_VFIO_NOIOMMU);
	assert_int_equal(pick(VNET_VFIO_NOIOMMU, NULL), VNET_VFIO_NOIOMMU);
	setenv("VNET_VFIO_MODE", "noiommu", 1);
	assert_int_equal(pick(VNET_VFIO_AUTO, NULL), VNET_VFIO_NOIOMMU);
	unsetenv("VNET_VFIO_MODE");
	pick_fails(VNET_VFIO_CDEV, NULL, -ENODEV, "no-IOMMU group");
	pick_fails(VNET_VFIO_GROUP, NULL, -ENODEV, "no-IOMMU group");
}

static void test_noiommu_disabled(void **state)
{
	make_noiommu("N\n");
	pick_fails(VNET_VFIO_AUTO, NULL, -ENODEV, "enable_unsafe_noiommu_mode is off");
	pick_fails(VNET_VFIO_NOIOMMU, NULL, -ENODEV, "enable_unsafe_noiommu_mode=Y");
	/* The parameter file absent (vfio without no-IOMMU support). */
	fake_unlink("sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
	pick_fails(VNET_VFIO_AUTO, NULL, -ENODEV, "enable_unsafe_noiommu_mode is off");
}

static void test_not_bound(void **state)
{
	fake_pci_dev(BDF, "virtio-pci", 7);
	fake_file("dev/iommu", "");
	pick_fails(VNET_VFIO_AUTO, NULL, -ENODEV,
		   "0000:00:04.0 is bound to virtio-pci, not vfio-pci: run vnetconf dev bind 0000:00:04.0");
	/* The same advice when a mode is forced. */
	pick_fails(VNET_VFIO_GROUP, NULL, -ENODEV, "bound to virtio-pci, not vfio-pci");
	fake_unlink("sys/bus/pci/devices/" BDF "/driver");
	pick_fails(VNET_VFIO_AUTO, NULL, -ENODEV, "bound to no driver, not vfio-pci");
}

static void test_no_device(void **state)
{
	pick_fails(VNET_VFIO_AUTO, NULL, -ENOENT, "no PCI device 0000:00:04.0");
}

static void test_bound_but_no_interface(void **state)
{
	/* vfio-pci bound, but neither a group node nor a cdev. */
	fake_pci_dev(BDF, "vfio-pci", 7);
	pick_fails(VNET_VFIO_AUTO, NULL, -ENODEV, "neither /dev/vfio/N nor its VFIO cdev");
	pick_fails(VNET_VFIO_GROUP, NULL, -ENODEV, "needs an IOMMU group with /dev/vfio/N");
}

static void test_precedence(void **state)
{
	make_cdev_and_group();
	/* env beats auto; the URI beats env; the API beats both. */
	setenv("VNET_VFIO_MODE", "group", 1);
	assert_int_equal(pick(VNET_VFIO_AUTO, NULL), VNET_VFIO_GROUP);
	assert_int_equal(pick(VNET_VFIO_AUTO, "cdev"), VNET_VFIO_CDEV);
	setenv("VNET_VFIO_MODE", "cdev", 1);
	assert_int_equal(pick(VNET_VFIO_AUTO, "group"), VNET_VFIO_GROUP);
	assert_int_equal(pick(VNET_VFIO_GROUP, "cdev"), VNET_VFIO_GROUP);
	/* An empty variable is the same as none. */
	setenv("VNET_VFIO_MODE", "", 1);
	assert_int_equal(pick(VNET_VFIO_AUTO, NULL), VNET_VFIO_CDEV);
	/* A forced mode that is not available is an error, not a fallback. */
	setenv("VNET_VFIO_MODE", "noiommu", 1);
	pick_fails(VNET_VFIO_AUTO, NULL, -ENODEV, "no-IOMMU mode");
}

static void test_bad_values(void **state)
{
	make_cdev_and_group();
	setenv("VNET_VFIO_MODE", "iommufd", 1);
	pick_fails(VNET_VFIO_AUTO, NULL, -EINVAL, "VNET_VFIO_MODE: unknown VFIO mode \"iommufd\"");
	setenv("VNET_VFIO_MODE", "auto", 1);
	pick_fails(VNET_VFIO_AUTO, NULL, -EINVAL, "want cdev, group or noiommu");
	/* A bad environment value does not matter when the URI decides. */
	assert_int_equal(pick(VNET_VFIO_AUTO, "group"), VNET_VFIO_GROUP);
	pick_fails(VNET_VFIO_AUTO, "Group", -EINVAL, "mode=");
	pick_fails(42, NULL, -EINVAL, "bad VFIO mode 42");
	pick_fails(-1, NULL, -EINVAL, "bad VFIO mode -1");
}

static void test_bad_sysfs(void **state)
{
	/* An iommu_group link that does not name a number. */
	fake_pci_dev(BDF, "vfio-pci", -1);
	fake_mkdir("sys/kernel/iommu_groups/bogus");
	fake_link("sys/bus/pci/devices/" BDF "/iommu_group", "sys/kernel/iommu_groups/bogus");
	fake_file("dev/vfio/vfio", "");
	pick_fails(VNET_VFIO_GROUP, NULL, -ENODEV, "needs an IOMMU group");
}

static void test_devio_open_dispatch(void **state)
{
	struct vn_devio *d = NULL;
	struct vn_uri u;

	assert_int_equal(vn_uri_parse("sim:loopback", &u), 0);
	assert_int_equal(vn_devio_open(&u, VNET_VFIO_AUTO, &d), -EINVAL);
	assert_non_null(strstr(vn_err_msg(), "vn_sim_open"));
	/* vfio: URIs go through mode selection with the URI's mode= option. */
	fake_pci_dev(BDF, "vfio-pci", 7);
	fake_file("dev/vfio/7", "");
	assert_int_equal(vn_uri_parse("vfio:00:04.0?mode=cdev", &u), 0);
	assert_int_equal(vn_devio_open(&u, VNET_VFIO_AUTO, &d), -ENODEV);
	assert_non_null(strstr(vn_err_msg(), "VFIO cdev mode"));
	assert_null(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auto_prefers_cdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noiommu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noiommu_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_but_no_interface, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sysfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devio_open_dispatch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
