/*
 * Signed queue messages (nox/queue_signature.h, docs/PROTOCOL-EXTENSIONS.md §8): known answers computed
 * with cast alone, the chain-id rule, domain separation of every field, the header and signature rules
 * (unsigned, malformed, high s, v, unknown signer, mismatch), and the header-value sanitiser.
 *
 * The known answers were made without any code of this project, by cast 1.7.1 (an independent
 * implementation of keccak256 and RFC 6979 ECDSA), for the test key below:
 *
 *   word() { printf '%064x' "$1"; }; hexof() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
 *   tag=$(cast keccak nox-queue-message)
 *   pre=0x${tag:2}$(word 1)$(word CHAIN)$(cast keccak 0x$(hexof STREAM) | cut -c3-)…(SUBJECT, REASON, BODY alike)
 *   digest=$(cast keccak $pre); cast wallet sign --no-hash --private-key KEY $digest
 *
 * Both sides sign deterministically (RFC 6979), so equal signatures prove equal digests.
 */
#include <stdio.h>
#include <string.h>

#include "nox/ec.h"
#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/queue_signature.h"
#include "test_util.h"

/* a fixed test key (not a secret; the one tests/cross/eip712.sh uses) and its address */
static const char *const KEY_HEX = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
static const char *const KEY_ADDRESS = "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23";

