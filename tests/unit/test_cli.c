/* bangerd_main() and banger_main() in-process: lines, messages and exit
 * codes of the contract. Actions that confine the process
 * (--check-migrations) run in a forked child. */
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

typedef int main_fn(int argc, char *argv[], FILE *out, FILE *errout);

static struct run run_main(main_fn *fn, const char *name, const char *const *args)
{
	char *argv[16];
	int argc = 0;
	argv[argc++] = (char *)name;
	while (args[argc - 1] && argc < 15) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	struct run r = { 0 };
	size_t n1, n2;
	FILE *out = open_memstream(&r.out, &n1), *err = open_memstream(&r.err, &n2);
	r.code = fn(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return r;
}

static struct run run_inline(const char *const *args)
{
	return run_main(bangerd_main, "bangerd", args);
}

static struct run run_banger(const char *const *args)
{
	return run_main(banger_main, "banger", args);
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
				   "\"pending\":[],\"unknown\":[99],\"version\":\"" BANGER_VERSION "\"}\n");
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

static void test_usage_error_names_the_empty_path(void **state)
{
	(void)state;
	struct run r = run_inline((const char *[]){ "--check-migrations", "--db", "", NULL });
	assert_int_equal(r.code, 64);
	assert_string_equal(strtok(r.err, "\n"), "bangerd: --db: an empty path");
	run_free(&r);
}

/* ---- banger ----------------------------------------------------------- */

static void test_banger_version_prints_the_version_alone(void **state)
{
	(void)state;
	struct run r = run_banger((const char *[]){ "--version", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, BANGER_VERSION "\n");
	assert_string_equal(r.err, "");
	run_free(&r);
}

/* Every way of asking: stdout, exit 0, the synopsis first, "--help" among
 * the options; "help X" and "X --help" say the same. */
static void test_banger_help_for_each_command_goes_to_stdout(void **state)
{
	(void)state;
	static const char *const commands[] = { "status", "update", "policy" };
	struct run r = run_banger((const char *[]){ "--help", NULL });
	struct run h = run_banger((const char *[]){ "help", NULL });
	assert_int_equal(r.code, 0);
	assert_int_equal(h.code, 0);
	assert_string_equal(r.out, h.out);
	assert_string_equal(r.err, "");
	assert_true(strncmp(r.out, "usage: banger status", 20) == 0);
	for (size_t i = 0; i < 3; i++)
		assert_non_null(strstr(r.out, commands[i]));
	run_free(&r);
	run_free(&h);
	for (size_t i = 0; i < 3; i++) {
		char synopsis[64];
		snprintf(synopsis, sizeof(synopsis), "usage: banger %s ", commands[i]);
		r = run_banger((const char *[]){ commands[i], "--help", NULL });
		h = run_banger((const char *[]){ "help", commands[i], NULL });
		if (r.code != 0 || h.code != 0 || strcmp(r.out, h.out) != 0 || r.err[0] || h.err[0] ||
		    strncmp(r.out, synopsis, strlen(synopsis)) != 0 || !strstr(r.out, "\n  --help "))
			fail_msg("%s: exit %d and %d, stdout '%s', stderr '%s'", commands[i], r.code, h.code,
				 r.out, r.err);
		run_free(&r);
		run_free(&h);
	}
}

/* Each option of update is in its help, with its default when it has one. */
static void test_banger_update_help_gives_the_defaults(void **state)
{
	(void)state;
	struct run r = run_banger((const char *[]){ "update", "--help", NULL });
	static const char *const expected[] = {
		"--timeout SECONDS", "(default: 30)", "--target PATH", "(default: the one beside banger)",
		"--db PATH", "(default: DIR/banger.db)", "--state-dir DIR", "~/.local/state/banger)",
		"--socket PATH", "--no-restart", "bangerd.service", "--recover", "--json",
		"--check-only", "--sha256 HEX", "--minisig FILE", "--pubkey KEY", "--restart-cmd CMD",
		"--system", "/var/lib/banger", "--from PATH",
	};
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		if (strstr(r.out, expected[i]) == NULL)
			fail_msg("'%s' missing from: %s", expected[i], r.out);
	run_free(&r);
}

/* The first line of stderr exactly, then the command's synopsis; exit 64. */
static void assert_usage_error(const char *const *args, const char *line, const char *synopsis)
{
	struct run r = run_banger(args);
	char *nl = strchr(r.err, '\n');
	if (r.code != 64 || r.out[0] || nl == NULL || strncmp(r.err, line, (size_t)(nl - r.err)) != 0 ||
	    strlen(line) != (size_t)(nl - r.err) || strncmp(nl + 1, synopsis, strlen(synopsis)) != 0)
		fail_msg("%s: exit %d, stderr '%s'", line, r.code, r.err);
	run_free(&r);
}

static void test_banger_usage_errors_say_what_is_wrong(void **state)
{
	(void)state;
	const char *update = "usage: banger update --from PATH";
	assert_usage_error((const char *[]){ "update", "--check-only", NULL },
			   "banger: update: --from PATH is required: the new bangerd", update);
	assert_usage_error((const char *[]){ "update", "--from", "x", "--sha256", "abc", NULL },
			   "banger: update: --sha256 'abc': not 64 hex digits", update);
	assert_usage_error((const char *[]){ "update", "--from", "x", "--timeout", "0", NULL },
			   "banger: update: --timeout '0': not whole seconds from 1 to 3600", update);
	assert_usage_error((const char *[]){ "update", "--from", "x", "--timeout", "5s", NULL },
			   "banger: update: --timeout '5s': not whole seconds from 1 to 3600", update);
	assert_usage_error((const char *[]){ "update", "--from", "", NULL },
			   "banger: update: --from: an empty argument", update);
	assert_usage_error((const char *[]){ "update", "--bogus", NULL },
			   "banger: update: unknown option '--bogus'", update);
	assert_usage_error((const char *[]){ "update", "--from", NULL },
			   "banger: update: --from needs an argument", update);
	assert_usage_error((const char *[]){ "status", "--json", "extra", NULL },
			   "banger: status: unexpected argument 'extra'", "usage: banger status");
	assert_usage_error((const char *[]){ "policy", "lint", "f", NULL },
			   "banger: policy: unknown subcommand 'lint'", "usage: banger policy");
	assert_usage_error((const char *[]){ "frobnicate", NULL },
			   "banger: unknown command 'frobnicate'", "usage: banger status");
	assert_usage_error((const char *[]){ "help", "frobnicate", NULL },
			   "banger: help: unknown command 'frobnicate'", "usage: banger status");
	assert_usage_error((const char *[]){ NULL }, "banger: a command is required",
			   "usage: banger status");
}

/* The common refusals, word for word: each names its path once. */
static void test_banger_update_names_a_missing_from_once(void **state)
{
	char *dir = *state;
	char want[1024];
	const char *from = path_in(dir, "nothing");
	struct run r = run_banger((const char *[]){ "update", "--check-only", "--from", from, "--target",
						   path_in(dir, "bangerd"), "--db", path_in(dir, "banger.db"),
						   NULL });
	snprintf(want, sizeof(want), "banger: update refused: --from %s: No such file or directory\n", from);
	assert_int_equal(r.code, 4);
	assert_string_equal(r.err, want);
	assert_string_equal(r.out, "");
	run_free(&r);
}

static void test_banger_update_names_a_missing_target(void **state)
{
	char *dir = *state;
	char want[1024];
	const char *target = path_in(dir, "bin/bangerd");
	struct run r = run_banger((const char *[]){ "update", "--from", path_in(dir, "new"), "--target",
						   target, "--state-dir", dir, NULL });
	snprintf(want, sizeof(want), "banger: update: the target %s is not an existing regular file: "
		 "pass --target with the bangerd to replace\n", target);
	assert_int_equal(r.code, 64);
	assert_string_equal(r.err, want);
	run_free(&r);
}

static void test_banger_update_names_a_database_it_cannot_reach(void **state)
{
	char *dir = *state;
	char want[1024];
	const char *db = path_in(dir, "missing/banger.db");
	struct run r = run_banger((const char *[]){ "update", "--check-only", "--from", path_in(dir, "new"),
						   "--target", path_in(dir, "bangerd"), "--db", db, NULL });
	snprintf(want, sizeof(want),
		 "banger: update refused: %s: the database's directory: No such file or directory\n", db);
	assert_int_equal(r.code, 3);
	assert_string_equal(r.err, want);
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
		cmocka_unit_test(test_usage_error_names_the_empty_path),
		cmocka_unit_test(test_banger_version_prints_the_version_alone),
		cmocka_unit_test(test_banger_help_for_each_command_goes_to_stdout),
		cmocka_unit_test(test_banger_update_help_gives_the_defaults),
		cmocka_unit_test(test_banger_usage_errors_say_what_is_wrong),
		cmocka_unit_test_setup_teardown(test_banger_update_names_a_missing_from_once, mkdir_fixture,
						rm_fixture),
		cmocka_unit_test_setup_teardown(test_banger_update_names_a_missing_target, mkdir_fixture,
						rm_fixture),
		cmocka_unit_test_setup_teardown(test_banger_update_names_a_database_it_cannot_reach,
						mkdir_fixture, rm_fixture),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
