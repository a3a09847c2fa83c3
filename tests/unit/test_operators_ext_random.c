/*
 * Randomised check of the extension operators (minmax, bitwise, shift, cast)
 * through the engine (nox_op_eval) against GMP as an independent oracle, on
 * uint16..uint256, int16..int256 and the six wide types (8 bits is covered
 * completely by test_operators_ext_exhaustive8):
 *   - min max rem and or xor shl shr rotl rotr (binary) and neg not (unary):
 *     every pair of a set of edge values, then random cases up to CASES_FIXED
 *     (CASES_WIDE for the wide types); shift amounts mix small amounts, the
 *     width and its multiples and neighbours, and full random patterns;
 *   - cast between every pair of the 71 types (bool and every integer type):
 *     edge values and random values per pair.
 * The oracle: mpz on the numbers the bit patterns stand for — mpz_and/ior/xor/
 * com on the patterns, mul_2exp / fdiv_q_2exp (floor: the arithmetic shift)
 * for the shifts, tdiv_r for rem (the sign of the dividend), wrapped modulo
 * 2^N with fdiv_r_2exp.
 *
 * Deterministic: fixed seed (NOX_TEST_SEED overrides), printed with every mismatch.
 */
#include <inttypes.h>
#include <stdint.h>

#include "gmp_values.h"
#include "nox/types.h"
#include "nox/value.h"
#include "test_util.h"

static nox_engine *engine;
static uint64_t seed = 0x4e4f582d65787421u; /* "NOX-ext!" */

#define CASES_FIXED 400
#define CASES_WIDE 250
#define CAST_CASES 24 /* random values per (source, target) pair, after the edge values */
#define GARBAGE 0xa5a5a5a5a5a5a5a5u
#define MAX_REPORTS 3

typedef enum { MIN, MAX, REM, AND, OR, XOR, SHL, SHR, ROTL, ROTR, NEG, NOT, N_OPS } opcode;
static const char *const op_names[N_OPS] = {"min", "max", "rem",  "and",  "or",  "xor",
                                            "shl", "shr", "rotl", "rotr", "neg", "not"};
static int is_shift(opcode op) { return op >= SHL && op <= ROTR; }
static int is_unary(opcode op) { return op >= NEG; }

/* ---- the oracle ----------------------------------------------------------- */

/* Expected output pattern of op on the numbers x[0], x[1] of type t. */
static void oracle(opcode op, const tinfo *t, mpz_t *x, uint64_t want[NOX_VALUE_LIMBS]) {
    mpz_t r, pa, pb, lo, hi;
    mpz_inits(r, pa, pb, lo, hi, NULL);
    mpz_fdiv_r_2exp(pa, x[0], t->bits); /* the bit patterns, as unsigned numbers */
    mpz_fdiv_r_2exp(pb, x[1], t->bits);
    unsigned long s = mpz_fdiv_ui(pb, t->bits); /* shift amount: the pattern modulo N */
    switch (op) {
    case MIN: mpz_set(r, mpz_cmp(x[0], x[1]) < 0 ? x[0] : x[1]); break;
    case MAX: mpz_set(r, mpz_cmp(x[0], x[1]) < 0 ? x[1] : x[0]); break;
    case REM:
        if (mpz_sgn(x[1]) == 0) mpz_set(r, x[0]); /* rem by zero: the dividend */
        else mpz_tdiv_r(r, x[0], x[1]);          /* the sign of the dividend */
        break;
    case AND: mpz_and(r, pa, pb); break;
    case OR: mpz_ior(r, pa, pb); break;
    case XOR: mpz_xor(r, pa, pb); break;
    case SHL: mpz_mul_2exp(r, pa, s); break;
    case SHR: mpz_fdiv_q_2exp(r, t->is_signed ? x[0] : pa, s); break; /* floor: sign-filling for int */
    case ROTL:
    case ROTR: {
        unsigned long left = op == ROTL ? s : (t->bits - s) % t->bits;
        mpz_mul_2exp(lo, pa, left);
        mpz_fdiv_q_2exp(hi, pa, t->bits - left);
        mpz_ior(r, lo, hi);
        break;
    }
    case NEG: mpz_neg(r, x[0]); break;
    case NOT: mpz_com(r, x[0]); break; /* -x - 1 */
    default: abort();
    }
    pattern_of(want, r, t->bits);
    mpz_clears(r, pa, pb, lo, hi, NULL);
}

