/* SPDX-License-Identifier: MIT */
/*
 * The public device and queue API (vnet.h): open a device by URI through
 * the port its scheme names (port.h) and hand out its queue pairs. The
 * burst calls are thin: one indirect call into the port's data path, errno
 * on failure.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "vnet/vnet.h"
#include "ctl/ctl_int.h"
#include "log.h"
#include "pci.h"
#include "port.h"
#include "uri.h"

struct vnet_dev {
	struct vn_port *port;
	pthread_mutex_t set_lock; /* serialises settings (vnet_dev_set_*()) */
	char uri[256];
	char name[16];            /* control-plane name; "" without one */
	struct vn_ctl_server *ctl; /* its control server (ctl/ctl_int.h); NULL: none */
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

/* URI options queues=, qsize=, reset= and offload= apply where the opts leave a default. */
static int uri_defaults(const struct vn_uri *u, struct vnet_dev_opts *o)
{
	const char *reset = vn_uri_opt(u, "reset"), *offload = vn_uri_opt(u, "offload");
	int rc = 0;

	if (!o->queue_pairs)
		rc = vn_uri_opt_uint(u, "queues", 1, 0x8000, &o->queue_pairs);
	if (!rc && !o->queue_size)
		rc = vn_uri_opt_uint(u, "qsize", 1, 32768, &o->queue_size);
	if (!rc && reset && !strcmp(reset, "auto")) /* uri.c allows auto and report */
		o->flags |= VNET_DEV_F_AUTO_RESET;
	if (!rc && offload && !strcmp(offload, "on")) /* uri.c allows on and off */
		o->flags |= VNET_DEV_F_OFFLOAD;
	if (!rc && (o->flags & ~(VNET_DEV_F_AUTO_RESET | VNET_DEV_F_OFFLOAD)))
		rc = vn_err(-EINVAL, "vnet_dev_opts: unknown flags 0x%x", o->flags);
	return rc;
}

/* The port behind each URI scheme; NULL for PCI functions, whose driver
 * pci.c picks by their ids. */
static int port_ops(enum vn_uri_kind kind, const struct vn_port_ops **ops)
{
	switch (kind) {
	case VN_URI_VFIO:
	case VN_URI_VFIO_USER:
		*ops = NULL;
		return 0;
	case VN_URI_TAP:
		*ops = &vn_tap_port_ops;
		return 0;
	case VN_URI_XDP:
#ifdef HAVE_XDP
		*ops = &vn_xdp_port_ops;
		return 0;
#else
		return vn_err(-ENOTSUP, "xdp: this libvnet was built without libxdp and libbpf");
#endif
	default:
		*ops = &vn_virtio_port_ops;
		return 0;
	}
}

static int dev_open(const char *uri, const struct vnet_dev_opts *opts, struct vnet_dev **devp)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	const struct vn_port_ops *ops = NULL;
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
	if (!rc)
		rc = port_ops(u.kind, &ops);
	if (rc)
		return rc;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return vn_err(-ENOMEM, "vnet_dev_open: out of memory");
	strcpy(dev->uri, uri);
	rc = ops ? ops->open(&u, &o, &dev->port) : vn_pci_open(&u, &o, &dev->port);
	if (rc) {
		free(dev);
		return rc;
	}
	pthread_mutex_init(&dev->set_lock, NULL);
	/* Last: the server answers requests about the device at once. */
	rc = vn_ctl_start(dev, dev->port, &u, &dev->ctl);
	if (rc) {
		vn_err_hold(); /* the control server's reason stays the one reported */
		dev->port->ops->close(dev->port);
		vn_err_release();
		pthread_mutex_destroy(&dev->set_lock);
		free(dev);
		return rc;
	}
	strcpy(dev->name, vn_ctl_name(dev->ctl));
	*devp = dev;
	return 0;
}

/*
 * An open that ran out of file descriptors (each device takes several:
 * eventfds, its socket, the event engine's) says first which limit it hit
 * and what it is, then the failing site's own reason.
 */
static int name_limit(int rc)
{
	struct rlimit rl;
	char why[256];

	if (rc != -EMFILE && rc != -ENFILE)
		return rc;
	snprintf(why, sizeof(why), "%s", vn_err_msg());
	if (rc == -ENFILE)
		return vn_err(rc, "the system's file table is full (fs.file-max): %s", why);
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return vn_err(rc, "out of file descriptors (RLIMIT_NOFILE): %s", why);
	return vn_err(rc, "out of file descriptors (RLIMIT_NOFILE is %llu; raise it, e.g. ulimit -n): %s",
		      (unsigned long long)rl.rlim_cur, why);
}

