/* A hostile "bangerd": built once per attack (-DATTACK="name"), staged by
 * `banger update --check-only --from` and run in the sandbox exactly as the
 * real bangerd would be: argv "bangerd --db DB --check-migrations", an
 * empty environment.
 *
 * Convention: when an attack works, the program says so on stderr
 * ("ATTACK WORKED: ..."), prints a valid verdict and exits 0, so that a
 * broken sandbox shows as exit 0 from banger plus a trace the test finds.
 * When the kernel refuses, it exits 42 ("blocked: ...") - unless the
 * policy killed it first (SIGSYS). Either way banger must exit 3.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef ATTACK
#error "build with -DATTACK=\"name\""
#endif
#ifndef HOSTILE_DIR
#error "build with -DHOSTILE_DIR=\"the directory of the hostile binaries\""
#endif

static const char *db;	/* argv[2] */

static char *sibling(const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s", db);
	char *slash = strrchr(buf, '/');
	snprintf(slash ? slash + 1 : buf, sizeof(buf) - (size_t)(slash ? slash + 1 - buf : 0), "%s", name);
	return buf;
}

static int worked(const char *what)
{
	fprintf(stderr, "ATTACK WORKED: %s\n", what);
	printf("compatible: applied [1 2 3]\n");
	return 0;
}

static int result(long rc, const char *what)
{
	if (rc >= 0)
		return worked(what);
	fprintf(stderr, "blocked: %s: %s\n", what, strerror(errno));
	return 42;
}

static int attack_write_db(void) { int fd = open(db, O_RDWR); if (fd >= 0) (void)!write(fd, "X", 1); return result(fd, "open the database read-write"); }
static int attack_truncate_db(void) { return result(truncate(db, 0), "truncate"); }
static int attack_unlink_db(void) { return result(unlink(db), "unlink"); }
static int attack_rename_db(void) { return result(rename(db, sibling("stolen.db")), "rename"); }
static int attack_chmod_db(void) { return result(chmod(db, 0666), "chmod"); }
static int attack_chown_db(void) { return result(chown(db, 65534, 65534), "chown"); }
static int attack_fchown_db(void) { int fd = open(db, O_RDONLY); return result(fchown(fd, 65534, 65534), "fchown"); }
static int attack_utimes_db(void) { return result(utimensat(AT_FDCWD, db, NULL, 0), "utimensat"); }
static int attack_xattr_db(void) { return result(setxattr(db, "user.pwned", "1", 1, 0), "setxattr"); }
static int attack_create_file(void) { return result(open(sibling("created"), O_WRONLY | O_CREAT, 0644), "create a file"); }
static int attack_create_tmp(void) { return result(open("/tmp/banger-hostile-created", O_RDONLY | O_CREAT, 0644), "create a file in /tmp"); }
static int attack_tmpfile(void) { return result(open(sibling(""), O_TMPFILE | O_RDWR, 0600), "O_TMPFILE"); }
static int attack_mkdir(void) { return result(mkdir(sibling("dir"), 0700), "mkdir"); }
static int attack_link(void) { return result(link(db, sibling("hardlink")), "link"); }
static int attack_symlink(void) { return result(symlink(db, sibling("symlink")), "symlink"); }
static int attack_mkfifo(void) { return result(mknod(sibling("fifo"), S_IFIFO | 0600, 0), "mkfifo"); }

static int attack_tcp_connect(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(47931),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return result(s < 0 ? s : connect(s, (struct sockaddr *)&a, sizeof(a)), "connect TCP");
}

static int attack_unix_connect(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sibling("bangerd.sock"));
	return result(s < 0 ? s : connect(s, (struct sockaddr *)&a, sizeof(a)), "connect to the control socket");
}

static int attack_exec_shell(void)
{
	char *argv[] = { "sh", "-c", "echo compatible: applied [1 2 3]", NULL };
	execve("/bin/sh", argv, NULL);
	return result(-1, "exec /bin/sh");
}

