/* SPDX-License-Identifier: MIT */
/*
 * Interface calls for mapped names (NOTES in preload.c): the SIOC*IF*
 * ioctls on any descriptor, if_nametoindex(), if_indextoname() and
 * if_nameindex(). The
 * kernel never sees a mapped name: what the shim does not implement fails
 * instead of reaching a kernel interface that happens to share the name.
 */
#include <errno.h>
#include <stdlib.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "preload.h"
#include "vnet/socket.h"

/* Interface ioctls with no libvnet counterpart, and their answer. */
static const struct {
	unsigned long req;
	int err;
} ifreq_refused[] = {
	/* No IPv4 address on a libvnet device: as the kernel answers for an
	 * interface without one. */
	{ SIOCGIFADDR, EADDRNOTAVAIL },    { SIOCGIFDSTADDR, EADDRNOTAVAIL },
	{ SIOCGIFBRDADDR, EADDRNOTAVAIL }, { SIOCGIFNETMASK, EADDRNOTAVAIL },
	{ SIOCSIFADDR, EOPNOTSUPP },       { SIOCSIFDSTADDR, EOPNOTSUPP },
	{ SIOCSIFBRDADDR, EOPNOTSUPP },    { SIOCSIFNETMASK, EOPNOTSUPP },
	{ SIOCDIFADDR, EOPNOTSUPP },       { SIOCGIFMETRIC, EOPNOTSUPP },
	{ SIOCSIFMETRIC, EOPNOTSUPP },     { SIOCSIFNAME, EOPNOTSUPP },
	{ SIOCGIFTXQLEN, EOPNOTSUPP },     { SIOCSIFTXQLEN, EOPNOTSUPP },
	{ SIOCETHTOOL, EOPNOTSUPP },       { SIOCGMIIPHY, EOPNOTSUPP },
	{ SIOCGMIIREG, EOPNOTSUPP },       { SIOCSMIIREG, EOPNOTSUPP },
	{ SIOCGIFMAP, EOPNOTSUPP },        { SIOCSIFMAP, EOPNOTSUPP },
	{ SIOCSIFHWBROADCAST, EOPNOTSUPP }, { SIOCGIFPFLAGS, EOPNOTSUPP },
	{ SIOCSIFPFLAGS, EOPNOTSUPP },     { SIOCSIFLINK, EOPNOTSUPP },
};

/* Whether req is an ioctl on a struct ifreq named by ifr_name that the
 * shim answers for mapped names. */
static int ifreq_known(unsigned long req)
{
	switch (req) {
	case SIOCGIFINDEX:
	case SIOCGIFHWADDR:
	case SIOCSIFHWADDR:
	case SIOCGIFMTU:
	case SIOCSIFMTU:
	case SIOCGIFFLAGS:
	case SIOCSIFFLAGS:
	case SIOCADDMULTI:
	case SIOCDELMULTI:
		return 1;
	}
	for (size_t i = 0; i < VN_ARRAY_SIZE(ifreq_refused); i++)
		if (ifreq_refused[i].req == req)
			return 1;
	return 0;
}

static unsigned iff_of(const struct vnet_dev_info *i)
{
	unsigned f = IFF_BROADCAST | IFF_MULTICAST;

	if (i->flags & VNET_IFF_UP)
		f |= IFF_UP | (i->link_up ? IFF_RUNNING : 0);
	if (i->flags & VNET_IFF_PROMISC)
		f |= IFF_PROMISC;
	if (i->flags & VNET_IFF_ALLMULTI)
		f |= IFF_ALLMULTI;
	return f;
}

/*
 * Promisc and allmulti are held, as in the kernel, by the interface flag
 * (SIOCSIFFLAGS) and by every PACKET_ADD_MEMBERSHIP: the device is in the
 * mode while either holds, so two sockets do not undo each other. The flag
 * starts as the device was found: libvnet's virtio devices start
 * promiscuous (a TAP fd sees the whole wire, as a tun fd sees all the
 * kernel sends it), and dropping a membership must not end that.
 */
static struct {
	int known;         /* user[] read from the device */
	int user[2];
	unsigned refs[2];
} ps_rxm[PS_MAX_IFS];
static pthread_mutex_t ps_rxm_lock = PTHREAD_MUTEX_INITIALIZER;

