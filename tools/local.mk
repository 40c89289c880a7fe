# tools/: vnetperf (benchmark), vnet-simd (device emulator daemon)
bin_PROGRAMS += tools/vnetperf
tools_vnetperf_SOURCES = tools/vnetperf.c tools/vnetperf.h tools/vnetperf_report.c \
	tools/vnetperf_tso.c tools/json.c tools/json.h
tools_vnetperf_LDADD = libvnet/libvnet.la
dist_man_MANS += man/vnetperf.1

# vnetconf: device control. dev list|bind|unbind work on sysfs with libvnet's
# internal VFIO sysfs and PCI address helpers; link, stats, monitor, mac and
# vlan speak the control protocol (vnet/ctl.h) to running devices over libmnl.
sbin_PROGRAMS += tools/vnetconf
tools_vnetconf_SOURCES = tools/vnetconf.c tools/vnetconf.h tools/vnetconf_dev.c \
	tools/vnetconf_link.c tools/vnetconf_stats.c tools/vnetconf_monitor.c tools/vnetconf_rss.c \
	tools/ctl_client.c tools/ctl_client.h tools/ctl_answer.c tools/ctl_answer.h \
	tools/json.c tools/json.h
tools_vnetconf_LDADD = libvnet/libvnet-core.la $(LIBMNL_LIBS)
dist_man_MANS += man/vnetconf.8

# vnet-simd: the simulated virtio-net device served over vfio-user sockets
sbin_PROGRAMS += tools/vnet-simd
tools_vnet_simd_SOURCES = tools/vnet-simd.c
tools_vnet_simd_LDADD = libvnet/libvnet-core.la
dist_man_MANS += man/vnet-simd.8

if HAVE_CMOCKA
# The tools' JSON writer (vnetconf, vnetperf -j): escaping and layout.
check_PROGRAMS += tests/unit/test_json
TESTS += tests/unit/test_json
tests_unit_test_json_SOURCES = tests/unit/test_json.c tools/json.c
tests_unit_test_json_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools
tests_unit_test_json_LDADD = $(CMOCKA_LIBS)

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

# libFuzzer harness for vnetconf's parsing of server answers (tests/fuzz/local.mk).
VN_FUZZERS += vnetconf
VN_FUZZ_vnetconf_SRC = tests/fuzz/fuzz_vnetconf.c tools/ctl_client.c tools/ctl_answer.c \
	libvnet/ctl/ctl_path.c libvnet/log.c
VN_FUZZ_vnetconf_CPPFLAGS = -I$(top_srcdir)/tools
VN_FUZZ_vnetconf_LIBS = $(LIBMNL_LIBS)
VN_FUZZ_vnetconf_MAXLEN = 16500
