/* Socket activation: the listening control socket that systemd passes
 * (bangerd.socket), under the protocol of sd_listen_fds(3), done by hand.
 *
 * Why not libsystemd's sd_listen_fds()/sd_is_socket_unix(): bangerd is
 * also the binary that banger update stages and runs in its sandbox, and
 * every shared library it links is one more file that Landlock must let
 * it read and one more set of start-up system calls that the seccomp
 * policy must allow; libsystemd.so.0 brings liblzma, libzstd, liblz4,
 * libgcrypt and libgpg-error with it. The protocol is a few lines, and
 * sd_notify is already done the same way (serve.c).
 *
 * The protocol, as systemd's own sd_listen_fds() reads it:
 *   - LISTEN_PID must be this process's pid, else the variables were meant
 *     for another process (a parent that did not unset them): ignored;
 *   - LISTEN_FDS is the count of descriptors, from SD_LISTEN_FDS_START (3);
 *     0 means none;
 *   - a LISTEN_PID or LISTEN_FDS that is not a number is an error;
 *   - every passed descriptor gets FD_CLOEXEC, and the variables
 *     (LISTEN_FDNAMES too) are removed, so that nothing bangerd starts
 *     inherits them.
 * bangerd then wants exactly one descriptor, and checks that it is what
 * bangerd.socket makes: a listening AF_UNIX SOCK_STREAM socket. Anything
 * else is a unit that was written for another program, and serving on it
 * (or binding a socket of its own beside it) would hide that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "banger/daemon.h"

#define LISTEN_FDS_START 3	/* SD_LISTEN_FDS_START */

/* A whole non-negative decimal number that fits in a long; -1 otherwise. */
static long parse_count(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 0)
		return -1;
	return v;
}

static void unset_listen_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

static int sockopt_int(int fd, int name, int *value)
{
	socklen_t len = sizeof(*value);
	if (getsockopt(fd, SOL_SOCKET, name, value, &len) != 0)
		return -errno;
	return len == sizeof(*value) ? 0 : -EINVAL;
}

/* 0 when fd is a listening Unix stream socket; else err says what it is. */
static int check_listening_unix_stream(int fd, struct banger_error *err)
{
	static const char what[] = "is not a listening Unix stream socket";
	struct stat st;
	int domain, type, listening, rc;
	if (fstat(fd, &st) != 0)
		return banger_error_set(err, -errno, "descriptor %d passed by systemd (LISTEN_FDS) %s: %s",
					fd, what, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return banger_error_set(err, -ENOTSOCK, "descriptor %d passed by systemd (LISTEN_FDS) %s: not a socket",
					fd, what);
	if ((rc = sockopt_int(fd, SO_DOMAIN, &domain)) != 0 ||
	    (rc = sockopt_int(fd, SO_TYPE, &type)) != 0 ||
	    (rc = sockopt_int(fd, SO_ACCEPTCONN, &listening)) != 0)
		return banger_error_set(err, rc, "descriptor %d passed by systemd (LISTEN_FDS) %s: getsockopt: %s",
					fd, what, strerror(-rc));
	if (domain != AF_UNIX)
		return banger_error_set(err, -EAFNOSUPPORT, "descriptor %d passed by systemd (LISTEN_FDS) %s: "
					"address family %d, not AF_UNIX", fd, what, domain);
	if (type != SOCK_STREAM)
		return banger_error_set(err, -ESOCKTNOSUPPORT, "descriptor %d passed by systemd (LISTEN_FDS) %s: "
					"%s", fd, what, type == SOCK_DGRAM ? "a datagram socket" :
					type == SOCK_SEQPACKET ? "a seqpacket socket" : "not SOCK_STREAM");
	if (!listening)
		return banger_error_set(err, -EINVAL, "descriptor %d passed by systemd (LISTEN_FDS) %s: "
					"not listening (a connection, as Accept=yes passes?)", fd, what);
	return 0;
}

int daemon_activation_socket(int *fd, struct banger_error *err)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	int rc = 0;
	*fd = -1;
	if (pid_s == NULL)
		goto out;	/* not socket-activated */
	long pid = parse_count(pid_s);
	if (pid <= 0) {
		rc = banger_error_set(err, -EINVAL, "LISTEN_PID=%.32s is not a process id", pid_s);
		goto out;
	}
	if (pid != (long)getpid())
		goto out;	/* meant for another process */
	long n = fds_s ? parse_count(fds_s) : 0;
	if (n < 0 || n > INT_MAX - LISTEN_FDS_START) {
		rc = banger_error_set(err, -EINVAL, "LISTEN_FDS=%.32s is not a count of descriptors", fds_s);
		goto out;
	}
	if (n == 0)
		goto out;
	/* Every passed descriptor, before anything can fail: none may leak
	 * into what this process executes. */
	for (int i = LISTEN_FDS_START; i < LISTEN_FDS_START + (int)n; i++) {
		int flags = fcntl(i, F_GETFD);
		if (flags < 0 || fcntl(i, F_SETFD, flags | FD_CLOEXEC) != 0) {
			rc = banger_error_set(err, -errno, "descriptor %d passed by systemd (LISTEN_FDS=%ld): %s",
					      i, n, strerror(errno));
			goto out;
		}
	}
	if (n != 1) {
		rc = banger_error_set(err, -E2BIG, "systemd passed %ld descriptors (LISTEN_FDS); bangerd listens "
				      "on exactly one: bangerd.socket has one ListenStream=", n);
		goto out;
	}
	if ((rc = check_listening_unix_stream(LISTEN_FDS_START, err)) != 0)
		goto out;
	/* The serve loop polls it and must never block in accept(). The flag
	 * is on the open file description that systemd shares, which keeps
	 * its own listening sockets non-blocking too. */
	int fl = fcntl(LISTEN_FDS_START, F_GETFL);
	if (fl < 0 || fcntl(LISTEN_FDS_START, F_SETFL, fl | O_NONBLOCK) != 0) {
		rc = banger_error_set(err, -errno, "descriptor %d passed by systemd: %s", LISTEN_FDS_START,
				      strerror(errno));
		goto out;
	}
	*fd = LISTEN_FDS_START;
	rc = 1;
out:
	unset_listen_env();
	return rc;
}

int daemon_socket_path(int fd, char *path, size_t size)
{
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	memset(&addr, 0, sizeof(addr));
	if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
		return -errno;
	size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
	if (n == 0 || addr.sun_path[0] == '\0')
		return -EINVAL;	/* unnamed or abstract: no file */
	n = strnlen(addr.sun_path, n);
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(path, addr.sun_path, n);
	path[n] = '\0';
	return 0;
}
