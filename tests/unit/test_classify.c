/* schema_classify() in every state a database can be in. Each test asserts
 * the classification or the error AND that the directory holds the same
 * files with the same bytes afterwards. The classification runs here
 * in-process, without bangerd's seccomp guard: these tests prove that the
 * read path itself writes nothing. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const int64_t all_ids[] = { 1, 2, 3 };

struct fixture {
	char *dir;
	const char *db;
	struct snapshot *before;
	struct schema_report report;
	struct banger_error err;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = tmpdir_make();
	f->db = strdup(path_in(f->dir, "banger.db"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	schema_report_free(&f->report);
	snapshot_free(f->before);
	tmpdir_remove(f->dir);
	free((char *)f->db);
	free(f);
	return 0;
}

/* Snapshot the directory, classify, compare the directory again. */
static int classify_unchanged(struct fixture *f)
{
	snapshot_free(f->before);
	f->before = snapshot_take(f->dir);
	int rc = classify(f->db, &f->report, &f->err);
	snapshot_assert_same(f->before, f->dir);
	return rc;
}

static void expect_state(struct fixture *f, enum schema_state state)
{
	int rc = classify_unchanged(f);
	if (rc != 0)
		fail_msg("classify failed: %s", f->err.msg);
	assert_int_equal(f->report.state, state);
}

static void expect_error(struct fixture *f, const char *needle)
{
	int rc = classify_unchanged(f);
	if (rc == 0)
		fail_msg("classified as %d, expected an error containing '%s'", f->report.state, needle);
	if (strstr(f->err.msg, needle) == NULL)
		fail_msg("error '%s' does not contain '%s'", f->err.msg, needle);
}

static int file_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static const char *sidecar(struct fixture *f, const char *suffix)
{
	static char buf[4][4096];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, 4096, "%s%s", f->db, suffix);
	return p;
}

/* ---- the seed's four classifications ---- */

static void test_fully_migrated_is_compatible(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 3);
	expect_state(f, SCHEMA_COMPATIBLE);
	assert_ids(&f->report.applied, all_ids, 3);
	assert_int_equal(f->report.pending.count, 0);
}

static void test_only_baseline_needs_migrations_2_and_3(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 1);
	expect_state(f, SCHEMA_MIGRATIONS_NEEDED);
	assert_ids(&f->report.applied, all_ids, 1);
	assert_ids(&f->report.pending, all_ids + 1, 2);
}

static void test_unknown_id_99_is_incompatible(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 3);
	db_exec(f->db, "INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01')");
	expect_state(f, SCHEMA_INCOMPATIBLE);
	const int64_t unknown[] = { 99 };
	assert_ids(&f->report.unknown, unknown, 1);
}

static void test_no_schema_migrations_table_is_all_pending(void **state)
{
	struct fixture *f = *state;
	db_exec(f->db, "CREATE TABLE unrelated (x)");
	expect_state(f, SCHEMA_MIGRATIONS_NEEDED);
	assert_ids(&f->report.pending, all_ids, 3);
	assert_int_equal(f->report.applied.count, 0);
}

/* ---- files that are not (yet) databases ---- */

static void test_missing_file_is_fresh_install_and_stays_missing(void **state)
{
	struct fixture *f = *state;
	expect_state(f, SCHEMA_MIGRATIONS_NEEDED);
	assert_ids(&f->report.pending, all_ids, 3);
	assert_false(file_exists(f->db));
}

static void test_zero_byte_file_is_fresh_install(void **state)
{
	struct fixture *f = *state;
	close(open(f->db, O_CREAT | O_WRONLY, 0600));
	expect_state(f, SCHEMA_MIGRATIONS_NEEDED);
	assert_ids(&f->report.pending, all_ids, 3);
}

static void test_zero_byte_file_keeps_a_wal_beside_it(void **state)
{
	/* SQLite itself would unlink this -wal. */
	struct fixture *f = *state;
	close(open(f->db, O_CREAT | O_WRONLY, 0600));
	int fd = open(sidecar(f, "-wal"), O_CREAT | O_WRONLY, 0600);
	assert_int_equal(write(fd, "not empty", 9), 9);
	close(fd);
	expect_state(f, SCHEMA_MIGRATIONS_NEEDED);
	assert_true(file_exists(sidecar(f, "-wal")));
}

static void test_text_file_is_not_a_database(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(f->db, "w");
	fputs("this is not a database, it is a rather long line of text that fills more "
	      "than one hundred bytes so that only the magic can tell\n", fp);
	fclose(fp);
	expect_error(f, "not a SQLite database");
}

static void test_short_file_is_not_a_database(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(f->db, "w");
	fputs("SQLite format 3", fp);
	fclose(fp);
	expect_error(f, "not a SQLite database");
}

static void test_truncated_database_is_an_error(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 3);
	struct stat st;
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(truncate(f->db, st.st_size / 2), 0);
	expect_error(f, "truncated");
}

static void test_directory_is_an_error(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(f->db, 0700), 0);
	expect_error(f, "is a directory");
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "classify hung on a FIFO\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(99);
}

