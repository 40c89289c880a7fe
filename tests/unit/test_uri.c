/* SPDX-License-Identifier: MIT */
/* Device URI parsing: every accepted form, and every kind of bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "uri.h"

static void test_vfio(void **state)
{
	struct vn_uri u;

	assert_int_equal(vn_uri_parse("vfio:0000:00:04.0", &u), 0);
	assert_int_equal(u.kind, VN_URI_VFIO);
	assert_string_equal(u.target, "0000:00:04.0");
	assert_int_equal(u.n_opts, 0);

	/* The domain may be omitted; hex is canonicalised to lower case. */
	assert_int_equal(vn_uri_parse("vfio:00:04.0", &u), 0);
	assert_string_equal(u.target, "0000:00:04.0");
	assert_int_equal(vn_uri_parse("vfio:0:1F.7", &u), 0);
	assert_string_equal(u.target, "0000:00:1f.7");
	assert_int_equal(vn_uri_parse("vfio:ABCD:ff:1f.7", &u), 0);
	assert_string_equal(u.target, "abcd:ff:1f.7");
	/* VMD domains are wider than 16 bits. */
	assert_int_equal(vn_uri_parse("vfio:10000:e1:00.0", &u), 0);
	assert_string_equal(u.target, "10000:e1:00.0");

	assert_int_equal(vn_uri_parse("vfio:0000:00:04.0?mode=cdev&queues=2", &u), 0);
	assert_int_equal(u.n_opts, 2);
	assert_string_equal(vn_uri_opt(&u, "mode"), "cdev");
	assert_string_equal(vn_uri_opt(&u, "queues"), "2");
	assert_null(vn_uri_opt(&u, "qsize"));
}

static void test_vfio_user_and_sim(void **state)
{
	struct vn_uri u;
	char path[120];

	assert_int_equal(vn_uri_parse("vfio-user:/run/vnet/dev0.sock?qsize=512", &u), 0);
	assert_int_equal(u.kind, VN_URI_VFIO_USER);
	assert_string_equal(u.target, "/run/vnet/dev0.sock");
	assert_string_equal(vn_uri_opt(&u, "qsize"), "512");

	/* The longest path that fits sun_path (107 bytes and the NUL). */
	memset(path, 'p', 107);
	path[107] = '\0';
	char uri[140] = "vfio-user:";
	strcat(uri, path);
	assert_int_equal(vn_uri_parse(uri, &u), 0);
	assert_int_equal(strlen(u.target), 107);

	assert_int_equal(vn_uri_parse("sim:loopback", &u), 0);
	assert_int_equal(u.kind, VN_URI_SIM);
	assert_string_equal(u.target, "loopback");
	assert_string_equal(u.arg, "");

	assert_int_equal(vn_uri_parse("sim:pair=wire0/1?mtu=9000&mac=02:00:00:AA:bb:01&fault=bad-used_idx@100", &u),
			 0);
	assert_string_equal(u.target, "pair");
	assert_string_equal(u.arg, "wire0/1");
	assert_int_equal(u.n_opts, 3);
	assert_string_equal(vn_uri_opt(&u, "mac"), "02:00:00:AA:bb:01");
	assert_string_equal(vn_uri_opt(&u, "fault"), "bad-used_idx@100");

	assert_int_equal(vn_uri_parse("sim:tap=tap0", &u), 0);
	assert_string_equal(u.arg, "tap0");
	assert_int_equal(vn_uri_parse("sim:sink?size=64", &u), 0);
	assert_int_equal(vn_uri_parse("sim:source", &u), 0);

	/* Every sim option at once. */
	assert_int_equal(vn_uri_parse("sim:loopback?queues=1&qsize=2&mtu=3&mac=00:00:00:00:00:01&size=5&fault=x&irq=intx",
				      &u), 0);
	assert_int_equal(u.n_opts, 7);
	assert_string_equal(vn_uri_opt(&u, "irq"), "intx");
	assert_int_equal(vn_uri_parse("sim:pair=w/0?irq=msix", &u), 0);
}

