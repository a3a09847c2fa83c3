/*
 * minmax (extension, ids 64..67) on uint8..uint256, int8..int256 and
 * uint512..int2048:
 *   min, max (a, b) -> result   unsigned order for uint, signed order for int;
 *   neg (value) -> result       -value modulo 2^N (two's complement, wrapping:
 *                               neg(MIN) = MIN; on uint 2^N - x, and neg(0) = 0);
 *   rem (a, b) -> result        a - b * trunc(a / b): the sign of the dividend,
 *                               as Solidity's %; b = 0 gives a (no revert: the
 *                               protocol never fails on a value, as div's MAX),
 *                               and signed MIN rem -1 gives 0.
 *
 * Timing: min, max and neg are plain limb loops with masks, constant time at
 * every width (flagged NOX_OP_CONSTANT_TIME). rem is not flagged: on 8..256
 * bits it is libnoxint's branch-free division, whose hardware divider latency
 * depends on the operands on some CPUs (as div); on the wide types it is GMP's
 * variable-time division.
 */
#include <gmp.h>

#include "../common/builtin.h"
#include "../common/extension.h"
#include "nox/ctint.h"

_Static_assert(sizeof(mp_limb_t) == sizeof(uint64_t), "minmax plugin needs 64-bit GMP limbs");

enum { KIND_MIN, KIND_MAX };

static int eval_minmax(const nox_value *in, nox_value *out, const void *data) {
    unsigned bits = BITS(in[0]);
    const uint64_t *a = in[0].limb, *b = in[1].limb;
    /* min: a < b ? a : b; max: a < b ? b : a */
    uint64_t m = nox_ct_mask_bit(SIGNED(in[0]) ? nox_ct_slt(a, b, bits) : nox_ct_lt(a, b, bits));
    if ((intptr_t)data == KIND_MAX) m = ~m;
    nox_ct_select(out[0].limb, m, a, b, bits);
    return 0;
}

static int eval_neg(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    nox_ct_neg(out[0].limb, in[0].limb, BITS(in[0]));
    return 0;
}

/* 8..256 bits: the remainder of libnoxint's truncating division (b = 0: a; MIN rem -1: 0). */
static int eval_rem_fixed(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    nox_fix_divrem(NULL, out[0].limb, in[0].limb, in[1].limb, BITS(in[0]), SIGNED(in[0]));
    return 0;
}

/* Wide types: GMP on the magnitudes, then the dividend's sign. */
static int eval_rem_wide(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    enum { MAXN = NOX_VALUE_LIMBS };
    mp_size_t n = (mp_size_t)nox_type_limbs(in[0].type);
    const mp_limb_t *a = in[0].limb, *b = in[1].limb;
    mp_limb_t *r = out[0].limb;
    if (mpn_zero_p(b, n)) {
        mpn_copyi(r, a, n); /* rem by zero: the dividend */
        return 0;
    }
    int s = SIGNED(in[0]);
    int sa = s && (a[n - 1] >> 63), sb = s && (b[n - 1] >> 63);
    mp_limb_t ma[MAXN], mb[MAXN], q[MAXN + 1], rr[MAXN];
    if (sa) mpn_neg(ma, a, n);
    else mpn_copyi(ma, a, n);
    if (sb) mpn_neg(mb, b, n);
    else mpn_copyi(mb, b, n);
    mp_size_t dn = n;
    while (mb[dn - 1] == 0) dn--;
    mpn_tdiv_qr(q, rr, 0, ma, n, mb, dn);
    mpn_zero(rr + dn, n - dn);
    if (sa) mpn_neg(r, rr, n); /* the sign of the dividend; |MIN| rem 1 = 0 */
    else mpn_copyi(r, rr, n);
    return 0;
}

#define CT NOX_OP_CONSTANT_TIME
static const ext_op all_widths[] = {
    {"min", 64, 2, 1, {T, T}, {T}, {"a", "b"}, {"result"}, eval_minmax, KIND_MIN, CT,
     "the smaller of a and b (signed order for int)"},
    {"max", 65, 2, 1, {T, T}, {T}, {"a", "b"}, {"result"}, eval_minmax, KIND_MAX, CT,
     "the larger of a and b (signed order for int)"},
    {"neg", 66, 1, 1, {T}, {T}, {"value"}, {"result"}, eval_neg, 0, CT,
     "-value modulo 2^N (neg(MIN) = MIN; 2^N - x on uint)"},
};

static const ext_op rem_fixed[] = {
    {"rem", 67, 2, 1, {T, T}, {T}, {"a", "b"}, {"result"}, eval_rem_fixed, 0, 0,
     "a % b with the sign of a; b = 0 gives a, MIN % -1 gives 0"},
};

static const ext_op rem_wide[] = {
    {"rem", 67, 2, 1, {T, T}, {T}, {"a", "b"}, {"result"}, eval_rem_wide, 0, 0,
     "a % b with the sign of a; b = 0 gives a, MIN % -1 gives 0"},
};

static int minmax_init(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_typeset ints = ext_integers(0), fixed = builtin_ints(), wide = builtin_wide();
    if (ext_register_all(host, ctx, all_widths, sizeof all_widths / sizeof all_widths[0], &ints, 1)) return -1;
    if (ext_register_all(host, ctx, rem_fixed, 1, &fixed, 1)) return -1;
    return ext_register_all(host, ctx, rem_wide, 1, &wide, 1);
}

NOX_PLUGIN_DEFINE("minmax", "1.0.0", minmax_init);
