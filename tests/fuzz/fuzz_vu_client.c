/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the vfio-user client (libvnet/iommu/vfio_user*.c)
 * against a hostile server: vn_vfio_user_open_fd() runs against a thread
 * that answers each request with the next record of the input, then, if
 * the open succeeded, every region is read, mapped and touched, IRQ info
 * asked for and a DMA window mapped and unmapped. The server's memory is a
 * 64 KiB memfd sealed against shrinking (so the client may map it), and it
 * can also pass an eventfd: whatever the records say, the client must not
 * crash, take a signal (a SIGBUS from touching a mapping is a finding),
 * hang, or keep an fd after close. Run with clang: `make fuzz-vu_client`
 * (tests/fuzz/local.mk); seeds in tests/fuzz/vu_client-seeds/.
 *
 * A record: u8 how, u16 length (little endian), length payload bytes.
 *   how bit 0: the payload is the whole message, header included (else a
 *              reply header matching the request is put in front of it)
 *   how bit 1: pass the memfd      how bit 2: pass the eventfd
 *   how bit 3: an error reply (errno 22)
 * When the records run out the server hangs up; a reply the client waits
 * for in vain ends when the server gives up on the next request (200 ms).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iommu/devio.h"
#include "iommu/dma.h"
#include "iommu/vfio_user_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE 0x10000

static int mem_fd = -1, evt_fd = -1;

struct script {
	const uint8_t *data;
	size_t size;
	int sock;
};

static void *serve(void *arg)
{
	struct script *sc = arg;
	uint8_t *in = malloc(VFIO_USER_MAX_MSG), out[16 + 65535];
	size_t at = 0;

	while (in && at + 3 <= sc->size) {
		struct vfio_user_fds fds;
		struct vfio_user_hdr h;
		uint8_t how = sc->data[at];
		size_t len = (size_t)sc->data[at + 1] | (size_t)sc->data[at + 2] << 8, off = 0;
		int pass[2];
		unsigned n = 0;

		at += 3;
		len = len < sc->size - at ? len : sc->size - at;
		if (vfio_user_recv(sc->sock, in, VFIO_USER_MAX_MSG, &fds, 200) < 0)
			break;
		vfio_user_fds_close(&fds, 0);
		memcpy(&h, in, sizeof(h));
		if (!(how & 1)) {
			vfio_user_hdr_init(&h, h.id, h.cmd, len, VFIO_USER_F_TYPE_REPLY |
					   (how & 8 ? VFIO_USER_F_ERROR : 0));
			h.error = how & 8 ? EINVAL : 0;
			memcpy(out, &h, sizeof(h));
			off = sizeof(h);
		}
		memcpy(out + off, sc->data + at, len);
		at += len;
		if (how & 2)
			pass[n++] = mem_fd;
		if (how & 4)
			pass[n++] = evt_fd;
		if (vfio_user_send(sc->sock, out, off + len, pass, n, 200))
			break;
	}
	close(sc->sock);
	free(in);
	return NULL;
}

static void release(void *arg)
{
	pthread_join(*(pthread_t *)arg, NULL);
}

/* Everything a driver would do with a device that opened. */
static void exercise(struct vn_devio *d)
{
	struct vn_dma_mem m;
	uint32_t count;
	uint8_t buf[64];

	for (unsigned i = 0; i < 9; i++) {
		struct vn_region_info ri;
		void *va;

		if (d->ops->region_info(d, i, &ri) || !ri.size)
			continue;
		vn_devio_read(d, i, 0, buf, ri.size < sizeof(buf) ? ri.size : sizeof(buf));
		vn_devio_write(d, i, 0, buf, 4);
		/* each of the first 16 pages that maps is touched: a SIGBUS is a finding */
		for (uint64_t off = 0; (ri.flags & VN_REGION_MMAP) && off < ri.size && off < 0x10000;
		     off += 4096)
			if (d->ops->region_map(d, i, off, 1, &va) == 0)
				buf[0] = *(volatile uint8_t *)va;
	}
	for (unsigned i = 0; i < 5; i++)
		d->ops->irq_info(d, i, &count);
	if (vn_dma_alloc(&m, 4096, "fuzz-dma") == 0) {
		if (d->ops->dma_map(d, &m) == 0)
			d->ops->dma_unmap(d, &m);
		vn_dma_free(&m);
	}
}

/* See fuzz_vfu_server.c: a leaked fd shows up as a higher lowest free one. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script sc = { .data = data, .size = size };
	struct vn_devio *d = NULL;
	pthread_t thread;
	int sv[2], base;

	if (mem_fd < 0) {
		mem_fd = memfd_create("fuzz-bar", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		evt_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (mem_fd < 0 || evt_fd < 0 || ftruncate(mem_fd, MEM_SIZE) ||
		    fcntl(mem_fd, F_ADD_SEALS, F_SEAL_SHRINK))
			abort();
	}
	base = lowest_free_fd();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	sc.sock = sv[1];
	if (pthread_create(&thread, NULL, serve, &sc)) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	/* release() joins the thread when the client closes, also on failure. */
	if (vn_vfio_user_open_fd(sv[0], release, &thread, &d) == 0) {
		exercise(d);
		d->ops->close(d);
	}
	if (lowest_free_fd() != base)
		abort(); /* the client kept an fd */
	return 0;
}
