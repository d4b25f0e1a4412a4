/* CHECK: the staged bangerd's --check-migrations, run in the sandbox, and
 * its verdict relayed only when it can be trusted. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/json.h"
#include "banger/owner.h"
#include "banger/sandbox.h"
#include "banger/store.h"
#include "elf_reader.h"
#include "internal.h"

/* policy/check-migrations.policy, compiled into BPF by the build: the
 * updater runs as root and must not take its policy from a file someone
 * else could edit, and need not compile it at every update. */
static const struct sock_filter check_migrations_bpf[] = {
#include "check_migrations_bpf.inc"
};

/* The check's own deadline, independent of --timeout (which bounds the
 * restart and the health check, and accepts an hour). While the child
 * lives it may hold the POSIX and OFD read locks that SQLite's read path
 * takes, and a hostile child can hold one that stalls the live daemon's
 * writers (a read lock on the -shm write-lock byte makes BEGIN IMMEDIATE
 * wait). A real check takes milliseconds; only a locked database makes it
 * retry, and store_read_consistent() gives up after 12 attempts of at most
 * 200 ms busy wait plus a 50 ms pause, about 3 s (src/store/readonly.c).
 * 4 s is a little above that, and below the daemon's own 5 s busy timeout
 * (src/store/store.c): a writer stalled by a hostile check waits, it does
 * not fail. */
#define CHECK_DEADLINE_MS 4000

static void print_result(const struct update_options *o, int code, const char *line,
			 const char *reason, const struct sandbox_result *r,
			 const struct rehearsal_verdict *rv, FILE *out, FILE *errout)
{
	static const char *const names[] = { "compatible", "migrations_needed", "incompatible",
					     "check_failed", "verify_failed", "", "", "rehearsal_failed" };
	if (o->json) {
		fprintf(out, "{\"result\":\"%s\",\"exit\":%d,\"line\":", names[code], code);
		banger_json_string(out, line);
		fputs(",\"reason\":", out);
		banger_json_string(out, reason);
		fprintf(out, ",\"landlock_abi\":%d,\"mount_namespace\":%s,\"child_pid\":%d",
			r ? r->landlock_abi : 0, r && r->mount_namespace ? "true" : "false",
			r ? (int)r->pid : 0);
		update_report_rehearsal_json(out, rv);
		fputs("}\n", out);
	} else if (code <= 2) {
		fprintf(out, "%s\n", line);
	}
	if (rv->skipped || (rv->ran && rv->code == 0))
		fprintf(errout, "banger: rehearse: %s\n", rv->line);
	if (code > 2 && code != UPDATE_EXIT_REHEARSAL_FAILED)
		fprintf(errout, "banger: update refused: %s\n", reason);
	if (code == UPDATE_EXIT_REHEARSAL_FAILED)
		fprintf(errout, "banger: refused: the new release's migrations fail on a copy of the "
			"live database: %s\n", reason);
}

/* Landlock's read rules: the library dirs and the state dir, and the
 * loader's files one by one too. A Landlock rule is found by walking up
 * from the file opened, and in the mount namespace a library's parents are
 * our directories, not the machine's /usr/lib: only a rule on the file
 * itself (the same inode, bound) applies there. NULL when out of memory. */
static const char **read_rules(char **loader_files, const char *db_dir)
{
	const char *const *roots = update_library_roots();
	size_t dirs = 0, files = 0, n = 0;
	while (roots[dirs])
		dirs++;
	while (loader_files[files])
		files++;
	const char **paths = calloc(dirs + files + 3, sizeof(*paths));
	if (paths == NULL)
		return NULL;
	for (size_t i = 0; i < dirs; i++)
		paths[n++] = roots[i];
	paths[n++] = "/etc/ld.so.cache";
	for (size_t i = 0; i < files; i++)
		paths[n++] = loader_files[i];
	paths[n] = db_dir;
	return paths;
}

