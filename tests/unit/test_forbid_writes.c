/* sandbox_forbid_writes(): after it, no call that changes a file works,
 * and reading still does. Each attempt runs in a forked child that
 * confines itself; the parent checks the directory is unchanged. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_file_change_is_refused_and_reading_works),
	};
	return cmocka_run_group_tests_name("forbid_writes", tests, NULL, NULL);
}
