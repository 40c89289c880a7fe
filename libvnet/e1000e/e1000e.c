/* SPDX-License-Identifier: MIT */
/*
 * The 82574 (e1000e) port (port.h, e1000e.h): reset, PHY and link, the
 * station address, interrupts, events and counters (the settings are in
 * e1000e_set.c). Section numbers are the 82574 GbE Controller Family
 * Datasheet's.
 *
 * Interrupts, chosen at open (§7.4):
 *   MSI-X  3 vectors: 0 other causes (link), 1 RX queue 0, 2 TX queue 0
 *          (IVAR, §10.2.4.9); RX/TX auto-clear and auto-mask (EIAC).
 *   MSI    one vector, relayed like virtio's single vector: its eventfd
 *          (irq_fd[1]) is the engine's, whose callback reads and clears
 *          ICR and signals irq_fd[0], which queues and waiters use.
 *   none   waits poll the rings; link changes are found by vnet_dev_event()
 *          and the health check.
 */
#include "e1000e/e1000e.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "pci.h"

#define MSIX_INDEX 2 /* VFIO_PCI_MSIX_IRQ_INDEX */
#define MSI_INDEX 1  /* VFIO_PCI_MSI_IRQ_INDEX */
#define RESET_MS 100
#define LINK_MS 2000 /* auto-negotiation (QEMU's model takes ~500 ms) */
#define CLOSE_DRAIN_MS 200

static struct e1k *to_e1k(struct vn_port *p)
{
	return (struct e1k *)p; /* port is the first member */
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* ---- events ---- */

static void ev_push(struct e1k *e, int type) /* under ev_lock */
{
	vn_evq_push(&e->evq, type);
	VN_STAT_ADD(e->events, 1);
	vn_port_notify(&e->port, type);
}

void e1k_fail(struct e1k *e, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&e->ev_lock);
	if (!e->failed) {
		e->failed = true;
		__atomic_fetch_or(&e->broken, VN_STOP_BROKEN, __ATOMIC_RELAXED);
		ev_push(e, VNET_EV_NEEDS_RESET);
		vn_log(VN_LOG_ERR, "e1000e: device broken: %s; the device is stopped", why);
	}
	pthread_mutex_unlock(&e->ev_lock);
}

/* §10.2.2.2 STATUS.LU against the last state seen: queue LINK_UP/DOWN. A
 * device whose registers read as all ones is gone. (Under ev_lock.) */
static void link_check(struct e1k *e)
{
	uint32_t st = e1k_rd(e, E1K_STATUS);
	int up = (st & E1K_STATUS_LU) != 0;

	if (st == UINT32_MAX || e->failed)
		return;
	if (up != e->link) {
		e->link = up;
		ev_push(e, up ? VNET_EV_LINK_UP : VNET_EV_LINK_DOWN);
	}
}

/*
 * Other causes (the link): read ICR (§10.2.4.1) and write back what was
 * set (write 1 to clear: clear-on-read does not apply while IMS is non-zero
 * under MSI-X), so the device can signal the next one; then the link.
 * Returns the causes seen.
 */
static uint32_t other_causes(struct e1k *e)
{
	uint32_t icr;

	pthread_mutex_lock(&e->ev_lock);
	icr = e1k_rd(e, E1K_ICR);
	if (icr == UINT32_MAX) {
		pthread_mutex_unlock(&e->ev_lock);
		e1k_fail(e, "its registers read as all ones (it is gone)");
		return 0;
	}
	if (icr)
		e1k_wr(e, E1K_ICR, icr);
	link_check(e);
	pthread_mutex_unlock(&e->ev_lock);
	return icr;
}

/* Wake whoever waits on irq_fd[0] (a write the engine sees as it firing). */
static void relay(struct e1k *e)
{
	uint64_t one = 1;

	if (write(e->irq_fd[0], &one, sizeof(one)) != sizeof(one))
		vn_debug("e1000e: relaying an interrupt: %s", strerror(errno));
}

void e1k_event_push(struct e1k *e, int type)
{
	pthread_mutex_lock(&e->ev_lock);
	ev_push(e, type);
	pthread_mutex_unlock(&e->ev_lock);
	/* vnet_dev_event_fd() is readable now. */
	if (e->n_irq)
		relay(e);
}

