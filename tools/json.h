/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer for the tools' -j output (vnetconf,
 * vnetperf; RFC 8259).
 *
 * The writer tracks nesting and inserts the commas itself, so callers emit
 * values in order: json_key() before each member of an object, nothing
 * before an element of an array. Strings are escaped completely (quote,
 * backslash, every control character); valid UTF-8 passes through and an
 * invalid byte becomes U+FFFD, so text that came from another process
 * cannot break the document. Compact output has no whitespace at all;
 * pretty output puts each member on its own line, indented by 4.
 */
#ifndef VNETCONF_JSON_H
#define VNETCONF_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	bool pretty;
	unsigned depth;
	bool want_comma[JSON_MAX_DEPTH]; /* a value was already written at that level */
	bool after_key;                  /* the next value completes a member */
};

void json_init(struct json *j, FILE *f, bool pretty);
void json_obj_open(struct json *j);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j);
void json_arr_close(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
/* At most n bytes of s (stops early at a NUL). */
void json_strn(struct json *j, const char *s, size_t n);
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
/* With `decimals` digits after the point; NaN and infinities (no JSON
 * number) are written as null. */
void json_double(struct json *j, double v, int decimals);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* End of a top-level value: a newline. */
void json_end(struct json *j);

/* Member shorthands: key then value. */
void json_kstr(struct json *j, const char *key, const char *s);
void json_kuint(struct json *j, const char *key, uint64_t v);
void json_kbool(struct json *j, const char *key, bool v);

#endif
