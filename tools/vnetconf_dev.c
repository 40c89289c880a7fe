/* SPDX-License-Identifier: MIT */
/*
 * vnetconf dev list|bind|unbind: PCI functions and vfio-pci, through sysfs
 * alone (no device needs to be open).
 *
 * sysfs is read through libvnet's own probing (iommu/vfio.h), so vnetconf
 * and the library agree on what a device offers, and PCI addresses are
 * parsed by the library's URI parser (uri.h), so vnetconf accepts exactly
 * the addresses a vfio: URI does. sysfs is outside input: anything odd is
 * shown as "-" (list) or refused with a message (bind/unbind). The hidden
 * options --sysfs-root, --dev-root (the library's VFIO roots) and
 * --state-dir point the tool at a fake tree for tests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler.h"
#include "iommu/vfio.h"
#include "json.h"
#include "log.h"
#include "pci.h"
#include "uri.h"
#include "vnetconf.h"

#define VFIO_DRIVER "vfio-pci"
#define NAME_MAX_LEN 64 /* driver and cdev names */
#define PCI_CLASS_NETWORK 0x02 /* base class of a network controller */

/* libvnet's VFIO modes, named as in VNET_VFIO_MODE and `?mode=`. */
enum { MODE_CDEV, MODE_GROUP, MODE_NOIOMMU, N_MODES };
static const char *const mode_names[N_MODES] = { "cdev", "group", "noiommu" };

/* What sysfs says about one PCI function. */
struct pci_fn {
	char addr[VN_PCI_ADDR_LEN + 1];
	unsigned vendor, device, class;
	char driver[NAME_MAX_LEN];  /* "" when unbound */
	long group;                 /* -1 when it has none */
	char cdev[NAME_MAX_LEN];    /* "vfio3", "" when none */
	bool modes[N_MODES];        /* the libvnet VFIO modes that can open it */
	bool noiommu_grp;           /* its group is a no-IOMMU group */
};

/* ---- sysfs reading ---- */

static void read_driver(const char *addr, char *buf, size_t sz)
{
	char devpath[64];

	snprintf(devpath, sizeof(devpath), "bus/pci/devices/%s", addr);
	vfio_sysfs_driver(devpath, buf, sz);
}

/* Which libvnet VFIO modes can open fn: the library's own answer
 * (vfio_probe()), so that what is listed is what opens. */
static void find_modes(struct pci_fn *fn)
{
	struct vfio_avail a;

	if (strcmp(fn->driver, VFIO_DRIVER) || fn->group < 0)
		return;
	vfio_probe(fn->addr, &a);
	fn->modes[MODE_GROUP] = a.type1;
	fn->modes[MODE_NOIOMMU] = a.noiommu;
	fn->modes[MODE_CDEV] = a.cdev;
	fn->noiommu_grp = a.noiommu_grp;
}

/* Fill fn for the device addr (canonical); false when it is not there. */
static bool read_fn(const char *addr, struct pci_fn *fn)
{
	unsigned group;

	memset(fn, 0, sizeof(*fn));
	snprintf(fn->addr, sizeof(fn->addr), "%s", addr);
	if (vfio_sysfs_hex(addr, "class", 0xffffff, &fn->class) ||
	    vfio_sysfs_hex(addr, "vendor", 0xffff, &fn->vendor) ||
	    vfio_sysfs_hex(addr, "device", 0xffff, &fn->device))
		return false;
	read_driver(addr, fn->driver, sizeof(fn->driver));
	fn->group = vfio_sysfs_group(addr, &group) ? -1 : (long)group;
	vfio_sysfs_cdev(addr, fn->cdev, sizeof(fn->cdev)); /* none: stays "" */
	find_modes(fn);
	return true;
}

/* ---- dev list ---- */

