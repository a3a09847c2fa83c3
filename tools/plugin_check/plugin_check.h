/*
 * nox-plugin-check's parts: main.c (descriptors, evaluation, reports,
 * bindings) and ctime.c (--ctime: constant time under valgrind).
 */
#ifndef NOX_PLUGIN_CHECK_H
#define NOX_PLUGIN_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nox/engine.h"

/** One concrete type combination of an operator: its input, output and type-variable types. */
typedef struct combo {
    uint8_t in[NOX_MAX_ARITY], out[NOX_MAX_ARITY];
    uint8_t bound[NOX_MAX_TYPEVARS];
} combo;

/** Every assignment of concrete types to d's type variables (evenly sampled beyond a bound); free() it. */
combo *pc_enumerate(const nox_operator *d, size_t *n_out, size_t *n_all);

/** "uint8", or "T=uint8 U=int16" for several variables, or "(fixed types)". */
void pc_combo_label(const nox_operator *d, const combo *c, char *buf, size_t cap);

/** What the --ctime pass needs: the checker's own path, the plugin, its options. */
typedef struct ctime_request {
    const char *valgrind; /* its path (ctime_find_valgrind, once at start) */
    const char *path;
    const char *const *opt_keys, *const *opt_values;
    size_t n_opts;
    unsigned timeout; /* seconds per type combination */
} ctime_request;

/** The option that runs the pass inside valgrind (internal: nox-plugin-check starts it itself). */
#define CTIME_CHILD_OPTION "--ctime-child"

/**
 * Runs the constant-time pass: this executable again under valgrind memcheck,
 * which evaluates every operator flagged NOX_OP_CONSTANT_TIME on every type
 * combination with its inputs marked undefined. On success *result is its
 * report ({"operators": [...], "leaks": N}); on failure (no valgrind, valgrind
 * failed, the pass crashed) -1 with the reason in why.
 */
int ctime_run(const ctime_request *r, json_t **result, char *why, size_t cap);

/** The pass itself, under valgrind (argv: CTIME_CHILD_OPTION PLUGIN LOG [KEY=VALUE]...); prints its JSON report. */
int ctime_child_main(int argc, char **argv);

/** Human-readable lines of a ctime_run report. */
void ctime_print(const json_t *result);

/** Whether valgrind can run here (path in out) or why not. */
int ctime_find_valgrind(char *out, size_t cap, char *why, size_t why_cap);

#endif
