/*
 * TransactionMessages, one or a fetched batch: parse, resolve every event, fetch the external operands
 * (one batched Gateway exchange for all the messages), decrypt, evaluate in logIndex order with an
 * in-message cache, encrypt every computed output to the KMS key, publish each message's results as one
 * set (one batched exchange), then post the failure records of its outputs that cannot be computed.
 *
 * Failure isolation (docs/operators.md, "nox-runner"): an event that cannot be computed — its operator unknown or not
 * enabled here, a type error, a plaintext type the Runner cannot encode, a plugin that misbehaves, an
 * operand that has a failure record — fails only its own outputs and, transitively, the outputs of the
 * later events of the message that consume them ("latest earlier producer wins", as for values). Every
 * other output is computed and stored as usual.
 *
 * Results go out before failure records: when the failure records cannot be posted, the message is
 * retried as a whole; the retry recomputes the same results, which the Gateway answers "unchanged"
 * (same handleValueTag), and posts the records again (a record is per handle, the latest wins). A
 * result stored for a handle always wins over a failure record of it (GET /v0/handles/{h}/status).
 *
 * Every plaintext is wiped before return.
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/clock.h"
#include "nox/delegation.h"
#include "nox/ecies.h"
#include "nox/handle.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/message.h"
#include "nox/types.h"
#include "nox/value.h"
#include "runner.h"

enum { ST_FETCH, ST_DECRYPT, ST_EVAL, ST_ENCRYPT, ST_PUBLISH };

const char *const run_cause_names[RUN_CAUSES] = {
    [RUN_CAUSE_UNKNOWN_OPERATOR] = "unknown_operator", [RUN_CAUSE_NAME_MISMATCH] = "name_mismatch",
    [RUN_CAUSE_TYPE_ERROR] = "type_error",             [RUN_CAUSE_UNSUPPORTED_TYPE] = "unsupported_type",
    [RUN_CAUSE_PLUGIN_ERROR] = "plugin_error",         [RUN_CAUSE_FAILED_OPERAND] = "failed_operand",
    [RUN_CAUSE_DEPENDENCY] = "dependency",             [RUN_CAUSE_MESSAGE] = "message",
};

/* A handle of the message: an external operand, or an output of one of its events. */
typedef struct slot {
    nox_handle h;
    nox_value v;
    int known;       /* v holds its plaintext */
    int failed;      /* it will never be stored */
    size_t producer; /* the event it is an output of; SIZE_MAX for an external operand */
    char *reason;    /* a failed external operand: its failure record's reason (owned; NULL when out of memory) */
} slot;

/* One event: where its inputs come from, where its outputs go, and whether it can be computed. */
typedef struct event_state {
    size_t in[NOX_MESSAGE_MAX_ARITY]; /* the slot each input reads: the latest earlier producer, else external */
    size_t out;                       /* its first output slot (the others follow) */
    size_t op_index;                  /* engine op position (metrics); SIZE_MAX when none */
    int p2e;                          /* plaintext_to_encrypted: no operator, no input */
    nox_call call;
    int failed;
    enum run_cause cause;
    char why[NOX_GATEWAY_MAX_REASON + 1]; /* when failed: the failure record of its outputs */
} event_state;

typedef struct job {
    nox_message msg;
    event_state *ev;
    slot *slots;               /* external operands [0, n_ext), then every event's outputs in event order */
    size_t n_ext, n_slots;
    size_t *need, n_need;      /* the external operands asked for in the last fetch: slot indices */
    nox_handle *need_handles;  /* their handles */
    nox_gateway_operand *operands;          /* operands[k] is slot need[k]'s */
    nox_gateway_failed_operand *failed_ops; /* what the Gateway says of them */
    int fetched;                            /* operands[0..n_need) hold every operand still needed */
    nox_gateway_result *results;            /* the computed outputs, encrypted */
    size_t n_results;
} job;

static slot *find(job *j, const nox_handle *h, size_t limit) {
    for (size_t i = 0; i < limit; i++)
        if (!memcmp(j->slots[i].h.bytes, h->bytes, NOX_HANDLE_SIZE)) return &j->slots[i];
    return NULL;
}

static void job_free(job *j) {
    for (size_t i = 0; j->slots && i < j->n_slots; i++) {
        nox_value_wipe(&j->slots[i].v);
        free(j->slots[i].reason);
    }
    free(j->slots);
    free(j->ev);
    free(j->need);
    free(j->need_handles);
    if (j->operands) OPENSSL_cleanse(j->operands, j->n_ext * sizeof *j->operands);
    free(j->operands);
    free(j->failed_ops);
    free(j->results);
    nox_message_free(&j->msg);
}

