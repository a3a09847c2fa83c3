/*
 * The Runner API (spec §7.3, §7.4), authenticated by the Runner wallet's EIP-712 signature:
 *   GET  /v0/compute/operands  OperandAccessAuthorization -> {"operands": [...]} (one store read,
 *                              KMS delegations of the batch in parallel)
 *   POST /v0/compute/results   ResultPublishingAuthorization, body [{handle, handleValueTag,
 *                              ciphertext, publicKey, nonce}] -> {"created","unchanged","conflicted"}
 *   POST /v0/compute/failures  ResultPublishingAuthorization, body [{handle, reason}] -> {"recorded"}
 *                              (docs/PROTOCOL-EXTENSIONS.md)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "nox/eip712.h"
#include "nox/gateway_client.h"
#include "nox/handle.h"
#include "nox/hex.h"
#include "nox/log.h"

enum { MAX_RSA_BYTES = 2048, MAX_OPERANDS = NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST, MAX_RESULTS = 1024 };

/* The common head of both authorizations. */
typedef struct runner_auth {
    uint64_t chain_id, block_number;
    uint8_t caller[NOX_ADDRESS_SIZE];
    const char *tx_hash;
    const gw_chain *chain;
} runner_auth;

/* Reads the four fields both authorizations start with; 0 after answering 401. */
static int read_head(json_t *p, runner_auth *a, nox_http_response *resp) {
    return gw_json_uint(p, "chainId", 401, "unauthorized", resp, &a->chain_id) &&
           gw_json_uint(p, "blockNumber", 401, "unauthorized", resp, &a->block_number) &&
           gw_json_address(p, "caller", 401, "unauthorized", resp, a->caller) &&
           (a->tx_hash = gw_json_string(p, "transactionHash", 401, "unauthorized", resp)) != NULL;
}

/* 1 when the signature recovers to a configured Runner; else answers 401. Then checks the chain (400). */
static int check_runner(const gw_state *st, runner_auth *a, const uint8_t hash[32],
                        const uint8_t sig[NOX_EC_SIGNATURE_SIZE], nox_http_response *resp) {
    uint8_t signer[NOX_ADDRESS_SIZE];
    nox_error err = {0};
    nox_eip712_domain domain = nox_eip712_domain_runner_gateway(a->chain_id);
    if (nox_eip712_recover(&domain, hash, sig, NOX_EC_SIGNATURE_SIZE, signer, &err)) {
        nox_http_respond_error(resp, 401, "unauthorized", "bad signature: %s", err.message);
        return 0;
    }
    int ok = 0;
    for (size_t i = 0; i < st->cfg.n_runners && !ok; i++) ok = !memcmp(signer, st->cfg.runners[i], NOX_ADDRESS_SIZE);
    if (!ok) {
        nox_http_respond_error(resp, 401, "unauthorized", "the signature is not from a configured Runner");
        return 0;
    }
    if (!(a->chain = gw_chain_of(st, a->chain_id))) {
        nox_http_respond_error(resp, 400, "unknown_chain", "chain %llu is not served by this Gateway",
                               (unsigned long long)a->chain_id);
        return 0;
    }
    return 1;
}

/* ---- operands ------------------------------------------------------------------ */

/*
 * A missing operand with a failure record will never be stored: answers 400 operand_failed with
 * its reason and returns 1, so that the Runner fails the dependent message now instead of waiting
 * operand_wait_s (docs/PROTOCOL-EXTENSIONS.md §3). 0 when none has a record (or the lookup fails:
 * then the usual not_found, and the Runner asks again later). One query for all the missing ones.
 */
static int answer_failed_operand(gw_state *st, const char *const *texts, const nox_handle *handles,
                                 const size_t *missing, size_t n_missing, nox_http_response *resp) {
    nox_handle *absent = calloc(n_missing ? n_missing : 1, sizeof *absent);
    if (!absent) return 0;
    for (size_t k = 0; k < n_missing; k++) absent[k] = handles[missing[k]];
    size_t k = 0;
    char reason[GW_REASON_MAX + 1];
    nox_error err = {0};
    int failed = gw_store_first_failed(st->store, absent, n_missing, &k, reason, &err) == NOX_OK;
    free(absent);
    if (failed)
        nox_http_respond_error(resp, 400, "operand_failed", "operands[%zu] %s failed and will not be stored: %s",
                               missing[k], texts[missing[k]], reason);
    return failed;
}

