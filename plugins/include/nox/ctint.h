/*
 * nox/ctint.h — constant-time fixed-width integers for operator plugins.
 *
 * Header-only (every function is static inline), strict C17, no dependency
 * beyond <stdint.h>, <stddef.h> and nox/plugin.h (installed next to it).
 * Nox's constant-time extension operators (bitwise, shift, minmax, cast) are
 * built on it.
 *
 * VALUES. A value of width `bits` (1 <= bits <= NOX_CT_MAX_BITS) is an array
 * of NOX_CT_LIMBS(bits) uint64_t limbs, least significant first: the layout
 * of nox_value.limb. Signed values are two's complement at that width.
 * Canonical: every bit at or above `bits` is zero. Every input must be
 * canonical; every output is written canonical, in exactly its first
 * NOX_CT_LIMBS(bits) limbs (limbs past those are neither read nor written).
 * A nox_value of type T has width nox_type_bits(T) and nox_type_limbs(T)
 * limbs, which is NOX_CT_LIMBS(nox_type_bits(T)): nox_ct_load / nox_ct_store
 * convert between a nox_value and a buffer of another width.
 *
 * CONTRACT: what is public, what is secret.
 *   - PUBLIC: every width (`bits`, `rbits`, `abits`), `is_signed`, the shift
 *     amount of nox_ct_shl / nox_ct_shr / nox_ct_sar, and the pointers. These
 *     come from the type, never from a value; loops and branches use them.
 *   - SECRET: every limb of every value, the `mask` of nox_ct_select, the
 *     amount of the *_secret shifts, and every returned carry, borrow or 0/1.
 *     No branch, loop bound, early exit or memory index depends on them, and
 *     there is no hardware division at all (div/rem is a bitwise restoring
 *     long division over the public bit count). So the running time and the
 *     memory trace depend only on the public arguments. Assumed of the CPU,
 *     as everywhere in Nox: 64-bit multiply and shift-by-register are
 *     constant time (true on x86-64 and AArch64). Checked under valgrind by
 *     Nox's tests/ctime (ctime_ctint) at 64, 256 and 512 bits.
 *   - Returned 0/1 results are secrets: turn them into a mask with
 *     nox_ct_mask_bit and combine values with nox_ct_select, never `if`.
 *   - Scratch copies of secrets on the stack are wiped before returning.
 *
 * ALIASING. An output may be the very same array as any input (r == a,
 * r == b: nox_ct_add(x, x, y, bits) is fine); outputs must not partially
 * overlap inputs, and the two outputs of a divrem must be distinct arrays.
 *
 * DIVISION BY ZERO is defined and total, like the protocol's `div`:
 *   nox_ct_divrem:  b = 0 -> q = 2^bits - 1 (all ones), r = a;
 *   nox_ct_sdivrem: b = 0 -> q = the signed MAX 2^(bits-1) - 1, r = a;
 *                   MIN / -1 -> q = MIN (the wrapped quotient), r = 0.
 * Overlong shifts are defined too: amount >= bits gives 0 (nox_ct_sar: 0 or
 * -1 by the sign), for public and secret amounts alike.
 *
 * EXAMPLE: floor(a * b / c) of three uintN values (N <= 256) through the
 * 2N-bit product (no overflow), truncated to N bits; c = 0 gives 2^N - 1.
 * (Buffers zero-initialised: GCC's -Wmaybe-uninitialized cannot see that the
 * loads fill every limb the later calls read.)
 *
 *   unsigned n = nox_ct_bits(&in[0]), w = 2 * n;   // public: from the type
 *   uint64_t a[NOX_CT_LIMBS(256)] = {0}, b[NOX_CT_LIMBS(256)] = {0};
 *   uint64_t c[NOX_CT_LIMBS(512)] = {0}, p[NOX_CT_LIMBS(512)] = {0}, q[NOX_CT_LIMBS(512)] = {0};
 *   nox_ct_load(a, n, &in[0]);
 *   nox_ct_load(b, n, &in[1]);
 *   nox_ct_load(c, w, &in[2]);       // zero-extended to 2N bits
 *   nox_ct_mul_wide(p, a, b, n);     // p = a * b, exact, 2N bits
 *   nox_ct_divrem(q, NULL, p, c, w); // q = p / c (all ones when c = 0)
 *   nox_ct_store(&out[0], q, w);     // the low N bits of q
 */
