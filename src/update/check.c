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

#include "banger/owner.h"
#include "banger/sandbox.h"
#include "banger/store.h"
#include "banger/update.h"
#include "elf_reader.h"

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

void update_judge_check(const struct sandbox_result *r, struct verdict *v)
{
	enum schema_state state;
	v->code = UPDATE_EXIT_CHECK_FAILED;
	v->reason[0] = '\0';
	switch (r->outcome) {
	case SANDBOX_TIMED_OUT:
		if (r->survived_kill)
			snprintf(v->reason, sizeof(v->reason),
				 "the check timed out and did not die after SIGKILL (pid %d is asleep in the kernel; left to init)",
				 (int)r->pid);
		else
			snprintf(v->reason, sizeof(v->reason), "the check timed out and was killed");
		return;
	case SANDBOX_SETUP_FAILED:
		snprintf(v->reason, sizeof(v->reason), "the sandbox failed at step '%s': %s",
			 sandbox_step_name(r->step), strerror(r->setup_errno));
		return;
	case SANDBOX_SIGNALED:
		if (r->signal == SIGSYS && r->violation_name[0])
			snprintf(v->reason, sizeof(v->reason),
				 "the check was killed by SIGSYS: the policy refused the system call %s (%ld)",
				 r->violation_name, r->violation);
		else if (r->signal == SIGSYS && r->violation >= 0)
			snprintf(v->reason, sizeof(v->reason),
				 "the check was killed by SIGSYS: the policy refused system call number %ld of another ABI",
				 r->violation);
		else if (r->signal == SIGSYS)
			snprintf(v->reason, sizeof(v->reason),
				 "the check was killed by SIGSYS: the policy refused a system call (the kernel log names it: audit type=1326)");
		else
			snprintf(v->reason, sizeof(v->reason), "the check was killed by signal %d (%s)",
				 r->signal, strsignal(r->signal));
		return;
	case SANDBOX_EXITED:
		break;
	}
	if (r->exit_code > 2) {
		snprintf(v->reason, sizeof(v->reason), "the check exited with %d%s%.300s", r->exit_code,
			 r->stderr_tail[0] ? ": " : "", r->stderr_tail);
		return;
	}
	if (r->line_truncated) {
		snprintf(v->reason, sizeof(v->reason),
			 "the check exited with %d but printed a line too long to trust (over %d bytes): '%.200s...'",
			 r->exit_code, SANDBOX_LINE_MAX - 1, r->first_line);
		return;
	}
	if (schema_line_parse(r->first_line, &state) != 0) {
		snprintf(v->reason, sizeof(v->reason), "the check exited with %d but printed '%.200s'",
			 r->exit_code, r->first_line);
		return;
	}
	if ((int)state != r->exit_code) {
		snprintf(v->reason, sizeof(v->reason),
			 "the check exited with %d but its line says otherwise: '%.200s'", r->exit_code,
			 r->first_line);
		return;
	}
	v->code = r->exit_code;
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);	/* control bytes were removed by the runner */
	}
	fputc('"', out);
}

static void print_result(const struct check_options *o, int code, const char *line,
			 const char *reason, const struct sandbox_result *r, FILE *out, FILE *errout)
{
	static const char *const names[] = { "compatible", "migrations_needed", "incompatible",
					     "check_failed", "verify_failed" };
	if (o->json) {
		fprintf(out, "{\"result\":\"%s\",\"exit\":%d,\"line\":", names[code], code);
		json_string(out, line);
		fputs(",\"reason\":", out);
		json_string(out, reason);
		fprintf(out, ",\"landlock_abi\":%d,\"mount_namespace\":%s,\"child_pid\":%d}\n",
			r ? r->landlock_abi : 0, r && r->mount_namespace ? "true" : "false",
			r ? (int)r->pid : 0);
	} else if (code <= 2) {
		fprintf(out, "%s\n", line);
	}
	if (code > 2)
		fprintf(errout, "banger: update refused: %s\n", reason);
}

