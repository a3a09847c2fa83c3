/*
 * Unit tests of nox/ctint.h (the SDK's constant-time integers) against
 * OpenSSL's BIGNUM.
 *
 * BIGNUM is the oracle: every operand's limbs become the exact integer they
 * denote (unsigned, or two's complement for the signed operations), the
 * operation is done on unbounded integers, and the expected limbs, carry,
 * borrow or 0/1 answer are derived from the exact result. The header under
 * test never sees OpenSSL.
 *
 * Widths: 8, 16, ..., 256 and 512 (the types and a muldiv's double width),
 * the odd widths 1, 2, 7, 9, 63, 65, 127, 129, 191, 255, 257, 511, 513, and
 * 1024, 2048, 4096 (the wide types and the widest product). At each width:
 * edge operands (2^k - 1, 2^k, 2^k + 1 modulo 2^N for k around limb
 * boundaries, N/2 and N-2..N: so 0, 1, 2, MAX, -1, -2, MIN, MIN+1, MAX
 * signed; and 0x55.., 0xaa..) crossed with each other, plus RANDOM_PAIRS
 * pseudo-random pairs from a fixed seed (full width, short, small negative,
 * sparse, and limb patterns). Known-answer vectors (computed independently)
 * pin wide mul and div at 256 and 512 bits.
 *
 * Outputs are pre-filled with garbage, so an output limb left unwritten is
 * caught, and the limb after the value is checked untouched. Failures print
 * the operation, width and operands (first few per operation and width).
 */
#include <inttypes.h>
#include <limits.h>
#include <openssl/bn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nox/ctint.h"
#include "test_util.h"

enum { ML = NOX_CT_MAX_LIMBS, MAXB = NOX_CT_MAX_BITS };

#define BASE_SEED UINT64_C(0x6e6f782d6374696e)
/* Random pairs per width up to 513 bits, and the share of edge pairs at the widest widths. Under AddressSanitizer
 * (the CI's second pass, where this test took 138 s) fewer: it looks for memory errors, which the edge operands
 * at every width find as well; the first pass runs them all. */
#if defined(__SANITIZE_ADDRESS__)
#define RANDOM_PAIRS 200
#define WIDE_STEP 16 /* above 1024 bits: every 16th edge pair (under ASan a 4096-bit division is ~10x slower) */
#define WIDER_STEP 4 /* 514..1024 bits */
#else
#define RANDOM_PAIRS 2000
#define WIDE_STEP 4
#define WIDER_STEP 1
#endif
#define MAX_PRINTED 3
#define GARBAGE UINT64_C(0xa5a5a5a5a5a5a5a5)

/* A value buffer with one limb more than the widest value: the limb after the value must stay GARBAGE. */
typedef struct num {
    uint64_t l[ML + 1];
} num;

static BN_CTX *bnctx;
static uint64_t rng;
static unsigned printed, failures;

/*
 * CU_ASSERT, but only the first 20 failures of the program are recorded:
 * CUnit appends each failure by walking its list, so a broken operation
 * failing millions of checks would take hours to report. The test fails
 * just the same.
 */
#define CHECK_EQ(a, b) CHECK((a) == (b))
#define CHECK(cond)                                            \
    do {                                                       \
        int ok_ = (cond);                                      \
        if (ok_ || failures++ < 20) CU_ASSERT(ok_);            \
    } while (0)

static uint64_t rnd(void) { /* splitmix64 */
    uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void garbage(num *x) {
    for (unsigned i = 0; i <= ML; i++) x->l[i] = GARBAGE;
}

/* ---- BIGNUM conversions ------------------------------------------------------ */

static BIGNUM *bn_u(const uint64_t *a, unsigned bits) {
    unsigned char buf[ML * 8];
    unsigned n = NOX_CT_LIMBS(bits);
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < 8; j++) buf[8 * i + j] = (unsigned char)(a[i] >> (8 * j));
    BIGNUM *x = BN_lebin2bn(buf, (int)(n * 8), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    return x;
}

/* The two's complement value of a. */
static BIGNUM *bn_s(const uint64_t *a, unsigned bits) {
    BIGNUM *x = bn_u(a, bits);
    if (BN_is_bit_set(x, (int)bits - 1)) {
        BIGNUM *p = BN_new();
        BN_set_bit(p, (int)bits);
        BN_sub(x, x, p);
        BN_free(p);
    }
    return x;
}

/* r = x mod 2^bits (x may be negative or wider), canonical limbs. */
static void to_limbs(uint64_t *r, const BIGNUM *x, unsigned bits) {
    BIGNUM *m = BN_new(), *t = BN_new();
    BN_set_bit(m, (int)bits);
    BN_nnmod(t, x, m, bnctx);
    unsigned char buf[ML * 8];
    unsigned n = NOX_CT_LIMBS(bits);
    CU_ASSERT_FATAL(BN_bn2lebinpad(t, buf, (int)(n * 8)) == (int)(n * 8));
    for (unsigned i = 0; i < n; i++) {
        r[i] = 0;
        for (unsigned j = 0; j < 8; j++) r[i] |= (uint64_t)buf[8 * i + j] << (8 * j);
    }
    BN_free(m);
    BN_free(t);
}

static BIGNUM *bn_word(int64_t v) {
    BIGNUM *x = BN_new();
    BN_set_word(x, (BN_ULONG)(v < 0 ? -v : v));
    BN_set_negative(x, v < 0);
    return x;
}

/* ---- reporting ----------------------------------------------------------------- */

static void print_num(const char *name, const uint64_t *a, unsigned bits) {
    fprintf(stderr, "    %s = 0x", name);
    for (unsigned i = NOX_CT_LIMBS(bits); i-- > 0;) fprintf(stderr, "%016" PRIx64, a[i]);
    fprintf(stderr, "\n");
}

static void report(const char *op, unsigned bits, const uint64_t *a, unsigned abits, const uint64_t *b,
                   unsigned bbits, const uint64_t *got, const uint64_t *want, unsigned rbits) {
    if (printed++ >= MAX_PRINTED) return;
    fprintf(stderr, "\n  %s at %u bits (seed 0x%016" PRIx64 "):\n", op, bits, BASE_SEED);
    if (a) print_num("a", a, abits);
    if (b) print_num("b", b, bbits);
    if (got) print_num("got ", got, rbits);
    if (want) print_num("want", want, rbits);
}

/* got (rbits wide, with the limb after it) must be `want` mod 2^rbits and leave that limb alone. */
static void expect_num(const char *op, unsigned bits, const num *got, const BIGNUM *want, unsigned rbits,
                       const uint64_t *a, const uint64_t *b) {
    uint64_t w[ML];
    to_limbs(w, want, rbits);
    unsigned n = NOX_CT_LIMBS(rbits);
    int ok = !memcmp(got->l, w, n * sizeof w[0]) && got->l[n] == GARBAGE;
    if (!ok) report(op, bits, a, bits, b, bits, got->l, w, rbits);
    CHECK(ok);
}

static void expect_word(const char *op, unsigned bits, uint64_t got, uint64_t want, const uint64_t *a,
                        const uint64_t *b) {
    if (got != want) {
        report(op, bits, a, bits, b, bits, NULL, NULL, bits);
        if (printed <= MAX_PRINTED) fprintf(stderr, "    got %" PRIu64 ", want %" PRIu64 "\n", got, want);
    }
    CHECK_EQ(got, want);
}

/* ---- operands ----------------------------------------------------------------------- */

static unsigned widths[64], n_widths;

static void init_widths(void) {
    static const unsigned odd[] = {1, 2, 7, 9, 63, 65, 127, 129, 191, 255, 257, 511, 512, 513, 1024, 2048, 4096};
    n_widths = 0;
    for (unsigned w = 8; w <= 256; w += 8) widths[n_widths++] = w;
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) widths[n_widths++] = odd[i];
}

