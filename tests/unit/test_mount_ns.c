/* The check's mount namespace, seen from inside: a shell (dash, whose
 * test(1) is a builtin, so it needs nothing but itself and its libraries)
 * runs in a root built from the loader's files as update_loader_files()
 * finds them, under a permissive policy and without Landlock's help for
 * what it looks at, and says what is there. Needs root (CAP_SYS_ADMIN). */
#define _GNU_SOURCE
#include "support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "banger/sandbox.h"
#include "banger/update.h"

static const char permissive[] =
	"default allow\n"
	"openat2 => errno ENOSYS\n";

struct scratch {
	const char *path;	/* NULL: none */
	size_t bytes;
	bool no_namespace;	/* as a non-root updater runs it */
};

static int run_sandboxed(const char *script, const char *data_dir, const struct scratch *scratch,
			 struct sandbox_result *r, struct banger_error *err);

static struct sandbox_result run_in_namespace(const char *script, const char *data_dir)
{
	struct sandbox_result r;
	struct banger_error err = { 0 };
	if (run_sandboxed(script, data_dir, NULL, &r, &err) != 0)
		fail_msg("%s", err.msg);
	return r;
}

static int run_sandboxed(const char *script, const char *data_dir, const struct scratch *scratch,
			 struct sandbox_result *r, struct banger_error *err)
{
	struct sandbox_policy *policy;
	struct staged sh = { .exec_fd = open("/bin/sh", O_RDONLY | O_CLOEXEC) };
	char **files = NULL;
	assert_true(sh.exec_fd >= 0);
	if (policy_parse("permissive", permissive, strlen(permissive), &policy, err) != 0 ||
	    update_verify_elf(&sh, err) != 0 || update_loader_files(&sh, &files, err) != 0)
		fail_msg("%s", err->msg);
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	const char *data[] = { data_dir, NULL };
	/* Landlock as check.c sets it: the loader's files and the data dir. */
	const char *read_paths[70] = { data_dir };
	for (size_t i = 0; files[i] && i + 2 < sizeof(read_paths) / sizeof(read_paths[0]); i++)
		read_paths[i + 1] = files[i];
	const char *exec_paths[] = { sh.interpreter, NULL };
	struct sandbox_spec spec = {
		.exec_fd = sh.exec_fd, .argv = argv, .policy = policy, .timeout_ms = 5000,
		.read_paths = read_paths, .exec_paths = exec_paths,
		.mount_namespace = !(scratch && scratch->no_namespace), .ns_data_paths = data,
		.ns_code_paths = (const char *const *)files,
		.scratch_path = scratch ? scratch->path : NULL,
		.scratch_bytes = scratch ? scratch->bytes : 0,
	};
	int rc = sandbox_run(&spec, r, err);
	update_loader_files_free(files);
	update_staged_close(&sh);
	policy_free(policy);
	return rc;
}

static void expect_line(const char *script, const char *dir, const char *line)
{
	struct sandbox_result r = run_in_namespace(script, dir);
	if (r.outcome != SANDBOX_EXITED || r.exit_code != 0)
		fail_msg("%s: outcome %d exit %d signal %d step %s (%d): %s", script, r.outcome,
			 r.exit_code, r.signal, sandbox_step_name(r.step), r.setup_errno, r.stderr_tail);
	assert_true(r.mount_namespace);
	assert_string_equal(r.first_line, line);
}

static void test_the_loader_files_are_the_interpreter_then_shared_objects(void **state)
{
	(void)state;
	struct staged sh = { .exec_fd = open("/bin/sh", O_RDONLY | O_CLOEXEC) };
	struct banger_error err = { 0 };
	char **files = NULL;
	if (update_verify_elf(&sh, &err) != 0 || update_loader_files(&sh, &files, &err) != 0)
		fail_msg("%s", err.msg);
	assert_non_null(files[0]);
	assert_string_equal(files[0], sh.interpreter_path);	/* as the kernel opens it */
	size_t n = 1;
	for (; files[n]; n++)
		assert_non_null(strstr(files[n], ".so"));
	assert_true(n >= 2);	/* libc at least */
	update_loader_files_free(files);
	update_staged_close(&sh);
}

static void test_only_what_was_granted_is_there(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char *dir = tmpdir_make();
	FILE *f = fopen(path_in(dir, "granted"), "w");
	assert_non_null(f);
	fclose(f);
	char script[4096];
	snprintf(script, sizeof(script),
		 "for p in %s/granted /dev/null /etc/passwd /proc/self /usr/bin /bin/sh /tmp/x /root; do"
		 " [ -e $p ] && printf '%%s ' $p; done; echo", dir);
	char expected[4096];
	snprintf(expected, sizeof(expected), "%s/granted /dev/null ", dir);
	expect_line(script, dir, expected);
	tmpdir_remove(dir);
}

