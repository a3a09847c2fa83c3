/*
 * arithmetic: add, sub, mul, div on uint8..uint256 and int8..int256 (spec §5).
 * Wrapping modulo 2^N; div truncates toward zero, b = 0 gives the type's MAX,
 * signed MIN / -1 gives MIN.
 */
#include "../common/builtin.h"

static int eval_add(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    nox_fix_add(out[0].limb, in[0].limb, in[1].limb, BITS(in[0]));
    return 0;
}

static int eval_sub(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    nox_fix_sub(out[0].limb, in[0].limb, in[1].limb, BITS(in[0]));
    return 0;
}

static int eval_mul(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    nox_fix_mul(out[0].limb, in[0].limb, in[1].limb, BITS(in[0]));
    return 0;
}

static int eval_div(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned bits = BITS(in[0]);
    int s = SIGNED(in[0]);
    uint64_t q[NOX_FIX_LIMBS], max[NOX_FIX_LIMBS];
    /* MIN / -1 already yields MIN (the wrapped quotient); only b == 0 needs MAX. */
    nox_fix_divrem(q, NULL, in[0].limb, in[1].limb, bits, s);
    nox_fix_max(max, bits, s);
    nox_fix_select(out[0].limb, nox_fix_is_zero(in[1].limb, bits), max, q, bits);
    return 0;
}

static const builtin_op constant_time[] = {
    OP_ADD(eval_add),
    OP_SUB(eval_sub),
    OP_MUL(eval_mul),
};

/* Branch-free too, but the hardware divider's latency depends on the operands
 * on some CPUs, so div does not claim NOX_OP_CONSTANT_TIME. */
static const builtin_op division[] = {
    OP_DIV(eval_div),
};

static int arithmetic_init(const nox_host *host, nox_plugin_ctx *ctx) {
    if (builtin_register_all(host, ctx, constant_time, 3, builtin_ints(), NOX_OP_CONSTANT_TIME)) return -1;
    return builtin_register_all(host, ctx, division, 1, builtin_ints(), 0);
}

NOX_PLUGIN_DEFINE("arithmetic", "1.0.0", arithmetic_init);