VNET_API int vnet_dev_open(const char *uri, const struct vnet_dev_opts *opts,
			   struct vnet_dev **devp)
{
	int rc;

	vn_err_clear();
	rc = dev_open(uri, opts, devp);
	return rc ? fail(name_limit(rc)) : 0;
}

VNET_API void vnet_dev_close(struct vnet_dev *dev)
{
	if (!dev)
		return;
	/* The server first: nobody asks about the device while it goes. */
	vn_ctl_stop(dev->ctl);
	dev->port->ops->close(dev->port);
	pthread_mutex_destroy(&dev->set_lock);
	free(dev);
}

VNET_API int vnet_dev_info(struct vnet_dev *dev, struct vnet_dev_info *info)
{
	struct vnet_dev_info i = { .sz = sizeof(i) };

	vn_err_clear();
	if (!dev || !info)
		return fail(vn_err(-EINVAL, "vnet_dev_info: dev and info are required"));
	if (info->sz < sizeof(size_t))
		return fail(vn_err(-EINVAL, "vnet_dev_info: sz %zu is too small", info->sz));
	strcpy(i.uri, dev->uri);
	strcpy(i.name, dev->name);
	dev->port->ops->info(dev->port, &i);
	snprintf(i.driver, sizeof(i.driver), "%s", dev->port->ops->name);
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
	if (qp >= dev->port->pairs)
		return fail(vn_err(-EINVAL, "vnet_queue_stats: queue pair %u of %u", qp,
				   dev->port->pairs));
	dev->port->ops->stats(dev->port->ops->queue(dev->port, qp), stats);
	return 0;
}

VNET_API struct vnet_queue *vnet_dev_queue(struct vnet_dev *dev, unsigned qp)
{
	struct vnet_queue *q;

	vn_err_clear();
	if (!dev || qp >= dev->port->pairs) {
		vn_err(-EINVAL, "vnet_dev_queue: no queue pair %u", qp);
		errno = EINVAL;
		return NULL;
	}
	q = dev->port->ops->queue(dev->port, qp);
	__atomic_store_n(&q->claimed, 1, __ATOMIC_RELAXED);
	return q;
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
	return burst_result(q->port->ops->tx_reserve(q, bufs, n));
}

VNET_API int vnet_tx_submit(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n)
{
	if (VN_UNLIKELY(!q))
		return null_queue();
	return burst_result(q->port->ops->tx_submit(q, bufs, n));
}

VNET_API int vnet_rx_peek(struct vnet_queue *q, struct vnet_buf *bufs, unsigned n)
{
	if (VN_UNLIKELY(!q))
		return null_queue();
	return burst_result(q->port->ops->rx_peek(q, bufs, n));
}

VNET_API int vnet_rx_release(struct vnet_queue *q, const struct vnet_buf *bufs, unsigned n)
{
	if (VN_UNLIKELY(!q))
		return null_queue();
	return burst_result(q->port->ops->rx_release(q, bufs, n));
}

/* The offload calls check what every port would: the queue, and off's size. */
static int offload_args(struct vnet_queue *q, const struct vnet_buf *b, const void *off,
			size_t sz, const char *what)
{
	if (VN_UNLIKELY(!q || !b || !off))
		return vn_err(-EINVAL, "%s: q, buf and off are required", what);
	if (VN_UNLIKELY(sz < sizeof(struct vnet_offload)))
		return vn_err(-EINVAL, "%s: off->sz %zu, want %zu (VNET_OFFLOAD_INIT)", what, sz,
			      sizeof(struct vnet_offload));
	if (VN_UNLIKELY(!q->port->ops->tx_offload))
		return vn_err(-EOPNOTSUPP, "%s: the %s port has no offloads", what,
			      q->port->ops->name);
	return 0;
}

VNET_API int vnet_tx_offload(struct vnet_queue *q, const struct vnet_buf *buf,
			     const struct vnet_offload *off)
{
	int rc = offload_args(q, buf, off, off ? off->sz : 0, "vnet_tx_offload");

	if (VN_UNLIKELY(rc))
		return fail(rc);
	return burst_result(q->port->ops->tx_offload(q, buf, off));
}

VNET_API int vnet_rx_offload(struct vnet_queue *q, const struct vnet_buf *buf,
			     struct vnet_offload *off)
{
	int rc = offload_args(q, buf, off, off ? off->sz : 0, "vnet_rx_offload");

