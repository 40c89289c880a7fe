/* SPDX-License-Identifier: MIT */
/*
 * Receive-side scaling of the simulated device (virtio 1.2 §5.1.6.4.3 and
 * §5.1.6.5.7): the RSS_CONFIG command, the classification of a received
 * frame by the hash types configured, the Toeplitz hash and the queue the
 * indirection table gives. Written from the spec and Microsoft's RSS
 * description, independently of the driver (which only builds commands).
 */
#include <string.h>

#include <linux/if_ether.h> /* ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q */
#include <netinet/in.h>     /* IPPROTO_TCP, IPPROTO_UDP */

#include "sim/sim_dev.h"

uint32_t sim_toeplitz(const uint8_t *key, unsigned key_len, const uint8_t *in, unsigned len)
{
	uint32_t hash = 0, win = 0;
	unsigned i;
	int b;

	/* The 32-bit window of the key that starts at the input bit being
	 * looked at; key bits past key_len are zero. */
	for (i = 0; i < 4; i++)
		win = win << 8 | (i < key_len ? key[i] : 0);
	for (i = 0; i < len; i++) {
		uint8_t next = i + 4 < key_len ? key[i + 4] : 0;

		for (b = 7; b >= 0; b--) {
			if (in[i] >> b & 1)
				hash ^= win;
			win = win << 1 | (uint32_t)(next >> b & 1);
		}
	}
	return hash;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The hash input of frame f (len bytes) under the hash types enabled,
 * as §5.1.6.4.3.1 orders the choice: TCP, else UDP, else the addresses
 * alone; into in (36 bytes at most: IPv6 addresses and ports). Returns its
 * length, 0 when no enabled type covers the frame (unclassified).
 */
static unsigned hash_input(uint32_t types, const uint8_t *f, uint32_t len, uint8_t *in)
{
	uint32_t l3 = 14, l4, alen;
	uint16_t proto;
	uint8_t l4proto;
	bool frag, v4;

	if (len < l3)
		return 0;
	proto = be16(f + 12);
	if (proto == ETH_P_8021Q && len >= 18) { /* one 802.1Q tag */
		proto = be16(f + 16);
		l3 = 18;
	}
	v4 = proto == ETH_P_IP;
	if (v4) {
		if (len < l3 + 20 || (f[l3] >> 4) != 4 || (f[l3] & 0xf) < 5)
			return 0;
		l4 = l3 + (f[l3] & 0xfu) * 4;
		l4proto = f[l3 + 9];
		/* More fragments, or an offset: no port numbers to hash. */
		frag = (be16(f + l3 + 6) & 0x3fff) != 0;
		alen = 4;
		memcpy(in, f + l3 + 12, 8); /* source then destination address */
	} else if (proto == ETH_P_IPV6) {
		if (len < l3 + 40 || (f[l3] >> 4) != 6)
			return 0;
		l4 = l3 + 40;
		l4proto = f[l3 + 6]; /* an extension header hides the ports: addresses only */
		frag = false;
		alen = 16;
		memcpy(in, f + l3 + 8, 32);
	} else {
		return 0;
	}
	if (!frag && len >= l4 + 4 &&
	    ((l4proto == IPPROTO_TCP &&
	      (types & (v4 ? VIRTIO_NET_RSS_HASH_TYPE_TCPv4 : VIRTIO_NET_RSS_HASH_TYPE_TCPv6))) ||
	     (l4proto == IPPROTO_UDP &&
	      (types & (v4 ? VIRTIO_NET_RSS_HASH_TYPE_UDPv4 : VIRTIO_NET_RSS_HASH_TYPE_UDPv6))))) {
		memcpy(in + 2 * alen, f + l4, 4); /* source then destination port */
		return 2 * alen + 4;
	}
	if (types & (v4 ? VIRTIO_NET_RSS_HASH_TYPE_IPv4 : VIRTIO_NET_RSS_HASH_TYPE_IPv6))
		return 2 * alen;
	return 0;
}

unsigned sim_rss_queue(const struct sim_dev *d, const uint8_t *f, uint32_t len)
{
	uint8_t in[36];
	unsigned n = hash_input(d->rss.types, f, len, in);

	if (!n)
		return d->rss.unclassified;
	/* §5.1.6.4.3: the hash's low bits, masked, index the table. */
	return d->rss.table[sim_toeplitz(d->rss.key, d->rss.key_len, in, n) & d->rss.mask];
}

/*
 * VIRTIO_NET_CTRL_MQ_RSS_CONFIG (§5.1.6.5.7.1): le32 hash_types, le16
 * indirection_table_mask, le16 unclassified_queue, le16 table[mask + 1],
 * le16 max_tx_vq, u8 hash_key_length, the key. Everything is checked
 * against the device requirements before anything changes.
 */
int sim_rss_config(struct sim_dev *d, const uint8_t *p, uint32_t len)
{
	uint32_t types, n, i, at;
	uint16_t mask, uncl, max_tx;
	uint8_t key_len;

	if (len < 8)
		return -1;
	types = sim_get32(p);
	mask = (uint16_t)(p[4] | p[5] << 8);
	uncl = (uint16_t)(p[6] | p[7] << 8);
	n = (uint32_t)mask + 1;
	/* A power of 2 of entries, at most what the device offers. */
	if ((n & mask) || n > SIM_RSS_TABLE_MAX || len < 8 + 2 * n + 3)
		return -1;
	at = 8 + 2 * n;
	max_tx = (uint16_t)(p[at] | p[at + 1] << 8);
	key_len = p[at + 2];
	if (key_len > SIM_RSS_KEY_MAX || len != at + 3 + key_len)
		return -1;
	if ((types & ~SIM_RSS_HASH_TYPES) || uncl >= d->p.queues || max_tx < 1 ||
	    max_tx > d->p.queues)
		return -1;
	for (i = 0; i < n; i++)
		if ((uint16_t)(p[8 + 2 * i] | p[9 + 2 * i] << 8) >= d->p.queues)
			return -1;
	d->rss.types = types;
	d->rss.mask = mask;
	d->rss.unclassified = uncl;
	for (i = 0; i < n; i++)
		d->rss.table[i] = (uint16_t)(p[8 + 2 * i] | p[9 + 2 * i] << 8);
	d->rss.key_len = key_len;
	memcpy(d->rss.key, p + at + 3, key_len);
	d->rss.on = true;
	/* Like VQ_PAIRS_SET, the command sets the queue pairs in use. */
	d->active_pairs = max_tx;
	return 0;
}
