/* SPDX-License-Identifier: MIT */
/* Sending and receiving single frames in tests (include after <cmocka.h>). */
#ifndef VNET_TEST_SENDRECV_H
#define VNET_TEST_SENDRECV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vnet/vnet.h"

#define SR_MAX_BUFS 8 /* buffers of one received frame */

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send one frame of len bytes from f. */
static inline void send_frame(struct vnet_queue *q, const uint8_t *f, size_t len)
{
	struct vnet_buf b;
	uint64_t end = now_ms() + 2000;
	int n;

	while ((n = vnet_tx_reserve(q, &b, 1)) == 0)
		assert_true(now_ms() < end);
	assert_int_equal(n, 1);
	assert_true(b.len >= len);
	memcpy(b.data, f, len);
	b.len = (uint32_t)len;
	assert_int_equal(vnet_tx_submit(q, &b, 1), 1);
}

/*
 * Receive one frame into f (reassembled), waiting up to ms. Returns its
 * length, or 0 on timeout. Frames for which ignore() is true are dropped.
 */
static inline size_t recv_frame(struct vnet_queue *q, uint8_t *f, size_t cap, unsigned ms,
			 bool (*ignore)(const uint8_t *f, size_t len))
{
	struct vnet_buf b[SR_MAX_BUFS];
	uint64_t end = now_ms() + ms;
	size_t len;
	int n, i;

	for (;;) {
		n = vnet_rx_peek(q, b, 1);
		assert_true(n >= 0);
		if (n == 0) {
			if (now_ms() >= end)
				return 0;
			usleep(100);
			continue;
		}
		/* a multi-buffer frame: take the rest of it */
		while (b[n - 1].flags & VNET_BUF_MORE) {
			assert_true(n < (int)SR_MAX_BUFS);
			i = vnet_rx_peek(q, b + n, 1);
			assert_int_equal(i, 1);
			n++;
		}
		for (len = 0, i = 0; i < n; len += b[i].len, i++) {
			assert_true(len + b[i].len <= cap);
			memcpy(f + len, b[i].data, b[i].len);
		}
		assert_int_equal(vnet_rx_release(q, b, (unsigned)n), 0);
		if (!ignore || !ignore(f, len))
			return len;
	}
}

/* A test frame of len bytes to dst, its payload a function of tag. */
static inline void frame_to(uint8_t *f, size_t len, const uint8_t dst[6], uint8_t tag)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(tag + i);
	memcpy(f, dst, 6);
	memcpy(f + 6, ((const uint8_t[]){ 0x02, 0, 0, 0, 0, 0x99 }), 6);
	f[12] = 0x88;
	f[13] = 0xb5;
}

#endif
