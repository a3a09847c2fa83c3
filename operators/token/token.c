/*
 * token: transfer, mint, burn on uint8..uint256 (spec §5). All or nothing:
 * either every balance moves and success is true, or nothing changes and
 * success is false. Which case happened does not show in the timing.
 */
#include "../common/builtin.h"

/* out[1] = ok ? moved1 : keep1, out[2] = ok ? moved2 : keep2, out[0] = ok */
static void commit(nox_value *out, uint64_t ok, const uint64_t *moved1, const uint64_t *keep1,
                   const uint64_t *moved2, const uint64_t *keep2, unsigned bits) {
    out[0].limb[0] = ok;
    nox_fix_select(out[1].limb, ok, moved1, keep1, bits);
    nox_fix_select(out[2].limb, ok, moved2, keep2, bits);
}

/* (balanceFrom, balanceTo, amount) -> (success, newBalanceFrom, newBalanceTo) */
static int eval_transfer(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned bits = BITS(in[0]);
    const uint64_t *from = in[0].limb, *to = in[1].limb, *amount = in[2].limb;
    uint64_t f[NOX_FIX_LIMBS], t[NOX_FIX_LIMBS];
    uint64_t short_funds = nox_fix_lt(from, amount, bits, 0);
    nox_fix_sub(f, from, amount, bits);
    uint64_t overflow = nox_fix_add_checked(t, to, amount, bits, 0);
    commit(out, (short_funds | overflow) ^ 1, f, from, t, to, bits);
    return 0;
}

/* (balanceTo, amount, totalSupply) -> (success, newBalanceTo, newTotalSupply) */
static int eval_mint(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned bits = BITS(in[0]);
    const uint64_t *to = in[0].limb, *amount = in[1].limb, *supply = in[2].limb;
    uint64_t t[NOX_FIX_LIMBS], s[NOX_FIX_LIMBS];
    uint64_t overflow = nox_fix_add_checked(t, to, amount, bits, 0);
    overflow |= nox_fix_add_checked(s, supply, amount, bits, 0);
    commit(out, overflow ^ 1, t, to, s, supply, bits);
    return 0;
}

/* (balanceFrom, amount, totalSupply) -> (success, newBalanceFrom, newTotalSupply) */
static int eval_burn(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned bits = BITS(in[0]);
    const uint64_t *from = in[0].limb, *amount = in[1].limb, *supply = in[2].limb;
    uint64_t f[NOX_FIX_LIMBS], s[NOX_FIX_LIMBS];
    uint64_t fail = nox_fix_lt(from, amount, bits, 0) | nox_fix_lt(supply, amount, bits, 0);
    nox_fix_sub(f, from, amount, bits);
    nox_fix_sub(s, supply, amount, bits);
    commit(out, fail ^ 1, f, from, s, supply, bits);
    return 0;
}

static const builtin_op ops[] = {
    OP_TRANSFER(eval_transfer),
    OP_MINT(eval_mint),
    OP_BURN(eval_burn),
};

static int token_init(const nox_host *host, nox_plugin_ctx *ctx) {
    return builtin_register_all(host, ctx, ops, 3, builtin_uints(), NOX_OP_CONSTANT_TIME);
}

NOX_PLUGIN_DEFINE("token", "1.0.0", token_init);
