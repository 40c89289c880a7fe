/* SPDX-License-Identifier: MIT */
/*
 * vfio-user client (iommu/vfio_user.c) against the server core
 * (sim/vfu_server.c) for real, over a socketpair, with a tiny fake device
 * behind the server (vfio_user_fake.h); and raw, misbehaving clients
 * against the server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "compiler.h"
#include "iommu/devio.h"
#include "iommu/vfio_user_proto.h"
#include "sim/vfu_server.h"
#include "vfio_user_fake.h"

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static uint64_t drain(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- threaded: the real client against the server ---- */

static void *serve(void *arg)
{
	struct rig *r = arg;

	while (vfu_server_handle(r->srv) == 0)
		;
	return NULL;
}

/* The client's release hook; a test that saw the server go may join first. */
static void join_server(void *arg)
{
	struct rig *r = arg;

	if (r->running)
		pthread_join(r->thread, NULL);
	r->running = false;
}

/* A socketpair with the server on one end; the other end is returned. */
static int raw_attach(struct rig *r)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vfu_server_attach(r->srv, sv[1]), 0);
	return sv[0];
}

static struct vn_devio *open_client(struct rig *r)
{
	struct vn_devio *d = NULL;

	r->sock = raw_attach(r);
	assert_int_equal(pthread_create(&r->thread, NULL, serve, r), 0);
	r->running = true;
	assert_int_equal(vn_vfio_user_open_fd(r->sock, join_server, r, &d), 0);
	assert_string_equal(d->access, "vfio-user");
	return d;
}

static void test_open_info(void **state)
{
	struct rig *r = *state;
	struct vn_devio *d = open_client(r);
	struct vn_region_info ri;
	uint32_t n;

	assert_int_equal(d->ops->region_info(d, 0, &ri), 0);
	assert_int_equal(ri.size, BAR_SIZE);
	assert_int_equal(ri.flags, VN_REGION_READ | VN_REGION_WRITE | VN_REGION_MMAP);
	assert_int_equal(d->ops->region_info(d, 1, &ri), 0);
	assert_int_equal(ri.size, 0);
	assert_int_equal(d->ops->region_info(d, VFIO_PCI_CONFIG_REGION_INDEX, &ri), 0);
	assert_int_equal(ri.size, 256);
	assert_int_equal(ri.flags, VN_REGION_READ | VN_REGION_WRITE);
	assert_int_equal(d->ops->region_info(d, 20, &ri), 0);
	assert_int_equal(ri.size, 0);
	assert_int_equal(d->ops->irq_info(d, MSIX, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(d->ops->irq_info(d, INTX, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d->ops->irq_info(d, 1, &n), 0); /* MSI: not offered */
	assert_int_equal(n, 0);
	assert_int_equal(d->ops->irq_info(d, 40, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(d->ops->alive(d), 0);
	d->ops->close(d);
	assert_false(r->running);
	/* the server reset the device when the client left */
	assert_int_equal(LOAD(r->f.resets), 1);
}

static void test_region_rw(void **state)
{
	struct rig *r = *state;
	struct vn_devio *d = open_client(r);
	uint8_t all[256], four[4] = { 1, 2, 3, 4 };
	uint32_t v = 0;
	uint16_t w = 0xbeef;

	assert_int_equal(vn_devio_write(d, VFIO_PCI_CONFIG_REGION_INDEX, 0x10, four, 4), 0);
	assert_memory_equal(r->f.cfg + 0x10, four, 4);
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0x10, &v, 4), 0);
	assert_int_equal(v, 0x04030201);
	assert_int_equal(vn_devio_write(d, 0, 0x100, &w, 2), 0);
	assert_memory_equal(r->f.bar + 0x100, &w, 2);
	memset(r->f.cfg + 0x80, 0x5a, 0x80);
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, all, sizeof(all)), 0);
	assert_memory_equal(all, r->f.cfg, sizeof(all));
	/* out of range, absent region, read-only region */
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 254, &v, 4), -EINVAL);
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, UINT64_MAX - 1, &v, 4), -EINVAL);
	assert_int_equal(vn_devio_read(d, 1, 0, &v, 4), -EINVAL);
	assert_int_equal(vn_devio_write(d, 2, 0, &v, 4), -EACCES);
	assert_int_equal(vn_devio_read(d, 2, 60, &v, 4), 0);
	d->ops->close(d);
}