static int filter_dots(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* The usable modes joined by ","; false when there is none. */
static bool print_modes(const struct pci_fn *fn)
{
	bool any = false;

	for (int m = 0; m < N_MODES; m++)
		if (fn->modes[m]) {
			printf("%s%s", any ? "," : "", mode_names[m]);
			any = true;
		}
	return any;
}

/* The libvnet driver that runs on the function's ids (pci.c), "" for none. */
static const char *lv_driver(const struct pci_fn *fn)
{
	const char *n = vn_pci_driver_name((uint16_t)fn->vendor, (uint16_t)fn->device);

	return n ? n : "";
}

static void json_kstr_or_null(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	if (s[0])
		json_str(j, s);
	else
		json_null(j);
}

static void print_fn_json(struct json *j, const struct pci_fn *fn)
{
	char id[8];
	bool usable = false;

	json_obj_open(j);
	json_kstr(j, "pci", fn->addr);
	snprintf(id, sizeof(id), "%04x", fn->vendor);
	json_kstr(j, "vendor", id);
	snprintf(id, sizeof(id), "%04x", fn->device);
	json_kstr(j, "device", id);
	json_kstr_or_null(j, "libvnet_driver", lv_driver(fn));
	json_kstr_or_null(j, "driver", fn->driver);
	json_key(j, "iommu_group");
	if (fn->group >= 0)
		json_int(j, fn->group);
	else
		json_null(j);
	json_kstr_or_null(j, "vfio_cdev", fn->cdev);
	for (int m = 0; m < N_MODES; m++)
		usable |= fn->modes[m];
	json_kbool(j, "usable", usable);
	json_key(j, "modes");
	json_arr_open(j);
	for (int m = 0; m < N_MODES; m++)
		if (fn->modes[m])
			json_str(j, mode_names[m]);
	json_arr_close(j);
	json_obj_close(j);
}

static void print_fn_text(const struct pci_fn *fn)
{
	char group[24] = "-";

	if (fn->group >= 0)
		snprintf(group, sizeof(group), "%ld", fn->group);
	printf("%-13s %04x:%04x  %-10s %-12s %-6s %-8s ", fn->addr, fn->vendor, fn->device,
	       lv_driver(fn)[0] ? lv_driver(fn) : "-", fn->driver[0] ? fn->driver : "-", group,
	       fn->cdev[0] ? fn->cdev : "-");
	if (!print_modes(fn))
		printf("no");
	printf("\n");
}

int dev_list(const struct ctx *c, int argc, char **argv)
{
	struct dirent **ents;
	char p[PATH_MAX], addr[VN_PCI_ADDR_LEN + 1];
	struct pci_fn fn;
	struct json j;
	int n;

	(void)argv;
	if (argc) {
		err("dev list takes no arguments (got \"%s\")", argv[0]);
		return 2;
	}
	if (vfio_path(p, sizeof(p), VFIO_ROOT_SYS, "bus/pci/devices")) {
		err("%s", vn_err_msg());
		return 1;
	}
	n = scandir(p, &ents, filter_dots, alphasort);
	if (n < 0) {
		err("cannot list %s: %s (is sysfs mounted?)", p, strerror(errno));
		return 1;
	}
	json_init(&j, stdout, c->pretty);
	if (c->json)
		json_arr_open(&j);
	else
		printf("%-13s %-10s %-10s %-12s %-6s %-8s %s\n", "PCI", "ID", "LIBVNET", "DRIVER",
		       "GROUP", "CDEV", "USABLE");
	for (int i = 0; i < n; i++) {
		/* Entries are named by the kernel; skip anything that is not an
		 * address, and every class but 0x02 (network controller). */
		if (!vn_pci_addr_parse(ents[i]->d_name, addr, sizeof(addr)) &&
		    !strcmp(addr, ents[i]->d_name) && read_fn(addr, &fn) &&
		    fn.class >> 16 == PCI_CLASS_NETWORK) {
			if (c->json)
				print_fn_json(&j, &fn);
			else
				print_fn_text(&fn);
		}
		free(ents[i]);
	}
	free(ents);
	if (c->json) {
		json_arr_close(&j);
		json_end(&j);
	}
	return 0;
}

/* ---- dev bind / unbind ---- */

/* Write s to the sysfs attribute <sysfs root>/fmt...; 0 or -1 with a message. */
static int write_sys(const char *s, const char *fmt, ...) VN_PRINTF(2, 3);
static int write_sys(const char *s, const char *fmt, ...)
{
	char rel[PATH_MAX], path[PATH_MAX];
	size_t len = strlen(s);
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel) || vfio_path(path, sizeof(path), VFIO_ROOT_SYS, "%s", rel)) {
		err("sysfs path of %s too long", rel);
		return -1;
	}
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		err("cannot open %s: %s%s", path, strerror(errno),
		    errno == EACCES ? " (vnetconf must run as root)" : "");
		return -1;
	}
	n = write(fd, s, len);
	if (n != (ssize_t)len) {
		err("writing \"%s\" to %s failed: %s", s, path,
		    n < 0 ? strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	if (close(fd)) {
		err("writing \"%s\" to %s failed: %s", s, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The PCI address argument, checked to name an existing device. */
static int dev_arg(const struct ctx *c, const char *cmd, int argc, char **argv, char *addr,
		   size_t sz)
{
	if (argc != 1) {
		err("usage: vnetconf dev %s PCI (for example 0000:00:04.0)", cmd);
		return 2;
	}
	if (vn_pci_addr_parse(argv[0], addr, sz)) {
		err("\"%s\" is not a PCI address (DDDD:BB:DD.F or BB:DD.F)", argv[0]);
		return 2;
	}
	if (c->real_sys && geteuid() != 0) {
		err("dev %s writes to sysfs and needs root", cmd);
		return 1;
	}
	if (!vfio_exists(VFIO_ROOT_SYS, "bus/pci/devices/%s", addr)) {
		err("no PCI device %s (see \"vnetconf dev list\")", addr);
		return 1;
	}
	return 0;
}

/* check_group()'s view of one other member of the group. */
struct group_check {
	const char *addr;
	unsigned group;
	bool busy;
};

static int check_member(const char *bdf, const char *drv, void *arg)
{
	struct group_check *g = arg;

	if (!drv[0] || !strcmp(drv, VFIO_DRIVER))
		return 0;
	err("%s shares IOMMU group %u with %s, bound to %s; VFIO needs every device "
	    "of a group on vfio-pci or on no driver: bind it too, or unbind it with "
	    "\"echo %s > /sys/bus/pci/drivers/%s/unbind\"", g->addr, g->group, bdf, drv, bdf, drv);
	g->busy = true;
	return 0; /* name every one in use, not just the first */
}

/*
 * VFIO hands out a group only when every device in it is bound to vfio-pci
 * or to no driver. Refuse when another member is in use, naming it.
 */
static int check_group(const char *addr, unsigned group)
{
	struct group_check g = { .addr = addr, .group = group };
	int r = vfio_group_foreach(group, addr, check_member, &g);

	if (r < 0) {
		err("%s: %s", addr, vn_err_msg());
		return -1;
	}
	return g.busy ? -1 : 0;
}

/* <state dir>/<addr>.driver; false when it does not fit. */
static bool state_path(const struct ctx *c, const char *addr, char *p)
{
	int n = snprintf(p, PATH_MAX, "%s/%s.driver", c->state, addr);

	return n > 0 && n < PATH_MAX;
}

/* Remember drv (possibly "") as the driver addr had before bind. */
static int save_state(const struct ctx *c, const char *addr, const char *drv)
{
	char p[PATH_MAX];
	FILE *f;

	if (mkdir(c->state, 0755) && errno != EEXIST) {
		err("cannot create %s: %s", c->state, strerror(errno));
		return -1;
	}
	if (!state_path(c, addr, p) || !(f = fopen(p, "we"))) {
		err("cannot write %s: %s", p, strerror(errno));
		return -1;
	}
	fprintf(f, "%s\n", drv);
	if (fclose(f)) {
		err("cannot write %s: %s", p, strerror(errno));
		return -1;
	}
	return 0;
}

/* The driver save_state() remembered for addr; "" when none. */
static void load_state(const struct ctx *c, const char *addr, char *drv, size_t sz)
{
	char p[PATH_MAX];
	FILE *f;

	drv[0] = '\0';
	if (!state_path(c, addr, p) || !(f = fopen(p, "re")))
		return;
	if (!fgets(drv, (int)sz, f))
		drv[0] = '\0';
	fclose(f);
	drv[strcspn(drv, "\n")] = '\0';
}

/* Point driver_override at drv ("" clears it), unbind addr from its
 * current driver, if any, and let the PCI core probe it again. */
static int rebind(const char *addr, const char *drv, const char *cur)
{
	if (write_sys(drv[0] ? drv : "\n", "bus/pci/devices/%s/driver_override", addr))
		return -1;
	if (cur[0] && write_sys(addr, "bus/pci/devices/%s/driver/unbind", addr))
		return -1;
	return write_sys(addr, "bus/pci/drivers_probe");
}

/* A bind that vfio-pci did not take: clear driver_override and, if the
 * device was left without a driver, let the kernel probe it again. */
static void undo_bind(const struct ctx *c, const char *addr, const char *now)
{
	char p[PATH_MAX];

	if (now[0])
		write_sys("\n", "bus/pci/devices/%s/driver_override", addr);
	else
		rebind(addr, "", "");
	if (state_path(c, addr, p))
		unlink(p);
}

/* The /dev node of a mode, and whether it is there. */
static void print_node(const char *what, const char *fmt, ...) VN_PRINTF(2, 3);
static void print_node(const char *what, const char *fmt, ...)
{
	char rel[PATH_MAX], path[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(rel) && !vfio_path(path, sizeof(path), VFIO_ROOT_DEV, "%s", rel))
		printf("  %-6s %s%s\n", what, path, access(path, F_OK) ? " (missing)" : "");
}

int dev_bind(const struct ctx *c, int argc, char **argv)
{
	char addr[VN_PCI_ADDR_LEN + 1], was[NAME_MAX_LEN];
	struct pci_fn fn;
	int rc = dev_arg(c, "bind", argc, argv, addr, sizeof(addr));

	if (rc)
		return rc;
	if (!vfio_exists(VFIO_ROOT_SYS, "bus/pci/drivers/" VFIO_DRIVER)) {
		err("the vfio-pci driver is not loaded (modprobe vfio-pci)");
		return 1;
	}
	if (!read_fn(addr, &fn)) {
		err("%s: cannot read its vendor, device and class from sysfs", addr);
		return 1;
	}
	/* libvnet drives network functions only; this also keeps a typo from
	 * taking the disk controller away from the kernel. */
	if (fn.class >> 16 != PCI_CLASS_NETWORK) {
		err("%s is not a network controller (class 0x%06x); vnetconf binds only those",
		    addr, fn.class);
		return 1;
	}
	snprintf(was, sizeof(was), "%s", fn.driver);
	if (!strcmp(was, VFIO_DRIVER)) {
		printf("%s: already bound to vfio-pci\n", addr);
	} else {
		/* Without an IOMMU, vfio-pci gives the device a group only in
		 * the unsafe no-IOMMU mode. */
		if (fn.group < 0 && !vfio_noiommu_enabled()) {
			err("%s has no IOMMU group: enable the IOMMU (intel_iommu=on or "
			    "amd_iommu=on) or, unsafely, vfio.enable_unsafe_noiommu_mode=1", addr);
			return 1;
		}
		if (fn.group >= 0 && check_group(addr, (unsigned)fn.group))
			return 1;
		if (save_state(c, addr, was))
			return 1;
		if (rebind(addr, VFIO_DRIVER, was)) {
			read_driver(addr, fn.driver, sizeof(fn.driver));
			undo_bind(c, addr, fn.driver);
			return 1;
		}
		if (!read_fn(addr, &fn) || strcmp(fn.driver, VFIO_DRIVER)) {
			err("%s did not bind to vfio-pci (its driver is now %s); the kernel log "
			    "(dmesg) says why", addr, fn.driver[0] ? fn.driver : "none");
			undo_bind(c, addr, fn.driver);
			return 1;
		}
		printf("%s: bound to vfio-pci (was %s)\n", addr, was[0] ? was : "unbound");
	}
	if (fn.group >= 0)
		print_node("group", "vfio/%s%ld", fn.noiommu_grp ? "noiommu-" : "", fn.group);
	if (fn.cdev[0])
		print_node("cdev", "vfio/devices/%s", fn.cdev);
	/* libvnet uses no-IOMMU mode only when the URI asks for it. */
	printf("  uri    vfio:%s%s\n", addr, fn.noiommu_grp ? "?mode=noiommu" : "");
	return 0;
}

int dev_unbind(const struct ctx *c, int argc, char **argv)
{
	char addr[VN_PCI_ADDR_LEN + 1], p[PATH_MAX], was[NAME_MAX_LEN], now[NAME_MAX_LEN];
	int rc = dev_arg(c, "unbind", argc, argv, addr, sizeof(addr));

	if (rc)
		return rc;
	read_driver(addr, now, sizeof(now));
	if (strcmp(now, VFIO_DRIVER)) {
		err("%s is not bound to vfio-pci (driver: %s)", addr, now[0] ? now : "none");
		return 1;
	}
	/* The driver it had before "dev bind", if vnetconf bound it. */
	load_state(c, addr, was, sizeof(was));
	if (rebind(addr, "", now))
		return 1;
	if (state_path(c, addr, p) && unlink(p) && errno != ENOENT)
		err("warning: cannot remove %s: %s", p, strerror(errno));
	read_driver(addr, now, sizeof(now));
	printf("%s: unbound from vfio-pci, now %s%s\n", addr, now[0] ? "on " : "without a driver",
	       now);
	if (was[0] && strcmp(was, now)) {
		err("%s was on %s before \"dev bind\"; to restore it: echo %s > "
		    "/sys/bus/pci/drivers/%s/bind", addr, was, addr, was);
		return 1;
	}
	return 0;
}
