/*
 * The engine (core/engine/engine.c, plugin_loader.c, operators_config.c) and the
 * built-in operator plugins: nox_engine_load_config once on config/operators.yaml
 * (its plugin paths pointed at this build's plugins), then per input a random
 * operator, type and bytes through nox_op_instantiate, nox_op_resolve and nox_op_eval.
 *
 * Input (binary): u8 operator (index mod count), u8 type code (any: also
 * reserved, dynamic and NOX_TYPE_INFER), u8 mode (bit 0: raw limbs, else
 * canonical values from bytes; bit 1: declared output types from the input, else
 * inferred; bit 2: inputs of independent random types), then the value bytes.
 * Invariants: only the documented statuses; NOX_ERR_INVALID for non-canonical
 * inputs; a successful evaluation has canonical outputs of the resolved types;
 * evaluating twice gives the same outputs.
 */
#include <unistd.h>

#include "fuzz_util.h"
#include "nox/engine.h"
#include "nox/types.h"
#include "nox/value.h"

static nox_engine *engine;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_pin_plugins(NOX_PLUGIN_DIR);
    FILE *f = fopen(NOX_SOURCE_DIR "/config/operators.yaml", "rb");
    FUZZ_CHECK(f != NULL);
    static char text[1 << 16], out[1 << 17];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* "../build/lib/nox/" -> this build's plugin directory */
    const char *from = "../build/lib/nox/", *p = text;
    char *o = out;
    for (const char *at; (at = strstr(p, from)); p = at + strlen(from)) {
        memcpy(o, p, (size_t)(at - p));
        o += at - p;
        o += sprintf(o, "%s/", NOX_PLUGIN_DIR);
    }
    strcpy(o, p);
    char path[] = "/tmp/nox-fuzz-operators-XXXXXX";
    int fd = mkstemp(path);
    FUZZ_CHECK(fd >= 0 && write(fd, out, strlen(out)) == (ssize_t)strlen(out));
    close(fd);
    engine = nox_engine_new();
    nox_error err = {0};
    if (nox_engine_load_config(engine, path, &err)) {
        fprintf(stderr, "fuzz_engine: %s\n", err.message);
        abort();
    }
    unlink(path);
    FUZZ_CHECK(nox_engine_op_count(engine) > 0);
    return 0;
}

static void fill(fuzz_reader *r, nox_value *v, uint8_t type, int raw) {
    nox_error err = {0};
    memset(v, 0, sizeof *v);
    v->type = type;
    if (raw) {
        fuzz_bytes(r, v->limb, sizeof v->limb);
        return;
    }
    size_t size = nox_type_size(type);
    uint8_t buf[NOX_VALUE_MAX_BITS / 8 + 1];
    if (size > sizeof buf) size = sizeof buf;
    fuzz_bytes(r, buf, size);
    if (type == NOX_TYPE_BOOL) buf[0] &= 1;
    if (nox_value_from_bytes(v, type, buf, size, &err)) {
        memset(v, 0, sizeof *v);
        v->type = type;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reader r = {data, size};
    size_t count = nox_engine_op_count(engine);
    const nox_op *op = nox_engine_op_at(engine, fuzz_u8(&r) % count);
    uint8_t type = fuzz_u8(&r), mode = fuzz_u8(&r);
    unsigned n_in = nox_op_n_inputs(op), n_out = nox_op_n_outputs(op);
    FUZZ_CHECK(n_in <= NOX_MAX_ARITY && n_out >= 1 && n_out <= NOX_MAX_ARITY);
    FUZZ_CHECK(nox_engine_find(engine, nox_op_name(op)) == op && nox_engine_find_id(engine, nox_op_id(op)) == op);
    nox_error err = {0};
    uint8_t in_types[NOX_MAX_ARITY] = {0}, declared[NOX_MAX_ARITY];
    nox_status st = nox_op_instantiate(op, type, in_types, &err);
    FUZZ_CHECK(st == NOX_OK || st == NOX_ERR_TYPE);
    if (st || (mode & 4))
        for (unsigned i = 0; i < n_in; i++) in_types[i] = (mode & 4) ? fuzz_u8(&r) : type;
    for (unsigned i = 0; i < n_out; i++) declared[i] = (mode & 2) ? fuzz_u8(&r) : NOX_TYPE_INFER;

    nox_call call;
    nox_status rs = nox_op_resolve(op, in_types, n_in, declared, n_out, &call, &err);
    FUZZ_CHECK(rs == NOX_OK || rs == NOX_ERR_TYPE || rs == NOX_ERR_INVALID);

    nox_value in[NOX_MAX_ARITY], out[NOX_MAX_ARITY], again[NOX_MAX_ARITY];
    int canonical = 1;
    for (unsigned i = 0; i < n_in; i++) {
        fill(&r, &in[i], in_types[i], mode & 1);
        canonical &= nox_value_is_canonical(&in[i]);
    }
    for (unsigned i = 0; i < n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].type = declared[i];
        again[i] = out[i];
    }
    st = nox_op_eval(op, in, n_in, out, n_out, &err);
    FUZZ_CHECK(st == NOX_OK || st == NOX_ERR_TYPE || st == NOX_ERR_INVALID);
    if (st == NOX_OK) {
        FUZZ_CHECK(canonical && rs == NOX_OK);
        for (unsigned i = 0; i < n_out; i++) {
            FUZZ_CHECK(nox_value_is_canonical(&out[i]));
            FUZZ_CHECK(out[i].type == call.out_types[i]);
        }
        FUZZ_CHECK(nox_op_eval(op, in, n_in, again, n_out, &err) == NOX_OK);
        for (unsigned i = 0; i < n_out; i++) FUZZ_CHECK(nox_value_equal(&out[i], &again[i]));
        /* nox_call_eval on the resolved call gives the same answer. */
        FUZZ_CHECK(nox_call_eval(&call, in, again, &err) == NOX_OK);
        for (unsigned i = 0; i < n_out; i++) FUZZ_CHECK(nox_value_equal(&out[i], &again[i]));
    } else if (rs == NOX_OK && !canonical) {
        FUZZ_CHECK(st == NOX_ERR_INVALID);
    } else if (rs == NOX_OK) {
        fprintf(stderr, "resolved call failed: %s\n", err.message);
        abort();
    }
    return 0;
}
