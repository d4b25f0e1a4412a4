/* sandbox.h - confining processes. Knows nothing about SQLite or banger:
 * it runs "this executable with these arguments under this policy and
 * these read-only paths" and says what happened.
 */
#ifndef BANGER_SANDBOX_H
#define BANGER_SANDBOX_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "banger/error.h"

/* ---- self-confinement --------------------------------------------------- */

/* Confine the calling process, for the rest of its life, so that it cannot
 * change any file: opens for writing, creating or truncating fail with
 * EACCES (so a library such as SQLite falls back to reading); unlink,
 * rename, link, mkdir, mknod, truncate, chmod, chown, utimes, xattr writes
 * and fallocate fail with EPERM. Everything else stays allowed: this is the
 * guard `bangerd --check-migrations` puts around its own read, whether or
 * not a parent sandbox already runs it. Sets no_new_privs. Inside banger's
 * check sandbox, whose policy refuses every new filter with
 * SANDBOX_SECCOMP_REFUSED_ERRNO, it returns 0 without loading one once it
 * has seen that filter refuse write opens (forbid_writes.c says why that
 * is proof enough). Returns 0 or a negative errno with err set. */
int sandbox_forbid_writes(struct banger_error *err);

/* The errno with which policy/check-migrations.policy answers
 * seccomp(SECCOMP_SET_MODE_FILTER): one the kernel never gives for it. */
#define SANDBOX_SECCOMP_REFUSED_ERRNO EDOM

/* ---- policies (policy.c; the language is documented there) --------------- */

struct sandbox_policy;

/* Parse and compile a policy. name is used in messages only. On a parse
 * error returns -EINVAL with err->msg "NAME:LINE: reason"; the compiled
 * filter kills the process for every syscall of another ABI (i386 and x32
 * on x86_64). */
int policy_parse(const char *name, const char *text, size_t len, struct sandbox_policy **out,
		 struct banger_error *err);
/* Read the file at path (at most 1 MiB) and policy_parse() it. */
int policy_load(const char *path, struct sandbox_policy **out, struct banger_error *err);
/* A policy from a BPF program compiled earlier (by the build, from a policy
 * file): no parsing and no libseccomp at run time. bytes must be whole
 * struct sock_filter instructions, at most BPF_MAXINSNS. Such a policy has
 * no PFC to export. */
int policy_from_bpf(const void *bpf, size_t bytes, struct sandbox_policy **out,
		    struct banger_error *err);
/* libseccomp's pseudo-filter-code text of the compiled filter, to fd. */
int policy_export_pfc(const struct sandbox_policy *policy, int fd, struct banger_error *err);
/* The compiled BPF program: instruction count and a pointer to the
 * struct sock_filter array, owned by policy. Ready for
 * seccomp(SECCOMP_SET_MODE_FILTER) without any allocation, which is why
 * the runner takes it in the parent and installs it after fork. */
size_t policy_bpf(const struct sandbox_policy *policy, const void **filter);
void policy_free(struct sandbox_policy *policy);

/* ---- the runner (run.c) -------------------------------------------------- */

/* The steps of the child, in order; a failure names one. */
enum sandbox_step {
	SANDBOX_STEP_NONE = 0,
	SANDBOX_STEP_SESSION,		/* signals, setsid, parent-death signal */
	SANDBOX_STEP_DESCRIPTORS,	/* stdin /dev/null, pipes, close_range */
	SANDBOX_STEP_MOUNT_NAMESPACE,	/* a root that holds only what it may read */
	SANDBOX_STEP_ENVIRONMENT,	/* umask, chdir */
	SANDBOX_STEP_RLIMITS,
	SANDBOX_STEP_IDENTITY,		/* setgroups, setresgid, setresuid */
	SANDBOX_STEP_CAPABILITIES,
	SANDBOX_STEP_NO_NEW_PRIVS,
	SANDBOX_STEP_LANDLOCK,
	SANDBOX_STEP_SECCOMP,
	SANDBOX_STEP_EXEC,
};
const char *sandbox_step_name(enum sandbox_step step);

