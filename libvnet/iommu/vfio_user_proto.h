/* SPDX-License-Identifier: MIT */
/*
 * vfio-user wire format and codec, shared by the client (vfio_user.c) and
 * the server core (sim/vfu_server.c).
 *
 * The protocol is QEMU's docs/interop/vfio-user.rst, version 0.1, as QEMU
 * and libvfio-user speak it: every message is a 16-byte header followed by
 * a command-specific payload, in host byte order, over a SOCK_STREAM Unix
 * socket; file descriptors travel as SCM_RIGHTS with the message's first
 * bytes. Payload structures reuse linux/vfio.h semantics and flag values.
 *
 * Everything here is a pure function over byte buffers and fd counts (so it
 * can be unit tested and fuzzed), except vfio_user_send()/vfio_user_recv().
 * Decoders treat their input as hostile: every size, count and offset is
 * checked before use, and a failure returns a negative errno with vn_err()
 * saying what was wrong.
 */
#ifndef VN_VFIO_USER_PROTO_H
#define VN_VFIO_USER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Commands (vfio-user.rst "Commands"). */
enum vfio_user_cmd {
	VFIO_USER_VERSION = 1,
	VFIO_USER_DMA_MAP = 2,
	VFIO_USER_DMA_UNMAP = 3,
	VFIO_USER_DEVICE_GET_INFO = 4,
	VFIO_USER_DEVICE_GET_REGION_INFO = 5,
	VFIO_USER_DEVICE_GET_REGION_IO_FDS = 6,
	VFIO_USER_DEVICE_GET_IRQ_INFO = 7,
	VFIO_USER_DEVICE_SET_IRQS = 8,
	VFIO_USER_REGION_READ = 9,
	VFIO_USER_REGION_WRITE = 10,
	VFIO_USER_DMA_READ = 11,
	VFIO_USER_DMA_WRITE = 12,
	VFIO_USER_DEVICE_RESET = 13,
};

/* Header flags (vfio-user.rst "Header"): bits 0-3 type, 4 no_reply, 5 error. */
#define VFIO_USER_F_TYPE_MASK    0xfu
#define VFIO_USER_F_TYPE_COMMAND 0x0u
#define VFIO_USER_F_TYPE_REPLY   0x1u
#define VFIO_USER_F_NO_REPLY     0x10u
#define VFIO_USER_F_ERROR        0x20u

#define VFIO_USER_MAJOR 0
#define VFIO_USER_MINOR 1

/* DMA_MAP flags. */
#define VFIO_USER_F_DMA_READ  0x1u
#define VFIO_USER_F_DMA_WRITE 0x2u
/* DMA_UNMAP flags: VFIO_DMA_UNMAP_FLAG_ALL (linux/vfio.h), address and size 0. */
#define VFIO_USER_F_DMA_UNMAP_ALL 0x2u

/* GET_REGION_IO_FDS sub-region types, and the KVM_IOEVENTFD flag values
 * the spec reuses for ioeventfd sub-regions. */
#define VFIO_USER_IO_FD_TYPE_IOEVENTFD  0u
#define VFIO_USER_IO_FD_TYPE_IOREGIONFD 1u
#define VFIO_USER_IOEVENTFD_DATAMATCH   0x1u
#define VFIO_USER_IOEVENTFD_PIO         0x2u

/* VFIO_REGION_INFO_CAP_SPARSE_MMAP (linux/vfio.h) and its version. */
#define VFIO_USER_CAP_SPARSE_MMAP 1u
#define VFIO_USER_CAP_SPARSE_MMAP_VERSION 1u

/*
 * Limits of this implementation. The spec's default max_data_xfer_size is
 * 1 MiB; a message is at most the header, a 16-byte access descriptor and
 * that much data. Sub-regions and areas beyond our arrays are refused by
 * the encoders and ignored (not mapped / not kicked) by the decoders.
 */
#define VFIO_USER_MAX_DATA_XFER (1u << 20)
#define VFIO_USER_MAX_MSG (16u + 16u + VFIO_USER_MAX_DATA_XFER)
#define VFIO_USER_MAX_FDS 64u
#define VFIO_USER_MAX_SPARSE 16u
#define VFIO_USER_MAX_IOFDS 64u
#define VFIO_USER_PAGE_SIZES 4096u

struct vfio_user_hdr {
	uint16_t id;
	uint16_t cmd;
	uint32_t size;  /* whole message, header included */
	uint32_t flags; /* VFIO_USER_F_* */
	uint32_t error; /* errno of an error reply */
};

