/*
 * nox-eval — evaluate operations through the plugins of config/operators.yaml.
 *
 *   nox-eval [--config FILE] OP TYPE ARG... [--out TYPE[,TYPE...]]   one operation
 *   nox-eval [--config FILE] --batch            lines "OP TYPE ARG..." on stdin
 *   nox-eval [--config FILE] --list             every loaded operator
 *   nox-eval [--config FILE] --signatures       every operator's signatures as JSON
 *   nox-eval [--config FILE] --check-types      lines "ID IN,... -> OUT,..." on stdin:
 *                                               does nox_op_resolve accept these types?
 *
 * Outputs go on one line, separated by single spaces, in the protocol's field
 * order (success before result). Exit status: 0 ok, 1 an operation or the
 * configuration failed, 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/engine.h"
#include "nox/types.h"
#include "nox/value.h"
#include "signatures.h"

#define DEFAULT_CONFIG "config/operators.yaml"
#define MAX_LINE 65536

static void usage(FILE *f) {
    fprintf(f,
            "usage: nox-eval [--config FILE] OP TYPE ARG... [--out TYPE[,TYPE...]]\n"
            "       nox-eval [--config FILE] --batch    (reads 'OP TYPE ARG...' lines from stdin)\n"
            "       nox-eval [--config FILE] --list\n"
            "       nox-eval [--config FILE] --signatures\n"
            "       nox-eval [--config FILE] --check-types   (reads 'ID IN,IN,... -> OUT,OUT,...' lines from stdin)\n"
            "\n"
            "Evaluates one operation through the operator plugins declared in FILE\n"
            "(default: $NOX_OPERATORS_CONFIG, else " DEFAULT_CONFIG ").\n"
            "TYPE is the operand type (uint8..uint256, int8..int256, uint512.., bool, address);\n"
            "for select it is the branch type and the arguments are COND IFTRUE IFFALSE.\n"
            "ARG is decimal (with - for signed types) or 0x hex (the raw bit pattern of the type).\n"
            "--out declares the output types, as result handles do (needed by cast: cast int8 -1 --out uint16);\n"
            "a --batch line may end with it too.\n"
            "Outputs print on one line: integers in decimal, bools as true/false.\n"
            "--signatures prints every operator's implementations as JSON (slots: a type code, or\n"
            "256 + k for type variable k; typeSets: each variable's set as a 256-bit hex number),\n"
            "what contracts/register_operators.py registers in NoxCompute.\n"
            "--check-types answers each line with 'ok OUT,OUT,...' (the resolved output type codes),\n"
            "'refused: REASON' or 'error: REASON'; types are codes 0..255 or names, an output may be\n"
            "'?' (infer), '-' is an empty list.\n");
}

/* Evaluates argv-style words "OP TYPE ARG..." and prints the result line. */
static nox_status eval_words(const nox_engine *engine, int argc, char **argv, FILE *out, nox_error *err) {
    /* "... --out T1,T2": the declared output types (the rest are inferred) */
    uint8_t declared[NOX_MAX_ARITY];
    unsigned n_declared = 0;
    if (argc >= 2 && !strcmp(argv[argc - 2], "--out")) {
        char list[256];
        snprintf(list, sizeof list, "%s", argv[argc - 1]);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (n_declared == NOX_MAX_ARITY) return nox_error_set(err, NOX_ERR_INVALID, "--out: too many types");
            nox_status st = nox_type_from_name(t, &declared[n_declared], err);
            if (st) return nox_error_prefix(err, "--out: ");
            n_declared++;
        }
        argc -= 2;
    }
    if (argc < 2) return nox_error_set(err, NOX_ERR_INVALID, "expected OP TYPE ARG...");
    const nox_op *op;
    nox_status st = nox_engine_lookup(engine, argv[0], &op, err);
    if (st) return st;
    uint8_t type;
    st = nox_type_from_name(argv[1], &type, err);
    if (st) return st;
    unsigned n_in = nox_op_n_inputs(op), n_out = nox_op_n_outputs(op);
    if ((unsigned)(argc - 2) != n_in)
        return nox_error_set(err, NOX_ERR_INVALID, "%s takes %u argument%s, got %d", argv[0], n_in,
                             n_in == 1 ? "" : "s", argc - 2);

    /* If no implementation takes TYPE, parse every argument as TYPE and let
       evaluation report the precise type error. */
    uint8_t types[NOX_MAX_ARITY];
    if (nox_op_instantiate(op, type, types, NULL))
        for (unsigned i = 0; i < n_in; i++) types[i] = type;
    nox_value in[NOX_MAX_ARITY], res[NOX_MAX_ARITY];
    for (unsigned i = 0; i < n_in; i++) {
        st = nox_value_parse(&in[i], types[i], argv[2 + i], err);
        if (st) return nox_error_prefix(err, "argument %u (%s): ", i + 1, nox_type_name(types[i]));
    }
    if (n_declared > n_out)
        return nox_error_set(err, NOX_ERR_INVALID, "--out: %s has %u output%s", argv[0], n_out, n_out == 1 ? "" : "s");
    for (unsigned i = 0; i < n_out; i++) nox_value_zero(&res[i], i < n_declared ? declared[i] : NOX_TYPE_INFER);
    st = nox_op_eval(op, in, n_in, res, n_out, err);
    if (st) return st;

    char text[NOX_VALUE_TEXT_MAX];
    for (unsigned i = 0; i < n_out; i++) {
        st = nox_value_format(&res[i], text, sizeof text, err);
        if (st) return st;
        fprintf(out, "%s%s", i ? " " : "", text);
    }
    fputc('\n', out);
    return NOX_OK;
}

