/*
 * The built-in operators on hand-picked cases, evaluated through the engine
 * exactly as the Runner does (nox_engine_find + nox_op_eval with inferred
 * output types):
 *   - every worked example of spec §5, one assertion each;
 *   - div by zero = MAX and signed MIN / -1 = MIN at every width, wide included;
 *   - safe_* failures give (false, 0) exactly, at every width;
 *   - select on bool, address, bytes32, int256 and uint2048;
 *   - eq / ne on bool and address;
 *   - the engine's type checking (NOX_ERR_TYPE with a message naming the
 *     problem) and its refusal of non-canonical inputs (NOX_ERR_INVALID).
 */
#include <inttypes.h>
#include <stdint.h>

#include "nox/types.h"
#include "nox/value.h"
#include "test_util.h"

static nox_engine *engine;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Outputs are pre-filled with this pattern: a plugin must write every meaningful limb. */
#define GARBAGE 0xa5a5a5a5a5a5a5a5u

#define F16 "ffffffffffffffff"
#define Z16 "0000000000000000"
#define U256_MAX "0x" F16 F16 F16 F16
#define I256_MAX "0x7fffffffffffffff" F16 F16 F16
#define I256_MIN "0x8000000000000000" Z16 Z16 Z16
#define U256_2_255 "0x8000000000000000" Z16 Z16 Z16
#define U256_2_255_PLUS_1 "0x8000000000000000" Z16 Z16 "0000000000000001"

/* The protocol's output types (spec §5/§6) for operator `name` on operand type `t`. */
static size_t model_out_types(const char *name, uint8_t t, uint8_t out[3]) {
    static const char *const cmp[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    for (size_t i = 0; i < 6; i++)
        if (!strcmp(name, cmp[i])) return out[0] = NOX_TYPE_BOOL, 1;
    if (!strncmp(name, "safe_", 5)) return out[0] = NOX_TYPE_BOOL, out[1] = t, 2;
    if (!strcmp(name, "transfer") || !strcmp(name, "mint") || !strcmp(name, "burn"))
        return out[0] = NOX_TYPE_BOOL, out[1] = t, out[2] = t, 3;
    return out[0] = t, 1;
}

/* Evaluates with every output inferred and pre-filled with garbage. */
static nox_status eval(const char *name, const nox_value *in, size_t n_in, nox_value *out, size_t n_out,
                       nox_error *err) {
    for (size_t i = 0; i < n_out; i++) {
        for (size_t k = 0; k < NOX_VALUE_LIMBS; k++) out[i].limb[k] = GARBAGE;
        out[i].type = NOX_TYPE_INFER;
    }
    return nox_op_eval(nox_test_op(engine, name), in, n_in, out, n_out, err);
}

static void print_value(const char *label, const nox_value *v) {
    char text[NOX_VALUE_TEXT_MAX];
    const char *tn = nox_type_name(v->type);
    if (nox_value_format_hex(v, text, sizeof text, NULL)) snprintf(text, sizeof text, "(unformattable)");
    printf("    %s: %s %s\n", label, tn ? tn : "?", text);
}

/*
 * Evaluates `name` on in[0..n_in) and asserts (one CUnit assertion, reported
 * at `line`) that it succeeds with exactly the outputs want[0..n_want):
 * same types, same meaningful limbs.
 */
static void expect_values(const char *name, const nox_value *in, size_t n_in, const nox_value *want, size_t n_want,
                          unsigned line) {
    nox_value out[NOX_MAX_ARITY];
    nox_error err = {0};
    nox_status st = eval(name, in, n_in, out, n_want, &err);
    int ok = st == NOX_OK;
    for (size_t i = 0; ok && i < n_want; i++) ok = nox_value_equal(&out[i], &want[i]);
    if (!ok) {
        printf("\n  line %u: %s failed\n", line, name);
        for (size_t i = 0; i < n_in; i++) print_value("input   ", &in[i]);
        for (size_t i = 0; i < n_want; i++) print_value("expected", &want[i]);
        if (st)
            printf("    error: %s\n", err.message);
        else
            for (size_t i = 0; i < n_want; i++) print_value("actual  ", &out[i]);
    }
    CU_assertImplementation(ok, line, name, __FILE__, "", CU_FALSE);
}

/* Parses text into v of `type`; the text is a literal of this file, so failure aborts the test. */
static nox_value parse(uint8_t type, const char *text) {
    nox_value v;
    nox_error err = {0};
    if (nox_value_parse(&v, type, text, &err)) {
        fprintf(stderr, "bad literal '%s' for %s: %s\n", text, nox_type_name(type), err.message);
        exit(2);
    }
    return v;
}

/* Splits space-separated literals into at most `cap` words (in place). */
static size_t split(char *s, char **words, size_t cap) {
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(s, " ", &save); w && n < cap; w = strtok_r(NULL, " ", &save)) words[n++] = w;
    return n;
}

