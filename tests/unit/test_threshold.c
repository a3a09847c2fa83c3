/*
 * The threshold key (nox/threshold.h): Lagrange coefficients, deal and split,
 * DLEQ partials, combination (against plain ECDH), the group file, share
 * checks, resharing, and known-answer vectors computed by an independent
 * pure-Python secp256k1 (the reference of tests/cross/threshold.py).
 *
 * Scalar sums in the checks are done here with OpenSSL BIGNUM, independently
 * of the library's libsecp256k1 path.
 */
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include "../../core/crypto/threshold_internal.h"
#include "nox/ec.h"
#include "nox/keccak.h"
#include "nox/threshold.h"
#include "test_util.h"

#define ORDER_HEX "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
#define ORDER_MINUS(k) "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd03641" k

static char dir[] = "/tmp/nox-test-threshold-XXXXXX";

/* ---- helpers ---------------------------------------------------------------------------------------------- */

static void hex33(const uint8_t p[33], char out[69]) { nox_hex_encode(p, 33, out); }

#define ASSERT_POINT(p, want)                 \
    do {                                      \
        char hex_[69];                        \
        hex33((p), hex_);                     \
        CU_ASSERT_STRING_EQUAL(hex_, (want)); \
    } while (0)

static nox_ec_privkey key_of(const char *hex) {
    uint8_t b[32];
    nox_ec_privkey k;
    nox_error err = {0};
    nox_test_from_hex(hex, b, 32);
    if (nox_ec_key_from_bytes(&k, b, &err)) {
        fprintf(stderr, "bad test key %s: %s\n", hex, err.message);
        exit(2);
    }
    return k;
}

static nox_ec_privkey random_key(void) {
    nox_ec_privkey k;
    nox_error err = {0};
    CU_ASSERT_FATAL(nox_ec_key_generate(&k, &err) == NOX_OK);
    return k;
}

/* K = k·G, compressed. */
static void point_of(const nox_ec_privkey *k, uint8_t out[33]) {
    nox_ec_pubkey pub;
    nox_error err = {0};
    CU_ASSERT_FATAL(nox_ec_pubkey_of(k, &pub, &err) == NOX_OK);
    nox_ec_pubkey_compressed(&pub, out);
}

/* The x that the secret d gives for K = k·G, by plain ECDH: x(k·P). */
static void ecdh_x(const nox_ec_privkey *k, const uint8_t p[33], uint8_t x[32]) {
    nox_ec_pubkey pub;
    nox_error err = {0};
    CU_ASSERT_FATAL(nox_ec_pubkey_parse(&pub, p, 33, &err) == NOX_OK);
    CU_ASSERT_FATAL(nox_ec_ecdh_x(k, &pub, x, &err) == NOX_OK);
}

/* (Σ_{j<k} λ_{idx[j]}·shares[j])·G by BIGNUM scalar math, compressed; 0 when the sum is zero. */
static int reconstruct_point(const unsigned *idx, const nox_ec_privkey *shares, size_t k, uint8_t out[33]) {
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *n = NULL, *sum = BN_new(), *a = BN_new(), *l = BN_new();
    CU_ASSERT_FATAL(BN_hex2bn(&n, ORDER_HEX + 2) > 0);
    BN_zero(sum);
    for (size_t j = 0; j < k; j++) {
        uint8_t lambda[32];
        nox_error err = {0};
        CU_ASSERT_FATAL(nox_th_lagrange(idx, k, idx[j], lambda, &err) == NOX_OK);
        BN_bin2bn(lambda, 32, l);
        BN_bin2bn(shares[j].d, 32, a);
        BN_mod_mul(a, a, l, n, bc);
        BN_mod_add(sum, sum, a, n, bc);
    }
    uint8_t d[32];
    BN_bn2binpad(sum, d, 32);
    int nonzero = !BN_is_zero(sum);
    if (nonzero) {
        nox_ec_privkey key = key_of("0x0000000000000000000000000000000000000000000000000000000000000001");
        memcpy(key.d, d, 32);
        point_of(&key, out);
    }
    BN_free(n), BN_free(sum), BN_free(a), BN_free(l);
    BN_CTX_free(bc);
    return nonzero;
}

/* A split of a fresh secret: the secret, its group and shares. */
static void split(unsigned t, unsigned n, nox_ec_privkey *secret, nox_th_group *g, nox_ec_privkey *shares) {
    nox_error err = {0};
    *secret = random_key();
    CU_ASSERT_EQUAL_FATAL(nox_th_deal(secret, t, n, g, shares, &err), NOX_OK);
}

/* Calls f for every k-subset of 1..n (indices ascending). */
static void each_subset(unsigned n, unsigned k, void (*f)(const unsigned *idx, size_t k, void *ctx), void *ctx) {
    unsigned idx[NOX_TH_MAX_NODES];
    for (unsigned i = 0; i < k; i++) idx[i] = i + 1;
    for (;;) {
        f(idx, k, ctx);
        int i = (int)k - 1;
        while (i >= 0 && idx[i] == n - k + (unsigned)i + 1) i--;
        if (i < 0) return;
        idx[i]++;
        for (unsigned j = (unsigned)i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
    }
}

/* ---- Lagrange ---------------------------------------------------------------------------------------------- */

static void expect_lambda(const unsigned *idx, size_t k, unsigned i, const char *want) {
    uint8_t l[32];
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_th_lagrange(idx, k, i, l, &err), NOX_OK);
    ASSERT_HASH(l, want);
}

static void expect_lambda_refused(const unsigned *idx, size_t k, unsigned i, const char *needle) {
    uint8_t l[32];
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_th_lagrange(idx, k, i, l, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, needle);
}

static void test_lagrange(void) {
    const unsigned s12[] = {1, 2}, s123[] = {1, 2, 3}, s135[] = {1, 3, 5}, s321[] = {3, 2, 1};
    expect_lambda(s12, 2, 1, "0x0000000000000000000000000000000000000000000000000000000000000002");
    expect_lambda(s12, 2, 2, ORDER_MINUS("40")); /* n − 1 */
    expect_lambda(s123, 3, 1, "0x0000000000000000000000000000000000000000000000000000000000000003");
    expect_lambda(s123, 3, 2, ORDER_MINUS("3e")); /* n − 3 */
    expect_lambda(s123, 3, 3, "0x0000000000000000000000000000000000000000000000000000000000000001");
    expect_lambda(s321, 3, 2, ORDER_MINUS("3e")); /* the order of the set does not matter */
    /* {1,3,5}: 15/8, −5/4, 3/8 mod n (Python) */
    expect_lambda(s135, 3, 1, "0x1fffffffffffffffffffffffffffffffd755db9cd5e9140777fa4bd19a06c82a");
    expect_lambda(s135, 3, 3, "0x3fffffffffffffffffffffffffffffffaeabb739abd2280eeff497a3340d904f");
    expect_lambda(s135, 3, 5, "0x9fffffffffffffffffffffffffffffff34ad4a102d8d642557e37b180221e8c9");
    const unsigned one[] = {7};
    expect_lambda(one, 1, 7, "0x0000000000000000000000000000000000000000000000000000000000000001");

    const unsigned rep[] = {1, 2, 2}, zero[] = {0, 2}, big[] = {1, 33};
    expect_lambda_refused(rep, 3, 1, "node 2 appears twice");
    expect_lambda_refused(zero, 2, 2, "indices[0] is 0; node indices are 1..32");
    expect_lambda_refused(big, 2, 1, "indices[1] is 33");
    expect_lambda_refused(s12, 2, 3, "node 3 is not among the indices");
    expect_lambda_refused(s12, 0, 1, "0 indices");
}

