/* SPDX-License-Identifier: MIT */
/*
 * Auto reset (VNET_DEV_F_AUTO_RESET, vnet.h): after DEVICE_NEEDS_RESET the
 * driver resets the device and carries on. virtio 1.2 §2.1.2: the driver
 * cannot rely on requests in flight having completed or not, and "a good
 * implementation will try to recover by issuing a reset".
 *
 * The engine thread that reads NEEDS_RESET only sets VN_STOP_RESET
 * (virtio_net_irq.c). The reset itself runs on the application's threads,
 * in the calls they make anyway (burst calls and waits find the bit on
 * their slow path), because a queue pair belongs to one thread and only
 * that thread may rebuild its rings. In steps, under reset_lock:
 *  1. the first caller resets the device (status 0), so that it stops
 *     touching the rings;
 *  2. each caller rebuilds its own queue pair (vq_restart()): TX frames the
 *     device had not completed, and received frames not yet taken, are
 *     counted as dropped; buffers the application holds stay its own; the
 *     RX buffers are posted again, quietly. The pair is then parked;
 *  3. once every pair handed out by vnet_dev_queue() is parked, that caller
 *     rebuilds the pairs nobody holds and the control queue, negotiates the
 *     same features, sets the queues up at the same places, sets
 *     DRIVER_OK, restores the settings, clears VN_STOP_RESET and queues
 *     VNET_EV_RESET_DONE, whose eventfd write wakes every sleeper.
 * Until then a parked pair's bursts return 0 and its waits sleep. A step
 * that fails leaves the device broken (VN_STOP_BROKEN) as without auto
 * reset. Each thread only ever touches its own rings; the device registers
 * and the control queue are the reset's, under the lock.
 */
#include "virtio/virtio_net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "virtio/virtio.h"

static uint8_t stop_bits(const struct vn_net *n)
{
	return __atomic_load_n(&n->broken, __ATOMIC_ACQUIRE);
}

/* Step 2 for queue pair q (its own thread, or the reset for a pair nobody holds). */
static void rebuild_pair(struct vn_netq *q)
{
	unsigned held, done;

	vq_restart(&q->tx, &held, &done);
	VN_STAT_ADD(q->reset_tx_lost, held - done);
	vq_restart(&q->rx, &held, &done);
	/* Received, never taken: dropped (with MRG_RXBUF, buffers of frames). */
	VN_STAT_ADD(q->reset_rx_lost, done);
	VN_STAT_ADD(q->st.rx_dropped, done);
	vq_enqueue_free(&q->rx);
	vq_publish_quiet(&q->rx);
	q->parked = true;
}

static bool all_parked(const struct vn_net *n)
{
	for (unsigned i = 0; i < n->pairs; i++)
		if (__atomic_load_n(&n->q[i].pub.claimed, __ATOMIC_RELAXED) && !n->q[i].parked)
			return false;
	return true;
}

/* Program queue idx at the places its rings already are. */
static int setup(struct vn_net *n, const struct vq *vq, uint16_t idx, int irq_fd)
{
	/* The doorbell did not move; vq->notify stays. queue_setup() reads
	 * with_data of what it fills in (the notify size it checks). */
	struct vn_vtr_notify unused = vq->notify;
	struct vn_vtr_queue tq;

	vn_net_vq_place(n, vq, irq_fd, &tq);
	/* virtio 1.2 §4.1.5.1.3, as at open; the vector read back there. */
	return n->t->ops->queue_setup(n->t, idx, &tq, &unused);
}

