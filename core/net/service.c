#include "nox/service.h"

#include "nox/config.h"
#include "nox/config_net.h"
#include "nox/http_server.h"
#include "nox/log.h"
#include "nox/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static sigset_t shutdown_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

void nox_service_block_signals(void) {
    sigset_t set = shutdown_signals();
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up must not kill the service */
}

nox_status nox_service_no_core_dumps(nox_error *err) {
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none))
        return nox_error_set(err, NOX_ERR_IO, "cannot forbid core dumps (setrlimit RLIMIT_CORE 0): %s", strerror(errno));
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
        return nox_error_set(err, NOX_ERR_IO, "cannot forbid core dumps and tracing (prctl PR_SET_DUMPABLE 0): %s",
                             strerror(errno));
    return NOX_OK;
}

nox_service_args nox_service_parse_args(int argc, char **argv, const char **config, const char **ready_file) {
    *config = *ready_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) return NOX_ARGS_HELP;
        if (!strcmp(argv[i], "--config") && i + 1 < argc) *config = argv[++i];
        else if (!strcmp(argv[i], "--ready-file") && i + 1 < argc) *ready_file = argv[++i];
        else return NOX_ARGS_USAGE;
    }
    return *config ? NOX_ARGS_RUN : NOX_ARGS_USAGE;
}

int nox_service_wait_for_shutdown(void) {
    sigset_t set = shutdown_signals();
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGTERM || sig == SIGINT) return sig;
    }
}

nox_status nox_service_write_ready_file(const char *path, const char *text, nox_error *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return nox_error_set(err, NOX_ERR_INVALID, "ready file path too long");
    FILE *f = fopen(tmp, "w");
    if (!f) return nox_error_set(err, NOX_ERR_IO, "cannot write ready file %s: %s", path, strerror(errno));
    int bad = fprintf(f, "%s\n", text) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return nox_error_set(err, NOX_ERR_IO, "cannot write ready file %s: %s", path, strerror(errno));
    }
    return NOX_OK;
}

nox_status nox_service_announce(const struct nox_http_server *server, const char *listen, const char *what,
                                const char *ready_file, nox_error *err) {
    char host[128], url[192];
    snprintf(host, sizeof host, "%s", listen);
    char *colon = strrchr(host, ':');
    if (colon) *colon = '\0';
    snprintf(url, sizeof url, "%s://%s:%u", nox_http_server_scheme(server), host, nox_http_server_port(server));
    nox_log(NOX_LOG_INFO, "%s on %s", what, url);
    if (nox_http_server_metrics_port(server))
        nox_log(NOX_LOG_INFO, "/metrics on its own listener (metrics_listen), port %u",
                nox_http_server_metrics_port(server));
    return ready_file ? nox_service_write_ready_file(ready_file, url, err) : NOX_OK;
}

nox_status nox_service_serve(struct nox_http_server *server, const char *listen, const char *ready_file,
                             nox_error *err) {
    nox_status s = nox_http_server_start(server, err);
    if (s) return s;
    s = nox_service_announce(server, listen, "listening", ready_file, err);
    if (!s) {
        int sig = nox_service_wait_for_shutdown();
        nox_log(NOX_LOG_INFO, "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    }
    nox_http_server_stop(server);
    return s;
}

/* ---- the listener and HTTP settings from YAML ----------------------------------------------- */

/* A listen address without TLS must be on 127.0.0.0/8: NOX_ERR_CONFIG at `key` otherwise. */
static nox_status require_loopback(const struct nox_cfg_doc *doc, const struct nox_cfg_node *root, const char *key,
                                   const char *listen, nox_error *err) {
    struct in_addr a;
    char host[64];
    snprintf(host, sizeof host, "%s", listen);
    char *colon = strrchr(host, ':');
    if (colon) *colon = '\0';
    if (inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127) return NOX_OK;
    const struct nox_cfg_node *at = nox_cfg_get(root, key);
    return nox_cfg_error(doc, at ? at : root, key, err, NOX_ERR_CONFIG,
                         "%s is not a loopback address and there is no tls: set tls {cert_file, key_file} (or, "
                         "knowingly, allow_plaintext: true)", listen);
}

nox_status nox_service_load_listener(const struct nox_cfg_doc *doc, const struct nox_cfg_node *root, const char *dflt,
                                     char *listen, size_t cap, nox_tls_server *tls, nox_error *err) {
    int allow = 0;
    nox_status st = nox_cfg_get_text(doc, root, "listen", !dflt, dflt, "", listen, cap, err);
    if (!st) st = nox_cfg_get_tls_server(doc, root, "tls", tls, err);
    if (!st) st = nox_cfg_get_bool(doc, root, "allow_plaintext", 0, "", &allow, err);
    if (st || nox_tls_server_enabled(tls) || allow) return st;
    return require_loopback(doc, root, "listen", listen, err);
}

nox_status nox_service_load_metrics_listen(const struct nox_cfg_doc *doc, const struct nox_cfg_node *root,
                                           const nox_tls_server *tls, char *out, size_t cap, nox_error *err) {
    int allow = 0;
    nox_status st = nox_cfg_get_text(doc, root, "metrics_listen", 0, NULL, "", out, cap, err);
    if (!st) st = nox_cfg_get_bool(doc, root, "allow_plaintext", 0, "", &allow, err);
    if (st || !out[0] || nox_tls_server_enabled(tls) || allow) return st;
    return require_loopback(doc, root, "metrics_listen", out, err);
}

void nox_service_http_limits_default(nox_service_http_limits *l) {
    nox_http_options o;
    nox_http_options_default(&o);
    l->threads = o.threads;
    l->max_body = o.max_body;
    l->max_header = o.max_header;
    l->connection_timeout_s = o.connection_timeout;
    l->request_timeout_s = o.request_timeout;
}

nox_status nox_service_load_http_limits(const struct nox_cfg_doc *doc, const struct nox_cfg_node *root,
                                        nox_service_http_limits *l, nox_error *err) {
    uint64_t threads = l->threads, body = l->max_body, header = l->max_header, idle = l->connection_timeout_s,
             request = l->request_timeout_s;
    nox_status st = nox_cfg_get_uint(doc, root, "threads", 0, 1, 256, "", &threads, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "max_body", 0, 1024, 16u << 20, "", &body, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "max_header", 0, 4096, 1024 * 1024, "", &header, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "connection_timeout_s", 0, 1, 3600, "", &idle, err);
    if (!st) st = nox_cfg_get_uint(doc, root, "request_timeout_s", 0, 1, 3600, "", &request, err);
    if (st) return st;
    l->threads = (unsigned)threads;
    l->max_body = (size_t)body;
    l->max_header = (size_t)header;
    l->connection_timeout_s = (unsigned)idle;
    l->request_timeout_s = (unsigned)request;
    return NOX_OK;
}

void nox_service_http_apply(const nox_service_http_limits *l, struct nox_http_options *o) {
    o->threads = l->threads;
    o->max_body = l->max_body;
    o->max_header = l->max_header;
    o->connection_timeout = l->connection_timeout_s;
    o->request_timeout = l->request_timeout_s;
}