/* secp256k1 group order n, big-endian */
static const uint8_t ORDER[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

#define TX_AB "0xabababababababababababababababababababababababababababababababab"
static const char *const BODY1 = "{\"chainId\":31337,\"caller\":\"0x1111111111111111111111111111111111111111\","
                                 "\"blockNumber\":5,\"transactionHash\":\"" TX_AB "\",\"events\":[]}";

typedef struct kat {
    uint32_t chain; /* what nox_queue_chain_id must find in the body */
    const char *stream, *subject, *reason, *body;
    const char *preimage, *digest, *signature;
} kat;

static const kat KATS[] = {
    {31337, "nox_ingestor", "nox_ingestor." TX_AB, NULL, NULL,
     "0x049e1566dec70b3dddedb72d28220050a0427573521b59252fd9599cd1399930"
     "0000000000000000000000000000000000000000000000000000000000000001"
     "0000000000000000000000000000000000000000000000000000000000007a69"
     "751d54ebd6a5adecb2b5b1228c5f29fed7d02bfb753473eac326b29c163f5e24"
     "8997eaea9824b605f2f4d17611e719d610954809dd63a7c0b51413990376e8bf"
     "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
     "93778a82c00e78433106af8ec109a34ca6591c84eae78c607eaeeb22efbf9cbb",
     "0xfb7b7bd193d492c3e901c20037902515ac5344b8f14c9d434027b8bd1453102b",
     "0xa28f02a3d8f50eb293e188a82480df5b15560bac6d97798ab9e238b69d2502b77e5e1c9bb1545453140a5d19eeb791887fca7df87bb8a5"
     "a0fa825863e05ec3911b"},
    {421614, "nox_dead", "nox_dead.0xcd", "log 0 (Add): data is 64 bytes, expected 96",
     "{\"chainId\":421614,\"reason\":\"x\"}",
     "0x049e1566dec70b3dddedb72d28220050a0427573521b59252fd9599cd1399930"
     "0000000000000000000000000000000000000000000000000000000000000001"
     "0000000000000000000000000000000000000000000000000000000000066eee"
     "2e3888018bfb449defc959fa3038c4aa1299f7a99afe2ed3a1eb1c4c2b0f8d8b"
     "8159fb1d04df81b80995ded2e72cb88db419b5f3f30cb4f89ddd609d52aa3089"
     "7eaaf1e017e5d1c525af95d8c3627de8895023639e4d5b8b9cc6a0947bbe9336"
     "7ff0aa38c9afb46ca8d0b7ce52ea21fbda0e3f369f0467cc9c7d9bdf91c500d9",
     "0x63e13ee3c78d8ee5d0bd2ef37eedb6bc7a6a59d57343bcd12267918ee5492c71",
     "0xd25949751b5b5767037ae04a475e92a5b80d6de25242fcbc67128826a75de7ec5218a0f0bdf4184acf52b19831454a3bca2f15a4ec2592"
     "fb2dff66711df250361c"},
    {0, "nox_dead", "nox_dead.x", "", "not json",
     "0x049e1566dec70b3dddedb72d28220050a0427573521b59252fd9599cd1399930"
     "0000000000000000000000000000000000000000000000000000000000000001"
     "0000000000000000000000000000000000000000000000000000000000000000"
     "2e3888018bfb449defc959fa3038c4aa1299f7a99afe2ed3a1eb1c4c2b0f8d8b"
     "79dbf016e8da7578d85f340fd7e19ab2052f74de33eeef468f84bdbbf5848ab6"
     "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
     "92b9bf828cf92bc41a274c1548fa8c792f81d05499b16058292004dcedc7f570",
     "0x45bbe8f153bc490d1b29f9b3bae752ec3601c9c257eade0c36b9a7d34da5b76e",
     "0x50f94345d16cc2840deeec3318f3ba1e5592a4a0e862f5eb8ce7cc0dfc5c00d871bcaaeced89e7ab0b5f2ed85074c8822eaa7153a19b87"
     "0196fb06989bf9abac1b"},
};

static nox_ec_privkey key;
static uint8_t key_address[NOX_ADDRESS_SIZE];
static const uint8_t other_address[NOX_ADDRESS_SIZE] = {0x7e, 0x5f, 0x45, 0x52, 0x09, 0x1a, 0x69, 0x12, 0x5d, 0x5d,
                                                        0xfc, 0xb7, 0xb8, 0xc2, 0x65, 0x90, 0x29, 0x39, 0x5b, 0xdf};

static int setup(void) {
    uint8_t d[32];
    nox_error err = {0};
    if (nox_hex_decode_exact(KEY_HEX, strlen(KEY_HEX), d, sizeof d, &err) || nox_ec_key_from_bytes(&key, d, &err) ||
        nox_ec_key_address(&key, key_address, &err))
        return 1;
    return 0;
}

static const char *body_of(const kat *k) { return k->body ? k->body : BODY1; }

static nox_queue_message message_of(const kat *k) {
    return nox_queue_message_of(k->stream, k->subject, k->reason, body_of(k), strlen(body_of(k)));
}

static void test_known_answers(void) {
    for (size_t i = 0; i < sizeof KATS / sizeof KATS[0]; i++) {
        const kat *k = &KATS[i];
        nox_queue_message m = message_of(k);
        CU_ASSERT_EQUAL(m.version, 1);
        CU_ASSERT_EQUAL(m.chain_id, k->chain);
        uint8_t pre[NOX_QUEUE_SIG_PREIMAGE_SIZE], digest[32];
        char pre_hex[2 * NOX_QUEUE_SIG_PREIMAGE_SIZE + 3], digest_hex[67];
        nox_queue_preimage(&m, pre);
        CU_ASSERT_STRING_EQUAL(nox_hex_encode(pre, sizeof pre, pre_hex), k->preimage);
        nox_queue_digest(&m, digest);
        CU_ASSERT_STRING_EQUAL(nox_hex_encode(digest, sizeof digest, digest_hex), k->digest);
        char sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1];
        nox_error err = {0};
        CU_ASSERT_EQUAL_FATAL(nox_queue_sign(&key, &m, sig, signer, &err), NOX_OK);
        CU_ASSERT_STRING_EQUAL(sig, k->signature); /* byte-identical to cast's */
        CU_ASSERT_STRING_EQUAL(signer, KEY_ADDRESS);
        uint8_t who[NOX_ADDRESS_SIZE];
        CU_ASSERT_EQUAL(nox_queue_verify(k->signature, KEY_ADDRESS, key_address, 1, k->stream, k->subject, k->reason,
                                         body_of(k), strlen(body_of(k)), who, &err),
                        NOX_QUEUE_OK);
        CU_ASSERT(memcmp(who, key_address, sizeof who) == 0);
    }
}