/* ---- deal and split ------------------------------------------------------------------------------------------- */

typedef struct subset_ctx {
    const nox_ec_privkey *shares;
    const uint8_t *public_key;
    int all_ok;
} subset_ctx;

static void reconstructs(const unsigned *idx, size_t k, void *p) {
    subset_ctx *ctx = p;
    nox_ec_privkey sub[NOX_TH_MAX_NODES];
    uint8_t got[33];
    for (size_t j = 0; j < k; j++) sub[j] = ctx->shares[idx[j] - 1];
    int ok = reconstruct_point(idx, sub, k, got) && !memcmp(got, ctx->public_key, 33);
    if (!ok) ctx->all_ok = 0;
}

static void does_not_reconstruct(const unsigned *idx, size_t k, void *p) {
    subset_ctx *ctx = p;
    nox_ec_privkey sub[NOX_TH_MAX_NODES];
    uint8_t got[33];
    for (size_t j = 0; j < k; j++) sub[j] = ctx->shares[idx[j] - 1];
    if (reconstruct_point(idx, sub, k, got) && !memcmp(got, ctx->public_key, 33)) ctx->all_ok = 0;
}

static void test_deal_round_trips(void) {
    static const unsigned sizes[][2] = {{1, 1}, {2, 3}, {3, 5}, {5, 5}, {1, 4}, {4, 32}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        unsigned t = sizes[s][0], n = sizes[s][1];
        nox_ec_privkey secret, shares[NOX_TH_MAX_NODES];
        nox_th_group g;
        nox_error err = {0};
        uint8_t p[33];
        split(t, n, &secret, &g, shares);
        point_of(&secret, p);
        CU_ASSERT_EQUAL(memcmp(g.public_key, p, 33), 0);
        CU_ASSERT_EQUAL(g.threshold, t);
        CU_ASSERT_EQUAL(g.nodes, n);
        CU_ASSERT_EQUAL(nox_th_group_check(&g, &err), NOX_OK);
        for (unsigned i = 0; i < n; i++) { /* P_i = d_i·G */
            uint8_t vk[33];
            point_of(&shares[i], vk);
            CU_ASSERT_EQUAL(memcmp(vk, g.verification_keys[i], 33), 0);
        }
        subset_ctx ctx = {shares, g.public_key, 1};
        if (n <= 5) each_subset(n, t, reconstructs, &ctx);
        else reconstructs((const unsigned[]){3, 9, 17, 32}, 4, &ctx);
        CU_ASSERT_TRUE(ctx.all_ok); /* every t-subset gives d */
        if (t > 1) {
            ctx.all_ok = 1;
            if (n <= 5) each_subset(n, t - 1, does_not_reconstruct, &ctx);
            else does_not_reconstruct((const unsigned[]){3, 9, 17}, 3, &ctx);
            CU_ASSERT_TRUE(ctx.all_ok); /* no (t-1)-subset does */
        }
        for (unsigned i = 0; i < n; i++) nox_ec_key_wipe(&shares[i]);

        /* a fresh random secret: t shares still give the P of the group */
        CU_ASSERT_EQUAL_FATAL(nox_th_deal(NULL, t, n, &g, shares, &err), NOX_OK);
        ctx = (subset_ctx){shares, g.public_key, 1};
        reconstructs((const unsigned[]){1, 2, 3, 4, 5}, t, &ctx);
        CU_ASSERT_TRUE(ctx.all_ok);
    }
}

