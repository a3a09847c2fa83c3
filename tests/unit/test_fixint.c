/*
 * Unit tests of nox/fixint.h (fixed-width <= 256-bit arithmetic) against GMP.
 *
 * GMP is the oracle: every operand bit pattern is turned into the exact
 * integer it denotes (two's complement for signed), the operation is done on
 * unbounded integers, and the expected limbs / overflow flag are derived from
 * the exact result. The implementation under test never sees GMP, so the two
 * are independent.
 *
 * Every width 8, 16, ..., 256 and both signednesses get edge operands
 * (0, 1, -1, MIN, MAX, MIN+1, MAX-1, powers of two around limb boundaries)
 * crossed with each other, plus RANDOM_PAIRS pseudo-random pairs from a
 * fixed-seed PRNG. A handful of odd widths (1..255, not multiples of 8) are
 * covered too, since the header allows any 1 <= bits <= 256.
 *
 * Failures print the seed, width, signedness and operands (first few per
 * width) before the CUnit assertion, so a failure can be reproduced exactly.
 */
#include <gmp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nox/fixint.h"
#include "test_util.h"

enum { L = NOX_FIX_LIMBS };

/* Base seed of the PRNG; each (test, width, signedness) derives its own from it. */
#define BASE_SEED UINT64_C(0x6e6f782d66697869)
/* Random operand pairs per width and signedness (on top of the edge pairs). */
#define RANDOM_PAIRS 3000
/* Fewer for the odd widths: they are a secondary check. */
#define RANDOM_PAIRS_ODD 600
/* Failures printed per (operation, width, signedness) before going quiet. */
#define MAX_PRINTED 3

/* Garbage written into outputs before each call: outputs must overwrite it. */
#define GARBAGE UINT64_C(0xa5a5a5a5a5a5a5a5)

/* ------------------------------------------------------------------------ */
/* Deterministic PRNG (splitmix64)                                           */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n) { return (unsigned)(rng_next() % n); }

/* ------------------------------------------------------------------------ */
/* Limb helpers (written independently of fixint.c)                          */
/* ------------------------------------------------------------------------ */

static void fill_garbage(uint64_t r[L]) {
    for (int i = 0; i < L; i++) r[i] = GARBAGE;
}

static void set_small(uint64_t r[L], uint64_t v) {
    memset(r, 0, L * sizeof r[0]);
    r[0] = v;
}

/* Keeps bits [0, bits) of r. */
static void keep_low_bits(uint64_t r[L], unsigned bits) {
    for (unsigned i = 0; i < L; i++) {
        if (bits >= 64 * (i + 1)) continue;
        if (bits <= 64 * i) r[i] = 0;
        else r[i] &= (UINT64_C(1) << (bits - 64 * i)) - 1;
    }
}

/* 1 when every bit at or above `bits` is zero. */
static int is_canonical(const uint64_t r[L], unsigned bits) {
    uint64_t t[L];
    memcpy(t, r, sizeof t);
    keep_low_bits(t, bits);
    return memcmp(t, r, sizeof t) == 0;
}

