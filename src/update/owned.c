/* The update's work in the state directory, done as its owner.
 *
 * The state directory belongs to the daemon's uid (systemd's DynamicUser),
 * which can put a symlink, a FIFO or a hard link at any name in it at any
 * instant. Root trusts nothing in a directory another uid can write: the
 * backup, the restore and the removal of what the update made there run
 * in a child that became that uid (owner.h), from inside the directory,
 * and the kernel keeps it from touching anything the uid could not. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "banger/owner.h"
#include "banger/store.h"
#include "internal.h"

struct owned {
	enum owned_job job;
	const char *a, *b;
};

static int owned_work(void *ctx, void *out, size_t size, struct banger_error *err)
{
	const struct owned *w = ctx;
	(void)out;
	(void)size;
	switch (w->job) {
	case OWNED_BACKUP:
		return store_backup(w->a, w->b, err);
	case OWNED_RESTORE:
		return store_restore(w->a, w->b, err);
	case OWNED_ABANDON:
		store_backup_abandon(w->a);
		return 0;
	case OWNED_UNLINK:
		if (unlink(w->a) != 0 && errno != ENOENT)
			return banger_error_set(err, -errno, "%s: %s", w->a, strerror(errno));
		return 0;
	}
	return -EINVAL;
}

/* path's name in dir, when path is dir/NAME; else NULL. */
static const char *name_in(const char *dir, const char *path)
{
	size_t len = strlen(dir);
	if (path == NULL || strncmp(path, dir, len) != 0 || path[len] != '/' ||
	    strchr(path + len + 1, '/') != NULL || path[len + 1] == '\0')
		return NULL;
	return path + len + 1;
}

/* job on a and b, files beside the database db, as the owner of db's
 * directory and from inside it (owner.h): root opens nothing there. */
int update_as_owner(const char *db, enum owned_job job, const char *a, const char *b,
		    struct banger_error *err)
{
	struct banger_owner owner;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", db);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return banger_error_set(err, -EINVAL, "%s: not an absolute path in a directory", db);
	*slash = '\0';
	struct owned w = { job, name_in(dir, a), name_in(dir, b) };
	if (w.a == NULL || (b && w.b == NULL))
		return banger_error_set(err, -EINVAL, "%s: not beside the database %s", w.a ? b : a, db);
	int rc = banger_owner_of_db(db, &owner);
	if (rc != 0)
		return banger_error_set(err, rc, "%s: whose it is: %s", db, strerror(-rc));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return banger_error_set(err, -errno, "%s: %s", dir, strerror(errno));
	rc = banger_owner_run(&owner, fd, owned_work, &w, NULL, 0, err);
	close(fd);
	/* The work named its files relative to the directory: name them whole. */
	if (rc != 0 && err && (strncmp(err->msg, w.a, strlen(w.a)) == 0 ||
			       (w.b && strncmp(err->msg, w.b, strlen(w.b)) == 0))) {
		char msg[sizeof(err->msg)];
		memcpy(msg, err->msg, sizeof(msg));
		banger_error_set(err, rc, "%.200s/%.300s", dir, msg);
	}
	return rc;
}
