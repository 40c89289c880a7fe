/* SPDX-License-Identifier: MIT */
/*
 * 82574 data path: legacy RX descriptors (§7.1.4) and legacy TX
 * descriptors (§7.2.2) on one queue pair. No locks, no system calls but the
 * tail write (at most one per burst, and only where BAR0 is not mapped is
 * that a system call).
 *
 * What the device writes back is checked before it is used: a DD bit on a
 * descriptor the driver never handed over, or a length larger than the
 * buffer, marks the device broken (counted in bad_writebacks); the driver
 * never reads or writes outside its rings and buffers on the device's say.
 */
#include "e1000e/e1000e.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"

static inline uint32_t ring_bytes(uint32_t n)
{
	return VN_ALIGN_UP(n * 16u, 4096u);
}

size_t e1k_mem_size(uint32_t n, uint32_t slot)
{
	return VN_ALIGN_UP((size_t)2 * ring_bytes(n), (size_t)slot) + (size_t)2 * n * slot;
}

size_t e1k_ring_bytes(uint32_t n)
{
	return ring_bytes(n);
}

static inline uint8_t *buf_va(struct e1k_q *q, uint16_t id)
{
	struct e1k *e = q->dev;
	size_t off = VN_ALIGN_UP((size_t)2 * ring_bytes(q->size), (size_t)q->slot);

	return (uint8_t *)e->mem.va + off + (size_t)id * q->slot;
}

static inline uint64_t buf_iova(struct e1k_q *q, uint16_t id)
{
	return vn_dma_iova(&q->dev->mem, buf_va(q, id));
}

/* Descriptors the device holds on the RX ring. */
static inline uint32_t rx_posted(const struct e1k_q *q)
{
	return (q->rx_tail - q->rx_next) & q->mask;
}

/* The DD bit of a descriptor, read once (the device writes it). */
static inline uint8_t status_of(const uint8_t *status)
{
	return __atomic_load_n(status, __ATOMIC_RELAXED);
}

/* A descriptor the driver did not hand over has its DD bit set: the device
 * wrote where it must not (the driver clears every status it consumes). */
static bool stray_dd(struct e1k_q *q, const uint8_t *status, const char *ring, uint32_t at)
{
	if (VN_LIKELY(!(status_of(status) & 0x01)))
		return false;
	VN_STAT_ADD(q->bad_wb, 1);
	e1k_fail(q->dev, "%s descriptor %u written back, but it was never handed to the device",
		 ring, at);
	return true;
}

/* Post the free RX buffers (up to size - 1 descriptors: RDT == RDH means
 * empty, §7.1.3), then move RDT once. */
static void rx_refill(struct e1k_q *q)
{
	uint32_t start = q->rx_tail;

	while (q->n_rx_free && rx_posted(q) < q->size - 1) {
		uint16_t id = q->rx_free[--q->n_rx_free];
		struct e1k_rx_desc *d = &q->rxd[q->rx_tail];

		d->addr = buf_iova(q, id);
		d->status = 0;
		q->rx_id[q->rx_tail] = id;
		q->state[id] = E1K_DEV;
		q->rx_tail = (q->rx_tail + 1) & q->mask;
	}
	if (q->rx_tail == start)
		return;
	/* §7.1.3: descriptors must be in memory before the tail passes them. */
	e1k_wmb();
	e1k_wr(q->dev, E1K_RDT, q->rx_tail); /* §10.2.5.x RDT: hand them over */
	VN_STAT_ADD(q->st.rx_kicks, 1);
}

void e1k_rings_init(struct e1k *e)
{
	struct e1k_q *q = &e->q;
	uint32_t n = q->size;

	q->rxd = (struct e1k_rx_desc *)e->mem.va;
	q->txd = (struct e1k_tx_desc *)(void *)((uint8_t *)e->mem.va + ring_bytes(n));
	memset(e->mem.va, 0, 2 * (size_t)ring_bytes(n));
	q->rx_next = q->rx_tail = q->tx_clean = q->tx_tail = 0;
	q->rx_skip = false;
	/* RX buffers 0 .. n-1; TX buffers n .. 2n-2 (a TX ring holds n - 1). */
	for (uint32_t i = 0; i < n; i++)
		q->rx_free[i] = (uint16_t)(n - 1 - i);
	q->n_rx_free = n;
	for (uint32_t i = 0; i + 1 < n; i++)
		q->tx_free[i] = (uint16_t)(2 * n - 2 - i);
	q->n_tx_free = n - 1;
	memset(q->state, E1K_FREE, 2 * (size_t)n);
}

