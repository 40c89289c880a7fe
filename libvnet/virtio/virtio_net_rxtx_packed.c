/* SPDX-License-Identifier: MIT */
/* virtio-net data path over packed rings (virtio_net_rxtx_body.h). */
#include "virtio/vq_packed.h"

#define RING(op) vqp_##op
#define NET_FN(f) vn_net_##f##_packed
#include "virtio/virtio_net_rxtx_body.h"
