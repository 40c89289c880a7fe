/* SPDX-License-Identifier: MIT */
/* vnetperf's TSO frames (vnetperf_tso.c). */
#ifndef VNETPERF_H
#define VNETPERF_H

#include <stddef.h>
#include <stdint.h>

#include "vnet/vnet.h"

/* Ethernet, IPv4 and TCP headers: where the vnetperf fields start. */
#define PERF_TSO_HDR 54u
/* Largest --tso frame: 65535 IPv4 bytes after the Ethernet header. */
#define PERF_TSO_MAX 65549u

/* Build a TSO frame of len bytes (>= PERF_TSO_HDR) for sequence number seq:
 * the headers; the caller writes the payload from PERF_TSO_HDR on. */
void perf_tso_fill(uint8_t *f, size_t len, const uint8_t mac[6], uint64_t seq);
/* The metadata of such a frame cut into mss payload bytes. */
void perf_tso_offload(struct vnet_offload *o, unsigned mss);
/* A received frame (len bytes in f): 1 the first segment of a vnetperf
 * TSO frame (or the whole GSO frame), 0 a later segment, -1 something else. */
int perf_tso_kind(const uint8_t *f, size_t len);

#endif
