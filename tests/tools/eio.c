/* libeio.so - tests only: an LD_PRELOAD shim that makes writes and syncs
 * fail with EIO, the way a dying disk does, for the files of one path.
 *
 *   BANGER_EIO_PATH=PREFIX   files whose path (as /proc/self/fd shows it;
 *                            an O_TMPFILE is "DIR/#INODE (deleted)") starts
 *                            with PREFIX
 *   BANGER_EIO_AFTER=N       let the first N bytes written to them succeed
 *                            (default 0), then fail every write and sync
 *   BANGER_EIO_OPS=sync      fail only fsync/fdatasync (writes succeed);
 *                  write     fail only writes; default both
 *
 * Every failure is counted on stderr ("eio: write ... EIO"), so a test can
 * tell that the fault was injected where it meant. Without BANGER_EIO_PATH
 * the shim passes everything through. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static long long budget = -1;	/* bytes still allowed; -1 before the first use */

static int doomed(int fd, const char *op)
{
	const char *prefix = getenv("BANGER_EIO_PATH");
	const char *ops = getenv("BANGER_EIO_OPS");
	int is_sync = op[0] == 'f';
	if (prefix == NULL || *prefix == '\0' ||
	    (ops && strcmp(ops, is_sync ? "sync" : "write") != 0))
		return 0;
	char link[64], path[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	if (strncmp(path, prefix, strlen(prefix)) != 0)
		return 0;
	if (budget < 0) {
		const char *after = getenv("BANGER_EIO_AFTER");
		budget = after ? atoll(after) : 0;
	}
	if (budget > 0)
		return 0;
	dprintf(2, "eio: %s %s: EIO (injected)\n", op, path);
	return 1;
}

/* Spend count bytes of the budget; the part past it fails. */
static size_t allowed(size_t count)
{
	if (budget <= 0)
		return count;
	size_t n = count < (size_t)budget ? count : (size_t)budget;
	budget -= (long long)n;
	return n;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void *buf, size_t count)
{
	if (doomed(fd, "write"))
		return errno = EIO, -1;
	return NEXT(write)(fd, buf, allowed(count));
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
	if (doomed(fd, "pwrite"))
		return errno = EIO, -1;
	return NEXT(pwrite)(fd, buf, allowed(count), off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off)
{
	if (doomed(fd, "pwrite64"))
		return errno = EIO, -1;
	return NEXT(pwrite64)(fd, buf, allowed(count), off);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	if (doomed(fd, "writev"))
		return errno = EIO, -1;
	return NEXT(writev)(fd, iov, iovcnt);
}

int fsync(int fd)
{
	if (doomed(fd, "fsync"))
		return errno = EIO, -1;
	return NEXT(fsync)(fd);
}

int fdatasync(int fd)
{
	if (doomed(fd, "fdatasync"))
		return errno = EIO, -1;
	return NEXT(fdatasync)(fd);
}
