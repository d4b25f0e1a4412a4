/* error.h - one error value that carries a machine code and a human reason.
 *
 * Library functions return 0 or a negative errno (or an enum whose values
 * are positive, so never mistaken for one) and, when they fail, fill a
 * struct banger_error with the detail only they know: the path, the step,
 * SQLite's extended code (in a field of its own). The command-line edge prints
 * err.msg once, prefixed with the program name.
 */
#ifndef BANGER_ERROR_H
#define BANGER_ERROR_H

#include <stddef.h>

struct banger_error {
	int code;	/* 0 or a negative errno, never anything else */
	int sqlite;	/* SQLite's extended result code when SQLite refused, else 0 */
	char msg[512];	/* one line, no trailing newline */
};

/* Fill err (when not NULL) with code, no SQLite code, and a
 * printf-formatted message. Returns code, so that callers can write
 * `return banger_error_set(...)`. */
int banger_error_set(struct banger_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reset err to "no error". */
void banger_error_clear(struct banger_error *err);

#endif
