/* The policy language: every parse error names its line and says what is
 * wrong; valid policies compile; and a compiled filter, installed in a
 * forked child, does what its text says - the kernel is the judge. */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "banger/sandbox.h"

#define MIB (1024 * 1024)

static struct sandbox_policy *parse_ok(const char *text)
{
	struct sandbox_policy *p = NULL;
	struct banger_error err = { 0 };
	if (policy_parse("t.policy", text, strlen(text), &p, &err) != 0)
		fail_msg("rejected: %s\n--- policy:\n%s", err.msg, text);
	assert_non_null(p);
	return p;
}

static void expect_error_len(const char *text, size_t len, const char *prefix, const char *word)
{
	struct sandbox_policy *p = (struct sandbox_policy *)&p;	/* must be reset */
	struct banger_error err = { 0 };
	int rc = policy_parse("t.policy", text, len, &p, &err);
	if (rc != -EINVAL)
		fail_msg("rc %d, want -EINVAL (msg '%s') for:\n%.200s", rc, err.msg, text);
	assert_null(p);
	assert_int_equal(err.code, -EINVAL);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || strstr(err.msg, word) == NULL)
		fail_msg("got '%s', want '%s...%s...'", err.msg, prefix, word);
}

static void expect_error(const char *text, const char *prefix, const char *word)
{
	expect_error_len(text, strlen(text), prefix, word);
}

/* ---- one test per parse error -------------------------------------------- */

static void test_unknown_directive(void **state)
{
	(void)state;
	expect_error("Default kill\n", "t.policy:1: ", "unknown directive 'Default'");
	expect_error("default kill\n\n@include x\n", "t.policy:3: ", "unknown directive '@'");
	expect_error("default kill\n0x12\n", "t.policy:2: ", "unknown directive '0x12'");
}

static void test_unknown_syscall(void **state)
{
	(void)state;
	expect_error("default kill\nread\nfrobnicate\n", "t.policy:3: ",
		     "unknown syscall 'frobnicate'");
	/* Longer than any name, so never looked up. */
	expect_error("default kill\nread_read_read_read_read_read_read_read_read_read_read_read_read_read\n",
		     "t.policy:2: ", "unknown syscall");
#ifdef __x86_64__
	/* libseccomp knows it, for i386: a pseudo-number must not reach the filter. */
	expect_error("default kill\nsocketcall\n", "t.policy:2: ",
		     "unknown syscall 'socketcall' on this architecture");
#endif
}

static void test_unknown_action(void **state)
{
	(void)state;
	expect_error("default kill\nread => deny\n", "t.policy:2: ", "unknown action 'deny'");
	expect_error("default deny\n", "t.policy:1: ", "unknown action 'deny'");
	expect_error("default\n", "t.policy:1: ", "expected an action");
	expect_error("default kill\nread =>\n", "t.policy:2: ", "expected an action");
}

static void test_unknown_constant(void **state)
{
	(void)state;
	expect_error("default kill\nopenat if arg2 == O_READONLY\n", "t.policy:2: ",
		     "unknown constant 'O_READONLY'");
	/* errno names are for `errno`, not for values. */
	expect_error("default kill\nread if arg0 == EPERM\n", "t.policy:2: ", "unknown constant 'EPERM'");
}

static void test_bad_number(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"12abc", "0x", "0xg1", "0755", "00", "18446744073709551616",
		"0x10000000000000000", "-2147483649", "-0", "-0x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "default kill\n# %zu\nread if arg0 == %s\n", i, bad[i]);
		expect_error(text, "t.policy:3: ", "bad number");
	}
	expect_error("default kill\nread => errno 12x\n", "t.policy:2: ", "bad number '12x'");
}

static void test_argument_index_out_of_range(void **state)
{
	(void)state;
	expect_error("default kill\nread if arg6 == 0\n", "t.policy:2: ",
		     "argument index 'arg6' out of range");
	expect_error("default kill\nread if arg10 == 0\n", "t.policy:2: ", "out of range");
	expect_error("default kill\nread if argx == 0\n", "t.policy:2: ", "expected argN, got 'argx'");
	expect_error("default kill\nread if fd == 0\n", "t.policy:2: ", "expected argN");
	expect_error("default kill\nread if\n", "t.policy:2: ", "expected argN, got end of line");
}

