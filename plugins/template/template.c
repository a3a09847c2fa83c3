/*
 * template — an example Nox operator plugin. Copy this folder, rename it, and
 * replace the operators with your own (README.md in this folder).
 *
 *   average(T a, T b) -> (T result)              id 1000, T in uint8..uint256, int8..int256
 *       (a + b) / 2 computed without overflow, rounded toward zero (like the
 *       protocol's div).
 *   clamp(T value, T low, T high) -> (T result)  id 1001, T in uint8..uint256, int8..int256
 *       min(max(value, low), high); when low > high the result is high.
 *   mul_div(T a, T b, T c) -> (T result)         id 1002, T in uint8..uint256
 *       floor(a * b / c), computed on the exact 2N-bit product a * b (no
 *       intermediate overflow) and then truncated to T's N bits: the low N
 *       bits of the quotient, i.e. the quotient modulo 2^N, as the protocol's
 *       mul wraps (uint8: 200 * 200 / 100 = 400 -> 144). c = 0 gives T's MAX,
 *       as the protocol's div by zero does.
 *
 * What makes a good operator (the rules of nox/plugin.h):
 *   - eval is a pure function of its inputs: no I/O, no global mutable state;
 *     the engine calls it from many threads at once;
 *   - it produces an output for EVERY well-typed input: a result or an error
 *     that depends on a value would leak that value (the protocol never
 *     reverts on a value). So clamp defines low > high and mul_div c = 0
 *     instead of failing;
 *   - constant time: loops run over the limbs of the TYPE, never stop early
 *     on a value, and choices are made with masks, never with `if` on data.
 *     Only then set NOX_OP_CONSTANT_TIME (and prove it: README.md, "Check");
 *   - outputs are canonical: every bit at or above the type's width is zero.
 *
 * The arithmetic is nox/ctint.h's (installed with the SDK, header-only):
 * constant-time add, sub, mul, wide mul, div/rem, comparisons, selection and
 * shifts on values of any width up to 4096 bits. Use it rather than writing
 * your own: it is the code Nox's own extension operators run, tested against
 * OpenSSL and under valgrind. The plugin still links against nothing of Nox's.
 */
#include <nox/ctint.h>
#include <nox/plugin.h>
#include <string.h>

/* ---- operator ids ----------------------------------------------------------
 * 0..63 belong to the protocol (add = 1, ...): a plugin may implement those
 * operations, with exactly their id and arity. 64..999 are taken by the
 * operator families shipped with Nox (operators/). Team plugins use 1000 and
 * above: ask for a block of ids (e.g. 1000..1099) so that two teams' plugins
 * can be loaded side by side. An id never changes once deployed: contracts
 * and messages name operators by it. */
#define TEMPLATE_ID_AVERAGE 1000
#define TEMPLATE_ID_CLAMP 1001
#define TEMPLATE_ID_MUL_DIV 1002

/* ---- values ------------------------------------------------------------------
 * A value of type T is nox_type_limbs(T) 64-bit limbs, least significant
 * first, two's complement for signed types, zero above the width: exactly
 * the layout nox/ctint.h works on, with the width nox_type_bits(T)
 * (nox_ct_bits(&value)). The widths and the signedness come from the type:
 * they are public, so branching on them is fine; the limbs are secret.
 *
 * Local buffers are sized for the widest value an operator handles and
 * zero-initialised: the ctint calls fill only the limbs of the width, a
 * count the compiler cannot see, and -Wmaybe-uninitialized (on in
 * CMakeLists.txt) would otherwise flag reads it cannot prove written. */
#define MAX_LIMBS NOX_CT_LIMBS(256)      /* T: up to 256 bits */
#define WIDE_LIMBS NOX_CT_LIMBS(2 * 256) /* a product of two T: up to 512 bits */

/* 1 when a < b in T's order, else 0 (secret): nox/ctint.h's signed or unsigned
 * comparison, chosen by the type (public). */