/* Ring registers: base, length, head and tail zero (§7.1.3, §7.2.3 init). */
void e1k_rings_program(struct e1k *e)
{
	struct e1k_q *q = &e->q;
	uint64_t rx = vn_dma_iova(&e->mem, q->rxd), tx = vn_dma_iova(&e->mem, q->txd);
	uint32_t len = q->size * 16u; /* a multiple of 128 (size >= 8) */

	e1k_wr(e, E1K_RDBAL, (uint32_t)rx);
	e1k_wr(e, E1K_RDBAH, (uint32_t)(rx >> 32));
	e1k_wr(e, E1K_RDLEN, len);
	e1k_wr(e, E1K_RDH, 0);
	e1k_wr(e, E1K_RDT, 0);
	e1k_wr(e, E1K_TDBAL, (uint32_t)tx);
	e1k_wr(e, E1K_TDBAH, (uint32_t)(tx >> 32));
	e1k_wr(e, E1K_TDLEN, len);
	e1k_wr(e, E1K_TDH, 0);
	e1k_wr(e, E1K_TDT, 0);
}

void e1k_rx_start(struct e1k *e)
{
	rx_refill(&e->q);
}

static int down(void)
{
	return vn_err(-ENETDOWN, "the device is broken or was reset; reopen it");
}

static int stopped(uint8_t stop)
{
	return stop & VN_STOP_BROKEN ? down() : vn_port_admin_down();
}

static inline uint8_t stop_bits(const struct e1k_q *q)
{
	return __atomic_load_n(q->pub.broken, __ATOMIC_RELAXED);
}

static inline uint32_t frame_max(const struct e1k_q *q)
{
	return __atomic_load_n(&q->frame_max, __ATOMIC_RELAXED);
}

/* Take back what the device finished sending (§7.2.3.1: DD, with RS set
 * on every descriptor). -1 when the device is broken. */
static int tx_reclaim(struct e1k_q *q)
{
	while (q->tx_clean != q->tx_tail) {
		struct e1k_tx_desc *d = &q->txd[q->tx_clean];
		uint16_t id;

		if (!(status_of(&d->status) & E1K_TXD_DD))
			return 0;
		d->status = 0;
		id = q->tx_id[q->tx_clean];
		q->state[id] = E1K_FREE;
		q->tx_free[q->n_tx_free++] = id;
		q->tx_clean = (q->tx_clean + 1) & q->mask;
	}
	return stray_dd(q, &q->txd[q->tx_tail].status, "TX", q->tx_tail) ? -1 : 0;
}

void e1k_tx_drain(struct e1k *e, unsigned ms)
{
	struct timespec pause = { 0, 100000 };

	for (unsigned i = 0; i < ms * 10u && e->q.tx_clean != e->q.tx_tail; i++) {
		if ((__atomic_load_n(&e->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN) ||
		    tx_reclaim(&e->q))
			return;
		nanosleep(&pause, NULL);
	}
}

int e1k_tx_reserve(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n)
{
	struct e1k_q *q = e1k_q(pub);
	uint8_t stop = stop_bits(q);
	uint32_t cap;
	unsigned got;

	if (VN_UNLIKELY(stop))
		return stopped(stop);
	/* Lazy reclaim: only when the free stack runs low. */
	if ((q->n_tx_free < n || q->n_tx_free < q->size / 4u) && VN_UNLIKELY(tx_reclaim(q)))
		return down();
	got = VN_MIN(n, q->n_tx_free);
	cap = frame_max(q);
	for (unsigned i = 0; i < got; i++) {
		uint16_t id = q->tx_free[--q->n_tx_free];

		q->state[id] = E1K_APP;
		bufs[i] = (struct vnet_buf){ .data = buf_va(q, id), .len = cap, .id = id };
	}
	return (int)got;
}

/*
 * Check a whole burst of application-held buffers (ids in [lo, hi)) before
 * touching a ring, so that a bad one leaves everything as it was; marking
 * them free for the moment also catches the same id twice.
 */
static int claim(struct e1k_q *q, const struct vnet_buf *bufs, unsigned n, uint32_t lo,
		 uint32_t hi, uint32_t cap)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t id = bufs[i].id;
		int err = 0;

		if (id < lo || id >= hi || q->state[id] != E1K_APP)
			err = vn_err(-EINVAL, "buffer %u (id %u) is not one the application holds", i, id);
		else if (bufs[i].len > cap)
			err = vn_err(-EMSGSIZE, "buffer %u: %u bytes, capacity %u", i, bufs[i].len, cap);
		if (err) {
			while (i--)
				q->state[bufs[i].id] = E1K_APP;
			return err;
		}
		q->state[id] = E1K_FREE;
	}
	return 0;
}

