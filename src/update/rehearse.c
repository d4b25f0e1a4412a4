/* REHEARSE: when the check said "migrations needed", the staged bangerd's
 * --rehearse-migrations applies them to a private copy of the live
 * database, in the sandbox, under its own policy
 * (policy/rehearse-migrations.policy): a release whose migration fails on
 * this data is refused (7) before anything is backed up or swapped, and
 * the time it took is the operator's forecast of the first start.
 *
 * The scratch is the only writable place the child has. With a mount
 * namespace (root) it is a tmpfs of the child's own, mounted at a path
 * that exists only there: nothing on the machine's disk is written, and
 * the copy is gone with the child. Without one (a non-root updater, the
 * database's own uid) it is a private directory in the updater's own
 * directory, fenced by Landlock (the sandbox refuses it on a kernel
 * without Landlock), emptied and removed here: its files are only ever
 * deleted, never read. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/sandbox.h"
#include "internal.h"

static const struct sock_filter rehearse_migrations_bpf[] = {
#include "rehearse_migrations_bpf.inc"
};

/* In the child's namespace only: no such path on the machine. */
#define NAMESPACE_SCRATCH "/banger-rehearsal"
#define MIB ((size_t)1 << 20)

/* The live database's bytes, its -wal's included (what the copy will
 * hold at most), without following a link. */
static int64_t live_bytes(const char *db)
{
	char wal[PATH_MAX + 8];
	struct stat st;
	int64_t total = 0;
	if (fstatat(AT_FDCWD, db, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		total += st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", db);
	if (fstatat(AT_FDCWD, wal, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		total += st.st_size;
	return total;
}

/* What a non-namespace child left in its scratch: regular files only
 * (Landlock grants it no other kind), unlinked by name from the
 * directory's descriptor, never followed; then the directory. */
static void scratch_remove(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d != NULL) {
		for (struct dirent *e; (e = readdir(d)) != NULL;)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				(void)unlinkat(fd, e->d_name, 0);	/* a leftover is named below */
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	if (rmdir(dir) != 0 && errno != ENOENT)
		fprintf(stderr, "banger: the rehearsal's scratch %s could not be removed: %s\n", dir,
			strerror(errno));
}


void update_rehearsal_clean(int dir_fd)
{
	int fd = dup(dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char path[PATH_MAX + NAME_MAX + 2];
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, "rehearsal.", 10) != 0 || e->d_type != DT_DIR)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dir_fd, e->d_name);
		scratch_remove(path);
	}
	closedir(d);
}

bool update_rehearse_skipped(const struct check_run *c, struct rehearsal_verdict *rv)
{
	const struct update_options *o = c->o;
	memset(rv, 0, sizeof(*rv));
	if (o->no_rehearse) {
		rv->skipped = true;
		snprintf(rv->line, sizeof(rv->line), "not rehearsed (--no-rehearse): a migration that "
			 "fails on this data is found only after the swap");
		return true;
	}
	int64_t bytes = live_bytes(c->db);
	unsigned long max_mb = o->rehearse_max_mb ? o->rehearse_max_mb : 1024;
	if ((uint64_t)bytes > (uint64_t)max_mb * MIB) {
		rv->skipped = true;
		snprintf(rv->line, sizeof(rv->line), "not rehearsed: the database is %lu MB, over "
			 "--rehearse-max-mb %lu; pass --rehearse-max-mb %lu to rehearse it",
			 (unsigned long)((bytes + (int64_t)MIB - 1) / (int64_t)MIB), max_mb,
			 (unsigned long)((bytes + (int64_t)MIB - 1) / (int64_t)MIB));
		return true;
	}
	return false;
}

int update_rehearse(struct check_run *c, struct rehearsal_verdict *rv)
{
	struct banger_error err = { 0 };
	if (update_rehearse_skipped(c, rv))
		return 0;
	int64_t bytes = live_bytes(c->db);
	/* Room for the copy, what the migrations add (a rebuilt table is a
	 * second copy of it) and SQLite's sidecars; time and memory that grow
	 * with it: a second per 10 MB on top of a floor. */
	struct staged_job job = {
		.bpf = rehearse_migrations_bpf, .bpf_bytes = sizeof(rehearse_migrations_bpf),
		.timeout_ms = 10000 + (unsigned)(bytes / (int64_t)(10 * MIB)) * 1000,
		.memory_bytes = (size_t)1 << 30,
		.scratch_bytes = 2 * (size_t)bytes + 64 * MIB,
	};
	char dir[PATH_MAX + 32] = "";
	if (sandbox_mount_namespace_possible()) {
		job.scratch = NAMESPACE_SCRATCH;
	} else {
		/* The updater's own directory (a non-root updater's: the same
		 * uid as its daemon), made when missing. */
		char updir[PATH_MAX];
		int fd = -1;
		if (update_dir_open(true, &fd, updir, sizeof(updir), &err) != 0 ||
		    snprintf(dir, sizeof(dir), "%s/rehearsal.XXXXXX", updir) >= (int)sizeof(dir) ||
		    mkdtemp(dir) == NULL) {
			if (fd >= 0)
				close(fd);
			rv->code = UPDATE_EXIT_CHECK_FAILED;
			snprintf(rv->reason, sizeof(rv->reason), "the rehearsal has no scratch: %.400s: %s",
				 dir, strerror(errno));
			return rv->code;
		}
		close(fd);
		job.scratch = dir;
	}
	char *argv[] = { "bangerd", "--db", c->db, "--rehearse-migrations", "--scratch",
			 (char *)job.scratch, NULL };
	struct sandbox_result result;
	int rc = update_run_job(&c->staged, argv, c->db, c->db_dir, &job, &result, &err);
	if (dir[0])
		scratch_remove(dir);
	if (rc != 0) {
		rv->code = UPDATE_EXIT_CHECK_FAILED;
		snprintf(rv->reason, sizeof(rv->reason), "the rehearsal could not run: %s", err.msg);
		return rv->code;
	}
	update_judge_rehearsal(&result, rv);
	return rv->code;
}
