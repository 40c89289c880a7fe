/* SPDX-License-Identifier: MIT */
/*
 * vfio-user codec: header and payload checks, the VERSION message, and the
 * two replies with variable layout (GET_REGION_INFO with its capability
 * chain, GET_REGION_IO_FDS with its sub-region array). Layouts and rules:
 * QEMU docs/interop/vfio-user.rst. The capabilities JSON is parsed in
 * vfio_user_json.c, socket I/O lives in vfio_user_sock.c.
 *
 * Input is never trusted: structures are copied out with memcpy (payloads
 * need not be aligned), every count is checked against the bytes present
 * before it is used, and arithmetic on peer-supplied values is done in 64
 * bits or checked for overflow.
 */
#include "iommu/vfio_user_proto.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

_Static_assert(sizeof(struct vfio_user_hdr) == 16, "vfio-user header is 16 bytes");
_Static_assert(sizeof(struct vfio_user_version) == 4, "VERSION layout");
_Static_assert(sizeof(struct vfio_user_dma_map) == 32, "DMA_MAP layout");
_Static_assert(sizeof(struct vfio_user_dma_unmap) == 24, "DMA_UNMAP layout");
_Static_assert(sizeof(struct vfio_user_device_info) == 16, "DEVICE_GET_INFO layout");
_Static_assert(sizeof(struct vfio_user_region_info) == 32, "GET_REGION_INFO layout");
_Static_assert(sizeof(struct vfio_user_cap_sparse) == 16, "sparse mmap cap layout");
_Static_assert(sizeof(struct vfio_user_sparse_area) == 16, "sparse area layout");
_Static_assert(sizeof(struct vfio_user_io_fds) == 16, "GET_REGION_IO_FDS layout");
_Static_assert(sizeof(struct vfio_user_ioeventfd) == 40, "ioeventfd sub-region layout");
_Static_assert(sizeof(struct vfio_user_irq_info) == 16, "GET_IRQ_INFO layout");
_Static_assert(sizeof(struct vfio_user_irq_set) == 20, "SET_IRQS layout");
_Static_assert(sizeof(struct vfio_user_region_rw) == 16, "REGION_READ/WRITE layout");

const char *vfio_user_cmd_name(unsigned cmd)
{
	static const char *const names[] = {
		[VFIO_USER_VERSION] = "VERSION",
		[VFIO_USER_DMA_MAP] = "DMA_MAP",
		[VFIO_USER_DMA_UNMAP] = "DMA_UNMAP",
		[VFIO_USER_DEVICE_GET_INFO] = "DEVICE_GET_INFO",
		[VFIO_USER_DEVICE_GET_REGION_INFO] = "DEVICE_GET_REGION_INFO",
		[VFIO_USER_DEVICE_GET_REGION_IO_FDS] = "DEVICE_GET_REGION_IO_FDS",
		[VFIO_USER_DEVICE_GET_IRQ_INFO] = "DEVICE_GET_IRQ_INFO",
		[VFIO_USER_DEVICE_SET_IRQS] = "DEVICE_SET_IRQS",
		[VFIO_USER_REGION_READ] = "REGION_READ",
		[VFIO_USER_REGION_WRITE] = "REGION_WRITE",
		[VFIO_USER_DMA_READ] = "DMA_READ",
		[VFIO_USER_DMA_WRITE] = "DMA_WRITE",
		[VFIO_USER_DEVICE_RESET] = "DEVICE_RESET",
	};

	return cmd < VN_ARRAY_SIZE(names) && names[cmd] ? names[cmd] : "unknown";
}

/* ---- header ---- */

void vfio_user_hdr_init(struct vfio_user_hdr *h, uint16_t id, uint16_t cmd,
			size_t payload_len, uint32_t flags)
{
	h->id = id;
	h->cmd = cmd;
	h->size = (uint32_t)(sizeof(*h) + payload_len);
	h->flags = flags;
	h->error = 0;
}

int vfio_user_hdr_check(const struct vfio_user_hdr *h, size_t max_size)
{
	uint32_t type = h->flags & VFIO_USER_F_TYPE_MASK;

	if (h->size < sizeof(*h))
		return vn_err(-EPROTO, "vfio-user: message size %u is smaller than the header",
			      h->size);
	if (h->size > max_size)
		return vn_err(-EPROTO, "vfio-user: message size %u exceeds the limit of %zu",
			      h->size, max_size);
	if (type != VFIO_USER_F_TYPE_COMMAND && type != VFIO_USER_F_TYPE_REPLY)
		return vn_err(-EPROTO, "vfio-user: message type %u is neither command nor reply",
			      type);
	return 0;
}