static int attack_fork(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	return result(pid, "fork");
}

static int attack_clone3(void)
{
	long rc = syscall(SYS_clone3, NULL, 0);
	return result(rc, "clone3");
}

static int attack_kill_parent(void) { return result(kill(getppid(), SIGKILL), "kill the parent"); }
static int attack_kill_all(void) { return result(kill(-1, SIGKILL), "kill every process"); }
static int attack_kill_init(void) { return result(kill(1, SIGTERM), "signal init"); }
static int attack_ptrace(void) { return result(ptrace(PTRACE_ATTACH, getppid(), 0, 0), "ptrace the parent"); }

static int attack_read_secret(void)
{
	/* The test puts a root-only file next to the state dir, not in it. */
	char path[4096];
	snprintf(path, sizeof(path), "%s", db);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	slash = strrchr(path, '/');
	snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path), "secret");
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return result(fd, "read a file outside the state dir");
	char buf[128] = { 0 };
	(void)!read(fd, buf, sizeof(buf) - 1);
	fprintf(stderr, "ATTACK WORKED: secret=%s\n", buf);
	printf("compatible: applied [1 2 3] %s\n", buf);
	return 0;
}

static int attack_read_shadow(void) { return result(open("/etc/shadow", O_RDONLY), "read /etc/shadow"); }
static int attack_io_uring(void) { struct io_uring_params p = { 0 }; return result(syscall(SYS_io_uring_setup, 8, &p), "io_uring_setup"); }

static int attack_openat2(void)
{
	struct open_how how = { .flags = O_RDWR };
	return result(syscall(SYS_openat2, AT_FDCWD, db, &how, sizeof(how)), "openat2 read-write");
}

static int attack_unshare(void) { return result(unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare"); }
static int attack_mount(void) { return result(mount("none", "/tmp", "tmpfs", 0, NULL), "mount"); }
static int attack_setuid_caps(void) { return result(syscall(SYS_capget, NULL, NULL), "capget"); }
static int attack_prctl_caps(void) { return result(prctl(PR_CAPBSET_READ, 0, 0, 0, 0), "read the bounding set"); }

static int attack_tiocsti(void)
{
	char c = 'x';
	int fd = open("/dev/tty", O_RDONLY);
	return result(ioctl(fd >= 0 ? fd : 0, TIOCSTI, &c), "TIOCSTI");
}

static int attack_ioctl_high_bits(void)
{
	/* TCGETS with garbage in the upper 32 bits: the kernel ignores them,
	 * so a filter comparing all 64 would be fooled (CVE-2019-10063). Here
	 * the number is TIOCSTI's with high bits set. */
	char c = 'x';
	return result(syscall(SYS_ioctl, 0, 0xdead000000000000UL | TIOCSTI, &c), "TIOCSTI with high bits");
}

static int attack_inherited_fds(void)
{
	for (int fd = 3; fd < 64; fd++)
		if (write(fd, "pwned\n", 6) > 0)
			return worked("wrote to an inherited descriptor");
	return result(-1, "write to inherited descriptors");
}

static int attack_environment(void)
{
	extern char **environ;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "BANGER_SECRET", 13) == 0) {
			fprintf(stderr, "ATTACK WORKED: %s\n", *e);
			printf("compatible: applied [1 2 3] %s\n", *e);
			return 0;
		}
	errno = ENOENT;
	return result(-1, "find a secret in the environment");
}

static int attack_flood(void)
{
	static char buf[65536];
	memset(buf, 'A', sizeof(buf));
	for (;;)
		if (write(1, buf, sizeof(buf)) < 0)
			return result(-1, "flood stdout");
}

static int attack_escapes(void)
{
	printf("\033]0;pwned\007\033[2J\033[31mcompatible: applied [1 2 3]\n");
	fprintf(stderr, "\033]0;pwned\007\x9b" "2J and a reason\n");
	return 0;
}

static int attack_escapes_stderr(void)
{
	fprintf(stderr, "\033[2J\033]0;pwned\007 failure with escapes\n");
	return 5;
}

