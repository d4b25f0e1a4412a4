/* fixture: builds real databases for the bats suites and the demo, through
 * the store's own API (not a copy of its SQL).
 *
 *   fixture migrate DB N        apply migrations 1..N (creating DB)
 *   fixture seed DB N           at schema N: add three images and two VMs
 *   fixture list DB             print the images and VMs
 *   fixture dump DB             every row of every table, for comparing two
 *                               databases' contents exactly
 *   fixture exec DB SQL         run SQL in a plain read-write connection
 *   fixture integrity DB        PRAGMA integrity_check, read-only: prints
 *                               SQLite's answer, exits 0 only for "ok"
 *   fixture hold DB JOURNAL commit|open SQL
 *                               a writer that stays: journal_mode JOURNAL,
 *                               no automatic checkpoint, a one-page cache
 *                               (so an open transaction spills into the main
 *                               file and its journal is hot), runs SQL in a
 *                               transaction, commits it or leaves it open,
 *                               prints "ready" and waits for end of input
 *   fixture write-rate DB SECONDS [SLICE_MS]
 *                               a live writer for make bench: opens DB
 *                               through the store (WAL, synchronous FULL,
 *                               as bangerd does), commits one small
 *                               transaction (an image row) after another
 *                               for SECONDS, prints "COMMITS SECONDS RATE"
 *                               (RATE in commits per second); with
 *                               SLICE_MS, first "slice FROM COMMITS" for
 *                               each slice of that many milliseconds (FROM
 *                               in CLOCK_MONOTONIC milliseconds)
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banger/store.h"

static struct migration_set upto(const char *n)
{
	struct migration_set set = store_known_migrations();
	int64_t max = strtoll(n, NULL, 10);
	size_t count = 0;
	while (count < set.count && set.items[count].id <= max)
		count++;
	set.count = count;
	return set;
}

static struct store *open_at(const char *db, const char *n)
{
	struct migration_set set = upto(n);
	struct store *s;
	struct banger_error err = { 0 };
	if (store_open(db, &set, &s, NULL, &err) != STORE_OK) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		exit(1);
	}
	return s;
}

static int print_image(const struct image *i, void *ctx)
{
	(void)ctx;
	printf("image %" PRId64 " %s %" PRId64 " bytes\n", i->id, i->name, i->size_bytes);
	return 0;
}

static int print_vm(const struct vm *v, void *ctx)
{
	(void)ctx;
	printf("vm %" PRId64 " %s image=%" PRId64 " vcpus=%d memory=%dMiB %s\n", v->id, v->name,
	       v->image_id, v->vcpus, v->memory_mib, v->state);
	return 0;
}

static void check(int rc, const struct banger_error *err)
{
	if (rc != 0) {
		fprintf(stderr, "fixture: %s\n", err->msg);
		exit(1);
	}
}

static double seconds_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One image row per transaction, through the store's own connection
 * settings, so that the rate is the one bangerd itself would see. Names
 * carry the start time and the pid: several runs can write into the same
 * database, and a pid can come back. */
static int write_rate(const char *db, const char *seconds, const char *slice)
{
	struct banger_error err = { 0 };
	struct migration_set known = store_known_migrations();
	struct store *s;
	double length = strtod(seconds, NULL);
	double slice_s = slice ? strtod(slice, NULL) / 1e3 : 0;
	if (length <= 0) {
		fprintf(stderr, "fixture: write-rate: SECONDS must be > 0\n");
		return 64;
	}
	if (store_open(db, &known, &s, NULL, &err) != STORE_OK) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		return 1;
	}
	char digest[80];
	snprintf(digest, sizeof(digest), "sha256:%064d", 0);
	long commits = 0, in_slice = 0;
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	double start = seconds_now(), now = start, slice_start = start;
	while (now - start < length) {
		char name[64];
		int64_t id;
		snprintf(name, sizeof(name), "write-rate-%lld.%09ld-%ld-%ld", (long long)wall.tv_sec,
			 wall.tv_nsec, (long)getpid(), commits);
		check(image_create(s, name, digest, commits, &id, &err), &err);
		commits++;
		in_slice++;
		now = seconds_now();
		if (slice_s > 0 && now - slice_start >= slice_s) {
			printf("slice %.3f %ld\n", slice_start * 1e3, in_slice);
			slice_start = now;
			in_slice = 0;
		}
	}
	store_close(s);
	printf("%ld %.3f %.1f\n", commits, now - start, (double)commits / (now - start));
	return 0;
}

