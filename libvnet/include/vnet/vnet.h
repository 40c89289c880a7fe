/* SPDX-License-Identifier: MIT */
/**
 * @file vnet.h
 * @brief libvnet device and zero-copy queue API.
 *
 * A device is opened by URI (see libvnet(7)):
 *  - `vfio:DDDD:BB:DD.F[?mode=cdev|group|noiommu]`  a PCI function bound to vfio-pci
 *  - `vfio-user:/path/to/socket`                   a vfio-user device server
 *  - `sim:loopback`, `sim:pair=NAME/0`, `sim:tap=IFNAME`, `sim:sink`, `sim:source`
 *                                                  the built-in simulated device
 *  - `tap:IFNAME`                                  a kernel TAP interface
 *  - `xdp:IFNAME[@QUEUE][?attach=drv|skb]`         AF_XDP sockets on a kernel interface
 * The last two are the same API over the kernel's TAP and AF_XDP: a
 * fallback where no VFIO device exists, and what vnetperf compares with.
 * Options follow a `?` as `key=value` pairs joined by `&` (for example
 * `sim:loopback?queues=2&mtu=9000`).
 *
 * Every function returns -1 (or NULL) and sets errno on failure;
 * vnet_last_error() then says why in words. The library never aborts.
 *
 * Threading: a device may be used from several threads, but each queue pair
 * belongs to one thread at a time (as with DPDK queues and AF_XDP sockets).
 */
#ifndef VNET_VNET_H
#define VNET_VNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks the symbols libvnet exports. */
#define VNET_API __attribute__((visibility("default")))

/** An open device. */
struct vnet_dev;
/** One queue pair (an RX and a TX virtqueue) of an open device. */
struct vnet_queue;

/** How a `vfio:` device is reached. */
enum vnet_vfio_mode {
	VNET_VFIO_AUTO = 0, /**< cdev+iommufd, else group+type1, else no-IOMMU */
	VNET_VFIO_CDEV,     /**< /dev/vfio/devices/vfioN bound to /dev/iommu */
	VNET_VFIO_GROUP,    /**< /dev/vfio/N group in a type1 container */
	VNET_VFIO_NOIOMMU,  /**< unsafe no-IOMMU group (device sees physical addresses) */
};

/**
 * Options of vnet_dev_open(). Initialise with VNET_DEV_OPTS_INIT so that
 * fields added later take their defaults.
 */
struct vnet_dev_opts {
	size_t sz;                    /**< sizeof(struct vnet_dev_opts) */
	unsigned queue_pairs;         /**< queue pairs to set up; 0: all the device offers (at most 16) */
	unsigned queue_size;          /**< ring entries per virtqueue; 0: min(256, device maximum) */
	enum vnet_vfio_mode vfio_mode; /**< overrides `?mode=` and VNET_VFIO_MODE when not AUTO */
	uint64_t features_mask;       /**< virtio feature bits the driver must not negotiate */
	unsigned flags;               /**< VNET_DEV_F_* (also from the URI: `reset=auto`) */
};

/**
 * vnet_dev_opts::flags: recover from DEVICE_NEEDS_RESET by resetting the
 * device (virtio 1.2 §2.1.2) instead of leaving it broken. The driver
 * resets it, negotiates the same features, sets the queues up at the same
 * places and restores the settings (MTU, up/down, promisc, allmulti,
 * station address, MAC and VLAN filters, queue pairs). Frames in the rings
 * at the reset are counted as dropped: received but not yet taken in
 * rx_dropped, and, in the xstats, "reset_rx_dropped" and
 * "reset_tx_dropped" (sent, but the device never completed them, or sent
 * while the reset ran); "dev_resets" counts the resets. The reset runs in
 * the calls the application makes anyway: until it is done, burst calls
 * return 0 and waits sleep (not VNET_WAIT_ERR); vnet_dev_event() reports
 * VNET_EV_NEEDS_RESET, then VNET_EV_RESET_DONE. Every queue pair handed
 * out by vnet_dev_queue() takes part (each on its own thread), so each
 * must keep being used or waited on. Settings changed while a reset runs
 * fail with EAGAIN. A device that cannot be reset (gone, or it no longer
 * offers the features) turns broken as without this flag. virtio devices
 * only; tap: and xdp: ignore it.
 */
#define VNET_DEV_F_AUTO_RESET 0x1

/**
 * vnet_dev_opts::flags: negotiate the checksum and TCP segmentation
 * offloads the device offers (also from the URI: `offload=on`), and use
 * them through vnet_tx_offload() and vnet_rx_offload(). Off by default: a
 * device with offloads may hand the application frames whose checksum is
 * only partial, and GSO frames of up to 64 KiB; a program that did not ask
 * for them must never see such frames. virtio devices only (tap:, xdp: and
 * e1000e refuse the offload calls with EOPNOTSUPP).
 */