static uint64_t type_lt(const uint64_t *a, const uint64_t *b, unsigned bits, int is_signed) {
    return is_signed ? nox_ct_slt(a, b, bits) : nox_ct_lt(a, b, bits);
}

/* ---- average ------------------------------------------------------------------
 * a + b = 2(a & b) + (a ^ b), so floor((a + b) / 2) = (a & b) + ((a ^ b) >> 1)
 * with an arithmetic shift for signed types: no intermediate exceeds the
 * width. Rounding toward zero then adds 1 when that floor is negative and
 * a + b is odd (the parity of a + b is the low bit of a ^ b). */
static int eval_average(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    const unsigned bits = nox_ct_bits(&in[0]);
    const int is_signed = nox_type_is_signed(in[0].type);
    const uint64_t *a = in[0].limb, *b = in[1].limb;
    uint64_t both[MAX_LIMBS] = {0}, x[MAX_LIMBS] = {0}, half[MAX_LIMBS] = {0}, r[MAX_LIMBS] = {0},
             fix[MAX_LIMBS] = {0};
    for (unsigned i = 0; i < nox_ct_limbs(bits); i++) {
        both[i] = a[i] & b[i];
        x[i] = a[i] ^ b[i];
    }
    if (is_signed) nox_ct_sar(half, x, 1, bits);
    else nox_ct_shr(half, x, 1, bits);
    (void)nox_ct_add(r, both, half, bits); /* floor((a + b) / 2): never out of range */

    /* toward zero: + 1 when the result is negative and a + b is odd */
    nox_ct_set_u64(fix, (uint64_t)is_signed & nox_ct_sign(r, bits) & x[0], bits);
    (void)nox_ct_add(r, r, fix, bits);
    nox_ct_copy(out[0].limb, r, bits);
    return 0;
}

/* ---- clamp -------------------------------------------------------------------- */
static int eval_clamp(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    const unsigned bits = nox_ct_bits(&in[0]);
    const int is_signed = nox_type_is_signed(in[0].type);
    const uint64_t *value = in[0].limb, *low = in[1].limb, *high = in[2].limb;
    uint64_t t[MAX_LIMBS] = {0};
    /* t = max(value, low); then min(t, high) */
    nox_ct_select(t, nox_ct_mask_bit(type_lt(value, low, bits, is_signed)), low, value, bits);
    nox_ct_select(out[0].limb, nox_ct_mask_bit(type_lt(high, t, bits, is_signed)), high, t, bits);
    return 0;
}

/* ---- mul_div -------------------------------------------------------------------
 * The product of two N-bit values needs 2N bits: compute it exactly
 * (nox_ct_mul_wide), divide it by c zero-extended to 2N bits (nox_ct_divrem,
 * a constant-time long division: no hardware divider, no early exit), and
 * keep the low N bits of the quotient (nox_ct_store truncates to the output
 * type). Division by zero is total: the quotient is all ones, so the result
 * is T's MAX. */
static int eval_mul_div(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    const unsigned bits = nox_ct_bits(&in[0]), wide = 2 * bits; /* public: from the type */
    uint64_t a[MAX_LIMBS] = {0}, b[MAX_LIMBS] = {0};
    uint64_t c[WIDE_LIMBS] = {0}, product[WIDE_LIMBS] = {0}, quotient[WIDE_LIMBS] = {0};
    nox_ct_load(a, bits, &in[0]);
    nox_ct_load(b, bits, &in[1]);
    nox_ct_load(c, wide, &in[2]); /* zero-extended: T is unsigned */
    nox_ct_mul_wide(product, a, b, bits);
    nox_ct_divrem(quotient, NULL, product, c, wide);
    nox_ct_store(&out[0], quotient, wide); /* truncated to T's width */
    /* the operands' copies and the intermediates are secrets too: wipe them */
    nox_ct_wipe(a, MAX_LIMBS);
    nox_ct_wipe(b, MAX_LIMBS);
    nox_ct_wipe(c, WIDE_LIMBS);
    nox_ct_wipe(product, WIDE_LIMBS);
    nox_ct_wipe(quotient, WIDE_LIMBS);
    return 0;
}

