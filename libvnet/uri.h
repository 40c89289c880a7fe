/* SPDX-License-Identifier: MIT */
/*
 * Device URIs (libvnet(7)):
 *   vfio:DDDD:BB:DD.F        (the domain may be omitted: BB:DD.F means 0000:BB:DD.F)
 *   vfio-user:PATH
 *   sim:MODE[=ARG]           MODE is loopback, pair, tap, sink or source
 *   tap:IFNAME               a kernel TAP interface (created when missing)
 *   xdp:IFNAME[@QUEUE]       AF_XDP sockets on a kernel interface, from QUEUE (0)
 * followed by an optional "?key=value&key=value" list. Known keys:
 *   mode=cdev|group|noiommu  (vfio)            queues=N, qsize=N  (all)
 *   mtu=N (sim; vfio, vfio-user: the e1000e driver sizes its buffers for it),
 *   mac=XX:XX:XX:XX:XX:XX, size=N, fault=NAME[@N],
 *   irq=msix|intx (intx: no MSI-X capability, legacy INTx only), vectors=N (MSI-X
 *   vectors offered), notify_data=on|off (offer VIRTIO_F_NOTIFICATION_DATA)  (sim; mac also tap)
 *   ring=split|packed        (vfio, vfio-user, sim: the virtqueue layout; default packed
 *                            when the device offers it; packed fails on a device without it)
 *   attach=drv|skb           (xdp: native or generic XDP; default: native, then generic)
 *   name=NAME, ctl=on|off    (all: the control-plane name, vnet/ctl.h; ctl=off: no control socket)
 *   reset=auto|report        (vfio, vfio-user, sim: VNET_DEV_F_AUTO_RESET, or not)
 *   mem=N[k|m|g], rxfull=wait|drop  (sim: memory budget; RX ring full holds TX or drops)
 * Unknown keys, duplicate keys and malformed values are rejected with EINVAL
 * and a message naming the offending part.
 */
#ifndef VN_URI_H
#define VN_URI_H

#include <stddef.h>
#include <stdint.h>

#define VN_URI_MAX 256
#define VN_URI_MAX_OPTS 8
#define VN_IFNAMSIZ 16 /* IFNAMSIZ of linux/if.h, with its NUL */

enum vn_uri_kind {
	VN_URI_VFIO,
	VN_URI_VFIO_USER,
	VN_URI_SIM,
	VN_URI_TAP,
	VN_URI_XDP,
};

struct vn_uri_opt {
	char key[16];
	char val[64];
};

struct vn_uri {
	enum vn_uri_kind kind;
	/* VN_URI_VFIO: canonical "DDDD:BB:DD.F"; VN_URI_VFIO_USER: socket path;
	 * VN_URI_SIM: the mode ("loopback", "pair", ...); VN_URI_TAP, VN_URI_XDP:
	 * the interface name (shorter than IFNAMSIZ). */
	char target[108];
	/* VN_URI_SIM: what follows '=' ("wire0/1", "tap0"); VN_URI_XDP: the
	 * queue number after '@' (decimal digits); else "". */
	char arg[64];
	unsigned n_opts;
	struct vn_uri_opt opts[VN_URI_MAX_OPTS];
};

/* The longest canonical PCI address, "DDDDDDDD:BB:DD.F" (VMD domains exceed
 * 16 bits); a buffer for one needs VN_PCI_ADDR_LEN + 1 bytes. */
#define VN_PCI_ADDR_LEN 16

/*
 * "[DDDD:]BB:DD.F" (hex, any case; the domain defaults to 0 and may have up
 * to 8 digits) -> canonical lower-case "dddd:bb:dd.f" in out, which holds sz
 * bytes (VN_PCI_ADDR_LEN + 1 always suffice). Returns 0 or -EINVAL (with vn_err).
 */
int vn_pci_addr_parse(const char *s, char *out, size_t sz);

/* Parse s into u. Returns 0 or -EINVAL (with vn_err). */
int vn_uri_parse(const char *s, struct vn_uri *u);

/* The value of option key, or NULL. */
const char *vn_uri_opt(const struct vn_uri *u, const char *key);

/*
 * Parse option key as an unsigned integer in [min, max]; *out is left alone
 * when the option is absent. Returns 0, or -EINVAL (with vn_err).
 */
int vn_uri_opt_uint(const struct vn_uri *u, const char *key, unsigned min,
		    unsigned max, unsigned *out);

#endif
