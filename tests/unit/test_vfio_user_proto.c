/* SPDX-License-Identifier: MIT */
/* vfio-user codec: headers, command payloads, JSON capabilities, the
 * variable-layout replies, and message framing over a socketpair. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iommu/vfio_user_proto.h"


/* ---- header ---- */

static void test_hdr_check(void **state)
{
	struct vfio_user_hdr h;

	(void)state;
	vfio_user_hdr_init(&h, 7, VFIO_USER_DMA_MAP, 32, VFIO_USER_F_TYPE_COMMAND);
	assert_int_equal(h.size, 48);
	assert_int_equal(vfio_user_hdr_check(&h, 4096), 0);
	h.size = 15; /* smaller than the header */
	assert_int_equal(vfio_user_hdr_check(&h, 4096), -EPROTO);
	h.size = 4097; /* over the limit */
	assert_int_equal(vfio_user_hdr_check(&h, 4096), -EPROTO);
	h.size = 16;
	h.flags = 2; /* neither command nor reply */
	assert_int_equal(vfio_user_hdr_check(&h, 4096), -EPROTO);
	h.flags = VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR;
	assert_int_equal(vfio_user_hdr_check(&h, 4096), 0);
}

static void test_reply_check(void **state)
{
	struct vfio_user_hdr h;

	(void)state;
	vfio_user_hdr_init(&h, 3, VFIO_USER_REGION_READ, 0, VFIO_USER_F_TYPE_REPLY);
	assert_int_equal(vfio_user_reply_check(&h, 3, VFIO_USER_REGION_READ), 0);
	assert_int_equal(vfio_user_reply_check(&h, 4, VFIO_USER_REGION_READ), -EPROTO);
	assert_int_equal(vfio_user_reply_check(&h, 3, VFIO_USER_REGION_WRITE), -EPROTO);
	h.flags = VFIO_USER_F_TYPE_COMMAND; /* reply without the reply type */
	assert_int_equal(vfio_user_reply_check(&h, 3, VFIO_USER_REGION_READ), -EPROTO);
	h.flags = VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR;
	h.error = EINVAL;
	assert_int_equal(vfio_user_reply_check(&h, 3, VFIO_USER_REGION_READ), -EINVAL);
	h.error = 0; /* allowed by the spec, mapped to EIO */
	assert_int_equal(vfio_user_reply_check(&h, 3, VFIO_USER_REGION_READ), -EIO);
	h.error = 100000;
	assert_int_equal(vfio_user_reply_check(&h, 3, VFIO_USER_REGION_READ), -EIO);
}

/* ---- command payloads ---- */

static void test_req_fixed(void **state)
{
	struct vfio_user_dma_unmap un = { .argsz = sizeof(un) };
	struct vfio_user_device_info di = { .argsz = sizeof(di) };
	struct vfio_user_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_user_irq_info ii = { .argsz = sizeof(ii) };
	struct vfio_user_io_fds io = { .argsz = sizeof(io) };

	(void)state;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_UNMAP, &un, sizeof(un), 0), 0);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_GET_INFO, &di, sizeof(di), 0), 0);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), 0);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), 0), 0);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_GET_REGION_IO_FDS, &io, sizeof(io), 0), 0);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_RESET, NULL, 0, 0), 0);
	/* truncated */
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_UNMAP, &un, sizeof(un) - 1, 0), -EINVAL);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_GET_REGION_INFO, &ri, 8, 0), -EINVAL);
	/* bad argsz */
	ri.argsz = sizeof(ri) - 1;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), -EINVAL);
	di.argsz = 0;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_GET_INFO, &di, sizeof(di), 0), -EINVAL);
	/* IO_FDS: flags and count must be 0 */
	io.count = 1;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_GET_REGION_IO_FDS, &io, sizeof(io), 0), -EINVAL);
	/* fds where none belong */
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_RESET, NULL, 0, 1), -EINVAL);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_UNMAP, &un, sizeof(un), 2), -EINVAL);
	/* unknown and server-to-client commands */
	assert_int_equal(vfio_user_req_check(99, NULL, 0, 0), -ENOSYS);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_READ, &un, sizeof(un), 0), -ENOSYS);
}

