/* SPDX-License-Identifier: MIT */
/*
 * The JSON capabilities of the vfio-user VERSION message
 * ({"capabilities":{"max_msg_fds":N,"max_data_xfer_size":N,...}}).
 *
 * A small strict parser (RFC 8259 grammar) that walks the whole document,
 * picks the numbers we use out of the "capabilities" object and skips every
 * other value (migration, twin_socket, write_multiple, anything newer).
 * Nesting is bounded, every read is bounded by the input length, and
 * anything that is not JSON is refused. Internal functions return -1 for a
 * syntax error and -2 for a value out of range (already reported).
 *
 * Why not a JSON library: the server is untrusted and this is libvnet's only
 * JSON input, a handful of numbers. A library (json-c, jansson) would be a
 * new run-time dependency of every program linking libvnet, static links
 * included, for less than 300 lines, and would still build a whole tree of
 * whatever the server sends. This parser builds nothing and is fuzzed
 * instead: tests/fuzz/fuzz_vfio_user (VERSION capabilities) and
 * fuzz_vu_client (the whole open against a hostile server).
 */
#include "iommu/vfio_user_proto.h"

#include <errno.h>
#include <string.h>

#include "log.h"

#define JSON_MAX_DEPTH 16

struct json {
	const char *p, *end, *start;
	unsigned depth;
};

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool json_eat(struct json *j, char c)
{
	json_ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

static bool json_digit(const struct json *j)
{
	return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

static bool json_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string. Its raw bytes go to key (NUL-terminated) when key is not NULL
 * and they fit; a longer key comes back as "" and so matches nothing. */
static int json_string(struct json *j, char *key, size_t cap)
{
	size_t n = 0;

	if (!json_eat(j, '"'))
		return -1;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;

		if (c == '"') {
			if (key)
				key[n < cap ? n : 0] = '\0';
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (j->p >= j->end)
				return -1;
			c = (unsigned char)*j->p++;
			if (c == 'u') {
				if (j->end - j->p < 4)
					return -1;
				for (int i = 0; i < 4; i++)
					if (!json_hex(j->p[i]))
						return -1;
				j->p += 4;
			} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
				return -1;
			}
			n = cap; /* escaped keys match nothing we look for */
			continue;
		}
		if (key && n < cap - 1)
			key[n++] = (char)c;
		else
			n = cap;
	}
	return -1;
}

/* A number; *is_uint when it is a non-negative integer that fits *v. */
static int json_number(struct json *j, uint64_t *v, bool *is_uint)
{
	bool neg = false, frac = false, ovf = false;

	*v = 0;
	if (j->p < j->end && *j->p == '-') {
		neg = true;
		j->p++;
	}
	if (!json_digit(j))
		return -1;
	if (*j->p == '0') {
		j->p++;
	} else {
		while (json_digit(j)) {
			unsigned d = (unsigned)(*j->p++ - '0');

			if (*v > (UINT64_MAX - d) / 10)
				ovf = true;
			else
				*v = *v * 10 + d;
		}
	}
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		frac = true;
		if (!json_digit(j))
			return -1;
		while (json_digit(j))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		frac = true;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!json_digit(j))
			return -1;
		while (json_digit(j))
			j->p++;
	}
	*is_uint = !neg && !frac && !ovf;
	return 0;
}

typedef int (*json_member_fn)(struct json *j, const char *key, void *ctx);

static int json_value(struct json *j);

/* An object; fn (or json_value when NULL) consumes each member's value. */
static int json_object(struct json *j, json_member_fn fn, void *ctx)
{
	int r;

	if (!json_eat(j, '{') || ++j->depth > JSON_MAX_DEPTH)
		return -1;
	if (!json_eat(j, '}')) {
		do {
			char key[32];

			json_ws(j);
			if (json_string(j, key, sizeof(key)) || !json_eat(j, ':'))
				return -1;
			json_ws(j);
			r = fn ? fn(j, key, ctx) : json_value(j);
			if (r)
				return r;
		} while (json_eat(j, ','));
		if (!json_eat(j, '}'))
			return -1;
	}
	j->depth--;
	return 0;
}