/* ---- registration ---------------------------------------------------------------
 * The host copies the descriptor (strings included), so it may live on the
 * stack. register_operator returns -1 for an invalid descriptor; the reason
 * is already recorded, so init just returns non-zero. */
static int template_init(const nox_host *host, nox_plugin_ctx *ctx) {
    /* Options come from operators.yaml (`options:`); an option the plugin
     * never asks for is a configuration error. This plugin takes none. */

    /* T ranges over uint8..uint256 and int8..int256 (type codes 4..67). */
    nox_typeset ints = {{0}};
    nox_typeset_add_range(&ints, NOX_TYPE_UINT8, NOX_TYPE_INT256);

    nox_operator op;
    memset(&op, 0, sizeof op);
    op.struct_size = sizeof op;
    op.name = "average";
    op.id = TEMPLATE_ID_AVERAGE;
    op.n_inputs = 2;
    op.n_outputs = 1;
    op.inputs[0] = op.inputs[1] = NOX_SLOT_VAR(0); /* both inputs have the same type T... */
    op.outputs[0] = NOX_SLOT_VAR(0);               /* ...and so has the result */
    op.input_names[0] = "a";                       /* message field names */
    op.input_names[1] = "b";
    op.output_names[0] = "result";
    op.typevars[0] = ints;
    op.flags = NOX_OP_CONSTANT_TIME;
    op.eval = eval_average;
    op.summary = "(a + b) / 2 without overflow, rounded toward zero";
    if (host->register_operator(ctx, &op) != 0) return -1;

    memset(&op, 0, sizeof op);
    op.struct_size = sizeof op;
    op.name = "clamp";
    op.id = TEMPLATE_ID_CLAMP;
    op.n_inputs = 3;
    op.n_outputs = 1;
    op.inputs[0] = op.inputs[1] = op.inputs[2] = NOX_SLOT_VAR(0);
    op.outputs[0] = NOX_SLOT_VAR(0);
    op.input_names[0] = "value";
    op.input_names[1] = "low";
    op.input_names[2] = "high";
    op.output_names[0] = "result";
    op.typevars[0] = ints;
    op.flags = NOX_OP_CONSTANT_TIME;
    op.eval = eval_clamp;
    op.summary = "min(max(value, low), high); high when low > high";
    if (host->register_operator(ctx, &op) != 0) return -1;

    /* mul_div: unsigned types only (uint8..uint256, type codes 4..35). */
    nox_typeset uints = {{0}};
    nox_typeset_add_range(&uints, NOX_TYPE_UINT8, NOX_TYPE_UINT256);
    memset(&op, 0, sizeof op);
    op.struct_size = sizeof op;
    op.name = "mul_div";
    op.id = TEMPLATE_ID_MUL_DIV;
    op.n_inputs = 3;
    op.n_outputs = 1;
    op.inputs[0] = op.inputs[1] = op.inputs[2] = NOX_SLOT_VAR(0);
    op.outputs[0] = NOX_SLOT_VAR(0);
    op.input_names[0] = "a";
    op.input_names[1] = "b";
    op.input_names[2] = "c";
    op.output_names[0] = "result";
    op.typevars[0] = uints;
    op.flags = NOX_OP_CONSTANT_TIME;
    op.eval = eval_mul_div;
    op.summary = "floor(a * b / c) over the 2N-bit product, truncated to N bits; c = 0 gives MAX";
    if (host->register_operator(ctx, &op) != 0) return -1;

    /* host->log(ctx, NOX_LOG_INFO, "...") writes a line to the host's log
     * (never a plaintext!); host->fail(ctx, "...") explains a refusal. */
    return 0;
}

/* The one exported symbol: plugin name, plugin version, init. The host checks
 * its magic, ABI version and struct sizes before running any code of ours. */
NOX_PLUGIN_DEFINE("template", "1.0.0", template_init);
