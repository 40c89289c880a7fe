/* SPDX-License-Identifier: MIT */
/*
 * The TUN/TAP half of libvnet-preload.so (semantics: NOTES in preload.c):
 * open("/dev/net/tun"), the tun ioctls, and frames with their tun_pi and
 * virtio_net_hdr prefixes, following drivers/net/tun.c where the two can
 * agree.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "preload.h"
#include "vnet/socket.h"

#define TAP_FLAGS_KEPT (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)
#define TAP_FEATURES (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)

static int is_tun(const char *path)
{
	return path && !strcmp(path, "/dev/net/tun");
}

/*
 * The kernel's answer to open("/dev/net/tun") was fd (errno err when < 0):
 * track it, or stand in for it with a placeholder when the kernel refused
 * and a mapped name may still be attached.
 */
static int tun_opened(int fd, int err, int flags)
{
	struct ps_obj *o;
	int r;

	if (ps_strict_fail()) {
		if (fd >= 0)
			ps_real.close(fd);
		return ps_fail(EINVAL);
	}
	if (!ps_active())
		return fd < 0 ? ps_fail(err) : fd;
	if (fd < 0) {
		/* Only refusals of the device itself; EMFILE and the like stay. */
		if (err != ENOENT && err != EACCES && err != EPERM && err != ENODEV && err != ENXIO)
			return ps_fail(err);
		fd = eventfd(0, (flags & O_CLOEXEC) ? EFD_CLOEXEC : 0);
		if (fd < 0)
			return ps_fail(err);
	}
	r = ps_track(fd, PS_TUN_PENDING, fd >= 0 && err ? err : 0, &o);
	if (r) {
		/* Not trackable (fd >= 65536, no memory): the kernel's fd, untouched. */
		ps_debug("open /dev/net/tun -> fd %d untracked: %s", fd, strerror(-r));
		if (!err)
			return fd;
		ps_real.close(fd);
		return ps_fail(err);
	}
	if (err) {
		o->nonblock = !!(flags & O_NONBLOCK);
		ps_debug("open /dev/net/tun -> fd %d pending (placeholder; kernel: %s)", fd,
			 strerror(err));
	} else {
		ps_debug("open /dev/net/tun -> fd %d pending", fd);
	}
	return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode, int at)
{
	int fd;

	ps_init();
	if (!is_tun(path) || ps_inside())
		return at ? ps_real.openat(dirfd, path, flags, mode) : ps_real.open(path, flags, mode);
	fd = ps_real.open(path, flags, mode);
	return tun_opened(fd, fd < 0 ? errno : 0, flags);
}

#define OPEN_VARIANT(name)                                                 \
	VNET_EXPORT int name(const char *path, int flags, ...)             \
	{                                                                  \
		va_list ap;                                                \
		mode_t mode;                                               \
                                                                           \
		va_start(ap, flags);                                       \
		mode = open_mode(flags, ap);                               \
		va_end(ap);                                                \
		return open_common(AT_FDCWD, path, flags, mode, 0);        \
	}
#define OPENAT_VARIANT(name)                                               \
	VNET_EXPORT int name(int dirfd, const char *path, int flags, ...)  \
	{                                                                  \
		va_list ap;                                                \
		mode_t mode;                                               \
                                                                           \
		va_start(ap, flags);                                       \
		mode = open_mode(flags, ap);                               \
		va_end(ap);                                                \
		return open_common(dirfd, path, flags, mode, 1);           \
	}

OPEN_VARIANT(open)
OPEN_VARIANT(open64)
OPENAT_VARIANT(openat)
OPENAT_VARIANT(openat64)

/* The fortified opens (glibc's _FORTIFY_SOURCE) take no mode. */
VNET_EXPORT int __open_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0, 0);
}

VNET_EXPORT int __open64_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0, 0);
}

