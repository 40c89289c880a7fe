/* SPDX-License-Identifier: MIT */
/*
 * virtio-net interrupts: MSI-X vectors wired to eventfds, configuration
 * change events, and the notification switches of the data queues (see
 * virtio_net.h).
 *
 * Vector plans, tried in order until the device accepts every vector
 * (virtio 1.2 §4.1.5.1.2: it answers VIRTIO_MSI_NO_VECTOR when it cannot):
 *   per-queue  vector 0 config, vector 1 + i for data queue i
 *   shared     vector 0 config, vector 1 for every data queue
 *   single     vector 0 for everything, relayed (below)
 *   INTx       no MSI-X vector usable or offered (e.g. QEMU's vectors=0):
 *              the legacy interrupt line, relayed
 *   none       neither: waits poll the rings in 1 ms steps
 *
 * INTx (virtio 1.2 §4.1.5.3-4): with MSI-X off, the device sets a bit in
 * ISR status (bit 0 a queue, bit 1 a configuration change) and asserts the
 * line until ISR status is read. VFIO signals an eventfd and masks the line
 * on every interrupt, until the driver unmasks it. The line's eventfd
 * (irq_fd[1]) is private to the event engine, whose callback (on_intx)
 * reads ISR, handles a configuration change, signals irq_fd[0] and
 * unmasks. irq_fd[0] is what every queue's rx_fd/tx_fd and the config
 * source are.
 *
 * Relayed plans (INTx, single): when configuration changes and queues share
 * one interrupt, its eventfd (irq_fd[1]) is the engine's alone and its
 * callback signals irq_fd[0], which the queues and waiters use. Why two:
 * users of a queue's eventfd consume its count (the socket layer,
 * vnet_dev_event(), and with a vector per queue wait.c's direct sleepers,
 * which then also poll dead_fd, written once as the device breaks), and a multishot poll that finds an eventfd unreadable
 * posts no completion, so a callback on a shared eventfd could be skipped:
 * a NEEDS_RESET or link change missed, and with INTx the line left masked
 * for good.
 */
#include "virtio/virtio_net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "event.h"
#include "log.h"
#include "virtio/virtio.h"
#include "virtio/vq_packed.h"

enum plan { PLAN_PER_QUEUE, PLAN_SHARED, PLAN_SINGLE, PLAN_INTX, PLAN_NONE };

static const char *const plan_name[] = { "one per queue", "shared", "single" };

/* MSI-X vectors plan p needs. */
static unsigned plan_vectors(enum plan p, unsigned data_queues)
{
	switch (p) {
	case PLAN_PER_QUEUE: return 1 + data_queues;
	case PLAN_SHARED: return 2;
	case PLAN_SINGLE: return 1;
	default: return 0;
	}
}

/* Relayed plans: irq_fd[1] is the interrupt's, irq_fd[0] the queues'. */
static bool relayed(enum plan p)
{
	return p == PLAN_SINGLE || p == PLAN_INTX;
}

/* Eventfds plan p uses. */
static unsigned plan_fds(enum plan p, unsigned data_queues)
{
	return relayed(p) ? 2 : plan_vectors(p, data_queues);
}

/* The vector (index into irq_fd) of data queue q (VN_VTR_CONFIG: the
 * config vector). */
static uint16_t plan_vector(enum plan p, int q)
{
	if (q == VN_VTR_CONFIG || p == PLAN_SINGLE || p == PLAN_INTX)
		return 0;
	return p == PLAN_SHARED ? 1 : (uint16_t)(1 + q);
}

static void close_fds(struct vn_net *n)
{
	for (unsigned i = 0; i < n->n_irq; i++)
		close(n->irq_fd[i]);
	free(n->irq_fd);
	free(n->irq_src);
	n->irq_fd = NULL;
	n->irq_src = NULL;
	n->n_irq = 0;
}

/* Program every vector of plan p and check each reads back as written. */
static int program(struct vn_net *n, enum plan p)
{
	unsigned nq = 2u * n->pairs;
	uint16_t got, want;
	int rc;

	for (int q = VN_VTR_CONFIG; q < (int)nq; q++) {
		want = p == PLAN_NONE ? VIRTIO_MSI_NO_VECTOR : plan_vector(p, q);
		rc = n->t->ops->set_vector(n->t, q, want, &got);
		if (rc)
			return rc;
		if (got != want) {
			vn_info("virtio-net: %s MSI-X vector %u read back as 0x%x",
				q == VN_VTR_CONFIG ? "config" : "queue", want, got);
			return -ENOSPC;
		}
	}
	return 0;
}

