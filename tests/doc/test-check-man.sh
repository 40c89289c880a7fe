#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-man.sh must fail, naming the culprit, when a symbol has no page,
# a page is not installed, a synopsis drifts from the header, a new
# exported call comes without a page, or an example stops compiling.
set -u

srcdir=${srcdir:-.}
check=$srcdir/tests/doc/check-man.sh
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fails=0

# A fresh copy of the pages, the headers, the page list and the symbols.
setup() {
	rm -rf "$tmp/w" && mkdir -p "$tmp/w/inc/vnet" || exit 99
	cp -r "$srcdir/man" "$tmp/w/man" && cp "$srcdir"/libvnet/include/vnet/*.h "$tmp/w/inc/vnet/" || exit 99
	(cd "$srcdir" && ls man/*.[1-8]) > "$tmp/w/list"
	awk '/^VNET_API/' "$srcdir"/libvnet/include/vnet/*.h |
		sed -n 's/.*[ *]\(vnet_[a-z0-9_]*\)(.*/\1/p' > "$tmp/w/syms"
}

run() {
	sh "$check" -s "$tmp/w/syms" -l "$tmp/w/list" -m "$tmp/w/man" -i "$tmp/w/inc/vnet" > "$tmp/out" 2>&1
}

# expect WHAT PATTERN: the check fails and says PATTERN.
expect() {
	if run; then
		echo "FAIL: $1: check-man.sh passed" >&2; fails=1
	elif ! grep -q -- "$2" "$tmp/out"; then
		echo "FAIL: $1: check-man.sh did not say '$2':" >&2; cat "$tmp/out" >&2; fails=1
	else
		echo "ok: $1"
	fi
}

setup
if run; then echo "ok: the tree as it is passes"; else
	echo "FAIL: the unmodified tree fails:" >&2; cat "$tmp/out" >&2; fails=1; fi

setup; rm "$tmp/w/man/vnet_wait.3"
expect "page removed" "vnet_wait: man/vnet_wait.3 is listed but missing"

setup; grep -v '^man/vnet_tx_submit.3$' "$tmp/w/list" > "$tmp/l" && mv "$tmp/l" "$tmp/w/list"
expect "link not installed" "vnet_tx_submit: no installed page"

setup; sed -i 's/int " timeout_ms );/long " timeout_ms );/' "$tmp/w/man/vnet_wait.3"
expect "synopsis drifted" "SYNOPSIS of vnet_wait.3 lacks the header's prototype: int vnet_wait("

setup; sed -i 's/^VNET_API int vnet_wait(struct vnet_wait \*w, unsigned n, int timeout_ms);/VNET_API int vnet_wait(struct vnet_wait *w, unsigned n, long timeout_ms);/' \
	"$tmp/w/inc/vnet/vnet.h"
expect "header changed" "vnet_wait.3: SYNOPSIS states int vnet_wait("

setup; echo 'VNET_API int vnet_dev_set_widget(struct vnet_dev *dev, unsigned n);' >> "$tmp/w/inc/vnet/vnet.h"
echo vnet_dev_set_widget >> "$tmp/w/syms"
expect "new call without a page" "vnet_dev_set_widget: no installed page"

setup; echo vnet_undeclared >> "$tmp/w/syms"
expect "exported, not declared" "vnet_undeclared is exported but no public header declares it"

setup; sed -i '/^\.SH EXAMPLES/,/^\.EE/s/vnet_wait(&w, 1, 1000)/vnet_wait(\&w, 1)/' "$tmp/w/man/vnet_wait.3"
expect "example broken" "the example vnet_wait-1.c does not compile"

exit $fails
