/*
 * nox/fixint.h — fixed-width integer arithmetic for widths 1..256 bits.
 *
 * Shared by every operator plugin (link libnoxint). Operands are arrays of
 * NOX_FIX_LIMBS little-endian 64-bit limbs — the first limbs of a nox_value —
 * holding a `bits`-wide bit pattern, two's complement for signed
 * interpretations. As for nox_value: the bits above `bits` in the top
 * meaningful limb are zero ("canonical"), and limbs past ceil(bits/64) are
 * not part of the value — they may hold anything and never affect a result.
 * Results are written canonical, with zero in every limb past the width
 * (except nox_fix_select, which copies the chosen operand's limbs).
 *
 * Timing: every function runs in time that depends only on `bits` and
 * `is_signed` (public: they come from the type), never on the values. There
 * is no branch and no memory index derived from a value; selections use
 * masks. Keep it that way: tests/ctime checks it under valgrind.
 *
 * Secrets: the multi-limb scratch of the checked multiplication and of the
 * division (magnitudes, partial products, remainders) is wiped before return.
 *
 * Aliasing: the result may alias any operand unless a function says otherwise.
 * Preconditions (checked by the engine, not here): 1 <= bits <= 256.
 */
#ifndef NOX_FIXINT_H
#define NOX_FIXINT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Limbs of a fixed-width operand (256 bits). */
#define NOX_FIX_LIMBS 4

/** Zeroes every bit of r at or above `bits`. */
void nox_fix_mask(uint64_t r[NOX_FIX_LIMBS], unsigned bits);

/** r = a + b mod 2^bits (wrapping, same for signed and unsigned). */
void nox_fix_add(uint64_t r[NOX_FIX_LIMBS], const uint64_t a[NOX_FIX_LIMBS],
                 const uint64_t b[NOX_FIX_LIMBS], unsigned bits);

/** r = a - b mod 2^bits. */
void nox_fix_sub(uint64_t r[NOX_FIX_LIMBS], const uint64_t a[NOX_FIX_LIMBS],
                 const uint64_t b[NOX_FIX_LIMBS], unsigned bits);

/** r = a * b mod 2^bits. */
void nox_fix_mul(uint64_t r[NOX_FIX_LIMBS], const uint64_t a[NOX_FIX_LIMBS],
                 const uint64_t b[NOX_FIX_LIMBS], unsigned bits);

/**
 * r = a + b mod 2^bits; returns 1 when the exact sum lies outside the type's
 * range ([0, 2^bits-1] unsigned, [-2^(bits-1), 2^(bits-1)-1] signed), else 0.
 */
uint64_t nox_fix_add_checked(uint64_t r[NOX_FIX_LIMBS], const uint64_t a[NOX_FIX_LIMBS],
                             const uint64_t b[NOX_FIX_LIMBS], unsigned bits, int is_signed);

/** r = a - b mod 2^bits; returns 1 when the exact difference is out of range. */
uint64_t nox_fix_sub_checked(uint64_t r[NOX_FIX_LIMBS], const uint64_t a[NOX_FIX_LIMBS],
                             const uint64_t b[NOX_FIX_LIMBS], unsigned bits, int is_signed);

/** r = a * b mod 2^bits; returns 1 when the exact product is out of range. */
uint64_t nox_fix_mul_checked(uint64_t r[NOX_FIX_LIMBS], const uint64_t a[NOX_FIX_LIMBS],
                             const uint64_t b[NOX_FIX_LIMBS], unsigned bits, int is_signed);

/**
 * Truncating division: q = a / b rounded toward zero, rem = a - q*b (the sign
 * of a for signed). Either output may be NULL. q and rem must not alias each
 * other or the operands.
 * Returns 1 when the quotient is not representable, else 0:
 *   - b == 0: q = 0, rem = a;
 *   - signed MIN / -1: q = MIN (the wrapped quotient), rem = 0.
 * The protocol's substitutions (MAX for b == 0, etc.) are the operators' job.
 */
uint64_t nox_fix_divrem(uint64_t q[NOX_FIX_LIMBS], uint64_t rem[NOX_FIX_LIMBS],
                        const uint64_t a[NOX_FIX_LIMBS], const uint64_t b[NOX_FIX_LIMBS],
                        unsigned bits, int is_signed);

/** 1 when a == b, else 0. */
uint64_t nox_fix_eq(const uint64_t a[NOX_FIX_LIMBS], const uint64_t b[NOX_FIX_LIMBS], unsigned bits);

/** 1 when a < b (unsigned or signed order), else 0. */
uint64_t nox_fix_lt(const uint64_t a[NOX_FIX_LIMBS], const uint64_t b[NOX_FIX_LIMBS], unsigned bits,
                    int is_signed);

/** 1 when a == 0, else 0. */
uint64_t nox_fix_is_zero(const uint64_t a[NOX_FIX_LIMBS], unsigned bits);

/** 1 when a is negative in the signed interpretation (its top bit), else 0. */
uint64_t nox_fix_sign(const uint64_t a[NOX_FIX_LIMBS], unsigned bits);

/** r = cond ? a : b, for cond 0 or 1, without branching on cond. */
void nox_fix_select(uint64_t r[NOX_FIX_LIMBS], uint64_t cond, const uint64_t a[NOX_FIX_LIMBS],
                    const uint64_t b[NOX_FIX_LIMBS], unsigned bits);

/** r = -a mod 2^bits. */
void nox_fix_neg(uint64_t r[NOX_FIX_LIMBS], const uint64_t a[NOX_FIX_LIMBS], unsigned bits);

/** r = the type's maximum: 2^bits - 1 unsigned, 2^(bits-1) - 1 signed. */
void nox_fix_max(uint64_t r[NOX_FIX_LIMBS], unsigned bits, int is_signed);

/** r = the type's minimum: 0 unsigned, -2^(bits-1) signed (bit pattern 2^(bits-1)). */
void nox_fix_min(uint64_t r[NOX_FIX_LIMBS], unsigned bits, int is_signed);

/** r = 0 (all NOX_FIX_LIMBS limbs). */
void nox_fix_zero(uint64_t r[NOX_FIX_LIMBS]);

#ifdef __cplusplus
}
#endif

#endif /* NOX_FIXINT_H */
