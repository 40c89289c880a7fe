/* SPDX-License-Identifier: MIT */
/*
 * virtio-net data path over split rings (virtio_net_rxtx_body.h), and the
 * TX drain of close for either layout.
 */
#include <time.h>

#include "virtio/virtio.h"
#include "virtio/vq_packed.h"

#define RING(op) vq_##op
#define NET_FN(f) vn_net_##f
#include "virtio/virtio_net_rxtx_body.h"

void vn_net_tx_drain(struct vn_net *n, unsigned timeout_ms)
{
	uint64_t deadline = vn_virtio_now_ms() + timeout_ms;
	struct timespec pause = { 0, 100000 };

	for (unsigned i = 0; n->q && i < n->pairs; i++) {
		struct vq *vq = &n->q[i].tx;

		/* A broken or silent device must not hold close() up for long. */
		while (vq->in_flight &&
		       !(__atomic_load_n(&n->broken, __ATOMIC_RELAXED) &
			 (VN_STOP_BROKEN | VN_STOP_RESET)) &&
		       vn_virtio_now_ms() < deadline) {
			if (vq->packed ? vn_net_tx_reclaim_packed(vq) : vn_net_tx_reclaim(vq))
				break;
			if (vq->in_flight)
				nanosleep(&pause, NULL);
		}
	}
}
