/* Capped exponential backoff, and one log line per outage instead of one per retry. */
#include "nox/clock.h"

#include "ingestor.h"
#include "nox/log.h"

#define FIRST_MS 200u
#define CAP_MS 30000u

unsigned ing_backoff_next(ing_backoff *b) {
    unsigned d = b->next_ms ? b->next_ms : FIRST_MS;
    b->next_ms = d >= CAP_MS / 2 ? CAP_MS : d * 2;
    return d;
}

void ing_backoff_reset(ing_backoff *b) { b->next_ms = 0; }

void ing_outage_fail(ing_outage *o, nox_status st, const char *message) {
    o->failures++;
    if (o->down) {
        nox_log(NOX_LOG_DEBUG, "%s: still failing (%llu failures): %s", o->what, (unsigned long long)o->failures,
                message);
        return;
    }
    o->down = 1;
    o->since = nox_clock_seconds();
    /* a transport failure is routine; an answer we cannot use is not, and rarely fixes itself */
    nox_log(st == NOX_ERR_IO ? NOX_LOG_WARN : NOX_LOG_ERROR,
            "%s: %s; retrying with backoff up to %u s, nothing is skipped (further failures are logged at debug "
            "level until it recovers)", o->what, message, CAP_MS / 1000);
}

void ing_outage_ok(ing_outage *o) {
    if (!o->down) return;
    nox_log(NOX_LOG_INFO, "%s: available again after %llu failed attempt(s) in %.1f s", o->what,
            (unsigned long long)o->failures, nox_clock_seconds() - o->since);
    o->down = 0;
    o->failures = 0;
}
