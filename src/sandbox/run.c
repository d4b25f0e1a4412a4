/* sandbox_run(): fork, confine, exec, watch.
 *
 * The child's steps, in this order, each failing closed (the parent is
 * told which step failed and the child exits; nothing runs half-confined):
 *
 *  1 SESSION       default signal dispositions and an empty mask (nothing
 *                  inherited can keep a signal from killing it); setsid(), so
 *                  it has no controlling terminal and TIOCSTI has no target;
 *                  PR_SET_PDEATHSIG(SIGKILL), so it cannot outlive us.
 *  2 DESCRIPTORS   stdin /dev/null, stdout and stderr our pipes, the staged
 *                  binary at fd 3, everything else closed (close_range):
 *                  no inherited descriptor can be written or read.
 *  3 MOUNT NS      when asked and where we hold CAP_SYS_ADMIN (mount_ns.c):
 *                  a new mount namespace whose root holds only what the
 *                  child may read, bound read-only at the same absolute
 *                  paths (the state dir, the loader and the libraries it
 *                  maps, ld.so.cache, /dev/null), so that containment does
 *                  not rest on Landlock alone: with Landlock missing, a
 *                  root-only file, the operator's terminal or another
 *                  program is simply not there, and stat/access/O_PATH,
 *                  which Landlock does not cover, find nothing either. It
 *                  comes after the descriptors (the staged binary is kept
 *                  as fd 3: it needs no path in the new root) and before
 *                  the identity and capability steps, because it needs
 *                  CAP_SYS_ADMIN and a uid that may read every source.
 *                  Where it cannot be had (no CAP_SYS_ADMIN) the result
 *                  says so, as it says which Landlock ABI was applied.
 *  4 ENVIRONMENT   umask 077, cwd / (after the pivot: the new root); the
 *                  environment is built for exec (PATH and LC_ALL only): no
 *                  secret of ours is inherited.
 *  5 RLIMITS       CPU seconds, address space, no file growth, few fds,
 *                  no core dump (a core would be a file, and leak memory).
 *  6 IDENTITY      when asked (the updater asks for the database's owner):
 *                  setgroups(0), setresgid, setresuid, with
 *                  SECBIT_NO_SETUID_FIXUP set first (caps.c says why). The
 *                  child reads as the store's owner does, never as root
 *                  with a capability; an owner that is root stays uid 0,
 *                  with no capability after step 7. It comes before the
 *                  capability drop because it needs CAP_SETUID and
 *                  CAP_SETGID.
 *  7 CAPABILITIES  caps.c: securebits locked and the bounding set emptied
 *                  while CAP_SETPCAP is still held, then every set cleared
 *                  and read back empty, whatever the uid.
 *  8 NO_NEW_PRIVS  needed by Landlock and by an unprivileged seccomp load,
 *                  and it stops setuid binaries from giving anything back.
 *  9 LANDLOCK      the ruleset built by the parent: read the given trees,
 *                  execute the staged binary and its interpreter; the
 *                  second layer under the mount namespace.
 * 10 SECCOMP       the compiled policy, last, because it cuts off the
 *                  syscalls the steps above need (prctl, landlock, ...).
 * 11 EXEC          execveat(3, "", argv, envp, AT_EMPTY_PATH): the verified
 *                  descriptor, never a path that could be swapped.
 *
 * Steps 1-9 report a failure on a close-on-exec pipe. After step 10 the
 * policy allows write() only to fds 1 and 2, so a failed execveat can only
 * exit 127; an exec that succeeded closes the pipe with nothing written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "banger/clock.h"
#include "internal.h"

#define CHILD_EXEC_FD 3
#define CHILD_REPORT_FD 4
#define CHILD_RULESET_FD 5
#define STREAM_LIMIT (64 * 1024)	/* read at most this much of each stream */

const char *sandbox_step_name(enum sandbox_step step)
{
	static const char *const names[] = {
		[SANDBOX_STEP_NONE] = "none",
		[SANDBOX_STEP_SESSION] = "session and signals",
		[SANDBOX_STEP_DESCRIPTORS] = "descriptors",
		[SANDBOX_STEP_MOUNT_NAMESPACE] = "mount namespace",
		[SANDBOX_STEP_ENVIRONMENT] = "environment",
		[SANDBOX_STEP_RLIMITS] = "resource limits",
		[SANDBOX_STEP_IDENTITY] = "identity",
		[SANDBOX_STEP_CAPABILITIES] = "capabilities",
		[SANDBOX_STEP_NO_NEW_PRIVS] = "no_new_privs",
		[SANDBOX_STEP_LANDLOCK] = "landlock",
		[SANDBOX_STEP_SECCOMP] = "seccomp",
		[SANDBOX_STEP_EXEC] = "exec",
	};
	return (unsigned)step < sizeof(names) / sizeof(names[0]) ? names[step] : "unknown";
}

