/* Seccomp policies: a small text language, compiled with libseccomp into the
 * BPF program the sandbox installs in its child.
 *
 * The language, one statement a line:
 *
 *   # a comment runs to the end of the line; blank lines are ignored
 *   default ACTION                            # exactly once; required
 *   SYSCALL [if COND {&& COND}] [=> ACTION]   # ACTION defaults to allow
 *
 *   SYSCALL := NAME | NAME?      a name libseccomp knows for the native
 *                                architecture; with the trailing '?', a
 *                                name this architecture (or this
 *                                libseccomp) lacks skips the rule silently
 *                                instead of being an error
 *   COND    := argN OP VALUE | argN & MASK == VALUE       N in 0..5
 *   OP      := == | != | < | <= | > | >=
 *   VALUE, MASK := TERM {| TERM}          the terms or-ed together
 *   TERM    := DECIMAL | 0xHEX | -DECIMAL | CONSTANT
 *   ACTION  := allow | kill | trap | log | errno E
 *   E       := DECIMAL | 0xHEX (1..4095) | an errno name (EPERM, EACCES...)
 *                (libseccomp 2.5.4 itself refuses 4095: reported as its
 *                refusal, with the line)
 *
 * Tokens are words ([A-Za-z0-9_]+, a '?' may end a syscall name, a '-' may
 * start a number) and the operators above; spaces between them are optional
 * (`arg0==1`). A decimal has no leading zero (is 0755 octal? we do not
 * guess). CONSTANT is one of the names in constants[] below, with the value
 * of this host's headers. `kill` kills the whole process (not only the
 * thread), `trap` sends SIGSYS, `log` allows and logs.
 *
 * What a condition means: libseccomp compares the full 64-bit register,
 * unsigned. `argN & MASK == VALUE` is (arg & MASK) == VALUE; a VALUE with a
 * bit outside MASK could never match and is an error (libseccomp would
 * silently drop that bit).
 *
 * Negative numbers (-1, or AT_FDCWD, which is -100) are for int arguments -
 * descriptors, pids, dirfds - and stand for their 32-bit pattern. The kernel
 * reads an int argument from the low 32 bits of its register and ignores the
 * upper half, and callers disagree about that half: glibc 2.36's openat()
 * on x86_64 passes AT_FDCWD zero-extended (0x00000000ffffff9c), while
 * syscall(2) with a long passes it sign-extended (0xffffffffffffff9c). So
 * `argN == -100` compiles to `argN & 0xffffffff == 0xffffff9c`, which
 * matches every form the kernel takes for -100 and nothing else; under an
 * explicit mask a negative VALUE is likewise its low 32 bits; with the
 * other operators (or inside '|') a negative value is an error, because no
 * unsigned 64-bit comparison means what the author meant for all callers.
 * (To compare a 64-bit argument against a negative number, write its 64-bit
 * two's complement in hex.) The same reasoning applies to positive values in
 * deny rules: `argN == 1` does not match 0x100000001, which the kernel
 * reads as 1 when the argument is an int; mask with 0xffffffff there.
 *
 * Rules for one syscall: libseccomp lets an unconditional rule silently
 * override every conditional rule of the same syscall (and keeps only the
 * first of two unconditional ones). Both are refused here, so that what a
 * policy says is what the filter does. Two rules with the same conditions
 * and different actions are refused by libseccomp itself. And when a
 * syscall has several conditional rules, their conditions may only use ==
 * and the masked ==: libseccomp 2.5.4 never returns (seen for minutes) from
 * merging some of them that use <, <=, >, >= or != (found by the fuzzer;
 * two rules suffice:
 * `read if arg0 >= 3 && arg1 < 3` and `read if arg0 >= 3 && arg1 == 2`).
 * A syscall's only conditional rule may use every operator.
 *
 * Nor may a rule cover another rule of its syscall that has the same
 * action: when every call that rule B matches, rule A matches too (each of
 * A's conditions is implied by B's condition on the same argument), B does
 * nothing, and a rule that does nothing is a mistake, whichever of the two
 * comes first. That includes a rule repeated word for word. libseccomp
 * 2.5.4 folds such a B into A itself, and when A comes after two rules
 * that share its conditions and differ on other arguments, it loses the
 * nodes it removes: 768 bytes in 8 allocations that seccomp_release()
 * never frees (found by the fuzzer, cut down to
 * `exit if arg0 == 1 && arg2 == 0`, `exit if arg0 == 1 && arg1 == 0`,
 * then `exit if arg0 == 1`; see tests/fuzz/known/). For the same reason a
 * mask of 0 is an error: it compares no bit, so the condition always holds
 * and libseccomp drops it, which made `argN & 0 == 0` an invisible way to
 * write a covering rule.
 *
 * Limits: a line has at most 1024 characters, a policy at most 1 MiB, and
 * neither holds a NUL byte. `default` may stand on any line (by convention,
 * the first).
 *
 * Every error names the line: "NAME:LINE: reason" (a missing `default` is
 * reported on line 1; a policy over 1 MiB on the line where it crosses the
 * limit). A rule whose action is the default action is an error too: it
 * does nothing, so it is a mistake.
 *
 * The filter holds the native ABI only; every syscall of another ABI -
 * i386 and x32 on x86_64 - meets the bad-architecture action, which is
 * kill-process. (x32 shares x86_64's audit arch; libseccomp's x86_64 filter
 * sends numbers with the x32 bit to the bad-architecture action too.)
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "banger/sandbox.h"

#define POLICY_MAX_BYTES (1024 * 1024)
#define POLICY_LINE_MAX 1024
#define POLICY_MAX_CONDS 6	/* a syscall has at most six arguments */
#define SYSCALL_NAME_MAX 64	/* longer than any syscall name */

