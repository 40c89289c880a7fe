/* SPDX-License-Identifier: MIT */
/*
 * Errors and logging.
 *
 * Internal functions return 0 or a negative errno. Where a failure needs
 * more words than strerror() gives ("group 7 is not viable: 0000:00:05.0 is
 * bound to e1000e"), the failing site records them with vn_err(), which also
 * returns the negative errno so it can be used in a return statement. The
 * public API hands the message out through vnet_last_error().
 *
 * The library never writes to stderr except through vn_log(), whose level
 * comes from the environment variable VNET_LOG (error, warn, info, debug;
 * default warn) or from vnet_set_log_level().
 */
#ifndef VN_LOG_H
#define VN_LOG_H

#include "compiler.h"

enum vn_log_level {
	VN_LOG_ERR = 0,
	VN_LOG_WARN = 1,
	VN_LOG_INFO = 2,
	VN_LOG_DEBUG = 3,
};

/* Log a line at the given level, prefixed with "libvnet: ". */
void vn_log(enum vn_log_level level, const char *fmt, ...) VN_PRINTF(2, 3);

/*
 * Record why an operation failed and return err (a negative errno, passed
 * through unchanged). The message is kept per thread; it is also logged at
 * debug level. err must be negative.
 */
int vn_err(int err, const char *fmt, ...) VN_PRINTF(2, 3);

/*
 * Undoing a failed operation can fail too (resetting a device over a
 * connection that is gone): between vn_err_hold() and vn_err_release() the
 * calling thread's vn_err() only logs at debug level, so the message still
 * names the first failure, not a consequence of it. Pairs nest.
 */
void vn_err_hold(void);
void vn_err_release(void);

/* Clear the per-thread message (at the start of a public API call). */
void vn_err_clear(void);

/* The per-thread message, or "" when none was recorded. */
const char *vn_err_msg(void);

#define vn_warn(...) vn_log(VN_LOG_WARN, __VA_ARGS__)
#define vn_info(...) vn_log(VN_LOG_INFO, __VA_ARGS__)
#define vn_debug(...) vn_log(VN_LOG_DEBUG, __VA_ARGS__)

#endif