#ifndef NOX_CTINT_H
#define NOX_CTINT_H

#include <stddef.h>
#include <stdint.h>

#include "plugin.h" /* nox/plugin.h: nox_value, nox_type_bits, nox_type_is_signed */

/** The widest value these functions accept (a wide product of two 2048-bit values). */
#define NOX_CT_MAX_BITS 4096u
/** Limbs of a value `bits` wide (a constant expression for a constant argument). */
#define NOX_CT_LIMBS(bits) (((bits) + 63u) / 64u)
/** Limbs of the widest value. */
#define NOX_CT_MAX_LIMBS NOX_CT_LIMBS(NOX_CT_MAX_BITS)

/*
 * Value barrier: hides from the optimizer that a mask is 0 or all ones, so
 * that it cannot turn a masked selection back into a branch.
 */
#if defined(__GNUC__) || defined(__clang__)
#define NOX_CT_BARRIER_(x) __asm__("" : "+r"(x))
#else
#define NOX_CT_BARRIER_(x) ((void)0)
#endif

/* ---- widths (public) ------------------------------------------------------ */

/** NOX_CT_LIMBS(bits) as a function. */
static inline unsigned nox_ct_limbs(unsigned bits) { return NOX_CT_LIMBS(bits); }

/** The width of a nox_value: nox_type_bits of its type (public). */
static inline unsigned nox_ct_bits(const nox_value *v) { return nox_type_bits(v->type); }

/** The bits of limb i that lie below `bits`: all ones, a low mask, or 0. */
static inline uint64_t nox_ct_limb_mask(unsigned i, unsigned bits) {
    unsigned lo = 64 * i;
    if (bits >= lo + 64) return ~(uint64_t)0;
    if (bits <= lo) return 0;
    return ((uint64_t)1 << (bits - lo)) - 1;
}

/* ---- words ----------------------------------------------------------------- */

/** 1 -> all ones, 0 -> 0 (only the low bit of `bit` counts). */
static inline uint64_t nox_ct_mask_bit(uint64_t bit) {
    uint64_t m = (uint64_t)0 - (bit & 1);
    NOX_CT_BARRIER_(m);
    return m;
}

/** x != 0 -> all ones, 0 -> 0. */
static inline uint64_t nox_ct_mask_nonzero(uint64_t x) { return nox_ct_mask_bit((x | ((uint64_t)0 - x)) >> 63); }

/** x + y + cin (cin 0 or 1); *cout = the carry out, 0 or 1. */
static inline uint64_t nox_ct_addc(uint64_t x, uint64_t y, uint64_t cin, uint64_t *cout) {
    uint64_t s = x + y + cin;
    *cout = ((x & y) | ((x | y) & ~s)) >> 63; /* majority of the top bits and the carry into bit 63 */
    return s;
}

/** x - y - bin (bin 0 or 1); *bout = the borrow out, 0 or 1. */
static inline uint64_t nox_ct_subb(uint64_t x, uint64_t y, uint64_t bin, uint64_t *bout) {
    uint64_t d = x - y - bin;
    *bout = ((~x & y) | (~(x ^ y) & d)) >> 63;
    return d;
}

