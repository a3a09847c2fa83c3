/*
 * nox/tx.h: RLP known answers (the Ethereum wiki's canonical examples, the
 * length boundaries 55/56 for strings and lists), and EIP-155 legacy
 * transactions compared byte for byte with `cast mktx --legacy` (the pinned
 * cast of scripts/setup.sh), including chain ids above 255 (v of 2 and 3
 * bytes) and a contract creation.
 */
#include <stdlib.h>
#include <string.h>

#include "nox/ec.h"
#include "nox/hex.h"
#include "nox/tx.h"
#include "test_util.h"

/* anvil's first development key (its well-known mnemonic); address 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266 */
static const char *ANVIL_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
static const char *ANVIL_ADDR0 = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
static const char *LOREM = "Lorem ipsum dolor sit amet, consectetur adipisicing elit"; /* 56 bytes */

/* Compares an encoding with `0x` hex, printing both when they differ. */
static void expect_hex(const uint8_t *got, size_t len, const char *want) {
    char *text = malloc(2 * len + 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    nox_hex_encode(got, len, text);
    if (strcmp(text, want)) fprintf(stderr, "\n  got  %s\n  want %s\n", text, want);
    CU_ASSERT_STRING_EQUAL(text, want);
    free(text);
}

static void expect_rlp(nox_rlp *r, const char *want) {
    CU_ASSERT_EQUAL_FATAL(nox_rlp_finish(r, NULL), NOX_OK);
    expect_hex(r->data, r->len, want);
    nox_rlp_free(r);
}

static void put_str(nox_rlp *r, const char *s) { nox_rlp_put_bytes(r, (const uint8_t *)s, strlen(s)); }

static void test_rlp_strings(void) {
    nox_rlp r;
    nox_rlp_init(&r);
    put_str(&r, "dog");
    expect_rlp(&r, "0x83646f67");
    put_str(&r, "");
    expect_rlp(&r, "0x80");
    nox_rlp_put_bytes(&r, (const uint8_t *)"\x00", 1); /* the byte 0x00 is itself */
    expect_rlp(&r, "0x00");
    nox_rlp_put_bytes(&r, (const uint8_t *)"\x7f", 1);
    expect_rlp(&r, "0x7f");
    nox_rlp_put_bytes(&r, (const uint8_t *)"\x80", 1); /* from 0x80 on, a one-byte string has a header */
    expect_rlp(&r, "0x8180");
    /* 55 bytes: the last short form; 56: the first long form */
    char s55[56];
    memset(s55, 'a', 55);
    s55[55] = 0;
    put_str(&r, s55);
    CU_ASSERT_EQUAL(nox_rlp_finish(&r, NULL), NOX_OK);
    CU_ASSERT_EQUAL(r.len, 56);
    CU_ASSERT_EQUAL(r.data[0], 0xb7);
    nox_rlp_free(&r);
    put_str(&r, LOREM);
    CU_ASSERT_EQUAL(nox_rlp_finish(&r, NULL), NOX_OK);
    CU_ASSERT_EQUAL(r.len, 58);
    expect_hex(r.data, 2, "0xb838");
    CU_ASSERT(r.len == 58 && !memcmp(r.data + 2, LOREM, 56));
    nox_rlp_free(&r);
    /* 1024 bytes: a two-byte length */
    uint8_t big[1024];
    memset(big, 0xab, sizeof big);
    nox_rlp_put_bytes(&r, big, sizeof big);
    CU_ASSERT_EQUAL(nox_rlp_finish(&r, NULL), NOX_OK);
    CU_ASSERT_EQUAL(r.len, 1027);
    expect_hex(r.data, 3, "0xb90400");
    CU_ASSERT(r.len == 1027 && !memcmp(r.data + 3, big, sizeof big));
    nox_rlp_free(&r);
}

static void test_rlp_integers(void) {
    nox_rlp r;
    nox_rlp_init(&r);
    nox_rlp_put_uint(&r, 0);
    expect_rlp(&r, "0x80");
    nox_rlp_put_uint(&r, 15);
    expect_rlp(&r, "0x0f");
    nox_rlp_put_uint(&r, 127);
    expect_rlp(&r, "0x7f");
    nox_rlp_put_uint(&r, 128);
    expect_rlp(&r, "0x8180");
    nox_rlp_put_uint(&r, 1024);
    expect_rlp(&r, "0x820400");
    nox_rlp_put_uint(&r, UINT64_MAX);
    expect_rlp(&r, "0x88ffffffffffffffff");
    uint8_t word[32] = {0};
    nox_rlp_put_uint_be(&r, word, sizeof word); /* a zero uint256 is the empty string */
    expect_rlp(&r, "0x80");
    word[30] = 0x04;
    nox_rlp_put_uint_be(&r, word, sizeof word); /* leading zero bytes stripped */
    expect_rlp(&r, "0x820400");
    memset(word, 0xff, sizeof word);
    nox_rlp_put_uint_be(&r, word, sizeof word);
    expect_rlp(&r, "0xa0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
}

static void test_rlp_lists(void) {
    nox_rlp r;
    nox_rlp_init(&r);
    nox_rlp_wrap_list(&r, 0); /* [] */
    expect_rlp(&r, "0xc0");
    put_str(&r, "cat");
    put_str(&r, "dog");
    nox_rlp_wrap_list(&r, 0);
    expect_rlp(&r, "0xc88363617483646f67");
    /* the set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ] */
    size_t outer = r.len;
    nox_rlp_wrap_list(&r, r.len); /* [] */
    size_t m = r.len;
    nox_rlp_wrap_list(&r, r.len);
    nox_rlp_wrap_list(&r, m); /* [[]] */
    m = r.len;
    nox_rlp_wrap_list(&r, r.len);
    size_t m2 = r.len;
    nox_rlp_wrap_list(&r, r.len);
    nox_rlp_wrap_list(&r, m2);
    nox_rlp_wrap_list(&r, m); /* [ [], [[]] ] */
    nox_rlp_wrap_list(&r, outer);
    expect_rlp(&r, "0xc7c0c1c0c3c0c1c0");
    /* a list of more than 55 payload bytes: ["cat", LOREM] = 4 + 58 = 62 bytes */
    put_str(&r, "cat");
    put_str(&r, LOREM);
    nox_rlp_wrap_list(&r, 0);
    CU_ASSERT_EQUAL(nox_rlp_finish(&r, NULL), NOX_OK);
    CU_ASSERT_EQUAL(r.len, 64);
    expect_hex(r.data, 8, "0xf83e83636174b838");
    nox_rlp_free(&r);
    /* a list after a leading item: only what follows the mark is wrapped */
    put_str(&r, "dog");
    m = r.len;
    nox_rlp_put_uint(&r, 1024);
    nox_rlp_wrap_list(&r, m);
    expect_rlp(&r, "0x83646f67c3820400");
}

static nox_ec_privkey key0(void) {
    nox_ec_privkey k;
    CU_ASSERT_EQUAL_FATAL(nox_hex_decode_exact(ANVIL_KEY0, strlen(ANVIL_KEY0), k.d, sizeof k.d, NULL), NOX_OK);
    return k;
}

/* Signs tx with anvil's key 0 and compares the raw transaction with cast's, and the hash with keccak256(raw). */
static void expect_signed(const nox_tx *tx, const char *want_raw, const char *want_hash) {
    nox_ec_privkey k = key0();
    uint8_t *raw = NULL, hash[32], digest[32], addr[NOX_ADDRESS_SIZE];
    size_t len = 0;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_tx_sign_legacy(tx, &k, &raw, &len, hash, &err), NOX_OK);
    expect_hex(raw, len, want_raw);
    if (want_hash) expect_hex(hash, 32, want_hash);
    /* the signing hash is what the sender signed: a signature over it recovers to anvil's address */
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    CU_ASSERT_EQUAL(nox_tx_signing_hash(tx, digest, NULL), NOX_OK);
    CU_ASSERT_EQUAL(nox_ec_sign(&k, digest, sig, NULL), NOX_OK);
    CU_ASSERT_EQUAL(nox_ec_recover(digest, sig, sizeof sig, addr, NULL), NOX_OK);
    expect_hex(addr, sizeof addr, ANVIL_ADDR0);
    /* and the raw transaction ends with that signature's r and s (both 32 bytes in these vectors) */
    CU_ASSERT(len > 66 && !memcmp(raw + len - 65, sig, 32) && !memcmp(raw + len - 32, sig + 32, 32));
    free(raw);
    nox_ec_key_wipe(&k);
}

static void dead(nox_tx *tx) {
    tx->has_to = true;
    memset(tx->to, 0, sizeof tx->to);
    tx->to[18] = 0xde;
    tx->to[19] = 0xad;
}

/* cast mktx --legacy --private-key KEY0 --nonce 7 --gas-limit 100000 --gas-price 2000000000 --chain 31337
 *   0x000000000000000000000000000000000000dEaD 'f(uint256)' 5            (v = 62709 = 0xf4f5, two bytes) */
static void test_sign_call_31337(void) {
    uint8_t data[36] = {0xb3, 0xde, 0x64, 0x8b};
    data[35] = 5;
    nox_tx tx = {.nonce = 7, .gas_price = 2000000000, .gas_limit = 100000, .data = data, .data_len = sizeof data,
                 .chain_id = 31337};
    dead(&tx);
    expect_signed(&tx,
                  "0xf88a078477359400830186a094000000000000000000000000000000000000dead80a4b3de648b0000000000000000"
                  "00000000000000000000000000000000000000000000000582f4f5a060e6a4c2019786acfed4d2c5d5a1bf2dd1a91ceb3d"
                  "99115c8dab518d9ce332b4a032d923cfd02e6b6a9f5bff5293abef528e994898b27d79cd200af4e1a7e6f184",
                  "0xba04e3b36149785d849f1ae061b1ea5c347d0813268036ebf35da48eee3af186");
}

/* cast mktx --legacy --private-key KEY0 --nonce 0 --gas-limit 21000 --gas-price 1 --value 1000000000000000000
 *   --chain 421614 0x000000000000000000000000000000000000dEaD      (v = 843264 = 0x0cde00, three bytes; recid 1) */
static void test_sign_value_421614(void) {
    nox_tx tx = {.nonce = 0, .gas_price = 1, .gas_limit = 21000, .chain_id = 421614};
    dead(&tx);
    static const uint8_t one_eth[8] = {0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00};
    memcpy(tx.value + 24, one_eth, 8);
    expect_signed(&tx,
                  "0xf86a800182520894000000000000000000000000000000000000dead880de0b6b3a764000080830cde00a0d840eb84"
                  "adc74147b79dc566136c92d92b0124925b9ec9457ee662baf7a67807a05d702c81f4afd334813420c5677705fa6982dd3d"
                  "d9d7af934a3d19dbf4585cc4",
                  NULL);
}

/* cast mktx --legacy --private-key KEY0 --nonce 200 --gas-limit 21000 --gas-price 1000000000 --chain 1
 *   0x000000000000000000000000000000000000dEaD 0x                           (v = 38: one byte; nonce 0x81c8) */
static void test_sign_chain_1(void) {
    nox_tx tx = {.nonce = 200, .gas_price = 1000000000, .gas_limit = 21000, .chain_id = 1};
    dead(&tx);
    expect_signed(&tx,
                  "0xf86481c8843b9aca0082520894000000000000000000000000000000000000dead808026a0ab21647c28142c9757fe"
                  "afa4243262521433d68d3d8916cf766489c3b3dd6f4ca03e48b20919915de993f7f265b5fba99405acc5231f97cf7693fc"
                  "c7a4cd5467fa",
                  NULL);
}

/* cast mktx --legacy --private-key KEY0 --nonce 1 --gas-limit 60000 --gas-price 7 --chain 5 --create 0x6001600055 */
static void test_sign_create(void) {
    static const uint8_t code[] = {0x60, 0x01, 0x60, 0x00, 0x55};
    nox_tx tx = {.nonce = 1, .gas_price = 7, .gas_limit = 60000, .data = code, .data_len = sizeof code,
                 .chain_id = 5};
    expect_signed(&tx,
                  "0xf850010782ea6080808560016000552ea09556d5b640e61f58a26396a591af0d02bdf2f6306a1db785b01fa08d5903"
                  "2c1da007f6b8cecd3ad8164308e43c337d6ddb618fc8507dd8a0bfff96f7194373d50e",
                  NULL);
}

static void test_sign_rejects(void) {
    nox_ec_privkey k = key0();
    uint8_t *raw = (uint8_t *)1, hash[32];
    size_t len = 1;
    nox_error err = {0};
    nox_tx tx = {.gas_limit = 21000, .chain_id = 0};
    CU_ASSERT_EQUAL(nox_tx_sign_legacy(&tx, &k, &raw, &len, hash, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "chain id");
    CU_ASSERT_PTR_NULL(raw);
    CU_ASSERT_EQUAL(len, 0);
    tx.chain_id = UINT64_MAX / 2; /* v would overflow 64 bits */
    CU_ASSERT_EQUAL(nox_tx_sign_legacy(&tx, &k, &raw, &len, hash, &err), NOX_ERR_INVALID);
    tx.chain_id = (UINT64_MAX - 36) / 2; /* the largest accepted */
    CU_ASSERT_EQUAL(nox_tx_sign_legacy(&tx, &k, &raw, &len, hash, &err), NOX_OK);
    free(raw);
    tx.data_len = 3; /* data NULL with a length */
    CU_ASSERT_EQUAL(nox_tx_signing_hash(&tx, hash, &err), NOX_ERR_INVALID);
    nox_ec_key_wipe(&k);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"RLP strings (dog, empty, single bytes, 55/56/1024 bytes)", test_rlp_strings},
        {"RLP integers (0, 15, 1024, uint64 max, uint256)", test_rlp_integers},
        {"RLP lists (empty, [cat, dog], nested, long)", test_rlp_lists},
        {"EIP-155 call, chain 31337, matches cast mktx", test_sign_call_31337},
        {"EIP-155 value transfer, chain 421614 (3-byte v), matches cast", test_sign_value_421614},
        {"EIP-155 chain 1, matches cast", test_sign_chain_1},
        {"EIP-155 contract creation, matches cast", test_sign_create},
        {"chain id 0 and overflowing v are refused", test_sign_rejects},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("tx", tests);
}
