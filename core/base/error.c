#include "nox/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

nox_status nox_error_set(nox_error *err, nox_status code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

nox_status nox_error_prefix(nox_error *err, const char *fmt, ...) {
    if (!err) return NOX_OK;
    char prefix[NOX_ERROR_MAX], old[NOX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    size_t plen = strnlen(prefix, sizeof prefix - 1);
    size_t olen = strnlen(old, sizeof old - 1);
    if (plen + olen > NOX_ERROR_MAX - 1) olen = NOX_ERROR_MAX - 1 - plen; /* truncate the tail */
    memcpy(err->message, prefix, plen);
    memcpy(err->message + plen, old, olen);
    err->message[plen + olen] = '\0';
    return err->code;
}

void nox_error_clear(nox_error *err) {
    if (!err) return;
    err->code = NOX_OK;
    err->message[0] = '\0';
}

const char *nox_status_name(nox_status code) {
    switch (code) {
    case NOX_OK: return "ok";
    case NOX_ERR_INVALID: return "invalid";
    case NOX_ERR_TYPE: return "type";
    case NOX_ERR_NOT_FOUND: return "not_found";
    case NOX_ERR_DUPLICATE: return "duplicate";
    case NOX_ERR_CONFIG: return "config";
    case NOX_ERR_ABI: return "abi";
    case NOX_ERR_PLUGIN: return "plugin";
    case NOX_ERR_IO: return "io";
    case NOX_ERR_NOMEM: return "nomem";
    case NOX_ERR_AUTH: return "auth";
    case NOX_ERR_REMOTE: return "remote";
    }
    return "unknown";
}
