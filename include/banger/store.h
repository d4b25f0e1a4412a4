/* store.h - banger's SQLite state: migrations, opening, classification, records.
 *
 * The database carries schema_migrations(id INTEGER PRIMARY KEY, name TEXT
 * NOT NULL, applied_at TEXT NOT NULL): one row per applied migration. A
 * binary knows the migrations compiled into it (ids up to
 * BANGER_MAX_MIGRATION); comparing the two sets is the schema classification
 * that decides whether a binary may replace the running one.
 */
#ifndef BANGER_STORE_H
#define BANGER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "banger/error.h"

/* ---- migrations ------------------------------------------------------- */

struct migration {
	int64_t id;		/* > 0; ids ascend through the registry */
	const char *name;	/* short, [a-z0-9_] */
	const char *sql;	/* one or more statements, run in one transaction */
	/* Rebuilds a table that others reference: runs with foreign_keys off
	 * and must pass PRAGMA foreign_key_check before it commits (SQLite's
	 * documented procedure for altering a table's structure). */
	bool rebuilds_tables;
};

struct migration_set {
	const struct migration *items;	/* ids strictly ascending */
	size_t count;
};

/* The migrations this binary knows, ids ascending, none above
 * BANGER_MAX_MIGRATION (a build setting that makes "older releases"). */
struct migration_set store_known_migrations(void);

/* ---- schema classification (read-only) -------------------------------- */

enum schema_state {
	SCHEMA_COMPATIBLE = 0,		/* applied == known */
	SCHEMA_MIGRATIONS_NEEDED = 1,	/* applied is a strict subset of known */
	SCHEMA_INCOMPATIBLE = 2,	/* applied holds ids the binary does not know */
};

struct id_list {
	int64_t *ids;	/* ascending, no duplicates */
	size_t count;
};

struct schema_report {
	enum schema_state state;
	struct id_list applied, known, pending, unknown;
};

/* Classify the database at path against known, without creating, modifying
 * or deleting any file, in any state the database is in (see readonly.c for
 * how). It opens the file itself: never call it in a process that holds the
 * same database open through a store (closing any descriptor of a file drops
 * every POSIX lock the process holds on it, SQLite's included, and another
 * process could then checkpoint and delete the -wal under the store's feet);
 * use store_schema_report() there. A missing file, a 0-byte file and a
 * database without schema_migrations are "migrations needed" with every
 * known id pending. Returns 0 and fills out, or a negative value with err
 * saying why no consistent view could be read (err->sqlite is SQLite's
 * extended result code when SQLite refused, else 0).
 * Never guesses. */
int schema_classify(const char *path, const struct migration_set *known,
		    struct schema_report *out, struct banger_error *err);

/* Compare applied ids (any order, no duplicates) with known. Pure. */
int schema_compare(const int64_t *applied, size_t applied_count,
		   const struct migration_set *known, struct schema_report *out);

void schema_report_free(struct schema_report *report);

/* The contract's one line, with a trailing newline, e.g.
 *   "compatible: applied [1 2 3]\n"
 * or with json the object {"state":...,"applied":[..],...}. Returns the
 * byte count or -1 on an output error. */
int schema_report_print(const struct schema_report *report, bool json, FILE *out);

/* Parse a line (without its newline) printed by schema_report_print() in
 * its non-JSON form. Returns 0 and sets *state, or -EINVAL when the line is
 * not exactly one of the three forms. Used to trust a child's verdict only
 * when its line and its exit code agree. */
int schema_line_parse(const char *line, enum schema_state *state);

/* ---- read-write store --------------------------------------------------- */

struct store;

/* Positive, so that no caller can take one for a negative errno. */
enum store_status {
	STORE_OK = 0,
	STORE_FAILED = 1,		/* err says why */
	STORE_INCOMPATIBLE = 2,		/* database newer than known: nothing written */
};

/* Open (creating it 0600, and its directory 0700, when missing) the database
 * at path read-write, in WAL mode with foreign keys on, and apply the pending
 * migrations of known, each in its own transaction with its schema_migrations
 * row. A database that holds ids outside known is refused with
 * STORE_INCOMPATIBLE before anything is written. On success *out is the open
 * store; *applied_now (when not NULL) counts the migrations this call ran. */
enum store_status store_open(const char *path, const struct migration_set *known,
			     struct store **out, size_t *applied_now,
			     struct banger_error *err);

void store_close(struct store *store);

/* The classification of the open store's database, read through the
 * store's own connection in one read transaction. */
int store_schema_report(struct store *store, const struct migration_set *known,
			struct schema_report *out, struct banger_error *err);

/* ---- backup and restore ---------------------------------------------- */

/* Copy one consistent snapshot of the database at path into a new file at
 * dest (0600, fsynced, renamed into place only when complete; DEST.tmp on
 * the way), reading path the way schema_classify() does: nothing is
 * created, changed or deleted beside it, whatever the disk does. A missing
 * or empty database gives an empty dest. Returns 0, or < 0 with err set and
 * no dest.tmp left. */
int store_backup(const char *path, const char *dest, struct banger_error *err);
/* Remove what a store_backup() killed on its way left (DEST.tmp). */
void store_backup_abandon(const char *dest);

