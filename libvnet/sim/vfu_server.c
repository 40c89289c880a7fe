/* SPDX-License-Identifier: MIT */
/*
 * vfio-user server core (vfu_server.h): reads one client message at a time,
 * checks it with the shared codec (iommu/vfio_user_proto.h), and turns it
 * into calls on the device model or into its DMA table and IRQ fd table.
 *
 * Every request is answered, with an error reply carrying the errno when it
 * is refused (EINVAL malformed or out of range, EACCES wrong direction,
 * EEXIST overlapping DMA, ENOENT unknown DMA, ENOTSUP valid but not offered
 * here, ENOSYS unknown command). The client is dropped only when the byte
 * stream itself can no longer be trusted (bad header size, a message
 * stalled past VFU_SERVER_RECV_TIMEOUT_MS) or a reply cannot be sent; the
 * device is then reset, DMA unmapped and IRQ fds closed, ready for the next
 * client (vfio-user.rst "Client Disconnection"). Every fd a client passes
 * is checked for what it is used as: DMA memory must be a regular file
 * (memfd) holding the whole window and sealed against shrinking,
 * interrupts must be eventfds. A DMA_MAP without an fd leaves the memory
 * with the client: the device model reaches it with vfu_dma_rw(), which
 * sends DMA_READ / DMA_WRITE requests and waits for their replies
 * (vfio-user.rst "VFIO_USER_DMA_READ"); client commands arriving meanwhile
 * are kept, in order, for the next vfu_server_handle() calls.
 */
#include "sim/vfu_server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iommu/devio.h"
#include "iommu/vfio_user_proto.h"
#include "log.h"

#define VFU_DMA_MAX 256           /* DMA windows per client (max_dma_maps) */
#define VFU_MAX_KEPT 16           /* client commands kept while waiting for a DMA reply */
#define VFU_MAX_IRQ_VECTORS 2048  /* PCI MSI-X table size limit */
#define VFU_PAYLOAD_CAP (VFIO_USER_MAX_MSG - sizeof(struct vfio_user_hdr))

struct vfu_dma {
	uint64_t iova, last; /* inclusive range */
	void *va;            /* NULL: the client keeps it (DMA_READ / DMA_WRITE) */
	size_t len;
	bool readable, writable;
};

struct vfu_server {
	struct vfu_server_cfg cfg;
	int fd;                       /* the client, or -1 */
	bool versioned;               /* VERSION negotiated */
	uint32_t client_max_fds;      /* fds the client takes in one message */
	uint32_t max_xfer;            /* negotiated max_data_xfer_size */
	uint8_t *rx, *tx;             /* one message each */
	struct vfio_user_fds fds;     /* fds of the message being handled */
	unsigned n_dma, last_hit;     /* dma[] sorted by iova; last_hit caches lookups */
	struct vfu_dma dma[VFU_DMA_MAX];
	int *irq_fds[VFU_MAX_IRQ_INDEX];  /* irq_count[i] eventfds each, -1 unrouted */
	int no_fds[VFIO_USER_MAX_FDS];    /* all -1: "unrouted" for set_irqs() */
	/* Requests to the client (DMA_READ / DMA_WRITE): their own buffers,
	 * as one may be sent while a client message is being handled. */
	uint8_t *dma_msg;
	uint16_t dma_id;
	bool dead;                    /* the client failed a DMA request: drop it */
	struct vfu_kept *kept, **kept_tail; /* commands that came meanwhile, oldest first */
	unsigned n_kept;
};

/* A client command that arrived while we waited for a DMA reply. */
struct vfu_kept {
	struct vfu_kept *next;
	struct vfio_user_fds fds;
	size_t len;
	uint8_t msg[];
};

/* What a handler answers besides its payload. */
struct vfu_reply {
	size_t len;
	int fds[VFIO_USER_MAX_FDS];
	unsigned n_fds;
};

/* ---- configuration ---- */

static int check_region(const struct vfu_region *r, unsigned idx)
{
	if (!r->size)
		return 0;
	if (r->flags & ~(uint32_t)(VN_REGION_READ | VN_REGION_WRITE | VN_REGION_MMAP))
		return vn_err(-EINVAL, "vfu: region %u: unknown flags %#x", idx, r->flags);
	if (r->flags & VN_REGION_MMAP) {
		if (r->mmap_fd < 0 || r->n_sparse > VFU_MAX_SPARSE)
			return vn_err(-EINVAL, "vfu: region %u: mappable without fd or with %u areas",
				      idx, r->n_sparse);
		for (unsigned i = 0; i < r->n_sparse; i++)
			if (!r->sparse[i].size || r->sparse[i].off > r->size ||
			    r->sparse[i].size > r->size - r->sparse[i].off)
				return vn_err(-EINVAL, "vfu: region %u: sparse area %u out of bounds",
					      idx, i);
	}
	if (r->n_ioeventfd > VFU_MAX_IOEVENTFDS)
		return vn_err(-EINVAL, "vfu: region %u: %u ioeventfds", idx, r->n_ioeventfd);
	for (unsigned i = 0; i < r->n_ioeventfd; i++) {
		uint32_t sz = r->ioeventfd[i].size;

		if (r->ioeventfd[i].fd < 0 || (sz != 0 && sz != 1 && sz != 2 && sz != 4 && sz != 8) ||
		    r->ioeventfd[i].off >= r->size || sz > r->size - r->ioeventfd[i].off)
			return vn_err(-EINVAL, "vfu: region %u: ioeventfd %u is invalid", idx, i);
	}
	return 0;
}