static void test_req_dma_map(void **state)
{
	struct vfio_user_dma_map m = { .argsz = sizeof(m), .flags = VFIO_USER_F_DMA_READ,
				       .addr = 1ULL << 32, .size = 4096 };

	(void)state;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_MAP, &m, sizeof(m), 1), 0);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_MAP, &m, sizeof(m), 0), 0);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_MAP, &m, sizeof(m), 2), -EINVAL);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_MAP, &m, sizeof(m) - 8, 1), -EINVAL);
	m.flags = 0x4;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	m.flags = 0;
	m.argsz = 16;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
}

static void test_req_set_irqs(void **state)
{
	struct {
		struct vfio_user_irq_set s;
		uint8_t b[4];
	} q = { .s = { .argsz = sizeof(q.s), .index = VFIO_PCI_MSIX_IRQ_INDEX, .count = 3,
		       .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER } };

	(void)state;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, sizeof(q.s), 3), 0);
	/* no fds: de-assign */
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, sizeof(q.s), 0), 0);
	/* too few, too many */
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, sizeof(q.s), 2), -EINVAL);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, sizeof(q.s), 4), -EINVAL);
	/* two data types, no action */
	q.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, sizeof(q.s), 0), -EINVAL);
	q.s.flags = VFIO_IRQ_SET_DATA_NONE;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, sizeof(q.s), 0), -EINVAL);
	/* DATA_NONE with fds; DATA_BOOL needs count bytes */
	q.s.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, sizeof(q.s), 1), -EINVAL);
	q.s.flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, sizeof(q.s) + 2, 0), -EINVAL);
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, sizeof(q.s) + 3, 0), 0);
	/* truncated */
	assert_int_equal(vfio_user_req_check(VFIO_USER_DEVICE_SET_IRQS, &q, 12, 0), -EINVAL);
}

static void test_req_region_rw(void **state)
{
	struct {
		struct vfio_user_region_rw rw;
		uint8_t data[8];
	} q = { .rw = { .offset = 0x10, .region = 0, .count = 4 } };

	(void)state;
	assert_int_equal(vfio_user_req_check(VFIO_USER_REGION_READ, &q, sizeof(q.rw), 0), 0);
	assert_int_equal(vfio_user_req_check(VFIO_USER_REGION_WRITE, &q, sizeof(q.rw) + 4, 0), 0);
	/* write count vs data present */
	assert_int_equal(vfio_user_req_check(VFIO_USER_REGION_WRITE, &q, sizeof(q.rw) + 3, 0), -EINVAL);
	assert_int_equal(vfio_user_req_check(VFIO_USER_REGION_WRITE, &q, sizeof(q.rw) + 5, 0), -EINVAL);
	q.rw.count = 0;
	assert_int_equal(vfio_user_req_check(VFIO_USER_REGION_READ, &q, sizeof(q.rw), 0), -EINVAL);
	q.rw.count = VFIO_USER_MAX_DATA_XFER + 1;
	assert_int_equal(vfio_user_req_check(VFIO_USER_REGION_READ, &q, sizeof(q.rw), 0), -EINVAL);
	assert_int_equal(vfio_user_req_check(VFIO_USER_REGION_READ, &q, 15, 0), -EINVAL);
	assert_int_equal(vfio_user_req_check(VFIO_USER_REGION_READ, &q, sizeof(q.rw), 1), -EINVAL);
}

/* ---- VERSION ---- */

static int parse(const char *s, struct vfio_user_caps *c)
{
	return vfio_user_caps_parse(s, strlen(s) + 1, c);
}

static void test_caps_good(void **state)
{
	struct vfio_user_caps c;

	(void)state;
	assert_int_equal(parse("", &c), 0); /* absent: defaults */
	assert_int_equal(c.max_msg_fds, 1);
	assert_int_equal(c.max_data_xfer_size, 1 << 20);
	assert_int_equal(c.max_dma_maps, 65535);
	assert_int_equal(c.pgsizes, 4096);
	assert_int_equal(parse("{}", &c), 0);
	assert_int_equal(parse(" {\"capabilities\" : { \"max_msg_fds\" : 8 , "
			       "\"max_data_xfer_size\":65536,\"pgsizes\":4096,"
			       "\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":1e6,"
			       "\"list\":[1,-2.5,\"x\\\"y\\u00e9\",true,false,null,[]]},"
			       "\"twin_socket\":{\"supported\":false},\"write_multiple\":true},"
			       "\"other\":\"ignored\"}\n", &c), 0);
	assert_int_equal(c.max_msg_fds, 8);
	assert_int_equal(c.max_data_xfer_size, 65536);
	/* without the terminating NUL too */
	assert_int_equal(vfio_user_caps_parse("{\"capabilities\":{\"max_msg_fds\":3}}", 34, &c), 0);
	assert_int_equal(c.max_msg_fds, 3);
	assert_int_equal(c.max_data_xfer_size, 1 << 20);
}

