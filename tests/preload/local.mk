# tests/preload/: unmodified programs run on libvnet through the LD_PRELOAD
# shim (libvnet-preload.so, from sockapi/): a plain libc C program that makes
# every intercepted call, an AF_PACKET python3 script, and socat with a TAP
# address. Each is started by a preload-*.sh script (see preload-env.sh).

TESTS += tests/preload/preload-python.sh tests/preload/preload-socat.sh
EXTRA_DIST += tests/preload/preload-calls.sh tests/preload/preload-python.sh \
	tests/preload/preload-socat.sh tests/preload/preload-env.sh \
	tests/preload/af_packet.py tests/preload/socat_peer.py tests/preload/reflect.py

if HAVE_CMOCKA
# Not linked to libvnet: only libc (and cmocka), as an application would be.
check_PROGRAMS += tests/preload/test_preload_calls
tests_preload_test_preload_calls_SOURCES = tests/preload/test_preload_calls.c \
	tests/preload/packet_calls.c tests/preload/calls.c tests/preload/calls.h
tests_preload_test_preload_calls_LDADD = $(CMOCKA_LIBS)
TESTS += tests/preload/preload-calls.sh
endif

# The shim's manual (sockapi/local.mk builds the shim; its page lives here,
# with the tests that show each of its claims).
dist_man_MANS += man/libvnet-preload.8
