/* SPDX-License-Identifier: MIT */
/*
 * A kernel file as a queue's interrupt, for the ports whose frames come
 * from a kernel file (a tun file, an AF_XDP socket).
 *
 * vnet_queue_fd() is an eventfd: vnet.h lets the caller read and write its
 * count, and sockapi/ does both (a socket's descriptor is a duplicate). A
 * kernel file cannot serve: an 8-byte read() or write() of a tun file takes
 * or sends a frame. So a relay gives the queue an eventfd that behaves like
 * a device interrupt: the event engine watches the kernel file, and the
 * relay signals the eventfd once after each arm, as a device notifies once
 * for a used buffer while notifications are enabled (virtio 1.2 §2.7.7). A
 * busy queue that nobody waits on then costs nothing extra.
 *
 * The engine watches the kernel file through an epoll instance of the
 * relay's own, with a one-shot watch renewed by each arm: an io_uring poll
 * holds a reference to the file it polls until its removal completes,
 * later, in the kernel, so the file (and a TAP interface, or an AF_XDP
 * queue binding) would outlive close() by that much. epoll holds none.
 */
#ifndef VN_RELAY_H
#define VN_RELAY_H

#include <stdbool.h>
#include <stdint.h>

struct vn_relay {
	int fd;        /* the kernel file (the caller's) */
	int efd;       /* the queue's eventfd: its rx_fd */
	int epfd;      /* the one-shot watch of fd, which the engine watches */
	uint32_t src;  /* the engine's source of efd: the queue's rx_src */
	uint32_t ep_src;
	uint8_t armed; /* atomic: a waiter wants a signal for the next wake-up */
};

/* Set r up empty (vn_relay_close() is then harmless). */
void vn_relay_init(struct vn_relay *r);

/* Watch kernel file fd (readable while frames wait). who names the port
 * in messages. 0 or -errno; r is then closed by vn_relay_close(). */
int vn_relay_open(struct vn_relay *r, int fd, const char *who);

/*
 * Ask for a signal on the next readiness of fd. false when the watch
 * cannot be renewed (no wake-up would come: the caller must poll). The
 * caller takes its last look at the ring after this returns.
 */
bool vn_relay_arm(struct vn_relay *r);

/* No signal wanted any more (the caller polls). */
void vn_relay_disarm(struct vn_relay *r);

/* Stop watching and close the eventfd and the epoll instance (not fd). */
void vn_relay_close(struct vn_relay *r);

#endif
