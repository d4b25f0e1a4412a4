/* internal.h - what only src/update and its unit tests use.
 *
 * The flow is one way: banger.c -> update_run() (update.c, the state
 * machine: a table of named steps) -> the check pipeline (check.c:
 * stage, verify, run in the sandbox, judge) -> the backup (owned.c, as the
 * database's owner) -> the swap (swap.c) -> the restart and the health
 * check (restart.c); any failure after the swap -> update_rollback()
 * (rollback.c), which --recover and the next update share. The journal
 * (journal.c) and the lock (lock.c) live in root's update directory.
 */
#ifndef BANGER_UPDATE_INTERNAL_H
#define BANGER_UPDATE_INTERNAL_H

#include <stdint.h>

#include "banger/sandbox.h"
#include "banger/update.h"

struct sandbox_result;

struct verdict {
	int code;		/* the exit code for banger update: 0, 1, 2 or 3 */
	int state;		/* with json: the state the object names */
	char line[1100];	/* when code <= 2: the contract's line */
	char version[64];	/* with json: the staged binary's version */
	char reason[512];	/* when code is 3 */
};

/* Trust a check's verdict only when the child exited normally with 0, 1
 * or 2 AND its output parses as that same classification: the contract's
 * line, or with json its --check-migrations --json object, whose version
 * must be made of the version characters (update_version_valid). What the
 * child printed appears in a reason only through update_quote(). */
void update_judge_check(const struct sandbox_result *r, bool json, struct verdict *v);

/* A version as banger accepts one from a binary or a daemon: 1 to 63 of
 * [A-Za-z0-9.+~:_-]. 1 or 0. */
int update_version_valid(const char *v);

/* in, quoted for a one-line message: control bytes dropped, each run of
 * whitespace one space, at most cap bytes (then "..."), between single
 * quotes, into out. */
void update_quote(const char *in, size_t cap, char *out, size_t size);

/* PACKAGE (package.c): the Debian package whose file path is, read from
 * dpkg's own database for that exact path (never a pattern), diversions
 * as dpkg applies them: 0 with pkg its name (no ":arch"), or "" when no
 * package's (or no dpkg database); < 0 with err when it cannot be read. */
int update_package_owner(const char *path, char *pkg, size_t size, struct banger_error *err);

/* Run the staged binary with argv in the sandbox (policy
 * check-migrations.policy, Landlock read access to db_dir and the
 * libraries), as the owner of db (of db_dir while db does not exist) when
 * we are root, in a mount namespace that holds only db_dir, the loader's
 * files and /etc/ld.so.cache where we hold CAP_SYS_ADMIN, and under the
 * check's own deadline (4 s, see check.c), not --timeout. */
int update_run_staged(const struct staged *staged, char *const argv[], const char *db,
		      const char *db_dir, struct sandbox_result *result, struct banger_error *err);

/* A sandboxed job of the staged binary: its compiled policy, its deadline
 * and address-space limit, and (the rehearsal's) a writable scratch of
 * scratch_bytes at scratch (sandbox.h says how it is fenced). */
struct staged_job {
	const void *bpf;
	size_t bpf_bytes;
	unsigned timeout_ms;
	size_t memory_bytes;
	const char *scratch;		/* NULL: none */
	size_t scratch_bytes;
};
/* update_run_staged() with the job's policy, limits and scratch. */
int update_run_job(const struct staged *staged, char *const argv[], const char *db,
		   const char *db_dir, const struct staged_job *job, struct sandbox_result *result,
		   struct banger_error *err);



/* The journal's steps, in order; journal.c names them in the file. */
enum journal_step {
	JOURNAL_CHECKED,	/* checked; nothing changed yet */
	JOURNAL_BACKED_UP,	/* the backup is made; nothing swapped yet */
	JOURNAL_SWAPPING,	/* the swap may have happened: undo it */
};
const char *journal_step_name(enum journal_step step);
/* The step named (old journals' names included): 0, or -EINVAL. */
int journal_step_parse(const char *name, enum journal_step *step);

struct journal {
	enum journal_step step;
	char target[PATH_MAX];
	char db[PATH_MAX];
	char backup[PATH_MAX];	/* "" when no migration was needed */
	char socket[PATH_MAX];
	char restart[1024];	/* as update_restart_valid() accepts */
	char new_version[64];
	char old_version[64];
	unsigned timeout_s;
};

/* Root's update directory (lock.c): $BANGER_UPDATE_DIR, else
 * /var/lib/banger-update for root, else $XDG_STATE_HOME/banger-update or
 * ~/.local/state/banger-update. 0 or < 0. */
int update_dir_path(char *out, size_t size);
/* Open it (made 0700 when missing and create), from / component by
 * component, never following a symlink when root; as root, every
 * component must be root's and not writable by another uid (a sticky one
 * like /tmp aside), the last one not writable by group or other. 0 and
 * *fd, or < 0 with err (-ENOENT: missing). */
