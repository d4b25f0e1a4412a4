/* The control protocol (control.h), both ends: the daemon's reading of a
 * request, banger's reading of a status answer (both through reader.c,
 * which takes exactly JSON), and the client that asks for the status, for
 * banger status and for the update's health check. */
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
#include "reader.h"

/* The first pause between two tries of a connection that was refused or
 * reset, doubled up to the last: a daemon that evicted us, or whose
 * backlog was full, has usually made room within a millisecond; the cap
 * keeps a long wait (a restart) from turning into a spin. */
#define RETRY_FIRST_MS 1
#define RETRY_LAST_MS 64

const char *control_request_command(const char *line, size_t len, char *name, size_t size)
{
	return control_json_get(line, len, "cmd", NULL, name, size) == 1 ? name : NULL;
}

/* A whole decimal integer in a long; -1 otherwise. */
static long whole_number(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	return s[0] != '\0' && *end == '\0' && errno == 0 ? v : -1;
}

int control_parse_status(const char *line, size_t len, struct control_status *out)
{
	char num[32];
	memset(out, 0, sizeof(*out));
	snprintf(out->raw, sizeof(out->raw), "%.*s", (int)strnlen(line, len), line);
	if (control_json_get(line, len, "version", NULL, out->version, sizeof(out->version)) != 1 ||
	    control_json_get(line, len, "schema", "state", out->schema_state, sizeof(out->schema_state)) != 1 ||
	    control_json_get(line, len, "pid", NULL, num, sizeof(num)) != 1)
		return -EINVAL;
	out->pid = whole_number(num);
	if (control_json_get(line, len, "uptime_s", NULL, num, sizeof(num)) == 1)
		out->uptime_s = whole_number(num);
	return out->pid > 0 ? 0 : -EINVAL;
}

struct ask {
	const char *path;
	struct sockaddr_un addr;
	unsigned timeout_ms;
	int64_t deadline;
	char line[CONTROL_LINE_MAX];
	size_t len;
	int again;	/* the last failure is one that another try may cure */
};

static int ask_failed(struct ask *a, int again, int rc, struct banger_error *err, const char *why)
{
	a->again = again;
	return banger_error_set(err, rc, "%s", why);
}

/* Send the request on a connected socket and read one line. */
static int exchange(struct ask *a, int fd, struct banger_error *err)
{
	static const char request[] = "{\"cmd\":\"status\"}\n";
	char why[512];
	size_t sent = 0;
	while (sent < sizeof(request) - 1 || a->len == 0 || a->line[a->len - 1] != '\n') {
		int64_t left = a->deadline - banger_now_ms();
		if (left <= 0) {
			snprintf(why, sizeof(why), "%s: no answer within %u ms", a->path, a->timeout_ms);
			return ask_failed(a, 0, -ETIMEDOUT, err, why);
		}
		struct pollfd p = { fd, sent < sizeof(request) - 1 ? POLLOUT : POLLIN, 0 };
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t n = sent < sizeof(request) - 1
			? send(fd, request + sent, sizeof(request) - 1 - sent, MSG_NOSIGNAL)
			: recv(fd, a->line + a->len, sizeof(a->line) - 1 - a->len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0 && errno != ECONNRESET && errno != EPIPE) {
			snprintf(why, sizeof(why), "nothing answers on %s: %s", a->path, strerror(errno));
			return ask_failed(a, 0, -errno, err, why);
		}
		if (n <= 0) {	/* reset, or closed before the answer: evicted, say */
			snprintf(why, sizeof(why), "%s: the daemon closed without an answer", a->path);
			return ask_failed(a, 1, -EPROTO, err, why);
		}
		if (sent < sizeof(request) - 1) {
			sent += (size_t)n;
			continue;
		}
		a->len += (size_t)n;
		if (a->len == sizeof(a->line) - 1 && a->line[a->len - 1] != '\n') {
			snprintf(why, sizeof(why), "%s: an answer longer than %d bytes", a->path, CONTROL_LINE_MAX);
			return ask_failed(a, 0, -EPROTO, err, why);
		}
	}
	return 0;
}

/* One connection, one question. */
static int ask_once(struct ask *a, struct banger_error *err)
{
	char why[512];
	a->len = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		return ask_failed(a, 0, -errno, err, why);
	}
	int rc;
	if (connect(fd, (struct sockaddr *)&a->addr, sizeof(a->addr)) != 0) {
		/* EAGAIN: the backlog is full. ECONNREFUSED: nobody listens
		 * this instant (between a daemon's bind and its listen, or a
		 * restart without socket activation). Both pass. */
		snprintf(why, sizeof(why), "nothing answers on %s: %s", a->path, strerror(errno));
		rc = ask_failed(a, errno == EAGAIN || errno == ECONNREFUSED, -errno, err, why);
	} else {
		rc = exchange(a, fd, err);
	}
	close(fd);
	return rc;
}

int control_status(const char *socket_path, unsigned timeout_ms, struct control_status *out,
		   struct banger_error *err)
{
	struct ask *a = calloc(1, sizeof(*a));
	int rc, pause_ms = RETRY_FIRST_MS;
	if (a == NULL)
		return banger_error_set(err, -ENOMEM, "out of memory");
	a->path = socket_path;
	a->addr.sun_family = AF_UNIX;
	a->timeout_ms = timeout_ms;
	a->deadline = banger_now_ms() + timeout_ms;
	if (snprintf(a->addr.sun_path, sizeof(a->addr.sun_path), "%s", socket_path) >=
	    (int)sizeof(a->addr.sun_path)) {
		rc = banger_error_set(err, -ENAMETOOLONG, "%s: socket path too long", socket_path);
		goto out;
	}
	while ((rc = ask_once(a, err)) != 0 && a->again) {
		int64_t left = a->deadline - banger_now_ms();
		if (left <= 0)
			goto out;	/* err says the last failure */
		int ms = pause_ms < left ? pause_ms : (int)left;
		struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
		nanosleep(&t, NULL);
		pause_ms = pause_ms * 2 > RETRY_LAST_MS ? RETRY_LAST_MS : pause_ms * 2;
	}
	if (rc == 0 && control_parse_status(a->line, a->len - 1, out) != 0)	/* without its LF */
		rc = banger_error_set(err, -EPROTO, "%s: an answer that is not a status", socket_path);
out:
	free(a);
	return rc;
}
