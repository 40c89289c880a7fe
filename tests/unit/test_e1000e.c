/* SPDX-License-Identifier: MIT */
/*
 * The e1000e driver against the register-level fake (fake_e1000e.h):
 * bring-up registers, frames out and in (bytes and order), ring wrap,
 * drops counted, hostile write-backs refused, settings in the right
 * registers, clear-on-read counters accumulated, link events, and the
 * PCI driver selection.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <time.h>
#include <unistd.h>

#include "e1000e/e1000e.h"
#include "log.h"
#include "pci.h"
#include "port.h"
#include "uri.h"
#include "fake_e1000e.h"

struct t {
	struct fe f;
	struct vn_port *p;
	struct vnet_queue *q;
};

static struct t *open_with(const char *uri, unsigned qsize)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct t *t = test_calloc(1, sizeof(*t));
	struct vn_uri u;

	o.queue_size = qsize;
	fe_init(&t->f);
	assert_int_equal(vn_uri_parse(uri, &u), 0);
	assert_int_equal(vn_pci_attach(&t->f.d, &u, &o, &t->p), 0);
	assert_ptr_equal(t->p->ops, &vn_e1000e_port_ops);
	t->q = t->p->ops->queue(t->p, 0);
	return t;
}

static void close_t(struct t *t)
{
	t->p->ops->close(t->p);
	assert_null(t->f.mem); /* unmapped before it went */
	test_free(t);
}

static void fill(uint8_t *b, uint32_t len, unsigned seed)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 31 + i);
}

static uint64_t xstat(struct t *t, const char *name)
{
	struct vnet_xstat xs[32];
	int n = t->p->ops->xstats(t->p, xs, 32);

	for (int i = 0; i < n; i++)
		if (!strcmp(xs[i].name, name))
			return xs[i].value;
	fail_msg("no xstat %s", name);
	return 0;
}

static void stats(struct t *t, struct vnet_queue_stats *st)
{
	st->sz = sizeof(*st);
	t->p->ops->stats(t->q, st);
}

static void open_registers(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 0);
	struct vnet_dev_info i = { .sz = sizeof(i) };
	uint32_t rctl = fe_reg(&t->f, E1K_RCTL);

	(void)state;
	assert_int_equal(t->f.resets, 1);
	assert_true(fe_reg(&t->f, E1K_CTRL) & E1K_CTRL_SLU);
	assert_int_equal(rctl, E1K_RCTL_EN | E1K_RCTL_BAM | E1K_RCTL_SECRC); /* 2048-byte buffers */
	assert_int_equal(fe_reg(&t->f, E1K_RDLEN), 256 * 16);
	assert_int_equal(fe_reg(&t->f, E1K_TDLEN), 256 * 16);
	assert_int_equal(fe_reg(&t->f, E1K_RDT), 255); /* every buffer posted but one */
	assert_int_equal(fe_reg(&t->f, E1K_TCTL) & (E1K_TCTL_EN | E1K_TCTL_PSP),
			 E1K_TCTL_EN | E1K_TCTL_PSP);
	assert_int_equal(fe_reg(&t->f, E1K_RFCTL), 0); /* legacy descriptors */
	assert_int_equal(fe_reg(&t->f, E1K_RAH(1)), 0);
	/* Bus mastering on: the PCI command register's memory and master bits. */
	assert_int_equal(t->f.cfg[4] & 0x6, 0x6);
	t->p->ops->info(t->p, &i);
	assert_memory_equal(i.mac, "\x52\x54\x00\x12\x34\x56", 6);
	assert_int_equal(i.mtu, 1500);
	assert_int_equal(i.max_mtu, 1500);
	assert_int_equal(i.queue_size, 256);
	assert_int_equal(i.link_up, 1);
	assert_int_equal(i.flags, VNET_IFF_UP);
	assert_string_equal(i.access, "vfio-group");
	/* Polled: no interrupts offered. */
	assert_int_equal(t->p->event_fd, -1);
	assert_int_equal(t->q->rx_fd, -1);
	close_t(t);
}

