/* bangerd's serve mode: open the store, answer on the control socket,
 * tell systemd, stop cleanly.
 *
 * One thread, one poll loop: the listening socket, a signalfd for SIGTERM
 * and SIGINT, and at most MAX_CLIENTS connections, each with a deadline,
 * so that a client that connects and says nothing cannot hold the daemon.
 *
 * The listening socket is systemd's when bangerd.socket passed it
 * (activation.c), else bangerd's own. On SIGTERM the loop stops accepting
 * and answers the connections it has already accepted before it returns:
 * under socket activation that is what makes a restart lose no request,
 * because every connection it did not accept waits in the backlog of the
 * socket that systemd keeps open, for the next bangerd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "banger/clock.h"
#include "banger/control.h"
#include "banger/daemon.h"
#include "banger/store.h"
#include "banger_config.h"

#define MAX_CLIENTS 16
#define CLIENT_DEADLINE_MS 2000

struct client {
	int fd;
	int64_t deadline_ms;
	size_t len;
	char buf[CONTROL_LINE_MAX];
};

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(addr.sun_path))
		return;
	memcpy(addr.sun_path, path, strlen(path));
	if (addr.sun_path[0] == '@')
		addr.sun_path[0] = '\0';	/* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)!sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path)));
	close(fd);
}

static int make_dir_for(const char *socket_path, FILE *errout)
{
	char copy[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (snprintf(copy, sizeof(copy), "%s", socket_path) >= (int)sizeof(copy)) {
		fprintf(errout, "bangerd: %s: socket path too long\n", socket_path);
		return -1;
	}
	const char *dir = dirname(copy);
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	fprintf(errout, "bangerd: cannot create %s: %s\n", dir, strerror(errno));
	return -1;
}

/* Listen on path, refusing when another bangerd answers there. A socket
 * file that nobody listens on (a crash left it) is replaced. */