#define VNET_DEV_F_OFFLOAD 0x2

/** Default options. */
#define VNET_DEV_OPTS_INIT { .sz = sizeof(struct vnet_dev_opts) }

/**
 * Open a device and bring it to DRIVER_OK with its queues ready.
 * @param uri  device URI
 * @param opts options, or NULL for the defaults
 * @param devp receives the device
 * @return 0, or -1 with errno (ENOENT no such device, EACCES permissions,
 *         ENOTSUP the device lacks a required feature, EINVAL bad URI or option)
 */
VNET_API int vnet_dev_open(const char *uri, const struct vnet_dev_opts *opts,
			   struct vnet_dev **devp);

/**
 * Close a device: frames already submitted get up to 200 ms to be sent,
 * then the device is reset, its memory released and its access closed.
 * NULL is ignored.
 */
VNET_API void vnet_dev_close(struct vnet_dev *dev);

/** What vnet_dev_info() reports. */
struct vnet_dev_info {
	size_t sz;                  /**< sizeof(struct vnet_dev_info), set by the caller */
	char uri[256];              /**< the URI the device was opened with */
	char access[16];            /**< "vfio-cdev", "vfio-group", "vfio-noiommu", "vfio-user", "tap" or "af_xdp" */
	uint8_t mac[6];             /**< station MAC address */
	uint16_t mtu;               /**< largest frame payload sent and received (default 1500; vnet_dev_set_mtu()) */
	uint16_t max_queue_pairs;   /**< queue pairs the device offers */
	uint16_t queue_pairs;       /**< queue pairs in use */
	uint16_t queue_size;        /**< entries per virtqueue */
	uint64_t features;          /**< negotiated virtio feature bits */
	int link_up;                /**< 1 when the device reports link up */
	int broken;                 /**< 1 once the device misbehaved and was stopped */
	/* Fields below were added in libvnet 0.2; a caller's smaller sz leaves them out. */
	unsigned flags;             /**< VNET_IFF_* bits: administrative state and RX mode */
	uint16_t max_mtu;           /**< largest MTU vnet_dev_set_mtu() accepts: what the buffers were sized for at open */
	uint16_t active_pairs;      /**< queue pairs the device delivers to (vnet_dev_set_queue_pairs()) */
	char name[16];              /**< control-plane name ("vnet0", or `?name=`); "" without a control socket */
	/* Added in libvnet 0.3. */
	char driver[16];            /**< the driver: "virtio-net", "e1000e" (chosen by the PCI function's ids), "tap" or "xdp" */
	/* Added in libvnet 0.4. */
	unsigned offloads;          /**< VNET_OFFLOAD_* bits negotiated (0 unless opened with VNET_DEV_F_OFFLOAD) */
};

/** vnet_dev_info::flags: administratively up; frames move only while it is set. */
#define VNET_IFF_UP 0x1
/** vnet_dev_info::flags: the device delivers frames for every destination. */
#define VNET_IFF_PROMISC 0x2
/** vnet_dev_info::flags: the device delivers every multicast frame. */
#define VNET_IFF_ALLMULTI 0x4

/** Fill @p info (whose sz the caller sets). @return 0, or -1 with errno. */
VNET_API int vnet_dev_info(struct vnet_dev *dev, struct vnet_dev_info *info);

/** Per queue pair counters (ethtool-style names in vnetconf). */
struct vnet_queue_stats {
	size_t sz;            /**< sizeof(struct vnet_queue_stats), set by the caller */
	uint64_t rx_packets;  /**< frames handed to the application */
	uint64_t rx_bytes;    /**< their bytes (without the virtio-net header) */
	uint64_t rx_dropped;  /**< frames discarded before the application saw them, for any reason */
	uint64_t rx_errors;   /**< of those: malformed by the device (bad length, chain, header) or too long */
	uint64_t tx_packets;  /**< frames handed to the device */
	uint64_t tx_bytes;    /**< their bytes */
	uint64_t tx_errors;   /**< frames refused (too long), or that the kernel refused (tap:, xdp:) */
	uint64_t rx_kicks;    /**< RX doorbell writes (tap: read() calls; xdp: fill-ring wake-ups) */
	uint64_t tx_kicks;    /**< TX doorbell writes (tap: write() calls; xdp: TX wake-ups) */
};

/** Read the counters of queue pair @p qp. @return 0, or -1 with errno. */
VNET_API int vnet_queue_stats(struct vnet_dev *dev, unsigned qp,
			      struct vnet_queue_stats *stats);

