/*
 * Tests of the template plugin, run by `ctest` in the plugin's build directory.
 *
 * The test loads the BUILT template.so with dlopen, exactly as the Nox engine
 * does: it reads the exported `nox_plugin`, checks its magic, ABI version and
 * struct sizes, calls its init with a small host of its own that records the
 * registered descriptors, then evaluates the operators on edge cases of every
 * width, signed and unsigned, and mul_div against an independent reference
 * (unsigned __int128 up to 64 bits, hand-checked answers at 256 bits). It
 * needs nothing but nox/plugin.h and CUnit.
 *
 * TEMPLATE_SO (the path of the built plugin) is set by CMakeLists.txt.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nox/plugin.h>

#ifndef TEMPLATE_SO
#error "TEMPLATE_SO must be defined by the build"
#endif

/* ---- a minimal host: records what the plugin registers ------------------- */

#define MAX_OPS 16

struct nox_plugin_ctx {
    nox_operator ops[MAX_OPS];
    size_t n_ops;
    char failure[256];
};

static int test_register(nox_plugin_ctx *ctx, const nox_operator *op) {
    if (ctx->n_ops == MAX_OPS || op->struct_size != sizeof *op) return -1;
    ctx->ops[ctx->n_ops++] = *op; /* the plugin's strings are static: no copy needed here */
    return 0;
}

static const char *test_option(nox_plugin_ctx *ctx, const char *key) {
    (void)ctx, (void)key;
    return NULL; /* no options configured */
}

static void test_log(nox_plugin_ctx *ctx, int level, const char *fmt, ...) {
    (void)ctx, (void)level, (void)fmt;
}

static void test_fail(nox_plugin_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->failure, sizeof ctx->failure, fmt, ap);
    va_end(ap);
}

static const nox_host host = {NOX_PLUGIN_ABI_VERSION, sizeof(nox_host), test_register, test_option, test_log,
                              test_fail};

static void *dl;
static const nox_plugin_info *info;
static nox_plugin_ctx registry;

static const nox_operator *find(const char *name) {
    for (size_t i = 0; i < registry.n_ops; i++)
        if (!strcmp(registry.ops[i].name, name)) return &registry.ops[i];
    CU_FAIL_FATAL("operator not registered");
    return NULL;
}

/* ---- values ------------------------------------------------------------------ */

/* A value of `type` from a signed 64-bit integer, sign-extended to the type's width. */
static nox_value val(unsigned type, int64_t x) {
    nox_value v;
    memset(&v, 0, sizeof v);
    v.type = (uint8_t)type;
    unsigned bits = nox_type_bits(type), n = nox_type_limbs(type);
    for (unsigned i = 0; i < n; i++) v.limb[i] = i == 0 ? (uint64_t)x : (x < 0 ? ~(uint64_t)0 : 0);
    if (bits % 64) v.limb[n - 1] &= ((uint64_t)1 << (bits % 64)) - 1;
    return v;
}

/* MAX (or MIN when min != 0) of an integer type. */
static nox_value extreme(unsigned type, int min) {
    nox_value v = val(type, 0);
    unsigned bits = nox_type_bits(type), n = nox_type_limbs(type);
    if (!nox_type_is_signed(type)) {
        if (!min) v = val(type, -1); /* all ones */
        return v;
    }
    uint64_t sign = (uint64_t)1 << ((bits - 1) % 64);
    for (unsigned i = 0; i < n; i++) v.limb[i] = min ? 0 : ~(uint64_t)0;
    if (bits % 64) v.limb[n - 1] &= ((uint64_t)1 << (bits % 64)) - 1;
    if (min) v.limb[n - 1] |= sign;
    else v.limb[n - 1] &= ~sign;
    return v;
}

/* 2^k as a value of `type` (k below its width). */
static nox_value pow2(unsigned type, unsigned k) {
    nox_value v = val(type, 0);
    v.limb[k / 64] = (uint64_t)1 << (k % 64);
    return v;
}

/* A value of `type` from its limbs, least significant first (the rest zero). */
static nox_value limbs4(unsigned type, uint64_t l0, uint64_t l1, uint64_t l2, uint64_t l3) {
    nox_value v = val(type, 0);
    v.limb[0] = l0, v.limb[1] = l1, v.limb[2] = l2, v.limb[3] = l3;
    return v;
}

static int canonical(const nox_value *v) {
    unsigned bits = nox_type_bits(v->type);
    return bits % 64 == 0 || (v->limb[(bits - 1) / 64] >> (bits % 64)) == 0;
}