int update_dir_open(bool create, int *fd, char *path, size_t size, struct banger_error *err);

/* LOCK: flock on the update directory, exclusive for an update (the
 * directory is made when missing), shared for --check-only (no lock and
 * *fd -1 when the directory does not exist). *fd is the directory's
 * descriptor, and path its name. 0, -EWOULDBLOCK when another update holds
 * it, or < 0; err says which. */
int update_lock(bool shared, int *fd, char *path, size_t size, struct banger_error *err);

/* The journal in the update directory dir_fd (named dir in messages).
 * Read: 1 and the journal when one exists, 0 when none, < 0 when it is
 * not a regular file of this uid's that no one else can write, or does not
 * parse (err says which). */
int journal_read(int dir_fd, const char *dir, struct journal *j, struct banger_error *err);
int journal_write(int dir_fd, const char *dir, const struct journal *j, struct banger_error *err);
/* Remove the journal and what a killed journal_write() left. */
int journal_remove(int dir_fd);
/* Remove only what a killed journal_write() left. */
int journal_clean(int dir_fd);
int update_fsync_dir(const char *dir);

/* SIGTERM every process whose executable was TARGET before TARGET was
 * replaced (the rollback's "stop", see stop.c), wait up to timeout_s for
 * them to exit, then SIGKILL. stopping(ctx, pid) is told of each (the
 * caller says so to the operator). Returns how many were stopped, or < 0
 * (-ETIMEDOUT: some outlived SIGKILL). */
int update_stop_replaced(const char *target, unsigned timeout_s,
			 void (*stopping)(void *ctx, int pid), void *ctx);


/* RESTART (restart.c): how this update restarts bangerd, as the journal
 * keeps it: "cmd:CMD" (--restart-cmd), "systemd:bangerd.service" (--system
 * under the system's systemd), "systemd-user:bangerd.service" (user mode
 * under the user's own systemd), or "" (--no-restart, or no manager runs
 * a bangerd unit). */
void update_restart_choose(const struct update_options *opts, char *how, size_t size);
/* how is one update_restart_choose() can write: "", "cmd:CMD" (one
 * line), or "systemd:UNIT"/"systemd-user:UNIT" with UNIT of
 * [A-Za-z0-9@._-], ending in .service. 1 or 0. */
int update_restart_valid(const char *how);

struct control_status;
/* control_status() of the daemon at socket, asked as the owner of the
 * socket's directory when that is not root (owner.h), and its version
 * refused unless update_version_valid(). 0 or < 0 with err. */
int update_status(const char *socket, int timeout_ms, struct control_status *st,
		  struct banger_error *err);

/* Restart the way how says, within timeout_s; again: a rollback's
 * restart (the unit's start limit is reset first). 0, or a negative errno
 * (-ETIMEDOUT; -ECHILD: the command or systemctl failed) with why saying
 * in one phrase what failed, systemd's Result included. */
int update_restart(const char *how, unsigned timeout_s, bool again, char *why, size_t why_size);
/* The daemon at socket answers with version and a compatible schema, from
 * another pid than old_pid, within timeout_s. Under systemd a unit that
 * fails or is restarted meanwhile ends the wait at once. 0, -ETIMEDOUT,
 * or -ECHILD (the unit failed), with why. */
int update_healthy(const char *how, const char *socket, const char *version, long old_pid,
		   unsigned timeout_s, char *why, size_t why_size);


/* ---- the check pipeline (check.c) ---------------------------------- */

/* One check, for --check-only and for the update alike. */
struct check_run {
	const struct update_options *o;
	bool durable;		/* the update's copy, to be linked in: 0755, fsynced */
	bool json;		/* ask the child for --check-migrations --json */
	/* Called once the copy is staged and verified, before it runs
	 * (the update says so as it happens); NULL: nothing. */
	void (*verified)(const struct check_run *c, void *ctx);
	void *ctx;
	char target_dir[PATH_MAX], db[PATH_MAX], db_dir[PATH_MAX];
	struct staged staged;	/* exec_fd -1 until staged; update_staged_close() */
	bool ran;		/* result holds what the child did */
	struct sandbox_result result;
	struct verdict v;	/* code 0-4; line, version, reason */
};

/* Resolve the target's directory and the database, stage and verify
 * from, run the staged binary's --check-migrations in the sandbox, judge.
 * Returns c->v.code: 0, 1, 2, 3 (c->v.reason says why) or 4. */
int update_check_pipeline(struct check_run *c);

/* ---- the rehearsal (rehearse.c, judge.c) ----------------------------- */