/* TUNSETIFF on a pending descriptor. */
static int tunsetiff(struct ps_obj *o, int fd, struct ifreq *ifr)
{
	char name[IFNAMSIZ];
	int flags = ifr->ifr_flags, ifx, r, fl;

	memcpy(name, ifr->ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	ifx = ps_if_find(name);
	if (ifx < 0) {
		if (o->placeholder_err) {
			ps_debug("TUNSETIFF %s -> fails: the kernel refused /dev/net/tun", name);
			return ps_fail(o->placeholder_err);
		}
		r = ps_real.ioctl(fd, TUNSETIFF, ifr);
		if (r == 0) {
			/* Now the kernel's interface: the shim lets go of it. */
			ps_untrack(o);
			ps_debug("TUNSETIFF %s -> kernel", name);
		}
		return r;
	}
	/* drivers/net/tun.c: the interface is a TAP, so IFF_TUN mismatches;
	 * IFF_TUN_EXCL asks for a new interface, and this one exists. */
	if (!(flags & IFF_TAP) || (flags & IFF_TUN) || (flags & (IFF_NAPI | IFF_NAPI_FRAGS))) {
		ps_debug("TUNSETIFF %s flags %#x -> EINVAL (want IFF_TAP)", name, flags);
		return ps_fail(EINVAL);
	}
	if (flags & IFF_TUN_EXCL)
		return ps_fail(EBUSY);
	/* The kernel object's O_NONBLOCK moves into the shim with it. */
	if (!o->placeholder_err) {
		fl = ps_real.fcntl(fd, F_GETFL);
		o->nonblock = fl >= 0 && (fl & O_NONBLOCK);
	}
	/* Set first: a read on a dup may start as soon as it is attached. */
	o->tun_flags = flags & TAP_FLAGS_KEPT;
	r = ps_attach(o, fd, ifx, !!(flags & IFF_MULTI_QUEUE));
	if (r) {
		ps_debug("TUNSETIFF %s -> %s", name, strerror(-r));
		return ps_fail(-r);
	}
	/* tun copies the interface's name back. */
	memcpy(ifr->ifr_name, ps_cfg.ifs[ifx].name, IFNAMSIZ);
	return 0;
}

static int put_int(void *arg, int v)
{
	if (!arg)
		return ps_fail(EFAULT);
	memcpy(arg, &v, sizeof(v));
	return 0;
}

/* The tun ioctls of an attached TAP descriptor. */
static int tap_tun_ioctl(struct ps_obj *o, unsigned long req, void *arg)
{
	struct ifreq *ifr = arg;
	int v;

	switch (req) {
	case TUNSETIFF:
		return ps_fail(EEXIST); /* tun: this file is attached already */
	case TUNGETIFF:
		if (!ifr)
			return ps_fail(EFAULT);
		memset(ifr, 0, sizeof(*ifr));
		memcpy(ifr->ifr_name, ps_cfg.ifs[o->ifx].name, IFNAMSIZ);
		ifr->ifr_flags = (short)o->tun_flags;
		return 0;
	case TUNGETFEATURES:
		return put_int(arg, TAP_FEATURES);
	case TUNGETVNETHDRSZ:
		return put_int(arg, o->vnet_hdr_sz);
	case TUNSETVNETHDRSZ:
		if (!arg)
			return ps_fail(EFAULT);
		memcpy(&v, arg, sizeof(v));
		if (v < (int)sizeof(struct virtio_net_hdr))
			return ps_fail(EINVAL);
		o->vnet_hdr_sz = v;
		return 0;
	case TUNSETOFFLOAD:
	case TUNSETPERSIST:
		/* No offloads yet; the device cannot outlive the process. */
		return arg ? ps_fail(EINVAL) : 0;
	case TUNSETOWNER:
	case TUNSETGROUP:
	case TUNSETSNDBUF:
		/* Only this process can attach the device at all, and the
		 * ring is the send buffer. */
		return 0;
	case TUNGETSNDBUF:
		return put_int(arg, INT_MAX);
	default:
		return ps_fail(EINVAL); /* as tun for what it does not know */
	}
}

static int tap_ioctl(struct ps_obj *o, int fd, unsigned long req, void *arg, int *rc)
{
	if (o->kind == PS_TUN_PENDING) {
		if (req == TUNSETIFF) {
			*rc = arg ? tunsetiff(o, fd, arg) : ps_fail(EFAULT);
			return 1;
		}
		if (!o->placeholder_err || _IOC_TYPE(req) != 'T')
			return 0; /* the kernel's tun fd answers */
		*rc = req == TUNGETFEATURES ? put_int(arg, TAP_FEATURES) : ps_fail(EBADFD);
		return 1;
	}
	if (_IOC_TYPE(req) == 'T') {
		*rc = tap_tun_ioctl(o, req, arg);
		return 1;
	}
	/* tun answers these for its own interface, whatever the name says. */
	if (req == SIOCGIFHWADDR || req == SIOCSIFHWADDR) {
		*rc = ps_ifreq_do(o->ifx, req, arg);
		return 1;
	}
	return 0;
}

int ps_tap_ioctl(struct ps_obj *o, int fd, unsigned long req, void *arg, int *rc)
{
	struct ifreq ifr;
	int handled;

	if (!arg || (req != TUNSETIFF && req != TUNGETIFF && req != SIOCGIFHWADDR &&
		     req != SIOCSIFHWADDR))
		return tap_ioctl(o, fd, req, arg, rc);
	/* The program's struct ifreq need not be aligned (a char buffer):
	 * worked on in a copy. */
	memcpy(&ifr, arg, sizeof(ifr));
	handled = tap_ioctl(o, fd, req, &ifr, rc);
	if (handled)
		memcpy(arg, &ifr, sizeof(ifr));
	return handled;
}

/* Bytes of tun_pi and virtio_net_hdr before each frame. */
static size_t prefix_len(const struct ps_obj *o)
{
	return (o->tun_flags & IFF_NO_PI ? 0 : sizeof(struct tun_pi)) +
	       (o->tun_flags & IFF_VNET_HDR ? (size_t)o->vnet_hdr_sz : 0);
}

/* Write the prefix for a frame (of total length flen) into p. */
static void prefix_fill(const struct ps_obj *o, char *p, const unsigned char *frame, size_t flen,
			int truncated)
{
	if (!(o->tun_flags & IFF_NO_PI)) {
		struct tun_pi pi = { .flags = truncated ? TUN_PKT_STRIP : 0 };

		/* The EtherType as it stands in the frame: network order. */
		if (flen >= 14)
			memcpy(&pi.proto, frame + 12, sizeof(pi.proto));
		memcpy(p, &pi, sizeof(pi));
		p += sizeof(pi);
	}
	if (o->tun_flags & IFF_VNET_HDR)
		memset(p, 0, (size_t)o->vnet_hdr_sz); /* no offload: VIRTIO_NET_HDR_GSO_NONE */
}

ssize_t ps_tap_readv(struct ps_obj *o, const struct iovec *iov, int n)
{
	ssize_t total = ps_iov_len(iov, n);
	size_t pre = prefix_len(o), room, cap, flen, out;
	int flags = MSG_TRUNC | (ps_dontwait(o, 0) ? MSG_DONTWAIT : 0);
	unsigned char *buf;
	ssize_t got;

	if (total < 0)
		return -1;
	if ((size_t)total < pre)
		return ps_fail(EINVAL); /* tun: no room for the headers */
	room = (size_t)total - pre;
	if (n == 1 && room >= 14) {
		/* The common case: straight into the caller's buffer. */
		unsigned char *p = iov[0].iov_base;

		got = ps_recv(o->s, p + pre, room, flags);
		if (got < 0)
			return -1;
		flen = (size_t)got;
		prefix_fill(o, (char *)p, p + pre, flen, flen > room);
		return (ssize_t)(pre + (flen < room ? flen : room));
	}
	/* Scattered buffers, or less room than an Ethernet header (whose
	 * EtherType tun_pi wants): through a bounce buffer. */
	cap = room < 14 ? 14 : room < PS_FRAME_MAX ? room : PS_FRAME_MAX;
	buf = malloc(pre + cap);
	if (!buf)
		return ps_fail(ENOMEM);
	got = ps_recv(o->s, buf + pre, cap, flags);
	if (got < 0) {
		free(buf);
		return -1;
	}
	flen = (size_t)got;
	prefix_fill(o, (char *)buf, buf + pre, flen, flen > room);
	out = pre + (flen < room ? flen : room);
	out = ps_iov_scatter(iov, n, buf, out);
	free(buf);
	return (ssize_t)out;
}

ssize_t ps_tap_writev(struct ps_obj *o, const struct iovec *iov, int n)
{
	ssize_t total = ps_iov_len(iov, n);
	size_t pre = prefix_len(o), len;
	int flags = ps_dontwait(o, 0) ? MSG_DONTWAIT : 0;
	const unsigned char *p;
	unsigned char *buf = NULL;
	ssize_t r;

	if (total < 0)
		return -1;
	if ((size_t)total < pre)
		return ps_fail(EINVAL); /* tun: shorter than its headers */
	len = (size_t)total;
	if (n == 1) {
		p = iov[0].iov_base;
	} else {
		/* Longer than any frame: refused below without the copy. */
		if (len > pre + PS_FRAME_MAX)
			return ps_fail(EMSGSIZE);
		buf = malloc(len ? len : 1);
		if (!buf)
			return ps_fail(ENOMEM);
		len = 0;
		for (int i = 0; i < n; i++) {
			memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
			len += iov[i].iov_len;
		}
		p = buf;
	}
	if (o->tun_flags & IFF_VNET_HDR) {
		struct virtio_net_hdr h;
		const unsigned char *hp = p + (o->tun_flags & IFF_NO_PI ? 0 : sizeof(struct tun_pi));

		memcpy(&h, hp, sizeof(h));
		/* Offloads (checksum, GSO) are not implemented yet: only a
		 * header that asks for none is accepted. */
		if (h.flags || h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			free(buf);
			return ps_fail(EINVAL);
		}
	}
	/* tun_pi is ignored for a TAP: the frame says what it carries. */
	r = ps_send(o->s, p + pre, len - pre, flags);
	free(buf);
	return r < 0 ? -1 : total;
}
