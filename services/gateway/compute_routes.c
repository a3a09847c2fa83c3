/*
 * The Runner API (spec §7.3, §7.4), authenticated by the Runner wallet's EIP-712 signature:
 *   GET  /v0/compute/operands  OperandAccessAuthorizationV2 -> {"operands": [...]} (one store read,
 *                              KMS delegations of the batch in parallel)
 *   POST /v0/compute/results   ResultPublishingAuthorizationV2, body [{handle, handleValueTag,
 *                              ciphertext, publicKey, nonce}] -> {"created","unchanged","conflicted"}
 *   POST /v0/compute/failures  FailureRecordingAuthorization, body [{handle, reason}] -> {"recorded"}
 *                              (docs/PROTOCOL-EXTENSIONS.md §3)
 *   POST /v0/compute/operands/batch  {"requests": [{payload, signature}, ...]} -> {"responses": [...]}:
 *                              several transactions' operand requests in one exchange (§4 there)
 *   POST /v0/compute/results/batch   {"transactions": [{authorization, results}, ...]} -> {"responses": [...]}
 * The authorizations are the bound forms of docs/PROTOCOL-EXTENSIONS.md §7 (a validity window, the
 * body's count and digest, a domain naming this Gateway); spec §4.4's forms only with
 * accept_legacy_authorizations: true.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "nox/eip712.h"
#include "nox/gateway_client.h"
#include "nox/handle.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/runner_auth.h"

enum { MAX_RSA_BYTES = 2048, MAX_OPERANDS = NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST, MAX_RESULTS = 1024 };

/* What a Runner authorization is for: the primary type of its bound form, the legacy one, the body it binds. */
typedef struct auth_kind {
    const char *bound_type, *legacy_type;
    const char *count_field, *digest_field; /* NULL for operand reads: no body */
    const char *items;                      /* what the body lists, in messages */
} auth_kind;

static const auth_kind OPERANDS_AUTH = {"OperandAccessAuthorizationV2", "OperandAccessAuthorization", NULL, NULL,
                                        "operands"};
static const auth_kind RESULTS_AUTH = {"ResultPublishingAuthorizationV2", "ResultPublishingAuthorization",
                                       "resultCount", "resultsDigest", "results"};
static const auth_kind FAILURES_AUTH = {"FailureRecordingAuthorization", "ResultPublishingAuthorization",
                                        "recordCount", "recordsDigest", "failure records"};

/* The head every Runner authorization starts with, and what its bound form adds. */
typedef struct runner_auth {
    uint64_t chain_id, block_number;
    uint8_t caller[NOX_ADDRESS_SIZE];
    const char *tx_hash;
    const gw_chain *chain;
    int bound;                       /* a docs/PROTOCOL-EXTENSIONS.md §7 form; 0: spec §4.4's */
    uint64_t not_before, expires_at; /* bound: the validity window, checked */
    uint64_t count;                  /* bound results / failures: the signed resultCount / recordCount */
    uint8_t digest[32];              /* ... and resultsDigest / recordsDigest */
} runner_auth;

/*
 * Reads the four fields every Runner authorization starts with and, for a bound form (a payload with
 * notBefore or expiresAt), its window, checked against the clock; the spec §4.4 form is refused unless
 * accept_legacy_authorizations. 0 after answering 401.
 */
static int read_head(gw_state *st, json_t *p, const auth_kind *k, runner_auth *a, nox_http_response *resp) {
    a->bound = json_object_get(p, "notBefore") || json_object_get(p, "expiresAt");
    if (!a->bound && !st->cfg.accept_legacy_authorizations) {
        nox_counter_add(st->legacy_refused, 1);
        nox_http_respond_error(resp, 401, "unauthorized",
                               "a %s of spec 4.4 (no notBefore/expiresAt: bound neither to time nor to the "
                               "request's content) is refused by this Gateway (accept_legacy_authorizations: false): "
                               "sign a %s (docs/PROTOCOL-EXTENSIONS.md §7)",
                               k->legacy_type, k->bound_type);
        return 0;
    }
    if (!gw_json_uint(p, "chainId", 401, "unauthorized", resp, &a->chain_id) ||
        !gw_json_uint(p, "blockNumber", 401, "unauthorized", resp, &a->block_number) ||
        !gw_json_address(p, "caller", 401, "unauthorized", resp, a->caller) ||
        !(a->tx_hash = gw_json_string(p, "transactionHash", 401, "unauthorized", resp)))
        return 0;
    if (!a->bound) return 1;
    nox_error err = {0};
    if (!gw_json_uint(p, "notBefore", 401, "unauthorized", resp, &a->not_before) ||
        !gw_json_uint(p, "expiresAt", 401, "unauthorized", resp, &a->expires_at))
        return 0;
    time_t now = time(NULL);
    if (nox_runner_auth_check_window(a->not_before, a->expires_at, now > 0 ? (uint64_t)now : 0, &err)) {
        nox_counter_add(st->window_refused, 1);
        nox_http_respond_error(resp, 401, "unauthorized", "%s: %s", k->bound_type, err.message);
        return 0;
    }
    return 1;
}

/* The scope of a bound authorization a, for nox/eip712.h. */
static nox_eip712_runner_scope scope_of(const runner_auth *a) {
    nox_eip712_runner_scope s = {.chain_id = a->chain_id, .block_number = a->block_number,
                                 .transaction_hash = a->tx_hash, .not_before = a->not_before,
                                 .expires_at = a->expires_at};
    memcpy(s.caller, a->caller, NOX_ADDRESS_SIZE);
    return s;
}

