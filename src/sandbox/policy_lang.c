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
 * Limits: a line has at most 1024 characters, a policy at most 1 MiB, and
 * neither holds a NUL byte. `default` may stand on any line (by convention,
 * the first).
 *
 * Every error names the line: "NAME:LINE: reason" (a missing `default` is
 * reported on line 1; a policy over 1 MiB on the line where it crosses the
 * limit). A rule whose action is the default action is an error too: it
 * does nothing, so it is a mistake.
 *
 * The meaning checks (a rule that hides another, libseccomp's traps) are
 * in policy_meaning.c, the compile and load in policy.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <asm/prctl.h>
#endif

#include "policy_internal.h"

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
	/* The kernel's __O_TMPFILE: O_TMPFILE's own bit, without the
	 * O_DIRECTORY that glibc's O_TMPFILE (and glibc's __O_TMPFILE)
	 * includes. A policy that refuses the bit must name it alone. */
	{ "__O_TMPFILE", O_TMPFILE & ~O_DIRECTORY },
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
	NAMED(SECCOMP_SET_MODE_STRICT), NAMED(SECCOMP_SET_MODE_FILTER), NAMED(SECCOMP_GET_ACTION_AVAIL),
	NAMED(SECCOMP_GET_NOTIF_SIZES),
	NAMED(MADV_DONTNEED),
	NAMED(FUTEX_WAIT), NAMED(FUTEX_WAKE), NAMED(FUTEX_PRIVATE_FLAG),
	NAMED(CLOCK_REALTIME), NAMED(CLOCK_MONOTONIC),
	NAMED(STDIN_FILENO), NAMED(STDOUT_FILENO), NAMED(STDERR_FILENO),
#if defined(__x86_64__)
	NAMED(ARCH_SET_FS),	/* arch_prctl exists on x86 only */
#endif
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

int policy_parse_error(const struct policy_parser *ps, const char *fmt, ...)
{
	char reason[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return banger_error_set(ps->err, -EINVAL, "%s:%u: %s", ps->name, ps->line, reason);
}

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

static int parse_term(const struct policy_parser *ps, const struct token *t, struct value *out)
{
	char d[64];
	uint64_t v;
	out->negative = false;
	if (t->kind != TOKEN_WORD)
		return policy_parse_error(ps, "expected a value, got %s", describe(t, d, sizeof(d)));
	if (t->s[0] == '-') {
		/* The 32-bit pattern of an int: see the top of this file. */
		if (!parse_number(t->s + 1, t->n - 1, &v) || v == 0 || v > (uint64_t)INT32_MAX + 1)
			return policy_parse_error(ps, "bad number %s (a negative number must fit in an int)",
						  describe(t, d, sizeof(d)));
		out->v = (uint32_t)-(int64_t)v;
		out->negative = true;
		return 0;
	}
	if (isdigit((unsigned char)t->s[0])) {
		if (!parse_number(t->s, t->n, &out->v))
			return policy_parse_error(ps, "bad number %s", describe(t, d, sizeof(d)));
		return 0;
	}
	const struct named_value *c = lookup(constants, sizeof(constants) / sizeof(constants[0]), t);
	if (c == NULL)
		return policy_parse_error(ps, "unknown constant %s", describe(t, d, sizeof(d)));
	out->negative = c->value < 0;
	out->v = out->negative ? (uint32_t)c->value : (uint64_t)c->value;
	return 0;
}

/* VALUE := TERM {| TERM}. Leaves t on the token after the value. */
static int parse_value(const struct policy_parser *ps, struct lexer *lx, struct token *t,
		       struct value *out)
{
	int rc = parse_term(ps, t, out);
	lex(lx, t);
	while (rc == 0 && token_is(t, "|")) {
		struct value more = { 0 };
		lex(lx, t);
		rc = parse_term(ps, t, &more);
		if (rc == 0 && (out->negative || more.negative))
			rc = policy_parse_error(ps, "a negative value cannot be combined with '|'");
		if (rc == 0)
			out->v |= more.v;
		lex(lx, t);
	}
	return rc;
}

/* & MASK == VALUE, with t on the '&'. Leaves t on the token after it. */
static int parse_masked(const struct policy_parser *ps, struct lexer *lx, struct token *t,
			struct scmp_arg_cmp *cond)
{
	char d[64], d2[64];
	struct value mask = { 0 }, value = { 0 };
	lex(lx, t);
	int rc = parse_value(ps, lx, t, &mask);
	if (rc != 0)
		return rc;
	if (mask.negative)
		return policy_parse_error(ps, "a mask cannot be negative");
	if (!token_is(t, "=="))
		return policy_parse_error(ps, "expected '==' after the mask, got %s",
					  describe(t, d, sizeof(d)));
	lex(lx, t);
	rc = parse_value(ps, lx, t, &value);
	if (rc != 0)
		return rc;
	if ((value.v & ~mask.v) != 0) {
		snprintf(d, sizeof(d), "0x%llx", (unsigned long long)value.v);
		snprintf(d2, sizeof(d2), "0x%llx", (unsigned long long)mask.v);
		return policy_parse_error(ps, "value %s has bits outside the mask %s: the condition could never match",
					  d, d2);
	}
	if (mask.v == 0)
		return policy_parse_error(ps, "a mask of 0 compares no bit: the condition always holds");
	cond->op = SCMP_CMP_MASKED_EQ;
	cond->datum_a = mask.v;
	cond->datum_b = value.v;
	return 0;
}

/* argN OP VALUE | argN & MASK == VALUE. Leaves t on the token after it. */
static int parse_condition(const struct policy_parser *ps, struct lexer *lx, struct token *t,
			   struct scmp_arg_cmp *cond)
{
	static const struct {
		const char *op;
		enum scmp_compare cmp;
	} ops[] = {
		{ "==", SCMP_CMP_EQ }, { "!=", SCMP_CMP_NE }, { "<", SCMP_CMP_LT },
		{ "<=", SCMP_CMP_LE }, { ">", SCMP_CMP_GT }, { ">=", SCMP_CMP_GE },
	};
	char d[64];
	struct value value = { 0 };
	if (t->kind != TOKEN_WORD || t->n < 4 || memcmp(t->s, "arg", 3) != 0)
		return policy_parse_error(ps, "expected argN, got %s", describe(t, d, sizeof(d)));
	for (size_t i = 3; i < t->n; i++)
		if (!isdigit((unsigned char)t->s[i]))
			return policy_parse_error(ps, "expected argN, got %s", describe(t, d, sizeof(d)));
	if (t->n != 4 || t->s[3] > '5')
		return policy_parse_error(ps, "argument index %s out of range (arg0 to arg5)",
					  describe(t, d, sizeof(d)));
	cond->arg = (unsigned)(t->s[3] - '0');
	lex(lx, t);
	if (token_is(t, "&"))
		return parse_masked(ps, lx, t, cond);
	size_t i = 0;
	while (i < sizeof(ops) / sizeof(ops[0]) && !token_is(t, ops[i].op))
		i++;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return policy_parse_error(ps, "expected a comparison operator, got %s",
					  describe(t, d, sizeof(d)));
	lex(lx, t);
	int rc = parse_value(ps, lx, t, &value);
	if (rc != 0)
		return rc;
	if (value.negative) {
		if (ops[i].cmp != SCMP_CMP_EQ)
			return policy_parse_error(ps, "a negative value can only be compared with '==' or under a mask");
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
static int parse_action(const struct policy_parser *ps, struct lexer *lx, struct token *t,
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
			return policy_parse_error(ps, "expected an errno after 'errno', got %s",
						  describe(t, d, sizeof(d)));
		if (t->s[0] == '-') {
			return policy_parse_error(ps, "errno %s out of range (1 to 4095)", describe(t, d, sizeof(d)));
		} else if (isdigit((unsigned char)t->s[0])) {
			if (!parse_number(t->s, t->n, &e))
				return policy_parse_error(ps, "bad number %s", describe(t, d, sizeof(d)));
			/* 4095 is the kernel's MAX_ERRNO: a larger value would
			 * read as a valid return value, not as an error. */
			if (e < 1 || e > 4095)
				return policy_parse_error(ps, "errno %s out of range (1 to 4095)",
							  describe(t, d, sizeof(d)));
		} else {
			const struct named_value *n =
				lookup(errno_names, sizeof(errno_names) / sizeof(errno_names[0]), t);
			if (n == NULL)
				return policy_parse_error(ps, "unknown errno name %s", describe(t, d, sizeof(d)));
			e = (uint64_t)n->value;
		}
		*action = SCMP_ACT_ERRNO((uint32_t)e);
	} else if (t->kind == TOKEN_END) {
		return policy_parse_error(ps, "expected an action, got end of line");
	} else {
		return policy_parse_error(ps, "unknown action %s", describe(t, d, sizeof(d)));
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

static int parse_rule(const struct policy_parser *ps, struct lexer *lx, struct token *t,
		      struct policy_line *pl)
{
	char d[64];
	unsigned used = 0;	/* the arguments already compared */
	size_t n = t->n;
	bool optional = t->s[n - 1] == '?';
	int rc;
	if (optional)
		n--;
	pl->kind = POLICY_LINE_RULE;
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
			return policy_parse_error(ps, "unknown syscall %s%s", describe(t, d, sizeof(d)),
						  pl->nr == __NR_SCMP_ERROR ? "" : " on this architecture");
		pl->nr = -1;
	}
	pl->action = SCMP_ACT_ALLOW;
	pl->ncond = 0;
	lex(lx, t);
	if (token_is(t, "if")) {
		do {
			struct scmp_arg_cmp cond = { 0 };
			lex(lx, t);
			if (pl->ncond == POLICY_MAX_CONDS)
				return policy_parse_error(ps, "more than %d conditions", POLICY_MAX_CONDS);
			rc = parse_condition(ps, lx, t, &cond);
			if (rc != 0)
				return rc;
			if (used & 1u << cond.arg)
				return policy_parse_error(ps, "arg%u is compared twice (libseccomp 2.5 takes one condition per argument)",
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
int policy_parse_line(const struct policy_parser *ps, const char *s, size_t n, struct policy_line *pl)
{
	struct lexer lx = { s, s + n };
	struct token t;
	char d[64];
	int rc;
	if (n > POLICY_LINE_MAX)
		return policy_parse_error(ps, "line longer than %d characters", POLICY_LINE_MAX);
	if (memchr(s, '\0', n) != NULL)
		return policy_parse_error(ps, "NUL byte in the line");
	pl->kind = POLICY_LINE_EMPTY;
	lex(&lx, &t);
	if (t.kind == TOKEN_END)
		return 0;
	if (token_is(&t, "default")) {
		pl->kind = POLICY_LINE_DEFAULT;
		lex(&lx, &t);
		rc = parse_action(ps, &lx, &t, &pl->action);
	} else if (syscall_shaped(&t)) {
		rc = parse_rule(ps, &lx, &t, pl);
	} else {
		return policy_parse_error(ps, "unknown directive %s", describe(&t, d, sizeof(d)));
	}
	if (rc == 0 && t.kind != TOKEN_END)
		rc = policy_parse_error(ps, "trailing garbage %s", describe(&t, d, sizeof(d)));
	return rc;
}