/**
 * @name Device settings
 * What `ip link set`, `ip maddr` and `bridge vlan` do for a kernel
 * interface. Each call changes the device itself where the device
 * implements the setting (virtio-net: its control queue, virtio 1.2
 * §5.1.6.5; tap:/xdp:: the kernel interface, through its ioctls) and fails
 * with EOPNOTSUPP, and a reason in vnet_last_error(), where it does not:
 * nothing is faked. On virtio-net a setting needs its feature bit
 * (VIRTIO_NET_F_CTRL_RX, _CTRL_MAC_ADDR, _CTRL_VLAN, _MQ, each with
 * VIRTIO_NET_F_CTRL_VQ); tap: and xdp: have no unicast filter entries,
 * VLAN filter or queue-pair setting, and tap:'s station address is its
 * `mac=` option. A command the device refuses fails with EIO. The MTU and
 * the administrative state are also the driver's own (below). A change
 * that took effect queues a VNET_EV_SETTINGS event; a refused one changes
 * nothing. Any thread may call these; they take the device's control
 * lock, never a queue's.
 * @{
 */

/**
 * Set the MTU (68 .. vnet_dev_info::max_mtu): frames longer than MTU + 18
 * are refused on send (EMSGSIZE, tx_errors) and dropped on receive
 * (rx_dropped, rx_errors). virtio-net has no MTU command: this is the
 * driver's limit; tap: and xdp: also set the interface's MTU.
 * @return 0, or -1 with errno (ERANGE outside 68 .. max_mtu; what the
 *         kernel says for tap:/xdp:, e.g. EPERM)
 */
VNET_API int vnet_dev_set_mtu(struct vnet_dev *dev, unsigned mtu);

/**
 * Bring the device administratively up (@p up 1, the state after open) or
 * down (0). While down, sends fail with ENETDOWN and frames that arrive are
 * dropped and counted (rx_dropped) as vnet_rx_peek() meets them, which
 * then returns 0. This is the driver's state (vnet_dev_info::flags
 * VNET_IFF_UP): the device, or the kernel interface of tap:/xdp: (shared
 * with the host), keeps its own. @return 0, or -1 with errno
 */
VNET_API int vnet_dev_set_up(struct vnet_dev *dev, int up);

/**
 * Promiscuous reception on (1) or off (0). A virtio-net device starts
 * promiscuous (as QEMU's does); off, it delivers frames to the station
 * address, broadcast, and the filter entries (vnet_dev_mac_add()).
 * @return 0, or -1 with errno
 */
VNET_API int vnet_dev_set_promisc(struct vnet_dev *dev, int on);

/** Reception of every multicast frame on (1) or off (0). @return 0, or -1 with errno */
VNET_API int vnet_dev_set_allmulti(struct vnet_dev *dev, int on);

/**
 * Set the station MAC address (unicast, not zero): what vnet_dev_info()
 * reports and the device's RX filter accepts (virtio-net MAC_ADDR_SET;
 * xdp: the interface's address). @return 0, or -1 with errno (EINVAL,
 * EOPNOTSUPP)
 */
VNET_API int vnet_dev_set_mac(struct vnet_dev *dev, const uint8_t mac[6]);

/**
 * Spread received frames over the first @p n queue pairs (1 .. queue_pairs
 * opened; virtio-net VQ_PAIRS_SET, §5.1.6.5.5); vnet_dev_info::active_pairs
 * follows. @return 0, or -1 with errno (EINVAL out of range, EOPNOTSUPP)
 */
VNET_API int vnet_dev_set_queue_pairs(struct vnet_dev *dev, unsigned n);

/**
 * Accept (add) or stop accepting (del) frames sent to @p mac besides the
 * station address: a unicast or, with the group bit set, multicast filter
 * entry (virtio-net: MAC_TABLE_SET; tap:/xdp:: multicast only,
 * SIOCADDMULTI). @return 0, or -1 with errno (EEXIST, ENOENT, ENOSPC: the
 * filter holds 64 entries, EOPNOTSUPP)
 */
VNET_API int vnet_dev_mac_add(struct vnet_dev *dev, const uint8_t mac[6]);
/** See vnet_dev_mac_add(). */
VNET_API int vnet_dev_mac_del(struct vnet_dev *dev, const uint8_t mac[6]);

/**
 * Accept (add) or drop (del) frames tagged with VLAN @p vid (0 .. 4095).
 * A virtio-net device with VIRTIO_NET_F_CTRL_VLAN filters VLANs from the
 * start: with promiscuous mode off, a tagged frame passes only when its
 * VLAN was added (§5.1.6.5.3). virtio-net only.
 * @return 0, or -1 with errno (EINVAL, EEXIST, ENOENT, EOPNOTSUPP)
 */
VNET_API int vnet_dev_vlan_add(struct vnet_dev *dev, unsigned vid);
/** See vnet_dev_vlan_add(). */
VNET_API int vnet_dev_vlan_del(struct vnet_dev *dev, unsigned vid);