/* The tag is not an EIP-191/EIP-712 prefix: the preimage cannot be one of the Runner's or Gateway's other digests. */
static void test_tag(void) {
    uint8_t tag[32];
    nox_keccak256(NOX_QUEUE_SIG_TAG, strlen(NOX_QUEUE_SIG_TAG), tag);
    CU_ASSERT_NOT_EQUAL(tag[0], 0x19);
    CU_ASSERT_EQUAL(NOX_QUEUE_SIG_PREIMAGE_SIZE, 7 * 32);
}

static void test_chain_id_rule(void) {
    static const struct {
        const char *body;
        uint32_t want;
    } cases[] = {
        {"{\"chainId\":31337}", 31337},
        {"{\"a\":[1,{\"chainId\":5}],\"chainId\":1}", 1},
        {"{\"chainId\":4294967295}", 4294967295u},
        {"{\"chainId\":4294967296}", 0},            /* above uint32 */
        {"{\"chainId\":4294967297}", 0},            /* not taken modulo 2^32 */
        {"{\"chainId\":0}", 0},                     /* 0 is no chain */
        {"{\"chainId\":-1}", 0},
        {"{\"chainId\":1.0}", 0},                   /* a real, as nox_message_parse refuses it */
        {"{\"chainId\":\"31337\"}", 0},             /* a string */
        {"{\"chainId\":1,\"chainId\":2}", 0},       /* duplicate keys: refused, as nox_message_parse does */
        {"{\"inner\":{\"chainId\":7}}", 0},         /* only the top level counts */
        {"[{\"chainId\":7}]", 0},                   /* not an object */
        {"{\"chainId\":7", 0},                      /* cut short */
        {"{\"chainId\":7} trailing", 0},
        {"", 0},
        {"99999999999999999999999999", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t got = nox_queue_chain_id(cases[i].body, strlen(cases[i].body));
        if (got != cases[i].want) fprintf(stderr, "\n  %s: got %u, want %u\n", cases[i].body, got, cases[i].want);
        CU_ASSERT_EQUAL(got, cases[i].want);
    }
    CU_ASSERT_EQUAL(nox_queue_chain_id(NULL, 0), 0);
    /* an embedded NUL makes it invalid JSON, not a shorter document */
    CU_ASSERT_EQUAL(nox_queue_chain_id("{\"chainId\":5}\0x", 15), 0);
}

/* Signs m and checks that m2 (m with one field changed) does not verify as m's signer. */
static void assert_separated(const char *what, const nox_queue_message *m, const nox_queue_message *m2,
                             nox_queue_verdict want) {
    char sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1];
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_queue_sign(&key, m, sig, signer, &err), NOX_OK);
    nox_queue_auth a;
    CU_ASSERT_EQUAL_FATAL(nox_queue_check_headers(sig, signer, key_address, 1, &a, &err), NOX_QUEUE_OK);
    CU_ASSERT_EQUAL(nox_queue_check_message(&a, m, &err), NOX_QUEUE_OK);
    uint8_t d1[32], d2[32];
    nox_queue_digest(m, d1);
    nox_queue_digest(m2, d2);
    nox_queue_verdict v = nox_queue_check_message(&a, m2, &err);
    if (v != want || !memcmp(d1, d2, 32)) fprintf(stderr, "\n  %s: verdict %d, want %d\n", what, v, want);
    CU_ASSERT(memcmp(d1, d2, 32) != 0);
    CU_ASSERT_EQUAL(v, want);
    if (want == NOX_QUEUE_MISMATCH) ASSERT_CONTAINS(err.message, "differ from what was signed");
}