int vfio_user_reply_check(const struct vfio_user_hdr *h, uint16_t id, uint16_t cmd)
{
	if ((h->flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_REPLY)
		return vn_err(-EPROTO, "vfio-user: expected a reply to %s, got command %u (%s)",
			      vfio_user_cmd_name(cmd), h->cmd, vfio_user_cmd_name(h->cmd));
	if (h->id != id)
		return vn_err(-EPROTO, "vfio-user: reply id %u does not match request id %u",
			      h->id, id);
	if (h->cmd != cmd)
		return vn_err(-EPROTO, "vfio-user: reply to %s carries command %u",
			      vfio_user_cmd_name(cmd), h->cmd);
	if (h->flags & VFIO_USER_F_ERROR) {
		/* The spec allows error 0; an errno we cannot represent is EIO. */
		int e = h->error > 0 && h->error < 4096 ? (int)h->error : EIO;

		return vn_err(-e, "vfio-user: server failed %s: %s", vfio_user_cmd_name(cmd),
			      strerror(e));
	}
	return 0;
}

/* ---- command payload checks (server side) ---- */

/* The leading argsz of a payload that is at least min bytes. */
static int check_argsz(const void *p, size_t len, size_t min, unsigned cmd)
{
	uint32_t argsz;

	if (len < min)
		return vn_err(-EINVAL, "vfio-user %s: payload of %zu bytes, need %zu",
			      vfio_user_cmd_name(cmd), len, min);
	memcpy(&argsz, p, sizeof(argsz));
	if (argsz < min)
		return vn_err(-EINVAL, "vfio-user %s: argsz %u is below %zu",
			      vfio_user_cmd_name(cmd), argsz, min);
	return 0;
}

static int check_set_irqs(const void *p, size_t len, unsigned n_fds)
{
	struct vfio_user_irq_set s;
	uint32_t data, action;
	int r = check_argsz(p, len, sizeof(s), VFIO_USER_DEVICE_SET_IRQS);

	if (r)
		return r;
	memcpy(&s, p, sizeof(s));
	data = s.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	action = s.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	/* linux/vfio.h: exactly one data type and one action, nothing else. */
	if ((s.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)) ||
	    !data || (data & (data - 1)) || !action || (action & (action - 1)))
		return vn_err(-EINVAL, "vfio-user SET_IRQS: bad flags %#x", s.flags);
	if (data == VFIO_IRQ_SET_DATA_EVENTFD) {
		/* One fd per vector, or none to de-assign the range. */
		if (n_fds && n_fds != s.count)
			return vn_err(-EINVAL, "vfio-user SET_IRQS: %u fds for %u vectors",
				      n_fds, s.count);
		return 0;
	}
	if (n_fds)
		return vn_err(-EINVAL, "vfio-user SET_IRQS: %u unexpected fds", n_fds);
	if (data == VFIO_IRQ_SET_DATA_BOOL && len - sizeof(s) < s.count)
		return vn_err(-EINVAL, "vfio-user SET_IRQS: %u booleans, %zu bytes", s.count,
			      len - sizeof(s));
	return 0;
}

static int check_region_rw(unsigned cmd, const void *p, size_t len)
{
	struct vfio_user_region_rw rw;

	if (len < sizeof(rw))
		return vn_err(-EINVAL, "vfio-user %s: payload of %zu bytes, need %zu",
			      vfio_user_cmd_name(cmd), len, sizeof(rw));
	memcpy(&rw, p, sizeof(rw));
	if (rw.count == 0 || rw.count > VFIO_USER_MAX_DATA_XFER)
		return vn_err(-EINVAL, "vfio-user %s: count %u outside [1, %u]",
			      vfio_user_cmd_name(cmd), rw.count, VFIO_USER_MAX_DATA_XFER);
	if (cmd == VFIO_USER_REGION_WRITE && len - sizeof(rw) != rw.count)
		return vn_err(-EINVAL, "vfio-user REGION_WRITE: count %u but %zu data bytes",
			      rw.count, len - sizeof(rw));
	return 0;
}

