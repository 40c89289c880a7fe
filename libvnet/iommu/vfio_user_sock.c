/* SPDX-License-Identifier: MIT */
/*
 * vfio-user messages over a SOCK_STREAM Unix socket: one whole message per
 * call, file descriptors as SCM_RIGHTS (vfio-user.rst "Socket"). A stream
 * has no message boundaries, so the receiver reads the 16-byte header,
 * checks its size, then reads exactly the body. The kernel attaches passed
 * fds to the first bytes of the sendmsg() that carried them and never merges
 * them across reads, so collecting fds from every recvmsg() of one message
 * gets exactly that message's fds.
 *
 * Both directions use non-blocking calls plus poll() against one deadline,
 * so a peer that stops half way costs at most timeout_ms, whatever mode the
 * socket is in.
 */
#include "iommu/vfio_user_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on sock until deadline (< 0: forever). */
static int wait_sock(int sock, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = events };
		int left = -1, r;

		if (deadline >= 0) {
			int64_t d = deadline - now_ms();

			if (d <= 0)
				return -ETIMEDOUT;
			left = d > 60000 ? 60000 : (int)d;
		}
		r = poll(&pfd, 1, left);
		if (r > 0)
			return 0; /* readable, writable, or an error recvmsg will report */
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

void vfio_user_fds_close(struct vfio_user_fds *fds, unsigned from)
{
	for (unsigned i = from; i < fds->n; i++)
		close(fds->fd[i]);
	if (fds->n > from)
		fds->n = from;
}

int vfio_user_send(int sock, const void *msg, size_t len, const int *fds, unsigned n_fds,
		   int timeout_ms)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * VFIO_USER_MAX_FDS)];
	} ctl;
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	size_t done = 0;

	if (n_fds > VFIO_USER_MAX_FDS)
		return vn_err(-EINVAL, "vfio-user: %u fds in one message, limit %u", n_fds,
			      VFIO_USER_MAX_FDS);
	while (done < len) {
		struct iovec iov = { .iov_base = (char *)msg + done, .iov_len = len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		/* The fds ride with the first bytes only. */
		if (done == 0 && n_fds) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_sock(sock, POLLOUT, deadline);

			if (r)
				return vn_err(r, "vfio-user: sending a message: %s", strerror(-r));
			continue;
		}
		return vn_err(n < 0 ? -errno : -EIO, "vfio-user: sending a message: %s",
			      n < 0 ? strerror(errno) : "nothing sent");
	}
	return 0;
}

/* Take the fds out of a received control buffer; close what does not fit. */
static void take_fds(struct msghdr *mh, struct vfio_user_fds *fds)
{
	if (mh->msg_flags & MSG_CTRUNC)
		fds->truncated = true; /* the kernel dropped the ones that did not fit */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (fds->n < VFIO_USER_MAX_FDS) {
				fds->fd[fds->n++] = fd;
			} else {
				close(fd);
				fds->truncated = true;
			}
		}
	}
}

/* Read exactly len bytes into buf (collecting fds); -ECONNRESET on EOF. */
static int read_full(int sock, char *buf, size_t len, struct vfio_user_fds *fds,
		     int64_t deadline)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * VFIO_USER_MAX_FDS)];
	} ctl;
	size_t done = 0;

	while (done < len) {
		struct iovec iov = { .iov_base = buf + done, .iov_len = len - done };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

		if (n > 0) {
			take_fds(&mh, fds);
			done += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = wait_sock(sock, POLLIN, deadline);

			if (r)
				return r;
			continue;
		}
		return -errno;
	}
	return 0;
}

static bool at_fd_limit(int sock)
{
	int probe = fcntl(sock, F_DUPFD_CLOEXEC, 0);

	if (probe >= 0)
		close(probe);
	return probe < 0 && errno == EMFILE;
}

int vfio_user_recv(int sock, void *buf, size_t cap, struct vfio_user_fds *fds, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct vfio_user_hdr h;
	int r;

	fds->n = 0;
	fds->truncated = false;
	if (cap < sizeof(h))
		return vn_err(-EINVAL, "vfio-user: receive buffer of %zu bytes", cap);
	r = read_full(sock, buf, sizeof(h), fds, deadline);
	if (r == 0) {
		memcpy(&h, buf, sizeof(h));
		r = vfio_user_hdr_check(&h, cap);
		if (r == 0)
			r = read_full(sock, (char *)buf + sizeof(h), h.size - sizeof(h), fds,
				      deadline);
	}
	if (fds->truncated) {
		/* The kernel also cuts SCM_RIGHTS short (MSG_CTRUNC) when this
		 * process may open no more: a probe dup, before the fds that did
		 * arrive are closed, tells that from a peer sending too many. */
		if (!r && at_fd_limit(sock))
			r = vn_err(-EMFILE, "vfio-user: a message's fds were dropped: this process "
				   "is at its open file limit");
		vfio_user_fds_close(fds, 0);
		if (r == -EMFILE)
			return r;
	}
	if (r) {
		vfio_user_fds_close(fds, 0);
		if (r == -ECONNRESET)
			return vn_err(r, "vfio-user: peer closed the connection");
		if (r == -ETIMEDOUT)
			return vn_err(r, "vfio-user: no complete message within %d ms", timeout_ms);
		if (r == -EPROTO)
			return r; /* vfio_user_hdr_check() said why */
		return vn_err(r, "vfio-user: receiving a message: %s", strerror(-r));
	}
	return (int)h.size;
}

bool vfio_user_is_eventfd(int fd)
{
	/* proc(5): an eventfd's /proc/self/fd link reads "anon_inode:[eventfd]". */
	static const char want[] = "anon_inode:[eventfd]";
	char path[40], link[sizeof(want) + 1];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	return n == (ssize_t)sizeof(want) - 1 && !memcmp(link, want, sizeof(want) - 1);
}
