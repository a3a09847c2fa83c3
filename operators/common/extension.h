/*
 * Registration helper for the extension families (operator ids >= 64):
 * one table row per operator, with message field names and up to two type
 * variables (T = NOX_SLOT_VAR(0), U = NOX_SLOT_VAR(1)). Not part of the SDK.
 * The descriptor itself is started by builtin.h's builtin_descriptor, as for
 * the built-in families.
 */
#ifndef NOX_OPERATORS_EXTENSION_H
#define NOX_OPERATORS_EXTENSION_H

#include "builtin.h"
#include "nox/plugin.h"

/** One extension operator: slots, field names and the eval's `data`. */
typedef struct ext_op {
    const char *name;
    uint16_t id;
    uint8_t n_inputs, n_outputs;
    uint16_t inputs[2], outputs[1];
    const char *input_names[2], *output_names[1];
    nox_eval_fn eval;
    intptr_t data;
    uint32_t flags;
    const char *summary;
} ext_op;

/** Registers every row of `ops`, with type variable k ranging over vars[k] (n_vars of them); 0 or -1. */
static inline int ext_register_all(const nox_host *host, nox_plugin_ctx *ctx, const ext_op *ops, size_t n,
                                   const nox_typeset *vars, unsigned n_vars) {
    for (size_t i = 0; i < n; i++) {
        nox_operator op;
        builtin_descriptor(&op, ops[i].name, ops[i].id, ops[i].n_inputs, ops[i].n_outputs, ops[i].eval,
                           ops[i].summary);
        for (unsigned k = 0; k < ops[i].n_inputs; k++) {
            op.inputs[k] = ops[i].inputs[k];
            op.input_names[k] = ops[i].input_names[k];
        }
        op.outputs[0] = ops[i].outputs[0];
        op.output_names[0] = ops[i].output_names[0];
        for (unsigned k = 0; k < n_vars && k < NOX_MAX_TYPEVARS; k++) op.typevars[k] = vars[k];
        op.flags = ops[i].flags;
        op.data = (const void *)ops[i].data;
        if (host->register_operator(ctx, &op) != 0) return -1;
    }
    return 0;
}

/** bool, uint8..uint256, int8..int256 and uint512..int2048 (with_bool) or the integers only. */
static inline nox_typeset ext_integers(int with_bool) {
    nox_typeset s = {{0}};
    nox_typeset_add_range(&s, NOX_TYPE_UINT8, NOX_TYPE_INT256);
    nox_typeset_add_range(&s, NOX_TYPE_UINT512, NOX_TYPE_INT2048);
    if (with_bool) nox_typeset_add(&s, NOX_TYPE_BOOL);
    return s;
}

#endif
