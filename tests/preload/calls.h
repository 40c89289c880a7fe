/* SPDX-License-Identifier: MIT */
/*
 * Shared by the two halves of test_preload_calls: the interface names the
 * harness (preload-calls.sh) maps in VNET_PRELOAD, and small helpers. The
 * program only calls libc: every call below is the application's, and the
 * LD_PRELOAD'ed libvnet-preload.so decides what answers it.
 */
#ifndef VNET_TEST_PRELOAD_CALLS_H
#define VNET_TEST_PRELOAD_CALLS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

/* Mapped names (preload-calls.sh): each is a sim:loopback device. */
#define TAP_A "pltap0"  /* sim:loopback */
#define TAP_B "pltap1"  /* sim:loopback, a second device */
#define TAP_MQ "plmq0"  /* sim:loopback?queues=2 */
#define PKT_A "plpk0"   /* sim:loopback?queues=2, for AF_PACKET */
#define PAIR_A "plpa0"  /* sim:pair=plcable/0 */
#define PAIR_B "plpb0"  /* sim:pair=plcable/1: what plpa0 sends */
#define UNMAPPED "plkern0" /* not mapped: the kernel's */

#define MAX_FRAME 2048

/* A system call's result that must hold; the failure message tells errno. */
#define ok(cond) \
	do { \
		if (!(cond)) \
			fail_msg("%s: %s", #cond, strerror(errno)); \
	} while (0)

/* Run after every test: close what a failed test left attached, so that one
 * failure does not make every later test find its interface busy. */
void fd_note(int fd);
int fd_baseline(void **state);
int fd_cleanup(void **state);
#define T(f) cmocka_unit_test_setup_teardown(f, fd_baseline, fd_cleanup)

/* open("/dev/net/tun") + TUNSETIFF(name, flags); the fd, or -1 with errno. */
int tap_open(const char *name, short flags);
/* The device MAC of a mapped name (SIOCGIFHWADDR on an AF_INET socket). */
void dev_mac(const char *name, uint8_t mac[6]);
/* Read one frame on fd and check it is frame seq of length len from mac. */
void tap_read_check(int fd, const uint8_t mac[6], uint64_t seq, size_t len);
/* Write frame seq of length len (frames.h) on fd, read it back, check it. */
void tap_echo(int fd, const uint8_t mac[6], uint64_t seq, size_t len);
uint64_t now_ms(void);
/* CPU time this thread used, in milliseconds. */
uint64_t thread_cpu_ms(void);
/* After ms milliseconds, from a helper thread: pthread_kill(t, sig), or
 * write frame seq (len bytes) on fd when sig is 0. Joined by later_join(). */
void later(pthread_t t, int sig, int fd, uint64_t seq, size_t len, unsigned ms);
void later_join(void);

/* The AF_PACKET cases (packet_calls.c). */
extern const struct CMUnitTest packet_tests[];
extern const size_t n_packet_tests;

#endif