/** The MAC and VLAN filters a device holds (vnet_dev_filters()). */
struct vnet_dev_filters {
	size_t sz;             /**< sizeof(struct vnet_dev_filters), set by the caller */
	unsigned n_mac;        /**< entries of mac[] in use */
	uint8_t mac[64][6];    /**< unicast and multicast addresses added */
	unsigned n_vlan;       /**< entries of vlan[] in use */
	uint16_t vlan[64];     /**< the first 64 VLAN ids accepted, ascending */
};

/** Read the filters of @p dev. @return 0, or -1 with errno */
VNET_API int vnet_dev_filters(struct vnet_dev *dev, struct vnet_dev_filters *f);

/** One named device-level counter. */
struct vnet_xstat {
	char name[32];  /**< ethtool-style name, e.g. "dev_rx_queue_0_filtered" */
	uint64_t value; /**< its value */
};

/**
 * Device-level counters beyond the per queue ones of vnet_queue_stats().
 * virtio-net: the driver's "ctrl_commands", "ctrl_errors" (commands sent,
 * and failed or refused), "events" (device events queued), "dev_resets",
 * "reset_rx_dropped" and "reset_tx_dropped" (VNET_DEV_F_AUTO_RESET); sim:
 * devices add the device model's own: per queue pair Q
 * "dev_rx_queue_Q_filtered" (refused by its RX filter),
 * "dev_rx_queue_Q_no_buffer", "dev_tx_queue_Q_dropped",
 * "dev_tx_queue_Q_bad", then "dev_ctrl_ok", "dev_ctrl_errors" and
 * "dev_bad_desc". tap: and xdp: report the kernel interface's own
 * "if_rx_errors", "if_rx_dropped", "if_tx_errors" and "if_tx_dropped"
 * (/proc/net/dev; on tap: its TX drops are frames the application did not
 * read in time). Fills up to @p n entries of @p xs (NULL with 0 to count).
 * @return the number of counters the device has (may exceed @p n), or -1 with errno
 */
VNET_API int vnet_dev_xstats(struct vnet_dev *dev, struct vnet_xstat *xs, unsigned n);

/** @} */

/**
 * @name Receive-side scaling and notification coalescing
 * What `ethtool -X` and `ethtool -C` do for a kernel interface, on a
 * virtio-net device that offers VIRTIO_NET_F_RSS (virtio 1.2 §5.1.6.5.7)
 * or VIRTIO_NET_F_NOTF_COAL (virtio 1.3 §5.1.6.5.10), each with
 * VIRTIO_NET_F_CTRL_VQ; elsewhere (and on tap:, xdp:) the calls fail with
 * EOPNOTSUPP naming what is missing. Same rules as the settings above:
 * serialised, a change queues VNET_EV_SETTINGS, a refused one (EIO)
 * changes nothing.
 * @{
 */

/** vnet_rss::hash_types bits (the virtio VIRTIO_NET_RSS_HASH_TYPE_* values). */
#define VNET_RSS_HASH_IPV4 (1u << 0) /**< IPv4 source and destination addresses */
#define VNET_RSS_HASH_TCP4 (1u << 1) /**< ... and the TCP ports of IPv4 TCP */
#define VNET_RSS_HASH_UDP4 (1u << 2) /**< ... and the UDP ports of IPv4 UDP */
#define VNET_RSS_HASH_IPV6 (1u << 3) /**< IPv6 source and destination addresses */
#define VNET_RSS_HASH_TCP6 (1u << 4) /**< ... and the TCP ports of IPv6 TCP */
#define VNET_RSS_HASH_UDP6 (1u << 5) /**< ... and the UDP ports of IPv6 UDP */
#define VNET_RSS_HASH_IP_EX (1u << 6)  /**< IPv6 with extension headers (home address, routing header) */
#define VNET_RSS_HASH_TCP_EX (1u << 7) /**< TCP over those */
#define VNET_RSS_HASH_UDP_EX (1u << 8) /**< UDP over those */

#define VNET_RSS_KEY_MAX 64    /**< longest hash key struct vnet_rss holds */
#define VNET_RSS_TABLE_MAX 256 /**< most indirection table entries struct vnet_rss holds */

/**
 * Receive-side scaling: the Toeplitz hash of each received frame's
 * addresses (and ports), under @p key, picks entry `hash & (table_len - 1)`
 * of the indirection table, which names the queue pair the frame goes to;
 * frames none of @p hash_types covers go to table[0].
 */
