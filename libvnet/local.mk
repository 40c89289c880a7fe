# libvnet/: core (logging and errors, URI parsing, public device API)
vnetinclude_HEADERS += libvnet/include/vnet/vnet.h libvnet/include/vnet/ctl.h
libvnet_libvnet_core_la_SOURCES += \
	libvnet/log.c libvnet/log.h \
	libvnet/uri.c libvnet/uri.h \
	libvnet/compiler.h
# public device and queue API (vnet.h); the io_uring event engine and waits
libvnet_libvnet_core_la_SOURCES += libvnet/device.c \
	libvnet/event.c libvnet/event.h libvnet/wait.c libvnet/port.h libvnet/evq.h \
	libvnet/pci.c libvnet/pci.h
