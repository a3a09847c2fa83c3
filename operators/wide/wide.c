/*
 * wide: the protocol's arithmetic, safe arithmetic, comparisons and select on
 * the extension types uint512, uint1024, uint2048, int512, int1024, int2048,
 * with the same semantics as at 256 bits (spec §5). Limbs are GMP limbs
 * (both are 64-bit; checked below), so GMP's mpn layer works on nox_value
 * limbs in place, with scratch space on the stack: no allocation.
 *
 * Timing: these operators are NOT constant-time (division and the carry
 * checks branch on values); they do not set NOX_OP_CONSTANT_TIME.
 */
#include <gmp.h>
#include <string.h>

#include "../common/builtin.h"

_Static_assert(sizeof(mp_limb_t) == sizeof(uint64_t), "wide plugin needs 64-bit GMP limbs");

enum { MAXN = NOX_VALUE_LIMBS };

typedef mp_limb_t limb;

static inline mp_size_t nl(const nox_value *v) { return (mp_size_t)nox_type_limbs(v->type); }
static inline const limb *L(const nox_value *v) { return (const limb *)v->limb; }
static inline int top_bit(const limb *x, mp_size_t n) { return (int)(x[n - 1] >> 63); }

/* ---- helpers ------------------------------------------------------------- */

static void set_max(limb *r, mp_size_t n, int is_signed) {
    memset(r, 0xff, (size_t)n * sizeof *r);
    if (is_signed) r[n - 1] >>= 1;
}

/* r = |x| (two's complement magnitude); returns the sign. r may alias x. */
static int magnitude(limb *r, const limb *x, mp_size_t n, int is_signed) {
    if (is_signed && top_bit(x, n)) {
        mpn_neg(r, x, n);
        return 1;
    }
    if (r != x) mpn_copyi(r, x, n);
    return 0;
}

/* Truncating division of two's complement values. Returns 1 (q, r unspecified
 * except as stated) when b == 0 (q = 0) or signed MIN / -1 (q = MIN). */
static int divide(limb *q, const limb *a, const limb *b, mp_size_t n, int is_signed) {
    if (mpn_zero_p(b, n)) {
        mpn_zero(q, n);
        return 1;
    }
    limb ma[MAXN], mb[MAXN], r[MAXN], qq[MAXN];
    int sa = magnitude(ma, a, n, is_signed), sb = magnitude(mb, b, n, is_signed);
    mp_size_t dn = n;
    while (mb[dn - 1] == 0) dn--;
    mpn_zero(qq, n);
    mpn_tdiv_qr(qq, r, 0, ma, n, mb, dn);
    if (sa != sb) mpn_neg(q, qq, n);
    else mpn_copyi(q, qq, n);
    /* MIN / -1: |MIN| / 1 = 2^(N-1), which reads back as MIN: flag it */
    return is_signed && sa && sb && top_bit(qq, n);
}

/* Exact a*b out of range? r = a*b mod 2^N either way. */
static int multiply(limb *r, const limb *a, const limb *b, mp_size_t n, int is_signed) {
    limb ma[MAXN], mb[MAXN], p[2 * MAXN];
    int neg = magnitude(ma, a, n, is_signed) ^ magnitude(mb, b, n, is_signed);
    mpn_mul_n(p, ma, mb, n);
    int ovf = !mpn_zero_p(p + n, n);
    if (is_signed) {
        /* in range iff |p| <= 2^(N-1) - 1 (+1 when the result is negative) */
        if (top_bit(p, n)) {
            limb min[MAXN];
            mpn_zero(min, n);
            min[n - 1] = (limb)1 << 63;
            ovf |= !(neg && mpn_cmp(p, min, n) == 0);
        }
    }
    if (neg) mpn_neg(r, p, n);
    else mpn_copyi(r, p, n);
    return ovf;
}

/* ---- arithmetic ---------------------------------------------------------- */

static int eval_add(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    mpn_add_n(out[0].limb, L(&in[0]), L(&in[1]), nl(&in[0]));
    return 0;
}

static int eval_sub(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    mpn_sub_n(out[0].limb, L(&in[0]), L(&in[1]), nl(&in[0]));
    return 0;
}

static int eval_mul(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    limb p[2 * MAXN];
    mp_size_t n = nl(&in[0]);
    mpn_mul_n(p, L(&in[0]), L(&in[1]), n);
    mpn_copyi(out[0].limb, p, n);
    return 0;
}

