/* SPDX-License-Identifier: MIT */
/*
 * Device URI parsing (grammar in uri.h). A URI comes from the application,
 * a configuration file or the environment: every part is checked and a bad
 * one is named in the error message.
 */
#include "uri.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"
#include "log.h"

/* Which schemes an option applies to. */
#define FOR_VFIO 0x1
#define FOR_USER 0x2
#define FOR_SIM  0x4
#define FOR_TAP  0x8
#define FOR_XDP  0x10
#define FOR_ALL  (FOR_VFIO | FOR_USER | FOR_SIM | FOR_TAP | FOR_XDP)

enum val_kind { VAL_UINT, VAL_MODE, VAL_MAC, VAL_FAULT, VAL_ATTACH, VAL_IRQ, VAL_NAME, VAL_ONOFF, VAL_RING,
		VAL_RESET, VAL_SIZE, VAL_RXFULL };

static const struct {
	const char *key;
	unsigned schemes;
	enum val_kind kind;
} known_opts[] = {
	{ "mode", FOR_VFIO, VAL_MODE },
	{ "queues", FOR_ALL, VAL_UINT },
	{ "qsize", FOR_ALL, VAL_UINT },
	{ "mtu", FOR_SIM | FOR_VFIO | FOR_USER, VAL_UINT },
	{ "mac", FOR_SIM | FOR_TAP, VAL_MAC },
	{ "size", FOR_SIM, VAL_UINT },
	{ "fault", FOR_SIM, VAL_FAULT },
	{ "irq", FOR_SIM, VAL_IRQ },
	{ "vectors", FOR_SIM, VAL_UINT },
	{ "notify_data", FOR_SIM, VAL_ONOFF },
	{ "ring", FOR_VFIO | FOR_USER | FOR_SIM, VAL_RING },
	{ "rss", FOR_SIM, VAL_ONOFF },
	{ "coalesce", FOR_SIM, VAL_ONOFF },
	{ "attach", FOR_XDP, VAL_ATTACH },
	{ "name", FOR_ALL, VAL_NAME },
	{ "ctl", FOR_ALL, VAL_ONOFF },
	{ "reset", FOR_VFIO | FOR_USER | FOR_SIM, VAL_RESET },
	{ "mem", FOR_SIM, VAL_SIZE },
	{ "rxfull", FOR_SIM, VAL_RXFULL },
	{ "offload", FOR_VFIO | FOR_USER | FOR_SIM, VAL_ONOFF },
	{ "dev_offload", FOR_SIM, VAL_ONOFF },
};

static const struct {
	const char *prefix;
	enum vn_uri_kind kind;
	unsigned scheme;
} schemes[] = {
	{ "vfio:", VN_URI_VFIO, FOR_VFIO },     { "vfio-user:", VN_URI_VFIO_USER, FOR_USER },
	{ "sim:", VN_URI_SIM, FOR_SIM },        { "tap:", VN_URI_TAP, FOR_TAP },
	{ "xdp:", VN_URI_XDP, FOR_XDP },
};

