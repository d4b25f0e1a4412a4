/* libFuzzer harness for the schema classification on arbitrary database
 * bytes: the bytes become a file, schema_classify reads it, and must
 * either classify or say why not - and never change the file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128];
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/banger-fuzz.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	snprintf(path, sizeof(path), "%s/banger.db", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	struct migration_set known = store_known_migrations();
	struct schema_report r;
	struct banger_error err = { 0 };
	if (schema_classify(path, &known, &r, &err) == 0)
		schema_report_free(&r);
	else if (err.msg[0] == '\0')
		__builtin_trap();	/* a refusal always says why */
	/* Nothing but the file we wrote, with the bytes we wrote. */
	struct stat st;
	char side[160];
	if (stat(path, &st) != 0 || (size_t)st.st_size != size)
		__builtin_trap();
	for (const char *const *s = (const char *const[]){ "-wal", "-shm", "-journal", NULL }; *s; s++) {
		snprintf(side, sizeof(side), "%s%s", path, *s);
		if (access(side, F_OK) == 0)
			__builtin_trap();
	}
	return 0;
}
