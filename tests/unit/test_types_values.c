/*
 * Unit tests of the type table (nox/types.h, the helpers of nox/plugin.h) and
 * of plaintext values (nox/value.h): byte and word encodings, text parsing
 * and formatting, canonical form, equality.
 *
 * Expected names, sizes and bounds are derived here from the rules of spec §3
 * (and GMP for decimal bounds), not from the library's own table, so a typo
 * in the table or an off-by-one in a range check shows up.
 */
#include <gmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nox/types.h"
#include "nox/value.h"
#include "test_util.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* The name spec §3 gives a code, or NULL for reserved codes. */
static const char *spec_name(unsigned code, char buf[16]) {
    if (code == 0) return "bool";
    if (code == 1) return "address";
    if (code == 2) return "bytes";
    if (code == 3) return "string";
    if (code <= 35) snprintf(buf, 16, "uint%u", (code - 3) * 8);
    else if (code <= 67) snprintf(buf, 16, "int%u", (code - 35) * 8);
    else if (code <= 99) snprintf(buf, 16, "bytes%u", code - 67);
    else if (code <= 102) snprintf(buf, 16, "uint%u", 512u << (code - 100));
    else if (code <= 105) snprintf(buf, 16, "int%u", 512u << (code - 103));
    else return NULL;
    return buf;
}

/* Plaintext size in bytes per spec §3 (0 for dynamic and reserved codes). */
static size_t spec_size(unsigned code) {
    if (code == 0) return 1;
    if (code == 1) return 20;
    if (code == 2 || code == 3) return 0;
    if (code <= 35) return code - 3;
    if (code <= 67) return code - 35;
    if (code <= 99) return code - 67;
    if (code <= 102) return (size_t)64 << (code - 100);
    if (code <= 105) return (size_t)64 << (code - 103);
    return 0;
}

static int spec_is_signed(unsigned code) { return (code >= 36 && code <= 67) || (code >= 103 && code <= 105); }
static int spec_is_integer(unsigned code) { return (code >= 4 && code <= 67) || (code >= 100 && code <= 105); }

/* Parses `text` as `type`, expecting NOX_OK. */
static int parse_ok(nox_value *v, uint8_t type, const char *text) {
    nox_error err = {0};
    nox_status st = nox_value_parse(v, type, text, &err);
    if (st != NOX_OK) printf("\n  unexpected error parsing '%s' as %s: %s\n", text, nox_type_name(type), err.message);
    return st == NOX_OK;
}

/* Parses `text` as `type`, expecting `want`; the error must have a message. */
static int parse_fails(uint8_t type, const char *text, nox_status want) {
    nox_value v;
    nox_error err = {0};
    nox_status st = nox_value_parse(&v, type, text, &err);
    if (st != want) printf("\n  parsing '%s' as %s: status %d, want %d\n", text, nox_type_name(type), st, want);
    return st == want && err.code == want && err.message[0] != '\0';
}

/* Formats v with a full-size buffer; returns a static copy ("<error>" on failure). */
static const char *fmt(const nox_value *v) {
    static char buf[NOX_VALUE_TEXT_MAX];
    nox_error err = {0};
    if (nox_value_format(v, buf, sizeof buf, &err) != NOX_OK) return "<error>";
    return buf;
}

/* Decimal text of the type's MIN and MAX, computed with GMP. */
static void bounds_text(uint8_t type, char *min, char *max) {
    unsigned bits = nox_type_bits(type);
    mpz_t z;
    mpz_init(z);
    if (spec_is_signed(type)) {
        mpz_setbit(z, bits - 1);
        mpz_neg(z, z);
        mpz_get_str(min, 10, z); /* -2^(bits-1) */
        mpz_neg(z, z);
        mpz_sub_ui(z, z, 1);
        mpz_get_str(max, 10, z); /* 2^(bits-1) - 1 */
    } else {
        strcpy(min, "0");
        mpz_setbit(z, bits);
        mpz_sub_ui(z, z, 1);
        mpz_get_str(max, 10, z); /* 2^bits - 1 */
    }
    mpz_clear(z);
}

/* text + delta, in decimal (for the just-out-of-range neighbours). */
static void add_decimal(char *out, const char *text, long delta) {
    mpz_t z;
    mpz_init_set_str(z, text, 10);
    if (delta >= 0) mpz_add_ui(z, z, (unsigned long)delta);
    else mpz_sub_ui(z, z, (unsigned long)-delta);
    mpz_get_str(out, 10, z);
    mpz_clear(z);
}

/* Every integer type code: uint8..uint256, int8..int256, uint512..int2048. */
static int next_integer_code(int code) {
    do code++;
    while (code <= NOX_TYPE_LAST && !spec_is_integer((unsigned)code));
    return code;
}

/* ------------------------------------------------------------------------ */
/* The type table                                                            */
/* ------------------------------------------------------------------------ */

/* Every defined code has exactly the name spec §3 gives it. */
static void test_type_names(void) {
    char buf[16];
    for (unsigned code = 0; code <= NOX_TYPE_LAST; code++) {
        const char *want = spec_name(code, buf);
        const char *got = nox_type_name(code);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        if (strcmp(got, want) != 0) printf("\n  code %u: name '%s', want '%s'\n", code, got, want);
        CU_ASSERT_STRING_EQUAL(got, want);
    }
    /* The codes spec §3 spells out, as literals. */
    static const struct {
        const char *name;
        unsigned code;
    } spelled[] = {{"bool", 0},    {"address", 1},  {"bytes", 2},     {"string", 3},    {"uint8", 4},
                   {"uint16", 5},  {"uint32", 7},   {"uint64", 11},   {"uint128", 19},  {"uint256", 35},
                   {"int8", 36},   {"int16", 37},   {"int32", 39},    {"int64", 43},    {"int128", 51},
                   {"int256", 67}, {"bytes1", 68},  {"bytes32", 99},  {"uint512", 100}, {"uint1024", 101},
                   {"uint2048", 102}, {"int512", 103}, {"int1024", 104}, {"int2048", 105}};
    for (size_t i = 0; i < sizeof spelled / sizeof spelled[0]; i++) {
        uint8_t code = 0xee;
        CU_ASSERT_EQUAL(nox_type_from_name(spelled[i].name, &code, NULL), NOX_OK);
        CU_ASSERT_EQUAL(code, spelled[i].code);
    }
}

