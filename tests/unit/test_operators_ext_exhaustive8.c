/*
 * Exhaustive 8-bit check of the extension operators (ids >= 64: the minmax,
 * bitwise, shift and cast plugins) through the engine (nox_op_eval), against
 * a reference written here independently in plain wider C integers:
 *   - uint8 and int8: every operand pair (65,536) of min, max, rem, and, or,
 *     xor, shl, shr, rotl, rotr (for the shifts: every value and every amount);
 *   - every value of neg and not, on uint8 and int8; and, or, xor, not on bool;
 *   - cast: every uint8, int8 and bool value to every integer type and bool
 *     (uint8..uint256, int8..int256, the six wide types: 71 targets), and a
 *     sample of wide and 16..256-bit values (edge patterns) to every type;
 *   - type errors: wrong arity, mixed types, types outside a family's set,
 *     an undeclared or wrongly declared output.
 * Mismatches are counted; the first few are printed.
 */
#include <stdint.h>

#include "exhaustive8.h"
#include "nox/types.h"
#include "nox/value.h"
#include "test_util.h"

static nox_engine *engine;

/* ------------------------------------------------------------------------ */
/* Reference model on 8-bit operands, in wider integers                     */
/* ------------------------------------------------------------------------ */

/* floor(x / 2^s) for any sign, without relying on >> of a negative number. */
static int64_t floor_shift(int64_t x, unsigned s) {
    int64_t d = (int64_t)1 << s;
    int64_t q = x / d; /* toward zero */
    if (x % d != 0 && x < 0) q -= 1;
    return q;
}

typedef enum { MIN, MAX, REM, AND, OR, XOR, SHL, SHR, ROTL, ROTR, N_BINARY } binop;
static const char *const binop_names[N_BINARY] = {"min", "max", "rem", "and", "or",
                                                  "xor", "shl", "shr", "rotl", "rotr"};

static unsigned ref_binary(binop op, unsigned pa, unsigned pb, int s) {
    int64_t a = value_of(pa, s), b = value_of(pb, s);
    unsigned amount = pb % 8; /* the amount's pattern, unsigned, modulo the width */
    switch (op) {
    case MIN: return wrap8(a < b ? a : b);
    case MAX: return wrap8(a < b ? b : a);
    case REM: return b == 0 ? pa : wrap8(a % b); /* C's % truncates: the sign of a; -128 % -1 = 0 */
    case AND: return pa & pb;
    case OR: return pa | pb;
    case XOR: return pa ^ pb;
    case SHL: return (pa << amount) & 0xff;
    case SHR: return s ? wrap8(floor_shift(a, amount)) : pa >> amount;
    case ROTL: return ((pa << amount) | (pa >> (8 - amount))) & 0xff;
    case ROTR: return ((pa >> amount) | (pa << (8 - amount))) & 0xff;
    default: abort();
    }
}

/* ------------------------------------------------------------------------ */
/* Evaluation                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Evaluates a one-output operator on `in` (n_in values), the output declared
 * as `out_type` (NOX_TYPE_INFER to infer), and compares with the expected
 * type and limbs (all NOX_VALUE_LIMBS of `want`; only the type's are compared).
 */
static void check(const char *opname, const nox_value *in, size_t n_in, uint8_t out_type, uint8_t want_type,
                  const uint64_t *want, tally *t) {
    const nox_op *op = nox_test_op(engine, opname);
    nox_value out;
    for (size_t k = 0; k < NOX_VALUE_LIMBS; k++) out.limb[k] = GARBAGE;
    out.type = out_type;
    nox_error err = {0};
    nox_status st = nox_op_eval(op, in, n_in, &out, 1, &err);
    int ok = st == NOX_OK && out.type == want_type &&
             !memcmp(out.limb, want, nox_type_limbs(want_type) * sizeof(uint64_t));
    t->checked++;
    if (ok || t->mismatches++ >= MAX_REPORTS) return;
    printf("\n  mismatch: %s (", opname);
    for (size_t i = 0; i < n_in; i++)
        printf("%s%s 0x%llx", i ? ", " : "", nox_type_name(in[i].type), (unsigned long long)in[i].limb[0]);
    printf(") -> %s: expected limb0 0x%llx limb1 0x%llx", nox_type_name(want_type), (unsigned long long)want[0],
           (unsigned long long)want[1]);
    if (st) printf(", got error %s: %s\n", nox_status_name(st), err.message);
    else
        printf(", got %s limb0 0x%llx limb1 0x%llx\n", nox_type_name(out.type) ? nox_type_name(out.type) : "?",
               (unsigned long long)out.limb[0], (unsigned long long)out.limb[1]);
}

