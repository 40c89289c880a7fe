/* SPDX-License-Identifier: MIT */
/* virtio-net: negotiation, queue setup, control queue (see virtio_net.h). */
#include "virtio/virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "log.h"
#include "virtio/virtio.h"
#include "virtio/vq_packed.h"

#define BIT(b) (1ULL << (b))
#define CTRL_STRIDE 1024u /* control command buffers: an RSS_CONFIG takes up to 589 bytes */
#define CTRL_QSIZE_MAX 8u
#define CTRL_LOOK_MS 10u  /* ctrl_wait(): how often it asks whether the device is still there */

/* Bits libvnet cannot work without (virtio 1.2 §6): the modern layout, and
 * a device that goes through the IOMMU like any other DMA master. */
#define REQUIRED (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_ACCESS_PLATFORM))
/* Bits negotiated when offered. */
#define WANTED (BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_F_ORDER_PLATFORM) | \
		BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MTU) | \
		BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ) | \
		BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | \
		BIT(VIRTIO_NET_F_CTRL_VLAN) | BIT(VIRTIO_F_RING_PACKED) | BIT(VIRTIO_F_IN_ORDER) | \
		BIT(VIRTIO_F_NOTIFICATION_DATA) | BIT(VIRTIO_NET_F_RSS) | BIT(VIRTIO_NET_F_NOTF_COAL))
/* virtio 1.2 §5.1.3.1 (1.3 for NOTF_COAL): these need VIRTIO_NET_F_CTRL_VQ. */
#define NEED_CTRL_VQ (BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_CTRL_RX) | \
		      BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT(VIRTIO_NET_F_CTRL_VLAN) | \
		      BIT(VIRTIO_NET_F_RSS) | BIT(VIRTIO_NET_F_NOTF_COAL))

/* Negotiated only with VNET_DEV_F_OFFLOAD (virtio_net_offload.c). */
#define OFFLOADS (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | \
		  BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) | \
		  BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6))
#define HOST_TSO (BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6))

#define NCFG(f) ((uint32_t)offsetof(struct virtio_net_config, f))

static bool has(const struct vn_net *n, unsigned bit)
{
	return n->features & BIT(bit);
}

static uint32_t pow2_up(uint64_t x)
{
	uint32_t p = 1;

	while (p < x)
		p <<= 1;
	return p;
}

static uint16_t pow2_down(uint16_t x)
{
	return x ? (uint16_t)(1u << (31 - __builtin_clz(x))) : 0;
}

/*
 * Where one virtqueue's parts go in the DMA region. Every part is aligned to
 * its size rounded up to a power of two, so no part crosses a boundary of a
 * power-of-two granule at least that large (the no-IOMMU page size).
 */
struct place {
	size_t desc, avail, used, bufs;
	uint32_t stride;
};

struct layout {
	size_t off;
	size_t unit_max; /* largest span that must be device-contiguous */
};

static size_t put(struct layout *l, size_t unit, size_t bytes)
{
	size_t at = VN_ALIGN_UP(l->off, unit);

	l->off = at + bytes;
	l->unit_max = VN_MAX(l->unit_max, unit);
	return at;
}

static void plan(struct layout *l, struct place *p, uint16_t size, uint32_t stride, bool packed)
{
	/* Packed (virtio 1.2 §2.8.10.1): the descriptor ring, then the
	 * driver and the device event suppression structures. */
	size_t d = packed ? vqp_desc_bytes(size) : vq_desc_bytes(size);
	size_t a = packed ? vqp_event_bytes() : vq_avail_bytes(size);
	size_t u = packed ? vqp_event_bytes() : vq_used_bytes(size);

	p->desc = put(l, pow2_up(d), d);
	p->avail = put(l, pow2_up(a), a);
	p->used = put(l, pow2_up(u), u);
	p->bufs = put(l, stride, (size_t)stride * size);
	p->stride = stride;
}

