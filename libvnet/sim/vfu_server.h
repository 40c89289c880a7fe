/* SPDX-License-Identifier: MIT */
/*
 * vfio-user server side: decodes a client's messages (libvnet/iommu/vfio_user_proto.h)
 * and turns them into calls on a device model. The device model owns the
 * event loop: when the client socket is readable it calls vfu_server_handle()
 * once, and it translates DMA addresses with vfu_dma_ptr(). One thread runs
 * both, so nothing here locks.
 *
 * The server survives any client: a malformed message gets an error reply
 * (or, when the stream can no longer be trusted, the connection is dropped),
 * never a crash or a hang. A partial message stalls at most
 * VFU_SERVER_RECV_TIMEOUT_MS before the client is dropped.
 */
#ifndef VN_VFU_SERVER_H
#define VN_VFU_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#define VFU_SERVER_RECV_TIMEOUT_MS 1000
#define VFU_MAX_REGIONS 9      /* VFIO PCI: BAR0-5, ROM, config, VGA */
#define VFU_MAX_IRQ_INDEX 5    /* INTx, MSI, MSI-X, ERR, REQ */
#define VFU_MAX_SPARSE 4
#define VFU_MAX_IOEVENTFDS 33

struct vfu_region {
	uint64_t size;          /* 0: region absent */
	uint32_t flags;         /* VN_REGION_READ | VN_REGION_WRITE | VN_REGION_MMAP */
	int mmap_fd;            /* with VN_REGION_MMAP: fd passed with REGION_INFO */
	uint64_t mmap_offset;   /* file offset of the region's byte 0 in mmap_fd */
	unsigned n_sparse;      /* mappable areas (VFIO_REGION_INFO_CAP_SPARSE_MMAP) */
	struct { uint64_t off, size; } sparse[VFU_MAX_SPARSE];
	/* Writes of exactly (off, size) may signal fd instead of sending a
	 * message (VFIO_USER_DEVICE_GET_REGION_IO_FDS, type ioeventfd). */
	unsigned n_ioeventfd;
	struct { uint64_t off; uint32_t size; int fd; } ioeventfd[VFU_MAX_IOEVENTFDS];
};

struct vfu_dev_ops {
	/* Region access by the client; return 0 or -errno (sent back as error). */
	int (*region_read)(void *dev, unsigned idx, uint64_t off, void *buf, uint32_t len);
	int (*region_write)(void *dev, unsigned idx, uint64_t off, const void *buf, uint32_t len);
	/*
	 * The client routed vectors [start, start+count) of IRQ index idx to
	 * eventfds (fds[i] may be -1: unrouted); count == 0: all of idx disabled.
	 * The server owns the fds and keeps them open until they are replaced
	 * or the client disconnects (each of which is announced by another
	 * call).
	 */
	void (*set_irqs)(void *dev, unsigned idx, unsigned start, unsigned count, const int *fds);
	/*
	 * Optional: the client masked (masked true) or unmasked vectors
	 * [start, start+count) of IRQ index idx (SET_IRQS with DATA_NONE and
	 * ACTION_MASK / ACTION_UNMASK; the range is checked against irq_count).
	 * Returns 0 or -errno (sent back); without it such requests get ENOTSUP.
	 */
	int (*irq_mask)(void *dev, unsigned idx, unsigned start, unsigned count, bool masked);
	/*
	 * VFIO_USER_DEVICE_RESET (client_gone false), and the client going away
	 * (true). Interrupt routing survives a DEVICE_RESET, as it does in
	 * kernel VFIO, and so should the PCI configuration state that vfio-pci
	 * saves and restores around a function reset (command register, MSI-X
	 * control); a client going away is followed by set_irqs(idx, 0, 0,
	 * NULL) for each routed index, and the next one finds the device as new.
	 */
	void (*reset)(void *dev, bool client_gone);
	/* [iova, iova+len) is about to be unmapped: drop pointers into it. */
	void (*dma_unmap)(void *dev, uint64_t iova, uint64_t len);
};

struct vfu_server_cfg {
	const struct vfu_dev_ops *ops;
	void *dev;
	struct vfu_region regions[VFU_MAX_REGIONS]; /* by VFIO region index */
	uint32_t irq_count[VFU_MAX_IRQ_INDEX];      /* vectors per IRQ index */
	uint64_t dma_budget; /* bytes of client memory all DMA windows may span; 0: no limit */
};

struct vfu_server;

/* cfg is copied; the fds in it stay owned by the caller. */
int vfu_server_new(const struct vfu_server_cfg *cfg, struct vfu_server **out);
void vfu_server_free(struct vfu_server *s);

/* Start serving a connected client (takes ownership of fd). */
int vfu_server_attach(struct vfu_server *s, int fd);
/* The attached client's fd (for the caller's poll set), or -1. */
int vfu_server_fd(const struct vfu_server *s);
/*
 * Read and answer one message. Returns 0 when answered (also when the answer
 * was an error reply), -ECONNRESET when the client is gone or was dropped
 * (the device was reset, DMA unmapped and IRQs released; the server is ready
 * for the next vfu_server_attach()).
 */
int vfu_server_handle(struct vfu_server *s);

/* Pointer to [iova, iova+len) in client memory, or NULL if not all mapped
 * (or in memory the client mapped without an fd: see vfu_dma_rw()). */
void *vfu_dma_ptr(struct vfu_server *s, uint64_t iova, uint64_t len, bool write);

/*
 * Copy [iova, iova+len) of client memory to (write) or from buf: directly
 * when the client passed an fd for it, else with VFIO_USER_DMA_WRITE /
 * DMA_READ requests, in order, each waited for (VFU_SERVER_RECV_TIMEOUT_MS).
 * Client commands arriving meanwhile are kept: vfu_server_pending() says
 * vfu_server_handle() has work without the socket being readable.
 * 0, -EFAULT (not mapped so, or the client refused) or -EIO (the client did
 * not answer: the next vfu_server_handle() drops it).
 */
int vfu_dma_rw(struct vfu_server *s, uint64_t iova, void *buf, uint64_t len, bool write);
bool vfu_server_pending(const struct vfu_server *s);

#endif
