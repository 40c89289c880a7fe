/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user client against a scripted server that misbehaves on
 * purpose: malformed and out-of-sync replies, a non-PCI device, a wrong
 * protocol version, a hang-up in the middle of open(), DATAMATCH
 * ioeventfds (which the server core in sim/ never hands out), and the
 * hostile sizes, offsets, fds and counts of test_open_refused().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iommu/devio.h"
#include "iommu/dma.h"
#include "iommu/vfio_user_proto.h"
#include "log.h"

enum mode {
	GOOD,
	BAD_READ,     /* REGION_READ replies with one byte less */
	BAD_ID,       /* REGION_READ replies with another message id */
	NOT_PCI,      /* DEVICE_GET_INFO without VFIO_DEVICE_FLAGS_PCI */
	BAD_VERSION,  /* VERSION answered with major 1 */
	HANGUP,       /* the server goes away at GET_REGION_INFO */
	BAD_IOFD,     /* an ioeventfd beyond the region */
	/* Hostile replies to the open (test_open_refused): */
	SHORT_FILE,   /* BAR0 mappable, its file shorter than the region */
	NOT_FILE,     /* BAR0 mappable through an eventfd */
	BAD_OFFSET,   /* BAR0's mmap offset wraps around */
	ODD_OFFSET,   /* BAR0's mmap offset is not page aligned */
	SPARSE_OUT,   /* a sparse area beyond the region */
	CAP_LOOP,     /* the capability chain points back at itself */
	STRAY_FD,     /* an fd with the (not mappable) config region */
	INFO_FD,      /* an fd with DEVICE_GET_INFO */
	MISSING_FD,   /* an ioeventfd names an fd that did not come */
	KICK_FILE,    /* an ioeventfd that is a memfd, not an eventfd */
	SHORT_INFO,   /* DEVICE_GET_INFO reply of 8 bytes */
	SHORT_VERSION, /* VERSION reply of 2 bytes */
	NO_4K,        /* pgsizes without 4 KiB */
	NO_DMA,       /* max_dma_maps 0 */
	/* Hostile after a good open: */
	MAPPABLE,     /* BAR0 mappable through a sealed memfd of the right size */
	UNSEALED,     /* the same, but the memfd may still shrink */
	HUGE_IRQS,    /* GET_IRQ_INFO says 2^30 vectors */
};

#define SCRIPT_DMA_MAPS 2 /* max_dma_maps the script advertises */

struct script {
	enum mode mode;
	int sock;
	int efd[2];
	int mem;          /* BAR0's memfd (mappable modes) */
	unsigned writes;  /* __atomic: REGION_WRITE messages seen */
	pthread_t thread;
	bool released;
};


/* GET_REGION_INFO: BAR0 and config space, BAR0 mappable in some modes. */
static size_t region_info(struct script *sc, const uint8_t *p, uint8_t *out, int *sfds,
			  unsigned *n_sfds)
{
	struct vfio_user_region_info q;
	struct vfio_user_region_desc d = { 0 };
	bool bar_fd = sc->mode >= SHORT_FILE && sc->mode <= CAP_LOOP;
	int n;

	memcpy(&q, p, sizeof(q));
	d.index = q.index;
	if (q.index != 0 && q.index != VFIO_PCI_CONFIG_REGION_INDEX)
		return (size_t)vfio_user_region_info_encode(out, 1024, q.argsz, &d);
	d.size = q.index ? 256 : 0x4000;
	d.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	if (q.index == 0 && (bar_fd || sc->mode == MAPPABLE || sc->mode == UNSEALED)) {
		d.flags |= VFIO_REGION_INFO_FLAG_MMAP;
		sfds[(*n_sfds)++] = sc->mode == NOT_FILE ? sc->efd[0] : sc->mem;
		d.offset = sc->mode == BAD_OFFSET ? UINT64_MAX - 0xfff :
			   sc->mode == ODD_OFFSET ? 0x800 : 0;
		if (sc->mode == SPARSE_OUT || sc->mode == CAP_LOOP) {
			d.sparse = true;
			d.n_areas = 1;
			d.areas[0] = (struct vfio_user_sparse_area){ 0x1000, 0x1000 };
			if (sc->mode == SPARSE_OUT)
				d.areas[0].size = 0x4000;
		}
	}
	if (q.index && sc->mode == STRAY_FD)
		sfds[(*n_sfds)++] = sc->efd[0];
	n = vfio_user_region_info_encode(out, 1024, q.argsz, &d);
	if (sc->mode == CAP_LOOP && n > (int)sizeof(q)) {
		/* the sparse capability's next: its own offset */
		uint32_t self = sizeof(q);

		memcpy(out + sizeof(q) + offsetof(struct vfio_user_cap_hdr, next), &self, 4);
	}
	return (size_t)n;
}

