/* SPDX-License-Identifier: MIT */
/*
 * Socket-like API (vnet/socket.h) built only on the public device and
 * zero-copy queue API of vnet/vnet.h.
 *
 * A socket is an eventfd (the descriptor the application sees; the event
 * engine will make it readable when frames wait) plus one queue pair of a
 * device shared by every socket opened with the same URI. Sockets are found
 * by descriptor in a table; a reference count keeps a socket alive while a
 * call uses it, so vnet_close() from another thread is safe.
 *
 * Received frames are peeked in bursts into a per-socket stash and copied
 * out one by one; their buffers go back to the device in bulk when the stash
 * is empty, so the ring is refilled (and the device kicked) once per burst.
 */
#include "vnet/socket.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compiler.h"
#include "log.h"

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
	pthread_mutex_t io;      /* serialises users of the queue pair */
	/* RX stash: buffers peeked but not yet copied out (under io). */
	struct vnet_buf stash[VS_BURST];
	unsigned stash_pos, stash_len;
};

/* The registry: devices by URI, sockets by descriptor. */
static pthread_mutex_t vs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vs_dev *vs_devs;
static struct vs_sock **vs_tab;
static size_t vs_tab_len;

static int fail(int err)
{
	errno = err;
	return -1;
}

/* Find or open the device for uri (vs_lock held). */
static int dev_get(const char *uri, struct vs_dev **out)
{
	struct vnet_dev_opts opts = VNET_DEV_OPTS_INIT;
	struct vs_dev *d;

	for (d = vs_devs; d; d = d->next)
		if (!strcmp(d->uri, uri)) {
			*out = d;
			return 0;
		}
	if (strlen(uri) >= VS_URI_MAX)
		return vn_err(-EINVAL, "device URI longer than %d bytes", VS_URI_MAX - 1);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	memcpy(d->uri, uri, strlen(uri) + 1);
	if (vnet_dev_open(uri, &opts, &d->dev) < 0) {
		int err = errno;

		free(d);
		return -err;
	}
	d->info.sz = sizeof(d->info);
	/* calloc() and vnet_dev_info() both set errno when they fail. */
	if (vnet_dev_info(d->dev, &d->info) < 0 ||
	    !(d->queue_taken = calloc(VN_MAX(d->info.queue_pairs, 1), sizeof(bool)))) {
		int err = errno;

		free(d->queue_taken);
		vnet_dev_close(d->dev);
		free(d);
		return -err;
	}
	d->next = vs_devs;
	vs_devs = d;
	*out = d;
	return 0;
}

/* Drop a socket's hold on its device (vs_lock held). */
static void dev_put(struct vs_dev *d)
{
	struct vs_dev **pp;

	if (--d->sockets)
		return;
	for (pp = &vs_devs; *pp != d; pp = &(*pp)->next)
		;
	*pp = d->next;
	vnet_dev_close(d->dev);
	free(d->queue_taken);
	free(d);
}

static int tab_put(int fd, struct vs_sock *s)
{
	if ((size_t)fd >= vs_tab_len) {
		size_t len = VN_MAX((size_t)fd + 1, vs_tab_len * 2);
		struct vs_sock **t = realloc(vs_tab, len * sizeof(*t));

		if (!t)
			return -ENOMEM;
		memset(t + vs_tab_len, 0, (len - vs_tab_len) * sizeof(*t));
		vs_tab = t;
		vs_tab_len = len;
	}
	vs_tab[fd] = s;
	return 0;
}

VNET_API int vnet_socket(const char *uri, unsigned queue, int flags)
{
	struct vs_sock *s;
	struct vs_dev *d = NULL;
	int err;

	vn_err_clear();
	if (!uri || (flags & ~VNET_SOCK_NONBLOCK))
		return fail(EINVAL);
	s = calloc(1, sizeof(*s));
	if (!s)
		return fail(ENOMEM);
	s->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->fd < 0) {
		err = errno;
		free(s);
		return fail(err);
	}
	pthread_mutex_init(&s->io, NULL);
	s->qp = queue;
	s->nonblock = flags & VNET_SOCK_NONBLOCK;
	s->refs = 1;

	pthread_mutex_lock(&vs_lock);
	err = dev_get(uri, &d);
	if (err)
		goto out_unlock;
	d->sockets++;
	if (queue >= d->info.queue_pairs) {
		err = vn_err(-EINVAL, "%s has %u queue pairs; queue %u does not exist",
			     uri, d->info.queue_pairs, queue);
		goto out_put;
	}
	if (d->queue_taken[queue]) {
		err = vn_err(-EBUSY, "queue %u of %s already has a socket", queue, uri);
		goto out_put;
	}
	s->q = vnet_dev_queue(d->dev, queue);
	if (!s->q) {
		err = -errno;
		goto out_put;
	}
	err = tab_put(s->fd, s);
	if (err)
		goto out_put;
	d->queue_taken[queue] = true;
	s->d = d;
	s->max_frame = (size_t)d->info.mtu + VS_VLAN_ETH_OVERHEAD;
	pthread_mutex_unlock(&vs_lock);
	return s->fd;

