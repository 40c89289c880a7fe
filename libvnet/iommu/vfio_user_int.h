/* SPDX-License-Identifier: MIT */
/*
 * vfio-user client, private to vfio_user.c (the devio ops and open) and
 * vfio_user_conn.c (the connection: vu_call, the negotiation and region
 * caches of open, the ioeventfd kicks). See vfio_user.c for the design.
 */
#ifndef VNET_IOMMU_VFIO_USER_INT_H
#define VNET_IOMMU_VFIO_USER_INT_H

#include <linux/vfio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommu/devio.h"
#include "iommu/vfio_user_proto.h"

#define VU_MAX_REGIONS VFIO_PCI_NUM_REGIONS
#define VU_MAX_KICKS 64
#define VU_MAX_IRQ_VECTORS 2048 /* PCI 3.0 §6.8.2: MSI-X Table Size is 11 bits */

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
	int mmap_fd;           /* checked at open: holds the areas, cannot shrink */
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
	char why[160];         /* the first reason it broke, set before broken */
	uint16_t next_id;
	uint32_t max_xfer;     /* largest REGION_READ/WRITE count */
	uint32_t peer_max_fds; /* fds the server takes in one message */
	uint32_t max_dma_maps; /* DMA windows the server keeps (its max_dma_maps) */
	uint32_t n_dma_maps;   /* windows mapped now */
	uint32_t dev_flags;    /* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions, num_irqs;
	struct vu_region regions[VU_MAX_REGIONS];
	struct vn_iova_alloc iova;
	void (*release)(void *arg);
	void *release_arg;
	uint8_t *buf;          /* one message, VFIO_USER_MAX_MSG bytes */
	struct vfio_user_fds rfds; /* fds of the last reply */
};

static inline void *vu_payload(struct vu_dev *d)
{
	return d->buf + sizeof(struct vfio_user_hdr);
}

/* One request/reply with d->lock held (vfio_user_conn.c says how). */
int vu_call(struct vu_dev *d, uint16_t cmd, size_t len, const int *fds, unsigned n_fds,
	    unsigned max_rfds, size_t *rlen);

/* Open, with d->lock held: negotiation, the per-region caches, the IOVA space. */
int vu_setup(struct vu_dev *d);

/* 0: signalled an ioeventfd; 1: no sub-region matches (send a message). */
int vu_kick(const struct vu_region *rg, uint64_t off, const void *buf, size_t len);

#endif
