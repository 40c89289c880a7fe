/* SPDX-License-Identifier: MIT */
/*
 * The public device and queue API (vnet.h): open a device by URI, bring it
 * up as a virtio-net device over the virtio-pci transport, and hand out its
 * queue pairs. The burst calls are thin: one direct call into the virtio-net
 * data path, errno on failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vnet/vnet.h"
#include "log.h"
#include "uri.h"
#include "iommu/devio.h"
#include "sim/sim.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_pci.h"

struct vnet_dev {
	struct vn_devio *d;
	struct vn_vtr *t;
	struct vn_net *net;
	char uri[256];
};

static int fail(int rc)
{
	errno = -rc;
	return -1;
}

/*
 * Copy a caller's size-tagged struct into a full one that holds defaults:
 * an older, smaller struct leaves the newer fields at their defaults; a
 * newer, larger one is accepted when the fields we do not know are zero.
 */
static int copy_sized(void *dst, size_t dst_sz, const void *src, size_t src_sz,
		      const char *what)
{
	if (src_sz < sizeof(size_t))
		return vn_err(-EINVAL, "%s: sz %zu is too small to be a size", what, src_sz);
	for (size_t i = dst_sz; i < src_sz; i++)
		if (((const unsigned char *)src)[i])
			return vn_err(-EINVAL, "%s: sz %zu: fields this libvnet does not know are set",
				      what, src_sz);
	memcpy(dst, src, VN_MIN(dst_sz, src_sz));
	return 0;
}

/* URI options queues= and qsize= apply where the opts leave a default. */
static int uri_defaults(const struct vn_uri *u, struct vnet_dev_opts *o)
{
	int rc = 0;

	if (!o->queue_pairs)
		rc = vn_uri_opt_uint(u, "queues", 1, 0x8000, &o->queue_pairs);
	if (!rc && !o->queue_size)
		rc = vn_uri_opt_uint(u, "qsize", 1, 32768, &o->queue_size);
	return rc;
}

static int dev_open(const char *uri, const struct vnet_dev_opts *opts, struct vnet_dev **devp)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct vn_net_cfg cfg;
	struct vnet_dev *dev;
	struct vn_uri u;
	int rc;

	if (!uri || !devp)
		return vn_err(-EINVAL, "vnet_dev_open: uri and devp are required");
	if (strlen(uri) >= sizeof(dev->uri))
		return vn_err(-EINVAL, "vnet_dev_open: the URI is longer than %zu bytes",
			      sizeof(dev->uri) - 1);
	if (opts) {
		rc = copy_sized(&o, sizeof(o), opts, opts->sz, "vnet_dev_opts");
		if (rc)
			return rc;
		o.sz = sizeof(o);
	}
	rc = vn_uri_parse(uri, &u);
	if (!rc)
		rc = uri_defaults(&u, &o);
	if (rc)
		return rc;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return vn_err(-ENOMEM, "vnet_dev_open: out of memory");
	strcpy(dev->uri, uri);
	/* Staged: device access, transport, virtio-net; undone in reverse. */
	if (u.kind == VN_URI_SIM)
		rc = vn_sim_open(&u, &dev->d);
	else
		rc = vn_devio_open(&u, (int)o.vfio_mode, &dev->d);
	if (rc)
		goto err_dev;
	rc = vpci_open(dev->d, &dev->t);
	if (rc)
		goto err_devio;
	cfg = (struct vn_net_cfg){
		.queue_pairs = o.queue_pairs,
		.queue_size = o.queue_size,
		.features_mask = o.features_mask,
		.phys_addrs = !strcmp(dev->d->access, "vfio-noiommu"),
	};
	rc = vn_net_open(dev->t, &cfg, &dev->net);
	if (rc)
		goto err_vtr;
	*devp = dev;
	return 0;

err_vtr:
	dev->t->ops->close(dev->t);
err_devio:
	dev->d->ops->close(dev->d);
err_dev:
	free(dev);
	return rc;
}

VNET_API int vnet_dev_open(const char *uri, const struct vnet_dev_opts *opts,
			   struct vnet_dev **devp)
{
	int rc;

	vn_err_clear();
	rc = dev_open(uri, opts, devp);
	return rc ? fail(rc) : 0;
}

VNET_API void vnet_dev_close(struct vnet_dev *dev)
{
	if (!dev)
		return;
	/* vn_net_close() resets the device before its memory goes away. */
	vn_net_close(dev->net);
	dev->t->ops->close(dev->t);
	dev->d->ops->close(dev->d);
	free(dev);
}