static int setup_vq(struct vn_net *n, struct vq *vq, uint16_t idx, uint16_t size,
		    const struct place *p, uint32_t buf_off, unsigned flags, int irq_fd)
{
	char *base = n->mem.va;
	struct vq_cfg c = {
		.size = size, .index = idx, .flags = flags,
		.desc = base + p->desc, .avail = base + p->avail, .used = base + p->used,
		.bufs = base + p->bufs + buf_off, .stride = p->stride,
		.buf_len = p->stride - buf_off, .mem = &n->mem, .dev_broken = &n->broken,
	};
	struct vn_vtr_queue tq;
	int rc;

	if (has(n, VIRTIO_RING_F_EVENT_IDX))
		c.flags |= VQ_F_EVENT_IDX;
	if (has(n, VIRTIO_F_ORDER_PLATFORM))
		c.flags |= VQ_F_STRONG;
	if (has(n, VIRTIO_F_RING_PACKED))
		c.flags |= VQ_F_PACKED;
	if (has(n, VIRTIO_F_IN_ORDER))
		c.flags |= VQ_F_IN_ORDER;
	if (has(n, VIRTIO_F_NOTIFICATION_DATA))
		c.flags |= VQ_F_NOTIFY_DATA;
	rc = vq_init(vq, &c);
	if (rc)
		return rc;
	vn_net_vq_place(n, vq, irq_fd, &tq);
	/* queue_setup programs the vector vn_net_irq_plan() chose and reads it
	 * back once more (virtio 1.2 §4.1.5.1.2). */
	return n->t->ops->queue_setup(n->t, idx, &tq, &vq->notify);
}

/*
 * The RSS limits (virtio 1.2 §5.1.4, present with VIRTIO_NET_F_RSS):
 * rss_max_key_size, rss_max_indirection_table_length, supported_hash_types.
 * §5.1.4.1 asks for at least 40 key bytes and 128 entries; a device that
 * reports less is taken at its word (capped at what struct vnet_rss holds).
 */
static int read_rss_config(struct vn_net *n)
{
	uint8_t key;
	uint16_t len;
	uint32_t types;
	int rc = vn_virtio_cfg_read(n->t, NCFG(rss_max_key_size), &key, 1);

	if (!rc)
		rc = vn_virtio_cfg_read(n->t, NCFG(rss_max_indirection_table_length), &len, 2);
	if (!rc)
		rc = vn_virtio_cfg_read(n->t, NCFG(supported_hash_types), &types, 4);
	if (rc)
		return rc;
	n->rss.max_key_len = VN_MIN(key, VNET_RSS_KEY_MAX);
	/* Device configuration fields are little-endian (virtio 1.2 §2.5). */
	n->rss.max_table_len = VN_MIN(le16toh(len), VNET_RSS_TABLE_MAX);
	n->rss.supported_hash_types = le32toh(types);
	/* A random key until the application sets one, as Linux's virtio_net
	 * has (netdev_rss_key_fill), so that a first configuration can name
	 * just a table and hash types. The device hears of it with the first
	 * vnet_dev_set_rss() only. */
	n->rss.key_len = n->rss.max_key_len;
	if (getrandom(n->rss.key, n->rss.key_len, 0) != (ssize_t)n->rss.key_len)
		return vn_err(-errno, "virtio-net: no random bytes for an RSS key");
	return 0;
}

void vn_net_vq_place(struct vn_net *n, const struct vq *vq, int irq_fd, struct vn_vtr_queue *tq)
{
	*tq = (struct vn_vtr_queue){
		.size = vq->size,
		.msix_vector = vn_net_irq_vector(n, irq_fd),
	};
	/* Packed (virtio 1.2 §2.8.10.1): the descriptor ring, then the driver
	 * and the device event suppression structures. */
	if (vq->packed) {
		tq->desc = vn_dma_iova(&n->mem, vq->ring);
		tq->driver = vn_dma_iova(&n->mem, vq->drv_event);
		tq->device = vn_dma_iova(&n->mem, vq->dev_event);
	} else {
		tq->desc = vn_dma_iova(&n->mem, vq->desc);
		tq->driver = vn_dma_iova(&n->mem, vq->avail);
		tq->device = vn_dma_iova(&n->mem, vq->used);
	}
}