struct report {
	int step;
	int err;
};

static __attribute__((noreturn)) void child_fail(enum sandbox_step step, int err)
{
	struct report r = { step, err };
	(void)!write(CHILD_REPORT_FD, &r, sizeof(r));
	_exit(127);
}

struct child_plan {
	const struct sandbox_spec *spec;
	pid_t parent;
	int devnull, out_w, err_w, report_w, ruleset_fd;
	int landlock_abi;
	struct sock_fprog prog;
	const struct mount_plan *mounts;	/* NULL: no mount namespace */
};

/* The kernel's struct sigaction, whose handler comes first on every
 * architecture: with SIG_DFL and no flags, nothing else is read but the
 * mask, left empty. */
struct kernel_sigaction {
	uintptr_t handler;
	unsigned long flags;
	uintptr_t restorer;
	uint64_t mask;
};

static int step_session(pid_t parent)
{
	sigset_t all;
	/* Every signal to its default, asked of the kernel directly: glibc
	 * refuses the two real-time signals it keeps for itself (32 and 33)
	 * with EINVAL, but a parent that is not glibc may have left them
	 * ignored, and an ignored signal survives exec. This process is
	 * single-threaded and about to exec, so glibc never needs them here.
	 * 62 system calls cost less than reading which ones differ from
	 * /proc/self/status (measured here: about 20 against 35 us), and need
	 * no /proc. SIGKILL and SIGSTOP cannot be changed and never differ. */
	for (int sig = 1; sig < NSIG && sig <= 64; sig++) {
		struct kernel_sigaction dfl = { .handler = (uintptr_t)SIG_DFL };
		if (sig != SIGKILL && sig != SIGSTOP &&
		    syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask)) != 0)
			return -errno;
	}
	sigemptyset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) != 0 || setsid() < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		return -errno;
	/* The parent may have died before PDEATHSIG was armed. */
	return getppid() == parent ? 0 : -ESRCH;
}

static int step_descriptors(const struct child_plan *p)
{
	/* Lift every descriptor we keep above the target numbers first, so
	 * that no dup2() below overwrites one we still need. */
	int keep[] = { p->devnull, p->out_w, p->err_w, p->spec->exec_fd, p->report_w, p->ruleset_fd };
	int high[6];
	for (int i = 0; i < 6; i++) {
		high[i] = keep[i] < 0 ? -1 : fcntl(keep[i], F_DUPFD_CLOEXEC, 64);
		if (keep[i] >= 0 && high[i] < 0)
			return -errno;
	}
	for (int i = 0; i < 6; i++) {
		if (high[i] < 0)
			continue;
		/* 0-2 survive exec; 3 (exec fd), 4 (report), 5 (ruleset) do not. */
		if (i < 3 ? dup2(high[i], i) < 0 : dup3(high[i], i, O_CLOEXEC) < 0)
			return -errno;
	}
	if (close_range(p->ruleset_fd >= 0 ? 6 : 5, ~0U, 0) != 0)
		return -errno;
	return 0;
}

static int step_rlimits(const struct sandbox_spec *spec)
{
	struct {
		int resource;
		rlim_t value;
	} limits[] = {
		{ RLIMIT_CPU, spec->cpu_seconds ? spec->cpu_seconds : 10 },
		{ RLIMIT_AS, spec->memory_bytes ? spec->memory_bytes : (rlim_t)256 << 20 },
		/* No file may grow, but the scratch's, within its size. */
		{ RLIMIT_FSIZE, spec->scratch_bytes },
		{ RLIMIT_NOFILE, 32 },
		{ RLIMIT_CORE, 0 },
		{ RLIMIT_MEMLOCK, 0 },
		{ RLIMIT_MSGQUEUE, 0 },
	};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit rl = { limits[i].value, limits[i].value };
		if (setrlimit(limits[i].resource, &rl) != 0)
			return -errno;
	}
	return 0;
}

