/* banger update, the state machine:
 *
 *   lock -> recover -> target -> check (stage, verify, sandboxed run)
 *        -> backup (migrations needed) -> swap -> restart -> health -> done
 *                                            \-> failure: update_rollback()
 *
 * Each step is a function in the table below that returns what happens
 * next; one short loop walks the table (and holds the tests' pauses). The
 * journal (in root's update directory) is written before each step that
 * changes anything, so that an update killed at any point is undone by
 * --recover or by the next update: before the swap, undoing means
 * forgetting; after it, update_rollback(). At every instant TARGET is a
 * complete executable: the new one arrives by rename(2) over it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/clock.h"
#include "banger/control.h"
#include "internal.h"

struct run {
	const struct update_options *o;
	FILE *out;
	struct update_report rep;
	int dir_fd;		/* root's update directory, locked; -1 until then */
	char dir[PATH_MAX];
	struct journal j;
	struct check_run check;
	struct rehearsal_verdict rehearsal;
	long old_pid;
	int code;		/* with STEP_STOP */
	char why[600];		/* with STEP_ROLL_BACK */
};

enum step_outcome {
	STEP_NEXT,		/* on to the next step */
	STEP_STOP,		/* done with r->code: refused, or nothing to do */
	STEP_ROLL_BACK,		/* after the swap: roll back, r->why says why */
};

struct step {
	const char *name;	/* also BANGER_TEST_PAUSE_AT's */
	enum step_outcome (*run)(struct run *r);
};

