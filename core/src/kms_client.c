/*
 * The Gateway's KMS client (nox/kms_client.h).
 *
 * A pool of libcurl easy handles, each keeping its connection alive: a
 * request takes an idle handle from a mutex-protected free list (or creates
 * one while fewer than max_connections exist, or waits on a condition
 * variable), performs one exchange with per-request buffers and headers, and
 * puts the handle back. Answers are input from a remote party: every field is
 * checked before it is used.
 */
#include "nox/kms_client.h"

#include "http_body.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/eip712.h"
#include "nox/hex.h"
#include "nox/rpc.h" /* nox_rpc_redact_url */

struct nox_kms_client {
    pthread_mutex_t mu;
    pthread_cond_t freed;
    CURL **idle;     /* max_connections slots */
    size_t n_idle;
    size_t n_created;
    size_t max_connections;
    char *url; /* without a trailing '/' */
    char display[256];
    unsigned timeout_ms, connect_timeout_ms;
    size_t max_response;
};

void nox_kms_options_default(nox_kms_options *o) {
    memset(o, 0, sizeof *o);
    o->timeout_ms = 10000;
    o->connect_timeout_ms = 3000;
    o->max_connections = 16;
    o->max_response = 64u << 10;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;
static void curl_init(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

static int has_prefix_nocase(const char *s, const char *prefix) { return strncasecmp(s, prefix, strlen(prefix)) == 0; }

nox_status nox_kms_client_new(const nox_kms_options *o, nox_kms_client **out, nox_error *err) {
    *out = NULL;
    if (!o->url || !(has_prefix_nocase(o->url, "http://") || has_prefix_nocase(o->url, "https://")))
        return nox_error_set(err, NOX_ERR_INVALID, "KMS URL must start with http:// or https://");
    if (o->max_response < 1024) return nox_error_set(err, NOX_ERR_INVALID, "max_response must be at least 1024 bytes");
    if (o->max_connections == 0 || o->max_connections > 1024)
        return nox_error_set(err, NOX_ERR_INVALID, "max_connections must be in [1, 1024]");
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return nox_error_set(err, NOX_ERR_IO, "libcurl initialisation failed: %s", curl_easy_strerror(curl_init_result));
    nox_kms_client *c = calloc(1, sizeof *c);
    if (!c) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->freed, NULL);
    c->max_connections = o->max_connections;
    c->timeout_ms = o->timeout_ms;
    c->connect_timeout_ms = o->connect_timeout_ms;
    c->max_response = o->max_response;
    nox_rpc_redact_url(o->url, c->display, sizeof c->display);
    c->url = strdup(o->url);
    c->idle = calloc(o->max_connections, sizeof *c->idle);
    if (!c->url || !c->idle) {
        nox_kms_client_free(c);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory setting up the KMS client");
    }
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/') c->url[--n] = '\0';
    *out = c;
    return NOX_OK;
}

void nox_kms_client_free(nox_kms_client *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_idle; i++) curl_easy_cleanup(c->idle[i]);
    free(c->idle);
    free(c->url);
    pthread_cond_destroy(&c->freed);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *nox_kms_client_display_url(const nox_kms_client *c) { return c->display; }

/* ---- the pool ------------------------------------------------------------------ */

static CURL *new_handle(const nox_kms_client *c) {
    CURL *e = curl_easy_init();
    if (!e) return NULL;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK; /* threads: no SIGALRM for DNS timeouts */
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    if (bad) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

/* An idle handle, a new one, or (at the cap) the next one freed. NULL when none can be made. */
static CURL *take_handle(nox_kms_client *c) {
    pthread_mutex_lock(&c->mu);
    CURL *e = NULL;
    for (;;) {
        if (c->n_idle > 0) {
            e = c->idle[--c->n_idle];
            break;
        }
        if (c->n_created < c->max_connections) {
            c->n_created++;
            pthread_mutex_unlock(&c->mu);
            e = new_handle(c);
            pthread_mutex_lock(&c->mu);
            if (!e) c->n_created--;
            break;
        }
        pthread_cond_wait(&c->freed, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return e;
}

static void give_handle(nox_kms_client *c, CURL *e) {
    pthread_mutex_lock(&c->mu);
    c->idle[c->n_idle++] = e;
    pthread_cond_signal(&c->freed);
    pthread_mutex_unlock(&c->mu);
}

/* ---- one HTTP exchange ------------------------------------------------------------ */

/*
 * Performs one request (body NULL = GET) and classifies the answer. On NOX_OK
 * *json is the parsed 2xx body (a JSON object; json_decref it). `what` names
 * the request in messages.
 */
static nox_status exchange(nox_kms_client *c, const char *what, const char *path_query, const char *body,
                           const char *authorization, json_t **json, nox_kms_fault *fault, nox_error *err) {
    *json = NULL;
    char url[1024];
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->url, path_query) >= sizeof url)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the KMS URL is too long", what);
    struct curl_slist *headers = NULL, *h;
    const char *fixed[] = {"Accept: application/json", body ? "Content-Type: application/json" : NULL,
                           body ? "Expect:" : NULL, authorization};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!fixed[i]) continue;
        if (!(h = curl_slist_append(headers, fixed[i]))) {
            curl_slist_free_all(headers);
            return nox_error_set(err, NOX_ERR_NOMEM, "%s: out of memory", what);
        }
        headers = h;
    }
    CURL *e = take_handle(c);
    if (!e) {
        curl_slist_free_all(headers);
        return nox_error_set(err, NOX_ERR_NOMEM, "%s: cannot create a libcurl handle", what);
    }
    nox_http_body a = {.max = c->max_response};
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
    /* leave nothing pointing at this frame in the pooled handle */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    give_handle(c, e);
    curl_slist_free_all(headers);

    nox_status st = NOX_OK;
    if (a.too_large) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: the KMS's (%s) answer is larger than %zu bytes", what,
                           c->display, c->max_response);
        goto out;
    }
    if (rc != CURLE_OK) {
        st = nox_error_set(err, rc == CURLE_OUT_OF_MEMORY || a.out_of_memory ? NOX_ERR_NOMEM : NOX_ERR_IO,
                           "%s: cannot reach the KMS (%s): %s", what, c->display,
                           curl_error[0] ? curl_error : curl_easy_strerror(rc));
        goto out;
    }
    json_error_t jerr;
    json_t *doc = a.len ? json_loadb(a.buf, a.len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (http >= 200 && http < 300) {
        if (!json_is_object(doc)) {
            st = nox_error_set(err, NOX_ERR_INVALID, "%s: the KMS's (%s) HTTP %ld answer is not a JSON object", what,
                               c->display, http);
            json_decref(doc);
        } else {
            *json = doc;
        }
        goto out;
    }
    nox_kms_fault f;
    memset(&f, 0, sizeof f);
    f.http_status = http;
    json_t *code = json_object_get(doc, "error"), *msg = json_object_get(doc, "message");
    if (json_is_string(code)) nox_printable(json_string_value(code), sizeof f.code - 4, f.code, sizeof f.code);
    if (json_is_string(msg)) nox_printable(json_string_value(msg), sizeof f.message - 4, f.message, sizeof f.message);
    json_decref(doc);
    if (http >= 400 && http < 500) {
        if (fault) *fault = f;
        char excerpt[160 + 4];
        nox_printable(f.message, 160, excerpt, sizeof excerpt);
        st = nox_error_set(err, NOX_ERR_REMOTE, "%s: the KMS (%s) refused: HTTP %ld %s%s%s", what, c->display, http,
                           f.code[0] ? f.code : "(no error code)", excerpt[0] ? ": " : "", excerpt);
    } else if (http >= 500 && http < 600) {
        if (fault) *fault = f;
        st = nox_error_set(err, NOX_ERR_IO, "%s: the KMS (%s) failed: HTTP %ld%s%s", what, c->display, http,
                           f.code[0] ? " " : "", f.code);
    } else {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: the KMS (%s) answered an unexpected HTTP status %ld", what,
                           c->display, http);
    }
