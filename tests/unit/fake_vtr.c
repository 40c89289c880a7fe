/* SPDX-License-Identifier: MIT */
#include "fake_vtr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

static struct fake_vtr *to_fake(struct vn_vtr *t)
{
	return (struct fake_vtr *)(void *)t;
}

void *fake_va(struct fake_vtr *f, uint64_t iova)
{
	return (char *)f->mem->va + (iova - FAKE_IOVA);
}

struct vring_desc *fake_desc(struct fake_vtr *f, unsigned qi, unsigned id)
{
	return (struct vring_desc *)fake_va(f, f->q[qi].desc) + id;
}

uint16_t fake_avail_idx(struct fake_vtr *f, unsigned qi)
{
	struct vring_avail *a = fake_va(f, f->q[qi].driver);

	return __atomic_load_n(&a->idx, __ATOMIC_ACQUIRE);
}

int fake_pop(struct fake_vtr *f, unsigned qi)
{
	struct fake_q *q = &f->q[qi];
	struct vring_avail *a = fake_va(f, q->driver);

	if (fake_avail_idx(f, qi) == q->dev_avail)
		return -1;
	return a->ring[q->dev_avail++ % q->size];
}

void fake_used(struct fake_vtr *f, unsigned qi, uint32_t id, uint32_t len)
{
	struct fake_q *q = &f->q[qi];
	struct vring_used *u = fake_va(f, q->device);

	u->ring[q->dev_used % q->size].id = id;
	u->ring[q->dev_used % q->size].len = len;
	q->dev_used++;
	__atomic_store_n(&u->idx, q->dev_used, __ATOMIC_RELEASE);
}

static int get_status(struct vn_vtr *t, uint8_t *st)
{
	to_fake(t)->health_reads++;
	*st = to_fake(t)->status;
	return 0;
}

static int set_status(struct vn_vtr *t, uint8_t st)
{
	struct fake_vtr *f = to_fake(t);

	if (st & VIRTIO_CONFIG_S_FAILED)
		f->saw_failed = true;
	if ((st & VIRTIO_CONFIG_S_FEATURES_OK) && f->refuse_features_ok)
		st &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	if (st == 0)
		for (unsigned i = 0; i < FAKE_MAXQ; i++) {
			f->q[i].enabled = false;
			f->q[i].dev_avail = f->q[i].dev_used = 0;
		}
	f->status = st;
	return 0;
}

static int get_features(struct vn_vtr *t, uint64_t *v)
{
	*v = to_fake(t)->offered;
	return 0;
}

static int set_features(struct vn_vtr *t, uint64_t v)
{
	to_fake(t)->accepted = v;
	return 0;
}

static int cfg_generation(struct vn_vtr *t, uint8_t *g)
{
	*g = to_fake(t)->generation;
	return 0;
}

static int cfg_read(struct vn_vtr *t, uint32_t off, void *buf, size_t len)
{
	struct fake_vtr *f = to_fake(t);

	if (off + len > sizeof(f->cfg))
		return -EINVAL;
	memcpy(buf, f->cfg + off, len);
	return 0;
}

static int num_queues(struct vn_vtr *t, uint16_t *n)
{
	*n = to_fake(t)->nq;
	return 0;
}

static int queue_max(struct vn_vtr *t, uint16_t idx, uint16_t *max)
{
	struct fake_vtr *f = to_fake(t);

	*max = idx < f->nq ? f->q[idx].max : 0;
	return 0;
}

static int queue_setup(struct vn_vtr *t, uint16_t idx, const struct vn_vtr_queue *vq,
		       struct vn_vtr_notify *n)
{
	struct fake_vtr *f = to_fake(t);
	struct fake_q *q = &f->q[idx];

	if (idx >= f->nq || vq->size > q->max || f->msix_refuse)
		return -EINVAL;
	q->size = vq->size;
	q->msix = vq->msix_vector;
	q->desc = vq->desc;
	q->driver = vq->driver;
	q->device = vq->device;
	q->enabled = true;
	*n = (struct vn_vtr_notify){ .reg = NULL, .value = idx, .off = idx * 4u, .t = t };
	return 0;
}

