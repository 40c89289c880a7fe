/* SPDX-License-Identifier: MIT */
/*
 * Test frames whose every byte is a function of (sequence number, length),
 * so a receiver can check bytes, length and order of each frame it gets.
 */
#ifndef VNET_TEST_FRAMES_H
#define VNET_TEST_FRAMES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TF_ETHERTYPE 0x88b5
#define TF_HDR 22 /* Ethernet header + 64-bit sequence number */

/* Frame length for sequence number seq, cycling through [min, max]. */
static inline size_t tf_len(uint64_t seq, size_t min, size_t max)
{
	return min + (size_t)((seq * 7919) % (max - min + 1));
}

static inline uint8_t tf_byte(uint64_t seq, size_t i)
{
	return (uint8_t)(seq * 31 + i * 7 + (i >> 8));
}

static inline void tf_fill(uint8_t *f, size_t len, const uint8_t mac[6], uint64_t seq)
{
	memcpy(f, mac, 6);
	memcpy(f + 6, mac, 6);
	f[12] = TF_ETHERTYPE >> 8;
	f[13] = TF_ETHERTYPE & 0xff;
	memcpy(f + 14, &seq, 8);
	for (size_t i = TF_HDR; i < len; i++)
		f[i] = tf_byte(seq, i);
}

/* True when f is exactly frame seq of length len. */
static inline bool tf_check(const uint8_t *f, size_t len, const uint8_t mac[6], uint64_t seq,
			    size_t want_len)
{
	uint64_t got;

	if (len != want_len || memcmp(f, mac, 6) || memcmp(f + 6, mac, 6) ||
	    f[12] != TF_ETHERTYPE >> 8 || f[13] != (TF_ETHERTYPE & 0xff))
		return false;
	memcpy(&got, f + 14, 8);
	if (got != seq)
		return false;
	for (size_t i = TF_HDR; i < len; i++)
		if (f[i] != tf_byte(seq, i))
			return false;
	return true;
}

/* Frame counts shrink under valgrind (VNET_TEST_QUICK=1); checks do not. */
static inline uint64_t tf_scale(uint64_t n)
{
	const char *q = getenv("VNET_TEST_QUICK");

	return q && *q == '1' ? (n / 50 > 1000 ? n / 50 : 1000) : n;
}

#endif