/* Read the device config fields we use (virtio 1.2 §5.1.4). */
static int read_config(struct vn_net *n)
{
	uint16_t v;
	int rc;

	if (has(n, VIRTIO_NET_F_MAC)) {
		rc = vn_virtio_cfg_read(n->t, NCFG(mac), n->mac, 6);
		if (rc)
			return rc;
	} else {
		/* virtio 1.2 §5.1.5: without MAC, the driver generates a random
		 * address (here locally administered, unicast). */
		if (getrandom(n->mac, sizeof(n->mac), 0) != (ssize_t)sizeof(n->mac))
			return vn_err(-errno, "virtio-net: no random bytes for a MAC address");
		n->mac[0] = (uint8_t)((n->mac[0] & 0xfe) | 0x02);
	}
	n->mtu = 1500;
	if (has(n, VIRTIO_NET_F_MTU)) {
		rc = vn_virtio_cfg_read(n->t, NCFG(mtu), &v, 2);
		if (rc)
			return rc;
		/* virtio 1.2 §5.1.4.1: the device MUST set mtu to 68 or more. */
		if (v < 68)
			return vn_err(-EINVAL, "virtio-net: the device reports MTU %u (< 68)", v);
		n->mtu = v;
	}
	n->max_pairs = 1;
	if (has(n, VIRTIO_NET_F_MQ)) {
		rc = vn_virtio_cfg_read(n->t, NCFG(max_virtqueue_pairs), &v, 2);
		if (rc)
			return rc;
		/* virtio 1.2 §5.1.4.1: 1 to 0x8000. */
		if (v < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || v > VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX)
			return vn_err(-EINVAL, "virtio-net: the device reports %u queue pairs", v);
		n->max_pairs = v;
	}
	return has(n, VIRTIO_NET_F_RSS) ? read_rss_config(n) : 0;
}

static int negotiate(struct vn_net *n, uint64_t mask, uint64_t need, bool phys_addrs)
{
	uint64_t offered, accept, required = REQUIRED | need;
	int rc;

	if (phys_addrs)
		required &= ~BIT(VIRTIO_F_ACCESS_PLATFORM);
	if (mask & need)
		return vn_err(-EINVAL, "virtio-net: features_mask 0x%llx masks a bit the URI requires",
			      (unsigned long long)mask);
	if (mask & REQUIRED)
		return vn_err(-EINVAL, "virtio-net: features_mask 0x%llx masks a required bit "
			      "(VIRTIO_F_VERSION_1, VIRTIO_F_ACCESS_PLATFORM)",
			      (unsigned long long)mask);
	rc = vn_virtio_offered(n->t, &offered);
	if (rc)
		return rc;
	accept = offered & (WANTED | REQUIRED | need | (n->offload ? OFFLOADS : 0)) & ~mask;
	if (!(accept & BIT(VIRTIO_NET_F_CTRL_VQ)))
		accept &= ~NEED_CTRL_VQ;
	if (n->offload)
		accept = vn_net_offload_accept(offered, accept, phys_addrs);
	/* IN_ORDER lets a device report a batch with one used entry (virtio 1.2
	 * §2.7.9 split, §2.8.8 packed); only the packed ring handles that. */
	if (!(accept & BIT(VIRTIO_F_RING_PACKED)))
		accept &= ~BIT(VIRTIO_F_IN_ORDER);
	rc = vn_virtio_accept(n->t, offered, required, accept);
	if (rc)
		return rc;
	n->features = accept;
	return 0;
}