static void test_region_map(void **state)
{
	struct rig *r = *state;
	struct vn_devio *d = open_client(r);
	void *va = NULL, *va2 = NULL;

	assert_int_equal(d->ops->region_map(d, 0, 0x1010, 0x100, &va), 0);
	memcpy(va, "through the map", 16);
	/* the same bytes on the device side of the memfd */
	assert_memory_equal(r->f.bar + 0x1010, "through the map", 16);
	memcpy(r->f.bar + 0x1ff0, "device side", 12);
	assert_int_equal(d->ops->region_map(d, 0, 0x1ff0, 0x10, &va2), 0);
	assert_memory_equal(va2, "device side", 12);
	assert_ptr_equal((char *)va2 - 0x1ff0, (char *)va - 0x1010);
	/* outside the sparse area, across its end, not mappable regions */
	assert_int_equal(d->ops->region_map(d, 0, 0, 0x100, &va), -ENOTSUP);
	assert_int_equal(d->ops->region_map(d, 0, 0x1f00, 0x200, &va), -ENOTSUP);
	assert_int_equal(d->ops->region_map(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, 4, &va), -ENOTSUP);
	d->ops->close(d);
}

static void test_doorbell(void **state)
{
	struct rig *r = *state;
	struct vn_devio *d = open_client(r);
	unsigned writes = LOAD(r->f.writes);
	uint16_t q = 1;
	uint32_t q4 = 1;

	assert_false(readable(r->f.kick[0]));
	assert_int_equal(vn_devio_write(d, 0, 0x3000, &q, 2), 0);
	assert_int_equal(vn_devio_write(d, 0, 0x3000, &q, 2), 0);
	assert_int_equal(vn_devio_write(d, 0, 0x3004, &q, 2), 0);
	/* no message reached the device, the eventfds did */
	assert_int_equal(LOAD(r->f.writes), writes);
	assert_int_equal(drain(r->f.kick[0]), 2);
	assert_int_equal(drain(r->f.kick[1]), 1);
	/* a different size or offset is an ordinary register write */
	assert_int_equal(vn_devio_write(d, 0, 0x3000, &q4, 4), 0);
	assert_int_equal(vn_devio_write(d, 0, 0x3002, &q, 2), 0);
	assert_int_equal(LOAD(r->f.writes), writes + 2);
	assert_false(readable(r->f.kick[0]));
	d->ops->close(d);
}

/* Have the fake device touch 32 bytes at iova; whether it could. */
static bool dma_probe(struct rig *r, struct vn_devio *d, uint64_t iova)
{
	assert_int_equal(vn_devio_write(d, VFIO_PCI_CONFIG_REGION_INDEX, PROBE_REG, &iova, 8), 0);
	return r->f.dma_ok;
}

static void test_dma(void **state)
{
	struct rig *r = *state;
	struct vn_devio *d = open_client(r);
	struct vn_dma_mem m, m2;

	assert_int_equal(vn_dma_alloc(&m, 64 * 1024, "test-dma"), 0);
	assert_int_equal(vn_dma_alloc(&m2, 4096, "test-dma2"), 0);
	assert_int_equal(d->ops->dma_map(d, &m), 0);
	assert_true(m.mapped);
	assert_true(m.iova >= (1ULL << 32));
	assert_int_equal(d->ops->dma_map(d, &m2), 0);
	assert_true(m2.iova >= m.iova + m.len || m2.iova + m2.len <= m.iova);
	assert_int_equal(d->ops->dma_map(d, &m), -EINVAL); /* already mapped */
	memcpy((char *)m.va + 0x200, "client-wrote-it", 16);
	assert_true(dma_probe(r, d, vn_dma_iova(&m, (char *)m.va + 0x200)));
	assert_memory_equal(r->f.dma_seen, "client-wrote-it", 16);
	assert_memory_equal((char *)m.va + 0x210, "written-by-dev!", 16);
	/* the last bytes of the window, and one past it */
	assert_true(dma_probe(r, d, m.iova + m.len - 32));
	assert_false(dma_probe(r, d, m.iova + m.len - 31));
	/* the second window, then gone after unmap */
	assert_true(dma_probe(r, d, m2.iova));
	assert_int_equal(d->ops->dma_unmap(d, &m2), 0);
	assert_false(m2.mapped);
	assert_int_equal(LOAD(r->f.unmaps), 1);
	assert_false(dma_probe(r, d, m2.iova));
	assert_int_equal(d->ops->dma_unmap(d, &m2), -EINVAL);
	assert_int_equal(d->ops->dma_unmap(d, &m), 0);
	assert_int_equal(LOAD(r->f.unmaps), 2);
	/* map again: the IOVA space came back */
	assert_int_equal(d->ops->dma_map(d, &m), 0);
	d->ops->close(d); /* while mapped: the server unmaps on disconnect */
	assert_int_equal(LOAD(r->f.unmaps), 3);
	m.mapped = false; /* the mapping went away with the device */
	vn_dma_free(&m);
	vn_dma_free(&m2);
}

