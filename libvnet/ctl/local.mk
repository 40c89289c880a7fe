# libvnet/ctl/: the control plane (vnet/ctl.h): run directory and socket
# names (shared with vnetconf), the request handler, the per-device server
libvnet_libvnet_core_la_SOURCES += libvnet/ctl/ctl_int.h libvnet/ctl/ctl_path.c
libvnet_libvnet_core_la_SOURCES += libvnet/ctl/ctl_msg.c libvnet/ctl/ctl_feat.c \
	libvnet/ctl/ctl_server.c

if HAVE_CMOCKA
# The control server end to end on sim:loopback, through a libmnl client.
check_PROGRAMS += tests/integration/test_ctl
TESTS += tests/integration/test_ctl
tests_integration_test_ctl_SOURCES = tests/integration/test_ctl.c tests/integration/ctl_client.h
tests_integration_test_ctl_LDADD = libvnet/libvnet-core.la $(CMOCKA_LIBS) $(LIBMNL_LIBS) -lpthread
endif

# libFuzzer harness for the request handler; not part of `make check`.
# Build it in a tree configured with CC=clang:
#   make fuzz-ctl && tests/fuzz/fuzz_ctl -max_len=20000 CORPUS_DIR tests/fuzz/ctl-seeds
VN_FUZZ_CTL_SEEDS = tests/fuzz/ctl-seeds/getfamily.bin tests/fuzz/ctl-seeds/link_get.bin \
	tests/fuzz/ctl-seeds/link_dump.bin tests/fuzz/ctl-seeds/stats_get.bin \
	tests/fuzz/ctl-seeds/link_set.bin tests/fuzz/ctl-seeds/mac_add.bin \
	tests/fuzz/ctl-seeds/vlan_del.bin tests/fuzz/ctl-seeds/subscribe.bin \
	tests/fuzz/ctl-seeds/nested.bin tests/fuzz/ctl-seeds/rss_get.bin \
	tests/fuzz/ctl-seeds/rss_set.bin tests/fuzz/ctl-seeds/coal_set.bin
EXTRA_DIST += tests/fuzz/fuzz_ctl.c $(VN_FUZZ_CTL_SEEDS)
VN_FUZZ_CTL_SRC = $(top_srcdir)/tests/fuzz/fuzz_ctl.c $(top_srcdir)/libvnet/log.c \
	$(top_srcdir)/libvnet/ctl/ctl_msg.c $(top_srcdir)/libvnet/ctl/ctl_feat.c
tests/fuzz/fuzz_ctl: $(VN_FUZZ_CTL_SRC)
	$(AM_V_at)$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(CC) $(VNET_CFLAGS) $(AM_CPPFLAGS) $(LIBMNL_CFLAGS) -g -O1 \
		-fsanitize=fuzzer,address,undefined -o $@ $(VN_FUZZ_CTL_SRC) $(LIBMNL_LIBS)
fuzz-ctl: tests/fuzz/fuzz_ctl
.PHONY: fuzz-ctl
CLEANFILES += tests/fuzz/fuzz_ctl

# the protocol, for other clients
dist_man_MANS += man/vnet-ctl.7
