/* SWAP: the staged copy replaces TARGET in one rename(2), the old binary
 * kept as TARGET.prev (a second name, not a copy) for the rollback. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <unistd.h>

#include "internal.h"

void update_prev_path(const char *target, char *out, size_t size)
{
	snprintf(out, size, "%s.prev", target);
}

int update_swap(const struct staged *staged, const char *target)
{
	char prev[PATH_MAX + 8], fresh[PATH_MAX + 8], self[64], dir[PATH_MAX];
	update_prev_path(target, prev, sizeof(prev));
	snprintf(fresh, sizeof(fresh), "%s.new", target);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", staged->exec_fd);
	snprintf(dir, sizeof(dir), "%s", target);
	if (unlink(fresh) != 0 && errno != ENOENT)
		return -errno;
	if (unlink(prev) != 0 && errno != ENOENT)
		return -errno;
	/* The old binary stays reachable as .prev (a second name, not a copy). */
	if (link(target, prev) != 0 && errno != ENOENT)
		return -errno;
	/* The unnamed staged file gets a name beside the target... */
	if (linkat(AT_FDCWD, self, AT_FDCWD, fresh, AT_SYMLINK_FOLLOW) != 0)
		return -errno;
	/* ...and replaces it in one step. */
	if (rename(fresh, target) != 0) {
		int e = errno;
		(void)unlink(fresh);	/* the rename's error is the one to report */
		return -e;
	}
	return update_fsync_dir(dirname(dir));
}
