/*
 * The operator registry, type checking (signature resolution) and evaluation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "nox/types.h"
#include "nox/value.h"

/* The canonical-form check of nox_value_is_canonical, inlined for the hot path. */
static inline int canonical(const nox_value *v) {
    unsigned bits = nox_type_bits(v->type);
    return bits && (bits % 64 == 0 || (v->limb[(bits - 1) / 64] >> (bits % 64)) == 0);
}

nox_engine *nox_engine_new(void) { return calloc(1, sizeof(nox_engine)); }

void nox_engine_free(nox_engine *e) {
    if (!e) return;
    for (size_t i = 0; i < e->n_ops; i++) free(e->ops[i]);
    free(e->ops);
    for (size_t i = 0; i < e->n_plugins; i++) nox_plugin_close(e->plugins[i]);
    free(e->plugins);
    free(e);
}

/* ---- type sets ------------------------------------------------------------ */

/* The set a slot admits: a single code, or its type variable's set. */
static nox_typeset slot_set(const nox_impl *m, uint16_t slot) {
    if (NOX_SLOT_IS_VAR(slot)) return m->d.typevars[NOX_SLOT_VAR_INDEX(slot)];
    nox_typeset s = {{0}};
    nox_typeset_add(&s, slot);
    return s;
}

static int sets_intersect(const nox_typeset *a, const nox_typeset *b) {
    uint64_t acc = 0;
    for (int i = 0; i < 4; i++) acc |= a->bits[i] & b->bits[i];
    return acc != 0;
}

int nox_impl_overlaps(const nox_impl *a, const nox_impl *b) {
    if (a->d.n_inputs != b->d.n_inputs || a->d.n_outputs != b->d.n_outputs) return 1;
    /* Operators with inputs are told apart by their inputs; others by their outputs. */
    unsigned n = a->d.n_inputs ? a->d.n_inputs : a->d.n_outputs;
    const uint16_t *sa = a->d.n_inputs ? a->d.inputs : a->d.outputs;
    const uint16_t *sb = a->d.n_inputs ? b->d.inputs : b->d.outputs;
    for (unsigned i = 0; i < n; i++) {
        nox_typeset x = slot_set(a, sa[i]), y = slot_set(b, sb[i]);
        if (!sets_intersect(&x, &y)) return 0;
    }
    return 1;
}

/* Family of a code, for grouping runs in descriptions. */
static int family(unsigned c) {
    if (c >= NOX_TYPE_UINT8 && c <= NOX_TYPE_UINT256) return 1;
    if (c >= NOX_TYPE_INT8 && c <= NOX_TYPE_INT256) return 2;
    if (c >= NOX_TYPE_BYTES1 && c <= NOX_TYPE_BYTES32) return 3;
    if (c >= NOX_TYPE_UINT512 && c <= NOX_TYPE_UINT2048) return 4;
    if (c >= NOX_TYPE_INT512 && c <= NOX_TYPE_INT2048) return 5;
    return 100 + (int)c;
}

void nox_typeset_describe(const nox_typeset *set, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned c = 0; c < 256; c++) {
        if (!nox_typeset_has(set, c)) continue;
        unsigned last = c;
        while (last + 1 < 256 && nox_typeset_has(set, last + 1) && family(last + 1) == family(c)) last++;
        const char *a = nox_type_name(c), *b = nox_type_name(last);
        int n;
        if (last == c) n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", a ? a : "?");
        else n = snprintf(buf + used, cap - used, "%s%s..%s", used ? ", " : "", a ? a : "?", b ? b : "?");
        if (n < 0 || (size_t)n >= cap - used) return;
        used += (size_t)n;
        c = last;
    }
}

/* ---- registry ----------------------------------------------------------- */

size_t nox_engine_op_count(const nox_engine *e) { return e->n_ops; }
const nox_op *nox_engine_op_at(const nox_engine *e, size_t i) { return i < e->n_ops ? e->ops[i] : NULL; }

const nox_op *nox_engine_find(const nox_engine *e, const char *name) {
    for (size_t i = 0; i < e->n_ops; i++)
        if (!strcmp(e->ops[i]->name, name)) return e->ops[i];
    return NULL;
}

const nox_op *nox_engine_find_id(const nox_engine *e, unsigned id) {
    for (size_t i = 0; i < e->n_ops; i++)
        if (e->ops[i]->id == id) return e->ops[i];
    return NULL;
}

