/*
 * nox-plugin-check — checks an operator plugin the way the engine will use it.
 *
 *   nox-plugin-check PLUGIN.so [--seed N] [--iterations N] [--timeout S]
 *                    [--option KEY=VALUE]... [--json]
 *   nox-plugin-check --solidity OUT.sol PLUGIN.so [--check ...] [--option KEY=VALUE]...
 *
 * 1. Loads the plugin through the engine's own loader (nox_plugin_inspect: the
 *    same dlopen, ABI check and descriptor validation as nox-eval and the
 *    Runner), collecting every descriptor problem instead of stopping at the
 *    first; then checks ids across descriptors and whether an engine accepts
 *    the plugin (nox_engine_add_plugin).
 * 2. For every implementation and every concrete type combination its
 *    signature admits, evaluates it through nox_call_eval (the engine's checks:
 *    non-zero return, output type changed, non-canonical output) on edge
 *    values (0, 1, 2, 3, -1/MAX, -2/MAX-1, MIN, MAX, 2^k, 2^k +- 1, -2^k) and
 *    on seeded random values. Every input set is evaluated twice, into output
 *    buffers pre-filled with 0x00 and with 0xff, and the outputs compared
 *    (non-determinism, or outputs the plugin leaves partly unwritten). Inputs
 *    must come back unchanged, and nothing may be written past the outputs.
 * 3. Evaluations run in a child process (one per batch of type combinations);
 *    a crash, a sanitizer abort or a timeout is reported with the operator,
 *    the types and the inputs (hex: they are test values) that caused it, and
 *    checking goes on with the next type combination.
 *
 * 4. --solidity OUT.sol writes typed Solidity bindings of the plugin's extension
 *    operators (library Nox<Name>, calling NoxCompute.compute) after the
 *    descriptor checks; the evaluation (2, 3) runs only with --check too.
 *
 * 5. --ctime proves constant time too (ctime.c): every operator flagged
 *    NOX_OP_CONSTANT_TIME is evaluated under valgrind on every type combination
 *    with its inputs marked secret; a branch or memory index on them is a leak.
 *
 * Exit status: 0 clean, 1 problems found, 2 bad usage or the plugin cannot be
 * loaded at all (missing file, other ABI, init failed).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "nox/engine.h"
#include "nox/types.h"
#include "nox/value.h"
#include "plugin_check.h"

#ifndef NOX_VERSION
#define NOX_VERSION "unknown"
#endif

/* With AddressSanitizer the inputs and outputs are exact-size heap arrays, so
 * ASan catches any access past them; without it, a guard value after the
 * outputs catches writes past them. */
#if defined(__SANITIZE_ADDRESS__)
#define CHECK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHECK_ASAN 1
#endif
#endif
#ifndef CHECK_ASAN
#define CHECK_ASAN 0
#endif

enum { EXIT_CLEAN = 0, EXIT_PROBLEMS = 1, EXIT_USAGE = 2 };

/* ---- problem kinds found by evaluation ------------------------------------ */

enum kind { K_RC, K_TYPE, K_NONCANON, K_NONDET, K_INPUT, K_OVERRUN, K_RESOLVE, K_COUNT };
static const char *const kind_id[K_COUNT] = {"nonzero_return",    "output_type",    "non_canonical", "non_deterministic",
                                             "input_modified",    "output_overrun", "resolve"};
static const char *const kind_text[K_COUNT] = {
    "non-zero returns",      "output type changes",        "non-canonical outputs",
    "non-deterministic results (or outputs left partly unwritten)", "inputs modified", "writes past the outputs",
    "type resolution failures"};

/* ---- options and the random generator ------------------------------------- */

#define MAX_OPTS 32
#define BATCH 32           /* type combinations per child process */
#define MAX_COMBOS 20000   /* type combinations per implementation (sampled beyond) */
#define EDGE_BUDGET 262144 /* edge-value input sets per implementation, spread over its combinations */
#define EDGE_MIN 64
#define EDGE_MAX 4096
#define MAX_EDGES 160

typedef struct options {
    const char *path;
    uint64_t seed;
    unsigned long iterations;
    unsigned timeout;
    int json;
    const char *solidity; /* --solidity OUT.sol */
    const char *config;   /* --config operators.yaml: collisions with what it loads */
    int check;            /* --check: evaluate as well */
    int ctime;            /* --ctime: the constant-time pass under valgrind (ctime.c) */
    size_t n_opts;
    const char *opt_keys[MAX_OPTS], *opt_values[MAX_OPTS];
    char *opt_buf[MAX_OPTS];
} options;

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) { /* xoshiro256** */
    uint64_t *s = r->s, out = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl64(s[3], 45);
    return out;
}

static uint64_t hash_str(uint64_t h, const char *s) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

/* ---- values ----------------------------------------------------------------- */

static void v_mask(nox_value *v) {
    unsigned bits = nox_type_bits(v->type), n = nox_type_limbs(v->type);
    for (unsigned i = n; i < NOX_VALUE_LIMBS; i++) v->limb[i] = 0;
    if (bits % 64) v->limb[n - 1] &= ((uint64_t)1 << (bits % 64)) - 1;
}

static nox_value v_small(uint8_t type, uint64_t x) {
    nox_value v;
    nox_value_zero(&v, type);
    v.limb[0] = x;
    v_mask(&v);
    return v;
}

static nox_value v_pow2(uint8_t type, unsigned k) {
    nox_value v;
    nox_value_zero(&v, type);
    v.limb[k / 64] = (uint64_t)1 << (k % 64);
    return v;
}

static nox_value v_ones(uint8_t type) {
    nox_value v;
    nox_value_zero(&v, type);
    for (unsigned i = 0; i < nox_type_limbs(type); i++) v.limb[i] = ~(uint64_t)0;
    v_mask(&v);
    return v;
}

/* v + d (d may be negative), modulo 2^width. */
static nox_value v_add(nox_value v, int64_t d) {
    uint64_t ext = d < 0 ? ~(uint64_t)0 : 0, carry = 0;
    for (unsigned i = 0; i < nox_type_limbs(v.type); i++) {
        uint64_t a = v.limb[i], b = i == 0 ? (uint64_t)d : ext;
        uint64_t s = a + b, c1 = s < a;
        uint64_t t = s + carry, c2 = t < s;
        v.limb[i] = t;
        carry = c1 | c2;
    }
    v_mask(&v);
    return v;
}

/* Two's complement negation within the width. */
static nox_value v_neg(nox_value v) {
    for (unsigned i = 0; i < nox_type_limbs(v.type); i++) v.limb[i] = ~v.limb[i];
    v_mask(&v);
    return v_add(v, 1);
}

static int v_same(const nox_value *a, const nox_value *b) { return nox_value_equal(a, b); }

static size_t push_unique(nox_value *vals, size_t n, nox_value v) {
    if (n >= MAX_EDGES) return n;
    for (size_t i = 0; i < n; i++)
        if (v_same(&vals[i], &v)) return n;
    vals[n] = v;
    return n + 1;
}

/* The edge values of a type: 0, 1, 2, 3, all ones (MAX or -1), all ones - 1,
 * MIN, MAX and their neighbours for signed types, 2^k and 2^k +- 1 (and -2^k
 * for signed types) for k at byte, word and half/full-width boundaries. */
static size_t edge_values(uint8_t type, nox_value *vals) {
    size_t n = 0;
    unsigned w = nox_type_bits(type);
    if (type == NOX_TYPE_BOOL) {
        vals[0] = v_small(type, 0);
        vals[1] = v_small(type, 1);
        return 2;
    }
    int s = nox_type_is_signed(type);
    for (uint64_t x = 0; x < 4; x++) n = push_unique(vals, n, v_small(type, x));
    nox_value ones = v_ones(type);
    n = push_unique(vals, n, ones);
    n = push_unique(vals, n, v_add(ones, -1));
    if (s) {
        nox_value min = v_pow2(type, w - 1), max = v_add(min, -1);
        n = push_unique(vals, n, min);
        n = push_unique(vals, n, v_add(min, 1));
        n = push_unique(vals, n, max);
        n = push_unique(vals, n, v_add(max, -1));
    }
    const unsigned ks[] = {1, 2, 7, 8, 15, 16, 31, 32, 63, 64, 65, 127, 128, 159, 255, 256, 511, 512, 1023, 1024,
                           w / 2 - 1, w / 2, w / 2 + 1, w - 2, w - 1};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        unsigned k = ks[i];
        if (k == 0 || k >= w) continue;
        nox_value p = v_pow2(type, k);
        n = push_unique(vals, n, p);
        n = push_unique(vals, n, v_add(p, -1));
        n = push_unique(vals, n, v_add(p, 1));
        if (s && k < w - 1) n = push_unique(vals, n, v_neg(p));
    }
    return n;
}

