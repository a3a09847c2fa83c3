/*
 * Constant-time helpers on little-endian 64-bit limb arrays of any width up to
 * NOX_VALUE_MAX_BITS (1..2048 bits: bool, uint/int 8..256 and the wide
 * types), shared by the extension families (bitwise, shift, minmax, cast).
 * Not part of the SDK.
 *
 * `n` is the number of meaningful limbs (nox_type_limbs) and `bits` the width
 * (nox_type_bits): both come from the type, which is public. Loop bounds and
 * branches depend only on them and on other public constants; every value is
 * combined with masks (no branch and no memory index derived from a value).
 * tests/ctime checks the operators built on these under valgrind.
 *
 * Inputs are canonical (bits at and above `bits` zero); outputs are written
 * canonical in their first n limbs. Limbs past n are neither read nor written.
 */
#ifndef NOX_OPERATORS_CTLIMBS_H
#define NOX_OPERATORS_CTLIMBS_H

#include <stdint.h>

#include "nox/plugin.h"

typedef unsigned __int128 ct_u128;

/** The bits of limb i that lie below bit position w (public arguments). */
static inline uint64_t ct_lowmask(unsigned i, unsigned w) {
    unsigned lo = 64 * i;
    if (w >= lo + 64) return ~(uint64_t)0;
    if (w <= lo) return 0;
    return ((uint64_t)1 << (w - lo)) - 1;
}

/** 0 -> 0, anything else -> all ones, without a branch. */
static inline uint64_t ct_mask_nonzero(uint64_t x) { return 0 - ((x | (0 - x)) >> 63); }

/** 1 when any of the first n limbs is non-zero, else 0. */
static inline uint64_t ct_nonzero(const uint64_t *a, unsigned n) {
    uint64_t acc = 0;
    for (unsigned i = 0; i < n; i++) acc |= a[i];
    return (acc | (0 - acc)) >> 63;
}

/** Bit `bits - 1` of a (the sign in the signed interpretation), 0 or 1. */
static inline uint64_t ct_top_bit(const uint64_t *a, unsigned bits) {
    return (a[(bits - 1) / 64] >> ((bits - 1) % 64)) & 1;
}

/** r = m ? a : b for a mask m of all ones or zero. r may alias a or b. */
static inline void ct_select(uint64_t *r, uint64_t m, const uint64_t *a, const uint64_t *b, unsigned n) {
    for (unsigned i = 0; i < n; i++) r[i] = (a[i] & m) | (b[i] & ~m);
}

/** Clears every bit at or above `bits` in the first n limbs. */
static inline void ct_mask(uint64_t *r, unsigned n, unsigned bits) {
    for (unsigned i = 0; i < n; i++) r[i] &= ct_lowmask(i, bits);
}

/** 1 when a < b, unsigned or (is_signed) two's complement order, else 0. */
static inline uint64_t ct_lt(const uint64_t *a, const uint64_t *b, unsigned n, unsigned bits, int is_signed) {
    /* Flipping the sign bit of both maps signed order onto unsigned order. */
    uint64_t borrow = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t flip = is_signed && i == (bits - 1) / 64 ? (uint64_t)1 << ((bits - 1) % 64) : 0;
        ct_u128 d = (ct_u128)(a[i] ^ flip) - (b[i] ^ flip) - borrow;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    return borrow;
}

/** r = -a mod 2^bits (two's complement; -MIN = MIN). r may alias a. */
static inline void ct_neg(uint64_t *r, const uint64_t *a, unsigned n, unsigned bits) {
    uint64_t carry = 1;
    for (unsigned i = 0; i < n; i++) {
        ct_u128 s = (ct_u128)(~a[i]) + carry;
        r[i] = (uint64_t)s;
        carry = (uint64_t)(s >> 64);
    }
    ct_mask(r, n, bits);
}

