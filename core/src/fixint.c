/*
 * Fixed-width (<= 256-bit) integer arithmetic, constant time in the values.
 *
 * Loop bounds and branches depend only on `bits` and `is_signed`; values are
 * combined with masks. 64x64->128 multiplication is done with unsigned
 * __int128, which compiles to the (constant-time) x86-64/AArch64 multiply.
 */
#include "nox/fixint.h"

#include <string.h>

typedef unsigned __int128 u128;
enum { L = NOX_FIX_LIMBS };

static inline unsigned nlimbs(unsigned bits) { return (bits + 63) / 64; }

/* The bits of limb i that lie below bit position w. */
static inline uint64_t lowmask(unsigned i, unsigned w) {
    unsigned lo = 64 * i;
    if (w >= lo + 64) return ~(uint64_t)0;
    if (w <= lo) return 0;
    return ((uint64_t)1 << (w - lo)) - 1;
}

/* 0 -> 0, anything else -> 1, without a branch. */
static inline uint64_t nonzero(uint64_t x) { return (x | (0 - x)) >> 63; }

static inline uint64_t bit_at(const uint64_t *a, unsigned pos) { return (a[pos / 64] >> (pos % 64)) & 1; }

void nox_fix_zero(uint64_t r[L]) { memset(r, 0, L * sizeof r[0]); }

void nox_fix_mask(uint64_t r[L], unsigned bits) {
    for (unsigned i = 0; i < L; i++) r[i] &= lowmask(i, bits);
}

void nox_fix_add(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    unsigned n = nlimbs(bits);
    uint64_t c = 0;
    for (unsigned i = 0; i < n; i++) {
        u128 s = (u128)a[i] + b[i] + c;
        r[i] = (uint64_t)s;
        c = (uint64_t)(s >> 64);
    }
    for (unsigned i = n; i < L; i++) r[i] = 0;
    nox_fix_mask(r, bits);
}

void nox_fix_sub(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    unsigned n = nlimbs(bits);
    uint64_t br = 0;
    for (unsigned i = 0; i < n; i++) {
        u128 d = (u128)a[i] - b[i] - br;
        r[i] = (uint64_t)d;
        br = (uint64_t)(d >> 64) & 1;
    }
    for (unsigned i = n; i < L; i++) r[i] = 0;
    nox_fix_mask(r, bits);
}

/* Low n limbs of a*b (schoolbook, truncated). */
static void mul_low(uint64_t t[L], const uint64_t a[L], const uint64_t b[L], unsigned n) {
    uint64_t acc[L] = {0};
    for (unsigned i = 0; i < n; i++) {
        uint64_t c = 0;
        for (unsigned j = 0; i + j < n; j++) {
            u128 p = (u128)a[i] * b[j] + acc[i + j] + c;
            acc[i + j] = (uint64_t)p;
            c = (uint64_t)(p >> 64);
        }
    }
    memcpy(t, acc, sizeof acc);
}

void nox_fix_mul(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    mul_low(r, a, b, nlimbs(bits));
    nox_fix_mask(r, bits);
}

/* x = a sign- or zero-extended from `bits` to L+1 limbs (320 bits). */
static void extend(uint64_t x[L + 1], const uint64_t a[L], unsigned bits, int is_signed) {
    uint64_t fill = is_signed ? 0 - bit_at(a, bits - 1) : 0;
    for (unsigned i = 0; i < L; i++) x[i] = a[i] | (fill & ~lowmask(i, bits));
    x[L] = fill;
}

/* 1 when the L+1-limb exact result x lies outside the type's range. */
static uint64_t out_of_range(const uint64_t x[L + 1], unsigned bits, int is_signed) {
    /* In range iff every bit from `lo` up equals the fill (0, or the sign). */
    unsigned lo = is_signed ? bits - 1 : bits;
    uint64_t fill = is_signed ? 0 - bit_at(x, bits - 1) : 0;
    uint64_t acc = x[L] ^ fill;
    for (unsigned i = 0; i < L; i++) acc |= (x[i] ^ fill) & ~lowmask(i, lo);
    return nonzero(acc);
}

