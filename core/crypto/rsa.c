/* RSA keys of decryption delegation (spec §4.2, §8): SPKI DER in and out, RSA-OAEP-SHA256; OpenSSL 3 EVP. */
#include "nox/rsa.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "nox/hex.h"
#include "openssl_error.h"

struct nox_rsa_key {
    EVP_PKEY *pkey;
    int has_private;
    atomic_uint refs; /* nox_rsa_retain / nox_rsa_free */
    uint8_t fingerprint[32]; /* SHA-256 of the SPKI DER, computed once (OpenSSL 3's encoder is slow) */
};

static nox_status wrap(EVP_PKEY *pkey, int has_private, nox_rsa_key **out, nox_error *err) {
    nox_rsa_key *key = malloc(sizeof *key);
    unsigned char *der = NULL;
    int n = key ? i2d_PUBKEY(pkey, &der) : 0;
    unsigned len = 0;
    if (!key || n <= 0 || EVP_Digest(der, (size_t)n, key->fingerprint, &len, EVP_sha256(), NULL) != 1) {
        OPENSSL_free(der);
        EVP_PKEY_free(pkey);
        free(key);
        return key ? nox_openssl_failure(err, "encoding the RSA public key")
                   : nox_error_set(err, NOX_ERR_NOMEM, "out of memory for an RSA key");
    }
    OPENSSL_free(der);
    key->pkey = pkey;
    key->has_private = has_private;
    atomic_init(&key->refs, 1);
    *out = key;
    return NOX_OK;
}

const uint8_t *nox_rsa_fingerprint(const nox_rsa_key *key) { return key->fingerprint; }

nox_rsa_key *nox_rsa_retain(nox_rsa_key *key) {
    atomic_fetch_add_explicit(&key->refs, 1, memory_order_relaxed);
    return key;
}

void nox_rsa_free(nox_rsa_key *key) {
    if (!key || atomic_fetch_sub_explicit(&key->refs, 1, memory_order_acq_rel) != 1) return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

/* ---- generation --------------------------------------------------------------- */

nox_status nox_rsa_generate(unsigned bits, nox_rsa_key **out, nox_error *err) {
    *out = NULL;
    if (bits < NOX_RSA_MIN_BITS || bits > NOX_RSA_MAX_BITS)
        return nox_error_set(err, NOX_ERR_INVALID, "RSA key size %u bits refused: must be %d to %d bits", bits,
                             NOX_RSA_MIN_BITS, NOX_RSA_MAX_BITS);
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    BIGNUM *e = BN_new();
    int ok = ctx && e && BN_set_word(e, NOX_RSA_PUBLIC_EXPONENT) == 1 && EVP_PKEY_keygen_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1 &&
             EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) == 1 && EVP_PKEY_generate(ctx, &pkey) == 1;
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return nox_openssl_failure(err, "RSA key generation");
    }
    return wrap(pkey, 1, out, err);
}

/* ---- SPKI import ---------------------------------------------------------------- */

/* 1 when the parameter `name` of pkey is odd / equals `word`; 0 when not; -1 on failure. */
static int bn_param(const EVP_PKEY *pkey, const char *name, int want_odd, unsigned long word) {
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return -1;
    int r = want_odd ? BN_is_odd(bn) : BN_is_word(bn, word);
    BN_free(bn);
    return r ? 1 : 0;
}

