/*
 * nox/types.h — the type table of spec §3 on the host side: names, sizes,
 * validity. The codes and the width/signedness helpers live in the plugin
 * ABI header (nox/plugin.h) so plugins and host share one definition.
 */
#ifndef NOX_TYPES_H
#define NOX_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"
#include "nox/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The name of a type code ("uint8", "int256", "uint2048", "bool", "address", "bytes32"), or NULL for reserved codes. */
const char *nox_type_name(unsigned code);

/** Looks up a type by its exact name. Returns NOX_OK, or NOX_ERR_TYPE naming the valid names. */
nox_status nox_type_from_name(const char *name, uint8_t *code, nox_error *err);

/** 1 when `code` is 0..105 (a defined type), else 0. */
int nox_type_is_known(unsigned code);

/** 1 when values of `code` have a fixed size and fit a nox_value (everything but bytes/string/reserved). */
int nox_type_is_fixed(unsigned code);

/** Plaintext size in bytes of a fixed-size type (bool = 1); 0 for dynamic or reserved codes. */
size_t nox_type_size(unsigned code);

/** NOX_OK when `code` is a known type code, else NOX_ERR_TYPE with a message naming it. */
nox_status nox_type_check_code(unsigned code, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_TYPES_H */
