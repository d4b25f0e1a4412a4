/* banger: the operator's command. Argument parsing only. */
#include <stdio.h>
#include <string.h>

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

int main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s\n", BANGER_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "status") == 0 || strcmp(argv[1], "update") == 0 ||
			  strcmp(argv[1], "policy") == 0)) {
		fprintf(stderr, "banger: '%s' is not available in this build yet\n", argv[1]);
		return 69;
	}
	fputs(usage, stderr);
	return 64;
}
