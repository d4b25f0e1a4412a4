/* store_read_consistent(): one consistent read-only view of a database,
 * writing nothing beside it - the ground of schema_classify() and of
 * store_backup().
 *
 * How each state of the database is read (DESIGN.md "Reading the database
 * without writing it"; measured on SQLite 3.40.1):
 *
 *   missing file, 0-byte file      a fresh install (STORE_READ_FRESH):
 *                                  SQLite never sees it (on a 0-byte file it
 *                                  would unlink a -wal beside it).
 *   symlink, directory, FIFO, device, short or non-SQLite header
 *                                  refused before SQLite: open() uses
 *                                  O_NOFOLLOW|O_NONBLOCK, so a FIFO cannot
 *                                  hang us, and fstat() wants a regular file.
 *   header says WAL, no -wal       a cleanly closed WAL database: complete in
 *                                  its main file, but SQLite's read-only open
 *                                  would need to create -wal/-shm. Read under
 *                                  our own shared lock with immutable=1; see
 *                                  read_closed_wal() for why that is sound.
 *   anything else                  SQLite's own read-only path through the
 *                                  readonly VFS (no create, no delete) with
 *                                  readonly_shm=1: a live WAL writer and a
 *                                  crashed one with both sidecars read
 *                                  correctly; a -wal without -shm (14) and a
 *                                  hot rollback journal (776) are refused by
 *                                  SQLite itself, and we report its code.
 *
 * BUSY is retried for a bounded time; every other failure is reported with
 * the path and SQLite's extended code, never turned into a guess.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* os_unix.c's lock layout: a reader holds a read lock on the shared range;
 * a writer about to take EXCLUSIVE holds a write lock on the pending byte. */
#define SQLITE_PENDING_BYTE 0x40000000
#define SQLITE_SHARED_FIRST (SQLITE_PENDING_BYTE + 2)
#define SQLITE_SHARED_SIZE 510

#define HEADER_SIZE 100
/* A writer that holds its lock longer than about three seconds in all gets
 * exit 3 (BUSY), not an unbounded wait: an update must not hang on it. */
#define BUSY_TIMEOUT_MS 200
#define ATTEMPTS 12

struct header {
	unsigned page_size;
	unsigned char read_version;	/* 1 rollback journal, 2 WAL */
	uint32_t change_counter;
	uint32_t pages;			/* 0 when the header's count is not valid */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int parse_header(int fd, const char *path, struct header *h, struct banger_error *err)
{
	unsigned char b[HEADER_SIZE];
	ssize_t n = pread(fd, b, sizeof(b), 0);
	if (n < 0)
		return banger_error_set(err, -errno, "%s: cannot read: %s", path, strerror(errno));
	if (n < HEADER_SIZE || memcmp(b, "SQLite format 3", 16) != 0)
		return banger_error_set(err, -EINVAL, "%s: not a SQLite database", path);
	h->page_size = (unsigned)b[16] << 8 | b[17];
	if (h->page_size == 1)
		h->page_size = 65536;
	if (h->page_size < 512 || (h->page_size & (h->page_size - 1)) != 0)
		return banger_error_set(err, -EINVAL, "%s: corrupt header: page size %u", path,
					h->page_size);
	h->read_version = b[19];
	if (b[18] < 1 || b[18] > 2 || b[19] < 1 || b[19] > 2)
		return banger_error_set(err, -EINVAL,
					"%s: unsupported file format (write %u, read %u)", path,
					b[18], b[19]);
	h->change_counter = be32(b + 24);
	/* The in-header page count is valid only when "version-valid-for"
	 * matches the change counter (fileformat2.html, offset 28). */
	h->pages = be32(b + 92) == h->change_counter ? be32(b + 28) : 0;
	return 0;
}

static int sidecar_exists(const char *path, const char *suffix)
{
	char name[PATH_MAX + 16];
	struct stat st;
	snprintf(name, sizeof(name), "%s%s", path, suffix);
	return lstat(name, &st) == 0 || errno != ENOENT;
}

/* Which sidecars exist, by inode: a writer that opens or closes the
 * database between our look and SQLite's open changes this, and then a
 * failure of SQLite's open is the race, not the state, and worth a retry. */
struct sidecars {
	/* Per -wal, -shm, -journal: inode and change time (a file deleted and
	 * made again often gets its inode number back, never its ctime);
	 * zero when absent. */
	struct {
		ino_t ino;
		struct timespec ctime;
	} file[3];
};

static void sidecars_read(const char *path, struct sidecars *sc)
{
	static const char *const suffix[] = { "-wal", "-shm", "-journal" };
	memset(sc, 0, sizeof(*sc));
	for (int i = 0; i < 3; i++) {
		char name[PATH_MAX + 16];
		struct stat st;
		snprintf(name, sizeof(name), "%s%s", path, suffix[i]);
		if (lstat(name, &st) == 0) {
			sc->file[i].ino = st.st_ino;
			sc->file[i].ctime = st.st_ctim;
		}
	}
}

static int set_read_lock(int fd, off_t start, off_t len, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, F_OFD_SETLK, &fl);
}