static void test_same_argument_twice(void **state)
{
	(void)state;
	expect_error("default kill\nread if arg0 == 1 && arg1 == 2 && arg0 == 3\n", "t.policy:2: ",
		     "arg0 is compared twice");
}

static void test_more_than_six_conditions(void **state)
{
	(void)state;
	expect_error("default kill\n"
		     "read if arg0 == 0 && arg1 == 1 && arg2 == 2 && arg3 == 3 && arg4 == 4 && arg5 == 5 && arg0 == 6\n",
		     "t.policy:2: ", "more than 6 conditions");
}

static void test_missing_default(void **state)
{
	(void)state;
	expect_error("read\nwrite\n", "t.policy:1: ", "no 'default'");
	expect_error("", "t.policy:1: ", "no 'default'");
	expect_error("# only a comment\n", "t.policy:1: ", "no 'default'");
}

static void test_duplicate_default(void **state)
{
	(void)state;
	expect_error("default kill\nread\ndefault errno EPERM\n", "t.policy:3: ",
		     "duplicate 'default' (the first is on line 1)");
}

static void test_line_too_long(void **state)
{
	(void)state;
	char text[1200];
	/* 1024 characters is the longest line. */
	memset(text, '#', sizeof(text));
	memcpy(text, "default kill\n", 13);
	text[13 + 1024] = '\n';
	text[13 + 1025] = '\0';
	struct sandbox_policy *p = parse_ok(text);
	policy_free(p);
	text[13 + 1024] = '#';
	expect_error(text, "t.policy:2: ", "line longer than 1024");
}

static void test_policy_larger_than_one_mib(void **state)
{
	(void)state;
	char *text = malloc(MIB + 1);
	assert_non_null(text);
	memcpy(text, "default kill\n", 13);
	memset(text + 13, '\n', MIB + 1 - 13);
	/* Exactly 1 MiB is fine (a million empty lines). */
	struct sandbox_policy *p = NULL;
	struct banger_error err = { 0 };
	assert_int_equal(policy_parse("t.policy", text, MIB, &p, &err), 0);
	policy_free(p);
	/* One byte more: the error names the line where the limit is crossed,
	 * 1 + the newlines in the first MiB (bytes 12 and 13..MIB-1). */
	expect_error_len(text, MIB + 1, "t.policy:1048565: ", "larger than 1048576 bytes");
	free(text);
}

static void test_nul_byte(void **state)
{
	(void)state;
	static const char text[] = "default kill\nread\0 write\n";
	expect_error_len(text, sizeof(text) - 1, "t.policy:2: ", "NUL byte");
}

static void test_trailing_garbage(void **state)
{
	(void)state;
	expect_error("default kill\nread write\n", "t.policy:2: ", "trailing garbage 'write'");
	expect_error("default kill allow\n", "t.policy:1: ", "trailing garbage 'allow'");
	expect_error("default kill\nread => errno EPERM now\n", "t.policy:2: ", "trailing garbage 'now'");
	expect_error("default kill\nread if arg0 == 1 arg1 == 2\n", "t.policy:2: ",
		     "trailing garbage 'arg1'");
	expect_error("default kill\nread ; write\n", "t.policy:2: ", "trailing garbage ';'");
	/* A control byte is named, never copied into the message. */
	expect_error("default kill\nread \x1b[2J\n", "t.policy:2: ", "trailing garbage byte 0x1b");
}

static void test_errno_out_of_range(void **state)
{
	(void)state;
	expect_error("default kill\nread => errno 0\n", "t.policy:2: ", "errno '0' out of range");
	expect_error("default kill\nread => errno 4096\n", "t.policy:2: ", "errno '4096' out of range");
	expect_error("default kill\nread => errno -1\n", "t.policy:2: ", "out of range");
	expect_error("default kill\nread => errno 0x1000\n", "t.policy:2: ", "out of range");
	expect_error("default kill\nread => errno\n", "t.policy:2: ", "expected an errno");
	expect_error("default kill\nread => errno EWHATEVER\n", "t.policy:2: ",
		     "unknown errno name 'EWHATEVER'");
	/* The kernel takes up to 4095 (MAX_ERRNO); libseccomp 2.5.4 stops at
	 * 4094, and its refusal is reported with the line. */
	expect_error("default kill\nread => errno 4095\n", "t.policy:2: ", "libseccomp refused");
	expect_error("# x\ndefault errno 4095\n", "t.policy:2: ", "libseccomp refused the default action");
}