struct sandbox_policy {
	scmp_filter_ctx ctx;		/* kept for policy_export_pfc() */
	struct sock_filter *bpf;	/* exported once, so that the runner
					 * needs no allocation after fork */
	size_t bpf_len;			/* instructions */
};

struct named_value {
	const char *name;
	int64_t value;
};

#define NAMED(x) { #x, (x) }

/* The constants a condition may name. Add one when a policy needs it. */
static const struct named_value constants[] = {
	NAMED(O_RDONLY), NAMED(O_WRONLY), NAMED(O_RDWR), NAMED(O_ACCMODE),
	NAMED(O_CREAT), NAMED(O_EXCL), NAMED(O_NOCTTY), NAMED(O_TRUNC), NAMED(O_APPEND),
	NAMED(O_NONBLOCK), NAMED(O_DIRECTORY), NAMED(O_NOFOLLOW), NAMED(O_CLOEXEC),
	NAMED(O_PATH), NAMED(O_TMPFILE),
	NAMED(F_GETFD), NAMED(F_SETFD), NAMED(F_GETFL), NAMED(F_SETFL),
	NAMED(F_GETLK), NAMED(F_SETLK), NAMED(F_SETLKW),
	NAMED(F_OFD_GETLK), NAMED(F_OFD_SETLK), NAMED(F_OFD_SETLKW),
	NAMED(F_DUPFD), NAMED(F_DUPFD_CLOEXEC),
	NAMED(TCGETS), NAMED(TIOCGWINSZ),
	NAMED(PROT_READ), NAMED(PROT_WRITE), NAMED(PROT_EXEC), NAMED(PROT_NONE),
	NAMED(MAP_PRIVATE), NAMED(MAP_SHARED), NAMED(MAP_ANONYMOUS), NAMED(MAP_FIXED),
	NAMED(SIG_BLOCK), NAMED(SIG_UNBLOCK), NAMED(SIG_SETMASK),
	NAMED(AT_FDCWD), NAMED(AT_EMPTY_PATH), NAMED(AT_SYMLINK_NOFOLLOW),
	NAMED(PR_SET_NO_NEW_PRIVS), NAMED(PR_GET_NO_NEW_PRIVS),
	NAMED(PR_SET_SECCOMP), NAMED(PR_GET_SECCOMP),
	NAMED(SECCOMP_SET_MODE_FILTER), NAMED(SECCOMP_GET_ACTION_AVAIL),
	NAMED(SECCOMP_GET_NOTIF_SIZES),
	NAMED(MADV_DONTNEED),
	NAMED(FUTEX_WAIT), NAMED(FUTEX_WAKE), NAMED(FUTEX_PRIVATE_FLAG),
	NAMED(CLOCK_REALTIME), NAMED(CLOCK_MONOTONIC),
};

/* The names `errno` takes, besides a number. */
static const struct named_value errno_names[] = {
	NAMED(EPERM), NAMED(ENOENT), NAMED(ESRCH), NAMED(EINTR), NAMED(EIO), NAMED(ENXIO),
	NAMED(E2BIG), NAMED(ENOEXEC), NAMED(EBADF), NAMED(ECHILD), NAMED(EAGAIN),
	NAMED(ENOMEM), NAMED(EACCES), NAMED(EFAULT), NAMED(EBUSY), NAMED(EEXIST),
	NAMED(EXDEV), NAMED(ENODEV), NAMED(ENOTDIR), NAMED(EISDIR), NAMED(EINVAL),
	NAMED(ENFILE), NAMED(EMFILE), NAMED(ENOTTY), NAMED(ETXTBSY), NAMED(EFBIG),
	NAMED(ENOSPC), NAMED(ESPIPE), NAMED(EROFS), NAMED(EMLINK), NAMED(EPIPE),
	NAMED(ERANGE), NAMED(ENAMETOOLONG), NAMED(ENOSYS), NAMED(ENOTSUP),
	NAMED(EOPNOTSUPP), NAMED(EAFNOSUPPORT), NAMED(EPROTONOSUPPORT),
	NAMED(ETIMEDOUT), NAMED(ENOTSOCK), NAMED(ENOTCONN), NAMED(EDOM),
};

/* ---- the lexer ----------------------------------------------------------- */

enum token_kind {
	TOKEN_END,	/* end of line or start of a comment */
	TOKEN_WORD,
	TOKEN_OP,
	TOKEN_BAD,	/* one byte that starts no token */
};

struct token {
	enum token_kind kind;
	const char *s;
	size_t n;
};

