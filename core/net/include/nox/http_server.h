/*
 * nox/http_server.h — the HTTP server every Nox service shares (KMS, Gateway),
 * on libmicrohttpd: routing, JSON error bodies in the protocol's shape
 * ({"error": code, "message": text}, spec §7), a body size limit, request
 * ids, an access log without secrets, GET /health and GET /metrics
 * (Prometheus text format) built in.
 *
 * Threads: requests are served by a pool of `threads` worker threads, so
 * handlers run concurrently and must be thread-safe. Handlers are called
 * once per request with the complete body.
 *
 * Typical use:
 *     nox_http_options o;
 *     nox_http_options_default(&o);
 *     o.service = "kms"; o.listen = "127.0.0.1:9000"; o.threads = 4;
 *     nox_http_server *s;
 *     nox_http_server_new(&o, &s, &err);
 *     nox_http_route(s, "POST", "/v0/delegate", delegate, ctx, &err);
 *     nox_http_server_start(s, &err);
 *     ... nox_service_wait_for_shutdown() ...
 *     nox_http_server_stop(s); nox_http_server_free(s);
 */
#ifndef NOX_HTTP_SERVER_H
#define NOX_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"
#include "nox/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nox_http_server nox_http_server;
/** One request, valid during the handler call only. */
typedef struct nox_http_request nox_http_request;
/** The response a handler fills in. */
typedef struct nox_http_response nox_http_response;

/** Server settings. Start from nox_http_options_default. */
typedef struct nox_http_options {
    const char *service;            /**< name in logs and metric names (nox_<service>_...); default "nox" */
    const char *listen;             /**< "IPv4:port"; port 0 picks a free port (see nox_http_server_port) */
    unsigned threads;               /**< worker threads, >= 1; default 4 */
    size_t max_body;                /**< larger request bodies get 413; default 64 KiB */
    size_t max_header;              /**< larger request headers are refused (431 or a closed connection); default 16 KiB */
    unsigned connection_timeout;    /**< seconds of inactivity before a connection is closed; default 30 */
    unsigned request_timeout;       /**< seconds a request may take to arrive, headers and body, counted from the
                                         moment its connection is ready for it (accepted, or the previous response
                                         sent); a connection past it is closed, so that a client trickling a byte
                                         now and then (which resets the inactivity timer) cannot hold it. It also
                                         bounds how long a kept-alive connection waits for its next request.
                                         Default 30 */
    unsigned max_connections;       /**< concurrent connections; default 1024 */
    int access_log;                 /**< 1: one log line per request (nox_log, INFO); default 1 */
    /**
     * TLS (libmicrohttpd over GnuTLS), or NULL / no certificate for plaintext. With a client CA, every route
     * needs a client certificate that CA verifies (mutual TLS) — 401 `unauthorized` without one — except the
     * routes registered with nox_http_route_public and GET /health. Files are read at nox_http_server_start.
     */
    const struct nox_tls_server *tls;
    /**
     * "IPv4:port" of a second listener that serves GET /metrics (and GET /health) of this server, with
     * the same server certificate but no client certificate required (a scraper holds none that opens the
     * service); the main listener then has no /metrics (404). NULL: /metrics on the main listener.
     * For a metrics scraper on another network than the service's clients.
     */
    const char *metrics_listen;
} nox_http_options;

/** Fills `o` with the defaults above (listen "127.0.0.1:0"). */
void nox_http_options_default(nox_http_options *o);

/** Creates a server (not yet listening). NOX_ERR_INVALID for bad options (e.g. an unparsable listen address). */
nox_status nox_http_server_new(const nox_http_options *o, nox_http_server **out, nox_error *err);

/**
 * A request handler. It must set a response (nox_http_respond*); a handler
 * that returns without one produces a 500 {"error":"storage","message":"internal error"}
 * and an error log line.
 */
typedef void (*nox_http_handler)(void *user, const nox_http_request *req, nox_http_response *resp);

/**
 * Routes `method` + `path` to `handler`. `path` is exact ("/v0/delegate") or
 * has one parameter segment written "{name}" ("/v0/secrets/{handle}",
 * "/v0/handles/{handle}/status"), which matches one non-empty segment without
 * '/' (at most 255 bytes are kept when a fixed tail follows it) that the
 * handler reads with nox_http_request_param. The route's path text is its metrics label.
 * Unknown paths answer 404 not_found; a known path with another method 405.
 * Must be called before nox_http_server_start.
 */
nox_status nox_http_route(nox_http_server *s, const char *method, const char *path, nox_http_handler handler,
                          void *user, nox_error *err);

/**
 * Like nox_http_route, for a route that needs no client certificate even when the
 * server asks for them (tls.client_ca_file): the Gateway's user endpoints, next to
 * its Runner endpoints, which do. Without a client CA it is nox_http_route.
 */
nox_status nox_http_route_public(nox_http_server *s, const char *method, const char *path, nox_http_handler handler,
                                 void *user, nox_error *err);

/** The bound port of the metrics listener (options.metrics_listen), 0 without one. */
uint16_t nox_http_server_metrics_port(const nox_http_server *s);

/** "https" when the server has TLS, else "http". */
const char *nox_http_server_scheme(const nox_http_server *s);

/**
 * Health check for GET /health: returns 1 when the service's dependencies
 * answer, else 0 with a short reason in `reason` (no secrets). Without one,
 * /health always answers 200 {"status":"ok"}; with one, 503
 * {"status":"unavailable","reason":...} when it returns 0.
 */
typedef int (*nox_http_health_fn)(void *user, char *reason, size_t cap);
void nox_http_set_health(nox_http_server *s, nox_http_health_fn fn, void *user);

