/* SPDX-License-Identifier: MIT */
/*
 * The packed virtqueue (driver side, vq_packed.h) against a fake device
 * written here: it reads available descriptors and writes used ones straight
 * into ring memory, with its own offset + wrap counter positions (virtio 1.2
 * §2.8.1), and drives the event suppression structures (§2.8.10).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "virtio/vq_packed.h"

#define IOVA_BASE 0x40000000ull
#define STRIDE 256u
#define BUF_OFF 52u
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

struct fx {
	struct vn_dma_mem mem;
	struct vq vq;
	uint8_t broken;
	uint32_t doorbell;
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *drv, *dev;
	uint16_t av_off, us_off; /* device positions */
	bool av_wrap, us_wrap;
};

static struct fx *fx_new(uint16_t size, unsigned flags)
{
	struct fx *f = calloc(1, sizeof(*f));
	size_t ring = 4096 + (size_t)size * 16, len = ring + (size_t)size * STRIDE;
	char *base;
	struct vq_cfg c;

	assert_non_null(f);
	len = (len + 4095) & ~(size_t)4095;
	base = aligned_alloc(4096, len);
	assert_non_null(base);
	memset(base, 0, len);
	f->mem = (struct vn_dma_mem){ .va = base, .len = len, .fd = -1, .page_size = 4096,
				      .iova = IOVA_BASE, .mapped = true };
	f->ring = (void *)(base + 4096);
	f->drv = (void *)base;
	f->dev = (void *)(base + 64);
	c = (struct vq_cfg){
		.size = size, .index = 5, .flags = flags | VQ_F_PACKED,
		.desc = f->ring, .avail = f->drv, .used = f->dev,
		.bufs = base + ring + BUF_OFF, .stride = STRIDE, .buf_len = STRIDE - BUF_OFF,
		.mem = &f->mem, .dev_broken = &f->broken,
	};
	assert_int_equal(vq_init(&f->vq, &c), 0);
	f->vq.notify.reg = (volatile uint16_t *)(void *)&f->doorbell;
	f->vq.notify.value = 5;
	f->doorbell = 0xffffffffu;
	f->av_wrap = f->us_wrap = true;
	return f;
}

static void fx_free(struct fx *f)
{
	vq_fini(&f->vq);
	free(f->mem.va);
	free(f);
}

static void dev_step(const struct fx *f, uint16_t *off, bool *wrap, uint16_t n)
{
	*off = (uint16_t)(*off + n);
	if (*off >= f->vq.size) {
		*off = (uint16_t)(*off - f->vq.size);
		*wrap = !*wrap;
	}
}

/* Device: the next available descriptor, or false. */
static bool dev_pop(struct fx *f, struct vring_packed_desc *out)
{
	struct vring_packed_desc *d = &f->ring[f->av_off];
	uint16_t fl = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);

	if (!!(fl & F_AVAIL) != f->av_wrap || !!(fl & F_USED) == f->av_wrap)
		return false;
	*out = *d;
	dev_step(f, &f->av_off, &f->av_wrap, 1);
	return true;
}

/* Device: a used descriptor at its used position, covering descs. */
static void dev_use(struct fx *f, uint16_t id, uint32_t len, uint16_t descs)
{
	struct vring_packed_desc *d = &f->ring[f->us_off];

	d->id = id;
	d->len = len;
	__atomic_store_n(&d->flags, f->us_wrap ? (uint16_t)(F_AVAIL | F_USED) : 0, __ATOMIC_RELEASE);
	dev_step(f, &f->us_off, &f->us_wrap, descs);
}

static void post(struct fx *f, unsigned n, uint16_t *ids)
{
	for (unsigned i = 0; i < n; i++) {
		ids[i] = vq_take(&f->vq);
		vqp_enqueue(&f->vq, ids[i], 100 + ids[i]);
	}
	vqp_publish(&f->vq);
}

