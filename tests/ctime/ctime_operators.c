/*
 * Constant-time check of the operators, after libsecp256k1's ctime_tests:
 * run under valgrind memcheck with every plaintext input limb marked
 * undefined; memcheck then reports any branch or memory index that depends on
 * a secret ("conditional jump or move depends on uninitialised value").
 *
 * For each operator implementation flagged NOX_OP_CONSTANT_TIME, each type it
 * accepts is evaluated by calling the plugin's eval directly (the engine's own
 * input validation is not under test here). An operator whose output type is
 * a type variable bound only by the declared result type (cast) is checked on
 * every (input type, declared output type) pair it accepts. Outside valgrind
 * the marks are no-ops and the program only checks that it runs.
 *
 *   valgrind --error-exitcode=42 ctime_operators PLUGIN.so...
 * exits 42 when any flagged operator leaks through control flow.
 */
#include <stdio.h>
#include <string.h>
#include <valgrind/memcheck.h>

#include "nox/engine.h"
#include "nox/types.h"
#include "nox/value.h"

static unsigned evaluated;

static void fill(nox_value *v, uint8_t type, uint64_t seed) {
    nox_value_zero(v, type);
    unsigned bits = nox_type_bits(type), n = nox_type_limbs(type);
    for (unsigned i = 0; i < n; i++) v->limb[i] = seed * 0x9e3779b97f4a7c15ull + i * 0x632be59bd9b4e019ull;
    if (bits % 64) v->limb[n - 1] &= ((uint64_t)1 << (bits % 64)) - 1;
}

/* Evaluates one resolved call three times with secret inputs; 0, or -1 when eval fails. */
static int run_call(const nox_operator *d, const nox_call *call, const uint8_t *types) {
    nox_value in[NOX_MAX_ARITY], out[NOX_MAX_ARITY];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        for (unsigned i = 0; i < d->n_inputs; i++) {
            fill(&in[i], types[i], seed + i);
            /* the secret: every meaningful limb (the type code stays public) */
            VALGRIND_MAKE_MEM_UNDEFINED(in[i].limb, nox_type_limbs(types[i]) * sizeof in[i].limb[0]);
        }
        for (unsigned i = 0; i < d->n_outputs; i++) nox_value_zero(&out[i], call->out_types[i]);
        int rc = d->eval(in, out, d->data);
        VALGRIND_MAKE_MEM_DEFINED(&rc, sizeof rc);
        for (unsigned i = 0; i < d->n_outputs; i++) VALGRIND_MAKE_MEM_DEFINED(out[i].limb, sizeof out[i].limb);
        if (rc != 0) {
            fprintf(stderr, "%s %s: eval returned %d\n", d->name, nox_type_name(types[0]), rc);
            return -1;
        }
        evaluated++;
    }
    return 0;
}

/*
 * The type variable that appears only among the outputs (bound by the
 * declared result type, as cast's U), or -1 when every output type follows
 * from the inputs.
 */
static int output_only_var(const nox_operator *d) {
    for (unsigned o = 0; o < d->n_outputs; o++) {
        if (!NOX_SLOT_IS_VAR(d->outputs[o])) continue;
        int bound = 0;
        for (unsigned i = 0; i < d->n_inputs; i++) bound |= d->inputs[i] == d->outputs[o];
        if (!bound) return (int)NOX_SLOT_VAR_INDEX(d->outputs[o]);
    }
    return -1;
}

/* Every input type (and, for an output-only type variable, every declared output type) the impl accepts. */
static int check_impl(const nox_op *op, const nox_impl *impl) {
    const nox_operator *d = nox_impl_descriptor(impl);
    int checked = 0, var = output_only_var(d);
    for (unsigned code = 0; code <= NOX_TYPE_LAST; code++) {
        uint8_t types[NOX_MAX_ARITY];
        nox_call call;
        if (nox_op_instantiate(op, (uint8_t)code, types, NULL)) continue;
        /* declared output types: all inferred, or each member of the output-only variable's set */
        for (unsigned out_code = 0; out_code <= (var < 0 ? 0u : NOX_TYPE_LAST); out_code++) {
            uint8_t declared[NOX_MAX_ARITY];
            for (unsigned o = 0; o < d->n_outputs; o++)
                declared[o] = var >= 0 && d->outputs[o] == NOX_SLOT_VAR((unsigned)var) ? (uint8_t)out_code
                                                                                         : NOX_TYPE_INFER;
            if (var >= 0 && !nox_typeset_has(&d->typevars[var], out_code)) continue;
            if (nox_op_resolve(op, types, d->n_inputs, declared, d->n_outputs, &call, NULL) || call.impl != impl)
                continue;
            if (run_call(d, &call, types)) return -1;
            checked++;
        }
    }
    return checked;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: valgrind --error-exitcode=42 ctime_operators PLUGIN.so...\n");
        return 2;
    }
    nox_engine *e = nox_engine_new();
    nox_error err = {0};
    for (int i = 1; i < argc; i++) {
        if (nox_engine_load_plugin(e, argv[i], &err)) {
            fprintf(stderr, "ctime_operators: %s\n", err.message);
            return 2;
        }
    }
    unsigned flagged = 0, skipped = 0;
    for (size_t i = 0; i < nox_engine_op_count(e); i++) {
        const nox_op *op = nox_engine_op_at(e, i);
        for (size_t j = 0; j < nox_op_impl_count(op); j++) {
            const nox_impl *impl = nox_op_impl_at(op, j);
            const nox_operator *d = nox_impl_descriptor(impl);
            if (!(d->flags & NOX_OP_CONSTANT_TIME)) {
                printf("not flagged constant-time: %s [%s]\n", d->name, nox_plugin_name(nox_impl_plugin(impl)));
                skipped++;
                continue;
            }
            int types = check_impl(op, impl);
            if (types < 0) return 1;
            printf("checked: %s [%s] on %d type%s\n", d->name, nox_plugin_name(nox_impl_plugin(impl)), types,
                   output_only_var(d) >= 0 ? " pairs (input, declared output)" : "s");
            flagged++;
        }
    }
    printf("%u implementations flagged constant-time checked (%u evaluations), %u not flagged\n", flagged,
           evaluated, skipped);
    nox_engine_free(e);
    return flagged ? 0 : 1;
}
