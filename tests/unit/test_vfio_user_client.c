/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user client against a scripted server that misbehaves on
 * purpose: malformed and out-of-sync replies, a non-PCI device, a wrong
 * protocol version, a hang-up in the middle of open(), and DATAMATCH
 * ioeventfds (which the server core in sim/ never hands out).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iommu/devio.h"
#include "iommu/vfio_user_proto.h"

enum mode {
	GOOD,
	BAD_READ,     /* REGION_READ replies with one byte less */
	BAD_ID,       /* REGION_READ replies with another message id */
	NOT_PCI,      /* DEVICE_GET_INFO without VFIO_DEVICE_FLAGS_PCI */
	BAD_VERSION,  /* VERSION answered with major 1 */
	HANGUP,       /* the server goes away at GET_REGION_INFO */
	BAD_IOFD,     /* an ioeventfd beyond the region */
};

struct script {
	enum mode mode;
	int sock;
	int efd[2];
	unsigned writes;  /* __atomic: REGION_WRITE messages seen */
	pthread_t thread;
	bool released;
};


/* The reply payload for one command; fds to pass in sfds. */
static size_t answer(struct script *sc, const struct vfio_user_hdr *h, const uint8_t *p,
		     uint8_t *out, int *sfds, unsigned *n_sfds)
{
	switch (h->cmd) {
	case VFIO_USER_VERSION: {
		struct vfio_user_version_info v = {
			.major = sc->mode == BAD_VERSION, .minor = 1,
			.caps = { .max_msg_fds = 4, .max_data_xfer_size = 64, .max_dma_maps = 8,
				  .pgsizes = 4096 },
		};
		return (size_t)vfio_user_version_encode(out, 1024, &v);
	}
	case VFIO_USER_DEVICE_GET_INFO: {
		struct vfio_user_device_info di = {
			.argsz = sizeof(di), .num_regions = 9, .num_irqs = 5,
			.flags = VFIO_DEVICE_FLAGS_RESET | (sc->mode == NOT_PCI ? 0 : VFIO_DEVICE_FLAGS_PCI),
		};
		memcpy(out, &di, sizeof(di));
		return sizeof(di);
	}
	case VFIO_USER_DEVICE_GET_REGION_INFO: {
		struct vfio_user_region_info q;
		struct vfio_user_region_desc d = { 0 };

		memcpy(&q, p, sizeof(q));
		d.index = q.index;
		if (q.index == 0 || q.index == VFIO_PCI_CONFIG_REGION_INDEX) {
			d.size = q.index ? 256 : 0x4000;
			d.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		}
		return (size_t)vfio_user_region_info_encode(out, 1024, q.argsz, &d);
	}
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
			sfds[1] = sc->efd[1];
			*n_sfds = 2;
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
		int sfds[2];
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

static void test_open_refused(void **state)
{
	static const struct {
		enum mode mode;
		int err;
	} cases[] = {
		{ NOT_PCI, -ENOTSUP },
		{ BAD_VERSION, -EPROTO },
		{ HANGUP, -ECONNRESET },
		{ BAD_IOFD, -EPROTO },
	};
	int before = count_fds();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script sc;
		struct vn_devio *d = NULL;

		assert_int_equal(start(&sc, cases[i].mode, &d), cases[i].err);
		assert_null(d);
		stop(&sc, NULL); /* release() ran: the socket is closed, the thread joined */
		assert_int_equal(count_fds(), before);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datamatch),
		cmocka_unit_test(test_chunked_read),
		cmocka_unit_test(test_bad_read_reply),
		cmocka_unit_test(test_bad_reply_id),
		cmocka_unit_test(test_open_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
