/* crowd: well-behaved status clients beside hostile ones, and the judge of
 * whether the well-behaved were served (tests/integration/crowd.bats,
 * tests/bench/crowd.sh). See usage() below, or run crowd --help. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "banger/control.h"

#define BUCKET_US 10
#define BUCKETS 100000	/* 10 us each, up to 1 s; slower ones count in the last */
#define MAX_HOSTILE 4000
#define MAX_CLIENTS 512
#define MAX_SECONDS 600

static void usage(FILE *f)
{
	fputs("usage: crowd SOCKET [OPTIONS]   hostile clients, well-behaved ones beside them, a verdict\n"
	      "       crowd ask SOCKET          send stdin's bytes as they are (a NUL too), print the answer\n"
	      "       crowd serve SOCKET LISTEN_AFTER_MS CLOSE SECONDS\n"
	      "                                 a fake daemon: bind SOCKET, print \"ready\", listen only\n"
	      "                                 LISTEN_AFTER_MS later (connections are refused until then),\n"
	      "                                 close the first CLOSE connections without an answer, answer\n"
	      "                                 the next ones with a status of its own pid, for SECONDS\n"
	      "       crowd --help\n"
	      "\n"
	      "Hostile clients (held open all along, in one process):\n"
	      "  --idle N         connect and say nothing\n"
	      "  --half N         connect, send half a request ({\"cmd\":\"sta), stall\n"
	      "  --reconnect      reconnect a hostile connection as soon as the daemon closes it\n"
	      "Well-behaved clients (banger's own client, control_status, one process each):\n"
	      "  --clients N      how many (1; 0: only the hostile ones, for --seconds)\n"
	      "  --interval-ms MS pause between two requests of a client (10; 0: as fast as answered)\n"
	      "  --timeout-ms MS  how long one request may wait in all, retries included (5000)\n"
	      "  --seconds S      how long the well-behaved clients ask, once the hostile are connected (3)\n"
	      "The judge:\n"
	      "  --limit-ms MS    the worst wait allowed for one request (1000: a correctness bound,\n"
	      "                   that no request starves, not a speed aim)\n"
	      "\n"
	      "Prints \"hostile idle=N half=N connects=N\", then\n"
	      "\"requests=N failed=N per_s=X p50_ms=X p99_ms=X worst_ms=X\". Exit 0 when every request\n"
	      "was answered within --limit-ms, 1 when one was not, 2 when the crowd could not be set up,\n"
	      "64 on a bad command line.\n",
	      f);
}

