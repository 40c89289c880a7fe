# libvnet/: core (logging and errors, URI parsing, public device API)
vnetinclude_HEADERS += libvnet/include/vnet/vnet.h
libvnet_libvnet_core_la_SOURCES += \
	libvnet/log.c libvnet/log.h \
	libvnet/compiler.h
