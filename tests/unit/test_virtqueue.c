/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue (driver side) against a fake device written here: it
 * reads the avail ring and writes the used ring directly in ring memory,
 * as a device would, with its own index bookkeeping.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "virtio/virtqueue.h"

#define IOVA_BASE 0x40000000ull
#define STRIDE 256u
#define BUF_OFF 52u

struct fx {
	struct vn_dma_mem mem;
	struct vq vq;
	uint8_t broken;
	uint16_t doorbell;
	uint16_t dev_avail; /* device: next avail entry to read */
	uint16_t dev_used;  /* device: next used entry to write */
};

static struct fx *fx_new(uint16_t size, unsigned flags)
{
	struct fx *f = calloc(1, sizeof(*f));
	size_t ring = 3 * 4096 + (size_t)size * 32, len = ring + (size_t)size * STRIDE;
	char *base;
	struct vq_cfg c;

	assert_non_null(f);
	len = (len + 4095) & ~(size_t)4095;
	base = aligned_alloc(4096, len);
	assert_non_null(base);
	memset(base, 0, len);
	f->mem = (struct vn_dma_mem){ .va = base, .len = len, .fd = -1, .page_size = 4096,
				      .iova = IOVA_BASE, .mapped = true };
	c = (struct vq_cfg){
		.size = size, .index = 3, .flags = flags,
		.desc = base, .avail = base + 16 * (size_t)size,
		.used = base + ((16 * (size_t)size + 6 + 2 * (size_t)size + 4095) & ~(size_t)4095),
		.bufs = base + ring + BUF_OFF, .stride = STRIDE, .buf_len = STRIDE - BUF_OFF,
		.mem = &f->mem, .dev_broken = &f->broken,
	};
	assert_int_equal(vq_init(&f->vq, &c), 0);
	f->vq.notify = (struct vn_vtr_notify){ .reg = &f->doorbell, .value = 3 };
	f->doorbell = 0xffff;
	return f;
}

static void fx_free(struct fx *f)
{
	vq_fini(&f->vq);
	free(f->mem.va);
	free(f);
}

/* Device side: take the next available head, or -1. */
static int dev_pop(struct fx *f)
{
	uint16_t idx = __atomic_load_n(&f->vq.avail->idx, __ATOMIC_ACQUIRE);

	if (idx == f->dev_avail)
		return -1;
	return f->vq.avail->ring[f->dev_avail++ % f->vq.size];
}

/* Device side: write a used entry (raw, so tests can lie). */
static void dev_used_entry(struct fx *f, uint32_t id, uint32_t len)
{
	f->vq.used->ring[f->dev_used % f->vq.size].id = id;
	f->vq.used->ring[f->dev_used % f->vq.size].len = len;
	f->dev_used++;
	__atomic_store_n(&f->vq.used->idx, f->dev_used, __ATOMIC_RELEASE);
}

static char *dev_va(struct fx *f, uint64_t iova)
{
	return (char *)f->mem.va + (iova - IOVA_BASE);
}

