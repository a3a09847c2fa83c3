/*
 * The Gateway's client of a threshold KMS (nox/kms_group.h): fan-out to the group's nodes, t envelopes back,
 * per-node health with back-off, hedging, metrics.
 */
#include "nox/kms_group.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nox/clock.h"
#include "nox/eip712.h"
#include "nox/log.h"

enum { BACKOFF_MIN_MS = 250, BACKOFF_MAX_MS = 5000, REASON_SIZE = 240 };
/* A node not asked for this long is measured again: asked first, as a node with no latency yet. */
enum { REMEASURE_MS = 1000 };

typedef struct node {
    unsigned index;
    nox_kms_client *client;
    pthread_mutex_t mu; /* guards the health fields */
    unsigned failures;  /* consecutive */
    uint64_t down_until_ms;
    double ewma_ms;     /* latency of answered requests; 0 = none yet */
    uint64_t asked_ms;  /* when it was last asked (now_ms) */
    char last_error[REASON_SIZE];
    nox_gauge *up;
    nox_counter *requests, *failed;
    nox_histogram *seconds;
} node;

struct nox_kms_group_client {
    nox_th_group group;
    size_t n;
    node nodes[NOX_TH_MAX_NODES];
    unsigned hedge_ms, timeout_ms;
    pthread_mutex_t mu; /* guards inflight */
    pthread_cond_t idle;
    size_t inflight;    /* node threads running */
};

/* ---- the client --------------------------------------------------------------------------------------------- */

nox_status nox_kms_group_new(const nox_kms_group_options *o, nox_kms_group_client **out, nox_error *err) {
    *out = NULL;
    nox_status st = nox_th_group_check(o->group, err);
    if (st) return st;
    if (o->n_nodes < o->group->threshold || o->n_nodes > o->group->nodes)
        return nox_error_set(err, NOX_ERR_INVALID, "KMS group: %zu node URLs for a %u-of-%u group (at least %u)",
                             o->n_nodes, o->group->threshold, o->group->nodes, o->group->threshold);
    nox_kms_group_client *c = calloc(1, sizeof *c);
    if (!c) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    c->group = *o->group;
    c->hedge_ms = o->hedge_ms ? o->hedge_ms : 250;
    c->timeout_ms = o->client.timeout_ms ? o->client.timeout_ms : 10000;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->idle, NULL);
    for (size_t i = 0; i < o->n_nodes && !st; i++) {
        unsigned idx = o->nodes[i].index;
        if (idx < 1 || idx > c->group.nodes) {
            st = nox_error_set(err, NOX_ERR_INVALID, "KMS group: node %u is not in the %u-node group", idx, c->group.nodes);
            break;
        }
        for (size_t j = 0; j < i; j++)
            if (c->nodes[j].index == idx) st = nox_error_set(err, NOX_ERR_INVALID, "KMS group: node %u is listed twice", idx);
        if (st) break;
        nox_kms_options ko = o->client;
        ko.url = o->nodes[i].url;
        node *nd = &c->nodes[i];
        nd->index = idx;
        pthread_mutex_init(&nd->mu, NULL);
        c->n = i + 1;
        if ((st = nox_kms_client_new(&ko, &nd->client, err))) nox_error_prefix(err, "KMS node %u: ", idx);
    }
    if (st) {
        nox_kms_group_free(c);
        return st;
    }
    *out = c;
    return NOX_OK;
}

void nox_kms_group_free(nox_kms_group_client *c) {
    if (!c) return;
    pthread_mutex_lock(&c->mu); /* late answers still hold the client */
    while (c->inflight) pthread_cond_wait(&c->idle, &c->mu);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        nox_kms_client_free(c->nodes[i].client);
        pthread_mutex_destroy(&c->nodes[i].mu);
    }
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const nox_th_group *nox_kms_group_group(const nox_kms_group_client *c) { return &c->group; }

nox_kms_client *nox_kms_group_node_client(nox_kms_group_client *c, unsigned index) {
    for (size_t i = 0; i < c->n; i++)
        if (c->nodes[i].index == index) return c->nodes[i].client;
    return NULL;
}

