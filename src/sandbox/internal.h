/* Private to the sandbox module. */
#ifndef BANGER_SANDBOX_INTERNAL_H
#define BANGER_SANDBOX_INTERNAL_H

#include "banger/sandbox.h"

/* Build a Landlock ruleset in the parent (opening paths is not something
 * the child should still be able to do): read access beneath read_paths,
 * read + execute on exec_paths and on exec_fd's file, nothing else the
 * kernel's ABI lets us name. Sets *ruleset_fd (-1 when the kernel has no
 * Landlock: best effort) and *abi. Returns 0 or a negative errno. */
int landlock_prepare(const char *const *read_paths, const char *const *exec_paths, int exec_fd,
		     int *ruleset_fd, int *abi, struct banger_error *err);

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

#endif
