/* SPDX-License-Identifier: MIT */
/*
 * virtio-net device settings (vnet.h "Device settings") through the control
 * virtqueue, virtio 1.2 §5.1.6.5: RX mode, MAC filter, station address,
 * VLAN filter, queue pairs, RSS and notification coalescing; plus what the driver alone enforces (MTU,
 * administrative state). device.c serialises every call here, so the
 * tables need no lock of their own; what other threads read without that
 * lock (info flags, MTU, active pairs, MAC bytes) is accessed atomically.
 */
#include "virtio/virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <linux/if_ether.h> /* ETH_MIN_MTU: 68, RFC 791 */
#include <linux/virtio_net.h>

#include "log.h"

#define BIT(b) (1ULL << (b))

static const char *set_name(enum vn_set_kind k)
{
	static const char *const names[] = {
		[VN_SET_MTU] = "set mtu", [VN_SET_UP] = "set up/down",
		[VN_SET_PROMISC] = "set promisc", [VN_SET_ALLMULTI] = "set allmulti",
		[VN_SET_MAC] = "set mac", [VN_SET_QUEUE_PAIRS] = "set queue pairs",
		[VN_SET_MAC_ADD] = "mac add", [VN_SET_MAC_DEL] = "mac del",
		[VN_SET_VLAN_ADD] = "vlan add", [VN_SET_VLAN_DEL] = "vlan del",
		[VN_SET_RSS] = "set rss", [VN_SET_COALESCE] = "set coalesce",
	};

	return (unsigned)k < VN_ARRAY_SIZE(names) && names[k] ? names[k] : "setting";
}

/*
 * The command needs feature bit (and so the control queue, §5.1.3.1):
 * -EOPNOTSUPP naming what was not negotiated (not offered, or masked).
 */
static int need(const struct vn_net *n, const struct vn_set *s, unsigned bit, const char *bit_name)
{
	if (!(n->features & BIT(VIRTIO_NET_F_CTRL_VQ)))
		return vn_err(-EOPNOTSUPP, "virtio-net: %s needs VIRTIO_NET_F_CTRL_VQ (and %s), "
			      "which the device did not offer or the driver masked",
			      set_name(s->kind), bit_name);
	if (!(n->features & BIT(bit)))
		return vn_err(-EOPNOTSUPP, "virtio-net: %s needs %s, which the device did not offer "
			      "or the driver masked", set_name(s->kind), bit_name);
	return 0;
}

/* Run one control command; a VIRTIO_NET_ERR ack becomes -EIO in words. */
static int ctrl(struct vn_net *n, const struct vn_set *s, uint8_t cls, uint8_t cmd,
		const void *data, size_t len)
{
	int rc = vn_net_ctrl(n, cls, cmd, data, len);

	if (rc == -EIO)
		return vn_err(-EIO, "virtio-net: %s: the device refused the command (VIRTIO_NET_ERR)",
			      set_name(s->kind));
	return rc;
}

static bool is_zero(const uint8_t mac[6])
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static int mac_find(const struct vn_net *n, const uint8_t mac[6])
{
	for (unsigned i = 0; i < n->n_mac; i++)
		if (!memcmp(n->mac_tab[i], mac, 6))
			return (int)i;
	return -1;
}

/*
 * VIRTIO_NET_CTRL_MAC_TABLE_SET (§5.1.6.5.2) carries both tables every
 * time: a le32 count and the unicast entries, then the same for multicast.
 * Sent with entry skip left out (-1: none) and extra added (NULL: none);
 * the driver's table changes only once the device took it.
 */
static int mac_table_send(struct vn_net *n, const struct vn_set *s, int skip, const uint8_t *extra)
{
	uint8_t buf[2 * 4 + VN_NET_MAC_MAX * 6], *p = buf;

	for (int mc = 0; mc < 2; mc++) {
		uint8_t *count = p;
		uint32_t c = 0;

		p += 4;
		for (unsigned i = 0; i <= n->n_mac; i++) {
			const uint8_t *m = i < n->n_mac ? n->mac_tab[i] : extra;

			if (!m || (int)i == skip || (m[0] & 1) != mc)
				continue;
			memcpy(p, m, 6);
			p += 6;
			c++;
		}
		c = htole32(c);
		memcpy(count, &c, 4);
	}
	return ctrl(n, s, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, buf,
		    (size_t)(p - buf));
}

