/* policy_internal.h - between the three parts of the policy compiler,
 * and nowhere else: the language and its parser (policy_lang.c), the
 * meaning checks (policy_meaning.c), the compile and load (policy.c). */
#ifndef BANGER_SANDBOX_POLICY_INTERNAL_H
#define BANGER_SANDBOX_POLICY_INTERNAL_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "banger/sandbox.h"

#define POLICY_MAX_BYTES (1024 * 1024)
#define POLICY_LINE_MAX 1024
#define POLICY_MAX_CONDS 6		/* a syscall has at most six arguments */
#define POLICY_SYSCALL_NAME_MAX 64	/* longer than any syscall name */

/* Where the parse is, for messages. */
struct policy_parser {
	const char *name;	/* the policy's name */
	unsigned line;
	struct banger_error *err;
};

/* Set err to "NAME:LINE: reason" and return -EINVAL. */
__attribute__((format(printf, 2, 3)))
int policy_parse_error(const struct policy_parser *ps, const char *fmt, ...);

enum policy_line_kind {
	POLICY_LINE_EMPTY,
	POLICY_LINE_DEFAULT,
	POLICY_LINE_RULE,
};

/* One line, parsed. */
struct policy_line {
	enum policy_line_kind kind;
	uint32_t action;
	char syscall[POLICY_SYSCALL_NAME_MAX];	/* without the '?' */
	int nr;				/* -1: an optional syscall this arch lacks */
	unsigned ncond;
	struct scmp_arg_cmp cond[POLICY_MAX_CONDS];
};

/* Parse one line (s, n bytes, without its newline) into pl. 0, or -EINVAL
 * with ps->err saying what is wrong, with the line. */
int policy_parse_line(const struct policy_parser *ps, const char *s, size_t n,
		      struct policy_line *pl);

/* The rules seen so far, by syscall (policy_meaning.c). Zeroed to start. */
struct policy_seen;
struct policy_kept_rule;
struct policy_rules {
	struct policy_seen *seen;	/* sorted by syscall number */
	size_t nseen, cap;
	struct policy_kept_rule *rules;	/* the conditional rules */
	size_t nrules, rules_cap;
};

/* Take pl (a rule of a syscall this architecture has) into r, or refuse
 * it when, beside the rules before it, it would not do what it says, or
 * would trip libseccomp. 0, or < 0 with ps->err. */
int policy_rules_add(struct policy_rules *r, const struct policy_parser *ps,
		     const struct policy_line *pl);
void policy_rules_free(struct policy_rules *r);

#endif
