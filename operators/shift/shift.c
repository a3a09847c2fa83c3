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
 * modulo N avoids the divider (ct_mod_small) and the shifts are nox/ctint.h's
 * barrel shifters over every bit of the amount (nox_ct_shl_secret and
 * friends: one variable-count shift per limb for the low six bits, masked limb
 * moves for the others). Flagged NOX_OP_CONSTANT_TIME, checked by tests/ctime.
 */
#include "../common/builtin.h"
#include "../common/ctlimbs.h"
#include "../common/extension.h"

enum { SHL, SHR, ROTL, ROTR };

static int eval_shift(const nox_value *in, nox_value *out, const void *data) {
    int kind = (int)(intptr_t)data;
    unsigned bits = BITS(in[0]);
    const uint64_t *a = in[0].limb;
    uint64_t *r = out[0].limb, t[NOX_VALUE_LIMBS];
    uint64_t s = ct_mod_small(in[1].limb, nox_type_limbs(in[1].type), bits); /* in [0, N) */
    switch (kind) {
    case SHL:
        nox_ct_shl_secret(r, a, s, bits);
        break;
    case SHR: /* logical on uint, arithmetic on int (the type is public) */
        if (SIGNED(in[0])) nox_ct_sar_secret(r, a, s, bits);
        else nox_ct_shr_secret(r, a, s, bits);
        break;
    case ROTL: /* (a << s) | (a >> (N - s)); N - s = N for s = 0 shifts everything out */
        nox_ct_shl_secret(r, a, s, bits);
        nox_ct_shr_secret(t, a, bits - s, bits);
        for (unsigned i = 0; i < nox_type_limbs(in[0].type); i++) r[i] |= t[i];
        break;
    default: /* ROTR: (a >> s) | (a << (N - s)) */
        nox_ct_shr_secret(r, a, s, bits);
        nox_ct_shl_secret(t, a, bits - s, bits);
        for (unsigned i = 0; i < nox_type_limbs(in[0].type); i++) r[i] |= t[i];
        break;
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
