/* daemon.h - what bangerd does, one function per action. Each returns the
 * process exit code the contract gives for it and prints its own output:
 * results on out, one-line errors (prefixed "bangerd: ") on errout.
 */
#ifndef BANGER_DAEMON_H
#define BANGER_DAEMON_H

#include <stdbool.h>
#include <stdio.h>

#include "banger/error.h"
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

/* --rehearse-migrations --scratch DIR: apply the pending migrations to a
 * copy of db_path made in scratch (store_rehearse) and print the one line
 * (or the JSON object): 0 rehearsed cleanly or nothing to rehearse, 2 a
 * migration failed on the copy (or the database is newer than this
 * binary), 3 the live database or the scratch could not be used. */
int daemon_rehearse_migrations(const char *db_path, const char *scratch, bool json, FILE *out,
			       FILE *errout);

/* --list-migrations: "ID NAME" a line, ascending. */
int daemon_list_migrations(FILE *out);

/* Serve (no action flag): take the control socket that systemd passed
 * (daemon_activation_socket) or else bind paths->socket itself, never
 * both; open the store (auto-migrating; exit 2 on an incompatible
 * database, nothing changed), sd_notify READY=1, answer status requests.
 * On SIGTERM/SIGINT: send STOPPING=1, accept no more connections, answer
 * the ones already accepted, close the store and return 0. The socket
 * file is removed only when bangerd bound it: a passed one is systemd's,
 * and the connections that wait in its backlog are the next daemon's.
 * Every other end is a failure, with a line on errout and 1 (so that
 * Restart=on-failure applies): a descriptor limit (RLIMIT_NOFILE) too low
 * for the daemon that cannot be raised (checked before the store is
 * opened), a socket it cannot listen on, a serve loop that cannot go on. */
int daemon_serve(const struct banger_paths *paths, FILE *errout);

/* The listening socket of socket activation (sd_listen_fds(3), the
 * protocol done exactly; see activation.c for why not libsystemd).
 * Returns 1 and sets *fd (3) to a listening AF_UNIX SOCK_STREAM socket,
 * made FD_CLOEXEC and O_NONBLOCK; 0 and *fd = -1 when none was passed to
 * this process (no LISTEN_PID, another process's LISTEN_PID, LISTEN_FDS
 * unset or 0); a negative errno with err saying why otherwise (a
 * LISTEN_PID or LISTEN_FDS that is not a number, more than one
 * descriptor, a descriptor that is not a listening Unix stream socket).
 * LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are removed from the
 * environment in every case. */
int daemon_activation_socket(int *fd, struct banger_error *err);

/* The file name a listening Unix socket is bound to, in path; 0, or
 * -EINVAL for an unnamed or abstract socket, -ENAMETOOLONG, -errno. */
int daemon_socket_path(int fd, char *path, size_t size);

#endif
