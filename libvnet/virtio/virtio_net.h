/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net device (virtio 1.2 §5.1) over any transport (transport.h):
 * feature negotiation, queue pairs, the control queue, and the zero-copy
 * burst calls behind vnet_tx_reserve() and friends.
 *
 * Memory: one DMA region per device holds every ring and every buffer.
 * Each descriptor owns one buffer; the 12-byte virtio_net_hdr_v1 sits in the
 * buffer's headroom right before the frame, which starts VN_NET_HEADROOM
 * bytes into its slot (cache-line aligned). Slots are powers of two and
 * aligned to their size, so none crosses a device-contiguous boundary
 * (vn_dma_contig()) unless a slot is larger than that span, which open
 * refuses.
 *
 * Threading: a queue pair is used by one thread at a time and takes no
 * lock; the control queue has a mutex; "broken" is a device-wide flag.
 */
#ifndef VN_VIRTIO_NET_H
#define VN_VIRTIO_NET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vnet/vnet.h"
#include "evq.h"
#include "port.h"
#include "virtio/transport.h"
#include "virtio/virtqueue.h"

#define VN_NET_HDR_LEN 12u     /* sizeof(struct virtio_net_hdr_v1), virtio 1.2 §5.1.6 */
#define VN_NET_HEADROOM 64u    /* frame offset in its slot */
#define VN_NET_RX_MRG_SLOT 2048u /* RX slot with VIRTIO_NET_F_MRG_RXBUF */
#define VN_NET_MAX_PAIRS_DEFAULT 16u
#define VN_NET_QSIZE_DEFAULT 256u
#define VN_NET_CTRL_TIMEOUT_MS 1000
#define VN_NET_CLOSE_DRAIN_MS 200 /* vn_net_close(): time frames in flight get to leave */
#define VN_NET_ETH_OVERHEAD 18u /* Ethernet header and one VLAN tag */
#define VN_NET_MAC_MAX 64u /* MAC filter entries, unicast and multicast (vnet_dev_filters) */
#define VN_NET_GSO_MAX ((uint32_t)VNET_GSO_FRAME_MAX) /* GSO frame, virtio 1.2 §5.1.6.3.1 */

/* The offload metadata of a received frame, as the driver checked it
 * (virtio_net_offload.c): a private copy, which the device cannot rewrite
 * after the check. start: the id is the first buffer of a peeked frame. */
struct vn_rx_meta {
	uint16_t gso_size, hdr_len, csum_start, csum_offset;
	uint8_t flags, gso_type, start;
};

struct vn_net;

/* A queue pair: the port-independent part first (port.h), so that a
 * struct vnet_queue pointer converts back with vn_netq(). */
struct vn_netq {
	struct vnet_queue pub; /* rx_fd/tx_fd: interrupt eventfds (-1: polled) */
	struct vq rx, tx;
	struct vn_net *net;
	uint32_t tx_cap;       /* frame bytes a TX buffer holds (max MTU + 18) */
	uint32_t frame_max;    /* the MTU's limit, <= tx_cap: relaxed atomic (vnet_dev_set_mtu()) */
	bool mrg;              /* VIRTIO_NET_F_MRG_RXBUF */
	/* VNET_DEV_F_OFFLOAD (virtio_net_offload.c): TX headers are the
	 * application's (vnet_tx_offload()), RX headers are checked and kept
	 * in rx_meta (qsize entries); gso_cap: TX buffer capacity with
	 * HOST_TSO4/6, else 0. */
	bool offload;
	uint32_t gso_cap;
	struct vn_rx_meta *rx_meta;
	uint32_t health_ticks; /* see vn_net_health() */
	bool parked;           /* auto reset: rings rebuilt, waiting for the device (reset_lock) */
	struct vnet_queue_stats st; /* VN_STAT_ADD() by the queue's thread; kicks from the vqs */
	/* Frames lost to auto resets (xstats reset_rx_dropped, reset_tx_dropped):
	 * VN_STAT_ADD() by the queue's thread (or, for a queue nobody holds, by
	 * the reset under reset_lock). */
	uint64_t reset_rx_lost, reset_tx_lost;
} __attribute__((aligned(64)));

