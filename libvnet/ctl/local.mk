# libvnet/ctl/: the control plane (vnet/ctl.h): run directory and socket
# names (shared with vnetconf), the request handler, the per-device server
libvnet_libvnet_core_la_SOURCES += libvnet/ctl/ctl_int.h libvnet/ctl/ctl_path.c
libvnet_libvnet_core_la_SOURCES += libvnet/ctl/ctl_msg.c libvnet/ctl/ctl_feat.c
