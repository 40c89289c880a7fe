#!/bin/sh
# SPDX-License-Identifier: MIT
#
# vnetconf link/stats/monitor/mac/vlan end to end, with real processes and
# sockets in a private run directory (VNET_RUN_DIR), printing TAP lines.
#
# Part 1: misbehaving servers (tests/integration/ctl_fake.py): a stuck one,
# one that hangs up, malformed, oversize, overlong-header and
# out-of-sequence answers, an
# extended-ack refusal, events then a hang-up, a stale socket.
# Part 2: real devices: tools/vnetperf looping frames on sim:loopback
# (perf0), and tests/integration/dev_hold (hold0), which moves frames only
# when told, so that a link_down fault comes after monitor subscribed.
#
# Every wait is bounded; every process started is killed at exit (perf0 runs
# for at most 600 s: under valgrind every vnetconf run takes seconds).
set -u

# make check turns control sockets off for every test (tests/local.mk):
# this one needs them, in its private run directories.
unset VNET_CTL
: "${srcdir:=.}"
VC=./tools/vnetconf
# make check-valgrind (VNET_TEST_QUICK=1): every vnetconf run under valgrind.
if [ "${VNET_TEST_QUICK:-}" = 1 ] && command -v valgrind >/dev/null; then
	VC="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect $VC"
fi
FAKE="$srcdir/tests/integration/ctl_fake.py"

command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/test_vnetconf_ctl.XXXXXX") || exit 99
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 99' INT TERM

n=0
failed=0
# t DESCRIPTION CONDITION: one TAP line for whether CONDITION (shell) holds.
t() {
	n=$((n + 1))
	if eval "$2"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		echo "#   condition: $2"
		sed 's/^/#   stdout: /' "$T/out"
		sed 's/^/#   stderr: /' "$T/err"
		failed=$((failed + 1))
	fi
}

