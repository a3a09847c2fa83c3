/* ECIES of spec §4.1: secp256k1 ECDH (raw x) -> HKDF-SHA256 -> AES-256-GCM, over OpenSSL 3 EVP. */
#include "nox/ecies.h"
#include "openssl_error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <limits.h>
#include <string.h>

nox_status nox_ecies_derive_key(const uint8_t x[NOX_ECIES_SECRET_SIZE], uint8_t key[NOX_ECIES_KEY_SIZE],
                                nox_error *err) {
    static char digest[] = "SHA256";
    static unsigned char salt[32]; /* 32 zero bytes, spec §4.1 */
    static unsigned char info[] = NOX_ECIES_HKDF_INFO;
    _Static_assert(sizeof info - 1 == 16, "the HKDF info is 16 bytes");

    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf); /* the context keeps its own reference */
    if (!ctx) return nox_openssl_failure(err, "HKDF set-up");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)x, NOX_ECIES_SECRET_SIZE),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof salt),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof info - 1),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(ctx, key, NOX_ECIES_KEY_SIZE, params) == 1;
    EVP_KDF_CTX_free(ctx); /* frees (and clears) its copy of the key */
    if (!ok) {
        OPENSSL_cleanse(key, NOX_ECIES_KEY_SIZE);
        return nox_openssl_failure(err, "HKDF-SHA256");
    }
    return NOX_OK;
}

/* ---- AES-256-GCM with the 16-byte tag appended ---------------------------------- */

nox_status nox_aes_gcm_seal(const uint8_t key[NOX_ECIES_KEY_SIZE], const uint8_t nonce[NOX_ECIES_NONCE_SIZE],
                            const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                            nox_error *err) {
    if (len > NOX_ECIES_MAX_PLAINTEXT || aad_len > INT_MAX)
        return nox_error_set(err, NOX_ERR_INVALID, "AES-256-GCM: %zu bytes is too long", len);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return nox_openssl_failure(err, "AES-256-GCM set-up");
    int n = 0, ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NOX_ECIES_NONCE_SIZE, NULL) == 1 &&
                    EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1;
    if (ok && aad_len > 0) ok = EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1;
    if (ok && len > 0) ok = EVP_EncryptUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len;
    if (ok) ok = EVP_EncryptFinal_ex(ctx, out + len, &n) == 1 && n == 0;
    if (ok) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, NOX_ECIES_TAG_SIZE, out + len) == 1;
    EVP_CIPHER_CTX_free(ctx); /* clears the key schedule */
    if (!ok) return nox_openssl_failure(err, "AES-256-GCM encryption");
    return NOX_OK;
}

nox_status nox_aes_gcm_open(const uint8_t key[NOX_ECIES_KEY_SIZE], const uint8_t nonce[NOX_ECIES_NONCE_SIZE],
                            const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
                            nox_error *err) {
    if (in_len < NOX_ECIES_TAG_SIZE || in_len - NOX_ECIES_TAG_SIZE > NOX_ECIES_MAX_PLAINTEXT || aad_len > INT_MAX)
        return nox_error_set(err, NOX_ERR_INVALID, "AES-256-GCM: a ciphertext of %zu bytes (tag included) cannot "
                             "be opened", in_len);
    size_t len = in_len - NOX_ECIES_TAG_SIZE;
    uint8_t tag[NOX_ECIES_TAG_SIZE]; /* copied first: `in` and `out` may be the same buffer */
    memcpy(tag, in + len, sizeof tag);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return nox_openssl_failure(err, "AES-256-GCM set-up");
    int n = 0, ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NOX_ECIES_NONCE_SIZE, NULL) == 1 &&
                    EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, NOX_ECIES_TAG_SIZE, tag) == 1;
    if (ok && aad_len > 0) ok = EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1;
    if (ok && len > 0) ok = EVP_DecryptUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len;
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        if (len > 0) OPENSSL_cleanse(out, len);
        return nox_openssl_failure(err, "AES-256-GCM decryption");
    }
    /* The tag is checked only here; until then `out` holds unauthenticated plaintext. */
    int authentic = EVP_DecryptFinal_ex(ctx, out + len, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!authentic) {
        if (len > 0) OPENSSL_cleanse(out, len);
        ERR_clear_error();
        return nox_error_set(err, NOX_ERR_AUTH,
                             "ECIES decryption failed: the ciphertext did not authenticate "
                             "(wrong key, or altered ciphertext, tag, nonce or ephemeral key)");
    }
    return NOX_OK;
}

/* ---- ECIES ------------------------------------------------------------------------ */

