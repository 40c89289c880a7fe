/* SPDX-License-Identifier: MIT */
/*
 * Driver selection for PCI functions (pci.h): one table, read once at open.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "iommu/devio.h"
#include "log.h"
#include "pci.h"

#define CFG_REGION 7 /* VFIO_PCI_CONFIG_REGION_INDEX */

static const struct {
	uint16_t vendor, device;
	const char *name;
	const struct vn_port_ops *ops;
} drivers[] = {
	/* virtio 1.2 §4.1.2.1: 0x1040 + 1 (net), or the transitional 0x1000,
	 * which also offers the modern interface virtio_pci.c requires. */
	{ 0x1af4, 0x1041, "virtio-net", &vn_virtio_port_ops },
	{ 0x1af4, 0x1000, "virtio-net", &vn_virtio_port_ops },
	/* 82574 GbE Controller Family Datasheet §9.3.3: device ID 0x10d3. */
	{ 0x8086, 0x10d3, "e1000e", &vn_e1000e_port_ops },
};

const char *vn_pci_driver_name(uint16_t vendor, uint16_t device)
{
	for (size_t i = 0; i < VN_ARRAY_SIZE(drivers); i++)
		if (drivers[i].vendor == vendor && drivers[i].device == device)
			return drivers[i].name;
	return NULL;
}

/* "virtio-net 1af4:1041, e1000e 8086:10d3": what the refusal lists. */
static void known(char *buf, size_t sz)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < VN_ARRAY_SIZE(drivers) && at < sz; i++) {
		/* The transitional virtio id is the same driver: name the first id only. */
		if (i && !strcmp(drivers[i].name, drivers[i - 1].name))
			continue;
		at += (size_t)snprintf(buf + at, sz - at, "%s%s %04x:%04x", at ? ", " : "",
				       drivers[i].name, drivers[i].vendor, drivers[i].device);
	}
}

int vn_pci_attach(struct vn_devio *d, const struct vn_uri *u, const struct vnet_dev_opts *o,
		  struct vn_port **out)
{
	uint16_t id[2]; /* PCI 3.0 §6.2.1: vendor ID at 0x00, device ID at 0x02 */
	char list[128];
	int rc = vn_devio_read(d, CFG_REGION, PCI_VENDOR_ID, id, sizeof(id));

	if (rc)
		return rc;
	for (size_t i = 0; i < VN_ARRAY_SIZE(drivers); i++)
		if (drivers[i].vendor == id[0] && drivers[i].device == id[1])
			return drivers[i].ops->attach(d, u, o, out);
	known(list, sizeof(list));
	return vn_err(-ENODEV, "%s: %04x:%04x is not a device libvnet drives (%s)", u->target,
		      id[0], id[1], list);
}

int vn_pci_open(const struct vn_uri *u, const struct vnet_dev_opts *o, struct vn_port **out)
{
	struct vn_devio *d;
	int rc = vn_devio_open(u, (int)o->vfio_mode, &d);

	if (rc)
		return rc;
	rc = vn_pci_attach(d, u, o, out);
	if (rc) {
		vn_err_hold(); /* closing must not replace the reason of the failure */
		d->ops->close(d);
		vn_err_release();
	}
	return rc;
}

int vn_pci_bus_master(struct vn_devio *d)
{
	uint16_t cmd;
	int rc = vn_devio_read(d, CFG_REGION, PCI_COMMAND, &cmd, 2);

	if (rc || (cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) ==
		  (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
		return rc;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return vn_devio_write(d, CFG_REGION, PCI_COMMAND, &cmd, 2);
}
