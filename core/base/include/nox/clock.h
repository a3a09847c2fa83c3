/* nox/clock.h — the monotonic clock: elapsed times, and deadlines for pthread_cond_timedwait. */
#ifndef NOX_CLOCK_H
#define NOX_CLOCK_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The time `ms` milliseconds from now on `clock` (CLOCK_MONOTONIC, or CLOCK_REALTIME for a default condvar). */
struct timespec nox_clock_after_ms(clockid_t clock, unsigned ms);

/** CLOCK_MONOTONIC in milliseconds, and in seconds: for timeouts, back-offs, ages and durations. */
uint64_t nox_clock_ms(void);
double nox_clock_seconds(void);

#ifdef __cplusplus
}
#endif

#endif
