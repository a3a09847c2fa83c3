/*
 * Constant-time check of nox/ctint.h itself (the SDK's constant-time
 * integers), as ctime_operators does for the operators: run under valgrind
 * memcheck with every secret input marked undefined
 * (VALGRIND_MAKE_MEM_UNDEFINED); memcheck then reports any branch or memory
 * index that depends on a secret ("conditional jump or move depends on
 * uninitialised value", "use of uninitialised value" in an address).
 *
 * Every operation of the header runs at 64, 256 and 512 bits (and the
 * double widths a muldiv uses: the wide product, its division), on three
 * sets of values: zeros, extremes (MIN, -1, division by zero, MIN / -1) and
 * pseudo-random ones. Secret: every limb of every value, the select mask, the
 * amount of the *_secret shifts and the carry-in of the word helpers. Public:
 * the widths, signedness and the amounts of the public shifts. Outputs are
 * marked defined again before anything looks at them.
 *
 *   valgrind --error-exitcode=42 ctime_ctint          exits 42 on a leak
 *   valgrind --error-exitcode=42 ctime_ctint --leak   a deliberate leak: must be reported
 * Outside valgrind the marks are no-ops and the program only checks that it runs.
 */
#include <stdio.h>
#include <string.h>
#include <valgrind/memcheck.h>

#include "nox/ctint.h"

enum { ML = NOX_CT_MAX_LIMBS };

#define SECRET(p, limbs) VALGRIND_MAKE_MEM_UNDEFINED((p), (size_t)(limbs) * sizeof(uint64_t))
#define PUBLIC(p, limbs) VALGRIND_MAKE_MEM_DEFINED((p), (size_t)(limbs) * sizeof(uint64_t))

static volatile uint64_t sink; /* keeps every result alive */
static unsigned calls;

/* A canonical value of the given kind: 0 zeros, 1 extremes (`alt` picks MIN or -1), else pseudo-random. */
static void fill(uint64_t *a, unsigned bits, unsigned kind, unsigned alt, uint64_t seed) {
    unsigned n = NOX_CT_LIMBS(bits);
    for (unsigned i = 0; i < n; i++) {
        uint64_t x = seed * UINT64_C(0x9e3779b97f4a7c15) + i * UINT64_C(0x632be59bd9b4e019);
        a[i] = kind == 0 ? 0 : kind == 1 ? (alt ? ~(uint64_t)0 : 0) : x ^ (x >> 29);
    }
    if (kind == 1 && !alt) a[(bits - 1) / 64] = (uint64_t)1 << ((bits - 1) % 64); /* MIN */
    nox_ct_mask(a, bits);
}

/* Outputs become public (and are folded into the sink) once the call has returned. */
static void done(const uint64_t *r, unsigned limbs) {
    PUBLIC(r, limbs);
    for (unsigned i = 0; i < limbs; i++) sink ^= r[i];
    calls++;
}

static void done_word(uint64_t w) {
    PUBLIC(&w, 1);
    sink ^= w;
    calls++;
}

