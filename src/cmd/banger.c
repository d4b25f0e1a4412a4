/* banger: argument parsing only; each command is one library call. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banger/cli.h"
#include "banger/control.h"
#include "banger/paths.h"
#include "banger/sandbox.h"
#include "banger/update.h"
#include "banger_config.h"

/* The synopses are docs/CONTRACT.md's, wrapped at 80 columns (status also names
 * --state-dir, which it takes as every command does); each command's --help
 * adds a line or two per option with its default. tests/integration/
 * docs.bats checks that every option listed here is accepted and that the
 * bash completion offers exactly these. */
#define STATUS_SYNOPSIS "banger status [--system] [--state-dir DIR] [--socket PATH] [--json]\n"
#define UPDATE_SYNOPSIS \
	"banger update --from PATH [--sha256 HEX] [--minisig FILE --pubkey KEY]\n" \
	"                     [--target PATH] [--system] [--state-dir DIR | --db PATH]\n" \
	"                     [--socket PATH] [--check-only]\n" \
	"                     [--no-restart | --restart-cmd CMD]\n" \
	"                     [--no-rehearse] [--rehearse-max-mb N]\n" \
	"                     [--timeout SECONDS] [--json]\n" \
	"       banger update --recover [same location options]\n"
#define POLICY_SYNOPSIS "banger policy check FILE | banger policy show FILE\n"

/* The state dir, database and socket rules of paths.h, as the help says them. */
#define LOCATION_HELP \
	"  --system            system paths: /var/lib/banger, /run/banger/bangerd.sock\n" \
	"  --state-dir DIR     the state directory (default: $BANGER_STATE_DIR, else\n" \
	"                      $XDG_STATE_HOME/banger, else ~/.local/state/banger)\n"
#define SOCKET_HELP \
	"  --socket PATH       the control socket (default: DIR/bangerd.sock, or\n" \
	"                      $XDG_RUNTIME_DIR/banger/bangerd.sock when that is set)\n"

static const char usage[] =
	"usage: " STATUS_SYNOPSIS
	"       " UPDATE_SYNOPSIS
	"       " POLICY_SYNOPSIS
	"       banger help [COMMAND]\n"
	"       banger --version | --help\n";

static const char help[] =
	"\n"
	"Replaces bangerd with a new build only when the build is verified and its\n"
	"own check says it can open the live database; asks bangerd how it is.\n"
	"\n"
	"  status              ask the running bangerd for its version, pid and schema\n"
	"  update              check a new bangerd in a sandbox, then swap it in, restart\n"
	"                      and confirm it, or roll back\n"
	"  policy              check or show a seccomp policy file\n"
	"  help [COMMAND]      print this help, or COMMAND's options\n"
	"  --version           print the version\n"
	"  --help              print this help\n"
	"\n"
	"'banger COMMAND --help' lists COMMAND's options. See banger(1).\n";

static const char status_usage[] = "usage: " STATUS_SYNOPSIS;
static const char status_help[] =
	"\n"
	"Ask the running bangerd for its version, pid, uptime and schema state. When\n"
	"nothing answers within 3 seconds: one line on stderr saying why, exit 1.\n"
	"\n"
	LOCATION_HELP
	SOCKET_HELP
	"  --json              print the daemon's answer as one JSON object\n"
	"  --help              print this help\n"
	"\n"
	"See banger(1).\n";

static const char update_usage[] = "usage: " UPDATE_SYNOPSIS;
static const char update_help[] =
	"\n"
	"Replace bangerd with a new build: stage a copy beside the target, verify it,\n"
	"run its --check-migrations in a sandbox against the live database, and only\n"
	"when that says compatible or migrations needed, back up the database, swap,\n"
	"restart and confirm the new daemon's health; else roll back.\n"
	"\n"
	"  --from PATH         the new bangerd (required, except with --recover)\n"
	"  --sha256 HEX        refuse unless the staged copy has this SHA-256\n"
	"                      (default: no checksum)\n"
	"  --minisig FILE      refuse unless FILE is a minisign signature of the staged\n"
	"                      copy by --pubkey (default: no signature)\n"
	"  --pubkey KEY        the minisign public key: a .pub file or the key itself\n"
	"  --target PATH       the bangerd to replace (default: the one beside banger)\n"
	LOCATION_HELP
	"  --db PATH           the database (default: DIR/banger.db)\n"
	SOCKET_HELP
	"  --check-only        stop after the check (and the rehearsal), changing nothing:\n"
	"                      exit 0 compatible, 1 migrations needed, 2 incompatible,\n"
	"                      7 a migration fails on a copy of the database\n"
	"  --no-rehearse       when migrations are needed, do not first apply them to a\n"
	"                      copy of the live database in the sandbox (default: do)\n"
	"  --rehearse-max-mb N rehearse a database of at most N MB (default: 1024)\n"
	"  --no-restart        restart nothing after the swap (default: systemctl restart\n"
	"                      bangerd.service when systemd runs it, else nothing)\n"
	"  --restart-cmd CMD   restart with /bin/sh -c CMD instead\n"
	"  --timeout SECONDS   limit for the restart and the health check, each,\n"
	"                      1 to 3600 (default: 30); the check has its own 4 s\n"
	"  --json              print one result object on stdout\n"
	"  --recover           finish or undo an interrupted update, then stop\n"
	"  --help              print this help\n"
	"\n"
	"Exit: 0 updated (--check-only: compatible), 1 migrations needed, 2 refused:\n"
	"incompatible, 3 the check failed, 4 verification failed, 5 rolled back,\n"
	"6 rollback failed (the message says what to do), 7 refused: the migrations\n"
	"fail on a copy of the live database, 64 bad command line, 75 another update\n"
	"runs. See banger-update(8).\n";