static nox_status check_public(const EVP_PKEY *pkey, const uint8_t *der, size_t len, nox_error *err) {
    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        const char *type = EVP_PKEY_get0_type_name(pkey);
        return nox_error_set(err, NOX_ERR_INVALID,
                             "not an RSA key: the SubjectPublicKeyInfo holds a %s key; an rsaEncryption key is "
                             "required",
                             type ? type : "non-RSA");
    }
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits < NOX_RSA_MIN_BITS)
        return nox_error_set(err, NOX_ERR_INVALID, "RSA key of %d bits refused: at least %d bits are required",
                             bits, NOX_RSA_MIN_BITS);
    if (bits > NOX_RSA_MAX_BITS)
        return nox_error_set(err, NOX_ERR_INVALID, "RSA key of %d bits refused: at most %d bits are supported",
                             bits, NOX_RSA_MAX_BITS);
    int e_ok = bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, 0, NOX_RSA_PUBLIC_EXPONENT);
    int n_odd = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, 1, 0);
    if (e_ok < 0 || n_odd < 0) return nox_openssl_failure(err, "reading the RSA key");
    if (!e_ok)
        return nox_error_set(err, NOX_ERR_INVALID, "RSA public exponent refused: it must be %d (spec §4.2)",
                             NOX_RSA_PUBLIC_EXPONENT);
    if (!n_odd) return nox_error_set(err, NOX_ERR_INVALID, "RSA modulus refused: it is even");
    /* Canonical DER: re-encoding the parsed key must give back the very bytes. */
    unsigned char *again = NULL;
    int again_len = i2d_PUBKEY(pkey, &again);
    if (again_len <= 0) return nox_openssl_failure(err, "re-encoding the RSA key");
    int same = (size_t)again_len == len && memcmp(again, der, len) == 0;
    OPENSSL_free(again);
    if (!same)
        return nox_error_set(err, NOX_ERR_INVALID,
                             "RSA SubjectPublicKeyInfo is not in canonical DER (re-encoding the key gives other "
                             "bytes)");
    return NOX_OK;
}

nox_status nox_rsa_from_spki(const uint8_t *der, size_t len, nox_rsa_key **out, nox_error *err) {
    *out = NULL;
    if (len == 0) return nox_error_set(err, NOX_ERR_INVALID, "empty RSA public key: expected SPKI DER");
    if (len > NOX_RSA_MAX_SPKI_SIZE)
        return nox_error_set(err, NOX_ERR_INVALID, "RSA public key too long: %zu bytes, at most %d", len,
                             NOX_RSA_MAX_SPKI_SIZE);
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (!pkey) {
        ERR_clear_error();
        return nox_error_set(err, NOX_ERR_INVALID,
                             "not a DER X.509 SubjectPublicKeyInfo (expected the SPKI of an RSA public key, "
                             "294 bytes for RSA-2048)");
    }
    if (p != der + len) {
        EVP_PKEY_free(pkey);
        return nox_error_set(err, NOX_ERR_INVALID, "%zu trailing bytes after the SubjectPublicKeyInfo",
                             len - (size_t)(p - der));
    }
    nox_status st = check_public(pkey, der, len, err);
    if (st) {
        EVP_PKEY_free(pkey);
        return st;
    }
    return wrap(pkey, 0, out, err);
}

nox_status nox_rsa_from_spki_hex(const char *text, size_t len, nox_rsa_key **out, nox_error *err) {
    *out = NULL;
    uint8_t der[NOX_RSA_MAX_SPKI_SIZE];
    size_t der_len = 0;
    nox_status st = nox_hex_decode(text, len, der, sizeof der, &der_len, err);
    if (st) return nox_error_prefix(err, "RSA public key: ");
    return nox_rsa_from_spki(der, der_len, out, err);
}

/* ---- SPKI export ---------------------------------------------------------------- */

size_t nox_rsa_spki_size(const nox_rsa_key *key) {
    int n = i2d_PUBKEY(key->pkey, NULL);
    return n > 0 ? (size_t)n : 0;
}

nox_status nox_rsa_spki(const nox_rsa_key *key, uint8_t *out, size_t cap, size_t *out_len, nox_error *err) {
    size_t need = nox_rsa_spki_size(key);
    if (need == 0) return nox_openssl_failure(err, "encoding the RSA public key");
    if (cap < need)
        return nox_error_set(err, NOX_ERR_INVALID, "buffer too small for the SPKI: %zu bytes, %zu needed", cap,
                             need);
    unsigned char *p = out;
    if (i2d_PUBKEY(key->pkey, &p) != (int)need) return nox_openssl_failure(err, "encoding the RSA public key");
    *out_len = need;
    return NOX_OK;
}

nox_status nox_rsa_spki_hex(const nox_rsa_key *key, char *out, size_t cap, nox_error *err) {
    uint8_t der[NOX_RSA_MAX_SPKI_SIZE];
    size_t len = 0;
    nox_status st = nox_rsa_spki(key, der, sizeof der, &len, err);
    if (st) return st;
    if (cap < 2 * len + 3)
        return nox_error_set(err, NOX_ERR_INVALID, "buffer too small for the SPKI hex: %zu chars, %zu needed", cap,
                             2 * len + 3);
    nox_hex_encode(der, len, out);
    return NOX_OK;
}

