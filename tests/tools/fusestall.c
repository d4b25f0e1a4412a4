/* fusestall: a FUSE file system that never answers, to hold a process in
 * the kernel where SIGKILL cannot reach it.
 *
 *   fusestall MOUNTPOINT SECONDS
 *
 * Mounts at MOUNTPOINT (root only), answers the kernel's INIT, prints
 * "ready", then reads every request and answers none. A process that
 * looks inside (stat, open) waits for its answer; once the request has
 * been read, FUSE waits for it uninterruptibly, SIGKILL pending or not
 * (fs/fuse/dev.c, request_wait_answer): the state in which a check sat in
 * audit_log_start, made on purpose. After SECONDS or on SIGTERM it closes
 * /dev/fuse, which aborts the connection and ends every waiter, and
 * detaches the mount. Exit 0, or 1 with a message. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char *argv[])
{
	if (argc != 3) {
		fputs("usage: fusestall MOUNTPOINT SECONDS\n", stderr);
		return 64;
	}
	const char *mnt = argv[1];
	time_t until = time(NULL) + atoi(argv[2]);
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("fusestall: /dev/fuse");
		return 1;
	}
	char opts[128];
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("fusestall", mnt, "fuse", MS_NOSUID | MS_NODEV, opts) != 0) {
		perror("fusestall: mount");
		return 1;
	}
	static char buf[FUSE_MIN_READ_BUFFER + 65536];
	int ready = 0, rc = 0;
	while (!stop && time(NULL) < until) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			break;
		if (!(p.revents & POLLIN))
			continue;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < (ssize_t)sizeof(struct fuse_in_header))
			continue;
		const struct fuse_in_header *in = (const struct fuse_in_header *)buf;
		if (in->opcode != FUSE_INIT)
			continue;	/* read, and never answered */
		struct {
			struct fuse_out_header h;
			struct fuse_init_out init;
		} out = { { sizeof(out), 0, in->unique },
			  { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
			    .max_readahead = 65536, .max_write = 65536, .time_gran = 1 } };
		if (write(fd, &out, sizeof(out)) != (ssize_t)sizeof(out)) {
			perror("fusestall: INIT");
			rc = 1;
			break;
		}
		if (!ready) {
			puts("ready");
			fflush(stdout);
			ready = 1;
		}
	}
	close(fd);	/* aborts the connection: every waiter gets an error */
	umount2(mnt, MNT_DETACH);
	return rc;
}
