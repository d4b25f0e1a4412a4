/* libFuzzer harness for the update's ELF reader (src/update/elf_reader.c)
 * and what reads through it as root: VERIFY (update_verify_elf) and the
 * library closure (update_loader_files), on arbitrary bytes. Each must
 * accept or say why not, and what VERIFY accepts must keep the promises
 * the sandbox rests on: no segment both writable and executable, no
 * executable segment with a zero-filled tail, no executable stack, an
 * interpreter only under the library roots; and every library the closure
 * grants is a file under them. The bytes are in a memfd: nothing is
 * written to the file system. */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "banger/update.h"
#include "../../src/update/elf_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What VERIFY accepted keeps its promises (elf was read from the same
 * bytes, by the same reader). */
static void assert_promises(const struct update_elf *elf, const struct staged *s)
{
	for (unsigned i = 0; i < elf->eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &elf->ph[i];
		if (ph->p_type == PT_GNU_STACK && (ph->p_flags & PF_X))
			__builtin_trap();
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) &&
		    ((ph->p_flags & PF_W) || ph->p_memsz > ph->p_filesz))
			__builtin_trap();
	}
	if (s->interpreter[0] != '\0' && !update_under_library_root(s->interpreter))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	struct banger_error err = { 0 };
	struct update_elf elf;
	struct staged s = { .exec_fd = fd };
	int read_rc = update_elf_read(fd, &elf, &err);
	if (read_rc != 0 && err.msg[0] == '\0')
		__builtin_trap();	/* a refusal always says why */
	err.msg[0] = '\0';
	int verify_rc = update_verify_elf(&s, &err);
	if (verify_rc != 0) {
		if (err.msg[0] == '\0')
			__builtin_trap();
		close(fd);
		return 0;
	}
	if (read_rc != 0)
		__builtin_trap();	/* VERIFY passed what the reader refused */
	assert_promises(&elf, &s);
	char **files = NULL;
	err.msg[0] = '\0';
	if (update_loader_files(&s, &files, &err) != 0) {
		if (err.msg[0] == '\0')
			__builtin_trap();
	} else {
		/* files[0] is the interpreter as written; the rest are
		 * libraries, each resolving under the roots. */
		for (size_t i = 1; files[0] && files[i]; i++) {
			char *real = realpath(files[i], NULL);
			if (real == NULL || !update_under_library_root(real))
				__builtin_trap();
			free(real);
		}
		update_loader_files_free(files);
	}
	close(fd);
	return 0;
}