/* name -> code -> name round trip for every defined code. */
static void test_type_name_round_trip(void) {
    for (unsigned code = 0; code <= NOX_TYPE_LAST; code++) {
        uint8_t back = 0xee;
        nox_error err = {0};
        CU_ASSERT_EQUAL(nox_type_from_name(nox_type_name(code), &back, &err), NOX_OK);
        CU_ASSERT_EQUAL(back, code);
        CU_ASSERT_EQUAL(nox_type_is_known(code), 1);
        CU_ASSERT_EQUAL(nox_type_check_code(code, &err), NOX_OK);
    }
}

/* Codes 106..255 are reserved: no name, unknown, not fixed, no size, rejected. */
static void test_reserved_codes(void) {
    for (unsigned code = NOX_TYPE_LAST + 1; code <= 255; code++) {
        nox_error err = {0};
        CU_ASSERT_PTR_NULL(nox_type_name(code));
        CU_ASSERT_EQUAL(nox_type_is_known(code), 0);
        CU_ASSERT_EQUAL(nox_type_is_fixed(code), 0);
        CU_ASSERT_EQUAL(nox_type_size(code), 0);
        CU_ASSERT_EQUAL(nox_type_bits(code), 0);
        CU_ASSERT_EQUAL(nox_type_limbs(code), 0);
        CU_ASSERT_EQUAL(nox_type_is_signed(code), 0);
        CU_ASSERT_EQUAL(nox_type_is_integer(code), 0);
        CU_ASSERT_EQUAL(nox_type_is_wide(code), 0);
        CU_ASSERT_EQUAL(nox_type_check_code(code, &err), NOX_ERR_TYPE);
        CU_ASSERT_EQUAL(err.code, NOX_ERR_TYPE);
        char num[8];
        snprintf(num, sizeof num, "%u", code);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, num)); /* names the code */
    }
}

/* Near-misses of real names are unknown (exact match, no case folding, no trimming). */
static void test_unknown_names(void) {
    static const char *const bad[] = {"",       "uint",    "int",      "uint0",    "uint7",    "uint12",
                                      "uint264", "int4096", "uint4096", "uint08",   "Uint8",    "UINT8",
                                      "Bool",   "bytes0",  "bytes33",  "bytes01",  " uint8",   "uint8 ",
                                      "uint8\n", "address1", "addr",   "byte",     "strings",  "uint256x",
                                      "int-8",  "u8",      "uint 8",   "uint512 ", "int2049", "bytes64"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t code = 0xee;
        nox_error err = {0};
        nox_status st = nox_type_from_name(bad[i], &code, &err);
        if (st != NOX_ERR_TYPE) printf("\n  type name '%s' accepted as code %u\n", bad[i], code);
        CU_ASSERT_EQUAL(st, NOX_ERR_TYPE);
        CU_ASSERT_EQUAL(err.code, NOX_ERR_TYPE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "unknown type"));
    }
    /* A NULL error record is allowed: only the status comes back. */
    uint8_t code;
    CU_ASSERT_EQUAL(nox_type_from_name("uint9", &code, NULL), NOX_ERR_TYPE);
}

/* Sizes, fixedness and the plugin.h helpers for every code 0..255. */
static void test_type_sizes_and_helpers(void) {
    for (unsigned code = 0; code <= 255; code++) {
        size_t size = spec_size(code);
        unsigned bits = code == 0 ? 1 : (unsigned)(8 * size); /* bool: 1 bit in 1 byte */
        CU_ASSERT_EQUAL(nox_type_size(code), size);
        CU_ASSERT_EQUAL(nox_type_is_fixed(code), size != 0);
        CU_ASSERT_EQUAL(nox_type_bits(code), bits);
        CU_ASSERT_EQUAL(nox_type_limbs(code), (bits + 63) / 64);
        CU_ASSERT_EQUAL(nox_type_is_signed(code), spec_is_signed(code));
        CU_ASSERT_EQUAL(nox_type_is_integer(code), spec_is_integer(code));
        CU_ASSERT_EQUAL(nox_type_is_wide(code), code >= 100 && code <= 105);
    }
    /* Literal spot checks of the table above. */
    CU_ASSERT_EQUAL(nox_type_size(NOX_TYPE_BOOL), 1);
    CU_ASSERT_EQUAL(nox_type_size(NOX_TYPE_ADDRESS), 20);
    CU_ASSERT_EQUAL(nox_type_bits(NOX_TYPE_ADDRESS), 160);
    CU_ASSERT_EQUAL(nox_type_limbs(NOX_TYPE_ADDRESS), 3);
    CU_ASSERT_EQUAL(nox_type_size(NOX_TYPE_BYTES), 0);
    CU_ASSERT_EQUAL(nox_type_size(NOX_TYPE_STRING), 0);
    CU_ASSERT_EQUAL(nox_type_size(NOX_TYPE_UINT8), 1);
    CU_ASSERT_EQUAL(nox_type_size(NOX_TYPE_INT256), 32);
    CU_ASSERT_EQUAL(nox_type_size(NOX_TYPE_BYTES32), 32);
    CU_ASSERT_EQUAL(nox_type_size(NOX_TYPE_UINT2048), 256);
    CU_ASSERT_EQUAL(nox_type_limbs(NOX_TYPE_INT2048), 32);
    CU_ASSERT_EQUAL(nox_type_limbs(12), 2); /* uint72: a partial second limb */
    CU_ASSERT_EQUAL(nox_type_bits(NOX_TYPE_BYTES1), 8);
    CU_ASSERT_EQUAL(nox_type_is_integer(NOX_TYPE_BOOL), 0);
    CU_ASSERT_EQUAL(nox_type_is_integer(NOX_TYPE_ADDRESS), 0);
    CU_ASSERT_EQUAL(nox_type_is_integer(NOX_TYPE_BYTES32), 0);
}

