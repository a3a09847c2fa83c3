/*
 * What binds a Runner authorization to its content and to time (nox/runner_auth.h,
 * docs/PROTOCOL-EXTENSIONS.md §7): the content digests of a result set and of failure records against
 * values computed independently with `cast keccak` over the documented layout, every field and the
 * order entering them, and the Gateway's window rules at each boundary, with the message of each refusal.
 */
#include <stdio.h>
#include <string.h>

#include "nox/hex.h"
#include "nox/runner_auth.h"
#include "test_util.h"

/* Two sample results (the ones of tests/unit/test_eip712.c's RESULTS_DIGEST). */
typedef struct sample_result {
    uint8_t handle[32], tag[32], pk[33], nonce[12], ct[64];
    size_t ct_len;
} sample_result;

static void samples(sample_result r[2]) {
    memset(r, 0, 2 * sizeof *r);
    for (int i = 0; i < 32; i++) r[0].handle[i] = (uint8_t)(i + 1); /* 0x0102…20 */
    memset(r[0].tag, 0x07, 32);
    r[0].pk[0] = 0x02;
    memset(r[0].pk + 1, 0x33, 32);
    memset(r[0].nonce, 0x99, 12);
    memset(r[0].ct, 0x5a, 20);
    r[0].ct_len = 20;
    memset(r[1].handle, 0x11, 32);
    memset(r[1].tag, 0x08, 32);
    r[1].pk[0] = 0x03;
    memset(r[1].pk + 1, 0x44, 32);
    memset(r[1].nonce, 0x98, 12);
    memset(r[1].ct, 0xa5, 17);
    r[1].ct_len = 17;
}

static void digest_results(const sample_result *r, size_t n, uint8_t out[32], uint64_t *count) {
    nox_content_digest d;
    nox_content_digest_init(&d);
    for (size_t i = 0; i < n; i++)
        nox_content_digest_add_result(&d, r[i].handle, r[i].tag, r[i].pk, r[i].nonce, r[i].ct, r[i].ct_len);
    nox_content_digest_final(&d, out);
    if (count) *count = d.count;
}

static void test_results_digest_known_answers(void) {
    sample_result r[2];
    uint8_t h[32];
    uint64_t count = 99;
    samples(r);
    /* nothing: keccak256 of the empty input */
    digest_results(r, 0, h, &count);
    ASSERT_HASH(h, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    CU_ASSERT_EQUAL(count, 0);
    /* one: cast keccak 0x<keccak(0x0102…20 ‖ 07×32 ‖ 02 33×32 ‖ 99×12 ‖ 5a×20)>; the leaf itself is
       0x4854003e636586f07d7cefcb707714271536e211f9b593de7b335323fbaba5fd */
    digest_results(r, 1, h, &count);
    ASSERT_HASH(h, "0x990b1754bd185ac0f6e7ba7561f1811a780306766b6132fb81e699b7bf2648f7");
    CU_ASSERT_EQUAL(count, 1);
    uint8_t leaf[32], one[32];
    nox_test_from_hex("0x4854003e636586f07d7cefcb707714271536e211f9b593de7b335323fbaba5fd", leaf, 32);
    nox_keccak256(leaf, 32, one);
    CU_ASSERT_EQUAL(memcmp(one, h, 32), 0);
    /* two: cast keccak 0x<leaf0 ‖ leaf1> */
    digest_results(r, 2, h, &count);
    ASSERT_HASH(h, "0x92a7d5af32a875cf64960d8d2ba267029182e9383fb34816d015d5c8ba7a9064");
    CU_ASSERT_EQUAL(count, 2);
}

static void test_failures_digest_known_answers(void) {
    uint8_t h1[32], h2[32], h[32];
    for (int i = 0; i < 32; i++) h1[i] = (uint8_t)(i + 1);
    memset(h2, 0x11, 32);
    static const char reason[] = "events[0]: unknown operator id 999 (type operator_999)";
    nox_content_digest d;
    nox_content_digest_init(&d);
    nox_content_digest_add_failure(&d, h1, reason, strlen(reason));
    nox_content_digest_add_failure(&d, h2, "x", 1);
    nox_content_digest_final(&d, h);
    /* cast keccak 0x<keccak(h1 ‖ reason) ‖ keccak(h2 ‖ "x")> */
    ASSERT_HASH(h, "0xc8fabf95b11c75e8838499f596505d2d60ab93cd6d01fcf738f5eb2ef5c83f14");
    CU_ASSERT_EQUAL(d.count, 2);
}

/* Any change to any field of any item, the order, or an item added or dropped changes the digest. */
static void test_every_byte_counts(void) {
    sample_result r[3], m[3];
    uint8_t base[32], h[32];
    samples(r);
    r[2] = r[0];
    r[2].handle[0] = 0x42;
    digest_results(r, 3, base, NULL);
    int same = 0;
#define CHANGED(change)                                   \
    do {                                                  \
        memcpy(m, r, sizeof m);                           \
        change;                                           \
        digest_results(m, 3, h, NULL);                    \
        same += memcmp(h, base, 32) == 0;                 \
    } while (0)
    for (size_t i = 0; i < 3; i++) {
        CHANGED(m[i].handle[31] ^= 1);
        CHANGED(m[i].tag[5] ^= 0x80);
        CHANGED(m[i].pk[0] ^= 1); /* 02 -> 03 */
        CHANGED(m[i].nonce[11] ^= 1);
        CHANGED(m[i].ct[0] ^= 1);
        CHANGED(m[i].ct[m[i].ct_len - 1] ^= 1);
        CHANGED(m[i].ct_len--); /* a byte cut */
        CHANGED(m[i].ct_len++); /* a (zero) byte appended */
    }
    CHANGED((m[0] = r[1], m[1] = r[0])); /* reordered */
#undef CHANGED
    digest_results(r, 2, h, NULL); /* the last dropped */
    same += memcmp(h, base, 32) == 0;
    /* a result split differently over two leaves: the same bytes in all, another digest */
    sample_result a[2], b[2];
    samples(a);
    memcpy(b, a, sizeof b);
    b[1].ct_len--;
    b[0].ct[b[0].ct_len++] = a[1].ct[a[1].ct_len - 1];
    digest_results(a, 2, base, NULL);
    digest_results(b, 2, h, NULL);
    same += memcmp(h, base, 32) == 0;
    CU_ASSERT_EQUAL(same, 0);

    /* failure records: the handle, one reason character, the order */
    uint8_t h1[32] = {1}, h2[32] = {2}, d0[32], d1[32];
    nox_content_digest d;
    const uint8_t *hs[2][2] = {{h1, h2}, {h2, h1}};
    const char *rs[3][2] = {{"a", "b"}, {"a", "c"}, {"ab", ""}};
    nox_content_digest_init(&d);
    nox_content_digest_add_failure(&d, h1, "a", 1);
    nox_content_digest_add_failure(&d, h2, "b", 1);
    nox_content_digest_final(&d, d0);
    int equal = 0;
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 3; k++) {
            if (o == 0 && k == 0) continue;
            nox_content_digest_init(&d);
            nox_content_digest_add_failure(&d, hs[o][0], rs[k][0], strlen(rs[k][0]));
            nox_content_digest_add_failure(&d, hs[o][1], rs[k][1], strlen(rs[k][1]));
            nox_content_digest_final(&d, d1);
            equal += memcmp(d0, d1, 32) == 0;
        }
    CU_ASSERT_EQUAL(equal, 0);
}

