/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vnet/vnet.h"

static _Thread_local char err_buf[256];
static _Thread_local unsigned err_hold; /* vn_err_hold() depth */
/* -1: not yet read from VNET_LOG. Atomic: any thread may log first. */
static atomic_int log_level = -1;

static int level_from_env(void)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const char *v = getenv("VNET_LOG");

	if (v)
		for (size_t i = 0; i < VN_ARRAY_SIZE(names); i++)
			if (!strcasecmp(v, names[i]))
				return (int)i;
	return VN_LOG_WARN;
}

static int current_level(void)
{
	int l = atomic_load_explicit(&log_level, memory_order_relaxed);

	if (l < 0) {
		int want = level_from_env(), expected = -1;

		atomic_compare_exchange_strong(&log_level, &expected, want);
		l = atomic_load_explicit(&log_level, memory_order_relaxed);
	}
	return l;
}

void vn_log(enum vn_log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "error", "warning", "info", "debug" };
	char line[512];
	va_list ap;

	if ((int)level > current_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so lines from several threads do not interleave. */
	fprintf(stderr, "libvnet: %s: %s\n", tags[level], line);
}

int vn_err(int err, const char *fmt, ...)
{
	char later[sizeof(err_buf)];
	char *buf = err_hold ? later : err_buf;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	vn_log(VN_LOG_DEBUG, "%s%s (%s)", err_hold ? "while undoing a failure: " : "", buf,
	       strerror(-err));
	return err;
}

void vn_err_hold(void)
{
	err_hold++;
}

void vn_err_release(void)
{
	if (err_hold)
		err_hold--;
}

void vn_err_clear(void)
{
	err_buf[0] = '\0';
}

const char *vn_err_msg(void)
{
	return err_buf;
}

VNET_API const char *vnet_last_error(void)
{
	return err_buf;
}

VNET_API int vnet_set_log_level(int level)
{
	if (level < VN_LOG_ERR || level > VN_LOG_DEBUG) {
		errno = EINVAL;
		return -1;
	}
	atomic_store(&log_level, level);
	return 0;
}