static void print_limbs(const char *label, const uint64_t a[L]) {
    printf(" %s=0x%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, label, a[3], a[2], a[1], a[0]);
}

/* ------------------------------------------------------------------------ */
/* GMP oracle                                                                */
/* ------------------------------------------------------------------------ */

/* z = the integer the bit pattern a denotes at this width and signedness. */
static void to_mpz(mpz_t z, const uint64_t a[L], unsigned bits, int is_signed) {
    mpz_import(z, L, -1, sizeof a[0], 0, 0, a);
    if (is_signed && mpz_tstbit(z, bits - 1)) {
        mpz_t m;
        mpz_init(m);
        mpz_setbit(m, bits);
        mpz_sub(z, z, m);
        mpz_clear(m);
    }
}

/* r = z mod 2^bits as canonical limbs (two's complement bit pattern). */
static void from_mpz(uint64_t r[L], const mpz_t z, unsigned bits) {
    mpz_t t;
    mpz_init(t);
    mpz_fdiv_r_2exp(t, z, bits); /* always in [0, 2^bits) */
    memset(r, 0, L * sizeof r[0]);
    mpz_export(r, NULL, -1, sizeof r[0], 0, 0, t);
    mpz_clear(t);
}

/* 1 when z lies in the type's range. */
static int in_range(const mpz_t z, unsigned bits, int is_signed) {
    mpz_t lo, hi;
    mpz_inits(lo, hi, NULL);
    if (is_signed) {
        mpz_setbit(hi, bits - 1); /* 2^(bits-1) */
        mpz_neg(lo, hi);
        mpz_sub_ui(hi, hi, 1);
    } else {
        mpz_setbit(hi, bits);
        mpz_sub_ui(hi, hi, 1);
    }
    int ok = mpz_cmp(z, lo) >= 0 && mpz_cmp(z, hi) <= 0;
    mpz_clears(lo, hi, NULL);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* The check context: one per (operation, width, signedness)                 */
/* ------------------------------------------------------------------------ */

typedef struct ctx {
    const char *op;
    unsigned bits;
    int is_signed;
    uint64_t seed;
    unsigned long checks, failures;
    mpz_t x, y, z, w; /* scratch */
} ctx;

/*
 * Records one comparison. On failure the first few are printed with every
 * detail needed to reproduce them; the CUnit assertion per width follows in
 * run_pairs().
 */
static void expect(ctx *c, int ok, const char *what, const uint64_t a[L], const uint64_t b[L],
                   const uint64_t got[L], const uint64_t want[L]) {
    c->checks++;
    if (ok) return;
    if (++c->failures > MAX_PRINTED) return;
    printf("\n  FAIL %s (%s): seed=0x%016" PRIx64 " bits=%u %s", c->op, what, c->seed, c->bits,
           c->is_signed ? "signed" : "unsigned");
    if (a) print_limbs("a", a);
    if (b) print_limbs("b", b);
    if (got) print_limbs("got", got);
    if (want) print_limbs("want", want);
    printf("\n");
}

/* Compares all L limbs, so a non-canonical output (bits above the width set) also fails. */
static void expect_limbs(ctx *c, const char *what, const uint64_t a[L], const uint64_t b[L], const uint64_t got[L],
                         const uint64_t want[L]) {
    expect(c, memcmp(got, want, L * sizeof got[0]) == 0, what, a, b, got, want);
}

static void expect_flag(ctx *c, const char *what, const uint64_t a[L], const uint64_t b[L], uint64_t got,
                        uint64_t want) {
    uint64_t g[L], w[L];
    set_small(g, got);
    set_small(w, want);
    expect(c, got == want, what, a, b, g, w);
}

/* ------------------------------------------------------------------------ */
/* Operand generation                                                        */
/* ------------------------------------------------------------------------ */

/* Edge operands of a width: 0, 1, 2, -1, -2, MIN, MIN+1, MAX, MAX-1, and
 * 2^k, 2^k - 1, -2^k for k around limb boundaries and the middle. */
enum { MAX_EDGES = 64 };

static size_t edge_values(uint64_t e[MAX_EDGES][L], unsigned bits, int is_signed) {
    size_t n = 0;
    mpz_t z, one;
    mpz_inits(z, one, NULL);
    mpz_set_ui(one, 1);
    /* Exact integers, reduced to bit patterns by from_mpz. */
    static const long small[] = {0, 1, 2, -1, -2, 3};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        mpz_set_si(z, small[i]);
        from_mpz(e[n++], z, bits);
    }
    /* MIN, MIN+1, MAX, MAX-1 of this signedness */
    mpz_set_ui(z, 0);
    if (is_signed) {
        mpz_setbit(z, bits - 1);
        mpz_neg(z, z);
    }
    from_mpz(e[n++], z, bits); /* MIN */
    mpz_add_ui(z, z, 1);
    from_mpz(e[n++], z, bits); /* MIN + 1 */
    mpz_set_ui(z, 0);
    mpz_setbit(z, is_signed ? bits - 1 : bits);
    mpz_sub_ui(z, z, 1);
    from_mpz(e[n++], z, bits); /* MAX */
    mpz_sub_ui(z, z, 1);
    from_mpz(e[n++], z, bits); /* MAX - 1 */
    static const unsigned ks[] = {1, 7, 8, 31, 32, 63, 64, 65, 127, 128, 129, 191, 192, 254};
    unsigned extra[] = {bits / 2, bits - 2, bits - 1};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0] + 3; i++) {
        unsigned k = i < sizeof ks / sizeof ks[0] ? ks[i] : extra[i - sizeof ks / sizeof ks[0]];
        if (k == 0 || k >= bits || n + 3 > MAX_EDGES) continue;
        mpz_mul_2exp(z, one, k);
        from_mpz(e[n++], z, bits); /* 2^k */
        mpz_sub_ui(z, z, 1);
        from_mpz(e[n++], z, bits); /* 2^k - 1 */
        mpz_add_ui(z, z, 1);
        mpz_neg(z, z);
        from_mpz(e[n++], z, bits); /* -2^k */
    }
    mpz_clears(z, one, NULL);
    return n;
}