static uint64_t add_sub_checked(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits,
                                int is_signed, int subtract) {
    uint64_t x[L + 1], y[L + 1], s[L + 1];
    extend(x, a, bits, is_signed);
    extend(y, b, bits, is_signed);
    uint64_t c = 0;
    for (unsigned i = 0; i < L + 1; i++) {
        u128 t = subtract ? (u128)x[i] - y[i] - c : (u128)x[i] + y[i] + c;
        s[i] = (uint64_t)t;
        c = (uint64_t)(t >> 64) & 1;
    }
    uint64_t ovf = out_of_range(s, bits, is_signed);
    memcpy(r, s, L * sizeof r[0]);
    nox_fix_mask(r, bits);
    return ovf;
}

uint64_t nox_fix_add_checked(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits,
                             int is_signed) {
    return add_sub_checked(r, a, b, bits, is_signed, 0);
}

uint64_t nox_fix_sub_checked(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits,
                             int is_signed) {
    return add_sub_checked(r, a, b, bits, is_signed, 1);
}

uint64_t nox_fix_sign(const uint64_t a[L], unsigned bits) { return bit_at(a, bits - 1); }

void nox_fix_neg(uint64_t r[L], const uint64_t a[L], unsigned bits) {
    static const uint64_t zero[L];
    nox_fix_sub(r, zero, a, bits);
}

void nox_fix_select(uint64_t r[L], uint64_t cond, const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    (void)bits; /* canonical inputs give a canonical output on all limbs */
    uint64_t m = 0 - (cond & 1);
    for (unsigned i = 0; i < L; i++) r[i] = (a[i] & m) | (b[i] & ~m);
}

/* m = |a| as an unsigned `bits`-wide number when sign is 1, else a. */
static void magnitude(uint64_t m[L], const uint64_t a[L], unsigned bits, uint64_t sign) {
    uint64_t neg[L];
    nox_fix_neg(neg, a, bits);
    nox_fix_select(m, sign, neg, a, bits);
}

uint64_t nox_fix_mul_checked(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits,
                             int is_signed) {
    unsigned n = nlimbs(bits);
    uint64_t sa = is_signed ? nox_fix_sign(a, bits) : 0;
    uint64_t sb = is_signed ? nox_fix_sign(b, bits) : 0;
    uint64_t neg = sa ^ sb;
    uint64_t ma[L], mb[L];
    magnitude(ma, a, bits, sa);
    magnitude(mb, b, bits, sb);

    /* Full 2n-limb product of the magnitudes. */
    uint64_t p[2 * L] = {0};
    for (unsigned i = 0; i < n; i++) {
        uint64_t c = 0;
        for (unsigned j = 0; j < n; j++) {
            u128 t = (u128)ma[i] * mb[j] + p[i + j] + c;
            p[i + j] = (uint64_t)t;
            c = (uint64_t)(t >> 64);
        }
        p[i + n] = c;
    }

    /* Largest representable magnitude: 2^bits-1, or 2^(bits-1)-1 (+1 when negative). */
    uint64_t bound[2 * L] = {0};
    nox_fix_max(bound, bits, is_signed);
    uint64_t c = neg;
    for (unsigned i = 0; i < L; i++) {
        u128 t = (u128)bound[i] + c;
        bound[i] = (uint64_t)t;
        c = (uint64_t)(t >> 64);
    }
    /* overflow iff bound < p: the borrow out of bound - p */
    uint64_t br = 0;
    for (unsigned i = 0; i < 2 * L; i++) {
        u128 d = (u128)bound[i] - p[i] - br;
        br = (uint64_t)(d >> 64) & 1;
    }

    uint64_t lo[L], nlo[L];
    memcpy(lo, p, sizeof lo);
    nox_fix_mask(lo, bits);
    nox_fix_neg(nlo, lo, bits);
    nox_fix_select(r, neg, nlo, lo, bits);
    return br;
}