/*
 * 1 when the signature over struct hash `hash` recovers to a configured Runner — in the domain of a's
 * form: version 2 naming this Gateway for a bound one, spec §4.4's for a legacy one — else answers 401.
 * Then checks the chain (400).
 */
static int check_runner(gw_state *st, const nox_http_request *req, runner_auth *a, const uint8_t hash[32],
                        const uint8_t sig[NOX_EC_SIGNATURE_SIZE], nox_http_response *resp) {
    uint8_t signer[NOX_ADDRESS_SIZE];
    nox_error err = {0};
    nox_eip712_domain domain = a->bound ? nox_eip712_domain_runner_gateway_v2(a->chain_id, st->address)
                                        : nox_eip712_domain_runner_gateway(a->chain_id);
    if (nox_eip712_recover(&domain, hash, sig, NOX_EC_SIGNATURE_SIZE, signer, &err)) {
        nox_http_respond_error(resp, 401, "unauthorized", "bad signature: %s", err.message);
        return 0;
    }
    size_t runner = st->cfg.n_runners;
    for (size_t i = 0; i < st->cfg.n_runners && runner == st->cfg.n_runners; i++)
        if (!memcmp(signer, st->cfg.runners[i], NOX_ADDRESS_SIZE)) runner = i;
    if (runner == st->cfg.n_runners) {
        nox_http_respond_error(resp, 401, "unauthorized", "the signature is not from a configured Runner");
        return 0;
    }
    if (!gw_attestation_check(st, req, runner, resp)) return 0;
    if (!a->bound) nox_counter_add(st->legacy_accepted, 1);
    if (!(a->chain = gw_chain_of(st, a->chain_id))) {
        nox_http_respond_error(resp, 400, "unknown_chain", "chain %llu is not served by this Gateway",
                               (unsigned long long)a->chain_id);
        return 0;
    }
    return 1;
}

/*
 * A bound authorization for a body of `count` items whose content digest is `digest`: 1 when they are
 * what a Runner signed (any legacy one: 1), else 0 after answering 401 naming what differs.
 */
static int check_content(gw_state *st, const runner_auth *a, const auth_kind *k, uint64_t count,
                         const uint8_t digest[32], nox_http_response *resp) {
    if (!a->bound) return 1;
    char got[67], want[67];
    if (count != a->count) {
        nox_counter_add(st->content_refused, 1);
        nox_http_respond_error(resp, 401, "unauthorized",
                               "the body holds %llu %s, the %s signs %s %llu: %s added or dropped after signing",
                               (unsigned long long)count, k->items, k->bound_type, k->count_field,
                               (unsigned long long)a->count, k->items);
        return 0;
    }
    if (CRYPTO_memcmp(digest, a->digest, 32) != 0) {
        nox_counter_add(st->content_refused, 1);
        nox_http_respond_error(resp, 401, "unauthorized",
                               "the body's content digest %s differs from the signed %s %s: %s changed or "
                               "reordered after signing (docs/PROTOCOL-EXTENSIONS.md §7)",
                               nox_hex_encode(digest, 32, got), k->digest_field, nox_hex_encode(a->digest, 32, want),
                               k->items);
        return 0;
    }
    return 1;
}

/* ---- operands ------------------------------------------------------------------ */

/* One OperandAccessAuthorization, checked by parse_operand_request. */
typedef struct op_req {
    runner_auth a;
    const char *rsa_key;
    const char **texts; /* point into the payload */
    nox_handle *handles;
    size_t n;
} op_req;

/* Frees what parse_operand_request allocated and leaves r empty (so a second call is harmless). */
static void op_req_free(op_req *r) {
    free(r->texts);
    free(r->handles);
    memset(r, 0, sizeof *r);
}

/* Checks payload p, signed with sig, as spec §7.3 says; 1 when good, else 0 after answering 401 / 400. */
static int parse_operand_request(gw_state *st, const nox_http_request *req, json_t *p,
                                 const uint8_t sig[NOX_EC_SIGNATURE_SIZE], op_req *r, nox_http_response *resp) {
    uint8_t hash[32];
    memset(r, 0, sizeof *r);
    json_t *ops = json_object_get(p, "operands");
    if (!read_head(st, p, &OPERANDS_AUTH, &r->a, resp) ||
        !(r->rsa_key = gw_json_string(p, "rsaPublicKey", 401, "unauthorized", resp)))
        return 0;
    if (!ops || !json_is_array(ops)) {
        nox_http_respond_error(resp, 401, "unauthorized", "operands must be an array of handle strings");
        return 0;
    }
    size_t n = r->n = json_array_size(ops);
    r->texts = calloc(n ? n : 1, sizeof *r->texts);
    r->handles = calloc(n ? n : 1, sizeof *r->handles);
    if (!r->texts || !r->handles) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(ops, i);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            nox_http_respond_error(resp, 401, "unauthorized", "operands[%zu] must be a string", i);
            return 0;
        }
        r->texts[i] = json_string_value(v);
    }
    if (r->a.bound) {
        nox_eip712_runner_scope scope = scope_of(&r->a);
        nox_eip712_hash_operand_access_authorization_v2(&scope, r->texts, n, r->rsa_key, hash);
    } else {
        nox_eip712_hash_operand_access_authorization(r->a.chain_id, r->a.block_number, r->a.caller, r->a.tx_hash,
                                                     r->texts, n, r->rsa_key, hash);
    }
    if (!check_runner(st, req, &r->a, hash, sig, resp)) return 0;
    if (n == 0 || n > MAX_OPERANDS) {
        nox_http_respond_error(resp, 400, "bad_request", "operands must list 1 to %d handles", MAX_OPERANDS);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        nox_error err = {0};
        if (nox_handle_parse(&r->handles[i], r->texts[i], strlen(r->texts[i]), &err) ||
            nox_handle_validate(&r->handles[i], NULL, 0, &err)) {
            nox_http_respond_error(resp, 400, "bad_request", "operands[%zu]: %s", i, err.message);
            return 0;
        }
        if (nox_handle_chain_id(&r->handles[i]) != r->a.chain_id) {
            nox_http_respond_error(resp, 400, "bad_request", "operands[%zu] is not a handle of chain %llu", i,
                                   (unsigned long long)r->a.chain_id);
            return 0;
        }
    }
    return 1;
}

