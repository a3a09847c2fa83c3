/*
 * Shared by the exhaustive 8-bit operator tests (test_operators_exhaustive8,
 * test_operators_ext_exhaustive8): 8-bit pattern <-> number helpers for the
 * reference models, the mismatch tally, and the per-operator test scaffolding
 * (BINARY_TESTS / BINARY_INFO around the file's own exhaust_binary).
 */
#ifndef NOX_TEST_EXHAUSTIVE8_H
#define NOX_TEST_EXHAUSTIVE8_H

#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>

#include "nox/types.h"

/* Outputs are pre-filled with this pattern: a plugin must write every meaningful limb. */
#define GARBAGE 0xa5a5a5a5a5a5a5a5u
/* Mismatches printed per (operator, type) before going quiet. */
#define MAX_REPORTS 5

/* The number an 8-bit pattern stands for. */
static inline int32_t value_of(unsigned pattern, int is_signed) {
    return is_signed && pattern >= 128 ? (int32_t)pattern - 256 : (int32_t)pattern;
}

/* The 8-bit pattern of x modulo 256 (two's complement for negative x). */
static inline unsigned wrap8(int64_t x) { return (unsigned)(((x % 256) + 256) % 256); }

typedef struct tally {
    unsigned long checked, mismatches;
} tally;

/* Asserts a tally: no mismatch, and exactly the expected number of cases. */
static inline void assert_tally(const char *what, const tally *t, unsigned long want_checked) {
    if (t->mismatches) printf("  %s: %lu of %lu cases wrong\n", what, t->mismatches, t->checked);
    CU_ASSERT_EQUAL(t->checked, want_checked);
    CU_ASSERT_EQUAL(t->mismatches, 0);
}

/* Asserts the tally of one binary operator on one 8-bit type: all 65,536 operand pairs checked, none wrong. */
static inline void assert_tally_pairs(const char *opname, uint8_t type, const tally *t) {
    char what[64];
    snprintf(what, sizeof what, "%s %s", opname, nox_type_name(type));
    assert_tally(what, t, 65536);
}

/* test_NAME_uint8 and test_NAME_int8: the file's exhaust_binary(OP, type) on each 8-bit type. */
#define BINARY_TESTS(OP, NAME)                                                    \
    static void test_##NAME##_uint8(void) { exhaust_binary(OP, NOX_TYPE_UINT8); } \
    static void test_##NAME##_int8(void) { exhaust_binary(OP, NOX_TYPE_INT8); }

/* The two CU_TestInfo rows of BINARY_TESTS(_, NAME). */
#define BINARY_INFO(NAME) {#NAME " uint8", test_##NAME##_uint8}, {#NAME " int8", test_##NAME##_int8}

#endif
