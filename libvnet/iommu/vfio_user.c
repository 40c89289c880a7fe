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
 */
#include <errno.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "iommu/devio.h"
#include "iommu/vfio_user_proto.h"
#include "log.h"

#define VU_TIMEOUT_MS 10000 /* a server may be slow (reset), never silent forever */
#define VU_MAX_REGIONS VFIO_PCI_NUM_REGIONS
#define VU_MAX_KICKS 64
#define VU_MAX_ARGSZ 65536 /* largest reply argsz we grow a request to */
#define VU_IOVA_BASE (1ULL << 32)
#define VU_IOVA_LAST ((1ULL << 48) - 1)

struct vu_area {
	uint64_t off, size; /* within the region */
	void *va;           /* mapped lazily by region_map() */
};

struct vu_kick {
	uint64_t off;
	uint32_t size;  /* 0: any access size */
	bool match;     /* DATAMATCH: only a write of this value */
	uint64_t data;
	int fd;         /* one of the region's kick_fds */
};

struct vu_region {
	uint64_t size;
	uint32_t flags;        /* VFIO_REGION_INFO_FLAG_{READ,WRITE,MMAP} */
	uint64_t mmap_offset;
	int mmap_fd;
	unsigned n_areas;
	struct vu_area areas[VFIO_USER_MAX_SPARSE];
	unsigned n_kicks;      /* sorted by off */
	struct vu_kick kicks[VU_MAX_KICKS];
	struct vfio_user_fds kick_fds;
};

struct vu_dev {
	struct vn_devio base;
	int sock;
	pthread_mutex_t lock;  /* the socket, buf, next_id, IOVA allocator, mappings */
	bool broken;           /* __atomic: the stream cannot be trusted any more */
	uint16_t next_id;
	uint32_t max_xfer;     /* largest REGION_READ/WRITE count */
	uint32_t peer_max_fds; /* fds the server takes in one message */
	uint32_t dev_flags;    /* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions, num_irqs;
	struct vu_region regions[VU_MAX_REGIONS];
	struct vn_iova_alloc iova;
	void (*release)(void *arg);
	void *release_arg;
	uint8_t *buf;          /* one message, VFIO_USER_MAX_MSG bytes */
	struct vfio_user_fds rfds; /* fds of the last reply */
};

static struct vu_dev *vu_of(struct vn_devio *dio)
{
	return VN_CONTAINER_OF(dio, struct vu_dev, base);
}

static void *vu_payload(struct vu_dev *d)
{
	return d->buf + sizeof(struct vfio_user_hdr);
}

/*
 * One request/reply with d->lock held. The request payload (len bytes) is
 * already at vu_payload(d); the reply payload replaces it, its length in
 * *rlen. Up to max_rfds reply fds are left in d->rfds for the caller to
 * take or close; more is a protocol error.
 */
static int vu_call(struct vu_dev *d, uint16_t cmd, size_t len, const int *fds, unsigned n_fds,
		   unsigned max_rfds, size_t *rlen)
{
	struct vfio_user_hdr h;
	uint16_t id = d->next_id++;
	int r;

	d->rfds.n = 0;
	if (__atomic_load_n(&d->broken, __ATOMIC_ACQUIRE))
		return vn_err(-ENODEV, "vfio-user: the connection failed earlier; %s not sent",
			      vfio_user_cmd_name(cmd));
	vfio_user_hdr_init(&h, id, cmd, len, VFIO_USER_F_TYPE_COMMAND);
	memcpy(d->buf, &h, sizeof(h));
	r = vfio_user_send(d->sock, d->buf, h.size, fds, n_fds, VU_TIMEOUT_MS);
	if (r == 0)
		r = vfio_user_recv(d->sock, d->buf, VFIO_USER_MAX_MSG, &d->rfds, VU_TIMEOUT_MS);
	if (r < 0)
		goto broken;
	*rlen = (size_t)r - sizeof(h);
	memcpy(&h, d->buf, sizeof(h));
	r = vfio_user_reply_check(&h, id, cmd);
	if (r == -EPROTO)
		goto broken;
	if (r == 0 && d->rfds.truncated)
		r = vn_err(-EPROTO, "vfio-user %s: reply carried more fds than we accept",
			   vfio_user_cmd_name(cmd));
	if (r == 0 && d->rfds.n > max_rfds)
		r = vn_err(-EPROTO, "vfio-user %s: reply carried %u fds, expected at most %u",
			   vfio_user_cmd_name(cmd), d->rfds.n, max_rfds);
	if (r)
		vfio_user_fds_close(&d->rfds, 0);
	return r;
broken:
	vfio_user_fds_close(&d->rfds, 0);
	__atomic_store_n(&d->broken, true, __ATOMIC_RELEASE);
	return r;
}