nox_status nox_ecies_encrypt(const nox_ec_pubkey *recipient, const uint8_t *plaintext, size_t len,
                             uint8_t *ciphertext, uint8_t ephemeral[NOX_ECIES_EPHEMERAL_SIZE],
                             uint8_t nonce[NOX_ECIES_NONCE_SIZE], nox_error *err) {
    if (len > NOX_ECIES_MAX_PLAINTEXT)
        return nox_error_set(err, NOX_ERR_INVALID, "ECIES plaintext too long: %zu bytes, at most %zu", len,
                             NOX_ECIES_MAX_PLAINTEXT);
    nox_ec_privkey k;
    nox_ec_pubkey pub_k;
    uint8_t x[NOX_ECIES_SECRET_SIZE], key[NOX_ECIES_KEY_SIZE];
    nox_status st = nox_ec_key_generate(&k, err);
    if (!st) st = nox_ec_pubkey_of(&k, &pub_k, err);
    if (!st) st = nox_ec_ecdh_x(&k, recipient, x, err);
    nox_ec_key_wipe(&k);
    if (!st) st = nox_ecies_derive_key(x, key, err);
    OPENSSL_cleanse(x, sizeof x);
    if (!st && RAND_bytes(nonce, NOX_ECIES_NONCE_SIZE) != 1) {
        ERR_clear_error();
        st = nox_error_set(err, NOX_ERR_IO, "the random number generator failed (ECIES nonce)");
    }
    if (!st) st = nox_aes_gcm_seal(key, nonce, NULL, 0, plaintext, len, ciphertext, err);
    OPENSSL_cleanse(key, sizeof key);
    if (st) { /* nothing half-made escapes */
        memset(ciphertext, 0, len + NOX_ECIES_TAG_SIZE);
        memset(ephemeral, 0, NOX_ECIES_EPHEMERAL_SIZE);
        memset(nonce, 0, NOX_ECIES_NONCE_SIZE);
        return st;
    }
    nox_ec_pubkey_compressed(&pub_k, ephemeral);
    return NOX_OK;
}

/* On every failure the plaintext buffer is left zeroed (it may hold unauthenticated bytes). */
static nox_status wipe_plaintext(nox_status st, uint8_t *plaintext, size_t ciphertext_len) {
    if (st && ciphertext_len > NOX_ECIES_TAG_SIZE && ciphertext_len - NOX_ECIES_TAG_SIZE <= NOX_ECIES_MAX_PLAINTEXT)
        OPENSSL_cleanse(plaintext, ciphertext_len - NOX_ECIES_TAG_SIZE);
    return st;
}

nox_status nox_ecies_decrypt_x(const uint8_t x[NOX_ECIES_SECRET_SIZE], const uint8_t nonce[NOX_ECIES_NONCE_SIZE],
                               const uint8_t *ciphertext, size_t ciphertext_len, uint8_t *plaintext,
                               nox_error *err) {
    if (ciphertext_len < NOX_ECIES_TAG_SIZE)
        return nox_error_set(err, NOX_ERR_INVALID,
                             "ECIES ciphertext too short: %zu bytes, at least the 16-byte tag is needed",
                             ciphertext_len);
    if (ciphertext_len - NOX_ECIES_TAG_SIZE > NOX_ECIES_MAX_PLAINTEXT)
        return nox_error_set(err, NOX_ERR_INVALID, "ECIES ciphertext too long: %zu bytes", ciphertext_len);
    uint8_t key[NOX_ECIES_KEY_SIZE];
    nox_status st = nox_ecies_derive_key(x, key, err);
    if (!st) st = nox_aes_gcm_open(key, nonce, NULL, 0, ciphertext, ciphertext_len, plaintext, err);
    OPENSSL_cleanse(key, sizeof key);
    return wipe_plaintext(st, plaintext, ciphertext_len);
}

nox_status nox_ecies_decrypt(const nox_ec_privkey *key, const uint8_t *ephemeral, size_t ephemeral_len,
                             const uint8_t nonce[NOX_ECIES_NONCE_SIZE], const uint8_t *ciphertext,
                             size_t ciphertext_len, uint8_t *plaintext, nox_error *err) {
    nox_ec_pubkey pub_k;
    nox_status st = nox_ec_pubkey_parse_compressed(&pub_k, ephemeral, ephemeral_len, err);
    if (st) {
        nox_error_prefix(err, "ECIES ephemeral public key: ");
        return wipe_plaintext(st, plaintext, ciphertext_len);
    }
    uint8_t x[NOX_ECIES_SECRET_SIZE];
    st = nox_ec_ecdh_x(key, &pub_k, x, err);
    if (!st) st = nox_ecies_decrypt_x(x, nonce, ciphertext, ciphertext_len, plaintext, err);
    OPENSSL_cleanse(x, sizeof x);
    return wipe_plaintext(st, plaintext, ciphertext_len);
}
