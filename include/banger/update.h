/* update.h - replacing bangerd: stage, verify, sandboxed check, and (to
 * come) backup, swap, restart, health, rollback. */
#ifndef BANGER_UPDATE_H
#define BANGER_UPDATE_H

#include <stdbool.h>
#include <limits.h>
#include <stdio.h>

#include "banger/error.h"
#include "banger/paths.h"

/* Exit codes, CONTRACT.md "banger update". */
enum update_exit {
	UPDATE_EXIT_OK = 0,
	UPDATE_EXIT_MIGRATIONS_NEEDED = 1,	/* --check-only */
	UPDATE_EXIT_INCOMPATIBLE = 2,
	UPDATE_EXIT_CHECK_FAILED = 3,
	UPDATE_EXIT_VERIFY_FAILED = 4,
	UPDATE_EXIT_UNAVAILABLE = 69,
	UPDATE_EXIT_USAGE = 64,
};

struct staged {
	int exec_fd;		/* read-only descriptor of the staged copy */
	char interpreter[256];	/* PT_INTERP of the ELF, resolved; "" when static */
	char interpreter_path[256];	/* PT_INTERP as written, the path the kernel opens
					 * at exec (the mount namespace must resolve it) */
};

/* Copy from into an unnamed file (O_TMPFILE, or a name unlinked at once)
 * in dir and return a read-only descriptor to it: nothing is left behind,
 * whatever happens to this process. durable: mode 0755 and fsynced (an
 * update that will link it in); else 0700, not synced (a check only).
 * Returns 0 or < 0 with err. */
int update_stage(const char *from, const char *dir, bool durable, struct staged *out,
		 struct banger_error *err);

/* An ELF executable for this machine (class, byte order, machine, type),
 * read from the descriptor, that the sandbox can hold to its promises: at
 * most one PT_INTERP, naming this machine's dynamic loader by one of its
 * names, a regular file that resolves beneath the library roots
 * (out->interpreter gets the resolved path); no executable PT_GNU_STACK;
 * no PT_LOAD both writable and executable, nor executable with more
 * memory than file bytes (its zero-filled tail would be both).
 * Returns 0 or -ENOEXEC with err saying what is wrong. */
int update_verify_elf(struct staged *staged, struct banger_error *err);

void update_staged_close(struct staged *staged);

/* STAGE then VERIFY: update_stage(), then --sha256 and --minisig when given
 * (NULL: not asked), then update_verify_elf(). 0, or -1 with err saying
 * which check failed on what ("--from PATH: ...", or the signature or key
 * that failed); out may hold a descriptor to close either way. */
int update_stage_verified(const char *from, const char *dir, bool durable, const char *sha256,
			  const char *minisig, const char *pubkey, struct staged *out,
			  struct banger_error *err);

/* 1 when hex is 64 hexadecimal digits. */
int update_sha256_hex_valid(const char *hex);
/* The staged copy's SHA-256 equals hex: 0, or -EBADMSG (err names the
 * copy's actual hash). */
int update_verify_sha256(const struct staged *staged, const char *hex, struct banger_error *err);
/* The staged copy carries a valid minisign signature (sig_path) by pubkey
 * (a .pub file or the base64 key): both the file's and the trusted
 * comment's signature verify, with the key's id. 0 or < 0 with err. */
int update_verify_minisig(const struct staged *staged, const char *sig_path, const char *pubkey,
			  struct banger_error *err);

struct check_options {
	const char *from;	/* the new bangerd */
	const char *sha256;	/* or NULL */
	const char *minisig;	/* with pubkey, or NULL */
	const char *pubkey;
	const char *target;	/* where it would go; its directory stages the copy */
	const char *db;		/* the live database */
	const char *state_dir;	/* locked shared while the check runs */
	unsigned timeout_s;
	bool json;
};

struct sandbox_result;

struct verdict {
	int code;		/* the exit code for banger update: 0, 1, 2 or 3 */
	char reason[512];	/* when code is 3 */
};

/* Trust a check's verdict only when the child exited normally with 0, 1
 * or 2 AND its line parses as that same classification. */
void update_judge_check(const struct sandbox_result *r, struct verdict *v);

/* The files the loader needs to start the staged binary (libraries.c):
 * its ELF interpreter, then the DT_NEEDED closure as found in the
 * interpreter's own directory, each a regular file under the library
 * roots. A NULL-terminated list for update_loader_files_free(); empty for a
 * static binary. 0 or < 0 with err. */
int update_loader_files(const struct staged *staged, char ***files, struct banger_error *err);
void update_loader_files_free(char **files);

