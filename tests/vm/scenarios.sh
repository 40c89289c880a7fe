#!/bin/sh
# The VM test scenarios, run by /init in the guest (see run-vm.sh):
#
#   scenarios.sh MODE FRAMES        MODE: group, cdev or noiommu
#
# NIC A (0000:00:02.0) is bound to vfio-pci and driven by libvnet in MODE;
# then NIC E (0000:00:06.0, an Intel 82574: QEMU's e1000e) runs the same
# scenarios (named e1000e-*) against NIC F (0000:00:07.0) on a third hub;
# NIC B (0000:00:03.0) stays with the kernel's virtio_net as the peer on the
# QEMU hub; NIC C (0000:00:04.0, no MSI-X) and NIC D (0000:00:05.0) are the
# same on a second hub, for the INTx scenario; NIC G (0000:00:08.0, QEMU's
# packed=on) and NIC H (0000:00:09.0) on a fourth hub, for the ping, tx and
# rx scenarios over QEMU's packed virtqueues (named packed-*). Each
# scenario prints
# "PASS: NAME [MODE]" or "FAIL: NAME [MODE]:
# why", followed by the output of the failing commands. Every command that
# could wait runs under timeout(1), so a broken driver cannot hang the run.
mode=$1
frames=$2
A=0000:00:02.0
B=0000:00:03.0
MAC_A=52:54:00:00:00:0a
IP_B=10.99.0.1
IP_A=10.99.0.2
URI=vfio:$A
C=0000:00:04.0
D=0000:00:05.0
IP_D=10.98.0.1
IP_C=10.98.0.2
E=0000:00:06.0
F=0000:00:07.0
MAC_E=52:54:00:00:00:0e
IP_F=10.97.0.1
IP_E=10.97.0.2
G=0000:00:08.0
H=0000:00:09.0
MAC_G=52:54:00:00:00:10
IP_H=10.96.0.1
IP_G=10.96.0.2
TI=0000:00:0a.0
TJ=0000:00:0b.0
MAC_TI=52:54:00:00:00:12
IP_TJ=10.95.0.1
IP_TI=10.95.0.2
export VNET_VFIO_MODE="$mode"
IF=
P=         # scenario name prefix: "" for NIC A (virtio-net), "e1000e-" for NIC E
DRV=virtio-net # the libvnet driver of $A

pass() { echo "PASS: $1 [$mode]"; }
# fail NAME WHY [FILE...]: the verdict, then the files that show why.
fail() {
	echo "FAIL: $1 [$mode]: $2"
	shift 2
	for f in "$@"; do
		[ -f "$f" ] && sed "s|^|    $(basename "$f"): |" "$f" | tail -n 30
	done
	return 1
}

# wait_for FILE PATTERN SECS PID: until FILE has a line matching PATTERN;
# fails after SECS seconds or as soon as process PID is gone.
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $(($3 * 10)) ] && return 1
		[ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null && ! grep -q "$2" "$1" && return 1
		sleep 0.1
	done
	return 0
}

# start NAME OUT PATTERN CMD...: CMD in the background, its output in OUT
# and its pid in $bg, until OUT has a line matching PATTERN. When that does
# not come (20 s, or CMD is gone), CMD is killed and scenario NAME fails.
start() {
	sname=$1 sout=$2 spat=$3
	shift 3
	rm -f "$sout"
	"$@" >"$sout" 2>&1 &
	bg=$!
	wait_for "$sout" "$spat" 20 $bg && return 0
	kill -9 $bg 2>/dev/null
	wait $bg
	fail "$sname" "did not start: $*" "$sout"
}

rx_packets() { cat "/sys/class/net/$IF/statistics/rx_packets"; }

