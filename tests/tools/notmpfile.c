/* libnotmpfile.so - tests only: an LD_PRELOAD shim that plays a file system
 * without O_TMPFILE: every open(2)/openat(2) that asks for O_TMPFILE fails
 * with EOPNOTSUPP, as the kernel answers for such a file system, and says
 * so on stderr ("notmpfile: DIR: EOPNOTSUPP (injected)") so that a test
 * can tell the fault was injected. Every other open passes through. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>

static int refused(const char *path, int flags)
{
	if ((flags & O_TMPFILE) != O_TMPFILE)
		return 0;
	dprintf(2, "notmpfile: %s: EOPNOTSUPP (injected)\n", path);
	errno = EOPNOTSUPP;
	return 1;
}

static mode_t mode_of(int flags, va_list ap)
{
	/* O_TMPFILE carries a mode, as O_CREAT does. */
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

#define SHIM_OPEN(name)                                                                  \
	int name(const char *path, int flags, ...)                                       \
	{                                                                                \
		static int (*real)(const char *, int, ...);                              \
		va_list ap;                                                              \
		va_start(ap, flags);                                                     \
		mode_t mode = mode_of(flags, ap);                                        \
		va_end(ap);                                                              \
		if (refused(path, flags))                                                \
			return -1;                                                       \
		if (!real)                                                               \
			real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name); \
		return real(path, flags, mode);                                          \
	}

#define SHIM_OPENAT(name)                                                                     \
	int name(int dirfd, const char *path, int flags, ...)                                 \
	{                                                                                     \
		static int (*real)(int, const char *, int, ...);                              \
		va_list ap;                                                                   \
		va_start(ap, flags);                                                          \
		mode_t mode = mode_of(flags, ap);                                             \
		va_end(ap);                                                                   \
		if (refused(path, flags))                                                     \
			return -1;                                                            \
		if (!real)                                                                    \
			real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, #name); \
		return real(dirfd, path, flags, mode);                                        \
	}

SHIM_OPEN(open)
SHIM_OPEN(open64)
SHIM_OPENAT(openat)
SHIM_OPENAT(openat64)