struct sandbox_spec {
	int exec_fd;			/* opened by the caller, verified, O_RDONLY */
	char *const *argv;		/* argv[0] is what the child sees as its name */
	const struct sandbox_policy *policy;
	const char *const *read_paths;	/* Landlock: read-only trees, NULL-terminated */
	const char *const *exec_paths;	/* Landlock: regular files to execute (the ELF
					 * interpreter); a directory is refused */
	unsigned timeout_ms;		/* the child is killed after this */
	unsigned cpu_seconds;		/* RLIMIT_CPU */
	size_t memory_bytes;		/* RLIMIT_AS */
	/* Identity: when set_identity, the child becomes uid and gid with no
	 * supplementary group before its capabilities are dropped (which
	 * needs a parent that holds CAP_SETUID, CAP_SETGID and CAP_SETPCAP);
	 * otherwise it keeps the parent's. uid 0 stays uid 0, without any
	 * capability. */
	bool set_identity;
	uid_t uid;
	gid_t gid;
	/* Mount namespace: when asked, and where the parent holds
	 * CAP_SYS_ADMIN (else result.mount_namespace says it was not had),
	 * the child's root holds only /dev/null, ns_data_paths (read-only,
	 * noexec) and ns_code_paths (read-only; the loader maps them
	 * executable: the ELF interpreter, the libraries), each at its own
	 * absolute path, with the directories and symlinks that lead there.
	 * A first layer under Landlock's read_paths, which should name the
	 * same trees or wider ones. */
	bool mount_namespace;
	const char *const *ns_data_paths;	/* NULL-terminated */
	const char *const *ns_code_paths;	/* NULL-terminated */
	/* A writable scratch (the rehearsal's), when scratch_bytes > 0, at
	 * scratch_path (absolute). In a mount namespace a tmpfs of
	 * scratch_bytes (mode 0700, owned by the child's identity, noexec) is
	 * mounted there, in the new root only (the path need not exist on the
	 * machine): the only writable mount, gone with the child. Without a
	 * namespace it must be an existing empty directory, private to the
	 * caller. Landlock grants
	 * beneath it, and nowhere else, the rights to read, create, write,
	 * truncate and remove regular files; RLIMIT_FSIZE is scratch_bytes
	 * instead of 0. Without a mount namespace the directory itself is
	 * written, and Landlock is then the only fence: sandbox_run refuses
	 * such a scratch on a kernel without Landlock (-EPERM). */
	const char *scratch_path;
	size_t scratch_bytes;
};

enum sandbox_outcome {
	SANDBOX_EXITED,		/* exit_code is valid */
	SANDBOX_SIGNALED,	/* signal is valid; SIGSYS means a policy violation */
	SANDBOX_TIMED_OUT,	/* killed after timeout_ms */
	SANDBOX_SETUP_FAILED,	/* step and setup_errno say where and why */
};

#define SANDBOX_LINE_MAX 1024
#define SANDBOX_TAIL_MAX 1024

struct sandbox_result {
	enum sandbox_outcome outcome;
	int exit_code;
	int signal;
	enum sandbox_step step;
	int setup_errno;
	int landlock_abi;		/* 0: Landlock not applied (kernel without it) */
	bool mount_namespace;		/* the child had a mount namespace of its own */
	pid_t pid;			/* the child's pid, reaped by the time we return
					 * unless survived_kill */
	bool survived_kill;		/* SANDBOX_TIMED_OUT, and SIGKILL had not ended it
					 * 2 s later (asleep in the kernel): left unreaped */
	long violation;			/* SIGSYS: the refused syscall's number from the
					 * kernel's audit record, or -1 when unknown */
	char violation_name[32];	/* its name on this architecture, or "" */
	char first_line[SANDBOX_LINE_MAX];	/* stdout's first line, control bytes removed */
	bool line_truncated;		/* a printable byte of that line found no room */
	size_t stdout_bytes;		/* everything the child wrote, counted, not kept */
	char stderr_tail[SANDBOX_TAIL_MAX];	/* the last bytes of stderr, control bytes removed */
};

/* Whether sandbox_run() can give a child a mount namespace of its own
 * (this process holds CAP_SYS_ADMIN). */
bool sandbox_mount_namespace_possible(void);

/* Fork, confine the child in DESIGN.md's order, execveat(exec_fd) it, and
 * wait for it through a pidfd. Returns 0 with result filled in whatever the
 * child did, or a negative errno (with err) when the parent itself could
 * not run it (no fork, no pipe). */
int sandbox_run(const struct sandbox_spec *spec, struct sandbox_result *result,
		struct banger_error *err);

#endif
