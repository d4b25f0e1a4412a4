/* PACKAGE: which Debian package a target is the file of, answered from
 * dpkg's own database, the way dpkg-query -S answers it for a path that is
 * not a pattern, but without loading the whole database (which made the
 * question most of an update's time) and without a shell or a glob:
 *
 *   the name   normalized as dpkg does (querycmd.c, fsys-hash.c): trailing
 *              "/" and "/." trimmed, leading "/" and "./" skipped. Nothing
 *              else: "/bin/ls" and "/usr/bin/ls" are different names to
 *              dpkg on a merged-/usr system, and so they are here. '*', '?',
 *              '[' and '\' are plain bytes: the exact path, never a pattern
 *              (dpkg-query -S would glob them);
 *   the lists  /var/lib/dpkg/info/PKG.list or PKG:ARCH.list, one name a
 *              line (one trailing '/' ignored, as dpkg's list parser does);
 *              a line matches only whole. The package is PKG, the
 *              architecture dropped, as dpkg-query's output was cut before;
 *   diversions /var/lib/dpkg/diversions, triples of lines: the diverted
 *              name, where it goes instead, the diverting package (":" for
 *              a local diversion). dpkg installs a package's file X at the
 *              diversion's other name unless that package is the diverter
 *              (dpkg's namenodetouse()): so the file at X is the diverter's, when it lists X (a local
 *              diversion: the administrator's, no package's), and the file
 *              at the other name is that of any other package listing X.
 *              dpkg-query -S prints the diversion and the packages listing
 *              each name; this reads them the way dpkg's unpack does.
 *
 * No dpkg database (no info directory): nothing is owned. A .list of a
 * package that dpkg's status calls not-installed would be read too; dpkg
 * removes those lists on purge, and reading the status file would cost
 * what this module saves. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define DPKG_INFO "/var/lib/dpkg/info"
#define DPKG_DIVERSIONS "/var/lib/dpkg/diversions"

/* dpkg's path_rtrim_slash_slashdot() then path_skip_slash_dotslash(): the
 * name without its leading '/', as dpkg's file hash keys it. */
static const char *dpkg_name(char *path)
{
	size_t len = strlen(path);
	while (len > 1 && (path[len - 1] == '/' || (path[len - 2] == '/' && path[len - 1] == '.')))
		path[--len] = '\0';
	while (path[0] == '/' || (path[0] == '.' && path[1] == '/'))
		path++;
	return path;
}

/* A whole line of a .list, [start, end), read as dpkg's list parser
 * reads it, is the name key. Most lines are shorter than the key: they
 * are told apart by their length alone. */
static bool line_is(const char *start, const char *end, const char *key, size_t key_len)
{
	if ((size_t)(end - start) < key_len)
		return false;
	if (end > start && end[-1] == '/')
		end--;
	while (start < end && (start[0] == '/' || (start[0] == '.' && start + 1 < end && start[1] == '/')))
		start++;
	return (size_t)(end - start) == key_len && memcmp(start, key, key_len) == 0;
}

/* 1 when some line of the list dir/name is the name key, 0 when none,
 * or a negative errno. Read in pieces through one buffer, line by line
 * (memchr is fast, and most lines are not of the key's length: a search
 * for the key itself stops at every name that shares its directory);
 * a buffer as large as the largest list (4 MB here) cost a page fault
 * per 4 KiB of it in every update. A line longer than the buffer is
 * longer than any key. */
static int list_holds(int dir, const char *name, const char *key, size_t key_len)
{
	char buf[64 * 1024];
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	size_t have = 0;	/* an unfinished line, kept at buf's start */
	bool long_line = false;	/* inside a line longer than buf */
	int found = 0;
	while (found == 0) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			found = -errno;
			break;
		}
		const char *at = buf, *end = buf + have + (size_t)n, *nl;
		while (found == 0 && (nl = memchr(at, '\n', (size_t)(end - at))) != NULL) {
			found = !long_line && line_is(at, nl, key, key_len);
			long_line = false;
			at = nl + 1;
		}
		if (n == 0) {	/* the end: a last line without its newline */
			found = found || (!long_line && line_is(at, end, key, key_len));
			break;
		}
		have = (size_t)(end - at);
		if (have == sizeof(buf)) {
			long_line = true;
			have = 0;
		} else {
			memmove(buf, at, have);
		}
	}
	close(fd);
	return found;
}

/* The package set of a list file's name ("libc6:amd64.list" -> "libc6"),
 * or 0 when name is not a .list. */
static size_t list_package(const char *name, char *pkg, size_t size)
{
	size_t len = strlen(name), colon = strcspn(name, ":");
	if (len <= 5 || strcmp(name + len - 5, ".list") != 0)
		return 0;
	len = colon < len - 5 ? colon : len - 5;
	snprintf(pkg, size, "%.*s", (int)len, name);
	return len;
}

