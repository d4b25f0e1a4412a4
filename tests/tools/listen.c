/* listen: a server that records whether anyone connected.
 *   listen tcp PORT MARKER SECONDS | listen unix PATH MARKER SECONDS
 * Listens (printing "ready" once it does), waits up to SECONDS for one
 * connection, and creates MARKER if one came.
 *   listen dgram PATH MARKER SECONDS
 * A NOTIFY_SOCKET stand-in: appends each datagram received within SECONDS
 * to MARKER, a line each.
 *   listen silent PATH - SECONDS     connect to a Unix socket, say nothing
 *   listen ask PATH LINE SECONDS     connect, send LINE, print the answer
 *   listen halves PATH LINE SECONDS  connect, send LINE without its newline,
 *                                    print "sent", wait for a line on stdin,
 *                                    then send the newline, print the answer
 *   listen mute PATH - SECONDS       a "daemon" that accepts and never answers
 *   listen reply PATH LINE SECONDS   a "daemon" that answers every request
 *                                    with LINE (garbage, say) */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	if (argc != 5)
		return 64;
	signal(SIGPIPE, SIG_IGN);	/* a client that hangs up early is not our death */
	int s;
	if (strcmp(argv[1], "silent") == 0 || strcmp(argv[1], "ask") == 0 ||
	    strcmp(argv[1], "halves") == 0) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
			return 1;
		printf("ready\n");
		fflush(stdout);
		if (strcmp(argv[1], "silent") == 0) {
			sleep((unsigned)atoi(argv[4]));
			return 0;
		}
		char buf[4096];
		(void)!write(s, argv[3], strlen(argv[3]));
		if (strcmp(argv[1], "halves") == 0) {
			printf("sent\n");
			fflush(stdout);
			if (fgets(buf, sizeof(buf), stdin) == NULL)
				return 1;
		}
		(void)!write(s, "\n", 1);
		ssize_t n;
		while ((n = read(s, buf, sizeof(buf))) > 0)
			(void)!write(1, buf, (size_t)n);
		return 0;
	}
	if (strcmp(argv[1], "dgram") == 0) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		s = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0)
			return 1;
		printf("ready\n");
		fflush(stdout);
		struct pollfd p = { s, POLLIN, 0 };
		int fd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0600);
		while (poll(&p, 1, atoi(argv[4]) * 1000) == 1) {
			char buf[256];
			ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
			if (n > 0) {
				buf[n++] = '\n';
				(void)!write(fd, buf, (size_t)n);
			}
		}
		unlink(argv[2]);
		return 0;
	}
	if (strcmp(argv[1], "tcp") == 0) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1;
		s = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0)
			return 1;
	} else {	/* unix, mute, reply */
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0)
			return 1;
	}
	if (listen(s, 4) != 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (strcmp(argv[1], "mute") == 0 || strcmp(argv[1], "reply") == 0) {
		struct pollfd q = { s, POLLIN, 0 };
		while (poll(&q, 1, atoi(argv[4]) * 1000) == 1) {
			int c = accept(s, NULL, NULL);
			char buf[512];
			if (c < 0)
				continue;
			if (strcmp(argv[1], "reply") == 0) {
				(void)!read(c, buf, sizeof(buf));
				(void)!write(c, argv[3], strlen(argv[3]));
				(void)!write(c, "\n", 1);
				close(c);
			}	/* mute: keep it open, say nothing */
		}
		unlink(argv[2]);
		return 0;
	}
	struct pollfd p = { s, POLLIN, 0 };
	if (poll(&p, 1, atoi(argv[4]) * 1000) == 1 && accept(s, NULL, NULL) >= 0)
		close(open(argv[3], O_WRONLY | O_CREAT, 0600));
	if (strcmp(argv[1], "unix") == 0)
		unlink(argv[2]);
	return 0;
}