static void test_fifo_is_an_error_and_does_not_hang(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkfifo(f->db, 0600), 0);
	signal(SIGALRM, on_alarm);
	alarm(10);
	expect_error(f, "is a FIFO");
	alarm(0);
}

static void test_symlink_is_refused(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(path_in(f->dir, "real.db"), 3);
	assert_int_equal(symlink("real.db", f->db), 0);
	expect_error(f, "symbolic link");
}

static void test_non_integer_id_is_an_error(void **state)
{
	struct fixture *f = *state;
	db_exec(f->db, "CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, name TEXT, applied_at TEXT);"
		       "INSERT INTO schema_migrations VALUES ('1', 'baseline', 'x'), ('two', 'x', 'y')");
	expect_error(f, "not an integer");
}

static void test_real_id_is_an_error(void **state)
{
	struct fixture *f = *state;
	db_exec(f->db, "CREATE TABLE schema_migrations (id, name, applied_at);"
		       "INSERT INTO schema_migrations VALUES (1, 'baseline', 'x'), (2.5, 'x', 'y')");
	expect_error(f, "not an integer");
}

/* ---- journal states ---- */

static void test_rollback_journal_database_is_read(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 2);
	db_exec(f->db, "PRAGMA journal_mode = DELETE");
	expect_state(f, SCHEMA_MIGRATIONS_NEEDED);
	assert_ids(&f->report.pending, all_ids + 2, 1);
}

static void test_cleanly_closed_wal_database_is_read_without_sidecars(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 3);	/* the store leaves it in WAL mode, closed */
	unsigned char hdr[20];
	int fd = open(f->db, O_RDONLY);
	assert_int_equal(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	close(fd);
	assert_int_equal(hdr[19], 2);	/* the header says WAL */
	assert_false(file_exists(sidecar(f, "-wal")));
	expect_state(f, SCHEMA_COMPATIBLE);
	assert_false(file_exists(sidecar(f, "-wal")));
	assert_false(file_exists(sidecar(f, "-shm")));
}

/* How many ids the main file alone holds (immutable=1 ignores the -wal). */
static int ids_in_main_file(const char *path)
{
	char uri[4200];
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;
	snprintf(uri, sizeof(uri), "file:%s?immutable=1", path);
	assert_int_equal(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL), 0);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM schema_migrations", -1, &st, NULL) == 0 &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static const char commit_3[] =
	"INSERT INTO schema_migrations VALUES (3, 'drop_image_arch', '2026-01-01T00:00:00Z')";

static void test_live_wal_writer_commit_only_in_wal_is_seen(void **state)
{
	struct fixture *f = *state;
	struct writer w;
	db_migrate_to(f->db, 2);
	writer_start(&w, f->db, "wal", commit_3, 1);
	assert_int_equal(ids_in_main_file(f->db), 2);	/* id 3 sits only in the -wal */
	assert_true(file_exists(sidecar(f, "-shm")));
	expect_state(f, SCHEMA_COMPATIBLE);
	assert_ids(&f->report.applied, all_ids, 3);
	writer_release(&w);
}

static void test_killed_wal_writer_with_shm_is_read(void **state)
{
	struct fixture *f = *state;
	struct writer w;
	db_migrate_to(f->db, 2);
	writer_start(&w, f->db, "wal", commit_3, 1);
	writer_kill(&w);
	assert_true(file_exists(sidecar(f, "-wal")));
	assert_true(file_exists(sidecar(f, "-shm")));
	assert_int_equal(ids_in_main_file(f->db), 2);
	expect_state(f, SCHEMA_COMPATIBLE);
	assert_ids(&f->report.applied, all_ids, 3);
}

static void test_killed_wal_writer_without_shm_is_an_error_not_a_guess(void **state)
{
	/* The -wal holds id 3; without the -shm a reader that may not write
	 * cannot rebuild the index, and the main file alone would say
	 * "pending [3]": a guess. */
	struct fixture *f = *state;
	struct writer w;
	db_migrate_to(f->db, 2);
	writer_start(&w, f->db, "wal", commit_3, 1);
	writer_kill(&w);
	assert_int_equal(unlink(sidecar(f, "-shm")), 0);
	expect_error(f, "SQLite extended code");
	assert_true(file_exists(sidecar(f, "-wal")));
}

static void test_hot_rollback_journal_is_an_error_not_a_guess(void **state)
{
	struct fixture *f = *state;
	struct writer w;
	db_migrate_to(f->db, 3);
	db_exec(f->db, "PRAGMA journal_mode = DELETE");
	/* Enough rows to spill the one-page cache: the main file is written
	 * mid-transaction, the journal holds the pages to restore. */
	writer_start(&w, f->db, "delete",
		     "INSERT INTO schema_migrations VALUES (99, 'x', 'y');"
		     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
		     " INSERT INTO images (name, digest, size_bytes, created_at)"
		     " SELECT 'img' || i, printf('%0200d', i), i, 'now' FROM n;", 0);
	writer_kill(&w);
	assert_true(file_exists(sidecar(f, "-journal")));
	expect_error(f, "SQLite extended code 776");
	/* SQLite's code in its own field; code stays a negative errno. */
	assert_int_equal(f->err.sqlite, 776);
	assert_true(f->err.code < 0);
	assert_true(file_exists(sidecar(f, "-journal")));
}

