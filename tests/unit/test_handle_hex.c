/*
 * Unit tests of the strict 0x hex codec (nox/hex.h) and the 32-byte handle
 * (nox/handle.h, spec §2):
 *     prehandle (bytes 0..25) | chain id (26..29, big-endian) | type (30) | version (31)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nox/handle.h"
#include "nox/hex.h"
#include "test_util.h"

/* A handle text of chain 421614 (0x00066eee), type uint256 (35 = 0x23), version 0. */
#define HANDLE_TEXT "0x000102030405060708090a0b0c0d0e0f10111213141516171819" "00066eee" "23" "00"

/* ------------------------------------------------------------------------ */
/* Hex                                                                       */
/* ------------------------------------------------------------------------ */

static void test_hex_digit(void) {
    for (int c = 0; c < 256; c++) {
        int want = -1;
        if (c >= '0' && c <= '9') want = c - '0';
        else if (c >= 'a' && c <= 'f') want = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') want = c - 'A' + 10;
        CU_ASSERT_EQUAL(nox_hex_digit((char)c), want);
    }
}

static void test_hex_decode_exact_ok(void) {
    uint8_t out[4];
    nox_error err = {0};
    const char *t = "0x00ff10Ab"; /* any case on input */
    CU_ASSERT_EQUAL_FATAL(nox_hex_decode_exact(t, strlen(t), out, 4, &err), NOX_OK);
    CU_ASSERT(out[0] == 0x00 && out[1] == 0xff && out[2] == 0x10 && out[3] == 0xab);
    /* only text[0..len) is read: a longer string cut by len decodes fine */
    const char *longer = "0xabcdEFGH";
    CU_ASSERT_EQUAL(nox_hex_decode_exact(longer, 6, out, 2, &err), NOX_OK);
    CU_ASSERT(out[0] == 0xab && out[1] == 0xcd);
    /* zero bytes: "0x" alone */
    CU_ASSERT_EQUAL(nox_hex_decode_exact("0x", 2, out, 0, &err), NOX_OK);
}

static void test_hex_decode_exact_errors(void) {
    uint8_t out[4];
    nox_error err = {0};
    /* the 0x prefix is required */
    static const char *const no_prefix[] = {"", "0", "x0ff", "00ff", "ff", " 0xff", "1xff", "0yff"};
    for (size_t i = 0; i < sizeof no_prefix / sizeof no_prefix[0]; i++) {
        const char *t = no_prefix[i];
        CU_ASSERT_EQUAL(nox_hex_decode_exact(t, strlen(t), out, 1, &err), NOX_ERR_INVALID);
        CU_ASSERT_EQUAL(err.code, NOX_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "0x"));
    }
    /* wrong digit counts: the message gives the expected and the actual count */
    CU_ASSERT_EQUAL(nox_hex_decode_exact("0xabc", 5, out, 2, &err), NOX_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err.message, "expected 0x + 4 hex digits (2 bytes), got 3 digits");
    CU_ASSERT_EQUAL(nox_hex_decode_exact("0xabcdef", 8, out, 2, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "got 6 digits"));
    CU_ASSERT_EQUAL(nox_hex_decode_exact("0x", 2, out, 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "got 0 digits"));
    /* non-hex bytes, including a NUL inside len and a non-ASCII byte */
    CU_ASSERT_EQUAL(nox_hex_decode_exact("0x\0\0", 4, out, 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_hex_decode_exact("0x\xc3\xa9", 4, out, 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_hex_decode_exact("0x-1", 4, out, 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_hex_decode_exact("0x 1", 4, out, 1, &err), NOX_ERR_INVALID);
}

/*
 * A bad digit is reported by its position. Positions are 1-based character
 * positions in the whole text (the 0x counts), like the other position
 * messages of the core: nox_value_parse(uint8, "0xg0") says "position 3" and
 * config columns are 1-based. The same text must not get another number here.
 */
static void test_hex_bad_digit_position(void) {
    uint8_t out[2];
    nox_error err = {0};
    static const struct {
        const char *text;
        const char *where;
    } cases[] = {
        {"0xg000", "position 3"}, /* high nibble of byte 0 */
        {"0x0g00", "position 4"}, /* low nibble of byte 0 */
        {"0x00G0", "position 5"},
        {"0x000z", "position 6"}, /* last character */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(nox_hex_decode_exact(cases[i].text, 6, out, 2, &err), NOX_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "invalid hex digit"));
        if (!strstr(err.message, cases[i].where))
            printf("\n  '%s': message '%s', want '%s'\n", cases[i].text, err.message, cases[i].where);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].where));
    }
}

