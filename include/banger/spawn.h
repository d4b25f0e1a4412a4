/* spawn.h - the one way banger runs a helper program (systemctl, the
 * operator's --restart-cmd): an argument vector, never a shell of our
 * making, so that no byte of a path or a unit name is ever parsed as
 * shell syntax.
 *
 * What the helper gets:
 *   program  argv[0] when it holds a '/', else the first executable
 *            argv[0] in SPAWN_PATH (looked up here, not by the helper's
 *            environment);
 *   environ  exactly SPAWN_PATH's PATH=, LC_ALL=C and the caller's env_add
 *            entries (systemctl --user adds XDG_RUNTIME_DIR, where it
 *            finds the user's manager); nothing of ours leaks in
 *            (LD_PRELOAD, SYSTEMD_*, a caller's PATH). Only env_inherit
 *            (the operator's own --restart-cmd) passes our environment on;
 *   stdin    /dev/null;
 *   stdout and stderr  one pipe, of which at most out_size - 1 bytes are
 *            kept (the rest is read and dropped, so a chatty helper never
 *            blocks); or, with out NULL, our own stderr (so that what the
 *            helper starts in the background keeps a live stderr, and our
 *            stdout stays the result's);
 *   descriptors  none other: everything above 2 is closed;
 *   signals  default dispositions, nothing blocked, and SIGKILL when we die
 *            (PR_SET_PDEATHSIG): a killed update leaves no helper running.
 *
 * The helper's exit ends the wait, even when something it started in the
 * background still holds the pipe. At the deadline the helper (its pid,
 * not its descendants) is killed with SIGKILL and reaped. */
#ifndef BANGER_SPAWN_H
#define BANGER_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/wait.h>

/* The PATH of every helper and of the lookup of argv[0]: the system's
 * directories only, root's order. */
#define SPAWN_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

struct spawn_options {
	unsigned timeout_ms;		/* 0: 10 s */
	char *out;			/* stdout+stderr, NUL-terminated; or NULL */
	size_t out_size;
	const char *const *env_add;	/* "NAME=value" entries, NULL-terminated, or NULL */
	bool env_inherit;		/* our whole environment instead (the operator's command) */
};

struct spawn_result {
	int status;		/* the wait status (WIFEXITED...), when it ran */
	size_t out_len;		/* bytes kept in out */
	bool truncated;		/* it wrote more than out could keep */
	bool timed_out;		/* killed at the deadline */
};

/* Run argv as above and wait for it. 0 when it ran to its end (r->status
 * says how), -ETIMEDOUT when it was killed at the deadline, -ENOENT when
 * argv[0] is not found, or another negative errno when it could not be
 * started (r->status is then 127 << 8, as a shell would say). */
int spawn_run(char *const argv[], const struct spawn_options *opts, struct spawn_result *r);

/* True when status is a normal exit with code 0. */
static inline bool spawn_succeeded(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#endif