/* The one refusal: a line on stderr and the exit code. */
static enum step_outcome refuse(struct run *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum step_outcome refuse(struct run *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("banger: ", r->rep.errout);
	vfprintf(r->rep.errout, fmt, ap);
	fputc('\n', r->rep.errout);
	va_end(ap);
	r->code = code;
	return STEP_STOP;
}

static enum step_outcome roll_back(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static enum step_outcome roll_back(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return STEP_ROLL_BACK;
}

static enum step_outcome step_lock(struct run *r)
{
	struct banger_error err = { 0 };
	int rc = update_lock(false, &r->dir_fd, r->dir, sizeof(r->dir), &err);
	if (rc == 0)
		return STEP_NEXT;
	return refuse(r, rc == -EWOULDBLOCK ? UPDATE_EXIT_LOCKED : UPDATE_EXIT_CHECK_FAILED, "%s",
		      err.msg);
}

static enum step_outcome step_recover(struct run *r)
{
	/* Under the exclusive lock no rehearsal runs: a scratch left in our
	 * directory is a killed one's (a non-root updater's). */
	update_rehearsal_clean(r->dir_fd);
	r->code = update_recover_journal(&r->rep, r->dir_fd, r->dir, r->o->timeout_s);
	return r->code == 0 ? STEP_NEXT : STEP_STOP;
}

/* The target: an existing regular file, named by its real directory, that
 * no package owns. */
static enum step_outcome step_target(struct run *r)
{
	char dir[PATH_MAX], base[NAME_MAX + 1], pkg[128];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s", r->o->target);
	snprintf(base, sizeof(base), "%s", basename(dir));
	snprintf(dir, sizeof(dir), "%s", r->o->target);
	if (realpath(dirname(dir), r->check.target_dir) == NULL ||
	    snprintf(r->j.target, sizeof(r->j.target), "%s/%s", r->check.target_dir, base) >=
		    (int)sizeof(r->j.target) ||
	    lstat(r->j.target, &st) != 0 || !S_ISREG(st.st_mode))
		return refuse(r, UPDATE_EXIT_USAGE, "update: the target %s is not an existing regular "
			      "file: pass --target with the bangerd to replace", r->o->target);
	/* dpkg owns the target: the package manager replaces it, not us. */
	struct banger_error err = { 0 };
	if (update_package_owner(r->j.target, pkg, sizeof(pkg), &err) != 0)
		return refuse(r, UPDATE_EXIT_VERIFY_FAILED, "update refused: cannot tell whether a Debian "
			      "package owns %s: %s", r->j.target, err.msg);
	if (pkg[0])
		return refuse(r, UPDATE_EXIT_VERIFY_FAILED, "%s belongs to the Debian package %s: update "
			      "it with apt, not banger (its preinst runs the same migration guard)",
			      r->j.target, pkg);
	return STEP_NEXT;
}

/* What the journal needs besides the check: the running daemon's version
 * and pid, the restart, the backup's name. */
static enum step_outcome plan(struct run *r)
{
	struct control_status old;
	struct banger_error err = { 0 };
	snprintf(r->j.db, sizeof(r->j.db), "%s", r->check.db);
	snprintf(r->j.socket, sizeof(r->j.socket), "%s", r->o->socket);
	snprintf(r->j.new_version, sizeof(r->j.new_version), "%s", r->check.v.version);
	r->j.timeout_s = r->o->timeout_s;
	r->old_pid = -1;
	/* Not running, or not answering: nothing to compare with later. */
	if (update_status(r->j.socket, 1000, &old, &err) == 0) {
		snprintf(r->j.old_version, sizeof(r->j.old_version), "%s", old.version);
		r->old_pid = old.pid;
	}
	update_restart_choose(r->o, r->j.restart, sizeof(r->j.restart));
	if (r->check.v.code == UPDATE_EXIT_MIGRATIONS_NEEDED &&
	    snprintf(r->j.backup, sizeof(r->j.backup), "%s.pre-update", r->j.db) >= (int)sizeof(r->j.backup))
		return refuse(r, UPDATE_EXIT_CHECK_FAILED, "%s: path too long", r->j.db);
	return STEP_NEXT;
}

static void say_verified(const struct check_run *c, void *ctx)
{
	const struct run *r = ctx;
	update_progress(&r->rep, "verify: the staged copy is an executable for this machine%s%s",
			c->o->sha256 ? ", with the expected SHA-256" : "",
			c->o->minisig ? ", signed by the key" : "");
}

static enum step_outcome step_check(struct run *r)
{
	struct banger_error err = { 0 };
	update_progress(&r->rep, "stage: %s into %s", r->o->from, r->check.target_dir);
	r->check.verified = say_verified;
	r->check.ctx = r;
	int code = update_check_pipeline(&r->check);
	if (code == UPDATE_EXIT_INCOMPATIBLE)
		return refuse(r, code, "update refused: %s", r->check.v.line);
	if (code >= UPDATE_EXIT_CHECK_FAILED)
		return refuse(r, code, "update refused: %s", r->check.v.reason);
	update_progress(&r->rep, "check (sandboxed): %s", r->check.v.line);
	if (plan(r) != STEP_NEXT)
		return STEP_STOP;
	r->j.step = JOURNAL_CHECKED;
	if (journal_write(r->dir_fd, r->dir, &r->j, &err) != 0)
		return refuse(r, UPDATE_EXIT_CHECK_FAILED, "update refused: %s", err.msg);
	return STEP_NEXT;
}

/* REHEARSE (migrations needed): the pending migrations on a copy, before
 * anything is backed up or swapped. */
static enum step_outcome step_rehearse(struct run *r)
{
	if (r->check.v.code != UPDATE_EXIT_MIGRATIONS_NEEDED)
		return STEP_NEXT;
	if (!update_rehearse_skipped(&r->check, &r->rehearsal))
		update_progress(&r->rep, "rehearse: the migrations on a copy of %s, in the sandbox",
				r->j.db);
	update_ticker_start(&r->rep, "rehearse");
	int code = update_rehearse(&r->check, &r->rehearsal);
	update_ticker_stop();
	if (code != 0) {
		(void)journal_remove(r->dir_fd);	/* checked: nothing to undo */
		return refuse(r, code, "update refused: %s%s", code == UPDATE_EXIT_REHEARSAL_FAILED
			      ? "the new release's migrations fail on a copy of the live database: " : "",
			      r->rehearsal.reason);
	}
	update_progress(&r->rep, "rehearse: %s", r->rehearsal.line);
	return STEP_NEXT;
}

static enum step_outcome step_backup(struct run *r)
{
	struct banger_error err = { 0 };
	if (r->j.backup[0] == '\0')
		return STEP_NEXT;
	update_progress(&r->rep, "backup: copying %s", r->j.db);
	update_ticker_start(&r->rep, "backup");
	int rc = update_as_owner(r->j.db, OWNED_BACKUP, r->j.db, r->j.backup, &err);
	update_ticker_stop();
	if (rc != 0) {
		struct banger_error ignored = { 0 };
		/* A child killed in the middle leaves its .tmp (a failing one
		 * removes its own); a journal left says checked, only forgotten. */
		(void)update_as_owner(r->j.db, OWNED_ABANDON, r->j.backup, NULL, &ignored);
		(void)journal_remove(r->dir_fd);
		return refuse(r, UPDATE_EXIT_CHECK_FAILED, "update refused: the backup failed: %s",
			      err.msg);
	}
	update_progress(&r->rep, "backup: %s", r->j.backup);
	r->j.step = JOURNAL_BACKED_UP;
	/* Not needed to undo (checked says as much), only to say how far. */
	(void)journal_write(r->dir_fd, r->dir, &r->j, &err);
	return STEP_NEXT;
}

static enum step_outcome step_swap(struct run *r)
{
	struct banger_error err = { 0 };
	r->j.step = JOURNAL_SWAPPING;
	if (journal_write(r->dir_fd, r->dir, &r->j, &err) != 0) {
		(void)journal_remove(r->dir_fd);	/* the old one says backed-up at most */
		return refuse(r, UPDATE_EXIT_CHECK_FAILED, "update refused: %s", err.msg);
	}
	int rc = update_swap(&r->check.staged, r->j.target);
	if (rc != 0)
		return roll_back(r, "the swap failed: %s", strerror(-rc));
	update_progress(&r->rep, "swap: %s is now %s; the old one is %s.prev", r->j.target,
			r->j.new_version, r->j.target);
	return STEP_NEXT;
}

static enum step_outcome step_restart(struct run *r)
{
	char why[512];
	if (r->j.restart[0] == '\0') {
		update_progress(&r->rep, "restart: none (%s)", r->o->no_restart ? "--no-restart"
				: "no --restart-cmd, and no systemd unit bangerd.service");
		return STEP_NEXT;
	}
	update_progress(&r->rep, "restart: %s", r->j.restart);
	update_ticker_start(&r->rep, "restart");
	int rc = update_restart(r->j.restart, r->o->timeout_s, false, why, sizeof(why));
	update_ticker_stop();
	if (rc != 0)
		return roll_back(r, "the restart failed: %.500s", why);
	return STEP_NEXT;
}

static enum step_outcome step_health(struct run *r)
{
	char why[512];
	if (r->j.restart[0] == '\0')
		return STEP_NEXT;
	update_progress(&r->rep, "health: waiting up to %us for bangerd %s to answer",
			r->o->timeout_s, r->j.new_version);
	update_ticker_start(&r->rep, "health");
	int rc = update_healthy(r->j.restart, r->j.socket, r->j.new_version, r->old_pid,
				r->o->timeout_s, why, sizeof(why));
	update_ticker_stop();
	if (rc != 0)
		return roll_back(r, "the new bangerd %s is not healthy: %.400s", r->j.new_version, why);
	update_progress(&r->rep, "health: bangerd %s answers with a compatible schema",
			r->j.new_version);
	return STEP_NEXT;
}

static enum step_outcome step_done(struct run *r)
{
	struct banger_error err = { 0 };
	char stale[PATH_MAX + 16];
	if (journal_remove(r->dir_fd) != 0)
		update_progress(&r->rep, "the journal in %s stays; the next update removes it", r->dir);
	/* A backup is kept until the next successful update. */
	snprintf(stale, sizeof(stale), "%s.pre-update", r->j.db);
	if (r->j.backup[0] == '\0' && update_as_owner(r->j.db, OWNED_UNLINK, stale, NULL, &err) != 0)
		update_progress(&r->rep, "%s", err.msg);
	update_progress(&r->rep, "done: updated to %s", r->j.new_version);
	if (!r->o->json)
		fprintf(r->out, "updated: %s -> %s\n",
			r->j.old_version[0] ? r->j.old_version : "(not running)", r->j.new_version);
	return STEP_NEXT;
}

static const struct step update_steps[] = {
	{ "lock", step_lock }, { "recover", step_recover }, { "target", step_target },
	{ "check", step_check }, { "rehearse", step_rehearse }, { "backup", step_backup },
	{ "swap", step_swap },
	{ "restart", step_restart }, { "health", step_health }, { "done", step_done },
};

static const struct step recover_steps[] = {
	{ "lock", step_lock }, { "recover", step_recover },
};

#ifdef BANGER_TEST_HOOKS
/* Tests only: stop before a step so that a test can kill -9 us there. */
static void test_pause(struct run *r, const char *step)
{
	const char *at = getenv("BANGER_TEST_PAUSE_AT");
	if (at && strcmp(at, step) == 0) {
		update_progress(&r->rep, "paused before %s (test hook)", step);
		fflush(r->rep.errout);
		for (;;)
			pause();
	}
}
#else
#define test_pause(r, step) ((void)0)
#endif

/* Walk the table: the exit code. */
static int walk(struct run *r, const struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		test_pause(r, steps[i].name);
		switch (steps[i].run(r)) {
		case STEP_NEXT:
			continue;
		case STEP_STOP:
			return r->code;
		case STEP_ROLL_BACK:
			return update_rollback(&r->rep, r->dir_fd, &r->j, r->o->timeout_s, r->why);
		}
	}
	return UPDATE_EXIT_OK;
}

static void run_init(struct run *r, const struct update_options *o, FILE *out, FILE *errout)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->out = out;
	r->rep = (struct update_report){ errout, banger_now_ms() };
	r->dir_fd = -1;
	r->check = (struct check_run){ .o = o, .durable = true, .json = true,
				       .staged = { .exec_fd = -1 } };
}

int update_run(const struct update_options *o, FILE *out, FILE *errout)
{
	struct run r;
	char what[200];
	run_init(&r, o, out, errout);
	int code = walk(&r, update_steps, sizeof(update_steps) / sizeof(update_steps[0]));
	if (o->json)
		update_report_json(out, code, &r.j, o->target, &r.rehearsal);
	update_staged_close(&r.check.staged);
	if (r.dir_fd >= 0)
		close(r.dir_fd);
	snprintf(what, sizeof(what), "of %s to %s", o->target,
		 r.j.new_version[0] ? r.j.new_version : "?");
	update_report_syslog(what, code);
	return code;
}

int update_recover(const struct update_options *o, FILE *out, FILE *errout)
{
	struct run r;
	run_init(&r, o, out, errout);
	int code = walk(&r, recover_steps, sizeof(recover_steps) / sizeof(recover_steps[0]));
	if (code == 0)
		fprintf(out, "recovered: the install is consistent\n");
	if (r.dir_fd >= 0)
		close(r.dir_fd);
	update_report_syslog("recovery", code);
	return code;
}
