# sockapi/: the socket-like API over the public device API
vnetinclude_HEADERS += libvnet/include/vnet/socket.h
libvnet_libvnet_core_la_SOURCES += sockapi/socket.c sockapi/socket_int.h sockapi/socket_poll.c \
	sockapi/socket_hdr.c
dist_man_MANS += man/libvnet.7 man/vnet_socket.3 man/vnet_send.3 man/vnet_recv.3 \
	man/vnet_sendmmsg.3 man/vnet_recvmmsg.3 man/vnet_socket_info.3 man/vnet_socket_dev.3 \
	man/vnet_close.3

if HAVE_CMOCKA
# Interrupt-driven waits end to end over sim: (links the internal library for
# the device-side counters of vn_sim_stats()).
check_PROGRAMS += tests/integration/test_irq tests/integration/test_irq_stream
TESTS += tests/integration/test_irq tests/integration/test_irq_stream
tests_integration_test_irq_SOURCES = tests/integration/test_irq.c tests/integration/irq_test.h
tests_integration_test_irq_stream_SOURCES = tests/integration/test_irq_stream.c \
	tests/integration/irq_test.h
endif

# libvnet-preload.so: LD_PRELOAD shim for unmodified TAP and AF_PACKET
# programs. A module with libvnet inside, so one file is all a user preloads.
lib_LTLIBRARIES += sockapi/libvnet-preload.la
sockapi_libvnet_preload_la_SOURCES = sockapi/preload.c sockapi/preload.h \
	sockapi/preload_config.c sockapi/preload_tap.c sockapi/preload_if.c \
	sockapi/preload_packet.c sockapi/preload_fd.c
sockapi_libvnet_preload_la_LIBADD = libvnet/libvnet-core.la -ldl
sockapi_libvnet_preload_la_LDFLAGS = -module -avoid-version -shared \
	-Wl,--version-script=$(top_srcdir)/sockapi/preload.map
EXTRA_sockapi_libvnet_preload_la_DEPENDENCIES = $(top_srcdir)/sockapi/preload.map
EXTRA_DIST += sockapi/preload.map

if HAVE_CMOCKA
# The VNET_PRELOAD parser, good and bad strings.
check_PROGRAMS += tests/unit/test_preload_config
TESTS += tests/unit/test_preload_config
tests_unit_test_preload_config_SOURCES = tests/unit/test_preload_config.c sockapi/preload_config.c
# Own objects: preload_config.c is also built for the libtool module.
tests_unit_test_preload_config_CFLAGS = $(AM_CFLAGS)
endif

if HAVE_CMOCKA
# The shim under LD_PRELOAD: a program that runs itself again with the
# freshly built module preloaded (libvnet only answers whether URIs take
# the name= option the shim adds, before that).
check_PROGRAMS += tests/integration/test_preload_smoke
TESTS += tests/integration/test_preload_smoke
tests_integration_test_preload_smoke_SOURCES = tests/integration/test_preload_smoke.c
tests_integration_test_preload_smoke_CPPFLAGS = $(AM_CPPFLAGS) \
	-DPRELOAD_SO='"$(abs_top_builddir)/sockapi/.libs/libvnet-preload.so"'
tests_integration_test_preload_smoke_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS) -lpthread
EXTRA_tests_integration_test_preload_smoke_DEPENDENCIES = sockapi/libvnet-preload.la
endif

# libFuzzer harness for the VNET_PRELOAD parser (tests/fuzz/local.mk).
VN_FUZZERS += preload_config
VN_FUZZ_preload_config_SRC = tests/fuzz/fuzz_preload_config.c sockapi/preload_config.c
VN_FUZZ_preload_config_MAXLEN = 4096
