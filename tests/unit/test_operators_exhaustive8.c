/*
 * Exhaustive 8-bit check of the built-in operators through the engine
 * (nox_op_eval, output types inferred), against a reference model of spec §5
 * written here in plain wider C integers:
 *   - uint8 and int8: every operand pair (65,536) of add, sub, mul, div,
 *     safe_add, safe_sub, safe_mul, safe_div, eq, ne, lt, le, gt, ge;
 *   - select: every (condition, ifTrue, ifFalse) on uint8 and int8, and bool;
 *   - transfer, mint, burn on uint8 over a grid of 66 values per operand
 *     (boundary values and a stride-5 sweep: 287,496 triples per operator).
 * Mismatches are counted; the first few are printed with the operator, type,
 * operands, expected and actual outputs.
 */
#include <stdint.h>

#include "exhaustive8.h"
#include "nox/types.h"
#include "nox/value.h"
#include "test_util.h"

static nox_engine *engine;

/* ------------------------------------------------------------------------ */
/* Reference model (spec §5) on 8-bit operands, in wider integers           */
/* ------------------------------------------------------------------------ */

static int32_t type_min(int is_signed) { return is_signed ? -128 : 0; }
static int32_t type_max(int is_signed) { return is_signed ? 127 : 255; }

static int in_range(int64_t x, int is_signed) { return x >= type_min(is_signed) && x <= type_max(is_signed); }

/* Expected outputs: n values, each an 8-bit pattern or a bool (0/1). */
typedef struct expect {
    unsigned n;
    unsigned v[3];
} expect;

typedef enum { ADD, SUB, MUL, DIV, SAFE_ADD, SAFE_SUB, SAFE_MUL, SAFE_DIV, EQ, NE, LT, LE, GT, GE, N_BINARY } binop;

static const char *const binop_names[N_BINARY] = {"add",      "sub",      "mul",      "div",      "safe_add",
                                                  "safe_sub", "safe_mul", "safe_div", "eq",       "ne",
                                                  "lt",       "le",       "gt",       "ge"};

/* Exact a / b truncated toward zero (b != 0); C division truncates. */
static int64_t quotient(int64_t a, int64_t b) { return a / b; }

static expect ref_binary(binop op, unsigned pa, unsigned pb, int s) {
    int64_t a = value_of(pa, s), b = value_of(pb, s);
    expect e = {1, {0, 0, 0}};
    int64_t exact = 0;
    int defined = 1; /* whether `exact` exists (b != 0 for division) */
    switch (op) {
    case ADD: case SAFE_ADD: exact = a + b; break;
    case SUB: case SAFE_SUB: exact = a - b; break;
    case MUL: case SAFE_MUL: exact = a * b; break;
    case DIV: case SAFE_DIV:
        defined = b != 0;
        exact = defined ? quotient(a, b) : 0;
        break;
    case EQ: e.v[0] = a == b; return e;
    case NE: e.v[0] = a != b; return e;
    case LT: e.v[0] = a < b; return e;
    case LE: e.v[0] = a <= b; return e;
    case GT: e.v[0] = a > b; return e;
    case GE: e.v[0] = a >= b; return e;
    default: abort();
    }
    if (op >= SAFE_ADD) {
        /* (true, exact) when it exists and fits, else (false, 0) */
        int ok = defined && in_range(exact, s);
        e.n = 2;
        e.v[0] = (unsigned)ok;
        e.v[1] = ok ? wrap8(exact) : 0;
        return e;
    }
    if (!defined) {
        e.v[0] = wrap8(type_max(s)); /* b = 0 -> MAX */
        return e;
    }
    /* wrapping; for division only MIN / -1 = 128 wraps, to MIN (-128) */
    e.v[0] = wrap8(exact);
    return e;
}

typedef enum { TRANSFER, MINT, BURN, N_TOKEN } tokenop;
static const char *const token_names[N_TOKEN] = {"transfer", "mint", "burn"};