struct lexer {
	const char *p, *end;
};

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static void lex(struct lexer *lx, struct token *t)
{
	static const char *const two[] = { "==", "!=", "<=", ">=", "&&", "=>" };
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r'))
		lx->p++;
	t->s = lx->p;
	t->n = 0;
	t->kind = TOKEN_END;
	if (lx->p == lx->end || *lx->p == '#')
		return;
	const char *q = lx->p;
	if (is_word_char(*q) || (*q == '-' && q + 1 < lx->end && isdigit((unsigned char)q[1]))) {
		q++;
		while (q < lx->end && is_word_char(*q))
			q++;
		if (q < lx->end && *q == '?')
			q++;
		t->kind = TOKEN_WORD;
	} else {
		t->kind = TOKEN_BAD;
		q++;
		for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++) {
			if (lx->end - lx->p >= 2 && memcmp(lx->p, two[i], 2) == 0) {
				t->kind = TOKEN_OP;
				q = lx->p + 2;
				break;
			}
		}
		if (t->kind == TOKEN_BAD && strchr("<>&|", *lx->p) != NULL)
			t->kind = TOKEN_OP;
	}
	t->n = (size_t)(q - lx->p);
	lx->p = q;
}

static bool token_is(const struct token *t, const char *s)
{
	return t->kind != TOKEN_END && t->n == strlen(s) && memcmp(t->s, s, t->n) == 0;
}

/* A token for a message: quoted, cut short, never a control byte (the
 * message may reach a terminal). Words and operators are printable by
 * construction; a bad byte may be anything. */
static const char *describe(const struct token *t, char *buf, size_t size)
{
	if (t->kind == TOKEN_END)
		snprintf(buf, size, "end of line");
	else if (t->kind == TOKEN_BAD && !isgraph((unsigned char)t->s[0]))
		snprintf(buf, size, "byte 0x%02x", (unsigned char)t->s[0]);
	else if (t->n > 40)
		snprintf(buf, size, "'%.40s...'", t->s);
	else
		snprintf(buf, size, "'%.*s'", (int)t->n, t->s);
	return buf;
}

/* ---- the parser ---------------------------------------------------------- */

struct parser {
	const char *name;	/* the policy's name, for messages */
	unsigned line;
	struct banger_error *err;
};

__attribute__((format(printf, 2, 3)))
static int parse_error(const struct parser *ps, const char *fmt, ...)
{
	char reason[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return banger_error_set(ps->err, -EINVAL, "%s:%u: %s", ps->name, ps->line, reason);
}

enum line_kind {
	LINE_EMPTY,
	LINE_DEFAULT,
	LINE_RULE,
};

struct parsed_line {
	enum line_kind kind;
	uint32_t action;
	char syscall[SYSCALL_NAME_MAX];	/* without the '?' */
	int nr;				/* -1: an optional syscall this arch lacks */
	unsigned ncond;
	struct scmp_arg_cmp cond[POLICY_MAX_CONDS];
};

struct value {
	uint64_t v;
	bool negative;	/* v holds the low 32 bits of a negative int */
};

/* "0", a decimal without a leading zero, or 0x followed by hex digits. */
static bool parse_number(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (size_t i = 2; i < n; i++) {
			int d;
			if (s[i] >= '0' && s[i] <= '9')
				d = s[i] - '0';
			else if (s[i] >= 'a' && s[i] <= 'f')
				d = s[i] - 'a' + 10;
			else if (s[i] >= 'A' && s[i] <= 'F')
				d = s[i] - 'A' + 10;
			else
				return false;
			if (v > UINT64_MAX >> 4)
				return false;
			v = v << 4 | (uint64_t)d;
		}
	} else {
		if (n == 0 || (n > 1 && s[0] == '0'))
			return false;
		for (size_t i = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return false;
			uint64_t d = (uint64_t)(s[i] - '0');
			if (v > (UINT64_MAX - d) / 10)
				return false;
			v = v * 10 + d;
		}
	}
	*out = v;
	return true;
}

static const struct named_value *lookup(const struct named_value *table, size_t count,
					const struct token *t)
{
	for (size_t i = 0; i < count; i++)
		if (token_is(t, table[i].name))
			return &table[i];
	return NULL;
}

static int parse_term(const struct parser *ps, const struct token *t, struct value *out)
{
	char d[64];
	uint64_t v;
	out->negative = false;
	if (t->kind != TOKEN_WORD)
		return parse_error(ps, "expected a value, got %s", describe(t, d, sizeof(d)));
	if (t->s[0] == '-') {
		/* The 32-bit pattern of an int: see the top of this file. */
		if (!parse_number(t->s + 1, t->n - 1, &v) || v == 0 || v > (uint64_t)INT32_MAX + 1)
			return parse_error(ps, "bad number %s (a negative number must fit in an int)",
					   describe(t, d, sizeof(d)));
		out->v = (uint32_t)-(int64_t)v;
		out->negative = true;
		return 0;
	}
	if (isdigit((unsigned char)t->s[0])) {
		if (!parse_number(t->s, t->n, &out->v))
			return parse_error(ps, "bad number %s", describe(t, d, sizeof(d)));
		return 0;
	}
	const struct named_value *c = lookup(constants, sizeof(constants) / sizeof(constants[0]), t);
	if (c == NULL)
		return parse_error(ps, "unknown constant %s", describe(t, d, sizeof(d)));
	out->negative = c->value < 0;
	out->v = out->negative ? (uint32_t)c->value : (uint64_t)c->value;
	return 0;
}