/* The judge of make faults: a database that an update was killed over
 * must still be a sound SQLite file, whatever its rows say. */
static int integrity(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int ok = 0, rows = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "fixture: %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		printf("%s\n", line ? line : "NULL");
		ok = rows++ == 0 && line && strcmp(line, "ok") == 0;
	}
	if (rows == 0)
		fprintf(stderr, "fixture: %s: %s\n", path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok ? 0 : 1;
}

int main(int argc, char *argv[])
{
	struct banger_error err = { 0 };
	if (argc == 4 && strcmp(argv[1], "migrate") == 0) {
		store_close(open_at(argv[2], argv[3]));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "seed") == 0) {
		static const char *const names[] = { "debian-12", "alpine-3.19", "ubuntu-24.04" };
		struct store *s = open_at(argv[2], argv[3]);
		int64_t ids[3], vm;
		for (int i = 0; i < 3; i++) {
			char digest[80];
			snprintf(digest, sizeof(digest), "sha256:%064d", i + 1);
			check(image_create(s, names[i], digest, (int64_t)(i + 1) << 28, &ids[i], &err), &err);
		}
		check(vm_create(s, "dev", ids[0], 2, 2048, &vm, &err), &err);
		check(vm_create(s, "ci-runner", ids[1], 4, 4096, &vm, &err), &err);
		store_close(s);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "list") == 0) {
		/* Open at the schema the database already has: no migration. */
		struct schema_report r;
		struct migration_set known = store_known_migrations();
		check(schema_classify(argv[2], &known, &r, &err), &err);
		char n[32];
		snprintf(n, sizeof(n), "%" PRId64, r.applied.count ? r.applied.ids[r.applied.count - 1] : 0);
		schema_report_free(&r);
		struct store *s = open_at(argv[2], n);
		check(image_list(s, print_image, NULL, &err), &err);
		check(vm_list(s, print_vm, NULL, &err), &err);
		store_close(s);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "dump") == 0) {
		sqlite3 *db;
		sqlite3_stmt *tables, *rows;
		if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
				       " ORDER BY name", -1, &tables, NULL) != SQLITE_OK) {
			fprintf(stderr, "fixture: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		while (sqlite3_step(tables) == SQLITE_ROW) {
			char sql[256];
			printf("table %s: %s\n", sqlite3_column_text(tables, 0), sqlite3_column_text(tables, 1));
			snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY rowid",
				 sqlite3_column_text(tables, 0));
			if (sqlite3_prepare_v2(db, sql, -1, &rows, NULL) != SQLITE_OK)
				return 1;
			while (sqlite3_step(rows) == SQLITE_ROW) {
				for (int c = 0; c < sqlite3_column_count(rows); c++)
					printf("%s%s", c ? "|" : "  ",
					       sqlite3_column_text(rows, c) ? (const char *)sqlite3_column_text(rows, c) : "NULL");
				putchar('\n');
			}
			sqlite3_finalize(rows);
		}
		sqlite3_finalize(tables);
		sqlite3_close(db);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "exec") == 0) {
		sqlite3 *db;
		char *msg = NULL;
		if (sqlite3_open(argv[2], &db) != SQLITE_OK ||
		    sqlite3_exec(db, argv[3], NULL, NULL, &msg) != SQLITE_OK) {
			fprintf(stderr, "fixture: %s\n", msg ? msg : sqlite3_errmsg(db));
			return 1;
		}
		sqlite3_close(db);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "integrity") == 0)
		return integrity(argv[2]);
	if (argc == 6 && strcmp(argv[1], "hold") == 0) {
		sqlite3 *db;
		char setup[200];
		snprintf(setup, sizeof(setup),
			 "PRAGMA journal_mode=%s; PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=1;"
			 " BEGIN;", argv[3]);
		if (sqlite3_open(argv[2], &db) != SQLITE_OK ||
		    sqlite3_exec(db, setup, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, argv[5], NULL, NULL, NULL) != SQLITE_OK ||
		    (strcmp(argv[4], "commit") == 0 &&
		     sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)) {
			fprintf(stderr, "fixture: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		printf("ready\n");
		fflush(stdout);
		while (getchar() != EOF)
			;
		sqlite3_close(db);
		return 0;
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "write-rate") == 0)
		return write_rate(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	fputs("usage: fixture migrate|seed DB N | list DB | exec DB SQL | hold DB J commit|open SQL"
	      " | integrity DB | write-rate DB SECONDS [SLICE_MS]\n", stderr);
	return 64;
}
