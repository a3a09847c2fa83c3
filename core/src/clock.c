/* Deadlines for pthread_cond_timedwait (nox/clock.h). */
#include "nox/clock.h"

struct timespec nox_clock_after_ms(clockid_t clock, unsigned ms) {
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}