static unsigned random_pairs(unsigned bits) {
    return bits <= 513 ? RANDOM_PAIRS : bits <= 1024 ? RANDOM_PAIRS / 10 : RANDOM_PAIRS / 50;
}

/* 2^k + delta mod 2^bits. */
static void pow2_delta(uint64_t *r, unsigned k, int delta, unsigned bits) {
    BIGNUM *x = BN_new(), *d = bn_word(delta);
    BN_set_bit(x, (int)k);
    BN_add(x, x, d);
    to_limbs(r, x, bits);
    BN_free(x);
    BN_free(d);
}

/* The edge operands of a width; returns how many. */
static unsigned edges(num *out, unsigned cap, unsigned bits) {
    static const unsigned fixed_k[] = {0, 1, 2, 7, 8, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257};
    unsigned ks[32], nk = 0, n = 0;
    for (size_t i = 0; i < sizeof fixed_k / sizeof fixed_k[0]; i++)
        if (fixed_k[i] <= bits && (bits <= 513 || fixed_k[i] % 64 != 1)) ks[nk++] = fixed_k[i];
    ks[nk++] = bits / 2;
    if (bits >= 2) ks[nk++] = bits - 2;
    ks[nk++] = bits - 1;
    ks[nk++] = bits;
    for (unsigned i = 0; i < nk; i++)
        for (int d = -1; d <= 1; d++) {
            num v;
            garbage(&v);
            pow2_delta(v.l, ks[i], d, bits);
            int dup = 0;
            for (unsigned j = 0; j < n && !dup; j++) dup = nox_ct_eq(out[j].l, v.l, bits) == 1;
            if (!dup && n < cap) out[n++] = v;
        }
    for (unsigned p = 0; p < 2 && n < cap; p++) { /* 0x55..55, 0xaa..aa */
        garbage(&out[n]);
        for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++)
            out[n].l[i] = (p ? UINT64_C(0xaaaaaaaaaaaaaaaa) : UINT64_C(0x5555555555555555)) & nox_ct_limb_mask(i, bits);
        n++;
    }
    return n;
}

static void random_value(uint64_t *r, unsigned bits) {
    unsigned n = NOX_CT_LIMBS(bits);
    unsigned kind = (unsigned)(rnd() % 6), len = (unsigned)(rnd() % (bits + 1));
    for (unsigned i = 0; i < n; i++) r[i] = rnd();
    switch (kind) {
    case 2: /* short: a random bit length */
    case 3: /* small negative: -(short) */
        for (unsigned i = 0; i < n; i++) r[i] &= nox_ct_limb_mask(i, len);
        if (kind == 3) {
            uint64_t borrow = 0;
            for (unsigned i = 0; i < n; i++) r[i] = nox_ct_subb(0, r[i], borrow, &borrow);
        }
        break;
    case 4: /* sparse */
        for (unsigned i = 0; i < n; i++) r[i] = 0;
        for (unsigned k = (unsigned)(rnd() % 4); k-- > 0;) {
            unsigned bit = (unsigned)(rnd() % bits);
            r[bit / 64] |= (uint64_t)1 << (bit % 64);
        }
        break;
    case 5: /* whole limbs of 0 or all ones */
        for (unsigned i = 0; i < n; i++) r[i] = (r[i] & 1) ? ~(uint64_t)0 : 0;
        break;
    default: /* uniform */
        break;
    }
    for (unsigned i = 0; i < n; i++) r[i] &= nox_ct_limb_mask(i, bits);
}

typedef void (*pair_fn)(unsigned bits, const uint64_t *a, const uint64_t *b);

