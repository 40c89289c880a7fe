# libvnet/virtio: sources, programs and tests of this directory (included by Makefile.am)
libvnet_libvnet_core_la_SOURCES += \
	libvnet/virtio/transport.h \
	libvnet/virtio/virtio.c libvnet/virtio/virtio.h \
	libvnet/virtio/virtio_pci.c libvnet/virtio/virtio_pci.h \
	libvnet/virtio/virtqueue.c libvnet/virtio/virtqueue.h \
	libvnet/virtio/vq_packed.c libvnet/virtio/vq_packed.h \
	libvnet/virtio/virtio_net.c libvnet/virtio/virtio_net.h \
	libvnet/virtio/virtio_net_rxtx.c libvnet/virtio/virtio_net_rxtx_packed.c \
	libvnet/virtio/virtio_net_rxtx_body.h \
	libvnet/virtio/virtio_net_irq.c libvnet/virtio/virtio_net_ctl.c \
	libvnet/virtio/virtio_net_reset.c libvnet/virtio/virtio_net_offload.c \
	libvnet/virtio/virtio_port.c

if HAVE_CMOCKA
# The split and the packed ring against fake devices; the transport against a fake devio;
# virtio-net against a fake transport (fake_vtr.c); the public API on sim:.
VN_VIRTIO_TESTS = tests/unit/test_virtqueue tests/unit/test_vq_packed tests/unit/test_virtio_pci \
	tests/unit/test_virtio_net tests/unit/test_virtio_net_rxtx tests/unit/test_device_sim
check_PROGRAMS += $(VN_VIRTIO_TESTS)
TESTS += $(VN_VIRTIO_TESTS)
tests_unit_test_virtqueue_SOURCES = tests/unit/test_virtqueue.c
tests_unit_test_vq_packed_SOURCES = tests/unit/test_vq_packed.c
tests_unit_test_virtio_pci_SOURCES = tests/unit/test_virtio_pci.c
tests_unit_test_virtio_net_SOURCES = tests/unit/test_virtio_net.c \
	tests/unit/fake_vtr.c tests/unit/fake_vtr.h
tests_unit_test_virtio_net_rxtx_SOURCES = tests/unit/test_virtio_net_rxtx.c \
	tests/unit/fake_vtr.c tests/unit/fake_vtr.h
tests_unit_test_device_sim_SOURCES = tests/unit/test_device_sim.c
endif

# libFuzzer harness for used-ring processing against a device writing
# anything (tests/fuzz/local.mk), over the unit tests' fake transport.
VN_FUZZERS += vring
VN_FUZZ_vring_SRC = tests/fuzz/fuzz_vring.c tests/unit/fake_vtr.c libvnet/log.c \
	libvnet/virtio/virtio.c libvnet/virtio/virtqueue.c libvnet/virtio/virtio_net.c \
	libvnet/virtio/virtio_net_rxtx.c libvnet/virtio/virtio_net_irq.c \
	libvnet/virtio/virtio_net_ctl.c libvnet/virtio/vq_packed.c libvnet/virtio/virtio_net_rxtx_packed.c \
	libvnet/virtio/virtio_net_reset.c libvnet/virtio/virtio_net_offload.c
VN_FUZZ_vring_MAXLEN = 4096
# The packed ring's used-descriptor processing against a hostile device.
VN_FUZZERS += vq_packed
VN_FUZZ_vq_packed_SRC = tests/fuzz/fuzz_vq_packed.c libvnet/log.c libvnet/virtio/virtqueue.c \
	libvnet/virtio/vq_packed.c
VN_FUZZ_vq_packed_MAXLEN = 4096
