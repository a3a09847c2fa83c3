/*
 * nox/threshold.h — the protocol key d shared t-of-n over the secp256k1 group
 * order (docs/PROTOCOL-EXTENSIONS.md §11), with libsecp256k1 for every point
 * and every secret scalar operation and OpenSSL for the public ones (Lagrange
 * coefficients, hashing to a scalar).
 *
 *   Shamir:   f(x) = a_0 + a_1 x + … + a_{t-1} x^{t-1} mod n, a_0 = d;
 *             node i (1 ≤ i ≤ nodes) holds d_i = f(i); any t shares give d.
 *   Feldman:  C_k = a_k·G (public); P = C_0 = d·G; P_i = d_i·G = Σ_k i^k·C_k.
 *   Partial:  for a stored ephemeral key K, node i answers R_i = d_i·K; one
 *             Chaum–Pedersen proof (c, z) per batch of keys shows that
 *             log_G P_i = log_K R_i for each (a batched DLEQ).
 *   Combine:  d·K = Σ_{i∈S} λ_i·R_i over any t distinct indices S, with
 *             λ_i = Π_{j∈S, j≠i} j / (j − i) mod n (Lagrange at 0).
 *   Reshare:  each old node i of a set S of t old indices deals λ_i·d_i with
 *             a fresh polynomial g_i of degree t'−1; new node j holds
 *             d'_j = Σ_{i∈S} g_i(j). d is never assembled; P is unchanged;
 *             the new shares lie on a fresh polynomial.
 *
 * Shares, partials and the combined point are secrets: they never appear in
 * an error message, and every function here wipes its own copies. Public
 * points are 33-byte SEC1 compressed encodings. Every function is
 * thread-safe (the secp256k1 context of nox/ec.h is read-only).
 */
#ifndef NOX_THRESHOLD_H
#define NOX_THRESHOLD_H

#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most nodes in a group (indices 1..NOX_TH_MAX_NODES). */
#define NOX_TH_MAX_NODES 32
#define NOX_TH_POINT_SIZE NOX_EC_PUBKEY_COMPRESSED_SIZE /* 33 */
#define NOX_TH_SCALAR_SIZE 32
/** A DLEQ proof: c (32, big-endian) ‖ z (32). */
#define NOX_TH_PROOF_SIZE 64
/** An ephemeral key and a node's partial for it: K (33) ‖ R (33). */
#define NOX_TH_PAIR_SIZE (2 * NOX_TH_POINT_SIZE)
/** Most ephemeral keys in one batch of partials (one proof). */
#define NOX_TH_MAX_BATCH 1024

/**
 * The public group: written by the ceremonies, read by every KMS node, the
 * Gateway, and whoever verifies a partial. Nothing in it is secret.
 */
typedef struct nox_th_group {
    unsigned threshold;                                         /**< t, 1 ≤ t ≤ nodes */
    unsigned nodes;                                             /**< n, ≤ NOX_TH_MAX_NODES */
    uint8_t public_key[NOX_TH_POINT_SIZE];                      /**< P = d·G (= commitments[0]) */
    uint8_t commitments[NOX_TH_MAX_NODES][NOX_TH_POINT_SIZE];   /**< C_0 … C_{t-1} */
    uint8_t verification_keys[NOX_TH_MAX_NODES][NOX_TH_POINT_SIZE]; /**< P_i at [i-1], i = 1..nodes */
} nox_th_group;

/**
 * Checks that the group is consistent: 1 ≤ t ≤ nodes ≤ NOX_TH_MAX_NODES,
 * every point parses, C_0 = P, and P_i = Σ_k i^k·C_k for every node.
 * NOX_ERR_INVALID naming the first thing wrong ("verificationKeys[2] (node 3)
 * is not on the commitments' polynomial").
 */
nox_status nox_th_group_check(const nox_th_group *g, nox_error *err);

/**
 * The 1-of-1 group of a single key P: t = n = 1, C_0 = P_1 = P. Single-key
 * mode is this group, so that it takes the same code path.
 */
nox_status nox_th_group_single(const uint8_t public_key[NOX_TH_POINT_SIZE], nox_th_group *g, nox_error *err);

