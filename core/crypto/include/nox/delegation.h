/*
 * nox/delegation.h — decryption delegation, the two halves of spec §4.2.
 *
 * KMS side: for a stored ephemeral key K and a requester's RSA public key,
 *   x = x-coordinate of d·K (d = the KMS private key),
 *   encryptedSharedSecret = RSA-OAEP(SHA-256, MGF1-SHA-256, empty label)(x),
 * so the KMS never sees plaintext and the requester never sees d.
 *
 * Requester side (Runner or user): RSA-decrypt to x (exactly 32 bytes), derive
 * the AES key with the HKDF of spec §4.1, AES-GCM-decrypt with the stored nonce.
 *
 * x is a secret: every function here wipes its copies before returning, and
 * error messages never contain it.
 */
#ifndef NOX_DELEGATION_H
#define NOX_DELEGATION_H

#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/ecies.h"
#include "nox/error.h"
#include "nox/rsa.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The KMS side. `ephemeral` must be 33 bytes, SEC1 compressed (0x02/0x03) and
 * on secp256k1, else NOX_ERR_INVALID ("… ephemeral public key: …"); `target`
 * is the requester's RSA public key (imported with nox_rsa_from_spki[_hex],
 * which enforces the size and SPKI rules of spec §8). Writes
 * nox_rsa_size(target) bytes into `out` (capacity `cap`) and the length into
 * `*out_len`.
 */
nox_status nox_delegation_delegate(const nox_ec_privkey *kms_key, const uint8_t *ephemeral, size_t ephemeral_len,
                                   const nox_rsa_key *target, uint8_t *out, size_t cap, size_t *out_len,
                                   nox_error *err);

/**
 * The requester side: RSA-decrypts `encrypted_secret` with `key` (a key pair)
 * into x. NOX_ERR_AUTH when it does not decrypt, NOX_ERR_INVALID when it
 * decrypts to anything but exactly 32 bytes (x is then zeroed either way).
 */
nox_status nox_delegation_unwrap(const nox_rsa_key *key, const uint8_t *encrypted_secret, size_t encrypted_len,
                                 uint8_t x[NOX_ECIES_SECRET_SIZE], nox_error *err);

/**
 * Convenience for a stored value (spec §7.2/§7.3: ciphertext, encryptedSharedSecret, iv):
 * unwrap, then nox_ecies_decrypt_x. Writes `ciphertext_len` - 16 bytes into
 * `plaintext` (zeroed on failure); the same errors as those two functions.
 */
nox_status nox_delegation_decrypt(const nox_rsa_key *key, const uint8_t *encrypted_secret, size_t encrypted_len,
                                  const uint8_t nonce[NOX_ECIES_NONCE_SIZE], const uint8_t *ciphertext,
                                  size_t ciphertext_len, uint8_t *plaintext, nox_error *err);

/* ---- threshold delegation (docs/PROTOCOL-EXTENSIONS.md §11) -------------------------------------------------
 *
 * A node of a t-of-n group answers a batch of ephemeral keys K_1..K_m for one requester with one envelope:
 *   plaintext = proof (64: the batch's DLEQ proof, nox_th_partials) ‖ for each K_j: K_j (33) ‖ R_j = d_i·K_j (33)
 *   envelope  = AES-256-GCM(k, iv, aad, plaintext), k a fresh 32-byte key, iv 12 random bytes,
 *               aad = "nox/partials/v2" ‖ node index (4 bytes BE) ‖ chain id (8 bytes BE)
 *   wrappedKey = RSA-OAEP(SHA-256, MGF1-SHA-256)(requester's key, k)
 * so the requester makes one RSA decryption per node per batch, not one per operand, the node one proof per
 * batch, and whoever carries the envelope (the Gateway) never sees a partial.
 */

#include "nox/threshold.h"

/** One item of an envelope: K ‖ R. */
#define NOX_DELEGATION_ITEM_SIZE NOX_TH_PAIR_SIZE
#define NOX_DELEGATION_AAD_LABEL "nox/partials/v2"
/** Most items in one envelope. */
#define NOX_DELEGATION_MAX_ITEMS NOX_TH_MAX_BATCH
/** The sealed size of an envelope of m items: the proof, the items, the tag. */
#define NOX_DELEGATION_SEALED_SIZE(m) (NOX_TH_PROOF_SIZE + (size_t)(m) * NOX_DELEGATION_ITEM_SIZE + NOX_ECIES_TAG_SIZE)

/*
 * Envelope keys that last. A node may seal every envelope for one requester under the same AES-256 key for
 * up to a TTL (and NOX_ENVELOPE_KEY_MAX_USES envelopes), sending the same wrappedKey each time; the requester,
 * remembering what a wrappedKey unwrapped to, then makes one RSA decryption per node per TTL instead of one
 * per batch — at moderate load, where batches are small, that RSA decryption was most of the requester's
 * work. Every envelope keeps its own random IV and its AAD (node, chain); items carry their K. A cache holds
 * secrets: its entries are wiped when they expire or are replaced, and by nox_envelope_keys_free.
 */
#define NOX_ENVELOPE_KEY_MAX_USES (UINT64_C(1) << 20) /* random 96-bit IVs: collision chance < 2^-56 */

typedef struct nox_envelope_keys nox_envelope_keys;