nox_status nox_engine_lookup(const nox_engine *e, const char *name, const nox_op **op, nox_error *err) {
    *op = nox_engine_find(e, name);
    if (*op) return NOX_OK;
    char list[384] = "";
    size_t used = 0;
    for (size_t i = 0; i < e->n_ops && used < sizeof list - 1; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", e->ops[i]->name);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (used >= sizeof list - 1) snprintf(list + sizeof list - 5, 5, "...");
    return nox_error_set(err, NOX_ERR_NOT_FOUND, "unknown operator '%.64s' (loaded: %s)", name,
                         e->n_ops ? list : "none; check config/operators.yaml");
}

const char *nox_op_name(const nox_op *op) { return op->name; }
unsigned nox_op_id(const nox_op *op) { return op->id; }
unsigned nox_op_n_inputs(const nox_op *op) { return op->n_inputs; }
unsigned nox_op_n_outputs(const nox_op *op) { return op->n_outputs; }
size_t nox_op_impl_count(const nox_op *op) { return op->n_impls; }
const nox_impl *nox_op_impl_at(const nox_op *op, size_t i) { return i < op->n_impls ? op->impls[i] : NULL; }
const nox_operator *nox_impl_descriptor(const nox_impl *m) { return &m->d; }
const nox_plugin *nox_impl_plugin(const nox_impl *m) { return m->plugin; }

/* Does `m` conflict with what the engine (plus the first `n_pending` of `pending`) already has? */
static nox_status check_conflicts(const nox_engine *e, const nox_impl *m, nox_impl *const *pending, size_t n_pending,
                                  nox_error *err) {
    for (size_t i = 0; i < e->n_ops; i++) {
        const nox_op *op = e->ops[i];
        int same_name = !strcmp(op->name, m->name);
        if (!same_name && op->id == m->d.id)
            return nox_error_set(err, NOX_ERR_DUPLICATE, "operator %s: id %u is already used by operator %s (plugin %s)",
                                 m->name, m->d.id, op->name, nox_plugin_name(op->impls[0]->plugin));
        if (!same_name) continue;
        if (op->id != m->d.id || op->n_inputs != m->d.n_inputs || op->n_outputs != m->d.n_outputs)
            return nox_error_set(err, NOX_ERR_DUPLICATE,
                                 "operator %s: plugin %s declares id %u with %u -> %u, but plugin %s already "
                                 "declared id %u with %u -> %u",
                                 m->name, nox_plugin_name(m->plugin), m->d.id, m->d.n_inputs, m->d.n_outputs,
                                 nox_plugin_name(op->impls[0]->plugin), op->id, op->n_inputs, op->n_outputs);
        if (op->n_impls == NOX_MAX_IMPLS)
            return nox_error_set(err, NOX_ERR_DUPLICATE, "operator %s already has %d implementations, the most allowed",
                                 m->name, NOX_MAX_IMPLS);
        for (size_t k = 0; k < op->n_impls; k++)
            if (nox_impl_overlaps(op->impls[k], m))
                return nox_error_set(err, NOX_ERR_DUPLICATE,
                                     "duplicate operator %s: plugin %s (%s) already provides it for some of the "
                                     "same types",
                                     m->name, nox_plugin_name(op->impls[k]->plugin), nox_plugin_path(op->impls[k]->plugin));
    }
    for (size_t i = 0; i < n_pending; i++) {
        const nox_impl *q = pending[i];
        if (strcmp(q->name, m->name) && q->d.id == m->d.id)
            return nox_error_set(err, NOX_ERR_DUPLICATE, "operators %s and %s of plugin %s share id %u", q->name,
                                 m->name, nox_plugin_name(m->plugin), m->d.id);
    }
    return NOX_OK;
}

/* Adds an implementation; cannot fail: add_plugin reserved every allocation. */
static void insert_impl(nox_engine *e, nox_impl *m, nox_op *fresh) {
    nox_op *op = (nox_op *)nox_engine_find(e, m->name);
    if (!op) {
        op = fresh;
        snprintf(op->name, sizeof op->name, "%s", m->name);
        op->id = m->d.id;
        op->n_inputs = m->d.n_inputs;
        op->n_outputs = m->d.n_outputs;
        size_t at = e->n_ops; /* keep the registry sorted by id */
        while (at > 0 && e->ops[at - 1]->id > op->id) {
            e->ops[at] = e->ops[at - 1];
            at--;
        }
        e->ops[at] = op;
        e->n_ops++;
    } else {
        free(fresh);
    }
    op->impls[op->n_impls++] = m;
}

nox_status nox_engine_add_plugin(nox_engine *e, nox_plugin *p, const char *const *enable, size_t n_enable,
                                 size_t *bad_index, nox_error *err) {
    if (bad_index) *bad_index = SIZE_MAX;
    nox_impl **chosen = calloc(p->n_impls ? p->n_impls : 1, sizeof *chosen);
    if (!chosen) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    size_t n_chosen = 0;
    nox_status st = NOX_OK;

    if (enable) {
        for (size_t k = 0; k < n_enable && !st; k++) {
            for (size_t j = 0; j < k && !st; j++)
                if (!strcmp(enable[j], enable[k])) {
                    st = nox_error_set(err, NOX_ERR_DUPLICATE, "operator '%.64s' is listed twice", enable[k]);
                    if (bad_index) *bad_index = k;
                }
            if (st) break;
            int found = 0;
            for (size_t i = 0; i < p->n_impls; i++)
                if (!strcmp(p->impls[i]->name, enable[k])) chosen[n_chosen++] = p->impls[i], found = 1;
            if (!found) {
                char list[384] = "";
                size_t used = 0;
                for (size_t i = 0; i < p->n_impls; i++) {
                    int dup = 0;
                    for (size_t j = 0; j < i; j++) dup |= !strcmp(p->impls[j]->name, p->impls[i]->name);
                    if (dup) continue;
                    int n = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", p->impls[i]->name);
                    if (n < 0 || (size_t)n >= sizeof list - used) break;
                    used += (size_t)n;
                }
                st = nox_error_set(err, NOX_ERR_NOT_FOUND, "operator '%.64s' is not exported by plugin %s (it exports: %s)",
                                   enable[k], nox_plugin_name(p), list);
                if (bad_index) *bad_index = k;
            }
        }
    } else {
        for (size_t i = 0; i < p->n_impls; i++) chosen[n_chosen++] = p->impls[i];
    }

    for (size_t i = 0; i < n_chosen && !st; i++) {
        st = check_conflicts(e, chosen[i], chosen, i, err);
        if (st && bad_index && enable)
            for (size_t k = 0; k < n_enable; k++)
                if (!strcmp(enable[k], chosen[i]->name)) *bad_index = k;
    }
    /* Reserve everything first, so that the commit below cannot fail half-way. */
    nox_op **fresh = st ? NULL : calloc(n_chosen ? n_chosen : 1, sizeof *fresh);
    if (!st && !fresh) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_chosen && !st; i++)
        if (!(fresh[i] = calloc(1, sizeof **fresh))) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    if (!st) {
        nox_op **ops = realloc(e->ops, (e->n_ops + n_chosen) * sizeof *ops);
        if (ops) e->ops = ops;
        nox_plugin **plugins = realloc(e->plugins, (e->n_plugins + 1) * sizeof *plugins);
        if (plugins) e->plugins = plugins;
        if (!ops || !plugins) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        for (size_t i = 0; i < n_chosen; i++) insert_impl(e, chosen[i], fresh[i]);
        e->plugins[e->n_plugins++] = p;
    } else if (fresh) {
        for (size_t i = 0; i < n_chosen; i++) free(fresh[i]);
    }
    free(fresh);
    free(chosen);
    return st;
}

