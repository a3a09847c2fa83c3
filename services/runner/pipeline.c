/*
 * One TransactionMessage: parse, resolve every event, fetch the external
 * operands in one Gateway call, decrypt, evaluate in logIndex order with an
 * in-message cache, encrypt every output to the KMS key, publish all results
 * in one call. Every plaintext is wiped before return.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nox/delegation.h"
#include "nox/ecies.h"
#include "nox/handle.h"
#include "nox/log.h"
#include "nox/message.h"
#include "nox/types.h"
#include "nox/value.h"
#include "runner.h"

enum { ST_FETCH, ST_DECRYPT, ST_EVAL, ST_ENCRYPT, ST_PUBLISH };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A handle and its plaintext value. */
typedef struct slot {
    nox_handle h;
    nox_value v;
    int known;
} slot;

typedef struct job {
    nox_message msg;
    nox_call *calls;        /* per event; impl NULL for plaintext_to_encrypted */
    size_t *op_index;       /* per event: engine op position (metrics) */
    slot *slots;            /* external operands first, then outputs */
    size_t n_ext, n_slots, cap_slots;
    nox_gateway_operand *operands;
    nox_gateway_result *results;
} job;

static slot *find(job *j, const nox_handle *h, size_t limit) {
    for (size_t i = 0; i < limit; i++)
        if (!memcmp(j->slots[i].h.bytes, h->bytes, NOX_HANDLE_SIZE)) return &j->slots[i];
    return NULL;
}

static void job_free(job *j) {
    if (j->slots)
        for (size_t i = 0; i < j->cap_slots; i++) nox_value_wipe(&j->slots[i].v);
    free(j->slots);
    free(j->calls);
    free(j->op_index);
    if (j->operands) OPENSSL_cleanse(j->operands, j->n_ext * sizeof *j->operands);
    free(j->operands);
    free(j->results);
    nox_message_free(&j->msg);
}

static size_t op_position(const nox_engine *e, const nox_op *op) {
    for (size_t i = 0; i < nox_engine_op_count(e); i++)
        if (nox_engine_op_at(e, i) == op) return i;
    return SIZE_MAX;
}

/* Resolves every event; RUN_DEAD with reason on a permanent error. */
static enum run_outcome resolve(run_state *st, job *j, char *reason, size_t cap) {
    nox_error err = {0};
    for (size_t i = 0; i < j->msg.n_events; i++) {
        const nox_message_event *ev = &j->msg.events[i];
        j->op_index[i] = SIZE_MAX;
        const char *type = nox_message_event_type(ev);
        const nox_op *op;
        if (ev->op) {
            op = nox_engine_find(st->engine, type);
        } else { /* a generic event: by id, and the name must be the engine's */
            op = nox_engine_find_id(st->engine, ev->operator_id);
            if (!op) {
                snprintf(reason, cap, "events[%zu]: unknown operator id %u (type %s)", i, ev->operator_id, type);
                return RUN_DEAD;
            }
            if (strcmp(nox_op_name(op), type)) {
                snprintf(reason, cap, "events[%zu]: type %s differs from the name %s of operator id %u", i, type,
                         nox_op_name(op), ev->operator_id);
                return RUN_DEAD;
            }
        }
        if (!op && ev->op && !strcmp(type, "plaintext_to_encrypted")) {
            if (!nox_type_is_fixed(ev->tee_type)) {
                snprintf(reason, cap, "events[%zu]: plaintext_to_encrypted of type %u is not supported", i,
                         ev->tee_type);
                return RUN_DEAD;
            }
            continue;
        }
        if (!op) {
            snprintf(reason, cap, "events[%zu]: unknown operator %s", i, type);
            return RUN_DEAD;
        }
        j->op_index[i] = op_position(st->engine, op);
        uint8_t in[NOX_MESSAGE_MAX_ARITY], out[NOX_MESSAGE_MAX_ARITY];
        unsigned n_in = nox_message_event_n_inputs(ev), n_out = nox_message_event_n_outputs(ev);
        for (size_t k = 0; k < n_in; k++) in[k] = nox_handle_type(&ev->inputs[k]);
        for (size_t k = 0; k < n_out; k++) out[k] = nox_handle_type(&ev->outputs[k]);
        if (nox_op_resolve(op, in, n_in, out, n_out, &j->calls[i], &err)) {
            snprintf(reason, cap, "events[%zu] (%s): %s", i, type, err.message);
            return RUN_DEAD;
        }
    }
    return RUN_OK;
}