/*
 * CASE("add", NOX_TYPE_UINT8, "200 100", "44"): operands and expected outputs
 * as text. Operand types come from the operator (select's condition is a
 * bool); output types from the protocol's model.
 */
#define CASE(OP, TYPE, IN, OUT) check_case(OP, TYPE, IN, OUT, __LINE__)

static void check_case(const char *name, uint8_t type, const char *in_text, const char *out_text, unsigned line) {
    const nox_op *op = nox_test_op(engine, name);
    uint8_t in_types[NOX_MAX_ARITY], out_types[3];
    if (nox_op_instantiate(op, type, in_types, NULL))
        for (size_t i = 0; i < NOX_MAX_ARITY; i++) in_types[i] = type;
    char ibuf[1024], obuf[1024], *iw[NOX_MAX_ARITY], *ow[NOX_MAX_ARITY];
    snprintf(ibuf, sizeof ibuf, "%s", in_text);
    snprintf(obuf, sizeof obuf, "%s", out_text);
    size_t n_in = split(ibuf, iw, NOX_MAX_ARITY), n_out = split(obuf, ow, NOX_MAX_ARITY);
    if (n_in != nox_op_n_inputs(op) || n_out != model_out_types(name, type, out_types)) {
        fprintf(stderr, "line %u: malformed case\n", line);
        exit(2);
    }
    nox_value in[NOX_MAX_ARITY], want[NOX_MAX_ARITY];
    for (size_t i = 0; i < n_in; i++) in[i] = parse(in_types[i], iw[i]);
    for (size_t i = 0; i < n_out; i++) want[i] = parse(out_types[i], ow[i]);
    expect_values(name, in, n_in, want, n_out, line);
}

/* ---- values built from limbs, independently of the library ---------------- */

static nox_value v_zero(uint8_t type) {
    nox_value v;
    memset(&v, 0, sizeof v);
    v.type = type;
    return v;
}

/* 2^k - 1: the low k bits set. */
static nox_value v_ones(uint8_t type, unsigned k) {
    nox_value v = v_zero(type);
    for (unsigned i = 0; i < k; i++) v.limb[i / 64] |= (uint64_t)1 << (i % 64);
    return v;
}

static nox_value v_u64(uint8_t type, uint64_t x) {
    nox_value v = v_zero(type);
    v.limb[0] = x;
    return v;
}

/* 2^k */
static nox_value v_pow2(uint8_t type, unsigned k) {
    nox_value v = v_zero(type);
    v.limb[k / 64] = (uint64_t)1 << (k % 64);
    return v;
}

static nox_value v_max(uint8_t type) {
    unsigned w = nox_type_bits(type);
    return v_ones(type, nox_type_is_signed(type) ? w - 1 : w);
}

static nox_value v_min(uint8_t type) {
    return nox_type_is_signed(type) ? v_pow2(type, nox_type_bits(type) - 1) : v_zero(type);
}

/* The bit pattern of -k, i.e. 2^width - k, for small k >= 1. */
static nox_value v_neg(uint8_t type, uint64_t k) {
    nox_value v = v_ones(type, nox_type_bits(type));
    v.limb[0] -= k - 1;
    return v;
}

/* MIN + k for small k (signed types). */
static nox_value v_min_plus(uint8_t type, uint64_t k) {
    nox_value v = v_min(type);
    v.limb[0] += k;
    return v;
}

static nox_value v_bool(int b) { return v_u64(NOX_TYPE_BOOL, b ? 1 : 0); }

/* Every integer type: uint8..uint256, int8..int256 and the six wide types. */
static size_t all_int_types(uint8_t *types) {
    size_t n = 0;
    for (unsigned c = NOX_TYPE_UINT8; c <= NOX_TYPE_INT256; c++) types[n++] = (uint8_t)c;
    for (unsigned c = NOX_TYPE_UINT512; c <= NOX_TYPE_INT2048; c++) types[n++] = (uint8_t)c;
    return n;
}

#define EXPECT1(OP, A, B, R)                                        \
    do {                                                            \
        nox_value in_[2] = {A, B}, want_[1] = {R};                  \
        expect_values(OP, in_, 2, want_, 1, __LINE__);              \
    } while (0)