/* ------------------------------------------------------------------------ */
/* Plaintext bytes                                                           */
/* ------------------------------------------------------------------------ */

/* Big-endian, two's complement, right into the low limbs. */
static void test_from_bytes_layout(void) {
    nox_value v;
    nox_error err = {0};
    const uint8_t be16[] = {0x12, 0x34};
    CU_ASSERT_EQUAL_FATAL(nox_value_from_bytes(&v, NOX_TYPE_UINT16, be16, 2, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.type, NOX_TYPE_UINT16);
    CU_ASSERT_EQUAL(v.limb[0], 0x1234);
    CU_ASSERT_EQUAL(v.limb[1], 0);

    const uint8_t minus_one[] = {0xff};
    CU_ASSERT_EQUAL_FATAL(nox_value_from_bytes(&v, NOX_TYPE_INT8, minus_one, 1, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[0], 0xff); /* canonical: not sign-extended */
    CU_ASSERT_STRING_EQUAL(fmt(&v), "-1");

    uint8_t b32[32];
    for (int i = 0; i < 32; i++) b32[i] = (uint8_t)(i + 1); /* 0x01 .. 0x20 */
    CU_ASSERT_EQUAL_FATAL(nox_value_from_bytes(&v, NOX_TYPE_UINT256, b32, 32, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[3], UINT64_C(0x0102030405060708));
    CU_ASSERT_EQUAL(v.limb[2], UINT64_C(0x090a0b0c0d0e0f10));
    CU_ASSERT_EQUAL(v.limb[1], UINT64_C(0x1112131415161718));
    CU_ASSERT_EQUAL(v.limb[0], UINT64_C(0x191a1b1c1d1e1f20));

    /* address: 20 bytes as a right-aligned big-endian number */
    CU_ASSERT_EQUAL_FATAL(nox_value_from_bytes(&v, NOX_TYPE_ADDRESS, b32, 20, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[2], UINT64_C(0x01020304));
    CU_ASSERT_EQUAL(v.limb[1], UINT64_C(0x05060708090a0b0c));
    CU_ASSERT_EQUAL(v.limb[0], UINT64_C(0x0d0e0f1011121314));

    /* uint2048: the first byte lands in the top byte of limb 31 */
    uint8_t big[256] = {0};
    big[0] = 0x80;
    big[255] = 0x01;
    CU_ASSERT_EQUAL_FATAL(nox_value_from_bytes(&v, NOX_TYPE_UINT2048, big, 256, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[31], UINT64_C(1) << 63);
    CU_ASSERT_EQUAL(v.limb[0], 1);

    const uint8_t t[] = {0x01}, f[] = {0x00};
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_BOOL, t, 1, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[0], 1);
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_BOOL, f, 1, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[0], 0);
}

/* For every fixed-size type: from_bytes then to_bytes gives the same bytes, canonically. */
static void test_bytes_round_trip_every_type(void) {
    uint64_t seed = UINT64_C(0x1234567887654321);
    for (unsigned code = 0; code <= NOX_TYPE_LAST; code++) {
        if (!nox_type_is_fixed(code)) continue;
        size_t size = spec_size(code);
        uint8_t in[256], out[256 + 8];
        for (size_t i = 0; i < size; i++) {
            seed = seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
            in[i] = (uint8_t)(seed >> 56);
        }
        if (code == NOX_TYPE_BOOL) in[0] &= 1;
        nox_value v;
        nox_error err = {0};
        size_t len = 0;
        CU_ASSERT_EQUAL_FATAL(nox_value_from_bytes(&v, (uint8_t)code, in, size, &err), NOX_OK);
        CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 1);
        memset(out, 0xcc, sizeof out);
        CU_ASSERT_EQUAL_FATAL(nox_value_to_bytes(&v, out, sizeof out, &len, &err), NOX_OK);
        CU_ASSERT_EQUAL(len, size);
        CU_ASSERT_EQUAL(memcmp(in, out, size), 0);
        CU_ASSERT_EQUAL(out[size], 0xcc); /* nothing written past the size */
    }
}

static void test_bytes_rejected(void) {
    uint8_t buf[300] = {0};
    nox_value v;
    nox_error err = {0};
    /* wrong sizes: one short, one long, empty */
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_UINT256, buf, 31, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "32"));
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_UINT256, buf, 33, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_UINT8, buf, 0, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_ADDRESS, buf, 32, &err), NOX_ERR_INVALID); /* a word is not an address */
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_BOOL, buf, 2, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_UINT2048, buf, 255, &err), NOX_ERR_INVALID);
    /* bool must be exactly 0x00 or 0x01 */
    const uint8_t two[] = {0x02}, ff[] = {0xff}, x80[] = {0x80};
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_BOOL, two, 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_BOOL, ff, 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_BOOL, x80, 1, &err), NOX_ERR_INVALID);
    /* dynamic and reserved types have no nox_value form */
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_BYTES, buf, 4, &err), NOX_ERR_TYPE);
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_STRING, buf, 4, &err), NOX_ERR_TYPE);
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, 106, buf, 1, &err), NOX_ERR_TYPE);
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, 255, buf, 1, &err), NOX_ERR_TYPE);

    /* to_bytes: a buffer one byte short; a value of a dynamic type */
    size_t len = 0;
    nox_value_zero(&v, NOX_TYPE_UINT64);
    CU_ASSERT_EQUAL(nox_value_to_bytes(&v, buf, 7, &len, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_value_to_bytes(&v, buf, 8, &len, &err), NOX_OK);
    CU_ASSERT_EQUAL(len, 8);
    nox_value_zero(&v, NOX_TYPE_STRING);
    CU_ASSERT_EQUAL(nox_value_to_bytes(&v, buf, sizeof buf, &len, &err), NOX_ERR_TYPE);
}

