/* SPDX-License-Identifier: MIT */
/*
 * A register-level fake of the Intel 82574 behind a fake devio, for the
 * e1000e driver's unit tests. BAR0 is memory; the registers with side
 * effects are modelled: CTRL.RST self-clears (and reloads RAL0/RAH0),
 * MDIC answers at once, ICR clears on read and on writing 1s, IMS/IMC set
 * and clear the mask, the statistics registers clear on read. The device
 * side of the rings runs only when the test calls fe_tx() or fe_rx().
 */
#ifndef VNET_FAKE_E1000E_H
#define VNET_FAKE_E1000E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommu/devio.h"

#define FE_BAR_LEN 0x20000u

struct fe {
	struct vn_devio d;
	uint8_t cfg[256];
	uint32_t reg[FE_BAR_LEN / 4];
	uint8_t perm_mac[6];      /* the EEPROM's (words 0-2 through EERD) */
	bool link;                /* STATUS.LU */
	bool no_autoload;         /* CTRL.RST empties RAR[0] instead of loading it */
	uint32_t msix, msi;       /* vectors offered */
	unsigned resets;          /* CTRL.RST writes */
	unsigned irq_idx, irq_count; /* the last set_irqs() */
	struct vn_dma_mem *mem;   /* what the driver mapped */
	unsigned rdt_writes, tdt_writes;
};

/* A fake 82574 (ids 8086:10d3, station address 52:54:00:12:34:56). */
void fe_init(struct fe *f);

/* Register value (no side effects) and plain store. */
uint32_t fe_reg(struct fe *f, uint32_t off);
void fe_set(struct fe *f, uint32_t off, uint32_t v);

/* Device memory at a device address (asserts it is mapped). */
void *fe_dma(struct fe *f, uint64_t iova, size_t len);

/*
 * Send what the TX ring holds from TDH to TDT: each frame's bytes go to
 * out (concatenated, at most cap bytes), lens[] gets each length; DD is
 * written back where RS asks. Returns the number of frames.
 */
unsigned fe_tx(struct fe *f, uint8_t *out, size_t cap, uint16_t *lens, unsigned max);

/* Deliver one frame into the descriptor at RDH (legacy format): 0, or -1
 * when the ring has no descriptor (RDH == RDT). errors/status_clear let a
 * test write back a bad frame (status EOP cleared: a frame that goes on). */
int fe_rx(struct fe *f, const void *frame, uint16_t len, uint8_t errors, uint8_t status_clear);

/* Write back an arbitrary RX descriptor at index i (hostile device). */
void fe_rx_raw(struct fe *f, uint32_t i, uint16_t len, uint8_t status);

#endif
