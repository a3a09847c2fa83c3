/*
 * nox/ec.h — secp256k1 keys, Ethereum addresses, ECDH and recoverable ECDSA
 * (spec §4.1, §4.3), over libsecp256k1.
 *
 * The library context is created once per process (on first use, randomised
 * for side-channel blinding) and only read afterwards, so every function here
 * may be called from any thread.
 *
 * Private keys are secrets: they never appear in an error message, are wiped
 * by nox_ec_key_wipe, and live on disk only in files of mode 0600.
 */
#ifndef NOX_EC_H
#define NOX_EC_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NOX_EC_PRIVKEY_SIZE 32
#define NOX_EC_PUBKEY_COMPRESSED_SIZE 33
#define NOX_EC_PUBKEY_UNCOMPRESSED_SIZE 65
#define NOX_ADDRESS_SIZE 20
/** r(32) || s(32) || v(1), v = 27 + recovery id. */
#define NOX_EC_SIGNATURE_SIZE 65

/** A secp256k1 private key (a valid scalar). Wipe with nox_ec_key_wipe. */
typedef struct nox_ec_privkey {
    uint8_t d[NOX_EC_PRIVKEY_SIZE];
} nox_ec_privkey;

/** A parsed, valid public key (libsecp256k1's opaque 64-byte form). */
typedef struct nox_ec_pubkey {
    unsigned char data[64];
} nox_ec_pubkey;

/** Generates a key from the OS CSPRNG (OpenSSL RAND_priv_bytes). */
nox_status nox_ec_key_generate(nox_ec_privkey *key, nox_error *err);

/** Takes a key from 32 big-endian bytes; NOX_ERR_INVALID when not in [1, n-1]. */
nox_status nox_ec_key_from_bytes(nox_ec_privkey *key, const uint8_t bytes[NOX_EC_PRIVKEY_SIZE], nox_error *err);

/**
 * Writes the key to `path` as one line "0x<64 hex>\n", mode 0600, atomically
 * (a temporary file in the same directory, fsync, rename). Refuses to
 * overwrite an existing file.
 */
nox_status nox_ec_key_save(const nox_ec_privkey *key, const char *path, nox_error *err);

/**
 * Reads a key file written by nox_ec_key_save (or any file holding 64 hex
 * digits with an optional 0x prefix and surrounding whitespace). Refuses a
 * file readable or writable by group or others (NOX_ERR_IO, naming the mode
 * and the chmod that fixes it) and a malformed or out-of-range key.
 */
nox_status nox_ec_key_load(nox_ec_privkey *key, const char *path, nox_error *err);

/**
 * Loads the key at `path`, or — when no file exists there — generates one and
 * saves it (nox_ec_key_save: 0600, atomic). *created (may be NULL) tells
 * which happened. Any other problem with an existing file is an error, never
 * a silent replacement.
 */
nox_status nox_ec_key_load_or_create(nox_ec_privkey *key, const char *path, int *created, nox_error *err);

/** Overwrites the key. */
void nox_ec_key_wipe(nox_ec_privkey *key);

/** The public key of a private key. */
nox_status nox_ec_pubkey_of(const nox_ec_privkey *key, nox_ec_pubkey *pub, nox_error *err);

/** Parses a SEC1 public key, 33 bytes compressed or 65 uncompressed; NOX_ERR_INVALID when not on the curve. */
nox_status nox_ec_pubkey_parse(nox_ec_pubkey *pub, const uint8_t *bytes, size_t len, nox_error *err);

/** Parses a compressed (33-byte) key only, as the protocol's wire fields require. */
nox_status nox_ec_pubkey_parse_compressed(nox_ec_pubkey *pub, const uint8_t *bytes, size_t len, nox_error *err);

/** Serialises compressed (33 bytes) into out. */
void nox_ec_pubkey_compressed(const nox_ec_pubkey *pub, uint8_t out[NOX_EC_PUBKEY_COMPRESSED_SIZE]);

/** Serialises uncompressed (65 bytes, 0x04 prefix) into out. */
void nox_ec_pubkey_uncompressed(const nox_ec_pubkey *pub, uint8_t out[NOX_EC_PUBKEY_UNCOMPRESSED_SIZE]);

/** Ethereum address: the last 20 bytes of keccak256 of the uncompressed point without 0x04. */
void nox_ec_pubkey_address(const nox_ec_pubkey *pub, uint8_t out[NOX_ADDRESS_SIZE]);

/** Address of a private key (convenience). */
nox_status nox_ec_key_address(const nox_ec_privkey *key, uint8_t out[NOX_ADDRESS_SIZE], nox_error *err);

/** ECDH: x = the 32-byte big-endian x-coordinate of key·pub, raw (not hashed), as spec §4.1/§4.2. */
nox_status nox_ec_ecdh_x(const nox_ec_privkey *key, const nox_ec_pubkey *pub, uint8_t x[32], nox_error *err);

/**
 * Signs a 32-byte digest: r || s || v with low s (s <= n/2) and v = 27 + recovery id.
 * Deterministic (RFC 6979).
 */
nox_status nox_ec_sign(const nox_ec_privkey *key, const uint8_t digest[32], uint8_t sig[NOX_EC_SIGNATURE_SIZE],
                       nox_error *err);

/**
 * Checks the form of a 65-byte signature without a digest, by the rules
 * nox_ec_recover applies (libsecp256k1 parses and normalises it): v in
 * {0, 1, 27, 28}, r and s not zero and below the group order, s <= n/2.
 * NOX_OK, or NOX_ERR_INVALID naming the rule broken (never the bytes). Lets a
 * verifier refuse a malformed signature before it reads what was signed.
 */
nox_status nox_ec_signature_check(const uint8_t *sig, size_t sig_len, nox_error *err);

/**
 * Recovers the signer's address from a digest and a 65-byte signature.
 * Accepts v in {0, 1, 27, 28}; rejects (NOX_ERR_INVALID) any other length or
 * v, r or s of zero or not below the group order, and high s (s > n/2), as
 * the contracts do.
 */
nox_status nox_ec_recover(const uint8_t digest[32], const uint8_t *sig, size_t sig_len,
                          uint8_t address[NOX_ADDRESS_SIZE], nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_EC_H */