/* fn on every edge pair and the random pairs of every width up to max_bits. */
static void for_each_pair(unsigned max_bits, unsigned tag, pair_fn fn) {
    static num e[128];
    for (unsigned wi = 0; wi < n_widths; wi++) {
        unsigned bits = widths[wi];
        if (bits > max_bits) continue;
        printed = 0;
        rng = BASE_SEED ^ ((uint64_t)tag << 32) ^ bits;
        unsigned ne = edges(e, 128, bits);
        unsigned step = bits > 1024 ? WIDE_STEP : bits > 513 ? WIDER_STEP : 1; /* the widest: fewer edge pairs (time) */
        for (unsigned i = 0; i < ne && printed <= MAX_PRINTED; i++)
            for (unsigned j = i % step; j < ne; j += step) fn(bits, e[i].l, e[j].l);
        for (unsigned k = 0; k < random_pairs(bits) && printed <= MAX_PRINTED; k++) {
            num a, b;
            garbage(&a);
            garbage(&b);
            random_value(a.l, bits);
            random_value(b.l, bits);
            fn(bits, a.l, b.l);
        }
        if (printed) return; /* failures at this width: enough said (and fast to report) */
    }
}

/* ---- the operations, one pair at a time ------------------------------------------------ */

static void pair_add_sub_neg(unsigned bits, const uint64_t *a, const uint64_t *b) {
    BIGNUM *A = bn_u(a, bits), *B = bn_u(b, bits), *t = BN_new();
    num r;
    garbage(&r);
    uint64_t c = nox_ct_add(r.l, a, b, bits);
    BN_add(t, A, B);
    expect_num("add", bits, &r, t, bits, a, b);
    expect_word("add carry", bits, c, (uint64_t)(BN_num_bits(t) > (int)bits), a, b);
    garbage(&r);
    c = nox_ct_sub(r.l, a, b, bits);
    BN_sub(t, A, B);
    expect_num("sub", bits, &r, t, bits, a, b);
    expect_word("sub borrow", bits, c, (uint64_t)(BN_cmp(A, B) < 0), a, b);
    garbage(&r);
    nox_ct_neg(r.l, a, bits);
    BN_zero(t);
    BN_sub(t, t, A);
    expect_num("neg", bits, &r, t, bits, a, NULL);
    BN_free(A);
    BN_free(B);
    BN_free(t);
}

static void pair_mul(unsigned bits, const uint64_t *a, const uint64_t *b) {
    BIGNUM *A = bn_u(a, bits), *B = bn_u(b, bits), *t = BN_new();
    BN_mul(t, A, B, bnctx);
    num r;
    garbage(&r);
    nox_ct_mul(r.l, a, b, bits);
    expect_num("mul", bits, &r, t, bits, a, b);
    if (2 * bits <= MAXB) {
        garbage(&r);
        nox_ct_mul_wide(r.l, a, b, bits);
        expect_num("mul_wide", bits, &r, t, 2 * bits, a, b); /* exact: the product is < 2^(2 bits) */
    }
    BN_free(A);
    BN_free(B);
    BN_free(t);
}

static void pair_divrem(unsigned bits, const uint64_t *a, const uint64_t *b) {
    BIGNUM *A = bn_u(a, bits), *B = bn_u(b, bits), *q = BN_new(), *r = BN_new();
    if (BN_is_zero(B)) { /* defined: q = all ones, r = a */
        BN_zero(q);
        BN_set_bit(q, (int)bits);
        BN_sub_word(q, 1);
        BN_copy(r, A);
    } else {
        BN_div(q, r, A, B, bnctx);
    }
    num gq, gr;
    garbage(&gq);
    garbage(&gr);
    nox_ct_divrem(gq.l, gr.l, a, b, bits);
    expect_num("divrem q", bits, &gq, q, bits, a, b);
    expect_num("divrem r", bits, &gr, r, bits, a, b);
    if (bits <= 513 && (a[0] + b[0]) % 4 == 0) { /* each output alone, on a quarter of the pairs (time) */
        garbage(&gq);
        nox_ct_divrem(gq.l, NULL, a, b, bits);
        expect_num("divrem q (r NULL)", bits, &gq, q, bits, a, b);
        garbage(&gr);
        nox_ct_divrem(NULL, gr.l, a, b, bits);
        expect_num("divrem r (q NULL)", bits, &gr, r, bits, a, b);
    }
    BN_free(A);
    BN_free(B);
    BN_free(q);
    BN_free(r);
}

static void pair_sdivrem(unsigned bits, const uint64_t *a, const uint64_t *b) {
    BIGNUM *A = bn_s(a, bits), *B = bn_s(b, bits), *q = BN_new(), *r = BN_new();
    if (BN_is_zero(B)) { /* defined: q = signed MAX, r = a */
        BN_zero(q);
        BN_set_bit(q, (int)bits - 1);
        BN_sub_word(q, 1);
        BN_copy(r, A);
    } else {
        BN_div(q, r, A, B, bnctx); /* truncating; r has the sign of A. MIN / -1 = 2^(N-1) reads back as MIN */
    }
    num gq, gr;
    garbage(&gq);
    garbage(&gr);
    nox_ct_sdivrem(gq.l, gr.l, a, b, bits);
    expect_num("sdivrem q", bits, &gq, q, bits, a, b);
    expect_num("sdivrem r", bits, &gr, r, bits, a, b);
    if (bits <= 513 && (a[0] + b[0]) % 4 == 0) {
        garbage(&gq);
        nox_ct_sdivrem(gq.l, NULL, a, b, bits);
        expect_num("sdivrem q (r NULL)", bits, &gq, q, bits, a, b);
        garbage(&gr);
        nox_ct_sdivrem(NULL, gr.l, a, b, bits);
        expect_num("sdivrem r (q NULL)", bits, &gr, r, bits, a, b);
    }
    BN_free(A);
    BN_free(B);
    BN_free(q);
    BN_free(r);
}

