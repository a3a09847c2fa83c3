/* noxctl wait — polls GET {gateway}/v0/handles/{handle}/status every 100 ms until the handle is stored. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nox/clock.h"
#include "noxctl.h"

#define POLL_MS 100
#define DEFAULT_TIMEOUT_S 60

static const char USAGE[] = "usage: noxctl wait HANDLE [--timeout SECONDS] [--gateway URL] [--json]\n";

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

nox_status noxctl_handle_status(const char *url, const char *htext, const char **state, char *reason, size_t cap,
                               nox_error *err) {
    long status;
    json_t *reply = NULL;
    char why[512];
    nox_status s = noxctl_http("GET", url, NULL, NULL, &status, &reply, err);
    if (s) return nox_error_prefix(err, "GET /v0/handles/%s/status: ", htext);
    const char *st = json_string_value(json_object_get(reply, "status"));
    if (status >= 500) {
        s = nox_error_set(err, NOX_ERR_IO, "the Gateway failed: %s", noxctl_gateway_error(status, reply, why, sizeof why));
    } else if (status != 200) {
        s = nox_error_set(err, NOX_ERR_REMOTE, "the Gateway refused %s: %s", htext,
                          noxctl_gateway_error(status, reply, why, sizeof why));
    } else if (st && !strcmp(st, "stored")) {
        *state = "stored";
    } else if (st && !strcmp(st, "pending")) {
        *state = "pending";
    } else if (st && !strcmp(st, "failed")) {
        const char *r = json_string_value(json_object_get(reply, "reason"));
        snprintf(reason, cap, "%s", r ? r : "(no reason given)");
        *state = "failed";
    } else {
        s = nox_error_set(err, NOX_ERR_INVALID, "GET /v0/handles/%s/status: unexpected answer (status %s)", htext,
                          st ? "unknown" : "missing");
    }
    json_decref(reply);
    return s;
}

int noxctl_wait(int argc, char **argv) {
    noxctl_ctx ctx = {0};
    const char *timeout_text = NULL, *pos[1], *gateway;
    noxctl_opt opts[] = {{"--timeout", &timeout_text, NULL}, {NULL, NULL, NULL}};
    size_t n_pos;
    int rc = noxctl_parse(&ctx, argc - 1, argv + 1, opts, pos, 1, &n_pos, USAGE);
    if (rc) return rc;
    if (n_pos != 1) return noxctl_usage(USAGE, "wait needs a HANDLE");
    double timeout = DEFAULT_TIMEOUT_S;
    if (timeout_text) {
        char *end;
        errno = 0;
        timeout = strtod(timeout_text, &end);
        if (!*timeout_text || *end || errno || !isfinite(timeout) || timeout <= 0 || timeout > 86400)
            return noxctl_usage(USAGE, "--timeout: expected a number of seconds in (0, 86400]");
    }
    nox_error err = {0};
    nox_handle h;
    char htext[NOX_HANDLE_TEXT_LEN + 1], url[2048], reason[512] = "";
    const char *state = NULL;
    if (noxctl_parse_handle("HANDLE", pos[0], &h, &err) || noxctl_require(&ctx, NOXCTL_GATEWAY, &gateway, &err)) {
        noxctl_ctx_free(&ctx);
        return noxctl_fail("%s", err.message);
    }
    nox_handle_format(&h, htext);
    char path[NOX_HANDLE_TEXT_LEN + 32];
    snprintf(path, sizeof path, "/v0/handles/%s/status", htext);
    if (noxctl_url(url, sizeof url, gateway, path, &err)) {
        noxctl_ctx_free(&ctx);
        return noxctl_fail("%s", err.message);
    }
    uint64_t start = nox_clock_ms(), deadline = start + (uint64_t)(timeout * 1000.0);
    for (;;) {
        nox_status s = noxctl_handle_status(url, htext, &state, reason, sizeof reason, &err);
        /* the Gateway unreachable or failing (restarting, say): keep polling until the timeout */
        if (s && (s != NOX_ERR_IO || nox_clock_ms() >= deadline)) {
            noxctl_ctx_free(&ctx);
            return noxctl_fail("%s", err.message);
        }
        if (s) state = "pending";
        if (strcmp(state, "pending") || nox_clock_ms() >= deadline) break;
        uint64_t left = deadline - nox_clock_ms();
        sleep_ms(left < POLL_MS ? (unsigned)left : POLL_MS);
    }
    uint64_t elapsed = nox_clock_ms() - start;
    int status = 0;
    if (ctx.json) {
        json_t *o = json_pack("{s:s, s:s, s:I}", "handle", htext, "status", state, "elapsedMs", (json_int_t)elapsed);
        if (o && !strcmp(state, "failed")) json_object_set_new(o, "reason", json_string(reason));
        noxctl_print_json(o);
    } else if (!strcmp(state, "stored")) {
        printf("%s stored after %.2f s\n", htext, (double)elapsed / 1000.0);
    }
    if (!strcmp(state, "failed")) status = noxctl_fail("%s failed: %s", htext, reason);
    else if (!strcmp(state, "pending")) status = noxctl_fail("%s still pending after %g s", htext, timeout);
    noxctl_ctx_free(&ctx);
    return status;
}