# The network interface virtio_net made of PCI function $1 (below virtioN/net/).
iface_of() {
	for d in /sys/bus/pci/devices/"$1"/net/* /sys/bus/pci/devices/"$1"/virtio*/net/*; do
		[ -e "$d" ] && basename "$d" && return 0
	done
	return 1
}

# Bring kernel interface $1 up with address $2/24, IPv6 off (see s_nic_b).
iface_up() {
	for c in all default "$1"; do
		echo 1 >"/proc/sys/net/ipv6/conf/$c/disable_ipv6"
	done
	ip addr add "$2/24" dev "$1" && ip link set "$1" promisc on && ip link set "$1" up &&
		wait_for "/sys/class/net/$1/operstate" '^up$' 10
}

# Interrupts vfio-pci took on the INTx line of $1 so far (0 while not routed).
intx_count() {
	awk -v dev="vfio-intx($1)" '$NF == dev { n = 0; for (i = 2; $i ~ /^[0-9]+$/; i++) n += $i; print n; f = 1 }
		END { if (!f) print 0 }' /proc/interrupts
}

# 1. vnetconf binds NIC A to vfio-pci and lists it as usable in this mode.
s_bind() {
	vnetconf dev bind $A >/tmp/bind.out 2>&1 ||
		{ fail "${P}bind" "vnetconf dev bind $A failed" /tmp/bind.out; return; }
	drv=$(basename "$(readlink /sys/bus/pci/devices/$A/driver)")
	[ "$drv" = vfio-pci ] || { fail "${P}bind" "driver is '$drv', not vfio-pci" /tmp/bind.out; return; }
	sed 's/^/    /' /tmp/bind.out
	pass "${P}bind"
}

s_list() {
	if ! vnetconf -j dev list >/tmp/list.json 2>&1 || ! vnetconf dev list >/tmp/list.txt 2>&1; then
		fail "${P}list" "vnetconf dev list failed" /tmp/list.json /tmp/list.txt
		return
	fi
	entry=$(grep -o "{\"pci\":\"$A\"[^}]*}" /tmp/list.json)
	case $entry in
	*"\"libvnet_driver\":\"$DRV\""*'"driver":"vfio-pci"'*'"usable":true'*"\"$mode\""*) ;;
	*) fail "${P}list" "$A not usable in mode $mode" /tmp/list.json; return ;;
	esac
	grep -q "^$A .* $DRV .*vfio-pci .*$mode" /tmp/list.txt ||
		{ fail "${P}list" "text listing disagrees" /tmp/list.txt; return; }
	sed 's/^/    /' /tmp/list.txt
	pass "${P}list"
}

# 2. NIC B, the kernel's side of the wire, gets 10.99.0.1/24 and is up.
# IPv6 is off so the kernel sends nothing of its own (no DAD, no router
# solicitations): while no application drives NIC A, QEMU holds what NIC B
# sends (stalling its TX queue) and delivers it to the next application, so
# every frame on the wire must be one a scenario expects;
# promiscuous mode lets it count frames addressed to NIC A (vnetperf's).
s_nic_b() {
	IF=$(iface_of $B) || { fail nic-b "no network interface on $B"; return; }
	iface_up "$IF" $IP_B >/tmp/ip.out 2>&1 ||
		{ fail nic-b "cannot bring $IF up with $IP_B" /tmp/ip.out; return; }
	ip -4 addr show dev "$IF" | grep -q "inet $IP_B/24" ||
		{ fail nic-b "$IF lacks $IP_B/24"; return; }
	pass nic-b
}

# 3. The kernel pings vnet-responder on NIC A: COUNT echo requests after one
# ARP exchange (the neighbour cache is flushed first), no loss.
ping_responder() {
	name=$1 count=$2
	ip neigh flush dev "$IF" >/dev/null 2>&1
	start "$name" /tmp/resp.out 'answering for' \
		timeout 60 vnet-responder -c $((count + 1)) $URI $IP_A || return
	rpid=$bg
	timeout 40 ping -c "$count" -A -W 2 $IP_A >/tmp/ping.out 2>&1
	# It exits by itself after its last reply; stop it only if it hangs on.
	i=0
	while kill -0 $rpid 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill $rpid 2>/dev/null
	wait $rpid
	rrc=$?
	grep -q ", 0% packet loss" /tmp/ping.out ||
		{ fail "$name" "ping $IP_A lost replies" /tmp/ping.out /tmp/resp.out; return; }
	[ $rrc -eq 0 ] || { fail "$name" "vnet-responder exited with $rrc" /tmp/resp.out; return; }
	pass "$name"
}

# 4a. libvnet sends FRAMES frames: NIC B's kernel counts them. Also keeps
# vnetperf's header line for scenario 5. $1: the scenario's name (tx).
s_tx() {
	before=$(rx_packets)
	# On timeout's SIGTERM vnetperf stops and prints what it did so far.
	timeout 30 vnetperf -n "$frames" -i 0 $URI tx >/tmp/tx.out 2>&1 ||
		{ fail "${P}tx" "vnetperf tx failed" /tmp/tx.out; return; }
	grep -q "^  tx $frames frames" /tmp/tx.out ||
		{ fail "${P}tx" "vnetperf did not send $frames frames in 30 s" /tmp/tx.out; return; }
	# The kernel's NAPI poll may still be counting the last frames.
	i=0
	while [ $(($(rx_packets) - before)) -lt "$frames" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	got=$(($(rx_packets) - before))
	[ "$got" -ge "$frames" ] ||
		{ fail "${P}tx" "$IF received $got of $frames frames" /tmp/tx.out; return; }
	pass "${P}tx"
}

# 5. The MAC address, MTU and access mode libvnet reports are QEMU's.
s_info() {
	want="(vfio-$mode) mac $MAC_A mtu 1500,"
	grep -qF "$want" /tmp/tx.out ||
		{ fail "${P}info" "vnetperf's header lacks '$want'" /tmp/tx.out; return; }
	pass "${P}info"
}

# 4b. The kernel sends FRAMES frames in vnetperf's format (vm-rawsend, over
# AF_PACKET on NIC B): libvnet receives all of them, intact, in order but for
# what QEMU itself swaps (below). $1: the scenario's name (rx).
s_rx() {
	# -i 1: the progress lines flush stdout, header line included.
	start "${P}rx" /tmp/rx.out "^vnetperf: $URI" \
		timeout 40 vnetperf -n "$frames" -i 1 $URI rx || return
	ppid=$bg
	timeout 30 vm-rawsend "$IF" "$frames" $MAC_A >/tmp/rawsend.out 2>&1 ||
		{ kill $ppid 2>/dev/null; wait $ppid; fail "${P}rx" "vm-rawsend failed" /tmp/rawsend.out; return; }
	wait $ppid
	prc=$?
	[ $prc -eq 0 ] || { fail "${P}rx" "vnetperf rx exited with $prc" /tmp/rx.out; return; }
	# Every frame, intact. Order: QEMU's net queue (net/queue.c,
	# qemu_net_queue_send()) hands a new packet to a receiver that has buffers
	# again before it flushes one it had to queue while the receiver had none,
	# so a pair can arrive swapped; each late frame counts as lost, then as
	# reordered. Frames that never arrive (lost > reordered) fail.
	set -- $(sed -n 's/^  lost \([0-9]*\)  in flight [0-9]*  reordered \([0-9]*\)  corrupt \([0-9]*\)$/\1 \2 \3/p' /tmp/rx.out)
	if ! grep -q "^  rx $frames frames" /tmp/rx.out || [ $# -ne 3 ] || [ "$1" -ne "$2" ] ||
		[ "$3" -ne 0 ]; then
		fail "${P}rx" "frames lost or corrupt" /tmp/rx.out
		return
	fi
	[ "$2" -eq 0 ] || echo "    rx: $2 frame(s) overtaken inside QEMU's net queue, all arrived"
	pass "${P}rx"
}

# 6. An application killed with SIGKILL mid-traffic leaves the device usable:
# the next one opens it and answers pings.
s_restart() {
	start "${P}restart" /tmp/kill.out '^\[' \
		timeout 60 vnetperf -d 50 -i 1 $URI tx || return
	kpid=$bg
	kill -9 $kpid
	wait $kpid
	ping_responder "${P}restart" 5
}

# 6b. The control plane on real VFIO: while vnet-responder drives NIC A,
# vnetconf (another process) sees it with this access mode, switches
# promiscuous mode off through QEMU's control virtqueue, and the kernel's
# pings (to NIC A's own MAC) still get through and show in its counters.
s_ctl() {
	ip neigh flush dev "$IF" >/dev/null 2>&1
	start "${P}ctl" /tmp/ctlresp.out 'answering for' \
		timeout 60 vnet-responder "$URI?name=vma" $IP_A || return
	rpid=$bg
	vnetconf -j link show vma >/tmp/ctl.json 2>&1 &&
		vnetconf link set vma promisc off >/tmp/ctlset.out 2>&1 &&
		vnetconf link show vma >/tmp/ctl.txt 2>&1
	crc=$?
	timeout 20 ping -c 5 -A -W 2 $IP_A >/tmp/ctlping.out 2>&1
	vnetconf -s -s stats vma >/tmp/ctlstats.out 2>&1
	kill $rpid 2>/dev/null
	wait $rpid
	[ $crc -eq 0 ] || { fail "${P}ctl" "vnetconf failed" /tmp/ctl.json /tmp/ctlset.out /tmp/ctl.txt; return; }
	grep -q "\"access\": *\"vfio-$mode\"" /tmp/ctl.json ||
		{ fail "${P}ctl" "link show lacks access vfio-$mode" /tmp/ctl.json; return; }
	grep -q '^vma: <UP,LOWER_UP> ' /tmp/ctl.txt ||
		{ fail "${P}ctl" "promisc still on, or link not up" /tmp/ctl.txt; return; }
	grep -q ", 0% packet loss" /tmp/ctlping.out ||
		{ fail "${P}ctl" "pings to the own MAC lost with promisc off" /tmp/ctlping.out /tmp/ctlresp.out; return; }
	# The RX totals line: packets > 0 (ARP and echo requests).
	awk '/RX:/ { getline; ok = $1 > 0; exit } END { exit !ok }' /tmp/ctlstats.out ||
		{ fail "${P}ctl" "vnetconf stats shows no received packets" /tmp/ctlstats.out; return; }
	# The e1000e's statistics registers reach the control plane: frames the
	# device counted, none it refused a write-back for.
	if [ "$DRV" = e1000e ]; then
		grep -q '^        dev_rx_good_packets: [1-9]' /tmp/ctlstats.out &&
			grep -q '^        bad_writebacks: 0$' /tmp/ctlstats.out ||
			{ fail "${P}ctl" "device counters missing or wrong" /tmp/ctlstats.out; return; }
		grep -E '^        (dev_rx_good_packets|dev_rx_missed|bad_writebacks):' /tmp/ctlstats.out |
			sed 's/^ */    /'
	fi
	sed 's/^/    /' /tmp/ctl.txt
	pass "${P}ctl"
}

