/* SPDX-License-Identifier: MIT */
/*
 * The virtio port (port.h): a virtio-net device (virtio_net.c) over the
 * virtio-pci transport (virtio_pci.c) over device access (iommu/devio.h),
 * for vfio:, vfio-user: and sim: URIs. The burst and wait operations are
 * virtio_net's own functions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
};

static struct virtio_port *vp(struct vn_port *p)
{
	return (struct virtio_port *)p; /* port is the first member */
}

/* Staged: device access, transport, virtio-net; undone in reverse. */
static int vp_open(const struct vn_uri *u, const struct vnet_dev_opts *o, struct vn_port **out)
{
	struct virtio_port *v = calloc(1, sizeof(*v));
	struct vn_net_cfg cfg;
	int rc;

	if (!v)
		return vn_err(-ENOMEM, "vnet_dev_open: out of memory");
	if (u->kind == VN_URI_SIM)
		rc = vn_sim_open(u, &v->d);
	else
		rc = vn_devio_open(u, (int)o->vfio_mode, &v->d);
	if (rc)
		goto err_port;
	rc = vpci_open(v->d, &v->t);
	if (rc)
		goto err_devio;
	cfg = (struct vn_net_cfg){
		.queue_pairs = o->queue_pairs,
		.queue_size = o->queue_size,
		.features_mask = o->features_mask,
		.phys_addrs = !strcmp(v->d->access, "vfio-noiommu"),
	};
	rc = vn_net_open(v->t, &cfg, &v->net);
	if (rc)
		goto err_vtr;
	v->port.ops = &vn_virtio_port_ops;
	v->port.pairs = v->net->pairs;
	v->port.event_fd = v->net->n_irq ? v->net->irq_fd[0] : -1;
	for (unsigned i = 0; i < v->net->pairs; i++)
		v->net->q[i].pub.port = &v->port;
	*out = &v->port;
	return 0;

err_vtr:
	v->t->ops->close(v->t);
err_devio:
	v->d->ops->close(v->d);
err_port:
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
	memcpy(i->mac, n->mac, sizeof(i->mac));
	i->mtu = n->mtu;
	i->max_queue_pairs = n->max_pairs;
	i->queue_pairs = n->pairs;
	i->queue_size = n->qsize;
	i->features = n->features;
	i->broken = __atomic_load_n(&n->broken, __ATOMIC_RELAXED) != 0;
	/* A device that cannot be read reports its link down. */
	if (i->broken || vn_net_link_up(n, &i->link_up))
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

const struct vn_port_ops vn_virtio_port_ops = {
	.name = "virtio",
	.open = vp_open,
	.close = vp_close,
	.info = vp_info,
	.queue = vp_queue,
	.stats = vn_net_queue_stats,
	.tx_reserve = vn_net_tx_reserve,
	.tx_submit = vn_net_tx_submit,
	.rx_peek = vn_net_rx_peek,
	.rx_release = vn_net_rx_release,
	.ready = vn_net_ready,
	.arm = vn_net_arm,
	.disarm = vn_net_disarm,
	.event = vp_event,
};
