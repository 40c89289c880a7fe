/* SPDX-License-Identifier: MIT */
/*
 * Test fixture for test_vfio_user: the vfio-user server core
 * (sim/vfu_server.c) with a tiny fake device behind it.
 *
 * The fake device: BAR0 is a 16 KiB memfd (sealed against shrinking),
 * mappable in [0x1000, 0x2000) (sparse mmap), with two doorbells
 * (ioeventfds) at 0x3000 and 0x3004;
 * config space (region 7) is 256 bytes in memory, and a write of an IOVA to
 * its offset 0x40 makes the device read 16 bytes there and write 16 bytes
 * after them through vfu_dma_ptr(). MSI-X has 4 vectors.
 */
#ifndef VN_TEST_VFIO_USER_FAKE_H
#define VN_TEST_VFIO_USER_FAKE_H

#include <linux/vfio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/vfu_server.h"

#define BAR_SIZE 0x4000
#define PROBE_REG 0x40
#define MSIX VFIO_PCI_MSIX_IRQ_INDEX
#define INTX VFIO_PCI_INTX_IRQ_INDEX
/* Counters the server thread bumps, read by the test thread. */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)

struct fake {
	uint8_t cfg[256];
	uint8_t *bar;
	int memfd;
	int kick[2];
	int irq[4];
	unsigned reads, writes, resets, unmaps;
	unsigned resets_gone; /* of resets: the client went away (else DEVICE_RESET) */
	unsigned mask[4]; /* the last irq_mask(): index, start, count, masked */
	struct vfu_server *srv;
	uint8_t dma_seen[16];
	bool dma_ok;
};

struct rig {
	struct fake f;
	struct vfu_server *srv;
	pthread_t thread;
	bool running;  /* thread serves the client of test_vfio_user.c open_client() */
	int sock;      /* that client's end of the socketpair */
	int fds_before;
};

/* cmocka setup/teardown: a fresh server and fake device per test; the
 * teardown checks no descriptor the server received stayed open. */
int rig_setup(void **state);
int rig_teardown(void **state);

#endif
