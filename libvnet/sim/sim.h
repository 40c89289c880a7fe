/* SPDX-License-Identifier: MIT */
/*
 * The simulated virtio-net device (see vnet-simd(8)): a modern virtio-net PCI
 * function behind a vfio-user server, run in-process for sim: URIs and as
 * its own process by vnet-simd.
 */
#ifndef VN_SIM_H
#define VN_SIM_H

#include "uri.h"
#include "iommu/devio.h"

/*
 * Start the device a sim: URI describes in a thread of this process and
 * open it through the vfio-user client over a socketpair. Closing the devio
 * stops the device (for sim:pair, when both ends are closed).
 */
int vn_sim_open(const struct vn_uri *u, struct vn_devio **out);

#endif
