/*
 * nox-bench eval: for every (operator, type) pair of the loaded plugins, the
 * time of one evaluation through the engine — nox_op_eval, i.e. the type
 * check (signature resolution) plus the plugin call — on random operands.
 *
 * Method: 64 random operand sets per pair (varied, so a predictor cannot learn
 * one value; cache-resident, as freshly decrypted operands are in the Runner),
 * evaluated in a loop; rounds repeat until --seconds have passed; the
 * reported ns/op is the median over rounds. One thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "nox/engine.h"
#include "nox/types.h"
#include "nox/value.h"

enum { SETS = 64, MAX_ROUNDS = 16384 };

typedef struct {
    const char *op;
    uint8_t type;
    double ns;
} target;

/* The targets of the [engine] issue, on one core of the reference machine. */
static const target targets[] = {
    {"add", NOX_TYPE_UINT256, 20},      {"sub", NOX_TYPE_UINT256, 20},      {"eq", NOX_TYPE_UINT256, 20},
    {"ne", NOX_TYPE_UINT256, 20},       {"lt", NOX_TYPE_UINT256, 20},       {"le", NOX_TYPE_UINT256, 20},
    {"gt", NOX_TYPE_UINT256, 20},       {"ge", NOX_TYPE_UINT256, 20},       {"select", NOX_TYPE_UINT256, 20},
    {"mul", NOX_TYPE_UINT256, 60},      {"div", NOX_TYPE_UINT256, 300},     {"transfer", NOX_TYPE_UINT256, 60},
    {"mul", NOX_TYPE_UINT2048, 2000},
};

static double target_for(const char *op, uint8_t type) {
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (targets[i].type == type && !strcmp(targets[i].op, op)) return targets[i].ns;
    return 0;
}

