/* SPDX-License-Identifier: MIT */
/*
 * The simulated device's side of the split virtqueue (libvnet/sim/sim_vq.c)
 * against rings written by hand in a fake guest memory: chain walking and
 * every validation rule, used ring entries, and both notification
 * suppression schemes (flags and VIRTIO_F_RING_EVENT_IDX).
 *
 * vfu_dma_ptr() is replaced here: IOVA BASE.. maps the array mem[].
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim/sim_vq.h"
#include "sim/vfu_server.h"

#define BASE 0x100000ull
#define QSZ 8
#define DESC 0x0000
#define AVAIL 0x1000
#define USED 0x2000
#define BUFS 0x4000

static uint8_t mem[0x8000] __attribute__((aligned(4096)));

/* With remote set, mem is memory the client kept (vfu_server.h): no
 * pointer, every access a DMA message, logged as "w 0x200+5". */
static bool remote;
static char dma_log[16][32];
static unsigned n_log;

void *vfu_dma_ptr(struct vfu_server *s, uint64_t iova, uint64_t len, bool write)
{
	if (remote || iova < BASE || iova - BASE > sizeof(mem) || len > sizeof(mem) - (iova - BASE))
		return NULL;
	return mem + (iova - BASE);
}

int vfu_dma_rw(struct vfu_server *s, uint64_t iova, void *buf, uint64_t len, bool write)
{
	if (!remote || iova < BASE || iova - BASE > sizeof(mem) || len > sizeof(mem) - (iova - BASE))
		return -EFAULT;
	if (n_log < 16)
		snprintf(dma_log[n_log++], sizeof(dma_log[0]), "%c %#llx+%llu", write ? 'w' : 'r',
			 (unsigned long long)(iova - BASE), (unsigned long long)len);
	memmove(write ? mem + (iova - BASE) : buf, write ? buf : mem + (iova - BASE), len);
	return 0;
}

static struct vring_desc *desc = (struct vring_desc *)(void *)(mem + DESC);
static struct vring_avail *avail = (struct vring_avail *)(void *)(mem + AVAIL);
static struct vring_used *used = (struct vring_used *)(void *)(mem + USED);

static struct sim_vq vq;
static struct sim_seg seg[QSZ];
static struct sim_chain c;

static int setup(void **state)
{
	remote = *state != NULL;
	memset(mem, 0, sizeof(mem));
	memset(&vq, 0, sizeof(vq));
	vq.max_size = QSZ;
	sim_vq_reset(&vq);
	vq.desc_iova = BASE + DESC;
	vq.avail_iova = BASE + AVAIL;
	vq.used_iova = BASE + USED;
	vq.enabled = true;
	assert_int_equal(sim_vq_map(&vq, NULL), 0);
	return 0;
}

static void set_desc(unsigned i, uint64_t off, uint32_t len, uint16_t flags, uint16_t next)
{
	desc[i].addr = BASE + off;
	desc[i].len = len;
	desc[i].flags = flags;
	desc[i].next = next;
}

static void make_avail(uint16_t head)
{
	avail->ring[avail->idx % QSZ] = head;
	avail->idx++;
}

static int pop(void)
{
	return sim_vq_pop(&vq, NULL, seg, QSZ, &c);
}

