/*
 * Helpers shared by the built-in operator families (not part of the SDK):
 * the common type sets and a one-call registration of an operator whose
 * slots use a single type variable T.
 */
#ifndef NOX_OPERATORS_BUILTIN_H
#define NOX_OPERATORS_BUILTIN_H

#include <string.h>

#include "nox/fixint.h"
#include "nox/plugin.h"

/** The type variable used by every built-in signature. */
#define T NOX_SLOT_VAR(0)
/** Shorthand for the bool slot. */
#define B NOX_TYPE_BOOL

/** uint8..uint256. */
static inline nox_typeset builtin_uints(void) {
    nox_typeset s = {{0}};
    nox_typeset_add_range(&s, NOX_TYPE_UINT8, NOX_TYPE_UINT256);
    return s;
}

/** uint8..uint256 and int8..int256. */
static inline nox_typeset builtin_ints(void) {
    nox_typeset s = {{0}};
    nox_typeset_add_range(&s, NOX_TYPE_UINT8, NOX_TYPE_INT256);
    return s;
}

/** uint512..uint2048 and int512..int2048. */
static inline nox_typeset builtin_wide(void) {
    nox_typeset s = {{0}};
    nox_typeset_add_range(&s, NOX_TYPE_UINT512, NOX_TYPE_INT2048);
    return s;
}

/** A description of one built-in operator. */
typedef struct builtin_op {
    const char *name;
    uint16_t id;
    uint8_t n_inputs, n_outputs;
    uint16_t inputs[4], outputs[4];
    nox_eval_fn eval;
    const char *summary;
} builtin_op;

/*
 * The protocol's operator signatures (spec §5), one definition each, shared
 * by the fixed-width families and the wide family: OP_ADD(eval_add) expands
 * to the builtin_op row for `add` with that eval function.
 */
#define OP_ADD(F) {"add", 1, 2, 1, {T, T}, {T}, F, "a + b, wrapping modulo 2^N"}
#define OP_SUB(F) {"sub", 2, 2, 1, {T, T}, {T}, F, "a - b, wrapping modulo 2^N"}
#define OP_MUL(F) {"mul", 3, 2, 1, {T, T}, {T}, F, "a * b, wrapping modulo 2^N"}
#define OP_DIV(F) {"div", 4, 2, 1, {T, T}, {T}, F, "a / b toward zero; b = 0 gives MAX, MIN / -1 gives MIN"}
#define OP_SAFE_ADD(F) {"safe_add", 5, 2, 2, {T, T}, {B, T}, F, "(true, a + b), or (false, 0) when out of range"}
#define OP_SAFE_SUB(F) {"safe_sub", 6, 2, 2, {T, T}, {B, T}, F, "(true, a - b), or (false, 0) when out of range"}
#define OP_SAFE_MUL(F) {"safe_mul", 7, 2, 2, {T, T}, {B, T}, F, "(true, a * b), or (false, 0) when out of range"}
#define OP_SAFE_DIV(F) {"safe_div", 8, 2, 2, {T, T}, {B, T}, F, "(true, a / b), or (false, 0) for b = 0 or MIN / -1"}
#define OP_SELECT(F) {"select", 9, 3, 1, {B, T, T}, {T}, F, "condition ? ifTrue : ifFalse"}
#define OP_EQ(F) {"eq", 10, 2, 1, {T, T}, {B}, F, "a == b"}
#define OP_NE(F) {"ne", 11, 2, 1, {T, T}, {B}, F, "a != b"}
#define OP_LT(F) {"lt", 12, 2, 1, {T, T}, {B}, F, "a < b"}
#define OP_LE(F) {"le", 13, 2, 1, {T, T}, {B}, F, "a <= b"}
#define OP_GT(F) {"gt", 14, 2, 1, {T, T}, {B}, F, "a > b"}
#define OP_GE(F) {"ge", 15, 2, 1, {T, T}, {B}, F, "a >= b"}
#define OP_TRANSFER(F) {"transfer", 16, 3, 3, {T, T, T}, {B, T, T}, F, "move amount between two balances, all or nothing"}
#define OP_MINT(F) {"mint", 17, 3, 3, {T, T, T}, {B, T, T}, F, "add amount to a balance and the supply, all or nothing"}
#define OP_BURN(F) {"burn", 18, 3, 3, {T, T, T}, {B, T, T}, F, "remove amount from a balance and the supply, all or nothing"}

/*
 * Starts a descriptor for registration: zeroed (every slot, name, type
 * variable, flag and `data` not set afterwards stays 0 / NULL), sized, and
 * with the fields every operator table row gives. Shared with extension.h.
 */
static inline void builtin_descriptor(nox_operator *op, const char *name, uint16_t id, uint8_t n_inputs,
                                      uint8_t n_outputs, nox_eval_fn eval, const char *summary) {
    memset(op, 0, sizeof *op);
    op->struct_size = sizeof *op;
    op->name = name;
    op->id = id;
    op->n_inputs = n_inputs;
    op->n_outputs = n_outputs;
    op->eval = eval;
    op->summary = summary;
}

/** Registers every op of `ops` with type variable T ranging over `set`; 0 or -1. */
static inline int builtin_register_all(const nox_host *host, nox_plugin_ctx *ctx, const builtin_op *ops, size_t n,
                                       nox_typeset set, uint32_t flags) {
    for (size_t i = 0; i < n; i++) {
        nox_operator op;
        builtin_descriptor(&op, ops[i].name, ops[i].id, ops[i].n_inputs, ops[i].n_outputs, ops[i].eval,
                           ops[i].summary);
        memcpy(op.inputs, ops[i].inputs, sizeof ops[i].inputs);
        memcpy(op.outputs, ops[i].outputs, sizeof ops[i].outputs);
        op.typevars[0] = set;
        op.flags = flags;
        if (host->register_operator(ctx, &op) != 0) return -1;
    }
    return 0;
}

/** Width and signedness of a value's type. */
#define BITS(v) nox_type_bits((v).type)
#define SIGNED(v) nox_type_is_signed((v).type)

#endif
