/* spawn_run(): see include/banger/spawn.h for what a helper gets.
 *
 * Everything that allocates or can fail in a way worth a message happens
 * before fork(); the child only makes async-signal-safe calls, so that a
 * caller with threads (none today) stays correct. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/clock.h"
#include "banger/spawn.h"

extern char **environ;

#define ENV_ADD_MAX 8
/* After SIGKILL, how long we wait for the helper to leave the kernel. One
 * in an uninterruptible sleep (a stalled FUSE or NFS request) may never:
 * we return without reaping it rather than wait without a bound. */
#define KILL_GRACE_MS 2000

/* argv0 itself when it holds a '/'; else the first regular executable
 * file of that name in SPAWN_PATH. */
static int resolve_program(const char *argv0, char *path, size_t size)
{
	if (strchr(argv0, '/'))
		return snprintf(path, size, "%s", argv0) < (int)size ? 0 : -ENAMETOOLONG;
	if (argv0[0] == '\0')
		return -ENOENT;
	const char *dir = SPAWN_PATH;
	while (*dir) {
		size_t len = strcspn(dir, ":");
		struct stat st;
		if (snprintf(path, size, "%.*s/%s", (int)len, dir, argv0) < (int)size &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
			return 0;
		dir += len + (dir[len] == ':');
	}
	return -ENOENT;
}

struct child_plan {
	const char *path;
	char *const *argv;
	char *const *envp;
	int devnull, out_w;	/* out_w < 0: the child's output goes to our stderr */
	pid_t parent;
};

static __attribute__((noreturn)) void child_exec(const struct child_plan *p)
{
	/* Dies with us: a killed update must not leave its helper running
	 * (what the helper starts in the background is not affected). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != p->parent)
		_exit(127);
	/* Ignored signals stay ignored across exec, and the mask is kept:
	 * the helper starts with neither. */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);	/* EINVAL for SIGKILL, SIGSTOP, 32, 33 */
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		_exit(127);
	int out = p->out_w >= 0 ? p->out_w : 2;
	if (dup2(p->devnull, 0) < 0 || dup2(out, 1) < 0 || (out != 2 && dup2(out, 2) < 0))
		_exit(127);
	/* No descriptor of ours reaches the helper: the update's lock among
	 * them, which a daemon started by a restart command would otherwise
	 * hold for ever. */
	if (close_range(3, ~0U, 0) != 0)
		_exit(127);
	execve(p->path, p->argv, p->envp);
	_exit(127);
}

/* Keep what fits in out (NUL-terminated), drop the rest. 1 at EOF. */
static int take_output(int fd, const struct spawn_options *o, struct spawn_result *r)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : 1;
		size_t room = o->out_size - 1 - r->out_len;
		size_t take = (size_t)n < room ? (size_t)n : room;
		memcpy(o->out + r->out_len, buf, take);
		r->out_len += take;
		o->out[r->out_len] = '\0';
		if (take < (size_t)n)
			r->truncated = true;
	}
}

/* Until the helper exits (then what it left in the pipe) or the deadline.
 * 1 when it exited, 0 at the deadline. */
static int watch(int pidfd, int out_r, int64_t deadline, const struct spawn_options *o,
		 struct spawn_result *r)
{
	for (;;) {
		int64_t left = deadline - banger_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd fds[2] = { { pidfd, POLLIN, 0 }, { out_r, POLLIN, 0 } };
		int n = poll(fds, out_r >= 0 ? 2 : 1, (int)(left < 60000 ? left : 60000));
		if (n < 0 && errno != EINTR)
			return 0;
		if (n > 0 && out_r >= 0 && fds[1].revents && take_output(out_r, o, r))
			out_r = -1;	/* EOF: only the exit is left to wait for */
		if (n > 0 && fds[0].revents) {
			/* Exited: what it wrote is in the pipe now; what it
			 * started in the background may keep the pipe open,
			 * and is not waited for. */
			if (out_r >= 0)
				(void)take_output(out_r, o, r);
			return 1;
		}
	}
}

static int build_env(const struct spawn_options *o, char **envp)
{
	size_t n = 0;
	envp[n++] = (char *)"PATH=" SPAWN_PATH;
	envp[n++] = (char *)"LC_ALL=C";	/* untranslated messages, the C collation */
	for (const char *const *e = o->env_add; e && *e; e++) {
		if (n == ENV_ADD_MAX + 2 || !strchr(*e, '=') || **e == '=')
			return -EINVAL;
		envp[n++] = (char *)*e;
	}
	envp[n] = NULL;
	return 0;
}

static int start(char *const argv[], const struct spawn_options *o, int out_w, pid_t *pid)
{
	char path[4096];
	char *envp[ENV_ADD_MAX + 3];
	int rc = resolve_program(argv[0], path, sizeof(path));
	if (rc == 0 && !o->env_inherit)
		rc = build_env(o, envp);
	if (rc != 0)
		return rc;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	struct child_plan plan = { path, argv, o->env_inherit ? environ : envp, devnull, out_w,
				   getpid() };
	*pid = fork();
	if (*pid == 0)
		child_exec(&plan);
	rc = *pid < 0 ? -errno : 0;
	close(devnull);
	return rc;
}

int spawn_run(char *const argv[], const struct spawn_options *o, struct spawn_result *r)
{
	int pipefd[2] = { -1, -1 }, pidfd = -1, rc;
	pid_t pid = -1;
	memset(r, 0, sizeof(*r));
	r->status = 127 << 8;
	if (o->out && o->out_size == 0)
		return -EINVAL;
	if (o->out)
		o->out[0] = '\0';
	if (o->out && pipe2(pipefd, O_CLOEXEC) != 0)
		return -errno;
	rc = start(argv, o, pipefd[1], &pid);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (rc != 0)
		goto out;
	if ((pidfd = pidfd_open(pid, 0)) < 0) {
		rc = -errno;	/* no way to wait with a deadline: do not run it */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	if (pipefd[0] >= 0)
		fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	int64_t deadline = banger_now_ms() + (o->timeout_ms ? o->timeout_ms : 10000);
	if (!watch(pidfd, pipefd[0], deadline, o, r)) {
		pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
		r->timed_out = true;
		rc = -ETIMEDOUT;
		struct pollfd p = { pidfd, POLLIN, 0 };
		if (poll(&p, 1, KILL_GRACE_MS) <= 0)
			goto out;	/* still in the kernel: init reaps it after us */
	}
	waitpid(pid, &r->status, 0);
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}
