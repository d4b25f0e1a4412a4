/* banger update, the whole of it:
 *
 *   LOCK -> (RECOVER) -> STAGE -> VERIFY -> CHECK -> (2|3|4: clean up, exit)
 *        -> BACKUP (migrations needed) -> SWAP -> RESTART -> HEALTH -> DONE
 *                                                  \-> failure -> ROLLBACK
 *
 * The journal is written before each step that changes anything, so that
 * an update killed at any point is undone by --recover or by the next
 * update: before the swap, undoing means forgetting; after it, putting the
 * old binary (kept as TARGET.prev) and the database backup back, and
 * restarting the way the update did. At every instant TARGET is a complete
 * executable: the new one arrives by rename(2) over it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "banger/clock.h"
#include "banger/control.h"
#include "banger/sandbox.h"
#include "banger/store.h"
#include "banger/update.h"


struct run {
	const struct update_options *o;
	FILE *errout;
	int64_t start_ms;
	char state_dir[PATH_MAX];
};

static void progress(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(r->errout, "banger: [%5lld ms] ", (long long)(banger_now_ms() - r->start_ms));
	vfprintf(r->errout, fmt, ap);
	fputc('\n', r->errout);
	va_end(ap);
}

#ifdef BANGER_TEST_HOOKS
/* Tests only: stop before a step so that a test can kill -9 us there. */
static void test_pause(struct run *r, const char *step)
{
	const char *at = getenv("BANGER_TEST_PAUSE_AT");
	if (at && strcmp(at, step) == 0) {
		progress(r, "paused before %s (test hook)", step);
		fflush(r->errout);
		for (;;)
			pause();
	}
}
#else
#define test_pause(r, step) ((void)0)
#endif

static void report(const char *what, int code)
{
	openlog("banger", LOG_PID, LOG_DAEMON);
	syslog(code == 0 ? LOG_NOTICE : LOG_WARNING, "update %s (exit %d)", what, code);
	closelog();
}

static void prev_path(const char *target, char *out, size_t size)
{
	snprintf(out, size, "%s.prev", target);
}

/* Put the old binary and database back, restart, check. 5 or 6. */
static int rollback(struct run *r, struct journal *j, const char *why)
{
	char prev[PATH_MAX + 8], dir[PATH_MAX], health[512];
	struct banger_error err = { 0 };
	prev_path(j->target, prev, sizeof(prev));
	snprintf(dir, sizeof(dir), "%s", j->target);
	progress(r, "rollback: %s", why);
	struct stat st;
	if (lstat(prev, &st) == 0) {
		if (rename(prev, j->target) != 0 || update_fsync_dir(dirname(dir)) != 0) {
			fprintf(r->errout, "banger: rollback failed: cannot move %s back to %s: %s; "
				"move it by hand, then restart bangerd\n", prev, j->target, strerror(errno));
			return UPDATE_EXIT_ROLLBACK_FAILED;
		}
		progress(r, "rollback: the old binary is back at %s", j->target);
	}
	/* Stop: nothing may run the replaced binary while the database is
	 * put back under it (stop.c says why). */
	if (update_stop_replaced(j->target, r->o->timeout_s, r->errout) < 0) {
		fprintf(r->errout, "banger: rollback failed: a process running the replaced %s outlived "
			"SIGKILL; stop it, then run 'banger update --recover'\n", j->target);
		return UPDATE_EXIT_ROLLBACK_FAILED;
	}
	if (j->backup[0]) {
		if (store_restore(j->backup, j->db, &err) != 0) {
			fprintf(r->errout, "banger: rollback failed: %s; the old binary is back: once the "
				"disk is sound, run 'banger update --recover', or by hand: stop bangerd, "
				"delete %s-wal and %s-shm, copy %s over %s, start bangerd\n", err.msg, j->db,
				j->db, j->backup, j->db);
			return UPDATE_EXIT_ROLLBACK_FAILED;
		}
		progress(r, "rollback: the database is back as it was before the update");
	}
	if (update_restart(j->restart, r->o->timeout_s, true, health, sizeof(health)) != 0) {
		fprintf(r->errout, "banger: rollback failed: %s; the old binary and database are back "
			"in place: start bangerd by hand and check 'banger status'\n", health);
		return UPDATE_EXIT_ROLLBACK_FAILED;
	}
	if (j->restart[0] && j->old_version[0] &&
	    update_healthy(j->restart, j->socket, j->old_version, -1, r->o->timeout_s, health,
			   sizeof(health)) != 0) {
		fprintf(r->errout, "banger: rollback failed: the old bangerd %s does not answer either "
			"(%s); the old binary and database are back in place: check its logs, then "
			"start it by hand\n", j->old_version, health);
		return UPDATE_EXIT_ROLLBACK_FAILED;
	}
	journal_remove(r->state_dir);
	progress(r, "rollback: done, bangerd %s serves again", j->old_version[0] ? j->old_version : "(old)");
	return UPDATE_EXIT_ROLLED_BACK;
}

