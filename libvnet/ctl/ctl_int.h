/* SPDX-License-Identifier: MIT */
/*
 * The control plane inside libvnet (protocol: vnet/ctl.h, vnet-ctl(7)).
 *
 *   ctl_path.c    the run directory, device names and socket files; also
 *                 what vnetconf uses to find the devices of the host
 *   ctl_msg.c     the request handler: one request in, its answers out, a
 *                 pure function over a device-like context (fuzzed)
 *   ctl_feat.c    virtio feature bits by name
 *   ctl_server.c  the per-device server, in a thread of its own
 *
 * All functions return 0 (or a count) or a negative errno recorded with
 * vn_err().
 */
#ifndef VN_CTL_INT_H
#define VN_CTL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnet/ctl.h"
#include "vnet/vnet.h"
#include "port.h"

/* A device name with its NUL: 1 .. 15 characters, as an interface name. */
#define VN_CTL_NAME_MAX 16

/* Where the run directory and socket paths fit (sockaddr_un::sun_path). */
#define VN_CTL_PATH_MAX 108

/*
 * The run directory (vnet/ctl.h): VNET_RUN_DIR, else /run/vnet for euid 0,
 * else $XDG_RUNTIME_DIR/vnet. Only computes the path: -ENOENT when none
 * applies (no XDG_RUNTIME_DIR), -ENAMETOOLONG when it does not fit a
 * socket path with a name.
 */
int vn_ctl_run_dir(char *buf, size_t len);

/*
 * Create the run directory (mode 0700) when missing and check it: a real
 * directory (not a symlink), owned by the euid, not writable by group or
 * others (-EPERM otherwise, with the reason).
 */
int vn_ctl_dir_check(const char *dir);

/* 0 when name is a valid device name ([a-z0-9_.-], 1 .. 15, not starting
 * with a digit, '.' or '-'), else -EINVAL with the reason. */
int vn_ctl_name_valid(const char *name);

/* "DIR/NAME.sock" into buf (len bytes; VN_CTL_PATH_MAX suffice). */
int vn_ctl_sock_path(const char *dir, const char *name, char *buf, size_t len);

/*
 * The names of the sockets in dir (files "NAME.sock" with a valid NAME),
 * in natural order (vnet2 before vnet10), up to max of them into names.
 * Returns how many there are (may exceed max), or -errno (-ENOENT: no such
 * directory). Stale sockets are listed too: connect() tells.
 */
int vn_ctl_list(const char *dir, char (*names)[VN_CTL_NAME_MAX], unsigned max);

/*
 * Connect to the server of name in dir: a SOCK_SEQPACKET|SOCK_CLOEXEC
 * socket, blocking. Returns the fd, or -ENOENT (no such socket),
 * -ECONNREFUSED (a stale socket: nobody serves it), -errno.
 */
int vn_ctl_connect(const char *dir, const char *name);

/* A socket file a server is bound to. */
struct vn_ctl_bound {
	char name[VN_CTL_NAME_MAX];
	char path[VN_CTL_PATH_MAX];
	uint64_t dev, ino; /* the file's, to recognise it at unlink */
};

/*
 * Bind and listen on the socket of a device (serving side): name (NULL:
 * the lowest free vnetN) in dir, under an flock on DIR/.lock so that
 * processes choosing at once do not collide. A stale socket is removed and
 * reused; a name a live server holds is -EADDRINUSE. The socket is
 * non-blocking and mode 0600. Returns the listening fd (and fills b), or
 * -errno.
 */
int vn_ctl_listen(const char *dir, const char *name, struct vn_ctl_bound *b);

/* Remove the socket file of b when it is still ours (a later server may
 * have replaced it after someone removed ours). */
void vn_ctl_unlink(const struct vn_ctl_bound *b);

