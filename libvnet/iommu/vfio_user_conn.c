/* SPDX-License-Identifier: MIT */
/*
 * vfio-user client, the connection side (vfio_user.c has the devio ops and
 * the design): the request/reply plumbing, the negotiation and per-region
 * caches of open, and the doorbells that go to an ioeventfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iommu/vfio_user_int.h"
#include "log.h"

#define VU_TIMEOUT_MS 10000 /* a server may be slow (reset), never silent forever */
#define VU_MAX_ARGSZ 65536 /* largest reply argsz we grow a request to */
#define VU_IOVA_BASE (1ULL << 32)
#define VU_IOVA_LAST ((1ULL << 48) - 1)

/*
 * The stream broke during cmd: give the connection up and say which
 * request found it broken. The reason is kept: every later call repeats
 * it, so whichever error the caller reports names the first cause.
 */
static int vu_broken(struct vu_dev *d, int r, uint16_t cmd)
{
	vfio_user_fds_close(&d->rfds, 0);
	if (!__atomic_load_n(&d->broken, __ATOMIC_ACQUIRE)) {
		char why[sizeof(d->why) - 40]; /* room for " (during COMMAND_NAME)" */

		snprintf(why, sizeof(why), "%s", vn_err_msg());
		snprintf(d->why, sizeof(d->why), "%s (during %s)", why, vfio_user_cmd_name(cmd));
		/* Release: a thread that sees broken (vu_alive) sees why. */
		__atomic_store_n(&d->broken, true, __ATOMIC_RELEASE);
	}
	return vn_err(r, "%s", d->why);
}

/*
 * One request/reply with d->lock held. The request payload (len bytes) is
 * already at vu_payload(d); the reply payload replaces it, its length in
 * *rlen. Up to max_rfds reply fds are left in d->rfds for the caller to
 * take or close; more is a protocol error.
 */
int vu_call(struct vu_dev *d, uint16_t cmd, size_t len, const int *fds, unsigned n_fds,
	    unsigned max_rfds, size_t *rlen)
{
	struct vfio_user_hdr h;
	uint16_t id = d->next_id++;
	int r;

	d->rfds.n = 0;
	if (__atomic_load_n(&d->broken, __ATOMIC_ACQUIRE))
		return vn_err(-ENODEV, "vfio-user: %s not sent, the connection failed: %s",
			      vfio_user_cmd_name(cmd), d->why);
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
	return vu_broken(d, r, cmd);
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
	if (v.caps.max_dma_maps == 0)
		return vn_err(-EPROTO, "vfio-user: server takes no DMA mappings (max_dma_maps 0)");
	/* vfio-user.rst "pgsizes": the IOVA page sizes it supports; DMA
	 * windows are aligned to the smallest, which must be one we use. */
	if (!(v.caps.pgsizes & VFIO_USER_PAGE_SIZES))
		return vn_err(-EPROTO, "vfio-user: server supports no 4 KiB DMA pages "
			      "(pgsizes %#llx)", (unsigned long long)v.caps.pgsizes);
	d->peer_max_fds = VN_MIN(v.caps.max_msg_fds, VFIO_USER_MAX_FDS);
	d->max_xfer = VN_MIN(v.caps.max_data_xfer_size, VFIO_USER_MAX_DATA_XFER);
	d->max_dma_maps = v.caps.max_dma_maps;
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

/*
 * An area of a mappable region may be mapped only if the server's fd is a
 * regular file (memfds are) that holds all of it at a page-aligned offset:
 * touching a shared mapping beyond the end of its file raises SIGBUS
 * (mmap(2)), and the server chose both the file and the offsets.
 */
static int vu_area_check(unsigned idx, const struct vu_region *rg, const struct vu_area *a)
{
	uint64_t foff = rg->mmap_offset + a->off;
	struct stat st;

	if (foff < rg->mmap_offset || a->size > UINT64_MAX - foff ||
	    foff + a->size > (uint64_t)INT64_MAX || foff % (uint64_t)sysconf(_SC_PAGESIZE))
		return vn_err(-EPROTO, "vfio-user region %u: area [%#llx, +%#llx) at file offset "
			      "%#llx + %#llx cannot be mapped (unaligned or out of range)", idx,
			      (unsigned long long)a->off, (unsigned long long)a->size,
			      (unsigned long long)rg->mmap_offset, (unsigned long long)a->off);
	if (fstat(rg->mmap_fd, &st) < 0)
		return vn_err(-errno, "vfio-user region %u: fstat of the mmap fd: %s", idx,
			      strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vn_err(-EPROTO, "vfio-user region %u: the mmap fd is not a regular file "
			      "or memfd (file type %#o)", idx, (unsigned)(st.st_mode & S_IFMT));
	if ((uint64_t)st.st_size < foff + a->size)
		return vn_err(-EPROTO, "vfio-user region %u: area [%#llx, +%#llx) ends at file "
			      "offset %#llx, past the end of the %lld-byte file the server passed",
			      idx, (unsigned long long)a->off, (unsigned long long)a->size,
			      (unsigned long long)(foff + a->size), (long long)st.st_size);
	return 0;
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
	if (d->rfds.n && !(desc.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		vfio_user_fds_close(&d->rfds, 0);
		return vn_err(-EPROTO, "vfio-user region %u: the server passed an fd for a "
			      "region it does not mark mappable", idx);
	}
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
	if (!(rg->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return 0;
	if (!desc.sparse) /* mappable as a whole */
		desc.areas[desc.n_areas++] = (struct vfio_user_sparse_area){ 0, desc.size };
	for (unsigned i = 0; i < desc.n_areas; i++)
		rg->areas[i] = (struct vu_area){ .off = desc.areas[i].offset, .size = desc.areas[i].size };
	rg->n_areas = desc.n_areas;
	for (unsigned i = 0; i < rg->n_areas; i++) {
		r = vu_area_check(idx, rg, &rg->areas[i]);
		if (r)
			return r;
	}
	/* memfd_create(2): with F_SEAL_SHRINK nobody can shrink the file under
	 * our mapping. Without it the server could, and our next access to the
	 * region would be a SIGBUS: such a region is accessed by messages. */
	if (!(fcntl(rg->mmap_fd, F_GET_SEALS) & F_SEAL_SHRINK)) {
		vn_info("vfio-user region %u: the server's file is not sealed against "
			"shrinking (F_SEAL_SHRINK); accessing it by messages, not mapped", idx);
		close(rg->mmap_fd);
		rg->mmap_fd = -1;
		rg->flags &= ~(uint32_t)VFIO_REGION_INFO_FLAG_MMAP;
		rg->n_areas = 0;
	}
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

	for (unsigned i = 0; i < d->rfds.n; i++)
		if (!vfio_user_is_eventfd(d->rfds.fd[i]))
			return vn_err(-EPROTO, "vfio-user region %u: ioeventfd fd %u of the reply "
				      "is not an eventfd", idx, i);
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

/* ---- data path: doorbells ---- */

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
int vu_kick(const struct vu_region *rg, uint64_t off, const void *buf, size_t len)
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

/* ---- open ---- */

int vu_setup(struct vu_dev *d)
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
