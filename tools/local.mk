# tools/: vnetperf (benchmark), vnet-simd (device emulator daemon)
bin_PROGRAMS += tools/vnetperf
tools_vnetperf_SOURCES = tools/vnetperf.c
tools_vnetperf_LDADD = libvnet/libvnet.la
dist_man_MANS += man/vnetperf.1

# vnetconf: device control (dev list|bind|unbind); reads and writes sysfs only,
# probing it with libvnet's internal VFIO sysfs and PCI address helpers
sbin_PROGRAMS += tools/vnetconf
tools_vnetconf_SOURCES = tools/vnetconf.c
tools_vnetconf_LDADD = libvnet/libvnet-core.la
dist_man_MANS += man/vnetconf.8

# vnet-simd: the simulated virtio-net device served over vfio-user sockets
sbin_PROGRAMS += tools/vnet-simd
tools_vnet_simd_SOURCES = tools/vnet-simd.c
tools_vnet_simd_LDADD = libvnet/libvnet-core.la
dist_man_MANS += man/vnet-simd.8

if HAVE_CMOCKA
# Runs the built tools/vnetconf against a fake sysfs tree.
check_PROGRAMS += tests/unit/test_vnetconf_dev
TESTS += tests/unit/test_vnetconf_dev
tests_unit_test_vnetconf_dev_SOURCES = tests/unit/test_vnetconf_dev.c
tests_unit_test_vnetconf_dev_LDADD = $(CMOCKA_LIBS)
EXTRA_tests_unit_test_vnetconf_dev_DEPENDENCIES = tools/vnetconf$(EXEEXT)
endif

if HAVE_CMOCKA
# vnet-simd's sockets: filesystem paths only, mode 0600, other uids refused.
check_PROGRAMS += tests/integration/test_simd
TESTS += tests/integration/test_simd
tests_integration_test_simd_SOURCES = tests/integration/test_simd.c
tests_integration_test_simd_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS)
EXTRA_tests_integration_test_simd_DEPENDENCIES = tools/vnet-simd$(EXEEXT)
endif
