/* SPDX-License-Identifier: MIT */
/*
 * The kernel side of the xdp: port (xdp.c): an XSKMAP and a hand-written
 * XDP program that redirects every frame to the AF_XDP socket bound to the
 * queue it arrived on, attached to one interface. Frames on queues without
 * a socket go up the kernel's stack as if nothing were attached.
 *
 * Only one program is loaded and attached (never the libxdp dispatcher),
 * and never over somebody else's: attaching to an interface that already
 * has an XDP program fails with -EBUSY, and detaching only removes the
 * program if it is still ours.
 */
#ifndef VN_XDP_PROG_H
#define VN_XDP_PROG_H

#include <stdint.h>

struct vn_xdp_prog {
	int map_fd, prog_fd; /* -1: none */
	int ifindex;
	uint32_t mode;       /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE, once attached */
};

/*
 * Create the map (keys 0..max_queue) and the program, and attach it to
 * ifindex (named ifname in messages). attach is NULL (native, else
 * generic), "drv" or "skb". Returns 0 or -errno with vn_err(); on failure
 * nothing is left behind.
 */
int vn_xdp_prog_attach(const char *ifname, int ifindex, unsigned max_queue, const char *attach,
		       struct vn_xdp_prog *p);

/* Send the frames of queue to the AF_XDP socket xsk_fd. 0 or -errno. */
int vn_xdp_prog_bind(struct vn_xdp_prog *p, unsigned queue, int xsk_fd);

/* Detach the program if it is still the one attached; close everything. */
void vn_xdp_prog_detach(struct vn_xdp_prog *p);

#endif
