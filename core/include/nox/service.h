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
