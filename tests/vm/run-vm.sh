#!/bin/sh
# VM tests of libvnet against QEMU's virtio-net-pci and e1000e (make check-vm).
#
#   run-vm.sh BUILDDIR MODE...        MODE: group, cdev or noiommu
#
# Builds one initramfs from busybox and the project's binaries in BUILDDIR,
# then boots the test kernel once per MODE under QEMU (TCG) with two modern
# virtio-net NICs on one hub: the guest binds NIC A (0000:00:02.0) to vfio-pci
# and runs libvnet on it, while its own virtio_net driver on NIC B
# (0000:00:03.0) is the peer. A second hub holds NIC C (0000:00:04.0), which
# has no MSI-X (vectors=0) so that libvnet drives it with legacy INTx, and
# its kernel-driven peer NIC D (0000:00:05.0). A third hub holds NIC E
# (0000:00:06.0), QEMU's e1000e (an Intel 82574), driven by libvnet's e1000e
# driver, and its kernel-driven peer, virtio-net NIC F (0000:00:07.0). A
# fourth hub holds NIC G (0000:00:08.0, packed=on: QEMU's packed virtqueues)
# and its peer NIC H (0000:00:09.0), whose 1024 RX buffers take a whole
# traffic scenario. With 256, G's TX stalled in 2 of 5 runs (QEMU 7.2 kept
# G's notifications off after two kicks, as if waiting on the peer), which
# looks like QEMU's lost RX kick of a peer that ran out of buffers (upstream
# "virtio-net: Fix network stall at the host side waiting for kick"). The
# guest prints one
# "PASS: scenario [mode]" or "FAIL: ..." line per scenario on the serial
# console; this script checks that every expected PASS is there and no FAIL,
# and keeps the console log as BUILDDIR/tests/vm/vm-MODE.log.
#
# Exit status: 0 all passed, 1 a failure, 77 (automake's SKIP) when QEMU, the
# kernel or busybox is missing.
#
# Environment: QEMU (qemu-system-x86_64), VNET_VM_KERNEL (the kernel image,
# default ../shared/vm/bzImage-6.12-vfio next to the source tree),
# VNET_VM_TIMEOUT (seconds per boot, 300), VNET_VM_FRAMES (frames per traffic
# scenario, 1000), VNET_VM_QEMU_ARGS (more QEMU arguments, e.g.
# "-trace virtio_queue_notify -trace virtqueue_pop" to watch the device side).
set -u

srcdir=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$srcdir/../.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 BUILDDIR group|cdev|noiommu..." >&2; exit 2; }
builddir=$(cd "$1" && pwd) || exit 2
shift

QEMU=${QEMU:-qemu-system-x86_64}
KERNEL=${VNET_VM_KERNEL:-$top_srcdir/../shared/vm/bzImage-6.12-vfio}
TIMEOUT=${VNET_VM_TIMEOUT:-300}
FRAMES=${VNET_VM_FRAMES:-1000}
# The scenarios each mode must report as passed (see scenarios.sh).
SCENARIOS="bind list nic-b ping tx info rx restart ctl rss iommu tso intx
	e1000e-bind e1000e-list e1000e-nic e1000e-ping e1000e-tx e1000e-info e1000e-rx
	e1000e-restart e1000e-ctl e1000e-msix e1000e-iommu packed-ping packed-tx packed-rx"

skip() { echo "SKIP: VM tests: $*"; exit 77; }
command -v "$QEMU" >/dev/null 2>&1 ||
	skip "$QEMU not found (scripts/install-deps --vm installs qemu-system-x86)"
[ -r "$KERNEL" ] || skip "no test kernel at $KERNEL (set VNET_VM_KERNEL)"
BUSYBOX=$(command -v busybox 2>/dev/null) ||
	skip "busybox not found (scripts/install-deps --vm installs busybox-static)"
command -v timeout >/dev/null 2>&1 || skip "timeout(1) not found (coreutils)"
for m in "$@"; do
	case $m in group|cdev|noiommu) ;; *) echo "$0: unknown mode '$m'" >&2; exit 2 ;; esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vnet-vm.XXXXXX") || exit 1

