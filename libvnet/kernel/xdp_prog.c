/* SPDX-License-Identifier: MIT */
/*
 * The XSKMAP and XDP program of the xdp: port (see xdp_prog.h). The
 * program is six instructions written out below, so there is no BPF
 * compiler step and no object file to find at run time.
 */
#include "xdp_prog.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "log.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* What a failed bpf() call needs to be understood. */
static const char *bpf_hint(int err)
{
	return err == -EPERM || err == -EACCES ? " (CAP_BPF and CAP_NET_ADMIN are needed)" : "";
}

static int load(struct vn_xdp_prog *p)
{
	const struct bpf_insn insns[] = {
		/* r2 = ((struct xdp_md *)r1)->rx_queue_index: the map key */
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
		  .off = offsetof(struct xdp_md, rx_queue_index) },
		/* r1 = the XSKMAP: a two-slot 64-bit load whose immediate is the
		 * map's fd, which the verifier turns into the map (PSEUDO_MAP_FD) */
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1,
		  .src_reg = BPF_PSEUDO_MAP_FD, .imm = p->map_fd },
		/* ... its second slot: the upper 32 bits of the immediate, 0 */
		{ .code = 0 },
		/* r3 = XDP_PASS: the action bpf_redirect_map() returns when the
		 * queue has no socket in the map (the low bits of its flags) */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = XDP_PASS },
		/* r0 = bpf_redirect_map(r1, r2, r3): XDP_REDIRECT or XDP_PASS */
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect_map },
		/* return r0 */
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "vnet_xsk", "Dual MIT/GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return vn_err(fd, "xdp: loading the XDP program: %s%s", strerror(-fd), bpf_hint(fd));
	p->prog_fd = fd;
	return 0;
}

/* Attach in one mode, never over an existing program. */
static int attach_mode(struct vn_xdp_prog *p, uint32_t mode)
{
	int rc = bpf_xdp_attach(p->ifindex, p->prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | mode, NULL);

	if (!rc)
		p->mode = mode;
	return rc;
}

/* -EBUSY: a program is attached in this mode; -EEXIST: in the other one.
 * Either way it is somebody else's, and it stays. */
static int busy(const char *ifname)
{
	return vn_err(-EBUSY, "xdp: %s already has an XDP program (another application's, or "
		      "another open of this interface); detach it first (ip link set dev %s xdp off)",
		      ifname, ifname);
}

/* Native mode first, then generic, unless how names one. */
static int attach(struct vn_xdp_prog *p, const char *ifname, const char *how)
{
	bool drv = !how || !strcmp(how, "drv"), skb = !how || !strcmp(how, "skb");
	LIBBPF_OPTS(bpf_xdp_query_opts, cur);
	int rc_drv = 0, rc_skb = 0;

	/* Look first: the usual refusal then costs no kernel error message
	 * (which libbpf would print). XDP_FLAGS_UPDATE_IF_NOEXIST still
	 * closes the race with a program attached after this look. */
	if (bpf_xdp_query(p->ifindex, 0, &cur) == 0 && cur.attach_mode != XDP_ATTACHED_NONE)
		return busy(ifname);
	if (drv) {
		rc_drv = attach_mode(p, XDP_FLAGS_DRV_MODE);
		if (rc_drv == -EBUSY || rc_drv == -EEXIST)
			return busy(ifname);
		if (!rc_drv)
			return 0;
	}
	if (skb) {
		rc_skb = attach_mode(p, XDP_FLAGS_SKB_MODE);
		if (rc_skb == -EBUSY || rc_skb == -EEXIST)
			return busy(ifname);
		if (!rc_skb)
			return 0;
	}
	if (drv && skb)
		return vn_err(rc_skb, "xdp: attaching to %s: native mode: %s; generic mode: %s%s",
			      ifname, strerror(-rc_drv), strerror(-rc_skb), bpf_hint(rc_skb));
	return vn_err(drv ? rc_drv : rc_skb, "xdp: attaching to %s in %s mode: %s%s", ifname,
		      drv ? "native (attach=drv)" : "generic (attach=skb)",
		      strerror(drv ? -rc_drv : -rc_skb), bpf_hint(drv ? rc_drv : rc_skb));
}

int vn_xdp_prog_attach(const char *ifname, int ifindex, unsigned max_queue, const char *how,
		       struct vn_xdp_prog *p)
{
	int rc;

	*p = (struct vn_xdp_prog){ .map_fd = -1, .prog_fd = -1, .ifindex = ifindex };
	p->map_fd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "vnet_xsks", sizeof(uint32_t),
				   sizeof(uint32_t), max_queue + 1, NULL);
	if (p->map_fd < 0) {
		rc = vn_err(p->map_fd, "xdp: creating the XSKMAP: %s%s", strerror(-p->map_fd),
			    bpf_hint(p->map_fd));
		p->map_fd = -1;
		return rc;
	}
	rc = load(p);
	if (!rc)
		rc = attach(p, ifname, how);
	if (rc) {
		close_fd(&p->prog_fd);
		close_fd(&p->map_fd);
	}
	return rc;
}

int vn_xdp_prog_bind(struct vn_xdp_prog *p, unsigned queue, int xsk_fd)
{
	uint32_t key = queue, val = (uint32_t)xsk_fd;
	int rc = bpf_map_update_elem(p->map_fd, &key, &val, BPF_ANY);

	return rc ? vn_err(rc, "xdp: adding the socket of queue %u to the XSKMAP: %s", queue,
			   strerror(-rc))
		  : 0;
}

void vn_xdp_prog_detach(struct vn_xdp_prog *p)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = p->prog_fd);
	int rc;

	/* XDP_FLAGS_REPLACE: the kernel detaches only if the program is
	 * still ours (else -EEXIST); an interface gone took it along. */
	if (p->mode) {
		rc = bpf_xdp_detach(p->ifindex, p->mode | XDP_FLAGS_REPLACE, &opts);
		if (rc && rc != -ENODEV)
			vn_warn("xdp: detaching from ifindex %d: %s", p->ifindex, strerror(-rc));
		p->mode = 0;
	}
	close_fd(&p->prog_fd);
	close_fd(&p->map_fd);
}