/*
 * A missing operand with a failure record will never be stored: answers 400 operand_failed for request
 * r, whose missing[0..n_missing) (positions in r) include the failed[0..n_failed) (positions in r too,
 * ascending): the message names the first (as it always has), and the extension `failed` lists every
 * one with its reason (docs/PROTOCOL-EXTENSIONS.md §3), so that the Runner fails the events that need
 * them now, instead of waiting operand_wait_s, and asks again for the others in one more request.
 */
static void answer_failed(const op_req *r, const gw_failed_handle *failed, size_t n_failed, nox_http_response *resp) {
    json_t *list = json_array(), *body = NULL;
    for (size_t k = 0; list && k < n_failed; k++)
        if (json_array_append_new(list, json_pack("{s:s, s:s}", "handle", r->texts[failed[k].index], "reason",
                                                  failed[k].reason))) {
            json_decref(list);
            list = NULL;
        }
    char msg[2 * GW_REASON_MAX];
    snprintf(msg, sizeof msg, "operands[%zu] %s failed and will not be stored: %s", failed[0].index,
             r->texts[failed[0].index], failed[0].reason);
    if (list) body = json_pack("{s:s, s:s, s:o}", "error", "operand_failed", "message", msg, "failed", list);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text) nox_http_respond_json(resp, 400, text);
    else nox_http_respond_error(resp, 500, "storage", "out of memory");
    free(text);
}

/* Answers 400 not_found for request r, whose handles missing[0..n_missing) (positions in r) are not stored. */
static void answer_not_found(const op_req *r, const size_t *missing, size_t n_missing, nox_http_response *resp) {
    char msg[1024];
    size_t used = (size_t)snprintf(msg, sizeof msg, "%zu operand(s) not found:", n_missing);
    for (size_t i = 0; i < n_missing && used < sizeof msg; i++)
        used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", i ? ", " : " ", r->texts[missing[i]]);
    nox_http_respond_error(resp, 400, "not_found", "%s", msg);
}

/*
 * {"operands": [...]} for r from its rows: each {"handle", "ciphertext", "iv", "publicKey", "item"}, item being
 * its position in the envelopes of the answer's "delegations" (docs/PROTOCOL-EXTENSIONS.md §11); NULL when out
 * of memory.
 */
static json_t *operands_json(const op_req *r, const gw_row *rows, size_t first_item) {
    json_t *list = json_array();
    for (size_t i = 0; list && i < r->n; i++) {
        char *ct = malloc(2 * rows[i].ciphertext_len + 3), iv[2 * GW_NONCE_SIZE + 3], k[2 * GW_PUBKEY_SIZE + 3];
        json_t *o = ct ? json_pack("{s:s, s:s, s:s, s:s, s:I}", "handle", r->texts[i], "ciphertext",
                                   nox_hex_encode(rows[i].ciphertext, rows[i].ciphertext_len, ct), "iv",
                                   nox_hex_encode(rows[i].nonce, GW_NONCE_SIZE, iv), "publicKey",
                                   nox_hex_encode(rows[i].public_key, GW_PUBKEY_SIZE, k), "item",
                                   (json_int_t)(first_item + i))
                       : NULL;
        free(ct);
        if (!o || json_array_append_new(list, o)) {
            json_decref(list);
            list = NULL;
        }
    }
    return list ? json_pack("{s:o}", "operands", list) : NULL;
}

/*
 * Answers every request with a missing operand: handles[] holds all the requests' handles one after
 * the other, missing[0..n_missing) the positions of the absent ones (ascending), which are rewritten
 * to positions within their request. failed[r] is set for each request answered. 0 when out of memory.
 */
static int answer_missing(gw_state *st, const op_req *reqs, size_t n_reqs, const nox_handle *handles, size_t *missing,
                          size_t n_missing, nox_http_response *const *each, int *failed) {
    nox_handle *absent = calloc(n_missing, sizeof *absent);
    gw_failed_handle *rec = calloc(n_missing, sizeof *rec);
    size_t n_rec = 0;
    nox_error err = {0};
    if (!absent || !rec) {
        free(absent);
        free(rec);
        return 0;
    }
    for (size_t m = 0; m < n_missing; m++) absent[m] = handles[missing[m]];
    if (gw_store_failed(st->store, absent, n_missing, rec, &n_rec, &err)) {
        nox_log(NOX_LOG_WARN, "cannot look up the failure records of %zu missing operand(s): %s", n_missing,
                err.message);
        n_rec = 0;
    }
    /* rec[].index are positions in missing[] (ascending); turn both into positions within each request */
    for (size_t r = 0, k = 0, m = 0, f = 0; r < n_reqs; k += reqs[r++].n) {
        size_t first = m, first_rec = f;
        while (m < n_missing && missing[m] < k + reqs[r].n) {
            while (f < n_rec && rec[f].index == m) rec[f++].index = missing[m] - k;
            missing[m++] -= k;
        }
        if (m == first) continue;
        failed[r] = 1;
        if (f > first_rec) answer_failed(&reqs[r], rec + first_rec, f - first_rec, each[r]);
        else answer_not_found(&reqs[r], missing + first, m - first, each[r]);
    }
    free(absent);
    free(rec);
    return 1;
}

