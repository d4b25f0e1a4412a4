/* The files the dynamic loader needs to start the staged binary: its ELF
 * interpreter and the closure of DT_NEEDED, looked up in the interpreter's
 * own directory (Debian's multiarch directory: /lib64/ld-linux-x86-64.so.2
 * resolves to /usr/lib/x86_64-linux-gnu/). The check's mount namespace
 * binds these and no other code: the library directories also hold
 * programs (helpers under /usr/lib/openssh, /usr/lib/systemd, the
 * multiarch directory's own subdirectories) that an execveat() by path,
 * which the policy cannot tell from ours, could otherwise run.
 *
 * The names come from an untrusted file, so: a name with a slash, or one
 * that does not resolve to a regular file under the library roots, is not
 * granted (the loader will then fail to start the binary, and the check
 * exits 3); at most LIBS_MAX libraries; every read is bounded. A library
 * the loader would find elsewhere (ld.so.cache naming /usr/local/lib, an
 * RPATH) is not granted either: the same failure, never a wider root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/update.h"
#include "elf_reader.h"

#define LIBS_MAX 64
#define DYNAMIC_MAX 1024

/* The string-table offsets of fd's DT_NEEDED entries, and the table's file
 * offset and size. 0 with *count 0 for a file without a dynamic section.
 * The headers are read as VERIFY reads them (elf_reader.h): a file VERIFY
 * passed is never one this refuses. */
static int read_needed(int fd, uint64_t *offsets, size_t *count, uint64_t *strtab, uint64_t *strsz)
{
	struct update_elf elf;
	*count = 0;
	int rc = update_elf_read(fd, &elf, NULL);
	if (rc != 0)
		return rc;
	const Elf64_Phdr *ph = elf.ph, *dyn = NULL;
	for (int i = 0; i < elf.eh.e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = &ph[i];
	if (dyn == NULL)
		return 0;	/* static */
	size_t entries = dyn->p_filesz / sizeof(Elf64_Dyn);
	if (entries > DYNAMIC_MAX)
		return -ENOEXEC;
	Elf64_Dyn *d = calloc(entries ? entries : 1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	uint64_t strtab_vaddr = 0;
	*strsz = 0;
	if (pread(fd, d, entries * sizeof(*d), (off_t)dyn->p_offset) != (ssize_t)(entries * sizeof(*d)))
		rc = -ENOEXEC;
	for (size_t i = 0; rc == 0 && i < entries && d[i].d_tag != DT_NULL; i++) {
		if (d[i].d_tag == DT_STRTAB)
			strtab_vaddr = d[i].d_un.d_ptr;
		else if (d[i].d_tag == DT_STRSZ)
			*strsz = d[i].d_un.d_val;
		else if (d[i].d_tag == DT_NEEDED && *count < LIBS_MAX)
			offsets[(*count)++] = d[i].d_un.d_val;
	}
	free(d);
	if (rc != 0 || *count == 0)
		return rc;
	/* The string table is named by address: find the file offset of the
	 * loaded segment that holds it. */
	for (int i = 0; i < elf.eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && strtab_vaddr >= ph[i].p_vaddr &&
		    strtab_vaddr - ph[i].p_vaddr < ph[i].p_filesz &&
		    *strsz <= ph[i].p_filesz - (strtab_vaddr - ph[i].p_vaddr)) {
			*strtab = strtab_vaddr - ph[i].p_vaddr + ph[i].p_offset;
			return 0;
		}
	return -ENOEXEC;
}

/* What dir/name (path) resolves to, in real, and its stat. dir is a real
 * path already (no symlink in it), so only the name needs following: a
 * symlink whose text is a plain name stays in dir (libc.so.6 is a file,
 * libsqlite3.so.0 links to libsqlite3.so.0.8.6), which costs an lstat
 * and a readlink where realpath() would readlink every directory of dir
 * again. Any other link text is left to realpath(). 0 or -1. */
static int resolve_library(const char *dir, const char *path, const char *name, char *real,
			   struct stat *st)
{
	char cur[NAME_MAX + 1], target[NAME_MAX + 1];
	snprintf(cur, sizeof(cur), "%s", name);
	for (int hops = 0; hops < 8; hops++) {
		if (snprintf(real, PATH_MAX, "%s/%s", dir, cur) >= PATH_MAX || lstat(real, st) != 0)
			return -1;
		if (!S_ISLNK(st->st_mode))
			return 0;
		ssize_t k = readlink(real, target, sizeof(target));
		if (k <= 0 || k == (ssize_t)sizeof(target))
			return -1;
		target[k] = '\0';
		if (strchr(target, '/') != NULL || strcmp(target, ".") == 0 || strcmp(target, "..") == 0)
			break;
		memcpy(cur, target, (size_t)k + 1);
	}
	return realpath(path, real) != NULL && stat(real, st) == 0 ? 0 : -1;
}

/* Add dir/name to libs (once) when it is a regular file under a library
 * root, however reached. dir is a real path. */
static int add_library(char **libs, size_t *n, const char *dir, const char *name)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct stat st;
	if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, "..") == 0 ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(libs[i], path) == 0)
			return 0;
	if (*n == LIBS_MAX || resolve_library(dir, path, name, real, &st) != 0 ||
	    !update_under_library_root(real) || !S_ISREG(st.st_mode))
		return 0;
	if ((libs[*n] = strdup(path)) == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* The needed names of fd, each added to libs. */
static int add_needed(int fd, char **libs, size_t *n, const char *dir)
{
	uint64_t offsets[LIBS_MAX], strtab = 0, strsz = 0;
	size_t count;
	int rc = read_needed(fd, offsets, &count, &strtab, &strsz);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		char name[NAME_MAX + 1];
		if (offsets[i] >= strsz)
			return -ENOEXEC;
		size_t want = strsz - offsets[i] < sizeof(name) ? strsz - offsets[i] : sizeof(name);
		ssize_t got = pread(fd, name, want, (off_t)(strtab + offsets[i]));
		if (got <= 0 || memchr(name, '\0', (size_t)got) == NULL)
			return -ENOEXEC;
		rc = add_library(libs, n, dir, name);
	}
	return rc;
}

