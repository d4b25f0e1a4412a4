/* schema_classify(): the applied migration ids, read without writing
 * anything (readonly.c says how), compared with the known ones. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int read_ids(sqlite3 *db, const char *path, void *ctx, struct banger_error *err)
{
	struct id_list *applied = ctx;
	applied->count = 0;	/* a read thrown away and done again starts afresh */
	return store_read_applied(db, path, applied, err);
}

int schema_classify(const char *path, const struct migration_set *known,
		    struct schema_report *out, struct banger_error *err)
{
	struct id_list applied = { 0 };
	memset(out, 0, sizeof(*out));
	int rc = store_read_consistent(path, read_ids, &applied, err);
	if (rc == STORE_READ_FRESH)
		applied.count = 0;	/* a fresh install: every known id pending */
	if (rc >= 0)
		rc = schema_compare(applied.ids, applied.count, known, out);
	free(applied.ids);
	return rc;
}
