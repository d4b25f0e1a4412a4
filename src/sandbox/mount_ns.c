/* The child's mount namespace: a root that holds only what it may read, as
 * bubblewrap and minijail build one.
 *
 * The parent plans (mount_plan_build): each path it is given is resolved
 * component by component, as the kernel would resolve it, and every step
 * is recorded so that the same path resolves the same way in the new root:
 * a directory on the way becomes an empty directory, a symlink on the way
 * becomes the same symlink (its target is then followed and recorded in
 * turn), and the file or directory at the end is bound read-only at its
 * own absolute path. Nothing else is in the new root: no /proc, no /dev
 * but /dev/null, no /etc but what is named, no program but what is named.
 *
 * The child enters (mount_plan_enter), in this order:
 *  1 unshare(CLONE_NEWNS), then every mount made private (MS_REC), before
 *    any mount: nothing we do may propagate back to the machine's mounts;
 *  2 a tmpfs on /tmp (only in our namespace), the future root, and
 *    pivot_root into it, the machine's root now at /.banger-old-root: its
 *    whole tree stays reachable as a source, /tmp included (the tmpfs moved
 *    off it); the plan refuses any path under that name, so nothing we
 *    create can land in the machine's tree;
 *  3 the plan: directories and symlinks (on our tmpfs), then each bind
 *    mount from the old root, made read-only, nosuid, nodev, and noexec
 *    unless it holds code the loader maps executable (/dev/null alone
 *    keeps its device), with mount_setattr(AT_RECURSIVE): a granted tree
 *    comes with its submounts, as Landlock's rule beneath it grants them,
 *    and every one of them read-only too. A kernel without mount_setattr
 *    (before 5.12) gets non-recursive binds remounted one by one: a
 *    submount is then left out, never left writable;
 *  4 the machine's root detached (umount2 MNT_DETACH) and its directory
 *    removed: no path leads out any more;
 *  5 the new root itself remounted read-only, nosuid, nodev, noexec.
 * One tmpfs and one pivot_root: each costs tens of microseconds, and the
 * sandbox's whole budget is 0.5 ms.
 * The staged binary needs no path: it is executed from its descriptor,
 * which stays valid on a detached mount.
 *
 * It needs CAP_SYS_ADMIN, so it comes before the identity and capability
 * steps; a failure once started is fatal (the child exits, the parent
 * names the step), never a half-built root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define PLAN_MAX_OPS 512
#define OLD_ROOT "/.banger-old-root"	/* where the machine's root sits while we build */
#define PLAN_MAX_LINKS 40	/* symlinks followed for one path, as the kernel's ELOOP */

enum op_kind { OP_DIR, OP_LINK, OP_BIND_DIR, OP_BIND_FILE, OP_TMPFS };

struct mount_op {
	enum op_kind kind;
	unsigned long flags;	/* OP_BIND_*: the remount's flags */
	char *path;		/* absolute, in the machine's tree and in the new root */
	char *target;		/* OP_LINK: the symlink's text; OP_TMPFS: its options */
};

bool mount_ns_possible(void)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t admin = CAP_CLEAR;
	if (caps != NULL)
		cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &admin);
	cap_free(caps);
	return admin == CAP_SET;
}

static int plan_add(struct mount_plan *plan, enum op_kind kind, const char *path,
		    const char *target, unsigned long flags)
{
	if (strncmp(path, OLD_ROOT, strlen(OLD_ROOT)) == 0 &&
	    (path[strlen(OLD_ROOT)] == '\0' || path[strlen(OLD_ROOT)] == '/'))
		return -EINVAL;	/* the machine's root is there while we build */
	for (size_t i = 0; i < plan->count; i++)
		if (strcmp(plan->ops[i].path, path) == 0) {
			/* The same place twice: a directory on the way of two
			 * paths is fine; anything else must agree exactly. */
			if (plan->ops[i].kind == kind && kind != OP_BIND_DIR && kind != OP_BIND_FILE)
				return 0;
			if (plan->ops[i].kind == kind && plan->ops[i].flags == flags)
				return 0;
			return -EEXIST;
		}
	if (plan->count == PLAN_MAX_OPS)
		return -E2BIG;
	if (plan->count == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 32;
		struct mount_op *ops = realloc(plan->ops, cap * sizeof(*ops));
		if (ops == NULL)
			return -ENOMEM;
		plan->ops = ops;
		plan->cap = cap;
	}
	struct mount_op *op = &plan->ops[plan->count];
	op->kind = kind;
	op->flags = flags;
	op->path = strdup(path);
	op->target = target ? strdup(target) : NULL;
	if (op->path == NULL || (target && op->target == NULL)) {
		free(op->path);
		free(op->target);
		return -ENOMEM;
	}
	plan->count++;
	return 0;
}

/* The op already planned at path, or NULL. */
static const struct mount_op *plan_find(const struct mount_plan *plan, const char *path)
{
	for (size_t i = 0; i < plan->count; i++)
		if (strcmp(plan->ops[i].path, path) == 0)
			return &plan->ops[i];
	return NULL;
}

