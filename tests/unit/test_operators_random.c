/*
 * Randomised check of the built-in operators through the engine (nox_op_eval,
 * output types inferred) against GMP as an independent oracle: the oracle
 * computes the exact result with mpz and applies spec §5 (wrap to the width,
 * div toward zero with b = 0 -> MAX, safe ops (false, 0) when out of range,
 * signed/unsigned order, token ops all or nothing).
 *
 * Types: uint16..uint256 and int16..int256 (every width but 8, which
 * test_operators_exhaustive8 covers completely) and the six wide types.
 * Operators: add sub mul div safe_add safe_sub safe_mul safe_div eq ne lt le
 * gt ge select on all of them; transfer mint burn on uint16..uint256.
 * Per (operator, type): every pair of a small set of edge values, then random
 * cases up to CASES_FIXED (CASES_WIDE for the wide types).
 *
 * Deterministic: the seed is fixed (NOX_TEST_SEED in the environment
 * overrides it) and printed with every mismatch, with the operator, type,
 * case number, operands, expected and actual outputs.
 */
#include <inttypes.h>
#include <stdint.h>

#include "gmp_values.h"
#include "nox/types.h"
#include "nox/value.h"
#include "test_util.h"

static nox_engine *engine;
static uint64_t seed = 0x4e4f582d6f707321u; /* "NOX-ops!" */

#define CASES_FIXED 500
#define CASES_WIDE 300
/* Outputs are pre-filled with this pattern: a plugin must write every meaningful limb. */
#define GARBAGE 0xa5a5a5a5a5a5a5a5u
/* Mismatches printed per (operator, type) before going quiet. */
#define MAX_REPORTS 3

typedef enum {
    ADD, SUB, MUL, DIV, SAFE_ADD, SAFE_SUB, SAFE_MUL, SAFE_DIV,
    EQ, NE, LT, LE, GT, GE, SELECT, TRANSFER, MINT, BURN, N_OPS
} opcode;

static const char *const op_names[N_OPS] = {"add", "sub", "mul", "div", "safe_add", "safe_sub", "safe_mul",
                                            "safe_div", "eq", "ne", "lt", "le", "gt", "ge", "select",
                                            "transfer", "mint", "burn"};

static int is_safe(opcode op) { return op >= SAFE_ADD && op <= SAFE_DIV; }
static int is_cmp(opcode op) { return op >= EQ && op <= GE; }
static int is_token(opcode op) { return op >= TRANSFER; }
static int is_div(opcode op) { return op == DIV || op == SAFE_DIV; }

/* ------------------------------------------------------------------------ */
/* Reference model (spec §5) with mpz                                       */
/* ------------------------------------------------------------------------ */

static int in_range(const mpz_t x, const tinfo *t) {
    mpz_t lo, hi;
    mpz_inits(lo, hi, NULL);
    type_min(lo, t);
    type_max(hi, t);
    int ok = mpz_cmp(x, lo) >= 0 && mpz_cmp(x, hi) <= 0;
    mpz_clears(lo, hi, NULL);
    return ok;
}

/* Expected outputs: their types and bit patterns. */
typedef struct expect {
    unsigned n;
    uint8_t types[3];
    uint64_t limbs[3][NOX_VALUE_LIMBS];
} expect;

static void put(expect *e, unsigned i, uint8_t type, const mpz_t x) {
    e->types[i] = type;
    pattern_of(e->limbs[i], x, nox_type_bits(type));
}

static void put_bool(expect *e, unsigned i, int b) {
    e->types[i] = NOX_TYPE_BOOL;
    memset(e->limbs[i], 0, sizeof e->limbs[i]);
    e->limbs[i][0] = b ? 1 : 0;
}

