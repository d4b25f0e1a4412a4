/* Images and VMs: the data an update must keep safe.
 *
 * Columns are named explicitly so that the same code works on every schema
 * from migration 1 on (images.arch, dropped by migration 3, has a default).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int fail(struct store *s, int rc, const char *what, struct banger_error *err)
{
	sqlite3 *db = store_db(s);
	int ext = sqlite3_extended_errcode(db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE)
		return banger_error_set(err, -EEXIST, "%s: %s: the name is in use", store_path(s), what);
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		return banger_error_set(err, -EINVAL,
					"%s: %s: it refers to a missing record, or another record refers to it",
					store_path(s), what);
	if ((ext & 0xff) == SQLITE_CONSTRAINT)
		return banger_error_set(err, -EINVAL, "%s: %s: a value is out of range", store_path(s), what);
	return store_sqlite_error(err, db, rc, store_path(s), what);
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(dst, size, "%s", v ? (const char *)v : "");
}

/* Run a statement that changes rows; returns 0, -ENOENT when it changed
 * none and must_change is set, or an error from fail(). */
static int run_change(struct store *s, sqlite3_stmt *st, int must_change, const char *what,
		      int64_t *rowid, struct banger_error *err)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, rc, what, err);
	if (must_change && sqlite3_changes(store_db(s)) == 0)
		return banger_error_set(err, -ENOENT, "%s: %s: no such record", store_path(s), what);
	if (rowid)
		*rowid = sqlite3_last_insert_rowid(store_db(s));
	return 0;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, const char *what,
		   struct banger_error *err)
{
	int rc = sqlite3_prepare_v2(store_db(s), sql, -1, st, NULL);
	return rc == SQLITE_OK ? 0 : fail(s, rc, what, err);
}

/* Images and VMs are read and deleted by id, and listed, the same way: a
 * kind says its statements, the words of its messages and how a row is read. */
struct record_kind {
	const char *get_sql, *list_sql, *delete_sql;	/* each binds the id, but list_sql */
	const char *one, *many;				/* "image", "images" */
	void (*read)(sqlite3_stmt *st, void *out);
};

