/* SPDX-License-Identifier: MIT */
/*
 * A fake virtio transport with a tiny virtio-net device model behind it, for
 * the virtio-net unit tests. Its ring handling is written here, separately
 * from libvnet's: it reads avail rings and writes used rings in the DMA
 * memory the driver allocated through it. The control queue is served
 * synchronously from kick().
 */
#ifndef FAKE_VTR_H
#define FAKE_VTR_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "virtio/transport.h"

#define FAKE_MAXQ 9
#define FAKE_IOVA 0x100000000ull

enum fake_ctrl { FAKE_CTRL_OK, FAKE_CTRL_ERR, FAKE_CTRL_SILENT };

struct fake_q {
	uint16_t max, size, msix, notify_value;
	uint64_t desc, driver, device;
	bool enabled;
	uint16_t dev_avail, dev_used; /* the device's own indices */
	unsigned kicks;
};

struct fake_vtr {
	struct vn_vtr t;
	uint8_t status;
	bool saw_failed, refuse_features_ok, page_mode, msix_refuse;
	uint64_t offered, accepted;
	uint8_t cfg[32];
	uint8_t generation;
	uint16_t nq;
	struct fake_q q[FAKE_MAXQ];
	struct vn_dma_mem *mem;   /* the last DMA memory allocated through us */
	unsigned dma_allocs;
	enum fake_ctrl ctrl_mode;
	uint16_t ctrl_q;
	uint8_t ctrl_cmd[1024]; /* a whole RSS_CONFIG fits */
	uint32_t ctrl_len;
	unsigned ctrl_cmds, health_reads;
	int alive_rc;
	/* Legacy INTx, offered when intx is set (there is never MSI-X). The
	 * engine thread calls isr_read() (returns and clears isr) and
	 * intx_unmask(), logged in order as 'r' and 'u' (n_intx_log atomic). */
	bool intx;
	int intx_fd; /* the routed line, -1 when none */
	uint8_t isr;
	char intx_log[32];
	unsigned n_intx_log;
};

/* A device offering VERSION_1 | ACCESS_PLATFORM | extra, with nq queues of max entries. */
void fake_init(struct fake_vtr *f, uint64_t extra, uint16_t nq, uint16_t max);
void fake_set_cfg16(struct fake_vtr *f, unsigned off, uint16_t v);

/* Device-side ring access. */
void *fake_va(struct fake_vtr *f, uint64_t iova);
struct vring_desc *fake_desc(struct fake_vtr *f, unsigned qi, unsigned id);
/* Next available head of queue qi, or -1. */
int fake_pop(struct fake_vtr *f, unsigned qi);
/* Write a used entry (raw: tests may lie). */
void fake_used(struct fake_vtr *f, unsigned qi, uint32_t id, uint32_t len);
/* avail->idx of queue qi as the driver published it. */
uint16_t fake_avail_idx(struct fake_vtr *f, unsigned qi);

#endif