/* n frames out, of lengths 60 + 7k; the fake sees the same bytes in order. */
static void send_frames(struct t *t, unsigned n, unsigned seed)
{
	static uint8_t out[64 * 2048];
	uint16_t lens[64];
	struct vnet_buf b[64];
	size_t at = 0;

	assert_true(n <= 64);
	assert_int_equal(t->p->ops->tx_reserve(t->q, b, n), (int)n);
	for (unsigned k = 0; k < n; k++) {
		assert_int_equal(b[k].len, 1518);
		b[k].len = 60 + 7 * k;
		fill(b[k].data, b[k].len, seed + k);
	}
	assert_int_equal(t->p->ops->tx_submit(t->q, b, n), (int)n);
	assert_int_equal(fe_tx(&t->f, out, sizeof(out), lens, 64), n);
	for (unsigned k = 0; k < n; k++) {
		uint8_t want[2048];

		assert_int_equal(lens[k], 60 + 7 * k);
		fill(want, lens[k], seed + k);
		assert_memory_equal(out + at, want, lens[k]);
		at += lens[k];
	}
}

static void tx_frames(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 0);
	struct vnet_queue_stats st;
	struct vnet_buf b[2];
	unsigned kicks = t->f.tdt_writes;

	(void)state;
	send_frames(t, 5, 1);
	assert_int_equal(t->f.tdt_writes, ++kicks); /* one tail write for the burst */
	assert_int_equal(fe_reg(&t->f, E1K_TDT), 5);
	stats(t, &st);
	assert_int_equal(st.tx_packets, 5);
	assert_int_equal(st.tx_bytes, 5 * 60 + 7 * 10);
	/* Too long: refused, counted, nothing sent. */
	assert_int_equal(t->p->ops->tx_reserve(t->q, b, 2), 2);
	b[0].len = 10;
	b[1].len = 1519;
	assert_int_equal(t->p->ops->tx_submit(t->q, b, 2), -EMSGSIZE);
	stats(t, &st);
	assert_int_equal(st.tx_errors, 1);
	assert_int_equal(t->f.tdt_writes, kicks);
	/* A buffer not reserved. */
	b[1].len = 10;
	b[1].id = 3;
	assert_int_equal(t->p->ops->tx_submit(t->q, b, 2), -EINVAL);
	/* b[0] is still held; a len 0 buffer goes back unsent. */
	assert_int_equal(t->p->ops->tx_reserve(t->q, &b[1], 1), 1);
	b[1].len = 0;
	assert_int_equal(t->p->ops->tx_submit(t->q, b, 2), 2);
	assert_int_equal(fe_reg(&t->f, E1K_TDT), 6);
	close_t(t);
}

static void rx_frames(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 0);
	struct vnet_queue_stats st;
	struct vnet_buf b[8];
	uint8_t fr[200];
	unsigned rdt;

	(void)state;
	assert_false(t->p->ops->ready(t->q, false));
	for (unsigned k = 0; k < 5; k++) {
		fill(fr, 60 + k, k);
		assert_int_equal(fe_rx(&t->f, fr, (uint16_t)(60 + k), 0, 0), 0);
	}
	assert_true(t->p->ops->ready(t->q, false));
	rdt = t->f.rdt_writes;
	assert_int_equal(t->p->ops->rx_peek(t->q, b, 3), 3);
	assert_int_equal(t->p->ops->rx_peek(t->q, b + 3, 8), 2);
	assert_int_equal(t->f.rdt_writes, rdt); /* peeking rings no doorbell */
	for (unsigned k = 0; k < 5; k++) {
		fill(fr, 60 + k, k);
		assert_int_equal(b[k].len, 60 + k);
		assert_memory_equal(b[k].data, fr, 60 + k);
	}
	stats(t, &st);
	assert_int_equal(st.rx_packets, 5);
	assert_int_equal(st.rx_bytes, 5 * 60 + 10);
	/* Released out of order: posted again with one tail write, up to the
	 * ring's 255 (one of the six free buffers waits). */
	assert_int_equal(t->p->ops->rx_release(t->q, (const struct vnet_buf[]){ b[3], b[0], b[4], b[1], b[2] }, 5), 0);
	assert_int_equal(t->f.rdt_writes, rdt + 1);
	assert_int_equal(fe_reg(&t->f, E1K_RDT), (255 + 5) % 256);
	assert_int_equal(t->p->ops->rx_release(t->q, b, 1), -EINVAL); /* not held any more */
	close_t(t);
}

