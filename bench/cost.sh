#!/bin/sh
# Cost per frame in instructions, the driver's and the device model's apart
# (issue 12, item 6). perf's hardware counters are not available on these
# machines, so callgrind counts the instructions of a fixed number of frames.
#
# Each side is measured while the other runs natively: vnetperf (the driver)
# under callgrind against vnet-simd (the device, another process, vfio-user)
# and the reverse. The measured side is then some 50 times slower than its
# peer, so it seldom finds a ring full (tx) or empty (rx); the calls that did
# find one are counted all the same and their cost taken out:
#   driver tx  vnet_tx_reserve + vnet_tx_submit, inclusive (reclaiming
#              completions, descriptors, the doorbell), to vnet-simd --mode
#              sink. vnetperf submits only what a reserve gave it, so empty
#              reserves = reserve calls - submit calls.
#   driver rx  vnet_rx_peek + vnet_rx_release, inclusive (reposting buffers),
#              from vnet-simd --mode source; empty peeks = peek calls -
#              release calls. An empty peek's cost is measured exactly in the
#              tx run, whose RX peeks all find nothing (sink sends nothing).
#   device     sim_mode_service, inclusive (one round over the queues: the
#              frames' descriptors, copies, used ring, interrupts), in
#              vnet-simd sink and source. The rounds are counted; whether one
#              found nothing is not known, so idle rounds stay in (the
#              device is the slow side here: it seldom finds nothing).
# An empty reserve's cost comes from a second run whose device is stopped.
# Filling and checking the frames is vnetperf's (the application's) work and
# is not in the driver's figures. Syscalls (the doorbell's eventfd write) are
# counted as the instructions around them only.
#
# DPDK (where dpdk-testpmd is installed; DPDK_SECS, 45, per run: under
# valgrind testpmd takes some 20 s to start): testpmd net_virtio_user
# (driver) <-> net_vhost (device), bench/dpdk.sh's command line, one side
# under callgrind, the other native. The PMDs' burst
# functions are static and Debian strips their symbols, so the driver's cost
# is what runs in the virtio PMD's object (librte_net_virtio, with the
# mempool and mbuf code inlined into it) per frame, the device's what runs
# in librte_vhost and librte_net_vhost; testpmd's own (txonly building
# frames, rxonly freeing them) is the application's. Calls that found a ring
# full or empty cannot be told apart there and stay in.
#   bench/cost.sh [--json] [BUILD_DIR [FRAMES [SIZE]]]
set -eu
json=false
if [ "${1:-}" = --json ]; then json=true; shift; fi
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
frames=${2:-200000}
size=${3:-64}
command -v valgrind >/dev/null || { echo "cost.sh: valgrind is not installed" >&2; exit 77; }
tmp=$(mktemp -d)
simd_pid=
cleanup() {
	[ -z "$simd_pid" ] || { kill "$simd_pid" 2>/dev/null; wait "$simd_pid" 2>/dev/null; }
	# COST_KEEP=DIR: keep the logs and callgrind files there.
	[ -z "${COST_KEEP:-}" ] || cp -r "$tmp"/. "$COST_KEEP"/
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cg="valgrind --tool=callgrind --dump-instr=no"
perf="$build/libtool --mode=execute"

# simd MODE [callgrind]: start vnet-simd (under callgrind when asked) and
# wait for its socket.
simd() {
	rm -f "$tmp/simd.sock"
	if [ -n "${2:-}" ]; then
		$cg --callgrind-out-file="$tmp/dev-$1.cg" "$build/tools/vnet-simd" \
			--socket "$tmp/simd.sock" --mode "$1" --size "$size" >"$tmp/simd.log" 2>&1 &
	else
		"$build/tools/vnet-simd" --socket "$tmp/simd.sock" --mode "$1" --size "$size" \
			>"$tmp/simd.log" 2>&1 &
	fi
	simd_pid=$!
	i=0
	while [ ! -S "$tmp/simd.sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$tmp/simd.sock" ] || { cat "$tmp/simd.log" >&2; exit 1; }
}
simd_stop() {
	kill -TERM "$simd_pid"
	wait "$simd_pid" || true
	simd_pid=
}
# vnetperf DIR [callgrind OUT]: FRAMES frames one way. Under valgrind the
# event engine sleeps in epoll: valgrind 3.19 keeps its one-thread-at-a-time
# lock across a blocking io_uring_enter, and the run would stall.
vnetperf() {
	if [ -n "${2:-}" ]; then
		VNET_EVENTS=epoll $perf $cg --callgrind-out-file="$2" "$build/tools/vnetperf" -j -i 0 -s "$size" \
			-n "$frames" "vfio-user:$tmp/simd.sock" "$1" >"$tmp/perf.json" 2>"$tmp/perf.err"
	else
		"$build/tools/vnetperf" -j -i 0 -s "$size" -n "$frames" "vfio-user:$tmp/simd.sock" \
			"$1" >"$tmp/perf.json" 2>"$tmp/perf.err"
	fi || { cat "$tmp/perf.err" >&2; exit 1; }
}

simd sink
vnetperf tx "$tmp/drv-tx.cg"
simd_stop
# An empty reserve's cost: the device is stopped (SIGSTOP) once the driver
# is up, so after the ring fills (a few reserves) every one finds it full;
# it runs again once vnetperf has printed its summary, for the close.
simd sink
VNET_EVENTS=epoll $perf $cg --callgrind-out-file="$tmp/drv-full.cg" "$build/tools/vnetperf" \
	-i 0 -d 1 -s "$size" "vfio-user:$tmp/simd.sock" tx >"$tmp/full.out" 2>&1 &
full_pid=$!
until grep -q "^vnetperf: vfio-user" "$tmp/full.out" || ! kill -0 $full_pid 2>/dev/null; do sleep 0.1; done
kill -STOP "$simd_pid"
until grep -q "^  lost" "$tmp/full.out" || ! kill -0 $full_pid 2>/dev/null; do sleep 0.1; done
kill -CONT "$simd_pid"
# (It may end with the device's failure: a stopped device answers no
# request; the reserves counted came before.)
wait $full_pid || true
grep -q "^  tx [1-9]" "$tmp/full.out" || { cat "$tmp/full.out" >&2; exit 1; }
simd_stop
simd source
vnetperf rx "$tmp/drv-rx.cg"
simd_stop
simd sink callgrind
vnetperf tx
simd_stop
simd source callgrind
vnetperf rx
simd_stop

# dpdk NAME VH_MODE VU_MODE MEASURED(vh|vu) FIELD: one testpmd pair; the
# measured side's FIELD (RX or TX) packets in $tmp/NAME.frames.
dpdk() {
	sock=$tmp/vhost.sock
	rm -f "$sock"
	pre=
	[ "$4" = vh ] && pre="$cg --callgrind-out-file=$tmp/$1.cg"
	timeout -s INT $((dsecs + 40)) $pre "$testpmd" -l 0,1 --main-lcore 0 --no-huge -m 256 \
		--no-pci --file-prefix="vnc-vh$$" --vdev "net_vhost0,iface=$sock,queues=1" -- \
		--forward-mode="$2" --txpkts="$size" --stats-period=5 --nb-cores=1 \
		--total-num-mbufs=8192 >"$tmp/$1-vh.log" 2>&1 &
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	pre=
	[ "$4" = vu ] && pre="$cg --callgrind-out-file=$tmp/$1.cg"
	timeout -s INT "$dsecs" $pre "$testpmd" -l 0,1 --main-lcore 1 --no-huge -m 256 --no-pci \
		--file-prefix="vnc-vu$$" --vdev "net_virtio_user0,path=$sock,queues=1" -- \
		--forward-mode="$3" --txpkts="$size" --stats-period=5 --nb-cores=1 \
		--total-num-mbufs=8192 >"$tmp/$1-vu.log" 2>&1 || true
	kill -INT $! 2>/dev/null || true
	wait $! || true
	# The last "$5-packets: N ... $5-dropped" line: the accumulated totals.
	sed -n "s/^ *$5-packets: *\([0-9]*\) .*$5-dropped.*/\1/p" "$tmp/$1-$4.log" | tail -n 1 \
		>"$tmp/$1.frames"
	rm -rf /var/run/dpdk/vnc-vh$$ /var/run/dpdk/vnc-vu$$
}
testpmd=$(command -v dpdk-testpmd || true)
dsecs=${DPDK_SECS:-45}
if [ -n "$testpmd" ]; then
	dpdk dpdk-drv-tx rxonly txonly vu TX
	dpdk dpdk-drv-rx txonly rxonly vu RX
	dpdk dpdk-dev-tx rxonly txonly vh RX
	dpdk dpdk-dev-rx txonly rxonly vh TX
else
	echo "cost.sh: dpdk-testpmd not found (apt-get install --no-install-recommends dpdk-dev); DPDK rows skipped" >&2
fi

# Calls and inclusive instructions of the named functions, summed over
# their call sites in a callgrind output file, then the table.
python3 - "$tmp" "$frames" "$size" "$json" <<'EOF'
import json, re, sys

tmp, frames, size, as_json = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "true"

def calls(path):
    """{function: [calls, inclusive Ir]} over every call site."""
    names, out, callee, pending = {}, {}, None, False
    for line in open(path):
        m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2).strip()
            callee = names.get(m.group(1))
            continue
        m = re.match(r"fn=\((\d+)\)(?: (.*))?", line)
        if m and m.group(2):
            names[m.group(1)] = m.group(2).strip()
            continue
        m = re.match(r"calls=(\d+) ", line)
        if m:
            pending = int(m.group(1))
            continue
        if pending is not False:
            ent = out.setdefault(callee, [0, 0])
            ent[0] += pending
            ent[1] += int(line.split()[-1])
            pending = False
    return out

