#include "nox/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static char service_name[32] = "nox";
static int max_level = NOX_LOG_INFO;
static int json_lines;

void nox_log_set_json(int json) { json_lines = json; }

/* s as the inside of a JSON string (quotes, backslashes and control characters escaped), cut to fit out. */
static void json_escape(const char *s, char *out, size_t cap) {
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
        else if (c < 0x20) o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        else out[o++] = (char)c;
    }
    out[o] = '\0';
}

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
    const char *name = names[level < 0 ? 0 : level > 3 ? 3 : level];
    /* one fprintf: stdio locks the stream, so lines from threads do not interleave */
    if (json_lines) {
        char esc[6 * sizeof msg];
        json_escape(msg, esc, sizeof esc);
        fprintf(stderr, "{\"time\":\"%s.%03ldZ\",\"service\":\"%s\",\"level\":\"%s\",\"message\":\"%s\"}\n", stamp,
                ts.tv_nsec / 1000000, service_name, name, esc);
    } else {
        fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000, service_name, name, msg);
    }
}

void nox_log(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    nox_vlog(level, fmt, ap);
    va_end(ap);
}