static void test_irqs(void **state)
{
	struct rig *r = *state;
	struct vn_devio *d = open_client(r);
	uint64_t one = 1;
	int e[3];

	for (int i = 0; i < 3; i++)
		e[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int fds[4] = { e[0], e[1], -1, e[2] };
	assert_int_equal(d->ops->set_irqs(d, MSIX, 0, 4, fds), 0);
	assert_true(r->f.irq[0] >= 0 && r->f.irq[1] >= 0 && r->f.irq[3] >= 0);
	assert_int_equal(r->f.irq[2], -1);
	/* the device signals vector 1 and 3; the client's eventfds see it */
	assert_int_equal(write(r->f.irq[1], &one, 8), 8);
	assert_int_equal(write(r->f.irq[3], &one, 8), 8);
	assert_false(readable(e[0]));
	assert_int_equal(drain(e[1]), 1);
	assert_int_equal(drain(e[2]), 1);
	/* re-route vector 0 only, then unroute vector 1 */
	assert_int_equal(d->ops->set_irqs(d, MSIX, 0, 1, &e[2]), 0);
	assert_int_equal(write(r->f.irq[0], &one, 8), 8);
	assert_int_equal(drain(e[2]), 1);
	fds[0] = -1;
	assert_int_equal(d->ops->set_irqs(d, MSIX, 1, 1, fds), 0);
	assert_int_equal(r->f.irq[1], -1);
	/* out of range vectors are refused by the server */
	assert_int_equal(d->ops->set_irqs(d, MSIX, 3, 2, e), -EINVAL);
	/* count 0 disables the index */
	assert_int_equal(d->ops->set_irqs(d, MSIX, 0, 0, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r->f.irq[i], -1);
	/* routed again: a reset keeps the routing (as kernel VFIO does), the
	 * client going away releases it */
	assert_int_equal(d->ops->set_irqs(d, MSIX, 2, 1, e), 0);
	assert_true(r->f.irq[2] >= 0);
	assert_int_equal(d->ops->reset(d), 0);
	assert_int_equal(LOAD(r->f.resets), 1);
	assert_int_equal(LOAD(r->f.resets_gone), 0); /* DEVICE_RESET, not a departure */
	assert_true(r->f.irq[2] >= 0);
	assert_int_equal(write(r->f.irq[2], &one, 8), 8);
	assert_int_equal(drain(e[0]), 1);
	d->ops->close(d);
	assert_int_equal(LOAD(r->f.resets), 2);
	assert_int_equal(LOAD(r->f.resets_gone), 1);
	assert_int_equal(r->f.irq[2], -1);
	for (int i = 0; i < 3; i++)
		close(e[i]);
}

/* Unmask (the client's irq_unmask) reaches the device model as a
 * DATA_NONE request (ACTION_MASK: test_raw_bad_commands); bad ranges and
 * indexes the model cannot mask are refused with the errno the client
 * then returns. */
static void test_irq_unmask(void **state)
{
	struct rig *r = *state;
	struct vn_devio *d = open_client(r);

	memset(r->f.mask, 0xff, sizeof(r->f.mask));
	assert_int_equal(d->ops->irq_unmask(d, INTX, 0, 1), 0);
	assert_int_equal(LOAD(r->f.mask[0]), INTX);
	assert_int_equal(LOAD(r->f.mask[1]), 0);
	assert_int_equal(LOAD(r->f.mask[2]), 1);
	assert_int_equal(LOAD(r->f.mask[3]), 0);
	/* INTx has one vector; MSI-X cannot be masked by this model */
	assert_int_equal(d->ops->irq_unmask(d, INTX, 1, 1), -EINVAL);
	assert_int_equal(d->ops->irq_unmask(d, INTX, 0, 2), -EINVAL);
	assert_int_equal(d->ops->irq_unmask(d, MSIX, 0, 1), -ENOTSUP);
	assert_int_equal(d->ops->irq_unmask(d, INTX, 0, 0), -EINVAL);
	d->ops->close(d);
}

static void test_reconnect(void **state)
{
	struct rig *r = *state;
	struct vn_devio *d = open_client(r);
	int e = eventfd(0, EFD_CLOEXEC);
	uint32_t v;

	assert_int_equal(d->ops->set_irqs(d, MSIX, 0, 1, &e), 0);
	d->ops->close(d);
	assert_int_equal(LOAD(r->f.resets), 1);
	assert_int_equal(r->f.irq[0], -1);
	/* a second client is served from scratch */
	d = open_client(r);
	r->f.cfg[0] = 0xf4;
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 1), 0);
	assert_int_equal(v & 0xff, 0xf4);
	d->ops->close(d);
	assert_int_equal(LOAD(r->f.resets), 2);
	close(e);
}

