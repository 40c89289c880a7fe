#!/bin/sh
# Side-by-side packet rate and round-trip time of libvnet and TAP on this
# machine, in one run:
#   vnetperf loop and pingpong (busy-poll and interrupt waits) on sim:loopback
#   tap-loop: two TAP interfaces on a Linux bridge (a write and a read per frame)
# Needs root (TAP, bridge, network namespace) and a built tree.
#   bench/compare.sh [BUILD_DIR [SIZE [SECONDS]]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
size=${2:-64}
secs=${3:-5}
ns=vnetbench$$
tmp=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

cc -O2 -Wall -o "$tmp/tap-loop" "$here/tap-loop.c"

ip netns add "$ns"
ip -n "$ns" link add br0 type bridge
for t in tap0 tap1; do
	ip -n "$ns" tuntap add dev $t mode tap
	ip -n "$ns" link set $t master br0 up
done
ip -n "$ns" link set br0 up

pps() { sed -n 's/.*"rx_pps":\([0-9.]*\).*/\1/p'; }
rtt() { sed -n 's/.*"p50":\([0-9]*\),"p99":\([0-9]*\).*/\1 \2/p'; }
burst=$("$build/tools/vnetperf" -j -s "$size" -d "$secs" sim:loopback loop | pps)
sock=$("$build/tools/vnetperf" -j -a socket -s "$size" -d "$secs" sim:loopback loop | pps)
tapline=$(ip netns exec "$ns" "$tmp/tap-loop" tap0 tap1 "$size" "$secs")
tap=$(echo "$tapline" | sed -n 's/.*: \([0-9]*\) pps.*/\1/p')

printf '%-36s %12s %8s\n' "path ($size-byte frames, ${secs}s each)" "pps" "vs TAP"
for row in "libvnet sim:loopback, burst API:$burst" "libvnet sim:loopback, socket API:$sock" \
	   "TAP pair on a bridge:$tap"; do
	name=${row%:*}; v=${row##*:}
	printf '%-36s %12.0f %7.1fx\n' "$name" "$v" "$(echo "$v $tap" | awk '{ printf "%.2f", $1 / $2 }')"
done

busy=$("$build/tools/vnetperf" -j -s "$size" -d "$secs" --wait busy sim:loopback pingpong | rtt)
irq=$("$build/tools/vnetperf" -j -s "$size" -d "$secs" --wait irq sim:loopback pingpong | rtt)
tapline=$(ip netns exec "$ns" "$tmp/tap-loop" -p tap0 tap1 "$size" "$secs")
tap=$(echo "$tapline" | sed -n 's/.*p50 \([0-9.]*\) us p99 \([0-9.]*\) us.*/\1 \2/p')

printf '\n%-36s %10s %10s\n' "round trip ($size-byte frames)" "p50 us" "p99 us"
printf '%-36s %10.1f %10.1f\n' "libvnet sim:loopback, busy-poll" $(echo "$busy" | awk '{ print $1 / 1e3, $2 / 1e3 }')
printf '%-36s %10.1f %10.1f\n' "libvnet sim:loopback, interrupts" $(echo "$irq" | awk '{ print $1 / 1e3, $2 / 1e3 }')
printf '%-36s %10.1f %10.1f\n' "TAP pair on a bridge" $tap
