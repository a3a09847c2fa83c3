/*
 * nox/hex.h — strict `0x` hex codec (spec notation: lowercase on output,
 * any case on input). OpenSSL's hex helpers neither take nor emit the `0x`
 * prefix and accept separators, so the wire format gets its own strict codec.
 * Error messages give positions, never the input bytes (they may be secret).
 */
#ifndef NOX_HEX_H
#define NOX_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Decodes `0x` + exactly 2*out_len hex digits from text[0..len).
 * Returns NOX_OK, or NOX_ERR_INVALID saying what is wrong (missing 0x,
 * wrong length with the expected and actual digit counts, bad digit position).
 */
nox_status nox_hex_decode_exact(const char *text, size_t len, uint8_t *out, size_t out_len, nox_error *err);

/**
 * Decodes `0x` + an even number of hex digits (possibly zero) into at most
 * `cap` bytes; `*out_len` receives the byte count.
 */
nox_status nox_hex_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                          nox_error *err);

/** Writes `0x` + 2*len lowercase hex digits + NUL into out (capacity 2*len + 3). Returns out. */
char *nox_hex_encode(const uint8_t *in, size_t len, char *out);

/** Value of one hex digit (any case), or -1. */
int nox_hex_digit(char c);

#ifdef __cplusplus
}
#endif

#endif /* NOX_HEX_H */
