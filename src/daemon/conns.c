/* The serve loop and its connection policy: who gets answered when some
 * clients are slow, idle or hostile (issue 28).
 *
 * One thread, one poll: the signalfd, the listening socket and the slots
 * (internal.h: DAEMON_SLOTS). The policy keeps the door open for a
 * well-behaved client whatever the others do:
 *   - a connection is read straight after accept: a client that sent its
 *     request with the connection (every well-behaved one does) is
 *     answered there and then, and never takes a slot;
 *   - a connection without its complete line takes a slot, with a short
 *     deadline (LINE_DEADLINE_MS) from its accept;
 *   - when every slot is taken, the connection idle longest is evicted to
 *     make room: the newcomer is never the one refused;
 *   - when accept fails for want of descriptors (EMFILE, ENFILE) or
 *     memory, the connection idle longest is evicted to free one; with no
 *     connection to evict, the listening socket leaves the poll set until
 *     a descriptor is freed or ACCEPT_PAUSE_MS passed: never a busy loop
 *     on a socket that stays readable. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "banger/clock.h"
#include "banger/control.h"
#include "internal.h"

/* A request is one write of a few dozen bytes on a local socket: it
 * arrives with the connection, or microseconds after it. Half a second
 * still covers a client descheduled on a loaded machine, and bounds how
 * long a stalled connection holds a descriptor when the slots are not
 * full (when they are, eviction comes first). */
#define LINE_DEADLINE_MS 500

/* Connections accepted per turn of the loop: enough to drain a burst from
 * the backlog quickly, few enough that the slots and the signal are looked
 * at between two batches whatever a flood does. */
#define ACCEPT_BATCH 64

/* The longest the listening socket stays out of the poll set after accept
 * found no descriptor and nothing to evict: descriptors held by someone
 * else (ENFILE, or what SQLite opened) come back without telling us, and
 * ten tries a second cost nothing. */
#define ACCEPT_PAUSE_MS 100

struct conn {
	int fd;
	int64_t deadline_ms;	/* its accept plus LINE_DEADLINE_MS */
	int64_t last_ms;	/* its accept, or the last bytes it sent */
	size_t len;
	char buf[CONTROL_LINE_MAX];
};

struct loop_state {
	const struct daemon_loop *cfg;
	struct conn conn[DAEMON_SLOTS];
	int used;
	int stopping;
	int64_t started_ms;
	int64_t paused_until;	/* 0: the listening socket is polled */
};

static void conn_close(struct loop_state *s, struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	s->used--;
	s->paused_until = 0;	/* a descriptor is free: accept may succeed again */
}

static void answer(struct loop_state *s, int fd, const char *line, size_t len)
{
	char *body;
	size_t size;
	if (daemon_answer(line, len, s->cfg->store, s->started_ms, &body, &size) != 0)
		return;	/* closed without an answer: the client tries again */
	/* A few hundred bytes into an empty socket buffer: never blocks,
	 * and a client that does not read loses only its own answer. */
	(void)!send(fd, body, size, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(body);
}

/* Read what fd's client sent after the len bytes in buf and answer when
 * its line is complete. 1 when the connection is finished with (answered,
 * closed or failed, or a line longer than the buffer), 0 when its line is
 * still to come. */
static int conn_read(struct loop_state *s, int fd, char *buf, size_t *len)
{
	ssize_t n = recv(fd, buf + *len, CONTROL_LINE_MAX - *len, 0);
	if (n < 0)
		return errno != EAGAIN && errno != EINTR;
	if (n == 0)
		return 1;
	*len += (size_t)n;
	const char *nl = memchr(buf, '\n', *len);
	if (nl == NULL)
		return *len == CONTROL_LINE_MAX;
	answer(s, fd, buf, (size_t)(nl - buf));	/* what follows the line is ignored */
	return 1;
}

static struct conn *idle_longest(struct loop_state *s)
{
	struct conn *found = NULL;
	for (int i = 0; i < DAEMON_SLOTS; i++)
		if (s->conn[i].fd >= 0 && (found == NULL || s->conn[i].last_ms < found->last_ms))
			found = &s->conn[i];
	return found;
}

/* A connection just accepted: answered now, or given a slot. */
static void take(struct loop_state *s, int fd, int64_t now)
{
	char buf[CONTROL_LINE_MAX];
	size_t len = 0;
	if (conn_read(s, fd, buf, &len)) {
		close(fd);
		return;
	}
	struct conn *c = NULL;
	for (int i = 0; i < DAEMON_SLOTS && c == NULL; i++)
		if (s->conn[i].fd < 0)
			c = &s->conn[i];
	if (c == NULL) {
		c = idle_longest(s);
		conn_close(s, c);
	}
	c->fd = fd;
	c->deadline_ms = now + LINE_DEADLINE_MS;
	c->last_ms = now;
	c->len = len;
	memcpy(c->buf, buf, len);
	s->used++;
}

/* Up to ACCEPT_BATCH connections from the backlog. 0, or a negative errno
 * when the listening socket itself failed. */
static int accept_some(struct loop_state *s, int64_t now)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(s->cfg->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			take(s, fd, now);
			continue;
		}
		switch (errno) {
		case EAGAIN:
			return 0;
		case EINTR:
		case ECONNABORTED:	/* that client gave up; the next may not have */
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			if (s->used > 0) {
				conn_close(s, idle_longest(s));
				continue;
			}
			s->paused_until = now + ACCEPT_PAUSE_MS;
			return 0;
		default:
			return -errno;
		}
	}
	return 0;
}