/* Route the eventfds of plan p (and program the MSI-X vectors). */
static int route(struct vn_net *n, enum plan p, unsigned nv)
{
	int rc;

	if (p == PLAN_INTX)
		return n->t->ops->intx_route(n->t, n->irq_fd[1]);
	/* Relayed: MSI-X vector 0 goes to irq_fd[1]. */
	rc = n->t->ops->irq_route(n->t, nv, relayed(p) ? &n->irq_fd[1] : n->irq_fd);
	return rc ? rc : program(n, p);
}

static void unroute(struct vn_net *n, enum plan p)
{
	if (p == PLAN_INTX)
		(void)n->t->ops->intx_route(n->t, -1);
	else
		(void)n->t->ops->irq_route(n->t, 0, NULL);
}

/* Create the eventfds of plan p, route them and program the vectors:
 * 0, -ENOSPC when the device refused a vector, or another -errno. */
static int try_plan(struct vn_net *n, enum plan p)
{
	unsigned nv = plan_vectors(p, 2u * n->pairs), nfd = plan_fds(p, 2u * n->pairs);
	int rc;

	n->irq_fd = calloc(nfd, sizeof(*n->irq_fd));
	n->irq_src = calloc(nfd, sizeof(*n->irq_src));
	if (!n->irq_fd || !n->irq_src) {
		close_fds(n);
		return vn_err(-ENOMEM, "virtio-net: out of memory");
	}
	for (; n->n_irq < nfd; n->n_irq++) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0) {
			rc = vn_err(-errno, "virtio-net: eventfd: %s", strerror(errno));
			close_fds(n);
			return rc;
		}
		n->irq_fd[n->n_irq] = fd;
	}
	rc = route(n, p, nv);
	if (rc) {
		unroute(n, p);
		close_fds(n);
	}
	return rc;
}

/*
 * A plan failed for a reason fewer vectors cannot help with: out of
 * descriptors, or the device went away. Left without interrupts, the
 * device would quietly be polled, which is not what was asked for. The
 * failure's own reason stays the one recorded.
 */
static bool hopeless(struct vn_net *n, int rc)
{
	char why[256];
	bool gone;

	if (rc == -EMFILE || rc == -ENFILE)
		return true;
	if (!n->t->ops->alive)
		return false;
	snprintf(why, sizeof(why), "%s", vn_err_msg());
	gone = n->t->ops->alive(n->t) != 0;
	vn_err(rc, "%s", why);
	return gone;
}

int vn_net_irq_plan(struct vn_net *n)
{
	unsigned avail = 0, nq = 2u * n->pairs;
	enum plan p;
	int rc;

	if (n->t->ops->irq_count && n->t->ops->irq_count(n->t, &avail))
		avail = 0;
	for (p = PLAN_PER_QUEUE; p < PLAN_INTX; p++) {
		if (plan_vectors(p, nq) > avail)
			continue;
		rc = try_plan(n, p);
		if (!rc) {
			vn_info("virtio-net: %u MSI-X vectors (%s)", plan_vectors(p, nq), plan_name[p]);
			n->relay = relayed(p);
			break;
		}
		if (hopeless(n, rc))
			return rc;
		if (rc != -ENOSPC)
			vn_warn("virtio-net: MSI-X with %u vectors failed: %s", plan_vectors(p, nq),
				vn_err_msg());
	}
	if (p == PLAN_INTX) {
		/* Leave every vector at NO_VECTOR, as after reset. */
		if (avail && (rc = program(n, PLAN_NONE)) != 0)
			return rc;
		rc = n->t->ops->intx_route ? try_plan(n, PLAN_INTX) : -ENOTSUP;
		n->intx = n->relay = rc == 0;
		if (n->intx)
			vn_info("virtio-net: INTx (%u MSI-X vectors offered)", avail);
		else
			p = PLAN_NONE;
	}
	if (p == PLAN_NONE)
		vn_warn("virtio-net: no usable MSI-X vectors (%u offered) and no INTx: interrupts "
			"are off, blocking calls poll the rings every millisecond", avail);
	/* A vector per queue: each queue's eventfds are its own, so a lone
	 * waiter may sleep on them directly (port.h own_fds), with dead_fd to
	 * hear of the device breaking. Without it waits go through the engine. */
	if (p == PLAN_PER_QUEUE) {
		n->dead_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->dead_fd < 0)
			vn_info("virtio-net: eventfd: %s; waits go through the event engine",
				strerror(errno));
	}
	for (unsigned i = 0; i < n->pairs; i++) {
		struct vn_netq *q = &n->q[i];

		q->pub.rx_fd = q->pub.tx_fd = -1;
		if (p != PLAN_NONE) {
			q->pub.rx_fd = n->irq_fd[plan_vector(p, (int)(2 * i))];
			q->pub.tx_fd = n->irq_fd[plan_vector(p, (int)(2 * i + 1))];
		}
		q->pub.err_fd = n->dead_fd;
		q->pub.own_fds = n->dead_fd >= 0;
	}
	return 0;
}