static __attribute__((noreturn)) void child_main(const struct child_plan *p)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };
	int rc;
	/* The report fd is not in place before step 2: until then, report
	 * through the original descriptor. */
	if ((rc = step_session(p->parent)) != 0) {
		struct report r = { SANDBOX_STEP_SESSION, -rc };
		(void)!write(p->report_w, &r, sizeof(r));
		_exit(127);
	}
	if ((rc = step_descriptors(p)) != 0) {
		struct report r = { SANDBOX_STEP_DESCRIPTORS, -rc };
		(void)!write(p->report_w, &r, sizeof(r));
		_exit(127);
	}
	if (p->mounts && (rc = mount_plan_enter(p->mounts)) != 0)
		child_fail(SANDBOX_STEP_MOUNT_NAMESPACE, -rc);
	umask(077);
	if (chdir("/") != 0)
		child_fail(SANDBOX_STEP_ENVIRONMENT, errno);
	if ((rc = step_rlimits(p->spec)) != 0)
		child_fail(SANDBOX_STEP_RLIMITS, -rc);
	if (p->spec->set_identity && (rc = caps_become(p->spec->uid, p->spec->gid)) != 0)
		child_fail(SANDBOX_STEP_IDENTITY, -rc);
	if ((rc = caps_drop_all()) != 0)
		child_fail(SANDBOX_STEP_CAPABILITIES, -rc);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_fail(SANDBOX_STEP_NO_NEW_PRIVS, errno);
	if (p->ruleset_fd >= 0) {
		/* The scratch's rule is the child's to add: in a mount namespace
		 * its tmpfs exists only here, and a rule names an inode. */
		if (p->spec->scratch_bytes &&
		    (rc = landlock_allow_scratch(CHILD_RULESET_FD, p->spec->scratch_path, p->landlock_abi)) != 0)
			child_fail(SANDBOX_STEP_LANDLOCK, -rc);
		if ((rc = landlock_enforce(CHILD_RULESET_FD)) != 0)
			child_fail(SANDBOX_STEP_LANDLOCK, -rc);
		close(CHILD_RULESET_FD);
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p->prog) != 0)
		child_fail(SANDBOX_STEP_SECCOMP, errno);
	syscall(SYS_execveat, CHILD_EXEC_FD, "", p->spec->argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

/* Keep only printable ASCII: no terminal escape (ESC, CSI 0x9b, other C0
 * and C1 controls, bytes of a UTF-8 sequence) reaches the operator. Counts
 * in *dropped (when given) the printable bytes that found no room. */
static size_t append_printable(char *dst, size_t len, size_t cap, const char *src, size_t n,
			       size_t *dropped)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)src[i] < 0x20 || (unsigned char)src[i] >= 0x7f)
			continue;
		if (len + 1 < cap)
			dst[len++] = src[i];
		else if (dropped)
			(*dropped)++;
	}
	dst[len] = '\0';
	return len;
}

struct stream {
	int fd;
	size_t total;
	int line_done;		/* stdout: the first newline was seen */
	size_t len;
	char raw_tail[SANDBOX_TAIL_MAX];	/* stderr: the last bytes, raw */
	size_t tail_len;
};