def get(c, fn):
    return c.get(fn, [0, 0])

tx, rx = calls(f"{tmp}/drv-tx.cg"), calls(f"{tmp}/drv-rx.cg")
def per_call(c, fn):
    n, ir = get(c, fn)
    return ir / n if n else 0.0
# Every RX peek of a tx run to a sink finds nothing; all but the first few
# reserves of the stopped-device run find the ring full.
empty_peek = per_call(tx, "vnet_rx_peek")
# The stopped device took a while to stop: some of that run's reserves did
# get buffers. With S reserves that got some and E that got none, costing
# f and e each, both runs give R = S f + E e: two equations for f and e.
def solve():
    full = calls(f"{tmp}/drv-full.cg")
    (c1, r1), s1 = get(tx, "vnet_tx_reserve"), get(tx, "vnet_tx_submit")[0]
    (c2, r2), s2 = get(full, "vnet_tx_reserve"), get(full, "vnet_tx_submit")[0]
    e1, e2 = c1 - s1, c2 - s2
    det = s1 * e2 - s2 * e1
    return (s1 * r2 - s2 * r1) / det if det else per_call(full, "vnet_tx_reserve")
empty_reserve = solve()
rows = []

def row(name, c, fns, moving_fn, empty_cost):
    n_calls = get(c, fns[0])[0]
    ir = sum(get(c, f)[1] for f in fns)
    empty = n_calls - get(c, moving_fn)[0] if moving_fn else 0
    net = ir - empty * empty_cost
    rows.append({"row": name, "functions": "+".join(fns), "frames": frames, "calls": n_calls,
                 "empty_calls": empty, "empty_ir_each": round(empty_cost, 1), "ir": ir,
                 "ir_per_frame": round(net / frames, 1)})