static void test_caps_bad(void **state)
{
	static const char *const bad[] = {
		"garbage",
		"{",
		"{\"capabilities\":{}",
		"{\"capabilities\":{}}x",
		"{\"capabilities\":{}}{}",
		"{\"capabilities\":7}",
		"{\"capabilities\":{\"max_msg_fds\":-1}}",
		"{\"capabilities\":{\"max_msg_fds\":1.5}}",
		"{\"capabilities\":{\"max_msg_fds\":4294967296}}",
		"{\"capabilities\":{\"max_msg_fds\":\"8\"}}",
		"{\"capabilities\":{\"max_data_xfer_size\":0}}",
		"{\"capabilities\":{\"pgsizes\":99999999999999999999999}}",
		"{\"a\":01}",
		"{\"a\":tru}",
		"{\"a\":\"unterminated}",
		"{\"a\":\"bad \\q escape\"}",
		"{\"a\":\"\\u12\"}",
		"{\"a\":[1,]}",
		"{\"a\":1,}",
		"{a:1}",
		"[1]",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
	};
	struct vfio_user_caps c;
	const char nul[] = "{\"a\":1}\0{}";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &c);

		if (r != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
	/* an embedded NUL is not the terminator */
	assert_int_equal(vfio_user_caps_parse(nul, sizeof(nul), &c), -EINVAL);
	/* a control character inside a string */
	assert_int_equal(parse("{\"a\":\"x\ty\"}", &c), -EINVAL);
}

static void test_version_roundtrip(void **state)
{
	struct vfio_user_version_info v = {
		.major = 0, .minor = 1,
		.caps = { .max_msg_fds = 64, .max_data_xfer_size = 4096, .max_dma_maps = 9,
			  .pgsizes = 0x201000 },
	}, w;
	uint8_t buf[256];
	int n;

	(void)state;
	n = vfio_user_version_encode(buf, sizeof(buf), &v);
	assert_true(n > 4);
	assert_int_equal(buf[n - 1], 0); /* NUL terminated */
	assert_int_equal(vfio_user_version_decode(buf, (size_t)n, &w), 0);
	assert_int_equal(w.major, 0);
	assert_int_equal(w.minor, 1);
	assert_int_equal(w.caps.max_msg_fds, 64);
	assert_int_equal(w.caps.max_data_xfer_size, 4096);
	assert_int_equal(w.caps.max_dma_maps, 9);
	assert_int_equal(w.caps.pgsizes, 0x201000);
	assert_int_equal(vfio_user_version_encode(buf, 20, &v), -ENOSPC);
	assert_int_equal(vfio_user_version_decode(buf, 3, &w), -EINVAL);
	/* bad JSON in the payload */
	memcpy(buf + 4, "{oops}", 7);
	assert_int_equal(vfio_user_version_decode(buf, 11, &w), -EINVAL);
}

/* ---- GET_REGION_INFO ---- */

