/*
 * The Gateway's KMS client (nox/kms_client.h): the calls of the KMS API over
 * the shared keep-alive JSON client (json_client.h). Answers are input from a
 * remote party: every field is checked before it is used.
 */
#include "nox/kms_client.h"

#include "nox/json_client.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/eip712.h"
#include "nox/hex.h"
#include "nox/log.h"

struct nox_kms_client {
    nox_json_client *http;
    atomic_int warned_no_batch;
    const char *display; /* the KMS URL reduced to scheme://host[:port], owned by http */
};

void nox_kms_options_default(nox_kms_options *o) {
    memset(o, 0, sizeof *o);
    o->timeout_ms = 10000;
    o->connect_timeout_ms = 3000;
    o->max_connections = 16;
    o->max_response = 64u << 10;
}

nox_status nox_kms_client_new(const nox_kms_options *o, nox_kms_client **out, nox_error *err) {
    *out = NULL;
    nox_kms_client *c = calloc(1, sizeof *c);
    if (!c) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    nox_json_client_options jo = {.url = o->url,
                                  .name = "KMS",
                                  .timeout_ms = o->timeout_ms,
                                  .connect_timeout_ms = o->connect_timeout_ms,
                                  .max_connections = o->max_connections,
                                  .max_response = o->max_response,
                                  .tls = o->tls};
    nox_status st = nox_json_client_new(&jo, &c->http, err);
    if (st) {
        free(c);
        return st;
    }
    c->display = nox_json_client_display_url(c->http);
    *out = c;
    return NOX_OK;
}

void nox_kms_client_free(nox_kms_client *c) {
    if (!c) return;
    nox_json_client_free(c->http);
    free(c);
}

const char *nox_kms_client_display_url(const nox_kms_client *c) { return c->display; }