/* A random value: uniform, a random bit length, an edge neighbourhood or sparse bits. */
static nox_value random_value(uint8_t type, rng *r) {
    nox_value v;
    nox_value_zero(&v, type);
    unsigned w = nox_type_bits(type), n = nox_type_limbs(type);
    switch (rng_next(r) % 4) {
    case 0:
        for (unsigned i = 0; i < n; i++) v.limb[i] = rng_next(r);
        break;
    case 1: {
        unsigned len = (unsigned)(rng_next(r) % (w + 1));
        for (unsigned i = 0; i < n; i++) {
            uint64_t x = rng_next(r);
            if (64 * i >= len) x = 0;
            else if (64 * (i + 1) > len) x &= ((uint64_t)1 << (len - 64 * i)) - 1;
            v.limb[i] = x;
        }
        break;
    }
    case 2: {
        nox_value e[MAX_EDGES];
        size_t ne = edge_values(type, e);
        v = v_add(e[rng_next(r) % ne], (int64_t)(rng_next(r) % 17) - 8);
        break;
    }
    default: {
        unsigned bitsset = 1 + (unsigned)(rng_next(r) % 4);
        for (unsigned b = 0; b < bitsset; b++) {
            unsigned k = (unsigned)(rng_next(r) % w);
            v.limb[k / 64] |= (uint64_t)1 << (k % 64);
        }
        break;
    }
    }
    v_mask(&v);
    return v;
}

/* ---- shared memory between the checker and its evaluating child ---------- */

typedef struct combo_result {
    int done;
    uint64_t evaluations;
    uint64_t count[K_COUNT];
    char message[K_COUNT][NOX_ERROR_MAX];
    nox_value example[K_COUNT][NOX_MAX_ARITY];
} combo_result;

typedef struct shared {
    volatile size_t current;  /* index in the batch of the combination being evaluated */
    volatile int evaluating;  /* 1 while `in` holds the inputs of a running evaluation */
    volatile int past_arity;  /* the crash was a read of an input slot past the declared arity */
    nox_value in[NOX_MAX_ARITY];
    combo_result res[BATCH];
} shared;

/* ---- the checker's own records -------------------------------------------- */

typedef struct strlist {
    char **items;
    size_t n, cap;
} strlist;

static void strlist_add(strlist *l, const char *s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        char **n = realloc(l->items, cap * sizeof *n);
        if (!n) abort();
        l->items = n, l->cap = cap;
    }
    if (!(l->items[l->n++] = strdup(s))) abort();
}

static void strlist_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
}

/* What the report says about one type combination. */
typedef struct combo_report {
    char label[96];          /* "uint8", or "T=uint8 U=int16" */
    uint64_t evaluations;
    int crashed;             /* 1: signal, 2: exit status, 3: timeout */
    int status;              /* signal number or exit status */
    json_t *problems;        /* array; empty when ok */
    char *text;              /* the human line's problem part, NULL when ok */
} combo_report;

typedef struct impl_report {
    const nox_impl *impl;
    size_t n_combos, n_all_combos;
    combo_report *combos;
} impl_report;

static void append(char **text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **text, const char *fmt, ...) {
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t old = *text ? strlen(*text) : 0;
    char *n = realloc(*text, old + strlen(buf) + 3);
    if (!n) abort();
    if (old) memcpy(n + old, "; ", 3), old += 2;
    else n[0] = '\0';
    strcpy(n + old, buf);
    *text = n;
}

/* ---- type combinations ---------------------------------------------------- */

static unsigned vars_used(const nox_operator *d) {
    unsigned used = 0;
    for (unsigned i = 0; i < d->n_inputs; i++)
        if (NOX_SLOT_IS_VAR(d->inputs[i])) used |= 1u << NOX_SLOT_VAR_INDEX(d->inputs[i]);
    for (unsigned i = 0; i < d->n_outputs; i++)
        if (NOX_SLOT_IS_VAR(d->outputs[i])) used |= 1u << NOX_SLOT_VAR_INDEX(d->outputs[i]);
    return used;
}

/* Every assignment of concrete types to the signature's variables (at most MAX_COMBOS, evenly sampled). */
combo *pc_enumerate(const nox_operator *d, size_t *n_out, size_t *n_all) {
    unsigned used = vars_used(d);
    uint8_t dom[NOX_MAX_TYPEVARS][256];
    size_t size[NOX_MAX_TYPEVARS] = {1, 1, 1, 1};
    size_t total = 1;
    for (unsigned k = 0; k < NOX_MAX_TYPEVARS; k++) {
        if (!(used & (1u << k))) continue;
        size[k] = 0;
        for (unsigned c = 0; c < 256; c++)
            if (nox_typeset_has(&d->typevars[k], c)) dom[k][size[k]++] = (uint8_t)c;
        total *= size[k];
    }
    size_t n = total < MAX_COMBOS ? total : MAX_COMBOS;
    combo *cs = calloc(n ? n : 1, sizeof *cs);
    if (!cs) abort();
    for (size_t j = 0; j < n; j++) {
        size_t idx = total <= MAX_COMBOS ? j : (size_t)((double)j * (double)total / (double)n);
        combo *c = &cs[j];
        for (unsigned k = 0; k < NOX_MAX_TYPEVARS; k++) {
            if (!(used & (1u << k))) continue;
            c->bound[k] = dom[k][idx % size[k]];
            idx /= size[k];
        }
        for (unsigned i = 0; i < d->n_inputs; i++)
            c->in[i] = NOX_SLOT_IS_VAR(d->inputs[i]) ? c->bound[NOX_SLOT_VAR_INDEX(d->inputs[i])] : (uint8_t)d->inputs[i];
        for (unsigned i = 0; i < d->n_outputs; i++)
            c->out[i] =
                NOX_SLOT_IS_VAR(d->outputs[i]) ? c->bound[NOX_SLOT_VAR_INDEX(d->outputs[i])] : (uint8_t)d->outputs[i];
    }
    *n_out = n;
    *n_all = total;
    return cs;
}

void pc_combo_label(const nox_operator *d, const combo *c, char *buf, size_t cap) {
    unsigned used = vars_used(d);
    int nvars = __builtin_popcount(used);
    size_t off = 0;
    buf[0] = '\0';
    if (!nvars) {
        snprintf(buf, cap, "(fixed types)");
        return;
    }
    for (unsigned k = 0; k < NOX_MAX_TYPEVARS; k++) {
        if (!(used & (1u << k))) continue;
        int w = nvars == 1 ? snprintf(buf + off, cap - off, "%s", nox_type_name(c->bound[k]))
                           : snprintf(buf + off, cap - off, "%s%c=%s", off ? " " : "", "TUVW"[k],
                                      nox_type_name(c->bound[k]));
        if (w < 0 || (size_t)w >= cap - off) return;
        off += (size_t)w;
    }
}

/* "average(uint8 0x01, uint8 0xff)" */
static char *call_text(const nox_impl *impl, const combo *c, const nox_value *in) {
    const nox_operator *d = nox_impl_descriptor(impl);
    size_t cap = 64 + (size_t)d->n_inputs * (NOX_VALUE_TEXT_MAX + 24), off = 0;
    char *s = malloc(cap);
    if (!s) abort();
    off += (size_t)snprintf(s, cap, "%s(", d->name);
    for (unsigned i = 0; i < d->n_inputs; i++) {
        char hex[NOX_VALUE_TEXT_MAX];
        if (nox_value_format_hex(&in[i], hex, sizeof hex, NULL)) snprintf(hex, sizeof hex, "?");
        off += (size_t)snprintf(s + off, cap - off, "%s%s %s", i ? ", " : "", nox_type_name(c->in[i]), hex);
    }
    snprintf(s + off, cap - off, ")");
    return s;
}

static json_t *inputs_json(const nox_operator *d, const nox_value *in) {
    json_t *a = json_array();
    for (unsigned i = 0; i < d->n_inputs; i++) {
        char hex[NOX_VALUE_TEXT_MAX];
        if (nox_value_format_hex(&in[i], hex, sizeof hex, NULL)) snprintf(hex, sizeof hex, "?");
        json_array_append_new(a, json_string(hex));
    }
    return a;
}

/* ---- the evaluating child ------------------------------------------------- */

static void record(combo_result *r, enum kind k, const char *msg, const nox_value *in, unsigned n_in) {
    if (r->count[k]++ == 0) {
        size_t len = strnlen(msg, sizeof r->message[k] - 1); /* truncates long messages */
        memcpy(r->message[k], msg, len);
        r->message[k][len] = '\0';
        memcpy(r->example[k], in, n_in * sizeof *in);
    }
}

typedef struct evaluator {
    const nox_call *call;
    unsigned n_in, n_out;
    nox_value *in, *pristine, *out1, *out2; /* out1/out2 hold n_out (+1 guard without ASan) values */
    combo_result *res;
    shared *sh;
} evaluator;

static void fill(nox_value *v, size_t n, int byte) { memset(v, byte, n * sizeof *v); }

/* Which engine check a failed evaluation tripped. */
static enum kind classify(const evaluator *e, const nox_value *out) {
    for (unsigned i = 0; i < e->n_out; i++)
        if (out[i].type != e->call->out_types[i]) return K_TYPE;
    for (unsigned i = 0; i < e->n_out; i++)
        if (!nox_value_is_canonical(&out[i])) return K_NONCANON;
    return K_RC;
}

/*
 * The engine's message for a non-canonical output, with the value the plugin wrote (test inputs: printing it is
 * the point here, where a service never would): "…; output 0 holds 0x…01ff: a uint8 keeps 8 bits, every bit
 * above must be zero".
 */
