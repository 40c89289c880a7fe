/* SPDX-License-Identifier: MIT */
/*
 * Generic virtio device logic over the transport ops (transport.h): the
 * status sequence of virtio 1.2 §3.1.1, feature negotiation and config reads
 * made consistent with config_generation. Knows no bus and no device type.
 */
#ifndef VN_VIRTIO_H
#define VN_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/transport.h"

/* How long a device may take to finish a reset (status reads back 0). */
#define VN_VIRTIO_RESET_TIMEOUT_MS 1000

/* Write 0 to device_status and wait (bounded) until it reads back 0. */
int vn_virtio_reset(struct vn_vtr *t);

/*
 * From a freshly reset device: ACKNOWLEDGE, DRIVER, then read the features
 * the device offers (virtio 1.2 §3.1.1 steps 2-4). On failure the device is
 * left with FAILED set.
 */
int vn_virtio_offered(struct vn_vtr *t, uint64_t *offered);

/*
 * Refuse with -ENOTSUP (naming the bit) when one of `required` is not in
 * `offered`; else write `accept | required` (a subset of the offer), set
 * FEATURES_OK and check that it stuck (virtio 1.2 §3.1.1 steps 4-6). On
 * failure the device is left with FAILED set.
 */
int vn_virtio_accept(struct vn_vtr *t, uint64_t offered, uint64_t required, uint64_t accept);

/* Set DRIVER_OK (virtio 1.2 §3.1.1 step 8). */
int vn_virtio_driver_ok(struct vn_vtr *t);

/*
 * Read len bytes of device config at off, retried until config_generation is
 * the same before and after (virtio 1.2 §2.5.1), at most a bounded number of
 * times (-EAGAIN then). Fields of 1, 2 and 4 bytes are read in one access.
 */
int vn_virtio_cfg_read(struct vn_vtr *t, uint32_t off, void *buf, size_t len);

/* Milliseconds of CLOCK_MONOTONIC, for the bounded waits of the control path. */
uint64_t vn_virtio_now_ms(void);

/* Sleep briefly while polling the device on the control path. */
void vn_virtio_pause(void);

#endif
