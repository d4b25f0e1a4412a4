/* bangerd's actions that do not serve: check, migrate, list. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "banger/daemon.h"
#include "banger/json.h"
#include "banger/sandbox.h"
#include "banger/store.h"
#include "banger_config.h"

/* The report's object with this binary's own "version" as its last key,
 * so that the updater's one sandboxed run answers both questions. */
static int print_versioned(const struct schema_report *report, FILE *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (mem == NULL)
		return -1;
	int rc = schema_report_print(report, true, mem);
	if (fclose(mem) != 0 || rc != 0 || len < 2) {
		free(buf);
		return -1;
	}
	fwrite(buf, 1, len - 2, out);	/* without its "}\n" */
	free(buf);
	banger_json_field(out, "version", BANGER_VERSION);
	fputs("}\n", out);
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

int daemon_check_migrations(const char *db_path, bool json, FILE *out, FILE *errout)
{
	struct banger_error err = { 0 };
	struct migration_set known = store_known_migrations();
	struct schema_report report;

	/* The store's read path already writes nothing (readonly VFS, own lock
	 * for a closed WAL database). The filter makes that a property of the
	 * process rather than of our reading of SQLite's source: even as root,
	 * even in a state nobody measured, no file can change. */
	if (sandbox_forbid_writes(&err) != 0) {
		fprintf(errout, "bangerd: %s\n", err.msg);
		return DAEMON_EXIT_CANNOT_INSPECT;
	}
	if (schema_classify(db_path, &known, &report, &err) != 0) {
		fprintf(errout, "bangerd: cannot inspect %s\n", err.msg);
		return DAEMON_EXIT_CANNOT_INSPECT;
	}
	int code = (int)report.state;	/* 0, 1, 2: the contract's exit codes */
	if ((json ? print_versioned(&report, out) : schema_report_print(&report, false, out)) != 0) {
		fprintf(errout, "bangerd: cannot write the result\n");
		code = DAEMON_EXIT_CANNOT_INSPECT;
	}
	schema_report_free(&report);
	return code;
}

int daemon_migrate(const char *db_path, FILE *out, FILE *errout)
{
	struct banger_error err = { 0 };
	struct migration_set known = store_known_migrations();
	struct store *store;
	size_t applied;
	enum store_status st = store_open(db_path, &known, &store, &applied, &err);
	if (st == STORE_INCOMPATIBLE) {
		fprintf(errout, "bangerd: refusing to migrate: %s\n", err.msg);
		return DAEMON_EXIT_INCOMPATIBLE;
	}
	if (st != STORE_OK) {
		fprintf(errout, "bangerd: cannot migrate: %s\n", err.msg);
		return DAEMON_EXIT_CANNOT_INSPECT;
	}
	store_close(store);
	fprintf(out, "migrated: applied %zu migration%s, schema at %" PRId64 "\n", applied,
		applied == 1 ? "" : "s", known.count ? known.items[known.count - 1].id : 0);
	return DAEMON_EXIT_OK;
}

int daemon_rehearse_migrations(const char *db_path, const char *scratch, bool json, FILE *out,
			       FILE *errout)
{
	struct banger_error err = { 0 };
	struct migration_set known = store_known_migrations();
	struct rehearsal r;
	if (store_rehearse(db_path, scratch, &known, &r, &err) != 0) {
		fprintf(errout, "bangerd: cannot rehearse: %s\n", err.msg);
		return DAEMON_EXIT_CANNOT_INSPECT;
	}
	int code = r.result == REHEARSAL_FAILED || r.result == REHEARSAL_INCOMPATIBLE
			   ? DAEMON_EXIT_INCOMPATIBLE : DAEMON_EXIT_OK;
	if (rehearsal_print(&r, json, out) != 0) {
		fprintf(errout, "bangerd: cannot write the result\n");
		code = DAEMON_EXIT_CANNOT_INSPECT;
	}
	rehearsal_free(&r);
	return code;
}

int daemon_list_migrations(FILE *out)
{
	struct migration_set known = store_known_migrations();
	for (size_t i = 0; i < known.count; i++)
		fprintf(out, "%" PRId64 " %s\n", known.items[i].id, known.items[i].name);
	return DAEMON_EXIT_OK;
}
