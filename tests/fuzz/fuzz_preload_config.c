/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the VNET_PRELOAD parser of libvnet-preload.so
 * (ps_config_parse(), which takes bytes, not a C string). Besides the
 * sanitizers it checks what the shim relies on: a refusal leaves no entry
 * and says why; an acceptance gives names the kernel would take and URIs
 * with room for "?name=IFNAME".
 * Run with `make fuzz-preload_config` (clang; tests/fuzz/local.mk);
 * seeds in tests/fuzz/preload_config-seeds/.
 */
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../sockapi/preload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ps_config cfg;
	char err[PS_ERR_MAX];

	if (ps_config_parse(data, size, &cfg, err, sizeof(err))) {
		if (cfg.n || !err[0])
			abort();
		return 0;
	}
	if (!cfg.n || cfg.n > PS_MAX_IFS)
		abort();
	for (unsigned i = 0; i < cfg.n; i++) {
		size_t nl = strnlen(cfg.ifs[i].name, IFNAMSIZ), ul = strnlen(cfg.ifs[i].uri, PS_URI_MAX);

		if (!nl || nl >= IFNAMSIZ || strpbrk(cfg.ifs[i].name, "/:, =") || !ul ||
		    ul + sizeof("?name=") - 1 + IFNAMSIZ - 1 >= PS_URI_MAX || strchr(cfg.ifs[i].uri, ','))
			abort();
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(cfg.ifs[k].name, cfg.ifs[i].name))
				abort();
	}
	return 0;
}
