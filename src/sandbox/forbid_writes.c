/* sandbox_forbid_writes(): a deny-list seccomp filter on the caller itself.
 *
 * Unlike the staged child's allow-list policy (policy/), this filter guards
 * a process we trust to be banger's own: it does not try to contain hostile
 * code, only to make sure that nothing in it - SQLite included - can change
 * a file, in any state of the database. Denials return an errno, never kill,
 * so that SQLite sees an ordinary refusal and takes its read-only path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>

#include "banger/sandbox.h"

/* Open flags that ask for more than reading. O_TMPFILE carries O_DIRECTORY
 * plus a bit of its own, and needs O_WRONLY or O_RDWR anyway. */
static const unsigned long write_open_flags[] = { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND };

/* Syscalls that change the file system by name or by descriptor. */
static const char *const denied[] = {
	"truncate", "ftruncate", "fallocate",
	"unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2",
	"link", "linkat", "symlink", "symlinkat", "mkdir", "mkdirat", "mknod", "mknodat",
	"chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat",
	"utime", "utimes", "utimensat", "futimesat",
	"setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
	"name_to_handle_at", "open_by_handle_at",
};

static int deny_write_opens(scmp_filter_ctx ctx, const char *name, unsigned flags_arg)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not on this architecture */
	for (size_t i = 0; i < sizeof(write_open_flags) / sizeof(write_open_flags[0]); i++) {
		unsigned long f = write_open_flags[i];
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 1,
					  SCMP_CMP(flags_arg, SCMP_CMP_MASKED_EQ, f, f));
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sandbox_forbid_writes(struct banger_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return banger_error_set(err, -ENOMEM, "cannot create a seccomp filter");
	int rc = deny_write_opens(ctx, "open", 1);
	if (rc == 0)
		rc = deny_write_opens(ctx, "openat", 2);
	/* openat2's flags sit behind a pointer, out of the filter's reach. ENOSYS
	 * makes glibc and SQLite use openat, which we can inspect. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
	/* creat() is open(O_CREAT|O_WRONLY|O_TRUNC): refused like one. */
	if (rc == 0 && seccomp_syscall_resolve_name("creat") != __NR_SCMP_ERROR)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(creat), 0);
	for (size_t i = 0; rc == 0 && i < sizeof(denied) / sizeof(denied[0]); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return banger_error_set(err, rc, "cannot load the seccomp filter: %s", strerror(-rc));
	return 0;
}