/* VALUE := TERM {| TERM}. Leaves t on the token after the value. */
static int parse_value(const struct parser *ps, struct lexer *lx, struct token *t,
		       struct value *out)
{
	int rc = parse_term(ps, t, out);
	lex(lx, t);
	while (rc == 0 && token_is(t, "|")) {
		struct value more = { 0 };
		lex(lx, t);
		rc = parse_term(ps, t, &more);
		if (rc == 0 && (out->negative || more.negative))
			rc = parse_error(ps, "a negative value cannot be combined with '|'");
		if (rc == 0)
			out->v |= more.v;
		lex(lx, t);
	}
	return rc;
}

/* argN OP VALUE | argN & MASK == VALUE. Leaves t on the token after it. */
static int parse_condition(const struct parser *ps, struct lexer *lx, struct token *t,
			   struct scmp_arg_cmp *cond)
{
	static const struct {
		const char *op;
		enum scmp_compare cmp;
	} ops[] = {
		{ "==", SCMP_CMP_EQ }, { "!=", SCMP_CMP_NE }, { "<", SCMP_CMP_LT },
		{ "<=", SCMP_CMP_LE }, { ">", SCMP_CMP_GT }, { ">=", SCMP_CMP_GE },
	};
	char d[64], d2[64];
	struct value mask = { 0 }, value = { 0 };
	int rc;
	if (t->kind != TOKEN_WORD || t->n < 4 || memcmp(t->s, "arg", 3) != 0)
		return parse_error(ps, "expected argN, got %s", describe(t, d, sizeof(d)));
	for (size_t i = 3; i < t->n; i++)
		if (!isdigit((unsigned char)t->s[i]))
			return parse_error(ps, "expected argN, got %s", describe(t, d, sizeof(d)));
	if (t->n != 4 || t->s[3] > '5')
		return parse_error(ps, "argument index %s out of range (arg0 to arg5)",
				   describe(t, d, sizeof(d)));
	cond->arg = (unsigned)(t->s[3] - '0');
	lex(lx, t);
	if (token_is(t, "&")) {
		lex(lx, t);
		rc = parse_value(ps, lx, t, &mask);
		if (rc != 0)
			return rc;
		if (mask.negative)
			return parse_error(ps, "a mask cannot be negative");
		if (!token_is(t, "=="))
			return parse_error(ps, "expected '==' after the mask, got %s",
					   describe(t, d, sizeof(d)));
		lex(lx, t);
		rc = parse_value(ps, lx, t, &value);
		if (rc != 0)
			return rc;
		if ((value.v & ~mask.v) != 0) {
			snprintf(d, sizeof(d), "0x%llx", (unsigned long long)value.v);
			snprintf(d2, sizeof(d2), "0x%llx", (unsigned long long)mask.v);
			return parse_error(ps, "value %s has bits outside the mask %s: the condition could never match",
					   d, d2);
		}
		if (mask.v == 0)
			return parse_error(ps, "a mask of 0 compares no bit: the condition always holds");
		cond->op = SCMP_CMP_MASKED_EQ;
		cond->datum_a = mask.v;
		cond->datum_b = value.v;
		return 0;
	}
	size_t i = 0;
	while (i < sizeof(ops) / sizeof(ops[0]) && !token_is(t, ops[i].op))
		i++;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return parse_error(ps, "expected a comparison operator, got %s",
				   describe(t, d, sizeof(d)));
	lex(lx, t);
	rc = parse_value(ps, lx, t, &value);
	if (rc != 0)
		return rc;
	if (value.negative) {
		if (ops[i].cmp != SCMP_CMP_EQ)
			return parse_error(ps, "a negative value can only be compared with '==' or under a mask");
		/* The low 32 bits, as the kernel reads an int. */
		cond->op = SCMP_CMP_MASKED_EQ;
		cond->datum_a = 0xffffffff;
		cond->datum_b = value.v;
		return 0;
	}
	cond->op = ops[i].cmp;
	cond->datum_a = value.v;
	cond->datum_b = 0;
	return 0;
}

/* ACTION, with t on its first token. Leaves t on the token after it. */
static int parse_action(const struct parser *ps, struct lexer *lx, struct token *t,
			uint32_t *action)
{
	char d[64];
	uint64_t e;
	if (token_is(t, "allow")) {
		*action = SCMP_ACT_ALLOW;
	} else if (token_is(t, "kill")) {
		*action = SCMP_ACT_KILL_PROCESS;
	} else if (token_is(t, "trap")) {
		*action = SCMP_ACT_TRAP;
	} else if (token_is(t, "log")) {
		*action = SCMP_ACT_LOG;
	} else if (token_is(t, "errno")) {
		lex(lx, t);
		if (t->kind != TOKEN_WORD)
			return parse_error(ps, "expected an errno after 'errno', got %s",
					   describe(t, d, sizeof(d)));
		if (t->s[0] == '-') {
			return parse_error(ps, "errno %s out of range (1 to 4095)", describe(t, d, sizeof(d)));
		} else if (isdigit((unsigned char)t->s[0])) {
			if (!parse_number(t->s, t->n, &e))
				return parse_error(ps, "bad number %s", describe(t, d, sizeof(d)));
			/* 4095 is the kernel's MAX_ERRNO: a larger value would
			 * read as a valid return value, not as an error. */
			if (e < 1 || e > 4095)
				return parse_error(ps, "errno %s out of range (1 to 4095)",
						   describe(t, d, sizeof(d)));
		} else {
			const struct named_value *n =
				lookup(errno_names, sizeof(errno_names) / sizeof(errno_names[0]), t);
			if (n == NULL)
				return parse_error(ps, "unknown errno name %s", describe(t, d, sizeof(d)));
			e = (uint64_t)n->value;
		}
		*action = SCMP_ACT_ERRNO((uint32_t)e);
	} else if (t->kind == TOKEN_END) {
		return parse_error(ps, "expected an action, got end of line");
	} else {
		return parse_error(ps, "unknown action %s", describe(t, d, sizeof(d)));
	}
	lex(lx, t);
	return 0;
}

