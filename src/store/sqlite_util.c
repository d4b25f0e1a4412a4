/* Helpers shared by the read-only and the read-write halves of the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The errno nearest to a SQLite result code: what a caller may act on
 * (retry a busy database, report a full disk); the code itself stays in
 * err->sqlite. */
static int errno_of(int code)
{
	switch (code & 0xff) {
	case SQLITE_BUSY: return -EBUSY;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH: return -EACCES;
	default: return -EIO;
	}
}

int store_sqlite_error(struct banger_error *err, sqlite3 *db, int rc, const char *path,
		       const char *what)
{
	int code = db ? sqlite3_extended_errcode(db) : rc;
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	if (code == SQLITE_OK)	/* the handle did not record it */
		code = rc;
	int errnum = errno_of(code);
	banger_error_set(err, errnum, "%s: %s: %s (SQLite extended code %d)", path, what, msg,
			 code);
	if (err)
		err->sqlite = code;
	return errnum;
}

char *store_file_uri(const char *path, const char *query)
{
	/* RFC 3986 unreserved characters and '/' pass; everything else -
	 * '?', '#', '%', spaces, bytes >= 0x80 - is %XX, so that no path can
	 * smuggle URI parameters (such as immutable=1) into the open. */
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *uri = malloc(5 + 3 * n + 1 + strlen(query) + 1);
	if (uri == NULL)
		return NULL;
	char *p = stpcpy(uri, "file:");
	for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~/", *s) != NULL) {
			*p++ = (char)*s;
		} else {
			*p++ = '%';
			*p++ = hex[*s >> 4];
			*p++ = hex[*s & 15];
		}
	}
	*p++ = '?';
	memcpy(p, query, strlen(query) + 1);	/* sized for it above */
	return uri;
}

int store_read_ids(sqlite3 *db, const char *path, struct id_list *applied,
		   struct banger_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT id, typeof(id) FROM schema_migrations ORDER BY id",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(err, db, rc, path, "cannot read schema_migrations");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 1);
		if (type == NULL || strcmp(type, "integer") != 0) {
			const unsigned char *v = sqlite3_column_text(st, 0);
			char shown[40];
			/* Show the offending value, printable bytes only, cut short. */
			size_t i = 0;
			for (; v && v[i] && i < sizeof(shown) - 1; i++)
				shown[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? (char)v[i] : '?';
			shown[i] = '\0';
			rc = banger_error_set(err, -EINVAL,
					      "%s: schema_migrations holds an id that is not an integer: %s '%s'",
					      path, type ? type : "?", shown);
			goto out;
		}
		if (applied->count >= STORE_MAX_APPLIED) {
			rc = banger_error_set(err, -E2BIG, "%s: schema_migrations holds more than %d rows",
					      path, STORE_MAX_APPLIED);
			goto out;
		}
		if (id_list_push(applied, sqlite3_column_int64(st, 0)) < 0) {
			rc = banger_error_set(err, -ENOMEM, "%s: out of memory", path);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = store_sqlite_error(err, db, rc, path, "cannot read schema_migrations");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int store_read_applied(sqlite3 *db, const char *path, struct id_list *applied,
		       struct banger_error *err)
{
	/* One read transaction for both queries: the table's existence and its
	 * rows come from the same snapshot. */
	int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(err, db, rc, path, "cannot begin a read transaction");

	sqlite3_stmt *st = NULL;
	rc = sqlite3_prepare_v2(db,
				"SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				" AND name = 'schema_migrations'",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = store_sqlite_error(err, db, rc, path, "cannot read the schema");
		sqlite3_finalize(st);
		goto out;
	}
	int has_table = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	rc = has_table ? store_read_ids(db, path, applied, err) : 0;
out:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
