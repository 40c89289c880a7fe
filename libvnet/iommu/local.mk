# libvnet/iommu: sources, programs and tests of this directory (included by Makefile.am)

# Kernel VFIO backends (group/type1, no-IOMMU, cdev/iommufd), DMA memory, IOVA allocation
libvnet_libvnet_core_la_SOURCES += \
	libvnet/iommu/devio.c libvnet/iommu/devio.h \
	libvnet/iommu/dma.c libvnet/iommu/dma.h \
	libvnet/iommu/vfio.c libvnet/iommu/vfio.h libvnet/iommu/vfio_uapi.h \
	libvnet/iommu/vfio_sysfs.c \
	libvnet/iommu/vfio_group.c \
	libvnet/iommu/vfio_cdev.c

# vfio-user: wire codec and socket I/O (shared with sim/vfu_server.c), client backend
libvnet_libvnet_core_la_SOURCES += \
	libvnet/iommu/vfio_user_proto.c libvnet/iommu/vfio_user_proto.h \
	libvnet/iommu/vfio_user_json.c \
	libvnet/iommu/vfio_user_sock.c \
	libvnet/iommu/vfio_user.c libvnet/iommu/vfio_user_int.h \
	libvnet/iommu/vfio_user_conn.c
if HAVE_CMOCKA
VN_VFIO_USER_TESTS = tests/unit/test_vfio_user_proto tests/unit/test_vfio_user \
	tests/unit/test_vfio_user_client tests/unit/test_vfio_user_cut
check_PROGRAMS += $(VN_VFIO_USER_TESTS)
TESTS += $(VN_VFIO_USER_TESTS)
tests_unit_test_vfio_user_proto_SOURCES = tests/unit/test_vfio_user_proto.c
tests_unit_test_vfio_user_SOURCES = tests/unit/test_vfio_user.c \
	tests/unit/vfio_user_fake.c tests/unit/vfio_user_fake.h
tests_unit_test_vfio_user_client_SOURCES = tests/unit/test_vfio_user_client.c
tests_unit_test_vfio_user_cut_SOURCES = tests/unit/test_vfio_user_cut.c
endif

if HAVE_CMOCKA
VN_KVFIO_TESTS = tests/unit/test_uri tests/unit/test_iova tests/unit/test_dma
check_PROGRAMS += $(VN_KVFIO_TESTS)
TESTS += $(VN_KVFIO_TESTS)
tests_unit_test_uri_SOURCES = tests/unit/test_uri.c
tests_unit_test_iova_SOURCES = tests/unit/test_iova.c
tests_unit_test_dma_SOURCES = tests/unit/test_dma.c
# The kernel VFIO paths, against a fake sysfs/dev/proc tree and a fake kernel.
VN_KVFIO_TREE = tests/unit/vfio_fake.c tests/unit/vfio_fake.h
VN_KVFIO_FAKE = $(VN_KVFIO_TREE) tests/unit/vfio_fake_kernel.c
VN_KVFIO_VTESTS = tests/unit/test_vfio_select tests/unit/test_vfio_group tests/unit/test_vfio_cdev
check_PROGRAMS += $(VN_KVFIO_VTESTS)
TESTS += $(VN_KVFIO_VTESTS)
tests_unit_test_vfio_select_SOURCES = tests/unit/test_vfio_select.c $(VN_KVFIO_TREE)
tests_unit_test_vfio_group_SOURCES = tests/unit/test_vfio_group.c $(VN_KVFIO_FAKE)
tests_unit_test_vfio_cdev_SOURCES = tests/unit/test_vfio_cdev.c $(VN_KVFIO_FAKE)
endif

# libFuzzer harnesses (tests/fuzz/local.mk): the vfio-user codec and the
# capabilities JSON (the server core's is in libvnet/sim/local.mk), and the
# client against a hostile server (open, then every region, IRQ and DMA operation).
VN_FUZZERS += vfio_user vu_client
VN_FUZZ_vfio_user_SRC = tests/fuzz/fuzz_vfio_user.c libvnet/log.c \
	libvnet/iommu/vfio_user_json.c libvnet/iommu/vfio_user_proto.c
VN_FUZZ_vfio_user_MAXLEN = 4096
VN_FUZZ_vu_client_SRC = tests/fuzz/fuzz_vu_client.c libvnet/log.c libvnet/iommu/dma.c \
	libvnet/iommu/vfio_user_json.c libvnet/iommu/vfio_user_proto.c \
	libvnet/iommu/vfio_user_sock.c libvnet/iommu/vfio_user.c libvnet/iommu/vfio_user_conn.c
VN_FUZZ_vu_client_MAXLEN = 8192