/* The slots polled (at[k]: the slot of fds[k]); their reads, closes on
 * a deadline. */
static void serve_slots(struct loop_state *s, const struct pollfd *fds, const int *at, int n, int64_t now)
{
	for (int k = 0; k < n; k++) {
		struct conn *c = &s->conn[at[k]];
		size_t before = c->len;
		int done = fds[k].revents && conn_read(s, c->fd, c->buf, &c->len);
		if (c->len > before)
			c->last_ms = now;
		if (done || now >= c->deadline_ms)
			conn_close(s, c);
	}
}

/* The poll timeout: the nearest deadline, or the end of a pause. */
static int next_timeout(const struct loop_state *s, int64_t now)
{
	int64_t next = s->paused_until ? s->paused_until - now : -1;
	for (int i = 0; i < DAEMON_SLOTS; i++)
		if (s->conn[i].fd >= 0 && (next < 0 || s->conn[i].deadline_ms - now < next))
			next = s->conn[i].deadline_ms - now;
	if (next == -1 && s->paused_until == 0 && s->used == 0)
		return -1;	/* nothing to wait for but the sockets */
	return next < 0 ? 0 : (int)next;
}

/* The signalfd is readable: SIGTERM or SIGINT came. 0, or a negative
 * errno when it cannot be read (then nothing would ever stop the loop). */
static int take_signal(struct loop_state *s)
{
	struct signalfd_siginfo si;
	ssize_t n = read(s->cfg->sfd, &si, sizeof(si));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n != (ssize_t)sizeof(si))
		return n < 0 ? -errno : -EIO;
	s->stopping = 1;
	s->cfg->on_stop(s->cfg->arg);
	return 0;
}

static int loop_turn(struct loop_state *s, const char **what)
{
	struct pollfd fds[2 + DAEMON_SLOTS];
	int at[DAEMON_SLOTS], n = 0;
	int64_t now = banger_now_ms();
	if (s->paused_until && now >= s->paused_until)
		s->paused_until = 0;
	/* Stopping: neither the signal nor the listening socket is polled
	 * again (poll skips a negative fd). Only open slots are polled:
	 * poll refuses more entries than the descriptor limit, which can be
	 * lowered under a running daemon (prlimit). */
	fds[0] = (struct pollfd){ s->stopping ? -1 : s->cfg->sfd, POLLIN, 0 };
	fds[1] = (struct pollfd){ s->stopping || s->paused_until ? -1 : s->cfg->lfd, POLLIN, 0 };
	for (int i = 0; i < DAEMON_SLOTS; i++)
		if (s->conn[i].fd >= 0) {
			at[n] = i;
			fds[2 + n++] = (struct pollfd){ s->conn[i].fd, POLLIN, 0 };
		}
	if (poll(fds, (nfds_t)2 + (nfds_t)n, next_timeout(s, now)) < 0) {
		*what = "poll";
		return errno == EINTR ? 0 : -errno;
	}
	int rc;
	if (fds[0].revents && (rc = take_signal(s)) != 0) {
		*what = "reading the signalfd";
		return rc;
	}
	now = banger_now_ms();
	serve_slots(s, fds + 2, at, n, now);
	if (!s->stopping && fds[1].revents && (rc = accept_some(s, now)) != 0) {
		*what = "accept";
		return rc;
	}
	return 0;
}

int daemon_loop_run(const struct daemon_loop *cfg, const char **what)
{
	struct loop_state *s = calloc(1, sizeof(*s));	/* 64 line buffers: not on the stack */
	int rc = 0;
	*what = "";
	if (s == NULL) {
		*what = "allocating the slots";
		return -ENOMEM;
	}
	s->cfg = cfg;
	s->started_ms = banger_now_ms();
	for (int i = 0; i < DAEMON_SLOTS; i++)
		s->conn[i].fd = -1;
	while (rc == 0 && !(s->stopping && s->used == 0))
		rc = loop_turn(s, what);
	for (int i = 0; i < DAEMON_SLOTS; i++)
		if (s->conn[i].fd >= 0)
			close(s->conn[i].fd);
	free(s);
	return rc;
}
