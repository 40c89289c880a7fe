/* SPDX-License-Identifier: MIT */
/*
 * The kernel boundary of the VFIO backends: the ioctl seam, the roots of
 * sysfs, /dev and /proc, and what sysfs tells about a PCI function. sysfs
 * content is outside input: names and links are length-checked and parsed
 * strictly.
 */
#include "iommu/vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static const struct vfio_sys real_sys = { .ioctl = real_ioctl };
static const struct vfio_sys *sys_ops = &real_sys;

static const char *const default_roots[] = { "/sys", "/dev", "/proc" };
static char root_buf[3][PATH_MAX];
static const char *roots[3] = { "/sys", "/dev", "/proc" };

void vn_vfio_set_sys(const struct vfio_sys *sys)
{
	sys_ops = sys ? sys : &real_sys;
}

int vn_vfio_set_roots(const char *sys, const char *dev, const char *proc)
{
	const char *want[3] = { sys, dev, proc };

	/* All or nothing: a root silently left at its default would point a
	 * tool that writes sysfs at the real one. */
	for (int i = 0; i < 3; i++)
		if (want[i] && strlen(want[i]) >= sizeof(root_buf[i]))
			return vn_err(-ENAMETOOLONG, "root directory \"%.40s...\" is longer than %zu bytes",
				      want[i], sizeof(root_buf[i]) - 1);
	for (int i = 0; i < 3; i++) {
		if (want[i]) {
			strcpy(root_buf[i], want[i]);
			roots[i] = root_buf[i];
		} else {
			roots[i] = default_roots[i];
		}
	}
	return 0;
}

