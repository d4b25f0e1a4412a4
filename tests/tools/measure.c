/* measure: the probes make bench needs and no shell or stock tool gives
 * exactly. Each prints plain "key=value" lines for tests/bench to read.
 *
 *   measure spawn CMD [ARG...]
 *        fork, execv CMD, wait: exits with its code. The baseline that
 *        "measure sandbox" is compared with (same parent, same libraries),
 *        so that their difference is the sandbox alone.
 *   measure sandbox EXE DB_DIR [ARG...]
 *        run EXE (opened read-only, its ELF header read for the
 *        interpreter, not copied) with ARGs in banger's sandbox, exactly as
 *        banger update runs the staged bangerd (update_run_staged: the
 *        compiled policy, Landlock reading the libraries and DB_DIR), print
 *        its first line, exit with its code (3 when it did not exit).
 *   measure pairs N EXE DB_DIR [ARG...]
 *        in this one process, N times: run EXE with ARGs as "spawn" does
 *        (stdout to /dev/null), then as "sandbox" does; print the medians
 *        of both and the quartiles of the N paired differences. No process
 *        start of the measuring tool is in either time, and a pair's two
 *        runs are next to each other in time: the sandbox's own cost
 *        with the least of the machine's noise.
 *   measure rss [--smaps] CMD [ARG...]
 *        run CMD under ptrace, following its forks, and at each process's
 *        exit (PTRACE_EVENT_EXIT: its memory still mapped) print its own
 *        peak resident set (VmHWM), which counts no child; with --smaps,
 *        where its resident pages are at that moment, by mapping (RSS, PSS
 *        and private KiB). Then the
 *        rusage of wait4(), the number GNU time's %M prints: the maximum
 *        over CMD and every child it waited for.
 *   measure every MS SECONDS [--phases PHASE_MS] CMD [ARG...]
 *        start CMD (stdout and stderr to /dev/null) every MS milliseconds
 *        (the next one at once when one takes longer) until SECONDS pass or
 *        SIGTERM; print how many ran, their exit codes, and the CPU time
 *        they used as a percentage of one CPU. With --phases, alternate
 *        PHASE_MS without commands and PHASE_MS with them, starting
 *        without, and print each phase as "phase off|on FROM TO" in
 *        CLOCK_MONOTONIC milliseconds (the clock of fixture write-rate's
 *        slices). CMD "-" runs nothing: phases only, a null control.
 *   measure stop PID
 *        SIGTERM to PID and wait for it to be gone (through a pidfd, so no
 *        polling interval is added to a downtime); SIGKILL after 10 s.
 *   measure poll-status SOCKET OLD_VERSION NEW_VERSION SECONDS
 *        ask the daemon at SOCKET for its status in a tight loop (1 ms
 *        apart) until NEW_VERSION answers from a new pid or SECONDS pass;
 *        print the time between the last answer of the first daemon
 *        (OLD_VERSION) and the first answer of the new one.
 *   measure evict FILE...
 *        drop these files' pages from the page cache (posix_fadvise), so
 *        that the next read of them is a cold one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "banger/control.h"
#include "banger/sandbox.h"
#include "banger/update.h"
#include "../../src/update/internal.h"	/* update_run_staged: the module's own door for its tools */

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
	struct timespec t;
	t.tv_sec = (time_t)(ms / 1e3);
	t.tv_nsec = (long)((ms - (double)t.tv_sec * 1e3) * 1e6);
	nanosleep(&t, NULL);
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int spawn(char *argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return 125;
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return 125;
	return exit_code(status);
}

/* The database the ARGs name (--db DB), whose owner the check runs as. */
static const char *db_of(char *args[], int nargs, const char *db_dir)
{
	for (int i = 0; i + 1 < nargs; i++)
		if (strcmp(args[i], "--db") == 0)
			return args[i + 1];
	return db_dir;
}