/* qsize 8: both rings wrap many times; bytes and order stay right. */
static void ring_wrap(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 8);
	struct vnet_buf b[8];
	uint8_t fr[128];

	(void)state;
	for (unsigned round = 0; round < 40; round++) {
		send_frames(t, 1 + round % 7, round);
		for (unsigned k = 0; k < 5; k++) {
			fill(fr, 64 + k, round + k);
			assert_int_equal(fe_rx(&t->f, fr, (uint16_t)(64 + k), 0, 0), 0);
		}
		assert_int_equal(t->p->ops->rx_peek(t->q, b, 8), 5);
		for (unsigned k = 0; k < 5; k++) {
			fill(fr, 64 + k, round + k);
			assert_memory_equal(b[k].data, fr, 64 + k);
		}
		assert_int_equal(t->p->ops->rx_release(t->q, b, 5), 0);
	}
	/* The ring holds 7: the 8th frame finds no descriptor. */
	for (unsigned k = 0; k < 7; k++)
		assert_int_equal(fe_rx(&t->f, fr, 64, 0, 0), 0);
	assert_int_equal(fe_rx(&t->f, fr, 64, 0, 0), -1);
	close_t(t);
}

static void rx_drops(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 0);
	struct vnet_queue_stats st;
	struct vnet_buf b[8];
	uint8_t fr[1600];

	(void)state;
	fill(fr, sizeof(fr), 9);
	assert_int_equal(fe_rx(&t->f, fr, 100, 0x01, 0), 0);           /* CRC error */
	assert_int_equal(fe_rx(&t->f, fr, 100, 0, E1K_RXD_EOP), 0);     /* spans two buffers */
	assert_int_equal(fe_rx(&t->f, fr, 100, 0, 0), 0);               /* ... its end */
	assert_int_equal(fe_rx(&t->f, fr, 1519, 0, 0), 0);              /* longer than MTU + 18 */
	assert_int_equal(fe_rx(&t->f, fr, 0, 0, 0), 0);                 /* empty */
	assert_int_equal(fe_rx(&t->f, fr, 77, 0, 0), 0);                /* good */
	assert_int_equal(t->p->ops->rx_peek(t->q, b, 8), 1);
	assert_int_equal(b[0].len, 77);
	assert_memory_equal(b[0].data, fr, 77);
	stats(t, &st);
	assert_int_equal(st.rx_dropped, 4);
	assert_int_equal(st.rx_errors, 4);
	assert_int_equal(st.rx_packets, 1);
	/* The 5 dropped buffers (and the spare one) went back to the device at
	 * once: the ring is full again (255 of 256). */
	assert_int_equal(fe_reg(&t->f, E1K_RDT), (255 + 6) % 256);
	/* Administratively down: frames dropped and counted, not returned. */
	assert_int_equal(t->p->ops->set(t->p, &(struct vn_set){ .kind = VN_SET_UP, .val = 0 }), 0);
	assert_int_equal(fe_rx(&t->f, fr, 80, 0, 0), 0);
	assert_int_equal(t->p->ops->rx_peek(t->q, b + 1, 7), 0);
	assert_int_equal(t->p->ops->tx_reserve(t->q, b + 1, 1), -ENETDOWN);
	stats(t, &st);
	assert_int_equal(st.rx_dropped, 5);
	assert_int_equal(st.rx_errors, 4);
	assert_int_equal(t->p->ops->rx_release(t->q, b, 1), 0);
	close_t(t);
}

