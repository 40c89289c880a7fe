/* SPDX-License-Identifier: MIT */
/**
 * @file socket.h
 * @brief Socket-like API over libvnet devices: one socket per queue pair.
 *
 * vnet_socket() returns a real file descriptor: it is readable (poll,
 * epoll, select, io_uring) while a received frame waits for vnet_recv(),
 * and blocking calls sleep on the device's interrupts (see vnet_socket(3)).
 * vnet_send() and vnet_recv()
 * move one Ethernet frame (no virtio-net header; no FCS) with the semantics
 * of a packet socket: blocking by default, MSG_DONTWAIT for one call,
 * VNET_SOCK_NONBLOCK for all calls, -1 and errno on failure. The batched
 * calls vnet_sendmmsg() and vnet_recvmmsg() move many frames per call.
 *
 * Sockets opened with the same URI share one device (opened on the first
 * socket, closed with the last). Each queue pair belongs to one socket at a
 * time. A socket may be used by several threads; frames of one socket keep
 * their order.
 *
 * Errors: EBADF (not a vnet socket), EINVAL (bad argument or URI), EBUSY
 * (queue pair already has a socket), EMSGSIZE (frame longer than the MTU
 * allows), EAGAIN (nothing to receive / no room to send without blocking),
 * ENETDOWN (the device failed or went away), ENOTSUP (device lacks a
 * required feature); vnet_last_error() says more.
 */
#ifndef VNET_SOCKET_H
#define VNET_SOCKET_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "vnet/vnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/** vnet_socket() flag: every call behaves as if MSG_DONTWAIT were given. */
#define VNET_SOCK_NONBLOCK 0x1

/**
 * Open a socket on queue pair @p queue of the device @p uri.
 * @return a file descriptor (close it with vnet_close()), or -1 with errno
 */
VNET_API int vnet_socket(const char *uri, unsigned queue, int flags);

/**
 * Send one frame of @p len bytes (14 .. MTU + 18).
 * @param fd    a vnet socket
 * @param frame the frame, from the destination MAC address on (no FCS)
 * @param len   its length
 * @param flags 0 or MSG_DONTWAIT
 * @return @p len, or -1 with errno (EAGAIN when the ring is full and the call
 *         must not block, EMSGSIZE, EINVAL for a frame shorter than 14 bytes)
 */
VNET_API ssize_t vnet_send(int fd, const void *frame, size_t len, int flags);

/**
 * Receive one frame into @p buf. A frame longer than @p len is truncated to
 * @p len bytes; the rest is discarded.
 * @param fd    a vnet socket
 * @param buf   where the frame goes
 * @param len   the size of @p buf
 * @param flags 0, MSG_DONTWAIT, MSG_TRUNC (return the frame's real length
 *        even when it was truncated), or both
 * @return bytes stored (or the frame length with MSG_TRUNC), or -1 with errno
 */
VNET_API ssize_t vnet_recv(int fd, void *buf, size_t len, int flags);

/** One frame of a batched call. */
struct vnet_msg {
	void *buf;      /**< frame bytes */
	size_t len;     /**< vnet_sendmmsg: frame length; vnet_recvmmsg: size of buf */
	size_t msg_len; /**< out: bytes sent, or length of the frame received */
	int flags;      /**< out (recv): MSG_TRUNC when the frame was longer than len */
};

/**
 * Send up to @p n frames with at most one doorbell write.
 * Blocks until at least one frame is sent, unless MSG_DONTWAIT.
 * @return frames sent (the first ones of @p msgs), or -1 with errno when none
 *         was (EMSGSIZE/EINVAL refer to msgs[0]; a bad frame later in the
 *         batch ends the batch before it)
 */
VNET_API int vnet_sendmmsg(int fd, struct vnet_msg *msgs, unsigned n, int flags);

/**
 * Receive up to @p n frames. Blocks until at least one frame is there,
 * unless MSG_DONTWAIT; then returns what is waiting without blocking again.
 * @return frames received, or -1 with errno
 */
VNET_API int vnet_recvmmsg(int fd, struct vnet_msg *msgs, unsigned n, int flags);

/** Describe the device behind socket @p fd (MAC, MTU, ...). */
VNET_API int vnet_socket_info(int fd, struct vnet_dev_info *info);

