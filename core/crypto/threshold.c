/*
 * The threshold key (nox/threshold.h): Shamir shares and Feldman commitments
 * over secp256k1, Lagrange coefficients, Chaum–Pedersen (DLEQ) partials, their
 * combination, and proactive resharing.
 *
 * libsecp256k1 does every point operation and every operation on a secret
 * scalar (its seckey tweaks are constant time; a secret times a point goes
 * through secp256k1_ecdh's constant-time ladder, never the variable-time
 * pubkey_tweak_mul). OpenSSL's BIGNUM does only public scalar math: Lagrange
 * coefficients and the reduction of a hash to a scalar.
 *
 * libsecp256k1 has no zero scalar and no point at infinity: a secret scalar
 * that comes out zero (probability 2^-256 per draw) makes a random draw start
 * again and anything else fail with a clear error.
 */
#include "nox/threshold.h"

#include "ec_internal.h"
#include "threshold_internal.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The group order n, big-endian. */
static const uint8_t ORDER[NOX_TH_SCALAR_SIZE] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
};

/* Draws before a random deal or partial gives up; each retry has probability ~2^-250. */
enum { MAX_TRIES = 16 };

#define NEED_CONTEXT(c)                                 \
    const secp256k1_context *c = nox_ec_context(err);   \
    if (!c) return NOX_ERR_NOMEM

/* ---- scalars ---------------------------------------------------------------------------------------------- */

/* 1 when the scalar is zero; reads every byte whatever the value. */
static int sc_is_zero(const uint8_t a[NOX_TH_SCALAR_SIZE]) {
    uint8_t acc = 0;
    for (size_t i = 0; i < NOX_TH_SCALAR_SIZE; i++) acc |= a[i];
    return acc == 0;
}

/* 1 when the (public) 32-byte value is below n. */
static int sc_below_order(const uint8_t a[NOX_TH_SCALAR_SIZE]) { return memcmp(a, ORDER, NOX_TH_SCALAR_SIZE) < 0; }

/* A small public integer as a scalar. */
static void sc_from_uint(uint8_t out[NOX_TH_SCALAR_SIZE], unsigned v) {
    memset(out, 0, NOX_TH_SCALAR_SIZE);
    for (int i = 0; i < 4; i++) out[NOX_TH_SCALAR_SIZE - 1 - i] = (uint8_t)(v >> (8 * i));
}

/*
 * r = a + b mod n, for a, b below n (zero allowed; r may alias either). The
 * branches tell only whether a value is zero, which a secret here is with
 * probability 2^-256.
 */
static void sc_add(const secp256k1_context *c, uint8_t r[NOX_TH_SCALAR_SIZE], const uint8_t a[NOX_TH_SCALAR_SIZE],
                   const uint8_t b[NOX_TH_SCALAR_SIZE]) {
    uint8_t t[NOX_TH_SCALAR_SIZE];
    if (sc_is_zero(a)) {
        memcpy(t, b, sizeof t);
    } else {
        memcpy(t, a, sizeof t);
        if (!secp256k1_ec_seckey_tweak_add(c, t, b)) memset(t, 0, sizeof t); /* only when a + b = 0 */
    }
    memcpy(r, t, sizeof t);
    OPENSSL_cleanse(t, sizeof t);
}

/* r = a·b mod n, for a, b below n (zero allowed; r may alias either). */
static void sc_mul(const secp256k1_context *c, uint8_t r[NOX_TH_SCALAR_SIZE], const uint8_t a[NOX_TH_SCALAR_SIZE],
                   const uint8_t b[NOX_TH_SCALAR_SIZE]) {
    uint8_t t[NOX_TH_SCALAR_SIZE] = {0};
    if (!sc_is_zero(a) && !sc_is_zero(b)) {
        memcpy(t, a, sizeof t);
        if (!secp256k1_ec_seckey_tweak_mul(c, t, b)) memset(t, 0, sizeof t); /* cannot happen: n is prime */
    }
    memcpy(r, t, sizeof t);
    OPENSSL_cleanse(t, sizeof t);
}

/* f(x) = Σ_k a_k·x^k mod n for the coefficients a[0..t), by Horner's rule. */
static void poly_eval(const secp256k1_context *c, const uint8_t (*a)[NOX_TH_SCALAR_SIZE], unsigned t, unsigned x,
                      uint8_t out[NOX_TH_SCALAR_SIZE]) {
    uint8_t acc[NOX_TH_SCALAR_SIZE], xs[NOX_TH_SCALAR_SIZE];
    sc_from_uint(xs, x);
    memcpy(acc, a[t - 1], sizeof acc);
    for (unsigned k = t - 1; k-- > 0;) {
        sc_mul(c, acc, acc, xs);
        sc_add(c, acc, acc, a[k]);
    }
    memcpy(out, acc, sizeof acc);
    OPENSSL_cleanse(acc, sizeof acc);
}

/* ---- points ----------------------------------------------------------------------------------------------- */

/* Parses a compressed point (33 bytes starting 0x02 or 0x03, on the curve); 0 when it is not one. */
static int point_parse(const secp256k1_context *c, secp256k1_pubkey *p, const uint8_t in[NOX_TH_POINT_SIZE]) {
    return (in[0] == 0x02 || in[0] == 0x03) && secp256k1_ec_pubkey_parse(c, p, in, NOX_TH_POINT_SIZE);
}

static void point_serialize(const secp256k1_context *c, uint8_t out[NOX_TH_POINT_SIZE], const secp256k1_pubkey *p) {
    size_t len = NOX_TH_POINT_SIZE;
    (void)secp256k1_ec_pubkey_serialize(c, out, &len, p, SECP256K1_EC_COMPRESSED);
}

/* secp256k1_ecdh's hash callback, made to hand back the whole point: x ‖ y. */
static int copy_xy(unsigned char *out, const unsigned char *x32, const unsigned char *y32, void *data) {
    (void)data;
    memcpy(out, x32, 32);
    memcpy(out + 32, y32, 32);
    return 1;
}

/*
 * out = k·q for a scalar k in [1, n-1], constant time in k and q (the ladder
 * of secp256k1_ecdh): for a secret scalar or a secret point. 0 on failure.
 */
static int mul_secret(const secp256k1_context *c, secp256k1_pubkey *out, const secp256k1_pubkey *q,
                      const uint8_t k[NOX_TH_SCALAR_SIZE]) {
    uint8_t xy[1 + 64];
    xy[0] = 0x04;
    int ok = secp256k1_ecdh(c, xy + 1, q, k, copy_xy, NULL) && secp256k1_ec_pubkey_parse(c, out, xy, sizeof xy);
    OPENSSL_cleanse(xy, sizeof xy);
    return ok;
}

