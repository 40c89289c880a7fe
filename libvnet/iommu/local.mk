# libvnet/iommu: sources, programs and tests of this directory (included by Makefile.am)
