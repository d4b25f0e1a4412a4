/* bangerd's serve mode. The control socket and the serve loop are not built
 * yet (issue 4); what already holds is the promise that an incompatible
 * database is refused with exit 2 before anything is written. */
#include "banger/daemon.h"
#include "banger/store.h"

int daemon_serve(const struct banger_paths *paths, FILE *errout)
{
	struct banger_error err = { 0 };
	struct migration_set known = store_known_migrations();
	struct schema_report report;
	if (schema_classify(paths->db, &known, &report, &err) == 0) {
		enum schema_state state = report.state;
		schema_report_free(&report);
		if (state == SCHEMA_INCOMPATIBLE) {
			fprintf(errout, "bangerd: refusing to start: %s has migrations this binary does not know (binary older than DB)\n",
				paths->db);
			return DAEMON_EXIT_INCOMPATIBLE;
		}
	}
	fprintf(errout, "bangerd: serve mode is not available in this build yet\n");
	return DAEMON_EXIT_UNAVAILABLE;
}