int ps_if_rxmode(int ifx, int s, int allmulti, int user, int delta)
{
	static const unsigned bit[2] = { VNET_IFF_PROMISC, VNET_IFF_ALLMULTI };
	static int (*const set[2])(struct vnet_dev *, int) = { vnet_dev_set_promisc,
							       vnet_dev_set_allmulti };
	struct vnet_dev *dev = vnet_socket_dev(s);
	struct vnet_dev_info info = { .sz = sizeof(info) };
	int u, on, rc = 0;
	long refs;

	pthread_mutex_lock(&ps_rxm_lock);
	ps_enter();
	if (!dev || vnet_dev_info(dev, &info) < 0)
		rc = -1;
	if (!rc && !ps_rxm[ifx].known) {
		ps_rxm[ifx].known = 1;
		ps_rxm[ifx].user[0] = !!(info.flags & VNET_IFF_PROMISC);
		ps_rxm[ifx].user[1] = !!(info.flags & VNET_IFF_ALLMULTI);
	}
	u = user >= 0 ? user : ps_rxm[ifx].user[allmulti];
	refs = (long)ps_rxm[ifx].refs[allmulti] + delta;
	on = u || refs > 0;
	if (!rc && on != !!(info.flags & bit[allmulti]))
		rc = set[allmulti](dev, on);
	ps_leave();
	/* A membership dropped stays dropped even when the device failed. */
	if (!rc || delta < 0) {
		ps_rxm[ifx].user[allmulti] = u;
		ps_rxm[ifx].refs[allmulti] = refs > 0 ? (unsigned)refs : 0;
	}
	pthread_mutex_unlock(&ps_rxm_lock);
	return rc;
}

void ps_if_reset(int ifx)
{
	pthread_mutex_lock(&ps_rxm_lock);
	memset(&ps_rxm[ifx], 0, sizeof(ps_rxm[ifx]));
	pthread_mutex_unlock(&ps_rxm_lock);
}

/* SIOCSIFFLAGS: the settings libvnet has, each only when it changes. */
static int set_flags(int ifx, int s, struct vnet_dev *dev, const struct vnet_dev_info *i,
		     unsigned want)
{
	if (ps_if_rxmode(ifx, s, 0, !!(want & IFF_PROMISC), 0) < 0 ||
	    ps_if_rxmode(ifx, s, 1, !!(want & IFF_ALLMULTI), 0) < 0)
		return -1;
	if (!!(want & IFF_UP) != !!(i->flags & VNET_IFF_UP))
		return vnet_dev_set_up(dev, !!(want & IFF_UP));
	return 0;
}

/* One request on interface ifx, whose device is open (socket s). */
static int ifreq_dev(int ifx, int s, unsigned long req, struct ifreq *ifr)
{
	struct vnet_dev *dev = vnet_socket_dev(s);
	struct vnet_dev_info info = { .sz = sizeof(info) };
	const uint8_t *hw = (const uint8_t *)ifr->ifr_hwaddr.sa_data;

	if (!dev || vnet_dev_info(dev, &info) < 0)
		return -1;
	switch (req) {
	case SIOCGIFHWADDR:
		memset(&ifr->ifr_hwaddr, 0, sizeof(ifr->ifr_hwaddr));
		ifr->ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr->ifr_hwaddr.sa_data, info.mac, 6);
		return 0;
	case SIOCSIFHWADDR:
		if (ifr->ifr_hwaddr.sa_family != ARPHRD_ETHER)
			return ps_fail(EINVAL);
		return vnet_dev_set_mac(dev, hw);
	case SIOCADDMULTI:
		return vnet_dev_mac_add(dev, hw);
	case SIOCDELMULTI:
		return vnet_dev_mac_del(dev, hw);
	case SIOCGIFMTU:
		ifr->ifr_mtu = info.mtu;
		return 0;
	case SIOCSIFMTU:
		if (ifr->ifr_mtu <= 0)
			return ps_fail(EINVAL);
		/* The kernel's dev_validate_mtu() says EINVAL where libvnet
		 * says ERANGE (beyond max_mtu). */
		if (vnet_dev_set_mtu(dev, (unsigned)ifr->ifr_mtu) < 0)
			return ps_fail(errno == ERANGE ? EINVAL : errno);
		return 0;
	case SIOCGIFFLAGS:
		ifr->ifr_flags = (short)iff_of(&info);
		return 0;
	case SIOCSIFFLAGS:
		return set_flags(ifx, s, dev, &info, (unsigned short)ifr->ifr_flags);
	}
	for (size_t i = 0; i < VN_ARRAY_SIZE(ifreq_refused); i++)
		if (ifreq_refused[i].req == req)
			return ps_fail(ifreq_refused[i].err);
	return ps_fail(EOPNOTSUPP);
}