#define EXPECT2(OP, A, B, S, R)                                     \
    do {                                                            \
        nox_value in_[2] = {A, B}, want_[2] = {v_bool(S), R};       \
        expect_values(OP, in_, 2, want_, 2, __LINE__);              \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Spec §5 worked examples                                                  */
/* ------------------------------------------------------------------------ */

static void test_spec_examples_arithmetic(void) {
    CASE("add", NOX_TYPE_UINT8, "200 100", "44");
    CASE("sub", NOX_TYPE_UINT8, "10 200", "66");
    CASE("mul", NOX_TYPE_UINT8, "3 100", "44");
    CASE("div", NOX_TYPE_UINT8, "10 0", "255");
    CASE("div", NOX_TYPE_INT8, "10 0", "127");
    CASE("div", NOX_TYPE_INT8, "-128 -1", "-128");
    CASE("div", NOX_TYPE_INT8, "-7 2", "-3");
    CASE("safe_div", NOX_TYPE_INT8, "-128 -1", "false 0");
    CASE("add", NOX_TYPE_UINT16, "65535 1", "0");
    CASE("add", NOX_TYPE_INT256, I256_MAX " 1", I256_MIN);
    CASE("add", NOX_TYPE_UINT256, U256_2_255 " " U256_2_255_PLUS_1, "1");
}

static void test_spec_examples_token(void) {
    CASE("transfer", NOX_TYPE_UINT256, "100 50 30", "true 70 80");
    CASE("transfer", NOX_TYPE_UINT256, "10 50 50", "false 10 50");
    CASE("transfer", NOX_TYPE_UINT256, "100 " U256_MAX " 1", "false 100 " U256_MAX);
    CASE("mint", NOX_TYPE_UINT256, "0 " U256_MAX " 1", "false 0 1");
    CASE("burn", NOX_TYPE_UINT256, "100 50 30", "false 100 30");
}

/* A few more hand-checked cases around the examples (signs, rounding, narrow widths). */
static void test_more_hand_cases(void) {
    CASE("div", NOX_TYPE_INT8, "7 -2", "-3");
    CASE("div", NOX_TYPE_INT8, "-7 -2", "3");
    CASE("div", NOX_TYPE_INT8, "-128 1", "-128");
    CASE("div", NOX_TYPE_INT8, "-128 2", "-64");
    CASE("div", NOX_TYPE_INT8, "-1 -128", "0");
    CASE("div", NOX_TYPE_INT8, "-128 -128", "1");
    CASE("div", NOX_TYPE_INT16, "-32768 -1", "-32768");
    CASE("div", NOX_TYPE_UINT8, "255 16", "15");
    CASE("mul", NOX_TYPE_INT8, "-128 -1", "-128");
    CASE("mul", NOX_TYPE_INT8, "16 -8", "-128");
    CASE("sub", NOX_TYPE_INT8, "-128 1", "127");
    CASE("safe_mul", NOX_TYPE_INT8, "16 -8", "true -128");
    CASE("safe_mul", NOX_TYPE_INT8, "-16 -8", "false 0");
    CASE("safe_mul", NOX_TYPE_UINT8, "15 17", "true 255");
    CASE("safe_mul", NOX_TYPE_UINT8, "16 16", "false 0");
    CASE("safe_add", NOX_TYPE_INT8, "-100 -28", "true -128");
    CASE("safe_add", NOX_TYPE_INT8, "-100 -29", "false 0");
    CASE("safe_sub", NOX_TYPE_INT8, "-1 127", "true -128");
    CASE("safe_sub", NOX_TYPE_INT8, "0 -128", "false 0");
    CASE("safe_sub", NOX_TYPE_UINT8, "10 200", "false 0");
    CASE("safe_div", NOX_TYPE_INT8, "-7 2", "true -3");
    CASE("safe_div", NOX_TYPE_UINT8, "10 0", "false 0");
    CASE("lt", NOX_TYPE_INT8, "-1 0", "true");
    CASE("lt", NOX_TYPE_UINT8, "255 0", "false");
    CASE("ge", NOX_TYPE_INT256, I256_MIN " " I256_MAX, "false");
    CASE("gt", NOX_TYPE_UINT256, U256_MAX " 0", "true");
    CASE("transfer", NOX_TYPE_UINT8, "100 155 100", "true 0 255");
    CASE("transfer", NOX_TYPE_UINT8, "100 156 100", "false 100 156");
    CASE("mint", NOX_TYPE_UINT8, "5 250 5", "true 255 255");
    CASE("mint", NOX_TYPE_UINT8, "6 250 5", "false 6 5");
    CASE("burn", NOX_TYPE_UINT8, "50 50 50", "true 0 0");
    CASE("burn", NOX_TYPE_UINT8, "49 50 200", "false 49 200");
}

/* ------------------------------------------------------------------------ */
/* Every width: div by zero, MIN / -1, safe failures                         */
/* ------------------------------------------------------------------------ */

static void test_div_by_zero_is_max_every_width(void) {
    uint8_t types[80];
    size_t n = all_int_types(types);
    CU_ASSERT_EQUAL(n, 70);
    for (size_t i = 0; i < n; i++) {
        uint8_t t = types[i];
        nox_value zero = v_zero(t), max = v_max(t);
        EXPECT1("div", v_zero(t), zero, max);
        EXPECT1("div", v_u64(t, 1), zero, max);
        EXPECT1("div", v_u64(t, 10), zero, max);
        EXPECT1("div", v_max(t), zero, max);
        EXPECT1("div", v_min(t), zero, max);
        EXPECT1("div", v_ones(t, nox_type_bits(t)), zero, max); /* -1 when signed */
        /* and a non-zero divisor still divides */
        EXPECT1("div", v_max(t), v_u64(t, 1), max);
    }
}

static void test_signed_min_div_minus_one_every_width(void) {
    uint8_t types[80];
    size_t n = all_int_types(types);
    size_t n_signed = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t t = types[i];
        if (!nox_type_is_signed(t)) continue;
        n_signed++;
        nox_value min = v_min(t), m1 = v_neg(t, 1), max = v_max(t);
        EXPECT1("div", min, m1, min);
        EXPECT1("div", min, v_u64(t, 1), min);
        EXPECT1("div", min, min, v_u64(t, 1));
        EXPECT1("div", max, m1, v_min_plus(t, 1)); /* -MAX = MIN + 1 */
        EXPECT1("div", m1, min, v_zero(t));
        EXPECT1("mul", min, m1, min);
        EXPECT2("safe_div", min, m1, 0, v_zero(t));
        EXPECT2("safe_div", max, m1, 1, v_min_plus(t, 1));
        EXPECT2("safe_div", min, v_u64(t, 1), 1, min);
        EXPECT2("safe_mul", min, m1, 0, v_zero(t));
    }
    CU_ASSERT_EQUAL(n_signed, 35);
}