int update_run_staged(const struct staged *staged, char *const argv[], const char *db,
		      const char *db_dir, struct sandbox_result *result, struct banger_error *err)
{
	struct sandbox_policy *policy = NULL;
	/* Only root can take another identity; anyone else runs the check as
	 * itself, which is the database's owner in user mode. */
	bool set_identity = geteuid() == 0;
	struct banger_owner owner = { 0, 0 };
	/* The database file's owner, not followed (a symlinked database is
	 * refused by the check itself), or its directory's while there is
	 * none yet. */
	int rc = set_identity ? banger_owner_of(db, &owner) : 0;
	if (rc != 0)
		return banger_error_set(err, rc, "%s: whose it is: %s", db, strerror(-rc));
	rc = policy_from_bpf(check_migrations_bpf, sizeof(check_migrations_bpf), &policy, err);
	if (rc != 0)
		return rc;
	/* The mount namespace: the state dir and the loader's cache as data,
	 * the interpreter and the libraries it will map as code, nothing
	 * else (libraries.c says why not the library directories). */
	char **loader_files = NULL;
	rc = update_loader_files(staged, &loader_files, err);
	if (rc != 0) {
		policy_free(policy);
		return rc;
	}
	const char *ns_data[] = { db_dir, access("/etc/ld.so.cache", F_OK) == 0 ? "/etc/ld.so.cache" : NULL,
				  NULL };
	/* Landlock: the library dirs and the state dir, and the loader's files
	 * one by one too. A Landlock rule is found by walking up from the
	 * file opened, and in the mount namespace a library's parents are
	 * our directories, not the machine's /usr/lib: only a rule on the
	 * file itself (the same inode, bound) applies there. */
	const char *const *roots = update_library_roots();
	size_t dirs = 0, files = 0;
	while (roots[dirs])
		dirs++;
	while (loader_files[files])
		files++;
	const char **read_paths = calloc(dirs + files + 3, sizeof(*read_paths));
	if (read_paths == NULL) {
		update_loader_files_free(loader_files);
		policy_free(policy);
		return banger_error_set(err, -ENOMEM, "out of memory");
	}
	size_t n = 0;
	for (size_t i = 0; i < dirs; i++)
		read_paths[n++] = roots[i];
	read_paths[n++] = "/etc/ld.so.cache";
	for (size_t i = 0; i < files; i++)
		read_paths[n++] = loader_files[i];
	read_paths[n++] = db_dir;
	/* The interpreter as update_verify_elf() resolved it: a regular file
	 * beneath the library roots, never a directory. */
	const char *exec_paths[] = { staged->interpreter[0] ? staged->interpreter : NULL, NULL };
	struct sandbox_spec spec = {
		.exec_fd = staged->exec_fd,
		.argv = argv,
		.policy = policy,
		.read_paths = read_paths,
		.exec_paths = exec_paths,
		.timeout_ms = CHECK_DEADLINE_MS,
		.cpu_seconds = (CHECK_DEADLINE_MS + 999) / 1000,
		.memory_bytes = (size_t)512 << 20,
		.set_identity = set_identity,
		.uid = owner.uid,
		.gid = owner.gid,
		.mount_namespace = true,
		.ns_data_paths = ns_data,
		.ns_code_paths = (const char *const *)loader_files,
	};
	rc = sandbox_run(&spec, result, err);
	free(read_paths);
	update_loader_files_free(loader_files);
	policy_free(policy);
	return rc;
}

int update_staged_version(const struct staged *staged, const char *db, const char *db_dir,
			  char *version, size_t size, struct banger_error *err)
{
	struct sandbox_result r;
	char *argv[] = { "bangerd", "--version", NULL };
	int rc = update_run_staged(staged, argv, db, db_dir, &r, err);
	if (rc != 0)
		return rc;
	size_t len = strlen(r.first_line);
	if (r.outcome == SANDBOX_TIMED_OUT)
		return banger_error_set(err, -ETIMEDOUT, "the new bangerd's --version timed out%s",
					r.survived_kill ? " and did not die after SIGKILL" : "");
	if (r.outcome != SANDBOX_EXITED || r.exit_code != 0 || len == 0 || len >= size ||
	    strspn(r.first_line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~:_-") != len)
		return banger_error_set(err, -EPROTO, "the new bangerd's --version printed '%.100s'",
					r.first_line);
	memcpy(version, r.first_line, len + 1);
	return 0;
}

int update_check_only(const struct check_options *o, FILE *out, FILE *errout)
{
	struct banger_error err = { 0 };
	struct staged staged = { .exec_fd = -1 };
	struct sandbox_result result;
	struct verdict v = { UPDATE_EXIT_CHECK_FAILED, "" };
	char target_dir[PATH_MAX], db_dir[PATH_MAX], db[PATH_MAX];
	int code, lock = -1;

	if (o->state_dir) {
		int rc = update_lock(o->state_dir, true, &lock, &err);
		if (rc != 0) {
			fprintf(errout, "banger: %s\n", err.msg);
			return rc == -EWOULDBLOCK ? UPDATE_EXIT_LOCKED : UPDATE_EXIT_CHECK_FAILED;
		}
	}
	/* Absolute paths: the child runs in /. */
	snprintf(target_dir, sizeof(target_dir), "%s", o->target);
	if (realpath(dirname(target_dir), target_dir) == NULL) {
		snprintf(v.reason, sizeof(v.reason), "cannot stage beside the target %s: %s", o->target,
			 strerror(errno));
		code = UPDATE_EXIT_CHECK_FAILED;
		goto out;
	}
	if (paths_resolve_db(o->db, db, sizeof(db), db_dir, sizeof(db_dir), &err) != 0) {
		snprintf(v.reason, sizeof(v.reason), "%.500s", err.msg);
		code = UPDATE_EXIT_CHECK_FAILED;
		goto out;
	}
	if (update_stage_verified(o->from, target_dir, false, o->sha256, o->minisig, o->pubkey,
				  &staged, &err) != 0) {
		snprintf(v.reason, sizeof(v.reason), "%.500s", err.msg);
		code = UPDATE_EXIT_VERIFY_FAILED;
		goto out;
	}
	char *argv[] = { "bangerd", "--db", db, "--check-migrations", NULL };
	if (update_run_staged(&staged, argv, db, db_dir, &result, &err) != 0) {
		snprintf(v.reason, sizeof(v.reason), "%.500s", err.msg);
		code = UPDATE_EXIT_CHECK_FAILED;
		goto out;
	}
	update_judge_check(&result, &v);
	code = v.code;
	print_result(o, code, code <= 2 ? result.first_line : "", v.reason, &result, out, errout);
	goto done;
out:
	print_result(o, code, "", v.reason, NULL, out, errout);
done:
	update_staged_close(&staged);
	if (lock >= 0)
		close(lock);
	return code;
}
