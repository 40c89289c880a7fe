/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the vfio-user server core (libvnet/sim/vfu_server.c)
 * against a hostile client: the input is the client's byte stream, sent
 * over a socketpair message by message (cut where each header says; a
 * memfd rides with DMA_MAP unless the header's reserved error field is
 * odd, eventfds with SET_IRQS, as many as that field asks), each handled by vfu_server_handle()
 * and its reply drained, with vfu_dma_ptr() probed in between. The device
 * has a plain BAR0, a mappable BAR2 with an ioeventfd, config space and
 * MSI-X/INTx vectors, so every handler is reached. The server must never
 * crash, hang or leak an fd it was given. Build with clang:
 * `make fuzz-vfu_server` (tests/fuzz/local.mk); seeds in
 * tests/fuzz/vfu_server-seeds/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iommu/devio.h"
#include "iommu/vfio_user_proto.h"
#include "sim/vfu_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REG_SIZE 4096

static uint8_t regs[VFU_MAX_REGIONS][REG_SIZE];
static int mem_fd = -1, evt_fd[4] = { -1, -1, -1, -1 };

static int f_read(void *dev, unsigned idx, uint64_t off, void *buf, uint32_t len)
{
	(void)dev;
	memcpy(buf, regs[idx] + off, len); /* the server checked the bounds */
	return 0;
}

static int f_write(void *dev, unsigned idx, uint64_t off, const void *buf, uint32_t len)
{
	(void)dev;
	memcpy(regs[idx] + off, buf, len);
	return 0;
}

static int f_irq_mask(void *dev, unsigned idx, unsigned start, unsigned count, bool masked)
{
	(void)dev;
	(void)start;
	(void)count;
	(void)masked;
	return idx == 0 ? 0 : -ENOTSUP; /* only INTx masks, like the sim */
}

static const struct vfu_dev_ops f_ops = {
	.region_read = f_read, .region_write = f_write, .irq_mask = f_irq_mask,
};

/* The server and the fds messages carry, made once. */
static struct vfu_server *server(void)
{
	static struct vfu_server *s;
	struct vfu_server_cfg cfg = { .ops = &f_ops };

	if (s)
		return s;
	mem_fd = memfd_create("fuzz-mem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem_fd < 0 || ftruncate(mem_fd, 1 << 20))
		abort();
	for (int i = 0; i < 4; i++)
		if ((evt_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			abort();
	cfg.regions[0] = (struct vfu_region){ .size = REG_SIZE, .mmap_fd = -1,
					      .flags = VN_REGION_READ | VN_REGION_WRITE };
	cfg.regions[2] = (struct vfu_region){
		.size = REG_SIZE, .flags = VN_REGION_READ | VN_REGION_WRITE | VN_REGION_MMAP,
		.mmap_fd = mem_fd, .n_sparse = 1, .sparse = { { 0, REG_SIZE } },
		.n_ioeventfd = 1, .ioeventfd = { { 0x100, 4, evt_fd[0] } },
	};
	cfg.regions[7] = (struct vfu_region){ .size = 256, .flags = VN_REGION_READ, .mmap_fd = -1 };
	cfg.irq_count[0] = 1;
	cfg.irq_count[2] = 8;
	if (vfu_server_new(&cfg, &s))
		abort();
	return s;
}

static void drain(int fd)
{
	static uint8_t buf[65536];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* What rides with a message: the memfd for DMA_MAP (none when the
 * header's error field is odd: memory the client keeps), eventfds
 * otherwise. */
static unsigned message_fds(const struct vfio_user_hdr *h, int *fds)
{
	unsigned n = h->cmd == VFIO_USER_DMA_MAP ? !(h->error & 1) : h->error % 8;

	for (unsigned i = 0; i < n; i++)
		fds[i] = h->cmd == VFIO_USER_DMA_MAP ? mem_fd : evt_fd[i % 4];
	return n;
}

/* The lowest free descriptor: after a session it must be what it was
 * before, or the server kept one of the client's fds (fds are allocated
 * lowest first, so a leak shows up here). */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfu_server *s = server();
	int sv[2], base = lowest_free_fd();
	size_t done = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	if (vfu_server_attach(s, sv[1])) {
		close(sv[0]);
		return 0;
	}
	while (done < size && vfu_server_fd(s) >= 0) {
		struct vfio_user_hdr h = { 0 };
		size_t len = size - done;
		int fds[8];
		unsigned n = 0;

		if (len >= sizeof(h)) {
			memcpy(&h, data + done, sizeof(h));
			if (h.size >= sizeof(h) && h.size <= len)
				len = h.size;
			n = message_fds(&h, fds);
		}
		if (vfio_user_send(sv[0], data + done, len, fds, n, 100))
			break;
		done += len;
		drain(sv[0]);
		if (len == h.size && vfu_server_handle(s) == 0 && len >= 32) {
			uint64_t iova, l;

			memcpy(&iova, data + done - 16, 8);
			memcpy(&l, data + done - 8, 8);
			vfu_dma_ptr(s, iova, l % 8192, l & 1);
		}
	}
	/* EOF after the input: a partial last message ends the session at once. */
	shutdown(sv[0], SHUT_WR);
	while (vfu_server_fd(s) >= 0) {
		drain(sv[0]);
		vfu_server_handle(s);
	}
	close(sv[0]);
	if (lowest_free_fd() != base)
		abort(); /* an fd the client passed stayed open */
	return 0;
}