static nox_value small_value(uint8_t type, uint64_t pattern) {
    nox_value v;
    nox_value_zero(&v, type);
    v.limb[0] = pattern;
    return v;
}

/* ------------------------------------------------------------------------ */
/* Binary and unary operators                                               */
/* ------------------------------------------------------------------------ */

static void exhaust_binary(binop op, uint8_t type) {
    int s = nox_type_is_signed(type);
    tally t = {0, 0};
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++) {
            nox_value in[2] = {small_value(type, a), small_value(type, b)};
            uint64_t want[NOX_VALUE_LIMBS] = {ref_binary(op, a, b, s)};
            check(binop_names[op], in, 2, NOX_TYPE_INFER, type, want, &t);
        }
    assert_tally_pairs(binop_names[op], type, &t);
}

BINARY_TESTS(MIN, min)
BINARY_TESTS(MAX, max)
BINARY_TESTS(REM, rem)
BINARY_TESTS(AND, and)
BINARY_TESTS(OR, or)
BINARY_TESTS(XOR, xor)
BINARY_TESTS(SHL, shl)
BINARY_TESTS(SHR, shr)
BINARY_TESTS(ROTL, rotl)
BINARY_TESTS(ROTR, rotr)

/* neg and not on every uint8 and int8 value. */
static void test_unary(void) {
    static const uint8_t types[] = {NOX_TYPE_UINT8, NOX_TYPE_INT8};
    for (size_t k = 0; k < 2; k++) {
        int s = nox_type_is_signed(types[k]);
        tally tn = {0, 0}, tb = {0, 0};
        for (unsigned a = 0; a < 256; a++) {
            nox_value in = small_value(types[k], a);
            uint64_t want_neg[NOX_VALUE_LIMBS] = {wrap8(-(int64_t)value_of(a, s))};
            uint64_t want_not[NOX_VALUE_LIMBS] = {wrap8(-(int64_t)value_of(a, s) - 1)}; /* ~x = -x - 1 */
            check("neg", &in, 1, NOX_TYPE_INFER, types[k], want_neg, &tn);
            check("not", &in, 1, NOX_TYPE_INFER, types[k], want_not, &tb);
        }
        assert_tally("neg", &tn, 256);
        assert_tally("not", &tb, 256);
    }
    /* the wrapping cases named by the semantics */
    nox_value min8 = small_value(NOX_TYPE_INT8, 0x80), one = small_value(NOX_TYPE_UINT8, 1);
    tally t = {0, 0};
    uint64_t w80[NOX_VALUE_LIMBS] = {0x80}, wff[NOX_VALUE_LIMBS] = {0xff};
    check("neg", &min8, 1, NOX_TYPE_INFER, NOX_TYPE_INT8, w80, &t); /* neg(MIN) = MIN */
    check("neg", &one, 1, NOX_TYPE_INFER, NOX_TYPE_UINT8, wff, &t); /* 2^8 - 1 */
    assert_tally("neg edge cases", &t, 2);
}