struct vfio_user_version {
	uint16_t major;
	uint16_t minor;
	/* followed by optional NUL-terminated JSON capabilities */
};

struct vfio_user_dma_map {
	uint32_t argsz;
	uint32_t flags;   /* VFIO_USER_F_DMA_READ | VFIO_USER_F_DMA_WRITE */
	uint64_t offset;  /* file offset in the passed fd */
	uint64_t addr;    /* IOVA */
	uint64_t size;
};

struct vfio_user_dma_unmap {
	uint32_t argsz;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
};

struct vfio_user_device_info {
	uint32_t argsz;
	uint32_t flags; /* VFIO_DEVICE_FLAGS_RESET | VFIO_DEVICE_FLAGS_PCI */
	uint32_t num_regions;
	uint32_t num_irqs;
};

struct vfio_user_region_info {
	uint32_t argsz;
	uint32_t flags; /* VFIO_REGION_INFO_FLAG_* */
	uint32_t index;
	uint32_t cap_offset; /* from the start of this structure */
	uint64_t size;
	uint64_t offset;     /* mmap() offset in the passed fd */
};

struct vfio_user_cap_hdr {
	uint16_t id;
	uint16_t version;
	uint32_t next; /* from the start of struct vfio_user_region_info, 0: last */
};

struct vfio_user_sparse_area {
	uint64_t offset; /* from the region's offset */
	uint64_t size;
};

struct vfio_user_cap_sparse {
	struct vfio_user_cap_hdr hdr;
	uint32_t nr_areas;
	uint32_t reserved;
	/* followed by nr_areas struct vfio_user_sparse_area */
};

struct vfio_user_io_fds {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
	/* reply: followed by count sub-regions */
};

struct vfio_user_ioeventfd {
	uint64_t offset;
	uint64_t size; /* 0: any access size */
	uint32_t fd_index;
	uint32_t type;  /* VFIO_USER_IO_FD_TYPE_* */
	uint32_t flags; /* VFIO_USER_IOEVENTFD_* */
	uint32_t padding;
	uint64_t datamatch;
};

struct vfio_user_irq_info {
	uint32_t argsz;
	uint32_t flags; /* VFIO_IRQ_INFO_* */
	uint32_t index;
	uint32_t count;
};

struct vfio_user_irq_set {
	uint32_t argsz;
	uint32_t flags; /* VFIO_IRQ_SET_DATA_* | VFIO_IRQ_SET_ACTION_* */
	uint32_t index;
	uint32_t start;
	uint32_t count;
	/* DATA_BOOL: followed by count bytes; DATA_EVENTFD: fds by SCM_RIGHTS */
};

struct vfio_user_region_rw {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	/* READ reply and WRITE request: followed by count bytes */
};

/* Capabilities of the VERSION message's JSON (defaults per the spec). */
struct vfio_user_caps {
	uint32_t max_msg_fds;        /* default 1 */
	uint32_t max_data_xfer_size; /* default 1 MiB */
	uint32_t max_dma_maps;       /* default 65535 */
	uint64_t pgsizes;            /* default 4096 */
};

/* What a VERSION message says. */
struct vfio_user_version_info {
	uint16_t major;
	uint16_t minor;
	struct vfio_user_caps caps;
};

/* A region as GET_REGION_INFO describes it (encoder input, decoder output). */
struct vfio_user_region_desc {
	uint32_t index;
	uint32_t flags;       /* VFIO_REGION_INFO_FLAG_{READ,WRITE,MMAP} */
	uint64_t size;
	uint64_t offset;      /* mmap offset */
	uint32_t argsz;       /* decode: what the server needs for the full reply */
	bool sparse;          /* a sparse mmap capability is present */
	unsigned n_areas;     /* areas kept (at most VFIO_USER_MAX_SPARSE) */
	struct vfio_user_sparse_area areas[VFIO_USER_MAX_SPARSE];
};

/* One ioeventfd sub-region (decoder output). */
struct vfio_user_iofd {
	uint64_t offset;
	uint64_t size;
	uint32_t fd_index;
	uint32_t flags;
	uint64_t datamatch;
};

/* File descriptors that came with a message. */
struct vfio_user_fds {
	int fd[VFIO_USER_MAX_FDS];
	unsigned n;
	bool truncated; /* more arrived than fit: all were closed, n == 0 */
};

/* ---- header ---- */