static int listen_on(const char *path, FILE *errout)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(errout, "bangerd: %s: socket path too long\n", path);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);	/* length checked above */
	if (make_dir_for(path, errout) != 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		fprintf(errout, "bangerd: another bangerd already serves %s\n", path);
		close(probe);
		close(fd);
		return -1;
	}
	int stale = probe >= 0 && errno == ECONNREFUSED;
	if (probe >= 0)
		close(probe);
	struct stat st;
	if (stale && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	mode_t old = umask(0177);	/* the socket is born 0600 */
	int rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (rc != 0 || listen(fd, MAX_CLIENTS) != 0) {
		fprintf(errout, "bangerd: cannot listen on %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void answer(struct client *c, struct store *store, int64_t started_ms)
{
	char name[32], *body = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&body, &size);
	if (out == NULL)
		return;
	c->buf[c->len] = '\0';
	if (control_request_command(c->buf, name, sizeof(name)) && strcmp(name, "status") == 0) {
		struct migration_set known = store_known_migrations();
		struct schema_report report;
		struct banger_error err = { 0 };
		fprintf(out, "{\"version\":\"%s\",\"pid\":%ld,\"uptime_s\":%ld,\"schema\":", BANGER_VERSION,
			(long)getpid(), (long)((banger_now_ms() - started_ms) / 1000));
		/* Through our own connection: opening the file beside it would
		 * drop this process's locks on it when closed (see store.h). */
		int unhealthy = 0;
#ifdef BANGER_TEST_HOOKS
		/* Tests only: a release that serves but fails every health check. */
		unhealthy = getenv("BANGER_TEST_UNHEALTHY") != NULL;
#endif
		if (!unhealthy && store_schema_report(store, &known, &report, &err) == 0) {
			schema_report_print(&report, true, out);	/* ends with a newline */
			schema_report_free(&report);
			fseek(out, -1, SEEK_CUR);
		} else {
			fputs("{\"state\":\"unknown\"}", out);
		}
		fputs("}\n", out);
	} else {
		fputs("{\"error\":\"unknown command\"}\n", out);
	}
	fclose(out);
	(void)!send(c->fd, body, size, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(body);
}

static int block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Serve until SIGTERM or SIGINT, then until the accepted connections are
 * answered (or reach their deadline). on_stop runs once, when the signal
 * comes, before the last answers: it takes the socket's name away when
 * the socket is bangerd's own. */
static void serve_loop(int lfd, int sfd, struct store *store, void (*on_stop)(void *), void *arg)
{
	struct client clients[MAX_CLIENTS];
	int64_t started = banger_now_ms();
	int stopping = 0;
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	for (;;) {
		struct pollfd fds[2 + MAX_CLIENTS];
		int64_t next = -1, now = banger_now_ms();
		int open_clients = 0;
		/* Stopping: neither the signal nor the listening socket is
		 * polled again (a negative fd is skipped by poll). */
		fds[0] = (struct pollfd){ stopping ? -1 : sfd, POLLIN, 0 };
		fds[1] = (struct pollfd){ stopping ? -1 : lfd, POLLIN, 0 };
		for (int i = 0; i < MAX_CLIENTS; i++) {
			fds[2 + i] = (struct pollfd){ clients[i].fd, POLLIN, 0 };
			open_clients += clients[i].fd >= 0;
			if (clients[i].fd >= 0 && (next < 0 || clients[i].deadline_ms - now < next))
				next = clients[i].deadline_ms - now > 0 ? clients[i].deadline_ms - now : 0;
		}
		if (stopping && open_clients == 0)
			return;
		if (poll(fds, 2 + MAX_CLIENTS, (int)next) < 0 && errno != EINTR)
			return;
		if (fds[0].revents) {	/* SIGTERM or SIGINT */
			stopping = 1;
			notify("STOPPING=1");
			on_stop(arg);
		}
		now = banger_now_ms();
		for (int i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &clients[i];
			if (c->fd < 0)
				continue;
			int done = 0;
			if (fds[2 + i].revents) {
				ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
				if (n > 0)
					c->len += (size_t)n;
				if (n > 0 && memchr(c->buf, '\n', c->len)) {
					*(char *)memchr(c->buf, '\n', c->len) = '\0';
					c->len = strlen(c->buf);
					answer(c, store, started);
					done = 1;
				}
				done |= n == 0 || (n < 0 && errno != EAGAIN) || c->len == sizeof(c->buf) - 1;
			}
			if (done || now >= c->deadline_ms) {
				close(c->fd);
				c->fd = -1;
			}
		}
		if (!stopping && fds[1].revents) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			int slot = -1;
			for (int i = 0; cfd >= 0 && i < MAX_CLIENTS && slot < 0; i++)
				if (clients[i].fd < 0)
					slot = i;
			if (cfd >= 0 && slot < 0)
				close(cfd);	/* full: the client sees EOF and retries */
			else if (cfd >= 0)
				clients[slot] = (struct client){ .fd = cfd, .deadline_ms = now + CLIENT_DEADLINE_MS };
		}
	}
}

/* The socket bangerd bound itself: its name goes when the daemon stops,
 * and only while it is still this socket (not a successor's). */
struct own_socket {
	const char *path;
	struct stat st;
};

static void unlink_own_socket(void *arg)
{
	const struct own_socket *own = arg;
	struct stat now;
	if (own->path && lstat(own->path, &now) == 0 && now.st_ino == own->st.st_ino &&
	    now.st_dev == own->st.st_dev)
		unlink(own->path);
}

int daemon_serve(const struct banger_paths *paths, FILE *errout)
{
	struct banger_error err = { 0 };
	struct migration_set known = store_known_migrations();
	struct store *store = NULL;
	struct own_socket own = { 0 };
	char passed_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd = -1, sfd = -1, code = 1;
	/* First: a unit that passes the wrong descriptor is refused before
	 * the store is opened (and migrated) for a daemon that cannot serve. */
	int passed = daemon_activation_socket(&lfd, &err);
	if (passed < 0) {
		fprintf(errout, "bangerd: %s\n", err.msg);
		return 1;
	}
	enum store_status st = store_open(paths->db, &known, &store, NULL, &err);
	if (st == STORE_INCOMPATIBLE) {
		fprintf(errout, "bangerd: refusing to start: %s has migrations this binary does not know (binary older than DB)\n",
			paths->db);
		code = DAEMON_EXIT_INCOMPATIBLE;
		goto out;
	}
	if (st != STORE_OK) {
		fprintf(errout, "bangerd: cannot open the store: %s\n", err.msg);
		goto out;
	}
#ifdef BANGER_TEST_HOOKS
	/* Tests only: a release that migrates the database and then dies. */
	if (getenv("BANGER_TEST_CRASH_AFTER_OPEN"))
		abort();
#endif
	if ((sfd = block_signals()) < 0)
		goto out;
	if (passed) {
		if (daemon_socket_path(lfd, passed_path, sizeof(passed_path)) != 0)
			snprintf(passed_path, sizeof(passed_path), "an unnamed socket");
	} else {
		if ((lfd = listen_on(paths->socket, errout)) < 0)
			goto out;
		own.path = paths->socket;
		lstat(paths->socket, &own.st);
	}
	notify("READY=1");
	fprintf(errout, "bangerd %s: serving %s on %s%s\n", BANGER_VERSION, paths->db,
		passed ? passed_path : paths->socket, passed ? " (passed by systemd)" : "");
	serve_loop(lfd, sfd, store, unlink_own_socket, &own);
	code = 0;
out:
	if (lfd >= 0)
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	store_close(store);
	return code;
}