nox_status nox_engine_load_plugin(nox_engine *e, const char *path, nox_error *err) {
    nox_plugin *p;
    nox_status st = nox_plugin_open(path, NULL, NULL, 0, &p, err);
    if (st) return st;
    st = nox_engine_add_plugin(e, p, NULL, 0, NULL, err);
    if (st) nox_plugin_close(p);
    return st;
}

/* ---- signatures and resolution ------------------------------------------ */

static const char *slot_name(const nox_impl *m, int output, unsigned i, char *buf, size_t cap) {
    const char *n = output ? m->d.output_names[i] : m->d.input_names[i];
    if (n) return n;
    snprintf(buf, cap, "%s %u", output ? "output" : "input", i);
    return buf;
}

static const char *slot_type_text(uint16_t slot, char *buf, size_t cap) {
    if (NOX_SLOT_IS_VAR(slot)) {
        snprintf(buf, cap, "%c", "TUVW"[NOX_SLOT_VAR_INDEX(slot)]);
        return buf;
    }
    return nox_type_name(slot);
}

char *nox_impl_signature(const nox_impl *m, char *buf, size_t cap) {
    size_t used = 0;
    char nb[32], tb[8];
#define PUT(...)                                                          \
    do {                                                                  \
        int n_ = snprintf(buf + used, cap - used, __VA_ARGS__);           \
        if (n_ < 0 || (size_t)n_ >= cap - used) return buf;               \
        used += (size_t)n_;                                               \
    } while (0)
    buf[0] = '\0';
    PUT("%s(", m->name);
    for (unsigned i = 0; i < m->d.n_inputs; i++)
        PUT("%s%s %s", i ? ", " : "", slot_type_text(m->d.inputs[i], tb, sizeof tb), slot_name(m, 0, i, nb, sizeof nb));
    PUT(") -> (");
    for (unsigned i = 0; i < m->d.n_outputs; i++)
        PUT("%s%s %s", i ? ", " : "", slot_type_text(m->d.outputs[i], tb, sizeof tb),
            slot_name(m, 1, i, nb, sizeof nb));
    PUT(")");
    unsigned used_vars = 0;
    for (unsigned i = 0; i < m->d.n_inputs; i++)
        if (NOX_SLOT_IS_VAR(m->d.inputs[i])) used_vars |= 1u << NOX_SLOT_VAR_INDEX(m->d.inputs[i]);
    for (unsigned i = 0; i < m->d.n_outputs; i++)
        if (NOX_SLOT_IS_VAR(m->d.outputs[i])) used_vars |= 1u << NOX_SLOT_VAR_INDEX(m->d.outputs[i]);
    for (unsigned k = 0; k < NOX_MAX_TYPEVARS; k++) {
        if (!(used_vars & (1u << k))) continue;
        char set[512];
        nox_typeset_describe(&m->d.typevars[k], set, sizeof set);
        PUT(" %s %c in {%s}", k == 0 || !(used_vars & ((1u << k) - 1)) ? "where" : "and", "TUVW"[k], set);
    }
#undef PUT
    return buf;
}

