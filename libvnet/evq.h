/* SPDX-License-Identifier: MIT */
/*
 * A short queue of device events (VNET_EV_*) until vnet_dev_event() reads
 * them; the caller holds its lock. A full queue keeps the oldest events and
 * drops the newest: the current state can always be read with
 * vnet_dev_info().
 */
#ifndef VN_EVQ_H
#define VN_EVQ_H

#include <stdint.h>

#define VN_EVQ_LEN 16

struct vn_evq {
	uint8_t ev[VN_EVQ_LEN];
	unsigned head, len;
};

static inline void vn_evq_push(struct vn_evq *q, int type)
{
	if (q->len < VN_EVQ_LEN) {
		q->ev[(q->head + q->len) % VN_EVQ_LEN] = (uint8_t)type;
		q->len++;
	}
}

/* The oldest event in *type: 1, or 0 when empty. */
static inline int vn_evq_pop(struct vn_evq *q, int *type)
{
	if (!q->len)
		return 0;
	*type = q->ev[q->head];
	q->head = (q->head + 1) % VN_EVQ_LEN;
	q->len--;
	return 1;
}

#endif