static const double node_buckets[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

nox_status nox_kms_group_metrics(nox_kms_group_client *c, nox_http_server *server, const char *prefix, nox_error *err) {
    char labels[NOX_TH_MAX_NODES][12], name[128];
    const char *values[NOX_TH_MAX_NODES];
    nox_gauge *up[NOX_TH_MAX_NODES];
    nox_counter *requests[NOX_TH_MAX_NODES], *failed[NOX_TH_MAX_NODES];
    nox_histogram *seconds[NOX_TH_MAX_NODES];
    for (size_t i = 0; i < c->n; i++) {
        snprintf(labels[i], sizeof labels[i], "%u", c->nodes[i].index);
        values[i] = labels[i];
    }
    snprintf(name, sizeof name, "%s_kms_node_up", prefix);
    nox_status st = nox_http_gauges(server, name, "1 while the KMS node answers, 0 while it is backed off", "node",
                                    values, c->n, up, err);
    snprintf(name, sizeof name, "%s_kms_node_requests_total", prefix);
    if (!st) st = nox_http_counters(server, name, "Partial requests sent to the KMS node", "node", values, c->n,
                                    requests, err);
    snprintf(name, sizeof name, "%s_kms_node_failures_total", prefix);
    if (!st) st = nox_http_counters(server, name, "Partial requests to the KMS node that failed (transport, 5xx, "
                                    "a wrong answer)", "node", values, c->n, failed, err);
    snprintf(name, sizeof name, "%s_kms_node_seconds", prefix);
    if (!st) st = nox_http_histograms(server, name, "Time the KMS node took to answer a partial request", "node",
                                      values, c->n, node_buckets, sizeof node_buckets / sizeof node_buckets[0],
                                      seconds, err);
    if (st) return st;
    for (size_t i = 0; i < c->n; i++) {
        node *nd = &c->nodes[i];
        nd->up = up[i], nd->requests = requests[i], nd->failed = failed[i], nd->seconds = seconds[i];
        nox_gauge_set(nd->up, 1);
    }
    return NOX_OK;
}

void nox_kms_group_answer_free(nox_kms_group_answer *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) nox_sealed_partials_free(&a->sealed[i]);
    a->n = 0;
}

/* ---- health ------------------------------------------------------------------------------------------------- */

static void node_succeeded(node *nd, double ms) {
    pthread_mutex_lock(&nd->mu);
    if (nd->failures) nox_log(NOX_LOG_INFO, "KMS node %u (%s) answers again", nd->index, nox_kms_client_display_url(nd->client));
    nd->failures = 0;
    nd->down_until_ms = 0;
    nd->ewma_ms = nd->ewma_ms > 0 ? 0.8 * nd->ewma_ms + 0.2 * ms : ms;
    pthread_mutex_unlock(&nd->mu);
    nox_gauge_set(nd->up, 1);
    nox_histogram_observe(nd->seconds, ms / 1000.0);
}

static void node_failed(node *nd, const char *why) {
    pthread_mutex_lock(&nd->mu);
    unsigned f = ++nd->failures;
    uint64_t backoff = (uint64_t)BACKOFF_MIN_MS << (f - 1 < 5 ? f - 1 : 5);
    if (backoff > BACKOFF_MAX_MS) backoff = BACKOFF_MAX_MS;
    nd->down_until_ms = nox_clock_ms() + backoff;
    snprintf(nd->last_error, sizeof nd->last_error, "%.230s", why);
    pthread_mutex_unlock(&nd->mu);
    if (f == 1) nox_log(NOX_LOG_WARN, "KMS node %u (%s) failed, backing off: %s", nd->index,
                        nox_kms_client_display_url(nd->client), why);
    nox_gauge_set(nd->up, 0);
    nox_counter_add(nd->failed, 1);
}

