/* daemon_activation_socket(): the LISTEN_FDS protocol of sd_listen_fds(3),
 * as bangerd takes the socket bangerd.socket passes. Each test puts the
 * descriptor it means at fd 3 (the protocol's first), as systemd would,
 * and sets LISTEN_PID and LISTEN_FDS. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "banger/daemon.h"

struct fixture {
	char *dir;
	int saved3;	/* whatever this process had at fd 3, put back after */
};

static int set_up(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = tmpdir_make();
	f->saved3 = fcntl(3, F_DUPFD_CLOEXEC, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	*state = f;
	return 0;
}

static int tear_down(void **state)
{
	struct fixture *f = *state;
	close(3);
	close(4);
	if (f->saved3 >= 0) {
		dup2(f->saved3, 3);
		close(f->saved3);
	}
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* fd at 3 (the original closed), no close-on-exec: as systemd passes it. */
static void put_at_3(int fd)
{
	if (fd == 3)
		return;	/* 3 was free: it is there already */
	assert_int_equal(dup2(fd, 3), 3);
	close(fd);
}

static void passed_for_me(const char *count)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", count, 1);
	setenv("LISTEN_FDNAMES", "bangerd.sock", 1);
}

static void assert_env_unset(void)
{
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
}

static int unix_socket(const char *path, int type, int do_listen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, type, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Returns daemon_activation_socket's code; its message in msg. */
static int take(int *fd, char *msg, size_t size)
{
	struct banger_error err = { 0 };
	int rc = daemon_activation_socket(fd, &err);
	snprintf(msg, size, "%s", err.msg);
	return rc;
}

static void test_no_listen_pid_means_not_activated(void **state)
{
	(void)state;
	char msg[512];
	int fd = 99;
	assert_int_equal(take(&fd, msg, sizeof(msg)), 0);
	assert_int_equal(fd, -1);
}

static void test_takes_a_listening_unix_stream_socket_cloexec_nonblocking(void **state)
{
	struct fixture *f = *state;
	char msg[512], path[108];
	const char *sock = path_in(f->dir, "bangerd.sock");
	put_at_3(unix_socket(sock, SOCK_STREAM, 1));
	passed_for_me("1");
	int fd = -1;
	assert_int_equal(take(&fd, msg, sizeof(msg)), 1);
	assert_int_equal(fd, 3);
	assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(3, F_GETFL) & O_NONBLOCK);
	assert_env_unset();
	assert_int_equal(daemon_socket_path(3, path, sizeof(path)), 0);
	assert_string_equal(path, sock);
}

static void test_another_process_listen_pid_is_ignored(void **state)
{
	struct fixture *f = *state;
	char msg[512];
	put_at_3(unix_socket(path_in(f->dir, "s"), SOCK_STREAM, 1));
	setenv("LISTEN_PID", "1", 1);	/* for init, not for us */
	setenv("LISTEN_FDS", "1", 1);
	int fd = 99;
	assert_int_equal(take(&fd, msg, sizeof(msg)), 0);
	assert_int_equal(fd, -1);
	assert_env_unset();
	/* not ours: left as it was */
	assert_false(fcntl(3, F_GETFD) & FD_CLOEXEC);
}

static void test_zero_descriptors_is_not_activated(void **state)
{
	(void)state;
	char msg[512];
	passed_for_me("0");
	int fd = 99;
	assert_int_equal(take(&fd, msg, sizeof(msg)), 0);
	assert_int_equal(fd, -1);
	assert_env_unset();
}

static void test_listen_pid_or_fds_not_a_number_is_an_error(void **state)
{
	(void)state;
	char msg[512];
	int fd;
	setenv("LISTEN_PID", "12ab", 1);
	setenv("LISTEN_FDS", "1", 1);
	assert_int_equal(take(&fd, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "LISTEN_PID=12ab is not a process id");
	assert_env_unset();
	passed_for_me("-1");
	assert_int_equal(take(&fd, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "LISTEN_FDS=-1 is not a count of descriptors");
	passed_for_me("");
	assert_int_equal(take(&fd, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(fd, -1);
}

static void test_not_a_socket_is_refused(void **state)
{
	(void)state;
	char msg[512];
	int p[2], fd;
	assert_int_equal(pipe(p), 0);
	close(p[1]);
	put_at_3(p[0]);
	passed_for_me("1");
	assert_int_equal(take(&fd, msg, sizeof(msg)), -ENOTSOCK);
	assert_string_equal(msg, "descriptor 3 passed by systemd (LISTEN_FDS) is not a listening Unix "
			    "stream socket: not a socket");
	assert_int_equal(fd, -1);
	/* close-on-exec even so: nothing passed may leak into a child */
	assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC);
}

static void test_a_datagram_socket_is_refused(void **state)
{
	struct fixture *f = *state;
	char msg[512];
	int fd;
	put_at_3(unix_socket(path_in(f->dir, "d"), SOCK_DGRAM, 0));
	passed_for_me("1");
	assert_int_equal(take(&fd, msg, sizeof(msg)), -ESOCKTNOSUPPORT);
	assert_non_null(strstr(msg, ": a datagram socket"));
}

static void test_a_stream_socket_that_does_not_listen_is_refused(void **state)
{
	struct fixture *f = *state;
	char msg[512];
	int fd;
	put_at_3(unix_socket(path_in(f->dir, "n"), SOCK_STREAM, 0));
	passed_for_me("1");
	assert_int_equal(take(&fd, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, ": not listening"));
}

static void test_a_tcp_socket_is_refused(void **state)
{
	(void)state;
	char msg[512];
	int fd;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 4), 0);
	put_at_3(s);
	passed_for_me("1");
	assert_int_equal(take(&fd, msg, sizeof(msg)), -EAFNOSUPPORT);
	assert_non_null(strstr(msg, "address family 2, not AF_UNIX"));
}

static void test_two_descriptors_are_refused_and_both_made_cloexec(void **state)
{
	struct fixture *f = *state;
	char msg[512];
	int fd;
	put_at_3(unix_socket(path_in(f->dir, "a"), SOCK_STREAM, 1));
	assert_int_equal(dup2(3, 4), 4);
	passed_for_me("2");
	assert_int_equal(take(&fd, msg, sizeof(msg)), -E2BIG);
	assert_non_null(strstr(msg, "systemd passed 2 descriptors"));
	assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(4, F_GETFD) & FD_CLOEXEC);
}

static void test_a_closed_descriptor_is_refused(void **state)
{
	(void)state;
	char msg[512];
	int fd;
	close(3);
	passed_for_me("1");
	assert_int_equal(take(&fd, msg, sizeof(msg)), -EBADF);
	assert_int_equal(fd, -1);
	assert_env_unset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, set_up, tear_down)
		T(test_no_listen_pid_means_not_activated),
		T(test_takes_a_listening_unix_stream_socket_cloexec_nonblocking),
		T(test_another_process_listen_pid_is_ignored),
		T(test_zero_descriptors_is_not_activated),
		T(test_listen_pid_or_fds_not_a_number_is_an_error),
		T(test_not_a_socket_is_refused),
		T(test_a_datagram_socket_is_refused),
		T(test_a_stream_socket_that_does_not_listen_is_refused),
		T(test_a_tcp_socket_is_refused),
		T(test_two_descriptors_are_refused_and_both_made_cloexec),
		T(test_a_closed_descriptor_is_refused),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
