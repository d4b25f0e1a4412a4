/* elf_reader.h - inside the update module only (not a public door): the one
 * reader of an untrusted ELF file's headers, used by VERIFY (stage.c) and
 * by the library closure (libraries.c), so that both judge a file by the
 * same rules and the same limit; and the one list of library roots. */
#ifndef BANGER_UPDATE_ELF_READER_H
#define BANGER_UPDATE_ELF_READER_H

#include <elf.h>
#include <stdbool.h>

#include "banger/error.h"

/* More program headers than any linker writes (ld writes about 14), few
 * enough to read in one go onto the stack. */
#define UPDATE_ELF_PHDRS_MAX 128

struct update_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[UPDATE_ELF_PHDRS_MAX];	/* eh.e_phnum of them */
};

/* The ELF header and the program headers of fd: 64-bit, little-endian,
 * this machine's, an executable or a shared object, with 1 to
 * UPDATE_ELF_PHDRS_MAX program headers of the standard size, all inside
 * the file. 0, or -ENOEXEC with err saying what is wrong. */
int update_elf_read(int fd, struct update_elf *elf, struct banger_error *err);

/* The library directories (/lib, /lib64, /usr/lib, /usr/lib64), each
 * resolved once per process, those absent left out, duplicates (a
 * /usr-merged /lib is /usr/lib) once: NULL-terminated real paths. */
const char *const *update_library_roots(void);

/* real (a path without symlinks) is beneath one of the library roots. */
bool update_under_library_root(const char *real);

#endif
