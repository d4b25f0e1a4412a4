/* banger: argument parsing only; each command is one library call. */
#define _GNU_SOURCE
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banger/cli.h"
#include "banger/control.h"
#include "banger/paths.h"
#include "banger/sandbox.h"
#include "banger/update.h"
#include "banger_config.h"

static const char usage[] =
	"usage: banger status [--system] [--socket PATH] [--json]\n"
	"       banger update --from PATH [--sha256 HEX] [--minisig FILE --pubkey KEY]\n"
	"                     [--target PATH] [--system] [--state-dir DIR | --db PATH] [--socket PATH]\n"
	"                     [--check-only] [--no-restart | --restart-cmd CMD]\n"
	"                     [--timeout SECONDS] [--json]\n"
	"       banger update --recover [same location options]\n"
	"       banger policy check FILE | banger policy show FILE\n"
	"       banger --version | --help\n";

static int usage_error(FILE *errout, const char *why)
{
	fprintf(errout, "banger: %s\n%s", why, usage);
	return UPDATE_EXIT_USAGE;
}

static int policy_command(int argc, char *argv[], FILE *out, FILE *errout)
{
	if (argc != 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "show") != 0))
		return usage_error(errout, "policy takes 'check FILE' or 'show FILE'");
	struct sandbox_policy *p;
	struct banger_error err = { 0 };
	if (policy_load(argv[2], &p, &err) != 0) {
		fprintf(errout, "%s\n", err.msg);
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

static int status_command(int argc, char *argv[], FILE *out, FILE *errout)
{
	static const struct option options[] = {
		{ "system", no_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'k' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	struct paths_options popts = { 0 };
	int json = 0, opt;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
		switch (opt) {
		case 's': popts.system = true; break;
		case 'k': popts.socket = optarg; break;
		case 'd': popts.state_dir = optarg; break;
		case 'j': json = 1; break;
		default: return usage_error(errout, "status: unknown option or missing argument");
		}
	}
	if (optind < argc)
		return usage_error(errout, "status: unexpected argument");
	struct banger_paths paths;
	struct banger_error err = { 0 };
	struct control_status st;
	if (paths_resolve(&popts, &paths, &err) != 0) {
		fprintf(errout, "banger: %s\n", err.msg);
		return UPDATE_EXIT_USAGE;
	}
	if (control_status(paths.socket, 3000, &st, &err) != 0) {
		fprintf(errout, "banger: status: %s\n", err.msg);
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
		{ "json", no_argument, NULL, 'j' },
		{ "recover", no_argument, NULL, 'R' },
		{ 0 },
	};
	struct paths_options popts = { 0 };
	struct check_options copts = { 0 };
	const char *sha256 = NULL, *minisig = NULL, *pubkey = NULL, *restart_cmd = NULL;
	int check_only = 0, no_restart = 0, recover = 0, opt;
	char target[PATH_MAX];

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
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
		case 'R': recover = 1; break;
		case 'T': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 1 || v > 3600)
				return usage_error(errout, "--timeout takes whole seconds from 1 to 3600");
			copts.timeout_s = (unsigned)v;
			break;
		}
		default: {
			char why[256];
			snprintf(why, sizeof(why), "update: %s: '%s'",
				 opt == ':' ? "missing argument" : "unknown option", argv[optind - 1]);
			return usage_error(errout, why);
		}
		}
	}
	if (optind < argc)
		return usage_error(errout, "update: unexpected argument");
	if (popts.state_dir && popts.db)
		return usage_error(errout, "update: --state-dir and --db exclude each other");
	if (no_restart && restart_cmd)
		return usage_error(errout, "update: --no-restart and --restart-cmd exclude each other");
	if (!minisig != !pubkey)
		return usage_error(errout, "update: --minisig and --pubkey go together");
	if (recover && (copts.from || check_only))
		return usage_error(errout, "update: --recover takes only location options");
	if (!recover && !copts.from)
		return usage_error(errout, "update: --from PATH is required");
	if (sha256 && !update_sha256_hex_valid(sha256))
		return usage_error(errout, "update: --sha256 wants 64 hex digits");
	if (restart_cmd && (restart_cmd[0] == '\0' || strchr(restart_cmd, '\n')))
		return usage_error(errout, "update: --restart-cmd wants one line of shell");
	if (check_only && (no_restart || restart_cmd))
		return usage_error(errout, "update: --check-only restarts nothing");
	copts.sha256 = sha256;
	copts.minisig = minisig;
	copts.pubkey = pubkey;
	if (!copts.target) {
		if (default_target(target, sizeof(target)) != 0) {
			fprintf(errout, "banger: cannot find the bangerd beside banger: pass --target\n");
			return UPDATE_EXIT_USAGE;
		}
		copts.target = target;
	}
	struct banger_paths paths;
	struct banger_error err = { 0 };
	if (paths_resolve(&popts, &paths, &err) != 0) {
		fprintf(errout, "banger: %s\n", err.msg);
		return UPDATE_EXIT_USAGE;
	}
	copts.db = paths.db;
	copts.state_dir = paths.state_dir;
	if (check_only)
		return update_check_only(&copts, out, errout);
	struct update_options uopts = {
		.from = copts.from, .sha256 = sha256, .minisig = minisig, .pubkey = pubkey,
		.target = copts.target, .state_dir = paths.state_dir, .db = paths.db,
		.socket = paths.socket, .restart_cmd = restart_cmd, .no_restart = no_restart,
		.system = popts.system, .timeout_s = copts.timeout_s ? copts.timeout_s : 30, .json = copts.json,
	};
	return recover ? update_recover(&uopts, out, errout) : update_run(&uopts, out, errout);
}

int banger_main(int argc, char *argv[], FILE *out, FILE *errout)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		fprintf(out, "%s\n", BANGER_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage, out);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "policy") == 0)
		return policy_command(argc - 1, argv + 1, out, errout);
	if (argc >= 2 && strcmp(argv[1], "update") == 0)
		return update_command(argc - 1, argv + 1, out, errout);
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return status_command(argc - 1, argv + 1, out, errout);
	return usage_error(errout, argc < 2 ? "a command is required" : "unknown command");
}

#ifndef BANGER_NO_MAIN
int main(int argc, char *argv[])
{
	return banger_main(argc, argv, stdout, stderr);
}
#endif
