/* SPDX-License-Identifier: MIT */
/* Virtio feature bits by name, for VNET_A_FEATURE_NAMES (virtio 1.2 §6 and
 * §5.1.3): the names of the kernel's uAPI headers. */
#include "ctl/ctl_int.h"

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

/* Bits newer than the uAPI headers of Debian bookworm (virtio 1.2 §6, §5.1.3). */
#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38
#endif
#ifndef VIRTIO_NET_F_VQ_NOTF_COAL
#define VIRTIO_NET_F_VQ_NOTF_COAL 52
#endif
#ifndef VIRTIO_NET_F_GUEST_USO4
#define VIRTIO_NET_F_GUEST_USO4 54
#endif
#ifndef VIRTIO_NET_F_GUEST_USO6
#define VIRTIO_NET_F_GUEST_USO6 55
#endif
#ifndef VIRTIO_NET_F_HOST_USO
#define VIRTIO_NET_F_HOST_USO 56
#endif
#ifndef VIRTIO_NET_F_GUEST_HDRLEN
#define VIRTIO_NET_F_GUEST_HDRLEN 59
#endif

#define F(name) [name] = #name

static const char *const names[64] = {
	F(VIRTIO_NET_F_CSUM),           F(VIRTIO_NET_F_GUEST_CSUM),
	F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS), F(VIRTIO_NET_F_MTU),
	F(VIRTIO_NET_F_MAC),            F(VIRTIO_NET_F_GSO),
	F(VIRTIO_NET_F_GUEST_TSO4),     F(VIRTIO_NET_F_GUEST_TSO6),
	F(VIRTIO_NET_F_GUEST_ECN),      F(VIRTIO_NET_F_GUEST_UFO),
	F(VIRTIO_NET_F_HOST_TSO4),      F(VIRTIO_NET_F_HOST_TSO6),
	F(VIRTIO_NET_F_HOST_ECN),       F(VIRTIO_NET_F_HOST_UFO),
	F(VIRTIO_NET_F_MRG_RXBUF),      F(VIRTIO_NET_F_STATUS),
	F(VIRTIO_NET_F_CTRL_VQ),        F(VIRTIO_NET_F_CTRL_RX),
	F(VIRTIO_NET_F_CTRL_VLAN),      F(VIRTIO_NET_F_CTRL_RX_EXTRA),
	F(VIRTIO_NET_F_GUEST_ANNOUNCE), F(VIRTIO_NET_F_MQ),
	F(VIRTIO_NET_F_CTRL_MAC_ADDR),  F(VIRTIO_F_NOTIFY_ON_EMPTY),
	F(VIRTIO_F_ANY_LAYOUT),         F(VIRTIO_RING_F_INDIRECT_DESC),
	F(VIRTIO_RING_F_EVENT_IDX),     F(VIRTIO_F_VERSION_1),
	F(VIRTIO_F_ACCESS_PLATFORM),    F(VIRTIO_F_RING_PACKED),
	F(VIRTIO_F_IN_ORDER),           F(VIRTIO_F_ORDER_PLATFORM),
	F(VIRTIO_F_SR_IOV),             F(VIRTIO_F_NOTIFICATION_DATA),
	F(VIRTIO_F_RING_RESET),         F(VIRTIO_NET_F_VQ_NOTF_COAL),
	F(VIRTIO_NET_F_NOTF_COAL),      F(VIRTIO_NET_F_GUEST_USO4),
	F(VIRTIO_NET_F_GUEST_USO6),     F(VIRTIO_NET_F_HOST_USO),
	F(VIRTIO_NET_F_HASH_REPORT),    F(VIRTIO_NET_F_GUEST_HDRLEN),
	F(VIRTIO_NET_F_RSS),            F(VIRTIO_NET_F_RSC_EXT),
	F(VIRTIO_NET_F_STANDBY),        F(VIRTIO_NET_F_SPEED_DUPLEX),
};

const char *vn_ctl_feature_name(unsigned bit)
{
	return bit < 64 ? names[bit] : NULL;
}
