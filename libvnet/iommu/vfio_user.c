/* SPDX-License-Identifier: MIT */
/*
 * vfio-user client: the "vfio-user" device-access backend (devio.h).
 *
 * At open it negotiates VERSION 0.1, checks DEVICE_GET_INFO says PCI, and
 * caches every region's GET_REGION_INFO (with its sparse mmap areas and the
 * mmap fd) and GET_REGION_IO_FDS (the ioeventfds). Afterwards:
 *   - a region_write that matches an ioeventfd sub-region (offset, size and,
 *     with DATAMATCH, value) signals that eventfd instead of sending a
 *     message: doorbells cost one write(2), no socket round trip. The table
 *     is immutable after open and sorted, so the lookup is a binary search
 *     and needs no lock: several queue threads may kick at once;
 *   - everything else is a request/reply on the socket under d->lock.
 * Replies are untrusted: a malformed one fails the call with -EPROTO; one
 * that desynchronises the stream (wrong id, bad header, timeout) also marks
 * the connection broken, and later calls fail with -ENODEV.
 *
 * This file has the devio ops and open; vfio_user_conn.c has the connection
 * (vu_call), the negotiation and caches of open and the ioeventfd kicks;
 * struct vu_dev is in vfio_user_int.h.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "iommu/vfio_user_int.h"
#include "log.h"

static struct vu_dev *vu_of(struct vn_devio *dio)
{
	return VN_CONTAINER_OF(dio, struct vu_dev, base);
}

/* ---- data path: region access ---- */

static int vu_check_access(struct vu_dev *d, unsigned idx, uint64_t off, size_t len, uint32_t need)
{
	const struct vu_region *rg;

	if (idx >= d->num_regions || !d->regions[idx].size)
		return vn_err(-EINVAL, "vfio-user: no region %u", idx);
	rg = &d->regions[idx];
	if (!len || off > rg->size || len > rg->size - off)
		return vn_err(-EINVAL, "vfio-user region %u: access [%#llx, +%zu) outside %#llx bytes",
			      idx, (unsigned long long)off, len, (unsigned long long)rg->size);
	if (!(rg->flags & need))
		return vn_err(-EACCES, "vfio-user region %u: not %s", idx,
			      need == VFIO_REGION_INFO_FLAG_READ ? "readable" : "writable");
	return 0;
}

