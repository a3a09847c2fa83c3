/*
 * nox/base64.h — standard base64 (RFC 4648 §4, with padding), as the
 * `Authorization: EIP712 <base64(JSON)>` headers of spec §7 carry it.
 * OpenSSL does the transform (EVP_EncodeBlock / EVP_DecodeBlock); these
 * wrappers add what it lacks: strict validation (no whitespace, padding only
 * at the end, canonical trailing bits) and the exact decoded length.
 */
#ifndef NOX_BASE64_H
#define NOX_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Characters needed to encode len bytes, including the NUL. */
#define NOX_BASE64_ENCODED_SIZE(len) (4 * (((len) + 2) / 3) + 1)

/** Writes the base64 of in[0..len) and a NUL into out (NOX_BASE64_ENCODED_SIZE(len) bytes). Returns out. */
char *nox_base64_encode(const uint8_t *in, size_t len, char *out);

/**
 * Decodes text[0..len) into out (capacity cap); *out_len receives the byte
 * count. NOX_ERR_INVALID (with the character position, 1-based) for a length
 * that is not a multiple of 4, a character outside the alphabet, misplaced
 * padding, non-zero trailing bits, or output larger than cap.
 */
nox_status nox_base64_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_BASE64_H */