/* sim: modes, and whether "=ARG" may follow. */
static const struct {
	const char *name;
	bool takes_arg;
} sim_modes[] = {
	{ "loopback", false }, { "pair", true }, { "tap", true },
	{ "sink", false },     { "source", false },
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Parse 1..maxdig hex digits at *p, advancing it; the value must not exceed
 * max. Returns 0 or -1.
 */
static int hexfield(const char **p, unsigned maxdig, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	unsigned n = 0;
	int d;

	while ((d = hexval(**p)) >= 0) {
		if (++n > maxdig)
			return -1;
		v = v * 16 + (unsigned)d;
		(*p)++;
	}
	if (n == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int vn_pci_addr_parse(const char *s, char *out, size_t sz)
{
	unsigned long dom = 0, bus, dev, fn;
	const char *colon = strchr(s, ':');
	const char *p = s;
	int n;

	/* Two ':' mean a domain is present; up to 8 hex digits, since VMD
	 * domains exceed 16 bits. The rest is bus 0-ff, device 0-1f, fn 0-7. */
	if (colon && strchr(colon + 1, ':') &&
	    (hexfield(&p, 8, 0xffffffffUL, &dom) || *p++ != ':'))
		goto bad;
	if (hexfield(&p, 2, 0xff, &bus) || *p++ != ':' || hexfield(&p, 2, 0x1f, &dev) ||
	    *p++ != '.' || hexfield(&p, 1, 7, &fn) || *p)
		goto bad;
	n = snprintf(out, sz, "%04lx:%02lx:%02lx.%lx", dom, bus, dev, fn);
	if (n < 0 || (size_t)n >= sz)
		return vn_err(-EINVAL, "PCI address \"%s\" does not fit in %zu bytes", s, sz);
	return 0;
bad:
	return vn_err(-EINVAL, "bad PCI address \"%s\" (want DDDD:BB:DD.F with bus 0-ff, device 0-1f, function 0-7)",
		      s);
}

static int parse_sim(const char *s, struct vn_uri *u)
{
	const char *eq = strchr(s, '=');
	size_t mlen = eq ? (size_t)(eq - s) : strlen(s);
	size_t i;

	for (i = 0; i < VN_ARRAY_SIZE(sim_modes); i++)
		if (strlen(sim_modes[i].name) == mlen && !memcmp(s, sim_modes[i].name, mlen))
			break;
	if (i == VN_ARRAY_SIZE(sim_modes))
		return vn_err(-EINVAL, "unknown sim mode \"%.*s\" (loopback, pair, tap, sink, source)",
			      (int)mlen, s);
	strcpy(u->target, sim_modes[i].name);
	if (!eq)
		return 0;
	if (!sim_modes[i].takes_arg)
		return vn_err(-EINVAL, "sim mode %s takes no argument", u->target);
	if (!eq[1])
		return vn_err(-EINVAL, "sim mode %s: empty argument after '='", u->target);
	if (strlen(eq + 1) >= sizeof(u->arg))
		return vn_err(-EINVAL, "sim mode %s: argument longer than %zu bytes", u->target,
			      sizeof(u->arg) - 1);
	strcpy(u->arg, eq + 1);
	return 0;
}

/* tap:IFNAME and xdp:IFNAME[@QUEUE]: a name the kernel accepts (shorter
 * than IFNAMSIZ, no '/', ':' or blanks), and for xdp: a queue number. */
static int parse_ifname(const char *s, struct vn_uri *u)
{
	const char *at = u->kind == VN_URI_XDP ? strchr(s, '@') : NULL;
	size_t len = at ? (size_t)(at - s) : strlen(s);

	if (!len || len >= VN_IFNAMSIZ)
		return vn_err(-EINVAL, "interface name \"%.*s\": want 1 to %d characters", (int)len,
			      s, VN_IFNAMSIZ - 1);
	if ((len == 1 && s[0] == '.') || (len == 2 && !memcmp(s, "..", 2)))
		return vn_err(-EINVAL, "\"%.*s\" is not an interface name", (int)len, s);
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] == 0x7f)
			return vn_err(-EINVAL, "interface name \"%.*s\": no '/', ':' or blanks",
				      (int)len, s);
	memcpy(u->target, s, len);
	u->target[len] = '\0';
	if (!at)
		return 0;
	if (!at[1] || strlen(at + 1) > 5 || strspn(at + 1, "0123456789") != strlen(at + 1))
		return vn_err(-EINVAL, "xdp:%s: want a queue number after '@'", s);
	strcpy(u->arg, at + 1);
	return 0;
}

static bool valid_mac(const char *v)
{
	for (int i = 0; i < 6; i++) {
		if (hexval(v[0]) < 0 || hexval(v[1]) < 0)
			return false;
		v += 2;
		if (*v != (i == 5 ? '\0' : ':'))
			return false;
		v++;
	}
	return true;
}

static int check_value(const char *key, enum val_kind kind, const char *v)
{
	switch (kind) {
	case VAL_UINT:
		if (strspn(v, "0123456789") != strlen(v))
			return vn_err(-EINVAL, "option %s=%s: not a decimal number", key, v);
		return 0;
	case VAL_MODE:
		if (strcmp(v, "cdev") && strcmp(v, "group") && strcmp(v, "noiommu"))
			return vn_err(-EINVAL, "option mode=%s: want cdev, group or noiommu", v);
		return 0;
	case VAL_MAC:
		if (!valid_mac(v))
			return vn_err(-EINVAL, "option mac=%s: want XX:XX:XX:XX:XX:XX", v);
		return 0;
	case VAL_ATTACH:
		if (strcmp(v, "drv") && strcmp(v, "skb"))
			return vn_err(-EINVAL, "option attach=%s: want drv or skb", v);
		return 0;
	case VAL_FAULT: /* NAME[@N]; the simulator checks the name and the count */
		if (strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-@") != strlen(v))
			return vn_err(-EINVAL, "option %s=%s: want NAME or NAME@COUNT", key, v);
		return 0;
	case VAL_IRQ:
		if (strcmp(v, "msix") && strcmp(v, "intx"))
			return vn_err(-EINVAL, "option irq=%s: want msix or intx", v);
		return 0;
	case VAL_NAME: /* the control-plane name (vnet/ctl.h) */
		return vn_ctl_name_valid(v);
	case VAL_ONOFF:
		if (strcmp(v, "on") && strcmp(v, "off"))
			return vn_err(-EINVAL, "option %s=%s: want on or off", key, v);
		return 0;
	case VAL_RING:
		if (strcmp(v, "split") && strcmp(v, "packed"))
			return vn_err(-EINVAL, "option ring=%s: want split or packed", v);
		return 0;
	case VAL_SIZE: { /* N[k|m|g]; the simulator checks the range */
		size_t d = strspn(v, "0123456789");

		if (!d || (v[d] && (!strchr("kKmMgG", v[d]) || v[d + 1])))
			return vn_err(-EINVAL, "option %s=%s: want a number of bytes, optionally "
				      "with k, m or g", key, v);
		return 0;
	}
	case VAL_RXFULL:
		if (strcmp(v, "wait") && strcmp(v, "drop"))
			return vn_err(-EINVAL, "option rxfull=%s: want wait or drop", v);
		return 0;
	case VAL_RESET: /* VNET_DEV_F_AUTO_RESET, or the default */
		if (strcmp(v, "auto") && strcmp(v, "report"))
			return vn_err(-EINVAL, "option reset=%s: want auto or report", v);
		return 0;
	}
	return -EINVAL;
}

/* One "key=value" of length len at s. */
static int parse_opt(const char *s, size_t len, unsigned scheme, struct vn_uri *u)
{
	const char *eq = memchr(s, '=', len);
	struct vn_uri_opt *o;
	size_t klen, vlen;
	size_t i;

	if (!eq)
		return vn_err(-EINVAL, "option \"%.*s\" has no '='", (int)len, s);
	klen = (size_t)(eq - s);
	vlen = len - klen - 1;
	if (klen == 0)
		return vn_err(-EINVAL, "option \"%.*s\" has an empty key", (int)len, s);
	if (vlen == 0)
		return vn_err(-EINVAL, "option \"%.*s\" has an empty value", (int)len, s);
	for (i = 0; i < VN_ARRAY_SIZE(known_opts); i++)
		if (strlen(known_opts[i].key) == klen && !memcmp(known_opts[i].key, s, klen))
			break;
	if (i == VN_ARRAY_SIZE(known_opts))
		return vn_err(-EINVAL, "unknown option \"%.*s\"", (int)klen, s);
	if (!(known_opts[i].schemes & scheme))
		return vn_err(-EINVAL, "option \"%s\" does not apply to this kind of URI", known_opts[i].key);
	if (vn_uri_opt(u, known_opts[i].key))
		return vn_err(-EINVAL, "option \"%s\" given twice", known_opts[i].key);
	/* With distinct known keys only, this guards the table should keys be added. */
	if (u->n_opts == VN_URI_MAX_OPTS)
		return vn_err(-EINVAL, "more than %d options", VN_URI_MAX_OPTS);
	o = &u->opts[u->n_opts];
	if (vlen >= sizeof(o->val))
		return vn_err(-EINVAL, "option \"%s\": value longer than %zu bytes", known_opts[i].key,
			      sizeof(o->val) - 1);
	/* klen < sizeof(o->key): every known key is shorter. */
	memcpy(o->key, s, klen);
	o->key[klen] = '\0';
	memcpy(o->val, eq + 1, vlen);
	o->val[vlen] = '\0';
	u->n_opts++;
	return check_value(o->key, known_opts[i].kind, o->val);
}

static int parse_opts(const char *s, unsigned scheme, struct vn_uri *u)
{
	for (;;) {
		const char *amp = strchr(s, '&');
		size_t len = amp ? (size_t)(amp - s) : strlen(s);
		int r;

		if (len == 0)
			return vn_err(-EINVAL, "empty option in URI (stray '?' or '&')");
		r = parse_opt(s, len, scheme, u);
		if (r)
			return r;
		if (!amp)
			return 0;
		s = amp + 1;
	}
}

int vn_uri_parse(const char *s, struct vn_uri *u)
{
	char body[VN_URI_MAX];
	const char *rest;
	char *q;
	unsigned scheme;
	size_t i;
	int r;

	memset(u, 0, sizeof(*u));
	if (!s)
		return vn_err(-EINVAL, "no device URI");
	if (strlen(s) >= VN_URI_MAX)
		return vn_err(-EINVAL, "device URI longer than %d bytes", VN_URI_MAX - 1);
	for (i = 0; i < VN_ARRAY_SIZE(schemes); i++)
		if (!strncmp(s, schemes[i].prefix, strlen(schemes[i].prefix)))
			break;
	if (i == VN_ARRAY_SIZE(schemes))
		return vn_err(-EINVAL, "unknown URI scheme in \"%s\" (want vfio:, vfio-user:, sim:, tap: or xdp:)",
			      s);
	u->kind = schemes[i].kind;
	scheme = schemes[i].scheme;
	rest = s + strlen(schemes[i].prefix);
	strcpy(body, rest);
	q = strchr(body, '?');
	if (q)
		*q = '\0';
	if (!body[0])
		return vn_err(-EINVAL, "URI \"%s\" names no device", s);

	switch (u->kind) {
	case VN_URI_VFIO:
		r = vn_pci_addr_parse(body, u->target, sizeof(u->target));
		break;
	case VN_URI_VFIO_USER:
		/* The path goes into sockaddr_un.sun_path, as large as target. */
		if (strlen(body) >= sizeof(u->target))
			return vn_err(-EINVAL, "vfio-user socket path longer than %zu bytes",
				      sizeof(u->target) - 1);
		strcpy(u->target, body);
		r = 0;
		break;
	case VN_URI_SIM:
		r = parse_sim(body, u);
		break;
	default:
		r = parse_ifname(body, u);
		break;
	}
	if (r == 0 && q)
		r = parse_opts(q + 1, scheme, u);
	if (r)
		memset(u, 0, sizeof(*u));
	return r;
}

const char *vn_uri_opt(const struct vn_uri *u, const char *key)
{
	for (unsigned i = 0; i < u->n_opts && i < VN_URI_MAX_OPTS; i++)
		if (!strcmp(u->opts[i].key, key))
			return u->opts[i].val;
	return NULL;
}

int vn_uri_opt_uint(const struct vn_uri *u, const char *key, unsigned min, unsigned max,
		    unsigned *out)
{
	const char *v = vn_uri_opt(u, key);
	unsigned long n;
	char *end;

	if (!v)
		return 0;
	/* strtoul accepts signs and blanks: only plain digits are a number here. */
	if (!*v || strspn(v, "0123456789") != strlen(v))
		return vn_err(-EINVAL, "option %s=%s: not a decimal number", key, v);
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return vn_err(-EINVAL, "option %s=%s: out of range [%u, %u]", key, v, min, max);
	*out = (unsigned)n;
	return 0;
}