static void stream_close(struct stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Read what is there; at STREAM_LIMIT stop reading and close our end, so
 * that a child which floods gets EPIPE/SIGPIPE instead of our memory. */
static void stream_read(struct stream *s, int is_stdout, struct sandbox_result *r)
{
	char buf[4096];
	ssize_t n = read(s->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		stream_close(s);
		return;
	}
	s->total += (size_t)n;
	if (is_stdout) {
		r->stdout_bytes = s->total;
		if (!s->line_done) {
			/* A line is judged whole or not at all: any printable byte
			 * of it that finds no room - in this read or a later one,
			 * before its newline - makes it untrusted, because what was
			 * cut off could change its meaning. A line of exactly the
			 * room whose newline comes later is whole. */
			char *nl = memchr(buf, '\n', (size_t)n);
			size_t take = nl ? (size_t)(nl - buf) : (size_t)n;
			size_t dropped = 0;
			s->len = append_printable(r->first_line, s->len, sizeof(r->first_line), buf, take,
						  &dropped);
			if (dropped)
				r->line_truncated = true;
			if (nl || r->line_truncated)
				s->line_done = 1;
		}
	} else {
		for (ssize_t i = 0; i < n; i++) {
			if (s->tail_len == sizeof(s->raw_tail)) {
				memmove(s->raw_tail, s->raw_tail + 1, sizeof(s->raw_tail) - 1);
				s->tail_len--;
			}
			s->raw_tail[s->tail_len++] = buf[i];
		}
	}
	if (s->total >= STREAM_LIMIT)
		stream_close(s);
}

/* A seccomp kill is logged by the kernel (audit type=1326, to the kernel
 * log when no audit daemon takes it) with the pid and the syscall number.
 * Reading /dev/kmsg needs root or CAP_SYSLOG: best effort, -1 otherwise. */
static long find_violation(pid_t pid, unsigned long *arch)
{
	char needle[32], rec[2048];
	long found = -1;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(needle, sizeof(needle), " pid=%ld ", (long)pid);
	for (int records = 0; records < 100000; records++) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten while we read: skip it */
		if (n <= 0)
			break;
		rec[n] = '\0';
		const char *sc, *ar;
		if (strstr(rec, "type=1326") && strstr(rec, needle) && (sc = strstr(rec, " syscall=")) &&
		    (ar = strstr(rec, " arch="))) {
			found = strtol(sc + 9, NULL, 10);
			*arch = strtoul(ar + 6, NULL, 16);
		}
	}
	close(fd);
	return found;
}

/* The wait after SIGKILL is bounded too. A child in an uninterruptible
 * sleep (the audit backlog, a stalled FUSE or NFS request) dies only when
 * it leaves the kernel, which may take a minute or never happen: we report
 * it and return instead of waiting with it. What it leaves is harmless to
 * the next run: its descriptors were closed at step 2 (the update's lock
 * among them), its staged copy has no name, and when we exit, init reaps
 * it. */
#define KILL_GRACE_MS 2000

static void watch(pid_t pid, int pidfd, int report_r, struct stream *out, struct stream *errs,
		  const struct sandbox_spec *spec, struct sandbox_result *r)
{
	int64_t deadline = banger_now_ms() + (spec->timeout_ms ? spec->timeout_ms : 10000);
	struct report rep = { 0, 0 };
	size_t rep_len = 0;
	int exited = 0, killed = 0;
	while (!exited || out->fd >= 0 || errs->fd >= 0 || report_r >= 0) {
		struct pollfd fds[4] = {
			{ pidfd, exited ? 0 : POLLIN, 0 },
			{ out->fd, POLLIN, 0 },
			{ errs->fd, POLLIN, 0 },
			{ report_r, POLLIN, 0 },
		};
		if (exited) {
			fds[0].fd = -1;
		}
		int64_t left = deadline - banger_now_ms();
		if (left <= 0 && !killed) {
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
			killed = 1;
			r->outcome = SANDBOX_TIMED_OUT;
		}
		if (exited && left <= -1000)
			break;	/* the pipes are held by nothing we know of */
		if (!exited && killed && left <= -KILL_GRACE_MS) {
			r->survived_kill = true;
			break;
		}
		int n = poll(fds, 4, left > 0 ? (int)left : 100);
		if (n < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			exited = 1;
		if (fds[1].revents)
			stream_read(out, 1, r);
		if (fds[2].revents)
			stream_read(errs, 0, r);
		if (fds[3].revents) {
			ssize_t k = read(report_r, (char *)&rep + rep_len, sizeof(rep) - rep_len);
			if (k > 0)
				rep_len += (size_t)k;
			if (k <= 0 || rep_len == sizeof(rep)) {
				close(report_r);
				report_r = -1;
			}
		}
	}
	if (report_r >= 0)
		close(report_r);
	stream_close(out);
	stream_close(errs);
	siginfo_t info = { 0 };
	if (r->survived_kill)
		return;	/* still in the kernel: no wait without a bound */
	waitid(P_PID, (id_t)pid, &info, WEXITED);
	if (r->outcome == SANDBOX_TIMED_OUT)
		return;
	if (rep_len == sizeof(rep) && rep.step > SANDBOX_STEP_NONE && rep.step <= SANDBOX_STEP_EXEC) {
		r->outcome = SANDBOX_SETUP_FAILED;
		r->step = (enum sandbox_step)rep.step;
		r->setup_errno = rep.err;
	} else if (info.si_code == CLD_EXITED) {
		r->outcome = SANDBOX_EXITED;
		r->exit_code = info.si_status;
	} else {
		r->outcome = SANDBOX_SIGNALED;
		r->signal = info.si_status;
		unsigned long arch = 0;
		if (r->signal == SIGSYS && (r->violation = find_violation(pid, &arch)) >= 0 &&
		    arch == seccomp_arch_native()) {
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)r->violation);
			snprintf(r->violation_name, sizeof(r->violation_name), "%s", name ? name : "");
			free(name);
		}
	}
}