	if (VN_UNLIKELY(rc))
		return fail(rc);
	return burst_result(q->port->ops->rx_offload(q, buf, off));
}

VNET_API int vnet_dev_event(struct vnet_dev *dev, struct vnet_dev_event *ev)
{
	int type, rc;

	vn_err_clear();
	if (!dev || !ev || ev->sz < offsetof(struct vnet_dev_event, type) + sizeof(ev->type))
		return fail(vn_err(-EINVAL, "vnet_dev_event: dev and ev (with sz) are required"));
	rc = dev->port->ops->event(dev->port, &type);
	if (rc <= 0)
		return rc ? fail(rc) : 0;
	ev->type = type;
	return 1;
}

VNET_API int vnet_dev_event_fd(struct vnet_dev *dev)
{
	vn_err_clear();
	if (!dev)
		return fail(vn_err(-EINVAL, "vnet_dev_event_fd: dev is NULL"));
	if (dev->port->event_fd < 0)
		return fail(vn_err(-ENOTSUP, "vnet_dev_event_fd: the device runs without interrupts"));
	return dev->port->event_fd;
}

int vn_port_admin_down(void)
{
	return vn_err(-ENETDOWN, "the device is administratively down (vnet_dev_set_up(dev, 1) "
		      "brings it up)");
}

/* Settings: one port op, serialised here (port.h). */
static int dev_set(struct vnet_dev *dev, const struct vn_set *s, const char *what)
{
	int rc;

	vn_err_clear();
	if (!dev)
		return fail(vn_err(-EINVAL, "%s: dev is NULL", what));
	if (!dev->port->ops->set)
		return fail(vn_err(-EOPNOTSUPP, "%s: a %s device has no settings", what,
				   dev->port->ops->name));
	pthread_mutex_lock(&dev->set_lock);
	rc = dev->port->ops->set(dev->port, s);
	pthread_mutex_unlock(&dev->set_lock);
	return rc ? fail(rc) : 0;
}

static int set_val(struct vnet_dev *dev, enum vn_set_kind kind, unsigned val, const char *what)
{
	struct vn_set s = { .kind = kind, .val = val };

	return dev_set(dev, &s, what);
}

static int set_mac(struct vnet_dev *dev, enum vn_set_kind kind, const uint8_t mac[6],
		   const char *what)
{
	struct vn_set s = { .kind = kind };

	if (!mac) {
		vn_err_clear();
		return fail(vn_err(-EINVAL, "%s: mac is NULL", what));
	}
	memcpy(s.mac, mac, sizeof(s.mac));
	return dev_set(dev, &s, what);
}

VNET_API int vnet_dev_set_mtu(struct vnet_dev *dev, unsigned mtu)
{
	return set_val(dev, VN_SET_MTU, mtu, "vnet_dev_set_mtu");
}

VNET_API int vnet_dev_set_up(struct vnet_dev *dev, int up)
{
	return set_val(dev, VN_SET_UP, up != 0, "vnet_dev_set_up");
}

VNET_API int vnet_dev_set_promisc(struct vnet_dev *dev, int on)
{
	return set_val(dev, VN_SET_PROMISC, on != 0, "vnet_dev_set_promisc");
}

VNET_API int vnet_dev_set_allmulti(struct vnet_dev *dev, int on)
{
	return set_val(dev, VN_SET_ALLMULTI, on != 0, "vnet_dev_set_allmulti");
}

VNET_API int vnet_dev_set_queue_pairs(struct vnet_dev *dev, unsigned n)
{
	return set_val(dev, VN_SET_QUEUE_PAIRS, n, "vnet_dev_set_queue_pairs");
}

VNET_API int vnet_dev_vlan_add(struct vnet_dev *dev, unsigned vid)
{
	return set_val(dev, VN_SET_VLAN_ADD, vid, "vnet_dev_vlan_add");
}

VNET_API int vnet_dev_vlan_del(struct vnet_dev *dev, unsigned vid)
{
	return set_val(dev, VN_SET_VLAN_DEL, vid, "vnet_dev_vlan_del");
}

VNET_API int vnet_dev_set_mac(struct vnet_dev *dev, const uint8_t mac[6])
{
	return set_mac(dev, VN_SET_MAC, mac, "vnet_dev_set_mac");
}

VNET_API int vnet_dev_mac_add(struct vnet_dev *dev, const uint8_t mac[6])
{
	return set_mac(dev, VN_SET_MAC_ADD, mac, "vnet_dev_mac_add");
}

