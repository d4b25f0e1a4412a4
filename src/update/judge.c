/* JUDGE: whether a check's answer can be trusted, and what of what the
 * staged binary printed may reach the operator (quoted) or the journal (a
 * version of strict characters). The child is hostile until proved
 * otherwise: its line, its exit code and its JSON must agree exactly. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "banger/store.h"
#include "internal.h"

#define VERSION_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~:_-"

int update_version_valid(const char *v)
{
	size_t len = strlen(v);
	return len > 0 && len < 64 && strspn(v, VERSION_CHARS) == len;
}

void update_quote(const char *in, size_t cap, char *out, size_t size)
{
	size_t limit = cap < size - 6 ? cap : size - 6;	/* room for '...' and NUL */
	size_t n = 0;
	bool space = true;	/* no leading space */
	out[n++] = '\'';
	for (; *in && n - 1 < limit; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (!space)
				out[n++] = ' ';
			space = true;
		} else if (c >= 0x20 && c != 0x7f) {
			out[n++] = (char)c;
			space = false;
		}
	}
	while (n > 1 && out[n - 1] == ' ')
		n--;
	if (*in) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '\'';
	out[n] = '\0';
}

/* Expect the literal lit at *p. */
static int take(const char **p, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*p, lit, n) != 0)
		return -EINVAL;
	*p += n;
	return 0;
}

/* [1,2,3] as "1 2 3" (canonical decimals, as the line writes them). */
static int take_list(const char **p, char *out, size_t size)
{
	size_t n = 0;
	if (take(p, "[") != 0)
		return -EINVAL;
	out[0] = '\0';
	while (**p != ']') {
		if (n > 0 && take(p, ",") != 0)
			return -EINVAL;
		size_t digits = strspn(*p, "0123456789");
		if (digits == 0 || digits > 19 || n + digits + 2 > size)
			return -EINVAL;
		n += (size_t)snprintf(out + n, size - n, "%s%.*s", n ? " " : "", (int)digits, *p);
		*p += digits;
	}
	(*p)++;
	return 0;
}

/* The check's --json object, exactly as schema_report_print() and
 * bangerd write it, into v: its state, its version (checked against
 * VERSION_CHARS) and the contract's one line, rebuilt from the lists. */
static int json_verdict(const char *s, struct verdict *v)
{
	static const char *const states[] = { "compatible", "migrations_needed", "incompatible" };
	char lists[4][256];
	static const char *const keys[] = { "\",\"applied\":", ",\"known\":", ",\"pending\":",
					     ",\"unknown\":" };
	const char *p = s;
	v->state = -1;
	if (take(&p, "{\"state\":\"") != 0)
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		if (take(&p, states[i]) == 0) {
			v->state = i;
			break;
		}
	for (int i = 0; i < 4; i++)
		if (v->state < 0 || take(&p, keys[i]) != 0 ||
		    take_list(&p, lists[i], sizeof(lists[i])) != 0)
			return -EINVAL;
	size_t len;
	if (take(&p, ",\"version\":\"") != 0 || (len = strcspn(p, "\"")) >= sizeof(v->version))
		return -EINVAL;
	memcpy(v->version, p, len);
	v->version[len] = '\0';
	p += len;
	if (take(&p, "\"}") != 0 || *p || !update_version_valid(v->version))
		return -EINVAL;
	if (v->state == 0)
		snprintf(v->line, sizeof(v->line), "compatible: applied [%s]", lists[0]);
	else if (v->state == 1)
		snprintf(v->line, sizeof(v->line),
			 "migrations needed: pending [%s] (binary will apply on first Open)", lists[2]);
	else
		snprintf(v->line, sizeof(v->line),
			 "incompatible: unknown applied [%s] (binary older than DB)", lists[3]);
	return 0;
}

/* Why a child that did not exit is not trusted: its reason, the what (the
 * check, the rehearsal) named. */
static void judge_abnormal(const struct sandbox_result *r, const char *what, char *reason,
			   size_t size)
{
	switch (r->outcome) {
	case SANDBOX_TIMED_OUT:
		if (r->survived_kill)
			snprintf(reason, size,
				 "%s timed out and did not die after SIGKILL (pid %d is asleep in the kernel; left to init)",
				 what, (int)r->pid);
		else
			snprintf(reason, size, "%s timed out and was killed", what);
		return;
	case SANDBOX_SETUP_FAILED:
		snprintf(reason, size, "the sandbox failed at step '%s': %s",
			 sandbox_step_name(r->step), strerror(r->setup_errno));
		return;
	case SANDBOX_SIGNALED:
		if (r->signal == SIGSYS && r->violation_name[0])
			snprintf(reason, size,
				 "%s was killed by SIGSYS: the policy refused the system call %s (%ld)",
				 what, r->violation_name, r->violation);
		else if (r->signal == SIGSYS && r->violation >= 0)
			snprintf(reason, size,
				 "%s was killed by SIGSYS: the policy refused system call number %ld of another ABI",
				 what, r->violation);
		else if (r->signal == SIGSYS)
			snprintf(reason, size,
				 "%s was killed by SIGSYS: the policy refused a system call (the kernel log names it: audit type=1326)",
				 what);
		else
			snprintf(reason, size, "%s was killed by signal %d (%s)",
				 what, r->signal, strsignal(r->signal));
		return;
	case SANDBOX_EXITED:
		break;
	}
}

