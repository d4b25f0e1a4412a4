/* Private to the sandbox module. */
#ifndef BANGER_SANDBOX_INTERNAL_H
#define BANGER_SANDBOX_INTERNAL_H

#include "banger/sandbox.h"

/* Build a Landlock ruleset in the parent (opening paths is not something
 * the child should still be able to do): read access beneath read_paths,
 * read + execute on exec_paths (regular files only: a directory is
 * refused, never granted as a tree) and on exec_fd's file, nothing else the
 * kernel's ABI lets us name. Sets *ruleset_fd (-1 when the kernel has no
 * Landlock: best effort) and *abi. Returns 0 or a negative errno. */
int landlock_prepare(const char *const *read_paths, const char *const *exec_paths, int exec_fd,
		     int *ruleset_fd, int *abi, struct banger_error *err);

/* In the child, before landlock_enforce(): grant beneath path (the
 * scratch, which in a mount namespace exists only there) the rights to
 * read, create, write, truncate and remove regular files, as far as abi
 * knows them. Returns 0 or a negative errno. */
int landlock_allow_scratch(int ruleset_fd, const char *path, int abi);

/* In the child: enforce the prepared ruleset on itself. */
int landlock_enforce(int ruleset_fd);

/* In the child, before caps_drop_all(): become uid and gid with no
 * supplementary group, keeping every capability across the change of uid
 * (SECBIT_NO_SETUID_FIXUP) so that the drop that follows still holds
 * CAP_SETPCAP and empties every set. Returns 0 or a negative errno. */
int caps_become(uid_t uid, gid_t gid);

/* In the child: drop every capability for good (see caps.c). Returns 0 or
 * a negative errno. */
int caps_drop_all(void);

/* The child's mount namespace (mount_ns.c says how and why). */
struct mount_op;
struct mount_plan {
	struct mount_op *ops;
	size_t count, cap;
};

/* In the parent: whether we hold CAP_SYS_ADMIN, which a mount namespace
 * needs (without a user namespace). */
bool mount_ns_possible(void);

/* In the parent: plan a root holding /dev/null, data_paths (read-only,
 * noexec) and code_paths (read-only, the loader may map them executable),
 * each at its own absolute path, with the directories and symlinks that
 * lead to it. plan starts zeroed; 0 or a negative errno with err (the
 * plan is then freed). */
int mount_plan_build(const char *const *data_paths, const char *const *code_paths,
		     struct mount_plan *plan, struct banger_error *err);
/* In the parent: add to plan a tmpfs of bytes at path (an existing
 * directory, absolute), mode 0700, owned by uid:gid, nosuid, nodev,
 * noexec: the only writable mount of the new root. 0 or a negative errno
 * with err. */
int mount_plan_add_scratch(struct mount_plan *plan, const char *path, size_t bytes, uid_t uid,
			   gid_t gid, struct banger_error *err);
void mount_plan_free(struct mount_plan *plan);

/* In the child, while it still holds CAP_SYS_ADMIN: enter a new mount
 * namespace whose root is the plan and nothing else. Leaves the umask at
 * 0 and the cwd at /. Returns 0 or a negative errno. */
int mount_plan_enter(const struct mount_plan *plan);

#endif