/* ------------------------------------------------------------------------ */
/* On-chain words                                                            */
/* ------------------------------------------------------------------------ */

static void test_words(void) {
    nox_value v;
    nox_error err = {0};
    uint8_t word[32], want[32];

    /* int16 -1 is 0x…0000ffff: right-aligned, zero above, not sign-extended */
    CU_ASSERT_TRUE_FATAL(parse_ok(&v, NOX_TYPE_INT16, "-1"));
    memset(word, 0xcc, sizeof word);
    CU_ASSERT_EQUAL_FATAL(nox_value_to_word(&v, word, &err), NOX_OK);
    memset(want, 0, sizeof want);
    want[30] = want[31] = 0xff;
    CU_ASSERT_EQUAL(memcmp(word, want, 32), 0);

    /* decoding ignores the bytes above the type size */
    memset(word, 0xaa, sizeof word);
    word[30] = 0xff, word[31] = 0xff;
    CU_ASSERT_EQUAL_FATAL(nox_value_from_word(&v, NOX_TYPE_INT16, word, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(fmt(&v), "-1");
    CU_ASSERT_EQUAL(v.limb[0], 0xffff);
    word[30] = 0x00, word[31] = 0x05;
    CU_ASSERT_EQUAL_FATAL(nox_value_from_word(&v, NOX_TYPE_UINT16, word, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[0], 5);
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 1);

    /* address: the low 20 bytes */
    for (int i = 0; i < 32; i++) word[i] = (uint8_t)i;
    CU_ASSERT_EQUAL_FATAL(nox_value_from_word(&v, NOX_TYPE_ADDRESS, word, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(fmt(&v), "0x0c0d0e0f101112131415161718191a1b1c1d1e1f");
    CU_ASSERT_EQUAL_FATAL(nox_value_to_word(&v, want, &err), NOX_OK);
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(want[i], 0);
    CU_ASSERT_EQUAL(memcmp(want + 12, word + 12, 20), 0);

    /* uint256 and bytes32 use the whole word */
    CU_ASSERT_EQUAL_FATAL(nox_value_from_word(&v, NOX_TYPE_BYTES32, word, &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_value_to_word(&v, want, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(want, word, 32), 0);
    CU_ASSERT_EQUAL_FATAL(nox_value_from_word(&v, NOX_TYPE_UINT256, word, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[3], UINT64_C(0x0001020304050607));

    /* bool: true when any byte is non-zero, even only the first */
    memset(word, 0, sizeof word);
    CU_ASSERT_EQUAL(nox_value_from_word(&v, NOX_TYPE_BOOL, word, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[0], 0);
    word[0] = 0x80;
    CU_ASSERT_EQUAL(nox_value_from_word(&v, NOX_TYPE_BOOL, word, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[0], 1);
    memset(word, 0, sizeof word);
    word[31] = 0x02; /* canonicalised to 1, not 2 */
    CU_ASSERT_EQUAL(nox_value_from_word(&v, NOX_TYPE_BOOL, word, &err), NOX_OK);
    CU_ASSERT_EQUAL(v.limb[0], 1);
    CU_ASSERT_EQUAL_FATAL(nox_value_to_word(&v, want, &err), NOX_OK);
    memset(word, 0, sizeof word);
    word[31] = 0x01;
    CU_ASSERT_EQUAL(memcmp(want, word, 32), 0);

    /* types over 32 bytes have no word form, dynamic types none either */
    CU_ASSERT_EQUAL(nox_value_from_word(&v, NOX_TYPE_UINT512, word, &err), NOX_ERR_TYPE);
    CU_ASSERT_EQUAL(nox_value_from_word(&v, NOX_TYPE_INT2048, word, &err), NOX_ERR_TYPE);
    CU_ASSERT_EQUAL(nox_value_from_word(&v, NOX_TYPE_BYTES, word, &err), NOX_ERR_TYPE);
    CU_ASSERT_EQUAL(nox_value_from_word(&v, 200, word, &err), NOX_ERR_TYPE);
    nox_value_zero(&v, NOX_TYPE_UINT1024);
    CU_ASSERT_EQUAL(nox_value_to_word(&v, word, &err), NOX_ERR_TYPE);
}

/* ------------------------------------------------------------------------ */
/* Text                                                                      */
/* ------------------------------------------------------------------------ */

/* MIN and MAX of every integer width parse and format back identically, in
 * decimal; MIN-1 and MAX+1 are rejected. */
static void test_decimal_bounds_every_width(void) {
    char min[NOX_VALUE_TEXT_MAX], max[NOX_VALUE_TEXT_MAX], out[NOX_VALUE_TEXT_MAX];
    for (int code = next_integer_code(-1); code <= NOX_TYPE_LAST; code = next_integer_code(code)) {
        uint8_t t = (uint8_t)code;
        nox_value v;
        bounds_text(t, min, max);

        CU_ASSERT_TRUE(parse_ok(&v, t, max));
        CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 1);
        CU_ASSERT_STRING_EQUAL(fmt(&v), max);
        CU_ASSERT_TRUE(parse_ok(&v, t, min));
        CU_ASSERT_STRING_EQUAL(fmt(&v), min);
        CU_ASSERT_TRUE(parse_ok(&v, t, "0"));
        CU_ASSERT_STRING_EQUAL(fmt(&v), "0");

        add_decimal(out, max, 1);
        CU_ASSERT_TRUE(parse_fails(t, out, NOX_ERR_INVALID)); /* MAX + 1 */
        add_decimal(out, min, -1);
        CU_ASSERT_TRUE(parse_fails(t, out, NOX_ERR_INVALID)); /* MIN - 1 ("-1" for unsigned) */
        add_decimal(out, max, -1);
        CU_ASSERT_TRUE(parse_ok(&v, t, out)); /* MAX - 1 */
        CU_ASSERT_STRING_EQUAL(fmt(&v), out);
        add_decimal(out, min, 1);
        CU_ASSERT_TRUE(parse_ok(&v, t, out)); /* MIN + 1 */
        CU_ASSERT_STRING_EQUAL(fmt(&v), out);
    }
}

/* The boundaries named in the brief, as literals, so a shared GMP misreading cannot hide them. */
static void test_decimal_literal_boundaries(void) {
    nox_value v;
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT8, "255"));
    CU_ASSERT_EQUAL(v.limb[0], 255);
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT8, "256", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT8, "127"));
    CU_ASSERT_EQUAL(v.limb[0], 0x7f);
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_INT8, "128", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT8, "-128"));
    CU_ASSERT_EQUAL(v.limb[0], 0x80);
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_INT8, "-129", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT8, "-1"));
    CU_ASSERT_EQUAL(v.limb[0], 0xff);
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT8, "007")); /* leading zeros are fine */
    CU_ASSERT_EQUAL(v.limb[0], 7);
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT8, "-0"));
    CU_ASSERT_EQUAL(v.limb[0], 0);

    /* 2^256 - 1 accepted, 2^256 rejected */
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT256,
                            "115792089237316195423570985008687907853269984665640564039457584007913129639935"));
    CU_ASSERT(v.limb[0] == ~UINT64_C(0) && v.limb[3] == ~UINT64_C(0));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT256,
                               "115792089237316195423570985008687907853269984665640564039457584007913129639936",
                               NOX_ERR_INVALID));
    /* -2^255 accepted, -2^255 - 1 rejected */
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT256,
                            "-57896044618658097711785492504343953926634992332820282019728792003956564819968"));
    CU_ASSERT(v.limb[0] == 0 && v.limb[3] == UINT64_C(1) << 63);
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_INT256,
                               "-57896044618658097711785492504343953926634992332820282019728792003956564819969",
                               NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_INT256,
                               "57896044618658097711785492504343953926634992332820282019728792003956564819968",
                               NOX_ERR_INVALID));
    /* a huge number of digits is rejected cleanly, not slowly or with a crash */
    char huge[1200];
    memset(huge, '9', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT2048, huge, NOX_ERR_INVALID));
}