static void test_domain_separation(void) {
    const char *body = BODY1;
    size_t len = strlen(body);
    nox_queue_message m = nox_queue_message_of("nox_ingestor", "nox_ingestor." TX_AB, NULL, body, len), m2;

    m2 = m, m2.version = 2;
    assert_separated("version", &m, &m2, NOX_QUEUE_MALFORMED); /* refused as such before any recovery */
    m2 = m, m2.chain_id = 31338;
    assert_separated("chain id", &m, &m2, NOX_QUEUE_MISMATCH);
    m2 = m, m2.chain_id = 0;
    assert_separated("chain id 0", &m, &m2, NOX_QUEUE_MISMATCH);
    m2 = m, m2.stream = "nox_dead";
    assert_separated("stream", &m, &m2, NOX_QUEUE_MISMATCH);
    m2 = m, m2.subject = "nox_ingestor.0xcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
    assert_separated("subject", &m, &m2, NOX_QUEUE_MISMATCH);
    m2 = m, m2.reason = "planted";
    assert_separated("reason", &m, &m2, NOX_QUEUE_MISMATCH);
    char altered[512];
    memcpy(altered, body, len + 1);
    altered[len - 3] = '{'; /* one byte */
    m2 = m, m2.body = altered;
    assert_separated("body, one byte", &m, &m2, NOX_QUEUE_MISMATCH);
    m2 = m, m2.body_len = len - 1;
    assert_separated("body, cut short", &m, &m2, NOX_QUEUE_MISMATCH);
    memcpy(altered, body, len);
    altered[len] = ' ';
    m2 = m, m2.body = altered, m2.body_len = len + 1;
    assert_separated("body, one byte more (same JSON value)", &m, &m2, NOX_QUEUE_MISMATCH);

    /* the fields cannot trade bytes: each is hashed on its own */
    nox_queue_message a = nox_queue_message_of("nox_ab", "c.d", NULL, body, len);
    nox_queue_message b = nox_queue_message_of("nox_a", "bc.d", NULL, body, len);
    assert_separated("stream/subject boundary", &a, &b, NOX_QUEUE_MISMATCH);
    a = nox_queue_message_of("s", "t", "r", "", 0);
    b = nox_queue_message_of("s", "t", "", "r", 1);
    assert_separated("reason/body boundary", &a, &b, NOX_QUEUE_MISMATCH);

    /* no reason and an empty reason are the same message (documented: an absent header is hashed as "") */
    nox_queue_message n1 = nox_queue_message_of("s", "t", NULL, body, len), n2 = nox_queue_message_of("s", "t", "", body, len);
    uint8_t d1[32], d2[32];
    nox_queue_digest(&n1, d1);
    nox_queue_digest(&n2, d2);
    CU_ASSERT(memcmp(d1, d2, 32) == 0);

    /* through nox_queue_verify, which takes the chain from the body: a body of another chain differs */
    char sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1];
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_queue_sign(&key, &m, sig, signer, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_queue_verify(sig, signer, key_address, 1, "nox_ingestor", "nox_ingestor." TX_AB, NULL, body,
                                     len, NULL, &err), NOX_QUEUE_OK);
    CU_ASSERT_EQUAL(nox_queue_verify(sig, signer, key_address, 1, "nox_ingestor", "nox_ingestor." TX_AB, "x", body,
                                     len, NULL, &err), NOX_QUEUE_MISMATCH);
    CU_ASSERT_EQUAL(nox_queue_verify(sig, signer, key_address, 1, "nox_other", "nox_ingestor." TX_AB, NULL, body,
                                     len, NULL, &err), NOX_QUEUE_MISMATCH);
    memcpy(altered, body, len + 1);
    memcpy(strstr(altered, "31337"), "31338", 5);
    CU_ASSERT_EQUAL(nox_queue_verify(sig, signer, key_address, 1, "nox_ingestor", "nox_ingestor." TX_AB, NULL, altered,
                                     len, NULL, &err), NOX_QUEUE_MISMATCH);
}

