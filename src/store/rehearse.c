/* The migration rehearsal: the pending migrations applied to a private copy
 * of the live database, so that a release whose migration fails on this
 * data is refused before anything is swapped.
 *
 * The live database is only ever read, through the same read-only path as
 * schema_classify() (readonly.c: the read-only VFS, our own shared lock for
 * a cleanly closed WAL database, bounded retries): nothing beside it is
 * created, changed or deleted, whatever state it is in. Everything written
 * goes to one file in the scratch directory, created O_EXCL, and its
 * sidecars; all of them are removed before we return. The copy is migrated
 * by store_open(), the code path --migrate and the first start take, so
 * what succeeds here is what the new daemon will run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/clock.h"
#include "banger/json.h"
#include "internal.h"

#define COPY_NAME "banger.db"

static void remove_copy(const char *copy)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char file[PATH_MAX + 16];
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", copy, suffixes[i]);
		(void)unlink(file);	/* absent is fine: nothing to remove */
	}
}

/* The copy, made O_EXCL in scratch_dir: a scratch that already holds one
 * is not ours to overwrite. */
static int make_copy(const char *live, const char *scratch_dir, char *copy, size_t size,
		     int64_t *bytes, struct banger_error *err)
{
	struct stat st;
	if (stat(scratch_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return banger_error_set(err, -ENOTDIR, "the scratch %s is not a directory", scratch_dir);
	if (snprintf(copy, size, "%s/%s", scratch_dir, COPY_NAME) >= (int)size)
		return banger_error_set(err, -ENAMETOOLONG, "%s: path too long", scratch_dir);
	int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return banger_error_set(err, -errno, "the scratch is unusable: %s: %s", copy,
					strerror(errno));
	close(fd);
	int rc = store_read_consistent(live, store_copy_snapshot, copy, err);
	if (rc == STORE_READ_FRESH)
		rc = 0;	/* nothing there yet: the empty copy is the fresh install */
	if (rc == 0 && stat(copy, &st) != 0)
		rc = banger_error_set(err, -errno, "%s: %s", copy, strerror(errno));
	if (rc != 0) {
		remove_copy(copy);
		return rc;
	}
	*bytes = st.st_size;
	return 0;
}

/* SQLite's own words from store_open()'s "PATH: migration N (NAME) failed:
 * MESSAGE (SQLite extended code C)" (store.c and sqlite_util.c, this
 * module's own format), else the whole reason. */
static void sqlite_words(const char *msg, char *out, size_t size)
{
	const char *from = strstr(msg, ") failed: ");
	from = from ? from + strlen(") failed: ") : msg;
	const char *to = strstr(from, " (SQLite extended code ");
	int n = to ? (int)(to - from) : (int)strlen(from);
	snprintf(out, size, "%.*s", n, from);
}

/* The first pending migration the copy still lacks: the one that failed
 * (store_open applies them in order and stops at the first failure). */
static void find_failed(const char *copy, const struct migration_set *known, struct rehearsal *r)
{
	struct schema_report after;
	struct banger_error err = { 0 };
	int64_t id = r->report.pending.count ? r->report.pending.ids[0] : 0;
	if (schema_classify(copy, known, &after, &err) == 0) {
		if (after.pending.count)
			id = after.pending.ids[0];
		schema_report_free(&after);
	}
	r->failed_id = id;
	for (size_t i = 0; i < known->count; i++)
		if (known->items[i].id == id)
			r->failed_name = known->items[i].name;
}

/* The first row of a check pragma that is not "ok" (integrity_check), or
 * any row at all (foreign_key_check): 1 and what it says, 0 when clean. */
static int check_copy(sqlite3 *db, char *what, size_t size)
{
	sqlite3_stmt *st = NULL;
	int bad = 0;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
		snprintf(what, size, "integrity_check: %s", sqlite3_errmsg(db));
		return 1;
	}
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0) ?: "", "ok") != 0) {
		snprintf(what, size, "integrity_check: %s",
			 (const char *)sqlite3_column_text(st, 0) ?: sqlite3_errmsg(db));
		bad = 1;
	}
	sqlite3_finalize(st);
	if (bad)
		return 1;
	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK) {
		snprintf(what, size, "foreign_key_check: %s", sqlite3_errmsg(db));
		return 1;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(what, size, "foreign_key_check: a row of %s (rowid %lld) references a missing %s",
			 (const char *)sqlite3_column_text(st, 0) ?: "?",
			 (long long)sqlite3_column_int64(st, 1),
			 (const char *)sqlite3_column_text(st, 2) ?: "?");
		bad = 1;
	} else if (rc != SQLITE_DONE) {
		snprintf(what, size, "foreign_key_check: %s", sqlite3_errmsg(db));
		bad = 1;
	}
	sqlite3_finalize(st);
	return bad;
}

