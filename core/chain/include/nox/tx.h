/*
 * nox/tx.h — Ethereum legacy transactions: the RLP encoding they need and
 * EIP-155 signing (replay-protected: the chain id enters the signed hash and v).
 *
 * RLP (the Ethereum Yellow Paper, appendix B), only what a legacy transaction
 * uses: byte strings, lists, and unsigned integers as big-endian byte strings
 * without leading zeros (0 is the empty string, 0x80).
 *
 * Encoding goes into a growable buffer: append items, then wrap what was
 * appended since a mark into a list. An allocation failure is remembered and
 * reported once, by nox_rlp_finish, so a sequence of appends needs one check.
 *
 * The signing key is a secret: it never appears in an error message, and the
 * functions here keep no copy of it.
 */
#ifndef NOX_TX_H
#define NOX_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nox/ec.h"
#include "nox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- RLP ------------------------------------------------------------------ */

/** An RLP encoding being built. Zero-initialise (or nox_rlp_init); release with nox_rlp_free. */
typedef struct nox_rlp {
    uint8_t *data; /**< the encoding so far (malloc'd; NULL while empty) */
    size_t len;
    size_t cap;
    bool failed;   /**< an allocation failed: every later append is a no-op */
} nox_rlp;

/** Starts an empty encoding. */
void nox_rlp_init(nox_rlp *r);

/** Frees the buffer and resets r to empty. */
void nox_rlp_free(nox_rlp *r);

/** Appends the encoding of the byte string in[0..len) (a single byte below 0x80 encodes as itself). */
void nox_rlp_put_bytes(nox_rlp *r, const uint8_t *in, size_t len);

/** Appends an unsigned integer: big-endian, no leading zeros (0 is the empty string). */
void nox_rlp_put_uint(nox_rlp *r, uint64_t v);

/** Appends a big-endian unsigned integer of any width (e.g. a uint256), leading zero bytes stripped. */
void nox_rlp_put_uint_be(nox_rlp *r, const uint8_t *be, size_t len);

/**
 * Turns everything appended since `mark` (the value of r->len taken before
 * the list's items were appended) into one list: inserts the list header at
 * `mark`. Lists nest: take a mark for each.
 */
void nox_rlp_wrap_list(nox_rlp *r, size_t mark);

/** NOX_OK, or NOX_ERR_NOMEM when an append failed on the way (r is then empty). */
nox_status nox_rlp_finish(nox_rlp *r, nox_error *err);

/* ---- legacy transactions ---------------------------------------------------- */

/** A legacy (type 0) transaction. */
typedef struct nox_tx {
    uint64_t nonce;
    uint64_t gas_price;             /**< wei per gas */
    uint64_t gas_limit;
    bool has_to;                    /**< false: contract creation (empty `to`) */
    uint8_t to[NOX_ADDRESS_SIZE];
    uint8_t value[32];              /**< wei, uint256 big-endian */
    const uint8_t *data;            /**< calldata (may be NULL when data_len is 0) */
    size_t data_len;
    uint64_t chain_id;              /**< EIP-155: 1 ..= (2^64 - 36) / 2 */
} nox_tx;

/**
 * The EIP-155 signing hash: keccak256(rlp([nonce, gasPrice, gas, to, value,
 * data, chainId, 0, 0])). NOX_ERR_INVALID for a chain id of 0 or one whose v
 * would not fit in 64 bits; NOX_ERR_NOMEM.
 */
nox_status nox_tx_signing_hash(const nox_tx *tx, uint8_t hash[32], nox_error *err);

/**
 * Signs tx with key (EIP-155): v = chainId * 2 + 35 + recovery id. On NOX_OK
 * *raw receives the signed transaction rlp([nonce, gasPrice, gas, to, value,
 * data, v, r, s]) (malloc'd: free()), *len its length, and hash (may be NULL)
 * the transaction hash keccak256(raw) that nodes report. Errors as
 * nox_tx_signing_hash, or nox_ec_sign's.
 */
nox_status nox_tx_sign_legacy(const nox_tx *tx, const nox_ec_privkey *key, uint8_t **raw, size_t *len,
                              uint8_t hash[32], nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_TX_H */
