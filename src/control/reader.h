/* reader.h - the control protocol's JSON reader (src/control only).
 *
 * Exactly JSON (RFC 8259), on a buffer with its length: whitespace is
 * space, tab, LF and CR; strings are valid UTF-8 without raw control bytes
 * and with only the escapes of section 7; numbers follow section 6's
 * grammar (no hex, no NaN, no leading zeros); true, false, null. A NUL
 * byte anywhere is not JSON. Objects and arrays nest at most
 * CONTROL_JSON_DEPTH deep (section 9 lets a parser set that limit).
 */
#ifndef BANGER_CONTROL_READER_H
#define BANGER_CONTROL_READER_H

#include <stddef.h>

#define CONTROL_JSON_DEPTH 8

/* The value at key (or at key.sub when sub is not NULL) of the one JSON
 * object that text[0..len) holds, optionally followed by one LF: a
 * string's decoded UTF-8 (a \u0000 becomes U+FFFD, so that the copy stays
 * a C string), or a number's or literal's text, copied into out. Returns
 * 1 found, 0 not there (or longer than out: a value cut short would
 * compare equal to what it is not), -1 the text is not exactly one JSON
 * object. */
int control_json_get(const char *text, size_t len, const char *key, const char *sub, char *out,
		     size_t size);

#endif