/* Serve one control command: class, cmd, data | ack. */
static void serve_ctrl(struct fake_vtr *f)
{
	int head = fake_pop(f, f->ctrl_q);
	struct vring_desc *d, *ack;

	if (head < 0)
		return;
	d = fake_desc(f, f->ctrl_q, (unsigned)head);
	ack = fake_desc(f, f->ctrl_q, d->next);
	f->ctrl_len = d->len < sizeof(f->ctrl_cmd) ? d->len : sizeof(f->ctrl_cmd);
	memcpy(f->ctrl_cmd, fake_va(f, d->addr), f->ctrl_len);
	f->ctrl_cmds++;
	*(uint8_t *)fake_va(f, ack->addr) = f->ctrl_mode == FAKE_CTRL_OK ? 0 : 1;
	fake_used(f, f->ctrl_q, (uint32_t)head, 1);
}

static void kick(struct vn_vtr *t, const struct vn_vtr_notify *n)
{
	struct fake_vtr *f = to_fake(t);

	f->q[n->value].kicks++;
	f->q[n->value].notify_value = n->value;
	if (n->value == f->ctrl_q && f->ctrl_mode != FAKE_CTRL_SILENT)
		serve_ctrl(f);
}

static int dma_alloc(struct vn_vtr *t, struct vn_dma_mem *m, size_t len, const char *name)
{
	struct fake_vtr *f = to_fake(t);

	(void)name;
	len = (len + 4095) & ~(size_t)4095;
	memset(m, 0, sizeof(*m));
	m->va = aligned_alloc(4096, len);
	if (!m->va)
		return -ENOMEM;
	memset(m->va, 0, len);
	m->len = len;
	m->fd = -1;
	m->page_size = 4096;
	m->iova = FAKE_IOVA;
	m->mapped = true;
	if (f->page_mode) {
		/* Like no-IOMMU: per-page addresses (identity here). */
		m->page_iova = calloc(len / 4096, sizeof(uint64_t));
		for (size_t i = 0; m->page_iova && i < len / 4096; i++)
			m->page_iova[i] = FAKE_IOVA + i * 4096;
	}
	f->mem = m;
	f->dma_allocs++;
	return 0;
}

static void dma_free(struct vn_vtr *t, struct vn_dma_mem *m)
{
	(void)t;
	free(m->page_iova);
	free(m->va);
	m->va = NULL;
}

static int alive(struct vn_vtr *t)
{
	return to_fake(t)->alive_rc;
}

static int intx_route(struct vn_vtr *t, int fd)
{
	struct fake_vtr *f = to_fake(t);

	if (!f->intx)
		return -ENOTSUP;
	f->intx_fd = fd;
	return 0;
}

static void intx_log(struct fake_vtr *f, char c)
{
	unsigned n = __atomic_load_n(&f->n_intx_log, __ATOMIC_RELAXED);

	if (n < sizeof(f->intx_log)) {
		f->intx_log[n] = c;
		__atomic_store_n(&f->n_intx_log, n + 1, __ATOMIC_RELEASE);
	}
}

static int isr_read(struct vn_vtr *t, uint8_t *isr)
{
	struct fake_vtr *f = to_fake(t);

	*isr = __atomic_exchange_n(&f->isr, 0, __ATOMIC_ACQ_REL);
	intx_log(f, 'r');
	return 0;
}

static int intx_unmask(struct vn_vtr *t)
{
	intx_log(to_fake(t), 'u');
	return 0;
}

static void vclose(struct vn_vtr *t)
{
	(void)t;
}

static const struct vn_vtr_ops fake_ops = {
	.get_status = get_status, .set_status = set_status,
	.get_features = get_features, .set_features = set_features,
	.cfg_generation = cfg_generation, .cfg_read = cfg_read,
	.num_queues = num_queues, .queue_max = queue_max, .queue_setup = queue_setup,
	.kick = kick, .dma_alloc = dma_alloc, .dma_free = dma_free,
	.intx_route = intx_route, .isr_read = isr_read, .intx_unmask = intx_unmask,
	.alive = alive, .close = vclose,
};

void fake_set_cfg16(struct fake_vtr *f, unsigned off, uint16_t v)
{
	memcpy(f->cfg + off, &v, 2);
}

void fake_init(struct fake_vtr *f, uint64_t extra, uint16_t nq, uint16_t max)
{
	memset(f, 0, sizeof(*f));
	f->t.ops = &fake_ops;
	f->offered = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_ACCESS_PLATFORM) | extra;
	f->nq = nq;
	f->status = 0x0f; /* reset must clear this */
	f->intx_fd = -1;
	for (unsigned i = 0; i < FAKE_MAXQ; i++)
		f->q[i].max = i < nq ? max : 0;
	f->ctrl_q = (extra & (1ull << VIRTIO_NET_F_CTRL_VQ)) ? (uint16_t)(nq - 1) : 0xffff;
}