out:
    free(a.buf);
    return st;
}

/* A string member of a 2xx answer, or NULL after setting NOX_ERR_INVALID. */
static const char *answer_string(const nox_kms_client *c, const char *what, json_t *doc, const char *name,
                                 nox_error *err) {
    json_t *v = json_object_get(doc, name);
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        nox_error_set(err, NOX_ERR_INVALID, "%s: the KMS's (%s) answer lacks a string %s", what, c->display, name);
        return NULL;
    }
    return json_string_value(v);
}

/* ---- the two calls ------------------------------------------------------------------- */

nox_status nox_kms_fetch_public_key(nox_kms_client *c, uint64_t chain_id,
                                    const uint8_t expected_kms_wallet[NOX_ADDRESS_SIZE],
                                    uint8_t public_key[NOX_EC_PUBKEY_COMPRESSED_SIZE], nox_kms_fault *fault,
                                    nox_error *err) {
    static const char what[] = "KMS public key";
    char pq[64];
    snprintf(pq, sizeof pq, "/v0/public-key?chainId=%llu", (unsigned long long)chain_id);
    json_t *doc;
    nox_status st = exchange(c, what, pq, NULL, NULL, &doc, fault, err);
    if (st) return st;
    const char *key_hex = answer_string(c, what, doc, "publicKey", err);
    const char *proof_hex = key_hex ? answer_string(c, what, doc, "proof", err) : NULL;
    uint8_t key[NOX_EC_PUBKEY_COMPRESSED_SIZE], sig[NOX_EC_SIGNATURE_SIZE];
    nox_error e2;
    if (!proof_hex) {
        st = err ? err->code : NOX_ERR_INVALID;
    } else if (nox_hex_decode_exact(key_hex, strlen(key_hex), key, sizeof key, &e2)) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: publicKey from %s is not 33 bytes of 0x hex: %s", what,
                           c->display, e2.message);
    } else if (nox_hex_decode_exact(proof_hex, strlen(proof_hex), sig, sizeof sig, &e2)) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: proof from %s is not a 65-byte 0x hex signature: %s", what,
                           c->display, e2.message);
    } else {
        uint8_t hash[NOX_EIP712_HASH_SIZE], signer[NOX_ADDRESS_SIZE];
        char want[2 * NOX_ADDRESS_SIZE + 3], got[2 * NOX_ADDRESS_SIZE + 3];
        nox_eip712_domain domain = nox_eip712_domain_kms_public_key(chain_id);
        nox_eip712_hash_public_key_proof(key_hex, hash);
        nox_hex_encode(expected_kms_wallet, NOX_ADDRESS_SIZE, want);
        nox_ec_pubkey pub;
        if (nox_eip712_recover(&domain, hash, sig, sizeof sig, signer, &e2)) {
            st = nox_error_set(err, NOX_ERR_AUTH, "%s: the proof from %s does not verify (expected signer %s): %s",
                               what, c->display, want, e2.message);
        } else if (memcmp(signer, expected_kms_wallet, NOX_ADDRESS_SIZE) != 0) {
            st = nox_error_set(err, NOX_ERR_AUTH,
                               "%s: the proof from %s is signed by %s, not by the expected KMS wallet %s", what,
                               c->display, nox_hex_encode(signer, NOX_ADDRESS_SIZE, got), want);
        } else if (nox_ec_pubkey_parse_compressed(&pub, key, sizeof key, &e2)) {
            st = nox_error_set(err, NOX_ERR_INVALID, "%s: publicKey from %s is not a compressed secp256k1 point: %s",
                               what, c->display, e2.message);
        } else {
            memcpy(public_key, key, sizeof key);
        }
    }
    json_decref(doc);
    return st;
}