/* and, or, xor, not on bool: the logical operators. */
static void test_bool(void) {
    tally t = {0, 0};
    for (unsigned a = 0; a < 2; a++) {
        nox_value x = small_value(NOX_TYPE_BOOL, a);
        uint64_t w[NOX_VALUE_LIMBS] = {!a};
        check("not", &x, 1, NOX_TYPE_INFER, NOX_TYPE_BOOL, w, &t);
        for (unsigned b = 0; b < 2; b++) {
            nox_value in[2] = {x, small_value(NOX_TYPE_BOOL, b)};
            uint64_t wa[NOX_VALUE_LIMBS] = {a && b}, wo[NOX_VALUE_LIMBS] = {a || b}, wx[NOX_VALUE_LIMBS] = {a != b};
            check("and", in, 2, NOX_TYPE_INFER, NOX_TYPE_BOOL, wa, &t);
            check("or", in, 2, NOX_TYPE_INFER, NOX_TYPE_BOOL, wo, &t);
            check("xor", in, 2, NOX_TYPE_INFER, NOX_TYPE_BOOL, wx, &t);
        }
    }
    assert_tally("bool and/or/xor/not", &t, 14);
}

/* ------------------------------------------------------------------------ */
/* cast                                                                     */
/* ------------------------------------------------------------------------ */

/* Every integer type and bool: the targets (and sources) of cast. */
static unsigned cast_types(uint8_t *out) {
    unsigned n = 0;
    out[n++] = NOX_TYPE_BOOL;
    for (unsigned c = NOX_TYPE_UINT8; c <= NOX_TYPE_INT2048; c++)
        if (nox_type_is_integer(c)) out[n++] = (uint8_t)c;
    return n;
}

/*
 * The expected bit pattern of the number x (|x| < 2^63) cast to `type`:
 * x modulo 2^N, i.e. the low N bits of its infinite two's complement
 * expansion (limbs of all ones above for negative x); bool: x != 0.
 */
static void expected_cast(uint64_t *want, int64_t x, uint8_t type) {
    memset(want, 0, NOX_VALUE_LIMBS * sizeof want[0]);
    if (type == NOX_TYPE_BOOL) {
        want[0] = x != 0;
        return;
    }
    unsigned bits = nox_type_bits(type);
    for (unsigned i = 0; i < nox_type_limbs(type); i++) {
        want[i] = i == 0 ? (uint64_t)x : x < 0 ? UINT64_MAX : 0;
        if (bits < 64 * (i + 1)) want[i] &= ((uint64_t)1 << (bits - 64 * i)) - 1;
    }
}

/* Every uint8, int8 and bool value to every integer type and bool. */
static void test_cast_from_8bit(void) {
    static const uint8_t sources[] = {NOX_TYPE_UINT8, NOX_TYPE_INT8, NOX_TYPE_BOOL};
    uint8_t targets[80];
    unsigned nt = cast_types(targets);
    CU_ASSERT_EQUAL(nt, 71);
    unsigned long want_checked = 0;
    tally t = {0, 0};
    for (size_t k = 0; k < 3; k++) {
        uint8_t src = sources[k];
        unsigned nv = src == NOX_TYPE_BOOL ? 2 : 256;
        for (unsigned j = 0; j < nt; j++)
            for (unsigned p = 0; p < nv; p++) {
                nox_value in = small_value(src, p);
                uint64_t want[NOX_VALUE_LIMBS];
                expected_cast(want, src == NOX_TYPE_BOOL ? (int64_t)p : (int64_t)value_of(p, nox_type_is_signed(src)), targets[j]);
                check("cast", &in, 1, targets[j], targets[j], want, &t);
                want_checked++;
            }
    }
    assert_tally("cast from uint8/int8/bool", &t, want_checked);
    CU_ASSERT_EQUAL(want_checked, 71ul * (256 + 256 + 2));
}