/* Pick queue pairs and ring size from the device's limits and cfg. */
static int size_queues(struct vn_net *n, const struct vn_net_cfg *cfg)
{
	uint16_t nq, max, dev_max = 0x8000;
	unsigned want;
	int rc;

	rc = n->t->ops->num_queues(n->t, &nq);
	if (rc)
		return rc;
	/* virtio 1.2 §5.1.2: 2 * max_virtqueue_pairs data queues, then controlq. */
	if ((unsigned)nq < 2u * n->max_pairs + (has(n, VIRTIO_NET_F_CTRL_VQ) ? 1u : 0u))
		return vn_err(-EINVAL, "virtio-net: the device has %u queues, too few for %u pairs%s",
			      nq, n->max_pairs, has(n, VIRTIO_NET_F_CTRL_VQ) ? " and a control queue" : "");
	n->pairs = (uint16_t)VN_MIN(n->max_pairs, VN_NET_MAX_PAIRS_DEFAULT);
	if (cfg->queue_pairs) {
		if (cfg->queue_pairs > n->max_pairs)
			return vn_err(-EINVAL, "virtio-net: %u queue pairs requested, the device offers %u",
				      cfg->queue_pairs, n->max_pairs);
		n->pairs = (uint16_t)cfg->queue_pairs;
	}
	for (uint16_t i = 0; i < 2u * n->pairs; i++) {
		rc = n->t->ops->queue_max(n->t, i, &max);
		if (rc)
			return rc;
		if (pow2_down(max) == 0)
			return vn_err(-ENODEV, "virtio-net: queue %u does not exist", i);
		dev_max = VN_MIN(dev_max, pow2_down(max));
	}
	want = cfg->queue_size;
	if (want && (want > dev_max || (want & (want - 1))))
		return vn_err(-EINVAL, "virtio-net: queue size %u is not a power of two <= %u", want,
			      dev_max);
	n->qsize = (uint16_t)(want ? want : VN_MIN(VN_NET_QSIZE_DEFAULT, dev_max));
	return 0;
}

/* TX slot: headroom and MTU + 18 bytes; RX slot: 2 KiB with MRG_RXBUF
 * (virtio 1.2 §5.1.6.3.1), else room for a whole frame. */
static uint32_t frame_stride(const struct vn_net *n)
{
	return pow2_up(VN_NET_HEADROOM + n->mtu + VN_NET_ETH_OVERHEAD);
}

/* With HOST_TSO4/6, TX slots take a whole GSO frame (virtio 1.2 §5.1.6.2). */
static uint32_t tx_stride(const struct vn_net *n)
{
	if (n->features & HOST_TSO)
		return pow2_up(VN_NET_HEADROOM + VN_MAX(VN_NET_GSO_MAX, n->mtu + VN_NET_ETH_OVERHEAD));
	return frame_stride(n);
}

static uint32_t rx_stride(const struct vn_net *n)
{
	return has(n, VIRTIO_NET_F_MRG_RXBUF) ? VN_NET_RX_MRG_SLOT : frame_stride(n);
}

