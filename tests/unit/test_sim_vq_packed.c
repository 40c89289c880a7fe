/* SPDX-License-Identifier: MIT */
/*
 * The simulated device's side of the packed virtqueue
 * (libvnet/sim/sim_vq_packed.c) against descriptors written by hand in a
 * fake guest memory: chains and every validation rule, used descriptors and
 * their publication order, wrap counters over laps, in-order batches, both
 * event suppression structures and the NOTIFICATION_DATA check.
 *
 * vfu_dma_ptr() is replaced here: IOVA BASE.. maps the array mem[].
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/sim_vq.h"
#include "sim/vfu_server.h"

#define BASE 0x100000ull
#define QSZ 8
#define RING 0x0000
#define DRV 0x1000
#define DEV 0x1100
#define BUFS 0x4000
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

static uint8_t mem[0x8000] __attribute__((aligned(4096)));

void *vfu_dma_ptr(struct vfu_server *s, uint64_t iova, uint64_t len, bool write)
{
	(void)s;
	(void)write;
	if (iova < BASE || iova - BASE > sizeof(mem) || len > sizeof(mem) - (iova - BASE))
		return NULL;
	return mem + (iova - BASE);
}

/* Rings in client-kept memory (DMA by message) are split-ring only: never
 * reached here. */
int vfu_dma_rw(struct vfu_server *s, uint64_t iova, void *buf, uint64_t len, bool write)
{
	(void)s;
	(void)iova;
	(void)buf;
	(void)len;
	(void)write;
	return -EFAULT;
}

static struct vring_packed_desc *ring = (struct vring_packed_desc *)(void *)(mem + RING);
static struct vring_packed_desc_event *drv = (struct vring_packed_desc_event *)(void *)(mem + DRV);
static struct vring_packed_desc_event *dev = (struct vring_packed_desc_event *)(void *)(mem + DEV);

static struct sim_vq vq;
static struct sim_seg seg[QSZ];
static struct sim_chain c;
static uint16_t drv_off; /* the fake driver's next descriptor */
static bool drv_wrap;

static int setup(void **state)
{
	(void)state;
	memset(mem, 0, sizeof(mem));
	memset(&vq, 0, sizeof(vq));
	vq.max_size = QSZ;
	sim_vq_reset(&vq);
	vq.packed = true;
	vq.desc_iova = BASE + RING;
	vq.avail_iova = BASE + DRV;
	vq.used_iova = BASE + DEV;
	vq.enabled = true;
	assert_int_equal(sim_vq_map(&vq, NULL), 0);
	drv_off = 0;
	drv_wrap = true;
	return 0;
}

/* The fake driver makes the next descriptor available (§2.8.1). */
static void put(uint64_t off, uint32_t len, uint16_t flags, uint16_t id)
{
	ring[drv_off].addr = BASE + off;
	ring[drv_off].len = len;
	ring[drv_off].id = id;
	ring[drv_off].flags = (uint16_t)(flags | (drv_wrap ? F_AVAIL : F_USED));
	if (++drv_off == QSZ) {
		drv_off = 0;
		drv_wrap = !drv_wrap;
	}
}

static int pop(void)
{
	return sim_vq_pop(&vq, NULL, seg, QSZ, &c);
}

static bool is_used(unsigned i, bool wrap)
{
	uint16_t f = ring[i].flags;

	return !!(f & F_AVAIL) == wrap && !!(f & F_USED) == wrap;
}

static void test_chain_and_used(void **state)
{
	(void)state;
	assert_int_equal(pop(), 0);
	put(BUFS, 10, VRING_DESC_F_NEXT, 0);
	put(BUFS + 0x100, 1, VRING_DESC_F_WRITE, 7); /* §2.8.6: the id is the last one's */
	put(BUFS + 0x200, 60, 0, 3);
	assert_int_equal(pop(), 1);
	assert_int_equal(c.head, 7);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 1);
	assert_ptr_equal(seg[0].p, mem + BUFS);
	assert_ptr_equal(seg[1].p, mem + BUFS + 0x100);
	assert_int_equal(pop(), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(pop(), 0);
	sim_vq_push(&vq, 7, 1);
	sim_vq_push(&vq, 3, 0);
	/* Not visible before publish: the first used descriptor's flags come
	 * last; the second one (slot 2: the chain took two) is written. */
	assert_false(is_used(0, true));
	assert_true(is_used(2, true));
	drv->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	assert_true(sim_vq_publish(&vq));
	assert_true(is_used(0, true));
	assert_int_equal(ring[0].id, 7);
	assert_int_equal(ring[0].len, 1);
	assert_int_equal(ring[2].id, 3);
	assert_false(sim_vq_publish(&vq)); /* nothing new */
}

