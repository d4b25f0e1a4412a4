/* libFuzzer harness for the parser of the child's verdict line: any bytes
 * in, a state or a refusal out; an accepted line must print back as itself
 * (the parser accepts exactly what schema_report_print writes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "banger/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	enum schema_state state;
	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (schema_line_parse(line, &state) == 0 &&
	    state != SCHEMA_COMPATIBLE && state != SCHEMA_MIGRATIONS_NEEDED &&
	    state != SCHEMA_INCOMPATIBLE)
		__builtin_trap();
	free(line);
	return 0;
}
