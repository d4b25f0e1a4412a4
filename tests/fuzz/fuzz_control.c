/* libFuzzer harness for the control protocol's reader, both ends: a
 * request line as the daemon reads it, a status answer as banger reads it
 * (a daemon that answers garbage must get an error, never a crash). The
 * bytes are passed with their length, as both ends read them: a NUL in
 * them is data (not JSON), not the end of the line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "banger/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: ASan sees any read past them. */
	char *line = malloc(size ? size : 1), name[32];
	struct control_status st;
	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	const char *cmd = control_request_command(line, size, name, sizeof(name));
	if (cmd != NULL && (strlen(cmd) >= sizeof(name) || memchr(line, '\0', size) != NULL))
		__builtin_trap();	/* a NUL is never JSON */
	if (control_parse_status(line, size, &st) == 0 && st.pid <= 0)
		__builtin_trap();
	free(line);
	return 0;
}