static void test_closed_wal_database_is_not_read_while_a_writer_holds_pending(void **state)
{
	/* A writer about to take EXCLUSIVE (to delete the -wal on close, or to
	 * switch journal mode) holds a write lock on the pending byte. The
	 * classification must wait for it, and, when it never goes, say so
	 * instead of reading a main file that may be changing. */
	struct fixture *f = *state;
	db_migrate_to(f->db, 3);
	int fd = open(f->db, O_RDWR);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0x40000000, .l_len = 1 };
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	expect_error(f, "a writer holds the database lock");
	assert_int_equal(f->err.code, -EBUSY);
	close(fd);
	schema_report_free(&f->report);
	expect_state(f, SCHEMA_COMPATIBLE);
}

/* ---- a writer that opens and closes the database while we read ---- */

static void churn(const char *path, int rounds)
{
	/* Each round: open (creating -wal/-shm), add or remove ids 1000..1999
	 * (several b-tree pages, so a torn read shows as a partial set) and
	 * ~25 pages of images, close (checkpoint into the main file, delete
	 * -wal/-shm). */
	for (int i = 0; i < rounds; i++) {
		sqlite3 *db;
		if (sqlite3_open(path, &db) != SQLITE_OK)
			_exit(20);
		sqlite3_busy_timeout(db, 5000);
		const char *sql = (i % 2 == 0)
			? "BEGIN IMMEDIATE;"
			  "WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM n WHERE i < 1999)"
			  " INSERT INTO schema_migrations SELECT i, 'future_' || i, 'now' FROM n;"
			  "INSERT INTO images (name, digest, size_bytes, created_at)"
			  " VALUES ('big', hex(randomblob(50000)), 1, 'now'); COMMIT;"
			: "BEGIN IMMEDIATE; DELETE FROM schema_migrations WHERE id >= 1000;"
			  "DELETE FROM images WHERE name = 'big'; COMMIT;";
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			_exit(21);
		if (sqlite3_close(db) != SQLITE_OK)
			_exit(22);
	}
	_exit(0);
}

static void test_closed_wal_read_races_with_a_writer_and_never_misclassifies(void **state)
{
	struct fixture *f = *state;
	db_migrate_to(f->db, 3);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		churn(f->db, 300);
	int ok = 0, busy = 0, compatible = 0, incompatible = 0, status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		struct schema_report r;
		struct banger_error err = { 0 };
		if (classify(f->db, &r, &err) != 0) {
			if (err.code != -EBUSY)
				fail_msg("a race produced an error that is not BUSY: %s", err.msg);
			busy++;
			continue;
		}
		ok++;
		if (r.state == SCHEMA_COMPATIBLE) {
			assert_ids(&r.applied, all_ids, 3);
			compatible++;
		} else if (r.state == SCHEMA_INCOMPATIBLE) {
			if (r.unknown.count != 1000 || r.unknown.ids[0] != 1000 ||
			    r.unknown.ids[999] != 1999)
				fail_msg("torn read: %zu unknown ids", r.unknown.count);
			incompatible++;
		} else {
			fail_msg("misclassified as state %d", r.state);
		}
		schema_report_free(&r);
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	print_message("race: %d reads (%d compatible, %d incompatible), %d busy\n", ok, compatible,
		      incompatible, busy);
	assert_true(ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_fully_migrated_is_compatible),
		T(test_only_baseline_needs_migrations_2_and_3),
		T(test_unknown_id_99_is_incompatible),
		T(test_no_schema_migrations_table_is_all_pending),
		T(test_missing_file_is_fresh_install_and_stays_missing),
		T(test_zero_byte_file_is_fresh_install),
		T(test_zero_byte_file_keeps_a_wal_beside_it),
		T(test_text_file_is_not_a_database),
		T(test_short_file_is_not_a_database),
		T(test_truncated_database_is_an_error),
		T(test_directory_is_an_error),
		T(test_fifo_is_an_error_and_does_not_hang),
		T(test_symlink_is_refused),
		T(test_non_integer_id_is_an_error),
		T(test_real_id_is_an_error),
		T(test_rollback_journal_database_is_read),
		T(test_cleanly_closed_wal_database_is_read_without_sidecars),
		T(test_live_wal_writer_commit_only_in_wal_is_seen),
		T(test_killed_wal_writer_with_shm_is_read),
		T(test_killed_wal_writer_without_shm_is_an_error_not_a_guess),
		T(test_hot_rollback_journal_is_an_error_not_a_guess),
		T(test_closed_wal_database_is_not_read_while_a_writer_holds_pending),
		T(test_closed_wal_read_races_with_a_writer_and_never_misclassifies),
	};
	return cmocka_run_group_tests_name("classify", tests, NULL, NULL);
}
