# libvnet/e1000e: the Intel 82574 (e1000e) driver (included by Makefile.am)
libvnet_libvnet_core_la_SOURCES += \
	libvnet/e1000e/e1000e.c libvnet/e1000e/e1000e.h libvnet/e1000e/e1000e_regs.h \
	libvnet/e1000e/e1000e_rxtx.c libvnet/e1000e/e1000e_set.c

if HAVE_CMOCKA
# The driver against a register-level fake of the 82574 (tests/unit/fake_e1000e.c).
check_PROGRAMS += tests/unit/test_e1000e
TESTS += tests/unit/test_e1000e
tests_unit_test_e1000e_SOURCES = tests/unit/test_e1000e.c \
	tests/unit/fake_e1000e.c tests/unit/fake_e1000e.h
endif