/* The worked examples of the cast semantics. */
static void test_cast_examples(void) {
    tally t = {0, 0};
    struct {
        uint8_t from;
        uint64_t pattern;
        uint8_t to;
        uint64_t want;
    } ex[] = {
        {NOX_TYPE_INT8, 0xff, NOX_TYPE_UINT16, 65535},   /* int8(-1) -> uint16 */
        {NOX_TYPE_UINT16, 300, NOX_TYPE_UINT8, 44},      /* truncation */
        {NOX_TYPE_INT16, 0xff7f, NOX_TYPE_INT8, 0x7f},   /* int16(-129) -> int8 = 127 */
        {NOX_TYPE_UINT8, 200, NOX_TYPE_INT8, 0xc8},      /* reinterpretation: -56 */
        {NOX_TYPE_UINT8, 200, NOX_TYPE_INT16, 200},      /* zero-extension from uint */
        {NOX_TYPE_INT8, 0xc8, NOX_TYPE_INT16, 0xffc8},   /* sign-extension from int */
        {NOX_TYPE_UINT256, 256, NOX_TYPE_BOOL, 1},       /* != 0, not the low bit */
        {NOX_TYPE_UINT256, 256, NOX_TYPE_UINT8, 0},      /* truncation */
        {NOX_TYPE_BOOL, 1, NOX_TYPE_INT32, 1},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        nox_value in = small_value(ex[i].from, ex[i].pattern);
        uint64_t want[NOX_VALUE_LIMBS] = {ex[i].want};
        check("cast", &in, 1, ex[i].to, ex[i].to, want, &t);
    }
    assert_tally("cast examples", &t, sizeof ex / sizeof ex[0]);
}

/*
 * Wide (and 16..256-bit) values to every type: edge patterns whose low limb
 * and sign vary — 0, 1, -1, MIN, MAX, 2^N/2 + 0x1ff, and a limb mix — checked
 * limb by limb against the truncation / extension rule written with plain
 * 64-bit limb arithmetic.
 */
static void test_cast_wide_sample(void) {
    uint8_t types[80];
    unsigned nt = cast_types(types);
    tally t = {0, 0};
    unsigned long want_checked = 0;
    for (unsigned si = 0; si < nt; si++) {
        uint8_t src = types[si];
        if (src == NOX_TYPE_BOOL || nox_type_bits(src) == 8) continue; /* exhaustive above */
        unsigned sb = nox_type_bits(src), sl = nox_type_limbs(src);
        int ss = nox_type_is_signed(src);
        for (unsigned pat = 0; pat < 6; pat++) {
            uint64_t a[NOX_VALUE_LIMBS] = {0};
            for (unsigned i = 0; i < sl; i++) {
                switch (pat) {
                case 0: a[i] = i == 0; break;                                        /* 1 */
                case 1: a[i] = UINT64_MAX; break;                                    /* -1 / MAX */
                case 2: a[i] = i == sl - 1 ? (uint64_t)1 << ((sb - 1) % 64) : 0; break; /* MIN / 2^(N-1) */
                case 3: a[i] = i == sl - 1 ? ~((uint64_t)1 << ((sb - 1) % 64)) : UINT64_MAX; break; /* MAX */
                case 4: a[i] = 0x0123456789abcdefu * (i + 1) ^ 0x8000000000000000u; break;
                default: a[i] = i == 0 ? 0x1ff : i == sl - 1 ? (uint64_t)1 << ((sb - 1) % 64) : 0; break;
                }
                if (sb < 64 * (i + 1)) a[i] &= ((uint64_t)1 << (sb - 64 * i)) - 1;
            }
            int neg = ss && ((a[sl - 1] >> ((sb - 1) % 64)) & 1);
            nox_value in;
            nox_value_zero(&in, src);
            memcpy(in.limb, a, sizeof a);
            for (unsigned ti = 0; ti < nt; ti++) {
                uint8_t dst = types[ti];
                uint64_t want[NOX_VALUE_LIMBS] = {0};
                if (dst == NOX_TYPE_BOOL) {
                    uint64_t any = 0;
                    for (unsigned i = 0; i < sl; i++) any |= a[i];
                    want[0] = any != 0;
                } else {
                    unsigned db = nox_type_bits(dst);
                    for (unsigned i = 0; i < nox_type_limbs(dst); i++) {
                        /* bit j of the result: bit j of a below sb, the sign (or 0) at and above */
                        uint64_t w = 0;
                        for (unsigned bit = 0; bit < 64 && 64 * i + bit < db; bit++) {
                            unsigned j = 64 * i + bit;
                            uint64_t b = j < sb ? (a[j / 64] >> (j % 64)) & 1 : (uint64_t)neg;
                            w |= b << bit;
                        }
                        want[i] = w;
                    }
                }
                check("cast", &in, 1, dst, dst, want, &t);
                want_checked++;
            }
        }
    }
    assert_tally("cast from 16..2048 bits, edge patterns", &t, want_checked);
    CU_ASSERT_EQUAL(want_checked, 6ul * (71 - 3) * 71);
}