/* Every failing safe_* gives success = false and a result of exactly 0 (all limbs). */
static void test_safe_failure_result_is_zero_every_width(void) {
    uint8_t types[80];
    size_t n = all_int_types(types);
    for (size_t i = 0; i < n; i++) {
        uint8_t t = types[i];
        unsigned w = nox_type_bits(t);
        nox_value zero = v_zero(t), one = v_u64(t, 1), two = v_u64(t, 2), max = v_max(t), min = v_min(t);
        EXPECT2("safe_add", max, one, 0, zero);
        EXPECT2("safe_add", max, max, 0, zero);
        EXPECT2("safe_sub", min, one, 0, zero);
        EXPECT2("safe_mul", max, two, 0, zero);
        EXPECT2("safe_mul", max, max, 0, zero);
        EXPECT2("safe_mul", v_pow2(t, w / 2), v_pow2(t, w / 2), 0, zero);
        EXPECT2("safe_div", max, zero, 0, zero);
        EXPECT2("safe_div", zero, zero, 0, zero);
        /* the boundaries themselves succeed */
        EXPECT2("safe_add", v_max(t), zero, 1, max);
        EXPECT2("safe_sub", min, zero, 1, min);
        EXPECT2("safe_mul", max, one, 1, max);
        EXPECT2("safe_div", max, one, 1, max);
        if (nox_type_is_signed(t)) {
            nox_value m1 = v_neg(t, 1);
            EXPECT2("safe_add", min, m1, 0, zero);
            EXPECT2("safe_add", min, min, 0, zero);
            EXPECT2("safe_sub", zero, min, 0, zero); /* -MIN = MAX + 1 */
            EXPECT2("safe_sub", max, m1, 0, zero);
            EXPECT2("safe_sub", m1, min, 1, max);
            EXPECT2("safe_mul", min, two, 0, zero);
            EXPECT2("safe_mul", v_pow2(t, w - 2), v_neg(t, 2), 1, min); /* 2^(w-2) * -2 = MIN */
            EXPECT2("safe_mul", v_pow2(t, w - 2), two, 0, zero);        /* 2^(w-1) > MAX */
            EXPECT2("safe_add", min, max, 1, m1);
        } else {
            EXPECT2("safe_sub", zero, max, 0, zero);
            EXPECT2("safe_mul", v_pow2(t, w - 1), two, 0, zero);
            EXPECT2("safe_mul", v_pow2(t, w - 1), one, 1, v_pow2(t, w - 1));
        }
    }
}

/* ------------------------------------------------------------------------ */
/* select, eq / ne on bool and address                                      */
/* ------------------------------------------------------------------------ */

/* select(c, a, b) == (c ? a : b) both ways round, for two values that differ in every meaningful limb. */
static void check_select(const nox_value *a, const nox_value *b, unsigned line) {
    nox_value in[3], want[1];
    for (int c = 0; c <= 1; c++) {
        in[0] = v_bool(c), in[1] = *a, in[2] = *b, want[0] = c ? *a : *b;
        expect_values("select", in, 3, want, 1, line);
        in[1] = *b, in[2] = *a, want[0] = c ? *b : *a;
        expect_values("select", in, 3, want, 1, line);
    }
}