# vc ARGS: run vnetconf, keeping stdout, stderr and the exit code ($rc).
vc() {
	$VC "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
out_has() { grep -qF -- "$1" "$T/out"; }
err_is() { [ "$(cat "$T/err")" = "$1" ]; }
err_has() { grep -qF -- "$1" "$T/err"; }
# json EXPR: EXPR (python, over the parsed stdout as d) is true.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$T/out"; }
# until_true CONDITION: wait up to 10 s for CONDITION.
until_true() {
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

# ---- Part 1: misbehaving servers ----

# fake MODE: a fake server of MODE serving fake0 in its own run directory.
fake() {
	export VNET_RUN_DIR="$T/fake-$1"
	mkdir -m 700 "$VNET_RUN_DIR"
	python3 "$FAKE" "$VNET_RUN_DIR/fake0.sock" "$1" >"$T/fake-$1.out" &
	fake_pid=$!
	pids="$pids $fake_pid"
	until_true "grep -q ready \"$T/fake-$1.out\"" || echo "# the fake server did not start"
}

fake stuck
start=$(date +%s)
vc link show fake0
t "a server that never answers: exit 1 after 2 s, naming its pid" \
	'[ $rc -eq 1 ] && err_is "vnetconf: link show fake0: fake0 (pid $fake_pid) did not answer in 2 s (is its process stuck?)" && [ $(($(date +%s) - start)) -le 4 ]'

fake noaccept
start=$(date +%s)
vc link show fake0
t "a server that never accepts: connect gives up after 2 s, naming the device" \
	'[ $rc -eq 1 ] && err_is "vnetconf: fake0 did not accept the connection in 2 s (is its process stuck?)" && [ $(($(date +%s) - start)) -le 4 ]'

fake hangup
vc stats fake0
t "a server that hangs up: exit 1, and why" \
	'[ $rc -eq 1 ] && err_has "fake0 (pid $fake_pid) closed the connection without an answer"'

fake badattr
vc -j link show fake0
t "an attribute of the wrong length is refused" \
	'[ $rc -eq 1 ] && err_is "vnetconf: link show fake0: malformed answer: attribute VNET_A_MAC has 3 bytes" && json "d == []"'

fake oversize
vc link show fake0
t "an answer longer than VNET_CTL_MSG_MAX is refused" \
	'[ $rc -eq 1 ] && err_has "more than the 16384 a message may have"'

fake biglen
vc link show fake0
t "an nlmsg_len past the datagram is refused (not followed)" \
	'[ $rc -eq 1 ] && err_is "vnetconf: link show fake0: fake0 (pid $fake_pid) sent a truncated message"'

fake wrongseq
vc -j link show fake0
t "an answer with another nlmsg_seq is skipped" \
	'[ $rc -eq 0 ] && json "[x[\"name\"] for x in d] == [\"fake0\"] and d[0][\"mtu\"] == 1500"'

fake extack
vc link set fake0 mtu 9000 promisc on
t "a refusal is shown with the server's extended-ack message verbatim" \
	'[ $rc -eq 1 ] && err_is "vnetconf: link set fake0 mtu 9000 promisc on: the fake device refuses: \"busy\""'
vc vlan add fake0 7
t "vlan add: the same refusal" \
	'[ $rc -eq 1 ] && err_is "vnetconf: vlan add fake0 7: the fake device refuses: \"busy\""'

fake events
vc -j monitor fake0
t "monitor -j DEV: one JSON object per event, then the device going away ends it (exit 0)" \
	'[ $rc -eq 0 ] && [ $(wc -l <"$T/out") -eq 3 ] &&
	 python3 -c "
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [(e[\"name\"], e[\"event\"]) for e in ev] == [(\"fake0\", \"link_down\"), (\"fake0\", \"link_up\"), (\"fake0\", \"gone\")], ev
assert ev[0][\"oper_up\"] is False and ev[1][\"oper_up\"] is True and ev[0][\"admin_up\"] is True
assert all(e[\"time\"].endswith(\"Z\") for e in ev)
" "$T/out"'

# A socket file nobody serves: skipped by listings, "no device" by name.
export VNET_RUN_DIR="$T/stale"
mkdir -m 700 "$VNET_RUN_DIR"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).bind(sys.argv[1])' \
	"$VNET_RUN_DIR/old0.sock"
vc link show
t "no device running: exit 1, and where vnetconf looked" \
	'[ $rc -eq 1 ] && err_is "vnetconf: no libvnet device is running (run directory $VNET_RUN_DIR has no live socket)"'
vc -j stats
t "no device running, -j: still valid JSON on stdout" '[ $rc -eq 1 ] && json "d == []"'
VNET_RUN_DIR="$T/none" vc monitor
t "no run directory: exit 1, and why" \
	'[ $rc -eq 1 ] && err_is "vnetconf: monitor: no libvnet device is running (there is no run directory $T/none)"'

# ---- Grammar (no device needed) ----

vc help
t "help lists every command" '[ $rc -eq 0 ] && out_has "vnetconf monitor [DEV]" && out_has "vnetconf vlan del DEV ID"'
vc link help
t "help at the object level" '[ $rc -eq 0 ] && out_has "vnetconf link set DEV" && ! out_has "vnetconf dev"'
vc link set help
t "help at the command level" '[ $rc -eq 0 ] && out_has "vnetconf link set DEV" && ! out_has "link show"'
vc link frob
t "an unknown command: exit 2" '[ $rc -eq 2 ] && err_is "vnetconf: unknown command \"link frob\" (see vnetconf link help)"'
vc link set perf0 address 52:54:00:12:34
t "a bad MAC address: exit 2" \
	'[ $rc -eq 2 ] && err_is "vnetconf: link set: bad address \"52:54:00:12:34\": expected a MAC address XX:XX:XX:XX:XX:XX"'
vc link set perf0 mtu 15OO
t "a bad MTU: exit 2" '[ $rc -eq 2 ] && err_is "vnetconf: link set: bad mtu \"15OO\": expected a number of bytes"'
vc link set perf0 mtu
t "a setting without its value: exit 2" '[ $rc -eq 2 ] && err_has "mtu needs a value"'
vc link set perf0 speed 10
t "an unknown setting: exit 2" '[ $rc -eq 2 ] && err_has "unknown setting \"speed\""'
vc mac add perf0 01:02:03:04:05
t "mac add with a bad MAC: exit 2" '[ $rc -eq 2 ]'
vc vlan del perf0 4096
t "a VLAN id out of range: exit 2" '[ $rc -eq 2 ] && err_has "expected 0 to 4095"'
vc link show 'Bad/Name'
t "a name no device can have: exit 2" '[ $rc -eq 2 ]'

# ---- Part 2: real devices ----

export VNET_RUN_DIR="$T/run"
mkdir -m 700 "$VNET_RUN_DIR"
./tools/vnetperf -d 600 -i 0 'sim:loopback?name=perf0' loop >"$T/perf.out" 2>&1 &
perf_pid=$!
pids="$pids $perf_pid"
mkfifo "$T/hold.in"
./tests/integration/dev_hold 'sim:loopback?name=hold0&fault=link_down@100' <"$T/hold.in" >>"$T/hold.out" 2>&1 & # (appends: the script empties it)
hold_pid=$!
pids="$pids $hold_pid"
exec 3>"$T/hold.in"
until_true '$VC link show perf0 >/dev/null 2>&1 && $VC link show hold0 >/dev/null 2>&1' ||
	sed 's/^/# devices did not start: /' "$T/perf.out" "$T/hold.out"

vc -j link show
t "link show -j: valid JSON with both devices, their URI and pid" \
	'[ $rc -eq 0 ] && json "[(x[\"name\"], x[\"uri\"], x[\"pid\"]) for x in d] == [(\"hold0\", \"sim:loopback?name=hold0&fault=link_down@100\", $hold_pid), (\"perf0\", \"sim:loopback?name=perf0\", $perf_pid)]"'
t "link show -j: state, flags, queues and address" \
	'json "d[1][\"state\"] == \"UP\" and d[1][\"flags\"][:2] == [\"UP\", \"LOWER_UP\"] and d[1][\"open_pairs\"] >= 1 and len(d[1][\"address\"]) == 17"'
vc -p link show perf0
t "-p: pretty JSON, one member per line" '[ $rc -eq 0 ] && json "d[0][\"name\"] == \"perf0\"" && [ $(wc -l <"$T/out") -gt 10 ]'
vc link show perf0
t "link show: ip-link-like text" \
	'[ $rc -eq 0 ] && head -1 "$T/out" | grep -q "^perf0: <UP,LOWER_UP[A-Z,]*> mtu 1500 max_mtu [0-9]* queues [0-9]*/[0-9]*/[0-9]* qsize [0-9]* state UP$" && out_has "uri sim:loopback?name=perf0 pid $perf_pid access vfio-user driver virtio-net"'
vc -d link show perf0
t "link show -d: the negotiated features by name" '[ $rc -eq 0 ] && out_has "VIRTIO_F_VERSION_1"'
vc l s hold0
cp "$T/out" "$T/abbrev"
vc link show hold0
t "abbreviations: \"l s\" is \"link show\"" '[ $rc -eq 0 ] && cmp -s "$T/out" "$T/abbrev"'

vc -s stats perf0
t "stats -s: totals and per-queue counters" \
	'[ $rc -eq 0 ] && out_has "perf0:" && out_has "    RX:" && out_has "    queue 0:  rx packets "'
vc -s -s stats perf0
t "stats -s -s: every counter by name" '[ $rc -eq 0 ] && out_has "        rx_queue_0_kicks: "'
vc -j stats perf0
cp "$T/out" "$T/stats1"
sleep 0.3
vc -j stats perf0
t "stats -j twice: the counters move while vnetperf runs" \
	'[ $rc -eq 0 ] && python3 -c "
import json, sys
a, b = (json.load(open(f))[0] for f in sys.argv[1:])
assert b[\"rx\"][\"packets\"] > a[\"rx\"][\"packets\"] > 0, (a, b)
assert b[\"tx\"][\"packets\"] > a[\"tx\"][\"packets\"] > 0, (a, b)
assert b[\"counters\"][\"rx_queue_0_packets\"] == b[\"queues\"][0][\"rx\"][\"packets\"]
" "$T/stats1" "$T/out"'
vc -s -j link show perf0
t "link show -s -j: with the totals" '[ $rc -eq 0 ] && json "d[0][\"stats\"][\"rx\"][\"packets\"] > 0"'

vc link show nosuch
t "an unknown device: exit 1, listing the running ones" \
	'[ $rc -eq 1 ] && err_is "vnetconf: no libvnet device named nosuch; running: hold0 (pid $hold_pid), perf0 (pid $perf_pid)"'
vc link set nosuch up
t "link set on an unknown device: exit 1" \
	'[ $rc -eq 1 ] && err_is "vnetconf: link set nosuch up: no libvnet device named nosuch; running: hold0 (pid $hold_pid), perf0 (pid $perf_pid)"'

# Settings take effect on the device and show in link show.
# (sim: devices start promiscuous.)
vc link set perf0 promisc off mtu 1400
t "link set promisc off mtu 1400: done, silently" '[ $rc -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ]'
vc -j link show perf0
t "link show: no PROMISC, and the new MTU" \
	'json "d[0][\"flags\"] == [\"UP\", \"LOWER_UP\"] and d[0][\"mtu\"] == 1400"'
vc li se perf0 prom on
vc link show perf0
t "link set promisc on (abbreviated): PROMISC in link show" \
	'[ $rc -eq 0 ] && head -1 "$T/out" | grep -q "^perf0: <UP,LOWER_UP,PROMISC> mtu 1400 "'
vc link set perf0 mtu 70000
t "an MTU the device refuses: exit 1 with the server's reason" \
	'[ $rc -eq 1 ] && grep -q "^vnetconf: link set perf0 mtu 70000: ." "$T/err" && ! err_has "no libvnet device"'
vc -j link show perf0
t "a refused setting changes nothing" 'json "d[0][\"mtu\"] == 1400"'

# promisc off: the device drops frames for other MACs, and counts them
# (its RX filter's dev_rx_queue_0_filtered); promisc on: it delivers them.
# (hold0 sends below its fault's 100 frames here.)
vc link set hold0 promisc off
echo "send 5 02:00:00:00:00:99" >&3
until_true 'grep -q "sent 5 received" "$T/hold.out"'
vc -j stats hold0
t "promisc off: frames for another MAC are dropped and counted" \
	'grep -q "^sent 5 received 0$" "$T/hold.out" && json "d[0][\"counters\"][\"dev_rx_queue_0_filtered\"] == 5 and d[0][\"rx\"][\"packets\"] == 0"'
vc -s -s stats hold0
t "stats -s -s shows the drops" '[ $rc -eq 0 ] && out_has "        dev_rx_queue_0_filtered: 5"'
: >"$T/hold.out"
vc link set hold0 promisc on
echo "send 5 02:00:00:00:00:99" >&3
until_true 'grep -q "sent 5 received" "$T/hold.out"'
vc -j stats hold0
t "promisc on: they are delivered" \
	'grep -q "^sent 5 received 5$" "$T/hold.out" && json "d[0][\"counters\"][\"dev_rx_queue_0_filtered\"] == 5 and d[0][\"rx\"][\"packets\"] == 5"'

# RSS and coalescing: rss0 offers both (sim: rss=on coalesce=on, 2 queue
# pairs); perf0 offers neither.
mkfifo "$T/rss.in"
./tests/integration/dev_hold 'sim:loopback?name=rss0&queues=2&rss=on&coalesce=on' <"$T/rss.in" >"$T/rss.out" 2>&1 &
rss_pid=$!
pids="$pids $rss_pid"
exec 4>"$T/rss.in"
until_true '$VC link show rss0 >/dev/null 2>&1'
KEY=6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa
vc -j rss show rss0
t "rss show -j: off at first, with the device's limits and the driver's random key" \
	'[ $rc -eq 0 ] && json "d[0][\"rss\"] is False and d[0][\"key_max\"] == 40 and d[0][\"table_max\"] == 128 and d[0][\"hash_supported\"] == [\"ipv4\", \"tcp4\", \"udp4\", \"ipv6\", \"tcp6\", \"udp6\"] and len(d[0][\"key\"].split(\":\")) == 40"'
vc rss set rss0 equal 2 hash ipv4,tcp4
t "rss set equal hash, no key (README's example): the driver's key serves" '[ $rc -eq 0 ] && [ ! -s "$T/err" ]'
vc rss set rss0 key $KEY equal 2 hash ipv4,tcp4,udp4
t "rss set key equal hash: done, silently" '[ $rc -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ]'
vc -j rss show rss0
t "rss show: the key, round-robin table and hash types set" \
	'[ $rc -eq 0 ] && json "d[0][\"rss\"] and d[0][\"key\"] == \"$KEY\" and d[0][\"table\"] == [i % 2 for i in range(128)] and d[0][\"hash\"] == [\"ipv4\", \"tcp4\", \"udp4\"]"'
vc rss set rss0 weight 1 3
vc -j rss show rss0
t "rss set weight 1 3: a quarter to pair 0, the key kept" \
	'[ $rc -eq 0 ] && json "d[0][\"table\"] == [0] * 32 + [1] * 96 and d[0][\"key\"] == \"$KEY\""'
vc rss show rss0
t "rss show: ethtool-like text" \
	'[ $rc -eq 0 ] && head -1 "$T/out" | grep -qx "rss0: rss on" && out_has "    hash ipv4 tcp4 udp4 (supported: ipv4 tcp4 udp4 ipv6 tcp6 udp6)" && out_has "       32:     1     1"'
vc rss set rss0 equal 3
t "rss set naming a pair not opened: exit 1 with the device's reason" \
	'[ $rc -eq 1 ] && err_is "vnetconf: rss set rss0: virtio-net: set rss: entry 2 names queue pair 2 (2 opened)"'
vc rss set rss0 hash tcp9
t "rss set with an unknown hash type: exit 2" '[ $rc -eq 2 ] && err_has "hash needs a comma-separated list"'
vc rss show perf0
t "rss on a device without VIRTIO_NET_F_RSS: exit 1, naming the feature" \
	'[ $rc -eq 1 ] && err_has "vnetconf: rss show perf0: " && err_has "VIRTIO_NET_F_RSS"'
vc coalesce set rss0 rx-usecs 100 tx-frames 8
t "coalesce set: done, silently" '[ $rc -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ]'
vc coalesce set rss0 rx-frames 16
vc -j coalesce show rss0
t "coalesce show -j: what was set, the rest kept" \
	'[ $rc -eq 0 ] && json "d == [{\"ifname\": \"rss0\", \"rx-usecs\": 100, \"rx-frames\": 16, \"tx-usecs\": 0, \"tx-frames\": 8}]"'
vc coalesce show rss0
t "coalesce show: one line" '[ $rc -eq 0 ] && [ "$(cat "$T/out")" = "rss0: rx-usecs 100 rx-frames 16 tx-usecs 0 tx-frames 8" ]'
vc coalesce set rss0 rx-usec 5
t "coalesce set with an unknown setting: exit 2" '[ $rc -eq 2 ] && err_has "unknown setting \"rx-usec\""'
vc coalesce show perf0
t "coalesce on a device without it: exit 1, naming the feature" \
	'[ $rc -eq 1 ] && err_has "VIRTIO_NET_F_NOTF_COAL"'
echo "send 3" >&4
until_true 'grep -q "sent 3 received" "$T/rss.out"'
t "rss0 still loops frames after all that" 'grep -q "^sent 3 received 3$" "$T/rss.out"'
exec 4>&-
until_true '! kill -0 "$rss_pid" 2>/dev/null'

# monitor: wait until it hears a settings event (it has subscribed), then
# let dev_hold's frames trigger the link_down fault.
# (3>&-: only this shell holds dev_hold's input open, so closing it ends dev_hold.)
$VC monitor hold0 >"$T/mon.out" 2>"$T/mon.err" 3>&- &
mon_pid=$!
pids="$pids $mon_pid"
$VC -j monitor >"$T/monj.out" 2>"$T/monj.err" 3>&- &
monj_pid=$!
pids="$pids $monj_pid"
until_true '$VC link set hold0 allmulti on 2>/dev/null; $VC link set hold0 allmulti off 2>/dev/null; grep -q "hold0: settings" "$T/mon.out" && grep -q "\"hold0\".*settings" "$T/monj.out"'
echo "send 200" >&3
until_true 'grep -q "sent 200" "$T/hold.out"'
until_true 'grep -q "hold0: link_down" "$T/mon.out"'
cp "$T/mon.out" "$T/out"
: >"$T/err"
t "monitor sees the link_down fault, timestamped" \
	'grep -q "^\[20[0-9-]*T[0-9:.]*Z\] hold0: link_down link down admin up$" "$T/out"'
kill -INT "$mon_pid"
until_true '! kill -0 "$mon_pid" 2>/dev/null' || kill -KILL "$mon_pid"
wait "$mon_pid"
rc=$?
t "monitor ends on SIGINT with exit 0" '[ $rc -eq 0 ] && [ ! -s "$T/mon.err" ]'

# A device going away: monitor goes on with the other; one that starts
# later is picked up (the run directory is watched) and its events seen.
exec 3>&-
until_true '! kill -0 "$hold_pid" 2>/dev/null'
until_true 'grep -q "\"hold0\",\"event\":\"gone\"" "$T/monj.out"'
mkfifo "$T/late.in"
./tests/integration/dev_hold 'sim:loopback?name=late0' <"$T/late.in" >"$T/late.out" 2>&1 &
late_pid=$!
pids="$pids $late_pid"
exec 5>"$T/late.in"
until_true 'grep -q "\"late0\",\"event\":\"new\"" "$T/monj.out"'
until_true '$VC link set late0 allmulti on 2>/dev/null; grep -q "\"late0\",\"event\":\"settings\"" "$T/monj.out"'
exec 5>&-
until_true '! kill -0 "$late_pid" 2>/dev/null'
until_true 'grep -q "\"late0\",\"event\":\"gone\"" "$T/monj.out"'
kill -TERM "$perf_pid"
until_true 'grep -q "\"perf0\",\"event\":\"gone\"" "$T/monj.out"'
sleep 0.2
t "monitor -j: still running with no device left (it waits for new ones)" 'kill -0 "$monj_pid"'
kill -TERM "$monj_pid"
until_true '! kill -0 "$monj_pid" 2>/dev/null' || kill -KILL "$monj_pid"
wait "$monj_pid"
rc=$?
cp "$T/monj.out" "$T/out"
cp "$T/monj.err" "$T/err"
t "monitor -j: every line JSON, each device's arrival and departure, exit 0 on SIGTERM" \
	'[ $rc -eq 0 ] && [ ! -s "$T/err" ] && python3 -c "
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
names = [e[\"name\"] for e in ev if e[\"event\"] == \"gone\"]
assert names == [\"hold0\", \"late0\", \"perf0\"], ev
assert [e[\"name\"] for e in ev if e[\"event\"] == \"new\"] == [\"late0\"], ev
assert any(e[\"name\"] == \"hold0\" and e[\"event\"] == \"link_down\" for e in ev), ev
" "$T/out"'

vc link show
t "every device gone: no libvnet device is running" '[ $rc -eq 1 ] && err_has "no libvnet device is running"'

# ---- Part 3: vnetperf -Q 2, a thread on each of two queue pairs ----

# loop: the device's per-queue counters (vnetconf stats) show both pairs
# busy; stopped by SIGTERM, vnetperf accounts for every frame on each pair
# (received or in flight at the stop) and loses none.
./tools/vnetperf -j -i 0 -d 60 -Q 2 'sim:loopback?name=perf2&queues=2' loop >"$T/perf2.out" 2>"$T/perf2.err" &
perf_pid=$!
pids="$pids $perf_pid"
until_true '$VC -j stats perf2 >"$T/out" 2>"$T/err" && json "len(d[0][\"queues\"]) == 2 and all(q[\"rx\"][\"packets\"] > 0 and q[\"tx\"][\"packets\"] > 0 for q in d[0][\"queues\"])"'
t "-Q 2 loop: frames move on both queue pairs (vnetconf stats)" \
	'json "all(q[\"rx\"][\"packets\"] > 0 and q[\"tx\"][\"packets\"] > 0 for q in d[0][\"queues\"])"'
kill -TERM "$perf_pid"
wait "$perf_pid"
rc=$?
cp "$T/perf2.out" "$T/out"
cp "$T/perf2.err" "$T/err"
# pair_ok KEY: every pair moved KEY frames, lost none, and the totals add up.
pair_ok='[x["queue"] for x in d["per_pair"]] == [0, 1] and all(x[KEY] > 0 and x["lost"] == 0 and x["corrupt"] == 0 and x["reordered"] == 0 and not x["failed"] for x in d["per_pair"]) and all(d[k] == sum(x[k] for x in d["per_pair"]) for k in ("tx_frames", "rx_frames", "lost", "in_flight")) and d["pairs"] == 2'
t "-Q 2 loop: each pair's frames came back in order, none lost; the totals are the sums" \
	'[ $rc -eq 0 ] && [ ! -s "$T/err" ] && json "$(echo "$pair_ok" | sed "s/KEY/\"rx_frames\"/") and all(x[\"tx_frames\"] == x[\"rx_frames\"] + x[\"in_flight\"] for x in d[\"per_pair\"])"'

# rx from a device process (vnet-simd, vfio-user) sending on both pairs
# once the driver activates them: each pair receives its count, in order.
./tools/vnet-simd --socket "$T/src.sock" --mode source --queues 2 >"$T/simd.out" 2>&1 &
simd_pid=$!
pids="$pids $simd_pid"
until_true '[ -S "$T/src.sock" ]'
timeout 60 ./tools/vnetperf -j -i 0 -n 20000 -Q 2 "vfio-user:$T/src.sock" rx >"$T/out" 2>"$T/err"
rc=$?
t "-Q 2 rx from vnet-simd --mode source --queues 2: 20000 frames on each pair, none lost" \
	'[ $rc -eq 0 ] && json "$(echo "$pair_ok" | sed "s/KEY/\"rx_frames\"/") and [x[\"rx_frames\"] for x in d[\"per_pair\"]] == [20000, 20000]"'
kill "$simd_pid"
wait "$simd_pid"

echo "1..$n"
[ $failed -eq 0 ]
