/* SPDX-License-Identifier: MIT */
/* The fake device behind the vfio-user server core (vfio_user_fake.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommu/devio.h"
#include "vfio_user_fake.h"

static uint8_t *fake_mem(struct fake *f, unsigned idx)
{
	return idx == VFIO_PCI_CONFIG_REGION_INDEX ? f->cfg : f->bar;
}

static int fake_read(void *dev, unsigned idx, uint64_t off, void *buf, uint32_t len)
{
	struct fake *f = dev;

	__atomic_fetch_add(&f->reads, 1, __ATOMIC_RELEASE);
	memcpy(buf, fake_mem(f, idx) + off, len);
	return 0;
}

static int fake_write(void *dev, unsigned idx, uint64_t off, const void *buf, uint32_t len)
{
	struct fake *f = dev;

	__atomic_fetch_add(&f->writes, 1, __ATOMIC_RELEASE);
	memcpy(fake_mem(f, idx) + off, buf, len);
	if (idx == VFIO_PCI_CONFIG_REGION_INDEX && off == PROBE_REG && len == 8) {
		uint64_t iova;
		uint8_t *p;

		memcpy(&iova, buf, 8);
		p = vfu_dma_ptr(f->srv, iova, 32, true);
		f->dma_ok = p != NULL;
		if (p) {
			memcpy(f->dma_seen, p, 16);
			memcpy(p + 16, "written-by-dev!", 16);
		}
	}
	return 0;
}

static void fake_set_irqs(void *dev, unsigned idx, unsigned start, unsigned count, const int *fds)
{
	struct fake *f = dev;

	assert_int_equal(idx, MSIX);
	if (count == 0) {
		for (unsigned i = 0; i < 4; i++)
			f->irq[i] = -1;
		return;
	}
	assert_true(start + count <= 4);
	for (unsigned i = 0; i < count; i++)
		f->irq[start + i] = fds[i];
}

/* Records the call; only INTx can be masked here, like the sim. */
static int fake_irq_mask(void *dev, unsigned idx, unsigned start, unsigned count, bool masked)
{
	struct fake *f = dev;

	if (idx != INTX)
		return -ENOTSUP;
	__atomic_store_n(&f->mask[0], idx, __ATOMIC_RELEASE);
	__atomic_store_n(&f->mask[1], start, __ATOMIC_RELEASE);
	__atomic_store_n(&f->mask[2], count, __ATOMIC_RELEASE);
	__atomic_store_n(&f->mask[3], masked, __ATOMIC_RELEASE);
	return 0;
}

static void fake_reset(void *dev, bool client_gone)
{
	struct fake *f = dev;

	if (client_gone)
		__atomic_fetch_add(&f->resets_gone, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&f->resets, 1, __ATOMIC_RELEASE);
}

static void fake_dma_unmap(void *dev, uint64_t iova, uint64_t len)
{
	struct fake *f = dev;

	__atomic_fetch_add(&f->unmaps, 1, __ATOMIC_RELEASE);
}

static const struct vfu_dev_ops fake_ops = {
	.region_read = fake_read,
	.region_write = fake_write,
	.set_irqs = fake_set_irqs,
	.irq_mask = fake_irq_mask,
	.reset = fake_reset,
	.dma_unmap = fake_dma_unmap,
};

int rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct vfu_server_cfg cfg = { .ops = &fake_ops };
	struct vfu_region *bar = &cfg.regions[0], *cs = &cfg.regions[VFIO_PCI_CONFIG_REGION_INDEX];

	assert_non_null(r);
	r->f.memfd = memfd_create("fake-bar", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(r->f.memfd >= 0);
	assert_int_equal(ftruncate(r->f.memfd, BAR_SIZE), 0);
	/* the client maps only files that cannot shrink under the mapping */
	assert_int_equal(fcntl(r->f.memfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	r->f.bar = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r->f.memfd, 0);
	assert_true(r->f.bar != MAP_FAILED);
	for (int i = 0; i < 2; i++)
		r->f.kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (int i = 0; i < 4; i++)
		r->f.irq[i] = -1;
	cfg.dev = &r->f;
	*bar = (struct vfu_region){
		.size = BAR_SIZE,
		.flags = VN_REGION_READ | VN_REGION_WRITE | VN_REGION_MMAP,
		.mmap_fd = r->f.memfd,
		.n_sparse = 1,
		.sparse = { { 0x1000, 0x1000 } },
		.n_ioeventfd = 2,
		.ioeventfd = { { 0x3000, 2, r->f.kick[0] }, { 0x3004, 2, r->f.kick[1] } },
	};
	*cs = (struct vfu_region){ .size = 256, .flags = VN_REGION_READ | VN_REGION_WRITE,
				   .mmap_fd = -1 };
	cfg.regions[1].flags = VN_REGION_READ; /* size 0: absent whatever the flags */
	cfg.regions[2] = (struct vfu_region){ .size = 64, .flags = VN_REGION_READ, .mmap_fd = -1 };
	cfg.irq_count[MSIX] = 4;
	cfg.irq_count[INTX] = 1;
	assert_int_equal(vfu_server_new(&cfg, &r->srv), 0);
	r->f.srv = r->srv;
	r->fds_before = count_fds();
	*state = r;
	return 0;
}

int rig_teardown(void **state)
{
	struct rig *r = *state;

	/* Nothing the server received (DMA fds, IRQ eventfds) stays open. */
	assert_int_equal(count_fds(), r->fds_before);
	vfu_server_free(r->srv);
	munmap(r->f.bar, BAR_SIZE);
	close(r->f.memfd);
	close(r->f.kick[0]);
	close(r->f.kick[1]);
	free(r);
	return 0;
}
