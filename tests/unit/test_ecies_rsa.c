/*
 * ECIES (spec §4.1), RSA keys and RSA-OAEP, and decryption delegation
 * (spec §4.2, with the refusals of §8).
 *
 * One RSA-2048 key pair is generated per run (the "Runner key") and shared by
 * every test: key generation is the slow part, under ASan even more so.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/delegation.h"
#include "nox/ec.h"
#include "nox/ecies.h"
#include "nox/hex.h"
#include "nox/rsa.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------------- */

static nox_rsa_key *runner_key; /* generated once, freed by main */

static const nox_rsa_key *runner(void) {
    if (!runner_key) {
        nox_error err = {0};
        if (nox_rsa_generate(2048, &runner_key, &err)) {
            fprintf(stderr, "cannot generate the test RSA key: %s\n", err.message);
            exit(2);
        }
    }
    return runner_key;
}

static nox_ec_privkey key_filled(uint8_t byte) {
    uint8_t b[32];
    memset(b, byte, sizeof b);
    nox_ec_privkey k;
    nox_error err = {0};
    if (nox_ec_key_from_bytes(&k, b, &err)) exit(2);
    return k;
}

static nox_ec_pubkey pub_of(const nox_ec_privkey *k) {
    nox_ec_pubkey p;
    if (nox_ec_pubkey_of(k, &p, NULL)) exit(2);
    return p;
}

static void random_bytes(uint8_t *b, size_t n) {
    if (n && RAND_bytes(b, (int)n) != 1) exit(2);
}

static int all_zero(const uint8_t *b, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= b[i];
    return acc == 0;
}

/* The SPKI DER of an OpenSSL key (caller frees with OPENSSL_free). */
static size_t spki_of(EVP_PKEY *pkey, unsigned char **der) {
    *der = NULL;
    int n = i2d_PUBKEY(pkey, der);
    if (n <= 0) exit(2);
    return (size_t)n;
}

/* Whether a SPKI is refused, with an error message containing `why` (NULL: any). */
static int spki_refused(const uint8_t *der, size_t len, const char *why) {
    nox_rsa_key *k = NULL;
    nox_error err = {0};
    nox_status st = nox_rsa_from_spki(der, len, &k, &err);
    int refused = st == NOX_ERR_INVALID && k == NULL && (!why || strstr(err.message, why));
    if (!refused) fprintf(stderr, "\n  SPKI of %zu bytes: status %d, message \"%s\"\n", len, st, err.message);
    nox_rsa_free(k);
    return refused;
}

/* ---- known answers (independent implementation) ----------------------------------- */

/*
 * Known answers computed with Debian's /usr/bin/python3 and python3-cryptography 38:
 *   HKDF(hashes.SHA256(), 32, b"\0" * 32, b"ECIES:AES_GCM:v1").derive(x)
 * and, for the full ECIES vector, d = 0x11…11, k = 0x22…22 (derive_private_key),
 * K = k.public_key() compressed, x = k.exchange(ec.ECDH(), d.public_key()),
 * AESGCM(HKDF(x)).encrypt(nonce = a0a1…ab, b"Nox ECIES known-answer vector 32", None).
 */
