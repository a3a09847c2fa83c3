/*
 * nox/value.h — plaintext values (struct nox_value, defined in nox/plugin.h):
 * conversions to and from the plaintext encoding (spec §3: type-sized
 * big-endian, two's complement), the 32-byte on-chain word, and text
 * (decimal, `0x` hex, true/false).
 *
 * Values may be secret. Error messages never quote them; call
 * nox_value_wipe on values that held plaintext when you are done.
 */
#ifndef NOX_VALUE_H
#define NOX_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"
#include "nox/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Buffer size that holds any formatted value: int2048 MIN in decimal is 618 characters. */
#define NOX_VALUE_TEXT_MAX 640

/** Sets v to zero of type `type` (any code; no check). */
void nox_value_zero(nox_value *v, uint8_t type);

/** Overwrites v with zeros in a way the compiler may not elide. */
void nox_value_wipe(nox_value *v);

/**
 * Decodes the plaintext encoding: exactly nox_type_size(type) bytes,
 * big-endian; bool must be 0x00 or 0x01. NOX_ERR_TYPE for dynamic or
 * reserved types, NOX_ERR_INVALID for a wrong size or a bad bool byte.
 */
nox_status nox_value_from_bytes(nox_value *v, uint8_t type, const uint8_t *buf, size_t len, nox_error *err);

/**
 * Encodes v (which must be of a fixed-size type) into nox_type_size(v->type)
 * bytes at buf (capacity cap); *len receives the size. NOX_ERR_INVALID when cap is too small.
 */
nox_status nox_value_to_bytes(const nox_value *v, uint8_t *buf, size_t cap, size_t *len, nox_error *err);

/**
 * Decodes an on-chain word: the value right-aligned in its type size, bytes
 * above ignored; a bool is true when any byte is non-zero. Only types of at
 * most 32 bytes have a word form (NOX_ERR_TYPE otherwise).
 */
nox_status nox_value_from_word(nox_value *v, uint8_t type, const uint8_t word[32], nox_error *err);

/** Encodes v as an on-chain word (zero above the type size). NOX_ERR_TYPE for types over 32 bytes. */
nox_status nox_value_to_word(const nox_value *v, uint8_t word[32], nox_error *err);

/**
 * Parses text as a value of `type`:
 *   integers: decimal (a leading '-' for signed types) or `0x` hex giving the
 *             raw bit pattern of the type width (int8 0xff is -1);
 *   bool:     exactly true, false, 0, 1, 0x0, 0x1, 0x00 or 0x01;
 *   address:  `0x` + 40 hex digits;  bytesN: `0x` + 2N hex digits.
 * Out-of-range numbers, stray characters and empty strings are NOX_ERR_INVALID.
 */
nox_status nox_value_parse(nox_value *v, uint8_t type, const char *text, nox_error *err);

/**
 * Formats v: integers in decimal, bool as true/false, address and bytesN as
 * `0x` hex. NOX_ERR_INVALID when cap is too small (use NOX_VALUE_TEXT_MAX).
 */
nox_status nox_value_format(const nox_value *v, char *buf, size_t cap, nox_error *err);

/** Formats v as `0x` + its plaintext encoding in hex (the raw bit pattern). */
nox_status nox_value_format_hex(const nox_value *v, char *buf, size_t cap, nox_error *err);

/** 1 when v's type is fixed-size and every bit above its width is zero, else 0. */
int nox_value_is_canonical(const nox_value *v);

/** 1 when a and b have the same type and the same meaningful limbs, else 0. */
int nox_value_equal(const nox_value *a, const nox_value *b);

#ifdef __cplusplus
}
#endif

#endif /* NOX_VALUE_H */
