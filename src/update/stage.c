/* STAGE and VERIFY: a private copy, checked as the copy (not the source:
 * no time-of-check gap between what we verify and what we run). */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/update.h"

#define STAGE_MAX_BYTES ((off_t)512 << 20)

static int open_unnamed(const char *dir, struct banger_error *err)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0700);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd >= 0 ? fd : banger_error_set(err, -errno, "cannot stage in %s: %s", dir,
						       strerror(errno));
	/* A file system without O_TMPFILE: a unique name, unlinked at once. */
	char name[4096];
	snprintf(name, sizeof(name), "%s/.bangerd.stage.XXXXXX", dir);
	fd = mkostemp(name, O_CLOEXEC);
	if (fd < 0)
		return banger_error_set(err, -errno, "cannot stage in %s: %s", dir, strerror(errno));
	unlink(name);
	return fd;
}

/* err does not name from: update_stage_verified() does, once. */
int update_stage(const char *from, const char *dir, bool durable, struct staged *out,
		 struct banger_error *err)
{
	int src = -1, rw = -1, rc;
	struct stat st;
	out->exec_fd = -1;
	out->interpreter[0] = '\0';
	out->interpreter_path[0] = '\0';
	src = open(from, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (src < 0) {
		rc = banger_error_set(err, -errno, "%s", strerror(errno));
		goto out;
	}
	if (fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = banger_error_set(err, -EINVAL, "not a regular file");
		goto out;
	}
	if (st.st_size > STAGE_MAX_BYTES) {
		rc = banger_error_set(err, -EFBIG, "larger than %lld bytes", (long long)STAGE_MAX_BYTES);
		goto out;
	}
	if ((rw = open_unnamed(dir, err)) < 0) {
		rc = rw;
		goto out;
	}
	char buf[65536];
	off_t copied = 0;
	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = banger_error_set(err, -errno, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if ((copied += n) > STAGE_MAX_BYTES) {
			rc = banger_error_set(err, -EFBIG, "grew past %lld bytes while copied",
					      (long long)STAGE_MAX_BYTES);
			goto out;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(rw, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = banger_error_set(err, -errno, "cannot stage in %s: %s", dir,
						      strerror(errno));
				goto out;
			}
			done += w;
		}
	}
	/* 0755 for a copy that will become the installed binary, 0711 for
	 * one that is only run by the check: the check runs as the database's
	 * owner, who must be able to execute it (it reaches the file only
	 * through our descriptor; it has no name). */
	if (fchmod(rw, durable ? 0755 : 0711) != 0 || (durable && fsync(rw) != 0)) {
		rc = banger_error_set(err, -errno, "cannot stage in %s: %s", dir, strerror(errno));
		goto out;
	}
	/* A descriptor open for writing would make execveat() fail with
	 * ETXTBSY, and would let a later writer change what we verified:
	 * reopen read-only and drop the writable one. */
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", rw);
	out->exec_fd = open(self, O_RDONLY | O_CLOEXEC);
	if (out->exec_fd < 0) {
		rc = banger_error_set(err, -errno, "cannot reopen the staged copy: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (src >= 0)
		close(src);
	if (rw >= 0)
		close(rw);
	return rc;
}

/* This machine's dynamic loader: the name its psABI fixes, which every
 * dynamic program the distribution builds carries as PT_INTERP (first),
 * then the same file by its multiarch and /usr-merged names. A fixed list
 * compiled into root's program, not the PT_INTERP of /bin/sh read at run
 * time: that is one more untrusted-format parse, and /bin/sh may be static
 * (busybox) or name another loader. A PT_INTERP is accepted only when it is
 * one of these names, as written, AND resolves to the same file as the
 * first: any other library (libc.so.6 is a regular file among them, and
 * the kernel would run it as the loader) is refused. */
#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
static const char *const native_loaders[] = {
	"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	"/usr/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", NULL
};
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
static const char *const native_loaders[] = {
	"/lib/ld-linux-aarch64.so.1", "/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1",
	"/usr/lib/ld-linux-aarch64.so.1", "/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", NULL
};
#else
#error "add this architecture's ELF machine and dynamic loader"
#endif

/* interp (as written) names this machine's loader, and st (its target's
 * stat) is that loader's file. */
static bool native_loader(const char *interp, const struct stat *st)
{
	struct stat abi;
	bool named = false;
	for (size_t i = 0; native_loaders[i]; i++)
		named = named || strcmp(interp, native_loaders[i]) == 0;
	return named && stat(native_loaders[0], &abi) == 0 && abi.st_dev == st->st_dev &&
	       abi.st_ino == st->st_ino;
}

/* The interpreter the kernel will open: a regular file that resolves
 * beneath one of the library directories the sandbox already lets the
 * child read. Landlock then adds execute on that one file, and nothing the
 * staged binary names can widen what the child may read (a directory, a
 * secret file, /proc/self/fd/N). resolved gets the real path. */
static int check_interpreter(const char *interp, char *resolved, size_t size,
			     struct banger_error *err)
{
	char real[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	if (realpath(interp, real) == NULL)
		return banger_error_set(err, -ENOEXEC, "an ELF interpreter that does not resolve: %s: %s",
					interp, strerror(errno));
	if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
		return banger_error_set(err, -ENOEXEC, "an ELF interpreter that is not a regular file: %s",
					interp);
	for (size_t i = 0; update_library_paths[i]; i++) {
		struct stat dst;
		if (realpath(update_library_paths[i], dir) == NULL || stat(dir, &dst) != 0 ||
		    !S_ISDIR(dst.st_mode))
			continue;	/* absent here (/lib64), or a file (ld.so.cache) */
		size_t n = strlen(dir);
		if (strncmp(real, dir, n) != 0 || real[n] != '/' || strlen(real) >= size)
			continue;
		if (!native_loader(interp, &st))
			return banger_error_set(err, -ENOEXEC,
						"an ELF interpreter that is not this machine's dynamic loader: %s (only %s)",
						interp, native_loaders[0]);
		memcpy(resolved, real, strlen(real) + 1);
		return 0;
	}
	return banger_error_set(err, -ENOEXEC,
				"an ELF interpreter outside the library directories: %s (resolves to %s)",
				interp, real);
}

int update_verify_elf(struct staged *s, struct banger_error *err)
{
	Elf64_Ehdr eh;
	struct stat st;
	char interp[sizeof(s->interpreter)] = "";
	unsigned interps = 0;
	s->interpreter[0] = '\0';
	s->interpreter_path[0] = '\0';
	if (fstat(s->exec_fd, &st) != 0 ||
	    pread(s->exec_fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return banger_error_set(err, -ENOEXEC, "not an ELF executable");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != NATIVE_MACHINE)
		return banger_error_set(err, -ENOEXEC,
					"an ELF file for another machine (class %u, data %u, machine %u)",
					eh.e_ident[EI_CLASS], eh.e_ident[EI_DATA], eh.e_machine);
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return banger_error_set(err, -ENOEXEC, "an ELF file that is not an executable (type %u)",
					eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 128 ||
	    eh.e_phoff > (Elf64_Off)st.st_size)
		return banger_error_set(err, -ENOEXEC, "an ELF file with a broken program header");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(s->exec_fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			return banger_error_set(err, -ENOEXEC, "an ELF file cut short");
		/* The policy promises W^X from the first system call on; these
		 * two would break it at exec, before any filter runs. */
		if (ph.p_type == PT_GNU_STACK && (ph.p_flags & PF_X))
			return banger_error_set(err, -ENOEXEC,
						"an ELF file that asks for an executable stack (PT_GNU_STACK)");
		if (ph.p_type == PT_LOAD && (ph.p_flags & (PF_W | PF_X)) == (PF_W | PF_X))
			return banger_error_set(err, -ENOEXEC,
						"an ELF file with a segment both writable and executable (program header %u)", i);
		/* The part of a segment beyond its file bytes is zero-filled
		 * anonymous memory that the kernel maps as it maps the heap
		 * (always writable), with the segment's execute bit added:
		 * writable and executable at exec, before any filter runs. A data segment (RW, its .bss) has such a tail by
		 * design; code never does (no program or library on Debian). */
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && ph.p_memsz > ph.p_filesz)
			return banger_error_set(err, -ENOEXEC,
						"an ELF file with an executable segment larger in memory than in the file (program header %u): its zero-filled tail would be mapped writable and executable", i);
		if (ph.p_type != PT_INTERP)
			continue;
		/* The kernel loads the first PT_INTERP; a second one means
		 * nothing to it, but would be what we granted. */
		if (++interps > 1)
			return banger_error_set(err, -ENOEXEC, "an ELF file with more than one PT_INTERP");
		if (ph.p_filesz < 2 || ph.p_filesz > sizeof(interp) ||
		    pread(s->exec_fd, interp, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz ||
		    interp[ph.p_filesz - 1] != '\0' || interp[0] != '/')
			return banger_error_set(err, -ENOEXEC, "an ELF file with a broken interpreter path");
	}
	if (interps == 1) {
		memcpy(s->interpreter_path, interp, sizeof(s->interpreter_path));
		return check_interpreter(interp, s->interpreter, sizeof(s->interpreter), err);
	}
	return 0;
}

void update_staged_close(struct staged *s)
{
	if (s->exec_fd >= 0)
		close(s->exec_fd);
	s->exec_fd = -1;
}

int update_stage_verified(const char *from, const char *dir, bool durable, const char *sha256,
			  const char *minisig, const char *pubkey, struct staged *out,
			  struct banger_error *err)
{
	struct banger_error e = { 0 };
	/* Every check reads the staged descriptor, never the source path. */
	if (update_stage(from, dir, durable, out, &e) != 0 ||
	    (sha256 && update_verify_sha256(out, sha256, &e) != 0))
		goto from_failed;
	/* Its messages name the signature or the key they are about. */
	if (minisig && update_verify_minisig(out, minisig, pubkey, err) != 0)
		return -1;
	if (update_verify_elf(out, &e) != 0)
		goto from_failed;
	return 0;
from_failed:
	/* The others' do not name the source: said once, here, as the option
	 * the operator gave it with. */
	banger_error_set(err, e.code, "--from %.200s: %.300s", from, e.msg);
	return -1;
}
