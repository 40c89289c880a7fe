/* SPDX-License-Identifier: MIT */
/*
 * VFIO group + container backend (type1v2 and no-IOMMU) and the shared
 * device fd code, up to the ioctl boundary: against the fake kernel of
 * vfio_fake_kernel.c and a fake sysfs/dev/proc tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "iommu/devio.h"
#include "iommu/vfio.h"
#include "iommu/vfio_uapi.h"
#include "log.h"
#include "vfio_fake.h"

static void test_group_open_sequence(void **state)
{
	struct vn_devio *d;
	struct vn_dma_mem m;

	assert_int_equal(vfio_group_open(BDF, false, &d), 0);
	assert_string_equal(d->access, "vfio-group");
	assert_string_equal(fk.log, "API EXT STATUS SET_CONTAINER SET_IOMMU IOMMU_INFO IOMMU_INFO "
				    "GET_DEVICE_FD DEVICE_INFO ");
	assert_int_equal(fk.iommu_type, VFIO_TYPE1v2_IOMMU);
	assert_int_equal(count_fds(), fake_fds_before + 3); /* container, group, device */

	/* MAP_DMA gets an IOVA from the kernel's ranges, aligned, and the
	 * region's own address and size. */
	assert_int_equal(vn_dma_alloc(&m, 3 * 4096, "vnet-test-map"), 0);
	assert_int_equal(d->ops->dma_map(d, &m), 0);
	assert_true(m.mapped);
	assert_int_equal(fk.maps, 1);
	assert_int_equal(fk.map.argsz, sizeof(fk.map));
	assert_int_equal(fk.map.flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	assert_int_equal(fk.map.vaddr, (uintptr_t)m.va);
	assert_int_equal(fk.map.size, m.len);
	assert_int_equal(fk.map.iova, m.iova);
	/* The range starts at 0, but the first MiB is never handed out. */
	assert_int_equal(m.iova, 1 << 20);
	assert_int_equal(d->ops->dma_map(d, &m), -EBUSY);
	/* A second region gets the next IOVA. */
	struct vn_dma_mem m2;
	assert_int_equal(vn_dma_alloc(&m2, 4096, "vnet-test-map2"), 0);
	assert_int_equal(d->ops->dma_map(d, &m2), 0);
	assert_int_equal(m2.iova, (1 << 20) + m.len);
	assert_int_equal(d->ops->dma_unmap(d, &m2), 0);
	assert_int_equal(fk.unmap_iova, (1 << 20) + m.len);
	assert_int_equal(fk.unmap_size, 4096);
	assert_int_equal(d->ops->dma_unmap(d, &m), 0);
	assert_int_equal(fk.unmap_iova, 1 << 20);
	assert_int_equal(fk.unmap_size, m.len);
	assert_false(m.mapped);
	assert_int_equal(d->ops->dma_unmap(d, &m), -EINVAL);
	vn_dma_free(&m);
	vn_dma_free(&m2);

	d->ops->close(d);
	assert_non_null(strstr(fk.log, "DEVICE_INFO UNSET_CONTAINER "));
}

static void test_group_not_viable(void **state)
{
	struct vn_devio *d = NULL;

	/* Two more devices in group 7, one bound to a host driver. */
	fake_pci_dev("0000:00:05.0", "e1000e", 7);
	fake_pci_dev("0000:00:05.1", NULL, 7);
	fk.viable = false;
	assert_int_equal(vfio_group_open(BDF, false, &d), -EBUSY);
	assert_null(d);
	const char *msg = vn_err_msg();
	assert_non_null(strstr(msg, "IOMMU group 7 of 0000:00:04.0 is not viable"));
	assert_non_null(strstr(msg, "0000:00:05.0 (e1000e)"));
	assert_non_null(strstr(msg, "0000:00:05.1 (no driver)"));
	/* Our own device is not listed among the others. */
	assert_null(strstr(msg, "0000:00:04.0 ("));
	assert_string_equal(fk.log, "API EXT STATUS ");
}

/* Open in group mode with the given info reply; expect err and words. */
static void info_fails(enum info_mode mode, int err, const char *words)
{
	struct vn_devio *d = NULL;

	fk.info = mode;
	fk.log[0] = '\0';
	assert_int_equal(vfio_group_open(BDF, false, &d), err);
	assert_null(d);
	if (!strstr(vn_err_msg(), words))
		fail_msg("info mode %d: \"%s\" lacks \"%s\"", mode, vn_err_msg(), words);
	/* The container was detached again on the way out. */
	assert_non_null(strstr(fk.log, "UNSET_CONTAINER"));
	assert_int_equal(count_fds(), fake_fds_before);
}