/* Undo what a killed update left. 0: consistent again; 6: not. */
static int recover(struct run *r)
{
	struct journal j;
	struct banger_error err = { 0 };
	int rc = journal_read(r->state_dir, &j, &err);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		fprintf(r->errout, "banger: %s; inspect it and remove it by hand\n", err.msg);
		return UPDATE_EXIT_ROLLBACK_FAILED;
	}
	progress(r, "recover: an update to %s stopped at '%s'", j.new_version, j.step);
	char leftover[PATH_MAX + 8];
	snprintf(leftover, sizeof(leftover), "%s.new", j.target);
	unlink(leftover);
	if (j.backup[0])
		store_backup_abandon(j.backup);	/* killed while backing up */
	if (strcmp(j.step, "checked") == 0 || strcmp(j.step, "backed-up") == 0) {
		/* Nothing had been swapped: forgetting is undoing. */
		journal_remove(r->state_dir);
		progress(r, "recover: nothing had changed; the journal is gone");
		return 0;
	}
	rc = rollback(r, &j, "undoing the interrupted update");
	return rc == UPDATE_EXIT_ROLLED_BACK ? 0 : rc;
}

static int start_run(struct run *r, const struct update_options *o, FILE *errout, int *lock_fd)
{
	struct banger_error err = { 0 };
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->errout = errout;
	r->start_ms = banger_now_ms();
	snprintf(r->state_dir, sizeof(r->state_dir), "%s", o->state_dir);
	int rc = update_lock(r->state_dir, false, lock_fd, &err);
	if (rc == 0)
		return -1;
	fprintf(errout, "banger: %s\n", err.msg);
	return rc == -EWOULDBLOCK ? UPDATE_EXIT_LOCKED : UPDATE_EXIT_CHECK_FAILED;
}

int update_recover(const struct update_options *o, FILE *out, FILE *errout)
{
	struct run r;
	int lock = -1;
	int rc = start_run(&r, o, errout, &lock);
	if (rc < 0)
		rc = recover(&r);
	if (rc == 0)
		fprintf(out, "recovered: the install is consistent\n");
	if (lock >= 0)
		close(lock);
	report("recovery", rc);
	return rc;
}

/* dpkg owns the target: the package manager replaces it, not us. */
static int owned_by_package(const char *target, char *pkg, size_t size)
{
	char cmd[PATH_MAX + 64];
	if (access("/usr/bin/dpkg-query", X_OK) != 0)
		return 0;
	snprintf(cmd, sizeof(cmd), "dpkg-query -S -- '%s' 2>/dev/null", target);
	FILE *p = popen(cmd, "re");
	if (p == NULL)
		return 0;
	int found = fgets(pkg, (int)size, p) != NULL;
	int status = pclose(p);
	if (!found || status != 0)
		return 0;
	pkg[strcspn(pkg, ":")] = '\0';
	return 1;
}

static int swap(const struct staged *staged, const char *target)
{
	char prev[PATH_MAX + 8], fresh[PATH_MAX + 8], self[64], dir[PATH_MAX];
	prev_path(target, prev, sizeof(prev));
	snprintf(fresh, sizeof(fresh), "%s.new", target);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", staged->exec_fd);
	snprintf(dir, sizeof(dir), "%s", target);
	unlink(fresh);
	if (unlink(prev) != 0 && errno != ENOENT)
		return -errno;
	/* The old binary stays reachable as .prev (a second name, not a copy). */
	if (link(target, prev) != 0 && errno != ENOENT)
		return -errno;
	/* The unnamed staged file gets a name beside the target... */
	if (linkat(AT_FDCWD, self, AT_FDCWD, fresh, AT_SYMLINK_FOLLOW) != 0)
		return -errno;
	/* ...and replaces it in one step. */
	if (rename(fresh, target) != 0) {
		int e = errno;
		unlink(fresh);
		return -e;
	}
	return update_fsync_dir(dirname(dir));
}

