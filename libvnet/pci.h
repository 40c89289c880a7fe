/* SPDX-License-Identifier: MIT */
/*
 * PCI functions (vfio:, vfio-user: URIs): which driver runs a function is
 * decided here, once, from the vendor and device ids in its config space,
 * through one table of {vendor, device, name, port ops} (pci.c). Each
 * driver's port ops implement attach() (port.h).
 */
#ifndef VN_PCI_H
#define VN_PCI_H

#include <stdint.h>

#include "port.h"

struct vn_devio;

/* Open the device access u names, read its ids, and attach the driver that
 * knows them; a function no driver knows is refused (-ENODEV) with a
 * message naming its ids and the ones libvnet drives. */
int vn_pci_open(const struct vn_uri *u, const struct vnet_dev_opts *o, struct vn_port **out);

/* The same on device access d already open (d stays the caller's on
 * failure; the port owns it on success). */
int vn_pci_attach(struct vn_devio *d, const struct vn_uri *u, const struct vnet_dev_opts *o,
		  struct vn_port **out);

/* The driver libvnet would run on vendor:device ("virtio-net", "e1000e"),
 * or NULL (vnetconf dev list). */
const char *vn_pci_driver_name(uint16_t vendor, uint16_t device);

/*
 * Let the function decode its BARs and master DMA. vfio-pci hands the
 * device over with Bus Master Enable clear (the kernel driver that had it
 * cleared it on unbind), and a PCI function may not initiate DMA while the
 * bit is clear (PCI Local Bus 3.0 §6.2.2, Command register bit 2): without
 * it the device never reads a ring. VFIO passes command register writes
 * through to the device (virtualised where needed). Every driver calls it.
 */
int vn_pci_bus_master(struct vn_devio *d);

#endif
