/*
 * nox/error.h — status codes and the error record every fallible core call fills.
 *
 * Style (after nats.c): every fallible function returns a nox_status and, when
 * given a non-NULL `nox_error *`, writes a human-readable message saying what
 * was wrong and, where it helps, what to do next. Messages never contain
 * plaintext values or key material.
 */
#ifndef NOX_ERROR_H
#define NOX_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Outcome of a core call. NOX_OK is 0; everything else is an error class. */
typedef enum nox_status {
    NOX_OK = 0,
    NOX_ERR_INVALID,    /**< malformed input (syntax, length, hex, range) */
    NOX_ERR_TYPE,       /**< a type error: wrong/unknown type code, arity, mismatch */
    NOX_ERR_NOT_FOUND,  /**< a named thing does not exist (operator, file, key) */
    NOX_ERR_DUPLICATE,  /**< a name or id registered twice */
    NOX_ERR_CONFIG,     /**< a configuration file is wrong (message has file:line:col) */
    NOX_ERR_ABI,        /**< a plugin built against another ABI */
    NOX_ERR_PLUGIN,     /**< a plugin failed to load, init, or misbehaved */
    NOX_ERR_IO,         /**< an operating-system call failed */
    NOX_ERR_NOMEM,      /**< out of memory */
    NOX_ERR_AUTH,       /**< data failed authentication: an AEAD tag or an RSA-OAEP decryption (wrong key, or altered) */
    NOX_ERR_REMOTE,     /**< a remote service answered with an error of its own (e.g. a JSON-RPC error object) */
} nox_status;

/** Capacity of an error message, including the terminating NUL. */
#define NOX_ERROR_MAX 512

/** An error record: the status and a NUL-terminated message. */
typedef struct nox_error {
    nox_status code;
    char message[NOX_ERROR_MAX];
} nox_error;

/**
 * Records an error and returns `code`, so callers can write
 * `return nox_error_set(err, NOX_ERR_INVALID, "...", ...);`.
 * `err` may be NULL (then only `code` is returned). Truncates long messages.
 */
nox_status nox_error_set(nox_error *err, nox_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * Prefixes the message already in `err` with a formatted context
 * ("file:3:5: plugins[0]: " + old message). Returns err->code (NOX_OK if err is NULL).
 */
nox_status nox_error_prefix(nox_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Resets `err` to NOX_OK with an empty message. */
void nox_error_clear(nox_error *err);

/** A short constant name for a status ("invalid", "type", ...). */
const char *nox_status_name(nox_status code);

#ifdef __cplusplus
}
#endif

#endif /* NOX_ERROR_H */
