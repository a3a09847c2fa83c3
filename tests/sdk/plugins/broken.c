/*
 * Plugins for the nox-plugin-check tests, one per VARIANT (set by CMake), each
 * broken in one known way, so the checker must find exactly that:
 *   CRASH    explode(T) segfaults when its input is 128 (on uint16..uint64);
 *            calm(T) beside it is fine, so checking must go on after a crash
 *   OUTPUT   wrong_type changes its output's type; noncanon writes bit 8 of a
 *            uint8 output for input 255; fails returns non-zero for input 0
 *   NONDET   jitter adds a call counter; lazy writes only limb 0 of a uint256
 *   IDS      a reserved id, two operators sharing one id, an invalid name, a
 *            protocol operation with the wrong id — and a plugin written like a
 *            real one (init stops at the first failed registration)
 *   OOB      peek reads in[2] of a two-input operator: past its arity (the
 *            checker's guard page catches it; its ASan build, a heap overflow)
 *   COLLIDE  valid on its own, but mul_div takes id 64 (minmax's min) and max
 *            is minmax's name: caught with --config against the built-ins;
 *            in_range has id 500, in the built-in families' range (a warning)
 *   LEAKY    three operators flagged NOX_OP_CONSTANT_TIME: bigger(a, b) picks
 *            with a loop that stops at the first differing limb (a branch on
 *            secrets), sbox(x) looks a table up by x (a secret index), and
 *            blend(a, b) is a true constant-time mask choice; plus vary(x),
 *            not flagged, which branches freely: --ctime must flag exactly
 *            the first two
 */
#include <string.h>

#include "nox/plugin.h"

#define CRASH 1
#define OUTPUT 2
#define NONDET 3
#define IDS 4
#define OOB 5
#define COLLIDE 6
#define LEAKY 7

#ifndef VARIANT
#error "VARIANT must be defined"
#endif

static int copy_value(const nox_value *in, nox_value *out) {
    for (unsigned i = 0; i < nox_type_limbs(out[0].type); i++) out[0].limb[i] = in[0].limb[i];
    return 0;
}

static int eval_explode(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    if (in[0].limb[0] == 128) {
        volatile int *volatile nowhere = NULL;
        *nowhere = 1; /* SIGSEGV */
    }
    return copy_value(in, out);
}

static int eval_calm(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    return copy_value(in, out);
}

static int eval_wrong_type(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    copy_value(in, out);
    out[0].type = NOX_TYPE_UINT8; /* the engine set uint32 */
    out[0].limb[0] &= 0xff;
    return 0;
}

static int eval_noncanon(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    out[0].limb[0] = in[0].limb[0] == 255 ? 0x1ff : in[0].limb[0];
    return 0;
}

static int eval_fails(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    copy_value(in, out);
    return in[0].limb[0] == 0 ? 1 : 0;
}

static unsigned long calls; /* global mutable state: exactly what the ABI forbids */

static int eval_jitter(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    copy_value(in, out);
    out[0].limb[0] = (out[0].limb[0] + (calls++ & 1)) & 0xff;
    return 0;
}

static int eval_lazy(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    out[0].limb[0] = in[0].limb[0]; /* limbs 1..3 of the uint256 are never written */
    return 0;
}

static int eval_peek(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    volatile uint64_t beyond = in[2].limb[0]; /* in[2] does not exist */
    (void)beyond;
    out[0].limb[0] = (in[0].limb[0] ^ in[1].limb[0]) & 0xff;
    return 0;
}

/* max(a, b) the way a careless team writes it: stops at the first limb that differs. */
static int eval_bigger(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned n = nox_type_limbs(in[0].type);
    const nox_value *pick = &in[1];
    for (unsigned i = n; i-- > 0;) {
        if (in[0].limb[i] != in[1].limb[i]) {
            if (in[0].limb[i] > in[1].limb[i]) pick = &in[0];
            break;
        }
    }
    memcpy(out[0].limb, pick->limb, n * sizeof pick->limb[0]);
    return 0;
}

static const uint8_t sbox_table[256] = {
    0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
    0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0, 0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0};

