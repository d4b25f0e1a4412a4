/* STAGE and VERIFY: a private copy, checked as the copy (not the source:
 * no time-of-check gap between what we verify and what we run). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/update.h"
#include "elf_reader.h"

#define STAGE_MAX_BYTES ((off_t)512 << 20)

/* Only an O_TMPFILE will do: SWAP gives the staged copy its name with
 * linkat(2) of /proc/self/fd/N, which works for an O_TMPFILE and fails
 * (ENOENT) for a file that had a name and lost it; and a named copy would
 * be one more file left behind by a crash. A file system without O_TMPFILE
 * (EOPNOTSUPP; EISDIR from a kernel that predates it) is refused here,
 * before anything changed, rather than at SWAP. */
static int open_unnamed(const char *dir, struct banger_error *err)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0700);
	if (fd >= 0)
		return fd;
	if (errno == EOPNOTSUPP || errno == EISDIR)
		return banger_error_set(err, -EOPNOTSUPP,
					"cannot stage in %s: its file system has no O_TMPFILE, which the "
					"update needs (ext4, xfs, btrfs and tmpfs have it)", dir);
	return banger_error_set(err, -errno, "cannot stage in %s: %s", dir, strerror(errno));
}

/* Copy src into dst, at most STAGE_MAX_BYTES: a file that grows while
 * copied is refused, not cut. 0 or < 0 with err. */
static int copy_bounded(int src, int dst, const char *dir, struct banger_error *err)
{
	char buf[65536];
	off_t copied = 0;
	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return banger_error_set(err, -errno, "cannot read: %s", strerror(errno));
		if (n == 0)
			return 0;
		if ((copied += n) > STAGE_MAX_BYTES)
			return banger_error_set(err, -EFBIG, "grew past %lld bytes while copied",
						(long long)STAGE_MAX_BYTES);
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(dst, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return banger_error_set(err, -errno, "cannot stage in %s: %s", dir,
							strerror(errno));
			done += w;
		}
	}
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
	if ((rc = copy_bounded(src, rw, dir, err)) != 0)
		goto out;
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
static const char *const native_loaders[] = {
	"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	"/usr/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", NULL
};
#elif defined(__aarch64__)
static const char *const native_loaders[] = {
	"/lib/ld-linux-aarch64.so.1", "/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1",
	"/usr/lib/ld-linux-aarch64.so.1", "/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", NULL
};
#else
#error "add this architecture's dynamic loader"
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
 * child read, and this machine's loader. Landlock then adds execute on
 * that one file, and nothing the staged binary names can widen what the
 * child may read (a directory, a secret file, /proc/self/fd/N) or run.
 * resolved gets the real path. */
static int check_interpreter(const char *interp, char *resolved, size_t size,
			     struct banger_error *err)
{
	char real[PATH_MAX];
	struct stat st;
	if (realpath(interp, real) == NULL)
		return banger_error_set(err, -ENOEXEC, "an ELF interpreter that does not resolve: %s: %s",
					interp, strerror(errno));
	if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
		return banger_error_set(err, -ENOEXEC, "an ELF interpreter that is not a regular file: %s",
					interp);
	if (!update_under_library_root(real) || strlen(real) >= size)
		return banger_error_set(err, -ENOEXEC,
					"an ELF interpreter outside the library directories: %s (resolves to %s)",
					interp, real);
	if (!native_loader(interp, &st))
		return banger_error_set(err, -ENOEXEC,
					"an ELF interpreter that is not this machine's dynamic loader: %s (only %s)",
					interp, native_loaders[0]);
	memcpy(resolved, real, strlen(real) + 1);
	return 0;
}

/* One program header's promises (see update_verify_elf). */
static int check_segment(const Elf64_Phdr *ph, unsigned i, struct banger_error *err)
{
	/* The policy promises W^X from the first system call on; these would
	 * break it at exec, before any filter runs. */
	if (ph->p_type == PT_GNU_STACK && (ph->p_flags & PF_X))
		return banger_error_set(err, -ENOEXEC,
					"an ELF file that asks for an executable stack (PT_GNU_STACK)");
	if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
		return 0;
	if (ph->p_flags & PF_W)
		return banger_error_set(err, -ENOEXEC,
					"an ELF file with a segment both writable and executable (program header %u)", i);
	/* The part of a segment beyond its file bytes is zero-filled
	 * anonymous memory that the kernel maps as it maps the heap (always
	 * writable), with the segment's execute bit added: writable and
	 * executable at exec. A data segment (RW, its .bss) has such a tail
	 * by design; code never does (no program or library on Debian). */
	if (ph->p_memsz > ph->p_filesz)
		return banger_error_set(err, -ENOEXEC,
					"an ELF file with an executable segment larger in memory than in the file (program header %u): its zero-filled tail would be mapped writable and executable", i);
	return 0;
}

int update_verify_elf(struct staged *s, struct banger_error *err)
{
	struct update_elf elf;
	char interp[sizeof(s->interpreter)] = "";
	unsigned interps = 0;
	s->interpreter[0] = '\0';
	s->interpreter_path[0] = '\0';
	int rc = update_elf_read(s->exec_fd, &elf, err);
	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < elf.eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &elf.ph[i];
		if ((rc = check_segment(ph, i, err)) != 0)
			return rc;
		if (ph->p_type != PT_INTERP)
			continue;
		/* The kernel loads the first PT_INTERP; a second one means
		 * nothing to it, but would be what we granted. */
		if (++interps > 1)
			return banger_error_set(err, -ENOEXEC, "an ELF file with more than one PT_INTERP");
		if (ph->p_filesz < 2 || ph->p_filesz > sizeof(interp) ||
		    pread(s->exec_fd, interp, ph->p_filesz, (off_t)ph->p_offset) != (ssize_t)ph->p_filesz ||
		    interp[ph->p_filesz - 1] != '\0' || interp[0] != '/')
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