/* The reply payload for one command; fds to pass in sfds. */
static size_t answer(struct script *sc, const struct vfio_user_hdr *h, const uint8_t *p,
		     uint8_t *out, int *sfds, unsigned *n_sfds)
{
	switch (h->cmd) {
	case VFIO_USER_VERSION: {
		struct vfio_user_version_info v = {
			.major = sc->mode == BAD_VERSION, .minor = 1,
			.caps = { .max_msg_fds = 4, .max_data_xfer_size = 64,
				  .max_dma_maps = sc->mode == NO_DMA ? 0 : SCRIPT_DMA_MAPS,
				  .pgsizes = sc->mode == NO_4K ? 0x200000 : 4096 },
		};
		int n = vfio_user_version_encode(out, 1024, &v);

		return sc->mode == SHORT_VERSION ? 2 : (size_t)n;
	}
	case VFIO_USER_DEVICE_GET_INFO: {
		struct vfio_user_device_info di = {
			.argsz = sizeof(di), .num_regions = 9, .num_irqs = 5,
			.flags = VFIO_DEVICE_FLAGS_RESET | (sc->mode == NOT_PCI ? 0 : VFIO_DEVICE_FLAGS_PCI),
		};
		memcpy(out, &di, sizeof(di));
		if (sc->mode == INFO_FD) {
			sfds[0] = sc->efd[0];
			*n_sfds = 1;
		}
		return sc->mode == SHORT_INFO ? 8 : sizeof(di);
	}
	case VFIO_USER_DEVICE_GET_REGION_INFO:
		return region_info(sc, p, out, sfds, n_sfds);
	case VFIO_USER_DEVICE_GET_REGION_IO_FDS: {
		struct vfio_user_io_fds q;
		struct vfio_user_ioeventfd e[2] = {
			{ .offset = 0x3000, .size = 2, .fd_index = 0,
			  .flags = VFIO_USER_IOEVENTFD_DATAMATCH, .datamatch = 1 },
			{ .offset = 0x3000, .size = 2, .fd_index = 1,
			  .flags = VFIO_USER_IOEVENTFD_DATAMATCH, .datamatch = 2 },
		};
		unsigned n = 0;

		memcpy(&q, p, sizeof(q));
		if (q.index == 0) {
			n = 2;
			if (sc->mode == BAD_IOFD)
				e[1].offset = 0x3fff;
			sfds[0] = sc->efd[0];
			sfds[1] = sc->mode == KICK_FILE ? sc->mem : sc->efd[1];
			*n_sfds = sc->mode == MISSING_FD ? 1 : 2;
		}
		return (size_t)vfio_user_io_fds_encode(out, 1024, q.argsz, q.index, e, n);
	}
	case VFIO_USER_REGION_READ: {
		struct vfio_user_region_rw rw;

		memcpy(&rw, p, sizeof(rw));
		memcpy(out, &rw, sizeof(rw));
		memset(out + sizeof(rw), 0x77, rw.count);
		return sizeof(rw) + rw.count - (sc->mode == BAD_READ);
	}
	case VFIO_USER_REGION_WRITE:
		__atomic_fetch_add(&sc->writes, 1, __ATOMIC_RELEASE);
		memcpy(out, p, sizeof(struct vfio_user_region_rw));
		return sizeof(struct vfio_user_region_rw);
	case VFIO_USER_DEVICE_GET_IRQ_INFO: {
		struct vfio_user_irq_info q;

		memcpy(&q, p, sizeof(q));
		q.count = sc->mode == HUGE_IRQS ? 1u << 30 : 1;
		memcpy(out, &q, sizeof(q));
		return sizeof(q);
	}
	default:
		return 0;
	}
}