static size_t op_position(const nox_engine *e, const nox_op *op) {
    for (size_t i = 0; i < nox_engine_op_count(e); i++)
        if (nox_engine_op_at(e, i) == op) return i;
    return SIZE_MAX;
}

/* Marks event i failed for `cause`, with the reason fmt... (cut to a failure record's length). */
__attribute__((format(printf, 4, 5))) static void fail_event(job *j, size_t i, enum run_cause cause,
                                                             const char *fmt, ...) {
    event_state *e = &j->ev[i];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, sizeof e->why, fmt, ap);
    va_end(ap);
    e->failed = 1;
    e->cause = cause;
}

/* Resolves every event against the engine; one that cannot be resolved is failed, the others get their call. */
static void resolve(run_state *st, job *j) {
    for (size_t i = 0; i < j->msg.n_events; i++) {
        const nox_message_event *ev = &j->msg.events[i];
        event_state *e = &j->ev[i];
        e->op_index = SIZE_MAX;
        const char *type = nox_message_event_type(ev);
        const nox_op *op;
        if (ev->op) {
            op = nox_engine_find(st->engine, type);
        } else { /* a generic event: by id, and the name must be the engine's */
            op = nox_engine_find_id(st->engine, ev->operator_id);
            if (!op) {
                fail_event(j, i, RUN_CAUSE_UNKNOWN_OPERATOR,
                           "events[%zu]: unknown operator id %u (type %s): not enabled on this Runner", i,
                           ev->operator_id, type);
                continue;
            }
            if (strcmp(nox_op_name(op), type)) {
                fail_event(j, i, RUN_CAUSE_NAME_MISMATCH,
                           "events[%zu]: type %s differs from the name %s of operator id %u", i, type,
                           nox_op_name(op), ev->operator_id);
                continue;
            }
        }
        if (!op && ev->op && !strcmp(type, "plaintext_to_encrypted")) {
            if (!nox_type_is_fixed(ev->tee_type))
                fail_event(j, i, RUN_CAUSE_UNSUPPORTED_TYPE,
                           "events[%zu]: plaintext_to_encrypted of type %u is not supported", i, ev->tee_type);
            else
                e->p2e = 1;
            continue;
        }
        if (!op) {
            fail_event(j, i, RUN_CAUSE_UNKNOWN_OPERATOR, "events[%zu]: unknown operator %s: not enabled on this Runner",
                       i, type);
            continue;
        }
        e->op_index = op_position(st->engine, op);
        uint8_t in[NOX_MESSAGE_MAX_ARITY], out[NOX_MESSAGE_MAX_ARITY];
        unsigned n_in = nox_message_event_n_inputs(ev), n_out = nox_message_event_n_outputs(ev);
        for (size_t k = 0; k < n_in; k++) in[k] = nox_handle_type(&ev->inputs[k]);
        for (size_t k = 0; k < n_out; k++) out[k] = nox_handle_type(&ev->outputs[k]);
        nox_error err = {0};
        if (nox_op_resolve(op, in, n_in, out, n_out, &e->call, &err))
            fail_event(j, i, RUN_CAUSE_TYPE_ERROR, "events[%zu] (%s): %s", i, type, err.message);
    }
}

/*
 * Lays the slots out: first the operands not produced earlier in the message (deduplicated), then every
 * event's outputs; each input reads the latest earlier producer of its handle, else the external operand.
 */
static void plan(job *j) {
    /* the external operands: the inputs that no earlier event produces */
    j->n_ext = 0;
    for (size_t i = 0; i < j->msg.n_events; i++) {
        const nox_message_event *ev = &j->msg.events[i];
        for (size_t k = 0; k < nox_message_event_n_inputs(ev); k++) {
            int inside = 0;
            for (size_t q = 0; q < i && !inside; q++)
                for (size_t o = 0; o < nox_message_event_n_outputs(&j->msg.events[q]) && !inside; o++)
                    inside = !memcmp(j->msg.events[q].outputs[o].bytes, ev->inputs[k].bytes, NOX_HANDLE_SIZE);
            if (!inside && !find(j, &ev->inputs[k], j->n_ext)) {
                slot *s = &j->slots[j->n_ext++];
                s->h = ev->inputs[k];
                s->producer = SIZE_MAX;
            }
        }
    }
    /* the outputs, and where each input reads */
    j->n_slots = j->n_ext;
    for (size_t i = 0; i < j->msg.n_events; i++) {
        const nox_message_event *ev = &j->msg.events[i];
        event_state *e = &j->ev[i];
        for (size_t k = 0; k < nox_message_event_n_inputs(ev); k++) {
            size_t src = SIZE_MAX;
            for (size_t p = j->n_slots; p-- > j->n_ext;) /* the latest earlier producer wins */
                if (!memcmp(j->slots[p].h.bytes, ev->inputs[k].bytes, NOX_HANDLE_SIZE)) {
                    src = p;
                    break;
                }
            if (src == SIZE_MAX) src = (size_t)(find(j, &ev->inputs[k], j->n_ext) - j->slots);
            e->in[k] = src;
        }
        e->out = j->n_slots;
        for (size_t o = 0; o < nox_message_event_n_outputs(ev); o++) {
            slot *s = &j->slots[j->n_slots++];
            s->h = ev->outputs[o];
            s->producer = i;
        }
    }
}

