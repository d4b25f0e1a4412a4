/* sandbox_forbid_writes(): a deny-list seccomp filter on the caller itself.
 *
 * Unlike the staged child's allow-list policy (policy/), this filter guards
 * a process we trust to be banger's own: it does not try to contain hostile
 * code, only to make sure that nothing in it - SQLite included - can change
 * a file, in any state of the database. Denials return an errno, never kill,
 * so that SQLite sees an ordinary refusal and takes its read-only path.
 *
 * Inside banger's check sandbox this filter cannot be loaded: the sandbox's
 * policy answers every seccomp(SECCOMP_SET_MODE_FILTER) with
 * SANDBOX_SECCOMP_REFUSED_ERRNO (EDOM), because a filter of the child's own
 * could return SECCOMP_RET_LOG and flood the audit log. The refusal is
 * accepted only with proof that a filter which forbids writes already
 * binds us; anything else fails closed, as before. The argument:
 *
 *  - the kernel never answers seccomp() with EDOM (its errors are EINVAL,
 *    EFAULT, EACCES, ENOMEM, ESRCH, EBUSY, E2BIG, EOPNOTSUPP, ENOSYS), nor
 *    do the runtimes that filter seccomp() (systemd, Docker, bubblewrap,
 *    Flatpak answer EPERM or ENOSYS): EDOM comes from a filter written to
 *    say it;
 *  - a filter can bind bangerd only if bangerd's parent (or an ancestor)
 *    installed it, or a tracer injected the call; so can an LD_PRELOAD that
 *    fakes the answer. Each of those already controls what bangerd runs
 *    and could change the files itself: faking the answer gains nothing
 *    (the self-confinement guards against SQLite, not against our parent);
 *  - the claim is still checked, with calls that are harmless whatever
 *    answers them: openat() of a NULL path with each write, create,
 *    truncate, append and tmpfile flag must meet EACCES (the kernel itself
 *    says EFAULT or EINVAL: nothing can be opened), and openat2() ENOSYS
 *    (the kernel: EINVAL). These are the rules the sandbox answers with an
 *    errno; every other change of a file (unlink, rename, chmod, ...) is
 *    outside its allow-list and kills, so it cannot be probed, and needs
 *    no probe: a filter that answers seccomp() with EDOM and write opens
 *    with EACCES is banger's policy, or an impostor from the ancestors
 *    above. An environment that gets either answer wrong fails closed.
 *  - the staged child gains nothing either: the refusal only takes away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* One probe's answer (its result, its errno): 0 when it was refused with
 * want, else -EPERM with err naming the call ("an open with " "O_CREAT"). */
static int probe_refused(long fd, int got, int want, const char *how, const char *name,
			 struct banger_error *err)
{
	if (fd >= 0)
		close((int)fd);
	if (fd < 0 && got == want)
		return 0;
	return banger_error_set(err, -EPERM,
				"seccomp() was refused with %s, yet %s%s was not (%s): "
				"not under a filter that forbids writes",
				strerrorname_np(SANDBOX_SECCOMP_REFUSED_ERRNO), how, name,
				fd >= 0 ? "it opened" : strerrorname_np(got));
}

/* 0 when a filter already refuses, by errno, every write open and openat2
 * (see the argument above); else -EPERM with err naming the first call that
 * got another answer. */
static int writes_already_forbidden(struct banger_error *err)
{
	static const struct {
		const char *name;
		int flags;
	} probes[] = {
		{ "O_WRONLY", O_WRONLY }, { "O_RDWR", O_RDWR }, { "O_CREAT", O_CREAT },
		{ "O_TRUNC", O_TRUNC }, { "O_APPEND", O_APPEND }, { "O_TMPFILE", O_TMPFILE | O_RDWR },
	};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		errno = 0;
		long fd = syscall(SYS_openat, AT_FDCWD, NULL, probes[i].flags, 0);
		int rc = probe_refused(fd, errno, EACCES, "an open with ", probes[i].name, err);
		if (rc)
			return rc;
	}
	errno = 0;
	long fd = syscall(SYS_openat2, AT_FDCWD, NULL, NULL, 0);
	return probe_refused(fd, errno, ENOSYS, "", "openat2", err);
}

int sandbox_forbid_writes(struct banger_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return banger_error_set(err, -ENOMEM, "cannot create a seccomp filter");
	/* The kernel's own errno when the load fails, not libseccomp's
	 * ECANCELED: the sandbox's refusal must be told from any other. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (rc == 0)
		rc = deny_write_opens(ctx, "open", 1);
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
	if (rc == -SANDBOX_SECCOMP_REFUSED_ERRNO)
		return writes_already_forbidden(err);
	if (rc < 0)
		return banger_error_set(err, rc, "cannot load the seccomp filter: %s", strerror(-rc));
	return 0;
}