static void *script_main(void *arg)
{
	struct script *sc = arg;
	uint8_t *in = malloc(VFIO_USER_MAX_MSG), out[2048];
	struct vfio_user_fds fds;

	if (!in)
		return NULL;
	for (;;) {
		struct vfio_user_hdr h;
		int sfds[4];
		unsigned n_sfds = 0;
		size_t len;
		int n = vfio_user_recv(sc->sock, in, VFIO_USER_MAX_MSG, &fds, 5000);

		if (n < 0)
			break;
		vfio_user_fds_close(&fds, 0);
		memcpy(&h, in, sizeof(h));
		if (sc->mode == HANGUP && h.cmd == VFIO_USER_DEVICE_GET_REGION_INFO)
			break;
		len = answer(sc, &h, in + sizeof(h), out + sizeof(h), sfds, &n_sfds);
		if (sc->mode == BAD_ID && h.cmd == VFIO_USER_REGION_READ)
			h.id++;
		vfio_user_hdr_init(&h, h.id, h.cmd, len, VFIO_USER_F_TYPE_REPLY);
		memcpy(out, &h, sizeof(h));
		if (vfio_user_send(sc->sock, out, h.size, sfds, n_sfds, 5000))
			break;
	}
	close(sc->sock);
	free(in);
	return NULL;
}

static void release(void *arg)
{
	struct script *sc = arg;

	pthread_join(sc->thread, NULL);
	sc->released = true;
}