/* n - s, big-endian (test arithmetic only: it builds the high-s twin of a signature). */
static void negate_s(uint8_t s[32]) {
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = ORDER[i] - s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

static void set_sig_hex(const uint8_t sig[65], char out[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1]) { nox_hex_encode(sig, 65, out); }

static void test_signature_rules(void) {
    const kat *k = &KATS[0];
    nox_queue_message m = message_of(k);
    uint8_t sig[65], bad[65];
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_hex_decode_exact(k->signature, strlen(k->signature), sig, sizeof sig, &err), NOX_OK);
    char text[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1];
    nox_queue_auth a;
#define VERIFY(sigtext, signer)                                                                                    \
    nox_queue_verify((sigtext), (signer), key_address, 1, m.stream, m.subject, m.reason, m.body, m.body_len, NULL, \
                     &err)

    /* v 0/1 are accepted like 27/28 */
    memcpy(bad, sig, 65);
    bad[64] = (uint8_t)(sig[64] - 27);
    set_sig_hex(bad, text);
    CU_ASSERT_EQUAL(VERIFY(text, KEY_ADDRESS), NOX_QUEUE_OK);
    /* any other v is malformed */
    static const uint8_t bad_v[] = {2, 26, 29, 30, 255};
    for (size_t i = 0; i < sizeof bad_v; i++) {
        bad[64] = bad_v[i];
        set_sig_hex(bad, text);
        CU_ASSERT_EQUAL(VERIFY(text, KEY_ADDRESS), NOX_QUEUE_MALFORMED);
        ASSERT_CONTAINS(err.message, "signature v is");
    }
    /* the high-s twin (s' = n - s, the other v) is a valid ECDSA signature of the same digest: refused */
    memcpy(bad, sig, 65);
    negate_s(bad + 32);
    bad[64] = sig[64] == 27 ? 28 : 27;
    set_sig_hex(bad, text);
    CU_ASSERT_EQUAL(VERIFY(text, KEY_ADDRESS), NOX_QUEUE_MALFORMED);
    ASSERT_CONTAINS(err.message, "high s");
    CU_ASSERT_EQUAL(nox_queue_check_headers(text, KEY_ADDRESS, key_address, 1, &a, &err), NOX_QUEUE_MALFORMED);
    /* r or s zero, or not below n */
    memcpy(bad, sig, 65);
    memset(bad, 0, 32);
    set_sig_hex(bad, text);
    CU_ASSERT_EQUAL(VERIFY(text, KEY_ADDRESS), NOX_QUEUE_MALFORMED);
    memcpy(bad, sig, 65);
    memset(bad + 32, 0, 32);
    set_sig_hex(bad, text);
    CU_ASSERT_EQUAL(VERIFY(text, KEY_ADDRESS), NOX_QUEUE_MALFORMED);
    memcpy(bad, sig, 65);
    memcpy(bad, ORDER, 32);
    set_sig_hex(bad, text);
    CU_ASSERT_EQUAL(VERIFY(text, KEY_ADDRESS), NOX_QUEUE_MALFORMED);

    /* any case of hex digits on input, as spec notation says */
    char upper[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], upper_signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1];
    snprintf(upper, sizeof upper, "%s", k->signature);
    snprintf(upper_signer, sizeof upper_signer, "%s", KEY_ADDRESS);
    for (char *p = upper + 2; *p; p++) *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    for (char *p = upper_signer + 2; *p; p++) *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    CU_ASSERT_EQUAL(VERIFY(upper, upper_signer), NOX_QUEUE_OK);
#undef VERIFY
}

