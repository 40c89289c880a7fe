/* SPDX-License-Identifier: MIT */
/*
 * vnetconf monitor [DEV]: subscribe to every running device (or DEV) and
 * print each event as it arrives, one line each, with a timestamp like
 * `ip -ts monitor`. A device that goes away is printed ("gone") and the
 * others are watched on. Without DEV, the run directory is watched too
 * (inotify): a device that starts later is subscribed to and printed
 * ("new"), and monitor runs until SIGINT or SIGTERM (exit 0); with DEV it
 * ends (exit 0) when that device goes.
 *
 * A socket file appears at the server's bind(), a moment before its
 * listen(): a new name that refuses the connection is tried again every
 * NEW_RETRY_MS for NEW_TRIES times before it is taken for a stale file.
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
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "ctl_client.h"
#include "json.h"
#include "log.h"
#include "vnet/vnet.h"
#include "vnetconf.h"

#define MAX_WATCH 256
#define NEW_RETRY_MS 50
#define NEW_TRIES 40 /* 2 s */

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

/* One line: an event (ev), or what (ev NULL): "new", "gone". */
static void print_line(const struct ctx *c, const char *name, const struct ctl_event *ev,
		       const char *what)
{
	char ts[40], clean_name[CTL_NAME_LEN], num[16];
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
	print_line(arg, ev->name, ev, NULL);
}

/* What monitor watches. */
struct watch {
	struct ctl_conn w[MAX_WATCH];
	unsigned live;
	int ino;                         /* the run directory's inotify fd; -1: DEV given */
	struct {
		char name[VN_CTL_NAME_MAX];
		unsigned tries;
	} pending[MAX_WATCH];            /* new socket files not answering yet */
	unsigned n_pending;
};

static bool watched(const struct watch *m, const char *name)
{
	for (unsigned i = 0; i < m->live; i++)
		if (!strcmp(m->w[i].name, name))
			return true;
	return false;
}

/* Connect and subscribe: 0, -ENODEV (nothing serves it), or another
 * failure, reported. */
static int add(const struct ctx *c, struct watch *m, const char *name, bool by_name,
	       bool announce, int *rc)
{
	struct ctl_conn *w = &m->w[m->live];
	int r;

	if (m->live == MAX_WATCH || watched(m, name))
		return 0;
	r = by_name ? ctl_open(w, name) : ctl_connect(w, name);
	if (r == -ENODEV && !by_name) {
		ctl_close(w);
		return r;
	}
	if (r == 0)
		r = ctl_subscribe(w);
	if (r) {
		err("monitor: %s", ctl_why());
		ctl_close(w);
		*rc = EXIT_FAILED;
		return r;
	}
	m->live++;
	if (announce)
		print_line(c, name, NULL, "new");
	return 0;
}

/* Subscribe to the devices running now (or to dev). */
static void subscribe_all(const struct ctx *c, const char *dev, struct watch *m, int *rc)
{
	static char names[MAX_WATCH][VN_CTL_NAME_MAX];
	int n;

	if (dev) {
		add(c, m, dev, true, false, rc);
		return;
	}
	n = ctl_list(names, MAX_WATCH);
	if (n < 0) {
		err("monitor: %s", ctl_why());
		*rc = EXIT_FAILED;
		return;
	}
	for (int i = 0; i < n && i < MAX_WATCH; i++)
		add(c, m, names[i], false, false, rc); /* -ENODEV: a stale socket */
}

/* Watch the run directory for socket files created or moved in. */
static int watch_dir(struct watch *m)
{
	char dir[PATH_MAX];
	int r = ctl_run_dir(dir, sizeof(dir));

	if (r) {
		err("monitor: %s", ctl_why());
		return r;
	}
	m->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->ino < 0 || inotify_add_watch(m->ino, dir, IN_CREATE | IN_MOVED_TO) < 0) {
		r = -errno;
		if (r == -ENOENT)
			err("monitor: no libvnet device is running (there is no run directory %s)", dir);
		else
			err("monitor: cannot watch %s: %s", dir, strerror(-r));
		return r;
	}
	return 0;
}

