/* Reporting unexpected OpenSSL failures (internal to core/). */
#ifndef NOX_OPENSSL_ERROR_H
#define NOX_OPENSSL_ERROR_H

#include "nox/error.h"

/*
 * Records "<what> failed in OpenSSL: <reason>" as NOX_ERR_IO and returns it.
 * The error queue holds reason codes only, never key material; it is cleared
 * so that it does not leak into the next caller on this thread.
 */
nox_status nox_openssl_failure(nox_error *err, const char *what);

#endif
