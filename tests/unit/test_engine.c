/*
 * The engine: plugin loading and the ABI check, descriptor validation,
 * registry and dispatch, type resolution, misbehaving plugins, and
 * config/operators.yaml with its file:line:col errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nox/engine.h"
#include "nox/operations.h"
#include "nox/types.h"
#include "nox/value.h"
#include "test_util.h"

#ifndef NOX_TEST_PLUGIN_DIR
#error "NOX_TEST_PLUGIN_DIR must be defined by the build"
#endif

static char tmpdir[] = "/tmp/nox-test-engine-XXXXXX";

/* ---- helpers ------------------------------------------------------------- */

static nox_status open_test_plugin(const char *variant, nox_plugin **p, nox_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.so", NOX_TEST_PLUGIN_DIR, variant);
    return nox_plugin_open(path, NULL, NULL, 0, p, err);
}

static nox_status load_builtin(nox_engine *e, const char *family, nox_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.so", NOX_PLUGIN_DIR, family);
    return nox_engine_load_plugin(e, path, err);
}

/* Writes text to tmpdir/name, replacing @P@ by the plugin dir and @T@ by the test plugin dir. */
static void write_file(const char *name, const char *text, char *path_out, size_t cap) {
    snprintf(path_out, cap, "%s/%s", tmpdir, name);
    FILE *f = fopen(path_out, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (const char *s = text; *s; s++) {
        if (!strncmp(s, "@P@", 3)) fputs(NOX_PLUGIN_DIR, f), s += 2;
        else if (!strncmp(s, "@T@", 3)) fputs(NOX_TEST_PLUGIN_DIR, f), s += 2;
        else fputc(*s, f);
    }
    fclose(f);
}

/* Loads YAML text as operators.yaml into a fresh engine; returns the status, engine in *out (or freed). */
static nox_status load_yaml(const char *text, nox_engine **out, nox_error *err, char *path, size_t cap) {
    write_file("operators.yaml", text, path, cap);
    nox_engine *e = nox_engine_new();
    nox_status st = nox_engine_load_config(e, path, err);
    if (out) *out = e;
    else nox_engine_free(e);
    return st;
}

/* Asserts that loading `text` fails with `code` and a message starting "FILE:line:col: " and containing `needle`. */
static void expect_yaml_error(const char *text, nox_status code, unsigned line, unsigned col, const char *needle) {
    char path[1024], prefix[1100];
    nox_error err = {0};
    nox_engine *e;
    nox_status st = load_yaml(text, &e, &err, path, sizeof path);
    CU_ASSERT_EQUAL(st, code);
    snprintf(prefix, sizeof prefix, "%s:%u:%u: ", path, line, col);
    if (strncmp(err.message, prefix, strlen(prefix)))
        fprintf(stderr, "\n  expected prefix \"%s\" in: %s\n", prefix, err.message);
    CU_ASSERT_EQUAL(strncmp(err.message, prefix, strlen(prefix)), 0);
    ASSERT_CONTAINS(err.message, needle);
    CU_ASSERT_EQUAL(nox_engine_op_count(e), 0); /* a failed load leaves the engine empty */
    nox_engine_free(e);
}

static nox_value uval(uint8_t type, uint64_t x) {
    nox_value v;
    nox_value_zero(&v, type);
    v.limb[0] = x;
    return v;
}

/* ---- registry ------------------------------------------------------------ */

static void test_builtin_registry(void) {
    nox_engine *e = nox_test_engine();
    CU_ASSERT_EQUAL(nox_engine_op_count(e), 18); /* protocol ops 1..18; 0 is not a plugin op */
    for (size_t i = 0; i < nox_engine_op_count(e); i++) {
        const nox_op *op = nox_engine_op_at(e, i);
        const nox_operation *proto = nox_operation_by_name(nox_op_name(op));
        CU_ASSERT_PTR_NOT_NULL_FATAL(proto);
        CU_ASSERT_EQUAL(nox_op_id(op), proto->id);
        CU_ASSERT_EQUAL(nox_op_id(op), i + 1); /* sorted by id */
        CU_ASSERT_EQUAL(nox_op_n_inputs(op), proto->n_inputs);
        CU_ASSERT_EQUAL(nox_op_n_outputs(op), proto->n_outputs);
        CU_ASSERT_PTR_EQUAL(nox_engine_find_id(e, proto->id), op);
        /* field names come from the protocol table */
        const nox_operator *d = nox_impl_descriptor(nox_op_impl_at(op, 0));
        for (unsigned k = 0; k < proto->n_inputs; k++) CU_ASSERT_STRING_EQUAL(d->input_names[k], proto->inputs[k]);
        for (unsigned k = 0; k < proto->n_outputs; k++) CU_ASSERT_STRING_EQUAL(d->output_names[k], proto->outputs[k]);
    }
    /* arithmetic + wide: two implementations over disjoint types */
    const nox_op *add = nox_engine_find(e, "add");
    CU_ASSERT_EQUAL(nox_op_impl_count(add), 2);
    CU_ASSERT_EQUAL(nox_op_impl_count(nox_engine_find(e, "transfer")), 1);
    CU_ASSERT_PTR_NULL(nox_engine_find(e, "plaintext_to_encrypted"));
    nox_engine_free(e);
}

static void test_dispatch_by_type(void) {
    nox_engine *e = nox_test_engine();
    const nox_op *add = nox_engine_find(e, "add");
    nox_call call;
    uint8_t t256[2] = {NOX_TYPE_UINT256, NOX_TYPE_UINT256}, t512[2] = {NOX_TYPE_INT512, NOX_TYPE_INT512};
    CU_ASSERT_EQUAL(nox_op_resolve(add, t256, 2, NULL, 1, &call, NULL), NOX_OK);
    CU_ASSERT_STRING_EQUAL(nox_plugin_name(nox_impl_plugin(call.impl)), "arithmetic");
    CU_ASSERT_EQUAL(call.out_types[0], NOX_TYPE_UINT256);
    CU_ASSERT_EQUAL(nox_op_resolve(add, t512, 2, NULL, 1, &call, NULL), NOX_OK);
    CU_ASSERT_STRING_EQUAL(nox_plugin_name(nox_impl_plugin(call.impl)), "wide");
    CU_ASSERT_EQUAL(call.out_types[0], NOX_TYPE_INT512);

    /* mixed widths across the two plugins: the error names both operands */
    nox_error err = {0};
    uint8_t mixed[2] = {NOX_TYPE_UINT256, NOX_TYPE_UINT512};
    CU_ASSERT_EQUAL(nox_op_resolve(add, mixed, 2, NULL, 1, &call, &err), NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, "operands must share one type");
    ASSERT_CONTAINS(err.message, "uint512");

    /* a type no implementation takes lists what every implementation accepts */
    uint8_t bools[2] = {NOX_TYPE_BOOL, NOX_TYPE_BOOL};
    CU_ASSERT_EQUAL(nox_op_resolve(add, bools, 2, NULL, 1, &call, &err), NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, "cannot be bool");
    ASSERT_CONTAINS(err.message, "uint8..uint256, int8..int256, uint512..uint2048, int512..int2048");

    /* declared outputs are checked: eq produces a bool, not a uint8 */
    const nox_op *eq = nox_engine_find(e, "eq");
    uint8_t decl = NOX_TYPE_UINT8, t8[2] = {NOX_TYPE_UINT8, NOX_TYPE_UINT8};
    CU_ASSERT_EQUAL(nox_op_resolve(eq, t8, 2, &decl, 1, &call, &err), NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, "produces bool");
    decl = NOX_TYPE_BOOL;
    CU_ASSERT_EQUAL(nox_op_resolve(eq, t8, 2, &decl, 1, &call, &err), NOX_OK);

    /* arity */
    CU_ASSERT_EQUAL(nox_op_resolve(add, t8, 1, NULL, 1, &call, &err), NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, "add takes 2 inputs (leftHandOperand, rightHandOperand), got 1");
    CU_ASSERT_EQUAL(nox_op_resolve(add, t8, 2, NULL, 2, &call, &err), NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, "produces 1 output");

    /* reserved and dynamic type codes are refused before any signature is consulted */
    uint8_t dyn[2] = {NOX_TYPE_STRING, NOX_TYPE_STRING};
    CU_ASSERT_EQUAL(nox_op_resolve(add, dyn, 2, NULL, 1, &call, &err), NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, "string");

    /* instantiate: select's condition stays bool */
    uint8_t types[NOX_MAX_ARITY];
    CU_ASSERT_EQUAL(nox_op_instantiate(nox_engine_find(e, "select"), NOX_TYPE_INT16, types, NULL), NOX_OK);
    CU_ASSERT_EQUAL(types[0], NOX_TYPE_BOOL);
    CU_ASSERT_EQUAL(types[1], NOX_TYPE_INT16);
    CU_ASSERT_EQUAL(types[2], NOX_TYPE_INT16);
    CU_ASSERT_EQUAL(nox_op_instantiate(nox_engine_find(e, "transfer"), NOX_TYPE_INT16, types, &err), NOX_ERR_TYPE);
    nox_engine_free(e);
}

static void test_signature_and_lookup(void) {
    nox_engine *e = nox_test_engine();
    char sig[1024];
    const nox_op *add = nox_engine_find(e, "add");
    nox_impl_signature(nox_op_impl_at(add, 0), sig, sizeof sig);
    CU_ASSERT_STRING_EQUAL(sig, "add(T leftHandOperand, T rightHandOperand) -> (T result) where T in {uint8..uint256, "
                                "int8..int256}");
    nox_impl_signature(nox_op_impl_at(nox_engine_find(e, "select"), 0), sig, sizeof sig);
    CU_ASSERT_STRING_EQUAL(sig, "select(bool condition, T ifTrue, T ifFalse) -> (T result) where T in {bool, address, "
                                "uint8..uint256, int8..int256, bytes1..bytes32}");
    const nox_op *op;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_engine_lookup(e, "fooo", &op, &err), NOX_ERR_NOT_FOUND);
    CU_ASSERT_PTR_NULL(op);
    ASSERT_CONTAINS(err.message, "unknown operator 'fooo'");
    ASSERT_CONTAINS(err.message, "safe_add");
    CU_ASSERT_EQUAL(nox_engine_lookup(e, "burn", &op, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_op_id(op), 18);
    nox_engine_free(e);
}

/* ---- concurrency ------------------------------------------------------------ */

/* Every (operator, type) pair on a few operand sets: the work each thread repeats. */
enum { MAX_CASES = 4096, THREADS = 4, ROUNDS = 20 };
typedef struct {
    const nox_op *op;
    nox_value in[3], out[3];
} eval_case;
static eval_case cases[MAX_CASES];
static size_t n_cases;

static void *evaluate_all(void *arg) {
    long mismatches = 0;
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t c = 0; c < n_cases; c++) {
            nox_value out[3];
            size_t n_out = nox_op_n_outputs(cases[c].op);
            for (size_t i = 0; i < n_out; i++) nox_value_zero(&out[i], NOX_TYPE_INFER);
            if (nox_op_eval(cases[c].op, cases[c].in, nox_op_n_inputs(cases[c].op), out, n_out, NULL) != NOX_OK)
                mismatches++;
            for (size_t i = 0; i < n_out; i++) mismatches += !nox_value_equal(&out[i], &cases[c].out[i]);
        }
    }
    return (void *)mismatches;
}