static int eval_sbox(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    out[0].limb[0] = sbox_table[in[0].limb[0] & 0xff]; /* the address depends on the secret */
    return 0;
}

/* a ? ... : b by masks over the type's limbs: what bigger and sbox should have been. */
static int eval_blend(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned n = nox_type_limbs(in[0].type);
    uint64_t m = 0 - (in[0].limb[0] & 1);
    for (unsigned i = 0; i < n; i++) out[0].limb[i] = (in[0].limb[i] & m) | (in[1].limb[i] & ~m);
    return 0;
}

static int eval_vary(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    out[0].limb[0] = in[0].limb[0] > 100 ? in[0].limb[0] - 100 : in[0].limb[0];
    return 0;
}

static nox_operator unary(const char *name, uint16_t id, nox_eval_fn eval, unsigned first, unsigned last) {
    nox_operator op;
    memset(&op, 0, sizeof op);
    op.struct_size = sizeof op;
    op.name = name;
    op.id = id;
    op.n_inputs = 1;
    op.n_outputs = 1;
    op.inputs[0] = NOX_SLOT_VAR(0);
    op.outputs[0] = NOX_SLOT_VAR(0);
    nox_typeset_add_range(&op.typevars[0], first, last);
    op.eval = eval;
    return op;
}

static int broken_init(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_operator op;
#if VARIANT == CRASH
    op = unary("explode", 1000, eval_explode, NOX_TYPE_UINT16, NOX_TYPE_UINT64);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("calm", 1001, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT64);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == OUTPUT
    op = unary("wrong_type", 1000, eval_wrong_type, NOX_TYPE_UINT32, NOX_TYPE_UINT32);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("noncanon", 1001, eval_noncanon, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("fails", 1002, eval_fails, NOX_TYPE_UINT64, NOX_TYPE_UINT64);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == NONDET
    op = unary("jitter", 1000, eval_jitter, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("lazy", 1001, eval_lazy, NOX_TYPE_UINT256, NOX_TYPE_UINT256);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == IDS
    op = unary("twice", 20, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("alpha", 1000, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("beta", 1000, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("Bad", 1003, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("add", 5, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    op.n_inputs = 2;
    op.inputs[1] = NOX_SLOT_VAR(0);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == COLLIDE
    op = unary("mul_div", 64, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT64);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("max", 2001, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT64);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("in_range", 500, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT64);
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("fine", 2002, eval_calm, NOX_TYPE_UINT8, NOX_TYPE_UINT64);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == LEAKY
    op = unary("bigger", 2000, eval_bigger, NOX_TYPE_UINT8, NOX_TYPE_UINT256);
    op.n_inputs = 2;
    op.inputs[1] = NOX_SLOT_VAR(0);
    op.flags = NOX_OP_CONSTANT_TIME;
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("sbox", 2001, eval_sbox, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    op.flags = NOX_OP_CONSTANT_TIME;
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("blend", 2002, eval_blend, NOX_TYPE_UINT8, NOX_TYPE_UINT256);
    op.n_inputs = 2;
    op.inputs[1] = NOX_SLOT_VAR(0);
    op.flags = NOX_OP_CONSTANT_TIME;
    if (host->register_operator(ctx, &op)) return 1;
    op = unary("vary", 2003, eval_vary, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == OOB
    op = unary("peek", 1000, eval_peek, NOX_TYPE_UINT8, NOX_TYPE_UINT8);
    op.n_inputs = 2;
    op.inputs[1] = NOX_SLOT_VAR(0);
    return host->register_operator(ctx, &op) ? 1 : 0;
#endif
}

NOX_PLUGIN_DEFINE("broken", "0.0.1", broken_init);

/* Keep every helper referenced in every variant. */
NOX_PLUGIN_EXPORT void *nox_broken_plugin_refs[];
void *nox_broken_plugin_refs[] = {(void *)eval_explode, (void *)eval_calm,  (void *)eval_wrong_type,
                                  (void *)eval_noncanon, (void *)eval_fails, (void *)eval_jitter,
                                  (void *)eval_lazy,     (void *)eval_peek,  (void *)unary,
                                  (void *)eval_bigger,   (void *)eval_sbox,  (void *)eval_blend,
                                  (void *)eval_vary};