struct rehearsal_verdict {
	bool ran;		/* the staged binary ran it (else skipped, or could not run) */
	bool skipped;		/* --no-rehearse, or over --rehearse-max-mb: line says which */
	int code;		/* 0 rehearsed cleanly (or skipped), 7 a migration fails on the
				 * copy, 3 the rehearsal could not run or is not trusted */
	char line[600];		/* what to tell the operator: the rehearsed line, or why not */
	int64_t ms, bytes;	/* when rehearsed */
	char reason[700];	/* code 7 or 3: why, what the child printed quoted */
};

/* REHEARSE: the staged binary's --rehearse-migrations on a copy of c->db,
 * in the sandbox under its own policy with a private scratch (rehearse.c
 * says where), unless c->o says not to or the database is larger than
 * --rehearse-max-mb. Call it only after the check said migrations needed.
 * Returns rv->code. */
int update_rehearse(struct check_run *c, struct rehearsal_verdict *rv);
/* Whether update_rehearse() would skip it (--no-rehearse, or a database
 * over --rehearse-max-mb): true with rv->line saying why. */
bool update_rehearse_skipped(const struct check_run *c, struct rehearsal_verdict *rv);

/* Remove the scratch directories (rehearsal.*) that a killed non-root
 * rehearsal left in the update directory dir_fd; call it only under the
 * exclusive lock. */
void update_rehearsal_clean(int dir_fd);

/* Trust a rehearsal's line only when the child exited normally and its
 * exit code and its line agree: rehearsed (0), or a failed migration (2,
 * which is the update's 7). Anything else, "nothing to rehearse" after a
 * check that said migrations needed included, is 3. */
void update_judge_rehearsal(const struct sandbox_result *r, struct rehearsal_verdict *rv);

/* ---- the report (report.c) -------------------------------------------- */

struct update_report {
	FILE *errout;
	int64_t start_ms;
};

/* "banger: [   12 ms] what", a line of progress on errout. */
void update_progress(const struct update_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The word --json gives an exit code: "updated", "locked", ... */
const char *update_result_word(int code);
/* The result object of banger update --json, every string escaped. */
void update_report_json(FILE *out, int code, const struct journal *j, const char *target,
			const struct rehearsal_verdict *rv);
/* ,"rehearsal":"rehearsed"|"failed"|"skipped"|"not_needed"|"not_run"|
 * "not_trusted","rehearsal_ms":N|null - the operator's forecast of the
 * first start's migration, in both --json objects. */
void update_report_rehearsal_json(FILE *out, const struct rehearsal_verdict *rv);
/* On a terminal only: a live "banger: WHAT: N s" line until
 * update_ticker_stop(), for the steps that can take long (the backup, the
 * restart, the health wait). Nothing of the kind when errout is not a
 * terminal. */
void update_ticker_start(const struct update_report *r, const char *what);
void update_ticker_stop(void);
/* One line to syslog: the update (what) and its exit code. */
void update_report_syslog(const char *what, int code);

/* ---- the work in the state directory, as its owner (owned.c) ---------- */

enum owned_job { OWNED_BACKUP, OWNED_RESTORE, OWNED_ABANDON, OWNED_UNLINK };

/* job (store_backup(a, b), store_restore(a, b), store_backup_abandon(a),
 * unlink(a)) on files beside the database db, done by a child that has
 * become the owner of db's directory (owner.h). 0 or < 0 with err. */
int update_as_owner(const char *db, enum owned_job job, const char *a, const char *b,
		    struct banger_error *err);

/* ---- the swap (swap.c) ------------------------------------------------ */

/* TARGET.prev, beside the target. */
void update_prev_path(const char *target, char *out, size_t size);
/* The old binary keeps a second name (TARGET.prev), the staged copy gets
 * one beside the target (TARGET.new) and replaces it by rename(2): at
 * every instant TARGET is a complete executable. 0 or < 0. */
int update_swap(const struct staged *staged, const char *target);

/* ---- recovery and rollback (rollback.c) -------------------------------- */

enum recover_action {
	RECOVER_FORGET,		/* nothing was swapped: forgetting is undoing */
	RECOVER_ROLL_BACK,	/* the swap may have happened: roll back */
};

/* What --recover does with a journal at j's step. */
enum recover_action update_recover_decide(const struct journal *j);

/* Put the old binary and database back, stop what runs the replaced
 * binary, restart, check the old daemon's health, remove the journal.
 * Returns UPDATE_EXIT_ROLLED_BACK or UPDATE_EXIT_ROLLBACK_FAILED (the
 * message on errout says what to do). */
int update_rollback(const struct update_report *rep, int dir_fd, const struct journal *j,
		    unsigned timeout_s, const char *why);

/* Undo what a killed update left in the update directory dir_fd (named
 * dir): its journal, or only a half-written one. 0 when the install is
 * consistent, else UPDATE_EXIT_ROLLBACK_FAILED. */
int update_recover_journal(const struct update_report *rep, int dir_fd, const char *dir,
			   unsigned timeout_s);

#endif