static void test_deal_refusals(void) {
    nox_ec_privkey shares[NOX_TH_MAX_NODES], zero;
    nox_th_group g;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_th_deal(NULL, 0, 3, &g, shares, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "threshold 0");
    CU_ASSERT_EQUAL(nox_th_deal(NULL, 4, 3, &g, shares, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_th_deal(NULL, 1, 33, &g, shares, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "33 nodes");
    CU_ASSERT_EQUAL(nox_th_deal(NULL, 0, 0, &g, shares, &err), NOX_ERR_INVALID);
    memset(&zero, 0, sizeof zero);
    CU_ASSERT_EQUAL(nox_th_deal(&zero, 2, 3, &g, shares, &err), NOX_ERR_INVALID);
}

/* ---- partials ------------------------------------------------------------------------------------------------- */

/* One key's partial and its proof: a batch of one. */
static nox_status partial1(const nox_ec_privkey *share, const uint8_t k[33], uint8_t r[33], uint8_t proof[64],
                           nox_error *err) {
    uint8_t pair[1][NOX_TH_PAIR_SIZE];
    nox_status st = nox_th_partials(share, (const uint8_t(*)[33])k, 1, pair, proof, err);
    if (!st) memcpy(r, pair[0] + 33, 33);
    return st;
}

static nox_status verify1(const uint8_t vk[33], const uint8_t k[33], const uint8_t r[33], const uint8_t proof[64],
                          nox_error *err) {
    uint8_t pair[1][NOX_TH_PAIR_SIZE];
    memcpy(pair[0], k, 33);
    memcpy(pair[0] + 33, r, 33);
    return nox_th_verify_partials(vk, (const uint8_t(*)[NOX_TH_PAIR_SIZE])pair, 1, proof, err);
}

static void test_partial_verify(void) {
    nox_ec_privkey secret, shares[NOX_TH_MAX_NODES], k = random_key();
    nox_th_group g;
    nox_error err = {0};
    uint8_t kp[33], r[33], proof[64], r2[33], proof2[64], bad[64], other_k[33];
    split(2, 3, &secret, &g, shares);
    point_of(&k, kp);
    CU_ASSERT_EQUAL_FATAL(partial1(&shares[1], kp, r, proof, &err), NOX_OK);
    CU_ASSERT_EQUAL(verify1(g.verification_keys[1], kp, r, proof, &err), NOX_OK);
    /* two partials differ in their proofs (fresh nonces), not in R */
    CU_ASSERT_EQUAL_FATAL(partial1(&shares[1], kp, r2, proof2, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(r, r2, 33), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(proof, proof2, 64), 0);

    /* a wrong partial: node 3's R with node 2's proof */
    CU_ASSERT_EQUAL_FATAL(partial1(&shares[2], kp, r2, proof2, &err), NOX_OK);
    CU_ASSERT_EQUAL(verify1(g.verification_keys[1], kp, r2, proof, &err), NOX_ERR_AUTH);
    ASSERT_CONTAINS(err.message, "the DLEQ proof does not verify");
    /* a wrong K */
    nox_ec_privkey k2 = random_key();
    point_of(&k2, other_k);
    CU_ASSERT_EQUAL(verify1(g.verification_keys[1], other_k, r, proof, &err), NOX_ERR_AUTH);
    /* a wrong verification key */
    CU_ASSERT_EQUAL(verify1(g.verification_keys[0], kp, r, proof, &err), NOX_ERR_AUTH);
    /* a flipped bit in c, in z */
    for (int at = 0; at < 64; at += 63) {
        memcpy(bad, proof, 64);
        bad[at] ^= at ? 0x01 : 0x40;
        nox_status st = verify1(g.verification_keys[1], kp, r, bad, &err);
        CU_ASSERT_TRUE(st == NOX_ERR_AUTH || (at == 0 && st == NOX_ERR_INVALID)); /* c may cross n: 2^-126 */
    }
    /* z = n, c = n, z = 0 */
    memcpy(bad, proof, 64);
    nox_test_from_hex(ORDER_HEX, bad + 32, 32);
    CU_ASSERT_EQUAL(verify1(g.verification_keys[1], kp, r, bad, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "z is not below the group order");
    memcpy(bad, proof, 64);
    nox_test_from_hex(ORDER_HEX, bad, 32);
    CU_ASSERT_EQUAL(verify1(g.verification_keys[1], kp, r, bad, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "c is not below the group order");
    memcpy(bad, proof, 64);
    memset(bad + 32, 0, 32);
    CU_ASSERT_EQUAL(verify1(g.verification_keys[1], kp, r, bad, &err), NOX_ERR_AUTH);
    /* points that do not parse */
    uint8_t off[33] = {0x02, [32] = 5}; /* x = 5: not on the curve */
    CU_ASSERT_EQUAL(verify1(off, kp, r, proof, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "verification key");
    CU_ASSERT_EQUAL(verify1(g.verification_keys[1], off, r, proof, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "ephemeral key");
    CU_ASSERT_EQUAL(verify1(g.verification_keys[1], kp, off, proof, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "partial");
    uint8_t k04[33];
    memcpy(k04, kp, 33);
    k04[0] = 0x04;
    CU_ASSERT_EQUAL(partial1(&shares[1], k04, r2, proof2, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "ephemeral key [0]: not a compressed secp256k1 point");
    CU_ASSERT_EQUAL(partial1(&shares[1], off, r2, proof2, &err), NOX_ERR_INVALID);
}

/* A batch of m keys, one proof: every partial right, any single change refused. */
static void test_partial_batches(void) {
    enum { M = 7 };
    nox_ec_privkey secret, shares[NOX_TH_MAX_NODES];
    nox_th_group g;
    nox_error err = {0};
    uint8_t ks[M][33], pairs[M][NOX_TH_PAIR_SIZE], bad[M][NOX_TH_PAIR_SIZE], proof[64], proof2[64];
    split(2, 3, &secret, &g, shares);
    for (int j = 0; j < M; j++) {
        nox_ec_privkey k = random_key();
        point_of(&k, ks[j]);
    }
    const uint8_t(*cpairs)[NOX_TH_PAIR_SIZE] = (const uint8_t(*)[NOX_TH_PAIR_SIZE])pairs;
    CU_ASSERT_EQUAL_FATAL(nox_th_partials(&shares[2], (const uint8_t(*)[33])ks, M, pairs, proof, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[2], cpairs, M, proof, &err), NOX_OK);
    for (int j = 0; j < M; j++) { /* each R_j = d_3·K_j: the same as a batch of one */
        uint8_t r[33], p1[64];
        CU_ASSERT_EQUAL(memcmp(pairs[j], ks[j], 33), 0);
        CU_ASSERT_EQUAL_FATAL(partial1(&shares[2], ks[j], r, p1, &err), NOX_OK);
        CU_ASSERT_EQUAL(memcmp(pairs[j] + 33, r, 33), 0);
    }
    /* another node's key, a prefix of the batch, a reordered batch, a duplicated pair: refused */
    CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[1], cpairs, M, proof, &err), NOX_ERR_AUTH);
    ASSERT_CONTAINS(err.message, "the DLEQ proof does not verify");
    CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[2], cpairs, M - 1, proof, &err), NOX_ERR_AUTH);
    memcpy(bad, pairs, sizeof bad);
    memcpy(bad[0], pairs[1], NOX_TH_PAIR_SIZE);
    memcpy(bad[1], pairs[0], NOX_TH_PAIR_SIZE);
    CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[2], (const uint8_t(*)[NOX_TH_PAIR_SIZE])bad, M, proof,
                                           &err), NOX_ERR_AUTH);
    /* one wrong partial anywhere in the batch (node 2's R_j in node 3's envelope): refused */
    for (int j = 0; j < M; j += 3) {
        uint8_t r[33], p1[64];
        memcpy(bad, pairs, sizeof bad);
        CU_ASSERT_EQUAL_FATAL(partial1(&shares[1], ks[j], r, p1, &err), NOX_OK);
        memcpy(bad[j] + 33, r, 33);
        CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[2], (const uint8_t(*)[NOX_TH_PAIR_SIZE])bad, M,
                                               proof, &err), NOX_ERR_AUTH);
        /* and the liar's own fresh proof over its wrong batch does not help it either */
        uint8_t mine[M][NOX_TH_PAIR_SIZE];
        CU_ASSERT_EQUAL_FATAL(nox_th_partials(&shares[1], (const uint8_t(*)[33])ks, M, mine, proof2, &err), NOX_OK);
        CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[2], (const uint8_t(*)[NOX_TH_PAIR_SIZE])mine, M,
                                               proof2, &err), NOX_ERR_AUTH);
    }
    /* sizes: none, too many; a point that does not parse names its index, and nothing is left written */
    CU_ASSERT_EQUAL(nox_th_partials(&shares[2], (const uint8_t(*)[33])ks, 0, pairs, proof, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "1 to 1024");
    CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[2], cpairs, 0, proof, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[2], cpairs, NOX_TH_MAX_BATCH + 1, proof, &err),
                    NOX_ERR_INVALID);
    memcpy(bad, pairs, sizeof bad);
    ks[4][0] = 0x04;
    CU_ASSERT_EQUAL(nox_th_partials(&shares[2], (const uint8_t(*)[33])ks, M, pairs, proof2, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "ephemeral key [4]: not a compressed secp256k1 point");
    static const uint8_t zeros[M][NOX_TH_PAIR_SIZE];
    CU_ASSERT_EQUAL(memcmp(pairs, zeros, sizeof pairs), 0); /* the partials computed before [4] are wiped */
    bad[5][33] = 0x05;
    CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[2], (const uint8_t(*)[NOX_TH_PAIR_SIZE])bad, M, proof,
                                           &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "partial [5]");
}

/* ---- combination ------------------------------------------------------------------------------------------------ */

typedef struct combine_ctx {
    const uint8_t (*partials)[33];
    const uint8_t *want;
    int all_ok;
} combine_ctx;

static void combines(const unsigned *idx, size_t k, void *p) {
    combine_ctx *ctx = p;
    uint8_t sub[NOX_TH_MAX_NODES][33], x[32];
    nox_error err = {0};
    for (size_t j = 0; j < k; j++) memcpy(sub[j], ctx->partials[idx[j] - 1], 33);
    if (nox_th_combine(idx, (const uint8_t(*)[33])sub, k, x, &err) || memcmp(x, ctx->want, 32)) ctx->all_ok = 0;
    if (k == 2) { /* the two-partial path, in the other order too */
        const unsigned rev[2] = {idx[1], idx[0]};
        memcpy(sub[0], ctx->partials[rev[0] - 1], 33);
        memcpy(sub[1], ctx->partials[rev[1] - 1], 33);
        if (nox_th_combine(rev, (const uint8_t(*)[33])sub, 2, x, &err) || memcmp(x, ctx->want, 32)) ctx->all_ok = 0;
    }
}