static void test_header_rules(void) {
    const kat *k = &KATS[0];
    nox_queue_message m = message_of(k);
    nox_error err = {0};
    nox_queue_auth a;
    uint8_t two[2][NOX_ADDRESS_SIZE];
    memcpy(two[0], other_address, NOX_ADDRESS_SIZE);
    memcpy(two[1], key_address, NOX_ADDRESS_SIZE);
#define HEADERS(sig, signer, list, n) nox_queue_check_headers((sig), (signer), (list), (n), &a, &err)

    CU_ASSERT_EQUAL(HEADERS(NULL, NULL, key_address, 1), NOX_QUEUE_UNSIGNED);
    ASSERT_CONTAINS(err.message, "no Nox-Signature header");
    CU_ASSERT_EQUAL(HEADERS(NULL, KEY_ADDRESS, key_address, 1), NOX_QUEUE_UNSIGNED);
    CU_ASSERT_EQUAL(HEADERS(k->signature, NULL, key_address, 1), NOX_QUEUE_MALFORMED);
    ASSERT_CONTAINS(err.message, "no Nox-Signer header");
    char text[200];
    const char *malformed[] = {"", "0x", k->signature + 2 /* no 0x */, "0x00"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        CU_ASSERT_EQUAL(HEADERS(malformed[i], KEY_ADDRESS, key_address, 1), NOX_QUEUE_MALFORMED);
        ASSERT_CONTAINS(err.message, "Nox-Signature: ");
    }
    snprintf(text, sizeof text, "%.131s", k->signature); /* 129 digits */
    CU_ASSERT_EQUAL(HEADERS(text, KEY_ADDRESS, key_address, 1), NOX_QUEUE_MALFORMED);
    snprintf(text, sizeof text, "%s0", k->signature); /* 131 */
    CU_ASSERT_EQUAL(HEADERS(text, KEY_ADDRESS, key_address, 1), NOX_QUEUE_MALFORMED);
    snprintf(text, sizeof text, "%s", k->signature);
    text[40] = 'g';
    CU_ASSERT_EQUAL(HEADERS(text, KEY_ADDRESS, key_address, 1), NOX_QUEUE_MALFORMED);
    snprintf(text, sizeof text, " %s", k->signature); /* no whitespace tolerated */
    CU_ASSERT_EQUAL(HEADERS(text, KEY_ADDRESS, key_address, 1), NOX_QUEUE_MALFORMED);
    /* the signer's form */
    CU_ASSERT_EQUAL(HEADERS(k->signature, "0x2c7536e3605d9c16a7a3d7b1898e529396a65c", key_address, 1),
                    NOX_QUEUE_MALFORMED);
    ASSERT_CONTAINS(err.message, "Nox-Signer: ");
    CU_ASSERT_EQUAL(HEADERS(k->signature, "2c7536e3605d9c16a7a3d7b1898e529396a65c23", key_address, 1),
                    NOX_QUEUE_MALFORMED);
    /* trust: a signer not listed is unknown, whatever it signed; listed among others is fine */
    CU_ASSERT_EQUAL(HEADERS(k->signature, KEY_ADDRESS, other_address, 1), NOX_QUEUE_UNKNOWN_SIGNER);
    ASSERT_CONTAINS(err.message, "signed by 0x2c7536e3605d9c16a7a3d7b1898e529396a65c23, which is not a trusted address");
    CU_ASSERT_EQUAL(HEADERS(k->signature, KEY_ADDRESS, NULL, 0), NOX_QUEUE_UNKNOWN_SIGNER);
    CU_ASSERT_EQUAL(HEADERS(k->signature, KEY_ADDRESS, two[0], 2), NOX_QUEUE_OK);
    CU_ASSERT(memcmp(a.signer, key_address, NOX_ADDRESS_SIZE) == 0);
    /* a trusted Nox-Signer over a signature made by another key: the signature does not recover to it */
    CU_ASSERT_EQUAL(HEADERS(k->signature, "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", other_address, 1),
                    NOX_QUEUE_OK);
    CU_ASSERT_EQUAL(nox_queue_check_message(&a, &m, &err), NOX_QUEUE_MISMATCH);
    ASSERT_CONTAINS(err.message, "the signature is not 0x7e5f4552091a69125d5dfcb7b8c2659029395bdf's over this message");
    CU_ASSERT_PTR_NULL(strstr(err.message, "chainId\":")); /* never the body */
#undef HEADERS
}

