/*
 * Constant-time helpers of the built-in operator families (bitwise, shift,
 * minmax, cast) that are not part of the SDK. Everything general — masks,
 * comparisons, selection, negation, extension, the barrel shifters — is the
 * SDK's nox/ctint.h (nox_ct_*), which the built-ins use directly: one
 * implementation for Nox and for third-party plugins. What remains here is
 * specific to the built-ins: the reduction of a shift amount modulo a public
 * width (ct_mod_small), which relies on unsigned __int128.
 *
 * As in nox/ctint.h: `n` (limbs) and the modulus come from the type, which is
 * public; no branch and no memory index derives from a value.
 * tests/ctime checks the operators built on these under valgrind.
 */
#ifndef NOX_OPERATORS_CTLIMBS_H
#define NOX_OPERATORS_CTLIMBS_H

#include <stdint.h>

#include "nox/ctint.h"
#include "nox/plugin.h"

typedef unsigned __int128 ct_u128;

/* x - m if x >= m, else x; for x < 2m. */
static inline uint64_t ct_reduce_once(uint64_t x, uint64_t m) {
    uint64_t d = x - m, lt = nox_ct_mask_bit(d >> 63); /* all ones when x < m (x, m < 2^63) */
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