static void test_rule_with_the_default_action(void **state)
{
	(void)state;
	expect_error("default errno EPERM\nread => errno 1\n", "t.policy:2: ", "rule has the default action");
	expect_error("default allow\nwrite => errno EACCES\nread\n", "t.policy:3: ", "default action");
	/* Even for a syscall this architecture lacks: the mistake is the same. */
	expect_error("default kill\nno_such_call? => kill\n", "t.policy:2: ", "default action");
}

static void test_libseccomp_refusal_is_reported(void **state)
{
	(void)state;
	/* Same conditions, different actions: libseccomp says EEXIST. */
	expect_error("default kill\nwrite if arg0 == 1\nwrite if arg0 == 1 => errno EPERM\n",
		     "t.policy:3: ", "libseccomp refused the rule: File exists");
}

static void test_unconditional_rule_cannot_hide_others(void **state)
{
	(void)state;
	/* libseccomp would let the second rule silently replace the first. */
	expect_error("default kill\nwrite if arg0 == 1\nwrite => errno EPERM\n", "t.policy:3: ",
		     "'write' already has a rule (line 2)");
	expect_error("default kill\nwrite\nwrite if arg0 == 1 => errno EPERM\n", "t.policy:3: ",
		     "'write' already has an unconditional rule (line 2)");
	expect_error("default kill\nread\n\nread => errno EPERM\n", "t.policy:4: ",
		     "already has an unconditional rule");
}

static void test_inequalities_only_in_a_syscalls_single_rule(void **state)
{
	(void)state;
	/* libseccomp 2.5.4 never returns from adding the second rule. */
	expect_error("default kill\nread if arg0 >= 3 && arg1 < 3\nread if arg0 >= 3 && arg1 == 2\n",
		     "t.policy:3: ", "'read' has another conditional rule (line 2)");
	expect_error("default kill\nread if arg0 == 3\nread if arg1 != 2 => errno EPERM\n",
		     "t.policy:3: ", "may only use == and &");
	/* Alone, or among equalities, every operator is fine. */
	policy_free(parse_ok("default kill\n"
			     "read if arg0 >= 3 && arg1 < 3\n"
			     "write if arg0 != 2\n"
			     "close if arg0 == 1 && arg1 & 4 == 4\n"
			     "close if arg0 == 2\n"));
}

static void test_a_rule_covered_by_another_with_its_action_is_refused(void **state)
{
	(void)state;
	/* The fuzzer's find, cut down: libseccomp 2.5.4 folds the first two
	 * into the third and leaks what it removes (768 bytes). */
	expect_error("default kill\n"
		     "exit if arg0 == 1 && arg2 == 0\n"
		     "exit if arg0 == 1 && arg1 == 0\n"
		     "exit if arg0 == 1\n",
		     "t.policy:4: ", "'exit' rule matches every call that line 2 matches, with the same action");
	/* The other order: the narrower rule comes second and does nothing. */
	expect_error("default kill\nexit if arg0 == 1\nexit if arg0 == 1 && arg2 == 0\n", "t.policy:3: ",
		     "'exit' rule does nothing: line 2 has the same action");
	/* A repeated rule. */
	expect_error("default kill\nseccomp if arg0 == 0 => errno EINVAL\n\nseccomp if arg0 == 0 => errno 22\n",
		     "t.policy:4: ", "does nothing: line 2");
	/* Covered through masks: 0x11 has the low bits 01, 5 has a zero upper half. */
	expect_error("default kill\nwrite if arg0 & 0x3 == 1\nwrite if arg0 & 0xff == 0x11\n", "t.policy:3: ",
		     "does nothing: line 2");
	expect_error("default kill\nclose if arg0 == 5\nclose if arg0 & 0xffffffff00000000 == 0\n",
		     "t.policy:3: ", "so line 2 does nothing");
	/* Rules that only overlap, or differ in action, each do something. */
	policy_free(parse_ok("default kill\n"
			     "mmap if arg2 & 0x6 == 0\n"
			     "mmap if arg2 & 0x6 == PROT_WRITE\n"
			     "mmap if arg2 & 0x6 == PROT_EXEC\n"
			     "exit if arg0 == 1 && arg2 == 0\n"
			     "exit if arg0 == 1 && arg1 == 0\n"
			     "exit if arg0 == 2\n"
			     "write if arg0 & 0x1 == 1\n"
			     "write if arg0 & 0x2 == 2 => errno EPERM\n"
			     "write if arg0 & 0x3 == 3 => errno EACCES\n"));
}

