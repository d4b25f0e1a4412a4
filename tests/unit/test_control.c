/* The control protocol's reader (control.h, src/control/reader.c): a
 * request is exactly one JSON object (RFC 8259), read with its length;
 * a status answer is read the same way. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <string.h>

#include "banger/control.h"

/* The command control_request_command reads from len bytes of s, or "" */
static const char *cmd_of(const char *s, size_t len)
{
	static char name[32];
	const char *c = control_request_command(s, len, name, sizeof(name));
	return c ? c : "";
}

#define CMD(lit) cmd_of(lit, sizeof(lit) - 1)

static void test_requests_that_are_json(void **state)
{
	(void)state;
	assert_string_equal(CMD("{\"cmd\":\"status\"}"), "status");
	assert_string_equal(CMD("{\"cmd\":\"status\"}\n"), "status");
	assert_string_equal(CMD("{\"cmd\":\"status\"}\r\n"), "status");	/* CR is whitespace */
	assert_string_equal(CMD(" \t\r{ \"cmd\" :\r\n\"status\" } "), "status");
	assert_string_equal(CMD("{\"cmd\":\"st\\u0061tus\"}"), "status");
	assert_string_equal(CMD("{\"n\":-0.5e+10,\"m\":0,\"k\":1E-2,\"cmd\":\"status\"}"), "status");
	assert_string_equal(CMD("{\"a\":[true,false,null,{},[]],\"cmd\":\"status\"}"), "status");
	assert_string_equal(CMD("{\"s\":\"\xf0\x9f\x98\x80 \xc3\xa9 \\ud83d\\ude00 \\b\\f\\n\\r\\t\\/\\\\\\\"\","
				"\"cmd\":\"status\"}"), "status");
	assert_string_equal(CMD("{\"cmd\":\"x\",\"cmd\":\"status\"}"), "status");	/* the last one */
}

static void test_requests_that_are_not(void **state)
{
	(void)state;
	static const char *bad[] = {
		"{\"cmd\":\"status\"} trailing",
		"{\"cmd\":\"status\"}\n{\"cmd\":\"status\"}",
		"{\"cmd\":\"st\xc3\x28tus\"}",		/* invalid UTF-8 */
		"{\"cmd\":\"status\xc0\xaf\"}",		/* overlong */
		"{\"cmd\":\"status\xed\xa0\x80\"}",	/* a surrogate in UTF-8 */
		"{\"cmd\":\"status\xf4\x90\x80\x80\"}",	/* past U+10FFFF */
		"{\"cmd\":\"status\xe2\x82\"}",		/* cut short */
		"{\"cmd\":\"status\",\"n\":0x1p3}",
		"{\"cmd\":\"status\",\"n\":-nan}",
		"{\"cmd\":\"status\",\"n\":007}",
		"{\"cmd\":\"status\",\"n\":1.}",
		"{\"cmd\":\"status\",\"n\":.5}",
		"{\"cmd\":\"status\",\"n\":+1}",
		"{\"cmd\":\"status\",\"n\":1e}",
		"{\"cmd\":\"status\",\"n\":Infinity}",
		"{\"cmd\":\"status\"\v}",		/* not JSON whitespace */
		"{\"cmd\":\"sta\ttus\"}",		/* a raw control byte */
		"{\"cmd\":\"status\\x\"}",
		"{\"cmd\":\"status\\u00\"}",
		"{\"cmd\":\"status\",}",
		"{\"cmd\":\"status\"",
		"{'cmd':'status'}",
		"{\"cmd\":tru}",
		"{\"a\":[[[[[[[[[1]]]]]]]]],\"cmd\":\"status\"}",	/* deeper than CONTROL_JSON_DEPTH */
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcmp(cmd_of(bad[i], strlen(bad[i])), "") != 0)
			fail_msg("read as a request: %s", bad[i]);
	/* A NUL is data, not the end: nothing after it makes it JSON. */
	static const char nul[] = "{\"cmd\":\"status\"}\0garbage";
	assert_string_equal(cmd_of(nul, sizeof(nul) - 1), "");
	static const char nul_in[] = "{\"cmd\":\"stat\0us\"}";
	assert_string_equal(cmd_of(nul_in, sizeof(nul_in) - 1), "");
	/* \u0000 is JSON, but not the name "status" */
	assert_string_equal(CMD("{\"cmd\":\"status\\u0000\"}"), "status\xef\xbf\xbd");
	/* a name longer than the buffer is no name, not one cut short */
	assert_string_equal(CMD("{\"cmd\":\"statusstatusstatusstatusstatusstatus\"}"), "");
}

static void test_status_answers(void **state)
{
	(void)state;
	struct control_status st;
	static const char good[] = "{\"version\":\"0.1.0\",\"pid\":123,\"uptime_s\":5,"
				   "\"schema\":{\"state\":\"compatible\",\"applied\":[1,2,3]}}";
	assert_int_equal(control_parse_status(good, sizeof(good) - 1, &st), 0);
	assert_string_equal(st.version, "0.1.0");
	assert_int_equal(st.pid, 123);
	assert_int_equal(st.uptime_s, 5);
	assert_string_equal(st.schema_state, "compatible");
	static const char frac[] = "{\"version\":\"0.1.0\",\"pid\":1.5e2,\"schema\":{\"state\":\"compatible\"}}";
	assert_int_equal(control_parse_status(frac, sizeof(frac) - 1, &st), -EINVAL);
	static const char neg[] = "{\"version\":\"0.1.0\",\"pid\":-1,\"schema\":{\"state\":\"compatible\"}}";
	assert_int_equal(control_parse_status(neg, sizeof(neg) - 1, &st), -EINVAL);
	static const char nul[] = "{\"version\":\"0.1.0\",\"pid\":7,\"schema\":{\"state\":\"compatible\"}}\0x";
	assert_int_equal(control_parse_status(nul, sizeof(nul) - 1, &st), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_that_are_json),
		cmocka_unit_test(test_requests_that_are_not),
		cmocka_unit_test(test_status_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