/* Marks external slot s failed, with `reason` (copied). */
static void fail_operand(slot *s, const char *reason) {
    s->failed = 1;
    free(s->reason);
    s->reason = strdup(reason);
}

/* The handles of the message's failure notice (failed in this very transaction) that events consume. */
static void mark_notice(job *j) {
    for (size_t e = 0; e < j->n_ext; e++)
        for (size_t f = 0; f < j->msg.n_failed; f++)
            if (!memcmp(j->slots[e].h.bytes, j->msg.failed[f].bytes, NOX_HANDLE_SIZE)) {
                fail_operand(&j->slots[e], j->msg.failure_reason);
                break;
            }
}

/* Event i, not failed yet, consumes failed slot s: it fails too, naming the handle it derives from. */
static void derive(job *j, size_t i, const slot *s) {
    char h[NOX_HANDLE_TEXT_LEN + 1];
    const char *type = nox_message_event_type(&j->msg.events[i]);
    nox_handle_format(&s->h, h);
    if (s->producer != SIZE_MAX) {
        fail_event(j, i, RUN_CAUSE_DEPENDENCY, "events[%zu] (%s): derives from failed handle %s (events[%zu])", i, type,
                   h, s->producer);
        return;
    }
    /* an operand with a failure record: its reason, cut so that the closing parenthesis fits */
    char head[NOX_GATEWAY_MAX_REASON + 1], why[NOX_GATEWAY_MAX_REASON + 1];
    int used = snprintf(head, sizeof head, "events[%zu] (%s): derives from failed handle %s (", i, type, h);
    size_t room = used > 0 && (size_t)used + 2 < sizeof why ? sizeof why - (size_t)used - 2 : 0;
    const char *r = s->reason ? s->reason : "its failure record";
    if (strlen(r) > room && room >= 3) snprintf(why, sizeof why, "%.*s...", (int)(room - 3), r);
    else snprintf(why, sizeof why, "%.*s", (int)room, r);
    fail_event(j, i, RUN_CAUSE_FAILED_OPERAND, "%s%s)", head, why);
}

/* Fails every event that consumes a failed slot, in logIndex order (so transitively), and their outputs. */
static void propagate(job *j) {
    for (size_t i = 0; i < j->msg.n_events; i++) {
        event_state *e = &j->ev[i];
        const nox_message_event *ev = &j->msg.events[i];
        for (size_t k = 0; !e->failed && k < nox_message_event_n_inputs(ev); k++)
            if (j->slots[e->in[k]].failed) derive(j, i, &j->slots[e->in[k]]);
        for (size_t o = 0; e->failed && o < nox_message_event_n_outputs(ev); o++) j->slots[e->out + o].failed = 1;
    }
}

/* The external operands the events that can still be computed read: need[0..n_need), in slot order. */
static void needed(job *j) {
    j->n_need = 0;
    for (size_t x = 0; x < j->n_ext; x++) {
        int used = 0;
        for (size_t i = 0; i < j->msg.n_events && !used && !j->slots[x].failed; i++)
            for (size_t k = 0; !j->ev[i].failed && k < nox_message_event_n_inputs(&j->msg.events[i]) && !used; k++)
                used = j->ev[i].in[k] == x;
        if (used) {
            j->need_handles[j->n_need] = j->slots[x].h;
            j->need[j->n_need++] = x;
        }
    }
}

/*
 * A Gateway failure: the message itself is at fault (400 other than not_found / a usable operand_failed,
 * 413, 431: dead-letter now) or not (missing operand, Gateway down, 5xx, 401 from a Runner key not yet
 * configured, ...: retry, then dead-letter after max_deliver).
 */
