# libvnet/: core (logging and errors, URI parsing, public device API)
vnetinclude_HEADERS += libvnet/include/vnet/vnet.h libvnet/include/vnet/ctl.h
libvnet_libvnet_core_la_SOURCES += \
	libvnet/log.c libvnet/log.h \
	libvnet/uri.c libvnet/uri.h \
	libvnet/compiler.h
# public device and queue API (vnet.h); the io_uring event engine and waits
libvnet_libvnet_core_la_SOURCES += libvnet/device.c \
	libvnet/event.c libvnet/event.h libvnet/wait.c libvnet/port.h libvnet/evq.h
# the tap: port (a kernel TAP interface)
libvnet_libvnet_core_la_SOURCES += libvnet/tap.c libvnet/relay.c libvnet/relay.h \
	libvnet/linkwatch.c libvnet/linkwatch.h libvnet/ifctl.c libvnet/ifctl.h
# the xdp: port (AF_XDP sockets through libxdp, its XDP program through libbpf)
if HAVE_XDP
libvnet_libvnet_core_la_SOURCES += libvnet/xdp.c libvnet/xdp.h libvnet/xdp_rxtx.c \
	libvnet/xdp_prog.c libvnet/xdp_prog.h
libvnet_libvnet_core_la_LIBADD += $(LIBXDP_LIBS)
AM_CFLAGS += $(LIBXDP_CFLAGS)
endif
