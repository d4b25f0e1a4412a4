/* Taking the identity the child runs as, then dropping capabilities for
 * good, as minijail's drop_caps() does it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <grp.h>
#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "internal.h"

int caps_become(uid_t uid, gid_t gid)
{
	/* A change of every uid from 0 to another one normally clears the
	 * permitted and effective sets (the "setuid fixup"), but leaves the
	 * bounding and inheritable sets and the securebits as they were:
	 * caps_drop_all() would then find no CAP_SETPCAP to lock the
	 * securebits and empty the bounding set with. KEEP_CAPS would keep
	 * the permitted set only, not the effective one. NO_SETUID_FIXUP
	 * keeps both, so the drop that comes next sees the same capabilities
	 * whatever the uid, and empties every set. caps_drop_all() then locks
	 * this bit with the others. */
	int bits = prctl(PR_GET_SECUREBITS);
	if (bits < 0 || prctl(PR_SET_SECUREBITS, (unsigned long)bits | SECBIT_NO_SETUID_FIXUP) != 0)
		return -errno;
	/* Groups and gid before the uid, the order that does not depend on
	 * the bit above: without it, setresuid() would take CAP_SETGID away. */
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
		return -errno;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0)
		return -errno;
	if (ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid ||
	    getgroups(0, NULL) != 0)
		return -EPERM;
	return 0;
}

/* Every set read back: nothing may be left, whatever the uid. */
static int caps_verify_empty(void)
{
	cap_t now = cap_get_proc(), empty = cap_init();
	int rc = now && empty && cap_compare(now, empty) == 0 ? 0 : -EPERM;
	cap_free(now);
	cap_free(empty);
	/* CAP_AMBIENT_SUPPORTED() is a prctl() of its own: asked once, not
	 * once a capability (41 system calls, each as dear as a read-back). */
	bool ambient = CAP_AMBIENT_SUPPORTED();
	for (cap_value_t c = 0; rc == 0 && c < (cap_value_t)cap_max_bits(); c++)
		if (cap_get_bound(c) > 0 || (ambient && cap_get_ambient(c) > 0))
			rc = -EPERM;
	return rc;
}

int caps_drop_all(void)
{
	cap_t current = cap_get_proc();
	if (current == NULL)
		return -errno;
	cap_flag_value_t setpcap = CAP_CLEAR, permitted_any = CAP_CLEAR;
	cap_get_flag(current, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits() && permitted_any == CAP_CLEAR; c++)
		cap_get_flag(current, c, CAP_PERMITTED, &permitted_any);
	cap_free(current);

	if (setpcap == CAP_SET) {
		/* Order matters: the securebits and the bounding set can be
		 * changed only while CAP_SETPCAP is still held, so they go
		 * first. Locked securebits mean that uid 0 gets no
		 * capabilities back at exec (NOROOT), setuid transitions do
		 * not adjust them, KEEP_CAPS stays off, and nothing can raise
		 * an ambient capability. */
		unsigned bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
				SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
				SECBIT_KEEP_CAPS_LOCKED |
				SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
		if (cap_set_secbits(bits) != 0)
			return -errno;
		for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++)
			if (cap_drop_bound(c) != 0 && errno != EINVAL)
				return -errno;
	} else if (permitted_any == CAP_SET) {
		/* Capabilities we cannot make permanent: refuse rather than
		 * run half-dropped. */
		return -EPERM;
	}
	/* An unprivileged caller already holds nothing; no_new_privs (the
	 * next step) keeps it that way across exec. */
	/* One PR_CAP_AMBIENT_CLEAR_ALL: libcap's cap_reset_ambient() asks
	 * each capability first (42 system calls for the same effect);
	 * caps_verify_empty() reads each one back. */
	if (CAP_AMBIENT_SUPPORTED() && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		return -errno;
	cap_t empty = cap_init();
	if (empty == NULL)
		return -errno;
	int rc = cap_set_proc(empty);
	cap_free(empty);
	if (rc != 0)
		return -errno;
	/* The bounding set can be emptied only with CAP_SETPCAP: an
	 * unprivileged caller's stays as it was, and no_new_privs makes it
	 * meaningless. */
	return setpcap == CAP_SET ? caps_verify_empty() : 0;
}
