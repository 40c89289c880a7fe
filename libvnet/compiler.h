/* SPDX-License-Identifier: MIT */
/* Small compiler helpers shared by every layer of libvnet. */
#ifndef VN_COMPILER_H
#define VN_COMPILER_H

#include <stddef.h>

#define VN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VN_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define VN_LIKELY(x) __builtin_expect(!!(x), 1)
#define VN_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define VN_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define VN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VN_MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Counters with one writer (the thread that owns a queue) and readers on
 * other threads (vnet_queue_stats(), the control server): the writer adds
 * with a relaxed load and store (no read-modify-write, so x86 code is the
 * same as c += n), readers load with VN_STAT_GET(). C11 §5.1.2.4: no data
 * race, and a reader never sees a torn 64-bit value.
 */
#define VN_STAT_ADD(c, n) \
	__atomic_store_n(&(c), __atomic_load_n(&(c), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define VN_STAT_GET(c) __atomic_load_n(&(c), __ATOMIC_RELAXED)

/* One pause of a busy-poll loop: lets the sibling hyperthread run. */
static inline void vn_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

#endif
