#!/bin/sh
# SPDX-License-Identifier: MIT
# run-fuzz.sh NAME MAXLEN SECONDS SEEDS: run tests/fuzz/fuzz_NAME (from the
# build directory) for SECONDS on a scratch copy of its seed corpus
# (tests/fuzz/NAME.corpus; the seeds themselves stay as they are), inputs
# up to MAXLEN bytes. Prints the run's executions and final coverage line;
# fails on any crash, sanitizer report, leak, timeout or out-of-memory,
# keeping the input in tests/fuzz/NAME.crashes/ (add it to SEEDS as
# regress-*.bin once fixed: `make check` then replays it). The whole log is
# tests/fuzz/NAME.fuzz.log.
set -u
name=$1 maxlen=$2 secs=$3 seeds=$4
bin=tests/fuzz/fuzz_$name corpus=tests/fuzz/$name.corpus crashes=tests/fuzz/$name.crashes
log=tests/fuzz/$name.fuzz.log

rm -rf "$corpus" && mkdir -p "$corpus" "$crashes" || exit 1
[ -d "$seeds" ] && cp "$seeds"/* "$corpus"/ 2>/dev/null
# -timeout: one input running longer is a hang; libFuzzer checks leaks itself.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" -max_total_time="$secs" -max_len="$maxlen" -timeout=25 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
echo "fuzz $name: ${runs:-?} executions in ${secs}s; last: ${cov:-no coverage line}"
if [ "$rc" -ne 0 ]; then
	echo "fuzz $name: FAILED (exit $rc); log $log:" >&2
	grep -E -A 30 'ERROR|WARNING|==[0-9]+==|deadly signal|timeout' "$log" | head -n 60 >&2
	for f in "$crashes"/*; do
		[ -f "$f" ] || continue
		echo "fuzz $name: input kept in $f ($(wc -c <"$f") bytes):" >&2
		od -A x -t x1z "$f" | head -n 32 >&2
	done
	exit 1
fi
exit 0