static void test_concurrent_evaluation(void) {
    /* The engine is immutable once loaded: threads evaluating at once must get
       exactly the single-threaded results (and, under ASan, touch no freed or
       shared scratch memory). */
    nox_engine *e = nox_test_engine();
    n_cases = 0;
    for (size_t i = 0; i < nox_engine_op_count(e); i++) {
        const nox_op *op = nox_engine_op_at(e, i);
        for (unsigned code = 0; code <= NOX_TYPE_LAST && n_cases + 3 <= MAX_CASES; code++) {
            uint8_t types[NOX_MAX_ARITY];
            if (nox_op_instantiate(op, (uint8_t)code, types, NULL)) continue;
            for (uint64_t k = 1; k <= 3; k++) {
                eval_case *c = &cases[n_cases];
                c->op = op;
                for (unsigned j = 0; j < nox_op_n_inputs(op); j++) {
                    nox_value_zero(&c->in[j], types[j]);
                    c->in[j].limb[0] = types[j] == NOX_TYPE_BOOL ? (k + j) & 1 : 37 * k + 11 * j;
                }
                for (unsigned j = 0; j < nox_op_n_outputs(op); j++) nox_value_zero(&c->out[j], NOX_TYPE_INFER);
                CU_ASSERT_EQUAL_FATAL(nox_op_eval(op, c->in, nox_op_n_inputs(op), c->out, nox_op_n_outputs(op), NULL),
                                      NOX_OK);
                n_cases++;
            }
        }
    }
    CU_ASSERT(n_cases > 1000);
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[t], NULL, evaluate_all, NULL), 0);
    for (int t = 0; t < THREADS; t++) {
        void *mismatches;
        pthread_join(threads[t], &mismatches);
        CU_ASSERT_EQUAL((long)mismatches, 0);
    }
    nox_engine_free(e);
}