static void test_post_and_complete(void **state)
{
	struct fx *f = fx_new(8, 0);
	uint16_t ids[3];
	uint32_t len;

	(void)state;
	for (int i = 0; i < 3; i++) {
		ids[i] = vq_take(&f->vq);
		vq_enqueue(&f->vq, ids[i], 60 + (uint32_t)i);
	}
	/* Nothing visible before the publish. */
	assert_int_equal(dev_pop(f), -1);
	vq_publish(&f->vq);
	assert_int_equal(f->vq.kicks, 1);
	assert_int_equal(f->doorbell, 3);
	assert_int_equal(f->vq.avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	for (int i = 0; i < 3; i++) {
		int id = dev_pop(f);
		struct vring_desc *d = &f->vq.desc[id];

		assert_int_equal(id, ids[i]);
		assert_int_equal(d->len, 60 + i);
		assert_int_equal(d->flags, 0);
		/* The descriptor names the buffer's device address. */
		assert_ptr_equal(dev_va(f, d->addr), vq_buf(&f->vq, (uint16_t)id));
		assert_ptr_equal(dev_va(f, d->addr), (char *)f->mem.va + 3 * 4096 + 8 * 32 +
				 (size_t)id * STRIDE + BUF_OFF);
	}
	assert_int_equal(dev_pop(f), -1);
	/* Publishing nothing new neither stores nor kicks. */
	vq_publish(&f->vq);
	assert_int_equal(f->vq.kicks, 1);
	dev_used_entry(f, ids[1], 0);
	assert_int_equal(vq_used_pending(&f->vq), 1);
	assert_int_equal(vq_used_get(&f->vq, &len), ids[1]);
	assert_int_equal(f->vq.in_flight, 2);
	vq_give(&f->vq, ids[1]);
	assert_int_equal(f->vq.n_free, 6);
	assert_int_equal(f->broken, 0);
	fx_free(f);
}

/* More than 65536 entries through a 16-entry ring, bursts of varying size. */
static void test_index_wraparound(void **state)
{
	struct fx *f = fx_new(16, VQ_F_DEV_WRITES);
	uint32_t total = 0, burst = 1, len;

	(void)state;
	while (total < 70000) {
		uint16_t want[16];
		int id;

		for (uint32_t i = 0; i < burst; i++) {
			want[i] = vq_take(&f->vq);
			vq_enqueue(&f->vq, want[i], f->vq.buf_len);
		}
		vq_publish(&f->vq);
		for (uint32_t i = 0; i < burst; i++) {
			id = dev_pop(f);
			assert_int_equal(id, want[i]);
			memset(dev_va(f, f->vq.desc[id].addr), (int)(total + i), 4);
			dev_used_entry(f, (uint32_t)id, 4 + i);
		}
		assert_int_equal(dev_pop(f), -1);
		assert_int_equal(vq_used_pending(&f->vq), (int)burst);
		for (uint32_t i = 0; i < burst; i++) {
			id = vq_used_get(&f->vq, &len);
			assert_int_equal(id, want[i]);
			assert_int_equal(len, 4 + i);
			assert_int_equal((uint8_t)vq_buf(&f->vq, (uint16_t)id)[0], (uint8_t)(total + i));
			vq_give(&f->vq, (uint16_t)id);
		}
		vq_used_done(&f->vq);
		total += burst;
		burst = burst % 16 + 1;
	}
	assert_true(total > 65536);
	assert_int_equal(f->vq.avail_idx, (uint16_t)total);
	assert_int_equal(f->vq.used_last, (uint16_t)total);
	assert_int_equal(f->vq.avail->idx, (uint16_t)total);
	assert_int_equal(f->vq.n_free, 16);
	assert_int_equal(f->broken, 0);
	fx_free(f);
}

static void test_full_ring_out_of_order(void **state)
{
	struct fx *f = fx_new(8, 0);
	int order[8];
	uint32_t len;

	(void)state;
	for (int i = 0; i < 8; i++)
		vq_enqueue(&f->vq, vq_take(&f->vq), 64);
	assert_int_equal(f->vq.n_free, 0);
	vq_publish(&f->vq);
	for (int i = 0; i < 8; i++)
		order[i] = dev_pop(f);
	assert_int_equal(dev_pop(f), -1);
	/* Partial, out-of-order completion: 3 of 8, last first. */
	for (int i = 7; i >= 5; i--)
		dev_used_entry(f, (uint32_t)order[i], 0);
	assert_int_equal(vq_used_pending(&f->vq), 3);
	for (int i = 7; i >= 5; i--) {
		int id = vq_used_get(&f->vq, &len);

		assert_int_equal(id, order[i]);
		vq_give(&f->vq, (uint16_t)id);
	}
	assert_int_equal(vq_used_pending(&f->vq), 0);
	assert_int_equal(f->vq.in_flight, 5);
	assert_int_equal(f->vq.n_free, 3);
	/* The freed ids are reused; the ring keeps going past its end. */
	for (int i = 0; i < 3; i++)
		vq_enqueue(&f->vq, vq_take(&f->vq), 64);
	vq_publish(&f->vq);
	for (int i = 0; i < 3; i++) {
		int id = dev_pop(f);

		assert_true(id == order[5] || id == order[6] || id == order[7]);
	}
	assert_int_equal(dev_pop(f), -1);
	assert_int_equal(f->vq.in_flight, 8);
	assert_int_equal(f->broken, 0);
	fx_free(f);
}

static void test_event_idx_suppression(void **state)
{
	struct fx *f = fx_new(16, VQ_F_EVENT_IDX);
	uint16_t *avail_event = (uint16_t *)(void *)&f->vq.used->ring[16];

	(void)state;
	/* virtio 1.2 §2.7.10: with EVENT_IDX, avail flags stay 0. */
	assert_int_equal(f->vq.avail->flags, 0);
	*avail_event = 0;
	for (int i = 0; i < 4; i++)
		vq_enqueue(&f->vq, vq_take(&f->vq), 64);
	vq_publish(&f->vq); /* 0 -> 4 crosses avail_event 0: kick */
	assert_int_equal(f->vq.kicks, 1);
	for (int i = 0; i < 4; i++)
		vq_enqueue(&f->vq, vq_take(&f->vq), 64);
	vq_publish(&f->vq); /* 4 -> 8, device still wants 0: no kick */
	assert_int_equal(f->vq.kicks, 1);
	*avail_event = 9;
	vq_enqueue(&f->vq, vq_take(&f->vq), 64);
	vq_publish(&f->vq); /* 8 -> 9 does not pass 9: no kick */
	assert_int_equal(f->vq.kicks, 1);
	vq_enqueue(&f->vq, vq_take(&f->vq), 64);
	vq_publish(&f->vq); /* 9 -> 10 passes 9: kick */
	assert_int_equal(f->vq.kicks, 2);
	/* used_event parks one behind what we read. */
	assert_int_equal(f->vq.avail->ring[16], (uint16_t)(f->vq.used_last - 1));
	fx_free(f);
}

static void test_no_notify_flag(void **state)
{
	struct fx *f = fx_new(8, 0);

	(void)state;
	f->vq.used->flags = VRING_USED_F_NO_NOTIFY;
	vq_enqueue(&f->vq, vq_take(&f->vq), 64);
	vq_publish(&f->vq);
	assert_int_equal(f->vq.kicks, 0);
	assert_int_equal(f->doorbell, 0xffff);
	f->vq.used->flags = 0;
	vq_enqueue(&f->vq, vq_take(&f->vq), 64);
	vq_publish(&f->vq);
	assert_int_equal(f->vq.kicks, 1);
	fx_free(f);
}

static void test_chain(void **state)
{
	struct fx *f = fx_new(4, 0);
	uint16_t out = vq_take(&f->vq), in = vq_take(&f->vq);
	uint32_t len;
	int head;

	(void)state;
	vq_enqueue_chain(&f->vq, out, 5, in, 1);
	vq_publish(&f->vq);
	head = dev_pop(f);
	assert_int_equal(head, out);
	assert_int_equal(f->vq.desc[out].flags, VRING_DESC_F_NEXT);
	assert_int_equal(f->vq.desc[out].next, in);
	assert_int_equal(f->vq.desc[out].len, 5);
	assert_int_equal(f->vq.desc[in].flags, VRING_DESC_F_WRITE);
	assert_int_equal(f->vq.desc[in].len, 1);
	/* The tail is not a head: completing it alone is a device bug. */
	dev_used_entry(f, in, 1);
	assert_int_equal(vq_used_pending(&f->vq), 1);
	assert_int_equal(vq_used_get(&f->vq, &len), -1);
	assert_int_equal(f->broken, 1);
	fx_free(f);

	f = fx_new(4, 0);
	out = vq_take(&f->vq);
	in = vq_take(&f->vq);
	vq_enqueue_chain(&f->vq, out, 5, in, 1);
	vq_publish(&f->vq);
	dev_used_entry(f, (uint32_t)dev_pop(f), 1);
	assert_int_equal(vq_used_pending(&f->vq), 1);
	assert_int_equal(vq_used_get(&f->vq, &len), out);
	vq_give(&f->vq, out);
	/* Head and tail are both free again. */
	assert_int_equal(f->vq.n_free, 4);
	assert_int_equal(f->broken, 0);
	fx_free(f);
}

/* Each bad device write marks the device broken; nothing is read out of bounds. */
enum bad { BAD_IDX_JUMP, BAD_ID_RANGE, BAD_ID_FREE, BAD_DUP, BAD_LEN, BAD_IDX_HUGE };

static void run_bad(enum bad kind)
{
	struct fx *f = fx_new(8, VQ_F_DEV_WRITES);
	uint16_t a, b;
	uint32_t len;
	int rc = 0;

	a = vq_take(&f->vq);
	b = vq_take(&f->vq);
	vq_enqueue(&f->vq, a, f->vq.buf_len);
	vq_enqueue(&f->vq, b, f->vq.buf_len);
	vq_publish(&f->vq);
	switch (kind) {
	case BAD_IDX_JUMP: /* 3 used entries with 2 buffers in flight */
		dev_used_entry(f, a, 0);
		dev_used_entry(f, b, 0);
		dev_used_entry(f, a, 0);
		rc = vq_used_pending(&f->vq);
		break;
	case BAD_IDX_HUGE: /* idx far beyond the ring */
		__atomic_store_n(&f->vq.used->idx, 40000, __ATOMIC_RELEASE);
		rc = vq_used_pending(&f->vq);
		break;
	case BAD_ID_RANGE:
		dev_used_entry(f, 0x10000 + a, 0);
		assert_int_equal(vq_used_pending(&f->vq), 1);
		rc = vq_used_get(&f->vq, &len);
		break;
	case BAD_ID_FREE: /* an id we never posted */
		dev_used_entry(f, 7, 0);
		assert_int_equal(vq_used_pending(&f->vq), 1);
		rc = vq_used_get(&f->vq, &len);
		break;
	case BAD_DUP:
		dev_used_entry(f, a, 0);
		dev_used_entry(f, a, 0);
		assert_int_equal(vq_used_pending(&f->vq), 2);
		assert_int_equal(vq_used_get(&f->vq, &len), a);
		rc = vq_used_get(&f->vq, &len);
		break;
	case BAD_LEN:
		dev_used_entry(f, b, f->vq.buf_len + 1);
		assert_int_equal(vq_used_pending(&f->vq), 1);
		rc = vq_used_get(&f->vq, &len);
		break;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(f->broken, 1);
	assert_true(vq_broken(&f->vq));
	fx_free(f);
}

static void test_bad_idx_jump(void **state) { (void)state; run_bad(BAD_IDX_JUMP); }
static void test_bad_idx_huge(void **state) { (void)state; run_bad(BAD_IDX_HUGE); }
static void test_bad_id_range(void **state) { (void)state; run_bad(BAD_ID_RANGE); }
static void test_bad_id_free(void **state) { (void)state; run_bad(BAD_ID_FREE); }
static void test_bad_dup(void **state) { (void)state; run_bad(BAD_DUP); }
static void test_bad_len(void **state) { (void)state; run_bad(BAD_LEN); }

static void test_init_rejects(void **state)
{
	struct vq vq;
	uint8_t broken = 0;
	struct vq_cfg c = { .size = 12, .stride = 256, .dev_broken = &broken };

	(void)state;
	assert_int_equal(vq_init(&vq, &c), -EINVAL);
	c.size = 16;
	c.stride = 300;
	assert_int_equal(vq_init(&vq, &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_and_complete),
		cmocka_unit_test(test_index_wraparound),
		cmocka_unit_test(test_full_ring_out_of_order),
		cmocka_unit_test(test_event_idx_suppression),
		cmocka_unit_test(test_no_notify_flag),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_bad_idx_jump),
		cmocka_unit_test(test_bad_idx_huge),
		cmocka_unit_test(test_bad_id_range),
		cmocka_unit_test(test_bad_id_free),
		cmocka_unit_test(test_bad_dup),
		cmocka_unit_test(test_bad_len),
		cmocka_unit_test(test_init_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