int e1k_tx_submit(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n)
{
	struct e1k_q *q = e1k_q(pub);
	uint8_t stop = stop_bits(q);
	uint32_t start = q->tx_tail;
	int rc;

	if (VN_UNLIKELY(stop))
		return stopped(stop);
	rc = claim(q, bufs, n, q->size, 2 * q->size - 1, frame_max(q));
	if (VN_UNLIKELY(rc)) {
		if (rc == -EMSGSIZE)
			VN_STAT_ADD(q->st.tx_errors, 1);
		return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		struct e1k_tx_desc *d = &q->txd[q->tx_tail];
		uint16_t id = bufs[i].id;

		if (!bufs[i].len) {
			q->tx_free[q->n_tx_free++] = id;
			continue;
		}
		/* §7.2.2: one buffer per frame (EOP), CRC by the device (IFCS),
		 * DD written back (RS); no offloads. Reserved buffers number at
		 * most size - 1, so the ring cannot overrun. */
		d->addr = buf_iova(q, id);
		d->len = (uint16_t)bufs[i].len;
		d->cso = d->css = 0;
		d->special = 0;
		d->status = 0;
		d->cmd = E1K_TXD_EOP | E1K_TXD_IFCS | E1K_TXD_RS;
		q->tx_id[q->tx_tail] = id;
		q->state[id] = E1K_DEV;
		q->tx_tail = (q->tx_tail + 1) & q->mask;
		VN_STAT_ADD(q->st.tx_packets, 1);
		VN_STAT_ADD(q->st.tx_bytes, bufs[i].len);
	}
	if (q->tx_tail != start) {
		/* §7.2.3: descriptors in memory before the tail moves past them. */
		e1k_wmb();
		e1k_wr(q->dev, E1K_TDT, q->tx_tail); /* §10.2.6.x TDT */
		VN_STAT_ADD(q->st.tx_kicks, 1);
	}
	return (int)n;
}

static void rx_drop(struct e1k_q *q, uint16_t id, bool error)
{
	q->rx_free[q->n_rx_free++] = id;
	if (error)
		VN_STAT_ADD(q->st.rx_errors, 1);
	VN_STAT_ADD(q->st.rx_dropped, 1);
}

/*
 * Take up to n frames the device wrote back, in ring order. Drops (each
 * counted): frames flagged bad (§7.1.4.3 errors), empty or longer than the
 * MTU allows, frames spanning several buffers (longer than the buffer
 * size: every piece until EOP, counted once), and every frame while
 * administratively down (keep false).
 */
