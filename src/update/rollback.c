/* ROLLBACK and RECOVER: put back what an update changed.
 *
 * One rollback serves every failure after the swap (the swap itself, the
 * restart, the health check) and --recover (or the next update) after a
 * kill: the old binary back at TARGET, whatever still runs the replaced
 * one stopped, the backup copied back into the database (as its owner),
 * the daemon restarted the way the update would have, its health checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The old binary at TARGET again. 0 or -1 (said on errout). */
static int binary_back(const struct update_report *rep, const struct journal *j)
{
	char prev[PATH_MAX + 8], dir[PATH_MAX];
	struct stat st, now;
	update_prev_path(j->target, prev, sizeof(prev));
	snprintf(dir, sizeof(dir), "%s", j->target);
	if (lstat(prev, &st) != 0)
		return 0;	/* killed before the old binary got its second name */
	/* Killed between the link to .prev and the rename over the target,
	 * both names are the old binary, and rename(2) would do nothing. */
	bool same = lstat(j->target, &now) == 0 && st.st_dev == now.st_dev && st.st_ino == now.st_ino;
	if ((same ? unlink(prev) : rename(prev, j->target)) != 0 ||
	    update_fsync_dir(dirname(dir)) != 0) {
		fprintf(rep->errout, "banger: rollback failed: cannot move %s back to %s: %s; "
			"move it by hand, then restart bangerd\n", prev, j->target, strerror(errno));
		return -1;
	}
	update_progress(rep, "rollback: the old binary is back at %s", j->target);
	return 0;
}

struct stopping {
	const struct update_report *rep;
	const char *target;
};

static void say_stopping(void *ctx, int pid)
{
	const struct stopping *s = ctx;
	fprintf(s->rep->errout, "banger: rollback: stopping pid %d, still running the replaced %s\n",
		pid, s->target);
}

/* Nothing runs the replaced binary, and the database is the backup. */
static int database_back(const struct update_report *rep, const struct journal *j,
			 unsigned timeout_s)
{
	struct banger_error err = { 0 };
	/* Stop first: nothing may write the database while it is put back
	 * (stop.c says why). */
	struct stopping s = { rep, j->target };
	if (update_stop_replaced(j->target, timeout_s, say_stopping, &s) < 0) {
		fprintf(rep->errout, "banger: rollback failed: a process running the replaced %s "
			"outlived SIGKILL; stop it, then run 'banger update --recover'\n", j->target);
		return -1;
	}
	if (j->backup[0] == '\0')
		return 0;
	if (update_as_owner(j->db, OWNED_RESTORE, j->backup, j->db, &err) != 0) {
		fprintf(rep->errout, "banger: rollback failed: %s; the old binary is back: once the "
			"disk is sound, run 'banger update --recover', or by hand: stop bangerd, "
			"delete %s-wal and %s-shm, copy %s over %s, start bangerd\n", err.msg, j->db,
			j->db, j->backup, j->db);
		return -1;
	}
	update_progress(rep, "rollback: the database is back as it was before the update");
	return 0;
}

/* The old daemon started again, and answering. */
static int daemon_back(const struct update_report *rep, const struct journal *j, unsigned timeout_s)
{
	char health[512];
	if (j->restart[0])
		update_progress(rep, "rollback: restarting bangerd (%s)", j->restart);
	update_ticker_start(rep, "rollback: restart");
	int rc = update_restart(j->restart, timeout_s, true, health, sizeof(health));
	update_ticker_stop();
	if (rc != 0) {
		fprintf(rep->errout, "banger: rollback failed: %s; the old binary and database are back "
			"in place: start bangerd by hand and check 'banger status'\n", health);
		return -1;
	}
	if (j->restart[0] && j->old_version[0] &&
	    update_healthy(j->restart, j->socket, j->old_version, -1, timeout_s, health,
			   sizeof(health)) != 0) {
		fprintf(rep->errout, "banger: rollback failed: the old bangerd %s does not answer either "
			"(%s); the old binary and database are back in place: check its logs, then "
			"start it by hand\n", j->old_version, health);
		return -1;
	}
	return 0;
}

int update_rollback(const struct update_report *rep, int dir_fd, const struct journal *j,
		    unsigned timeout_s, const char *why)
{
	update_progress(rep, "rollback: %s", why);
	if (binary_back(rep, j) != 0 || database_back(rep, j, timeout_s) != 0 ||
	    daemon_back(rep, j, timeout_s) != 0)
		return UPDATE_EXIT_ROLLBACK_FAILED;
	/* A journal that stays is recovered again, harmlessly, next time. */
	(void)journal_remove(dir_fd);
	update_progress(rep, "rollback: done, bangerd %s serves again",
			j->old_version[0] ? j->old_version : "(old)");
	return UPDATE_EXIT_ROLLED_BACK;
}

enum recover_action update_recover_decide(const struct journal *j)
{
	switch (j->step) {
	case JOURNAL_CHECKED:
	case JOURNAL_BACKED_UP:
		return RECOVER_FORGET;
	case JOURNAL_SWAPPING:
		break;
	}
	return RECOVER_ROLL_BACK;
}

int update_recover_journal(const struct update_report *rep, int dir_fd, const char *dir,
			   unsigned timeout_s)
{
	struct journal j;
	struct banger_error err = { 0 };
	char leftover[PATH_MAX + 8];
	/* Killed in a journal write, even the first: its .tmp is all there
	 * is. (Root's own directory: a failure shows in journal_read.) */
	(void)journal_clean(dir_fd);
	int rc = journal_read(dir_fd, dir, &j, &err);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		fprintf(rep->errout, "banger: %s; inspect it and remove it by hand\n", err.msg);
		return UPDATE_EXIT_ROLLBACK_FAILED;
	}
	update_progress(rep, "recover: an update to %s stopped at '%s'", j.new_version,
			journal_step_name(j.step));
	snprintf(leftover, sizeof(leftover), "%s.new", j.target);
	if (unlink(leftover) != 0 && errno != ENOENT)
		update_progress(rep, "recover: %s: %s", leftover, strerror(errno));
	if (j.backup[0] && update_as_owner(j.db, OWNED_ABANDON, j.backup, NULL, &err) != 0)
		update_progress(rep, "recover: %s", err.msg);	/* the next backup replaces it */
	if (update_recover_decide(&j) == RECOVER_ROLL_BACK) {
		rc = update_rollback(rep, dir_fd, &j, timeout_s, "undoing the interrupted update");
		return rc == UPDATE_EXIT_ROLLED_BACK ? 0 : rc;
	}
	if (journal_remove(dir_fd) != 0) {
		fprintf(rep->errout, "banger: cannot remove the journal in %s\n", dir);
		return UPDATE_EXIT_ROLLBACK_FAILED;
	}
	update_progress(rep, "recover: nothing had changed; the journal is gone");
	return 0;
}