nox_status nox_kms_delegate(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                            const char *ephemeral_pub_key, const char *target_pub_key, uint8_t *out, size_t cap,
                            size_t *out_len, nox_kms_fault *fault, nox_error *err) {
    static const char what[] = "KMS delegation";
    *out_len = 0;
    if (!gateway_key || !ephemeral_pub_key || !target_pub_key || (!out && cap))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: missing argument", what);
    uint8_t hash[NOX_EIP712_HASH_SIZE], sig[NOX_EC_SIGNATURE_SIZE];
    nox_eip712_domain domain = nox_eip712_domain_kms_delegate(chain_id);
    nox_eip712_hash_delegate_authorization(ephemeral_pub_key, target_pub_key, hash);
    nox_error e2;
    if (nox_eip712_sign(gateway_key, &domain, hash, sig, &e2))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: cannot sign the authorisation: %s", what, e2.message);
    char auth[sizeof "Authorization: Bearer " + 2 * NOX_EC_SIGNATURE_SIZE + 2];
    memcpy(auth, "Authorization: Bearer ", sizeof "Authorization: Bearer " - 1);
    nox_hex_encode(sig, sizeof sig, auth + sizeof "Authorization: Bearer " - 1);

    json_t *req = json_pack("{s:s, s:s}", "ephemeralPubKey", ephemeral_pub_key, "targetPubKey", target_pub_key);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) /* also: a string that is not UTF-8 */
        return nox_error_set(err, NOX_ERR_INVALID, "%s: cannot build the request (keys must be UTF-8 text)", what);
    char pq[64];
    snprintf(pq, sizeof pq, "/v0/delegate?chainId=%llu", (unsigned long long)chain_id);
    json_t *doc;
    nox_status st = exchange(c, what, pq, body, auth, &doc, fault, err);
    free(body);
    if (st) return st;
    const char *secret = answer_string(c, what, doc, "encryptedSharedSecret", err);
    size_t n = 0;
    if (!secret) {
        st = err ? err->code : NOX_ERR_INVALID;
    } else if (strlen(secret) < 2 || (strlen(secret) - 2) / 2 > cap) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: encryptedSharedSecret from %s is %zu hex digits, more than "
                           "the %zu bytes of the output buffer (or empty)", what, c->display,
                           strlen(secret) > 2 ? strlen(secret) - 2 : 0, cap);
    } else if (nox_hex_decode(secret, strlen(secret), out, cap, &n, &e2)) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: encryptedSharedSecret from %s is not 0x hex: %s", what,
                           c->display, e2.message);
    } else if (n == 0) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: encryptedSharedSecret from %s is empty", what, c->display);
    } else {
        *out_len = n;
    }
    json_decref(doc);
    return st;
}

