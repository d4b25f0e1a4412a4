/* owner.h - whose the files in the state directory are, and doing the
 * work there as that owner.
 *
 * banger update runs as root; the daemon may not (systemd's DynamicUser
 * runs it as a uid of its own, and its database is 0600). The state
 * directory is that uid's: it can put a symlink, a FIFO or a hard link at
 * any name in it at any instant. So root does no work there as root: the
 * backup, the restore and the removal of what the update made there run
 * in a child that has become the directory's owner (banger_owner_run), and
 * the kernel, not a path check, keeps that child from touching anything
 * the owner could not touch already.
 */
#ifndef BANGER_OWNER_H
#define BANGER_OWNER_H

#include <stddef.h>
#include <sys/types.h>

#include "banger/error.h"

struct banger_owner {
	uid_t uid;
	gid_t gid;
};

/* The owner of the file at path (never followed), or, when there is no
 * such file, of its directory. 0, or a negative errno. */
int banger_owner_of(const char *path, struct banger_owner *owner);

/* Who does the work on the database at db: the owner of its directory
 * when that is not root (whoever can write a directory decides what its
 * names mean, whatever the files' owners say), else the database file's
 * owner as banger_owner_of() says. 0, or a negative errno. */
int banger_owner_of_db(const char *db, struct banger_owner *owner);

/* Give fd to owner (fchown). Only root can and needs to: for anyone else
 * it does nothing and returns 0. 0, or a negative errno. */
int banger_owner_give_fd(int fd, const struct banger_owner *owner);

/* The same for the file at path, never following a final symlink;
 * -ENOENT is not an error. */
int banger_owner_give_path(const char *path, const struct banger_owner *owner);

/* Work done as an owner: fn's result, its err and out_size bytes of out
 * come back to the caller. */
typedef int (*banger_owner_fn)(void *ctx, void *out, size_t out_size, struct banger_error *err);

/* Run fn in a forked child whose working directory is dir_fd (when >= 0:
 * fn then names files relative to it, since the owner may not be allowed
 * to walk the path there) and which, when we are root and owner is not,
 * has dropped every supplementary group, then set its real, effective and
 * saved gid and uid to owner's and read them back. The result comes back
 * through a pipe (a child that dies says so). Returns fn's result, or a
 * negative errno with err when the child could not run it. */
int banger_owner_run(const struct banger_owner *owner, int dir_fd, banger_owner_fn fn, void *ctx,
		     void *out, size_t out_size, struct banger_error *err);

#endif