int vfu_server_new(const struct vfu_server_cfg *cfg, struct vfu_server **out)
{
	struct vfu_server *s;
	int r;

	if (!cfg->ops || !cfg->ops->region_read || !cfg->ops->region_write)
		return vn_err(-EINVAL, "vfu: the device model must implement region access");
	for (unsigned i = 0; i < VFU_MAX_REGIONS; i++) {
		r = check_region(&cfg->regions[i], i);
		if (r)
			return r;
	}
	for (unsigned i = 0; i < VFU_MAX_IRQ_INDEX; i++)
		if (cfg->irq_count[i] > VFU_MAX_IRQ_VECTORS)
			return vn_err(-EINVAL, "vfu: IRQ index %u: %u vectors, limit %u", i,
				      cfg->irq_count[i], VFU_MAX_IRQ_VECTORS);
	s = calloc(1, sizeof(*s));
	if (!s)
		return vn_err(-ENOMEM, "vfu: out of memory");
	s->cfg = *cfg;
	s->fd = -1;
	s->kept_tail = &s->kept;
	s->rx = malloc(VFIO_USER_MAX_MSG);
	s->tx = malloc(VFIO_USER_MAX_MSG);
	if (!s->rx || !s->tx)
		goto nomem;
	for (unsigned i = 0; i < VFU_MAX_IRQ_INDEX; i++) {
		if (!cfg->irq_count[i])
			continue;
		s->irq_fds[i] = malloc(cfg->irq_count[i] * sizeof(int));
		if (!s->irq_fds[i])
			goto nomem;
		for (unsigned v = 0; v < cfg->irq_count[i]; v++)
			s->irq_fds[i][v] = -1;
	}
	for (unsigned i = 0; i < VFIO_USER_MAX_FDS; i++)
		s->no_fds[i] = -1;
	*out = s;
	return 0;
nomem:
	vfu_server_free(s);
	return vn_err(-ENOMEM, "vfu: out of memory");
}

/* ---- DMA table ---- */

static void dma_remove(struct vfu_server *s, unsigned i)
{
	struct vfu_dma *m = &s->dma[i];

	/* vfu_server.h: the device drops its pointers before the memory goes. */
	if (s->cfg.ops->dma_unmap)
		s->cfg.ops->dma_unmap(s->cfg.dev, m->iova, m->len);
	if (m->va)
		munmap(m->va, m->len);
	memmove(&s->dma[i], &s->dma[i + 1], (s->n_dma - i - 1) * sizeof(s->dma[0]));
	s->n_dma--;
	s->last_hit = 0;
}

/* Index of the last window starting at or below iova, or n_dma if none. */
static unsigned dma_find(const struct vfu_server *s, uint64_t iova)
{
	unsigned lo = 0, hi = s->n_dma;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (s->dma[mid].iova <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : s->n_dma;
}

/* The window holding all of [iova, +len) with the access asked for, or NULL. */
static const struct vfu_dma *dma_window(struct vfu_server *s, uint64_t iova, uint64_t len,
					bool write)
{
	const struct vfu_dma *m;
	unsigned i = s->last_hit;

	if (!len || iova + (len - 1) < iova)
		return NULL;
	if (i >= s->n_dma || iova < s->dma[i].iova || iova > s->dma[i].last) {
		i = dma_find(s, iova);
		if (i == s->n_dma || iova > s->dma[i].last)
			return NULL;
		s->last_hit = i;
	}
	m = &s->dma[i];
	if (len - 1 > m->last - iova || !(write ? m->writable : m->readable))
		return NULL;
	return m;
}

void *vfu_dma_ptr(struct vfu_server *s, uint64_t iova, uint64_t len, bool write)
{
	const struct vfu_dma *m = dma_window(s, iova, len, write);

	return m && m->va ? (char *)m->va + (iova - m->iova) : NULL;
}

/* Bytes of client memory mapped now. */
static uint64_t dma_bytes(const struct vfu_server *s)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < s->n_dma; i++)
		sum += s->dma[i].len;
	return sum;
}

