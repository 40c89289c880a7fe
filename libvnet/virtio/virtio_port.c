/* SPDX-License-Identifier: MIT */
/*
 * The virtio port (port.h): a virtio-net device (virtio_net.c) over the
 * virtio-pci transport (virtio_pci.c) over device access (iommu/devio.h),
 * for sim: URIs (open) and PCI functions with virtio-net's ids (attach,
 * pci.c). The burst and wait operations are
 * virtio_net's own functions, the settings virtio_net_ctl.c's.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "port.h"
#include "log.h"
#include "iommu/devio.h"
#include "sim/sim.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_pci.h"

struct virtio_port {
	struct vn_port port;
	struct vn_devio *d;
	struct vn_vtr *t;
	struct vn_net *net;
	struct vn_sim *sim; /* sim: URIs: the in-process device (xstats); else NULL */
};

static const struct vn_port_ops virtio_packed_ops; /* below */

static struct virtio_port *vp(struct vn_port *p)
{
	return (struct virtio_port *)p; /* port is the first member */
}

/* virtio-net's events reach the port's observer (port.h). */
static void vp_notify(void *arg, int type)
{
	vn_port_notify(arg, type);
}

/* Staged on device access d: transport, virtio-net; undone in reverse,
 * except d, which stays the caller's on failure. */
static int vp_start(struct virtio_port *v, struct vn_devio *d, const struct vn_uri *u,
		    const struct vnet_dev_opts *o, struct vn_port **out)
{
	const char *ring = vn_uri_opt(u, "ring");
	bool auto_reset = o->flags & VNET_DEV_F_AUTO_RESET;
	struct vn_net_cfg cfg;
	int rc;

	/* The auto reset (virtio_net_reset.c) rebuilds split rings only. */
	if (auto_reset && ring && !strcmp(ring, "packed"))
		return vn_err(-EINVAL, "virtio-net: reset=auto works with split rings only "
			      "(ring=packed asked for)");
	rc = vpci_open(d, &v->t);
	if (rc)
		return rc;
	cfg = (struct vn_net_cfg){
		.queue_pairs = o->queue_pairs,
		.queue_size = o->queue_size,
		.features_mask = o->features_mask,
		.notify = vp_notify,
		.notify_arg = &v->port,
		.phys_addrs = !strcmp(d->access, "vfio-noiommu"),
		.auto_reset = auto_reset,
		.offload = o->flags & VNET_DEV_F_OFFLOAD,
	};
	/* ring=split|packed: the layout, else packed whenever offered (see
	 * DESIGN.md, performance) and no auto reset was asked for. */
	if ((ring && !strcmp(ring, "split")) || auto_reset)
		cfg.features_mask |= 1ull << VIRTIO_F_RING_PACKED;
	else if (ring)
		cfg.features_need |= 1ull << VIRTIO_F_RING_PACKED;
	rc = vn_net_open(v->t, &cfg, &v->net);
	if (rc) {
		v->t->ops->close(v->t);
		return rc;
	}
	v->d = d;
	v->port.ops = v->net->features & (1ull << VIRTIO_F_RING_PACKED) ? &virtio_packed_ops
								   : &vn_virtio_port_ops;
	v->port.pairs = v->net->pairs;
	v->port.event_fd = v->net->n_irq ? v->net->irq_fd[0] : -1;
	for (unsigned i = 0; i < v->net->pairs; i++)
		v->net->q[i].pub.port = &v->port;
	*out = &v->port;
	return 0;
}

/* A PCI function with virtio-net's ids (pci.c). */
static int vp_attach(struct vn_devio *d, const struct vn_uri *u, const struct vnet_dev_opts *o,
		     struct vn_port **out)
{
	struct virtio_port *v = calloc(1, sizeof(*v));
	int rc;

	if (vn_uri_opt(u, "mtu")) {
		free(v);
		return vn_err(-EINVAL, "virtio-net: option \"mtu\" does not apply: the device "
			      "reports its MTU (vnet_dev_set_mtu() lowers it)");
	}
	if (!v)
		return vn_err(-ENOMEM, "vnet_dev_open: out of memory");
	rc = vp_start(v, d, u, o, out);
	if (rc)
		free(v);
	return rc;
}