static enum run_outcome gateway_failure(nox_status s, const nox_gateway_fault *f, const nox_error *err, char *reason,
                                        size_t cap) {
    snprintf(reason, cap, "%s", err->message);
    if (s == NOX_ERR_REMOTE && (f->http_status == 400 || f->http_status == 413 || f->http_status == 431))
        return RUN_DEAD;
    return RUN_RETRY;
}

/* The outcome of a failed operand fetch: wait for an operand not stored yet, else as gateway_failure. */
static enum run_outcome fetch_failure(nox_status s, const nox_gateway_fault *f, const nox_error *err, char *reason,
                                      size_t cap) {
    if (s == NOX_ERR_NOT_FOUND) { /* produced by a transaction still in flight: wait for it */
        snprintf(reason, cap, "%s", err->message);
        return RUN_WAIT;
    }
    return gateway_failure(s, f, err, reason, cap);
}

static nox_gateway_tx tx_of(const nox_message *m) {
    nox_gateway_tx tx = {.chain_id = m->chain_id, .block_number = m->block_number};
    memcpy(tx.caller, m->caller, NOX_ADDRESS_SIZE);
    memcpy(tx.tx_hash, m->tx_hash, 32);
    return tx;
}

/*
 * Parses, allocates, resolves, lays out the slots and fails what cannot be computed before any fetch.
 * RUN_DEAD (reason filled) only for a message that does not parse.
 */
static enum run_outcome prepare(run_state *st, job *j, const char *data, size_t len, char *reason, size_t cap) {
    memset(j, 0, sizeof *j);
    nox_error err = {0};
    if (nox_message_parse(data, len, &j->msg, &err)) {
        snprintf(reason, cap, "%s", err.message);
        return err.code == NOX_ERR_NOMEM ? RUN_RETRY : RUN_DEAD;
    }
    size_t n_in = 0, n_out = 0;
    for (size_t i = 0; i < j->msg.n_events; i++) {
        n_in += nox_message_event_n_inputs(&j->msg.events[i]);
        n_out += nox_message_event_n_outputs(&j->msg.events[i]);
    }
    j->ev = calloc(j->msg.n_events ? j->msg.n_events : 1, sizeof *j->ev);
    j->slots = calloc(n_in + n_out ? n_in + n_out : 1, sizeof *j->slots);
    j->need = calloc(n_in ? n_in : 1, sizeof *j->need);
    j->need_handles = calloc(n_in ? n_in : 1, sizeof *j->need_handles);
    j->operands = calloc(n_in ? n_in : 1, sizeof *j->operands);
    j->failed_ops = calloc(n_in ? n_in : 1, sizeof *j->failed_ops);
    j->results = calloc(n_out ? n_out : 1, sizeof *j->results);
    if (!j->ev || !j->slots || !j->need || !j->need_handles || !j->operands || !j->failed_ops || !j->results) {
        snprintf(reason, cap, "out of memory");
        return RUN_RETRY;
    }
    resolve(st, j);
    plan(j);
    mark_notice(j);
    propagate(j);
    return RUN_OK;
}

/* Applies an operand_failed answer: the operands it names fail, and so does every event that needs them. */
static void apply_failed_operands(job *j, const nox_gateway_fetch *f) {
    for (size_t k = 0; k < f->n_failed; k++) fail_operand(&j->slots[j->need[f->failed[k].index]], f->failed[k].reason);
    propagate(j);
}

/*
 * Fetches the operands every job still needs, all jobs' requests in one batched exchange. A job whose
 * answer is operand_failed with the failed operands named has them failed (and the events that need
 * them) and asks again for the rest in the next round — one more exchange in all, normally: each round
 * fails at least one needed operand, so the rounds end. Other failures set the job's outcome.
 */