/*
 * Answers the checked requests reqs[0..n_reqs) with one store read for all their handles and one call to
 * the KMS group for the partials of all of them (one target key: a batch comes from one Runner; an entry
 * with another key is answered 400): out[i] = {"operands": [...]} for request i, or NULL with its error
 * answered in each[i] (400 not_found / operand_failed, a KMS refusal, 503 kms_unavailable, 502). On
 * success *delegations holds the envelopes the operands' items point into (NULL when no request needed
 * one). 0 when the store failed or memory ran out: then only `whole` is answered (500).
 */
static int answer_operands(gw_state *st, const op_req *reqs, size_t n_reqs, nox_http_response *const *each,
                           json_t **out, nox_http_response *whole, uint64_t exclude, json_t **delegations) {
    size_t total = 0;
    *delegations = NULL;
    for (size_t r = 0; r < n_reqs; r++) total += reqs[r].n;
    nox_handle *handles = calloc(total, sizeof *handles);
    gw_row *rows = calloc(total, sizeof *rows);
    size_t *missing = calloc(total, sizeof *missing), n_missing = 0, *first_item = calloc(n_reqs, sizeof *first_item);
    const char **eph = calloc(total, sizeof *eph);
    char (*eph_text)[2 * GW_PUBKEY_SIZE + 3] = calloc(total, sizeof *eph_text);
    int *failed = calloc(n_reqs, sizeof *failed), done = 0;
    nox_error err = {0};
    if (!handles || !rows || !missing || !first_item || !eph || !eph_text || !failed) {
        nox_http_respond_error(whole, 500, "storage", "out of memory");
        goto out;
    }
    for (size_t r = 0, k = 0; r < n_reqs; k += reqs[r++].n) memcpy(handles + k, reqs[r].handles, reqs[r].n * sizeof *handles);
    nox_status s = gw_store_read(st->store, handles, total, rows, missing, &n_missing, &err);
    if (s && s != NOX_ERR_NOT_FOUND) {
        nox_http_respond_error(whole, 500, "storage", "%s", err.message);
        goto out;
    }
    /* requests with a missing operand: operand_failed when one of its missing ones has a failure record
     * (one store query for every missing handle of the batch), else not_found; each with its own list.
     * A failed lookup leaves not_found: the Runner asks again later. */
    if (n_missing && !answer_missing(st, reqs, n_reqs, handles, missing, n_missing, each, failed)) {
        nox_http_respond_error(whole, 500, "storage", "out of memory");
        goto out;
    }
    size_t n_items = 0;
    const char *target = NULL;
    for (size_t r = 0, k = 0; r < n_reqs; k += reqs[r++].n) {
        if (failed[r]) continue;
        if (target && strcmp(target, reqs[r].rsa_key) != 0) {
            failed[r] = 1;
            nox_http_respond_error(each[r], 400, "bad_request", "every request of a batch must carry the same "
                                   "rsaPublicKey (the partials are sealed to one key)");
            continue;
        }
        target = reqs[r].rsa_key;
        first_item[r] = n_items;
        for (size_t i = 0; i < reqs[r].n; i++) {
            nox_hex_encode(rows[k + i].public_key, GW_PUBKEY_SIZE, eph_text[k + i]);
            eph[n_items++] = eph_text[k + i];
        }
    }
    nox_kms_fault fault;
    /* all on one chain: the Runner's requests are batched per chain */
    s = n_items ? gw_kms_partials(st, reqs[0].a.chain_id, eph, n_items, target, exclude, delegations, &fault, &err)
                : NOX_OK;
    for (size_t r = 0, k = 0; r < n_reqs; k += reqs[r++].n) {
        if (failed[r]) continue;
        if (s) gw_respond_kms_error(each[r], s, &fault, &err);
        else if (!(out[r] = operands_json(&reqs[r], rows + k, first_item[r])))
            nox_http_respond_error(each[r], 500, "storage", "out of memory");
    }
    done = 1;
out:
    if (rows) gw_rows_free(rows, total);
    free(handles);
    free(rows);
    free(missing);
    free(first_item);
    free(eph);
    free(eph_text);
    free(failed);
    return done;
}

void gw_handle_operands(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    json_t *doc, *p, *out = NULL;
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    if (!gw_auth_decode(req, resp, &doc, &p, sig)) return;
    op_req r;
    json_t *delegations = NULL;
    if (parse_operand_request(st, req, p, sig, &r, resp) && answer_operands(st, &r, 1, &resp, &out, resp, 0, &delegations) &&
        out) {
        if (gw_add_delegations(out, st, delegations)) nox_http_respond_value(resp, out);
        else json_decref(out), nox_http_respond_error(resp, 500, "storage", "out of memory");
    }
    json_decref(delegations);
    op_req_free(&r);
    json_decref(doc);
}

/* ---- operands, batched (docs/PROTOCOL-EXTENSIONS.md §4) -------------------------------- */

enum { MAX_BATCH = NOX_GATEWAY_MAX_BATCH };

/* {"status", "error", "message"} from a detached response holding an error answer. */
static json_t *entry_error(const nox_http_response *e) {
    size_t len;
    const char *body = nox_http_response_body(e, &len);
    json_error_t jerr;
    json_t *o = body ? json_loadb(body, len, 0, &jerr) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_pack("{s:s, s:s}", "error", "storage", "message", "internal error");
    }
    if (o) json_object_set_new(o, "status", json_integer(nox_http_response_status(e)));
    return o;
}

