/* SPDX-License-Identifier: MIT */
/*
 * VNET_PRELOAD="tap0=sim:loopback,eth9=vfio:0000:00:04.0": interface names
 * mapped to device URIs. A pure function of its bytes, so that the unit
 * test and a fuzzer drive it without an environment. URIs carry ':', '?',
 * '&' and '=' but never ','; the first '=' of a part ends the name.
 * The URI is not checked here: the device layer checks it when the program
 * first attaches the name, and says what is wrong then.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "preload.h"

/* Room the shim needs to append "?name=IFNAME" or "&name=IFNAME". */
#define NAME_OPT_ROOM (sizeof("?name=") - 1 + IFNAMSIZ - 1)

static int bad(char *err, size_t errlen, const char *fmt, const char *part, size_t plen)
{
	char what[64];

	snprintf(what, sizeof(what), "%.*s%s", (int)(plen > 40 ? 40 : plen), part,
		 plen > 40 ? "..." : "");
	snprintf(err, errlen, fmt, what);
	return -EINVAL;
}

/* The kernel's rule for names (dev_valid_name()), minus ':' which an
 * alias would need and a URI map never does. */
static int name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= IFNAMSIZ)
		return 0;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || (unsigned char)s[i] <= ' ' ||
		    (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int uri_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int parse_part(const char *p, size_t plen, struct ps_config *cfg, char *err, size_t errlen)
{
	const char *eq = memchr(p, '=', plen);
	size_t nlen, ulen;
	struct ps_if *f;

	if (plen == 0)
		return bad(err, errlen, "empty entry (stray ',')%s", "", 0);
	if (!eq)
		return bad(err, errlen, "\"%s\": want NAME=URI", p, plen);
	nlen = (size_t)(eq - p);
	ulen = plen - nlen - 1;
	if (nlen == 0)
		return bad(err, errlen, "\"%s\": empty interface name", p, plen);
	if (nlen >= IFNAMSIZ)
		return bad(err, errlen, "\"%s\": interface name longer than 15 characters", p, nlen);
	if (!name_ok(p, nlen))
		return bad(err, errlen,
			   "\"%s\": not an interface name (no '/', ':', blanks; not . or ..)", p, nlen);
	if (ulen == 0)
		return bad(err, errlen, "\"%s\": empty device URI", p, plen);
	if (ulen + NAME_OPT_ROOM >= PS_URI_MAX)
		return bad(err, errlen, "\"%s\": device URI longer than 234 bytes", eq + 1, ulen);
	if (!uri_ok(eq + 1, ulen))
		return bad(err, errlen, "\"%s\": blank or non-ASCII byte in the device URI", eq + 1,
			   ulen);
	for (unsigned i = 0; i < cfg->n; i++)
		if (strlen(cfg->ifs[i].name) == nlen && !memcmp(cfg->ifs[i].name, p, nlen))
			return bad(err, errlen, "interface \"%s\" is mapped twice", p, nlen);
	if (cfg->n == PS_MAX_IFS)
		return bad(err, errlen, "more than 32 interfaces (at \"%s\")", p, plen);
	f = &cfg->ifs[cfg->n++];
	memcpy(f->name, p, nlen);
	f->name[nlen] = '\0';
	memcpy(f->uri, eq + 1, ulen);
	f->uri[ulen] = '\0';
	return 0;
}

int ps_config_parse(const uint8_t *data, size_t len, struct ps_config *cfg, char *err,
		    size_t errlen)
{
	const char *p = (const char *)data;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if (errlen)
		err[0] = '\0';
	if (len == 0)
		return bad(err, errlen, "empty (want NAME=URI[,NAME=URI...])%s", "", 0);
	if (memchr(p, '\0', len))
		return bad(err, errlen, "NUL byte in the value%s", "", 0);
	for (;;) {
		const char *comma = memchr(p, ',', len);
		size_t plen = comma ? (size_t)(comma - p) : len;

		r = parse_part(p, plen, cfg, err, errlen);
		if (r) {
			cfg->n = 0;
			return r;
		}
		if (!comma)
			return 0;
		/* A ',' at the end leaves an empty last part: refused above. */
		len -= plen + 1;
		p = comma + 1;
	}
}