/*
 * The request handler (ctl_msg.c). It reaches the device only through ops,
 * so that it can be run against a fake (tests/fuzz/fuzz_ctl.c): the server
 * passes the public vnet_dev_*() calls. Each returns 0 (xstats: the count)
 * or -errno with the reason in vn_err_msg() (vnet_last_error()).
 */
struct vn_ctl_dev_ops {
	int (*info)(void *dev, struct vnet_dev_info *i);
	int (*queue_stats)(void *dev, unsigned qp, struct vnet_queue_stats *st);
	int (*xstats)(void *dev, struct vnet_xstat *xs, unsigned n);
	int (*filters)(void *dev, struct vnet_dev_filters *f);
	/* One change: kind as in port.h's enum vn_set_kind (val or mac). */
	int (*set)(void *dev, const struct vn_set *s);
	/* Read back VN_SET_RSS (struct vnet_rss) or VN_SET_COALESCE (struct
	 * vnet_coalesce), whose sz the caller set. */
	int (*get)(void *dev, enum vn_set_kind kind, void *out);
};

struct vn_ctl_ctx {
	const struct vn_ctl_dev_ops *ops;
	void *dev;
	const char *name;  /* VNET_A_NAME */
	uint32_t pid;      /* VNET_A_PID */
};

/* Most answers one request gets: a GET's answer and NLMSG_DONE or an ACK. */
#define VN_CTL_REPLY_MAX 2

struct vn_ctl_reply {
	unsigned n;                 /* messages in buf[] */
	bool subscribe;             /* a SUBSCRIBE succeeded: send events from now on */
	int error;                  /* the -errno answered, 0 on success */
	uint32_t len[VN_CTL_REPLY_MAX];
	/* nlmsghdr-aligned: the messages are built in place. */
	uint32_t buf[VN_CTL_REPLY_MAX][VNET_CTL_MSG_MAX / 4];
	uint32_t in[VNET_CTL_MSG_MAX / 4 + 1]; /* an aligned copy of the request */
};

/*
 * Answer one request of len bytes (a datagram; len may exceed what req
 * holds, VNET_CTL_MSG_MAX, when the datagram was truncated: only the first
 * VNET_CTL_MSG_MAX bytes are read). Never fails: whatever the bytes, r
 * holds the answers (at least an NLMSG_ERROR) to send in order.
 */
void vn_ctl_handle(const struct vn_ctl_ctx *c, const void *req, size_t len,
		   struct vn_ctl_reply *r);

/* A VNET_CMD_EVENT notification of type into buf (VNET_CTL_MSG_MAX bytes,
 * 4-byte aligned). Returns its length. */
size_t vn_ctl_event_msg(const struct vn_ctl_ctx *c, int type, void *buf);

/*
 * The server (ctl_server.c). vn_ctl_start() serves dev, whose port is port,
 * unless u (`ctl=off`) or VNET_CTL=off say not to: 0 with *out set, or
 * with *out NULL when there is no server (a warning said why: no run
 * directory, a refused one, ...); -EADDRINUSE when the `name=` u asks for
 * is served by a live process. It installs itself as the port's observer.
 * vn_ctl_stop() (NULL is ignored) clears the observer, ends the thread,
 * closes every connection and removes the socket file. STATS_GET answers
 * the device's counters, then the server's own: ctl_requests, ctl_errors,
 * ctl_clients_refused, ctl_clients_dropped, ctl_events_lost.
 */
struct vn_ctl_server;
int vn_ctl_start(struct vnet_dev *dev, struct vn_port *port, const struct vn_uri *u,
		 struct vn_ctl_server **out);
void vn_ctl_stop(struct vn_ctl_server *s);
/* The device's name, "" for NULL. */
const char *vn_ctl_name(const struct vn_ctl_server *s);

/* The name of virtio feature bit (VIRTIO_NET_F_*, VIRTIO_F_*,
 * VIRTIO_RING_F_*), or NULL when libvnet does not know it. */
const char *vn_ctl_feature_name(unsigned bit);

#endif