/* Run the staged binary with argv in the sandbox (policy
 * check-migrations.policy, Landlock read access to db_dir and the
 * libraries), as the owner of db (of db_dir while db does not exist) when
 * we are root, in a mount namespace that holds only db_dir, the loader's
 * files and /etc/ld.so.cache where we hold CAP_SYS_ADMIN, and under the
 * check's own deadline (4 s, see check.c), not --timeout. */
int update_run_staged(const struct staged *staged, char *const argv[], const char *db,
		      const char *db_dir, struct sandbox_result *result, struct banger_error *err);

/* The staged binary's --version, asked in the sandbox. */
int update_staged_version(const struct staged *staged, const char *db, const char *db_dir,
			  char *version, size_t size, struct banger_error *err);

/* banger update --check-only: stage, verify, run the staged binary's
 * --check-migrations in the sandbox, relay its verdict. Prints the child's
 * line (sanitized) or the JSON result on out, one-line reasons on errout.
 * Returns 0, 1, 2 (the child's verdict, trusted only when its exit code
 * and its line agree), 3 (the check failed) or 4 (verification failed). */
int update_check_only(const struct check_options *opts, FILE *out, FILE *errout);

/* ---- the whole update ------------------------------------------------ */

enum {
	UPDATE_EXIT_ROLLED_BACK = 5,	/* the new daemon failed its health check */
	UPDATE_EXIT_ROLLBACK_FAILED = 6,	/* operator action needed */
	UPDATE_EXIT_LOCKED = 75,
};

struct journal {
	char step[16];		/* checked, backed-up, swapping, swapped */
	char target[PATH_MAX];
	char db[PATH_MAX];
	char backup[PATH_MAX];	/* "" when no migration was needed */
	char socket[PATH_MAX];
	char restart[1024];	/* "", "cmd:CMD" or "systemd:UNIT" */
	char new_version[64];
	char old_version[64];
	unsigned timeout_s;
};

/* LOCK: flock on the state directory itself, exclusive for an update (the
 * directory is made, 0700, when missing), shared for --check-only (no lock
 * and *fd -1 when the directory does not exist). 0, -EWOULDBLOCK when
 * another update holds it, or < 0; err says which. */
int update_lock(const char *state_dir, bool shared, int *fd, struct banger_error *err);

/* 1 and the journal when one exists, 0 when none, < 0 when unreadable. */
int journal_read(const char *state_dir, struct journal *j, struct banger_error *err);
int journal_write(const char *state_dir, const struct journal *j, struct banger_error *err);
int journal_remove(const char *state_dir);
int update_fsync_dir(const char *dir);

/* SIGTERM every process whose executable was TARGET before TARGET was
 * replaced (the rollback's "stop", see stop.c), wait up to timeout_s for
 * them to exit, then SIGKILL. Returns how many were stopped, or < 0
 * (-ETIMEDOUT: some outlived SIGKILL). */
int update_stop_replaced(const char *target, unsigned timeout_s, FILE *errout);


struct update_options {
	const char *from, *sha256, *minisig, *pubkey;
	const char *target;
	const char *state_dir, *db, *socket;
	const char *restart_cmd;	/* or NULL */
	bool no_restart;
	bool system;			/* --system: the system's systemd, else the user's */
	unsigned timeout_s;
	bool json;
};

/* RESTART (restart.c): how this update restarts bangerd, as the journal
 * keeps it: "cmd:CMD" (--restart-cmd), "systemd:bangerd.service" (--system
 * under the system's systemd), "systemd-user:bangerd.service" (user mode
 * under the user's own systemd), or "" (--no-restart, or no manager runs
 * a bangerd unit). */
void update_restart_choose(const struct update_options *opts, char *how, size_t size);
/* Restart the way how says, within timeout_s; again: a rollback's
 * restart (the unit's start limit is reset first). 0, or -1 with why
 * saying in one phrase what failed, systemd's Result included. */
int update_restart(const char *how, unsigned timeout_s, bool again, char *why, size_t why_size);
/* The daemon at socket answers with version and a compatible schema, from
 * another pid than old_pid, within timeout_s. Under systemd a unit that
 * fails or is restarted meanwhile ends the wait at once. 0, or -1 with
 * why. */
int update_healthy(const char *how, const char *socket, const char *version, long old_pid,
		   unsigned timeout_s, char *why, size_t why_size);

/* banger update: lock, recover what an interrupted update left, stage,
 * verify, check, back up, swap, restart, confirm health, roll back on
 * failure. Returns the contract's exit code. */
int update_run(const struct update_options *opts, FILE *out, FILE *errout);

/* banger update --recover: finish or undo an interrupted update. 0 when
 * the install is consistent (nothing to do, or rolled back healthy), 6
 * when it needs the operator. */
int update_recover(const struct update_options *opts, FILE *out, FILE *errout);

#endif
