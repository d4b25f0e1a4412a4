/* sandbox.h - confining processes. Knows nothing about SQLite or banger.
 */
#ifndef BANGER_SANDBOX_H
#define BANGER_SANDBOX_H

#include "banger/error.h"

/* Confine the calling process, for the rest of its life, so that it cannot
 * change any file: opens for writing, creating or truncating fail with
 * EACCES (so a library such as SQLite falls back to reading); unlink,
 * rename, link, mkdir, mknod, truncate, chmod, chown, utimes, xattr writes
 * and fallocate fail with EPERM. Everything else stays allowed: this is the
 * guard `bangerd --check-migrations` puts around its own read, whether or
 * not a parent sandbox already runs it. Sets no_new_privs. Returns 0 or a
 * negative errno with err set. */
int sandbox_forbid_writes(struct banger_error *err);

#endif