VNET_API int vnet_dev_mac_del(struct vnet_dev *dev, const uint8_t mac[6])
{
	return set_mac(dev, VN_SET_MAC_DEL, mac, "vnet_dev_mac_del");
}

VNET_API int vnet_dev_filters(struct vnet_dev *dev, struct vnet_dev_filters *f)
{
	struct vnet_dev_filters all = { .sz = sizeof(all) };

	vn_err_clear();
	if (!dev || !f)
		return fail(vn_err(-EINVAL, "vnet_dev_filters: dev and f are required"));
	if (f->sz < sizeof(size_t))
		return fail(vn_err(-EINVAL, "vnet_dev_filters: sz %zu is too small", f->sz));
	if (dev->port->ops->filters) {
		pthread_mutex_lock(&dev->set_lock);
		dev->port->ops->filters(dev->port, &all);
		pthread_mutex_unlock(&dev->set_lock);
	}
	all.sz = f->sz;
	memcpy(f, &all, VN_MIN(f->sz, sizeof(all)));
	return 0;
}

/* RSS and coalescing: a payload of the caller's size, whole for the port. */
static int set_arg(struct vnet_dev *dev, enum vn_set_kind kind, const void *arg, size_t need,
		   void *full, size_t full_sz, const char *what)
{
	struct vn_set s = { .kind = kind, .arg = full };
	int rc;

	vn_err_clear();
	if (!arg)
		return fail(vn_err(-EINVAL, "%s: the settings are NULL", what));
	if (*(const size_t *)arg < need)
		return fail(vn_err(-EINVAL, "%s: sz %zu is too small (at least %zu)", what,
				   *(const size_t *)arg, need));
	rc = copy_sized(full, full_sz, arg, *(const size_t *)arg, what);
	return rc ? fail(rc) : dev_set(dev, &s, what);
}

static int get_arg(struct vnet_dev *dev, enum vn_set_kind kind, void *out, void *full,
		   size_t full_sz, const char *what)
{
	size_t sz;
	int rc;

	vn_err_clear();
	if (!dev || !out)
		return fail(vn_err(-EINVAL, "%s: dev and the result are required", what));
	sz = *(size_t *)out;
	if (sz < sizeof(size_t))
		return fail(vn_err(-EINVAL, "%s: sz %zu is too small", what, sz));
	if (!dev->port->ops->get)
		return fail(vn_err(-EOPNOTSUPP, "%s: a %s device has no such setting", what,
				   dev->port->ops->name));
	pthread_mutex_lock(&dev->set_lock);
	rc = dev->port->ops->get(dev->port, kind, full);
	pthread_mutex_unlock(&dev->set_lock);
	if (rc)
		return fail(rc);
	*(size_t *)full = sz;
	memcpy(out, full, VN_MIN(sz, full_sz));
	return 0;
}

VNET_API int vnet_dev_set_rss(struct vnet_dev *dev, const struct vnet_rss *rss)
{
	struct vnet_rss r = { .sz = sizeof(r) };

	return set_arg(dev, VN_SET_RSS, rss, offsetof(struct vnet_rss, enabled), &r, sizeof(r),
		       "vnet_dev_set_rss");
}

VNET_API int vnet_dev_rss(struct vnet_dev *dev, struct vnet_rss *rss)
{
	struct vnet_rss r = { .sz = sizeof(r) };

	return get_arg(dev, VN_SET_RSS, rss, &r, sizeof(r), "vnet_dev_rss");
}

VNET_API int vnet_dev_set_coalesce(struct vnet_dev *dev, const struct vnet_coalesce *c)
{
	struct vnet_coalesce k = { .sz = sizeof(k) };

	return set_arg(dev, VN_SET_COALESCE, c, sizeof(k), &k, sizeof(k), "vnet_dev_set_coalesce");
}

VNET_API int vnet_dev_coalesce(struct vnet_dev *dev, struct vnet_coalesce *c)
{
	struct vnet_coalesce k = { .sz = sizeof(k) };

	return get_arg(dev, VN_SET_COALESCE, c, &k, sizeof(k), "vnet_dev_coalesce");
}

VNET_API int vnet_dev_xstats(struct vnet_dev *dev, struct vnet_xstat *xs, unsigned n)
{
	int rc;

	vn_err_clear();
	if (!dev || (n && !xs))
		return fail(vn_err(-EINVAL, "vnet_dev_xstats: dev (and xs for n > 0) are required"));
	if (!dev->port->ops->xstats)
		return 0;
	rc = dev->port->ops->xstats(dev->port, xs, n);
	return rc < 0 ? fail(rc) : rc;
}
