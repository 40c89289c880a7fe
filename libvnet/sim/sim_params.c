/* SPDX-License-Identifier: MIT */
/*
 * Parameters of a simulated device, shared by sim: URIs (key=value options)
 * and vnet-simd (the same names as --options). Values are parsed strictly:
 * a bad one is an error naming it, never a silent default.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim/sim_dev.h"

static const char *const mode_names[] = {
	[SIM_LOOPBACK] = "loopback", [SIM_PAIR] = "pair", [SIM_TAP] = "tap",
	[SIM_SINK] = "sink", [SIM_SOURCE] = "source",
};

static const char *const fault_names[] = {
	[SIM_FAULT_NONE] = "none",
	[SIM_FAULT_BAD_USED_ID] = "bad_used_id",
	[SIM_FAULT_BAD_USED_LEN] = "bad_used_len",
	[SIM_FAULT_DUP_USED_ID] = "dup_used_id",
	[SIM_FAULT_BAD_RX_CSUM] = "bad_rx_csum",
	[SIM_FAULT_BAD_RX_GSO] = "bad_rx_gso",
	[SIM_FAULT_NEEDS_RESET] = "needs_reset",
	[SIM_FAULT_DROP_IRQ] = "drop_irq",
	[SIM_FAULT_VANISH] = "vanish",
	[SIM_FAULT_LINK_DOWN] = "link_down",
	[SIM_FAULT_CTRL_STALL] = "ctrl_stall",
};

void sim_params_default(struct sim_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = SIM_LOOPBACK;
	p->queues = 1;
	p->qsize = 256;
	p->mtu = 1500;
	p->size = 60;
	p->mem = SIM_MEM_DEFAULT;
	p->offload = true;
	/* Locally administered (bit 1 of the first byte), unicast. */
	memcpy(p->mac, (const uint8_t[6]){ 0x02, 0x76, 0x6e, 0x00, 0x00, 0x01 }, 6);
}

int sim_params_mode(struct sim_params *p, const char *mode, const char *arg)
{
	size_t i;

	for (i = 0; i < VN_ARRAY_SIZE(mode_names); i++)
		if (!strcmp(mode, mode_names[i]))
			break;
	if (i == VN_ARRAY_SIZE(mode_names))
		return vn_err(-EINVAL, "unknown sim mode '%s' (loopback, pair, tap, sink, source)",
			      mode);
	p->mode = (enum sim_mode)i;
	if (strlen(arg) >= sizeof(p->arg))
		return vn_err(-EINVAL, "sim %s: argument '%s' too long", mode, arg);
	if (p->mode == SIM_TAP && (!arg[0] || strlen(arg) >= IFNAMSIZ || strchr(arg, '/')))
		return vn_err(-EINVAL, "sim tap: needs an interface name (tap=IFNAME, < %d chars)",
			      IFNAMSIZ);
	strcpy(p->arg, arg);
	return 0;
}

static int parse_uint(const char *key, const char *val, unsigned long long min,
		      unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (val[0] < '0' || val[0] > '9')
		return vn_err(-EINVAL, "%s: '%s' is not a number", key, val);
	*out = strtoull(val, &end, 10);
	if (errno || *end || *out < min || *out > max)
		return vn_err(-EINVAL, "%s: '%s' is not a number in %llu..%llu", key, val, min, max);
	return 0;
}

/* mem=N[k|m|g] (binary multiples) in SIM_MEM_MIN .. SIM_MEM_MAX. */
static int parse_size(const char *val, uint64_t *out)
{
	static const char units[] = "kmg";
	char num[24];
	size_t len = strlen(val);
	const char *u = len ? strchr(units, val[len - 1] | 0x20) : NULL;
	unsigned long long v;
	int err;

	if (u && len > 1)
		len--;
	else
		u = NULL;
	if (len >= sizeof(num))
		return vn_err(-EINVAL, "mem: '%s' is too long", val);
	memcpy(num, val, len);
	num[len] = '\0';
	err = parse_uint("mem", num, 1, SIM_MEM_MAX, &v);
	if (err)
		return err;
	if (u)
		v <<= 10 * (unsigned)(u - units + 1);
	if (v < SIM_MEM_MIN || v > SIM_MEM_MAX)
		return vn_err(-EINVAL, "mem: '%s' is not in %llu..%llu bytes", val,
			      (unsigned long long)SIM_MEM_MIN, (unsigned long long)SIM_MEM_MAX);
	*out = v;
	return 0;
}

