/* The update's database backup and its undoing, through SQLite's online
 * backup API: a consistent snapshot even while the daemon writes.
 *
 * The source is read the way schema_classify() reads it (readonly.c): not
 * one byte is written beside the live database, so a full or failing disk
 * under the state dir cannot leave a -wal or -shm behind, and a cleanly
 * closed database stays closed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/owner.h"
#include "internal.h"

#define BUSY_TIMEOUT_MS 5000

/* Copy every page of src into the file at dest, in one step: one read
 * transaction, so one snapshot. */
int store_copy_into(sqlite3 *src, const char *dest, int dest_flags, const char *dest_pragmas,
		     struct banger_error *err)
{
	sqlite3 *dst = NULL;
	int failed = 0;
	int rc = sqlite3_open_v2(dest, &dst, dest_flags | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE,
				 NULL);
	if (rc != SQLITE_OK) {
		failed = store_sqlite_error(err, dst, rc, dest, "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(dst, BUSY_TIMEOUT_MS);
	if (dest_pragmas && (rc = sqlite3_exec(dst, dest_pragmas, NULL, NULL, NULL)) != SQLITE_OK) {
		failed = store_sqlite_error(err, dst, rc, dest, "cannot prepare the copy");
		goto out;
	}
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL) {
		rc = sqlite3_extended_errcode(dst);
		failed = store_sqlite_error(err, dst, rc, dest, "cannot start the copy");
		goto out;
	}
	/* Busy: each side's busy handler waited already (the destination's
	 * for BUSY_TIMEOUT_MS, the source's as store_read_consistent says). */
	rc = sqlite3_backup_step(b, -1);
	int fin = sqlite3_backup_finish(b);
	if (rc == SQLITE_DONE)
		rc = fin;
	if (rc != SQLITE_OK)
		failed = store_sqlite_error(err, dst, rc, dest, "cannot copy into it");
out:
	sqlite3_close_v2(dst);
	return failed;
}

/* Bytes 18 and 19 of the header: the file format's write and read
 * versions, 1 for a rollback-journal database, 2 for WAL (fileformat2.html,
 * "File format version numbers"). A copy of a WAL database says 2, and
 * every later open of it - the restore's included - would then need a -wal
 * and a -shm beside it. The copy has no WAL content (it was written with
 * journal_mode OFF), so saying 1 makes it the plain one-file database it is;
 * PRAGMA journal_mode = DELETE would say the same, but only after creating
 * both sidecars, which a full disk refuses. */
int store_copy_make_plain(const char *dest, struct banger_error *err)
{
	static const unsigned char rollback[2] = { 1, 1 };
	struct stat st;
	int fd = open(dest, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc = fd >= 0 && fstat(fd, &st) == 0 &&
		 (st.st_size == 0 || pwrite(fd, rollback, 2, 18) == 2) &&	/* 0 pages: no header */
		 fsync(fd) == 0 ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		banger_error_set(err, rc, "%s: %s", dest, strerror(-rc));
	return rc;
}

int store_copy_snapshot(sqlite3 *src, const char *path, void *ctx, struct banger_error *err)
{
	(void)path;
	const char *dest = ctx;
	/* Afresh each time: a copy thrown away by a retry leaves no page.
	 * Through a descriptor of the file itself, never a path that a
	 * symlink could send elsewhere. */
	struct stat st;
	int fd = open(dest, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int rc = fd < 0 ? -errno : fstat(fd, &st) != 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL
		 : ftruncate(fd, 0) != 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		return banger_error_set(err, rc, "%s: %s", dest, strerror(-rc));
	/* A private file, renamed into place only when complete: no journal
	 * to leave behind, and our own fsync (store_copy_make_plain) before the
	 * rename. */
	rc = store_copy_into(src, dest, SQLITE_OPEN_READWRITE,
			   "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF", err);
	return rc == 0 ? store_copy_make_plain(dest, err) : rc;
}

static int tmp_path(const char *dest, char *tmp, size_t size)
{
	return snprintf(tmp, size, "%s.tmp", dest) < (int)size ? 0 : -ENAMETOOLONG;
}

void store_backup_abandon(const char *dest)
{
	char tmp[PATH_MAX + 8];
	if (tmp_path(dest, tmp, sizeof(tmp)) == 0)
		(void)unlink(tmp);	/* nothing there: nothing to abandon */
}

/* The rename is durable only once its directory is: the journal that
 * names the backup may live in another directory (the updater's), whose
 * fsync says nothing about this one (make powercut found a rollback with
 * no backup to restore, after a power cut, without this). */
static int fsync_dir_of(const char *dest, struct banger_error *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", dest);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = '\0';	/* "/x" -> "/" */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 || fsync(fd) != 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return rc ? banger_error_set(err, rc, "%s: %s", dir, strerror(-rc)) : 0;
}

int store_backup(const char *path, const char *dest, struct banger_error *err)
{
	char tmp[PATH_MAX + 8];
	if (tmp_path(dest, tmp, sizeof(tmp)) != 0)
		return banger_error_set(err, -ENAMETOOLONG, "%s: path too long", dest);
	(void)unlink(tmp);	/* what a killed backup left; O_EXCL below says if it stayed */
	struct banger_owner owner;
	int rc = banger_owner_of(path, &owner);
	if (rc != 0)
		return banger_error_set(err, rc, "%s: %s", path, strerror(-rc));
	/* 0600 and the database owner's before SQLite writes a byte of it. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return banger_error_set(err, -errno, "%s: %s", tmp, strerror(errno));
	rc = banger_owner_give_fd(fd, &owner);
	close(fd);
	if (rc != 0) {
		(void)unlink(tmp);	/* the chown's error is the one to report */
		return banger_error_set(err, rc, "%s: cannot give it to the database's owner: %s", tmp,
					strerror(-rc));
	}
	rc = store_read_consistent(path, store_copy_snapshot, tmp, err);
	if (rc == STORE_READ_FRESH)
		rc = 0;	/* nothing there yet: an empty file is an empty database */
	if (rc == 0 && rename(tmp, dest) != 0)	/* fsynced by store_copy_make_plain() */
		rc = banger_error_set(err, -errno, "%s: %s", dest, strerror(errno));
	if (rc == 0)
		rc = fsync_dir_of(dest, err);
	if (rc != 0)
		(void)unlink(tmp);	/* best effort: the next update's recovery removes it too */
	return rc;
}

/* The restored database and whatever SQLite made beside it belong to the
 * database's owner, as they did before (root's SQLite gives its sidecars
 * the main file's owner, but a main file it had to create is root's). */
static int give_back(const char *path, const struct banger_owner *owner, struct banger_error *err)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char file[PATH_MAX + 16];
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		int rc = banger_owner_give_path(file, owner);
		if (rc != 0)
			return banger_error_set(err, rc, "%s: cannot give it back to its owner: %s", file,
						strerror(-rc));
	}
	return 0;
}

int store_restore(const char *backup, const char *path, struct banger_error *err)
{
	sqlite3 *src = NULL;
	/* The database's owner; the backup's when the database is gone
	 * (store_backup gave it the same owner). */
	struct stat st;
	if (lstat(path, &st) != 0 && lstat(backup, &st) != 0)
		return banger_error_set(err, -errno, "%s: %s", backup, strerror(errno));
	struct banger_owner owner = { st.st_uid, st.st_gid };
	int rc = sqlite3_open_v2(backup, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW |
				 SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK)
		rc = store_sqlite_error(err, src, rc, backup, "cannot open the backup");
	else
		rc = store_copy_into(src, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL, err);
	sqlite3_close_v2(src);
	return rc == 0 ? give_back(path, &owner, err) : rc;
}
