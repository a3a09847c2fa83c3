/*
 * The HTTP server of every Nox service, on libmicrohttpd (MHD) 0.9.75.
 *
 * MHD calls the access handler several times per request: once when the
 * headers are in (*con_cls is still NULL: we allocate the request there, route
 * it and check its size limits), once per piece of body (we append it, up to
 * max_body), and once more with no data when the request is complete (we call
 * the route's handler and queue the response). The access log line and the
 * metrics are recorded when the response is queued, i.e. before its bytes
 * leave, so a client that has read a response also sees it counted in
 * /metrics. Metric storage and rendering live in metrics.c.
 */
#include "nox/clock.h"
#include "nox/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics_internal.h"
#include "nox/log.h"

/* Upper bounds on options, so that sizes + 1 cannot overflow and a typo cannot ask for terabytes. */
enum {
    MAX_THREADS = 1024,
    MIN_HEADER = 1024,
    MAX_HEADER = 1024 * 1024,
    DRAIN_SECONDS = 10,        /* how long stop waits for requests in progress */
    MAX_REQUEST_ID = 64,
    LOG_FIELD_MAX = 200,       /* longest path/message copied into a log line */
    DRAIN_MAX = 16 << 20,      /* a declared body at most this much over max_body is read (and dropped) before the 413 */
    SWEEP_MS = 250,            /* how often connections are checked against request_timeout */
};
static const size_t MAX_BODY = (size_t)1 << 30;

/* Default duration buckets, 0.5 ms .. 5 s: KMS and Gateway calls are ms-scale, RPC calls may take seconds. */
static const double DURATION_BOUNDS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  5};

typedef struct route {
    char *method;
    char *path;               /* as registered; also the metrics label */
    size_t prefix_len;        /* "{name}" routes: length up to the '{'; 0 for exact routes */
    const char *suffix;       /* "{name}" routes: what follows the '}' ("" or "/status") */
    nox_http_handler handler;
    void *user;
    int public_route;         /* served without a client certificate even when the server asks for them */
    nox_histogram *duration;  /* its child of the duration histogram, set at start */
} route;

enum server_state { STATE_NEW, STATE_RUNNING, STATE_STOPPED };

/*
 * One open connection, for request_timeout. `waiting_since` is when it became ready for a request
 * (0 while a request's handler runs or its response is being sent). Listed from MHD's "started"
 * to its "closed" notification, which comes before MHD closes the socket: the sweeper, holding
 * conn_mu, only ever shuts down a socket that is still this connection's.
 */
typedef struct conn_track {
    int fd;
    _Atomic int64_t waiting_since; /* CLOCK_MONOTONIC ns, 0 = not waiting */
    int shut;                      /* shut down by the sweeper (under conn_mu) */
    int peer;                      /* client certificate: 0 not checked yet, 1 verified, -1 none or not verified */
    int peer_key_set;              /* peer_key holds the SHA-256 of the verified certificate's public key */
    unsigned char peer_key[32];
    struct conn_track *prev, *next;
} conn_track;

struct nox_http_server {
    nox_http_options opt;     /* .service and .listen point into the copies below */
    char *service, *listen;
    struct sockaddr_in addr;
    route *routes;
    size_t n_routes, cap_routes;
    nox_http_health_fn health;
    void *health_user;
    nox_metrics *metrics;
    nox_metric_family *requests_total, *durations;
    nox_histogram *unmatched_duration;
    struct MHD_Daemon *daemon;
    int listen_fd;
    uint16_t port;
    enum server_state state;
    atomic_int in_flight;     /* requests between their first handler call and their completion */
    atomic_int stopping;      /* set by stop: responses then carry "Connection: close" */
    pthread_mutex_t conn_mu;  /* guards conns and each track's shut */
    pthread_cond_t sweep_cv;
    conn_track *conns;        /* open connections (request_timeout) */
    pthread_t sweeper;
    int sweeping;             /* the sweeper thread runs (under conn_mu: 0 asks it to end) */
    nox_counter *request_timeouts;
    nox_counter *connections;  /* accepted connections: TCP (and TLS) handshakes; keep-alive keeps them rare */
    nox_tls_server tls;        /* copied from the options; all "" = plaintext */
    struct nox_http_server *metrics_srv; /* options.metrics_listen: serves this server's /metrics */
    const struct nox_http_server *metrics_of; /* on a metrics listener: the server whose metrics it shows */
    int mutual;                /* tls.client_ca_file set: routes not public need a verified client certificate */
};

struct nox_http_request {
    nox_http_server *srv;
    struct MHD_Connection *conn;
    struct timespec start;
    const char *method, *path; /* MHD's, valid for the whole request */
    const char *param;        /* in path, or in param_buf when the route has a suffix */
    char param_buf[256];
    char id[MAX_REQUEST_ID + 1];
    const route *rt;          /* the route for this method and path, or NULL */
    const route *known;       /* the first route for this path (any method): 405 and labels, or NULL */
    char allow[128];          /* the methods this path accepts, for 405 */
    char *body;
    size_t len, cap;
    int too_large;            /* the body passed max_body: it is discarded and the answer is 413 */
    int no_client_cert;       /* mutual TLS required and not given: the body is discarded and the answer is 401 */
    int answered;             /* a response has been queued */
};

struct nox_http_response {
    int set;
    unsigned status;
    char *content_type;
    char *body;
    size_t len;
    char error_code[32];      /* for the access log: set by nox_http_respond_error */
    char error_msg[LOG_FIELD_MAX + 1];
};

/* ---- options ---------------------------------------------------------------- */

void nox_http_options_default(nox_http_options *o) {
    memset(o, 0, sizeof *o);
    o->service = "nox";
    o->listen = "127.0.0.1:0";
    o->threads = 4;
    o->max_body = 64 * 1024;
    o->max_header = 16 * 1024;
    o->connection_timeout = 30;
    o->request_timeout = 30;
    o->max_connections = 1024;
    o->access_log = 1;
}