/* 1 when the node may be asked now; else 0 with why in `why`. */
static int node_usable(node *nd, uint64_t now, char *why, size_t cap) {
    pthread_mutex_lock(&nd->mu);
    int ok = now >= nd->down_until_ms;
    if (!ok)
        snprintf(why, cap, "backing off for %llu ms after %u failure(s); last: %s",
                 (unsigned long long)(nd->down_until_ms - now), nd->failures, nd->last_error);
    pthread_mutex_unlock(&nd->mu);
    return ok;
}

/* Its latency EWMA, or 0 (ask it first) when it was not asked for REMEASURE_MS: else a node outside the t fastest
 * would never be asked again, neither seen dead (nox_gateway_kms_node_up) nor its partials ever checked. */
static double node_latency(node *nd, uint64_t now) {
    pthread_mutex_lock(&nd->mu);
    double ms = now >= nd->asked_ms + REMEASURE_MS ? 0 : nd->ewma_ms;
    pthread_mutex_unlock(&nd->mu);
    return ms;
}

/* ---- one call ------------------------------------------------------------------------------------------------ */

typedef struct call {
    nox_kms_group_client *c;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    uint64_t chain_id;
    size_t m;
    char *auth, *body;
    unsigned t;
    size_t got;
    nox_sealed_partials env[NOX_TH_MAX_NODES];
    size_t running;
    int finished;                          /* the caller has returned: later envelopes are dropped */
    int refused;                           /* a node refused the request itself (4xx) */
    nox_kms_fault fault;
    char refusal[REASON_SIZE];
    char why[NOX_TH_MAX_NODES][REASON_SIZE]; /* per node slot: why it did not answer */
    int answered[NOX_TH_MAX_NODES];          /* per node slot */
} call;

typedef struct ask {
    call *call;
    node *node;
    size_t slot;
} ask;

static void call_release(call *k) { /* with k->mu held; unlocks */
    int last = --k->refs == 0;
    pthread_mutex_unlock(&k->mu);
    if (!last) return;
    for (size_t i = 0; i < k->got; i++) nox_sealed_partials_free(&k->env[i]);
    free(k->auth);
    free(k->body);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static void *ask_node(void *arg) {
    ask *a = arg;
    call *k = a->call;
    node *nd = a->node;
    nox_kms_group_client *c = k->c;
    nox_sealed_partials env;
    nox_kms_fault fault = {0};
    nox_error e = {0};
    uint64_t t0 = nox_clock_ms();
    nox_counter_add(nd->requests, 1);
    nox_status st = nox_kms_partials(nd->client, k->chain_id, k->auth, k->body, nd->index, &env, &fault, &e);
    if (!st && env.ciphertext_len != NOX_DELEGATION_SEALED_SIZE(k->m)) {
        st = nox_error_set(&e, NOX_ERR_INVALID, "its envelope holds %zu bytes, not the %zu of %zu items",
                           env.ciphertext_len, NOX_DELEGATION_SEALED_SIZE(k->m), k->m);
        nox_sealed_partials_free(&env);
    }
    int request_refused = st == NOX_ERR_REMOTE && fault.http_status >= 400 && fault.http_status < 500 &&
                          fault.http_status != 408 && fault.http_status != 429;
    if (!st) node_succeeded(nd, (double)(nox_clock_ms() - t0));
    else if (!request_refused) node_failed(nd, e.message);
    pthread_mutex_lock(&k->mu);
    k->running--;
    if (!st) k->answered[a->slot] = 1;
    if (!st && !k->finished && k->got < k->t) {
        k->env[k->got++] = env;
    } else if (!st) {
        nox_sealed_partials_free(&env);
    } else if (request_refused && !k->refused) {
        k->refused = 1;
        k->fault = fault;
        snprintf(k->refusal, sizeof k->refusal, "KMS node %u refused the request: %.200s", nd->index, e.message);
    } else {
        snprintf(k->why[a->slot], sizeof k->why[a->slot], "%.230s", e.message);
    }
    pthread_cond_broadcast(&k->cv);
    call_release(k);
    free(a);
    pthread_mutex_lock(&c->mu);
    if (--c->inflight == 0) pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Starts asking node slot `slot` (k->mu held). 0 when the thread cannot start (the slot then says why). */
static int start_ask(call *k, size_t slot) {
    nox_kms_group_client *c = k->c;
    ask *a = malloc(sizeof *a);
    pthread_attr_t attr;
    pthread_t th;
    int ok = a != NULL && pthread_attr_init(&attr) == 0;
    if (ok) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        *a = (ask){.call = k, .node = &c->nodes[slot], .slot = slot};
        pthread_mutex_lock(&a->node->mu);
        a->node->asked_ms = nox_clock_ms();
        pthread_mutex_unlock(&a->node->mu);
        k->refs++;
        k->running++;
        pthread_mutex_lock(&c->mu);
        c->inflight++;
        pthread_mutex_unlock(&c->mu);
        ok = pthread_create(&th, &attr, ask_node, a) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) {
            k->refs--;
            k->running--;
            pthread_mutex_lock(&c->mu);
            c->inflight--;
            pthread_mutex_unlock(&c->mu);
        }
    }
    if (!ok) {
        free(a);
        snprintf(k->why[slot], sizeof k->why[slot], "no thread to ask it");
    }
    return ok;
}