void vfio_user_hdr_init(struct vfio_user_hdr *h, uint16_t id, uint16_t cmd,
			size_t payload_len, uint32_t flags);
/* Size within [16, max_size], known type. -EPROTO otherwise. */
int vfio_user_hdr_check(const struct vfio_user_hdr *h, size_t max_size);
/*
 * A reply to command cmd with message id id: -EPROTO if it is not one,
 * the peer's negative errno (-EIO when it gave none or nonsense) for an
 * error reply, else 0.
 */
int vfio_user_reply_check(const struct vfio_user_hdr *h, uint16_t id, uint16_t cmd);
/* Command name for messages ("DMA_MAP"), "unknown" if none. */
const char *vfio_user_cmd_name(unsigned cmd);

/* ---- payloads ---- */

/*
 * Validate the payload of a command a server received (sizes, argsz, counts,
 * flags, number of fds). 0, -EINVAL (malformed), -ENOTSUP (valid but not
 * implemented here) or -ENOSYS (unknown or server-to-client command).
 */
int vfio_user_req_check(unsigned cmd, const void *p, size_t len, unsigned n_fds);

/* JSON capabilities: parse len bytes (a trailing NUL is allowed). */
int vfio_user_caps_parse(const char *json, size_t len, struct vfio_user_caps *out);
/* VERSION payload into p (at most cap bytes); returns its length or -ENOSPC. */
int vfio_user_version_encode(void *p, size_t cap, const struct vfio_user_version_info *v);
int vfio_user_version_decode(const void *p, size_t len, struct vfio_user_version_info *out);

/*
 * GET_REGION_INFO reply for a request with argsz req_argsz: the sparse
 * capability is included only when it fits (else argsz says what is needed,
 * as VFIO does). Returns the payload length or -ENOSPC / -EINVAL.
 */
int vfio_user_region_info_encode(void *p, size_t cap, uint32_t req_argsz,
				 const struct vfio_user_region_desc *d);
/* Decode a reply to a request for region index with argsz req_argsz. */
int vfio_user_region_info_decode(const void *p, size_t len, uint32_t index,
				 uint32_t req_argsz, struct vfio_user_region_desc *out);

/*
 * GET_REGION_IO_FDS reply: n entries with their fd_index already set; when
 * req_argsz is too small for them, only the counts are sent. Returns the
 * payload length or -ENOSPC.
 */
int vfio_user_io_fds_encode(void *p, size_t cap, uint32_t req_argsz, uint32_t index,
			    const struct vfio_user_ioeventfd *e, unsigned n);
/*
 * Decode a reply for region index that came with n_fds fds. Keeps up to max
 * ioeventfd entries in out (others, e.g. ioregionfd or PIO, are skipped);
 * *argsz_needed is the server's argsz (retry when it exceeds req_argsz, then
 * *n_out is 0).
 */
int vfio_user_io_fds_decode(const void *p, size_t len, uint32_t index, uint32_t req_argsz,
			    unsigned n_fds, struct vfio_user_iofd *out, unsigned max,
			    unsigned *n_out, uint32_t *argsz_needed);

/* ---- socket I/O ---- */

/*
 * Send one whole message (header included) with fds as SCM_RIGHTS, retrying
 * short writes and EINTR; gives up after timeout_ms (< 0: never).
 * 0, -ETIMEDOUT, -ECONNRESET / -EPIPE (peer gone) or another -errno.
 */
int vfio_user_send(int sock, const void *msg, size_t len, const int *fds, unsigned n_fds,
		   int timeout_ms);
/*
 * Receive exactly one message into buf (cap bytes, at least the header):
 * header first, checked with vfio_user_hdr_check(buf, cap), then the body.
 * fds are received with MSG_CMSG_CLOEXEC into *fds. Returns the message
 * length, or -ECONNRESET (peer closed), -ETIMEDOUT (nothing complete within
 * timeout_ms), -EPROTO (bad header: the stream cannot be trusted any more);
 * on error no fd is left open.
 */
int vfio_user_recv(int sock, void *buf, size_t cap, struct vfio_user_fds *fds, int timeout_ms);
/* Close fds[i] for i >= from and set n = from. */
void vfio_user_fds_close(struct vfio_user_fds *fds, unsigned from);
/*
 * fd is an eventfd. The peer's doorbells and interrupts are 8-byte writes
 * from a data-path thread: on an eventfd they cannot block (EAGAIN when
 * saturated); on a pipe or socket a peer that stops reading would hang it.
 */
bool vfio_user_is_eventfd(int fd);

#endif
