/*
 * nox/log.h — one-line logs for the services, on stderr:
 *     2026-11-22T22:05:00.123Z kms info: listening on http://127.0.0.1:9000
 * or, with nox_log_set_json(1) (YAML `log_format: json`), one JSON object per line with the same fields:
 *     {"time":"2026-11-22T22:05:00.123Z","service":"kms","level":"info","message":"listening on ..."}
 * Thread-safe (each line is written with one call). Never pass a plaintext,
 * a key or a token to these functions: logs are not secret.
 */
#ifndef NOX_LOG_H
#define NOX_LOG_H

#include <stdarg.h>

#include "nox/plugin.h" /* enum nox_log_level */

#ifdef __cplusplus
extern "C" {
#endif

/** Sets the service name printed on every line and the most verbose level written (default "nox", INFO). */
void nox_log_init(const char *service, int max_level);

/** 1: one JSON object per line ({"time", "service", "level", "message"}); 0 (the default): text lines. */
void nox_log_set_json(int json);

/** Parses "error", "warn", "info" or "debug"; -1 for anything else. */
int nox_log_level_from_name(const char *name);

/** Writes one line at `level` (enum nox_log_level) when it is not above the configured level. */
void nox_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** As nox_log, with a va_list. */
void nox_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#ifdef __cplusplus
}
#endif

#endif /* NOX_LOG_H */