static void expect_broken(struct t *t)
{
	struct vnet_buf b[2];
	int type = 0;

	assert_int_equal(t->p->ops->rx_peek(t->q, b, 2), -ENETDOWN);
	assert_int_equal(t->p->ops->tx_reserve(t->q, b, 2), -ENETDOWN);
	assert_int_equal(xstat(t, "bad_writebacks"), 1);
	assert_int_equal(t->p->ops->event(t->p, &type), 1);
	assert_int_equal(type, VNET_EV_NEEDS_RESET);
}

static void hostile_length(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 0);
	struct vnet_buf b[2];
	uint8_t fr[64] = { 0 };

	(void)state;
	assert_int_equal(fe_rx(&t->f, fr, 64, 0, 0), 0);
	fe_rx_raw(&t->f, 0, 2049, E1K_RXD_DD | E1K_RXD_EOP); /* past its 2048-byte buffer */
	assert_int_equal(t->p->ops->rx_peek(t->q, b, 2), -ENETDOWN);
	assert_string_equal(vn_err_msg(), "the device is broken or was reset; reopen it");
	expect_broken(t);
	close_t(t);
}

static void hostile_stray_rx(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 8);
	struct vnet_buf b[8];
	uint8_t fr[64] = { 0 };

	(void)state;
	for (unsigned k = 0; k < 7; k++)
		assert_int_equal(fe_rx(&t->f, fr, 64, 0, 0), 0);
	/* Descriptor 7 was never handed over (RDT 7): DD there is a lie. */
	fe_rx_raw(&t->f, 7, 64, E1K_RXD_DD | E1K_RXD_EOP);
	assert_int_equal(t->p->ops->rx_peek(t->q, b, 8), -ENETDOWN);
	expect_broken(t);
	close_t(t);
}

static void hostile_stray_tx(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 8);
	struct e1k_tx_desc *d;
	struct vnet_buf b[8];
	uint16_t lens[8];
	uint8_t out[8 * 2048];

	(void)state;
	assert_int_equal(t->p->ops->tx_reserve(t->q, b, 1), 1);
	b[0].len = 60;
	assert_int_equal(t->p->ops->tx_submit(t->q, b, 1), 1);
	assert_int_equal(fe_tx(&t->f, out, sizeof(out), lens, 8), 1);
	/* DD on descriptor 1, which holds nothing (TDT is 1). */
	d = fe_dma(&t->f, ((uint64_t)fe_reg(&t->f, E1K_TDBAH) << 32 | fe_reg(&t->f, E1K_TDBAL)) + 16 * 1, 16);
	d->status = E1K_TXD_DD;
	assert_int_equal(t->p->ops->tx_reserve(t->q, b, 7), -ENETDOWN);
	expect_broken(t);
	close_t(t);
}

static void hostile_head(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 0);

	(void)state;
	fe_set(&t->f, E1K_RDH, 256);
	t->p->ops->check(t->q);
	expect_broken(t);
	close_t(t);
}

/* A deterministic generator for the random write-backs below. */
static uint32_t rnd(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*x >> 33);
}

/*
 * Random write-backs, good and bad, against a small ring: whatever the
 * device writes, the driver returns only frames inside its buffers and the
 * MTU, and once it refuses a write-back it stays broken with the refusal
 * counted once. (Run under
 * ASan/valgrind in CI: no access outside the rings and buffers.)
 */