static void fetch_all(run_state *st, job *jobs, size_t n, enum run_outcome *outcomes, char (*reasons)[RUN_REASON_MAX]) {
    nox_gateway_fetch *fetches = calloc(n, sizeof *fetches);
    size_t *of = calloc(n, sizeof *of); /* fetches[k] is jobs[of[k]]'s */
    if (!fetches || !of) {
        for (size_t i = 0; i < n; i++)
            if (outcomes[i] == RUN_OK) {
                snprintf(reasons[i], RUN_REASON_MAX, "out of memory");
                outcomes[i] = RUN_RETRY;
            }
        goto out;
    }
    for (;;) {
        size_t n_fetch = 0;
        for (size_t i = 0; i < n; i++) {
            job *j = &jobs[i];
            if (outcomes[i] != RUN_OK || j->fetched) continue;
            needed(j);
            if (j->n_need == 0) {
                j->fetched = 1;
                continue;
            }
            fetches[n_fetch] = (nox_gateway_fetch){.tx = tx_of(&j->msg), .handles = j->need_handles, .n = j->n_need,
                                                   .out = j->operands, .failed = j->failed_ops};
            of[n_fetch++] = i;
        }
        if (n_fetch == 0) break;
        nox_error err = {0};
        double t0 = nox_clock_seconds();
        nox_gateway_fetch_operands_batch(st->gw, fetches, n_fetch, st->rsa_spki_hex, &err);
        nox_histogram_observe(st->m.stage[ST_FETCH], nox_clock_seconds() - t0);
        for (size_t k = 0; k < n_fetch; k++) {
            const nox_gateway_fetch *f = &fetches[k];
            job *j = &jobs[of[k]];
            if (f->status == NOX_OK)
                j->fetched = 1;
            else if (f->status == NOX_ERR_REMOTE && !strcmp(f->fault.code, "operand_failed") && f->n_failed > 0)
                apply_failed_operands(j, f);
            else
                outcomes[of[k]] = fetch_failure(f->status, &f->fault, &f->error, reasons[of[k]], RUN_REASON_MAX);
        }
    }
out:
    free(fetches);
    free(of);
}

static enum run_outcome decrypt(run_state *st, job *j, char *reason, size_t cap) {
    nox_error err = {0};
    double t0 = nox_clock_seconds();
    enum run_outcome r = RUN_OK;
    for (size_t k = 0; k < j->n_need && r == RUN_OK; k++) {
        nox_gateway_operand *o = &j->operands[k];
        slot *s = &j->slots[j->need[k]];
        /* decrypted by the Gateway client from t KMS partials (docs/PROTOCOL-EXTENSIONS.md §11) */
        if (nox_value_from_bytes(&s->v, nox_handle_type(&s->h), o->plaintext, o->plaintext_len, &err)) {
            snprintf(reason, cap, "operand %zu: %.400s", j->need[k], err.message);
            r = RUN_RETRY;
        }
        s->known = r == RUN_OK;
        OPENSSL_cleanse(o->plaintext, sizeof o->plaintext);
    }
    if (j->n_need) nox_histogram_observe(st->m.stage[ST_DECRYPT], nox_clock_seconds() - t0);
    return r;
}

/* Evaluates every event that can be computed, in logIndex order; one that fails here fails what derives from it. */
static enum run_outcome evaluate(run_state *st, job *j, char *reason, size_t cap) {
    nox_error err = {0};
    double t0 = nox_clock_seconds();
    for (size_t i = 0; i < j->msg.n_events; i++) {
        const nox_message_event *ev = &j->msg.events[i];
        event_state *e = &j->ev[i];
        const unsigned n_in = nox_message_event_n_inputs(ev), n_out = nox_message_event_n_outputs(ev);
        slot *outs = &j->slots[e->out];
        for (size_t k = 0; !e->failed && k < n_in; k++) /* an input of an event that failed in this loop */
            if (j->slots[e->in[k]].failed) derive(j, i, &j->slots[e->in[k]]);
        if (!e->failed && e->p2e) {
            if (nox_value_from_word(&outs[0].v, ev->tee_type, ev->value, &err))
                fail_event(j, i, RUN_CAUSE_UNSUPPORTED_TYPE, "events[%zu] (plaintext_to_encrypted): %s", i,
                           err.message);
            else
                outs[0].known = 1;
        } else if (!e->failed) {
            nox_value in[NOX_MESSAGE_MAX_ARITY], out[NOX_MESSAGE_MAX_ARITY];
            for (size_t k = 0; k < n_in; k++) {
                const slot *src = &j->slots[e->in[k]];
                if (!src->known) { /* every input of an event still computable was fetched or computed */
                    OPENSSL_cleanse(in, sizeof in);
                    snprintf(reason, cap, "events[%zu]: an operand is missing (a bug in the Runner)", i);
                    return RUN_DEAD;
                }
                in[k] = src->v;
            }
            nox_status s = nox_call_eval(&e->call, in, out, &err);
            OPENSSL_cleanse(in, sizeof in);
            if (s) {
                /* the engine's words (a return code, which output was not canonical) go to the operator's log
                 * only: the failure record is public (GET /v0/handles/{h}/status), and what a buggy plugin
                 * returns may depend on the values */
                char tx[67];
                nox_log(NOX_LOG_WARN, "events[%zu] (%s) of transaction %s: %s", i, nox_message_event_type(ev),
                        nox_hex_encode(j->msg.tx_hash, 32, tx), err.message);
                fail_event(j, i, RUN_CAUSE_PLUGIN_ERROR, "events[%zu] (%s): the operator's plugin failed on it (a bug "
                           "in the plugin: see the Runner's log)", i, nox_message_event_type(ev));
            } else {
                for (size_t k = 0; k < n_out; k++) {
                    outs[k].v = out[k];
                    outs[k].known = 1;
                }
                if (e->op_index != SIZE_MAX && st->m.events_by_op) nox_counter_add(st->m.events_by_op[e->op_index], 1);
            }
            OPENSSL_cleanse(out, sizeof out);
        }
        for (size_t k = 0; e->failed && k < n_out; k++) {
            outs[k].failed = 1;
            outs[k].known = 0;
            nox_value_wipe(&outs[k].v);
        }
    }
    nox_histogram_observe(st->m.stage[ST_EVAL], nox_clock_seconds() - t0);
    return RUN_OK;
}