static inline struct vn_netq *vn_netq(struct vnet_queue *q)
{
	return (struct vn_netq *)q; /* pub is the first member (C11 §6.7.2.1p15) */
}

/* The driver's frame limit, MTU + 18 (vnet_dev_set_mtu() may change it
 * from another thread: one relaxed load, no ordering needed). */
static inline uint32_t vn_net_frame_max(const struct vn_netq *q)
{
	return __atomic_load_n(&q->frame_max, __ATOMIC_RELAXED);
}

struct vn_net_cfg {
	unsigned queue_pairs;   /* 0: min(offered, VN_NET_MAX_PAIRS_DEFAULT) */
	/* Called with each device event queued (any thread, under the event
	 * lock; must not block), for the port's observer; NULL: none. */
	void (*notify)(void *arg, int type);
	void *notify_arg;
	unsigned queue_size;    /* 0: min(VN_NET_QSIZE_DEFAULT, device maximum) */
	uint64_t features_mask; /* bits not to negotiate */
	uint64_t features_need; /* bits to require besides the usual ones (ring=packed) */
	/*
	 * The device is handed physical addresses (VFIO no-IOMMU mode), which is
	 * what a device without VIRTIO_F_ACCESS_PLATFORM uses (virtio 1.2 §6.1),
	 * so the bit is negotiated when offered but not required.
	 */
	bool phys_addrs;
	bool auto_reset;        /* VNET_DEV_F_AUTO_RESET (virtio_net_reset.c) */
	bool offload;           /* VNET_DEV_F_OFFLOAD: negotiate the offloads (virtio_net_offload.c) */
};

struct vn_net {
	struct vn_vtr *t;
	uint64_t features;
	uint8_t mac[6];
	uint16_t mtu;
	uint16_t max_pairs, pairs, qsize;
	uint8_t broken;        /* device-wide, atomically accessed */
	bool ctrl_ok;          /* the control queue is set up */
	bool offload;          /* VNET_DEV_F_OFFLOAD asked for */
	struct vn_netq *q;  /* pairs entries */
	struct vq ctrl;
	pthread_mutex_t ctrl_lock;
	struct vn_dma_mem mem;
	/* Interrupts (virtio_net_irq.c): the eventfd and event engine source
	 * of each MSI-X vector in use; vector 0 is the config vector. With
	 * relay (one interrupt for everything: INTx, or a single MSI-X
	 * vector), irq_fd[1] is the interrupt's and irq_fd[0] the queues'. */
	unsigned n_irq;
	bool intx, relay;
	int *irq_fd;
	uint32_t *irq_src;
	uint32_t gone_src;     /* engine source of the transport's gone_fd(); 0: none */
	int dead_fd;           /* one vector per queue: the queues' err_fd (port.h),
				  written once as the device breaks; -1: none */
	/* Device events from configuration change interrupts (under ev_lock). */
	pthread_mutex_t ev_lock;
	struct vn_evq evq;
	int link;              /* last link state seen: 1 up, 0 down */
	uint16_t cfg_mtu;      /* last config mtu seen (VNET_EV_CONFIG when it moves) */
	bool reset_seen;       /* NEEDS_RESET (or a vanished device) reported */
	/* Auto reset (virtio_net_reset.c): reset_lock orders the steps and
	 * excludes settings; resetting: the device was reset for the failure
	 * at hand; restoring: the reset itself runs control commands. */
	bool auto_reset;
	pthread_mutex_t reset_lock;
	bool resetting, restoring;
	uint64_t resets;       /* completed (xstats dev_resets), under reset_lock */
	void (*notify)(void *arg, int type); /* see vn_net_cfg */
	void *notify_arg;
	/* Settings (virtio_net_ctl.c), changed under device.c's set lock;
	 * mtu above is the largest MTU (what the buffers were sized for). The
	 * atomic ones are read by other threads without that lock. */
	unsigned iff;          /* VNET_IFF_PROMISC/ALLMULTI as the device has them (atomic) */
	uint16_t cur_mtu;      /* vnet_dev_set_mtu() (atomic) */
	uint16_t active_pairs; /* VQ_PAIRS_SET (atomic) */
	unsigned n_mac;
	uint8_t mac_tab[VN_NET_MAC_MAX][6]; /* in the order added */
	uint64_t vlan[4096 / 64];           /* VLAN ids accepted, a bit each */
	/* RSS (VIRTIO_NET_F_RSS): the device's limits (config space, read at
	 * open) and the configuration last accepted; coalescing
	 * (VIRTIO_NET_F_NOTF_COAL) likewise, zero after reset (§5.1.6.5.10). */
	struct vnet_rss rss;
	struct vnet_coalesce coal;
	/* Driver counters (VN_STAT_ADD; vnet_dev_xstats()). */
	uint64_t ctrl_cmds, ctrl_errors; /* under ctrl_lock */
	uint64_t events;                 /* device events queued, under ev_lock */
};

