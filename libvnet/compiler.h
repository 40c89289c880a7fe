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

#endif
