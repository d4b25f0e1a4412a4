/* listen: a server that records whether anyone connected.
 *   listen tcp PORT MARKER SECONDS | listen unix PATH MARKER SECONDS
 * Listens (printing "ready" once it does), waits up to SECONDS for one
 * connection, and creates MARKER if one came. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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
	int s;
	if (strcmp(argv[1], "tcp") == 0) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1;
		s = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0)
			return 1;
	} else {
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
	struct pollfd p = { s, POLLIN, 0 };
	if (poll(&p, 1, atoi(argv[4]) * 1000) == 1 && accept(s, NULL, NULL) >= 0)
		close(open(argv[3], O_WRONLY | O_CREAT, 0600));
	if (strcmp(argv[1], "unix") == 0)
		unlink(argv[2]);
	return 0;
}
