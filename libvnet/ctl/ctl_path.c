/* SPDX-License-Identifier: MIT */
/*
 * Run directory, device names and socket files of the control plane
 * (vnet/ctl.h). Shared by the server (ctl_server.c) and vnetconf.
 *
 * The run directory is trusted only when nobody but us can write it: a
 * socket file there is then ours or a dead process's of the same user, and
 * paths inside it cannot be swapped under us.
 */
#include "ctl/ctl_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

/* How many vnetN names an automatic choice tries. */
#define CTL_AUTO_NAMES 1024
#define CTL_BACKLOG 16

int vn_ctl_run_dir(char *buf, size_t len)
{
	const char *env = getenv("VNET_RUN_DIR"), *xdg;
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/vnet");
	else if ((xdg = getenv("XDG_RUNTIME_DIR")) && *xdg)
		n = snprintf(buf, len, "%s/vnet", xdg);
	else
		return vn_err(-ENOENT, "control: no run directory (not root, and neither VNET_RUN_DIR nor XDG_RUNTIME_DIR is set)");
	/* Room for "/NAME.sock" in a socket address. */
	if (n < 0 || (size_t)n >= len ||
	    (size_t)n + 1 + VN_CTL_NAME_MAX - 1 + strlen(VNET_CTL_SUFFIX) >= VN_CTL_PATH_MAX)
		return vn_err(-ENAMETOOLONG, "control: run directory \"%s\" is too long for a socket path",
			      env && *env ? env : "$XDG_RUNTIME_DIR/vnet");
	return 0;
}

int vn_ctl_dir_check(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vn_err(-errno, "control: cannot create run directory %s: %s", dir,
			      strerror(errno));
	/* lstat: a symlink (to a directory others control) is refused as such. */
	if (lstat(dir, &st) < 0)
		return vn_err(-errno, "control: run directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return vn_err(-EPERM, "control: run directory %s is not a directory", dir);
	if (st.st_uid != geteuid())
		return vn_err(-EPERM, "control: run directory %s belongs to uid %u, not to us (%u)", dir,
			      (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return vn_err(-EPERM, "control: run directory %s is writable by %s (mode %04o)", dir,
			      st.st_mode & S_IWOTH ? "others" : "its group",
			      (unsigned)(st.st_mode & 07777));
	return 0;
}

/* What is wrong with name, or NULL. */
static const char *name_problem(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= VN_CTL_NAME_MAX)
		return "want 1 to 15 characters";
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != len)
		return "only a-z, 0-9, '_', '.' and '-'";
	/* Not a number (vnetconf takes names and indexes alike), not "." or "..". */
	if (strchr("0123456789.-", name[0]))
		return "it must start with a letter or '_'";
	return NULL;
}

int vn_ctl_name_valid(const char *name)
{
	const char *why = name_problem(name);

	return why ? vn_err(-EINVAL, "control: name \"%s\": %s", name, why) : 0;
}

int vn_ctl_sock_path(const char *dir, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, name, VNET_CTL_SUFFIX);

	if (n < 0 || (size_t)n >= len || (size_t)n >= VN_CTL_PATH_MAX)
		return vn_err(-ENAMETOOLONG, "control: socket path %s/%s%s is too long", dir, name,
			      VNET_CTL_SUFFIX);
	return 0;
}

/* NAME of "NAME.sock", when valid, into out. */
static bool sock_name(const char *file, char *out)
{
	size_t len = strlen(file), sl = strlen(VNET_CTL_SUFFIX);

	if (len <= sl || len - sl >= VN_CTL_NAME_MAX || strcmp(file + len - sl, VNET_CTL_SUFFIX))
		return false;
	memcpy(out, file, len - sl);
	out[len - sl] = '\0';
	return !name_problem(out);
}

static int name_cmp(const void *a, const void *b)
{
	return strverscmp(a, b);
}

int vn_ctl_list(const char *dir, char (*names)[VN_CTL_NAME_MAX], unsigned max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return vn_err(-errno, "control: run directory %s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char name[VN_CTL_NAME_MAX];

		if (e->d_type != DT_SOCK && e->d_type != DT_UNKNOWN)
			continue;
		if (!sock_name(e->d_name, name))
			continue;
		if (n < max)
			strcpy(names[n], name);
		n++;
	}
	closedir(d);
	if (n && max)
		qsort(names, VN_MIN(n, max), sizeof(*names), name_cmp);
	return (int)VN_MIN(n, (unsigned)INT32_MAX);
}

static int sock_addr(const char *dir, const char *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	return vn_ctl_sock_path(dir, name, sa->sun_path, sizeof(sa->sun_path));
}

/* Connect to sa with flags (SOCK_NONBLOCK or 0): the fd or -errno, unrecorded. */
static int try_connect(const struct sockaddr_un *sa, int flags)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0), rc;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return fd;
	rc = -errno;
	close(fd);
	return rc;
}