/* A uniformly random value below 2^len (len <= bits), negated half the time when signed. */
static void random_of_length(uint64_t r[L], unsigned len, unsigned bits, int is_signed) {
    for (int i = 0; i < L; i++) r[i] = rng_next();
    keep_low_bits(r, len);
    if (len > 0) r[(len - 1) / 64] |= UINT64_C(1) << ((len - 1) % 64); /* exactly len bits */
    if (is_signed && (rng_next() & 1)) {
        /* two's complement negation mod 2^bits */
        uint64_t carry = 1;
        for (int i = 0; i < L; i++) {
            uint64_t t = ~r[i] + carry;
            carry = carry && t == 0;
            r[i] = t;
        }
    }
    keep_low_bits(r, bits);
}

/* One random operand; the mix makes small values, sign boundaries and
 * limb-boundary patterns common (uniform bits alone would almost never hit them). */
static void random_operand(uint64_t r[L], unsigned bits, int is_signed, const uint64_t edges[][L], size_t n_edges) {
    static const uint64_t pool[] = {0, ~UINT64_C(0), 1, UINT64_C(1) << 63, ~(UINT64_C(1) << 63)};
    switch (rng_below(4)) {
    case 0: /* uniform bits */
        for (int i = 0; i < L; i++) r[i] = rng_next();
        break;
    case 1: /* random magnitude */
        random_of_length(r, rng_below(bits + 1), bits, is_signed);
        break;
    case 2: { /* an edge value plus or minus a little */
        memcpy(r, edges[rng_below((unsigned)n_edges)], L * sizeof r[0]);
        uint64_t d = rng_below(4);
        if (rng_next() & 1) {
            r[0] += d; /* carries do not matter: any pattern is a valid operand */
        } else {
            r[0] -= d;
        }
        break;
    }
    default: /* limbs from a pool of special words */
        for (int i = 0; i < L; i++) r[i] = (rng_next() & 1) ? pool[rng_below(5)] : rng_next();
        break;
    }
    keep_low_bits(r, bits);
}

/* Limbs that make long division estimate quotient digits badly: a divisor
 * whose top limb is just above 2^63 after normalisation and whose lower limbs
 * are all ones makes a two-limb estimate overshoot (Knuth's add-back step). */
static const uint64_t hard_limbs[] = {0,
                                      1,
                                      2,
                                      ~UINT64_C(0),
                                      ~UINT64_C(0) - 1,
                                      UINT64_C(1) << 63,
                                      (UINT64_C(1) << 63) + 1,
                                      (UINT64_C(1) << 63) - 1,
                                      UINT64_C(1) << 32,
                                      UINT64_C(0xffffffff)};
enum { N_HARD = sizeof hard_limbs / sizeof hard_limbs[0] };

/* x = a value of at most `len` bits whose top limbs come from hard_limbs
 * (the top pattern survives: the 256-bit pattern is shifted down, not cut). */
static void hard_value(mpz_t x, unsigned len) {
    uint64_t t[L];
    for (int i = 0; i < L; i++) t[i] = hard_limbs[rng_below(N_HARD)];
    mpz_import(x, L, -1, sizeof t[0], 0, 0, t);
    mpz_tdiv_q_2exp(x, x, 256 - len + rng_below(3)); /* also vary the normalisation shift */
}

/* a = q*b + r with q and b built from hard limbs and 0 <= r < b (r = 0, b - 1
 * or random): quotient digits at, just below and just above a boundary, the
 * cases where a long division's digit estimate is wrong. Signs are random
 * for signed widths. Returns 0 when the pair cannot be built (b == 0). */
static int quotient_pair(uint64_t a[L], uint64_t b[L], unsigned bits, int is_signed) {
    unsigned width = is_signed ? bits - 1 : bits;
    if (width == 0) return 0;
    mpz_t q, d, r, x;
    mpz_inits(q, d, r, x, NULL);
    unsigned len_d = 1 + rng_below(width);
    hard_value(d, len_d);
    hard_value(q, width - len_d); /* q*d + r < (q+1)*d <= 2^width: always fits */
    int ok = mpz_sgn(d) != 0;
    if (ok) {
        switch (rng_below(3)) {
        case 0: mpz_set_ui(r, 0); break;
        case 1: mpz_sub_ui(r, d, 1); break; /* the largest remainder */
        default: { /* a random remainder */
            uint64_t t[L];
            for (int i = 0; i < L; i++) t[i] = rng_next();
            mpz_import(r, L, -1, sizeof t[0], 0, 0, t);
            mpz_mod(r, r, d);
        }
        }
        mpz_mul(x, q, d);
        mpz_add(x, x, r);
        if (is_signed && (rng_next() & 1)) mpz_neg(x, x);
        if (is_signed && (rng_next() & 1)) mpz_neg(d, d);
        from_mpz(a, x, bits);
        from_mpz(b, d, bits);
    }
    mpz_clears(q, d, r, x, NULL);
    return ok;
}

/* A random pair. One pair in four has bit lengths summing to about `bits`,
 * which is where multiplication overflow flips; one in four is built as
 * q*b + r (see quotient_pair). */