static int parse_mac(const char *val, uint8_t mac[6])
{
	unsigned b[6];
	int n = -1;
	int i;

	if (sscanf(val, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5], &n) != 6 || n != 17 || val[n])
		return vn_err(-EINVAL, "mac: '%s' is not XX:XX:XX:XX:XX:XX", val);
	if (b[0] & 1)
		return vn_err(-EINVAL, "mac: '%s' is a multicast address", val);
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int parse_fault(struct sim_params *p, const char *val)
{
	const char *at = strchr(val, '@');
	size_t len = at ? (size_t)(at - val) : strlen(val);
	unsigned long long after = 0;
	size_t i;
	int err;

	for (i = 1; i < VN_ARRAY_SIZE(fault_names); i++)
		if (strlen(fault_names[i]) == len && !strncmp(val, fault_names[i], len))
			break;
	if (i == VN_ARRAY_SIZE(fault_names))
		return vn_err(-EINVAL, "fault: unknown '%.*s' (bad_used_id, bad_used_len, "
			      "dup_used_id, needs_reset, drop_irq, vanish, link_down, ctrl_stall, bad_rx_csum, "
			      "bad_rx_gso)", (int)len, val);
	if (at) {
		err = parse_uint("fault", at + 1, 0, ULLONG_MAX, &after);
		if (err)
			return err;
	}
	p->fault = (enum sim_fault)i;
	p->fault_after = after;
	return 0;
}

int sim_params_set(struct sim_params *p, const char *key, const char *val)
{
	/* Numeric options: where they go and their range. */
	const struct { const char *key; unsigned *field; unsigned min, max; } num[] = {
		{ "queues", &p->queues, 1, SIM_MAX_PAIRS },
		{ "qsize", &p->qsize, 2, SIM_VQ_MAX_SIZE },
		{ "mtu", &p->mtu, 68, SIM_MTU_MAX },
		/* Checked against the MTU in sim_params_check(). */
		{ "size", &p->size, 60, SIM_FRAME_MAX },
		{ "vectors", &p->vectors, 1, SIM_MAX_VECTORS },
	};
	unsigned long long v;
	size_t i;
	int err;

	/* The control plane's and the driver's options (device.c, vnet/ctl.h),
	 * not the model's. */
	if (!strcmp(key, "name") || !strcmp(key, "ctl") || !strcmp(key, "ring") ||
	    !strcmp(key, "reset") || !strcmp(key, "offload"))
		return 0;
	if (!strcmp(key, "mac")) {
		err = parse_mac(val, p->mac);
		p->mac_set = !err;
		return err;
	}
	if (!strcmp(key, "fault"))
		return parse_fault(p, val);
	if (!strcmp(key, "rss") || !strcmp(key, "coalesce") || !strcmp(key, "notify_data") ||
	    !strcmp(key, "dev_offload")) {
		bool *field = key[0] == 'r' ? &p->rss : key[0] == 'c' ? &p->coalesce :
			      key[0] == 'd' ? &p->offload : &p->notify_data;

		if (strcmp(val, "on") && strcmp(val, "off"))
			return vn_err(-EINVAL, "%s: '%s' is not on or off", key, val);
		*field = !strcmp(val, "on");
		return 0;
	}
	if (!strcmp(key, "mem"))
		return parse_size(val, &p->mem);
	if (!strcmp(key, "rxfull")) {
		if (strcmp(val, "wait") && strcmp(val, "drop"))
			return vn_err(-EINVAL, "rxfull: '%s' is not wait or drop", val);
		p->rx_drop = !strcmp(val, "drop");
		return 0;
	}
	if (!strcmp(key, "irq")) {
		if (strcmp(val, "msix") && strcmp(val, "intx"))
			return vn_err(-EINVAL, "irq: '%s' is not msix or intx", val);
		p->intx_only = !strcmp(val, "intx");
		return 0;
	}
	for (i = 0; i < VN_ARRAY_SIZE(num); i++) {
		if (strcmp(key, num[i].key))
			continue;
		err = parse_uint(key, val, num[i].min, num[i].max, &v);
		if (err)
			return err;
		/* Split rings have power-of-2 sizes (virtio 1.2 §2.7). */
		if (num[i].field == &p->qsize && (v & (v - 1)))
			return vn_err(-EINVAL, "qsize: %llu is not a power of 2", v);
		*num[i].field = (unsigned)v;
		return 0;
	}
	return vn_err(-EINVAL, "sim: unknown option '%s'", key);
}

int sim_params_check(struct sim_params *p)
{
	if (p->size > p->mtu + 14)
		return vn_err(-EINVAL, "size: %u is more than mtu %u + 14 (Ethernet header)",
			      p->size, p->mtu);
	return 0;
}
