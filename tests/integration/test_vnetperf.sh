#!/bin/sh
# SPDX-License-Identifier: MIT
#
# vnetperf's own contract, on the simulated device: every frame sent is
# received or accounted for, -j prints one JSON object whose counters agree
# with the text, and --tso frames (cut into segments by the device) all
# arrive, through the burst and the socket API. TAP lines.
set -u
: "${srcdir:=.}"
PERF=./tools/vnetperf
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/test_vnetperf.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
n=0 bad=0
t() { # t NAME CONDITION
	n=$((n + 1))
	if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; bad=1; sed 's/^/# /' "$T/out" "$T/err"; fi
}
# json EXPR: a python3 expression over d, the JSON object on $T/out.
json() { python3 -c "import json,sys; d=json.load(open('$T/out')); sys.exit(0 if ($1) else 1)"; }
run() { "$PERF" "$@" >"$T/out" 2>"$T/err"; rc=$?; }

run -j -n 20000 -i 0 sim:loopback loop
t "loop -j: one JSON object, every frame back, none lost" \
	'[ $rc -eq 0 ] && json "d[\"mode\"] == \"loop\" and d[\"tx_frames\"] == 20000 and d[\"rx_frames\"] == 20000 and d[\"lost\"] == 0 and d[\"corrupt\"] == 0 and d[\"dev\"][\"rx_packets\"] == 20000"'
run -j -n 300 -i 0 sim:loopback pingpong
t "pingpong -j: 300 round trips timed, p50 <= p99 <= p99.9" \
	'[ $rc -eq 0 ] && json "d[\"rtt_ns\"][\"samples\"] == 300 and 0 < d[\"rtt_ns\"][\"p50\"] <= d[\"rtt_ns\"][\"p99\"] <= d[\"rtt_ns\"][\"p999\"]"'
for api in burst socket; do
	# 9000-byte frames take five 2 KiB RX buffers: more than a batch of one.
	run -j -n 2000 -i 0 -b 1 -s 9000 -a $api "sim:loopback?mtu=9000" loop
	t "loop -b 1 -s 9000 -a $api: jumbo frames over several buffers, all back" \
		'[ $rc -eq 0 ] && json "d[\"rx_frames\"] == 2000 and d[\"lost\"] == 0 and d[\"in_flight\"] == 0 and d[\"corrupt\"] == 0"'
done
for api in burst socket; do
	run -j -n 500 -i 0 -s 20000 --tso 1448 -a $api sim:loopback loop
	# The loopback device takes GSO frames on RX (GUEST_TSO4): each comes
	# back whole (test_offload checks the device's segmenting).
	t "loop --tso 1448 -a $api: 500 TSO frames of 20000 bytes, all back, intact" \
		'[ $rc -eq 0 ] && json "d[\"tso\"] == 1448 and d[\"tx_frames\"] == 500 and d[\"rx_frames\"] == 500 and d[\"lost\"] == 0 and d[\"corrupt\"] == 0 and d[\"dev\"][\"rx_packets\"] == 500 and d[\"dev\"][\"dev_tx_queue_0_bad\"] == 0"'
done
run -n 10 -i 0 -s 20000 --tso 1448 "sim:loopback?dev_offload=off" loop
t "--tso on a device without TSO: exit 1, the reason named" \
	'[ $rc -eq 1 ] && grep -q "HOST_TSO4" "$T/err"'
run -n 10 -i 0 -s 30 sim:loopback loop
t "a size below 60: exit 2" '[ $rc -eq 2 ]'
# A device that stops answering, then dies: the ping given up after the
# 1 s timeout had no later reply, so like the one after it, it went with
# the device (in flight), not lost.
rm -f "$T/simd.sock"
./tools/vnet-simd --socket "$T/simd.sock" --mode loopback >"$T/simd.log" 2>&1 &
simd=$!
i=0
while [ ! -S "$T/simd.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$PERF" -j -i 0 -d 20 "vfio-user:$T/simd.sock" pingpong >"$T/out" 2>"$T/err" &
perf=$!
sleep 1
kill -STOP $simd
sleep 2
kill -KILL $simd
wait $perf
rc=$?
wait $simd 2>/dev/null
t "pingpong, device silent then killed: exit 1, nothing lost, the pings in flight" \
	'[ $rc -eq 1 ] && json "d[\"failed\"] and d[\"lost\"] == 0 and d[\"in_flight\"] >= 1 and d[\"tx_frames\"] == d[\"rx_frames\"] + d[\"in_flight\"]"'
echo "1..$n"
exit $bad
