#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Linking as a user does: `make install DESTDIR=...` of this build, then
# tests/link/first.c compiled against the installed headers with
#   cc first.c $(pkg-config --cflags --libs libvnet)            (libvnet.so)
#   cc first.c $(pkg-config --cflags --libs --static libvnet)   (libvnet.a)
# through the installed libvnet.pc (PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR into DESTDIR), and both programs run on
# sim:loopback. The static one links libvnet.a with libvnet.so out of the
# way and must not need libvnet.so; its own dependencies (liburing, libmnl,
# libxdp/libbpf) come from Requires.private, shared or static as the
# system has them (Debian ships no libmnl.a).
set -u

srcdir=${srcdir:-.}
cc=${PRELOAD_CC:-cc}
cflags=${PRELOAD_CFLAGS:-} # the build's own (sanitizer flags must match the library's)
case " ${PRELOAD_VALGRIND:-} " in *valgrind*) echo "SKIP: not under valgrind (an install and two compiles)"; exit 77 ;; esac
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

# The test runs inside `make check`: a make of its own, without the
# jobserver of the outer one.
unset MAKEFLAGS MFLAGS MAKELEVEL
if ! ${MAKE:-make} -s install DESTDIR="$root" > "$tmp/install.log" 2>&1; then
	echo "FAIL: make install DESTDIR=$root:" >&2; tail -n 30 "$tmp/install.log" >&2; exit 1
fi
pc=$(find "$root" -name libvnet.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || { echo "FAIL: make install put no libvnet.pc under $root" >&2; exit 1; }
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
for f in vnet/vnet.h vnet/socket.h vnet/ctl.h; do
	find "$root" -path "*/include/$f" | grep -q . || { echo "FAIL: $f not installed" >&2; exit 1; }
done
# libtool builds the archive unless configured --disable-static.
static=yes
grep -q '^build_old_libs=yes' libtool || static=no
[ $static = no ] || [ -f "$libdir/libvnet.a" ] || { echo "FAIL: no libvnet.a installed in $libdir" >&2; exit 1; }
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$root"

# build NAME PKG-CONFIG-ARGS: compile first.c against the installed copy.
build() {
	flags=$(pkg-config --cflags --libs $2 libvnet) || { echo "FAIL: pkg-config $2 libvnet" >&2; exit 1; }
	echo "$cc first.c $flags"
	# shellcheck disable=SC2086
	"$cc" -std=c11 $cflags -o "$tmp/$1" "$srcdir/tests/link/first.c" $flags 2> "$tmp/cc.log" ||
		{ echo "FAIL: $1 link:" >&2; cat "$tmp/cc.log" >&2; exit 1; }
}

# run NAME: the program moves its frame.
run() {
	LD_LIBRARY_PATH="$libdir" "$tmp/$1" || { echo "FAIL: $1 did not send and receive its frame" >&2; exit 1; }
}

needs_libvnet_so() { readelf -d "$tmp/$1" | grep NEEDED | grep -q 'libvnet\.so'; }

# README's "First program" is this file, without its header comment.
awk '/^## First program/ { sec = 1 } sec && /^```c$/ { on = 1; next } on && /^```$/ { exit } on' \
	"$srcdir/README.md" > "$tmp/readme.c"
sed '1,/^ \*\//d' "$srcdir/tests/link/first.c" | diff -u - "$tmp/readme.c" > "$tmp/readme.diff" ||
	{ echo "FAIL: README's first program is not tests/link/first.c:" >&2; cat "$tmp/readme.diff" >&2; exit 1; }

build shared ""
needs_libvnet_so shared || { echo "FAIL: the shared build does not need libvnet.so" >&2; exit 1; }
run shared
echo "ok: shared link through libvnet.pc"

[ $static = yes ] || { echo "static link not tested: configured --disable-static"; exit 0; }
# The static archive: what a distribution installs with --disable-shared.
rm -f "$libdir"/libvnet.so*
build static --static
needs_libvnet_so static && { echo "FAIL: the static build still needs libvnet.so" >&2; exit 1; }
run static
echo "ok: static link through libvnet.pc (Requires.private: $(pkg-config --print-requires-private libvnet | tr '\n' ' '))"