/* ---- generation ----------------------------------------------------------- */

static void gen_operand(mpz_t r, const tinfo *t) {
    switch (rnd_below(8)) {
    case 0: case 1: case 2: random_bits(r, t->bits); break;
    case 3: mpz_set_ui(r, rnd_below(17)); if (t->is_signed && rnd_below(2)) mpz_neg(r, r); break;
    case 4: type_max(r, t), mpz_sub_ui(r, r, rnd_below(4)); break;
    case 5: type_min(r, t), mpz_add_ui(r, r, rnd_below(4)); break;
    case 6: /* a power of two, +-1, either sign */
        mpz_set_ui(r, 0);
        mpz_setbit(r, rnd_below(t->bits));
        if (rnd_below(2)) mpz_sub_ui(r, r, 1);
        if (t->is_signed && rnd_below(2)) mpz_neg(r, r);
        break;
    default: random_bits(r, 1 + rnd_below(t->bits)); if (t->is_signed && rnd_below(2)) mpz_neg(r, r); break;
    }
    wrap(r, r, t);
}

/* A shift amount: small, around the width and its multiples, negative, or any pattern. */
static void gen_amount(mpz_t r, const tinfo *t) {
    switch (rnd_below(6)) {
    case 0: case 1: mpz_set_ui(r, rnd_below(t->bits)); break;
    case 2: mpz_set_ui(r, (unsigned long)t->bits * rnd_below(4) + rnd_below(3)); mpz_sub_ui(r, r, 1); break;
    case 3: mpz_set_si(r, -(long)rnd_below(t->bits + 2)); break;
    default: random_bits(r, t->bits); break;
    }
    wrap(r, r, t);
}

/* Edge values: 0, 1, 2, MAX, MAX-1, MIN, MIN+1, -1, -2, 2^(N/2), N, N+1, 2N-1. */
static size_t edges(mpz_t *v, const tinfo *t) {
    size_t n = 0;
    mpz_set_ui(v[n++], 0);
    mpz_set_ui(v[n++], 1);
    mpz_set_ui(v[n++], 2);
    type_max(v[n], t), n++;
    mpz_sub_ui(v[n], v[n - 1], 1), n++;
    type_min(v[n], t), n++;
    mpz_add_ui(v[n], v[n - 1], 1), n++;
    mpz_set_si(v[n++], -1);
    mpz_set_si(v[n++], -2);
    mpz_set_ui(v[n], 0), mpz_setbit(v[n], t->bits / 2), n++;
    mpz_set_ui(v[n++], t->bits);
    mpz_set_ui(v[n++], t->bits + 1);
    mpz_set_ui(v[n++], 2 * t->bits - 1);
    for (size_t i = 0; i < n; i++) wrap(v[i], v[i], t);
    return n;
}

/* ---- checks --------------------------------------------------------------- */

typedef struct tally {
    unsigned long checked, mismatches;
} tally;

static void report(const char *what, const tinfo *t, uint8_t out_type, unsigned long case_no, mpz_t *x,
                   size_t n_in, const uint64_t *want, nox_status st, const nox_error *err, const nox_value *out) {
    printf("\n  mismatch: %s %s -> %s, seed 0x%016" PRIx64 " (NOX_TEST_SEED), case %lu\n", what,
           nox_type_name(t->code), nox_type_name(out_type), seed, case_no);
    for (size_t i = 0; i < n_in; i++) gmp_printf("    operand %zu: %Zd (0x%Zx)\n", i, x[i], x[i]);
    tinfo ot = tinfo_of(out_type);
    nox_value w;
    nox_value_zero(&w, out_type);
    memcpy(w.limb, want, sizeof w.limb);
    mpz_t v;
    mpz_init(v);
    mpz_of_value(v, &w, &ot);
    gmp_printf("    expected: %Zd\n", v);
    if (st) {
        printf("    got error %s: %s\n", nox_status_name(st), err->message);
    } else {
        mpz_of_value(v, out, &ot);
        gmp_printf("    actual: %Zd\n", v);
    }
    mpz_clear(v);
}