/* '-' only for signed types; no sign, space, or other decoration anywhere. */
static void test_decimal_malformed(void) {
    static const char *const bad[] = {"", "+1", " 1", "1 ", "0x", "0xg", "--1", "-", "1.5", "1e3", "1_000",
                                      "0b1", "-0x1", "- 1", "1-", "\t1", "one", "0x 1", "0x1 ", "٣"};
    static const uint8_t types[] = {NOX_TYPE_UINT8, NOX_TYPE_INT8, NOX_TYPE_UINT256, NOX_TYPE_INT256,
                                    NOX_TYPE_INT2048};
    for (size_t t = 0; t < sizeof types; t++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CU_ASSERT_TRUE(parse_fails(types[t], bad[i], NOX_ERR_INVALID));
    /* negative values for unsigned types, even -0 */
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT8, "-1", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT256, "-0", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT2048, "-5", NOX_ERR_INVALID));
    /* a reserved or dynamic type is a type error, not a value error */
    CU_ASSERT_TRUE(parse_fails(106, "1", NOX_ERR_TYPE));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_STRING, "1", NOX_ERR_TYPE));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_BYTES, "0x01", NOX_ERR_TYPE));
}

/* 0x hex is the raw bit pattern of the type width: int8 0xff is -1. */
static void test_hex_bit_patterns(void) {
    nox_value v;
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT8, "0xff"));
    CU_ASSERT_STRING_EQUAL(fmt(&v), "-1");
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT8, "0x80"));
    CU_ASSERT_STRING_EQUAL(fmt(&v), "-128");
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT8, "0x7F"));
    CU_ASSERT_STRING_EQUAL(fmt(&v), "127");
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT16, "0xFFfe")); /* any case */
    CU_ASSERT_STRING_EQUAL(fmt(&v), "-2");
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT8, "0x0000000000ff")); /* leading zeros do not widen */
    CU_ASSERT_STRING_EQUAL(fmt(&v), "255");
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT8, "0x0"));
    CU_ASSERT_STRING_EQUAL(fmt(&v), "0");
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT64, "0x1"));
    CU_ASSERT_STRING_EQUAL(fmt(&v), "1");
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT8, "0x100", NOX_ERR_INVALID));  /* 9 bits */
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_INT8, "0x1ff", NOX_ERR_INVALID));   /* not a sign extension */
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_INT8, "0xffff", NOX_ERR_INVALID));  /* nor this */
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT8, "0x", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT8, "0xg", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT8, "0x1g", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT8, "0xg1", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT8, "0x-1", NOX_ERR_INVALID));

    /* full widths: 64 f's is uint256 MAX and int256 -1; one more digit is too wide */
    char hex[2 + 512 + 2];
    strcpy(hex, "0x");
    memset(hex + 2, 'f', 64);
    hex[66] = '\0';
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT256, hex));
    CU_ASSERT(v.limb[0] == ~UINT64_C(0) && v.limb[3] == ~UINT64_C(0));
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT256, hex));
    CU_ASSERT_STRING_EQUAL(fmt(&v), "-1");
    hex[2] = '1'; /* 0x1 + 64 f's: 257 bits */
    hex[66] = 'f', hex[67] = '\0';
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT256, hex, NOX_ERR_INVALID));
    /* uint2048: 512 digits fit, 513 with a non-zero top do not, 513 with a zero top do */
    memset(hex + 2, 'f', 512);
    hex[514] = '\0';
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT2048, hex));
    CU_ASSERT(v.limb[31] == ~UINT64_C(0) && v.limb[0] == ~UINT64_C(0));
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT2048, hex));
    CU_ASSERT_STRING_EQUAL(fmt(&v), "-1");
    memmove(hex + 3, hex + 2, 513);
    hex[2] = '1';
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_UINT2048, hex, NOX_ERR_INVALID));
    hex[2] = '0';
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT2048, hex));
}