/* Answers 401 for the whole batch: entry i's own 401 answer, its message prefixed with list[i]. */
static void whole_401(nox_http_response *resp, const char *list, size_t i, const nox_http_response *e) {
    json_t *o = entry_error(e);
    const char *code = json_string_value(json_object_get(o, "error"));
    nox_http_respond_error(resp, 401, code && !strcmp(code, GW_ATTESTATION_REQUIRED) ? code : "unauthorized",
                           "%s[%zu]: %s", list, i,
                           json_string_value(json_object_get(o, "message")) ? json_string_value(json_object_get(o, "message")) : "");
    json_decref(o);
}

/*
 * The optional "excludeNodes": [i, …] of a batch: KMS nodes whose partials the Runner found wrong (their DLEQ
 * proofs failed), not to be asked (docs/PROTOCOL-EXTENSIONS.md §11). 0 after answering 400.
 */
static int exclude_nodes(json_t *body, uint64_t *mask, nox_http_response *resp) {
    json_t *list = json_object_get(body, "excludeNodes"), *v;
    size_t i;
    *mask = 0;
    if (!list) return 1;
    if (!json_is_array(list) || json_array_size(list) > NOX_TH_MAX_NODES) goto bad;
    json_array_foreach(list, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > NOX_TH_MAX_NODES) goto bad;
        *mask |= (uint64_t)1 << (json_integer_value(v) - 1);
    }
    return 1;
bad:
    nox_http_respond_error(resp, 400, "bad_request", "excludeNodes must be an array of KMS node indices (1 to %d)",
                           NOX_TH_MAX_NODES);
    return 0;
}

void gw_handle_operands_batch(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    uint64_t exclude = 0;
    json_t *delegations = NULL;
    size_t len, n = 0, n_ok = 0, total = 0;
    const char *text = nox_http_request_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *list = json_object_get(body, "requests");
    json_t **out = NULL, *answers = NULL;
    nox_http_response **each = NULL;
    op_req *reqs = NULL;
    size_t *index = NULL; /* reqs[j] is requests[index[j]] */
    if (!json_is_object(body) || !json_is_array(list) || (n = json_array_size(list)) == 0 || n > MAX_BATCH) {
        nox_http_respond_error(resp, 400, "bad_request", "the body must be {\"requests\": [1 to %d authorizations]}",
                               MAX_BATCH);
        goto out;
    }
    out = calloc(n, sizeof *out);
    each = calloc(n, sizeof *each);
    reqs = calloc(n, sizeof *reqs);
    index = calloc(n, sizeof *index);
    if (!out || !each || !reqs || !index) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    uint64_t chain = 0;
    if (!exclude_nodes(body, &exclude, resp)) goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *p;
        uint8_t sig[NOX_EC_SIGNATURE_SIZE];
        if (!(each[i] = nox_http_response_new())) {
            nox_http_respond_error(resp, 500, "storage", "out of memory");
            goto out;
        }
        op_req *r = &reqs[n_ok];
        int ok = gw_auth_parts(json_array_get(list, i), &p, sig, each[i]) &&
                 parse_operand_request(st, req, p, sig, r, each[i]);
        if (!ok) op_req_free(r);
        if (nox_http_response_status(each[i]) == 401) { /* not from a Runner: nothing is answered */
            whole_401(resp, "requests", i, each[i]);
            goto out;
        }
        if (ok && n_ok && r->a.chain_id != chain) {
            op_req_free(r);
            nox_http_respond_error(resp, 400, "bad_request", "requests[%zu] is for chain %llu, requests[%zu] for %llu: "
                                   "one batch serves one chain", i, (unsigned long long)r->a.chain_id, index[0],
                                   (unsigned long long)chain);
            goto out;
        }
        if (ok) {
            chain = r->a.chain_id;
            total += r->n;
            index[n_ok++] = i;
        }
    }
    if (total > MAX_OPERANDS) {
        nox_http_respond_error(resp, 400, "bad_request", "a batch may hold at most %d operands in all, not %zu",
                               MAX_OPERANDS, total);
        goto out;
    }
    nox_http_response **mine = calloc(n_ok ? n_ok : 1, sizeof *mine);
    json_t **mine_out = calloc(n_ok ? n_ok : 1, sizeof *mine_out);
    int answered = mine && mine_out;
    for (size_t j = 0; answered && j < n_ok; j++) mine[j] = each[index[j]];
    if (!answered) nox_http_respond_error(resp, 500, "storage", "out of memory");
    else if (n_ok) answered = answer_operands(st, reqs, n_ok, mine, mine_out, resp, exclude, &delegations);
    for (size_t j = 0; mine_out && j < n_ok; j++) out[index[j]] = mine_out[j];
    free(mine);
    free(mine_out);
    if (!answered) goto out;
    answers = json_array();
    for (size_t i = 0; answers && i < n; i++) {
        json_t *a = out[i] ? out[i] : entry_error(each[i]);
        out[i] = NULL;
        if (!a || json_array_append_new(answers, a)) {
            json_decref(answers);
            answers = NULL;
        }
    }
    json_t *whole = answers ? json_pack("{s:o}", "responses", answers) : NULL;
    if (whole && delegations && !gw_add_delegations(whole, st, delegations)) {
        json_decref(whole);
        whole = NULL;
    }
    nox_http_respond_value(resp, whole);
out:
    for (size_t j = 0; reqs && j < n_ok; j++) op_req_free(&reqs[j]);
    for (size_t i = 0; i < n && out && each; i++) {
        json_decref(out[i]);
        nox_http_response_free(each[i]);
    }
    free(out);
    json_decref(delegations);
    free(each);
    free(reqs);
    free(index);
    json_decref(body);
}

/* ---- results ------------------------------------------------------------------- */

