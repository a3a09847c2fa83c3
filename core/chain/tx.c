/*
 * RLP and EIP-155 legacy transaction signing (nox/tx.h).
 */
#include "nox/tx.h"

#include <stdlib.h>
#include <string.h>

#include "nox/keccak.h"

/* ---- RLP ------------------------------------------------------------------ */

void nox_rlp_init(nox_rlp *r) { memset(r, 0, sizeof *r); }

void nox_rlp_free(nox_rlp *r) {
    free(r->data);
    nox_rlp_init(r);
}

/* Makes room for `more` bytes; false (and r->failed) when it cannot. */
static bool reserve(nox_rlp *r, size_t more) {
    if (r->failed) return false;
    if (more <= r->cap - r->len) return true;
    size_t cap = r->cap ? r->cap : 64;
    while (cap - r->len < more) {
        if (cap > SIZE_MAX / 2) {
            r->failed = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(r->data, cap);
    if (!p) {
        r->failed = true;
        return false;
    }
    r->data = p;
    r->cap = cap;
    return true;
}

/* The big-endian bytes of v without leading zeros into out[8]; returns their count (0 for v = 0). */
static size_t be_minimal(uint64_t v, uint8_t out[8]) {
    size_t n = 0;
    for (int shift = 56; shift >= 0; shift -= 8) {
        uint8_t b = (uint8_t)(v >> shift);
        if (n || b) out[n++] = b;
    }
    return n;
}

/* The header of a string (base 0x80) or list (base 0xc0) of `len` payload bytes; returns its size. */
static size_t header(uint8_t base, size_t len, uint8_t out[9]) {
    if (len <= 55) {
        out[0] = (uint8_t)(base + len);
        return 1;
    }
    uint8_t be[8];
    size_t n = be_minimal((uint64_t)len, be);
    out[0] = (uint8_t)(base + 55 + n);
    memcpy(out + 1, be, n);
    return 1 + n;
}

void nox_rlp_put_bytes(nox_rlp *r, const uint8_t *in, size_t len) {
    if (len == 1 && in[0] < 0x80) {
        if (reserve(r, 1)) r->data[r->len++] = in[0];
        return;
    }
    uint8_t h[9];
    size_t hn = header(0x80, len, h);
    if (len > SIZE_MAX - hn || !reserve(r, hn + len)) {
        r->failed = true;
        return;
    }
    memcpy(r->data + r->len, h, hn);
    if (len) memcpy(r->data + r->len + hn, in, len);
    r->len += hn + len;
}

void nox_rlp_put_uint(nox_rlp *r, uint64_t v) {
    uint8_t be[8];
    size_t n = be_minimal(v, be);
    nox_rlp_put_bytes(r, be, n);
}

void nox_rlp_put_uint_be(nox_rlp *r, const uint8_t *be, size_t len) {
    while (len && be[0] == 0) be++, len--;
    nox_rlp_put_bytes(r, be, len);
}

void nox_rlp_wrap_list(nox_rlp *r, size_t mark) {
    if (r->failed) return;
    if (mark > r->len) {
        r->failed = true; /* a mark from another buffer: a programming error, reported as a failure */
        return;
    }
    uint8_t h[9];
    size_t hn = header(0xc0, r->len - mark, h);
    if (!reserve(r, hn)) return;
    memmove(r->data + mark + hn, r->data + mark, r->len - mark);
    memcpy(r->data + mark, h, hn);
    r->len += hn;
}

nox_status nox_rlp_finish(nox_rlp *r, nox_error *err) {
    if (!r->failed) return NOX_OK;
    nox_rlp_free(r);
    return nox_error_set(err, NOX_ERR_NOMEM, "out of memory while RLP-encoding");
}

/* ---- legacy transactions ---------------------------------------------------- */

/* Largest chain id whose v = chainId * 2 + 35 + 1 fits in 64 bits. */
#define MAX_CHAIN_ID ((UINT64_MAX - 36) / 2)

/* Appends the six fields every legacy transaction starts with. */
static void put_body(nox_rlp *r, const nox_tx *tx) {
    nox_rlp_put_uint(r, tx->nonce);
    nox_rlp_put_uint(r, tx->gas_price);
    nox_rlp_put_uint(r, tx->gas_limit);
    nox_rlp_put_bytes(r, tx->to, tx->has_to ? NOX_ADDRESS_SIZE : 0);
    nox_rlp_put_uint_be(r, tx->value, sizeof tx->value);
    nox_rlp_put_bytes(r, tx->data, tx->data_len);
}

static nox_status check_tx(const nox_tx *tx, nox_error *err) {
    if (tx->chain_id == 0 || tx->chain_id > MAX_CHAIN_ID)
        return nox_error_set(err, NOX_ERR_INVALID, "EIP-155 chain id must be in [1, %llu], got %llu",
                             (unsigned long long)MAX_CHAIN_ID, (unsigned long long)tx->chain_id);
    if (tx->data_len && !tx->data) return nox_error_set(err, NOX_ERR_INVALID, "transaction data is NULL");
    return NOX_OK;
}

nox_status nox_tx_signing_hash(const nox_tx *tx, uint8_t hash[32], nox_error *err) {
    nox_status s = check_tx(tx, err);
    if (s) return s;
    nox_rlp r;
    nox_rlp_init(&r);
    put_body(&r, tx);
    nox_rlp_put_uint(&r, tx->chain_id);
    nox_rlp_put_uint(&r, 0);
    nox_rlp_put_uint(&r, 0);
    nox_rlp_wrap_list(&r, 0);
    if ((s = nox_rlp_finish(&r, err))) return s;
    nox_keccak256(r.data, r.len, hash);
    nox_rlp_free(&r);
    return NOX_OK;
}

nox_status nox_tx_sign_legacy(const nox_tx *tx, const nox_ec_privkey *key, uint8_t **raw, size_t *len,
                              uint8_t hash[32], nox_error *err) {
    *raw = NULL;
    *len = 0;
    uint8_t digest[32], sig[NOX_EC_SIGNATURE_SIZE];
    nox_status s = nox_tx_signing_hash(tx, digest, err);
    if (s) return s;
    if ((s = nox_ec_sign(key, digest, sig, err))) return s;
    uint64_t recid = (uint64_t)(sig[64] - 27); /* nox_ec_sign: v = 27 + recovery id */
    nox_rlp r;
    nox_rlp_init(&r);
    put_body(&r, tx);
    nox_rlp_put_uint(&r, tx->chain_id * 2 + 35 + recid);
    nox_rlp_put_uint_be(&r, sig, 32);
    nox_rlp_put_uint_be(&r, sig + 32, 32);
    nox_rlp_wrap_list(&r, 0);
    if ((s = nox_rlp_finish(&r, err))) return s;
    if (hash) nox_keccak256(r.data, r.len, hash);
    *raw = r.data;
    *len = r.len;
    return NOX_OK;
}
