/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the packed virtqueue's used-ring processing
 * (vq_packed.h) against a hostile device. The input is a script: the first
 * byte picks the ring size (2..64) and the features (EVENT_IDX, IN_ORDER,
 * device-writable buffers); then each 8-byte record either has the driver
 * post a burst, or writes arbitrary bytes over a descriptor and its flags
 * (anything a device could write, at any slot), or has the driver take what
 * it finds used, or toggles event suppression. Whatever the device writes,
 * the driver must not read or write out of bounds, must hand out only ids it
 * posted (each once), and its books must stay consistent; once the device
 * is marked broken the script stops.
 *
 *   make fuzz-vq-packed && tests/fuzz/fuzz_vq_packed -max_len=4096 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/vq_packed.h"

#define STRIDE 64u
#define MAXQ 64u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vring_packed_desc ring[MAXQ] __attribute__((aligned(16)));
	static struct vring_packed_desc_event drv, dev;
	static char bufs[MAXQ * STRIDE] __attribute__((aligned(64)));
	static uint32_t doorbell;
	struct vn_dma_mem mem = { .va = bufs, .len = sizeof(bufs), .fd = -1, .page_size = 4096,
				  .iova = 0x10000, .mapped = true };
	uint8_t broken = 0, held[MAXQ] = { 0 };
	unsigned flags = VQ_F_PACKED;
	struct vq_cfg c;
	struct vq vq;
	uint16_t qsize;

	if (size < 1)
		return 0;
	qsize = (uint16_t)(2u << (data[0] % 6)); /* 2..64 */
	if (data[0] & 0x40)
		flags |= VQ_F_EVENT_IDX;
	if (data[0] & 0x80)
		flags |= VQ_F_IN_ORDER;
	if (data[0] & 0x20)
		flags |= VQ_F_DEV_WRITES;
	memset(ring, 0, sizeof(ring));
	memset(&drv, 0, sizeof(drv));
	memset(&dev, 0, sizeof(dev));
	c = (struct vq_cfg){ .size = qsize, .index = 1, .flags = flags, .desc = ring,
			     .avail = &drv, .used = &dev, .bufs = bufs, .stride = STRIDE,
			     .buf_len = STRIDE, .mem = &mem, .dev_broken = &broken };
	if (vq_init(&vq, &c))
		return 0;
	vq.notify.reg = (volatile uint16_t *)(void *)&doorbell;
	for (size_t at = 1; at + 8 <= size && !(broken & VN_STOP_BROKEN); at += 8) {
		const uint8_t *r = data + at;
		uint32_t len;
		int n;

		switch (r[0] % 5) {
		case 0: /* the driver posts a burst */
			for (unsigned k = 0; k < r[1] % 8u && vq.n_free; k++) {
				uint16_t id = vq_take(&vq);

				vqp_enqueue(&vq, id, r[2] % STRIDE);
				held[id] = 1;
			}
			memcpy(&dev.off_wrap, r + 3, 2);
			dev.flags = r[5] % 4;
			vqp_publish(&vq);
			break;
		case 1: /* the device writes a descriptor, any slot, any bytes */
			memcpy(&ring[r[1] % qsize].id, r + 2, 2);
			memcpy(&ring[r[1] % qsize].len, r + 4, 4);
			break;
		case 2:
			memcpy(&ring[r[1] % qsize].flags, r + 2, 2);
			break;
		case 3: /* the driver takes what is used */
			n = vqp_used_pending(&vq);
			if (n < 0)
				break;
			check(n <= vq.in_flight);
			for (int k = 0; k < n && k < r[1]; k++) {
				int id = vqp_used_get(&vq, &len);

				check(id >= 0 && id < qsize && held[id]);
				check(!(vq.dev_writes && len > vq.buf_len));
				held[id] = 0;
				vq_give(&vq, (uint16_t)id);
			}
			break;
		default:
			if (r[1] & 1)
				vqp_notify_on(&vq);
			else
				vqp_notify_off(&vq);
			break;
		}
		check(vq.n_free + vq.in_flight <= qsize);
	}
	vq_fini(&vq);
	return 0;
}