static void on_other(void *arg) /* MSI-X vector 0 (engine thread) */
{
	(void)other_causes(arg);
}

static void on_msi(void *arg) /* the MSI vector (engine thread) */
{
	struct e1k *e = arg;

	if (other_causes(e))
		relay(e);
}

static void on_gone(void *arg)
{
	struct e1k *e = arg;

	e1k_fail(e, "the device is gone (its vfio-user server hung up, or the kernel is removing it)");
	if (e->n_irq)
		relay(e);
}

/* ---- interrupts ---- */

static void irq_close(struct e1k *e)
{
	for (unsigned i = 0; i < VN_ARRAY_SIZE(e->irq_fd); i++) {
		if (e->irq_src[i])
			vn_ev_del(e->irq_src[i]);
		if (e->irq_fd[i] >= 0)
			close(e->irq_fd[i]);
		e->irq_src[i] = 0;
		e->irq_fd[i] = -1;
	}
	if (e->gone_src)
		vn_ev_del(e->gone_src);
	e->gone_src = 0;
}

static int make_fds(struct e1k *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		e->irq_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (e->irq_fd[i] < 0)
			return vn_err(-errno, "e1000e: eventfd: %s", strerror(errno));
	}
	return 0;
}

/* MSI-X: eventfds on vectors 0-2, causes mapped to them (IVAR), RX and TX
 * causes auto-cleared (EIAC) and, with IAME clear, auto-masked as their
 * message goes out (§7.4.3). */
static int plan_msix(struct e1k *e)
{
	uint32_t ext;
	int rc = make_fds(e, 3);

	if (!rc)
		rc = e->d->ops->set_irqs(e->d, MSIX_INDEX, 0, 3, e->irq_fd);
	if (rc)
		return rc;
	/* §10.2.4.9 IVAR: RxQ0 -> 1, TxQ0 -> 2, other -> 0, TX on every write-back. */
	e1k_wr(e, E1K_IVAR, (E1K_IVAR_VALID | 1u) << E1K_IVAR_RXQ0_SHIFT |
			    (E1K_IVAR_VALID | 2u) << E1K_IVAR_TXQ0_SHIFT |
			    (E1K_IVAR_VALID | 0u) << E1K_IVAR_OTHER_SHIFT | E1K_IVAR_TX_EVERY_WB);
	e1k_wr(e, E1K_EIAC, E1K_INT_RXQ0 | E1K_INT_TXQ0); /* §10.2.4.4 */
	e1k_wr(e, E1K_IAM, 0);                            /* §10.2.4.7: no auto-mask on ICR reads */
	/* §10.2.2.3 CTRL_EXT: PBA_support on (MSI-X pending bits), IAME off. */
	ext = e1k_rd(e, E1K_CTRL_EXT);
	e1k_wr(e, E1K_CTRL_EXT, (ext | E1K_CTRL_EXT_PBA_CLR) & ~(E1K_CTRL_EXT_IAME | E1K_CTRL_EXT_EIAME));
	e->rx_cause = E1K_INT_RXQ0;
	e->tx_cause = E1K_INT_TXQ0;
	e->n_irq = 3;
	return 0;
}

/* MSI: one vector for every cause (§7.4.1), relayed. */
static int plan_msi(struct e1k *e)
{
	int rc = make_fds(e, 2);

	if (!rc)
		rc = e->d->ops->set_irqs(e->d, MSI_INDEX, 0, 1, &e->irq_fd[1]);
	if (rc)
		return rc;
	e->rx_cause = E1K_INT_RXT0;
	e->tx_cause = E1K_INT_TXDW;
	e->msi = true;
	e->n_irq = 2;
	return 0;
}