static int setup_queues(struct vn_net *n)
{
	struct layout l = { 0 };
	struct place *p, ctrl_place;
	uint16_t ctrl_size = 0, ctrl_idx = (uint16_t)(2u * n->max_pairs), max;
	int rc;

	if (has(n, VIRTIO_NET_F_CTRL_VQ)) {
		rc = n->t->ops->queue_max(n->t, ctrl_idx, &max);
		if (rc)
			return rc;
		ctrl_size = (uint16_t)VN_MIN(pow2_down(max), CTRL_QSIZE_MAX);
		if (ctrl_size < 2)
			return vn_err(-EINVAL, "virtio-net: control queue %u holds %u entries, 2 needed",
				      ctrl_idx, max);
	}
	/* Queue pairs on their own cache lines: each belongs to one thread. */
	n->q = aligned_alloc(64, sizeof(*n->q) * n->pairs);
	if (!n->q)
		return vn_err(-ENOMEM, "virtio-net: out of memory");
	memset(n->q, 0, sizeof(*n->q) * n->pairs);
	rc = vn_net_irq_plan(n);
	if (rc)
		return rc;
	p = calloc(2u * n->pairs, sizeof(*p));
	if (!p)
		return vn_err(-ENOMEM, "virtio-net: out of memory");
	for (unsigned i = 0; i < n->pairs; i++) {
		plan(&l, &p[2 * i], n->qsize, rx_stride(n), has(n, VIRTIO_F_RING_PACKED));
		plan(&l, &p[2 * i + 1], n->qsize, tx_stride(n), has(n, VIRTIO_F_RING_PACKED));
	}
	if (ctrl_size)
		plan(&l, &ctrl_place, ctrl_size, CTRL_STRIDE, has(n, VIRTIO_F_RING_PACKED));
	rc = n->t->ops->dma_alloc(n->t, &n->mem, l.off, "vnet-rings");
	if (rc)
		goto out;
	if (vn_dma_contig(&n->mem) < l.unit_max) {
		rc = vn_err(-EINVAL,
			    "virtio-net: buffers or rings need %zu device-contiguous bytes, the memory gives %zu "
			    "(lower mtu or qsize, or use huge pages)",
			    l.unit_max, vn_dma_contig(&n->mem));
		goto out;
	}
	for (uint16_t i = 0; i < n->pairs && !rc; i++) {
		struct vn_netq *q = &n->q[i];

		q->net = n;
		q->pub.broken = &n->broken;
		q->tx_cap = n->mtu + VN_NET_ETH_OVERHEAD;
		q->frame_max = q->tx_cap;
		q->mrg = has(n, VIRTIO_NET_F_MRG_RXBUF);
		q->st.sz = sizeof(q->st);
		q->offload = n->offload;
		q->gso_cap = n->features & HOST_TSO ? VN_MAX(VN_NET_GSO_MAX, q->tx_cap) : 0;
		if (q->offload) {
			q->rx_meta = calloc(n->qsize, sizeof(*q->rx_meta));
			if (!q->rx_meta) {
				rc = vn_err(-ENOMEM, "virtio-net: out of memory");
				break;
			}
		}
		rc = setup_vq(n, &q->rx, (uint16_t)(2 * i), n->qsize, &p[2 * i],
			      VN_NET_HEADROOM - VN_NET_HDR_LEN, VQ_F_DEV_WRITES, q->pub.rx_fd);
		if (!rc)
			rc = setup_vq(n, &q->tx, (uint16_t)(2 * i + 1), n->qsize, &p[2 * i + 1],
				      VN_NET_HEADROOM - VN_NET_HDR_LEN, 0, q->pub.tx_fd);
	}
	if (!rc && ctrl_size) {
		/* The control queue is polled: no vector. */
		rc = setup_vq(n, &n->ctrl, ctrl_idx, ctrl_size, &ctrl_place, 0, 0, -1);
		n->ctrl_ok = !rc;
	}
out:
	free(p);
	return rc;
}

/* Post every RX buffer, one publish per queue. */
static void fill_rx(struct vn_net *n)
{
	for (unsigned i = 0; i < n->pairs; i++) {
		struct vq *vq = &n->q[i].rx;

		vq_any_enqueue_free(vq);
		vq_any_publish(vq);
	}
}

static void teardown(struct vn_net *n)
{
	/* The device must stop using the memory (and raising interrupts)
	 * before either is freed. */
	(void)vn_virtio_reset(n->t);
	vn_net_irq_stop(n);
	if (n->q)
		for (unsigned i = 0; i < n->pairs; i++) {
			vq_fini(&n->q[i].rx);
			vq_fini(&n->q[i].tx);
			free(n->q[i].rx_meta);
		}
	vq_fini(&n->ctrl);
	if (n->mem.va)
		n->t->ops->dma_free(n->t, &n->mem);
	free(n->q);
	pthread_mutex_destroy(&n->ctrl_lock);
	pthread_mutex_destroy(&n->ev_lock);
	pthread_mutex_destroy(&n->reset_lock);
	free(n);
}