/** The 128-bit x * y: returns the low word, *hi the high word (32-bit half products). */
static inline uint64_t nox_ct_mul64(uint64_t x, uint64_t y, uint64_t *hi) {
    const uint64_t lo32 = 0xffffffffu;
    uint64_t x0 = x & lo32, x1 = x >> 32, y0 = y & lo32, y1 = y >> 32;
    uint64_t p00 = x0 * y0, p01 = x0 * y1, p10 = x1 * y0, p11 = x1 * y1;
    uint64_t mid = (p00 >> 32) + (p01 & lo32) + (p10 & lo32); /* < 3 * 2^32 */
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    return (mid << 32) | (p00 & lo32);
}

/** t + x * y + c as a two-word number: returns the low word, *cout the high word. */
static inline uint64_t nox_ct_mac(uint64_t t, uint64_t x, uint64_t y, uint64_t c, uint64_t *cout) {
    uint64_t hi, c1, c2;
    uint64_t lo = nox_ct_mul64(x, y, &hi);
    lo = nox_ct_addc(lo, t, 0, &c1);
    lo = nox_ct_addc(lo, c, 0, &c2);
    *cout = hi + c1 + c2; /* (2^64 - 1)^2 + 2 (2^64 - 1) < 2^128: no overflow */
    return lo;
}

/** Zeroes `limbs` limbs in a way the compiler keeps (for scratch copies of secrets). */
static inline void nox_ct_wipe(uint64_t *p, unsigned limbs) {
    volatile uint64_t *vp = p;
    for (unsigned i = 0; i < limbs; i++) vp[i] = 0;
}

/* ---- setting, copying, converting ------------------------------------------ */

/** r = 0. */
static inline void nox_ct_zero(uint64_t *r, unsigned bits) {
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = 0;
}

/** r = x mod 2^bits. */
static inline void nox_ct_set_u64(uint64_t *r, uint64_t x, unsigned bits) {
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = (i == 0 ? x : 0) & nox_ct_limb_mask(i, bits);
}

/** r = a. */
static inline void nox_ct_copy(uint64_t *r, const uint64_t *a, unsigned bits) {
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = a[i];
}

/** Clears every bit at or above `bits` (makes r canonical). */
static inline void nox_ct_mask(uint64_t *r, unsigned bits) {
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] &= nox_ct_limb_mask(i, bits);
}

/** r = the largest value: 2^bits - 1, or 2^(bits-1) - 1 when is_signed. */
static inline void nox_ct_max(uint64_t *r, unsigned bits, int is_signed) {
    unsigned top = is_signed ? bits - 1 : bits;
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = nox_ct_limb_mask(i, top);
}

/** r = the smallest value: 0, or -2^(bits-1) when is_signed. */
static inline void nox_ct_min(uint64_t *r, unsigned bits, int is_signed) {
    nox_ct_zero(r, bits);
    if (is_signed) r[(bits - 1) / 64] = (uint64_t)1 << ((bits - 1) % 64);
}

/** Bit bits-1 of a (the sign in the signed interpretation): 0 or 1. */
static inline uint64_t nox_ct_sign(const uint64_t *a, unsigned bits) {
    return (a[(bits - 1) / 64] >> ((bits - 1) % 64)) & 1;
}

/**
 * r (rbits wide) = a (abits wide) zero-extended, or sign-extended when
 * is_signed, or truncated to its low rbits bits when rbits < abits.
 */
static inline void nox_ct_extend(uint64_t *r, unsigned rbits, const uint64_t *a, unsigned abits, int is_signed) {
    unsigned an = NOX_CT_LIMBS(abits);
    uint64_t ext = is_signed ? nox_ct_mask_bit(nox_ct_sign(a, abits)) : 0; /* all ones for a negative a */
    for (unsigned i = 0; i < NOX_CT_LIMBS(rbits); i++) {
        uint64_t v = (i < an ? a[i] : 0) | (ext & ~nox_ct_limb_mask(i, abits));
        r[i] = v & nox_ct_limb_mask(i, rbits);
    }
}

/** r (rbits wide) = the value v, extended by its type's signedness or truncated. */
static inline void nox_ct_load(uint64_t *r, unsigned rbits, const nox_value *v) {
    nox_ct_extend(r, rbits, v->limb, nox_type_bits(v->type), nox_type_is_signed(v->type));
}

