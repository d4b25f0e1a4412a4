/* sandbox_run(): what the child is left with, observed from inside by a
 * shell under a permissive policy (so that it can look at /proc). The
 * hostile programs in tests/sandbox/ show what the real policy refuses;
 * these tests show the steps that do not depend on the policy. */
#define _GNU_SOURCE
#include "support.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banger/sandbox.h"

static const char permissive[] =
	"default allow\n"
	"openat2 => errno ENOSYS\n";

/* The loader and the programs the scripts below run: execute rules are
 * for regular files only. */
static const char *const sh_exec_paths[] = {
	"/lib64/ld-linux-x86-64.so.2", "/usr/bin/grep", "/usr/bin/tr", "/usr/bin/cat",
	"/usr/bin/sleep", "/usr/bin/yes", "/usr/bin/readlink", NULL,
};

static int try_sh(const char *script, unsigned timeout_ms, const char *const *exec_paths,
		  struct sandbox_result *r, struct banger_error *err)
{
	struct sandbox_policy *policy;
	if (policy_parse("permissive", permissive, strlen(permissive), &policy, err) != 0)
		fail_msg("%s", err->msg);
	int fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	const char *read_paths[] = { "/bin", "/usr", "/lib", "/lib64", "/etc", "/proc", NULL };
	struct sandbox_spec spec = {
		.exec_fd = fd, .argv = argv, .policy = policy, .read_paths = read_paths,
		.exec_paths = exec_paths, .timeout_ms = timeout_ms,
	};
	int rc = sandbox_run(&spec, r, err);
	close(fd);
	policy_free(policy);
	return rc;
}

static struct sandbox_result run_sh(const char *script, unsigned timeout_ms)
{
	struct banger_error err = { 0 };
	struct sandbox_result r;
	if (try_sh(script, timeout_ms, sh_exec_paths, &r, &err) != 0)
		fail_msg("%s", err.msg);
	return r;
}

static void expect_line(const char *script, const char *line)
{
	struct sandbox_result r = run_sh(script, 5000);
	if (r.outcome != SANDBOX_EXITED || r.exit_code != 0)
		fail_msg("%s: outcome %d exit %d signal %d step %s: %s", script, r.outcome, r.exit_code,
			 r.signal, sandbox_step_name(r.step), r.stderr_tail);
	assert_string_equal(r.first_line, line);
}

static void test_every_capability_set_is_empty_and_no_new_privs_is_set(void **state)
{
	(void)state;
	expect_line("grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status"
		    " | tr -s '\\t\\n' '  '",
		    "CapInh: 0000000000000000 CapPrm: 0000000000000000 CapEff: 0000000000000000 "
		    "CapBnd: 0000000000000000 CapAmb: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 ");
}

static void on_signal(int sig) { (void)sig; }

static void test_signal_dispositions_and_mask_are_default_whatever_the_parent_set(void **state)
{
	(void)state;
	/* Ignored and caught signals of every kind the parent may have: a
	 * classic one, SIGPIPE (which a flood must still die of), a
	 * real-time one; blocked ones too. */
	const int ignored[] = { SIGHUP, SIGPIPE, SIGUSR2, SIGRTMIN + 5 }, caught[] = { SIGUSR1, SIGTERM,
										SIGRTMAX };
	struct sigaction ign = { .sa_handler = SIG_IGN }, cgt = { .sa_handler = on_signal }, dfl = {
		.sa_handler = SIG_DFL };
	sigset_t blocked, before;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGRTMIN + 7);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &ign, NULL);
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaction(caught[i], &cgt, NULL);
	sigprocmask(SIG_BLOCK, &blocked, &before);
	/* And the two that glibc keeps for itself (32, 33), ignored as a
	 * parent that is not glibc may leave them: only the kernel's own
	 * call sets them. */
	struct {
		uintptr_t handler;
		unsigned long flags;
		uintptr_t restorer;
		uint64_t mask;
	} raw_ign = { .handler = (uintptr_t)SIG_IGN }, raw_dfl = { .handler = (uintptr_t)SIG_DFL };
	for (int sig = 32; sig <= 33; sig++)
		assert_int_equal(syscall(SYS_rt_sigaction, sig, &raw_ign, NULL, sizeof(raw_ign.mask)), 0);
	struct sandbox_result r = run_sh("cat /proc/self/status | grep -E '^Sig(Blk|Ign|Cgt):' | tr -s '\\t\\n' '  '",
					 5000);
	sigprocmask(SIG_SETMASK, &before, NULL);
	for (int sig = 32; sig <= 33; sig++)
		syscall(SYS_rt_sigaction, sig, &raw_dfl, NULL, sizeof(raw_dfl.mask));
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &dfl, NULL);
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaction(caught[i], &dfl, NULL);
	if (r.outcome != SANDBOX_EXITED || r.exit_code != 0)
		fail_msg("outcome %d exit %d: %s", r.outcome, r.exit_code, r.stderr_tail);
	assert_string_equal(r.first_line,
			    "SigBlk: 0000000000000000 SigIgn: 0000000000000000 SigCgt: 0000000000000000 ");
}