/* Builds the request body and its authorization (one signature for every node). */
static nox_status prepare(call *k, const nox_ec_privkey *gateway_key, const char *const *eph, size_t m,
                          const char *target, nox_error *err) {
    json_t *list = json_array(), *req = NULL;
    for (size_t i = 0; list && i < m; i++)
        if (json_array_append_new(list, json_string(eph[i]))) {
            json_decref(list);
            list = NULL;
        }
    if (list && (req = json_pack("{s:o, s:s}", "ephemeralPubKeys", list, "targetPubKey", target)))
        k->body = json_dumps(req, JSON_COMPACT);
    else if (list && !req)
        json_decref(list);
    json_decref(req);
    if (!k->body)
        return nox_error_set(err, NOX_ERR_INVALID, "KMS partials: cannot build the request (out of memory, or keys "
                             "that are not UTF-8 text)");
    uint8_t hash[NOX_EIP712_HASH_SIZE];
    nox_eip712_hash_partial_delegation_authorization(eph, m, target, hash);
    if (!(k->auth = malloc(192))) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    return nox_kms_bearer(gateway_key, k->chain_id, hash, k->auth, 192, err);
}

/* NOX_ERR_IO naming every node that did not answer (and why) when fewer than t did. Each node gets an equal share
 * of the error message (NOX_ERROR_MAX), its reason cut to fit, so that no node goes unnamed. */
static nox_status missing_nodes(nox_kms_group_client *c, call *k, const int *asked, uint64_t exclude,
                                const char (*skipped)[REASON_SIZE], nox_error *err) {
    const char *whys[NOX_TH_MAX_NODES + 1] = {NULL};
    size_t slots[NOX_TH_MAX_NODES + 1], n_missing = 0;
    for (unsigned idx = 1; idx <= c->group.nodes; idx++) {
        size_t slot = c->n;
        for (size_t i = 0; i < c->n; i++)
            if (c->nodes[i].index == idx) slot = i;
        const char *why;
        if (slot == c->n) why = "not configured (kms_nodes)";
        else if (exclude & ((uint64_t)1 << (idx - 1))) why = "excluded by the requester (its partials were wrong)";
        else if (!asked[slot] && !skipped[slot][0]) continue; /* usable, not asked: fewer than t nodes were */
        else if (!asked[slot]) why = skipped[slot];
        else if (k->why[slot][0]) why = k->why[slot];
        else if (k->answered[slot]) continue;
        else why = "no answer in time";
        whys[idx] = why;
        slots[idx] = slot;
        n_missing++;
    }
    char text[NOX_ERROR_MAX], entry[NOX_ERROR_MAX];
    size_t at = (size_t)snprintf(text, sizeof text, "KMS: %u of %u nodes needed, %zu answered; missing:",
                                 k->t, c->group.nodes, k->got);
    size_t share = n_missing && at < sizeof text ? (sizeof text - 1 - at) / n_missing : 0; /* with its ';' */
    for (unsigned idx = 1; idx <= c->group.nodes && share >= 2; idx++) {
        if (!whys[idx]) continue;
        size_t slot = slots[idx];
        snprintf(entry, share, " node %u%s%s%s: %s", idx, slot < c->n ? " (" : "",
                 slot < c->n ? nox_kms_client_display_url(c->nodes[slot].client) : "", slot < c->n ? ")" : "",
                 whys[idx]);
        at += (size_t)snprintf(text + at, sizeof text - at, "%s;", entry);
    }
    return nox_error_set(err, NOX_ERR_IO, "%s", text);
}

