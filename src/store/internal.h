/* Private to the store module. */
#ifndef BANGER_STORE_INTERNAL_H
#define BANGER_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "banger/store.h"

/* Name of a VFS that opens every file read-only and never deletes one:
 * registered on first use, see readonly_vfs.c. Returns NULL if SQLite
 * could not register it. */
const char *store_readonly_vfs(void);

/* Write "file:" + path, percent-escaped, into a malloc'd string. */
char *store_file_uri(const char *path, const char *query);

/* Read the applied migration ids in one read transaction on db. Sets
 * *has_table. Fails (with err) on any SQLite error, on a row whose id is not
 * an INTEGER, and on more than STORE_MAX_APPLIED rows. */
#define STORE_MAX_APPLIED 100000
int store_read_applied(sqlite3 *db, const char *path, struct id_list *applied,
		       struct banger_error *err);
/* The same, inside a transaction the caller holds, on a database known to
 * have schema_migrations. */
int store_read_ids(sqlite3 *db, const char *path, struct id_list *applied,
		   struct banger_error *err);

/* Record a failed SQLite call on path ("path: what: errmsg (SQLite extended
 * code N)", err->sqlite = the extended code, err->code = the nearest
 * errno: -EBUSY, -ENOSPC, -ENOMEM, -EACCES, else -EIO) and return
 * err->code. */
int store_sqlite_error(struct banger_error *err, sqlite3 *db, int rc, const char *path,
		       const char *what);

/* Call fn on a read-only connection to the database at path that sees one
 * consistent snapshot, without creating, changing or deleting any file
 * (readonly.c says how, for every state a database can be in). fn may be
 * called more than once - when a writer moved underneath, its result is
 * thrown away and the read done again - so it must start afresh each time;
 * it returns 0, or < 0 with err set by store_sqlite_error() (-EBUSY there
 * means "retry"). Returns 0 after fn succeeded, STORE_READ_FRESH when
 * the file is missing or empty (a fresh install: fn is not called), or a
 * negative value with err set. */
#define STORE_READ_FRESH 2
typedef int (*store_read_fn)(sqlite3 *db, const char *path, void *ctx, struct banger_error *err);
int store_read_consistent(const char *path, store_read_fn fn, void *ctx,
			  struct banger_error *err);

/* Copy one snapshot of src (one read transaction) into the database file
 * at dest, opened with dest_flags, after running dest_pragmas on it (or
 * NULL). 0, or -1 with err (store_sqlite_error). backup.c. */
int store_copy_into(sqlite3 *src, const char *dest, int dest_flags, const char *dest_pragmas,
		    struct banger_error *err);
/* Make the copy at dest (written with journal_mode OFF) a plain
 * rollback-journal database whose header needs no sidecar, and fsync it.
 * 0 or a negative errno with err. backup.c says why. */
int store_copy_make_plain(const char *dest, struct banger_error *err);

/* A store_read_fn: one snapshot of src into the existing regular file
 * ctx (a path; emptied first through its own descriptor, never followed),
 * made a plain one-file database and fsynced. The backup's and the
 * rehearsal's copy. backup.c. */
int store_copy_snapshot(sqlite3 *src, const char *path, void *ctx, struct banger_error *err);

int id_list_push(struct id_list *list, int64_t id);

/* The read-write store's handle and path, for records.c. */
sqlite3 *store_db(struct store *s);
const char *store_path(struct store *s);
void store_utc_now(char *buf, size_t size);

#endif