static void test_region_info_roundtrip(void **state)
{
	struct vfio_user_region_desc d = {
		.index = 0, .flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP,
		.size = 0x4000, .offset = 0x10000, .sparse = true, .n_areas = 2,
		.areas = { { 0x1000, 0x1000 }, { 0x3000, 0x1000 } },
	}, o;
	uint8_t buf[512];
	int n;

	(void)state;
	/* room for the chain */
	n = vfio_user_region_info_encode(buf, sizeof(buf), 256, &d);
	assert_int_equal(n, 32 + 16 + 2 * 16);
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 0, 256, &o), 0);
	assert_int_equal(o.argsz, n);
	assert_int_equal(o.size, d.size);
	assert_int_equal(o.offset, d.offset);
	assert_int_equal(o.flags, d.flags);
	assert_true(o.sparse);
	assert_int_equal(o.n_areas, 2);
	assert_memory_equal(o.areas, d.areas, 2 * sizeof(d.areas[0]));
	/* too small: only the fixed part, argsz says what is needed */
	n = vfio_user_region_info_encode(buf, sizeof(buf), 32, &d);
	assert_int_equal(n, 32);
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 0, 32, &o), 0);
	assert_int_equal(o.argsz, 32 + 16 + 32);
	assert_false(o.sparse);
	/* no capabilities at all */
	d.sparse = false;
	n = vfio_user_region_info_encode(buf, sizeof(buf), 256, &d);
	assert_int_equal(n, 32);
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 0, 256, &o), 0);
	assert_false(o.sparse);
	assert_int_equal(vfio_user_region_info_encode(buf, 16, 256, &d), -ENOSPC);
}

static void test_region_info_bad(void **state)
{
	struct vfio_user_region_desc d = {
		.index = 2, .flags = VFIO_REGION_INFO_FLAG_MMAP, .size = 0x4000, .sparse = true,
		.n_areas = 1, .areas = { { 0x1000, 0x1000 } },
	}, o;
	uint8_t good[128], buf[128];
	struct vfio_user_region_info ri;
	struct vfio_user_cap_sparse cs;
	int n = vfio_user_region_info_encode(good, sizeof(good), 128, &d);

	(void)state;
	assert_int_equal(n, 64);
	/* truncated, wrong index */
	assert_int_equal(vfio_user_region_info_decode(good, 31, 2, 128, &o), -EPROTO);
	assert_int_equal(vfio_user_region_info_decode(good, (size_t)n, 3, 128, &o), -EPROTO);
	/* argsz larger than the bytes present */
	assert_int_equal(vfio_user_region_info_decode(good, (size_t)n - 1, 2, 128, &o), -EPROTO);
	/* cap_offset pointing inside the fixed part, or past the end */
	memcpy(buf, good, sizeof(good));
	memcpy(&ri, buf, sizeof(ri));
	ri.cap_offset = 8;
	memcpy(buf, &ri, sizeof(ri));
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 2, 128, &o), -EPROTO);
	ri.cap_offset = 60;
	memcpy(buf, &ri, sizeof(ri));
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 2, 128, &o), -EPROTO);
	ri.cap_offset = 200; /* beyond argsz (found by the fuzzer) */
	memcpy(buf, &ri, sizeof(ri));
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 2, 128, &o), -EPROTO);
	/* a chain that loops back */
	memcpy(buf, good, sizeof(good));
	memcpy(&cs, buf + 32, sizeof(cs));
	cs.hdr.next = 32;
	memcpy(buf + 32, &cs, sizeof(cs));
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 2, 128, &o), -EPROTO);
	/* more areas than bytes */
	cs.hdr.next = 0;
	cs.nr_areas = 2;
	memcpy(buf + 32, &cs, sizeof(cs));
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 2, 128, &o), -EPROTO);
	cs.nr_areas = 0xffffffff;
	memcpy(buf + 32, &cs, sizeof(cs));
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 2, 128, &o), -EPROTO);
	/* an area outside the region */
	memcpy(buf, good, sizeof(good));
	struct vfio_user_sparse_area a = { 0x3000, 0x2000 };
	memcpy(buf + 48, &a, sizeof(a));
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 2, 128, &o), -EPROTO);
	a = (struct vfio_user_sparse_area){ UINT64_MAX, 2 };
	memcpy(buf + 48, &a, sizeof(a));
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 2, 128, &o), -EPROTO);
	/* wrong capability version */
	memcpy(buf, good, sizeof(good));
	cs.hdr.version = 2;
	cs.nr_areas = 1;
	memcpy(buf + 32, &cs, sizeof(cs));
	assert_int_equal(vfio_user_region_info_decode(buf, (size_t)n, 2, 128, &o), -EPROTO);
}

/* ---- GET_REGION_IO_FDS ---- */

