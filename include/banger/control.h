/* control.h - bangerd's control socket protocol, both ends.
 *
 * A Unix stream socket; one request line, one response line, then the
 * server closes. Lines are JSON objects of at most CONTROL_LINE_MAX bytes:
 *   request   {"cmd":"status"}
 *   response  {"version":"0.1.0","pid":123,"uptime_s":5,
 *              "schema":{"state":"compatible","applied":[1,2,3],...}}
 *   error     {"error":"unknown command"}
 */
#ifndef BANGER_CONTROL_H
#define BANGER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "banger/error.h"

#define CONTROL_LINE_MAX 4096

struct control_status {
	char version[64];
	long pid;
	long uptime_s;
	char schema_state[32];	/* "compatible", "migrations_needed", "incompatible" */
	char raw[CONTROL_LINE_MAX];	/* the whole response line */
};

/* Server side: the command named by a request line of len bytes (its LF
 * may be there or not), or NULL when the line is not exactly one JSON
 * object (RFC 8259: valid UTF-8, no NUL, JSON numbers only; space, tab,
 * CR and LF as whitespace) with a string "cmd" that fits in name. */
const char *control_request_command(const char *line, size_t len, char *name, size_t size);

/* Client side: ask the daemon at socket for its status, waiting at most
 * timeout_ms in all (connect, send, receive). A connection refused (no
 * listener this instant, a full backlog) or closed without an answer (a
 * busy daemon evicted it) is tried again, with short pauses, within the
 * same timeout. Returns 0, or a negative errno with err saying what
 * happened last (no socket file, nothing listens, no answer in time, an
 * answer that does not parse). */
int control_status(const char *socket, unsigned timeout_ms, struct control_status *out,
		   struct banger_error *err);

/* Parse a status response line of len bytes, read as the server's
 * request is; 0 or -EINVAL. */
int control_parse_status(const char *line, size_t len, struct control_status *out);

#endif
