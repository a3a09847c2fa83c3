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

/* Clears plaintext-derived scratch on the stack; not elided by the compiler. */
static inline void wipe(void *p, size_t n) { explicit_bzero(p, n); }

/* 0 -> 0, anything else -> 1, without a branch. */
static inline uint64_t nonzero(uint64_t x) { return (x | (0 - x)) >> 63; }

static inline uint64_t bit_at(const uint64_t *a, unsigned pos) { return (a[pos / 64] >> (pos % 64)) & 1; }

void nox_fix_zero(uint64_t r[L]) { memset(r, 0, L * sizeof r[0]); }

void nox_fix_mask(uint64_t r[L], unsigned bits) {
    for (unsigned i = 0; i < L; i++) r[i] &= lowmask(i, bits);
}

/* A straight-line carry chain over all L limbs is cheaper than a loop bounded
 * by the width; limbs past the width cannot reach the masked result. */
void nox_fix_add(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    u128 s0 = (u128)a[0] + b[0];
    u128 s1 = (u128)a[1] + b[1] + (uint64_t)(s0 >> 64);
    u128 s2 = (u128)a[2] + b[2] + (uint64_t)(s1 >> 64);
    u128 s3 = (u128)a[3] + b[3] + (uint64_t)(s2 >> 64);
    r[0] = (uint64_t)s0 & lowmask(0, bits);
    r[1] = (uint64_t)s1 & lowmask(1, bits);
    r[2] = (uint64_t)s2 & lowmask(2, bits);
    r[3] = (uint64_t)s3 & lowmask(3, bits);
}

void nox_fix_sub(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    u128 d0 = (u128)a[0] - b[0];
    u128 d1 = (u128)a[1] - b[1] - ((uint64_t)(d0 >> 64) & 1);
    u128 d2 = (u128)a[2] - b[2] - ((uint64_t)(d1 >> 64) & 1);
    u128 d3 = (u128)a[3] - b[3] - ((uint64_t)(d2 >> 64) & 1);
    r[0] = (uint64_t)d0 & lowmask(0, bits);
    r[1] = (uint64_t)d1 & lowmask(1, bits);
    r[2] = (uint64_t)d2 & lowmask(2, bits);
    r[3] = (uint64_t)d3 & lowmask(3, bits);
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

/*
 * Checked add/sub. Unsigned: the exact sum of two `bits`-wide numbers has at
 * most bits + 1 bits, so it overflows iff bit `bits` of the (L+1)-limb sum is
 * set; a difference is out of range iff it borrows. Signed: the textbook sign
 * rule on the wrapped result r — a + b overflows iff a and b have the same
 * sign and r the other; a - b iff a and b differ in sign and r differs from a.
 * Limbs past the width are masked off on input.
 */
uint64_t nox_fix_add_checked(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits,
                             int is_signed) {
    uint64_t sa = bit_at(a, bits - 1), sb = bit_at(b, bits - 1); /* before r, which may alias a or b */
    uint64_t sum[L + 1], c = 0;
    for (unsigned i = 0; i < L; i++) {
        uint64_t m = lowmask(i, bits);
        u128 t = (u128)(a[i] & m) + (b[i] & m) + c;
        sum[i] = (uint64_t)t;
        c = (uint64_t)(t >> 64);
    }
    sum[L] = c;
    uint64_t carry_out = bit_at(sum, bits);
    for (unsigned i = 0; i < L; i++) r[i] = sum[i] & lowmask(i, bits);
    if (!is_signed) return carry_out;
    uint64_t sr = bit_at(r, bits - 1);
    return (sa ^ sr) & (sb ^ sr);
}

uint64_t nox_fix_sub_checked(uint64_t r[L], const uint64_t a[L], const uint64_t b[L], unsigned bits,
                             int is_signed) {
    uint64_t sa = bit_at(a, bits - 1), sb = bit_at(b, bits - 1); /* before r, which may alias a or b */
    uint64_t br = 0;
    for (unsigned i = 0; i < L; i++) {
        uint64_t m = lowmask(i, bits);
        u128 t = (u128)(a[i] & m) - (b[i] & m) - br;
        r[i] = (uint64_t)t & m;
        br = (uint64_t)(t >> 64) & 1;
    }
    if (!is_signed) return br;
    uint64_t sr = bit_at(r, bits - 1);
    return (sa ^ sb) & (sa ^ sr);
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
    wipe(ma, sizeof ma), wipe(mb, sizeof mb), wipe(p, sizeof p), wipe(lo, sizeof lo), wipe(nlo, sizeof nlo);
    return br;
}

/* 1 when x == y, else 0, without a branch. */
static inline uint64_t eq64(uint64_t x, uint64_t y) { return nonzero(x ^ y) ^ 1; }

/* (hi:lo) / d for hi < d. On x86-64 the divq instruction: no branch and no
 * memory index on the operands. Elsewhere the compiler's 128-bit division
 * (libgcc's __udivti3), which is correct but may branch on the values. */
static inline uint64_t div128(uint64_t hi, uint64_t lo, uint64_t d) {
#if defined(__x86_64__)
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d) : "cc");
    (void)r;
    return q;
