/* A SQLite VFS that cannot write.
 *
 * DESIGN.md records that `mode=ro` is not read-only on disk: SQLite 3.40
 * still opens `-wal` (and `-shm`, unless readonly_shm=1) with O_RDWR|O_CREAT,
 * creates and keeps them on a cleanly closed WAL database, chowns them as
 * root, and unlinks a `-wal` beside a 0-byte database. This VFS is the unix
 * VFS with two changes: every open is turned into a read-only open without
 * create (SQLite then treats the -wal as read-only, exactly as it does when
 * the kernel refuses a write open), and xDelete refuses. So the read path
 * cannot change a file even when it runs unconfined in-process; bangerd
 * --check-migrations adds a seccomp filter on top (sandbox.h).
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"

#define READONLY_VFS_NAME "banger-readonly"

static sqlite3_vfs readonly_vfs;
static int (*base_open)(sqlite3_vfs *, sqlite3_filename, sqlite3_file *, int, int *);
static int registered;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int readonly_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file,
			 int flags, int *out_flags)
{
	/* A temporary file (name == NULL) would need writing: the read path
	 * runs with temp_store=MEMORY, so refusing it costs nothing. */
	if (name == NULL)
		return SQLITE_CANTOPEN;
	flags &= ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE |
		   SQLITE_OPEN_DELETEONCLOSE);
	flags |= SQLITE_OPEN_READONLY;
	return base_open(vfs, name, file, flags, out_flags);
}

static int readonly_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	(void)name;
	(void)sync_dir;
	return SQLITE_IOERR_DELETE;
}

static void register_once(void)
{
	sqlite3_vfs *base = sqlite3_vfs_find("unix");
	if (base == NULL)
		return;
	/* A copy keeps pAppData (the unix VFS's locking-style finder, which
	 * unixOpen reads through the vfs pointer it is given). */
	readonly_vfs = *base;
	readonly_vfs.pNext = NULL;
	readonly_vfs.zName = READONLY_VFS_NAME;
	base_open = base->xOpen;
	readonly_vfs.xOpen = readonly_open;
	readonly_vfs.xDelete = readonly_delete;
	registered = sqlite3_vfs_register(&readonly_vfs, 0) == SQLITE_OK;
}

const char *store_readonly_vfs(void)
{
	pthread_once(&once, register_once);
	return registered ? READONLY_VFS_NAME : NULL;
}
