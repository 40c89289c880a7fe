/* SPDX-License-Identifier: MIT */
/*
 * Device settings of the ports on a kernel interface (tap:, xdp:): what
 * `ip link set` does, through the interface's ioctls (netdevice(7)):
 * SIOCSIFMTU, IFF_PROMISC and IFF_ALLMULTI with SIOC[GS]IFFLAGS,
 * SIOCSIFHWADDR, and multicast filter entries with SIOCADDMULTI and
 * SIOCDELMULTI. What has no kernel equivalent on such an interface is
 * refused with EOPNOTSUPP and the reason: unicast filter entries, VLAN
 * filters, queue pairs.
 *
 * Administrative state is the port's own, not the interface's IFF_UP: the
 * interface is shared with the host's network stack (tap: it is the other
 * end of the wire; xdp: other sockets and the host use the NIC), so
 * vnet_dev_set_up(0) stops this port (VN_STOP_DOWN: sends fail with
 * ENETDOWN, frames that arrive are dropped and counted) and leaves the
 * interface to `ip link set`. An interface taken down there shows as link
 * down (vnet_dev_info()::link_up, VNET_EV_LINK_DOWN).
 *
 * The caller (device.c) serialises vn_ifctl_set() and vn_ifctl_filters().
 */
#ifndef VN_IFCTL_H
#define VN_IFCTL_H

#include <stdint.h>

#include "port.h"

#define VN_IFCTL_MC_MAX 64u /* multicast entries (vnet_dev_filters) */

struct vn_ifctl {
	int fd;             /* the port's socket for the interface's ioctls */
	const char *ifname; /* the port's interface name */
	const char *who;    /* the port, in messages: "tap", "xdp" */
	uint8_t *stop;      /* the port's VN_STOP_* byte (port.h) */
	unsigned max_mtu;   /* what the port's buffers hold */
	unsigned n_mc;
	uint8_t mc[VN_IFCTL_MC_MAX][6]; /* multicast entries added through this port */
};

/*
 * Apply s to the interface (or, for VN_SET_UP, to the port). VN_SET_MAC
 * sets the interface's address; a port whose station address is not the
 * interface's refuses it before calling. 0 or -errno with vn_err().
 */
int vn_ifctl_set(struct vn_ifctl *c, const struct vn_set *s);

/* VNET_IFF_* now: the port's UP, the interface's PROMISC and ALLMULTI. */
unsigned vn_ifctl_flags(struct vn_ifctl *c);

/* The multicast entries added through this port. */
void vn_ifctl_filters(struct vn_ifctl *c, struct vnet_dev_filters *f);

/*
 * xstats(): the interface's own error and drop counters, as the kernel
 * counts them in /proc/net/dev (of this network namespace): "if_rx_errors",
 * "if_rx_dropped", "if_tx_errors", "if_tx_dropped". The kernel's RX is what
 * the application sent (tap:) or the wire delivered (xdp:); its TX drops on
 * a TAP are frames the application did not read in time. None (0) once the
 * interface is gone.
 */
int vn_ifctl_xstats(struct vn_ifctl *c, struct vnet_xstat *xs, unsigned n);

#endif
