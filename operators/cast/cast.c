/*
 * cast (extension, id 76): cast(T value) -> (U result), T and U each any of
 * bool, uint8..uint256, int8..int256, uint512..int2048. The result type U is
 * not inferred from the inputs: it is the declared type of the result handle
 * (a type variable that appears only among the outputs, see nox/plugin.h).
 *
 * Semantics (Solidity's explicit conversions, applied as one step):
 *   - the value is first extended to the target width according to the
 *     SOURCE signedness: zero-extended from uint (and bool), sign-extended
 *     from int; then truncated to the target width (the low N bits); the bit
 *     pattern is then read with the target's signedness.
 *     int8 -1 -> uint16 = 65535; uint16 300 -> uint8 = 44;
 *     int16 -129 -> int8 = 127; uint8 200 -> int8 = -56; int8 -56 -> uint256 = 2^256 - 56.
 *   - bool -> integer: 0 or 1. integer -> bool: value != 0 (not a truncation).
 *     bool -> bool and T -> T: the value unchanged.
 *
 * Plain limb loops with masks: constant time for every pair of types (flagged
 * NOX_OP_CONSTANT_TIME, checked by tests/ctime over every pair).
 */
#include "../common/builtin.h"
#include "../common/extension.h"
#include "nox/ctint.h"

static int eval_cast(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned sb = BITS(in[0]);
    const uint64_t *a = in[0].limb;
    uint64_t *r = out[0].limb;
    if (out[0].type == NOX_TYPE_BOOL) { /* the type is public */
        r[0] = nox_ct_is_zero(a, sb) ^ 1;
        return 0;
    }
    /* zero- or sign-extended by the source, or truncated, to the target width */
    nox_ct_extend(r, BITS(out[0]), a, sb, SIGNED(in[0]));
    return 0;
}

static const ext_op ops[] = {
    {"cast", 76, 1, 1, {T}, {NOX_SLOT_VAR(1)}, {"value"}, {"result"}, eval_cast, 0, NOX_OP_CONSTANT_TIME,
     "value converted to the result's declared type: truncate, zero-/sign-extend by the source, != 0 for bool"},
};

static int cast_init(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_typeset vars[2] = {ext_integers(1), ext_integers(1)};
    return ext_register_all(host, ctx, ops, 1, vars, 2);
}

NOX_PLUGIN_DEFINE("cast", "1.0.0", cast_init);