# 6c. RSS through QEMU's own virtio-net (NIC A has rss=on, mq=on; its hub
# port has one queue pair, so the table can only name pair 0, but QEMU
# checks and applies the RSS_CONFIG command and reports its limits): the
# command is accepted, read back, and the kernel's pings still get through
# QEMU's hashing. QEMU 7.2 has no notification coalescing: vnetconf must say
# so, naming the feature.
s_rss() {
	ip neigh flush dev "$IF" >/dev/null 2>&1
	start rss /tmp/rssresp.out 'answering for' \
		timeout 60 vnet-responder "$URI?name=vmr" $IP_A || return
	rpid=$bg
	key=6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa
	vnetconf rss set vmr key $key equal 1 hash ipv4,tcp4,udp4 >/tmp/rssset.out 2>&1 &&
		vnetconf -j rss show vmr >/tmp/rss.json 2>&1 && vnetconf rss show vmr >/tmp/rss.txt 2>&1
	rrc=$?
	timeout 20 ping -c 5 -A -W 2 $IP_A >/tmp/rssping.out 2>&1
	vnetconf coalesce show vmr >/tmp/coal.out 2>&1
	coal=$?
	kill $rpid 2>/dev/null
	wait $rpid
	[ $rrc -eq 0 ] || { fail rss "vnetconf rss failed" /tmp/rssset.out /tmp/rss.json; return; }
	grep -q '"rss":true' /tmp/rss.json && grep -q "\"key\":\"$key\"" /tmp/rss.json ||
		{ fail rss "rss show does not read back what was set" /tmp/rss.json; return; }
	grep -q ", 0% packet loss" /tmp/rssping.out ||
		{ fail rss "pings lost with RSS on" /tmp/rssping.out /tmp/rssresp.out; return; }
	[ $coal -eq 1 ] && grep -q VIRTIO_NET_F_NOTF_COAL /tmp/coal.out ||
		{ fail rss "coalesce show did not refuse naming the feature" /tmp/coal.out; return; }
	sed 's/^/    /' /tmp/rss.txt | head -4
	pass rss
}

