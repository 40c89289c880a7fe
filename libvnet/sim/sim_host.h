/* SPDX-License-Identifier: MIT */
/*
 * A thread serving one simulated device (two for pair mode: one thread
 * serves both ends of the wire) and their vfio-user clients. Used by
 * vn_sim_open() in-process and by vnet-simd.
 *
 * The thread sleeps in epoll on: a stop eventfd, a command eventfd (new
 * clients handed over by other threads), each client socket, one ioeventfd
 * per virtqueue (the doorbells), the TAP fd and, for vnet-simd, listening
 * sockets. While frames flow it polls the rings instead, for a bounded time
 * (SIM_POLL_NS), then re-enables notifications, checks once more and sleeps.
 */
#ifndef VN_SIM_HOST_H
#define VN_SIM_HOST_H

#include "sim/sim.h"

struct sim_params;
struct sim_host;

#define SIM_POLL_NS 50000ull

/* Build the device(s) p describes; nothing runs yet. */
int sim_host_new(const struct sim_params *p, struct sim_host **out);
/* Stop the thread if it runs, then free everything (clients are dropped). */
void sim_host_free(struct sim_host *h);

/* Serve clients accepted on listen_fd (not owned) for device end, one at a
 * time; call before sim_host_start(). */
int sim_host_listen(struct sim_host *h, unsigned end, int listen_fd);
/* Hand a connected client socket to device end (takes ownership of fd).
 * Safe from any thread while the loop runs. -EBUSY when one is pending. */
int sim_host_attach(struct sim_host *h, unsigned end, int fd);

int sim_host_start(struct sim_host *h);
/* Stop and join the thread (idempotent). */
void sim_host_stop(struct sim_host *h);

unsigned sim_host_ends(const struct sim_host *h);
/* Counters of device end, including the thread's CPU time. */
void sim_host_stats(struct sim_host *h, unsigned end, struct vn_sim_stats *st);

#endif
