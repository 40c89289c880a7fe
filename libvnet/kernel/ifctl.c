/* SPDX-License-Identifier: MIT */
/* Device settings through a kernel interface's ioctls (ifctl.h). */
#include "ifctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <net/if.h>
#include <net/if_arp.h>

#include "log.h"

#define MIN_MTU 68u /* RFC 791; the kernel's ETH_MIN_MTU */

/* One ioctl on the interface; -errno recorded with what was asked. */
static int ioc(struct vn_ifctl *c, unsigned long req, const char *req_name, struct ifreq *ifr)
{
	memset(ifr->ifr_name, 0, sizeof(ifr->ifr_name));
	memcpy(ifr->ifr_name, c->ifname, strnlen(c->ifname, IFNAMSIZ - 1));
	if (ioctl(c->fd, req, ifr) == 0)
		return 0;
	return vn_err(-errno, "%s: %s %s: %s%s", c->who, req_name, c->ifname, strerror(errno),
		      errno == EPERM ? " (CAP_NET_ADMIN is needed to change the interface)" : "");
}

/* IFF_PROMISC or IFF_ALLMULTI: read, change one bit, write back. */
static int set_flag(struct vn_ifctl *c, short bit, bool on)
{
	struct ifreq ifr;
	int rc = ioc(c, SIOCGIFFLAGS, "SIOCGIFFLAGS", &ifr);

	if (rc)
		return rc;
	ifr.ifr_flags = (short)(on ? ifr.ifr_flags | bit : ifr.ifr_flags & ~bit);
	return ioc(c, SIOCSIFFLAGS, "SIOCSIFFLAGS", &ifr);
}

static int set_mtu(struct vn_ifctl *c, unsigned mtu)
{
	struct ifreq ifr = { .ifr_mtu = (int)mtu };

	if (mtu < MIN_MTU || mtu > c->max_mtu)
		return vn_err(-ERANGE, "%s: set mtu: %u is not in %u .. %u (max_mtu: what the port's "
			      "buffers hold)", c->who, mtu, MIN_MTU, c->max_mtu);
	return ioc(c, SIOCSIFMTU, "SIOCSIFMTU", &ifr);
}

static bool is_zero(const uint8_t mac[6])
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static int set_mac(struct vn_ifctl *c, const uint8_t mac[6])
{
	struct ifreq ifr = { 0 };

	if ((mac[0] & 1) || is_zero(mac))
		return vn_err(-EINVAL, "%s: set mac: a station address must be unicast and not all "
			      "zeroes", c->who);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	return ioc(c, SIOCSIFHWADDR, "SIOCSIFHWADDR", &ifr);
}

static int mc_find(const struct vn_ifctl *c, const uint8_t mac[6])
{
	for (unsigned i = 0; i < c->n_mc; i++)
		if (!memcmp(c->mc[i], mac, 6))
			return (int)i;
	return -1;
}

/* A multicast filter entry: SIOCADDMULTI/SIOCDELMULTI (netdevice(7)). */
static int mc_change(struct vn_ifctl *c, const uint8_t mac[6], bool add)
{
	struct ifreq ifr = { 0 };
	int at = mc_find(c, mac), rc;

	if (!(mac[0] & 1))
		return vn_err(-EOPNOTSUPP, "%s: mac %s: a kernel interface takes extra unicast "
			      "addresses from no ioctl (promisc on receives them)", c->who,
			      add ? "add" : "del");
	if (add && at >= 0)
		return vn_err(-EEXIST, "%s: mac add: the filter already holds that address", c->who);
	if (!add && at < 0)
		return vn_err(-ENOENT, "%s: mac del: the filter does not hold that address", c->who);
	if (add && c->n_mc == VN_IFCTL_MC_MAX)
		return vn_err(-ENOSPC, "%s: mac add: the filter is full (%u entries)", c->who,
			      VN_IFCTL_MC_MAX);
	ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	rc = add ? ioc(c, SIOCADDMULTI, "SIOCADDMULTI", &ifr)
		 : ioc(c, SIOCDELMULTI, "SIOCDELMULTI", &ifr);
	if (rc)
		return rc;
	if (add) {
		memcpy(c->mc[c->n_mc++], mac, 6);
	} else {
		memmove(c->mc[at], c->mc[at + 1], (c->n_mc - (unsigned)at - 1) * 6u);
		c->n_mc--;
	}
	return 0;
}

