/* ROLLBACK's "stop": end every process still running the binary that the
 * rollback just took away, before the database is restored under it.
 *
 * Why: the new bangerd may be serving (an unhealthy update), or - when an
 * update was killed while its restart command ran - still starting, and
 * about to migrate the database. Restoring the backup under it would let
 * it write the migration again after the restore, and the old binary would
 * then refuse the database. Only the replaced binary's processes are
 * stopped: once .prev is back at TARGET, nothing can start the new binary
 * again, and a supervisor that restarts a stopped daemon starts the old
 * one, which is harmless.
 *
 * A process's /proc/PID/exe reads "TARGET (deleted)" once TARGET names
 * another file than the one it was started from; pidfds keep a reused pid
 * from being signalled. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "banger/clock.h"
#include "internal.h"

#define MAX_STOPPED 64

/* Wait until every pidfd reports its process gone, or deadline. Returns
 * how many are still running. */
static int wait_gone(int *fds, int n, int64_t deadline)
{
	int left = n;
	while (left > 0) {
		struct pollfd p[MAX_STOPPED];
		int m = 0;
		for (int i = 0; i < n; i++)
			if (fds[i] >= 0)
				p[m++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		int64_t wait = deadline - banger_now_ms();
		if (wait <= 0 || poll(p, (nfds_t)m, (int)wait) <= 0)
			break;
		for (int k = 0; k < m; k++) {
			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			for (int i = 0; i < n; i++)
				if (fds[i] == p[k].fd) {
					close(fds[i]);
					fds[i] = -1;
					left--;
				}
		}
	}
	return left;
}

int update_stop_replaced(const char *target, unsigned timeout_s,
			 void (*stopping)(void *ctx, int pid), void *ctx)
{
	char want[PATH_MAX + 16];
	snprintf(want, sizeof(want), "%s (deleted)", target);
	DIR *proc = opendir("/proc");
	if (proc == NULL)
		return -errno;
	int fds[MAX_STOPPED] = { 0 }, n = 0;
	struct dirent *e;
	while ((e = readdir(proc)) != NULL && n < MAX_STOPPED) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
		char link[64], exe[PATH_MAX + 16];
		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		ssize_t len = readlink(link, exe, sizeof(exe) - 1);
		if (pid == getpid() || len < 0)
			continue;
		exe[len] = '\0';
		if (strcmp(exe, want) != 0)
			continue;
		int fd = pidfd_open(pid, 0);
		if (fd < 0)
			continue;	/* gone already */
		if (pidfd_send_signal(fd, SIGTERM, NULL, 0) != 0) {
			close(fd);
			continue;
		}
		stopping(ctx, (int)pid);
		fds[n++] = fd;
	}
	closedir(proc);
	int left = wait_gone(fds, n, banger_now_ms() + (int64_t)timeout_s * 1000);
	if (left > 0) {
		for (int i = 0; i < n; i++)
			if (fds[i] >= 0)
				(void)pidfd_send_signal(fds[i], SIGKILL, NULL, 0);	/* wait_gone judges */
		left = wait_gone(fds, n, banger_now_ms() + 2000);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return left > 0 ? -ETIMEDOUT : n;
}
