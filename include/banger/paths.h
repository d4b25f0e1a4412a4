/* paths.h - where the state dir, the database and the control socket are.
 *
 * The rules are CONTRACT.md's "Paths" table:
 *   system mode: /var/lib/banger, /var/lib/banger/banger.db,
 *                /run/banger/bangerd.sock
 *   user mode:   $XDG_STATE_HOME/banger (absolute XDG_STATE_HOME only, as the
 *                XDG spec says), else ~/.local/state/banger; the socket in
 *                $XDG_RUNTIME_DIR/banger/, else in the state dir.
 * Overrides, strongest first: --db, --state-dir, $BANGER_STATE_DIR. With
 * --db alone, the state dir is the database's directory.
 */
#ifndef BANGER_PATHS_H
#define BANGER_PATHS_H

#include <limits.h>
#include <stdbool.h>

#include "banger/error.h"

#define PATHS_SYSTEM_STATE_DIR "/var/lib/banger"
#define PATHS_SYSTEM_RUNTIME_DIR "/run/banger"
#define PATHS_DB_NAME "banger.db"
#define PATHS_SOCKET_NAME "bangerd.sock"

struct paths_options {
	bool system;		/* --system */
	const char *state_dir;	/* --state-dir, or NULL */
	const char *db;		/* --db, or NULL */
	const char *socket;	/* --socket, or NULL */
};

struct banger_paths {
	char state_dir[PATH_MAX];
	char db[PATH_MAX];
	char socket[PATH_MAX];
};

/* Resolve the three paths from the options and the environment. The state
 * directory and the database's directory are resolved (realpath) when they
 * exist, once, here: systemd's DynamicUser makes /var/lib/banger a symlink,
 * and every later open refuses symlinks. The database's own name is kept
 * as given, so that a database file that is a symlink is still refused.
 * Returns 0, or -EINVAL with err set when no state dir can be found (no
 * HOME and no passwd entry) or a path does not fit PATH_MAX. */
int paths_resolve(const struct paths_options *opts, struct banger_paths *out,
		  struct banger_error *err);

/* The database's path made absolute, its directory resolved (realpath) and
 * its own name kept as given (a database that is a symlink is still
 * refused when opened): abs, and the directory in dir. The one resolver
 * of the database's parent, used by paths_resolve() (which keeps the path
 * as given while the directory does not exist yet) and by banger update
 * (which refuses then). 0, or < 0 with err: "DB: the database's
 * directory: REASON", or -ENAMETOOLONG. */
int paths_resolve_db(const char *db, char *abs, size_t abs_size, char *dir, size_t dir_size,
		     struct banger_error *err);

#endif