/** v's limbs (its type set by the engine) = a (abits wide), truncated or extended to the type's width. */
static inline void nox_ct_store(nox_value *v, const uint64_t *a, unsigned abits) {
    nox_ct_extend(v->limb, nox_type_bits(v->type), a, abits, nox_type_is_signed(v->type));
}

/* ---- predicates and selection: 0/1 results (secret) ------------------------ */

/** 1 when a == 0, else 0. */
static inline uint64_t nox_ct_is_zero(const uint64_t *a, unsigned bits) {
    uint64_t acc = 0;
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) acc |= a[i];
    return ((acc | ((uint64_t)0 - acc)) >> 63) ^ 1;
}

/** 1 when a == b, else 0. */
static inline uint64_t nox_ct_eq(const uint64_t *a, const uint64_t *b, unsigned bits) {
    uint64_t acc = 0;
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) acc |= a[i] ^ b[i];
    return ((acc | ((uint64_t)0 - acc)) >> 63) ^ 1;
}

/** 1 when a < b, unsigned, else 0 (a > b is nox_ct_lt(b, a)). */
static inline uint64_t nox_ct_lt(const uint64_t *a, const uint64_t *b, unsigned bits) {
    uint64_t borrow = 0;
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) (void)nox_ct_subb(a[i], b[i], borrow, &borrow);
    return borrow;
}

/** 1 when a <= b, unsigned, else 0. */
static inline uint64_t nox_ct_le(const uint64_t *a, const uint64_t *b, unsigned bits) {
    return nox_ct_lt(b, a, bits) ^ 1;
}

/** 1 when a < b in two's complement order, else 0. */
static inline uint64_t nox_ct_slt(const uint64_t *a, const uint64_t *b, unsigned bits) {
    /* flipping the sign bit of both maps signed order onto unsigned order */
    unsigned top = (bits - 1) / 64;
    uint64_t flip = (uint64_t)1 << ((bits - 1) % 64), borrow = 0;
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) {
        uint64_t f = i == top ? flip : 0;
        (void)nox_ct_subb(a[i] ^ f, b[i] ^ f, borrow, &borrow);
    }
    return borrow;
}

/** 1 when a <= b in two's complement order, else 0. */
static inline uint64_t nox_ct_sle(const uint64_t *a, const uint64_t *b, unsigned bits) {
    return nox_ct_slt(b, a, bits) ^ 1;
}

/** r = mask ? a : b, for a mask of all ones or 0 (nox_ct_mask_bit of a 0/1 result). */
static inline void nox_ct_select(uint64_t *r, uint64_t mask, const uint64_t *a, const uint64_t *b, unsigned bits) {
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = (a[i] & mask) | (b[i] & ~mask);
}

/* ---- arithmetic modulo 2^bits ------------------------------------------------ */

/** r = a + b mod 2^bits; returns the carry out (1 when a + b >= 2^bits, unsigned). */
static inline uint64_t nox_ct_add(uint64_t *r, const uint64_t *a, const uint64_t *b, unsigned bits) {
    unsigned n = NOX_CT_LIMBS(bits), top = bits % 64;
    uint64_t c = 0;
    for (unsigned i = 0; i < n; i++) r[i] = nox_ct_addc(a[i], b[i], c, &c);
    if (top) { /* public: the carry is bit `bits` of the top limb */
        c = r[n - 1] >> top;
        r[n - 1] &= ((uint64_t)1 << top) - 1;
    }
    return c;
}

/** r = a - b mod 2^bits; returns the borrow out (1 when a < b, unsigned). */
static inline uint64_t nox_ct_sub(uint64_t *r, const uint64_t *a, const uint64_t *b, unsigned bits) {
    uint64_t borrow = 0;
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = nox_ct_subb(a[i], b[i], borrow, &borrow);
    nox_ct_mask(r, bits);
    return borrow;
}