static void test_sign_refusals(void) {
    nox_queue_message m = nox_queue_message_of("s", "t", NULL, "{}", 2);
    char sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1];
    nox_error err = {0};
    m.version = 2;
    CU_ASSERT_EQUAL(nox_queue_sign(&key, &m, sig, NULL, &err), NOX_ERR_INVALID);
    m.version = 1;
    m.stream = NULL;
    CU_ASSERT_EQUAL(nox_queue_sign(&key, &m, sig, NULL, &err), NOX_ERR_INVALID);
    m.stream = "s";
    CU_ASSERT_EQUAL(nox_queue_sign(&key, &m, sig, NULL, &err), NOX_OK);
    CU_ASSERT_EQUAL(strlen(sig), NOX_QUEUE_SIGNATURE_TEXT_LEN);
    /* every signature this code makes has low s (it is accepted by the strict check) and v 27/28 */
    for (int i = 0; i < 64; i++) {
        char body[32];
        snprintf(body, sizeof body, "{\"chainId\":%d}", i + 1);
        m = nox_queue_message_of("s", "t", NULL, body, strlen(body));
        uint8_t raw[65];
        CU_ASSERT_EQUAL_FATAL(nox_queue_sign(&key, &m, sig, NULL, &err), NOX_OK);
        CU_ASSERT_EQUAL_FATAL(nox_hex_decode_exact(sig, strlen(sig), raw, sizeof raw, &err), NOX_OK);
        CU_ASSERT_EQUAL(nox_ec_signature_check(raw, sizeof raw, &err), NOX_OK);
        CU_ASSERT(raw[64] == 27 || raw[64] == 28);
    }
}

static void test_header_text(void) {
    char out[16];
    CU_ASSERT_STRING_EQUAL(nox_queue_header_text("  a\r\nb\tc  ", out, sizeof out), "a??b?c");
    CU_ASSERT_STRING_EQUAL(nox_queue_header_text("0123456789abcdefXYZ", out, sizeof out), "0123456789abcde");
    CU_ASSERT_STRING_EQUAL(nox_queue_header_text("0123456789abcd  XYZ", out, sizeof out), "0123456789abcd");
    CU_ASSERT_STRING_EQUAL(nox_queue_header_text("   ", out, sizeof out), "");
    CU_ASSERT_STRING_EQUAL(nox_queue_header_text(NULL, out, sizeof out), "");
    CU_ASSERT_STRING_EQUAL(nox_queue_header_text("caf\xc3\xa9", out, sizeof out), "caf??");
}

static void test_verdict_names(void) {
    CU_ASSERT_STRING_EQUAL(nox_queue_verdict_names[NOX_QUEUE_OK], "ok");
    CU_ASSERT_STRING_EQUAL(nox_queue_verdict_names[NOX_QUEUE_UNSIGNED], "unsigned");
    CU_ASSERT_STRING_EQUAL(nox_queue_verdict_names[NOX_QUEUE_MALFORMED], "malformed");
    CU_ASSERT_STRING_EQUAL(nox_queue_verdict_names[NOX_QUEUE_UNKNOWN_SIGNER], "unknown_signer");
    CU_ASSERT_STRING_EQUAL(nox_queue_verdict_names[NOX_QUEUE_MISMATCH], "mismatch");
}

int main(void) {
    if (setup()) {
        fprintf(stderr, "cannot load the test key\n");
        return 2;
    }
    CU_TestInfo tests[] = {
        {"known answers (cast)", test_known_answers},
        {"the tag", test_tag},
        {"the chain id rule", test_chain_id_rule},
        {"domain separation of every field", test_domain_separation},
        {"signature rules: v, high s, r/s range, hex case", test_signature_rules},
        {"header rules: unsigned, malformed, unknown signer, mismatch", test_header_rules},
        {"sign: refusals, low s", test_sign_refusals},
        {"header text", test_header_text},
        {"verdict names", test_verdict_names},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("queue_signature", tests);
    nox_ec_key_wipe(&key);
    return rc;
}