/* Positions in parse errors are 1-based character positions, never the text. */
static void test_parse_error_positions(void) {
    nox_value v;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_value_parse(&v, NOX_TYPE_UINT8, "12x4", &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "position 3"));
    CU_ASSERT_EQUAL(nox_value_parse(&v, NOX_TYPE_UINT8, "0xg0", &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "position 3"));
    CU_ASSERT_EQUAL(nox_value_parse(&v, NOX_TYPE_INT8, "-1z", &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "position 3"));
}

/* bool: exactly true, false, 0, 1, 0x0, 0x1, 0x00, 0x01. */
static void test_bool_text(void) {
    static const struct {
        const char *text;
        uint64_t value;
    } ok[] = {{"true", 1}, {"false", 0}, {"1", 1}, {"0", 0}, {"0x1", 1}, {"0x0", 0}, {"0x01", 1}, {"0x00", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        nox_value v;
        memset(&v, 0xcc, sizeof v);
        CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_BOOL, ok[i].text));
        CU_ASSERT_EQUAL(v.type, NOX_TYPE_BOOL);
        CU_ASSERT_EQUAL(v.limb[0], ok[i].value);
        CU_ASSERT_STRING_EQUAL(fmt(&v), ok[i].value ? "true" : "false");
    }
    static const char *const bad[] = {"",   "True", "TRUE", "False", "yes", "no",  "on",  "2",   "-1",
                                      "00", "01",   "10",   "0x",    "0x2", "0xg", "0x10", " true", "true ",
                                      "t",  "f",    "+1",   "-0",    "truee"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_TRUE(parse_fails(NOX_TYPE_BOOL, bad[i], NOX_ERR_INVALID));
}

/* The documented bool spellings are a closed list: longer zero-padded hex
 * (0x000, 0x001, 0x0000…01) is not among them. */
static void test_bool_text_no_long_hex(void) {
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_BOOL, "0x000", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_BOOL, "0x001", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_BOOL, "0x0000000000000001", NOX_ERR_INVALID));
}

/* address: 0x + exactly 40 hex digits; bytesN: 0x + exactly 2N. Formatted lowercase. */
static void test_address_and_fixed_bytes_text(void) {
    nox_value v;
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_ADDRESS, "0xd464B198f06756a1d00be223634b85E0a731c229"));
    CU_ASSERT_STRING_EQUAL(fmt(&v), "0xd464b198f06756a1d00be223634b85e0a731c229");
    CU_ASSERT_EQUAL(v.limb[0], UINT64_C(0x634b85e0a731c229));
    CU_ASSERT_EQUAL(v.limb[2], UINT64_C(0xd464b198));
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_ADDRESS, "0x0000000000000000000000000000000000000000"));
    CU_ASSERT_STRING_EQUAL(fmt(&v), "0x0000000000000000000000000000000000000000");
    /* 39 and 41 digits, no prefix, decimal, bad digit */
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_ADDRESS, "0xd464b198f06756a1d00be223634b85e0a731c22", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_ADDRESS, "0xd464b198f06756a1d00be223634b85e0a731c2290", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_ADDRESS, "d464b198f06756a1d00be223634b85e0a731c229", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_ADDRESS, "0xz464b198f06756a1d00be223634b85e0a731c229", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_ADDRESS, "12345", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_ADDRESS, "0x1", NOX_ERR_INVALID)); /* no short form */
    CU_ASSERT_TRUE(parse_fails(NOX_TYPE_ADDRESS, "", NOX_ERR_INVALID));

    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_BYTES1, "0xAB"));
    CU_ASSERT_EQUAL(v.limb[0], 0xab);
    CU_ASSERT_STRING_EQUAL(fmt(&v), "0xab");
    CU_ASSERT_TRUE(parse_ok(&v, 71 /* bytes4 */, "0x12345678"));
    CU_ASSERT_EQUAL(v.limb[0], 0x12345678);
    CU_ASSERT_STRING_EQUAL(fmt(&v), "0x12345678");
    CU_ASSERT_TRUE(parse_ok(&v, 71, "0x00000001")); /* leading zero bytes are part of the value */
    CU_ASSERT_STRING_EQUAL(fmt(&v), "0x00000001");
    CU_ASSERT_TRUE(parse_fails(71, "0x123456", NOX_ERR_INVALID));     /* 3 bytes */
    CU_ASSERT_TRUE(parse_fails(71, "0x1234567890", NOX_ERR_INVALID)); /* 5 bytes */
    CU_ASSERT_TRUE(parse_fails(71, "0x1", NOX_ERR_INVALID));
    CU_ASSERT_TRUE(parse_fails(71, "305419896", NOX_ERR_INVALID)); /* decimal is not a bytesN */
    char b32[67] = "0x";
    for (int i = 0; i < 32; i++) snprintf(b32 + 2 + 2 * i, 3, "%02x", 0xe0 + (i & 15));
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_BYTES32, b32));
    CU_ASSERT_STRING_EQUAL(fmt(&v), b32);
}

