# libvnet/e1000e: the Intel 82574 (e1000e) driver (included by Makefile.am)
libvnet_libvnet_core_la_SOURCES += \
	libvnet/e1000e/e1000e.c libvnet/e1000e/e1000e.h libvnet/e1000e/e1000e_regs.h \
	libvnet/e1000e/e1000e_rxtx.c