int vfio_user_req_check(unsigned cmd, const void *p, size_t len, unsigned n_fds)
{
	size_t fixed;
	int r;

	/* Only DMA_MAP (its memory) and SET_IRQS (eventfds) carry fds. */
	if (n_fds && cmd != VFIO_USER_DMA_MAP && cmd != VFIO_USER_DEVICE_SET_IRQS)
		return vn_err(-EINVAL, "vfio-user %s: %u unexpected fds", vfio_user_cmd_name(cmd),
			      n_fds);
	switch (cmd) {
	case VFIO_USER_VERSION:
		if (len < sizeof(struct vfio_user_version))
			return vn_err(-EINVAL, "vfio-user VERSION: payload of %zu bytes", len);
		return 0;
	case VFIO_USER_DMA_MAP: {
		struct vfio_user_dma_map m;

		r = check_argsz(p, len, sizeof(m), cmd);
		if (r)
			return r;
		memcpy(&m, p, sizeof(m));
		if (m.flags & ~(VFIO_USER_F_DMA_READ | VFIO_USER_F_DMA_WRITE))
			return vn_err(-EINVAL, "vfio-user DMA_MAP: bad flags %#x", m.flags);
		if (n_fds > 1)
			return vn_err(-EINVAL, "vfio-user DMA_MAP: %u fds, need at most 1", n_fds);
		return 0;
	}
	case VFIO_USER_DMA_UNMAP:
		fixed = sizeof(struct vfio_user_dma_unmap);
		break;
	case VFIO_USER_DEVICE_GET_INFO:
		fixed = sizeof(struct vfio_user_device_info);
		break;
	case VFIO_USER_DEVICE_GET_REGION_INFO:
		fixed = sizeof(struct vfio_user_region_info);
		break;
	case VFIO_USER_DEVICE_GET_REGION_IO_FDS: {
		struct vfio_user_io_fds q;

		r = check_argsz(p, len, sizeof(q), cmd);
		if (r)
			return r;
		memcpy(&q, p, sizeof(q));
		if (q.flags || q.count)
			return vn_err(-EINVAL, "vfio-user GET_REGION_IO_FDS: flags %#x count %u, "
				      "both must be 0", q.flags, q.count);
		return 0;
	}
	case VFIO_USER_DEVICE_GET_IRQ_INFO:
		fixed = sizeof(struct vfio_user_irq_info);
		break;
	case VFIO_USER_DEVICE_SET_IRQS:
		return check_set_irqs(p, len, n_fds);
	case VFIO_USER_REGION_READ:
	case VFIO_USER_REGION_WRITE:
		return check_region_rw(cmd, p, len);
	case VFIO_USER_DEVICE_RESET:
		return 0;
	default:
		return vn_err(-ENOSYS, "vfio-user: command %u (%s) is not served here", cmd,
			      vfio_user_cmd_name(cmd));
	}
	return check_argsz(p, len, fixed, cmd);
}

/* ---- VERSION ---- */

int vfio_user_version_encode(void *p, size_t cap, const struct vfio_user_version_info *v)
{
	struct vfio_user_version h = { .major = v->major, .minor = v->minor };
	int n;

	if (cap < sizeof(h))
		return -ENOSPC;
	n = snprintf((char *)p + sizeof(h), cap - sizeof(h),
		     "{\"capabilities\":{\"max_msg_fds\":%u,\"max_data_xfer_size\":%u,"
		     "\"max_dma_maps\":%u,\"pgsizes\":%llu}}",
		     v->caps.max_msg_fds, v->caps.max_data_xfer_size, v->caps.max_dma_maps,
		     (unsigned long long)v->caps.pgsizes);
	if (n < 0 || (size_t)n + 1 > cap - sizeof(h))
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	return (int)(sizeof(h) + (size_t)n + 1); /* with the NUL, as the spec says */
}

int vfio_user_version_decode(const void *p, size_t len, struct vfio_user_version_info *out)
{
	struct vfio_user_version h;

	if (len < sizeof(h))
		return vn_err(-EINVAL, "vfio-user VERSION: payload of %zu bytes", len);
	memcpy(&h, p, sizeof(h));
	out->major = h.major;
	out->minor = h.minor;
	return vfio_user_caps_parse((const char *)p + sizeof(h), len - sizeof(h), &out->caps);
}

/* ---- GET_REGION_INFO ---- */

