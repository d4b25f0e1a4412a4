/* The meaning checks of a policy: what libseccomp would do with rules
 * that its language (policy_lang.c) lets one write, and which of those
 * this compiler refuses, and why.
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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

#define NO_RULE SIZE_MAX

/* A conditional rule added to the filter, kept so that the later rules of
 * its syscall can be compared with it. */
struct policy_kept_rule {
	unsigned line;
	uint32_t action;
	unsigned ncond;
	struct scmp_arg_cmp cond[POLICY_MAX_CONDS];
	size_t next;		/* its syscall's next rule in rules[], or NO_RULE */
};

/* Which syscalls have rules yet, sorted by number. */
struct policy_seen {
	int nr;
	unsigned line;		/* of its first rule */
	bool unconditional;
	bool inequality;	/* a condition other than == and masked == */
	size_t first, last;	/* its conditional rules in rules[], or NO_RULE */
};

static bool has_inequality(const struct policy_line *pl)
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
static int check_covered(const struct policy_rules *c, const struct policy_parser *ps, const struct policy_seen *s,
			 const struct policy_line *pl)
{
	for (size_t i = s->first; i != NO_RULE; i = c->rules[i].next) {
		const struct policy_kept_rule *k = &c->rules[i];
		if (k->action != pl->action)
			continue;
		if (rule_covers(k->cond, k->ncond, pl->cond, pl->ncond))
			return policy_parse_error(ps, "'%s' rule does nothing: line %u has the same action and matches every call this one matches",
						  pl->syscall, k->line);
		if (rule_covers(pl->cond, pl->ncond, k->cond, k->ncond))
			return policy_parse_error(ps, "'%s' rule matches every call that line %u matches, with the same action, so line %u does nothing: drop it or narrow this rule",
						  pl->syscall, k->line, k->line);
	}
	return 0;
}

/* arr, of n elements of size and room for *cap, with room for one more:
 * arr itself, or arr grown (by doubling, from 64), or NULL when out of
 * memory (arr is then unchanged). */
static void *room_for_one(void *arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return arr;
	size_t more_cap = *cap ? *cap * 2 : 64;
	void *more = realloc(arr, more_cap * size);
	if (more != NULL)
		*cap = more_cap;
	return more;
}

/* Keep pl, a conditional rule about to be added, at the end of s's list. */
static int keep_rule(struct policy_rules *c, const struct policy_parser *ps, struct policy_seen *s,
		     const struct policy_line *pl)
{
	struct policy_kept_rule *rules = room_for_one(c->rules, c->nrules, &c->rules_cap, sizeof(*rules));
	if (rules == NULL)
		return banger_error_set(ps->err, -ENOMEM, "%s: out of memory", ps->name);
	c->rules = rules;
	struct policy_kept_rule *k = &c->rules[c->nrules];
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
int policy_rules_add(struct policy_rules *c, const struct policy_parser *ps, const struct policy_line *pl)
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
		struct policy_seen *s = &c->seen[lo];
		int rc;
		if (s->unconditional)
			return policy_parse_error(ps, "'%s' already has an unconditional rule (line %u)",
						  pl->syscall, s->line);
		if (pl->ncond == 0)
			return policy_parse_error(ps, "'%s' already has a rule (line %u) that this unconditional one would silently override",
						  pl->syscall, s->line);
		if (s->inequality || has_inequality(pl))
			return policy_parse_error(ps, "'%s' has another conditional rule (line %u): with several, conditions may only use == and & (libseccomp 2.5.4 can loop forever on <, <=, >, >=, !=)",
						  pl->syscall, s->line);
		rc = check_covered(c, ps, s, pl);
		return rc != 0 ? rc : keep_rule(c, ps, s, pl);
	}
	struct policy_seen *seen = room_for_one(c->seen, c->nseen, &c->cap, sizeof(*seen));
	if (seen == NULL)
		return banger_error_set(ps->err, -ENOMEM, "%s: out of memory", ps->name);
	c->seen = seen;
	memmove(&c->seen[lo + 1], &c->seen[lo], (c->nseen - lo) * sizeof(c->seen[0]));
	c->seen[lo] = (struct policy_seen){ pl->nr, ps->line, pl->ncond == 0, has_inequality(pl), NO_RULE,
				     NO_RULE };
	c->nseen++;
	return pl->ncond == 0 ? 0 : keep_rule(c, ps, &c->seen[lo], pl);
}

void policy_rules_free(struct policy_rules *c)
{
	free(c->seen);
	free(c->rules);
	c->seen = NULL;
	c->rules = NULL;
	c->nseen = c->cap = c->nrules = c->rules_cap = 0;
}