struct vnet_rss {
	size_t sz;                       /**< sizeof(struct vnet_rss), set by the caller */
	uint32_t hash_types;             /**< VNET_RSS_HASH_* bits hashed (0: every frame to table[0]) */
	unsigned key_len;                /**< bytes of key[] (1 .. max_key_len) */
	uint8_t key[VNET_RSS_KEY_MAX];   /**< the Toeplitz key */
	unsigned table_len;              /**< entries of table[]: a power of 2, 1 .. max_table_len */
	uint16_t table[VNET_RSS_TABLE_MAX]; /**< queue pair of each entry (< queue pairs opened) */
	/* Only read by vnet_dev_rss(); ignored by vnet_dev_set_rss(). */
	int enabled;                     /**< 1 once vnet_dev_set_rss() succeeded (until
					      vnet_dev_set_queue_pairs(), which turns it off) */
	uint32_t supported_hash_types;   /**< what the device can hash */
	unsigned max_key_len;            /**< the device's longest key (capped at VNET_RSS_KEY_MAX) */
	unsigned max_table_len;          /**< the device's most table entries (capped at VNET_RSS_TABLE_MAX) */
};

/**
 * Configure receive-side scaling (VIRTIO_NET_CTRL_MQ_RSS_CONFIG). TX may
 * use every queue pair opened.
 * @return 0, or -1 with errno (EINVAL: a field out of range or a hash type
 *         the device does not support; EOPNOTSUPP; EIO)
 */
VNET_API int vnet_dev_set_rss(struct vnet_dev *dev, const struct vnet_rss *rss);

/**
 * Read the RSS configuration and the device's limits. Before the first
 * vnet_dev_set_rss() the key is a random one made at open (of the device's
 * longest key length) and the table is empty.
 * @return 0, or -1 with errno (EOPNOTSUPP)
 */
VNET_API int vnet_dev_rss(struct vnet_dev *dev, struct vnet_rss *rss);

/**
 * Notification coalescing: the device holds back a used-buffer
 * notification (an interrupt, when one was asked for) until @p max_frames
 * frames completed or @p usecs microseconds passed since the first of them,
 * whichever comes first. 0 in either field sends notifications at once
 * (the state after open). Frames are never held back, only interrupts.
 */
struct vnet_coalesce {
	size_t sz;              /**< sizeof(struct vnet_coalesce), set by the caller */
	uint32_t rx_usecs;      /**< receive: most microseconds to delay */
	uint32_t rx_max_frames; /**< receive: frames before a notification */
	uint32_t tx_usecs;      /**< transmit completions: most microseconds to delay */
	uint32_t tx_max_frames; /**< transmit completions: frames before a notification */
};

/**
 * Set the coalescing parameters (NOTF_COAL RX_SET, then TX_SET).
 * @return 0, or -1 with errno (EOPNOTSUPP; EIO: the device refused one,
 *         and vnet_dev_coalesce() tells which half took effect)
 */
VNET_API int vnet_dev_set_coalesce(struct vnet_dev *dev, const struct vnet_coalesce *c);

/** Read the coalescing parameters in effect. @return 0, or -1 with errno (EOPNOTSUPP) */
VNET_API int vnet_dev_coalesce(struct vnet_dev *dev, struct vnet_coalesce *c);

/** @} */

/** Queue pair @p qp of @p dev, or NULL with errno EINVAL. */
VNET_API struct vnet_queue *vnet_dev_queue(struct vnet_dev *dev, unsigned qp);

/** One frame buffer in DMA memory, as the zero-copy calls exchange them. */
struct vnet_buf {
	void *data;     /**< first byte of the frame (the virtio-net header sits before it) */
	uint32_t len;   /**< frame bytes; on vnet_tx_reserve() the capacity */
	uint16_t flags; /**< VNET_BUF_MORE: the frame continues in the next buffer */
	uint16_t id;    /**< the driver's handle: hand it back unchanged */
};

/** vnet_buf::flags: this buffer is not the last one of its frame. */
#define VNET_BUF_MORE 0x1

/**
 * Reserve up to @p n free TX buffers. Each has room for one whole frame of
 * up to MTU + 18 bytes (Ethernet header and one VLAN tag). Completed
 * transmissions are reclaimed here. Every reserved buffer must be handed to
 * vnet_tx_submit(); one submitted with len 0 is returned unsent.
 * @return buffers reserved (0 when the ring is full), or -1 with errno
 *         (ENETDOWN when the device is broken or reset, or administratively
 *         down: vnet_dev_set_up())
 */
VNET_API int vnet_tx_reserve(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n);

/**
 * Send reserved buffers, in order, with at most one doorbell write.
 * Buffers all submitted with len 0 are handed back unsent even while the
 * device is down or broken, so that none stays reserved for good.
 * @return @p n, or -1 with errno (EMSGSIZE: a len over MTU + 18, counted
 *         in tx_errors; nothing was sent; EINVAL: a buffer that was not
 *         reserved; ENETDOWN as for vnet_tx_reserve(): the buffers stay
 *         reserved)
 */
VNET_API int vnet_tx_submit(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n);