static const char *tname(unsigned code) {
    const char *n = nox_type_name(code);
    return n ? n : "a reserved type code";
}

/* Tries one implementation. Returns NOX_OK or NOX_ERR_TYPE; *progress counts the slots that matched. */
/* Forced inline: called with err == NULL on the hot path, where the compiler
 * then drops every message-formatting branch. */
/* Fails the type check; formats the message only when one is wanted. */
#define FAIL(...) return err ? nox_error_set(err, NOX_ERR_TYPE, __VA_ARGS__) : NOX_ERR_TYPE

static inline __attribute__((always_inline)) nox_status try_impl(const nox_op *op, const nox_impl *m, const uint8_t *in, const uint8_t *declared,
                           nox_call *call, unsigned *progress, nox_error *err) {
    int bound[NOX_MAX_TYPEVARS] = {-1, -1, -1, -1};
    unsigned bound_at[NOX_MAX_TYPEVARS] = {0};
    char nb[32], nb2[32];
    *progress = 0;
    for (unsigned i = 0; i < m->d.n_inputs; i++, (*progress)++) {
        uint16_t slot = m->d.inputs[i];
        if (!NOX_SLOT_IS_VAR(slot)) {
            if (in[i] != slot)
                FAIL("%s: %s must be %s, got %s", op->name,
                                     slot_name(m, 0, i, nb, sizeof nb), tname(slot), tname(in[i]));
            continue;
        }
        unsigned k = NOX_SLOT_VAR_INDEX(slot);
        if (bound[k] >= 0) {
            if (in[i] != bound[k])
                FAIL("%s: operands must share one type: %s is %s, %s is %s",
                                     op->name, slot_name(m, 0, bound_at[k], nb, sizeof nb), tname((unsigned)bound[k]),
                                     slot_name(m, 0, i, nb2, sizeof nb2), tname(in[i]));
            continue;
        }
        if (!nox_typeset_has(&m->d.typevars[k], in[i])) {
            if (!err) return NOX_ERR_TYPE; /* the hot path: no message wanted */
            /* Describe what any implementation would accept here. */
            nox_typeset all = {{0}};
            for (size_t j = 0; j < op->n_impls; j++) {
                nox_typeset s = slot_set(op->impls[j], op->impls[j]->d.inputs[i]);
                for (int w = 0; w < 4; w++) all.bits[w] |= s.bits[w];
            }
            char set[512];
            nox_typeset_describe(&all, set, sizeof set);
            FAIL("%s: %s cannot be %s (accepted: %s)", op->name,
                                 slot_name(m, 0, i, nb, sizeof nb), tname(in[i]), set);
        }
        bound[k] = in[i];
        bound_at[k] = i;
    }
    for (unsigned i = 0; i < m->d.n_outputs; i++, (*progress)++) {
        uint16_t slot = m->d.outputs[i];
        int want = -1;
        if (!NOX_SLOT_IS_VAR(slot)) want = slot;
        else if (bound[NOX_SLOT_VAR_INDEX(slot)] >= 0) want = bound[NOX_SLOT_VAR_INDEX(slot)];
        unsigned d = declared ? declared[i] : NOX_TYPE_INFER;
        if (want >= 0) {
            if (d != NOX_TYPE_INFER && d != (unsigned)want)
                FAIL("%s: output %s has type %s, but the operation produces %s",
                                     op->name, slot_name(m, 1, i, nb, sizeof nb), tname(d), tname((unsigned)want));
            call->out_types[i] = (uint8_t)want;
            continue;
        }
        unsigned k = NOX_SLOT_VAR_INDEX(slot);
        if (d == NOX_TYPE_INFER)
            FAIL("%s: the type of output %s cannot be inferred; declare it",
                                 op->name, slot_name(m, 1, i, nb, sizeof nb));
        if (!nox_typeset_has(&m->d.typevars[k], d)) {
            if (!err) return NOX_ERR_TYPE;
            char set[512];
            nox_typeset_describe(&m->d.typevars[k], set, sizeof set);
            FAIL("%s: output %s cannot be %s (accepted: %s)", op->name,
                                 slot_name(m, 1, i, nb, sizeof nb), tname(d), set);
        }
        bound[k] = (int)d;
        call->out_types[i] = (uint8_t)d;
    }
    call->impl = m;
    call->n_inputs = m->d.n_inputs;
    call->n_outputs = m->d.n_outputs;
    return NOX_OK;
}