int vfio_user_region_info_encode(void *p, size_t cap, uint32_t req_argsz,
				 const struct vfio_user_region_desc *d)
{
	struct vfio_user_region_info ri = {
		.flags = d->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				     VFIO_REGION_INFO_FLAG_MMAP),
		.index = d->index,
		.size = d->size,
		.offset = d->offset,
	};
	struct vfio_user_cap_sparse cs = {
		.hdr = { .id = VFIO_USER_CAP_SPARSE_MMAP, .version = VFIO_USER_CAP_SPARSE_MMAP_VERSION },
		.nr_areas = d->n_areas,
	};
	size_t full = sizeof(ri), len = sizeof(ri);

	if (d->sparse) {
		if (d->n_areas > VFIO_USER_MAX_SPARSE)
			return -EINVAL;
		full += sizeof(cs) + d->n_areas * sizeof(d->areas[0]);
		ri.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		/* As VFIO: the chain only when the caller made room for it. */
		if (req_argsz >= full) {
			ri.cap_offset = sizeof(ri);
			len = full;
		}
	}
	ri.argsz = (uint32_t)full;
	if (cap < len)
		return -ENOSPC;
	memcpy(p, &ri, sizeof(ri));
	if (len > sizeof(ri)) {
		memcpy((char *)p + sizeof(ri), &cs, sizeof(cs));
		memcpy((char *)p + sizeof(ri) + sizeof(cs), d->areas,
		       d->n_areas * sizeof(d->areas[0]));
	}
	return (int)len;
}

/* The sparse mmap capability at off (its header already read as h). */
static int parse_sparse(const char *p, size_t end, size_t off, const struct vfio_user_cap_hdr *h,
			struct vfio_user_region_desc *out)
{
	struct vfio_user_cap_sparse cs;
	size_t avail;

	if (h->version != VFIO_USER_CAP_SPARSE_MMAP_VERSION)
		return vn_err(-EPROTO, "vfio-user region %u: sparse mmap capability version %u",
			      out->index, h->version);
	if (end - off < sizeof(cs))
		return vn_err(-EPROTO, "vfio-user region %u: truncated sparse mmap capability",
			      out->index);
	memcpy(&cs, p + off, sizeof(cs));
	avail = (end - off - sizeof(cs)) / sizeof(struct vfio_user_sparse_area);
	if (cs.nr_areas > avail)
		return vn_err(-EPROTO, "vfio-user region %u: %u sparse areas, room for %zu",
			      out->index, cs.nr_areas, avail);
	out->sparse = true;
	for (uint32_t i = 0; i < cs.nr_areas; i++) {
		struct vfio_user_sparse_area a;

		memcpy(&a, p + off + sizeof(cs) + i * sizeof(a), sizeof(a));
		if (a.offset > out->size || a.size > out->size - a.offset)
			return vn_err(-EPROTO, "vfio-user region %u: sparse area [%#llx, +%#llx) "
				      "outside its %#llx bytes", out->index,
				      (unsigned long long)a.offset, (unsigned long long)a.size,
				      (unsigned long long)out->size);
		if (a.size && out->n_areas < VFIO_USER_MAX_SPARSE)
			out->areas[out->n_areas++] = a;
	}
	return 0;
}

int vfio_user_region_info_decode(const void *p, size_t len, uint32_t index,
				 uint32_t req_argsz, struct vfio_user_region_desc *out)
{
	struct vfio_user_region_info ri;
	size_t off;
	unsigned hops = 0;
	int r;

	if (len < sizeof(ri))
		return vn_err(-EPROTO, "vfio-user GET_REGION_INFO: reply of %zu bytes", len);
	memcpy(&ri, p, sizeof(ri));
	if (ri.index != index)
		return vn_err(-EPROTO, "vfio-user GET_REGION_INFO: asked for region %u, got %u",
			      index, ri.index);
	if (ri.argsz < sizeof(ri))
		return vn_err(-EPROTO, "vfio-user GET_REGION_INFO: argsz %u", ri.argsz);
	memset(out, 0, sizeof(*out));
	out->index = index;
	out->flags = ri.flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				 VFIO_REGION_INFO_FLAG_MMAP);
	out->size = ri.size;
	out->offset = ri.offset;
	out->argsz = ri.argsz;
	if (ri.argsz > req_argsz || !(ri.flags & VFIO_REGION_INFO_FLAG_CAPS) || !ri.cap_offset)
		return 0; /* too small to hold the chain (caller retries), or none */
	if (ri.argsz > len)
		return vn_err(-EPROTO, "vfio-user GET_REGION_INFO: argsz %u but %zu bytes",
			      ri.argsz, len);
	/* Walk the chain inside [sizeof(ri), argsz); each hop moves forward. */
	for (off = ri.cap_offset; off; hops++) {
		struct vfio_user_cap_hdr h;

		if (off < sizeof(ri) || off % 4 || off > ri.argsz || ri.argsz - off < sizeof(h) ||
		    hops > 64)
			return vn_err(-EPROTO, "vfio-user region %u: bad capability offset %zu",
				      index, off);
		memcpy(&h, (const char *)p + off, sizeof(h));
		if (h.id == VFIO_USER_CAP_SPARSE_MMAP) {
			r = parse_sparse(p, ri.argsz, off, &h, out);
			if (r)
				return r;
		}
		if (h.next && h.next <= off)
			return vn_err(-EPROTO, "vfio-user region %u: capability chain loops", index);
		off = h.next;
	}
	return 0;
}

