/*
 * nox/service.h — what every service's main() does around its work:
 * graceful shutdown on SIGTERM/SIGINT, and a ready file for supervisors and
 * tests ("the address I listen on, once I serve").
 */
#ifndef NOX_SERVICE_H
#define NOX_SERVICE_H

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Blocks SIGTERM, SIGINT and SIGHUP in the calling thread; threads created
 * afterwards inherit the mask, so only nox_service_wait_for_shutdown sees
 * them. Call first thing in main(), before any thread is started.
 */
void nox_service_block_signals(void);

/**
 * For a process that holds keys or plaintexts: no core dump ever (RLIMIT_CORE soft and hard 0, so
 * not even a child can raise it) and not dumpable (PR_SET_DUMPABLE 0: no core, no ptrace attach or
 * /proc/PID/mem by other processes of the same user). Call early in main(), before reading a key.
 * NOX_ERR_IO with the reason when the kernel refuses (the service must then not start).
 */
nox_status nox_service_no_core_dumps(nox_error *err);

/** What nox_service_parse_args found. */
typedef enum nox_service_args { NOX_ARGS_RUN = 0, NOX_ARGS_HELP = 1, NOX_ARGS_USAGE = 2 } nox_service_args;

/**
 * Parses the command line every service takes: --config FILE (required),
 * --ready-file FILE (optional), --help. NOX_ARGS_RUN with *config set (and
 * *ready_file, or NULL); NOX_ARGS_HELP for --help; NOX_ARGS_USAGE for
 * anything else (the caller prints its usage and exits 2).
 */
nox_service_args nox_service_parse_args(int argc, char **argv, const char **config, const char **ready_file);

struct nox_http_server;
struct nox_http_options;
struct nox_cfg_doc;
struct nox_cfg_node;

/** The HTTP server settings a service's YAML may set (all optional; see nox_service_load_http_limits). */
typedef struct nox_service_http_limits {
    unsigned threads;              /**< `threads`: request threads, 1..256 */
    size_t max_body;               /**< `max_body`: bytes, 1 KiB..16 MiB (413 above) */
    size_t max_header;             /**< `max_header`: bytes, 4 KiB..1 MiB (431 above) */
    unsigned connection_timeout_s; /**< `connection_timeout_s`: idle seconds before a connection is closed, 1..3600 */
    unsigned request_timeout_s;    /**< `request_timeout_s`: seconds for a request to arrive, 1..3600 */
} nox_service_http_limits;

struct nox_tls_server;

/** The keys nox_service_load_listener reads, for a loader's list of known top-level keys. */
#define NOX_SERVICE_LISTEN_KEYS "listen", "tls", "allow_plaintext", "metrics_listen"

/**
 * A service's listener from the YAML map `root`: `listen` ("IPv4:port"; when absent, `dflt`, or an error
 * when dflt is NULL) into listen[cap]; `tls` (optional {cert_file, key_file, client_ca_file}, paths
 * relative to the file, each file checked now: nox/tls.h) into *tls; `allow_plaintext` (default false).
 * Secure by default: a listen address outside 127.0.0.0/8 without tls stops the configuration at `listen`
 * unless allow_plaintext: true. NOX_ERR_CONFIG with file:line:col.
 */
nox_status nox_service_load_listener(const struct nox_cfg_doc *doc, const struct nox_cfg_node *root, const char *dflt,
                                     char *listen, size_t cap, struct nox_tls_server *tls, nox_error *err);

/**
 * `metrics_listen` (optional "IPv4:port"): /metrics on a listener of its own, with the same tls (see
 * nox_http_options.metrics_listen); "" when absent. The loopback rule of nox_service_load_listener
 * applies to it too (tls = what that function read).
 */
nox_status nox_service_load_metrics_listen(const struct nox_cfg_doc *doc, const struct nox_cfg_node *root,
                                           const struct nox_tls_server *tls, char *out, size_t cap, nox_error *err);

/** The keys nox_service_load_http_limits reads, for a loader's list of known top-level keys. */
#define NOX_SERVICE_HTTP_KEYS "threads", "max_body", "max_header", "connection_timeout_s", "request_timeout_s"

/**
 * Reads the NOX_SERVICE_HTTP_KEYS present in the YAML map `root` into `l`, whose values on entry
 * are the service's defaults (keys absent keep them). NOX_ERR_CONFIG with file:line:col for a
 * value of the wrong kind or out of range.
 */
nox_status nox_service_load_http_limits(const struct nox_cfg_doc *doc, const struct nox_cfg_node *root,
                                        nox_service_http_limits *l, nox_error *err);

/** Fills `l` with the HTTP server's own defaults (nox_http_options_default), for a service to adjust. */
void nox_service_http_limits_default(nox_service_http_limits *l);

/** Copies `l` into the server options `o`. */
void nox_service_http_apply(const nox_service_http_limits *l, struct nox_http_options *o);

/**
 * The tail of every HTTP service's main(): starts `server` (routes already
 * registered), logs "listening on http://HOST:PORT" (HOST from `listen`),
 * writes that URL to `ready_file` when given, waits for SIGTERM/SIGINT, and
 * stops the server gracefully. The caller still frees it.
 */
nox_status nox_service_serve(struct nox_http_server *server, const char *listen, const char *ready_file,
                             nox_error *err);

/**
 * For a started `server`: logs "<what> on http://HOST:PORT" (HOST from `listen`, PORT the one bound)
 * and writes that URL to `ready_file` when given (nox_service_write_ready_file).
 */
nox_status nox_service_announce(const struct nox_http_server *server, const char *listen, const char *what,
                                const char *ready_file, nox_error *err);

/** Waits until SIGTERM or SIGINT arrives (SIGHUP is ignored for now); returns the signal number. */
int nox_service_wait_for_shutdown(void);

/**
 * Atomically writes `text` + "\n" to `path` (temporary file + rename), so a
 * reader never sees a partial file. For --ready-file.
 */
nox_status nox_service_write_ready_file(const char *path, const char *text, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_SERVICE_H */