static void test_condition_errors(void **state)
{
	(void)state;
	expect_error("default kill\nread if arg0 = 1\n", "t.policy:2: ",
		     "expected a comparison operator, got '='");
	expect_error("default kill\nread if arg0\n", "t.policy:2: ", "got end of line");
	expect_error("default kill\nread if arg0 ==\n", "t.policy:2: ", "expected a value");
	expect_error("default kill\nread if arg0 & 3 != 1\n", "t.policy:2: ", "expected '==' after the mask");
	expect_error("default kill\nread if arg0 & 0x1 == 0x3\n", "t.policy:2: ",
		     "value 0x3 has bits outside the mask 0x1");
	expect_error("default kill\nread if arg0 & 0xff == AT_FDCWD\n", "t.policy:2: ", "outside the mask");
	expect_error("default kill\nread if arg0 != -1\n", "t.policy:2: ", "negative value");
	expect_error("default kill\nread if arg0 < AT_FDCWD\n", "t.policy:2: ", "negative value");
	expect_error("default kill\nread if arg0 == AT_FDCWD|1\n", "t.policy:2: ", "negative value");
	expect_error("default kill\nread if arg0 & -1 == 0\n", "t.policy:2: ", "mask cannot be negative");
	/* It would always hold, and libseccomp drops it without a word. */
	expect_error("default kill\nread if arg0 & 0 == 0\n", "t.policy:2: ", "a mask of 0 compares no bit");
	expect_error("default kill\nread if arg1 == 1 && arg0 & O_RDONLY == 0\n", "t.policy:2: ",
		     "a mask of 0");
	expect_error("default kill\nread if arg0 == 1 &&\n", "t.policy:2: ", "expected argN");
}

/* ---- valid policies ------------------------------------------------------ */

static char *pfc_of(const struct sandbox_policy *p)
{
	struct banger_error err = { 0 };
	int fd = memfd_create("pfc", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(policy_export_pfc(p, fd, &err), 0);
	off_t size = lseek(fd, 0, SEEK_END);
	assert_true(size > 0);
	char *text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)size, 0), size);
	close(fd);
	return text;
}

static void test_comments_blank_lines_and_spacing(void **state)
{
	(void)state;
	struct sandbox_policy *p = parse_ok("# a policy\n"
					    "\n"
					    "   \t\n"
					    "default kill # trailing comment\n"
					    "read# no space needed\n"
					    "write if arg0==1=>errno EPERM\r\n"
					    "close\t=>\tallow\n"
					    "getpid");	/* no final newline */
	const void *filter = NULL;
	size_t len = policy_bpf(p, &filter);
	assert_non_null(filter);
	assert_true(len > 4 && len <= BPF_MAXINSNS);
	char *pfc = pfc_of(p);
	assert_non_null(strstr(pfc, "action ERRNO(1)"));
	assert_non_null(strstr(pfc, "action KILL_PROCESS"));
	free(pfc);
	policy_free(p);
}

static void test_every_operator_and_action(void **state)
{
	(void)state;
	struct sandbox_policy *p = parse_ok(
		"default kill\n"
		"read if arg0 == 1 && arg1 != 2 && arg2 < 3 && arg3 <= 4 && arg4 > 5 && arg5 >= 6\n"
		"write if arg0 & 0x3 == 1 => errno EACCES\n"
		"write if arg0 & 0xf0|0x0f == 0x12 => errno 13\n"
		"close => trap\n"
		"getpid => log\n"
		"getppid => errno 0xd\n"
		"getuid if arg0 == 18446744073709551615\n"
		"getgid if arg0 == 0xffffffffffffffff\n");
	char *pfc = pfc_of(p);
	/* libseccomp writes a < b as "if (a >= b) else ...". */
	assert_non_null(strstr(pfc, "$a2.lo32 >= 3"));
	assert_non_null(strstr(pfc, "$a5.lo32 >= 6"));
	assert_non_null(strstr(pfc, "$a0.lo32 & 0x00000003 == 1"));
	assert_non_null(strstr(pfc, "$a0.lo32 & 0x000000ff == 18"));
	assert_non_null(strstr(pfc, "action TRAP"));
	assert_non_null(strstr(pfc, "action LOG"));
	free(pfc);
	policy_free(p);
}

