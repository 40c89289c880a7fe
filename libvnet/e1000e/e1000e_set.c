/* SPDX-License-Identifier: MIT */
/*
 * 82574 settings (port.h set and filters; device.c serialises them): the
 * receive filters and RCTL. Section numbers are the 82574 GbE Controller
 * Family Datasheet's.
 */
#include "e1000e/e1000e.h"

#include <errno.h>
#include <string.h>

#include "log.h"

/* RAL before RAH, whose AV bit makes the entry live (§10.2.5.x). */
static void write_rar(struct e1k *e, unsigned n, const uint8_t *mac)
{
	if (!mac) {
		e1k_wr(e, E1K_RAH(n), 0);
		e1k_wr(e, E1K_RAL(n), 0);
		return;
	}
	e1k_wr(e, E1K_RAL(n), (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 |
			      (uint32_t)mac[3] << 24);
	e1k_wr(e, E1K_RAH(n), (uint32_t)mac[4] | (uint32_t)mac[5] << 8 | E1K_RAH_AV);
}

/* ---- settings ---- */

void e1k_write_rar0(struct e1k *e)
{
	write_rar(e, 0, e->mac);
}

/* §10.2.5.1 RCTL.BSIZE/BSEX for a power-of-two slot of 2048 .. 16384 bytes. */
static uint32_t rctl_bsize(uint32_t slot)
{
	switch (slot) {
	case 2048: return 0;
	case 4096: return 3u << E1K_RCTL_BSIZE_SHIFT | E1K_RCTL_BSEX;
	case 8192: return 2u << E1K_RCTL_BSIZE_SHIFT | E1K_RCTL_BSEX;
	default: return 1u << E1K_RCTL_BSIZE_SHIFT | E1K_RCTL_BSEX;
	}
}

/* RCTL from the settings: broadcast, CRC stripped, the buffer size, long
 * frames past 1522 bytes for an MTU over 1500 (LPE), promiscuous (UPE and
 * MPE), all-multicast (MPE), the VLAN filter once a VLAN is added (VFE). */
void e1k_write_rctl(struct e1k *e)
{
	unsigned iff = __atomic_load_n(&e->iff, __ATOMIC_RELAXED);
	uint32_t v = E1K_RCTL_EN | E1K_RCTL_BAM | E1K_RCTL_SECRC | rctl_bsize(e->q.slot);

	if (__atomic_load_n(&e->mtu, __ATOMIC_RELAXED) > 1500)
		v |= E1K_RCTL_LPE;
	if (iff & VNET_IFF_PROMISC)
		v |= E1K_RCTL_UPE | E1K_RCTL_MPE;
	if (iff & VNET_IFF_ALLMULTI)
		v |= E1K_RCTL_MPE;
	if (e->n_vlan)
		v |= E1K_RCTL_VFE;
	e1k_wr(e, E1K_RCTL, v); /* §10.2.5.1 */
}

/* §10.2.5.x MTA hash with RCTL.MO = 0: bits 47:36 of the address. */
static unsigned mta_hash(const uint8_t *mac)
{
	return ((unsigned)mac[4] >> 4 | (unsigned)mac[5] << 4) & 0xfff;
}

/* Unicast entries into RAR[1..15], multicast ones hashed into the MTA. */
static int write_filters(struct e1k *e, const uint8_t (*tab)[6], unsigned n)
{
	uint32_t mta[E1K_MTA_N] = { 0 };
	unsigned rar = 1;

	for (unsigned i = 0; i < n; i++)
		if (!(tab[i][0] & 1) && rar++ == E1K_RAR_N)
			return vn_err(-ENOSPC, "e1000e: the device filters %u unicast addresses "
				      "besides its own", E1K_RAR_N - 1);
	rar = 1;
	for (unsigned i = 0; i < n; i++) {
		if (tab[i][0] & 1)
			mta[mta_hash(tab[i]) >> 5] |= 1u << (mta_hash(tab[i]) & 31);
		else
			write_rar(e, rar++, tab[i]);
	}
	for (; rar < E1K_RAR_N; rar++)
		write_rar(e, rar, NULL);
	for (unsigned i = 0; i < E1K_MTA_N; i++)
		e1k_wr(e, E1K_MTA + 4 * i, mta[i]);
	return 0;
}

static int find_mac(const struct e1k *e, const uint8_t *mac)
{
	for (unsigned i = 0; i < e->n_mac; i++)
		if (!memcmp(e->mac_tab[i], mac, 6))
			return (int)i;
	return -1;
}

static int set_mac_entry(struct e1k *e, const uint8_t *mac, bool add)
{
	uint8_t tab[E1K_MAC_MAX][6];
	int at = find_mac(e, mac);
	unsigned n = e->n_mac;
	int rc;

	if (add && at >= 0)
		return vn_err(-EEXIST, "e1000e: the address is already in the filter");
	if (!add && at < 0)
		return vn_err(-ENOENT, "e1000e: the address is not in the filter");
	if (add && n == E1K_MAC_MAX)
		return vn_err(-ENOSPC, "e1000e: the filter holds %u entries", E1K_MAC_MAX);
	memcpy(tab, e->mac_tab, sizeof(tab));
	if (add)
		memcpy(tab[n++], mac, 6);
	else
		memmove(tab[at], tab[at + 1], (size_t)(--n - (unsigned)at) * 6);
	rc = write_filters(e, (const uint8_t(*)[6])tab, n);
	if (!rc) {
		memcpy(e->mac_tab, tab, sizeof(tab));
		e->n_mac = n;
	}
	return rc;
}

/* §10.2.5.x VFTA: one bit per VLAN id, 32 per register. */
static int set_vlan(struct e1k *e, unsigned vid, bool add)
{
	uint64_t bit = 1ull << (vid % 64);
	bool had;

	if (vid > 4095)
		return vn_err(-EINVAL, "e1000e: VLAN id %u is not 0 .. 4095", vid);
	had = (e->vlan[vid / 64] & bit) != 0;
	if (add == had)
		return vn_err(add ? -EEXIST : -ENOENT, "e1000e: VLAN %u is %s in the filter", vid,
			      add ? "already" : "not");
	e->vlan[vid / 64] ^= bit;
	e->n_vlan += add ? 1 : -1u;
	e1k_wr(e, E1K_VFTA + 4 * (vid / 32), (uint32_t)(e->vlan[vid / 64] >> (vid % 64 & 32)));
	e1k_write_rctl(e);
	return 0;
}

static void set_flag(struct e1k *e, unsigned flag, bool on)
{
	if (on)
		__atomic_fetch_or(&e->iff, flag, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&e->iff, ~flag, __ATOMIC_RELAXED);
	e1k_write_rctl(e);
}

static int e1k_set_one(struct e1k *e, const struct vn_set *s)
{
	switch (s->kind) {
	case VN_SET_MTU:
		if (s->val < E1K_MTU_MIN || s->val > e->max_mtu)
			return vn_err(-ERANGE, "e1000e: MTU %u is outside %u .. %u (the buffers were "
				      "sized at open: ?mtu=)", s->val, E1K_MTU_MIN, e->max_mtu);
		__atomic_store_n(&e->mtu, (uint16_t)s->val, __ATOMIC_RELAXED);
		__atomic_store_n(&e->q.frame_max, s->val + E1K_ETH_OVERHEAD, __ATOMIC_RELAXED);
		e1k_write_rctl(e);
		return 0;
	case VN_SET_UP:
		vn_port_set_up(&e->broken, s->val != 0);
		return 0;
	case VN_SET_PROMISC:
		set_flag(e, VNET_IFF_PROMISC, s->val != 0);
		return 0;
	case VN_SET_ALLMULTI:
		set_flag(e, VNET_IFF_ALLMULTI, s->val != 0);
		return 0;
	case VN_SET_MAC:
		if ((s->mac[0] & 1) || !memcmp(s->mac, "\0\0\0\0\0\0", 6))
			return vn_err(-EINVAL, "e1000e: the station address must be unicast, not zero");
		for (unsigned i = 0; i < 6; i++)
			__atomic_store_n(&e->mac[i], s->mac[i], __ATOMIC_RELAXED);
		e1k_write_rar0(e);
		return 0;
	case VN_SET_QUEUE_PAIRS:
		if (s->val != 1)
			return vn_err(-EINVAL, "e1000e: one queue pair (asked for %u)", s->val);
		return 0;
	case VN_SET_MAC_ADD:
	case VN_SET_MAC_DEL:
		return set_mac_entry(e, s->mac, s->kind == VN_SET_MAC_ADD);
	case VN_SET_VLAN_ADD:
	case VN_SET_VLAN_DEL:
		return set_vlan(e, s->val, s->kind == VN_SET_VLAN_ADD);
	case VN_SET_RSS:
		/* The 82574 hashes over two RX queues (MRQC, RETA); this driver
		 * runs one. */
		return vn_err(-EOPNOTSUPP, "e1000e: RSS needs a second RX queue; this driver runs "
			      "one queue pair");
	case VN_SET_COALESCE:
		/* ITR (interrupt throttling) would give a delay, not a frame
		 * count: not wired to vnet_coalesce yet. */
		return vn_err(-EOPNOTSUPP, "e1000e: interrupt coalescing (ITR) is not supported "
			      "by this driver yet");
	}
	return vn_err(-EOPNOTSUPP, "e1000e: unknown setting %d", (int)s->kind);
}

int e1k_set(struct vn_port *p, const struct vn_set *s)
{
	struct e1k *e = (struct e1k *)p; /* port is the first member */
	int rc = e1k_set_one(e, s);

	if (!rc)
		e1k_event_push(e, VNET_EV_SETTINGS);
	return rc;
}

void e1k_filters(struct vn_port *p, struct vnet_dev_filters *f)
{
	const struct e1k *e = (const struct e1k *)p;

	f->n_mac = e->n_mac;
	memcpy(f->mac, e->mac_tab, (size_t)e->n_mac * 6);
	f->n_vlan = 0;
	for (unsigned v = 0; v < 4096 && f->n_vlan < VN_ARRAY_SIZE(f->vlan); v++)
		if (e->vlan[v / 64] & (1ull << (v % 64)))
			f->vlan[f->n_vlan++] = (uint16_t)v;
}

/* Filters empty (§10.2.5.x): RAR[1..15], MTA and VFTA cleared. */
void e1k_clear_filters(struct e1k *e)
{
	(void)write_filters(e, NULL, 0);
	for (unsigned i = 0; i < 128; i++)
		e1k_wr(e, E1K_VFTA + 4 * i, 0);
}