static int rx_take(struct e1k_q *q, struct vnet_buf *bufs, unsigned n, bool keep)
{
	uint32_t lim = frame_max(q), posted = rx_posted(q), free_before = q->n_rx_free;
	unsigned out = 0;

	while (out < n && posted) {
		struct e1k_rx_desc *d = &q->rxd[q->rx_next];
		uint8_t st = status_of(&d->status), err;
		uint16_t len, id;

		if (!(st & E1K_RXD_DD))
			break;
		e1k_rmb(); /* §7.1.4.1: the rest of the descriptor only after DD */
		len = d->len;
		err = d->errors;
		id = q->rx_id[q->rx_next];
		if (VN_UNLIKELY(len > q->slot)) {
			VN_STAT_ADD(q->bad_wb, 1);
			e1k_fail(q->dev, "RX descriptor %u: length %u exceeds its %u-byte buffer",
				 q->rx_next, len, q->slot);
			return down();
		}
		d->status = 0; /* so that only a fresh write-back passes for one */
		q->rx_next = (q->rx_next + 1) & q->mask;
		posted--;
		if (VN_UNLIKELY(q->rx_skip || !(st & E1K_RXD_EOP))) {
			q->rx_skip = !(st & E1K_RXD_EOP);
			if (q->rx_skip)
				q->rx_free[q->n_rx_free++] = id;
			else
				rx_drop(q, id, true); /* the frame's last piece: counted once */
			continue;
		}
		if (VN_UNLIKELY(!keep || (err & E1K_RXE_MASK) || len == 0 || len > lim)) {
			rx_drop(q, id, keep);
			continue;
		}
		q->state[id] = E1K_APP;
		bufs[out++] = (struct vnet_buf){ .data = buf_va(q, id), .len = len, .id = id };
		VN_STAT_ADD(q->st.rx_packets, 1);
		VN_STAT_ADD(q->st.rx_bytes, len);
	}
	if (!posted && stray_dd(q, &q->rxd[q->rx_tail].status, "RX", q->rx_tail))
		return down();
	/* Dropped buffers go back at once (one tail write); returned ones wait
	 * for rx_release(), which refills in bulk. */
	if (q->n_rx_free != free_before)
		rx_refill(q);
	return (int)out;
}

int e1k_rx_peek(struct vnet_queue *pub, struct vnet_buf *bufs, unsigned n)
{
	struct e1k_q *q = e1k_q(pub);
	uint8_t stop = stop_bits(q);

	if (VN_UNLIKELY(stop)) {
		if (stop & VN_STOP_BROKEN)
			return down();
		return rx_take(q, NULL, UINT32_MAX, false) < 0 ? -ENETDOWN : 0;
	}
	return rx_take(q, bufs, n, true);
}

int e1k_rx_release(struct vnet_queue *pub, const struct vnet_buf *bufs, unsigned n)
{
	struct e1k_q *q = e1k_q(pub);
	int rc;

	if (VN_UNLIKELY(stop_bits(q) & VN_STOP_BROKEN))
		return down();
	rc = claim(q, bufs, n, 0, q->size, UINT32_MAX);
	if (VN_UNLIKELY(rc))
		return rc;
	for (unsigned i = 0; i < n; i++)
		q->rx_free[q->n_rx_free++] = bufs[i].id;
	/* Bulk refill: one tail write for the whole burst. */
	rx_refill(q);
	return 0;
}

bool e1k_ready(struct vnet_queue *pub, bool tx)
{
	struct e1k_q *q = e1k_q(pub);

	if (stop_bits(q) & VN_STOP_BROKEN)
		return true; /* the next call reports ENETDOWN */
	if (tx)
		return q->n_tx_free || (q->tx_clean != q->tx_tail &&
					(status_of(&q->txd[q->tx_clean].status) & E1K_TXD_DD));
	return rx_posted(q) && (status_of(&q->rxd[q->rx_next].status) & E1K_RXD_DD);
}

/*
 * §7.4: a cause interrupts while its IMS bit is set. With MSI-X the RX and
 * TX causes auto-clear and auto-mask as their message is sent (EIAC,
 * §10.2.4.4; IAME clear), so an armed direction interrupts once. Arm: set
 * the bit, full barrier, look at the ring once more.
 */
bool e1k_arm(struct vnet_queue *pub, bool tx)
{
	struct e1k_q *q = e1k_q(pub);
	struct e1k *e = q->dev;

	if (!e->n_irq)
		return e1k_ready(pub, tx);
	/* §10.2.4.1 ICR, write 1 to clear: the cause as it was set while the
	 * direction was masked would interrupt at once, for work the check
	 * below finds anyway. */
	e1k_wr(e, E1K_ICR, tx ? e->tx_cause : e->rx_cause);
	e1k_wr(e, E1K_IMS, tx ? e->tx_cause : e->rx_cause); /* §10.2.4.5 IMS */
	/* The mask write before the ring check: a write-back after the check
	 * then interrupts. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!e1k_ready(pub, tx))
		return false;
	e1k_disarm(pub, tx);
	return true;
}

void e1k_disarm(struct vnet_queue *pub, bool tx)
{
	struct e1k_q *q = e1k_q(pub);
	struct e1k *e = q->dev;

	if (e->n_irq)
		e1k_wr(e, E1K_IMC, tx ? e->tx_cause : e->rx_cause); /* §10.2.4.6 IMC */
}