/* Many laps: the wrap counters of both positions flip at the ring's end. */
static void test_laps(void **state)
{
	(void)state;
	drv->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	for (unsigned i = 0; i < 10 * QSZ; i++) {
		bool wrap = drv_wrap;
		unsigned at = drv_off;

		put(BUFS, 60, 0, (uint16_t)(i % QSZ));
		assert_int_equal(pop(), 1);
		assert_int_equal(c.head, i % QSZ);
		assert_int_equal(pop(), 0);
		sim_vq_push(&vq, c.head, 60);
		assert_false(sim_vq_publish(&vq)); /* DISABLE */
		assert_true(is_used(at, wrap));
	}
}

static void test_unpop(void **state)
{
	(void)state;
	put(BUFS, 60, VRING_DESC_F_NEXT, 0);
	put(BUFS, 60, 0, 1);
	put(BUFS, 60, 0, 2);
	assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 1);
	sim_vq_unpop(&vq, 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(c.head, 2);
	sim_vq_unpop(&vq, 2);
	assert_int_equal(pop(), 1);
	assert_int_equal(c.head, 1);
	assert_int_equal(c.n_out, 2);
}

static void test_bad_chains(void **state)
{
	(void)state;
	/* A chain running into a descriptor not made available. */
	put(BUFS, 60, VRING_DESC_F_NEXT, 0);
	assert_int_equal(pop(), -EPROTO);
	setup(NULL);
	put(BUFS, 60, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(pop(), -EPROTO);
	setup(NULL);
	put(BUFS, 60, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	put(BUFS, 60, 0, 0);
	assert_int_equal(pop(), -EPROTO);
	setup(NULL);
	put(0x7ff0, 60, 0, 0); /* beyond the mapped memory */
	assert_int_equal(pop(), -EPROTO);
	/* A whole ring of NEXT: longer than the ring. */
	setup(NULL);
	for (unsigned i = 0; i < QSZ; i++)
		put(BUFS, 0, VRING_DESC_F_NEXT, 0);
	assert_int_equal(pop(), -EPROTO);
	/* More segments than room: nothing consumed. */
	setup(NULL);
	put(BUFS, 60, VRING_DESC_F_NEXT, 0);
	put(BUFS, 60, 0, 4);
	assert_int_equal(sim_vq_pop(&vq, NULL, seg, 1, &c), -ENOSPC);
	assert_int_equal(pop(), 1);
	assert_int_equal(c.head, 4);
	/* Misaligned or unmapped ring areas. */
	setup(NULL);
	vq.avail_iova = BASE + DRV + 2;
	assert_int_equal(sim_vq_map(&vq, NULL), -EFAULT);
	vq.avail_iova = BASE + 0x100000;
	assert_int_equal(sim_vq_map(&vq, NULL), -EFAULT);
}

/* §2.8.10 in both directions. */
static void test_event_suppression(void **state)
{
	(void)state;
	vq.event_idx = true;
	/* The device asks for a kick at its read position, or none. */
	sim_vq_notify(&vq, true);
	assert_int_equal(dev->flags, VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(dev->off_wrap, 0 | 1u << VRING_PACKED_EVENT_F_WRAP_CTR);
	sim_vq_notify(&vq, false);
	assert_int_equal(dev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	/* The driver wants an interrupt once offset 2 is used. */
	drv->off_wrap = 2 | 1u << VRING_PACKED_EVENT_F_WRAP_CTR;
	drv->flags = VRING_PACKED_EVENT_FLAG_DESC;
	for (unsigned i = 0; i < 4; i++)
		put(BUFS, 60, 0, (uint16_t)i);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(pop(), 1);
		sim_vq_push(&vq, c.head, 0);
	}
	assert_false(sim_vq_publish(&vq)); /* offsets 0, 1 */
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(pop(), 1);
		sim_vq_push(&vq, c.head, 0);
	}
	assert_true(sim_vq_publish(&vq)); /* 2, 3 */
	sim_vq_notify(&vq, true);
	assert_int_equal(dev->off_wrap, 4 | 1u << VRING_PACKED_EVENT_F_WRAP_CTR);
}

/*
 * A device that stopped short of what it needs (one RX buffer of the two a
 * frame takes: it gave it back) must hear of the next descriptor the
 * driver makes available, which lies past its read position: ENABLE, not
 * DESC at that position (already available, so never crossed again).
 */
static void test_event_suppression_stalled(void **state)
{
	(void)state;
	vq.event_idx = true;
	put(BUFS, 60, VRING_DESC_F_WRITE, 0);
	assert_int_equal(pop(), 1);
	sim_vq_unpop(&vq, 1);
	sim_vq_notify(&vq, true);
	assert_int_equal(dev->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	/* Both there: the next look takes them; idle again, DESC at the end. */
	put(BUFS + 64, 60, VRING_DESC_F_WRITE, 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 0);
	sim_vq_notify(&vq, true);
	assert_int_equal(dev->flags, VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(dev->off_wrap, 2 | 1u << VRING_PACKED_EVENT_F_WRAP_CTR);
}

/* §2.8.8: in order, one used descriptor for the published batch. */
static void test_in_order_batch(void **state)
{
	(void)state;
	vq.batch = true;
	put(BUFS, 60, VRING_DESC_F_NEXT, 0);
	put(BUFS, 60, 0, 1);
	put(BUFS, 60, 0, 2);
	put(BUFS, 60, 0, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(pop(), 1);
	for (uint16_t id = 1; id <= 3; id++)
		sim_vq_push(&vq, id, 0);
	sim_vq_publish(&vq);
	assert_true(is_used(0, true));
	assert_int_equal(ring[0].id, 3);
	/* The batch covered four descriptors: the next used one is at 4. */
	put(BUFS, 60, 0, 5);
	assert_int_equal(pop(), 1);
	sim_vq_push(&vq, 5, 0);
	sim_vq_publish(&vq);
	assert_true(is_used(4, true));
	assert_int_equal(ring[4].id, 5);
	assert_false(is_used(1, true));
}

/* §4.1.5.2: the doorbell's data must name a position made available. */
static void test_notification_data(void **state)
{
	(void)state;
	put(BUFS, 60, 0, 0);
	put(BUFS, 60, 0, 1);
	assert_int_equal(sim_vq_check_notify(&vq, 3, 3u | 2u << 16 | 1u << 31), 0);
	assert_int_equal(sim_vq_check_notify(&vq, 3, 3u | 1u << 16 | 1u << 31), 0);
	/* Another queue's index, an offset beyond the ring, a position ahead
	 * of what the driver made available. */
	assert_int_equal(sim_vq_check_notify(&vq, 3, 4u | 2u << 16 | 1u << 31), -EPROTO);
	assert_int_equal(sim_vq_check_notify(&vq, 3, 3u | 9u << 16 | 1u << 31), -EPROTO);
	assert_int_equal(sim_vq_check_notify(&vq, 3, 3u | 4u << 16 | 1u << 31), -EPROTO);
	/* Once consumed, an old notification is fine. */
	assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(sim_vq_check_notify(&vq, 3, 3u | 1u << 16 | 1u << 31), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_chain_and_used, setup),
		cmocka_unit_test_setup(test_laps, setup),
		cmocka_unit_test_setup(test_unpop, setup),
		cmocka_unit_test_setup(test_bad_chains, setup),
		cmocka_unit_test_setup(test_event_suppression, setup),
		cmocka_unit_test_setup(test_event_suppression_stalled, setup),
		cmocka_unit_test_setup(test_in_order_batch, setup),
		cmocka_unit_test_setup(test_notification_data, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
