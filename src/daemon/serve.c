/* bangerd's serve mode: check the descriptor limit, open the store,
 * answer on the control socket (conns.c: the loop and its connection
 * policy; answer.c: what is answered), tell systemd, stop cleanly.
 *
 * The listening socket is systemd's when bangerd.socket passed it
 * (activation.c), else bangerd's own. On SIGTERM the loop stops accepting
 * and answers the connections it has already accepted before it returns:
 * under socket activation that is what makes a restart lose no request,
 * because every connection it did not accept waits in the backlog of the
 * socket that systemd keeps open, for the next bangerd. Any other end of
 * the loop is a failure, and exits non-zero with a line saying why, so
 * that the unit's Restart=on-failure applies.
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
#include <sys/resource.h>
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
#include "internal.h"

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
	if (fd < 0) {
		fprintf(errout, "bangerd: cannot listen on %s: socket: %s\n", path, strerror(errno));
		return -1;
	}
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
	/* The backlog is where a burst waits while the loop drains it a
	 * batch at a time; a short one would turn a burst into refused
	 * connections. SOMAXCONN is also what bangerd.socket gets (Backlog=). */
	if (rc != 0 || listen(fd, SOMAXCONN) != 0) {
		fprintf(errout, "bangerd: cannot listen on %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
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

/* Make sure the descriptor limit leaves room for DAEMON_FDS_NEEDED: raise
 * the soft limit when the hard one allows, else refuse to start. Below
 * it, poll on the slots fails (EINVAL) and accept finds no descriptor,
 * and a daemon that starts anyway serves nobody. */
static int check_fd_limit(FILE *errout)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fprintf(errout, "bangerd: refusing to start: getrlimit(RLIMIT_NOFILE): %s\n", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur >= DAEMON_FDS_NEEDED)
		return 0;
	if (rl.rlim_max >= DAEMON_FDS_NEEDED) {
		rl.rlim_cur = DAEMON_FDS_NEEDED;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return 0;
	}
	fprintf(errout, "bangerd: refusing to start: the descriptor limit (RLIMIT_NOFILE) is %llu and cannot be "
		"raised to the %d bangerd needs (ulimit -n, or LimitNOFILE= in the unit)\n",
		(unsigned long long)rl.rlim_cur, DAEMON_FDS_NEEDED);
	return -1;
}

/* The socket bangerd bound itself: its name goes when the daemon stops,
 * and only while it is still this socket (not a successor's). */
struct own_socket {
	const char *path;
	struct stat st;
};

/* The signal came: tell systemd, and take the socket's name away when
 * the socket is bangerd's own. */
static void on_stop(void *arg)
{
	const struct own_socket *own = arg;
	struct stat now;
	notify("STOPPING=1");
	if (own->path && lstat(own->path, &now) == 0 && now.st_ino == own->st.st_ino &&
	    now.st_dev == own->st.st_dev)
		unlink(own->path);
}

/* Ready: say so, and serve until the loop ends; the exit code. */
static int serve(const struct daemon_loop *loop, const struct banger_paths *paths, int passed, FILE *errout)
{
	char passed_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (passed && daemon_socket_path(loop->lfd, passed_path, sizeof(passed_path)) != 0)
		snprintf(passed_path, sizeof(passed_path), "an unnamed socket");
	notify("READY=1");
	fprintf(errout, "bangerd %s: serving %s on %s%s\n", BANGER_VERSION, paths->db,
		passed ? passed_path : paths->socket, passed ? " (passed by systemd)" : "");
	const char *what;
	int rc = daemon_loop_run(loop, &what);
	if (rc == 0)
		return DAEMON_EXIT_OK;
	/* Not a signal: a failure, for the unit's Restart=on-failure to see. */
	fprintf(errout, "bangerd: stopped serving: %s: %s\n", what, strerror(-rc));
	loop->on_stop(loop->arg);
	return 1;
}

int daemon_serve(const struct banger_paths *paths, FILE *errout)
{
	struct banger_error err = { 0 };
	struct migration_set known = store_known_migrations();
	struct store *store = NULL;
	struct own_socket own = { 0 };
	int lfd = -1, sfd = -1, code = 1;
	/* First: a unit that passes the wrong descriptor is refused before
	 * the store is opened (and migrated) for a daemon that cannot serve. */
	int passed = daemon_activation_socket(&lfd, &err);
	if (passed < 0) {
		fprintf(errout, "bangerd: %s\n", err.msg);
		return 1;
	}
	if (check_fd_limit(errout) != 0)
		goto out;
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
	if ((sfd = block_signals()) < 0) {
		fprintf(errout, "bangerd: cannot take SIGTERM and SIGINT: %s\n", strerror(errno));
		goto out;
	}
	if (!passed) {
		if ((lfd = listen_on(paths->socket, errout)) < 0)
			goto out;
		own.path = paths->socket;
		lstat(paths->socket, &own.st);
	}
	code = serve(&(struct daemon_loop){ lfd, sfd, store, on_stop, &own }, paths, passed, errout);
out:
	if (lfd >= 0)
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	store_close(store);
	return code;
}