/* ------------------------------------------------------------------------ */
/* Type errors                                                              */
/* ------------------------------------------------------------------------ */

/* Evaluates with the given input types (zero values) and declared output; expects NOX_ERR_TYPE and `needle`. */
static void expect_type_error(const char *opname, const uint8_t *in_types, size_t n_in, uint8_t out_type,
                              size_t n_out, const char *needle) {
    const nox_op *op = nox_test_op(engine, opname);
    nox_value in[4], out[2];
    for (size_t i = 0; i < n_in; i++) nox_value_zero(&in[i], in_types[i]);
    for (size_t i = 0; i < n_out; i++) nox_value_zero(&out[i], out_type);
    nox_error err = {0};
    nox_status st = nox_op_eval(op, in, n_in, out, n_out, &err);
    if (st != NOX_ERR_TYPE) printf("\n  %s: status %s (%s), want a type error\n", opname, nox_status_name(st), err.message);
    CU_ASSERT_EQUAL(st, NOX_ERR_TYPE);
    ASSERT_CONTAINS(err.message, needle);
}

static void test_type_errors(void) {
    const uint8_t I = NOX_TYPE_INFER;
    const uint8_t u8u16[] = {NOX_TYPE_UINT8, NOX_TYPE_UINT16}, u8i8[] = {NOX_TYPE_UINT8, NOX_TYPE_INT8},
                  u8[] = {NOX_TYPE_UINT8, NOX_TYPE_UINT8, NOX_TYPE_UINT8}, addr2[] = {NOX_TYPE_ADDRESS, NOX_TYPE_ADDRESS},
                  b2[] = {NOX_TYPE_BOOL, NOX_TYPE_BOOL}, by2[] = {NOX_TYPE_BYTES32, NOX_TYPE_BYTES32},
                  w2[] = {NOX_TYPE_UINT512, NOX_TYPE_UINT256}, ad[] = {NOX_TYPE_ADDRESS}, bo[] = {NOX_TYPE_BOOL};
    /* arity */
    expect_type_error("and", u8, 1, I, 1, "and takes 2 inputs (a, b), got 1");
    expect_type_error("not", u8, 2, I, 1, "not takes 1 input (value), got 2");
    expect_type_error("shl", u8, 3, I, 1, "shl takes 2 inputs (value, amount), got 3");
    expect_type_error("min", u8, 2, I, 2, "min produces 1 output, got 2");
    expect_type_error("cast", u8, 2, NOX_TYPE_UINT16, 1, "cast takes 1 input (value), got 2");
    /* operands must share one type (the shift amount has the value's type) */
    expect_type_error("and", u8u16, 2, I, 1, "operands must share one type");
    expect_type_error("xor", u8i8, 2, I, 1, "operands must share one type");
    expect_type_error("shl", u8u16, 2, I, 1, "operands must share one type: value is uint8, amount is uint16");
    expect_type_error("rem", w2, 2, I, 1, "operands must share one type");
    expect_type_error("max", u8i8, 2, I, 1, "operands must share one type");
    /* types outside a family's set */
    expect_type_error("and", addr2, 2, I, 1, "a cannot be address");
    expect_type_error("or", by2, 2, I, 1, "a cannot be bytes32");
    expect_type_error("shl", b2, 2, I, 1, "value cannot be bool");
    expect_type_error("rotr", addr2, 2, I, 1, "value cannot be address");
    expect_type_error("min", b2, 2, I, 1, "a cannot be bool");
    expect_type_error("neg", bo, 1, I, 1, "value cannot be bool");
    expect_type_error("rem", b2, 2, I, 1, "a cannot be bool");
    expect_type_error("cast", ad, 1, NOX_TYPE_UINT256, 1, "value cannot be address");
    /* declared outputs */
    expect_type_error("and", u8, 2, NOX_TYPE_UINT16, 1, "output result has type uint16, but the operation produces uint8");
    expect_type_error("neg", u8, 1, NOX_TYPE_INT8, 1, "output result has type int8, but the operation produces uint8");
    expect_type_error("cast", u8, 1, I, 1, "the type of output result cannot be inferred; declare it");
    expect_type_error("cast", u8, 1, NOX_TYPE_ADDRESS, 1, "output result cannot be address");
    expect_type_error("cast", u8, 1, NOX_TYPE_BYTES32, 1, "output result cannot be bytes32");
}

