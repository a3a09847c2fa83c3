/*
 * nox/delegation.h — decryption delegation, the two halves of spec §4.2.
 *
 * KMS side: for a stored ephemeral key K and a requester's RSA public key,
 *   x = x-coordinate of d·K (d = the KMS private key),
 *   encryptedSharedSecret = RSA-OAEP(SHA-256, MGF1-SHA-256, empty label)(x),
 * so the KMS never sees plaintext and the requester never sees d.
 *
 * Requester side (Runner or user): RSA-decrypt to x (exactly 32 bytes), derive
 * the AES key with the HKDF of spec §4.1, AES-GCM-decrypt with the stored nonce.
 *
 * x is a secret: every function here wipes its copies before returning, and
 * error messages never contain it.
 */
#ifndef NOX_DELEGATION_H
#define NOX_DELEGATION_H

#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/ecies.h"
#include "nox/error.h"
#include "nox/rsa.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The KMS side. `ephemeral` must be 33 bytes, SEC1 compressed (0x02/0x03) and
 * on secp256k1, else NOX_ERR_INVALID ("… ephemeral public key: …"); `target`
 * is the requester's RSA public key (imported with nox_rsa_from_spki[_hex],
 * which enforces the size and SPKI rules of spec §8). Writes
 * nox_rsa_size(target) bytes into `out` (capacity `cap`) and the length into
 * `*out_len`.
 */
nox_status nox_delegation_delegate(const nox_ec_privkey *kms_key, const uint8_t *ephemeral, size_t ephemeral_len,
                                   const nox_rsa_key *target, uint8_t *out, size_t cap, size_t *out_len,
                                   nox_error *err);

/**
 * The requester side: RSA-decrypts `encrypted_secret` with `key` (a key pair)
 * into x. NOX_ERR_AUTH when it does not decrypt, NOX_ERR_INVALID when it
 * decrypts to anything but exactly 32 bytes (x is then zeroed either way).
 */
nox_status nox_delegation_unwrap(const nox_rsa_key *key, const uint8_t *encrypted_secret, size_t encrypted_len,
                                 uint8_t x[NOX_ECIES_SECRET_SIZE], nox_error *err);

/**
 * Convenience for a stored value (spec §7.2/§7.3: ciphertext, encryptedSharedSecret, iv):
 * unwrap, then nox_ecies_decrypt_x. Writes `ciphertext_len` - 16 bytes into
 * `plaintext` (zeroed on failure); the same errors as those two functions.
 */
nox_status nox_delegation_decrypt(const nox_rsa_key *key, const uint8_t *encrypted_secret, size_t encrypted_len,
                                  const uint8_t nonce[NOX_ECIES_NONCE_SIZE], const uint8_t *ciphertext,
                                  size_t ciphertext_len, uint8_t *plaintext, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_DELEGATION_H */
