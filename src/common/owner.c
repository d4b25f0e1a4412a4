#define _GNU_SOURCE
#include "banger/owner.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

int banger_owner_of_db(const char *db, struct banger_owner *owner)
{
	struct stat st;
	char copy[PATH_MAX];
	if (snprintf(copy, sizeof(copy), "%s", db) >= (int)sizeof(copy))
		return -ENAMETOOLONG;
	if (stat(dirname(copy), &st) != 0)
		return -errno;
	if (st.st_uid != 0) {
		owner->uid = st.st_uid;
		owner->gid = st.st_gid;
		return 0;
	}
	return banger_owner_of(db, owner);
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

/* Become owner, for good: no group of root's kept, no way back (the saved
 * ids too), checked by reading the ids back. The credential change also
 * makes the process non-dumpable, so the owner cannot ptrace it. */
static int become(const struct banger_owner *o)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (setgroups(0, NULL) != 0 || setresgid(o->gid, o->gid, o->gid) != 0 ||
	    setresuid(o->uid, o->uid, o->uid) != 0)
		return -errno;
	if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return -errno;
	if (r != o->uid || e != o->uid || s != o->uid || rg != o->gid || eg != o->gid || sg != o->gid ||
	    getgroups(0, NULL) != 0)
		return -EPERM;
	return 0;
}

/* May o search the directory st (mode bits; ACLs aside)? */
static bool searchable(const struct stat *st, const struct banger_owner *o)
{
	if (st->st_uid == o->uid)
		return st->st_mode & S_IXUSR;
	if (st->st_gid == o->gid)
		return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

/* Make the directory dir_fd reachable by its real path for o, in a mount
 * namespace of this child's own: when an ancestor is not searchable by o
 * (systemd's /var/lib/private is root's, 0700, and DynamicUser's service
 * sees its state directory through a mount), a tmpfs covers the topmost
 * such ancestor, holds the path down to the directory, and the directory
 * itself is bound there. SQLite makes every name absolute (getcwd), so a
 * working directory alone would not do. Then enter it. */
static int reach(int dir_fd, const struct banger_owner *o)
{
	char path[PATH_MAX], link[64], part[PATH_MAX];
	struct stat st;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dir_fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0 || path[0] != '/')
		return n < 0 ? -errno : -EINVAL;
	path[n] = '\0';
	size_t blocked = 0;	/* length of the topmost unsearchable ancestor */
	for (size_t i = 1; i <= (size_t)n && !blocked; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		snprintf(part, sizeof(part), "%.*s", (int)i, path);
		if (i < (size_t)n && stat(part, &st) == 0 && !searchable(&st, o))
			blocked = i;
	}
	if (blocked == 0 || geteuid() != 0 || o->uid == 0)
		return fchdir(dir_fd) == 0 ? 0 : -errno;
	snprintf(part, sizeof(part), "%.*s", (int)blocked, path);
	/* The directory, cloned in this namespace (a descriptor of the old
	 * one's cannot be bound here), before the tmpfs covers its path; by
	 * name, so it must still be the directory we were given. */
	int tree = -1;
	struct stat given, cloned;
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    (tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			      AT_SYMLINK_NOFOLLOW)) < 0 ||
	    fstat(tree, &cloned) != 0 || fstat(dir_fd, &given) != 0)
		return -errno;
	if (cloned.st_dev != given.st_dev || cloned.st_ino != given.st_ino)
		return -ESTALE;
	if (mount("tmpfs", part, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") != 0)
		return -errno;
	for (size_t i = blocked + 1; i <= (size_t)n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		snprintf(part, sizeof(part), "%.*s", (int)i, path);
		if (mkdir(part, 0755) != 0 && errno != EEXIST)
			return -errno;
	}
	if (move_mount(tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0 || chdir(path) != 0)
		return -errno;
	close(tree);
	return 0;
}

/* Close every descriptor but 0, 1, 2, a and b (-1: none). */
static int keep_only(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;
	if (lo < 3)
		lo = hi;	/* one to keep */
	if ((lo > 3 && close_range(3, (unsigned)lo - 1, 0) != 0) ||
	    (hi > lo + 1 && close_range((unsigned)lo + 1, (unsigned)hi - 1, 0) != 0) ||
	    close_range((unsigned)hi + 1, ~0U, 0) != 0)
		return -errno;
	return 0;
}

struct reply {
	int rc;
	struct banger_error err;
};

static void child(int fd, const struct banger_owner *o, int dir_fd, banger_owner_fn fn, void *ctx,
		  void *out, size_t out_size, pid_t parent)
{
	struct reply r = { 0 };
	/* The work dies with the updater: a killed update leaves no child
	 * working in the state directory while --recover works there too. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	/* Nothing of ours open goes with it: not the update directory, whose
	 * lock a child killed with us would hold a moment longer than we
	 * live, nor the staged copy. */
	if ((r.rc = keep_only(fd, dir_fd)) != 0)
		banger_error_set(&r.err, r.rc, "cannot close what root holds: %s", strerror(-r.rc));
	/* In the directory, as root: the owner may have no right to walk
	 * the path to it (reach() says how it gets one). */
	else if (dir_fd >= 0 && (r.rc = reach(dir_fd, o)) != 0)
		banger_error_set(&r.err, r.rc, "cannot enter the directory: %s", strerror(-r.rc));
	else if (dir_fd >= 0 && close(dir_fd) != 0)
		r.rc = banger_error_set(&r.err, -errno, "close: %s", strerror(errno));
	else if (geteuid() == 0 && o->uid != 0 && (r.rc = become(o)) != 0)
		banger_error_set(&r.err, r.rc, "cannot become uid %u gid %u: %s", (unsigned)o->uid,
				 (unsigned)o->gid, strerror(-r.rc));
	else
		r.rc = fn(ctx, out, out_size, &r.err);
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r) ||
	    (out_size && write(fd, out, out_size) != (ssize_t)out_size))
		_exit(126);
	_exit(0);
}

/* Read exactly size bytes, or fewer when the writer died first. The
 * owner may SIGSTOP the child (it is the same uid) to hang us with the
 * update's lock held: a child found stopped is killed, and is done. */
static size_t read_all(int fd, pid_t pid, void *buf, size_t size)
{
	size_t got = 0;
	while (got < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		siginfo_t info = { 0 };
		if (poll(&p, 1, 1000) == 0) {
			if (waitid(P_PID, (id_t)pid, &info, WSTOPPED | WNOHANG | WNOWAIT) == 0 &&
			    info.si_pid == pid)
				(void)kill(pid, SIGKILL);	/* the pipe's end says the rest */
			continue;
		}
		ssize_t n = read(fd, (char *)buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

int banger_owner_run(const struct banger_owner *o, int dir_fd, banger_owner_fn fn, void *ctx,
		     void *out, size_t out_size, struct banger_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return banger_error_set(err, -errno, "pipe: %s", strerror(errno));
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(p[1], o, dir_fd, fn, ctx, out, out_size, parent);
	}
	int e = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return banger_error_set(err, -e, "fork: %s", strerror(e));
	}
	struct reply r;
	size_t got = read_all(p[0], pid, &r, sizeof(r));
	if (got == sizeof(r) && out_size)
		got += read_all(p[0], pid, out, out_size);
	close(p[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(r) + out_size || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return banger_error_set(err, -ECHILD, "the work as uid %u did not finish (%s %d)",
					(unsigned)o->uid, WIFSIGNALED(status) ? "signal" : "exit",
					WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (err)
		*err = r.err;
	return r.rc;
}
