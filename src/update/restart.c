/* RESTART and HEALTH: how the update starts bangerd again, and how it
 * knows that the one which answers is the one it wanted.
 *
 * The way is chosen once and written into the journal, so that a
 * recovery restarts the same way:
 *   "cmd:CMD"            --restart-cmd, run by /bin/sh -c
 *   "systemd:UNIT"       --system, under the system's systemd
 *   "systemd-user:UNIT"  user mode, under the user's own systemd
 *   ""                   nothing (--no-restart, or no manager runs the unit)
 *
 * Under systemd, systemctl's own lines ("Job for ... failed ... See
 * journalctl -xeu ...") are captured, not shown: the operator reads what
 * systemd said in banger's own line, with the unit's Result. The health
 * check watches the unit too, so that a release that keeps dying (the
 * unit has Restart=on-failure) is recognised at its first death, not when
 * --timeout runs out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "banger/clock.h"
#include "banger/control.h"
#include "banger/owner.h"
#include "banger/spawn.h"
#include "internal.h"

#define UNIT "bangerd.service"

/* Run argv through spawn_run() (spawn.h: an argument vector, the fixed
 * environment plus env_add, or ours with inherit) within timeout_s. With
 * out, its stdout and stderr are captured there (what fits,
 * NUL-terminated); without, they go to our stderr. 0 when it exited 0, 1
 * when it exited otherwise, -ETIMEDOUT (killed at the deadline), or < 0
 * when it could not run. */
static int run_argv(char *const argv[], const char *const *env_add, bool inherit,
		    unsigned timeout_s, char *out, size_t out_size)
{
	struct spawn_options o = {
		.timeout_ms = timeout_s * 1000,
		.out = out,
		.out_size = out_size,
		.env_add = env_add,
		.env_inherit = inherit,
	};
	struct spawn_result r;
	int rc = spawn_run(argv, &o, &r);
	if (rc < 0)
		return rc;
	return spawn_succeeded(r.status) ? 0 : 1;
}

static int is_user(const char *how)
{
	return strncmp(how, "systemd-user:", 13) == 0;
}

/* A unit name as systemd spells one (unit-name.c's character set), of a
 * service: never an option (it cannot start with '-'), never a path. */
static bool valid_unit(const char *unit)
{
	size_t len = strlen(unit);
	if (len < 9 || len > 255 || unit[0] == '-' || unit[0] == '.' ||
	    strcmp(unit + len - 8, ".service") != 0)
		return false;
	return strspn(unit, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:-_.\\@") == len;
}

/* The unit of a "systemd:" or "systemd-user:" restart, or NULL (not one,
 * or a name that is not a valid service's: the journal is never passed to
 * systemctl unchecked). */
static const char *unit_of(const char *how)
{
	const char *unit = is_user(how) ? how + 13 : strncmp(how, "systemd:", 8) == 0 ? how + 8 : NULL;
	return unit && valid_unit(unit) ? unit : NULL;
}

/* systemctl [--user] [OPTION...] -- VERB [ARG...] UNIT, its output captured
 * in out. verb's words that start with '-' are our own options and go
 * before "--"; after it nothing is an option, whatever the journal said.
 * The user's manager is found through XDG_RUNTIME_DIR (its private socket,
 * which update_restart_choose() saw): the one variable added to the
 * fixed environment, and only for --user. */
static int systemctl(const char *how, char *const verb[], unsigned timeout_s, char *out,
		     size_t size)
{
	char *argv[12], runtime[PATH_MAX + 32];
	const char *env[2] = { NULL, NULL };
	const char *unit = unit_of(how), *dir = getenv("XDG_RUNTIME_DIR");
	int n = 0;
	if (!unit)
		return -EINVAL;
	argv[n++] = "systemctl";
	if (is_user(how)) {
		argv[n++] = "--user";
		if (dir && dir[0] == '/' &&
		    snprintf(runtime, sizeof(runtime), "XDG_RUNTIME_DIR=%s", dir) < (int)sizeof(runtime))
			env[0] = runtime;
	}
	for (char *const *v = verb; *v && n < 6; v++)
		if ((*v)[0] == '-')
			argv[n++] = *v;
	argv[n++] = "--";
	for (char *const *v = verb; *v && n < 10; v++)
		if ((*v)[0] != '-')
			argv[n++] = *v;
	argv[n++] = (char *)unit;
	argv[n] = NULL;
	return run_argv(argv, env, false, timeout_s, out, size);
}

struct unit_state {
	char active[32], sub[32], result[64];
	long restarts;		/* NRestarts, -1 when unknown */
};

static int unit_state(const char *how, struct unit_state *u)
{
	char out[1024];
	memset(u, 0, sizeof(*u));
	u->restarts = -1;
	if (systemctl(how, (char *const[]){ "show", "--property=ActiveState,SubState,Result,NRestarts",
					    NULL }, 10, out, sizeof(out)) != 0)
		return -1;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "ActiveState") == 0)
			snprintf(u->active, sizeof(u->active), "%s", eq);
		else if (strcmp(line, "SubState") == 0)
			snprintf(u->sub, sizeof(u->sub), "%s", eq);
		else if (strcmp(line, "Result") == 0)
			snprintf(u->result, sizeof(u->result), "%s", eq);
		else if (strcmp(line, "NRestarts") == 0)
			u->restarts = strtol(eq, NULL, 10);
	}
	return 0;
}

