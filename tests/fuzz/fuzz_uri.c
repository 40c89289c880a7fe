/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for device URIs (libvnet/uri.c) and the parameters of
 * simulated devices (libvnet/sim/sim_params.c): the input is the string an
 * application passes to vnet_dev_open() (cut at its first NUL). A refusal
 * is fine; an acceptance must give what the openers rely on: NUL-terminated
 * fields, distinct non-empty keys, a canonical PCI address that parses to
 * itself, interface names the kernel would take, and for sim: URIs
 * parameters within their documented ranges (or a refusal naming why).
 * Run with clang: `make fuzz-uri` (tests/fuzz/local.mk); seeds in
 * tests/fuzz/uri-seeds/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim/sim_dev.h"
#include "uri.h"
#include "vnet/vnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_terminated(const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		abort();
}

/* A sim: URI's parameters, as sim_open.c takes them. */
static void check_sim(const struct vn_uri *u)
{
	struct sim_params p;
	int err;

	sim_params_default(&p);
	err = sim_params_mode(&p, u->target, u->arg);
	for (unsigned i = 0; i < u->n_opts && !err; i++)
		err = sim_params_set(&p, u->opts[i].key, u->opts[i].val);
	if (err || sim_params_check(&p))
		return;
	if (p.queues < 1 || p.queues > SIM_MAX_PAIRS || p.qsize < 2 || p.qsize > SIM_VQ_MAX_SIZE ||
	    (p.qsize & (p.qsize - 1)) || p.mtu < 68 || p.mtu > SIM_MTU_MAX || p.size < 60 ||
	    p.size > p.mtu + 14 || (p.mac[0] & 1) || (p.vectors && p.vectors > SIM_MAX_VECTORS))
		abort();
	check_terminated(p.arg, sizeof(p.arg));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[VN_URI_MAX + 64], pci[VN_PCI_ADDR_LEN + 1];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	struct vn_uri u;
	unsigned v;

	vnet_set_log_level(0);
	memcpy(s, data, n);
	s[n] = '\0';
	if (vn_uri_parse(s, &u))
		return 0;
	check_terminated(u.target, sizeof(u.target));
	check_terminated(u.arg, sizeof(u.arg));
	if (u.n_opts > VN_URI_MAX_OPTS)
		abort();
	for (unsigned i = 0; i < u.n_opts; i++) {
		check_terminated(u.opts[i].key, sizeof(u.opts[i].key));
		check_terminated(u.opts[i].val, sizeof(u.opts[i].val));
		if (!u.opts[i].key[0] || vn_uri_opt(&u, u.opts[i].key) != u.opts[i].val)
			abort(); /* empty, or a duplicate key */
	}
	if (vn_uri_opt_uint(&u, "queues", 1, 64, &v) == 0 && vn_uri_opt(&u, "queues") &&
	    (v < 1 || v > 64))
		abort();
	switch (u.kind) {
	case VN_URI_VFIO:
		/* Canonical: parses to itself. */
		if (vn_pci_addr_parse(u.target, pci, sizeof(pci)) || strcmp(pci, u.target))
			abort();
		break;
	case VN_URI_TAP:
	case VN_URI_XDP:
		if (!u.target[0] || strlen(u.target) >= VN_IFNAMSIZ || strchr(u.target, '/'))
			abort();
		break;
	case VN_URI_SIM:
		check_sim(&u);
		break;
	case VN_URI_VFIO_USER:
		if (!u.target[0])
			abort();
		break;
	}
	return 0;
}