int update_run(const struct update_options *o, FILE *out, FILE *errout)
{
	struct run r;
	struct journal j = { 0 };
	struct staged staged = { .exec_fd = -1 };
	struct banger_error err = { 0 };
	struct sandbox_result result;
	struct verdict v;
	char target_dir[PATH_MAX], db_dir[PATH_MAX], pkg[128], health[512];
	int lock = -1, code = start_run(&r, o, errout, &lock);
	if (code >= 0)
		goto out;
	if ((code = recover(&r)) != 0)
		goto out;

	snprintf(target_dir, sizeof(target_dir), "%s", o->target);
	char *base = basename(target_dir);
	char target_base[NAME_MAX + 1];
	snprintf(target_base, sizeof(target_base), "%s", base);
	snprintf(target_dir, sizeof(target_dir), "%s", o->target);
	struct stat st;
	if (realpath(dirname(target_dir), target_dir) == NULL ||
	    snprintf(j.target, sizeof(j.target), "%s/%s", target_dir, target_base) >= (int)sizeof(j.target) ||
	    lstat(j.target, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(errout, "banger: update: the target %s is not an existing regular file: "
			"pass --target with the bangerd to replace\n", o->target);
		code = UPDATE_EXIT_USAGE;
		goto out;
	}
	if (owned_by_package(j.target, pkg, sizeof(pkg))) {
		fprintf(errout, "banger: %s belongs to the Debian package %s: update it with apt, not banger (its preinst runs the same migration guard)\n",
			j.target, pkg);
		code = UPDATE_EXIT_VERIFY_FAILED;
		goto out;
	}
	if (paths_resolve_db(o->db, j.db, sizeof(j.db), db_dir, sizeof(db_dir), &err) != 0) {
		fprintf(errout, "banger: update refused: %s\n", err.msg);
		code = UPDATE_EXIT_CHECK_FAILED;
		goto out;
	}
	snprintf(j.socket, sizeof(j.socket), "%s", o->socket);
	j.timeout_s = o->timeout_s;

	progress(&r, "stage: %s into %s", o->from, target_dir);
	if (update_stage_verified(o->from, target_dir, true, o->sha256, o->minisig, o->pubkey,
				  &staged, &err) != 0) {
		fprintf(errout, "banger: update refused: %s\n", err.msg);
		code = UPDATE_EXIT_VERIFY_FAILED;
		goto out;
	}
	progress(&r, "verify: the staged copy is an executable for this machine%s%s",
		 o->sha256 ? ", with the expected SHA-256" : "", o->minisig ? ", signed by the key" : "");
	char *argv[] = { "bangerd", "--db", j.db, "--check-migrations", NULL };
	if (update_run_staged(&staged, argv, j.db, db_dir, &result, &err) != 0) {
		fprintf(errout, "banger: update refused: %s\n", err.msg);
		code = UPDATE_EXIT_CHECK_FAILED;
		goto out;
	}
	update_judge_check(&result, &v);
	if (v.code >= 2) {
		if (v.code == 2)
			fprintf(errout, "banger: update refused: %s\n", result.first_line);
		else
			fprintf(errout, "banger: update refused: %s\n", v.reason);
		code = v.code;
		goto out;
	}
	progress(&r, "check (sandboxed): %s", result.first_line);
	if (update_staged_version(&staged, j.db, db_dir, j.new_version, sizeof(j.new_version),
				  &err) != 0) {
		fprintf(errout, "banger: update refused: %s\n", err.msg);
		code = UPDATE_EXIT_CHECK_FAILED;
		goto out;
	}
	struct control_status old;
	long old_pid = -1;
	if (control_status(j.socket, 1000, &old, &err) == 0) {
		snprintf(j.old_version, sizeof(j.old_version), "%s", old.version);
		old_pid = old.pid;
	}
	update_restart_choose(o, j.restart, sizeof(j.restart));
	if (v.code == 1 && snprintf(j.backup, sizeof(j.backup), "%s.pre-update", j.db) >= (int)sizeof(j.backup)) {
		fprintf(errout, "banger: %s: path too long\n", j.db);
		code = UPDATE_EXIT_CHECK_FAILED;
		goto out;
	}

	snprintf(j.step, sizeof(j.step), "checked");
	if (journal_write(r.state_dir, &j, &err) != 0) {
		fprintf(errout, "banger: update refused: %s\n", err.msg);
		code = UPDATE_EXIT_CHECK_FAILED;
		goto out;
	}
	test_pause(&r, "backup");
	if (j.backup[0]) {
		if (store_backup(j.db, j.backup, &err) != 0) {
			fprintf(errout, "banger: update refused: the backup failed: %s\n", err.msg);
			journal_remove(r.state_dir);
			code = UPDATE_EXIT_CHECK_FAILED;
			goto out;
		}
		progress(&r, "backup: %s", j.backup);
		snprintf(j.step, sizeof(j.step), "backed-up");
		journal_write(r.state_dir, &j, &err);
	}
	test_pause(&r, "swap");
	snprintf(j.step, sizeof(j.step), "swapping");
	if (journal_write(r.state_dir, &j, &err) != 0) {
		fprintf(errout, "banger: update refused: %s\n", err.msg);
		journal_remove(r.state_dir);
		code = UPDATE_EXIT_CHECK_FAILED;
		goto out;
	}
	int rc = swap(&staged, j.target);
	if (rc != 0) {
		char why[256];
		snprintf(why, sizeof(why), "the swap failed: %s", strerror(-rc));
		code = rollback(&r, &j, why);
		goto out;
	}
	progress(&r, "swap: %s is now %s; the old one is %s.prev", j.target, j.new_version, j.target);
	test_pause(&r, "restart");
	if (j.restart[0] == '\0') {
		progress(&r, "restart: none (%s)", o->no_restart ? "--no-restart"
			 : "no --restart-cmd, and no systemd unit bangerd.service");
	} else {
		progress(&r, "restart: %s", j.restart);
		if (update_restart(j.restart, o->timeout_s, false, health, sizeof(health)) != 0) {
			char why[600];
			snprintf(why, sizeof(why), "the restart failed: %.500s", health);
			code = rollback(&r, &j, why);
			goto out;
		}
		test_pause(&r, "health");
		if (update_healthy(j.restart, j.socket, j.new_version, old_pid, o->timeout_s, health,
				   sizeof(health)) != 0) {
			char why[600];
			snprintf(why, sizeof(why), "the new bangerd %s is not healthy: %.400s", j.new_version, health);
			code = rollback(&r, &j, why);
			goto out;
		}
		progress(&r, "health: bangerd %s answers with a compatible schema", j.new_version);
	}
	journal_remove(r.state_dir);
	if (!j.backup[0]) {
		/* A backup is kept until the next successful update. */
		char stale[PATH_MAX + 16];
		snprintf(stale, sizeof(stale), "%s.pre-update", j.db);
		unlink(stale);
	}
	progress(&r, "done: updated to %s", j.new_version);
	if (!o->json)
		fprintf(out, "updated: %s -> %s\n", j.old_version[0] ? j.old_version : "(not running)",
			j.new_version);
	code = UPDATE_EXIT_OK;
out:
	if (o->json) {
		static const char *const results[] = { "updated", "migrations_needed", "incompatible",
							"check_failed", "verify_failed", "rolled_back",
							"rollback_failed" };
		const char *word = code >= 0 && code <= 6 ? results[code]
				     : code == UPDATE_EXIT_LOCKED ? "locked" : "usage";
		fprintf(out, "{\"result\":\"%s\",\"exit\":%d,\"target\":\"%s\",\"from_version\":\"%s\","
			"\"to_version\":\"%s\",\"backup\":\"%s\"}\n", word, code, j.target,
			j.old_version, j.new_version, code == 0 ? j.backup : "");
	}
	update_staged_close(&staged);
	if (lock >= 0)
		close(lock);
	char what[200];
	snprintf(what, sizeof(what), "of %s to %s", o->target, j.new_version[0] ? j.new_version : "?");
	report(what, code);
	return code;
}