/* Encrypts every computed output into results[0..n_results). */
static enum run_outcome encrypt(run_state *st, job *j, char *reason, size_t cap) {
    nox_error err = {0};
    j->n_results = 0;
    size_t todo = 0;
    for (size_t i = j->n_ext; i < j->n_slots; i++) todo += !j->slots[i].failed;
    if (todo == 0) return RUN_OK;
    nox_ec_pubkey kms;
    if (run_kms_key(st, j->msg.chain_id, &kms, &err)) {
        snprintf(reason, cap, "%s", err.message);
        return RUN_RETRY;
    }
    double t0 = nox_clock_seconds();
    for (size_t i = j->n_ext; i < j->n_slots; i++) {
        slot *s = &j->slots[i];
        if (s->failed) continue;
        nox_gateway_result *r = &j->results[j->n_results++];
        uint8_t pt[NOX_VALUE_MAX_BITS / 8];
        size_t len = 0;
        r->handle = s->h;
        nox_status e = nox_value_to_bytes(&s->v, pt, sizeof pt, &len, &err);
        if (!e) {
            nox_handle_value_tag(&s->h, pt, len, r->value_tag);
            e = nox_ecies_encrypt(&kms, pt, len, r->ciphertext, r->public_key, r->nonce, &err);
            r->ciphertext_len = len + NOX_ECIES_TAG_SIZE;
        }
        OPENSSL_cleanse(pt, sizeof pt);
        if (e) {
            snprintf(reason, cap, "encrypting result %zu: %.400s", j->n_results - 1, err.message);
            return RUN_RETRY;
        }
    }
    nox_histogram_observe(st->m.stage[ST_ENCRYPT], nox_clock_seconds() - t0);
    return RUN_OK;
}

/* What follows the fetch, up to the publication: decrypt, evaluate, encrypt. */
static enum run_outcome compute(run_state *st, job *j, char *reason, size_t cap) {
    enum run_outcome r = decrypt(st, j, reason, cap);
    if (r == RUN_OK) r = evaluate(st, j, reason, cap);
    if (r == RUN_OK) r = encrypt(st, j, reason, cap);
    return r;
}

/* The Gateway's answer for one result set, counted (a replay shows as unchanged); conflicts logged. */
static void count_answer(run_state *st, const nox_gateway_counts *counts) {
    nox_counter_add(st->m.results_created, counts->created);
    nox_counter_add(st->m.results_unchanged, counts->unchanged);
    nox_counter_add(st->m.results_conflicted, counts->conflicted);
    if (counts->conflicted)
        nox_log(NOX_LOG_WARN, "%llu result(s) conflicted with stored ones", (unsigned long long)counts->conflicted);
}

/* Publishes the result sets of the jobs still RUN_OK that have results, all in batched exchanges. */
static void publish_all(run_state *st, job *jobs, size_t n, enum run_outcome *outcomes,
                        char (*reasons)[RUN_REASON_MAX]) {
    nox_gateway_publish *pubs = calloc(n, sizeof *pubs);
    size_t *of = calloc(n, sizeof *of), n_pub = 0; /* pubs[k] is jobs[of[k]]'s */
    if (!pubs || !of) {
        for (size_t i = 0; i < n; i++)
            if (outcomes[i] == RUN_OK && jobs[i].n_results) {
                snprintf(reasons[i], RUN_REASON_MAX, "out of memory");
                outcomes[i] = RUN_RETRY;
            }
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (outcomes[i] != RUN_OK || jobs[i].n_results == 0) continue;
        pubs[n_pub] = (nox_gateway_publish){.tx = tx_of(&jobs[i].msg), .results = jobs[i].results,
                                            .n = jobs[i].n_results};
        of[n_pub++] = i;
    }
    if (n_pub) {
        nox_error err = {0};
        double t0 = nox_clock_seconds();
        nox_gateway_post_results_batch(st->gw, pubs, n_pub, &err);
        nox_histogram_observe(st->m.stage[ST_PUBLISH], nox_clock_seconds() - t0);
        for (size_t k = 0; k < n_pub; k++) {
            if (pubs[k].status)
                outcomes[of[k]] = gateway_failure(pubs[k].status, &pubs[k].fault, &pubs[k].error, reasons[of[k]],
                                                  RUN_REASON_MAX);
            else count_answer(st, &pubs[k].counts);
        }
    }
out:
    free(pubs);
    free(of);
}