/* ---- batches ----------------------------------------------------------------------------- */

typedef struct batch {
    nox_kms_client *c;
    uint64_t chain_id;
    const nox_ec_privkey *key;
    nox_kms_delegation *items;
    size_t n;
    pthread_mutex_t mu;
    size_t next;
} batch;

static void *batch_worker(void *arg) {
    batch *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        size_t i = b->next < b->n ? b->next++ : b->n;
        pthread_mutex_unlock(&b->mu);
        if (i >= b->n) return NULL;
        nox_kms_delegation *it = &b->items[i];
        nox_error_clear(&it->error);
        memset(&it->fault, 0, sizeof it->fault);
        it->status = nox_kms_delegate(b->c, b->chain_id, b->key, it->ephemeral_pub_key, it->target_pub_key, it->out,
                                      it->cap, &it->out_len, &it->fault, &it->error);
    }
}

nox_status nox_kms_delegate_batch(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                  nox_kms_delegation *items, size_t n, unsigned parallelism, nox_error *err) {
    if (n == 0) return NOX_OK;
    size_t workers = parallelism ? parallelism : c->max_connections;
    if (workers > c->max_connections) workers = c->max_connections;
    if (workers > n) workers = n;
    batch b = {.c = c, .chain_id = chain_id, .key = gateway_key, .items = items, .n = n};
    pthread_mutex_init(&b.mu, NULL);
    pthread_t *threads = workers > 1 ? calloc(workers - 1, sizeof *threads) : NULL;
    nox_status st = NOX_OK;
    if (workers > 1 && !threads) {
        st = nox_error_set(err, NOX_ERR_NOMEM, "KMS batch: out of memory");
    } else {
        /* the calling thread is the last worker; if some threads do not start, fewer workers share the items */
        size_t started = 0;
        for (; started + 1 < workers; started++)
            if (pthread_create(&threads[started], NULL, batch_worker, &b) != 0) break;
        batch_worker(&b);
        for (size_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
    }
    free(threads);
    pthread_mutex_destroy(&b.mu);
    if (st) {
        for (size_t i = 0; i < n; i++) {
            items[i].status = st;
            items[i].out_len = 0;
            nox_error_set(&items[i].error, st, "KMS batch: not attempted (out of memory)");
        }
        return st;
    }
    size_t failed = 0, first = n;
    for (size_t i = 0; i < n; i++)
        if (items[i].status != NOX_OK) {
            if (first == n) first = i;
            failed++;
        }
    if (!failed) return NOX_OK;
    return nox_error_set(err, items[first].status, "KMS batch: %zu of %zu delegations failed; item %zu: %s", failed, n,
                         first, items[first].error.message);
}
