/*
 * shift (extension, ids 72..75): shl, shr, rotl, rotr (T value, T amount) -> T
 * on uint8..uint256, int8..int256 and uint512..int2048.
 *
 * The amount has the value's type (as fhEVM's shl(euint32, euint32)); its bit
 * pattern, read as an unsigned number, is taken modulo the width N, so
 * shl(x, N) = x and an int8 amount of -1 (pattern 255) shifts by 7. shl fills
 * with zeros; shr is logical on uint and arithmetic (sign-filling) on int;
 * rotl / rotr rotate the N-bit pattern.
 *
 * Constant time at every width: the amount is secret too, so its reduction
 * modulo N avoids the divider (ct_mod_small) and the shifts are barrel
 * shifters over every bit of the amount (ct_shl / ct_shr: one variable-count
 * shift per limb for the low six bits, masked limb moves for the others). Flagged
 * NOX_OP_CONSTANT_TIME, checked by tests/ctime.
 */
#include "../common/builtin.h"
#include "../common/ctlimbs.h"
#include "../common/extension.h"

enum { SHL, SHR, ROTL, ROTR };

/* r = a shifted or rotated by s in [0, bits), over n limbs (r does not alias a). */
static inline __attribute__((always_inline)) void shift(int kind, uint64_t *r, const uint64_t *a, uint64_t s,
                                                        unsigned n, unsigned bits, int is_signed, unsigned stages) {
    uint64_t t[NOX_VALUE_LIMBS];
    switch (kind) {
    case SHL:
        ct_shl(r, a, s, n, stages);
        break;
    case SHR: {
        /* arithmetic shift = ~(~x >> s) for negative x: complement, shift in zeros, complement back */
        uint64_t m = is_signed ? 0 - ct_top_bit(a, bits) : 0;
        for (unsigned i = 0; i < n; i++) t[i] = (a[i] ^ m) & ct_lowmask(i, bits);
        ct_shr(r, t, s, n, stages);
        for (unsigned i = 0; i < n; i++) r[i] ^= m;
        break;
    }
    case ROTL: /* (a << s) | (a >> (N - s)); N - s = N for s = 0 shifts everything out */
        ct_shl(r, a, s, n, stages);
        ct_shr(t, a, bits - s, n, stages);
        for (unsigned i = 0; i < n; i++) r[i] |= t[i];
        break;
    default: /* ROTR: (a >> s) | (a << (N - s)) */
        ct_shr(r, a, s, n, stages);
        ct_shl(t, a, bits - s, n, stages);
        for (unsigned i = 0; i < n; i++) r[i] |= t[i];
        break;
    }
    ct_mask(r, n, bits);
}

static int eval_shift(const nox_value *in, nox_value *out, const void *data) {
    int kind = (int)(intptr_t)data;
    unsigned bits = BITS(in[0]), n = nox_type_limbs(in[0].type);
    int is_signed = SIGNED(in[0]);
    if (n <= NOX_FIX_LIMBS) {
        /* 8..256 bits: on NOX_FIX_LIMBS limbs (zero-padded), a constant count the compiler unrolls */
        uint64_t a[NOX_FIX_LIMBS] = {0}, amount[NOX_FIX_LIMBS] = {0}, r[NOX_FIX_LIMBS];
        for (unsigned i = 0; i < n; i++) a[i] = in[0].limb[i], amount[i] = in[1].limb[i];
        uint64_t s = ct_mod_small(amount, NOX_FIX_LIMBS, bits);
        shift(kind, r, a, s, NOX_FIX_LIMBS, bits, is_signed, 9); /* amounts 0..256 */
        for (unsigned i = 0; i < NOX_FIX_LIMBS; i++) out[0].limb[i] = r[i];
    } else {
        uint64_t s = ct_mod_small(in[1].limb, n, bits);
        /* amounts 0..N: N - s is needed for rotations */
        shift(kind, out[0].limb, in[0].limb, s, n, bits, is_signed, ct_shift_stages(bits));
    }
    return 0;
}

#define CT NOX_OP_CONSTANT_TIME
static const ext_op ops[] = {
    {"shl", 72, 2, 1, {T, T}, {T}, {"value", "amount"}, {"result"}, eval_shift, SHL, CT,
     "value << (amount mod N), zero-filling"},
    {"shr", 73, 2, 1, {T, T}, {T}, {"value", "amount"}, {"result"}, eval_shift, SHR, CT,
     "value >> (amount mod N): logical on uint, arithmetic (sign-filling) on int"},
    {"rotl", 74, 2, 1, {T, T}, {T}, {"value", "amount"}, {"result"}, eval_shift, ROTL, CT,
     "value rotated left by (amount mod N) bits"},
    {"rotr", 75, 2, 1, {T, T}, {T}, {"value", "amount"}, {"result"}, eval_shift, ROTR, CT,
     "value rotated right by (amount mod N) bits"},
};

static int shift_init(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_typeset types = ext_integers(0);
    return ext_register_all(host, ctx, ops, sizeof ops / sizeof ops[0], &types, 1);
}

NOX_PLUGIN_DEFINE("shift", "1.0.0", shift_init);
