/* SPDX-License-Identifier: MIT */
/*
 * A vfio-user server that goes away in the middle of vnet_dev_open(): the
 * application connects to a socket path served by a relay thread, which
 * passes messages (and their fds) on to a simulated device and hangs up
 * when the client sends the command under test. The open must fail with
 * the first cause (the hang-up, named with that command), not with what
 * the cleanup after it ran into on the dead connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "iommu/vfio_user_proto.h"
#include "sim/sim_dev.h"
#include "sim/sim_host.h"
#include "vnet/vnet.h"

static char dir[] = "/tmp/vnet-cut-XXXXXX", path[64];

struct relay {
	int listen_fd;
	int dev_fd;     /* to the simulated device */
	uint16_t cut;   /* hang up when the client sends this command */
	bool cut_done;  /* the client did send it */
	pthread_t thread;
};

/* One message from one socket to the other, with its fds; 1: it was
 * command cut, not passed on. */
static int pass(int from, int to, uint8_t *buf, uint16_t cut)
{
	struct vfio_user_fds fds;
	struct vfio_user_hdr h;
	int n = vfio_user_recv(from, buf, VFIO_USER_MAX_MSG, &fds, 5000);

	if (n < 0)
		return n;
	memcpy(&h, buf, sizeof(h));
	if (h.cmd == cut && (h.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_COMMAND)
		n = 1;
	else
		n = vfio_user_send(to, buf, (size_t)n, fds.fd, fds.n, 5000);
	vfio_user_fds_close(&fds, 0);
	return n;
}

static void *relay_main(void *arg)
{
	struct relay *rl = arg;
	uint8_t *buf = malloc(VFIO_USER_MAX_MSG);
	int cl = accept4(rl->listen_fd, NULL, NULL, SOCK_CLOEXEC), r = -1;

	/* Request from the client, reply from the device, until the cut. */
	while (buf && cl >= 0 && (r = pass(cl, rl->dev_fd, buf, rl->cut)) == 0 &&
	       pass(rl->dev_fd, cl, buf, 0) == 0)
		;
	rl->cut_done = r == 1;
	if (cl >= 0)
		close(cl);
	close(rl->dev_fd);
	free(buf);
	return NULL;
}

static void test_cut(void **state)
{
	/* errno: the hang-up itself. exact: the message is the hang-up's
	 * alone; after a cut at SET_IRQS, the interrupt setup's next request
	 * finds the connection failed and names that first cause. */
	static const struct {
		uint16_t cmd;
		const char *stage;
		int err;
		bool exact;
	} cases[] = {
		{ VFIO_USER_DEVICE_GET_INFO, "device access", ECONNRESET, true },
		{ VFIO_USER_REGION_READ, "virtio-pci capabilities", ECONNRESET, true },
		{ VFIO_USER_DMA_MAP, "virtio-net rings", ECONNRESET, true },
		{ VFIO_USER_DEVICE_SET_IRQS, "interrupts", ECONNRESET, false },
	};
	char uri[80];
	int before = count_fds();

	(void)state;
	snprintf(uri, sizeof(uri), "vfio-user:%s", path);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct relay rl = { .cut = cases[i].cmd };
		struct sim_params p;
		struct sim_host *h;
		struct vnet_dev *dev = NULL;
		char want[64];
		int sv[2];

		sim_params_default(&p);
		assert_int_equal(sim_params_check(&p), 0);
		assert_int_equal(sim_host_new(&p, &h), 0);
		assert_int_equal(sim_host_start(h), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		assert_int_equal(sim_host_attach(h, 0, sv[0]), 0);
		rl.dev_fd = sv[1];
		rl.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		strcpy(sa.sun_path, path);
		assert_int_equal(bind(rl.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(rl.listen_fd, 1), 0);
		assert_int_equal(pthread_create(&rl.thread, NULL, relay_main, &rl), 0);

		assert_int_equal(vnet_dev_open(uri, NULL, &dev), -1);
		assert_null(dev);
		pthread_join(rl.thread, NULL);
		assert_true(rl.cut_done);
		/* The hang-up, as the request that met it saw it, whatever the
		 * cleanup afterwards ran into. */
		snprintf(want, sizeof(want), "closed the connection (during %s)",
			 vfio_user_cmd_name(cases[i].cmd));
		print_message("cut at %s (%s): %s\n", vfio_user_cmd_name(cases[i].cmd),
			      cases[i].stage, vnet_last_error());
		assert_non_null(strstr(vnet_last_error(), want));
		assert_int_equal(errno, cases[i].err);
		/* A failure the open stopped at is reported as it was, not as
		 * the teardown's reset or unmap over the dead connection. */
		if (cases[i].exact) {
			char exact[96];

			snprintf(exact, sizeof(exact), "vfio-user: peer closed the connection %s",
				 strstr(want, "(during"));
			assert_string_equal(vnet_last_error(), exact);
		}

		close(rl.listen_fd);
		unlink(path);
		sim_host_free(h);
		assert_int_equal(count_fds(), before);
	}
}

/* The socket's directory, removed even when a test fails. */
static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
