#!/bin/sh
# Side-by-side packet rate and round-trip time of libvnet, TAP and AF_XDP on
# this machine, in one run, every row measured by the same program (vnetperf)
# through the same API:
#   sim:loopback   libvnet's simulated virtio-net device (its device thread
#                  sends every frame back)
#   tap:vtap0      a kernel TAP interface; an XDP program on it (xdp-reflect)
#                  hands each frame the application writes straight back
#   xdp:veth0      AF_XDP on one end of a veth pair; xdp-reflect on the other
#                  end (veth1) sends each frame back
# The kernel sends TAP and AF_XDP frames back inside the sending system call
# (XDP_TX runs in the sender's context), so their interrupt-mode round trips
# seldom sleep; sim:loopback's come back from its device thread, so each of
# its interrupt-mode round trips includes thread wake-ups.
# Last, DPDK's virtio PMD (bench/dpdk.sh) where dpdk-dev is installed.
# After it, aggregate Mpps over 1 and 2 queue pairs (vnetperf -Q).
# Needs root (TAP, veth, XDP, a network namespace) and a built tree.
#   bench/compare.sh [BUILD_DIR [SIZE [SECONDS]]]
# The last table sets split against packed virtqueues on the simulated device.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
size=${2:-64}
secs=${3:-5}
ns=vnetbench$$
tmp=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

perf=$build/tools/vnetperf
cc -O2 -Wall -o "$tmp/xdp-reflect" "$here/xdp-reflect.c" $(pkg-config --cflags --libs libbpf)

ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
ip -n "$ns" tuntap add dev vtap0 mode tap
ip -n "$ns" link add veth0 type veth peer name veth1
for i in vtap0 veth0 veth1; do ip -n "$ns" link set "$i" up; done
in_ns "$tmp/xdp-reflect" vtap0
in_ns "$tmp/xdp-reflect" veth1

paths="sim:loopback tap:vtap0 xdp:veth0"
name() {
	case $1 in
	sim:*) echo "libvnet $1" ;;
	tap:*) echo "TAP $1" ;;
	xdp:*) echo "AF_XDP $1 (veth)" ;;
	esac
}
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
run() { in_ns "$perf" -j -s "$size" -d "$secs" "$@" | tail -n 1; }
ratio() { echo "$1 $2" | awk '{ printf "%.2f", $2 ? $1 / $2 : 0 }'; }

# Packet rate: batches out, back in (vnetperf loop).
for api in burst socket; do
	for uri in $paths; do
		echo "$api $uri $(run -a "$api" "$uri" loop | field rx_pps)"
	done
done >"$tmp/pps"
tap_pps=$(awk '$1 == "burst" && $2 ~ /^tap:/ { print $3 }' "$tmp/pps")
xdp_pps=$(awk '$1 == "burst" && $2 ~ /^xdp:/ { print $3 }' "$tmp/pps")
printf '%-40s %12s %8s %9s\n' "loop, $size-byte frames, ${secs}s each" "pps" "vs TAP" "vs AF_XDP"
while read -r api uri pps; do
	printf '%-40s %12.0f %7sx %8sx\n' "$(name "$uri"), $api API" "$pps" \
		"$(ratio "$pps" "$tap_pps")" "$(ratio "$pps" "$xdp_pps")"
done <"$tmp/pps"

# Round trips: one frame out, wait for it (vnetperf pingpong), spinning or
# sleeping on the interrupt (TAP and AF_XDP: on their file descriptors).
printf '\n%-40s %10s %10s %10s\n' "round trip, $size-byte frames" "p50 us" "p99 us" "p99.9 us"
for uri in $paths; do
	for wait in busy irq; do
		line=$(run --wait "$wait" "$uri" pingpong)
		printf '%-40s %10.1f %10.1f %10.1f\n' "$(name "$uri"), $wait" \
			"$(echo "$line" | field p50 | awk '{ print $1 / 1e3 }')" \
			"$(echo "$line" | field p99 | awk '{ print $1 / 1e3 }')" \
			"$(echo "$line" | field p999 | awk '{ print $1 / 1e3 }')"
	done
done