/* REGION_READ / REGION_WRITE in chunks of at most max_xfer bytes. */
static int vu_rw(struct vu_dev *d, uint16_t cmd, unsigned idx, uint64_t off, void *buf, size_t len)
{
	bool wr = cmd == VFIO_USER_REGION_WRITE;
	int r = vu_check_access(d, idx, off, len,
				wr ? VFIO_REGION_INFO_FLAG_WRITE : VFIO_REGION_INFO_FLAG_READ);

	if (r)
		return r;
	pthread_mutex_lock(&d->lock);
	while (len && r == 0) {
		struct vfio_user_region_rw q = { .offset = off, .region = idx };
		struct vfio_user_region_rw a;
		size_t rlen;

		q.count = (uint32_t)VN_MIN(len, (size_t)d->max_xfer);
		memcpy(vu_payload(d), &q, sizeof(q));
		if (wr)
			memcpy((char *)vu_payload(d) + sizeof(q), buf, q.count);
		r = vu_call(d, cmd, sizeof(q) + (wr ? q.count : 0), NULL, 0, 0, &rlen);
		if (r)
			break;
		memcpy(&a, vu_payload(d), VN_MIN(rlen, sizeof(a)));
		if (rlen != sizeof(a) + (wr ? 0 : q.count) || a.offset != q.offset ||
		    a.region != q.region || a.count != q.count) {
			r = vn_err(-EPROTO, "vfio-user %s: reply does not match region %u "
				   "[%#llx, +%u)", vfio_user_cmd_name(cmd), idx,
				   (unsigned long long)off, q.count);
			break;
		}
		if (!wr)
			memcpy(buf, (char *)vu_payload(d) + sizeof(a), q.count);
		buf = (char *)buf + q.count;
		off += q.count;
		len -= q.count;
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

static int vu_region_read(struct vn_devio *dio, unsigned idx, uint64_t off, void *buf, size_t len)
{
	return vu_rw(vu_of(dio), VFIO_USER_REGION_READ, idx, off, buf, len);
}

static int vu_region_write(struct vn_devio *dio, unsigned idx, uint64_t off, const void *buf,
			   size_t len)
{
	struct vu_dev *d = vu_of(dio);

	if (idx < d->num_regions && d->regions[idx].n_kicks) {
		int r = vu_kick(&d->regions[idx], off, buf, len);

		if (r <= 0)
			return r;
	}
	return vu_rw(d, VFIO_USER_REGION_WRITE, idx, off, (void *)buf, len);
}

static int vu_region_info(struct vn_devio *dio, unsigned idx, struct vn_region_info *ri)
{
	struct vu_dev *d = vu_of(dio);
	const struct vu_region *rg;

	*ri = (struct vn_region_info){ 0 };
	if (idx >= d->num_regions)
		return 0; /* absent */
	rg = &d->regions[idx];
	ri->size = rg->size;
	ri->flags = (rg->flags & VFIO_REGION_INFO_FLAG_READ ? VN_REGION_READ : 0) |
		    (rg->flags & VFIO_REGION_INFO_FLAG_WRITE ? VN_REGION_WRITE : 0) |
		    (rg->flags & VFIO_REGION_INFO_FLAG_MMAP && rg->n_areas ? VN_REGION_MMAP : 0);
	return 0;
}

static int vu_region_map(struct vn_devio *dio, unsigned idx, uint64_t off, size_t len, void **va)
{
	struct vu_dev *d = vu_of(dio);
	struct vu_region *rg;
	struct vu_area *a = NULL;
	int r = 0;

	if (idx >= d->num_regions || !len)
		return vn_err(-EINVAL, "vfio-user: cannot map %zu bytes of region %u", len, idx);
	rg = &d->regions[idx];
	for (unsigned i = 0; i < rg->n_areas; i++)
		if (off >= rg->areas[i].off && off - rg->areas[i].off <= rg->areas[i].size &&
		    len <= rg->areas[i].size - (off - rg->areas[i].off))
			a = &rg->areas[i];
	if (!a)
		return vn_err(-ENOTSUP, "vfio-user region %u: [%#llx, +%zu) is not mappable", idx,
			      (unsigned long long)off, len);
	pthread_mutex_lock(&d->lock);
	if (!a->va) {
		int prot = (rg->flags & VFIO_REGION_INFO_FLAG_READ ? PROT_READ : 0) |
			   (rg->flags & VFIO_REGION_INFO_FLAG_WRITE ? PROT_WRITE : 0);
		void *p;

		/* mmap_fd holds the area and is sealed against shrinking
		 * (vu_region_setup): touching the mapping cannot SIGBUS. */
		p = mmap(NULL, a->size, prot, MAP_SHARED, rg->mmap_fd,
			 (off_t)(rg->mmap_offset + a->off));
		if (p == MAP_FAILED) {
			r = vn_err(-errno, "vfio-user region %u: mmap of %#llx bytes: %s", idx,
				   (unsigned long long)a->size, strerror(errno));
			goto out;
		}
		a->va = p;
	}
	*va = (char *)a->va + (off - a->off);
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* ---- interrupts ---- */

static int vu_irq_info(struct vn_devio *dio, unsigned idx, uint32_t *count)
{
	struct vu_dev *d = vu_of(dio);
	struct vfio_user_irq_info q = { .argsz = sizeof(q), .index = idx };
	size_t rlen;
	int r;

	*count = 0;
	if (idx >= d->num_irqs)
		return 0;
	pthread_mutex_lock(&d->lock);
	memcpy(vu_payload(d), &q, sizeof(q));
	r = vu_call(d, VFIO_USER_DEVICE_GET_IRQ_INFO, sizeof(q), NULL, 0, 0, &rlen);
	if (r == 0) {
		struct vfio_user_irq_info a;

		memcpy(&a, vu_payload(d), VN_MIN(rlen, sizeof(a)));
		if (rlen < sizeof(a) || a.argsz < sizeof(a) || a.index != idx)
			r = vn_err(-EPROTO, "vfio-user GET_IRQ_INFO %u: malformed reply", idx);
		else if (a.count > VU_MAX_IRQ_VECTORS)
			r = vn_err(-EPROTO, "vfio-user GET_IRQ_INFO %u: %u vectors, a PCI function "
				   "has at most %u", idx, a.count, VU_MAX_IRQ_VECTORS);
		else
			*count = a.count;
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

static int vu_irq_set_msg(struct vu_dev *d, uint32_t flags, unsigned idx, unsigned start,
			  unsigned count, const int *fds, unsigned n_fds)
{
	struct vfio_user_irq_set s = {
		.argsz = sizeof(s), .flags = flags, .index = idx, .start = start, .count = count,
	};
	size_t rlen;

	memcpy(vu_payload(d), &s, sizeof(s));
	return vu_call(d, VFIO_USER_DEVICE_SET_IRQS, sizeof(s), fds, n_fds, 0, &rlen);
}

/*
 * vfio-user.rst SET_IRQS: DATA_EVENTFD with one fd per vector routes them;
 * with no fds it de-assigns the range; count 0 with DATA_NONE disables the
 * index. So fds[] goes out as runs: routed runs of at most peer_max_fds fds,
 * and unrouted (-1) runs without fds.
 */
static int vu_set_irqs(struct vn_devio *dio, unsigned idx, unsigned start, unsigned count,
		       const int *fds)
{
	const uint32_t evt = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	struct vu_dev *d = vu_of(dio);
	int r = 0;

	if (count && start > UINT32_MAX - count)
		return vn_err(-EINVAL, "vfio-user SET_IRQS: vectors %u+%u overflow", start, count);
	pthread_mutex_lock(&d->lock);
	if (count == 0)
		r = vu_irq_set_msg(d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, idx, 0,
				   0, NULL, 0);
	for (unsigned i = 0, j; i < count && r == 0; i = j) {
		bool routed = fds[i] >= 0;

		for (j = i + 1; j < count && (fds[j] >= 0) == routed; j++)
			if (routed && j - i == d->peer_max_fds)
				break;
		r = vu_irq_set_msg(d, evt, idx, start + i, j - i, routed ? fds + i : NULL,
				   routed ? j - i : 0);
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* vfio-user.rst SET_IRQS: the VFIO_DEVICE_SET_IRQS flags, so DATA_NONE +
 * ACTION_UNMASK unmasks [start, start+count) as it does in the kernel. */
static int vu_irq_unmask(struct vn_devio *dio, unsigned idx, unsigned start, unsigned count)
{
	struct vu_dev *d = vu_of(dio);
	int r;

	if (!count || start > UINT32_MAX - count)
		return vn_err(-EINVAL, "vfio-user SET_IRQS: unmask of vectors %u+%u", start, count);
	pthread_mutex_lock(&d->lock);
	r = vu_irq_set_msg(d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, idx, start,
			   count, NULL, 0);
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* ---- DMA ---- */

static int vu_dma_map(struct vn_devio *dio, struct vn_dma_mem *m)
{
	struct vu_dev *d = vu_of(dio);
	struct vfio_user_dma_map q = {
		.argsz = sizeof(q),
		.flags = VFIO_USER_F_DMA_READ | VFIO_USER_F_DMA_WRITE,
		.offset = 0,
		.size = m->len,
	};
	uint64_t align = m->page_size && !(m->page_size & (m->page_size - 1)) ? m->page_size : 4096;
	size_t rlen;
	int r;

	if (m->mapped || m->fd < 0 || !m->len)
		return vn_err(-EINVAL, "vfio-user DMA_MAP: region already mapped, empty or without fd");
	pthread_mutex_lock(&d->lock);
	if (d->n_dma_maps >= d->max_dma_maps) {
		r = vn_err(-ENOSPC, "vfio-user DMA_MAP: the server keeps at most %u DMA "
			   "mappings (max_dma_maps)", d->max_dma_maps);
		goto out;
	}
	r = vn_iova_get(&d->iova, m->len, align, &q.addr);
	if (r) {
		r = vn_err(r, "vfio-user DMA_MAP: no IOVA space for %zu bytes", m->len);
		goto out;
	}
	memcpy(vu_payload(d), &q, sizeof(q));
	r = vu_call(d, VFIO_USER_DMA_MAP, sizeof(q), &m->fd, 1, 0, &rlen);
	if (r == -ENOMEM)
		r = vn_err(r, "vfio-user DMA_MAP of %zu bytes: the server has no memory for it "
			   "(ENOMEM: out of memory, or over its memory budget, e.g. the mem= of a "
			   "simulated device)", m->len);
	if (r) {
		vn_iova_put(&d->iova, q.addr, m->len);
		goto out;
	}
	m->iova = q.addr;
	m->mapped = true;
	d->n_dma_maps++;
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

static int vu_dma_unmap(struct vn_devio *dio, struct vn_dma_mem *m)
{
	struct vu_dev *d = vu_of(dio);
	struct vfio_user_dma_unmap q = { .argsz = sizeof(q), .addr = m->iova, .size = m->len };
	size_t rlen;
	int r;

	if (!m->mapped)
		return vn_err(-EINVAL, "vfio-user DMA_UNMAP: region is not mapped");
	pthread_mutex_lock(&d->lock);
	memcpy(vu_payload(d), &q, sizeof(q));
	r = vu_call(d, VFIO_USER_DMA_UNMAP, sizeof(q), NULL, 0, 0, &rlen);
	/* A server that is gone unmapped everything on disconnect (vfio-user.rst). */
	if (r && __atomic_load_n(&d->broken, __ATOMIC_ACQUIRE)) {
		vn_debug("vfio-user DMA_UNMAP: connection lost, mapping dropped with it");
		r = 0;
	}
	if (r == 0) {
		vn_iova_put(&d->iova, m->iova, m->len);
		m->mapped = false;
		d->n_dma_maps--;
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* ---- device ---- */

static int vu_reset(struct vn_devio *dio)
{
	struct vu_dev *d = vu_of(dio);
	size_t rlen;
	int r;

	if (!(d->dev_flags & VFIO_DEVICE_FLAGS_RESET))
		return vn_err(-ENOTSUP, "vfio-user: the device does not support reset");
	pthread_mutex_lock(&d->lock);
	r = vu_call(d, VFIO_USER_DEVICE_RESET, 0, NULL, 0, 0, &rlen);
	pthread_mutex_unlock(&d->lock);
	return r;
}

static int vu_alive(struct vn_devio *dio)
{
	struct vu_dev *d = vu_of(dio);
	struct pollfd pfd = { .fd = d->sock, .events = POLLRDHUP };

	if (__atomic_load_n(&d->broken, __ATOMIC_ACQUIRE))
		return vn_err(-ENODEV, "vfio-user: the connection failed: %s", d->why);
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return vn_err(-ENODEV, "vfio-user: the server hung up");
	return 0;
}

static int vu_gone_fd(struct vn_devio *dio, unsigned *events)
{
	/* Hang-up only: requests and replies on the socket are the caller's
	 * (vu_call), and a poll without POLLIN never competes with them. */
	*events = POLLRDHUP;
	return vu_of(dio)->sock;
}

static void vu_close(struct vn_devio *dio)
{
	struct vu_dev *d = vu_of(dio);
	void (*release)(void *) = d->release;
	void *arg = d->release_arg;

	for (unsigned i = 0; i < VU_MAX_REGIONS; i++) {
		struct vu_region *rg = &d->regions[i];

		for (unsigned j = 0; j < rg->n_areas; j++)
			if (rg->areas[j].va)
				munmap(rg->areas[j].va, rg->areas[j].size);
		if (rg->mmap_fd >= 0)
			close(rg->mmap_fd);
		vfio_user_fds_close(&rg->kick_fds, 0);
	}
	close(d->sock);
	vn_iova_fini(&d->iova);
	pthread_mutex_destroy(&d->lock);
	free(d->buf);
	free(d);
	if (release)
		release(arg);
}

static const struct vn_devio_ops vu_ops = {
	.region_info = vu_region_info,
	.region_read = vu_region_read,
	.region_write = vu_region_write,
	.region_map = vu_region_map,
	.irq_info = vu_irq_info,
	.set_irqs = vu_set_irqs,
	.irq_unmask = vu_irq_unmask,
	.dma_map = vu_dma_map,
	.dma_unmap = vu_dma_unmap,
	.reset = vu_reset,
	.alive = vu_alive,
	.gone_fd = vu_gone_fd,
	.close = vu_close,
};

int vn_vfio_user_open_fd(int fd, void (*release)(void *arg), void *arg, struct vn_devio **out)
{
	struct vu_dev *d = calloc(1, sizeof(*d));
	int r;

	if (!d || !(d->buf = malloc(VFIO_USER_MAX_MSG))) {
		if (d)
			free(d);
		close(fd);
		if (release)
			release(arg);
		return vn_err(-ENOMEM, "vfio-user: out of memory");
	}
	d->base.ops = &vu_ops;
	d->base.access = "vfio-user";
	d->sock = fd;
	d->release = release;
	d->release_arg = arg;
	d->max_xfer = VFIO_USER_MAX_DATA_XFER;
	d->peer_max_fds = 1;
	for (unsigned i = 0; i < VU_MAX_REGIONS; i++)
		d->regions[i].mmap_fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_lock(&d->lock);
	r = vu_setup(d);
	pthread_mutex_unlock(&d->lock);
	if (r) {
		vu_close(&d->base);
		return r;
	}
	*out = &d->base;
	return 0;
}

int vn_vfio_user_open(const char *path, struct vn_devio **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return vn_err(-ENAMETOOLONG, "vfio-user: socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vn_err(-errno, "vfio-user: socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return vn_err(-e, "vfio-user: cannot connect to %s: %s", path, strerror(e));
	}
	return vn_vfio_user_open_fd(fd, NULL, NULL, out);
}
