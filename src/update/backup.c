/* BACKUP and its undoing: SQLite's online backup API, which copies a
 * consistent snapshot even while the daemon writes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "banger/update.h"

static int copy_db(const char *from, const char *to, struct banger_error *err)
{
	sqlite3 *src = NULL, *dst = NULL;
	int rc = sqlite3_open_v2(from, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(src, 5000);
		sqlite3_busy_timeout(dst, 5000);
		sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
		if (b == NULL) {
			rc = sqlite3_errcode(dst);
		} else {
			while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY ||
			       rc == SQLITE_LOCKED)
				sqlite3_sleep(5);
			int fin = sqlite3_backup_finish(b);
			rc = rc == SQLITE_DONE ? fin : rc;
		}
	}
	if (rc != SQLITE_OK)
		banger_error_set(err, rc, "cannot copy %s to %s: %s", from, to,
				 sqlite3_errstr(rc));
	sqlite3_close_v2(src);
	sqlite3_close_v2(dst);
	return rc == SQLITE_OK ? 0 : -EIO;
}

int update_backup_db(const char *db, const char *backup, struct banger_error *err)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", backup);
	unlink(tmp);
	/* 0600 before SQLite writes a byte of it. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return banger_error_set(err, -errno, "%s: %s", tmp, strerror(errno));
	close(fd);
	int rc = copy_db(db, tmp, err);
	if (rc == 0) {
		/* The backup is a rollback journal database, closed: one file. */
		fd = open(tmp, O_RDONLY | O_CLOEXEC);
		rc = fd >= 0 && fsync(fd) == 0 ? 0 : -errno;
		if (fd >= 0)
			close(fd);
		if (rc == 0 && rename(tmp, backup) != 0)
			rc = -errno;
		if (rc != 0)
			banger_error_set(err, rc, "%s: %s", backup, strerror(-rc));
	}
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int update_restore_db(const char *backup, const char *db, struct banger_error *err)
{
	return copy_db(backup, db, err);
}