/* "a.b.c.d:port" only: services bind one explicit IPv4 address, never a host name that could resolve elsewhere. */
static nox_status parse_listen(const char *text, struct sockaddr_in *out, nox_error *err) {
    static const char want[] = "want \"a.b.c.d:port\" with an IPv4 address and a port from 0 to 65535";
    if (!text) return nox_error_set(err, NOX_ERR_INVALID, "listen address missing: %s", want);
    const char *colon = strrchr(text, ':');
    if (!colon) return nox_error_set(err, NOX_ERR_INVALID, "listen address \"%s\" has no port: %s", text, want);
    char host[INET_ADDRSTRLEN];
    size_t hlen = (size_t)(colon - text);
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    if (hlen == 0 || hlen >= sizeof host)
        return nox_error_set(err, NOX_ERR_INVALID, "listen address \"%s\": not an IPv4 address: %s", text, want);
    memcpy(host, text, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1)
        return nox_error_set(err, NOX_ERR_INVALID,
                             "listen address \"%s\": \"%s\" is not a dotted-quad IPv4 address (host names and IPv6 "
                             "are not supported): %s",
                             text, host, want);
    const char *p = colon + 1;
    unsigned long port = 0;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 5 || p[digits] != '\0' || (port = strtoul(p, NULL, 10)) > 65535)
        return nox_error_set(err, NOX_ERR_INVALID, "listen address \"%s\": bad port \"%s\": %s", text, p, want);
    out->sin_port = htons((uint16_t)port);
    return NOX_OK;
}

/* The service name becomes part of metric names: [a-z0-9_], short. */
static int valid_service(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 32) return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static nox_status check_options(const nox_http_options *o, nox_error *err) {
    if (!valid_service(o->service))
        return nox_error_set(err, NOX_ERR_INVALID, "service name \"%s\" must be 1 to 32 of [a-z0-9_]",
                             o->service ? o->service : "(null)");
    if (o->threads < 1 || o->threads > MAX_THREADS)
        return nox_error_set(err, NOX_ERR_INVALID, "threads = %u: must be 1 to %d", o->threads, MAX_THREADS);
    if (o->max_body > MAX_BODY)
        return nox_error_set(err, NOX_ERR_INVALID, "max_body = %zu: must be at most %zu", o->max_body, MAX_BODY);
    if (o->max_header < MIN_HEADER || o->max_header > MAX_HEADER)
        return nox_error_set(err, NOX_ERR_INVALID, "max_header = %zu: must be %d to %d", o->max_header, MIN_HEADER,
                             MAX_HEADER);
    if (o->connection_timeout < 1)
        return nox_error_set(err, NOX_ERR_INVALID, "connection_timeout must be at least 1 second");
    if (o->request_timeout < 1 || o->request_timeout > 3600)
        return nox_error_set(err, NOX_ERR_INVALID, "request_timeout = %u: must be 1 to 3600 seconds",
                             o->request_timeout);
    if (o->tls && (!o->tls->cert_file[0] != !o->tls->key_file[0] || (o->tls->client_ca_file[0] && !o->tls->cert_file[0])))
        return nox_error_set(err, NOX_ERR_INVALID, "tls: cert_file and key_file go together, and client_ca_file "
                                                   "needs them (never a plaintext server that was meant to be TLS)");
    /* MHD splits the connection limit between its pool threads: each needs at least one. */
    if (o->max_connections < o->threads)
        return nox_error_set(err, NOX_ERR_INVALID, "max_connections = %u: must be at least threads (%u)",
                             o->max_connections, o->threads);
    return NOX_OK;
}