/**
 * The group file (JSON, public):
 *   {"version": 1, "threshold": t, "nodes": n, "publicKey": "0x<66 hex>",
 *    "commitments": ["0x…" × t], "verificationKeys": ["0x…" × n]}
 * from_json parses and then runs nox_th_group_check; NOX_ERR_INVALID names the
 * member at fault (an unknown member is refused too). to_json returns a
 * malloc'd text (NULL when out of memory or for t or n out of range), one
 * member per line, ending in a newline.
 */
nox_status nox_th_group_from_json(const char *text, size_t len, nox_th_group *g, nox_error *err);
char *nox_th_group_to_json(const nox_th_group *g);

/** Reads and checks a group file; errors are prefixed with the path. */
nox_status nox_th_group_load(const char *path, nox_th_group *g, nox_error *err);

/** Writes the group file atomically (mode 0644: it is public); refuses a group nox_th_group_check refuses. */
nox_status nox_th_group_save(const nox_th_group *g, const char *path, nox_error *err);

/**
 * A short, stable fingerprint of the group (hex of the first 8 bytes of
 * keccak256 over t and n as 4-byte big-endian numbers, then the t
 * commitments and the n verification keys, 33 bytes each), for logs and for
 * telling two groups apart: "0x" + 16 hex + NUL.
 */
void nox_th_group_fingerprint(const nox_th_group *g, char out[19]);

/**
 * Checks a node's share against the group: finds the index i whose
 * verification key is share·G (NOX_ERR_AUTH "the share is not any node's of
 * group 0x…" when none) and checks P_i against the commitments. On NOX_OK
 * *index is i.
 */
nox_status nox_th_share_check(const nox_th_group *g, const nox_ec_privkey *share, unsigned *index, nox_error *err);

/**
 * Shares a secret t-of-n: `secret` (NULL: a fresh random one, "deal";
 * otherwise an existing key, "split") becomes shares[0..n) (share of node i at
 * [i-1]) and the group. Fresh polynomial coefficients come from OpenSSL's
 * RAND_priv_bytes. NOX_ERR_INVALID for 1 ≤ t ≤ n ≤ NOX_TH_MAX_NODES not
 * holding. The caller wipes the shares (nox_ec_key_wipe).
 */
nox_status nox_th_deal(const nox_ec_privkey *secret, unsigned t, unsigned n, nox_th_group *g, nox_ec_privkey *shares,
                       nox_error *err);

/**
 * λ_i for `index` over the set indices[0..k) (distinct, each in
 * 1..NOX_TH_MAX_NODES, `index` among them): big-endian, mod the group order.
 * NOX_ERR_INVALID for a repeated, zero or absent index.
 */
nox_status nox_th_lagrange(const unsigned *indices, size_t k, unsigned index, uint8_t out[NOX_TH_SCALAR_SIZE],
                           nox_error *err);

/**
 * Node i's partials for a batch of ephemeral keys K_1..K_m (33 bytes compressed each, 1 ≤ m ≤
 * NOX_TH_MAX_BATCH): pairs[j] = K_j ‖ R_j with R_j = share·K_j, and ONE Chaum–Pedersen proof for the whole
 * batch (the batched DLEQ of Privacy Pass / RFC 9497 §2.2.1) that log_G P_i = log_{K_j} R_j for every j:
 *   seed = SHA-512("nox/threshold/dleq-batch/v1" ‖ P_i ‖ m (4 bytes BE) ‖ K_1 ‖ R_1 ‖ … ‖ K_m ‖ R_m)
 *   e_j  = the first 16 bytes of SHA-512(seed ‖ j (4 bytes BE, j from 0)) as a number (1 if zero)
 *   M = Σ e_j·K_j,  Z = Σ e_j·R_j (= share·M)
 *   c = SHA-512("nox/threshold/dleq-batch/v1" ‖ seed ‖ M ‖ Z ‖ A ‖ B) mod n, A = r·G, B = r·M,
 *   z = r + c·share, for a fresh random r; proof = c ‖ z.
 * A node that gets any R_j wrong passes with probability 2^-128 at most. NOX_ERR_INVALID "ephemeral key
 * [j]: …" when a key is not a compressed point on the curve (nothing is written then).
 */