/* ---- the ABI check and descriptor validation ------------------------------ */

static void expect_refused(const char *variant, nox_status code, const char *needle1, const char *needle2) {
    nox_plugin *p = (nox_plugin *)1;
    nox_error err = {0};
    CU_ASSERT_EQUAL(open_test_plugin(variant, &p, &err), code);
    CU_ASSERT_PTR_NULL(p);
    ASSERT_CONTAINS(err.message, needle1);
    if (needle2) ASSERT_CONTAINS(err.message, needle2);
}

static void test_abi_refusals(void) {
    char v1[64], v2[64];
    snprintf(v1, sizeof v1, "ABI version %u", NOX_PLUGIN_ABI_VERSION + 1);
    snprintf(v2, sizeof v2, "ABI version %u", NOX_PLUGIN_ABI_VERSION);
    /* both versions are named, and the plugin's init never ran (it would register fine) */
    expect_refused("abi_future", NOX_ERR_ABI, v1, v2);
    char sizes[64];
    snprintf(sizes, sizeof sizes, "nox_value %zu/%zu", sizeof(nox_value) / 2, sizeof(nox_value));
    expect_refused("abi_size", NOX_ERR_ABI, "struct sizes differ", sizes);
    expect_refused("bad_magic", NOX_ERR_ABI, "not a Nox plugin", NULL);
    expect_refused("no_symbol", NOX_ERR_ABI, "exports no symbol 'nox_plugin'", "NOX_PLUGIN_DEFINE");
}