static void hostile_random(void **state)
{
	uint64_t x = 42;

	(void)state;
	for (unsigned run = 0; run < 40; run++) {
		struct t *t = open_with("vfio:00:04.0", 8);
		const uint8_t *lo = t->f.mem->va, *hi = lo + t->f.mem->len;
		struct vnet_queue_stats st;
		struct vnet_buf b[8];
		uint8_t fr[2048];
		bool broken = false;

		memset(fr, 0xa5, sizeof(fr));
		for (unsigned step = 0; step < 60 && !broken; step++) {
			uint32_t r = rnd(&x);
			int got;

			if (r % 16 == 0) /* anything, anywhere */
				fe_rx_raw(&t->f, rnd(&x) % 8, (uint16_t)rnd(&x), (uint8_t)rnd(&x));
			else
				(void)fe_rx(&t->f, fr, (uint16_t)(rnd(&x) % 2049),
					    (uint8_t)(r % 5 == 0 ? rnd(&x) : 0),
					    (uint8_t)(r % 7 == 0 ? E1K_RXD_EOP : 0));
			got = t->p->ops->rx_peek(t->q, b, 8);
			if (got < 0) {
				assert_int_equal(got, -ENETDOWN);
				broken = true;
				break;
			}
			for (int k = 0; k < got; k++) {
				const uint8_t *d = b[k].data;

				assert_true(b[k].len > 0 && b[k].len <= 1518);
				assert_true(d >= lo && d + b[k].len <= hi);
			}
			assert_int_equal(t->p->ops->rx_release(t->q, b, (unsigned)got), 0);
		}
		stats(t, &st);
		if (broken) {
			assert_int_equal(xstat(t, "bad_writebacks"), 1);
			assert_int_equal(t->p->ops->rx_peek(t->q, b, 8), -ENETDOWN);
		} else {
			assert_int_equal(xstat(t, "bad_writebacks"), 0);
		}
		close_t(t);
	}
}

static void settings(void **state)
{
	struct t *t = open_with("vfio:00:04.0?mtu=3000", 0);
	static const uint8_t uc[6] = { 0x02, 0, 0, 0, 0, 0x07 };
	static const uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0x00, 0x12, 0x34 };
	struct vnet_dev_filters f = { .sz = sizeof(f) };
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct vn_set s = { .kind = VN_SET_PROMISC, .val = 1 };
	uint32_t base = E1K_RCTL_EN | E1K_RCTL_BAM | E1K_RCTL_SECRC | 3u << 16 | E1K_RCTL_BSEX |
			E1K_RCTL_LPE;
	unsigned h = (0x12 >> 4 | 0x34 << 4) & 0xfff;
	int type;

	(void)state;
	/* 4096-byte buffers for MTU 3000, long frames on. */
	assert_int_equal(fe_reg(&t->f, E1K_RCTL), base);
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	assert_int_equal(fe_reg(&t->f, E1K_RCTL), base | E1K_RCTL_UPE | E1K_RCTL_MPE);
	assert_int_equal(t->p->ops->event(t->p, &type), 1);
	assert_int_equal(type, VNET_EV_SETTINGS);
	s.val = 0;
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	s = (struct vn_set){ .kind = VN_SET_ALLMULTI, .val = 1 };
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	assert_int_equal(fe_reg(&t->f, E1K_RCTL), base | E1K_RCTL_MPE);
	s = (struct vn_set){ .kind = VN_SET_MTU, .val = 1500 };
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	assert_int_equal(fe_reg(&t->f, E1K_RCTL), (base & ~E1K_RCTL_LPE) | E1K_RCTL_MPE);
	s.val = 3001;
	assert_int_equal(t->p->ops->set(t->p, &s), -ERANGE);
	/* A unicast entry in RAR[1], a multicast one hashed into the MTA. */
	s = (struct vn_set){ .kind = VN_SET_MAC_ADD };
	memcpy(s.mac, uc, 6);
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	assert_int_equal(t->p->ops->set(t->p, &s), -EEXIST);
	memcpy(s.mac, mc, 6);
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	assert_int_equal(fe_reg(&t->f, E1K_RAL(1)), 0x02);
	assert_int_equal(fe_reg(&t->f, E1K_RAH(1)), 0x0700 | E1K_RAH_AV);
	assert_int_equal(fe_reg(&t->f, E1K_MTA + 4 * (h >> 5)), 1u << (h & 31));
	s.kind = VN_SET_MAC_DEL;
	memcpy(s.mac, uc, 6);
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	assert_int_equal(fe_reg(&t->f, E1K_RAH(1)), 0);
	assert_int_equal(fe_reg(&t->f, E1K_MTA + 4 * (h >> 5)), 1u << (h & 31));
	/* VLAN 100: VFTA[3] bit 4, and the filter on. */
	s = (struct vn_set){ .kind = VN_SET_VLAN_ADD, .val = 100 };
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	assert_int_equal(fe_reg(&t->f, E1K_VFTA + 4 * 3), 1u << 4);
	assert_true(fe_reg(&t->f, E1K_RCTL) & E1K_RCTL_VFE);
	t->p->ops->filters(t->p, &f);
	assert_int_equal(f.n_mac, 1);
	assert_memory_equal(f.mac[0], mc, 6);
	assert_int_equal(f.n_vlan, 1);
	assert_int_equal(f.vlan[0], 100);
	s.kind = VN_SET_VLAN_DEL;
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	assert_int_equal(fe_reg(&t->f, E1K_VFTA + 4 * 3), 0);
	assert_false(fe_reg(&t->f, E1K_RCTL) & E1K_RCTL_VFE);
	/* The station address: RAR[0]. */
	s = (struct vn_set){ .kind = VN_SET_MAC, .mac = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 } };
	assert_int_equal(t->p->ops->set(t->p, &s), 0);
	assert_int_equal(fe_reg(&t->f, E1K_RAL(0)), 0x33221102);
	assert_int_equal(fe_reg(&t->f, E1K_RAH(0)), 0x5544 | E1K_RAH_AV);
	t->p->ops->info(t->p, &i);
	assert_memory_equal(i.mac, s.mac, 6);
	assert_int_equal(i.flags, VNET_IFF_UP | VNET_IFF_ALLMULTI);
	s.mac[0] = 1;
	assert_int_equal(t->p->ops->set(t->p, &s), -EINVAL);
	s = (struct vn_set){ .kind = VN_SET_QUEUE_PAIRS, .val = 2 };
	assert_int_equal(t->p->ops->set(t->p, &s), -EINVAL);
	close_t(t);
}

