/* SPDX-License-Identifier: MIT */
/*
 * Where the frames of a simulated device go (vnet-simd(8), MODES):
 *   loopback  TX of pair i comes back as RX of pair i; lossless (a TX frame
 *             waits while RX has no buffer), or with rxfull=drop dropped and
 *             counted (rx_dropped_no_buffer) as a NIC would
 *   pair      TX of one device is RX of the other, likewise
 *   tap       to and from a kernel TAP interface; RX without a buffer drops
 *   sink      TX consumed and counted
 *   source    RX filled as fast as buffers are posted
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <net/if.h>

#include "log.h"
#include "sim/sim_dev.h"

#define BUDGET 256 /* frames per queue per round: keeps the loop fair */

/* Source frames: see VN_VN_SIM_SOURCE_SEQ_OFF in sim.h. */
static const uint8_t source_mac[6] = { 0x02, 0x76, 0x6e, 0xff, 0xff, 0xfe };

static int tap_open(struct sim_dev *d)
{
	struct ifreq ifr;
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return vn_err(-errno, "sim tap: /dev/net/tun: %m");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, d->p.arg, strnlen(d->p.arg, IFNAMSIZ - 1)); /* checked in sim_params.c */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = vn_err(-errno, "sim tap: TUNSETIFF %s: %m", d->p.arg);
		close(fd);
		return err;
	}
	d->tap_fd = fd;
	return 0;
}

int sim_mode_init(struct sim_dev *d)
{
	uint8_t *t = d->source_tpl;
	unsigned i;

	if (d->p.mode == SIM_TAP)
		return tap_open(d);
	if (d->p.mode == SIM_SOURCE) {
		memcpy(t + 6, source_mac, 6);
		t[12] = 0x88;
		t[13] = 0xb5;
		for (i = VN_SIM_SOURCE_SEQ_OFF + 8; i < d->p.size; i++)
			t[i] = (uint8_t)i;
	}
	return 0;
}

void sim_mode_fini(struct sim_dev *d)
{
	if (d->tap_fd >= 0)
		close(d->tap_fd);
	d->tap_fd = -1;
}

/* loopback and pair: TX of d's pair into RX of to's pair, never dropping
 * for want of a buffer (the TX chain goes back and waits). */
static unsigned forward(struct sim_dev *d, unsigned pair, struct sim_dev *to, unsigned to_pair)
{
	unsigned n = 0;
	uint16_t head;
	uint32_t len;
	int r;

	while (n < BUDGET && sim_net_tx_pop(d, pair, &head, &len) > 0) {
		/* A frame that asked for no offload goes as it is. */
		if (d->txo.gso_type == VIRTIO_NET_HDR_GSO_NONE && !d->txo.csum_done)
			r = sim_net_rx(to, to_pair, d->buf + SIM_HDR_LEN, len);
		else
			r = sim_offload_deliver(d, pair, to, to_pair, len);
		if (r == -EAGAIN && to->p.rx_drop) {
			SIM_INC(to->st.qp[to_pair].rx_dropped_no_buffer);
			r = 0;
		}
		if (r == -EAGAIN) {
			sim_vq_unpop(&d->vq[2 * pair + 1], 1);
			break;
		}
		if (r < 0) /* the receiving device failed: the frame is lost */
			SIM_INC(d->st.qp[pair].tx_dropped);
		sim_net_tx_done(d, pair, head, len);
		n++;
	}
	return n;
}

/* sink and tap: TX consumed (tap: written to the interface). */
static unsigned consume(struct sim_dev *d, unsigned pair)
{
	unsigned n = 0;
	uint16_t head;
	uint32_t len;

	while (n < BUDGET && sim_net_tx_pop(d, pair, &head, &len) > 0) {
		/* A TAP write is one whole frame; the kernel queue being full
		 * (EAGAIN) or the interface down loses it. */
		if (d->tap_fd >= 0 &&
		    write(d->tap_fd, d->buf + SIM_HDR_LEN, len) != (ssize_t)len)
			SIM_INC(d->st.qp[pair].tx_dropped);
		sim_net_tx_done(d, pair, head, len);
		n++;
	}
	return n;
}

/* tap: frames from the kernel into RX of pair 0; no buffer -> dropped. */
static unsigned tap_rx(struct sim_dev *d)
{
	unsigned n = 0;
	ssize_t len;

	while (d->tap_readable && n < BUDGET) {
		len = read(d->tap_fd, d->buf + SIM_HDR_LEN, SIM_FRAME_MAX);
		if (len < 0) {
			if (errno != EINTR)
				d->tap_readable = false;
			continue;
		}
		if (sim_net_rx(d, 0, d->buf + SIM_HDR_LEN, (uint32_t)len) == -EAGAIN)
			SIM_INC(d->st.qp[0].rx_dropped_no_buffer);
		n++;
	}
	return n;
}

static unsigned source(struct sim_dev *d, unsigned pair)
{
	uint8_t *t = d->source_tpl;
	unsigned n = 0;
	uint64_t seq;

	if (!sim_dev_running(d) || pair >= d->active_pairs || !sim_dev_vq(d, 2 * pair))
		return 0;
	memcpy(t, d->mac, 6);
	while (n < BUDGET) {
		seq = htole64(d->source_seq[pair]);
		memcpy(t + VN_SIM_SOURCE_SEQ_OFF, &seq, 8);
		if (sim_net_rx(d, pair, t, d->p.size) != 1)
			break;
		d->source_seq[pair]++;
		n++;
	}
	return n;
}

/* Faults that are events rather than bad ring entries. */
static bool fault_events(struct sim_dev *d)
{
	int fd;

	if (sim_fault_due(d, SIM_FAULT_NEEDS_RESET))
		sim_dev_fail(d, vn_err(-EIO, "fault injection: needs_reset"));
	if (sim_fault_due(d, SIM_FAULT_LINK_DOWN)) {
		/* virtio 1.2 §5.1.4.2: a status change is a config change. */
		d->link_down = true;
		sim_dev_config_changed(d, true);
	}
	if (sim_fault_due(d, SIM_FAULT_VANISH)) {
		vn_info("sim: fault injection: hanging up on the client");
		d->vanished = true;
		/* The loop sees the hang-up and drops the client (sim_host.c). */
		fd = d->srv ? vfu_server_fd(d->srv) : -1;
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
	}
	return sim_dev_running(d);
}

unsigned sim_mode_service(struct sim_dev *d)
{
	unsigned work = 0, pair;

	if (sim_dev_running(d) && fault_events(d)) {
		work += sim_net_ctrl(d);
		for (pair = 0; pair < d->p.queues; pair++) {
			switch (d->p.mode) {
			case SIM_LOOPBACK:
				work += forward(d, pair, d, pair);
				break;
			case SIM_PAIR:
				work += forward(d, pair, d->peer, pair % d->peer->p.queues);
				break;
			case SIM_TAP:
			case SIM_SINK:
				work += consume(d, pair);
				break;
			case SIM_SOURCE:
				work += source(d, pair);
				break;
			}
		}
	}
	work += d->bad_work;
	d->bad_work = 0;
	/* Read the TAP even while the driver is not running, so that frames
	 * are dropped and counted instead of piling up in the kernel. */
	if (d->tap_fd >= 0)
		work += tap_rx(d);
	return work;
}