static int hex_field(json_t *o, size_t i, const char *name, uint8_t *out, size_t size, nox_http_response *resp) {
    const char *s = gw_json_string(o, name, 400, "bad_request", resp);
    nox_error err = {0};
    if (!s) return 0;
    if (nox_hex_decode_exact(s, strlen(s), out, size, &err)) {
        nox_http_respond_error(resp, 400, "bad_request", "[%zu].%s must be 0x + %zu hex digits: %s", i, name,
                               2 * size, err.message);
        return 0;
    }
    return 1;
}

/* Item i of a publishing body: an object whose "handle" is valid and of the authorization's chain; 0 after a 400. */
static int item_handle(const gw_state *st, const runner_auth *a, json_t *o, size_t i, nox_handle *out,
                       nox_http_response *resp) {
    if (!json_is_object(o)) {
        nox_http_respond_error(resp, 400, "bad_request", "[%zu] must be an object", i);
        return 0;
    }
    const char *h = gw_json_string(o, "handle", 400, "bad_request", resp);
    nox_error err = {0};
    if (!h) return 0;
    if (nox_handle_parse(out, h, strlen(h), &err) ||
        nox_handle_validate(out, st->cfg.chain_ids, st->cfg.n_chains, &err)) {
        nox_http_respond_error(resp, 400, "bad_request", "[%zu].handle: %s", i, err.message);
        return 0;
    }
    if (nox_handle_chain_id(out) != a->chain_id) {
        nox_http_respond_error(resp, 400, "bad_request", "[%zu].handle is not a handle of chain %llu", i,
                               (unsigned long long)a->chain_id);
        return 0;
    }
    return 1;
}

static int parse_result(const gw_state *st, const runner_auth *a, json_t *o, size_t i, gw_row *row,
                        nox_http_response *resp) {
    if (!item_handle(st, a, o, i, &row->handle, resp)) return 0;
    nox_error err = {0};
    if (!hex_field(o, i, "handleValueTag", row->value_tag, GW_TAG_SIZE, resp) ||
        !hex_field(o, i, "publicKey", row->public_key, GW_PUBKEY_SIZE, resp) ||
        !hex_field(o, i, "nonce", row->nonce, GW_NONCE_SIZE, resp))
        return 0;
    const char *ct = gw_json_string(o, "ciphertext", 400, "bad_request", resp);
    if (!ct) return 0;
    size_t len = strlen(ct);
    if (len <= 2 * GW_CIPHERTEXT_MAX + 2 && !(row->ciphertext = malloc(len / 2 + 1))) { /* >= the decoded size */
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        return 0;
    }
    if (len > 2 * GW_CIPHERTEXT_MAX + 2 ||
        nox_hex_decode(ct, len, row->ciphertext, len / 2 + 1, &row->ciphertext_len, &err) ||
        row->ciphertext_len < 16 || row->ciphertext_len > GW_CIPHERTEXT_MAX) {
        nox_http_respond_error(resp, 400, "bad_request", "[%zu].ciphertext must be 0x + hex of 16 to %d bytes", i,
                               GW_CIPHERTEXT_MAX);
        return 0;
    }
    row->chain_id = a->chain->chain_id;
    row->type_code = nox_handle_type(&row->handle);
    row->is_input = 0;
    return 1;
}

/* Frees the ciphertexts parse_results allocated, then rows. */
static void result_rows_free(gw_row *rows, size_t n) {
    for (size_t i = 0; rows && i < n; i++) free(rows[i].ciphertext);
    free(rows);
}

/*
 * The rows of the result set `list` (a JSON array) of the checked authorization a, produced by
 * transaction tx; NULL after answering 400 (or 500). result_rows_free them.
 */
static gw_row *parse_results(const gw_state *st, const runner_auth *a, const uint8_t tx[GW_TXHASH_SIZE], json_t *list,
                             nox_http_response *resp) {
    size_t n = json_array_size(list);
    gw_row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!parse_result(st, a, json_array_get(list, i), i, &rows[i], resp)) {
            result_rows_free(rows, n);
            return NULL;
        }
        memcpy(rows[i].tx_hash, tx, GW_TXHASH_SIZE);
    }
    return rows;
}

/* The parsed result set rows[0..n) is the one a (bound) authorization signs; else 0 after answering 401. */
static int check_results_content(gw_state *st, const runner_auth *a, const gw_row *rows, size_t n,
                                 nox_http_response *resp) {
    if (!a->bound) return 1;
    nox_content_digest d;
    uint8_t digest[32];
    nox_content_digest_init(&d);
    for (size_t i = 0; i < n; i++)
        nox_content_digest_add_result(&d, rows[i].handle.bytes, rows[i].value_tag, rows[i].public_key, rows[i].nonce,
                                      rows[i].ciphertext, rows[i].ciphertext_len);
    nox_content_digest_final(&d, digest);
    return check_content(st, a, &RESULTS_AUTH, d.count, digest, resp);
}

/*
 * A Runner authorization for publishing (payload p, signature sig: kind k, results or failures) by a
 * configured Runner; the tx hash as bytes. A bound one's count and digest are read here and checked
 * against the body by check_content. 0 after answering 400/401.
 */