static void pair_compare(unsigned bits, const uint64_t *a, const uint64_t *b) {
    BIGNUM *A = bn_u(a, bits), *B = bn_u(b, bits), *SA = bn_s(a, bits), *SB = bn_s(b, bits);
    int cu = BN_cmp(A, B), cs = BN_cmp(SA, SB);
    expect_word("eq", bits, nox_ct_eq(a, b, bits), cu == 0, a, b);
    expect_word("lt", bits, nox_ct_lt(a, b, bits), cu < 0, a, b);
    expect_word("le", bits, nox_ct_le(a, b, bits), cu <= 0, a, b);
    expect_word("slt", bits, nox_ct_slt(a, b, bits), cs < 0, a, b);
    expect_word("sle", bits, nox_ct_sle(a, b, bits), cs <= 0, a, b);
    expect_word("is_zero", bits, nox_ct_is_zero(a, bits), BN_is_zero(A), a, NULL);
    expect_word("sign", bits, nox_ct_sign(a, bits), BN_is_negative(SA), a, NULL);
    num r;
    garbage(&r);
    nox_ct_select(r.l, nox_ct_mask_bit(1), a, b, bits);
    expect_num("select(1)", bits, &r, A, bits, a, b);
    garbage(&r);
    nox_ct_select(r.l, nox_ct_mask_bit(0), a, b, bits);
    expect_num("select(0)", bits, &r, B, bits, a, b);
    garbage(&r);
    nox_ct_select(r.l, nox_ct_mask_bit(nox_ct_lt(a, b, bits)), a, b, bits); /* min */
    expect_num("select(lt): min", bits, &r, cu < 0 ? A : B, bits, a, b);
    /* mask: garbage above the width is cleared, the value kept */
    garbage(&r);
    for (unsigned i = 0; i < NOX_CT_LIMBS(bits); i++) r.l[i] = a[i] | ~nox_ct_limb_mask(i, bits);
    nox_ct_mask(r.l, bits);
    expect_num("mask", bits, &r, A, bits, a, NULL);
    BN_free(A);
    BN_free(B);
    BN_free(SA);
    BN_free(SB);
}

/* The expected shifts of a by s (public or secret amounts alike). */
static void shift_refs(unsigned bits, const uint64_t *a, uint64_t s, BIGNUM *shl, BIGNUM *shr, BIGNUM *sar) {
    BIGNUM *A = bn_u(a, bits), *SA = bn_s(a, bits);
    if (s >= bits) {
        BN_zero(shl);
        BN_zero(shr);
        if (BN_is_negative(SA)) BN_set_word(sar, 1), BN_set_negative(sar, 1);
        else BN_zero(sar);
    } else {
        BN_lshift(shl, A, (int)s);
        BN_rshift(shr, A, (int)s);
        if (BN_is_negative(SA)) { /* floor(x / 2^s) = -(((-x) - 1) >> s) - 1 */
            BN_set_negative(SA, 0);
            BN_sub_word(SA, 1);
            BN_rshift(sar, SA, (int)s);
            BN_add_word(sar, 1);
            BN_set_negative(sar, 1);
        } else {
            BN_rshift(sar, SA, (int)s);
        }
    }
    BN_free(A);
    BN_free(SA);
}

static void pair_shifts(unsigned bits, const uint64_t *a, const uint64_t *b) {
    uint64_t amounts[24];
    unsigned na = 0;
    static const uint64_t fixed[] = {0, 1, 2, 7, 63, 64, 65, 127, 128, 129, 4095, 4096, 8191, 8192};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) amounts[na++] = fixed[i];
    amounts[na++] = bits / 2;
    amounts[na++] = bits - 1;
    amounts[na++] = bits;
    amounts[na++] = bits + 1;
    amounts[na++] = b[0] % bits;
    amounts[na++] = b[0] % (2 * bits + 2);
    amounts[na++] = UINT_MAX; /* public amounts are unsigned */
    uint64_t secret_only[] = {b[0], UINT64_C(1) << 32, UINT64_C(1) << 63, ~(uint64_t)0,
                              (uint64_t)64 << nox_ct_shift_stages(NOX_CT_LIMBS(bits)) >> 6};
    BIGNUM *shl = BN_new(), *shr = BN_new(), *sar = BN_new();
    num r, amount; /* the amount as a value, for the failure report */
    for (unsigned k = 0; k < na + 5; k++) {
        uint64_t s = k < na ? amounts[k] : secret_only[k - na];
        nox_ct_set_u64(amount.l, s, bits >= 64 ? bits : 64);
        shift_refs(bits, a, s, shl, shr, sar);
        if (k < na) {
            garbage(&r);
            nox_ct_shl(r.l, a, (unsigned)s, bits);
            expect_num("shl", bits, &r, shl, bits, a, amount.l);
            garbage(&r);
            nox_ct_shr(r.l, a, (unsigned)s, bits);
            expect_num("shr", bits, &r, shr, bits, a, amount.l);
            garbage(&r);
            nox_ct_sar(r.l, a, (unsigned)s, bits);
            expect_num("sar", bits, &r, sar, bits, a, amount.l);
        }
        garbage(&r);
        nox_ct_shl_secret(r.l, a, s, bits);
        expect_num("shl_secret", bits, &r, shl, bits, a, amount.l);
        garbage(&r);
        nox_ct_shr_secret(r.l, a, s, bits);
        expect_num("shr_secret", bits, &r, shr, bits, a, amount.l);
        garbage(&r);
        nox_ct_sar_secret(r.l, a, s, bits);
        expect_num("sar_secret", bits, &r, sar, bits, a, amount.l);
    }
    BN_free(shl);
    BN_free(shr);
    BN_free(sar);
}

