#!/bin/sh
# SPDX-License-Identifier: MIT
# An unmodified python3 with AF_PACKET raw sockets on a sim:loopback device
# through libvnet-preload.so (tests/preload/af_packet.py).
set -eu
. "${srcdir:-.}/tests/preload/preload-env.sh"

[ -n "$PYTHON" ] || skip "no python3 (Debian: python3-minimal)"
[ -z "$VALGRIND_RUN" ] || skip "python3 under valgrind is slow and reports the interpreter's own" \
	"errors; preload-calls.sh runs the shim under valgrind"
VNET_PRELOAD="plpy0=sim:loopback?queues=2" # a queue pair per bound socket
export VNET_PRELOAD
exec env LD_PRELOAD="$PRELOAD_FOREIGN" "$PYTHON" "$srcdir/tests/preload/af_packet.py" plpy0
