/*
 * The Runner's Gateway client (nox/gateway_client.h): a keep-alive pool of
 * libcurl handles (as kms_client.c), EIP-712 authorizations signed with the
 * Runner wallet, every answer field checked before use.
 */
#include "nox/gateway_client.h"

#include "http_body.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nox/base64.h"
#include "nox/eip712.h"
#include "nox/hex.h"
#include "nox/rpc.h"

enum { GW_POOL = 64, GW_MAX_RESPONSE = 4u << 20 };

struct nox_gateway_client {
    pthread_mutex_t mu;
    CURL *idle[GW_POOL];
    size_t n_idle;
    char *url;
    char display[256];
    unsigned timeout_ms;
    nox_ec_privkey wallet;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;
static void curl_init(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

nox_status nox_gateway_client_new(const char *url, const nox_ec_privkey *wallet, unsigned timeout_ms,
                                  nox_gateway_client **out, nox_error *err) {
    *out = NULL;
    if (!url || !(strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0))
        return nox_error_set(err, NOX_ERR_INVALID, "Gateway URL must start with http:// or https://");
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK) return nox_error_set(err, NOX_ERR_IO, "libcurl initialisation failed");
    nox_gateway_client *c = calloc(1, sizeof *c);
    if (!c || !(c->url = strdup(url))) {
        free(c);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&c->mu, NULL);
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/') c->url[--n] = '\0';
    nox_rpc_redact_url(url, c->display, sizeof c->display);
    c->timeout_ms = timeout_ms ? timeout_ms : 10000;
    c->wallet = *wallet;
    *out = c;
    return NOX_OK;
}

void nox_gateway_client_free(nox_gateway_client *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_idle; i++) curl_easy_cleanup(c->idle[i]);
    free(c->url);
    nox_ec_key_wipe(&c->wallet);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *nox_gateway_client_display_url(const nox_gateway_client *c) { return c->display; }

static CURL *take(nox_gateway_client *c) {
    CURL *e = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->n_idle) e = c->idle[--c->n_idle];
    pthread_mutex_unlock(&c->mu);
    if (e) return e;
    if (!(e = curl_easy_init())) return NULL;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    return e;
}

static void give(nox_gateway_client *c, CURL *e) {
    pthread_mutex_lock(&c->mu);
    if (c->n_idle < GW_POOL) {
        c->idle[c->n_idle++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (e) curl_easy_cleanup(e);
}

/* One exchange; on NOX_OK *json is the parsed 2xx body (json_decref it). auth may be NULL. */
static nox_status exchange(nox_gateway_client *c, const char *what, const char *path, const char *body,
                           const char *auth, json_t **json, nox_gateway_fault *fault, nox_error *err) {
    *json = NULL;
    char url[1024];
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->url, path) >= sizeof url)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: URL too long", what);
    struct curl_slist *headers = NULL, *h;
    const char *fixed[] = {"Accept: application/json", body ? "Content-Type: application/json" : NULL,
                           body ? "Expect:" : NULL, auth};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!fixed[i]) continue;
        if (!(h = curl_slist_append(headers, fixed[i]))) {
            curl_slist_free_all(headers);
            return nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory", what);
        }
        headers = h;
    }
    CURL *e = take(c);
    if (!e) {
        curl_slist_free_all(headers);
        return nox_error_set(err, NOX_ERR_NOMEM, "%s: cannot create a libcurl handle", what);
    }
    nox_http_body a = {.max = GW_MAX_RESPONSE};
    char curl_error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, nox_http_body_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &a);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(e);
    long http = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (rc == CURLE_OK) give(c, e);
    else curl_easy_cleanup(e);
    curl_slist_free_all(headers);

    nox_status st = NOX_OK;
    if (a.too_large) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: the Gateway's (%s) answer is too large", what, c->display);
        goto out;
    }
    if (rc != CURLE_OK) {
        st = nox_error_set(err, NOX_ERR_IO, "%s: cannot reach the Gateway (%s): %s", what, c->display,
                           curl_error[0] ? curl_error : curl_easy_strerror(rc));
        goto out;
    }
    json_error_t jerr;
    json_t *doc = a.len ? json_loadb(a.buf, a.len, 0, &jerr) : NULL;
    if (http >= 200 && http < 300) {
        if (!json_is_object(doc)) {
            json_decref(doc);
            st = nox_error_set(err, NOX_ERR_INVALID, "%s: the Gateway's (%s) answer is not a JSON object", what,
                               c->display);
        } else {
            *json = doc;
        }
        goto out;
    }
    nox_gateway_fault f;
    memset(&f, 0, sizeof f);
    f.http_status = http;
    json_t *code = json_object_get(doc, "error"), *msg = json_object_get(doc, "message");
    if (json_is_string(code)) nox_printable(json_string_value(code), sizeof f.code - 4, f.code, sizeof f.code);
    if (json_is_string(msg)) nox_printable(json_string_value(msg), sizeof f.message - 4, f.message, sizeof f.message);
    json_decref(doc);
    if (fault) *fault = f;
    if (http == 400 && strcmp(f.code, "not_found") == 0)
        st = nox_error_set(err, NOX_ERR_NOT_FOUND, "%s: %s", what, f.message);
    else if (http >= 400 && http < 500)
        st = nox_error_set(err, NOX_ERR_REMOTE, "%s: the Gateway (%s) refused: HTTP %ld %s: %s", what, c->display,
                           http, f.code, f.message);
    else if (http >= 500 && http < 600)
        st = nox_error_set(err, NOX_ERR_IO, "%s: the Gateway (%s) failed: HTTP %ld %s", what, c->display, http,
                           f.code);
    else
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: unexpected HTTP status %ld", what, http);
out:
    free(a.buf);
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

nox_status nox_gateway_fetch_operands(nox_gateway_client *c, const nox_gateway_tx *tx, const nox_handle *handles,
                                      size_t n, const char *rsa_spki_hex, nox_gateway_operand *out,
                                      nox_gateway_fault *fault, nox_error *err) {
    if (n == 0) return nox_error_set(err, NOX_ERR_INVALID, "no operands to fetch");
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
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    uint8_t hash[32];
    nox_eip712_hash_result_publishing_authorization(tx->chain_id, tx->block_number, tx->caller, tx_hex, hash);
    char *auth = text ? authorization(c, tx->chain_id, payload, hash, err) : (json_decref(payload), NULL);
    nox_status st;
    if (!text || !auth) {
        st = err->code ? err->code : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    } else {
        json_t *doc;
        st = exchange(c, "post results", "/v0/compute/results", text, auth, &doc, fault, err);
        if (!st) {
            json_t *a = json_object_get(doc, "created"), *b = json_object_get(doc, "unchanged"),
                   *d = json_object_get(doc, "conflicted");
            if (!json_is_integer(a) || !json_is_integer(b) || !json_is_integer(d))
                st = nox_error_set(err, NOX_ERR_INVALID, "post results: the answer lacks the counts");
            else if (counts) {
                counts->created = (uint64_t)json_integer_value(a);
                counts->unchanged = (uint64_t)json_integer_value(b);
                counts->conflicted = (uint64_t)json_integer_value(d);
            }
            json_decref(doc);
        }
    }
    free(text);
    free(auth);
    return st;
}

nox_status nox_gateway_ping(nox_gateway_client *c, const char *path, nox_error *err) {
    json_t *doc = NULL;
    nox_status st = exchange(c, "health", path, NULL, NULL, &doc, NULL, err);
    json_decref(doc);
    return st;
}
