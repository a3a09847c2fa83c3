#include "nox/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static char service_name[32] = "nox";
static int max_level = NOX_LOG_INFO;

void nox_log_init(const char *service, int level) {
    snprintf(service_name, sizeof service_name, "%s", service);
    max_level = level;
}

int nox_log_level_from_name(const char *name) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

void nox_vlog(int level, const char *fmt, va_list ap) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > max_level) return;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char msg[2048], stamp[32];
    vsnprintf(msg, sizeof msg, fmt, ap);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    /* one fprintf: stdio locks the stream, so lines from threads do not interleave */
    fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000, service_name,
            names[level < 0 ? 0 : level > 3 ? 3 : level], msg);
}

void nox_log(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    nox_vlog(level, fmt, ap);
    va_end(ap);
}