/* Evaluates `opname` on x[0..n_in) of type t, the output declared as out_type (or inferred), against want. */
static void check_case(const char *opname, const tinfo *t, mpz_t *x, size_t n_in, uint8_t out_type, int infer,
                       const uint64_t *want, tally *ta) {
    nox_value in[2], out;
    for (size_t i = 0; i < n_in; i++) value_of_mpz(&in[i], x[i], t->code);
    for (size_t k = 0; k < NOX_VALUE_LIMBS; k++) out.limb[k] = GARBAGE;
    out.type = infer ? NOX_TYPE_INFER : out_type;
    nox_error err = {0};
    nox_status st = nox_op_eval(nox_test_op(engine, opname), in, n_in, &out, 1, &err);
    int ok = st == NOX_OK && out.type == out_type &&
             !memcmp(out.limb, want, nox_type_limbs(out_type) * sizeof(uint64_t));
    ta->checked++;
    if (!ok && ta->mismatches++ < MAX_REPORTS) report(opname, t, out_type, ta->checked, x, n_in, want, st, &err, &out);
}

static void run_op_type(opcode op, uint8_t code) {
    tinfo t = tinfo_of(code);
    size_t n_in = is_unary(op) ? 1 : 2;
    unsigned long want_cases = nox_type_is_wide(code) ? CASES_WIDE : CASES_FIXED;
    rng = seed ^ ((uint64_t)op << 40) ^ ((uint64_t)code << 48);
    tally ta = {0, 0};
    mpz_t x[2], ev[16];
    uint64_t want[NOX_VALUE_LIMBS];
    for (int i = 0; i < 2; i++) mpz_init(x[i]);
    for (int i = 0; i < 16; i++) mpz_init(ev[i]);
    size_t ne = edges(ev, &t);
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < (n_in == 1 ? 1 : ne); j++) {
            mpz_set(x[0], ev[i]), mpz_set(x[1], ev[j]);
            oracle(op, &t, x, want);
            check_case(op_names[op], &t, x, n_in, code, 1, want, &ta);
        }
    while (ta.checked < want_cases) {
        gen_operand(x[0], &t);
        if (is_shift(op)) gen_amount(x[1], &t);
        else if (rnd_below(8) == 0) mpz_set(x[1], x[0]);
        else if (op == REM && rnd_below(8) == 0) mpz_set_si(x[1], rnd_below(2) ? 0 : -1), wrap(x[1], x[1], &t);
        else gen_operand(x[1], &t);
        oracle(op, &t, x, want);
        check_case(op_names[op], &t, x, n_in, code, 1, want, &ta);
    }
    for (int i = 0; i < 2; i++) mpz_clear(x[i]);
    for (int i = 0; i < 16; i++) mpz_clear(ev[i]);
    if (ta.mismatches)
        printf("  %s %s: %lu of %lu cases wrong\n", op_names[op], nox_type_name(code), ta.mismatches, ta.checked);
    CU_ASSERT_EQUAL(ta.checked, want_cases);
    CU_ASSERT_EQUAL(ta.mismatches, 0);
}

/* uint16..uint256, int16..int256 and the six wide types. */
static void run_op(opcode op) {
    unsigned types = 0;
    for (unsigned bits = 16; bits <= 256; bits += 8) {
        run_op_type(op, (uint8_t)(3 + bits / 8)), types++;
        run_op_type(op, (uint8_t)(35 + bits / 8)), types++;
    }
    for (unsigned c = NOX_TYPE_UINT512; c <= NOX_TYPE_INT2048; c++) run_op_type(op, (uint8_t)c), types++;
    CU_ASSERT_EQUAL(types, 68u);
}

