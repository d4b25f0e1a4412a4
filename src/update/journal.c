/* The update journal: what an update has done so far, written and fsynced
 * before each step acts, so that --recover (or the next update) can undo
 * an update killed at any point. One "key=value" a line; replaced
 * atomically (write, fsync, rename, fsync the directory).
 *
 * It lives in root's update directory (lock.c), and root reads only a
 * journal that is a regular file of its own that no one else can write,
 * checked on the open descriptor: everything in it is acted on as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define JOURNAL_NAME "update.journal"
#define JOURNAL_TMP "update.journal.tmp"

/* The file's words for the steps; old journals' words read too. */
static const char *const step_names[] = {
	[JOURNAL_CHECKED] = "checked",
	[JOURNAL_BACKED_UP] = "backed-up",
	[JOURNAL_SWAPPING] = "swapping",
};

const char *journal_step_name(enum journal_step step)
{
	return (unsigned)step < sizeof(step_names) / sizeof(step_names[0]) ? step_names[step] : "?";
}

int journal_step_parse(const char *name, enum journal_step *step)
{
	for (size_t i = 0; i < sizeof(step_names) / sizeof(step_names[0]); i++)
		if (strcmp(name, step_names[i]) == 0) {
			*step = (enum journal_step)i;
			return 0;
		}
	/* Named in the old header, never written: as far as the swap. */
	if (strcmp(name, "swapped") == 0) {
		*step = JOURNAL_SWAPPING;
		return 0;
	}
	return -EINVAL;
}

int update_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

static const struct {
	const char *key;
	size_t offset, size;
} fields[] = {
#define F(name) { #name, offsetof(struct journal, name), sizeof(((struct journal *)0)->name) }
	F(target), F(db), F(backup), F(socket), F(restart), F(new_version), F(old_version),
};
#define FIELDS (sizeof(fields) / sizeof(fields[0]))

static int write_fields(int fd, const struct journal *j)
{
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		int e = -errno;
		close(fd);
		return e;
	}
	fprintf(f, "step=%s\n", journal_step_name(j->step));
	for (size_t i = 0; i < FIELDS; i++)
		fprintf(f, "%s=%s\n", fields[i].key, (const char *)j + fields[i].offset);
	fprintf(f, "timeout_s=%u\n", j->timeout_s);
	int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

int journal_write(int dir_fd, const char *dir, const struct journal *j, struct banger_error *err)
{
	if (!update_restart_valid(j->restart))
		return banger_error_set(err, -EINVAL, "refusing to journal the restart '%.100s'",
					j->restart);
	/* Root's directory: the name is ours to replace, created afresh. */
	if (unlinkat(dir_fd, JOURNAL_TMP, 0) != 0 && errno != ENOENT)
		return banger_error_set(err, -errno, "%s/%s: %s", dir, JOURNAL_TMP, strerror(errno));
	int fd = openat(dir_fd, JOURNAL_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = fd < 0 ? -errno : write_fields(fd, j);
	if (rc == 0 && renameat(dir_fd, JOURNAL_TMP, dir_fd, JOURNAL_NAME) != 0)
		rc = -errno;
	if (rc == 0 && fsync(dir_fd) != 0)
		rc = -errno;
	if (rc != 0) {
		(void)unlinkat(dir_fd, JOURNAL_TMP, 0);	/* best effort: the next run removes it too */
		return banger_error_set(err, rc, "cannot write the update journal %s/%s: %s", dir,
					JOURNAL_NAME, strerror(-rc));
	}
	return 0;
}

/* A journal root may act on: a regular file, root's (ours), that no one
 * else can write. */
static int open_checked(int dir_fd, const char *dir, struct banger_error *err)
{
	struct stat st;
	int fd = openat(dir_fd, JOURNAL_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0)
		return banger_error_set(err, -errno, "refusing the update journal %s/%s: %s", dir,
					JOURNAL_NAME, errno == ELOOP ? "a symlink" : strerror(errno));
	const char *why = fstat(fd, &st) != 0 ? strerror(errno)
			  : !S_ISREG(st.st_mode) ? "not a regular file"
			  : st.st_uid != geteuid() ? "not written by this uid"
			  : st.st_mode & 022 ? "writable by others" : NULL;
	if (why == NULL)
		return fd;
	close(fd);
	return banger_error_set(err, -EPERM, "refusing the update journal %s/%s: %s", dir,
				JOURNAL_NAME, why);
}

static void read_line(struct journal *j, char *line, bool *step_ok)
{
	line[strcspn(line, "\n")] = '\0';
	char *eq = strchr(line, '=');
	if (eq == NULL)
		return;
	*eq = '\0';
	if (strcmp(line, "timeout_s") == 0)
		j->timeout_s = (unsigned)strtoul(eq + 1, NULL, 10);
	else if (strcmp(line, "step") == 0)
		*step_ok = journal_step_parse(eq + 1, &j->step) == 0;
	for (size_t i = 0; i < FIELDS; i++)
		if (strcmp(line, fields[i].key) == 0)
			snprintf((char *)j + fields[i].offset, fields[i].size, "%s", eq + 1);
}

int journal_read(int dir_fd, const char *dir, struct journal *j, struct banger_error *err)
{
	char line[PATH_MAX + 64];
	bool step_ok = false;
	memset(j, 0, sizeof(*j));
	int fd = open_checked(dir_fd, dir, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return banger_error_set(err, -ENOMEM, "%s/%s: %s", dir, JOURNAL_NAME, strerror(ENOMEM));
	}
	while (fgets(line, sizeof(line), f))
		read_line(j, line, &step_ok);
	fclose(f);
	if (!step_ok || j->target[0] != '/' || !update_restart_valid(j->restart) ||
	    (j->new_version[0] && !update_version_valid(j->new_version)) ||
	    (j->old_version[0] && !update_version_valid(j->old_version)))
		return banger_error_set(err, -EINVAL, "%s/%s: an unreadable update journal", dir,
					JOURNAL_NAME);
	return 1;
}

int journal_remove(int dir_fd)
{
	if (unlinkat(dir_fd, JOURNAL_NAME, 0) != 0 && errno != ENOENT)
		return -errno;
	return journal_clean(dir_fd);
}

int journal_clean(int dir_fd)
{
	/* What a kill inside journal_write() left (issue 27). */
	if (unlinkat(dir_fd, JOURNAL_TMP, 0) != 0 && errno != ENOENT)
		return -errno;
	return fsync(dir_fd) == 0 ? 0 : -errno;
}
