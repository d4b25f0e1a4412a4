/* libseccomp 2.5.4 (Debian 12's 2.5.4-1+deb12u1) leaks when a rule makes
 * earlier rules of its syscall redundant. Public API only, no banger code:
 *
 *   cc -fsanitize=address tests/fuzz/known/libseccomp-prune-leak.c -lseccomp
 *   ./a.out    # LeakSanitizer: 768 bytes in 8 allocations (calloc from
 *              # libseccomp.so.2+0x3b12), after seccomp_release()
 *
 * Two rules for exit that share arg0 == 1 and then compare different
 * arguments, then a third with the same action and only arg0 == 1: adding
 * the third folds the first two into it, and the argument nodes it
 * removes are never freed. Read from libseccomp's src/db.c, not traced
 * (the library has no symbols for it): most likely the "new tree is
 * shorter" branch of _db_tree_prune(), whose _db_tree_remove() unlinks a
 * node from its level without dropping the references its neighbours hold,
 * so the removed nodes keep one another alive (LeakSanitizer calls every
 * one of them an indirect leak: a cycle). Without the third rule, or with
 * it first, nothing leaks; the export is not needed either. No upstream
 * report of it found (2.5.5 only updated the syscall table). banger's
 * policy parser refuses a rule that covers another with its action (see
 * src/sandbox/policy.c), so no policy reaches this. */
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	FILE *out;
	int rc;
	if (ctx == NULL)
		return 1;
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit), 2, SCMP_A0(SCMP_CMP_EQ, 1),
			      SCMP_A2(SCMP_CMP_EQ, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit), 2, SCMP_A0(SCMP_CMP_EQ, 1),
				      SCMP_A1(SCMP_CMP_EQ, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit), 1, SCMP_A0(SCMP_CMP_EQ, 1));
	out = fopen("/dev/null", "w");
	if (rc == 0 && out != NULL)
		rc = seccomp_export_bpf(ctx, fileno(out));
	if (out != NULL)
		fclose(out);
	fprintf(stderr, "rules added and exported: %s\n", rc == 0 ? "yes" : strerror(-rc));
	seccomp_release(ctx);
	return rc == 0 ? 0 : 1;
}