/* Copies `src` into dst[cap], cutting it if needed (log fields: truncation is fine). */
static void copy_text(char *dst, size_t cap, const char *src) {
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- built-in endpoints --------------------------------------------------------- */

/* A JSON object of string pairs; messages with invalid UTF-8 (jansson refuses them) are reduced to ASCII. */
static char *json_pairs(const char *k1, const char *v1, const char *k2, const char *v2) {
    json_t *o = json_pack("{s:s, s:s}", k1, v1, k2, v2);
    if (!o) {
        char safe[512];
        snprintf(safe, sizeof safe, "%s", v2);
        for (char *p = safe; *p; p++)
            if ((unsigned char)*p >= 0x80) *p = '?';
        o = json_pack("{s:s, s:s}", k1, v1, k2, safe);
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static void health_endpoint(void *user, const nox_http_request *req, nox_http_response *resp) {
    (void)req;
    const nox_http_server *s = user;
    if (s->metrics_of) s = s->metrics_of; /* a metrics listener answers for its service */
    char reason[256] = "";
    if (!s->health || s->health(s->health_user, reason, sizeof reason)) {
        nox_http_respond_json(resp, 200, "{\"status\":\"ok\"}");
        return;
    }
    reason[sizeof reason - 1] = '\0';
    if (!*reason) snprintf(reason, sizeof reason, "a dependency is unavailable");
    char *body = json_pairs("status", "unavailable", "reason", reason);
    if (body)
        nox_http_respond_json(resp, 503, body);
    else
        nox_http_respond_error(resp, 503, "storage", "unavailable");
    free(body);
    /* the reason carries no secrets (see nox_http_health_fn): log it with the 503 */
    copy_text(resp->error_code, sizeof resp->error_code, "unavailable");
    copy_text(resp->error_msg, sizeof resp->error_msg, reason);
}

static void metrics_endpoint(void *user, const nox_http_request *req, nox_http_response *resp) {
    (void)req;
    const nox_http_server *s = user;
    if (s->metrics_of) s = s->metrics_of; /* a metrics listener shows its service's metrics */
    size_t len = 0;
    char *text = nox_metrics_render(s->metrics, &len);
    if (!text) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        return;
    }
    nox_http_respond(resp, 200, "text/plain; version=0.0.4", text, len);
    free(text);
}

/* ---- server life cycle ---------------------------------------------------------- */

static nox_status add_route(nox_http_server *s, const char *method, const char *path, nox_http_handler handler,
                            void *user, nox_error *err);

static nox_status init_metrics(nox_http_server *s, nox_error *err) {
    char name[128];
    static const char *const counter_labels[] = {"route", "method", "status"};
    static const char *const hist_labels[] = {"route"};
    s->metrics = nox_metrics_new();
    if (!s->metrics) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    snprintf(name, sizeof name, "nox_%s_http_requests_total", s->service);
    nox_status st = nox_metrics_add_counter(s->metrics, name, "HTTP requests answered, by route, method and status.",
                                            counter_labels, 3, &s->requests_total, err);
    if (st) return st;
    nox_metric_family *timeouts;
    snprintf(name, sizeof name, "nox_%s_http_request_timeouts_total", s->service);
    st = nox_metrics_add_counter(s->metrics, name,
                                 "Connections closed because a request did not arrive within request_timeout.", NULL,
                                 0, &timeouts, err);
    if (st) return st;
    s->request_timeouts = nox_metric_counter(timeouts, NULL);
    nox_metric_family *conns;
    snprintf(name, sizeof name, "nox_%s_http_connections_total", s->service);
    st = nox_metrics_add_counter(s->metrics, name,
                                 "Connections accepted (each a TCP and, with TLS, a TLS handshake): with keep-alive "
                                 "clients this grows far slower than the requests.",
                                 NULL, 0, &conns, err);
    if (st) return st;
    s->connections = nox_metric_counter(conns, NULL);
    snprintf(name, sizeof name, "nox_%s_http_request_duration_seconds", s->service);
    return nox_metrics_add_histogram(s->metrics, name,
                                     "Time from the end of the request headers to the response, by route.",
                                     hist_labels, 1, DURATION_BOUNDS,
                                     sizeof DURATION_BOUNDS / sizeof DURATION_BOUNDS[0], &s->durations, err);
}

nox_status nox_http_server_new(const nox_http_options *o, nox_http_server **out, nox_error *err) {
    *out = NULL;
    struct sockaddr_in addr;
    nox_status st = check_options(o, err);
    if (st || (st = parse_listen(o->listen, &addr, err))) return st;
    nox_http_server *s = calloc(1, sizeof *s);
    if (!s) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    s->opt = *o;
    s->opt.tls = NULL;
    if (o->tls) s->tls = *o->tls;
    s->mutual = nox_tls_server_enabled(&s->tls) && s->tls.client_ca_file[0];
    s->addr = addr;
    s->port = ntohs(addr.sin_port);
    s->listen_fd = -1;
    pthread_mutex_init(&s->conn_mu, NULL);
    pthread_condattr_t ca; /* the sweeper's deadlines are on CLOCK_MONOTONIC */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->sweep_cv, &ca);
    pthread_condattr_destroy(&ca);
    s->service = strdup(o->service);
    s->listen = strdup(o->listen);
    if (!s->service || !s->listen) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    if (!st) {
        s->opt.service = s->service;
        s->opt.listen = s->listen;
        st = init_metrics(s, err);
    }
    if (!st && (st = add_route(s, "GET", "/health", health_endpoint, s, err)) == NOX_OK)
        s->routes[s->n_routes - 1].public_route = 1; /* health checks need no client certificate */
    if (!st && !o->metrics_listen) st = add_route(s, "GET", "/metrics", metrics_endpoint, s, err);
    if (!st && o->metrics_listen) { /* a listener of its own for /metrics, with the same TLS */
        nox_http_options mo = *o;
        char name[40];
        snprintf(name, sizeof name, "%.24s_metrics", o->service);
        mo.service = name;
        mo.listen = o->metrics_listen;
        mo.metrics_listen = NULL;
        mo.threads = 1;
        mo.access_log = 0;
        /* server TLS only: metrics are counters, not secrets, and a scraper's certificate must not be one that
         * the service's client CA admits (it would open the service's protected routes too) */
        nox_tls_server server_only;
        if (o->tls) {
            server_only = *o->tls;
            server_only.client_ca_file[0] = '\0';
            mo.tls = &server_only;
        }
        st = nox_http_server_new(&mo, &s->metrics_srv, err);
        if (!st) s->metrics_srv->metrics_of = s;
        if (st) nox_error_prefix(err, "metrics_listen: ");
    }
    if (st) {
        nox_http_server_free(s);
        return st;
    }
    *out = s;
    return NOX_OK;
}

void nox_http_set_health(nox_http_server *s, nox_http_health_fn fn, void *user) {
    s->health = fn;
    s->health_user = user;
}

/* Method tokens as registered: upper-case letters. */
static int valid_method(const char *m) {
    size_t n = m ? strlen(m) : 0;
    return n > 0 && n <= 16 && strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n;
}

/* Checks `path` and finds where its "{name}" segment starts (0: none); a fixed tail may follow it. */
static nox_status parse_route_path(const char *path, size_t *prefix_len, nox_error *err) {
    *prefix_len = 0;
    if (!path || path[0] != '/' || strcspn(path, "?# \t\r\n") != strlen(path))
        return nox_error_set(err, NOX_ERR_INVALID, "route path \"%s\" must start with '/' and have no query",
                             path ? path : "(null)");
    const char *open = strchr(path, '{');
    if (!open) return strchr(path, '}') ? nox_error_set(err, NOX_ERR_INVALID, "route path \"%s\": stray '}'", path)
                                        : NOX_OK;
    size_t name_len = strspn(open + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    const char *tail = open + 1 + name_len + 1;
    if (open[-1] != '/' || name_len == 0 || tail[-1] != '}' || (*tail && *tail != '/') || strpbrk(tail, "{}"))
        return nox_error_set(err, NOX_ERR_INVALID,
                             "route path \"%s\": a parameter must be one whole segment, as \"/v0/x/{name}\" or "
                             "\"/v0/x/{name}/y\"", path);
    *prefix_len = (size_t)(open - path);
    return NOX_OK;
}

/* Two routes for one method collide when they match the same requests. */
static int same_pattern(const route *r, const char *path, size_t prefix_len) {
    if (r->prefix_len != prefix_len) return 0;
    if (!prefix_len) return !strcmp(r->path, path);
    return !strncmp(r->path, path, prefix_len) && !strcmp(r->suffix, strchr(path + prefix_len, '}') + 1);
}

static nox_status add_route(nox_http_server *s, const char *method, const char *path, nox_http_handler handler,
                            void *user, nox_error *err) {
    size_t prefix_len;
    if (!valid_method(method))
        return nox_error_set(err, NOX_ERR_INVALID, "route method \"%s\" must be an upper-case token such as GET",
                             method ? method : "(null)");
    nox_status st = parse_route_path(path, &prefix_len, err);
    if (st) return st;
    if (!handler) return nox_error_set(err, NOX_ERR_INVALID, "route %s %s: no handler", method, path);
    for (size_t i = 0; i < s->n_routes; i++)
        if (!strcmp(s->routes[i].method, method) && same_pattern(&s->routes[i], path, prefix_len))
            return nox_error_set(err, NOX_ERR_DUPLICATE, "route %s %s is already served by %s %s", method, path,
                                 s->routes[i].method, s->routes[i].path);
    if (s->n_routes == s->cap_routes) {
        size_t cap = s->cap_routes ? 2 * s->cap_routes : 8;
        route *grown = realloc(s->routes, cap * sizeof *grown);
        if (!grown) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        s->routes = grown;
        s->cap_routes = cap;
    }
    route *r = &s->routes[s->n_routes];
    memset(r, 0, sizeof *r);
    r->method = strdup(method);
    r->path = strdup(path);
    if (!r->method || !r->path) {
        free(r->method);
        free(r->path);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    r->prefix_len = prefix_len;
    r->suffix = prefix_len ? strchr(r->path + prefix_len, '}') + 1 : "";
    r->handler = handler;
    r->user = user;
    s->n_routes++;
    return NOX_OK;
}

nox_status nox_http_route(nox_http_server *s, const char *method, const char *path, nox_http_handler handler,
                          void *user, nox_error *err) {
    if (s->state != STATE_NEW)
        return nox_error_set(err, NOX_ERR_INVALID, "route %s %s: routes must be added before the server starts",
                             method ? method : "(null)", path ? path : "(null)");
    return add_route(s, method, path, handler, user, err);
}

nox_status nox_http_route_public(nox_http_server *s, const char *method, const char *path, nox_http_handler handler,
                                 void *user, nox_error *err) {
    nox_status st = nox_http_route(s, method, path, handler, user, err);
    if (!st) s->routes[s->n_routes - 1].public_route = 1;
    return st;
}

const char *nox_http_server_scheme(const nox_http_server *s) { return nox_tls_server_enabled(&s->tls) ? "https" : "http"; }

nox_status nox_http_histogram(nox_http_server *s, const char *name, const char *help, const double *bounds,
                              size_t n_bounds, nox_histogram **out, nox_error *err) {
    if (s->state != STATE_NEW)
        return nox_error_set(err, NOX_ERR_INVALID, "histogram %s: metrics must be registered before the server starts",
                             name ? name : "(null)");
    nox_metric_family *f;
    nox_status st = nox_metrics_add_histogram(s->metrics, name, help, NULL, 0, bounds, n_bounds, &f, err);
    if (st) return st;
    *out = nox_metric_histogram(f, NULL); /* created with the family: cannot fail now */
    return NOX_OK;
}

nox_status nox_http_counter(nox_http_server *s, const char *name, const char *help, nox_counter **out,
                            nox_error *err) {
    if (s->state != STATE_NEW)
        return nox_error_set(err, NOX_ERR_INVALID, "counter %s: metrics must be registered before the server starts",
                             name ? name : "(null)");
    nox_metric_family *f;
    nox_status st = nox_metrics_add_counter(s->metrics, name, help, NULL, 0, &f, err);
    if (st) return st;
    *out = nox_metric_counter(f, NULL);
    return NOX_OK;
}

nox_status nox_http_gauge(nox_http_server *s, const char *name, const char *help, nox_gauge **out, nox_error *err) {
    if (s->state != STATE_NEW)
        return nox_error_set(err, NOX_ERR_INVALID, "gauge %s: metrics must be registered before the server starts",
                             name ? name : "(null)");
    nox_metric_family *f;
    nox_status st = nox_metrics_add_gauge(s->metrics, name, help, NULL, 0, &f, err);
    if (st) return st;
    *out = nox_metric_gauge(f, NULL);
    return NOX_OK;
}

/* The children of a one-label family, one per value (values[i] -> out[i]); NOX_ERR_NOMEM when one cannot be made. */
#define LABELLED_CHILDREN(kind_fn)                                                   \
    for (size_t i = 0; i < n; i++) {                                                 \
        const char *v[1] = {values[i]};                                              \
        if (!(out[i] = kind_fn(f, v))) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory"); \
    }                                                                                \
    return NOX_OK

static nox_status before_start(const nox_http_server *s, const char *name, nox_error *err) {
    if (s->state == STATE_NEW) return NOX_OK;
    return nox_error_set(err, NOX_ERR_INVALID, "metric %s: metrics must be registered before the server starts",
                         name ? name : "(null)");
}

nox_status nox_http_counters(nox_http_server *s, const char *name, const char *help, const char *label,
                             const char *const *values, size_t n, nox_counter **out, nox_error *err) {
    nox_metric_family *f;
    nox_status st = before_start(s, name, err);
    if (!st) st = nox_metrics_add_counter(s->metrics, name, help, &label, 1, &f, err);
    if (st) return st;
    LABELLED_CHILDREN(nox_metric_counter);
}

nox_status nox_http_gauges(nox_http_server *s, const char *name, const char *help, const char *label,
                           const char *const *values, size_t n, nox_gauge **out, nox_error *err) {
    nox_metric_family *f;
    nox_status st = before_start(s, name, err);
    if (!st) st = nox_metrics_add_gauge(s->metrics, name, help, &label, 1, &f, err);
    if (st) return st;
    LABELLED_CHILDREN(nox_metric_gauge);
}

nox_status nox_http_histograms(nox_http_server *s, const char *name, const char *help, const char *label,
                               const char *const *values, size_t n, const double *bounds, size_t n_bounds,
                               nox_histogram **out, nox_error *err) {
    nox_metric_family *f;
    nox_status st = before_start(s, name, err);
    if (!st) st = nox_metrics_add_histogram(s->metrics, name, help, &label, 1, bounds, n_bounds, &f, err);
    if (st) return st;
    LABELLED_CHILDREN(nox_metric_histogram);
}
#undef LABELLED_CHILDREN

/* ---- requests: helpers ------------------------------------------------------------- */

static double seconds_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int64_t monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The connection's track (NULL when MHD did not give one: then request_timeout does not apply to it). */
static conn_track *track_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The request has fully arrived (or been answered early): its handler's time does not count. */
static void track_busy(struct MHD_Connection *conn) {
    conn_track *t = track_of(conn);
    if (t) atomic_store(&t->waiting_since, 0);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    nox_http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn_track *t = ci ? calloc(1, sizeof *t) : NULL;
        *socket_context = t;
        if (!t) return; /* out of memory: served, without a request deadline */
        t->fd = ci->connect_fd;
        nox_counter_add(s->connections, 1);
        atomic_store(&t->waiting_since, monotonic_ns());
        pthread_mutex_lock(&s->conn_mu);
        t->next = s->conns;
        if (s->conns) s->conns->prev = t;
        s->conns = t;
        pthread_mutex_unlock(&s->conn_mu);
        return;
    }
    conn_track *t = *socket_context; /* MHD_CONNECTION_NOTIFY_CLOSED: before MHD closes the socket */
    if (!t) return;
    pthread_mutex_lock(&s->conn_mu);
    if (t->prev)
        t->prev->next = t->next;
    else
        s->conns = t->next;
    if (t->next) t->next->prev = t->prev;
    pthread_mutex_unlock(&s->conn_mu);
    free(t);
    *socket_context = NULL;
}

/*
 * Every SWEEP_MS, shuts down the sockets of connections that have waited longer than
 * request_timeout for a complete request. shutdown(), not close(): MHD then reads the end of the
 * stream, closes the connection itself and reports it closed (which unlists it).
 */
static void *sweep(void *arg) {
    nox_http_server *s = arg;
    const int64_t limit = (int64_t)s->opt.request_timeout * 1000000000;
    pthread_mutex_lock(&s->conn_mu);
    while (s->sweeping) {
        struct timespec until = nox_clock_after_ms(CLOCK_MONOTONIC, SWEEP_MS);
        pthread_cond_timedwait(&s->sweep_cv, &s->conn_mu, &until);
        int64_t now = monotonic_ns();
        unsigned shut = 0;
        for (conn_track *t = s->conns; t && s->sweeping; t = t->next) {
            int64_t since = atomic_load(&t->waiting_since);
            if (t->shut || since == 0 || now - since <= limit) continue;
            t->shut = 1;
            shutdown(t->fd, SHUT_RDWR);
            shut++;
        }
        if (shut) {
            nox_counter_add(s->request_timeouts, shut);
            nox_log(NOX_LOG_INFO, "closed %u connection(s) whose request did not arrive within %u s", shut,
                    s->opt.request_timeout);
        }
    }
    pthread_mutex_unlock(&s->conn_mu);
    return NULL;
}

static int valid_request_id(const char *v) {
    size_t n = v ? strlen(v) : 0;
    return n >= 1 && n <= MAX_REQUEST_ID &&
           strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* 16 hex characters. Ids only need to be unique, not secret; the fallback (no getrandom) mixes time and a counter. */
static void generate_request_id(char out[17]) {
    uint64_t x = 0;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) {
        static atomic_uint_fast64_t counter;
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        x = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
        x += atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15u;
        x ^= x >> 31; /* splitmix64 finaliser */
        x *= 0xbf58476d1ce4e5b9u;
        x ^= x >> 27;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)x);
}

/* Copies `in` for a log line: non-printable bytes as \xHH (no forged lines), spaces too unless the
 * field is quoted (a key=value field must stay one word), long text cut with "...". */
static void log_safe(const char *in, char *out, size_t cap, int quoted) {
    size_t o = 0;
    for (; *in && o + 8 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c > 0x20 || (quoted && c == 0x20)) && c < 0x7f && c != '"' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (*in) o += (size_t)snprintf(out + o, cap - o, "...");
    out[o] = '\0';
}

/* Bounded label values: clients choose the method token, and every distinct label value is a new time series. */
static const char *method_label(const char *m) {
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(m, known[i])) return known[i];
    return "other";
}

/* 1: `path` equals an exact route; 2: it matches a "{name}" route; 0: neither. */
static int path_match(const route *rt, const char *path) {
    if (!rt->prefix_len) return strcmp(rt->path, path) ? 0 : 1;
    if (strncmp(rt->path, path, rt->prefix_len)) return 0;
    const char *segment = path + rt->prefix_len, *end = strchr(segment, '/');
    if (!end) end = segment + strlen(segment);
    return end > segment && !strcmp(end, rt->suffix) ? 2 : 0;
}

static void allow_add(nox_http_request *r, const char *method) {
    size_t n = strlen(r->allow), m = strlen(method);
    for (const char *p = r->allow; (p = strstr(p, method)) != NULL; p += m)
        if ((p == r->allow || p[-1] == ' ') && (p[m] == ',' || p[m] == '\0')) return; /* already listed */
    if (n + m + 3 > sizeof r->allow) return;
    snprintf(r->allow + n, sizeof r->allow - n, "%s%s", n ? ", " : "", method);
}

/* Exact routes win over "{name}" routes; the methods of all routes matching the path make the Allow header. */
static void route_request(const nox_http_server *s, nox_http_request *r) {
    for (int pass = 1; pass <= 2; pass++)
        for (size_t i = 0; i < s->n_routes; i++) {
            const route *rt = &s->routes[i];
            if (path_match(rt, r->path) != pass) continue;
            if (!r->known) r->known = rt;
            if (!r->rt && !strcmp(rt->method, r->method)) {
                r->rt = rt;
                r->param = rt->prefix_len ? r->path + rt->prefix_len : NULL;
                if (r->param && *rt->suffix) { /* cut the tail off a copy */
                    size_t n = strlen(r->param) - strlen(rt->suffix);
                    if (n >= sizeof r->param_buf) n = sizeof r->param_buf - 1;
                    memcpy(r->param_buf, r->param, n);
                    r->param_buf[n] = '\0';
                    r->param = r->param_buf;
                }
            }
            allow_add(r, rt->method);
        }
}

/* Request line, query and headers, as sent (give or take separators). */
static enum MHD_Result add_field_size(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

static size_t header_size(const nox_http_request *r) {
    size_t n = strlen(r->method) + strlen(r->path) + 12;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_field_size, &n);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_field_size, &n);
    return n;
}

