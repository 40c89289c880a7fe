# libvnet/sim: sources, programs and tests of this directory (included by Makefile.am)

# vfio-user server core (device side of libvnet/iommu/vfio_user_proto.h)
libvnet_libvnet_core_la_SOURCES += libvnet/sim/vfu_server.c libvnet/sim/vfu_server.h

# the simulated virtio-net device (vnet-simd(8)) and in-process sim: URIs
libvnet_libvnet_core_la_SOURCES += \
	libvnet/sim/sim.h libvnet/sim/sim_dev.h \
	libvnet/sim/sim_params.c \
	libvnet/sim/sim_pci.c \
	libvnet/sim/sim_virtio.c \
	libvnet/sim/sim_vq.c libvnet/sim/sim_vq.h libvnet/sim/sim_vq_packed.c \
	libvnet/sim/sim_net.c libvnet/sim/sim_offload.c \
	libvnet/sim/sim_rss.c \
	libvnet/sim/sim_mode.c \
	libvnet/sim/sim_host.c libvnet/sim/sim_host.h \
	libvnet/sim/sim_open.c

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_sim_dev
TESTS += tests/unit/test_sim_dev
tests_unit_test_sim_dev_SOURCES = tests/unit/test_sim_dev.c
check_PROGRAMS += tests/unit/test_sim_vq
TESTS += tests/unit/test_sim_vq
tests_unit_test_sim_vq_SOURCES = tests/unit/test_sim_vq.c
check_PROGRAMS += tests/unit/test_sim_vq_packed
TESTS += tests/unit/test_sim_vq_packed
tests_unit_test_sim_vq_packed_SOURCES = tests/unit/test_sim_vq_packed.c
# Toeplitz against Microsoft's published vectors, hash input choice, RSS_CONFIG checks.
check_PROGRAMS += tests/unit/test_sim_rss
TESTS += tests/unit/test_sim_rss
tests_unit_test_sim_rss_SOURCES = tests/unit/test_sim_rss.c
# RSS steering and coalescing end to end on sim:loopback with two queue pairs.
check_PROGRAMS += tests/integration/test_rss
TESTS += tests/integration/test_rss
tests_integration_test_rss_SOURCES = tests/integration/test_rss.c
tests_integration_test_rss_LDADD = libvnet/libvnet-core.la $(CMOCKA_LIBS) -lpthread
endif

# libFuzzer harness for the vfio-user server core against a hostile client
# (tests/fuzz/local.mk).
VN_FUZZERS += vfu_server
VN_FUZZ_vfu_server_SRC = tests/fuzz/fuzz_vfu_server.c libvnet/log.c \
	libvnet/iommu/vfio_user_json.c libvnet/iommu/vfio_user_proto.c \
	libvnet/iommu/vfio_user_sock.c libvnet/sim/vfu_server.c
VN_FUZZ_vfu_server_MAXLEN = 8192

# libFuzzer harness for device URIs and sim parameters (tests/fuzz/local.mk).
VN_FUZZERS += uri
VN_FUZZ_uri_SRC = tests/fuzz/fuzz_uri.c libvnet/log.c libvnet/uri.c libvnet/sim/sim_params.c \
	libvnet/ctl/ctl_path.c
VN_FUZZ_uri_MAXLEN = 400
