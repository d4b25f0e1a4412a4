/* cli.h - the two programs' entry points, callable in-process by tests.
 * Each parses argv, runs one action and returns the exit code; only the
 * real main() hands it to exit. getopt state is reset on every call. */
#ifndef BANGER_CLI_H
#define BANGER_CLI_H

#include <stdio.h>

int bangerd_main(int argc, char *argv[], FILE *out, FILE *errout);
int banger_main(int argc, char *argv[], FILE *out, FILE *errout);

#endif
