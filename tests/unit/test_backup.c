/* store_backup() and store_restore(): the backup holds one consistent
 * snapshot with every row, including a commit that sits only in a live
 * writer's -wal, and taking it writes nothing beside the database. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char *dir;	/* the database's directory: must not change */
	char *out;	/* where backups go */
	char db[4096];
	char dest[4096];
	struct banger_error err;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = tmpdir_make();
	f->out = tmpdir_make();
	snprintf(f->db, sizeof(f->db), "%s/banger.db", f->dir);
	snprintf(f->dest, sizeof(f->dest), "%s/banger.db.pre-update", f->out);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tmpdir_remove(f->dir);
	tmpdir_remove(f->out);
	free(f);
	return 0;
}

/* "ids|image names" of the database at path, read with plain SQLite. */
static void contents(const char *path, char *buf, size_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
		"SELECT (SELECT group_concat(id, ' ') FROM (SELECT id FROM schema_migrations ORDER BY id))"
		" || '|' || coalesce((SELECT group_concat(name, ' ') FROM (SELECT name FROM images ORDER BY id)), '')",
		-1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void backup_unchanged(struct fixture *f)
{
	struct snapshot *before = snapshot_take(f->dir);
	int rc = store_backup(f->db, f->dest, &f->err);
	if (rc != 0)
		fail_msg("store_backup: %s", f->err.msg);
	snapshot_assert_same(before, f->dir);
	snapshot_free(before);
	struct stat st;
	assert_int_equal(stat(f->dest, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->dest);
	assert_int_equal(access(tmp, F_OK), -1);
}

static const char images[] =
	"INSERT INTO images (name, digest, size_bytes, created_at) VALUES"
	" ('alpine', 'sha256:' || printf('%064d', 1), 1, 'now'),"
	" ('debian', 'sha256:' || printf('%064d', 2), 2, 'now')";

static void test_closed_wal_database_is_copied_and_stays_closed(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 3);
	db_exec(f->db, images);
	char want[256], got[256];
	contents(f->db, want, sizeof(want));
	backup_unchanged(f);	/* no -wal, no -shm appeared beside it */
	contents(f->dest, got, sizeof(got));
	assert_string_equal(got, want);
	assert_string_equal(got, "1 2 3|alpine debian");
}

static void test_commit_only_in_a_live_writers_wal_is_in_the_backup(void **state)
{
	struct fixture *f = *state;
	struct writer w;
	db_migrate_to(f->db, 3);
	writer_start(&w, f->db, "wal", images, 1);
	backup_unchanged(f);
	writer_release(&w);
	char got[256];
	contents(f->dest, got, sizeof(got));
	assert_string_equal(got, "1 2 3|alpine debian");
}

static void test_missing_database_gives_an_empty_backup(void **state)
{
	struct fixture *f = *state;
	backup_unchanged(f);	/* and creates no database */
	struct stat st;
	assert_int_equal(stat(f->dest, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_unwritable_destination_fails_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 3);
	snprintf(f->dest, sizeof(f->dest), "%s/no-such-dir/banger.db.pre-update", f->out);
	struct snapshot *before = snapshot_take(f->dir);
	assert_int_equal(store_backup(f->db, f->dest, &f->err), -ENOENT);
	assert_non_null(strstr(f->err.msg, "no-such-dir"));
	snapshot_assert_same(before, f->dir);
	snapshot_free(before);
}

static void test_not_a_database_is_refused_without_a_backup(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(f->db, "w");
	fputs("not a database, long enough to have a header of sorts...............................................", fp);
	fclose(fp);
	assert_true(store_backup(f->db, f->dest, &f->err) < 0);
	assert_non_null(strstr(f->err.msg, "not a SQLite database"));
	assert_int_equal(access(f->dest, F_OK), -1);
}

static void test_restore_puts_every_row_back(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 3);
	db_exec(f->db, images);
	backup_unchanged(f);
	db_exec(f->db, "DELETE FROM images; DELETE FROM schema_migrations WHERE id = 3");
	char got[256];
	contents(f->db, got, sizeof(got));
	assert_string_equal(got, "1 2|");
	if (store_restore(f->dest, f->db, &f->err) != 0)
		fail_msg("store_restore: %s", f->err.msg);
	contents(f->db, got, sizeof(got));
	assert_string_equal(got, "1 2 3|alpine debian");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_closed_wal_database_is_copied_and_stays_closed),
		T(test_commit_only_in_a_live_writers_wal_is_in_the_backup),
		T(test_missing_database_gives_an_empty_backup),
		T(test_unwritable_destination_fails_and_leaves_nothing),
		T(test_not_a_database_is_refused_without_a_backup),
		T(test_restore_puts_every_row_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
