/* daemon.h - what bangerd does, one function per action. Each returns the
 * process exit code the contract gives for it and prints its own output:
 * results on out, one-line errors (prefixed "bangerd: ") on errout.
 */
#ifndef BANGER_DAEMON_H
#define BANGER_DAEMON_H

#include <stdbool.h>
#include <stdio.h>

#include "banger/paths.h"

enum daemon_exit {
	DAEMON_EXIT_OK = 0,
	DAEMON_EXIT_MIGRATIONS_NEEDED = 1,
	DAEMON_EXIT_INCOMPATIBLE = 2,
	DAEMON_EXIT_CANNOT_INSPECT = 3,
	DAEMON_EXIT_UNAVAILABLE = 69,	/* sysexits EX_UNAVAILABLE */
	DAEMON_EXIT_USAGE = 64,
};

/* --check-migrations: confine this process against every file change
 * (sandbox_forbid_writes), classify db_path, print the one line (or the
 * JSON object) and return 0, 1 or 2; 3 with a reason on errout when no
 * consistent view could be read. The confinement lasts for the rest of the
 * process: call it last. */
int daemon_check_migrations(const char *db_path, bool json, FILE *out, FILE *errout);

/* --migrate: apply pending migrations; 0, 2 (incompatible, nothing
 * changed) or 3 (failed; every migration is atomic, so the database is
 * left at the last one that committed). */
int daemon_migrate(const char *db_path, FILE *out, FILE *errout);

/* --list-migrations: "ID NAME" a line, ascending. */
int daemon_list_migrations(FILE *out);

/* Serve (no action flag): open the store (auto-migrating; exit 2 on an
 * incompatible database, nothing changed), listen on the control socket,
 * sd_notify READY=1, answer status requests, and on SIGTERM/SIGINT send
 * STOPPING=1, remove the socket, close the store and return 0. */
int daemon_serve(const struct banger_paths *paths, FILE *errout);

#endif
