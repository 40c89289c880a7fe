/* SPDX-License-Identifier: MIT */
/*
 * Socket-like API (vnet/socket.h) built only on the public device and
 * zero-copy queue API of vnet/vnet.h.
 *
 * A socket is one queue pair of a device shared by every socket opened
 * with the same URI, and a descriptor: a dup() of the queue's RX interrupt
 * eventfd (vnet_queue_fd()). Sockets are found by descriptor in a table; a
 * reference count keeps a socket alive while a call uses it, so vnet_close()
 * from another thread is safe.
 *
 * Received frames are peeked in bursts into a per-socket stash and copied
 * out one by one; their buffers go back to the device in bulk when the stash
 * is empty, so the ring is refilled (and the device kicked) once per burst.
 *
 * Readiness: the descriptor is readable exactly while its eventfd count is
 * non-zero, and every socket call ends by settling it (vs_rx_settle()):
 *  - frames wait (stash or ring): the count is made non-zero (one write,
 *    skipped when this socket already wrote one it has not consumed);
 *  - nothing waits: the count is read to zero, then the RX notification is
 *    armed (full barrier, one more look at the ring: vnet_queue_arm()), and
 *    if a frame slipped in meanwhile the count is made non-zero again.
 * Armed and drained, the next frame makes the device interrupt, which is
 * what makes the descriptor readable. The one imprecision left is a
 * spurious readiness: an interrupt for a frame that a concurrent vnet_recv()
 * took first; the next call that finds nothing clears it.
 *
 * Blocking calls busy-poll for VNET_SO_BUSY_POLL_US with notifications off,
 * then sleep in vnet_wait() until the RX (or, to send, the TX) interrupt.
 * Without VNET_SO_BUSY_POLL_US (or VNET_BUSY_POLL_US) set, vnet_wait()
 * busy-polls for the budget it learns (vnet_queue_busy_poll() -1).
 * vnet_close() wakes sleepers by writing both eventfds.
 */
#include "vnet/socket.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "compiler.h"
#include "log.h"
#include "socket_int.h"

/* Process-wide VNET_SO_BUSY_POLL_US; -1 until read from the environment,
 * BUSY_ADAPTIVE when neither it nor VNET_SOCK_ALL set one. */
#define BUSY_ADAPTIVE (-2)
static int vs_busy_default = -1;

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

/* The socket's descriptor: a duplicate of the queue's RX interrupt eventfd,
 * or, for a device without interrupts, an eventfd of its own that only
 * vs_rx_settle() writes. */
static int sock_fd(struct vnet_queue *q)
{
	int fd = vnet_queue_fd(q, VNET_WAIT_RX);

	if (fd >= 0)
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	else if (errno == ENOTSUP)
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return fd < 0 ? vn_err(-errno, "socket descriptor: %s", strerror(errno)) : fd;
}

static void wake(struct vs_sock *s);

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
	pthread_mutex_init(&s->rx_io, NULL);
	pthread_mutex_init(&s->tx_io, NULL);
	s->fd = -1;
	s->qp = queue;
	s->nonblock = flags & VNET_SOCK_NONBLOCK;
	s->refs = 1;
	s->busy_us = -1;

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
	err = s->fd = sock_fd(s->q);
	if (err >= 0)
		err = tab_put(s->fd, s);
	if (err)
		goto out_put;
	d->queue_taken[queue] = true;
	s->d = d;
	s->max_frame = (size_t)d->info.mtu + VS_VLAN_ETH_OVERHEAD;
	s->offloads = d->info.offloads != 0;
	pthread_mutex_unlock(&vs_lock);
	/* A previous socket of this queue may have left a count behind. */
	pthread_mutex_lock(&s->rx_io);
	vs_rx_settle(s);
	pthread_mutex_unlock(&s->rx_io);
	return s->fd;

out_put:
	dev_put(d);
out_unlock:
	pthread_mutex_unlock(&vs_lock);
	if (s->fd >= 0)
		close(s->fd);
	pthread_mutex_destroy(&s->rx_io);
	pthread_mutex_destroy(&s->tx_io);
	free(s);
	return fail(-err);
}

/* Take a reference on the socket behind fd, or NULL (errno EBADF). */
struct vs_sock *vs_sock_get(int fd)
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