static void noncanonical_message(const evaluator *e, const nox_value *out, const char *engine_msg, char *msg,
                                 size_t cap) {
    size_t at = (size_t)snprintf(msg, cap, "%s", engine_msg);
    for (unsigned i = 0; i < e->n_out && at < cap; i++) {
        if (nox_value_is_canonical(&out[i])) continue;
        unsigned limbs = nox_type_limbs(out[i].type);
        at += (size_t)snprintf(msg + at, cap - at, "; output %u holds 0x", i);
        for (unsigned l = limbs; l-- > 0 && at < cap;)
            at += (size_t)snprintf(msg + at, cap - at, "%016" PRIx64, out[i].limb[l]);
        if (at < cap)
            snprintf(msg + at, cap - at, ": a %s keeps %u bits, every bit above must be zero",
                     nox_type_name(out[i].type), nox_type_bits(out[i].type));
        break;
    }
}

static void evaluate(evaluator *e) {
    nox_error err = {0};
    combo_result *r = e->res;
    unsigned guard = CHECK_ASAN ? 0 : 1;
    memcpy(e->sh->in, e->in, e->n_in * sizeof *e->in);
    memcpy(e->pristine, e->in, e->n_in * sizeof *e->in);
    e->sh->evaluating = 1;

    fill(e->out1, e->n_out + guard, 0x00);
    if (guard) fill(e->out1 + e->n_out, 1, 0x5a);
    nox_status st1 = nox_call_eval(e->call, e->in, e->out1, &err);
    r->evaluations++;
    if (memcmp(e->in, e->pristine, e->n_in * sizeof *e->in)) {
        record(r, K_INPUT, "the plugin modified its (const) inputs", e->pristine, e->n_in);
        memcpy(e->in, e->pristine, e->n_in * sizeof *e->in);
    }
    if (guard) {
        nox_value g;
        fill(&g, 1, 0x5a);
        if (memcmp(&g, e->out1 + e->n_out, sizeof g))
            record(r, K_OVERRUN, "the plugin wrote past its last output", e->pristine, e->n_in);
    }
    if (st1) {
        enum kind k = classify(e, e->out1);
        if (k == K_NONCANON) { /* the engine's message names the output, never its value: the check shows it */
            char msg[NOX_ERROR_MAX + 192];
            noncanonical_message(e, e->out1, err.message, msg, sizeof msg);
            record(r, k, msg, e->pristine, e->n_in);
        } else {
            record(r, k, err.message, e->pristine, e->n_in);
        }
        e->sh->evaluating = 0;
        return;
    }

    fill(e->out2, e->n_out, 0xff);
    nox_status st2 = nox_call_eval(e->call, e->in, e->out2, &err);
    r->evaluations++;
    if (st2) {
        char msg[NOX_ERROR_MAX + 64];
        snprintf(msg, sizeof msg, "the first evaluation succeeded, the second failed: %s", err.message);
        record(r, K_NONDET, msg, e->pristine, e->n_in);
    } else {
        for (unsigned i = 0; i < e->n_out; i++) {
            if (!nox_value_equal(&e->out1[i], &e->out2[i])) {
                char msg[256];
                snprintf(msg, sizeof msg,
                         "two evaluations of the same inputs gave different values for output %u (a result that "
                         "depends on state, or an output the plugin leaves partly unwritten)",
                         i);
                record(r, K_NONDET, msg, e->pristine, e->n_in);
                break;
            }
        }
    }
    e->sh->evaluating = 0;
}

/* Evaluates one type combination: edge-value input sets, then random ones. */
static void check_combo(const nox_impl *impl, const combo *c, size_t edge_cap, unsigned long iterations,
                        uint64_t seed, evaluator *e) {
    const nox_operator *d = nox_impl_descriptor(impl);
    nox_call call;
    nox_error err = {0};
    e->n_in = d->n_inputs;
    e->n_out = d->n_outputs;
    if (nox_impl_resolve(impl, c->in, d->n_inputs, c->out, d->n_outputs, &call, &err)) {
        record(e->res, K_RESOLVE, err.message, e->in, 0);
        return;
    }
    e->call = &call;

    rng r;
    uint64_t h = hash_str(seed ^ 0xcbf29ce484222325u, d->name);
    for (unsigned i = 0; i < d->n_inputs; i++) h = (h ^ c->in[i]) * 0x100000001b3u;
    for (unsigned i = 0; i < d->n_outputs; i++) h = (h ^ c->out[i]) * 0x100000001b3u;
    rng_seed(&r, h);

    /* Edge values: the whole product when it is small enough, else every value
     * in every position ("diagonal") plus random picks among them. */
    static nox_value edges[NOX_MAX_ARITY][MAX_EDGES];
    size_t ne[NOX_MAX_ARITY], product = 1, longest = 1;
    for (unsigned i = 0; i < d->n_inputs; i++) {
        ne[i] = edge_values(c->in[i], edges[i]);
        product = product > edge_cap ? product : product * ne[i];
        if (ne[i] > longest) longest = ne[i];
    }
    if (d->n_inputs == 0) {
        evaluate(e);
    } else if (product <= edge_cap) {
        for (size_t t = 0; t < product; t++) {
            size_t idx = t;
            for (unsigned i = 0; i < d->n_inputs; i++) {
                e->in[i] = edges[i][idx % ne[i]];
                idx /= ne[i];
            }
            evaluate(e);
        }
    } else {
        for (size_t t = 0; t < edge_cap; t++) {
            for (unsigned i = 0; i < d->n_inputs; i++)
                e->in[i] = edges[i][t < longest ? t % ne[i] : rng_next(&r) % ne[i]];
            evaluate(e);
        }
    }
    for (unsigned long t = 0; t < iterations && d->n_inputs; t++) {
        for (unsigned i = 0; i < d->n_inputs; i++) e->in[i] = random_value(c->in[i], &r);
        evaluate(e);
    }
}

/*
 * Without ASan, the inputs end where a page without access begins: a read of in[n_inputs] or beyond (an input
 * the operator does not declare) faults at once instead of reading whatever follows. The handler tells the
 * parent which fault it was, then lets the signal kill the child as any crash.
 */
static shared *segv_shared;
static const char *guard_lo, *guard_hi;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    const char *a = si->si_addr;
    if (segv_shared && a >= guard_lo && a < guard_hi) segv_shared->past_arity = 1;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* n values ending at a page that cannot be read (the guard); NULL when mmap fails. */
static nox_value *guarded_inputs(unsigned n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = n * sizeof(nox_value);
    size_t body = (bytes + page - 1) / page * page + page; /* at least one readable page */
    char *m = mmap(NULL, body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    if (mprotect(m + body, page, PROT_NONE)) return NULL;
    guard_lo = m + body;
    guard_hi = m + body + page;
    return (nox_value *)(void *)(m + body - bytes);
}

__attribute__((noreturn)) static void child_main(const nox_impl *impl, const combo *cs, size_t n, size_t edge_cap, const options *o, shared *sh) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core); /* a crash is expected here; no core files */
    signal(SIGALRM, SIG_DFL);
    unsigned guard = CHECK_ASAN ? 0 : 1;
    evaluator e = {0};
    e.sh = sh;
    /* Exact sizes: under ASan any access past them is a finding; without, the inputs end at a guard page. */
    const nox_operator *d = nox_impl_descriptor(impl);
    sh->past_arity = 0;
    if (CHECK_ASAN) {
        e.in = malloc((d->n_inputs ? d->n_inputs : 1) * sizeof(nox_value));
    } else {
        e.in = guarded_inputs(d->n_inputs);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        segv_shared = sh;
        sigaction(SIGSEGV, &sa, NULL);
    }
    e.pristine = malloc(NOX_MAX_ARITY * sizeof(nox_value));
    e.out1 = malloc((d->n_outputs + guard) * sizeof(nox_value));
    e.out2 = malloc((d->n_outputs + guard) * sizeof(nox_value));
    if (!e.in || !e.pristine || !e.out1 || !e.out2) _exit(3);
    for (size_t i = 0; i < n; i++) {
        sh->current = i;
        e.res = &sh->res[i];
        alarm(o->timeout);
        check_combo(impl, &cs[i], edge_cap, o->iterations, o->seed, &e);
        alarm(0);
        sh->res[i].done = 1;
    }
    _exit(0);
}

/* ---- the parent: batches, crashes, reports -------------------------------- */

static const char *signame(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGALRM: return "SIGALRM";
    case SIGKILL: return "SIGKILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    default: return "signal";
    }
}

static void fill_report_from_result(const nox_impl *impl, const combo *c, const combo_result *res, combo_report *rep) {
    const nox_operator *d = nox_impl_descriptor(impl);
    rep->evaluations += res->evaluations;
    for (int k = 0; k < K_COUNT; k++) {
        if (!res->count[k]) continue;
        json_t *p = json_object();
        json_object_set_new(p, "kind", json_string(kind_id[k]));
        json_object_set_new(p, "count", json_integer((json_int_t)res->count[k]));
        json_object_set_new(p, "message", json_string(res->message[k]));
        json_object_set_new(p, "inputs", inputs_json(d, res->example[k]));
        json_array_append_new(rep->problems, p);
        char *call = call_text(impl, c, res->example[k]);
        append(&rep->text, "%" PRIu64 " %s, first on %s: %s", res->count[k], kind_text[k], call, res->message[k]);
        free(call);
    }
}

