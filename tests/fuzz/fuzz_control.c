/* libFuzzer harness for the control protocol's reader, both ends: a
 * request line as the daemon reads it, a status answer as banger reads it
 * (a daemon that answers garbage must get an error, never a crash). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "banger/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1), name[32];
	struct control_status st;
	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	const char *cmd = control_request_command(line, name, sizeof(name));
	if (cmd != NULL && strlen(cmd) >= sizeof(name))
		__builtin_trap();
	if (control_parse_status(line, &st) == 0 && st.pid <= 0)
		__builtin_trap();
	free(line);
	return 0;
}