/* ---- open: negotiation and the per-region caches ---- */

static int vu_version(struct vu_dev *d)
{
	struct vfio_user_version_info v = {
		.major = VFIO_USER_MAJOR,
		.minor = VFIO_USER_MINOR,
		.caps = {
			.max_msg_fds = VFIO_USER_MAX_FDS,
			.max_data_xfer_size = VFIO_USER_MAX_DATA_XFER,
			.max_dma_maps = 65535,
			.pgsizes = VFIO_USER_PAGE_SIZES,
		},
	};
	size_t rlen;
	int r = vfio_user_version_encode(vu_payload(d), VFIO_USER_MAX_MSG - sizeof(struct vfio_user_hdr), &v);

	if (r < 0)
		return vn_err(r, "vfio-user: cannot encode VERSION");
	r = vu_call(d, VFIO_USER_VERSION, (size_t)r, NULL, 0, 0, &rlen);
	if (r)
		return r;
	r = vfio_user_version_decode(vu_payload(d), rlen, &v);
	if (r)
		return -EPROTO;
	/* vfio-user.rst "Version": same major, minor at most the proposed one. */
	if (v.major != VFIO_USER_MAJOR || v.minor > VFIO_USER_MINOR)
		return vn_err(-EPROTO, "vfio-user: server answered version %u.%u to %u.%u",
			      v.major, v.minor, VFIO_USER_MAJOR, VFIO_USER_MINOR);
	if (v.caps.max_msg_fds == 0)
		return vn_err(-EPROTO, "vfio-user: server accepts no fds (max_msg_fds 0)");
	d->peer_max_fds = VN_MIN(v.caps.max_msg_fds, VFIO_USER_MAX_FDS);
	d->max_xfer = VN_MIN(v.caps.max_data_xfer_size, VFIO_USER_MAX_DATA_XFER);
	return 0;
}

static int vu_device_info(struct vu_dev *d)
{
	struct vfio_user_device_info di = { .argsz = sizeof(di) };
	size_t rlen;
	int r;

	memcpy(vu_payload(d), &di, sizeof(di));
	r = vu_call(d, VFIO_USER_DEVICE_GET_INFO, sizeof(di), NULL, 0, 0, &rlen);
	if (r)
		return r;
	if (rlen < sizeof(di))
		return vn_err(-EPROTO, "vfio-user DEVICE_GET_INFO: reply of %zu bytes", rlen);
	memcpy(&di, vu_payload(d), sizeof(di));
	if (di.argsz < sizeof(di))
		return vn_err(-EPROTO, "vfio-user DEVICE_GET_INFO: argsz %u", di.argsz);
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI))
		return vn_err(-ENOTSUP, "vfio-user: the device is not PCI (flags %#x)", di.flags);
	if (di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return vn_err(-ENOTSUP, "vfio-user: %u regions, no PCI config space region",
			      di.num_regions);
	d->dev_flags = di.flags;
	d->num_regions = VN_MIN(di.num_regions, (uint32_t)VU_MAX_REGIONS);
	d->num_irqs = di.num_irqs;
	return 0;
}

/*
 * A query whose reply may need more room than asked for: the request (qlen
 * bytes at q, argsz its first field) is sent with argsz, decode() says how
 * much the server needs, and the query is repeated once with that much
 * (vfio-user.rst "Message sizes"). On success the reply's fds are in
 * d->rfds; -E2BIG when the server wants more than VU_MAX_ARGSZ.
 */
typedef int (*vu_decode_fn)(struct vu_dev *d, size_t rlen, uint32_t argsz, void *out,
			    uint32_t *needed);

static int vu_query(struct vu_dev *d, uint16_t cmd, void *q, size_t qlen, uint32_t argsz,
		    unsigned max_rfds, vu_decode_fn decode, void *out)
{
	uint32_t needed = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		size_t rlen;
		int r;

		memcpy(q, &argsz, sizeof(argsz));
		memcpy(vu_payload(d), q, qlen);
		r = vu_call(d, cmd, qlen, NULL, 0, max_rfds, &rlen);
		if (r)
			return r;
		r = decode(d, rlen, argsz, out, &needed);
		if (r == 0 && needed <= argsz)
			return 0;
		vfio_user_fds_close(&d->rfds, 0);
		if (r)
			return -EPROTO;
		if (needed > VU_MAX_ARGSZ)
			return vn_err(-E2BIG, "vfio-user %s: server wants argsz %u",
				      vfio_user_cmd_name(cmd), needed);
		argsz = needed;
	}
	return vn_err(-EPROTO, "vfio-user %s: server still wants argsz %u",
		      vfio_user_cmd_name(cmd), needed);
}

