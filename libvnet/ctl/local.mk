# libvnet/ctl/: the control plane (vnet/ctl.h): run directory and socket
# names (shared with vnetconf), the request handler, the per-device server
libvnet_libvnet_core_la_SOURCES += libvnet/ctl/ctl_int.h libvnet/ctl/ctl_path.c
libvnet_libvnet_core_la_SOURCES += libvnet/ctl/ctl_msg.c libvnet/ctl/ctl_feat.c \
	libvnet/ctl/ctl_server.c

if HAVE_CMOCKA
# The control server end to end on sim:loopback, through a libmnl client.
check_PROGRAMS += tests/integration/test_ctl tests/integration/test_ctl_hostile
TESTS += tests/integration/test_ctl tests/integration/test_ctl_hostile
tests_integration_test_ctl_SOURCES = tests/integration/test_ctl.c tests/integration/ctl_test.h \
	tests/integration/ctl_client.h
tests_integration_test_ctl_LDADD = libvnet/libvnet-core.la $(CMOCKA_LIBS) $(LIBMNL_LIBS) -lpthread
tests_integration_test_ctl_hostile_SOURCES = tests/integration/test_ctl_hostile.c \
	tests/integration/ctl_test.h tests/integration/ctl_client.h
tests_integration_test_ctl_hostile_LDADD = $(tests_integration_test_ctl_LDADD)
endif

# libFuzzer harness for the request handler (tests/fuzz/local.mk).
VN_FUZZERS += ctl
VN_FUZZ_ctl_SRC = tests/fuzz/fuzz_ctl.c libvnet/log.c libvnet/ctl/ctl_msg.c libvnet/ctl/ctl_feat.c
VN_FUZZ_ctl_LIBS = $(LIBMNL_LIBS)
VN_FUZZ_ctl_MAXLEN = 20000

# the protocol, for other clients
dist_man_MANS += man/vnet-ctl.7
