#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Doxygen accepts the public headers without a warning (doc/Doxyfile turns
# warnings into a failure: an undocumented public item is one), and does
# fail on a copy of them with an undocumented function added, so that the
# check cannot pass for want of checking. Skipped (77) without doxygen.
set -u

srcdir=${srcdir:-.}
doxygen=$(command -v doxygen) || { echo "SKIP: doxygen is not installed"; exit 77; }
[ -f doc/Doxyfile ] || { echo "check-doxygen: no doc/Doxyfile (run configure)" >&2; exit 99; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# run INPUT_DIR: doxygen with doc/Doxyfile, output and headers redirected.
run() {
	{ cat doc/Doxyfile; echo "OUTPUT_DIRECTORY = $tmp/out"; echo "INPUT = $1"; } |
		"$doxygen" - > "$tmp/log" 2>&1
}

if ! run "$srcdir/libvnet/include/vnet"; then
	echo "check-doxygen: the public headers have doxygen warnings:" >&2
	cat "$tmp/log" >&2
	exit 1
fi
echo "ok: the public headers build without a warning"

mkdir -p "$tmp/inc" && cp "$srcdir"/libvnet/include/vnet/*.h "$tmp/inc/" || exit 99
sed -i 's|^#endif$|VNET_API int vnet_undocumented(int x);\n#endif|' "$tmp/inc/vnet.h"
if run "$tmp/inc"; then
	echo "check-doxygen: an undocumented function passed:" >&2
	cat "$tmp/log" >&2
	exit 1
fi
grep -q "vnet_undocumented" "$tmp/log" || { echo "check-doxygen: failed, but not on vnet_undocumented:" >&2; cat "$tmp/log" >&2; exit 1; }
echo "ok: an undocumented function fails"