/* Resolve path as the kernel would, from /, recording each step. */
static int plan_path(struct mount_plan *plan, const char *path, unsigned long flags,
		     struct banger_error *err)
{
	char done[PATH_MAX] = "";	/* resolved so far, no symlink in it; "" is / */
	char todo[PATH_MAX];		/* what is left to resolve */
	int links = 0, rc;
	if (path[0] != '/' || snprintf(todo, sizeof(todo), "%s", path) >= (int)sizeof(todo))
		return banger_error_set(err, -EINVAL, "mount namespace: %s: not an absolute path", path);
	char *rest = todo;
	for (;;) {
		while (*rest == '/')
			rest++;
		if (*rest == '\0')
			break;
		char *slash = strchr(rest, '/');
		size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
		char comp[NAME_MAX + 1];
		if (len > NAME_MAX)
			return banger_error_set(err, -ENAMETOOLONG, "mount namespace: %s: name too long", path);
		memcpy(comp, rest, len);
		comp[len] = '\0';
		rest += len;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *up = strrchr(done, '/');
			if (up)
				*up = '\0';
			continue;
		}
		char next[PATH_MAX];
		if (snprintf(next, sizeof(next), "%s/%s", done, comp) >= (int)sizeof(next))
			return banger_error_set(err, -ENAMETOOLONG, "mount namespace: %s: path too long", path);
		const char *more = rest + strspn(rest, "/");
		/* A directory or a symlink that an earlier path of this plan
		 * already went through is taken as recorded: the new root will
		 * hold what was recorded, so every path must resolve through
		 * the same steps, and asking the kernel again would only cost
		 * system calls (the library paths share three directories). */
		const struct mount_op *seen = *more != '\0' ? plan_find(plan, next) : NULL;
		if (seen != NULL && seen->kind == OP_DIR) {
			memcpy(done, next, sizeof(done));
			continue;
		}
		if (seen != NULL && seen->kind != OP_LINK)
			seen = NULL;	/* a bind on the way: plan_add() below refuses it */
		struct stat st = { .st_mode = S_IFLNK };
		if (seen == NULL && lstat(next, &st) != 0)
			return banger_error_set(err, -errno, "mount namespace: %s: %s", next, strerror(errno));
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX], joined[PATH_MAX];
			ssize_t n = seen ? (ssize_t)strlen(seen->target) : readlink(next, target, sizeof(target) - 1);
			if (seen)
				memcpy(target, seen->target, (size_t)n);
			if (n <= 0 || ++links > PLAN_MAX_LINKS)
				return banger_error_set(err, n < 0 ? -errno : -ELOOP,
							"mount namespace: %s: cannot follow", next);
			target[n] = '\0';
			if ((rc = plan_add(plan, OP_LINK, next, target, 0)) != 0)
				return banger_error_set(err, rc, "mount namespace: %s: %s", next, strerror(-rc));
			if (snprintf(joined, sizeof(joined), "%s/%s", target, more) >= (int)sizeof(joined))
				return banger_error_set(err, -ENAMETOOLONG, "mount namespace: %s: path too long", path);
			if (target[0] == '/')
				done[0] = '\0';
			memcpy(todo, joined, sizeof(todo));
			rest = todo;
			continue;
		}
		if (*more != '\0') {
			if (!S_ISDIR(st.st_mode))
				return banger_error_set(err, -ENOTDIR, "mount namespace: %s: not a directory", next);
			rc = plan_add(plan, OP_DIR, next, NULL, 0);
		} else if (S_ISDIR(st.st_mode)) {
			rc = plan_add(plan, OP_BIND_DIR, next, NULL, flags);
		} else if (S_ISREG(st.st_mode)) {
			rc = plan_add(plan, OP_BIND_FILE, next, NULL, flags);
		} else if (S_ISCHR(st.st_mode) && strcmp(next, "/dev/null") == 0) {
			/* The one device the child gets. */
			rc = plan_add(plan, OP_BIND_FILE, next, NULL, flags & ~(unsigned long)MS_NODEV);
		} else {
			return banger_error_set(err, -EPERM, "mount namespace: %s: not a file or a directory",
						next);
		}
		if (rc != 0)
			return banger_error_set(err, rc, "mount namespace: %s: %s", next, strerror(-rc));
		memcpy(done, next, sizeof(done));
	}
	return 0;
}

int mount_plan_build(const char *const *data_paths, const char *const *code_paths,
		     struct mount_plan *plan, struct banger_error *err)
{
	const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV;
	int rc = plan_path(plan, "/dev/null", ro | MS_NOEXEC, err);
	for (size_t i = 0; rc == 0 && data_paths && data_paths[i]; i++)
		rc = plan_path(plan, data_paths[i], ro | MS_NOEXEC, err);
	for (size_t i = 0; rc == 0 && code_paths && code_paths[i]; i++)
		rc = plan_path(plan, code_paths[i], ro, err);
	if (rc != 0)
		mount_plan_free(plan);
	return rc;
}

