/*
 * template — an example Nox operator plugin. Copy this folder, rename it, and
 * replace the two operators with your own (README.md in this folder).
 *
 *   average(T a, T b) -> (T result)              id 1000
 *       (a + b) / 2 computed without overflow, rounded toward zero (like the
 *       protocol's div), for every T in uint8..uint256 and int8..int256.
 *   clamp(T value, T low, T high) -> (T result)  id 1001
 *       min(max(value, low), high); when low > high the result is high.
 *
 * What makes a good operator (the rules of nox/plugin.h):
 *   - eval is a pure function of its inputs: no I/O, no global mutable state;
 *     the engine calls it from many threads at once;
 *   - it produces an output for EVERY well-typed input: a result or an error
 *     that depends on a value would leak that value (the protocol never
 *     reverts on a value). So clamp defines low > high instead of failing;
 *   - constant time: loops run over the limbs of the TYPE, never stop early
 *     on a value, and choices are made with masks, never with `if` on data.
 *     Only then set NOX_OP_CONSTANT_TIME (and prove it: README.md, "Testing");
 *   - outputs are canonical: every bit at or above the type's width is zero.
 *
 * The plugin links against nothing of Nox's: nox/plugin.h is the whole SDK.
 */
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

/* ---- constant-time helpers on up to 256-bit values --------------------------
 * A value of type T is nox_type_limbs(T) 64-bit limbs, least significant
 * first, two's complement for signed types, zero above the width. */
#define MAX_LIMBS 4 /* 256 bits: the widest type these operators accept */

typedef struct width {
    unsigned bits, limbs;
    unsigned top_shift;   /* bit position of the sign bit inside the top limb */
    uint64_t top_mask;    /* the meaningful bits of the top limb */
    uint64_t is_signed;   /* 0 or 1 */
} width;

static width width_of(unsigned type) {
    width w;
    w.bits = nox_type_bits(type);
    w.limbs = nox_type_limbs(type);
    w.top_shift = (w.bits - 1) % 64;
    w.top_mask = w.bits % 64 ? ((uint64_t)1 << (w.bits % 64)) - 1 : ~(uint64_t)0;
    w.is_signed = (uint64_t)nox_type_is_signed(type);
    return w;
}

/* All ones when bit is 1, zero when it is 0. */
static uint64_t mask_of(uint64_t bit) { return (uint64_t)0 - bit; }

/* 1 when a < b as values of width w (signed or not), else 0. Branch-free:
 * the borrow of a - b over every limb; for signed types the sign bits are
 * flipped first, which maps two's complement order onto unsigned order. */
static uint64_t less_than(const uint64_t *a, const uint64_t *b, const width *w) {
    uint64_t borrow = 0;
    for (unsigned i = 0; i < w->limbs; i++) {
        uint64_t flip = i == w->limbs - 1 ? w->is_signed << w->top_shift : 0;
        uint64_t x = a[i] ^ flip, y = b[i] ^ flip;
        uint64_t d = x - y - borrow;
        borrow = ((~x & y) | (~(x ^ y) & d)) >> 63; /* Hacker's Delight 2-13 */
    }
    return borrow;
}

/* r = bit ? a : b, limb by limb with a mask. */
static void select_limbs(uint64_t *r, uint64_t bit, const uint64_t *a, const uint64_t *b, const width *w) {
    uint64_t m = mask_of(bit);
    for (unsigned i = 0; i < w->limbs; i++) r[i] = (a[i] & m) | (b[i] & ~m);
}

/* ---- average ------------------------------------------------------------------
 * a + b = 2(a & b) + (a ^ b), so floor((a + b) / 2) = (a & b) + ((a ^ b) >> 1)
 * with an arithmetic shift for signed types: no intermediate exceeds the
 * width. Rounding toward zero then adds 1 when that floor is negative and
 * a + b is odd (the parity of a + b is the low bit of a ^ b). */
static int eval_average(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    const width w = width_of(in[0].type);
    const uint64_t *a = in[0].limb, *b = in[1].limb;
    uint64_t x[MAX_LIMBS], r[MAX_LIMBS];
    for (unsigned i = 0; i < w.limbs; i++) x[i] = a[i] ^ b[i];
    /* sign of a ^ b, replicated into bit bits-1 by the arithmetic shift */
    uint64_t fill = w.is_signed & (x[w.limbs - 1] >> w.top_shift);

    uint64_t carry = 0;
    for (unsigned i = 0; i < w.limbs; i++) {
        uint64_t next = i + 1 < w.limbs ? x[i + 1] : 0;
        uint64_t half = (x[i] >> 1) | (next << 63);
        if (i == w.limbs - 1) half = (half & ~((uint64_t)1 << w.top_shift)) | (fill << w.top_shift);
        uint64_t both = a[i] & b[i];
        uint64_t s = both + half, c1 = s < both;
        r[i] = s + carry;
        carry = c1 | (r[i] < s);
    }
    r[w.limbs - 1] &= w.top_mask;

    /* toward zero: + 1 when the result is negative and a + b is odd */
    carry = w.is_signed & (r[w.limbs - 1] >> w.top_shift) & x[0];
    for (unsigned i = 0; i < w.limbs; i++) {
        r[i] += carry;
        carry = carry & (r[i] == 0); /* compiles to a flag, not a branch */
    }
    r[w.limbs - 1] &= w.top_mask;
    memcpy(out[0].limb, r, w.limbs * sizeof r[0]);
    return 0;
}

/* ---- clamp -------------------------------------------------------------------- */
static int eval_clamp(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    const width w = width_of(in[0].type);
    const uint64_t *value = in[0].limb, *low = in[1].limb, *high = in[2].limb;
    uint64_t t[MAX_LIMBS];
    select_limbs(t, less_than(value, low, &w), low, value, &w);           /* t = max(value, low) */
    select_limbs(out[0].limb, less_than(high, t, &w), high, t, &w);      /* min(t, high) */
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

    /* host->log(ctx, NOX_LOG_INFO, "...") writes a line to the host's log
     * (never a plaintext!); host->fail(ctx, "...") explains a refusal. */
    return 0;
}

/* The one exported symbol: plugin name, plugin version, init. The host checks
 * its magic, ABI version and struct sizes before running any code of ours. */
NOX_PLUGIN_DEFINE("template", "1.0.0", template_init);
