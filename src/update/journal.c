/* The update journal: what an update has done so far, written and fsynced
 * before each step acts, so that --recover (or the next update) can undo
 * an update killed at any point. One "key=value" a line; replaced
 * atomically (write, fsync, rename, fsync the directory). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banger/owner.h"
#include "banger/update.h"

#define JOURNAL_NAME "update.journal"

static void journal_path(const char *state_dir, char *out, size_t size, const char *suffix)
{
	snprintf(out, size, "%s/%s%s", state_dir, JOURNAL_NAME, suffix);
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
	F(step), F(target), F(db), F(backup), F(socket), F(restart), F(new_version), F(old_version),
};

int journal_write(const char *state_dir, const struct journal *j, struct banger_error *err)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	journal_path(state_dir, path, sizeof(path), "");
	journal_path(state_dir, tmp, sizeof(tmp), ".tmp");
	struct banger_owner owner;
	int rc = banger_owner_of(j->db[0] ? j->db : path, &owner);
	FILE *f = rc == 0 ? fopen(tmp, "we") : NULL;
	if (f == NULL)
		return banger_error_set(err, rc ? rc : -errno, "%s: %s", tmp, strerror(rc ? -rc : errno));
	/* The database owner's, like everything in the state dir. */
	rc = banger_owner_give_fd(fileno(f), &owner);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		fprintf(f, "%s=%s\n", fields[i].key, (const char *)j + fields[i].offset);
	fprintf(f, "timeout_s=%u\n", j->timeout_s);
	if (rc == 0)
		rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc == 0)
		rc = update_fsync_dir(state_dir);
	if (rc != 0) {
		unlink(tmp);
		return banger_error_set(err, rc, "cannot write the update journal %s: %s", path,
					strerror(-rc));
	}
	return 0;
}

int journal_read(const char *state_dir, struct journal *j, struct banger_error *err)
{
	char path[PATH_MAX + 32], line[PATH_MAX + 64];
	memset(j, 0, sizeof(*j));
	journal_path(state_dir, path, sizeof(path), "");
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : banger_error_set(err, -errno, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		if (strcmp(line, "timeout_s") == 0)
			j->timeout_s = (unsigned)strtoul(eq + 1, NULL, 10);
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strcmp(line, fields[i].key) == 0)
				snprintf((char *)j + fields[i].offset, fields[i].size, "%s", eq + 1);
	}
	fclose(f);
	if (j->step[0] == '\0' || j->target[0] == '\0')
		return banger_error_set(err, -EINVAL, "%s: an unreadable update journal", path);
	return 1;
}

int journal_remove(const char *state_dir)
{
	char path[PATH_MAX + 32];
	journal_path(state_dir, path, sizeof(path), "");
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	return update_fsync_dir(state_dir);
}