static int check_publishing(gw_state *st, const nox_http_request *req, json_t *p, const uint8_t sig[NOX_EC_SIGNATURE_SIZE],
                            const auth_kind *k, runner_auth *a, uint8_t tx[GW_TXHASH_SIZE], nox_http_response *resp) {
    uint8_t hash[32];
    nox_error err = {0};
    memset(a, 0, sizeof *a);
    if (!read_head(st, p, k, a, resp)) return 0;
    if (a->bound) {
        const char *d;
        if (!gw_json_uint(p, k->count_field, 401, "unauthorized", resp, &a->count) ||
            !(d = gw_json_string(p, k->digest_field, 401, "unauthorized", resp)))
            return 0;
        if (nox_hex_decode_exact(d, strlen(d), a->digest, sizeof a->digest, &err)) {
            nox_http_respond_error(resp, 401, "unauthorized", "%s must be 0x + 64 hex digits", k->digest_field);
            return 0;
        }
        nox_eip712_runner_scope scope = scope_of(a);
        if (k == &RESULTS_AUTH) nox_eip712_hash_result_publishing_authorization_v2(&scope, a->count, a->digest, hash);
        else nox_eip712_hash_failure_recording_authorization(&scope, a->count, a->digest, hash);
    } else {
        nox_eip712_hash_result_publishing_authorization(a->chain_id, a->block_number, a->caller, a->tx_hash, hash);
    }
    if (!check_runner(st, req, a, hash, sig, resp)) return 0;
    if (nox_hex_decode_exact(a->tx_hash, strlen(a->tx_hash), tx, GW_TXHASH_SIZE, &err)) {
        nox_http_respond_error(resp, 400, "bad_request", "transactionHash must be 0x + 64 hex digits");
        return 0;
    }
    return 1;
}

/*
 * What POST /v0/compute/results and /v0/compute/failures share: the authorization (kind k) of a
 * configured Runner, the transaction hash as bytes, and a body that is a JSON array of 1..max items.
 * On success *doc (which a->tx_hash points into) and the returned array are the caller's to
 * json_decref; NULL after answering 400/401.
 */
static json_t *publishing_request(gw_state *st, const nox_http_request *req, nox_http_response *resp, json_t **doc,
                                  const auth_kind *k, runner_auth *a, uint8_t tx[GW_TXHASH_SIZE], size_t max) {
    json_t *p;
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    *doc = NULL;
    if (!gw_auth_decode(req, resp, doc, &p, sig) || !check_publishing(st, req, p, sig, k, a, tx, resp)) return NULL;
    size_t len;
    const char *text = nox_http_request_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body || !json_is_array(body) || json_array_size(body) == 0 || json_array_size(body) > max) {
        json_decref(body);
        nox_http_respond_error(resp, 400, "bad_request", "the body must be a JSON array of 1 to %zu %s", max,
                               k->items);
        return NULL;
    }
    return body;
}

/* Stores the checked result set rows[0..n) of a (one database transaction); the counts as JSON, or NULL after a 500. */
static json_t *store_results(gw_state *st, const runner_auth *a, gw_row *rows, size_t n, nox_http_response *resp) {
    gw_publish_counts counts;
    nox_error err = {0};
    if (gw_store_publish(st->store, rows, n, &counts, &err)) {
        nox_http_respond_error(resp, 500, "storage", "%s", err.message);
        return NULL;
    }
    if (counts.conflicted) nox_log(NOX_LOG_WARN, "results of %s: %zu conflicted", a->tx_hash, counts.conflicted);
    json_t *out = json_pack("{s:I, s:I, s:I}", "created", (json_int_t)counts.created, "unchanged",
                            (json_int_t)counts.unchanged, "conflicted", (json_int_t)counts.conflicted);
    if (!out) nox_http_respond_error(resp, 500, "storage", "out of memory");
    return out;
}

void gw_handle_results(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    json_t *doc, *out;
    uint8_t tx[GW_TXHASH_SIZE];
    runner_auth a;
    json_t *body = publishing_request(st, req, resp, &doc, &RESULTS_AUTH, &a, tx, MAX_RESULTS);
    size_t n = json_array_size(body);
    gw_row *rows = body ? parse_results(st, &a, tx, body, resp) : NULL;
    if (rows && check_results_content(st, &a, rows, n, resp) && (out = store_results(st, &a, rows, n, resp)))
        nox_http_respond_value(resp, out);
    result_rows_free(rows, n);
    json_decref(body);
    json_decref(doc);
}

/* One transaction of a results batch, through the three passes of gw_handle_results_batch. */
typedef struct batch_set {
    runner_auth a;
    uint8_t tx[GW_TXHASH_SIZE];
    json_t *list; /* its "results" (borrowed from the body) */
    gw_row *rows; /* parsed */
    size_t n;
} batch_set;

/*
 * POST /v0/compute/results/batch (docs/PROTOCOL-EXTENSIONS.md §4): {"transactions": [{"authorization":
 * {payload, signature}, "results": [...]}, ...]}; each transaction's set stored in its own database
 * transaction and answered on its own ({"created", ...} or {"status", "error", "message"}). Every
 * authorization and every bound one's body is checked before anything is stored: one that fails
 * (not from a Runner, its window, its body not the one signed) is a 401 for the whole batch.
 */