# The offload scenario (tso) needs QEMU NICs whose backend carries virtio-net
# headers: two host TAP interfaces, each one's frames redirected to the
# other by tc (no bridge, so no host firewall in the way). NIC J's guest
# offloads are off, so the host kernel segments and checksums what NIC I
# (libvnet) sends as TSO frames before NIC J's kernel driver sees them.
# Without root, /dev/net/tun, ip or tc the scenario is left out, loudly.
tap_a=vnvm$$a tap_b=vnvm$$b tso_nics=
cleanup() {
	rm -rf "$work"
	ip link del "$tap_a" 2>/dev/null
	ip link del "$tap_b" 2>/dev/null
}
trap cleanup EXIT INT TERM
tso_setup() {
	[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v ip >/dev/null 2>&1 &&
		command -v tc >/dev/null 2>&1 || return 1
	for t in "$tap_a" "$tap_b"; do
		ip tuntap add dev "$t" mode tap && ip link set "$t" up &&
			tc qdisc add dev "$t" ingress || return 1
	done
	tc filter add dev "$tap_a" parent ffff: protocol all u32 match u32 0 0 \
		action mirred egress redirect dev "$tap_b" &&
		tc filter add dev "$tap_b" parent ffff: protocol all u32 match u32 0 0 \
			action mirred egress redirect dev "$tap_a"
}
if tso_setup >"$work/tso-setup.log" 2>&1; then
	tso_nics=1
else
	echo "note: VM tests: scenario tso left out: no host TAP pair (needs root, /dev/net/tun, ip, tc):"
	sed 's/^/  /' "$work/tso-setup.log"
	SCENARIOS=$(echo $SCENARIOS | sed 's/ tso / /')
fi
root=$work/root

# The real executable behind a libtool wrapper script (BUILDDIR/x/.libs/y).
real_binary() {
	if head -c 2 "$1" | grep -q '#!'; then
		for f in "$(dirname "$1")/.libs/$(basename "$1")" \
			 "$(dirname "$1")/.libs/lt-$(basename "$1")"; do
			[ -x "$f" ] && { echo "$f"; return 0; }
		done
		return 1
	fi
	echo "$1"
}

# Copy an executable to /bin of the image, with every shared library it needs
# (into /lib, which the guest puts on LD_LIBRARY_PATH) and the loader at the
# path the executable names.
add_binary() {
	bin=$(real_binary "$1") || { echo "warning: no executable behind $1" >&2; return 1; }
	cp "$bin" "$root/bin/$(basename "$1")" || return 1
	libs=$(LD_LIBRARY_PATH=$builddir/libvnet/.libs ldd "$bin" 2>/dev/null)
	if echo "$libs" | grep -q 'not found'; then
		echo "error: $bin needs a library ldd cannot find:" >&2
		echo "$libs" | grep 'not found' >&2
		return 1
	fi
	echo "$libs" |
		sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' |
		while read -r lib; do
			case $lib in
			*/ld-linux*) mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib" ;;
			*) cp -L "$lib" "$root/lib/" ;;
			esac
		done
}

build_initramfs() {
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/lib" \
		"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run" || return 1
	add_binary "$BUSYBOX" || return 1
	# Missing programs are reported by the guest as FAILs of their scenarios.
	for p in tools/vnetconf tools/vnetperf examples/vnet-responder tests/vm/vm-rawsend \
		 tests/vm/vm-iommu tests/vm/vm-tso; do
		if [ -e "$builddir/$p" ]; then
			add_binary "$builddir/$p" || return 1
		else
			echo "warning: $builddir/$p is not built" >&2
		fi
	done
	cp "$srcdir/init.sh" "$root/init" && cp "$srcdir/scenarios.sh" "$root/scenarios.sh" &&
		chmod 755 "$root/init" || return 1
	if command -v cpio >/dev/null 2>&1; then cpio=cpio; else cpio="$BUSYBOX cpio"; fi
	(cd "$root" && find . | $cpio -o -H newc 2>/dev/null) | gzip -1 >"$work/initrd.gz"
}