/* [a-z_][a-z0-9_]* with an optional '?': what may be a syscall's name. */
static bool syscall_shaped(const struct token *t)
{
	size_t n = t->n;
	if (t->kind != TOKEN_WORD || t->s[0] == '-' || isdigit((unsigned char)t->s[0]))
		return false;
	if (n > 1 && t->s[n - 1] == '?')
		n--;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)t->s[i]) || isdigit((unsigned char)t->s[i]) ||
		      t->s[i] == '_'))
			return false;
	return true;
}

static int parse_rule(const struct parser *ps, struct lexer *lx, struct token *t,
		      struct parsed_line *pl)
{
	char d[64];
	unsigned used = 0;	/* the arguments already compared */
	size_t n = t->n;
	bool optional = t->s[n - 1] == '?';
	int rc;
	if (optional)
		n--;
	pl->kind = LINE_RULE;
	pl->nr = __NR_SCMP_ERROR;
	if (n < sizeof(pl->syscall)) {
		memcpy(pl->syscall, t->s, n);
		pl->syscall[n] = '\0';
		pl->nr = seccomp_syscall_resolve_name(pl->syscall);
	} else {
		snprintf(pl->syscall, sizeof(pl->syscall), "%.*s", (int)(sizeof(pl->syscall) - 1), t->s);
	}
	/* A negative number is libseccomp's pseudo-syscall for a name that
	 * exists on some other architecture only (socketcall on x86_64): it
	 * must not reach the filter, where it would be a real number. */
	if (pl->nr < 0) {
		if (!optional)
			return parse_error(ps, "unknown syscall %s%s", describe(t, d, sizeof(d)),
					   pl->nr == __NR_SCMP_ERROR ? "" : " on this architecture");
		pl->nr = -1;
	}
	pl->action = SCMP_ACT_ALLOW;
	pl->ncond = 0;
	lex(lx, t);
	if (token_is(t, "if")) {
		do {
			struct scmp_arg_cmp cond;
			lex(lx, t);
			if (pl->ncond == POLICY_MAX_CONDS)
				return parse_error(ps, "more than %d conditions", POLICY_MAX_CONDS);
			rc = parse_condition(ps, lx, t, &cond);
			if (rc != 0)
				return rc;
			if (used & 1u << cond.arg)
				return parse_error(ps, "arg%u is compared twice (libseccomp 2.5 takes one condition per argument)",
						   cond.arg);
			used |= 1u << cond.arg;
			pl->cond[pl->ncond++] = cond;
		} while (token_is(t, "&&"));
	}
	if (token_is(t, "=>")) {
		lex(lx, t);
		rc = parse_action(ps, lx, t, &pl->action);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* One line, without its newline. */
static int parse_line(const struct parser *ps, const char *s, size_t n, struct parsed_line *pl)
{
	struct lexer lx = { s, s + n };
	struct token t;
	char d[64];
	int rc;
	if (n > POLICY_LINE_MAX)
		return parse_error(ps, "line longer than %d characters", POLICY_LINE_MAX);
	if (memchr(s, '\0', n) != NULL)
		return parse_error(ps, "NUL byte in the line");
	pl->kind = LINE_EMPTY;
	lex(&lx, &t);
	if (t.kind == TOKEN_END)
		return 0;
	if (token_is(&t, "default")) {
		pl->kind = LINE_DEFAULT;
		lex(&lx, &t);
		rc = parse_action(ps, &lx, &t, &pl->action);
	} else if (syscall_shaped(&t)) {
		rc = parse_rule(ps, &lx, &t, pl);
	} else {
		return parse_error(ps, "unknown directive %s", describe(&t, d, sizeof(d)));
	}
	if (rc == 0 && t.kind != TOKEN_END)
		rc = parse_error(ps, "trailing garbage %s", describe(&t, d, sizeof(d)));
	return rc;
}

/* ---- the compiler -------------------------------------------------------- */

#define NO_RULE SIZE_MAX

/* A conditional rule added to the filter, kept so that the later rules of
 * its syscall can be compared with it. */
struct kept_rule {
	unsigned line;
	uint32_t action;
	unsigned ncond;
	struct scmp_arg_cmp cond[POLICY_MAX_CONDS];
	size_t next;		/* its syscall's next rule in rules[], or NO_RULE */
};

/* Which syscalls have rules yet, sorted by number. */
struct seen {
	int nr;
	unsigned line;		/* of its first rule */
	bool unconditional;
	bool inequality;	/* a condition other than == and masked == */
	size_t first, last;	/* its conditional rules in rules[], or NO_RULE */
};

struct compiler {
	scmp_filter_ctx ctx;
	uint32_t default_action;
	unsigned default_line;
	struct seen *seen;
	size_t nseen, cap;
	struct kept_rule *rules;
	size_t nrules, rules_cap;
};

static bool has_inequality(const struct parsed_line *pl)
{
	for (unsigned i = 0; i < pl->ncond; i++)
		if (pl->cond[i].op != SCMP_CMP_EQ && pl->cond[i].op != SCMP_CMP_MASKED_EQ)
			return true;
	return false;
}

/* == and the masked == as (mask, value): a call satisfies the condition
 * when (arg & mask) == value. The other operators have no such form. */
static bool condition_as_mask(const struct scmp_arg_cmp *cond, uint64_t *mask, uint64_t *value)
{
	if (cond->op == SCMP_CMP_EQ) {
		*mask = UINT64_MAX;
		*value = cond->datum_a;
		return true;
	}
	if (cond->op == SCMP_CMP_MASKED_EQ) {
		*mask = cond->datum_a;
		*value = cond->datum_b;
		return true;
	}
	return false;
}

/* Whether every call that satisfies narrow satisfies broad: broad looks at
 * some of the bits narrow looks at, and wants them as narrow fixes them.
 * (The parser keeps a value's bits inside its mask.) */
static bool condition_implies(const struct scmp_arg_cmp *narrow, const struct scmp_arg_cmp *broad)
{
	uint64_t narrow_mask, narrow_value, broad_mask, broad_value;
	if (narrow->arg != broad->arg)
		return false;
	if (!condition_as_mask(narrow, &narrow_mask, &narrow_value) ||
	    !condition_as_mask(broad, &broad_mask, &broad_value))
		return narrow->op == broad->op && narrow->datum_a == broad->datum_a &&
		       narrow->datum_b == broad->datum_b;
	return (broad_mask & ~narrow_mask) == 0 && (narrow_value & broad_mask) == broad_value;
}

/* Whether the rule with conditions broad matches every call that the rule
 * with conditions narrow matches: each of broad's conditions is implied by
 * one of narrow's (a rule compares an argument at most once). */
static bool rule_covers(const struct scmp_arg_cmp *broad, unsigned nbroad,
			const struct scmp_arg_cmp *narrow, unsigned nnarrow)
{
	for (unsigned i = 0; i < nbroad; i++) {
		bool implied = false;
		for (unsigned j = 0; j < nnarrow && !implied; j++)
			implied = condition_implies(&narrow[j], &broad[i]);
		if (!implied)
			return false;
	}
	return true;
}

/* No rule of the syscall s with pl's action may cover pl, nor pl cover
 * one of them: see the top of this file. */
static int check_covered(const struct compiler *c, const struct parser *ps, const struct seen *s,
			 const struct parsed_line *pl)
{
	for (size_t i = s->first; i != NO_RULE; i = c->rules[i].next) {
		const struct kept_rule *k = &c->rules[i];
		if (k->action != pl->action)
			continue;
		if (rule_covers(k->cond, k->ncond, pl->cond, pl->ncond))
			return parse_error(ps, "'%s' rule does nothing: line %u has the same action and matches every call this one matches",
					   pl->syscall, k->line);
		if (rule_covers(pl->cond, pl->ncond, k->cond, k->ncond))
			return parse_error(ps, "'%s' rule matches every call that line %u matches, with the same action, so line %u does nothing: drop it or narrow this rule",
					   pl->syscall, k->line, k->line);
	}
	return 0;
}

/* Keep pl, a conditional rule about to be added, at the end of s's list. */
static int keep_rule(struct compiler *c, const struct parser *ps, struct seen *s,
		     const struct parsed_line *pl)
{
	if (c->nrules == c->rules_cap) {
		size_t cap = c->rules_cap ? c->rules_cap * 2 : 64;
		struct kept_rule *more = realloc(c->rules, cap * sizeof(*more));
		if (more == NULL)
			return banger_error_set(ps->err, -ENOMEM, "%s: out of memory", ps->name);
		c->rules = more;
		c->rules_cap = cap;
	}
	struct kept_rule *k = &c->rules[c->nrules];
	k->line = ps->line;
	k->action = pl->action;
	k->ncond = pl->ncond;
	memcpy(k->cond, pl->cond, sizeof(k->cond));
	k->next = NO_RULE;
	if (s->last == NO_RULE)
		s->first = c->nrules;
	else
		c->rules[s->last].next = c->nrules;
	s->last = c->nrules;
	c->nrules++;
	return 0;
}

/* The rules of one syscall must not hide one another, nor send libseccomp
 * into its loop: see the top of this file. */
static int check_overlap(struct compiler *c, const struct parser *ps, const struct parsed_line *pl)
{
	size_t lo = 0, hi = c->nseen;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->seen[mid].nr < pl->nr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->nseen && c->seen[lo].nr == pl->nr) {
		struct seen *s = &c->seen[lo];
		int rc;
		if (s->unconditional)
			return parse_error(ps, "'%s' already has an unconditional rule (line %u)",
					   pl->syscall, s->line);
		if (pl->ncond == 0)
			return parse_error(ps, "'%s' already has a rule (line %u) that this unconditional one would silently override",
					   pl->syscall, s->line);
		if (s->inequality || has_inequality(pl))
			return parse_error(ps, "'%s' has another conditional rule (line %u): with several, conditions may only use == and & (libseccomp 2.5.4 can loop forever on <, <=, >, >=, !=)",
					   pl->syscall, s->line);
		rc = check_covered(c, ps, s, pl);
		return rc != 0 ? rc : keep_rule(c, ps, s, pl);
	}
	if (c->nseen == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct seen *more = realloc(c->seen, cap * sizeof(*more));
		if (more == NULL)
			return banger_error_set(ps->err, -ENOMEM, "%s: out of memory", ps->name);
		c->seen = more;
		c->cap = cap;
	}
	memmove(&c->seen[lo + 1], &c->seen[lo], (c->nseen - lo) * sizeof(c->seen[0]));
	c->seen[lo] = (struct seen){ pl->nr, ps->line, pl->ncond == 0, has_inequality(pl), NO_RULE,
				     NO_RULE };
	c->nseen++;
	return pl->ncond == 0 ? 0 : keep_rule(c, ps, &c->seen[lo], pl);
}

/* Pass 1 (c->ctx NULL) checks every line and finds the default action;
 * pass 2 adds the rules, now that seccomp_init() has that action. */
static int walk(struct parser *ps, const char *text, size_t len, struct compiler *c)
{
	size_t pos = 0;
	int rc = 0;
	for (ps->line = 1; rc == 0 && pos < len; ps->line++) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
		struct parsed_line pl = { 0 };
		pos += n + (nl != NULL);
		rc = parse_line(ps, s, n, &pl);
		if (rc != 0 || pl.kind == LINE_EMPTY)
			continue;
		if (c->ctx == NULL) {
			if (pl.kind == LINE_DEFAULT && c->default_line != 0)
				rc = parse_error(ps, "duplicate 'default' (the first is on line %u)",
						 c->default_line);
			else if (pl.kind == LINE_DEFAULT) {
				c->default_action = pl.action;
				c->default_line = ps->line;
			}
			continue;
		}
		if (pl.kind != LINE_RULE)
			continue;
		/* Before the '?' skip: the mistake is the same on every arch. */
		if (pl.action == c->default_action) {
			rc = parse_error(ps, "rule has the default action (line %u)", c->default_line);
			continue;
		}
		if (pl.nr < 0)
			continue;
		rc = check_overlap(c, ps, &pl);
		if (rc != 0)
			continue;
		rc = seccomp_rule_add_array(c->ctx, pl.action, pl.nr, pl.ncond, pl.cond);
		if (rc < 0)
			rc = parse_error(ps, "libseccomp refused the rule: %s", strerror(-rc));
	}
	return rc;
}