# 6d. What the device can reach: vm-iommu borrows the IOMMU descriptor of a
# running vnetperf and reads the mappings back from the kernel; they must be
# exactly libvnet's DMA memfds (rings and packet buffers), nothing else. In
# no-IOMMU mode there is none to read, and libvnet must have said so loudly.
s_iommu() {
	rm -f /tmp/iommu.out
	start "${P}iommu" /tmp/iommu.perf '^\[' \
		timeout 60 vnetperf -d 50 -i 1 $URI rx || return
	ipid=$bg
	timeout 60 vm-iommu $ipid >/tmp/iommu.out 2>&1
	irc=$?
	kill $ipid 2>/dev/null
	wait $ipid
	if [ "$mode" = noiommu ]; then
		[ $irc -eq 3 ] ||
			{ fail "${P}iommu" "vm-iommu: exit $irc, not 3 (no IOMMU)" /tmp/iommu.out; return; }
		grep -q "WITHOUT an IOMMU" /tmp/iommu.perf ||
			{ fail "${P}iommu" "no warning about no-IOMMU mode" /tmp/iommu.perf; return; }
	else
		[ $irc -eq 0 ] ||
			{ fail "${P}iommu" "vm-iommu: exit $irc" /tmp/iommu.out /tmp/iommu.perf; return; }
	fi
	sed 's/^/    /' /tmp/iommu.out
	pass "${P}iommu"
}

