#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Every exported vnet_* function has an installed section-3 man page whose
# SYNOPSIS states its prototype exactly as the public header declares it,
# and every page's EXAMPLES compile.
#
#   check-man.sh [-s SYMBOLS] [-l MANLIST] [-m MANDIR] [-i INCDIR]
#
#   SYMBOLS  file of exported symbols, one a line; default: the dynamic
#            symbols of the built libvnet/.libs/libvnet.so (what
#            libvnet.map lets out), else the VNET_API declarations
#   MANLIST  file of the installed man pages (dist_man_MANS, one a line);
#            default: tests/doc/man-pages.list that make writes
#   MANDIR   the pages (default $srcdir/man)
#   INCDIR   the public headers (default $srcdir/libvnet/include/vnet)
#
# A page is man/NAME.3 or a one-line ".so man3/OTHER.3" link to a page
# that lists NAME in its NAME section and carries its prototype. Exits 1
# with a line per problem; tests/doc/test-check-man.sh proves it fails.
set -u

srcdir=${srcdir:-.}
syms= manlist=tests/doc/man-pages.list
mandir=$srcdir/man incdir=$srcdir/libvnet/include/vnet
while getopts s:l:m:i: o; do
	case $o in
	s) syms=$OPTARG ;;
	l) manlist=$OPTARG ;;
	m) mandir=$OPTARG ;;
	i) incdir=$OPTARG ;;
	*) exit 2 ;;
	esac
done

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
bad=0
problem() { echo "check-man: $*" >&2; bad=1; }

# One prototype a line, normalised: whitespace squeezed, none after "(" or
# "*", none before ")" "," ";".
norm() {
	sed -e 's/[[:space:]][[:space:]]*/ /g' -e 's/^ //' -e 's/ $//' \
	    -e 's/( /(/g' -e 's/ )/)/g' -e 's/ ,/,/g' -e 's/ ;/;/g' -e 's/\* /*/g'
}

# The headers' declarations: "VNET_API ... ;" joined onto one line.
for h in "$incdir"/*.h; do
	awk '/^#/ { next }
	     /^VNET_API / { d = ""; on = 1 }
	     on { d = d " " $0; if ($0 ~ /;/) { sub(/^ *VNET_API /, "", d); print d; on = 0 } }' "$h"
done | norm | sort -u > "$tmp/decl"
sed -n 's/.*[ *]\(vnet_[a-z0-9_]*\)(.*/\1/p' "$tmp/decl" | sort -u > "$tmp/decl.names"

if [ -z "$syms" ]; then
	lib=libvnet/.libs/libvnet.so
	if [ -f "$lib" ]; then
		nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' > "$tmp/syms"
	else
		cp "$tmp/decl.names" "$tmp/syms"
	fi
else
	cp "$syms" "$tmp/syms"
fi
sort -u -o "$tmp/syms" "$tmp/syms"
[ -s "$tmp/syms" ] || problem "no exported symbols found"
[ -f "$manlist" ] || { problem "no list of installed pages ($manlist)"; exit 1; }

# A page's SYNOPSIS prototypes: .B/.BI lines with a vnet_ call, the quoted
# and bare words of the macro joined as troff joins them.
synopsis() {
	awk '/^\.SH/ { on = ($2 == "SYNOPSIS") ; next }
	     on && /^\.BI? / && /vnet_[a-z0-9_]*\(/ {
		s = substr($0, index($0, " ") + 1); out = ""; q = 0
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "\"") q = !q
			else if (q || c != " ") out = out c
		}
		print out
	     }' "$1" | sed -e 's/\\-/-/g' -e 's/\\&//g' | norm
}

# The names a page's NAME section lists.
names() {
	awk '/^\.SH/ { on = ($2 == "NAME"); next }
	     on { sub(/ \\- .*/, ""); gsub(/,/, " "); print }' "$1" | tr ' ' '\n' | grep .
}

while read -r sym; do
	if ! grep -qx "$sym" "$tmp/decl.names"; then
		problem "$sym is exported but no public header declares it (VNET_API)"
		continue
	fi
	page=$mandir/$sym.3
	if ! grep -qx "man/$sym.3" "$manlist"; then
		problem "$sym: no installed page man/$sym.3 (add it to dist_man_MANS in a local.mk)"
		continue
	fi
	if [ ! -f "$page" ]; then
		problem "$sym: man/$sym.3 is listed but missing"
		continue
	fi
	target=$(sed -n '1s/^\.so man3\/\(.*\)$/\1/p' "$page")
	if [ -n "$target" ]; then
		grep -qx "man/$target" "$manlist" ||
			problem "$sym: man/$sym.3 links to $target, which is not installed"
		page=$mandir/$target
		[ -f "$page" ] || { problem "$sym: link target $target is missing"; continue; }
	fi
	names "$page" | grep -qx "$sym" ||
		problem "$sym: $(basename "$page") does not list $sym in NAME"
	want=$(grep "[ *]$sym(" "$tmp/decl")
	synopsis "$page" | grep -qxF "$want" ||
		problem "$sym: SYNOPSIS of $(basename "$page") lacks the header's prototype: $want"
done < "$tmp/syms"

# Every prototype a page states is one the headers declare (catches a
# stale synopsis after a header change).
for page in "$mandir"/*.3; do
	synopsis "$page" > "$tmp/syn"
	while read -r p; do
		grep -qxF "$p" "$tmp/decl" || problem "$(basename "$page"): SYNOPSIS states $p, no header does"
	done < "$tmp/syn"
done

# EXAMPLES: each .EX block that holds a main() compiles against the public
# headers (syntax and types; warnings are errors).
cc=${PRELOAD_CC:-cc}
for page in "$mandir"/*.3; do
	awk -v dir="$tmp" -v base="$(basename "$page" .3)" '
		/^\.SH/ { ex = ($2 == "EXAMPLES" || $2 == "EXAMPLE"); next }
		ex && /^\.EX/ { n++; f = dir "/" base "-" n ".c"; on = 1; printf "" > f; next }
		ex && /^\.EE/ { on = 0; close(f); next }
		on { print >> f }' "$page"
done
for c in "$tmp"/*.c; do
	[ -f "$c" ] || continue
	grep -q 'main(' "$c" || continue
	sed -i -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g' -e "s/\\\\(aq/'/g" "$c"
	"$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I"$incdir/.." "$c" 2> "$tmp/cc.err" ||
		{ problem "the example $(basename "$c") does not compile:"; cat "$tmp/cc.err" >&2; }
done

[ $bad = 0 ] && echo "check-man: $(wc -l < "$tmp/syms") symbols, every one with its page"
exit $bad
