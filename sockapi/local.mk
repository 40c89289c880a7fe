# sockapi/: the socket-like API over the public device API
vnetinclude_HEADERS += libvnet/include/vnet/socket.h
libvnet_libvnet_core_la_SOURCES += sockapi/socket.c
dist_man_MANS += man/libvnet.7 man/vnet_socket.3 man/vnet_send.3 man/vnet_recv.3 \
	man/vnet_sendmmsg.3 man/vnet_recvmmsg.3 man/vnet_socket_info.3 man/vnet_close.3