static void test_select_types(void) {
    nox_value a, b;
    a = v_bool(1), b = v_bool(0);
    check_select(&a, &b, __LINE__);
    a = parse(NOX_TYPE_ADDRESS, "0x00112233445566778899aabbccddeeff01234567");
    b = parse(NOX_TYPE_ADDRESS, "0xfeedfacecafebeefdeadbeef0badf00d76543210");
    check_select(&a, &b, __LINE__);
    a = parse(NOX_TYPE_BYTES32, "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
    b = parse(NOX_TYPE_BYTES32, "0xf0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100");
    check_select(&a, &b, __LINE__);
    a = parse(NOX_TYPE_INT256, "-5"), b = v_max(NOX_TYPE_INT256);
    check_select(&a, &b, __LINE__);
    a = v_min(NOX_TYPE_INT256), b = v_zero(NOX_TYPE_INT256);
    check_select(&a, &b, __LINE__);
    a = v_zero(NOX_TYPE_UINT2048), b = v_zero(NOX_TYPE_UINT2048);
    for (unsigned i = 0; i < NOX_VALUE_LIMBS; i++) {
        a.limb[i] = 0x0123456789abcdefu * (i + 1);
        b.limb[i] = ~a.limb[i];
    }
    check_select(&a, &b, __LINE__);
    a = v_max(NOX_TYPE_UINT2048), b = v_u64(NOX_TYPE_UINT2048, 7);
    check_select(&a, &b, __LINE__);
    /* the result has the branches' type */
    nox_value in[3] = {v_bool(1), v_u64(NOX_TYPE_UINT8, 9), v_u64(NOX_TYPE_UINT8, 4)}, out[1];
    nox_error err = {0};
    CU_ASSERT_EQUAL(eval("select", in, 3, out, 1, &err), NOX_OK);
    CU_ASSERT_EQUAL(out[0].type, NOX_TYPE_UINT8);
    CU_ASSERT_EQUAL(out[0].limb[0], 9);
}

static void test_eq_ne_bool_address(void) {
    for (int x = 0; x <= 1; x++)
        for (int y = 0; y <= 1; y++) {
            EXPECT1("eq", v_bool(x), v_bool(y), v_bool(x == y));
            EXPECT1("ne", v_bool(x), v_bool(y), v_bool(x != y));
        }
    nox_value a = parse(NOX_TYPE_ADDRESS, "0x00112233445566778899aabbccddeeff01234567");
    nox_value top = parse(NOX_TYPE_ADDRESS, "0x80112233445566778899aabbccddeeff01234567"); /* bit 159 */
    nox_value low = parse(NOX_TYPE_ADDRESS, "0x00112233445566778899aabbccddeeff01234566"); /* bit 0 */
    nox_value mid = parse(NOX_TYPE_ADDRESS, "0x00112233445566778899aabbccddeeff81234567"); /* bit 31 */
    nox_value hi64 = parse(NOX_TYPE_ADDRESS, "0x00112233445566778899aabbccddeeff01234567");
    hi64.limb[2] ^= 1; /* bit 128: the third limb */
    nox_value zero = v_zero(NOX_TYPE_ADDRESS);
    EXPECT1("eq", a, a, v_bool(1));
    EXPECT1("ne", a, a, v_bool(0));
    EXPECT1("eq", zero, zero, v_bool(1));
    const nox_value *other[] = {&top, &low, &mid, &hi64, &zero};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        EXPECT1("eq", a, *other[i], v_bool(0));
        EXPECT1("eq", *other[i], a, v_bool(0));
        EXPECT1("ne", a, *other[i], v_bool(1));
        EXPECT1("ne", *other[i], a, v_bool(1));
    }
}

/* ------------------------------------------------------------------------ */
/* Type checking and canonical inputs                                       */
/* ------------------------------------------------------------------------ */

/* Asserts that evaluating `name` fails with `code` and a message containing every given fragment. */
static void expect_error(const char *name, const nox_value *in, size_t n_in, nox_value *out, size_t n_out,
                         nox_status code, const char *frag1, const char *frag2, unsigned line) {
    nox_error err = {0};
    nox_status st = nox_op_eval(nox_test_op(engine, name), in, n_in, out, n_out, &err);
    int ok = st == code && strstr(err.message, frag1) && (!frag2 || strstr(err.message, frag2));
    if (!ok)
        printf("\n  line %u: %s: expected %s error mentioning '%s'%s%s%s, got %s: '%s'\n", line, name,
               nox_status_name(code), frag1, frag2 ? " and '" : "", frag2 ? frag2 : "", frag2 ? "'" : "",
               nox_status_name(st), err.message);
    CU_assertImplementation(ok, line, name, __FILE__, "", CU_FALSE);
}

static void infer(nox_value *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = v_zero(NOX_TYPE_INFER);
}

