/* SPDX-License-Identifier: MIT */
/*
 * What the files of libvnet-preload.so share (see the NOTES at the top of
 * preload.c): the configuration, the shim objects behind intercepted
 * descriptors, the real libc functions and the debug output.
 */
#ifndef VS_PRELOAD_H
#define VS_PRELOAD_H

#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "compiler.h"

/* The interposed libc functions: the only symbols the shim exports. */
#define VNET_EXPORT __attribute__((visibility("default")))
#define PS_FRAME_MAX (65535 + 18) /* largest MTU + Ethernet and VLAN header */
#define PS_MAX_MC 16 /* multicast/unicast memberships per AF_PACKET socket */
#define PS_FD_MAX 65536 /* descriptors at or above are never the shim's */

/* ---- configuration (preload_config.c, a pure parser) ---- */

#define PS_MAX_IFS 32     /* name=URI pairs in VNET_PRELOAD */
#define PS_URI_MAX 256    /* as vnet_dev_info::uri, with the name= option added */
#define PS_ERR_MAX 160    /* room for the parser's message */
/* Synthetic interface indexes: PS_IFINDEX_BASE + position in the config.
 * The kernel hands out ifindexes upwards from 1 per namespace; it would
 * take two billion interface creations to reach these. */
#define PS_IFINDEX_BASE 0x7fff0000

struct ps_if {
	char name[IFNAMSIZ];
	char uri[PS_URI_MAX];
};

struct ps_config {
	unsigned n;
	struct ps_if ifs[PS_MAX_IFS];
};

/*
 * Parse "name=URI[,name=URI...]" from len bytes at data (not necessarily
 * NUL-terminated, any bytes: a libFuzzer entry point can call it as is).
 * Returns 0, or -EINVAL with a one-line reason in err (errlen bytes).
 */
int ps_config_parse(const uint8_t *data, size_t len, struct ps_config *cfg, char *err,
		    size_t errlen);

/* ---- the runtime (preload.c) ---- */

enum ps_kind {
	PS_TUN_PENDING, /* /dev/net/tun opened, no TUNSETIFF yet */
	PS_PKT_PENDING, /* AF_PACKET socket, not bound to a mapped interface */
	PS_TAP,         /* TUNSETIFF on a mapped name: a vnet socket */
	PS_PKT,         /* AF_PACKET bound to a mapped interface: a vnet socket */
};

struct ps_obj {
	enum ps_kind kind;
	unsigned refs;     /* descriptors in the table + calls in progress (ps_lock) */
	int s;             /* the vnet socket (PS_TAP, PS_PKT), else -1 */
	int ifx;           /* config position of the interface, else -1 */
	int nonblock;      /* O_NONBLOCK of the file description (atomic) */
	int placeholder_err; /* the real open/socket failed with this; fd is an eventfd */
	struct ps_obj *next_on_if; /* the interface's attached objects (ps_lock) */
	/* TAP */
	int tun_flags;     /* IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE as set */
	int vnet_hdr_sz;   /* TUNSETVNETHDRSZ, default 10 */
	/* AF_PACKET */
	int sock_type;     /* SOCK_RAW or SOCK_DGRAM */
	int proto_raw;     /* socket()'s protocol argument (network order) */
	uint16_t proto;    /* EtherType filter, host order: 0 none, ETH_P_ALL all */
	uint8_t mac[6];    /* the device's MAC, for sll_pkttype and SOCK_DGRAM */
	int rcvtimeo_ms, sndtimeo_ms; /* as set; 0 waits for ever */
	int rcvbuf, sndbuf;           /* as set; the ring is the real buffer */
	unsigned promisc, allmulti;   /* memberships this socket holds */
	unsigned n_mc;
	uint8_t mc[PS_MAX_MC][6];     /* PACKET_MR_MULTICAST/UNICAST held */
	unsigned stat_packets, stat_filtered; /* PACKET_STATISTICS (rx_lock) */
	pthread_mutex_t rx_lock, tx_lock;     /* the bounce buffers */
	unsigned char *rxbuf, *txbuf;         /* PS_FRAME_MAX each, on first use */
};

/* The real libc functions, resolved once. */
struct ps_real {
	int (*open)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*close)(int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*ioctl)(int, unsigned long, ...);
	int (*fcntl)(int, int, ...);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
	ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
	ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	unsigned (*if_nametoindex)(const char *);
	char *(*if_indextoname)(unsigned, char *);
	struct if_nameindex *(*if_nameindex)(void);
	void (*if_freenameindex)(struct if_nameindex *);
};

extern struct ps_real ps_real;
extern struct ps_config ps_cfg;

