# libvnet/virtio: sources, programs and tests of this directory (included by Makefile.am)
libvnet_libvnet_core_la_SOURCES += \
	libvnet/virtio/transport.h \
	libvnet/virtio/virtio.c libvnet/virtio/virtio.h \
	libvnet/virtio/virtio_pci.c libvnet/virtio/virtio_pci.h \
	libvnet/virtio/virtqueue.c libvnet/virtio/virtqueue.h \
	libvnet/virtio/virtio_net.c libvnet/virtio/virtio_net_rxtx.c libvnet/virtio/virtio_net.h \
	libvnet/virtio/virtio_net_irq.c libvnet/virtio/virtio_net_ctl.c \
	libvnet/virtio/virtio_net_reset.c \
	libvnet/virtio/virtio_port.c

if HAVE_CMOCKA
# The split ring against a fake device; the transport against a fake devio;
# virtio-net against a fake transport (fake_vtr.c); the public API on sim:.
VN_VIRTIO_TESTS = tests/unit/test_virtqueue tests/unit/test_virtio_pci \
	tests/unit/test_virtio_net tests/unit/test_virtio_net_rxtx tests/unit/test_device_sim
check_PROGRAMS += $(VN_VIRTIO_TESTS)
TESTS += $(VN_VIRTIO_TESTS)
tests_unit_test_virtqueue_SOURCES = tests/unit/test_virtqueue.c
tests_unit_test_virtio_pci_SOURCES = tests/unit/test_virtio_pci.c
tests_unit_test_virtio_net_SOURCES = tests/unit/test_virtio_net.c \
	tests/unit/fake_vtr.c tests/unit/fake_vtr.h
tests_unit_test_virtio_net_rxtx_SOURCES = tests/unit/test_virtio_net_rxtx.c \
	tests/unit/fake_vtr.c tests/unit/fake_vtr.h
tests_unit_test_device_sim_SOURCES = tests/unit/test_device_sim.c
endif
