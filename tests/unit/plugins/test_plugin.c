/*
 * Plugins for test_engine, one per VARIANT (set by CMake): a well-behaved
 * extension plugin, and plugins that are broken in exactly one way each.
 */
#include <string.h>

#include "nox/plugin.h"

#define GOOD 1
#define ABI_FUTURE 2     /* built "against" ABI version + 1 */
#define ABI_SIZE 3       /* same ABI version, different nox_value size */
#define BAD_MAGIC 4
#define NO_SYMBOL 5
#define BAD_NAME 6       /* operator name with an upper-case letter */
#define RESERVED_ID 7    /* extension operator with an id < 64 */
#define PROTO_WRONG_ID 8 /* "add" with id 42 */
#define INIT_FAIL 9
#define DUP_ADD 10       /* "add" on uint8 only: overlaps the arithmetic plugin */
#define NO_OPS 11

#ifndef VARIANT
#error "VARIANT must be defined"
#endif

/* twice(x) = 2x mod 2^N on uint8..uint64 */
static int eval_twice(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned bits = nox_type_bits(in[0].type);
    uint64_t mask = bits == 64 ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
    out[0].limb[0] = (in[0].limb[0] << 1) & mask;
    return 0;
}

/* Returns an error code: the engine must report a plugin bug. */
static int eval_broken_rc(const nox_value *in, nox_value *out, const void *data) {
    (void)in, (void)out, (void)data;
    return 7;
}

/* Writes bits above the width of its uint8 output. */
static int eval_non_canonical(const nox_value *in, nox_value *out, const void *data) {
    (void)in, (void)data;
    out[0].limb[0] = 0x1ff;
    return 0;
}

/* widen(x: T) -> U : zero-extends; U is declared by the caller (tests output-only type variables). */
static int eval_widen(const nox_value *in, nox_value *out, const void *data) {
    (void)data;
    unsigned n = nox_type_limbs(out[0].type);
    for (unsigned i = 0; i < n; i++) out[0].limb[i] = i < nox_type_limbs(in[0].type) ? in[0].limb[i] : 0;
    return 0;
}

static void describe(nox_operator *op, const char *name, uint16_t id, nox_eval_fn eval) {
    memset(op, 0, sizeof *op);
    op->struct_size = sizeof *op;
    op->name = name;
    op->id = id;
    op->n_inputs = 1;
    op->n_outputs = 1;
    op->inputs[0] = NOX_SLOT_VAR(0);
    op->outputs[0] = NOX_SLOT_VAR(0);
    op->input_names[0] = "value";
    op->output_names[0] = "result";
    nox_typeset_add_range(&op->typevars[0], NOX_TYPE_UINT8, NOX_TYPE_UINT64);
    op->eval = eval;
    op->summary = "test operator";
}

static int test_init(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_operator op;
#if VARIANT == GOOD
    const char *fail = host->option(ctx, "fail");
    if (fail && !strcmp(fail, "yes")) {
        host->fail(ctx, "option fail=yes asks this plugin to refuse loading");
        return 1;
    }
    (void)host->option(ctx, "greeting"); /* an option the plugin understands */
    describe(&op, "twice", 64, eval_twice);
    if (host->register_operator(ctx, &op)) return 1;
    describe(&op, "broken_rc", 65, eval_broken_rc);
    if (host->register_operator(ctx, &op)) return 1;
    describe(&op, "non_canonical", 66, eval_non_canonical);
    op.typevars[0] = (nox_typeset){{0}};
    nox_typeset_add(&op.typevars[0], NOX_TYPE_UINT8);
    if (host->register_operator(ctx, &op)) return 1;
    describe(&op, "widen", 67, eval_widen);
    op.outputs[0] = NOX_SLOT_VAR(1);
    nox_typeset_add_range(&op.typevars[1], NOX_TYPE_UINT8, NOX_TYPE_UINT256);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == BAD_NAME
    describe(&op, "Twice", 64, eval_twice);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == RESERVED_ID
    describe(&op, "twice", 20, eval_twice);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == PROTO_WRONG_ID
    describe(&op, "add", 42, eval_twice);
    op.n_inputs = 2;
    op.inputs[1] = NOX_SLOT_VAR(0);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == DUP_ADD
    describe(&op, "add", 1, eval_twice);
    op.n_inputs = 2;
    op.inputs[1] = NOX_SLOT_VAR(0);
    op.typevars[0] = (nox_typeset){{0}};
    nox_typeset_add(&op.typevars[0], NOX_TYPE_UINT8);
    return host->register_operator(ctx, &op) ? 1 : 0;
#elif VARIANT == INIT_FAIL
    (void)op;
    host->fail(ctx, "cannot find its lookup table");
    return 1;
#else
    (void)op, (void)host, (void)ctx, (void)eval_twice;
    return 0;
#endif
}

#if VARIANT == ABI_FUTURE
NOX_PLUGIN_EXPORT const nox_plugin_info nox_plugin = {NOX_PLUGIN_MAGIC, NOX_PLUGIN_ABI_VERSION + 1,
                                                      sizeof(nox_plugin_info), sizeof(nox_value),
                                                      sizeof(nox_operator), sizeof(nox_host),
                                                      "future", "9.0.0", test_init};
#elif VARIANT == ABI_SIZE
NOX_PLUGIN_EXPORT const nox_plugin_info nox_plugin = {NOX_PLUGIN_MAGIC, NOX_PLUGIN_ABI_VERSION,
                                                      sizeof(nox_plugin_info), sizeof(nox_value) / 2,
                                                      sizeof(nox_operator), sizeof(nox_host),
                                                      "halfvalue", "1.0.0", test_init};
#elif VARIANT == BAD_MAGIC
NOX_PLUGIN_EXPORT const nox_plugin_info nox_plugin = {0xdeadbeefu, NOX_PLUGIN_ABI_VERSION,
                                                      sizeof(nox_plugin_info), sizeof(nox_value),
                                                      sizeof(nox_operator), sizeof(nox_host),
                                                      "magic", "1.0.0", test_init};
#elif VARIANT == NO_SYMBOL
NOX_PLUGIN_EXPORT int not_a_nox_plugin(void);
int not_a_nox_plugin(void) { return test_init(NULL, NULL); }
#else
NOX_PLUGIN_DEFINE("testplugin", "1.2.3", test_init);
#endif

/* Keep every helper referenced in every variant. */
NOX_PLUGIN_EXPORT void *nox_test_plugin_refs[];
void *nox_test_plugin_refs[] = {(void *)eval_twice, (void *)eval_broken_rc, (void *)eval_non_canonical,
                                (void *)eval_widen, (void *)describe};