#define OP_TEST(NAME, OP) \
    static void test_##NAME(void) { run_op(OP); }
OP_TEST(min, MIN)
OP_TEST(max, MAX)
OP_TEST(rem, REM)
OP_TEST(and, AND)
OP_TEST(or, OR)
OP_TEST(xor, XOR)
OP_TEST(shl, SHL)
OP_TEST(shr, SHR)
OP_TEST(rotl, ROTL)
OP_TEST(rotr, ROTR)
OP_TEST(neg, NEG)
OP_TEST(not, NOT)

/* cast between every pair of bool and the 70 integer types: edge values and random values. */
static void test_cast(void) {
    uint8_t types[80];
    unsigned nt = 0;
    types[nt++] = NOX_TYPE_BOOL;
    for (unsigned c = NOX_TYPE_UINT8; c <= NOX_TYPE_INT2048; c++)
        if (nox_type_is_integer(c)) types[nt++] = (uint8_t)c;
    CU_ASSERT_EQUAL_FATAL(nt, 71);
    mpz_t x[2], ev[16], r;
    for (int i = 0; i < 2; i++) mpz_init(x[i]);
    for (int i = 0; i < 16; i++) mpz_init(ev[i]);
    mpz_init(r);
    tally ta = {0, 0};
    unsigned long want_checked = 0;
    uint64_t want[NOX_VALUE_LIMBS];
    for (unsigned si = 0; si < nt; si++) {
        tinfo s = tinfo_of(types[si]);
        size_t ne = 2;
        if (s.code == NOX_TYPE_BOOL) mpz_set_ui(ev[0], 0), mpz_set_ui(ev[1], 1);
        else ne = edges(ev, &s);
        for (unsigned ti = 0; ti < nt; ti++) {
            uint8_t dst = types[ti];
            rng = seed ^ ((uint64_t)s.code << 40) ^ ((uint64_t)dst << 48);
            for (size_t k = 0; k < ne + (s.code == NOX_TYPE_BOOL ? 0 : CAST_CASES); k++) {
                if (k < ne) mpz_set(x[0], ev[k]);
                else gen_operand(x[0], &s);
                /* the number x[0] (in the source's interpretation) modulo 2^N; bool: != 0 */
                if (dst == NOX_TYPE_BOOL) mpz_set_ui(r, mpz_sgn(x[0]) != 0);
                else mpz_set(r, x[0]);
                pattern_of(want, r, nox_type_bits(dst));
                check_case("cast", &s, x, 1, dst, 0, want, &ta);
                want_checked++;
            }
        }
    }
    for (int i = 0; i < 2; i++) mpz_clear(x[i]);
    for (int i = 0; i < 16; i++) mpz_clear(ev[i]);
    mpz_clear(r);
    if (ta.mismatches) printf("  cast: %lu of %lu cases wrong\n", ta.mismatches, ta.checked);
    CU_ASSERT_EQUAL(ta.checked, want_checked);
    CU_ASSERT(want_checked > 71ul * 71 * 30);
    CU_ASSERT_EQUAL(ta.mismatches, 0);
}

int main(void) {
    const char *s = getenv("NOX_TEST_SEED");
    if (s && *s) seed = strtoull(s, NULL, 0);
    printf("test_operators_ext_random: seed 0x%016" PRIx64 "\n", seed);
    engine = nox_test_engine_ext();
    CU_TestInfo tests[] = {
        {"min", test_min}, {"max", test_max}, {"rem", test_rem}, {"and", test_and}, {"or", test_or},
        {"xor", test_xor}, {"shl", test_shl}, {"shr", test_shr}, {"rotl", test_rotl}, {"rotr", test_rotr},
        {"neg", test_neg}, {"not", test_not}, {"cast (71 x 71 type pairs)", test_cast},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("operators_ext_random", tests);
    nox_engine_free(engine);
    return rc;
}