/* What systemd says of a unit that is not up, in one phrase. */
static void describe(const char *how, const struct unit_state *u, char *why, size_t size)
{
	const char *unit = unit_of(how);
	const char *ctl = is_user(how) ? "systemctl --user" : "systemctl";
	if (strcmp(u->result, "start-limit-hit") == 0)
		snprintf(why, size, "systemd says %s hit its start limit (Result: start-limit-hit)", unit);
	else
		snprintf(why, size, "systemd says %s is %s (%s), Result: %s, restarted %ld times; see "
			 "'%s status %s' and 'journalctl %s-u %s'", unit, u->active, u->sub,
			 u->result[0] ? u->result : "?", u->restarts < 0 ? 0 : u->restarts, ctl, unit,
			 is_user(how) ? "--user " : "", unit);
}

/* A unit name as banger passes one to systemctl: a name of systemd's
 * strict characters, ending in .service, never an option. */
static int unit_valid(const char *u)
{
	size_t len = strlen(u), suffix = strlen(".service");
	return len > suffix && len < 256 && u[0] != '-' && u[0] != '.' &&
	       strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@._-") == len &&
	       strcmp(u + len - suffix, ".service") == 0;
}

int update_restart_valid(const char *how)
{
	if (how[0] == '\0')
		return 1;
	if (strncmp(how, "cmd:", 4) == 0)
		return how[4] != '\0' && strpbrk(how, "\n\r") == NULL;
	return unit_of(how) != NULL && unit_valid(unit_of(how));
}

struct status_ask {
	const char *socket;
	int timeout_ms;
};

static int ask_status(void *ctx, void *out, size_t size, struct banger_error *err)
{
	const struct status_ask *a = ctx;
	(void)size;
	return control_status(a->socket, a->timeout_ms, out, err);
}

int update_status(const char *socket, int timeout_ms, struct control_status *st,
		  struct banger_error *err)
{
	/* A socket in a directory another uid writes is that uid's to point
	 * anywhere: root connects as that uid (owner.h), from inside the
	 * directory, whose path the owner may not walk. Only a socket that
	 * is root's own file (not a symlink: the owner cannot make one) is
	 * connected to as root, through its descriptor. */
	struct banger_owner owner;
	struct stat sb;
	char dir[PATH_MAX], self[64];
	snprintf(dir, sizeof(dir), "%s", socket);
	char *slash = strrchr(dir, '/');
	struct status_ask a = { slash ? socket + (slash - dir) + 1 : socket, timeout_ms };
	memset(st, 0, sizeof(*st));
	if (slash)
		*slash = '\0';
	int rc = banger_owner_of_db(socket, &owner);
	if (rc != 0)
		return banger_error_set(err, rc, "%s: %s", socket, strerror(-rc));
	int fd = open(slash == dir ? "/" : slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return banger_error_set(err, -errno, "%s: %s", socket, strerror(errno));
	int sock = openat(fd, a.socket, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (sock >= 0 && fstat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode) && sb.st_uid == 0) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", sock);
		rc = control_status(self, (unsigned)timeout_ms, st, err);
	} else {
		rc = banger_owner_run(&owner, fd, ask_status, &a, st, sizeof(*st), err);
	}
	if (sock >= 0)
		close(sock);
	close(fd);
	if (rc == 0 && !update_version_valid(st->version))
		return banger_error_set(err, -EPROTO, "the daemon at %s answered a version that is not "
					"one", socket);
	return rc;
}