/* ---- GET_REGION_IO_FDS ---- */

int vfio_user_io_fds_encode(void *p, size_t cap, uint32_t req_argsz, uint32_t index,
			    const struct vfio_user_ioeventfd *e, unsigned n)
{
	struct vfio_user_io_fds h = { .index = index, .count = n };
	size_t full = sizeof(h) + (size_t)n * sizeof(*e), len;

	if (n > VFIO_USER_MAX_IOFDS)
		return -EINVAL;
	h.argsz = (uint32_t)full;
	len = req_argsz >= full ? full : sizeof(h);
	if (cap < len)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	if (len == full && n)
		memcpy((char *)p + sizeof(h), e, n * sizeof(*e));
	return (int)len;
}

int vfio_user_io_fds_decode(const void *p, size_t len, uint32_t index, uint32_t req_argsz,
			    unsigned n_fds, struct vfio_user_iofd *out, unsigned max,
			    unsigned *n_out, uint32_t *argsz_needed)
{
	struct vfio_user_io_fds h;
	size_t body, stride;

	*n_out = 0;
	if (len < sizeof(h))
		return vn_err(-EPROTO, "vfio-user GET_REGION_IO_FDS: reply of %zu bytes", len);
	memcpy(&h, p, sizeof(h));
	if (h.index != index)
		return vn_err(-EPROTO, "vfio-user GET_REGION_IO_FDS: asked for region %u, got %u",
			      index, h.index);
	if (h.argsz < sizeof(h))
		return vn_err(-EPROTO, "vfio-user GET_REGION_IO_FDS: argsz %u", h.argsz);
	*argsz_needed = h.argsz;
	if (h.count == 0 || h.argsz > req_argsz)
		return 0;
	if (h.argsz > len)
		return vn_err(-EPROTO, "vfio-user GET_REGION_IO_FDS: argsz %u but %zu bytes",
			      h.argsz, len);
	/* Entry i sits at i * ((argsz - header) / count); today 40 bytes. */
	body = h.argsz - sizeof(h);
	stride = body / h.count;
	if (stride < sizeof(struct vfio_user_ioeventfd) || body % h.count)
		return vn_err(-EPROTO, "vfio-user GET_REGION_IO_FDS: %u entries in %zu bytes",
			      h.count, body);
	for (uint32_t i = 0; i < h.count; i++) {
		struct vfio_user_ioeventfd e;

		memcpy(&e, (const char *)p + sizeof(h) + i * stride, sizeof(e));
		if (e.fd_index >= n_fds)
			return vn_err(-EPROTO, "vfio-user GET_REGION_IO_FDS: fd index %u of %u fds",
				      e.fd_index, n_fds);
		/* Only MMIO ioeventfds can stand in for our region writes. */
		if (e.type != VFIO_USER_IO_FD_TYPE_IOEVENTFD || (e.flags & VFIO_USER_IOEVENTFD_PIO))
			continue;
		if (*n_out < max)
			out[(*n_out)++] = (struct vfio_user_iofd){
				.offset = e.offset,
				.size = e.size,
				.fd_index = e.fd_index,
				.flags = e.flags & VFIO_USER_IOEVENTFD_DATAMATCH,
				.datamatch = e.datamatch,
			};
	}
	return 0;
}