/* ---- metrics (rendered by GET /metrics) ---------------------------------- */

/**
 * Built in: nox_<service>_http_requests_total{route,method,status} (counter)
 * and nox_<service>_http_request_duration_seconds{route} (histogram), where
 * route is the route's path text, or "unmatched".
 */
typedef struct nox_histogram nox_histogram;
typedef struct nox_counter nox_counter;
typedef struct nox_gauge nox_gauge;

/**
 * Registers a histogram `name` (full metric name, e.g. "nox_kms_delegation_seconds")
 * with ascending upper bounds (the +Inf bucket is implicit). Before start only.
 */
nox_status nox_http_histogram(nox_http_server *s, const char *name, const char *help, const double *bounds,
                              size_t n_bounds, nox_histogram **out, nox_error *err);

/** Records one observation. Thread-safe. */
void nox_histogram_observe(nox_histogram *h, double value);

/** Registers a counter `name`. Before start only. */
nox_status nox_http_counter(nox_http_server *s, const char *name, const char *help, nox_counter **out,
                            nox_error *err);

/** Adds n. Thread-safe. */
void nox_counter_add(nox_counter *c, uint64_t n);

/**
 * Registers a gauge `name` (a value that goes up and down, e.g. a block
 * number), initially 0. Before start only. Errors as for nox_http_counter.
 */
nox_status nox_http_gauge(nox_http_server *s, const char *name, const char *help, nox_gauge **out, nox_error *err);

/** Sets the gauge's value. Thread-safe; g may be NULL (then nothing happens). */
void nox_gauge_set(nox_gauge *g, double value);

/** The gauge's current value (0 for NULL). Thread-safe. */
double nox_gauge_get(const nox_gauge *g);

/**
 * Registers a family with one label `label` and creates its children, out[i] with the value values[i]
 * (e.g. one per KMS node: name{node="2"}). Before start only. Errors as for nox_http_counter.
 */
nox_status nox_http_counters(nox_http_server *s, const char *name, const char *help, const char *label,
                             const char *const *values, size_t n, nox_counter **out, nox_error *err);
nox_status nox_http_gauges(nox_http_server *s, const char *name, const char *help, const char *label,
                           const char *const *values, size_t n, nox_gauge **out, nox_error *err);
nox_status nox_http_histograms(nox_http_server *s, const char *name, const char *help, const char *label,
                               const char *const *values, size_t n, const double *bounds, size_t n_bounds,
                               nox_histogram **out, nox_error *err);

/* ---- running ---------------------------------------------------------------- */

/** Binds and starts serving. NOX_ERR_IO with the reason when the address cannot be bound. */
nox_status nox_http_server_start(nox_http_server *s, nox_error *err);

/** The bound port (the chosen one when listen asked for port 0). */
uint16_t nox_http_server_port(const nox_http_server *s);

/** Stops accepting, lets requests in progress finish, and returns. */
void nox_http_server_stop(nox_http_server *s);

/** Frees a stopped (or never started) server. NULL is fine. */
void nox_http_server_free(nox_http_server *s);

/* ---- requests ------------------------------------------------------------ */

const char *nox_http_request_method(const nox_http_request *r);
/** The path without the query string. */
const char *nox_http_request_path(const nox_http_request *r);
/** The value of the route's {parameter} segment, or NULL for exact routes. */
const char *nox_http_request_param(const nox_http_request *r);
/** The request id: the client's X-Request-Id when it is 1..64 of [A-Za-z0-9._-], else a generated one. */
const char *nox_http_request_id(const nox_http_request *r);
/** A query parameter (URL-decoded), or NULL when absent. */
const char *nox_http_request_query(const nox_http_request *r, const char *key);
/** A request header (case-insensitive name), or NULL. */
const char *nox_http_request_header(const nox_http_request *r, const char *name);
/** The body (NUL-terminated; *len without the NUL), or "" with *len 0. */
const char *nox_http_request_body(const nox_http_request *r, size_t *len);
/**
 * On a server with mutual TLS: 1 and out = SHA-256 of the SubjectPublicKeyInfo of the client certificate
 * this connection presented and the client CA verified (nox_tls_cert_key_sha256_der); 0 when there is none.
 * What an attestation is bound to (docs/PROTOCOL-EXTENSIONS.md §12).
 */
int nox_http_request_peer_key(const nox_http_request *r, unsigned char out[32]);

/* ---- responses ----------------------------------------------------------- */

/** Responds with a body (copied) and a content type. Every response carries X-Request-Id. */
void nox_http_respond(nox_http_response *resp, unsigned status, const char *content_type, const char *body,
                      size_t len);

/** Responds with a JSON text (copied), content type application/json. */
void nox_http_respond_json(nox_http_response *resp, unsigned status, const char *json);

struct json_t; /* jansson */

/** Responds 200 with `value` (a jansson value, consumed) as compact JSON; 500 when it cannot be serialised. */
void nox_http_respond_value(nox_http_response *resp, struct json_t *value);

/**
 * Responds {"error": code, "message": message} (spec §7) with `status`.
 * The message must not contain secrets; it is also written to the access log.
 */
void nox_http_respond_error(nox_http_response *resp, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * A detached response, for a handler answering several items in one body
 * (a batch): the item's code fills it with the functions above as it would
 * a real response, and the handler reads back what was set.
 */
nox_http_response *nox_http_response_new(void); /* NULL when out of memory */
void nox_http_response_free(nox_http_response *resp);
/** The status set so far, 0 when none. */
unsigned nox_http_response_status(const nox_http_response *resp);
/** The body set so far (not NUL-terminated), NULL with *len 0 when none. */
const char *nox_http_response_body(const nox_http_response *resp, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* NOX_HTTP_SERVER_H */