static void pair_extend(unsigned bits, const uint64_t *a, const uint64_t *b) {
    (void)b;
    unsigned to[] = {1, 8, 63, 64, 65, 256, 512, bits > 1 ? bits - 1 : 1, bits, bits + 1, 2 * bits};
    BIGNUM *A = bn_u(a, bits), *SA = bn_s(a, bits);
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
        unsigned rbits = to[i];
        if (rbits > MAXB) continue;
        num r;
        garbage(&r);
        nox_ct_extend(r.l, rbits, a, bits, 0);
        expect_num("extend (zero)", bits, &r, A, rbits, a, NULL);
        garbage(&r);
        nox_ct_extend(r.l, rbits, a, bits, 1);
        expect_num("extend (sign)", bits, &r, SA, rbits, a, NULL);
    }
    BN_free(A);
    BN_free(SA);
}

/* The aliased forms (r == a, r == b, q == a, ...) give the non-aliased results. */
static void pair_aliasing(unsigned bits, const uint64_t *a, const uint64_t *b) {
    num want, want2, x, y;
#define ALIAS_CHECK(name, call_ref, call_alias, rbits)                                                 \
    do {                                                                                               \
        garbage(&want);                                                                                \
        garbage(&x);                                                                                   \
        garbage(&y);                                                                                   \
        nox_ct_copy(x.l, a, bits);                                                                     \
        nox_ct_copy(y.l, b, bits);                                                                     \
        call_ref;                                                                                      \
        call_alias;                                                                                    \
        int same_ = !memcmp(x.l, want.l, NOX_CT_LIMBS(rbits) * sizeof(uint64_t));                      \
        if (!same_) report(name, bits, a, bits, b, bits, x.l, want.l, rbits);                          \
        CHECK(same_);                                                                              \
    } while (0)
    ALIAS_CHECK("add r=a", nox_ct_add(want.l, a, b, bits), nox_ct_add(x.l, x.l, y.l, bits), bits);
    ALIAS_CHECK("add r=b", nox_ct_add(want.l, b, a, bits), nox_ct_add(x.l, y.l, x.l, bits), bits);
    ALIAS_CHECK("sub r=a", nox_ct_sub(want.l, a, b, bits), nox_ct_sub(x.l, x.l, y.l, bits), bits);
    ALIAS_CHECK("sub r=b", nox_ct_sub(want.l, b, a, bits), nox_ct_sub(x.l, y.l, x.l, bits), bits);
    ALIAS_CHECK("neg r=a", nox_ct_neg(want.l, a, bits), nox_ct_neg(x.l, x.l, bits), bits);
    ALIAS_CHECK("mul r=a", nox_ct_mul(want.l, a, b, bits), nox_ct_mul(x.l, x.l, y.l, bits), bits);
    ALIAS_CHECK("mul r=b", nox_ct_mul(want.l, b, a, bits), nox_ct_mul(x.l, y.l, x.l, bits), bits);
    ALIAS_CHECK("mul r=a=b", nox_ct_mul(want.l, a, a, bits), nox_ct_mul(x.l, x.l, x.l, bits), bits);
    if (2 * bits <= MAXB)
        ALIAS_CHECK("mul_wide r=a", nox_ct_mul_wide(want.l, a, b, bits), nox_ct_mul_wide(x.l, x.l, y.l, bits),
                    2 * bits);
    ALIAS_CHECK("select r=a", nox_ct_select(want.l, nox_ct_mask_bit(b[0]), b, a, bits),
                nox_ct_select(x.l, nox_ct_mask_bit(b[0]), y.l, x.l, bits), bits);
    ALIAS_CHECK("shl r=a", nox_ct_shl(want.l, a, (unsigned)(b[0] % (bits + 1)), bits),
                nox_ct_shl(x.l, x.l, (unsigned)(b[0] % (bits + 1)), bits), bits);
    ALIAS_CHECK("shr r=a", nox_ct_shr(want.l, a, (unsigned)(b[0] % (bits + 1)), bits),
                nox_ct_shr(x.l, x.l, (unsigned)(b[0] % (bits + 1)), bits), bits);
    ALIAS_CHECK("sar r=a", nox_ct_sar(want.l, a, (unsigned)(b[0] % (bits + 1)), bits),
                nox_ct_sar(x.l, x.l, (unsigned)(b[0] % (bits + 1)), bits), bits);
    ALIAS_CHECK("shl_secret r=a", nox_ct_shl_secret(want.l, a, b[0] % (bits + 1), bits),
                nox_ct_shl_secret(x.l, x.l, b[0] % (bits + 1), bits), bits);
    ALIAS_CHECK("shr_secret r=a", nox_ct_shr_secret(want.l, a, b[0] % (bits + 1), bits),
                nox_ct_shr_secret(x.l, x.l, b[0] % (bits + 1), bits), bits);
    ALIAS_CHECK("sar_secret r=a", nox_ct_sar_secret(want.l, a, b[0] % (bits + 1), bits),
                nox_ct_sar_secret(x.l, x.l, b[0] % (bits + 1), bits), bits);
    if (2 * bits <= MAXB)
        ALIAS_CHECK("extend r=a", nox_ct_extend(want.l, 2 * bits, a, bits, 1),
                    nox_ct_extend(x.l, 2 * bits, x.l, bits, 1), 2 * bits);
    ALIAS_CHECK("divrem q=a", nox_ct_divrem(want.l, want2.l, a, b, bits),
                nox_ct_divrem(x.l, NULL, x.l, y.l, bits), bits);
    ALIAS_CHECK("divrem r=b", nox_ct_divrem(want2.l, want.l, b, a, bits),
                nox_ct_divrem(NULL, x.l, y.l, x.l, bits), bits);
    ALIAS_CHECK("sdivrem q=a", nox_ct_sdivrem(want.l, want2.l, a, b, bits),
                nox_ct_sdivrem(x.l, NULL, x.l, y.l, bits), bits);
    ALIAS_CHECK("sdivrem r=a", nox_ct_sdivrem(want2.l, want.l, a, b, bits),
                nox_ct_sdivrem(y.l, x.l, x.l, y.l, bits), bits);
#undef ALIAS_CHECK
}