static void test_post_and_complete(void **state)
{
	struct fx *f = fx_new(8, VQ_F_DEV_WRITES);
	struct vring_packed_desc d;
	uint16_t ids[3];
	uint32_t len;

	(void)state;
	/* Before publish the first descriptor is not available, the others are
	 * already written: the first one's flags come last (§2.8.21.1). */
	for (unsigned i = 0; i < 3; i++) {
		ids[i] = vq_take(&f->vq);
		vqp_enqueue(&f->vq, ids[i], 100 + i);
	}
	assert_int_equal(f->ring[0].flags, 0);
	assert_int_equal(f->ring[1].flags, F_AVAIL | VRING_DESC_F_WRITE);
	assert_false(dev_pop(f, &d));
	vqp_publish(&f->vq);
	/* Device event suppression starts zeroed: ENABLE, so a kick. */
	assert_int_equal(f->doorbell & 0xffff, 5);
	assert_int_equal(VN_STAT_GET(f->vq.kicks), 1);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(dev_pop(f, &d));
		assert_int_equal(d.id, ids[i]);
		assert_int_equal(d.len, 100 + i);
		assert_int_equal(d.addr, vn_dma_iova(&f->mem, vq_buf(&f->vq, ids[i])));
		assert_int_equal(d.flags, F_AVAIL | VRING_DESC_F_WRITE);
	}
	assert_false(dev_pop(f, &d));
	/* The device uses them out of order. */
	assert_int_equal(vqp_used_pending(&f->vq), 0);
	dev_use(f, ids[2], 30, 1);
	dev_use(f, ids[0], 10, 1);
	assert_int_equal(vqp_used_pending(&f->vq), 2);
	assert_int_equal(vqp_used_get(&f->vq, &len), ids[2]);
	assert_int_equal(len, 30);
	assert_int_equal(vqp_used_get(&f->vq, &len), ids[0]);
	assert_int_equal(len, 10);
	assert_int_equal(vqp_used_pending(&f->vq), 0);
	dev_use(f, ids[1], 20, 1);
	assert_int_equal(vqp_used_pending(&f->vq), 1);
	assert_int_equal(vqp_used_peek(&f->vq, &len), ids[1]);
	assert_int_equal(vqp_used_get(&f->vq, &len), ids[1]);
	assert_int_equal(len, 20);
	assert_int_equal(f->vq.in_flight, 0);
	assert_int_equal(f->broken, 0);
	fx_free(f);
}

/* Many laps of a small ring with bursts of every size: the wrap counters
 * on both sides flip together, frames keep their order. */
static void test_wrap_many_laps(void **state)
{
	struct fx *f = fx_new(8, VQ_F_DEV_WRITES);
	struct vring_packed_desc d;
	uint16_t ids[8];
	uint32_t len, seq = 0, got_seq = 0;

	(void)state;
	for (unsigned round = 0; round < 500; round++) {
		unsigned n = 1 + round % 8;

		for (unsigned i = 0; i < n; i++) {
			ids[i] = vq_take(&f->vq);
			vqp_enqueue(&f->vq, ids[i], seq++ % 200);
		}
		vqp_publish(&f->vq);
		for (unsigned i = 0; i < n; i++) {
			assert_true(dev_pop(f, &d));
			assert_int_equal(d.id, ids[i]);
			dev_use(f, d.id, d.len, 1);
		}
		assert_false(dev_pop(f, &d));
		assert_int_equal(vqp_used_pending(&f->vq), (int)n);
		for (unsigned i = 0; i < n; i++) {
			int id = vqp_used_get(&f->vq, &len);

			assert_int_equal(id, ids[i]);
			assert_int_equal(len, got_seq++ % 200);
			vq_give(&f->vq, (uint16_t)id);
		}
	}
	assert_int_equal(f->broken, 0);
	assert_int_equal(f->vq.n_free, 8);
	fx_free(f);
}

/* §2.8.10: DISABLE stops kicks; DESC (EVENT_IDX) kicks only for the burst
 * that makes the named descriptor available, across a wrap too. */
static void test_device_event_suppression(void **state)
{
	struct fx *f = fx_new(8, VQ_F_EVENT_IDX);
	struct vring_packed_desc d;
	uint16_t ids[8];

	(void)state;
	f->dev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	post(f, 2, ids);
	assert_int_equal(VN_STAT_GET(f->vq.kicks), 0);
	/* Ask for a kick when offset 5 (this lap) becomes available. */
	f->dev->off_wrap = 5 | 1u << VRING_PACKED_EVENT_F_WRAP_CTR;
	f->dev->flags = VRING_PACKED_EVENT_FLAG_DESC;
	post(f, 2, ids + 2); /* offsets 2, 3 */
	assert_int_equal(VN_STAT_GET(f->vq.kicks), 0);
	post(f, 2, ids + 4); /* 4, 5: kick */
	assert_int_equal(VN_STAT_GET(f->vq.kicks), 1);
	for (unsigned i = 0; i < 6; i++) {
		assert_true(dev_pop(f, &d));
		dev_use(f, d.id, 0, 1);
	}
	assert_int_equal(vqp_used_pending(&f->vq), 6);
	for (unsigned i = 0; i < 6; i++) {
		uint32_t len;

		vq_give(&f->vq, (uint16_t)vqp_used_get(&f->vq, &len));
	}
	/* Offset 1 of the next lap (wrap counter 0): not 6, 7 ... */
	f->dev->off_wrap = 1;
	post(f, 2, ids);
	assert_int_equal(VN_STAT_GET(f->vq.kicks), 1);
	/* ... but 0, 1 of the next lap. */
	post(f, 2, ids + 2);
	assert_int_equal(VN_STAT_GET(f->vq.kicks), 2);
	/* §4.1.5.2 without NOTIFICATION_DATA: the 16-bit queue index. */
	assert_int_equal(f->doorbell & 0xffff, 5);
	fx_free(f);
}