static void random_pair(uint64_t a[L], uint64_t b[L], unsigned bits, int is_signed, const uint64_t edges[][L],
                        size_t n_edges) {
    unsigned mode = rng_below(4);
    if (mode == 1 && quotient_pair(a, b, bits, is_signed)) return;
    if (mode == 0) {
        unsigned width = is_signed ? bits - 1 : bits;
        unsigned la = rng_below(width + 1);
        int lb = (int)(width - la) + (int)rng_below(3) - 1;
        if (lb < 0) lb = 0;
        if (lb > (int)bits) lb = (int)bits;
        random_of_length(a, la, bits, is_signed);
        random_of_length(b, (unsigned)lb, bits, is_signed);
        if (rng_next() & 1) { /* swap the roles */
            uint64_t t[L];
            memcpy(t, a, sizeof t);
            memcpy(a, b, sizeof t);
            memcpy(b, t, sizeof t);
        }
        return;
    }
    random_operand(a, bits, is_signed, edges, n_edges);
    random_operand(b, bits, is_signed, edges, n_edges);
}

/* ------------------------------------------------------------------------ */
/* The driver                                                                */
/* ------------------------------------------------------------------------ */

typedef void (*pair_check)(ctx *c, const uint64_t a[L], const uint64_t b[L]);

/* Runs `check` on every (edge, edge) pair and n_random random pairs for each
 * listed width and both signednesses; one CUnit assertion per width. */
static void run_pairs(const char *op, pair_check check, const unsigned *widths, size_t n_widths,
                      unsigned n_random) {
    static uint64_t edges[MAX_EDGES][L];
    unsigned long total = 0;
    for (size_t wi = 0; wi < n_widths; wi++) {
        for (int s = 0; s <= 1; s++) {
            ctx c = {.op = op, .bits = widths[wi], .is_signed = s};
            /* Seed depends on the operation name, width and signedness only. */
            uint64_t h = BASE_SEED;
            for (const char *p = op; *p; p++) h = (h ^ (uint8_t)*p) * UINT64_C(0x100000001b3);
            c.seed = h ^ ((uint64_t)c.bits << 1 | (uint64_t)s);
            rng_state = c.seed;
            mpz_inits(c.x, c.y, c.z, c.w, NULL);

            size_t n_edges = edge_values(edges, c.bits, s);
            for (size_t i = 0; i < n_edges; i++)
                for (size_t j = 0; j < n_edges; j++) check(&c, edges[i], edges[j]);
            for (unsigned k = 0; k < n_random; k++) {
                uint64_t a[L], b[L];
                random_pair(a, b, c.bits, s, edges, n_edges);
                check(&c, a, b);
            }
            mpz_clears(c.x, c.y, c.z, c.w, NULL);

            char msg[160];
            snprintf(msg, sizeof msg, "%s: %lu of %lu checks failed at bits=%u %s (seed 0x%016" PRIx64 ")", op,
                     c.failures, c.checks, c.bits, s ? "signed" : "unsigned", c.seed);
            if (c.failures) printf("  %s\n", msg);
            CU_assertImplementation(c.failures == 0 && c.checks > 0, __LINE__, msg, __FILE__, "", CU_FALSE);
            total += c.checks;
        }
    }
    printf("[%s: %lu comparisons] ", op, total);
}

/* 8, 16, ..., 256: every width of the uintN/intN types. */
static unsigned all_widths[32];
/* Widths that are not multiples of 8 (allowed by the header: 1 <= bits <= 256). */
static const unsigned odd_widths[] = {1, 2, 3, 7, 9, 31, 33, 63, 65, 100, 127, 129, 191, 193, 255};