static int eval_div(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    mp_size_t n = nl(&in[0]);
    int s = SIGNED(in[0]);
    if (mpn_zero_p(L(&in[1]), n)) set_max(out[0].limb, n, s);
    else divide(out[0].limb, L(&in[0]), L(&in[1]), n, s); /* MIN / -1 = MIN */
    return 0;
}

/* ---- safe arithmetic ----------------------------------------------------- */

static void finish(nox_value *out, int failed, const limb *r, mp_size_t n) {
    out[0].limb[0] = !failed;
    if (failed) mpn_zero(out[1].limb, n);
    else mpn_copyi(out[1].limb, r, n);
}

static int eval_safe_add(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    mp_size_t n = nl(&in[0]);
    const limb *a = L(&in[0]), *b = L(&in[1]);
    limb r[MAXN];
    limb carry = mpn_add_n(r, a, b, n);
    int ovf = SIGNED(in[0]) ? top_bit(a, n) == top_bit(b, n) && top_bit(r, n) != top_bit(a, n) : carry != 0;
    finish(out, ovf, r, n);
    return 0;
}

static int eval_safe_sub(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    mp_size_t n = nl(&in[0]);
    const limb *a = L(&in[0]), *b = L(&in[1]);
    limb r[MAXN];
    limb borrow = mpn_sub_n(r, a, b, n);
    int ovf = SIGNED(in[0]) ? top_bit(a, n) != top_bit(b, n) && top_bit(r, n) != top_bit(a, n) : borrow != 0;
    finish(out, ovf, r, n);
    return 0;
}

static int eval_safe_mul(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    mp_size_t n = nl(&in[0]);
    limb r[MAXN];
    int ovf = multiply(r, L(&in[0]), L(&in[1]), n, SIGNED(in[0]));
    finish(out, ovf, r, n);
    return 0;
}

static int eval_safe_div(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    mp_size_t n = nl(&in[0]);
    limb q[MAXN];
    int bad = divide(q, L(&in[0]), L(&in[1]), n, SIGNED(in[0]));
    finish(out, bad, q, n);
    return 0;
}

/* ---- comparisons and select ---------------------------------------------- */

static int compare(const nox_value *a, const nox_value *b) {
    mp_size_t n = nl(a);
    if (SIGNED(*a)) {
        int sa = top_bit(L(a), n), sb = top_bit(L(b), n);
        if (sa != sb) return sa ? -1 : 1;
    }
    return mpn_cmp(L(a), L(b), n);
}

#define CMP(NAME, EXPR)                                                              \
    static int eval_##NAME(const nox_value *in, nox_value *out, const void *data) {   \
        (void)data;                                                                  \
        int c = compare(&in[0], &in[1]);                                             \
        out[0].limb[0] = (EXPR);                                                     \
        return 0;                                                                    \
    }

CMP(eq, c == 0)
CMP(ne, c != 0)
CMP(lt, c < 0)
CMP(le, c <= 0)
CMP(gt, c > 0)
CMP(ge, c >= 0)

static int eval_select(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    mp_size_t n = nl(&in[1]);
    uint64_t m = 0 - (in[0].limb[0] & 1);
    for (mp_size_t i = 0; i < n; i++) out[0].limb[i] = (in[1].limb[i] & m) | (in[2].limb[i] & ~m);
    return 0;
}

static const builtin_op ops[] = {
    OP_ADD(eval_add),
    OP_SUB(eval_sub),
    OP_MUL(eval_mul),
    OP_DIV(eval_div),
    OP_SAFE_ADD(eval_safe_add),
    OP_SAFE_SUB(eval_safe_sub),
    OP_SAFE_MUL(eval_safe_mul),
    OP_SAFE_DIV(eval_safe_div),
    OP_SELECT(eval_select),
    OP_EQ(eval_eq),
    OP_NE(eval_ne),
    OP_LT(eval_lt),
    OP_LE(eval_le),
    OP_GT(eval_gt),
    OP_GE(eval_ge),
};

static int wide_init(const nox_host *host, nox_plugin_ctx *ctx) {
    return builtin_register_all(host, ctx, ops, sizeof ops / sizeof ops[0], builtin_wide(), 0);
}

NOX_PLUGIN_DEFINE("wide", "1.0.0", wide_init);
