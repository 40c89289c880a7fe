/* SPDX-License-Identifier: MIT */
/*
 * The simulated virtio-net PCI function: what the files of libvnet/sim/
 * share. One struct sim_dev is one PCI function with one vfio-user server.
 *
 *   sim_params.c  device parameters from a URI or vnet-simd's options
 *   sim_pci.c     PCI config space, MSI-X and INTx, vfio-user callbacks, life cycle
 *   sim_virtio.c  BAR0: common configuration, status machine, ISR, interrupts
 *   sim_vq.c      device side of the split virtqueue
 *   sim_net.c     virtio-net: TX/RX of frames, RX filter, control queue, faults
 *   sim_mode.c    where frames go: loopback, pair, tap, sink, source
 *   sim_host.c    the event loop thread serving one or two devices
 *   sim_open.c    vn_sim_open(): sim: URIs in this process
 *
 * All device state is touched by the one thread running the event loop
 * (vfio-user messages are handled in that thread too); only the counters
 * are read from other threads, with relaxed atomics.
 */
#ifndef VN_SIM_DEV_H
#define VN_SIM_DEV_H

#include <stdbool.h>
#include <endian.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "sim/sim.h"
#include "sim/sim_vq.h"
#include "sim/vfu_server.h"

#define SIM_MAX_PAIRS VN_SIM_MAX_PAIRS
#define SIM_MAX_VQS (2 * SIM_MAX_PAIRS + 1)
#define SIM_MAX_VECTORS (2 * SIM_MAX_PAIRS + 2)
#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38 /* virtio 1.2 §6; not in older uAPI headers */
#endif

#define SIM_HDR_LEN ((unsigned)sizeof(struct virtio_net_hdr_v1))
#define SIM_MTU_MAX 9000
#define SIM_FRAME_MAX (SIM_MTU_MAX + 18) /* Ethernet header and one VLAN tag */
#define SIM_GSO_MAX 65550                /* a GSO frame (§5.1.6.3.1: 65562-byte buffers) */
#define SIM_MAC_TABLE 64                 /* entries per MAC filter list */
/* RSS (rss=on): what the device configuration reports (virtio 1.2 §5.1.4:
 * at least 40 key bytes and 128 table entries) and the hash types done. */
#define SIM_RSS_KEY_MAX 40
#define SIM_RSS_TABLE_MAX 128
#define SIM_RSS_HASH_TYPES (VIRTIO_NET_RSS_HASH_TYPE_IPv4 | VIRTIO_NET_RSS_HASH_TYPE_TCPv4 | \
			    VIRTIO_NET_RSS_HASH_TYPE_UDPv4 | VIRTIO_NET_RSS_HASH_TYPE_IPv6 | \
			    VIRTIO_NET_RSS_HASH_TYPE_TCPv6 | VIRTIO_NET_RSS_HASH_TYPE_UDPv6)
#define SIM_MEM_DEFAULT (1ull << 30)     /* mem= default: 1 GiB */
#define SIM_MEM_MIN (1ull << 16)
#define SIM_MEM_MAX (1ull << 36)

/* BAR0 layout (virtio structures) and BAR2 layout (MSI-X). */
#define SIM_BAR0_SIZE 0x4000u
#define SIM_COMMON_OFF 0x0000u
#define SIM_ISR_OFF 0x1000u
#define SIM_DEVCFG_OFF 0x2000u
#define SIM_NOTIFY_OFF 0x3000u
#define SIM_NOTIFY_MULT 4u
#define SIM_MSIX_BAR 2u
#define SIM_BAR2_SIZE 0x1000u
#define SIM_PBA_OFF 0x800u
#define SIM_CFG_SIZE 4096u

enum sim_mode { SIM_LOOPBACK, SIM_PAIR, SIM_TAP, SIM_SINK, SIM_SOURCE };

