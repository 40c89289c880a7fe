/* SPDX-License-Identifier: MIT */
/*
 * A fake kernel for the VFIO backends (see vfio_fake.h): it answers every
 * ioctl that crosses the vfio_sys seam (type1 info capability chains, well
 * formed and malformed; a non-viable group; the iommufd IOVA range two-call
 * pattern; region info with sparse mmap) and records what it was asked
 * (MAP/UNMAP arguments, IRQ routing, the order of the calls). Files are
 * real: /dev nodes and device fds are regular files in the fake tree, so
 * region read/write/mmap and pagemap reads use the real system calls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "compiler.h"
#include "iommu/vfio.h"
#include "iommu/vfio_uapi.h"
#include "vfio_fake.h"

struct fake_kernel fk;

static const char *fd_name(int fd)
{
	static char target[512];
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return "?";
	target[n] = '\0';
	return target;
}

static bool fd_is(int fd, const char *rel)
{
	return !strcmp(fd_name(fd), fake_path(rel));
}

static void log_call(const char *what)
{
	strncat(fk.log, what, sizeof(fk.log) - strlen(fk.log) - 2);
	strcat(fk.log, " ");
}

static int fail_errno(int e)
{
	errno = e;
	return -1;
}

/* VFIO_IOMMU_GET_INFO: fixed part 24 bytes, then the chain. */
static int iommu_info(struct vfio_iommu_type1_info *info)
{
	const uint32_t need = 24 + 32 + 16 + 2 * 16;
	char *b = (char *)info;
	struct vfio_info_cap_header *mig, *rng;
	struct vfio_iommu_type1_info_cap_iova_range *cr;

	info->flags = VFIO_IOMMU_INFO_PGSIZES;
	info->iova_pgsizes = 0x40201000; /* 4K | 2M | 1G */
	if (fk.info == INFO_NO_CAPS)
		return 0;
	info->flags |= VFIO_IOMMU_INFO_CAPS;
	if (info->argsz < need) {
		info->argsz = need;
		info->cap_offset = 0;
		return 0;
	}
	info->cap_offset = 24;
	mig = (void *)(b + 24);
	*mig = (struct vfio_info_cap_header){ .id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, .version = 1,
					      .next = 56 };
	rng = (void *)(b + 56);
	*rng = (struct vfio_info_cap_header){ .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 };
	cr = (void *)rng;
	cr->nr_iovas = 2;
	cr->iova_ranges[0].start = 0;
	cr->iova_ranges[0].end = 0xfedfffffULL;
	cr->iova_ranges[1].start = 0xfef00000ULL;
	cr->iova_ranges[1].end = (1ULL << 48) - 1;
	switch (fk.info) {
	case INFO_NO_RANGE:
		rng->id = 77;
		break;
	case INFO_LOOP:
		rng->next = 56;
		rng->id = 77;
		break;
	case INFO_OUTSIDE:
		mig->next = need + 8;
		break;
	case INFO_LAST_PAST:
		rng->next = need + 64;
		break;
	case INFO_TRUNCATED:
		cr->nr_iovas = 3;
		break;
	case INFO_ZERO:
		cr->nr_iovas = 0;
		break;
	case INFO_UNSORTED:
		cr->iova_ranges[0].start = 1ULL << 40;
		cr->iova_ranges[0].end = (1ULL << 41) - 1;
		break;
	default:
		break;
	}
	info->argsz = need;
	return 0;
}

/* VFIO_DEVICE_GET_REGION_INFO: BAR0 16 KiB with two sparse areas, BAR2 a
 * 4 KiB region without mmap, config space 256 bytes, no VGA, the rest absent. */