static void report_crash(const nox_impl *impl, const combo *c, const shared *sh, int wstatus, unsigned timeout,
                         combo_report *rep) {
    const nox_operator *d = nox_impl_descriptor(impl);
    json_t *p = json_object();
    char what[192];
    if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGALRM) {
        rep->crashed = 3, rep->status = SIGALRM;
        snprintf(what, sizeof what, "timed out (no result within %u s)", timeout);
        json_object_set_new(p, "kind", json_string("timeout"));
    } else if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGSEGV && sh->past_arity) {
        rep->crashed = 1, rep->status = SIGSEGV;
        snprintf(what, sizeof what, "read an input past its declared arity (in[%u] and beyond do not exist: declare "
                 "the input, or do not read it)", d->n_inputs);
        json_object_set_new(p, "kind", json_string("input_past_arity"));
        json_object_set_new(p, "signal", json_integer(SIGSEGV));
        json_object_set_new(p, "signal_name", json_string("SIGSEGV"));
    } else if (WIFSIGNALED(wstatus)) {
        rep->crashed = 1, rep->status = WTERMSIG(wstatus);
        snprintf(what, sizeof what, "crashed with %s (signal %d)", signame(rep->status), rep->status);
        json_object_set_new(p, "kind", json_string("crash"));
        json_object_set_new(p, "signal", json_integer(rep->status));
        json_object_set_new(p, "signal_name", json_string(signame(rep->status)));
    } else {
        rep->crashed = 2, rep->status = WEXITSTATUS(wstatus);
        snprintf(what, sizeof what,
                 "the evaluating process exited with status %d (a sanitizer report, if any, is on stderr)",
                 rep->status);
        json_object_set_new(p, "kind", json_string("abnormal_exit"));
        json_object_set_new(p, "exit_status", json_integer(rep->status));
    }
    json_object_set_new(p, "count", json_integer(1));
    json_object_set_new(p, "message", json_string(what));
    if (sh->evaluating) {
        char *call = call_text(impl, c, sh->in);
        append(&rep->text, "%s while evaluating %s", what, call);
        free(call);
        json_object_set_new(p, "inputs", inputs_json(d, sh->in));
    } else {
        append(&rep->text, "%s outside an evaluation", what);
    }
    json_array_append_new(rep->problems, p);
}

/* Evaluates every type combination of one implementation, BATCH per child. */
static void check_impl(const nox_impl *impl, const options *o, shared *sh, impl_report *ir) {
    const nox_operator *d = nox_impl_descriptor(impl);
    combo *cs = pc_enumerate(d, &ir->n_combos, &ir->n_all_combos);
    ir->impl = impl;
    ir->combos = calloc(ir->n_combos ? ir->n_combos : 1, sizeof *ir->combos);
    if (!ir->combos) abort();
    size_t edge_cap = ir->n_combos ? EDGE_BUDGET / ir->n_combos : EDGE_MAX;
    edge_cap = edge_cap < EDGE_MIN ? EDGE_MIN : edge_cap > EDGE_MAX ? EDGE_MAX : edge_cap;
    for (size_t i = 0; i < ir->n_combos; i++) {
        pc_combo_label(d, &cs[i], ir->combos[i].label, sizeof ir->combos[i].label);
        ir->combos[i].problems = json_array();
    }
    size_t start = 0;
    while (start < ir->n_combos) {
        size_t n = ir->n_combos - start < BATCH ? ir->n_combos - start : BATCH;
        memset(sh, 0, sizeof *sh);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "nox-plugin-check: fork: %s\n", strerror(errno));
            exit(EXIT_USAGE);
        }
        if (pid == 0) child_main(impl, cs + start, n, edge_cap, o, sh);
        int wstatus = 0;
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
        size_t next = start + n;
        for (size_t i = 0; i < n; i++) {
            if (sh->res[i].done) {
                fill_report_from_result(impl, &cs[start + i], &sh->res[i], &ir->combos[start + i]);
                continue;
            }
            /* The child ended while on this combination. */
            if (!(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)) {
                size_t at = sh->current < n ? sh->current : i;
                fill_report_from_result(impl, &cs[start + at], &sh->res[at], &ir->combos[start + at]);
                report_crash(impl, &cs[start + at], sh, wstatus, o->timeout, &ir->combos[start + at]);
                next = start + at + 1;
            }
            break;
        }
        start = next;
    }
    free(cs);
}

/* ---- descriptors ------------------------------------------------------------ */

static void on_problem(void *arg, const char *message) { strlist_add(arg, message); }

/* The template's operator ids: every copy of plugins/template starts with them. */
enum { TEMPLATE_ID_A = 1000, TEMPLATE_ID_C = 1002, FIRST_PLUGIN_ID = 1000 };

static int seen_name_before(const nox_plugin *p, size_t i) {
    const char *name = nox_impl_descriptor(nox_plugin_impl_at(p, i))->name;
    for (size_t j = 0; j < i; j++)
        if (!strcmp(nox_impl_descriptor(nox_plugin_impl_at(p, j))->name, name)) return 1;
    return 0;
}

/* 1 for one of Nox's own plugins (NOX_BUILTIN_PLUGINS: ",arithmetic,safe,…," from the build). */
static int is_builtin(const char *name) {
    char key[96];
    snprintf(key, sizeof key, ",%s,", name);
    return strstr(NOX_BUILTIN_PLUGINS, key) != NULL;
}

/* Ids a plugin should not take: Nox's own range, and the template's two (once per operator). */
static void warn_ids(const nox_plugin *p, strlist *warnings) {
    int is_template = !strcmp(nox_plugin_name(p), "template");
    if (is_builtin(nox_plugin_name(p))) return;
    for (size_t i = 0; i < nox_plugin_impl_count(p); i++) {
        const nox_operator *d = nox_impl_descriptor(nox_plugin_impl_at(p, i));
        char msg[NOX_ERROR_MAX];
        if (seen_name_before(p, i)) continue;
        if (d->id < FIRST_PLUGIN_ID) {
            snprintf(msg, sizeof msg, "operator %s has id %u: ids below %d are Nox's own (the built-in operator "
                     "families); give it an id of %d or more", d->name, d->id, FIRST_PLUGIN_ID, FIRST_PLUGIN_ID);
            strlist_add(warnings, msg);
        } else if (!is_template && d->id >= TEMPLATE_ID_A && d->id <= TEMPLATE_ID_C) {
            snprintf(msg, sizeof msg, "operator %s has id %u, one of the template's own (%d..%d), which every copy "
                     "of the template starts with: give it an id of its own, and check it against your "
                     "operators.yaml with --config", d->name, d->id, TEMPLATE_ID_A, TEMPLATE_ID_C);
            strlist_add(warnings, msg);
        }
    }
}

/* Collisions with the plugins a configuration loads: another operator's id, or an operator's name. */
static nox_status check_config(const nox_plugin *p, const char *config, strlist *problems, nox_error *err) {
    nox_engine *e = nox_engine_new();
    if (!e) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    nox_status st = nox_engine_load_config(e, config, err);
    for (size_t i = 0; !st && i < nox_plugin_impl_count(p); i++) {
        const nox_operator *d = nox_impl_descriptor(nox_plugin_impl_at(p, i));
        if (seen_name_before(p, i)) continue;
        const nox_op *by_id = nox_engine_find_id(e, d->id), *by_name = nox_engine_find(e, d->name);
        const nox_op *other = by_id ? by_id : by_name;
        const char *owner = other ? nox_plugin_name(nox_impl_plugin(nox_op_impl_at(other, 0))) : NULL;
        if (!other || !strcmp(owner, nox_plugin_name(p))) continue; /* this plugin itself, as configured */
        char msg[NOX_ERROR_MAX];
        if (by_id && strcmp(nox_op_name(by_id), d->name))
            snprintf(msg, sizeof msg, "operator %s has id %u, which is already operator %s's (plugin %s, loaded by "
                     "%s): the engine would refuse one of them; pick another id", d->name, d->id, nox_op_name(by_id),
                     owner, config);
        else
            snprintf(msg, sizeof msg, "operator %s is already an operator of plugin %s (id %u, loaded by %s): the "
                     "engine would refuse one of them; rename it", d->name, owner, nox_op_id(other), config);
        strlist_add(problems, msg);
    }
    nox_engine_free(e);
    return st;
}

static void check_ids(const nox_plugin *p, strlist *problems) {
    size_t n = nox_plugin_impl_count(p);
    for (size_t i = 0; i < n; i++) {
        const nox_operator *a = nox_impl_descriptor(nox_plugin_impl_at(p, i));
        for (size_t j = 0; j < i; j++) {
            const nox_operator *b = nox_impl_descriptor(nox_plugin_impl_at(p, j));
            char msg[NOX_ERROR_MAX];
            int same = !strcmp(a->name, b->name);
            if (!same && a->id == b->id) {
                snprintf(msg, sizeof msg, "operators %s and %s share id %u; every operator needs an id of its own",
                         b->name, a->name, a->id);
                strlist_add(problems, msg);
            } else if (same && (a->id != b->id || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs)) {
                snprintf(msg, sizeof msg,
                         "operator %s is registered twice with different ids or arities (id %u, %u -> %u and id %u, "
                         "%u -> %u)",
                         a->name, b->id, b->n_inputs, b->n_outputs, a->id, a->n_inputs, a->n_outputs);
                strlist_add(problems, msg);
            }
        }
    }
}

