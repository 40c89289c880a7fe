/* SPDX-License-Identifier: MIT */
/*
 * vnetconf dev list|bind|unbind against a fake sysfs tree.
 *
 * Each test builds sysfs, /dev and the state directory under a mkdtemp
 * directory and runs the real tools/vnetconf binary on it (--sysfs-root,
 * --dev-root, --state-dir), checking its exit status, its output and every
 * byte it wrote into the tree. For bind and unbind a thread plays the
 * kernel: the driver's unbind file and bus/pci/drivers_probe are FIFOs; when
 * the unbind arrives the thread removes the driver link, then binds the
 * device to whatever driver_override names (or its native driver when that
 * is empty) before it opens drivers_probe, so vnetconf sees the new driver
 * as soon as its write to drivers_probe gets through, as with the real,
 * synchronous probe.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define NIC_A "0000:00:02.0"
#define NIC_B "0000:00:03.0"
#define NVME "0000:00:04.0"

struct tree {
	char root[64];
	char out[8192], errs[8192];
};

/* ---- Building the tree ---- */

static void pathf(char *buf, const struct tree *t, const char *fmt, va_list ap)
{
	int n = snprintf(buf, PATH_MAX, "%s/", t->root);

	assert_true(n > 0 && n < PATH_MAX);
	assert_true(vsnprintf(buf + n, (size_t)(PATH_MAX - n), fmt, ap) < PATH_MAX - n);
}

/* p = root/fmt..., in a function whose last named parameter is fmt. */
#define PATH_OF(p, t, fmt)                     \
	do {                                   \
		va_list ap_;                   \
		va_start(ap_, fmt);            \
		pathf(p, t, fmt, ap_);         \
		va_end(ap_);                   \
	} while (0)

