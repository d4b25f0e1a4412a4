/* Landlock, best effort by ABI, as samples/landlock/sandboxer.c does it:
 * ask the kernel for its ABI, handle every right that ABI knows, grant
 * only reading (and executing the staged binary and its interpreter).
 * Debian 12's headers stop at ABI 2: newer constants are defined here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)	/* ABI 5 */
#endif
#define BANGER_LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)	/* ABI 4 */
#define BANGER_LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define BANGER_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6 */
#define BANGER_LANDLOCK_SCOPE_SIGNAL (1ULL << 1)

/* The ruleset attribute as ABI 6 knows it; older kernels get a prefix. */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
			LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
			LANDLOCK_ACCESS_FS_IOCTL_DEV)

static uint64_t fs_rights_for(int abi)
{
	uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1: bits 0..12 */
	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return all;
}

static int add_rule(int ruleset, int fd, uint64_t access)
{
	struct landlock_path_beneath_attr rule = { .allowed_access = access, .parent_fd = fd };
	return (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
}

/* A rule beneath path. A read path may be missing (skipped) and may be a
 * directory (the rule covers its tree). An exec path must be a regular
 * file: a rule on a directory would grant its whole tree, and execute with
 * it, so a directory, a device or a missing file is refused. */
static int add_path(int ruleset, const char *path, uint64_t access, uint64_t handled, bool exec,
		    struct banger_error *err)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !exec)
			return 0;	/* e.g. /lib64 on a machine without it */
		return banger_error_set(err, -errno, "landlock: %s: %s", path, strerror(errno));
	}
	struct stat st;
	int rc = fstat(fd, &st);
	if (rc == 0 && exec && !S_ISREG(st.st_mode)) {
		close(fd);
		return banger_error_set(err, -EINVAL,
					"landlock: %s: an execute rule is for a regular file only", path);
	}
	if (rc == 0 && !S_ISDIR(st.st_mode))
		access &= FS_FILE_RIGHTS;	/* a rule on a file takes file rights only */
	if (rc == 0)
		rc = add_rule(ruleset, fd, access & handled);
	int saved = errno;
	close(fd);
	if (rc < 0)
		return banger_error_set(err, -saved, "landlock: rule for %s: %s", path, strerror(saved));
	return 0;
}

int landlock_prepare(const char *const *read_paths, const char *const *exec_paths, int exec_fd,
		     int *ruleset_fd, int *abi, struct banger_error *err)
{
	*ruleset_fd = -1;
#ifdef BANGER_TEST_HOOKS
	/* Test builds only: behave as on a kernel without Landlock, so that
	 * the tests can show what the other layers hold on their own. */
	if (getenv("BANGER_TEST_NO_LANDLOCK")) {
		*abi = 0;
		return 0;
	}
#endif
	*abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (*abi < 0) {
		*abi = 0;
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;	/* no Landlock in this kernel: best effort */
		return banger_error_set(err, -errno, "landlock: %s", strerror(errno));
	}
	struct ruleset_attr attr = { .handled_access_fs = fs_rights_for(*abi) };
	size_t size = sizeof(attr.handled_access_fs);
	if (*abi >= 4) {
		/* No TCP at all; sockets are also refused by seccomp. */
		attr.handled_access_net = BANGER_LANDLOCK_ACCESS_NET_BIND_TCP |
					  BANGER_LANDLOCK_ACCESS_NET_CONNECT_TCP;
		size = offsetof(struct ruleset_attr, scoped);
	}
	if (*abi >= 6) {
		/* No abstract unix sockets outside, no signals outside. */
		attr.scoped = BANGER_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | BANGER_LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return banger_error_set(err, -errno, "landlock: cannot create a ruleset (ABI %d): %s",
					*abi, strerror(errno));
	int rc = 0;
	for (size_t i = 0; rc == 0 && read_paths && read_paths[i]; i++)
		rc = add_path(fd, read_paths[i], FS_READ, attr.handled_access_fs, false, err);
	for (size_t i = 0; rc == 0 && exec_paths && exec_paths[i]; i++)
		rc = add_path(fd, exec_paths[i], LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE,
			      attr.handled_access_fs, true, err);
	if (rc == 0 && add_rule(fd, exec_fd, LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE) < 0)
		rc = banger_error_set(err, -errno, "landlock: rule for the staged binary: %s",
				      strerror(errno));
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*ruleset_fd = fd;
	return 0;
}

int landlock_allow_scratch(int ruleset_fd, const char *path, int abi)
{
	uint64_t rights = FS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_FILE |
			  LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_TRUNCATE;
	int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = add_rule(ruleset_fd, fd, rights & fs_rights_for(abi)) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

int landlock_enforce(int ruleset_fd)
{
	if (ruleset_fd < 0)
		return 0;
	if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) < 0)
		return -errno;
	return 0;
}