/* The spec's outputs of `op` on the numbers x[] (select: x[0] is the condition, 0 or 1). */
static void oracle(opcode op, const tinfo *t, mpz_t *x, expect *e) {
    mpz_t r, max, s;
    mpz_inits(r, max, s, NULL);
    type_max(max, t);
    int defined = 1; /* division by zero has no exact result */
    switch (op) {
    case ADD: case SAFE_ADD: mpz_add(r, x[0], x[1]); break;
    case SUB: case SAFE_SUB: mpz_sub(r, x[0], x[1]); break;
    case MUL: case SAFE_MUL: mpz_mul(r, x[0], x[1]); break;
    case DIV: case SAFE_DIV:
        defined = mpz_sgn(x[1]) != 0;
        if (defined) mpz_tdiv_q(r, x[0], x[1]); /* toward zero */
        break;
    default: break;
    }
    switch (op) {
    case ADD: case SUB: case MUL:
        e->n = 1;
        put(e, 0, t->code, r); /* wrapped modulo 2^N */
        break;
    case DIV:
        e->n = 1;
        if (!defined) mpz_set(r, max); /* b = 0 -> MAX */
        /* else wrapping: only MIN / -1 = 2^(N-1) wraps, to MIN, as the spec says */
        put(e, 0, t->code, r);
        break;
    case SAFE_ADD: case SAFE_SUB: case SAFE_MUL: case SAFE_DIV: {
        int ok = defined && in_range(r, t);
        e->n = 2;
        put_bool(e, 0, ok);
        if (!ok) mpz_set_ui(r, 0);
        put(e, 1, t->code, r);
        break;
    }
    case EQ: case NE: case LT: case LE: case GT: case GE: {
        int c = mpz_cmp(x[0], x[1]);
        int b = op == EQ ? c == 0 : op == NE ? c != 0 : op == LT ? c < 0 : op == LE ? c <= 0 : op == GT ? c > 0 : c >= 0;
        e->n = 1;
        put_bool(e, 0, b);
        break;
    }
    case SELECT:
        e->n = 1;
        put(e, 0, t->code, mpz_sgn(x[0]) ? x[1] : x[2]);
        break;
    case TRANSFER: { /* (from, to, amount) -> (ok, from - amount, to + amount) or (false, from, to) */
        mpz_sub(r, x[0], x[2]);
        mpz_add(s, x[1], x[2]);
        int ok = mpz_sgn(r) >= 0 && mpz_cmp(s, max) <= 0;
        e->n = 3;
        put_bool(e, 0, ok);
        put(e, 1, t->code, ok ? r : x[0]);
        put(e, 2, t->code, ok ? s : x[1]);
        break;
    }
    case MINT: { /* (to, amount, supply) -> (ok, to + amount, supply + amount) or (false, to, supply) */
        mpz_add(r, x[0], x[1]);
        mpz_add(s, x[2], x[1]);
        int ok = mpz_cmp(r, max) <= 0 && mpz_cmp(s, max) <= 0;
        e->n = 3;
        put_bool(e, 0, ok);
        put(e, 1, t->code, ok ? r : x[0]);
        put(e, 2, t->code, ok ? s : x[2]);
        break;
    }
    case BURN: { /* (from, amount, supply) -> (ok, from - amount, supply - amount) or (false, from, supply) */
        mpz_sub(r, x[0], x[1]);
        mpz_sub(s, x[2], x[1]);
        int ok = mpz_sgn(r) >= 0 && mpz_sgn(s) >= 0;
        e->n = 3;
        put_bool(e, 0, ok);
        put(e, 1, t->code, ok ? r : x[0]);
        put(e, 2, t->code, ok ? s : x[2]);
        break;
    }
    default: abort();
    }
    mpz_clears(r, max, s, NULL);
}

/* ------------------------------------------------------------------------ */
/* Operand generation                                                       */
/* ------------------------------------------------------------------------ */

/* r = a number whose 64-bit limbs each come from a small set of carry-, borrow- and
 * quotient-estimate-prone patterns (multi-limb division corner cases), then
 * possibly shortened to a random number of limbs. */
static void limb_patterns(mpz_t r, const tinfo *t) {
    static const uint64_t pick[] = {0, 1, 2, 3, 0x7fffffffffffffffu, 0x8000000000000000u, 0x8000000000000001u,
                                    0xfffffffffffffffeu, 0xffffffffffffffffu, 0x2000000000000000u,
                                    0x000000000000fffeu, 0x00000000ffffffffu};
    uint64_t limbs[NOX_VALUE_LIMBS] = {0};
    unsigned n = 1 + rnd_below(t->limbs);
    for (unsigned i = 0; i < n; i++) limbs[i] = pick[rnd_below(sizeof pick / sizeof pick[0])];
    mpz_import(r, n, -1, sizeof(uint64_t), 0, 0, limbs);
}