int mount_plan_add_scratch(struct mount_plan *plan, const char *path, size_t bytes, uid_t uid,
			   gid_t gid, struct banger_error *err)
{
	char prefix[PATH_MAX], options[128];
	if (path[0] != '/' || strlen(path) >= sizeof(prefix) || strstr(path, "/.") || strstr(path, "//"))
		return banger_error_set(err, -EINVAL, "mount namespace: scratch %s: not a plain absolute path",
					path);
	/* The directories that lead there, each an empty directory of the new
	 * root (the caller made the path with mkdtemp() under a resolved
	 * directory: no symlink on the way); the tmpfs itself is mounted in
	 * the new root, over nothing of the machine's. A bound path on the
	 * way is refused: the scratch would sit inside what the child reads. */
	int rc = 0;
	for (const char *slash = strchr(path + 1, '/'); rc == 0 && slash; slash = strchr(slash + 1, '/')) {
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(slash - path), path);
		rc = plan_add(plan, OP_DIR, prefix, NULL, 0);
	}
	/* nr_inodes: SQLite's copy, its journal or -wal and -shm, temporary
	 * files, and room. */
	snprintf(options, sizeof(options), "mode=0700,size=%zu,nr_inodes=64,uid=%u,gid=%u", bytes,
		 (unsigned)uid, (unsigned)gid);
	if (rc == 0)
		rc = plan_add(plan, OP_TMPFS, path, options, MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (rc != 0)
		return banger_error_set(err, rc, "mount namespace: scratch %s: %s", path,
					rc == -EEXIST ? "inside a bound path" : strerror(-rc));
	return 0;
}

void mount_plan_free(struct mount_plan *plan)
{
	for (size_t i = 0; i < plan->count; i++) {
		free(plan->ops[i].path);
		free(plan->ops[i].target);
	}
	free(plan->ops);
	plan->ops = NULL;
	plan->count = plan->cap = 0;
}

/* MS_* flags of the plan as mount_setattr() attributes. */
static uint64_t mount_attrs(unsigned long flags)
{
	return ((flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0) | ((flags & MS_NOSUID) ? MOUNT_ATTR_NOSUID : 0) |
	       ((flags & MS_NODEV) ? MOUNT_ATTR_NODEV : 0) | ((flags & MS_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0);
}

static int op_apply(const struct mount_op *op, bool setattr)
{
	const char *dst = op->path;
	char src[PATH_MAX + sizeof(OLD_ROOT)];
	snprintf(src, sizeof(src), OLD_ROOT "%s", op->path);
	switch (op->kind) {
	case OP_DIR:
		return mkdir(dst, 0755) == 0 || errno == EEXIST ? 0 : -errno;
	case OP_LINK:
		return symlink(op->target, dst) == 0 || errno == EEXIST ? 0 : -errno;
	case OP_TMPFS:
		return mkdir(dst, 0700) == 0 && mount("tmpfs", dst, "tmpfs", op->flags, op->target) == 0
			       ? 0 : -errno;
	case OP_BIND_DIR:
		if (mkdir(dst, 0755) != 0)
			return -errno;
		break;
	case OP_BIND_FILE:
		/* An empty regular file to bind over: mknod makes one in one
		 * call where open and close take two (no CAP_MKNOD needed for
		 * S_IFREG), and like O_EXCL it fails on anything already there. */
		if (mknod(dst, S_IFREG | 0444, 0) != 0)
			return -errno;
		break;
	}
	if (setattr) {
		struct mount_attr attr = { .attr_set = mount_attrs(op->flags) };
		if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) != 0 ||
		    syscall(SYS_mount_setattr, AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof(attr)) != 0)
			return -errno;
		return 0;
	}
	if (mount(src, dst, NULL, MS_BIND, NULL) != 0 ||
	    mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | op->flags, NULL) != 0)
		return -errno;
	return 0;
}

int mount_plan_enter(const struct mount_plan *plan)
{
	const unsigned long sealed = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	umask(0);	/* the modes below are the ones meant; the next step sets 077 */
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return -errno;
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=1m,nr_inodes=4096") != 0 ||
	    chdir("/tmp") != 0 || mkdir(OLD_ROOT + 1, 0700) != 0 ||
	    syscall(SYS_pivot_root, ".", OLD_ROOT + 1) != 0 || chdir("/") != 0)
		return -errno;
	/* mount_setattr(2) is there unless the kernel does not know it. */
	bool setattr = syscall(SYS_mount_setattr, -1, "", 0, NULL, 0) != 0 && errno != ENOSYS;
	for (size_t i = 0; i < plan->count; i++) {
		int rc = op_apply(&plan->ops[i], setattr);
		if (rc != 0)
			return rc;
	}
	if (umount2(OLD_ROOT, MNT_DETACH) != 0 || rmdir(OLD_ROOT) != 0 ||
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | sealed, NULL) != 0)
		return -errno;
	return 0;
}