static void test_load_failures(void) {
    nox_plugin *p;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_plugin_open("/nonexistent/dir/plugin.so", NULL, NULL, 0, &p, &err), NOX_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.message, "/nonexistent/dir/plugin.so");
    ASSERT_CONTAINS(err.message, "No such file");
    /* a file that is not a shared object */
    char path[1024];
    write_file("not-a-plugin.so", "hello\n", path, sizeof path);
    CU_ASSERT_EQUAL(nox_plugin_open(path, NULL, NULL, 0, &p, &err), NOX_ERR_PLUGIN);
    ASSERT_CONTAINS(err.message, "cannot load plugin");
    CU_ASSERT_EQUAL(nox_plugin_open(tmpdir, NULL, NULL, 0, &p, &err), NOX_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.message, "not a regular file");
}

static void test_descriptor_validation(void) {
    expect_refused("bad_name", NOX_ERR_PLUGIN, "name 'Twice' is invalid", NULL);
    expect_refused("reserved_id", NOX_ERR_PLUGIN, "id 20 is reserved", ">= 64");
    expect_refused("proto_wrong_id", NOX_ERR_PLUGIN, "add is a protocol operation", "id 1");
    expect_refused("init_fail", NOX_ERR_PLUGIN, "refused to load", "cannot find its lookup table");
    expect_refused("no_ops", NOX_ERR_PLUGIN, "registers no operators", NULL);
}