#else
    return (uint64_t)((((u128)hi << 64) | lo) / d);
#endif
}

/* r[0..w) = x[0..w) << s, for 0 <= s < 64 * maxk: the limb part of the shift
 * is chosen among maxk candidates with masks, the bit part is a shift by a
 * register amount (constant time), so s may be secret. */
static void shl_ct(uint64_t *r, const uint64_t *x, unsigned w, uint64_t s, unsigned maxk) {
    uint64_t tmp[2 * L + 1] = {0}, t = s % 64;
    for (unsigned k = 0; k < maxk; k++) {
        uint64_t m = 0 - eq64(s / 64, k);
        for (unsigned i = k; i < w; i++) tmp[i] |= x[i - k] & m;
    }
    for (unsigned i = w; i-- > 0;) r[i] = (tmp[i] << t) | (i ? (tmp[i - 1] >> 1) >> (63 - t) : 0);
    wipe(tmp, sizeof tmp);
}

/* r[0..w) = x[0..w) >> s, likewise. */
static void shr_ct(uint64_t *r, const uint64_t *x, unsigned w, uint64_t s, unsigned maxk) {
    uint64_t tmp[2 * L + 1] = {0}, t = s % 64;
    for (unsigned k = 0; k < maxk; k++) {
        uint64_t m = 0 - eq64(s / 64, k);
        for (unsigned i = 0; i + k < w; i++) tmp[i] |= x[i + k] & m;
    }
    for (unsigned i = 0; i < w; i++) r[i] = (tmp[i] >> t) | (i + 1 < w ? (tmp[i + 1] << 1) << (63 - t) : 0);
    wipe(tmp, sizeof tmp);
}

/*
 * Unsigned division of `bits`-wide numbers, b != 0: Knuth's algorithm D
 * (TAOCP 4.3.1) made constant-time. The divisor is normalised to n full
 * limbs by a secret shift; each quotient limb is estimated from the top two
 * limbs with one 128/64 division (qhat is at most 2 too large, Theorem B),
 * the multiply-subtract always runs, and the two possible add-backs always
 * run under masks.
 */