static int parse_u64(const char *s, uint64_t *v) {
    char *end;
    errno = 0;
    if (!*s || *s == '-') return -1;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || *end) return -1;
    *v = x;
    return 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: nox-plugin-check PLUGIN.so [--seed N] [--iterations N] [--timeout S]\n"
            "                        [--option KEY=VALUE]... [--config operators.yaml] [--ctime] [--json]\n"
            "       nox-plugin-check --solidity OUT.sol PLUGIN.so [--check [options above]]\n"
            "\n"
            "Loads an operator plugin through the engine's loader, reports every descriptor\n"
            "problem, then evaluates every operator on every type combination its signature\n"
            "admits — edge values and N random input sets (default 256), each evaluated twice,\n"
            "in a child process — and reports crashes (with the inputs), non-zero returns,\n"
            "output type changes, non-canonical outputs, non-determinism, modified inputs.\n"
            "  --seed N        random seed (default 1; the run is reproducible)\n"
            "  --timeout S     seconds allowed per type combination (default 60)\n"
            "  --option K=V    a plugin option, as under options: in operators.yaml\n"
            "  --config FILE   an operators.yaml: its plugins are loaded, and an operator of this\n"
            "                  plugin whose id or name one of theirs already has is a problem\n"
            "  --ctime         also prove constant time: every operator flagged NOX_OP_CONSTANT_TIME\n"
            "                  runs under valgrind on every type combination with its inputs marked\n"
            "                  secret; a branch or a memory index that depends on them is a problem\n"
            "                  (needs valgrind, NOX_VALGRIND or PATH; not in an ASan build)\n"
            "  --json          machine-readable report on stdout\n"
            "  --solidity OUT.sol\n"
            "                  write typed Solidity bindings of the plugin's extension operators\n"
            "                  (ids >= 64): library Nox<PluginName>, one function per operator and\n"
            "                  type combination among Nox.sol's types, calling NoxCompute.compute.\n"
            "                  Only the descriptors are checked (a plugin with descriptor problems\n"
            "                  gets no bindings, exit 1); the evaluation is skipped unless --check\n"
            "  --check         with --solidity: run every check above too (exit status as without)\n"
            "Exit status: 0 clean, 1 problems found, 2 bad usage or the plugin cannot be loaded.\n");
}

static int parse_args(int argc, char **argv, options *o) {
    o->seed = 1;
    o->iterations = 256;
    o->timeout = 60;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(EXIT_CLEAN);
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--check")) {
            o->check = 1;
        } else if (!strcmp(a, "--ctime")) {
            o->ctime = 1;
        } else if (!strcmp(a, "--solidity")) {
            if (i + 1 == argc || !argv[i + 1][0]) {
                fprintf(stderr, "nox-plugin-check: --solidity needs an output file\n");
                return -1;
            }
            o->solidity = argv[++i];
        } else if (!strcmp(a, "--config")) {
            if (i + 1 == argc || !argv[i + 1][0]) {
                fprintf(stderr, "nox-plugin-check: --config needs an operators.yaml\n");
                return -1;
            }
            o->config = argv[++i];
        } else if (!strcmp(a, "--seed") || !strcmp(a, "--iterations") || !strcmp(a, "--timeout") ||
                   !strcmp(a, "--option")) {
            if (i + 1 == argc) {
                fprintf(stderr, "nox-plugin-check: %s needs a value\n", a);
                return -1;
            }
            const char *val = argv[++i];
            if (!strcmp(a, "--option")) {
                const char *eq = strchr(val, '=');
                if (!eq || eq == val || o->n_opts == MAX_OPTS) {
                    fprintf(stderr, "nox-plugin-check: --option wants KEY=VALUE (at most %d)\n", MAX_OPTS);
                    return -1;
                }
                char *key = strndup(val, (size_t)(eq - val));
                if (!key) return -1;
                o->opt_buf[o->n_opts] = key;
                o->opt_keys[o->n_opts] = key;
                o->opt_values[o->n_opts++] = eq + 1;
                continue;
            }
            if (parse_u64(val, &v)) {
                fprintf(stderr, "nox-plugin-check: %s wants a non-negative integer, got '%s'\n", a, val);
                return -1;
            }
            if (!strcmp(a, "--seed")) o->seed = v;
            else if (!strcmp(a, "--iterations")) o->iterations = (unsigned long)v;
            else if (v == 0 || v > 86400) {
                fprintf(stderr, "nox-plugin-check: --timeout wants 1..86400 seconds\n");
                return -1;
            } else o->timeout = (unsigned)v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nox-plugin-check: unknown option %s\n", a);
            return -1;
        } else if (o->path) {
            fprintf(stderr, "nox-plugin-check: one plugin at a time (got %s and %s)\n", o->path, a);
            return -1;
        } else {
            o->path = a;
        }
    }
    if (!o->path) {
        fprintf(stderr, "nox-plugin-check: which plugin? (a .so file)\n");
        return -1;
    }
    if (o->check && !o->solidity) {
        fprintf(stderr, "nox-plugin-check: --check goes with --solidity (the checks run anyway without it)\n");
        return -1;
    }
    if (o->ctime && o->solidity && !o->check) {
        fprintf(stderr, "nox-plugin-check: --ctime with --solidity needs --check (the bindings alone run no check)\n");
        return -1;
    }
    return 0;
}

/* Loads the plugin once in a child first, so that a crash in its init is reported, not suffered. */
static int init_crashes(const options *o, int *wstatus) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        alarm(o->timeout);
        strlist ignored = {0};
        nox_plugin *p = NULL;
        nox_status st = nox_plugin_inspect(o->path, o->opt_keys, o->opt_values, o->n_opts, on_problem, &ignored, &p,
                                           NULL);
        _exit(st ? 3 : 0);
    }
    while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR) {}
    return WIFSIGNALED(*wstatus) || (WIFEXITED(*wstatus) && WEXITSTATUS(*wstatus) != 0 && WEXITSTATUS(*wstatus) != 3);
}

static const char *fmt_count(uint64_t x, char *buf, size_t cap) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, x), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

/* ---- --solidity: typed Solidity bindings of the plugin's extension operators ---- */

/* The encrypted types Nox.sol defines (contracts/src/Nox.sol): bindings are written for these only. */
static const struct {
    uint8_t code;
    const char *name;
} sol_types[] = {{NOX_TYPE_BOOL, "ebool"},       {NOX_TYPE_ADDRESS, "eaddress"}, {NOX_TYPE_UINT8, "euint8"},
                 {NOX_TYPE_UINT16, "euint16"},   {NOX_TYPE_UINT32, "euint32"},   {NOX_TYPE_UINT64, "euint64"},
                 {NOX_TYPE_UINT128, "euint128"}, {NOX_TYPE_UINT256, "euint256"}, {NOX_TYPE_INT8, "eint8"},
                 {NOX_TYPE_INT16, "eint16"},     {NOX_TYPE_INT32, "eint32"},     {NOX_TYPE_INT64, "eint64"},
                 {NOX_TYPE_INT128, "eint128"},   {NOX_TYPE_INT256, "eint256"}};
#define N_SOL_TYPES (sizeof sol_types / sizeof sol_types[0])

static const char *sol_type(unsigned code) {
    for (size_t i = 0; i < N_SOL_TYPES; i++)
        if (sol_types[i].code == code) return sol_types[i].name;
    return NULL;
}

/* Solidity keywords, reserved words and names the generated code uses itself: an identifier equal
 * to one of these gets a trailing '_'. */
static const char *const sol_reserved[] = {
    "abstract", "address", "after", "alias", "anonymous", "apply", "as", "assembly", "auto", "bool", "break", "byte",
    "bytes", "calldata", "case", "catch", "constant", "constructor", "continue", "contract", "copyof", "days",
    "default", "define", "delete", "do", "else", "emit", "enum", "error", "ether", "event", "external", "fallback",
    "false", "final", "finney", "fixed", "for", "function", "global", "gwei", "hex", "hours", "if", "immutable",
    "implements", "import", "in", "indexed", "inline", "interface", "internal", "is", "layout", "let", "library",
    "macro", "mapping", "match", "memory", "minutes", "modifier", "mutable", "new", "null", "of", "override",
    "partial", "payable", "pragma", "private", "promise", "public", "pure", "receive", "reference", "relocatable",
    "return", "returns", "revert", "sealed", "seconds", "selfdestruct", "sizeof", "static", "storage", "string",
    "struct", "super", "supports", "switch", "szabo", "this", "throw", "transient", "true", "try", "type", "typedef",
    "typeof", "ufixed", "unchecked", "unicode", "using", "var", "view", "virtual", "weeks", "wei", "while", "years",
    "block", "msg", "tx", "abi", "now", "assert", "require", "keccak256", "sha256", "ripemd160", "ecrecover",
    "addmod", "mulmod", "gasleft", "blockhash", "blobhash", "_", "Nox", "INoxCompute",
    /* the generated functions' own names */
    "nox", "ins_", "types_", "outs_"};

