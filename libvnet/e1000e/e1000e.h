/* SPDX-License-Identifier: MIT */
/*
 * The Intel 82574 (e1000e) driver: one queue pair over device access
 * (iommu/devio.h), behind the port seam (port.h).
 *   e1000e.c       open, reset, link, interrupts, events, counters, port ops
 *   e1000e_set.c   settings: receive filters and RCTL
 *   e1000e_rxtx.c  the descriptor rings and the burst calls
 *
 * Memory: one DMA region holds both rings and every buffer. A buffer's id
 * is its slot number (RX ids 0..n-1, TX ids n..2n-2: a TX ring holds n - 1
 * frames, so one TX slot stays unused); descriptors carry any
 * buffer, so the application may hand RX buffers back in any order. Slots
 * are a power of two (the RCTL buffer size) and aligned to their size, so
 * none crosses a device-contiguous boundary (vn_dma_contig()).
 *
 * Threading: the queue pair belongs to one thread at a time; settings are
 * serialised by device.c; events and counters have their own locks.
 */
#ifndef VN_E1000E_H
#define VN_E1000E_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "evq.h"
#include "iommu/devio.h"
#include "port.h"
#include "e1000e/e1000e_regs.h"

#define E1K_QSIZE_DEFAULT 256u
#define E1K_QSIZE_MAX 4096u
#define E1K_MTU_DEFAULT 1500u
#define E1K_MTU_MIN 68u
#define E1K_MTU_MAX 9000u         /* jumbo frames up to 9018 bytes */
#define E1K_ETH_OVERHEAD 18u      /* Ethernet header and one VLAN tag */
#define E1K_MAC_MAX 64u           /* filter entries (vnet_dev_filters) */

/* Buffer states, one byte per id. */
enum { E1K_FREE, E1K_DEV, E1K_APP };

struct e1k;

struct e1k_q {
	struct vnet_queue pub;    /* first: a struct vnet_queue * converts back */
	struct e1k *dev;
	uint32_t size, mask;      /* descriptors per ring, a power of two */
	uint32_t slot;            /* bytes per buffer (RCTL.BSIZE) */
	uint32_t frame_max;       /* MTU + 18: relaxed atomic (vnet_dev_set_mtu()) */
	uint8_t *state;           /* 2 * size buffer ids: E1K_FREE/DEV/APP */
	/* RX: descriptors [rx_next, rx_tail) are the device's. */
	struct e1k_rx_desc *rxd;
	uint16_t *rx_id;          /* the buffer in each RX descriptor */
	uint32_t rx_next, rx_tail;
	bool rx_skip;             /* dropping the rest of a frame that spans buffers */
	uint16_t *rx_free;        /* RX buffers to post again */
	uint32_t n_rx_free;
	/* TX: descriptors [tx_clean, tx_tail) are in flight. */
	struct e1k_tx_desc *txd;
	uint16_t *tx_id;
	uint32_t tx_clean, tx_tail;
	uint16_t *tx_free;        /* TX buffer ids free to reserve */
	uint32_t n_tx_free;
	struct vnet_queue_stats st; /* VN_STAT_ADD() by the queue's thread */
	uint64_t bad_wb;          /* write-backs refused (the device is then broken) */
} __attribute__((aligned(64)));

static inline struct e1k_q *e1k_q(struct vnet_queue *q)
{
	return (struct e1k_q *)q; /* pub is the first member (C11 §6.7.2.1p15) */
}

/* Counters kept from the clear-on-read statistics registers (§10.2.7). */
enum { E1K_N_HWSTATS = 16 };

struct e1k {
	struct vn_port port;      /* first (port.h) */
	struct vn_devio *d;
	volatile uint8_t *bar;    /* BAR0 mapped; NULL: region_read/write */
	uint8_t broken;           /* VN_STOP_* (atomic) */
	uint8_t mac[6];           /* station address (atomic bytes: info()) */
	uint16_t mtu, max_mtu;    /* mtu: atomic */
	unsigned iff;             /* VNET_IFF_PROMISC/ALLMULTI (atomic) */
	struct e1k_q q;
	struct vn_dma_mem mem;
	/* Interrupts: MSI-X (irq_fd[0] other causes, [1] RX, [2] TX), MSI
	 * (relayed: irq_fd[1] the vector's, irq_fd[0] everyone else's), or
	 * none (polled). */
	unsigned n_irq;
	bool msi;
	int irq_fd[3];
	uint32_t irq_src[3];
	uint32_t gone_src;
	uint32_t rx_cause, tx_cause; /* IMS bits that arm each direction */
	/* Events (under ev_lock). */
	pthread_mutex_t ev_lock;
	struct vn_evq evq;
	int link;                 /* last seen: 1 up, 0 down */
	bool failed;
	uint64_t events;
	/* Statistics registers, accumulated (under st_lock). */
	pthread_mutex_t st_lock;
	uint64_t hw[E1K_N_HWSTATS];
	/* Settings (device.c's lock). */
	unsigned n_mac;
	uint8_t mac_tab[E1K_MAC_MAX][6];
	uint64_t vlan[4096 / 64];
	unsigned n_vlan;
};

