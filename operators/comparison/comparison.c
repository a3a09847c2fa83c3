/*
 * comparison: eq, ne, lt, le, gt, ge on uint8..uint256 and int8..int256
 * (unsigned order for uint, signed order for int), plus eq and ne on bool
 * and address (spec §5). The result is a bool.
 */
#include "../common/builtin.h"

#define CMP(NAME, EXPR)                                                            \
    static int eval_##NAME(const nox_value *in, nox_value *out, const void *data) { \
        (void)data;                                                                \
        const uint64_t *a = in[0].limb, *b = in[1].limb;                           \
        unsigned bits = BITS(in[0]);                                               \
        int s = SIGNED(in[0]);                                                     \
        (void)s;                                                                   \
        out[0].limb[0] = (EXPR);                                                   \
        return 0;                                                                  \
    }

CMP(eq, nox_fix_eq(a, b, bits))
CMP(ne, nox_fix_eq(a, b, bits) ^ 1)
CMP(lt, nox_fix_lt(a, b, bits, s))
CMP(le, nox_fix_lt(b, a, bits, s) ^ 1)
CMP(gt, nox_fix_lt(b, a, bits, s))
CMP(ge, nox_fix_lt(a, b, bits, s) ^ 1)

static const builtin_op equality[] = {
    OP_EQ(eval_eq),
    OP_NE(eval_ne),
};

static const builtin_op order[] = {
    OP_LT(eval_lt),
    OP_LE(eval_le),
    OP_GT(eval_gt),
    OP_GE(eval_ge),
};

static int comparison_init(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_typeset eq_types = builtin_ints();
    nox_typeset_add(&eq_types, NOX_TYPE_BOOL);
    nox_typeset_add(&eq_types, NOX_TYPE_ADDRESS);
    if (builtin_register_all(host, ctx, equality, 2, eq_types, NOX_OP_CONSTANT_TIME)) return -1;
    return builtin_register_all(host, ctx, order, 4, builtin_ints(), NOX_OP_CONSTANT_TIME);
}

NOX_PLUGIN_DEFINE("comparison", "1.0.0", comparison_init);
