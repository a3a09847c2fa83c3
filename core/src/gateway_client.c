/*
 * The Runner's Gateway client (nox/gateway_client.h): the Runner API over the
 * shared keep-alive JSON client (json_client.h), EIP-712 authorizations signed
 * with the Runner wallet, every answer field checked before use.
 */
#include "nox/gateway_client.h"

#include "json_client.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nox/base64.h"
#include "nox/eip712.h"
#include "nox/hex.h"

enum { GW_POOL = 64, GW_MAX_RESPONSE = 4u << 20, GW_CONNECT_TIMEOUT_MS = 3000 };

struct nox_gateway_client {
    nox_json_client *http;
    nox_ec_privkey wallet;
};

nox_status nox_gateway_client_new(const char *url, const nox_ec_privkey *wallet, unsigned timeout_ms,
                                  nox_gateway_client **out, nox_error *err) {
    *out = NULL;
    nox_gateway_client *c = calloc(1, sizeof *c);
    if (!c) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    nox_json_client_options o = {.url = url,
                                 .name = "Gateway",
                                 .timeout_ms = timeout_ms ? timeout_ms : 10000,
                                 .connect_timeout_ms = GW_CONNECT_TIMEOUT_MS,
                                 .max_connections = GW_POOL,
                                 .max_response = GW_MAX_RESPONSE};
    nox_status st = nox_json_client_new(&o, &c->http, err);
    if (st) {
        free(c);
        return st;
    }
    c->wallet = *wallet;
    *out = c;
    return NOX_OK;
}

void nox_gateway_client_free(nox_gateway_client *c) {
    if (!c) return;
    nox_json_client_free(c->http);
    nox_ec_key_wipe(&c->wallet);
    free(c);
}

const char *nox_gateway_client_display_url(const nox_gateway_client *c) {
    return nox_json_client_display_url(c->http);
}

/*
 * One exchange; on NOX_OK *json is the parsed 2xx body (json_decref it). auth may be NULL.
 * HTTP 400 "not_found" (operands not stored yet) becomes NOX_ERR_NOT_FOUND.
 */
static nox_status exchange(nox_gateway_client *c, const char *what, const char *path, const char *body,
                           const char *auth, json_t **json, nox_gateway_fault *fault, nox_error *err) {
    nox_gateway_fault f;
    memset(&f, 0, sizeof f);
    nox_status st = nox_json_exchange(c->http, what, path, body, auth, json, &f, err);
    if (fault && f.http_status) *fault = f;
    if (st == NOX_ERR_REMOTE && f.http_status == 400 && strcmp(f.code, "not_found") == 0)
        st = nox_error_set(err, NOX_ERR_NOT_FOUND, "%s: %s", what, f.message);
    return st;
}

/* "Authorization: EIP712 <base64(JSON)>" over payload (stolen) signed for struct_hash. NULL when out of memory. */
static char *authorization(nox_gateway_client *c, uint64_t chain_id, json_t *payload, const uint8_t hash[32],
                           nox_error *err) {
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    char sig_hex[2 * NOX_EC_SIGNATURE_SIZE + 3];
    nox_eip712_domain d = nox_eip712_domain_runner_gateway(chain_id);
    if (nox_eip712_sign(&c->wallet, &d, hash, sig, err)) {
        json_decref(payload);
        return NULL;
    }
    json_t *doc = json_pack("{s:o, s:s}", "payload", payload, "signature", nox_hex_encode(sig, sizeof sig, sig_hex));
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        return NULL;
    }
    size_t len = strlen(text);
    char *h = malloc(NOX_BASE64_ENCODED_SIZE(len) + 32);
    if (h) {
        strcpy(h, "Authorization: EIP712 ");
        nox_base64_encode((const uint8_t *)text, len, h + strlen(h));
    } else {
        nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    free(text);
    return h;
}

static json_t *head(const nox_gateway_tx *tx, char tx_hex[67]) {
    char caller[2 * NOX_ADDRESS_SIZE + 3];
    nox_hex_encode(tx->tx_hash, 32, tx_hex);
    return json_pack("{s:I, s:I, s:s, s:s}", "chainId", (json_int_t)tx->chain_id, "blockNumber",
                     (json_int_t)tx->block_number, "caller", nox_hex_encode(tx->caller, NOX_ADDRESS_SIZE, caller),
                     "transactionHash", tx_hex);
}

static int hex_member(json_t *o, const char *name, uint8_t *out, size_t cap, size_t *len) {
    json_t *v = json_object_get(o, name);
    nox_error e = {0};
    if (!json_is_string(v)) return 0;
    return nox_hex_decode(json_string_value(v), json_string_length(v), out, cap, len, &e) == NOX_OK;
}

