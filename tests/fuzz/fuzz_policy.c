/* libFuzzer harness for the policy parser and compiler: any bytes in, an
 * error or a compiled filter out, nothing leaked, nothing overrun. Built
 * and run by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "banger/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sandbox_policy *policy = NULL;
	struct banger_error err = { 0 };
	if (policy_parse("fuzz", (const char *)data, size, &policy, &err) == 0) {
		const void *filter;
		size_t len = policy_bpf(policy, &filter);
		/* A success always carries a program the kernel would take. */
		if (len == 0 || len > 4096 || filter == NULL)
			__builtin_trap();
	} else if (policy != NULL || err.msg[0] == '\0') {
		__builtin_trap();
	}
	policy_free(policy);
	return 0;
}