/* The server vanishes: calls fail, alive() says so, close still works. */
static void test_server_gone(void **state)
{
	struct rig *r = *state;
	struct vn_devio *d = open_client(r);
	struct vn_dma_mem m;
	uint32_t v;

	assert_int_equal(vn_dma_alloc(&m, 4096, "gone"), 0);
	assert_int_equal(d->ops->dma_map(d, &m), 0);
	shutdown(r->sock, SHUT_WR); /* the server sees EOF and drops us */
	join_server(r);
	assert_int_equal(d->ops->alive(d), -ENODEV);
	assert_true(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 4) < 0);
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 4), -ENODEV);
	assert_int_equal(d->ops->dma_unmap(d, &m), 0); /* dropped with the connection */
	assert_false(m.mapped);
	d->ops->close(d);
	vn_dma_free(&m);
}

struct listener {
	struct rig *r;
	int lfd;
};

static void *accept_and_serve(void *arg)
{
	struct listener *l = arg;
	int fd = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd >= 0 && vfu_server_attach(l->r->srv, fd) == 0)
		serve(l->r);
	return NULL;
}

/* vn_vfio_user_open() by socket path, and its failures. */
static void test_open_path(void **state)
{
	struct rig *r = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct listener l = { .r = r };
	struct vn_devio *d = NULL;
	char longpath[200];
	uint32_t v;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/vnet-test-vu-%d.sock", (int)getpid());
	unlink(sa.sun_path);
	l.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(l.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l.lfd, 1), 0);
	assert_int_equal(pthread_create(&r->thread, NULL, accept_and_serve, &l), 0);
	assert_int_equal(vn_vfio_user_open(sa.sun_path, &d), 0);
	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 4), 0);
	d->ops->close(d);
	pthread_join(r->thread, NULL);
	close(l.lfd);
	unlink(sa.sun_path);
	/* nobody listening, no such path, a path too long for sun_path */
	assert_int_equal(vn_vfio_user_open(sa.sun_path, &d), -ENOENT);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(vn_vfio_user_open(longpath, &d), -ENAMETOOLONG);
}

/* ---- raw clients: the server must survive them ---- */

/* Send a raw message and let the server handle it in this thread. */
static int raw_send(struct rig *r, int sock, uint16_t cmd, uint32_t flags, const void *p,
		    size_t len, const int *fds, unsigned n_fds)
{
	uint8_t buf[256];
	struct vfio_user_hdr h;

	assert_true(len + sizeof(h) <= sizeof(buf));
	vfio_user_hdr_init(&h, 0x42, cmd, len, flags);
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), p, len);
	assert_int_equal(vfio_user_send(sock, buf, sizeof(h) + len, fds, n_fds, 1000), 0);
	return vfu_server_handle(r->srv);
}

