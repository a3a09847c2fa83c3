/*
 * safe: safe_add, safe_sub, safe_mul, safe_div on uint8..uint256 and
 * int8..int256 (spec §5). Outputs (success, result): the exact result and
 * true, or (false, 0) on overflow, b = 0, or signed MIN / -1.
 */
#include "../common/builtin.h"

/* out = (!failed, failed ? 0 : r) */
static void finish(nox_value *out, uint64_t failed, const uint64_t r[NOX_FIX_LIMBS], unsigned bits) {
    static const uint64_t zero[NOX_FIX_LIMBS];
    out[0].limb[0] = failed ^ 1;
    nox_fix_select(out[1].limb, failed, zero, r, bits);
}

static int eval_safe_add(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    uint64_t r[NOX_FIX_LIMBS];
    finish(out, nox_fix_add_checked(r, in[0].limb, in[1].limb, BITS(in[0]), SIGNED(in[0])), r, BITS(in[0]));
    return 0;
}

static int eval_safe_sub(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    uint64_t r[NOX_FIX_LIMBS];
    finish(out, nox_fix_sub_checked(r, in[0].limb, in[1].limb, BITS(in[0]), SIGNED(in[0])), r, BITS(in[0]));
    return 0;
}

static int eval_safe_mul(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    uint64_t r[NOX_FIX_LIMBS];
    finish(out, nox_fix_mul_checked(r, in[0].limb, in[1].limb, BITS(in[0]), SIGNED(in[0])), r, BITS(in[0]));
    return 0;
}

static int eval_safe_div(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    uint64_t q[NOX_FIX_LIMBS];
    finish(out, nox_fix_divrem(q, NULL, in[0].limb, in[1].limb, BITS(in[0]), SIGNED(in[0])), q, BITS(in[0]));
    return 0;
}

static const builtin_op constant_time[] = {
    OP_SAFE_ADD(eval_safe_add),
    OP_SAFE_SUB(eval_safe_sub),
    OP_SAFE_MUL(eval_safe_mul),
};

/* Branch-free, but see arithmetic.c: the hardware divider is not constant-time everywhere. */
static const builtin_op division[] = {
    OP_SAFE_DIV(eval_safe_div),
};

static int safe_init(const nox_host *host, nox_plugin_ctx *ctx) {
    if (builtin_register_all(host, ctx, constant_time, 3, builtin_ints(), NOX_OP_CONSTANT_TIME)) return -1;
    return builtin_register_all(host, ctx, division, 1, builtin_ints(), 0);
}

NOX_PLUGIN_DEFINE("safe", "1.0.0", safe_init);
