/* secp256k1 over libsecp256k1: keys, key files, addresses, ECDH, recoverable ECDSA. */
#include "nox/ec.h"

#include "ec_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/secret_file.h"

_Static_assert(sizeof(nox_ec_pubkey) == sizeof(secp256k1_pubkey), "nox_ec_pubkey mirrors secp256k1_pubkey");

/* ---- the process-wide context ------------------------------------------- */

static secp256k1_context *shared_ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void create_context(void) {
    secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    unsigned char seed[32];
    /* Blinding of signing and key generation against side channels. */
    if (c && RAND_bytes(seed, sizeof seed) == 1 && !secp256k1_context_randomize(c, seed)) {
        secp256k1_context_destroy(c);
        c = NULL;
    }
    OPENSSL_cleanse(seed, sizeof seed);
    shared_ctx = c;
}

const secp256k1_context *nox_ec_context(nox_error *err) {
    pthread_once(&ctx_once, create_context);
    if (!shared_ctx) nox_error_set(err, NOX_ERR_NOMEM, "cannot create the secp256k1 context");
    return shared_ctx;
}

static const secp256k1_context *context(nox_error *err) { return nox_ec_context(err); }

#define NEED_CONTEXT(c)                           \
    const secp256k1_context *c = context(err);    \
    if (!c) return NOX_ERR_NOMEM

/* ---- keys ------------------------------------------------------------------- */

void nox_ec_key_wipe(nox_ec_privkey *key) { OPENSSL_cleanse(key, sizeof *key); }

nox_status nox_ec_key_from_bytes(nox_ec_privkey *key, const uint8_t bytes[NOX_EC_PRIVKEY_SIZE], nox_error *err) {
    NEED_CONTEXT(c);
    if (!secp256k1_ec_seckey_verify(c, bytes))
        return nox_error_set(err, NOX_ERR_INVALID, "not a valid secp256k1 private key (must be in [1, n-1])");
    memcpy(key->d, bytes, NOX_EC_PRIVKEY_SIZE);
    return NOX_OK;
}

nox_status nox_ec_key_generate(nox_ec_privkey *key, nox_error *err) {
    NEED_CONTEXT(c);
    for (int tries = 0; tries < 64; tries++) { /* a value >= n has probability ~2^-128 */
        if (RAND_priv_bytes(key->d, sizeof key->d) != 1) break;
        if (secp256k1_ec_seckey_verify(c, key->d)) return NOX_OK;
    }
    nox_ec_key_wipe(key);
    return nox_error_set(err, NOX_ERR_IO, "the random number generator failed");
}

nox_status nox_ec_key_save(const nox_ec_privkey *key, const char *path, nox_error *err) {
    char text[2 * NOX_EC_PRIVKEY_SIZE + 4];
    nox_hex_encode(key->d, NOX_EC_PRIVKEY_SIZE, text);
    size_t len = strlen(text);
    text[len++] = '\n';
    nox_status st = nox_secret_file_write(path, text, len, err);
    OPENSSL_cleanse(text, sizeof text);
    return st;
}

