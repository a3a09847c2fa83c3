/* Decryption delegation (spec §4.2): the KMS wraps x for a requester's RSA key; the requester unwraps it. */
#include "nox/delegation.h"

#include <openssl/crypto.h>
#include <string.h>

nox_status nox_delegation_delegate(const nox_ec_privkey *kms_key, const uint8_t *ephemeral, size_t ephemeral_len,
                                   const nox_rsa_key *target, uint8_t *out, size_t cap, size_t *out_len,
                                   nox_error *err) {
    nox_ec_pubkey pub_k;
    nox_status st = nox_ec_pubkey_parse_compressed(&pub_k, ephemeral, ephemeral_len, err);
    if (st) return nox_error_prefix(err, "ephemeral public key: ");
    uint8_t x[NOX_ECIES_SECRET_SIZE];
    st = nox_ec_ecdh_x(kms_key, &pub_k, x, err);
    if (!st) st = nox_rsa_encrypt(target, x, sizeof x, out, cap, out_len, err);
    OPENSSL_cleanse(x, sizeof x);
    return st;
}

nox_status nox_delegation_unwrap(const nox_rsa_key *key, const uint8_t *encrypted_secret, size_t encrypted_len,
                                 uint8_t x[NOX_ECIES_SECRET_SIZE], nox_error *err) {
    /* Room for any message the key can hold, so that every wrong length is reported as such. */
    uint8_t buf[NOX_RSA_MAX_BITS / 8];
    size_t n = 0;
    nox_status st = nox_rsa_decrypt(key, encrypted_secret, encrypted_len, buf, sizeof buf, &n, err);
    if (st) nox_error_prefix(err, "encryptedSharedSecret: ");
    else if (n != NOX_ECIES_SECRET_SIZE)
        st = nox_error_set(err, NOX_ERR_INVALID,
                           "encryptedSharedSecret decrypts to %zu bytes; a shared secret is exactly %d", n,
                           NOX_ECIES_SECRET_SIZE);
    if (!st) memcpy(x, buf, NOX_ECIES_SECRET_SIZE);
    else OPENSSL_cleanse(x, NOX_ECIES_SECRET_SIZE);
    OPENSSL_cleanse(buf, sizeof buf);
    return st;
}

nox_status nox_delegation_decrypt(const nox_rsa_key *key, const uint8_t *encrypted_secret, size_t encrypted_len,
                                  const uint8_t nonce[NOX_ECIES_NONCE_SIZE], const uint8_t *ciphertext,
                                  size_t ciphertext_len, uint8_t *plaintext, nox_error *err) {
    uint8_t x[NOX_ECIES_SECRET_SIZE];
    nox_status st = nox_delegation_unwrap(key, encrypted_secret, encrypted_len, x, err);
    if (!st) st = nox_ecies_decrypt_x(x, nonce, ciphertext, ciphertext_len, plaintext, err);
    else if (ciphertext_len > NOX_ECIES_TAG_SIZE && ciphertext_len - NOX_ECIES_TAG_SIZE <= NOX_ECIES_MAX_PLAINTEXT)
        OPENSSL_cleanse(plaintext, ciphertext_len - NOX_ECIES_TAG_SIZE); /* zeroed on failure, as documented */
    OPENSSL_cleanse(x, sizeof x);
    return st;
}