/* Checks one window: expect NOX_OK, or a refusal whose message holds `needle`. */
static void window(uint64_t nb, uint64_t ex, uint64_t now, const char *needle) {
    nox_error err = {0};
    nox_status st = nox_runner_auth_check_window(nb, ex, now, &err);
    if (!needle) {
        if (st != NOX_OK) fprintf(stderr, "\n  window [%llu, %llu) at %llu refused: %s\n", (unsigned long long)nb,
                                  (unsigned long long)ex, (unsigned long long)now, err.message);
        CU_ASSERT_EQUAL(st, NOX_OK);
    } else {
        CU_ASSERT_EQUAL(st, NOX_ERR_INVALID);
        ASSERT_CONTAINS(err.message, needle);
    }
}

static void test_window_rules(void) {
    const uint64_t t = 1700000000;
    /* what a Runner signs, seen by a Gateway with the same clock, or one off by the allowances */
    window(t - NOX_RUNNER_AUTH_BACKDATE_S, t + NOX_RUNNER_AUTH_DEFAULT_LIFETIME_S, t, NULL);
    window(t - 5, t + 60, t + 59, NULL);
    window(t - 5, t + 60, t + 60, "authorization expired at 1700000060 (now 1700000060)");
    window(t - 5, t + 60, t + 100, "authorization expired at 1700000060 (now 1700000100)");
    /* starting in the future: up to the clock-skew allowance (30 s) */
    window(t + 30, t + 90, t, NULL);
    window(t + 31, t + 90, t,
           "authorization not valid before 1700000031 (now 1700000000: 31 s ahead, more than the 30 s of clock skew "
           "allowed)");
    /* the length: 300 s accepted, 301 refused, whatever the clock says */
    window(t - 150, t + 150, t, NULL);
    window(t - 151, t + 150, t,
           "authorization window of 301 s (notBefore 1699999849, expiresAt 1700000150) is longer than the 300 s allowed");
    window(0, UINT64_MAX, t, "is longer than the 300 s allowed");
    /* empty or reversed */
    window(t, t, t, "authorization window is empty: expiresAt 1700000000 is not after notBefore 1700000000");
    window(t + 10, t, t, "is not after notBefore");
    /* a one-second window */
    window(t, t + 1, t, NULL);
    window(t, t + 1, t + 1, "expired");
    /* the Runner's longest lifetime fits the Gateway's bound */
    window(t - NOX_RUNNER_AUTH_BACKDATE_S, t + NOX_RUNNER_AUTH_MAX_LIFETIME_S, t, NULL);
    window(t - NOX_RUNNER_AUTH_BACKDATE_S, t + NOX_RUNNER_AUTH_MAX_LIFETIME_S + 1, t, "longer than the 300 s allowed");
}

int main(void) {
    CU_TestInfo tests[] = {
        {"results digest: known answers (cast keccak), count", test_results_digest_known_answers},
        {"failure records digest: known answer (cast keccak)", test_failures_digest_known_answers},
        {"every field, byte, item and the order enter the digests", test_every_byte_counts},
        {"window rules at each boundary, with their messages", test_window_rules},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("runner_auth", tests);
}
