#!/bin/sh
# SPDX-License-Identifier: MIT
# An unmodified socat with a TUN/TAP address on a sim:loopback device through
# libvnet-preload.so, fed UDP datagrams by tests/preload/socat_peer.py.
set -eu
. "${srcdir:-.}/tests/preload/preload-env.sh"

[ -n "$PYTHON" ] || skip "no python3 for the UDP peer (Debian: python3-minimal)"
SOCAT=$(command -v socat) || skip "no socat (Debian: socat; scripts/install-deps installs it)"
[ -z "$VALGRIND_RUN" ] || skip "socat under valgrind is slow and reports socat's own errors;" \
	"preload-calls.sh runs the shim under valgrind"
count=1000
[ "${VNET_TEST_QUICK:-0}" = 1 ] && count=200
export SOCAT
PRELOAD_LD=$PRELOAD_FOREIGN
export PRELOAD_LD
peer="$PYTHON $srcdir/tests/preload/socat_peer.py"
# The data path; then iff-up, which has socat set IFF_UP with SIOCSIFFLAGS
# on an AF_INET socket (after SIOCGIFFLAGS) before it moves frames.
rc=0
$peer plsoc0 sim:loopback "$count" || rc=1
$peer plsoc1 sim:loopback 16 iff-up || rc=1
exit $rc