/* Apply the pending migrations to the copy and judge it. */
static void migrate_copy(const char *copy, const struct migration_set *known, struct rehearsal *r)
{
	struct store *s = NULL;
	struct banger_error err = { 0 };
	int64_t start = banger_now_ms();
	enum store_status st = store_open(copy, known, &s, NULL, &err);
	r->ms = banger_now_ms() - start;
	if (st != STORE_OK) {
		r->result = REHEARSAL_FAILED;
		sqlite_words(err.msg, r->error, sizeof(r->error));
		store_close(s);
		find_failed(copy, known, r);
		return;
	}
	struct schema_report after;
	if (store_schema_report(s, known, &after, &err) != 0) {
		r->result = REHEARSAL_FAILED;
		snprintf(r->error, sizeof(r->error), "%s", err.msg);
	} else {
		/* What the copy lacked before and has now: the live pending set,
		 * all applied (store_open returned OK). */
		for (size_t i = 0; i < r->report.pending.count; i++)
			(void)id_list_push(&r->applied, r->report.pending.ids[i]);	/* a short list */
		schema_report_free(&after);
		r->result = REHEARSAL_REHEARSED;
		if (check_copy(store_db(s), r->error, sizeof(r->error))) {
			r->result = REHEARSAL_FAILED;
			int64_t last = r->report.pending.ids[r->report.pending.count - 1];
			r->failed_id = last;
			for (size_t i = 0; i < known->count; i++)
				if (known->items[i].id == last)
					r->failed_name = known->items[i].name;
		}
	}
	store_close(s);
}

int store_rehearse(const char *live, const char *scratch_dir, const struct migration_set *known,
		   struct rehearsal *out, struct banger_error *err)
{
	char copy[PATH_MAX];
	memset(out, 0, sizeof(*out));
	if (schema_classify(live, known, &out->report, err) != 0)
		return err && err->code < 0 ? err->code : -EIO;
	if (out->report.state == SCHEMA_COMPATIBLE) {
		out->result = REHEARSAL_NOTHING;
		return 0;
	}
	if (out->report.state == SCHEMA_INCOMPATIBLE) {
		out->result = REHEARSAL_INCOMPATIBLE;
		return 0;
	}
	/* SQLite's temporary files (a large sort, an index build) go to the
	 * scratch too: in the sandbox nothing else is writable, and outside
	 * it nothing else should be written. Set once, before any connection
	 * of this process needs one (SQLite's rule for the variable). */
	if (sqlite3_temp_directory == NULL)
		sqlite3_temp_directory = sqlite3_mprintf("%s", scratch_dir);
	int rc = make_copy(live, scratch_dir, copy, sizeof(copy), &out->bytes, err);
	if (rc != 0) {
		schema_report_free(&out->report);
		return rc < 0 ? rc : -EIO;
	}
	migrate_copy(copy, known, out);
	remove_copy(copy);
	return 0;
}

void rehearsal_free(struct rehearsal *r)
{
	schema_report_free(&r->report);
	free(r->applied.ids);
	r->applied = (struct id_list){ 0 };
}

static void print_ids(const struct id_list *l, const char *sep, FILE *out)
{
	for (size_t i = 0; i < l->count; i++)
		fprintf(out, "%s%" PRId64, i ? sep : "", l->ids[i]);
}

static void print_json(const struct rehearsal *r, FILE *out)
{
	static const char *const words[] = { "nothing", "rehearsed", "failed", "failed" };
	fprintf(out, "{\"result\":\"%s\",\"applied\":[", words[r->result]);
	print_ids(&r->applied, ",", out);
	fputs("],\"failed\":", out);
	if (r->result == REHEARSAL_FAILED)
		fprintf(out, "%" PRId64, r->failed_id);
	else
		fputs("null", out);
	fputs(",\"error\":", out);
	if (r->result == REHEARSAL_FAILED) {
		banger_json_string(out, r->error);
	} else if (r->result == REHEARSAL_INCOMPATIBLE) {
		char line[512];
		FILE *mem = fmemopen(line, sizeof(line), "w");
		if (mem) {
			schema_report_print(&r->report, false, mem);
			fclose(mem);
			line[strcspn(line, "\n")] = '\0';
		}
		banger_json_string(out, mem ? line : "incompatible");
	} else {
		fputs("null", out);
	}
	fprintf(out, ",\"ms\":%" PRId64 ",\"bytes\":%" PRId64 "}\n", r->ms, r->bytes);
}