static void test_chain(void **state)
{
	set_desc(3, BUFS, 10, VRING_DESC_F_NEXT, 5);
	set_desc(5, BUFS + 0x100, 0, VRING_DESC_F_NEXT, 6); /* empty: skipped */
	set_desc(6, BUFS + 0x200, 20, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7);
	set_desc(7, BUFS + 0x300, 30, VRING_DESC_F_WRITE, 0);
	assert_int_equal(pop(), 0); /* nothing available yet */
	make_avail(3);
	assert_int_equal(pop(), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.out_len, 10);
	assert_int_equal(c.in_len, 50);
	assert_ptr_equal(c.seg[0].p, mem + BUFS);
	assert_ptr_equal(c.seg[1].p, mem + BUFS + 0x200);
	assert_int_equal(c.seg[2].len, 30);
	assert_int_equal(pop(), 0);
	/* given back, the same chain comes again */
	sim_vq_unpop(&vq, 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(c.head, 3);
}

/* Rings and buffers in memory the client kept: the same chain by message,
 * its readable buffer copied in at pop, exactly the bytes the device wrote
 * copied back at push, before the used entry, before used->idx (§2.7.8.2). */
static void test_remote(void **state)
{
	static const char *const order[] = { "w 0x4200+5", "w 0x2004+8", "w 0x2002+2" };

	set_desc(3, BUFS, 10, VRING_DESC_F_NEXT, 6);
	set_desc(6, BUFS + 0x200, 20, VRING_DESC_F_WRITE, 0);
	memcpy(mem + BUFS, "abcdefghij", 10);
	memset(mem + BUFS + 0x200, 0xee, 20);
	make_avail(3);
	assert_int_equal(pop(), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 1);
	assert_true(c.seg[0].p < mem || c.seg[0].p >= mem + sizeof(mem)); /* a copy */
	assert_memory_equal(c.seg[0].p, "abcdefghij", 10);
	memcpy(c.seg[1].p, "HELLO", 5);
	n_log = 0;
	sim_vq_push(&vq, 3, 5);
	sim_vq_publish(&vq);
	assert_true(n_log >= 3);
	for (unsigned i = 0; i < 3; i++)
		assert_string_equal(dma_log[i], order[i]);
	assert_memory_equal(mem + BUFS + 0x200, "HELLO", 5);
	assert_int_equal(mem[BUFS + 0x200 + 5], 0xee); /* not written: not copied back */
	assert_int_equal(used->ring[0].id, 3);
	assert_int_equal(used->ring[0].len, 5);
	assert_int_equal(used->idx, 1);
	sim_vq_unmap(&vq);
}

static void test_too_many_segments(void **state)
{
	unsigned i;

	for (i = 0; i < QSZ; i++)
		set_desc(i, BUFS + 16 * i, 16, i + 1 < QSZ ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	make_avail(0);
	assert_int_equal(sim_vq_pop(&vq, NULL, seg, QSZ - 1, &c), -ENOSPC);
	assert_int_equal(vq.last_avail, 0); /* nothing consumed */
	assert_int_equal(pop(), 1);
	assert_int_equal(c.n_out, QSZ);
}

/* Each broken ring is refused with -EPROTO. */
static void expect_broken(void)
{
	assert_int_equal(pop(), -EPROTO);
	assert_int_equal(vq.last_avail, 0);
}

static void test_head_out_of_range(void **state)
{
	make_avail(QSZ);
	expect_broken();
}

static void test_next_out_of_range(void **state)
{
	set_desc(0, BUFS, 10, VRING_DESC_F_NEXT, QSZ);
	make_avail(0);
	expect_broken();
}

static void test_loop(void **state)
{
	set_desc(0, BUFS, 10, VRING_DESC_F_NEXT, 1);
	set_desc(1, BUFS, 10, VRING_DESC_F_NEXT, 0);
	make_avail(0);
	expect_broken();
}

static void test_readable_after_writable(void **state)
{
	set_desc(0, BUFS, 10, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(1, BUFS, 10, 0, 0);
	make_avail(0);
	expect_broken();
}

static void test_indirect(void **state)
{
	set_desc(0, BUFS, 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_broken();
}

static void test_unmapped_buffer(void **state)
{
	set_desc(0, sizeof(mem) - 8, 16, 0, 0); /* runs past the mapping */
	make_avail(0);
	expect_broken();
	desc[0].addr = 0x1000; /* below it */
	expect_broken();
	desc[0].addr = UINT64_MAX - 4; /* wraps */
	expect_broken();
}

static void test_avail_idx_jump(void **state)
{
	avail->idx = QSZ + 1; /* more entries than the ring holds */
	expect_broken();
}

static void test_map_checks(void **state)
{
	vq.desc_iova = BASE + 8; /* descriptors need 16-byte alignment */
	assert_int_equal(sim_vq_map(&vq, NULL), -EFAULT);
	assert_false(sim_vq_ready(&vq));
	vq.desc_iova = BASE + DESC;
	vq.used_iova = BASE + USED + 2; /* used ring needs 4 */
	assert_int_equal(sim_vq_map(&vq, NULL), -EFAULT);
	vq.used_iova = BASE + sizeof(mem) - 16; /* not all of it mapped */
	assert_int_equal(sim_vq_map(&vq, NULL), -EFAULT);
	/* the device resumes at the used index the ring holds */
	vq.used_iova = BASE + USED;
	used->idx = 5;
	assert_int_equal(sim_vq_map(&vq, NULL), 0);
	assert_true(sim_vq_ready(&vq));
	sim_vq_push(&vq, 1, 2);
	sim_vq_publish(&vq);
	assert_int_equal(used->idx, 6);
	assert_int_equal(used->ring[5].id, 1);
}

static void test_used_and_flags(void **state)
{
	sim_vq_push(&vq, 4, 100);
	sim_vq_push(&vq, 2, 0);
	assert_int_equal(used->idx, 0); /* not visible before publish */
	assert_true(sim_vq_publish(&vq));
	assert_int_equal(used->idx, 2);
	assert_int_equal(used->ring[0].id, 4);
	assert_int_equal(used->ring[0].len, 100);
	assert_int_equal(used->ring[1].id, 2);
	assert_false(sim_vq_publish(&vq)); /* nothing new */
	/* without EVENT_IDX the driver's NO_INTERRUPT flag suppresses */
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	sim_vq_push(&vq, 1, 1);
	assert_false(sim_vq_publish(&vq));
	avail->flags = 0;
	sim_vq_push(&vq, 1, 1);
	assert_true(sim_vq_publish(&vq));
	/* and the device's NO_NOTIFY flag is what it writes */
	sim_vq_notify(&vq, false);
	assert_int_equal(used->flags, VRING_USED_F_NO_NOTIFY);
	sim_vq_notify(&vq, true);
	assert_int_equal(used->flags, 0);
}

static void test_event_idx(void **state)
{
	uint16_t *used_event = &avail->ring[QSZ];
	uint16_t *avail_event = (uint16_t *)(void *)&used->ring[QSZ];

	vq.event_idx = true;
	*used_event = 2; /* interrupt when entry 2 is used */
	sim_vq_push(&vq, 0, 0);
	assert_false(sim_vq_publish(&vq)); /* idx 0 -> 1 */
	sim_vq_push(&vq, 0, 0);
	assert_false(sim_vq_publish(&vq)); /* 1 -> 2 */
	sim_vq_push(&vq, 0, 0);
	sim_vq_push(&vq, 0, 0);
	assert_true(sim_vq_publish(&vq)); /* 2 -> 4 passes entry 2 */
	sim_vq_push(&vq, 0, 0);
	assert_false(sim_vq_publish(&vq)); /* already past it */
	*used_event = 5;
	sim_vq_push(&vq, 0, 0);
	assert_true(sim_vq_publish(&vq)); /* 5 -> 6 */
	/* wrap-around of the 16-bit indices */
	vq.used_idx = vq.published = vq.signalled = 0xfffe;
	*used_event = 0xffff;
	sim_vq_push(&vq, 0, 0);
	sim_vq_push(&vq, 0, 0);
	assert_true(sim_vq_publish(&vq)); /* 0xfffe -> 0 passes 0xffff */

	/* avail_event: the device asks to be notified of what comes after
	 * the entries it has seen (avail->idx 2 here, though it took one) */
	set_desc(0, BUFS, 10, 0, 0);
	make_avail(0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	sim_vq_notify(&vq, false);
	*avail_event = 0x77;
	sim_vq_notify(&vq, false);
	assert_int_equal(*avail_event, 0x77); /* off: left behind */
	sim_vq_notify(&vq, true);
	assert_int_equal(*avail_event, 2);
	assert_int_equal(used->flags, 0); /* flags unused with EVENT_IDX */
	/* a fresh look at avail->idx after enabling */
	assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 0);
}

/*
 * A device that stopped short of what it needs (a frame's worth of RX
 * buffers: one is there, it gave it back) must be notified when the driver
 * adds the next one. Asking from its own position (last_avail) would not
 * be: the driver had already published past it, so its next publish does
 * not cross that event (vring_need_event()), and a loopback stalled until
 * some other kick (vnetperf -a socket -s 9000: 460 frames/s, 70 000 after).
 */
static void test_event_idx_stalled(void **state)
{
	uint16_t *avail_event = (uint16_t *)(void *)&used->ring[QSZ];
	uint16_t old;

	(void)state;
	vq.event_idx = true;
	set_desc(0, BUFS, 10, VRING_DESC_F_WRITE, 0);
	set_desc(1, BUFS + 16, 10, VRING_DESC_F_WRITE, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	sim_vq_unpop(&vq, 1); /* one buffer is not enough */
	sim_vq_notify(&vq, true);
	/* The driver adds buffer 1: avail->idx 1 -> 2. */
	old = avail->idx;
	make_avail(1);
	assert_true(vring_need_event(*avail_event, avail->idx, old));
	/* Both are there now. */
	assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 1);
}

/* §4.1.5.2: split notification data names an avail idx already published. */
static void test_notification_data(void **state)
{
	(void)state;
	set_desc(0, BUFS, 60, 0, 0);
	make_avail(0);
	make_avail(0);
	assert_int_equal(sim_vq_check_notify(&vq, 2, 2u | 2u << 16), 0);
	assert_int_equal(sim_vq_check_notify(&vq, 2, 2u | 1u << 16), 0);
	assert_int_equal(sim_vq_check_notify(&vq, 2, 2u | 3u << 16), -EPROTO);
	assert_int_equal(sim_vq_check_notify(&vq, 2, 1u | 2u << 16), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_chain, setup),
		cmocka_unit_test_prestate_setup_teardown(test_remote, setup, NULL, (void *)1),
		cmocka_unit_test_setup(test_too_many_segments, setup),
		cmocka_unit_test_setup(test_head_out_of_range, setup),
		cmocka_unit_test_setup(test_next_out_of_range, setup),
		cmocka_unit_test_setup(test_loop, setup),
		cmocka_unit_test_setup(test_readable_after_writable, setup),
		cmocka_unit_test_setup(test_indirect, setup),
		cmocka_unit_test_setup(test_unmapped_buffer, setup),
		cmocka_unit_test_setup(test_avail_idx_jump, setup),
		cmocka_unit_test_setup(test_map_checks, setup),
		cmocka_unit_test_setup(test_used_and_flags, setup),
		cmocka_unit_test_setup(test_event_idx, setup),
		cmocka_unit_test_setup(test_event_idx_stalled, setup),
		cmocka_unit_test_setup(test_notification_data, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