/* p·x for big-endian p (in place) and a small x, no reduction: i^k for i ≤ 32, k < 32 stays below 2^155 < n. */
static void be_mul_small(uint8_t p[NOX_TH_SCALAR_SIZE], unsigned x) {
    unsigned carry = 0;
    for (int i = NOX_TH_SCALAR_SIZE - 1; i >= 0; i--) {
        unsigned v = p[i] * x + carry;
        p[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

int nox_th_feldman_eval(const uint8_t (*commitments)[NOX_TH_POINT_SIZE], unsigned t, unsigned i,
                        uint8_t out[NOX_TH_POINT_SIZE]) {
    const secp256k1_context *c = nox_ec_context(NULL);
    if (!c || t < 1 || t > NOX_TH_MAX_NODES || i < 1 || i > NOX_TH_MAX_NODES) return 0;
    secp256k1_pubkey terms[NOX_TH_MAX_NODES];
    const secp256k1_pubkey *ptrs[NOX_TH_MAX_NODES];
    uint8_t power[NOX_TH_SCALAR_SIZE];
    sc_from_uint(power, 1);
    for (unsigned k = 0; k < t; k++) { /* term k: i^k·C_k (public: the variable-time multiplication is fine) */
        if (!point_parse(c, &terms[k], commitments[k])) return 0;
        if (k > 0 && !secp256k1_ec_pubkey_tweak_mul(c, &terms[k], power)) return 0;
        ptrs[k] = &terms[k];
        be_mul_small(power, i);
    }
    secp256k1_pubkey sum;
    if (!secp256k1_ec_pubkey_combine(c, &sum, ptrs, t)) return 0; /* at infinity */
    point_serialize(c, out, &sum);
    return 1;
}

/* ---- public scalars: hashing, Lagrange coefficients (OpenSSL BIGNUM) -------------------------------------- */

/* out = the big-endian bytes in[0..len) mod n. */
static nox_status reduce_mod_order(const uint8_t *in, size_t len, uint8_t out[NOX_TH_SCALAR_SIZE], nox_error *err) {
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *a = BN_bin2bn(in, (int)len, NULL), *n = BN_bin2bn(ORDER, sizeof ORDER, NULL), *r = BN_new();
    int ok = bc && a && n && r && BN_mod(r, a, n, bc) && BN_bn2binpad(r, out, NOX_TH_SCALAR_SIZE) == NOX_TH_SCALAR_SIZE;
    BN_free(a);
    BN_free(n);
    BN_free(r);
    BN_CTX_free(bc);
    return ok ? NOX_OK : nox_error_set(err, NOX_ERR_NOMEM, "OpenSSL cannot reduce a hash modulo the group order");
}

/* Node indices: 1 ≤ k ≤ NOX_TH_MAX_NODES of them, each in 1..max, no two equal. `what` names the array. */
static nox_status check_indices(const unsigned *indices, size_t k, unsigned max, const char *what, nox_error *err) {
    if (k < 1 || k > NOX_TH_MAX_NODES || !indices)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: %zu indices; expected 1..%d", what, k, NOX_TH_MAX_NODES);
    uint64_t seen = 0;
    for (size_t j = 0; j < k; j++) {
        if (indices[j] < 1 || indices[j] > max)
            return nox_error_set(err, NOX_ERR_INVALID, "%s[%zu] is %u; node indices are 1..%u", what, j, indices[j],
                                 max);
        if (seen & (UINT64_C(1) << indices[j]))
            return nox_error_set(err, NOX_ERR_INVALID, "%s: node %u appears twice", what, indices[j]);
        seen |= UINT64_C(1) << indices[j];
    }
    return NOX_OK;
}

/* 1 when index is among indices[0..k). */
static int index_in(const unsigned *indices, size_t k, unsigned index) {
    for (size_t j = 0; j < k; j++)
        if (indices[j] == index) return 1;
    return 0;
}

/*
 * Lagrange coefficients are public and few sets recur (a requester combines the same t nodes for a whole batch):
 * the last LAMBDA_CACHE ones are kept, keyed by the set (a bit per index) and the index, so that a combination
 * costs no modular inversion (OpenSSL's took a quarter of the Runner's time in `nox-bench e2e`).
 */
enum { LAMBDA_CACHE = 64 };
_Static_assert(NOX_TH_MAX_NODES <= 32, "a set of indices is a 32-bit mask");
static struct {
    uint32_t set;
    unsigned index;
    uint8_t lambda[NOX_TH_SCALAR_SIZE];
} lambda_cache[LAMBDA_CACHE];
static size_t lambda_next;
static pthread_mutex_t lambda_mu = PTHREAD_MUTEX_INITIALIZER;

static int lambda_cached(uint32_t set, unsigned index, uint8_t out[NOX_TH_SCALAR_SIZE], const uint8_t *store) {
    int found = 0;
    pthread_mutex_lock(&lambda_mu);
    for (size_t i = 0; i < LAMBDA_CACHE && !found; i++)
        if (lambda_cache[i].set == set && lambda_cache[i].index == index) {
            memcpy(out, lambda_cache[i].lambda, NOX_TH_SCALAR_SIZE);
            found = 1;
        }
    if (!found && store) {
        size_t i = lambda_next++ % LAMBDA_CACHE;
        lambda_cache[i].set = set;
        lambda_cache[i].index = index;
        memcpy(lambda_cache[i].lambda, store, NOX_TH_SCALAR_SIZE);
    }
    pthread_mutex_unlock(&lambda_mu);
    return found;
}

nox_status nox_th_lagrange(const unsigned *indices, size_t k, unsigned index, uint8_t out[NOX_TH_SCALAR_SIZE],
                           nox_error *err) {
    nox_status st = check_indices(indices, k, NOX_TH_MAX_NODES, "indices", err);
    if (st) return st;
    if (!index_in(indices, k, index))
        return nox_error_set(err, NOX_ERR_INVALID, "node %u is not among the indices", index);
    uint32_t set = 0; /* indices are 1..NOX_TH_MAX_NODES (32), distinct */
    for (size_t j = 0; j < k; j++) set |= (uint32_t)1 << (indices[j] - 1);
    if (lambda_cached(set, index, out, NULL)) return NOX_OK;
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *n = BN_bin2bn(ORDER, sizeof ORDER, NULL), *num = BN_new(), *den = BN_new(), *v = BN_new(), *inv = NULL;
    int ok = bc && n && num && den && v && BN_one(num) && BN_one(den);
    for (size_t j = 0; ok && j < k; j++) { /* num = Π j, den = Π (j − i) mod n, over j ≠ i */
        unsigned jj = indices[j];
        if (jj == index) continue;
        ok = BN_set_word(v, jj) && BN_mod_mul(num, num, v, n, bc);
        if (jj > index) ok = ok && BN_set_word(v, jj - index);
        else ok = ok && BN_set_word(v, index - jj) && BN_sub(v, n, v); /* −(i − j) = n − (i − j) */
        ok = ok && BN_mod_mul(den, den, v, n, bc);
    }
    ok = ok && (inv = BN_mod_inverse(NULL, den, n, bc)) && BN_mod_mul(num, num, inv, n, bc) &&
         BN_bn2binpad(num, out, NOX_TH_SCALAR_SIZE) == NOX_TH_SCALAR_SIZE;
    BN_free(n);
    BN_free(num);
    BN_free(den);
    BN_free(v);
    BN_free(inv);
    BN_CTX_free(bc);
    if (ok) lambda_cached(set, index, out, out);
    return ok ? NOX_OK : nox_error_set(err, NOX_ERR_NOMEM, "OpenSSL cannot compute a Lagrange coefficient");
}

/* ---- groups: shape and share ------------------------------------------------------------------------------ */

static nox_status check_shape(unsigned t, unsigned n, const char *what, nox_error *err) {
    if (n < 1 || n > NOX_TH_MAX_NODES)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: %u nodes; a group has 1..%d", what, n, NOX_TH_MAX_NODES);
    if (t < 1 || t > n)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: threshold %u; it must be in 1..%u (the nodes)", what, t, n);
    return NOX_OK;
}

nox_status nox_th_share_check(const nox_th_group *g, const nox_ec_privkey *share, unsigned *index, nox_error *err) {
    NEED_CONTEXT(c);
    nox_status st = check_shape(g->threshold, g->nodes, "group", err);
    if (st) return st;
    secp256k1_pubkey pub;
    uint8_t vk[NOX_TH_POINT_SIZE], want[NOX_TH_POINT_SIZE];
    if (!secp256k1_ec_pubkey_create(c, &pub, share->d))
        return nox_error_set(err, NOX_ERR_INVALID, "the share is not a valid secp256k1 scalar");
    point_serialize(c, vk, &pub);
    unsigned i = 0;
    for (unsigned l = 1; l <= g->nodes && !i; l++)
        if (!memcmp(g->verification_keys[l - 1], vk, sizeof vk)) i = l;
    if (!i) {
        char fp[19];
        nox_th_group_fingerprint(g, fp);
        return nox_error_set(err, NOX_ERR_AUTH, "the share is not any node's of group %s", fp);
    }
    if (!nox_th_feldman_eval(g->commitments, g->threshold, i, want) || memcmp(want, vk, sizeof vk))
        return nox_error_set(err, NOX_ERR_INVALID, "verificationKeys[%u] (node %u) is not on the commitments' polynomial",
                             i - 1, i);
    *index = i;
    return NOX_OK;
}

/* ---- dealing ---------------------------------------------------------------------------------------------- */

/*
 * shares[j-1] = f(j) for j = 1..n and commitments[k] = a_k·G for the
 * polynomial a[0..t) (every a_k a valid scalar). *degenerate (and NOX_OK with
 * nothing usable) when a share comes out zero.
 */
static nox_status share_poly(const secp256k1_context *c, const uint8_t (*a)[NOX_TH_SCALAR_SIZE], unsigned t,
                             unsigned n, nox_ec_privkey *shares, uint8_t (*commitments)[NOX_TH_POINT_SIZE],
                             int *degenerate, nox_error *err) {
    *degenerate = 0;
    for (unsigned k = 0; k < t; k++) {
        secp256k1_pubkey pub;
        if (!secp256k1_ec_pubkey_create(c, &pub, a[k]))
            return nox_error_set(err, NOX_ERR_INVALID, "polynomial coefficient %u is not in [1, n-1]", k);
        point_serialize(c, commitments[k], &pub);
    }
    for (unsigned j = 1; j <= n; j++) {
        poly_eval(c, a, t, j, shares[j - 1].d);
        if (sc_is_zero(shares[j - 1].d)) *degenerate = 1;
    }
    if (*degenerate)
        for (unsigned j = 0; j < n; j++) nox_ec_key_wipe(&shares[j]);
    return NOX_OK;
}

/* The deal of the polynomial a[0..t): shares, and the group with P_i = d_i·G, self-checked. */
static nox_status deal_poly(const secp256k1_context *c, const uint8_t (*a)[NOX_TH_SCALAR_SIZE], unsigned t, unsigned n,
                            nox_th_group *g, nox_ec_privkey *shares, int *degenerate, nox_error *err) {
    memset(g, 0, sizeof *g);
    nox_status st = share_poly(c, a, t, n, shares, g->commitments, degenerate, err);
    if (st || *degenerate) return st;
    g->threshold = t;
    g->nodes = n;
    memcpy(g->public_key, g->commitments[0], NOX_TH_POINT_SIZE);
    for (unsigned j = 0; j < n; j++) {
        secp256k1_pubkey pub;
        if (!secp256k1_ec_pubkey_create(c, &pub, shares[j].d)) { /* cannot happen: the share is not zero */
            st = nox_error_set(err, NOX_ERR_INVALID, "share %u is not a valid scalar", j + 1);
            break;
        }
        point_serialize(c, g->verification_keys[j], &pub);
    }
    if (!st) st = nox_th_group_check(g, err); /* P_i = d_i·G must also be Σ i^k·C_k */
    if (st)
        for (unsigned j = 0; j < n; j++) nox_ec_key_wipe(&shares[j]);
    return st;
}

nox_status nox_th_deal_with(const nox_ec_privkey *secret, const uint8_t (*coefficients)[NOX_TH_SCALAR_SIZE], unsigned t,
                            unsigned n, nox_th_group *g, nox_ec_privkey *shares, nox_error *err) {
    NEED_CONTEXT(c);
    nox_status st = check_shape(t, n, "deal", err);
    if (st) return st;
    uint8_t a[NOX_TH_MAX_NODES][NOX_TH_SCALAR_SIZE];
    memcpy(a[0], secret->d, NOX_TH_SCALAR_SIZE);
    for (unsigned k = 1; k < t; k++) memcpy(a[k], coefficients[k - 1], NOX_TH_SCALAR_SIZE);
    int degenerate = 0;
    st = deal_poly(c, (const uint8_t(*)[NOX_TH_SCALAR_SIZE])a, t, n, g, shares, &degenerate, err);
    if (!st && degenerate) st = nox_error_set(err, NOX_ERR_INVALID, "a share of this polynomial is zero");
    OPENSSL_cleanse(a, sizeof a);
    return st;
}

/* a[from..t) = fresh random scalars in [1, n-1]. */
static nox_status random_coefficients(uint8_t (*a)[NOX_TH_SCALAR_SIZE], unsigned from, unsigned t, nox_error *err) {
    for (unsigned k = from; k < t; k++) {
        nox_ec_privkey r;
        nox_status st = nox_ec_key_generate(&r, err);
        if (st) return st;
        memcpy(a[k], r.d, NOX_TH_SCALAR_SIZE);
        nox_ec_key_wipe(&r);
    }
    return NOX_OK;
}

nox_status nox_th_deal(const nox_ec_privkey *secret, unsigned t, unsigned n, nox_th_group *g, nox_ec_privkey *shares,
                       nox_error *err) {
    NEED_CONTEXT(c);
    nox_status st = check_shape(t, n, "deal", err);
    if (st) return st;
    if (secret && !secp256k1_ec_seckey_verify(c, secret->d))
        return nox_error_set(err, NOX_ERR_INVALID, "the secret is not a valid secp256k1 private key");
    uint8_t a[NOX_TH_MAX_NODES][NOX_TH_SCALAR_SIZE];
    int degenerate = 1;
    for (int tries = 0; !st && degenerate && tries < MAX_TRIES; tries++) {
        if (secret) memcpy(a[0], secret->d, NOX_TH_SCALAR_SIZE);
        st = random_coefficients(a, secret ? 1 : 0, t, err);
        if (!st) st = deal_poly(c, (const uint8_t(*)[NOX_TH_SCALAR_SIZE])a, t, n, g, shares, &degenerate, err);
    }
    if (!st && degenerate) st = nox_error_set(err, NOX_ERR_IO, "the random number generator failed");
    OPENSSL_cleanse(a, sizeof a);
    return st;
}

/* ---- partials ---------------------------------------------------------------------------------------------
 *
 * One batched Chaum–Pedersen proof per batch (the batched DLEQ of Privacy Pass and RFC 9497 §2.2.1): the pairs
 * (K_j, R_j) are folded, with 128-bit weights e_j drawn from a hash of everything, into M = Σ e_j·K_j and
 * Z = Σ e_j·R_j, and the proof shows log_G P_i = log_M Z. A prover with some R_j ≠ d_i·K_j passes with
 * probability 2^-128 at most (the weights are fixed only after every R_j is). A node pays, per item, one
 * constant-time multiplication (R_j) and one public one (e_j·K_j) instead of three.
 */

static const char BATCH_DOMAIN[] = "nox/threshold/dleq-batch/v1";

/* seed = SHA-512(BATCH_DOMAIN ‖ P_i ‖ m (4 bytes BE) ‖ K_1 ‖ R_1 ‖ … ‖ K_m ‖ R_m). */
static nox_status batch_seed(const uint8_t vk[NOX_TH_POINT_SIZE], const uint8_t (*pairs)[NOX_TH_PAIR_SIZE], size_t m,
                             uint8_t seed[64], nox_error *err) {
    uint8_t mb[4] = {(uint8_t)(m >> 24), (uint8_t)(m >> 16), (uint8_t)(m >> 8), (uint8_t)m};
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = h && EVP_DigestInit_ex(h, EVP_sha512(), NULL) == 1 &&
             EVP_DigestUpdate(h, BATCH_DOMAIN, sizeof BATCH_DOMAIN - 1) == 1 &&
             EVP_DigestUpdate(h, vk, NOX_TH_POINT_SIZE) == 1 && EVP_DigestUpdate(h, mb, sizeof mb) == 1 &&
             EVP_DigestUpdate(h, pairs, m * NOX_TH_PAIR_SIZE) == 1 && EVP_DigestFinal_ex(h, seed, &len) == 1 &&
             len == 64;
    EVP_MD_CTX_free(h);
    return ok ? NOX_OK : nox_error_set(err, NOX_ERR_NOMEM, "OpenSSL cannot compute SHA-512");
}

/* e_j = the first 16 bytes of SHA-512(seed ‖ j (4 bytes BE)), a scalar below 2^128 (1 if it is zero: 2^-128). */
static nox_status batch_weight(const uint8_t seed[64], size_t j, uint8_t e[NOX_TH_SCALAR_SIZE], nox_error *err) {
    uint8_t msg[64 + 4], digest[64];
    memcpy(msg, seed, 64);
    for (int b = 0; b < 4; b++) msg[64 + b] = (uint8_t)(j >> (24 - 8 * b));
    unsigned len = 0;
    if (EVP_Digest(msg, sizeof msg, digest, &len, EVP_sha512(), NULL) != 1 || len != sizeof digest)
        return nox_error_set(err, NOX_ERR_NOMEM, "OpenSSL cannot compute SHA-512");
    memset(e, 0, NOX_TH_SCALAR_SIZE);
    memcpy(e + NOX_TH_SCALAR_SIZE - 16, digest, 16);
    if (sc_is_zero(e)) e[NOX_TH_SCALAR_SIZE - 1] = 1;
    return NOX_OK;
}

/*
 * The composites of a batch (public): *mp = Σ e_j·K_j and, when rs is not NULL, *zp = Σ e_j·R_j, with the
 * variable-time multiplication (public points, public weights); ks[j] is K_j parsed, rs[j] R_j.
 * NOX_ERR_AUTH when a sum is the point at infinity.
 */
static nox_status batch_composites(const secp256k1_context *c, const uint8_t seed[64], const secp256k1_pubkey *ks,
                                   const secp256k1_pubkey *rs, size_t m, secp256k1_pubkey *mp, secp256k1_pubkey *zp,
                                   nox_error *err) {
    size_t sums = rs ? 2 : 1;
    secp256k1_pubkey *terms = malloc(sums * m * sizeof *terms);
    const secp256k1_pubkey **ptrs = malloc(sums * m * sizeof *ptrs);
    nox_status st = terms && ptrs ? NOX_OK : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; !st && j < m; j++) {
        uint8_t e[NOX_TH_SCALAR_SIZE];
        st = batch_weight(seed, j, e, err);
        for (size_t s = 0; !st && s < sums; s++) {
            terms[s * m + j] = s ? rs[j] : ks[j];
            ptrs[s * m + j] = &terms[s * m + j];
            if (!secp256k1_ec_pubkey_tweak_mul(c, &terms[s * m + j], e)) /* e < n is never 0: cannot fail */
                st = nox_error_set(err, NOX_ERR_AUTH, "a weighted point of the batch is the point at infinity");
        }
    }
    if (!st && (!secp256k1_ec_pubkey_combine(c, mp, ptrs, m) || (rs && !secp256k1_ec_pubkey_combine(c, zp, ptrs + m, m))))
        st = nox_error_set(err, NOX_ERR_AUTH, "the batch's weighted sum is the point at infinity");
    if (terms) OPENSSL_cleanse(terms, sums * m * sizeof *terms); /* the R_j: the requester's secret */
    free(terms);
    free(ptrs);
    return st;
}

/* c = SHA-512(BATCH_DOMAIN ‖ seed ‖ M ‖ Z ‖ A ‖ B) mod n, every point compressed. */
static nox_status batch_challenge(const secp256k1_context *c, const uint8_t seed[64], const secp256k1_pubkey *mp,
                                  const secp256k1_pubkey *zp, const uint8_t a[NOX_TH_POINT_SIZE],
                                  const uint8_t b[NOX_TH_POINT_SIZE], uint8_t out[NOX_TH_SCALAR_SIZE], nox_error *err) {
    uint8_t msg[sizeof BATCH_DOMAIN - 1 + 64 + 4 * NOX_TH_POINT_SIZE], digest[64], *at = msg;
    memcpy(at, BATCH_DOMAIN, sizeof BATCH_DOMAIN - 1);
    at += sizeof BATCH_DOMAIN - 1;
    memcpy(at, seed, 64);
    at += 64;
    point_serialize(c, at, mp);
    point_serialize(c, at + NOX_TH_POINT_SIZE, zp);
    memcpy(at + 2 * NOX_TH_POINT_SIZE, a, NOX_TH_POINT_SIZE);
    memcpy(at + 3 * NOX_TH_POINT_SIZE, b, NOX_TH_POINT_SIZE);
    unsigned dlen = 0;
    if (EVP_Digest(msg, sizeof msg, digest, &dlen, EVP_sha512(), NULL) != 1 || dlen != sizeof digest)
        return nox_error_set(err, NOX_ERR_NOMEM, "OpenSSL cannot compute SHA-512");
    return reduce_mod_order(digest, sizeof digest, out, err);
}

static nox_status check_batch_size(size_t m, nox_error *err) {
    if (m < 1 || m > NOX_TH_MAX_BATCH)
        return nox_error_set(err, NOX_ERR_INVALID, "a batch holds 1 to %d ephemeral keys, not %zu", NOX_TH_MAX_BATCH, m);
    return NOX_OK;
}

/* The proof of a batch whose pairs are computed, for the nonce r; *degenerate when c or z comes out zero. */
static nox_status batch_prove(const secp256k1_context *c, const nox_ec_privkey *share, const uint8_t seed[64],
                              const secp256k1_pubkey *mp, const nox_ec_privkey *r, uint8_t proof[NOX_TH_PROOF_SIZE],
                              int *degenerate, nox_error *err) {
    *degenerate = 0;
    secp256k1_pubkey z_pt, a_pt, b_pt;
    uint8_t ab[NOX_TH_POINT_SIZE], bb[NOX_TH_POINT_SIZE], ch[NOX_TH_SCALAR_SIZE], z[NOX_TH_SCALAR_SIZE];
    if (!secp256k1_ec_pubkey_create(c, &a_pt, r->d))
        return nox_error_set(err, NOX_ERR_INVALID, "the nonce is not a valid secp256k1 scalar");
    nox_status st = NOX_OK;
    if (!mul_secret(c, &z_pt, mp, share->d) || !mul_secret(c, &b_pt, mp, r->d)) /* Z = d_i·M, B = r·M */
        st = nox_error_set(err, NOX_ERR_INVALID, "cannot multiply the batch's composite key");
    if (!st) {
        point_serialize(c, ab, &a_pt);
        point_serialize(c, bb, &b_pt);
        st = batch_challenge(c, seed, mp, &z_pt, ab, bb, ch, err);
    }
    if (!st) {
        sc_mul(c, z, share->d, ch); /* z = r + c·share */
        sc_add(c, z, z, r->d);
        *degenerate = sc_is_zero(ch) || sc_is_zero(z);
        if (!*degenerate) {
            memcpy(proof, ch, NOX_TH_SCALAR_SIZE);
            memcpy(proof + NOX_TH_SCALAR_SIZE, z, NOX_TH_SCALAR_SIZE);
        }
    }
    OPENSSL_cleanse(&b_pt, sizeof b_pt);
    OPENSSL_cleanse(bb, sizeof bb);
    OPENSSL_cleanse(z, sizeof z);
    return st;
}

/* The pairs K_j ‖ R_j = share·K_j, the seed and M; the caller proves. */
static nox_status batch_pairs(const secp256k1_context *c, const nox_ec_privkey *share,
                              const uint8_t (*eph)[NOX_TH_POINT_SIZE], size_t m, uint8_t (*pairs)[NOX_TH_PAIR_SIZE],
                              uint8_t seed[64], secp256k1_pubkey *mp, nox_error *err) {
    nox_status st = check_batch_size(m, err);
    if (st) return st;
    secp256k1_pubkey vk_pt, r_pt, *ks = malloc(m * sizeof *ks);
    if (!ks) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    uint8_t vk[NOX_TH_POINT_SIZE];
    if (!secp256k1_ec_pubkey_create(c, &vk_pt, share->d))
        st = nox_error_set(err, NOX_ERR_INVALID, "the share is not a valid secp256k1 scalar");
    for (size_t j = 0; !st && j < m; j++) {
        if (!point_parse(c, &ks[j], eph[j]))
            st = nox_error_set(err, NOX_ERR_INVALID, "ephemeral key [%zu]: not a compressed secp256k1 point", j);
        else if (!mul_secret(c, &r_pt, &ks[j], share->d))
            st = nox_error_set(err, NOX_ERR_INVALID, "ephemeral key [%zu]: cannot multiply", j);
        else {
            memcpy(pairs[j], eph[j], NOX_TH_POINT_SIZE);
            point_serialize(c, pairs[j] + NOX_TH_POINT_SIZE, &r_pt);
        }
    }
    OPENSSL_cleanse(&r_pt, sizeof r_pt);
    if (!st) {
        point_serialize(c, vk, &vk_pt);
        st = batch_seed(vk, (const uint8_t(*)[NOX_TH_PAIR_SIZE])pairs, m, seed, err);
    }
    if (!st && (st = batch_composites(c, seed, ks, NULL, m, mp, NULL, err)) == NOX_ERR_AUTH)
        st = nox_error_set(err, NOX_ERR_INVALID, "the batch's ephemeral keys sum to the point at infinity");
    free(ks);
    if (st) OPENSSL_cleanse(pairs, m * NOX_TH_PAIR_SIZE);
    return st;
}

/* The pairs and their proof, for the nonce r, or for fresh random ones when r is NULL; the pairs wiped on failure. */
static nox_status partials_core(const nox_ec_privkey *share, const uint8_t (*eph)[NOX_TH_POINT_SIZE], size_t m,
                                const nox_ec_privkey *r, uint8_t (*pairs)[NOX_TH_PAIR_SIZE],
                                uint8_t proof[NOX_TH_PROOF_SIZE], nox_error *err) {
    NEED_CONTEXT(c);
    uint8_t seed[64];
    secp256k1_pubkey mp;
    nox_status st = batch_pairs(c, share, eph, m, pairs, seed, &mp, err); /* wipes the pairs itself on failure */
    if (st) return st;
    nox_ec_privkey fresh;
    int degenerate = 1;
    for (int tries = 0; !st && degenerate && tries < (r ? 1 : MAX_TRIES); tries++) {
        if (!r) st = nox_ec_key_generate(&fresh, err);
        if (!st) st = batch_prove(c, share, seed, &mp, r ? r : &fresh, proof, &degenerate, err);
    }
    if (!st && degenerate)
        st = r ? nox_error_set(err, NOX_ERR_INVALID, "this nonce gives a zero proof scalar")
               : nox_error_set(err, NOX_ERR_IO, "the random number generator failed");
    if (st) OPENSSL_cleanse(pairs, m * NOX_TH_PAIR_SIZE);
    nox_ec_key_wipe(&fresh);
    return st;
}

nox_status nox_th_partials_with(const nox_ec_privkey *share, const uint8_t (*eph)[NOX_TH_POINT_SIZE], size_t m,
                                const nox_ec_privkey *r, uint8_t (*pairs)[NOX_TH_PAIR_SIZE],
                                uint8_t proof[NOX_TH_PROOF_SIZE], nox_error *err) {
    return partials_core(share, eph, m, r, pairs, proof, err);
}

nox_status nox_th_partials(const nox_ec_privkey *share, const uint8_t (*eph)[NOX_TH_POINT_SIZE], size_t m,
                           uint8_t (*pairs)[NOX_TH_PAIR_SIZE], uint8_t proof[NOX_TH_PROOF_SIZE], nox_error *err) {
    return partials_core(share, eph, m, NULL, pairs, proof, err);
}

/* out = z·base − ch·q (public); 0 when it is the point at infinity. */
static int dleq_commitment(const secp256k1_context *c, uint8_t out[NOX_TH_POINT_SIZE], const secp256k1_pubkey *base,
                           const uint8_t z[NOX_TH_SCALAR_SIZE], const secp256k1_pubkey *q,
                           const uint8_t ch[NOX_TH_SCALAR_SIZE]) {
    secp256k1_pubkey zb = *base, cq = *q, sum;
    const secp256k1_pubkey *terms[2] = {&zb, &cq};
    int ok = secp256k1_ec_pubkey_tweak_mul(c, &zb, z) && secp256k1_ec_pubkey_tweak_mul(c, &cq, ch) &&
             secp256k1_ec_pubkey_negate(c, &cq) && secp256k1_ec_pubkey_combine(c, &sum, terms, 2);
    if (ok) point_serialize(c, out, &sum);
    return ok;
}

nox_status nox_th_verify_partials(const uint8_t verification_key[NOX_TH_POINT_SIZE],
                                  const uint8_t (*pairs)[NOX_TH_PAIR_SIZE], size_t m,
                                  const uint8_t proof[NOX_TH_PROOF_SIZE], nox_error *err) {
    NEED_CONTEXT(c);
    nox_status st = check_batch_size(m, err);
    if (st) return st;
    secp256k1_pubkey vk_pt, g_pt, mp, zp;
    if (!point_parse(c, &vk_pt, verification_key))
        return nox_error_set(err, NOX_ERR_INVALID, "verification key: not a compressed secp256k1 point");
    const uint8_t *ch = proof, *z = proof + NOX_TH_SCALAR_SIZE;
    if (!sc_below_order(ch)) return nox_error_set(err, NOX_ERR_INVALID, "proof scalar c is not below the group order");
    if (!sc_below_order(z)) return nox_error_set(err, NOX_ERR_INVALID, "proof scalar z is not below the group order");
    secp256k1_pubkey *pts = malloc(2 * m * sizeof *pts);
    if (!pts) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; !st && j < m; j++) {
        if (!point_parse(c, &pts[j], pairs[j]))
            st = nox_error_set(err, NOX_ERR_INVALID, "ephemeral key [%zu]: not a compressed secp256k1 point", j);
        else if (!point_parse(c, &pts[m + j], pairs[j] + NOX_TH_POINT_SIZE))
            st = nox_error_set(err, NOX_ERR_INVALID, "partial [%zu]: not a compressed secp256k1 point", j);
    }
    static const uint8_t one[NOX_TH_SCALAR_SIZE] = {[NOX_TH_SCALAR_SIZE - 1] = 1};
    uint8_t seed[64], a[NOX_TH_POINT_SIZE], b[NOX_TH_POINT_SIZE], want[NOX_TH_SCALAR_SIZE];
    if (!st) st = batch_seed(verification_key, pairs, m, seed, err);
    /* c or z zero, a composite, A or B at infinity: never from an honest prover */
    if (!st && !sc_is_zero(ch) && !sc_is_zero(z)) st = batch_composites(c, seed, pts, pts + m, m, &mp, &zp, err);
    if (st == NOX_ERR_AUTH || (!st && (sc_is_zero(ch) || sc_is_zero(z) || !secp256k1_ec_pubkey_create(c, &g_pt, one) ||
                                       !dleq_commitment(c, a, &g_pt, z, &vk_pt, ch) ||
                                       !dleq_commitment(c, b, &mp, z, &zp, ch))))
        st = nox_error_set(err, NOX_ERR_AUTH, "the DLEQ proof does not verify");
    if (!st) st = batch_challenge(c, seed, &mp, &zp, a, b, want, err);
    if (!st && CRYPTO_memcmp(want, ch, NOX_TH_SCALAR_SIZE))
        st = nox_error_set(err, NOX_ERR_AUTH, "the DLEQ proof does not verify");
    OPENSSL_cleanse(pts, 2 * m * sizeof *pts); /* the partials: secret to whoever holds them */
    free(pts);
    return st;
}

/* ---- combination ------------------------------------------------------------------------------------------ */

/* 1/d mod n for d = 1..NOX_TH_MAX_NODES − 1 (public), computed once. */
static uint8_t small_inverses[NOX_TH_MAX_NODES][NOX_TH_SCALAR_SIZE];
static int small_inverses_ok;
static pthread_once_t small_inverses_once = PTHREAD_ONCE_INIT;

static void small_inverses_init(void) {
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *n = BN_bin2bn(ORDER, sizeof ORDER, NULL), *v = BN_new(), *inv = BN_new();
    int ok = bc && n && v && inv;
    for (unsigned d = 1; ok && d < NOX_TH_MAX_NODES; d++)
        ok = BN_set_word(v, d) && BN_mod_inverse(inv, v, n, bc) &&
             BN_bn2binpad(inv, small_inverses[d], NOX_TH_SCALAR_SIZE) == NOX_TH_SCALAR_SIZE;
    small_inverses_ok = ok;
    BN_free(n);
    BN_free(v);
    BN_free(inv);
    BN_CTX_free(bc);
}

/*
 * Two partials, of nodes a < b: λ_a = b/(b − a), λ_b = −a/(b − a), so d·K = (b·R_a − a·R_b)/(b − a). The small
 * multiples are one sum of b copies of R_a and a copies of −R_b (libsecp256k1's complete, constant-time
 * addition), and the ladder multiplies by 1/(b − a) only when b − a > 1: a 2-of-n requester makes at most one
 * multiplication per value instead of two, and none for neighbouring nodes.
 */
static nox_status combine_two(const secp256k1_context *c, unsigned a, const secp256k1_pubkey *ra, unsigned b,
                              const secp256k1_pubkey *rb, secp256k1_pubkey *sum, nox_error *err) {
    if (a > b) return combine_two(c, b, rb, a, ra, sum, err);
    pthread_once(&small_inverses_once, small_inverses_init);
    if (!small_inverses_ok) return nox_error_set(err, NOX_ERR_NOMEM, "OpenSSL cannot compute an inverse");
    secp256k1_pubkey neg_b = *rb, s;
    const secp256k1_pubkey *ptrs[2 * NOX_TH_MAX_NODES];
    size_t n = 0;
    nox_status st = NOX_OK;
    for (unsigned i = 0; i < b; i++) ptrs[n++] = ra;
    for (unsigned i = 0; i < a; i++) ptrs[n++] = &neg_b;
    if (!secp256k1_ec_pubkey_negate(c, &neg_b) || !secp256k1_ec_pubkey_combine(c, &s, ptrs, n))
        st = nox_error_set(err, NOX_ERR_INVALID, "the partials sum to the point at infinity");
    else if (b - a == 1)
        *sum = s;
    else if (!mul_secret(c, sum, &s, small_inverses[b - a]))
        st = nox_error_set(err, NOX_ERR_INVALID, "the partials cannot be combined");
    OPENSSL_cleanse(&neg_b, sizeof neg_b);
    OPENSSL_cleanse(&s, sizeof s);
    return st;
}

nox_status nox_th_combine(const unsigned *indices, const uint8_t (*partials)[NOX_TH_POINT_SIZE], size_t k,
                          uint8_t x[NOX_TH_SCALAR_SIZE], nox_error *err) {
    memset(x, 0, NOX_TH_SCALAR_SIZE);
    NEED_CONTEXT(c);
    nox_status st = check_indices(indices, k, NOX_TH_MAX_NODES, "indices", err);
    if (st) return st;
    secp256k1_pubkey terms[NOX_TH_MAX_NODES], sum;
    const secp256k1_pubkey *ptrs[NOX_TH_MAX_NODES];
    uint8_t lambda[NOX_TH_SCALAR_SIZE], point[NOX_TH_POINT_SIZE];
    for (size_t j = 0; !st && j < k; j++) {
        secp256k1_pubkey r_pt;
        ptrs[j] = &terms[j];
        if (!point_parse(c, &r_pt, partials[j]))
            st = nox_error_set(err, NOX_ERR_INVALID, "partials[%zu] (node %u): not a compressed secp256k1 point", j,
                               indices[j]);
        else if (k <= 2) terms[j] = r_pt; /* λ = 1 (the single-key path), or combine_two */
        else if (!(st = nox_th_lagrange(indices, k, indices[j], lambda, err)) && !mul_secret(c, &terms[j], &r_pt, lambda))
            st = nox_error_set(err, NOX_ERR_INVALID, "partials[%zu] (node %u): cannot multiply", j, indices[j]);
        OPENSSL_cleanse(&r_pt, sizeof r_pt);
    }
    if (!st && k == 2) st = combine_two(c, indices[0], &terms[0], indices[1], &terms[1], &sum, err);
    else if (!st && !secp256k1_ec_pubkey_combine(c, &sum, ptrs, k))
        st = nox_error_set(err, NOX_ERR_INVALID, "the partials sum to the point at infinity");
    if (!st) {
        point_serialize(c, point, &sum);
        memcpy(x, point + 1, NOX_TH_SCALAR_SIZE);
    }
    OPENSSL_cleanse(terms, sizeof terms);
    OPENSSL_cleanse(&sum, sizeof sum);
    OPENSSL_cleanse(point, sizeof point);
    return st;
}

/* ---- resharing -------------------------------------------------------------------------------------------- */

/* The old set: old->threshold distinct indices of old nodes. */
static nox_status check_old_set(const nox_th_group *old, const unsigned *old_set, size_t k, nox_error *err) {
    nox_status st = check_shape(old->threshold, old->nodes, "old group", err);
    if (st) return st;
    if (k != old->threshold)
        return nox_error_set(err, NOX_ERR_INVALID, "the old set has %zu nodes; the old threshold is %u", k,
                             old->threshold);
    return check_indices(old_set, k, old->nodes, "old set", err);
}

nox_status nox_th_reshare_deal(const nox_th_group *old, const nox_ec_privkey *share, const unsigned *old_set, size_t k,
                               unsigned new_t, unsigned new_n, unsigned *dealer,
                               uint8_t commitments[][NOX_TH_POINT_SIZE], nox_ec_privkey *subshares, nox_error *err) {
    NEED_CONTEXT(c);
    unsigned i = 0;
    nox_status st = check_old_set(old, old_set, k, err);
    if (!st) st = check_shape(new_t, new_n, "new group", err);
    if (!st) st = nox_th_share_check(old, share, &i, err);
    if (st) return st;
    if (!index_in(old_set, k, i))
        return nox_error_set(err, NOX_ERR_INVALID, "this node (old node %u) is not in the old set", i);
    uint8_t a[NOX_TH_MAX_NODES][NOX_TH_SCALAR_SIZE], lambda[NOX_TH_SCALAR_SIZE];
    st = nox_th_lagrange(old_set, k, i, lambda, err);
    int degenerate = 1;
    for (int tries = 0; !st && degenerate && tries < MAX_TRIES; tries++) {
        sc_mul(c, a[0], share->d, lambda); /* s = λ_i·d_i: both non-zero, so is s */
        st = random_coefficients(a, 1, new_t, err);
        if (!st) st = share_poly(c, (const uint8_t(*)[NOX_TH_SCALAR_SIZE])a, new_t, new_n, subshares, commitments,
                                 &degenerate, err);
    }
    if (!st && degenerate) st = nox_error_set(err, NOX_ERR_IO, "the random number generator failed");
    if (!st) *dealer = i;
    else
        for (unsigned j = 0; j < new_n; j++) nox_ec_key_wipe(&subshares[j]);
    OPENSSL_cleanse(a, sizeof a);
    return st;
}

/* One contribution as new node j checks it: C_0 = λ·P_dealer, subshare·G = Σ_m j^m·C_m. */
static nox_status check_contribution(const secp256k1_context *c, const nox_th_group *old, const unsigned *old_set,
                                     size_t k, const nox_th_contribution *ct, unsigned new_t, unsigned j,
                                     nox_error *err) {
    secp256k1_pubkey pt;
    for (unsigned m = 0; m < new_t; m++)
        if (!point_parse(c, &pt, ct->commitments[m]))
            return nox_error_set(err, NOX_ERR_INVALID,
                                 "the contribution of old node %u: commitments[%u] is not a compressed secp256k1 point",
                                 ct->dealer, m);
    uint8_t lambda[NOX_TH_SCALAR_SIZE], want[NOX_TH_POINT_SIZE], got[NOX_TH_POINT_SIZE];
    nox_status st = nox_th_lagrange(old_set, k, ct->dealer, lambda, err);
    if (st) return st;
    if (!point_parse(c, &pt, old->verification_keys[ct->dealer - 1]) || !secp256k1_ec_pubkey_tweak_mul(c, &pt, lambda))
        return nox_error_set(err, NOX_ERR_INVALID, "old group: verificationKeys[%u] is not a compressed secp256k1 point",
                             ct->dealer - 1);
    point_serialize(c, want, &pt);
    if (memcmp(want, ct->commitments[0], NOX_TH_POINT_SIZE))
        return nox_error_set(err, NOX_ERR_AUTH,
                             "the contribution of old node %u: commitments[0] is not λ·P_%u (not its share of the "
                             "old key)",
                             ct->dealer, ct->dealer);
    if (!secp256k1_ec_pubkey_create(c, &pt, ct->subshare.d) ||
        !nox_th_feldman_eval((const uint8_t(*)[NOX_TH_POINT_SIZE])ct->commitments, new_t, j, want))
        return nox_error_set(err, NOX_ERR_AUTH, "the contribution of old node %u: the sub-share is not valid",
                             ct->dealer);
    point_serialize(c, got, &pt);
    if (memcmp(want, got, NOX_TH_POINT_SIZE))
        return nox_error_set(err, NOX_ERR_AUTH,
                             "the contribution of old node %u: the sub-share is not on its commitments", ct->dealer);
    return NOX_OK;
}

/* C'_m = Σ_i C_{i,m} for m < new_t, in *g; the group's P and P'_l from them. */
static nox_status sum_commitments(const secp256k1_context *c, const nox_th_contribution *contributions, size_t k,
                                  unsigned new_t, unsigned new_n, nox_th_group *g, nox_error *err) {
    memset(g, 0, sizeof *g);
    g->threshold = new_t;
    g->nodes = new_n;
    for (unsigned m = 0; m < new_t; m++) {
        secp256k1_pubkey terms[NOX_TH_MAX_NODES], sum;
        const secp256k1_pubkey *ptrs[NOX_TH_MAX_NODES];
        for (size_t i = 0; i < k; i++) {
            if (!point_parse(c, &terms[i], contributions[i].commitments[m]))
                return nox_error_set(err, NOX_ERR_INVALID, "contributions[%zu]: commitments[%u] does not parse", i, m);
            ptrs[i] = &terms[i];
        }
        if (!secp256k1_ec_pubkey_combine(c, &sum, ptrs, k))
            return nox_error_set(err, NOX_ERR_AUTH, "the new commitments[%u] sum to the point at infinity", m);
        point_serialize(c, g->commitments[m], &sum);
    }
    memcpy(g->public_key, g->commitments[0], NOX_TH_POINT_SIZE);
    for (unsigned l = 1; l <= new_n; l++)
        if (!nox_th_feldman_eval(g->commitments, new_t, l, g->verification_keys[l - 1]))
            return nox_error_set(err, NOX_ERR_AUTH, "the new verification key of node %u is the point at infinity", l);
    return NOX_OK;
}

/* 1 when share·G is the point vk (0 also for a zero share). */
static int share_matches(const secp256k1_context *c, const uint8_t share[NOX_TH_SCALAR_SIZE],
                         const uint8_t vk[NOX_TH_POINT_SIZE]) {
    secp256k1_pubkey pub;
    uint8_t got[NOX_TH_POINT_SIZE];
    if (!secp256k1_ec_pubkey_create(c, &pub, share)) return 0;
    point_serialize(c, got, &pub);
    return !memcmp(got, vk, NOX_TH_POINT_SIZE);
}

nox_status nox_th_reshare_combine(const nox_th_group *old, const unsigned *old_set, size_t k,
                                  const nox_th_contribution *contributions, unsigned new_t, unsigned new_n,
                                  unsigned j, nox_ec_privkey *new_share, nox_th_group *new_group, nox_error *err) {
    NEED_CONTEXT(c);
    nox_status st = check_old_set(old, old_set, k, err);
    if (!st) st = check_shape(new_t, new_n, "new group", err);
    if (st) return st;
    if (j < 1 || j > new_n)
        return nox_error_set(err, NOX_ERR_INVALID, "new node %u: the new group has nodes 1..%u", j, new_n);
    uint64_t seen = 0;
    for (size_t i = 0; i < k; i++) { /* one contribution per node of the old set */
        unsigned d = contributions[i].dealer;
        if (!index_in(old_set, k, d))
            return nox_error_set(err, NOX_ERR_INVALID, "contributions[%zu]: old node %u is not in the old set", i, d);
        if (seen & (UINT64_C(1) << d))
            return nox_error_set(err, NOX_ERR_INVALID, "contributions[%zu]: old node %u contributes twice", i, d);
        seen |= UINT64_C(1) << d;
    }
    uint8_t acc[NOX_TH_SCALAR_SIZE] = {0};
    nox_th_group g;
    for (size_t i = 0; !st && i < k; i++) {
        st = check_contribution(c, old, old_set, k, &contributions[i], new_t, j, err);
        if (!st) sc_add(c, acc, acc, contributions[i].subshare.d);
    }
    if (!st) st = sum_commitments(c, contributions, k, new_t, new_n, &g, err);
    if (!st && memcmp(g.public_key, old->public_key, NOX_TH_POINT_SIZE))
        st = nox_error_set(err, NOX_ERR_AUTH, "the contributions give another public key than the old group's");
    if (!st && !share_matches(c, acc, g.verification_keys[j - 1])) /* implied by the checks above */
        st = nox_error_set(err, NOX_ERR_AUTH, "the new share of node %u does not match its verification key", j);
    if (!st) {
        memcpy(new_share->d, acc, NOX_TH_SCALAR_SIZE);
        *new_group = g;
    }
    OPENSSL_cleanse(acc, sizeof acc);
    return st;
}