static void test_the_granted_tree_is_read_only(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char *dir = tmpdir_make();
	char script[4096];
	snprintf(script, sizeof(script), "if true > %s/new 2>/dev/null; then echo written; else echo refused; fi", dir);
	expect_line(script, dir, "refused");
	assert_int_equal(access(path_in(dir, "new"), F_OK), -1);
	tmpdir_remove(dir);
}

/* The rehearsal's scratch (issue 23): a tmpfs of its own in the child's
 * namespace, the only place a permissive policy can write. */
static void test_the_scratch_is_the_only_writable_place_and_leaves_nothing(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char *data = tmpdir_make(), *scratch = tmpdir_make();
	struct scratch sc = { scratch, 1 << 20, false };
	struct sandbox_result r;
	struct banger_error err = { 0 };
	char script[4096];
	snprintf(script, sizeof(script),
		 "true > %s/copy && echo scratch-written;"
		 " true > %s/new 2>/dev/null && echo DATA-WRITTEN;"
		 " true > /new 2>/dev/null && echo ROOT-WRITTEN; echo end", scratch, data);
	if (run_sandboxed(script, data, &sc, &r, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(r.mount_namespace);
	assert_int_equal(r.outcome, SANDBOX_EXITED);
	assert_string_equal(r.first_line, "scratch-written");
	assert_int_equal(access(path_in(data, "new"), F_OK), -1);
	/* the tmpfs went with the child: the machine's directory is empty */
	assert_int_equal(access(path_in(scratch, "copy"), F_OK), -1);
	tmpdir_remove(scratch);
	tmpdir_remove(data);
}

static void test_a_full_scratch_is_enospc_there_not_the_hosts_disk(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char *data = tmpdir_make(), *scratch = tmpdir_make();
	struct scratch sc = { scratch, 64 << 10, false };	/* 64 KiB */
	struct sandbox_result r;
	struct banger_error err = { 0 };
	char script[4096];
	/* Eight 16 KiB files: each within RLIMIT_FSIZE, together twice the
	 * tmpfs. */
	snprintf(script, sizeof(script),
		 "n=0; for f in 1 2 3 4 5 6 7 8; do printf %%016384d 0 > %s/$f && n=$((n+1));"
		 " done; echo $n", scratch);
	if (run_sandboxed(script, data, &sc, &r, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(r.outcome, SANDBOX_EXITED);
	int written = atoi(r.first_line);
	if (written < 1 || written > 4)
		fail_msg("files written into a 64 KiB scratch: '%s' (%s)", r.first_line, r.stderr_tail);
	tmpdir_remove(scratch);
	tmpdir_remove(data);
}

/* Without a mount namespace (a non-root updater), Landlock alone fences
 * the scratch; where the kernel has none, the run is refused, never run
 * unconfined. */
static void test_without_a_namespace_landlock_fences_the_scratch_or_it_is_refused(void **state)
{
	(void)state;
	char *data = tmpdir_make(), *scratch = tmpdir_make();
	struct scratch sc = { scratch, 1 << 20, true };
	struct sandbox_result r;
	struct banger_error err = { 0 };
	char script[4096];
	snprintf(script, sizeof(script),
		 "true > %s/copy && echo scratch-written; true > %s/new 2>/dev/null && echo DATA-WRITTEN;"
		 " echo end", scratch, data);
	int rc = run_sandboxed(script, data, &sc, &r, &err);
	if (syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */) < 0) {
		assert_int_equal(rc, -EPERM);	/* this kernel has no Landlock */
		assert_non_null(strstr(err.msg, "needs Landlock"));
		assert_int_equal(access(path_in(scratch, "copy"), F_OK), -1);
	} else {
		if (rc != 0)
			fail_msg("%s", err.msg);
		assert_false(r.mount_namespace);
		assert_true(r.landlock_abi > 0);
		assert_string_equal(r.first_line, "scratch-written");
		assert_int_equal(access(path_in(data, "new"), F_OK), -1);
		assert_int_equal(access(path_in(scratch, "copy"), F_OK), 0);	/* the caller's to remove */
		unlink(path_in(scratch, "copy"));
	}
	tmpdir_remove(scratch);
	tmpdir_remove(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_loader_files_are_the_interpreter_then_shared_objects),
		cmocka_unit_test(test_only_what_was_granted_is_there),
		cmocka_unit_test(test_the_granted_tree_is_read_only),
		cmocka_unit_test(test_the_scratch_is_the_only_writable_place_and_leaves_nothing),
		cmocka_unit_test(test_a_full_scratch_is_enospc_there_not_the_hosts_disk),
		cmocka_unit_test(test_without_a_namespace_landlock_fences_the_scratch_or_it_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