void update_judge_check(const struct sandbox_result *r, bool json, struct verdict *v)
{
	enum schema_state state = SCHEMA_INCOMPATIBLE;
	char quoted[320];
	memset(v, 0, sizeof(*v));
	v->code = UPDATE_EXIT_CHECK_FAILED;
	if (r->outcome != SANDBOX_EXITED) {
		judge_abnormal(r, "the check", v->reason, sizeof(v->reason));
		return;
	}
	if (r->exit_code > 2) {
		update_quote(r->stderr_tail, 300, quoted, sizeof(quoted));
		snprintf(v->reason, sizeof(v->reason), "the check exited with %d%s%s", r->exit_code,
			 r->stderr_tail[0] ? ": " : "", r->stderr_tail[0] ? quoted : "");
		return;
	}
	update_quote(r->first_line, 200, quoted, sizeof(quoted));
	if (r->line_truncated) {
		snprintf(v->reason, sizeof(v->reason),
			 "the check exited with %d but printed a line too long to trust (over %d bytes): %s",
			 r->exit_code, SANDBOX_LINE_MAX - 1, quoted);
		return;
	}
	if ((json ? json_verdict(r->first_line, v) : schema_line_parse(r->first_line, &state)) != 0) {
		snprintf(v->reason, sizeof(v->reason), "the check exited with %d but printed %s",
			 r->exit_code, quoted);
		return;
	}
	if (!json)
		snprintf(v->line, sizeof(v->line), "%s", r->first_line);
	else
		state = (enum schema_state)v->state;
	if ((int)state != r->exit_code) {
		snprintf(v->reason, sizeof(v->reason),
			 "the check exited with %d but its line says otherwise: %s", r->exit_code, quoted);
		return;
	}
	v->code = r->exit_code;
}

void update_judge_rehearsal(const struct sandbox_result *r, struct rehearsal_verdict *rv)
{
	struct rehearsal_line l;
	char quoted[320];
	rv->ran = true;
	rv->code = UPDATE_EXIT_CHECK_FAILED;
	if (r->outcome != SANDBOX_EXITED) {
		judge_abnormal(r, "the rehearsal", rv->reason, sizeof(rv->reason));
		return;
	}
	if (r->exit_code != 0 && r->exit_code != 2) {
		update_quote(r->stderr_tail, 300, quoted, sizeof(quoted));
		snprintf(rv->reason, sizeof(rv->reason), "the rehearsal exited with %d%s%s", r->exit_code,
			 r->stderr_tail[0] ? ": " : "", r->stderr_tail[0] ? quoted : "");
		return;
	}
	update_quote(r->first_line, 200, quoted, sizeof(quoted));
	if (r->line_truncated || rehearsal_line_parse(r->first_line, &l) != 0) {
		snprintf(rv->reason, sizeof(rv->reason), "the rehearsal exited with %d but printed %s",
			 r->exit_code, quoted);
		return;
	}
	int expected = l.result == REHEARSAL_REHEARSED ? 0 : l.result == REHEARSAL_FAILED ? 2 : -1;
	if (expected != r->exit_code) {
		snprintf(rv->reason, sizeof(rv->reason), "the rehearsal exited with %d but printed %s, "
			 "which %s", r->exit_code, quoted,
			 expected < 0 ? "contradicts the check's 'migrations needed'"
				      : "says otherwise");
		return;
	}
	if (l.result == REHEARSAL_FAILED) {
		update_quote(l.error, 300, quoted, sizeof(quoted));
		rv->code = UPDATE_EXIT_REHEARSAL_FAILED;
		snprintf(rv->reason, sizeof(rv->reason), "migration %lld %s: %s", (long long)l.failed_id,
			 l.failed_name, quoted);
		return;
	}
	rv->code = 0;
	rv->ms = l.ms;
	rv->bytes = l.bytes;
	snprintf(rv->line, sizeof(rv->line), "applied [%s] in %lld ms on a copy of %lld bytes, which "
		 "is consistent: the first start should migrate in about that", l.applied,
		 (long long)l.ms, (long long)l.bytes);
}
