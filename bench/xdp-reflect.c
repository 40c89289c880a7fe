/* SPDX-License-Identifier: MIT */
/*
 * xdp-reflect: a kernel-side loopback for benchmarks. It attaches to an
 * interface an XDP program that sends every frame back out where it came
 * in (XDP_TX), and exits; the program stays attached (as XDP programs do)
 * until `xdp-reflect -d IFNAME`, which detaches it if it is still
 * xdp-reflect's, or until the interface goes away.
 *
 *   xdp-reflect [-m drv|skb] IFNAME
 *   xdp-reflect -d IFNAME
 *
 * - On one end (vb) of a veth pair, `vnetperf xdp:va pingpong|loop` on the
 *   other end gets its frames back, as with sim:loopback. (veth passes an
 *   XDP_TX frame to its peer only while the peer runs XDP itself, which
 *   the xdp: port does.)
 * - On a TAP interface, tun runs XDP on each frame the application writes
 *   and XDP_TX queues it for the application to read: `vnetperf tap:tap0
 *   pingpong` measures TAP the same way.
 * The program is two hand-written instructions (no BPF compiler, no object
 * file). Native mode is tried first, then generic, unless -m says; an
 * interface that already has an XDP program is left alone.
 * Build: cc -O2 -Wall -o xdp-reflect bench/xdp-reflect.c -lbpf
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#define PROG_NAME "xdp_reflect"

static int load(void)
{
	const struct bpf_insn insns[] = {
		/* r0 = XDP_TX: send the frame back out of the interface */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_TX },
		/* return r0 */
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, PROG_NAME, "Dual MIT/GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), NULL);
}

/* Attach without replacing anybody's program: native first, then generic. */
static int attach(int ifindex, int prog, const char *mode, __u32 *used)
{
	static const struct { const char *name; __u32 flag; } modes[] = {
		{ "drv", XDP_FLAGS_DRV_MODE },
		{ "skb", XDP_FLAGS_SKB_MODE },
	};
	int rc = -EINVAL;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (mode && strcmp(mode, modes[i].name))
			continue;
		rc = bpf_xdp_attach(ifindex, prog, XDP_FLAGS_UPDATE_IF_NOEXIST | modes[i].flag, NULL);
		if (!rc) {
			*used = modes[i].flag;
			return 0;
		}
		if (rc == -EBUSY || rc == -EEXIST)
			return rc;
	}
	return rc;
}

/* Detach the program attached to ifindex if it is xdp-reflect's. */
static int detach(const char *ifname, int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, cur);
	LIBBPF_OPTS(bpf_xdp_attach_opts, old);
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), id, mode;
	int fd, rc;

	rc = bpf_xdp_query(ifindex, 0, &cur);
	if (rc || cur.attach_mode == XDP_ATTACHED_NONE) {
		fprintf(stderr, "xdp-reflect: %s has no XDP program\n", ifname);
		return 1;
	}
	if (cur.attach_mode != XDP_ATTACHED_DRV && cur.attach_mode != XDP_ATTACHED_SKB) {
		fprintf(stderr, "xdp-reflect: %s: not xdp-reflect's program; left alone\n", ifname);
		return 1;
	}
	id = cur.attach_mode == XDP_ATTACHED_DRV ? cur.drv_prog_id : cur.skb_prog_id;
	mode = cur.attach_mode == XDP_ATTACHED_DRV ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || strcmp(info.name, PROG_NAME)) {
		fprintf(stderr, "xdp-reflect: %s: not xdp-reflect's program; left alone\n", ifname);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	/* XDP_FLAGS_REPLACE: only if it is still that program. */
	old.old_prog_fd = fd;
	rc = bpf_xdp_detach(ifindex, mode | XDP_FLAGS_REPLACE, &old);
	close(fd);
	if (rc) {
		fprintf(stderr, "xdp-reflect: detaching from %s: %s\n", ifname, strerror(-rc));
		return 1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: xdp-reflect [-m drv|skb] IFNAME | xdp-reflect -d IFNAME\n");
}

int main(int argc, char **argv)
{
	const char *mode = NULL;
	int opt, ifindex, prog, rc, off = 0;
	__u32 used = 0;

	while ((opt = getopt(argc, argv, "dm:")) != -1) {
		if (opt == 'd') {
			off = 1;
		} else if (opt == 'm' && (!strcmp(optarg, "drv") || !strcmp(optarg, "skb"))) {
			mode = optarg;
		} else {
			usage();
			return 2;
		}
	}
	if (optind + 1 != argc || (off && mode)) {
		usage();
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[optind]);
	if (!ifindex) {
		fprintf(stderr, "xdp-reflect: %s: no such interface\n", argv[optind]);
		return 1;
	}
	if (off)
		return detach(argv[optind], ifindex);
	prog = load();
	if (prog < 0) {
		fprintf(stderr, "xdp-reflect: loading the program: %s\n", strerror(-prog));
		return 1;
	}
	rc = attach(ifindex, prog, mode, &used);
	close(prog); /* the attachment holds the program */
	if (rc) {
		fprintf(stderr, "xdp-reflect: attaching to %s: %s%s\n", argv[optind], strerror(-rc),
			rc == -EBUSY || rc == -EEXIST ? " (it already has an XDP program)" : "");
		return 1;
	}
	printf("xdp-reflect: %s: every frame goes back out (%s mode); "
	       "xdp-reflect -d %s detaches\n", argv[optind],
	       used == XDP_FLAGS_DRV_MODE ? "native" : "generic", argv[optind]);
	return 0;
}
