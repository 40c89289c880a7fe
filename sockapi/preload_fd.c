/* SPDX-License-Identifier: MIT */
/*
 * libvnet-preload.so: the calls every kind of descriptor shares — close,
 * the dup family, fcntl, ioctl's dispatch, and the read/write family —
 * following the shim's descriptors (preload.c's table) and handing the
 * kind-specific part to preload_tap.c and preload_packet.c. What each does
 * is specified in the NOTES of preload.c.
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ---- helpers ---- */

ssize_t ps_iov_len(const struct iovec *iov, int n)
{
	size_t total = 0;

	if (n < 0 || n > IOV_MAX)
		return ps_fail(EINVAL);
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			return ps_fail(EINVAL);
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

size_t ps_iov_scatter(const struct iovec *iov, int n, const void *buf, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t k = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy(iov[i].iov_base, (const char *)buf + done, k);
		done += k;
	}
	return done;
}

/* ---- generic descriptor calls ---- */

/* Whether the shim owns the descriptor's O_NONBLOCK (else the kernel does). */
static int owns_flags(const struct ps_obj *o)
{
	return o->s >= 0 || o->placeholder_err;
}

VNET_EXPORT int close(int fd)
{
	struct ps_obj *o;
	int r;

	ps_init();
	o = ps_tab_replace(fd, NULL);
	/* Out of the table first: the number may be reused once closed. */
	r = ps_real.close(fd);
	if (o)
		ps_debug("close fd %d", fd);
	ps_put(o);
	return r;
}

/* Record newfd as another descriptor of o (or of nothing), after the
 * kernel made it one; drops what newfd referred to before. */
static void dup_track(int newfd, struct ps_obj *o)
{
	ps_put(ps_tab_replace(newfd, o));
}

/*
 * dup/dup2/dup3/F_DUPFD of a shim descriptor: shim sockets stay
 * close-on-exec. op does the kernel's part with arg (the target, or the
 * lowest acceptable number); target is the descriptor it replaces, or -1.
 */
static int dup_common(int oldfd, int target, int arg, int cloexec, int (*op)(int, int, int))
{
	struct ps_obj *o = ps_get(oldfd);
	struct ps_obj *prev = ps_get(target);
	int r;

	if (!o && !prev)
		return op(oldfd, arg, cloexec);
	if (o && o->s >= 0)
		cloexec = 1;
	r = op(oldfd, arg, cloexec);
	if (r >= 0 && r != oldfd) {
		if (o && (unsigned)r >= PS_FD_MAX) {
			ps_real.close(r);
			r = ps_fail(EMFILE);
		} else {
			dup_track(r, o);
		}
	}
	ps_put(o);
	ps_put(prev);
	return r;
}

static int op_dup(int oldfd, int newfd, int cloexec)
{
	return ps_real.fcntl(oldfd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
}

static int op_dupfd(int oldfd, int newfd, int cloexec)
{
	/* newfd is the lowest number acceptable here. */
	return ps_real.fcntl(oldfd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, newfd);
}

static int op_dup3(int oldfd, int newfd, int cloexec)
{
	return ps_real.dup3(oldfd, newfd, cloexec ? O_CLOEXEC : 0);
}

static int op_dup2(int oldfd, int newfd, int cloexec)
{
	/* dup2(fd, fd) is fd when open: dup3 would fail. */
	if (oldfd == newfd || !cloexec)
		return ps_real.dup2(oldfd, newfd);
	return ps_real.dup3(oldfd, newfd, O_CLOEXEC);
}

VNET_EXPORT int dup(int oldfd)
{
	ps_init();
	return dup_common(oldfd, -1, 0, 0, op_dup);
}

VNET_EXPORT int dup2(int oldfd, int newfd)
{
	ps_init();
	return dup_common(oldfd, newfd, newfd, 0, op_dup2);
}

VNET_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	ps_init();
	if (flags & ~O_CLOEXEC)
		return ps_real.dup3(oldfd, newfd, flags);
	return dup_common(oldfd, newfd, newfd, flags & O_CLOEXEC, op_dup3);
}

/* fcntl on a shim descriptor; returns 1 when handled (*rc set). */
static int obj_fcntl(struct ps_obj *o, int fd, int cmd, void *arg, int *rc)
{
	int fl;

	switch (cmd) {
	case F_GETFL:
		if (!owns_flags(o))
			return 0;
		fl = ps_real.fcntl(fd, F_GETFL);
		if (fl >= 0)
			fl = (fl & ~O_NONBLOCK) |
			     (__atomic_load_n(&o->nonblock, __ATOMIC_RELAXED) ? O_NONBLOCK : 0);
		*rc = fl;
		return 1;
	case F_SETFL:
		if (!owns_flags(o))
			return 0;
		fl = ps_real.fcntl(fd, F_GETFL);
		/* The eventfd keeps its own O_NONBLOCK: sockapi reads it so. */
		*rc = fl < 0 ? -1
			     : ps_real.fcntl(fd, F_SETFL,
					     ((int)(long)arg & ~O_NONBLOCK) | (fl & O_NONBLOCK));
		if (*rc == 0)
			__atomic_store_n(&o->nonblock, !!((int)(long)arg & O_NONBLOCK),
					 __ATOMIC_RELAXED);
		return 1;
	case F_SETFD:
		if (o->s < 0)
			return 0;
		/* Close-on-exec stays: the device cannot live across exec. */
		*rc = ps_real.fcntl(fd, F_SETFD, (int)(long)arg | FD_CLOEXEC);
		return 1;
	default:
		return 0;
	}
}