VNET_API int vnet_dev_info(struct vnet_dev *dev, struct vnet_dev_info *info)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vn_net *n;
	int rc;

	vn_err_clear();
	if (!dev || !info)
		return fail(vn_err(-EINVAL, "vnet_dev_info: dev and info are required"));
	if (info->sz < sizeof(size_t))
		return fail(vn_err(-EINVAL, "vnet_dev_info: sz %zu is too small", info->sz));
	n = dev->net;
	strcpy(i.uri, dev->uri);
	snprintf(i.access, sizeof(i.access), "%s", dev->d->access ? dev->d->access : "");
	memcpy(i.mac, n->mac, sizeof(i.mac));
	i.mtu = n->mtu;
	i.max_queue_pairs = n->max_pairs;
	i.queue_pairs = n->pairs;
	i.queue_size = n->qsize;
	i.features = n->features;
	i.broken = __atomic_load_n(&n->broken, __ATOMIC_RELAXED) != 0;
	/* A device that cannot be read reports its link down. */
	rc = i.broken ? -ENETDOWN : vn_net_link_up(n, &i.link_up);
	if (rc)
		i.link_up = 0;
	i.sz = info->sz;
	memcpy(info, &i, VN_MIN(info->sz, sizeof(i)));
	return 0;
}

VNET_API int vnet_queue_stats(struct vnet_dev *dev, unsigned qp, struct vnet_queue_stats *stats)
{
	vn_err_clear();
	if (!dev || !stats)
		return fail(vn_err(-EINVAL, "vnet_queue_stats: dev and stats are required"));
	if (stats->sz < sizeof(size_t))
		return fail(vn_err(-EINVAL, "vnet_queue_stats: sz %zu is too small", stats->sz));
	if (qp >= dev->net->pairs)
		return fail(vn_err(-EINVAL, "vnet_queue_stats: queue pair %u of %u", qp,
				   dev->net->pairs));
	vn_net_queue_stats(&dev->net->q[qp], stats);
	return 0;
}

VNET_API struct vnet_queue *vnet_dev_queue(struct vnet_dev *dev, unsigned qp)
{
	vn_err_clear();
	if (!dev || qp >= dev->net->pairs) {
		vn_err(-EINVAL, "vnet_dev_queue: no queue pair %u", qp);
		errno = EINVAL;
		return NULL;
	}
	return &dev->net->q[qp];
}

/* The fast path: no vn_err_clear() (the data path only records failures). */
static inline int burst_result(int rc)
{
	if (VN_UNLIKELY(rc < 0)) {
		errno = -rc;
		return -1;
	}
	return rc;
}

static int null_queue(void)
{
	return fail(vn_err(-EINVAL, "the queue is NULL"));
}

VNET_API int vnet_tx_reserve(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n)
{
	if (VN_UNLIKELY(!q))
		return null_queue();
	return burst_result(vn_net_tx_reserve(q, bufs, n));
}

VNET_API int vnet_tx_submit(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n)
{
	if (VN_UNLIKELY(!q))
		return null_queue();
	return burst_result(vn_net_tx_submit(q, bufs, n));
}

VNET_API int vnet_rx_peek(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n)
{
	if (VN_UNLIKELY(!q))
		return null_queue();
	return burst_result(vn_net_rx_peek(q, bufs, n));
}

VNET_API int vnet_rx_release(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n)
{
	if (VN_UNLIKELY(!q))
		return null_queue();
	return burst_result(vn_net_rx_release(q, bufs, n));
}

VNET_API int vnet_dev_event(struct vnet_dev *dev, struct vnet_dev_event *ev)
{
	struct vn_net *n;
	uint64_t count;
	int type;

	vn_err_clear();
	if (!dev || !ev || ev->sz < offsetof(struct vnet_dev_event, type) + sizeof(ev->type))
		return fail(vn_err(-EINVAL, "vnet_dev_event: dev and ev (with sz) are required"));
	n = dev->net;
	/* The engine thread queues events as configuration interrupts arrive. */
	if (!vn_net_event_pop(n, &type)) {
		/* Empty: consume the eventfd's count, then look at the device
		 * once more, so a change signalled after this read still leaves
		 * the eventfd readable. Without interrupts, this is the poll. */
		if (n->n_irq && read(n->irq_fd[0], &count, sizeof(count)) < 0 && errno != EAGAIN)
			return fail(vn_err(-errno, "vnet_dev_event: reading the config eventfd: %s",
					   strerror(errno)));
		vn_net_config_event(n);
		if (!vn_net_event_pop(n, &type))
			return 0;
	}
	ev->type = type;
	return 1;
}

VNET_API int vnet_dev_event_fd(struct vnet_dev *dev)
{
	vn_err_clear();
	if (!dev)
		return fail(vn_err(-EINVAL, "vnet_dev_event_fd: dev is NULL"));
	if (!dev->net->n_irq)
		return fail(vn_err(-ENOTSUP, "vnet_dev_event_fd: the device runs without interrupts"));
	return dev->net->irq_fd[0];
}
