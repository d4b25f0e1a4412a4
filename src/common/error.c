#include "banger/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int banger_error_set(struct banger_error *err, int code, const char *fmt, ...)
{
	if (err == NULL)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* A message is one line: a newline from a path or from SQLite would let
	 * a crafted name forge a second line in the operator's log. */
	for (char *p = err->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	err->code = code;
	err->sqlite = 0;
	return code;
}

void banger_error_clear(struct banger_error *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->sqlite = 0;
	err->msg[0] = '\0';
}
