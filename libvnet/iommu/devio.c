/* SPDX-License-Identifier: MIT */
/*
 * vn_devio_open(): pick the device-access backend a URI needs, and for
 * vfio: URIs the kernel VFIO mode (cdev+iommufd, group+type1, no-IOMMU).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/devio.h"
#include "iommu/vfio.h"
#include "log.h"

static const char *const mode_names[] = {
	[VNET_VFIO_AUTO] = "auto",
	[VNET_VFIO_CDEV] = "cdev",
	[VNET_VFIO_GROUP] = "group",
	[VNET_VFIO_NOIOMMU] = "noiommu",
};

static int mode_parse(const char *s, const char *from, enum vnet_vfio_mode *mode)
{
	for (int m = VNET_VFIO_CDEV; m <= VNET_VFIO_NOIOMMU; m++) {
		if (!strcmp(s, mode_names[m])) {
			*mode = (enum vnet_vfio_mode)m;
			return 0;
		}
	}
	return vn_err(-EINVAL, "%s: unknown VFIO mode \"%.32s\" (want cdev, group or noiommu)", from, s);
}

void vfio_probe(const char *bdf, struct vfio_avail *a)
{
	memset(a, 0, sizeof(*a));
	a->has_group = vfio_sysfs_group(bdf, &a->group) == 0;
	a->noiommu_grp = a->has_group && vfio_exists(VFIO_ROOT_DEV, "vfio/noiommu-%u", a->group);
	/* A no-IOMMU device cannot be attached to an IOAS: never cdev mode. */
	a->cdev = !a->noiommu_grp && vfio_exists(VFIO_ROOT_DEV, "iommu") &&
		  vfio_sysfs_cdev(bdf, a->cdev_name, sizeof(a->cdev_name)) == 0 &&
		  vfio_exists(VFIO_ROOT_DEV, "vfio/devices/%s", a->cdev_name);
	a->type1 = a->has_group && !a->noiommu_grp && vfio_exists(VFIO_ROOT_DEV, "vfio/%u", a->group);
	a->noiommu = a->noiommu_grp && vfio_noiommu_enabled();
	vn_err_clear(); /* probing failures are answers, not errors */
}

/* Why nothing (or not the wanted mode) is available, in actionable words. */
static int unavailable(const char *bdf, enum vnet_vfio_mode want, const struct vfio_avail *a)
{
	char devpath[64], drv[64];

	if (!vfio_exists(VFIO_ROOT_SYS, "bus/pci/devices/%s", bdf))
		return vn_err(-ENOENT, "no PCI device %s", bdf);
	snprintf(devpath, sizeof(devpath), "bus/pci/devices/%s", bdf);
	vfio_sysfs_driver(devpath, drv, sizeof(drv));
	if (!drv[0])
		return vn_err(-ENODEV, "%s is bound to no driver, not vfio-pci: run vnetconf dev bind %s",
			      bdf, bdf);
	if (strcmp(drv, "vfio-pci"))
		return vn_err(-ENODEV, "%s is bound to %s, not vfio-pci: run vnetconf dev bind %s", bdf,
			      drv, bdf);
	switch (want) {
	case VNET_VFIO_CDEV:
		return vn_err(-ENODEV, "VFIO cdev mode for %s needs %s", bdf,
			      a->noiommu_grp ? "an IOMMU (the device is in a no-IOMMU group)"
			      : "/dev/iommu and /dev/vfio/devices/vfioN (a kernel with IOMMUFD and VFIO_DEVICE_CDEV)");
	case VNET_VFIO_GROUP:
		return vn_err(-ENODEV, "VFIO group mode for %s needs an IOMMU group with /dev/vfio/N%s", bdf,
			      a->noiommu_grp ? " (the device is in a no-IOMMU group)" : "");
	case VNET_VFIO_NOIOMMU:
		return vn_err(-ENODEV,
			      "VFIO no-IOMMU mode for %s needs the vfio module's enable_unsafe_noiommu_mode=Y and /dev/vfio/noiommu-N",
			      bdf);
	default:
		if (a->noiommu_grp)
			return vn_err(-ENODEV,
				      "%s is in a no-IOMMU group, but the vfio module's enable_unsafe_noiommu_mode is off",
				      bdf);
		return vn_err(-ENODEV, "%s is bound to vfio-pci but neither /dev/vfio/N nor its VFIO cdev exists",
			      bdf);
	}
}

int vfio_select_mode(const char *bdf, int api_mode, const char *uri_mode, enum vnet_vfio_mode *mode)
{
	enum vnet_vfio_mode want = VNET_VFIO_AUTO;
	const char *env = getenv("VNET_VFIO_MODE");
	struct vfio_avail a;
	bool ok;
	int r;

	if (api_mode != VNET_VFIO_AUTO) {
		if (api_mode < VNET_VFIO_CDEV || api_mode > VNET_VFIO_NOIOMMU)
			return vn_err(-EINVAL, "bad VFIO mode %d in the open options", api_mode);
		want = (enum vnet_vfio_mode)api_mode;
	} else if (uri_mode) {
		r = mode_parse(uri_mode, "URI option mode=", &want);
		if (r)
			return r;
	} else if (env && *env) {
		r = mode_parse(env, "VNET_VFIO_MODE", &want);
		if (r)
			return r;
	}
	vfio_probe(bdf, &a);
	switch (want) {
	case VNET_VFIO_CDEV:
		ok = a.cdev;
		break;
	case VNET_VFIO_GROUP:
		ok = a.type1;
		break;
	case VNET_VFIO_NOIOMMU:
		ok = a.noiommu;
		break;
	default:
		/* No-IOMMU mode is never picked for the caller: the device could
		 * DMA anywhere in memory, so it takes an explicit request. */
		if (!a.cdev && !a.type1 && a.noiommu)
			return vn_err(-EPERM,
				      "%s is in a no-IOMMU group: without an IOMMU the device can DMA "
				      "anywhere in memory, so libvnet uses it only when asked "
				      "(?mode=noiommu, VNET_VFIO_MODE=noiommu or vnet_dev_opts.vfio_mode)",
				      bdf);
		want = a.cdev ? VNET_VFIO_CDEV : a.type1 ? VNET_VFIO_GROUP : VNET_VFIO_AUTO;
		ok = want != VNET_VFIO_AUTO;
		break;
	}
	if (!ok)
		return unavailable(bdf, want, &a);
	vn_debug("vfio: %s: %s mode", bdf, mode_names[want]);
	*mode = want;
	return 0;
}

int vn_devio_open(const struct vn_uri *u, int vfio_mode, struct vn_devio **out)
{
	enum vnet_vfio_mode mode;
	int r;

	switch (u->kind) {
	case VN_URI_VFIO_USER:
		return vn_vfio_user_open(u->target, out);
	case VN_URI_VFIO:
		r = vfio_select_mode(u->target, vfio_mode, vn_uri_opt(u, "mode"), &mode);
		if (r)
			return r;
		if (mode == VNET_VFIO_CDEV)
			return vfio_cdev_open(u->target, out);
		return vfio_group_open(u->target, mode == VNET_VFIO_NOIOMMU, out);
	default:
		return vn_err(-EINVAL, "vn_devio_open: sim: URIs are opened by vn_sim_open()");
	}
}