static int attack_hang(void)
{
	for (;;) {
		struct timespec t = { 3600, 0 };
		nanosleep(&t, NULL);
	}
	return 0;
}

static int attack_line_disagrees(void) { printf("compatible: applied [1 2 3]\n"); return 2; }
static int attack_line_disagrees_2(void) { printf("incompatible: unknown applied [99] (binary older than DB)\n"); return 0; }
static int attack_usage_exit_1(void) { fprintf(stderr, "usage: bangerd [--bogus]\n"); return 1; }
static int attack_no_line(void) { return 0; }

static int attack_x32(void) { return result(syscall(0x40000000 | SYS_getpid), "x32 getpid"); }

static int attack_i386(void)
{
	long rc;
	/* int 0x80 with eax = 17: i386's `break`, which the kernel answers
	 * ENOSYS, and on x86_64 the number of pread64, which the policy
	 * allows. A filter that read it as a native call would let it
	 * through, and we would be here: only the ABI kill stops it. */
	__asm__ volatile("int $0x80" : "=a"(rc) : "a"(17) : "memory");
	(void)rc;
	return worked("an i386 system call got past the filter");
}

/* int $0x81: no kernel has a gate at that vector, so the CPU raises a
 * general protection fault (SIGSEGV) before any system call - what
 * int $0x80 is on a kernel without the IA32 entry. The i386 test's
 * no-entry assertion is proved on it, whatever this kernel is. */
static int attack_no_gate(void)
{
	__asm__ volatile("int $0x81" ::: "memory");
	return worked("int $0x81 returned");
}

static int attack_wx_mapping(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return result(p == MAP_FAILED ? -1 : 0, "a writable and executable mapping");
}

/* mov eax, 42; ret: code that says it ran. */
#define RET42 { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 }
static unsigned char data_code[16] = RET42;	/* in .data: writable */

/* Run code from the stack: only an executable stack lets it return. */
static int attack_exec_stack(void)
{
	unsigned char code[16] = RET42;
	int (*fn)(void) = (int (*)(void))(void *)code;
	__asm__ volatile("" ::: "memory");
	return fn() == 42 ? worked("ran code from the stack") : result(-1, "run code from the stack");
}

/* Run code from the data segment, which was writable at exec. */
static int attack_exec_data(void)
{
	int (*fn)(void) = (int (*)(void))(void *)data_code;
	__asm__ volatile("" ::: "memory");
	return fn() == 42 ? worked("ran code from the data segment") : result(-1, "run code from data");
}

static int attack_seccomp_listener(void)
{
	return result(syscall(SYS_seccomp, 1 /* SET_MODE_FILTER */, 8 /* NEW_LISTENER */, NULL),
		      "a seccomp notification listener");
}

/* A filter of our own that returns SECCOMP_RET_LOG: every later system call
 * would write an audit record (a flood, and a child stuck in the kernel's
 * audit backlog). Three calls show it worked; no need to flood. */
static int attack_seccomp_log(void)
{
	struct sock_filter allow_and_log[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG) };
	struct sock_fprog prog = { 1, allow_and_log };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		return result(-1, "load a filter that logs every system call");
	for (int i = 0; i < 3; i++)
		(void)getpid();
	return worked("loaded a filter that logs every system call");
}

/* The same filter through prctl(), the older door. */
static int attack_seccomp_prctl(void)
{
	struct sock_filter allow_and_log[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG) };
	struct sock_fprog prog = { 1, allow_and_log };
	return result(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), "prctl(PR_SET_SECCOMP)");
}

static int attack_bpf(void) { return result(syscall(SYS_bpf, 0, NULL, 0), "bpf"); }
static int attack_keyctl(void) { return result(syscall(SYS_keyctl, 0, 0, 0, 0, 0), "keyctl"); }
static int attack_add_key(void) { return result(syscall(SYS_add_key, "user", "x", "y", 1, -2), "add_key"); }
static int attack_setns(void) { return result(setns(0, 0), "setns"); }