/* ---- properties ------------------------------------------------------------------- */

size_t nox_rsa_size(const nox_rsa_key *key) {
    int n = EVP_PKEY_get_size(key->pkey);
    return n > 0 ? (size_t)n : 0;
}

unsigned nox_rsa_bits(const nox_rsa_key *key) {
    int n = EVP_PKEY_get_bits(key->pkey);
    return n > 0 ? (unsigned)n : 0;
}

int nox_rsa_has_private(const nox_rsa_key *key) { return key->has_private; }

/* ---- RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) --------------------------------- */

static EVP_PKEY_CTX *oaep_context(const nox_rsa_key *key, int decrypt) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (ctx && (decrypt ? EVP_PKEY_decrypt_init(ctx) : EVP_PKEY_encrypt_init(ctx)) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1)
        return ctx; /* the label stays empty (the default) */
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

nox_status nox_rsa_encrypt(const nox_rsa_key *key, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                           size_t *out_len, nox_error *err) {
    size_t size = nox_rsa_size(key);
    if (size <= NOX_RSA_OAEP_OVERHEAD || len > size - NOX_RSA_OAEP_OVERHEAD)
        return nox_error_set(err, NOX_ERR_INVALID,
                             "RSA-OAEP-SHA256 encrypts at most %zu bytes to a %u-bit key, got %zu",
                             size > NOX_RSA_OAEP_OVERHEAD ? size - NOX_RSA_OAEP_OVERHEAD : 0, nox_rsa_bits(key),
                             len);
    if (cap < size)
        return nox_error_set(err, NOX_ERR_INVALID, "buffer too small for the RSA ciphertext: %zu bytes, %zu needed",
                             cap, size);
    EVP_PKEY_CTX *ctx = oaep_context(key, 0);
    if (!ctx) return nox_openssl_failure(err, "RSA-OAEP set-up");
    size_t n = cap;
    int ok = EVP_PKEY_encrypt(ctx, out, &n, in, len) == 1 && n == size;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return nox_openssl_failure(err, "RSA-OAEP encryption");
    *out_len = n;
    return NOX_OK;
}

nox_status nox_rsa_decrypt(const nox_rsa_key *key, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                           size_t *out_len, nox_error *err) {
    if (cap > 0) memset(out, 0, cap);
    *out_len = 0;
    if (!key->has_private)
        return nox_error_set(err, NOX_ERR_INVALID, "this RSA key is a public key only: it cannot decrypt");
    size_t size = nox_rsa_size(key);
    if (len != size)
        return nox_error_set(err, NOX_ERR_INVALID,
                             "an RSA ciphertext for this %u-bit key is %zu bytes (the modulus size), got %zu",
                             nox_rsa_bits(key), size, len);
    /* OpenSSL wants room for a whole modulus; decrypt into scratch, then copy what fits. */
    uint8_t *scratch = malloc(size);
    if (!scratch) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory for RSA decryption");
    EVP_PKEY_CTX *ctx = oaep_context(key, 1);
    if (!ctx) {
        free(scratch);
        return nox_openssl_failure(err, "RSA-OAEP set-up");
    }
    size_t n = size;
    int ok = EVP_PKEY_decrypt(ctx, scratch, &n, in, len) == 1;
    EVP_PKEY_CTX_free(ctx);
    nox_status st = NOX_OK;
    if (!ok) {
        ERR_clear_error(); /* no detail: which check failed inside OAEP must not be observable */
        st = nox_error_set(err, NOX_ERR_AUTH,
                           "RSA-OAEP decryption failed: not a ciphertext for this key (or it was altered)");
    } else if (n > cap) {
        st = nox_error_set(err, NOX_ERR_INVALID, "the RSA-decrypted message is %zu bytes, more than the %zu expected",
                           n, cap);
    } else {
        memcpy(out, scratch, n);
        *out_len = n;
    }
    OPENSSL_cleanse(scratch, size);
    free(scratch);
    return st;
}