static int sol_is_reserved(const char *s) {
    for (size_t i = 0; i < sizeof sol_reserved / sizeof sol_reserved[0]; i++)
        if (!strcmp(s, sol_reserved[i])) return 1;
    for (size_t i = 0; i < N_SOL_TYPES; i++)
        if (!strcmp(s, sol_types[i].name)) return 1;
    /* uintN, intN, bytesN, fixedMxN, ufixedMxN, externalE... */
    const char *digits = NULL;
    if (!strncmp(s, "uint", 4)) digits = s + 4;
    else if (!strncmp(s, "int", 3)) digits = s + 3;
    else if (!strncmp(s, "bytes", 5)) digits = s + 5;
    else if (!strncmp(s, "fixed", 5)) digits = s + 5;
    else if (!strncmp(s, "ufixed", 6)) digits = s + 6;
    if (digits && *digits && strspn(digits, "0123456789x") == strlen(digits)) return 1;
    return !strncmp(s, "externalE", 9);
}

/* A valid, non-reserved Solidity identifier from a descriptor name (NULL: `fallback`), distinct
 * from the `n_taken` names already used. */
static void sol_ident(const char *name, const char *fallback, char taken[][72], size_t n_taken, char *out) {
    char buf[72];
    size_t o = 0;
    if (!name || !*name) name = fallback;
    for (const char *s = name; *s && o < 60; s++) {
        unsigned char c = (unsigned char)*s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        buf[o++] = ok ? (char)c : '_';
    }
    buf[o] = '\0';
    if (buf[0] >= '0' && buf[0] <= '9') {
        memmove(buf + 1, buf, o + 1);
        buf[0] = '_';
    }
    if (!buf[0] || sol_is_reserved(buf)) strcat(buf, "_");
    /* buf, else buf_ (unless it ends with '_' already), else buf2, buf3, ... */
    snprintf(out, 72, "%s", buf);
    for (unsigned k = 1;; k++) {
        int clash = 0;
        for (size_t i = 0; i < n_taken; i++) clash |= !strcmp(taken[i], out);
        if (!clash) break;
        if (k == 1 && buf[strlen(buf) - 1] != '_') snprintf(out, 72, "%.64s_", buf);
        else snprintf(out, 72, "%.64s%u", buf, k == 1 ? 2 : k);
    }
}

/* "minmax" -> "Minmax", "my-ratios_v2" -> "MyRatiosV2" */
static void camel(const char *s, char *out, size_t cap) {
    size_t o = 0;
    int up = 1;
    for (; *s && o + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            up = 1;
            continue;
        }
        out[o++] = (char)(up && c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        up = 0;
    }
    out[o] = '\0';
}

/* The id constant of an operator: "min" -> "MIN_ID". */
static void sol_const(const char *name, char *out, size_t cap) {
    snprintf(out, cap, "%.60s_ID", name);
    for (char *q = out; *q; q++) *q = (char)(*q >= 'a' && *q <= 'z' ? *q - 'a' + 'A' : *q);
}

typedef struct sol_writer {
    FILE *f;
    strlist keys;       /* "name(types)" of the functions written: one function per overload */
    strlist consts;     /* operator names whose id constant is written */
    size_t n_functions;
} sol_writer;

static int strlist_has(const strlist *l, const char *s) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], s)) return 1;
    return 0;
}

/* The slot's type under `bound`. */
static uint8_t slot_type(uint16_t slot, const uint8_t *bound) {
    return NOX_SLOT_IS_VAR(slot) ? bound[NOX_SLOT_VAR_INDEX(slot)] : (uint8_t)slot;
}

/* One typed function of an operator for one assignment of its type variables. */
static void sol_function(sol_writer *w, const nox_operator *d, const uint8_t *bound, unsigned out_only) {
    char fname[160], upper[72], key[1024];
    /* taken: this function's name and the library's other functions (a parameter named like a
     * function would shadow it), then the parameters; names[first + i] is input i's */
    char(*names)[72] = calloc(w->consts.n + NOX_MAX_ARITY + 1, sizeof *names);
    size_t n_names = 0, first;
    if (!names) abort();

    sol_ident(d->name, "op", names, 0, fname);
    for (unsigned k = 0; k < NOX_MAX_TYPEVARS; k++) {
        if (!(out_only & (1u << k))) continue;
        char t[32];
        camel(sol_type(bound[k]), t, sizeof t);
        strcat(fname, k == (unsigned)__builtin_ctz(out_only) ? "To" : "");
        strcat(fname, t);
    }
    int o = snprintf(key, sizeof key, "%s(", fname);
    for (unsigned i = 0; i < d->n_inputs; i++)
        o += snprintf(key + o, sizeof key - (size_t)o, "%s%s", i ? "," : "", sol_type(slot_type(d->inputs[i], bound)));
    snprintf(key + o, sizeof key - (size_t)o, ")");
    if (strlist_has(&w->keys, key)) { /* another implementation's overlap: same function */
        free(names);
        return;
    }
    strlist_add(&w->keys, key);
    w->n_functions++;

    snprintf(names[n_names++], 72, "%.71s", fname);
    for (size_t i = 0; i < w->consts.n; i++) sol_ident(w->consts.items[i], "op", NULL, 0, names[n_names++]);
    first = n_names;
    for (unsigned i = 0; i < d->n_inputs; i++) {
        char fb[16];
        snprintf(fb, sizeof fb, "input%u", i);
        sol_ident(d->input_names[i], fb, names, n_names, names[n_names]);
        n_names++;
    }
    sol_const(d->name, upper, sizeof upper);

    FILE *f = w->f;
    fprintf(f, "\n    /// @notice %s(", d->name);
    for (unsigned i = 0; i < d->n_inputs; i++) fprintf(f, "%s%s", i ? ", " : "", names[first + i]);
    fprintf(f, ") (operator %u)", d->id);
    for (unsigned i = 0; i < d->n_outputs; i++) {
        char fb[16], oname[72];
        snprintf(fb, sizeof fb, "output%u", i);
        sol_ident(d->output_names[i], fb, NULL, 0, oname);
        fprintf(f, "\n    /// @return %s %s", sol_type(slot_type(d->outputs[i], bound)), oname);
    }
    char params[1024], rets[256];
    int po = snprintf(params, sizeof params, "INoxCompute nox"), ro = 0;
    for (unsigned i = 0; i < d->n_inputs; i++)
        po += snprintf(params + po, sizeof params - (size_t)po, ", %s %s", sol_type(slot_type(d->inputs[i], bound)),
                       names[first + i]);
    rets[0] = '\0';
    for (unsigned i = 0; i < d->n_outputs; i++)
        ro += snprintf(rets + ro, sizeof rets - (size_t)ro, "%s%s", i ? ", " : "",
                       sol_type(slot_type(d->outputs[i], bound)));
    if (strlen(fname) + strlen(params) + strlen(rets) + 40 <= 120)
        fprintf(f, "\n    function %s(%s) internal returns (%s) {\n", fname, params, rets);
    else
        fprintf(f, "\n    function %s(%s)\n        internal\n        returns (%s)\n    {\n", fname, params, rets);
    fprintf(f, "        bytes32[] memory ins_ = new bytes32[](%u);\n", d->n_inputs);
    for (unsigned i = 0; i < d->n_inputs; i++)
        fprintf(f, "        ins_[%u] = %s.unwrap(%s);\n", i, sol_type(slot_type(d->inputs[i], bound)), names[first + i]);
    fprintf(f, "        uint8[] memory types_ = new uint8[](%u);\n", d->n_outputs);
    for (unsigned i = 0; i < d->n_outputs; i++) {
        uint8_t t = slot_type(d->outputs[i], bound);
        fprintf(f, "        types_[%u] = %u; // %s\n", i, t, nox_type_name(t));
    }
    fprintf(f, "        bytes32[] memory outs_ = nox.compute(%s, ins_, types_);\n", upper);
    fprintf(f, "        return %s", d->n_outputs > 1 ? "(" : "");
    for (unsigned i = 0; i < d->n_outputs; i++)
        fprintf(f, "%s%s.wrap(outs_[%u])", i ? ", " : "", sol_type(slot_type(d->outputs[i], bound)), i);
    fprintf(f, "%s;\n    }\n", d->n_outputs > 1 ? ")" : "");
    free(names);
}

/* Every assignment of Nox.sol types to the variables the operator uses. */
static void sol_assign(sol_writer *w, const nox_operator *d, unsigned used, unsigned out_only, uint8_t *bound,
                       unsigned k) {
    while (k < NOX_MAX_TYPEVARS && !(used & (1u << k))) k++;
    if (k == NOX_MAX_TYPEVARS) {
        sol_function(w, d, bound, out_only);
        return;
    }
    for (size_t i = 0; i < N_SOL_TYPES; i++) {
        if (!nox_typeset_has(&d->typevars[k], sol_types[i].code)) continue;
        bound[k] = sol_types[i].code;
        sol_assign(w, d, used, out_only, bound, k + 1);
    }
}