/* The BPF, exported once into memory. libseccomp 2.5 exports to a
 * descriptor only; a memfd takes any size (a pipe would block when full). */
static int export_bpf(struct sandbox_policy *policy, const char *name, struct banger_error *err)
{
	int fd = -1, rc;
	struct stat st;
	size_t got = 0;
	fd = memfd_create("banger-policy-bpf", MFD_CLOEXEC);
	if (fd < 0) {
		rc = banger_error_set(err, -errno, "%s: cannot create a memfd: %s", name, strerror(errno));
		goto out;
	}
	rc = seccomp_export_bpf(policy->ctx, fd);
	if (rc < 0) {
		rc = banger_error_set(err, rc, "%s: libseccomp cannot export the filter: %s", name,
				      strerror(-rc));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = banger_error_set(err, -errno, "%s: cannot stat the exported filter: %s", name,
				      strerror(errno));
		goto out;
	}
	/* Checked, not trusted: the runner hands this length to the kernel. */
	if (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) != 0) {
		rc = banger_error_set(err, -EINVAL, "%s: libseccomp exported %lld bytes, not whole BPF instructions",
				      name, (long long)st.st_size);
		goto out;
	}
	policy->bpf_len = (size_t)st.st_size / sizeof(struct sock_filter);
	if (policy->bpf_len > BPF_MAXINSNS) {
		rc = banger_error_set(err, -E2BIG, "%s: the filter has %zu instructions, more than the kernel's %d",
				      name, policy->bpf_len, BPF_MAXINSNS);
		goto out;
	}
	policy->bpf = malloc((size_t)st.st_size);
	if (policy->bpf == NULL) {
		rc = banger_error_set(err, -ENOMEM, "%s: out of memory", name);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, (char *)policy->bpf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = banger_error_set(err, n < 0 ? -errno : -EIO, "%s: cannot read the exported filter: %s",
					      name, n < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)n;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int policy_parse(const char *name, const char *text, size_t len, struct sandbox_policy **out,
		 struct banger_error *err)
{
	struct parser ps = { name != NULL ? name : "policy", 1, err };
	struct compiler c = { 0 };
	struct sandbox_policy *policy = NULL;
	int rc;
	*out = NULL;
	if (len > POLICY_MAX_BYTES) {
		/* The line where the limit is crossed. */
		for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + POLICY_MAX_BYTES - p)));
		     p++)
			ps.line++;
		rc = parse_error(&ps, "policy larger than %d bytes", POLICY_MAX_BYTES);
		goto out;
	}
	rc = walk(&ps, text, len, &c);
	if (rc != 0)
		goto out;
	if (c.default_line == 0) {
		ps.line = 1;
		rc = parse_error(&ps, "no 'default' action (a policy needs exactly one)");
		goto out;
	}
	policy = calloc(1, sizeof(*policy));
	if (policy == NULL) {
		rc = banger_error_set(err, -ENOMEM, "%s: out of memory", ps.name);
		goto out;
	}
	policy->ctx = c.ctx = seccomp_init(c.default_action);
	if (policy->ctx == NULL) {
		ps.line = c.default_line;
		rc = parse_error(&ps, "libseccomp refused the default action");
		goto out;
	}
	/* Only the native ABI is in the filter (seccomp_init adds it and
	 * nothing else); every other ABI's syscalls are killed, the whole
	 * process, like any syscall the policy does not allow. */
	if (seccomp_arch_exist(c.ctx, seccomp_arch_native()) != 0) {
		rc = banger_error_set(err, -EINVAL, "%s: the filter lacks the native architecture", ps.name);
		goto out;
	}
	rc = seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc < 0) {
		rc = banger_error_set(err, rc, "%s: libseccomp cannot set the bad-architecture action: %s",
				      ps.name, strerror(-rc));
		goto out;
	}
	rc = walk(&ps, text, len, &c);
	if (rc != 0)
		goto out;
	rc = export_bpf(policy, ps.name, err);
	if (rc != 0)
		goto out;
	*out = policy;
	policy = NULL;