int ps_ifreq_do(int ifx, unsigned long req, struct ifreq *ifr)
{
	struct ps_obj *holder;
	int s, rc;

	if (!ifr)
		return ps_fail(EFAULT);
	if (req == SIOCGIFINDEX) {
		ifr->ifr_ifindex = PS_IFINDEX_BASE + 1 + ifx;
		return 0;
	}
	/* The child of a fork has no device: the parent's is not its own. */
	s = ps_forked() ? -1 : ps_if_sock(ifx, &holder);
	if (s < 0) {
		ps_debug("%s: ioctl %#lx -> ENODEV (device not open)", ps_cfg.ifs[ifx].name, req);
		return ps_fail(ENODEV);
	}
	ps_enter();
	rc = ifreq_dev(ifx, s, req, ifr);
	ps_leave();
	ps_put(holder);
	return rc;
}

int ps_ifreq_ioctl(unsigned long req, void *arg, int *rc)
{
	struct ifreq ifr;
	int ifx;

	if (!arg || (req != SIOCGIFNAME && !ifreq_known(req)))
		return 0;
	/* The program's struct ifreq need not be aligned (CPython's is not
	 * always): worked on in a copy. */
	memcpy(&ifr, arg, sizeof(ifr));
	if (req == SIOCGIFNAME) {
		ifx = ps_ifindex_find(ifr.ifr_ifindex);
		if (ifx < 0)
			return 0;
		memcpy(ifr.ifr_name, ps_cfg.ifs[ifx].name, IFNAMSIZ);
		*rc = 0;
	} else {
		ifr.ifr_name[IFNAMSIZ - 1] = '\0';
		ifx = ps_if_find(ifr.ifr_name);
		if (ifx < 0)
			return 0;
		*rc = ps_ifreq_do(ifx, req, &ifr);
	}
	memcpy(arg, &ifr, sizeof(ifr));
	return 1;
}

VNET_EXPORT unsigned if_nametoindex(const char *name)
{
	int ifx;

	ps_init();
	ifx = ps_active() && name ? ps_if_find(name) : -1;
	if (ifx < 0)
		return ps_real.if_nametoindex(name);
	return (unsigned)(PS_IFINDEX_BASE + 1 + ifx);
}

VNET_EXPORT char *if_indextoname(unsigned ifindex, char name[IF_NAMESIZE])
{
	int ifx;

	ps_init();
	ifx = ps_active() && ifindex <= INT32_MAX ? ps_ifindex_find((int)ifindex) : -1;
	if (ifx < 0)
		return ps_real.if_indextoname(ifindex, name);
	return memcpy(name, ps_cfg.ifs[ifx].name, IFNAMSIZ);
}

/*
 * The kernel's list with the mapped names added (those the kernel also has
 * are the shim's, as everywhere). glibc's if_freenameindex() frees every
 * name and then the array, which the shim grows with realloc().
 */
VNET_EXPORT struct if_nameindex *if_nameindex(void)
{
	struct if_nameindex *k, *out;
	size_t n = 0, m = 0;

	ps_init();
	k = ps_real.if_nameindex();
	if (!k || !ps_active())
		return k;
	while (k[n].if_index || k[n].if_name)
		n++;
	out = realloc(k, (n + ps_cfg.n + 1) * sizeof(*out));
	if (!out) {
		ps_real.if_freenameindex(k);
		errno = ENOBUFS;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (ps_if_find(out[i].if_name) >= 0)
			free(out[i].if_name);
		else
			out[m++] = out[i];
	}
	for (unsigned i = 0; i < ps_cfg.n; i++) {
		out[m].if_name = strdup(ps_cfg.ifs[i].name);
		if (!out[m].if_name)
			break;
		out[m++].if_index = (unsigned)(PS_IFINDEX_BASE + 1 + (int)i);
	}
	out[m].if_index = 0;
	out[m].if_name = NULL;
	return out;
}