/* Registers (§10.1): 32-bit accesses, through the mapping or devio. A
 * failed devio access reads as all ones, as a vanished PCI device does. */
static inline uint32_t e1k_rd(struct e1k *e, uint32_t off)
{
	uint32_t v;

	if (e->bar)
		return *(volatile uint32_t *)(void *)(e->bar + off);
	if (vn_devio_read(e->d, E1K_BAR, off, &v, sizeof(v)))
		return UINT32_MAX;
	return v;
}

static inline void e1k_wr(struct e1k *e, uint32_t off, uint32_t v)
{
	if (e->bar)
		*(volatile uint32_t *)(void *)(e->bar + off) = v;
	else
		(void)vn_devio_write(e->d, E1K_BAR, off, &v, sizeof(v));
}

/*
 * Barriers. The 82574 is a DMA master: descriptor stores must reach memory
 * before the tail write that hands them over (§7.1.4/§7.2.3: the device
 * reads descriptors once the tail passes them), and a descriptor's other
 * fields may be read only after its DD bit (§7.1.4.1, §7.2.3.1). On x86
 * stores to memory are ordered before a later uncached MMIO store and loads
 * are not reordered with loads, so a compiler fence suffices for reads and
 * a full fence (mfence) is used for writes to stay correct with write-
 * combined mappings; arm64 needs the outer shareable domain.
 */
static inline void e1k_wmb(void)
{
#if defined(__aarch64__)
	__asm__ volatile("dmb oshst" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static inline void e1k_rmb(void)
{
#if defined(__aarch64__)
	__asm__ volatile("dmb oshld" ::: "memory");
#else
	__atomic_signal_fence(__ATOMIC_ACQUIRE);
#endif
}

/* The device misbehaved or vanished: break it, queue NEEDS_RESET, once. */
void e1k_fail(struct e1k *e, const char *fmt, ...) VN_PRINTF(2, 3);

/* Queue a device event, tell the observer, wake vnet_dev_event_fd(). */
void e1k_event_push(struct e1k *e, int type);

/* Settings (e1000e_set.c): RCTL from the settings and the buffer size; the
 * filters emptied (RAR[1..15], MTA, VFTA); port.h's set and filters. */
void e1k_write_rctl(struct e1k *e);
void e1k_write_rar0(struct e1k *e); /* the station address into RAR[0] */
void e1k_clear_filters(struct e1k *e);
int e1k_set(struct vn_port *p, const struct vn_set *s);
void e1k_filters(struct vn_port *p, struct vnet_dev_filters *f);

/* Rings (e1000e_rxtx.c). e1k_rings_init() lays them out in e->mem (already
 * mapped) and posts every RX buffer but one; e1k_rings_program() writes
 * their registers (§7.1.3, §7.2.3 setup order). */
void e1k_rings_init(struct e1k *e);
/* Bytes of DMA memory for rings of n descriptors and 2n slot-byte buffers;
 * bytes of one ring (each must be device-contiguous). */
size_t e1k_mem_size(uint32_t n, uint32_t slot);
size_t e1k_ring_bytes(uint32_t n);
void e1k_rings_program(struct e1k *e);
/* Post the RX buffers: once RCTL.EN is set (§7.1.3: the tail is written
 * after the receiver is enabled). */
void e1k_rx_start(struct e1k *e);
/* Wait at most ms for TX descriptors in flight to be written back. */
void e1k_tx_drain(struct e1k *e, unsigned ms);

int e1k_tx_reserve(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n);
int e1k_tx_submit(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n);
int e1k_rx_peek(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n);
int e1k_rx_release(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n);
bool e1k_ready(struct vnet_queue *q, bool tx);
bool e1k_arm(struct vnet_queue *q, bool tx);
void e1k_disarm(struct vnet_queue *q, bool tx);

#endif
