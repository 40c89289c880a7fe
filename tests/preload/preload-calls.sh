#!/bin/sh
# SPDX-License-Identifier: MIT
# test_preload_calls (a plain libc program) under LD_PRELOAD=libvnet-preload.so,
# with the names of tests/preload/calls.h mapped to sim:loopback devices.
# As root it runs in a network namespace of its own, so that the one test
# that makes a real kernel TAP interface (an unmapped name) leaves nothing
# behind; otherwise that test skips. Under valgrind too: this is the test
# that checks the shim's own memory use.
set -eu
. "${srcdir:-.}/tests/preload/preload-env.sh"

# Distinct URIs: libvnet opens one device per URI (t_same_uri tests two
# names on one URI). plpk0 has two queue pairs: each bound packet socket
# takes one. plpa0 and plpb0 are the two ends of one simulated cable.
VNET_PRELOAD="pltap0=sim:loopback?mac=02:00:00:00:a0:00,pltap1=sim:loopback?mac=02:00:00:00:a1:00"
VNET_PRELOAD="$VNET_PRELOAD,plmq0=sim:loopback?queues=2,plpk0=sim:loopback?mac=02:00:00:00:a2:00&queues=2"
VNET_PRELOAD="$VNET_PRELOAD,plpa0=sim:pair=plcable/0,plpb0=sim:pair=plcable/1"
export VNET_PRELOAD
PRELOAD_FOREIGN_LD=$PRELOAD_FOREIGN # for the /bin/sh that t_exec runs
export PRELOAD_FOREIGN_LD
prog=./tests/preload/test_preload_calls
netns=
if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
	netns="unshare -n"
	PRELOAD_PRIVATE_NETNS=1
	export PRELOAD_PRIVATE_NETNS
fi
# shellcheck disable=SC2086 # word splitting of the command prefixes is meant
exec $netns env LD_PRELOAD="$PRELOAD_OWN" $VALGRIND_RUN "$prog"