static int irq_setup(struct e1k *e)
{
	uint32_t n = 0;
	unsigned events = 0;
	int rc = -ENOTSUP, fd;

	if (!e->d->ops->irq_info(e->d, MSIX_INDEX, &n) && n >= 3) {
		rc = plan_msix(e);
		if (rc)
			vn_warn("e1000e: MSI-X failed (%s); trying MSI", vn_err_msg());
	}
	if (rc && (irq_close(e), !e->d->ops->irq_info(e->d, MSI_INDEX, &n)) && n >= 1) {
		rc = plan_msi(e);
		if (rc)
			vn_warn("e1000e: MSI failed: %s", vn_err_msg());
	}
	if (rc) {
		irq_close(e);
		vn_warn("e1000e: no usable MSI-X or MSI: interrupts are off, blocking calls poll "
			"the rings every millisecond");
		vn_err_clear();
		return 0;
	}
	vn_info("e1000e: %s", e->msi ? "MSI (one vector)" : "3 MSI-X vectors");
	rc = vn_ev_add(e->irq_fd[0], e->msi ? NULL : on_other, e, &e->irq_src[0]);
	for (unsigned i = 1; i < e->n_irq && !rc; i++)
		rc = vn_ev_add(e->irq_fd[i], e->msi ? on_msi : NULL, e, &e->irq_src[i]);
	/* Without a gone_fd() a vanished device is still noticed, later, by
	 * the health check. */
	fd = e->d->ops->gone_fd ? e->d->ops->gone_fd(e->d, &events) : -ENOTSUP;
	if (fd < 0)
		vn_err_clear();
	else if (!rc)
		rc = vn_ev_add_once(fd, events, on_gone, e, &e->gone_src);
	/* §10.2.4.5 IMS: the link always interrupts (OTHER under MSI-X). */
	e1k_wr(e, E1K_IMS, E1K_INT_LSC | (e->msi ? 0 : E1K_INT_OTHER));
	return rc;
}

static void irq_teardown(struct e1k *e)
{
	unsigned idx = e->msi ? MSI_INDEX : MSIX_INDEX;

	if (e->n_irq)
		(void)e->d->ops->set_irqs(e->d, idx, 0, 0, NULL);
	irq_close(e);
	e->n_irq = 0;
}

/* ---- reset, PHY, link, station address ---- */

/* §10.2.2.1 CTRL.RST resets the MAC (not the PHY or PCI); it self-clears.
 * Interrupts masked before and after (§7.4: IMC), pending causes read away. */
static int reset(struct e1k *e)
{
	unsigned ms = 0;

	e1k_wr(e, E1K_IMC, UINT32_MAX);
	e1k_wr(e, E1K_RCTL, 0); /* stop DMA first (§10.2.5.1, §10.2.6.1) */
	e1k_wr(e, E1K_TCTL, 0);
	e1k_wr(e, E1K_CTRL, e1k_rd(e, E1K_CTRL) | E1K_CTRL_RST);
	while (e1k_rd(e, E1K_CTRL) & E1K_CTRL_RST) {
		if (++ms > RESET_MS)
			return vn_err(-EIO, "e1000e: CTRL.RST did not clear within %u ms (or the "
				      "registers read as all ones: the device is gone)", RESET_MS);
		sleep_ms(1);
	}
	e1k_wr(e, E1K_IMC, UINT32_MAX);
	(void)e1k_rd(e, E1K_ICR);
	return 0;
}

/* §10.2.2.7 MDIC: one PHY register access, polled until READY. */
static int mdic(struct e1k *e, uint32_t op, unsigned reg, uint16_t *val)
{
	uint32_t v = op | (uint32_t)reg << E1K_MDIC_REG_SHIFT |
		     (uint32_t)E1K_PHY_ADDR << E1K_MDIC_PHY_SHIFT | (op == E1K_MDIC_OP_WRITE ? *val : 0);

	e1k_wr(e, E1K_MDIC, v);
	for (unsigned i = 0; i < 100; i++) {
		v = e1k_rd(e, E1K_MDIC);
		if (v & (E1K_MDIC_READY | E1K_MDIC_ERROR))
			break;
		sleep_ms(1);
	}
	if (!(v & E1K_MDIC_READY) || (v & E1K_MDIC_ERROR))
		return vn_err(-EIO, "e1000e: PHY register %u: MDIC %s (0x%08x)", reg,
			      v & E1K_MDIC_ERROR ? "error" : "timed out", v);
	*val = (uint16_t)v;
	return 0;
}