/* Statistics registers clear on read: the driver adds them up. */
static void counters(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 0);
	struct vnet_queue_stats st;

	(void)state;
	fe_set(&t->f, E1K_MPC, 7);
	fe_set(&t->f, E1K_CRCERRS, 2);
	fe_set(&t->f, E1K_GORCL, 0x10);
	fe_set(&t->f, E1K_GORCL + 4, 1);
	stats(t, &st);
	assert_int_equal(st.rx_dropped, 9);
	assert_int_equal(st.rx_errors, 2);
	stats(t, &st);
	assert_int_equal(st.rx_dropped, 9); /* read, not doubled */
	fe_set(&t->f, E1K_MPC, 3);
	assert_int_equal(xstat(t, "dev_rx_missed"), 10);
	assert_int_equal(xstat(t, "dev_rx_good_bytes"), 0x100000010ull);
	assert_int_equal(xstat(t, "dev_rx_crc_errors"), 2);
	close_t(t);
}

static void link_events(void **state)
{
	struct t *t = open_with("vfio:00:04.0", 0);
	struct vnet_dev_info i = { .sz = sizeof(i) };
	int type;

	(void)state;
	assert_int_equal(t->p->ops->event(t->p, &type), 0);
	t->f.link = false;
	fe_set(&t->f, E1K_ICR, E1K_INT_LSC);
	assert_int_equal(t->p->ops->event(t->p, &type), 1);
	assert_int_equal(type, VNET_EV_LINK_DOWN);
	assert_int_equal(fe_reg(&t->f, E1K_ICR), 0); /* acknowledged */
	t->p->ops->info(t->p, &i);
	assert_int_equal(i.link_up, 0);
	t->f.link = true;
	assert_int_equal(t->p->ops->event(t->p, &type), 1);
	assert_int_equal(type, VNET_EV_LINK_UP);
	assert_int_equal(t->p->ops->event(t->p, &type), 0);
	close_t(t);
}

static struct t *open_irq(uint32_t msix, uint32_t msi);