#undef FAIL

nox_status nox_op_instantiate(const nox_op *op, uint8_t type, uint8_t in_types[NOX_MAX_ARITY], nox_error *err) {
    for (size_t j = 0; j < op->n_impls; j++) {
        const nox_operator *d = &op->impls[j]->d;
        int accepts = 0;
        for (unsigned i = 0; i < d->n_inputs; i++)
            if (NOX_SLOT_IS_VAR(d->inputs[i]) && nox_typeset_has(&d->typevars[NOX_SLOT_VAR_INDEX(d->inputs[i])], type))
                accepts = 1;
        if (!accepts) continue;
        for (unsigned i = 0; i < d->n_inputs; i++)
            in_types[i] = NOX_SLOT_IS_VAR(d->inputs[i]) ? type : (uint8_t)d->inputs[i];
        return NOX_OK;
    }
    return nox_error_set(err, NOX_ERR_TYPE, "%s does not take operands of type %s", op->name, tname(type));
}

/* The first implementation accepting the types, without formatting any message. */
static inline __attribute__((always_inline)) int resolve_fast(const nox_op *op, const uint8_t *in_types,
                                                              const uint8_t *declared_out, nox_call *call) {
    unsigned progress;
    for (size_t j = 0; j < op->n_impls; j++)
        if (try_impl(op, op->impls[j], in_types, declared_out, call, &progress, NULL) == NOX_OK) return 1;
    return 0;
}