static int attack_process_vm_readv(void)
{
	char buf[16];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x1000, sizeof(buf) };
	return result(process_vm_readv(getppid(), &local, 1, &remote, 1, 0), "process_vm_readv on the parent");
}

/* The test puts a 0600 root file in the state dir, where Landlock lets the
 * child read, and gives the database to another user: only the child's
 * identity (the database's owner, not root) stands in the way. */
static int attack_read_root_only(void)
{
	int fd = open(sibling("root-only"), O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "blocked: read a root-only file as uid %u: %s\n", (unsigned)geteuid(),
			strerror(errno));
		return 42;
	}
	char buf[128] = { 0 };
	(void)!read(fd, buf, sizeof(buf) - 1);
	fprintf(stderr, "ATTACK WORKED: as uid %u: %s\n", (unsigned)geteuid(), buf);
	printf("compatible: applied [1 2 3] %s\n", buf);
	return 0;
}

/* A read lock on the -shm's WAL write-lock byte (WALINDEX_LOCK_OFFSET 120,
 * WAL_WRITE_LOCK 0), held for as long as the child lives: a live writer's
 * BEGIN IMMEDIATE waits on it. */
static int attack_lock_shm(void)
{
	char shm[4096];
	snprintf(shm, sizeof(shm), "%s-shm", db);
	int fd = open(shm, O_RDONLY), rc = -1;
	struct flock lock = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 120, .l_len = 1 };
	/* The writer holds that byte while it commits: try again meanwhile. */
	for (int i = 0; fd >= 0 && i < 2000 && (rc = fcntl(fd, F_SETLK, &lock)) != 0; i++) {
		struct timespec t = { 0, 1000 * 1000 };
		nanosleep(&t, NULL);
	}
	if (rc != 0)
		return result(-1, "a read lock on the -shm write-lock byte");
	fprintf(stderr, "holding a read lock on the -shm write-lock byte\n");
	for (;;) {
		struct timespec t = { 3600, 0 };
		nanosleep(&t, NULL);
	}
	return 0;
}

/* The operator's terminal: any pty, the controlling tty, the console.
 * Opened, not read (a read would wait for, and steal, what is typed). */
static int attack_read_terminal(void)
{
	char path[32];
	for (int n = -2; n < 256; n++) {
		if (n == -2)
			snprintf(path, sizeof(path), "/dev/tty");
		else if (n == -1)
			snprintf(path, sizeof(path), "/dev/console");
		else
			snprintf(path, sizeof(path), "/dev/pts/%d", n);
		int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0) {
			char what[64];
			snprintf(what, sizeof(what), "opened the terminal %s for reading", path);
			return worked(what);
		}
	}
	return result(-1, "open a terminal");
}

/* execveat() with an absolute path ignores the descriptor that the
 * policy's arg0 == 3 (and arg4 == AT_EMPTY_PATH) checks: run another
 * program, exec_marker. */
static int attack_exec_by_path(void)
{
	char *argv[] = { "exec_marker", NULL };
	syscall(SYS_execveat, 3, HOSTILE_DIR "/exec_marker", argv, NULL, AT_EMPTY_PATH);
	return result(-1, "execveat of another program by its absolute path");
}

static int attack_exec_marker(void) { return worked("another program ran: exec by path"); }

/* What a path reveals without being read: stat, access, O_PATH. */
static int attack_metadata(void)
{
	char secret[4096];
	snprintf(secret, sizeof(secret), "%s", db);
	char *slash = strrchr(secret, '/');
	*slash = '\0';
	slash = strrchr(secret, '/');
	snprintf(slash + 1, sizeof(secret) - (size_t)(slash + 1 - secret), "secret");
	const char *paths[] = { secret, "/etc/passwd", "/etc/shadow", "/root", "/home", "/proc/1",
				"/usr/bin", "/usr/sbin", "/usr/lib/openssh/ssh-keysign",
				"/usr/lib/systemd", "/usr/lib/x86_64-linux-gnu/utempter/utempter", "/dev/pts",
				HOSTILE_DIR, NULL };
	for (int i = 0; paths[i]; i++) {
		struct stat st;
		char what[4200];
		int fd = open(paths[i], O_PATH);
		if (stat(paths[i], &st) == 0 || access(paths[i], F_OK) == 0 || fd >= 0) {
			snprintf(what, sizeof(what), "%s is there (stat, access or O_PATH)", paths[i]);
			return worked(what);
		}
	}
	return result(-1, "stat, access or O_PATH outside the state dir and the libraries");
}