static void test_io_fds_roundtrip(void **state)
{
	struct vfio_user_ioeventfd e[3] = {
		{ .offset = 0x3000, .size = 2, .fd_index = 0 },
		{ .offset = 0x3004, .size = 2, .fd_index = 1, .flags = VFIO_USER_IOEVENTFD_DATAMATCH,
		  .datamatch = 5 },
		{ .offset = 0x3008, .size = 4, .fd_index = 1, .type = VFIO_USER_IO_FD_TYPE_IOREGIONFD },
	};
	struct vfio_user_iofd o[4];
	uint8_t buf[256];
	uint32_t need;
	unsigned n_out;
	int n;

	(void)state;
	n = vfio_user_io_fds_encode(buf, sizeof(buf), 256, 0, e, 3);
	assert_int_equal(n, 16 + 3 * 40);
	assert_int_equal(vfio_user_io_fds_decode(buf, (size_t)n, 0, 256, 2, o, 4, &n_out, &need), 0);
	assert_int_equal(need, n);
	assert_int_equal(n_out, 2); /* the ioregionfd entry is skipped */
	assert_int_equal(o[0].offset, 0x3000);
	assert_int_equal(o[0].size, 2);
	assert_int_equal(o[1].fd_index, 1);
	assert_int_equal(o[1].flags, VFIO_USER_IOEVENTFD_DATAMATCH);
	assert_int_equal(o[1].datamatch, 5);
	/* small argsz: counts only */
	n = vfio_user_io_fds_encode(buf, sizeof(buf), 16, 0, e, 3);
	assert_int_equal(n, 16);
	assert_int_equal(vfio_user_io_fds_decode(buf, (size_t)n, 0, 16, 0, o, 4, &n_out, &need), 0);
	assert_int_equal(need, 16 + 3 * 40);
	assert_int_equal(n_out, 0);
	/* fd index beyond the fds that came */
	n = vfio_user_io_fds_encode(buf, sizeof(buf), 256, 0, e, 3);
	assert_int_equal(vfio_user_io_fds_decode(buf, (size_t)n, 0, 256, 1, o, 4, &n_out, &need), -EPROTO);
	/* wrong region, truncated, bad stride */
	assert_int_equal(vfio_user_io_fds_decode(buf, (size_t)n, 1, 256, 2, o, 4, &n_out, &need), -EPROTO);
	assert_int_equal(vfio_user_io_fds_decode(buf, (size_t)n - 1, 0, 256, 2, o, 4, &n_out, &need), -EPROTO);
	struct vfio_user_io_fds h;
	memcpy(&h, buf, sizeof(h));
	h.argsz = 16 + 3 * 40 - 3; /* 117 bytes for 3 entries */
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(vfio_user_io_fds_decode(buf, (size_t)n, 0, 256, 2, o, 4, &n_out, &need), -EPROTO);
	h.argsz = 8;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(vfio_user_io_fds_decode(buf, (size_t)n, 0, 256, 2, o, 4, &n_out, &need), -EPROTO);
}

/* ---- socket framing ---- */

static void test_sock_roundtrip(void **state)
{
	uint8_t msg[64] = { 0 }, in[128];
	struct vfio_user_hdr h;
	struct vfio_user_fds fds;
	int sv[2], efd[2];
	int before = count_fds();

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	efd[0] = eventfd(0, 0);
	efd[1] = eventfd(0, 0);
	vfio_user_hdr_init(&h, 9, VFIO_USER_DEVICE_SET_IRQS, 48, VFIO_USER_F_TYPE_COMMAND);
	memcpy(msg, &h, sizeof(h));
	memset(msg + 16, 0xab, 48);
	assert_int_equal(vfio_user_send(sv[0], msg, 64, efd, 2, 1000), 0);
	assert_int_equal(vfio_user_recv(sv[1], in, sizeof(in), &fds, 1000), 64);
	assert_memory_equal(in, msg, 64);
	assert_int_equal(fds.n, 2);
	assert_false(fds.truncated);
	/* the received fds are the same eventfds */
	uint64_t one = 1, got = 0;
	assert_int_equal(write(efd[1], &one, 8), 8);
	assert_int_equal(read(fds.fd[1], &got, 8), 8);
	assert_int_equal(got, 1);
	assert_true(fcntl(fds.fd[0], F_GETFD) & FD_CLOEXEC);
	vfio_user_fds_close(&fds, 0);
	assert_int_equal(fds.n, 0);
	/* a message bigger than the buffer: the stream is bad */
	assert_int_equal(vfio_user_send(sv[0], msg, 64, NULL, 0, 1000), 0);
	assert_int_equal(vfio_user_recv(sv[1], in, 32, &fds, 1000), -EPROTO);
	/* a header that claims less than itself */
	h.size = 8;
	memcpy(msg, &h, sizeof(h));
	assert_int_equal(vfio_user_send(sv[0], msg, 16, NULL, 0, 1000), 0);
	assert_int_equal(vfio_user_recv(sv[1], in, sizeof(in), &fds, 1000), -EPROTO);
	close(sv[1]);
	close(sv[0]);
	close(efd[0]);
	close(efd[1]);
	assert_int_equal(count_fds(), before);
}