int vfio_ioctl(int fd, unsigned long req, void *arg)
{
	int r = sys_ops->ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

int vfio_ioctl_val(int fd, unsigned long req, unsigned long val)
{
	return vfio_ioctl(fd, req, (void *)(uintptr_t)val);
}

static int vpath(char *buf, size_t sz, enum vfio_root root, const char *fmt, va_list ap)
{
	int n = snprintf(buf, sz, "%s/", roots[root]);
	int m;

	if (n < 0 || (size_t)n >= sz)
		goto toolong;
	m = vsnprintf(buf + n, sz - (size_t)n, fmt, ap);
	if (m < 0 || (size_t)m >= sz - (size_t)n)
		goto toolong;
	return 0;
toolong:
	return vn_err(-ENAMETOOLONG, "path under %s too long", roots[root]);
}

int vfio_path(char *buf, size_t sz, enum vfio_root root, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vpath(buf, sz, root, fmt, ap);
	va_end(ap);
	return r;
}

int vfio_open(enum vfio_root root, int flags, const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;
	int r, fd;

	va_start(ap, fmt);
	r = vpath(p, sizeof(p), root, fmt, ap);
	va_end(ap);
	if (r)
		return r;
	fd = open(p, flags | O_CLOEXEC);
	if (fd < 0)
		return vn_err(-errno, "cannot open %s: %s", p, strerror(errno));
	return fd;
}

bool vfio_exists(enum vfio_root root, const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vpath(p, sizeof(p), root, fmt, ap);
	va_end(ap);
	return r == 0 && access(p, F_OK) == 0;
}

/* opendir() of <sys>/fmt...: 0, or -errno. */
static int sys_opendir(DIR **dir, const char *fmt, ...) VN_PRINTF(2, 3);
static int sys_opendir(DIR **dir, const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vpath(p, sizeof(p), VFIO_ROOT_SYS, fmt, ap);
	va_end(ap);
	if (r)
		return r;
	*dir = opendir(p);
	return *dir ? 0 : -errno;
}

/* The last component of the symlink at <sys>/rel, or -errno. */
static int link_base(const char *rel, char *buf, size_t sz)
{
	char p[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;
	int r;

	r = vfio_path(p, sizeof(p), VFIO_ROOT_SYS, "%s", rel);
	if (r)
		return r;
	n = readlink(p, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= sz)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

/* "vfio12" or "12" with prefix "vfio" -> 12; -1 when not that form. */
static long parse_numbered(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix);
	unsigned long v;
	char *end;

	if (strncmp(s, prefix, pl) || s[pl] < '0' || s[pl] > '9')
		return -1;
	errno = 0;
	v = strtoul(s + pl, &end, 10);
	if (errno || *end || v > INT_MAX)
		return -1;
	return (long)v;
}

int vfio_sysfs_group(const char *bdf, unsigned *group)
{
	char rel[64], name[64];
	long g;
	int r;

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/iommu_group", bdf);
	r = link_base(rel, name, sizeof(name));
	if (r == -ENOENT)
		return r;
	if (r)
		return vn_err(r, "%s: cannot read its iommu_group link", bdf);
	g = parse_numbered(name, "");
	if (g < 0)
		return vn_err(-EINVAL, "%s: iommu_group link names \"%s\", not a group number", bdf, name);
	*group = (unsigned)g;
	return 0;
}

int vfio_sysfs_cdev(const char *bdf, char *name, size_t sz)
{
	struct dirent *e;
	DIR *dir;
	int r;

	r = sys_opendir(&dir, "bus/pci/devices/%s/vfio-dev", bdf);
	if (r)
		return r; /* -ENOENT: not bound to vfio-pci, or no cdev support */
	r = -ENOENT;
	while ((e = readdir(dir))) {
		if (parse_numbered(e->d_name, "vfio") < 0 || strlen(e->d_name) >= sz)
			continue;
		strcpy(name, e->d_name);
		r = 0;
		break;
	}
	closedir(dir);
	return r;
}

void vfio_sysfs_driver(const char *devpath, char *buf, size_t sz)
{
	char rel[PATH_MAX];

	buf[0] = '\0';
	if ((size_t)snprintf(rel, sizeof(rel), "%s/driver", devpath) >= sizeof(rel) ||
	    link_base(rel, buf, sz))
		buf[0] = '\0';
}

/* A small attribute at <sys>/rel into buf, without its trailing newline. */
static int read_attr(const char *rel, char *buf, size_t sz)
{
	ssize_t n;
	int fd = vfio_open(VFIO_ROOT_SYS, O_RDONLY, "%s", rel);

	if (fd < 0)
		return fd;
	n = read(fd, buf, sz - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return vn_err((int)n, "cannot read %s: %s", rel, strerror((int)-n));
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int vfio_sysfs_hex(const char *bdf, const char *attr, unsigned max, unsigned *val)
{
	char rel[PATH_MAX], buf[32];
	const char *digits = buf + 2;
	unsigned long v;
	int r;

	if ((size_t)snprintf(rel, sizeof(rel), "bus/pci/devices/%s/%s", bdf, attr) >= sizeof(rel))
		return vn_err(-ENAMETOOLONG, "%s: sysfs path of %s too long", bdf, attr);
	r = read_attr(rel, buf, sizeof(buf));
	if (r)
		return r;
	/* strtoul alone would take blanks and a sign: only "0x" and hex digits. */
	if (strncmp(buf, "0x", 2) || !*digits || strspn(digits, "0123456789abcdefABCDEF") != strlen(digits))
		return vn_err(-EINVAL, "%s: %s is \"%s\", not a hex number", bdf, attr, buf);
	errno = 0;
	v = strtoul(digits, NULL, 16);
	if (errno || v > max)
		return vn_err(-EINVAL, "%s: %s is %s, above 0x%x", bdf, attr, buf, max);
	*val = (unsigned)v;
	return 0;
}

bool vfio_noiommu_enabled(void)
{
	char v[8];

	/* Absent: vfio not loaded, or built without no-IOMMU. */
	return read_attr("module/vfio/parameters/enable_unsafe_noiommu_mode", v, sizeof(v)) == 0 &&
	       v[0] == 'Y';
}

int vfio_group_foreach(unsigned group, const char *skip,
		       int (*fn)(const char *bdf, const char *drv, void *arg), void *arg)
{
	char devpath[PATH_MAX], drv[64];
	struct dirent *e;
	DIR *dir;
	int r;

	r = sys_opendir(&dir, "kernel/iommu_groups/%u/devices", group);
	if (r)
		return vn_err(r, "cannot read IOMMU group %u: %s", group, strerror(-r));
	while (!r && (e = readdir(dir))) {
		if (e->d_name[0] == '.' || (skip && !strcmp(e->d_name, skip)))
			continue;
		snprintf(devpath, sizeof(devpath), "kernel/iommu_groups/%u/devices/%s", group, e->d_name);
		vfio_sysfs_driver(devpath, drv, sizeof(drv));
		r = fn(e->d_name, drv, arg);
	}
	closedir(dir);
	return r;
}

/* vfio_group_members() output under construction. */
struct member_list {
	char *buf;
	size_t sz, used;
	int n;
};

static int list_member(const char *bdf, const char *drv, void *arg)
{
	struct member_list *m = arg;
	int w = snprintf(m->buf + m->used, m->sz - m->used, "%s%s (%s)", m->n ? ", " : "", bdf,
			 drv[0] ? drv : "no driver");

	m->n++;
	if (w < 0 || (size_t)w >= m->sz - m->used)
		return 1; /* truncated: the message says what fits */
	m->used += (size_t)w;
	return 0;
}

int vfio_group_members(unsigned group, const char *bdf, char *buf, size_t sz)
{
	struct member_list m = { .buf = buf, .sz = sz };
	int r;

	buf[0] = '\0';
	r = vfio_group_foreach(group, bdf, list_member, &m);
	return r < 0 ? r : m.n;
}