/* The machine's root was pivoted to /.banger-old-root in the child's
 * mount namespace and detached (src/sandbox/mount_ns.c, step 4). Through
 * that name, through ".." from it, through a descriptor of it: nothing of
 * the machine's, at most an empty directory of our own root. Then
 * umount2 of that name, which the policy must kill. */
#define OLD_ROOT "/.banger-old-root"
static int attack_old_root(void)
{
	char via_db[4200];
	snprintf(via_db, sizeof(via_db), OLD_ROOT "%s", db);
	const char *paths[] = { OLD_ROOT "/etc/passwd", OLD_ROOT "/etc/shadow", OLD_ROOT "/bin/sh",
				OLD_ROOT "/usr/bin", OLD_ROOT "/root", OLD_ROOT "/proc/1",
				OLD_ROOT "/dev/pts", OLD_ROOT "/tmp", OLD_ROOT HOSTILE_DIR, via_db,
				OLD_ROOT "/./etc/passwd", OLD_ROOT "/../" OLD_ROOT "/etc/passwd", NULL };
	for (int i = 0; paths[i]; i++) {
		struct stat st;
		char what[4300];
		int fd = open(paths[i], O_PATH);
		if (stat(paths[i], &st) == 0 || access(paths[i], F_OK) == 0 || fd >= 0) {
			snprintf(what, sizeof(what), "%s is there (stat, access or O_PATH)", paths[i]);
			return worked(what);
		}
	}
	/* The name itself, "..", and a descriptor: our root's directory and
	 * our root, never a directory of the machine's (once detached, the
	 * name is removed too). */
	struct stat root, cover, up, at;
	int dir = open(OLD_ROOT, O_PATH | O_DIRECTORY);
	if (dir >= 0) {
		if (stat("/", &root) != 0 || stat(OLD_ROOT, &cover) != 0 || fstatat(dir, "..", &up, 0) != 0)
			return worked("the directory over the machine's root cannot be looked at");
		if (cover.st_dev != root.st_dev || up.st_dev != root.st_dev || up.st_ino != root.st_ino)
			return worked(OLD_ROOT " or its .. is not our own root's");
		if (fstatat(dir, "etc", &at, 0) == 0 || fstatat(dir, "../" OLD_ROOT "/etc", &at, 0) == 0 ||
		    openat(dir, "etc/passwd", O_RDONLY) >= 0)
			return worked("the machine's /etc through a descriptor of " OLD_ROOT);
	} else if (errno != ENOENT) {
		return worked(OLD_ROOT " is there but not a directory of ours");
	}
	return result(syscall(SYS_umount2, OLD_ROOT, MNT_DETACH), "umount2 where the machine's root was");
}

/* A "compatible: applied [...]" line of exactly len printable bytes: the
 * ids 1, 2, 3, ... then one wider id (10...0) that fills the room left. */
static void valid_line_of(char *line, size_t len)
{
	size_t n = (size_t)snprintf(line, len + 1, "compatible: applied [1");
	for (int id = 2;; id++) {
		char tok[16];
		size_t t = (size_t)snprintf(tok, sizeof(tok), " %d", id);
		if (n + t + 1 > len)
			break;
		size_t room_after = len - 1 - (n + t);
		if (room_after != 0 && room_after < t + 1)
			break;	/* no room left for a wider last id */
		memcpy(line + n, tok, t);
		n += t;
	}
	size_t room = len - 1 - n;
	if (room > 0) {
		line[n++] = ' ';
		line[n++] = '1';
		memset(line + n, '0', room - 2);
		n += room - 2;
	}
	line[n++] = ']';
	line[n] = '\0';
}