/* "NAME.sock" with a valid NAME into name. */
static bool sock_name(const char *file, char name[VN_CTL_NAME_MAX])
{
	size_t len = strlen(file), sl = strlen(VNET_CTL_SUFFIX);

	if (len <= sl || len - sl >= VN_CTL_NAME_MAX || strcmp(file + len - sl, VNET_CTL_SUFFIX))
		return false;
	snprintf(name, VN_CTL_NAME_MAX, "%.*s", (int)(len - sl), file);
	return ctl_valid_name(name);
}

/* Socket files that appeared: queued, tried at once and then again. */
static void read_dir_events(struct watch *m)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(m->ino, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			char name[VN_CTL_NAME_MAX];

			p += sizeof(*e) + e->len;
			if (!e->len || !sock_name(e->name, name) || m->n_pending == MAX_WATCH)
				continue;
			snprintf(m->pending[m->n_pending].name, VN_CTL_NAME_MAX, "%s", name);
			m->pending[m->n_pending++].tries = 0;
		}
	}
}

/* Try the pending names once; those that still refuse stay, for a while. */
static void try_pending(const struct ctx *c, struct watch *m, int *rc)
{
	for (unsigned i = 0; i < m->n_pending;) {
		int r = add(c, m, m->pending[i].name, false, true, rc);

		if (r == -ENODEV && ++m->pending[i].tries < NEW_TRIES) {
			i++;
			continue;
		}
		m->pending[i] = m->pending[--m->n_pending];
	}
}

int monitor(const struct ctx *c, int argc, char **argv)
{
	static struct watch m;
	struct pollfd p[MAX_WATCH + 1];
	struct sigaction sa = { .sa_handler = on_signal };
	const struct timespec retry = { 0, NEW_RETRY_MS * 1000000L };
	sigset_t block, waitmask;
	char dir[PATH_MAX] = "";
	int rc = EXIT_OK;

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

	memset(&m, 0, sizeof(m));
	m.ino = -1;
	/* The watch first, then the listing: a device starting in between is
	 * seen by one of them (add() skips it the second time). */
	if (!argc && watch_dir(&m))
		return EXIT_FAILED;
	subscribe_all(c, argc ? argv[0] : NULL, &m, &rc);
	if (argc && !m.live)
		return EXIT_FAILED;
	if (!argc && !m.live && rc == EXIT_OK) {
		ctl_run_dir(dir, sizeof(dir));
		err("monitor: no libvnet device is running yet (watching %s for new ones)", dir);
	}
	while (!stopping && (m.live || m.ino >= 0)) {
		nfds_t np = 0;
		int n;

		for (unsigned i = 0; i < m.live; i++)
			p[np++] = (struct pollfd){ .fd = m.w[i].fd, .events = POLLIN };
		if (m.ino >= 0)
			p[np++] = (struct pollfd){ .fd = m.ino, .events = POLLIN };
		n = ppoll(p, np, m.n_pending ? &retry : NULL, &waitmask);
		if (n < 0 && errno != EINTR) {
			err("monitor: poll: %s", strerror(errno));
			rc = EXIT_FAILED;
			break;
		}
		/* Connections first (p[i] is m.w[i] until one is removed). */
		for (unsigned i = 0, k = 0; n > 0 && k < np - (m.ino >= 0); k++) {
			int r;

			if (!p[k].revents) {
				i++;
				continue;
			}
			/* Everything that waits, then whether the server hung up. */
			while ((r = ctl_read_events(&m.w[i], on_event, (void *)c)) > 0)
				;
			if (r == 0) {
				i++;
				continue;
			}
			/* Gone (or talking nonsense): say so, watch the others. */
			if (r != -ECONNRESET)
				err("monitor: %s", ctl_why());
			print_line(c, m.w[i].name, NULL, "gone");
			ctl_close(&m.w[i]);
			memmove(&m.w[i], &m.w[i + 1], (m.live - i - 1) * sizeof(m.w[0]));
			m.live--;
		}
		if (m.ino >= 0 && n > 0 && p[np - 1].revents)
			read_dir_events(&m);
		try_pending(c, &m, &rc);
	}
	for (unsigned i = 0; i < m.live; i++)
		ctl_close(&m.w[i]);
	if (m.ino >= 0)
		close(m.ino);
	return rc;
}