/** r = -a mod 2^bits (two's complement: -MIN = MIN; 2^bits - a unsigned, -0 = 0). */
static inline void nox_ct_neg(uint64_t *r, const uint64_t *a, unsigned bits) {
    uint64_t borrow = 0;
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = nox_ct_subb(0, a[i], borrow, &borrow);
    nox_ct_mask(r, bits);
}

/** r = a * b mod 2^bits (the same bits for signed and unsigned). */
static inline void nox_ct_mul(uint64_t *r, const uint64_t *a, const uint64_t *b, unsigned bits) {
    unsigned n = NOX_CT_LIMBS(bits);
    uint64_t t[NOX_CT_MAX_LIMBS] = {0};
    for (unsigned i = 0; i < n; i++) {
        uint64_t c = 0;
        for (unsigned j = 0; i + j < n; j++) t[i + j] = nox_ct_mac(t[i + j], a[i], b[j], c, &c);
    }
    for (unsigned k = 0; k < n; k++) r[k] = t[k];
    nox_ct_mask(r, bits);
    nox_ct_wipe(t, n);
}

/**
 * r = a * b exactly, unsigned: r is 2*bits wide (NOX_CT_LIMBS(2 * bits)
 * limbs: 2n for n-limb operands when bits is a multiple of 64). 2 * bits
 * must not exceed NOX_CT_MAX_BITS.
 */
static inline void nox_ct_mul_wide(uint64_t *r, const uint64_t *a, const uint64_t *b, unsigned bits) {
    unsigned n = NOX_CT_LIMBS(bits), rn = NOX_CT_LIMBS(2 * bits);
    uint64_t t[NOX_CT_MAX_LIMBS] = {0};
    for (unsigned i = 0; i < n; i++) {
        uint64_t c = 0;
        for (unsigned j = 0; j < n; j++) t[i + j] = nox_ct_mac(t[i + j], a[i], b[j], c, &c);
        t[i + n] = c; /* not written by the rows before */
    }
    for (unsigned k = 0; k < rn; k++) r[k] = t[k]; /* the product is < 2^(2 bits): the rest is 0 */
    nox_ct_wipe(t, 2 * n);
}

/**
 * Unsigned division: q = floor(a / b), r = a mod b. b = 0 gives q = 2^bits - 1
 * (all ones) and r = a. Either output may be NULL (public); q and r must be
 * different arrays. A restoring long division, one step per bit of the width.
 */
static inline void nox_ct_divrem(uint64_t *q, uint64_t *r, const uint64_t *a, const uint64_t *b, unsigned bits) {
    unsigned n = NOX_CT_LIMBS(bits);
    uint64_t qq[NOX_CT_MAX_LIMBS] = {0}, rr[NOX_CT_MAX_LIMBS] = {0}, d[NOX_CT_MAX_LIMBS] = {0};
    for (unsigned i = bits; i-- > 0;) {
        /* rr = 2 rr + bit i of a, and d = rr - b. No overflow: before the shift rr is at most
         * a >> (i + 1) < 2^(bits-1), so rr stays canonical */
        uint64_t in = (a[i / 64] >> (i % 64)) & 1, borrow = 0;
        for (unsigned k = 0; k < n; k++) {
            uint64_t v = (rr[k] << 1) | in;
            in = rr[k] >> 63;
            rr[k] = v;
            d[k] = nox_ct_subb(v, b[k], borrow, &borrow);
        }
        /* rr >= b: keep the difference (canonical, being below rr) and set quotient bit i */
        uint64_t take = borrow ^ 1, m = nox_ct_mask_bit(take);
        for (unsigned k = 0; k < n; k++) rr[k] = (d[k] & m) | (rr[k] & ~m);
        qq[i / 64] |= take << (i % 64);
    }
    if (q) nox_ct_copy(q, qq, bits);
    if (r) nox_ct_copy(r, rr, bits);
    nox_ct_wipe(qq, n);
    nox_ct_wipe(rr, n);
    nox_ct_wipe(d, n);
}