nox_status nox_th_partials(const nox_ec_privkey *share, const uint8_t (*eph)[NOX_TH_POINT_SIZE], size_t m,
                           uint8_t (*pairs)[NOX_TH_PAIR_SIZE], uint8_t proof[NOX_TH_PROOF_SIZE], nox_error *err);

/**
 * Verifies a batch: NOX_OK when the proof shows log_G vk = log_{K_j} R_j for every pair K_j ‖ R_j of
 * pairs[0..m); NOX_ERR_AUTH when it does not ("the DLEQ proof does not verify": at least one R_j is
 * wrong, or the proof is); NOX_ERR_INVALID when a point does not parse, a proof scalar is ≥ n, or m is
 * out of range.
 */
nox_status nox_th_verify_partials(const uint8_t verification_key[NOX_TH_POINT_SIZE],
                                  const uint8_t (*pairs)[NOX_TH_PAIR_SIZE], size_t m,
                                  const uint8_t proof[NOX_TH_PROOF_SIZE], nox_error *err);

/**
 * Combines k partials (partials[j] from node indices[j], distinct) into d·K
 * and writes its 32-byte x-coordinate: the shared secret x of spec §4.1/§4.2.
 * k must be the group's threshold (with more, the result is still right; the
 * caller passes exactly t). When k = 1, λ = 1 and no multiplication is
 * made; when k = 2 (nodes a < b), d·K = (b·R_a − a·R_b)/(b − a): small
 * multiples by constant-time additions and one multiplication by 1/(b − a)
 * only when b − a > 1. NOX_ERR_INVALID for a partial that does not parse
 * or a sum at infinity. x is zeroed on failure.
 */
nox_status nox_th_combine(const unsigned *indices, const uint8_t (*partials)[NOX_TH_POINT_SIZE], size_t k,
                          uint8_t x[NOX_TH_SCALAR_SIZE], nox_error *err);

/* ---- proactive resharing (t-of-n → t'-of-n') -------------------------------------------------------------------- */

/**
 * Old node `share` (whose index in `old` is found as in nox_th_share_check)
 * deals its contribution for the old set old_set[0..k) (k = old->threshold
 * distinct old indices, its own among them) to new_n nodes with threshold
 * new_t: s = λ_i·d_i, a fresh polynomial g with g(0) = s,
 * commitments[0..new_t) = g's coefficients ·G (commitments[0] = λ_i·P_i), and
 * subshares[j-1] = g(j) for j = 1..new_n. On NOX_OK *dealer is its old index.
 * The caller encrypts each subshare to its new node and wipes them.
 */
nox_status nox_th_reshare_deal(const nox_th_group *old, const nox_ec_privkey *share, const unsigned *old_set, size_t k,
                               unsigned new_t, unsigned new_n, unsigned *dealer,
                               uint8_t commitments[][NOX_TH_POINT_SIZE], nox_ec_privkey *subshares, nox_error *err);

/** One old node's contribution as new node j sees it (the sub-share already decrypted). */
typedef struct nox_th_contribution {
    unsigned dealer;                                          /**< its old index */
    uint8_t commitments[NOX_TH_MAX_NODES][NOX_TH_POINT_SIZE]; /**< new_t of them */
    nox_ec_privkey subshare;                                  /**< g_dealer(j) */
} nox_th_contribution;

/**
 * New node j combines the contributions of the old set (k = old->threshold,
 * one per index of old_set, any order): checks each (C_0 = λ_dealer·P_dealer
 * in the old group, subshare·G = Σ_m j^m·C_m; NOX_ERR_AUTH naming the dealer
 * otherwise), then writes its new share Σ g_i(j) and the new group
 * (C'_m = Σ_i C_{i,m}, P'_l = Σ_m l^m·C'_m, P' = C'_0, which must equal the
 * old P). Every new node computes the same group.
 */
nox_status nox_th_reshare_combine(const nox_th_group *old, const unsigned *old_set, size_t k,
                                  const nox_th_contribution *contributions, unsigned new_t, unsigned new_n,
                                  unsigned j, nox_ec_privkey *new_share, nox_th_group *new_group, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_THRESHOLD_H */