enum sim_fault {
	SIM_FAULT_NONE,
	SIM_FAULT_BAD_USED_ID,  /* one used entry with id >= queue size */
	SIM_FAULT_BAD_USED_LEN, /* one RX used entry longer than its buffer */
	SIM_FAULT_DUP_USED_ID,  /* one TX id completed twice */
	SIM_FAULT_NEEDS_RESET,  /* DEVICE_NEEDS_RESET + config interrupt */
	SIM_FAULT_DROP_IRQ,     /* no interrupts at all from then on */
	SIM_FAULT_VANISH,       /* hang up on the client mid-traffic */
	SIM_FAULT_LINK_DOWN,    /* link goes down (STATUS) + config interrupt */
	SIM_FAULT_CTRL_STALL,   /* control commands are never answered from then on */
	SIM_FAULT_BAD_RX_CSUM,  /* one RX header: NEEDS_CSUM with csum_start beyond the frame */
	SIM_FAULT_BAD_RX_GSO,   /* one RX header: GSO TCPV4 with gso_size 0 */
};

struct sim_params {
	enum sim_mode mode;
	char arg[64];        /* tap: interface name; pair: wire name */
	unsigned queues;     /* queue pairs offered, 1..SIM_MAX_PAIRS */
	unsigned qsize;      /* maximum queue size, power of 2, 2..1024 */
	unsigned mtu;        /* 68..9000 */
	unsigned size;       /* source: frame length incl. Ethernet header */
	uint8_t mac[6];
	bool mac_set;
	enum sim_fault fault;
	uint64_t fault_after; /* frames before the fault starts */
	bool intx_only;       /* irq=intx: no MSI-X capability, legacy INTx only */
	bool rx_drop;         /* rxfull=drop: loopback/pair drop (and count) a frame that
				 finds no RX buffer, as a NIC does, instead of holding TX */
	uint64_t mem;         /* mem=: bytes of driver memory the device maps, at most */
	unsigned vectors;     /* MSI-X vectors offered; 0: one per queue and config */
	bool notify_data;     /* offer VIRTIO_F_NOTIFICATION_DATA: each doorbell then costs a
			       * message (ioeventfds match 2-byte writes) and is checked */
	bool rss;             /* rss=on: offer VIRTIO_NET_F_RSS */
	bool coalesce;        /* coalesce=on: offer VIRTIO_NET_F_NOTF_COAL */
	bool offload;         /* dev_offload=on (default; loopback and pair only): offer
			       * CSUM, GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6 */
};

/* Notification coalescing of one direction (virtio 1.3 §5.1.6.5.10). */
struct sim_coal {
	uint32_t max_packets, usecs;
};

/* A used-buffer notification held back by coalescing (sim_net.c). */
struct sim_held {
	bool due;          /* the driver asked for one that was not sent yet */
	uint32_t frames;   /* used entries published since */
	uint64_t since_ns; /* CLOCK_MONOTONIC when it became due */
};

struct sim_host;

struct sim_dev {
	struct sim_params p;
	unsigned end;            /* 0, or 1 for the second end of a pair */
	struct vfu_server *srv;  /* NULL in unit tests */
	struct sim_dev *peer;    /* pair mode: the other end of the wire */
	int tap_fd;              /* tap mode, else -1 */
	bool tap_readable;
	bool vanished;           /* vanish fault: stop serving this client */
	bool link_down;          /* link_down fault: VIRTIO_NET_S_LINK_UP clear */
	int kick_fd[SIM_MAX_VQS];

	/* PCI configuration space and BARs (sim_pci.c). */
	uint8_t cfg[SIM_CFG_SIZE];
	uint64_t bar0;
	uint32_t bar2;
	uint8_t msix_table[SIM_MAX_VECTORS * 16];
	unsigned n_vectors;      /* MSI-X table size; 0 with irq=intx */
	unsigned msix_routed;    /* vectors with an eventfd: MSI-X is in use */
	int irq_fd[SIM_MAX_VECTORS];
	int intx_fd;             /* IRQ index 0 (INTx) eventfd, or -1 */
	bool intx_masked;        /* VFIO semantics: masked from each trigger to unmask */

	/* Common configuration (virtio 1.2 §4.1.4.3). */
	uint64_t offered, driver_features;
	uint32_t dfselect, gfselect;
	uint16_t config_vector, qsel;
	uint8_t status, generation, isr;
	unsigned n_vqs;
	struct sim_vq vq[SIM_MAX_VQS];