static int start(struct script *sc, enum mode mode, struct vn_devio **d)
{
	int sv[2];

	memset(sc, 0, sizeof(*sc));
	sc->mode = mode;
	sc->efd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sc->efd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* BAR0's file: a page where the region needs four in SHORT_FILE;
	 * sealed against shrinking but in UNSEALED. */
	sc->mem = memfd_create("script-bar", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(sc->mem >= 0);
	assert_int_equal(ftruncate(sc->mem, mode == SHORT_FILE ? 0x1000 : 0x4000), 0);
	if (mode != UNSEALED)
		assert_int_equal(fcntl(sc->mem, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	sc->sock = sv[1];
	assert_int_equal(pthread_create(&sc->thread, NULL, script_main, sc), 0);
	return vn_vfio_user_open_fd(sv[0], release, sc, d);
}

static void stop(struct script *sc, struct vn_devio *d)
{
	if (d)
		d->ops->close(d);
	assert_true(sc->released);
	close(sc->efd[0]);
	close(sc->efd[1]);
	close(sc->mem);
}

static uint64_t drain(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

static void test_datamatch(void **state)
{
	struct script sc;
	struct vn_devio *d = NULL;
	uint16_t v;

	(void)state;
	assert_int_equal(start(&sc, GOOD, &d), 0);
	v = 1;
	assert_int_equal(vn_devio_write(d, 0, 0x3000, &v, 2), 0);
	v = 2;
	assert_int_equal(vn_devio_write(d, 0, 0x3000, &v, 2), 0);
	assert_int_equal(vn_devio_write(d, 0, 0x3000, &v, 2), 0);
	assert_int_equal(drain(sc.efd[0]), 1);
	assert_int_equal(drain(sc.efd[1]), 2);
	assert_int_equal(__atomic_load_n(&sc.writes, __ATOMIC_ACQUIRE), 0);
	/* no match: an ordinary write message */
	v = 3;
	assert_int_equal(vn_devio_write(d, 0, 0x3000, &v, 2), 0);
	assert_int_equal(__atomic_load_n(&sc.writes, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(drain(sc.efd[0]) + drain(sc.efd[1]), 0);
	stop(&sc, d);
}

static void test_chunked_read(void **state)
{
	struct script sc;
	struct vn_devio *d = NULL;
	uint8_t buf[256], want[256];

	(void)state;
	/* the server takes 64 bytes per message: 256 bytes come in 4 */
	assert_int_equal(start(&sc, GOOD, &d), 0);
	memset(want, 0x77, sizeof(want));
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, want, sizeof(buf));
	assert_int_equal(vn_devio_write(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, buf, 200), 0);
	assert_int_equal(__atomic_load_n(&sc.writes, __ATOMIC_ACQUIRE), 4);
	stop(&sc, d);
}

static void test_bad_read_reply(void **state)
{
	struct script sc;
	struct vn_devio *d = NULL;
	uint32_t v = 0;

	(void)state;
	assert_int_equal(start(&sc, BAD_READ, &d), 0);
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 4), -EPROTO);
	/* the stream is still in step: writes work */
	assert_int_equal(vn_devio_write(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 4), 0);
	assert_int_equal(d->ops->alive(d), 0);
	stop(&sc, d);
}

static void test_bad_reply_id(void **state)
{
	struct script sc;
	struct vn_devio *d = NULL;
	uint32_t v = 0;

	(void)state;
	assert_int_equal(start(&sc, BAD_ID, &d), 0);
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 4), -EPROTO);
	/* out of step: the connection is given up */
	assert_int_equal(vn_devio_write(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 4), -ENODEV);
	assert_int_equal(d->ops->alive(d), -ENODEV);
	stop(&sc, d);
}

/* Each open fails with the error of the first thing wrong, and no signal
 * (a SIGBUS from a short file would end the test run). */
static void test_open_refused(void **state)
{
	static const struct {
		enum mode mode;
		int err;
		const char *msg; /* in vn_err_msg() */
	} cases[] = {
		{ NOT_PCI, -ENOTSUP, "the device is not PCI" },
		{ BAD_VERSION, -EPROTO, "answered version 1.1" },
		{ HANGUP, -ECONNRESET, "peer closed the connection (during DEVICE_GET_REGION_INFO)" },
		{ BAD_IOFD, -EPROTO, "ioeventfd at 0x3fff size 2 does not fit" },
		{ SHORT_FILE, -EPROTO, "ends at file offset 0x4000, past the end of the 4096-byte file" },
		{ NOT_FILE, -EPROTO, "region 0: the mmap fd is not a regular file" },
		{ BAD_OFFSET, -EPROTO, "cannot be mapped (unaligned or out of range)" },
		{ ODD_OFFSET, -EPROTO, "at file offset 0x800 + 0 cannot be mapped" },
		{ SPARSE_OUT, -EPROTO, "sparse area [0x1000, +0x4000) outside its 0x4000 bytes" },
		{ CAP_LOOP, -EPROTO, "capability chain loops" },
		{ STRAY_FD, -EPROTO, "an fd for a region it does not mark mappable" },
		{ INFO_FD, -EPROTO, "DEVICE_GET_INFO: reply carried 1 fds, expected at most 0" },
		{ MISSING_FD, -EPROTO, "fd index 1 of 1 fds" },
		{ KICK_FILE, -EPROTO, "region 0: ioeventfd fd 1 of the reply is not an eventfd" },
		{ SHORT_INFO, -EPROTO, "DEVICE_GET_INFO: reply of 8 bytes" },
		{ SHORT_VERSION, -EPROTO, "VERSION: payload of 2 bytes" },
		{ NO_4K, -EPROTO, "no 4 KiB DMA pages (pgsizes 0x200000)" },
		{ NO_DMA, -EPROTO, "max_dma_maps 0" },
	};
	int before = count_fds();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script sc;
		struct vn_devio *d = NULL;

		vn_err_clear();
		assert_int_equal(start(&sc, cases[i].mode, &d), cases[i].err);
		assert_null(d);
		if (!strstr(vn_err_msg(), cases[i].msg))
			fail_msg("mode %d: '%s' does not say '%s'", cases[i].mode, vn_err_msg(),
				 cases[i].msg);
		stop(&sc, NULL); /* release() ran: the socket is closed, the thread joined */
		assert_int_equal(count_fds(), before);
	}
}

/* A mappable BAR is mapped only when its file cannot shrink under the
 * mapping (F_SEAL_SHRINK): otherwise it is accessed by messages, and a
 * server that truncates the file cannot SIGBUS us. */