/* MSI-X: three vectors routed, causes mapped by IVAR, arm/disarm in IMS. */
static void msix(void **state)
{
	struct t *t = open_irq(5, 1);

	(void)state;
	assert_int_equal(t->f.irq_idx, 2);
	assert_int_equal(t->f.irq_count, 3);
	assert_int_equal(fe_reg(&t->f, E1K_IVAR), 0x80080a09u);
	assert_int_equal(fe_reg(&t->f, E1K_EIAC), E1K_INT_RXQ0 | E1K_INT_TXQ0);
	assert_int_equal(fe_reg(&t->f, E1K_IMS), E1K_INT_LSC | E1K_INT_OTHER);
	assert_true(t->p->event_fd >= 0);
	assert_true(t->q->rx_fd >= 0 && t->q->tx_fd >= 0 && t->q->rx_fd != t->q->tx_fd);
	/* A cause left from while RX was masked is cleared before arming. */
	fe_set(&t->f, E1K_ICR, E1K_INT_RXQ0 | E1K_INT_LSC);
	assert_false(t->p->ops->arm(t->q, false));
	assert_true(fe_reg(&t->f, E1K_IMS) & E1K_INT_RXQ0);
	assert_int_equal(fe_reg(&t->f, E1K_ICR), E1K_INT_LSC);
	t->p->ops->disarm(t->q, false);
	assert_false(fe_reg(&t->f, E1K_IMS) & E1K_INT_RXQ0);
	/* Work already there: arm says so and leaves the cause masked. */
	assert_true(t->p->ops->arm(t->q, true));
	assert_false(fe_reg(&t->f, E1K_IMS) & E1K_INT_TXQ0);
	t->p->ops->close(t->p);
	assert_int_equal(t->f.irq_count, 0); /* the vectors unrouted */
	test_free(t);
}

static struct t *open_irq(uint32_t msix, uint32_t msi)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct t *t = test_calloc(1, sizeof(*t));
	struct vn_uri u;

	fe_init(&t->f);
	t->f.msix = msix;
	t->f.msi = msi;
	assert_int_equal(vn_uri_parse("vfio:00:04.0", &u), 0);
	assert_int_equal(vn_pci_attach(&t->f.d, &u, &o, &t->p), 0);
	t->q = t->p->ops->queue(t->p, 0);
	return t;
}

/* Signal eventfd fd as the device's interrupt would, then wait (at most
 * 2 s) for the engine thread's callback to have acknowledged ICR. */
static void interrupt(struct t *t, int fd)
{
	uint64_t one = 1;
	struct timespec ms = { 0, 1000000 };

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	for (int i = 0; i < 2000 && fe_reg(&t->f, E1K_ICR); i++)
		nanosleep(&ms, NULL);
	assert_int_equal(fe_reg(&t->f, E1K_ICR), 0);
}

/* MSI-X: vector 0 (other causes) runs in the engine: ICR acknowledged,
 * the link change queued. */
static void msix_link(void **state)
{
	struct t *t = open_irq(5, 1);
	struct e1k *e = (struct e1k *)t->p;
	int type;

	(void)state;
	t->f.link = false;
	fe_set(&t->f, E1K_ICR, E1K_INT_LSC | E1K_INT_OTHER);
	interrupt(t, e->irq_fd[0]);
	assert_int_equal(t->p->ops->event(t->p, &type), 1);
	assert_int_equal(type, VNET_EV_LINK_DOWN);
	close_t(t);
}

/* MSI: one vector, relayed: the engine's callback reads ICR and wakes the
 * queues' and events' eventfd, which is the same for both directions. */
static void msi(void **state)
{
	struct t *t = open_irq(0, 1);
	struct e1k *e = (struct e1k *)t->p;
	struct pollfd pfd;
	int type;

	(void)state;
	assert_int_equal(t->f.irq_idx, 1);
	assert_int_equal(t->f.irq_count, 1);
	assert_int_equal(fe_reg(&t->f, E1K_IMS), E1K_INT_LSC);
	assert_int_equal(t->q->rx_fd, t->p->event_fd);
	assert_int_equal(t->q->tx_fd, t->p->event_fd);
	assert_false(t->p->ops->arm(t->q, false));
	assert_int_equal(fe_reg(&t->f, E1K_IMS), E1K_INT_LSC | E1K_INT_RXT0);
	t->p->ops->disarm(t->q, false);
	assert_int_equal(fe_reg(&t->f, E1K_IMS), E1K_INT_LSC);
	t->f.link = false;
	fe_set(&t->f, E1K_ICR, E1K_INT_LSC);
	interrupt(t, e->irq_fd[1]);
	pfd = (struct pollfd){ .fd = t->p->event_fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 2000), 1); /* relayed */
	assert_int_equal(t->p->ops->event(t->p, &type), 1);
	assert_int_equal(type, VNET_EV_LINK_DOWN);
	close_t(t);
}