/* Appends body bytes; 0 when the body would pass max_body (nothing is then kept). */
static int append_body(nox_http_request *r, size_t max, const char *data, size_t n) {
    if (n > max - r->len) return 0;
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->len + n + 1) cap *= 2;
        if (cap > max + 1) cap = max + 1;
        char *p = realloc(r->body, cap);
        if (!p) return 0;
        r->body = p;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 1;
}

/* ---- requests: answering ----------------------------------------------------------- */

static void response_clear(nox_http_response *resp) {
    free(resp->content_type);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

/* Counts the request, observes its duration and writes the access log line (never headers or bodies). */
static void record(const nox_http_request *r, const nox_http_response *resp) {
    const nox_http_server *s = r->srv;
    double secs = seconds_since(&r->start);
    const route *label = r->rt ? r->rt : r->known;
    char status[16];
    snprintf(status, sizeof status, "%u", resp->status);
    const char *values[] = {label ? label->path : "unmatched", method_label(r->method), status};
    nox_counter_add(nox_metric_counter(s->requests_total, values), 1);
    nox_histogram_observe(label ? label->duration : s->unmatched_duration, secs);
    if (!s->opt.access_log) return;
    char method[40], path[LOG_FIELD_MAX + 20], msg[LOG_FIELD_MAX + 20] = "";
    log_safe(r->method, method, sizeof method, 0);
    log_safe(r->path, path, sizeof path, 0);
    if (resp->error_code[0]) log_safe(resp->error_msg, msg, sizeof msg, 1);
    nox_log(NOX_LOG_INFO, "http id=%s method=%s path=%s status=%u ms=%.3f bytes=%zu%s%s%s%s%s", r->id, method, path,
            resp->status, secs * 1e3, resp->len, resp->error_code[0] ? " error=" : "", resp->error_code,
            resp->error_code[0] ? " message=\"" : "", msg, resp->error_code[0] ? "\"" : "");
}

/* Queues `resp` (consumed) with X-Request-Id, Allow for 405 and, while stopping, Connection: close. */
static enum MHD_Result answer(nox_http_request *r, nox_http_response *resp) {
    r->answered = 1;
    if (resp->status < 200 || resp->status > 599) {
        nox_log(NOX_LOG_ERROR, "http id=%s: handler for %s set status %u, answering 500", r->id,
                r->rt ? r->rt->path : "?", resp->status);
        nox_http_respond_error(resp, 500, "storage", "internal error");
    }
    struct MHD_Response *mr = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
    if (!mr) {
        nox_log(NOX_LOG_ERROR, "http id=%s: out of memory for the response; closing the connection", r->id);
        response_clear(resp);
        return MHD_NO;
    }
    resp->body = NULL; /* MHD frees it now */
    int ok = MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                     resp->content_type ? resp->content_type : "application/octet-stream") &&
             MHD_add_response_header(mr, "X-Request-Id", r->id);
    if (ok && resp->status == 405) ok = MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (ok && atomic_load(&r->srv->stopping)) ok = MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = ok ? MHD_queue_response(r->conn, resp->status, mr) : MHD_NO;
    MHD_destroy_response(mr);
    if (ret == MHD_YES)
        record(r, resp);
    else
        nox_log(NOX_LOG_ERROR, "http id=%s: libmicrohttpd refused the response; closing the connection", r->id);
    response_clear(resp);
    return ret;
}

