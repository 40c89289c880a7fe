/* SPDX-License-Identifier: MIT */
/**
 * @file ctl.h
 * @brief The libvnet control protocol: generic-netlink messages over a
 *        per-device AF_UNIX socket (what vnetconf(8) speaks).
 *
 * Every device a process opens serves a control socket (unless the URI says
 * `?ctl=off` or the environment VNET_CTL=off):
 *   - an AF_UNIX SOCK_SEQPACKET socket `DIR/NAME.sock`, mode 0600, where DIR
 *     is VNET_RUN_DIR when set, else `/run/vnet` for root (euid 0), else
 *     `$XDG_RUNTIME_DIR/vnet`; DIR is created mode 0700 and refused when
 *     anyone but its owner can write it;
 *   - NAME is the URI's `?name=` or the lowest free `vnetN` on the host;
 *     a socket whose server is gone (connect() refused) is removed and its
 *     name reused;
 *   - a client whose uid (SO_PEERCRED) is neither the server's euid nor 0
 *     is refused: the server closes the connection without an answer.
 *
 * Each message (one per datagram) is a netlink message: struct nlmsghdr,
 * struct genlmsghdr (cmd, version VNET_CTL_VERSION), then attributes
 * (struct nlattr, 4-byte aligned), as libmnl builds them. nlmsg_type is
 * VNET_CTL_FAMILY_ID; a request of type GENL_ID_CTRL, cmd
 * CTRL_CMD_GETFAMILY with CTRL_ATTR_FAMILY_NAME "vnet" is answered with
 * CTRL_ATTR_FAMILY_ID, as the kernel's generic netlink controller does.
 *
 * Requests carry NLM_F_REQUEST. A GET answers with one message of the same
 * cmd (NLM_F_DUMP: the same, then NLMSG_DONE). Every failure is an
 * NLMSG_ERROR with a negative errno, the offending request's header, and
 * NLMSGERR_ATTR_MSG (a string saying why) with NLM_F_ACK_TLVS; success of a
 * request with NLM_F_ACK is an NLMSG_ERROR with error 0 (a dump ends with
 * NLMSG_DONE instead). Requests longer than VNET_CTL_MSG_MAX are answered
 * EMSGSIZE; truncated ones, or with attributes of the wrong type, length
 * or range, EINVAL; unknown commands, families and genlmsghdr versions
 * EOPNOTSUPP; unknown attributes are ignored (newer clients). Answers to
 * one client keep the order of its requests.
 *
 * Notifications: after VNET_CMD_SUBSCRIBE the server sends the client a
 * VNET_CMD_EVENT message (nlmsg_seq 0, nlmsg_pid 0) for each device event
 * as it happens, with VNET_A_NAME, VNET_A_EVENT and the link state
 * (VNET_A_OPER_UP, VNET_A_ADMIN_UP), until the client closes.
 */
#ifndef VNET_CTL_H
#define VNET_CTL_H

/** Generic netlink family name (CTRL_CMD_GETFAMILY). */
#define VNET_CTL_FAMILY_NAME "vnet"
/** nlmsg_type of every libvnet control message. */
#define VNET_CTL_FAMILY_ID 0x76
/** genlmsghdr::version. */
#define VNET_CTL_VERSION 1
/** Largest message either side sends or accepts, in bytes. */
#define VNET_CTL_MSG_MAX 16384
/** Socket file suffix in the run directory. */
#define VNET_CTL_SUFFIX ".sock"

/** genlmsghdr::cmd values. */
enum vnet_ctl_cmd {
	VNET_CMD_UNSPEC,
	/** Device state: every VNET_A_* of the "link" group below. Takes NLM_F_DUMP. */
	VNET_CMD_LINK_GET,
	/** Change what the request carries, in this order: VNET_A_ADMIN_UP
	 *  (down first), VNET_A_MTU, VNET_A_MAC, VNET_A_PROMISC,
	 *  VNET_A_ALLMULTI, VNET_A_QUEUE_PAIRS, VNET_A_ADMIN_UP (up last).
	 *  The first that fails ends the request with its error. */
	VNET_CMD_LINK_SET,
	/** Counters: VNET_A_NAME and VNET_A_STATS. */
	VNET_CMD_STATS_GET,
	/** VNET_A_MAC: add to / remove from the MAC filter. */
	VNET_CMD_MAC_ADD,
	VNET_CMD_MAC_DEL,
	/** VNET_A_VLAN: add to / remove from the VLAN filter. */
	VNET_CMD_VLAN_ADD,
	VNET_CMD_VLAN_DEL,
	/** Receive VNET_CMD_EVENT notifications on this connection. */
	VNET_CMD_SUBSCRIBE,
	/** A notification (server to client only). */
	VNET_CMD_EVENT,
	/** Receive-side scaling: VNET_A_NAME, VNET_A_RSS_ON, VNET_A_RSS_HASH_TYPES,
	 *  VNET_A_RSS_KEY, VNET_A_RSS_TABLE (when configured), and the device's
	 *  VNET_A_RSS_HASH_SUPPORTED, VNET_A_RSS_KEY_MAX, VNET_A_RSS_TABLE_MAX.
	 *  EOPNOTSUPP where the device has no RSS (vnet_dev_rss()). */
	VNET_CMD_RSS_GET,
	/** Configure RSS (vnet_dev_set_rss()) from VNET_A_RSS_HASH_TYPES,
	 *  VNET_A_RSS_KEY and VNET_A_RSS_TABLE; one left out keeps its current
	 *  value (the first configuration needs the key and the table). */
	VNET_CMD_RSS_SET,
	/** Notification coalescing: VNET_A_NAME and the four VNET_A_COAL_*
	 *  (vnet_dev_coalesce()); EOPNOTSUPP without it. */
	VNET_CMD_COALESCE_GET,
	/** Set the VNET_A_COAL_* the request carries; the others keep their
	 *  values (vnet_dev_set_coalesce()). */
	VNET_CMD_COALESCE_SET,
	__VNET_CMD_MAX
};

