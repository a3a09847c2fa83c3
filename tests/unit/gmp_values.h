/*
 * Shared by the randomised operator tests (test_operators_random,
 * test_operators_ext_random): the GMP side of the oracle — conversions
 * between nox_value limbs and mpz, the range of a type — and the
 * deterministic operand generator (splitmix64 and random mpz bit strings).
 *
 * Header only; each test program includes it once and gets its own copy of
 * the generator state `rng`, which it seeds per (operator, type).
 */
#ifndef NOX_TEST_GMP_VALUES_H
#define NOX_TEST_GMP_VALUES_H

#include <gmp.h>
#include <stdint.h>
#include <string.h>

#include "nox/types.h"
#include "nox/value.h"

/* A type under test. */
typedef struct tinfo {
    uint8_t code;
    unsigned bits, limbs;
    int is_signed;
} tinfo;

static inline tinfo tinfo_of(uint8_t code) {
    tinfo t = {code, nox_type_bits(code), nox_type_limbs(code), nox_type_is_signed(code)};
    return t;
}

/* ---- conversions between nox_value limbs and mpz -------------------------- */

/* r = the number v's bit pattern stands for (two's complement when signed). */
static inline void mpz_of_value(mpz_t r, const nox_value *v, const tinfo *t) {
    mpz_import(r, t->limbs, -1, sizeof(uint64_t), 0, 0, v->limb);
    if (t->is_signed && mpz_tstbit(r, t->bits - 1)) {
        mpz_t m;
        mpz_init(m);
        mpz_setbit(m, t->bits);
        mpz_sub(r, r, m);
        mpz_clear(m);
    }
}

/* limbs[0..32) = x mod 2^bits: the bit pattern of x wrapped to the width. */
static inline void pattern_of(uint64_t limbs[NOX_VALUE_LIMBS], const mpz_t x, unsigned bits) {
    mpz_t r;
    mpz_init(r);
    mpz_fdiv_r_2exp(r, x, bits);
    memset(limbs, 0, NOX_VALUE_LIMBS * sizeof limbs[0]);
    size_t count = 0;
    mpz_export(limbs, &count, -1, sizeof(uint64_t), 0, 0, r);
    mpz_clear(r);
}

static inline void value_of_mpz(nox_value *v, const mpz_t x, uint8_t type) {
    nox_value_zero(v, type);
    pattern_of(v->limb, x, nox_type_bits(type));
}

/* r = x wrapped into the type's range (the number its low `bits` bits stand for). */
static inline void wrap(mpz_t r, const mpz_t x, const tinfo *t) {
    nox_value v;
    value_of_mpz(&v, x, t->code);
    mpz_of_value(r, &v, t);
}

/* ---- the range of a type -------------------------------------------------- */

static inline void type_max(mpz_t r, const tinfo *t) {
    mpz_set_ui(r, 0);
    mpz_setbit(r, t->is_signed ? t->bits - 1 : t->bits);
    mpz_sub_ui(r, r, 1);
}

static inline void type_min(mpz_t r, const tinfo *t) {
    mpz_set_ui(r, 0);
    if (t->is_signed) {
        mpz_setbit(r, t->bits - 1);
        mpz_neg(r, r);
    }
}

/* ---- operand generation --------------------------------------------------- */

/* The generator's state: set it from the seed before each reproducible stream. */
static uint64_t rng;

/* splitmix64 */
static inline uint64_t rnd(void) {
    uint64_t z = (rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline unsigned rnd_below(unsigned n) { return (unsigned)(rnd() % n); }

/* r = a uniformly random k-bit number (0 <= r < 2^k). */
static inline void random_bits(mpz_t r, unsigned k) {
    uint64_t limbs[NOX_VALUE_LIMBS + 1] = {0};
    for (unsigned i = 0; i < (k + 63) / 64; i++) limbs[i] = rnd();
    mpz_import(r, (k + 63) / 64, -1, sizeof(uint64_t), 0, 0, limbs);
    mpz_fdiv_r_2exp(r, r, k);
}

#endif
