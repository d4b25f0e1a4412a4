/* mount_floor: the kernel's floor under the sandbox's mount namespace, for
 * make bench (tests/bench/check.sh, row 1h). Needs root (CAP_SYS_ADMIN).
 *
 *   mount_floor N EXE DB_DIR [ARG...]
 *        in this one process, N rounds of four runs of EXE with ARGs
 *        (stdout to /dev/null), next to each other in time:
 *          plain    fork, execv, wait ("measure pairs"' plain run)
 *          unshare  fork; the child unshares a mount namespace and makes
 *                   every mount private (the namespace's fixed cost: a
 *                   copy of the machine's mount table), then execs
 *          mounts   fork; the child enters exactly the root the sandbox
 *                   builds for this EXE and DB_DIR (mount_plan_enter() of
 *                   the same plan: the tmpfs, pivot_root, the same
 *                   directories, symlinks and read-only binds, the old
 *                   root detached, the root sealed), then execs EXE from
 *                   its descriptor; nothing else of the sandbox
 *          sandbox  update_run_staged(), as banger runs the check
 *        The plan is built once (the parent's planning, about 45 us, is
 *        not in "mounts"). Prints the plan's counts, each run's median and
 *        the medians of the paired differences against plain.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "banger/sandbox.h"
#include "banger/update.h"
#include "../../src/update/internal.h"	/* update_run_staged: the module's own door for its tools */
#include "../../src/sandbox/internal.h"	/* mount_plan_*: the very plan, not a copy of it */

enum mode { PLAIN, UNSHARE, MOUNTS, SANDBOX, MODES };
static const char *const mode_name[MODES] = { "plain", "unshare", "mounts", "sandbox" };

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), by_value);
	return v[(int)(q * (n - 1) + 0.5)];
}

/* One child: the mode's namespace (if any), then the check. Its exit code. */
static int run_child(enum mode m, const struct mount_plan *plan, int exec_fd, char *argv[],
		     int devnull)
{
	pid_t pid = fork();
	if (pid < 0)
		return 125;
	if (pid == 0) {
		dup2(devnull, 1);
		if (m == UNSHARE && (unshare(CLONE_NEWNS) != 0 ||
				     mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0))
			_exit(126);
		if (m == MOUNTS && mount_plan_enter(plan) != 0)
			_exit(126);
		if (m == PLAIN || m == UNSHARE)
			execv(argv[0], argv);
		else
			fexecve(exec_fd, argv, environ);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 125;
	return WEXITSTATUS(status);
}

static int plan_for(const struct staged *staged, const char *db_dir, struct mount_plan *plan,
		    struct banger_error *err)
{
	char **loader_files = NULL;
	/* As update_run_job() asks for it: the state dir and the loader's
	 * cache as data, the interpreter and its libraries as code. */
	const char *data[] = { db_dir, access("/etc/ld.so.cache", F_OK) == 0 ? "/etc/ld.so.cache" : NULL,
			       NULL };
	int rc = update_loader_files(staged, &loader_files, err);
	if (rc == 0)
		rc = mount_plan_build(data, (const char *const *)loader_files, plan, err);
	if (loader_files)
		update_loader_files_free(loader_files);
	return rc;
}

/* The database the ARGs name (--db DB), whose owner the check runs as. */
static const char *db_of(char *args[], const char *db_dir)
{
	for (int i = 0; args[i] && args[i + 1]; i++)
		if (strcmp(args[i], "--db") == 0)
			return args[i + 1];
	return db_dir;
}

int main(int argc, char *argv[])
{
	if (argc < 4 || atoi(argv[1]) < 1) {
		fputs("usage: mount_floor N EXE DB_DIR [ARG...]\n", stderr);
		return 64;
	}
	int n = atoi(argv[1]);
	const char *db_dir = argv[3];
	char **args = argv + 2;	/* EXE ARG... (argv[3], DB_DIR, is skipped below) */
	args[1] = args[0];
	args++;
	struct banger_error err = { 0 };
	struct staged staged = { .exec_fd = open(args[0], O_RDONLY | O_CLOEXEC) };
	struct mount_plan plan = { 0 };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	double *t[MODES], *d[MODES];
	for (int m = 0; m < MODES; m++) {
		t[m] = calloc((size_t)n, sizeof(double));
		d[m] = calloc((size_t)n, sizeof(double));
		if (!t[m] || !d[m])
			return 125;
	}
	if (staged.exec_fd < 0 || devnull < 0 || update_verify_elf(&staged, &err) != 0 ||
	    plan_for(&staged, db_dir, &plan, &err) != 0) {
		fprintf(stderr, "mount_floor: %s: %s\n", args[0], err.msg[0] ? err.msg : "cannot open");
		return 125;
	}
	char *boxed_argv[argc];
	memcpy(boxed_argv, args, sizeof(char *) * (size_t)(argc - 3));
	boxed_argv[argc - 3] = NULL;
	boxed_argv[0] = "bangerd";
	for (int i = 0; i < n; i++) {
		int want = -1;
		for (int m = 0; m < MODES; m++) {
			struct sandbox_result r;
			double t0 = now_ms();
			int rc = m == SANDBOX
					 ? (update_run_staged(&staged, boxed_argv, db_of(args, db_dir), db_dir, &r, &err) == 0 &&
						    r.outcome == SANDBOX_EXITED ? r.exit_code : 125)
					 : run_child((enum mode)m, &plan, staged.exec_fd, m == PLAIN || m == UNSHARE
								 ? args : boxed_argv, devnull);
			t[m][i] = now_ms() - t0;
			if (want < 0)
				want = rc;
			if (rc > 2 || rc != want) {	/* 0, 1 or 2: a verdict, the same each way */
				fprintf(stderr, "mount_floor: %s run exited %d (plain %d) %s\n", mode_name[m],
					rc, want, err.msg);
				return 125;
			}
		}
		for (int m = 0; m < MODES; m++)
			d[m][i] = t[m][i] - t[PLAIN][i];
	}
	printf("rounds=%d\n", n);
	printf("plan_entries=%zu\n", plan.count);	/* directories, symlinks and binds */
	for (int m = 0; m < MODES; m++)
		printf("%s_median_ms=%.3f\n", mode_name[m], quantile(t[m], n, 0.5));
	for (int m = 1; m < MODES; m++)
		printf("%s_diff_median_ms=%.3f\n%s_diff_p25_ms=%.3f\n%s_diff_p75_ms=%.3f\n", mode_name[m],
		       quantile(d[m], n, 0.5), mode_name[m], quantile(d[m], n, 0.25), mode_name[m],
		       quantile(d[m], n, 0.75));
	mount_plan_free(&plan);
	update_staged_close(&staged);
	return 0;
}