nox_status nox_op_resolve(const nox_op *op, const uint8_t *in_types, size_t n_in, const uint8_t *declared_out,
                          size_t n_out, nox_call *call, nox_error *err) {
    if (n_in != op->n_inputs || n_out != op->n_outputs) {
        const nox_impl *m = op->impls[0];
        char names[256] = "", nb[32];
        size_t used = 0;
        for (unsigned i = 0; i < op->n_inputs; i++) {
            int n = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", slot_name(m, 0, i, nb, sizeof nb));
            if (n < 0 || (size_t)n >= sizeof names - used) break;
            used += (size_t)n;
        }
        if (n_in != op->n_inputs)
            return nox_error_set(err, NOX_ERR_TYPE, "%s takes %u input%s (%s), got %zu", op->name, op->n_inputs,
                                 op->n_inputs == 1 ? "" : "s", names, n_in);
        return nox_error_set(err, NOX_ERR_TYPE, "%s produces %u output%s, got %zu", op->name, op->n_outputs,
                             op->n_outputs == 1 ? "" : "s", n_out);
    }
    for (size_t i = 0; i < n_in; i++)
        if (nox_type_bits(in_types[i]) == 0) /* dynamic or reserved */
            return nox_error_set(err, NOX_ERR_TYPE, "%s: input %zu has type %s, which no operator accepts", op->name,
                                 i, nox_type_name(in_types[i]) ? nox_type_name(in_types[i]) : "(reserved code)");
    if (resolve_fast(op, in_types, declared_out, call)) return NOX_OK;
    if (!err) return NOX_ERR_TYPE;
    unsigned progress;
    /* None accepts: report the implementation that matched the most slots. */
    size_t best = 0;
    unsigned best_progress = 0;
    for (size_t j = 0; j < op->n_impls; j++) {
        try_impl(op, op->impls[j], in_types, declared_out, call, &progress, NULL);
        if (progress > best_progress) best = j, best_progress = progress;
    }
    return try_impl(op, op->impls[best], in_types, declared_out, call, &progress, err);
}

nox_status nox_impl_resolve(const nox_impl *impl, const uint8_t *in_types, size_t n_in, const uint8_t *declared_out,
                            size_t n_out, nox_call *call, nox_error *err) {
    nox_op op;
    memset(&op, 0, sizeof op);
    snprintf(op.name, sizeof op.name, "%s", impl->name);
    op.id = impl->d.id;
    op.n_inputs = impl->d.n_inputs;
    op.n_outputs = impl->d.n_outputs;
    op.n_impls = 1;
    op.impls[0] = impl;
    return nox_op_resolve(&op, in_types, n_in, declared_out, n_out, call, err);
}

static inline nox_status call_eval(const nox_call *call, const nox_value *in, nox_value *out, nox_error *err) {
    const nox_impl *m = call->impl;
    for (unsigned i = 0; i < call->n_outputs; i++) out[i].type = call->out_types[i];
    int rc = m->d.eval(in, out, m->d.data);
    if (rc != 0)
        return nox_error_set(err, NOX_ERR_PLUGIN, "plugin %s: operator %s returned %d (a bug in the plugin)",
                             nox_plugin_name(m->plugin), m->name, rc);
    for (unsigned i = 0; i < call->n_outputs; i++) {
        if (out[i].type != call->out_types[i])
            return nox_error_set(err, NOX_ERR_PLUGIN,
                                 "plugin %s: operator %s changed the type of output %u from %s to %s (a bug in the "
                                 "plugin)",
                                 nox_plugin_name(m->plugin), m->name, i, tname(call->out_types[i]), tname(out[i].type));
        if (!canonical(&out[i]))
            return nox_error_set(err, NOX_ERR_PLUGIN,
                                 "plugin %s: operator %s wrote a non-canonical %s to output %u (a bug in the plugin)",
                                 nox_plugin_name(m->plugin), m->name, tname(out[i].type), i);
    }
    return NOX_OK;
}

nox_status nox_call_eval(const nox_call *call, const nox_value *in, nox_value *out, nox_error *err) {
    return call_eval(call, in, out, err);
}

nox_status nox_op_eval(const nox_op *op, const nox_value *in, size_t n_in, nox_value *out, size_t n_out,
                       nox_error *err) {
    uint8_t in_types[NOX_MAX_ARITY], decl[NOX_MAX_ARITY];
    if (n_in > NOX_MAX_ARITY || n_out > NOX_MAX_ARITY)
        return nox_error_set(err, NOX_ERR_TYPE, "%s: too many inputs or outputs", op->name);
    for (size_t i = 0; i < n_in; i++) {
        in_types[i] = in[i].type;
        if (nox_type_bits(in[i].type) && !canonical(&in[i]))
            return nox_error_set(err, NOX_ERR_INVALID, "%s: input %zu has bits set above the width of %s", op->name,
                                 i, tname(in[i].type));
    }
    for (size_t i = 0; i < n_out; i++) decl[i] = out[i].type;
    nox_call call;
    if (n_in != op->n_inputs || n_out != op->n_outputs || !resolve_fast(op, in_types, decl, &call)) {
        nox_status st = nox_op_resolve(op, in_types, n_in, decl, n_out, &call, err); /* the precise error */
        if (st) return st;
    }
    return call_eval(&call, in, out, err);
}
