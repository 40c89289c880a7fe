# tests/doc/: the API reference. check-man.sh: every exported vnet_* call
# has an installed man page whose SYNOPSIS matches the public header, and
# the pages' examples compile; test-check-man.sh proves it fails when not.
tests/doc/man-pages.list: Makefile
	$(AM_V_GEN)$(MKDIR_P) tests/doc && printf '%s\n' $(dist_man_MANS) > $@
check_DATA = tests/doc/man-pages.list
CLEANFILES += tests/doc/man-pages.list
TESTS += tests/doc/check-man.sh tests/doc/test-check-man.sh
EXTRA_DIST += tests/doc/check-man.sh tests/doc/test-check-man.sh
