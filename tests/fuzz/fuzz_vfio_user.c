/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for everything libvnet parses from a vfio-user peer.
 * The first input byte picks the target, the rest is the peer's bytes:
 *   0  VERSION capabilities JSON           (vfio_user_caps_parse)
 *   1  GET_REGION_INFO reply               (vfio_user_region_info_decode)
 *   2  GET_REGION_IO_FDS reply             (vfio_user_io_fds_decode)
 *   3  any command payload                 (vfio_user_req_check)
 *   *  a client byte stream fed to the server core over a socketpair,
 *      message by message (a memfd rides with DMA_MAP, eventfds with
 *      SET_IRQS), vfu_dma_ptr() probed in between, replies drained.
 * Build with clang: `make fuzz-vfio-user` (libvnet/iommu/local.mk).
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

static uint8_t regs[2][4096];

static int f_read(void *dev, unsigned idx, uint64_t off, void *buf, uint32_t len)
{
	memcpy(buf, regs[idx & 1] + off, len); /* the server checked the bounds */
	return 0;
}

static int f_write(void *dev, unsigned idx, uint64_t off, const void *buf, uint32_t len)
{
	memcpy(regs[idx & 1] + off, buf, len);
	return 0;
}

static const struct vfu_dev_ops f_ops = { .region_read = f_read, .region_write = f_write };

static struct vfu_server *server(void)
{
	static struct vfu_server *s;
	struct vfu_server_cfg cfg = { .ops = &f_ops };

	if (s)
		return s;
	cfg.regions[0] = (struct vfu_region){ .size = 4096, .flags = VN_REGION_READ | VN_REGION_WRITE,
					      .mmap_fd = -1 };
	cfg.regions[7] = (struct vfu_region){ .size = 256, .flags = VN_REGION_READ, .mmap_fd = -1 };
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

/* A memfd for DMA_MAP messages to map, and eventfds for SET_IRQS. */
static void fuzz_fds(int *fds, unsigned n)
{
	static int mem = -1, evt[4] = { -1, -1, -1, -1 };

	if (mem < 0) {
		mem = memfd_create("fuzz-dma", MFD_CLOEXEC);
		if (mem < 0 || ftruncate(mem, 1 << 20))
			abort();
		for (int i = 0; i < 4; i++)
			evt[i] = eventfd(0, EFD_CLOEXEC);
	}
	fds[0] = mem;
	for (unsigned i = 1; i < n; i++)
		fds[i] = evt[i % 4];
}

/*
 * Send the input as messages: cut where each header says (the rest goes
 * raw), with the memfd on DMA_MAP and eventfds on SET_IRQS so the DMA
 * table and IRQ code are reached, and probe vfu_dma_ptr() in between.
 */
static void feed_server(const uint8_t *data, size_t size)
{
	struct vfu_server *s = server();
	int sv[2];
	size_t done = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	if (vfu_server_attach(s, sv[1])) {
		close(sv[0]);
		return;
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
			if (h.cmd == VFIO_USER_DMA_MAP)
				n = 1;
			else if (h.cmd == VFIO_USER_DEVICE_SET_IRQS)
				n = h.error % 8; /* the reserved field picks a count */
		}
		if (n)
			fuzz_fds(fds, n);
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfio_user_region_desc desc;
	struct vfio_user_iofd io[8];
	struct vfio_user_caps caps;
	uint32_t needed;
	unsigned n;

	if (size < 1)
		return 0;
	switch (data[0]) {
	case 0:
		vfio_user_caps_parse((const char *)data + 1, size - 1, &caps);
		break;
	case 1:
		vfio_user_region_info_decode(data + 1, size - 1, 0, 4096, &desc);
		break;
	case 2:
		vfio_user_io_fds_decode(data + 1, size - 1, 0, 4096, 4, io, 8, &n, &needed);
		break;
	case 3:
		if (size >= 3)
			vfio_user_req_check(data[1] % 16, data + 3, size - 3, data[2] % 4);
		break;
	default:
		feed_server(data + 1, size - 1);
		break;
	}
	return 0;
}
