/* bangerd's actions that do not serve: check, migrate, list. */
#include <inttypes.h>

#include "banger/daemon.h"
#include "banger/sandbox.h"
#include "banger/store.h"

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
	if (schema_report_print(&report, json, out) != 0) {
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