/* One operand, from a mix of regions, in the type's range. */
static void gen_operand(mpz_t r, const tinfo *t) {
    switch (rnd_below(10)) {
    case 0: case 1: /* uniform over all bit patterns */
        random_bits(r, t->bits);
        break;
    case 2: /* small, either sign */
        mpz_set_ui(r, rnd_below(17));
        if (t->is_signed && rnd_below(2)) mpz_neg(r, r);
        break;
    case 3: /* at or just below MAX */
        type_max(r, t);
        mpz_sub_ui(r, r, rnd_below(4));
        break;
    case 4: /* at or just above MIN (0 for unsigned) */
        type_min(r, t);
        mpz_add_ui(r, r, rnd_below(4));
        break;
    case 5: /* a power of two, +-1, either sign */
        mpz_set_ui(r, 0);
        mpz_setbit(r, rnd_below(t->bits));
        if (rnd_below(3) == 0) mpz_add_ui(r, r, 1);
        else if (rnd_below(2)) mpz_sub_ui(r, r, 1);
        if (t->is_signed && rnd_below(2)) mpz_neg(r, r);
        break;
    case 6: case 7: /* a random magnitude: uniform below 2^k for a random k */
        random_bits(r, 1 + rnd_below(t->bits));
        if (t->is_signed && rnd_below(2)) mpz_neg(r, r);
        break;
    case 8: /* limbs from carry/borrow/division corner-case patterns */
        limb_patterns(r, t);
        break;
    default: /* about half the width: products near the overflow boundary */
        random_bits(r, t->bits / 2 - 2 + rnd_below(4));
        if (t->is_signed && rnd_below(2)) mpz_neg(r, r);
        break;
    }
    wrap(r, r, t);
}

/* Operands for a binary operator, with related pairs mixed in. */
static void gen_binary(mpz_t *x, const tinfo *t, opcode op) {
    gen_operand(x[0], t);
    gen_operand(x[1], t);
    switch (rnd_below(12)) {
    case 0: mpz_set(x[1], x[0]); break;                                /* equal */
    case 1: mpz_add_ui(x[1], x[0], 1), wrap(x[1], x[1], t); break;    /* neighbours */
    case 2: mpz_sub_ui(x[1], x[0], 1), wrap(x[1], x[1], t); break;
    case 3: mpz_neg(x[1], x[0]), wrap(x[1], x[1], t); break;          /* a + b = 0 (mod 2^N) */
    case 4: if (is_div(op)) mpz_set_ui(x[1], 0); break;               /* b = 0 */
    case 5:                                                           /* b = -1 (1 unsigned) */
        if (is_div(op)) mpz_set_si(x[1], t->is_signed ? -1 : 1);
        break;
    case 6: /* MIN / -1 */
        if (is_div(op) && t->is_signed) type_min(x[0], t), mpz_set_si(x[1], -1);
        break;
    case 7: case 8: /* both from limb patterns: multi-limb division corner cases */
        if (is_div(op)) limb_patterns(x[0], t), wrap(x[0], x[0], t), limb_patterns(x[1], t), wrap(x[1], x[1], t);
        break;
    default: break;
    }
}

/* Operands for a token operator (all unsigned), with boundary relations mixed in. */
static void gen_token(mpz_t *x, const tinfo *t, opcode op) {
    for (int i = 0; i < 3; i++) gen_operand(x[i], t);
    mpz_t max;
    mpz_init(max);
    type_max(max, t);
    /* the amount is x[2] for transfer, x[1] for mint and burn */
    mpz_ptr amount = op == TRANSFER ? x[2] : x[1];
    mpz_ptr bal = x[0], other = op == TRANSFER ? x[1] : x[2];
    switch (rnd_below(8)) {
    case 0: mpz_set(amount, bal); break;                                    /* exactly the balance */
    case 1: mpz_add_ui(amount, bal, 1), wrap(amount, amount, t); break;     /* one more than the balance */
    case 2: mpz_sub(other, max, amount); break;                             /* other + amount = MAX */
    case 3: mpz_sub(other, max, amount), mpz_add_ui(other, other, 1), wrap(other, other, t); break;
    case 4: /* small amount against large balances: mostly succeeds */
        mpz_set_ui(amount, rnd_below(1000));
        mpz_fdiv_q_2exp(other, other, 2);
        break;
    default: break;
    }
    mpz_clear(max);
}