int vn_net_open(struct vn_vtr *t, const struct vn_net_cfg *cfg, struct vn_net **out)
{
	struct vn_net *n = calloc(1, sizeof(*n));
	int rc;

	if (!n)
		return vn_err(-ENOMEM, "virtio-net: out of memory");
	n->t = t;
	n->link = 1;
	n->dead_fd = -1;
	n->notify = cfg->notify;
	n->notify_arg = cfg->notify_arg;
	/* The device's RX mode after reset: promiscuous, allmulti off. The
	 * spec leaves it open (§5.1.6.5.1 only says a device without CTRL_RX
	 * must be able to receive in promiscuous mode); QEMU and libvnet's
	 * sim both start that way, and the driver changes it explicitly. */
	n->iff = VNET_IFF_PROMISC;
	n->active_pairs = 1;
	n->auto_reset = cfg->auto_reset;
	n->offload = cfg->offload;
	pthread_mutex_init(&n->ctrl_lock, NULL);
	pthread_mutex_init(&n->ev_lock, NULL);
	pthread_mutex_init(&n->reset_lock, NULL);
	/* virtio 1.2 §3.1.1: reset, negotiate, set up, DRIVER_OK. */
	rc = vn_virtio_reset(t);
	if (!rc)
		rc = negotiate(n, cfg->features_mask, cfg->features_need, cfg->phys_addrs);
	if (!rc)
		rc = read_config(n);
	n->cur_mtu = n->cfg_mtu = n->mtu;
	if (!rc)
		rc = size_queues(n, cfg);
	if (!rc)
		rc = setup_queues(n);
	if (!rc)
		rc = vn_virtio_driver_ok(t);
	if (!rc && has(n, VIRTIO_NET_F_MQ) && n->pairs > 1) {
		/* virtio 1.2 §5.1.6.5.5: only the first pair runs until the driver
		 * sets the number of pairs. */
		uint16_t pairs = n->pairs;

		rc = vn_net_ctrl(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
				 sizeof(pairs));
		n->active_pairs = n->pairs;
	}
	if (!rc)
		rc = vn_net_irq_start(n);
	if (rc) {
		vn_err_hold(); /* the reason is rc's, not the teardown's */
		teardown(n);
		vn_err_release();
		return rc;
	}
	fill_rx(n);
	*out = n;
	return 0;
}

void vn_net_close(struct vn_net *n)
{
	if (!n)
		return;
	vn_net_tx_drain(n, VN_NET_CLOSE_DRAIN_MS);
	teardown(n);
}

int vn_net_link_up(struct vn_net *n, int *up)
{
	uint16_t st;
	int rc;

	*up = 1;
	if (!has(n, VIRTIO_NET_F_STATUS))
		return 0; /* virtio 1.2 §5.1.4.2: without STATUS, assume link up */
	rc = vn_virtio_cfg_read(n->t, NCFG(status), &st, 2);
	if (!rc)
		*up = !!(st & VIRTIO_NET_S_LINK_UP);
	return rc;
}

static int ctrl_wait(struct vn_net *n)
{
	uint64_t now = vn_virtio_now_ms(), deadline = now + VN_NET_CTRL_TIMEOUT_MS, look = now;
	int got;

	while ((got = vq_any_used_pending(&n->ctrl)) == 0) {
		now = vn_virtio_now_ms();
		/* A device that broke or went away answers nothing: say so now,
		 * not at the deadline. Its vfio-user server's hang-up may not have
		 * been heard: the engine thread, whose source that is, may be the
		 * one waiting here (a vnetconf request). The first reason stays. */
		if (!vq_broken(&n->ctrl) && now >= look) {
			look = now + CTRL_LOOK_MS;
			if (n->t->ops->alive && n->t->ops->alive(n->t))
				vq_mark_broken(&n->ctrl, "the device is gone (%s)", vn_err_msg());
		}
		if (vq_broken(&n->ctrl))
			return vn_err(-ENETDOWN, "virtio-net: the device broke or went away while "
				      "a control command waited for its answer");
		if (now > deadline) {
			vq_mark_broken(&n->ctrl, "the control queue did not answer within %d ms",
				       VN_NET_CTRL_TIMEOUT_MS);
			return vn_err(-ETIMEDOUT, "virtio-net: the control queue did not answer within %d ms",
				      VN_NET_CTRL_TIMEOUT_MS);
		}
		vn_virtio_pause();
	}
	return got < 0 ? -ENETDOWN : 0;
}