out_put:
	dev_put(d);
out_unlock:
	pthread_mutex_unlock(&vs_lock);
	close(s->fd);
	pthread_mutex_destroy(&s->io);
	free(s);
	return fail(-err);
}

/* Take a reference on the socket behind fd, or NULL (errno EBADF). */
static struct vs_sock *sock_get(int fd)
{
	struct vs_sock *s = NULL;

	pthread_mutex_lock(&vs_lock);
	if (fd >= 0 && (size_t)fd < vs_tab_len)
		s = vs_tab[fd];
	if (s)
		s->refs++;
	pthread_mutex_unlock(&vs_lock);
	if (!s)
		errno = EBADF;
	return s;
}

/* Release every stashed buffer to the device (io held). */
static int stash_flush(struct vs_sock *s)
{
	int rc = 0;

	if (s->stash_len)
		rc = vnet_rx_release(s->q, s->stash, s->stash_len);
	s->stash_pos = s->stash_len = 0;
	return rc;
}

/*
 * Drop a reference. The last one returns stashed buffers to the queue (while
 * the device is still open), frees the queue pair and maybe the device.
 */
static void sock_put(struct vs_sock *s)
{
	pthread_mutex_lock(&vs_lock);
	if (--s->refs) {
		pthread_mutex_unlock(&vs_lock);
		return;
	}
	stash_flush(s);
	s->d->queue_taken[s->qp] = false;
	dev_put(s->d);
	pthread_mutex_unlock(&vs_lock);
	pthread_mutex_destroy(&s->io);
	free(s);
}

