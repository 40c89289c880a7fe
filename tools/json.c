/* SPDX-License-Identifier: MIT */
/* The JSON writer of json.h. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json.h"

void json_init(struct json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
}

static void newline(struct json *j, unsigned depth)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (unsigned i = 0; i < depth; i++)
		fputs("    ", j->f);
}

/* The separator before an array element or an object member. */
static void separate(struct json *j)
{
	if (j->depth == 0)
		return;
	if (j->want_comma[j->depth])
		fputc(',', j->f);
	j->want_comma[j->depth] = true;
	newline(j, j->depth);
}

/* Before any value: a member's value follows its key directly. */
static void before_value(struct json *j)
{
	if (j->after_key)
		j->after_key = false;
	else
		separate(j);
}

static void container_open(struct json *j, char c)
{
	before_value(j);
	fputc(c, j->f);
	/* Our own callers nest at most a few levels; deeper stays flat. */
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->want_comma[j->depth] = false;
}

static void container_close(struct json *j, char c)
{
	if (j->want_comma[j->depth])
		newline(j, j->depth - 1);
	if (j->depth)
		j->depth--;
	fputc(c, j->f);
}

void json_obj_open(struct json *j) { container_open(j, '{'); }
void json_obj_close(struct json *j) { container_close(j, '}'); }
void json_arr_open(struct json *j) { container_open(j, '['); }
void json_arr_close(struct json *j) { container_close(j, ']'); }

/*
 * Length of the UTF-8 sequence at s (at most n bytes), or 0 when it is not
 * a valid one (RFC 3629 §4: no overlong forms, no surrogates, at most
 * U+10FFFF).
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (len > n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static void put_escaped(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	fputc('"', f);
	while (i < n && s[i]) {
		unsigned char c = s[i];
		const char *esc = NULL;
		size_t len;

		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default: break;
		}
		if (esc) {
			fputs(esc, f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			/* RFC 8259 §7 requires U+0000..U+001F; DEL too, for terminals. */
			fprintf(f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			fputc(c, f);
			i++;
		} else if ((len = utf8_len(s + i, strnlen(str + i, n - i))) != 0) {
			fwrite(s + i, 1, len, f);
			i += len;
		} else {
			fputs("\\ufffd", f); /* not UTF-8: the replacement character */
			i++;
		}
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	separate(j);
	put_escaped(j->f, key, strlen(key));
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = true;
}

void json_strn(struct json *j, const char *s, size_t n)
{
	before_value(j);
	put_escaped(j->f, s, n);
}

void json_str(struct json *j, const char *s)
{
	json_strn(j, s, strlen(s));
}

void json_uint(struct json *j, uint64_t v)
{
	before_value(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_int(struct json *j, int64_t v)
{
	before_value(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_double(struct json *j, double v, int decimals)
{
	before_value(j);
	if (isfinite(v))
		fprintf(j->f, "%.*f", decimals, v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, bool v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	before_value(j);
	fputs("null", j->f);
}

void json_end(struct json *j)
{
	fputc('\n', j->f);
}

void json_kstr(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_kuint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kbool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}