static const char policy_usage[] = "usage: " POLICY_SYNOPSIS;
static const char policy_help[] =
	"\n"
	"Read a seccomp policy written in banger-policy(5)'s language.\n"
	"\n"
	"  check FILE          parse and compile FILE: print \"FILE: ok\", or\n"
	"                      \"FILE:LINE: what is wrong\" on stderr and exit 1\n"
	"  show FILE           print the compiled filter as libseccomp's pseudo code\n"
	"  --help              print this help\n"
	"\n"
	"See banger-policy(5).\n";

struct command {
	const char *name;
	const char *usage, *help;
	int (*run)(int argc, char *argv[], FILE *out, FILE *errout);
};

static const struct command *command_find(const char *name);

/* A bad command line: what is wrong on one line, the command's synopsis,
 * and where the rest is; exit 64. cmd NULL: banger itself. */
static int usage_error(const char *cmd, FILE *errout, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int usage_error(const char *cmd, FILE *errout, const char *fmt, ...)
{
	const struct command *c = cmd ? command_find(cmd) : NULL;
	va_list ap;
	va_start(ap, fmt);
	if (c)
		fprintf(errout, "banger: %s: ", cmd);
	else
		fputs("banger: ", errout);
	vfprintf(errout, fmt, ap);
	va_end(ap);
	fprintf(errout, "\n%s", c ? c->usage : usage);
	if (c)
		fprintf(errout, "'banger %s --help' lists every option.\n", cmd);
	else
		fputs("'banger --help' lists the commands.\n", errout);
	return UPDATE_EXIT_USAGE;
}

/* An unknown option or one without its argument, as getopt left it. */
static int option_error(const char *cmd, int opt, char *argv[], FILE *errout)
{
	const char *arg = argv[optind - 1];
	if (opt == ':')
		return usage_error(cmd, errout, "%s needs an argument", arg);
	return usage_error(cmd, errout, "unknown option '%.64s'", arg);
}

static int print_help(const char *usage_text, const char *help_text, FILE *out)
{
	fputs(usage_text, out);
	fputs(help_text, out);
	return 0;
}

/* "--help" anywhere: a policy file of that name is ./--help. */
static int policy_command(int argc, char *argv[], FILE *out, FILE *errout)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0)
			return print_help(policy_usage, policy_help, out);
	if (argc < 2)
		return usage_error("policy", errout, "a subcommand is required: check FILE or show FILE");
	if (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "show") != 0)
		return usage_error("policy", errout, "unknown subcommand '%.64s'", argv[1]);
	if (argc != 3)
		return usage_error("policy", errout, "%s takes one FILE", argv[1]);
	struct sandbox_policy *p;
	struct banger_error err = { 0 };
	/* "banger: FILE:LINE: reason": the program first, as every other
	 * message of banger's (and a compiler's driver) says it. */
	if (policy_load(argv[2], &p, &err) != 0) {
		fprintf(errout, "banger: %s\n", err.msg);
		return 1;
	}
	int rc = 0;
	if (strcmp(argv[1], "check") == 0) {
		fprintf(out, "%s: ok\n", argv[2]);
	} else {
		fflush(out);
		if (policy_export_pfc(p, fileno(out), &err) != 0) {
			fprintf(errout, "banger: %s\n", err.msg);
			rc = 1;
		}
	}
	policy_free(p);
	return rc;
}

/* A path option's argument: an empty one would quietly mean "here". */
static int empty_path(const struct option *options, int index, const char *arg)
{
	return arg != NULL && arg[0] == '\0' && options[index].has_arg == required_argument;
}