/* Release every stashed buffer to the device (rx_io held). */
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
void vs_sock_put(struct vs_sock *s)
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
	pthread_mutex_destroy(&s->rx_io);
	pthread_mutex_destroy(&s->tx_io);
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
	wake(s);
	vs_sock_put(s);
	return 0;
}

/* Make the descriptor readable (rx_io held). */
static void rx_signal(struct vs_sock *s)
{
	uint64_t one = 1;

	if (!s->signalled && write(s->fd, &one, sizeof(one)) == sizeof(one))
		s->signalled = true;
}

/* Settle the descriptor's readiness after a receive (see the top). (rx_io held) */
void vs_rx_settle(struct vs_sock *s)
{
	struct vnet_wait w = { .q = s->q, .events = VNET_WAIT_RX };
	uint64_t count;

	if (s->stash_pos < s->stash_len || vnet_wait(&w, 1, 0) != 0) {
		rx_signal(s);
		return;
	}
	/* Consume the count first, then arm and look again: an interrupt
	 * after the read is not lost, it makes the descriptor readable. */
	if (read(s->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		vn_warn("socket %d: reading its eventfd: %s", s->fd, strerror(errno));
	s->signalled = false;
	if (vnet_queue_arm(s->q, VNET_WAIT_RX) != 0)
		rx_signal(s);
}

/* Wake callers sleeping on the socket's queue (vnet_close()). */
static void wake(struct vs_sock *s)
{
	static const unsigned dirs[] = { VNET_WAIT_RX, VNET_WAIT_TX };
	uint64_t one = 1;

	for (unsigned i = 0; i < VN_ARRAY_SIZE(dirs); i++) {
		int fd = vnet_queue_fd(s->q, dirs[i]);

		/* Device-owned eventfds: an extra count is a spurious wake-up,
		 * which every waiter tolerates. */
		if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
			vn_debug("socket: waking sleepers: %s", strerror(errno));
	}
}

uint64_t vs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The process-wide budget in us, or BUSY_ADAPTIVE. */
static int busy_default(void)
{
	int v = __atomic_load_n(&vs_busy_default, __ATOMIC_RELAXED);

	if (v == -1) {
		const char *e = getenv("VNET_BUSY_POLL_US");
		char *end;
		long l = e ? strtol(e, &end, 10) : 0;

		v = !e ? BUSY_ADAPTIVE : *e && !*end && l >= 0 && l <= INT_MAX ? (int)l : 0;
		if (e && (!*e || *end || l < 0 || l > INT_MAX))
			vn_warn("VNET_BUSY_POLL_US=%s is not a number of microseconds; using 0", e);
		__atomic_store_n(&vs_busy_default, v, __ATOMIC_RELAXED);
	}
	return v;
}

int vs_busy_get(void)
{
	return VN_MAX(busy_default(), 0);
}

void vs_busy_set(int us)
{
	__atomic_store_n(&vs_busy_default, us, __ATOMIC_RELAXED);
}

uint64_t vs_busy_prepare(struct vs_sock *s)
{
	int v = __atomic_load_n(&s->busy_us, __ATOMIC_RELAXED);

	if (v < 0)
		v = busy_default();
	/* A budget set explicitly is this layer's to spend, and vnet_wait()
	 * then sleeps at once; without one, vnet_wait() learns one. */
	(void)vnet_queue_busy_poll(s->q, v < 0 ? -1 : 0);
	return (uint64_t)VN_MAX(v, 0) * 1000u;
}

/* Deadline of a blocking call with timeout option ms (0: none). */
static uint64_t deadline_of(const int *ms)
{
	int v = __atomic_load_n(ms, __ATOMIC_RELAXED);

	return v ? vs_now_ns() + (uint64_t)v * 1000000u : UINT64_MAX;
}

/*
 * A blocking call found nothing to do: busy-poll until *busy_end, then
 * sleep on the interrupts of dir until deadline. Returns 0 (look again),
 * -EBADF (closed meanwhile), -EINTR or -EAGAIN (the timeout expired).
 */
static int sock_wait(struct vs_sock *s, unsigned dir, uint64_t busy_end, uint64_t deadline)
{
	struct vnet_wait w = { .q = s->q, .events = dir };
	uint64_t now = vs_now_ns();
	int rc;

	if (__atomic_load_n(&s->closing, __ATOMIC_ACQUIRE))
		return -EBADF;
	if (now >= deadline)
		return -EAGAIN;
	if (now < busy_end) {
		vn_cpu_relax();
		return 0;
	}
	rc = vnet_wait(&w, 1, deadline == UINT64_MAX ? -1 :
			      (int)VN_MIN((deadline - now + 999999u) / 1000000u, (uint64_t)INT_MAX));
	return rc < 0 ? -errno : 0;
}

static bool dontwait(const struct vs_sock *s, int flags)
{
	return s->nonblock || (flags & MSG_DONTWAIT);
}

/* Copy one frame of the stash out; returns its full length. (rx_io held) */
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
 * Receive up to n frames (rx_io held). Returns frames received, 0 when none
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
		if (__atomic_load_n(&s->vnet_hdr, __ATOMIC_RELAXED)) {
			uint8_t h[VNET_VNET_HDR_LEN];
			size_t k = VN_MIN(msgs[i].len, sizeof(h));

			/* VNET_SO_VNET_HDR: the header, then the frame after it. */
			vs_hdr_recv(s, &s->stash[s->stash_pos], h);
			memcpy(msgs[i].buf, h, k);
			msgs[i].msg_len = sizeof(h) + stash_copy(s, (char *)msgs[i].buf + k,
								 msgs[i].len - k);
		} else {
			msgs[i].msg_len = stash_copy(s, msgs[i].buf, msgs[i].len);
		}
		msgs[i].flags = msgs[i].msg_len > msgs[i].len ? MSG_TRUNC : 0;
		i++;
	}
	return (int)i;
}