static void test_combine(void) {
    static const unsigned sizes[][2] = {{1, 1}, {1, 3}, {2, 3}, {3, 5}, {5, 5}, {2, 32}}; /* 2 of 32: b − a up to 31 */
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        unsigned t = sizes[s][0], n = sizes[s][1];
        nox_ec_privkey secret, shares[NOX_TH_MAX_NODES], k = random_key();
        nox_th_group g;
        nox_error err = {0};
        uint8_t kp[33], partials[NOX_TH_MAX_NODES][33], proof[64], want[32], x[32];
        split(t, n, &secret, &g, shares);
        point_of(&k, kp);
        nox_ec_pubkey kpub;
        CU_ASSERT_FATAL(nox_ec_pubkey_parse(&kpub, kp, 33, &err) == NOX_OK);
        CU_ASSERT_FATAL(nox_ec_ecdh_x(&secret, &kpub, want, &err) == NOX_OK); /* what ECIES decryption uses */
        for (unsigned i = 0; i < n; i++) {
            CU_ASSERT_EQUAL_FATAL(partial1(&shares[i], kp, partials[i], proof, &err), NOX_OK);
            CU_ASSERT_EQUAL(verify1(g.verification_keys[i], kp, partials[i], proof, &err), NOX_OK);
        }
        combine_ctx ctx = {(const uint8_t(*)[33])partials, want, 1};
        each_subset(n, t, combines, &ctx);
        CU_ASSERT_TRUE(ctx.all_ok);
        if (t > 1) { /* a wrong partial gives another x */
            unsigned idx[NOX_TH_MAX_NODES];
            uint8_t sub[NOX_TH_MAX_NODES][33];
            for (unsigned j = 0; j < t; j++) idx[j] = j + 1, memcpy(sub[j], partials[j], 33);
            memcpy(sub[0], partials[t < n ? t : 1], 33); /* another node's partial in node 1's place */
            CU_ASSERT_EQUAL(nox_th_combine(idx, (const uint8_t(*)[33])sub, t, x, &err), NOX_OK);
            CU_ASSERT_NOT_EQUAL(memcmp(x, want, 32), 0);
            CU_ASSERT_EQUAL(nox_th_combine(idx, (const uint8_t(*)[33])partials, t - 1, x, &err), NOX_OK);
            CU_ASSERT_NOT_EQUAL(memcmp(x, want, 32), 0); /* t − 1 partials */
        }
        /* the same x as plain ECDH against the group's P with k */
        uint8_t via_p[32];
        ecdh_x(&k, g.public_key, via_p);
        CU_ASSERT_EQUAL(memcmp(via_p, want, 32), 0);
    }
}