static int status_command(int argc, char *argv[], FILE *out, FILE *errout)
{
	static const struct option options[] = {
		{ "system", no_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct paths_options popts = { 0 };
	int json = 0, opt, index = 0;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:", options, &index)) != -1) {
		if (opt != '?' && opt != ':' && empty_path(options, index, optarg))
			return usage_error("status", errout, "--%s: an empty path", options[index].name);
		switch (opt) {
		case 's': popts.system = true; break;
		case 'd': popts.state_dir = optarg; break;
		case 'k': popts.socket = optarg; break;
		case 'j': json = 1; break;
		case 'h': return print_help(status_usage, status_help, out);
		default: return option_error("status", opt, argv, errout);
		}
	}
	if (optind < argc)
		return usage_error("status", errout, "unexpected argument '%.64s'", argv[optind]);
	struct banger_paths paths;
	struct banger_error err = { 0 };
	struct control_status st;
	if (paths_resolve(&popts, &paths, &err) != 0) {
		fprintf(errout, "banger: status: %s\n", err.msg);
		return UPDATE_EXIT_USAGE;
	}
	if (control_status(paths.socket, 3000, &st, &err) != 0) {
		/* No daemon there: the socket may be the wrong one. Refused: it
		 * is someone else's (the system one is root's, in a 0700
		 * directory), and the user should hear whose and what to run. */
		const char *hint = "";
		if (err.code == -ENOENT || err.code == -ECONNREFUSED)
			hint = "; start bangerd, or point --socket (or --system) at the one that runs";
		else if ((err.code == -EACCES || err.code == -EPERM) && popts.system && geteuid() != 0)
			hint = "; the system daemon's socket is root's: run 'sudo banger status --system'";
		else if (err.code == -EACCES || err.code == -EPERM)
			hint = "; the socket belongs to another user: run banger as that user";
		fprintf(errout, "banger: status: %s%s\n", err.msg, hint);
		return 1;
	}
	if (json)
		fprintf(out, "%s\n", st.raw);
	else
		fprintf(out, "bangerd %s, pid %ld, up %lds, schema %s\n", st.version, st.pid, st.uptime_s,
			st.schema_state);
	return 0;
}

/* The bangerd beside this banger. */
static int default_target(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	return snprintf(buf, size, "%s/bangerd", dirname(exe)) < (int)size ? 0 : -1;
}

static int update_command(int argc, char *argv[], FILE *out, FILE *errout)
{
	static const struct option options[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "sha256", required_argument, NULL, 'H' },
		{ "minisig", required_argument, NULL, 'M' },
		{ "pubkey", required_argument, NULL, 'P' },
		{ "target", required_argument, NULL, 't' },
		{ "system", no_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "db", required_argument, NULL, 'b' },
		{ "socket", required_argument, NULL, 'k' },
		{ "check-only", no_argument, NULL, 'c' },
		{ "no-restart", no_argument, NULL, 'n' },
		{ "restart-cmd", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "no-rehearse", no_argument, NULL, 'N' },
		{ "rehearse-max-mb", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "recover", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct paths_options popts = { 0 };
	struct update_options copts = { 0 };
	const char *sha256 = NULL, *minisig = NULL, *pubkey = NULL, *restart_cmd = NULL;
	int check_only = 0, no_restart = 0, recover = 0, opt, index = 0;
	char target[PATH_MAX];

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:", options, &index)) != -1) {
		/* --sha256, --pubkey and --restart-cmd are not paths, but empty
		 * is wrong for them too. */
		if (opt != '?' && opt != ':' && empty_path(options, index, optarg))
			return usage_error("update", errout, "--%s: an empty argument", options[index].name);
		switch (opt) {
		case 'f': copts.from = optarg; break;
		case 'H': sha256 = optarg; break;
		case 'M': minisig = optarg; break;
		case 'P': pubkey = optarg; break;
		case 't': copts.target = optarg; break;
		case 's': popts.system = true; break;
		case 'd': popts.state_dir = optarg; break;
		case 'b': popts.db = optarg; break;
		case 'k': popts.socket = optarg; break;
		case 'c': check_only = 1; break;
		case 'n': no_restart = 1; break;
		case 'r': restart_cmd = optarg; break;
		case 'j': copts.json = true; break;
		case 'N': copts.no_rehearse = true; break;
		case 'R': recover = 1; break;
		case 'm': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 1048576)
				return usage_error("update", errout,
						   "--rehearse-max-mb '%.64s': not whole megabytes from 1 "
						   "to 1048576", optarg);
			copts.rehearse_max_mb = (unsigned)v;
			break;
		}
		case 'h': return print_help(update_usage, update_help, out);
		case 'T': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 3600)
				return usage_error("update", errout,
						   "--timeout '%.64s': not whole seconds from 1 to 3600", optarg);
			copts.timeout_s = (unsigned)v;
			break;
		}
		default: return option_error("update", opt, argv, errout);
		}
	}
	if (optind < argc)
		return usage_error("update", errout, "unexpected argument '%.64s'", argv[optind]);
	if (popts.state_dir && popts.db)
		return usage_error("update", errout, "--state-dir and --db exclude each other");
	if (no_restart && restart_cmd)
		return usage_error("update", errout, "--no-restart and --restart-cmd exclude each other");
	if (!minisig != !pubkey)
		return usage_error("update", errout, "--minisig and --pubkey go together");
	if (recover && (copts.from || check_only))
		return usage_error("update", errout, "--recover takes only location options");
	if (!recover && !copts.from)
		return usage_error("update", errout, "--from PATH is required: the new bangerd");
	if (sha256 && !update_sha256_hex_valid(sha256))
		return usage_error("update", errout, "--sha256 '%.64s': not 64 hex digits", sha256);
	if (restart_cmd && strchr(restart_cmd, '\n'))
		return usage_error("update", errout, "--restart-cmd: more than one line of shell");
	if (check_only && (no_restart || restart_cmd))
		return usage_error("update", errout, "--check-only restarts nothing: drop %s",
				   no_restart ? "--no-restart" : "--restart-cmd");
	copts.sha256 = sha256;
	copts.minisig = minisig;
	copts.pubkey = pubkey;
	if (!copts.target) {
		if (default_target(target, sizeof(target)) != 0) {
			fprintf(errout, "banger: update: cannot find the bangerd beside banger: pass --target\n");
			return UPDATE_EXIT_USAGE;
		}
		copts.target = target;
	}
	struct banger_paths paths;
	struct banger_error err = { 0 };
	if (paths_resolve(&popts, &paths, &err) != 0) {
		fprintf(errout, "banger: update: %s\n", err.msg);
		return UPDATE_EXIT_USAGE;
	}
	copts.db = paths.db;
	copts.state_dir = paths.state_dir;
	copts.socket = paths.socket;
	copts.restart_cmd = restart_cmd;
	copts.no_restart = no_restart;
	copts.system = popts.system;
	if (copts.timeout_s == 0)
		copts.timeout_s = 30;
	if (check_only)
		return update_check_only(&copts, out, errout);
	/* A --db whose directory does not exist is a wrong path (a typo), not
	 * a fresh install: refused before the lock and the check, which would
	 * find no file and call it fresh. (A default state directory that
	 * does not exist yet is a first install.) */
	char db_abs[PATH_MAX], db_dir[PATH_MAX];
	if (!recover && popts.db &&
	    paths_resolve_db(paths.db, db_abs, sizeof(db_abs), db_dir, sizeof(db_dir), &err) != 0) {
		fprintf(errout, "banger: update refused: %s\n", err.msg);
		return UPDATE_EXIT_CHECK_FAILED;
	}
	return recover ? update_recover(&copts, out, errout) : update_run(&copts, out, errout);
}