int update_loader_files(const struct staged *staged, char ***files, struct banger_error *err)
{
	char **list = calloc(LIBS_MAX + 2, sizeof(*list));
	char real[PATH_MAX];
	int rc = 0;
	*files = NULL;
	if (list == NULL)
		return banger_error_set(err, -ENOMEM, "out of memory");
	/* The path as the kernel will open it (PT_INTERP as written): the
	 * namespace must hold the symlinks on its way, not only the file.
	 * VERIFY resolved it and judged the file (the loader, under the
	 * library roots): its directory is where the libraries are looked
	 * up, and nothing here resolves it again. */
	const char *interp = staged->interpreter_path[0] ? staged->interpreter_path : staged->interpreter;
	if (staged->interpreter[0] == '\0')
		goto done;	/* static: the loader is not involved */
	snprintf(real, sizeof(real), "%s", staged->interpreter);
	char *slash = strrchr(real, '/');
	if (slash == NULL) {
		rc = banger_error_set(err, -EINVAL, "the ELF interpreter %s was not verified", interp);
		goto done;
	}
	*slash = '\0';	/* real is now the interpreter's directory */
	if ((list[0] = strdup(interp)) == NULL) {
		rc = banger_error_set(err, -ENOMEM, "out of memory");
		goto done;
	}
	char **libs = list + 1;
	size_t libs_n = 0;
	rc = add_needed(staged->exec_fd, libs, &libs_n, real);
	/* Breadth first: each library found may need more. */
	for (size_t i = 0; rc == 0 && i < libs_n; i++) {
		int fd = open(libs[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			break;
		}
		rc = add_needed(fd, libs, &libs_n, real);
		close(fd);
	}
	if (rc != 0)
		rc = banger_error_set(err, rc, "the libraries the staged binary needs: %s", strerror(-rc));
done:
	if (rc != 0) {
		update_loader_files_free(list);
		return rc;
	}
	*files = list;
	return 0;
}

void update_loader_files_free(char **files)
{
	for (size_t i = 0; files && files[i]; i++)
		free(files[i]);
	free(files);
}
