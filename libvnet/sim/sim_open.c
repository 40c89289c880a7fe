/* SPDX-License-Identifier: MIT */
/*
 * sim: URIs in this process. Each open starts (or, for the second end of a
 * pair, joins) a device thread and connects the vfio-user client to it over
 * a socketpair. A registry under a mutex lets sim:pair=NAME/1 find the wire
 * sim:pair=NAME/0 created and vn_sim_stats() find a device by name (newest
 * first); the device lives until its last open end is closed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "sim/sim_dev.h"
#include "sim/sim_host.h"

struct sim_inst {
	struct sim_inst *next;
	char name[sizeof(((struct vn_uri *)0)->target)]; /* wire or TAP name, else the mode */
	struct sim_host *h;
	unsigned open_ends;      /* bit per end with an open client */
};

/* What the client's release callback gets back; also the caller's handle. */
struct vn_sim {
	struct sim_inst *inst;
	unsigned end;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_inst *reg_head;

static struct sim_inst *reg_find(const char *name)
{
	struct sim_inst *i;

	for (i = reg_head; i; i = i->next)
		if (!strcmp(i->name, name))
			return i;
	return NULL;
}

static void reg_unlink(struct sim_inst *inst)
{
	struct sim_inst **pp;

	for (pp = &reg_head; *pp; pp = &(*pp)->next) {
		if (*pp == inst) {
			*pp = inst->next;
			return;
		}
	}
}

/* Drop end of inst; frees the device when no end is left. Takes reg_lock. */
static void inst_put(struct sim_inst *inst, unsigned end)
{
	bool last;

	pthread_mutex_lock(&reg_lock);
	inst->open_ends &= ~(1u << end);
	last = !inst->open_ends;
	if (last)
		reg_unlink(inst);
	pthread_mutex_unlock(&reg_lock);
	if (last) {
		sim_host_free(inst->h); /* stops and joins the thread */
		free(inst);
	}
}

static void sim_release(void *arg)
{
	struct vn_sim *ref = arg;

	inst_put(ref->inst, ref->end);
	free(ref);
}

/* Parameters from the URI; *end is the pair end ("NAME/0", "NAME/1"). */
static int uri_params(const struct vn_uri *u, struct sim_params *p, unsigned *end)
{
	char arg[sizeof(u->arg)];
	char *slash;
	unsigned i;
	int err;

	sim_params_default(p);
	snprintf(arg, sizeof(arg), "%s", u->arg);
	*end = 0;
	if (!strcmp(u->target, "pair")) {
		slash = strrchr(arg, '/');
		if (!slash || slash == arg || (strcmp(slash, "/0") && strcmp(slash, "/1")))
			return vn_err(-EINVAL, "sim:pair needs pair=NAME/0 or pair=NAME/1, not '%s'",
				      u->arg);
		*end = (unsigned)(slash[1] - '0');
		*slash = '\0';
	}
	err = sim_params_mode(p, u->target, arg);
	for (i = 0; i < u->n_opts && !err; i++)
		err = sim_params_set(p, u->opts[i].key, u->opts[i].val);
	return err ? err : sim_params_check(p);
}

/* Find (pair) or create the instance and claim end (under reg_lock). The
 * first end opened defines the wire: options on the second are not used. */
static int inst_get(const struct sim_params *p, const char *mode, unsigned end,
		    struct sim_inst **out)
{
	const char *name = p->arg[0] ? p->arg : mode;
	struct sim_inst *inst = p->mode == SIM_PAIR ? reg_find(name) : NULL;
	int err;

	if (inst) {
		if (sim_host_ends(inst->h) != 2)
			return vn_err(-EEXIST, "sim: '%s' is open and not a pair", name);
		if (inst->open_ends & (1u << end))
			return vn_err(-EBUSY, "sim:pair=%s/%u is already open", name, end);
	} else {
		inst = calloc(1, sizeof(*inst));
		if (!inst)
			return vn_err(-ENOMEM, "sim: out of memory");
		snprintf(inst->name, sizeof(inst->name), "%s", name);
		err = sim_host_new(p, &inst->h);
		if (!err) {
			err = sim_host_start(inst->h);
			if (err)
				sim_host_free(inst->h);
		}
		if (err) {
			free(inst);
			return err;
		}
		inst->next = reg_head;
		reg_head = inst;
	}
	inst->open_ends |= 1u << end;
	*out = inst;
	return 0;
}

int vn_sim_open(const struct vn_uri *u, struct vn_devio **out, struct vn_sim **sim)
{
	struct sim_params p;
	struct sim_inst *inst = NULL;
	struct vn_sim *ref;
	unsigned end;
	int sv[2], err;

	err = uri_params(u, &p, &end);
	if (err)
		return err;
	ref = malloc(sizeof(*ref));
	if (!ref)
		return vn_err(-ENOMEM, "sim: out of memory");
	pthread_mutex_lock(&reg_lock);
	err = inst_get(&p, u->target, end, &inst);
	pthread_mutex_unlock(&reg_lock);
	if (err) {
		free(ref);
		return err;
	}
	*ref = (struct vn_sim){ .inst = inst, .end = end };
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err = vn_err(-errno, "sim: socketpair: %m");
		goto fail;
	}
	err = sim_host_attach(inst->h, end, sv[0]);
	if (err) {
		close(sv[1]);
		goto fail;
	}
	/* From here the client owns sv[1] and calls sim_release() when it
	 * closes, also when this open fails. */
	err = vn_vfio_user_open_fd(sv[1], sim_release, ref, out);
	if (!err && sim)
		*sim = ref;
	return err;
fail:
	inst_put(inst, end);
	free(ref);
	return err;
}

int vn_sim_stats(const char *name, unsigned end, struct vn_sim_stats *st)
{
	struct sim_inst *inst;
	int err = 0;

	pthread_mutex_lock(&reg_lock);
	inst = reg_find(name);
	if (inst && end < sim_host_ends(inst->h))
		sim_host_stats(inst->h, end, st);
	else
		err = vn_err(-ENOENT, "sim: no open device named '%s' with end %u", name, end);
	pthread_mutex_unlock(&reg_lock);
	return err;
}

void vn_sim_dev_stats(const struct vn_sim *sim, struct vn_sim_stats *st)
{
	/* The instance lives while this end is open (inst_put()). */
	sim_host_stats(sim->inst->h, sim->end, st);
}
