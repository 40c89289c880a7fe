/* SPDX-License-Identifier: MIT */
/*
 * vnetconf monitor [DEV]: subscribe to every running device (or DEV) and
 * print each event as it arrives, one line each, with a timestamp like
 * `ip -ts monitor`. A device that goes away is printed ("gone") and the
 * others are watched on; monitor ends when none is left (exit 0), or on
 * SIGINT or SIGTERM (exit 0). Devices started later are not picked up.
 *
 * SIGINT and SIGTERM stay blocked except inside ppoll(), so a signal can
 * only end the wait, never a write half-way through a line.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_client.h"
#include "json.h"
#include "log.h"
#include "vnet/vnet.h"
#include "vnetconf.h"

#define MAX_WATCH 256

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static const char *const event_names[] = {
	[VNET_EV_LINK_UP] = "link_up", [VNET_EV_LINK_DOWN] = "link_down",
	[VNET_EV_NEEDS_RESET] = "needs_reset", [VNET_EV_SETTINGS] = "settings",
	[VNET_EV_CONFIG] = "config", [VNET_EV_RESET_DONE] = "reset_done",
};

/* 2026-12-03T13:40:05.123456 (UTC). */
static void timestamp(char *buf, size_t sz)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sz - n, ".%06ldZ", ts.tv_nsec / 1000);
}

/* One line: an event (ev) or a device going away (ev NULL). */
static void print_line(const struct ctx *c, const char *name, const struct ctl_event *ev)
{
	char ts[40], clean_name[CTL_NAME_LEN], num[16];
	const char *what = "gone";
	struct json j;

	timestamp(ts, sizeof(ts));
	if (ev && ev->type < VN_ARRAY_SIZE(event_names) && event_names[ev->type]) {
		what = event_names[ev->type];
	} else if (ev) {
		snprintf(num, sizeof(num), "event_%u", ev->type);
		what = num;
	}
	if (c->json) {
		json_init(&j, stdout, false); /* one object per line, even with -p */
		json_obj_open(&j);
		json_kstr(&j, "time", ts);
		json_kstr(&j, "name", name);
		json_kstr(&j, "event", what);
		if (ev && ev->oper_up >= 0)
			json_kbool(&j, "oper_up", ev->oper_up);
		if (ev && ev->admin_up >= 0)
			json_kbool(&j, "admin_up", ev->admin_up);
		json_obj_close(&j);
		json_end(&j);
	} else {
		snprintf(clean_name, sizeof(clean_name), "%s", name);
		for (char *s = clean_name; *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				*s = '?';
		printf("[%s] %s: %s", ts, clean_name, what);
		if (ev && ev->oper_up >= 0)
			printf(" link %s", ev->oper_up ? "up" : "down");
		if (ev && ev->admin_up >= 0)
			printf(" admin %s", ev->admin_up ? "up" : "down");
		printf("\n");
	}
	fflush(stdout);
}

static void on_event(const struct ctl_event *ev, void *arg)
{
	print_line(arg, ev->name, ev);
}

/* Connect to and subscribe to the devices; how many are watched. */
static int subscribe_all(const char *dev, struct ctl_conn *w, int *rc)
{
	static char names[MAX_WATCH][VN_CTL_NAME_MAX];
	int n = 1, live = 0;

	if (dev) {
		snprintf(names[0], VN_CTL_NAME_MAX, "%s", dev);
	} else if ((n = ctl_list(names, MAX_WATCH)) < 0) {
		err("monitor: %s", ctl_why());
		*rc = EXIT_FAILED;
		return 0;
	}
	for (int i = 0; i < n; i++) {
		int r = dev ? ctl_open(&w[live], dev) : ctl_connect(&w[live], names[i]);

		if (r == -ENODEV && !dev)
			continue; /* a stale socket */
		if (r == 0)
			r = ctl_subscribe(&w[live]);
		if (r == 0) {
			live++;
			continue;
		}
		err("monitor: %s", ctl_why());
		ctl_close(&w[live]);
		*rc = EXIT_FAILED;
	}
	return live;
}

int monitor(const struct ctx *c, int argc, char **argv)
{
	static struct ctl_conn w[MAX_WATCH];
	struct pollfd p[MAX_WATCH];
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waitmask;
	char dir[PATH_MAX] = "";
	int rc = EXIT_OK, live;

	if (argc > 1) {
		err("usage: vnetconf monitor [DEV]");
		return EXIT_USAGE;
	}
	if (argc == 1 && !ctl_valid_name(argv[0])) {
		err("monitor: %s", vn_err_msg());
		return EXIT_USAGE;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	live = subscribe_all(argc ? argv[0] : NULL, w, &rc);
	if (!live) {
		if (rc == EXIT_OK) {
			ctl_run_dir(dir, sizeof(dir));
			err("monitor: no libvnet device is running (run directory %s has no live "
			    "socket)", dir);
		}
		return EXIT_FAILED;
	}
	for (int i = 0; i < live; i++)
		p[i] = (struct pollfd){ .fd = w[i].fd, .events = POLLIN };
	while (!stopping && live) {
		int n = ppoll(p, (nfds_t)live, NULL, &waitmask);

		if (n < 0 && errno != EINTR) {
			err("monitor: poll: %s", strerror(errno));
			rc = EXIT_FAILED;
			break;
		}
		for (int i = 0; n > 0 && i < live; i++) {
			int r;

			if (!p[i].revents)
				continue;
			/* Everything that waits, then whether the server hung up. */
			while ((r = ctl_read_events(&w[i], on_event, (void *)c)) > 0)
				;
			if (r == 0)
				continue;
			/* Gone (or talking nonsense): say so, watch the others. */
			if (r != -ECONNRESET)
				err("monitor: %s", ctl_why());
			print_line(c, w[i].name, NULL);
			ctl_close(&w[i]);
			w[i] = w[live - 1];
			p[i] = p[live - 1];
			live--;
			i--;
		}
	}
	for (int i = 0; i < live; i++)
		ctl_close(&w[i]);
	return rc;
}
