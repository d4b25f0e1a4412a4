/* status_loop: a client that asks bangerd for its status as fast as it
 * answers, one request after another, and counts what failed: the load
 * that an update must not break (tests/system/zero-downtime.bats, make
 * bench).
 *
 *   status_loop SOCKET MAX_REQUESTS MAX_SECONDS [TIMEOUT_MS [MIN_REQUESTS]]
 *
 * Asks {"cmd":"status"} at SOCKET (banger's own client, control_status:
 * each request may wait TIMEOUT_MS, default 30000, in all) until
 * MAX_REQUESTS were asked, MAX_SECONDS passed, or SIGTERM/SIGINT came
 * (the request in flight is finished first; with MIN_REQUESTS, a signal
 * stops it only once that many were asked, so that a test on a busy
 * machine still sees thousands). Prints "ready VERSION PID"
 * once the first answer came, then at the end one line:
 *
 *   requests=N failed=N worst_ms=X median_ms=X gap_ms=X seconds=X daemons=N versions=A>B...
 *
 * worst_ms is the slowest request (a failed one included), gap_ms the
 * longest time between two answers (the downtime a client saw), daemons
 * counts the pids that answered, versions the versions that answered, in
 * the order they changed. The first 10 failures go to stderr,
 * each with its time since the start and banger's reason. Exit 0 when no
 * request failed, 1 when one did, 64 on a bad command line.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banger/control.h"

#define MAX_VERSIONS 16
#define MAX_DAEMONS 64
#define LATENCY_BUCKETS 100000	/* 10 us each: up to 1 s; slower ones count in the last */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static long parse_positive(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s && *end == '\0' && v > 0 ? v : -1;
}

int main(int argc, char *argv[])
{
	if (argc < 4 || argc > 6) {
		fputs("usage: status_loop SOCKET MAX_REQUESTS MAX_SECONDS [TIMEOUT_MS [MIN_REQUESTS]]\n", stderr);
		return 64;
	}
	long max_requests = parse_positive(argv[2]), max_seconds = parse_positive(argv[3]);
	long timeout_ms = argc >= 5 ? parse_positive(argv[4]) : 30000;
	long min_requests = argc == 6 ? parse_positive(argv[5]) : 1;
	if (max_requests < 0 || max_seconds < 0 || timeout_ms < 0 || min_requests < 0) {
		fputs("status_loop: MAX_REQUESTS, MAX_SECONDS, TIMEOUT_MS and MIN_REQUESTS are positive numbers\n",
		      stderr);
		return 64;
	}
	/* No SA_RESTART: a signal cuts a sleep short, never a request (the
	 * client polls with a deadline and goes on after EINTR). */
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	static unsigned long buckets[LATENCY_BUCKETS];
	char versions[MAX_VERSIONS][64];
	long pids[MAX_DAEMONS];
	int n_versions = 0, n_pids = 0;
	long requests = 0, failed = 0;
	double worst = 0, gap = 0, start = now_ms(), last_answer = -1;
	while (!(stop && requests >= min_requests) && requests < max_requests && now_ms() - start < (double)max_seconds * 1e3) {
		struct control_status st;
		struct banger_error err = { 0 };
		double t0 = now_ms();
		int rc = control_status(argv[1], (unsigned)timeout_ms, &st, &err);
		double took = now_ms() - t0;
		requests++;
		worst = took > worst ? took : worst;
		long b = (long)(took * 100);
		buckets[b < LATENCY_BUCKETS ? b : LATENCY_BUCKETS - 1]++;
		if (rc != 0) {
			if (failed++ < 10)
				fprintf(stderr, "status_loop: request %ld at +%.1f ms failed after %.1f ms: %s\n",
					requests, t0 - start, took, err.msg);
			continue;
		}
		if (last_answer >= 0 && t0 + took - last_answer > gap)
			gap = t0 + took - last_answer;
		last_answer = t0 + took;
		if (n_pids == 0) {
			printf("ready %s %ld\n", st.version, st.pid);
			fflush(stdout);
		}
		if ((n_versions == 0 || strcmp(versions[n_versions - 1], st.version) != 0) &&
		    n_versions < MAX_VERSIONS)
			snprintf(versions[n_versions++], sizeof(versions[0]), "%s", st.version);
		int seen = 0;
		for (int i = 0; i < n_pids; i++)
			seen |= pids[i] == st.pid;
		if (!seen && n_pids < MAX_DAEMONS)
			pids[n_pids++] = st.pid;
	}
	double median = 0;
	unsigned long count = 0;
	for (long b = 0; b < LATENCY_BUCKETS; b++) {
		count += buckets[b];
		if (count * 2 >= (unsigned long)requests) {
			median = (double)b / 100;
			break;
		}
	}
	printf("requests=%ld failed=%ld worst_ms=%.1f median_ms=%.2f gap_ms=%.1f seconds=%.1f daemons=%d "
	       "versions=", requests, failed, worst, median, gap, (now_ms() - start) / 1e3, n_pids);
	for (int i = 0; i < n_versions; i++)
		printf("%s%s", i ? ">" : "", versions[i]);
	putchar('\n');
	return failed ? 1 : 0;
}