static int json_literal(struct json *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
		return -1;
	j->p += n;
	return 0;
}

static int json_value(struct json *j)
{
	uint64_t v;
	bool u;
	int r;

	json_ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '{':
		return json_object(j, NULL, NULL);
	case '[':
		j->p++;
		if (++j->depth > JSON_MAX_DEPTH)
			return -1;
		if (!json_eat(j, ']')) {
			do {
				r = json_value(j);
				if (r)
					return r;
			} while (json_eat(j, ','));
			if (!json_eat(j, ']'))
				return -1;
		}
		j->depth--;
		return 0;
	case '"':
		return json_string(j, NULL, 0);
	case 't':
		return json_literal(j, "true");
	case 'f':
		return json_literal(j, "false");
	case 'n':
		return json_literal(j, "null");
	default:
		return json_number(j, &v, &u);
	}
}

/* The capabilities we read, by name (vfio-user.rst "Version"). */
static const struct cap_field {
	const char *name;
	size_t off;  /* in struct vfio_user_caps */
	bool wide;   /* uint64_t, else uint32_t */
} cap_fields[] = {
	{ "max_msg_fds", offsetof(struct vfio_user_caps, max_msg_fds), false },
	{ "max_data_xfer_size", offsetof(struct vfio_user_caps, max_data_xfer_size), false },
	{ "max_dma_maps", offsetof(struct vfio_user_caps, max_dma_maps), false },
	{ "pgsizes", offsetof(struct vfio_user_caps, pgsizes), true },
};

static int caps_member(struct json *j, const char *key, void *ctx)
{
	for (size_t i = 0; i < VN_ARRAY_SIZE(cap_fields); i++) {
		const struct cap_field *f = &cap_fields[i];
		uint64_t v;
		uint32_t v32;
		bool is_uint;

		if (strcmp(key, f->name))
			continue;
		if (json_number(j, &v, &is_uint))
			return -1;
		if (!is_uint || (!f->wide && v > UINT32_MAX)) {
			vn_err(-EINVAL, "vfio-user VERSION: capability %s is not an integer in "
			       "[0, %s]", key, f->wide ? "2^64-1" : "2^32-1");
			return -2;
		}
		v32 = (uint32_t)v;
		memcpy((char *)ctx + f->off, f->wide ? (void *)&v : (void *)&v32,
		       f->wide ? sizeof(v) : sizeof(v32));
		return 0;
	}
	return json_value(j);
}

static int top_member(struct json *j, const char *key, void *ctx)
{
	json_ws(j);
	if (strcmp(key, "capabilities"))
		return json_value(j);
	return json_object(j, caps_member, ctx);
}

int vfio_user_caps_parse(const char *json, size_t len, struct vfio_user_caps *out)
{
	struct json j = { .p = json, .end = json + len, .start = json };
	struct vfio_user_caps c = {
		.max_msg_fds = 1,
		.max_data_xfer_size = VFIO_USER_MAX_DATA_XFER,
		.max_dma_maps = 65535,
		.pgsizes = VFIO_USER_PAGE_SIZES,
	};
	int r;

	/* The spec sends the string with its terminating NUL. */
	if (len && json[len - 1] == '\0')
		j.end--;
	json_ws(&j);
	if (j.p < j.end) {
		r = json_object(&j, top_member, &c);
		if (r == -2)
			return -EINVAL;
		json_ws(&j);
		if (r || j.p != j.end)
			return vn_err(-EINVAL, "vfio-user VERSION: malformed JSON at byte %zu",
				      (size_t)(j.p - j.start));
	}
	if (c.max_data_xfer_size == 0 || c.pgsizes == 0)
		return vn_err(-EINVAL, "vfio-user VERSION: max_data_xfer_size and pgsizes "
			      "must not be 0");
	*out = c;
	return 0;
}

