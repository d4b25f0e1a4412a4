/* owner.h - whose the files in the state directory are.
 *
 * banger update runs as root; the daemon may not (systemd's DynamicUser
 * runs it as a uid of its own, and its database is 0600). Whatever root
 * writes beside the database - the backup, the journal, a restored
 * database - must belong to the database's owner, or the daemon cannot
 * open its store again.
 */
#ifndef BANGER_OWNER_H
#define BANGER_OWNER_H

#include <sys/types.h>

struct banger_owner {
	uid_t uid;
	gid_t gid;
};

/* The owner of the file at path (never followed), or, when there is no
 * such file, of its directory. 0, or a negative errno. */
int banger_owner_of(const char *path, struct banger_owner *owner);

/* Give fd to owner (fchown). Only root can and needs to: for anyone else
 * it does nothing and returns 0. 0, or a negative errno. */
int banger_owner_give_fd(int fd, const struct banger_owner *owner);

/* The same for the file at path, never following a final symlink;
 * -ENOENT is not an error. */
int banger_owner_give_path(const char *path, const struct banger_owner *owner);

#endif