static void udivrem(uint64_t q[L], uint64_t rem[L], const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    unsigned n = nlimbs(bits);
    /* s = leading zero bits of b within n limbs: the highest non-zero limb decides */
    uint64_t s = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t cand = (uint64_t)(n - 1 - i) * 64 + (uint64_t)__builtin_clzll(b[i] | 1);
        uint64_t m = 0 - nonzero(b[i]);
        s = (cand & m) | (s & ~m);
    }
    uint64_t d[L], u[2 * L + 1] = {0}, a2[2 * L] = {0};
    shl_ct(d, b, n, s, n);
    memcpy(a2, a, n * sizeof a[0]);
    shl_ct(u, a2, 2 * n, s, n); /* u[2n] stays 0 */

    uint64_t Q[L + 1] = {0}, dtop = d[n - 1];
    for (unsigned j = n + 1; j-- > 0;) {
        /* estimate from the window's top limbs; uhi <= dtop holds, and uhi == dtop means qhat = 2^64-1 */
        uint64_t uhi = u[j + n], ulo = u[j + n - 1];
        uint64_t meq = 0 - eq64(uhi, dtop);
        uint64_t qhat = div128(uhi & ~meq, ulo, dtop) | meq;

        /* window u[j..j+n] -= qhat * d */
        uint64_t carry = 0, borrow = 0;
        for (unsigned i = 0; i < n; i++) {
            u128 p = (u128)qhat * d[i] + carry;
            carry = (uint64_t)(p >> 64);
            u128 t = (u128)u[j + i] - (uint64_t)p - borrow;
            u[j + i] = (uint64_t)t;
            borrow = (uint64_t)(t >> 64) & 1;
        }
        u128 t = (u128)u[j + n] - carry - borrow;
        u[j + n] = (uint64_t)t;
        uint64_t neg = (uint64_t)(t >> 64) & 1;

        /* qhat was at most 2 too large: add d back (at most twice) while negative */
        for (int k = 0; k < 2; k++) {
            uint64_t m = 0 - neg, c = 0;
            for (unsigned i = 0; i < n; i++) {
                u128 sum = (u128)u[j + i] + (d[i] & m) + c;
                u[j + i] = (uint64_t)sum;
                c = (uint64_t)(sum >> 64);
            }
            u128 top = (u128)u[j + n] + c;
            u[j + n] = (uint64_t)top;
            qhat -= neg;
            neg &= (uint64_t)(top >> 64) ^ 1; /* a carry out of the window means it is non-negative again */
        }
        Q[j] = qhat;
    }
    nox_fix_zero(q);
    memcpy(q, Q, n * sizeof q[0]);
    nox_fix_zero(rem);
    shr_ct(rem, u, n, s, n);
    wipe(d, sizeof d), wipe(u, sizeof u), wipe(a2, sizeof a2), wipe(Q, sizeof Q);
}

uint64_t nox_fix_divrem(uint64_t q[L], uint64_t rem[L], const uint64_t a[L], const uint64_t b[L], unsigned bits,
                        int is_signed) {
    static const uint64_t zero[L];
    uint64_t sa = is_signed ? nox_fix_sign(a, bits) : 0;
    uint64_t sb = is_signed ? nox_fix_sign(b, bits) : 0;
    uint64_t ma[L], mb[L], Q[L], R[L], t[L];
    magnitude(ma, a, bits, sa);
    magnitude(mb, b, bits, sb);
    uint64_t bz = nox_fix_is_zero(b, bits);
    mb[0] |= bz; /* divide by 1 instead of 0, then fix the results up */
    udivrem(Q, R, ma, mb, bits);
    nox_fix_select(Q, bz, zero, Q, bits); /* b == 0: quotient 0, remainder |a| */
    nox_fix_select(R, bz, ma, R, bits);

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
    wipe(ma, sizeof ma), wipe(mb, sizeof mb), wipe(Q, sizeof Q), wipe(R, sizeof R), wipe(t, sizeof t);
    return flag;
}

uint64_t nox_fix_eq(const uint64_t a[L], const uint64_t b[L], unsigned bits) {
    uint64_t acc = 0;
    for (unsigned i = 0; i < nlimbs(bits); i++) acc |= a[i] ^ b[i];
    return nonzero(acc) ^ 1;
}

uint64_t nox_fix_lt(const uint64_t a[L], const uint64_t b[L], unsigned bits, int is_signed) {
    /* Flipping the sign bit maps signed order onto unsigned order; then the
     * borrow out of a - b over all L limbs (zero above the width) is a < b. */
    uint64_t flip[L] = {0};
    if (is_signed) flip[(bits - 1) / 64] = (uint64_t)1 << ((bits - 1) % 64);
    uint64_t br = 0;
    for (unsigned i = 0; i < L; i++) {
        uint64_t m = lowmask(i, bits); /* limbs past the width are not part of the value */
        u128 d = (u128)((a[i] & m) ^ flip[i]) - ((b[i] & m) ^ flip[i]) - br;
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