static void test_errno_names(void **state)
{
	(void)state;
	struct sandbox_policy *p = parse_ok("default errno ENOSYS\n"
					    "read => errno EPERM\n"
					    "write => errno EACCES\n"
					    "close => errno EINVAL\n"
					    "openat => errno ENOENT\n"
					    "unlink => errno EROFS\n"
					    "getpid => errno 4094\n"
					    "exit_group => allow\n");
	char *pfc = pfc_of(p);
	assert_non_null(strstr(pfc, "action ERRNO(1)"));
	assert_non_null(strstr(pfc, "action ERRNO(13)"));
	assert_non_null(strstr(pfc, "action ERRNO(22)"));
	assert_non_null(strstr(pfc, "action ERRNO(2)"));
	assert_non_null(strstr(pfc, "action ERRNO(30)"));
	assert_non_null(strstr(pfc, "action ERRNO(4094)"));
	assert_non_null(strstr(pfc, "action ERRNO(38)"));	/* the default */
	free(pfc);
	policy_free(p);
}

static void test_optional_syscalls_are_skipped_when_unknown(void **state)
{
	(void)state;
	struct sandbox_policy *p = parse_ok("default kill\n"
					    "rseq?\n"
					    "no_such_call? if arg0 == 1 => errno EPERM\n"
#ifdef __x86_64__
					    "socketcall?\n"
#endif
					    "read\n");
	char *pfc = pfc_of(p);
	assert_non_null(strstr(pfc, "\"rseq\""));
	assert_null(strstr(pfc, "socketcall"));
	free(pfc);
	policy_free(p);
	/* Still parsed: a mistake behind a '?' is reported. */
	expect_error("default kill\nno_such_call? if arg9 == 1\n", "t.policy:2: ", "out of range");
}

static void test_every_named_constant_resolves(void **state)
{
	(void)state;
	static const char *const names[] = {
		"O_RDONLY", "O_WRONLY", "O_RDWR", "O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC",
		"O_APPEND", "O_NONBLOCK", "O_DIRECTORY", "O_NOFOLLOW", "O_CLOEXEC", "O_PATH",
		"O_TMPFILE", "O_ACCMODE", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL", "F_GETLK",
		"F_SETLK", "F_SETLKW", "F_OFD_GETLK", "F_OFD_SETLK", "F_OFD_SETLKW", "F_DUPFD",
		"F_DUPFD_CLOEXEC", "TCGETS", "TIOCGWINSZ", "PROT_READ", "PROT_WRITE", "PROT_EXEC",
		"PROT_NONE", "MAP_PRIVATE", "MAP_SHARED", "MAP_ANONYMOUS", "MAP_FIXED", "SIG_BLOCK",
		"SIG_UNBLOCK", "SIG_SETMASK", "AT_FDCWD", "AT_EMPTY_PATH", "AT_SYMLINK_NOFOLLOW",
		"PR_SET_NO_NEW_PRIVS", "PR_GET_NO_NEW_PRIVS", "PR_SET_SECCOMP", "PR_GET_SECCOMP",
		"SECCOMP_SET_MODE_FILTER", "SECCOMP_GET_ACTION_AVAIL", "SECCOMP_GET_NOTIF_SIZES",
		"MADV_DONTNEED", "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_PRIVATE_FLAG", "CLOCK_REALTIME",
		"CLOCK_MONOTONIC",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "default kill\nioctl if arg1 == %s\n", names[i]);
		policy_free(parse_ok(text));
	}
}

static void test_negative_values_compare_the_low_32_bits(void **state)
{
	(void)state;
	/* AT_FDCWD is -100: either register form the kernel reads as -100. */
	struct sandbox_policy *p = parse_ok("default kill\n"
					    "openat if arg0 == AT_FDCWD\n"
					    "close if arg0 == -1\n"
					    "read if arg0 & 0xffffffff == -100\n");
	char *pfc = pfc_of(p);
	assert_non_null(strstr(pfc, "$a0.lo32 & 0xffffffff == 4294967196"));	/* 0xffffff9c */
	assert_non_null(strstr(pfc, "$a0.lo32 & 0xffffffff == 4294967295"));
	assert_null(strstr(pfc, "$a0.hi32 == 4294967295"));
	free(pfc);
	policy_free(p);
	/* The most negative int is fine. */
	policy_free(parse_ok("default kill\nread if arg0 == -2147483648\n"));
}