static void test_combine_single_and_refusals(void) {
    nox_ec_privkey d = random_key(), k = random_key();
    nox_th_group g;
    nox_error err = {0};
    uint8_t p[33], kp[33], r[33], proof[64], x[32], want[32];
    point_of(&d, p);
    point_of(&k, kp);
    CU_ASSERT_EQUAL_FATAL(nox_th_group_single(p, &g, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_th_group_check(&g, &err), NOX_OK);
    CU_ASSERT_EQUAL(g.threshold, 1);
    CU_ASSERT_EQUAL(g.nodes, 1);
    unsigned index = 0;
    CU_ASSERT_EQUAL(nox_th_share_check(&g, &d, &index, &err), NOX_OK);
    CU_ASSERT_EQUAL(index, 1);
    CU_ASSERT_EQUAL_FATAL(partial1(&d, kp, r, proof, &err), NOX_OK);
    CU_ASSERT_EQUAL(verify1(g.verification_keys[0], kp, r, proof, &err), NOX_OK);
    const unsigned one[] = {1}, two[] = {1, 1}, zero[] = {0};
    CU_ASSERT_EQUAL(nox_th_combine(one, (const uint8_t(*)[33])&r, 1, x, &err), NOX_OK);
    ecdh_x(&d, kp, want);
    CU_ASSERT_EQUAL(memcmp(x, want, 32), 0);
    CU_ASSERT_EQUAL(memcmp(x, r + 1, 32), 0); /* λ = 1: the x of R itself */

    uint8_t rr[2][33];
    memcpy(rr[0], r, 33);
    memcpy(rr[1], r, 33);
    memset(x, 0xAA, sizeof x);
    CU_ASSERT_EQUAL(nox_th_combine(two, (const uint8_t(*)[33])rr, 2, x, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "appears twice");
    static const uint8_t zero32[32];
    CU_ASSERT_EQUAL(memcmp(x, zero32, 32), 0); /* zeroed on failure */
    CU_ASSERT_EQUAL(nox_th_combine(zero, (const uint8_t(*)[33])rr, 1, x, &err), NOX_ERR_INVALID);
    rr[0][0] = 0x04;
    CU_ASSERT_EQUAL(nox_th_combine(one, (const uint8_t(*)[33])rr, 1, x, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "partials[0] (node 1): not a compressed secp256k1 point");
    /* nodes 1 and 2 (λ = 2 and −1) with R_1 = K and R_2 = 2K: 2K − 2K is the point at infinity */
    const unsigned s12[] = {1, 2};
    nox_ec_privkey k2 = k;
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *n = NULL, *a = BN_bin2bn(k.d, 32, NULL);
    BN_hex2bn(&n, ORDER_HEX + 2);
    BN_mod_add(a, a, a, n, bc);
    BN_bn2binpad(a, k2.d, 32);
    BN_free(n), BN_free(a);
    BN_CTX_free(bc);
    point_of(&k, rr[0]);
    point_of(&k2, rr[1]);
    CU_ASSERT_EQUAL(nox_th_combine(s12, (const uint8_t(*)[33])rr, 2, x, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "the partials sum to the point at infinity");
}

/* ---- the group file ----------------------------------------------------------------------------------------- */

static nox_status from_text(const char *text, nox_th_group *g, nox_error *err) {
    return nox_th_group_from_json(text, strlen(text), g, err);
}

/* The JSON of g with `from` replaced by `to` (the first occurrence), into out. */
static void edited(const nox_th_group *g, const char *from, const char *to, char *out, size_t cap) {
    char *json = nox_th_group_to_json(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    char *at = strstr(json, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    snprintf(out, cap, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    free(json);
}

static void expect_json_refused(const char *text, const char *needle) {
    nox_th_group g;
    nox_error err = {0};
    CU_ASSERT_EQUAL(from_text(text, &g, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, needle);
}

static void test_group_json(void) {
    nox_ec_privkey secret, shares[NOX_TH_MAX_NODES];
    nox_th_group g, back;
    nox_error err = {0};
    split(3, 5, &secret, &g, shares);
    char *json = nox_th_group_to_json(&g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_EQUAL(json[strlen(json) - 1], '\n');
    ASSERT_CONTAINS(json, "\"version\": 1,\n");
    ASSERT_CONTAINS(json, "\"threshold\": 3,\n");
    ASSERT_CONTAINS(json, "\"nodes\": 5,\n");
    CU_ASSERT_EQUAL(from_text(json, &back, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(&g, &back, sizeof g), 0);
    char fp[19], fp2[19];
    nox_th_group_fingerprint(&g, fp);
    nox_th_group_fingerprint(&back, fp2);
    CU_ASSERT_EQUAL(strlen(fp), 18);
    CU_ASSERT_STRING_EQUAL(fp, fp2);
    { /* as documented: keccak256(t ‖ n (4 bytes big-endian each) ‖ C_0..C_{t-1} ‖ P_1..P_n), first 8 bytes */
        uint8_t buf[8 + 8 * 33] = {0, 0, 0, 3, 0, 0, 0, 5}, digest[32];
        memcpy(buf + 8, g.commitments, 3 * 33);
        memcpy(buf + 8 + 3 * 33, g.verification_keys, 5 * 33);
        nox_keccak256(buf, sizeof buf, digest);
        nox_hex_encode(digest, 8, fp2);
        CU_ASSERT_STRING_EQUAL(fp, fp2);
    }
    char hex[69], text[8192], other[69];
    hex33(g.public_key, hex);

    /* syntax and members */
    expect_json_refused("{\"version\": 1, \"version\": 1}", "duplicate");
    expect_json_refused("[1]", "expected a JSON object");
    expect_json_refused("{", "invalid JSON");
    static const char *const members[] = {"\"version\"", "\"threshold\"", "\"nodes\"", "\"publicKey\"",
                                          "\"commitments\"", "\"verificationKeys\""};
    for (size_t i = 0; i < 6; i++) { /* each member missing (renamed: refused as unknown, or missing) */
        edited(&g, members[i], "\"x\"", text, sizeof text);
        expect_json_refused(text, "unknown member \"x\"");
    }
    edited(&g, "\"nodes\": 5,\n", "", text, sizeof text);
    expect_json_refused(text, "nodes: missing");
    edited(&g, "  \"publicKey\"", "  \"commitmentz\": 1,\n  \"publicKey\"", text, sizeof text);
    expect_json_refused(text, "unknown member \"commitmentz\"");
    edited(&g, "\"version\": 1", "\"version\": 2", text, sizeof text);
    expect_json_refused(text, "version: 2 is out of range 1..1");
    edited(&g, "\"threshold\": 3", "\"threshold\": \"3\"", text, sizeof text);
    expect_json_refused(text, "threshold: expected an integer, got a string");

    /* counts */
    edited(&g, "\"threshold\": 3", "\"threshold\": 0", text, sizeof text);
    expect_json_refused(text, "threshold: 0 is out of range");
    edited(&g, "\"threshold\": 3", "\"threshold\": 6", text, sizeof text);
    expect_json_refused(text, "threshold: 6 is more than the 5 nodes");
    edited(&g, "\"nodes\": 5", "\"nodes\": 33", text, sizeof text);
    expect_json_refused(text, "nodes: 33 is out of range 1..32");
    edited(&g, "\"threshold\": 3", "\"threshold\": 2", text, sizeof text);
    expect_json_refused(text, "commitments: 3 entries; expected 2 (the threshold)");
    edited(&g, "\"nodes\": 5", "\"nodes\": 4", text, sizeof text);
    expect_json_refused(text, "verificationKeys: 5 entries; expected 4 (the nodes)");

    /* points */
    hex33(g.commitments[1], other);
    edited(&g, other, "0x020000000000000000000000000000000000000000000000000000000000000005", text, sizeof text);
    expect_json_refused(text, "commitments[1]: not a compressed secp256k1 point");
    char unc[69];
    snprintf(unc, sizeof unc, "%s", other);
    unc[3] = '4'; /* prefix 0x04 */
    edited(&g, other, unc, text, sizeof text);
    expect_json_refused(text, "commitments[1]: not a compressed secp256k1 point");
    edited(&g, other, "0x02", text, sizeof text);
    expect_json_refused(text, "commitments[1]: ");
    /* a verification key of another polynomial (node 3's key replaced by node 4's) */
    hex33(g.verification_keys[2], other);
    hex33(g.verification_keys[3], unc);
    edited(&g, other, unc, text, sizeof text);
    expect_json_refused(text, "verificationKeys[2] (node 3) is not on the commitments' polynomial");
    /* P that is not C_0: in the publicKey member only */
    nox_ec_privkey d2 = random_key();
    uint8_t p2[33];
    point_of(&d2, p2);
    hex33(p2, other);
    char from[100], to[100];
    snprintf(from, sizeof from, "\"publicKey\": \"%s\"", hex);
    snprintf(to, sizeof to, "\"publicKey\": \"%s\"", other);
    edited(&g, from, to, text, sizeof text);
    expect_json_refused(text, "commitments[0] is not publicKey");
    /* the group check refuses a struct with the same faults */
    back = g;
    back.verification_keys[4][5] ^= 1;
    nox_status st = nox_th_group_check(&back, &err);
    CU_ASSERT_EQUAL(st, NOX_ERR_INVALID);
    back = g;
    back.threshold = 6;
    CU_ASSERT_EQUAL(nox_th_group_check(&back, &err), NOX_ERR_INVALID);
    back = g;
    back.nodes = 33;
    CU_ASSERT_EQUAL(nox_th_group_check(&back, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NULL(nox_th_group_to_json(&back));
    /* other groups, other fingerprints */
    nox_th_group g2;
    split(3, 5, &secret, &g2, shares);
    nox_th_group_fingerprint(&g2, fp2);
    CU_ASSERT_STRING_NOT_EQUAL(fp, fp2);
    free(json);
}

static void test_group_file(void) {
    nox_ec_privkey secret, shares[NOX_TH_MAX_NODES];
    nox_th_group g, back;
    nox_error err = {0};
    char path[256], other[256];
    struct stat sb;
    snprintf(path, sizeof path, "%s/group.json", dir);
    split(2, 3, &secret, &g, shares);
    umask(077); /* the file is public whatever the umask */
    CU_ASSERT_EQUAL_FATAL(nox_th_group_save(&g, path, &err), NOX_OK);
    umask(022);
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0644);
    CU_ASSERT_EQUAL(nox_th_group_load(path, &back, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(&g, &back, sizeof g), 0);
    /* a new group replaces the file */
    split(3, 5, &secret, &g, shares);
    CU_ASSERT_EQUAL(nox_th_group_save(&g, path, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_th_group_load(path, &back, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(&g, &back, sizeof g), 0);
    /* an inconsistent group is not written */
    back.verification_keys[0][7] ^= 1;
    CU_ASSERT_EQUAL(nox_th_group_save(&back, path, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_th_group_load(path, &back, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(&g, &back, sizeof g), 0);
    /* errors name the file */
    snprintf(other, sizeof other, "%s/missing.json", dir);
    CU_ASSERT_EQUAL(nox_th_group_load(other, &back, &err), NOX_ERR_IO);
    ASSERT_CONTAINS(err.message, other);
    snprintf(other, sizeof other, "%s/bad.json", dir);
    nox_test_write_file(other, "{\"version\": 1}", 0644);
    CU_ASSERT_EQUAL(nox_th_group_load(other, &back, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, other);
    ASSERT_CONTAINS(err.message, "nodes: missing");
    char *big = malloc(70000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, ' ', 69999);
    big[69999] = '\0';
    nox_test_write_file(other, big, 0644);
    free(big);
    CU_ASSERT_EQUAL(nox_th_group_load(other, &back, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "longer than 65536 bytes");
    CU_ASSERT_EQUAL(nox_th_group_load(dir, &back, &err), NOX_ERR_IO);
    snprintf(other, sizeof other, "%s/no/such/dir/group.json", dir);
    CU_ASSERT_EQUAL(nox_th_group_save(&g, other, &err), NOX_ERR_IO);
}

/* ---- share check --------------------------------------------------------------------------------------------- */

/* share + 1 mod n, by BIGNUM. */
static nox_ec_privkey plus_one(const nox_ec_privkey *s) {
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *n = NULL, *a = BN_bin2bn(s->d, 32, NULL);
    BN_hex2bn(&n, ORDER_HEX + 2);
    BN_add_word(a, 1);
    BN_mod(a, a, n, bc);
    nox_ec_privkey out;
    BN_bn2binpad(a, out.d, 32);
    BN_free(n), BN_free(a);
    BN_CTX_free(bc);
    return out;
}

static void test_share_check(void) {
    nox_ec_privkey secret, shares[NOX_TH_MAX_NODES], other[NOX_TH_MAX_NODES];
    nox_th_group g, g2;
    nox_error err = {0};
    unsigned index = 0;
    split(3, 5, &secret, &g, shares);
    split(3, 5, &secret, &g2, other);
    for (unsigned i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(nox_th_share_check(&g, &shares[i], &index, &err), NOX_OK);
        CU_ASSERT_EQUAL(index, i + 1);
    }
    char fp[19], share_hex[67];
    nox_th_group_fingerprint(&g, fp);
    CU_ASSERT_EQUAL(nox_th_share_check(&g, &other[0], &index, &err), NOX_ERR_AUTH);
    ASSERT_CONTAINS(err.message, "the share is not any node's of group");
    ASSERT_CONTAINS(err.message, fp);
    nox_ec_privkey tampered = plus_one(&shares[1]);
    CU_ASSERT_EQUAL(nox_th_share_check(&g, &tampered, &index, &err), NOX_ERR_AUTH);
    nox_hex_encode(tampered.d, 32, share_hex);
    CU_ASSERT_PTR_NULL(strstr(err.message, share_hex + 2)); /* never quoted */
    /* a group whose P_i is not on its commitments */
    g2 = g;
    memcpy(g2.commitments[2], g2.commitments[1], 33);
    CU_ASSERT_EQUAL(nox_th_share_check(&g2, &shares[1], &index, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "verificationKeys[1] (node 2) is not on the commitments' polynomial");
}

/* ---- resharing --------------------------------------------------------------------------------------------------- */

/* Every new node's view: new_shares[j-1] and the group (all nodes' groups equal), from the old set. */
static void reshare(const nox_th_group *old, const nox_ec_privkey *old_shares, const unsigned *old_set, unsigned new_t,
                    unsigned new_n, nox_ec_privkey *new_shares, nox_th_group *new_group,
                    nox_th_contribution (*cts)[NOX_TH_MAX_NODES]) {
    size_t k = old->threshold;
    nox_error err = {0};
    nox_ec_privkey subs[NOX_TH_MAX_NODES][NOX_TH_MAX_NODES]; /* [dealer slot][new node] */
    uint8_t commitments[NOX_TH_MAX_NODES][NOX_TH_MAX_NODES][33];
    unsigned dealers[NOX_TH_MAX_NODES];
    for (size_t i = 0; i < k; i++) {
        nox_status st = nox_th_reshare_deal(old, &old_shares[old_set[i] - 1], old_set, k, new_t, new_n, &dealers[i],
                                            commitments[i], subs[i], &err);
        if (st) fprintf(stderr, "reshare_deal: %s\n", err.message);
        CU_ASSERT_EQUAL_FATAL(st, NOX_OK);
        CU_ASSERT_EQUAL(dealers[i], old_set[i]);
    }
    for (unsigned j = 1; j <= new_n; j++) {
        for (size_t i = 0; i < k; i++) { /* in reverse order: any order is fine */
            nox_th_contribution *c = &cts[j - 1][k - 1 - i];
            c->dealer = dealers[i];
            memcpy(c->commitments, commitments[i], sizeof commitments[i]);
            c->subshare = subs[i][j - 1];
        }
        nox_th_group g;
        nox_status st = nox_th_reshare_combine(old, old_set, k, cts[j - 1], new_t, new_n, j, &new_shares[j - 1], &g,
                                               &err);
        if (st) fprintf(stderr, "reshare_combine: %s\n", err.message);
        CU_ASSERT_EQUAL_FATAL(st, NOX_OK);
        if (j == 1) *new_group = g;
        CU_ASSERT_EQUAL(memcmp(&g, new_group, sizeof g), 0);
    }
}

static void check_reshared(const nox_th_group *old, const nox_th_group *g, const nox_ec_privkey *shares,
                           const nox_ec_privkey *old_shares) {
    nox_error err = {0};
    CU_ASSERT_EQUAL(memcmp(g->public_key, old->public_key, 33), 0); /* P unchanged */
    CU_ASSERT_EQUAL(nox_th_group_check(g, &err), NOX_OK);
    for (unsigned j = 1; j <= g->nodes; j++) {
        unsigned index = 0;
        CU_ASSERT_EQUAL(nox_th_share_check(g, &shares[j - 1], &index, &err), NOX_OK);
        CU_ASSERT_EQUAL(index, j);
    }
    subset_ctx ctx = {shares, g->public_key, 1};
    each_subset(g->nodes, g->threshold, reconstructs, &ctx);
    CU_ASSERT_TRUE(ctx.all_ok);
    if (g->threshold > 1) {
        ctx.all_ok = 1;
        each_subset(g->nodes, g->threshold - 1, does_not_reconstruct, &ctx);
        CU_ASSERT_TRUE(ctx.all_ok);
    }
    /* an old share in place of node 1's new one: not d (the new shares lie on a fresh polynomial) */
    nox_ec_privkey mixed[NOX_TH_MAX_NODES];
    unsigned idx[NOX_TH_MAX_NODES];
    for (unsigned j = 0; j < g->threshold; j++) idx[j] = j + 1, mixed[j] = shares[j];
    mixed[0] = old_shares[0];
    ctx = (subset_ctx){mixed, g->public_key, 1};
    does_not_reconstruct(idx, g->threshold, &ctx);
    CU_ASSERT_TRUE(ctx.all_ok);
}

static void test_reshare(void) {
    nox_ec_privkey secret, s1[NOX_TH_MAX_NODES], s2[NOX_TH_MAX_NODES], s3[NOX_TH_MAX_NODES];
    nox_th_group g1, g2, g3;
    static nox_th_contribution cts[NOX_TH_MAX_NODES][NOX_TH_MAX_NODES];
    nox_error err = {0};
    split(2, 3, &secret, &g1, s1);
    const unsigned set1[] = {3, 1}, set2[] = {2, 5, 4};
    reshare(&g1, s1, set1, 3, 5, s2, &g2, cts); /* 2-of-3 -> 3-of-5 */
    check_reshared(&g1, &g2, s2, s1);
    reshare(&g2, s2, set2, 2, 3, s3, &g3, cts); /* 3-of-5 -> 2-of-3 */
    check_reshared(&g2, &g3, s3, s2);
    CU_ASSERT_NOT_EQUAL(memcmp(&g3, &g1, sizeof g1), 0); /* a fresh polynomial, same P */

    /* the contributions new node 2 of g3 received (from the last reshare), tampered one way at a time */
    nox_th_contribution bad[NOX_TH_MAX_NODES];
    nox_ec_privkey share;
    nox_th_group g;
    const size_t k = 3;
    memcpy(bad, cts[1], sizeof bad);
    CU_ASSERT_EQUAL(nox_th_reshare_combine(&g2, set2, k, bad, 2, 3, 2, &share, &g, &err), NOX_OK);
    bad[1].subshare = plus_one(&bad[1].subshare);
    CU_ASSERT_EQUAL(nox_th_reshare_combine(&g2, set2, k, bad, 2, 3, 2, &share, &g, &err), NOX_ERR_AUTH);
    char want[80];
    snprintf(want, sizeof want, "the contribution of old node %u: the sub-share is not on its commitments",
             bad[1].dealer);
    ASSERT_CONTAINS(err.message, want);
    memcpy(bad, cts[1], sizeof bad);
    memcpy(bad[0].commitments[0], g2.public_key, 33); /* C_0 = P instead of λ·P_i */
    CU_ASSERT_EQUAL(nox_th_reshare_combine(&g2, set2, k, bad, 2, 3, 2, &share, &g, &err), NOX_ERR_AUTH);
    snprintf(want, sizeof want, "the contribution of old node %u: commitments[0] is not", bad[0].dealer);
    ASSERT_CONTAINS(err.message, want);
    memcpy(bad, cts[1], sizeof bad);
    bad[2].commitments[1][0] = 0x05;
    CU_ASSERT_EQUAL(nox_th_reshare_combine(&g2, set2, k, bad, 2, 3, 2, &share, &g, &err), NOX_ERR_INVALID);
    snprintf(want, sizeof want, "old node %u: commitments[1] is not a compressed", bad[2].dealer);
    ASSERT_CONTAINS(err.message, want);
    memcpy(bad, cts[1], sizeof bad);
    bad[2].dealer = bad[0].dealer;
    CU_ASSERT_EQUAL(nox_th_reshare_combine(&g2, set2, k, bad, 2, 3, 2, &share, &g, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "contributes twice");
    memcpy(bad, cts[1], sizeof bad);
    bad[2].dealer = 1;
    CU_ASSERT_EQUAL(nox_th_reshare_combine(&g2, set2, k, bad, 2, 3, 2, &share, &g, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "old node 1 is not in the old set");
    memcpy(bad, cts[1], sizeof bad);
    CU_ASSERT_EQUAL(nox_th_reshare_combine(&g2, set2, 2, bad, 2, 3, 2, &share, &g, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "the old set has 2 nodes; the old threshold is 3");
    CU_ASSERT_EQUAL(nox_th_reshare_combine(&g2, set2, k, bad, 2, 3, 4, &share, &g, &err), NOX_ERR_INVALID);
    /* a sub-share for another new node (node 3's in node 2's place) */
    memcpy(bad, cts[1], sizeof bad);
    bad[0].subshare = cts[2][0].subshare;
    CU_ASSERT_EQUAL(nox_th_reshare_combine(&g2, set2, k, bad, 2, 3, 2, &share, &g, &err), NOX_ERR_AUTH);

    /* reshare_deal refusals */
    uint8_t cs[NOX_TH_MAX_NODES][33];
    nox_ec_privkey subs[NOX_TH_MAX_NODES];
    unsigned dealer = 0;
    const unsigned not_mine[] = {2, 3, 4};
    CU_ASSERT_EQUAL(nox_th_reshare_deal(&g2, &s2[0], not_mine, 3, 2, 3, &dealer, cs, subs, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "this node (old node 1) is not in the old set");
    CU_ASSERT_EQUAL(nox_th_reshare_deal(&g2, &s1[0], set2, 3, 2, 3, &dealer, cs, subs, &err), NOX_ERR_AUTH);
    CU_ASSERT_EQUAL(nox_th_reshare_deal(&g2, &s2[1], set2, 3, 4, 3, &dealer, cs, subs, &err), NOX_ERR_INVALID);
    const unsigned dup[] = {2, 2, 4};
    CU_ASSERT_EQUAL(nox_th_reshare_deal(&g2, &s2[1], dup, 3, 2, 3, &dealer, cs, subs, &err), NOX_ERR_INVALID);
    const unsigned beyond[] = {2, 4, 6};
    CU_ASSERT_EQUAL(nox_th_reshare_deal(&g2, &s2[1], beyond, 3, 2, 3, &dealer, cs, subs, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "old set[2] is 6; node indices are 1..5");

    /* from a single key (1-of-1) to 2-of-3 */
    nox_ec_privkey d = random_key(), s4[NOX_TH_MAX_NODES];
    uint8_t p[33];
    nox_th_group single, g4;
    point_of(&d, p);
    CU_ASSERT_EQUAL_FATAL(nox_th_group_single(p, &single, &err), NOX_OK);
    const unsigned only[] = {1};
    reshare(&single, &d, only, 2, 3, s4, &g4, cts);
    check_reshared(&single, &g4, s4, &d);
}

/* ---- known answers (from the pure-Python reference of tests/cross/threshold.py) ----------------------------- */

#define KAT_SECRET "0x48ecf8ed16b20a7ca2bc6882caecc22aea92ae61b1f0d026153d23a80fd273ee"
#define KAT_A1 "0x4fd5fd6e0c36b564d0390beae1e80636db3f644aefa1d801b59c436d706d406d"
#define KAT_A2 ORDER_MINUS("3f") /* n − 2: C_2 = −2G */
#define KAT_K "0x033ee83cb99d421cbb2e4ab75ed5b4885b9358eeae14475117bc14359ead036991"
#define KAT_NONCE "0xda76b121c40a1ccf1093b0f4c574ff433e316ddbe85c78b36dad97319d25ba6f"

static const char *const KAT_SHARES[5] = {
    "0x98c2f65b22e8bfe172f5746dacd4c861c5d212aca192a827cad96715803fb459",
    "0xe898f3c92f1f7546432e80588ebcce98a11176f7913480298075aa82f0acf4c0",
    "0x386ef1373b562aab13678c4370a4d4d0c1a1fe5bd18db7ef763f8f6390e3f3e2",
    "0x8844eea5478ce00fe3a0982e528cdb079ce162a6c12f8ff12bdbd2d101513441",
    "0xd81aec1353c39574b3d9a4193474e13e7820c6f1b0d167f2e178163e71be749c",
};
static const char *const KAT_COMMITMENTS[3] = {
    "0x022da275db2d057a86e356ad075b4c9bd1038642b22e8d46f71988d8d139cc6dbd",
    "0x03f2d6ffb5ec5a7155e6b5cccad62f55d63f3f1c703ea4caa6ee38fcef3b66d986",
    "0x03c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5",
};
static const char *const KAT_VKS[5] = {
    "0x0270db3e0555300808a1f9d9a282932776cb9040ca1d4769413c8d09f123b184e8",
    "0x024dfe40cc7fc1f2db961be45e3da5121254ccef7f3f33d41095aa6fef0c1060df",
    "0x0394516269913a7fa35ca44ab4252e593f39adceda8993f77c3003a306a6eec313",
    "0x0270802d2617a56dc3066bd6aa440b58dd4ec93800dbff492d1c9886f5c5c66978",
    "0x0200ed5fe82bf50c64775a92c9234da832363a1d989bb610f6c846dc596067d530",
};
static const char *const KAT_PARTIALS_135[3] = {
    "0x020cb737ce841a3508c91d6f0ad765ba17221732f1bb214cf5c9390b23b533c7c9",
    "0x028825ee28de556be55e0ce866e9776cc137b8c73ccb5e6511c9614980ae3c02e3",
    "0x0353c035b93e02680d71e85f6e455e1f6ad55a3332515b859c89c8556557aa6492",
};
#define KAT_PARTIAL_2 "0x023a79eba935fcb643783ee957a525c9fbbfa54c4b2efe2aef2f58a78733868c2b"
#define KAT_PROOF_2                                                           \
    "0x846175b092dd7a2da391c69342c0896d555b3b825b9a365427730684d811ae98" \
    "2978f56cd1671f32c536e830b0eb0cf27a0852dad445a44bc43e5a9f024fbfb2"
#define KAT_X "0x58bc45f693385d12217276bd2cfad674fcf215fcca032208b092abb28c1539b9"
/* node 2's batch of two keys, K and 7·G, with the same nonce */
#define KAT_K2 "0x025cbdf0646e5db4eaa398f365f2ea7a0e3d419b7e0330e39ce92bddedcac4f9bc"
#define KAT_PARTIAL_2_K2 "0x02ac617f906f1ce0d91f607eeb64c1bd89a4436eacfc8414a0509a15297e73f3a7"
#define KAT_PROOF_2_BATCH                                                     \
    "0xc18ab396753ccf29ce870dfb531fddf863fbd0b1c53caad4d877d824777313896" \
    "248a7641409a6a2c19ecbe90e0663cc1b87619239b22ce48b79a5e93e696376"

static void test_known_answers(void) {
    nox_ec_privkey secret = key_of(KAT_SECRET), shares[5];
    uint8_t coeffs[2][32];
    nox_th_group g;
    nox_error err = {0};
    nox_test_from_hex(KAT_A1, coeffs[0], 32);
    nox_test_from_hex(KAT_A2, coeffs[1], 32);
    CU_ASSERT_EQUAL_FATAL(nox_th_deal_with(&secret, (const uint8_t(*)[32])coeffs, 3, 5, &g, shares, &err), NOX_OK);
    for (int i = 0; i < 5; i++) {
        ASSERT_HASH(shares[i].d, KAT_SHARES[i]);
        ASSERT_POINT(g.verification_keys[i], KAT_VKS[i]);
    }
    for (int k = 0; k < 3; k++) ASSERT_POINT(g.commitments[k], KAT_COMMITMENTS[k]);
    ASSERT_POINT(g.public_key, KAT_COMMITMENTS[0]);

    /* node 2's partial with a fixed nonce: a batch of one, then of two */
    uint8_t kp[33], partial[33], proof[64], want_proof[64], ks[2][33], pairs[2][NOX_TH_PAIR_SIZE];
    nox_ec_privkey r = key_of(KAT_NONCE);
    nox_test_from_hex(KAT_K, kp, 33);
    nox_test_from_hex(KAT_PROOF_2, want_proof, 64);
    CU_ASSERT_EQUAL_FATAL(nox_th_partials_with(&shares[1], (const uint8_t(*)[33])kp, 1, &r, pairs, proof, &err), NOX_OK);
    memcpy(partial, pairs[0] + 33, 33);
    ASSERT_POINT(partial, KAT_PARTIAL_2);
    CU_ASSERT_EQUAL(memcmp(proof, want_proof, 64), 0);
    CU_ASSERT_EQUAL(verify1(g.verification_keys[1], kp, partial, proof, &err), NOX_OK);
    memcpy(ks[0], kp, 33);
    nox_test_from_hex(KAT_K2, ks[1], 33);
    nox_test_from_hex(KAT_PROOF_2_BATCH, want_proof, 64);
    CU_ASSERT_EQUAL_FATAL(nox_th_partials_with(&shares[1], (const uint8_t(*)[33])ks, 2, &r, pairs, proof, &err), NOX_OK);
    ASSERT_POINT(pairs[0] + 33, KAT_PARTIAL_2);
    ASSERT_POINT(pairs[1] + 33, KAT_PARTIAL_2_K2);
    CU_ASSERT_EQUAL(memcmp(proof, want_proof, 64), 0);
    CU_ASSERT_EQUAL(nox_th_verify_partials(g.verification_keys[1], (const uint8_t(*)[NOX_TH_PAIR_SIZE])pairs, 2, proof,
                                           &err), NOX_OK);

    /* nodes 1, 3, 5 combine to x(d·K) */
    const unsigned s135[] = {1, 3, 5};
    uint8_t partials[3][33], x[32];
    for (int j = 0; j < 3; j++) {
        CU_ASSERT_EQUAL_FATAL(partial1(&shares[s135[j] - 1], kp, partials[j], proof, &err), NOX_OK);
        ASSERT_POINT(partials[j], KAT_PARTIALS_135[j]);
    }
    CU_ASSERT_EQUAL(nox_th_combine(s135, (const uint8_t(*)[33])partials, 3, x, &err), NOX_OK);
    ASSERT_HASH(x, KAT_X);

    /* the hook's refusals: a zero coefficient, a coefficient ≥ n */
    memset(coeffs[1], 0, 32);
    CU_ASSERT_EQUAL(nox_th_deal_with(&secret, (const uint8_t(*)[32])coeffs, 3, 5, &g, shares, &err), NOX_ERR_INVALID);
    nox_test_from_hex(ORDER_HEX, coeffs[1], 32);
    CU_ASSERT_EQUAL(nox_th_deal_with(&secret, (const uint8_t(*)[32])coeffs, 3, 5, &g, shares, &err), NOX_ERR_INVALID);
    /* a polynomial whose share 1 is zero: d + a_1 = 0 (1-of-… has no such; 2-of-2 with a_1 = −d) */
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *n = NULL, *a = BN_bin2bn(secret.d, 32, NULL);
    BN_hex2bn(&n, ORDER_HEX + 2);
    BN_sub(a, n, a);
    BN_bn2binpad(a, coeffs[0], 32);
    BN_free(n), BN_free(a);
    BN_CTX_free(bc);
    CU_ASSERT_EQUAL(nox_th_deal_with(&secret, (const uint8_t(*)[32])coeffs, 2, 2, &g, shares, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "a share of this polynomial is zero");
}

int main(void) {
    if (!mkdtemp(dir)) return 2;
    CU_TestInfo tests[] = {
        {"Lagrange coefficients", test_lagrange},
        {"deal and split round trips", test_deal_round_trips},
        {"deal refusals", test_deal_refusals},
        {"partials and their proofs", test_partial_verify},
        {"a batch of partials, one proof: any change refused", test_partial_batches},
        {"combination = ECDH", test_combine},
        {"single key and combine refusals", test_combine_single_and_refusals},
        {"group JSON", test_group_json},
        {"group file", test_group_file},
        {"share check", test_share_check},
        {"resharing", test_reshare},
        {"known answers", test_known_answers},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("threshold", tests);
    nox_test_rmtree(dir);
    return rc;
}