/* ---- tests ------------------------------------------------------------------------------------- */

static void test_add_sub_neg(void) { for_each_pair(MAXB, 1, pair_add_sub_neg); }
static void test_mul(void) { for_each_pair(MAXB, 2, pair_mul); }
static void test_divrem(void) { for_each_pair(MAXB, 3, pair_divrem); }
static void test_sdivrem(void) { for_each_pair(MAXB, 4, pair_sdivrem); }
static void test_compare_select(void) { for_each_pair(MAXB, 5, pair_compare); }
static void test_shifts(void) { for_each_pair(MAXB, 6, pair_shifts); }
static void test_extend(void) { for_each_pair(MAXB, 7, pair_extend); }
static void test_aliasing(void) { for_each_pair(2048, 8, pair_aliasing); }

/* Word helpers against unsigned __int128. */
static void test_words(void) {
    typedef unsigned __int128 u128;
    static const uint64_t edge[] = {0, 1, 2, 0x7fffffffffffffff, 0x8000000000000000, 0xfffffffffffffffe,
                                    0xffffffffffffffff, 0xffffffff, 0x100000000, 0xffffffff00000000};
    rng = BASE_SEED;
    for (unsigned k = 0; k < 200000; k++) {
        uint64_t x = k < 100 ? edge[k % 10] : rnd(), y = k < 100 ? edge[k / 10] : rnd(), cin = k & 1, c, hi;
        if (k >= 100 && (k & 2)) x = edge[k % 10];
        u128 s = (u128)x + y + cin;
        CHECK_EQ(nox_ct_addc(x, y, cin, &c), (uint64_t)s);
        CHECK_EQ(c, (uint64_t)(s >> 64));
        u128 d = (u128)x - y - cin;
        CHECK_EQ(nox_ct_subb(x, y, cin, &c), (uint64_t)d);
        CHECK_EQ(c, (uint64_t)(d >> 64) & 1);
        u128 p = (u128)x * y;
        CHECK_EQ(nox_ct_mul64(x, y, &hi), (uint64_t)p);
        CHECK_EQ(hi, (uint64_t)(p >> 64));
        uint64_t t = k & 4 ? ~(uint64_t)0 : rnd(), cc = k & 8 ? ~(uint64_t)0 : rnd();
        u128 m = p + t + cc;
        CHECK_EQ(nox_ct_mac(t, x, y, cc, &c), (uint64_t)m);
        CHECK_EQ(c, (uint64_t)(m >> 64));
        CHECK_EQ(nox_ct_mask_nonzero(x), x ? ~(uint64_t)0 : 0);
    }
    CHECK_EQ(nox_ct_mask_bit(1), ~(uint64_t)0);
    CHECK_EQ(nox_ct_mask_bit(0), 0);
    CHECK_EQ(nox_ct_mask_bit(3), ~(uint64_t)0); /* only the low bit counts */
    CHECK_EQ(nox_ct_mask_bit(2), 0);
}

/* Widths, limb masks, constants, and the nox_value conversions. */
static void test_widths_constants(void) {
    for (unsigned code = 0; code < 256; code++) {
        nox_value v;
        memset(&v, 0, sizeof v);
        v.type = (uint8_t)code;
        CHECK_EQ(nox_ct_bits(&v), nox_type_bits(code));
        CHECK_EQ(nox_ct_limbs(nox_type_bits(code)), nox_type_limbs(code));
    }
    CHECK_EQ(NOX_CT_LIMBS(1), 1);
    CHECK_EQ(NOX_CT_LIMBS(64), 1);
    CHECK_EQ(NOX_CT_LIMBS(65), 2);
    CHECK_EQ(NOX_CT_LIMBS(512), 8);
    CHECK_EQ(NOX_CT_MAX_LIMBS, 64);
    CHECK(NOX_CT_MAX_BITS >= 2 * NOX_VALUE_MAX_BITS); /* the wide product of the widest type */
    CHECK_EQ(nox_ct_limb_mask(0, 8), 0xff);
    CHECK_EQ(nox_ct_limb_mask(1, 8), 0);
    CHECK_EQ(nox_ct_limb_mask(0, 64), ~(uint64_t)0);
    CHECK_EQ(nox_ct_limb_mask(1, 65), 1);
    CHECK_EQ(nox_ct_limb_mask(3, 256), ~(uint64_t)0);
    CHECK_EQ(nox_ct_shift_stages(1), 6);
    CHECK_EQ(nox_ct_shift_stages(2), 7);
    CHECK_EQ(nox_ct_shift_stages(3), 8);
    CHECK_EQ(nox_ct_shift_stages(4), 8);
    CHECK_EQ(nox_ct_shift_stages(8), 9);
    CHECK_EQ(nox_ct_shift_stages(64), 12);

    init_widths();
    for (unsigned wi = 0; wi < n_widths; wi++) {
        unsigned bits = widths[wi];
        printed = 0;
        BIGNUM *x = BN_new();
        num r;
        garbage(&r);
        nox_ct_zero(r.l, bits);
        expect_num("zero", bits, &r, x, bits, NULL, NULL);
        garbage(&r);
        nox_ct_max(r.l, bits, 0); /* 2^N - 1 */
        BN_set_bit(x, (int)bits);
        BN_sub_word(x, 1);
        expect_num("max unsigned", bits, &r, x, bits, NULL, NULL);
        garbage(&r);
        nox_ct_max(r.l, bits, 1); /* 2^(N-1) - 1 */
        BN_zero(x);
        BN_set_bit(x, (int)bits - 1);
        BN_sub_word(x, 1);
        expect_num("max signed", bits, &r, x, bits, NULL, NULL);
        garbage(&r);
        nox_ct_min(r.l, bits, 1); /* -2^(N-1) */
        BN_add_word(x, 1);
        BN_set_negative(x, 1);
        expect_num("min signed", bits, &r, x, bits, NULL, NULL);
        garbage(&r);
        nox_ct_min(r.l, bits, 0);
        BN_zero(x);
        expect_num("min unsigned", bits, &r, x, bits, NULL, NULL);
        garbage(&r);
        nox_ct_set_u64(r.l, 0xfedcba9876543210, bits);
        BN_set_word(x, 0xfedcba9876543210);
        expect_num("set_u64", bits, &r, x, bits, NULL, NULL);
        uint64_t src[ML];
        rng = BASE_SEED + bits;
        random_value(src, bits);
        garbage(&r);
        nox_ct_copy(r.l, src, bits);
        BIGNUM *s = bn_u(src, bits);
        expect_num("copy", bits, &r, s, bits, src, NULL);
        BN_free(s);
        BN_free(x);
    }
}

