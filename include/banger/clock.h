/* clock.h - the one clock banger measures timeouts and elapsed time with. */
#ifndef BANGER_CLOCK_H
#define BANGER_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: never jumps with the wall clock. */
int64_t banger_now_ms(void);

#endif
