/* nox/clock.h — deadlines for pthread_cond_timedwait. */
#ifndef NOX_CLOCK_H
#define NOX_CLOCK_H

#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The time `ms` milliseconds from now on `clock` (CLOCK_MONOTONIC, or CLOCK_REALTIME for a default condvar). */
struct timespec nox_clock_after_ms(clockid_t clock, unsigned ms);

#ifdef __cplusplus
}
#endif

#endif
