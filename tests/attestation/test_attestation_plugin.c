/*
 * A stand-in TEE for the tests (never for a deployment): a quote provider and a quote verifier through
 * nox/attestation.h, with the shape of TDX and a MAC instead of Intel's signature chain.
 *
 * Quote (360 bytes):
 *     "NOXTQ1\0\0" | MRTD (48) | RTMR0..3 (4 x 48) | REPORTDATA (64) | issued_at (8, big-endian Unix s)
 *     | ttl_s (8, big-endian) | HMAC-SHA256(key, everything before) (32)
 * The key stands for the vendor's root of trust: whoever holds it can make quotes (the provider, given it
 * in its config), and whoever lacks it cannot (an attacker's forgeries fail the MAC).
 *
 * Configuration text, space-separated key=value:
 *     provider: key=<hex 32 bytes> mrtd=<hex 48> [rtmr0..rtmr3=<hex 48>, default zeros] [ttl=<s>, default 3600]
 *               [issued_offset=<s>, subtracted from now: an old quote]
 *     verifier: key=<hex 32 bytes> [undecided=1: every verify fails to decide, as with collateral unreachable]
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nox/attestation.h"

#define M NOX_ATTESTATION_MEASUREMENT_SIZE
enum { MAGIC = 8, BODY = MAGIC + M + 4 * M + 64 + 16, QUOTE = BODY + 32 };

typedef struct cfg {
    unsigned char key[32];
    unsigned char mrtd[M], rtmr[4][M];
    unsigned long long ttl, issued_offset;
    int undecided, have_key, have_mrtd;
} cfg;

static int unhex(const char *s, size_t n, unsigned char *out, size_t len) {
    if (n == len * 2 + 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2, n -= 2;
    if (n != len * 2) return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned v = 0;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

static int parse(const char *text, cfg *c, char *err, size_t cap) {
    memset(c, 0, sizeof *c);
    c->ttl = 3600;
    while (text && *text) {
        while (*text == ' ') text++;
        size_t n = strcspn(text, " ");
        if (!n) break;
        const char *eq = memchr(text, '=', n);
        if (!eq) {
            snprintf(err, cap, "expected key=value, got '%.*s'", (int)n, text);
            return -1;
        }
        size_t k = (size_t)(eq - text), vn = n - k - 1;
        const char *v = eq + 1;
        int bad = 0;
        if (k == 3 && !strncmp(text, "key", 3)) bad = unhex(v, vn, c->key, 32), c->have_key = 1;
        else if (k == 4 && !strncmp(text, "mrtd", 4)) bad = unhex(v, vn, c->mrtd, M), c->have_mrtd = 1;
        else if (k == 5 && !strncmp(text, "rtmr", 4) && text[4] >= '0' && text[4] <= '3')
            bad = unhex(v, vn, c->rtmr[text[4] - '0'], M);
        else if (k == 3 && !strncmp(text, "ttl", 3)) c->ttl = strtoull(v, NULL, 10);
        else if (k == 13 && !strncmp(text, "issued_offset", 13)) c->issued_offset = strtoull(v, NULL, 10);
        else if (k == 9 && !strncmp(text, "undecided", 9)) c->undecided = *v == '1';
        else bad = 1;
        if (bad) {
            snprintf(err, cap, "bad setting '%.*s'", (int)k, text);
            return -1;
        }
        text += n;
    }
    if (!c->have_key) {
        snprintf(err, cap, "key=<64 hex digits> is required");
        return -1;
    }
    return 0;
}

static void put64(unsigned char *p, unsigned long long v) {
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}
static unsigned long long get64(const unsigned char *p) {
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static int mac(const cfg *c, const unsigned char *body, unsigned char out[32]) {
    unsigned n = 32;
    return HMAC(EVP_sha256(), c->key, 32, body, BODY, out, &n) ? 0 : -1;
}

static int init(const char *config, void **state, char *err, size_t cap) {
    cfg *c = malloc(sizeof *c);
    if (!c) return -1;
    if (parse(config, c, err, cap)) {
        OPENSSL_cleanse(c, sizeof *c);
        free(c);
        return -1;
    }
    *state = c;
    return 0;
}

static int provider_init(const char *config, void **state, char *err, size_t cap) {
    if (init(config, state, err, cap)) return -1;
    if (!((cfg *)*state)->have_mrtd) {
        snprintf(err, cap, "mrtd=<96 hex digits> is required");
        free(*state);
        return -1;
    }
    return 0;
}

static void fini(void *state) {
    if (state) OPENSSL_cleanse(state, sizeof(cfg));
    free(state);
}

static int quote(void *state, const uint8_t report_data[64], uint8_t *out, size_t cap, size_t *len, char *err,
                 size_t err_cap) {
    const cfg *c = state;
    if (cap < QUOTE) {
        snprintf(err, err_cap, "buffer too small");
        return -1;
    }
    unsigned char *p = out;
    memcpy(p, "NOXTQ1\0\0", MAGIC), p += MAGIC;
    memcpy(p, c->mrtd, M), p += M;
    memcpy(p, c->rtmr, 4 * M), p += 4 * M;
    memcpy(p, report_data, 64), p += 64;
    put64(p, (unsigned long long)time(NULL) - c->issued_offset), p += 8;
    put64(p, c->ttl), p += 8;
    if (mac(c, out, p)) return -1;
    *len = QUOTE;
    return 0;
}

static int verify(void *state, const uint8_t *q, size_t len, uint64_t now, nox_attestation_verdict *v) {
    const cfg *c = state;
    unsigned char want[32];
    if (c->undecided) {
        snprintf(v->reason, sizeof v->reason, "collateral unreachable (test switch)");
        return -1;
    }
    if (len != QUOTE || memcmp(q, "NOXTQ1\0\0", MAGIC)) {
        snprintf(v->reason, sizeof v->reason, "not a test quote (%zu bytes)", len);
        return 0;
    }
    if (mac(c, q, want) || CRYPTO_memcmp(want, q + BODY, 32)) {
        snprintf(v->reason, sizeof v->reason, "the quote's signature does not verify");
        return 0;
    }
    const unsigned char *p = q + MAGIC;
    memcpy(v->mrtd, p, M), p += M;
    memcpy(v->rtmr, p, 4 * M), p += 4 * M;
    memcpy(v->report_data, p, 64), p += 64;
    unsigned long long issued = get64(p), ttl = get64(p + 8);
    if (issued > now + 60) {
        snprintf(v->reason, sizeof v->reason, "issued in the future");
        return 0;
    }
    v->valid_until = issued + ttl;
    v->ok = 1;
    return 0;
}

/* Built a second time with NOX_TEST_OTHER_ABI: a plugin of another ABI version, which the hosts must refuse before
 * calling anything but the table function. */
#ifdef NOX_TEST_OTHER_ABI
#define ABI (NOX_ATTESTATION_ABI_VERSION + 1u)
#else
#define ABI NOX_ATTESTATION_ABI_VERSION
#endif

static const nox_attestation_provider PROVIDER = {ABI, "test-tee", provider_init, quote, fini};
static const nox_attestation_verifier VERIFIER = {ABI, "test-tee", init, verify, fini};

__attribute__((visibility("default"))) const nox_attestation_provider *nox_attestation_provider_v1(void) {
    return &PROVIDER;
}
__attribute__((visibility("default"))) const nox_attestation_verifier *nox_attestation_verifier_v1(void) {
    return &VERIFIER;
}