static void answer_operands(gw_state *st, const runner_auth *a, const char *rsa_key, const char *const *texts,
                            const nox_handle *handles, size_t n, nox_http_response *resp) {
    gw_row *rows = calloc(n, sizeof *rows);
    size_t *missing = calloc(n, sizeof *missing), n_missing = 0;
    nox_kms_delegation *items = calloc(n, sizeof *items);
    uint8_t *ess = malloc(n * MAX_RSA_BYTES);
    char (*eph)[2 * GW_PUBKEY_SIZE + 3] = calloc(n, sizeof *eph);
    nox_error err = {0};
    if (!rows || !missing || !items || !ess || !eph) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    nox_status s = gw_store_read(st->store, handles, n, rows, missing, &n_missing, &err);
    if (s == NOX_ERR_NOT_FOUND && answer_failed_operand(st, texts, handles, missing, n_missing, resp)) goto out;
    if (s == NOX_ERR_NOT_FOUND) {
        char msg[1024];
        size_t used = (size_t)snprintf(msg, sizeof msg, "%zu operand(s) not found:", n_missing);
        for (size_t i = 0; i < n_missing && used < sizeof msg; i++)
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", i ? ", " : " ", texts[missing[i]]);
        nox_http_respond_error(resp, 400, "not_found", "%s", msg);
        goto out;
    }
    if (s) {
        nox_http_respond_error(resp, 500, "storage", "%s", err.message);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        nox_hex_encode(rows[i].public_key, GW_PUBKEY_SIZE, eph[i]);
        items[i].ephemeral_pub_key = eph[i];
        items[i].target_pub_key = rsa_key;
        items[i].out = ess + i * MAX_RSA_BYTES;
        items[i].cap = MAX_RSA_BYTES;
    }
    s = nox_kms_delegate_batch(st->kms, a->chain_id, &st->wallet, items, n, 0, &err);
    if (s) {
        size_t i = 0;
        while (i + 1 < n && !items[i].status) i++;
        gw_respond_kms_error(resp, s, &items[i].fault, &err);
        goto out;
    }
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        char *ct = malloc(2 * rows[i].ciphertext_len + 3), *e = malloc(2 * items[i].out_len + 3), iv[2 * GW_NONCE_SIZE + 3];
        json_t *o = ct && e ? json_pack("{s:s, s:s, s:s, s:s}", "handle", texts[i], "ciphertext",
                                        nox_hex_encode(rows[i].ciphertext, rows[i].ciphertext_len, ct),
                                        "encryptedSharedSecret", nox_hex_encode(items[i].out, items[i].out_len, e),
                                        "iv", nox_hex_encode(rows[i].nonce, GW_NONCE_SIZE, iv))
                            : NULL;
        free(ct);
        free(e);
        if (!o || json_array_append_new(list, o)) {
            json_decref(list);
            list = NULL;
        }
    }
    gw_respond_json(resp, list ? json_pack("{s:o}", "operands", list) : NULL);
out:
    if (rows) gw_rows_free(rows, n);
    free(rows);
    free(missing);
    free(items);
    free(ess);
    free(eph);
}

void gw_handle_operands(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    json_t *doc, *p;
    uint8_t sig[NOX_EC_SIGNATURE_SIZE], hash[32];
    if (!gw_auth_decode(req, resp, &doc, &p, sig)) return;
    runner_auth a;
    memset(&a, 0, sizeof a);
    const char *rsa_key = NULL, **texts = NULL;
    nox_handle *handles = NULL;
    json_t *ops = json_object_get(p, "operands");
    if (!read_head(p, &a, resp) || !(rsa_key = gw_json_string(p, "rsaPublicKey", 401, "unauthorized", resp)))
        goto out;
    if (!ops || !json_is_array(ops)) {
        nox_http_respond_error(resp, 401, "unauthorized", "operands must be an array of handle strings");
        goto out;
    }
    size_t n = json_array_size(ops);
    texts = calloc(n ? n : 1, sizeof *texts);
    handles = calloc(n ? n : 1, sizeof *handles);
    if (!texts || !handles) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(ops, i);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            nox_http_respond_error(resp, 401, "unauthorized", "operands[%zu] must be a string", i);
            goto out;
        }
        texts[i] = json_string_value(v);
    }
    nox_eip712_hash_operand_access_authorization(a.chain_id, a.block_number, a.caller, a.tx_hash, texts, n, rsa_key,
                                                 hash);
    if (!check_runner(st, &a, hash, sig, resp)) goto out;
    if (n == 0 || n > MAX_OPERANDS) {
        nox_http_respond_error(resp, 400, "bad_request", "operands must list 1 to %d handles", MAX_OPERANDS);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        nox_error err = {0};
        if (nox_handle_parse(&handles[i], texts[i], strlen(texts[i]), &err) ||
            nox_handle_validate(&handles[i], NULL, 0, &err)) {
            nox_http_respond_error(resp, 400, "bad_request", "operands[%zu]: %s", i, err.message);
            goto out;
        }
        if (nox_handle_chain_id(&handles[i]) != a.chain_id) {
            nox_http_respond_error(resp, 400, "bad_request", "operands[%zu] is not a handle of chain %llu", i,
                                   (unsigned long long)a.chain_id);
            goto out;
        }
    }
    answer_operands(st, &a, rsa_key, texts, handles, n, resp);