/* A valid 1,023-byte line (all the room the runner keeps), then, in the
 * same write, more text and the newline: what was cut could say anything. */
static int attack_long_line(void)
{
	char out[1100];
	valid_line_of(out, 1023);
	strcat(out, " but not really\n");
	(void)!write(1, out, strlen(out));
	return 0;
}

/* The same cut, but the rest of the line arrives in a second write. */
static int attack_long_line_split(void)
{
	char out[1100];
	valid_line_of(out, 1023);
	(void)!write(1, out, strlen(out));
	(void)!write(1, " 99]\n", 5);
	return 0;
}

/* The positive control for both: a line of exactly 1,023 bytes whose
 * newline comes in a later write is whole, and trusted. */
static int attack_line_exact_fit(void)
{
	char out[1100];
	valid_line_of(out, 1023);
	(void)!write(1, out, strlen(out));
	(void)!write(1, "\n", 1);
	return 0;
}

/* Look into the state dir's "stall": the test mounts there a FUSE file
 * system that never answers (tests/tools/fusestall), and we wait in the
 * kernel where SIGKILL cannot end us. */
static int attack_stall_in_kernel(void)
{
	struct stat st;
	return result(stat(sibling("stall/x"), &st), "stat in the stalled file system");
}

static bool rehearsing;	/* run as --rehearse-migrations, not --check-migrations */

/* The positive control: an honest answer is relayed. Its check says
 * migrations are needed, so banger rehearses them: it answers that too,
 * as a real bangerd would. */
static int attack_honest(void)
{
	if (rehearsing) {
		printf("rehearsed: applied [3] in 1 ms; copy of 4096 bytes is consistent\n");
		return 0;
	}
	printf("migrations needed: pending [3] (binary will apply on first Open)\n");
	return 1;
}

static const struct {
	const char *name;
	int (*fn)(void);
} attacks[] = {
#define A(n) { #n, attack_##n }
	A(write_db), A(truncate_db), A(unlink_db), A(rename_db), A(chmod_db), A(chown_db),
	A(fchown_db), A(utimes_db), A(xattr_db), A(create_file), A(create_tmp), A(tmpfile),
	A(mkdir), A(link), A(symlink), A(mkfifo), A(tcp_connect), A(unix_connect),
	A(exec_shell), A(fork), A(clone3), A(kill_parent), A(kill_all), A(kill_init), A(ptrace),
	A(read_secret), A(read_shadow), A(io_uring), A(openat2), A(unshare), A(mount),
	A(setuid_caps), A(prctl_caps), A(tiocsti), A(ioctl_high_bits), A(inherited_fds),
	A(environment), A(flood), A(escapes), A(escapes_stderr), A(hang), A(line_disagrees),
	A(line_disagrees_2), A(usage_exit_1), A(no_line), A(x32), A(i386), A(no_gate), A(wx_mapping),
	A(seccomp_listener), A(seccomp_log), A(seccomp_prctl), A(bpf), A(keyctl), A(add_key), A(setns), A(process_vm_readv),
	A(stall_in_kernel), A(exec_stack), A(exec_data), A(long_line), A(long_line_split), A(line_exact_fit),
	A(read_root_only), A(lock_shm), A(read_terminal), A(exec_by_path), A(exec_marker), A(metadata),
	A(old_root),
	A(honest),
};

int main(int argc, char *argv[])
{
	db = argc > 2 ? argv[2] : "/nonexistent";
	rehearsing = argc > 3 && strcmp(argv[3], "--rehearse-migrations") == 0;
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		if (strcmp(attacks[i].name, ATTACK) == 0)
			return attacks[i].fn();
	fprintf(stderr, "hostile: unknown attack %s\n", ATTACK);
	return 99;
}