/* Lists the operands not produced earlier in the message (deduplicated) in slots[0..n_ext). */
static void collect(job *j) {
    size_t n_out = 0;
    for (size_t i = 0; i < j->msg.n_events; i++) n_out += nox_message_event_n_outputs(&j->msg.events[i]);
    nox_handle *produced = calloc(n_out ? n_out : 1, sizeof *produced);
    size_t n_prod = 0;
    for (size_t i = 0; i < j->msg.n_events; i++) {
        const nox_message_event *ev = &j->msg.events[i];
        for (size_t k = 0; k < nox_message_event_n_inputs(ev); k++) {
            int inside = 0;
            for (size_t p = 0; p < n_prod && !inside; p++)
                inside = !memcmp(produced[p].bytes, ev->inputs[k].bytes, NOX_HANDLE_SIZE);
            if (!inside && !find(j, &ev->inputs[k], j->n_ext)) j->slots[j->n_ext++].h = ev->inputs[k];
        }
        for (size_t k = 0; k < nox_message_event_n_outputs(ev); k++) produced[n_prod++] = ev->outputs[k];
    }
    free(produced);
    j->n_slots = j->n_ext;
}

/*
 * A Gateway failure: the message itself is at fault (400 other than not_found,
 * 413, 431: dead-letter now) or not (missing operand, Gateway down, 5xx, 401
 * from a Runner key not yet configured, ...: retry, then dead-letter after
 * max_deliver).
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

/* The external operands' handles (slots[0..n_ext)) as one array, or NULL when out of memory. */
static nox_handle *ext_handles(const job *j) {
    nox_handle *hs = calloc(j->n_ext ? j->n_ext : 1, sizeof *hs);
    for (size_t i = 0; hs && i < j->n_ext; i++) hs[i] = j->slots[i].h;
    return hs;
}

static enum run_outcome fetch(run_state *st, job *j, char *reason, size_t cap) {
    if (j->n_ext == 0) return RUN_OK;
    nox_error err = {0};
    nox_gateway_tx tx = tx_of(&j->msg);
    nox_handle *hs = ext_handles(j);
    if (!hs) {
        snprintf(reason, cap, "out of memory");
        return RUN_RETRY;
    }
    double t0 = now_s();
    nox_gateway_fault fault = {0};
    nox_status s = nox_gateway_fetch_operands(st->gw, &tx, hs, j->n_ext, st->rsa_spki_hex, j->operands, &fault, &err);
    free(hs);
    nox_histogram_observe(st->m.stage[ST_FETCH], now_s() - t0);
    return s ? fetch_failure(s, &fault, &err, reason, cap) : RUN_OK;
}

static enum run_outcome decrypt(run_state *st, job *j, char *reason, size_t cap) {
    nox_error err = {0};
    double t0 = now_s();
    enum run_outcome r = RUN_OK;
    for (size_t i = 0; i < j->n_ext && r == RUN_OK; i++) {
        nox_gateway_operand *o = &j->operands[i];
        uint8_t type = nox_handle_type(&j->slots[i].h);
        uint8_t pt[NOX_GATEWAY_MAX_CIPHERTEXT];
        size_t len = o->ciphertext_len - NOX_ECIES_TAG_SIZE;
        if (nox_delegation_decrypt(st->rsa, o->encrypted_secret, o->encrypted_secret_len, o->iv, o->ciphertext,
                                   o->ciphertext_len, pt, &err) ||
            nox_value_from_bytes(&j->slots[i].v, type, pt, len, &err)) {
            snprintf(reason, cap, "operand %zu: %s", i, err.message);
            r = RUN_RETRY;
        }
        j->slots[i].known = r == RUN_OK;
        OPENSSL_cleanse(pt, sizeof pt);
    }
    if (j->n_ext) nox_histogram_observe(st->m.stage[ST_DECRYPT], now_s() - t0);
    return r;
}