/**
 * Take received frames without copying. Only whole frames are returned: a
 * frame that spans several buffers (VNET_BUF_MORE) is returned complete or
 * not at all. Frames the device delivered malformed, or longer than MTU +
 * 18, are dropped here and counted (rx_dropped, rx_errors); while the
 * device is administratively down, every frame is (rx_dropped only).
 * @return buffers filled (0 when none waits), or -1 with errno (ENETDOWN:
 *         broken; ENOBUFS: the next frame spans more than @p n buffers)
 */
VNET_API int vnet_rx_peek(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n);

/**
 * Give buffers obtained from vnet_rx_peek() back to the device; the ring is
 * refilled in bulk with at most one doorbell write.
 * @return 0, or -1 with errno (EINVAL: a buffer that was not peeked)
 */
VNET_API int vnet_rx_release(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n);

/**
 * @name Checksum and segmentation offloads
 * The semantics of the virtio-net header (virtio 1.2 §5.1.6.2 and
 * §5.1.6.4), which Linux's TAP (IFF_VNET_HDR) and AF_PACKET
 * (PACKET_VNET_HDR) use too. Only on a device opened with
 * VNET_DEV_F_OFFLOAD; vnet_dev_info::offloads says which offloads the
 * device agreed to. An offload it did not agree to is refused (EOPNOTSUPP,
 * with vnet_last_error() naming the missing feature bit), never faked.
 * @{
 */

/** vnet_dev_info::offloads: TX checksum (VIRTIO_NET_F_CSUM). */
#define VNET_OFFLOAD_TX_CSUM 0x1
/** vnet_dev_info::offloads: RX checksum (VIRTIO_NET_F_GUEST_CSUM). */
#define VNET_OFFLOAD_RX_CSUM 0x2
/** vnet_dev_info::offloads: TX TCP segmentation over IPv4 (VIRTIO_NET_F_HOST_TSO4). */
#define VNET_OFFLOAD_TX_TSO4 0x4
/** vnet_dev_info::offloads: TX TCP segmentation over IPv6 (VIRTIO_NET_F_HOST_TSO6). */
#define VNET_OFFLOAD_TX_TSO6 0x8
/** vnet_dev_info::offloads: RX of unsegmented TCP/IPv4 (VIRTIO_NET_F_GUEST_TSO4). */
#define VNET_OFFLOAD_RX_TSO4 0x10
/** vnet_dev_info::offloads: RX of unsegmented TCP/IPv6 (VIRTIO_NET_F_GUEST_TSO6). */
#define VNET_OFFLOAD_RX_TSO6 0x20

/**
 * vnet_offload::flags: the checksum at csum_offset from csum_start is not
 * done. TX: the device computes the ones' complement sum from csum_start to
 * the end of the frame and stores it there; the application has put the
 * checksum of the TCP/UDP pseudo-header in that field, as Linux's
 * CHECKSUM_PARTIAL does. RX: the frame's data is known good but its
 * checksum field holds only that partial sum.
 */
#define VNET_OFFLOAD_F_CSUM_NEEDED 0x1
/** vnet_offload::flags, RX only: the device checked (or computed) the checksums. */
#define VNET_OFFLOAD_F_CSUM_VALID 0x2

/** vnet_offload::gso_type: the virtio VIRTIO_NET_HDR_GSO_* values. */
enum vnet_gso_type {
	VNET_GSO_NONE = 0,   /**< not a segmentation frame */
	VNET_GSO_TCP4 = 1,   /**< TCP over IPv4, cut into gso_size payload bytes */
	VNET_GSO_TCP6 = 4,   /**< TCP over IPv6 */
	VNET_GSO_UDP_L4 = 5, /**< UDP segmentation (where VIRTIO_NET_F_HOST_USO is offered) */
};

/** Most bytes of one GSO frame (Ethernet header included; virtio 1.2 §5.1.6.3.1). */
#define VNET_GSO_FRAME_MAX 65550

/**
 * Offload metadata of one frame (vnet_tx_offload(), vnet_rx_offload()).
 * Initialise with VNET_OFFLOAD_INIT.
 */
struct vnet_offload {
	size_t sz;            /**< sizeof(struct vnet_offload), set by the caller */
	unsigned flags;       /**< VNET_OFFLOAD_F_* */
	unsigned gso_type;    /**< enum vnet_gso_type */
	uint16_t gso_size;    /**< GSO: payload bytes per segment (the MSS) */
	uint16_t hdr_len;     /**< GSO: bytes of the Ethernet, IP and TCP headers */
	uint16_t csum_start;  /**< CSUM_NEEDED: where the summing starts (the L4 header) */
	uint16_t csum_offset; /**< CSUM_NEEDED: where the sum goes, from csum_start (16 for TCP, 6 for UDP) */
};

/** Empty offload metadata: nothing to do. */
#define VNET_OFFLOAD_INIT { .sz = sizeof(struct vnet_offload) }