/**
 * Signed division truncating toward zero (Solidity's / and %): r has the sign
 * of a. b = 0 gives q = the signed MAX and r = a; MIN / -1 gives q = MIN
 * (wrapped) and r = 0. Either output may be NULL; q and r must differ.
 */
static inline void nox_ct_sdivrem(uint64_t *q, uint64_t *r, const uint64_t *a, const uint64_t *b, unsigned bits) {
    /* scratch zero-initialised: no reliance on the optimizer's view of which limbs are written */
    uint64_t ma[NOX_CT_MAX_LIMBS] = {0}, mb[NOX_CT_MAX_LIMBS] = {0}, qq[NOX_CT_MAX_LIMBS] = {0},
             rr[NOX_CT_MAX_LIMBS] = {0}, t[NOX_CT_MAX_LIMBS] = {0};
    unsigned n = NOX_CT_LIMBS(bits);
    uint64_t sa = nox_ct_sign(a, bits), sb = nox_ct_sign(b, bits), bz = nox_ct_is_zero(b, bits);
    nox_ct_neg(t, a, bits);
    nox_ct_select(ma, nox_ct_mask_bit(sa), t, a, bits); /* |a| (|MIN| = 2^(bits-1) as unsigned) */
    nox_ct_neg(t, b, bits);
    nox_ct_select(mb, nox_ct_mask_bit(sb), t, b, bits);
    nox_ct_divrem(qq, rr, ma, mb, bits);
    nox_ct_neg(t, qq, bits);
    nox_ct_select(qq, nox_ct_mask_bit(sa ^ sb), t, qq, bits);
    nox_ct_max(t, bits, 1);
    nox_ct_select(qq, nox_ct_mask_bit(bz), t, qq, bits);
    nox_ct_neg(t, rr, bits);
    nox_ct_select(rr, nox_ct_mask_bit(sa), t, rr, bits);
    if (q) nox_ct_copy(q, qq, bits);
    if (r) nox_ct_copy(r, rr, bits);
    nox_ct_wipe(ma, n);
    nox_ct_wipe(mb, n);
    nox_ct_wipe(qq, n);
    nox_ct_wipe(rr, n);
    nox_ct_wipe(t, n);
}

/* ---- shifts by a public amount ---------------------------------------------- */

/** r = a << s mod 2^bits; s is public (s >= bits gives 0). */
static inline void nox_ct_shl(uint64_t *r, const uint64_t *a, unsigned s, unsigned bits) {
    unsigned n = NOX_CT_LIMBS(bits), lq = s / 64, b = s % 64;
    for (unsigned i = n; i-- > 0;) { /* from the top: r[i] reads a[<= i] only */
        uint64_t v = 0;
        if (s < bits && i >= lq) {
            v = a[i - lq] << b;
            if (b && i > lq) v |= a[i - lq - 1] >> (64 - b);
        }
        r[i] = v;
    }
    nox_ct_mask(r, bits);
}

/** r = a >> s, logical (zero-filling); s is public (s >= bits gives 0). */
static inline void nox_ct_shr(uint64_t *r, const uint64_t *a, unsigned s, unsigned bits) {
    unsigned n = NOX_CT_LIMBS(bits), lq = s / 64, b = s % 64;
    for (unsigned i = 0; i < n; i++) { /* from the bottom: r[i] reads a[>= i] only */
        uint64_t v = 0;
        if (s < bits && i + lq < n) {
            v = a[i + lq] >> b;
            if (b && i + lq + 1 < n) v |= a[i + lq + 1] << (64 - b);
        }
        r[i] = v;
    }
}