static void test_duplicate_operator(void) {
    nox_engine *e = nox_engine_new();
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(load_builtin(e, "arithmetic", &err), NOX_OK);
    nox_plugin *p;
    CU_ASSERT_EQUAL_FATAL(open_test_plugin("dup_add", &p, &err), NOX_OK);
    size_t bad = 0;
    CU_ASSERT_EQUAL(nox_engine_add_plugin(e, p, NULL, 0, &bad, &err), NOX_ERR_DUPLICATE);
    ASSERT_CONTAINS(err.message, "duplicate operator add");
    ASSERT_CONTAINS(err.message, "arithmetic");
    CU_ASSERT_EQUAL(bad, SIZE_MAX);
    /* nothing was added; the plugin is still ours */
    CU_ASSERT_EQUAL(nox_op_impl_count(nox_engine_find(e, "add")), 1);
    nox_plugin_close(p);
    /* the same family twice is a duplicate too */
    CU_ASSERT_EQUAL(load_builtin(e, "arithmetic", &err), NOX_ERR_DUPLICATE);
    nox_engine_free(e);
}

/* ---- a well-behaved extension plugin and misbehaving operators ------------- */

static void test_extension_plugin(void) {
    nox_engine *e = nox_engine_new();
    nox_error err = {0};
    nox_plugin *p;
    const char *keys[] = {"greeting"}, *values[] = {"hello"};
    char path[1024];
    snprintf(path, sizeof path, "%s/good.so", NOX_TEST_PLUGIN_DIR);
    CU_ASSERT_EQUAL_FATAL(nox_plugin_open(path, keys, values, 1, &p, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(nox_plugin_name(p), "testplugin");
    CU_ASSERT_STRING_EQUAL(nox_plugin_version(p), "1.2.3");
    CU_ASSERT_EQUAL(nox_plugin_impl_count(p), 4);
    /* enable a subset: a name it does not export is reported with its index */
    const char *bad_enable[] = {"twice", "thrice"};
    size_t bad = 0;
    CU_ASSERT_EQUAL(nox_engine_add_plugin(e, p, bad_enable, 2, &bad, &err), NOX_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(bad, 1);
    ASSERT_CONTAINS(err.message, "operator 'thrice' is not exported by plugin testplugin");
    ASSERT_CONTAINS(err.message, "twice, broken_rc, non_canonical, widen");
    const char *enable[] = {"twice", "broken_rc", "non_canonical", "widen"};
    CU_ASSERT_EQUAL_FATAL(nox_engine_add_plugin(e, p, enable, 4, &bad, &err), NOX_OK);

    /* twice on uint8: 200 -> 144 (wraps) */
    nox_value in = uval(NOX_TYPE_UINT8, 200), out;
    out.type = NOX_TYPE_INFER;
    CU_ASSERT_EQUAL(nox_op_eval(nox_engine_find(e, "twice"), &in, 1, &out, 1, &err), NOX_OK);
    CU_ASSERT_EQUAL(out.type, NOX_TYPE_UINT8);
    CU_ASSERT_EQUAL(out.limb[0], 144);
    /* outside its declared types: refused before the plugin runs */
    in = uval(NOX_TYPE_UINT128, 1);
    CU_ASSERT_EQUAL(nox_op_eval(nox_engine_find(e, "twice"), &in, 1, &out, 1, &err), NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, "cannot be uint128 (accepted: uint8..uint64)");

    /* a plugin bug is reported as one, never as a property of the values */
    in = uval(NOX_TYPE_UINT8, 1);
    out.type = NOX_TYPE_INFER;
    CU_ASSERT_EQUAL(nox_op_eval(nox_engine_find(e, "broken_rc"), &in, 1, &out, 1, &err), NOX_ERR_PLUGIN);
    ASSERT_CONTAINS(err.message, "returned 7");
    out.type = NOX_TYPE_INFER;
    CU_ASSERT_EQUAL(nox_op_eval(nox_engine_find(e, "non_canonical"), &in, 1, &out, 1, &err), NOX_ERR_PLUGIN);
    ASSERT_CONTAINS(err.message, "non-canonical uint8");

    /* an output-only type variable must be declared, and within its set */
    const nox_op *widen = nox_engine_find(e, "widen");
    in = uval(NOX_TYPE_UINT16, 0xbeef);
    out.type = NOX_TYPE_INFER;
    CU_ASSERT_EQUAL(nox_op_eval(widen, &in, 1, &out, 1, &err), NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, "cannot be inferred");
    out.type = NOX_TYPE_INT8;
    CU_ASSERT_EQUAL(nox_op_eval(widen, &in, 1, &out, 1, &err), NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, "cannot be int8 (accepted: uint8..uint256)");
    memset(&out, 0xff, sizeof out);
    out.type = NOX_TYPE_UINT256;
    CU_ASSERT_EQUAL(nox_op_eval(widen, &in, 1, &out, 1, &err), NOX_OK);
    CU_ASSERT_EQUAL(out.limb[0], 0xbeef);
    CU_ASSERT_EQUAL(out.limb[3], 0);

    /* a non-canonical input is refused by nox_op_eval */
    in = uval(NOX_TYPE_UINT8, 0x100);
    CU_ASSERT_EQUAL(nox_op_eval(nox_engine_find(e, "twice"), &in, 1, &out, 1, &err), NOX_ERR_INVALID);
    nox_engine_free(e);
}

static void test_plugin_options(void) {
    nox_plugin *p;
    nox_error err = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/good.so", NOX_TEST_PLUGIN_DIR);
    const char *k1[] = {"colour"}, *v1[] = {"red"};
    CU_ASSERT_EQUAL(nox_plugin_open(path, k1, v1, 1, &p, &err), NOX_ERR_CONFIG);
    ASSERT_CONTAINS(err.message, "does not use option 'colour'");
    const char *k2[] = {"fail"}, *v2[] = {"yes"};
    CU_ASSERT_EQUAL(nox_plugin_open(path, k2, v2, 1, &p, &err), NOX_ERR_PLUGIN);
    ASSERT_CONTAINS(err.message, "option fail=yes asks this plugin to refuse loading");
    const char *v3[] = {"no"};
    CU_ASSERT_EQUAL(nox_plugin_open(path, k2, v3, 1, &p, &err), NOX_OK);
    nox_plugin_close(p);
}

/* ---- config/operators.yaml ------------------------------------------------ */

static void test_shipped_config(void) {
    /* The repository's config/operators.yaml, pointed at this build's plugins. */
    char src[1024];
    snprintf(src, sizeof src, "%s/config/operators.yaml", NOX_SOURCE_DIR);
    FILE *f = fopen(src, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static char text[65536], fixed[70000];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *o = fixed;
    for (const char *s = text; *s;) {
        if (!strncmp(s, "../build/lib/nox/", 17)) o += sprintf(o, "@P@/"), s += 17;
        else *o++ = *s++;
    }
    *o = '\0';
    nox_engine *e;
    nox_error err = {0};
    char path[1024];
    CU_ASSERT_EQUAL(load_yaml(fixed, &e, &err, path, sizeof path), NOX_OK);
    if (err.message[0]) fprintf(stderr, "\n  %s\n", err.message);
    /* the protocol's 18 operations and the 13 extension operators (ids 64..76) */
    CU_ASSERT_EQUAL(nox_engine_op_count(e), 31);
    CU_ASSERT_EQUAL(nox_op_impl_count(nox_engine_find(e, "mul")), 2);
    CU_ASSERT_EQUAL(nox_op_impl_count(nox_engine_find(e, "rem")), 2);
    CU_ASSERT_EQUAL(nox_op_id(nox_engine_find(e, "cast")), 76);
    /* loading twice into one engine is refused */
    CU_ASSERT_EQUAL(nox_engine_load_config(e, path, &err), NOX_ERR_CONFIG);
    nox_engine_free(e);
}

static void test_config_subset_and_relative_path(void) {
    /* plugin path relative to the config file's directory (through a symlink) */
    char link[1024];
    snprintf(link, sizeof link, "%s/lib", tmpdir);
    unlink(link);
    CU_ASSERT_EQUAL_FATAL(symlink(NOX_PLUGIN_DIR, link), 0);
    nox_engine *e;
    nox_error err = {0};
    char path[1024];
    CU_ASSERT_EQUAL(load_yaml("plugins:\n"
                              "  - path: lib/arithmetic.so\n"
                              "    operators: [add, div]\n",
                              &e, &err, path, sizeof path),
                    NOX_OK);
    CU_ASSERT_EQUAL(nox_engine_op_count(e), 2);
    CU_ASSERT_PTR_NOT_NULL(nox_engine_find(e, "add"));
    CU_ASSERT_PTR_NOT_NULL(nox_engine_find(e, "div"));
    CU_ASSERT_PTR_NULL(nox_engine_find(e, "sub"));
    nox_engine_free(e);
}

static void test_config_errors(void) {
    expect_yaml_error("plugins:\n  - path: @P@/arithmetic.so\n    operatorz: [add]\n", NOX_ERR_CONFIG, 3, 5,
                      "plugins[0]: unknown key 'operatorz' (allowed: path, operators, options)");
    expect_yaml_error("plugins:\n  - path: @P@/arithmetic.so\n    operators: add\n", NOX_ERR_CONFIG, 3, 16,
                      "plugins[0].operators: expected a list, got a scalar");
    expect_yaml_error("plugins:\n  - path: @P@/arithmetic.so\n    operators: []\n", NOX_ERR_CONFIG, 3, 16,
                      "empty operator list");
    expect_yaml_error("plugins:\n  - path: @P@/nothere.so\n", NOX_ERR_NOT_FOUND, 2, 11,
                      "plugins[0].path: plugin file ");
    expect_yaml_error("plugins:\n  - path: @P@/nothere.so\n", NOX_ERR_NOT_FOUND, 2, 11, "No such file");
    expect_yaml_error("plugins:\n  - path: [a]\n", NOX_ERR_CONFIG, 2, 11, "plugins[0].path: expected a scalar");
    expect_yaml_error("plugins:\n  - operators: [add]\n", NOX_ERR_CONFIG, 2, 5,
                      "plugins[0]: missing required key 'path'");
    expect_yaml_error("plugins:\n  - path: @P@/arithmetic.so\n    operators: [add, fooo]\n", NOX_ERR_NOT_FOUND, 3,
                      22, "plugins[0].operators[1]: operator 'fooo' is not exported by plugin arithmetic (it exports: add, sub, mul, div)");
    expect_yaml_error("plugins:\n  - path: @P@/arithmetic.so\n    operators: [add, {x: 1}]\n", NOX_ERR_CONFIG, 3,
                      22, "plugins[0].operators[1]: expected an operator name, got a mapping");
    expect_yaml_error("plugins:\n  - path: @P@/arithmetic.so\n    operators: [add, add]\n", NOX_ERR_DUPLICATE, 3,
                      22, "operator 'add' is listed twice");
    expect_yaml_error("plugins:\n"
                      "  - path: @P@/arithmetic.so\n"
                      "  - path: @P@/arithmetic.so\n"
                      "    operators: [sub, add]\n",
                      NOX_ERR_DUPLICATE, 4, 17, "plugins[1].operators[0]: duplicate operator sub: plugin arithmetic");
    expect_yaml_error("plugins:\n  - path: @P@/arithmetic.so\n  - path: @T@/dup_add.so\n", NOX_ERR_DUPLICATE, 3, 11,
                      "duplicate operator add");
    char v2[64];
    snprintf(v2, sizeof v2, "ABI version %u", NOX_PLUGIN_ABI_VERSION + 1);
    expect_yaml_error("plugins:\n  - path: @P@/arithmetic.so\n  - path: @T@/abi_future.so\n", NOX_ERR_ABI, 3, 11, v2);
    expect_yaml_error("plugins:\n  - path: @T@/good.so\n    options:\n      greeting: [a]\n", NOX_ERR_CONFIG, 4, 17,
                      "plugins[0].options.greeting: option values must be scalars, got a list");
    expect_yaml_error("plugins:\n  - path: @T@/good.so\n    options: {colour: red}\n", NOX_ERR_CONFIG, 3, 14,
                      "plugin testplugin does not use option 'colour'");
    expect_yaml_error("plugins:\n  - path: @T@/good.so\n    options: [a]\n", NOX_ERR_CONFIG, 3, 14,
                      "plugins[0].options: expected a mapping, got a list");
    expect_yaml_error("plugin:\n  - path: x.so\n", NOX_ERR_CONFIG, 1, 1, "unknown key 'plugin' (allowed: plugins)");
    expect_yaml_error("{}\n", NOX_ERR_CONFIG, 1, 1, "missing required key 'plugins'");
    expect_yaml_error("plugins: []\n", NOX_ERR_CONFIG, 1, 10, "plugins: no plugins listed");
    expect_yaml_error("plugins: x\n", NOX_ERR_CONFIG, 1, 10, "plugins: expected a list, got a scalar");
    expect_yaml_error("- a\n", NOX_ERR_CONFIG, 1, 1, "expected a mapping, got a list");
    expect_yaml_error("", NOX_ERR_CONFIG, 1, 1, "expected a mapping, got null");
    expect_yaml_error("plugins:\n  - path: x.so\n    path: y.so\n", NOX_ERR_CONFIG, 3, 5, "duplicate key 'path'");
    expect_yaml_error("plugins:\n  - path: [x.so\n", NOX_ERR_CONFIG, 3, 1, "YAML syntax error");
    expect_yaml_error("plugins:\n  - path: ${NOX_TEST_SURELY_UNSET_VAR}/a.so\n", NOX_ERR_CONFIG, 2, 11,
                      "environment variable NOX_TEST_SURELY_UNSET_VAR is not set");
}

static void test_config_env_expansion(void) {
    setenv("NOX_TEST_PLUGIN_HOME", NOX_PLUGIN_DIR, 1);
    nox_engine *e;
    nox_error err = {0};
    char path[1024];
    CU_ASSERT_EQUAL(load_yaml("plugins:\n  - path: ${NOX_TEST_PLUGIN_HOME}/token.so\n", &e, &err, path, sizeof path),
                    NOX_OK);
    CU_ASSERT_PTR_NOT_NULL(nox_engine_find(e, "mint"));
    nox_engine_free(e);
    unsetenv("NOX_TEST_PLUGIN_HOME");
}

static void test_missing_config_file(void) {
    nox_engine *e = nox_engine_new();
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_engine_load_config(e, "/nonexistent/operators.yaml", &err), NOX_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.message, "/nonexistent/operators.yaml: cannot open");
    nox_engine_free(e);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    CU_TestInfo tests[] = {
        {"built-in registry matches the protocol table", test_builtin_registry},
        {"dispatch by type and type errors", test_dispatch_by_type},
        {"signatures and lookup", test_signature_and_lookup},
        {"threads evaluate concurrently", test_concurrent_evaluation},
        {"ABI mismatches are refused before init", test_abi_refusals},
        {"missing and non-plugin files", test_load_failures},
        {"invalid descriptors are refused", test_descriptor_validation},
        {"overlapping implementations are refused", test_duplicate_operator},
        {"extension plugin and misbehaving operators", test_extension_plugin},
        {"plugin options", test_plugin_options},
        {"the shipped config/operators.yaml loads", test_shipped_config},
        {"operator subsets and relative plugin paths", test_config_subset_and_relative_path},
        {"operators.yaml errors name file:line:col and key", test_config_errors},
        {"${ENV} in plugin paths", test_config_env_expansion},
        {"missing configuration file", test_missing_config_file},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("engine", tests);
    nox_test_rmtree(tmpdir);
    return rc;
}
