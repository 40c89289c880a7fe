/* SPDX-License-Identifier: MIT */
/* What the files of sockapi/ share: the socket and device records. */
#ifndef VS_SOCKET_INT_H
#define VS_SOCKET_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vnet/socket.h"

#define VS_BURST 64 /* frames peeked or reserved per ring access */
#define VS_ETH_HLEN 14
#define VS_VLAN_ETH_OVERHEAD 18
#define VS_URI_MAX 256 /* as vnet_dev_info::uri */

struct vs_dev {
	struct vs_dev *next;
	char uri[VS_URI_MAX];
	struct vnet_dev *dev;
	struct vnet_dev_info info;
	unsigned sockets;        /* open sockets on this device */
	bool *queue_taken;       /* by queue pair */
};

struct vs_sock {
	int fd;
	unsigned qp;
	bool nonblock;
	struct vs_dev *d;
	struct vnet_queue *q;
	size_t max_frame;
	unsigned refs;           /* table + calls in progress; under vs_lock */
	bool closing;            /* written under vs_lock, read atomically */
	int rcvtimeo_ms, sndtimeo_ms, busy_us; /* options, read atomically */
	int vnet_hdr;            /* VNET_SO_VNET_HDR (socket_hdr.c), read atomically */
	bool offloads;           /* the device negotiated offloads (vnet_dev_info) */
	/* Each direction of the queue pair has one user at a time; a blocking
	 * call keeps its direction's lock while it sleeps. */
	pthread_mutex_t rx_io, tx_io;
	/* RX stash: buffers peeked but not yet copied out (under rx_io). */
	struct vnet_buf stash[VS_BURST];
	unsigned stash_pos, stash_len;
	bool signalled;          /* we made the fd's count non-zero (under rx_io) */
};


/*
 * VNET_SO_VNET_HDR (socket_hdr.c). vs_hdr_send(): the header h (10 bytes)
 * of a frame of len bytes reserved in b becomes its offload metadata: 0 or
 * -errno. vs_hdr_recv(): the header of the frame whose first buffer is b,
 * into h. vs_hdr_gso(): h asks for GSO (its frame may be that large).
 */
int vs_hdr_send(struct vs_sock *s, const uint8_t *h, struct vnet_buf *b);
void vs_hdr_recv(struct vs_sock *s, const struct vnet_buf *b, uint8_t *h);
bool vs_hdr_gso(const uint8_t *h);

/* Take a reference on the socket behind fd, or NULL (errno EBADF). */
struct vs_sock *vs_sock_get(int fd);
/* Drop a reference (the last one frees the socket). */
void vs_sock_put(struct vs_sock *s);
/* Settle the descriptor's readiness after a receive (rx_io held). */
void vs_rx_settle(struct vs_sock *s);
/* CLOCK_MONOTONIC in ns. */
uint64_t vs_now_ns(void);
/* Before a blocking call of s sleeps: its busy-poll budget in ns, 0 when
 * none is set (vnet_wait() then uses its learned one, which this turns on
 * or off for s's queue). */
uint64_t vs_busy_prepare(struct vs_sock *s);
/* The process-wide busy-poll budget in us (read once from VNET_BUSY_POLL_US),
 * and setting it. */
int vs_busy_get(void);
void vs_busy_set(int us);

#endif