/*
 * Link bring-up (§4.6.x, §14.x): CTRL.SLU; with the link down, enable and
 * restart auto-negotiation in the PHY and give it LINK_MS. A link that
 * stays down is not an error (no cable): it is reported, and LSC tells
 * when it comes.
 */
static void link_up(struct e1k *e)
{
	uint16_t bmcr;

	e1k_wr(e, E1K_CTRL, e1k_rd(e, E1K_CTRL) | E1K_CTRL_SLU);
	if (e1k_rd(e, E1K_STATUS) & E1K_STATUS_LU)
		goto out;
	if (mdic(e, E1K_MDIC_OP_READ, E1K_PHY_CTRL, &bmcr) == 0) {
		bmcr |= E1K_PHY_CTRL_AN_EN | E1K_PHY_CTRL_RESTART_AN;
		if (mdic(e, E1K_MDIC_OP_WRITE, E1K_PHY_CTRL, &bmcr))
			vn_warn("e1000e: %s", vn_err_msg());
	} else {
		vn_warn("e1000e: %s", vn_err_msg());
	}
	vn_err_clear();
	for (unsigned ms = 0; ms < LINK_MS && !(e1k_rd(e, E1K_STATUS) & E1K_STATUS_LU); ms += 10)
		sleep_ms(10);
out:
	e->link = (e1k_rd(e, E1K_STATUS) & E1K_STATUS_LU) != 0;
	if (!e->link)
		vn_warn("e1000e: the link is down");
}

/* The station address: RAL0/RAH0 as the EEPROM loaded them (§10.2.5.x,
 * RAH.AV set); refused when absent or not a unicast address. */
/* §10.2.2.x EERD: one 16-bit EEPROM word, polled until DONE. */
static int eeprom_word(struct e1k *e, unsigned addr, uint16_t *w)
{
	uint32_t v;

	e1k_wr(e, E1K_EERD, (uint32_t)addr << E1K_EERD_ADDR_SHIFT | E1K_EERD_START);
	for (unsigned i = 0; i < 100; i++) {
		v = e1k_rd(e, E1K_EERD);
		if (v != UINT32_MAX && (v & E1K_EERD_DONE)) {
			*w = (uint16_t)(v >> E1K_EERD_DATA_SHIFT);
			return 0;
		}
		sleep_ms(1);
	}
	return vn_err(-EIO, "e1000e: EEPROM word %u: EERD never reported DONE", addr);
}