/* Why an operator gets no binding, or NULL. */
static const char *sol_skip_reason(const nox_operator *d) {
    if (d->id < 64) return "a protocol operation (ids 0..63): use Nox.sol";
    if (d->n_inputs == 0) return "no inputs (NoxCompute.compute needs 1..8)";
    for (unsigned i = 0; i < d->n_inputs; i++)
        if (!NOX_SLOT_IS_VAR(d->inputs[i]) && !sol_type(d->inputs[i])) return "an input type Nox.sol does not define";
    for (unsigned i = 0; i < d->n_outputs; i++)
        if (!NOX_SLOT_IS_VAR(d->outputs[i]) && !sol_type(d->outputs[i]))
            return "an output type Nox.sol does not define";
    unsigned used = vars_used(d);
    for (unsigned k = 0; k < NOX_MAX_TYPEVARS; k++) {
        if (!(used & (1u << k))) continue;
        int any = 0;
        for (size_t i = 0; i < N_SOL_TYPES; i++) any |= nox_typeset_has(&d->typevars[k], sol_types[i].code);
        if (!any) return "only types Nox.sol does not define (e.g. the wide 512..2048-bit types)";
    }
    return NULL;
}

/* Writes OUT.sol: library Nox<PluginName> with one typed function per (operator, Nox.sol type
 * combination). Returns 0, or -1 with the reason on stderr. */