static void test_sock_partial(void **state)
{
	uint8_t msg[48] = { 0 }, in[128];
	struct vfio_user_hdr h;
	struct vfio_user_fds fds;
	int before = count_fds();
	int sv[2], efd = eventfd(0, 0);

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	vfio_user_hdr_init(&h, 1, VFIO_USER_DMA_MAP, 32, VFIO_USER_F_TYPE_COMMAND);
	memcpy(msg, &h, sizeof(h));
	/* only part of the message, with an fd: times out, the fd is closed */
	assert_int_equal(vfio_user_send(sv[0], msg, 20, &efd, 1, 1000), 0);
	assert_int_equal(vfio_user_recv(sv[1], in, sizeof(in), &fds, 50), -ETIMEDOUT);
	assert_int_equal(fds.n, 0);
	/* nothing at all */
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(vfio_user_recv(sv[1], in, sizeof(in), &fds, 20), -ETIMEDOUT);
	/* the peer closes half way */
	assert_int_equal(vfio_user_send(sv[0], msg, 30, NULL, 0, 1000), 0);
	close(sv[0]);
	assert_int_equal(vfio_user_recv(sv[1], in, sizeof(in), &fds, 1000), -ECONNRESET);
	assert_int_equal(vfio_user_recv(sv[1], in, sizeof(in), &fds, 1000), -ECONNRESET);
	close(sv[1]);
	/* sending to a closed peer */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(vfio_user_send(sv[0], msg, 48, NULL, 0, 1000), -EPIPE);
	close(sv[0]);
	close(efd);
	assert_int_equal(count_fds(), before);
}

/* More fds than VFIO_USER_MAX_FDS: all are closed and the message flagged. */
static void test_sock_too_many_fds(void **state)
{
	enum { N = VFIO_USER_MAX_FDS + 6 };
	char ctl[CMSG_SPACE(sizeof(int) * N)];
	uint8_t msg[16], in[64];
	struct vfio_user_hdr h;
	struct vfio_user_fds fds;
	struct iovec iov = { msg, sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	int sv[2], fd[N], before;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	before = count_fds();
	for (int i = 0; i < N; i++)
		fd[i] = eventfd(0, 0);
	vfio_user_hdr_init(&h, 1, VFIO_USER_DEVICE_RESET, 0, VFIO_USER_F_TYPE_COMMAND);
	memcpy(msg, &h, sizeof(h));
	memset(ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * N);
	memcpy(CMSG_DATA(c), fd, sizeof(fd));
	assert_int_equal(sendmsg(sv[0], &mh, 0), 16);
	for (int i = 0; i < N; i++)
		close(fd[i]);
	assert_int_equal(vfio_user_recv(sv[1], in, sizeof(in), &fds, 1000), 16);
	assert_true(fds.truncated);
	assert_int_equal(fds.n, 0);
	assert_int_equal(count_fds(), before);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_check),
		cmocka_unit_test(test_reply_check),
		cmocka_unit_test(test_req_fixed),
		cmocka_unit_test(test_req_dma_map),
		cmocka_unit_test(test_req_set_irqs),
		cmocka_unit_test(test_req_region_rw),
		cmocka_unit_test(test_caps_good),
		cmocka_unit_test(test_caps_bad),
		cmocka_unit_test(test_version_roundtrip),
		cmocka_unit_test(test_region_info_roundtrip),
		cmocka_unit_test(test_region_info_bad),
		cmocka_unit_test(test_io_fds_roundtrip),
		cmocka_unit_test(test_sock_roundtrip),
		cmocka_unit_test(test_sock_partial),
		cmocka_unit_test(test_sock_too_many_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