/* §2.8.10: the driver's own structure: DISABLE while polling, DESC at our
 * used position (with its wrap counter) or ENABLE when arming. */
static void test_driver_event_suppression(void **state)
{
	struct fx *f = fx_new(4, VQ_F_EVENT_IDX);
	struct fx *g = fx_new(4, 0);
	struct vring_packed_desc d;
	uint16_t ids[4];
	uint32_t len;

	(void)state;
	assert_int_equal(f->drv->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	vqp_notify_on(&f->vq);
	assert_int_equal(f->drv->flags, VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(f->drv->off_wrap, 0 | 1u << VRING_PACKED_EVENT_F_WRAP_CTR);
	vqp_notify_off(&f->vq);
	assert_int_equal(f->drv->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	/* After a full lap the used wrap counter is 0. */
	post(f, 4, ids);
	for (unsigned i = 0; i < 4; i++) {
		assert_true(dev_pop(f, &d));
		dev_use(f, d.id, 0, 1);
	}
	assert_int_equal(vqp_used_pending(&f->vq), 4);
	for (unsigned i = 0; i < 4; i++)
		vq_give(&f->vq, (uint16_t)vqp_used_get(&f->vq, &len));
	vqp_notify_on(&f->vq);
	assert_int_equal(f->drv->off_wrap, 0);
	vqp_notify_on(&g->vq);
	assert_int_equal(g->drv->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	fx_free(f);
	fx_free(g);
}

/* §2.8.8: in order, one used descriptor can stand for a batch. */
static void test_in_order_batch(void **state)
{
	struct fx *f = fx_new(8, VQ_F_IN_ORDER | VQ_F_DEV_WRITES);
	struct vring_packed_desc d;
	uint16_t ids[5];
	uint32_t len;

	(void)state;
	post(f, 5, ids);
	for (unsigned i = 0; i < 5; i++)
		assert_true(dev_pop(f, &d));
	dev_use(f, ids[2], 7, 3); /* ids[0..2] */
	assert_int_equal(vqp_used_pending(&f->vq), 3);
	dev_use(f, ids[3], 8, 1);
	assert_int_equal(vqp_used_pending(&f->vq), 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(vqp_used_get(&f->vq, &len), ids[i]);
		/* §2.8.8: the skipped ones were used completely. */
		assert_int_equal(len, i == 2 ? 7u : i == 3 ? 8u : STRIDE - BUF_OFF);
	}
	assert_int_equal(f->vq.in_flight, 1);
	/* An id the device does not hold (already used) is refused. */
	dev_use(f, ids[1], 0, 1);
	assert_int_equal(vqp_used_pending(&f->vq), -1);
	assert_true(f->broken & VN_STOP_BROKEN);
	fx_free(f);
}

/* The control queue's chain: two descriptors, NEXT on the first, the
 * buffer id on the last (§2.8.6); the used entry skips both. */
static void test_chain(void **state)
{
	struct fx *f = fx_new(4, 0);
	struct vring_packed_desc d0, d1, d;
	uint16_t out = vq_take(&f->vq), in = vq_take(&f->vq), ids[2];
	uint32_t len;

	(void)state;
	vqp_enqueue_chain(&f->vq, out, 10, in, 1);
	vqp_publish(&f->vq);
	assert_true(dev_pop(f, &d0));
	assert_true(dev_pop(f, &d1));
	assert_int_equal(d0.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE), VRING_DESC_F_NEXT);
	assert_int_equal(d1.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE), VRING_DESC_F_WRITE);
	assert_int_equal(d1.id, out);
	assert_int_equal(d0.addr, vn_dma_iova(&f->mem, vq_buf(&f->vq, out)));
	assert_int_equal(d1.addr, vn_dma_iova(&f->mem, vq_buf(&f->vq, in)));
	dev_use(f, out, 1, 2);
	assert_int_equal(vqp_used_pending(&f->vq), 1);
	assert_int_equal(vqp_used_get(&f->vq, &len), out);
	assert_int_equal(f->vq.n_free, 3); /* the tail went back */
	vq_give(&f->vq, out);
	/* The next buffer goes to offset 2, and its used entry too. */
	post(f, 2, ids);
	assert_true(dev_pop(f, &d));
	assert_int_equal(d.id, ids[0]);
	dev_use(f, ids[0], 0, 1);
	assert_int_equal(vqp_used_pending(&f->vq), 1);
	assert_int_equal(vqp_used_get(&f->vq, &len), ids[0]);
	assert_int_equal(f->broken, 0);
	fx_free(f);
}

/* §4.1.5.2: queue index, next offset and wrap counter in 32 bits. */
static void test_notification_data(void **state)
{
	struct fx *f = fx_new(4, VQ_F_NOTIFY_DATA);
	struct vring_packed_desc d;
	uint16_t ids[4];
	uint32_t len;

	(void)state;
	f->vq.notify.with_data = true;
	post(f, 3, ids);
	assert_int_equal(f->doorbell, 5u | 3u << 16 | 1u << 31);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(dev_pop(f, &d));
		dev_use(f, d.id, 0, 1);
	}
	assert_int_equal(vqp_used_pending(&f->vq), 3);
	for (unsigned i = 0; i < 3; i++)
		vq_give(&f->vq, (uint16_t)vqp_used_get(&f->vq, &len));
	post(f, 2, ids); /* offsets 3, 0: the next is 1 of the second lap */
	assert_int_equal(f->doorbell, 5u | 1u << 16);
	fx_free(f);
}

enum bad { BAD_ID_RANGE, BAD_ID_FREE, BAD_DUP, BAD_LEN, BAD_IN_ORDER_RANGE };

static void run_bad(enum bad kind)
{
	struct fx *f = fx_new(8, VQ_F_DEV_WRITES | (kind == BAD_IN_ORDER_RANGE ? VQ_F_IN_ORDER : 0));
	struct vring_packed_desc d;
	uint16_t ids[2];
	uint32_t len;

	post(f, 2, ids);
	assert_true(dev_pop(f, &d));
	switch (kind) {
	case BAD_ID_RANGE:
	case BAD_IN_ORDER_RANGE:
		dev_use(f, 40000, 0, 1);
		break;
	case BAD_ID_FREE:
		dev_use(f, 7, 0, 1); /* never made available */
		break;
	case BAD_DUP:
		dev_use(f, ids[0], 0, 1);
		dev_use(f, ids[0], 0, 1);
		break;
	case BAD_LEN:
		dev_use(f, ids[0], STRIDE - BUF_OFF + 1, 1);
		break;
	}
	if (kind == BAD_DUP) {
		/* The first use is fine; the second one breaks the device. */
		assert_int_equal(vqp_used_pending(&f->vq), -1);
		assert_int_equal(f->vq.seen_tail - f->vq.seen_head, 1);
	} else {
		assert_int_equal(vqp_used_pending(&f->vq), -1);
		assert_int_equal(f->vq.seen_tail, f->vq.seen_head);
	}
	assert_true(f->broken & VN_STOP_BROKEN);
	(void)len;
	fx_free(f);
}

static void test_bad_id_range(void **state) { (void)state; run_bad(BAD_ID_RANGE); }
static void test_bad_id_free(void **state) { (void)state; run_bad(BAD_ID_FREE); }
static void test_bad_dup(void **state) { (void)state; run_bad(BAD_DUP); }
static void test_bad_len(void **state) { (void)state; run_bad(BAD_LEN); }
static void test_bad_in_order(void **state) { (void)state; run_bad(BAD_IN_ORDER_RANGE); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_and_complete),
		cmocka_unit_test(test_wrap_many_laps),
		cmocka_unit_test(test_device_event_suppression),
		cmocka_unit_test(test_driver_event_suppression),
		cmocka_unit_test(test_in_order_batch),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_notification_data),
		cmocka_unit_test(test_bad_id_range),
		cmocka_unit_test(test_bad_id_free),
		cmocka_unit_test(test_bad_dup),
		cmocka_unit_test(test_bad_len),
		cmocka_unit_test(test_bad_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
