/* ec_internal.h — the process-wide libsecp256k1 context of ec.c, for the other core files on the curve. */
#ifndef NOX_EC_INTERNAL_H
#define NOX_EC_INTERNAL_H

#include <secp256k1.h>

#include "nox/error.h"

/** The shared context (created once, randomised, read-only afterwards), or NULL with NOX_ERR_NOMEM set. */
const secp256k1_context *nox_ec_context(nox_error *err);

#endif