static int vu_decode_region(struct vu_dev *d, size_t rlen, uint32_t argsz, void *out,
			    uint32_t *needed)
{
	struct vfio_user_region_desc *desc = out;
	int r = vfio_user_region_info_decode(vu_payload(d), rlen, desc->index, argsz, desc);

	*needed = desc->argsz;
	return r;
}

static int vu_region_setup(struct vu_dev *d, unsigned idx)
{
	struct vu_region *rg = &d->regions[idx];
	struct vfio_user_region_desc desc = { .index = idx };
	struct vfio_user_region_info q = { .index = idx };
	/* Room for the sparse capability with as many areas as we keep. */
	int r = vu_query(d, VFIO_USER_DEVICE_GET_REGION_INFO, &q, sizeof(q),
			 sizeof(q) + sizeof(struct vfio_user_cap_sparse) +
				 VFIO_USER_MAX_SPARSE * sizeof(struct vfio_user_sparse_area),
			 1, vu_decode_region, &desc);

	if (r)
		return r;
	rg->size = desc.size;
	rg->flags = desc.flags;
	rg->mmap_offset = desc.offset;
	if (desc.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		if (d->rfds.n != 1) {
			/* Mappable without an fd to map: use messages instead. */
			vn_debug("vfio-user region %u: MMAP flag without an fd", idx);
			rg->flags &= ~(uint32_t)VFIO_REGION_INFO_FLAG_MMAP;
		} else {
			rg->mmap_fd = d->rfds.fd[0];
			d->rfds.n = 0;
		}
	}
	vfio_user_fds_close(&d->rfds, 0);
	if (!(rg->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return 0;
	if (!desc.sparse) /* mappable as a whole */
		desc.areas[desc.n_areas++] = (struct vfio_user_sparse_area){ 0, desc.size };
	for (unsigned i = 0; i < desc.n_areas; i++)
		rg->areas[i] = (struct vu_area){ .off = desc.areas[i].offset, .size = desc.areas[i].size };
	rg->n_areas = desc.n_areas;
	return 0;
}

static int vu_kick_cmp(const void *a, const void *b)
{
	const struct vu_kick *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Keep the ioeventfds of a region, checked against its bounds. */
static int vu_kicks_take(struct vu_dev *d, unsigned idx, const struct vfio_user_iofd *io, unsigned n)
{
	struct vu_region *rg = &d->regions[idx];

	for (unsigned i = 0; i < n; i++) {
		uint64_t sz = io[i].size;

		if ((sz != 0 && sz != 1 && sz != 2 && sz != 4 && sz != 8) || io[i].offset >= rg->size ||
		    sz > rg->size - io[i].offset)
			return vn_err(-EPROTO, "vfio-user region %u: ioeventfd at %#llx size %llu "
				      "does not fit its %#llx bytes", idx,
				      (unsigned long long)io[i].offset, (unsigned long long)sz,
				      (unsigned long long)rg->size);
		rg->kicks[i] = (struct vu_kick){
			.off = io[i].offset,
			.size = (uint32_t)sz,
			.match = io[i].flags & VFIO_USER_IOEVENTFD_DATAMATCH,
			.data = io[i].datamatch,
			.fd = d->rfds.fd[io[i].fd_index],
		};
	}
	qsort(rg->kicks, n, sizeof(rg->kicks[0]), vu_kick_cmp);
	rg->n_kicks = n;
	rg->kick_fds = d->rfds;
	d->rfds.n = 0;
	return 0;
}

struct vu_iofds {
	uint32_t index;
	unsigned n;
	struct vfio_user_iofd io[VU_MAX_KICKS];
};

static int vu_decode_iofds(struct vu_dev *d, size_t rlen, uint32_t argsz, void *out,
			   uint32_t *needed)
{
	struct vu_iofds *o = out;

	return vfio_user_io_fds_decode(vu_payload(d), rlen, o->index, argsz, d->rfds.n, o->io,
				       VU_MAX_KICKS, &o->n, needed);
}

/* GET_REGION_IO_FDS. A server that does not offer it is not an error. */
static int vu_region_kicks(struct vu_dev *d, unsigned idx)
{
	struct vfio_user_io_fds q = { .index = idx };
	struct vu_iofds o = { .index = idx };
	int r = vu_query(d, VFIO_USER_DEVICE_GET_REGION_IO_FDS, &q, sizeof(q),
			 sizeof(q) + VU_MAX_KICKS * sizeof(struct vfio_user_ioeventfd),
			 VFIO_USER_MAX_FDS, vu_decode_iofds, &o);

	if (r == 0) {
		r = vu_kicks_take(d, idx, o.io, o.n);
		vfio_user_fds_close(&d->rfds, 0);
		return r;
	}
	if (__atomic_load_n(&d->broken, __ATOMIC_ACQUIRE) || r == -EPROTO)
		return r;
	/* Refused or too many: the doorbells of this region go as messages. */
	vn_debug("vfio-user region %u: no ioeventfds (%s)", idx, vn_err_msg());
	return 0;
}

/* ---- data path: region access ---- */

/* The value of a 1/2/4/8-byte register write, for DATAMATCH. */
static uint64_t vu_value(const void *buf, size_t len)
{
	union {
		uint8_t b;
		uint16_t h;
		uint32_t w;
		uint64_t q;
	} v = { .q = 0 };

	memcpy(&v, buf, len);
	return len == 1 ? v.b : len == 2 ? v.h : len == 4 ? v.w : v.q;
}

/* 0: signalled an ioeventfd; 1: no sub-region matches (send a message). */
static int vu_kick(const struct vu_region *rg, uint64_t off, const void *buf, size_t len)
{
	unsigned lo = 0, hi = rg->n_kicks;

	while (lo < hi) { /* first kick with kicks[].off >= off */
		unsigned mid = (lo + hi) / 2;

		if (rg->kicks[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rg->n_kicks && rg->kicks[lo].off == off; lo++) {
		const struct vu_kick *k = &rg->kicks[lo];
		uint64_t one = 1;

		if ((k->size && k->size != len) ||
		    (k->match && (len > 8 || (len & (len - 1)) || vu_value(buf, len) != k->data)))
			continue;
		/* vfio-user.rst "Region I/O via file descriptors": the server
		 * treats a signal on this fd as the register write itself (KVM
		 * ioeventfd semantics: the written value is not conveyed). */
		for (;;) {
			if (write(k->fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
				return 0;
			if (errno == EAGAIN) /* counter saturated: already signalled */
				return 0;
			if (errno != EINTR)
				return vn_err(-errno, "vfio-user: doorbell eventfd write: %s",
					      strerror(errno));
		}
	}
	return 1;
}

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
		uint64_t foff = rg->mmap_offset + a->off;
		int prot = (rg->flags & VFIO_REGION_INFO_FLAG_READ ? PROT_READ : 0) |
			   (rg->flags & VFIO_REGION_INFO_FLAG_WRITE ? PROT_WRITE : 0);
		void *p;

		if (foff < rg->mmap_offset || foff % (uint64_t)sysconf(_SC_PAGESIZE) ||
		    foff > (uint64_t)INT64_MAX) {
			r = vn_err(-ENOTSUP, "vfio-user region %u: area at file offset %#llx "
				   "cannot be mapped", idx, (unsigned long long)foff);
			goto out;
		}
		p = mmap(NULL, a->size, prot, MAP_SHARED, rg->mmap_fd, (off_t)foff);
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
	r = vn_iova_get(&d->iova, m->len, align, &q.addr);
	if (r) {
		r = vn_err(r, "vfio-user DMA_MAP: no IOVA space for %zu bytes", m->len);
		goto out;
	}
	memcpy(vu_payload(d), &q, sizeof(q));
	r = vu_call(d, VFIO_USER_DMA_MAP, sizeof(q), &m->fd, 1, 0, &rlen);
	if (r) {
		vn_iova_put(&d->iova, q.addr, m->len);
		goto out;
	}
	m->iova = q.addr;
	m->mapped = true;
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
		return vn_err(-ENODEV, "vfio-user: the connection failed");
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return vn_err(-ENODEV, "vfio-user: the server hung up");
	return 0;
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
	.close = vu_close,
};

static int vu_setup(struct vu_dev *d)
{
	static const struct vn_iova_range space = { VU_IOVA_BASE, VU_IOVA_LAST };
	int r = vu_version(d);

	if (r == 0)
		r = vu_device_info(d);
	for (unsigned i = 0; r == 0 && i < d->num_regions; i++) {
		r = vu_region_setup(d, i);
		if (r == 0 && d->regions[i].size)
			r = vu_region_kicks(d, i);
	}
	if (r == 0)
		r = vn_iova_init(&d->iova, &space, 1);
	return r;
}

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