/*
 * Reset the device behind t, negotiate, set up the queues and bring it to
 * DRIVER_OK with every RX buffer posted. t stays the caller's. 0 or -errno.
 */
int vn_net_open(struct vn_vtr *t, const struct vn_net_cfg *cfg, struct vn_net **out);

/*
 * Give the frames the device was handed up to VN_NET_CLOSE_DRAIN_MS to be
 * sent, then reset the device (bounded wait) and free everything but the
 * transport. A reset drops whatever the device has not processed yet.
 */
void vn_net_close(struct vn_net *n);

/* Wait at most timeout_ms for every TX queue to have no frame in flight. */
void vn_net_tx_drain(struct vn_net *n, unsigned timeout_ms);

/* Live link state: 1 up, 0 down (VIRTIO_NET_S_LINK_UP; up without STATUS). */
int vn_net_link_up(struct vn_net *n, int *up);

/*
 * Run a control command (virtio 1.2 §5.1.6.5) and wait, at most
 * VN_NET_CTRL_TIMEOUT_MS, for the device's ack. -EIO when the device
 * answered VIRTIO_NET_ERR; -ETIMEDOUT (device marked broken) when it never
 * answered; -ENOTSUP without a control queue.
 */
int vn_net_ctrl(struct vn_net *n, uint8_t cls, uint8_t cmd, const void *data, size_t len);

/* Copy the counters of q into st (sz is the caller's). */
void vn_net_queue_stats(struct vnet_queue *q, struct vnet_queue_stats *st);

/*
 * Check that the device is alive and not asking for a reset (a status read
 * and devio's alive(): system calls, so the data path calls it only when a
 * queue stalls or every so many bursts). Marks the device broken when not.
 */
void vn_net_health(struct vn_netq *q);

/*
 * Interrupts (virtio_net_irq.c). vn_net_irq_plan() runs after the queues
 * are sized and before they are set up: it creates one eventfd per vector,
 * routes them (devio set_irqs) and programs and reads back the vectors
 * (virtio 1.2 §4.1.5.1.2), falling back from one vector per queue to two
 * shared ones, to one, to legacy INTx, to none (the device is then polled). The control
 * queue is polled. vn_net_irq_start() registers the vectors with the event
 * engine once the device runs, with the transport's gone_fd() (a vfio-user
 * server hanging up breaks the device and wakes every waiter at once);
 * vn_net_irq_stop() undoes both, after reset.
 */
int vn_net_irq_plan(struct vn_net *n);
/* The vector routed to eventfd fd (VIRTIO_MSI_NO_VECTOR for -1). */
uint16_t vn_net_irq_vector(const struct vn_net *n, int fd);
int vn_net_irq_start(struct vn_net *n);
void vn_net_irq_stop(struct vn_net *n);

/* Re-read status and link after a configuration change interrupt (or from
 * the health check): queue VNET_EV_* events and mark the device broken on
 * NEEDS_RESET. */
void vn_net_config_event(struct vn_net *n);

/* The device is gone or failed for good (why, logged once): mark it broken
 * and queue VNET_EV_NEEDS_RESET, once per device; any thread. */
void vn_net_fail(struct vn_net *n, const char *why);

/* Take the oldest queued device event: 1 (in *type), 0 when none. */
int vn_net_event_pop(struct vn_net *n, int *type);

/* Queue a device event from the driver itself (VNET_EV_SETTINGS), tell
 * the observer, and make the config eventfd readable. */
void vn_net_event_push(struct vn_net *n, int type);

/*
 * Settings (virtio_net_ctl.c; port.h's set and filters; the caller
 * serialises them). vn_net_flags(): VNET_IFF_* for vnet_dev_info(), any
 * thread.
 */
