/*
 * bitwise (extension, ids 68..71): and, or, xor (T, T) -> T and not (T) -> T
 * on bool, uint8..uint256, int8..int256 and uint512..int2048. They act on the
 * bit pattern (two's complement for signed types), like Solidity's & | ^ ~;
 * on bool they are the logical and, or, xor and not.
 *
 * Plain loops over the type's limbs: constant time at every width (flagged
 * NOX_OP_CONSTANT_TIME, checked by tests/ctime).
 */
#include "../common/builtin.h"
#include "../common/extension.h"
#include "nox/ctint.h"

#define BINARY(NAME, OP)                                                              \
    static int eval_##NAME(const nox_value *in, nox_value *out, const void *data) {   \
        (void)data;                                                                   \
        unsigned n = nox_type_limbs(in[0].type);                                      \
        for (unsigned i = 0; i < n; i++) out[0].limb[i] = in[0].limb[i] OP in[1].limb[i]; \
        return 0;                                                                     \
    }

BINARY(and, &)
BINARY(or, |)
BINARY(xor, ^)

static int eval_not(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned n = nox_type_limbs(in[0].type), bits = BITS(in[0]);
    for (unsigned i = 0; i < n; i++) out[0].limb[i] = ~in[0].limb[i] & nox_ct_limb_mask(i, bits);
    return 0;
}

#define CT NOX_OP_CONSTANT_TIME
static const ext_op ops[] = {
    {"and", 68, 2, 1, {T, T}, {T}, {"a", "b"}, {"result"}, eval_and, 0, CT, "a & b, bit by bit (logical and on bool)"},
    {"or", 69, 2, 1, {T, T}, {T}, {"a", "b"}, {"result"}, eval_or, 0, CT, "a | b, bit by bit (logical or on bool)"},
    {"xor", 70, 2, 1, {T, T}, {T}, {"a", "b"}, {"result"}, eval_xor, 0, CT, "a ^ b, bit by bit (logical xor on bool)"},
    {"not", 71, 1, 1, {T}, {T}, {"value"}, {"result"}, eval_not, 0, CT, "~value, every bit flipped (logical not on bool)"},
};

static int bitwise_init(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_typeset types = ext_integers(1);
    return ext_register_all(host, ctx, ops, sizeof ops / sizeof ops[0], &types, 1);
}

NOX_PLUGIN_DEFINE("bitwise", "1.0.0", bitwise_init);