static enum run_outcome evaluate(run_state *st, job *j, char *reason, size_t cap) {
    nox_error err = {0};
    double t0 = now_s();
    for (size_t i = 0; i < j->msg.n_events; i++) {
        const nox_message_event *ev = &j->msg.events[i];
        const unsigned n_in = nox_message_event_n_inputs(ev), n_out = nox_message_event_n_outputs(ev);
        slot *outs[NOX_MESSAGE_MAX_ARITY];
        for (size_t k = 0; k < n_out; k++) {
            outs[k] = &j->slots[j->n_slots++];
            outs[k]->h = ev->outputs[k];
        }
        if (j->op_index[i] == SIZE_MAX) { /* plaintext_to_encrypted */
            if (nox_value_from_word(&outs[0]->v, ev->tee_type, ev->value, &err)) {
                snprintf(reason, cap, "events[%zu] (plaintext_to_encrypted): %s", i, err.message);
                return RUN_DEAD;
            }
            outs[0]->known = 1;
            continue;
        }
        nox_value in[NOX_MESSAGE_MAX_ARITY], out[NOX_MESSAGE_MAX_ARITY];
        for (size_t k = 0; k < n_in; k++) {
            /* the latest earlier producer wins; else the fetched operand */
            slot *src = NULL;
            for (size_t p = j->n_slots - n_out; p-- > j->n_ext;)
                if (!memcmp(j->slots[p].h.bytes, ev->inputs[k].bytes, NOX_HANDLE_SIZE)) {
                    src = &j->slots[p];
                    break;
                }
            if (!src) src = find(j, &ev->inputs[k], j->n_ext);
            if (!src || !src->known) {
                snprintf(reason, cap, "events[%zu]: an operand is missing", i);
                return RUN_DEAD;
            }
            in[k] = src->v;
        }
        nox_status s = nox_call_eval(&j->calls[i], in, out, &err);
        OPENSSL_cleanse(in, sizeof in);
        if (s) {
            OPENSSL_cleanse(out, sizeof out);
            snprintf(reason, cap, "events[%zu] (%s): %s", i, nox_message_event_type(ev), err.message);
            return RUN_DEAD;
        }
        for (size_t k = 0; k < n_out; k++) {
            outs[k]->v = out[k];
            outs[k]->known = 1;
        }
        OPENSSL_cleanse(out, sizeof out);
        if (j->op_index[i] != SIZE_MAX && st->m.events_by_op) nox_counter_add(st->m.events_by_op[j->op_index[i]], 1);
    }
    nox_histogram_observe(st->m.stage[ST_EVAL], now_s() - t0);
    return RUN_OK;
}

static enum run_outcome encrypt(run_state *st, job *j, char *reason, size_t cap) {
    nox_error err = {0};
    size_t n = j->n_slots - j->n_ext;
    nox_ec_pubkey kms;
    if (run_kms_key(st, j->msg.chain_id, &kms, &err)) {
        snprintf(reason, cap, "%s", err.message);
        return RUN_RETRY;
    }
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        slot *s = &j->slots[j->n_ext + i];
        nox_gateway_result *r = &j->results[i];
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
            snprintf(reason, cap, "encrypting result %zu: %s", i, err.message);
            return RUN_RETRY;
        }
    }
    nox_histogram_observe(st->m.stage[ST_ENCRYPT], now_s() - t0);
    return RUN_OK;
}