static void test_environment_is_only_path_and_lc_all(void **state)
{
	(void)state;
	setenv("BANGER_TEST_SECRET", "hunter2", 1);
	/* sh adds PWD, SHLVL and _ of its own: list the variables it was given. */
	expect_line("tr '\\0' ' ' < /proc/self/environ", "PATH=/usr/bin:/bin LC_ALL=C ");
	unsetenv("BANGER_TEST_SECRET");
}

static void test_only_stdio_is_open(void **state)
{
	(void)state;
	int leak = open("/dev/null", O_RDONLY);	/* not CLOEXEC: must not reach the child */
	/* test(1) is a builtin: stat() in the shell itself, no descriptor of
	 * its own, no child process. */
	expect_line("n=0; open=; while [ $n -lt 64 ]; do [ -e /proc/self/fd/$n ] && open=\"$open $n\";"
		    " n=$((n + 1)); done; echo \"open:$open\"", "open: 0 1 2");
	close(leak);
}

static void test_umask_cwd_session_and_limits(void **state)
{
	(void)state;
	expect_line("echo $(umask) $(pwd) $(ulimit -f) $(ulimit -c) $(ulimit -n)", "0077 / 0 0 32");
	/* setsid(): the child leads its own session (field 6 of stat is the sid). */
	expect_line("read -r pid rest < /proc/self/stat; set -- $(cat /proc/$$/stat);"
		    " [ \"$6\" = \"$$\" ] && echo leader", "leader");
	/* stdin is /dev/null */
	expect_line("readlink /proc/self/fd/0", "/dev/null");
}

static void test_landlock_refuses_reading_outside_the_given_trees(void **state)
{
	(void)state;
	char *dir = tmpdir_make();
	char script[4096];
	FILE *f = fopen(path_in(dir, "secret"), "w");
	fputs("secret\n", f);
	fclose(f);
	snprintf(script, sizeof(script), "cat %s/secret 2>/dev/null || echo refused", dir);
	expect_line(script, "refused");
	tmpdir_remove(dir);
}

static void test_landlock_refuses_a_directory_as_an_execute_path(void **state)
{
	(void)state;
	/* A rule on "/" would grant read and execute on every file. */
	const char *const exec_paths[] = { "/lib64/ld-linux-x86-64.so.2", "/", NULL };
	struct banger_error err = { 0 };
	struct sandbox_result r;
	int rc = try_sh("cat /etc/shadow", 5000, exec_paths, &r, &err);
	if (rc == 0 && r.landlock_abi == 0)
		skip();	/* no Landlock in this kernel: there is no rule to refuse */
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(err.msg, "regular file only"));
}

static void test_timeout_kills_the_child(void **state)
{
	(void)state;
	struct sandbox_result r = run_sh("sleep 30", 300);
	assert_int_equal(r.outcome, SANDBOX_TIMED_OUT);
	assert_true(r.pid > 0);
	assert_int_equal(kill(r.pid, 0), -1);
}

static void test_a_flood_is_cut_off_and_counted_not_kept(void **state)
{
	(void)state;
	struct sandbox_result r = run_sh("exec yes compatible", 5000);
	assert_int_equal(r.outcome, SANDBOX_SIGNALED);	/* SIGPIPE once we stop reading */
	assert_int_equal(r.signal, SIGPIPE);
	assert_string_equal(r.first_line, "compatible");
	assert_true(r.stdout_bytes >= 64 * 1024 && r.stdout_bytes < 128 * 1024);
}

static void test_control_bytes_are_removed(void **state)
{
	(void)state;
	struct sandbox_result r = run_sh("printf '\\033[31mred\\007 \\302\\233x\\n'; printf '\\033]0;t\\007tail' >&2", 5000);
	assert_string_equal(r.first_line, "[31mred x");
	assert_string_equal(r.stderr_tail, "]0;ttail");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_capability_set_is_empty_and_no_new_privs_is_set),
		cmocka_unit_test(test_signal_dispositions_and_mask_are_default_whatever_the_parent_set),
		cmocka_unit_test(test_environment_is_only_path_and_lc_all),
		cmocka_unit_test(test_only_stdio_is_open),
		cmocka_unit_test(test_umask_cwd_session_and_limits),
		cmocka_unit_test(test_landlock_refuses_reading_outside_the_given_trees),
		cmocka_unit_test(test_landlock_refuses_a_directory_as_an_execute_path),
		cmocka_unit_test(test_timeout_kills_the_child),
		cmocka_unit_test(test_a_flood_is_cut_off_and_counted_not_kept),
		cmocka_unit_test(test_control_bytes_are_removed),
	};
	return cmocka_run_group_tests_name("sandbox_run", tests, NULL, NULL);
}
