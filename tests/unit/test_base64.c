/* Strict base64: RFC 4648 test vectors, round trips, and every rejection. */
#include <string.h>

#include "nox/base64.h"
#include "test_util.h"

static void test_rfc4648_vectors(void) {
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        CU_ASSERT_STRING_EQUAL(nox_base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out), coded[i]);
        uint8_t back[16];
        size_t n = 99;
        CU_ASSERT_EQUAL(nox_base64_decode(coded[i], strlen(coded[i]), back, sizeof back, &n, NULL), NOX_OK);
        CU_ASSERT_EQUAL(n, strlen(plain[i]));
        CU_ASSERT_EQUAL(memcmp(back, plain[i], n), 0);
    }
}

static void test_round_trips(void) {
    /* every length 0..200 of every byte value pattern, through encode and decode */
    uint8_t in[200], back[200];
    char text[NOX_BASE64_ENCODED_SIZE(200)];
    int bad = 0;
    for (size_t len = 0; len <= sizeof in; len++) {
        for (size_t i = 0; i < len; i++) in[i] = (uint8_t)(i * 37 + len);
        nox_base64_encode(in, len, text);
        size_t n = 0;
        bad += strlen(text) != NOX_BASE64_ENCODED_SIZE(len) - 1 ||
               nox_base64_decode(text, strlen(text), back, sizeof back, &n, NULL) != NOX_OK || n != len ||
               memcmp(in, back, len) != 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void expect_reject(const char *text, size_t cap, const char *needle) {
    uint8_t out[64];
    size_t n;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_base64_decode(text, strlen(text), out, cap, &n, &err), NOX_ERR_INVALID);
    if (!strstr(err.message, needle)) fprintf(stderr, "\n  '%s': expected '%s' in '%s'\n", text, needle, err.message);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, needle));
}

static void test_rejections(void) {
    expect_reject("Zm9", 64, "not a multiple of 4");
    expect_reject("Zm9vY", 64, "not a multiple of 4");
    expect_reject("Zm9v\n", 64, "not a multiple of 4");
    expect_reject("Zm 9", 64, "invalid base64 character at position 3");
    expect_reject("Zm9-", 64, "position 4");            /* base64url is not accepted */
    expect_reject("Z=9v", 64, "position 2");            /* padding in the middle */
    expect_reject("Zg==Zg==", 64, "position 3");        /* padding, then more data */
    expect_reject("Z===", 64, "position 2");            /* three padding characters */
    expect_reject("Zh==", 64, "non-canonical");         /* trailing bits set under == */
    expect_reject("Zm9=", 64, "non-canonical");         /* trailing bits set under = */
    expect_reject("Zm9vYmFy", 5, "too long: 6 bytes, at most 5");
}

int main(void) {
    CU_TestInfo tests[] = {
        {"RFC 4648 vectors", test_rfc4648_vectors},
        {"round trips for lengths 0..200", test_round_trips},
        {"strict rejections", test_rejections},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("base64", tests);
}
