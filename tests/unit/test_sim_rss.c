/* SPDX-License-Identifier: MIT */
/*
 * The simulated device's RSS (sim_rss.c): its Toeplitz hash against the
 * verification vectors Microsoft publishes with its RSS specification
 * ("Verifying the RSS hash calculation": the key below, IPv4 and IPv6
 * address pairs with and without ports), the choice of hash input by the
 * configured hash types (virtio 1.2 §5.1.6.4.3.1), and RSS_CONFIG
 * commands the device must refuse.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/sim_dev.h"

static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* Destination and source as Microsoft lists them; the hash input is
 * source address, destination address, source port, destination port. */
static const struct vec {
	int af;
	const char *dst;
	uint16_t dport;
	const char *src;
	uint16_t sport;
	uint32_t hash_ip, hash_l4;
} vecs[] = {
	{ AF_INET, "161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178 },
	{ AF_INET, "65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea },
	{ AF_INET, "12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a },
	{ AF_INET, "209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f },
	{ AF_INET, "202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2 },
	{ AF_INET6, "3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794,
	  0x2cc18cd5, 0x40207d3d },
	{ AF_INET6, "ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230,
	  0x0f0c461c, 0xdde51bbf },
	{ AF_INET6, "fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251,
	  0x4b61e985, 0x02d1feef },
};

static unsigned alen(int af)
{
	return af == AF_INET ? 4 : 16;
}

/* The raw input: addresses, then ports (big-endian, as on the wire). */
static unsigned vec_input(const struct vec *v, uint8_t *in, bool ports)
{
	unsigned a = alen(v->af);

	assert_int_equal(inet_pton(v->af, v->src, in), 1);
	assert_int_equal(inet_pton(v->af, v->dst, in + a), 1);
	if (!ports)
		return 2 * a;
	in[2 * a] = (uint8_t)(v->sport >> 8);
	in[2 * a + 1] = (uint8_t)v->sport;
	in[2 * a + 2] = (uint8_t)(v->dport >> 8);
	in[2 * a + 3] = (uint8_t)v->dport;
	return 2 * a + 4;
}

static void test_toeplitz_vectors(void **state)
{
	uint8_t in[36];

	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		unsigned n = vec_input(&vecs[i], in, false);

		assert_int_equal(sim_toeplitz(ms_key, 40, in, n), vecs[i].hash_ip);
		n = vec_input(&vecs[i], in, true);
		assert_int_equal(sim_toeplitz(ms_key, 40, in, n), vecs[i].hash_l4);
	}
}

/*
 * An Ethernet frame of vector v: IPv4 (20-byte header) or IPv6, with a
 * TCP or UDP header (proto), or an IPv4 fragment when frag is set.
 */
static uint32_t vec_frame(const struct vec *v, uint8_t proto, bool frag, uint8_t *f)
{
	unsigned l3 = 14, l4;

	memset(f, 0, 128);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	if (v->af == AF_INET) {
		f[12] = 0x08;
		f[l3] = 0x45;
		f[l3 + 6] = frag ? 0x20 : 0x40; /* MF, or DF */
		f[l3 + 9] = proto;
		l4 = l3 + 20;
		vec_input(v, f + l3 + 12, false);
	} else {
		f[12] = 0x86;
		f[13] = 0xdd;
		f[l3] = 0x60;
		f[l3 + 6] = proto;
		l4 = l3 + 40;
		vec_input(v, f + l3 + 8, false);
	}
	f[l4] = (uint8_t)(v->sport >> 8);
	f[l4 + 1] = (uint8_t)v->sport;
	f[l4 + 2] = (uint8_t)(v->dport >> 8);
	f[l4 + 3] = (uint8_t)v->dport;
	return l4 + 20;
}

/* table[i] = i, mask 127: the queue sim_rss_queue() returns is hash & 127. */
static struct sim_dev *rss_dev(uint32_t types)
{
	struct sim_dev *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->p.queues = 8;
	d->rss.on = true;
	d->rss.types = types;
	d->rss.mask = 127;
	d->rss.unclassified = 5;
	d->rss.key_len = 40;
	memcpy(d->rss.key, ms_key, 40);
	for (unsigned i = 0; i < 128; i++)
		d->rss.table[i] = (uint16_t)i;
	return d;
}

static void test_hash_types_choose_input(void **state)
{
	const uint32_t all = SIM_RSS_HASH_TYPES;
	const uint32_t ip_only = VIRTIO_NET_RSS_HASH_TYPE_IPv4 | VIRTIO_NET_RSS_HASH_TYPE_IPv6;
	const uint32_t tcp_only = VIRTIO_NET_RSS_HASH_TYPE_TCPv4 | VIRTIO_NET_RSS_HASH_TYPE_TCPv6;
	struct sim_dev *d;
	uint8_t f[128];

	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		uint32_t len;

		d = rss_dev(all);
		len = vec_frame(v, IPPROTO_TCP, false, f);
		assert_int_equal(sim_rss_queue(d, f, len), v->hash_l4 & 127);
		len = vec_frame(v, IPPROTO_UDP, false, f);
		assert_int_equal(sim_rss_queue(d, f, len), v->hash_l4 & 127);
		/* Neither TCP nor UDP: the addresses alone. */
		len = vec_frame(v, 47 /* GRE */, false, f);
		assert_int_equal(sim_rss_queue(d, f, len), v->hash_ip & 127);
		/* A fragment has no ports to hash. */
		if (v->af == AF_INET) {
			len = vec_frame(v, IPPROTO_TCP, true, f);
			assert_int_equal(sim_rss_queue(d, f, len), v->hash_ip & 127);
		}
		/* TCP hashing off: TCP falls back to the addresses. */
		d->rss.types = ip_only;
		len = vec_frame(v, IPPROTO_TCP, false, f);
		assert_int_equal(sim_rss_queue(d, f, len), v->hash_ip & 127);
		/* Only TCP: UDP is unclassified. */
		d->rss.types = tcp_only;
		len = vec_frame(v, IPPROTO_UDP, false, f);
		assert_int_equal(sim_rss_queue(d, f, len), 5);
		/* Truncated headers: unclassified, never a read past the frame. */
		assert_int_equal(sim_rss_queue(d, f, v->af == AF_INET ? 33 : 53), 5);
		free(d);
	}
	/* Not IP at all. */
	d = rss_dev(all);
	memset(f, 0, sizeof(f));
	f[12] = 0x88;
	f[13] = 0xb5;
	assert_int_equal(sim_rss_queue(d, f, 60), 5);
	assert_int_equal(sim_rss_queue(d, f, 10), 5);
	free(d);
}

/* An RSS_CONFIG payload: table of n entries, then max_tx_vq and the key. */
static uint32_t rss_cmd(uint8_t *p, uint32_t types, uint16_t n, uint16_t uncl, uint16_t entry,
			uint16_t max_tx, uint8_t key_len)
{
	uint32_t at = 8;

	sim_put32(p, types);
	sim_put16(p + 4, (uint16_t)(n - 1));
	sim_put16(p + 6, uncl);
	for (unsigned i = 0; i < n; i++, at += 2)
		sim_put16(p + at, (uint16_t)(i % 2 ? entry : 0));
	sim_put16(p + at, max_tx);
	p[at + 2] = key_len;
	/* Microsoft's key, zero-padded when a test asks for a longer one. */
	memset(p + at + 3, 0, key_len);
	memcpy(p + at + 3, ms_key, key_len < sizeof(ms_key) ? key_len : sizeof(ms_key));
	return at + 3 + key_len;
}

static void test_rss_config_checks(void **state)
{
	struct sim_dev *d = calloc(1, sizeof(*d));
	uint8_t p[8 + 2 * 256 + 3 + 64];
	uint32_t len;

	(void)state;
	assert_non_null(d);
	d->p.queues = 2;
	d->active_pairs = 1;
	len = rss_cmd(p, SIM_RSS_HASH_TYPES, 4, 1, 1, 2, 40);
	assert_int_equal(sim_rss_config(d, p, len), 0);
	assert_true(d->rss.on);
	assert_int_equal(d->rss.mask, 3);
	assert_int_equal(d->rss.unclassified, 1);
	assert_int_equal(d->rss.table[1], 1);
	assert_int_equal(d->active_pairs, 2);
	memset(&d->rss, 0, sizeof(d->rss));
	d->active_pairs = 1;

	/* Each refused, and nothing changed. */
	const struct { uint32_t types; uint16_t n, uncl, entry, max_tx; uint8_t key; int cut; } bad[] = {
		{ SIM_RSS_HASH_TYPES, 3, 0, 1, 2, 40, 0 },   /* not a power of 2 */
		{ SIM_RSS_HASH_TYPES, 256, 0, 1, 2, 40, 0 }, /* over 128 entries */
		{ SIM_RSS_HASH_TYPES, 4, 2, 1, 2, 40, 0 },   /* unclassified queue 2 of 2 */
		{ SIM_RSS_HASH_TYPES, 4, 0, 2, 2, 40, 0 },   /* table entry 2 of 2 */
		{ SIM_RSS_HASH_TYPES, 4, 0, 1, 3, 40, 0 },   /* max_tx_vq over the pairs */
		{ SIM_RSS_HASH_TYPES, 4, 0, 1, 0, 40, 0 },   /* max_tx_vq 0 */
		{ SIM_RSS_HASH_TYPES, 4, 0, 1, 2, 41, 0 },   /* key over 40 bytes */
		{ VIRTIO_NET_RSS_HASH_TYPE_IP_EX, 4, 0, 1, 2, 40, 0 }, /* unsupported type */
		{ SIM_RSS_HASH_TYPES, 4, 0, 1, 2, 40, 1 },   /* one byte short */
		{ SIM_RSS_HASH_TYPES, 4, 0, 1, 2, 40, -1 },  /* one byte too many */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = rss_cmd(p, bad[i].types, bad[i].n, bad[i].uncl, bad[i].entry, bad[i].max_tx,
			      bad[i].key);
		assert_int_equal(sim_rss_config(d, p, (uint32_t)((int)len - bad[i].cut)), -1);
		assert_false(d->rss.on);
		assert_int_equal(d->active_pairs, 1);
	}
	for (len = 0; len < 8; len++)
		assert_int_equal(sim_rss_config(d, p, len), -1);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toeplitz_vectors),
		cmocka_unit_test(test_hash_types_choose_input),
		cmocka_unit_test(test_rss_config_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