/* ---- policy_load ---------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void test_load_reads_files_and_refuses_the_rest(void **state)
{
	(void)state;
	char *dir = tmpdir_make();
	char *good = strdup(path_in(dir, "good.policy"));
	struct sandbox_policy *p = NULL;
	struct banger_error err = { 0 };
	write_file(good, "default kill\nread\n");
	assert_int_equal(policy_load(good, &p, &err), 0);
	policy_free(p);

	/* A symlink is followed (policies ship in /usr/share). */
	assert_int_equal(symlink(good, path_in(dir, "link.policy")), 0);
	assert_int_equal(policy_load(path_in(dir, "link.policy"), &p, &err), 0);
	policy_free(p);

	/* A parse error is named after the path. */
	write_file(path_in(dir, "bad.policy"), "default kill\nread => nope\n");
	char want[512];
	snprintf(want, sizeof(want), "%s:2: unknown action 'nope'", path_in(dir, "bad.policy"));
	assert_int_equal(policy_load(path_in(dir, "bad.policy"), &p, &err), -EINVAL);
	assert_null(p);
	assert_string_equal(err.msg, want);

	assert_int_equal(policy_load(path_in(dir, "missing"), &p, &err), -ENOENT);
	assert_null(p);
	assert_int_equal(policy_load(dir, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
	/* A FIFO: refused, and open() does not hang waiting for a writer. */
	assert_int_equal(mkfifo(path_in(dir, "fifo"), 0600), 0);
	assert_int_equal(policy_load(path_in(dir, "fifo"), &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));

	int fd = open(path_in(dir, "huge"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MIB + 1), 0);
	close(fd);
	assert_int_equal(policy_load(path_in(dir, "huge"), &p, &err), -EFBIG);
	assert_null(p);
	assert_non_null(strstr(err.msg, "larger than 1048576 bytes"));
	free(good);
	tmpdir_remove(dir);
}

static void test_the_shipped_policy_compiles(void **state)
{
	(void)state;
	struct sandbox_policy *p = NULL;
	struct banger_error err = { 0 };
	const char *path = "policy/check-migrations.policy";
	if (access(path, R_OK) != 0)
		skip();	/* run from outside the source tree */
	if (policy_load(path, &p, &err) != 0)
		fail_msg("%s", err.msg);
	const void *filter;
	assert_true(policy_bpf(p, &filter) <= BPF_MAXINSNS);
	policy_free(p);
}

/* ---- the compiled filter, in the kernel ------------------------------------ */

typedef int (*confined_fn)(void);

/* Leave without the sanitizers' exit hooks: their _exit() interceptor runs
 * LeakSanitizer, whose syscalls the policy under test does not allow. */
__attribute__((noreturn)) static void exit_raw(int code)
{
	syscall(SYS_exit_group, code);
	__builtin_unreachable();
}

/* The fault signals back at SIG_DFL, by the raw system call: cmocka's
 * handlers (and a sanitizer's, which intercepts sigaction()) would turn a
 * SIGSEGV in a confined child into a report whose write() the filter kills
 * - a SIGSYS that no system call under test earned. */
static void default_fault_signals(void)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS };
	struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } dfl = { 0 };
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		syscall(SYS_rt_sigaction, faults[i], &dfl, NULL, sizeof(dfl.mask));
}

/* Fork; the child installs p's BPF the way the runner does (no_new_privs,
 * then seccomp(2) with policy_bpf()'s program) and exits with body()'s
 * result. Returns the child's wait status. */
static int run_confined(const char *text, confined_fn body)
{
	struct sandbox_policy *p = parse_ok(text);
	const void *filter;
	size_t len = policy_bpf(p, &filter);
	assert_true(len > 0 && len <= BPF_MAXINSNS);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sock_fprog prog = { .len = (unsigned short)len,
					   .filter = (struct sock_filter *)filter };
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);	/* SIGSYS would dump core */
		default_fault_signals();
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(100);
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
			_exit(101);
		exit_raw(body());
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	policy_free(p);
	return status;
}