static void test_hex_decode(void) {
    uint8_t out[3];
    size_t n = 99;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_hex_decode("0x", 2, out, sizeof out, &n, &err), NOX_OK); /* empty is fine */
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(nox_hex_decode("0xAbCd", 6, out, sizeof out, &n, &err), NOX_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT(out[0] == 0xab && out[1] == 0xcd);
    CU_ASSERT_EQUAL(nox_hex_decode("0x0a0b0c", 8, out, sizeof out, &n, &err), NOX_OK); /* exactly cap */
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(out[0] == 0x0a && out[1] == 0x0b && out[2] == 0x0c);

    /* odd length */
    CU_ASSERT_EQUAL(nox_hex_decode("0xabc", 5, out, sizeof out, &n, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "odd number of hex digits (3)"));
    /* too long for the buffer: says how long and the limit */
    CU_ASSERT_EQUAL(nox_hex_decode("0xaabbccdd", 10, out, sizeof out, &n, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "too long"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "4 bytes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "at most 3"));
    /* missing prefix, bad digit */
    CU_ASSERT_EQUAL(nox_hex_decode("abcd", 4, out, sizeof out, &n, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_hex_decode("0xab_d", 6, out, sizeof out, &n, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "invalid hex digit"));
}

static void test_hex_encode(void) {
    const uint8_t in[] = {0x00, 0xab, 0xff, 0x10, 0x09};
    char out[2 * sizeof in + 3 + 1];
    memset(out, '#', sizeof out);
    CU_ASSERT_PTR_EQUAL(nox_hex_encode(in, sizeof in, out), out);
    CU_ASSERT_STRING_EQUAL(out, "0x00abff1009"); /* lowercase */
    CU_ASSERT_EQUAL(out[sizeof out - 1], '#');   /* exactly 2*len + 3 bytes written */
    char empty[3];
    CU_ASSERT_STRING_EQUAL(nox_hex_encode(in, 0, empty), "0x");

    /* decode(encode(x)) == x for every byte value */
    uint8_t all[256], back[256];
    char text[2 * 256 + 3];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    nox_hex_encode(all, sizeof all, text);
    CU_ASSERT_EQUAL(strlen(text), 2 + 512);
    CU_ASSERT_EQUAL(nox_hex_decode_exact(text, strlen(text), back, sizeof back, NULL), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(all, back, sizeof all), 0);
}

/* ------------------------------------------------------------------------ */
/* Handles                                                                   */
/* ------------------------------------------------------------------------ */

static void test_handle_parse_format(void) {
    nox_handle h;
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(nox_handle_parse(&h, HANDLE_TEXT, strlen(HANDLE_TEXT), &err), NOX_OK);
    for (int i = 0; i < NOX_PREHANDLE_SIZE; i++) CU_ASSERT_EQUAL(h.bytes[i], i);
    CU_ASSERT_EQUAL(nox_handle_chain_id(&h), 421614u);
    CU_ASSERT_EQUAL(nox_handle_type(&h), 35);
    CU_ASSERT_EQUAL(nox_handle_version(&h), 0);

    char out[NOX_HANDLE_TEXT_LEN + 1];
    CU_ASSERT_PTR_EQUAL(nox_handle_format(&h, out), out);
    CU_ASSERT_EQUAL(strlen(out), NOX_HANDLE_TEXT_LEN);
    CU_ASSERT_STRING_EQUAL(out, HANDLE_TEXT);

    /* upper case in, lower case out */
    const char *upper = "0xABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCD00066EEE2300";
    CU_ASSERT_EQUAL_FATAL(nox_handle_parse(&h, upper, strlen(upper), &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(nox_handle_format(&h, out),
                           "0xabcdef0123456789abcdef0123456789abcdef0123456789abcd00066eee2300");

    /* only text[0..len) is read */
    char longer[80];
    snprintf(longer, sizeof longer, "%sXYZ", HANDLE_TEXT);
    CU_ASSERT_EQUAL(nox_handle_parse(&h, longer, NOX_HANDLE_TEXT_LEN, &err), NOX_OK);
}

static void test_handle_parse_errors(void) {
    nox_handle h;
    nox_error err = {0};
    char t[80];
    /* 63 digits */
    snprintf(t, sizeof t, "%s", HANDLE_TEXT);
    CU_ASSERT_EQUAL(nox_handle_parse(&h, t, 65, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(strncmp(err.message, "bad handle: ", 12), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "got 63 digits"));
    /* 65 digits */
    snprintf(t, sizeof t, "%s0", HANDLE_TEXT);
    CU_ASSERT_EQUAL(nox_handle_parse(&h, t, strlen(t), &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "got 65 digits"));
    /* 64 digits but no 0x; and 66 digits without 0x (same length as a handle text) */
    CU_ASSERT_EQUAL(nox_handle_parse(&h, HANDLE_TEXT + 2, 64, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "0x"));
    snprintf(t, sizeof t, "ff%s", HANDLE_TEXT + 2);
    CU_ASSERT_EQUAL(nox_handle_parse(&h, t, strlen(t), &err), NOX_ERR_INVALID);
    /* a bad character in the middle and at the end */
    snprintf(t, sizeof t, "%s", HANDLE_TEXT);
    t[40] = 'g';
    CU_ASSERT_EQUAL(nox_handle_parse(&h, t, strlen(t), &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(strncmp(err.message, "bad handle: ", 12), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "invalid hex digit"));
    snprintf(t, sizeof t, "%s", HANDLE_TEXT);
    t[65] = ' ';
    CU_ASSERT_EQUAL(nox_handle_parse(&h, t, strlen(t), &err), NOX_ERR_INVALID);
    /* empty */
    CU_ASSERT_EQUAL(nox_handle_parse(&h, "", 0, &err), NOX_ERR_INVALID);
}

/* make writes the fields where spec §2 puts them. */
static void test_handle_make_layout(void) {
    uint8_t pre[NOX_PREHANDLE_SIZE];
    for (int i = 0; i < NOX_PREHANDLE_SIZE; i++) pre[i] = (uint8_t)(0xa0 + i);
    nox_handle h;
    memset(&h, 0x77, sizeof h);
    nox_handle_make(&h, pre, 0x01020304u, 67);
    CU_ASSERT_EQUAL(memcmp(h.bytes, pre, NOX_PREHANDLE_SIZE), 0);
    CU_ASSERT_EQUAL(h.bytes[26], 0x01); /* chain id big-endian */
    CU_ASSERT_EQUAL(h.bytes[27], 0x02);
    CU_ASSERT_EQUAL(h.bytes[28], 0x03);
    CU_ASSERT_EQUAL(h.bytes[29], 0x04);
    CU_ASSERT_EQUAL(h.bytes[30], 67); /* type */
    CU_ASSERT_EQUAL(h.bytes[31], 0);  /* version */
    CU_ASSERT_EQUAL(nox_handle_chain_id(&h), 0x01020304u);
    CU_ASSERT_EQUAL(nox_handle_type(&h), 67);
    CU_ASSERT_EQUAL(nox_handle_version(&h), NOX_HANDLE_VERSION);

    /* the full 32-bit range of chain ids */
    nox_handle_make(&h, pre, 0xffffffffu, 0);
    CU_ASSERT_EQUAL(nox_handle_chain_id(&h), 0xffffffffu);
    CU_ASSERT(h.bytes[26] == 0xff && h.bytes[29] == 0xff);
    nox_handle_make(&h, pre, 0, 0);
    CU_ASSERT_EQUAL(nox_handle_chain_id(&h), 0);

    /* make + format is the text form */
    for (int i = 0; i < NOX_PREHANDLE_SIZE; i++) pre[i] = (uint8_t)i;
    nox_handle_make(&h, pre, 421614u, 35);
    char out[NOX_HANDLE_TEXT_LEN + 1];
    CU_ASSERT_STRING_EQUAL(nox_handle_format(&h, out), HANDLE_TEXT);
}

static void test_handle_is_zero(void) {
    nox_handle h;
    memset(&h, 0, sizeof h);
    CU_ASSERT_EQUAL(nox_handle_is_zero(&h), 1);
    for (int i = 0; i < NOX_HANDLE_SIZE; i++) { /* any one non-zero byte, including the last */
        h.bytes[i] = 1;
        CU_ASSERT_EQUAL(nox_handle_is_zero(&h), 0);
        h.bytes[i] = 0;
    }
}

static void test_handle_validate(void) {
    uint8_t pre[NOX_PREHANDLE_SIZE];
    for (int i = 0; i < NOX_PREHANDLE_SIZE; i++) pre[i] = (uint8_t)(i * 7 + 1);
    const uint32_t chains[] = {31337, 421614};
    nox_handle h;
    nox_error err = {0};

    /* a well-formed handle on a configured chain, every known type code */
    for (unsigned type = 0; type <= NOX_TYPE_LAST; type++) {
        nox_handle_make(&h, pre, 421614, (uint8_t)type);
        CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, &err), NOX_OK);
    }

    /* bytes32(0) is the undefined handle */
    memset(&h, 0, sizeof h);
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(err.code, NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "bytes32(0)"));
    CU_ASSERT_EQUAL(nox_handle_validate(&h, NULL, 0, &err), NOX_ERR_INVALID); /* even with no chain list */

    /* a zero prehandle alone is fine: only the all-zero handle is undefined */
    memset(pre, 0, sizeof pre);
    nox_handle_make(&h, pre, 31337, 4);
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, &err), NOX_OK);

    /* version must be 0 */
    nox_handle_make(&h, pre, 31337, 4);
    h.bytes[31] = 1;
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "version"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "1"));
    h.bytes[31] = 0xff;
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "version 255"));

    /* reserved type codes are type errors */
    static const uint8_t reserved[] = {106, 107, 200, 255};
    for (size_t i = 0; i < sizeof reserved; i++) {
        char num[8];
        nox_handle_make(&h, pre, 31337, reserved[i]);
        CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, &err), NOX_ERR_TYPE);
        CU_ASSERT_EQUAL(err.code, NOX_ERR_TYPE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "type code"));
        snprintf(num, sizeof num, "%u", reserved[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, num));
        CU_ASSERT_EQUAL(nox_handle_validate(&h, NULL, 0, &err), NOX_ERR_TYPE); /* not a chain matter */
    }

    /* chain ids: only configured ones, unless none are configured */
    nox_handle_make(&h, pre, 1, 4);
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "chain id"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "1"));
    nox_handle_make(&h, pre, 31338, 4); /* a neighbour of a configured id */
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "chain id 31338"));
    nox_handle_make(&h, pre, 421614, 4);
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 1, &err), NOX_ERR_INVALID); /* only the first counts */
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains + 1, 1, &err), NOX_OK);
    nox_handle_make(&h, pre, 31337, 4);
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, &err), NOX_OK);
    nox_handle_make(&h, pre, 0xdeadbeef, 4); /* any chain when n_chains == 0 */
    CU_ASSERT_EQUAL(nox_handle_validate(&h, NULL, 0, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 0, &err), NOX_OK);
    /* a NULL error record: only the status */
    CU_ASSERT_EQUAL(nox_handle_validate(&h, chains, 2, NULL), NOX_ERR_INVALID);
}

