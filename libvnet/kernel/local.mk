# libvnet/kernel: the ports backed by a kernel interface (tap:, xdp:) and their helpers
# the tap: port (a kernel TAP interface)
libvnet_libvnet_core_la_SOURCES += libvnet/kernel/tap.c libvnet/kernel/relay.c libvnet/kernel/relay.h \
	libvnet/kernel/linkwatch.c libvnet/kernel/linkwatch.h libvnet/kernel/ifctl.c libvnet/kernel/ifctl.h
# the xdp: port (AF_XDP sockets through libxdp, its XDP program through libbpf)
if HAVE_XDP
libvnet_libvnet_core_la_SOURCES += libvnet/kernel/xdp.c libvnet/kernel/xdp.h libvnet/kernel/xdp_rxtx.c \
	libvnet/kernel/xdp_prog.c libvnet/kernel/xdp_prog.h
libvnet_libvnet_core_la_LIBADD += $(LIBXDP_LIBS)
AM_CFLAGS += $(LIBXDP_CFLAGS)
endif