/** Smallest k with 2^k > max_amount: the stages a barrel shifter needs. */
static inline unsigned ct_shift_stages(unsigned max_amount) {
    unsigned k = 0;
    while ((1u << k) <= max_amount) k++;
    return k;
}

/*
 * Barrel shifters by a secret amount s < 2^stages over n limbs (not masked to
 * a width: the caller masks; bits shifted past limb n-1 are dropped). The low
 * six bits of s move bits within limbs with one variable-count shift per limb
 * (shl/shr by a register take constant time on x86-64 and AArch64 — no branch
 * and no memory index); each higher bit k of s moves whole limbs by 2^(k-6),
 * computed always and kept or not by mask. r may alias a.
 */
static inline void ct_shl(uint64_t *r, const uint64_t *a, uint64_t s, unsigned n, unsigned stages) {
    unsigned b = (unsigned)(s & 63);
    /* (x >> 1) >> (63 - b) is x >> (64 - b), and 0 for b = 0, without a 64-bit shift */
    for (unsigned i = n; i-- > 0;) r[i] = (a[i] << b) | (i ? (a[i - 1] >> 1) >> (63 - b) : 0);
    for (unsigned k = 6; k < stages; k++) {
        uint64_t m = 0 - ((s >> k) & 1);
        unsigned lq = 1u << (k - 6);
        /* from the top down: r[i] only reads r[i - lq], not yet updated */
        for (unsigned i = n; i-- > 0;) r[i] = ((i >= lq ? r[i - lq] : 0) & m) | (r[i] & ~m);
    }
}

static inline void ct_shr(uint64_t *r, const uint64_t *a, uint64_t s, unsigned n, unsigned stages) {
    unsigned b = (unsigned)(s & 63);
    for (unsigned i = 0; i < n; i++) r[i] = (a[i] >> b) | (i + 1 < n ? (a[i + 1] << 1) << (63 - b) : 0);
    for (unsigned k = 6; k < stages; k++) {
        uint64_t m = 0 - ((s >> k) & 1);
        unsigned lq = 1u << (k - 6);
        /* from the bottom up: r[i] only reads r[i + lq], not yet updated */
        for (unsigned i = 0; i < n; i++) r[i] = ((i + lq < n ? r[i + lq] : 0) & m) | (r[i] & ~m);
    }
}

/* x - m if x >= m, else x; for x < 2m. */
static inline uint64_t ct_reduce_once(uint64_t x, uint64_t m) {
    uint64_t d = x - m, lt = 0 - (d >> 63); /* all ones when x < m (x, m < 2^63) */
    return (x & lt) | (d & ~lt);
}

/**
 * The n-limb number a modulo a public m in [1, 4096], in constant time
 * (no division of a secret: the divider's latency may depend on the operands).
 * a = sum a[i] * 2^(64 i), so a mod m = sum (a[i] mod m) * (2^(64 i) mod m)
 * mod m: each limb is reduced with a Barrett estimate q = (a[i] * floor(2^64/m))
 * >> 64, which is the true quotient or one less, and one masked subtraction;
 * the weighted sum (< 2^29) is reduced the same way with floor(2^32/m).
 */
static inline uint64_t ct_mod_small(const uint64_t *a, unsigned n, uint64_t m) {
    if ((m & (m - 1)) == 0) return a[0] & (m - 1); /* a power of two (m is public) */
    uint64_t inv64 = (uint64_t)(((ct_u128)1 << 64) / m), limb_weight = (uint64_t)(((ct_u128)1 << 64) % m);
    uint64_t w = 1 % m, acc = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t q = (uint64_t)(((ct_u128)a[i] * inv64) >> 64);
        acc += ct_reduce_once(a[i] - q * m, m) * w; /* < m * m each */
        w = w * limb_weight % m;                    /* public */
    }
    uint64_t q = (acc * ((((uint64_t)1) << 32) / m)) >> 32;
    return ct_reduce_once(acc - q * m, m);
}

#endif
