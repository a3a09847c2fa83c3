/*
 * nox/handle.h — the 32-byte handle of spec §2:
 *   prehandle (26) | chain id (4, big-endian) | type (1) | version (1, = 0)
 * Text form `0x` + 64 hex digits: parsed in any case, emitted lowercase.
 */
#ifndef NOX_HANDLE_H
#define NOX_HANDLE_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NOX_HANDLE_SIZE 32
#define NOX_PREHANDLE_SIZE 26
/** Characters of the text form, without the NUL. */
#define NOX_HANDLE_TEXT_LEN 66
/** The only handle version defined. */
#define NOX_HANDLE_VERSION 0

/** A handle: 32 raw bytes. */
typedef struct nox_handle {
    uint8_t bytes[NOX_HANDLE_SIZE];
} nox_handle;

/**
 * Parses the text form from text[0..len): `0x` + exactly 64 hex digits.
 * Only the syntax is checked; see nox_handle_validate for the fields.
 */
nox_status nox_handle_parse(nox_handle *h, const char *text, size_t len, nox_error *err);

/** Writes the lowercase text form + NUL into out (NOX_HANDLE_TEXT_LEN + 1 bytes). Returns out. */
char *nox_handle_format(const nox_handle *h, char out[NOX_HANDLE_TEXT_LEN + 1]);

/** Builds a version-0 handle from its fields. */
void nox_handle_make(nox_handle *h, const uint8_t prehandle[NOX_PREHANDLE_SIZE], uint32_t chain_id, uint8_t type);

/** The chain id field (bytes 26..29, big-endian). */
uint32_t nox_handle_chain_id(const nox_handle *h);

/** The type code field (byte 30). */
static inline uint8_t nox_handle_type(const nox_handle *h) { return h->bytes[30]; }

/** The version field (byte 31). */
static inline uint8_t nox_handle_version(const nox_handle *h) { return h->bytes[31]; }

/** 1 when every byte is zero (the "undefined" handle), else 0. */
int nox_handle_is_zero(const nox_handle *h);

/**
 * Checks the fields: not bytes32(0), version 0, a known type code, and —
 * when n_chains > 0 — a chain id among chain_ids. Returns NOX_OK,
 * NOX_ERR_INVALID (zero handle, version, unconfigured chain) or NOX_ERR_TYPE
 * (reserved type code), with a message naming the offending field.
 */
nox_status nox_handle_validate(const nox_handle *h, const uint32_t *chain_ids, size_t n_chains, nox_error *err);

/**
 * The result handle of spec §2, as NoxCompute derives it: prehandle = the
 * first 26 bytes of keccak256(abi.encodePacked(uint8 op, bytes32[] inputs,
 * address noxCompute, address caller, uint256 timestamp, uint8 outputIndex)),
 * followed by chain id, type and version 0.
 */
void nox_handle_derive(nox_handle *out, uint8_t op, const nox_handle *inputs, size_t n_inputs,
                       const uint8_t nox_compute[20], const uint8_t caller[20], uint64_t timestamp,
                       uint8_t output_index, uint32_t chain_id, uint8_t type);

/**
 * handleValueTag = keccak256(handle || plaintext) (spec §3): deterministic for
 * a (handle, value) pair, which makes result publication idempotent.
 */
void nox_handle_value_tag(const nox_handle *h, const uint8_t *plaintext, size_t len, uint8_t out[32]);

#ifdef __cplusplus
}
#endif

#endif /* NOX_HANDLE_H */