/** Attribute types (struct nlattr::nla_type); the type of each in brackets. */
enum vnet_ctl_attr {
	VNET_A_UNSPEC,
	VNET_A_NAME,            /**< [string] control-plane name, e.g. "vnet0" */
	VNET_A_URI,             /**< [string] the URI the device was opened with */
	VNET_A_PID,             /**< [u32] the process serving the device */
	VNET_A_ACCESS,          /**< [string] vfio-cdev, vfio-group, vfio-noiommu, vfio-user, tap, af_xdp */
	VNET_A_MAC,             /**< [binary, 6 bytes] station address (MAC_ADD/DEL: the entry) */
	VNET_A_MTU,             /**< [u32] */
	VNET_A_MAX_MTU,         /**< [u32] */
	VNET_A_OPER_UP,         /**< [u8] 1: the link (carrier) is up */
	VNET_A_ADMIN_UP,        /**< [u8] 1: administratively up */
	VNET_A_PROMISC,         /**< [u8] */
	VNET_A_ALLMULTI,        /**< [u8] */
	VNET_A_BROKEN,          /**< [u8] 1: the device failed and was stopped */
	VNET_A_QUEUE_PAIRS,     /**< [u32] queue pairs the device delivers to (settable) */
	VNET_A_OPEN_PAIRS,      /**< [u32] queue pairs the application opened */
	VNET_A_MAX_PAIRS,       /**< [u32] queue pairs the device offers */
	VNET_A_QUEUE_SIZE,      /**< [u32] entries per ring */
	VNET_A_FEATURES,        /**< [u64] negotiated virtio feature bits (0 for tap:, xdp:) */
	VNET_A_FEATURE_NAMES,   /**< [nested] VNET_A_FEATURE_NAME strings, e.g. "VIRTIO_NET_F_MRG_RXBUF" */
	VNET_A_FEATURE_NAME,    /**< [string] */
	VNET_A_MAC_FILTERS,     /**< [nested] VNET_A_MAC entries added */
	VNET_A_VLAN,            /**< [u16] a VLAN id 0 .. 4095 */
	VNET_A_VLANS,           /**< [nested] VNET_A_VLAN entries accepted */
	VNET_A_STATS,           /**< [nested] VNET_A_STAT entries, per queue then device-level */
	VNET_A_STAT,            /**< [nested] VNET_A_STAT_NAME, VNET_A_STAT_VALUE */
	VNET_A_STAT_NAME,       /**< [string] ethtool-style: "rx_queue_0_packets", "dev_rx_filtered" */
	VNET_A_STAT_VALUE,      /**< [u64] */
	VNET_A_EVENT,           /**< [u32] enum vnet_dev_event_type (vnet.h) */
	VNET_A_DRIVER,          /**< [string] the driver: virtio-net, e1000e, tap, xdp (vnet_dev_info::driver) */
	VNET_A_RSS_ON,          /**< [u8] 1: RSS configured and steering */
	VNET_A_RSS_HASH_TYPES,  /**< [u32] VNET_RSS_HASH_* bits (vnet.h) hashed */
	VNET_A_RSS_HASH_SUPPORTED, /**< [u32] VNET_RSS_HASH_* bits the device can hash */
	VNET_A_RSS_KEY,         /**< [binary, 1 .. VNET_RSS_KEY_MAX bytes] Toeplitz key */
	VNET_A_RSS_KEY_MAX,     /**< [u32] longest key the device takes */
	VNET_A_RSS_TABLE,       /**< [binary] indirection table: u16 queue pairs, host order;
				     a power of 2 of them, 1 .. VNET_RSS_TABLE_MAX */
	VNET_A_RSS_TABLE_MAX,   /**< [u32] most table entries the device takes */
	VNET_A_COAL_RX_USECS,   /**< [u32] vnet_coalesce::rx_usecs */
	VNET_A_COAL_RX_FRAMES,  /**< [u32] vnet_coalesce::rx_max_frames */
	VNET_A_COAL_TX_USECS,   /**< [u32] vnet_coalesce::tx_usecs */
	VNET_A_COAL_TX_FRAMES,  /**< [u32] vnet_coalesce::tx_max_frames */
	__VNET_A_MAX
};

/** Highest attribute type. */
#define VNET_A_MAX (__VNET_A_MAX - 1)

#endif