int vn_ifctl_set(struct vn_ifctl *c, const struct vn_set *s)
{
	switch (s->kind) {
	case VN_SET_UP:
		vn_port_set_up(c->stop, s->val != 0);
		return 0;
	case VN_SET_MTU:
		return set_mtu(c, s->val);
	case VN_SET_PROMISC:
		return set_flag(c, IFF_PROMISC, s->val != 0);
	case VN_SET_ALLMULTI:
		return set_flag(c, IFF_ALLMULTI, s->val != 0);
	case VN_SET_MAC:
		return set_mac(c, s->mac);
	case VN_SET_MAC_ADD:
	case VN_SET_MAC_DEL:
		return mc_change(c, s->mac, s->kind == VN_SET_MAC_ADD);
	case VN_SET_VLAN_ADD:
	case VN_SET_VLAN_DEL:
		return vn_err(-EOPNOTSUPP, "%s: a VLAN filter has no ioctl on a kernel interface "
			      "(make a VLAN interface on %s and open that)", c->who, c->ifname);
	case VN_SET_QUEUE_PAIRS:
		return vn_err(-EOPNOTSUPP, "%s: the kernel steers frames to every queue opened; "
			      "open fewer queues (queues=) instead", c->who);
	case VN_SET_RSS:
	case VN_SET_COALESCE:
		/* The kernel driver's (ethtool -X / -C on the interface):
		 * not the application's to change through this port. */
		return vn_err(-EOPNOTSUPP, "%s: %s belongs to the kernel driver of %s (ethtool %s)",
			      c->who, s->kind == VN_SET_RSS ? "RSS" : "interrupt coalescing",
			      c->ifname, s->kind == VN_SET_RSS ? "-X" : "-C");
	}
	return vn_err(-EINVAL, "%s: unknown setting %d", c->who, (int)s->kind);
}

unsigned vn_ifctl_flags(struct vn_ifctl *c)
{
	unsigned f = 0;
	struct ifreq ifr;

	if (!(__atomic_load_n(c->stop, __ATOMIC_RELAXED) & VN_STOP_DOWN))
		f |= VNET_IFF_UP;
	/* Not ioc(): a read that fails (the interface went) is no error to record. */
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, c->ifname, strnlen(c->ifname, IFNAMSIZ - 1));
	if (ioctl(c->fd, SIOCGIFFLAGS, &ifr) == 0) {
		if (ifr.ifr_flags & IFF_PROMISC)
			f |= VNET_IFF_PROMISC;
		if (ifr.ifr_flags & IFF_ALLMULTI)
			f |= VNET_IFF_ALLMULTI;
	}
	return f;
}

void vn_ifctl_filters(struct vn_ifctl *c, struct vnet_dev_filters *f)
{
	f->n_mac = c->n_mc;
	memcpy(f->mac, c->mc, c->n_mc * 6u);
	f->n_vlan = 0;
}

/* The 16 counters of ifname's line in /proc/net/dev; false when it has none. */
static bool proc_net_dev(const char *ifname, uint64_t v[16])
{
	FILE *f = fopen("/proc/net/dev", "re");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *name = line;

		if (!colon)
			continue; /* the two header lines */
		*colon = '\0';
		name += strspn(name, " ");
		found = !strcmp(name, ifname) &&
			sscanf(colon + 1, "%" SCNu64 "%" SCNu64 "%" SCNu64 "%" SCNu64 "%" SCNu64 "%" SCNu64
			       "%" SCNu64 "%" SCNu64 "%" SCNu64 "%" SCNu64 "%" SCNu64 "%" SCNu64 "%" SCNu64
			       "%" SCNu64 "%" SCNu64 "%" SCNu64, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			       &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14],
			       &v[15]) == 16;
	}
	fclose(f);
	return found;
}

int vn_ifctl_xstats(struct vn_ifctl *c, struct vnet_xstat *xs, unsigned n)
{
	/* Columns of /proc/net/dev: RX bytes packets errs drop ..., TX from 8. */
	static const struct {
		const char *name;
		unsigned col;
	} cols[] = {
		{ "if_rx_errors", 2 }, { "if_rx_dropped", 3 },
		{ "if_tx_errors", 10 }, { "if_tx_dropped", 11 },
	};
	uint64_t v[16];

	if (!proc_net_dev(c->ifname, v))
		return 0;
	for (unsigned k = 0; k < VN_ARRAY_SIZE(cols) && k < n; k++) {
		snprintf(xs[k].name, sizeof(xs[k].name), "%s", cols[k].name);
		xs[k].value = v[cols[k].col];
	}
	return (int)VN_ARRAY_SIZE(cols);
}
