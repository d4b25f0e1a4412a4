/* schema_compare(), the contract's line and its parser. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *print(const struct schema_report *r, bool json)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	assert_int_equal(schema_report_print(r, json, out), 0);
	fclose(out);
	return buf;
}

static void check_line(const int64_t *applied, size_t n, const char *line, const char *json,
		       enum schema_state state)
{
	struct migration_set known = store_known_migrations();
	struct schema_report r;
	enum schema_state parsed;
	assert_int_equal(schema_compare(applied, n, &known, &r), 0);
	assert_int_equal(r.state, state);
	char *text = print(&r, false), *obj = print(&r, true);
	assert_string_equal(text, line);
	assert_string_equal(obj, json);
	text[strlen(text) - 1] = '\0';	/* the parser takes the line without its newline */
	assert_int_equal(schema_line_parse(text, &parsed), 0);
	assert_int_equal(parsed, state);
	free(text);
	free(obj);
	schema_report_free(&r);
}

static void test_compatible_line(void **state)
{
	(void)state;
	const int64_t applied[] = { 3, 1, 2 };	/* any order in */
	check_line(applied, 3, "compatible: applied [1 2 3]\n",
		   "{\"state\":\"compatible\",\"applied\":[1,2,3],\"known\":[1,2,3],\"pending\":[],\"unknown\":[]}\n",
		   SCHEMA_COMPATIBLE);
}

static void test_migrations_needed_line(void **state)
{
	(void)state;
	const int64_t applied[] = { 1 };
	check_line(applied, 1, "migrations needed: pending [2 3] (binary will apply on first Open)\n",
		   "{\"state\":\"migrations_needed\",\"applied\":[1],\"known\":[1,2,3],\"pending\":[2,3],\"unknown\":[]}\n",
		   SCHEMA_MIGRATIONS_NEEDED);
	check_line(NULL, 0, "migrations needed: pending [1 2 3] (binary will apply on first Open)\n",
		   "{\"state\":\"migrations_needed\",\"applied\":[],\"known\":[1,2,3],\"pending\":[1,2,3],\"unknown\":[]}\n",
		   SCHEMA_MIGRATIONS_NEEDED);
}

static void test_incompatible_line_wins_over_pending(void **state)
{
	(void)state;
	const int64_t applied[] = { 1, 99, -4 };
	check_line(applied, 3, "incompatible: unknown applied [-4 99] (binary older than DB)\n",
		   "{\"state\":\"incompatible\",\"applied\":[-4,1,99],\"known\":[1,2,3],\"pending\":[2,3],\"unknown\":[-4,99]}\n",
		   SCHEMA_INCOMPATIBLE);
}

static void test_parser_rejects_every_near_miss(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"compatible",
		"compatible: applied",
		"compatible: applied [1 2 3] ",
		"compatible: applied [1  2]",
		"compatible: applied [ 1]",
		"compatible: applied [2 1]",
		"compatible: applied [1 1]",
		"compatible: applied [01]",
		"compatible: applied [+1]",
		"compatible: applied [-0]",
		"compatible: applied [1,2]",
		"compatible: applied [99999999999999999999]",
		"compatible: applied [1]\x1b[2J",
		"Compatible: applied [1]",
		"migrations needed: pending [] (binary will apply on first Open)",
		"migrations needed: pending [3]",
		"migrations needed: pending [3] (binary will apply on first open)",
		"incompatible: unknown applied [] (binary older than DB)",
		"incompatible: unknown applied [99]",
		"incompatible: unknown applied [99] (binary older than DB) and more",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum schema_state st;
		if (schema_line_parse(bad[i], &st) != -EINVAL)
			fail_msg("accepted: '%s'", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compatible_line),
		cmocka_unit_test(test_migrations_needed_line),
		cmocka_unit_test(test_incompatible_line_wins_over_pending),
		cmocka_unit_test(test_parser_rejects_every_near_miss),
	};
	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