static int get_record(struct store *s, const struct record_kind *k, int64_t id, void *out,
		      struct banger_error *err)
{
	char what[48];
	sqlite3_stmt *st;
	snprintf(what, sizeof(what), "cannot read %s", k->one);
	int rc = prepare(s, k->get_sql, &st, what, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		k->read(st, out);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return banger_error_set(err, -ENOENT, "%s %lld: no such %s", k->one, (long long)id, k->one);
	return fail(s, rc, what, err);
}

/* Each row, in id order, read into row, then visit(v); a non-zero visit stops
 * the list (and is not an error). */
static int list_records(struct store *s, const struct record_kind *k, void *row,
			int (*visit)(void *v), void *v, struct banger_error *err)
{
	char what[48];
	sqlite3_stmt *st;
	snprintf(what, sizeof(what), "cannot list %s", k->many);
	int rc = prepare(s, k->list_sql, &st, what, err);
	if (rc)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		k->read(st, row);
		if (visit(v) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(s, rc, what, err);
}

static int delete_record(struct store *s, const struct record_kind *k, int64_t id,
			 struct banger_error *err)
{
	char what[48];
	sqlite3_stmt *st;
	snprintf(what, sizeof(what), "cannot delete %s", k->one);
	int rc = prepare(s, k->delete_sql, &st, what, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	return run_change(s, st, 1, what, NULL, err);
}

int image_create(struct store *s, const char *name, const char *digest, int64_t size_bytes,
		 int64_t *id, struct banger_error *err)
{
	char now[32];
	sqlite3_stmt *st;
	if (name[0] == '\0' || strlen(name) >= sizeof(((struct image *)0)->name) ||
	    strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 7 + 64 || size_bytes < 0)
		return banger_error_set(err, -EINVAL, "image %s: invalid name, digest or size", name);
	int rc = prepare(s, "INSERT INTO images (name, digest, size_bytes, created_at)"
			    " VALUES (?, ?, ?, ?)", &st, "cannot create image", err);
	if (rc)
		return rc;
	store_utc_now(now, sizeof(now));
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, size_bytes);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT);
	return run_change(s, st, 0, "cannot create image", id, err);
}

static void read_image(sqlite3_stmt *st, void *out)
{
	struct image *img = out;
	img->id = sqlite3_column_int64(st, 0);
	copy_text(img->name, sizeof(img->name), st, 1);
	copy_text(img->digest, sizeof(img->digest), st, 2);
	img->size_bytes = sqlite3_column_int64(st, 3);
	copy_text(img->created_at, sizeof(img->created_at), st, 4);
}

#define IMAGE_COLUMNS "SELECT id, name, digest, size_bytes, created_at FROM images"

static const struct record_kind image_kind = {
	.get_sql = IMAGE_COLUMNS " WHERE id = ?",
	.list_sql = IMAGE_COLUMNS " ORDER BY id",
	.delete_sql = "DELETE FROM images WHERE id = ?",
	.one = "image",
	.many = "images",
	.read = read_image,
};

int image_get(struct store *s, int64_t id, struct image *out, struct banger_error *err)
{
	return get_record(s, &image_kind, id, out, err);
}

struct image_visit {
	int (*fn)(const struct image *, void *);
	void *ctx;
	struct image row;
};

static int visit_image(void *v)
{
	struct image_visit *iv = v;
	return iv->fn(&iv->row, iv->ctx);
}

int image_list(struct store *s, int (*fn)(const struct image *, void *), void *ctx,
	       struct banger_error *err)
{
	struct image_visit v = { .fn = fn, .ctx = ctx };
	return list_records(s, &image_kind, &v.row, visit_image, &v, err);
}

int image_delete(struct store *s, int64_t id, struct banger_error *err)
{
	return delete_record(s, &image_kind, id, err);
}

int vm_create(struct store *s, const char *name, int64_t image_id, int vcpus, int memory_mib,
	      int64_t *id, struct banger_error *err)
{
	char now[32];
	sqlite3_stmt *st;
	if (name[0] == '\0' || strlen(name) >= sizeof(((struct vm *)0)->name) || vcpus <= 0 ||
	    memory_mib <= 0)
		return banger_error_set(err, -EINVAL, "vm %s: invalid name, vcpus or memory", name);
	int rc = prepare(s, "INSERT INTO vms (name, image_id, vcpus, memory_mib, created_at)"
			    " VALUES (?, ?, ?, ?, ?)", &st, "cannot create vm", err);
	if (rc)
		return rc;
	store_utc_now(now, sizeof(now));
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, image_id);
	sqlite3_bind_int(st, 3, vcpus);
	sqlite3_bind_int(st, 4, memory_mib);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
	return run_change(s, st, 0, "cannot create vm", id, err);
}

static void read_vm(sqlite3_stmt *st, void *out)
{
	struct vm *vm = out;
	vm->id = sqlite3_column_int64(st, 0);
	copy_text(vm->name, sizeof(vm->name), st, 1);
	vm->image_id = sqlite3_column_int64(st, 2);
	vm->vcpus = sqlite3_column_int(st, 3);
	vm->memory_mib = sqlite3_column_int(st, 4);
	copy_text(vm->state, sizeof(vm->state), st, 5);
	copy_text(vm->created_at, sizeof(vm->created_at), st, 6);
}

#define VM_COLUMNS "SELECT id, name, image_id, vcpus, memory_mib, state, created_at FROM vms"

static const struct record_kind vm_kind = {
	.get_sql = VM_COLUMNS " WHERE id = ?",
	.list_sql = VM_COLUMNS " ORDER BY id",
	.delete_sql = "DELETE FROM vms WHERE id = ?",
	.one = "vm",
	.many = "vms",
	.read = read_vm,
};

int vm_get(struct store *s, int64_t id, struct vm *out, struct banger_error *err)
{
	return get_record(s, &vm_kind, id, out, err);
}

struct vm_visit {
	int (*fn)(const struct vm *, void *);
	void *ctx;
	struct vm row;
};

static int visit_vm(void *v)
{
	struct vm_visit *vv = v;
	return vv->fn(&vv->row, vv->ctx);
}

int vm_list(struct store *s, int (*fn)(const struct vm *, void *), void *ctx,
	    struct banger_error *err)
{
	struct vm_visit v = { .fn = fn, .ctx = ctx };
	return list_records(s, &vm_kind, &v.row, visit_vm, &v, err);
}

int vm_delete(struct store *s, int64_t id, struct banger_error *err)
{
	return delete_record(s, &vm_kind, id, err);
}
