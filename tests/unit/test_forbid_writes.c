/* sandbox_forbid_writes(): after it, no call that changes a file works,
 * and reading still does. Each attempt runs in a forked child that
 * confines itself; the parent checks the directory is unchanged. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "banger/daemon.h"
#include "banger/sandbox.h"

static const char *victim;	/* an existing file with known bytes */
static const char *dir;

typedef int (*attempt_fn)(void);

static int try_open_rw(void) { return open(victim, O_RDWR); }
static int try_open_wronly(void) { return open(victim, O_WRONLY); }
static int try_open_append(void) { return open(victim, O_RDONLY | O_APPEND); }
static int try_open_trunc(void) { return open(victim, O_RDONLY | O_TRUNC); }
static int try_create(void) { return open(path_in(dir, "new"), O_RDONLY | O_CREAT, 0600); }
static int try_creat(void) { return creat(path_in(dir, "new"), 0600); }
static int try_tmpfile(void) { return open(dir, O_TMPFILE | O_RDWR, 0600); }
static int try_unlink(void) { return unlink(victim); }
static int try_rename(void) { return rename(victim, path_in(dir, "moved")); }
static int try_link(void) { return link(victim, path_in(dir, "hard")); }
static int try_symlink(void) { return symlink(victim, path_in(dir, "soft")); }
static int try_mkdir(void) { return mkdir(path_in(dir, "d"), 0700); }
static int try_mkfifo(void) { return mkfifo(path_in(dir, "fifo"), 0600); }
static int try_truncate(void) { return truncate(victim, 0); }
static int try_chmod(void) { return chmod(victim, 0777); }
static int try_chown(void) { return chown(victim, 1, 1); }
static int try_utimes(void) { return utimensat(AT_FDCWD, victim, NULL, 0); }
static int try_setxattr(void) { return setxattr(victim, "user.x", "1", 1, 0); }

static const struct {
	const char *name;
	attempt_fn fn;
	int expect;
} attempts[] = {
	{ "open O_RDWR", try_open_rw, EACCES },
	{ "open O_WRONLY", try_open_wronly, EACCES },
	{ "open O_APPEND", try_open_append, EACCES },
	{ "open O_TRUNC", try_open_trunc, EACCES },
	{ "open O_CREAT", try_create, EACCES },
	{ "creat", try_creat, EACCES },
	{ "open O_TMPFILE", try_tmpfile, EACCES },
	{ "unlink", try_unlink, EPERM },
	{ "rename", try_rename, EPERM },
	{ "link", try_link, EPERM },
	{ "symlink", try_symlink, EPERM },
	{ "mkdir", try_mkdir, EPERM },
	{ "mkfifo", try_mkfifo, EPERM },
	{ "truncate", try_truncate, EPERM },
	{ "chmod", try_chmod, EPERM },
	{ "chown", try_chown, EPERM },
	{ "utimensat", try_utimes, EPERM },
	{ "setxattr", try_setxattr, EPERM },
};

static void test_every_file_change_is_refused_and_reading_works(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	dir = d;
	victim = strdup(path_in(d, "victim"));
	FILE *fp = fopen(victim, "w");
	fputs("precious bytes\n", fp);
	fclose(fp);
	struct snapshot *before = snapshot_take(d);
	for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct banger_error err = { 0 };
			if (sandbox_forbid_writes(&err) != 0)
				_exit(100);
			errno = 0;
			int rc = attempts[i].fn();
			if (rc >= 0)
				_exit(101);	/* it worked: the attack succeeded */
			if (errno != attempts[i].expect)
				_exit(102);
			char buf[64];
			int fd = open(victim, O_RDONLY);
			_exit(fd >= 0 && read(fd, buf, sizeof(buf)) == 15 ? 0 : 103);
		}
		int status;
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("%s: child status %d", attempts[i].name, status);
		snapshot_assert_same(before, d);
	}
	snapshot_free(before);
	free((char *)victim);
	tmpdir_remove(d);
}