static void test_type1_bad_info(void **state)
{
	info_fails(INFO_NO_CAPS, -ENOTSUP, "no usable IOVA ranges");
	info_fails(INFO_NO_RANGE, -ENOTSUP, "no IOVA range capability");
	info_fails(INFO_LOOP, -EINVAL, "chain at 56 points to 56");
	info_fails(INFO_OUTSIDE, -EINVAL, "chain at 24 points to 112");
	info_fails(INFO_LAST_PAST, -EINVAL, "chain at 56 points to 168");
	info_fails(INFO_TRUNCATED, -EINVAL, "claims 3 ranges");
	info_fails(INFO_ZERO, -EINVAL, "claims 0 ranges");
	info_fails(INFO_UNSORTED, -EINVAL, "overlaps or precedes");
}

static void test_type1_range_use(void **state)
{
	struct vn_dma_mem m[2];
	struct vn_devio *d;

	/* The allocator honours the MSI hole reported by the chain: fill the
	 * first range and the next mapping must land above 0xfeefffff. */
	assert_int_equal(vfio_group_open(BDF, false, &d), 0);
	struct vfio_dev *vd = VN_CONTAINER_OF(d, struct vfio_dev, base);
	uint64_t hole;
	assert_int_equal(vn_iova_get(&vd->iova, 0xfedfe000ULL - (1 << 20), 4096, &hole), 0);
	assert_int_equal(hole, 1 << 20);
	assert_int_equal(vd->iova_align, 4096); /* lowest bit of iova_pgsizes */
	assert_int_equal(vn_dma_alloc(&m[0], 8192, "vnet-test-r0"), 0);
	assert_int_equal(vn_dma_alloc(&m[1], 8192, "vnet-test-r1"), 0);
	assert_int_equal(d->ops->dma_map(d, &m[0]), 0);
	assert_int_equal(m[0].iova, 0xfedfe000ULL);
	assert_int_equal(d->ops->dma_map(d, &m[1]), 0);
	assert_int_equal(m[1].iova, 0xfef00000ULL);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(d->ops->dma_unmap(d, &m[i]), 0);
		vn_dma_free(&m[i]);
	}
	d->ops->close(d);
}

static void test_group_staged_undo(void **state)
{
	static const struct {
		unsigned long req;
		bool attached; /* SET_CONTAINER had succeeded */
	} steps[] = {
		{ VFIO_GET_API_VERSION, false }, { VFIO_CHECK_EXTENSION, false },
		{ VFIO_GROUP_GET_STATUS, false }, { VFIO_GROUP_SET_CONTAINER, false },
		{ VFIO_SET_IOMMU, true },         { VFIO_IOMMU_GET_INFO, true },
		{ VFIO_GROUP_GET_DEVICE_FD, true }, { VFIO_DEVICE_GET_INFO, true },
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct vn_devio *d = NULL;

		fk.fail_req = steps[i].req;
		fk.log[0] = '\0';
		assert_true(vfio_group_open(BDF, false, &d) < 0);
		assert_null(d);
		assert_non_null(strstr(fk.log, "FAIL"));
		assert_int_equal(strstr(fk.log, "UNSET_CONTAINER") != NULL, steps[i].attached);
		assert_int_equal(count_fds(), fake_fds_before);
	}
	/* A missing /dev node fails before any ioctl. */
	fk.fail_req = 0;
	fk.log[0] = '\0';
	fake_unlink("dev/vfio/7");
	struct vn_devio *d = NULL;
	assert_int_equal(vfio_group_open(BDF, false, &d), -ENOENT);
	assert_non_null(strstr(vn_err_msg(), "dev/vfio/7"));
	assert_int_equal(count_fds(), fake_fds_before);
}

