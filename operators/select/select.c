/*
 * select: (condition, ifTrue, ifFalse) -> ifTrue or ifFalse (spec §5).
 * The condition is a bool; the branches share any type of at most 256 bits
 * (bool, address, uint8..uint256, int8..int256, bytes1..bytes32). The wide
 * types have their select in the wide plugin. The choice is made with masks:
 * which branch was taken does not show in the timing.
 */
#include "../common/builtin.h"

static int eval_select(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    nox_fix_select(out[0].limb, in[0].limb[0], in[1].limb, in[2].limb, BITS(in[1]));
    return 0;
}

static const builtin_op ops[] = {
    OP_SELECT(eval_select),
};

static int select_init(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_typeset types = builtin_ints();
    nox_typeset_add(&types, NOX_TYPE_BOOL);
    nox_typeset_add(&types, NOX_TYPE_ADDRESS);
    nox_typeset_add_range(&types, NOX_TYPE_BYTES1, NOX_TYPE_BYTES32);
    return builtin_register_all(host, ctx, ops, 1, types, NOX_OP_CONSTANT_TIME);
}

NOX_PLUGIN_DEFINE("select", "1.0.0", select_init);