static void test_tap_and_xdp(void **state)
{
	struct vn_uri u;

	assert_int_equal(vn_uri_parse("tap:tap0?queues=2&qsize=128&mac=02:00:00:00:00:01", &u), 0);
	assert_int_equal(u.kind, VN_URI_TAP);
	assert_string_equal(u.target, "tap0");
	assert_string_equal(u.arg, "");
	assert_int_equal(u.n_opts, 3);
	/* '@' is an ordinary character in a TAP name, a queue only for xdp:. */
	assert_int_equal(vn_uri_parse("tap:a@1", &u), 0);
	assert_string_equal(u.target, "a@1");
	/* The longest name the kernel takes: IFNAMSIZ - 1 characters. */
	assert_int_equal(vn_uri_parse("tap:abcdefghijklmno", &u), 0);

	assert_int_equal(vn_uri_parse("xdp:veth0", &u), 0);
	assert_int_equal(u.kind, VN_URI_XDP);
	assert_string_equal(u.target, "veth0");
	assert_string_equal(u.arg, "");
	assert_int_equal(vn_uri_parse("xdp:eth1@3?attach=skb&queues=2", &u), 0);
	assert_string_equal(u.target, "eth1");
	assert_string_equal(u.arg, "3");
	assert_string_equal(vn_uri_opt(&u, "attach"), "skb");
}

/* Each bad URI fails with EINVAL, leaves u cleared and says something. */
static void expect_bad(const char *s, const char *words)
{
	struct vn_uri u;

	memset(&u, 0x5a, sizeof(u));
	vn_err_clear();
	if (vn_uri_parse(s, &u) != -EINVAL)
		fail_msg("accepted \"%s\"", s);
	assert_int_equal(u.n_opts, 0);
	assert_string_equal(u.target, "");
	if (!strstr(vn_err_msg(), words))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", s, vn_err_msg(), words);
}

static void test_bad_scheme_and_target(void **state)
{
	struct vn_uri u;

	assert_int_equal(vn_uri_parse(NULL, &u), -EINVAL);
	expect_bad("", "unknown URI scheme");
	expect_bad("pci:0000:00:04.0", "unknown URI scheme");
	expect_bad("VFIO:0000:00:04.0", "unknown URI scheme");
	expect_bad("vfio:", "names no device");
	expect_bad("vfio-user:", "names no device");
	expect_bad("sim:", "names no device");
	expect_bad("vfio:?mode=cdev", "names no device");
	expect_bad("sim:bogus", "unknown sim mode");
	expect_bad("sim:loop", "unknown sim mode");
	expect_bad("sim:loopback=x", "takes no argument");
	expect_bad("sim:pair=", "empty argument");
	expect_bad("tap:", "names no device");
	expect_bad("tap:abcdefghijklmnop", "want 1 to 15 characters");
	expect_bad("tap:a/b", "no '/', ':' or blanks");
	expect_bad("tap:a b", "no '/', ':' or blanks");
	expect_bad("tap:..", "is not an interface name");
	expect_bad("xdp:@1", "want 1 to 15 characters");
	expect_bad("xdp:eth0@", "want a queue number");
	expect_bad("xdp:eth0@x", "want a queue number");
	expect_bad("xdp:eth0@123456", "want a queue number");
	expect_bad("sim:tap=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		   "argument longer");
}

static void test_bad_pci(void **state)
{
	static const char *const bad[] = {
		"vfio:0000:00:04",      /* no function */
		"vfio:0000:00:04.8",    /* function > 7 */
		"vfio:0000:00:20.0",    /* device > 1f */
		"vfio:0000:100:04.0",   /* bus > ff */
		"vfio:000:00:04.0.1",   /* trailing garbage */
		"vfio:0000:00:04.0 ",   /* trailing blank */
		"vfio:123456789:00:04.0", /* domain wider than 32 bits */
		"vfio:0000:0g:04.0",    /* not hex */
		"vfio:0000::04.0",      /* empty bus */
		"vfio:0000:00:.0",      /* empty device */
		"vfio:0000:00:04.",     /* empty function */
		"vfio:00:00:00:04.0",   /* too many fields */
		"vfio:-1:00.0",
		"vfio:0000:00:04.00",   /* function has one digit */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i], "bad PCI address");
}