int vn_net_ctrl(struct vn_net *n, uint8_t cls, uint8_t cmd, const void *data, size_t len)
{
	struct vq *vq = &n->ctrl;
	uint16_t out_id, in_id;
	uint32_t used_len;
	uint8_t *hdr, ack;
	int rc, id;

	if (!n->ctrl_ok)
		return vn_err(-ENOTSUP, "virtio-net: the device has no control queue");
	if (len > CTRL_STRIDE - 2)
		return vn_err(-EINVAL, "virtio-net: control command of %zu bytes is too long", len);
	pthread_mutex_lock(&n->ctrl_lock);
	if (vq_broken(vq)) {
		rc = vn_err(-ENETDOWN, "virtio-net: the device is broken");
		goto out;
	}
	/* Between a NEEDS_RESET and the end of the auto reset, only the reset
	 * itself talks to the device. */
	if ((vq_stopped(vq) & VN_STOP_RESET) && !n->restoring) {
		rc = vn_err(-EAGAIN, "virtio-net: the device is being reset (after NEEDS_RESET); "
			    "try again");
		goto out;
	}
	/* One command at a time, so at least two ids are always free. */
	out_id = vq_take(vq);
	in_id = vq_take(vq);
	/* virtio 1.2 §5.1.6.5: class, command, data (device-readable), then
	 * the ack byte (device-writable). */
	hdr = (uint8_t *)vq_buf(vq, out_id);
	hdr[0] = cls;
	hdr[1] = cmd;
	if (len)
		memcpy(hdr + 2, data, len);
	*(uint8_t *)vq_buf(vq, in_id) = VIRTIO_NET_ERR;
	vq_any_enqueue_chain(vq, out_id, (uint32_t)(2 + len), in_id, 1);
	VN_STAT_ADD(n->ctrl_cmds, 1);
	vq_any_publish(vq);
	rc = ctrl_wait(n);
	if (rc)
		goto out;
	id = vq_any_used_get(vq, &used_len);
	if (id < 0) {
		rc = -ENETDOWN;
		goto out;
	}
	ack = *(volatile uint8_t *)vq_buf(vq, in_id);
	vq_give(vq, (uint16_t)id);
	vq_any_used_done(vq);
	if (used_len < 1 || ack != VIRTIO_NET_OK)
		rc = vn_err(-EIO, "virtio-net: the device rejected control command class %u cmd %u",
			    cls, cmd);
out:
	if (rc)
		VN_STAT_ADD(n->ctrl_errors, 1);
	pthread_mutex_unlock(&n->ctrl_lock);
	return rc;
}

void vn_net_health(struct vn_netq *q)
{
	struct vn_net *n = q->net;
	uint8_t st;
	int rc;

	q->health_ticks = 0;
	if (vq_broken(&q->rx))
		return;
	/* An auto reset under way, or about to start: it reads the device
	 * itself, which meanwhile is legitimately not DRIVER_OK. */
	if (pthread_mutex_trylock(&n->reset_lock))
		return;
	if (vq_stopped(&q->rx) & VN_STOP_RESET) {
		pthread_mutex_unlock(&n->reset_lock);
		return;
	}
	rc = n->t->ops->alive(n->t);
	if (!rc)
		rc = n->t->ops->get_status(n->t, &st);
	pthread_mutex_unlock(&n->reset_lock);
	if (rc) {
		vq_mark_broken(&q->rx, "the device is gone (%s)", strerror(-rc));
		vn_net_config_event(n);
		return;
	}
	/* virtio 1.2 §2.1.1: NEEDS_RESET (which the configuration event turns
	 * into an auto reset, when asked for); a status without DRIVER_OK means
	 * the device was reset under us; all ones is a PCI function that
	 * vanished. */
	if (st == 0xff)
		vq_mark_broken(&q->rx, "the device reads as all ones: it vanished");
	else if ((st & VIRTIO_CONFIG_S_NEEDS_RESET) && !n->auto_reset)
		vq_mark_broken(&q->rx, "the device set NEEDS_RESET (status 0x%02x)", st);
	else if (!(st & VIRTIO_CONFIG_S_DRIVER_OK))
		vq_mark_broken(&q->rx, "the device left DRIVER_OK (status 0x%02x)", st);
	/* The backstop for a configuration interrupt that never came. */
	if (vq_broken(&q->rx) || (st & VIRTIO_CONFIG_S_NEEDS_RESET))
		vn_net_config_event(n);
}

void vn_net_queue_stats(struct vnet_queue *pub, struct vnet_queue_stats *st)
{
	struct vn_netq *q = vn_netq(pub);
	struct vnet_queue_stats s;

	vn_port_stats_load(&q->st, &s);
	/* The doorbell writes are the vqs' count. */
	s.rx_kicks = VN_STAT_GET(q->rx.kicks);
	s.tx_kicks = VN_STAT_GET(q->tx.kicks);
	vn_port_stats_out(&s, st);
}
