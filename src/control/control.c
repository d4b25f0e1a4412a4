/* The control protocol: a small JSON reader for the two messages we
 * exchange, and the client. The reader walks the whole line and accepts
 * only well-formed JSON (objects, arrays, strings without escapes beyond
 * \" \\ \/ and \uXXXX, numbers, true/false/null), so that a daemon that
 * answers garbage gets a clear error, never a half-read value. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "banger/clock.h"
#include "banger/control.h"

struct reader {
	const char *p;
	int depth;
	/* what we want: the string or number at a path of keys */
	const char *want[2];
	int want_len;
	char *out;
	size_t out_size;
	int found;
	const char *path[8];
};

static void skip_ws(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\t')
		r->p++;
}

static int parse_value(struct reader *r);

/* A string; copies it into buf (when not NULL) without its quotes. */
static int parse_string(struct reader *r, char *buf, size_t size)
{
	size_t n = 0;
	if (*r->p++ != '"')
		return -1;
	while (*r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			c = (unsigned char)*r->p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++, r->p++)
					if (!strchr("0123456789abcdefABCDEF", *r->p) || !*r->p)
						return -1;
				c = '?';
			} else if (c != '"' && c != '\\' && c != '/') {
				return -1;
			}
		}
		if (buf && n + 1 < size)
			buf[n++] = (char)c;
	}
	r->p++;
	if (buf)
		buf[n] = '\0';
	return 0;
}

static int path_matches(struct reader *r)
{
	if (r->depth != r->want_len)
		return 0;
	for (int i = 0; i < r->want_len; i++)
		if (strcmp(r->path[i], r->want[i]) != 0)
			return 0;
	return 1;
}

static int parse_object(struct reader *r)
{
	char key[64];
	r->p++;
	skip_ws(r);
	if (*r->p == '}') {
		r->p++;
		return 0;
	}
	if (r->depth >= 7)
		return -1;
	for (;;) {
		skip_ws(r);
		if (parse_string(r, key, sizeof(key)) != 0)
			return -1;
		skip_ws(r);
		if (*r->p++ != ':')
			return -1;
		skip_ws(r);
		r->path[r->depth++] = key;
		int rc = parse_value(r);
		r->depth--;
		if (rc != 0)
			return -1;
		skip_ws(r);
		if (*r->p == '}') {
			r->p++;
			return 0;
		}
		if (*r->p++ != ',')
			return -1;
	}
}

static int parse_array(struct reader *r)
{
	r->p++;
	skip_ws(r);
	if (*r->p == ']') {
		r->p++;
		return 0;
	}
	for (;;) {
		skip_ws(r);
		r->path[r->depth++] = "[]";
		int rc = r->depth < 8 ? parse_value(r) : -1;
		r->depth--;
		if (rc != 0)
			return -1;
		skip_ws(r);
		if (*r->p == ']') {
			r->p++;
			return 0;
		}
		if (*r->p++ != ',')
			return -1;
	}
}

static int parse_value(struct reader *r)
{
	const char *start = r->p;
	if (*r->p == '{')
		return parse_object(r);
	if (*r->p == '[')
		return parse_array(r);
	if (*r->p == '"') {
		int match = path_matches(r);
		if (parse_string(r, match ? r->out : NULL, r->out_size) != 0)
			return -1;
		r->found |= match;
		return 0;
	}
	if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) {
		char *end;
		strtod(r->p, &end);
		if (end == r->p)
			return -1;
		r->p = end;
	} else if (!strncmp(r->p, "true", 4) || !strncmp(r->p, "null", 4)) {
		r->p += 4;
	} else if (!strncmp(r->p, "false", 5)) {
		r->p += 5;
	} else {
		return -1;
	}
	if (path_matches(r)) {
		snprintf(r->out, r->out_size, "%.*s", (int)(r->p - start), start);
		r->found = 1;
	}
	return 0;
}

/* The value at key (or key.sub) of the object in line; 1 found, 0 not
 * there, -1 the line is not one well-formed JSON object. */
static int json_get(const char *line, const char *key, const char *sub, char *out, size_t size)
{
	struct reader r = { .p = line, .want = { key, sub }, .want_len = sub ? 2 : 1, .out = out,
			    .out_size = size };
	out[0] = '\0';
	skip_ws(&r);
	if (*r.p != '{' || parse_value(&r) != 0)
		return -1;
	skip_ws(&r);
	if (*r.p == '\n')
		r.p++;
	return *r.p == '\0' ? r.found : -1;
}

const char *control_request_command(const char *line, char *name, size_t size)
{
	return json_get(line, "cmd", NULL, name, size) == 1 ? name : NULL;
}

int control_parse_status(const char *line, struct control_status *out)
{
	char num[32];
	memset(out, 0, sizeof(*out));
	snprintf(out->raw, sizeof(out->raw), "%s", line);
	if (json_get(line, "version", NULL, out->version, sizeof(out->version)) != 1 ||
	    json_get(line, "schema", "state", out->schema_state, sizeof(out->schema_state)) != 1 ||
	    json_get(line, "pid", NULL, num, sizeof(num)) != 1)
		return -EINVAL;
	out->pid = strtol(num, NULL, 10);
	if (json_get(line, "uptime_s", NULL, num, sizeof(num)) == 1)
		out->uptime_s = strtol(num, NULL, 10);
	return out->pid > 0 ? 0 : -EINVAL;
}

int control_status(const char *socket_path, unsigned timeout_ms, struct control_status *out,
		   struct banger_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char line[CONTROL_LINE_MAX] = "";
	size_t len = 0;
	int rc, fd = -1;
	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path) >= (int)sizeof(addr.sun_path))
		return banger_error_set(err, -ENAMETOOLONG, "%s: socket path too long", socket_path);
	int64_t deadline = banger_now_ms() + timeout_ms;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return banger_error_set(err, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS) {
		rc = banger_error_set(err, -errno, "nothing answers on %s: %s", socket_path, strerror(errno));
		goto out;
	}
	static const char request[] = "{\"cmd\":\"status\"}\n";
	size_t sent = 0;
	while (sent < sizeof(request) - 1 || len == 0 || line[len - 1] != '\n') {
		int64_t left = deadline - banger_now_ms();
		if (left <= 0) {
			rc = banger_error_set(err, -ETIMEDOUT, "%s: no answer within %u ms", socket_path, timeout_ms);
			goto out;
		}
		struct pollfd p = { fd, sent < sizeof(request) - 1 ? POLLOUT : POLLIN, 0 };
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (sent < sizeof(request) - 1) {
			ssize_t n = send(fd, request + sent, sizeof(request) - 1 - sent, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN) {
				rc = banger_error_set(err, -errno, "nothing answers on %s: %s", socket_path,
						      strerror(errno));
				goto out;
			}
			sent += n > 0 ? (size_t)n : 0;
			continue;
		}
		ssize_t n = recv(fd, line + len, sizeof(line) - 1 - len, 0);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0) {
			rc = banger_error_set(err, -EPROTO, "%s: the daemon closed without an answer", socket_path);
			goto out;
		}
		len += (size_t)n;
		line[len] = '\0';
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			rc = banger_error_set(err, -EPROTO, "%s: an answer longer than %d bytes", socket_path,
					      CONTROL_LINE_MAX);
			goto out;
		}
	}
	line[len - 1] = '\0';
	rc = control_parse_status(line, out) == 0
		? 0
		: banger_error_set(err, -EPROTO, "%s: an answer that is not a status", socket_path);
out:
	close(fd);
	return rc;
}