static int do_dma_map(struct vfu_server *s, const void *p)
{
	struct vfio_user_dma_map q;
	struct stat st;
	unsigned i;
	int prot, fd;
	void *va;

	memcpy(&q, p, sizeof(q));
	prot = (q.flags & VFIO_USER_F_DMA_READ ? PROT_READ : 0) |
	       (q.flags & VFIO_USER_F_DMA_WRITE ? PROT_WRITE : 0);
	/* Without an fd the offset means nothing (vfio-user.rst "VFIO_USER_DMA_MAP"). */
	if (!s->fds.n)
		q.offset = 0;
	if (!q.size || !prot || q.addr + (q.size - 1) < q.addr || q.size > SIZE_MAX ||
	    q.offset % (uint64_t)sysconf(_SC_PAGESIZE) || q.offset > (uint64_t)INT64_MAX - q.size)
		return vn_err(-EINVAL, "vfu DMA_MAP: bad window [%#llx, +%#llx) offset %#llx flags %#x",
			      (unsigned long long)q.addr, (unsigned long long)q.size,
			      (unsigned long long)q.offset, q.flags);
	if (s->n_dma == VFU_DMA_MAX)
		return vn_err(-ENOSPC, "vfu DMA_MAP: %u windows already", VFU_DMA_MAX);
	if (s->cfg.dma_budget && q.size > s->cfg.dma_budget - VN_MIN(dma_bytes(s), s->cfg.dma_budget)) {
		vn_err(-ENOMEM, "vfu DMA_MAP: %llu bytes more exceed the device's memory budget of "
		       "%llu bytes (mem=; %llu mapped)", (unsigned long long)q.size,
		       (unsigned long long)s->cfg.dma_budget, (unsigned long long)dma_bytes(s));
		/* The reply carries only the errno: say why where it is seen. */
		vn_warn("%s", vn_err_msg());
		return -ENOMEM;
	}
	i = dma_find(s, q.addr);
	if ((i < s->n_dma && s->dma[i].last >= q.addr) ||
	    (i + 1 < s->n_dma && s->dma[i + 1].iova <= q.addr + (q.size - 1)) ||
	    (i == s->n_dma && s->n_dma && s->dma[0].iova <= q.addr + (q.size - 1)))
		return vn_err(-EEXIST, "vfu DMA_MAP: [%#llx, +%#llx) overlaps a mapping",
			      (unsigned long long)q.addr, (unsigned long long)q.size);
	if (!s->fds.n) {
		va = NULL; /* the client keeps it: vfu_dma_rw() asks for it by message */
		goto insert;
	}
	fd = s->fds.fd[0];
	/* Touching memory beyond the file's end would SIGBUS this process. */
	if (fstat(fd, &st))
		return vn_err(-errno, "vfu DMA_MAP: fstat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vn_err(-EINVAL, "vfu DMA_MAP: the fd is not a regular file or memfd "
			      "(file type %#o)", (unsigned)(st.st_mode & S_IFMT));
	if ((uint64_t)st.st_size < q.offset + q.size)
		return vn_err(-EINVAL, "vfu DMA_MAP: the fd holds fewer than %#llx bytes",
			      (unsigned long long)(q.offset + q.size));
	/* The size check holds only if the file cannot shrink later (the client
	 * could truncate it and make our next access a SIGBUS): it must carry
	 * F_SEAL_SHRINK or take it now (memfd_create(2)). */
	if (!(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK) && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		return vn_err(-EINVAL, "vfu DMA_MAP: the memory cannot be sealed against "
			      "shrinking (F_SEAL_SHRINK): %s", strerror(errno));
	va = mmap(NULL, (size_t)q.size, prot, MAP_SHARED, fd, (off_t)q.offset);
	if (va == MAP_FAILED)
		return vn_err(-errno, "vfu DMA_MAP: mmap: %s", strerror(errno));
	vfio_user_fds_close(&s->fds, 0); /* the mapping keeps the memory */
insert:
	i = i == s->n_dma ? 0 : i + 1;   /* insertion point */
	memmove(&s->dma[i + 1], &s->dma[i], (s->n_dma - i) * sizeof(s->dma[0]));
	s->dma[i] = (struct vfu_dma){
		.iova = q.addr,
		.last = q.addr + (q.size - 1),
		.va = va,
		.len = (size_t)q.size,
		.readable = q.flags & VFIO_USER_F_DMA_READ,
		.writable = q.flags & VFIO_USER_F_DMA_WRITE,
	};
	s->n_dma++;
	s->last_hit = 0;
	return 0;
}

static int do_dma_unmap(struct vfu_server *s, const void *p, struct vfu_reply *rep)
{
	struct vfio_user_dma_unmap q;
	unsigned i;

	memcpy(&q, p, sizeof(q));
	if (q.flags == VFIO_USER_F_DMA_UNMAP_ALL) {
		if (q.addr || q.size)
			return vn_err(-EINVAL, "vfu DMA_UNMAP: ALL with an address or size");
		while (s->n_dma)
			dma_remove(s, s->n_dma - 1);
	} else if (q.flags) {
		return vn_err(-ENOTSUP, "vfu DMA_UNMAP: flags %#x not offered", q.flags);
	} else {
		/* The window must match a DMA_MAP exactly (vfio-user.rst). */
		i = dma_find(s, q.addr);
		if (i == s->n_dma || s->dma[i].iova != q.addr || s->dma[i].len != q.size)
			return vn_err(-ENOENT, "vfu DMA_UNMAP: no mapping [%#llx, +%#llx)",
				      (unsigned long long)q.addr, (unsigned long long)q.size);
		dma_remove(s, i);
	}
	memcpy(s->tx + sizeof(struct vfio_user_hdr), &q, sizeof(q));
	rep->len = sizeof(q);
	return 0;
}

/* ---- DMA by message (memory the client kept) ---- */

static void kept_free_all(struct vfu_server *s)
{
	while (s->kept) {
		struct vfu_kept *k = s->kept;

		s->kept = k->next;
		vfio_user_fds_close(&k->fds, 0);
		free(k);
	}
	s->kept_tail = &s->kept;
	s->n_kept = 0;
}

/* A command the client sent while we waited: kept (with its fds) for
 * vfu_server_handle(), which answers it in turn. */
static int keep(struct vfu_server *s, const uint8_t *msg, size_t len, struct vfio_user_fds *fds)
{
	struct vfu_kept *k = s->n_kept < VFU_MAX_KEPT ? malloc(sizeof(*k) + len) : NULL;

	if (!k)
		return vn_err(-ENOBUFS, "vfu: %u client commands wait behind a DMA request",
			      s->n_kept);
	k->next = NULL;
	k->len = len;
	k->fds = *fds;
	fds->n = 0;
	memcpy(k->msg, msg, len);
	*s->kept_tail = k;
	s->kept_tail = &k->next;
	s->n_kept++;
	return 0;
}

/*
 * Send the DMA_READ / DMA_WRITE request built in s->dma_msg (payload of
 * plen bytes after the header) and wait for its reply, into s->dma_msg.
 * Returns the reply's payload length, the client's -errno for an error
 * reply, or -EIO when the client cannot be talked to any more.
 */
static int dma_request(struct vfu_server *s, uint16_t cmd, size_t plen)
{
	uint16_t id = ++s->dma_id;
	struct vfio_user_hdr h;
	int n, r;

	vfio_user_hdr_init(&h, id, cmd, plen, VFIO_USER_F_TYPE_COMMAND);
	memcpy(s->dma_msg, &h, sizeof(h));
	if (vfio_user_send(s->fd, s->dma_msg, h.size, NULL, 0, VFU_SERVER_RECV_TIMEOUT_MS))
		return -EIO;
	for (;;) {
		struct vfio_user_fds fds;

		n = vfio_user_recv(s->fd, s->dma_msg, VFIO_USER_MAX_MSG, &fds,
				   VFU_SERVER_RECV_TIMEOUT_MS);
		if (n < 0)
			return -EIO;
		memcpy(&h, s->dma_msg, sizeof(h));
		if ((h.flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_REPLY) {
			r = keep(s, s->dma_msg, (size_t)n, &fds);
			vfio_user_fds_close(&fds, 0);
			if (r)
				return -EIO;
			continue;
		}
		vfio_user_fds_close(&fds, 0);
		if (h.id != id)
			continue; /* nothing else is outstanding: ignored, as in vfu_server_handle() */
		r = vfio_user_reply_check(&h, id, cmd);
		return r == -EPROTO ? -EIO : r ? r : n - (int)sizeof(h);
	}
}

int vfu_dma_rw(struct vfu_server *s, uint64_t iova, void *buf, uint64_t len, bool write)
{
	const struct vfu_dma *m = dma_window(s, iova, len, write);
	const uint16_t cmd = write ? VFIO_USER_DMA_WRITE : VFIO_USER_DMA_READ;
	struct { uint64_t addr, count; } rq;

	if (!m)
		return vn_err(-EFAULT, "vfu: DMA %s of [%#llx, +%#llx): not mapped %s",
			      write ? "write" : "read", (unsigned long long)iova,
			      (unsigned long long)len, write ? "writable" : "readable");
	if (m->va) {
		if (write)
			memcpy((char *)m->va + (iova - m->iova), buf, len);
		else
			memcpy(buf, (char *)m->va + (iova - m->iova), len);
		return 0;
	}
	if (s->fd < 0 || s->dead)
		return vn_err(-EIO, "vfu: DMA by message: the client is gone");
	if (!s->dma_msg && !(s->dma_msg = malloc(VFIO_USER_MAX_MSG)))
		return vn_err(-ENOMEM, "vfu: out of memory");
	for (uint64_t done = 0; done < len; done += rq.count) {
		uint8_t *p = s->dma_msg + sizeof(struct vfio_user_hdr);
		int n;

		/* vfio-user.rst "VFIO_USER_DMA_READ/WRITE": address, count, then
		 * count data bytes (in the write request and in the read reply),
		 * at most the client's max_data_xfer_size. */
		rq.addr = iova + done;
		rq.count = VN_MIN(len - done, (uint64_t)s->max_xfer);
		memcpy(p, &rq, sizeof(rq));
		if (write)
			memcpy(p + sizeof(rq), (const char *)buf + done, rq.count);
		n = dma_request(s, cmd, sizeof(rq) + (write ? rq.count : 0));
		if (n == -EIO) {
			s->dead = true;
			return vn_err(-EIO, "vfu: DMA_%s of [%#llx, +%#llx): the client did not answer; "
				      "dropping it", write ? "WRITE" : "READ",
				      (unsigned long long)rq.addr, (unsigned long long)rq.count);
		}
		if (n < 0)
			return vn_err(-EFAULT, "vfu: DMA_%s of [%#llx, +%#llx) refused by the client: %s",
				      write ? "WRITE" : "READ", (unsigned long long)rq.addr,
				      (unsigned long long)rq.count, strerror(-n));
		if ((size_t)n != sizeof(rq) + (write ? 0 : rq.count) || memcmp(p, &rq, sizeof(rq))) {
			s->dead = true;
			return vn_err(-EIO, "vfu: DMA_%s reply of %d bytes does not match the request; "
				      "dropping the client", write ? "WRITE" : "READ", n);
		}
		if (!write)
			memcpy((char *)buf + done, p + sizeof(rq), rq.count);
	}
	return 0;
}

bool vfu_server_pending(const struct vfu_server *s)
{
	return s->fd >= 0 && (s->kept || s->dead);
}

/* ---- interrupts ---- */

static void irq_release(struct vfu_server *s, unsigned idx)
{
	bool any = false;

	for (unsigned v = 0; v < s->cfg.irq_count[idx]; v++)
		any |= s->irq_fds[idx][v] >= 0;
	if (!any)
		return;
	if (s->cfg.ops->set_irqs)
		s->cfg.ops->set_irqs(s->cfg.dev, idx, 0, 0, NULL);
	for (unsigned v = 0; v < s->cfg.irq_count[idx]; v++) {
		if (s->irq_fds[idx][v] >= 0)
			close(s->irq_fds[idx][v]);
		s->irq_fds[idx][v] = -1;
	}
}

static void irq_release_all(struct vfu_server *s)
{
	for (unsigned i = 0; i < VFU_MAX_IRQ_INDEX; i++)
		irq_release(s, i);
}

/* Vectors [start, +count) exist in IRQ index idx (checked < VFU_MAX_IRQ_INDEX). */
static int irq_range(const struct vfu_server *s, const struct vfio_user_irq_set *q)
{
	if (!q->count || (uint64_t)q->start + q->count > s->cfg.irq_count[q->index])
		return vn_err(-EINVAL, "vfu SET_IRQS: vectors [%u, +%u) of index %u with %u",
			      q->start, q->count, q->index, s->cfg.irq_count[q->index]);
	return 0;
}

/* VFIO uAPI ACTION_MASK / ACTION_UNMASK with DATA_NONE: handed to the
 * device model, which owns the masking (INTx stays masked after each
 * trigger until unmasked, as vfio-pci does). */
static int irq_mask(struct vfu_server *s, const struct vfio_user_irq_set *q)
{
	int r;

	if (!s->cfg.ops->irq_mask)
		return vn_err(-ENOTSUP, "vfu SET_IRQS: the device does not mask interrupts");
	r = irq_range(s, q);
	return r ? r : s->cfg.ops->irq_mask(s->cfg.dev, q->index, q->start, q->count,
					    q->flags & VFIO_IRQ_SET_ACTION_MASK);
}

static int do_set_irqs(struct vfu_server *s, const void *p)
{
	struct vfio_user_irq_set q;
	uint32_t data;
	int r;

	memcpy(&q, p, sizeof(q));
	data = q.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	if (q.index >= VFU_MAX_IRQ_INDEX)
		return vn_err(-EINVAL, "vfu SET_IRQS: no IRQ index %u", q.index);
	if (data == VFIO_IRQ_SET_DATA_NONE &&
	    (q.flags & (VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK)))
		return irq_mask(s, &q);
	if (!(q.flags & VFIO_IRQ_SET_ACTION_TRIGGER) || data == VFIO_IRQ_SET_DATA_BOOL ||
	    (data == VFIO_IRQ_SET_DATA_NONE && (q.start || q.count)))
		return vn_err(-ENOTSUP, "vfu SET_IRQS: only eventfd triggers and DATA_NONE "
			      "mask/unmask (flags %#x)", q.flags);
	if (data == VFIO_IRQ_SET_DATA_NONE) {
		irq_release(s, q.index);
		return 0;
	}
	r = irq_range(s, &q);
	if (r)
		return r;
	for (unsigned i = 0; i < s->fds.n; i++)
		if (!vfio_user_is_eventfd(s->fds.fd[i]))
			return vn_err(-EINVAL, "vfu SET_IRQS: fd %u for vector %u is not an eventfd",
				      i, q.start + i);
	/* Tell the device first, then close what it no longer uses. */
	if (s->cfg.ops->set_irqs) {
		if (s->fds.n) {
			s->cfg.ops->set_irqs(s->cfg.dev, q.index, q.start, q.count, s->fds.fd);
		} else {
			for (uint32_t v = 0; v < q.count; v += VFIO_USER_MAX_FDS)
				s->cfg.ops->set_irqs(s->cfg.dev, q.index, q.start + v,
						     VN_MIN(q.count - v, VFIO_USER_MAX_FDS), s->no_fds);
		}
	}
	for (uint32_t v = 0; v < q.count; v++) {
		int *slot = &s->irq_fds[q.index][q.start + v];

		if (*slot >= 0)
			close(*slot);
		*slot = s->fds.n ? s->fds.fd[v] : -1;
	}
	s->fds.n = 0; /* now owned by irq_fds */
	return 0;
}

/* ---- regions ---- */

static const struct vfu_region *region_of(const struct vfu_server *s, uint32_t idx)
{
	return idx < VFU_MAX_REGIONS && s->cfg.regions[idx].size ? &s->cfg.regions[idx] : NULL;
}

static int do_region_info(struct vfu_server *s, const void *p, struct vfu_reply *rep)
{
	struct vfio_user_region_info q;
	struct vfio_user_region_desc d = { 0 };
	const struct vfu_region *rg;
	int n;

	memcpy(&q, p, sizeof(q));
	if (q.index >= VFU_MAX_REGIONS)
		return vn_err(-EINVAL, "vfu GET_REGION_INFO: no region %u", q.index);
	rg = &s->cfg.regions[q.index];
	d.index = q.index;
	if (rg->size) {
		d.size = rg->size;
		d.flags = (rg->flags & VN_REGION_READ ? VFIO_REGION_INFO_FLAG_READ : 0) |
			  (rg->flags & VN_REGION_WRITE ? VFIO_REGION_INFO_FLAG_WRITE : 0);
		/* Mappable only if the client can take the fd. */
		if ((rg->flags & VN_REGION_MMAP) && s->client_max_fds) {
			d.flags |= VFIO_REGION_INFO_FLAG_MMAP;
			d.offset = rg->mmap_offset;
			d.sparse = rg->n_sparse > 0;
			d.n_areas = rg->n_sparse;
			for (unsigned i = 0; i < rg->n_sparse; i++)
				d.areas[i] = (struct vfio_user_sparse_area){ rg->sparse[i].off,
									     rg->sparse[i].size };
			rep->fds[rep->n_fds++] = rg->mmap_fd;
		}
	}
	n = vfio_user_region_info_encode(s->tx + sizeof(struct vfio_user_hdr), VFU_PAYLOAD_CAP,
					 q.argsz, &d);
	if (n < 0)
		return vn_err(n, "vfu GET_REGION_INFO: cannot encode region %u", q.index);
	rep->len = (size_t)n;
	return 0;
}

static int do_io_fds(struct vfu_server *s, const void *p, struct vfu_reply *rep)
{
	struct vfio_user_ioeventfd e[VFU_MAX_IOEVENTFDS];
	struct vfio_user_io_fds q;
	const struct vfu_region *rg;
	int n;

	memcpy(&q, p, sizeof(q));
	rg = region_of(s, q.index);
	if (!rg)
		return vn_err(-EINVAL, "vfu GET_REGION_IO_FDS: no region %u", q.index);
	for (unsigned i = 0; i < rg->n_ioeventfd; i++) {
		unsigned f = 0;

		/* Entries may share an fd: send each fd once. */
		while (f < rep->n_fds && rep->fds[f] != rg->ioeventfd[i].fd)
			f++;
		if (f == rep->n_fds)
			rep->fds[rep->n_fds++] = rg->ioeventfd[i].fd;
		e[i] = (struct vfio_user_ioeventfd){
			.offset = rg->ioeventfd[i].off,
			.size = rg->ioeventfd[i].size,
			.fd_index = f,
			.type = VFIO_USER_IO_FD_TYPE_IOEVENTFD,
		};
	}
	if (rep->n_fds > s->client_max_fds)
		return vn_err(-E2BIG, "vfu GET_REGION_IO_FDS: %u fds, the client takes %u",
			      rep->n_fds, s->client_max_fds);
	n = vfio_user_io_fds_encode(s->tx + sizeof(struct vfio_user_hdr), VFU_PAYLOAD_CAP, q.argsz,
				    q.index, e, rg->n_ioeventfd);
	if (n < 0)
		return vn_err(n, "vfu GET_REGION_IO_FDS: cannot encode region %u", q.index);
	rep->len = (size_t)n;
	if (rep->len == sizeof(q)) /* counts only: the fds go with the full reply */
		rep->n_fds = 0;
	return 0;
}

/* The device model's answer as a negative errno. */
static int dev_errno(int r)
{
	return r > -4096 && r <= 0 ? r : -EIO;
}

static int do_region_rw(struct vfu_server *s, unsigned cmd, const void *p, struct vfu_reply *rep)
{
	bool wr = cmd == VFIO_USER_REGION_WRITE;
	uint8_t *out = s->tx + sizeof(struct vfio_user_hdr);
	struct vfio_user_region_rw q;
	const struct vfu_region *rg;
	int r;

	memcpy(&q, p, sizeof(q));
	rg = region_of(s, q.region);
	if (!rg)
		return vn_err(-EINVAL, "vfu %s: no region %u", vfio_user_cmd_name(cmd), q.region);
	if (!(rg->flags & (wr ? VN_REGION_WRITE : VN_REGION_READ)))
		return vn_err(-EACCES, "vfu %s: region %u is not %s", vfio_user_cmd_name(cmd),
			      q.region, wr ? "writable" : "readable");
	if (q.count > s->max_xfer || q.offset > rg->size || q.count > rg->size - q.offset)
		return vn_err(-EINVAL, "vfu %s: [%#llx, +%u) outside region %u (%#llx bytes)",
			      vfio_user_cmd_name(cmd), (unsigned long long)q.offset, q.count,
			      q.region, (unsigned long long)rg->size);
	if (wr)
		r = s->cfg.ops->region_write(s->cfg.dev, q.region, q.offset,
					     (const char *)p + sizeof(q), q.count);
	else
		r = s->cfg.ops->region_read(s->cfg.dev, q.region, q.offset, out + sizeof(q),
					    q.count);
	if (r)
		return dev_errno(r);
	memcpy(out, &q, sizeof(q));
	rep->len = sizeof(q) + (wr ? 0 : q.count);
	return 0;
}

/* ---- session ---- */

static int do_version(struct vfu_server *s, const void *p, size_t len, struct vfu_reply *rep)
{
	struct vfio_user_version_info v;
	int n;

	if (s->versioned)
		return vn_err(-EINVAL, "vfu VERSION: already negotiated");
	if (vfio_user_version_decode(p, len, &v))
		return -EINVAL;
	if (v.major != VFIO_USER_MAJOR)
		return vn_err(-ENOTSUP, "vfu VERSION: major %u, we speak %u", v.major,
			      VFIO_USER_MAJOR);
	s->client_max_fds = VN_MIN(v.caps.max_msg_fds, VFIO_USER_MAX_FDS);
	s->max_xfer = VN_MIN(v.caps.max_data_xfer_size, VFIO_USER_MAX_DATA_XFER);
	v.minor = VN_MIN(v.minor, (uint16_t)VFIO_USER_MINOR);
	v.caps = (struct vfio_user_caps){
		.max_msg_fds = VFIO_USER_MAX_FDS,
		.max_data_xfer_size = s->max_xfer,
		.max_dma_maps = VFU_DMA_MAX,
		.pgsizes = VFIO_USER_PAGE_SIZES,
	};
	n = vfio_user_version_encode(s->tx + sizeof(struct vfio_user_hdr), VFU_PAYLOAD_CAP, &v);
	if (n < 0)
		return vn_err(n, "vfu VERSION: cannot encode the reply");
	rep->len = (size_t)n;
	s->versioned = true;
	return 0;
}

static int do_device_info(struct vfu_server *s, struct vfu_reply *rep)
{
	struct vfio_user_device_info a = {
		.argsz = sizeof(a),
		.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
		.num_regions = VFU_MAX_REGIONS,
		.num_irqs = VFU_MAX_IRQ_INDEX,
	};

	memcpy(s->tx + sizeof(struct vfio_user_hdr), &a, sizeof(a));
	rep->len = sizeof(a);
	return 0;
}

static int do_irq_info(struct vfu_server *s, const void *p, struct vfu_reply *rep)
{
	struct vfio_user_irq_info q;

	memcpy(&q, p, sizeof(q));
	if (q.index >= VFU_MAX_IRQ_INDEX)
		return vn_err(-EINVAL, "vfu GET_IRQ_INFO: no IRQ index %u", q.index);
	q = (struct vfio_user_irq_info){
		.argsz = sizeof(q),
		.flags = s->cfg.irq_count[q.index] ? VFIO_IRQ_INFO_EVENTFD : 0,
		.index = q.index,
		.count = s->cfg.irq_count[q.index],
	};
	memcpy(s->tx + sizeof(struct vfio_user_hdr), &q, sizeof(q));
	rep->len = sizeof(q);
	return 0;
}

static void device_reset(struct vfu_server *s, bool client_gone)
{
	if (s->cfg.ops->reset)
		s->cfg.ops->reset(s->cfg.dev, client_gone);
}

static int dispatch(struct vfu_server *s, unsigned cmd, const void *p, size_t len,
		    struct vfu_reply *rep)
{
	int r = vfio_user_req_check(cmd, p, len, s->fds.n);

	if (r)
		return r;
	if (!s->versioned && cmd != VFIO_USER_VERSION)
		return vn_err(-EINVAL, "vfu %s before VERSION", vfio_user_cmd_name(cmd));
	switch (cmd) {
	case VFIO_USER_VERSION:
		return do_version(s, p, len, rep);
	case VFIO_USER_DMA_MAP:
		return do_dma_map(s, p);
	case VFIO_USER_DMA_UNMAP:
		return do_dma_unmap(s, p, rep);
	case VFIO_USER_DEVICE_GET_INFO:
		return do_device_info(s, rep);
	case VFIO_USER_DEVICE_GET_REGION_INFO:
		return do_region_info(s, p, rep);
	case VFIO_USER_DEVICE_GET_REGION_IO_FDS:
		return do_io_fds(s, p, rep);
	case VFIO_USER_DEVICE_GET_IRQ_INFO:
		return do_irq_info(s, p, rep);
	case VFIO_USER_DEVICE_SET_IRQS:
		return do_set_irqs(s, p);
	case VFIO_USER_REGION_READ:
	case VFIO_USER_REGION_WRITE:
		return do_region_rw(s, cmd, p, rep);
	case VFIO_USER_DEVICE_RESET:
		/* The IRQ eventfds stay routed, as VFIO_DEVICE_RESET keeps them
		 * (vfio-pci restores the MSI-X state around the function reset). */
		device_reset(s, false);
		return 0;
	default: /* vfio_user_req_check() refused it */
		return -ENOSYS;
	}
}

/* The client is gone or untrustworthy: forget it and everything it gave us. */
static void drop_client(struct vfu_server *s)
{
	if (s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
	s->versioned = false;
	s->dead = false;
	device_reset(s, true);
	irq_release_all(s);
	while (s->n_dma)
		dma_remove(s, s->n_dma - 1);
	kept_free_all(s);
}

int vfu_server_handle(struct vfu_server *s)
{
	struct vfu_reply rep = { 0 };
	struct vfio_user_hdr h;
	int n, r;

	if (s->fd < 0)
		return vn_err(-ECONNRESET, "vfu: no client attached");
	if (s->dead) {
		drop_client(s);
		return -ECONNRESET;
	}
	if (s->kept) {
		struct vfu_kept *k = s->kept;

		/* keep() made sure it is a whole message that vfio_user_recv() took. */
		if (!(s->kept = k->next))
			s->kept_tail = &s->kept;
		s->n_kept--;
		memcpy(s->rx, k->msg, k->len);
		s->fds = k->fds;
		n = (int)k->len;
		free(k);
	} else {
		n = vfio_user_recv(s->fd, s->rx, VFIO_USER_MAX_MSG, &s->fds,
				   VFU_SERVER_RECV_TIMEOUT_MS);
	}
	if (n < 0) {
		vn_debug("vfu: dropping the client: %s", vn_err_msg());
		drop_client(s);
		return -ECONNRESET;
	}
	memcpy(&h, s->rx, sizeof(h));
	if ((h.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_REPLY) {
		/* We never send commands, so there is nothing this could answer. */
		vn_debug("vfu: ignoring an unsolicited reply (id %u)", h.id);
		vfio_user_fds_close(&s->fds, 0);
		return 0;
	}
	if (s->fds.truncated)
		r = vn_err(-EINVAL, "vfu %s: more fds than %u", vfio_user_cmd_name(h.cmd),
			   VFIO_USER_MAX_FDS);
	else
		r = dispatch(s, h.cmd, s->rx + sizeof(h), (size_t)n - sizeof(h), &rep);
	vfio_user_fds_close(&s->fds, 0); /* whatever a handler did not keep */
	if (r)
		vn_debug("vfu: %s refused: %s", vfio_user_cmd_name(h.cmd), vn_err_msg());
	if (s->dead) { /* a DMA request the handler made went unanswered */
		drop_client(s);
		return -ECONNRESET;
	}
	if (h.flags & VFIO_USER_F_NO_REPLY)
		return 0;
	vfio_user_hdr_init(&h, h.id, h.cmd, r ? 0 : rep.len,
			   VFIO_USER_F_TYPE_REPLY | (r ? VFIO_USER_F_ERROR : 0));
	h.error = (uint32_t)-r;
	memcpy(s->tx, &h, sizeof(h));
	if (vfio_user_send(s->fd, s->tx, h.size, rep.fds, r ? 0 : rep.n_fds,
			   VFU_SERVER_RECV_TIMEOUT_MS)) {
		vn_debug("vfu: dropping the client: %s", vn_err_msg());
		drop_client(s);
		return -ECONNRESET;
	}
	return 0;
}

int vfu_server_attach(struct vfu_server *s, int fd)
{
	if (s->fd >= 0) {
		close(fd);
		return vn_err(-EBUSY, "vfu: a client is already attached");
	}
	s->fd = fd;
	s->versioned = false;
	s->client_max_fds = 1;
	s->max_xfer = VFIO_USER_MAX_DATA_XFER;
	return 0;
}

int vfu_server_fd(const struct vfu_server *s)
{
	return s->fd;
}

void vfu_server_free(struct vfu_server *s)
{
	if (!s)
		return;
	drop_client(s);
	for (unsigned i = 0; i < VFU_MAX_IRQ_INDEX; i++)
		free(s->irq_fds[i]);
	free(s->rx);
	free(s->tx);
	free(s->dma_msg);
	free(s);
}