static int mac_add(struct vn_net *n, const struct vn_set *s)
{
	int rc = need(n, s, VIRTIO_NET_F_CTRL_RX, "VIRTIO_NET_F_CTRL_RX");

	if (rc)
		return rc;
	if (is_zero(s->mac))
		return vn_err(-EINVAL, "virtio-net: mac add: 00:00:00:00:00:00 is no address");
	if (mac_find(n, s->mac) >= 0)
		return vn_err(-EEXIST, "virtio-net: mac add: the filter already holds that address");
	if (n->n_mac == VN_NET_MAC_MAX)
		return vn_err(-ENOSPC, "virtio-net: mac add: the filter is full (%u entries)",
			      VN_NET_MAC_MAX);
	rc = mac_table_send(n, s, -1, s->mac);
	if (!rc)
		memcpy(n->mac_tab[n->n_mac++], s->mac, 6);
	return rc;
}

static int mac_del(struct vn_net *n, const struct vn_set *s)
{
	int rc = need(n, s, VIRTIO_NET_F_CTRL_RX, "VIRTIO_NET_F_CTRL_RX");
	int at = mac_find(n, s->mac);

	if (rc)
		return rc;
	if (at < 0)
		return vn_err(-ENOENT, "virtio-net: mac del: the filter does not hold that address");
	rc = mac_table_send(n, s, at, NULL);
	if (!rc) {
		memmove(n->mac_tab[at], n->mac_tab[at + 1], (n->n_mac - (unsigned)at - 1) * 6u);
		n->n_mac--;
	}
	return rc;
}

static bool vlan_has(const struct vn_net *n, unsigned vid)
{
	return n->vlan[vid / 64] & BIT(vid % 64);
}

/* VIRTIO_NET_CTRL_VLAN_ADD/DEL (§5.1.6.5.3): one le16 VLAN id. */
static int vlan(struct vn_net *n, const struct vn_set *s, bool add)
{
	int rc = need(n, s, VIRTIO_NET_F_CTRL_VLAN, "VIRTIO_NET_F_CTRL_VLAN");
	uint16_t vid = htole16((uint16_t)s->val);

	if (rc)
		return rc;
	if (s->val > 4095)
		return vn_err(-EINVAL, "virtio-net: %s: VLAN id %u is not in 0 .. 4095",
			      set_name(s->kind), s->val);
	if (vlan_has(n, s->val) == add)
		return vn_err(add ? -EEXIST : -ENOENT, "virtio-net: %s: VLAN %u is %s", set_name(s->kind),
			      s->val, add ? "already accepted" : "not in the filter");
	rc = ctrl(n, s, VIRTIO_NET_CTRL_VLAN, add ? VIRTIO_NET_CTRL_VLAN_ADD : VIRTIO_NET_CTRL_VLAN_DEL,
		  &vid, sizeof(vid));
	if (!rc)
		n->vlan[s->val / 64] ^= BIT(s->val % 64);
	return rc;
}

/* VIRTIO_NET_CTRL_RX_PROMISC/ALLMULTI (§5.1.6.5.1): one byte, 0 off. */
static int rx_mode(struct vn_net *n, const struct vn_set *s)
{
	bool promisc = s->kind == VN_SET_PROMISC;
	unsigned bit = promisc ? VNET_IFF_PROMISC : VNET_IFF_ALLMULTI;
	uint8_t on = s->val != 0;
	int rc = need(n, s, VIRTIO_NET_F_CTRL_RX, "VIRTIO_NET_F_CTRL_RX");

	if (!rc)
		rc = ctrl(n, s, VIRTIO_NET_CTRL_RX,
			  promisc ? VIRTIO_NET_CTRL_RX_PROMISC : VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1);
	if (rc)
		return rc;
	if (on)
		__atomic_fetch_or(&n->iff, bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&n->iff, ~bit, __ATOMIC_RELAXED);
	return 0;
}

/* VIRTIO_NET_CTRL_MAC_ADDR_SET (§5.1.6.5.2): the station address, whose
 * config field the device then updates. */