static void check_width(unsigned bits, unsigned kind) {
    uint64_t a[ML], b[ML], r[ML], r2[ML], p[ML];
    unsigned n = NOX_CT_LIMBS(bits), w = 2 * bits, nw = NOX_CT_LIMBS(w);
    /* fresh secret inputs for every call: a (MIN for the extremes), b (-1 for the extremes) */
#define INPUTS()                                        \
    do {                                                \
        fill(a, bits, kind, 0, bits + 1);               \
        fill(b, bits, kind, 1, bits + 7);               \
        SECRET(a, n);                                   \
        SECRET(b, n);                                   \
    } while (0)

    /* words */
    uint64_t c, hi;
    INPUTS();
    done_word(nox_ct_addc(a[0], b[0], b[n - 1] & 1, &c));
    done_word(c);
    INPUTS();
    done_word(nox_ct_subb(a[0], b[0], b[n - 1] & 1, &c));
    done_word(c);
    INPUTS();
    done_word(nox_ct_mul64(a[0], b[0], &hi));
    done_word(hi);
    INPUTS();
    done_word(nox_ct_mac(a[n - 1], a[0], b[0], b[n - 1], &c));
    done_word(c);
    INPUTS();
    done_word(nox_ct_mask_bit(a[0]));
    done_word(nox_ct_mask_nonzero(b[0]));

    /* setting, copying, converting */
    INPUTS();
    nox_ct_set_u64(r, a[0], bits);
    done(r, n);
    INPUTS();
    nox_ct_copy(r, a, bits);
    done(r, n);
    INPUTS();
    for (unsigned i = 0; i < n; i++) r[i] = a[i] | b[i] << 1; /* secret bits above the width too */
    nox_ct_mask(r, bits);
    done(r, n);
    nox_ct_zero(r, bits);
    done(r, n);
    nox_ct_max(r, bits, 1);
    done(r, n);
    nox_ct_min(r, bits, 1);
    done(r, n);
    unsigned to[] = {8, bits - 1, bits, bits + 1, w};
    for (unsigned t = 0; t < sizeof to / sizeof to[0]; t++)
        for (int s = 0; s <= 1; s++) {
            INPUTS();
            nox_ct_extend(r, to[t], a, bits, s);
            done(r, NOX_CT_LIMBS(to[t]));
        }
    static const uint8_t types[][2] = {{NOX_TYPE_UINT64, NOX_TYPE_INT64},
                                       {NOX_TYPE_UINT256, NOX_TYPE_INT256},
                                       {NOX_TYPE_UINT512, NOX_TYPE_INT512}};
    for (unsigned ti = 0; ti < 3; ti++)
        for (unsigned s = 0; s <= 1; s++) {
            if (nox_type_bits(types[ti][s]) != bits) continue;
            nox_value v;
            memset(&v, 0, sizeof v);
            v.type = types[ti][s];
            fill(v.limb, bits, kind, s, bits + 3);
            SECRET(v.limb, n);
            nox_ct_load(r, w, &v);
            done(r, nw);
            INPUTS();
            nox_ct_mul_wide(p, a, b, bits);
            nox_ct_store(&v, p, w);
            done(v.limb, n);
        }

    /* predicates and selection */
    INPUTS();
    done_word(nox_ct_is_zero(a, bits));
    INPUTS();
    done_word(nox_ct_sign(a, bits));
    INPUTS();
    done_word(nox_ct_eq(a, b, bits));
    INPUTS();
    done_word(nox_ct_lt(a, b, bits));
    INPUTS();
    done_word(nox_ct_le(a, b, bits));
    INPUTS();
    done_word(nox_ct_slt(a, b, bits));
    INPUTS();
    done_word(nox_ct_sle(a, b, bits));
    INPUTS();
    nox_ct_select(r, nox_ct_mask_bit(nox_ct_lt(a, b, bits)), a, b, bits);
    done(r, n);

    /* arithmetic */
    INPUTS();
    done_word(nox_ct_add(r, a, b, bits));
    done(r, n);
    INPUTS();
    done_word(nox_ct_sub(r, a, b, bits));
    done(r, n);
    INPUTS();
    nox_ct_neg(r, a, bits);
    done(r, n);
    INPUTS();
    nox_ct_mul(r, a, b, bits);
    done(r, n);
    INPUTS();
    nox_ct_mul_wide(r, a, b, bits);
    done(r, nw);
    INPUTS();
    nox_ct_divrem(r, r2, a, b, bits);
    done(r, n);
    done(r2, n);
    INPUTS();
    nox_ct_sdivrem(r, r2, a, b, bits);
    done(r, n);
    done(r2, n);
    INPUTS();
    nox_ct_divrem(r, NULL, a, b, bits);
    done(r, n);
    INPUTS();
    nox_ct_sdivrem(NULL, r2, a, b, bits);
    done(r2, n);
    /* the muldiv pattern: a 2N-bit product divided by a zero-extended N-bit value */
    INPUTS();
    nox_ct_mul_wide(p, a, b, bits);
    nox_ct_extend(r2, w, b, bits, 0);
    nox_ct_divrem(r, NULL, p, r2, w);
    done(r, nw);

    /* shifts: public amounts (secret values), then secret amounts */
    unsigned amounts[] = {0, 1, 63, 64, 65, bits - 1, bits, bits + 5};
    for (unsigned k = 0; k < sizeof amounts / sizeof amounts[0]; k++) {
        INPUTS();
        nox_ct_shl(r, a, amounts[k], bits);
        done(r, n);
        INPUTS();
        nox_ct_shr(r, a, amounts[k], bits);
        done(r, n);
        INPUTS();
        nox_ct_sar(r, a, amounts[k], bits);
        done(r, n);
    }
    for (unsigned k = 0; k < 3; k++) {
        /* the amount: in range, up to twice the width, or any 64-bit value */
        uint64_t mask = k == 0 ? (uint64_t)bits - 1 : k == 1 ? (uint64_t)2 * bits - 1 : ~(uint64_t)0;
        INPUTS();
        nox_ct_shl_secret(r, a, b[0] & mask, bits);
        done(r, n);
        INPUTS();
        nox_ct_shr_secret(r, a, b[0] & mask, bits);
        done(r, n);
        INPUTS();
        nox_ct_sar_secret(r, a, b[0] & mask, bits);
        done(r, n);
    }
    INPUTS();
    nox_ct_wipe(a, n);
    done(a, n);
#undef INPUTS
}

/* A deliberate leak, to show that the check sees one: a branch and a table index on a secret. */
static int leak(void) {
    static const uint64_t table[256] = {1, 2, 3};
    uint64_t a[4];
    fill(a, 256, 2, 0, 1);
    SECRET(a, 4);
    if (nox_ct_lt(a, a + 1, 64)) sink ^= 1; /* branch on a secret 0/1 */
    sink ^= table[a[2] & 255];             /* memory index from a secret */
    printf("ctime_ctint --leak: done (valgrind must have reported both)\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--leak")) return leak();
    static const unsigned widths[] = {64, 256, 512};
    for (unsigned i = 0; i < sizeof widths / sizeof widths[0]; i++)
        for (unsigned kind = 0; kind < 3; kind++) check_width(widths[i], kind);
    printf("ctime_ctint: %u calls at 64, 256 and 512 bits with secret inputs%s\n", calls,
           RUNNING_ON_VALGRIND ? " (under valgrind)" : " (not under valgrind: nothing checked)");
    return 0;
}