/* Find the first package (other than skip, or only `only` when given)
 * whose list holds the name key: 1 and its name in pkg, 0 when none. */
static int scan_lists(const char *key, const char *skip, const char *only, char *pkg,
		      size_t size, struct banger_error *err)
{
	DIR *d = opendir(DPKG_INFO);
	if (!d)
		return errno == ENOENT ? 0 : banger_error_set(err, -errno, "cannot read %s: %s",
							       DPKG_INFO, strerror(errno));
	struct dirent *e;
	char name[256];
	int rc = 0;
	size_t key_len = strlen(key);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (!list_package(e->d_name, name, sizeof(name)) || (skip && strcmp(name, skip) == 0) ||
		    (only && strcmp(name, only) != 0))
			continue;
		int r = list_holds(dirfd(d), e->d_name, key, key_len);
		if (r == -ENOENT)
			continue;	/* removed by dpkg while we read */
		if (r < 0)
			rc = banger_error_set(err, r, "cannot read %s/%s: %s", DPKG_INFO, e->d_name,
					      strerror(-r));
		else
			rc = r;
	}
	if (rc == 1)
		snprintf(pkg, size, "%s", name);
	closedir(d);
	return rc;
}

struct diversion {
	char from[PATH_MAX], to[PATH_MAX], by[256];	/* by: "" for a local one */
	bool is_from;		/* key is the diverted name, else where it goes */
};

/* The diversion that names key, from dpkg's diversions file: 1 and d, 0
 * when none (or no file), < 0 with err when the file is not triples. */
static int find_diversion(const char *key, struct diversion *d, struct banger_error *err)
{
	FILE *f = fopen(DPKG_DIVERSIONS, "re");
	if (!f)
		return errno == ENOENT ? 0 : banger_error_set(err, -errno, "cannot read %s: %s",
							       DPKG_DIVERSIONS, strerror(errno));
	char *line[3] = { NULL, NULL, NULL };
	size_t cap[3] = { 0, 0, 0 };
	int rc = 0, got;
	for (;;) {
		for (got = 0; got < 3; got++) {
			ssize_t n = getline(&line[got], &cap[got], f);
			if (n <= 0)
				break;
			if (line[got][n - 1] == '\n')
				line[got][n - 1] = '\0';
		}
		if (got == 0)
			break;
		if (got < 3) {
			rc = banger_error_set(err, -EBADMSG, "%s: not a list of triples", DPKG_DIVERSIONS);
			break;
		}
		/* Names go through dpkg's own normalization, as in its hash. */
		char *from = line[0], *to = line[1];
		while (*from == '/' || (from[0] == '.' && from[1] == '/'))
			from++;
		while (*to == '/' || (to[0] == '.' && to[1] == '/'))
			to++;
		if (strcmp(from, key) == 0 || strcmp(to, key) == 0) {
			d->is_from = strcmp(from, key) == 0;
			snprintf(d->from, sizeof(d->from), "%s", from);
			snprintf(d->to, sizeof(d->to), "%s", to);
			snprintf(d->by, sizeof(d->by), "%s", strcmp(line[2], ":") ? line[2] : "");
			rc = 1;
			break;
		}
	}
	for (int i = 0; i < 3; i++)
		free(line[i]);
	fclose(f);
	return rc;
}

int update_package_owner(const char *path, char *pkg, size_t size, struct banger_error *err)
{
	char copy[PATH_MAX];
	struct diversion d = { .is_from = false };
	pkg[0] = '\0';
	if (path[0] != '/')
		return banger_error_set(err, -EINVAL, "%s: not an absolute path", path);
	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return banger_error_set(err, -ENAMETOOLONG, "%s: name too long", path);
	const char *key = dpkg_name(copy);
	/* No line of a list holds a newline, and "/" is no package's. */
	if (key[0] == '\0' || strchr(key, '\n'))
		return 0;
	int rc = find_diversion(key, &d, err);
	if (rc == 1 && d.is_from)	/* the diverter's own file, or the admin's */
		rc = d.by[0] ? scan_lists(key, NULL, d.by, pkg, size, err) : 0;
	else if (rc == 1) {		/* any other package's X, or a file of this name */
		rc = scan_lists(key, NULL, NULL, pkg, size, err);
		if (rc == 0)
			rc = scan_lists(d.from, d.by[0] ? d.by : NULL, NULL, pkg, size, err);
	} else if (rc == 0)
		rc = scan_lists(key, NULL, NULL, pkg, size, err);
	return rc < 0 ? rc : 0;
}