static void test_map_failures(void **state)
{
	struct vn_devio *d;
	struct vn_dma_mem m;

	assert_int_equal(vfio_group_open(BDF, false, &d), 0);
	assert_int_equal(vn_dma_alloc(&m, 4096, "vnet-test-mapfail"), 0);
	/* A failed MAP_DMA gives its IOVA back: the next map reuses it. */
	fk.fail_req = VFIO_IOMMU_MAP_DMA;
	assert_int_equal(d->ops->dma_map(d, &m), -EIO);
	assert_false(m.mapped);
	/* Out of lockable memory: the error names the limit. */
	fk.fail_err = ENOMEM;
	assert_int_equal(d->ops->dma_map(d, &m), -ENOMEM);
	assert_non_null(strstr(vn_err_msg(), "RLIMIT_MEMLOCK"));
	assert_non_null(strstr(vn_err_msg(), "VFIO_IOMMU_MAP_DMA"));
	fk.fail_err = 0;
	fk.fail_req = 0;
	assert_int_equal(d->ops->dma_map(d, &m), 0);
	assert_int_equal(m.iova, 1 << 20);
	/* An UNMAP that unmapped less than the region is an error; the region
	 * stays mapped (its IOVA stays taken). */
	fk.unmap_short = true;
	assert_int_equal(d->ops->dma_unmap(d, &m), -EIO);
	assert_true(m.mapped);
	fk.unmap_short = false;
	assert_int_equal(d->ops->dma_unmap(d, &m), 0);
	vn_dma_free(&m);
	d->ops->close(d);
}