static void test_type_mismatched_operands(void) {
    nox_value in[2] = {v_u64(NOX_TYPE_UINT8, 1), v_u64(NOX_TYPE_UINT16, 1)}, out[2];
    infer(out, 1);
    expect_error("add", in, 2, out, 1, NOX_ERR_TYPE, "share one type", "uint16", __LINE__);
    /* signedness differs, same width */
    in[1] = v_u64(NOX_TYPE_INT8, 1);
    infer(out, 1);
    expect_error("lt", in, 2, out, 1, NOX_ERR_TYPE, "share one type", "int8", __LINE__);
    /* a fixed and a wide type: two plugins implement add, neither takes this pair */
    in[0] = v_u64(NOX_TYPE_UINT256, 1), in[1] = v_u64(NOX_TYPE_UINT512, 1);
    infer(out, 1);
    expect_error("add", in, 2, out, 1, NOX_ERR_TYPE, "share one type", "uint512", __LINE__);
    in[0] = v_u64(NOX_TYPE_UINT512, 1), in[1] = v_u64(NOX_TYPE_UINT1024, 1);
    infer(out, 2);
    expect_error("safe_mul", in, 2, out, 2, NOX_ERR_TYPE, "share one type", "uint1024", __LINE__);
    /* select's branches must agree */
    nox_value sel[3] = {v_bool(1), v_u64(NOX_TYPE_UINT8, 1), v_u64(NOX_TYPE_INT8, 1)};
    infer(out, 1);
    expect_error("select", sel, 3, out, 1, NOX_ERR_TYPE, "share one type", "int8", __LINE__);
}

static void test_type_unsupported_operand_types(void) {
    nox_value in[3], out[3];
    in[0] = v_bool(1), in[1] = v_bool(0);
    infer(out, 1);
    expect_error("add", in, 2, out, 1, NOX_ERR_TYPE, "cannot be bool", NULL, __LINE__);
    in[0] = v_u64(NOX_TYPE_INT64, 100), in[1] = v_u64(NOX_TYPE_INT64, 50), in[2] = v_u64(NOX_TYPE_INT64, 30);
    infer(out, 3);
    expect_error("transfer", in, 3, out, 3, NOX_ERR_TYPE, "cannot be int64", NULL, __LINE__);
    infer(out, 3);
    expect_error("mint", in, 3, out, 3, NOX_ERR_TYPE, "cannot be int64", NULL, __LINE__);
    /* token ops are not provided on the wide types either */
    for (int i = 0; i < 3; i++) in[i] = v_u64(NOX_TYPE_UINT512, 1);
    infer(out, 3);
    expect_error("burn", in, 3, out, 3, NOX_ERR_TYPE, "cannot be uint512", NULL, __LINE__);
    in[0] = v_zero(NOX_TYPE_ADDRESS), in[1] = v_zero(NOX_TYPE_ADDRESS);
    infer(out, 1);
    expect_error("lt", in, 2, out, 1, NOX_ERR_TYPE, "cannot be address", NULL, __LINE__);
    in[0] = v_bool(0), in[1] = v_bool(1);
    infer(out, 1);
    expect_error("ge", in, 2, out, 1, NOX_ERR_TYPE, "cannot be bool", NULL, __LINE__);
    in[0] = v_zero(NOX_TYPE_BYTES32), in[1] = v_zero(NOX_TYPE_BYTES32);
    infer(out, 1);
    expect_error("eq", in, 2, out, 1, NOX_ERR_TYPE, "cannot be bytes32", NULL, __LINE__);
    /* select's condition must be a bool */
    in[0] = v_u64(NOX_TYPE_UINT8, 1), in[1] = v_u64(NOX_TYPE_UINT8, 2), in[2] = v_u64(NOX_TYPE_UINT8, 3);
    infer(out, 1);
    expect_error("select", in, 3, out, 1, NOX_ERR_TYPE, "condition", "must be bool", __LINE__);
}

static void test_type_wrong_arity(void) {
    nox_call call;
    nox_error err = {0};
    uint8_t t3[3] = {NOX_TYPE_UINT8, NOX_TYPE_UINT8, NOX_TYPE_UINT8};
    CU_ASSERT_EQUAL(nox_op_resolve(nox_test_op(engine, "add"), t3, 3, NULL, 1, &call, &err), NOX_ERR_TYPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "takes 2 inputs"));
    err = (nox_error){0};
    CU_ASSERT_EQUAL(nox_op_resolve(nox_test_op(engine, "transfer"), t3, 2, NULL, 3, &call, &err), NOX_ERR_TYPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "takes 3 inputs"));
    err = (nox_error){0};
    CU_ASSERT_EQUAL(nox_op_resolve(nox_test_op(engine, "safe_add"), t3, 2, NULL, 1, &call, &err), NOX_ERR_TYPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "produces 2 outputs"));
    /* the right arity resolves */
    err = (nox_error){0};
    CU_ASSERT_EQUAL(nox_op_resolve(nox_test_op(engine, "safe_add"), t3, 2, NULL, 2, &call, &err), NOX_OK);
    CU_ASSERT_EQUAL(call.n_inputs, 2);
    CU_ASSERT_EQUAL(call.n_outputs, 2);
    CU_ASSERT_EQUAL(call.out_types[0], NOX_TYPE_BOOL);
    CU_ASSERT_EQUAL(call.out_types[1], NOX_TYPE_UINT8);
    /* and through nox_op_eval */
    nox_value in[1] = {v_u64(NOX_TYPE_UINT8, 1)}, out[1];
    infer(out, 1);
    expect_error("add", in, 1, out, 1, NOX_ERR_TYPE, "takes 2 inputs", NULL, __LINE__);
}