static nox_status exchange(nox_kms_client *c, const char *what, const char *path_query, const char *body,
                           const char *authorization, json_t **json, nox_kms_fault *fault, nox_error *err) {
    return nox_json_exchange(c->http, what, path_query, body, authorization, json, fault, err);
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

/* ---- the calls ------------------------------------------------------------------- */

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

enum { BEARER_SIZE = sizeof "Authorization: Bearer " + 2 * NOX_EC_SIGNATURE_SIZE + 2 };

/* "Authorization: Bearer 0x<signature>" over a ProtocolDelegate struct hash, signed with gateway_key. */
static nox_status bearer(const nox_ec_privkey *gateway_key, uint64_t chain_id, const uint8_t hash[NOX_EIP712_HASH_SIZE],
                         char auth[BEARER_SIZE], const char *what, nox_error *err) {
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    nox_eip712_domain domain = nox_eip712_domain_kms_delegate(chain_id);
    nox_error e2;
    if (nox_eip712_sign(gateway_key, &domain, hash, sig, &e2))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: cannot sign the authorisation: %s", what, e2.message);
    memcpy(auth, "Authorization: Bearer ", sizeof "Authorization: Bearer " - 1);
    nox_hex_encode(sig, sizeof sig, auth + sizeof "Authorization: Bearer " - 1);
    return NOX_OK;
}

nox_status nox_kms_delegate(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                            const char *ephemeral_pub_key, const char *target_pub_key, uint8_t *out, size_t cap,
                            size_t *out_len, nox_kms_fault *fault, nox_error *err) {
    static const char what[] = "KMS delegation";
    *out_len = 0;
    if (!gateway_key || !ephemeral_pub_key || !target_pub_key || (!out && cap))
        return nox_error_set(err, NOX_ERR_INVALID, "%s: missing argument", what);
    uint8_t hash[NOX_EIP712_HASH_SIZE];
    nox_eip712_hash_delegate_authorization(ephemeral_pub_key, target_pub_key, hash);
    char auth[BEARER_SIZE];
    nox_error e2;
    nox_status bs = bearer(gateway_key, chain_id, hash, auth, what, err);
    if (bs) return bs;

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

nox_status nox_kms_ping(nox_kms_client *c, nox_error *err) {
    json_t *doc = NULL;
    nox_status st = exchange(c, "KMS health", "/health", NULL, NULL, &doc, NULL, err);
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

/*
 * POST /v0/delegate/batch (docs/PROTOCOL-EXTENSIONS.md §4) for items[0..n), which share one target key:
 * one request, one DelegateBatchAuthorization signature. NOX_OK with every item filled; else the
 * request's error (items untouched), NOX_ERR_REMOTE with fault->http_status 404 from a KMS without
 * the endpoint.
 */
static nox_status delegate_many(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                nox_kms_delegation *items, size_t n, nox_kms_fault *fault, nox_error *err) {
    static const char what[] = "KMS batch delegation";
    const char *target = items[0].target_pub_key;
    const char **keys = calloc(n, sizeof *keys);
    json_t *list = json_array(), *req = NULL, *doc = NULL;
    char *body = NULL;
    nox_status st = NOX_OK;
    for (size_t i = 0; keys && list && i < n; i++)
        if (json_array_append_new(list, json_string((keys[i] = items[i].ephemeral_pub_key)))) {
            json_decref(list);
            list = NULL;
        }
    if (!keys || !list || !(req = json_pack("{s:o, s:s}", "ephemeralPubKeys", list, "targetPubKey", target)) ||
        !(body = json_dumps(req, JSON_COMPACT))) {
        if (!req) json_decref(list);
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: cannot build the request (out of memory, or keys that are "
                           "not UTF-8 text)", what);
        goto out;
    }
    uint8_t hash[NOX_EIP712_HASH_SIZE];
    nox_eip712_hash_delegate_batch_authorization(keys, n, target, hash);
    char auth[BEARER_SIZE];
    nox_error e2;
    if ((st = bearer(gateway_key, chain_id, hash, auth, what, err))) goto out;
    char pq[64];
    snprintf(pq, sizeof pq, "/v0/delegate/batch?chainId=%llu", (unsigned long long)chain_id);
    if ((st = exchange(c, what, pq, body, auth, &doc, fault, err))) goto out;
    json_t *secrets = json_object_get(doc, "encryptedSharedSecrets");
    if (!json_is_array(secrets) || json_array_size(secrets) != n) {
        st = nox_error_set(err, NOX_ERR_INVALID, "%s: the KMS's (%s) answer lacks an array of %zu "
                           "encryptedSharedSecrets", what, c->display, n);
        goto out;
    }
    for (size_t i = 0; i < n && !st; i++) {
        json_t *v = json_array_get(secrets, i);
        const char *hex = json_string_value(v);
        size_t len = hex ? strlen(hex) : 0, out_len = 0;
        if (!hex || len < 4 || (len - 2) / 2 > items[i].cap ||
            nox_hex_decode(hex, len, items[i].out, items[i].cap, &out_len, &e2))
            st = nox_error_set(err, NOX_ERR_INVALID, "%s: encryptedSharedSecrets[%zu] from %s is not 0x hex of 1 "
                               "to %zu bytes", what, i, c->display, items[i].cap);
        items[i].out_len = out_len;
    }
out:
    for (size_t i = 0; i < n; i++) {
        items[i].status = st;
        nox_error_clear(&items[i].error);
        memset(&items[i].fault, 0, sizeof items[i].fault);
        if (st) {
            items[i].out_len = 0;
            nox_error_set(&items[i].error, st, "%s", err ? err->message : what);
            if (fault) items[i].fault = *fault;
        }
    }
    json_decref(doc);
    json_decref(req);
    free(body);
    free(keys);
    return st;
}

/* Items per POST /v0/delegate/batch: bounded by the answer (each secret's hex is shorter than its target key's). */
static size_t batch_chunk(const nox_kms_client *c, const char *target) {
    size_t room = nox_json_client_max_response(c->http), per = strlen(target) + 8, k = room > 4096 ? (room - 4096) / per : 0;
    return k < NOX_KMS_MAX_BATCH ? k : NOX_KMS_MAX_BATCH;
}

nox_status nox_kms_delegate_batch(nox_kms_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                  nox_kms_delegation *items, size_t n, unsigned parallelism, nox_error *err) {
    if (n == 0) return NOX_OK;
    /* One target (a Runner's operands, always): batch requests. A 4xx there (a bad key in the lot, or a
     * KMS without the endpoint) falls through to one request per item, so that each item gets its own
     * outcome; a transport failure is the answer. */
    int one_target = gateway_key && items[0].target_pub_key;
    for (size_t i = 1; i < n && one_target; i++)
        one_target = items[i].target_pub_key && !strcmp(items[i].target_pub_key, items[0].target_pub_key);
    size_t chunk = one_target && n > 1 ? batch_chunk(c, items[0].target_pub_key) : 0;
    if (chunk > 1) {
        nox_status st = NOX_OK;
        nox_kms_fault fault;
        size_t off = 0;
        for (; off < n && !st; off += chunk) {
            memset(&fault, 0, sizeof fault);
            st = delegate_many(c, chain_id, gateway_key, items + off, n - off < chunk ? n - off : chunk, &fault, err);
        }
        for (; off < n && st; off++) { /* the chunks not attempted */
            items[off].status = st;
            items[off].out_len = 0;
            nox_error_set(&items[off].error, st, "KMS batch: not attempted after an earlier chunk failed");
        }
        if (st != NOX_ERR_REMOTE) return st;
        if (fault.http_status == 404 && !atomic_exchange(&c->warned_no_batch, 1))
            nox_log(NOX_LOG_WARN, "the KMS at %s has no POST /v0/delegate/batch (404): one request per delegation",
                    c->display);
    }
    size_t max_connections = nox_json_client_max_connections(c->http);
    size_t workers = parallelism ? parallelism : max_connections;
    if (workers > max_connections) workers = max_connections;
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

/* ---- threshold partials (docs/PROTOCOL-EXTENSIONS.md §11) ------------------------------------------------------- */

nox_status nox_kms_bearer(const nox_ec_privkey *gateway_key, uint64_t chain_id, const uint8_t hash[32], char *auth,
                          size_t cap, nox_error *err) {
    if (cap < BEARER_SIZE) return nox_error_set(err, NOX_ERR_INVALID, "KMS authorization: buffer too small");
    return bearer(gateway_key, chain_id, hash, auth, "KMS partials", err);
}

/* Decodes the 0x hex member `name` of a 2xx answer into a malloc'd buffer (exactly `want` bytes when want > 0). */
static nox_status answer_hex(const nox_kms_client *c, json_t *doc, const char *name, size_t want, size_t most,
                             uint8_t **out, size_t *len, nox_error *err) {
    static const char what[] = "KMS partials";
    const char *hex = answer_string(c, what, doc, name, err);
    if (!hex) return NOX_ERR_INVALID;
    size_t digits = strlen(hex), n = digits >= 2 ? (digits - 2) / 2 : 0;
    nox_error e2;
    if (n == 0 || n > most || (want && n != want)) goto bad;
    if (!(*out = malloc(n))) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    if (!nox_hex_decode(hex, digits, *out, n, len, &e2)) return NOX_OK;
    free(*out);
    *out = NULL;
bad:
    return nox_error_set(err, NOX_ERR_INVALID, "%s: %s from %s is not 0x hex of %s%zu bytes", what, name, c->display,
                         want ? "" : "1 to ", want ? want : most);
}

nox_status nox_kms_partials(nox_kms_client *c, uint64_t chain_id, const char *authorization, const char *body,
                            unsigned expected_node, nox_sealed_partials *out, nox_kms_fault *fault, nox_error *err) {
    memset(out, 0, sizeof *out);
    char pq[64];
    snprintf(pq, sizeof pq, "/v0/delegate/partials?chainId=%llu", (unsigned long long)chain_id);
    json_t *doc;
    nox_status st = exchange(c, "KMS partials", pq, body, authorization, &doc, fault, err);
    if (st) return st;
    json_t *node = json_object_get(doc, "node");
    uint8_t *iv = NULL;
    size_t iv_len = 0;
    if (!json_is_integer(node) || json_integer_value(node) != (json_int_t)expected_node) {
        st = nox_error_set(err, NOX_ERR_INVALID, "KMS partials: %s answers as node %lld, not as node %u", c->display,
                           json_is_integer(node) ? (long long)json_integer_value(node) : -1LL, expected_node);
    } else if (!(st = answer_hex(c, doc, "wrappedKey", 0, NOX_RSA_MAX_BITS / 8, &out->wrapped_key,
                                 &out->wrapped_key_len, err)) &&
               !(st = answer_hex(c, doc, "iv", NOX_ECIES_NONCE_SIZE, NOX_ECIES_NONCE_SIZE, &iv, &iv_len, err)) &&
               !(st = answer_hex(c, doc, "ciphertext", 0,
                                 NOX_DELEGATION_SEALED_SIZE(NOX_DELEGATION_MAX_ITEMS),
                                 &out->ciphertext, &out->ciphertext_len, err))) {
        memcpy(out->iv, iv, sizeof out->iv);
        out->node = expected_node;
    }
    free(iv);
    if (st) nox_sealed_partials_free(out);
    json_decref(doc);
    return st;
}