# 6e. Offloads on a real device: libvnet on NIC I (QEMU, its backend a host
# TAP that takes virtio-net headers) sends 20 TCP/IPv4 TSO frames and one
# checksum-offload frame to NIC J's kernel (vm-tso), TCP port 9, nothing
# listening. The host kernel cuts and checksums them on their way to NIC J
# (whose guest offloads are off): NIC J must receive every segment, and its
# TCP find no checksum error and answer with RSTs. (NIC J's GRO merges
# consecutive good segments again, so TCP counts merged packets: the
# segments are counted at the interface.) Only when run-vm.sh could give
# the VM the TAP pair (NIC I exists).
tcp_mib() {
	awk -v f="$1" '$1 == "Tcp:" { if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 }
		else print $col[f] }' /proc/net/snmp
}
s_tso() {
	[ -e /sys/bus/pci/devices/$TI ] || return 0
	vnetconf dev bind $TI >/tmp/bindti.out 2>&1 ||
		{ fail tso "vnetconf dev bind $TI failed" /tmp/bindti.out; return; }
	IF=$(iface_of $TJ) || { fail tso "no network interface on $TJ"; IF=; return; }
	iface_up "$IF" $IP_TJ >/tmp/iptj.out 2>&1 ||
		{ fail tso "cannot bring $IF up with $IP_TJ" /tmp/iptj.out; IF=; return; }
	frames0=$(rx_packets) segs0=$(tcp_mib InSegs) csum0=$(tcp_mib InCsumErrors)
	rst0=$(tcp_mib OutRsts)
	timeout 30 vm-tso vfio:$TI "$(cat /sys/class/net/$IF/address)" $IP_TI $IP_TJ 20 20000 1448 \
		>/tmp/tso.out 2>&1 || { fail tso "vm-tso failed" /tmp/tso.out; IF=; return; }
	want=$(sed -n 's/^segments //p' /tmp/tso.out)
	# No-IOMMU mode cannot promise TSO's 64 KiB device-contiguous buffers:
	# libvnet leaves HOST_TSO out there (and the same segments are sent with
	# the checksum offload); everywhere else it must be used.
	if [ "$mode" = noiommu ]; then
		grep -q "^tso refused" /tmp/tso.out ||
			{ fail tso "TSO negotiated in no-IOMMU mode" /tmp/tso.out; IF=; return; }
	elif grep -q "^tso refused" /tmp/tso.out; then
		fail tso "the device did not agree to TSO" /tmp/tso.out
		IF=
		return
	fi
	i=0
	while [ $(($(rx_packets) - frames0)) -lt "$want" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	frames=$(($(rx_packets) - frames0)) segs=$(($(tcp_mib InSegs) - segs0))
	csum=$(($(tcp_mib InCsumErrors) - csum0)) rst=$(($(tcp_mib OutRsts) - rst0))
	echo "    $want segments sent$(grep -q '^tso refused' /tmp/tso.out && echo ' (checksum offload only)' || echo ' as 21 frames'); $IF received $frames; TCP: $segs in (after GRO), $csum checksum errors, $rst RSTs"
	IF=
	[ "$frames" -eq "$want" ] ||
		{ fail tso "$frames frames received, not the $want segments" /tmp/tso.out; return; }
	[ "$csum" -eq 0 ] && [ "$segs" -ge 21 ] && [ "$rst" -eq "$segs" ] ||
		{ fail tso "TCP: $csum checksum errors, $segs segments in, $rst RSTs" /tmp/tso.out; return; }
	pass tso
}

# 7. Legacy INTx over real vfio-pci: NIC C offers no MSI-X, so libvnet must
# route, read ISR and unmask the INTx line (vfio-pci masks it on every
# interrupt). NIC D's kernel pings vnet-responder on C, which sleeps in a
# blocking vnet_recv() between requests: it answers every one only if each
# interrupt wakes it and the line is unmasked again. vfio-intx(C) in
# /proc/interrupts must count them, and libvnet must say it chose INTx.
s_intx() {
	vnetconf dev bind $C >/tmp/bindc.out 2>&1 ||
		{ fail intx "vnetconf dev bind $C failed" /tmp/bindc.out; return; }
	ifd=$(iface_of $D) || { fail intx "no network interface on $D"; return; }
	iface_up "$ifd" $IP_D >/tmp/ipd.out 2>&1 ||
		{ fail intx "cannot bring $ifd up with $IP_D" /tmp/ipd.out; return; }
	start intx /tmp/intx.out 'answering for' \
		env VNET_LOG=info timeout 60 vnet-responder vfio:$C $IP_C || return
	rpid=$bg
	before=$(intx_count $C)
	timeout 40 ping -c 10 -A -W 2 $IP_C >/tmp/pingc.out 2>&1
	after=$(intx_count $C)
	kill $rpid 2>/dev/null
	wait $rpid
	grep -q "virtio-net: INTx" /tmp/intx.out ||
		{ fail intx "libvnet did not choose INTx" /tmp/intx.out; return; }
	grep -q ", 0% packet loss" /tmp/pingc.out ||
		{ fail intx "ping $IP_C lost replies" /tmp/pingc.out /tmp/intx.out; return; }
	[ $((after - before)) -ge 5 ] ||
		{ fail intx "vfio-intx($C) counted $((after - before)) interrupts for 10 pings" \
			/tmp/intx.out; return; }
	echo "    $((after - before)) INTx interrupts for 10 echo requests"
	pass intx
}

# 8. The e1000e driver takes MSI-X: 3 vectors (other causes, RX, TX), and
# vfio-pci counts their interrupts while the kernel pings vnet-responder,
# which sleeps between requests.
msix_count() {
	awk -v dev="($1)" 'index($NF, "vfio-msix[") == 1 && index($NF, dev) { for (i = 2; $i ~ /^[0-9]+$/; i++) n += $i }
		END { print n + 0 }' /proc/interrupts
}

s_msix() {
	ip neigh flush dev "$IF" >/dev/null 2>&1
	start "${P}msix" /tmp/msix.out 'answering for' \
		env VNET_LOG=info timeout 60 vnet-responder $URI $IP_A || return
	rpid=$bg
	before=$(msix_count $A)
	timeout 40 ping -c 10 -A -W 2 $IP_A >/tmp/pingm.out 2>&1
	after=$(msix_count $A)
	kill $rpid 2>/dev/null
	wait $rpid
	grep -q "e1000e: 3 MSI-X vectors" /tmp/msix.out ||
		{ fail "${P}msix" "libvnet did not choose MSI-X" /tmp/msix.out; return; }
	grep -q ", 0% packet loss" /tmp/pingm.out ||
		{ fail "${P}msix" "ping $IP_A lost replies" /tmp/pingm.out /tmp/msix.out; return; }
	[ $((after - before)) -ge 10 ] ||
		{ fail "${P}msix" "vfio-msix($A) counted $((after - before)) interrupts for 10 pings" \
			/tmp/msix.out; return; }
	echo "    $((after - before)) MSI-X interrupts for 10 echo requests"
	pass "${P}msix"
}

# The e1000e's peer: NIC F's interface, up with $IP_F.
s_nic_f() {
	IF=$(iface_of $F) || { fail e1000e-nic "no network interface on $F"; return; }
	iface_up "$IF" $IP_F >/tmp/ipf.out 2>&1 ||
		{ fail e1000e-nic "cannot bring $IF up with $IP_F" /tmp/ipf.out; IF=; return; }
	pass e1000e-nic
}

# 9. QEMU's packed virtqueues (NIC G, packed=on): ping, tx and rx as above,
# libvnet requiring the packed layout (ring=packed), NIC H the kernel peer.
s_packed() {
	vnetconf dev bind $G >/tmp/bindg.out 2>&1 ||
		{ fail packed-ping "vnetconf dev bind $G failed" /tmp/bindg.out; return; }
	IF=$(iface_of $H) || { fail packed-ping "no network interface on $H"; IF=; return; }
	iface_up "$IF" $IP_H >/tmp/iph.out 2>&1 ||
		{ fail packed-ping "cannot bring $IF up with $IP_H" /tmp/iph.out; IF=; return; }
	P=packed- DRV=virtio-net A=$G MAC_A=$MAC_G IP_A=$IP_G URI="vfio:$G?ring=packed"
	ping_responder "${P}ping" 20
	s_tx
	s_rx
}

echo "VM tests: mode $mode, $frames frames, kernel $(uname -r)"
s_bind
s_list
s_nic_b
if [ -n "$IF" ]; then
	ping_responder "${P}ping" 20
	s_tx
	s_info
	s_rx
	s_restart
	s_ctl
	s_rss
	s_iommu
fi
s_tso
s_intx

# The same scenarios on the e1000e (NIC E), its peer NIC F.
P=e1000e- DRV=e1000e A=$E MAC_A=$MAC_E IP_A=$IP_E URI=vfio:$E IF=
s_bind
s_list
s_nic_f
if [ -n "$IF" ]; then
	ping_responder "${P}ping" 20
	s_tx
	s_info
	s_rx
	s_restart
	s_ctl
	s_msix
	s_iommu
fi
s_packed
