/* The update's report: progress lines on stderr, the --json result
 * object, one syslog line. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "banger/clock.h"
#include "banger/json.h"
#include "internal.h"

void update_progress(const struct update_report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(r->errout, "banger: [%5lld ms] ", (long long)(banger_now_ms() - r->start_ms));
	vfprintf(r->errout, fmt, ap);
	fputc('\n', r->errout);
	va_end(ap);
}

const char *update_result_word(int code)
{
	static const char *const words[] = {
		[UPDATE_EXIT_OK] = "updated",
		[UPDATE_EXIT_MIGRATIONS_NEEDED] = "migrations_needed",
		[UPDATE_EXIT_INCOMPATIBLE] = "incompatible",
		[UPDATE_EXIT_CHECK_FAILED] = "check_failed",
		[UPDATE_EXIT_VERIFY_FAILED] = "verify_failed",
		[UPDATE_EXIT_ROLLED_BACK] = "rolled_back",
		[UPDATE_EXIT_ROLLBACK_FAILED] = "rollback_failed",
	};
	if (code >= 0 && code < (int)(sizeof(words) / sizeof(words[0])))
		return words[code];
	return code == UPDATE_EXIT_LOCKED ? "locked" : "usage";
}

void update_report_json(FILE *out, int code, const struct journal *j, const char *target)
{
	fprintf(out, "{\"result\":\"%s\",\"exit\":%d", update_result_word(code), code);
	banger_json_field(out, "target", j->target[0] ? j->target : target);
	banger_json_field(out, "from_version", j->old_version);
	banger_json_field(out, "to_version", j->new_version);
	banger_json_field(out, "backup", code == UPDATE_EXIT_OK ? j->backup : "");
	fputs("}\n", out);
}

void update_report_syslog(const char *what, int code)
{
	openlog("banger", LOG_PID, LOG_DAEMON);
	syslog(code == 0 ? LOG_NOTICE : LOG_WARNING, "update %s (exit %d)", what, code);
	closelog();
}