/* Evaluates `name` on n inputs and checks the result equals `want` (and is canonical). */
static void expect(const char *name, const nox_value *in, unsigned n, nox_value want) {
    const nox_operator *op = find(name);
    CU_ASSERT_EQUAL_FATAL(op->n_inputs, n);
    nox_value out;
    memset(&out, 0xA5, sizeof out); /* garbage: the plugin must write every meaningful limb */
    out.type = want.type;           /* the engine sets the output type before eval */
    CU_ASSERT_EQUAL(op->eval(in, &out, op->data), 0);
    CU_ASSERT_EQUAL(out.type, want.type);
    CU_ASSERT(canonical(&out));
    int same = !memcmp(out.limb, want.limb, nox_type_limbs(want.type) * sizeof(uint64_t));
    if (!same) fprintf(stderr, "\n  %s on type %u: got limb0 0x%llx, want 0x%llx\n", name, want.type,
                       (unsigned long long)out.limb[0], (unsigned long long)want.limb[0]);
    CU_ASSERT(same);
}

static void expect2(const char *name, nox_value a, nox_value b, nox_value want) {
    nox_value in[2] = {a, b};
    expect(name, in, 2, want);
}

static void expect3(const char *name, nox_value a, nox_value b, nox_value c, nox_value want) {
    nox_value in[3] = {a, b, c};
    expect(name, in, 3, want);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_abi(void) {
    CU_ASSERT_EQUAL(info->magic, NOX_PLUGIN_MAGIC);
    CU_ASSERT_EQUAL(info->abi_version, NOX_PLUGIN_ABI_VERSION);
    CU_ASSERT_EQUAL(info->info_size, sizeof(nox_plugin_info));
    CU_ASSERT_EQUAL(info->value_size, sizeof(nox_value));
    CU_ASSERT_EQUAL(info->operator_size, sizeof(nox_operator));
    CU_ASSERT_EQUAL(info->host_size, sizeof(nox_host));
    CU_ASSERT_STRING_EQUAL(info->name, "template");
}

static void test_descriptors(void) {
    CU_ASSERT_EQUAL(registry.n_ops, 3);
    CU_ASSERT_STRING_EQUAL(registry.failure, "");
    const nox_operator *avg = find("average"), *clamp = find("clamp"), *md = find("mul_div");
    CU_ASSERT(avg->id >= 1000 && clamp->id >= 1000 && md->id >= 1000); /* team id range */
    CU_ASSERT(avg->id != clamp->id && avg->id != md->id && clamp->id != md->id);
    CU_ASSERT_EQUAL(avg->n_inputs, 2);
    CU_ASSERT_EQUAL(clamp->n_inputs, 3);
    CU_ASSERT_EQUAL(md->n_inputs, 3);
    CU_ASSERT_EQUAL(avg->n_outputs, 1);
    CU_ASSERT_EQUAL(md->n_outputs, 1);
    CU_ASSERT(avg->flags & NOX_OP_CONSTANT_TIME);
    CU_ASSERT(clamp->flags & NOX_OP_CONSTANT_TIME);
    CU_ASSERT(md->flags & NOX_OP_CONSTANT_TIME);
    for (unsigned c = 0; c < 256; c++) { /* exactly uint8..uint256 and int8..int256; mul_div: uint8..uint256 */
        int want = c >= NOX_TYPE_UINT8 && c <= NOX_TYPE_INT256;
        CU_ASSERT_EQUAL(nox_typeset_has(&avg->typevars[0], c), want);
        CU_ASSERT_EQUAL(nox_typeset_has(&clamp->typevars[0], c), want);
        CU_ASSERT_EQUAL(nox_typeset_has(&md->typevars[0], c), c >= NOX_TYPE_UINT8 && c <= NOX_TYPE_UINT256);
    }
}

static void test_average(void) {
    for (unsigned t = NOX_TYPE_UINT8; t <= NOX_TYPE_INT256; t++) {
        if (!nox_type_bits(t)) continue;
        nox_value max = extreme(t, 0), min = extreme(t, 1);
        expect2("average", val(t, 0), val(t, 0), val(t, 0));
        expect2("average", val(t, 1), val(t, 2), val(t, 1));    /* 1.5 -> 1 */
        expect2("average", val(t, 6), val(t, 10), val(t, 8));
        expect2("average", max, max, max);                       /* no overflow */
        expect2("average", min, min, min);
        if (nox_type_is_signed(t)) {
            expect2("average", val(t, -1), val(t, -2), val(t, -1)); /* -1.5 -> -1: toward zero */
            expect2("average", val(t, -3), val(t, 0), val(t, -1));
            expect2("average", val(t, 3), val(t, -4), val(t, 0));   /* -0.5 -> 0 */
            expect2("average", min, max, val(t, 0));                 /* -0.5 -> 0 */
            expect2("average", val(t, -7), val(t, -9), val(t, -8));
        } else {
            nox_value max_minus_1 = max;
            max_minus_1.limb[0]--;
            expect2("average", max, max_minus_1, max_minus_1);      /* (2^N - 1.5) -> 2^N - 2 */
            nox_value half = extreme(t + 32, 0); /* (2^N - 1) / 2 is the MAX of intN... */
            half.type = (uint8_t)t;              /* ...as a uintN */
            expect2("average", max, val(t, 0), half);
        }
    }
}

static void test_clamp(void) {
    for (unsigned t = NOX_TYPE_UINT8; t <= NOX_TYPE_INT256; t++) {
        if (!nox_type_bits(t)) continue;
        nox_value max = extreme(t, 0), min = extreme(t, 1);
        expect3("clamp", val(t, 5), val(t, 1), val(t, 9), val(t, 5));
        expect3("clamp", val(t, 0), val(t, 1), val(t, 9), val(t, 1));
        expect3("clamp", val(t, 10), val(t, 1), val(t, 9), val(t, 9));
        expect3("clamp", max, min, max, max);
        expect3("clamp", min, min, max, min);
        expect3("clamp", val(t, 5), val(t, 9), val(t, 1), val(t, 1)); /* low > high: high */
        if (nox_type_is_signed(t)) {
            expect3("clamp", val(t, -5), val(t, -3), val(t, 3), val(t, -3));
            expect3("clamp", min, val(t, -1), val(t, 1), val(t, -1));
            expect3("clamp", max, val(t, -1), val(t, 1), val(t, 1));
        } else {
            expect3("clamp", max, val(t, 0), val(t, 7), val(t, 7));
        }
    }
}

/* mul_div: edge cases at every width (identities that hold for any N). */
static void test_mul_div_edges(void) {
    for (unsigned t = NOX_TYPE_UINT8; t <= NOX_TYPE_UINT256; t++) {
        unsigned bits = nox_type_bits(t);
        nox_value max = extreme(t, 0), zero = val(t, 0), one = val(t, 1), two = val(t, 2);
        nox_value max_minus_1 = max;
        max_minus_1.limb[0]--;
        expect3("mul_div", zero, val(t, 7), val(t, 3), zero);            /* 0 * b / c = 0 */
        expect3("mul_div", val(t, 6), val(t, 7), val(t, 4), val(t, 10)); /* 42 / 4 = 10.5 -> 10 */
        expect3("mul_div", val(t, 7), val(t, 6), val(t, 7), val(t, 6));  /* exact */
        expect3("mul_div", max, max, max, max);                          /* the 2N-bit product: no overflow */
        expect3("mul_div", max, two, two, max);
        expect3("mul_div", max, max, one, one);         /* (2^N - 1)^2 = 1 mod 2^N: truncated */
        expect3("mul_div", max, two, one, max_minus_1); /* 2^(N+1) - 2 = 2^N - 2 mod 2^N */
        expect3("mul_div", pow2(t, bits - 1), val(t, 4), two, zero); /* 2^N mod 2^N */
        /* 3 (2^N - 1) / 2 = 3 * 2^(N-1) - 1.5 -> 3 * 2^(N-1) - 2 = 2^(N-1) - 2 mod 2^N (uint8: 126),
         * i.e. MAX with its top bit and its bit 0 cleared */
        nox_value want = max;
        want.limb[0] &= ~(uint64_t)1;
        want.limb[(bits - 1) / 64] &= ~((uint64_t)1 << ((bits - 1) % 64));
        expect3("mul_div", max, val(t, 3), two, want);
        expect3("mul_div", max, pow2(t, bits / 2), pow2(t, bits / 2), max); /* x * 2^k / 2^k = x */
        /* c = 0: T's MAX, whatever a and b */
        expect3("mul_div", zero, zero, zero, max);
        expect3("mul_div", val(t, 5), val(t, 9), zero, max);
        expect3("mul_div", max, max, zero, max);
        if (bits >= 16) expect3("mul_div", val(t, 200), val(t, 200), val(t, 100), val(t, 400));
        else expect3("mul_div", val(t, 200), val(t, 200), val(t, 100), val(t, 400 - 256)); /* uint8: 144 */
    }
}

/* mul_div against unsigned __int128 on random operands, uint8..uint64. */
static void test_mul_div_random(void) {
    __extension__ typedef unsigned __int128 u128;
    uint64_t state = 0x243f6a8885a308d3u;
    for (unsigned t = NOX_TYPE_UINT8; t <= NOX_TYPE_UINT64; t++) {
        unsigned bits = nox_type_bits(t);
        uint64_t mask = bits == 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1;
        for (unsigned k = 0; k < 3000; k++) {
            uint64_t x[3];
            for (unsigned i = 0; i < 3; i++) {
                state = state * 6364136223846793005u + 1442695040888963407u; /* LCG; take the high bits */
                x[i] = (state >> 11) ^ (state << 53);
                if (k % 4 == i) x[i] >>= (state >> 58); /* small operands too, for short quotients */
                x[i] &= mask;
            }
            if (k % 50 == 0) x[2] = 0;
            u128 p = (u128)x[0] * x[1];
            uint64_t want = x[2] ? (uint64_t)(p / x[2]) & mask : mask; /* truncated; c = 0 -> MAX */
            nox_value a = val(t, 0), b = val(t, 0), c = val(t, 0), w = val(t, 0);
            a.limb[0] = x[0], b.limb[0] = x[1], c.limb[0] = x[2], w.limb[0] = want;
            expect3("mul_div", a, b, c, w);
        }
    }
}

/* mul_div at 256 bits, answers checked by hand. */
static void test_mul_div_256(void) {
    unsigned t = NOX_TYPE_UINT256;
    const uint64_t ones = ~(uint64_t)0;
    /* (2^256 - 1)^2 / 2^128 = (2^512 - 2^257 + 1) / 2^128 -> 2^384 - 2^129; mod 2^256: 2^256 - 2^129,
     * i.e. bits 129..255 set: limbs 0, 0, 0xff..fe, 0xff..ff */
    expect3("mul_div", extreme(t, 0), extreme(t, 0), pow2(t, 128),
            limbs4(t, 0, 0, 0xfffffffffffffffeu, ones));
    /* 10^30 * 10^30 / 7: 10^60 - 1 = 999...9 (60 nines) = 7 * 142857142857...142857 (the six
     * digits ten times), so the quotient is that 60-digit number (remainder 1), which fits in
     * 197 bits: 0x16_c22a2a035f297792_8c7bc04f82e9f01f_0249249249249249 (Python: 10**60 // 7) */
    nox_value e30 = limbs4(t, 0x4674edea40000000u, 0xc9f2c9cd0u, 0, 0); /* 10^30 */
    expect3("mul_div", e30, e30, val(t, 7),
            limbs4(t, 0x0249249249249249u, 0x8c7bc04f82e9f01fu, 0xc22a2a035f297792u, 0x16));
    /* 2^255 * 6 / 4 = 3 * 2^254: limb 3 = 0xc0..0 */
    expect3("mul_div", pow2(t, 255), val(t, 6), val(t, 4), limbs4(t, 0, 0, 0, 0xc000000000000000u));
    /* MAX * 2^200 / 2^100 = (2^256 - 1) * 2^100 = 2^356 - 2^100 -> mod 2^256: 2^256 - 2^100,
     * bits 100..255 set: limb 0 = 0, limb 1 = bits 36..63 = 0xfffffff000000000, limbs 2, 3 all ones */
    expect3("mul_div", extreme(t, 0), pow2(t, 200), pow2(t, 100), limbs4(t, 0, 0xfffffff000000000u, ones, ones));
    /* c = 0: MAX */
    expect3("mul_div", e30, e30, val(t, 0), extreme(t, 0));
}

int main(void) {
    dl = dlopen(TEMPLATE_SO, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "cannot load %s: %s\n", TEMPLATE_SO, dlerror());
        return 2;
    }
    info = (const nox_plugin_info *)dlsym(dl, NOX_PLUGIN_SYMBOL);
    if (!info || info->magic != NOX_PLUGIN_MAGIC || info->abi_version != NOX_PLUGIN_ABI_VERSION) {
        fprintf(stderr, "%s: no usable %s symbol\n", TEMPLATE_SO, NOX_PLUGIN_SYMBOL);
        return 2;
    }
    if (info->init(&host, &registry) != 0) {
        fprintf(stderr, "%s: init failed: %s\n", TEMPLATE_SO, registry.failure);
        return 2;
    }

    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("template", NULL, NULL);
    CU_add_test(s, "ABI fields of nox_plugin", test_abi);
    CU_add_test(s, "descriptors: ids, arity, types, flags", test_descriptors);
    CU_add_test(s, "average on every width, signed and unsigned", test_average);
    CU_add_test(s, "clamp on every width, signed and unsigned", test_clamp);
    CU_add_test(s, "mul_div edge cases on every width (truncation, c = 0)", test_mul_div_edges);
    CU_add_test(s, "mul_div vs unsigned __int128, uint8..uint64", test_mul_div_random);
    CU_add_test(s, "mul_div known answers at 256 bits", test_mul_div_256);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    dlclose(dl);
    return failed ? 1 : 0;
}
