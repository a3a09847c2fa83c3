/*
 * tests/fuzz: an in-memory stand-in for the HTTP server's request/response
 * accessors (nox/http_server.h), so that the services' handlers can be called
 * directly with a fuzzed request. The targets link with
 * -Wl,--wrap=<accessor> for every function below (see CMakeLists.txt), so
 * calls from the handlers land here while core's http_server.c is untouched.
 */
#ifndef NOX_FUZZ_FAKE_HTTP_H
#define NOX_FUZZ_FAKE_HTTP_H

#include <stddef.h>

#include "nox/http_server.h"

enum { FAKE_HTTP_MAX_FIELDS = 8 };

/* A request: what the accessors return. NULL fields are "absent". */
typedef struct fake_request {
    const char *method, *path, *param, *id;
    const char *header_names[FAKE_HTTP_MAX_FIELDS], *header_values[FAKE_HTTP_MAX_FIELDS];
    const char *query_names[FAKE_HTTP_MAX_FIELDS], *query_values[FAKE_HTTP_MAX_FIELDS];
    const char *body; /* NUL-terminated (as the server guarantees) */
    size_t body_len;
} fake_request;

/* A response as the handler set it. */
typedef struct fake_response {
    int set;
    unsigned status;
    char *body;
    size_t len;
} fake_response;

/* Views for the handlers' opaque types. */
static inline const nox_http_request *fake_req(const fake_request *r) { return (const nox_http_request *)r; }
static inline nox_http_response *fake_resp(fake_response *r) { return (nox_http_response *)r; }

/*
 * Checks what a handler produced: exactly the server's contract (a response
 * was set, a status in 200..599, a JSON body that parses) — aborts otherwise;
 * then frees the body and zeroes *r.
 */
void fake_response_check(fake_response *r);

#endif
