#!/bin/sh
# SPDX-License-Identifier: MIT
# An unmodified socat with a TUN/TAP address on a libvnet device through
# libvnet-preload.so, fed UDP datagrams by tests/preload/socat_peer.py: on
# sim:loopback, and on a vnet-simd pair whose far end is another process.
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

# Across processes: socat on one end of a vnet-simd pair, and on the other,
# in a process of its own, a python3 AF_PACKET program (reflect.py) that
# sends every frame back. The frames leave socat's process and return.
dir=$(mktemp -d)
simd='' refl=''
cleanup() {
	[ -z "$refl" ] || kill "$refl" 2>/dev/null || :
	[ -z "$simd" ] || kill "$simd" 2>/dev/null || :
	wait
	rm -rf "$dir"
}
trap cleanup EXIT
./tools/vnet-simd --mode pair --socket "$dir/a" --socket "$dir/b" >"$dir/simd.log" 2>&1 &
simd=$!
i=0
while [ ! -S "$dir/b" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
VNET_PRELOAD="plrefl0=vfio-user:$dir/b" LD_PRELOAD="$PRELOAD_FOREIGN" \
	"$PYTHON" "$srcdir/tests/preload/reflect.py" plrefl0 "$count" >"$dir/refl.log" 2>&1 &
refl=$!
i=0
while ! grep -q ready "$dir/refl.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
$peer plsoc2 "vfio-user:$dir/a" "$count" || rc=1
if ! wait "$refl"; then
	echo "FAIL: reflect.py: $(cat "$dir/refl.log")"
	rc=1
fi
refl=
exit $rc
