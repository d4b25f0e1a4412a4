/* Dropping capabilities for good, as minijail's drop_caps() does it. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "internal.h"

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
	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() != 0)
		return -errno;
	cap_t empty = cap_init();
	if (empty == NULL)
		return -errno;
	int rc = cap_set_proc(empty);
	cap_free(empty);
	return rc == 0 ? 0 : -errno;
}
