#!/bin/busybox sh
# /init of the VM test initramfs (see run-vm.sh): mount the kernel file
# systems, run the scenarios in the mode named on the kernel command line
# (vnetmode=group|cdev|noiommu), then power off. The harness reads the
# PASS/FAIL lines and VNET-VM-DONE from the serial console.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin LD_LIBRARY_PATH=/lib
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mode=$(sed -n 's/.*vnetmode=\([a-z]*\).*/\1/p' /proc/cmdline)
frames=$(sed -n 's/.*vnetframes=\([0-9]*\).*/\1/p' /proc/cmdline)
sh /scenarios.sh "${mode:-group}" "${frames:-1000}"
echo "VNET-VM-DONE"
poweroff -f
