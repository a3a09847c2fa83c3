/*
 * nox/rsa.h — the requester's RSA key of decryption delegation (spec §4.2, §8),
 * over OpenSSL 3 EVP_PKEY.
 *
 * On the wire a public key is the DER X.509 SubjectPublicKeyInfo (SPKI) with
 * the rsaEncryption algorithm, as `0x` hex (294 bytes for RSA-2048). Encryption
 * is RSA-OAEP with SHA-256, MGF1-SHA-256 and an empty label.
 *
 * What an imported key must be (each refusal is NOX_ERR_INVALID naming the
 * rule broken):
 *  - exactly one DER SPKI, nothing after it, in canonical DER (the bytes must
 *    be what re-encoding the parsed key gives: no BER length forms, no missing
 *    NULL parameters) — so one key has one wire form;
 *  - algorithm rsaEncryption (not EC, not RSASSA-PSS, not a bare PKCS#1 RSAPublicKey);
 *  - a modulus of NOX_RSA_MIN_BITS (2048) to NOX_RSA_MAX_BITS (16384, OpenSSL's
 *    own limit) bits, odd;
 *  - public exponent exactly 65537. Spec §4.2 says the key pair has e = 65537
 *    (§8 lists only the size and SPKI rules); every common generator (OpenSSL,
 *    WebCrypto, Python cryptography, Java) uses it, and a fixed exponent keeps
 *    odd keys (e = 3, huge e that OpenSSL refuses above 3072 bits) out of the KMS.
 *
 * A key may be used from several threads at once (every operation makes its
 * own EVP_PKEY_CTX). Error messages never contain key material or plaintext;
 * decryption failures say only that the ciphertext does not decrypt under the
 * key, with no OpenSSL detail (no padding oracle).
 */
#ifndef NOX_RSA_H
#define NOX_RSA_H

#include <stddef.h>
#include <stdint.h>

#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NOX_RSA_MIN_BITS 2048
#define NOX_RSA_MAX_BITS 16384
/** The only public exponent accepted (and the one generated). */
#define NOX_RSA_PUBLIC_EXPONENT 65537
/** SPKI DER size of an RSA-2048 key with e = 65537. */
#define NOX_RSA_2048_SPKI_SIZE 294
/** Largest SPKI accepted on import (an RSA-16384 key is about 2.1 kB). */
#define NOX_RSA_MAX_SPKI_SIZE 4096
/** OAEP-SHA256 overhead: a key of k bytes encrypts at most k - 66 bytes. */
#define NOX_RSA_OAEP_OVERHEAD 66

/** An RSA key: public only (imported) or a key pair (generated). */
typedef struct nox_rsa_key nox_rsa_key;

/**
 * Generates a key pair with e = 65537 from OpenSSL's CSPRNG. `bits` must be in
 * [NOX_RSA_MIN_BITS, NOX_RSA_MAX_BITS] (NOX_ERR_INVALID otherwise, nothing is
 * generated). RSA-2048 takes some tens of milliseconds. Free with nox_rsa_free.
 */
nox_status nox_rsa_generate(unsigned bits, nox_rsa_key **out, nox_error *err);

/** Imports a public key from SPKI DER bytes, with the rules above. Free with nox_rsa_free. */
nox_status nox_rsa_from_spki(const uint8_t *der, size_t len, nox_rsa_key **out, nox_error *err);

/** Imports a public key from `0x` + hex of SPKI DER (any case), as the wire carries it. */
nox_status nox_rsa_from_spki_hex(const char *text, size_t len, nox_rsa_key **out, nox_error *err);

/** Size in bytes of the key's SPKI DER encoding (294 for RSA-2048). */
size_t nox_rsa_spki_size(const nox_rsa_key *key);

/**
 * Writes the SPKI DER of the (public part of the) key into `out` (capacity
 * `cap`, at least nox_rsa_spki_size) and its length into `*out_len`.
 */
nox_status nox_rsa_spki(const nox_rsa_key *key, uint8_t *out, size_t cap, size_t *out_len, nox_error *err);

/** Writes `0x` + lowercase hex of the SPKI DER + NUL into `out` (capacity at least 2 * nox_rsa_spki_size + 3). */
nox_status nox_rsa_spki_hex(const nox_rsa_key *key, char *out, size_t cap, nox_error *err);

/** Modulus size in bytes (256 for RSA-2048): the length of every ciphertext. */
size_t nox_rsa_size(const nox_rsa_key *key);

/** SHA-256 of the key's SPKI DER (32 bytes), computed when the key was made: names the key in caches. */
const uint8_t *nox_rsa_fingerprint(const nox_rsa_key *key);

/** Modulus size in bits. */
unsigned nox_rsa_bits(const nox_rsa_key *key);

/** 1 when the key holds a private part (it was generated here), 0 for an imported public key. */
int nox_rsa_has_private(const nox_rsa_key *key);

/**
 * RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) encryption of `len` bytes
 * (at most nox_rsa_size - 66). Writes exactly nox_rsa_size bytes into `out`
 * (capacity `cap`) and that length into `*out_len`. Randomised.
 */
nox_status nox_rsa_encrypt(const nox_rsa_key *key, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                           size_t *out_len, nox_error *err);

/**
 * RSA-OAEP decryption with the private key. `len` must be exactly
 * nox_rsa_size. Writes the message into `out` (capacity `cap`; NOX_ERR_INVALID
 * when it does not fit; NOX_ERR_AUTH when the ciphertext is not one for this
 * key, with no detail of which check failed) and its length into `*out_len`: callers MUST check that
 * length against what they expect (see nox_delegation_unwrap). The output is a
 * secret: wipe it after use. On any failure `out` is left zeroed.
 */
nox_status nox_rsa_decrypt(const nox_rsa_key *key, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                           size_t *out_len, nox_error *err);

/**
 * Takes another reference to `key` (thread-safe); each reference is released
 * with nox_rsa_free. A key may be used for encryption from many threads at once.
 */
nox_rsa_key *nox_rsa_retain(nox_rsa_key *key);

/** Releases a reference; the last one frees the key (the private part is cleared by OpenSSL). NULL is allowed. */
void nox_rsa_free(nox_rsa_key *key);

#ifdef __cplusplus
}
#endif

#endif /* NOX_RSA_H */
