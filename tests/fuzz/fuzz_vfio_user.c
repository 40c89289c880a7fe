/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the vfio-user codec: what libvnet parses from a
 * peer. The first input byte picks the target (modulo 4), the rest is the
 * peer's bytes:
 *   0  VERSION capabilities JSON           (vfio_user_caps_parse, vfio_user_json.c)
 *   1  GET_REGION_INFO reply               (vfio_user_region_info_decode)
 *   2  GET_REGION_IO_FDS reply             (vfio_user_io_fds_decode)
 *   3  any command payload                 (vfio_user_req_check)
 *   4  a whole VERSION payload             (vfio_user_version_decode)
 * Accepted capabilities must be usable: a transfer size and page sizes
 * that are not 0 (the client and the server divide and align by them).
 * The server core has its own harness, fuzz_vfu_server.c.
 * Run with `make fuzz-vfio_user` (clang; tests/fuzz/local.mk);
 * seeds in tests/fuzz/vfio_user-seeds/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "iommu/vfio_user_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfio_user_region_desc desc;
	struct vfio_user_iofd io[8];
	struct vfio_user_version_info ver;
	struct vfio_user_caps caps;
	uint32_t needed;
	unsigned n;

	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		if (vfio_user_caps_parse((const char *)data + 1, size - 1, &caps) == 0 &&
		    (!caps.max_data_xfer_size || !caps.pgsizes))
			abort();
		break;
	case 1:
		vfio_user_region_info_decode(data + 1, size - 1, 0, 4096, &desc);
		break;
	case 2:
		vfio_user_io_fds_decode(data + 1, size - 1, 0, 4096, 4, io, 8, &n, &needed);
		break;
	case 3:
		if (size >= 3)
			vfio_user_req_check(data[1] % 16, data + 3, size - 3, data[2] % 4);
		break;
	case 4:
		if (vfio_user_version_decode(data + 1, size - 1, &ver) == 0 &&
		    (!ver.caps.max_data_xfer_size || !ver.caps.pgsizes))
			abort();
		break;
	}
	return 0;
}