nox_status nox_kms_group_partials(nox_kms_group_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                  const char *const *eph, size_t m, const char *target, uint64_t exclude,
                                  nox_kms_group_answer *out, nox_kms_fault *fault, nox_error *err) {
    memset(out, 0, sizeof *out);
    if (m == 0 || m > NOX_DELEGATION_MAX_ITEMS || !target || !gateway_key)
        return nox_error_set(err, NOX_ERR_INVALID, "KMS partials: 1 to %d keys and a target are needed",
                             NOX_DELEGATION_MAX_ITEMS);
    call *k = calloc(1, sizeof *k);
    if (!k) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    *k = (call){.c = c, .refs = 1, .chain_id = chain_id, .m = m, .t = c->group.threshold};
    pthread_mutex_init(&k->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    nox_status st = prepare(k, gateway_key, eph, m, target, err);
    if (st) {
        pthread_mutex_lock(&k->mu);
        call_release(k);
        return st;
    }
    /* The usable nodes, fastest first. */
    size_t order[NOX_TH_MAX_NODES], usable = 0;
    int asked[NOX_TH_MAX_NODES] = {0};
    char skipped[NOX_TH_MAX_NODES][REASON_SIZE];
    uint64_t now = nox_clock_ms();
    for (size_t i = 0; i < c->n; i++) {
        skipped[i][0] = 0;
        if (exclude & ((uint64_t)1 << (c->nodes[i].index - 1))) continue;
        if (!node_usable(&c->nodes[i], now, skipped[i], REASON_SIZE)) continue;
        size_t j = usable++;
        double ms = node_latency(&c->nodes[i], now);
        for (; j > 0 && node_latency(&c->nodes[order[j - 1]], now) > ms; j--) order[j] = order[j - 1];
        order[j] = i;
    }
    pthread_mutex_lock(&k->mu);
    size_t next = usable < k->t ? usable : 0; /* fewer than t usable: fail at once, asking none (in vain) */
    int hedged = 0;
    struct timespec hedge_at = nox_clock_after_ms(CLOCK_MONOTONIC, c->hedge_ms),
                    give_up_at = nox_clock_after_ms(CLOCK_MONOTONIC, c->timeout_ms + 1000);
    for (;;) {
        if (k->got >= k->t || k->refused) break;
        /* keep t requests in flight while nodes remain; after the hedge delay, ask them all */
        while (next < usable && (hedged || k->running + k->got < k->t)) {
            asked[order[next]] = 1;
            start_ask(k, order[next++]);
        }
        if (k->running == 0) break; /* nothing more to wait for */
        int rc = pthread_cond_timedwait(&k->cv, &k->mu, hedged ? &give_up_at : &hedge_at);
        if (rc && hedged) break;
        if (rc) hedged = 1;
    }
    k->finished = 1;
    if (k->got >= k->t) {
        out->n = k->got;
        memcpy(out->sealed, k->env, k->got * sizeof k->env[0]);
        k->got = 0; /* moved */
        st = NOX_OK;
    } else if (k->refused) {
        if (fault) *fault = k->fault;
        st = nox_error_set(err, NOX_ERR_REMOTE, "%s", k->refusal);
    } else {
        st = missing_nodes(c, k, asked, exclude, (const char(*)[REASON_SIZE])skipped, err);
    }
    call_release(k);
    return st;
}