static void test_device_fd(void **state)
{
	struct vn_region_info ri;
	uint32_t v = 0x12345678, got = 0, count;
	int dev = open(fake_path("devfile"), O_RDWR | O_CLOEXEC);
	struct vn_devio *d;
	void *va;

	assert_int_equal(vfio_group_open(BDF, false, &d), 0);

	/* Region info, including the sparse mmap capability of BAR0. */
	assert_int_equal(d->ops->region_info(d, 0, &ri), 0);
	assert_int_equal(ri.size, 0x4000);
	assert_int_equal(ri.flags, VN_REGION_READ | VN_REGION_WRITE | VN_REGION_MMAP);
	assert_int_equal(d->ops->region_info(d, 1, &ri), 0);
	assert_int_equal(ri.size, 0);
	assert_int_equal(d->ops->region_info(d, 2, &ri), 0);
	assert_int_equal(ri.flags, VN_REGION_READ | VN_REGION_WRITE);
	assert_int_equal(d->ops->region_info(d, VFIO_PCI_VGA_REGION_INDEX, &ri), 0);
	assert_int_equal(ri.size, 0);
	assert_int_equal(d->ops->region_info(d, 50, &ri), 0);
	assert_int_equal(ri.size, 0);

	/* Register access lands at the region's offset in the device fd. */
	assert_int_equal(vn_devio_write(d, VFIO_PCI_CONFIG_REGION_INDEX, 0x10, &v, 4), 0);
	assert_int_equal(pread(dev, &got, 4, VFIO_PCI_CONFIG_REGION_INDEX * REGION_STRIDE + 0x10), 4);
	assert_int_equal(got, v);
	v = 0xcafe;
	assert_int_equal(pwrite(dev, &v, 2, 2 * REGION_STRIDE + 0xffe), 2);
	got = 0;
	assert_int_equal(vn_devio_read(d, 2, 0xffe, &got, 2), 0);
	assert_int_equal(got, 0xcafe);
	assert_int_equal(vn_devio_read(d, 2, 0xffe, &got, 4), -EINVAL);      /* past the end */
	assert_int_equal(vn_devio_read(d, 2, UINT64_MAX - 1, &got, 4), -EINVAL); /* wraps */
	assert_int_equal(vn_devio_read(d, 1, 0, &got, 4), -EINVAL);          /* absent region */
	assert_int_equal(vn_devio_read(d, 60, 0, &got, 4), -EINVAL);

	/* mmap: inside a sparse area works and is the device fd's content... */
	assert_int_equal(d->ops->region_map(d, 0, 0x2100, 8, &va), 0);
	*(volatile uint32_t *)va = 0xa5a5a5a5;
	assert_int_equal(pread(dev, &got, 4, 0x2100), 4);
	assert_int_equal(got, 0xa5a5a5a5);
	assert_int_equal(d->ops->region_map(d, 0, 0x10, 0x10, &va), 0);
	/* ...but not across the hole between the areas, nor without MMAP. */
	assert_int_equal(d->ops->region_map(d, 0, 0x1000, 4, &va), -ENOTSUP);
	assert_int_equal(d->ops->region_map(d, 0, 0xff0, 0x20, &va), -ENOTSUP);
	assert_int_equal(d->ops->region_map(d, 0, 0x3ff0, 0x20, &va), -ENOTSUP);
	assert_int_equal(d->ops->region_map(d, 2, 0, 4, &va), -ENOTSUP);

	/* IRQs: eventfds with -1 holes, then disable. */
	assert_int_equal(d->ops->irq_info(d, VFIO_PCI_MSIX_IRQ_INDEX, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(d->ops->irq_info(d, 40, &count), 0);
	assert_int_equal(count, 0);
	int efd = eventfd(0, EFD_CLOEXEC);
	int fds[3] = { efd, -1, efd };
	assert_int_equal(d->ops->set_irqs(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 3, fds), 0);
	assert_int_equal(fk.irq.flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(fk.irq.index, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(fk.irq.count, 3);
	assert_int_equal(fk.irq.fds[0], efd);
	assert_int_equal(fk.irq.fds[1], -1);
	assert_int_equal(fk.irq.fds[2], efd);
	assert_int_equal(d->ops->set_irqs(d, VFIO_PCI_MSIX_IRQ_INDEX, 1, 1, &fds[2]), 0);
	assert_int_equal(fk.irq.start, 1);
	assert_int_equal(fk.irq.count, 1);
	assert_int_equal(d->ops->set_irqs(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL), 0);
	assert_int_equal(fk.irq.flags, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(fk.irq.count, 0);
	fds[1] = -7;
	assert_int_equal(d->ops->set_irqs(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 3, fds), -EINVAL);
	assert_int_equal(d->ops->set_irqs(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 5000, fds), -EINVAL);
	close(efd);
	/* INTx unmask after VFIO's automask: DATA_NONE | ACTION_UNMASK, no data. */
	assert_int_equal(d->ops->irq_unmask(d, VFIO_PCI_INTX_IRQ_INDEX, 0, 1), 0);
	assert_int_equal(fk.irq.flags, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK);
	assert_int_equal(fk.irq.index, VFIO_PCI_INTX_IRQ_INDEX);
	assert_int_equal(fk.irq.start, 0);
	assert_int_equal(fk.irq.count, 1);
	assert_int_equal(d->ops->irq_unmask(d, VFIO_PCI_INTX_IRQ_INDEX, 0, 0), -EINVAL);
	assert_int_equal(d->ops->irq_unmask(d, VFIO_PCI_INTX_IRQ_INDEX, UINT32_MAX, 1), -EINVAL);

	/* The "gone" fd: an eventfd routed to the device request interrupt,
	 * once (the second call reuses it); close() releases it, which the
	 * teardown's fd check sees. */
	unsigned events = 0;
	int req = d->ops->gone_fd(d, &events);
	assert_true(req >= 0);
	assert_int_equal(events, POLLIN);
	assert_int_equal(fk.irq.flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(fk.irq.index, VFIO_PCI_REQ_IRQ_INDEX);
	assert_int_equal(fk.irq.start, 0);
	assert_int_equal(fk.irq.count, 1);
	assert_int_equal(fk.irq.fds[0], req);
	fk.irq.index = 0;
	assert_int_equal(d->ops->gone_fd(d, &events), req);
	assert_int_equal(fk.irq.index, 0);

	assert_int_equal(d->ops->reset(d), 0);
	assert_int_equal(fk.resets, 1);
	d->ops->close(d); /* also unmaps both region mappings */
	close(dev);
}

static void test_bad_sparse_cap(void **state)
{
	struct vn_devio *d = NULL;

	/* Region info is read at open: a malformed capability fails the open
	 * cleanly (teardown checks that no fd is left behind). */
	fk.sparse_bad = true;
	assert_int_equal(vfio_group_open(BDF, false, &d), -EINVAL);
	assert_null(d);
	assert_non_null(strstr(vn_err_msg(), "claims 3 areas"));
	assert_non_null(strstr(fk.log, "UNSET_CONTAINER"));
}

static void test_no_reset(void **state)
{
	struct vn_devio *d;

	fk.device_resettable = false;
	assert_int_equal(vfio_group_open(BDF, false, &d), 0);
	assert_int_equal(d->ops->reset(d), -ENOTSUP);
	assert_int_equal(fk.resets, 0);
	d->ops->close(d);
}

/* Write one pagemap entry for the page holding va. */
static void pagemap_set(int fd, const void *va, uint64_t e)
{
	off_t off = (off_t)((uintptr_t)va / (uintptr_t)sysconf(_SC_PAGESIZE) * 8);

	assert_int_equal(pwrite(fd, &e, 8, off), 8);
}

static void test_noiommu_pagemap(void **state)
{
	const uint64_t present = 1ULL << 63, pg = (uint64_t)sysconf(_SC_PAGESIZE);
	struct vn_devio *d;
	struct vn_dma_mem m;
	int pm;

	assert_int_equal(vfio_group_open(BDF, true, &d), 0);
	assert_string_equal(d->access, "vfio-noiommu");
	assert_int_equal(fk.iommu_type, VFIO_NOIOMMU_IOMMU);
	assert_null(strstr(fk.log, "IOMMU_INFO")); /* no IOVA space to ask about */

	assert_int_equal(vn_dma_alloc(&m, 3 * pg, "vnet-test-noiommu"), 0);
	/* A sparse fake pagemap: entries at va / page size * 8. Bits 55-62
	 * (soft-dirty, exclusive, ...) must not leak into the address. */
	pm = open(fake_path("proc/self/pagemap"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(pm >= 0);
	for (int i = 0; i < 3; i++)
		pagemap_set(pm, (char *)m.va + i * pg, present | (1ULL << 55) | (0x1000 + 7 * i));
	assert_int_equal(d->ops->dma_map(d, &m), 0);
	assert_true(m.mapped);
	assert_non_null(m.page_iova);
	for (int i = 0; i < 3; i++)
		assert_int_equal(m.page_iova[i], (0x1000 + 7 * i) * pg);
	assert_int_equal(vn_dma_iova(&m, (char *)m.va + pg + 100), 0x1007 * pg + 100);
	assert_int_equal(vn_dma_contig(&m), pg);
	assert_int_equal(d->ops->dma_unmap(d, &m), 0);
	assert_null(m.page_iova);
	assert_false(m.mapped);

	/* PFN 0: no CAP_SYS_ADMIN. */
	pagemap_set(pm, (char *)m.va + pg, present);
	assert_int_equal(d->ops->dma_map(d, &m), -EPERM);
	assert_non_null(strstr(vn_err_msg(), "CAP_SYS_ADMIN"));
	assert_false(m.mapped);
	assert_null(m.page_iova);
	/* Not present. */
	pagemap_set(pm, (char *)m.va + pg, 0x1234);
	assert_int_equal(d->ops->dma_map(d, &m), -EFAULT);
	/* Short file. */
	assert_int_equal(ftruncate(pm, 8), 0);
	assert_int_equal(d->ops->dma_map(d, &m), -EIO);
	assert_false(m.mapped);
	close(pm);
	vn_dma_free(&m);
	d->ops->close(d);
}

static void test_noiommu_no_pagemap(void **state)
{
	struct vn_devio *d;
	struct vn_dma_mem m;

	assert_int_equal(vfio_group_open(BDF, true, &d), 0);
	assert_int_equal(vn_dma_alloc(&m, 4096, "vnet-test-nopm"), 0);
	assert_int_equal(d->ops->dma_map(d, &m), -ENOENT);
	assert_non_null(strstr(vn_err_msg(), "pagemap"));
	vn_dma_free(&m);
	d->ops->close(d);
}

static void test_devio_noiommu(void **state)
{
	struct vn_devio *d;
	struct vn_uri u;

	/* The fixture's device is in a no-IOMMU group: usable once enabled,
	 * and then only when the URI asks for the mode. */
	assert_int_equal(vn_uri_parse("vfio:0000:00:04.0", &u), 0);
	assert_int_equal(vn_devio_open(&u, VNET_VFIO_AUTO, &d), -ENODEV);
	fake_file("sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "Y\n");
	assert_int_equal(vn_devio_open(&u, VNET_VFIO_AUTO, &d), -EPERM);
	assert_int_equal(vn_uri_parse("vfio:0000:00:04.0?mode=noiommu", &u), 0);
	assert_int_equal(vn_devio_open(&u, VNET_VFIO_AUTO, &d), 0);
	assert_string_equal(d->access, "vfio-noiommu");
	assert_int_equal(fk.iommu_type, VFIO_NOIOMMU_IOMMU);
	d->ops->close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group_open_sequence, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_group_not_viable, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_type1_bad_info, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_type1_range_use, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_group_staged_undo, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_map_failures, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_device_fd, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_bad_sparse_cap, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_no_reset, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_noiommu_pagemap, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_noiommu_no_pagemap, fake_kernel_setup, fake_kernel_teardown),
		cmocka_unit_test_setup_teardown(test_devio_noiommu, fake_kernel_setup, fake_kernel_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
