/* elfpatch: a copy of a 64-bit ELF executable with its program headers
 * changed, to make the hostile binaries of issue 11 that a compiler will
 * not produce.
 *
 *   elfpatch IN OUT EDIT...
 *
 * EDITs, applied in order:
 *   interp PATH      the first PT_INTERP names PATH (a static binary, which
 *                    has none, gets one in place of its first PT_NOTE, or
 *                    of its PT_GNU_EH_FRAME when it has no note)
 *   add-interp PATH  one more PT_INTERP naming PATH, in place of the last
 *                    PT_NOTE (or of PT_GNU_EH_FRAME when no note is left):
 *                    the kernel loads the first PT_INTERP and ignores this
 *                    one. Its address is the first one's, so that ld.so
 *                    (which reads the name from memory, and the last
 *                    PT_INTERP's) still finds its own name.
 *   execstack        PT_GNU_STACK gets PF_X: an executable stack at exec
 *   wx-data          the first writable PT_LOAD gets PF_X as well
 *   exec-bss         one more PT_LOAD, readable and executable, with no
 *                    file bytes and a page of memory (p_filesz 0,
 *                    p_memsz 4096), above every other segment, in place
 *                    of the last PT_NOTE (or PT_GNU_EH_FRAME): the kernel
 *                    maps that page writable and executable
 *   phdrs N          the program header table copied to the end of the
 *                    file and grown to N entries with PT_NULL ones (the
 *                    PT_PHDR entry, if any, is left as it was)
 *
 * Each PATH is appended to the end of the copy, where the kernel reads it
 * (it takes the interpreter's name by file offset). Exit 0, or 1 with a
 * message. Neither is needed to run: a program loses its build id and ABI
 * tag, or the unwinder's index of its frames. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fail(const char *what)
{
	fprintf(stderr, "elfpatch: %s\n", what);
	return 1;
}

int main(int argc, char *argv[])
{
	if (argc < 4) {
		fputs("usage: elfpatch IN OUT EDIT... (interp PATH | add-interp PATH | execstack | wx-data | exec-bss | phdrs N)\n",
		      stderr);
		return 64;
	}
	FILE *in = fopen(argv[1], "rb");
	if (in == NULL)
		return fail(strerror(errno));
	static unsigned char buf[64 << 20];
	size_t size = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr) > size)
		return fail("not a 64-bit ELF file with program headers");
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff);

	for (int a = 3; a < argc; a++) {
		const char *edit = argv[a];
		int first_interp = -1, first_note = -1, last_note = -1, eh_frame = -1;
		for (int i = 0; i < eh->e_phnum; i++) {
			if (ph[i].p_type == PT_INTERP && first_interp < 0)
				first_interp = i;
			if (ph[i].p_type == PT_GNU_EH_FRAME)
				eh_frame = i;
			if (ph[i].p_type == PT_NOTE) {
				if (first_note < 0)
					first_note = i;
				last_note = i;
			}
		}
		if (first_note < 0)
			first_note = last_note = eh_frame;
		if (strcmp(edit, "interp") == 0 || strcmp(edit, "add-interp") == 0) {
			if (++a >= argc)
				return fail("interp and add-interp want a PATH");
			size_t len = strlen(argv[a]) + 1;
			int i;
			if (strcmp(edit, "interp") == 0)
				i = first_interp >= 0 ? first_interp : first_note;
			else
				i = last_note;
			if (i < 0)
				return fail("no PT_NOTE or PT_GNU_EH_FRAME left to turn into a PT_INTERP");
			if (size + len > sizeof(buf))
				return fail("too large");
			memcpy(buf + size, argv[a], len);
			if (ph[i].p_type != PT_INTERP) {
				ph[i].p_type = PT_INTERP;
				ph[i].p_flags = PF_R;
				ph[i].p_align = 1;
				if (first_interp >= 0) {
					ph[i].p_vaddr = ph[first_interp].p_vaddr;
					ph[i].p_paddr = ph[first_interp].p_paddr;
				}
			}
			ph[i].p_offset = size;
			ph[i].p_filesz = ph[i].p_memsz = len;
			size += len;
		} else if (strcmp(edit, "execstack") == 0) {
			int done = 0;
			for (int i = 0; i < eh->e_phnum; i++)
				if (ph[i].p_type == PT_GNU_STACK) {
					ph[i].p_flags |= PF_X;
					done = 1;
				}
			if (!done)
				return fail("no PT_GNU_STACK");
		} else if (strcmp(edit, "wx-data") == 0) {
			int i = 0;
			while (i < eh->e_phnum && !(ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_W)))
				i++;
			if (i == eh->e_phnum)
				return fail("no writable PT_LOAD");
			ph[i].p_flags |= PF_X;
		} else if (strcmp(edit, "exec-bss") == 0) {
			if (last_note < 0)
				return fail("no PT_NOTE or PT_GNU_EH_FRAME left to turn into a PT_LOAD");
			Elf64_Addr end = 0;
			for (int i = 0; i < eh->e_phnum; i++)
				if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr + ph[i].p_memsz > end)
					end = ph[i].p_vaddr + ph[i].p_memsz;
			Elf64_Phdr *p = &ph[last_note];
			p->p_type = PT_LOAD;
			p->p_flags = PF_R | PF_X;
			p->p_offset = 0;
			p->p_vaddr = p->p_paddr = ((end + 0xfff) & ~(Elf64_Addr)0xfff) + 0x1000;
			p->p_filesz = 0;
			p->p_memsz = 0x1000;
			p->p_align = 0x1000;
		} else if (strcmp(edit, "phdrs") == 0) {
			if (++a >= argc)
				return fail("phdrs wants a count");
			long n = strtol(argv[a], NULL, 10);
			size_t start = (size + 7) & ~(size_t)7;
			if (n < eh->e_phnum || n > 65535 || start + (size_t)n * sizeof(Elf64_Phdr) > sizeof(buf))
				return fail("phdrs: a count from the current one to 65535");
			memset(buf + size, 0, start - size);
			memcpy(buf + start, ph, eh->e_phnum * sizeof(Elf64_Phdr));
			memset(buf + start + eh->e_phnum * sizeof(Elf64_Phdr), 0,
			       (size_t)(n - eh->e_phnum) * sizeof(Elf64_Phdr));
			eh->e_phoff = start;
			eh->e_phnum = (Elf64_Half)n;
			ph = (Elf64_Phdr *)(buf + start);
			size = start + (size_t)n * sizeof(Elf64_Phdr);
		} else {
			return fail("unknown edit");
		}
	}
	FILE *out = fopen(argv[2], "wb");
	if (out == NULL)
		return fail(strerror(errno));
	int written = fwrite(buf, 1, size, out) == size;
	if (fclose(out) != 0 || !written || chmod(argv[2], 0755) != 0)
		return fail(strerror(errno));
	return 0;
}