int vn_ctl_connect(const char *dir, const char *name)
{
	struct sockaddr_un sa;
	int rc = sock_addr(dir, name, &sa);

	if (rc)
		return rc;
	rc = try_connect(&sa, 0);
	if (rc == -ECONNREFUSED)
		return vn_err(rc, "control: nobody serves %s (a stale socket)", sa.sun_path);
	if (rc < 0)
		return vn_err(rc, "control: %s: %s", sa.sun_path, strerror(-rc));
	return rc;
}

/*
 * Is the socket of sa free to bind (lock held)? 0: no file, or a stale one,
 * now removed; -EADDRINUSE: a server answers (or its backlog is full);
 * -EEXIST: a file that is not a socket.
 */
static int claim(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : vn_err(-errno, "control: %s: %s", sa->sun_path,
						    strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return vn_err(-EEXIST, "control: %s exists and is not a socket", sa->sun_path);
	/* Non-blocking, so that a server's full backlog cannot stall us. */
	fd = try_connect(sa, SOCK_NONBLOCK);
	if (fd >= 0 || fd == -EAGAIN) {
		if (fd >= 0)
			close(fd);
		return -EADDRINUSE;
	}
	if (fd != -ECONNREFUSED)
		return vn_err(fd, "control: probing %s: %s", sa->sun_path, strerror(-fd));
	vn_debug("control: removing the stale socket %s", sa->sun_path);
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return vn_err(-errno, "control: cannot remove stale socket %s: %s", sa->sun_path,
			      strerror(errno));
	return 0;
}

/* Bind and listen on sa (lock held), and note which file it is in b. */
static int bind_listen(const struct sockaddr_un *sa, const char *name, struct vn_ctl_bound *b)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc;
	struct stat st;

	if (fd < 0)
		return vn_err(-errno, "control: socket: %s", strerror(errno));
	/* Linux creates the socket file with the socket inode's mode (less
	 * the umask): set it before bind(), so the file is never wider than
	 * 0600, then check what the file got. */
	if (fchmod(fd, 0600) < 0 || bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		rc = vn_err(-errno, "control: bind %s: %s", sa->sun_path, strerror(errno));
		close(fd);
		return rc;
	}
	if (chmod(sa->sun_path, 0600) < 0 || lstat(sa->sun_path, &st) < 0 ||
	    listen(fd, CTL_BACKLOG) < 0) {
		rc = vn_err(-errno, "control: listen on %s: %s", sa->sun_path, strerror(errno));
		unlink(sa->sun_path);
		close(fd);
		return rc;
	}
	strcpy(b->name, name);
	strcpy(b->path, sa->sun_path);
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	return fd;
}

/* Bind name, or the lowest free vnetN (lock held). */
static int pick(const char *dir, const char *name, struct vn_ctl_bound *b)
{
	struct sockaddr_un sa;
	char auto_name[VN_CTL_NAME_MAX];
	int rc;

	if (name) {
		rc = sock_addr(dir, name, &sa);
		if (!rc)
			rc = claim(&sa);
		if (rc == -EADDRINUSE)
			return vn_err(rc, "control: the name %s is in use by a running device (%s)",
				      name, sa.sun_path);
		return rc ? rc : bind_listen(&sa, name, b);
	}
	for (unsigned i = 0; i < CTL_AUTO_NAMES; i++) {
		snprintf(auto_name, sizeof(auto_name), "vnet%u", i);
		rc = sock_addr(dir, auto_name, &sa);
		if (!rc)
			rc = claim(&sa);
		if (rc == -EADDRINUSE || rc == -EEXIST)
			continue;
		return rc ? rc : bind_listen(&sa, auto_name, b);
	}
	return vn_err(-EADDRINUSE, "control: vnet0 .. vnet%d are all in use in %s",
		      CTL_AUTO_NAMES - 1, dir);
}

int vn_ctl_listen(const char *dir, const char *name, struct vn_ctl_bound *b)
{
	char lock[VN_CTL_PATH_MAX + 8];
	int lfd, fd;

	if (name && (fd = vn_ctl_name_valid(name)))
		return fd;
	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0)
		return vn_err(-errno, "control: %s: %s", lock, strerror(errno));
	/* flock(2): processes choosing names at once take turns. */
	if (flock(lfd, LOCK_EX) < 0) {
		fd = vn_err(-errno, "control: flock %s: %s", lock, strerror(errno));
		close(lfd);
		return fd;
	}
	fd = pick(dir, name, b);
	close(lfd); /* releases the lock */
	return fd;
}

void vn_ctl_unlink(const struct vn_ctl_bound *b)
{
	struct stat st;

	if (lstat(b->path, &st) < 0 || st.st_dev != b->dev || st.st_ino != b->ino)
		return;
	if (unlink(b->path) < 0)
		vn_debug("control: unlink %s: %s", b->path, strerror(errno));
}
