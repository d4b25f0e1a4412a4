/* nolandlock: run a command on a kernel that, as far as it can tell, has
 * no Landlock - the state of an older kernel or of an LSM list without it.
 *
 *   nolandlock COMMAND [ARG...]
 *
 * A seccomp filter that allows everything but answers the three Landlock
 * system calls with ENOSYS, inherited by COMMAND and everything it starts.
 * banger asks for the ABI in the parent, finds none, and gives its child
 * no ruleset: the tests that run under it show what holds without
 * Landlock. No production build has a switch for this. */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	if (argc < 2) {
		fputs("usage: nolandlock COMMAND [ARG...]\n", stderr);
		return 64;
	}
	static const char *const calls[] = { "landlock_create_ruleset", "landlock_add_rule",
					     "landlock_restrict_self" };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = ctx ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < sizeof(calls) / sizeof(calls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name(calls[i]), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		fprintf(stderr, "nolandlock: cannot load the filter: %s\n", strerror(-rc));
		return 125;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "nolandlock: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