void gw_handle_results_batch(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    size_t len, n = 0, total = 0;
    const char *text = nox_http_request_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *list = json_object_get(body, "transactions");
    json_t *answers = NULL;
    batch_set *sets = NULL;
    nox_http_response *e = nox_http_response_new();
    if (!e) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    if (!json_is_object(body) || !json_is_array(list) || (n = json_array_size(list)) == 0 || n > MAX_BATCH) {
        nox_http_respond_error(resp, 400, "bad_request",
                               "the body must be {\"transactions\": [1 to %d {authorization, results}]}", MAX_BATCH);
        goto out;
    }
    sets = calloc(n, sizeof *sets);
    if (!sets || !(answers = json_array())) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    /* 1. every authorization: with one not from a Runner, nothing is stored; a refused one answers for its tx */
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(list, i), *p, *a = json_null();
        uint8_t sig[NOX_EC_SIGNATURE_SIZE];
        sets[i].list = json_object_get(t, "results");
        if (!gw_auth_parts(json_object_get(t, "authorization"), &p, sig, e) ||
            !check_publishing(st, req, p, sig, &RESULTS_AUTH, &sets[i].a, sets[i].tx, e)) {
            if (nox_http_response_status(e) == 401) {
                whole_401(resp, "transactions", i, e);
                goto out;
            }
            a = entry_error(e);
        } else if (!json_is_array(sets[i].list) || json_array_size(sets[i].list) == 0) {
            nox_http_respond_error(e, 400, "bad_request", "results must be a JSON array of 1 to %d results",
                                   MAX_RESULTS);
            a = entry_error(e);
        }
        if (!a || json_array_append_new(answers, a)) {
            nox_http_respond_error(resp, 500, "storage", "out of memory");
            goto out;
        }
        total += json_array_size(sets[i].list);
    }
    if (total > MAX_RESULTS) {
        nox_http_respond_error(resp, 400, "bad_request", "a batch may hold at most %d results in all, not %zu",
                               MAX_RESULTS, total);
        goto out;
    }
    /* 2. every set parsed (a bad one answers 400 for its tx) and held to what its authorization signs */
    for (size_t i = 0; i < n; i++) {
        if (!json_is_null(json_array_get(answers, i))) continue; /* refused above */
        nox_http_response_free(e);
        if (!(e = nox_http_response_new())) {
            nox_http_respond_error(resp, 500, "storage", "out of memory");
            goto out;
        }
        sets[i].n = json_array_size(sets[i].list);
        sets[i].rows = parse_results(st, &sets[i].a, sets[i].tx, sets[i].list, e);
        if (sets[i].rows && !check_results_content(st, &sets[i].a, sets[i].rows, sets[i].n, e)) {
            whole_401(resp, "transactions", i, e);
            goto out;
        }
        json_t *a = sets[i].rows ? NULL : entry_error(e);
        if (!sets[i].rows && (!a || json_array_set_new(answers, i, a))) {
            nox_http_respond_error(resp, 500, "storage", "out of memory");
            goto out;
        }
    }
    /* 3. each checked set stored in its own database transaction */
    for (size_t i = 0; i < n; i++) {
        if (!sets[i].rows) continue;
        nox_http_response_free(e);
        json_t *a = (e = nox_http_response_new()) != NULL ? store_results(st, &sets[i].a, sets[i].rows, sets[i].n, e)
                                                          : NULL;
        if (!a && e) a = entry_error(e);
        if (!a || json_array_set_new(answers, i, a)) {
            nox_http_respond_error(resp, 500, "storage", "out of memory");
            goto out;
        }
    }
    nox_http_respond_value(resp, json_pack("{s:O}", "responses", answers));
out:
    nox_http_response_free(e);
    json_decref(answers);
    for (size_t i = 0; sets && i < n; i++) result_rows_free(sets[i].rows, sets[i].n);
    free(sets);
    json_decref(body);
}

/* ---- failures (docs/PROTOCOL-EXTENSIONS.md §3) ------------------------------------------------ */

enum { MAX_FAILURES = NOX_GATEWAY_MAX_FAILURES_PER_REQUEST };

static int parse_failure(const gw_state *st, const runner_auth *a, json_t *o, size_t i, gw_failure *f,
                         nox_http_response *resp) {
    if (!item_handle(st, a, o, i, &f->handle, resp)) return 0;
    const char *r = gw_json_string(o, "reason", 400, "bad_request", resp);
    if (!r) return 0;
    size_t len = strlen(r);
    int printable = 1;
    for (size_t k = 0; k < len && printable; k++) printable = r[k] >= 0x20 && r[k] < 0x7f;
    if (len < 1 || len > GW_REASON_MAX || !printable) {
        nox_http_respond_error(resp, 400, "bad_request", "[%zu].reason must be 1 to %d characters of printable ASCII",
                               i, GW_REASON_MAX);
        return 0;
    }
    f->reason = r;
    return 1;
}

/* The parsed records f[0..n) are the ones a (bound) authorization signs; else 0 after answering 401. */
static int check_failures_content(gw_state *st, const runner_auth *a, const gw_failure *f, size_t n,
                                  nox_http_response *resp) {
    if (!a->bound) return 1;
    nox_content_digest d;
    uint8_t digest[32];
    nox_content_digest_init(&d);
    for (size_t i = 0; i < n; i++) nox_content_digest_add_failure(&d, f[i].handle.bytes, f[i].reason, strlen(f[i].reason));
    nox_content_digest_final(&d, digest);
    return check_content(st, a, &FAILURES_AUTH, d.count, digest, resp);
}

void gw_handle_failures(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    json_t *doc;
    uint8_t tx[GW_TXHASH_SIZE];
    gw_failure *f = NULL;
    nox_error err = {0};
    runner_auth a;
    json_t *body = publishing_request(st, req, resp, &doc, &FAILURES_AUTH, &a, tx, MAX_FAILURES);
    if (!body) goto out;
    size_t n = json_array_size(body);
    if (!(f = calloc(n, sizeof *f))) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (!parse_failure(st, &a, json_array_get(body, i), i, &f[i], resp)) goto out;
    if (!check_failures_content(st, &a, f, n, resp)) goto out;
    if (gw_store_record_failures(st->store, f, n, tx, &err)) {
        nox_http_respond_error(resp, 500, "storage", "%s", err.message);
        goto out;
    }
    nox_log(NOX_LOG_INFO, "recorded %zu failed result handle(s) of %s: %s", n, a.tx_hash, f[0].reason);
    nox_http_respond_value(resp, json_pack("{s:I}", "recorded", (json_int_t)n));
out:
    free(f);
    json_decref(body);
    json_decref(doc);
}