	/* virtio-net state (§5.1). */
	uint8_t mac[6];
	bool promisc, allmulti;
	unsigned n_uc, n_mc;
	uint8_t uc[SIM_MAC_TABLE][6], mc[SIM_MAC_TABLE][6];
	uint8_t vlan[4096 / 8];
	unsigned active_pairs;
	struct {
		bool on;
		uint32_t types;
		uint16_t mask, unclassified;
		uint16_t table[SIM_RSS_TABLE_MAX];
		uint8_t key_len, key[SIM_RSS_KEY_MAX];
	} rss;                   /* sim_rss.c */
	struct sim_coal coal[2]; /* [0] RX, [1] TX */
	struct sim_held held[SIM_MAX_VQS];

	/* Fault injection. */
	uint64_t frames;         /* frames moved, counted for fault_after */
	bool fault_fired;

	/* Data path scratch: one frame with headroom for the virtio-net header
	 * (SIM_HDR_LEN + SIM_GSO_MAX bytes, allocated apart: 64 KiB inside
	 * would move the fields below and the whole struct to other cache and
	 * page offsets, which cost the RX path a third of its rate), and the
	 * segments of the chains being worked on. */
	uint8_t *buf;
	struct sim_seg seg[SIM_VQ_MAX_SIZE];
	/* Offloads (sim_offload.c): the popped TX frame's header as checked,
	 * one segment being built, and per pair the segments of the frame at
	 * the head of TX already delivered (a receiver out of buffers resumes
	 * there). */
	struct sim_txo {
		uint8_t gso_type;    /* VIRTIO_NET_HDR_GSO_NONE or TCPV4/TCPV6 */
		bool csum_done;      /* NEEDS_CSUM: the device computed it */
		uint16_t mss, l3, l4, hl; /* GSO: segment payload, IP, TCP, payload offsets */
	} txo;
	uint8_t segbuf[SIM_FRAME_MAX];
	unsigned gso_done[SIM_MAX_PAIRS];
	uint8_t source_tpl[SIM_FRAME_MAX];
	/* TX chains completed unsent (tx_bad) since the last round: work too,
	 * so that the loop goes on polling and, when it stops, asks for
	 * notifications at the ring's new position (sim_host.c). */
	unsigned bad_work;
	uint64_t source_seq[SIM_MAX_PAIRS];

	struct vn_sim_stats st;
};

/* Counters have one writer (the device thread) and readers elsewhere. */
#define SIM_ADD(c, n) __atomic_store_n(&(c), __atomic_load_n(&(c), __ATOMIC_RELAXED) + (n), \
				      __ATOMIC_RELAXED)
#define SIM_INC(c) SIM_ADD(c, 1)

/* sim_params.c */
void sim_params_default(struct sim_params *p);
int sim_params_mode(struct sim_params *p, const char *mode, const char *arg);
int sim_params_set(struct sim_params *p, const char *key, const char *val);
int sim_params_check(struct sim_params *p);

/* Little-endian fields of configuration space and device structures. */
static inline void sim_put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline void sim_put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline uint32_t sim_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* sim_pci.c */
extern const struct vfu_dev_ops sim_dev_ops;
int sim_dev_new(const struct sim_params *p, unsigned end, struct sim_dev **out);
void sim_dev_free(struct sim_dev *d);
/* Server configuration for this device (regions, ioeventfds, IRQ counts). */
void sim_dev_server_cfg(struct sim_dev *d, struct vfu_server_cfg *cfg);

/* sim_virtio.c */
/* virtio reset (device_status 0): features, status, queues, net state. */
void sim_virtio_reset(struct sim_dev *d);
/* BAR0 register access; off + len inside BAR0, len 1, 2, 4 or 8. */
int sim_bar0_read(struct sim_dev *d, uint32_t off, void *buf, uint32_t len);
int sim_bar0_write(struct sim_dev *d, uint32_t off, const void *buf, uint32_t len);
bool sim_dev_has(const struct sim_dev *d, unsigned feature);
/* FEATURES_OK and DRIVER_OK set, NEEDS_RESET not: the data path may run. */
bool sim_dev_running(const struct sim_dev *d);
/* Queue q is enabled and its ring mapped (mapping it now if needed; a ring
 * outside mapped memory fails the device). */