/**
 * Attach offload metadata to a TX buffer reserved by vnet_tx_reserve(),
 * whose len is already the frame's, before vnet_tx_submit() (which must
 * then get the same len). A GSO frame may be up to VNET_GSO_FRAME_MAX
 * bytes (the buffers of a device that agreed to TSO are that large,
 * vnet_tx_reserve() reports it); the device cuts it into segments of
 * gso_size payload bytes, or hands it whole to a peer that takes GSO
 * frames. A buffer without metadata is sent as is.
 * @return 0, or -1 with errno (EOPNOTSUPP: no VNET_DEV_F_OFFLOAD, or an
 *         offload the device did not agree to; EINVAL: not a reserved
 *         buffer, unknown flags or gso_type, CSUM_VALID on TX, GSO without
 *         CSUM_NEEDED, gso_size or hdr_len 0, csum_start + csum_offset + 2
 *         or hdr_len beyond the frame, a frame over VNET_GSO_FRAME_MAX)
 */
VNET_API int vnet_tx_offload(struct vnet_queue *q, const struct vnet_buf *buf,
			     const struct vnet_offload *off);

/**
 * Read the offload metadata of a frame vnet_rx_peek() returned, given its
 * first buffer: checksum state, and for a GSO frame (with
 * VNET_OFFLOAD_RX_TSO4/6, up to VNET_GSO_FRAME_MAX bytes over several
 * buffers) its type, segment size and header length. The driver checked
 * the device's header before vnet_rx_peek() returned the frame: frames
 * with impossible headers are dropped and counted (rx_dropped, rx_errors).
 * @return 0, or -1 with errno (EOPNOTSUPP: no VNET_DEV_F_OFFLOAD; EINVAL:
 *         not the first buffer of a peeked frame, or @p off too small)
 */
VNET_API int vnet_rx_offload(struct vnet_queue *q, const struct vnet_buf *buf,
			     struct vnet_offload *off);

/** @} */

/**
 * @name Interrupts and waiting
 * Each queue's RX and TX rings have an MSI-X vector wired to an eventfd
 * (vector 0 signals configuration changes), and libvnet arms every one in
 * a single io_uring. A thread with nothing to do sleeps there: one system
 * call per wake-up, whatever the number of queues, and no CPU while idle.
 * Devices interrupt only while a waiter asked for it: notifications are
 * re-enabled (then a full barrier, then one more look at the ring) just
 * before sleeping and turned off again on waking, so a busy queue is
 * polled without interrupts. Without usable MSI-X vectors libvnet uses the
 * legacy INTx line, one eventfd for everything; without that too, waits
 * poll the rings every millisecond instead (logged when the device opens).
 *
 * A vnet_wait() on a single queue whose device gives each queue a vector
 * of its own (and so each vnet_queue_fd() is the queue's alone) sleeps in
 * ppoll() on that queue's eventfds itself, so the interrupt wakes the
 * waiting thread directly, without the io_uring thread in between; it
 * reads (consumes) their counts before arming. Waits on several queues,
 * shared vectors, INTx, and a second thread waiting on the same queue
 * direction go through the io_uring thread as above.
 *
 * Before sleeping, a vnet_wait() on a single queue busy-polls its rings
 * with notifications off: by default for a budget learned from the waits
 * before on that queue (it grows to twice the time a sleep took to end
 * when that was at most 50 us, and halves, down to 0, after longer or
 * fruitless sleeps), so request-response traffic spins through its short
 * gaps and an idle receiver sleeps at once; vnet_queue_busy_poll() sets a
 * fixed budget instead, or none.
 *
 * A device that fails wakes its waiters with VNET_WAIT_ERR: at once when
 * its vfio-user server hangs up or dies, or when the kernel asks for a VFIO
 * device back (removal, unbind), and when it sets NEEDS_RESET; and a
 * sleeper that heard nothing for 250 ms looks at its rings and the
 * device's health anyway, so a lost interrupt delays a frame by at most
 * that, and a device that went silent is noticed. vnet_dev_event() then
 * reports VNET_EV_NEEDS_RESET; close the device and open it again (or
 * open it with VNET_DEV_F_AUTO_RESET, and NEEDS_RESET is recovered from).
 * @{
 */

/** vnet_wait() event: a received frame waits (vnet_rx_peek() returns it). */
#define VNET_WAIT_RX 0x1
/** vnet_wait() event: a TX buffer is free (vnet_tx_reserve() returns it). */
#define VNET_WAIT_TX 0x2
/** vnet_wait() result only: the device is broken (calls fail with ENETDOWN). */
#define VNET_WAIT_ERR 0x4

/** Most entries one vnet_wait() call takes. */
#define VNET_WAIT_MAX 256

