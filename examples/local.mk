# examples/: small complete applications (built, not installed)
noinst_PROGRAMS += examples/vnet-responder
examples_vnet_responder_SOURCES = examples/vnet-responder.c
examples_vnet_responder_LDADD = libvnet/libvnet.la