static int sandbox(const char *exe, const char *db_dir, char *args[], int nargs)
{
	struct banger_error err = { 0 };
	struct staged staged = { .exec_fd = open(exe, O_RDONLY | O_CLOEXEC) };
	struct sandbox_result r;
	char **argv = calloc((size_t)nargs + 2, sizeof(*argv));
	if (staged.exec_fd < 0 || argv == NULL) {
		perror(exe);
		free(argv);
		return 125;
	}
	argv[0] = "bangerd";
	for (int i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	int rc = update_verify_elf(&staged, &err);
	if (rc == 0)
		rc = update_run_staged(&staged, argv, db_of(args, nargs, db_dir), db_dir, &r, &err);
	free(argv);
	update_staged_close(&staged);
	if (rc != 0) {
		fprintf(stderr, "measure: %s\n", err.msg);
		return 125;
	}
	printf("%s\n", r.first_line);
	return r.outcome == SANDBOX_EXITED ? r.exit_code : 3;
}

/* ---- pairs -------------------------------------------------------------- */

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The q-quantile of v[0..n), sorted in place (nearest rank). */
static double quantile(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), by_value);
	int i = (int)(q * (n - 1) + 0.5);
	return v[i];
}

static int pairs(int n, const char *exe, const char *db_dir, char *args[], int nargs)
{
	double *bare = calloc((size_t)n, sizeof(double)), *boxed = calloc((size_t)n, sizeof(double));
	double *diff = calloc((size_t)n, sizeof(double));
	char **argv = calloc((size_t)nargs + 2, sizeof(*argv));
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (n < 1 || !bare || !boxed || !diff || !argv || devnull < 0) {
		fputs("measure: pairs: out of memory or no /dev/null\n", stderr);
		return 125;
	}
	argv[0] = (char *)exe;
	for (int i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	struct staged staged = { .exec_fd = open(exe, O_RDONLY | O_CLOEXEC) };
	struct banger_error err = { 0 };
	if (staged.exec_fd < 0 || update_verify_elf(&staged, &err) != 0) {
		fprintf(stderr, "measure: %s: %s\n", exe, err.msg[0] ? err.msg : strerror(errno));
		return 125;
	}
	int saved = dup(1);
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		dup2(devnull, 1);
		int rc = spawn(argv);
		dup2(saved, 1);
		double t1 = now_ms();
		struct sandbox_result r;
		char *boxed_argv[nargs + 2];
		memcpy(boxed_argv, argv, sizeof(boxed_argv));
		boxed_argv[0] = "bangerd";
		if (rc > 2) {	/* 0, 1 or 2: a verdict */
			fprintf(stderr, "measure: pairs: %s exited %d\n", exe, rc);
			return 125;
		}
		if (update_run_staged(&staged, boxed_argv, db_of(args, nargs, db_dir), db_dir, &r, &err) != 0 ||
		    r.outcome != SANDBOX_EXITED || r.exit_code != rc) {
			fprintf(stderr, "measure: pairs: the sandboxed run differs: %s\n", err.msg);
			return 125;
		}
		double t2 = now_ms();
		bare[i] = t1 - t0;
		boxed[i] = t2 - t1;
		diff[i] = boxed[i] - bare[i];
	}
	printf("pairs=%d\nspawn_median_ms=%.3f\nsandbox_median_ms=%.3f\n", n, quantile(bare, n, 0.5),
	       quantile(boxed, n, 0.5));
	printf("diff_p25_ms=%.3f\ndiff_median_ms=%.3f\ndiff_p75_ms=%.3f\n", quantile(diff, n, 0.25),
	       quantile(diff, n, 0.5), quantile(diff, n, 0.75));
	update_staged_close(&staged);
	close(saved);
	close(devnull);
	free(argv);
	free(bare);
	free(boxed);
	free(diff);
	return 0;
}

/* ---- rss ---------------------------------------------------------------- */

struct traced {
	pid_t pid;
	int depth;
	int seen;	/* its first stop was handled */
};

static struct traced procs[64];
static int nprocs;