static int fcntl_common(int fd, int cmd, void *arg)
{
	struct ps_obj *o;
	int rc;

	ps_init();
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return dup_common(fd, -1, (int)(long)arg, cmd == F_DUPFD_CLOEXEC, op_dupfd);
	o = ps_get(fd);
	if (o && obj_fcntl(o, fd, cmd, arg, &rc)) {
		ps_put(o);
		return rc;
	}
	ps_put(o);
	return ps_real.fcntl(fd, cmd, arg);
}

/* fcntl's third argument is an int or a pointer, by command; it is passed
 * on as the pointer-sized value it arrived in, as glibc's own fcntl does.
 * fcntl64 is the name programs built with 64-bit off_t call. */
#define FCNTL_VARIANT(name)                              \
	VNET_EXPORT int name(int fd, int cmd, ...)       \
	{                                                \
		va_list ap;                              \
		void *arg;                               \
                                                         \
		va_start(ap, cmd);                       \
		arg = va_arg(ap, void *);                \
		va_end(ap);                              \
		return fcntl_common(fd, cmd, arg);       \
	}

FCNTL_VARIANT(fcntl)
FCNTL_VARIANT(fcntl64)

/* ioctl on a shim descriptor, common to both kinds; returns 1 if handled. */
static int obj_ioctl(struct ps_obj *o, int fd, unsigned long req, void *arg, int *rc)
{
	if (req == FIONBIO && owns_flags(o)) {
		int on;

		if (!arg) {
			*rc = ps_fail(EFAULT);
			return 1;
		}
		memcpy(&on, arg, sizeof(on));
		__atomic_store_n(&o->nonblock, !!on, __ATOMIC_RELAXED);
		*rc = 0;
		return 1;
	}
	if (ps_forked() && o->s >= 0) {
		*rc = ps_fail(EBADFD);
		return 1;
	}
	if (o->kind == PS_TUN_PENDING || o->kind == PS_TAP)
		return ps_tap_ioctl(o, fd, req, arg, rc);
	return 0;
}

static int ifreq_any_socket(unsigned long req, void *arg)
{
	int s = ps_real.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc, err;

	if (s < 0)
		return -1;
	rc = ps_real.ioctl(s, req, arg);
	err = errno;
	ps_real.close(s);
	errno = err;
	return rc;
}

VNET_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct ps_obj *o;
	va_list ap;
	void *arg;
	int rc;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	ps_init();
	o = ps_get(fd);
	if (o && !ps_inside() && obj_ioctl(o, fd, req, arg, &rc)) {
		ps_put(o);
		return rc;
	}
	if (ps_active() && ps_ifreq_ioctl(req, arg, &rc)) {
		ps_put(o);
		return rc;
	}
	/* A placeholder is no socket: the interface ioctls that any socket
	 * answers (CPython's bind() asks SIOCGIFINDEX on the socket itself)
	 * are asked on one that needs no privilege. */
	if (o && o->placeholder_err && _IOC_TYPE(req) == 0x89) {
		ps_put(o);
		return ifreq_any_socket(req, arg);
	}
	ps_put(o);
	return ps_real.ioctl(fd, req, arg);
}

/* ---- read and write ---- */

/* The shim's part of a read/write-family call on fd: returns 1 when it
 * handled the call (*rc set), 0 when the kernel's call is to be made. */
static int obj_io(int fd, int tx, const struct iovec *iov, int n, ssize_t *rc)
{
	struct ps_obj *o;

	ps_init();
	o = ps_get(fd);
	if (!o)
		return 0;
	if (o->kind == PS_TUN_PENDING || o->kind == PS_PKT_PENDING) {
		/* A kernel object not (yet) attached: the kernel answers; a
		 * placeholder answers as an unattached tun fd does. */
		ps_put(o);
		if (!o->placeholder_err)
			return 0;
		*rc = ps_fail(EBADFD);
		return 1;
	}
	if (ps_forked())
		*rc = ps_fail(EBADFD);
	else if (o->kind == PS_TAP)
		*rc = tx ? ps_tap_writev(o, iov, n) : ps_tap_readv(o, iov, n);
	else
		*rc = tx ? ps_pkt_writev(o, iov, n) : ps_pkt_readv(o, iov, n);
	ps_put(o);
	return 1;
}

VNET_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	struct iovec v = { buf, len };
	ssize_t rc;

	return obj_io(fd, 0, &v, 1, &rc) ? rc : ps_real.read(fd, buf, len);
}

/* Fortified read(): an overflow is glibc's to report (its __read_chk ends
 * the program, as the program was built to); the rest is read(). */
VNET_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	ps_init();
	if (len > buflen)
		return ps_real.read_chk(fd, buf, len, buflen);
	return read(fd, buf, len);
}

VNET_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	ssize_t rc;

	return obj_io(fd, 1, &v, 1, &rc) ? rc : ps_real.write(fd, buf, len);
}

VNET_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	ssize_t rc;

	return obj_io(fd, 0, iov, n, &rc) ? rc : ps_real.readv(fd, iov, n);
}

VNET_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	ssize_t rc;

	return obj_io(fd, 1, iov, n, &rc) ? rc : ps_real.writev(fd, iov, n);
}