/* One GET /v0/compute/operands for handles[0..n), n <= NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST. */
static nox_status fetch_chunk(nox_gateway_client *c, const nox_gateway_tx *tx, const nox_handle *handles, size_t n,
                              const char *rsa_spki_hex, nox_gateway_operand *out, nox_gateway_fault *fault,
                              nox_error *err) {
    char tx_hex[67];
    char(*texts)[67] = calloc(n, sizeof *texts);
    const char **ptrs = calloc(n, sizeof *ptrs);
    json_t *payload = head(tx, tx_hex), *ops = json_array();
    nox_status st = NOX_OK;
    if (!texts || !ptrs || !payload || !ops) {
        json_decref(payload);
        json_decref(ops);
        st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        nox_hex_encode(handles[i].bytes, 32, texts[i]);
        ptrs[i] = texts[i];
        json_array_append_new(ops, json_string(texts[i]));
    }
    json_object_set_new(payload, "operands", ops);
    json_object_set_new(payload, "rsaPublicKey", json_string(rsa_spki_hex));
    uint8_t hash[32];
    nox_eip712_hash_operand_access_authorization(tx->chain_id, tx->block_number, tx->caller, tx_hex, ptrs, n,
                                                 rsa_spki_hex, hash);
    char *auth = authorization(c, tx->chain_id, payload, hash, err);
    if (!auth) {
        st = err->code ? err->code : NOX_ERR_NOMEM;
        goto done;
    }
    json_t *doc;
    st = exchange(c, "fetch operands", "/v0/compute/operands", NULL, auth, &doc, fault, err);
    free(auth);
    if (st) goto done;
    json_t *list = json_object_get(doc, "operands");
    if (!json_is_array(list) || json_array_size(list) != n) {
        st = nox_error_set(err, NOX_ERR_INVALID, "fetch operands: the answer lacks %zu operands", n);
    } else {
        for (size_t i = 0; i < n && !st; i++) {
            json_t *o = json_array_get(list, i), *h = json_object_get(o, "handle");
            size_t iv_len = 0;
            if (!json_is_string(h) || strcasecmp(json_string_value(h), texts[i]) != 0 ||
                !hex_member(o, "ciphertext", out[i].ciphertext, sizeof out[i].ciphertext, &out[i].ciphertext_len) ||
                !hex_member(o, "encryptedSharedSecret", out[i].encrypted_secret, sizeof out[i].encrypted_secret,
                            &out[i].encrypted_secret_len) ||
                !hex_member(o, "iv", out[i].iv, sizeof out[i].iv, &iv_len) || iv_len != NOX_ECIES_NONCE_SIZE ||
                out[i].ciphertext_len < NOX_ECIES_TAG_SIZE)
                st = nox_error_set(err, NOX_ERR_INVALID, "fetch operands: operands[%zu] is malformed", i);
        }
    }
    json_decref(doc);
done:
    free(texts);
    free(ptrs);
    return st;
}

nox_status nox_gateway_fetch_operands(nox_gateway_client *c, const nox_gateway_tx *tx, const nox_handle *handles,
                                      size_t n, const char *rsa_spki_hex, nox_gateway_operand *out,
                                      nox_gateway_fault *fault, nox_error *err) {
    if (n == 0) return nox_error_set(err, NOX_ERR_INVALID, "no operands to fetch");
    for (size_t at = 0; at < n; at += NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST) {
        size_t k = n - at < NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST ? n - at : NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST;
        nox_status st = fetch_chunk(c, tx, handles + at, k, rsa_spki_hex, out + at, fault, err);
        if (st) return st;
    }
    return NOX_OK;
}

/*
 * POSTs body (stolen) to path under a ResultPublishingAuthorization for tx over payload (stolen, the
 * head of tx); on NOX_OK *doc is the answer (json_decref it).
 */
static nox_status publish(nox_gateway_client *c, const nox_gateway_tx *tx, const char *tx_hex, json_t *payload,
                          json_t *body, const char *what, const char *path, json_t **doc, nox_gateway_fault *fault,
                          nox_error *err) {
    *doc = NULL;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    uint8_t hash[32];
    nox_eip712_hash_result_publishing_authorization(tx->chain_id, tx->block_number, tx->caller, tx_hex, hash);
    char *auth = text ? authorization(c, tx->chain_id, payload, hash, err) : (json_decref(payload), NULL);
    nox_status st;
    if (!text || !auth) st = err->code ? err->code : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    else st = exchange(c, what, path, text, auth, doc, fault, err);
    free(text);
    free(auth);
    return st;
}

