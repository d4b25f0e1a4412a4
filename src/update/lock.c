/* LOCK: flock(2) on the state directory itself. No lock file: a refused
 * update leaves nothing behind, and nothing is created that would belong
 * to root in a directory that belongs to the database's owner. The lock is
 * the open directory's, so it goes with the process, kill -9 included.
 * An update takes it exclusive; --check-only takes it shared, so that a
 * check never answers about a state an update is about to change. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/update.h"

int update_lock(const char *state_dir, bool shared, int *fd, struct banger_error *err)
{
	*fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0 && errno == ENOENT && shared)
		return 0;	/* nothing there yet for a check to read, nor to lock */
	if (*fd < 0 && errno == ENOENT) {
		/* An update of a daemon that never ran: the journal needs a home. */
		if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
			return banger_error_set(err, -errno, "cannot create the state directory %s: %s",
						state_dir, strerror(errno));
		*fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (*fd < 0)
		return banger_error_set(err, -errno, "cannot open the state directory %s: %s",
					state_dir, strerror(errno));
	if (flock(*fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	int e = errno;
	close(*fd);
	*fd = -1;
	if (e == EWOULDBLOCK)
		return banger_error_set(err, -e, "another update is running on %s", state_dir);
	return banger_error_set(err, -e, "cannot lock the state directory %s: %s", state_dir,
				strerror(e));
}