static int region_info(struct vfio_region_info *ri)
{
	const uint32_t need = sizeof(*ri) + sizeof(struct vfio_region_info_cap_sparse_mmap) +
			      2 * sizeof(struct vfio_region_sparse_mmap_area);
	struct vfio_region_info_cap_sparse_mmap *sp;

	ri->offset = ri->index * REGION_STRIDE;
	ri->cap_offset = 0;
	switch (ri->index) {
	case 0:
		ri->size = 0x4000;
		ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			    VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS;
		if (ri->argsz < need) {
			ri->argsz = need;
			return 0;
		}
		ri->cap_offset = sizeof(*ri);
		sp = (void *)((char *)ri + sizeof(*ri));
		sp->header = (struct vfio_info_cap_header){ .id = VFIO_REGION_INFO_CAP_SPARSE_MMAP,
							    .version = 1 };
		sp->nr_areas = fk.sparse_bad ? 3 : 2;
		sp->areas[0].offset = 0;
		sp->areas[0].size = 0x1000;
		sp->areas[1].offset = 0x2000;
		sp->areas[1].size = 0x2000;
		ri->argsz = need;
		return 0;
	case 2:
		ri->size = 0x1000;
		ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		return 0;
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ri->size = 256;
		ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		return 0;
	case VFIO_PCI_VGA_REGION_INDEX:
		return fail_errno(EINVAL); /* as vfio-pci says for a non-VGA device */
	default:
		ri->size = 0;
		ri->flags = 0;
		return 0;
	}
}

