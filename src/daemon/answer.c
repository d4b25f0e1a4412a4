/* What bangerd answers on its control socket (control.h): the status, or
 * an error for anything that is not exactly a known request. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banger/clock.h"
#include "banger/control.h"
#include "banger_config.h"
#include "internal.h"

static void status(FILE *out, struct store *store, int64_t started_ms)
{
	struct migration_set known = store_known_migrations();
	struct schema_report report;
	struct banger_error err = { 0 };
	fprintf(out, "{\"version\":\"%s\",\"pid\":%ld,\"uptime_s\":%ld,\"schema\":", BANGER_VERSION,
		(long)getpid(), (long)((banger_now_ms() - started_ms) / 1000));
	/* Through our own connection: opening the file beside it would
	 * drop this process's locks on it when closed (see store.h). */
	int unhealthy = 0;
#ifdef BANGER_TEST_HOOKS
	/* Tests only: a release that serves but fails every health check. */
	unhealthy = getenv("BANGER_TEST_UNHEALTHY") != NULL;
#endif
	if (!unhealthy && store_schema_report(store, &known, &report, &err) == 0) {
		schema_report_print(&report, true, out);	/* ends with a newline */
		schema_report_free(&report);
		fseek(out, -1, SEEK_CUR);
	} else {
		fputs("{\"state\":\"unknown\"}", out);
	}
	fputs("}\n", out);
}

int daemon_answer(const char *line, size_t len, struct store *store, int64_t started_ms, char **body,
		  size_t *size)
{
	char name[32];
	*body = NULL;
	*size = 0;
	FILE *out = open_memstream(body, size);
	if (out == NULL)
		return -ENOMEM;
	if (control_request_command(line, len, name, sizeof(name)) && strcmp(name, "status") == 0)
		status(out, store, started_ms);
	else
		fputs("{\"error\":\"unknown command\"}\n", out);
	if (fclose(out) != 0 || *body == NULL) {
		free(*body);
		*body = NULL;
		return -ENOMEM;
	}
	return 0;
}
