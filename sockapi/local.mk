# sockapi/: the socket-like API over the public device API
vnetinclude_HEADERS += libvnet/include/vnet/socket.h
libvnet_libvnet_core_la_SOURCES += sockapi/socket.c