static bool valid_mac(const uint8_t *m)
{
	return !(m[0] & 1) && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

/*
 * The station address: RAL0/RAH0 as the device loaded them from its EEPROM
 * (§10.2.5.x, RAH.AV set), else EEPROM words 0-2 (§6.1.1.x) read through
 * EERD and written to RAR[0] (settings: e1000e_set.c). Refused when neither
 * holds a unicast address.
 */
static int read_mac(struct e1k *e)
{
	uint32_t lo = e1k_rd(e, E1K_RAL(0)), hi = e1k_rd(e, E1K_RAH(0));
	uint16_t w[3];
	int rc = 0;

	for (unsigned i = 0; i < 4; i++)
		e->mac[i] = (uint8_t)(lo >> (8 * i));
	e->mac[4] = (uint8_t)hi;
	e->mac[5] = (uint8_t)(hi >> 8);
	if ((hi & E1K_RAH_AV) && hi != UINT32_MAX && valid_mac(e->mac))
		return 0;
	for (unsigned i = 0; i < 3 && !rc; i++)
		rc = eeprom_word(e, i, &w[i]);
	if (rc)
		return rc;
	for (unsigned i = 0; i < 3; i++) {
		e->mac[2 * i] = (uint8_t)w[i];
		e->mac[2 * i + 1] = (uint8_t)(w[i] >> 8);
	}
	if (!valid_mac(e->mac))
		return vn_err(-EIO, "e1000e: no valid station address in RAL0/RAH0 (0x%08x 0x%08x) "
			      "or the EEPROM", lo, hi);
	e1k_write_rar0(e);
	return 0;
}

/* ---- counters ---- */

/* The statistics registers kept (§10.2.7; all clear on read): 64-bit ones
 * read low then high. drop: frames the device discarded (in rx_dropped);
 * err: of those, malformed ones (also in rx_errors). */
static const struct {
	const char *name;
	uint32_t reg;
	bool wide, drop, err;
} hwstats[E1K_N_HWSTATS] = {
	{ "dev_rx_missed", E1K_MPC, false, true, false },
	{ "dev_rx_no_buffer", E1K_RNBC, false, false, false },
	{ "dev_rx_crc_errors", E1K_CRCERRS, false, true, true },
	{ "dev_rx_align_errors", E1K_ALGNERRC, false, true, true },
	{ "dev_rx_symbol_errors", E1K_RXERRC, false, true, true },
	{ "dev_rx_length_errors", E1K_RLEC, false, true, true },
	{ "dev_rx_undersize", E1K_RUC, false, false, false },
	{ "dev_rx_fragments", E1K_RFC, false, true, true },
	{ "dev_rx_oversize", E1K_ROC, false, true, true },
	{ "dev_rx_jabbers", E1K_RJC, false, true, true },
	{ "dev_rx_good_packets", E1K_GPRC, false, false, false },
	{ "dev_rx_good_bytes", E1K_GORCL, true, false, false },
	{ "dev_rx_broadcast", E1K_BPRC, false, false, false },
	{ "dev_rx_multicast", E1K_MPRC, false, false, false },
	{ "dev_tx_good_packets", E1K_GPTC, false, false, false },
	{ "dev_tx_good_bytes", E1K_GOTCL, true, false, false },
};

/* Read every statistics register once and add it up (they clear on read).
 * A gone device reads all ones: nothing is added then. */
static void hw_poll(struct e1k *e)
{
	uint64_t v[E1K_N_HWSTATS];

	pthread_mutex_lock(&e->st_lock);
	if (!(__atomic_load_n(&e->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN)) {
		for (unsigned i = 0; i < E1K_N_HWSTATS; i++) {
			v[i] = e1k_rd(e, hwstats[i].reg);
			if (hwstats[i].wide)
				v[i] |= (uint64_t)e1k_rd(e, hwstats[i].reg + 4) << 32;
		}
		if (e1k_rd(e, E1K_STATUS) != UINT32_MAX)
			for (unsigned i = 0; i < E1K_N_HWSTATS; i++)
				e->hw[i] += v[i];
	}
	pthread_mutex_unlock(&e->st_lock);
}

static void e1k_stats(struct vnet_queue *pub, struct vnet_queue_stats *st)
{
	struct e1k_q *q = e1k_q(pub);
	struct e1k *e = q->dev;
	struct vnet_queue_stats s;

	vn_port_stats_load(&q->st, &s);
	hw_poll(e);
	pthread_mutex_lock(&e->st_lock);
	for (unsigned i = 0; i < E1K_N_HWSTATS; i++) {
		if (hwstats[i].drop)
			s.rx_dropped += e->hw[i];
		if (hwstats[i].err)
			s.rx_errors += e->hw[i];
	}
	pthread_mutex_unlock(&e->st_lock);
	vn_port_stats_out(&s, st);
}

static void xput(struct vnet_xstat *xs, unsigned n, unsigned *at, uint64_t v, const char *name)
{
	if (*at < n) {
		snprintf(xs[*at].name, sizeof(xs[*at].name), "%s", name);
		xs[*at].value = v;
	}
	(*at)++;
}

/* The driver's own counters, then the device's registers. */
static int e1k_xstats(struct vn_port *p, struct vnet_xstat *xs, unsigned n)
{
	struct e1k *e = to_e1k(p);
	unsigned at = 0;

	xput(xs, n, &at, VN_STAT_GET(e->q.bad_wb), "bad_writebacks");
	xput(xs, n, &at, VN_STAT_GET(e->events), "events");
	hw_poll(e);
	pthread_mutex_lock(&e->st_lock);
	for (unsigned i = 0; i < E1K_N_HWSTATS; i++)
		xput(xs, n, &at, e->hw[i], hwstats[i].name);
	pthread_mutex_unlock(&e->st_lock);
	return (int)at;
}

/* ---- port ops ---- */

static void e1k_info(struct vn_port *p, struct vnet_dev_info *i)
{
	struct e1k *e = to_e1k(p);
	unsigned iff = __atomic_load_n(&e->iff, __ATOMIC_RELAXED);
	uint8_t stop = __atomic_load_n(&e->broken, __ATOMIC_RELAXED);
	uint32_t st;

	snprintf(i->access, sizeof(i->access), "%s", e->d->access ? e->d->access : "");
	for (unsigned b = 0; b < sizeof(i->mac); b++)
		i->mac[b] = __atomic_load_n(&e->mac[b], __ATOMIC_RELAXED);
	i->mtu = __atomic_load_n(&e->mtu, __ATOMIC_RELAXED);
	i->max_mtu = e->max_mtu;
	i->max_queue_pairs = i->queue_pairs = i->active_pairs = 1;
	i->queue_size = (uint16_t)e->q.size;
	i->features = 0;
	i->flags = iff | (stop & VN_STOP_DOWN ? 0 : VNET_IFF_UP);
	i->broken = (stop & VN_STOP_BROKEN) != 0;
	st = i->broken ? 0 : e1k_rd(e, E1K_STATUS);
	i->link_up = st != UINT32_MAX && (st & E1K_STATUS_LU);
}

static struct vnet_queue *e1k_queue(struct vn_port *p, unsigned qp)
{
	(void)qp;
	return &to_e1k(p)->q.pub;
}

static int e1k_event(struct vn_port *p, int *type)
{
	struct e1k *e = to_e1k(p);
	uint64_t count;
	int got;

	pthread_mutex_lock(&e->ev_lock);
	got = vn_evq_pop(&e->evq, type);
	pthread_mutex_unlock(&e->ev_lock);
	if (got)
		return 1;
	/* Empty: consume the eventfd's count, then look at the device once
	 * more (which also clears what the engine callback may not have seen),
	 * so a change signalled after the read leaves it readable. */
	if (e->n_irq && read(e->port.event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return vn_err(-errno, "vnet_dev_event: reading the event eventfd: %s", strerror(errno));
	if (!(__atomic_load_n(&e->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN))
		(void)other_causes(e);
	pthread_mutex_lock(&e->ev_lock);
	got = vn_evq_pop(&e->evq, type);
	pthread_mutex_unlock(&e->ev_lock);
	return got;
}

/*
 * A sleeper heard nothing for a while: is the device there (devio alive,
 * registers not all ones), are its ring heads inside the rings (a head
 * beyond is refused: the device is broken), has the link moved; and the
 * statistics registers are read before they could wrap.
 */
static void e1k_check(struct vnet_queue *pub)
{
	struct e1k *e = e1k_q(pub)->dev;
	uint32_t rdh, tdh;

	if (__atomic_load_n(&e->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN)
		return;
	if (e->d->ops->alive && e->d->ops->alive(e->d)) {
		e1k_fail(e, "the device is gone");
		return;
	}
	(void)other_causes(e); /* also marks a device reading all ones broken */
	if (__atomic_load_n(&e->broken, __ATOMIC_RELAXED) & VN_STOP_BROKEN)
		return;
	rdh = e1k_rd(e, E1K_RDH); /* §10.2.5.x RDH, §10.2.6.x TDH */
	tdh = e1k_rd(e, E1K_TDH);
	if (rdh >= e->q.size || tdh >= e->q.size) {
		VN_STAT_ADD(e->q.bad_wb, 1);
		e1k_fail(e, "ring head beyond the ring (RDH %u, TDH %u, %u descriptors)", rdh, tdh,
			 e->q.size);
		return;
	}
	hw_poll(e);
}

/* Quiesce: interrupts masked, RX and TX off, then a MAC reset, so that no
 * DMA reaches the memory about to be freed (§10.2.2.1). */
static void quiesce(struct e1k *e)
{
	e1k_wr(e, E1K_IMC, UINT32_MAX);
	if (reset(e))
		vn_warn("%s", vn_err_msg());
}

static void teardown(struct e1k *e)
{
	irq_teardown(e);
	if (e->mem.mapped)
		(void)e->d->ops->dma_unmap(e->d, &e->mem);
	if (e->mem.va)
		vn_dma_free(&e->mem);
	free(e->q.state);
	free(e->q.rx_id);
	pthread_mutex_destroy(&e->ev_lock);
	pthread_mutex_destroy(&e->st_lock);
}

static void e1k_close(struct vn_port *p)
{
	struct e1k *e = to_e1k(p);

	e1k_tx_drain(e, CLOSE_DRAIN_MS);
	quiesce(e);
	teardown(e);
	e->d->ops->close(e->d);
	free(e);
}

/* BAR0 mapped for direct register access where the backend allows. */
static int map_bar(struct e1k *e)
{
	struct vn_region_info ri;
	void *va;
	int rc = e->d->ops->region_info(e->d, E1K_BAR, &ri);

	if (rc)
		return rc;
	if (ri.size < E1K_BAR_LEN || !(ri.flags & VN_REGION_READ) || !(ri.flags & VN_REGION_WRITE))
		return vn_err(-ENODEV, "e1000e: BAR0 is %llu bytes (flags 0x%x): not the 82574's "
			      "128 KiB register space", (unsigned long long)ri.size, ri.flags);
	if (!(ri.flags & VN_REGION_MMAP))
		return 0;
	rc = e->d->ops->region_map(e->d, E1K_BAR, 0, E1K_BAR_LEN, &va);
	if (rc == -ENOTSUP) {
		vn_err_clear();
		return 0; /* region_read/write it is */
	}
	if (!rc)
		e->bar = va;
	return rc;
}

/* Queue size, MTU and buffer size from the options; the memory laid out. */
static int size_up(struct e1k *e, const struct vn_uri *u, const struct vnet_dev_opts *o)
{
	unsigned n = o->queue_size ? o->queue_size : E1K_QSIZE_DEFAULT, mtu = E1K_MTU_DEFAULT;
	uint32_t slot = 2048;
	int rc;

	if (o->queue_pairs > 1)
		return vn_err(-ENOTSUP, "e1000e: one queue pair (asked for %u)", o->queue_pairs);
	if (n < 8 || n > E1K_QSIZE_MAX || (n & (n - 1)))
		return vn_err(-EINVAL, "e1000e: queue size %u is not a power of two in 8 .. %u", n,
			      E1K_QSIZE_MAX);
	rc = vn_uri_opt_uint(u, "mtu", E1K_MTU_MIN, E1K_MTU_MAX, &mtu);
	if (rc)
		return rc;
	while (slot < mtu + E1K_ETH_OVERHEAD)
		slot *= 2; /* §10.2.5.1: 2048 .. 16384 */
	e->q.size = n;
	e->q.mask = n - 1;
	e->q.slot = slot;
	e->mtu = e->max_mtu = (uint16_t)mtu;
	e->q.frame_max = mtu + E1K_ETH_OVERHEAD;
	e->q.state = calloc(2, n);
	e->q.rx_id = calloc(4 * (size_t)n, sizeof(uint16_t));
	if (!e->q.state || !e->q.rx_id)
		return vn_err(-ENOMEM, "e1000e: out of memory");
	e->q.tx_id = e->q.rx_id + n;
	e->q.rx_free = e->q.rx_id + 2 * n;
	e->q.tx_free = e->q.rx_id + 3 * n;
	rc = vn_dma_alloc(&e->mem, e1k_mem_size(n, slot), "vnet-e1000e");
	if (rc)
		return rc;
	if (vn_dma_contig(&e->mem) < VN_MAX((size_t)slot, e1k_ring_bytes(n)))
		return vn_err(-ENOTSUP, "e1000e: rings and buffers need %zu device-contiguous bytes, "
			      "the memory gives %zu (no-IOMMU without huge pages: a smaller qsize= "
			      "or mtu=)", VN_MAX((size_t)slot, e1k_ring_bytes(n)),
			      vn_dma_contig(&e->mem));
	rc = e->d->ops->dma_map(e->d, &e->mem);
	return rc ? vn_dma_pin_err(rc, &e->mem, "e1000e: mapping the rings and buffers") : 0;
}

/*
 * Staged bring-up, in the datasheet's order (§4.6 initialisation): reset,
 * station address, link, memory, rings (§7.1.3, §7.2.3), interrupts, then
 * TX and RX enabled and RX buffers posted. Undone by quiesce() and
 * teardown(); d stays the caller's on failure.
 */
static int e1k_attach(struct vn_devio *d, const struct vn_uri *u, const struct vnet_dev_opts *o,
		      struct vn_port **out)
{
	struct e1k *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return vn_err(-ENOMEM, "e1000e: out of memory");
	e->d = d;
	for (unsigned i = 0; i < VN_ARRAY_SIZE(e->irq_fd); i++)
		e->irq_fd[i] = -1;
	pthread_mutex_init(&e->ev_lock, NULL);
	pthread_mutex_init(&e->st_lock, NULL);
	e->q.dev = e;
	e->q.pub.port = &e->port;
	e->q.pub.broken = &e->broken;
	rc = map_bar(e);
	if (!rc)
		rc = vn_pci_bus_master(d);
	if (!rc)
		rc = reset(e);
	if (!rc)
		rc = read_mac(e);
	if (!rc)
		rc = size_up(e, u, o);
	if (rc)
		goto fail;
	link_up(e);
	e1k_rings_init(e);
	e1k_clear_filters(e);
	e1k_rings_program(e);
	e1k_wr(e, E1K_RDTR, 0); /* §10.2.5.x: interrupt at once, no delay */
	e1k_wr(e, E1K_RADV, 0);
	e1k_wr(e, E1K_RFCTL, 0); /* §10.2.5.x: legacy descriptors (EXSTEN clear) */
	rc = irq_setup(e);
	if (rc)
		goto fail_hw;
	e1k_wr(e, E1K_TIPG, E1K_TIPG_DEFAULT); /* §10.2.6.2 */
	e1k_wr(e, E1K_TCTL, E1K_TCTL_EN | E1K_TCTL_PSP | E1K_TCTL_CT | E1K_TCTL_COLD);
	e1k_write_rctl(e);
	e1k_rx_start(e);
	e->port.ops = &vn_e1000e_port_ops;
	e->port.pairs = 1;
	e->port.event_fd = e->n_irq ? e->irq_fd[0] : -1;
	e->q.pub.rx_fd = e->q.pub.tx_fd = -1;
	if (e->n_irq) {
		e->q.pub.rx_fd = e->irq_fd[e->msi ? 0 : 1];
		e->q.pub.tx_fd = e->irq_fd[e->msi ? 0 : 2];
		e->q.pub.rx_src = e->irq_src[e->msi ? 0 : 1];
		e->q.pub.tx_src = e->irq_src[e->msi ? 0 : 2];
		e->q.pub.ev_src = e->irq_src[0];
	}
	vn_info("e1000e: %02x:%02x:%02x:%02x:%02x:%02x, %u descriptors, %u-byte buffers, link %s",
		e->mac[0], e->mac[1], e->mac[2], e->mac[3], e->mac[4], e->mac[5], e->q.size,
		e->q.slot, e->link ? "up" : "down");
	*out = &e->port;
	return 0;

fail_hw:
	vn_err_hold();
	quiesce(e);
	vn_err_release();
fail:
	vn_err_hold(); /* undoing must not replace the reason of the failure */
	teardown(e);
	vn_err_release();
	free(e);
	return rc;
}

const struct vn_port_ops vn_e1000e_port_ops = {
	.name = "e1000e",
	.attach = e1k_attach,
	.close = e1k_close,
	.info = e1k_info,
	.queue = e1k_queue,
	.stats = e1k_stats,
	.tx_reserve = e1k_tx_reserve,
	.tx_submit = e1k_tx_submit,
	.rx_peek = e1k_rx_peek,
	.rx_release = e1k_rx_release,
	.ready = e1k_ready,
	.arm = e1k_arm,
	.disarm = e1k_disarm,
	.check = e1k_check,
	.event = e1k_event,
	.set = e1k_set,
	.filters = e1k_filters,
	.xstats = e1k_xstats,
};
