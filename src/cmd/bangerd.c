/* bangerd: argument parsing only; each action is one daemon.h call. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "banger/cli.h"
#include "banger/daemon.h"
#include "banger/paths.h"
#include "banger_config.h"

static const char usage[] =
	"usage: bangerd [--system] [--state-dir DIR | --db PATH] --check-migrations [--json]\n"
	"       bangerd [--system] [--state-dir DIR | --db PATH] --migrate\n"
	"       bangerd [--system] [--state-dir DIR | --db PATH] --rehearse-migrations --scratch DIR [--json]\n"
	"       bangerd --list-migrations\n"
	"       bangerd [--system] [--state-dir DIR | --db PATH] [--socket PATH]\n"
	"       bangerd --version | --help\n";

static const char help[] =
	"\n"
	"banger's daemon. Without an action it serves on its control socket.\n"
	"\n"
	"  --check-migrations  classify the database read-only and print one line:\n"
	"                      exit 0 compatible, 1 migrations needed, 2 incompatible\n"
	"                      (database newer than this binary), 3 cannot inspect\n"
	"  --rehearse-migrations\n"
	"                      copy the database into --scratch DIR, apply the pending\n"
	"                      migrations to the copy, check it, print one line: exit 0\n"
	"                      rehearsed (or nothing to rehearse), 2 a migration fails on\n"
	"                      this data (or the database is newer), 3 cannot read\n"
	"  --scratch DIR       with --rehearse-migrations: the only place written\n"
	"  --json              with --check-migrations or --rehearse-migrations: print\n"
	"                      one JSON object instead\n"
	"  --migrate           apply pending migrations (exit 2 on an incompatible database)\n"
	"  --list-migrations   print the migrations this binary knows, \"ID NAME\" a line\n"
	"  --system            system paths: /var/lib/banger, /run/banger/bangerd.sock\n"
	"  --state-dir DIR     the state directory (default: $BANGER_STATE_DIR, else\n"
	"                      $XDG_STATE_HOME/banger, else ~/.local/state/banger)\n"
	"  --db PATH           the database (default: DIR/banger.db)\n"
	"  --socket PATH       the control socket (default: DIR/bangerd.sock, or\n"
	"                      $XDG_RUNTIME_DIR/banger/bangerd.sock when that is set)\n"
	"  --version           print the version\n"
	"  --help              print this help\n"
	"\n"
	"See bangerd(8).\n";

enum action { SERVE, CHECK, REHEARSE, MIGRATE, LIST, VERSION, HELP };

static int usage_error(FILE *errout, const char *why)
{
	if (why)
		fprintf(errout, "bangerd: %s\n", why);
	fputs(usage, errout);
	return DAEMON_EXIT_USAGE;
}

/* A --db whose directory does not exist is a wrong path (a typo), not the
 * fresh install that a missing file in an existing directory is: said in
 * one line, naming the directory. A default state directory that does not
 * exist yet is a fresh install (the daemon makes it on its first start),
 * and so is not refused. */
static bool db_dir_missing(const char *db, FILE *errout)
{
	char copy[PATH_MAX];
	struct stat st;
	snprintf(copy, sizeof(copy), "%s", db);
	const char *dir = dirname(copy);
	if (stat(dir, &st) == 0 || errno != ENOENT)
		return false;
	fprintf(errout, "bangerd: cannot inspect %s: the database's directory %s does not exist\n", db, dir);
	return true;
}

int bangerd_main(int argc, char *argv[], FILE *out, FILE *errout)
{
	static const struct option options[] = {
		{ "check-migrations", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "rehearse-migrations", no_argument, NULL, 'r' },
		{ "scratch", required_argument, NULL, 'S' },
		{ "migrate", no_argument, NULL, 'm' },
		{ "list-migrations", no_argument, NULL, 'l' },
		{ "system", no_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "db", required_argument, NULL, 'b' },
		{ "socket", required_argument, NULL, 'k' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct paths_options popts = { 0 };
	enum action action = SERVE;
	const char *scratch = NULL;
	int actions = 0, json = 0, opt;

	optind = 0;	/* full reset: tests call us more than once */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
		switch (opt) {
		case 'c': action = CHECK; actions++; break;
		case 'r': action = REHEARSE; actions++; break;
		case 'S': scratch = optarg; break;
		case 'm': action = MIGRATE; actions++; break;
		case 'l': action = LIST; actions++; break;
		case 'V': action = VERSION; actions++; break;
		case 'h': action = HELP; actions++; break;
		case 'j': json = 1; break;
		case 's': popts.system = true; break;
		case 'd': popts.state_dir = optarg; break;
		case 'b': popts.db = optarg; break;
		case 'k': popts.socket = optarg; break;
		default: {
			char why[256];
			snprintf(why, sizeof(why), "%s: '%s'",
				 opt == ':' ? "missing argument" : "unknown option", argv[optind - 1]);
			return usage_error(errout, why);
		}
		}
	}
	if (optind < argc)
		return usage_error(errout, "unexpected argument");
	if (actions > 1)
		return usage_error(errout, "one action at most: --check-migrations, "
				   "--rehearse-migrations, --migrate, --list-migrations, --version "
				   "or --help");
	if (json && action != CHECK && action != REHEARSE)
		return usage_error(errout, "--json goes with --check-migrations or --rehearse-migrations");
	if ((action == REHEARSE) != (scratch != NULL))
		return usage_error(errout, "--rehearse-migrations and --scratch DIR go together");
	if (scratch && !scratch[0])
		return usage_error(errout, "--scratch: an empty path");
	if (popts.state_dir && popts.db)
		return usage_error(errout, "--state-dir and --db exclude each other");
	if (popts.state_dir && !popts.state_dir[0])
		return usage_error(errout, "--state-dir: an empty path");
	if (popts.db && !popts.db[0])
		return usage_error(errout, "--db: an empty path");
	if (popts.socket && !popts.socket[0])
		return usage_error(errout, "--socket: an empty path");

	switch (action) {
	case VERSION: fprintf(out, "%s\n", BANGER_VERSION); return 0;
	case HELP: fputs(usage, out); fputs(help, out); return 0;
	case LIST: return daemon_list_migrations(out);
	default: break;
	}
	struct banger_paths paths;
	struct banger_error err = { 0 };
	if (paths_resolve(&popts, &paths, &err) != 0) {
		fprintf(errout, "bangerd: %s\n", err.msg);
		return DAEMON_EXIT_USAGE;
	}
	if (action == CHECK && popts.db && db_dir_missing(paths.db, errout))
		return DAEMON_EXIT_CANNOT_INSPECT;
	if (action == CHECK)
		return daemon_check_migrations(paths.db, json, out, errout);
	if (action == REHEARSE)
		return daemon_rehearse_migrations(paths.db, scratch, json, out, errout);
	if (action == MIGRATE)
		return daemon_migrate(paths.db, out, errout);
	return daemon_serve(&paths, errout);
}

#ifndef BANGER_NO_MAIN
int main(int argc, char *argv[])
{
	return bangerd_main(argc, argv, stdout, stderr);
}
#endif