static int station_mac(struct vn_net *n, const struct vn_set *s)
{
	int rc = need(n, s, VIRTIO_NET_F_CTRL_MAC_ADDR, "VIRTIO_NET_F_CTRL_MAC_ADDR");

	if (rc)
		return rc;
	if ((s->mac[0] & 1) || is_zero(s->mac))
		return vn_err(-EINVAL, "virtio-net: set mac: a station address must be unicast and "
			      "not all zeroes");
	rc = ctrl(n, s, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, s->mac, 6);
	/* vnet_dev_info() reads these bytes on other threads. */
	for (unsigned i = 0; !rc && i < 6; i++)
		__atomic_store_n(&n->mac[i], s->mac[i], __ATOMIC_RELAXED);
	return rc;
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (§5.1.6.5.5): le16, 1 .. the pairs set up. */
static int queue_pairs(struct vn_net *n, const struct vn_set *s)
{
	int rc = need(n, s, VIRTIO_NET_F_MQ, "VIRTIO_NET_F_MQ");
	uint16_t v = htole16((uint16_t)s->val);

	if (rc)
		return rc;
	if (s->val < 1 || s->val > n->pairs)
		return vn_err(-EINVAL, "virtio-net: set queue pairs: %u is not in 1 .. %u (the pairs "
			      "opened)", s->val, n->pairs);
	rc = ctrl(n, s, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, sizeof(v));
	if (!rc) {
		__atomic_store_n(&n->active_pairs, (uint16_t)s->val, __ATOMIC_RELAXED);
		/* Steering is VQ_PAIRS_SET's again: the device drops its RSS
		 * configuration, as QEMU's does (and the simulated device). */
		n->rss.enabled = 0;
	}
	return rc;
}

static bool pow2(unsigned x)
{
	return x && !(x & (x - 1));
}

/* The fields of r against the device's limits and the pairs opened. */
static int rss_check(const struct vn_net *n, const struct vnet_rss *r)
{
	if (r->key_len < 1 || r->key_len > n->rss.max_key_len)
		return vn_err(-EINVAL, "virtio-net: set rss: a key of %u bytes (the device takes 1 .. %u)",
			      r->key_len, n->rss.max_key_len);
	/* §5.1.6.5.7.1: indirection_table_mask + 1 entries, a power of 2. */
	if (!pow2(r->table_len) || r->table_len > n->rss.max_table_len)
		return vn_err(-EINVAL, "virtio-net: set rss: %u table entries (a power of 2, 1 .. %u)",
			      r->table_len, n->rss.max_table_len);
	/* §5.1.6.5.7.1: no hash type the device does not support. */
	if (r->hash_types & ~n->rss.supported_hash_types)
		return vn_err(-EINVAL, "virtio-net: set rss: hash types 0x%x not supported (the device "
			      "hashes 0x%x)", r->hash_types & ~n->rss.supported_hash_types,
			      n->rss.supported_hash_types);
	/* §5.1.6.5.7.1: only queues that are enabled, i.e. opened. */
	for (unsigned i = 0; i < r->table_len; i++)
		if (r->table[i] >= n->pairs)
			return vn_err(-EINVAL, "virtio-net: set rss: entry %u names queue pair %u (%u "
				      "opened)", i, r->table[i], n->pairs);
	return 0;
}

static void put_le16(uint8_t **p, uint16_t v)
{
	v = htole16(v);
	memcpy(*p, &v, 2);
	*p += 2;
}

/*
 * VIRTIO_NET_CTRL_MQ_RSS_CONFIG (virtio 1.2 §5.1.6.5.7.1), all fields
 * little-endian: le32 hash_types, le16 indirection_table_mask, le16
 * unclassified_queue (table[0]: where frames no hash type covers go), le16
 * indirection_table[mask + 1], le16 max_tx_vq (every pair opened: like
 * VQ_PAIRS_SET, the command sets the pairs in use), u8 hash_key_length,
 * the key bytes.
 */
static int rss(struct vn_net *n, const struct vn_set *s)
{
	const struct vnet_rss *r = s->arg;
	uint8_t buf[4 + 2 + 2 + 2 * VNET_RSS_TABLE_MAX + 2 + 1 + VNET_RSS_KEY_MAX], *p = buf;
	uint32_t types = htole32(r->hash_types);
	int rc = need(n, s, VIRTIO_NET_F_RSS, "VIRTIO_NET_F_RSS");

	if (!rc)
		rc = rss_check(n, r);
	if (rc)
		return rc;
	memcpy(p, &types, 4);
	p += 4;
	put_le16(&p, (uint16_t)(r->table_len - 1));
	put_le16(&p, r->table[0]);
	for (unsigned i = 0; i < r->table_len; i++)
		put_le16(&p, r->table[i]);
	put_le16(&p, n->pairs);
	*p++ = (uint8_t)r->key_len;
	memcpy(p, r->key, r->key_len);
	p += r->key_len;
	rc = ctrl(n, s, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG, buf, (size_t)(p - buf));
	if (rc)
		return rc;
	n->rss.hash_types = r->hash_types;
	n->rss.key_len = r->key_len;
	memcpy(n->rss.key, r->key, r->key_len);
	n->rss.table_len = r->table_len;
	memcpy(n->rss.table, r->table, r->table_len * sizeof(r->table[0]));
	n->rss.enabled = 1;
	__atomic_store_n(&n->active_pairs, n->pairs, __ATOMIC_RELAXED);
	return 0;
}

/*
 * VIRTIO_NET_CTRL_NOTF_COAL RX_SET then TX_SET (virtio 1.3 §5.1.6.5.10):
 * each le32 max_packets, le32 usecs. Each half is recorded once the device
 * took it.
 */
static int coalesce(struct vn_net *n, const struct vn_set *s)
{
	const struct vnet_coalesce *c = s->arg;
	const struct { uint8_t cmd; uint32_t frames, usecs; uint32_t *cur_frames, *cur_usecs; } half[] = {
		{ VIRTIO_NET_CTRL_NOTF_COAL_RX_SET, c->rx_max_frames, c->rx_usecs,
		  &n->coal.rx_max_frames, &n->coal.rx_usecs },
		{ VIRTIO_NET_CTRL_NOTF_COAL_TX_SET, c->tx_max_frames, c->tx_usecs,
		  &n->coal.tx_max_frames, &n->coal.tx_usecs },
	};
	int rc = need(n, s, VIRTIO_NET_F_NOTF_COAL, "VIRTIO_NET_F_NOTF_COAL");

	for (size_t i = 0; !rc && i < VN_ARRAY_SIZE(half); i++) {
		uint32_t v[2] = { htole32(half[i].frames), htole32(half[i].usecs) };

		rc = ctrl(n, s, VIRTIO_NET_CTRL_NOTF_COAL, half[i].cmd, v, sizeof(v));
		if (!rc) {
			*half[i].cur_frames = half[i].frames;
			*half[i].cur_usecs = half[i].usecs;
		}
	}
	return rc;
}

/*
 * virtio-net has no "set MTU" command: the config mtu (or 1500) is what
 * the buffers were sized for, and a lower MTU is the driver's own limit,
 * which each queue's data path loads once per burst.
 */
static int mtu(struct vn_net *n, const struct vn_set *s)
{
	if (s->val < ETH_MIN_MTU || s->val > n->mtu)
		return vn_err(-ERANGE, "virtio-net: set mtu: %u is not in %u .. %u (max_mtu: what the "
			      "device reports and the buffers hold)", s->val, ETH_MIN_MTU, n->mtu);
	for (unsigned i = 0; i < n->pairs; i++)
		__atomic_store_n(&n->q[i].frame_max, s->val + VN_NET_ETH_OVERHEAD, __ATOMIC_RELAXED);
	__atomic_store_n(&n->cur_mtu, (uint16_t)s->val, __ATOMIC_RELAXED);
	return 0;
}

/* Administrative state: the VN_STOP_DOWN bit of the byte the data path
 * tests anyway (port.h); the device itself is not told. */
static int up(struct vn_net *n, const struct vn_set *s)
{
	vn_port_set_up(&n->broken, s->val != 0);
	return 0;
}

static int set_locked(struct vn_net *n, const struct vn_set *s)
{
	switch (s->kind) {
	case VN_SET_MTU: return mtu(n, s);
	case VN_SET_UP: return up(n, s);
	case VN_SET_PROMISC:
	case VN_SET_ALLMULTI: return rx_mode(n, s);
	case VN_SET_MAC: return station_mac(n, s);
	case VN_SET_QUEUE_PAIRS: return queue_pairs(n, s);
	case VN_SET_MAC_ADD: return mac_add(n, s);
	case VN_SET_MAC_DEL: return mac_del(n, s);
	case VN_SET_VLAN_ADD: return vlan(n, s, true);
	case VN_SET_VLAN_DEL: return vlan(n, s, false);
	case VN_SET_RSS: return rss(n, s);
	case VN_SET_COALESCE: return coalesce(n, s);
	}
	return vn_err(-EINVAL, "virtio-net: unknown setting %d", (int)s->kind);
}

/* The reset lock keeps a change from crossing an auto reset's restore. */
int vn_net_set(struct vn_net *n, const struct vn_set *s)
{
	int rc;

	pthread_mutex_lock(&n->reset_lock);
	rc = set_locked(n, s);
	pthread_mutex_unlock(&n->reset_lock);
	if (!rc)
		vn_net_event_push(n, VNET_EV_SETTINGS);
	return rc;
}

int vn_net_get(struct vn_net *n, enum vn_set_kind kind, void *out)
{
	struct vn_set s = { .kind = kind };
	int rc;

	switch (kind) {
	case VN_SET_RSS:
		rc = need(n, &s, VIRTIO_NET_F_RSS, "VIRTIO_NET_F_RSS");
		if (!rc)
			memcpy(out, &n->rss, sizeof(n->rss));
		return rc;
	case VN_SET_COALESCE:
		rc = need(n, &s, VIRTIO_NET_F_NOTF_COAL, "VIRTIO_NET_F_NOTF_COAL");
		if (!rc)
			memcpy(out, &n->coal, sizeof(n->coal));
		return rc;
	default:
		return vn_err(-EINVAL, "virtio-net: %s cannot be read back", set_name(kind));
	}
}

/*
 * After an auto reset the device is back to its defaults (promiscuous,
 * allmulti off, no filter entries, its own MAC, one queue pair: §5.1.6.5):
 * send it what differs from them. The MTU and the administrative state are
 * the driver's and survived.
 */
int vn_net_restore(struct vn_net *n)
{
	struct vn_set s = { .kind = VN_SET_PROMISC };
	unsigned iff = __atomic_load_n(&n->iff, __ATOMIC_RELAXED);
	int rc = 0;

	if (!(iff & VNET_IFF_PROMISC)) {
		s.kind = VN_SET_PROMISC;
		s.val = 0;
		rc = rx_mode(n, &s);
	}
	if (!rc && (iff & VNET_IFF_ALLMULTI)) {
		s.kind = VN_SET_ALLMULTI;
		s.val = 1;
		rc = rx_mode(n, &s);
	}
	if (!rc && (n->features & BIT(VIRTIO_NET_F_CTRL_MAC_ADDR))) {
		s.kind = VN_SET_MAC;
		memcpy(s.mac, n->mac, 6);
		rc = station_mac(n, &s);
	}
	if (!rc && n->n_mac) {
		s.kind = VN_SET_MAC_ADD;
		rc = mac_table_send(n, &s, -1, NULL);
	}
	for (unsigned vid = 0; vid < 4096 && !rc; vid++) {
		uint16_t v = htole16((uint16_t)vid);

		s.kind = VN_SET_VLAN_ADD;
		if (vlan_has(n, vid))
			rc = ctrl(n, &s, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, &v, sizeof(v));
	}
	if (!rc && (n->features & BIT(VIRTIO_NET_F_MQ)) && n->pairs > 1) {
		uint16_t v = htole16(__atomic_load_n(&n->active_pairs, __ATOMIC_RELAXED));

		s.kind = VN_SET_QUEUE_PAIRS;
		rc = ctrl(n, &s, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, sizeof(v));
	}
	/* RSS after the queue pairs: VQ_PAIRS_SET turns it off (§5.1.6.5.6). */
	if (!rc && n->rss.enabled) {
		struct vnet_rss r = n->rss;

		s = (struct vn_set){ .kind = VN_SET_RSS, .arg = &r };
		rc = rss(n, &s);
	}
	if (!rc && (n->coal.rx_usecs || n->coal.rx_max_frames || n->coal.tx_usecs ||
		    n->coal.tx_max_frames)) {
		struct vnet_coalesce c = n->coal;

		s = (struct vn_set){ .kind = VN_SET_COALESCE, .arg = &c };
		rc = coalesce(n, &s);
	}
	return rc;
}

void vn_net_filters(struct vn_net *n, struct vnet_dev_filters *f)
{
	f->n_mac = n->n_mac;
	memcpy(f->mac, n->mac_tab, n->n_mac * 6u);
	f->n_vlan = 0;
	for (unsigned vid = 0; vid < 4096 && f->n_vlan < VN_ARRAY_SIZE(f->vlan); vid++)
		if (vlan_has(n, vid))
			f->vlan[f->n_vlan++] = (uint16_t)vid;
}

unsigned vn_net_flags(struct vn_net *n)
{
	unsigned f = __atomic_load_n(&n->iff, __ATOMIC_RELAXED);

	if (!(__atomic_load_n(&n->broken, __ATOMIC_RELAXED) & VN_STOP_DOWN))
		f |= VNET_IFF_UP;
	return f;
}