bool sim_dev_vq(struct sim_dev *d, unsigned q);
/* The driver broke a rule the device cannot work around: DEVICE_NEEDS_RESET. */
void sim_dev_fail(struct sim_dev *d, int err);
/* Used buffer notification for vq, or the configuration change one. */
void sim_dev_irq_vq(struct sim_dev *d, unsigned q);
void sim_dev_irq_config(struct sim_dev *d);
/* The driver unmasked INTx (VFIO ACTION_UNMASK): the line, when still
 * asserted (ISR status non-zero), fires again. */
void sim_dev_intx_unmask(struct sim_dev *d);
/* Device configuration changed (§4.1.4.3.1: config_generation); notify:
 * send a configuration change notification (not for changes the driver made). */
void sim_dev_config_changed(struct sim_dev *d, bool notify);

/* sim_net.c */
void sim_net_reset(struct sim_dev *d);
/* Copy the next TX chain of pair into d->buf: the frame is at d->buf +
 * SIM_HDR_LEN, *len bytes. Returns 1, 0 (none), <0 (the device failed).
 * Malformed frames are completed and counted here, never returned. */
int sim_net_tx_pop(struct sim_dev *d, unsigned pair, uint16_t *head, uint32_t *len);
void sim_net_tx_done(struct sim_dev *d, unsigned pair, uint16_t head, uint32_t len);
/* Deliver a frame to RX queue pair of d: 1 delivered, 0 filtered or dropped
 * (counted), -EAGAIN no buffer (not counted: the caller decides), other <0
 * the device failed. */
/* With off, the header's offload fields (num_buffers is the device's);
 * NULL: none (all zero). */
int sim_net_rx_hdr(struct sim_dev *d, unsigned pair, const uint8_t *frame, uint32_t len,
		   const struct virtio_net_hdr_v1 *off);
static inline int sim_net_rx(struct sim_dev *d, unsigned pair, const uint8_t *frame, uint32_t len)
{
	return sim_net_rx_hdr(d, pair, frame, len, NULL);
}
/* Serve the control virtqueue; returns commands handled. */
unsigned sim_net_ctrl(struct sim_dev *d);
/* Fault f is configured and its time has come; one-shot faults fire once. */
bool sim_fault_due(struct sim_dev *d, enum sim_fault f);
void sim_net_flush(struct sim_dev *d);

/* Publish used entries and send due notifications for every queue,
 * holding back what coalescing says to; sim_net_hold_ns(): nanoseconds
 * until a held notification is due (0: now), -1 when none is held. */
int64_t sim_net_hold_ns(const struct sim_dev *d);

/* sim_rss.c */
/* The Toeplitz hash of in (len bytes) under key (Microsoft's RSS hash). */
uint32_t sim_toeplitz(const uint8_t *key, unsigned key_len, const uint8_t *in, unsigned len);
/* The queue pair RSS gives frame f (len bytes). */
unsigned sim_rss_queue(const struct sim_dev *d, const uint8_t *f, uint32_t len);
/* Apply an RSS_CONFIG command: 0, or -1 (VIRTIO_NET_ERR) changing nothing. */
int sim_rss_config(struct sim_dev *d, const uint8_t *p, uint32_t len);

/* sim_offload.c (virtio 1.2 §5.1.6.2). sim_offload_tx(): check the header
 * of the TX frame in d->buf (len frame bytes) against the features the
 * driver negotiated and the frame itself, fill d->txo, and compute a
 * NEEDS_CSUM checksum of a frame without GSO; -EINVAL: a header a device
 * must refuse (the caller counts and drops it). sim_offload_deliver():
 * hand that frame to RX pair to_pair of to, as GSO when to negotiated the
 * matching GUEST_TSO, else cut into segments; returns as sim_net_rx(). */
int sim_offload_tx(struct sim_dev *d, uint32_t len);
int sim_offload_deliver(struct sim_dev *d, unsigned pair, struct sim_dev *to, unsigned to_pair,
			uint32_t len);
/* The Internet checksum (RFC 1071) of len bytes, added to sum, not folded. */
uint32_t sim_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t sim_csum_fold(uint32_t sum);

/* sim_mode.c */
int sim_mode_init(struct sim_dev *d);
void sim_mode_fini(struct sim_dev *d);
/* One round of work for d; returns how much was done (0: idle or stalled). */
unsigned sim_mode_service(struct sim_dev *d);

#endif
