/* store_open(): the read-write store, with auto-migration.
 *
 * Order, and why:
 * 1. schema_classify() first, through the read-only path: an incompatible
 *    database is refused before SQLite opens it for writing (a read-write
 *    open of a WAL database creates -wal/-shm and checkpoints on close).
 *    If the read-only path cannot read the database (a hot journal, a -wal
 *    without its -shm: states only a writer can recover), we go on and let
 *    the read-write open recover it, as any SQLite writer would.
 * 2. Create the directory (0700) and the file (0600) when missing, with
 *    O_EXCL, so the database is never readable by others, not even for a
 *    moment (SQLite would create it 0644 & ~umask).
 * 3. Each pending migration runs in BEGIN IMMEDIATE, which re-reads the
 *    applied ids under the write lock: a newer binary racing with us cannot
 *    slip an unknown id in between the check and the change.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "banger/clock.h"
#include "internal.h"

struct store {
	sqlite3 *db;
	char path[PATH_MAX];
};

#define WRITE_BUSY_TIMEOUT_MS 5000

static int make_dirs(const char *dir, struct banger_error *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return banger_error_set(err, -ENAMETOOLONG, "%s: path too long", dir);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return banger_error_set(err, -errno, "%s: cannot create directory: %s", buf,
						strerror(errno));
		*p = c;
		if (c == '\0')
			return 0;
	}
}

static int create_file(const char *path, struct banger_error *err)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	int rc = make_dirs(dirname(copy), err);
	if (rc)
		return rc;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST)
		return banger_error_set(err, -errno, "%s: cannot create: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return 0;
}

static int exec_sql(struct store *s, const char *sql, const char *what, struct banger_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_sqlite_error(err, s->db, rc, s->path, what);
}

/* Changing the journal mode needs an exclusive lock, and SQLite returns
 * BUSY for it without calling the busy handler when another connection
 * (a second bangerd starting, an updater's check) holds any lock: retry
 * for as long as the busy timeout would have waited - by the clock, since
 * a writer that holds a pending or exclusive lock makes each attempt wait
 * out the busy handler first (counting only the sleeps, the loop waited
 * 500 busy timeouts: 40 minutes). */
static int switch_to_wal(struct store *s, struct banger_error *err)
{
	int64_t deadline = banger_now_ms() + WRITE_BUSY_TIMEOUT_MS;
	for (;;) {
		int rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || banger_now_ms() >= deadline)
			return store_sqlite_error(err, s->db, rc, s->path, "cannot switch to WAL");
		sqlite3_sleep(10);
	}
}

static int has_unknown(const struct id_list *applied, const struct migration_set *known,
		       int64_t *first_unknown)
{
	for (size_t i = 0; i < applied->count; i++) {
		size_t k = 0;
		while (k < known->count && known->items[k].id != applied->ids[i])
			k++;
		if (k == known->count) {
			*first_unknown = applied->ids[i];
			return 1;
		}
	}
	return 0;
}

static int is_applied(const struct id_list *applied, int64_t id)
{
	for (size_t i = 0; i < applied->count; i++)
		if (applied->ids[i] == id)
			return 1;
	return 0;
}

void store_utc_now(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int record_migration(struct store *s, const struct migration *m, struct banger_error *err)
{
	char now[32];
	store_utc_now(now, sizeof(now));
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, m->id);
		sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, now, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_sqlite_error(err, s->db, rc, s->path,
							  "cannot record the migration");
}

static int foreign_key_violations(struct store *s, struct banger_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return banger_error_set(err, -EINVAL, "%s: the migration breaks a foreign key", s->path);
	return rc == SQLITE_DONE ? 0 : store_sqlite_error(err, s->db, rc, s->path,
							  "cannot check foreign keys");
}

/* What apply_one() did: positive, apart from a negative errno. */
enum apply_result {
	APPLY_DONE = 0,
	APPLY_ALREADY = 1,	/* another process applied it meanwhile */
	APPLY_INCOMPATIBLE = 2,	/* the database has an id we do not know */
};

/* Apply one migration in its own transaction. Returns an apply_result, or
 * < 0 with err. */
