/* Reading HTTP answers with libcurl (internal to core/: the JSON-RPC and KMS clients). */
#ifndef NOX_HTTP_BODY_H
#define NOX_HTTP_BODY_H

#include <stddef.h>

#include "nox/error.h"
#include "nox/tls.h"

/* An answer body read into a buffer that grows up to `max` bytes (NUL-terminated). */
typedef struct nox_http_body {
    char *buf;
    size_t len, cap, max;
    int too_large, out_of_memory; /* why a transfer was aborted */
} nox_http_body;

/* CURLOPT_WRITEFUNCTION for a nox_http_body given as CURLOPT_WRITEDATA: aborts the
 * transfer (CURLE_WRITE_ERROR) past `max` bytes or when out of memory. */
size_t nox_http_body_write(char *ptr, size_t size, size_t nmemb, void *user);

/* Empties the body for the next answer, keeping its buffer. */
void nox_http_body_reset(nox_http_body *b);

/*
 * Before a libcurl client is made: url must start with http:// or https://
 * (else NOX_ERR_INVALID "<name> URL must start with ..."), and libcurl's global
 * state is initialised (once per process; NOX_ERR_IO when that failed).
 */
nox_status nox_curl_prepare(const char *name, const char *url, nox_error *err);

/*
 * The settings every client's handle gets: no signals (threads), the timeouts,
 * no redirects, http and https only, TCP keep-alive, TLS 1.2 or later with the
 * peer's certificate and host name always verified (no switch turns that off),
 * and tls's files when given (NULL: the system's trust store, no client
 * certificate). 0 when all were accepted.
 */
int nox_curl_defaults(void *curl_handle, unsigned timeout_ms, unsigned connect_timeout_ms, const nox_tls_client *tls);

/*
 * Writes url reduced to scheme://host[:port] into out (capacity cap): no
 * user info, path, query or fragment, where API keys live. Returns out.
 */
char *nox_url_redact(const char *url, char *out, size_t cap);

/* A printable-ASCII copy of s for an error message, cut to `max` bytes ("..." appended). */
void nox_printable(const char *s, size_t max, char *out, size_t cap);

#endif
