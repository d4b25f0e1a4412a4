/* internal.h - what the files of src/daemon share, and nothing else uses.
 * serve.c starts and stops the daemon; conns.c is the serve loop and its
 * connection policy; answer.c says what a request is answered. */
#ifndef BANGER_DAEMON_INTERNAL_H
#define BANGER_DAEMON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "banger/store.h"

/* Connections that have not yet sent their line. A well-behaved client
 * writes its request with the connection, so it is answered straight
 * after accept and never takes a slot: slots hold only the slow and the
 * hostile, and when they are all taken the one idle longest is evicted
 * (conns.c). The number therefore bounds memory (a CONTROL_LINE_MAX
 * buffer each) and descriptors, not who gets in: 64 is four times what a
 * busy host's legitimate slow clients (a person typing into socat) would
 * ever need at once, and keeps the daemon under 100 descriptors. */
#define DAEMON_SLOTS 64

/* Descriptors besides the slots: stdin, stdout and stderr, the listening
 * socket, the signalfd, SQLite's database, -wal and -shm (and a journal or
 * a temporary file it may open), sd_notify's datagram socket, the
 * connection being accepted, and room for what a library opens. */
#define DAEMON_RESERVED_FDS 32
#define DAEMON_FDS_NEEDED (DAEMON_RESERVED_FDS + DAEMON_SLOTS)

/* What the serve loop is given. */
struct daemon_loop {
	int lfd;	/* the listening socket, non-blocking */
	int sfd;	/* a signalfd for SIGTERM and SIGINT */
	struct store *store;
	void (*on_stop)(void *);	/* run once, when the signal comes */
	void *arg;
};

/* Serve until SIGTERM or SIGINT, then until the connections already
 * accepted are answered or reach their deadline. Returns 0 then, or a
 * negative errno when the loop could not go on (poll failed, the
 * listening socket broke, the signalfd could not be read); *what names the
 * call that failed. */
int daemon_loop_run(const struct daemon_loop *loop, const char **what);

/* The answer to one request line (len bytes, no LF), ending with a LF,
 * into a malloc'd *body of *size bytes; 0 or -ENOMEM. */
int daemon_answer(const char *line, size_t len, struct store *store, int64_t started_ms, char **body,
		  size_t *size);

#endif
