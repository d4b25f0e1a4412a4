/* bangerd_main() in-process: lines and exit codes of the contract. Actions
 * that confine the process (--check-migrations) run in a forked child. */
#define _GNU_SOURCE
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "banger/cli.h"
#include "banger_config.h"

struct run {
	int code;
	char *out, *err;
};

static struct run run_inline(const char *const *args)
{
	char *argv[16];
	int argc = 0;
	argv[argc++] = "bangerd";
	while (args[argc - 1] && argc < 15) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	struct run r = { 0 };
	size_t n1, n2;
	FILE *out = open_memstream(&r.out, &n1), *err = open_memstream(&r.err, &n2);
	r.code = bangerd_main(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return r;
}

/* The same in a child, for actions that confine the process. */
static struct run run_forked(const char *const *args)
{
	int po[2], pe[2];
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct run r = run_inline(args);
		(void)!write(po[1], r.out, strlen(r.out));
		(void)!write(pe[1], r.err, strlen(r.err));
		_exit(r.code);
	}
	close(po[1]);
	close(pe[1]);
	struct run r = { 0 };
	r.out = calloc(1, 65536);
	r.err = calloc(1, 65536);
	(void)!read(po[0], r.out, 65535);
	(void)!read(pe[0], r.err, 65535);
	int status;
	waitpid(pid, &status, 0);
	close(po[0]);
	close(pe[0]);
	r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void test_version_prints_the_build_version(void **state)
{
	(void)state;
	struct run r = run_inline((const char *[]){ "--version", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, BANGER_VERSION "\n");
	run_free(&r);
}

static void test_help_goes_to_stdout(void **state)
{
	(void)state;
	struct run r = run_inline((const char *[]){ "--help", NULL });
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.out, "--check-migrations"));
	assert_string_equal(r.err, "");
	run_free(&r);
}

static void test_list_migrations(void **state)
{
	(void)state;
	struct run r = run_inline((const char *[]){ "--list-migrations", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "1 baseline\n2 vm_workspaces\n3 drop_image_arch\n");
	run_free(&r);
}

static void test_usage_errors_exit_64_with_usage_on_stderr(void **state)
{
	(void)state;
	const char *const *cases[] = {
		(const char *[]){ "--bogus", NULL },
		(const char *[]){ "--check-migrations", "--migrate", NULL },
		(const char *[]){ "--json", NULL },
		(const char *[]){ "--migrate", "--json", NULL },
		(const char *[]){ "--state-dir", "/a", "--db", "/b", "--check-migrations", NULL },
		(const char *[]){ "--check-migrations", "extra", NULL },
		(const char *[]){ "--check-migrations", "--db", NULL },
		(const char *[]){ "--check-migrations", "--db", "", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = run_inline(cases[i]);
		if (r.code != 64 || strstr(r.err, "usage: bangerd") == NULL || r.out[0] != '\0')
			fail_msg("case %zu: exit %d, stderr '%s'", i, r.code, r.err);
		run_free(&r);
	}
}

static void test_check_migrations_exit_codes(void **state)
{
	char *dir = *state;
	const char *db = path_in(dir, "banger.db");
	struct run r = run_forked((const char *[]){ "--db", db, "--check-migrations", NULL });
	assert_int_equal(r.code, 1);
	assert_string_equal(r.out, "migrations needed: pending [1 2 3] (binary will apply on first Open)\n");
	run_free(&r);

	r = run_inline((const char *[]){ "--db", db, "--migrate", NULL });
	assert_int_equal(r.code, 0);
	run_free(&r);
	r = run_forked((const char *[]){ "--state-dir", dir, "--check-migrations", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "compatible: applied [1 2 3]\n");
	run_free(&r);

	db_exec(db, "INSERT INTO schema_migrations VALUES (99, 'future', 'x')");
	r = run_forked((const char *[]){ "--db", db, "--check-migrations", "--json", NULL });
	assert_int_equal(r.code, 2);
	assert_string_equal(r.out, "{\"state\":\"incompatible\",\"applied\":[1,2,3,99],\"known\":[1,2,3],"
				   "\"pending\":[],\"unknown\":[99]}\n");
	run_free(&r);
	r = run_inline((const char *[]){ "--db", db, "--migrate", NULL });
	assert_int_equal(r.code, 2);
	run_free(&r);
	r = run_inline((const char *[]){ "--db", db, NULL });	/* serve */
	assert_int_equal(r.code, 2);
	run_free(&r);

	r = run_forked((const char *[]){ "--db", dir, "--check-migrations", NULL });
	assert_int_equal(r.code, 3);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "is a directory"));
	assert_int_equal(strchr(r.err, '\n') - r.err, (long)strlen(r.err) - 1);	/* one line */
	run_free(&r);
}

static int mkdir_fixture(void **state)
{
	*state = tmpdir_make();
	return 0;
}

static int rm_fixture(void **state)
{
	tmpdir_remove(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_prints_the_build_version),
		cmocka_unit_test(test_help_goes_to_stdout),
		cmocka_unit_test(test_list_migrations),
		cmocka_unit_test(test_usage_errors_exit_64_with_usage_on_stderr),
		cmocka_unit_test_setup_teardown(test_check_migrations_exit_codes, mkdir_fixture, rm_fixture),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