/* A filter of a "parent" that answers seccomp(SET_MODE_FILTER) with EDOM,
 * as banger's check sandbox does; with writes, it also refuses write opens
 * with EACCES, and with openat2 openat2 with ENOSYS, as the sandbox does. */
static void impose_parent_filter(int writes, int openat2)
{
	static const unsigned long flags[] = { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, 0x400000 };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = ctx ? 0 : -ENOMEM;
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(SANDBOX_SECCOMP_REFUSED_ERRNO), SCMP_SYS(seccomp),
				      1, SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER));
	for (size_t i = 0; writes && rc == 0 && i < sizeof(flags) / sizeof(flags[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, flags[i], flags[i]));
	if (openat2 && rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		_exit(110);
}

/* In a child under impose_parent_filter(writes, openat2): what
 * sandbox_forbid_writes() returns, and whether a read-write open of the
 * victim then works. */
static void expect_under_parent_filter(int writes, int openat2, int want_rc_zero, int want_open_refused)
{
	char *d = tmpdir_make();
	victim = strdup(path_in(d, "victim"));
	FILE *fp = fopen(victim, "w");
	fputs("precious bytes\n", fp);
	fclose(fp);
	pid_t pid = fork();
	if (pid == 0) {
		struct banger_error err = { 0 };
		impose_parent_filter(writes, openat2);
		int rc = sandbox_forbid_writes(&err);
		if ((rc == 0) != want_rc_zero)
			_exit(101);
		if (rc != 0 && strstr(err.msg, "not under a filter that forbids writes") == NULL)
			_exit(102);
		int fd = open(victim, O_RDWR);
		_exit((fd < 0 && errno == EACCES) == want_open_refused ? 0 : 103);
	}
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("writes %d openat2 %d: child status %d", writes, openat2, status);
	free((char *)victim);
	tmpdir_remove(d);
}

/* The sandbox's refusal is accepted only where write opens are refused
 * already: here they are, as in banger's check sandbox. */
static void test_a_refused_load_under_a_filter_that_forbids_writes_is_accepted(void **state)
{
	(void)state;
	expect_under_parent_filter(1, 1, 1, 1);
}

/* bangerd run directly as root under a filter that only says EDOM (an odd
 * environment, or someone imitating the sandbox): nothing forbids writes,
 * so it must fail closed. */
static void test_a_refused_load_without_a_write_filter_fails_closed(void **state)
{
	(void)state;
	expect_under_parent_filter(0, 0, 0, 0);
	expect_under_parent_filter(1, 0, 0, 1);	/* openat2 would still open for writing */
}

/* The same through bangerd --check-migrations: exit 3, and it says why. */
static void test_check_migrations_fails_closed_under_an_edom_only_filter(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	char *db = strdup(path_in(d, "banger.db"));
	db_migrate_to(db, 3);
	struct snapshot *before = snapshot_take(d);
	pid_t pid = fork();
	if (pid == 0) {
		impose_parent_filter(0, 0);
		FILE *out = fopen("/dev/null", "w"), *errout = tmpfile();
		int code = daemon_check_migrations(db, false, out, errout);
		char msg[512] = "";
		rewind(errout);
		(void)!fread(msg, 1, sizeof(msg) - 1, errout);
		_exit(code == 3 && strstr(msg, "not under a filter that forbids writes") ? 0 : 104);
	}
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child status %d", status);
	snapshot_assert_same(before, d);
	snapshot_free(before);
	free(db);
	tmpdir_remove(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_file_change_is_refused_and_reading_works),
		cmocka_unit_test(test_a_refused_load_under_a_filter_that_forbids_writes_is_accepted),
		cmocka_unit_test(test_a_refused_load_without_a_write_filter_fails_closed),
		cmocka_unit_test(test_check_migrations_fails_closed_under_an_edom_only_filter),
	};
	return cmocka_run_group_tests_name("forbid_writes", tests, NULL, NULL);
}
