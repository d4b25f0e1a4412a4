/* kernel_abi: which of x86_64's other system call entries this kernel
 * runs, asked of the kernel itself, for the tests whose assertions depend
 * on it (tests/README.md lists them).
 *
 *   kernel_abi            one line per entry: "i386: yes", "x32: no", ...
 *   kernel_abi ENTRY      "yes" or "no" (vsyscall: "emulate", "xonly" or "none")
 *   kernel_abi --help
 *
 * ENTRY is i386 (int $0x80), x32 (bit 30 of the system call number) or
 * vsyscall (the legacy page at 0xffffffffff600000). A kernel built without
 * CONFIG_IA32_EMULATION, or booted with ia32_emulation=0, has no gate at
 * vector 0x80: int $0x80 is a general protection fault, SIGSEGV before any
 * system call runs. Each attempt that can fault runs in a forked child with
 * the fault signals at their defaults and no core dump, so the answer is
 * the kernel's, whatever handlers the caller installed (cmocka's, the
 * sanitizers'). Exit 0 with an answer; 2 when a child ended in a way no
 * kernel of this kind should produce (the message says how); 64 on usage.
 *
 * Built without sanitizers and without libbanger: nothing of the caller's
 * runtime comes between the instruction and the kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef int (*attempt_fn)(void);

/* Run fn in a child; returns its wait status, or -1 if fork failed. */
static int in_child(attempt_fn fn)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGTRAP };
		struct rlimit no_core = { 0, 0 };
		sigset_t all;
		for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
			signal(faults[i], SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		setrlimit(RLIMIT_CORE, &no_core);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);	/* no core, even through a piped core_pattern */
		_exit(fn());
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

#if defined(__x86_64__) && !defined(__ILP32__)
/* getpid through int $0x80 (i386's number 20): 0 when it answers our pid. */
static int try_i386(void)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "cc", "r8", "r9", "r10", "r11");
	return ret == syscall(SYS_getpid) ? 0 : 1;
}

/* The vsyscall page's first byte: readable only in "emulate" mode. */
static int try_vsyscall_read(void)
{
	(void)*(volatile const unsigned char *)0xffffffffff600000UL;
	return 0;
}

/* time() through the page: executable in "emulate" and "xonly" modes. */
static int try_vsyscall_call(void)
{
	time_t (*vtime)(time_t *) = (time_t (*)(time_t *))0xffffffffff600400UL;
	return vtime(NULL) > 0 ? 0 : 1;
}
#endif

static const char *describe(int status, char *buf, size_t size)
{
	if (status < 0)
		snprintf(buf, size, "fork: %s", strerror(errno));
	else if (WIFEXITED(status))
		snprintf(buf, size, "the child exited with %d", WEXITSTATUS(status));
	else
		snprintf(buf, size, "the child was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	return buf;
}

/* "yes" / "no", or NULL with why in buf. */
static const char *probe_i386(char *buf, size_t size)
{
#if defined(__x86_64__) && !defined(__ILP32__)
	int status = in_child(try_i386);
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return "yes";
	if (status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		return "no";	/* no gate at vector 0x80: a general protection fault */
	describe(status, buf, size);
	return NULL;
#else
	(void)buf, (void)size;
	return "no";
#endif
}

static const char *probe_x32(char *buf, size_t size)
{
	(void)buf, (void)size;
#if defined(__x86_64__) && !defined(__ILP32__)
	/* Without CONFIG_X86_X32_ABI (or with x32 off) the entry answers ENOSYS. */
	return syscall(0x40000000L | SYS_getpid) == getpid() ? "yes" : "no";
#else
	return "no";
#endif
}

static const char *probe_vsyscall(char *buf, size_t size)
{
#if defined(__x86_64__) && !defined(__ILP32__)
	int status = in_child(try_vsyscall_read);
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return "emulate";
	if (status < 0 || !WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV) {
		describe(status, buf, size);
		return NULL;
	}
	status = in_child(try_vsyscall_call);
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return "xonly";
	if (status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		return "none";
	describe(status, buf, size);
	return NULL;
#else
	(void)buf, (void)size;
	return "none";
#endif
}

static const struct {
	const char *name;
	const char *(*probe)(char *buf, size_t size);
} entries[] = { { "i386", probe_i386 }, { "x32", probe_x32 }, { "vsyscall", probe_vsyscall } };
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

static int usage(FILE *out, int code)
{
	fputs("usage: kernel_abi [i386|x32|vsyscall]\n"
	      "Says which of x86_64's other system call entries this kernel runs:\n"
	      "  i386      int $0x80: yes, or no (a general protection fault, SIGSEGV,\n"
	      "            on a kernel without CONFIG_IA32_EMULATION or with ia32_emulation=0)\n"
	      "  x32       bit 30 of the system call number: yes, or no (ENOSYS)\n"
	      "  vsyscall  the legacy page: emulate, xonly or none\n"
	      "Without an argument, one 'NAME: ANSWER' line for each. Exit 0 with an\n"
	      "answer, 2 when the kernel answered in a way none of these explain.\n",
	      out);
	return code;
}

int main(int argc, char *argv[])
{
	char why[160];
	if (argc > 2)
		return usage(stderr, 64);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return usage(stdout, 0);
	for (size_t i = 0; i < N_ENTRIES; i++) {
		if (argc == 2 && strcmp(argv[1], entries[i].name) != 0)
			continue;
		const char *answer = entries[i].probe(why, sizeof(why));
		if (!answer) {
			fprintf(stderr, "kernel_abi: %s: %s\n", entries[i].name, why);
			return 2;
		}
		if (argc == 2) {
			puts(answer);
			return 0;
		}
		printf("%s: %s\n", entries[i].name, answer);
	}
	if (argc == 2) {
		fprintf(stderr, "kernel_abi: unknown entry '%s'\n", argv[1]);
		return usage(stderr, 64);
	}
	return 0;
}
