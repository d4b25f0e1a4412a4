/* package_owner: banger's package question (update_package_owner, the
 * code banger update runs) asked from the command line, so that a test can
 * compare its answers with dpkg-query -S and make bench can time it.
 *
 *   package_owner PATH...   one line per PATH: the package whose file it
 *                           is, or "-" when none
 *   package_owner -         the same for each line of stdin (a path a
 *                           line: a newline cannot be asked this way)
 *
 * Exit 0, or 1 when a question could not be answered (the reason on
 * stderr), 64 on a bad command line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/update/internal.h"

static int ask(const char *path)
{
	char pkg[256];
	struct banger_error err = { 0 };
	if (update_package_owner(path, pkg, sizeof(pkg), &err) != 0) {
		fprintf(stderr, "package_owner: %s\n", err.msg);
		return 1;
	}
	printf("%s\n", pkg[0] ? pkg : "-");
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: package_owner PATH... | package_owner -\n");
		return 64;
	}
	if (argc == 2 && strcmp(argv[1], "-") == 0) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, stdin)) > 0) {
			if (line[n - 1] == '\n')
				line[n - 1] = '\0';
			failed |= ask(line);
		}
		free(line);
		return failed;
	}
	for (int i = 1; i < argc; i++)
		failed |= ask(argv[i]);
	return failed;
}