/* The edge values: every pair (triple for token ops: a slice) is checked first. */
static size_t edges(mpz_t *v, const tinfo *t) {
    size_t n = 0;
    mpz_set_ui(v[n++], 0);
    mpz_set_ui(v[n++], 1);
    mpz_set_ui(v[n++], 2);
    type_max(v[n++], t);
    mpz_sub_ui(v[n], v[n - 1], 1), n++;
    mpz_set_ui(v[n], 0), mpz_setbit(v[n], t->bits / 2), n++;
    if (t->is_signed) {
        mpz_set_si(v[n++], -1);
        mpz_set_si(v[n++], -2);
        type_min(v[n++], t);
        mpz_add_ui(v[n], v[n - 1], 1), n++;
    } else {
        mpz_set_ui(v[n], 0), mpz_setbit(v[n], t->bits - 1), n++;
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* The checks                                                               */
/* ------------------------------------------------------------------------ */

typedef struct tally {
    unsigned long checked, mismatches;
    unsigned long outcome[2]; /* bool first output false / true (comparisons, safe and token ops) */
} tally;

static void report(opcode op, const tinfo *t, unsigned long case_no, uint64_t case_seed, mpz_t *x, size_t n_in,
                   const expect *e, nox_status st, const nox_error *err, const nox_value *out) {
    printf("\n  mismatch: %s %s, seed 0x%016" PRIx64 " (NOX_TEST_SEED), case %lu [stream 0x%016" PRIx64 "]\n",
           op_names[op], nox_type_name(t->code), seed, case_no, case_seed);
    for (size_t i = 0; i < n_in; i++) gmp_printf("    operand %zu: %Zd (0x%Zx)\n", i, x[i], x[i]);
    mpz_t v;
    mpz_init(v);
    for (unsigned i = 0; i < e->n; i++) {
        tinfo ot = tinfo_of(e->types[i]);
        nox_value w;
        nox_value_zero(&w, e->types[i]);
        memcpy(w.limb, e->limbs[i], sizeof w.limb);
        mpz_of_value(v, &w, &ot);
        gmp_printf("    expected %u: %s %Zd\n", i, nox_type_name(e->types[i]), v);
    }
    if (st) {
        printf("    got error %s: %s\n", nox_status_name(st), err->message);
    } else {
        for (unsigned i = 0; i < e->n; i++) {
            const char *tn = nox_type_name(out[i].type);
            if (!tn || !nox_type_is_fixed(out[i].type)) {
                printf("    actual %u: type code %u\n", i, out[i].type);
                continue;
            }
            tinfo ot = tinfo_of(out[i].type);
            mpz_of_value(v, &out[i], &ot);
            gmp_printf("    actual %u: %s %Zd\n", i, tn, v);
        }
    }
    mpz_clear(v);
}

/* Evaluates op on x[0..n_in) and compares every output with the oracle's. */
static void check_case(opcode op, const nox_op *o, const tinfo *t, mpz_t *x, size_t n_in, tally *ta,
                       uint64_t case_seed) {
    nox_value in[3], out[3];
    for (size_t i = 0; i < n_in; i++)
        value_of_mpz(&in[i], x[i], op == SELECT && i == 0 ? NOX_TYPE_BOOL : t->code);
    expect e;
    oracle(op, t, x, &e);
    for (unsigned i = 0; i < e.n; i++) {
        for (size_t k = 0; k < NOX_VALUE_LIMBS; k++) out[i].limb[k] = GARBAGE;
        out[i].type = NOX_TYPE_INFER;
    }
    nox_error err = {0};
    nox_status st = nox_op_eval(o, in, n_in, out, e.n, &err);
    int ok = st == NOX_OK;
    for (unsigned i = 0; ok && i < e.n; i++)
        ok = out[i].type == e.types[i] &&
             !memcmp(out[i].limb, e.limbs[i], nox_type_limbs(e.types[i]) * sizeof(uint64_t));
    if (e.types[0] == NOX_TYPE_BOOL && op != SELECT) ta->outcome[e.limbs[0][0] & 1]++;
    ta->checked++;
    if (!ok && ta->mismatches++ < MAX_REPORTS) report(op, t, ta->checked, case_seed, x, n_in, &e, st, &err, out);
}

/* All cases of one operator on one type. */
static void run_op_type(opcode op, uint8_t code) {
    const nox_op *o = nox_test_op(engine, op_names[op]);
    tinfo t = tinfo_of(code);
    size_t n_in = nox_op_n_inputs(o);
    unsigned long want = nox_type_is_wide(code) ? CASES_WIDE : CASES_FIXED;
    /* one reproducible stream per (seed, operator, type) */
    rng = seed ^ ((uint64_t)op << 40) ^ ((uint64_t)code << 48);
    uint64_t stream = rng;
    tally ta = {0, 0, {0, 0}};
    mpz_t x[3], ev[12];
    for (int i = 0; i < 3; i++) mpz_init(x[i]);
    for (int i = 0; i < 12; i++) mpz_init(ev[i]);
    size_t ne = edges(ev, &t);

    /* edge values: every pair; for token ops the triples (e, e', e'') over a slice, for select both conditions */
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < ne; j++) {
            if (is_token(op)) {
                mpz_set(x[0], ev[i]), mpz_set(x[1], ev[j]), mpz_set(x[2], ev[(i + j) % ne]);
            } else if (op == SELECT) {
                mpz_set_ui(x[0], (i + j) & 1), mpz_set(x[1], ev[i]), mpz_set(x[2], ev[j]);
            } else {
                mpz_set(x[0], ev[i]), mpz_set(x[1], ev[j]);
            }
            check_case(op, o, &t, x, n_in, &ta, stream);
        }
    /* random cases */
    while (ta.checked < want) {
        if (is_token(op)) {
            gen_token(x, &t, op);
        } else if (op == SELECT) {
            mpz_set_ui(x[0], rnd_below(2));
            gen_binary(x + 1, &t, op);
        } else {
            gen_binary(x, &t, op);
        }
        check_case(op, o, &t, x, n_in, &ta, stream);
    }
    for (int i = 0; i < 3; i++) mpz_clear(x[i]);
    for (int i = 0; i < 12; i++) mpz_clear(ev[i]);

    if (ta.mismatches)
        printf("  %s %s: %lu of %lu cases wrong\n", op_names[op], nox_type_name(code), ta.mismatches, ta.checked);
    CU_ASSERT_EQUAL(ta.checked, want);
    CU_ASSERT_EQUAL(ta.mismatches, 0);
    /* the generator reaches both outcomes of every bool-valued operator */
    if (is_safe(op) || is_cmp(op) || is_token(op)) {
        if (!ta.outcome[0] || !ta.outcome[1])
            printf("  %s %s: only one outcome generated (%lu false, %lu true)\n", op_names[op], nox_type_name(code),
                   ta.outcome[0], ta.outcome[1]);
        CU_ASSERT(ta.outcome[0] > 0 && ta.outcome[1] > 0);
    }
}

/* Every applicable type: uint16..uint256, int16..int256 (unsigned only for token ops), then the wide types. */
static void run_op(opcode op) {
    unsigned types = 0;
    for (unsigned bits = 16; bits <= 256; bits += 8) {
        run_op_type(op, (uint8_t)(3 + bits / 8)), types++;
        if (!is_token(op)) run_op_type(op, (uint8_t)(35 + bits / 8)), types++;
    }
    if (!is_token(op))
        for (unsigned c = NOX_TYPE_UINT512; c <= NOX_TYPE_INT2048; c++) run_op_type(op, (uint8_t)c), types++;
    CU_ASSERT_EQUAL(types, is_token(op) ? 31u : 68u);
}

#define OP_TEST(NAME, OP) \
    static void test_##NAME(void) { run_op(OP); }
OP_TEST(add, ADD)
OP_TEST(sub, SUB)
OP_TEST(mul, MUL)
OP_TEST(div, DIV)
OP_TEST(safe_add, SAFE_ADD)
OP_TEST(safe_sub, SAFE_SUB)
OP_TEST(safe_mul, SAFE_MUL)
OP_TEST(safe_div, SAFE_DIV)
OP_TEST(eq, EQ)
OP_TEST(ne, NE)
OP_TEST(lt, LT)
OP_TEST(le, LE)
OP_TEST(gt, GT)
OP_TEST(ge, GE)
OP_TEST(select, SELECT)
OP_TEST(transfer, TRANSFER)
OP_TEST(mint, MINT)
OP_TEST(burn, BURN)

/*
 * Multi-limb division corner cases (Knuth's algorithm D): operand pairs that,
 * at widths of 3 and 4 limbs, make the quotient-digit estimate hit the
 * "top limbs equal" case (qhat = 2^64 - 1) or need one or two add-backs.
 * hd* are the Hacker's Delight divmnu test vectors with 64-bit digits; the
 * others were found by simulating the algorithm. Checked with div and
 * safe_div on every type wide enough, with every sign combination.
 */
static void test_division_corner_cases(void) {
    static const char *const vectors[][2] = {
        /* hd: qhat = 2^64-1 and an add-back */
        {"0x8000000000000000" "0000000000000000" "fffffffffffffffe" "0000000000000000",
         "0x8000000000000000" "0000000000000000" "ffffffffffffffff"},
        {"0x8000000000000000" "0000000000000000" "000000000000fffe" "0000000000000000",
         "0x8000000000000000" "0000000000000000" "000000000000ffff"},
        /* hd: add-back needed */
        {"0x8000000000000000" "0000000000000000" "0000000000000003",
         "0x2000000000000000" "0000000000000000" "0000000000000001"},
        {"0x7fffffffffffffff" "8000000000000000" "0000000000000000" "0000000000000000",
         "0x8000000000000000" "0000000000000000" "0000000000000001"},
        /* qhat = 2^64-1 with an add-back, at 3 and 4 limbs */
        {"0xfffffffffffffffe" "00000000ffffffff" "0000000000000003", "0xfffffffffffffffe" "2000000000000000"},
        {"0x8000000000000000" "0000000000000001" "8000000000000001", "0x8000000000000000" "000000000000fffe"},
        /* two add-backs */
        {"0x7fffffffffffffff" "2000000000000000" "000000000000fffe", "0x2000000000000000" "7fffffffffffffff"},
        {"0xffffffffffffffff" "0000000000000003" "0000000000000001", "0x2000000000000000" "7fffffffffffffff"},
        /* an add-back at 2 limbs */
        {"0x8000000000000000" "0000000000000000", "0x8000000000000000" "00000000ffffffff"},
    };
    enum { NV = sizeof vectors / sizeof vectors[0] };
    static const opcode ops[] = {DIV, SAFE_DIV};
    mpz_t x[2], a, b;
    mpz_inits(x[0], x[1], a, b, NULL);
    unsigned long checked = 0, types_per_vector[NV] = {0};
    tally ta = {0, 0, {0, 0}};
    for (size_t v = 0; v < NV; v++) {
        CU_ASSERT_EQUAL_FATAL(mpz_set_str(a, vectors[v][0] + 2, 16), 0);
        CU_ASSERT_EQUAL_FATAL(mpz_set_str(b, vectors[v][1] + 2, 16), 0);
        size_t need = mpz_sizeinbase(a, 2) > mpz_sizeinbase(b, 2) ? mpz_sizeinbase(a, 2) : mpz_sizeinbase(b, 2);
        for (unsigned code = NOX_TYPE_UINT8; code <= NOX_TYPE_INT2048; code++) {
            if (!nox_type_is_integer(code)) continue;
            tinfo t = tinfo_of((uint8_t)code);
            if (t.bits - (unsigned)t.is_signed < need) continue; /* does not fit */
            types_per_vector[v]++;
            for (int signs = 0; signs < (t.is_signed ? 4 : 1); signs++) {
                mpz_set(x[0], a), mpz_set(x[1], b);
                if (signs & 1) mpz_neg(x[0], x[0]);
                if (signs & 2) mpz_neg(x[1], x[1]);
                for (size_t k = 0; k < 2; k++) {
                    check_case(ops[k], nox_test_op(engine, op_names[ops[k]]), &t, x, 2, &ta, 0);
                    checked++;
                }
            }
        }
    }
    mpz_clears(x[0], x[1], a, b, NULL);
    if (ta.mismatches) printf("  division corner cases: %lu of %lu wrong\n", ta.mismatches, ta.checked);
    for (size_t v = 0; v < NV; v++) CU_ASSERT(types_per_vector[v] >= 7); /* at least uint256 and the six wide types */
    CU_ASSERT_EQUAL(ta.checked, checked);
    CU_ASSERT(checked > 500);
    CU_ASSERT_EQUAL(ta.mismatches, 0);
}

/* The oracle's conversions themselves, on values known by hand. */
static void test_oracle_conversions(void) {
    mpz_t x;
    mpz_init(x);
    tinfo i16 = tinfo_of(NOX_TYPE_INT16), u256 = tinfo_of(NOX_TYPE_UINT256), i512 = tinfo_of(NOX_TYPE_INT512);
    nox_value v;
    nox_value_zero(&v, NOX_TYPE_INT16);
    v.limb[0] = 0xffff;
    mpz_of_value(x, &v, &i16);
    CU_ASSERT_EQUAL(mpz_cmp_si(x, -1), 0);
    v.limb[0] = 0x8000;
    mpz_of_value(x, &v, &i16);
    CU_ASSERT_EQUAL(mpz_cmp_si(x, -32768), 0);
    mpz_set_si(x, -2);
    value_of_mpz(&v, x, NOX_TYPE_INT16);
    CU_ASSERT_EQUAL(v.limb[0], 0xfffe);
    CU_ASSERT_EQUAL(v.limb[1], 0);
    mpz_set_si(x, -1);
    value_of_mpz(&v, x, NOX_TYPE_UINT256);
    CU_ASSERT(v.limb[0] == UINT64_MAX && v.limb[3] == UINT64_MAX && v.limb[4] == 0);
    mpz_of_value(x, &v, &u256);
    CU_ASSERT_EQUAL(mpz_sizeinbase(x, 2), 256);
    CU_ASSERT_EQUAL(mpz_sgn(x), 1);
    nox_value_zero(&v, NOX_TYPE_INT512);
    v.limb[7] = (uint64_t)1 << 63; /* MIN */
    mpz_of_value(x, &v, &i512);
    mpz_t m;
    mpz_init(m);
    type_min(m, &i512);
    CU_ASSERT_EQUAL(mpz_cmp(x, m), 0);
    CU_ASSERT_EQUAL(mpz_sizeinbase(m, 2), 512);
    CU_ASSERT(mpz_sgn(m) < 0);
    mpz_clears(x, m, NULL);
}

/* ------------------------------------------------------------------------ */

int main(void) {
    const char *s = getenv("NOX_TEST_SEED");
    if (s && *s) seed = strtoull(s, NULL, 0);
    printf("test_operators_random: seed 0x%016" PRIx64 "\n", seed);
    engine = nox_test_engine();
    CU_TestInfo tests[] = {
        {"oracle conversions", test_oracle_conversions},
        {"division corner cases (multi-limb)", test_division_corner_cases},
        {"add", test_add},
        {"sub", test_sub},
        {"mul", test_mul},
        {"div", test_div},
        {"safe_add", test_safe_add},
        {"safe_sub", test_safe_sub},
        {"safe_mul", test_safe_mul},
        {"safe_div", test_safe_div},
        {"eq", test_eq},
        {"ne", test_ne},
        {"lt", test_lt},
        {"le", test_le},
        {"gt", test_gt},
        {"ge", test_ge},
        {"select", test_select},
        {"transfer", test_transfer},
        {"mint", test_mint},
        {"burn", test_burn},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("operators_random", tests);
    nox_engine_free(engine);
    return rc;
}