static int send_some(struct vs_sock *s, struct vnet_msg *msgs, unsigned n);

/*
 * The loop of every send and receive call: move what can be moved; when
 * nothing could and the call may block, busy-poll (notifications off) and
 * then sleep on the direction's interrupt, with the direction's lock held.
 * Returns frames moved, or -errno (EAGAIN: nothing without blocking, or
 * the timeout expired).
 */
static int sock_io(struct vs_sock *s, bool rx, struct vnet_msg *msgs, unsigned n, bool block)
{
	unsigned dir = rx ? VNET_WAIT_RX : VNET_WAIT_TX;
	pthread_mutex_t *lock = rx ? &s->rx_io : &s->tx_io;
	uint64_t busy_end = 0, deadline = 0;
	bool waited = false;
	int got, err = 0;

	n = VN_MIN(n, (unsigned)INT_MAX);
	pthread_mutex_lock(lock);
	for (;;) {
		got = rx ? recv_some(s, msgs, n) : send_some(s, msgs, n);
		/* Settle the descriptor before returning or sleeping, not
		 * between two looks of a busy-poll. */
		if (rx && (got || err || !block || !n || vs_now_ns() >= busy_end))
			vs_rx_settle(s);
		if (got || err || !block || !n)
			break;
		if (!waited) {
			waited = true;
			busy_end = vs_now_ns() + vs_busy_prepare(s);
			deadline = deadline_of(rx ? &s->rcvtimeo_ms : &s->sndtimeo_ms);
			if (busy_end > vs_now_ns())
				(void)vnet_queue_disarm(s->q, dir);
		}
		err = sock_wait(s, dir, busy_end, deadline);
	}
	/* TX is armed only while a sender sleeps. */
	if (!rx && waited)
		(void)vnet_queue_disarm(s->q, dir);
	pthread_mutex_unlock(lock);
	if (got)
		return got;
	return err ? err : (n ? -EAGAIN : 0);
}