static void test_type_declared_output_contradicts(void) {
    nox_value in[2] = {v_u64(NOX_TYPE_UINT8, 1), v_u64(NOX_TYPE_UINT8, 1)}, out[2];
    out[0] = v_zero(NOX_TYPE_UINT8);
    expect_error("eq", in, 2, out, 1, NOX_ERR_TYPE, "uint8", "produces bool", __LINE__);
    out[0] = v_zero(NOX_TYPE_UINT16);
    expect_error("add", in, 2, out, 1, NOX_ERR_TYPE, "uint16", "produces uint8", __LINE__);
    out[0] = v_zero(NOX_TYPE_BOOL), out[1] = v_zero(NOX_TYPE_INT8);
    expect_error("safe_add", in, 2, out, 2, NOX_ERR_TYPE, "int8", "produces uint8", __LINE__);
    /* declaring the right types is fine and gives the right result */
    out[0] = v_zero(NOX_TYPE_BOOL), out[1] = v_zero(NOX_TYPE_UINT8);
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_op_eval(nox_test_op(engine, "safe_add"), in, 2, out, 2, &err), NOX_OK);
    CU_ASSERT_EQUAL(out[0].type, NOX_TYPE_BOOL);
    CU_ASSERT_EQUAL(out[0].limb[0], 1);
    CU_ASSERT_EQUAL(out[1].type, NOX_TYPE_UINT8);
    CU_ASSERT_EQUAL(out[1].limb[0], 2);
}

static void test_non_canonical_input_rejected(void) {
    nox_value in[3], out[3];
    in[0] = v_u64(NOX_TYPE_UINT8, 256), in[1] = v_u64(NOX_TYPE_UINT8, 1);
    infer(out, 1);
    expect_error("add", in, 2, out, 1, NOX_ERR_INVALID, "input 0", "uint8", __LINE__);
    /* second operand; int8 -1 sign-extended instead of masked */
    in[0] = v_u64(NOX_TYPE_INT8, 1), in[1] = v_u64(NOX_TYPE_INT8, UINT64_MAX);
    infer(out, 2);
    expect_error("safe_div", in, 2, out, 2, NOX_ERR_INVALID, "input 1", "int8", __LINE__);
    /* a bool other than 0 or 1 */
    in[0] = v_u64(NOX_TYPE_BOOL, 2), in[1] = v_u64(NOX_TYPE_UINT8, 1), in[2] = v_u64(NOX_TYPE_UINT8, 2);
    infer(out, 1);
    expect_error("select", in, 3, out, 1, NOX_ERR_INVALID, "input 0", "bool", __LINE__);
    /* a bit above the width in a higher limb (uint136: 3 limbs) */
    in[0] = v_u64(NOX_TYPE_UINT8 + 16, 1), in[1] = v_pow2(NOX_TYPE_UINT8 + 16, 136);
    infer(out, 1);
    expect_error("lt", in, 2, out, 1, NOX_ERR_INVALID, "input 1", "uint136", __LINE__);
    /* an address with bits above 160 */
    in[0] = v_pow2(NOX_TYPE_ADDRESS, 160), in[1] = v_zero(NOX_TYPE_ADDRESS);
    infer(out, 1);
    expect_error("eq", in, 2, out, 1, NOX_ERR_INVALID, "input 0", "address", __LINE__);
    /* token op, third input */
    in[0] = v_u64(NOX_TYPE_UINT16, 1), in[1] = v_u64(NOX_TYPE_UINT16, 1), in[2] = v_u64(NOX_TYPE_UINT16, 0x10000);
    infer(out, 3);
    expect_error("burn", in, 3, out, 3, NOX_ERR_INVALID, "input 2", "uint16", __LINE__);
}

/*
 * Limbs past nox_type_limbs(type) are not part of a value (plugin.h: "Only
 * the first nox_type_limbs(type) limbs are meaningful; the engine does not
 * read the rest"; nox_value_is_canonical ignores them). A value carrying junk
 * there must either be refused as non-canonical (NOX_ERR_INVALID) or
 * evaluate exactly like the same value without it. Checked for every
 * operator on every type it takes (which also pins down the domains).
 */