# Boot one mode; the console goes to $log.
boot() {
	mode=$1 log=$2
	# romfile= drops the iPXE option ROMs: nothing boots from the NICs.
	if [ "$mode" = noiommu ]; then
		iommu_dev='' nic_opts=''
		append="intel_iommu=off vfio.enable_unsafe_noiommu_mode=1"
	else
		iommu_dev="-device intel-iommu,intremap=on,caching-mode=on"
		nic_opts=",iommu_platform=on,ats=on"
		append="intel_iommu=on iommu=pt"
	fi
	# shellcheck disable=SC2086 # iommu_dev and the extra arguments are word lists
	timeout -k 10 "$TIMEOUT" "$QEMU" -accel tcg -machine q35,kernel-irqchip=split \
		-cpu max -m 1024 -smp 1 -nographic -no-reboot $iommu_dev \
		-netdev hubport,id=na,hubid=0 \
		-device "virtio-net-pci,netdev=na,disable-legacy=on,mq=on,rss=on,mac=52:54:00:00:00:0a,romfile=$nic_opts" \
		-netdev hubport,id=nb,hubid=0 \
		-device "virtio-net-pci,netdev=nb,disable-legacy=on,mac=52:54:00:00:00:0b,romfile=$nic_opts" \
		-netdev hubport,id=nc,hubid=1 \
		-device "virtio-net-pci,netdev=nc,disable-legacy=on,vectors=0,mac=52:54:00:00:00:0c,addr=04.0,romfile=$nic_opts" \
		-netdev hubport,id=nd,hubid=1 \
		-device "virtio-net-pci,netdev=nd,disable-legacy=on,mac=52:54:00:00:00:0d,addr=05.0,romfile=$nic_opts" \
		-netdev hubport,id=ne,hubid=2 \
		-device "e1000e,netdev=ne,mac=52:54:00:00:00:0e,addr=06.0,romfile=" \
		-netdev hubport,id=nf,hubid=2 \
		-device "virtio-net-pci,netdev=nf,disable-legacy=on,mac=52:54:00:00:00:0f,addr=07.0,romfile=$nic_opts" \
		-netdev hubport,id=ng,hubid=3 \
		-device "virtio-net-pci,netdev=ng,disable-legacy=on,packed=on,mac=52:54:00:00:00:10,addr=08.0,romfile=$nic_opts" \
		-netdev hubport,id=nh,hubid=3 \
		-device "virtio-net-pci,netdev=nh,disable-legacy=on,rx_queue_size=1024,mac=52:54:00:00:00:11,addr=09.0,romfile=$nic_opts" \
		${tso_nics:+-netdev tap,id=ni,ifname=$tap_a,script=no,downscript=no,vnet_hdr=on \
		-device virtio-net-pci,netdev=ni,disable-legacy=on,mac=52:54:00:00:00:12,addr=0a.0,romfile=$nic_opts \
		-netdev tap,id=nj,ifname=$tap_b,script=no,downscript=no,vnet_hdr=on \
		-device virtio-net-pci,netdev=nj,disable-legacy=on,guest_csum=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,mac=52:54:00:00:00:13,addr=0b.0,romfile=$nic_opts} \
		-kernel "$KERNEL" -initrd "$work/initrd.gz" ${VNET_VM_QEMU_ARGS:-} \
		-append "console=ttyS0 quiet panic=-1 $append vnetmode=$mode vnetframes=$FRAMES" \
		</dev/null >"$log" 2>&1
}

# Judge one mode from its console log: prints the PASS/FAIL lines and a
# verdict; returns non-zero on any FAIL, missing PASS or unfinished run.
judge() {
	mode=$1 log=$2 bad=0
	tr -d '\r' <"$log" | grep -E '^(PASS|FAIL): ' | sed 's/^/  /'
	if tr -d '\r' <"$log" | grep -q '^FAIL: '; then
		bad=1
	fi
	# A scenario that reported neither (the guest stopped before it).
	for s in $SCENARIOS; do
		if ! tr -d '\r' <"$log" | grep -q "^\(PASS\|FAIL\): $s \[$mode\]"; then
			echo "  missing: PASS: $s [$mode]"
			bad=1
		fi
	done
	if ! tr -d '\r' <"$log" | grep -q '^VNET-VM-DONE'; then
		echo "  the guest did not finish (timeout ${TIMEOUT}s or crash): see $log"
		bad=1
	fi
	return $bad
}

build_initramfs || { echo "FAIL: VM tests: cannot build the initramfs"; exit 1; }
mkdir -p "$builddir/tests/vm"
rc=0
for mode in "$@"; do
	log=$builddir/tests/vm/vm-$mode.log
	start=$(date +%s)
	boot "$mode" "$log"
	qrc=$?
	if judge "$mode" "$log"; then
		echo "PASS: vm-$mode ($(($(date +%s) - start))s)"
	else
		[ $qrc -eq 124 ] && echo "  QEMU killed after ${TIMEOUT}s"
		echo "FAIL: vm-$mode (console log: $log)"
		rc=1
	fi
done
exit $rc
