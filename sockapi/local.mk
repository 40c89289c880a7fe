# sockapi/: the socket-like API over the public device API
vnetinclude_HEADERS += libvnet/include/vnet/socket.h
libvnet_libvnet_core_la_SOURCES += sockapi/socket.c sockapi/socket_int.h sockapi/socket_poll.c
dist_man_MANS += man/libvnet.7 man/vnet_socket.3 man/vnet_send.3 man/vnet_recv.3 \
	man/vnet_sendmmsg.3 man/vnet_recvmmsg.3 man/vnet_socket_info.3 man/vnet_close.3

if HAVE_CMOCKA
# Interrupt-driven waits end to end over sim: (links the internal library for
# the device-side counters of vn_sim_stats()).
check_PROGRAMS += tests/integration/test_irq
TESTS += tests/integration/test_irq
tests_integration_test_irq_SOURCES = tests/integration/test_irq.c
endif
