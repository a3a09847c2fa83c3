/*
 * A JSON-over-HTTP client (internal to core/: the KMS and Gateway clients).
 *
 * A pool of libcurl easy handles, each keeping its connection alive: a
 * request takes an idle handle from a mutex-protected free list (or creates
 * one while fewer than max_connections exist, or waits on a condition
 * variable), performs one exchange with per-request buffers and headers, and
 * puts the handle back; a handle whose transfer failed is closed instead.
 * Messages name the peer as "the <name> (scheme://host[:port])".
 */
#ifndef NOX_JSON_CLIENT_H
#define NOX_JSON_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "nox/error.h"
#include "nox/http_fault.h"
#include "nox/tls.h"

typedef struct nox_json_client nox_json_client;

typedef struct nox_json_client_options {
    const char *url;             /* http:// or https:// base URL (a trailing '/' is dropped) */
    const char *name;            /* the peer in messages, e.g. "KMS" ("the KMS (...)", "KMS URL must ...") */
    unsigned timeout_ms;         /* whole request */
    unsigned connect_timeout_ms; /* TCP (+TLS) connection */
    unsigned max_connections;    /* pooled handles, in [1, 1024] */
    size_t max_response;         /* largest accepted answer in bytes, at least 1024 */
    const nox_tls_client *tls;   /* CA, client certificate (copied); NULL = the system's trust store, none */
} nox_json_client_options;

/* NOX_ERR_INVALID for a URL that is not http(s):// or bad options; NOX_ERR_NOMEM / NOX_ERR_IO. */
nox_status nox_json_client_new(const nox_json_client_options *o, nox_json_client **out, nox_error *err);

/* Closes every pooled connection. NULL is fine. No request may be running. */
void nox_json_client_free(nox_json_client *c);

/* The URL reduced to scheme://host[:port] (safe to log). */
const char *nox_json_client_display_url(const nox_json_client *c);

size_t nox_json_client_max_connections(const nox_json_client *c);
size_t nox_json_client_max_response(const nox_json_client *c);

/*
 * Performs one request (body NULL = GET, else POST of that JSON text) to
 * <url><path_query> with the optional extra header line `header` (e.g.
 * "Authorization: ..."), and classifies the answer. On NOX_OK *json is the
 * parsed 2xx body (a JSON object, duplicate keys rejected; json_decref it).
 * Otherwise: NOX_ERR_IO for a transport failure or a 5xx, NOX_ERR_REMOTE for a
 * 4xx, NOX_ERR_INVALID for another status, a 2xx that is not a JSON object or
 * an answer larger than max_response, NOX_ERR_NOMEM. `fault` (may be NULL) is
 * filled on a 4xx or 5xx. `what` names the request in messages.
 */
nox_status nox_json_exchange(nox_json_client *c, const char *what, const char *path_query, const char *body,
                             const char *header, json_t **json, nox_http_fault *fault, nox_error *err);

/*
 * Classifies a non-2xx answer: HTTP status `http` with body `doc` (its {"error", "message"}, may be
 * NULL) — NOX_ERR_REMOTE for a 4xx, NOX_ERR_IO for a 5xx (fault filled for both), else
 * NOX_ERR_INVALID. nox_json_exchange uses it for its answers; a batch uses it for each item's.
 */
nox_status nox_json_refusal(const nox_json_client *c, const char *what, long http, json_t *doc, nox_http_fault *fault,
                            nox_error *err);

#endif
