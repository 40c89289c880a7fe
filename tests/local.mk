# tests/: integration tests over the simulated device, and the valgrind pass.
# Unit tests are registered next to the code they test (each directory's local.mk).

# Devices opened by tests serve no control socket (VNET_CTL=off): they
# would otherwise create /run/vnet or $XDG_RUNTIME_DIR/vnet. test_ctl* turn
# it back on, in a private run directory (VNET_RUN_DIR).
AM_TESTS_ENVIRONMENT = VNET_CTL=off; export VNET_CTL;

# Tests scale their frame counts down under valgrind (VNET_TEST_QUICK=1):
# they still check every byte of every frame they move. The event engine
# sleeps in epoll there (VNET_EVENTS=epoll): valgrind 3.19 holds its
# scheduler lock across io_uring_enter(), which would stop every other thread.
# Its scheduler is also made fair (--fair-sched=yes): by default a thread
# that busy-polls can keep the lock for seconds, starving the simulated
# device's thread until the driver's 10 s vfio-user reply timeout declares
# the device gone.
VALGRIND_CMD = $(LIBTOOL) --mode=execute $(VALGRIND) --quiet --fair-sched=yes --error-exitcode=99 \
	--leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	--suppressions=$(top_srcdir)/tests/valgrind.supp
check-valgrind:
	$(MAKE) $(AM_MAKEFLAGS) check LOG_COMPILER="$(VALGRIND_CMD)" \
		TESTS_ENVIRONMENT="VNET_TEST_QUICK=1 VNET_EVENTS=epoll; export VNET_TEST_QUICK VNET_EVENTS;"
.PHONY: check-valgrind
EXTRA_DIST += tests/valgrind.supp

if HAVE_CMOCKA
# End to end over the in-process simulated device, through the public API only.
INTEGRATION_TESTS = tests/integration/test_socket tests/integration/test_burst \
	tests/integration/test_settings tests/integration/test_reset tests/integration/test_offload
check_PROGRAMS += $(INTEGRATION_TESTS)
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += tests/integration/frames.h tests/integration/events.h tests/unit/testutil.h \
	tests/integration/sendrecv.h tests/integration/ifkernel.h tests/integration/xstat.h
tests_integration_test_socket_SOURCES = tests/integration/test_socket.c
tests_integration_test_socket_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS)
tests_integration_test_burst_SOURCES = tests/integration/test_burst.c
tests_integration_test_burst_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS)
tests_integration_test_settings_SOURCES = tests/integration/test_settings.c
tests_integration_test_settings_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS)
tests_integration_test_reset_SOURCES = tests/integration/test_reset.c
tests_integration_test_reset_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS)
tests_integration_test_offload_SOURCES = tests/integration/test_offload.c
tests_integration_test_offload_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS)
endif

if HAVE_CMOCKA
# The simulated device's data path, modes and RX filter (needs internal headers).
check_PROGRAMS += tests/integration/test_sim_loopback
TESTS += tests/integration/test_sim_loopback
tests_integration_test_sim_loopback_SOURCES = tests/integration/test_sim_loopback.c
endif

if HAVE_CMOCKA
# Dead and silent devices in every wait mode: vnet-simd killed, the server
# hanging up, NEEDS_RESET, lost interrupts, and vnetperf meeting them (runs
# the built tools/vnet-simd and tools/vnetperf).
check_PROGRAMS += tests/integration/test_dead
TESTS += tests/integration/test_dead
tests_integration_test_dead_SOURCES = tests/integration/test_dead.c
EXTRA_tests_integration_test_dead_DEPENDENCIES = tools/vnet-simd$(EXEEXT) tools/vnetperf$(EXEEXT)
endif

if HAVE_CMOCKA
# Resource limits at open (RLIMIT_NOFILE): clear errors, nothing left behind
# (runs the built tools/vnet-simd).
check_PROGRAMS += tests/integration/test_limits
TESTS += tests/integration/test_limits
tests_integration_test_limits_SOURCES = tests/integration/test_limits.c
tests_integration_test_limits_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS)
EXTRA_tests_integration_test_limits_DEPENDENCIES = tools/vnet-simd$(EXEEXT) tools/vnetperf$(EXEEXT)
endif

if HAVE_CMOCKA
# The tap: port against the kernel, in a private network namespace (skips without root).
check_PROGRAMS += tests/integration/test_tap_port
TESTS += tests/integration/test_tap_port
tests_integration_test_tap_port_SOURCES = tests/integration/test_tap_port.c
tests_integration_test_tap_port_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS)
endif

if HAVE_CMOCKA
if HAVE_XDP
# The xdp: port over a veth pair in a private network namespace (root, else skipped).
check_PROGRAMS += tests/integration/test_xdp_port
TESTS += tests/integration/test_xdp_port
tests_integration_test_xdp_port_SOURCES = tests/integration/test_xdp_port.c
tests_integration_test_xdp_port_LDADD = libvnet/libvnet.la $(CMOCKA_LIBS) $(LIBXDP_LIBS)
endif
endif

# vnetconf against misbehaving servers (ctl_fake.py) and real devices in a
# private run directory: vnetperf on sim:loopback, and dev_hold, which holds
# a device open and moves frames only when the script says so.
# Test scripts run under the shell even in `make check-valgrind` (which sets
# LOG_COMPILER): they get it as PRELOAD_VALGRIND (or see VNET_TEST_QUICK) and
# decide what runs under valgrind themselves. PRELOAD_*: for tests/preload/.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = env PRELOAD_SO="$(abs_top_builddir)/sockapi/.libs/libvnet-preload.so" \
	PRELOAD_CFLAGS="$(VNET_CFLAGS)" PRELOAD_CC="$(CC)" PRELOAD_VALGRIND="$(LOG_COMPILER)" $(SHELL)
check_PROGRAMS += tests/integration/dev_hold
tests_integration_dev_hold_SOURCES = tests/integration/dev_hold.c
tests_integration_dev_hold_LDADD = libvnet/libvnet.la
TESTS += tests/integration/test_vnetconf_ctl.sh
EXTRA_DIST += tests/integration/test_vnetconf_ctl.sh tests/integration/ctl_fake.py

# vnetperf's own contract: counters, -j, --tso through both APIs.
TESTS += tests/integration/test_vnetperf.sh
EXTRA_DIST += tests/integration/test_vnetperf.sh

# vnet-simd against an independent vfio-user client written from the
# specifications (python3): negotiation, config space, DMA, a frame with its
# interrupt, DEVICE_RESET keeping interrupt routing and bus mastering.
TESTS += tests/integration/test_vfu_interop.sh
EXTRA_DIST += tests/integration/test_vfu_interop.sh tests/integration/vfu_client.py