/* One command: 0 or the negative errno of the error reply; payload to out. */
static int raw_call(struct rig *r, int sock, uint16_t cmd, const void *p, size_t len,
		    const int *fds, unsigned n_fds, void *out, size_t out_len)
{
	static uint8_t in[VFIO_USER_MAX_MSG];
	struct vfio_user_fds rfds;
	struct vfio_user_hdr h;
	int n;

	assert_int_equal(raw_send(r, sock, cmd, VFIO_USER_F_TYPE_COMMAND, p, len, fds, n_fds), 0);
	n = vfio_user_recv(sock, in, sizeof(in), &rfds, 1000);
	assert_true(n >= 16);
	vfio_user_fds_close(&rfds, 0);
	memcpy(&h, in, sizeof(h));
	if (vfio_user_reply_check(&h, 0x42, cmd))
		return -(int)h.error;
	if (out)
		memcpy(out, in + sizeof(h), VN_MIN(out_len, (size_t)n - sizeof(h)));
	return 0;
}

/* VERSION with a small max_data_xfer_size; the server's max_dma_maps. */
static uint32_t raw_version(struct rig *r, int sock)
{
	struct vfio_user_version_info v = { .major = 0, .minor = 1,
					    .caps = { .max_msg_fds = 8, .max_data_xfer_size = 4096,
						      .max_dma_maps = 1, .pgsizes = 4096 } };
	uint8_t p[200], a[200] = { 0 };
	int n = vfio_user_version_encode(p, sizeof(p), &v);

	assert_true(n > 0);
	assert_int_equal(raw_call(r, sock, VFIO_USER_VERSION, p, (size_t)n, NULL, 0, a, sizeof(a)), 0);
	assert_int_equal(vfio_user_version_decode(a, strnlen((char *)a + 4, sizeof(a) - 4) + 4, &v), 0);
	return v.caps.max_dma_maps;
}

/* After any abuse, a proper client still gets served. */
static void check_good_client(struct rig *r)
{
	struct vn_devio *d = open_client(r);
	uint32_t v;

	assert_int_equal(vn_devio_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 4), 0);
	d->ops->close(d);
}

/* A header whose size the server cannot take: the connection is dropped. */
static void test_raw_bad_header(void **state)
{
	static const uint32_t sizes[] = {
		4,          /* smaller than the header */
		0x7fffffff, /* huge */
		64,         /* a message that never completes: dropped after the timeout */
	};
	struct rig *r = *state;
	struct vfio_user_hdr h;

	vfio_user_hdr_init(&h, 1, VFIO_USER_VERSION, 0, 0);
	for (unsigned i = 0; i < VN_ARRAY_SIZE(sizes); i++) {
		int s = raw_attach(r);

		h.size = sizes[i];
		assert_int_equal(write(s, &h, sizeof(h)), sizeof(h));
		assert_int_equal(vfu_server_handle(r->srv), -ECONNRESET);
		assert_int_equal(vfu_server_fd(r->srv), -1);
		close(s);
	}
	check_good_client(r);
}

/* One raw command, with n_fds copies of the fd raw_cases() is given, and
 * the errno of the server's reply (0: success). */
struct raw_case { uint16_t cmd; const void *p; size_t len; unsigned n_fds; int err; };

#define RAW(cmd, obj, n_fds, err) { (cmd), &(obj), sizeof(obj), (n_fds), (err) }
#define RW(o, reg, n) ((struct vfio_user_region_rw){ .offset = (o), .region = (reg), .count = (n) })
#define IRQS(i, n, data, act) ((struct vfio_user_irq_set){ .argsz = sizeof(struct vfio_user_irq_set), \
	.index = (i), .count = (n), .flags = VFIO_IRQ_SET_DATA_##data | VFIO_IRQ_SET_ACTION_##act })
#define DMAP(fl, a, o, sz) ((struct vfio_user_dma_map){ .argsz = sizeof(struct vfio_user_dma_map), \
							.flags = (fl), .addr = (a), .offset = (o), .size = (sz) })