static void assert_exited_zero(int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child: %s %d", WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void assert_killed_by_sigsys(int status)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("child: %s %d, want SIGSYS", WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static const char live_policy[] =
	"default kill\n"
	"exit_group\n"
	"close\n"
	"getpid\n"
	"uname => errno EACCES\n"
	"# read-only opens relative to the cwd work; write-only ones are refused\n"
	"openat if arg0 == AT_FDCWD && arg2 & O_ACCMODE == O_RDONLY\n"
	"openat if arg0 == AT_FDCWD && arg2 & O_ACCMODE == O_WRONLY => errno EACCES\n";

static int allowed_errno_and_masked_rules(void)
{
	struct utsname u;
	int fd;
	if (syscall(SYS_getpid) <= 0)
		return 1;
	if (uname(&u) != -1 || errno != EACCES)
		return 2;
	fd = openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 3;
	close(fd);
	if (openat(AT_FDCWD, "/dev/null", O_WRONLY | O_CLOEXEC) != -1 || errno != EACCES)
		return 4;
	/* AT_FDCWD sign-extended, as a caller passing a long does... */
	fd = (int)syscall(SYS_openat, (long)AT_FDCWD, "/dev/null", (long)O_RDONLY);
	if (fd < 0)
		return 5;
	close(fd);
	/* ...and zero-extended, as glibc 2.36's openat() on x86_64 does. */
	fd = (int)syscall(SYS_openat, (long)(unsigned)AT_FDCWD, "/dev/null", (long)O_RDONLY);
	if (fd < 0)
		return 6;
	close(fd);
	return 0;
}

static void test_filter_allows_refuses_and_reads_flags(void **state)
{
	(void)state;
	assert_exited_zero(run_confined(live_policy, allowed_errno_and_masked_rules));
}

static int open_read_write(void)
{
	openat(AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);
	return 99;	/* survived */
}

static int open_from_a_directory_fd(void)
{
	openat(0, "/dev/null", O_RDONLY | O_CLOEXEC);	/* arg0 is not AT_FDCWD */
	return 99;
}

static int call_getppid(void)
{
	syscall(SYS_getppid);
	return 99;
}

static void test_filter_kills_what_it_does_not_allow(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_confined(live_policy, call_getppid));
	assert_killed_by_sigsys(run_confined(live_policy, open_read_write));
	assert_killed_by_sigsys(run_confined(live_policy, open_from_a_directory_fd));
}

static int errno_default_then_kill_rule(void)
{
	if (syscall(SYS_getuid) != -1 || errno != EPERM)
		return 1;
	syscall(SYS_getppid);
	return 99;
}

static void test_kill_rule_under_an_errno_default(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_confined("default errno EPERM\n"
					     "exit_group => allow\n"
					     "getppid => kill\n",
					     errno_default_then_kill_rule));
}

#if defined(__x86_64__) && !defined(__ILP32__)
static int call_x32_getpid(void)
{
	if (syscall(SYS_getpid) <= 0)
		return 1;	/* the native call is allowed */
	syscall(0x40000000 | SYS_getpid);
	return 99;
}

static long i386_getpid(void)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "cc", "r8", "r9", "r10", "r11");	/* __NR_getpid on i386 */
	return ret;
}

static int call_i386_getpid(void)
{
	if (syscall(SYS_getpid) <= 0)
		return 1;
	i386_getpid();
	return 99;
}

/* int $0x81: no kernel has a gate there, so the CPU raises a general
 * protection fault (SIGSEGV) before any system call - exactly what
 * int $0x80 does on a kernel without the IA32 entry. The no-IA32 branch's
 * assertion is proved on this child, on every kernel. */
static int fault_like_a_missing_i386_entry(void)
{
	if (syscall(SYS_getpid) <= 0)
		return 1;
	__asm__ volatile("int $0x81" ::: "memory");
	return 99;
}

/* tests/tools/kernel_abi's answer for i386 ("yes" or "no"), run beside
 * this binary (BUILD_DIR/tests/unit/..): true when the kernel runs it. A
 * probe that cannot answer fails the test, it is never a skip. */