nox_status nox_gateway_post_results(nox_gateway_client *c, const nox_gateway_tx *tx,
                                    const nox_gateway_result *results, size_t n, nox_gateway_counts *counts,
                                    nox_gateway_fault *fault, nox_error *err) {
    if (n == 0) return nox_error_set(err, NOX_ERR_INVALID, "no results to post");
    char tx_hex[67];
    json_t *payload = head(tx, tx_hex), *body = json_array();
    if (!payload || !body) {
        json_decref(payload);
        json_decref(body);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const nox_gateway_result *r = &results[i];
        char h[67], tag[67], pk[2 * NOX_ECIES_EPHEMERAL_SIZE + 3], nonce[2 * NOX_ECIES_NONCE_SIZE + 3];
        char ct[2 * NOX_GATEWAY_MAX_CIPHERTEXT + 3];
        json_array_append_new(
            body, json_pack("{s:s, s:s, s:s, s:s, s:s}", "handle", nox_hex_encode(r->handle.bytes, 32, h),
                            "handleValueTag", nox_hex_encode(r->value_tag, 32, tag), "ciphertext",
                            nox_hex_encode(r->ciphertext, r->ciphertext_len, ct), "publicKey",
                            nox_hex_encode(r->public_key, sizeof r->public_key, pk), "nonce",
                            nox_hex_encode(r->nonce, sizeof r->nonce, nonce)));
    }
    json_t *doc;
    nox_status st = publish(c, tx, tx_hex, payload, body, "post results", "/v0/compute/results", &doc, fault, err);
    if (st) return st;
    json_t *a = json_object_get(doc, "created"), *b = json_object_get(doc, "unchanged"),
           *d = json_object_get(doc, "conflicted");
    if (!json_is_integer(a) || !json_is_integer(b) || !json_is_integer(d)) {
        st = nox_error_set(err, NOX_ERR_INVALID, "post results: the answer lacks the counts");
    } else if (counts) {
        counts->created = (uint64_t)json_integer_value(a);
        counts->unchanged = (uint64_t)json_integer_value(b);
        counts->conflicted = (uint64_t)json_integer_value(d);
    }
    json_decref(doc);
    return st;
}

/* One POST /v0/compute/failures of n <= NOX_GATEWAY_MAX_FAILURES_PER_REQUEST records. */
static nox_status post_failures_chunk(nox_gateway_client *c, const nox_gateway_tx *tx,
                                      const nox_gateway_failure *failures, size_t n, uint64_t *recorded,
                                      nox_gateway_fault *fault, nox_error *err) {
    char tx_hex[67];
    json_t *payload = head(tx, tx_hex), *body = json_array();
    if (!payload || !body) {
        json_decref(payload);
        json_decref(body);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        char h[67], reason[NOX_GATEWAY_MAX_REASON + 1];
        const char *r = failures[i].reason ? failures[i].reason : "";
        size_t k = 0;
        for (; r[k] && k < NOX_GATEWAY_MAX_REASON; k++)
            reason[k] = (r[k] >= 0x20 && r[k] < 0x7f) ? r[k] : '?';
        if (k == 0) reason[k++] = '?';
        reason[k] = '\0';
        json_array_append_new(body, json_pack("{s:s, s:s}", "handle", nox_hex_encode(failures[i].handle.bytes, 32, h),
                                              "reason", reason));
    }
    json_t *doc;
    nox_status st = publish(c, tx, tx_hex, payload, body, "post failures", "/v0/compute/failures", &doc, fault, err);
    if (st) return st;
    json_t *a = json_object_get(doc, "recorded");
    if (!json_is_integer(a)) st = nox_error_set(err, NOX_ERR_INVALID, "post failures: the answer lacks recorded");
    else if (recorded) *recorded += (uint64_t)json_integer_value(a);
    json_decref(doc);
    return st;
}

nox_status nox_gateway_post_failures(nox_gateway_client *c, const nox_gateway_tx *tx,
                                     const nox_gateway_failure *failures, size_t n, uint64_t *recorded,
                                     nox_gateway_fault *fault, nox_error *err) {
    if (recorded) *recorded = 0;
    if (n == 0) return nox_error_set(err, NOX_ERR_INVALID, "no failures to post");
    for (size_t at = 0; at < n; at += NOX_GATEWAY_MAX_FAILURES_PER_REQUEST) {
        size_t k = n - at < NOX_GATEWAY_MAX_FAILURES_PER_REQUEST ? n - at : NOX_GATEWAY_MAX_FAILURES_PER_REQUEST;
        nox_status st = post_failures_chunk(c, tx, failures + at, k, recorded, fault, err);
        if (st) return st;
    }
    return NOX_OK;
}

nox_status nox_gateway_ping(nox_gateway_client *c, const char *path, nox_error *err) {
    json_t *doc = NULL;
    nox_status st = exchange(c, "health", path, NULL, NULL, &doc, NULL, err);
    json_decref(doc);
    return st;
}