static int ioas_ranges(struct iommu_ioas_iova_ranges *q)
{
	/* The first range lies wholly in the first MiB, which is never used. */
	static const struct iommu_iova_range r[] = { { 0, 0x7ffff }, { 0x200000, 0xfedfffffULL },
						     { 0xfef00000ULL, (1ULL << 48) - 1 } };
	/* Growing: the count call sees two ranges, the fill call three. */
	uint32_t n = (fk.ranges_grow && fk.ranges_calls == 0) ? 2 : 3;
	uint32_t room = q->num_iovas;

	fk.ranges_calls++;
	assert_int_equal(q->ioas_id, IOAS_ID);
	q->num_iovas = n;
	q->out_iova_alignment = 4096;
	if (room < n)
		return fail_errno(EMSGSIZE);
	memcpy((void *)(uintptr_t)q->allowed_iovas, r, n * sizeof(r[0]));
	return 0;
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	if (req == fk.fail_req) {
		log_call("FAIL");
		return fail_errno(fk.fail_err ? fk.fail_err : EIO);
	}
	switch (req) {
	case VFIO_GET_API_VERSION:
		assert_true(fd_is(fd, "dev/vfio/vfio"));
		log_call("API");
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		log_call("EXT");
		return (uintptr_t)arg == VFIO_TYPE1v2_IOMMU || (uintptr_t)arg == VFIO_NOIOMMU_IOMMU;
	case VFIO_GROUP_GET_STATUS:
		log_call("STATUS");
		((struct vfio_group_status *)arg)->flags = fk.viable ? VFIO_GROUP_FLAGS_VIABLE : 0;
		return 0;
	case VFIO_GROUP_SET_CONTAINER:
		log_call("SET_CONTAINER");
		assert_true(fd_is(*(int *)arg, "dev/vfio/vfio"));
		return 0;
	case VFIO_GROUP_UNSET_CONTAINER:
		log_call("UNSET_CONTAINER");
		return 0;
	case VFIO_SET_IOMMU:
		log_call("SET_IOMMU");
		assert_true(fd_is(fd, "dev/vfio/vfio"));
		fk.iommu_type = (uint32_t)(uintptr_t)arg;
		return 0;
	case VFIO_IOMMU_GET_INFO:
		log_call("IOMMU_INFO");
		return iommu_info(arg);
	case VFIO_GROUP_GET_DEVICE_FD:
		log_call("GET_DEVICE_FD");
		if (strcmp(arg, BDF))
			return fail_errno(ENODEV);
		return open(fake_path("devfile"), O_RDWR | O_CLOEXEC);
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *di = arg;

		log_call("DEVICE_INFO");
		di->flags = VFIO_DEVICE_FLAGS_PCI | (fk.device_resettable ? VFIO_DEVICE_FLAGS_RESET : 0);
		di->num_regions = VFIO_PCI_NUM_REGIONS;
		di->num_irqs = VFIO_PCI_NUM_IRQS;
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO:
		return region_info(arg);
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *ii = arg;

		ii->count = ii->index == VFIO_PCI_MSIX_IRQ_INDEX ? 3 : 1;
		return 0;
	}
	case VFIO_DEVICE_SET_IRQS: {
		struct vfio_irq_set *s = arg;

		/* linux/vfio.h: one int32 per vector with DATA_EVENTFD, none with DATA_NONE. */
		assert_int_equal(s->argsz, sizeof(*s) + ((s->flags & VFIO_IRQ_SET_DATA_EVENTFD) ?
							 s->count * sizeof(int32_t) : 0));
		fk.irq.flags = s->flags;
		fk.irq.index = s->index;
		fk.irq.start = s->start;
		fk.irq.count = s->count;
		if (s->flags & VFIO_IRQ_SET_DATA_EVENTFD)
			memcpy(fk.irq.fds, s->data, VN_MIN(s->count, 8u) * sizeof(int32_t));
		return 0;
	}
	case VFIO_DEVICE_RESET:
		fk.resets++;
		return 0;
	case VFIO_IOMMU_MAP_DMA:
		assert_true(fd_is(fd, "dev/vfio/vfio"));
		fk.map = *(struct vfio_iommu_type1_dma_map *)arg;
		fk.maps++;
		return 0;
	case VFIO_IOMMU_UNMAP_DMA: {
		struct vfio_iommu_type1_dma_unmap *u = arg;

		fk.unmaps++;
		fk.unmap_iova = u->iova;
		fk.unmap_size = u->size;
		if (fk.unmap_short)
			u->size = 0;
		return 0;
	}
	case VFIO_DEVICE_BIND_IOMMUFD: {
		struct vfio_device_bind_iommufd *b = arg;

		log_call("BIND");
		assert_true(fd_is(fd, "dev/vfio/devices/vfio0"));
		assert_true(fd_is(b->iommufd, "dev/iommu"));
		assert_int_equal(b->argsz, sizeof(*b));
		b->out_devid = 5;
		return 0;
	}
	case IOMMU_IOAS_ALLOC:
		log_call("IOAS_ALLOC");
		assert_true(fd_is(fd, "dev/iommu"));
		((struct iommu_ioas_alloc *)arg)->out_ioas_id = IOAS_ID;
		return 0;
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		log_call("ATTACH");
		assert_int_equal(((struct vfio_device_attach_iommufd_pt *)arg)->pt_id, IOAS_ID);
		return 0;
	case IOMMU_IOAS_IOVA_RANGES:
		log_call("RANGES");
		return ioas_ranges(arg);
	case IOMMU_IOAS_MAP:
		fk.ioas_map = *(struct iommu_ioas_map *)arg;
		fk.maps++;
		return 0;
	case IOMMU_IOAS_UNMAP: {
		struct iommu_ioas_unmap *u = arg;

		fk.unmaps++;
		fk.unmap_iova = u->iova;
		fk.unmap_size = u->length;
		return 0;
	}
	case IOMMU_DESTROY:
		log_call("DESTROY");
		assert_int_equal(((struct iommu_destroy *)arg)->id, IOAS_ID);
		fk.destroys++;
		return 0;
	default:
		return fail_errno(ENOTTY);
	}
}

static const struct vfio_sys fake_sys = { .ioctl = fake_ioctl };

int fake_fds_before;

int fake_kernel_setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	fk.viable = true;
	fk.device_resettable = true;
	fake_tree_create();
	fake_pci_dev(BDF, "vfio-pci", 7);
	fake_file("dev/vfio/vfio", "");
	fake_file("dev/vfio/7", "");
	fake_file("dev/vfio/noiommu-7", "");
	fake_file("dev/iommu", "");
	fake_cdev(BDF, 0);
	/* The device fds are regular files as big as the regions they hold. */
	fake_file("devfile", "");
	assert_int_equal(truncate(fake_path("devfile"), VFIO_PCI_NUM_REGIONS * REGION_STRIDE), 0);
	assert_int_equal(truncate(fake_path("dev/vfio/devices/vfio0"), VFIO_PCI_NUM_REGIONS * REGION_STRIDE),
			 0);
	vn_vfio_set_sys(&fake_sys);
	fake_fds_before = count_fds();
	return 0;
}

int fake_kernel_teardown(void **state)
{
	/* Every test closes what it opened. */
	assert_int_equal(count_fds(), fake_fds_before);
	vn_vfio_set_sys(NULL);
	fake_tree_destroy();
	return 0;
}