static void test_bad_options(void **state)
{
	expect_bad("vfio:00:04.0?", "empty option");
	expect_bad("vfio:00:04.0?mode=cdev&", "empty option");
	expect_bad("vfio:00:04.0?mode=cdev&&queues=1", "empty option");
	expect_bad("vfio:00:04.0?mode", "has no '='");
	expect_bad("vfio:00:04.0?=cdev", "empty key");
	expect_bad("vfio:00:04.0?mode=", "empty value");
	expect_bad("vfio:00:04.0?colour=red", "unknown option");
	expect_bad("vfio:00:04.0?Mode=cdev", "unknown option");
	expect_bad("vfio:00:04.0?mode=cdev&mode=group", "given twice");
	expect_bad("vfio:00:04.0?mode=iommufd", "want cdev, group or noiommu");
	expect_bad("vfio:00:04.0?size=1500", "does not apply");
	expect_bad("sim:loopback?mode=cdev", "does not apply");
	expect_bad("sim:loopback?attach=drv", "does not apply");
	expect_bad("xdp:eth0?mac=02:00:00:00:00:01", "does not apply");
	expect_bad("xdp:eth0?attach=native", "want drv or skb");
	expect_bad("xdp:eth0?vectors=1", "does not apply");
	expect_bad("sim:loopback?vectors=one", "not a decimal number");
	expect_bad("sim:loopback?queues=-1", "not a decimal number");
	expect_bad("sim:loopback?queues=0x10", "not a decimal number");
	expect_bad("sim:loopback?mac=02:00:00:00:00", "want XX:XX:XX:XX:XX:XX");
	expect_bad("sim:loopback?mac=02:00:00:00:00:0g", "want XX:XX:XX:XX:XX:XX");
	expect_bad("sim:loopback?mac=02:00:00:00:00:001", "want XX:XX:XX:XX:XX:XX");
	expect_bad("sim:loopback?fault=Bad!", "NAME or NAME@COUNT");
	expect_bad("sim:loopback?irq=msi", "want msix or intx");
	expect_bad("vfio:00:04.0?irq=intx", "does not apply");
	expect_bad("sim:loopback?fault=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		   "value longer");
	/* All eight keys once, then one again. */
	expect_bad("sim:loopback?queues=1&qsize=2&mtu=3&mac=00:00:00:00:00:01&size=5&fault=x&irq=intx&queues=2",
		   "given twice");
}

static void test_too_many_and_too_long(void **state)
{
	char s[VN_URI_MAX + 8];
	struct vn_uri u;

	/* A URI of VN_URI_MAX bytes or more is refused before parsing. */
	memset(s, 'a', sizeof(s));
	memcpy(s, "vfio-user:/", 11);
	s[VN_URI_MAX] = '\0';
	expect_bad(s, "longer than");
	/* A path that does not fit sun_path. */
	memset(s, 'p', 120);
	memcpy(s, "vfio-user:", 10);
	s[118] = '\0';
	expect_bad(s, "socket path longer");

	/* vn_uri_opt() never reads past the option table, whatever n_opts says. */
	assert_int_equal(vn_uri_parse("sim:loopback?queues=1", &u), 0);
	u.n_opts = 1000;
	assert_null(vn_uri_opt(&u, "nosuchkey"));
}

static void test_opt_uint(void **state)
{
	unsigned v = 77;
	struct vn_uri u;

	assert_int_equal(vn_uri_parse("sim:loopback?queues=4&qsize=4294967296&mtu=0", &u), 0);
	assert_int_equal(vn_uri_opt_uint(&u, "queues", 1, 16, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(vn_uri_opt_uint(&u, "queues", 5, 16, &v), -EINVAL);
	assert_non_null(strstr(vn_err_msg(), "out of range [5, 16]"));
	assert_int_equal(vn_uri_opt_uint(&u, "queues", 1, 3, &v), -EINVAL);
	assert_int_equal(v, 4); /* untouched on error */
	assert_int_equal(vn_uri_opt_uint(&u, "qsize", 0, 0xffffffffu, &v), -EINVAL);
	assert_int_equal(vn_uri_opt_uint(&u, "mtu", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	v = 9;
	/* Absent: success, *out untouched. */
	assert_int_equal(vn_uri_opt_uint(&u, "size", 1, 2, &v), 0);
	assert_int_equal(v, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vfio),
		cmocka_unit_test(test_vfio_user_and_sim),
		cmocka_unit_test(test_tap_and_xdp),
		cmocka_unit_test(test_bad_scheme_and_target),
		cmocka_unit_test(test_bad_pci),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_too_many_and_too_long),
		cmocka_unit_test(test_opt_uint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