struct reader {
	store_read_fn fn;
	void *ctx;
};

/* Open path through the readonly VFS with the given URI query, then read. */
static int read_with_sqlite(const char *path, const char *query, const struct reader *rd,
			    struct banger_error *err)
{
	const char *vfs = store_readonly_vfs();
	if (vfs == NULL)
		return banger_error_set(err, -ENOSYS, "%s: cannot register the read-only VFS", path);
	char *uri = store_file_uri(path, query);
	if (uri == NULL)
		return banger_error_set(err, -ENOMEM, "%s: out of memory", path);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(uri, &db,
				 SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW |
				 SQLITE_OPEN_EXRESCODE, vfs);
	free(uri);
	if (rc != SQLITE_OK) {
		rc = store_sqlite_error(err, db, rc, path, "cannot open read-only");
		goto out;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	/* Sorting must not spill into a temporary file (the VFS refuses them). */
	sqlite3_exec(db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
	rc = rd->fn(db, path, rd->ctx, err);
out:
	/* Close at once: an open reader pins the writer's checkpoints. */
	sqlite3_close_v2(db);
	return rc;
}

static int same_file(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* A cleanly closed WAL database: no -wal beside it. Why this is sound:
 * - Our OFD read locks on the pending byte and the shared range are the
 *   lock a SQLite reader holds. While we hold them no connection can take
 *   EXCLUSIVE, so none can write the main file in rollback mode, switch the
 *   journal mode, or delete a -wal (SQLite deletes it only under EXCLUSIVE,
 *   when the last connection closes).
 * - The main file changes otherwise only by a WAL checkpoint, which needs
 *   a -wal. A writer that starts while we read creates one, and by the
 *   point above that -wal is still there when we look again.
 * So: lock, see no -wal, read with immutable=1 (no locks, no sidecars),
 * see still no -wal, the same inode and the same change counter, unlock.
 * If anything moved, the result is thrown away and we read again.
 * OFD locks, not POSIX ones: closing SQLite's own descriptor for the file
 * would drop a process-associated lock under our feet.
 * Returns 0, 1 (retry: something moved or a lock was busy) or < 0. */
static int read_closed_wal(int fd, const char *path, const struct header *h,
			   const struct reader *rd, struct banger_error *err)
{
	if (set_read_lock(fd, SQLITE_PENDING_BYTE, 1, F_RDLCK) < 0 ||
	    set_read_lock(fd, SQLITE_SHARED_FIRST, SQLITE_SHARED_SIZE, F_RDLCK) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			return banger_error_set(err, -EBUSY, "%s: a writer holds the database lock", path), 1;
		return banger_error_set(err, -errno, "%s: cannot lock: %s", path, strerror(errno));
	}
	int rc = 1;
	if (sidecar_exists(path, "-wal") || !same_file(fd, path))
		goto out;	/* a writer came or the file was replaced: start over */
	rc = read_with_sqlite(path, "immutable=1", rd, err);
	if (rc != 0)
		goto out;
	struct header again = { 0 };
	if (sidecar_exists(path, "-wal") || !same_file(fd, path) ||
	    parse_header(fd, path, &again, err) != 0 ||
	    again.change_counter != h->change_counter)
		rc = 1;
out:
	set_read_lock(fd, SQLITE_PENDING_BYTE, SQLITE_SHARED_SIZE + 2, F_UNLCK);
	return rc;
}

static int check_not_truncated(const char *path, const struct header *h, off_t size,
			       struct banger_error *err)
{
	if (h->pages != 0 && (uint64_t)size < (uint64_t)h->pages * h->page_size)
		return banger_error_set(err, -EINVAL,
					"%s: truncated: the header says %u pages of %u bytes, the file holds %lld bytes",
					path, h->pages, h->page_size, (long long)size);
	return 0;
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	default: return "not a regular file";
	}
}

static int is_busy(const struct banger_error *err)
{
	return err->code == -EBUSY;	/* ours, or SQLite's BUSY (store_sqlite_error) */
}

/* A failure of our own system calls, or of writing (the backup's copy on a
 * full or failing disk), is no race with a writer: reading again cannot
 * help. */
static int is_final(const struct banger_error *err)
{
	return err->sqlite == 0 || (err->sqlite & 0xff) == SQLITE_FULL ||
	       err->sqlite == SQLITE_IOERR_WRITE || err->sqlite == SQLITE_IOERR_FSYNC ||
	       err->sqlite == SQLITE_IOERR_TRUNCATE;
}

/* One attempt. Returns 0, 1 to retry, or < 0. */
static int read_once(const char *path, const struct reader *rd, struct banger_error *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return STORE_READ_FRESH;
		if (errno == ELOOP)
			return banger_error_set(err, -ELOOP, "%s: is a symbolic link; refusing to follow it", path);
		return banger_error_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	}
	struct stat st;
	struct header h = { 0 };
	int rc;
	if (fstat(fd, &st) < 0) {
		rc = banger_error_set(err, -errno, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = banger_error_set(err, -EINVAL, "%s: is %s, not a database file", path,
				      file_kind(st.st_mode));
		goto out;
	}
	if (st.st_size == 0) {
		rc = STORE_READ_FRESH;
		goto out;
	}
	rc = parse_header(fd, path, &h, err);
	if (rc != 0)
		goto out;
	int has_wal = sidecar_exists(path, "-wal");
	if (!has_wal) {
		rc = check_not_truncated(path, &h, st.st_size, err);
		if (rc != 0)
			goto out;
	}
	if (h.read_version == 2 && !has_wal) {
		rc = read_closed_wal(fd, path, &h, rd, err);
	} else {
		struct sidecars before, after;
		sidecars_read(path, &before);
		rc = read_with_sqlite(path, "mode=ro&readonly_shm=1", rd, err);
		sidecars_read(path, &after);
		if (rc < 0 && !is_final(err) && memcmp(&before, &after, sizeof(before)) != 0)
			rc = 1;	/* a writer came or went while SQLite opened */
	}
	if (rc < 0 && is_busy(err))
		rc = 1;
out:
	close(fd);
	return rc;
}

int store_read_consistent(const char *path, store_read_fn fn, void *ctx,
			  struct banger_error *err)
{
	const struct reader rd = { fn, ctx };
	int rc = 1;
	for (int attempt = 0; attempt < ATTEMPTS && rc == 1; attempt++) {
		if (attempt > 0) {
			struct timespec pause = { 0, 50 * 1000 * 1000 };	/* +200 ms busy wait */
			nanosleep(&pause, NULL);
		}
		banger_error_clear(err);
		rc = read_once(path, &rd, err);
	}
	if (rc == 1) {
		if (err == NULL || err->msg[0] == '\0')
			banger_error_set(err, -EBUSY, "%s: the database kept changing while it was read", path);
		return -EBUSY;
	}
	return rc > 0 && rc != STORE_READ_FRESH ? -rc : rc;	/* a SQLite code never escapes as a positive value */
}