/* What the client processes add up, in a shared mapping. */
struct tally {
	unsigned long requests, failed, worst_us;
	unsigned long bucket[BUCKETS];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static int connect_to(const char *path, int flags)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The hostile process: n connections, the first idle ones silent, the
 * rest with half a request. A slot is -1 while not connected (the
 * backlog was full: tried again next turn), -2 once closed for good. */
static void hostile(const char *path, int idle, int half, int reconnect, int ready_fd)
{
	static int fd[MAX_HOSTILE];
	static struct pollfd p[MAX_HOSTILE];
	int n = idle + half, ready = 0;
	unsigned long connects = 0;
	int64_t give_up = now_us() + 5000000;	/* ready anyway after 5 s */
	for (int i = 0; i < n; i++)
		fd[i] = -1;
	while (!stop) {
		int connected = 0;
		for (int i = 0; i < n; i++) {
			if (fd[i] == -1 && (fd[i] = connect_to(path, SOCK_NONBLOCK)) >= 0) {
				connects++;
				if (i >= idle)
					(void)!send(fd[i], "{\"cmd\":\"sta", 11, MSG_NOSIGNAL);
			}
			connected += fd[i] >= 0 || fd[i] == -2;
			p[i] = (struct pollfd){ fd[i], POLLIN, 0 };
		}
		if (!ready && (connected == n || now_us() > give_up)) {
			(void)!write(ready_fd, "r", 1);
			ready = 1;
		}
		if (poll(p, (nfds_t)n, 10) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			char buf[256];
			if (p[i].revents == 0 || fd[i] < 0 || recv(fd[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
				continue;
			close(fd[i]);	/* the daemon closed it (a deadline, an eviction) */
			fd[i] = reconnect ? -1 : -2;
		}
	}
	printf("hostile idle=%d half=%d connects=%lu\n", idle, half, connects);
	fflush(stdout);
}

static void record(struct tally *t, int64_t us, int ok)
{
	long b = us / BUCKET_US;
	__atomic_add_fetch(&t->requests, 1, __ATOMIC_RELAXED);
	if (!ok)
		__atomic_add_fetch(&t->failed, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&t->bucket[b < BUCKETS ? b : BUCKETS - 1], 1, __ATOMIC_RELAXED);
	unsigned long w = __atomic_load_n(&t->worst_us, __ATOMIC_RELAXED);
	while ((unsigned long)us > w &&
	       !__atomic_compare_exchange_n(&t->worst_us, &w, (unsigned long)us, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* One well-behaved client: a status request after another until end. */
static void client(const char *path, struct tally *t, int64_t end, long interval_ms, long timeout_ms)
{
	int reported = 0;
	while (now_us() < end) {
		struct control_status st;
		struct banger_error err = { 0 };
		int64_t t0 = now_us();
		int ok = control_status(path, (unsigned)timeout_ms, &st, &err) == 0;
		record(t, now_us() - t0, ok);
		if (!ok && reported++ < 5)
			fprintf(stderr, "crowd: a request failed after %.1f ms: %s\n", (now_us() - t0) / 1e3,
				err.msg);
		if (interval_ms > 0)
			sleep_ms(interval_ms);
	}
}

static double quantile_ms(const struct tally *t, double q)
{
	unsigned long want = (unsigned long)((double)t->requests * q), seen = 0;
	for (long b = 0; b < BUCKETS; b++)
		if ((seen += t->bucket[b]) > want || seen == t->requests)
			return (double)(b + 1) * BUCKET_US / 1000.0;
	return 0;
}

/* ask: stdin's bytes to the socket, the answer to stdout. */
static int ask(const char *path)
{
	static char in[65536], out[65536];
	size_t len = fread(in, 1, sizeof(in), stdin);
	int fd = connect_to(path, 0);
	if (fd < 0) {
		fprintf(stderr, "crowd: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (send(fd, in, len, MSG_NOSIGNAL) != (ssize_t)len)
		return 2;
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;
	while (poll(&p, 1, 5000) > 0 && (n = recv(fd, out, sizeof(out), 0)) > 0)
		fwrite(out, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}

/* serve: what a restarting or busy daemon looks like to its clients. */
static int fake_daemon(const char *path, long listen_after_ms, long close_first, long seconds)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fprintf(stderr, "crowd: %s: %s\n", path, strerror(errno));
		return 2;
	}
	printf("ready\n");
	sleep_ms(listen_after_ms);
	if (listen(fd, 64) != 0)
		return 2;
	int64_t end = now_us() + seconds * 1000000;
	char answer[256], buf[256];
	int n = snprintf(answer, sizeof(answer), "{\"version\":\"fake\",\"pid\":%ld,\"uptime_s\":0,"
			 "\"schema\":{\"state\":\"compatible\"}}\n", (long)getpid());
	for (long seen = 0; now_us() < end; seen++) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		if (seen >= close_first) {
			(void)!recv(c, buf, sizeof(buf), 0);	/* the request: one line, one read */
			(void)!send(c, answer, (size_t)n, MSG_NOSIGNAL);
		}
		close(c);
	}
	unlink(path);
	return 0;
}

struct options {
	const char *socket;
	long idle, half, reconnect, clients, interval_ms, timeout_ms, seconds, limit_ms;
};

static int parse(int argc, char *argv[], struct options *o)
{
	static const struct option longs[] = {
		{ "idle", 1, 0, 'i' }, { "half", 1, 0, 'h' }, { "reconnect", 0, 0, 'r' },
		{ "clients", 1, 0, 'c' }, { "interval-ms", 1, 0, 'v' }, { "timeout-ms", 1, 0, 't' },
		{ "seconds", 1, 0, 's' }, { "limit-ms", 1, 0, 'l' }, { "help", 0, 0, 'H' }, { 0, 0, 0, 0 },
	};
	*o = (struct options){ .clients = 1, .interval_ms = 10, .timeout_ms = 5000, .seconds = 3, .limit_ms = 1000 };
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		long *field = c == 'i' ? &o->idle : c == 'h' ? &o->half : c == 'c' ? &o->clients
			: c == 'v' ? &o->interval_ms : c == 't' ? &o->timeout_ms : c == 's' ? &o->seconds
			: c == 'l' ? &o->limit_ms : NULL;
		if (c == 'H') {
			usage(stdout);
			exit(0);
		}
		if (c == 'r') {
			o->reconnect = 1;
			continue;
		}
		char *end;
		if (field == NULL || (*field = strtol(optarg, &end, 10)) < 0 || *end != '\0' || optarg[0] == '\0')
			return -1;
	}
	if (optind != argc - 1 || o->idle + o->half > MAX_HOSTILE || o->clients > MAX_CLIENTS ||
	    o->seconds < 1 || o->seconds > MAX_SECONDS || o->timeout_ms < 1)
		return -1;
	o->socket = argv[optind];
	return 0;
}

/* Room for the hostile connections: the soft descriptor limit up to the
 * hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static pid_t start_hostile(const struct options *o)
{
	int ready[2];
	if (pipe(ready) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		hostile(o->socket, (int)o->idle, (int)o->half, (int)o->reconnect, ready[1]);
		_exit(0);
	}
	close(ready[1]);
	char r;
	if (pid < 0 || read(ready[0], &r, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

static int judge(const struct options *o, pid_t hostile_pid)
{
	struct tally *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return 2;
	static pid_t pids[MAX_CLIENTS];
	int64_t start = now_us(), end = start + o->seconds * 1000000;
	for (long i = 0; i < o->clients; i++)
		if ((pids[i] = fork()) == 0) {
			client(o->socket, t, end, o->interval_ms, o->timeout_ms);
			_exit(0);
		}
	while (o->clients == 0 && now_us() < end && !stop)
		sleep_ms(50);
	for (long i = 0; i < o->clients; i++)
		while (pids[i] > 0 && waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	if (hostile_pid > 0) {
		kill(hostile_pid, SIGTERM);	/* the clients are done; the crowd goes too */
		while (waitpid(hostile_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	double seconds = (double)(now_us() - start) / 1e6;
	printf("requests=%lu failed=%lu per_s=%.0f p50_ms=%.2f p99_ms=%.2f worst_ms=%.1f\n", t->requests,
	       t->failed, (double)t->requests / seconds, quantile_ms(t, 0.5), quantile_ms(t, 0.99),
	       (double)t->worst_us / 1000.0);
	int ok = t->failed == 0 && t->worst_us < (unsigned long)o->limit_ms * 1000 &&
		 (o->clients == 0 || t->requests > 0);
	return ok ? 0 : 1;
}

int main(int argc, char *argv[])
{
	struct options o;
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "ask") == 0)
		return ask(argv[2]);
	if (argc == 6 && strcmp(argv[1], "serve") == 0) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		return fake_daemon(argv[2], atol(argv[3]), atol(argv[4]), atol(argv[5]));
	}
	if (parse(argc, argv, &o) != 0) {
		usage(stderr);
		return 64;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	raise_fd_limit();
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t h = 0;
	if (o.idle + o.half > 0 && (h = start_hostile(&o)) < 0) {
		fputs("crowd: the hostile clients did not start\n", stderr);
		return 2;
	}
	return judge(&o, h);
}