static enum MHD_Result answer_error(nox_http_request *r, unsigned status, const char *code, const char *message) {
    nox_http_response resp = {0};
    nox_http_respond_error(&resp, status, code, "%s", message);
    return answer(r, &resp);
}

static enum MHD_Result body_too_large(nox_http_request *r) {
    char msg[96];
    snprintf(msg, sizeof msg, "request body larger than %zu bytes", r->srv->opt.max_body);
    return answer_error(r, 413, "bad_request", msg);
}

/*
 * Mutual TLS: did the client present a certificate that the server's client CA verifies (chain, validity
 * dates, a client purpose)? MHD asks for one (MHD_OPTION_HTTPS_MEM_TRUST) but lets a client without one in: the routes that
 * need one check here. Cached for the connection: its certificate cannot change.
 */
static int peer_verified(struct MHD_Connection *conn) {
    conn_track *t = track_of(conn);
    if (t && t->peer) return t->peer > 0;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session = ci ? (gnutls_session_t)ci->tls_session : NULL;
    unsigned status = 1, n = 0;
    /* the chain, the dates, and an extended key usage (when the certificate has one) that allows clients */
    gnutls_typed_vdata_st purpose = {GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
    int ok = session && gnutls_certificate_get_peers(session, &n) && n > 0 &&
             gnutls_certificate_verify_peers(session, &purpose, 1, &status) == GNUTLS_E_SUCCESS && status == 0;
    if (t) t->peer = ok ? 1 : -1;
    return ok;
}

int nox_http_request_peer_key(const nox_http_request *r, unsigned char out[32]) {
    if (!r->srv->mutual || !peer_verified(r->conn)) return 0;
    conn_track *t = track_of(r->conn);
    if (t && t->peer_key_set) {
        memcpy(out, t->peer_key, 32);
        return 1;
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session = ci ? (gnutls_session_t)ci->tls_session : NULL;
    unsigned n = 0;
    const gnutls_datum_t *certs = session ? gnutls_certificate_get_peers(session, &n) : NULL;
    nox_error err = {0};
    if (!certs || n == 0 || nox_tls_cert_key_sha256_der(certs[0].data, certs[0].size, out, &err)) return 0;
    if (t) {
        memcpy(t->peer_key, out, 32);
        t->peer_key_set = 1;
    }
    return 1;
}

static const char NO_CLIENT_CERT[] =
    "this endpoint requires mutual TLS: a client certificate signed by the server's client CA";

/* The first call: the headers are in, the body (if any) is not. */
static enum MHD_Result begin_request(nox_http_server *s, struct MHD_Connection *conn, const char *url,
                                     const char *method, void **con_cls) {
    nox_http_request *r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    atomic_fetch_add(&s->in_flight, 1);
    *con_cls = r; /* freed by on_completed, whatever happens next */
    r->srv = s;
    r->conn = conn;
    r->method = method;
    r->path = url;
    const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (valid_request_id(id))
        memcpy(r->id, id, strlen(id) + 1);
    else
        generate_request_id(r->id);
    route_request(s, r);

    if (header_size(r) > s->opt.max_header) {
        char msg[96];
        snprintf(msg, sizeof msg, "request header larger than %zu bytes", s->opt.max_header);
        return answer_error(r, 431, "bad_request", msg);
    }
    /* Mutual TLS required and no verified client certificate: 401 now when there is no body to wait for (or
     * one the client asked permission for, or one over max_body); a small declared body is read and dropped
     * first, as for 413, so that a client still writing it gets the answer rather than a reset. */
    if (s->mutual && !(r->rt && r->rt->public_route) && !peer_verified(conn)) {
        r->no_client_cert = 1;
        const char *len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (!len || MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) ||
            strtoull(len, NULL, 10) > s->opt.max_body)
            return answer_error(r, 401, "unauthorized", NO_CLIENT_CERT);
        return MHD_YES;
    }
    /* A declared length over the limit is refused before reading any of the body when the client
     * sent "Expect: 100-continue" (it then never sends it) or the body is huge. Otherwise the body is
     * read and dropped first, then 413: closing a connection with unread data makes the kernel send
     * a reset, and a client still writing its body would lose the answer (seen with a 1 MiB + 1 body
     * to the Gateway: "Broken pipe" instead of 413). MHD has already checked the number's syntax. */
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        unsigned long long declared = strtoull(cl, NULL, 10);
        if (declared > s->opt.max_body) {
            if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) ||
                declared - s->opt.max_body > DRAIN_MAX)
                return body_too_large(r);
            r->too_large = 1; /* dropped as it arrives; 413 once it is all in (finish_request) */
            return MHD_YES;
        }
        if (declared > 0 && !(r->body = malloc((size_t)declared + 1))) return MHD_NO;
        r->cap = r->body ? (size_t)declared + 1 : 0;
    }
    return MHD_YES;
}