out:
	policy_free(policy);
	free(c.seen);
	free(c.rules);
	return rc;
}

int policy_load(const char *path, struct sandbox_policy **out, struct banger_error *err)
{
	int fd, rc;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	*out = NULL;
	/* Symlinks are followed: packages ship policies under /usr/share and
	 * an administrator may link one into place. O_NONBLOCK keeps a FIFO
	 * at path from blocking open(); fstat() turns it away next. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return banger_error_set(err, -errno, "cannot open policy %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = banger_error_set(err, -errno, "cannot stat policy %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = banger_error_set(err, -EINVAL, "policy %s is not a regular file", path);
		goto out;
	}
	if (st.st_size > POLICY_MAX_BYTES) {
		rc = banger_error_set(err, -EFBIG, "policy %s is larger than %d bytes", path,
				      POLICY_MAX_BYTES);
		goto out;
	}
	/* One byte more than the limit, to notice a file that grew since. */
	buf = malloc(POLICY_MAX_BYTES + 1);
	if (buf == NULL) {
		rc = banger_error_set(err, -ENOMEM, "policy %s: out of memory", path);
		goto out;
	}
	while (len < POLICY_MAX_BYTES + 1) {
		ssize_t n = read(fd, buf + len, POLICY_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = banger_error_set(err, -errno, "cannot read policy %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > POLICY_MAX_BYTES) {
		rc = banger_error_set(err, -EFBIG, "policy %s is larger than %d bytes", path,
				      POLICY_MAX_BYTES);
		goto out;
	}
	rc = policy_parse(path, buf, len, out, err);
out:
	free(buf);
	close(fd);
	return rc;
}

int policy_export_pfc(const struct sandbox_policy *policy, int fd, struct banger_error *err)
{
	if (policy->ctx == NULL)
		return banger_error_set(err, -EINVAL, "a precompiled policy has no source to show");
	int rc = seccomp_export_pfc(policy->ctx, fd);
	if (rc < 0)
		return banger_error_set(err, rc, "cannot export the policy as PFC: %s", strerror(-rc));
	return 0;
}

int policy_from_bpf(const void *bpf, size_t bytes, struct sandbox_policy **out,
		    struct banger_error *err)
{
	struct sandbox_policy *p;
	*out = NULL;
	/* Validate what we are handed rather than trust it, as bubblewrap
	 * does for --seccomp: whole instructions, within the kernel's limit. */
	if (bytes == 0 || bytes % sizeof(struct sock_filter) != 0 ||
	    bytes / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return banger_error_set(err, -EINVAL, "a BPF program of %zu bytes", bytes);
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->bpf = malloc(bytes)) == NULL) {
		free(p);
		return banger_error_set(err, -ENOMEM, "out of memory");
	}
	memcpy(p->bpf, bpf, bytes);
	p->bpf_len = bytes / sizeof(struct sock_filter);
	*out = p;
	return 0;
}

size_t policy_bpf(const struct sandbox_policy *policy, const void **filter)
{
	*filter = policy->bpf;
	return policy->bpf_len;
}

void policy_free(struct sandbox_policy *policy)
{
	if (policy == NULL)
		return;
	if (policy->ctx != NULL)
		seccomp_release(policy->ctx);
	free(policy->bpf);
	free(policy);
}