int rehearsal_print(const struct rehearsal *r, bool json, FILE *out)
{
	if (json) {
		print_json(r, out);
	} else if (r->result == REHEARSAL_NOTHING) {
		fputs("nothing to rehearse: compatible\n", out);
	} else if (r->result == REHEARSAL_INCOMPATIBLE) {
		return schema_report_print(&r->report, false, out) < 0 ? -1 : 0;
	} else if (r->result == REHEARSAL_REHEARSED) {
		fputs("rehearsed: applied [", out);
		print_ids(&r->applied, " ", out);
		fprintf(out, "] in %" PRId64 " ms; copy of %" PRId64 " bytes is consistent\n", r->ms,
			r->bytes);
	} else {
		fprintf(out, "rehearsal failed: migration %" PRId64 " %s: %s\n", r->failed_id,
			r->failed_name ? r->failed_name : "?", r->error);
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

/* Expect the literal lit at *p. */
static int take(const char **p, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*p, lit, n) != 0)
		return -EINVAL;
	*p += n;
	return 0;
}

/* A canonical decimal (no sign, no leading zero) into *v. */
static int take_number(const char **p, int64_t *v)
{
	size_t digits = strspn(*p, "0123456789");
	if (digits == 0 || digits > 18 || (digits > 1 && **p == '0'))
		return -EINVAL;
	*v = strtoll(*p, NULL, 10);
	*p += digits;
	return 0;
}

static int parse_rehearsed(const char *p, struct rehearsal_line *out)
{
	/* "applied [3 4] in 12 ms; copy of 1048576 bytes is consistent" */
	size_t n = 0;
	int64_t id;
	if (take(&p, "applied [") != 0)
		return -EINVAL;
	while (*p != ']') {
		if (n > 0 && take(&p, " ") != 0)
			return -EINVAL;
		const char *from = p;
		if (take_number(&p, &id) != 0 || n + (size_t)(p - from) + 2 > sizeof(out->applied))
			return -EINVAL;
		n += (size_t)snprintf(out->applied + n, sizeof(out->applied) - n, "%s%.*s", n ? " " : "",
				      (int)(p - from), from);
	}
	p++;
	if (n == 0 || take(&p, " in ") != 0 || take_number(&p, &out->ms) != 0 ||
	    take(&p, " ms; copy of ") != 0 || take_number(&p, &out->bytes) != 0 ||
	    take(&p, " bytes is consistent") != 0 || *p)
		return -EINVAL;
	out->result = REHEARSAL_REHEARSED;
	return 0;
}

static int parse_failed(const char *p, struct rehearsal_line *out)
{
	/* "migration 4 unique_image_digest: MESSAGE" */
	if (take(&p, "migration ") != 0 || take_number(&p, &out->failed_id) != 0 || take(&p, " ") != 0)
		return -EINVAL;
	size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
	if (len == 0 || len >= sizeof(out->failed_name) || p[len] != ':' || p[len + 1] != ' ')
		return -EINVAL;
	memcpy(out->failed_name, p, len);
	out->failed_name[len] = '\0';
	snprintf(out->error, sizeof(out->error), "%s", p + len + 2);
	out->result = REHEARSAL_FAILED;
	return 0;
}

int rehearsal_line_parse(const char *line, struct rehearsal_line *out)
{
	enum schema_state state;
	memset(out, 0, sizeof(*out));
	if (strcmp(line, "nothing to rehearse: compatible") == 0) {
		out->result = REHEARSAL_NOTHING;
		return 0;
	}
	if (strncmp(line, "rehearsed: ", 11) == 0)
		return parse_rehearsed(line + 11, out);
	if (strncmp(line, "rehearsal failed: ", 18) == 0)
		return parse_failed(line + 18, out);
	if (schema_line_parse(line, &state) == 0 && state == SCHEMA_INCOMPATIBLE) {
		out->result = REHEARSAL_INCOMPATIBLE;
		return 0;
	}
	return -EINVAL;
}
