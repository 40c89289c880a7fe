/* SPDX-License-Identifier: MIT */
/*
 * vnetconf's side of the libvnet control protocol (vnet/ctl.h): finding
 * the devices in the run directory, one connection per device, requests
 * with their own nlmsg_seq, and answers parsed and checked attribute by
 * attribute (the server is another process: its bytes are untrusted).
 *
 * Functions return 0 or a negative errno; on failure ctl_why() says why in
 * words a person can act on (the server's extended-ack message verbatim
 * when it sent one).
 */
#ifndef VNETCONF_CTL_CLIENT_H
#define VNETCONF_CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl/ctl_int.h"
#include "vnet/ctl.h"
#include "vnet/vnet.h"

#define CTL_NAME_LEN 64     /* control-plane names, access modes */
#define CTL_URI_LEN 256
#define CTL_MAX_LIST 64     /* feature names, MAC and VLAN filter entries kept */
#define CTL_TIMEOUT_MS 2000 /* a server that does not answer by then is stuck */

/* One connection to one device's control socket. */
struct ctl_conn {
	int fd;
	char name[CTL_NAME_LEN];
	pid_t pid;      /* the server (SO_PEERCRED), 0 when unknown */
	uint32_t seq;   /* of the last request */
	char *buf;      /* VNET_CTL_MSG_MAX bytes */
};

/* What VNET_CMD_LINK_GET says about a device; have has bit 1 << VNET_A_x
 * for each attribute the answer carried. */
struct ctl_link {
	uint64_t have;
	char name[CTL_NAME_LEN], uri[CTL_URI_LEN], access[CTL_NAME_LEN], driver[CTL_NAME_LEN];
	uint32_t pid, mtu, max_mtu, queue_pairs, open_pairs, max_pairs, queue_size;
	uint8_t mac[6];
	bool oper_up, admin_up, promisc, allmulti, broken;
	uint64_t features;
	unsigned n_features, n_macs, n_vlans;
	char feature_names[CTL_MAX_LIST][CTL_NAME_LEN];
	uint8_t macs[CTL_MAX_LIST][6];
	uint16_t vlans[CTL_MAX_LIST];
};

static inline bool ctl_has(const struct ctl_link *l, int attr)
{
	return l->have >> attr & 1;
}

/* One counter of VNET_CMD_STATS_GET. */
struct ctl_stat {
	char name[CTL_NAME_LEN];
	uint64_t value;
};

struct ctl_stats {
	char name[CTL_NAME_LEN];
	size_t n;
	struct ctl_stat *v;  /* malloc'ed, in the server's order */
};

/* One VNET_CMD_EVENT notification. */
struct ctl_event {
	char name[CTL_NAME_LEN];
	uint32_t type;          /* enum vnet_dev_event_type */
	int oper_up, admin_up;  /* -1 when absent */
};

/* The settings of one VNET_CMD_LINK_SET; has bit 1 << VNET_A_x each set. */
struct ctl_settings {
	uint64_t have;
	bool up, promisc, allmulti;
	uint32_t mtu, queue_pairs;
	uint8_t mac[6];
};

/* What VNET_CMD_RSS_GET says; for ctl_rss_set(), have says which of
 * hash_types (VNET_A_RSS_HASH_TYPES), key and table to send. */
struct ctl_rss {
	uint64_t have;
	char name[CTL_NAME_LEN];
	bool on;
	uint32_t hash_types, hash_supported, key_max, table_max;
	unsigned key_len, table_len;
	uint8_t key[VNET_RSS_KEY_MAX];
	uint16_t table[VNET_RSS_TABLE_MAX];
};

/* Coalescing: v[i] is attribute VNET_A_COAL_RX_USECS + i (rx-usecs,
 * rx-frames, tx-usecs, tx-frames); have as above. */
#define CTL_COAL_N 4
struct ctl_coal {
	uint64_t have;
	char name[CTL_NAME_LEN];
	uint32_t v[CTL_COAL_N];
};

/* The reason of the last failure, for the user. */
const char *ctl_why(void);

/* The run directory (ctl.h: VNET_RUN_DIR, /run/vnet, $XDG_RUNTIME_DIR/vnet). */
int ctl_run_dir(char *buf, size_t sz);

/* name could be a device's (libvnet's naming rules, ctl/ctl_int.h). */
bool ctl_valid_name(const char *name);

/*
 * The devices whose sockets are in the run directory, in natural order
 * (vnet2 before vnet10; stale ones too): fills names[] (up to max) and
 * returns how many it filled; -ENOENT (with a reason) when the directory
 * does not exist.
 */
int ctl_list(char (*names)[VN_CTL_NAME_MAX], size_t max);

/*
 * Connect to device name. -ENODEV when nothing serves that name (no socket,
 * or a stale one: the reason lists the running devices), -EINVAL for a
 * name that cannot be a device's.
 */
int ctl_open(struct ctl_conn *c, const char *name);
/* The same without the search for running devices: -ENODEV, no reason. */
int ctl_connect(struct ctl_conn *c, const char *name);
void ctl_close(struct ctl_conn *c);

/* Requests: each waits for its answer (at most CTL_TIMEOUT_MS). */
int ctl_link_get(struct ctl_conn *c, struct ctl_link *l);
int ctl_stats_get(struct ctl_conn *c, struct ctl_stats *s);
void ctl_stats_free(struct ctl_stats *s);
int ctl_link_set(struct ctl_conn *c, const struct ctl_settings *set);
/* cmd VNET_CMD_MAC_ADD/DEL with mac, or VNET_CMD_VLAN_ADD/DEL with vid. */
int ctl_filter(struct ctl_conn *c, uint8_t cmd, const uint8_t *mac, uint16_t vid);
int ctl_subscribe(struct ctl_conn *c);
int ctl_rss_get(struct ctl_conn *c, struct ctl_rss *r);
int ctl_rss_set(struct ctl_conn *c, const struct ctl_rss *r);
int ctl_coal_get(struct ctl_conn *c, struct ctl_coal *k);
int ctl_coal_set(struct ctl_conn *c, const struct ctl_coal *k);

/*
 * Read one datagram of notifications from a subscribed connection (call
 * when its fd is readable); fn is called for each. 1 when one was read, 0
 * when none waits, -ECONNRESET when the server went away.
 */
int ctl_read_events(struct ctl_conn *c, void (*fn)(const struct ctl_event *ev, void *arg),
		    void *arg);

#endif