static void log_conflicts(const nox_gateway_counts *counts) {
    if (counts->conflicted)
        nox_log(NOX_LOG_WARN, "%llu result(s) conflicted with stored ones", (unsigned long long)counts->conflicted);
}

static enum run_outcome publish(run_state *st, job *j, char *reason, size_t cap) {
    nox_error err = {0};
    size_t n = j->n_slots - j->n_ext;
    nox_gateway_tx tx = tx_of(&j->msg);
    nox_gateway_counts counts = {0};
    double t0 = now_s();
    nox_gateway_fault fault = {0};
    nox_status s = nox_gateway_post_results(st->gw, &tx, j->results, n, &counts, &fault, &err);
    nox_histogram_observe(st->m.stage[ST_PUBLISH], now_s() - t0);
    if (s) return gateway_failure(s, &fault, &err, reason, cap);
    log_conflicts(&counts);
    return RUN_OK;
}

/* Parses, allocates, resolves and lists the external operands of one message. */
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
    j->cap_slots = n_in + n_out;
    j->calls = calloc(j->msg.n_events, sizeof *j->calls);
    j->op_index = calloc(j->msg.n_events, sizeof *j->op_index);
    j->slots = calloc(j->cap_slots ? j->cap_slots : 1, sizeof *j->slots);
    j->operands = calloc(n_in ? n_in : 1, sizeof *j->operands);
    j->results = calloc(n_out ? n_out : 1, sizeof *j->results);
    if (!j->calls || !j->op_index || !j->slots || !j->operands || !j->results) {
        snprintf(reason, cap, "out of memory");
        return RUN_RETRY;
    }
    enum run_outcome r = resolve(st, j, reason, cap);
    if (r == RUN_OK) collect(j);
    return r;
}

/* What follows the fetch, up to the publication: decrypt, evaluate, encrypt. */
static enum run_outcome compute(run_state *st, job *j, char *reason, size_t cap) {
    enum run_outcome r = decrypt(st, j, reason, cap);
    if (r == RUN_OK) r = evaluate(st, j, reason, cap);
    if (r == RUN_OK) r = encrypt(st, j, reason, cap);
    return r;
}

enum run_outcome run_process(run_state *st, const char *data, size_t len, char *reason, size_t cap) {
    job j;
    enum run_outcome r = prepare(st, &j, data, len, reason, cap);
    if (r == RUN_OK) r = fetch(st, &j, reason, cap);
    if (r == RUN_OK) r = compute(st, &j, reason, cap);
    if (r == RUN_OK) r = publish(st, &j, reason, cap);
    job_free(&j);
    return r;
}