/* 1 when an output of the message with handle h was computed (so it is stored, and a stored result wins). */
static int computed(const job *j, const nox_handle *h) {
    for (size_t i = j->n_ext; i < j->n_slots; i++)
        if (!j->slots[i].failed && !memcmp(j->slots[i].h.bytes, h->bytes, NOX_HANDLE_SIZE)) return 1;
    return 0;
}

static int listed(const nox_gateway_failure *f, size_t n, const nox_handle *h) {
    for (size_t k = 0; k < n; k++)
        if (!memcmp(f[k].handle.bytes, h->bytes, NOX_HANDLE_SIZE)) return 1;
    return 0;
}

/*
 * The failure records of job j into f (room for every output and notice handle): each output handle
 * of a failed event with its event's reason — or, with `whole` (the message is given up on), `whole`
 * for the outputs of events that did not fail themselves — and the handles of the message's failure
 * notice; a handle once, and not one that an event computed. Returns the count.
 */
static size_t failure_records(const job *j, const char *whole, nox_gateway_failure *f) {
    size_t n = 0;
    for (size_t i = j->n_ext; i < j->n_slots; i++) {
        const slot *s = &j->slots[i];
        const event_state *e = &j->ev[s->producer];
        if ((!whole && !s->failed) || (!whole && computed(j, &s->h)) || listed(f, n, &s->h)) continue;
        f[n].handle = s->h;
        f[n++].reason = e->failed ? e->why : whole;
    }
    for (size_t k = 0; k < j->msg.n_failed; k++) {
        if ((!whole && computed(j, &j->msg.failed[k])) || listed(f, n, &j->msg.failed[k])) continue;
        f[n].handle = j->msg.failed[k];
        f[n++].reason = j->msg.failure_reason;
    }
    return n;
}

/* Counts the failed events of j by cause; with `whole`, those that did not fail themselves as RUN_CAUSE_MESSAGE. */
static size_t count_failed_events(run_state *st, const job *j, int whole) {
    size_t n = 0;
    for (size_t i = 0; i < j->msg.n_events; i++) {
        if (!j->ev[i].failed && !whole) continue;
        enum run_cause c = j->ev[i].failed ? j->ev[i].cause : RUN_CAUSE_MESSAGE;
        if (st->m.failed_events[c]) nox_counter_add(st->m.failed_events[c], 1);
        n++;
    }
    return n;
}

/* "N of M event(s) failed (...): events[i] ...; events[k] ...;" into reason (cut to cap). */
static void summarise(const job *j, size_t failed, size_t n_records, char *reason, size_t cap) {
    size_t used = (size_t)snprintf(reason, cap, "%zu of %zu event(s) failed (%zu output handle(s) recorded failed, %zu "
                                   "result(s) stored):", failed, j->msg.n_events, n_records, j->n_results);
    for (size_t i = 0; i < j->msg.n_events && used < cap; i++)
        if (j->ev[i].failed) used += (size_t)snprintf(reason + used, cap - used, " %s;", j->ev[i].why);
}

/*
 * After j's results are stored: posts the failure records of its outputs that cannot be computed (and
 * of its failure notice). RUN_OK when no event failed, RUN_PARTIAL (reason: which events failed) when
 * some did, else the post's failure (RUN_RETRY: the retry recomputes and stores nothing new).
 */