out:
    free(texts);
    free(handles);
    json_decref(doc);
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
    row->ciphertext = malloc(GW_CIPHERTEXT_MAX);
    if (!row->ciphertext) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        return 0;
    }
    if (len > 2 * GW_CIPHERTEXT_MAX + 2 ||
        nox_hex_decode(ct, len, row->ciphertext, GW_CIPHERTEXT_MAX, &row->ciphertext_len, &err) ||
        row->ciphertext_len < 16) {
        nox_http_respond_error(resp, 400, "bad_request", "[%zu].ciphertext must be 0x + hex of 16 to %d bytes", i,
                               GW_CIPHERTEXT_MAX);
        return 0;
    }
    row->chain_id = a->chain->chain_id;
    row->type_code = nox_handle_type(&row->handle);
    row->is_input = 0;
    return 1;
}

/*
 * What POST /v0/compute/results and /v0/compute/failures share: the ResultPublishingAuthorization of
 * a configured Runner, the transaction hash as bytes, and a body that is a JSON array of 1..max
 * items. On success *doc (which a->tx_hash points into) and the returned array are the caller's to
 * json_decref; NULL after answering 400/401.
 */
static json_t *publishing_request(gw_state *st, const nox_http_request *req, nox_http_response *resp, json_t **doc,
                                  runner_auth *a, uint8_t tx[GW_TXHASH_SIZE], size_t max, const char *items) {
    json_t *p;
    uint8_t sig[NOX_EC_SIGNATURE_SIZE], hash[32];
    nox_error err = {0};
    *doc = NULL;
    if (!gw_auth_decode(req, resp, doc, &p, sig)) return NULL;
    memset(a, 0, sizeof *a);
    if (!read_head(p, a, resp)) return NULL;
    nox_eip712_hash_result_publishing_authorization(a->chain_id, a->block_number, a->caller, a->tx_hash, hash);
    if (!check_runner(st, a, hash, sig, resp)) return NULL;
    if (nox_hex_decode_exact(a->tx_hash, strlen(a->tx_hash), tx, GW_TXHASH_SIZE, &err)) {
        nox_http_respond_error(resp, 400, "bad_request", "transactionHash must be 0x + 64 hex digits");
        return NULL;
    }
    size_t len;
    const char *text = nox_http_request_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body || !json_is_array(body) || json_array_size(body) == 0 || json_array_size(body) > max) {
        json_decref(body);
        nox_http_respond_error(resp, 400, "bad_request", "the body must be a JSON array of 1 to %zu %s", max, items);
        return NULL;
    }
    return body;
}

void gw_handle_results(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    json_t *doc;
    uint8_t tx[GW_TXHASH_SIZE];
    gw_row *rows = NULL;
    size_t n = 0;
    nox_error err = {0};
    runner_auth a;
    json_t *body = publishing_request(st, req, resp, &doc, &a, tx, MAX_RESULTS, "results");
    if (!body) goto out;
    n = json_array_size(body);
    if (!(rows = calloc(n, sizeof *rows))) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!parse_result(st, &a, json_array_get(body, i), i, &rows[i], resp)) goto out;
        memcpy(rows[i].tx_hash, tx, sizeof tx);
    }
    gw_publish_counts counts;
    if (gw_store_publish(st->store, rows, n, &counts, &err)) {
        nox_http_respond_error(resp, 500, "storage", "%s", err.message);
        goto out;
    }
    if (counts.conflicted) nox_log(NOX_LOG_WARN, "results of %s: %zu conflicted", a.tx_hash, counts.conflicted);
    gw_respond_json(resp, json_pack("{s:I, s:I, s:I}", "created", (json_int_t)counts.created, "unchanged",
                                    (json_int_t)counts.unchanged, "conflicted", (json_int_t)counts.conflicted));
out:
    for (size_t i = 0; rows && i < n; i++) free(rows[i].ciphertext);
    free(rows);
    json_decref(body);
    json_decref(doc);
}

/* ---- failures (docs/PROTOCOL-EXTENSIONS.md) ------------------------------------------------ */

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

void gw_handle_failures(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    json_t *doc;
    uint8_t tx[GW_TXHASH_SIZE];
    gw_failure *f = NULL;
    nox_error err = {0};
    runner_auth a;
    json_t *body = publishing_request(st, req, resp, &doc, &a, tx, MAX_FAILURES, "failure records");
    if (!body) goto out;
    size_t n = json_array_size(body);
    if (!(f = calloc(n, sizeof *f))) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (!parse_failure(st, &a, json_array_get(body, i), i, &f[i], resp)) goto out;
    if (gw_store_record_failures(st->store, f, n, tx, &err)) {
        nox_http_respond_error(resp, 500, "storage", "%s", err.message);
        goto out;
    }
    nox_log(NOX_LOG_INFO, "recorded %zu failed result handle(s) of %s: %s", n, a.tx_hash, f[0].reason);
    gw_respond_json(resp, json_pack("{s:I}", "recorded", (json_int_t)n));
out:
    free(f);
    json_decref(body);
    json_decref(doc);
}
