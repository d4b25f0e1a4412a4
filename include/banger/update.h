/* update.h - replacing bangerd: banger update and --check-only.
 *
 * The door for banger.c: the options, the exit codes and the three entry
 * points. What only src/update and its tests use is in
 * src/update/internal.h; the staging and ELF verification below are still
 * here because other modules' tools and fuzzers use them. */
#ifndef BANGER_UPDATE_H
#define BANGER_UPDATE_H

#include <stdbool.h>
#include <limits.h>
#include <stdio.h>

#include "banger/error.h"
#include "banger/paths.h"

/* Exit codes, docs/CONTRACT.md "banger update". */
enum update_exit {
	UPDATE_EXIT_OK = 0,
	UPDATE_EXIT_MIGRATIONS_NEEDED = 1,	/* --check-only */
	UPDATE_EXIT_INCOMPATIBLE = 2,
	UPDATE_EXIT_CHECK_FAILED = 3,
	UPDATE_EXIT_VERIFY_FAILED = 4,
	UPDATE_EXIT_ROLLED_BACK = 5,	/* the new daemon failed its health check */
	UPDATE_EXIT_ROLLBACK_FAILED = 6,	/* operator action needed */
	UPDATE_EXIT_REHEARSAL_FAILED = 7,	/* a migration fails on a copy of the live database */
	UPDATE_EXIT_USAGE = 64,
	UPDATE_EXIT_UNAVAILABLE = 69,
	UPDATE_EXIT_LOCKED = 75,
};

struct staged {
	int exec_fd;		/* read-only descriptor of the staged copy */
	char interpreter[256];	/* PT_INTERP of the ELF, resolved; "" when static */
	char interpreter_path[256];	/* PT_INTERP as written, the path the kernel opens
					 * at exec (the mount namespace must resolve it) */
};

/* Copy from into an unnamed file (O_TMPFILE) in dir and return a read-only
 * descriptor to it: nothing is left behind, whatever happens to this
 * process. durable: mode 0755 and fsynced (an update that will link it in);
 * else 0700, not synced (a check only). Returns 0 or < 0 with err
 * (-EOPNOTSUPP: dir's file system has no O_TMPFILE). */
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


/* The files the loader needs to start the staged binary (libraries.c):
 * its ELF interpreter, then the DT_NEEDED closure as found in the
 * interpreter's own directory, each a regular file under the library
 * roots. A NULL-terminated list for update_loader_files_free(); empty for a
 * static binary. 0 or < 0 with err. */
int update_loader_files(const struct staged *staged, char ***files, struct banger_error *err);
void update_loader_files_free(char **files);

/* One set of options for the update and --check-only (which uses from,
 * the checks, target, db, state_dir and json). */
struct update_options {
	const char *from, *sha256, *minisig, *pubkey;
	const char *target;
	const char *state_dir, *db, *socket;
	const char *restart_cmd;	/* or NULL */
	bool no_restart;
	bool system;			/* --system: the system's systemd, else the user's */
	unsigned timeout_s;
	bool json;
	bool no_rehearse;		/* --no-rehearse */
	unsigned rehearse_max_mb;	/* --rehearse-max-mb; 0: the default, 1024 */
};

/* banger update --check-only: stage, verify, run the staged binary's
 * --check-migrations in the sandbox, relay its verdict. Prints the child's
 * line (sanitized) or the JSON result on out, one-line reasons on errout.
 * Returns 0, 1, 2 (the child's verdict, trusted only when its exit code
 * and its line agree), 3 (the check failed) or 4 (verification failed). */
int update_check_only(const struct update_options *opts, FILE *out, FILE *errout);



/* banger update: lock, recover what an interrupted update left, stage,
 * verify, check, back up, swap, restart, confirm health, roll back on
 * failure. Returns the contract's exit code. */
int update_run(const struct update_options *opts, FILE *out, FILE *errout);

/* banger update --recover: finish or undo an interrupted update. 0 when
 * the install is consistent (nothing to do, or rolled back healthy), 6
 * when it needs the operator. */
int update_recover(const struct update_options *opts, FILE *out, FILE *errout);

#endif