/* Step 3: the device from reset to DRIVER_OK with the settings it had. */
static int restart(struct vn_net *n)
{
	uint64_t offered;
	unsigned held, done;
	int rc;

	for (unsigned i = 0; i < n->pairs; i++)
		if (!n->q[i].parked)
			rebuild_pair(&n->q[i]);
	if (n->ctrl_ok) {
		/* A command is never left in flight (ctrl_lock), but a timed-out one may be. */
		pthread_mutex_lock(&n->ctrl_lock);
		vq_restart(&n->ctrl, &held, &done);
		pthread_mutex_unlock(&n->ctrl_lock);
	}
	/* virtio 1.2 §3.1.1: the same sequence as at open, the same features. */
	rc = vn_virtio_offered(n->t, &offered);
	if (!rc && (offered & n->features) != n->features)
		rc = vn_err(-ENOTSUP, "virtio-net: after the reset the device no longer offers "
			    "features 0x%llx", (unsigned long long)(n->features & ~offered));
	if (!rc)
		rc = vn_virtio_accept(n->t, offered, n->features, n->features);
	if (!rc)
		rc = vn_net_rearm_config(n);
	for (uint16_t i = 0; i < n->pairs && !rc; i++) {
		rc = setup(n, &n->q[i].rx, (uint16_t)(2 * i), n->q[i].pub.rx_fd);
		if (!rc)
			rc = setup(n, &n->q[i].tx, (uint16_t)(2 * i + 1), n->q[i].pub.tx_fd);
	}
	if (!rc && n->ctrl_ok)
		rc = setup(n, &n->ctrl, (uint16_t)(2u * n->max_pairs), -1);
	if (!rc)
		rc = vn_virtio_driver_ok(n->t);
	if (rc)
		return rc;
	n->restoring = true;
	rc = vn_net_restore(n);
	n->restoring = false;
	/* virtio 1.2 §2.7.13.4: the RX buffers were posted while the device
	 * was reset; tell it now that it runs (the doorbell only). */
	for (unsigned i = 0; !rc && i < n->pairs; i++)
		vn_vtr_kick(&n->q[i].rx.notify);
	return rc;
}

/* Step 3 done: the data path runs again, and sleepers are woken. */
static void resume(struct vn_net *n)
{
	for (unsigned i = 0; i < n->pairs; i++)
		n->q[i].parked = false;
	n->resetting = false;
	VN_STAT_ADD(n->resets, 1);
	pthread_mutex_lock(&n->ev_lock);
	n->reset_seen = false; /* the next failure is reported again */
	pthread_mutex_unlock(&n->ev_lock);
	/* Release: a thread that sees the bit clear sees the device running. */
	__atomic_fetch_and(&n->broken, (uint8_t)~VN_STOP_RESET, __ATOMIC_RELEASE);
	vn_log(VN_LOG_WARN, "device: reset after NEEDS_RESET done (%llu so far)",
	       (unsigned long long)n->resets);
	vn_net_event_push(n, VNET_EV_RESET_DONE);
}

/* The reset failed: broken for good, and every sleeper told. */
static void give_up(struct vn_net *n, int rc)
{
	char why[200];

	snprintf(why, sizeof(why), "the auto reset failed: %s", vn_err_msg());
	n->resetting = false;
	vn_net_fail(n, why); /* sets VN_STOP_BROKEN, which wins over VN_STOP_RESET */
	vn_err(rc, "%s", why);
	/* The eventfd write wakes the sleepers, which now find the device broken. */
	vn_net_event_push(n, VNET_EV_NEEDS_RESET);
}

uint8_t vn_net_recover(struct vn_netq *q)
{
	struct vn_net *n = q->net;
	bool last;
	uint8_t stop;
	int rc = 0;

	pthread_mutex_lock(&n->reset_lock);
	stop = stop_bits(n);
	if ((stop & VN_STOP_BROKEN) || !(stop & VN_STOP_RESET))
		goto out;
	if (!n->resetting) {
		/* Step 1. virtio 1.2 §2.4.1: the reset returns once status reads 0. */
		rc = vn_virtio_reset(n->t);
		n->resetting = !rc;
	}
	if (!rc && !q->parked)
		rebuild_pair(q);
	last = !rc && all_parked(n);
	if (last)
		rc = restart(n);
	if (rc)
		give_up(n, rc);
	else if (last)
		resume(n);
	stop = stop_bits(n);
out:
	pthread_mutex_unlock(&n->reset_lock);
	return stop;
}
