# tests/vm/: libvnet against QEMU's virtio-net-pci behind VFIO, in a VM
# (group, cdev/iommufd and no-IOMMU modes). Not part of `make check`: it
# needs qemu-system-x86_64, busybox and the test kernel (run-vm.sh says
# which is missing and exits 77, automake's SKIP).

# Built only for check-vm: the kernel-side sender of the receive scenario,
# the reader of a process's IOMMU mappings (scenario iommu) and libvnet's
# TSO sender (scenario tso).
EXTRA_PROGRAMS = tests/vm/vm-rawsend tests/vm/vm-iommu tests/vm/vm-tso
tests_vm_vm_rawsend_SOURCES = tests/vm/vm-rawsend.c
tests_vm_vm_iommu_SOURCES = tests/vm/vm-iommu.c
tests_vm_vm_tso_SOURCES = tests/vm/vm-tso.c
tests_vm_vm_tso_LDADD = libvnet/libvnet.la
CLEANFILES += tests/vm/vm-rawsend$(EXEEXT) tests/vm/vm-iommu$(EXEEXT) \
	tests/vm/vm-tso$(EXEEXT) tests/vm/vm-*.log
EXTRA_DIST += tests/vm/run-vm.sh tests/vm/init.sh tests/vm/scenarios.sh

# One boot per mode; `make check-vm VM_MODES=cdev` runs just one. Knobs
# (environment): VNET_VM_KERNEL, VNET_VM_TIMEOUT, VNET_VM_FRAMES,
# VNET_VM_QEMU_ARGS (see run-vm.sh).
VM_MODES = group cdev noiommu
check-vm: all tests/vm/vm-rawsend$(EXEEXT) tests/vm/vm-iommu$(EXEEXT) tests/vm/vm-tso$(EXEEXT)
	QEMU="$(QEMU)" $(SHELL) $(srcdir)/tests/vm/run-vm.sh $(abs_top_builddir) $(VM_MODES)
.PHONY: check-vm