/* nox_ct_load / nox_ct_store on every integer type of nox_value. */
static void test_load_store(void) {
    rng = BASE_SEED ^ 0x10ad;
    for (unsigned code = 0; code <= NOX_TYPE_LAST; code++) {
        if (!nox_type_is_integer(code)) continue;
        unsigned bits = nox_type_bits(code), n = nox_type_limbs(code);
        int sgn = nox_type_is_signed(code);
        printed = 0;
        for (unsigned k = 0; k < 200 && printed <= MAX_PRINTED; k++) {
            nox_value v;
            memset(&v, 0, sizeof v);
            v.type = (uint8_t)code;
            random_value(v.limb, bits);
            if (k == 0) nox_ct_max(v.limb, bits, 0);
            if (k == 1) nox_ct_min(v.limb, bits, 1);
            BIGNUM *x = sgn ? bn_s(v.limb, bits) : bn_u(v.limb, bits);
            unsigned to[] = {8, 64, 65, bits, 2 * bits, MAXB};
            for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
                if (to[i] > MAXB) continue;
                num r;
                garbage(&r);
                nox_ct_load(r.l, to[i], &v);
                expect_num(sgn ? "load (signed type)" : "load (unsigned type)", bits, &r, x, to[i], v.limb, NULL);
                /* store back from that width: the low `bits` bits, or the extension by the type's sign */
                nox_value o;
                memset(&o, 0xa5, sizeof o);
                o.type = (uint8_t)code;
                nox_ct_store(&o, r.l, to[i]);
                uint64_t want[NOX_VALUE_LIMBS];
                BIGNUM *y = sgn ? bn_s(r.l, to[i]) : bn_u(r.l, to[i]);
                to_limbs(want, y, bits);
                int ok = !memcmp(o.limb, want, n * sizeof want[0]) && (n == NOX_VALUE_LIMBS || o.limb[n] == GARBAGE);
                if (!ok) report("store", to[i], r.l, to[i], NULL, 0, o.limb, want, bits);
                CHECK(ok);
                BN_free(y);
            }
            BN_free(x);
        }
    }
}

/* Big-endian hex (no 0x) to limbs of a `bits`-wide value. */
static void from_hex(uint64_t *r, const char *hex, unsigned bits) {
    BIGNUM *x = NULL;
    CU_ASSERT_FATAL(BN_hex2bn(&x, hex) > 0);
    to_limbs(r, x, bits);
    BN_free(x);
}

static void expect_hex(const char *what, const uint64_t *got, const char *hex, unsigned bits) {
    uint64_t want[ML];
    from_hex(want, hex, bits);
    int ok = !memcmp(got, want, NOX_CT_LIMBS(bits) * sizeof want[0]);
    if (!ok) report(what, bits, NULL, 0, NULL, 0, got, want, bits);
    CHECK(ok);
}