/* Replace the content of the database at path with that of backup, in one
 * transaction (a reader sees all of the old or all of the restored). */
int store_restore(const char *backup, const char *path, struct banger_error *err);

/* ---- rehearsal --------------------------------------------------------- */

#define SANDBOX_LINE_MAX_FOR_STORE 1024	/* a child's line as the sandbox keeps it */

enum rehearsal_result {
	REHEARSAL_NOTHING = 0,		/* compatible: nothing pending, nothing copied */
	REHEARSAL_REHEARSED = 1,	/* every pending migration applied to the copy,
					 * which passed integrity and foreign key checks */
	REHEARSAL_FAILED = 2,		/* a migration failed on the copy, or left it
					 * inconsistent: failed_id, error */
	REHEARSAL_INCOMPATIBLE = 3,	/* the live database has ids this binary does
					 * not know: report says which */
};

struct rehearsal {
	enum rehearsal_result result;
	struct schema_report report;	/* the live database's classification */
	struct id_list applied;		/* the ids the rehearsal applied to the copy */
	int64_t failed_id;		/* REHEARSAL_FAILED: the migration, else 0 */
	const char *failed_name;
	char error[512];		/* REHEARSAL_FAILED: SQLite's message, or what
					 * the check of the copy found */
	int64_t ms;			/* time spent migrating the copy */
	int64_t bytes;			/* the size of the copy before migrating */
};

/* Will the pending migrations of known succeed on this data? Classify
 * the live database read-only as schema_classify() does; when migrations
 * are pending, copy one consistent snapshot of it (the backup API, from
 * the read-only connection) into scratch_dir/banger.db, apply them to the
 * copy as store_open() does (each in its own transaction), run PRAGMA
 * integrity_check and foreign_key_check on it, and remove the copy and
 * its sidecars. Nothing beside the live database is created, changed or
 * deleted; nothing is written outside scratch_dir. Returns 0 with out
 * filled (release it with rehearsal_free), or a negative value with err
 * when the live database cannot be read or the scratch cannot be used. */
int store_rehearse(const char *live, const char *scratch_dir, const struct migration_set *known,
		   struct rehearsal *out, struct banger_error *err);
void rehearsal_free(struct rehearsal *r);

/* The contract's one line, with a trailing newline, e.g.
 *   "rehearsed: applied [3] in 12 ms; copy of 1048576 bytes is consistent\n"
 * or with json the object {"result":...}. 0, or -1 on an output error. */
int rehearsal_print(const struct rehearsal *r, bool json, FILE *out);

/* What a rehearsal's one line says, parsed back by the updater, which
 * trusts a child's verdict only when its line and its exit code agree. */
struct rehearsal_line {
	enum rehearsal_result result;
	int64_t ms, bytes;		/* REHEARSAL_REHEARSED */
	char applied[256];		/* REHEARSAL_REHEARSED: "3 4", as the line has it */
	int64_t failed_id;		/* REHEARSAL_FAILED */
	char failed_name[64];		/* REHEARSAL_FAILED: [a-z0-9_], as migrations are named */
	char error[SANDBOX_LINE_MAX_FOR_STORE];	/* REHEARSAL_FAILED: the rest of the line, unchecked */
};

/* Parse a line (without its newline) printed by rehearsal_print() in its
 * non-JSON form, or the check's incompatible line. 0, or -EINVAL when it
 * is not exactly one of those forms. */
int rehearsal_line_parse(const char *line, struct rehearsal_line *out);

/* ---- records: images and VMs ------------------------------------------- */

struct image {
	int64_t id;
	char name[128];
	char digest[80];	/* "sha256:<64 hex>" */
	int64_t size_bytes;
	char created_at[32];
};

struct vm {
	int64_t id;
	char name[128];
	int64_t image_id;
	int vcpus;
	int memory_mib;
	char state[16];		/* "stopped" or "running" */
	char created_at[32];
};

/* Each returns 0, -ENOENT (get/delete of a missing id), -EEXIST (a name in
 * use), -EINVAL (a field out of range, a VM on a missing image, deleting an
 * image a VM uses) or another negative errno when SQLite failed (err->sqlite
 * says how), with err set. */
int image_create(struct store *s, const char *name, const char *digest,
		 int64_t size_bytes, int64_t *id, struct banger_error *err);
int image_get(struct store *s, int64_t id, struct image *out, struct banger_error *err);
/* Calls fn for each image, by id ascending; stops early when fn returns non-zero. */
int image_list(struct store *s, int (*fn)(const struct image *, void *), void *ctx,
	       struct banger_error *err);
int image_delete(struct store *s, int64_t id, struct banger_error *err);

int vm_create(struct store *s, const char *name, int64_t image_id, int vcpus,
	      int memory_mib, int64_t *id, struct banger_error *err);
int vm_get(struct store *s, int64_t id, struct vm *out, struct banger_error *err);
int vm_list(struct store *s, int (*fn)(const struct vm *, void *), void *ctx,
	    struct banger_error *err);
int vm_delete(struct store *s, int64_t id, struct banger_error *err);

#endif
