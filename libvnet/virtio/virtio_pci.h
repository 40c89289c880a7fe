/* SPDX-License-Identifier: MIT */
/*
 * The modern virtio-pci transport (virtio 1.2 §4.1) over the device-access
 * ops of iommu/devio.h. Finds the virtio capabilities in config space,
 * validates them against the BARs, maps the structures when the backend can
 * and falls back to region_read/write otherwise.
 */
#ifndef VN_VIRTIO_PCI_H
#define VN_VIRTIO_PCI_H

#include "iommu/devio.h"
#include "virtio/transport.h"

/*
 * Build a transport over d (borrowed: the caller closes d after the
 * transport). Returns 0 or -errno (-ENODEV: not a modern virtio device;
 * -EINVAL: malformed capabilities), with vn_err() saying which.
 */
int vpci_open(struct vn_devio *d, struct vn_vtr **out);

#endif