/* mkdir -p of root/fmt. */
static void mkdirs(const struct tree *t, const char *fmt, ...)
{
	char p[PATH_MAX];

	PATH_OF(p, t, fmt);
	for (char *s = p + strlen(t->root) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
		*s = '/';
	}
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void put_file(const struct tree *t, const char *content, const char *fmt, ...)
{
	char p[PATH_MAX];
	FILE *f;

	PATH_OF(p, t, fmt);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

/* The whole content of root/fmt ("" when absent). */
static const char *get_file(const struct tree *t, const char *fmt, ...)
{
	static char buf[256];
	char p[PATH_MAX];
	size_t n;
	FILE *f;

	PATH_OF(p, t, fmt);
	buf[0] = '\0';
	f = fopen(p, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

static bool has(const struct tree *t, const char *fmt, ...)
{
	char p[PATH_MAX];

	PATH_OF(p, t, fmt);
	return access(p, F_OK) == 0;
}

static void rm(const struct tree *t, const char *fmt, ...)
{
	char p[PATH_MAX];

	PATH_OF(p, t, fmt);
	assert_int_equal(unlink(p), 0);
}

/* Move root/from out of the way (to root/gone). */
static void hide(const struct tree *t, const char *from)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s/%s", t->root, from);
	snprintf(b, sizeof(b), "%s/gone", t->root);
	assert_int_equal(rename(a, b), 0);
}

static void link_to(const struct tree *t, const char *target, const char *fmt, ...)
{
	char p[PATH_MAX];

	PATH_OF(p, t, fmt);
	unlink(p);
	assert_int_equal(symlink(target, p), 0);
}

static void fifo(const struct tree *t, const char *fmt, ...)
{
	char p[PATH_MAX];

	PATH_OF(p, t, fmt);
	unlink(p);
	assert_int_equal(mkfifo(p, 0600), 0);
}

static void add_driver(const struct tree *t, const char *drv)
{
	mkdirs(t, "sys/bus/pci/drivers/%s", drv);
	put_file(t, "", "sys/bus/pci/drivers/%s/unbind", drv);
}

static void set_driver(const struct tree *t, const char *addr, const char *drv)
{
	char target[128];

	snprintf(target, sizeof(target), "../../drivers/%s", drv);
	link_to(t, target, "sys/bus/pci/devices/%s/driver", addr);
}

/* A PCI function; drv may be NULL (unbound) and group -1 (none). */
static void add_fn(const struct tree *t, const char *addr, const char *cls, const char *drv,
		   int group)
{
	char target[128];

	mkdirs(t, "sys/bus/pci/devices/%s", addr);
	put_file(t, cls, "sys/bus/pci/devices/%s/class", addr);
	put_file(t, "0x1af4\n", "sys/bus/pci/devices/%s/vendor", addr);
	put_file(t, "0x1041\n", "sys/bus/pci/devices/%s/device", addr);
	put_file(t, "\n", "sys/bus/pci/devices/%s/driver_override", addr);
	if (drv) {
		add_driver(t, drv);
		set_driver(t, addr, drv);
	}
	if (group >= 0) {
		mkdirs(t, "sys/kernel/iommu_groups/%d/devices", group);
		snprintf(target, sizeof(target), "../../../../kernel/iommu_groups/%d", group);
		link_to(t, target, "sys/bus/pci/devices/%s/iommu_group", addr);
		snprintf(target, sizeof(target), "../../../../bus/pci/devices/%s", addr);
		link_to(t, target, "sys/kernel/iommu_groups/%d/devices/%s", group, addr);
	}
}

/* NIC A on vfio-pci in group 2 with cdev vfio0 and every /dev node; NIC B
 * on virtio-pci in group 3; an NVMe controller, which is not listed. */
static void standard_tree(struct tree *t)
{
	mkdirs(t, "sys/bus/pci/devices");
	put_file(t, "", "sys/bus/pci/drivers_probe");
	add_driver(t, "vfio-pci");
	add_fn(t, NIC_A, "0x020000\n", "vfio-pci", 2);
	mkdirs(t, "sys/bus/pci/devices/%s/vfio-dev/vfio0", NIC_A);
	add_fn(t, NIC_B, "0x020000\n", "virtio-pci", 3);
	add_fn(t, NVME, "0x010802\n", "nvme", 4);
	mkdirs(t, "sys/bus/pci/devices/not-an-address");
	mkdirs(t, "dev/vfio/devices");
	put_file(t, "", "dev/vfio/2");
	put_file(t, "", "dev/vfio/devices/vfio0");
	put_file(t, "", "dev/iommu");
	mkdirs(t, "state");
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->root, sizeof(t->root), "/tmp/vnetconf-test.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	standard_tree(t);
	*state = t;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct tree *t = *state;

	nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

/* ---- Running vnetconf ---- */

static void slurp(const char *path, char *buf, size_t sz)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sz - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	unlink(path);
}

/* Run vnetconf on the tree with args (NULL-terminated): its exit status;
 * stdout and stderr land in t->out and t->errs. */
static int run(struct tree *t, ...)
{
	const char *bin = getenv("VNETCONF") ? getenv("VNETCONF") : "tools/vnetconf";
	char sys[PATH_MAX], dev[PATH_MAX], st[PATH_MAX], out[PATH_MAX], errs[PATH_MAX];
	char *argv[32];
	int argc = 0, status;
	va_list ap;
	pid_t pid;

	snprintf(sys, sizeof(sys), "%s/sys", t->root);
	snprintf(dev, sizeof(dev), "%s/dev", t->root);
	snprintf(st, sizeof(st), "%s/state", t->root);
	snprintf(out, sizeof(out), "%s/stdout", t->root);
	snprintf(errs, sizeof(errs), "%s/stderr", t->root);
	argv[argc++] = (char *)bin;
	argv[argc++] = (char *)"--sysfs-root";
	argv[argc++] = sys;
	argv[argc++] = (char *)"--dev-root";
	argv[argc++] = dev;
	argv[argc++] = (char *)"--state-dir";
	argv[argc++] = st;
	va_start(ap, t);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errs, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		alarm(20); /* a vnetconf stuck on a FIFO dies: WIFEXITED fails */
		execv(bin, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 127); /* the binary must exist */
	slurp(out, t->out, sizeof(t->out));
	slurp(errs, t->errs, sizeof(t->errs));
	return WEXITSTATUS(status);
}

/* ---- The fake kernel of bind and unbind ---- */

struct fake_kernel {
	struct tree *t;
	const char *addr, *from, *native;
	char unbind_got[64], probe_got[64];
	int stop;
	pthread_t thread;
};

/* Open a FIFO for reading and collect what one writer sends; gives up when
 * told to stop (vnetconf failed before writing). */
static bool read_fifo(struct fake_kernel *k, const char *rel, char *buf, size_t sz)
{
	char p[PATH_MAX];
	size_t used = 0;
	bool data = false;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", k->t->root, rel);
	fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		/* Stop only when nothing is left to read: the writer may have
		 * written, closed and exited (and the test said stop) before this
		 * thread got to read. */
		if (poll(&pfd, 1, 20) <= 0) {
			if (__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE))
				break;
			continue;
		}
		n = read(fd, buf + used, sz - 1 - used);
		if (n > 0) {
			used += (size_t)n;
			data = true;
		} else if (n == 0 && data) {
			break; /* the writer closed */
		} else if (__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
			break;
		} else if (n == 0) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	buf[used] = '\0';
	close(fd);
	return data;
}

/* The thread must not use cmocka's asserts: a failure shows as a missing
 * write or a wrong driver, which the test then asserts. */
static void *kernel_main(void *arg)
{
	struct fake_kernel *k = arg;
	char p[PATH_MAX], target[128], override[64];
	FILE *f;

	snprintf(p, sizeof(p), "sys/bus/pci/drivers/%s/unbind", k->from);
	if (!read_fifo(k, p, k->unbind_got, sizeof(k->unbind_got)))
		return NULL;
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/driver_override", k->t->root, k->addr);
	override[0] = '\0';
	f = fopen(p, "r");
	if (f) {
		if (!fgets(override, sizeof(override), f))
			override[0] = '\0';
		fclose(f);
	}
	override[strcspn(override, "\n")] = '\0';
	snprintf(target, sizeof(target), "../../drivers/%s",
		 override[0] ? override : k->native);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/driver", k->t->root, k->addr);
	if (unlink(p) == 0 && symlink(target, p) == 0 && !strcmp(override, "vfio-pci")) {
		snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/vfio-dev", k->t->root, k->addr);
		mkdir(p, 0755);
		strcat(p, "/vfio1");
		mkdir(p, 0755);
	}
	read_fifo(k, "sys/bus/pci/drivers_probe", k->probe_got, sizeof(k->probe_got));
	return NULL;
}

static void kernel_start(struct fake_kernel *k, struct tree *t, const char *addr,
			 const char *from, const char *native)
{
	memset(k, 0, sizeof(*k));
	k->t = t;
	k->addr = addr;
	k->from = from;
	k->native = native;
	fifo(t, "sys/bus/pci/drivers/%s/unbind", from);
	fifo(t, "sys/bus/pci/drivers_probe");
	assert_int_equal(pthread_create(&k->thread, NULL, kernel_main, k), 0);
}

static void kernel_stop(struct fake_kernel *k)
{
	__atomic_store_n(&k->stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(k->thread, NULL), 0);
}

/* ---- dev list ---- */

static void test_list_text(void **state)
{
	struct tree *t = *state;

	/* An 82574 and a function no libvnet driver knows. */
	add_fn(t, "0000:00:04.0", "0x020000\n", "e1000e", 5);
	put_file(t, "0x8086\n", "sys/bus/pci/devices/0000:00:04.0/vendor");
	put_file(t, "0x10d3\n", "sys/bus/pci/devices/0000:00:04.0/device");
	add_fn(t, "0000:00:05.0", "0x020000\n", NULL, 6);
	put_file(t, "0x8086\n", "sys/bus/pci/devices/0000:00:05.0/vendor");
	put_file(t, "0x1234\n", "sys/bus/pci/devices/0000:00:05.0/device");
	assert_int_equal(run(t, "dev", "list", NULL), 0);
	assert_string_equal(t->out,
		"PCI           ID         LIBVNET    DRIVER       GROUP  CDEV     USABLE\n"
		"0000:00:02.0  1af4:1041  virtio-net vfio-pci     2      vfio0    cdev,group\n"
		"0000:00:03.0  1af4:1041  virtio-net virtio-pci   3      -        no\n"
		"0000:00:04.0  8086:10d3  e1000e     e1000e       5      -        no\n"
		"0000:00:05.0  8086:1234  -          -            6      -        no\n");
	assert_string_equal(t->errs, "");
}

static void test_list_json(void **state)
{
	struct tree *t = *state;

	rm(t, "sys/bus/pci/devices/%s/iommu_group", NIC_B);
	put_file(t, "", "sys/bus/pci/devices/%s/iommu_group", NIC_B); /* not a link */
	assert_int_equal(run(t, "-j", "d", "l", NULL), 0); /* abbreviated */
	assert_string_equal(t->out,
		"[{\"pci\":\"0000:00:02.0\",\"vendor\":\"1af4\",\"device\":\"1041\","
		"\"libvnet_driver\":\"virtio-net\",\"driver\":\"vfio-pci\",\"iommu_group\":2,\"vfio_cdev\":\"vfio0\","
		"\"usable\":true,\"modes\":[\"cdev\",\"group\"]},"
		"{\"pci\":\"0000:00:03.0\",\"vendor\":\"1af4\",\"device\":\"1041\","
		"\"libvnet_driver\":\"virtio-net\",\"driver\":\"virtio-pci\",\"iommu_group\":null,\"vfio_cdev\":null,"
		"\"usable\":false,\"modes\":[]}]\n");
}

/* A no-IOMMU group is usable through its group only, even with a cdev,
 * and only while the vfio module allows no-IOMMU mode (what opens it). */
static void test_list_noiommu(void **state)
{
	struct tree *t = *state;

	rm(t, "dev/vfio/2");
	put_file(t, "", "dev/vfio/noiommu-2");
	mkdirs(t, "sys/module/vfio/parameters");
	put_file(t, "Y\n", "sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
	assert_int_equal(run(t, "-j", "dev", "list", NULL), 0);
	assert_non_null(strstr(t->out, "\"usable\":true,\"modes\":[\"noiommu\"]"));
	/* The URI bind prints asks for the mode: libvnet never picks it itself. */
	assert_int_equal(run(t, "dev", "bind", "00:02.0", NULL), 0);
	assert_non_null(strstr(t->out, "  uri    vfio:0000:00:02.0?mode=noiommu\n"));
	put_file(t, "N\n", "sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
	assert_int_equal(run(t, "-j", "dev", "list", NULL), 0);
	assert_non_null(strstr(t->out, "\"iommu_group\":2,\"vfio_cdev\":\"vfio0\",\"usable\":false,\"modes\":[]"));
}

/* Bound to vfio-pci, but the /dev nodes are missing: not usable. */
static void test_list_no_nodes(void **state)
{
	struct tree *t = *state;

	rm(t, "dev/vfio/2");
	rm(t, "dev/iommu");
	assert_int_equal(run(t, "dev", "list", NULL), 0);
	assert_non_null(strstr(t->out, "0000:00:02.0  1af4:1041  virtio-net vfio-pci     2      vfio0    no\n"));
}

static void test_list_no_sysfs(void **state)
{
	struct tree *t = *state;

	hide(t, "sys");
	assert_int_equal(run(t, "dev", "list", NULL), 1);
	assert_non_null(strstr(t->errs, "is sysfs mounted?"));
}

/* ---- dev bind ---- */

static void test_bind(void **state)
{
	struct tree *t = *state;
	struct fake_kernel k;
	char want[512];
	int rc;

	kernel_start(&k, t, NIC_B, "virtio-pci", "virtio-pci");
	put_file(t, "", "dev/vfio/3");
	rc = run(t, "dev", "bind", "00:03.0", NULL);
	kernel_stop(&k);
	assert_string_equal(t->errs, "");
	assert_int_equal(rc, 0);
	assert_string_equal(get_file(t, "sys/bus/pci/devices/%s/driver_override", NIC_B),
			    "vfio-pci");
	assert_string_equal(k.unbind_got, NIC_B);
	assert_string_equal(k.probe_got, NIC_B);
	assert_string_equal(get_file(t, "state/%s.driver", NIC_B), "virtio-pci\n");
	snprintf(want, sizeof(want),
		 "0000:00:03.0: bound to vfio-pci (was virtio-pci)\n"
		 "  group  %s/dev/vfio/3\n"
		 "  cdev   %s/dev/vfio/devices/vfio1 (missing)\n"
		 "  uri    vfio:0000:00:03.0\n", t->root, t->root);
	assert_string_equal(t->out, want);
}

static void test_bind_then_unbind(void **state)
{
	struct tree *t = *state;
	struct fake_kernel k;
	int rc;

	kernel_start(&k, t, NIC_B, "virtio-pci", "virtio-pci");
	rc = run(t, "dev", "bind", NIC_B, NULL);
	kernel_stop(&k);
	assert_int_equal(rc, 0);
	assert_string_equal(get_file(t, "state/%s.driver", NIC_B), "virtio-pci\n");

	kernel_start(&k, t, NIC_B, "vfio-pci", "virtio-pci");
	rc = run(t, "dev", "unbind", NIC_B, NULL);
	kernel_stop(&k);
	assert_string_equal(t->errs, "");
	assert_int_equal(rc, 0);
	assert_string_equal(get_file(t, "sys/bus/pci/devices/%s/driver_override", NIC_B), "\n");
	assert_string_equal(k.unbind_got, NIC_B);
	assert_string_equal(k.probe_got, NIC_B);
	assert_false(has(t, "state/%s.driver", NIC_B));
	assert_string_equal(t->out, "0000:00:03.0: unbound from vfio-pci, now on virtio-pci\n");
}

/* The kernel reprobes to another driver than the one bind replaced. */
static void test_unbind_other_driver(void **state)
{
	struct tree *t = *state;
	struct fake_kernel k;
	int rc;

	put_file(t, "e1000e\n", "state/%s.driver", NIC_A);
	kernel_start(&k, t, NIC_A, "vfio-pci", "virtio-pci");
	rc = run(t, "dev", "unbind", NIC_A, NULL);
	kernel_stop(&k);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(t->errs, "was on e1000e before"));
	assert_non_null(strstr(t->errs, "echo 0000:00:02.0 > /sys/bus/pci/drivers/e1000e/bind"));
}

/* The probe leaves the device where it was: bind says so and fails. */
static void test_bind_not_taken(void **state)
{
	struct tree *t = *state;

	assert_int_equal(run(t, "dev", "bind", NIC_B, NULL), 1);
	assert_string_equal(get_file(t, "sys/bus/pci/drivers/virtio-pci/unbind"), NIC_B);
	assert_string_equal(get_file(t, "sys/bus/pci/drivers_probe"), NIC_B);
	assert_non_null(strstr(t->errs, "0000:00:03.0 did not bind to vfio-pci (its driver is "
					"now virtio-pci)"));
	/* Undone: no override left behind, nothing remembered. */
	assert_string_equal(get_file(t, "sys/bus/pci/devices/%s/driver_override", NIC_B), "\n");
	assert_false(has(t, "state/%s.driver", NIC_B));
}

/* A sysfs write fails half way: bind puts driver_override back. */
static void test_bind_write_fails(void **state)
{
	struct tree *t = *state;

	rm(t, "sys/bus/pci/drivers_probe");
	assert_int_equal(run(t, "dev", "bind", NIC_B, NULL), 1);
	assert_non_null(strstr(t->errs, "/sys/bus/pci/drivers_probe: No such file or directory"));
	assert_string_equal(get_file(t, "sys/bus/pci/devices/%s/driver_override", NIC_B), "\n");
	assert_false(has(t, "state/%s.driver", NIC_B));
}

static void test_bind_already(void **state)
{
	struct tree *t = *state;

	assert_int_equal(run(t, "dev", "bind", NIC_A, NULL), 0);
	assert_non_null(strstr(t->out, "0000:00:02.0: already bound to vfio-pci\n"));
	assert_string_equal(get_file(t, "sys/bus/pci/drivers_probe"), "");
	assert_false(has(t, "state/%s.driver", NIC_A));
}

static void test_bind_errors(void **state)
{
	struct tree *t = *state;

	assert_int_equal(run(t, "dev", "bind", "0000:00:09.0", NULL), 1);
	assert_string_equal(t->errs,
		"vnetconf: no PCI device 0000:00:09.0 (see \"vnetconf dev list\")\n");
	assert_int_equal(run(t, "dev", "bind", NVME, NULL), 1);
	assert_string_equal(t->errs, "vnetconf: 0000:00:04.0 is not a network controller "
				     "(class 0x010802); vnetconf binds only those\n");
	assert_string_equal(get_file(t, "sys/bus/pci/drivers/nvme/unbind"), "");
	assert_int_equal(run(t, "dev", "bind", "00:03.8", NULL), 2);
	assert_non_null(strstr(t->errs, "\"00:03.8\" is not a PCI address"));
	assert_int_equal(run(t, "dev", "bind", "0x:00.0", NULL), 2);
	assert_int_equal(run(t, "dev", "bind", " 00:03.0", NULL), 2);
	assert_int_equal(run(t, "dev", "bind", NULL), 2);
	assert_non_null(strstr(t->errs, "usage: vnetconf dev bind PCI"));
	assert_int_equal(run(t, "dev", "bind", NIC_A, NIC_B, NULL), 2);
	assert_int_equal(run(t, "dev", "unbind", NIC_B, NULL), 1);
	assert_string_equal(t->errs,
		"vnetconf: 0000:00:03.0 is not bound to vfio-pci (driver: virtio-pci)\n");
	/* Nothing was written anywhere. */
	assert_string_equal(get_file(t, "sys/bus/pci/drivers_probe"), "");
	assert_string_equal(get_file(t, "sys/bus/pci/devices/%s/driver_override", NIC_B), "\n");
}

static void test_bind_no_vfio_pci(void **state)
{
	struct tree *t = *state;

	hide(t, "sys/bus/pci/drivers/vfio-pci");
	assert_int_equal(run(t, "dev", "bind", NIC_B, NULL), 1);
	assert_string_equal(t->errs, "vnetconf: the vfio-pci driver is not loaded (modprobe vfio-pci)\n");
}

/* NIC B shares group 3 with a function still bound to a kernel driver. */
static void test_bind_shared_group(void **state)
{
	struct tree *t = *state;

	add_fn(t, "0000:00:03.1", "0x020000\n", "e1000e", 3);
	add_fn(t, "0000:00:03.2", "0x020000\n", NULL, 3); /* no driver: fine */
	assert_int_equal(run(t, "dev", "bind", NIC_B, NULL), 1);
	assert_non_null(strstr(t->errs, "0000:00:03.0 shares IOMMU group 3 with 0000:00:03.1, "
					"bound to e1000e"));
	assert_null(strstr(t->errs, "0000:00:03.2"));
	assert_non_null(strstr(t->errs, "echo 0000:00:03.1 > /sys/bus/pci/drivers/e1000e/unbind"));
	assert_string_equal(get_file(t, "sys/bus/pci/devices/%s/driver_override", NIC_B), "\n");
	assert_string_equal(get_file(t, "sys/bus/pci/drivers_probe"), "");
}

/* Without an IOMMU group, bind needs the unsafe no-IOMMU mode. */
static void test_bind_no_group(void **state)
{
	struct tree *t = *state;

	rm(t, "sys/bus/pci/devices/%s/iommu_group", NIC_B);
	assert_int_equal(run(t, "dev", "bind", NIC_B, NULL), 1);
	assert_non_null(strstr(t->errs, "0000:00:03.0 has no IOMMU group: enable the IOMMU"));
	assert_string_equal(get_file(t, "sys/bus/pci/drivers_probe"), "");

	mkdirs(t, "sys/module/vfio/parameters");
	put_file(t, "Y\n", "sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
	/* Allowed now; this fake kernel does not bind, which bind reports. */
	assert_int_equal(run(t, "dev", "bind", NIC_B, NULL), 1);
	assert_non_null(strstr(t->errs, "did not bind to vfio-pci"));
	assert_string_equal(get_file(t, "sys/bus/pci/drivers_probe"), NIC_B);
}

/*
 * On the real /sys, bind and unbind need root; checked before anything is
 * read or written. Runs as nobody (when the test runs as root) on an
 * address that no machine has, so even a broken check writes nothing.
 */
static void test_not_root(void **state)
{
	const char *bin = getenv("VNETCONF") ? getenv("VNETCONF") : "tools/vnetconf";
	struct tree *t = *state;
	char errs[PATH_MAX];
	int status;
	pid_t pid;

	snprintf(errs, sizeof(errs), "%s/stderr", t->root);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int e = open(errs, O_WRONLY | O_CREAT | O_TRUNC, 0666);

		if (e < 0 || dup2(e, 2) < 0 || (geteuid() == 0 && setuid(65534)))
			_exit(126);
		execl(bin, bin, "dev", "bind", "0000:ff:1f.7", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 127)
		skip(); /* the build tree is not readable by nobody */
	assert_int_equal(WEXITSTATUS(status), 1);
	slurp(errs, t->errs, sizeof(t->errs));
	assert_string_equal(t->errs, "vnetconf: dev bind writes to sysfs and needs root\n");
}

/* ---- Grammar ---- */

static void test_grammar(void **state)
{
	struct tree *t = *state;

	assert_int_equal(run(t, NULL), 2);
	assert_non_null(strstr(t->errs, "usage: vnetconf [OPTIONS] OBJECT [COMMAND] [ARGS]"));
	assert_int_equal(run(t, "--help", NULL), 0);
	assert_non_null(strstr(t->out, "vnetconf dev unbind PCI"));
	assert_int_equal(run(t, "foo", NULL), 2);
	assert_string_equal(t->errs, "vnetconf: unknown object \"foo\" (see vnetconf --help)\n");
	assert_int_equal(run(t, "dev", NULL), 2);
	assert_string_equal(t->errs, "vnetconf: dev: which command? (see vnetconf dev help)\n");
	assert_int_equal(run(t, "dev", "frob", NULL), 2);
	assert_string_equal(t->errs, "vnetconf: unknown command \"dev frob\" (see vnetconf dev help)\n");
	assert_int_equal(run(t, "dev", "list", "extra", NULL), 2);
	assert_int_equal(run(t, "-x", "dev", "list", NULL), 2);
	/* "un" is unbind, not a prefix of anything else. */
	assert_int_equal(run(t, "dev", "un", NIC_B, NULL), 1);
	assert_non_null(strstr(t->errs, "is not bound to vfio-pci"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_noiommu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_no_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_no_sysfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_then_unbind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbind_other_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_not_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_write_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_already, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_no_vfio_pci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_shared_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_no_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grammar, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