nox_status nox_ec_key_load(nox_ec_privkey *key, const char *path, nox_error *err) {
    char buf[256], hex[2 * NOX_EC_PRIVKEY_SIZE + 3] = "0x";
    size_t len;
    nox_status st = nox_secret_file_read(path, "key file", buf, sizeof buf, &len, err);
    if (st) return st;
    const char *s = buf; /* an optional 0x */
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2, len -= 2;
    uint8_t bytes[NOX_EC_PRIVKEY_SIZE];
    if (len != 2 * NOX_EC_PRIVKEY_SIZE) {
        st = nox_error_set(err, NOX_ERR_INVALID, "key file %s: expected 64 hex digits", path);
    } else {
        memcpy(hex + 2, s, len);
        st = nox_hex_decode_exact(hex, len + 2, bytes, sizeof bytes, err);
        if (st) st = nox_error_set(err, NOX_ERR_INVALID, "key file %s: expected 64 hex digits", path);
        else st = nox_ec_key_from_bytes(key, bytes, err);
        if (st == NOX_ERR_INVALID) nox_error_prefix(err, "key file %s: ", path);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    OPENSSL_cleanse(hex, sizeof hex);
    OPENSSL_cleanse(bytes, sizeof bytes);
    return st;
}

nox_status nox_ec_key_load_or_create(nox_ec_privkey *key, const char *path, int *created, nox_error *err) {
    struct stat sb;
    if (created) *created = 0;
    if (stat(path, &sb) == 0 || errno != ENOENT) return nox_ec_key_load(key, path, err);
    nox_status st = nox_ec_key_generate(key, err);
    if (!st) st = nox_ec_key_save(key, path, err);
    if (!st && created) *created = 1;
    return st;
}

/* ---- public keys and addresses ---------------------------------------------- */

nox_status nox_ec_pubkey_of(const nox_ec_privkey *key, nox_ec_pubkey *pub, nox_error *err) {
    NEED_CONTEXT(c);
    if (!secp256k1_ec_pubkey_create(c, (secp256k1_pubkey *)pub, key->d))
        return nox_error_set(err, NOX_ERR_INVALID, "not a valid secp256k1 private key");
    return NOX_OK;
}

nox_status nox_ec_pubkey_parse(nox_ec_pubkey *pub, const uint8_t *bytes, size_t len, nox_error *err) {
    NEED_CONTEXT(c);
    if (len != NOX_EC_PUBKEY_COMPRESSED_SIZE && len != NOX_EC_PUBKEY_UNCOMPRESSED_SIZE)
        return nox_error_set(err, NOX_ERR_INVALID, "a secp256k1 public key is 33 (compressed) or 65 bytes, got %zu",
                             len);
    if (!secp256k1_ec_pubkey_parse(c, (secp256k1_pubkey *)pub, bytes, len))
        return nox_error_set(err, NOX_ERR_INVALID, "not a point on secp256k1");
    return NOX_OK;
}

nox_status nox_ec_pubkey_parse_compressed(nox_ec_pubkey *pub, const uint8_t *bytes, size_t len, nox_error *err) {
    if (len != NOX_EC_PUBKEY_COMPRESSED_SIZE || (bytes[0] != 0x02 && bytes[0] != 0x03))
        return nox_error_set(err, NOX_ERR_INVALID,
                             "expected a compressed secp256k1 point (33 bytes starting 0x02 or 0x03)");
    return nox_ec_pubkey_parse(pub, bytes, len, err);
}

static void serialize(const nox_ec_pubkey *pub, uint8_t *out, size_t size, unsigned flags) {
    size_t len = size;
    secp256k1_ec_pubkey_serialize(context(NULL), out, &len, (const secp256k1_pubkey *)pub, flags);
}

void nox_ec_pubkey_compressed(const nox_ec_pubkey *pub, uint8_t out[NOX_EC_PUBKEY_COMPRESSED_SIZE]) {
    serialize(pub, out, NOX_EC_PUBKEY_COMPRESSED_SIZE, SECP256K1_EC_COMPRESSED);
}

void nox_ec_pubkey_uncompressed(const nox_ec_pubkey *pub, uint8_t out[NOX_EC_PUBKEY_UNCOMPRESSED_SIZE]) {
    serialize(pub, out, NOX_EC_PUBKEY_UNCOMPRESSED_SIZE, SECP256K1_EC_UNCOMPRESSED);
}

void nox_ec_pubkey_address(const nox_ec_pubkey *pub, uint8_t out[NOX_ADDRESS_SIZE]) {
    uint8_t point[NOX_EC_PUBKEY_UNCOMPRESSED_SIZE], digest[32];
    nox_ec_pubkey_uncompressed(pub, point);
    nox_keccak256(point + 1, sizeof point - 1, digest);
    memcpy(out, digest + 12, NOX_ADDRESS_SIZE);
}

nox_status nox_ec_key_address(const nox_ec_privkey *key, uint8_t out[NOX_ADDRESS_SIZE], nox_error *err) {
    nox_ec_pubkey pub;
    nox_status st = nox_ec_pubkey_of(key, &pub, err);
    if (!st) nox_ec_pubkey_address(&pub, out);
    return st;
}

/* ---- ECDH and signatures ----------------------------------------------------- */

/* libsecp256k1 hashes the shared point by default; the protocol wants the raw x. */
static int copy_x(unsigned char *out, const unsigned char *x32, const unsigned char *y32, void *data) {
    (void)y32, (void)data;
    memcpy(out, x32, 32);
    return 1;
}

nox_status nox_ec_ecdh_x(const nox_ec_privkey *key, const nox_ec_pubkey *pub, uint8_t x[32], nox_error *err) {
    NEED_CONTEXT(c);
    if (!secp256k1_ecdh(c, x, (const secp256k1_pubkey *)pub, key->d, copy_x, NULL))
        return nox_error_set(err, NOX_ERR_INVALID, "ECDH failed (invalid private key)");
    return NOX_OK;
}

nox_status nox_ec_sign(const nox_ec_privkey *key, const uint8_t digest[32], uint8_t sig[NOX_EC_SIGNATURE_SIZE],
                       nox_error *err) {
    NEED_CONTEXT(c);
    secp256k1_ecdsa_recoverable_signature rs;
    int recid = 0;
    if (!secp256k1_ecdsa_sign_recoverable(c, &rs, digest, key->d, NULL, NULL))
        return nox_error_set(err, NOX_ERR_INVALID, "signing failed (invalid private key)");
    secp256k1_ecdsa_recoverable_signature_serialize_compact(c, sig, &recid, &rs); /* s is low by construction */
    sig[64] = (uint8_t)(27 + recid);
    return NOX_OK;
}

/* The signature rules of spec §4.3 (see nox_ec_signature_check); *rs receives the parsed signature. */
static nox_status parse_signature(const secp256k1_context *c, const uint8_t *sig, size_t sig_len,
                                  secp256k1_ecdsa_recoverable_signature *rs, nox_error *err) {
    if (sig_len != NOX_EC_SIGNATURE_SIZE)
        return nox_error_set(err, NOX_ERR_INVALID, "a signature is 65 bytes (r || s || v), got %zu", sig_len);
    unsigned v = sig[64];
    int recid = v >= 27 ? (int)v - 27 : (int)v;
    if (recid != 0 && recid != 1)
        return nox_error_set(err, NOX_ERR_INVALID, "signature v is %u; expected 27 or 28 (or 0 or 1)", v);
    static const uint8_t zero[32];
    if (!memcmp(sig, zero, 32) || !memcmp(sig + 32, zero, 32))
        return nox_error_set(err, NOX_ERR_INVALID, "signature r or s is zero");
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(c, rs, sig, recid))
        return nox_error_set(err, NOX_ERR_INVALID, "signature r or s is not below the group order");
    secp256k1_ecdsa_signature plain, normalized;
    secp256k1_ecdsa_recoverable_signature_convert(c, &plain, rs);
    if (secp256k1_ecdsa_signature_normalize(c, &normalized, &plain))
        return nox_error_set(err, NOX_ERR_INVALID, "signature has a high s value (s > n/2); use the low-s form");
    return NOX_OK;
}

nox_status nox_ec_signature_check(const uint8_t *sig, size_t sig_len, nox_error *err) {
    NEED_CONTEXT(c);
    secp256k1_ecdsa_recoverable_signature rs;
    return parse_signature(c, sig, sig_len, &rs, err);
}

nox_status nox_ec_recover(const uint8_t digest[32], const uint8_t *sig, size_t sig_len,
                          uint8_t address[NOX_ADDRESS_SIZE], nox_error *err) {
    NEED_CONTEXT(c);
    secp256k1_ecdsa_recoverable_signature rs;
    nox_status st = parse_signature(c, sig, sig_len, &rs, err);
    if (st) return st;
    secp256k1_pubkey pub;
    if (!secp256k1_ecdsa_recover(c, &pub, &rs, digest))
        return nox_error_set(err, NOX_ERR_INVALID, "signature does not recover to a public key");
    nox_ec_pubkey_address((const nox_ec_pubkey *)&pub, address);
    return NOX_OK;
}
