/* json.h - the one JSON string writer for every --json that banger and
 * bangerd print.
 *
 * A string in a result object may come from anywhere: a path the operator
 * typed, a line a staged binary printed, the version a daemon answered.
 * Whatever its bytes, what is written is one valid JSON string: '"' and
 * '\' escaped, every control byte as \u00XX, and a byte that is not part
 * of valid UTF-8 as U+FFFD, so that a consumer (jq, a fleet's tooling)
 * parses the object and reads the keys the writer meant. */
#ifndef BANGER_JSON_H
#define BANGER_JSON_H

#include <stdio.h>

/* Write s (NULL: "") to out as a quoted JSON string. */
void banger_json_string(FILE *out, const char *s);

/* Write ,"key":"value" (value escaped as above). */
void banger_json_field(FILE *out, const char *key, const char *value);

#endif
