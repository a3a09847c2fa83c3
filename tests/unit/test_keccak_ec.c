/*
 * keccak256 (known answers, incremental = one-shot, the NATS message id of
 * spec §6) and secp256k1 (keys, key files, addresses, ECDH, recoverable ECDSA
 * and the signature rules of spec §4.3).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nox/ec.h"
#include "nox/hex.h"
#include "nox/keccak.h"
#include "test_util.h"

static char tmpdir[] = "/tmp/nox-test-ec-XXXXXX";

/* secp256k1 group order n, big-endian */
static const uint8_t ORDER[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

static void hex_of_keccak(const void *data, size_t len, char out[67]) {
    uint8_t d[32];
    nox_keccak256(data, len, d);
    nox_hex_encode(d, 32, out);
}

static void test_keccak_known_answers(void) {
    char h[67];
    hex_of_keccak("", 0, h);
    CU_ASSERT_STRING_EQUAL(h, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"); /* spec §4.3 */
    hex_of_keccak("abc", 3, h);
    CU_ASSERT_STRING_EQUAL(h, "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    /* around the 136-byte rate: the padding lands in the last byte, or needs a new block (values from cast) */
    char a[1001];
    memset(a, 'a', sizeof a);
    hex_of_keccak(a, 135, h);
    CU_ASSERT_STRING_EQUAL(h, "0x34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
    hex_of_keccak(a, 136, h);
    CU_ASSERT_STRING_EQUAL(h, "0xa6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
    memset(a, 'x', sizeof a);
    hex_of_keccak(a, 1000, h);
    CU_ASSERT_STRING_EQUAL(h, "0xfa0c9183d89d2dfac84b8da9a1e6a3b1835482f27fd1f4842ad312cc25385d28");
    /* not SHA3-256, whose digest of "" is a7ffc6f8... */
    hex_of_keccak("", 0, h);
    CU_ASSERT_PTR_NULL(strstr(h, "a7ffc6f8"));
}

static void test_keccak_incremental(void) {
    /* every split of a 300-byte input into two updates gives the one-shot digest */
    uint8_t msg[300], want[32], got[32];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 7 + 3);
    nox_keccak256(msg, sizeof msg, want);
    int mismatches = 0;
    for (size_t cut = 0; cut <= sizeof msg; cut++) {
        nox_keccak256_ctx ctx;
        nox_keccak256_init(&ctx);
        nox_keccak256_update(&ctx, msg, cut);
        nox_keccak256_update(&ctx, msg + cut, sizeof msg - cut);
        nox_keccak256_final(&ctx, got);
        mismatches += memcmp(got, want, 32) != 0;
    }
    CU_ASSERT_EQUAL(mismatches, 0);
}

static void test_nats_message_id_example(void) {
    /* spec §6: "421614:0xabab…ab" -> 0x17b2b764... */
    char s[128] = "421614:0x";
    for (int i = 0; i < 32; i++) strcat(s, "ab");
    char h[67];
    hex_of_keccak(s, strlen(s), h);
    CU_ASSERT_STRING_EQUAL(h, "0x17b2b7642dccae30083fc9b112a79495ed8c29be846222fabd5b4ac58a8952d7");
}

static nox_ec_privkey key_of(uint8_t last) {
    uint8_t b[32] = {0};
    b[31] = last;
    nox_ec_privkey k;
    CU_ASSERT_EQUAL(nox_ec_key_from_bytes(&k, b, NULL), NOX_OK);
    return k;
}

static void test_keys_and_addresses(void) {
    nox_error err = {0};
    uint8_t addr[20];
    char h[67];
    /* private key 1 -> the generator's address, a well-known value */
    nox_ec_privkey one = key_of(1);
    CU_ASSERT_EQUAL(nox_ec_key_address(&one, addr, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(nox_hex_encode(addr, 20, h), "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");

    /* invalid scalars: 0, n, 2^256 - 1 */
    uint8_t zero[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    nox_ec_privkey k;
    CU_ASSERT_EQUAL(nox_ec_key_from_bytes(&k, zero, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_ec_key_from_bytes(&k, ORDER, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_ec_key_from_bytes(&k, ones, &err), NOX_ERR_INVALID);

    /* public key: compressed and uncompressed round trips, both parse to the same key */
    nox_ec_pubkey pub, p2;
    uint8_t c33[33], u65[65], c33b[33];
    CU_ASSERT_EQUAL(nox_ec_pubkey_of(&one, &pub, &err), NOX_OK);
    nox_ec_pubkey_compressed(&pub, c33);
    nox_ec_pubkey_uncompressed(&pub, u65);
    CU_ASSERT_STRING_EQUAL(nox_hex_encode(c33, 33, (char[70]){0}),
                           "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"); /* G */
    CU_ASSERT_EQUAL(u65[0], 0x04);
    CU_ASSERT_EQUAL(nox_ec_pubkey_parse(&p2, u65, 65, &err), NOX_OK);
    nox_ec_pubkey_compressed(&p2, c33b);
    CU_ASSERT_EQUAL(memcmp(c33, c33b, 33), 0);
    CU_ASSERT_EQUAL(nox_ec_pubkey_parse_compressed(&p2, u65, 65, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "compressed"));
    /* not on the curve: x = 5 has no point (5^3 + 7 = 132 is not a square mod p) */
    uint8_t bad[33] = {0x02};
    bad[32] = 5;
    CU_ASSERT_EQUAL(nox_ec_pubkey_parse(&p2, bad, 33, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not a point"));
    CU_ASSERT_EQUAL(nox_ec_pubkey_parse(&p2, c33, 32, &err), NOX_ERR_INVALID);

    /* generated keys are valid and distinct */
    nox_ec_privkey g1, g2;
    CU_ASSERT_EQUAL(nox_ec_key_generate(&g1, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_ec_key_generate(&g2, &err), NOX_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(g1.d, g2.d, 32), 0);
    nox_ec_key_wipe(&g1);
    CU_ASSERT_EQUAL(memcmp(g1.d, zero, 32), 0);
}

static void test_ecdh_x(void) {
    /* d1·(d2·G) == d2·(d1·G), and it is the raw x-coordinate: 1·P = P's x */
    nox_error err = {0};
    nox_ec_privkey a, b, one = key_of(1);
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_generate(&a, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_generate(&b, &err), NOX_OK);
    nox_ec_pubkey pa, pb;
    nox_ec_pubkey_of(&a, &pa, NULL);
    nox_ec_pubkey_of(&b, &pb, NULL);
    uint8_t x1[32], x2[32], x3[32], c33[33];
    CU_ASSERT_EQUAL(nox_ec_ecdh_x(&a, &pb, x1, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_ec_ecdh_x(&b, &pa, x2, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(x1, x2, 32), 0);
    CU_ASSERT_EQUAL(nox_ec_ecdh_x(&one, &pa, x3, &err), NOX_OK);
    nox_ec_pubkey_compressed(&pa, c33);
    CU_ASSERT_EQUAL(memcmp(x3, c33 + 1, 32), 0); /* not hashed */
}

static void test_sign_and_recover(void) {
    nox_error err = {0};
    nox_ec_privkey one = key_of(1);
    uint8_t digest[32], sig[65], addr[20], want[20];
    nox_keccak256("", 0, digest);
    CU_ASSERT_EQUAL(nox_ec_sign(&one, digest, sig, &err), NOX_OK);
    /* RFC 6979: the same signature cast produces (cast wallet sign --no-hash --private-key 0x..01 keccak("")) */
    char h[140];
    CU_ASSERT_STRING_EQUAL(nox_hex_encode(sig, 65, h),
                           "0x03925438bf9bdfed9cb8d9d9467f8fc624f389846f0db71f4f5c84b483077da62ca68cb1027ace392bc6a8"
                           "4fe0ba29288aa07942f571f56201dd33c009ee38861c");
    nox_ec_key_address(&one, want, NULL);
    CU_ASSERT_EQUAL(nox_ec_recover(digest, sig, 65, addr, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(addr, want, 20), 0);

    /* v may be 0/1 or 27/28 */
    uint8_t alt[65];
    memcpy(alt, sig, 65);
    alt[64] = (uint8_t)(sig[64] - 27);
    CU_ASSERT_EQUAL(nox_ec_recover(digest, alt, 65, addr, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(addr, want, 20), 0);
    for (unsigned v = 2; v < 256; v++) {
        if (v == 27 || v == 28) continue;
        alt[64] = (uint8_t)v;
        if (nox_ec_recover(digest, alt, 65, addr, &err) != NOX_ERR_INVALID) CU_FAIL("a bad v was accepted");
    }
    /* the other recovery id recovers another address */
    alt[64] = sig[64] == 27 ? 28 : 27;
    if (nox_ec_recover(digest, alt, 65, addr, &err) == NOX_OK) CU_ASSERT_NOT_EQUAL(memcmp(addr, want, 20), 0);

    /* high s: s' = n - s with the flipped v verifies mathematically, but is refused */
    memcpy(alt, sig, 65);
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = ORDER[i] - sig[32 + i] - borrow;
        borrow = d < 0;
        alt[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    alt[64] = sig[64] == 27 ? 28 : 27;
    CU_ASSERT_EQUAL(nox_ec_recover(digest, alt, 65, addr, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "high s"));

    /* r = 0, s >= n, wrong length */
    memcpy(alt, sig, 65);
    memset(alt, 0, 32);
    CU_ASSERT_EQUAL(nox_ec_recover(digest, alt, 65, addr, &err), NOX_ERR_INVALID);
    memcpy(alt, sig, 65);
    memcpy(alt + 32, ORDER, 32);
    CU_ASSERT_EQUAL(nox_ec_recover(digest, alt, 65, addr, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_ec_recover(digest, sig, 64, addr, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "65 bytes"));

    /* a random key signs many digests; each recovers to its address */
    nox_ec_privkey k;
    nox_ec_key_generate(&k, NULL);
    nox_ec_key_address(&k, want, NULL);
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        digest[0] = (uint8_t)i;
        digest[1] = (uint8_t)(i >> 8);
        bad += nox_ec_sign(&k, digest, sig, NULL) != NOX_OK || nox_ec_recover(digest, sig, 65, addr, NULL) != NOX_OK ||
               memcmp(addr, want, 20) != 0 || (sig[64] != 27 && sig[64] != 28) || (sig[32] & 0x80);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_key_files(void) {
    nox_error err = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/wallet.key", tmpdir);
    nox_ec_privkey k, loaded;
    nox_ec_key_generate(&k, NULL);
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_save(&k, path, &err), NOX_OK);
    struct stat sb;
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(sb.st_size, 67); /* 0x + 64 hex + newline */
    CU_ASSERT_EQUAL(nox_ec_key_load(&loaded, path, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(k.d, loaded.d, 32), 0);
    /* never overwrites */
    CU_ASSERT_EQUAL(nox_ec_key_save(&k, path, &err), NOX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "refusing to overwrite"));
    /* a group/other-readable file is refused, with the fix in the message; the key is not in it */
    chmod(path, 0640);
    CU_ASSERT_EQUAL(nox_ec_key_load(&loaded, path, &err), NOX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "mode 0640"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "chmod 600"));
    char keyhex[67];
    nox_hex_encode(k.d, 32, keyhex);
    CU_ASSERT_PTR_NULL(strstr(err.message, keyhex + 2));
    chmod(path, 0604);
    CU_ASSERT_EQUAL(nox_ec_key_load(&loaded, path, &err), NOX_ERR_IO);
    chmod(path, 0400);
    CU_ASSERT_EQUAL(nox_ec_key_load(&loaded, path, &err), NOX_OK);

    /* malformed contents: short, non-hex, out of range, empty */
    static const char *const bad[] = {"0x1234\n", "zz" "00000000000000000000000000000000000000000000000000000000000000",
                                      "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141\n", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char p[1100];
        snprintf(p, sizeof p, "%s/bad%zu.key", tmpdir, i);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
        close(fd);
        CU_ASSERT_EQUAL(nox_ec_key_load(&loaded, p, &err), NOX_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, p));
    }
    /* bare hex without 0x and with surrounding blanks is accepted */
    char p[1100];
    snprintf(p, sizeof p, "%s/bare.key", tmpdir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dprintf(fd, "  %s\n\n", keyhex + 2);
    close(fd);
    CU_ASSERT_EQUAL(nox_ec_key_load(&loaded, p, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(k.d, loaded.d, 32), 0);
    CU_ASSERT_EQUAL(nox_ec_key_load(&loaded, "/nonexistent/x.key", &err), NOX_ERR_IO);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 2;
    CU_TestInfo tests[] = {
        {"keccak256 known answers", test_keccak_known_answers},
        {"keccak256 incremental equals one-shot", test_keccak_incremental},
        {"NATS message id of spec §6", test_nats_message_id_example},
        {"keys, public keys, addresses", test_keys_and_addresses},
        {"ECDH gives the raw x-coordinate", test_ecdh_x},
        {"sign, recover, and the signature rules", test_sign_and_recover},
        {"key files: 0600, no overwrite, loose modes refused", test_key_files},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("keccak_ec", tests);
    nox_test_rmtree(tmpdir);
    return rc;
}
