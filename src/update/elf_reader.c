/* The ELF reader and the library roots (elf_reader.h). The file is
 * untrusted and read as root: every read is a bounded pread at a checked
 * offset, and the headers are judged before anything in them is used. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_reader.h"

#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#else
#error "add this architecture's ELF machine"
#endif

int update_elf_read(int fd, struct update_elf *elf, struct banger_error *err)
{
	Elf64_Ehdr *eh = &elf->eh;
	struct stat st;
	if (fstat(fd, &st) != 0 || pread(fd, eh, sizeof(*eh), 0) != (ssize_t)sizeof(*eh) ||
	    memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return banger_error_set(err, -ENOEXEC, "not an ELF executable");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != NATIVE_MACHINE)
		return banger_error_set(err, -ENOEXEC,
					"an ELF file for another machine (class %u, data %u, machine %u)",
					eh->e_ident[EI_CLASS], eh->e_ident[EI_DATA], eh->e_machine);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return banger_error_set(err, -ENOEXEC, "an ELF file that is not an executable (type %u)",
					eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > UPDATE_ELF_PHDRS_MAX || eh->e_phoff > (Elf64_Off)st.st_size)
		return banger_error_set(err, -ENOEXEC, "an ELF file with a broken program header");
	size_t bytes = (size_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (pread(fd, elf->ph, bytes, (off_t)eh->e_phoff) != (ssize_t)bytes)
		return banger_error_set(err, -ENOEXEC, "an ELF file cut short");
	return 0;
}

/* The roots as written: where Debian's loader, libc and every library a
 * packaged program needs are installed. Not /usr/local/lib: a library
 * the loader would find there (ld.so.cache may name it) is not granted,
 * libraries.c says why. */
static const char *const library_dirs[] = { "/lib", "/lib64", "/usr/lib", "/usr/lib64" };
#define LIBRARY_DIRS (sizeof(library_dirs) / sizeof(library_dirs[0]))

const char *const *update_library_roots(void)
{
	static char real[LIBRARY_DIRS][PATH_MAX];
	static const char *roots[LIBRARY_DIRS + 1];
	static bool resolved;
	if (resolved)
		return roots;
	size_t n = 0;
	for (size_t i = 0; i < LIBRARY_DIRS; i++) {
		struct stat st;
		bool seen = false;
		if (realpath(library_dirs[i], real[n]) == NULL || stat(real[n], &st) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		for (size_t j = 0; j < n; j++)
			seen = seen || strcmp(roots[j], real[n]) == 0;
		if (!seen) {
			roots[n] = real[n];
			n++;
		}
	}
	roots[n] = NULL;
	resolved = true;
	return roots;
}

bool update_under_library_root(const char *real)
{
	for (const char *const *r = update_library_roots(); *r; r++) {
		size_t n = strlen(*r);
		/* "/" would be a root only on a machine whose /lib is "/":
		 * refuse rather than take the whole tree. */
		if (n > 1 && strncmp(real, *r, n) == 0 && real[n] == '/')
			return true;
	}
	return false;
}
