/* SPDX-License-Identifier: MIT */
/* The fake 82574 (fake_e1000e.h). */
#include "fake_e1000e.h"

#include <errno.h>
#include <stdarg.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "e1000e/e1000e_regs.h"

#define IOVA_BASE 0x40000000ull

static struct fe *to_f(struct vn_devio *d)
{
	return (struct fe *)(void *)d;
}

uint32_t fe_reg(struct fe *f, uint32_t off)
{
	return f->reg[off / 4];
}

void fe_set(struct fe *f, uint32_t off, uint32_t v)
{
	f->reg[off / 4] = v;
}

static void load_mac(struct fe *f)
{
	const uint8_t *m = f->perm_mac;

	fe_set(f, E1K_RAL(0), (uint32_t)m[0] | m[1] << 8 | m[2] << 16 | (uint32_t)m[3] << 24);
	fe_set(f, E1K_RAH(0), (uint32_t)m[4] | m[5] << 8 | E1K_RAH_AV);
}

static int f_info(struct vn_devio *d, unsigned idx, struct vn_region_info *ri)
{
	(void)d;
	ri->size = idx == 0 ? FE_BAR_LEN : idx == 7 ? 256 : 0;
	ri->flags = VN_REGION_READ | VN_REGION_WRITE;
	return 0;
}

static bool clear_on_read(uint32_t off)
{
	return off >= 0x4000 && off < 0x4100;
}

static int f_read(struct vn_devio *d, unsigned idx, uint64_t off, void *buf, size_t len)
{
	struct fe *f = to_f(d);
	uint32_t v;

	if (idx == 7) {
		assert_true(off + len <= sizeof(f->cfg));
		memcpy(buf, f->cfg + off, len);
		return 0;
	}
	assert_int_equal(idx, 0);
	assert_int_equal(len, 4);
	assert_true(off + 4 <= FE_BAR_LEN && !(off & 3));
	v = f->reg[off / 4];
	if (off == E1K_STATUS)
		v = f->link ? E1K_STATUS_LU : 0;
	if (off == E1K_ICR || clear_on_read((uint32_t)off))
		f->reg[off / 4] = 0;
	memcpy(buf, &v, 4);
	return 0;
}

static int f_write(struct vn_devio *d, unsigned idx, uint64_t off, const void *buf, size_t len)
{
	struct fe *f = to_f(d);
	uint32_t v, *r;

	if (idx == 7) {
		assert_true(off + len <= sizeof(f->cfg));
		memcpy(f->cfg + off, buf, len);
		return 0;
	}
	assert_int_equal(idx, 0);
	assert_int_equal(len, 4);
	assert_true(off + 4 <= FE_BAR_LEN && !(off & 3));
	memcpy(&v, buf, 4);
	r = &f->reg[off / 4];
	switch (off) {
	case E1K_CTRL:
		*r = v & ~E1K_CTRL_RST; /* self-clearing */
		if (v & E1K_CTRL_RST) {
			f->resets++;
			if (f->no_autoload) {
				fe_set(f, E1K_RAL(0), 0);
				fe_set(f, E1K_RAH(0), 0);
			} else {
				load_mac(f);
			}
		}
		break;
	case E1K_EERD: /* words 0-2: the permanent address */
		if ((v & E1K_EERD_START) && (v >> E1K_EERD_ADDR_SHIFT) < 3) {
			unsigned w = v >> E1K_EERD_ADDR_SHIFT;

			*r = (v & 0xffffu) | E1K_EERD_DONE |
			     (uint32_t)(f->perm_mac[2 * w] | f->perm_mac[2 * w + 1] << 8) << 16;
		}
		break;
	case E1K_MDIC:
		*r = (v & ~0xffffu) | E1K_MDIC_READY;
		break;
	case E1K_ICR:
		*r &= ~v;
		break;
	case E1K_IMS:
		f->reg[E1K_IMS / 4] |= v;
		break;
	case E1K_IMC:
		f->reg[E1K_IMS / 4] &= ~v;
		break;
	case E1K_RDT:
		f->rdt_writes++;
		*r = v;
		break;
	case E1K_TDT:
		f->tdt_writes++;
		*r = v;
		break;
	default:
		*r = v;
	}
	return 0;
}

static int f_map(struct vn_devio *d, unsigned idx, uint64_t off, size_t len, void **va)
{
	(void)d, (void)idx, (void)off, (void)len, (void)va;
	return -ENOTSUP;
}