VNET_API int vnet_close(int fd)
{
	struct vs_sock *s;

	pthread_mutex_lock(&vs_lock);
	s = (fd >= 0 && (size_t)fd < vs_tab_len) ? vs_tab[fd] : NULL;
	if (s) {
		vs_tab[fd] = NULL;
		__atomic_store_n(&s->closing, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vs_lock);
	if (!s)
		return fail(EBADF);
	/* The descriptor number may be reused as soon as it is closed, so it
	 * leaves the table first. */
	close(fd);
	sock_put(s);
	return 0;
}

/*
 * Wait for the queue to make progress. Until the interrupt engine exists
 * this yields the CPU between polls; it returns -EBADF once the socket is
 * being closed.
 */
static int sock_wait(struct vs_sock *s)
{
	if (__atomic_load_n(&s->closing, __ATOMIC_ACQUIRE))
		return -EBADF;
	sched_yield();
	return 0;
}

static bool dontwait(const struct vs_sock *s, int flags)
{
	return s->nonblock || (flags & MSG_DONTWAIT);
}

/* Copy one frame of the stash out; returns its full length. (io held) */
static size_t stash_copy(struct vs_sock *s, void *buf, size_t len)
{
	size_t total = 0;
	bool more;

	do {
		const struct vnet_buf *b = &s->stash[s->stash_pos++];
		size_t n = total < len ? VN_MIN((size_t)b->len, len - total) : 0;

		memcpy((char *)buf + total, b->data, n);
		total += b->len;
		more = b->flags & VNET_BUF_MORE;
	} while (more && s->stash_pos < s->stash_len);
	return total;
}

/*
 * Receive up to n frames (io held). Returns frames received, 0 when none
 * waits, or -errno.
 */
static int recv_some(struct vs_sock *s, struct vnet_msg *msgs, unsigned n)
{
	unsigned i = 0;

	while (i < n) {
		if (s->stash_pos == s->stash_len) {
			int got;

			if (stash_flush(s) < 0)
				return i ? (int)i : -errno;
			got = vnet_rx_peek(s->q, s->stash, VS_BURST);
			if (got < 0)
				return i ? (int)i : -errno;
			if (!got)
				break;
			s->stash_len = (unsigned)got;
		}
		msgs[i].msg_len = stash_copy(s, msgs[i].buf, msgs[i].len);
		msgs[i].flags = msgs[i].msg_len > msgs[i].len ? MSG_TRUNC : 0;
		i++;
	}
	return (int)i;
}

VNET_API int vnet_recvmmsg(int fd, struct vnet_msg *msgs, unsigned n, int flags)
{
	struct vs_sock *s;
	int got;

	if ((flags & ~(MSG_DONTWAIT | MSG_TRUNC)) || (!msgs && n))
		return fail(flags & ~(MSG_DONTWAIT | MSG_TRUNC) ? EOPNOTSUPP : EINVAL);
	s = sock_get(fd);
	if (!s)
		return -1;
	for (;;) {
		pthread_mutex_lock(&s->io);
		got = recv_some(s, msgs, VN_MIN(n, (unsigned)INT_MAX));
		pthread_mutex_unlock(&s->io);
		if (got || !n || dontwait(s, flags))
			break;
		got = sock_wait(s);
		if (got)
			break;
	}
	sock_put(s);
	if (got == 0 && n)
		return fail(EAGAIN);
	return got < 0 ? fail(-got) : got;
}

VNET_API ssize_t vnet_recv(int fd, void *buf, size_t len, int flags)
{
	struct vnet_msg m = { .buf = buf, .len = len };
	int rc;

	if (!buf && len)
		return fail(EFAULT);
	rc = vnet_recvmmsg(fd, &m, 1, flags);
	if (rc < 0)
		return -1;
	if (flags & MSG_TRUNC)
		return (ssize_t)m.msg_len;
	return (ssize_t)VN_MIN(m.msg_len, len);
}

/* Check one outgoing frame. */
static int frame_ok(const struct vs_sock *s, const struct vnet_msg *m)
{
	if (!m->buf || m->len < VS_ETH_HLEN)
		return vn_err(-EINVAL, "a frame needs at least %d bytes (an Ethernet header); got %zu",
			      VS_ETH_HLEN, m->buf ? m->len : 0);
	if (m->len > s->max_frame)
		return vn_err(-EMSGSIZE, "frame of %zu bytes exceeds MTU %u + %d",
			      m->len, s->d->info.mtu, VS_VLAN_ETH_OVERHEAD);
	return 0;
}

/*
 * Send up to n frames (io held): reserve, copy, submit once. Returns frames
 * sent, 0 when the ring is full, or -errno.
 */
static int send_some(struct vs_sock *s, struct vnet_msg *msgs, unsigned n)
{
	struct vnet_buf bufs[VS_BURST];
	unsigned ok = 0, i;
	int got, err = 0;

	n = VN_MIN(n, (unsigned)VS_BURST);
	while (ok < n && !(err = frame_ok(s, &msgs[ok])))
		ok++;
	if (!ok)
		return err;
	got = vnet_tx_reserve(s->q, bufs, ok);
	if (got <= 0)
		return got < 0 ? -errno : 0;
	for (i = 0; i < (unsigned)got; i++) {
		memcpy(bufs[i].data, msgs[i].buf, msgs[i].len);
		bufs[i].len = (uint32_t)msgs[i].len;
		msgs[i].msg_len = msgs[i].len;
	}
	if (vnet_tx_submit(s->q, bufs, (unsigned)got) < 0)
		return -errno;
	return got;
}

VNET_API int vnet_sendmmsg(int fd, struct vnet_msg *msgs, unsigned n, int flags)
{
	struct vs_sock *s;
	int sent;

	if (flags & ~MSG_DONTWAIT)
		return fail(EOPNOTSUPP);
	if (!msgs && n)
		return fail(EINVAL);
	s = sock_get(fd);
	if (!s)
		return -1;
	for (;;) {
		pthread_mutex_lock(&s->io);
		sent = n ? send_some(s, msgs, VN_MIN(n, (unsigned)INT_MAX)) : 0;
		pthread_mutex_unlock(&s->io);
		if (sent || !n || dontwait(s, flags))
			break;
		sent = sock_wait(s);
		if (sent)
			break;
	}
	sock_put(s);
	if (sent == 0 && n)
		return fail(EAGAIN);
	return sent < 0 ? fail(-sent) : sent;
}

VNET_API ssize_t vnet_send(int fd, const void *frame, size_t len, int flags)
{
	struct vnet_msg m = { .buf = (void *)frame, .len = len };

	if (vnet_sendmmsg(fd, &m, 1, flags) < 0)
		return -1;
	return (ssize_t)len;
}

VNET_API int vnet_socket_info(int fd, struct vnet_dev_info *info)
{
	struct vs_sock *s = sock_get(fd);
	int rc;

	if (!s)
		return -1;
	rc = vnet_dev_info(s->d->dev, info);
	sock_put(s);
	return rc;
}
