/* Shared fixtures for the cmocka suites: temporary directories, byte-exact
 * snapshots of a directory, databases built by the real store, and writer
 * processes that hold a database open in another process. */
#ifndef BANGER_TEST_SUPPORT_H
#define BANGER_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

#include "banger/store.h"

/* A new empty directory under $TMPDIR (or /tmp); removed by tmpdir_remove. */
char *tmpdir_make(void);
void tmpdir_remove(char *dir);
/* dir + "/" + name in a static ring of buffers (valid for a few calls). */
const char *path_in(const char *dir, const char *name);

/* Every entry of dir: name, type, mode, owner, size and, for files, bytes. */
struct snapshot;
struct snapshot *snapshot_take(const char *dir);
/* Fails the test, naming the first difference, unless dir matches snap. */
void snapshot_assert_same(struct snapshot *snap, const char *dir);
void snapshot_free(struct snapshot *snap);

/* The known migrations with ids <= upto. */
struct migration_set migrations_upto(int64_t upto);
/* Create path and apply migrations 1..upto with the real store. */
void db_migrate_to(const char *path, int64_t upto);
/* Run SQL on path in a plain read-write connection (journal mode as is). */
void db_exec(const char *path, const char *sql);

/* A writer in a child process: opens path, runs setup_sql, runs sql in a
 * transaction, reports on a pipe, then waits until killed or released. */
struct writer {
	pid_t pid;
	int release_fd;
};
/* journal "wal" or "delete"; commit != 0 commits sql, else leaves it open
 * mid-transaction (with a spilled cache, so the journal is hot). */
void writer_start(struct writer *w, const char *path, const char *journal, const char *sql,
		  int commit);
void writer_kill(struct writer *w);	/* SIGKILL and reap */
void writer_release(struct writer *w);	/* clean close and reap */

/* Classify against every known migration; returns schema_classify's rc. */
int classify(const char *path, struct schema_report *r, struct banger_error *err);
/* Assert r's applied ids are exactly ids[0..n). */
void assert_ids(const struct id_list *l, const int64_t *ids, size_t n);

#endif
