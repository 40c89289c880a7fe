# SPDX-License-Identifier: MIT
# Sourced by the preload-*.sh tests. The build passes (tests/preload/local.mk):
#   PRELOAD_SO        the built libvnet-preload.so
#   PRELOAD_CFLAGS    the build's compiler flags (tells a sanitizer build)
#   PRELOAD_CC        the compiler (finds the sanitizer runtime)
#   PRELOAD_VALGRIND  LOG_COMPILER: set by `make check-valgrind`, else empty
# and the test harness exports srcdir. Exit codes: 0 pass, 77 skip, 99 error.

skip() { echo "skip: $*"; exit 77; }
hard_error() { echo "error: $*" >&2; exit 99; }

[ -n "${PRELOAD_SO:-}" ] || hard_error "PRELOAD_SO is not set: run through make check"
[ -f "$PRELOAD_SO" ] || hard_error "$PRELOAD_SO was not built"
: "${srcdir:=.}"

# Debian's interpreter, not a pyenv shim first on PATH (which would be a
# shell script with the shim preloaded into the shell).
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3
else PYTHON=$(command -v python3) || PYTHON=; fi

# The LD_PRELOAD value for a program that was not built with the sanitizers
# (socat, python3): in a sanitizer build the instrumented shim needs the
# ASan runtime loaded first. gcc links that runtime dynamically, so even the
# instrumented test program needs it first; clang links it into the program.
asan_runtime() {
	case "$($PRELOAD_CC --version 2>/dev/null)" in
	*clang*) $PRELOAD_CC -print-file-name=libclang_rt.asan-x86_64.so ;;
	*) $PRELOAD_CC -print-file-name=libasan.so ;;
	esac
}
PRELOAD_FOREIGN=$PRELOAD_SO
PRELOAD_OWN=$PRELOAD_SO
case " $PRELOAD_CFLAGS " in
*-fsanitize=address*)
	rt=$(asan_runtime)
	[ -f "$rt" ] || skip "sanitizer build, but no shared ASan runtime ($rt) to preload first"
	PRELOAD_FOREIGN="$rt $PRELOAD_SO"
	case "$($PRELOAD_CC --version 2>/dev/null)" in *clang*) ;; *) PRELOAD_OWN="$rt $PRELOAD_SO" ;; esac
	# The leaks of python3 and socat are theirs; ours are checked in test_preload_calls.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export ASAN_OPTIONS
	;;
esac

# Under check-valgrind LOG_COMPILER is "libtool --mode=execute valgrind OPTS".
# Our programs are not libtool wrappers, and libtool is a shell script that
# would run with the shim preloaded: keep only "valgrind OPTS".
VALGRIND_RUN=${PRELOAD_VALGRIND:+${PRELOAD_VALGRIND#*--mode=execute }}

# The shim opens each device as URI?name=IFNAME (its control-plane name);
# until libvnet's URI parser knows that option every attach fails. Skip, with
# the reason, for that known gap only; any other failure fails the tests.
probe=./tests/preload/test_preload_calls
if [ -x "$probe" ]; then
	why=$(VNET_PRELOAD=plprobe0=sim:loopback LD_PRELOAD="$PRELOAD_OWN" "$probe" --open2 plprobe0 "" 2>&1) ||
	case "$why" in
	*'unknown option "name"'*) skip "libvnet does not know the URI option name= the shim adds: $why" ;;
	esac
fi