/* The extension operators' ids, arities and implementations, as documented. */
static void test_registry(void) {
    static const struct {
        const char *name;
        unsigned id, n_in, impls;
    } want[] = {{"min", 64, 2, 1}, {"max", 65, 2, 1}, {"neg", 66, 1, 1},  {"rem", 67, 2, 2},  {"and", 68, 2, 1},
                {"or", 69, 2, 1},  {"xor", 70, 2, 1}, {"not", 71, 1, 1},  {"shl", 72, 2, 1},  {"shr", 73, 2, 1},
                {"rotl", 74, 2, 1}, {"rotr", 75, 2, 1}, {"cast", 76, 1, 1}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const nox_op *op = nox_test_op(engine, want[i].name);
        CU_ASSERT_EQUAL(nox_op_id(op), want[i].id);
        CU_ASSERT_EQUAL(nox_op_n_inputs(op), want[i].n_in);
        CU_ASSERT_EQUAL(nox_op_n_outputs(op), 1);
        CU_ASSERT_EQUAL(nox_op_impl_count(op), want[i].impls);
        /* constant-time flag: everything but rem */
        for (size_t j = 0; j < nox_op_impl_count(op); j++) {
            uint32_t flags = nox_impl_descriptor(nox_op_impl_at(op, j))->flags;
            CU_ASSERT_EQUAL(!!(flags & NOX_OP_CONSTANT_TIME), strcmp(want[i].name, "rem") != 0);
        }
    }
    char sig[1024];
    nox_impl_signature(nox_op_impl_at(nox_test_op(engine, "cast"), 0), sig, sizeof sig);
    ASSERT_CONTAINS(sig, "cast(T value) -> (U result) where T in {bool, uint8..uint256, int8..int256, "
                         "uint512..uint2048, int512..int2048} and U in {bool, ");
}

/* ------------------------------------------------------------------------ */

int main(void) {
    engine = nox_test_engine_ext();
    CU_TestInfo tests[] = {
        {"registry: ids, arities, flags", test_registry},
        BINARY_INFO(min),
        BINARY_INFO(max),
        BINARY_INFO(rem),
        BINARY_INFO(and),
        BINARY_INFO(or),
        BINARY_INFO(xor),
        BINARY_INFO(shl),
        BINARY_INFO(shr),
        BINARY_INFO(rotl),
        BINARY_INFO(rotr),
        {"neg, not on every uint8/int8", test_unary},
        {"and, or, xor, not on bool", test_bool},
        {"cast every uint8/int8/bool to every type", test_cast_from_8bit},
        {"cast worked examples", test_cast_examples},
        {"cast 16..2048-bit edge patterns to every type", test_cast_wide_sample},
        {"type errors", test_type_errors},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("operators_ext_exhaustive8", tests);
    nox_engine_free(engine);
    return rc;
}