/* uint8 token ops, all or nothing. Inputs in the spec's field order. */
static expect ref_token(tokenop op, unsigned x, unsigned y, unsigned z) {
    expect e = {3, {0, x, y}};
    int ok;
    unsigned r1, r2;
    switch (op) {
    case TRANSFER: /* (from, to, amount) */
        ok = x >= z && y + z <= 255;
        r1 = x - z, r2 = y + z;
        e.v[1] = x, e.v[2] = y;
        break;
    case MINT: /* (to, amount, supply) */
        ok = x + y <= 255 && z + y <= 255;
        r1 = x + y, r2 = z + y;
        e.v[1] = x, e.v[2] = z;
        break;
    case BURN: /* (from, amount, supply) */
        ok = x >= y && z >= y;
        r1 = x - y, r2 = z - y;
        e.v[1] = x, e.v[2] = z;
        break;
    default: abort();
    }
    e.v[0] = (unsigned)ok;
    if (ok) e.v[1] = r1, e.v[2] = r2;
    return e;
}

/* ------------------------------------------------------------------------ */
/* Evaluation and comparison                                                */
/* ------------------------------------------------------------------------ */

/*
 * Evaluates op on 8-bit operands (in_types[i], patterns p[i]) and compares
 * with e: output i must have type out_types[i] and value e.v[i].
 */
static void check(const nox_op *op, const uint8_t *in_types, const unsigned *p, size_t n_in, const uint8_t *out_types,
                  const expect *e, tally *t) {
    nox_value in[3], out[3];
    nox_error err = {0};
    for (size_t i = 0; i < n_in; i++) {
        nox_value_zero(&in[i], in_types[i]);
        in[i].limb[0] = p[i];
    }
    for (size_t i = 0; i < e->n; i++) {
        for (size_t k = 0; k < NOX_VALUE_LIMBS; k++) out[i].limb[k] = GARBAGE;
        out[i].type = NOX_TYPE_INFER;
    }
    nox_status st = nox_op_eval(op, in, n_in, out, e->n, &err);
    int ok = st == NOX_OK;
    for (size_t i = 0; ok && i < e->n; i++) ok = out[i].type == out_types[i] && out[i].limb[0] == e->v[i];
    t->checked++;
    if (ok) return;
    if (t->mismatches++ < MAX_REPORTS) {
        printf("\n  mismatch: %s %s (", nox_op_name(op), nox_type_name(in_types[n_in - 1]));
        for (size_t i = 0; i < n_in; i++)
            printf("%s%d", i ? ", " : "", value_of(p[i], nox_type_is_signed(in_types[i])));
        printf("): expected (");
        for (size_t i = 0; i < e->n; i++)
            printf("%s%s %d", i ? ", " : "", nox_type_name(out_types[i]),
                   value_of(e->v[i], nox_type_is_signed(out_types[i])));
        if (st) {
            printf("), got error %s: %s\n", nox_status_name(st), err.message);
        } else {
            printf("), got (");
            for (size_t i = 0; i < e->n; i++) {
                const char *tn = nox_type_name(out[i].type);
                printf("%s%s 0x%llx", i ? ", " : "", tn ? tn : "?", (unsigned long long)out[i].limb[0]);
            }
            printf(")\n");
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The checks                                                               */
/* ------------------------------------------------------------------------ */

/* Every pair of 8-bit patterns for one operator on one type. */
static void exhaust_binary(binop op, uint8_t type) {
    const nox_op *o = nox_test_op(engine, binop_names[op]);
    int s = nox_type_is_signed(type);
    uint8_t in_types[2] = {type, type}, out_types[2];
    if (op >= EQ) out_types[0] = NOX_TYPE_BOOL;
    else if (op >= SAFE_ADD) out_types[0] = NOX_TYPE_BOOL, out_types[1] = type;
    else out_types[0] = type;
    tally t = {0, 0};
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++) {
            unsigned p[2] = {a, b};
            expect e = ref_binary(op, a, b, s);
            check(o, in_types, p, 2, out_types, &e, &t);
        }
    assert_tally_pairs(binop_names[op], type, &t);
}

BINARY_TESTS(ADD, add)
BINARY_TESTS(SUB, sub)
BINARY_TESTS(MUL, mul)
BINARY_TESTS(DIV, div)
BINARY_TESTS(SAFE_ADD, safe_add)
BINARY_TESTS(SAFE_SUB, safe_sub)
BINARY_TESTS(SAFE_MUL, safe_mul)
BINARY_TESTS(SAFE_DIV, safe_div)
BINARY_TESTS(EQ, eq)
BINARY_TESTS(NE, ne)
BINARY_TESTS(LT, lt)
BINARY_TESTS(LE, le)
BINARY_TESTS(GT, gt)
BINARY_TESTS(GE, ge)

/* select over every (condition, ifTrue, ifFalse): 2 * 65,536 per 8-bit type, 8 on bool. */
static void test_select(void) {
    const nox_op *o = nox_test_op(engine, "select");
    static const uint8_t types[] = {NOX_TYPE_UINT8, NOX_TYPE_INT8, NOX_TYPE_BOOL};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        uint8_t type = types[k];
        unsigned n = type == NOX_TYPE_BOOL ? 2 : 256;
        uint8_t in_types[3] = {NOX_TYPE_BOOL, type, type}, out_types[1] = {type};
        tally t = {0, 0};
        for (unsigned c = 0; c < 2; c++)
            for (unsigned a = 0; a < n; a++)
                for (unsigned b = 0; b < n; b++) {
                    unsigned p[3] = {c, a, b};
                    expect e = {1, {c ? a : b, 0, 0}};
                    check(o, in_types, p, 3, out_types, &e, &t);
                }
        char what[64];
        snprintf(what, sizeof what, "select %s", nox_type_name(type));
        assert_tally(what, &t, 2ul * n * n);
    }
}

/* Token operands: values at and around the boundaries, plus every multiple of 5. */
static unsigned token_grid(unsigned *g) {
    static const unsigned special[] = {0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 129, 200, 254, 255};
    unsigned char seen[256] = {0};
    unsigned n = 0;
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) seen[special[i]] = 1;
    for (unsigned v = 0; v < 256; v += 5) seen[v] = 1;
    for (unsigned v = 0; v < 256; v++)
        if (seen[v]) g[n++] = v;
    return n;
}

