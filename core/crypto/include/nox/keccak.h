/*
 * nox/keccak.h — Keccak-256 as Ethereum uses it: the original Keccak
 * submission's padding (0x01 ... 0x80), not NIST SHA3-256 (0x06). OpenSSL 3.0
 * exposes only the latter, hence this small implementation (spec §4.3).
 */
#ifndef NOX_KECCAK_H
#define NOX_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NOX_KECCAK256_SIZE 32
/** Rate of Keccak-256 in bytes (1600 - 2*256 bits). */
#define NOX_KECCAK256_RATE 136

/** Incremental hashing state. */
typedef struct nox_keccak256_ctx {
    uint64_t state[25];
    size_t pos; /* bytes absorbed into the current block */
} nox_keccak256_ctx;

/** Starts a hash. */
void nox_keccak256_init(nox_keccak256_ctx *ctx);

/** Absorbs len bytes (data may be NULL when len is 0). */
void nox_keccak256_update(nox_keccak256_ctx *ctx, const void *data, size_t len);

/** Pads, writes the 32-byte digest, and wipes the state. */
void nox_keccak256_final(nox_keccak256_ctx *ctx, uint8_t out[NOX_KECCAK256_SIZE]);

/** One-shot keccak256(data[0..len)). */
void nox_keccak256(const void *data, size_t len, uint8_t out[NOX_KECCAK256_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* NOX_KECCAK_H */