static enum run_outcome record_failures(run_state *st, job *j, char *reason, size_t cap) {
    size_t room = j->n_slots - j->n_ext + j->msg.n_failed, failed = 0;
    for (size_t i = 0; i < j->msg.n_events; i++) failed += j->ev[i].failed;
    nox_gateway_failure *f = calloc(room ? room : 1, sizeof *f);
    if (!f) {
        snprintf(reason, cap, "out of memory");
        return RUN_RETRY;
    }
    size_t n = failure_records(j, NULL, f);
    char tx[67];
    nox_hex_encode(j->msg.tx_hash, 32, tx);
    if (n) {
        nox_gateway_tx gtx = tx_of(&j->msg);
        nox_gateway_fault fault = {0};
        nox_error err = {0};
        uint64_t recorded = 0;
        nox_status s = nox_gateway_post_failures(st->gw, &gtx, f, n, &recorded, &fault, &err);
        if (s) {
            char what[RUN_REASON_MAX];
            enum run_outcome r = gateway_failure(s, &fault, &err, what, sizeof what);
            int used = snprintf(reason, cap, "recording %zu failure(s) failed (%.160s)%s", n, what, failed ? "; " : "");
            if (failed && used > 0 && (size_t)used < cap) summarise(j, failed, 0, reason + used, cap - (size_t)used);
            free(f);
            return r;
        }
        nox_log(NOX_LOG_INFO, "%s: %zu result(s) stored, %llu output handle(s) recorded failed", tx, j->n_results,
                (unsigned long long)recorded);
    }
    free(f);
    if (failed == 0) return RUN_OK;
    count_failed_events(st, j, 0);
    summarise(j, failed, n, reason, cap);
    return RUN_PARTIAL;
}

/* Each message of the batch, up to its outcome (see run_process_batch); jobs[] are freed by the caller. */
static void process(run_state *st, job *jobs, const char *const *data, const size_t *lens, size_t n,
                    enum run_outcome *outcomes, char (*reasons)[RUN_REASON_MAX]) {
    for (size_t i = 0; i < n; i++) outcomes[i] = prepare(st, &jobs[i], data[i], lens[i], reasons[i], RUN_REASON_MAX);
    fetch_all(st, jobs, n, outcomes, reasons);
    for (size_t i = 0; i < n; i++)
        if (outcomes[i] == RUN_OK) outcomes[i] = compute(st, &jobs[i], reasons[i], RUN_REASON_MAX);
    publish_all(st, jobs, n, outcomes, reasons);
    for (size_t i = 0; i < n; i++)
        if (outcomes[i] == RUN_OK) outcomes[i] = record_failures(st, &jobs[i], reasons[i], RUN_REASON_MAX);
}

void run_process_batch(run_state *st, const char *const *data, const size_t *lens, size_t n,
                       enum run_outcome *outcomes, char (*reasons)[RUN_REASON_MAX]) {
    job *jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!jobs) {
        for (size_t i = 0; i < n; i++) {
            outcomes[i] = RUN_RETRY;
            snprintf(reasons[i], RUN_REASON_MAX, "out of memory");
        }
        return;
    }
    process(st, jobs, data, lens, n, outcomes, reasons);
    for (size_t i = 0; i < n; i++) job_free(&jobs[i]);
    free(jobs);
}

enum run_outcome run_process(run_state *st, const char *data, size_t len, char *reason, size_t cap) {
    enum run_outcome r;
    char why[1][RUN_REASON_MAX];
    why[0][0] = '\0';
    run_process_batch(st, &data, &len, 1, &r, why);
    snprintf(reason, cap, "%s", why[0]);
    return r;
}

void run_report_failures(run_state *st, const char *data, size_t len, const char *reason) {
    job j;
    char why[RUN_REASON_MAX];
    if (prepare(st, &j, data, len, why, sizeof why) != RUN_OK) { /* not parseable: no handle to report */
        job_free(&j);
        return;
    }
    size_t room = j.n_slots - j.n_ext + j.msg.n_failed;
    nox_gateway_failure *f = calloc(room ? room : 1, sizeof *f);
    size_t n = f ? failure_records(&j, reason, f) : 0;
    if (!f) {
        nox_log(NOX_LOG_WARN, "cannot record the failure of %zu result handle(s): out of memory", room);
    } else if (n) {
        nox_gateway_tx tx = tx_of(&j.msg);
        uint64_t recorded = 0;
        nox_gateway_fault fault = {0};
        nox_error err = {0};
        if (nox_gateway_post_failures(st->gw, &tx, f, n, &recorded, &fault, &err))
            nox_log(NOX_LOG_WARN, "could not record the failure of %zu result handle(s) at the Gateway "
                    "(dead-lettering anyway): %s", n, err.message);
        else {
            nox_log(NOX_LOG_INFO, "recorded the failure of %llu result handle(s) at the Gateway",
                    (unsigned long long)recorded);
            count_failed_events(st, &j, 1);
        }
    }
    free(f);
    job_free(&j);
}