void update_restart_choose(const struct update_options *o, char *how, size_t size)
{
	char cmd[PATH_MAX + 32], out[256];
	how[0] = '\0';
	if (o->restart_cmd) {
		snprintf(how, size, "cmd:%s", o->restart_cmd);
		return;
	}
	if (o->no_restart)
		return;
	/* The manager that runs the service of this mode: the system's for
	 * --system, the user's own otherwise (never the system's: a user's
	 * daemon is not its unit). */
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	if (o->system && access("/run/systemd/system", F_OK) == 0) {
		snprintf(how, size, "systemd:%s", UNIT);
	} else if (!o->system && runtime && runtime[0] == '/' &&
		   snprintf(cmd, sizeof(cmd), "%s/systemd/private", runtime) < (int)sizeof(cmd) &&
		   access(cmd, F_OK) == 0) {
		snprintf(how, size, "systemd-user:%s", UNIT);
	} else {
		return;
	}
	if (systemctl(how, (char *const[]){ "cat", NULL }, 10, out, sizeof(out)) != 0)
		how[0] = '\0';	/* the manager runs, but has no bangerd unit */
}

int update_restart(const char *how, unsigned timeout_s, bool again, char *why, size_t why_size)
{
	char out[1024];
	why[0] = '\0';
	if (how[0] == '\0')
		return 0;
	if (strncmp(how, "cmd:", 4) == 0) {
		/* The operator's own command, by contract a shell's: it runs
		 * with the operator's environment, and what it prints goes to
		 * our stderr (never to the result on stdout). */
		int rc = run_argv((char *const[]){ "/bin/sh", "-c", (char *)how + 4, NULL }, NULL, true,
				  timeout_s, NULL, 0);
		if (rc == -ETIMEDOUT)
			snprintf(why, why_size, "the restart command did not finish within %us", timeout_s);
		else if (rc != 0)
			snprintf(why, why_size, "the restart command failed");
		return rc == 0 ? 0 : rc < 0 ? rc : -ECHILD;
	}
	if (!unit_of(how)) {
		/* The journal's text, printable bytes only: it reaches a
		 * terminal. */
		char shown[101];
		size_t i = 0;
		for (; i < sizeof(shown) - 1 && how[i]; i++)
			shown[i] = how[i] >= 0x20 && how[i] < 0x7f ? how[i] : '?';
		shown[i] = '\0';
		snprintf(why, why_size, "the journal names an unknown restart '%s'", shown);
		return -EINVAL;
	}
	/* A rollback comes after a release that may have used up the unit's
	 * start limit - and, through the socket's activations while the
	 * database was put back, the socket's: the old binary gets its starts
	 * back, and the socket its listener. */
	if (again)
		(void)systemctl(how, (char *const[]){ "reset-failed", "bangerd.socket", NULL }, 10, out,
			  sizeof(out));
	int rc = systemctl(how, (char *const[]){ "restart", NULL }, timeout_s, out, sizeof(out));
	if (rc == 0)
		return 0;
	struct unit_state u;
	if (rc == -ETIMEDOUT)
		snprintf(why, why_size, "systemctl restart %s did not finish within %us", unit_of(how),
			 timeout_s);
	else if (unit_state(how, &u) == 0)
		describe(how, &u, why, why_size);
	else
		snprintf(why, why_size, "systemctl restart %s failed", unit_of(how));
	return rc < 0 ? rc : -ECHILD;
}

/* Whether a unit that banger has just restarted has died since: failed,
 * waiting to be restarted, or restarted. systemd counts the restarts it
 * made itself (NRestarts) from the last start it did not make, so the
 * `systemctl restart` that precedes this check set the count to 0. */
static bool unit_died(const struct unit_state *now)
{
	return strcmp(now->active, "failed") == 0 || strcmp(now->sub, "auto-restart") == 0 ||
	       now->restarts > 0;
}

int update_healthy(const char *how, const char *socket, const char *version, long old_pid,
		   unsigned timeout_s, char *why, size_t why_size)
{
	struct control_status st;
	struct banger_error err = { 0 };
	struct timespec t = { 0, 100 * 1000 * 1000 };
	struct unit_state now;
	snprintf(why, why_size, "nothing answered");
	int64_t deadline = banger_now_ms() + (int64_t)timeout_s * 1000;
	for (;;) {
		if (update_status(socket, 500, &st, &err) == 0) {
			if (strcmp(st.version, version) == 0 && strcmp(st.schema_state, "compatible") == 0 &&
			    st.pid != old_pid)
				return 0;
			snprintf(why, why_size, "version %s, schema %s, pid %ld", st.version, st.schema_state,
				 st.pid);
		} else {
			snprintf(why, why_size, "%s", err.msg);
		}
		/* A unit that died since it was started will not answer: say
		 * what systemd says now rather than wait out the timeout. Only
		 * asked once the daemon has not answered as it should: a
		 * systemctl process costs more than the status request, and a
		 * healthy daemon answers the first one. */
		if (unit_of(how) && unit_state(how, &now) == 0 && unit_died(&now)) {
			describe(how, &now, why, why_size);
			return -ECHILD;
		}
		if (banger_now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&t, NULL);
	}
}
