/* LOCK, and where root keeps its own state: the update directory.
 *
 * The journal and the lock are root's and live where only root can write
 * (/var/lib/banger-update, or $BANGER_UPDATE_DIR), never in the state
 * directory: that one is the daemon's uid's, which could plant a symlink
 * at the journal's name, forge a journal for root to act on, or hold the
 * lock forever (issue 26). A non-root updater is the same uid as its
 * daemon, so there is no boundary to hold: its directory is under
 * $XDG_STATE_HOME (or ~/.local/state).
 *
 * The lock is flock(2) on that directory: no lock file, and it goes with
 * the process, kill -9 included. An update takes it exclusive;
 * --check-only takes it shared, so that a check never answers about a
 * state an update is about to change. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define ROOT_DIR "/var/lib/banger-update"

int update_dir_path(char *out, size_t size)
{
	const char *env = getenv("BANGER_UPDATE_DIR");
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int n;
	if (env && env[0])
		n = snprintf(out, size, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(out, size, "%s", ROOT_DIR);
	else if (xdg && xdg[0] == '/')
		n = snprintf(out, size, "%s/banger-update", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, size, "%s/.local/state/banger-update", home);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return out[0] == '/' ? 0 : -EINVAL;
}

/* May root trust what is in the directory fd, a component of the path?
 * Root's, and no one else can change its entries: not group or other
 * writable, or (like /tmp) sticky, where another uid cannot rename or
 * remove an entry that is root's. The last component itself must be
 * writable by its owner alone. */
static int trusted(int fd, bool last)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (geteuid() != 0)
		return !last || st.st_uid == geteuid() ? 0 : -EPERM;
	if (st.st_uid != 0)
		return -EPERM;
	if ((st.st_mode & 022) && (last || !(st.st_mode & S_ISVTX)))
		return -EPERM;
	return 0;
}

/* Open the directory at path component by component from /, never
 * following a symlink, each component checked by trusted(); missing
 * components are made (0700) when create. Returns the last one's
 * descriptor (O_RDONLY, so that it can be flocked) or < 0. */
/* bad gets the name of the component that was refused: a copy, since
 * the name lives in this function's own buffer. */
static int open_chain(const char *path, bool create, char *bad, size_t bad_size)
{
	char copy[PATH_MAX], *save = NULL;
	/* Root follows no symlink on the way; anyone else is only ever
	 * among its own files, and its home may well be a symlink. */
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (geteuid() == 0 ? O_NOFOLLOW : 0);
	snprintf(copy, sizeof(copy), "%s", path);
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(bad, bad_size, "/");
	int rc = fd < 0 ? -errno : trusted(fd, false);
	for (char *c = strtok_r(copy, "/", &save); rc == 0 && c; c = strtok_r(NULL, "/", &save)) {
		bool last = save == NULL || save[strspn(save, "/")] == '\0';
		int next = openat(fd, c, flags);
		if (next < 0 && errno == ENOENT && create && (mkdirat(fd, c, 0700) == 0 || errno == EEXIST))
			next = openat(fd, c, flags);
		snprintf(bad, bad_size, "%s", c);
		rc = next < 0 ? -errno : trusted(next, last);
		close(fd);
		fd = next;
	}
	if (rc != 0 && fd >= 0)
		close(fd);
	return rc != 0 ? rc : fd;
}

int update_dir_open(bool create, int *fd, char *path, size_t size, struct banger_error *err)
{
	char bad[NAME_MAX + 1] = "";
	*fd = -1;
	int rc = update_dir_path(path, size);
	if (rc != 0)
		return banger_error_set(err, rc, "no directory for the update's journal and lock "
					"(set BANGER_UPDATE_DIR): %s", strerror(-rc));
	rc = open_chain(path, create, bad, sizeof(bad));
	if (rc >= 0) {
		*fd = rc;
		return 0;
	}
	if (rc == -ENOENT)
		return banger_error_set(err, rc, "%s: %s", path, strerror(-rc));
	if (rc == -EPERM || rc == -ELOOP || rc == -ENOTDIR)
		return banger_error_set(err, rc, "refusing the update directory %s: '%s' is %s", path,
					bad, rc == -EPERM ? (geteuid() == 0
					? "not root's, or writable by another uid"
					: "not yours") : "a symlink or not a directory");
	return banger_error_set(err, rc, "cannot open the update directory %s: %s", path,
				strerror(-rc));
}

int update_lock(bool shared, int *fd, char *path, size_t size, struct banger_error *err)
{
	/* A check with no update directory yet has nothing to wait for, nor
	 * has one run by a uid that cannot open root's (a check as the
	 * daemon's user): it could never see an update's state anyway. */
	int rc = update_dir_open(!shared, fd, path, size, err);
	if ((rc == -ENOENT || rc == -EACCES) && shared)
		return 0;
	if (rc != 0)
		return rc;
	if (flock(*fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	int e = errno;
	close(*fd);
	*fd = -1;
	if (e == EWOULDBLOCK)
		return banger_error_set(err, -e, "another update is running (it holds %s)", path);
	return banger_error_set(err, -e, "cannot lock %s: %s", path, strerror(e));
}