static void raw_cases(struct rig *r, int sock, int fd, const struct raw_case *c, size_t n)
{
	const int fds[2] = { fd, fd };

	for (size_t i = 0; i < n; i++) {
		int rc = raw_call(r, sock, c[i].cmd, c[i].p, c[i].len, fds, c[i].n_fds, NULL, 0);

		if (rc != c[i].err)
			fail_msg("raw case %zu (%s): %d, not %d", i, vfio_user_cmd_name(c[i].cmd), rc, c[i].err);
	}
}

static void test_raw_bad_commands(void **state)
{
	struct rig *r = *state;
	struct vfio_user_device_info di = { .argsz = sizeof(di) }, di_short = { .argsz = 4 };
	struct vfio_user_region_info ri = { .argsz = sizeof(ri), .index = 0 };
	struct { struct vfio_user_region_rw rw; uint32_t v; } wr = { .rw = RW(0, 2, 4) };
	const struct raw_case before_version[] = {
		/* anything before VERSION; VERSION with bad JSON */
		RAW(VFIO_USER_DEVICE_GET_INFO, di, 0, -EINVAL),
		{ VFIO_USER_VERSION, "\0\0\1\0{x}", 8, 0, -EINVAL },
	}, after_version[] = {
		/* a second VERSION */
		{ VFIO_USER_VERSION, "\0\0\1\0", 4, 0, -EINVAL },
		/* unknown and server-to-client commands */
		{ 99, NULL, 0, 0, -ENOSYS },
		{ VFIO_USER_DMA_WRITE, NULL, 0, 0, -ENOSYS },
		/* an fd where none belongs is refused and closed */
		RAW(VFIO_USER_DEVICE_GET_INFO, di, 1, -EINVAL),
		/* DMA memory that is an eventfd, not a file */
		RAW(VFIO_USER_DMA_MAP, DMAP(VFIO_USER_F_DMA_READ, 0x100000, 0, 0x1000), 1, -EINVAL),
		/* bad argsz, truncated payload */
		RAW(VFIO_USER_DEVICE_GET_INFO, di_short, 0, -EINVAL),
		{ VFIO_USER_DEVICE_GET_REGION_INFO, &ri, 8, 0, -EINVAL },
		/* bad region index, out of range, absent, read-only, oversize count
		 * (above the 4096 this client negotiated) */
		RAW(VFIO_USER_DEVICE_GET_REGION_INFO,
		    ((struct vfio_user_region_info){ .argsz = sizeof(ri), .index = 30 }), 0, -EINVAL),
		RAW(VFIO_USER_REGION_READ, RW(250, VFIO_PCI_CONFIG_REGION_INDEX, 8), 0, -EINVAL),
		RAW(VFIO_USER_REGION_READ, RW(0, 5, 8), 0, -EINVAL),
		{ VFIO_USER_REGION_WRITE, &wr, sizeof(wr.rw) + 4, 0, -EACCES },
		RAW(VFIO_USER_REGION_READ, RW(0, 0, 8192), 0, -EINVAL),
		/* SET_IRQS: fewer fds than vectors, bad index, MASK action */
		RAW(VFIO_USER_DEVICE_SET_IRQS, IRQS(MSIX, 2, EVENTFD, TRIGGER), 1, -EINVAL),
		RAW(VFIO_USER_DEVICE_SET_IRQS, IRQS(7, 1, EVENTFD, TRIGGER), 1, -EINVAL),
		RAW(VFIO_USER_DEVICE_SET_IRQS, IRQS(MSIX, 1, EVENTFD, MASK), 1, -ENOTSUP),
		/* DATA_NONE | ACTION_MASK masks, through the device model */
		RAW(VFIO_USER_DEVICE_SET_IRQS, IRQS(INTX, 1, NONE, MASK), 0, 0),
	};
	int e = eventfd(0, EFD_CLOEXEC);
	int before = count_fds();
	int s = raw_attach(r);

	raw_cases(r, s, e, before_version, VN_ARRAY_SIZE(before_version));
	raw_version(r, s);
	raw_cases(r, s, e, after_version, VN_ARRAY_SIZE(after_version));
	assert_int_equal(LOAD(r->f.mask[0]), INTX);
	assert_int_equal(LOAD(r->f.mask[3]), 1);
	/* a reply sent to the server is ignored; no_reply gets no reply */
	assert_int_equal(raw_send(r, s, VFIO_USER_DEVICE_GET_INFO, VFIO_USER_F_TYPE_REPLY, NULL, 0, NULL, 0), 0);
	assert_int_equal(raw_send(r, s, VFIO_USER_DEVICE_RESET, VFIO_USER_F_NO_REPLY, NULL, 0, NULL, 0), 0);
	assert_false(readable(s));
	/* still in sync: a good command works */
	assert_int_equal(raw_call(r, s, VFIO_USER_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0, &di, sizeof(di)), 0);
	assert_int_equal(di.num_regions, VFU_MAX_REGIONS);
	assert_true(di.flags & VFIO_DEVICE_FLAGS_PCI);
	close(s);
	assert_int_equal(vfu_server_handle(r->srv), -ECONNRESET);
	assert_int_equal(count_fds(), before);
	close(e);
	check_good_client(r);
}