row("driver tx (vnet-simd sink)", tx, ["vnet_tx_reserve", "vnet_tx_submit"], "vnet_tx_submit",
    empty_reserve)
row("driver rx (vnet-simd source)", rx, ["vnet_rx_peek", "vnet_rx_release"], "vnet_rx_release",
    empty_peek)
for mode in ("sink", "source"):
    row(f"device model, {mode} (vnet-simd)", calls(f"{tmp}/dev-{mode}.cg"), ["sim_mode_service"],
        None, 0)

def self_by_object(path):
    """{object: self Ir}: cost lines count for the current ob=, except the
    inclusive line after each calls=."""
    names, out, ob, after_call = {}, {}, None, False
    for line in open(path):
        m = re.match(r"(c?)ob=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3).strip()
            if not m.group(1):
                ob = names.get(m.group(2))
            continue
        if line.startswith("calls="):
            after_call = True
        elif after_call:
            after_call = False
        elif line[:1].isdigit() or line[:1] in "+-*":
            out[ob] = out.get(ob, 0) + int(line.split()[-1])
    return out

def dpdk_row(name, run, objs):
    try:
        n = int(open(f"{tmp}/{run}.frames").read() or 0)
        cost = self_by_object(f"{tmp}/{run}.cg")
    except (OSError, ValueError):
        return
    ir = sum(v for k, v in cost.items() if k and any(o in k for o in objs))
    rows.append({"row": name, "functions": "+".join(objs), "frames": n, "calls": None,
                 "empty_calls": None, "empty_ir_each": None, "ir": ir,
                 "ir_per_frame": round(ir / n, 1) if n else None})

dpdk_row("DPDK driver tx (virtio_user txonly)", "dpdk-drv-tx", ["librte_net_virtio"])
dpdk_row("DPDK driver rx (virtio_user rxonly)", "dpdk-drv-rx", ["librte_net_virtio"])
dpdk_row("DPDK device, rxonly (net_vhost)", "dpdk-dev-tx", ["librte_vhost", "librte_net_vhost"])
dpdk_row("DPDK device, txonly (net_vhost)", "dpdk-dev-rx", ["librte_vhost", "librte_net_vhost"])

if as_json:
    print(json.dumps({"size": size, "frames": frames, "empty_rx_peek_ir": round(empty_peek, 1),
                      "empty_tx_reserve_ir": round(empty_reserve, 1), "rows": rows}))
    sys.exit(0)
print(f"instructions per frame, {size}-byte frames, {frames} frames (callgrind)")
print(f"{'':36} {'calls':>9} {'empty':>7} {'Ir/frame':>9}")
def cell(v, width, fmt=""):
    return f"{v:{width}{fmt}}" if v is not None else f"{'-':>{width}}"
for r in rows:
    print(f"{r['row']:36} {cell(r['calls'], 9)} {cell(r['empty_calls'], 7)} "
          f"{cell(r['ir_per_frame'], 9, '.1f')}  ({r['frames']} frames)")
print(f"empty calls cost {empty_reserve:.1f} (vnet_tx_reserve) and {empty_peek:.1f} (vnet_rx_peek)"
      " instructions each, taken out; device calls are rounds over the queues")
EOF
