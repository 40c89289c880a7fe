#!/bin/sh
# SPDX-License-Identifier: MIT
# The soak, shortened to 15 s for make check (make soak runs 10 minutes):
# see tests/soak/soak.py. It prints its seed; a failure says which
# segment and which counters disagreed.
: "${srcdir:=.}"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
# make check-valgrind: the soak would run the tools natively, adding nothing.
if [ "${VNET_TEST_QUICK:-}" = 1 ]; then
	echo "SKIP: the soak does not run under valgrind"
	exit 77
fi
exec python3 "$srcdir/tests/soak/soak.py" --builddir . --seconds "${SOAK_TEST_SECONDS:-15}"
