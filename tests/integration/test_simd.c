/* SPDX-License-Identifier: MIT */
/*
 * vnet-simd's sockets (issue 13): only filesystem paths (empty and '@'
 * names are usage errors), created with mode 0600, a file that is not a
 * socket left alone, and clients of another uid closed at once even when
 * the socket's mode would let them in; frames through the served device
 * over split and packed rings. Runs the built tools/vnet-simd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "vnet/vnet.h"

#define SIMD "tools/vnet-simd" /* make check runs tests in the top build directory */

static char dir[] = "/tmp/vnet-simd-test-XXXXXX";
static char sock_path[96], log_path[96];
static pid_t running; /* the daemon a failed test may have left, or 0 */

/* Start vnet-simd --socket path --mode loopback, output to log_path. */
static pid_t simd_start(const char *path)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		/* it goes when the test goes, whatever happens to the test */
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    prctl(PR_SET_PDEATHSIG, SIGTERM))
			_exit(126);
		execl(SIMD, SIMD, "--socket", path, "--mode", "loopback", (char *)NULL);
		_exit(127);
	}
	running = pid;
	return pid;
}

/* Exit status of pid, which must end within 5 s. */
static int simd_wait(pid_t pid)
{
	int status = 0;

	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		assert_true(r >= 0);
		if (r == pid) {
			running = 0;
			assert_true(WIFEXITED(status));
			return WEXITSTATUS(status);
		}
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	running = 0;
	fail_msg("vnet-simd did not exit");
	return -1;
}

/* Wait until vnet-simd says it serves the device (it listens by then). */
static void simd_ready(void)
{
	char buf[512];

	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(log_path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, "loopback device 0 on"))
			return;
		usleep(10000);
	}
	fail_msg("vnet-simd did not start: %s", buf);
}