static int run_batch(const nox_engine *engine) {
    char *line = malloc(MAX_LINE + 2);
    if (!line) return 1;
    int failed = 0;
    unsigned long lineno = 0;
    while (fgets(line, MAX_LINE + 2, stdin)) {
        lineno++;
        size_t len = strlen(line);
        nox_error err = {0};
        if (len > MAX_LINE && line[len - 1] != '\n') {
            int c;
            while ((c = getchar()) != EOF && c != '\n') {}
            printf("error: line %lu: longer than %d bytes\n", lineno, MAX_LINE);
            failed = 1;
            continue;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        char *words[NOX_MAX_ARITY + 4];
        int n = 0, too_many = 0;
        for (char *tok = strtok(line, " \t"); tok; tok = strtok(NULL, " \t")) {
            if (n == (int)(sizeof words / sizeof words[0])) {
                too_many = 1;
                break;
            }
            words[n++] = tok;
        }
        int st = too_many ? nox_error_set(&err, NOX_ERR_INVALID, "too many arguments")
                          : eval_words(engine, n, words, stdout, &err);
        if (st) {
            printf("error: %s\n", err.message);
            failed = 1;
        }
        fflush(stdout);
    }
    free(line);
    return failed;
}

static void list_ops(const nox_engine *engine) {
    for (size_t i = 0; i < nox_engine_op_count(engine); i++) {
        const nox_op *op = nox_engine_op_at(engine, i);
        for (size_t j = 0; j < nox_op_impl_count(op); j++) {
            const nox_impl *impl = nox_op_impl_at(op, j);
            const nox_plugin *p = nox_impl_plugin(impl);
            char sig[2048];
            printf("%-10s id=%-3u %u->%u  %s  [%s %s]\n", nox_op_name(op), nox_op_id(op), nox_op_n_inputs(op),
                   nox_op_n_outputs(op), nox_impl_signature(impl, sig, sizeof sig), nox_plugin_name(p),
                   nox_plugin_version(p));
        }
    }
}

int main(int argc, char **argv) {
    const char *config = getenv("NOX_OPERATORS_CONFIG");
    if (!config || !*config) config = DEFAULT_CONFIG;
    int batch = 0, list = 0, signatures = 0, check_types = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--config")) {
            if (++i == argc) {
                fprintf(stderr, "nox-eval: --config needs a file\n");
                return 2;
            }
            config = argv[i];
        } else if (!strcmp(argv[i], "--batch")) {
            batch = 1;
        } else if (!strcmp(argv[i], "--list")) {
            list = 1;
        } else if (!strcmp(argv[i], "--signatures")) {
            signatures = 1;
        } else if (!strcmp(argv[i], "--check-types")) {
            check_types = 1;
        } else if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else {
            fprintf(stderr, "nox-eval: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    int modes = batch + list + signatures + check_types;
    if (modes > 1 || (modes && i < argc) || (!modes && i == argc)) {
        usage(stderr);
        return 2;
    }

    nox_error err = {0};
    nox_engine *engine = nox_engine_new();
    if (!engine || nox_engine_load_config(engine, config, &err)) {
        fprintf(stderr, "nox-eval: %s\n", engine ? err.message : "out of memory");
        nox_engine_free(engine);
        return 1;
    }
    int rc;
    if (list) {
        list_ops(engine);
        rc = 0;
    } else if (signatures) {
        rc = eval_print_signatures(engine, stdout);
    } else if (check_types) {
        rc = eval_check_types(engine, stdin, stdout);
    } else if (batch) {
        rc = run_batch(engine);
    } else {
        rc = eval_words(engine, argc - i, argv + i, stdout, &err) ? 1 : 0;
        if (rc) fprintf(stderr, "nox-eval: %s\n", err.message);
    }
    nox_engine_free(engine);
    return rc;
}
