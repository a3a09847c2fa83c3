/* NATS user nkeys over OpenSSL's Ed25519 (nox/nkey.h). */
#include "nox/nkey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

#include "nox/secret_file.h"

enum {
    PREFIX_SEED = 18 << 3, /* 'S' */
    PREFIX_USER = 20 << 3, /* 'U' */
    KEY_SIZE = 32,
    SEED_RAW = 2 + KEY_SIZE + 2,   /* prefix (2 bytes for a seed), key, CRC */
    PUBLIC_RAW = 1 + KEY_SIZE + 2, /* prefix, key, CRC */
};

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* CRC-16/XMODEM (polynomial 0x1021, initial 0), as nkeys computes it. */
static uint16_t crc16(const uint8_t *p, size_t n) {
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++) crc = (uint16_t)((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

/* RFC 4648 base32 without padding; out holds ceil(8n/5) characters and a NUL. */
static void b32_encode(const uint8_t *in, size_t n, char *out) {
    unsigned bits = 0, acc = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) out[o++] = B32[(acc >> (bits -= 5)) & 31];
    }
    if (bits) out[o++] = B32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    OPENSSL_cleanse(&acc, sizeof acc);
}

/* Decodes exactly `len` characters into exactly `n` bytes; 0 on a bad character or length. */
static int b32_decode(const char *in, size_t len, uint8_t *out, size_t n) {
    unsigned bits = 0, acc = 0;
    size_t o = 0;
    int ok = 1;
    for (size_t i = 0; i < len && ok; i++) {
        const char *at = in[i] ? strchr(B32, in[i]) : NULL;
        if (!at) {
            ok = 0;
            break;
        }
        acc = (acc << 5) | (unsigned)(at - B32);
        bits += 5;
        if (bits >= 8) {
            if (o == n) ok = 0;
            else out[o++] = (uint8_t)(acc >> (bits -= 8));
        }
    }
    ok = ok && o == n && bits < 5 && !(acc & ((1u << bits) - 1)); /* canonical: the unused low bits are 0 */
    OPENSSL_cleanse(&acc, sizeof acc);
    return ok;
}

static void encode_public(const uint8_t key[KEY_SIZE], char pub[NOX_NKEY_PUBLIC_LEN + 1]) {
    uint8_t raw[PUBLIC_RAW];
    raw[0] = PREFIX_USER;
    memcpy(raw + 1, key, KEY_SIZE);
    uint16_t c = crc16(raw, 1 + KEY_SIZE);
    raw[1 + KEY_SIZE] = (uint8_t)c;
    raw[2 + KEY_SIZE] = (uint8_t)(c >> 8);
    b32_encode(raw, sizeof raw, pub);
}

/* The Ed25519 public key of a 32-byte seed. */
static nox_status ed25519_public(const uint8_t seed[KEY_SIZE], uint8_t key[KEY_SIZE], nox_error *err) {
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, KEY_SIZE);
    size_t len = KEY_SIZE;
    int ok = pk && EVP_PKEY_get_raw_public_key(pk, key, &len) == 1 && len == KEY_SIZE;
    EVP_PKEY_free(pk);
    return ok ? NOX_OK : nox_error_set(err, NOX_ERR_NOMEM, "OpenSSL cannot derive an Ed25519 public key");
}

nox_status nox_nkey_public_of_seed(const char *seed, size_t len, char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err) {
    uint8_t raw[SEED_RAW], key[KEY_SIZE];
    nox_status st = NOX_OK;
    if (len != NOX_NKEY_SEED_LEN || !b32_decode(seed, len, raw, sizeof raw))
        st = nox_error_set(err, NOX_ERR_INVALID, "not an nkey seed (%d base32 characters)", NOX_NKEY_SEED_LEN);
    else if (crc16(raw, SEED_RAW - 2) != (uint16_t)(raw[SEED_RAW - 2] | raw[SEED_RAW - 1] << 8))
        st = nox_error_set(err, NOX_ERR_INVALID, "nkey seed checksum mismatch (a damaged or mistyped seed)");
    else if ((raw[0] & 0xF8) != PREFIX_SEED)
        st = nox_error_set(err, NOX_ERR_INVALID, "not an nkey seed (it must start with 'S')");
    else if ((uint8_t)(((raw[0] & 7) << 5) | ((raw[1] & 0xF8) >> 3)) != PREFIX_USER)
        st = nox_error_set(err, NOX_ERR_INVALID,
                           "the seed of another kind of nkey: a NATS user seed starts with \"SU\"");
    else st = ed25519_public(raw + 2, key, err);
    if (!st) encode_public(key, pub);
    OPENSSL_cleanse(raw, sizeof raw);
    return st;
}

int nox_nkey_public_valid(const char *text) {
    uint8_t raw[PUBLIC_RAW];
    return text && strlen(text) == NOX_NKEY_PUBLIC_LEN && b32_decode(text, NOX_NKEY_PUBLIC_LEN, raw, sizeof raw) &&
           raw[0] == PREFIX_USER && crc16(raw, 1 + KEY_SIZE) == (uint16_t)(raw[1 + KEY_SIZE] | raw[2 + KEY_SIZE] << 8);
}

nox_status nox_nkey_generate(char seed[NOX_NKEY_SEED_LEN + 1], char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err) {
    uint8_t raw[SEED_RAW], key[KEY_SIZE];
    raw[0] = PREFIX_SEED | PREFIX_USER >> 5;
    raw[1] = (uint8_t)((PREFIX_USER & 31) << 3);
    nox_status st = NOX_OK;
    if (RAND_priv_bytes(raw + 2, KEY_SIZE) != 1) st = nox_error_set(err, NOX_ERR_IO, "the random number generator failed");
    else st = ed25519_public(raw + 2, key, err);
    if (!st) {
        uint16_t c = crc16(raw, SEED_RAW - 2);
        raw[SEED_RAW - 2] = (uint8_t)c;
        raw[SEED_RAW - 1] = (uint8_t)(c >> 8);
        b32_encode(raw, sizeof raw, seed);
        encode_public(key, pub);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    return st;
}

nox_status nox_nkey_file_public(const char *path, char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err) {
    char buf[4096];
    size_t len;
    nox_status st = nox_secret_file_read(path, "NATS credentials file", buf, sizeof buf, &len, err);
    if (st) return st;
    const char *seed = NULL;
    size_t seed_len = 0;
    for (char *line = buf; line && line < buf + len;) { /* nats.c: the first line starting "SU" after blanks */
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        char *s = line, *e = nl ? nl : buf + len;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        if (e - s >= 2 && s[0] == 'S' && s[1] == 'U') {
            while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
            seed = s;
            seed_len = (size_t)(e - s);
            break;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (!seed) st = nox_error_set(err, NOX_ERR_INVALID, "NATS credentials file %s: no user nkey seed (a line starting SU)", path);
    else if ((st = nox_nkey_public_of_seed(seed, seed_len, pub, err))) nox_error_prefix(err, "NATS credentials file %s: ", path);
    OPENSSL_cleanse(buf, sizeof buf);
    return st;
}

nox_status nox_nkey_file_create(const char *path, char pub[NOX_NKEY_PUBLIC_LEN + 1], nox_error *err) {
    char seed[NOX_NKEY_SEED_LEN + 2];
    nox_status st = nox_nkey_generate(seed, pub, err);
    if (!st) {
        seed[NOX_NKEY_SEED_LEN] = '\n';
        st = nox_secret_file_write(path, seed, NOX_NKEY_SEED_LEN + 1, err);
    }
    OPENSSL_cleanse(seed, sizeof seed);
    return st;
}