/** r = a >> s, arithmetic (sign-filling: floor(a / 2^s) of the signed value); s is public. */
static inline void nox_ct_sar(uint64_t *r, const uint64_t *a, unsigned s, unsigned bits) {
    /* ~(~a >> s) for negative a: complement, shift in zeros, complement back */
    uint64_t m = nox_ct_mask_bit(nox_ct_sign(a, bits));
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = (a[i] ^ m) & nox_ct_limb_mask(i, bits);
    nox_ct_shr(r, r, s, bits);
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = (r[i] ^ m) & nox_ct_limb_mask(i, bits);
}

/* ---- shifts by a secret amount (barrel shifters) ------------------------------ */

/** Smallest k with 2^k >= 64 * limbs: the stages of a barrel shifter over `limbs` limbs (public). */
static inline unsigned nox_ct_shift_stages(unsigned limbs) {
    unsigned k = 6;
    while (((uint64_t)1 << k) < (uint64_t)64 * limbs) k++;
    return k;
}

/*
 * The low six bits of s move bits within limbs with one variable-count shift
 * per limb ((x >> 1) >> (63 - b) is x >> (64 - b), and 0 for b = 0, without a
 * 64-bit shift); each higher bit k of s moves whole limbs by 2^(k-6), always
 * computed and kept or not by a mask; an amount of 2^stages or more clears
 * everything.
 */

/** r = a << s mod 2^bits for a secret s (s >= bits gives 0). */
static inline void nox_ct_shl_secret(uint64_t *r, const uint64_t *a, uint64_t s, unsigned bits) {
    unsigned n = NOX_CT_LIMBS(bits), stages = nox_ct_shift_stages(n);
    unsigned b = (unsigned)(s & 63);
    for (unsigned i = n; i-- > 0;) r[i] = (a[i] << b) | (i ? (a[i - 1] >> 1) >> (63 - b) : 0);
    for (unsigned k = 6; k < stages; k++) {
        uint64_t m = nox_ct_mask_bit(s >> k);
        unsigned lq = 1u << (k - 6);
        /* from the top down: r[i] only reads r[i - lq], not yet updated */
        for (unsigned i = n; i-- > 0;) r[i] = ((i >= lq ? r[i - lq] : 0) & m) | (r[i] & ~m);
    }
    uint64_t keep = ~nox_ct_mask_nonzero(s >> stages);
    for (unsigned i = 0; i < n; i++) r[i] &= keep & nox_ct_limb_mask(i, bits);
}

/** r = a >> s, logical, for a secret s (s >= bits gives 0). */
static inline void nox_ct_shr_secret(uint64_t *r, const uint64_t *a, uint64_t s, unsigned bits) {
    unsigned n = NOX_CT_LIMBS(bits), stages = nox_ct_shift_stages(n);
    unsigned b = (unsigned)(s & 63);
    for (unsigned i = 0; i < n; i++) r[i] = (a[i] >> b) | (i + 1 < n ? (a[i + 1] << 1) << (63 - b) : 0);
    for (unsigned k = 6; k < stages; k++) {
        uint64_t m = nox_ct_mask_bit(s >> k);
        unsigned lq = 1u << (k - 6);
        /* from the bottom up: r[i] only reads r[i + lq], not yet updated */
        for (unsigned i = 0; i < n; i++) r[i] = ((i + lq < n ? r[i + lq] : 0) & m) | (r[i] & ~m);
    }
    uint64_t keep = ~nox_ct_mask_nonzero(s >> stages);
    for (unsigned i = 0; i < n; i++) r[i] &= keep;
}

/** r = a >> s, arithmetic (sign-filling), for a secret s (s >= bits gives 0 or -1). */
static inline void nox_ct_sar_secret(uint64_t *r, const uint64_t *a, uint64_t s, unsigned bits) {
    uint64_t m = nox_ct_mask_bit(nox_ct_sign(a, bits));
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = (a[i] ^ m) & nox_ct_limb_mask(i, bits);
    nox_ct_shr_secret(r, r, s, bits);
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r[i] = (r[i] ^ m) & nox_ct_limb_mask(i, bits);
}

#endif