/* RAR[0] not loaded by the reset: the address comes from the EEPROM
 * (EERD words 0-2) and goes into RAR[0]. */
static void eeprom_mac(void **state)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct vnet_dev_info i = { .sz = sizeof(i) };
	struct t *t = test_calloc(1, sizeof(*t));
	struct vn_uri u;

	(void)state;
	fe_init(&t->f);
	t->f.no_autoload = true;
	assert_int_equal(vn_uri_parse("vfio:00:04.0", &u), 0);
	assert_int_equal(vn_pci_attach(&t->f.d, &u, &o, &t->p), 0);
	t->p->ops->info(t->p, &i);
	assert_memory_equal(i.mac, "\x52\x54\x00\x12\x34\x56", 6);
	assert_int_equal(fe_reg(&t->f, E1K_RAL(0)), 0x12005452);
	assert_int_equal(fe_reg(&t->f, E1K_RAH(0)), 0x5634 | E1K_RAH_AV);
	t->q = t->p->ops->queue(t->p, 0);
	close_t(t);
}

static void selection(void **state)
{
	struct vnet_dev_opts o = VNET_DEV_OPTS_INIT;
	struct vn_port *p;
	struct fe f;
	struct vn_uri u;

	(void)state;
	assert_string_equal(vn_pci_driver_name(0x8086, 0x10d3), "e1000e");
	assert_string_equal(vn_pci_driver_name(0x1af4, 0x1041), "virtio-net");
	assert_null(vn_pci_driver_name(0x8086, 0x1234));
	fe_init(&f);
	f.cfg[2] = 0x34, f.cfg[3] = 0x12;
	assert_int_equal(vn_uri_parse("vfio:00:04.0", &u), 0);
	assert_int_equal(vn_pci_attach(&f.d, &u, &o, &p), -ENODEV);
	assert_string_equal(vn_err_msg(), "0000:00:04.0: 8086:1234 is not a device libvnet drives "
			    "(virtio-net 1af4:1041, e1000e 8086:10d3)");
	assert_int_equal(f.resets, 0); /* nothing touched */
	/* Bad options are refused before the device is touched much. */
	fe_init(&f);
	o.queue_size = 100;
	assert_int_equal(vn_pci_attach(&f.d, &u, &o, &p), -EINVAL);
	o.queue_size = 0;
	o.queue_pairs = 2;
	assert_int_equal(vn_pci_attach(&f.d, &u, &o, &p), -ENOTSUP);
	/* No station address. */
	fe_init(&f);
	memset(f.perm_mac, 0, 6);
	o.queue_pairs = 0;
	assert_int_equal(vn_pci_attach(&f.d, &u, &o, &p), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_registers), cmocka_unit_test(tx_frames),
		cmocka_unit_test(rx_frames), cmocka_unit_test(ring_wrap),
		cmocka_unit_test(rx_drops), cmocka_unit_test(hostile_length),
		cmocka_unit_test(hostile_stray_rx), cmocka_unit_test(hostile_stray_tx),
		cmocka_unit_test(hostile_head), cmocka_unit_test(hostile_random),
		cmocka_unit_test(settings),
		cmocka_unit_test(counters), cmocka_unit_test(link_events),
		cmocka_unit_test(msix), cmocka_unit_test(msix_link), cmocka_unit_test(msi),
		cmocka_unit_test(eeprom_mac), cmocka_unit_test(selection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
