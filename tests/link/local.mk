# tests/link/: a first program built against `make install DESTDIR=...`
# with the installed libvnet.pc, shared and static, run on sim:loopback.
TESTS += tests/link/test-link.sh
EXTRA_DIST += tests/link/test-link.sh tests/link/first.c