static void exhaust_token(tokenop op) {
    const nox_op *o = nox_test_op(engine, token_names[op]);
    uint8_t in_types[3] = {NOX_TYPE_UINT8, NOX_TYPE_UINT8, NOX_TYPE_UINT8};
    uint8_t out_types[3] = {NOX_TYPE_BOOL, NOX_TYPE_UINT8, NOX_TYPE_UINT8};
    unsigned g[256];
    unsigned n = token_grid(g);
    CU_ASSERT_EQUAL(n, 66);
    tally t = {0, 0};
    unsigned long successes = 0;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < n; j++)
            for (unsigned k = 0; k < n; k++) {
                unsigned p[3] = {g[i], g[j], g[k]};
                expect e = ref_token(op, g[i], g[j], g[k]);
                successes += e.v[0];
                check(o, in_types, p, 3, out_types, &e, &t);
            }
    char what[64];
    snprintf(what, sizeof what, "%s uint8", token_names[op]);
    assert_tally(what, &t, (unsigned long)n * n * n);
    /* the grid exercises both outcomes substantially */
    CU_ASSERT(successes > t.checked / 10 && successes < t.checked - t.checked / 10);
}

static void test_transfer(void) { exhaust_token(TRANSFER); }
static void test_mint(void) { exhaust_token(MINT); }
static void test_burn(void) { exhaust_token(BURN); }

/* ------------------------------------------------------------------------ */

int main(void) {
    engine = nox_test_engine();
    CU_TestInfo tests[] = {
        BINARY_INFO(add),      BINARY_INFO(sub),      BINARY_INFO(mul),      BINARY_INFO(div),
        BINARY_INFO(safe_add), BINARY_INFO(safe_sub), BINARY_INFO(safe_mul), BINARY_INFO(safe_div),
        BINARY_INFO(eq),       BINARY_INFO(ne),       BINARY_INFO(lt),       BINARY_INFO(le),
        BINARY_INFO(gt),       BINARY_INFO(ge),
        {"select uint8/int8/bool", test_select},
        {"transfer uint8 grid", test_transfer},
        {"mint uint8 grid", test_mint},
        {"burn uint8 grid", test_burn},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("operators_exhaustive8", tests);
    nox_engine_free(engine);
    return rc;
}