/** A cache of `entries` keys (1..4096), each kept `ttl_s` (≥ 1) seconds; NULL when out of memory or range. */
nox_envelope_keys *nox_envelope_keys_new(unsigned ttl_s, size_t entries);
void nox_envelope_keys_free(nox_envelope_keys *k);
/** How many times a key was served from the cache (not made, not RSA-decrypted). */
uint64_t nox_envelope_keys_hits(nox_envelope_keys *k);

/**
 * The node side: the envelope key for `target` and its RSA-OAEP wrapping (into wrapped, capacity cap) — the
 * live one of the cache `k`, or a fresh one (then remembered). k NULL: always fresh.
 */
nox_status nox_envelope_key_for(nox_envelope_keys *k, const nox_rsa_key *target, uint8_t key[NOX_ECIES_KEY_SIZE],
                                uint8_t *wrapped, size_t cap, size_t *wrapped_len, nox_error *err);

/**
 * The requester side: what `wrapped` unwraps to with `key` — remembered from an earlier call of the same key
 * with the same bytes, else RSA-decrypted (NOX_ERR_AUTH when it does not decrypt). *out_len is the decrypted
 * length (only a 32-byte result is written to out and remembered). k NULL: always decrypted.
 */
nox_status nox_envelope_key_unwrap(nox_envelope_keys *k, const nox_rsa_key *key, const uint8_t *wrapped,
                                   size_t wrapped_len, uint8_t out[NOX_ECIES_KEY_SIZE], size_t *out_len,
                                   nox_error *err);

/** A sealed envelope (what travels; malloc'd buffers, freed by nox_sealed_partials_free). */
typedef struct nox_sealed_partials {
    unsigned node;
    uint8_t *wrapped_key; /**< RSA-OAEP of the envelope key: nox_rsa_size(target) bytes */
    size_t wrapped_key_len;
    uint8_t iv[NOX_ECIES_NONCE_SIZE];
    uint8_t *ciphertext; /**< proof and items, sealed: NOX_DELEGATION_SEALED_SIZE(m) bytes */
    size_t ciphertext_len;
} nox_sealed_partials;

void nox_sealed_partials_free(nox_sealed_partials *s);

/**
 * The node side: node `node`'s share, for ephemeral keys eph[0..m) (1 ≤ m ≤ NOX_DELEGATION_MAX_ITEMS), to
 * `target`, under the envelope key of `keys` (NULL: a fresh one). NOX_ERR_INVALID "ephemeral key [j]: …" when
 * one is not a compressed point on the curve (nothing is sealed then).
 */
nox_status nox_delegation_seal_partials(const nox_ec_privkey *share, unsigned node, uint64_t chain_id,
                                        const uint8_t (*eph)[NOX_TH_POINT_SIZE], size_t m, const nox_rsa_key *target,
                                        nox_envelope_keys *keys, nox_sealed_partials *out, nox_error *err);

/** An opened envelope: secret (the partials), wiped and freed by nox_partials_wipe. */
typedef struct nox_partials {
    unsigned node;
    uint8_t verification_key[NOX_TH_POINT_SIZE]; /**< P_node from the group: checks the proofs */
    size_t m;                                    /**< items */
    uint8_t proof[NOX_TH_PROOF_SIZE];            /**< the batch's DLEQ proof */
    uint8_t *items;                              /**< m × NOX_DELEGATION_ITEM_SIZE: K_j ‖ R_j */
    int proof_state;                             /**< 0 not checked yet, 1 holds, -1 fails (decrypt_partials) */
} nox_partials;

void nox_partials_wipe(nox_partials *p);

/**
 * The requester side: unwraps the envelope key with `key` (through `keys`, NULL: always RSA) and opens the
 * envelope of node `node` on chain `chain_id`. NOX_ERR_AUTH when it does not open (another requester's, another node's or chain's, or
 * altered); NOX_ERR_INVALID when its length is not a whole number of items. The verification key is the
 * caller's to fill.
 */
nox_status nox_delegation_open_partials(const nox_rsa_key *key, nox_envelope_keys *keys,
                                        const nox_sealed_partials *sealed, uint64_t chain_id, nox_partials *out,
                                        nox_error *err);

/**
 * Decrypts one stored value (spec §7.2/§7.3: ciphertext, iv, and its ephemeral key K) from the opened
 * envelopes sets[0..k) of distinct nodes, with threshold t: item `item` of each set must be for K
 * (NOX_ERR_INVALID otherwise: the carrier mixed items up). Combines the first t sets whose node is not in
 * *bad (bit node-1), and decrypts. Only when the tag fails are the proofs checked: every node whose proof
 * fails is added to *bad (and logged by the caller), and the value is combined again from t other nodes
 * when k allows. A set's proof is checked at most once (sets[s].proof_state remembers the answer).
 * Errors: NOX_ERR_REMOTE when fewer than t good sets remain (the message names the
 * bad nodes); NOX_ERR_AUTH when every proof holds and the value still does not decrypt (the stored
 * ciphertext is not what was encrypted). `plaintext` (ct_len − 16 bytes) is zeroed on failure.
 */
nox_status nox_delegation_decrypt_partials(nox_partials *sets, size_t k, unsigned t, size_t item,
                                           const uint8_t ephemeral[NOX_TH_POINT_SIZE],
                                           const uint8_t nonce[NOX_ECIES_NONCE_SIZE], const uint8_t *ciphertext,
                                           size_t ct_len, uint8_t *plaintext, uint64_t *bad, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_DELEGATION_H */
