/*
 * awkward.so — a plugin whose descriptors stress `nox-plugin-check --solidity`
 * (tests/contracts/test_bindings.py): operator and field names that are
 * Solidity keywords or the generated code's own names, missing and
 * duplicate field names, several outputs of fixed and variable types, an
 * output type bound only by the caller (two type variables), a fixed input
 * type outside Nox.sol, an operator without inputs, a protocol operation and
 * a plugin name that is not one word. Never evaluated for its values: every
 * eval writes zeros (canonical for every type).
 */
#include <string.h>

#include "nox/plugin.h"

static int eval_zero(const nox_value *in, nox_value *out, const void *data) {
    (void)in;
    unsigned n = (unsigned)(size_t)data;
    for (unsigned i = 0; i < n; i++) memset(out[i].limb, 0, sizeof out[i].limb);
    return 0;
}

static void base(nox_operator *op, const char *name, uint16_t id, unsigned n_in, unsigned n_out) {
    memset(op, 0, sizeof *op);
    op->struct_size = sizeof *op;
    op->name = name;
    op->id = id;
    op->n_inputs = (uint8_t)n_in;
    op->n_outputs = (uint8_t)n_out;
    op->eval = eval_zero;
    op->data = (const void *)(size_t)n_out;
}

static int awkward_init(const nox_host *host, nox_plugin_ctx *ctx) {
    nox_typeset small = {{0}}, all = {{0}};
    nox_typeset_add(&small, NOX_TYPE_UINT8);
    nox_typeset_add(&small, NOX_TYPE_INT16);
    nox_typeset_add(&small, 6); /* uint24: not in Nox.sol, no overload */
    nox_typeset_add(&all, NOX_TYPE_BOOL);
    nox_typeset_add(&all, NOX_TYPE_ADDRESS);
    nox_typeset_add(&all, NOX_TYPE_UINT64);
    nox_typeset_add(&all, NOX_TYPE_UINT512);

    nox_operator op;
    /* keyword operator name, keyword/own/duplicate/missing field names, three outputs */
    base(&op, "delete", 2000, 4, 3);
    op.inputs[0] = op.inputs[1] = NOX_SLOT_VAR(0);
    op.inputs[2] = NOX_TYPE_BOOL;
    op.inputs[3] = NOX_TYPE_ADDRESS;
    op.outputs[0] = NOX_TYPE_BOOL;
    op.outputs[1] = NOX_SLOT_VAR(0);
    op.outputs[2] = NOX_TYPE_UINT256;
    op.input_names[0] = "nox";
    op.input_names[1] = "nox";
    op.input_names[2] = "return";
    op.input_names[3] = NULL;
    op.output_names[0] = "ok";
    op.output_names[1] = "2nd value";
    op.output_names[2] = NULL;
    op.typevars[0] = small;
    if (host->register_operator(ctx, &op)) return -1;

    /* the output type chosen by the caller, from two variables: one of the inputs' and one of its own */
    base(&op, "widen", 2001, 1, 2);
    op.inputs[0] = NOX_SLOT_VAR(0);
    op.outputs[0] = NOX_SLOT_VAR(1);
    op.outputs[1] = NOX_SLOT_VAR(0);
    op.input_names[0] = "widen"; /* named like its operator */
    op.typevars[0] = small;
    op.typevars[1] = all;
    if (host->register_operator(ctx, &op)) return -1;

    /* a fixed input type Nox.sol does not define: no binding */
    base(&op, "wide_only", 2002, 1, 1);
    op.inputs[0] = NOX_TYPE_UINT512;
    op.outputs[0] = NOX_TYPE_BOOL;
    if (host->register_operator(ctx, &op)) return -1;

    /* no inputs: NoxCompute.compute refuses it, no binding */
    base(&op, "constant", 2003, 0, 1);
    op.outputs[0] = NOX_TYPE_UINT64;
    if (host->register_operator(ctx, &op)) return -1;

    /* a protocol operation: Nox.sol has it, no binding */
    base(&op, "add", 1, 2, 1);
    nox_typeset u8 = {{0}};
    nox_typeset_add(&u8, NOX_TYPE_UINT8);
    op.inputs[0] = op.inputs[1] = NOX_SLOT_VAR(0);
    op.outputs[0] = NOX_SLOT_VAR(0);
    op.typevars[0] = u8;
    if (host->register_operator(ctx, &op)) return -1;
    return 0;
}

NOX_PLUGIN_DEFINE("awkward-names_v2", "0.1.0", awkward_init);
