#include "openssl_error.h"

#include <openssl/err.h>

nox_status nox_openssl_failure(nox_error *err, const char *what) {
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    nox_status st = nox_error_set(err, NOX_ERR_IO, "%s failed in OpenSSL%s%s", what, reason ? ": " : "",
                                  reason ? reason : "");
    ERR_clear_error();
    return st;
}