static int write_solidity(const nox_plugin *p, const char *path, int quiet) {
    char lib[128] = "Nox", camelname[120], tmp[4096];
    camel(nox_plugin_name(p), camelname, sizeof camelname);
    strcat(lib, camelname);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "nox-plugin-check: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    sol_writer w = {.f = f};
    size_t n = nox_plugin_impl_count(p);
    fprintf(f,
            "// SPDX-License-Identifier: MIT\n"
            "pragma solidity 0.8.28;\n"
            "\n"
            "// GENERATED by nox-plugin-check --solidity from plugin %s %s (plugin ABI %u) -- do not edit.\n"
            "//\n"
            "// Typed calls of the plugin's extension operators (ids >= 64) through NoxCompute.compute, for\n"
            "// every type combination the operator's signature admits among the types Nox.sol defines\n"
            "// (ebool, eaddress, euint8..euint256, eint8..eint256; not the wide 512..2048-bit types). An\n"
            "// operator whose output type is chosen by the caller (a type variable that appears only among\n"
            "// its outputs, like cast's) gets one function per choice, named <op>To<OutputType>, e.g.\n"
            "// castToEuint16. Every result is transiently allowed to the calling contract, as with Nox.sol.\n"
            "// NoxCompute must have the operators registered (contracts/register_operators.py), and the\n"
            "// Runners must load this plugin.\n"
            "//\n"
            "//     using %s for INoxCompute;\n"
            "\n"
            "import {INoxCompute} from \"./INoxCompute.sol\";\n"
            "import {ebool, eaddress, euint8, euint16, euint32, euint64, euint128, euint256, eint8, eint16, eint32,\n"
            "    eint64, eint128, eint256} from \"./Nox.sol\";\n"
            "\n",
            nox_plugin_name(p), nox_plugin_version(p), NOX_PLUGIN_ABI_VERSION, lib);
    /* operators with bindings (from at least one implementation) */
    for (size_t i = 0; i < n; i++) {
        const nox_operator *d = nox_impl_descriptor(nox_plugin_impl_at(p, i));
        if (!sol_skip_reason(d) && !strlist_has(&w.consts, d->name)) strlist_add(&w.consts, d->name);
    }
    /* operators without, said once each */
    strlist skipped = {0};
    for (size_t i = 0; i < n; i++) {
        const nox_operator *d = nox_impl_descriptor(nox_plugin_impl_at(p, i));
        const char *why = sol_skip_reason(d);
        char line[512];
        if (!why || strlist_has(&w.consts, d->name)) continue;
        snprintf(line, sizeof line, "%s (id %u): %s", d->name, d->id, why);
        if (!strlist_has(&skipped, line)) strlist_add(&skipped, line);
    }
    for (size_t i = 0; i < skipped.n; i++)
        fprintf(f, "%s %s\n", i ? "//  " : "// No binding:", skipped.items[i]);
    if (skipped.n) fprintf(f, "\n");
    fprintf(f, "library %s {\n", lib);
    fprintf(f, "    // Operator ids: the first argument of NoxCompute.compute, and part of every result handle.\n");
    strlist written = {0};
    for (size_t i = 0; i < n; i++) {
        const nox_operator *d = nox_impl_descriptor(nox_plugin_impl_at(p, i));
        if (sol_skip_reason(d) || strlist_has(&written, d->name)) continue;
        strlist_add(&written, d->name);
        char upper[72];
        sol_const(d->name, upper, sizeof upper);
        fprintf(f, "    uint16 internal constant %s = %u;\n", upper, d->id);
    }
    for (size_t i = 0; i < n; i++) {
        const nox_operator *d = nox_impl_descriptor(nox_plugin_impl_at(p, i));
        if (sol_skip_reason(d)) continue;
        unsigned used = vars_used(d), in_vars = 0;
        for (unsigned j = 0; j < d->n_inputs; j++)
            if (NOX_SLOT_IS_VAR(d->inputs[j])) in_vars |= 1u << NOX_SLOT_VAR_INDEX(d->inputs[j]);
        uint8_t bound[NOX_MAX_TYPEVARS] = {0};
        sol_assign(&w, d, used, used & ~in_vars, bound, 0);
    }
    fprintf(f, "}\n");
    int bad = ferror(f);
    if (fclose(f) || bad) {
        fprintf(stderr, "nox-plugin-check: %s: write failed\n", tmp);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path)) {
        fprintf(stderr, "nox-plugin-check: %s: %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    if (!quiet)
        printf("nox-plugin-check: wrote %s: library %s, %zu function%s for %zu operator%s%s%zu without binding\n",
               path, lib, w.n_functions, w.n_functions == 1 ? "" : "s", w.consts.n, w.consts.n == 1 ? "" : "s",
               ", ", skipped.n);
    strlist_free(&w.keys);
    strlist_free(&w.consts);
    strlist_free(&skipped);
    strlist_free(&written);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], CTIME_CHILD_OPTION)) return ctime_child_main(argc, argv);
    options o = {0};
    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    static char valgrind[PATH_MAX];
    if (o.ctime) { /* before any work: a --ctime that cannot run is a usage error */
        char why[512];
        if (CHECK_ASAN) {
            fprintf(stderr, "nox-plugin-check: --ctime needs a build without AddressSanitizer (valgrind and ASan "
                            "do not mix): use the regular build's nox-plugin-check\n");
            return EXIT_USAGE;
        }
        if (ctime_find_valgrind(valgrind, sizeof valgrind, why, sizeof why)) {
            fprintf(stderr, "nox-plugin-check: %s\n", why);
            return EXIT_USAGE;
        }
    }

    int wstatus = 0;
    if (init_crashes(&o, &wstatus)) {
        const char *what = WIFSIGNALED(wstatus) ? signame(WTERMSIG(wstatus)) : "a non-zero exit status";
        if (o.json) {
            json_t *j = json_pack("{s:s, s:b, s:[{s:s, s:s}]}", "path", o.path, "clean", 0, "load_problems", "kind",
                                  "init_crash", "message", what);
            char *s = json_dumps(j, JSON_INDENT(2));
            puts(s);
            free(s);
            json_decref(j);
        } else {
            printf("nox-plugin-check: %s: the plugin's init crashed (%s) while loading\n", o.path, what);
        }
        return EXIT_PROBLEMS;
    }

    strlist problems = {0};
    nox_error err = {0};
    nox_plugin *p = NULL;
    if (nox_plugin_inspect(o.path, o.opt_keys, o.opt_values, o.n_opts, on_problem, &problems, &p, &err)) {
        fprintf(stderr, "nox-plugin-check: %s\n", err.message);
        if (o.json) {
            json_t *j = json_pack("{s:s, s:b, s:s}", "path", o.path, "clean", 0, "load_error", err.message);
            char *s = json_dumps(j, JSON_INDENT(2));
            puts(s);
            free(s);
            json_decref(j);
        }
        strlist_free(&problems);
        return EXIT_USAGE;
    }
    size_t n_impls = nox_plugin_impl_count(p);
    if (n_impls == 0) strlist_add(&problems, "the plugin registers no valid operator (the engine refuses it)");
    size_t n_desc_problems = problems.n;
    check_ids(p, &problems);
    strlist warnings = {0};
    warn_ids(p, &warnings);
    if (o.config && check_config(p, o.config, &problems, &err)) {
        fprintf(stderr, "nox-plugin-check: --config: %s\n", err.message);
        strlist_free(&problems);
        strlist_free(&warnings);
        nox_plugin_close(p);
        return EXIT_USAGE;
    }

    /* Would an engine take it? (conflicts between its own implementations) */
    nox_engine *engine = nox_engine_new();
    if (!engine) abort();
    int owned_by_engine = 0;
    if (n_impls) {
        nox_error aerr = {0};
        if (nox_engine_add_plugin(engine, p, NULL, 0, NULL, &aerr) == NOX_OK) owned_by_engine = 1;
        else if (problems.n == n_desc_problems) strlist_add(&problems, aerr.message);
    }

    if (o.solidity && !o.check) {
        /* bindings only: no evaluation */
        int rc = EXIT_CLEAN;
        for (size_t i = 0; i < warnings.n; i++) fprintf(stderr, "  WARNING: %s\n", warnings.items[i]);
        if (problems.n) {
            fprintf(stderr, "nox-plugin-check: %s: %zu descriptor problem%s; no bindings written\n", o.path, problems.n,
                    problems.n == 1 ? "" : "s");
            for (size_t i = 0; i < problems.n; i++) fprintf(stderr, "  PROBLEM: %s\n", problems.items[i]);
            rc = EXIT_PROBLEMS;
        } else if (write_solidity(p, o.solidity, 0)) {
            rc = EXIT_PROBLEMS;
        }
        strlist_free(&problems);
        strlist_free(&warnings);
        nox_engine_free(engine);
        if (!owned_by_engine) nox_plugin_close(p);
        for (size_t i = 0; i < o.n_opts; i++) free(o.opt_buf[i]);
        return rc;
    }

    shared *sh = mmap(NULL, sizeof(shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        fprintf(stderr, "nox-plugin-check: mmap: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    impl_report *reports = calloc(n_impls ? n_impls : 1, sizeof *reports);
    if (!reports) abort();
    uint64_t total_evals = 0;
    size_t total_combos = 0, bad_combos = 0;
    for (size_t i = 0; i < n_impls; i++) {
        check_impl(nox_plugin_impl_at(p, i), &o, sh, &reports[i]);
        total_combos += reports[i].n_combos;
        for (size_t c = 0; c < reports[i].n_combos; c++) {
            total_evals += reports[i].combos[c].evaluations;
            if (json_array_size(reports[i].combos[c].problems)) bad_combos++;
        }
    }
    munmap(sh, sizeof(shared));
    json_t *ct = NULL;
    size_t ct_leaks = 0;
    if (o.ctime) {
        char why[4096];
        ctime_request cr = {valgrind, o.path, o.opt_keys, o.opt_values, o.n_opts, o.timeout};
        if (ctime_run(&cr, &ct, why, sizeof why)) {
            fprintf(stderr, "nox-plugin-check: %s\n", why);
            return EXIT_USAGE;
        }
        ct_leaks = (size_t)json_integer_value(json_object_get(ct, "leaks"));
    }
    int clean = problems.n == 0 && bad_combos == 0 && ct_leaks == 0;

    if (o.json) {
        json_t *j = json_object();
        json_object_set_new(j, "path", json_string(o.path));
        json_object_set_new(j, "plugin", json_pack("{s:s, s:s}", "name", nox_plugin_name(p), "version",
                                                   nox_plugin_version(p)));
        json_object_set_new(j, "abi_version", json_integer(NOX_PLUGIN_ABI_VERSION));
        json_object_set_new(j, "seed", json_integer((json_int_t)o.seed));
        json_object_set_new(j, "iterations", json_integer((json_int_t)o.iterations));
        json_t *dp = json_array();
        for (size_t i = 0; i < problems.n; i++) json_array_append_new(dp, json_string(problems.items[i]));
        json_object_set_new(j, "descriptor_problems", dp);
        json_t *dw = json_array();
        for (size_t i = 0; i < warnings.n; i++) json_array_append_new(dw, json_string(warnings.items[i]));
        json_object_set_new(j, "descriptor_warnings", dw);
        json_t *ops = json_array();
        for (size_t i = 0; i < n_impls; i++) {
            const nox_operator *d = nox_impl_descriptor(reports[i].impl);
            char sig[2048];
            json_t *op = json_object();
            json_object_set_new(op, "name", json_string(d->name));
            json_object_set_new(op, "id", json_integer(d->id));
            json_object_set_new(op, "signature",
                                json_string(nox_impl_signature(reports[i].impl, sig, sizeof sig)));
            json_object_set_new(op, "constant_time", json_boolean(d->flags & NOX_OP_CONSTANT_TIME));
            json_object_set_new(op, "type_combinations_sampled",
                                json_boolean(reports[i].n_combos < reports[i].n_all_combos));
            json_t *types = json_array();
            for (size_t c = 0; c < reports[i].n_combos; c++) {
                combo_report *cr = &reports[i].combos[c];
                json_t *t = json_object();
                json_object_set_new(t, "types", json_string(cr->label));
                json_object_set_new(t, "evaluations", json_integer((json_int_t)cr->evaluations));
                json_object_set_new(t, "ok", json_boolean(json_array_size(cr->problems) == 0));
                json_object_set(t, "problems", cr->problems);
                json_array_append_new(types, t);
            }
            json_object_set_new(op, "types", types);
            json_array_append_new(ops, op);
        }
        json_object_set_new(j, "operators", ops);
        if (ct) json_object_set(j, "ctime", ct);
        json_object_set_new(j, "summary",
                            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "implementations", (json_int_t)n_impls,
                                      "type_combinations", (json_int_t)total_combos, "evaluations",
                                      (json_int_t)total_evals, "descriptor_problems", (json_int_t)problems.n,
                                      "type_combinations_with_problems", (json_int_t)bad_combos,
                                      "constant_time_leaks", (json_int_t)ct_leaks, "clean", clean));
        json_object_set_new(j, "clean", json_boolean(clean));
        char *s = json_dumps(j, JSON_INDENT(2));
        puts(s);
        free(s);
        json_decref(j);
    } else {
        char b1[32], b2[32];
        printf("nox-plugin-check %s: %s: plugin %s %s (ABI %u)\n", NOX_VERSION, o.path, nox_plugin_name(p),
               nox_plugin_version(p), NOX_PLUGIN_ABI_VERSION);
        printf("seed %" PRIu64 ", %lu random input sets per type combination plus edge values, each evaluated twice\n",
               o.seed, o.iterations);
        if (problems.n) {
            printf("descriptors: %zu problem%s\n", problems.n, problems.n == 1 ? "" : "s");
            for (size_t i = 0; i < problems.n; i++) printf("  PROBLEM: %s\n", problems.items[i]);
        } else {
            printf("descriptors: %zu implementation%s: ok\n", n_impls, n_impls == 1 ? "" : "s");
        }
        for (size_t i = 0; i < warnings.n; i++) printf("  WARNING: %s\n", warnings.items[i]);
        for (size_t i = 0; i < n_impls; i++) {
            const nox_operator *d = nox_impl_descriptor(reports[i].impl);
            char sig[2048];
            printf("\n%s  id %u  %s%s\n", d->name, d->id, nox_impl_signature(reports[i].impl, sig, sizeof sig),
                   d->flags & NOX_OP_CONSTANT_TIME ? "  [constant-time]" : "");
            if (reports[i].n_combos < reports[i].n_all_combos)
                printf("  (%zu of %zu type combinations, evenly sampled)\n", reports[i].n_combos,
                       reports[i].n_all_combos);
            for (size_t c = 0; c < reports[i].n_combos; c++) {
                combo_report *cr = &reports[i].combos[c];
                if (cr->text)
                    printf("  %-16s %s: %s\n", cr->label, cr->crashed ? "CRASH" : "PROBLEMS", cr->text);
                else
                    printf("  %-16s ok (%s evaluations)\n", cr->label, fmt_count(cr->evaluations, b1, sizeof b1));
            }
        }
        if (ct) ctime_print(ct);
        char ct_text[96] = "";
        if (ct)
            snprintf(ct_text, sizeof ct_text, ", %zu type combination%s leaking secrets", ct_leaks,
                     ct_leaks == 1 ? "" : "s");
        printf("\nsummary: %zu implementation%s, %zu type combination%s, %s evaluations; %zu descriptor problem%s, "
               "%zu type combination%s with problems%s: %s\n",
               n_impls, n_impls == 1 ? "" : "s", total_combos, total_combos == 1 ? "" : "s",
               fmt_count(total_evals, b2, sizeof b2), problems.n, problems.n == 1 ? "" : "s", bad_combos,
               bad_combos == 1 ? "" : "s", ct_text, clean ? "CLEAN" : "PROBLEMS FOUND");
    }

    if (o.solidity) {
        if (problems.n) {
            fprintf(stderr, "nox-plugin-check: %s: descriptor problems; no bindings written\n", o.path);
            clean = 0;
        } else if (!clean) { /* --check found problems: bindings of a plugin that fails its checks are not written */
            fprintf(stderr, "nox-plugin-check: %s: %zu type combination%s with problems, %zu constant-time leak%s "
                    "(above); no bindings written to %s\n", o.path, bad_combos, bad_combos == 1 ? "" : "s", ct_leaks,
                    ct_leaks == 1 ? "" : "s", o.solidity);
        } else if (write_solidity(p, o.solidity, o.json)) {
            clean = 0;
        }
    }

    for (size_t i = 0; i < n_impls; i++) {
        for (size_t c = 0; c < reports[i].n_combos; c++) {
            json_decref(reports[i].combos[c].problems);
            free(reports[i].combos[c].text);
        }
        free(reports[i].combos);
    }
    free(reports);
    json_decref(ct);
    strlist_free(&problems);
    strlist_free(&warnings);
    if (owned_by_engine) nox_engine_free(engine);
    else {
        nox_engine_free(engine);
        nox_plugin_close(p);
    }
    for (size_t i = 0; i < o.n_opts; i++) free(o.opt_buf[i]);
    return clean ? EXIT_CLEAN : EXIT_PROBLEMS;
}