# libvnet's own rings: split (virtio 1.2 §2.7) against packed (§2.8, the
# default where offered) on the simulated device: loop (sim:loopback), tx to
# a device that drops every frame (sim:sink), rx from one that makes them
# (sim:source). Burst API, busy polling.
printf '\n%-40s %12s %12s %8s\n' "libvnet rings, $size-byte frames" "split pps" "packed pps" "packed/split"
for row in "loop loopback rx_pps" "tx sink tx_pps" "rx source rx_pps"; do
	set -- $row
	s=$(run "sim:$2?ring=split" "$1" | field "$3")
	p=$(run "sim:$2?ring=packed" "$1" | field "$3")
	printf '%-40s %12.0f %12.0f %7sx\n' "libvnet sim:$2, $1" "$s" "$p" "$(ratio "$p" "$s")"
done

# Against DPDK's virtio PMD (bench/dpdk.sh: testpmd net_virtio_user <->
# net_vhost), libvnet's driver with the same shape of peer: a device in
# another process (vnet-simd, vfio-user), fed or drained as fast as it can.
if dpdk=$("$here/dpdk.sh" "$size" "$secs"); then
	simd=$build/tools/vnet-simd
	printf '\n%-40s %12s %8s\n' "driver to a device process, $size B" "pps" "vs DPDK"
	for dir in tx rx; do
		if [ $dir = tx ]; then mode=sink; else mode=source; fi
		"$simd" --socket "$tmp/$mode.sock" --mode $mode --size "$size" >/dev/null &
		i=0
		while [ ! -S "$tmp/$mode.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		pps=$("$perf" -j -i 0 -s "$size" -d "$secs" "vfio-user:$tmp/$mode.sock" $dir |
		      tail -n 1 | field ${dir}_pps)
		kill $! && wait $! 2>/dev/null || true
		dpps=$(echo "$dpdk" | awk -v d=$dir '$1 == d { print $3 }')
		printf '%-40s %12.0f %8s\n' "libvnet $dir, vnet-simd --mode $mode" "$pps" \
			"$(if [ "${dpps:-0}" -gt 0 ]; then echo "$(ratio "$pps" "$dpps")x"; else echo n/a; fi)"
		printf '%-40s %12.0f %8s\n' "DPDK $dir, virtio_user <-> vhost" "${dpps:-0}" "-"
	done
fi

# Multi-queue scaling: aggregate Mpps over 1 and 2 queue pairs (vnetperf -Q,
# a driver thread per pair). sim: and vnet-simd serve all their queues from
# one device thread, so "2 vs 1" is how far that thread and the driver's
# threads go together on this machine's cores, not the driver's scaling alone.
mq_pps() { # PAIRS URI MODE: the total (before per_pair) of MODE's direction
	d=rx; [ "$3" = tx ] && d=tx
	"$perf" -j -i 0 -s "$size" -d "$secs" -Q "$1" "$2" "$3" | tail -n 1 |
		sed 's/,"per_pair".*//' | field ${d}_pps
}
mq_row() { # LABEL URI MODE
	one=$(mq_pps 1 "$2" "$3") two=$(mq_pps 2 "$2" "$3")
	printf '%-40s %10.2f %10.2f %7sx\n' "$1" "$(ratio "$one" 1e6)" "$(ratio "$two" 1e6)" \
		"$(ratio "$two" "$one")"
}
printf '\n%-40s %10s %10s %8s\n' "queue pairs, $size B, Mpps" "1 pair" "2 pairs" "2 vs 1"
mq_row "libvnet loop, sim:loopback" "sim:loopback?queues=2" loop
for mode in sink source; do
	"$build/tools/vnet-simd" --socket "$tmp/mq-$mode.sock" --mode $mode --queues 2 \
		--size "$size" >/dev/null &
	i=0
	while [ ! -S "$tmp/mq-$mode.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	if [ $mode = sink ]; then dir=tx; else dir=rx; fi
	mq_row "libvnet $dir, vnet-simd --mode $mode" "vfio-user:$tmp/mq-$mode.sock" $dir
	kill $! && wait $! 2>/dev/null || true
done