static void test_limbs_past_the_width_are_ignored(void) {
    static const char *const ops[] = {"add", "sub", "mul", "div", "safe_add", "safe_sub", "safe_mul",
                                      "safe_div", "eq", "ne", "lt", "le", "gt", "ge", "select",
                                      "transfer", "mint", "burn"};
    enum { N_OPS = sizeof ops / sizeof ops[0] };
    static const uint64_t operands[][3] = {{5, 5, 5}, {100, 50, 30}, {0, 1, 2}, {1, 0, 0}};
    unsigned checked = 0, bad = 0, bad_per_op[N_OPS] = {0};
    for (unsigned t = 0; t <= NOX_TYPE_LAST; t++) {
        if (!nox_type_is_fixed(t)) continue;
        for (size_t k = 0; k < N_OPS; k++) {
            const nox_op *op = nox_test_op(engine, ops[k]);
            uint8_t types[NOX_MAX_ARITY];
            if (nox_op_instantiate(op, (uint8_t)t, types, NULL)) continue; /* not in the operator's domain */
            size_t n_in = nox_op_n_inputs(op), n_out = nox_op_n_outputs(op);
            for (size_t c = 0; c < sizeof operands / sizeof operands[0]; c++) {
                nox_value clean[3], junk[3], o1[3], o2[3];
                for (size_t i = 0; i < n_in; i++) {
                    clean[i] = v_u64(types[i], types[i] == NOX_TYPE_BOOL ? operands[c][i] & 1 : operands[c][i]);
                    junk[i] = clean[i];
                    for (unsigned l = nox_type_limbs(types[i]); l < NOX_VALUE_LIMBS; l++)
                        junk[i].limb[l] = GARBAGE * (2 * i + 1) + l; /* different junk in each input */
                }
                nox_error e1 = {0}, e2 = {0};
                nox_status s1 = eval(ops[k], clean, n_in, o1, n_out, &e1);
                nox_status s2 = eval(ops[k], junk, n_in, o2, n_out, &e2);
                int same = s1 == NOX_OK && s2 == NOX_OK;
                for (size_t i = 0; same && i < n_out; i++) same = nox_value_equal(&o1[i], &o2[i]);
                int ok = same; /* plugin.h: limbs past the width are not part of the value */
                checked++;
                if (ok) continue;
                bad_per_op[k]++;
                if (bad++ < 4) {
                    printf("\n  %s %s (%" PRIu64 ", %" PRIu64 ", %" PRIu64 ") with junk in limbs %u..31: ", ops[k],
                           nox_type_name(t), operands[c][0], operands[c][1], operands[c][2], nox_type_limbs(t));
                    if (s1 || s2) {
                        printf("error: %s\n", s1 ? e1.message : e2.message);
                    } else {
                        printf("outputs differ\n");
                        for (size_t i = 0; i < n_out; i++) print_value("clean", &o1[i]), print_value("junk ", &o2[i]);
                    }
                }
            }
        }
    }
    if (bad) {
        printf("  %u of %u cases differ:", bad, checked);
        for (size_t k = 0; k < N_OPS; k++)
            if (bad_per_op[k]) printf(" %s %u", ops[k], bad_per_op[k]);
        printf("\n");
    }
    /* domains: 12 ops on 70 integer types, eq/ne also on bool and address, select on
       104 types (bool, address, 64 fixed ints, 32 bytesN, 6 wide), token ops on 32 uints */
    CU_ASSERT_EQUAL(checked, 4u * (12 * 70 + 2 * 72 + 104 + 3 * 32));
    CU_ASSERT_EQUAL(bad, 0);
}

/* ------------------------------------------------------------------------ */

int main(void) {
    engine = nox_test_engine();
    CU_TestInfo tests[] = {
        {"spec §5 worked examples: arithmetic", test_spec_examples_arithmetic},
        {"spec §5 worked examples: token", test_spec_examples_token},
        {"more hand-checked cases", test_more_hand_cases},
        {"div by zero = MAX, every width", test_div_by_zero_is_max_every_width},
        {"signed MIN / -1 = MIN, every width", test_signed_min_div_minus_one_every_width},
        {"safe_* failure = (false, 0), every width", test_safe_failure_result_is_zero_every_width},
        {"select on bool/address/bytes32/int256/uint2048", test_select_types},
        {"eq/ne on bool and address", test_eq_ne_bool_address},
        {"type error: mismatched operands", test_type_mismatched_operands},
        {"type error: unsupported operand types", test_type_unsupported_operand_types},
        {"type error: wrong arity", test_type_wrong_arity},
        {"type error: declared output contradicts", test_type_declared_output_contradicts},
        {"non-canonical input rejected", test_non_canonical_input_rejected},
        {"limbs past the width are ignored", test_limbs_past_the_width_are_ignored},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("operators_examples", tests);
    nox_engine_free(engine);
    return rc;
}
