#!/bin/sh
# SPDX-License-Identifier: MIT
# Every seed and kept regression input of every fuzz harness
# (tests/fuzz/NAME-seeds/) through the harness once, without libFuzzer
# (tests/fuzz/replay_NAME): a finding fixed stays fixed. VN_FUZZERS comes
# from tests/fuzz/local.mk; under `make check-valgrind` the replays run
# under valgrind (PRELOAD_VALGRIND is the LOG_COMPILER, see tests/local.mk).
set -u
srcdir=${srcdir:-.}
fail=0
for name in $VN_FUZZERS; do
	seeds=$srcdir/tests/fuzz/$name-seeds
	if ! ls "$seeds"/* >/dev/null 2>&1; then
		echo "FAIL $name: no seeds in $seeds"
		fail=1
		continue
	fi
	# The harnesses' own messages (libvnet's error log) only matter on failure.
	err=tests/fuzz/$name.replay.err
	if out=$(${PRELOAD_VALGRIND:-} tests/fuzz/replay_"$name" "$seeds" 2>"$err"); then
		echo "ok   $name: $out"
	else
		echo "FAIL $name: $out"
		cat "$err"
		fail=1
	fi
done
exit $fail