static void test_raw_dma(void **state)
{
	const uint32_t rd = VFIO_USER_F_DMA_READ, rdwr = rd | VFIO_USER_F_DMA_WRITE;
	struct rig *r = *state;
	int mfd = memfd_create("raw-dma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int loose = memfd_create("raw-dma-unsealable", MFD_CLOEXEC);
	const struct raw_case maps[] = {
		/* with two fds; without one (the client keeps the memory: reached
		 * by DMA_READ/DMA_WRITE messages, the offset ignored) */
		RAW(VFIO_USER_DMA_MAP, DMAP(rd, 0x100000, 0, 0x2000), 2, -EINVAL),
		RAW(VFIO_USER_DMA_MAP, DMAP(rd, 0x200000, 0x10, 0x2000), 0, 0),
		RAW(VFIO_USER_DMA_MAP, DMAP(rd, 0x201000, 0, 0x2000), 0, -EEXIST),
		/* larger than the file, unaligned offset, wrapping address */
		RAW(VFIO_USER_DMA_MAP, DMAP(rd, 0x100000, 0, 0x5000), 1, -EINVAL),
		RAW(VFIO_USER_DMA_MAP, DMAP(rd, 0x100000, 0x10, 0x2000), 1, -EINVAL),
		RAW(VFIO_USER_DMA_MAP, DMAP(rd, UINT64_MAX - 0xfff, 0, 0x2000), 1, -EINVAL),
		/* an interrupt "eventfd" that is a memfd */
		RAW(VFIO_USER_DEVICE_SET_IRQS, IRQS(MSIX, 1, EVENTFD, TRIGGER), 1, -EINVAL),
		/* a read-only window at 1 MiB, and one below it */
		RAW(VFIO_USER_DMA_MAP, DMAP(rd, 0x100000, 0, 0x2000), 1, 0),
		RAW(VFIO_USER_DMA_MAP, DMAP(rdwr, 0x80000, 0, 0x2000), 1, 0),
	};
	struct vfio_user_dma_unmap u = { .argsz = sizeof(u), .addr = 0x100000, .size = 0x1000 };
	struct vfio_user_dma_map m = DMAP(rdwr, 0, 0, 0x2000);
	uint32_t max_maps;
	int before, s;
	char *p;

	assert_int_equal(ftruncate(mfd, 0x4000), 0);
	assert_int_equal(ftruncate(loose, 0x4000), 0);
	before = count_fds();
	s = raw_attach(r);
	max_maps = raw_version(r, s);
	/* memory its owner may still shrink under the server's mapping */
	assert_int_equal(raw_call(r, s, VFIO_USER_DMA_MAP, &m, sizeof(m), &loose, 1, NULL, 0), -EINVAL);
	raw_cases(r, s, mfd, maps, VN_ARRAY_SIZE(maps));
	/* the server sealed the memory it mapped: it can no longer shrink */
	assert_int_equal(ftruncate(mfd, 0x1000), -1);
	assert_int_equal(errno, EPERM);
	/* overlaps: inside, straddling either end */
	static const uint64_t clash[] = { 0x7f000, 0x80000, 0x81000, 0xff000, 0x100000, 0x101000 };
	for (unsigned i = 0; i < VN_ARRAY_SIZE(clash); i++) {
		m.addr = clash[i];
		assert_int_equal(raw_call(r, s, VFIO_USER_DMA_MAP, &m, sizeof(m), &mfd, 1, NULL, 0), -EEXIST);
	}
	/* vfu_dma_ptr: bounds, direction, overflow */
	p = vfu_dma_ptr(r->srv, 0x100000, 0x2000, false);
	assert_non_null(p);
	assert_null(vfu_dma_ptr(r->srv, 0x100000, 0x10, true)); /* read-only */
	assert_null(vfu_dma_ptr(r->srv, 0x100000, 0x2001, false));
	assert_null(vfu_dma_ptr(r->srv, 0xfffff, 2, false));
	assert_null(vfu_dma_ptr(r->srv, 0x102000, 1, false));
	assert_null(vfu_dma_ptr(r->srv, 0x100000, 0, false));
	assert_null(vfu_dma_ptr(r->srv, UINT64_MAX, 2, false));
	assert_null(vfu_dma_ptr(r->srv, 0x81fff, 2, true)); /* spans two windows' gap */
	assert_ptr_equal(vfu_dma_ptr(r->srv, 0x101fff, 1, false), p + 0x1fff);
	assert_non_null(vfu_dma_ptr(r->srv, 0x80000, 0x2000, true));
	assert_ptr_equal(vfu_dma_ptr(r->srv, 0x100010, 4, false), p + 0x10);
	assert_null(vfu_dma_ptr(r->srv, 0x200000, 1, false)); /* no pointer: by message only */
	/* unmap must match a mapping exactly */
	assert_int_equal(raw_call(r, s, VFIO_USER_DMA_UNMAP, &u, sizeof(u), NULL, 0, NULL, 0), -ENOENT);
	u.size = 0x2000;
	assert_int_equal(raw_call(r, s, VFIO_USER_DMA_UNMAP, &u, sizeof(u), NULL, 0, NULL, 0), 0);
	assert_null(vfu_dma_ptr(r->srv, 0x100000, 1, false));
	assert_int_equal(LOAD(r->f.unmaps), 1);
	/* UNMAP_ALL */
	u = (struct vfio_user_dma_unmap){ .argsz = sizeof(u), .flags = VFIO_USER_F_DMA_UNMAP_ALL };
	assert_int_equal(raw_call(r, s, VFIO_USER_DMA_UNMAP, &u, sizeof(u), NULL, 0, NULL, 0), 0);
	assert_int_equal(LOAD(r->f.unmaps), 3);
	assert_null(vfu_dma_ptr(r->srv, 0x80000, 1, false));
	/* as many windows as the server advertised (max_dma_maps), not one more */
	assert_true(max_maps >= 1 && max_maps <= 65535);
	m.size = 0x1000;
	for (uint32_t i = 0; i < max_maps; i++) {
		m.addr = 0x100000 + (uint64_t)i * 0x1000;
		assert_int_equal(raw_call(r, s, VFIO_USER_DMA_MAP, &m, sizeof(m), &mfd, 1, NULL, 0), 0);
	}
	m.addr = 0x100000 + (uint64_t)max_maps * 0x1000;
	assert_int_equal(raw_call(r, s, VFIO_USER_DMA_MAP, &m, sizeof(m), &mfd, 1, NULL, 0), -ENOSPC);
	assert_non_null(vfu_dma_ptr(r->srv, m.addr - 0x1000, 0x1000, true));
	assert_null(vfu_dma_ptr(r->srv, m.addr, 1, false));
	close(s);
	assert_int_equal(vfu_server_handle(r->srv), -ECONNRESET);
	assert_int_equal(count_fds(), before);
	close(mfd);
	close(loose);
	check_good_client(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_info, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_region_rw, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_region_map, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_doorbell, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_dma, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_irqs, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_irq_unmask, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_server_gone, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_open_path, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_raw_bad_header, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_raw_bad_commands, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_raw_dma, rig_setup, rig_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
