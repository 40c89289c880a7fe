#!/bin/sh
# SPDX-License-Identifier: MIT
#
# vnet-simd against an independent vfio-user client
# (tests/integration/vfu_client.py, written from the specifications, not
# from libvnet): VERSION and capabilities, config space, DMA mapping, a
# frame through sim:loopback with its MSI-X interrupt, DEVICE_RESET keeping
# the interrupt eventfd routed. Prints the client's TAP lines; vnet-simd is
# killed at exit, its socket directory removed.
set -u
: "${srcdir:=.}"
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is not installed"; exit 77; }
python3 -c 'import os, socket; os.memfd_create, os.eventfd, socket.send_fds' 2>/dev/null ||
	{ echo "1..0 # SKIP python3 lacks memfd_create/eventfd/send_fds (needs 3.10)"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/test_vfu_interop.XXXXXX") || exit 99
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 99' INT TERM

${PRELOAD_VALGRIND:-} ./tools/vnet-simd --socket "$T/simd.sock" --mode loopback >"$T/simd.out" 2>"$T/simd.err" &
pid=$!
i=0
while [ ! -S "$T/simd.sock" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -S "$T/simd.sock" ] || { echo "Bail out! vnet-simd did not create its socket"; cat "$T/simd.err"; exit 99; }
timeout 60 python3 "$srcdir/tests/integration/vfu_client.py" "$T/simd.sock"
rc=$?
# vnet-simd stops cleanly on SIGTERM; under valgrind a report makes it exit 99.
kill "$pid"
wait "$pid"
simd_rc=$?
pid=
if [ $simd_rc -ne 0 ]; then
	echo "not ok - vnet-simd exited with status $simd_rc"
	rc=1
fi
[ $rc -eq 0 ] || sed 's/^/# vnet-simd: /' "$T/simd.err"
exit $rc