static bool kernel_runs_i386(void)
{
	char self[4096], probe[4200], answer[16] = "";
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(probe, sizeof(probe), "%s/../kernel_abi", self);
	int out[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		execl(probe, probe, "i386", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	ssize_t got = read(out[0], answer, sizeof(answer) - 1);
	close(out[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	answer[got > 0 ? got : 0] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    (strcmp(answer, "yes\n") != 0 && strcmp(answer, "no\n") != 0))
		fail_msg("%s i386: status 0x%x, answer '%s'", probe, (unsigned)status, answer);
	return answer[0] == 'y';
}

/* What an i386 call under the filter must come to: SIGSYS where the kernel
 * runs i386 calls (the filter's ABI kill), SIGSEGV where it has no entry
 * (the CPU stopped it before the kernel saw a system call; a SIGSYS there
 * would be a report of something that did not happen). NULL when status is
 * that, else what is wrong. */
static const char *i386_outcome_wrong(int status, bool i386_runs)
{
	static char why[96];
	int want = i386_runs ? SIGSYS : SIGSEGV;
	if (WIFSIGNALED(status) && WTERMSIG(status) == want)
		return NULL;
	snprintf(why, sizeof(why), "child: %s %d, want signal %d (%s)",
		 WIFEXITED(status) ? "exit" : "signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), want, strsignal(want));
	return why;
}
#endif

static void test_other_abis_are_killed(void **state)
{
	(void)state;
#if defined(__x86_64__) && !defined(__ILP32__)
	static const char text[] = "default kill\nexit_group\ngetpid\n";
	/* x32 shares x86_64's audit arch: the syscall number's bit 30 is what
	 * the filter must catch. The filter runs before the kernel looks the
	 * number up, so this holds with CONFIG_X86_X32_ABI or without. */
	assert_killed_by_sigsys(run_confined(text, call_x32_getpid));
	bool runs = kernel_runs_i386();
	print_message("# kernel_abi i386: %s: the i386 call must die by %s\n", runs ? "yes" : "no",
		      runs ? "SIGSYS (the filter's ABI kill)" : "SIGSEGV (no entry: a fault before any system call)");
	const char *wrong = i386_outcome_wrong(run_confined(text, call_i386_getpid), runs);
	if (wrong)
		fail_msg("i386 (this kernel runs it: %s): %s", runs ? "yes" : "no", wrong);
#else
	skip();
#endif
}

/* Both branches of i386_outcome_wrong on real children, whatever this
 * kernel is: a fault before any system call passes only the no-entry
 * branch, a filter kill only the other. */
static void test_the_i386_assertion_tells_a_fault_from_a_kill(void **state)
{
	(void)state;
#if defined(__x86_64__) && !defined(__ILP32__)
	static const char text[] = "default kill\nexit_group\ngetpid\n";
	int fault = run_confined(text, fault_like_a_missing_i386_entry);
	assert_null(i386_outcome_wrong(fault, false));
	assert_non_null(i386_outcome_wrong(fault, true));
	int kill = run_confined(live_policy, call_getppid);
	assert_null(i386_outcome_wrong(kill, true));
	assert_non_null(i386_outcome_wrong(kill, false));
#else
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_directive),
		cmocka_unit_test(test_unknown_syscall),
		cmocka_unit_test(test_unknown_action),
		cmocka_unit_test(test_unknown_constant),
		cmocka_unit_test(test_bad_number),
		cmocka_unit_test(test_argument_index_out_of_range),
		cmocka_unit_test(test_same_argument_twice),
		cmocka_unit_test(test_more_than_six_conditions),
		cmocka_unit_test(test_missing_default),
		cmocka_unit_test(test_duplicate_default),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_policy_larger_than_one_mib),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_errno_out_of_range),
		cmocka_unit_test(test_rule_with_the_default_action),
		cmocka_unit_test(test_libseccomp_refusal_is_reported),
		cmocka_unit_test(test_unconditional_rule_cannot_hide_others),
		cmocka_unit_test(test_inequalities_only_in_a_syscalls_single_rule),
		cmocka_unit_test(test_a_rule_covered_by_another_with_its_action_is_refused),
		cmocka_unit_test(test_condition_errors),
		cmocka_unit_test(test_comments_blank_lines_and_spacing),
		cmocka_unit_test(test_every_operator_and_action),
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_optional_syscalls_are_skipped_when_unknown),
		cmocka_unit_test(test_every_named_constant_resolves),
		cmocka_unit_test(test_negative_values_compare_the_low_32_bits),
		cmocka_unit_test(test_load_reads_files_and_refuses_the_rest),
		cmocka_unit_test(test_the_shipped_policy_compiles),
		cmocka_unit_test(test_filter_allows_refuses_and_reads_flags),
		cmocka_unit_test(test_filter_kills_what_it_does_not_allow),
		cmocka_unit_test(test_kill_rule_under_an_errno_default),
		cmocka_unit_test(test_other_abis_are_killed),
		cmocka_unit_test(test_the_i386_assertion_tells_a_fault_from_a_kill),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
