#define _GNU_SOURCE
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *tmpdir_make(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;
	if (asprintf(&dir, "%s/banger-test.XXXXXX", base && base[0] ? base : "/tmp") < 0)
		fail_msg("out of memory");
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tmpdir_remove(char *dir)
{
	if (dir != NULL)
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

const char *path_in(const char *dir, const char *name)
{
	static char ring[8][4096];
	static int next;
	char *p = ring[next++ % 8];
	snprintf(p, 4096, "%s/%s", dir, name);
	return p;
}

struct entry {
	char name[256];
	struct stat st;
	char *bytes;
};

struct snapshot {
	struct entry *entries;
	size_t count;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static char *read_all(const char *path, off_t size)
{
	char *buf = malloc(size ? (size_t)size : 1);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	assert_non_null(buf);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	close(fd);
	return buf;
}

struct snapshot *snapshot_take(const char *dir)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	DIR *d = opendir(dir);
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		s->entries = realloc(s->entries, (s->count + 1) * sizeof(*s->entries));
		struct entry *e = &s->entries[s->count++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", de->d_name);
		assert_int_equal(lstat(path_in(dir, de->d_name), &e->st), 0);
		if (S_ISREG(e->st.st_mode))
			e->bytes = read_all(path_in(dir, de->d_name), e->st.st_size);
	}
	closedir(d);
	if (s->count)
		qsort(s->entries, s->count, sizeof(*s->entries), by_name);
	return s;
}

void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; s && i < s->count; i++)
		free(s->entries[i].bytes);
	if (s)
		free(s->entries);
	free(s);
}

void snapshot_assert_same(struct snapshot *before, const char *dir)
{
	struct snapshot *after = snapshot_take(dir);
	for (size_t i = 0; i < before->count || i < after->count; i++) {
		if (i >= before->count)
			fail_msg("%s: new file %s", dir, after->entries[i].name);
		if (i >= after->count)
			fail_msg("%s: %s is gone", dir, before->entries[i].name);
		const struct entry *a = &before->entries[i], *b = &after->entries[i];
		if (strcmp(a->name, b->name) != 0)
			fail_msg("%s: %s became %s", dir, a->name, b->name);
		if (a->st.st_mode != b->st.st_mode || a->st.st_uid != b->st.st_uid ||
		    a->st.st_gid != b->st.st_gid || a->st.st_ino != b->st.st_ino)
			fail_msg("%s: %s changed mode, owner or inode", dir, a->name);
		if (a->st.st_size != b->st.st_size)
			fail_msg("%s: %s changed size %lld -> %lld", dir, a->name,
				 (long long)a->st.st_size, (long long)b->st.st_size);
		if (a->bytes && memcmp(a->bytes, b->bytes, (size_t)a->st.st_size) != 0)
			fail_msg("%s: %s changed bytes", dir, a->name);
		if (a->st.st_mtim.tv_sec != b->st.st_mtim.tv_sec ||
		    a->st.st_mtim.tv_nsec != b->st.st_mtim.tv_nsec)
			fail_msg("%s: %s changed mtime", dir, a->name);
	}
	snapshot_free(after);
}

struct migration_set migrations_upto(int64_t upto)
{
	struct migration_set all = store_known_migrations(), some = all;
	some.count = 0;
	while (some.count < all.count && all.items[some.count].id <= upto)
		some.count++;
	return some;
}

void db_migrate_to(const char *path, int64_t upto)
{
	struct migration_set set = migrations_upto(upto);
	struct store *s;
	struct banger_error err = { 0 };
	if (store_open(path, &set, &s, NULL, &err) != STORE_OK)
		fail_msg("store_open %s: %s", path, err.msg);
	store_close(s);
}

void db_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s: %s", path, sql, msg);
	sqlite3_close(db);
}

static void writer_child(const char *path, const char *journal, const char *sql, int commit,
			 int ready_fd, int release_fd)
{
	sqlite3 *db;
	char setup[256];
	if (sqlite3_open(path, &db) != SQLITE_OK)
		_exit(10);
	/* wal_autocheckpoint=0: the commits stay in the -wal, never reach the
	 * main file. cache_size=1 + cache_spill: an open transaction writes the
	 * main file early, which makes its rollback journal hot. */
	snprintf(setup, sizeof(setup),
		 "PRAGMA journal_mode=%s; PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=1;"
		 "PRAGMA cache_spill=1;", journal);
	if (sqlite3_exec(db, setup, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		_exit(11);
	if (commit && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		_exit(12);
	if (write(ready_fd, "r", 1) != 1)
		_exit(13);
	char c;
	while (read(release_fd, &c, 1) < 0 && errno == EINTR)
		;
	sqlite3_close(db);
	_exit(0);
}

void writer_start(struct writer *w, const char *path, const char *journal, const char *sql,
		  int commit)
{
	int ready[2], release[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(release, O_CLOEXEC), 0);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		close(ready[0]);
		close(release[1]);
		writer_child(path, journal, sql, commit, ready[1], release[0]);
	}
	close(ready[1]);
	close(release[0]);
	w->release_fd = release[1];
	char c;
	if (read(ready[0], &c, 1) != 1) {
		int status;
		waitpid(w->pid, &status, 0);
		fail_msg("writer failed: exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	close(ready[0]);
}

void writer_kill(struct writer *w)
{
	kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	close(w->release_fd);
}

void writer_release(struct writer *w)
{
	int status;
	close(w->release_fd);
	assert_int_equal(waitpid(w->pid, &status, 0), w->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int classify(const char *path, struct schema_report *r, struct banger_error *err)
{
	struct migration_set known = store_known_migrations();
	return schema_classify(path, &known, r, err);
}

void assert_ids(const struct id_list *l, const int64_t *ids, size_t n)
{
	assert_int_equal(l->count, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(l->ids[i], ids[i]);
}