/* Restoring binary long division of `bits`-wide unsigned numbers. */
static void udivrem(uint64_t q[L], uint64_t rem[L], const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    unsigned n = nlimbs(bits);
    uint64_t R[L] = {0}, Q[L] = {0};
    for (unsigned k = bits; k-- > 0;) {
        uint64_t top = R[n - 1] >> 63; /* bit shifted out when bits == 64n */
        for (unsigned j = n - 1; j > 0; j--) R[j] = (R[j] << 1) | (R[j - 1] >> 63);
        R[0] = (R[0] << 1) | bit_at(a, k);
        uint64_t D[L], br = 0;
        for (unsigned j = 0; j < n; j++) {
            u128 d = (u128)R[j] - b[j] - br;
            D[j] = (uint64_t)d;
            br = (uint64_t)(d >> 64) & 1;
        }
        uint64_t take = top | (br ^ 1);
        uint64_t m = 0 - take;
        for (unsigned j = 0; j < n; j++) R[j] = (D[j] & m) | (R[j] & ~m);
        Q[k / 64] |= take << (k % 64);
    }
    memcpy(q, Q, sizeof Q);
    memcpy(rem, R, sizeof R);
}

uint64_t nox_fix_divrem(uint64_t q[L], uint64_t rem[L], const uint64_t a[L], const uint64_t b[L], unsigned bits,
                        int is_signed) {
    static const uint64_t zero[L];
    uint64_t sa = is_signed ? nox_fix_sign(a, bits) : 0;
    uint64_t sb = is_signed ? nox_fix_sign(b, bits) : 0;
    uint64_t ma[L], mb[L], Q[L], R[L], t[L];
    magnitude(ma, a, bits, sa);
    magnitude(mb, b, bits, sb);
    udivrem(Q, R, ma, mb, bits);

    uint64_t bz = nox_fix_is_zero(b, bits);
    nox_fix_select(Q, bz, zero, Q, bits); /* b == 0: quotient 0, remainder |a| */

    uint64_t flag = bz;
    if (is_signed) {
        uint64_t min[L], ones[L];
        nox_fix_min(min, bits, 1);
        nox_fix_max(ones, bits, 0); /* -1 */
        flag |= nox_fix_eq(a, min, bits) & nox_fix_eq(b, ones, bits);
    }
    if (q) {
        nox_fix_neg(t, Q, bits);
        nox_fix_select(q, sa ^ sb, t, Q, bits);
    }
    if (rem) {
        nox_fix_neg(t, R, bits);
        nox_fix_select(rem, sa, t, R, bits);
    }
    return flag;
}

uint64_t nox_fix_eq(const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    uint64_t acc = 0;
    for (unsigned i = 0; i < nlimbs(bits); i++) acc |= a[i] ^ b[i];
    return nonzero(acc) ^ 1;
}

uint64_t nox_fix_lt(const uint64_t a[L], const uint64_t b[L], unsigned bits, int is_signed) {
    unsigned n = nlimbs(bits);
    /* Flipping the sign bit maps signed order onto unsigned order. */
    uint64_t flip = is_signed ? (uint64_t)1 << ((bits - 1) % 64) : 0;
    unsigned top = (bits - 1) / 64;
    uint64_t br = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t x = a[i] ^ (i == top ? flip : 0);
        uint64_t y = b[i] ^ (i == top ? flip : 0);
        u128 d = (u128)x - y - br;
        br = (uint64_t)(d >> 64) & 1;
    }
    return br;
}

uint64_t nox_fix_is_zero(const uint64_t a[L], unsigned bits) {
    uint64_t acc = 0;
    for (unsigned i = 0; i < nlimbs(bits); i++) acc |= a[i];
    return nonzero(acc) ^ 1;
}

void nox_fix_max(uint64_t r[L], unsigned bits, int is_signed) {
    unsigned w = is_signed ? bits - 1 : bits;
    for (unsigned i = 0; i < L; i++) r[i] = lowmask(i, w);
}

void nox_fix_min(uint64_t r[L], unsigned bits, int is_signed) {
    nox_fix_zero(r);
    if (is_signed) r[(bits - 1) / 64] = (uint64_t)1 << ((bits - 1) % 64);
}
