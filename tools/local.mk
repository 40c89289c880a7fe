# tools/: vnetperf (benchmark), vnet-simd (device emulator daemon)
bin_PROGRAMS += tools/vnetperf
tools_vnetperf_SOURCES = tools/vnetperf.c
tools_vnetperf_LDADD = libvnet/libvnet.la
dist_man_MANS += man/vnetperf.1
