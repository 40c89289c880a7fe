/* SPDX-License-Identifier: MIT */
/*
 * The tools' JSON writer (tools/json.c): the escaping of every string, the
 * commas and nesting of compact output, and the layout of pretty output.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

struct out {
	char *buf;
	size_t len;
	FILE *f;
	struct json j;
};

static void start(struct out *o, bool pretty)
{
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
	json_init(&o->j, o->f, pretty);
}

/* Close the stream and compare what was written with want. */
static void expect(struct out *o, const char *want)
{
	assert_int_equal(fclose(o->f), 0);
	assert_string_equal(o->buf, want);
	free(o->buf);
}

/* One string, escaped, compared with its JSON text. */
static void check_str(const char *in, size_t n, const char *want)
{
	struct out o;

	start(&o, false);
	json_strn(&o.j, in, n);
	expect(&o, want);
}

static void test_escape_ascii(void **state)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "", "\"\"" },
		{ "plain vnet0", "\"plain vnet0\"" },
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "C:\\dir\\", "\"C:\\\\dir\\\\\"" },
		{ "/slash/", "\"/slash/\"" }, /* '/' needs no escape */
		{ "a\nb\tc\rd\be\ff", "\"a\\nb\\tc\\rd\\be\\ff\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		{ "\x1b[31mred", "\"\\u001b[31mred\"" }, /* a terminal escape is inert */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_str(cases[i].in, strlen(cases[i].in), cases[i].want);
}

static void test_escape_utf8(void **state)
{
	static const struct { const char *in, *want; } cases[] = {
		/* Valid UTF-8 of 2, 3 and 4 bytes passes through unchanged. */
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"" },
		{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },
		{ "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" }, /* U+10FFFF, the last */
		/* Anything else: one U+FFFD per byte that starts no valid sequence. */
		{ "\xff", "\"\\ufffd\"" },
		{ "\x80x", "\"\\ufffdx\"" },                       /* lone continuation */
		{ "\xc0\x80", "\"\\ufffd\\ufffd\"" },              /* overlong NUL */
		{ "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"" },   /* overlong '/' */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },   /* a surrogate */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* past U+10FFFF */
		{ "a\xe2\x82", "\"a\\ufffd\\ufffd\"" },            /* cut short */
		{ "\xc3(", "\"\\ufffd(\"" },                       /* bad continuation */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_str(cases[i].in, strlen(cases[i].in), cases[i].want);
}

/* json_strn() stops at n bytes or a NUL, and never reads a sequence past n. */
static void test_strn_bounds(void **state)
{
	(void)state;
	check_str("vnet0garbage", 5, "\"vnet0\"");
	check_str("ab\0cd", 5, "\"ab\"");
	check_str("\xe2\x82\xac", 2, "\"\\ufffd\\ufffd\"");
}

static void test_compact(void **state)
{
	struct out o;

	(void)state;
	start(&o, false);
	json_arr_open(&o.j);
	json_obj_open(&o.j);
	json_kstr(&o.j, "name", "vnet0");
	json_kuint(&o.j, "mtu", 1500);
	json_key(&o.j, "delta");
	json_int(&o.j, -3);
	json_kbool(&o.j, "up", true);
	json_key(&o.j, "none");
	json_null(&o.j);
	json_key(&o.j, "list");
	json_arr_open(&o.j);
	json_uint(&o.j, 18446744073709551615ull);
	json_str(&o.j, "x");
	json_arr_close(&o.j);
	json_key(&o.j, "empty");
	json_obj_open(&o.j);
	json_obj_close(&o.j);
	json_obj_close(&o.j);
	json_obj_open(&o.j);
	json_obj_close(&o.j);
	json_arr_close(&o.j);
	json_end(&o.j);
	expect(&o, "[{\"name\":\"vnet0\",\"mtu\":1500,\"delta\":-3,\"up\":true,\"none\":null,"
		   "\"list\":[18446744073709551615,\"x\"],\"empty\":{}},{}]\n");
}

static void test_pretty(void **state)
{
	struct out o;

	(void)state;
	start(&o, true);
	json_arr_open(&o.j);
	json_obj_open(&o.j);
	json_kstr(&o.j, "name", "vnet\"0");
	json_key(&o.j, "modes");
	json_arr_open(&o.j);
	json_str(&o.j, "cdev");
	json_str(&o.j, "group");
	json_arr_close(&o.j);
	json_key(&o.j, "vlans");
	json_arr_open(&o.j);
	json_arr_close(&o.j);
	json_obj_close(&o.j);
	json_arr_close(&o.j);
	json_end(&o.j);
	expect(&o, "[\n"
		   "    {\n"
		   "        \"name\": \"vnet\\\"0\",\n"
		   "        \"modes\": [\n"
		   "            \"cdev\",\n"
		   "            \"group\"\n"
		   "        ],\n"
		   "        \"vlans\": []\n"
		   "    }\n"
		   "]\n");
}

/* Numbers with a fixed count of decimals; what JSON cannot hold is null. */
static void test_double(void **state)
{
	struct out o;

	(void)state;
	start(&o, false);
	json_arr_open(&o.j);
	json_double(&o.j, 1.23456, 3);
	json_double(&o.j, 2500000.4, 0);
	json_double(&o.j, -0.5, 1);
	json_double(&o.j, NAN, 2);
	json_double(&o.j, INFINITY, 2);
	json_arr_close(&o.j);
	expect(&o, "[1.235,2500000,-0.5,null,null]");
}

/* Keys are escaped like values. */
static void test_key_escape(void **state)
{
	struct out o;

	(void)state;
	start(&o, false);
	json_obj_open(&o.j);
	json_kuint(&o.j, "a\"b\n", 1);
	json_obj_close(&o.j);
	expect(&o, "{\"a\\\"b\\n\":1}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_ascii),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_strn_bounds),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_key_escape),
		cmocka_unit_test(test_double),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
