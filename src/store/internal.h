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
 * code N)", err->code = the extended code) and return -1. */
int store_sqlite_error(struct banger_error *err, sqlite3 *db, int rc, const char *path,
		       const char *what);

int id_list_push(struct id_list *list, int64_t id);

/* The read-write store's handle and path, for records.c. */
sqlite3 *store_db(struct store *s);
const char *store_path(struct store *s);
void store_utc_now(char *buf, size_t size);

#endif