/* The vector whose eventfd is fd (fd is one of them). */
static unsigned vector_of(const struct vn_net *n, int fd)
{
	unsigned v = 0;

	while (v < n->n_irq && n->irq_fd[v] != fd)
		v++;
	return v;
}

uint16_t vn_net_irq_vector(const struct vn_net *n, int fd)
{
	/* virtio 1.2 §4.1.5.3: with INTx, queues have no MSI-X vector. */
	return fd < 0 || n->intx ? VIRTIO_MSI_NO_VECTOR : (uint16_t)vector_of(n, fd);
}

static void on_config(void *arg)
{
	vn_net_config_event(arg);
}

/* Wake whoever waits on the queues or the config source: a write the
 * engine sees as irq_fd[0] firing (not a call into the engine). */
static void relay(struct vn_net *n)
{
	uint64_t one = 1;

	if (write(n->irq_fd[0], &one, sizeof(one)) != sizeof(one))
		vn_debug("virtio-net: relaying an interrupt: %s", strerror(errno));
}

/*
 * The single MSI-X vector fired (engine thread): a configuration change or
 * queue work. The device sets ISR status's configuration bit before it
 * notifies a configuration change, MSI-X or not (virtio 1.2 §4.1.4.5.1), so
 * one ISR read (which clears it) tells; without ISR access, or when the
 * read fails, look at the device anyway. Then wake the queues.
 */
static void on_single(void *arg)
{
	struct vn_net *n = arg;
	uint8_t isr = VIRTIO_PCI_ISR_CONFIG;

	if (n->t->ops->isr_read && n->t->ops->isr_read(n->t, &isr))
		isr = VIRTIO_PCI_ISR_CONFIG;
	if (isr & VIRTIO_PCI_ISR_CONFIG)
		vn_net_config_event(n);
	relay(n);
}

/*
 * INTx fired (engine thread). Order matters: ISR status is read first,
 * which de-asserts the line (virtio 1.2 §4.1.4.5), and the line is
 * unmasked last. An interrupt the device raises after the read sets ISR
 * again and keeps the line asserted, so the unmask re-signals it (VFIO
 * re-checks a level-triggered line on unmask): it is delayed, not lost.
 * Unmasked before the read, the line would still be asserted by this very
 * interrupt and fire again at once, for nothing. A failed read is treated
 * as a configuration change, whose status read then marks a vanished
 * device.
 */
static void on_intx(void *arg)
{
	struct vn_net *n = arg;
	uint8_t isr = 0;
	int rc = n->t->ops->isr_read(n->t, &isr);

	if (rc || (isr & VIRTIO_PCI_ISR_CONFIG))
		vn_net_config_event(n);
	/* Wake whoever waits on the queues or the config source; a write the
	 * engine sees as irq_fd[0] firing (not a call into the engine). */
	if (rc || isr)
		relay(n);
	/* A failed unmask means the device is gone: the health checks of the
	 * data path report it; the engine callback cannot. */
	(void)n->t->ops->intx_unmask(n->t);
}

/* The engine callback of eventfd v: configuration changes on vector 0
 * with MSI-X, the interrupt's eventfd when relayed; none for the others. */
static vn_ev_cb irq_cb(const struct vn_net *n, unsigned v)
{
	if (n->relay)
		return v == 1 ? (n->intx ? on_intx : on_single) : NULL;
	return v == 0 ? on_config : NULL;
}

/* The device access reports the device gone (engine thread): break it and
 * wake whoever sleeps on its queues or its events. */
static void on_gone(void *arg)
{
	struct vn_net *n = arg;

	vn_net_fail(n, "the device is gone (its vfio-user server hung up, or the kernel is "
		       "removing it)");
	if (n->n_irq)
		relay(n);
}

/* Watch the transport's gone_fd(), where it has one. Without it a device
 * that goes away is still noticed, later: by the health checks. */
