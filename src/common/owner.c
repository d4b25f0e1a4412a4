#define _GNU_SOURCE
#include "banger/owner.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int banger_owner_of(const char *path, struct banger_owner *owner)
{
	struct stat st;
	char copy[PATH_MAX];
	if (lstat(path, &st) != 0) {
		if (errno != ENOENT)
			return -errno;
		snprintf(copy, sizeof(copy), "%s", path);
		if (stat(dirname(copy), &st) != 0)
			return -errno;
	}
	owner->uid = st.st_uid;
	owner->gid = st.st_gid;
	return 0;
}

int banger_owner_give_fd(int fd, const struct banger_owner *owner)
{
	if (geteuid() != 0)
		return 0;
	return fchown(fd, owner->uid, owner->gid) == 0 ? 0 : -errno;
}

int banger_owner_give_path(const char *path, const struct banger_owner *owner)
{
	if (geteuid() != 0)
		return 0;
	if (fchownat(AT_FDCWD, path, owner->uid, owner->gid, AT_SYMLINK_NOFOLLOW) == 0 || errno == ENOENT)
		return 0;
	return -errno;
}