static void test_map_needs_seal(void **state)
{
	struct script sc;
	struct vn_devio *d = NULL;
	struct vn_region_info ri;
	uint32_t v = 0;
	void *va = NULL;

	(void)state;
	assert_int_equal(start(&sc, UNSEALED, &d), 0);
	assert_int_equal(d->ops->region_info(d, 0, &ri), 0);
	assert_int_equal(ri.size, 0x4000);
	assert_false(ri.flags & VN_REGION_MMAP);
	assert_int_equal(d->ops->region_map(d, 0, 0, 0x1000, &va), -ENOTSUP);
	assert_int_equal(ftruncate(sc.mem, 0), 0); /* harmless now */
	assert_int_equal(vn_devio_read(d, 0, 0x10, &v, 4), 0);
	assert_int_equal(v, 0x77777777); /* the script's REGION_READ bytes */
	stop(&sc, d);

	assert_int_equal(start(&sc, MAPPABLE, &d), 0);
	assert_int_equal(d->ops->region_info(d, 0, &ri), 0);
	assert_true(ri.flags & VN_REGION_MMAP);
	assert_int_equal(pwrite(sc.mem, "bar0", 4, 0x10), 4);
	assert_int_equal(d->ops->region_map(d, 0, 0, 0x1000, &va), 0);
	assert_memory_equal((char *)va + 0x10, "bar0", 4);
	assert_int_equal(ftruncate(sc.mem, 0x1000), -1); /* the seal holds */
	assert_int_equal(errno, EPERM);
	stop(&sc, d);
}

/* Counts a server sends after open are checked too. */
static void test_huge_irq_count(void **state)
{
	struct script sc;
	struct vn_devio *d = NULL;
	uint32_t n = 7;

	(void)state;
	assert_int_equal(start(&sc, HUGE_IRQS, &d), 0);
	assert_int_equal(d->ops->irq_info(d, VFIO_PCI_MSIX_IRQ_INDEX, &n), -EPROTO);
	assert_non_null(strstr(vn_err_msg(), "1073741824 vectors, a PCI function has at most 2048"));
	assert_int_equal(n, 0);
	/* a malformed count does not desynchronise the stream */
	assert_int_equal(d->ops->alive(d), 0);
	stop(&sc, d);
}

/* No more DMA windows than the server's max_dma_maps; unmapping frees one. */
static void test_dma_map_limit(void **state)
{
	struct script sc;
	struct vn_devio *d = NULL;
	struct vn_dma_mem m[SCRIPT_DMA_MAPS + 1];

	(void)state;
	assert_int_equal(start(&sc, GOOD, &d), 0);
	for (unsigned i = 0; i <= SCRIPT_DMA_MAPS; i++)
		assert_int_equal(vn_dma_alloc(&m[i], 4096, "limit"), 0);
	for (unsigned i = 0; i < SCRIPT_DMA_MAPS; i++)
		assert_int_equal(d->ops->dma_map(d, &m[i]), 0);
	assert_int_equal(d->ops->dma_map(d, &m[SCRIPT_DMA_MAPS]), -ENOSPC);
	assert_non_null(strstr(vn_err_msg(), "at most 2 DMA mappings (max_dma_maps)"));
	assert_false(m[SCRIPT_DMA_MAPS].mapped);
	assert_int_equal(d->ops->dma_unmap(d, &m[0]), 0);
	assert_int_equal(d->ops->dma_map(d, &m[SCRIPT_DMA_MAPS]), 0);
	for (unsigned i = 1; i <= SCRIPT_DMA_MAPS; i++)
		assert_int_equal(d->ops->dma_unmap(d, &m[i]), 0);
	for (unsigned i = 0; i <= SCRIPT_DMA_MAPS; i++)
		vn_dma_free(&m[i]);
	stop(&sc, d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datamatch),
		cmocka_unit_test(test_chunked_read),
		cmocka_unit_test(test_bad_read_reply),
		cmocka_unit_test(test_bad_reply_id),
		cmocka_unit_test(test_open_refused),
		cmocka_unit_test(test_map_needs_seal),
		cmocka_unit_test(test_huge_irq_count),
		cmocka_unit_test(test_dma_map_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