static bool log_has(const char *s)
{
	char buf[2048];
	FILE *f = fopen(log_path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static int setup(void **state)
{
	(void)state;
	if (access(SIMD, X_OK)) {
		print_message("%s not found (run from the build directory)\n", SIMD);
		return -1;
	}
	assert_non_null(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/dev.sock", dir);
	snprintf(log_path, sizeof(log_path), "%s/simd.log", dir);
	return 0;
}

/* After each test: no daemon left running, even when the test failed. */
static int reap(void **state)
{
	(void)state;
	if (running) {
		kill(running, SIGKILL);
		waitpid(running, NULL, 0);
		running = 0;
	}
	chmod(dir, 0700);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	unlink(log_path);
	rmdir(dir);
	return 0;
}

static void test_abstract_names_refused(void **state)
{
	static const char *const names[] = { "", "@vnet", "@" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(simd_wait(simd_start(names[i])), 2);
		assert_true(log_has("need a filesystem path (empty and abstract '@' names are refused)"));
	}
}

/* Mode 0600 from the start, a client of ours is served, and the file is
 * removed at exit. */
static void test_mode_0600(void **state)
{
	struct vnet_dev *dev = NULL;
	struct stat st;
	char uri[128];
	pid_t pid;

	(void)state;
	pid = simd_start(sock_path);
	simd_ready();
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	snprintf(uri, sizeof(uri), "vfio-user:%s", sock_path);
	if (vnet_dev_open(uri, NULL, &dev))
		fail_msg("open %s: %s", uri, vnet_last_error());
	vnet_dev_close(dev);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(simd_wait(pid), 0);
	assert_int_equal(lstat(sock_path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* Whatever is at the path and is not a stale socket stays as it was. */
static void test_file_not_replaced(void **state)
{
	char buf[8] = { 0 };
	int fd;

	(void)state;
	fd = open(sock_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(simd_wait(simd_start(sock_path)), 1);
	assert_true(log_has("exists and is not a stale socket"));
	fd = open(sock_path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "keep");
	close(fd);
	assert_int_equal(unlink(sock_path), 0);
}

/* As uid 65534: 0 if the server closed the connection without a word. */
static int child_other_uid(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd pfd = { .events = POLLIN };
	char c;

	if (setgid(65534) || setuid(65534))
		return 2;
	strcpy(sa.sun_path, sock_path);
	pfd.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pfd.fd < 0 || connect(pfd.fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 3;
	/* vnet-simd speaks only when spoken to: anything readable is the close */
	if (poll(&pfd, 1, 5000) != 1)
		return 4;
	return read(pfd.fd, &c, 1) == 0 ? 0 : 5;
}

static void test_other_uid_refused(void **state)
{
	struct vnet_dev *dev = NULL;
	char uri[128];
	int status;
	pid_t pid, child;

	(void)state;
	if (geteuid() != 0)
		skip(); /* needs root to become another uid */
	pid = simd_start(sock_path);
	simd_ready();
	/* Let uid 65534 reach the socket: only SO_PEERCRED stands in its way. */
	assert_int_equal(chmod(dir, 0711), 0);
	assert_int_equal(chmod(sock_path, 0666), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(child_other_uid());
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(log_has("refusing a client of uid 65534"));
	/* and the device still serves its owner */
	snprintf(uri, sizeof(uri), "vfio-user:%s", sock_path);
	if (vnet_dev_open(uri, NULL, &dev))
		fail_msg("open %s: %s", uri, vnet_last_error());
	vnet_dev_close(dev);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(simd_wait(pid), 0);
}

/* count frames looped back by the served device, bytes and order checked. */
static void loop_frames(struct vnet_queue *q, unsigned count)
{
	unsigned sent = 0, got = 0, spins = 0;
	struct vnet_buf b[32];

	while (got < count) {
		int n = vnet_tx_reserve(q, b, count - sent < 32 ? count - sent : 32), r;

		assert_true(n >= 0);
		for (int k = 0; k < n; k++) {
			b[k].len = 60 + (sent + (unsigned)k) % 1000;
			for (uint32_t i = 0; i < b[k].len; i++)
				((uint8_t *)b[k].data)[i] = (uint8_t)(sent + (unsigned)k + i);
		}
		assert_int_equal(vnet_tx_submit(q, b, (unsigned)n), n);
		sent += (unsigned)n;
		r = vnet_rx_peek(q, b, 32);
		assert_true(r >= 0);
		for (int k = 0; k < r; k++, got++) {
			assert_int_equal(b[k].len, 60 + got % 1000);
			for (uint32_t i = 0; i < b[k].len; i++)
				assert_int_equal(((uint8_t *)b[k].data)[i], (uint8_t)(got + i));
		}
		if (r)
			assert_int_equal(vnet_rx_release(q, b, (unsigned)r), 0);
		assert_true(++spins < 10000000);
	}
}

/* The vfio-user server's device (the sim's model) over both ring layouts. */
static void test_rings(void **state)
{
	static const char *const rings[] = { "split", "packed" };
	pid_t pid;

	(void)state;
	unlink(log_path); /* the last test's "device 0 on" must not pass for ours */
	pid = simd_start(sock_path);
	simd_ready();
	for (size_t i = 0; i < 2; i++) {
		struct vnet_dev_info info = { .sz = sizeof(info) };
		struct vnet_dev *dev = NULL;
		char uri[160];

		snprintf(uri, sizeof(uri), "vfio-user:%s?ring=%s", sock_path, rings[i]);
		if (vnet_dev_open(uri, NULL, &dev))
			fail_msg("open %s: %s", uri, vnet_last_error());
		assert_int_equal(vnet_dev_info(dev, &info), 0);
		assert_int_equal(!!(info.features & (1ull << VIRTIO_F_RING_PACKED)), i == 1);
		loop_frames(vnet_dev_queue(dev, 0), 2000);
		vnet_dev_close(dev);
	}
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(simd_wait(pid), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_abstract_names_refused, reap),
		cmocka_unit_test_teardown(test_mode_0600, reap),
		cmocka_unit_test_teardown(test_file_not_replaced, reap),
		cmocka_unit_test_teardown(test_other_uid_refused, reap),
		cmocka_unit_test_teardown(test_rings, reap),
	};

	if (geteuid() != 0)
		print_message("not root: test_other_uid_refused is skipped (it becomes uid 65534)\n");
	return cmocka_run_group_tests(tests, setup, teardown);
}