/* Every message names the field that is wrong, and every one is prefixed "bad handle". */
static void test_handle_messages(void) {
    uint8_t pre[NOX_PREHANDLE_SIZE] = {1};
    const uint32_t chain = 5;
    nox_handle h;
    nox_error err = {0};
    nox_handle_make(&h, pre, 5, 4);
    h.bytes[31] = 2;
    CU_ASSERT_EQUAL(nox_handle_validate(&h, &chain, 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(strncmp(err.message, "bad handle", 10), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "version 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "byte 31"));
    nox_handle_make(&h, pre, 5, 150);
    CU_ASSERT_EQUAL(nox_handle_validate(&h, &chain, 1, &err), NOX_ERR_TYPE);
    CU_ASSERT_EQUAL(strncmp(err.message, "bad handle", 10), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "type code 150"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "byte 30"));
    nox_handle_make(&h, pre, 6, 4);
    CU_ASSERT_EQUAL(nox_handle_validate(&h, &chain, 1, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(strncmp(err.message, "bad handle", 10), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "chain id 6"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not configured"));
}

int main(void) {
    CU_TestInfo tests[] = {
        {"hex digit", test_hex_digit},
        {"hex decode_exact ok", test_hex_decode_exact_ok},
        {"hex decode_exact errors", test_hex_decode_exact_errors},
        {"hex bad digit position (1-based)", test_hex_bad_digit_position},
        {"hex decode", test_hex_decode},
        {"hex encode", test_hex_encode},
        {"handle parse and format", test_handle_parse_format},
        {"handle parse errors", test_handle_parse_errors},
        {"handle make: field layout", test_handle_make_layout},
        {"handle is_zero", test_handle_is_zero},
        {"handle validate", test_handle_validate},
        {"handle messages name the field", test_handle_messages},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("hex and handles", tests);
}