void run_process_batch(run_state *st, const char *const *data, const size_t *lens, size_t n,
                       enum run_outcome *outcomes, char (*reasons)[RUN_REASON_MAX]) {
    job *jobs = calloc(n, sizeof *jobs);
    nox_gateway_fetch *fetches = calloc(n, sizeof *fetches);
    size_t *of = calloc(n, sizeof *of), n_fetch = 0; /* fetches[k] is jobs[of[k]]'s */
    if (!jobs || !fetches || !of) {
        for (size_t i = 0; i < n; i++) outcomes[i] = run_process(st, data[i], lens[i], reasons[i], RUN_REASON_MAX);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        outcomes[i] = prepare(st, &jobs[i], data[i], lens[i], reasons[i], RUN_REASON_MAX);
        if (outcomes[i] != RUN_OK || jobs[i].n_ext == 0) continue;
        nox_gateway_fetch *f = &fetches[n_fetch];
        f->tx = tx_of(&jobs[i].msg);
        f->n = jobs[i].n_ext;
        f->out = jobs[i].operands;
        if (!(f->handles = ext_handles(&jobs[i]))) {
            snprintf(reasons[i], RUN_REASON_MAX, "out of memory");
            outcomes[i] = RUN_RETRY;
            continue;
        }
        of[n_fetch++] = i;
    }
    if (n_fetch) {
        nox_error err = {0};
        double t0 = now_s();
        nox_gateway_fetch_operands_batch(st->gw, fetches, n_fetch, st->rsa_spki_hex, &err);
        nox_histogram_observe(st->m.stage[ST_FETCH], now_s() - t0);
        for (size_t k = 0; k < n_fetch; k++)
            if (fetches[k].status)
                outcomes[of[k]] = fetch_failure(fetches[k].status, &fetches[k].fault, &fetches[k].error, reasons[of[k]],
                                                RUN_REASON_MAX);
    }
    for (size_t i = 0; i < n; i++)
        if (outcomes[i] == RUN_OK) outcomes[i] = compute(st, &jobs[i], reasons[i], RUN_REASON_MAX);
    /* the result sets, batched too (of[] now maps publications to jobs) */
    nox_gateway_publish *pubs = calloc(n, sizeof *pubs);
    size_t n_pub = 0;
    for (size_t i = 0; i < n; i++) {
        if (outcomes[i] != RUN_OK) continue;
        if (!pubs) {
            outcomes[i] = publish(st, &jobs[i], reasons[i], RUN_REASON_MAX);
            continue;
        }
        pubs[n_pub] = (nox_gateway_publish){.tx = tx_of(&jobs[i].msg), .results = jobs[i].results,
                                            .n = jobs[i].n_slots - jobs[i].n_ext};
        of[n_pub++] = i;
    }
    if (n_pub) {
        nox_error err = {0};
        double t0 = now_s();
        nox_gateway_post_results_batch(st->gw, pubs, n_pub, &err);
        nox_histogram_observe(st->m.stage[ST_PUBLISH], now_s() - t0);
        for (size_t k = 0; k < n_pub; k++) {
            if (pubs[k].status)
                outcomes[of[k]] = gateway_failure(pubs[k].status, &pubs[k].fault, &pubs[k].error, reasons[of[k]],
                                                  RUN_REASON_MAX);
            else log_conflicts(&pubs[k].counts);
        }
    }
    free(pubs);
out:
    for (size_t k = 0; fetches && k < n_fetch; k++) free((void *)fetches[k].handles);
    for (size_t i = 0; jobs && i < n; i++) job_free(&jobs[i]);
    free(jobs);
    free(fetches);
    free(of);
}

void run_report_failures(run_state *st, const char *data, size_t len, const char *reason) {
    nox_message msg;
    nox_error err = {0};
    if (nox_message_parse(data, len, &msg, &err)) return; /* not parseable: no handle to report */
    size_t n = 0;
    for (size_t i = 0; i < msg.n_events; i++) n += nox_message_event_n_outputs(&msg.events[i]);
    nox_gateway_failure *f = calloc(n ? n : 1, sizeof *f);
    if (!f) {
        nox_log(NOX_LOG_WARN, "cannot record the failure of %zu result handle(s): out of memory", n);
        nox_message_free(&msg);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < msg.n_events; i++)
        for (unsigned o = 0; o < nox_message_event_n_outputs(&msg.events[i]); o++) {
            f[k].handle = msg.events[i].outputs[o];
            f[k].reason = reason;
            k++;
        }
    nox_gateway_tx tx = {.chain_id = msg.chain_id, .block_number = msg.block_number};
    memcpy(tx.caller, msg.caller, NOX_ADDRESS_SIZE);
    memcpy(tx.tx_hash, msg.tx_hash, 32);
    uint64_t recorded = 0;
    nox_gateway_fault fault = {0};
    if (nox_gateway_post_failures(st->gw, &tx, f, n, &recorded, &fault, &err))
        nox_log(NOX_LOG_WARN, "could not record the failure of %zu result handle(s) at the Gateway (dead-lettering "
                "anyway): %s", n, err.message);
    else
        nox_log(NOX_LOG_INFO, "recorded the failure of %llu result handle(s) at the Gateway",
                (unsigned long long)recorded);
    free(f);
    nox_message_free(&msg);
}
