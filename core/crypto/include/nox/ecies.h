/*
 * nox/ecies.h — ECIES over secp256k1, exactly as spec §4.1 (all stored data):
 *
 *   K = k·G (k fresh from the CSPRNG), sent SEC1-compressed (33 bytes);
 *   x = the raw 32-byte big-endian x-coordinate of k·P (not hashed);
 *   key = HKDF-SHA256(IKM = x, salt = 32 zero bytes, info = "ECIES:AES_GCM:v1", L = 32);
 *   ciphertext = AES-256-GCM(key, random 12-byte nonce, no AAD) ‖ 16-byte tag.
 *
 * Stored per handle: ciphertext (len(m) + 16 bytes), the ephemeral public key
 * K and the nonce. All cryptography is OpenSSL 3 EVP (HKDF, AES-GCM, CSPRNG)
 * and libsecp256k1 through nox/ec.h. Every function may be called from any
 * thread.
 *
 * Secrets: shared secrets, AES keys and ephemeral private keys are wiped
 * (OPENSSL_cleanse) before return. Error messages never contain plaintext or
 * key material. A failed authentication says only that the data did not
 * authenticate. After any failed decryption the plaintext buffer
 * (`ciphertext_len` - 16 bytes) holds zeros, never unauthenticated bytes.
 *
 * Buffers: `plaintext` and `ciphertext` may be the same buffer (in-place
 * operation; a failure then zeroes the ciphertext too) but must not
 * otherwise overlap.
 *
 * A property of the format (not of this code): the parity byte of K is not
 * authenticated. K and -K (0x02 <-> 0x03) give the same x-coordinate, hence
 * the same key, so flipping it leaves a ciphertext decryptable to the same
 * plaintext. Stored rows are thus malleable in that one byte; nothing may
 * rely on the byte-exact stored ciphertext triple being unique per value
 * (idempotency uses handleValueTag, spec §7.4).
 */
#ifndef NOX_ECIES_H
#define NOX_ECIES_H

#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the ECDH shared secret x (the x-coordinate), of the AES-256 key, of the nonce and of the GCM tag. */
#define NOX_ECIES_SECRET_SIZE 32
#define NOX_ECIES_KEY_SIZE 32
#define NOX_ECIES_NONCE_SIZE 12
#define NOX_ECIES_TAG_SIZE 16
/** The ephemeral public key K on the wire: SEC1 compressed. */
#define NOX_ECIES_EPHEMERAL_SIZE NOX_EC_PUBKEY_COMPRESSED_SIZE
/** Largest plaintext accepted (OpenSSL's EVP interface counts in int). */
#define NOX_ECIES_MAX_PLAINTEXT ((size_t)0x7fffffff - NOX_ECIES_TAG_SIZE)

/** The HKDF info string of spec §4.1 (16 ASCII bytes, no terminator on the wire). */
#define NOX_ECIES_HKDF_INFO "ECIES:AES_GCM:v1"

/**
 * Derives the AES-256 key from the shared secret x:
 * HKDF-SHA256(IKM = x, salt = 32 zero bytes, info = "ECIES:AES_GCM:v1", L = 32).
 * `key` is a secret: wipe it after use. Fails (NOX_ERR_IO) only when OpenSSL does.
 */
nox_status nox_ecies_derive_key(const uint8_t x[NOX_ECIES_SECRET_SIZE], uint8_t key[NOX_ECIES_KEY_SIZE],
                                nox_error *err);

/**
 * Encrypts `len` bytes of `plaintext` to `recipient` (the KMS public key).
 * Writes `len` + 16 bytes (ct ‖ tag) into `ciphertext`, the 33-byte compressed
 * ephemeral public key into `ephemeral` and the random 12-byte nonce into
 * `nonce`. `plaintext` may be NULL when `len` is 0. NOX_ERR_INVALID when
 * `len` > NOX_ECIES_MAX_PLAINTEXT, NOX_ERR_IO when the random number generator
 * or OpenSSL fails (the outputs are then zeroed; in place, the plaintext too).
 */
nox_status nox_ecies_encrypt(const nox_ec_pubkey *recipient, const uint8_t *plaintext, size_t len,
                             uint8_t *ciphertext, uint8_t ephemeral[NOX_ECIES_EPHEMERAL_SIZE],
                             uint8_t nonce[NOX_ECIES_NONCE_SIZE], nox_error *err);

/**
 * Decrypts with the recipient's private key (the KMS-side and test helper; in
 * the protocol the KMS never decrypts data, it delegates, see nox/delegation.h).
 * `ephemeral` must be a 33-byte compressed point on the curve (NOX_ERR_INVALID
 * otherwise); `ciphertext_len` must be at least 16. Writes
 * `ciphertext_len` - 16 bytes into `plaintext`. NOX_ERR_AUTH with
 * "… did not authenticate …" when the tag does not verify (wrong key, or any
 * byte of ciphertext, tag, nonce or ephemeral key altered — except the parity
 * byte of K, see above); "ECIES ephemeral public key: …" when K is not a
 * compressed point on the curve.
 */
nox_status nox_ecies_decrypt(const nox_ec_privkey *key, const uint8_t *ephemeral, size_t ephemeral_len,
                             const uint8_t nonce[NOX_ECIES_NONCE_SIZE], const uint8_t *ciphertext,
                             size_t ciphertext_len, uint8_t *plaintext, nox_error *err);

/**
 * Decrypts with an already-known shared secret x: the path of the Runner and
 * of the user after decryption delegation (spec §4.2). Same lengths, same
 * errors as nox_ecies_decrypt.
 */
nox_status nox_ecies_decrypt_x(const uint8_t x[NOX_ECIES_SECRET_SIZE], const uint8_t nonce[NOX_ECIES_NONCE_SIZE],
                               const uint8_t *ciphertext, size_t ciphertext_len, uint8_t *plaintext,
                               nox_error *err);

/**
 * AES-256-GCM with a 12-byte nonce, optional additional data, and the 16-byte
 * tag appended (the AEAD of §4.1, for other uses: the batch envelopes of
 * nox/delegation.h). seal writes len + 16 bytes; open writes in_len − 16 and
 * answers NOX_ERR_AUTH "… did not authenticate …" (the output zeroed) when
 * the tag, the data or the additional data were altered. `in` and `out` may
 * be the same buffer.
 */
nox_status nox_aes_gcm_seal(const uint8_t key[NOX_ECIES_KEY_SIZE], const uint8_t nonce[NOX_ECIES_NONCE_SIZE],
                            const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                            nox_error *err);
nox_status nox_aes_gcm_open(const uint8_t key[NOX_ECIES_KEY_SIZE], const uint8_t nonce[NOX_ECIES_NONCE_SIZE],
                            const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
                            nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_ECIES_H */