/** One queue of a vnet_wait() call, in the manner of struct pollfd. */
struct vnet_wait {
	struct vnet_queue *q; /**< the queue pair */
	unsigned events;      /**< VNET_WAIT_RX and/or VNET_WAIT_TX */
	unsigned revents;     /**< out: the events that hold, or VNET_WAIT_ERR */
};

/**
 * Wait until one of @p n queues (of any devices) has a frame to receive or
 * a free TX buffer, as asked in each events field.
 * @param w          the queues and the events asked for
 * @param n          entries of @p w (at most VNET_WAIT_MAX)
 * @param timeout_ms -1 to wait for ever, 0 to only check
 * @return the number of entries with revents set (0 on timeout), or -1 with
 *         errno (EINTR: a signal handler ran, even one installed with
 *         SA_RESTART, as for epoll_wait(); EINVAL)
 */
VNET_API int vnet_wait(struct vnet_wait *w, unsigned n, int timeout_ms);

/**
 * The eventfd the device signals for the RX (@p dir VNET_WAIT_RX) or TX
 * (VNET_WAIT_TX) ring of @p q, owned by libvnet: poll it, dup() it, never
 * close it. Its count only moves while notifications are armed (see
 * vnet_queue_arm()); reading it is the caller's business, and vnet_wait()'s
 * before a direct sleep (see above). Queues may share a vector (and so an
 * eventfd) when the device has too few. (tap: and xdp:
 * ports signal it when their kernel file turns readable; they have no TX
 * descriptor: a TX slot frees as soon as the kernel takes the frame.)
 * @return the descriptor, or -1 with errno (ENOTSUP: the device runs
 *         without interrupts; EINVAL)
 */
VNET_API int vnet_queue_fd(struct vnet_queue *q, unsigned dir);

/**
 * Ask the device to interrupt when work arrives on the rings of @p events
 * (used-buffer notifications, virtio 1.2 §2.7.7), with a full barrier and
 * a last look at the rings.
 * @return 0 when armed (safe to sleep on vnet_queue_fd()), else the events
 *         that already hold (left unarmed); -1 with errno (EINVAL)
 */
VNET_API int vnet_queue_arm(struct vnet_queue *q, unsigned events);

/** Turn the notifications of @p events off again (while polling). */
VNET_API int vnet_queue_disarm(struct vnet_queue *q, unsigned events);

/**
 * How long a vnet_wait() on @p q alone busy-polls before it sleeps.
 * @param q  the queue
 * @param us -1: a budget learned from the queue's recent waits, at most
 *        50 us (the default); 0: never; else that many microseconds
 *        (at most 1000000)
 * @return 0, or -1 with errno (EINVAL)
 */
VNET_API int vnet_queue_busy_poll(struct vnet_queue *q, int us);

/** vnet_dev_event() types. */
enum vnet_dev_event_type {
	VNET_EV_LINK_UP = 1,     /**< the device reports its link up */
	VNET_EV_LINK_DOWN = 2,   /**< the device reports its link down */
	VNET_EV_NEEDS_RESET = 3, /**< the device failed (DEVICE_NEEDS_RESET, or
				      vanished) and was marked broken: reopen it */
	VNET_EV_SETTINGS = 4,    /**< a setting changed (vnet_dev_set_*(), maybe from
				      vnetconf): read vnet_dev_info() again */
	VNET_EV_CONFIG = 5,      /**< the device changed its configuration space
				      (other than link state; virtio-net: its mtu
				      field) */
	VNET_EV_RESET_DONE = 6,  /**< VNET_DEV_F_AUTO_RESET: the device was reset
				      after NEEDS_RESET and runs again */
};

/** One device event. */
struct vnet_dev_event {
	size_t sz; /**< sizeof(struct vnet_dev_event), set by the caller */
	int type;  /**< enum vnet_dev_event_type */
};

/**
 * Take the oldest device event, from configuration change interrupts (or
 * the link watch of tap:/xdp:) and from settings changed (up to 16 are
 * kept). NEEDS_RESET marks the device broken as the interrupt arrives,
 * whether or not anyone reads the event.
 * @return 1 with @p ev filled, 0 when none is pending, -1 with errno
 */
VNET_API int vnet_dev_event(struct vnet_dev *dev, struct vnet_dev_event *ev);

/**
 * An eventfd that becomes readable when an event is queued (a
 * configuration change, a setting); vnet_dev_event() empties it once no
 * event is left. Owned by
 * libvnet. @return the descriptor, or -1 with errno ENOTSUP without
 * interrupts.
 */
VNET_API int vnet_dev_event_fd(struct vnet_dev *dev);

/** @} */

/** Why the last failed call of this thread failed, in words ("" if unknown). */
VNET_API const char *vnet_last_error(void);

/** Log level: 0 error, 1 warn (default), 2 info, 3 debug. Also from VNET_LOG. */
VNET_API int vnet_set_log_level(int level);

#ifdef __cplusplus
}
#endif

#endif