/* Formatting: decimal for integers, true/false, a too-small buffer is an error. */
static void test_format(void) {
    nox_value v;
    nox_error err = {0};
    char buf[NOX_VALUE_TEXT_MAX];

    /* int2048 MIN is the longest text (618 characters) and fits NOX_VALUE_TEXT_MAX */
    char min[NOX_VALUE_TEXT_MAX], max[NOX_VALUE_TEXT_MAX];
    bounds_text(NOX_TYPE_INT2048, min, max);
    CU_ASSERT_EQUAL(strlen(min), 618);
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT2048, min));
    CU_ASSERT_EQUAL(nox_value_format(&v, buf, sizeof buf, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(buf, min);
    CU_ASSERT_EQUAL(nox_value_format(&v, buf, 100, &err), NOX_ERR_INVALID);

    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT8, "255"));
    CU_ASSERT_EQUAL(nox_value_format(&v, buf, 2, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_value_format(&v, buf, 8, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(buf, "255");

    nox_value_zero(&v, NOX_TYPE_BOOL);
    CU_ASSERT_STRING_EQUAL(fmt(&v), "false");
    v.limb[0] = 1;
    CU_ASSERT_STRING_EQUAL(fmt(&v), "true");
    CU_ASSERT_EQUAL(nox_value_format(&v, buf, 3, &err), NOX_ERR_INVALID);

    /* format_hex is the plaintext encoding: type-sized, big-endian, lowercase */
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_INT8, "-1"));
    CU_ASSERT_EQUAL(nox_value_format_hex(&v, buf, sizeof buf, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(buf, "0xff");
    CU_ASSERT_TRUE(parse_ok(&v, NOX_TYPE_UINT16, "1"));
    CU_ASSERT_EQUAL(nox_value_format_hex(&v, buf, sizeof buf, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(buf, "0x0001");
    CU_ASSERT_EQUAL(nox_value_format_hex(&v, buf, 6, &err), NOX_ERR_INVALID); /* needs 7 */
    CU_ASSERT_EQUAL(nox_value_format_hex(&v, buf, 7, &err), NOX_OK);
    nox_value_zero(&v, NOX_TYPE_BOOL);
    v.limb[0] = 1;
    CU_ASSERT_EQUAL(nox_value_format_hex(&v, buf, sizeof buf, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(buf, "0x01");

    nox_value_zero(&v, NOX_TYPE_BYTES);
    CU_ASSERT_EQUAL(nox_value_format(&v, buf, sizeof buf, &err), NOX_ERR_TYPE);
}

/* Random values of every integer width survive decimal text, hex text and bytes. */
static void test_random_round_trips(void) {
    gmp_randstate_t rs;
    gmp_randinit_default(rs);
    gmp_randseed_ui(rs, 20240611UL); /* fixed seed: deterministic */
    mpz_t z, m;
    mpz_inits(z, m, NULL);
    char text[NOX_VALUE_TEXT_MAX], hex[2 * 256 + 3];
    unsigned bad = 0;
    for (int code = next_integer_code(-1); code <= NOX_TYPE_LAST; code = next_integer_code(code)) {
        uint8_t t = (uint8_t)code;
        unsigned bits = nox_type_bits(t);
        for (int k = 0; k < 40; k++) {
            mpz_urandomb(z, rs, bits - (unsigned)(k % (int)bits)); /* various magnitudes */
            if (spec_is_signed(t)) {
                mpz_fdiv_r_2exp(z, z, bits - 1);
                if (k & 1) mpz_neg(z, z);
            }
            mpz_get_str(text, 10, z);
            nox_value v, w;
            if (!parse_ok(&v, t, text) || strcmp(fmt(&v), text) != 0) {
                printf("\n  decimal round trip failed for %s %s\n", nox_type_name(t), text);
                bad++;
                continue;
            }
            /* hex: 0x + the two's complement pattern, compared with GMP's */
            mpz_fdiv_r_2exp(m, z, bits);
            strcpy(hex, "0x");
            mpz_get_str(hex + 2, 16, m);
            if (!parse_ok(&w, t, hex) || !nox_value_equal(&v, &w)) {
                printf("\n  hex %s does not give %s %s\n", hex, nox_type_name(t), text);
                bad++;
            }
            /* bytes: the same pattern big-endian, exactly bits/8 bytes */
            uint8_t tmp[256], want[256] = {0}, got[256];
            size_t count = 0, len = 0, size = bits / 8;
            mpz_export(tmp, &count, 1, 1, 1, 0, m); /* count significant bytes, none for 0 */
            memcpy(want + size - count, tmp, count); /* right-aligned in the type size */
            nox_error err = {0};
            if (nox_value_to_bytes(&v, got, sizeof got, &len, &err) != NOX_OK || len != size ||
                memcmp(got, want, size) != 0) {
                printf("\n  bytes of %s %s differ from GMP's\n", nox_type_name(t), text);
                bad++;
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    mpz_clears(z, m, NULL);
    gmp_randclear(rs);
}

/* ------------------------------------------------------------------------ */
/* Canonical form and equality                                               */
/* ------------------------------------------------------------------------ */

static void test_canonical(void) {
    nox_value v;
    nox_value_zero(&v, NOX_TYPE_UINT8);
    v.limb[0] = 0xff;
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 1);
    v.limb[0] = 0x100; /* bit 8 set */
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 0);
    nox_value_zero(&v, NOX_TYPE_INT8);
    v.limb[0] = ~UINT64_C(0); /* -1 sign-extended is not canonical */
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 0);
    nox_value_zero(&v, NOX_TYPE_BOOL);
    v.limb[0] = 1;
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 1);
    v.limb[0] = 2;
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 0);
    nox_value_zero(&v, NOX_TYPE_ADDRESS);
    v.limb[2] = UINT64_C(0xffffffff);
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 1);
    v.limb[2] = UINT64_C(0x100000000); /* bit 160 */
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 0);
    nox_value_zero(&v, 12); /* uint72 */
    v.limb[1] = 0xff;
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 1);
    v.limb[1] = 0x100;
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 0);
    nox_value_zero(&v, NOX_TYPE_UINT2048);
    v.limb[31] = ~UINT64_C(0); /* full width: every pattern is canonical */
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 1);
    /* dynamic and reserved types are never canonical nox_values */
    nox_value_zero(&v, NOX_TYPE_STRING);
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 0);
    nox_value_zero(&v, 150);
    CU_ASSERT_EQUAL(nox_value_is_canonical(&v), 0);
}