static int watch_gone(struct vn_net *n)
{
	unsigned events = 0;
	int fd = n->t->ops->gone_fd ? n->t->ops->gone_fd(n->t, &events) : -ENOTSUP;

	if (fd < 0) {
		if (fd != -ENOTSUP)
			vn_info("virtio-net: no notice of the device going away (%s); the health "
				"checks will tell", vn_err_msg());
		vn_err_clear();
		return 0;
	}
	return vn_ev_add_once(fd, events, on_gone, n, &n->gone_src);
}

int vn_net_rearm_config(struct vn_net *n)
{
	uint16_t got;
	int rc;

	/* virtio 1.2 §4.1.4.3: a reset leaves config_msix_vector at NO_VECTOR;
	 * every MSI-X plan has configuration changes on vector 0. Read back as
	 * at open (§4.1.5.1.2). INTx and polled devices have nothing to set. */
	if (n->intx || !n->n_irq)
		return 0;
	rc = n->t->ops->set_vector(n->t, VN_VTR_CONFIG, 0, &got);
	if (!rc && got != 0)
		rc = vn_err(-EIO, "virtio-net: after the reset the config vector read back as 0x%x", got);
	return rc;
}

int vn_net_irq_start(struct vn_net *n)
{
	int rc = watch_gone(n);

	for (unsigned v = 0; v < n->n_irq && !rc; v++)
		rc = vn_ev_add(n->irq_fd[v], irq_cb(n, v), n, &n->irq_src[v]);
	for (unsigned i = 0; i < n->pairs && !rc; i++) {
		struct vn_netq *q = &n->q[i];

		if (q->pub.rx_fd >= 0) {
			q->pub.rx_src = n->irq_src[vector_of(n, q->pub.rx_fd)];
			q->pub.tx_src = n->irq_src[vector_of(n, q->pub.tx_fd)];
			q->pub.ev_src = n->irq_src[0];
		}
	}
	if (!rc && n->n_irq)
		/* Link state as the first interrupt will compare it. */
		(void)vn_net_link_up(n, &n->link);
	return rc;
}

void vn_net_irq_stop(struct vn_net *n)
{
	if (n->gone_src)
		vn_ev_del(n->gone_src);
	n->gone_src = 0;
	if (n->dead_fd >= 0)
		close(n->dead_fd);
	n->dead_fd = -1;
	if (!n->n_irq)
		return;
	for (unsigned v = 0; v < n->n_irq; v++)
		if (n->irq_src[v])
			vn_ev_del(n->irq_src[v]);
	unroute(n, n->intx ? PLAN_INTX : PLAN_PER_QUEUE);
	close_fds(n);
	n->intx = n->relay = false;
}

/* Queue an event and tell the observer (under ev_lock). */
static void event_add(struct vn_net *n, int type)
{
	vn_evq_push(&n->evq, type);
	VN_STAT_ADD(n->events, 1);
	if (n->notify)
		n->notify(n->notify_arg, type);
}

void vn_net_event_push(struct vn_net *n, int type)
{
	pthread_mutex_lock(&n->ev_lock);
	event_add(n, type);
	pthread_mutex_unlock(&n->ev_lock);
	/* vnet_dev_event_fd() is the config eventfd: readable now. The engine
	 * sees it fire and re-reads the config, which finds nothing new. */
	if (n->n_irq)
		relay(n);
}

/* VNET_EV_CONFIG: the config mtu (§5.1.4, VIRTIO_NET_F_MTU) moved. The
 * driver keeps its buffers; the new value is only reported. */
static void config_mtu(struct vn_net *n)
{
	uint16_t v;

	if (!(n->features & (1ULL << VIRTIO_NET_F_MTU)) ||
	    vn_virtio_cfg_read(n->t, offsetof(struct virtio_net_config, mtu), &v, 2) || v == n->cfg_mtu)
		return;
	n->cfg_mtu = v;
	event_add(n, VNET_EV_CONFIG);
}

/*
 * Report the failure, once until an auto reset is done (under ev_lock),
 * and stop the data path: for good (BROKEN), or, when the device asked
 * for a reset and the application for auto reset, until the reset
 * (virtio_net_reset.c) is done. A device that is gone is broken even
 * while a reset runs.
 */
