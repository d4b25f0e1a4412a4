/* The update's report: progress lines on stderr, the --json result
 * object, one syslog line. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

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
		[UPDATE_EXIT_REHEARSAL_FAILED] = "rehearsal_failed",
	};
	if (code >= 0 && code < (int)(sizeof(words) / sizeof(words[0])))
		return words[code];
	return code == UPDATE_EXIT_LOCKED ? "locked" : "usage";
}

void update_report_rehearsal_json(FILE *out, const struct rehearsal_verdict *rv)
{
	const char *what = rv->skipped ? "skipped"
			 : !rv->ran ? (rv->code ? "not_run" : "not_needed")
			 : rv->code == 0 ? "rehearsed"
			 : rv->code == UPDATE_EXIT_REHEARSAL_FAILED ? "failed" : "not_trusted";
	fprintf(out, ",\"rehearsal\":\"%s\",\"rehearsal_ms\":", what);
	if (rv->ran && rv->code == 0)
		fprintf(out, "%lld", (long long)rv->ms);
	else
		fputs("null", out);
}

void update_report_json(FILE *out, int code, const struct journal *j, const char *target,
			const struct rehearsal_verdict *rv)
{
	fprintf(out, "{\"result\":\"%s\",\"exit\":%d", update_result_word(code), code);
	banger_json_field(out, "target", j->target[0] ? j->target : target);
	banger_json_field(out, "from_version", j->old_version);
	banger_json_field(out, "to_version", j->new_version);
	banger_json_field(out, "backup", code == UPDATE_EXIT_OK ? j->backup : "");
	update_report_rehearsal_json(out, rv);
	fputs("}\n", out);
}

void update_report_syslog(const char *what, int code)
{
	openlog("banger", LOG_PID, LOG_DAEMON);
	syslog(code == 0 ? LOG_NOTICE : LOG_WARNING, "update %s (exit %d)", what, code);
	closelog();
}

/* The live line: a thread that rewrites "banger: WHAT: N s" once a second
 * on the terminal, and erases it when the step ends. Only write(2) on the
 * descriptor (no stdio, no allocation), so that a fork meanwhile (the
 * owner's work, the sandbox) inherits no lock of its. */
static struct {
	pthread_t thread;
	bool running;
	atomic_bool stop;
	int fd;
	const char *what;
	int64_t start_ms;
} ticker;

static void *tick(void *arg)
{
	(void)arg;
	long shown = 0;
	while (!atomic_load(&ticker.stop)) {
		struct timespec t = { 0, 100 * 1000 * 1000 };
		nanosleep(&t, NULL);
		long s = (long)((banger_now_ms() - ticker.start_ms) / 1000);
		if (s == shown)
			continue;
		char line[160];
		int n = snprintf(line, sizeof(line), "\rbanger: %s: %ld s", ticker.what, s);
		if (n > 0 && write(ticker.fd, line, (size_t)n) < 0)
			break;	/* the terminal went away: nothing to show */
		shown = s;
	}
	if (shown > 0 && write(ticker.fd, "\r\033[K", 4) < 0)
		return NULL;	/* as above */
	return NULL;
}

void update_ticker_start(const struct update_report *r, const char *what)
{
	int fd = fileno(r->errout);
	if (ticker.running || fd < 0 || !isatty(fd))
		return;
	fflush(r->errout);
	ticker.fd = fd;
	ticker.what = what;
	ticker.start_ms = banger_now_ms();
	atomic_store(&ticker.stop, false);
	ticker.running = pthread_create(&ticker.thread, NULL, tick, NULL) == 0;
}

void update_ticker_stop(void)
{
	if (!ticker.running)
		return;
	atomic_store(&ticker.stop, true);
	(void)pthread_join(ticker.thread, NULL);	/* it only ever returns */
	ticker.running = false;
}