static uint64_t rng_state = 0x5eed5eed5eed5eedull;
static uint64_t rng(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void random_value(nox_value *v, uint8_t type) {
    nox_value_zero(v, type);
    unsigned bits = nox_type_bits(type), n = nox_type_limbs(type);
    for (unsigned i = 0; i < n; i++) v->limb[i] = rng();
    if (bits % 64) v->limb[n - 1] &= ((uint64_t)1 << (bits % 64)) - 1;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns/op of nox_op_eval over rounds of SETS calls; -1 on an evaluation error. */
static double measure(const nox_op *op, const uint8_t *types, double seconds, unsigned long long *calls,
                      nox_error *err) {
    unsigned n_in = nox_op_n_inputs(op), n_out = nox_op_n_outputs(op);
    static nox_value in[SETS][NOX_MAX_ARITY];
    nox_value out[NOX_MAX_ARITY];
    for (int k = 0; k < SETS; k++)
        for (unsigned i = 0; i < n_in; i++) random_value(&in[k][i], types[i]);
    for (unsigned i = 0; i < n_out; i++) nox_value_zero(&out[i], NOX_TYPE_INFER);
    if (nox_op_eval(op, in[0], n_in, out, n_out, err)) return -1; /* also warms up */

    static double rounds[MAX_ROUNDS];
    int nr = 0;
    double start = now_ns(), deadline = start + seconds * 1e9;
    unsigned long long total = 0;
    do {
        double t0 = now_ns();
        for (int k = 0; k < SETS; k++)
            if (nox_op_eval(op, in[k], n_in, out, n_out, err)) return -1;
        double t1 = now_ns();
        rounds[nr++] = (t1 - t0) / SETS;
        total += SETS;
    } while (nr < MAX_ROUNDS && (now_ns() < deadline || nr < 5));
    qsort(rounds, (size_t)nr, sizeof rounds[0], cmp_double);
    *calls = total;
    return rounds[nr / 2];
}

static void usage(void) {
    fprintf(stderr, "usage: nox-bench eval [--config FILE] [--op NAME] [--type T] [--seconds S] [--csv FILE]\n"
                    "  --seconds S   measuring time per (operator, type) pair (default 0.05)\n");
}

int bench_eval_main(int argc, char **argv) {
    const char *config = getenv("NOX_OPERATORS_CONFIG");
    if (!config || !*config) config = "config/operators.yaml";
    const char *only_op = NULL, *csv_path = NULL;
    int only_type = -1;
    double seconds = 0.05;
    nox_error err = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        if (!strcmp(a, "--config")) config = argv[++i];
        else if (!strcmp(a, "--op")) only_op = argv[++i];
        else if (!strcmp(a, "--csv")) csv_path = argv[++i];
        else if (!strcmp(a, "--seconds")) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds > 0 && seconds <= 60)) {
                fprintf(stderr, "nox-bench: --seconds must be in (0, 60]\n");
                return 2;
            }
        } else if (!strcmp(a, "--type")) {
            uint8_t t;
            if (nox_type_from_name(argv[++i], &t, &err)) {
                fprintf(stderr, "nox-bench: %s\n", err.message);
                return 2;
            }
            only_type = t;
        } else {
            usage();
            return 2;
        }
    }

    nox_engine *engine = nox_engine_new();
    if (!engine || nox_engine_load_config(engine, config, &err)) {
        fprintf(stderr, "nox-bench: %s\n", engine ? err.message : "out of memory");
        nox_engine_free(engine);
        return 1;
    }
    if (only_op && !nox_engine_find(engine, only_op)) {
        nox_engine_lookup(engine, only_op, &(const nox_op *){0}, &err);
        fprintf(stderr, "nox-bench: %s\n", err.message);
        nox_engine_free(engine);
        return 1;
    }
    FILE *csv = NULL;
    if (csv_path && !(csv = fopen(csv_path, "w"))) {
        perror(csv_path);
        nox_engine_free(engine);
        return 1;
    }
    if (csv) fprintf(csv, "op,type,plugin,ns_per_op,mops_per_s,calls,target_ns,meets_target\n");

    printf("# nox-bench eval: nox_op_eval (type check + plugin call), 1 thread, median of rounds of %d random "
           "operand sets, %.3g s per pair, seed 0x5eed5eed5eed5eed\n",
           SETS, seconds);
    printf("%-10s %-9s %-11s %10s %10s %8s\n", "op", "type", "plugin", "ns/op", "Mops/s", "target");
    int rc = 0, pairs = 0, missed = 0;
    for (size_t i = 0; i < nox_engine_op_count(engine); i++) {
        const nox_op *op = nox_engine_op_at(engine, i);
        if (only_op && strcmp(only_op, nox_op_name(op))) continue;
        for (unsigned code = 0; code <= NOX_TYPE_LAST; code++) {
            if (only_type >= 0 && (int)code != only_type) continue;
            uint8_t types[NOX_MAX_ARITY];
            if (nox_op_instantiate(op, (uint8_t)code, types, NULL)) continue;
            nox_call call;
            if (nox_op_resolve(op, types, nox_op_n_inputs(op), NULL, nox_op_n_outputs(op), &call, NULL)) continue;
            const char *plugin = nox_plugin_name(nox_impl_plugin(call.impl));
            unsigned long long calls = 0;
            double ns = measure(op, types, seconds, &calls, &err);
            if (ns < 0) {
                fprintf(stderr, "nox-bench: %s %s: %s\n", nox_op_name(op), nox_type_name(code), err.message);
                rc = 1;
                continue;
            }
            double tgt = target_for(nox_op_name(op), (uint8_t)code);
            const char *verdict = tgt == 0 ? "" : ns <= tgt ? "ok" : "MISSED";
            char tbuf[32] = "-";
            if (tgt > 0) snprintf(tbuf, sizeof tbuf, "%.0f %s", tgt, verdict);
            missed += tgt > 0 && ns > tgt;
            pairs++;
            printf("%-10s %-9s %-11s %10.1f %10.2f %8s\n", nox_op_name(op), nox_type_name(code), plugin, ns,
                   1e3 / ns, tbuf);
            if (csv)
                fprintf(csv, "%s,%s,%s,%.2f,%.3f,%llu,%.0f,%s\n", nox_op_name(op), nox_type_name(code), plugin, ns,
                        1e3 / ns, calls, tgt, tgt > 0 ? (ns <= tgt ? "yes" : "no") : "");
            fflush(stdout);
        }
    }
    printf("# %d pairs measured; %d missed their target\n", pairs, missed);
    if (csv) fclose(csv);
    nox_engine_free(engine);
    return rc;
}