bool sandbox_mount_namespace_possible(void)
{
	return mount_ns_possible();
}

int sandbox_run(const struct sandbox_spec *spec, struct sandbox_result *r,
		struct banger_error *err)
{
	int out[2] = { -1, -1 }, errs[2] = { -1, -1 }, report[2] = { -1, -1 };
	int devnull = -1, ruleset = -1, pidfd = -1, rc;
	struct mount_plan mounts = { 0 };
	memset(r, 0, sizeof(*r));
	r->violation = -1;
	const void *filter;
	size_t len = policy_bpf(spec->policy, &filter);
	struct child_plan plan = {
		.spec = spec,
		.parent = getpid(),
		.prog = { .len = (unsigned short)len, .filter = (struct sock_filter *)filter },
	};
	if (len == 0 || len > BPF_MAXINSNS) {
		rc = banger_error_set(err, -EINVAL, "the policy compiled to %zu instructions", len);
		goto out;
	}
	if (pipe2(out, O_CLOEXEC) || pipe2(errs, O_CLOEXEC) || pipe2(report, O_CLOEXEC) ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = banger_error_set(err, -errno, "sandbox: cannot make pipes: %s", strerror(errno));
		goto out;
	}
	rc = landlock_prepare(spec->read_paths, spec->exec_paths, spec->exec_fd, &ruleset,
			      &r->landlock_abi, err);
	if (rc != 0)
		goto out;
	if (spec->mount_namespace && mount_ns_possible()) {
		rc = mount_plan_build(spec->ns_data_paths, spec->ns_code_paths, &mounts, err);
		if (rc == 0 && spec->scratch_bytes)
			rc = mount_plan_add_scratch(&mounts, spec->scratch_path, spec->scratch_bytes,
						    spec->set_identity ? spec->uid : geteuid(),
						    spec->set_identity ? spec->gid : getegid(), err);
		if (rc != 0)
			goto out;
		plan.mounts = &mounts;
		r->mount_namespace = true;
	}
	if (spec->scratch_bytes && !r->mount_namespace && ruleset < 0) {
		/* A scratch on the machine's own tree with nothing but
		 * unprivileged file modes around it: never run unconfined. */
		rc = banger_error_set(err, -EPERM, "sandbox: a writable scratch without a mount "
				      "namespace needs Landlock, which this kernel does not have");
		goto out;
	}
	plan.landlock_abi = r->landlock_abi;
	plan.devnull = devnull;
	plan.out_w = out[1];
	plan.err_w = errs[1];
	plan.report_w = report[1];
	plan.ruleset_fd = ruleset;

	pid_t pid = fork();
	if (pid < 0) {
		rc = banger_error_set(err, -errno, "sandbox: cannot fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_main(&plan);
	r->pid = pid;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		/* Without a pidfd we cannot wait with a timeout safely: kill. */
		rc = banger_error_set(err, -errno, "sandbox: pidfd_open: %s", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	close(out[1]);
	close(errs[1]);
	close(report[1]);
	out[1] = errs[1] = report[1] = -1;
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errs[0], F_SETFL, O_NONBLOCK);
	struct stream so = { .fd = out[0] }, se = { .fd = errs[0] };
	out[0] = errs[0] = -1;
	int report_r = report[0];
	report[0] = -1;
	watch(pid, pidfd, report_r, &so, &se, spec, r);
	append_printable(r->stderr_tail, 0, sizeof(r->stderr_tail), se.raw_tail, se.tail_len, NULL);
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0) close(out[i]);
		if (errs[i] >= 0) close(errs[i]);
		if (report[i] >= 0) close(report[i]);
	}
	if (devnull >= 0) close(devnull);
	if (ruleset >= 0) close(ruleset);
	if (pidfd >= 0) close(pidfd);
	mount_plan_free(&mounts);
	return rc;
}