/**
 * The device behind socket @p fd, for the vnet_dev_*() settings calls
 * (vnet_dev_set_mtu(), vnet_dev_set_promisc(), ...). It is shared by every
 * socket on the same URI and stays valid while @p fd is open; do not close
 * it with vnet_dev_close().
 * @return the device, or NULL with errno EBADF (not a vnet socket)
 */
VNET_API struct vnet_dev *vnet_socket_dev(int fd);

/**
 * @name Socket options
 * vnet_socket_set() and vnet_socket_get() options, in the manner of
 * setsockopt(SO_RCVTIMEO / SO_SNDTIMEO / SO_BUSY_POLL).
 * @{
 */
/** Receive timeout in ms for blocking calls: they fail with EAGAIN when it
 *  expires; 0 (default) waits for ever. */
#define VNET_SO_RCVTIMEO_MS 1
/** Send timeout in ms, as VNET_SO_RCVTIMEO_MS. */
#define VNET_SO_SNDTIMEO_MS 2
/** Busy-poll budget in microseconds: a blocking call polls the ring for
 *  this long (notifications off) before it sleeps on the interrupt. -1
 *  (default) takes the process-wide value: the environment variable
 *  VNET_BUSY_POLL_US, or what was set with fd VNET_SOCK_ALL, else none
 *  set: a call on one socket then busy-polls for the budget vnet_wait()
 *  learns (vnet_queue_busy_poll(), at most 50 us; reads back as 0). */
#define VNET_SO_BUSY_POLL_US 3
/** vnet_socket_set() fd for the process-wide VNET_SO_BUSY_POLL_US. */
#define VNET_SOCK_ALL (-1)
/**
 * 1: every frame of vnet_send(), vnet_recv() and the mmsg calls starts with
 * a 10-byte struct virtio_net_hdr (flags, gso_type, then little-endian
 * hdr_len, gso_size, csum_start, csum_offset: virtio 1.2 §5.1.6), the
 * convention of TAP's IFF_VNET_HDR and AF_PACKET's PACKET_VNET_HDR; lengths
 * count it. Sent headers become vnet_tx_offload() metadata, received ones
 * come from vnet_rx_offload() (all zero on a device without offloads, which
 * then refuses a non-zero header with EOPNOTSUPP). A GSO frame may be up to
 * VNET_GSO_FRAME_MAX bytes. 0 (default): plain frames.
 */
#define VNET_SO_VNET_HDR 4
/** Bytes of the header VNET_SO_VNET_HDR puts before each frame. */
#define VNET_VNET_HDR_LEN 10
/** @} */

/**
 * Set option @p opt of socket @p fd to @p value.
 * @return 0, or -1 with errno (EBADF, EINVAL: unknown option or bad value)
 */
VNET_API int vnet_socket_set(int fd, int opt, int value);

/** Read option @p opt of socket @p fd (or VNET_SOCK_ALL) into @p value. */
VNET_API int vnet_socket_get(int fd, int opt, int *value);

/** One socket of a vnet_poll() call, as struct pollfd. */
struct vnet_pollfd {
	int fd;        /**< a vnet socket */
	short events;  /**< POLLIN (a frame waits) and/or POLLOUT (room to send) */
	short revents; /**< out: POLLIN, POLLOUT, POLLERR (device broken),
			    POLLNVAL (not a vnet socket) */
};

/**
 * Wait until one of @p n sockets (of any devices) is ready, sleeping on
 * the devices' interrupts (one system call per wake-up), after busy-polling
 * for the largest VNET_SO_BUSY_POLL_US among them.
 * @param fds        the sockets and the events asked for
 * @param n          entries of @p fds (at most VNET_WAIT_MAX)
 * @param timeout_ms -1 for ever, 0 to only check
 * @return sockets with revents set, 0 on timeout, or -1 with errno (EINTR:
 *         a signal handler ran; EINVAL: more than VNET_WAIT_MAX sockets)
 */
VNET_API int vnet_poll(struct vnet_pollfd *fds, unsigned n, int timeout_ms);

/**
 * Close a socket. Calls blocked on it in other threads return -1 with
 * EBADF. The device is closed with its last socket.
 */
VNET_API int vnet_close(int fd);

#ifdef __cplusplus
}
#endif

#endif
