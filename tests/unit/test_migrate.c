/* store_open(): creation, migration from every state, atomicity, refusal
 * of a newer database, and the records API on top. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const int64_t all_ids[] = { 1, 2, 3 };

static int setup(void **state)
{
	*state = tmpdir_make();
	return 0;
}

static int teardown(void **state)
{
	tmpdir_remove(*state);
	return 0;
}

static struct store *open_ok(const char *path, const struct migration_set *set, size_t *applied)
{
	struct store *s = NULL;
	struct banger_error err = { 0 };
	if (store_open(path, set, &s, applied, &err) != STORE_OK)
		fail_msg("store_open: %s", err.msg);
	return s;
}

static void expect_applied(const char *path, const int64_t *ids, size_t n)
{
	struct schema_report r;
	struct banger_error err = { 0 };
	if (classify(path, &r, &err) != 0)
		fail_msg("classify: %s", err.msg);
	assert_ids(&r.applied, ids, n);
	schema_report_free(&r);
}

/* A value from the database, as text ("" for NULL or no row). */
static char *query_text(const char *path, const char *sql)
{
	static char out[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	out[0] = '\0';
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof(out), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static void test_empty_to_last_creates_private_dir_and_file(void **state)
{
	const char *dir = path_in(*state, "state/nested");
	const char *db = path_in(dir, "banger.db");
	struct migration_set known = store_known_migrations();
	size_t applied;
	store_close(open_ok(db, &known, &applied));
	assert_int_equal(applied, 3);
	expect_applied(db, all_ids, 3);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_string_equal(query_text(db, "SELECT name FROM schema_migrations WHERE id = 3"),
			    "drop_image_arch");
	assert_string_equal(query_text(db, "PRAGMA journal_mode"), "wal");
	/* migration 3 dropped the column; migration 2 made workspaces */
	assert_string_equal(query_text(db, "SELECT count(*) FROM pragma_table_info('images')"
					   " WHERE name = 'arch'"), "0");
	assert_string_equal(query_text(db, "SELECT count(*) FROM sqlite_master"
					   " WHERE name = 'workspaces'"), "1");
}

static void migrate_from(const char *dir, int64_t from)
{
	const char *db = path_in(dir, "banger.db");
	struct migration_set known = store_known_migrations();
	size_t applied;
	db_migrate_to(db, from);
	expect_applied(db, all_ids, (size_t)from);
	store_close(open_ok(db, &known, &applied));
	assert_int_equal(applied, 3 - (size_t)from);
	expect_applied(db, all_ids, 3);
}

static void test_from_baseline_to_last(void **state) { migrate_from(*state, 1); }
static void test_from_migration_2_to_last(void **state) { migrate_from(*state, 2); }

static void test_open_of_current_database_applies_nothing(void **state)
{
	const char *db = path_in(*state, "banger.db");
	struct migration_set known = store_known_migrations();
	size_t applied;
	db_migrate_to(db, 3);
	store_close(open_ok(db, &known, &applied));
	assert_int_equal(applied, 0);
}

static int count_image(const struct image *img, void *ctx)
{
	(void)img;
	(*(int *)ctx)++;
	return 0;
}

static void test_rows_written_before_migrations_are_intact_after(void **state)
{
	const char *db = path_in(*state, "banger.db");
	struct migration_set one = migrations_upto(1), known = store_known_migrations();
	struct banger_error err = { 0 };
	int64_t image_id, vm_id;
	struct store *s = open_ok(db, &one, NULL);
	assert_int_equal(image_create(s, "debian-12", "sha256:" "0123456789abcdef0123456789abcdef"
				      "0123456789abcdef0123456789abcdef", 524288000, &image_id, &err), 0);
	assert_int_equal(vm_create(s, "dev", image_id, 2, 2048, &vm_id, &err), 0);
	store_close(s);

	s = open_ok(db, &known, NULL);
	struct image img;
	struct vm vm;
	assert_int_equal(image_get(s, image_id, &img, &err), 0);
	assert_string_equal(img.name, "debian-12");
	assert_int_equal(img.size_bytes, 524288000);
	assert_int_equal(vm_get(s, vm_id, &vm, &err), 0);
	assert_string_equal(vm.name, "dev");
	assert_int_equal(vm.image_id, image_id);
	assert_int_equal(vm.memory_mib, 2048);
	assert_string_equal(vm.state, "stopped");
	int n = 0;
	assert_int_equal(image_list(s, count_image, &n, &err), 0);
	assert_int_equal(n, 1);
	store_close(s);
	/* the table rebuild kept the foreign key from vms to images working */
	assert_string_equal(query_text(db, "SELECT count(*) FROM pragma_foreign_key_check"), "0");
}

static struct migration failing[4];

static struct migration_set with_failing(const char *sql, int rebuilds)
{
	struct migration_set known = store_known_migrations();
	memcpy(failing, known.items, 3 * sizeof(failing[0]));
	failing[3] = (struct migration){ .id = 4, .name = "broken", .sql = sql,
					 .rebuilds_tables = rebuilds };
	return (struct migration_set){ .items = failing, .count = 4 };
}

static void test_failing_migration_rolls_back_and_keeps_schema_migrations(void **state)
{
	const char *db = path_in(*state, "banger.db");
	struct migration_set set = with_failing(
		"CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);", 0);
	struct store *s;
	struct banger_error err = { 0 };
	db_migrate_to(db, 3);
	assert_int_equal(store_open(db, &set, &s, NULL, &err), STORE_FAILED);
	assert_non_null(strstr(err.msg, "migration 4 (broken) failed"));
	expect_applied(db, all_ids, 3);
	assert_string_equal(query_text(db, "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"), "0");
}

static void test_rebuild_that_breaks_a_foreign_key_is_rolled_back(void **state)
{
	const char *db = path_in(*state, "banger.db");
	struct migration_set known = store_known_migrations();
	struct migration_set set = with_failing("DELETE FROM images;", 1);
	struct store *s = open_ok(db, &known, NULL);
	struct banger_error err = { 0 };
	int64_t image_id, vm_id;
	assert_int_equal(image_create(s, "img", "sha256:" "00000000000000000000000000000000"
				      "00000000000000000000000000000000", 1, &image_id, &err), 0);
	assert_int_equal(vm_create(s, "vm", image_id, 1, 128, &vm_id, &err), 0);
	store_close(s);
	assert_int_equal(store_open(db, &set, &s, NULL, &err), STORE_FAILED);
	assert_non_null(strstr(err.msg, "foreign key"));
	expect_applied(db, all_ids, 3);
	assert_string_equal(query_text(db, "SELECT count(*) FROM images"), "1");
}

static void test_newer_database_is_refused_without_a_write(void **state)
{
	const char *db = path_in(*state, "banger.db");
	struct migration_set known = store_known_migrations();
	struct store *s = NULL;
	struct banger_error err = { 0 };
	db_migrate_to(db, 3);
	db_exec(db, "INSERT INTO schema_migrations VALUES (99, 'future', 'x')");
	struct snapshot *before = snapshot_take(*state);
	assert_int_equal(store_open(db, &known, &s, NULL, &err), STORE_INCOMPATIBLE);
	assert_null(s);
	assert_non_null(strstr(err.msg, "99"));
	/* Neither the status nor err->code can be read as another errno
	 * (STORE_INCOMPATIBLE was -2, -ENOENT). */
	assert_true(STORE_INCOMPATIBLE > 0 && STORE_FAILED > 0);
	assert_int_equal(err.code, -EPROTO);
	assert_int_equal(err.sqlite, 0);
	snapshot_assert_same(before, *state);
	snapshot_free(before);
}

static void test_two_processes_migrating_at_once_apply_each_migration_once(void **state)
{
	const char *db = path_in(*state, "banger.db");
	struct migration_set known = store_known_migrations();
	pid_t pids[4];
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct store *s;
			struct banger_error err = { 0 };
			if (store_open(db, &known, &s, NULL, &err) != STORE_OK) {
				fprintf(stderr, "child: %s\n", err.msg);
				_exit(1);
			}
			store_close(s);
			_exit(0);
		}
	}
	for (int i = 0; i < 4; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	expect_applied(db, all_ids, 3);
}

static void test_records_report_duplicates_and_missing_ids(void **state)
{
	const char *db = path_in(*state, "banger.db");
	struct migration_set known = store_known_migrations();
	struct store *s = open_ok(db, &known, NULL);
	struct banger_error err = { 0 };
	const char *digest = "sha256:" "11111111111111111111111111111111"
			     "11111111111111111111111111111111";
	int64_t id, vm;
	struct image img;
	assert_int_equal(image_create(s, "a", digest, 1, &id, &err), 0);
	assert_int_equal(image_create(s, "a", digest, 1, NULL, &err), -EEXIST);
	assert_int_equal(image_create(s, "b", "md5:x", 1, NULL, &err), -EINVAL);
	assert_int_equal(image_get(s, id + 100, &img, &err), -ENOENT);
	assert_int_equal(vm_create(s, "v", id + 100, 1, 64, NULL, &err), -EINVAL);
	assert_int_equal(vm_create(s, "v", id, 1, 64, &vm, &err), 0);
	assert_int_equal(image_delete(s, id, &err), -EINVAL);	/* a VM uses it */
	assert_int_equal(vm_delete(s, vm, &err), 0);
	assert_int_equal(vm_delete(s, vm, &err), -ENOENT);
	assert_int_equal(image_delete(s, id, &err), 0);
	assert_int_equal(image_get(s, id, &img, &err), -ENOENT);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_empty_to_last_creates_private_dir_and_file),
		T(test_from_baseline_to_last),
		T(test_from_migration_2_to_last),
		T(test_open_of_current_database_applies_nothing),
		T(test_rows_written_before_migrations_are_intact_after),
		T(test_failing_migration_rolls_back_and_keeps_schema_migrations),
		T(test_rebuild_that_breaks_a_foreign_key_is_rolled_back),
		T(test_newer_database_is_refused_without_a_write),
		T(test_two_processes_migrating_at_once_apply_each_migration_once),
		T(test_records_report_duplicates_and_missing_ids),
	};
	return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