/* sim: URIs: the in-process simulated device, always virtio-net. */
static int vp_open(const struct vn_uri *u, const struct vnet_dev_opts *o, struct vn_port **out)
{
	struct virtio_port *v = calloc(1, sizeof(*v));
	struct vn_devio *d;
	int rc;

	if (!v)
		return vn_err(-ENOMEM, "vnet_dev_open: out of memory");
	rc = vn_sim_open(u, &d, &v->sim);
	if (!rc) {
		rc = vp_start(v, d, u, o, out);
		if (rc) {
			vn_err_hold(); /* closing must not replace the reason of the failure */
			d->ops->close(d);
			vn_err_release();
		}
	}
	if (rc)
		free(v);
	return rc;
}

static void vp_close(struct vn_port *p)
{
	struct virtio_port *v = vp(p);

	/* vn_net_close() drains TX, then resets the device before its memory goes away. */
	vn_net_close(v->net);
	v->t->ops->close(v->t);
	v->d->ops->close(v->d);
	free(v);
}

static void vp_info(struct vn_port *p, struct vnet_dev_info *i)
{
	struct virtio_port *v = vp(p);
	struct vn_net *n = v->net;

	snprintf(i->access, sizeof(i->access), "%s", v->d->access ? v->d->access : "");
	/* set mac may be changing these bytes on another thread. */
	for (unsigned b = 0; b < sizeof(i->mac); b++)
		i->mac[b] = __atomic_load_n(&n->mac[b], __ATOMIC_RELAXED);
	i->mtu = __atomic_load_n(&n->cur_mtu, __ATOMIC_RELAXED);
	i->max_mtu = n->mtu;
	i->active_pairs = __atomic_load_n(&n->active_pairs, __ATOMIC_RELAXED);
	i->flags = vn_net_flags(n);
	i->max_queue_pairs = n->max_pairs;
	i->queue_pairs = n->pairs;
	i->queue_size = n->qsize;
	i->features = n->features;
	i->offloads = vn_net_offloads(n);
	i->broken = (__atomic_load_n(&n->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN) != 0;
	/* A device that cannot be read, or is being reset (not broken, but
	 * not moving frames either), reports its link down. */
	if (i->broken || (__atomic_load_n(&n->broken, __ATOMIC_RELAXED) & VN_STOP_RESET) ||
	    vn_net_link_up(n, &i->link_up))
		i->link_up = 0;
}

static struct vnet_queue *vp_queue(struct vn_port *p, unsigned qp)
{
	return &vp(p)->net->q[qp].pub;
}

static int vp_event(struct vn_port *p, int *type)
{
	struct vn_net *n = vp(p)->net;
	uint64_t count;

	/* The engine thread queues events as configuration interrupts arrive. */
	if (vn_net_event_pop(n, type))
		return 1;
	/* Empty: consume the eventfd's count, then look at the device once
	 * more, so a change signalled after this read still leaves the eventfd
	 * readable. Without interrupts, this is the poll. */
	if (n->n_irq && read(n->irq_fd[0], &count, sizeof(count)) < 0 && errno != EAGAIN)
		return vn_err(-errno, "vnet_dev_event: reading the config eventfd: %s",
			      strerror(errno));
	vn_net_config_event(n);
	return vn_net_event_pop(n, type);
}

static int vp_set(struct vn_port *p, const struct vn_set *s)
{
	return vn_net_set(vp(p)->net, s);
}

static int vp_get(struct vn_port *p, enum vn_set_kind kind, void *out)
{
	return vn_net_get(vp(p)->net, kind, out);
}

static void vp_filters(struct vn_port *p, struct vnet_dev_filters *f)
{
	vn_net_filters(vp(p)->net, f);
}

/* Fill xs[*at] if there is room; count it either way. */
static void xput(struct vnet_xstat *xs, unsigned n, unsigned *at, uint64_t v, const char *name)
{
	if (*at < n) {
		snprintf(xs[*at].name, sizeof(xs[*at].name), "%s", name);
		xs[*at].value = v;
	}
	(*at)++;
}

/* The sim device's counters (struct vn_sim_stats), ethtool-style:
 * "dev_<dir>_queue_<Q>_<what>" per queue pair, then device-wide ones. */
static const struct {
	const char *dir, *what;
	size_t off;
} sim_qp_xstats[] = {
	{ "rx", "filtered", offsetof(struct vn_sim_qp_stats, rx_filtered) },
	{ "rx", "no_buffer", offsetof(struct vn_sim_qp_stats, rx_dropped_no_buffer) },
	{ "tx", "dropped", offsetof(struct vn_sim_qp_stats, tx_dropped) },
	{ "tx", "bad", offsetof(struct vn_sim_qp_stats, tx_bad) },
};

static const struct {
	const char *name;
	size_t off;
} sim_dev_xstats[] = {
	{ "dev_ctrl_ok", offsetof(struct vn_sim_stats, ctrl_ok) },
	{ "dev_ctrl_errors", offsetof(struct vn_sim_stats, ctrl_err) },
	{ "dev_bad_desc", offsetof(struct vn_sim_stats, bad_desc) },
};

static uint64_t field(const void *base, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

/* Auto resets done, and the frames they cost (vnet.h VNET_DEV_F_AUTO_RESET). */
static void reset_xstats(struct vn_net *net, struct vnet_xstat *xs, unsigned n, unsigned *at)
{
	uint64_t rx = 0, tx = 0;

	for (unsigned i = 0; i < net->pairs; i++) {
		rx += VN_STAT_GET(net->q[i].reset_rx_lost);
		tx += VN_STAT_GET(net->q[i].reset_tx_lost);
	}
	xput(xs, n, at, VN_STAT_GET(net->resets), "dev_resets");
	xput(xs, n, at, rx, "reset_rx_dropped");
	xput(xs, n, at, tx, "reset_tx_dropped");
}

/* The driver's own counters, then (sim:) the device's. */
static int vp_xstats(struct vn_port *p, struct vnet_xstat *xs, unsigned n)
{
	struct virtio_port *v = vp(p);
	struct vn_sim_stats st;
	unsigned at = 0;

	xput(xs, n, &at, VN_STAT_GET(v->net->ctrl_cmds), "ctrl_commands");
	xput(xs, n, &at, VN_STAT_GET(v->net->ctrl_errors), "ctrl_errors");
	xput(xs, n, &at, VN_STAT_GET(v->net->events), "events");
	reset_xstats(v->net, xs, n, &at);
	if (!v->sim)
		return (int)at;
	vn_sim_dev_stats(v->sim, &st);
	for (unsigned qp = 0; qp < st.n_pairs && qp < VN_SIM_MAX_PAIRS; qp++)
		for (size_t k = 0; k < VN_ARRAY_SIZE(sim_qp_xstats); k++) {
			char name[sizeof(xs->name)];

			snprintf(name, sizeof(name), "dev_%s_queue_%u_%s", sim_qp_xstats[k].dir, qp,
				 sim_qp_xstats[k].what);
			xput(xs, n, &at, field(&st.qp[qp], sim_qp_xstats[k].off), name);
		}
	for (size_t k = 0; k < VN_ARRAY_SIZE(sim_dev_xstats); k++)
		xput(xs, n, &at, field(&st, sim_dev_xstats[k].off), sim_dev_xstats[k].name);
	return (int)at;
}

/* A sleeper heard nothing for a while: the status read and devio alive()
 * of the health check, which also catch a device that never interrupts. */
static void vp_check(struct vnet_queue *q)
{
	vn_net_health(vn_netq(q));
}

/* The ops over split rings (sfx empty) or packed ones (_packed): only the
 * burst calls differ, chosen once at open from the negotiated features. */
#define VIRTIO_PORT_OPS(sfx) { \
	.name = "virtio-net", \
	.open = vp_open, \
	.attach = vp_attach, \
	.close = vp_close, \
	.info = vp_info, \
	.queue = vp_queue, \
	.stats = vn_net_queue_stats, \
	.tx_reserve = vn_net_tx_reserve##sfx, \
	.tx_submit = vn_net_tx_submit##sfx, \
	.rx_peek = vn_net_rx_peek##sfx, \
	.rx_release = vn_net_rx_release##sfx, \
	.tx_offload = vn_net_tx_offload, \
	.rx_offload = vn_net_rx_offload, \
	.ready = vn_net_ready, \
	.arm = vn_net_arm, \
	.disarm = vn_net_disarm, \
	.check = vp_check, \
	.event = vp_event, \
	.set = vp_set, \
	.get = vp_get, \
	.filters = vp_filters, \
	.xstats = vp_xstats, \
}

const struct vn_port_ops vn_virtio_port_ops = VIRTIO_PORT_OPS();
static const struct vn_port_ops virtio_packed_ops = VIRTIO_PORT_OPS(_packed);