static struct traced *traced_find(pid_t pid)
{
	for (int i = 0; i < nprocs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

static struct traced *traced_add(pid_t pid, int depth)
{
	struct traced *t = traced_find(pid);
	if (t == NULL && nprocs < (int)(sizeof(procs) / sizeof(procs[0]))) {
		t = &procs[nprocs++];
		*t = (struct traced){ pid, depth, 0 };
	}
	return t;
}

static long status_kib(const char *status, const char *key)
{
	const char *p = strstr(status, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Resident memory by mapping name (the executable and libraries by path,
 * the rest as [heap], [stack], [anon]...): RSS, PSS (shared pages divided
 * among the processes mapping them) and the private part, in KiB. */
static void print_smaps(pid_t pid, int depth)
{
	char path[64], line[512], name[256] = "[anon]";
	struct {
		char name[256];
		long rss, pss, private;
	} sums[64];
	int n = 0, cur = -1;
	memset(sums, 0, sizeof(sums));
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		long kib;
		int off = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) == 2 && off > 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(name, sizeof(name), "%s", line[off] ? line + off : "[anon]");
			for (cur = 0; cur < n && strcmp(sums[cur].name, name) != 0; cur++)
				;
			if (cur == n && n < (int)(sizeof(sums) / sizeof(sums[0]))) {
				snprintf(sums[n].name, sizeof(sums[n].name), "%s", name);
				sums[n].rss = sums[n].pss = sums[n].private = 0;
				n++;
			}
			if (cur == n)
				cur = -1;	/* more names than slots: not counted */
		} else if (cur >= 0 && sscanf(line, "Rss: %ld kB", &kib) == 1) {
			sums[cur].rss += kib;
		} else if (cur >= 0 && sscanf(line, "Pss: %ld kB", &kib) == 1) {
			sums[cur].pss += kib;
		} else if (cur >= 0 && (sscanf(line, "Private_Clean: %ld kB", &kib) == 1 ||
					sscanf(line, "Private_Dirty: %ld kB", &kib) == 1)) {
			sums[cur].private += kib;
		}
	}
	fclose(f);
	for (int i = 0; i < n; i++)
		if (sums[i].rss > 0)
			printf("smaps depth=%d pid=%d rss_kib=%ld pss_kib=%ld private_kib=%ld mapping=%s\n",
			       depth, (int)pid, sums[i].rss, sums[i].pss, sums[i].private, sums[i].name);
}

static void print_exit(const struct traced *t, int smaps)
{
	char path[64], status[4096], exe[256] = "?";
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)t->pid);
	ssize_t k = readlink(path, exe, sizeof(exe) - 1);
	exe[k > 0 ? k : 1] = '\0';
	for (char *c = exe; *c; c++)
		if (*c == ' ')
			*c = '_';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)t->pid);
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(status, 1, sizeof(status) - 1, f) : 0;
	if (f)
		fclose(f);
	status[len] = '\0';
	printf("process depth=%d pid=%d hwm_kib=%ld rss_kib=%ld exe=%s\n", t->depth, (int)t->pid,
	       status_kib(status, "VmHWM:"), status_kib(status, "VmRSS:"), exe);
	if (smaps)
		print_smaps(t->pid, t->depth);
}

