/* SPDX-License-Identifier: MIT */
/*
 * vnet-simd: the simulated virtio-net device as its own process, served over
 * vfio-user on a Unix socket (one per device; two for pair mode). See
 * vnet-simd(8).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sim/sim_dev.h"
#include "sim/sim_host.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vnet-simd --socket PATH --mode loopback|pair|tap:IFNAME|sink|source\n"
		"                 [--socket PATH2 (pair)] [--mac XX:XX:XX:XX:XX:XX] [--queues N]\n"
		"                 [--qsize N] [--mtu N] [--size N] [--fault NAME[@N]]\n"
		"                 [--irq msix|intx] [--vectors N] [--notify_data on|off]\n"
		"                 [--rss on|off] [--coalesce on|off] [--dev_offload on|off]\n"
		"                 [--mem BYTES] [--rxfull wait|drop]\n"
		"See vnet-simd(8).\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "vnet-simd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

/* A listening socket at path, owner-only (mode 0600 before listen(), and
 * the device thread checks each client's SO_PEERCRED, sim_host.c). A stale
 * socket file nobody listens on is replaced; anything else at path is an
 * error and stays. */
static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, probe, err;
	bool bound;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vnet-simd: socket path %s is too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		err = S_ISSOCK(st.st_mode) && probe >= 0 &&
		      connect(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		      errno == ECONNREFUSED ? 0 : -1;
		if (probe >= 0)
			close(probe);
		if (err) {
			fprintf(stderr, "vnet-simd: %s exists and is not a stale socket\n", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("vnet-simd: socket");
		return -1;
	}
	old = umask(0177); /* 0600 from the start: no window with wider rights */
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	/* A default ACL on the directory overrides the umask (acl(5)): set the
	 * mode explicitly too. Nobody can connect before listen(). */
	bound = err == 0;
	if (!bound || chmod(path, 0600) || listen(fd, 4)) {
		fprintf(stderr, "vnet-simd: %s: %s\n", path, strerror(errno));
		if (bound)
			unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

static void print_stats(struct sim_host *h, const char *const *paths)
{
#define COL(f) { #f, offsetof(struct vn_sim_qp_stats, f) }
	static const struct { const char *name; size_t off; } cols[] = {
		COL(tx_frames), COL(tx_bytes), COL(tx_dropped), COL(tx_bad), COL(rx_frames),
		COL(rx_bytes), COL(rx_dropped_no_buffer), COL(rx_filtered), COL(kicks), COL(irqs),
	};
#undef COL
	struct vn_sim_stats st;
	uint64_t frames = 0, cpu = 0;
	unsigned e, q, i;

	for (e = 0; e < sim_host_ends(h); e++) {
		sim_host_stats(h, e, &st);
		printf("device %u (%s):\n", e, paths[e]);
		for (q = 0; q < st.n_pairs; q++) {
			for (i = 0; i < VN_ARRAY_SIZE(cols); i++) {
				uint64_t v;

				memcpy(&v, (const char *)&st.qp[q] + cols[i].off, sizeof(v));
				printf("  queue%u_%s: %" PRIu64 "\n", q, cols[i].name, v);
			}
			frames += st.qp[q].tx_frames + st.qp[q].rx_frames;
		}
		printf("  ctrl_ok: %" PRIu64 "\n  ctrl_err: %" PRIu64 "\n  bad_desc: %" PRIu64
		       "\n  faults: %" PRIu64 "\n  intx: %" PRIu64 "\n", st.ctrl_ok, st.ctrl_err,
		       st.bad_desc, st.faults, st.intx);
		cpu = st.cpu_ns; /* one thread serves every end */
	}
	printf("device thread CPU: %.3f ms, %.1f ns per frame (tx_frames + rx_frames = %" PRIu64 ")\n",
	       (double)cpu / 1e6, frames ? (double)cpu / (double)frames : 0.0, frames);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "mode", required_argument, NULL, 'm' },
		{ "mac", required_argument, NULL, 'a' },    { "queues", required_argument, NULL, 'q' },
		{ "qsize", required_argument, NULL, 'z' },  { "mtu", required_argument, NULL, 'u' },
		{ "size", required_argument, NULL, 'n' },   { "fault", required_argument, NULL, 'f' },
		{ "irq", required_argument, NULL, 'i' },    { "vectors", required_argument, NULL, 'v' },
		{ "notify_data", required_argument, NULL, 'd' },
		{ "rss", required_argument, NULL, 'r' },    { "coalesce", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'M' },    { "rxfull", required_argument, NULL, 'R' },
		{ "dev_offload", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	const char *paths[2] = { NULL, NULL }, *mode = NULL, *colon;
	int lfd[2] = { -1, -1 }, c, idx, sfd, rc = 1;
	unsigned n_paths = 0, e;
	struct signalfd_siginfo si;
	struct sim_params p;
	struct sim_host *h = NULL;
	char modebuf[32];
	sigset_t sigs;

	sim_params_default(&p);
	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		switch (c) {
		case 's':
			if (n_paths == 2)
				return usage_error("at most two --socket (%s)", optarg);
			/* An empty name binds an abstract socket, and '@' names one for
			 * many tools: abstract sockets have no file mode, so any local
			 * user could connect. Only filesystem paths are served. */
			if (!optarg[0] || optarg[0] == '@')
				return usage_error("--socket '%s': need a filesystem path "
						   "(empty and abstract '@' names are refused)", optarg);
			paths[n_paths++] = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case '?':
			usage(stderr);
			return 2;
		default:
			if (sim_params_set(&p, opts[idx].name, optarg))
				return usage_error("%s", vn_err_msg());
			break;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!mode)
		return usage_error("%s", "--mode is required");
	/* tap:IFNAME on the command line, tap=IFNAME in URIs */
	colon = strchr(mode, ':');
	snprintf(modebuf, sizeof(modebuf), "%.*s", colon ? (int)(colon - mode) : (int)strlen(mode),
		 mode);
	if (sim_params_mode(&p, modebuf, colon ? colon + 1 : ""))
		return usage_error("%s", vn_err_msg());
	if (colon && p.mode != SIM_TAP)
		return usage_error("mode %s takes no ':' argument", modebuf);
	if (sim_params_check(&p))
		return usage_error("%s", vn_err_msg());
	if (n_paths != (p.mode == SIM_PAIR ? 2u : 1u))
		return usage_error("%s", p.mode == SIM_PAIR ? "pair mode needs two --socket"
							     : "exactly one --socket is needed");

	/* Signals are read from a signalfd; the device thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("vnet-simd: signalfd");
		return 1;
	}
	if (sim_host_new(&p, &h)) {
		fprintf(stderr, "vnet-simd: %s\n", vn_err_msg());
		goto out;
	}
	for (e = 0; e < n_paths; e++) {
		lfd[e] = listen_at(paths[e]);
		if (lfd[e] < 0 || sim_host_listen(h, e, lfd[e]))
			goto out;
	}
	if (sim_host_start(h)) {
		fprintf(stderr, "vnet-simd: %s\n", vn_err_msg());
		goto out;
	}
	for (e = 0; e < n_paths; e++)
		printf("vnet-simd: %s device %u on %s\n", mode, e, paths[e]);
	fflush(stdout);
	while (read(sfd, &si, sizeof(si)) < 0 && errno == EINTR)
		;
	sim_host_stop(h);
	print_stats(h, paths);
	rc = 0;
out:
	sim_host_free(h);
	for (e = 0; e < 2; e++) {
		if (lfd[e] >= 0) {
			close(lfd[e]);
			unlink(paths[e]);
		}
	}
	close(sfd);
	return rc;
}