VNET_API int vnet_recvmmsg(int fd, struct vnet_msg *msgs, unsigned n, int flags)
{
	struct vs_sock *s;
	int got;

	if ((flags & ~(MSG_DONTWAIT | MSG_TRUNC)) || (!msgs && n))
		return fail(flags & ~(MSG_DONTWAIT | MSG_TRUNC) ? EOPNOTSUPP : EINVAL);
	s = vs_sock_get(fd);
	if (!s)
		return -1;
	got = sock_io(s, true, msgs, n, !dontwait(s, flags));
	vs_sock_put(s);
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

/* Check one outgoing frame (hdr: it starts with the VNET_SO_VNET_HDR header). */
static int frame_ok(const struct vs_sock *s, const struct vnet_msg *m, size_t hdr)
{
	size_t len = m->len - VN_MIN(m->len, hdr);

	if (!m->buf || m->len < hdr + VS_ETH_HLEN)
		return vn_err(-EINVAL, "a frame needs at least %zu bytes (%san Ethernet header); "
			      "got %zu", hdr + VS_ETH_HLEN, hdr ? "its virtio_net_hdr and " : "",
			      m->buf ? m->len : 0);
	if (hdr && vs_hdr_gso(m->buf) ? len > VNET_GSO_FRAME_MAX : len > s->max_frame)
		return vn_err(-EMSGSIZE, "frame of %zu bytes exceeds MTU %u + %d%s",
			      len, s->d->info.mtu, VS_VLAN_ETH_OVERHEAD,
			      hdr ? " (or, with GSO, VNET_GSO_FRAME_MAX)" : "");
	return 0;
}

/* Hand reserved buffers back unsent. */
static void unsend(struct vs_sock *s, struct vnet_buf *bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		bufs[i].len = 0;
	if (n)
		(void)vnet_tx_submit(s->q, bufs, n);
}

/*
 * Send up to n frames (rx_io held): reserve, copy, submit once. Returns frames
 * sent, 0 when the ring is full, or -errno.
 */
static int send_some(struct vs_sock *s, struct vnet_msg *msgs, unsigned n)
{
	size_t hdr = __atomic_load_n(&s->vnet_hdr, __ATOMIC_RELAXED) ? VNET_VNET_HDR_LEN : 0;
	struct vnet_buf bufs[VS_BURST];
	unsigned ok = 0, i;
	int got, err = 0;

	n = VN_MIN(n, (unsigned)VS_BURST);
	while (ok < n && !(err = frame_ok(s, &msgs[ok], hdr)))
		ok++;
	if (!ok)
		return err;
	got = vnet_tx_reserve(s->q, bufs, ok);
	if (got <= 0)
		return got < 0 ? -errno : 0;
	for (i = 0; i < (unsigned)got; i++) {
		const uint8_t *f = msgs[i].buf;
		size_t len = msgs[i].len - hdr;

		/* A GSO frame larger than the device's TX buffers (no TSO). */
		if (len > bufs[i].len)
			err = vn_err(-EMSGSIZE, "frame of %zu bytes: the device's buffers hold %u "
				     "(no TSO negotiated?)", len, bufs[i].len);
		if (!err) {
			memcpy(bufs[i].data, f + hdr, len);
			bufs[i].len = (uint32_t)len;
			err = hdr ? vs_hdr_send(s, f, &bufs[i]) : 0;
		}
		if (err) {
			/* This frame and the rest go back; those before it leave. */
			unsend(s, bufs + i, (unsigned)got - i);
			if (!i)
				return err;
			got = (int)i;
			break;
		}
		msgs[i].msg_len = msgs[i].len;
	}
	if (vnet_tx_submit(s->q, bufs, (unsigned)got) < 0) {
		int why = errno;

		/* Down or broken since the reserve: hand the buffers back
		 * unsent, or they are lost to the ring for good. */
		unsend(s, bufs, (unsigned)got);
		return -why;
	}
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
	s = vs_sock_get(fd);
	if (!s)
		return -1;
	sent = sock_io(s, false, msgs, n, !dontwait(s, flags));
	vs_sock_put(s);
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
	struct vs_sock *s = vs_sock_get(fd);
	int rc;

	if (!s)
		return -1;
	rc = vnet_dev_info(s->d->dev, info);
	vs_sock_put(s);
	return rc;
}

VNET_API struct vnet_dev *vnet_socket_dev(int fd)
{
	struct vs_sock *s = vs_sock_get(fd);
	struct vnet_dev *dev;

	if (!s)
		return NULL;
	/* The device lives as long as any of its sockets: fd holds it. */
	dev = s->d->dev;
	vs_sock_put(s);
	return dev;
}