static void test_hkdf_known_answers(void) {
    static const struct {
        const char *x, *key;
    } v[] = {
        {"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
         "0x798f75a2537b3e650c1327fa9579ab2fe08b0eed630460accc3654ed3a46122d"},
        {"0x0000000000000000000000000000000000000000000000000000000000000000",
         "0xca4c305cc8941efa92d233e82fd67df3ec7af3886c47f60d2ae46341ce5a6bf9"},
        {"0x77e0510d5042e2f5e9e59c977b81eeed590cf7d20c1c51da451a8eaa9fdc45ff",
         "0xe9ade7e40fbd2e2d68d34cf7df6eb9dce0efc2eb9757618ad198421278f8ea42"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t x[32], key[32];
        char hex[67];
        nox_test_from_hex(v[i].x, x, sizeof x);
        nox_error err = {0};
        CU_ASSERT_EQUAL_FATAL(nox_ecies_derive_key(x, key, &err), NOX_OK);
        CU_ASSERT_STRING_EQUAL(nox_hex_encode(key, sizeof key, hex), v[i].key);
    }
}

static void test_ecies_known_answer(void) {
    nox_ec_privkey d = key_filled(0x11);
    uint8_t eph[33], nonce[12], ct[48], x[32], want_x[32], pt[32];
    nox_test_from_hex("0x02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27", eph, sizeof eph);
    nox_test_from_hex("0xa0a1a2a3a4a5a6a7a8a9aaab", nonce, sizeof nonce);
    nox_test_from_hex("0x2655327bc88afbb64824bbe7de57a1feb9b40a187411e8a690f7c4f8542967a2"
             "919fc8e3a987b563f0fb864208dfd6f3",
             ct, sizeof ct);
    nox_test_from_hex("0x77e0510d5042e2f5e9e59c977b81eeed590cf7d20c1c51da451a8eaa9fdc45ff", want_x, sizeof want_x);
    nox_error err = {0};
    /* the raw x-coordinate, not a hash of it */
    nox_ec_pubkey k_pub;
    CU_ASSERT_EQUAL_FATAL(nox_ec_pubkey_parse_compressed(&k_pub, eph, sizeof eph, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_ec_ecdh_x(&d, &k_pub, x, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(x, want_x, 32), 0);
    CU_ASSERT_EQUAL_FATAL(nox_ecies_decrypt(&d, eph, sizeof eph, nonce, ct, sizeof ct, pt, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(pt, "Nox ECIES known-answer vector 32", 32), 0);
    memset(pt, 0, sizeof pt);
    CU_ASSERT_EQUAL_FATAL(nox_ecies_decrypt_x(want_x, nonce, ct, sizeof ct, pt, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(pt, "Nox ECIES known-answer vector 32", 32), 0);
}

/* ---- ECIES ----------------------------------------------------------------------- */

/* The plaintext sizes of bool, address, uint256 and uint2048 (spec §3), and the empty edge. */
static const size_t SIZES[] = {1, 20, 32, 256, 0};
#define MAX_PT 256

static void test_ecies_round_trips(void) {
    nox_ec_privkey d = key_filled(0x11);
    nox_ec_pubkey kms = pub_of(&d);
    for (size_t s = 0; s < sizeof SIZES / sizeof SIZES[0]; s++) {
        size_t len = SIZES[s];
        uint8_t pt[MAX_PT], ct[MAX_PT + 17], ct2[MAX_PT + 17], out[MAX_PT + 1];
        uint8_t eph[33], eph2[33], nonce[12], nonce2[12], x[32];
        random_bytes(pt, len);
        memset(ct, 0xa5, sizeof ct);
        nox_error err = {0};
        CU_ASSERT_EQUAL_FATAL(nox_ecies_encrypt(&kms, len ? pt : NULL, len, ct, eph, nonce, &err), NOX_OK);
        CU_ASSERT_EQUAL(ct[len + 16], 0xa5); /* exactly len + 16 bytes written */
        CU_ASSERT(eph[0] == 0x02 || eph[0] == 0x03);
        nox_ec_pubkey k_pub;
        CU_ASSERT_EQUAL(nox_ec_pubkey_parse_compressed(&k_pub, eph, sizeof eph, &err), NOX_OK);
        memset(out, 0xee, sizeof out);
        CU_ASSERT_EQUAL_FATAL(nox_ecies_decrypt(&d, eph, sizeof eph, nonce, ct, len + 16, out, &err), NOX_OK);
        CU_ASSERT_EQUAL(memcmp(out, pt, len), 0);
        CU_ASSERT_EQUAL(out[len], 0xee); /* exactly len bytes written */
        /* the delegated path: decryption with x alone */
        CU_ASSERT_EQUAL_FATAL(nox_ec_ecdh_x(&d, &k_pub, x, &err), NOX_OK);
        memset(out, 0, sizeof out);
        CU_ASSERT_EQUAL_FATAL(nox_ecies_decrypt_x(x, nonce, ct, len + 16, out, &err), NOX_OK);
        CU_ASSERT_EQUAL(memcmp(out, pt, len), 0);
        /* randomised: a second encryption differs in every stored field */
        CU_ASSERT_EQUAL_FATAL(nox_ecies_encrypt(&kms, pt, len, ct2, eph2, nonce2, &err), NOX_OK);
        CU_ASSERT_NOT_EQUAL(memcmp(eph, eph2, 33), 0);
        CU_ASSERT_NOT_EQUAL(memcmp(nonce, nonce2, 12), 0);
        CU_ASSERT_NOT_EQUAL(memcmp(ct, ct2, len + 16), 0);
    }
}

static void test_ecies_in_place(void) {
    nox_ec_privkey d = key_filled(0x11);
    nox_ec_pubkey kms = pub_of(&d);
    uint8_t buf[32 + 16], pt[32], eph[33], nonce[12];
    random_bytes(pt, sizeof pt);
    memcpy(buf, pt, sizeof pt);
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_ecies_encrypt(&kms, buf, 32, buf, eph, nonce, &err), NOX_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(buf, pt, 32), 0);
    CU_ASSERT_EQUAL_FATAL(nox_ecies_decrypt(&d, eph, 33, nonce, buf, sizeof buf, buf, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(buf, pt, 32), 0);
}

static void test_ecies_tampering_fails(void) {
    nox_ec_privkey d = key_filled(0x11);
    nox_ec_pubkey kms = pub_of(&d);
    uint8_t pt[32], ct[48], eph[33], nonce[12], out[32];
    random_bytes(pt, sizeof pt);
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_ecies_encrypt(&kms, pt, sizeof pt, ct, eph, nonce, &err), NOX_OK);
    struct {
        uint8_t *field;
        size_t len;
    } fields[] = {{ct, 32}, {ct + 32, 16}, {nonce, 12}, {eph, 33}}; /* ciphertext, tag, nonce, ephemeral key */
    int accepted = 0, wrong_status = 0, not_wiped = 0, unclear = 0, tries = 0;
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        for (size_t i = 0; i < fields[f].len; i++) {
            for (unsigned bit = 0; bit < 8; bit++) {
                if (fields[f].field == eph && i == 0 && bit == 0) continue; /* the parity of K: see below */
                fields[f].field[i] ^= (uint8_t)(1u << bit);
                memset(out, 0xee, sizeof out);
                nox_status st = nox_ecies_decrypt(&d, eph, sizeof eph, nonce, ct, sizeof ct, out, &err);
                fields[f].field[i] ^= (uint8_t)(1u << bit);
                tries++;
                accepted += st == NOX_OK;
                /* AUTH when the tag fails, INVALID when the altered key is no longer a compressed point */
                wrong_status += st != NOX_OK && st != NOX_ERR_AUTH && st != NOX_ERR_INVALID;
                /* the ephemeral key may also stop being a compressed point on the curve */
                if (st && !strstr(err.message, "did not authenticate") && !strstr(err.message, "ephemeral public key"))
                    unclear++;
                if (st && !all_zero(out, sizeof out)) not_wiped++;
            }
        }
    }
    CU_ASSERT_EQUAL(tries, 8 * (32 + 16 + 12 + 33) - 1);
    CU_ASSERT_EQUAL(accepted, 0);
    CU_ASSERT_EQUAL(wrong_status, 0);
    CU_ASSERT_EQUAL(unclear, 0);
    CU_ASSERT_EQUAL(not_wiped, 0);
    /*
     * The one alteration that cannot be detected, by construction of spec §4.1:
     * 0x02 <-> 0x03 replaces K by -K, and d·(-K) = -(d·K) has the same
     * x-coordinate, so x, the key and the plaintext are unchanged (K is bound
     * neither into the HKDF nor as AAD). Pinned here so that a change of the
     * wire format does not go unnoticed.
     */
    eph[0] ^= 1;
    memset(out, 0, sizeof out);
    CU_ASSERT_EQUAL(nox_ecies_decrypt(&d, eph, sizeof eph, nonce, ct, sizeof ct, out, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(out, pt, 32), 0);
    eph[0] ^= 1;
    /* untouched, it still decrypts */
    CU_ASSERT_EQUAL(nox_ecies_decrypt(&d, eph, sizeof eph, nonce, ct, sizeof ct, out, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(out, pt, 32), 0);
    /* a dropped tag byte, and less than a tag */
    CU_ASSERT_EQUAL(nox_ecies_decrypt(&d, eph, sizeof eph, nonce, ct, sizeof ct - 1, out, &err), NOX_ERR_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "did not authenticate"));
    CU_ASSERT_EQUAL(nox_ecies_decrypt(&d, eph, sizeof eph, nonce, ct + 33, 15, out, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "too short"));
}

static void test_ecies_wrong_key_fails(void) {
    nox_ec_privkey d = key_filled(0x11), other = key_filled(0x12);
    nox_ec_pubkey kms = pub_of(&d);
    uint8_t pt[20], ct[36], eph[33], nonce[12], out[20], x[32];
    char pt_hex[43];
    random_bytes(pt, sizeof pt);
    nox_hex_encode(pt, sizeof pt, pt_hex);
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_ecies_encrypt(&kms, pt, sizeof pt, ct, eph, nonce, &err), NOX_OK);
    memset(out, 0xee, sizeof out);
    CU_ASSERT_EQUAL(nox_ecies_decrypt(&other, eph, sizeof eph, nonce, ct, sizeof ct, out, &err), NOX_ERR_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "did not authenticate"));
    CU_ASSERT_PTR_NULL(strstr(err.message, pt_hex + 2)); /* no plaintext in messages */
    CU_ASSERT(all_zero(out, sizeof out));
    /* a wrong x: the right one with one bit flipped */
    nox_ec_pubkey k_pub;
    CU_ASSERT_EQUAL_FATAL(nox_ec_pubkey_parse_compressed(&k_pub, eph, sizeof eph, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_ec_ecdh_x(&d, &k_pub, x, &err), NOX_OK);
    x[31] ^= 1;
    CU_ASSERT_EQUAL(nox_ecies_decrypt_x(x, nonce, ct, sizeof ct, out, &err), NOX_ERR_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "did not authenticate"));
    x[31] ^= 1;
    CU_ASSERT_EQUAL(nox_ecies_decrypt_x(x, nonce, ct, sizeof ct, out, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(out, pt, sizeof pt), 0);
}

static void test_ecies_ephemeral_must_be_compressed(void) {
    nox_ec_privkey d = key_filled(0x11), k = key_filled(0x22);
    nox_ec_pubkey k_pub = pub_of(&k);
    uint8_t full[65], eph[33], nonce[12] = {0}, ct[16] = {0}, out[1];
    nox_ec_pubkey_uncompressed(&k_pub, full);
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_ecies_decrypt(&d, full, sizeof full, nonce, ct, sizeof ct, out, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "compressed"));
    nox_ec_pubkey_compressed(&k_pub, eph);
    eph[0] = 0x04;
    CU_ASSERT_EQUAL(nox_ecies_decrypt(&d, eph, sizeof eph, nonce, ct, sizeof ct, out, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "ephemeral public key"));
}

/* ---- RSA -------------------------------------------------------------------------- */

static void test_rsa_generate_and_spki(void) {
    const nox_rsa_key *key = runner();
    CU_ASSERT_EQUAL(nox_rsa_bits(key), 2048);
    CU_ASSERT_EQUAL(nox_rsa_size(key), 256);
    CU_ASSERT_EQUAL(nox_rsa_has_private(key), 1);
    CU_ASSERT_EQUAL(nox_rsa_spki_size(key), NOX_RSA_2048_SPKI_SIZE);
    uint8_t der[NOX_RSA_MAX_SPKI_SIZE], der2[NOX_RSA_MAX_SPKI_SIZE];
    size_t len = 0, len2 = 0;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_rsa_spki(key, der, sizeof der, &len, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(len, 294);
    /* SEQUENCE(290) { SEQUENCE { rsaEncryption, NULL } ... } and e = 65537 at the end */
    static const uint8_t head[] = {0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
                                   0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    CU_ASSERT_EQUAL(memcmp(der, head, sizeof head), 0);
    CU_ASSERT_EQUAL(memcmp(der + len - 5, "\x02\x03\x01\x00\x01", 5), 0);
    CU_ASSERT_EQUAL(nox_rsa_spki(key, der2, 293, &len2, &err), NOX_ERR_INVALID); /* too small a buffer */

    char hex[2 * 294 + 3], upper[2 * 294 + 3];
    CU_ASSERT_EQUAL(nox_rsa_spki_hex(key, hex, sizeof hex - 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL_FATAL(nox_rsa_spki_hex(key, hex, sizeof hex, &err), NOX_OK);
    CU_ASSERT_EQUAL(strlen(hex), 590);
    CU_ASSERT_EQUAL(strncmp(hex, "0x30820122300d06092a864886f70d0101010500", 40), 0);
    nox_rsa_key *pub = NULL;
    CU_ASSERT_EQUAL_FATAL(nox_rsa_from_spki_hex(hex, strlen(hex), &pub, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_rsa_has_private(pub), 0);
    CU_ASSERT_EQUAL(nox_rsa_bits(pub), 2048);
    CU_ASSERT_EQUAL(nox_rsa_spki(pub, der2, sizeof der2, &len2, &err), NOX_OK);
    CU_ASSERT_EQUAL(len2, len);
    CU_ASSERT_EQUAL(memcmp(der, der2, len), 0);
    nox_rsa_free(pub);
    /* input hex may be upper case */
    for (size_t i = 0; i < sizeof hex; i++)
        upper[i] = (char)(i >= 2 && hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
    CU_ASSERT_EQUAL(nox_rsa_from_spki_hex(upper, strlen(upper), &pub, &err), NOX_OK);
    nox_rsa_free(pub);
    nox_rsa_free(NULL);
}

static void test_rsa_generate_refuses_small(void) {
    nox_rsa_key *k = (nox_rsa_key *)&k; /* must be reset to NULL */
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_rsa_generate(1024, &k, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "2048"));
    CU_ASSERT_EQUAL(nox_rsa_generate(2047, &k, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_rsa_generate(NOX_RSA_MAX_BITS + 1, &k, &err), NOX_ERR_INVALID);
}

static void test_rsa_refuses_1024_bit_spki(void) {
    EVP_PKEY *small = EVP_RSA_gen(1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(small);
    unsigned char *der;
    size_t len = spki_of(small, &der);
    CU_ASSERT(spki_refused(der, len, "1024 bits"));
    char hex[2 * 512 + 3];
    nox_hex_encode(der, len, hex);
    nox_rsa_key *k = NULL;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_rsa_from_spki_hex(hex, strlen(hex), &k, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "at least 2048"));
    OPENSSL_free(der);
    EVP_PKEY_free(small);
}

static void test_rsa_refuses_malformed_spki(void) {
    uint8_t der[NOX_RSA_MAX_SPKI_SIZE + 2], bad[NOX_RSA_MAX_SPKI_SIZE + 2];
    size_t len = 0;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_rsa_spki(runner(), der, sizeof der, &len, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(len, 294);
    CU_ASSERT(spki_refused(der, 0, "empty"));
    /* every truncation */
    int truncated_accepted = 0;
    for (size_t cut = 1; cut < len; cut++) truncated_accepted += !spki_refused(der, cut, NULL);
    CU_ASSERT_EQUAL(truncated_accepted, 0);
    /* trailing bytes */
    memcpy(bad, der, len);
    bad[len] = 0x00;
    CU_ASSERT(spki_refused(bad, len + 1, "1 trailing byte"));
    memcpy(bad + len, der, len); /* two keys back to back */
    CU_ASSERT(spki_refused(bad, 2 * len, "trailing"));
    /* garbage */
    random_bytes(bad, len);
    bad[0] = 0x04; /* not a SEQUENCE, whatever the random bytes are */
    CU_ASSERT(spki_refused(bad, len, "SubjectPublicKeyInfo"));
    memset(bad, 0x30, len);
    CU_ASSERT(spki_refused(bad, len, NULL));
    /* non-canonical DER: the outer length in a longer form than needed (30 83 00 01 22 instead of 30 82 01 22) */
    bad[0] = 0x30, bad[1] = 0x83, bad[2] = 0x00, bad[3] = 0x01, bad[4] = 0x22;
    memcpy(bad + 5, der + 4, len - 4);
    CU_ASSERT(spki_refused(bad, len + 1, "canonical"));
    /* public exponent 65539 instead of 65537 (last byte of the SPKI) */
    memcpy(bad, der, len);
    bad[len - 1] = 0x03;
    CU_ASSERT(spki_refused(bad, len, "exponent"));
    /* an even modulus (its last byte precedes the 5-byte exponent) */
    memcpy(bad, der, len);
    bad[len - 6] &= 0xfe;
    CU_ASSERT(spki_refused(bad, len, "even"));
    /* a bare PKCS#1 RSAPublicKey is not an SPKI */
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = der;
    pkey = d2i_PUBKEY(NULL, &p, (long)len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pkey);
    unsigned char *pkcs1 = NULL;
    int pkcs1_len = i2d_PublicKey(pkey, &pkcs1);
    CU_ASSERT_FATAL(pkcs1_len > 0 && pkcs1_len < (int)len);
    CU_ASSERT(spki_refused(pkcs1, (size_t)pkcs1_len, "SubjectPublicKeyInfo"));
    OPENSSL_free(pkcs1);
    EVP_PKEY_free(pkey);
    /* bad hex */
    nox_rsa_key *k = NULL;
    CU_ASSERT_EQUAL(nox_rsa_from_spki_hex("30820122", 8, &k, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "RSA public key: "));
    CU_ASSERT_EQUAL(nox_rsa_from_spki_hex("0x308", 5, &k, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_rsa_from_spki_hex("0x30zz", 6, &k, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_rsa_from_spki_hex("0x", 2, &k, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NULL(k);
}

static void test_rsa_refuses_ec_spki(void) {
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
    unsigned char *der;
    size_t len = spki_of(ec, &der);
    CU_ASSERT(spki_refused(der, len, "not an RSA key"));
    OPENSSL_free(der);
    EVP_PKEY_free(ec);
}

static void test_rsa_oaep(void) {
    const nox_rsa_key *key = runner();
    char hex[2 * 294 + 3];
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_rsa_spki_hex(key, hex, sizeof hex, &err), NOX_OK);
    nox_rsa_key *pub = NULL;
    CU_ASSERT_EQUAL_FATAL(nox_rsa_from_spki_hex(hex, strlen(hex), &pub, &err), NOX_OK);
    uint8_t msg[190], ct[256], ct2[256], out[256];
    size_t ct_len = 0, ct2_len = 0, out_len = 0;
    random_bytes(msg, sizeof msg);
    /* with the imported public key; decrypted with the private key */
    CU_ASSERT_EQUAL_FATAL(nox_rsa_encrypt(pub, msg, 32, ct, sizeof ct, &ct_len, &err), NOX_OK);
    CU_ASSERT_EQUAL(ct_len, 256);
    CU_ASSERT_EQUAL_FATAL(nox_rsa_decrypt(key, ct, ct_len, out, sizeof out, &out_len, &err), NOX_OK);
    CU_ASSERT_EQUAL(out_len, 32);
    CU_ASSERT_EQUAL(memcmp(out, msg, 32), 0);
    /* randomised */
    CU_ASSERT_EQUAL_FATAL(nox_rsa_encrypt(pub, msg, 32, ct2, sizeof ct2, &ct2_len, &err), NOX_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(ct, ct2, 256), 0);
    /* the largest message (k - 66 = 190 bytes), one more is refused; the empty message */
    CU_ASSERT_EQUAL_FATAL(nox_rsa_encrypt(pub, msg, 190, ct2, sizeof ct2, &ct2_len, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_rsa_decrypt(key, ct2, ct2_len, out, sizeof out, &out_len, &err), NOX_OK);
    CU_ASSERT_EQUAL(out_len, 190);
    CU_ASSERT_EQUAL(memcmp(out, msg, 190), 0);
    uint8_t big[191] = {0};
    CU_ASSERT_EQUAL(nox_rsa_encrypt(pub, big, 191, ct2, sizeof ct2, &ct2_len, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "at most 190 bytes"));
    CU_ASSERT_EQUAL_FATAL(nox_rsa_encrypt(pub, NULL, 0, ct2, sizeof ct2, &ct2_len, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_rsa_decrypt(key, ct2, ct2_len, out, sizeof out, &out_len, &err), NOX_OK);
    CU_ASSERT_EQUAL(out_len, 0);
    CU_ASSERT_EQUAL(nox_rsa_encrypt(pub, msg, 32, ct2, 255, &ct2_len, &err), NOX_ERR_INVALID); /* small buffer */
    /* an output buffer too small for the message: refused, left zeroed */
    memset(out, 0xee, sizeof out);
    CU_ASSERT_EQUAL(nox_rsa_decrypt(key, ct, ct_len, out, 31, &out_len, &err), NOX_ERR_INVALID);
    CU_ASSERT(all_zero(out, 31));
    /* a public key cannot decrypt */
    CU_ASSERT_EQUAL(nox_rsa_decrypt(pub, ct, ct_len, out, sizeof out, &out_len, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "public key only"));
    /* altered or mis-sized ciphertexts */
    int accepted = 0;
    for (size_t i = 0; i < ct_len; i += 17) {
        ct[i] ^= 0x40;
        accepted += nox_rsa_decrypt(key, ct, ct_len, out, sizeof out, &out_len, &err) != NOX_ERR_AUTH;
        ct[i] ^= 0x40;
    }
    CU_ASSERT_EQUAL(accepted, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "RSA-OAEP decryption failed"));
    CU_ASSERT_EQUAL(nox_rsa_decrypt(key, ct, 255, out, sizeof out, &out_len, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "256 bytes"));
    CU_ASSERT_EQUAL(nox_rsa_decrypt(key, ct, ct_len, out, sizeof out, &out_len, &err), NOX_OK);
    nox_rsa_free(pub);
}

/* ---- delegation ---------------------------------------------------------------------- */

static void test_delegation_flow(void) {
    nox_ec_privkey d = key_filled(0x11);
    nox_ec_pubkey kms = pub_of(&d);
    /* the Runner sends its key as SPKI hex; the KMS imports it from the wire form */
    char spki_hex[2 * 294 + 3];
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_rsa_spki_hex(runner(), spki_hex, sizeof spki_hex, &err), NOX_OK);
    nox_rsa_key *target = NULL;
    CU_ASSERT_EQUAL_FATAL(nox_rsa_from_spki_hex(spki_hex, strlen(spki_hex), &target, &err), NOX_OK);
    for (size_t s = 0; s < sizeof SIZES / sizeof SIZES[0]; s++) {
        size_t len = SIZES[s];
        uint8_t pt[MAX_PT], ct[MAX_PT + 16], eph[33], nonce[12], ess[256], x[32], want_x[32], out[MAX_PT];
        size_t ess_len = 0;
        random_bytes(pt, len);
        /* the user (through the Gateway) encrypts to the KMS key */
        CU_ASSERT_EQUAL_FATAL(nox_ecies_encrypt(&kms, pt, len, ct, eph, nonce, &err), NOX_OK);
        /* the KMS delegates to the Runner key */
        CU_ASSERT_EQUAL_FATAL(nox_delegation_delegate(&d, eph, sizeof eph, target, ess, sizeof ess, &ess_len, &err),
                              NOX_OK);
        CU_ASSERT_EQUAL(ess_len, 256);
        /* the Runner unwraps x: the raw ECDH x-coordinate */
        CU_ASSERT_EQUAL_FATAL(nox_delegation_unwrap(runner(), ess, ess_len, x, &err), NOX_OK);
        nox_ec_pubkey k_pub;
        CU_ASSERT_EQUAL_FATAL(nox_ec_pubkey_parse_compressed(&k_pub, eph, 33, &err), NOX_OK);
        CU_ASSERT_EQUAL_FATAL(nox_ec_ecdh_x(&d, &k_pub, want_x, &err), NOX_OK);
        CU_ASSERT_EQUAL(memcmp(x, want_x, 32), 0);
        memset(out, 0xee, sizeof out);
        CU_ASSERT_EQUAL_FATAL(nox_ecies_decrypt_x(x, nonce, ct, len + 16, out, &err), NOX_OK);
        CU_ASSERT_EQUAL(memcmp(out, pt, len), 0);
        /* the one-call form */
        memset(out, 0xee, sizeof out);
        CU_ASSERT_EQUAL_FATAL(nox_delegation_decrypt(runner(), ess, ess_len, nonce, ct, len + 16, out, &err), NOX_OK);
        CU_ASSERT_EQUAL(memcmp(out, pt, len), 0);
    }
    /* a delegation by the wrong KMS key gives a wrong x: decryption fails to authenticate */
    nox_ec_privkey wrong = key_filled(0x12);
    uint8_t pt[32], ct[48], eph[33], nonce[12], ess[256], out[32];
    size_t ess_len = 0;
    random_bytes(pt, sizeof pt);
    CU_ASSERT_EQUAL_FATAL(nox_ecies_encrypt(&kms, pt, sizeof pt, ct, eph, nonce, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_delegation_delegate(&wrong, eph, 33, target, ess, sizeof ess, &ess_len, &err), NOX_OK);
    memset(out, 0xee, sizeof out);
    CU_ASSERT_EQUAL(nox_delegation_decrypt(runner(), ess, ess_len, nonce, ct, sizeof ct, out, &err), NOX_ERR_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "did not authenticate"));
    CU_ASSERT(all_zero(out, sizeof out));
    /* an altered encryptedSharedSecret does not unwrap; the plaintext buffer stays zeroed */
    CU_ASSERT_EQUAL_FATAL(nox_delegation_delegate(&d, eph, 33, target, ess, sizeof ess, &ess_len, &err), NOX_OK);
    ess[100] ^= 1;
    memset(out, 0xee, sizeof out);
    CU_ASSERT_EQUAL(nox_delegation_decrypt(runner(), ess, ess_len, nonce, ct, sizeof ct, out, &err), NOX_ERR_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "encryptedSharedSecret: RSA-OAEP decryption failed"));
    CU_ASSERT(all_zero(out, sizeof out));
    ess[100] ^= 1;
    CU_ASSERT_EQUAL(nox_delegation_decrypt(runner(), ess, ess_len, nonce, ct, sizeof ct, out, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(out, pt, sizeof pt), 0);
    /* the output buffer must hold the modulus */
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, eph, 33, target, ess, 255, &ess_len, &err), NOX_ERR_INVALID);
    nox_rsa_free(target);
}

static void test_delegate_refuses_bad_ephemeral(void) {
    nox_ec_privkey d = key_filled(0x11), k = key_filled(0x22);
    nox_ec_pubkey k_pub = pub_of(&k);
    uint8_t full[65], eph[33], ess[256];
    nox_ec_pubkey_uncompressed(&k_pub, full);
    nox_ec_pubkey_compressed(&k_pub, eph);
    nox_error err = {0};
    size_t ess_len = 12345;
    /* a valid point, but uncompressed */
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, full, 65, runner(), ess, sizeof ess, &ess_len, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "ephemeral public key: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "compressed"));
    /* 33 bytes with the uncompressed or a hybrid prefix */
    uint8_t bad[33];
    memcpy(bad, eph, 33);
    bad[0] = 0x04;
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, bad, 33, runner(), ess, sizeof ess, &ess_len, &err), NOX_ERR_INVALID);
    bad[0] = 0x06;
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, bad, 33, runner(), ess, sizeof ess, &ess_len, &err), NOX_ERR_INVALID);
    /* off the curve: x = 5 (5^3 + 7 is not a square mod p), and x = 2^256 - 1 (not below p) */
    memset(bad, 0, 33);
    bad[0] = 0x02, bad[32] = 5;
    nox_ec_pubkey probe;
    CU_ASSERT_EQUAL_FATAL(nox_ec_pubkey_parse(&probe, bad, 33, NULL), NOX_ERR_INVALID); /* the premise */
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, bad, 33, runner(), ess, sizeof ess, &ess_len, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not a point on secp256k1"));
    bad[0] = 0x03;
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, bad, 33, runner(), ess, sizeof ess, &ess_len, &err), NOX_ERR_INVALID);
    memset(bad, 0xff, 33);
    bad[0] = 0x02;
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, bad, 33, runner(), ess, sizeof ess, &ess_len, &err), NOX_ERR_INVALID);
    /* wrong lengths */
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, eph, 32, runner(), ess, sizeof ess, &ess_len, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, eph, 0, runner(), ess, sizeof ess, &ess_len, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(ess_len, 12345); /* nothing produced */
    /* the good one */
    CU_ASSERT_EQUAL(nox_delegation_delegate(&d, eph, 33, runner(), ess, sizeof ess, &ess_len, &err), NOX_OK);
    CU_ASSERT_EQUAL(ess_len, 256);
}

static void test_unwrap_requires_32_bytes(void) {
    const nox_rsa_key *key = runner();
    uint8_t msg[64], ess[256], x[32];
    size_t ess_len = 0;
    random_bytes(msg, sizeof msg);
    nox_error err = {0};
    static const size_t lens[] = {31, 33, 0, 64};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(nox_rsa_encrypt(key, msg, lens[i], ess, sizeof ess, &ess_len, &err), NOX_OK);
        memset(x, 0xaa, sizeof x);
        CU_ASSERT_EQUAL(nox_delegation_unwrap(key, ess, ess_len, x, &err), NOX_ERR_INVALID);
        char want[64];
        snprintf(want, sizeof want, "decrypts to %zu bytes", lens[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
        CU_ASSERT(all_zero(x, sizeof x));
    }
    /* exactly 32 bytes unwraps */
    CU_ASSERT_EQUAL_FATAL(nox_rsa_encrypt(key, msg, 32, ess, sizeof ess, &ess_len, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_delegation_unwrap(key, ess, ess_len, x, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(x, msg, 32), 0);
    /* not the modulus length, or garbage */
    CU_ASSERT_EQUAL(nox_delegation_unwrap(key, ess, 255, x, &err), NOX_ERR_INVALID);
    CU_ASSERT(all_zero(x, sizeof x));
    random_bytes(ess, sizeof ess);
    ess[0] = 0; /* below the modulus, so it reaches the OAEP check */
    CU_ASSERT_EQUAL(nox_delegation_unwrap(key, ess, 256, x, &err), NOX_ERR_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "encryptedSharedSecret: "));
}

int main(void) {
    CU_TestInfo tests[] = {
        {"HKDF-SHA256 key derivation: known answers", test_hkdf_known_answers},
        {"ECIES: known-answer vector from Python cryptography", test_ecies_known_answer},
        {"ECIES: round trips at 1, 20, 32, 256 (and 0) bytes", test_ecies_round_trips},
        {"ECIES: in-place encryption and decryption", test_ecies_in_place},
        {"ECIES: any altered bit fails (except the parity of K)", test_ecies_tampering_fails},
        {"ECIES: a wrong key or x fails", test_ecies_wrong_key_fails},
        {"ECIES: the ephemeral key must be compressed", test_ecies_ephemeral_must_be_compressed},
        {"RSA: 2048-bit key pair, 294-byte SPKI, hex round trip", test_rsa_generate_and_spki},
        {"RSA: generation refuses fewer than 2048 bits", test_rsa_generate_refuses_small},
        {"RSA: a 1024-bit SPKI is refused", test_rsa_refuses_1024_bit_spki},
        {"RSA: malformed, truncated, trailing, non-canonical SPKI refused", test_rsa_refuses_malformed_spki},
        {"RSA: an EC SPKI is refused", test_rsa_refuses_ec_spki},
        {"RSA-OAEP-SHA256: round trip and refusals", test_rsa_oaep},
        {"delegation: user -> KMS -> Runner, all sizes", test_delegation_flow},
        {"delegation: non-compressed or off-curve ephemeral keys refused", test_delegate_refuses_bad_ephemeral},
        {"delegation: unwrap requires exactly 32 bytes", test_unwrap_requires_32_bytes},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("ecies_rsa", tests);
    nox_rsa_free(runner_key);
    return rc;
}