static void test_equal(void) {
    nox_value a, b;
    CU_ASSERT_TRUE(parse_ok(&a, NOX_TYPE_UINT8, "5"));
    CU_ASSERT_TRUE(parse_ok(&b, NOX_TYPE_UINT8, "0x05"));
    CU_ASSERT_EQUAL(nox_value_equal(&a, &b), 1);
    CU_ASSERT_TRUE(parse_ok(&b, NOX_TYPE_UINT8, "6"));
    CU_ASSERT_EQUAL(nox_value_equal(&a, &b), 0);
    CU_ASSERT_TRUE(parse_ok(&b, NOX_TYPE_INT8, "5")); /* same bits, other type */
    CU_ASSERT_EQUAL(nox_value_equal(&a, &b), 0);
    /* limbs past the type's are not meaningful and not compared */
    CU_ASSERT_TRUE(parse_ok(&b, NOX_TYPE_UINT8, "5"));
    b.limb[1] = 0xdead;
    b.limb[31] = 1;
    CU_ASSERT_EQUAL(nox_value_equal(&a, &b), 1);
    /* a difference in the top limb of a wide type is seen */
    CU_ASSERT_TRUE(parse_ok(&a, NOX_TYPE_UINT2048, "1"));
    CU_ASSERT_TRUE(parse_ok(&b, NOX_TYPE_UINT2048, "1"));
    CU_ASSERT_EQUAL(nox_value_equal(&a, &b), 1);
    b.limb[31] = 1;
    CU_ASSERT_EQUAL(nox_value_equal(&a, &b), 0);
}

/* Values may be secret: no rejected value's text may appear in the message. */
static void test_errors_do_not_quote_values(void) {
    static const struct {
        uint8_t type;
        const char *text;
        const char *secret; /* a piece of the text that must not be echoed */
    } cases[] = {
        {NOX_TYPE_UINT64, "123456789123456789123456789", "123456789"}, /* out of range */
        {NOX_TYPE_INT8, "-987654321", "987654321"},                     /* out of range */
        {NOX_TYPE_UINT32, "98765x4321", "98765"},                       /* stray character */
        {NOX_TYPE_UINT8, "0x987654321", "987654321"},                   /* hex too wide */
        {NOX_TYPE_UINT64, "0x98765432z", "98765432"},                   /* bad hex digit */
        {NOX_TYPE_ADDRESS, "0x9876543210987654321098765432109876543z10", "9876543210"},
        {NOX_TYPE_ADDRESS, "0x98765432109876543210", "9876543210"},     /* wrong length */
        {71 /* bytes4 */, "0x9876543210", "98765432"},                  /* wrong length */
        {NOX_TYPE_BOOL, "987654321", "987654321"},
        {NOX_TYPE_UINT8, "-987654321", "987654321"},                    /* negative unsigned */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nox_value v;
        nox_error err = {0};
        nox_status st = nox_value_parse(&v, cases[i].type, cases[i].text, &err);
        CU_ASSERT_EQUAL(st, NOX_ERR_INVALID);
        CU_ASSERT_NOT_EQUAL(err.message[0], '\0');
        if (strstr(err.message, cases[i].secret))
            printf("\n  message quotes the value: '%s' for '%s'\n", err.message, cases[i].text);
        CU_ASSERT_PTR_NULL(strstr(err.message, cases[i].secret));
    }
    /* the bytes path: a bad bool byte */
    const uint8_t b[] = {0x5a};
    nox_value v;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_value_from_bytes(&v, NOX_TYPE_BOOL, b, 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NULL(strstr(err.message, "5a"));
    CU_ASSERT_PTR_NULL(strstr(err.message, "90"));
}

int main(void) {
    CU_TestInfo tests[] = {
        {"type names per spec", test_type_names},
        {"type name round trip", test_type_name_round_trip},
        {"reserved codes 106..255", test_reserved_codes},
        {"unknown type names", test_unknown_names},
        {"type sizes and plugin.h helpers", test_type_sizes_and_helpers},
        {"from_bytes layout", test_from_bytes_layout},
        {"bytes round trip, every type", test_bytes_round_trip_every_type},
        {"bytes rejected", test_bytes_rejected},
        {"on-chain words", test_words},
        {"decimal MIN/MAX every width", test_decimal_bounds_every_width},
        {"decimal literal boundaries", test_decimal_literal_boundaries},
        {"decimal malformed", test_decimal_malformed},
        {"hex bit patterns", test_hex_bit_patterns},
        {"parse error positions", test_parse_error_positions},
        {"bool text", test_bool_text},
        {"bool text: no long hex", test_bool_text_no_long_hex},
        {"address and bytesN text", test_address_and_fixed_bytes_text},
        {"format", test_format},
        {"random round trips", test_random_round_trips},
        {"canonical form", test_canonical},
        {"equality", test_equal},
        {"errors never quote values", test_errors_do_not_quote_values},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("types and values", tests);
}