static int f_irq_info(struct vn_devio *d, unsigned idx, uint32_t *count)
{
	struct fe *f = to_f(d);

	*count = idx == 2 ? f->msix : idx == 1 ? f->msi : 0;
	return 0;
}

static int f_set_irqs(struct vn_devio *d, unsigned idx, unsigned start, unsigned count,
		      const int *fds)
{
	struct fe *f = to_f(d);

	(void)start, (void)fds;
	f->irq_idx = idx;
	f->irq_count = count;
	return 0;
}

static int f_dma_map(struct vn_devio *d, struct vn_dma_mem *m)
{
	struct fe *f = to_f(d);

	m->iova = IOVA_BASE;
	m->mapped = true;
	f->mem = m;
	return 0;
}

static int f_dma_unmap(struct vn_devio *d, struct vn_dma_mem *m)
{
	to_f(d)->mem = NULL;
	m->mapped = false;
	return 0;
}

static void f_close(struct vn_devio *d)
{
	(void)d;
}

static const struct vn_devio_ops fops = {
	.region_info = f_info, .region_read = f_read, .region_write = f_write,
	.region_map = f_map, .irq_info = f_irq_info, .set_irqs = f_set_irqs,
	.dma_map = f_dma_map, .dma_unmap = f_dma_unmap, .close = f_close,
};

void fe_init(struct fe *f)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	memset(f, 0, sizeof(*f));
	f->d.ops = &fops;
	f->d.access = "vfio-group";
	f->cfg[0] = 0x86, f->cfg[1] = 0x80, f->cfg[2] = 0xd3, f->cfg[3] = 0x10;
	memcpy(f->perm_mac, mac, 6);
	f->link = true;
	load_mac(f);
}

void *fe_dma(struct fe *f, uint64_t iova, size_t len)
{
	assert_non_null(f->mem);
	assert_true(iova >= f->mem->iova && iova + len <= f->mem->iova + f->mem->len);
	return (uint8_t *)f->mem->va + (iova - f->mem->iova);
}

static uint64_t ring_base(struct fe *f, uint32_t lo, uint32_t hi)
{
	return (uint64_t)fe_reg(f, hi) << 32 | fe_reg(f, lo);
}

unsigned fe_tx(struct fe *f, uint8_t *out, size_t cap, uint16_t *lens, unsigned max)
{
	uint32_t n = fe_reg(f, E1K_TDLEN) / 16, h = fe_reg(f, E1K_TDH);
	uint64_t base = ring_base(f, E1K_TDBAL, E1K_TDBAH);
	size_t at = 0;
	unsigned got = 0;

	assert_true(fe_reg(f, E1K_TCTL) & E1K_TCTL_EN);
	while (h != fe_reg(f, E1K_TDT) && got < max) {
		struct e1k_tx_desc *d = fe_dma(f, base + 16ull * h, 16);

		assert_true(d->cmd & E1K_TXD_EOP);
		assert_true(at + d->len <= cap);
		memcpy(out + at, fe_dma(f, d->addr, d->len), d->len);
		at += d->len;
		lens[got++] = d->len;
		if (d->cmd & E1K_TXD_RS)
			d->status |= E1K_TXD_DD;
		h = (h + 1) % n;
	}
	fe_set(f, E1K_TDH, h);
	return got;
}

int fe_rx(struct fe *f, const void *frame, uint16_t len, uint8_t errors, uint8_t status_clear)
{
	uint32_t n = fe_reg(f, E1K_RDLEN) / 16, h = fe_reg(f, E1K_RDH);
	struct e1k_rx_desc *d;

	assert_true(fe_reg(f, E1K_RCTL) & E1K_RCTL_EN);
	if (h == fe_reg(f, E1K_RDT))
		return -1;
	d = fe_dma(f, ring_base(f, E1K_RDBAL, E1K_RDBAH) + 16ull * h, 16);
	memcpy(fe_dma(f, d->addr, len), frame, len);
	d->len = len;
	d->errors = errors;
	d->status = (E1K_RXD_DD | E1K_RXD_EOP) & ~status_clear;
	fe_set(f, E1K_RDH, (h + 1) % n);
	return 0;
}

void fe_rx_raw(struct fe *f, uint32_t i, uint16_t len, uint8_t status)
{
	struct e1k_rx_desc *d = fe_dma(f, ring_base(f, E1K_RDBAL, E1K_RDBAH) + 16ull * i, 16);

	d->len = len;
	d->status = status;
}