static int apply_one(struct store *s, const struct migration *m, const struct migration_set *known,
		     struct banger_error *err)
{
	struct id_list applied = { 0 };
	int64_t unknown;
	int rc;
	/* foreign_keys cannot change inside a transaction: switch it first. */
	if (m->rebuilds_tables && (rc = exec_sql(s, "PRAGMA foreign_keys = OFF", "cannot prepare", err)))
		return rc;
	if ((rc = exec_sql(s, "BEGIN IMMEDIATE", "cannot begin a write transaction", err)))
		goto out;
	if ((rc = exec_sql(s, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			      " id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
			   "cannot create schema_migrations", err)) ||
	    (rc = store_read_ids(s->db, s->path, &applied, err)))
		goto rollback;
	if (has_unknown(&applied, known, &unknown)) {
		banger_error_set(err, -EPROTO,
				 "%s: the database has migration %lld, which this binary does not know",
				 s->path, (long long)unknown);
		rc = APPLY_INCOMPATIBLE;
		goto rollback;
	}
	if (is_applied(&applied, m->id)) {
		rc = APPLY_ALREADY;
		goto rollback;
	}
	char what[160];
	snprintf(what, sizeof(what), "migration %lld (%s) failed", (long long)m->id, m->name);
	if ((rc = exec_sql(s, m->sql, what, err)) ||
	    (m->rebuilds_tables && (rc = foreign_key_violations(s, err))) ||
	    (rc = record_migration(s, m, err)) ||
	    (rc = exec_sql(s, "COMMIT", "cannot commit", err)))
		goto rollback;
	goto out;
rollback:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out:
	if (m->rebuilds_tables)
		sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	free(applied.ids);
	return rc;
}

/* Step 1, before anything is written: the database read as
 * schema_classify() reads it. STORE_OK to go on (compatible, pending
 * migrations, or not readable in a way that opening it for writing may
 * recover: a hot journal), else the status to return, with err. */
static enum store_status read_before_writing(const char *path, const struct migration_set *known,
					     struct banger_error *err)
{
	struct schema_report report;
	struct banger_error ro_err;
	if (schema_classify(path, known, &report, &ro_err) == 0) {
		enum schema_state state = report.state;
		int64_t first = report.unknown.count ? report.unknown.ids[0] : 0;
		schema_report_free(&report);
		if (state != SCHEMA_INCOMPATIBLE)
			return STORE_OK;
		/* EPROTO: the database speaks a schema newer than ours. */
		banger_error_set(err, -EPROTO,
				 "%s: the database has migration %lld, which this binary does not know (binary older than DB)",
				 path, (long long)first);
		return STORE_INCOMPATIBLE;
	}
	if (ro_err.code == -ELOOP || ro_err.code == -EINVAL) {
		/* Not a recoverable journal state: a symlink, not a file, not a
		 * database. Opening it for writing would not help. */
		if (err)
			*err = ro_err;
		return STORE_FAILED;
	}
	return STORE_OK;
}

/* Apply every migration of known that s's database lacks, counting those
 * this call ran. An apply_result, or < 0 with err. */
static int apply_pending(struct store *s, const struct migration_set *known, size_t *count,
			 struct banger_error *err)
{
	struct id_list applied = { 0 };
	int rc = store_read_applied(s->db, s->path, &applied, err);
	for (size_t i = 0; rc == 0 && i < known->count; i++) {
		if (is_applied(&applied, known->items[i].id))
			continue;
		rc = apply_one(s, &known->items[i], known, err);
		if (rc == APPLY_DONE)
			(*count)++;
		else if (rc == APPLY_ALREADY)
			rc = 0;
	}
	free(applied.ids);
	return rc;
}

enum store_status store_open(const char *path, const struct migration_set *known,
			     struct store **out, size_t *applied_now, struct banger_error *err)
{
	size_t count = 0;
	*out = NULL;
	if (applied_now)
		*applied_now = 0;
	enum store_status st = read_before_writing(path, known, err);
	if (st != STORE_OK)
		return st;
	struct store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return banger_error_set(err, -ENOMEM, "%s: out of memory", path), STORE_FAILED;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (create_file(path, err) != 0)
		goto fail;
	int rc = sqlite3_open_v2(path, &s->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE,
				 NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_error(err, s->db, rc, path, "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, WRITE_BUSY_TIMEOUT_MS);
	if (exec_sql(s, "PRAGMA foreign_keys = ON", "cannot enable foreign keys", err) ||
	    switch_to_wal(s, err) ||
	    exec_sql(s, "PRAGMA synchronous = FULL", "cannot set synchronous", err))
		goto fail;
	/* journal_mode=WAL is a write: on a database we have not yet proven
	 * compatible (step 1 could not read it) apply_one()'s check comes
	 * after it. That only happens after a crash, where SQLite's recovery
	 * has already written the file. */
	rc = apply_pending(s, known, &count, err);
	if (rc == APPLY_INCOMPATIBLE) {
		store_close(s);
		return STORE_INCOMPATIBLE;
	}
	if (rc < 0)
		goto fail;
	if (applied_now)
		*applied_now = count;
	*out = s;
	return STORE_OK;
fail:
	store_close(s);
	return STORE_FAILED;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	sqlite3_close_v2(s->db);
	free(s);
}

sqlite3 *store_db(struct store *s)
{
	return s->db;
}

const char *store_path(struct store *s)
{
	return s->path;
}

int store_schema_report(struct store *s, const struct migration_set *known,
			struct schema_report *out, struct banger_error *err)
{
	struct id_list applied = { 0 };
	int rc = store_read_applied(s->db, s->path, &applied, err);
	if (rc == 0)
		rc = schema_compare(applied.ids, applied.count, known, out);
	free(applied.ids);
	return rc;
}