static void run_all_widths(const char *op, pair_check check) {
    for (unsigned i = 0; i < 32; i++) all_widths[i] = 8 * (i + 1);
    run_pairs(op, check, all_widths, 32, RANDOM_PAIRS);
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

typedef void (*wrap_fn)(uint64_t *, const uint64_t *, const uint64_t *, unsigned);
typedef uint64_t (*checked_fn)(uint64_t *, const uint64_t *, const uint64_t *, unsigned, int);
typedef void (*mpz_op)(mpz_ptr, mpz_srcptr, mpz_srcptr);

/* Wrapping op: r = exact mod 2^bits; also with r aliasing a, b, or both. */
static void check_wrapping(ctx *c, const uint64_t a[L], const uint64_t b[L], wrap_fn fn, mpz_op exact) {
    uint64_t want[L], r[L], t[L];
    to_mpz(c->x, a, c->bits, c->is_signed);
    to_mpz(c->y, b, c->bits, c->is_signed);
    exact(c->z, c->x, c->y);
    from_mpz(want, c->z, c->bits);

    fill_garbage(r);
    fn(r, a, b, c->bits);
    expect_limbs(c, "r", a, b, r, want);

    memcpy(t, a, sizeof t); /* r == a */
    fn(t, t, b, c->bits);
    expect_limbs(c, "r aliases a", a, b, t, want);

    memcpy(t, b, sizeof t); /* r == b */
    fn(t, a, t, c->bits);
    expect_limbs(c, "r aliases b", a, b, t, want);

    exact(c->z, c->x, c->x); /* r == a == b */
    from_mpz(want, c->z, c->bits);
    memcpy(t, a, sizeof t);
    fn(t, t, t, c->bits);
    expect_limbs(c, "r aliases a and b (a op a)", a, a, t, want);
}

/* Checked op: r as above, flag 1 exactly when the exact result is out of range. */
static void check_checked(ctx *c, const uint64_t a[L], const uint64_t b[L], checked_fn fn, mpz_op exact) {
    uint64_t want[L], r[L], t[L];
    to_mpz(c->x, a, c->bits, c->is_signed);
    to_mpz(c->y, b, c->bits, c->is_signed);
    exact(c->z, c->x, c->y);
    from_mpz(want, c->z, c->bits);
    uint64_t want_flag = !in_range(c->z, c->bits, c->is_signed);

    fill_garbage(r);
    uint64_t flag = fn(r, a, b, c->bits, c->is_signed);
    expect_limbs(c, "r", a, b, r, want);
    expect_flag(c, "overflow flag", a, b, flag, want_flag);

    memcpy(t, a, sizeof t); /* r == a */
    flag = fn(t, t, b, c->bits, c->is_signed);
    expect_limbs(c, "r aliases a", a, b, t, want);
    expect_flag(c, "overflow flag, r aliases a", a, b, flag, want_flag);

    memcpy(t, b, sizeof t); /* r == b */
    flag = fn(t, a, t, c->bits, c->is_signed);
    expect_limbs(c, "r aliases b", a, b, t, want);
    expect_flag(c, "overflow flag, r aliases b", a, b, flag, want_flag);
}

static void check_add(ctx *c, const uint64_t a[L], const uint64_t b[L]) {
    check_wrapping(c, a, b, nox_fix_add, mpz_add);
}
static void check_sub(ctx *c, const uint64_t a[L], const uint64_t b[L]) {
    check_wrapping(c, a, b, nox_fix_sub, mpz_sub);
}
static void check_mul(ctx *c, const uint64_t a[L], const uint64_t b[L]) {
    check_wrapping(c, a, b, nox_fix_mul, mpz_mul);
}
static void check_add_checked(ctx *c, const uint64_t a[L], const uint64_t b[L]) {
    check_checked(c, a, b, nox_fix_add_checked, mpz_add);
}
static void check_sub_checked(ctx *c, const uint64_t a[L], const uint64_t b[L]) {
    check_checked(c, a, b, nox_fix_sub_checked, mpz_sub);
}
static void check_mul_checked(ctx *c, const uint64_t a[L], const uint64_t b[L]) {
    check_checked(c, a, b, nox_fix_mul_checked, mpz_mul);
}

/* divrem: truncating q and rem (sign of a); b == 0 and signed MIN / -1 are flagged
 * with the documented substitute outputs. Also with q or rem NULL. */
static void check_divrem(ctx *c, const uint64_t a[L], const uint64_t b[L]) {
    uint64_t want_q[L], want_r[L], q[L], r[L];
    uint64_t want_flag;
    to_mpz(c->x, a, c->bits, c->is_signed);
    to_mpz(c->y, b, c->bits, c->is_signed);
    if (mpz_sgn(c->y) == 0) {
        /* b == 0: q = 0, rem = a, flagged */
        set_small(want_q, 0);
        memcpy(want_r, a, sizeof want_r);
        want_flag = 1;
    } else {
        mpz_tdiv_qr(c->z, c->w, c->x, c->y); /* C semantics: toward zero, rem has a's sign */
        /* The only unrepresentable quotient is signed MIN / -1 = 2^(bits-1); its
         * wrapped value is MIN and the remainder is 0, which from_mpz gives. */
        want_flag = !in_range(c->z, c->bits, c->is_signed);
        from_mpz(want_q, c->z, c->bits);
        from_mpz(want_r, c->w, c->bits);
    }

    fill_garbage(q);
    fill_garbage(r);
    uint64_t flag = nox_fix_divrem(q, r, a, b, c->bits, c->is_signed);
    expect_limbs(c, "quotient", a, b, q, want_q);
    expect_limbs(c, "remainder", a, b, r, want_r);
    expect_flag(c, "flag", a, b, flag, want_flag);

    fill_garbage(q); /* remainder not wanted */
    flag = nox_fix_divrem(q, NULL, a, b, c->bits, c->is_signed);
    expect_limbs(c, "quotient (rem NULL)", a, b, q, want_q);
    expect_flag(c, "flag (rem NULL)", a, b, flag, want_flag);

    fill_garbage(r); /* quotient not wanted */
    flag = nox_fix_divrem(NULL, r, a, b, c->bits, c->is_signed);
    expect_limbs(c, "remainder (q NULL)", a, b, r, want_r);
    expect_flag(c, "flag (q NULL)", a, b, flag, want_flag);
}

/* eq and lt in both orders (lt checked in signed and unsigned order whatever
 * the width's signedness), is_zero and sign of each operand. */
static void check_compare(ctx *c, const uint64_t a[L], const uint64_t b[L]) {
    /* unsigned and signed readings of both operands */
    mpz_ptr ua = c->x, ub = c->y, sa = c->z, sb = c->w;
    to_mpz(ua, a, c->bits, 0);
    to_mpz(ub, b, c->bits, 0);
    to_mpz(sa, a, c->bits, 1);
    to_mpz(sb, b, c->bits, 1);
    expect_flag(c, "eq(a,b)", a, b, nox_fix_eq(a, b, c->bits), mpz_cmp(ua, ub) == 0);
    expect_flag(c, "eq(b,a)", b, a, nox_fix_eq(b, a, c->bits), mpz_cmp(ua, ub) == 0);
    expect_flag(c, "eq(a,a)", a, a, nox_fix_eq(a, a, c->bits), 1);
    expect_flag(c, "lt unsigned(a,b)", a, b, nox_fix_lt(a, b, c->bits, 0), mpz_cmp(ua, ub) < 0);
    expect_flag(c, "lt unsigned(b,a)", b, a, nox_fix_lt(b, a, c->bits, 0), mpz_cmp(ub, ua) < 0);
    expect_flag(c, "lt signed(a,b)", a, b, nox_fix_lt(a, b, c->bits, 1), mpz_cmp(sa, sb) < 0);
    expect_flag(c, "lt signed(b,a)", b, a, nox_fix_lt(b, a, c->bits, 1), mpz_cmp(sb, sa) < 0);
    expect_flag(c, "lt(a,a) is 0", a, a, nox_fix_lt(a, a, c->bits, c->is_signed), 0);
    expect_flag(c, "is_zero(a)", a, NULL, nox_fix_is_zero(a, c->bits), mpz_sgn(ua) == 0);
    expect_flag(c, "is_zero(b)", b, NULL, nox_fix_is_zero(b, c->bits), mpz_sgn(ub) == 0);
    expect_flag(c, "sign(a)", a, NULL, nox_fix_sign(a, c->bits), mpz_sgn(sa) < 0);
    expect_flag(c, "sign(b)", b, NULL, nox_fix_sign(b, c->bits), mpz_sgn(sb) < 0);
}

/* select picks a for cond 1 and b for cond 0 (also in place); neg = -a mod 2^bits. */
static void check_select_neg(ctx *c, const uint64_t a[L], const uint64_t b[L]) {
    uint64_t r[L], t[L], want[L];
    fill_garbage(r);
    nox_fix_select(r, 1, a, b, c->bits);
    expect_limbs(c, "select(1,a,b)", a, b, r, a);
    fill_garbage(r);
    nox_fix_select(r, 0, a, b, c->bits);
    expect_limbs(c, "select(0,a,b)", a, b, r, b);
    memcpy(t, a, sizeof t);
    nox_fix_select(t, 0, t, b, c->bits); /* r == a, picking b */
    expect_limbs(c, "select(0,a,b) r aliases a", a, b, t, b);
    memcpy(t, b, sizeof t);
    nox_fix_select(t, 1, a, t, c->bits); /* r == b, picking a */
    expect_limbs(c, "select(1,a,b) r aliases b", a, b, t, a);

    to_mpz(c->x, a, c->bits, c->is_signed);
    mpz_neg(c->z, c->x);
    from_mpz(want, c->z, c->bits);
    fill_garbage(r);
    nox_fix_neg(r, a, c->bits);
    expect_limbs(c, "neg(a)", a, NULL, r, want);
    memcpy(t, a, sizeof t);
    nox_fix_neg(t, t, c->bits);
    expect_limbs(c, "neg(a) in place", a, NULL, t, want);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

static void test_add(void) { run_all_widths("add", check_add); }
static void test_sub(void) { run_all_widths("sub", check_sub); }
static void test_mul(void) { run_all_widths("mul", check_mul); }
static void test_add_checked(void) { run_all_widths("add_checked", check_add_checked); }
static void test_sub_checked(void) { run_all_widths("sub_checked", check_sub_checked); }
static void test_mul_checked(void) { run_all_widths("mul_checked", check_mul_checked); }
static void test_divrem(void) { run_all_widths("divrem", check_divrem); }
static void test_compare(void) { run_all_widths("eq/lt/is_zero/sign", check_compare); }
static void test_select_neg(void) { run_all_widths("select/neg", check_select_neg); }

/* The header allows any 1 <= bits <= 256: partial limbs and 1-bit signed types
 * (range [-1, 0]) exercise the masking and sign logic differently. */
static void test_odd_widths(void) {
    const size_t n = sizeof odd_widths / sizeof odd_widths[0];
    run_pairs("odd add", check_add, odd_widths, n, RANDOM_PAIRS_ODD);
    run_pairs("odd sub", check_sub, odd_widths, n, RANDOM_PAIRS_ODD);
    run_pairs("odd mul", check_mul, odd_widths, n, RANDOM_PAIRS_ODD);
    run_pairs("odd add_checked", check_add_checked, odd_widths, n, RANDOM_PAIRS_ODD);
    run_pairs("odd sub_checked", check_sub_checked, odd_widths, n, RANDOM_PAIRS_ODD);
    run_pairs("odd mul_checked", check_mul_checked, odd_widths, n, RANDOM_PAIRS_ODD);
    run_pairs("odd divrem", check_divrem, odd_widths, n, RANDOM_PAIRS_ODD);
    run_pairs("odd compare", check_compare, odd_widths, n, RANDOM_PAIRS_ODD);
    run_pairs("odd select/neg", check_select_neg, odd_widths, n, RANDOM_PAIRS_ODD);
}

/* max/min: exact type bounds, canonical, for every width 1..256. */
static void test_max_min(void) {
    mpz_t want, got;
    mpz_inits(want, got, NULL);
    unsigned bad = 0;
    for (unsigned bits = 1; bits <= 256; bits++) {
        for (int s = 0; s <= 1; s++) {
            uint64_t r[L];
            fill_garbage(r);
            nox_fix_max(r, bits, s);
            mpz_set_ui(want, 0);
            mpz_setbit(want, s ? bits - 1 : bits);
            mpz_sub_ui(want, want, 1); /* 2^bits - 1 or 2^(bits-1) - 1 */
            to_mpz(got, r, bits, s);
            if (mpz_cmp(got, want) != 0 || !is_canonical(r, bits)) {
                printf("\n  FAIL max bits=%u %s", bits, s ? "signed" : "unsigned");
                print_limbs("got", r);
                printf("\n");
                bad++;
            }

            fill_garbage(r);
            nox_fix_min(r, bits, s);
            mpz_set_ui(want, 0);
            if (s) {
                mpz_setbit(want, bits - 1);
                mpz_neg(want, want); /* -2^(bits-1) */
            }
            to_mpz(got, r, bits, s);
            if (mpz_cmp(got, want) != 0 || !is_canonical(r, bits)) {
                printf("\n  FAIL min bits=%u %s", bits, s ? "signed" : "unsigned");
                print_limbs("got", r);
                printf("\n");
                bad++;
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    mpz_clears(want, got, NULL);

    /* A few literal values, independent of GMP. */
    uint64_t r[L];
    nox_fix_max(r, 8, 1);
    CU_ASSERT_EQUAL(r[0], 0x7f);
    nox_fix_min(r, 8, 1);
    CU_ASSERT_EQUAL(r[0], 0x80);
    nox_fix_max(r, 8, 0);
    CU_ASSERT_EQUAL(r[0], 0xff);
    nox_fix_min(r, 256, 1);
    CU_ASSERT(r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == UINT64_C(1) << 63);
    nox_fix_max(r, 256, 0);
    CU_ASSERT(r[0] == ~UINT64_C(0) && r[1] == ~UINT64_C(0) && r[2] == ~UINT64_C(0) && r[3] == ~UINT64_C(0));
    nox_fix_max(r, 72, 0); /* a partial second limb */
    CU_ASSERT(r[0] == ~UINT64_C(0) && r[1] == 0xff && r[2] == 0 && r[3] == 0);
}

/* mask keeps exactly the low `bits` bits of arbitrary (non-canonical) input; zero clears all limbs. */
static void test_mask_zero(void) {
    rng_state = BASE_SEED ^ 0x6d61736bu;
    mpz_t z;
    mpz_init(z);
    unsigned bad = 0;
    for (unsigned bits = 1; bits <= 256; bits++) {
        for (int k = 0; k < 50; k++) {
            uint64_t r[L], want[L];
            for (int i = 0; i < L; i++) r[i] = k == 0 ? ~UINT64_C(0) : rng_next();
            mpz_import(z, L, -1, sizeof r[0], 0, 0, r);
            from_mpz(want, z, bits); /* value mod 2^bits */
            nox_fix_mask(r, bits);
            if (memcmp(r, want, sizeof r) != 0) {
                if (bad < MAX_PRINTED) {
                    printf("\n  FAIL mask seed=0x%016" PRIx64 " bits=%u k=%d", BASE_SEED ^ 0x6d61736bu, bits, k);
                    print_limbs("got", r);
                    print_limbs("want", want);
                    printf("\n");
                }
                bad++;
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    mpz_clear(z);

    uint64_t r[L] = {~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0)};
    nox_fix_mask(r, 65);
    CU_ASSERT(r[0] == ~UINT64_C(0) && r[1] == 1 && r[2] == 0 && r[3] == 0);
    nox_fix_zero(r);
    CU_ASSERT(r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == 0);
}

/* Worked examples of spec §5 that map directly onto fixint (literal values,
 * no oracle): they pin the semantics even if the oracle and the code agreed
 * on a misreading. */
static void test_spec_examples(void) {
    uint64_t a[L], b[L], r[L], q[L], m[L];

    set_small(a, 200);
    set_small(b, 100); /* uint8 200 + 100 = 44 */
    nox_fix_add(r, a, b, 8);
    CU_ASSERT_EQUAL(r[0], 44);
    CU_ASSERT_EQUAL(nox_fix_add_checked(r, a, b, 8, 0), 1);
    CU_ASSERT_EQUAL(r[0], 44);

    set_small(a, 10);
    set_small(b, 200); /* uint8 10 - 200 = 66 */
    nox_fix_sub(r, a, b, 8);
    CU_ASSERT_EQUAL(r[0], 66);
    CU_ASSERT_EQUAL(nox_fix_sub_checked(r, a, b, 8, 0), 1);

    set_small(a, 3);
    set_small(b, 100); /* uint8 3 * 100 = 44 */
    nox_fix_mul(r, a, b, 8);
    CU_ASSERT_EQUAL(r[0], 44);
    CU_ASSERT_EQUAL(nox_fix_mul_checked(r, a, b, 8, 0), 1);

    set_small(a, 0xf9);
    set_small(b, 2); /* int8 -7 / 2 = -3 rem -1 */
    CU_ASSERT_EQUAL(nox_fix_divrem(q, m, a, b, 8, 1), 0);
    CU_ASSERT_EQUAL(q[0], 0xfd);
    CU_ASSERT_EQUAL(m[0], 0xff);

    set_small(a, 0x80);
    set_small(b, 0xff); /* int8 -128 / -1: MIN, rem 0, flagged */
    CU_ASSERT_EQUAL(nox_fix_divrem(q, m, a, b, 8, 1), 1);
    CU_ASSERT_EQUAL(q[0], 0x80);
    CU_ASSERT_EQUAL(m[0], 0);

    set_small(a, 10);
    set_small(b, 0); /* x / 0: q 0, rem a, flagged */
    CU_ASSERT_EQUAL(nox_fix_divrem(q, m, a, b, 8, 0), 1);
    CU_ASSERT_EQUAL(q[0], 0);
    CU_ASSERT_EQUAL(m[0], 10);

    set_small(a, 0xffff);
    set_small(b, 1); /* uint16 65535 + 1 = 0 */
    nox_fix_add(r, a, b, 16);
    CU_ASSERT_EQUAL(r[0], 0);

    /* int256 MAX + 1 = MIN, flagged */
    nox_fix_max(a, 256, 1);
    set_small(b, 1);
    CU_ASSERT_EQUAL(nox_fix_add_checked(r, a, b, 256, 1), 1);
    nox_fix_min(m, 256, 1);
    CU_ASSERT_EQUAL(memcmp(r, m, sizeof r), 0);

    /* uint256 2^255 + (2^255 + 1) = 1 */
    nox_fix_zero(a);
    nox_fix_zero(b);
    a[3] = b[3] = UINT64_C(1) << 63;
    b[0] = 1;
    nox_fix_add(r, a, b, 256);
    CU_ASSERT(r[0] == 1 && r[1] == 0 && r[2] == 0 && r[3] == 0);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"spec section 5 worked examples", test_spec_examples},
        {"add (wrapping, aliasing)", test_add},
        {"sub (wrapping, aliasing)", test_sub},
        {"mul (wrapping, aliasing)", test_mul},
        {"add_checked (result, flag)", test_add_checked},
        {"sub_checked (result, flag)", test_sub_checked},
        {"mul_checked (result, flag)", test_mul_checked},
        {"divrem (truncating, b=0, MIN/-1)", test_divrem},
        {"eq, lt, is_zero, sign", test_compare},
        {"select, neg", test_select_neg},
        {"odd widths 1..255", test_odd_widths},
        {"max, min for bits 1..256", test_max_min},
        {"mask, zero", test_mask_zero},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("fixint", tests);
}
