#include "banger/paths.h"

#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int join(char *out, size_t size, const char *a, const char *b,
		struct banger_error *err)
{
	int n = b ? snprintf(out, size, "%s/%s", a, b) : snprintf(out, size, "%s", a);
	if (n < 0 || (size_t)n >= size)
		return banger_error_set(err, -ENAMETOOLONG, "path too long: %s/%s", a, b ? b : "");
	return 0;
}

/* An environment variable that names an absolute directory, or NULL. The XDG
 * base directory spec says relative values are invalid and must be ignored. */
static const char *absolute_env(const char *name)
{
	const char *v = getenv(name);
	return (v != NULL && v[0] == '/') ? v : NULL;
}

static const char *home_dir(void)
{
	const char *home = absolute_env("HOME");
	if (home != NULL)
		return home;
	struct passwd *pw = getpwuid(geteuid());
	return (pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/') ? pw->pw_dir : NULL;
}

static int resolve_state_dir(const struct paths_options *opts, char *out, size_t size,
			     struct banger_error *err)
{
	const char *env = getenv("BANGER_STATE_DIR");
	if (opts->state_dir != NULL)
		return join(out, size, opts->state_dir, NULL, err);
	if (env != NULL && env[0] != '\0')
		return join(out, size, env, NULL, err);
	if (opts->db != NULL) {
		/* The database's own directory: nothing else to look up (no
		 * passwd entry, which would mean NSS, which means sockets). */
		char copy[PATH_MAX];
		int rc = join(copy, sizeof(copy), opts->db, NULL, err);
		return rc ? rc : join(out, size, dirname(copy), NULL, err);
	}
	if (opts->system)
		return join(out, size, PATHS_SYSTEM_STATE_DIR, NULL, err);
	const char *xdg = absolute_env("XDG_STATE_HOME");
	if (xdg != NULL)
		return join(out, size, xdg, "banger", err);
	const char *home = home_dir();
	if (home == NULL)
		return banger_error_set(err, -EINVAL,
					"cannot find a state dir: set HOME or XDG_STATE_HOME, or pass --state-dir");
	return join(out, size, home, ".local/state/banger", err);
}

static int resolve_socket(const struct paths_options *opts, const char *state_dir,
			  char *out, size_t size, struct banger_error *err)
{
	if (opts->socket != NULL)
		return join(out, size, opts->socket, NULL, err);
	if (opts->system)
		return join(out, size, PATHS_SYSTEM_RUNTIME_DIR, PATHS_SOCKET_NAME, err);
	const char *runtime = absolute_env("XDG_RUNTIME_DIR");
	if (runtime != NULL) {
		char dir[PATH_MAX];
		int rc = join(dir, sizeof(dir), runtime, "banger", err);
		return rc ? rc : join(out, size, dir, PATHS_SOCKET_NAME, err);
	}
	return join(out, size, state_dir, PATHS_SOCKET_NAME, err);
}

int paths_resolve_db(const char *db, char *abs, size_t abs_size, char *dir, size_t dir_size,
		     struct banger_error *err)
{
	char copy[PATH_MAX], base[PATH_MAX], real[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", db);
	snprintf(base, sizeof(base), "%s", basename(copy));
	snprintf(copy, sizeof(copy), "%s", db);
	if (realpath(dirname(copy), real) == NULL)
		return banger_error_set(err, -errno, "%s: the database's directory: %s", db, strerror(errno));
	int rc = join(dir, dir_size, real, NULL, err);
	if (rc == 0)
		rc = strcmp(real, "/") == 0 ? join(abs, abs_size, "", base, err)
					    : join(abs, abs_size, real, base, err);
	return rc;
}

/* The database's path, its directory resolved once when it exists:
 * systemd's DynamicUser makes /var/lib/banger a symlink to private/banger,
 * and the store opens with SQLITE_OPEN_NOFOLLOW, which refuses a symlink
 * anywhere in a path. A directory that does not exist yet is left as it
 * is: whoever creates it makes no link. */
static int resolve_parent(char *path, size_t size, struct banger_error *err)
{
	char abs[PATH_MAX], dir[PATH_MAX];
	struct banger_error ignored;
	int rc = paths_resolve_db(path, abs, sizeof(abs), dir, sizeof(dir), &ignored);
	if (rc == -ENAMETOOLONG)
		return banger_error_set(err, rc, "%s", ignored.msg);
	return rc == 0 ? join(path, size, abs, NULL, err) : 0;
}

/* The state directory itself, resolved when it exists (see above). */
static void resolve_dir(char *path, size_t size)
{
	char real[PATH_MAX];
	if (realpath(path, real) != NULL && strlen(real) < size)
		memcpy(path, real, strlen(real) + 1);
}

int paths_resolve(const struct paths_options *opts, struct banger_paths *out,
		  struct banger_error *err)
{
	int rc = resolve_state_dir(opts, out->state_dir, sizeof(out->state_dir), err);
	if (rc)
		return rc;
	rc = resolve_socket(opts, out->state_dir, out->socket, sizeof(out->socket), err);
	if (rc)
		return rc;
	rc = opts->db ? join(out->db, sizeof(out->db), opts->db, NULL, err)
		      : join(out->db, sizeof(out->db), out->state_dir, PATHS_DB_NAME, err);
	if (rc)
		return rc;
	resolve_dir(out->state_dir, sizeof(out->state_dir));
	return resolve_parent(out->db, sizeof(out->db), err);
}
