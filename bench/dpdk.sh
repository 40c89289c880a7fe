#!/bin/sh
# DPDK's virtio PMD on this machine, the peer users pick instead of libvnet:
# testpmd with net_virtio_user (the virtio-net driver, in userspace, as
# libvnet's) talking to testpmd with net_vhost (a software virtio-net device
# in another process, as vnet-simd is for libvnet), no huge pages, each
# forwarding loop on a core of its own.
#   tx: virtio_user txonly -> vhost rxonly   (libvnet: vnetperf tx to vnet-simd --mode sink)
#   rx: vhost txonly -> virtio_user rxonly   (libvnet: vnetperf rx from vnet-simd --mode source)
# Prints one line per run, "DIR SIZE PPS", PPS being the receiver's median
# Rx-pps over the run (the first report, the ramp-up, left out); 0 when
# nothing arrived (see the logs: run with DPDK_KEEP_LOGS=DIR).
#   bench/dpdk.sh [SIZE [SECONDS]]
# Exit 77 (and a line on stderr saying how to get it) without dpdk-testpmd,
# which Debian ships in dpdk-dev: apt-get install --no-install-recommends dpdk-dev
set -eu
size=${1:-64}
secs=${2:-5}
testpmd=$(command -v dpdk-testpmd || true)
if [ -z "$testpmd" ]; then
	echo "dpdk.sh: dpdk-testpmd not found (apt-get install --no-install-recommends dpdk-dev); DPDK rows skipped" >&2
	exit 77
fi
tmp=$(mktemp -d)
cleanup() {
	# Both sides run under timeout(1); wait for them so nothing outlives us.
	wait 2>/dev/null || true
	[ -n "${DPDK_KEEP_LOGS:-}" ] && cp "$tmp"/*.log "$DPDK_KEEP_LOGS"/ 2>/dev/null
	rm -rf "$tmp" /var/run/dpdk/vnb-vh$$ /var/run/dpdk/vnb-vu$$
}
trap cleanup EXIT INT TERM

# testpmd SIDE MAIN_LCORE MODE VDEV SECONDS: lcores 0 and 1, forwarding on
# the one that is not MAIN_LCORE; at most 8192 mbufs (the default pool
# wants more memory than --no-huge -m 256 gives).
testpmd() {
	timeout -s INT "$5" "$testpmd" -l 0,1 --main-lcore "$2" --no-huge -m 256 --no-pci \
		--file-prefix="vnb-$1$$" --vdev "$4" -- --forward-mode="$3" --txpkts="$size" \
		--stats-period=1 --nb-cores=1 --total-num-mbufs=8192 >"$tmp/$1.log" 2>&1 || true
}

# Median Rx-pps of the receiver's periodic reports once traffic flows, the
# first (a partial second) left out when there are three or more.
rx_pps() {
	sed -n 's/^ *Rx-pps: *\([0-9]*\).*/\1/p' "$1" | awk '$1 > 0' >"$tmp/pps"
	[ "$(wc -l <"$tmp/pps")" -ge 3 ] && sed -i 1d "$tmp/pps"
	sort -n "$tmp/pps" | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'
}

# run DIR VHOST_MODE VIRTIO_MODE: the vhost side listens, the virtio side
# connects a moment later; the receiver's log is measured.
run() {
	sock=$tmp/vhost.sock
	testpmd vh 0 "$2" "net_vhost0,iface=$sock,queues=1" $((secs + 5)) &
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	testpmd vu 1 "$3" "net_virtio_user0,path=$sock,queues=1" $((secs + 2))
	wait
	if [ "$2" = rxonly ]; then log=$tmp/vh.log; else log=$tmp/vu.log; fi
	echo "$1 $size $(rx_pps "$log")"
}

run tx rxonly txonly
run rx txonly rxonly