static int rss(char *argv[], int smaps)
{
	pid_t root = fork();
	if (root < 0)
		return 125;
	if (root == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
			_exit(126);
		raise(SIGSTOP);	/* wait for the options before exec */
		execv(argv[0], argv);
		_exit(127);
	}
	int status, root_status = -1;
	struct rusage ru = { 0 };
	traced_add(root, 0);
	for (;;) {
		pid_t w = (pid_t)wait4(-1, &status, __WALL, NULL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		if (w == root && (WIFEXITED(status) || WIFSIGNALED(status))) {
			/* Only the root is our own child: its rusage is what
			 * wait4 gives a parent. Take it again for that. */
			root_status = status;
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		struct traced *t = traced_find(w);
		int sig = WSTOPSIG(status), event = status >> 16;
		if (t == NULL)	/* a new child can stop before its parent's event */
			t = traced_add(w, 1);
		if (!t->seen) {
			t->seen = 1;
			if (w == root)
				ptrace(PTRACE_SETOPTIONS, w, NULL,
				       (void *)(long)(PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
						      PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
						      PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
			if (sig == SIGSTOP) {
				ptrace(PTRACE_CONT, w, NULL, NULL);
				continue;
			}
		}
		if (event == PTRACE_EVENT_EXIT) {
			print_exit(t, smaps);
			sig = 0;
		} else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
			   event == PTRACE_EVENT_CLONE) {
			unsigned long child = 0;
			ptrace(PTRACE_GETEVENTMSG, w, NULL, &child);
			struct traced *c = traced_add((pid_t)child, t->depth + 1);
			if (c)
				c->depth = t->depth + 1;
			sig = 0;
		} else if (event != 0 || sig == SIGTRAP) {
			sig = 0;
		}
		ptrace(PTRACE_CONT, w, NULL, (void *)(long)sig);
	}
	/* wait4 above reaped the root with a NULL rusage; RUSAGE_CHILDREN of
	 * this process is the same maximum (we have no other child). */
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("wait4 maxrss_kib=%ld\n", ru.ru_maxrss);
	return root_status < 0 ? 125 : exit_code(root_status);
}

/* ---- every -------------------------------------------------------------- */

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void print_phase(int on, double from, double to)
{
	printf("phase %s %.3f %.3f\n", on ? "on" : "off", from, to);
}

static int every(double period_ms, double seconds, double phase_ms, char *argv[])
{
	long runs = 0, codes[256] = { 0 };
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int nothing = strcmp(argv[0], "-") == 0;
	double start = now_ms(), next = start, phase_start = start, on_ms = 0;
	int on = phase_ms <= 0;	/* with phases, start with an off one */
	while (!stopping && now_ms() - start < seconds * 1e3) {
		double now = now_ms();
		if (phase_ms > 0 && now - phase_start >= phase_ms) {
			print_phase(on, phase_start, now);
			on_ms += on ? now - phase_start : 0;
			on = !on;
			phase_start = next = now;
			continue;
		}
		double wait = on ? next - now : phase_ms;
		if (phase_ms > 0 && phase_start + phase_ms - now < wait)
			wait = phase_start + phase_ms - now;
		if (wait > 0) {
			sleep_ms(wait);
			continue;	/* re-check the flag, the clock and the phase */
		}
		next += period_ms;
		if (next < now)
			next = now;	/* late: do not run a burst to catch up */
		if (nothing)
			continue;
		pid_t pid = fork();
		if (pid == 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
			execv(argv[0], argv);
			_exit(127);
		}
		int status;
		while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (pid > 0) {
			runs++;
			codes[exit_code(status) & 255]++;
		}
	}
	double end = now_ms();
	if (phase_ms > 0)
		print_phase(on, phase_start, end);
	on_ms += on ? end - phase_start : 0;
	/* The CPU time of everything it ran: what the loop takes from the
	 * machine's CPUs, as a share of one CPU while it runs commands. */
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	double cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	printf("runs=%ld seconds=%.3f cpu_pct=%.1f codes=", runs, (end - start) / 1e3,
	       on_ms > 0 ? cpu_ms * 100 / on_ms : 0.0);
	for (int c = 0, first = 1; c < 256; c++)
		if (codes[c]) {
			printf("%s%d:%ld", first ? "" : ",", c, codes[c]);
			first = 0;
		}
	putchar('\n');
	return 0;
}

/* ---- stop and poll-status ----------------------------------------------- */

static int stop(pid_t pid)
{
	int fd = pidfd_open(pid, 0);
	if (fd < 0)
		return errno == ESRCH ? 0 : 1;	/* already gone */
	double t0 = now_ms();
	pidfd_send_signal(fd, SIGTERM, NULL, 0);
	struct pollfd p = { fd, POLLIN, 0 };
	int gone = poll(&p, 1, 10000) == 1;
	if (!gone)
		pidfd_send_signal(fd, SIGKILL, NULL, 0);
	close(fd);
	printf("stopped pid=%d ms=%.3f%s\n", (int)pid, now_ms() - t0, gone ? "" : " killed=1");
	return gone ? 0 : 1;
}

/* The first daemon to answer is the old one; "new" is NEW_VERSION from
 * another pid, so that an update to the same version is measured too. */
static int poll_status(const char *socket, const char *old, const char *new, double seconds)
{
	double start = now_ms(), last_old = -1, first_new = -1;
	long polls = 0, failed = 0, old_pid = -1;
	while (now_ms() - start < seconds * 1e3) {
		struct control_status st;
		struct banger_error err = { 0 };
		polls++;
		double t = now_ms();
		if (control_status(socket, 1000, &st, &err) == 0) {
			if (old_pid < 0 && strcmp(st.version, old) == 0)
				old_pid = st.pid;
			if (st.pid == old_pid) {
				last_old = t;
			} else if (old_pid >= 0 && strcmp(st.version, new) == 0) {
				first_new = t;
				break;
			}
		} else {
			failed++;
		}
		sleep_ms(1);
	}
	if (last_old < 0 || first_new < 0) {
		printf("downtime_ms=-1 polls=%ld failed=%ld old_seen=%d new_seen=%d\n", polls, failed,
		       last_old >= 0, first_new >= 0);
		return 1;
	}
	printf("downtime_ms=%.3f polls=%ld failed=%ld\n", first_new - last_old, polls, failed);
	return 0;
}

/* Drop a file's pages from the page cache (it must have no dirty page):
 * the next read of it comes from the disk. Only this file, not the
 * machine's whole cache, which others are using. */
static int evict(int n, char *paths[])
{
	for (int i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fdatasync(fd) != 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) {
			perror(paths[i]);
			if (fd >= 0)
				close(fd);
			return 1;
		}
		close(fd);
	}
	return 0;
}

int main(int argc, char *argv[])
{
	if (argc >= 3 && strcmp(argv[1], "spawn") == 0)
		return spawn(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "pairs") == 0)
		return pairs(atoi(argv[2]), argv[3], argv[4], argv + 5, argc - 5);
	if (argc >= 4 && strcmp(argv[1], "sandbox") == 0)
		return sandbox(argv[2], argv[3], argv + 4, argc - 4);
	if (argc >= 4 && strcmp(argv[1], "rss") == 0 && strcmp(argv[2], "--smaps") == 0)
		return rss(argv + 3, 1);
	if (argc >= 3 && strcmp(argv[1], "rss") == 0)
		return rss(argv + 2, 0);
	if (argc >= 7 && strcmp(argv[1], "every") == 0 && strcmp(argv[4], "--phases") == 0)
		return every(strtod(argv[2], NULL), strtod(argv[3], NULL), strtod(argv[5], NULL),
			     argv + 6);
	if (argc >= 5 && strcmp(argv[1], "every") == 0)
		return every(strtod(argv[2], NULL), strtod(argv[3], NULL), 0, argv + 4);
	if (argc == 3 && strcmp(argv[1], "stop") == 0)
		return stop((pid_t)strtol(argv[2], NULL, 10));
	if (argc >= 3 && strcmp(argv[1], "evict") == 0)
		return evict(argc - 2, argv + 2);
	if (argc == 6 && strcmp(argv[1], "poll-status") == 0)
		return poll_status(argv[2], argv[3], argv[4], strtod(argv[5], NULL));
	fputs("usage: measure spawn CMD... | sandbox EXE DB_DIR ARG... | pairs N EXE DB_DIR ARG...\n"
	      "       | rss [--smaps] CMD...\n"
	      "       | every MS SECONDS CMD... | stop PID | poll-status SOCKET OLD NEW SECONDS\n"
	      "       | evict FILE...\n",
	      stderr);
	return 64;
}