static int help_command(int argc, char *argv[], FILE *out, FILE *errout);

static const struct command commands[] = {
	{ "status", status_usage, status_help, status_command },
	{ "update", update_usage, update_help, update_command },
	{ "policy", policy_usage, policy_help, policy_command },
	{ "help", usage, help, help_command },
};

static const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* banger help [COMMAND] */
static int help_command(int argc, char *argv[], FILE *out, FILE *errout)
{
	if (argc > 2)
		return usage_error(NULL, errout, "help takes one COMMAND");
	if (argc < 2)
		return print_help(usage, help, out);
	const struct command *c = command_find(argv[1]);
	if (c == NULL)
		return usage_error(NULL, errout, "help: unknown command '%.64s'", argv[1]);
	return print_help(c->usage, c->help, out);
}

int banger_main(int argc, char *argv[], FILE *out, FILE *errout)
{
	if (argc < 2)
		return usage_error(NULL, errout, "a command is required");
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "--help") == 0) {
		if (argc > 2)
			return usage_error(NULL, errout, "%s takes no argument", argv[1]);
		if (argv[1][2] == 'h')
			return print_help(usage, help, out);
		fprintf(out, "%s\n", BANGER_VERSION);
		return 0;
	}
	const struct command *c = command_find(argv[1]);
	if (c == NULL)
		return usage_error(NULL, errout, "unknown command '%.64s'", argv[1]);
	return c->run(argc - 1, argv + 1, out, errout);
}

#ifndef BANGER_NO_MAIN
int main(int argc, char *argv[])
{
	return banger_main(argc, argv, stdout, stderr);
}
#endif
