/* SPDX-License-Identifier: MIT */
/*
 * The simulated virtio-net device (see vnet-simd(8)): a modern virtio-net PCI
 * function behind a vfio-user server, run in-process for sim: URIs and as
 * its own process by vnet-simd.
 */
#ifndef VN_SIM_H
#define VN_SIM_H

#include "uri.h"
#include "iommu/devio.h"

/* One end of an in-process simulated device, as vn_sim_open() opened it. */
struct vn_sim;

/*
 * Start the device a sim: URI describes in a thread of this process and
 * open it through the vfio-user client over a socketpair. Closing the devio
 * stops the device (for sim:pair, when both ends are closed). *sim (when
 * sim is not NULL) is a handle on this very device end for
 * vn_sim_dev_stats(), valid until the devio is closed: unlike a name, it
 * cannot mean another device (two sim:loopback open at once).
 */
int vn_sim_open(const struct vn_uri *u, struct vn_devio **out, struct vn_sim **sim);

#define VN_SIM_MAX_PAIRS 8

/*
 * Frames of sim:source: destination the device's MAC, source
 * 02:76:6e:ff:ff:fe, EtherType 0x88b5 (IEEE local experimental), the 64-bit
 * little-endian sequence number of the queue pair (from 0) at this offset,
 * then byte i of the frame is (i & 0xff).
 */
#define VN_SIM_SOURCE_SEQ_OFF 14

/* Counters of one queue pair of a simulated device (see vnet-simd(8)). */
struct vn_sim_qp_stats {
	uint64_t tx_frames, tx_bytes;  /* frames the driver sent */
	uint64_t tx_dropped;           /* sent but lost: tap write failed, no peer */
	uint64_t tx_bad;               /* malformed (short, oversize): completed unsent */
	uint64_t rx_frames, rx_bytes;  /* frames delivered to the driver */
	uint64_t rx_dropped_no_buffer; /* no (large enough) RX buffer: dropped */
	uint64_t rx_filtered;          /* refused by the RX filter (MAC, VLAN, mode) */
	uint64_t kicks;                /* available buffer notifications (both queues) */
	uint64_t irqs;                 /* used buffer notifications sent (both queues) */
};

struct vn_sim_stats {
	unsigned n_pairs;
	struct vn_sim_qp_stats qp[VN_SIM_MAX_PAIRS];
	uint64_t ctrl_ok, ctrl_err;    /* control queue commands acked OK / ERR */
	uint64_t bad_desc;             /* ring violations (each sets NEEDS_RESET) */
	uint64_t faults;               /* injected faults fired */
	uint64_t cpu_ns;               /* CPU time of the device thread */
	uint64_t intx;                 /* legacy INTx interrupts signalled (no MSI-X) */
};

/*
 * Counters of an in-process device, found by name: the wire of
 * sim:pair=NAME/END, the interface of sim:tap=IFNAME, else the mode
 * ("loopback", "sink", "source"); among several, the newest. end is 0, or
 * 1 for the second end of a pair. -ENOENT when no such device is open.
 */
int vn_sim_stats(const char *name, unsigned end, struct vn_sim_stats *st);

/* Counters of the device end sim (from vn_sim_open()). */
void vn_sim_dev_stats(const struct vn_sim *sim, struct vn_sim_stats *st);

#endif