/* The last call: the whole body is in. */
static enum MHD_Result finish_request(nox_http_request *r) {
    nox_http_response resp = {0};
    if (r->too_large) return body_too_large(r);
    if (r->no_client_cert) return answer_error(r, 401, "unauthorized", NO_CLIENT_CERT);
    if (!r->rt && r->known)
        return answer_error(r, 405, "bad_request", "method not allowed for this path");
    if (!r->rt) return answer_error(r, 404, "not_found", "no such path");
    r->rt->handler(r->rt->user, r, &resp);
    if (!resp.set) {
        nox_log(NOX_LOG_ERROR, "http id=%s: the handler for %s %s set no response", r->id, r->rt->method,
                r->rt->path);
        nox_http_respond_error(&resp, 500, "storage", "internal error");
    }
    return answer(r, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    nox_http_server *s = cls;
    nox_http_request *r = *con_cls;
    if (!r) {
        enum MHD_Result ret = begin_request(s, conn, url, method, con_cls);
        r = *con_cls;
        if (r && r->answered) track_busy(conn); /* answered early: only a body to drop remains */
        return ret;
    }
    if (r->answered) {
        /* answered early (413/431): MHD may still hand us body bytes, which are dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->too_large && !r->no_client_cert && !append_body(r, s->opt.max_body, upload_data, *upload_data_size)) {
            /* MHD 0.9.75 only accepts a response once the body is complete: keep reading and
             * dropping it, and answer 413 at the end. The buffer never grows past max_body. */
            r->too_large = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    track_busy(conn);
    return finish_request(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    nox_http_server *s = cls;
    nox_http_request *r = *con_cls;
    conn_track *t = track_of(conn);
    if (t) atomic_store(&t->waiting_since, monotonic_ns()); /* ready for the next request */
    if (!r) return;
    if (!r->answered && s->opt.access_log) {
        char method[40], path[LOG_FIELD_MAX + 20];
        log_safe(r->method, method, sizeof method, 0);
        log_safe(r->path, path, sizeof path, 0);
        nox_log(NOX_LOG_INFO, "http id=%s method=%s path=%s aborted before a response (%s) ms=%.3f", r->id, method,
                path, toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout" : "connection closed",
                seconds_since(&r->start) * 1e3);
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* libmicrohttpd speaks up once per malformed or abandoned connection, so any client
 * could flood the log: at most MHD_LOG_BURST lines per minute, then one line saying
 * how many were suppressed. */
enum { MHD_LOG_BURST = 10 };
static pthread_mutex_t mhd_log_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t mhd_log_window;
static unsigned mhd_log_count, mhd_log_suppressed;

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    time_t now = time(NULL);
    unsigned suppressed = 0;
    int emit;
    pthread_mutex_lock(&mhd_log_lock);
    if (now - mhd_log_window >= 60) {
        suppressed = mhd_log_suppressed;
        mhd_log_window = now;
        mhd_log_count = mhd_log_suppressed = 0;
    }
    emit = ++mhd_log_count <= MHD_LOG_BURST;
    if (!emit) mhd_log_suppressed++;
    pthread_mutex_unlock(&mhd_log_lock);
    if (suppressed) nox_log(NOX_LOG_WARN, "libmicrohttpd: %u more messages suppressed in the last minute", suppressed);
    if (emit) nox_log(NOX_LOG_WARN, "libmicrohttpd: %s", msg);
}

/* ---- running ------------------------------------------------------------------------ */

/* Binds and listens on s->addr; returns the failing call's name, or NULL. */
static const char *bind_and_listen(nox_http_server *s, int fd) {
    int one = 1;
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return "setsockopt";
    if (bind(fd, (const struct sockaddr *)&s->addr, sizeof s->addr) != 0) return "bind";
    if (listen(fd, SOMAXCONN) != 0) return "listen";
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) return "getsockname";
    s->port = ntohs(bound.sin_port);
    return NULL;
}

/* We bind the socket ourselves: MHD_start_daemon reports no reason, and "address in use" is the usual one. */
static nox_status open_listen_socket(nox_http_server *s, nox_error *err) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return nox_error_set(err, NOX_ERR_IO, "cannot listen on %s: socket: %s", s->listen, strerror(errno));
    const char *failed = bind_and_listen(s, fd);
    if (failed) {
        int e = errno;
        close(fd);
        return nox_error_set(err, NOX_ERR_IO, "cannot listen on %s: %s: %s", s->listen, failed, strerror(e));
    }
    s->listen_fd = fd;
    return NOX_OK;
}

/* One duration histogram child per route label, created now so that requests never allocate it. */
static nox_status create_route_histograms(nox_http_server *s, nox_error *err) {
    for (size_t i = 0; i < s->n_routes; i++) {
        const char *label[] = {s->routes[i].path};
        if (!(s->routes[i].duration = nox_metric_histogram(s->durations, label)))
            return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    const char *unmatched[] = {"unmatched"};
    if (!(s->unmatched_duration = nox_metric_histogram(s->durations, unmatched)))
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    return NOX_OK;
}

nox_status nox_http_server_start(nox_http_server *s, nox_error *err) {
    if (s->state != STATE_NEW)
        return nox_error_set(err, NOX_ERR_INVALID, "the HTTP server on %s was already started", s->listen);
    nox_status st = create_route_histograms(s, err);
    if (!st && s->metrics_srv && (st = nox_http_server_start(s->metrics_srv, err)))
        nox_error_prefix(err, "metrics_listen: ");
    if (st || (st = open_listen_socket(s, err))) {
        nox_http_server_stop(s->metrics_srv);
        return st;
    }
    /* poll(), not epoll: libmicrohttpd 0.9.75 can panic in MHD_quiesce_daemon with epoll and a
     * thread pool ("Failed to remove listen FD from epoll set", seen under load in
     * test_http_server); poll() is ample for our connection counts. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    /* The per-connection memory pool holds the request line and headers (parsed in place), their
     * index, the response headers and the read buffer: twice max_header plus slack fits any header
     * block our own check (in begin_request) accepts, and MHD refuses far larger ones itself. */
    size_t pool = 2 * s->opt.max_header + 4096;
    /* TLS: libmicrohttpd takes the PEM texts in memory and loads them into GnuTLS while it starts; the
     * buffers (the key wiped) are released right after. TLS 1.2 and 1.3 only. */
    char *cert = NULL, *key = NULL, *trust = NULL;
    struct MHD_OptionItem tls_opts[5];
    size_t n_tls = 0;
    if (nox_tls_server_enabled(&s->tls)) {
        if ((st = nox_tls_read_pem(s->tls.cert_file, 0, &cert, err)) ||
            (st = nox_tls_read_pem(s->tls.key_file, 1, &key, err)) ||
            (s->mutual && (st = nox_tls_read_pem(s->tls.client_ca_file, 0, &trust, err)))) {
            nox_tls_pem_free(cert, 0);
            nox_tls_pem_free(key, 1);
            close(s->listen_fd);
            s->listen_fd = -1;
            return st;
        }
        flags |= MHD_USE_TLS;
        tls_opts[n_tls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
        tls_opts[n_tls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
        tls_opts[n_tls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                                    (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
        if (trust) tls_opts[n_tls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, trust};
    }
    tls_opts[n_tls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                                 /* first, or MHD logs the options before it on its own */
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                                 MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->listen_fd,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->opt.threads,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->opt.connection_timeout,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->opt.max_connections,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                 MHD_OPTION_ARRAY, tls_opts,
                                 MHD_OPTION_END);
    nox_tls_pem_free(cert, 0);
    nox_tls_pem_free(key, 1);
    nox_tls_pem_free(trust, 0);
    if (!s->daemon) {
        close(s->listen_fd);
        s->listen_fd = -1;
        return nox_error_set(err, NOX_ERR_IO, "cannot start the HTTP server on %s: libmicrohttpd refused to start",
                             s->listen);
    }
    s->sweeping = 1;
    if (pthread_create(&s->sweeper, NULL, sweep, s) != 0) {
        s->sweeping = 0;
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
        s->listen_fd = -1; /* closed by MHD_stop_daemon */
        return nox_error_set(err, NOX_ERR_IO, "cannot start the HTTP server on %s: no thread for request timeouts",
                             s->listen);
    }
    s->state = STATE_RUNNING;
    return NOX_OK;
}

uint16_t nox_http_server_port(const nox_http_server *s) { return s->port; }

uint16_t nox_http_server_metrics_port(const nox_http_server *s) { return s->metrics_srv ? s->metrics_srv->port : 0; }

void nox_http_server_stop(nox_http_server *s) {
    if (!s || s->state != STATE_RUNNING) return;
    atomic_store(&s->stopping, 1);
    /* Stop accepting; connections already open go on being served (each response now closes its
     * connection) until the requests in progress are done or DRAIN_SECONDS pass. */
    MHD_socket quiesced = MHD_quiesce_daemon(s->daemon);
    struct timespec t0, tick = {0, 1000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (atomic_load(&s->in_flight) > 0 && seconds_since(&t0) < DRAIN_SECONDS) nanosleep(&tick, NULL);
    pthread_mutex_lock(&s->conn_mu);
    s->sweeping = 0;
    pthread_cond_signal(&s->sweep_cv);
    pthread_mutex_unlock(&s->conn_mu);
    pthread_join(s->sweeper, NULL);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    /* A quiesced socket is ours to close (only after MHD_stop_daemon); otherwise MHD closed it. */
    if (quiesced != MHD_INVALID_SOCKET) close(quiesced);
    s->listen_fd = -1;
    s->state = STATE_STOPPED;
    nox_http_server_stop(s->metrics_srv);
}

void nox_http_server_free(nox_http_server *s) {
    if (!s) return;
    nox_http_server_stop(s);
    for (size_t i = 0; i < s->n_routes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].path);
    }
    free(s->routes);
    nox_metrics_free(s->metrics);
    nox_http_server_free(s->metrics_srv);
    pthread_cond_destroy(&s->sweep_cv);
    pthread_mutex_destroy(&s->conn_mu);
    free(s->service);
    free(s->listen);
    free(s);
}

/* ---- requests: accessors ------------------------------------------------------------ */

const char *nox_http_request_method(const nox_http_request *r) { return r->method; }
const char *nox_http_request_path(const nox_http_request *r) { return r->path; }
const char *nox_http_request_param(const nox_http_request *r) { return r->param; }
const char *nox_http_request_id(const nox_http_request *r) { return r->id; }

typedef struct {
    const char *key;
    size_t key_len;
    const char *value;
    int found;
} query_lookup;

static enum MHD_Result match_query_key(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                       const char *value, size_t value_size) {
    (void)kind, (void)value_size;
    query_lookup *q = cls;
    if (key_size != q->key_len || memcmp(key, q->key, key_size)) return MHD_YES;
    q->value = value;
    q->found = 1;
    return MHD_NO; /* the first occurrence wins */
}

/* MHD_lookup_connection_value compares keys case-insensitively for every kind; query keys are
 * case-sensitive, so they are matched here by walking the arguments in order. */
const char *nox_http_request_query(const nox_http_request *r, const char *key) {
    query_lookup q = {key, strlen(key), NULL, 0};
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, match_query_key, &q);
    if (!q.found) return NULL;
    return q.value ? q.value : ""; /* "?flag" (no '=') is present with an empty value */
}

const char *nox_http_request_header(const nox_http_request *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *nox_http_request_body(const nox_http_request *r, size_t *len) {
    if (len) *len = r->body ? r->len : 0;
    return r->body ? r->body : "";
}

/* ---- responses ---------------------------------------------------------------------- */

void nox_http_respond(nox_http_response *resp, unsigned status, const char *content_type, const char *body,
                      size_t len) {
    response_clear(resp);
    resp->set = 1;
    resp->status = status;
    resp->content_type = strdup(content_type ? content_type : "application/octet-stream");
    resp->body = malloc(len ? len : 1);
    if (!resp->content_type || !resp->body) {
        /* out of memory: an empty 500 still tells the client something went wrong */
        response_clear(resp);
        resp->set = 1;
        resp->status = 500;
        return;
    }
    if (len) memcpy(resp->body, body, len);
    resp->len = len;
}

void nox_http_respond_json(nox_http_response *resp, unsigned status, const char *json) {
    nox_http_respond(resp, status, "application/json", json ? json : "", json ? strlen(json) : 0);
}

void nox_http_respond_value(nox_http_response *resp, json_t *value) {
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    if (text) nox_http_respond_json(resp, 200, text);
    else nox_http_respond_error(resp, 500, "storage", "out of memory");
    free(text);
    json_decref(value);
}

void nox_http_respond_error(nox_http_response *resp, unsigned status, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!code) code = "storage";
    char *body = json_pairs("error", code, "message", msg);
    if (body)
        nox_http_respond_json(resp, status, body);
    else
        nox_http_respond_json(resp, 500, "{\"error\":\"storage\",\"message\":\"internal error\"}");
    free(body);
    copy_text(resp->error_code, sizeof resp->error_code, code);
    copy_text(resp->error_msg, sizeof resp->error_msg, msg);
}

nox_http_response *nox_http_response_new(void) { return calloc(1, sizeof(nox_http_response)); }

void nox_http_response_free(nox_http_response *resp) {
    if (!resp) return;
    response_clear(resp);
    free(resp);
}

unsigned nox_http_response_status(const nox_http_response *resp) { return resp->set ? resp->status : 0; }

const char *nox_http_response_body(const nox_http_response *resp, size_t *len) {
    *len = resp->body ? resp->len : 0;
    return resp->body;
}