static void fail_locked(struct vn_net *n, const char *why, bool resettable)
{
	uint8_t bit = resettable && n->auto_reset ? VN_STOP_RESET : VN_STOP_BROKEN;

	if (n->reset_seen && bit == VN_STOP_RESET)
		return;
	if (!n->reset_seen)
		event_add(n, VNET_EV_NEEDS_RESET);
	n->reset_seen = true;
	if (__atomic_fetch_or(&n->broken, bit, __ATOMIC_RELAXED) & bit)
		return;
	if (bit == VN_STOP_RESET) {
		vn_log(VN_LOG_WARN, "device: %s; resetting it (auto reset)", why);
		/* Direct sleepers (wait.c) take part in the reset: wake them
		 * through their queues' own eventfds, which they drain before
		 * they sleep again. Not dead_fd: it is never drained, and the
		 * device will live on. */
		for (unsigned i = 0; n->dead_fd >= 0 && i < n->pairs; i++) {
			uint64_t one = 1;
			int fds[2] = { n->q[i].pub.rx_fd, n->q[i].pub.tx_fd };

			for (unsigned k = 0; k < 2; k++)
				if (fds[k] >= 0 && (k == 0 || fds[1] != fds[0]) &&
				    write(fds[k], &one, sizeof(one)) != sizeof(one))
					vn_debug("virtio-net: waking direct sleepers: %s",
						 strerror(errno));
		}
		return;
	}
	vn_log(VN_LOG_ERR, "device broken: %s; the device is stopped", why);
	/* Wake direct sleepers (wait.c). Nobody reads dead_fd: it stays
	 * readable as long as the device stays broken, which is for good. The
	 * broken bit is stored first; the eventfd's lock, taken by this write
	 * and by the sleeper's poll of it, orders the two for the sleeper. */
	if (n->dead_fd >= 0) {
		uint64_t one = 1;

		if (write(n->dead_fd, &one, sizeof(one)) != sizeof(one))
			vn_debug("virtio-net: waking direct sleepers: %s", strerror(errno));
	}
}

void vn_net_fail(struct vn_net *n, const char *why)
{
	pthread_mutex_lock(&n->ev_lock);
	fail_locked(n, why, false);
	pthread_mutex_unlock(&n->ev_lock);
}

void vn_net_config_event(struct vn_net *n)
{
	uint8_t st;
	int up, rc;

	pthread_mutex_lock(&n->ev_lock);
	if (n->reset_seen)
		goto out;
	/* virtio 1.2 §4.1.4.3: device_status; §2.1.2: NEEDS_RESET comes with a
	 * configuration change notification. */
	rc = n->t->ops->get_status(n->t, &st);
	if (rc || st == 0xff || (st & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		fail_locked(n, rc ? "its status cannot be read" : "it set NEEDS_RESET",
			    !rc && st != 0xff);
		goto out;
	}
	/* virtio 1.2 §5.1.4: the link state lives in the status field. */
	if (vn_net_link_up(n, &up) == 0 && up != n->link) {
		n->link = up;
		event_add(n, up ? VNET_EV_LINK_UP : VNET_EV_LINK_DOWN);
	}
	config_mtu(n);
out:
	pthread_mutex_unlock(&n->ev_lock);
}

int vn_net_event_pop(struct vn_net *n, int *type)
{
	int got;

	pthread_mutex_lock(&n->ev_lock);
	got = vn_evq_pop(&n->evq, type);
	pthread_mutex_unlock(&n->ev_lock);
	return got;
}

bool vn_net_ready(struct vnet_queue *pub, bool tx)
{
	struct vn_netq *q = vn_netq(pub);
	uint8_t stop = vq_stopped(&q->rx);

	/* An auto reset: this queue's part of it, then nothing is ready until
	 * it is done (the reset's event wakes the sleepers). */
	if (VN_UNLIKELY(stop & VN_STOP_RESET) && !(stop & VN_STOP_BROKEN))
		stop = vn_net_recover(q);
	if (stop & VN_STOP_BROKEN)
		return true; /* the next call reports ENETDOWN */
	if (stop & VN_STOP_RESET)
		return false;
	if (tx)
		return q->tx.n_free || vq_any_used_pending(&q->tx) != 0;
	return vq_any_used_pending(&q->rx) != 0;
}

bool vn_net_arm(struct vnet_queue *pub, bool tx)
{
	struct vn_netq *q = vn_netq(pub);
	struct vq *vq = tx ? &q->tx : &q->rx;

	/* virtio 1.2 §2.7.10 / §2.8.10: re-enable, full barrier (in vq_notify_on), then
	 * check the ring once more before sleeping. */
	vq_any_notify_on(vq);
	if (!vn_net_ready(pub, tx))
		return false;
	vq_any_notify_off(vq);
	return true;
}

void vn_net_disarm(struct vnet_queue *pub, bool tx)
{
	struct vn_netq *q = vn_netq(pub);
	vq_any_notify_off(tx ? &q->tx : &q->rx);
}