/* Known answers (computed independently with Python's integers). */
static void test_known_answers(void) {
    uint64_t a[ML], b[ML], p[ML], q[ML], r[ML];
    printed = 0;
    /* (2^256 - 1)^2 = 2^512 - 2^257 + 1 */
    nox_ct_max(a, 256, 0);
    nox_ct_mul_wide(p, a, a, 256);
    CHECK(p[0] == 1 && p[1] == 0 && p[2] == 0 && p[3] == 0 && p[4] == 0xfffffffffffffffe &&
              p[5] == ~(uint64_t)0 && p[6] == ~(uint64_t)0 && p[7] == ~(uint64_t)0);
    /* a 256 x 256 -> 512 product, then divided by a 133-bit c */
    from_hex(a, "8f3b2c1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9", 256);
    from_hex(b, "fedcba9876543210f0e1d2c3b4a5968778695a4b3c2d1e0f0123456789abcdef", 256);
    nox_ct_mul_wide(p, a, b, 256);
    expect_hex("mul_wide 256 KAT", p,
               "8e9835054855d9c25aa26bbf7ba2434cb191edc517e61ff66910586f73cfb749"
               "1aff759ab32119e1c09df0b8f6a9d25e5de1ea77891f4b0d75468d046874e577",
               512);
    uint64_t c[ML];
    from_hex(c, "1234567890abcdef1234567890abcdef11", 512);
    nox_ct_divrem(q, r, p, c, 512);
    expect_hex("divrem 512 KAT q", q,
               "7d53c699e9e117ed307762531301a57658ec0e4d07c82adc1892dcd963743c698ff20636e9254e289f5368d4de42c48", 512);
    expect_hex("divrem 512 KAT r", r, "460595ac0a8c31fb50696901ea94ebcaf", 512);
    /* (2^512 - 1) / (2^256 + 1) = 2^256 - 1 exactly; / (2^256 - 1) = 2^256 + 1 */
    nox_ct_max(a, 512, 0);
    pow2_delta(b, 256, 1, 512);
    nox_ct_divrem(q, r, a, b, 512);
    expect_hex("divrem 512 KAT (2^512-1)/(2^256+1)", q,
               "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 512);
    CHECK(nox_ct_is_zero(r, 512));
    pow2_delta(b, 256, -1, 512);
    nox_ct_divrem(q, r, a, b, 512);
    expect_hex("divrem 512 KAT (2^512-1)/(2^256-1)", q,
               "10000000000000000000000000000000000000000000000000000000000000001", 512);
    CHECK(nox_ct_is_zero(r, 512));
    /* (2^512 - 1)^2 at 512 -> 1024 */
    nox_ct_mul_wide(p, a, a, 512);
    CHECK(p[0] == 1 && p[7] == 0 && p[8] == 0xfffffffffffffffe && p[15] == ~(uint64_t)0);
    /* a 512 x 512 -> 1024 product */
    from_hex(a,
             "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffee"
             "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffee12",
             512);
    from_hex(b,
             "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
             "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef",
             512);
    nox_ct_mul_wide(p, a, b, 512);
    expect_hex("mul_wide 512 KAT", p,
               "a7e0edf2806211cb0185ea4c255e6b6ffddf8f487f0367c9a2dbe8ed7b5d0cc5fc80e5472059666af8da8a4379fe62c4"
               "9dd6e3e8765807c0f77be0421b5460cd133e11a93abcedd0b999154f95c0942bbd3f70533c1b97d2184316ae3fc1f2d5"
               "be9e1a549ac59930c244755841209cd71d481bb344c6f7dac3a31f599fca9ece",
               1024);
    /* 256-bit divisions: 10^77 / 12345678901234567890; (2^256 - 1) / 3 */
    from_hex(a, "dd15fe86affad91249ef0eb713f39ebeaa987b6e6fd2a0000000000000000000", 256);
    nox_ct_set_u64(b, 12345678901234567890u, 256);
    nox_ct_divrem(q, r, a, b, 256);
    expect_hex("divrem 256 KAT q", q, "14a57f258ba35ac0f7eaf474013a3106256cec03567d10036", 256);
    expect_hex("divrem 256 KAT r", r, "86f80d1a1401b7b4", 256);
    nox_ct_max(a, 256, 0);
    nox_ct_set_u64(b, 3, 256);
    nox_ct_divrem(q, r, a, b, 256);
    expect_hex("divrem 256 KAT max/3", q, "5555555555555555555555555555555555555555555555555555555555555555", 256);
    CHECK(nox_ct_is_zero(r, 256));
    /* signed: -10^70 / 7 = -(10^70 div 7), remainder -4 (the sign of the dividend) */
    {
        BIGNUM *x = NULL;
        CU_ASSERT_FATAL(BN_dec2bn(&x, "-10000000000000000000000000000000000000000000000000000000000000000000000") > 0);
        to_limbs(a, x, 256);
        BN_free(x);
    }
    nox_ct_set_u64(b, 7, 256);
    nox_ct_sdivrem(q, r, a, b, 256);
    expect_hex("sdivrem 256 KAT q", q, "ffffffcb02e73972cae35e15bf2555d76885ec52237cffadb6db6db6db6db6dc", 256);
    expect_hex("sdivrem 256 KAT r", r, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc", 256);
    /* division by zero and MIN / -1, spelled out */
    nox_ct_set_u64(a, 42, 256);
    nox_ct_zero(b, 256);
    nox_ct_divrem(q, r, a, b, 256);
    expect_hex("divrem by 0: q = MAX", q, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 256);
    expect_hex("divrem by 0: r = a", r, "2a", 256);
    nox_ct_sdivrem(q, r, a, b, 256);
    expect_hex("sdivrem by 0: q = signed MAX", q,
               "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 256);
    expect_hex("sdivrem by 0: r = a", r, "2a", 256);
    nox_ct_min(a, 256, 1);
    nox_ct_max(b, 256, 0); /* -1 */
    nox_ct_sdivrem(q, r, a, b, 256);
    expect_hex("sdivrem MIN / -1 = MIN", q, "8000000000000000000000000000000000000000000000000000000000000000", 256);
    CHECK(nox_ct_is_zero(r, 256));
}

int main(void) {
    bnctx = BN_CTX_new();
    if (!bnctx) return 2;
    init_widths();
    CU_TestInfo tests[] = {
        {"word helpers vs unsigned __int128", test_words},
        {"widths, limb masks, zero/max/min/set_u64/copy", test_widths_constants},
        {"add, sub (carry, borrow), neg", test_add_sub_neg},
        {"mul (truncated), mul_wide (exact)", test_mul},
        {"divrem (unsigned; b = 0)", test_divrem},
        {"sdivrem (toward zero; b = 0, MIN / -1)", test_sdivrem},
        {"eq, lt, le, slt, sle, is_zero, sign, select, mask", test_compare_select},
        {"shl, shr, sar: public and secret amounts", test_shifts},
        {"extend (zero, sign, truncate)", test_extend},
        {"load, store on every integer type", test_load_store},
        {"aliasing: outputs may be inputs", test_aliasing},
        {"known answers: wide mul and div at 256/512", test_known_answers},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("ctint", tests);
    BN_CTX_free(bnctx);
    return rc;
}