int vn_net_set(struct vn_net *n, const struct vn_set *s);
/* Read back VN_SET_RSS (struct vnet_rss) or VN_SET_COALESCE (struct vnet_coalesce). */
int vn_net_get(struct vn_net *n, enum vn_set_kind kind, void *out);
void vn_net_filters(struct vn_net *n, struct vnet_dev_filters *f);
unsigned vn_net_flags(struct vn_net *n);
/* Auto reset: send the driver's settings to the freshly reset device
 * (reset_lock held, n->restoring set). 0 or -errno. */
int vn_net_restore(struct vn_net *n);

/*
 * Auto reset (virtio_net_reset.c). vn_net_recover(): the slow path of q's
 * own thread found VN_STOP_RESET: take part in the reset (rebuild q's
 * rings; the last queue to do so brings the device back). Returns the
 * VN_STOP_* bits left afterwards. vn_net_rearm_config(): after a reset,
 * the config vector again (virtio_net_irq.c).
 */
uint8_t vn_net_recover(struct vn_netq *q);
int vn_net_rearm_config(struct vn_net *n);
/* The setup values of vq for the transport (virtio_net.c). */
void vn_net_vq_place(struct vn_net *n, const struct vq *vq, int irq_fd, struct vn_vtr_queue *tq);

/*
 * Used-buffer notifications of a virtqueue (virtio 1.2 §2.7.7, §2.7.10).
 * vn_net_arm(): ask for one and re-check: returns true when the ring
 * already has work (notifications are then off again); false means it is
 * safe to sleep until the interrupt. vn_net_disarm(): no interrupts while
 * the caller polls. vn_net_ready(): work waits, without side effects but
 * TX reclaim (RX: used entries; TX: a free buffer).
 */
bool vn_net_arm(struct vnet_queue *q, bool tx);
void vn_net_disarm(struct vnet_queue *q, bool tx);
bool vn_net_ready(struct vnet_queue *q, bool tx);

/*
 * Offloads (virtio_net_offload.c), with VNET_DEV_F_OFFLOAD only.
 * vn_net_offload_accept(): the offload bits of offered to negotiate, with
 * their dependencies (virtio 1.2 §5.1.3.1) and libvnet's own (GUEST_TSO
 * only with MRG_RXBUF, HOST_TSO not with physical addresses), each bit left
 * out logged. vn_net_offloads(): the
 * VNET_OFFLOAD_* bits of the negotiated features. vn_net_tx_check():
 * submit's check of a burst against the headers vnet_tx_offload() wrote
 * (0, -EMSGSIZE or -EINVAL). vn_net_rx_hdr(): check the header the device
 * wrote for a frame of total bytes whose first buffer is b, and keep it in
 * rx_meta; false: impossible, drop it.
 */
uint64_t vn_net_offload_accept(uint64_t offered, uint64_t accept, bool phys_addrs);
unsigned vn_net_offloads(const struct vn_net *n);
int vn_net_tx_check(struct vn_netq *q, const struct vnet_buf *bufs, unsigned n);
bool vn_net_rx_hdr(struct vn_netq *q, const struct vnet_buf *b, unsigned nb, uint32_t total);
int vn_net_tx_offload(struct vnet_queue *q, const struct vnet_buf *b, const struct vnet_offload *off);
int vn_net_rx_offload(struct vnet_queue *q, const struct vnet_buf *b, struct vnet_offload *off);

/* The burst calls; same contracts as the public vnet_* functions, but
 * returning the count or -errno. One set per ring layout (split, and
 * _packed for VIRTIO_F_RING_PACKED), from virtio_net_rxtx_body.h; the port
 * installs one at open. tx_reclaim: take back what the device sent, 0 or
 * -1 (device broken). */
#define VN_NET_BURST_CALLS(sfx) \
	int vn_net_tx_reserve##sfx(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n); \
	int vn_net_tx_submit##sfx(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n); \
	int vn_net_rx_peek##sfx(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n); \
	int vn_net_rx_release##sfx(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n); \
	int vn_net_tx_reclaim##sfx(struct vq *vq)
VN_NET_BURST_CALLS();
VN_NET_BURST_CALLS(_packed);

#endif
