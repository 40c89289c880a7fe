/* SPDX-License-Identifier: MIT */
/* The VNET_PRELOAD parser of libvnet-preload.so: good and bad strings. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../sockapi/preload.h"

static int parse(const char *s, struct ps_config *cfg, char *err)
{
	return ps_config_parse((const uint8_t *)s, strlen(s), cfg, err, PS_ERR_MAX);
}

static void test_good(void **state)
{
	static const struct {
		const char *in;
		unsigned n;
		const char *name[3], *uri[3];
	} cases[] = {
		{ "tap0=sim:loopback", 1, { "tap0" }, { "sim:loopback" } },
		{ "tap0=sim:loopback,eth9=vfio:0000:00:04.0", 2, { "tap0", "eth9" },
		  { "sim:loopback", "vfio:0000:00:04.0" } },
		/* URIs keep their ':', '?', '&' and '=': only the first '=' splits. */
		{ "a=sim:pair=p1?queues=2&mtu=9000,b=sim:pair=p1", 2, { "a", "b" },
		  { "sim:pair=p1?queues=2&mtu=9000", "sim:pair=p1" } },
		{ "fifteen-chars-x=sim:sink", 1, { "fifteen-chars-x" }, { "sim:sink" } },
		{ "x=y,z=w,v=u", 3, { "x", "z", "v" }, { "y", "w", "u" } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ps_config cfg;
		char err[PS_ERR_MAX];

		assert_int_equal(parse(cases[i].in, &cfg, err), 0);
		assert_string_equal(err, "");
		assert_int_equal(cfg.n, cases[i].n);
		for (unsigned k = 0; k < cfg.n; k++) {
			assert_string_equal(cfg.ifs[k].name, cases[i].name[k]);
			assert_string_equal(cfg.ifs[k].uri, cases[i].uri[k]);
		}
	}
}

static void test_bad(void **state)
{
	static const struct {
		const char *in, *msg; /* msg: a part of the message */
	} cases[] = {
		{ "", "empty" },
		{ "tap0", "want NAME=URI" },
		{ "=sim:loopback", "empty interface name" },
		{ "tap0=", "empty device URI" },
		{ "tap0=sim:loopback,", "empty entry" },
		{ ",tap0=sim:loopback", "empty entry" },
		{ "a=sim:sink,,b=sim:sink", "empty entry" },
		{ "sixteen-chars-xx=sim:sink", "longer than 15" },
		{ "tap0=sim:loopback,tap0=sim:sink", "\"tap0\" is mapped twice" },
		{ "ta/p=sim:sink", "not an interface name" },
		{ "ta:p=sim:sink", "not an interface name" },
		{ "ta p=sim:sink", "not an interface name" },
		{ "..=sim:sink", "not an interface name" },
		{ ".=sim:sink", "not an interface name" },
		{ "tap0=sim: loopback", "blank" },
		{ "tap0=sim:\x01", "blank or non-ASCII" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ps_config cfg;
		char err[PS_ERR_MAX];

		assert_int_equal(parse(cases[i].in, &cfg, err), -EINVAL);
		/* Nothing half-parsed is left to use. */
		assert_int_equal(cfg.n, 0);
		if (!strstr(err, cases[i].msg))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].in, err,
				 cases[i].msg);
	}
}

/* Limits: URI length (room kept for "&name=IFNAME"), entry count, bytes
 * that are not a C string. */
static void test_limits(void **state)
{
	struct ps_config cfg;
	char err[PS_ERR_MAX], in[4096];
	size_t n;

	/* "a=" + URI: 234 bytes fit, 235 do not (255 - strlen("?name=") - 15). */
	memcpy(in, "a=sim:", 6);
	memset(in + 6, 'x', 230);
	in[236] = '\0';
	assert_int_equal(parse(in, &cfg, err), 0);
	assert_int_equal(strlen(cfg.ifs[0].uri), 234);
	in[236] = 'x';
	in[237] = '\0';
	assert_int_equal(parse(in, &cfg, err), -EINVAL);
	assert_non_null(strstr(err, "longer than 234"));

	n = 0;
	for (int i = 0; i < PS_MAX_IFS; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "%si%d=sim:sink", i ? "," : "", i);
	assert_int_equal(parse(in, &cfg, err), 0);
	assert_int_equal(cfg.n, PS_MAX_IFS);
	snprintf(in + n, sizeof(in) - n, ",one-more=sim:sink");
	assert_int_equal(parse(in, &cfg, err), -EINVAL);
	assert_non_null(strstr(err, "more than 32"));

	/* Bytes, not a string: a NUL inside, no NUL at the end. */
	assert_int_equal(ps_config_parse((const uint8_t *)"a=b\0c=d", 7, &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	assert_int_equal(ps_config_parse((const uint8_t *)"a=bc=d", 3, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.ifs[0].uri, "b");
	/* A message that does not fit is cut, still terminated. */
	assert_int_equal(ps_config_parse((const uint8_t *)"tap0", 4, &cfg, err, 8), -EINVAL);
	assert_int_equal(strlen(err), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
