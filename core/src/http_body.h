/* Reading HTTP answers with libcurl (internal to core/: the JSON-RPC and KMS clients). */
#ifndef NOX_HTTP_BODY_H
#define NOX_HTTP_BODY_H

#include <stddef.h>

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

/* A printable-ASCII copy of s for an error message, cut to `max` bytes ("..." appended). */
void nox_printable(const char *s, size_t max, char *out, size_t cap);

#endif
