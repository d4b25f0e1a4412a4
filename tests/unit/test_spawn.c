/* spawn_run(): what a helper program gets (include/banger/spawn.h) - an
 * argument vector, exactly the fixed environment, /dev/null for stdin, no
 * descriptor of ours, a bounded capture, and SIGKILL at the deadline. Each
 * test asks a real /bin/sh, started through spawn_run, what it sees. */
#define _GNU_SOURCE
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banger/spawn.h"

static char out[65536];

static int run_sh(const char *script, unsigned timeout_ms, size_t out_size, struct spawn_result *r,
		  const char *const *env_add)
{
	struct spawn_options o = { .timeout_ms = timeout_ms, .out = out, .out_size = out_size,
				   .env_add = env_add };
	return spawn_run((char *const[]){ "sh", "-c", (char *)script, NULL }, &o, r);
}

static void test_environment_is_exactly_the_fixed_one(void **state)
{
	(void)state;
	struct spawn_result r;
	setenv("LD_PRELOAD", "/nonexistent/evil.so", 1);
	setenv("PATH", "/tmp/evil:/usr/bin", 1);
	setenv("SYSTEMD_PAGER", "evil", 1);
	int rc = run_sh("env | LC_ALL=C sort", 5000, sizeof(out), &r, NULL);
	unsetenv("LD_PRELOAD");
	unsetenv("SYSTEMD_PAGER");
	assert_int_equal(rc, 0);
	assert_true(spawn_succeeded(r.status));
	/* Exactly these, sorted; PWD is the shell's own (dash sets it). */
	char want[PATH_MAX + 128], cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "LC_ALL=C\nPATH=%s\nPWD=%s\n", SPAWN_PATH, cwd);
	assert_string_equal(out, want);
}

static void test_env_add_entries_are_added_and_nothing_else(void **state)
{
	(void)state;
	struct spawn_result r;
	setenv("XDG_RUNTIME_DIR", "/run/user/ours", 1);
	const char *add[] = { "XDG_RUNTIME_DIR=/run/user/1000", NULL };
	assert_int_equal(run_sh("echo \"$XDG_RUNTIME_DIR\"", 5000, sizeof(out), &r, add), 0);
	assert_string_equal(out, "/run/user/1000\n");
	const char *bad[] = { "NOEQUALS", NULL };
	assert_int_equal(run_sh("true", 5000, sizeof(out), &r, bad), -EINVAL);
	unsetenv("XDG_RUNTIME_DIR");
}

static void test_output_is_bounded_and_a_chatty_helper_still_finishes(void **state)
{
	(void)state;
	struct spawn_result r;
	/* 1 MiB on stdout and on stderr, far more than a pipe holds: it
	 * would block for ever if the rest were not read and dropped. */
	int rc = run_sh("head -c 1048576 /dev/zero | tr '\\0' a; head -c 1048576 /dev/zero | tr '\\0' b >&2; "
			"exit 3", 20000, 100, &r, NULL);
	assert_int_equal(rc, 0);
	assert_false(r.timed_out);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3);
	assert_true(r.truncated);
	assert_int_equal(r.out_len, 99);
	assert_int_equal(strlen(out), 99);
	assert_int_equal(strspn(out, "a"), 99);
}

static void test_deadline_kills_it(void **state)
{
	(void)state;
	struct spawn_result r;
	int rc = run_sh("echo started; exec sleep 30", 300, sizeof(out), &r, NULL);
	assert_int_equal(rc, -ETIMEDOUT);
	assert_true(r.timed_out);
	assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL);
	assert_string_equal(out, "started\n");
}

static void test_no_descriptor_of_ours_reaches_it_and_stdin_is_dev_null(void **state)
{
	(void)state;
	struct spawn_result r;
	int leak = open("/dev/null", O_RDONLY);	/* not O_CLOEXEC: exec alone would pass it */
	assert_true(leak > 2);
	int rc = run_sh("ls /proc/self/fd; readlink /proc/self/fd/0", 5000, sizeof(out), &r, NULL);
	close(leak);
	assert_int_equal(rc, 0);
	/* ls's own: 0, 1, 2 and the directory it reads (3); then stdin. */
	assert_string_equal(out, "0\n1\n2\n3\n/dev/null\n");
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_spawn_leaves_no_descriptor_open_here(void **state)
{
	(void)state;
	struct spawn_result r;
	int before = open_fds();
	assert_int_equal(run_sh("echo hi", 5000, sizeof(out), &r, NULL), 0);
	assert_int_equal(run_sh("exec sleep 30", 200, sizeof(out), &r, NULL), -ETIMEDOUT);
	const char *bad[] = { "=x", NULL };
	assert_int_equal(run_sh("true", 5000, sizeof(out), &r, bad), -EINVAL);
	struct spawn_options o = { .timeout_ms = 5000 };	/* output to our stderr */
	assert_int_equal(spawn_run((char *const[]){ "true", NULL }, &o, &r), 0);
	assert_int_equal(spawn_run((char *const[]){ "no-such-banger-helper", NULL }, &o, &r), -ENOENT);
	assert_int_equal(open_fds(), before);
}

static void test_a_background_child_holding_the_pipe_does_not_hold_us(void **state)
{
	(void)state;
	struct spawn_result r;
	int rc = run_sh("echo parent; sleep 3 & exit 0", 10000, sizeof(out), &r, NULL);
	assert_int_equal(rc, 0);
	assert_false(r.timed_out);
	assert_true(spawn_succeeded(r.status));
	assert_string_equal(out, "parent\n");
}

static void test_program_is_looked_up_in_the_fixed_path_only(void **state)
{
	(void)state;
	struct spawn_result r;
	char *dir = tmpdir_make();
	const char *fake = path_in(dir, "banger-spawn-probe");
	FILE *f = fopen(fake, "w");
	fputs("#!/bin/sh\necho ran\n", f);
	fclose(f);
	chmod(fake, 0755);
	setenv("PATH", dir, 1);
	struct spawn_options o = { .timeout_ms = 5000, .out = out, .out_size = sizeof(out) };
	int rc = spawn_run((char *const[]){ "banger-spawn-probe", NULL }, &o, &r);
	setenv("PATH", "/usr/bin:/bin", 1);
	assert_int_equal(rc, -ENOENT);
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_environment_is_exactly_the_fixed_one),
		cmocka_unit_test(test_env_add_entries_are_added_and_nothing_else),
		cmocka_unit_test(test_output_is_bounded_and_a_chatty_helper_still_finishes),
		cmocka_unit_test(test_deadline_kills_it),
		cmocka_unit_test(test_no_descriptor_of_ours_reaches_it_and_stdin_is_dev_null),
		cmocka_unit_test(test_spawn_leaves_no_descriptor_open_here),
		cmocka_unit_test(test_a_background_child_holding_the_pipe_does_not_hold_us),
		cmocka_unit_test(test_program_is_looked_up_in_the_fixed_path_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