int update_run_job(const struct staged *staged, char *const argv[], const char *db,
		   const char *db_dir, const struct staged_job *job, struct sandbox_result *result,
		   struct banger_error *err)
{
	struct sandbox_policy *policy = NULL;
	char **loader_files = NULL;
	const char **read_paths = NULL;
	/* Only root can take another identity; anyone else runs the check as
	 * itself, which is the database's owner in user mode. */
	bool set_identity = geteuid() == 0;
	struct banger_owner owner = { 0, 0 };
	int rc = set_identity ? banger_owner_of_db(db, &owner) : 0;
	if (rc != 0)
		return banger_error_set(err, rc, "%s: whose it is: %s", db, strerror(-rc));
	rc = policy_from_bpf(job->bpf, job->bpf_bytes, &policy, err);
	/* The mount namespace: the state dir and the loader's cache as data,
	 * the interpreter and the libraries it will map as code, nothing
	 * else (libraries.c says why not the library directories). */
	if (rc == 0)
		rc = update_loader_files(staged, &loader_files, err);
	if (rc == 0 && (read_paths = read_rules(loader_files, db_dir)) == NULL)
		rc = banger_error_set(err, -ENOMEM, "out of memory");
	const char *ns_data[] = { db_dir, access("/etc/ld.so.cache", F_OK) == 0 ? "/etc/ld.so.cache" : NULL,
				  NULL };
	/* The interpreter as update_verify_elf() resolved it: a regular file
	 * beneath the library roots, never a directory. */
	const char *exec_paths[] = { staged->interpreter[0] ? staged->interpreter : NULL, NULL };
	struct sandbox_spec spec = {
		.exec_fd = staged->exec_fd, .argv = argv, .policy = policy,
		.read_paths = read_paths, .exec_paths = exec_paths,
		/* RLIMIT_CPU a second past the deadline: a child that
		 * spins is killed by the clock, and says so, never by a race
		 * between the two at the same second. */
		.timeout_ms = job->timeout_ms, .cpu_seconds = (job->timeout_ms + 999) / 1000 + 1,
		.memory_bytes = job->memory_bytes,
		.set_identity = set_identity, .uid = owner.uid, .gid = owner.gid,
		.mount_namespace = true, .ns_data_paths = ns_data,
		.ns_code_paths = (const char *const *)loader_files,
		.scratch_path = job->scratch, .scratch_bytes = job->scratch_bytes,
	};
	if (rc == 0)
		rc = sandbox_run(&spec, result, err);
	free(read_paths);
	if (loader_files)
		update_loader_files_free(loader_files);
	if (policy)
		policy_free(policy);
	return rc;
}

int update_run_staged(const struct staged *staged, char *const argv[], const char *db,
		      const char *db_dir, struct sandbox_result *result, struct banger_error *err)
{
	static const struct staged_job check = {
		.bpf = check_migrations_bpf, .bpf_bytes = sizeof(check_migrations_bpf),
		.timeout_ms = CHECK_DEADLINE_MS, .memory_bytes = (size_t)512 << 20,
	};
	return update_run_job(staged, argv, db, db_dir, &check, result, err);
}

static int check_failed(struct check_run *c, int code, const char *msg)
{
	c->v.code = code;
	snprintf(c->v.reason, sizeof(c->v.reason), "%.500s", msg);
	return code;
}

int update_check_pipeline(struct check_run *c)
{
	struct banger_error err = { 0 };
	const struct update_options *o = c->o;
	char dir[PATH_MAX];
	memset(&c->v, 0, sizeof(c->v));
	/* Absolute paths: the child runs in /. */
	snprintf(dir, sizeof(dir), "%s", o->target);
	if (c->target_dir[0] == '\0' && realpath(dirname(dir), c->target_dir) == NULL) {
		snprintf(dir, sizeof(dir), "cannot stage beside the target %.200s: %s", o->target,
			 strerror(errno));
		return check_failed(c, UPDATE_EXIT_CHECK_FAILED, dir);
	}
	if (paths_resolve_db(o->db, c->db, sizeof(c->db), c->db_dir, sizeof(c->db_dir), &err) != 0)
		return check_failed(c, UPDATE_EXIT_CHECK_FAILED, err.msg);
	if (update_stage_verified(o->from, c->target_dir, c->durable, o->sha256, o->minisig, o->pubkey,
				  &c->staged, &err) != 0)
		return check_failed(c, UPDATE_EXIT_VERIFY_FAILED, err.msg);
	if (c->verified)
		c->verified(c, c->ctx);
	/* With json, one sandboxed run answers both questions (its version
	 * is in the object): the staged binary can hold a lock on the live
	 * database for the check's one deadline at most. */
	char *argv[] = { "bangerd", "--db", c->db, "--check-migrations", c->json ? "--json" : NULL, NULL };
	if (update_run_staged(&c->staged, argv, c->db, c->db_dir, &c->result, &err) != 0)
		return check_failed(c, UPDATE_EXIT_CHECK_FAILED, err.msg);
	c->ran = true;
	update_judge_check(&c->result, c->json, &c->v);
	return c->v.code;
}

int update_check_only(const struct update_options *o, FILE *out, FILE *errout)
{
	struct banger_error err = { 0 };
	struct check_run c = { .o = o, .staged = { .exec_fd = -1 } };
	char dir[PATH_MAX];
	int lock = -1;
	int rc = update_lock(true, &lock, dir, sizeof(dir), &err);
	if (rc != 0) {
		fprintf(errout, "banger: %s\n", err.msg);
		return rc == -EWOULDBLOCK ? UPDATE_EXIT_LOCKED : UPDATE_EXIT_CHECK_FAILED;
	}
	struct rehearsal_verdict rv = { 0 };
	int code = update_check_pipeline(&c);
	/* A swap would be allowed only when the migrations also pass on a
	 * copy of today's data: a fleet's pre-flight finds a release that
	 * fails them on every host before any swap. */
	if (code == UPDATE_EXIT_MIGRATIONS_NEEDED && update_rehearse(&c, &rv) != 0)
		code = rv.code;
	const char *reason = code == rv.code && rv.code != 0 ? rv.reason : c.v.reason;
	print_result(o, code, code <= 2 ? c.v.line : "",
		     reason, c.ran ? &c.result : NULL, &rv, out, errout);
	update_staged_close(&c.staged);
	if (lock >= 0)
		close(lock);
	return code;
}