/* Resolve ps_real and read the configuration (once; cheap afterwards). */
void ps_init(void);
/* 1 once VNET_PRELOAD named at least one interface and was valid. */
int ps_active(void);
/* Configuration unusable and VNET_PRELOAD_STRICT=1: opens fail with EINVAL. */
int ps_strict_fail(void);
/* Inside a libvnet call made by the shim: every interposed call passes through. */
int ps_inside(void);
void ps_enter(void);
void ps_leave(void);

/* VNET_DEBUG=1 lines, "libvnet-preload: ..." on stderr. */
void ps_debug(const char *fmt, ...) VN_PRINTF(1, 2);
/* A message the user must see (a mapped device failed to open). */
void ps_warn(const char *fmt, ...) VN_PRINTF(1, 2);

/* Config position of a mapped interface name, or -1. */
int ps_if_find(const char *name);
/* Config position of a synthetic ifindex, or -1. */
int ps_ifindex_find(int ifindex);

/* The object behind fd with a reference held, or NULL (the common miss:
 * one atomic load). Release with ps_put(). */
struct ps_obj *ps_get(int fd);
void ps_put(struct ps_obj *o);
/* A new object of the kind, placed at fd (one reference: the table's). */
int ps_track(int fd, enum ps_kind kind, int placeholder_err, struct ps_obj **out);
/* Place o (or nothing) at fd; returns the object that was there, whose
 * table reference passes to the caller (ps_put() it). Descriptors at or
 * above PS_FD_MAX are never the shim's: NULL. */
struct ps_obj *ps_tab_replace(int fd, struct ps_obj *o);
/* Drop every descriptor of o from the table (it became the kernel's). */
void ps_untrack(struct ps_obj *o);
/*
 * Attach o to a queue pair of mapped interface ifx: open the vnet socket on
 * the next free queue (any when multi, else queue 0) and dup3() it over fd.
 * Returns 0 or -errno (EBUSY: taken and not multi; E2BIG: no queue left).
 */
int ps_attach(struct ps_obj *o, int fd, int ifx, int multi);
/* The vnet socket of any object attached to interface ifx, or -1 (ps_lock
 * is taken inside; the socket stays valid while the caller holds o). */
int ps_if_sock(int ifx, struct ps_obj **holder);
/* 1 in a child after fork(): every shim descriptor fails with EBADFD. */
int ps_forked(void);

/* Blocking flag of a call on o. */
int ps_dontwait(const struct ps_obj *o, int flags);

/* ---- TAP (preload_tap.c) ---- */

/* ioctl() on a shim descriptor; returns 1 when handled (*rc set). */
int ps_tap_ioctl(struct ps_obj *o, int fd, unsigned long req, void *arg, int *rc);
ssize_t ps_tap_readv(struct ps_obj *o, const struct iovec *iov, int n);
ssize_t ps_tap_writev(struct ps_obj *o, const struct iovec *iov, int n);

/* ---- AF_PACKET (preload_packet.c) ---- */

ssize_t ps_pkt_readv(struct ps_obj *o, const struct iovec *iov, int n);
ssize_t ps_pkt_writev(struct ps_obj *o, const struct iovec *iov, int n);
/* Undo the memberships o holds (its last descriptor closed). */
void ps_pkt_release(struct ps_obj *o);

/* Device RX mode of interface ifx: the SIOCSIFFLAGS setting (user) or one
 * more/less membership (delta) for promisc (or allmulti): the device is in
 * the mode while either holds. s: a vnet socket of the device. Returns 0
 * or -1 with errno. */
int ps_if_rxmode(int ifx, int s, int allmulti, int user, int delta);
/* The last descriptor of interface ifx closed: forget its RX mode. */
void ps_if_reset(int ifx);

/* ---- interfaces (preload_if.c) ---- */

/* Interface ioctls (SIOC*IF*) on any descriptor for mapped names; returns 1
 * when handled (*rc set). */
int ps_ifreq_ioctl(unsigned long req, void *arg, int *rc);
/* One interface ioctl on mapped interface ifx: 0 or -1 with errno. */
int ps_ifreq_do(int ifx, unsigned long req, struct ifreq *ifr);

/* glibc's fortified entry points, which its headers do not declare. */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *from, socklen_t *fromlen);

/* ---- helpers ---- */

/* Copy len bytes from buf into the iovec; returns bytes copied. */
size_t ps_iov_scatter(const struct iovec *iov, int n, const void *buf, size_t len);
/* Total length of an iovec, or -1 (EINVAL) when it overflows. */
ssize_t ps_iov_len(const struct iovec *iov, int n);
/* Fail with errno e. */
int ps_fail(int e);
/* vnet_recv() and vnet_send() with the kernel's SA_RESTART rule for a
 * blocking call: restarted after a handler when that handler asked for it
 * (see ps_restartable() in preload.c). */
ssize_t ps_recv(int s, void *buf, size_t len, int flags);
ssize_t ps_send(int s, const void *buf, size_t len, int flags);

#endif
