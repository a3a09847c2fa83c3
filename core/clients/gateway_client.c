/*
 * The Runner's Gateway client (nox/gateway_client.h): the Runner API over the
 * shared keep-alive JSON client (json_client.h), EIP-712 authorizations signed
 * with the Runner wallet in their bound forms (docs/PROTOCOL-EXTENSIONS.md §7:
 * a validity window from the clock at signing, the body's count and content
 * digest, a domain naming the Gateway), every answer field checked before use.
 */
#include "nox/gateway_client.h"

#include "nox/http_body.h"
#include "nox/json_client.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "nox/attest.h"
#include "nox/base64.h"
#include "nox/eip712.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/delegation_json.h"
#include "nox/http_server.h"
#include "nox/runner_auth.h"

enum { GW_POOL = 64, GW_MAX_RESPONSE = 4u << 20, GW_CONNECT_TIMEOUT_MS = 3000 };
/* The KMS nodes' envelope keys this client remembers, and for how long (twice a node's 60 s: every key a node
 * uses is unwrapped once). */
enum { GW_ENVELOPE_KEY_TTL_S = 120, GW_ENVELOPE_KEYS = 64 };

struct nox_gateway_client {
    nox_json_client *gws[NOX_GATEWAY_MAX_URLS]; /* one pool per Gateway URL; all are the same Gateway */
    size_t n_gws;
    atomic_uint current;         /* the Gateway requests go to; moved on a transport failure or a 5xx */
    atomic_ulong failovers;      /* moves so far */
    nox_json_client *http;       /* gws[0]: names the peer in messages about batch entries */
    atomic_int no_batch;         /* the Gateway answered 404 to POST /v0/compute/operands/batch */
    atomic_int no_results_batch; /* ... to POST /v0/compute/results/batch */
    nox_ec_privkey wallet;
    uint8_t gateway[NOX_ADDRESS_SIZE]; /* verifyingContract of the authorizations' domain */
    unsigned lifetime_s;               /* expiresAt = now + lifetime_s */
    const nox_rsa_key *rsa;            /* opens the KMS nodes' envelopes (nox_gateway_client_set_requester) */
    nox_envelope_keys *envelope_keys;  /* what the nodes' wrappedKeys unwrapped to: one RSA per node per TTL */
    nox_counter *bad_partials[NOX_TH_MAX_NODES];
    _Atomic uint64_t bad_until[NOX_TH_MAX_NODES]; /* KMS node i-1 excluded until then (unix seconds) */
    atomic_ulong blamed;                          /* KMS nodes named so far (a new one: ask again at once) */
    nox_attest_provider *attest;       /* quotes for a Gateway that requires attestation (borrowed), or NULL */
    uint8_t report_data[NOX_ATTESTATION_REPORT_DATA_SIZE]; /* binds them to the wallet and the client cert key */
    pthread_mutex_t attest_mu;         /* one attestation at a time */
    atomic_ulong attestations;         /* quotes the Gateways accepted */
};

void nox_gateway_client_set_requester(nox_gateway_client *c, const nox_rsa_key *rsa, nox_counter *const *bad_partials) {
    c->rsa = rsa;
    for (size_t i = 0; i < NOX_TH_MAX_NODES; i++) c->bad_partials[i] = bad_partials ? bad_partials[i] : NULL;
}

nox_status nox_gateway_client_new(const char *url, const nox_tls_client *tls, const nox_ec_privkey *wallet, const nox_gateway_signing *signing,
                                  unsigned timeout_ms, nox_gateway_client **out, nox_error *err) {
    *out = NULL;
    unsigned lifetime = signing->lifetime_s ? signing->lifetime_s : NOX_RUNNER_AUTH_DEFAULT_LIFETIME_S;
    if (lifetime > NOX_RUNNER_AUTH_MAX_LIFETIME_S)
        return nox_error_set(err, NOX_ERR_INVALID,
                             "an authorization lifetime of %u s is longer than the %u s a Gateway accepts (a window "
                             "of at most %u s, %u s of it before the signing time)",
                             lifetime, NOX_RUNNER_AUTH_MAX_LIFETIME_S, NOX_RUNNER_AUTH_MAX_WINDOW_S,
                             NOX_RUNNER_AUTH_BACKDATE_S);
    nox_gateway_client *c = calloc(1, sizeof *c);
    if (!c) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    nox_status st = NOX_OK;
    for (const char *p = url; !st && p && *p;) { /* "u1,u2,...": the same Gateway behind several URLs */
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char one[1024];
        if (c->n_gws == NOX_GATEWAY_MAX_URLS || len == 0 || len >= sizeof one) {
            st = nox_error_set(err, NOX_ERR_INVALID, "at most %d Gateway URLs, each non-empty and shorter than %zu "
                               "bytes", NOX_GATEWAY_MAX_URLS, sizeof one);
            break;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        nox_json_client_options o = {.url = one,
                                     .name = "Gateway",
                                     .timeout_ms = timeout_ms ? timeout_ms : 10000,
                                     .connect_timeout_ms = GW_CONNECT_TIMEOUT_MS,
                                     .max_connections = GW_POOL,
                                     .max_response = GW_MAX_RESPONSE,
                                     .tls = tls};
        if (!(st = nox_json_client_new(&o, &c->gws[c->n_gws], err))) c->n_gws++;
        p = comma ? comma + 1 : NULL;
    }
    if (!st && c->n_gws == 0) st = nox_error_set(err, NOX_ERR_INVALID, "no Gateway URL");
    if (st) {
        for (size_t i = 0; i < c->n_gws; i++) nox_json_client_free(c->gws[i]);
        free(c);
        return st;
    }
    if (!(c->envelope_keys = nox_envelope_keys_new(GW_ENVELOPE_KEY_TTL_S, GW_ENVELOPE_KEYS))) {
        for (size_t i = 0; i < c->n_gws; i++) nox_json_client_free(c->gws[i]);
        free(c);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    c->http = c->gws[0];
    c->wallet = *wallet;
    pthread_mutex_init(&c->attest_mu, NULL);
    memcpy(c->gateway, signing->gateway_address, NOX_ADDRESS_SIZE);
    c->lifetime_s = lifetime;
    *out = c;
    return NOX_OK;
}

void nox_gateway_client_free(nox_gateway_client *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_gws; i++) nox_json_client_free(c->gws[i]);
    nox_envelope_keys_free(c->envelope_keys);
    nox_ec_key_wipe(&c->wallet);
    pthread_mutex_destroy(&c->attest_mu);
    free(c);
}

const char *nox_gateway_client_display_url(const nox_gateway_client *c) {
    return nox_json_client_display_url(c->gws[atomic_load(&c->current) % c->n_gws]);
}

uint64_t nox_gateway_client_failovers(const nox_gateway_client *c) { return atomic_load(&c->failovers); }

/* A refusal 400 "not_found" (operands not stored yet) becomes NOX_ERR_NOT_FOUND. */
static nox_status not_found(nox_status st, const nox_gateway_fault *f, const char *what, nox_error *err) {
    if (st == NOX_ERR_REMOTE && f->http_status == 400 && strcmp(f->code, "not_found") == 0)
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "%s: %s", what, f->message);
    return st;
}

nox_status nox_gateway_client_set_attestation(nox_gateway_client *c, nox_attest_provider *p, const char *cert_file,
                                              nox_error *err) {
    uint8_t wallet[NOX_ADDRESS_SIZE], cert_key[32];
    nox_status st = nox_ec_key_address(&c->wallet, wallet, err);
    if (!st && (!cert_file || !cert_file[0]))
        st = nox_error_set(err, NOX_ERR_INVALID, "attestation binds the quote to the Runner's client certificate: "
                           "gateway_tls.cert_file is required");
    if (!st) st = nox_tls_cert_key_sha256_file(cert_file, cert_key, err);
    if (st) return st;
    nox_attest_report_data(wallet, cert_key, c->report_data);
    c->attest = p;
    return NOX_OK;
}

uint64_t nox_gateway_client_attestations(const nox_gateway_client *c) { return atomic_load(&c->attestations); }

/* A fresh quote presented to Gateway URL i (POST /v0/compute/attestation). */
static nox_status attest_one(nox_gateway_client *c, size_t i, nox_error *err) {
    uint8_t *quote = NULL, wallet[NOX_ADDRESS_SIZE];
    size_t len = 0;
    char addr[2 * NOX_ADDRESS_SIZE + 3];
    pthread_mutex_lock(&c->attest_mu);
    nox_status st = nox_ec_key_address(&c->wallet, wallet, err);
    if (!st) st = nox_attest_quote(c->attest, c->report_data, &quote, &len, err);
    char *b64 = st ? NULL : malloc(4 * ((len + 2) / 3) + 1);
    if (!st && !b64) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    json_t *body = NULL, *answer = NULL;
    char *text = NULL;
    if (!st) {
        nox_base64_encode(quote, len, b64);
        body = json_pack("{s:s, s:s}", "runner", nox_hex_encode(wallet, NOX_ADDRESS_SIZE, addr), "quote", b64);
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        if (!text) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    nox_gateway_fault f;
    memset(&f, 0, sizeof f);
    if (!st) st = nox_json_exchange(c->gws[i], "attestation", "/v0/compute/attestation", text, NULL, &answer, &f, err);
    if (!st) {
        atomic_fetch_add(&c->attestations, 1);
        nox_log(NOX_LOG_INFO, "attested to %s (%s) until %lld", nox_json_client_display_url(c->gws[i]),
                nox_attest_provider_name(c->attest), (long long)json_integer_value(json_object_get(answer, "validUntil")));
    }
    pthread_mutex_unlock(&c->attest_mu);
    json_decref(answer);
    json_decref(body);
    free(text);
    free(b64);
    free(quote);
    return st;
}

nox_status nox_gateway_client_attest(nox_gateway_client *c, nox_error *err) {
    if (!c->attest) return NOX_OK;
    nox_status first = NOX_OK;
    for (size_t i = 0; i < c->n_gws; i++) {
        nox_error e = {0};
        nox_status st = attest_one(c, i, &e);
        if (st) {
            nox_log(NOX_LOG_WARN, "attestation to %s: %s", nox_json_client_display_url(c->gws[i]), e.message);
            if (!first) {
                first = st;
                *err = e;
            }
        }
    }
    return first;
}

/*
 * One exchange; on NOX_OK *json is the parsed 2xx body (json_decref it). auth may be NULL.
 * HTTP 400 "not_found" (operands not stored yet) becomes NOX_ERR_NOT_FOUND.
 */
static nox_status exchange(nox_gateway_client *c, const char *what, const char *path, const char *body,
                           const char *auth, json_t **json, nox_gateway_fault *fault, nox_error *err) {
    nox_gateway_fault f;
    memset(&f, 0, sizeof f);
    /* A transport failure or a 5xx: the same request to the next Gateway URL, each at most once. Safe: every
     * Runner request is idempotent (a result stored twice is `unchanged`, a record re-recorded). */
    unsigned first = atomic_load(&c->current) % (unsigned)c->n_gws;
    nox_status st = NOX_OK;
    for (size_t k = 0; k < c->n_gws; k++) {
        unsigned i = (first + (unsigned)k) % (unsigned)c->n_gws;
        memset(&f, 0, sizeof f);
        st = nox_json_exchange(c->gws[i], what, path, body, auth, json, &f, err);
        if (st == NOX_ERR_REMOTE && f.http_status == 401 && !strcmp(f.code, "attestation_required") && c->attest) {
            /* this Gateway has no valid attestation of ours (restarted, expired, first contact): one, then again */
            nox_error e = {0};
            if (attest_one(c, i, &e)) {
                nox_log(NOX_LOG_WARN, "attestation to %s: %s", nox_json_client_display_url(c->gws[i]), e.message);
            } else {
                memset(&f, 0, sizeof f);
                st = nox_json_exchange(c->gws[i], what, path, body, auth, json, &f, err);
            }
        }
        if (st != NOX_ERR_IO || c->n_gws == 1) break;
        unsigned next = (i + 1) % (unsigned)c->n_gws, expected = i;
        if (atomic_compare_exchange_strong(&c->current, &expected, next)) {
            atomic_fetch_add(&c->failovers, 1);
            nox_log(NOX_LOG_WARN, "%s: %s; moving to %s", what, err ? err->message : "failed",
                    nox_json_client_display_url(c->gws[next]));
        }
    }
    if (fault && f.http_status) *fault = f;
    return not_found(st, &f, what, err);
}

/* {"payload": payload (stolen), "signature"} signed for struct_hash; NULL (err set) on failure. */
static json_t *signed_doc(nox_gateway_client *c, uint64_t chain_id, json_t *payload, const uint8_t hash[32],
                          nox_error *err) {
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    char sig_hex[2 * NOX_EC_SIGNATURE_SIZE + 3];
    nox_eip712_domain d = nox_eip712_domain_runner_gateway_v2(chain_id, c->gateway);
    if (nox_eip712_sign(&c->wallet, &d, hash, sig, err)) {
        json_decref(payload);
        return NULL;
    }
    json_t *doc = json_pack("{s:o, s:s}", "payload", payload, "signature", nox_hex_encode(sig, sizeof sig, sig_hex));
    if (!doc) nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    return doc;
}

/* "Authorization: EIP712 <base64(JSON of doc)>"; doc (may be NULL: err already set) is consumed. */
static char *auth_header(json_t *doc, nox_error *err) {
    if (!doc) return NULL;
    char *text = json_dumps(doc, JSON_COMPACT);
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

/*
 * The scope of an authorization for tx signed now: valid from NOX_RUNNER_AUTH_BACKDATE_S before the
 * clock (this host's may be a little ahead of the Gateway's) to lifetime_s after it. tx_hex receives
 * the transaction hash's text, which scope points to.
 */
static nox_eip712_runner_scope scope_now(const nox_gateway_client *c, const nox_gateway_tx *tx, char tx_hex[67]) {
    time_t t = time(NULL);
    uint64_t now = t > 0 ? (uint64_t)t : 0;
    nox_eip712_runner_scope s = {.chain_id = tx->chain_id, .block_number = tx->block_number,
                                 .transaction_hash = nox_hex_encode(tx->tx_hash, 32, tx_hex),
                                 .not_before = now > NOX_RUNNER_AUTH_BACKDATE_S ? now - NOX_RUNNER_AUTH_BACKDATE_S : 0,
                                 .expires_at = now + c->lifetime_s};
    memcpy(s.caller, tx->caller, NOX_ADDRESS_SIZE);
    return s;
}

/* The payload members every authorization has: {chainId, blockNumber, caller, transactionHash, notBefore, expiresAt}. */
static json_t *head(const nox_eip712_runner_scope *s) {
    char caller[2 * NOX_ADDRESS_SIZE + 3];
    return json_pack("{s:I, s:I, s:s, s:s, s:I, s:I}", "chainId", (json_int_t)s->chain_id, "blockNumber",
                     (json_int_t)s->block_number, "caller", nox_hex_encode(s->caller, NOX_ADDRESS_SIZE, caller),
                     "transactionHash", s->transaction_hash, "notBefore", (json_int_t)s->not_before, "expiresAt",
                     (json_int_t)s->expires_at);
}

/* The payload of a bound publishing authorization: head + count_field + digest_field (docs/PROTOCOL-EXTENSIONS.md §7). */
static json_t *content_head(const nox_eip712_runner_scope *s, const char *count_field, uint64_t count,
                            const char *digest_field, const uint8_t digest[32]) {
    char hex[67];
    json_t *p = head(s);
    if (p && (json_object_set_new(p, count_field, json_integer((json_int_t)count)) ||
              json_object_set_new(p, digest_field, json_string(nox_hex_encode(digest, 32, hex))))) {
        json_decref(p);
        p = NULL;
    }
    return p;
}

/* The signed OperandAccessAuthorizationV2 {payload, signature} for handles[0..n); NULL (err set) on failure. */
static json_t *operand_request(nox_gateway_client *c, const nox_gateway_tx *tx, const nox_handle *handles, size_t n,
                               const char *rsa_spki_hex, nox_error *err) {
    char tx_hex[67];
    char(*texts)[67] = calloc(n, sizeof *texts);
    const char **ptrs = calloc(n, sizeof *ptrs);
    nox_eip712_runner_scope scope = scope_now(c, tx, tx_hex);
    json_t *payload = head(&scope), *ops = json_array(), *doc = NULL;
    if (!texts || !ptrs || !payload || !ops) {
        json_decref(payload);
        json_decref(ops);
        nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
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
    nox_eip712_hash_operand_access_authorization_v2(&scope, ptrs, n, rsa_spki_hex, hash);
    doc = signed_doc(c, tx->chain_id, payload, hash, err);
done:
    free(texts);
    free(ptrs);
    return doc;
}

/* ---- the KMS nodes' envelopes (docs/PROTOCOL-EXTENSIONS.md §11) ---------------------------------------------- */

typedef nox_opened_partials opened;

static void opened_wipe(opened *o) { nox_opened_partials_wipe(o); }

/* A KMS node whose partial failed its DLEQ proof: counted, logged, and left out of the next requests. */
static void blame_nodes(nox_gateway_client *c, uint64_t bad, uint64_t already) {
    for (unsigned i = 1; i <= NOX_TH_MAX_NODES; i++) {
        uint64_t bit = (uint64_t)1 << (i - 1);
        if (!(bad & bit)) continue;
        nox_counter_add(c->bad_partials[i - 1], 1);
        atomic_fetch_add(&c->blamed, 1);
        uint64_t until = (uint64_t)time(NULL) + NOX_GATEWAY_BAD_NODE_S;
        if (!(already & bit) && atomic_exchange(&c->bad_until[i - 1], until) < (uint64_t)time(NULL))
            nox_log(NOX_LOG_ERROR, "KMS node %u returned a wrong partial (its DLEQ proof fails): combined without it; "
                    "excluded from the next requests for %d s", i, NOX_GATEWAY_BAD_NODE_S);
    }
}

/* "excludeNodes" for a batch request: the nodes blamed in the last NOX_GATEWAY_BAD_NODE_S seconds, or NULL. */
/* The KMS nodes blamed in the last NOX_GATEWAY_BAD_NODE_S seconds (bit i-1 for node i). */
static uint64_t excluded(nox_gateway_client *c) {
    uint64_t now = (uint64_t)time(NULL), mask = 0;
    for (unsigned i = 1; i <= NOX_TH_MAX_NODES; i++)
        if (atomic_load(&c->bad_until[i - 1]) > now) mask |= (uint64_t)1 << (i - 1);
    return mask;
}

static json_t *exclusions(nox_gateway_client *c) {
    uint64_t mask = excluded(c);
    json_t *list = mask ? json_array() : NULL;
    for (unsigned i = 1; list && i <= NOX_TH_MAX_NODES; i++)
        if (mask & ((uint64_t)1 << (i - 1))) json_array_append_new(list, json_integer(i));
    return list ? json_pack("{s:o}", "excludeNodes", list) : NULL;
}

/* Opens the "delegations" of an answer (doc: the top-level object) with the requester's key. */
static nox_status open_delegations(nox_gateway_client *c, json_t *doc, uint64_t chain_id, opened *o, nox_error *err) {
    if (!c->rsa) return nox_error_set(err, NOX_ERR_INVALID, "fetch operands: no requester key set");
    uint64_t unopened = 0;
    nox_status st = nox_delegations_open(c->rsa, c->envelope_keys, doc, chain_id, o, &unopened, err);
    if (unopened) nox_log(NOX_LOG_WARN, "fetch operands: the envelope of KMS node(s) 0x%llx (a bit per node) does not "
                          "open: sealed for another requester, node or chain, or altered on the way",
                          (unsigned long long)unopened);
    if (st) nox_error_prefix(err, "fetch operands: ");
    return st;
}

/* Reads an answer {"operands": [...]} for handles[0..n) into out: each operand decrypted from the opened envelopes. */
static nox_status read_operands(nox_gateway_client *c, json_t *answer, const nox_handle *handles, size_t n,
                                nox_gateway_operand *out, opened *o, nox_error *err) {
    json_t *list = json_object_get(answer, "operands");
    if (!json_is_array(list) || json_array_size(list) != n)
        return nox_error_set(err, NOX_ERR_INVALID, "fetch operands: the answer lacks %zu operands", n);
    nox_status st = NOX_OK;
    uint64_t bad = excluded(c); /* left out of every combination; grows as this answer names liars */
    for (size_t i = 0; i < n && !st; i++) {
        json_t *v = json_array_get(list, i), *h = json_object_get(v, "handle");
        char text[67];
        nox_hex_encode(handles[i].bytes, 32, text);
        if (!json_is_string(h) || strcasecmp(json_string_value(h), text) != 0)
            return nox_error_set(err, NOX_ERR_INVALID, "fetch operands: operands[%zu] is for another handle", i);
        uint64_t before = bad;
        st = nox_delegations_decrypt_value(o, v, out[i].plaintext, sizeof out[i].plaintext, &out[i].plaintext_len,
                                           &bad, err);
        if (bad != before) blame_nodes(c, bad & ~before, before);
        if (st) {
            nox_error_prefix(err, "fetch operands: operands[%zu]: ", i);
            if (st == NOX_ERR_REMOTE) st = err->code = NOX_ERR_IO; /* too few good partials: ask again, without the liars */
        }
    }
    if (st)
        for (size_t i = 0; i < n; i++) OPENSSL_cleanse(out[i].plaintext, sizeof out[i].plaintext);
    return st;
}

/* One GET /v0/compute/operands for handles[0..n), n <= NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST. */
static nox_status fetch_chunk(nox_gateway_client *c, const nox_gateway_tx *tx, const nox_handle *handles, size_t n,
                              const char *rsa_spki_hex, nox_gateway_operand *out, nox_gateway_fault *fault,
                              nox_error *err) {
    char *auth = auth_header(operand_request(c, tx, handles, n, rsa_spki_hex, err), err);
    if (!auth) return err->code ? err->code : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    json_t *doc = NULL;
    nox_status st = exchange(c, "fetch operands", "/v0/compute/operands", NULL, auth, &doc, fault, err);
    free(auth);
    opened o;
    if (!st && !(st = open_delegations(c, doc, tx->chain_id, &o, err))) {
        st = read_operands(c, doc, handles, n, out, &o, err);
        opened_wipe(&o);
    }
    json_decref(doc);
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
 * A batch entry {"status", "error", "message"} (what the Gateway would have answered for that item
 * alone): its status and fault, classified like an answer of its own; 0 when e is no such entry.
 */
static int entry_fault(nox_gateway_client *c, json_t *e, nox_gateway_fault *fault, nox_status *status,
                       nox_error *error, const char *what) {
    json_t *hs = json_object_get(e, "status");
    if (!json_is_integer(hs)) return 0;
    nox_gateway_fault f;
    memset(&f, 0, sizeof f);
    nox_status st = nox_json_refusal(c->http, what, (long)json_integer_value(hs), e, &f, error);
    *fault = f;
    *status = not_found(st, &f, what, error);
    return 1;
}

/*
 * POSTs {key: list} (list borrowed) to path; on NOX_OK *answers is the answer's array of exactly n
 * "responses", owned by *doc (json_decref it).
 */
static nox_status batch_exchange(nox_gateway_client *c, const char *what, const char *path, const char *key,
                                 json_t *list, json_t *extra, size_t n, json_t **doc, json_t **answers,
                                 nox_gateway_fault *fault, nox_error *err) {
    *doc = *answers = NULL;
    json_t *body = json_pack("{s:O}", key, list);
    if (body && extra && json_object_update(body, extra)) {
        json_decref(body);
        body = NULL;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    nox_status st = text ? exchange(c, what, path, text, NULL, doc, fault, err)
                         : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    free(text);
    if (st) return st;
    *answers = json_object_get(*doc, "responses");
    if (!json_is_array(*answers) || json_array_size(*answers) != n)
        return nox_error_set(err, NOX_ERR_INVALID, "%s: the answer lacks %zu responses", what, n);
    return NOX_OK;
}

/* A 400 "operand_failed": operands of the request that have a failure record (docs/PROTOCOL-EXTENSIONS.md §3). */
static int is_operand_failed(nox_status st, const nox_gateway_fault *f) {
    return st == NOX_ERR_REMOTE && f->http_status == 400 && strcmp(f->code, "operand_failed") == 0;
}

/* Adds request position i with `reason` to r->failed (once per position). */
static void add_failed(nox_gateway_fetch *r, size_t i, const char *reason) {
    for (size_t k = 0; k < r->n_failed; k++)
        if (r->failed[k].index == i) return;
    nox_gateway_failed_operand *f = &r->failed[r->n_failed++];
    f->index = i;
    nox_printable(reason[0] ? reason : "(no reason given)", NOX_GATEWAY_MAX_REASON, f->reason, sizeof f->reason);
}

/*
 * The answer's `failed` list, [{"handle": "0x…", "reason": "…"}, ...]: every requested operand it names,
 * in request order. 0 (nothing added) when the list is absent or not exactly that shape, or names no
 * requested operand.
 */
static int read_failed_list(json_t *doc, nox_gateway_fetch *r) {
    json_t *list = json_object_get(doc, "failed");
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n == 0 || n > NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST) return 0;
    nox_handle *named = calloc(n, sizeof *named);
    const char **why = calloc(n, sizeof *why);
    int ok = named && why;
    for (size_t k = 0; ok && k < n; k++) {
        json_t *e = json_array_get(list, k), *h = json_object_get(e, "handle"), *w = json_object_get(e, "reason");
        nox_error e2 = {0};
        ok = json_is_string(h) && json_is_string(w) &&
             nox_hex_decode_exact(json_string_value(h), json_string_length(h), named[k].bytes, NOX_HANDLE_SIZE, &e2) ==
                 NOX_OK;
        if (ok) why[k] = json_string_value(w);
    }
    for (size_t i = 0; ok && i < r->n; i++)
        for (size_t k = 0; k < n; k++)
            if (!memcmp(named[k].bytes, r->handles[i].bytes, NOX_HANDLE_SIZE)) {
                add_failed(r, i, why[k]);
                break;
            }
    free(named);
    free(why);
    return r->n_failed > 0;
}

/* The one operand the message of an operand_failed answer names: "operands[i] 0x<64> failed and will not be
 * stored: <reason>" (what every Gateway sends); 0 when the message is not that, or names another handle. */
static int read_named_operand(const char *msg, nox_gateway_fetch *r) {
    static const char head[] = "operands[", tail[] = " failed and will not be stored: ";
    if (strncmp(msg, head, sizeof head - 1)) return 0;
    const char *p = msg + sizeof head - 1;
    size_t i = 0, digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 7; p++, digits++) i = i * 10 + (size_t)(*p - '0');
    nox_handle h;
    nox_error e = {0};
    if (digits == 0 || p[0] != ']' || p[1] != ' ' || strlen(p + 2) < 66 ||
        nox_hex_decode_exact(p + 2, 66, h.bytes, NOX_HANDLE_SIZE, &e) || strncmp(p + 68, tail, sizeof tail - 1) ||
        i >= r->n || memcmp(h.bytes, r->handles[i].bytes, NOX_HANDLE_SIZE))
        return 0;
    add_failed(r, i, p + 68 + sizeof tail - 1);
    return 1;
}

/* After r's answer: its failed operands when it is an operand_failed refusal (doc: the refusal's body, when read). */
static void note_failed(json_t *doc, nox_gateway_fetch *r) {
    r->n_failed = 0;
    if (!r->failed || !is_operand_failed(r->status, &r->fault)) return;
    if (!read_failed_list(doc, r)) read_named_operand(r->fault.message, r);
}

/* Request r's outcome from its entry of a batch answer: operands, or {"status", "error", "message"[, "failed"]}. */
static void read_entry(nox_gateway_client *c, json_t *e, nox_gateway_fetch *r, opened *o) {
    if (entry_fault(c, e, &r->fault, &r->status, &r->error, "fetch operands")) note_failed(e, r);
    else if (!o->t) r->status = nox_error_set(&r->error, NOX_ERR_INVALID, "fetch operands: operands without delegations");
    else r->status = read_operands(c, e, r->handles, r->n, r->out, o, &r->error);
}

/* One POST /v0/compute/operands/batch for reqs[0..n). */
static nox_status fetch_batch_once(nox_gateway_client *c, nox_gateway_fetch *reqs, size_t n, const char *rsa_spki_hex,
                                   nox_gateway_fault *fault, nox_error *err) {
    json_t *list = json_array(), *doc = NULL;
    nox_status st = list ? NOX_OK : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !st; i++) {
        json_t *one = operand_request(c, &reqs[i].tx, reqs[i].handles, reqs[i].n, rsa_spki_hex, err);
        if (!one || json_array_append_new(list, one)) st = err->code ? err->code : NOX_ERR_NOMEM;
    }
    json_t *answers = NULL, *extra = exclusions(c);
    if (!st)
        st = batch_exchange(c, "fetch operands (batch)", "/v0/compute/operands/batch", "requests", list, extra, n,
                            &doc, &answers, fault, err);
    json_decref(list);
    json_decref(extra);
    opened o = {0};
    nox_error oe = {0};
    nox_status ost = st || !json_object_get(doc, "delegations") ? NOX_OK
                                                                : open_delegations(c, doc, reqs[0].tx.chain_id, &o, &oe);
    for (size_t i = 0; i < n; i++) {
        nox_error_clear(&reqs[i].error);
        memset(&reqs[i].fault, 0, sizeof reqs[i].fault);
        reqs[i].n_failed = 0;
        if (st) {
            reqs[i].status = nox_error_set(&reqs[i].error, st, "%s", err->message);
            if (fault) reqs[i].fault = *fault;
        } else if (ost) {
            reqs[i].status = nox_error_set(&reqs[i].error, ost, "%s", oe.message);
        } else {
            read_entry(c, json_array_get(answers, i), &reqs[i], &o);
        }
    }
    opened_wipe(&o);
    json_decref(doc);
    return st;
}

/*
 * One POST /v0/compute/operands/batch for reqs[0..n), asked once more at once when this answer named a KMS node
 * whose partials are wrong and some request could not be decrypted for it (too few good partials): the next
 * request excludes that node ("combine again without it", docs/PROTOCOL-EXTENSIONS.md §11).
 */
static nox_status fetch_batch(nox_gateway_client *c, nox_gateway_fetch *reqs, size_t n, const char *rsa_spki_hex,
                              nox_gateway_fault *fault, nox_error *err) {
    unsigned long blamed = atomic_load(&c->blamed);
    nox_status st = fetch_batch_once(c, reqs, n, rsa_spki_hex, fault, err);
    int again = 0;
    for (size_t i = 0; !st && i < n; i++) again |= reqs[i].status == NOX_ERR_IO;
    if (!again || atomic_load(&c->blamed) == blamed) return st;
    return fetch_batch_once(c, reqs, n, rsa_spki_hex, fault, err);
}

/*
 * Request r alone, in parts of at most NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST operands: each a batch of
 * one (so that an operand_failed answer lists every failed operand), or a GET when the Gateway has no
 * batch endpoint. The parts' outcomes make r's: the first error other than not_found / operand_failed
 * ends it; else operand_failed with every part's failed operands; else not_found; else NOX_OK.
 */
static void fetch_alone(nox_gateway_client *c, nox_gateway_fetch *r, const char *rsa_spki_hex) {
    nox_error_clear(&r->error);
    memset(&r->fault, 0, sizeof r->fault);
    r->n_failed = 0;
    if (r->n == 0) {
        r->status = nox_error_set(&r->error, NOX_ERR_INVALID, "no operands to fetch");
        return;
    }
    nox_gateway_fetch failed_part = {0}, missing_part = {0};
    for (size_t at = 0; at < r->n; at += NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST) {
        size_t k = r->n - at < NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST ? r->n - at : NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST;
        /* the failed operands of earlier parts have indices < at, so r->failed has room for this part's */
        nox_gateway_fetch part = {.tx = r->tx, .handles = r->handles + at, .n = k, .out = r->out + at,
                                  .failed = r->failed ? r->failed + r->n_failed : NULL};
        nox_status st = NOX_ERR_REMOTE;
        if (!atomic_load(&c->no_batch)) {
            nox_gateway_fault fault = {0};
            nox_error err = {0};
            st = fetch_batch(c, &part, 1, rsa_spki_hex, &fault, &err);
            if (st == NOX_ERR_REMOTE && fault.http_status == 404) atomic_store(&c->no_batch, 1);
        }
        if (atomic_load(&c->no_batch)) {
            memset(&part.fault, 0, sizeof part.fault);
            nox_error_clear(&part.error);
            part.status = nox_gateway_fetch_operands(c, &part.tx, part.handles, k, rsa_spki_hex, part.out, &part.fault,
                                                     &part.error);
            note_failed(NULL, &part);
        }
        if (is_operand_failed(part.status, &part.fault)) {
            for (size_t f = 0; f < part.n_failed; f++) part.failed[f].index += at;
            r->n_failed += part.n_failed;
            if (!failed_part.status) failed_part = part;
        } else if (part.status == NOX_ERR_NOT_FOUND) {
            if (!missing_part.status) missing_part = part;
        } else if (part.status) {
            r->status = part.status;
            r->fault = part.fault;
            r->error = part.error;
            r->n_failed = 0;
            return;
        }
    }
    const nox_gateway_fetch *why = failed_part.status ? &failed_part : missing_part.status ? &missing_part : NULL;
    r->status = why ? why->status : NOX_OK;
    if (why) {
        r->fault = why->fault;
        r->error = why->error;
    }
    if (!failed_part.status) r->n_failed = 0;
}

nox_status nox_gateway_fetch_operands_batch(nox_gateway_client *c, nox_gateway_fetch *reqs, size_t n,
                                            const char *rsa_spki_hex, nox_error *err) {
    nox_status first = NOX_OK;
    size_t at = 0;
    while (at < n) {
        nox_gateway_fetch *r = &reqs[at];
        if (r->n == 0 || r->n > NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST || atomic_load(&c->no_batch)) {
            fetch_alone(c, r, rsa_spki_hex);
            at++;
            continue;
        }
        size_t k = 0, total = 0; /* the most that fit one batch */
        while (at + k < n && k < NOX_GATEWAY_MAX_BATCH && reqs[at + k].n > 0 &&
               total + reqs[at + k].n <= NOX_GATEWAY_MAX_OPERANDS_PER_REQUEST &&
               reqs[at + k].tx.chain_id == r->tx.chain_id)
            total += reqs[at + k++].n;
        nox_gateway_fault fault = {0};
        nox_status st = fetch_batch(c, r, k, rsa_spki_hex, &fault, err);
        if (st == NOX_ERR_REMOTE && fault.http_status == 404) { /* a Gateway without it: one request each */
            atomic_store(&c->no_batch, 1);
            continue;
        }
        if (st && !first) first = st;
        at += k;
    }
    return first;
}

/*
 * POSTs body (stolen) to path with the signed authorization auth (stolen; NULL when making it failed,
 * err set); on NOX_OK *answer is the Gateway's answer (json_decref it).
 */
static nox_status publish(nox_gateway_client *c, json_t *auth, json_t *body, const char *what, const char *path,
                          json_t **answer, nox_gateway_fault *fault, nox_error *err) {
    *answer = NULL;
    char *header = auth_header(auth, err), *text = header && body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    nox_status st;
    if (!header || !text) st = err->code ? err->code : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    else st = exchange(c, what, path, text, header, answer, fault, err);
    free(text);
    free(header);
    return st;
}

/* The body of a result set: [{handle, handleValueTag, ciphertext, publicKey, nonce}, ...]; NULL when out of memory. */
static json_t *results_json(const nox_gateway_result *results, size_t n) {
    json_t *body = json_array();
    for (size_t i = 0; body && i < n; i++) {
        const nox_gateway_result *r = &results[i];
        char h[67], tag[67], pk[2 * NOX_ECIES_EPHEMERAL_SIZE + 3], nonce[2 * NOX_ECIES_NONCE_SIZE + 3];
        char ct[2 * NOX_GATEWAY_MAX_CIPHERTEXT + 3];
        if (json_array_append_new(
                body, json_pack("{s:s, s:s, s:s, s:s, s:s}", "handle", nox_hex_encode(r->handle.bytes, 32, h),
                                "handleValueTag", nox_hex_encode(r->value_tag, 32, tag), "ciphertext",
                                nox_hex_encode(r->ciphertext, r->ciphertext_len, ct), "publicKey",
                                nox_hex_encode(r->public_key, sizeof r->public_key, pk), "nonce",
                                nox_hex_encode(r->nonce, sizeof r->nonce, nonce)))) {
            json_decref(body);
            body = NULL;
        }
    }
    return body;
}

/*
 * The signed ResultPublishingAuthorizationV2 {payload, signature} of the result set results[0..n) of tx,
 * its window starting now; NULL (err set) on failure.
 */
static json_t *results_authorization(nox_gateway_client *c, const nox_gateway_tx *tx,
                                     const nox_gateway_result *results, size_t n, nox_error *err) {
    char tx_hex[67];
    uint8_t digest[32], hash[32];
    nox_content_digest d;
    nox_content_digest_init(&d);
    for (size_t i = 0; i < n; i++)
        nox_content_digest_add_result(&d, results[i].handle.bytes, results[i].value_tag, results[i].public_key,
                                      results[i].nonce, results[i].ciphertext, results[i].ciphertext_len);
    nox_content_digest_final(&d, digest);
    nox_eip712_runner_scope scope = scope_now(c, tx, tx_hex);
    json_t *payload = content_head(&scope, "resultCount", d.count, "resultsDigest", digest);
    if (!payload) {
        nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        return NULL;
    }
    nox_eip712_hash_result_publishing_authorization_v2(&scope, d.count, digest, hash);
    return signed_doc(c, tx->chain_id, payload, hash, err);
}

static nox_status read_counts(json_t *doc, nox_gateway_counts *counts, nox_error *err) {
    json_t *a = json_object_get(doc, "created"), *b = json_object_get(doc, "unchanged"),
           *d = json_object_get(doc, "conflicted");
    if (!json_is_integer(a) || !json_is_integer(b) || !json_is_integer(d))
        return nox_error_set(err, NOX_ERR_INVALID, "post results: the answer lacks the counts");
    if (counts) {
        counts->created = (uint64_t)json_integer_value(a);
        counts->unchanged = (uint64_t)json_integer_value(b);
        counts->conflicted = (uint64_t)json_integer_value(d);
    }
    return NOX_OK;
}

nox_status nox_gateway_post_results(nox_gateway_client *c, const nox_gateway_tx *tx,
                                    const nox_gateway_result *results, size_t n, nox_gateway_counts *counts,
                                    nox_gateway_fault *fault, nox_error *err) {
    if (n == 0) return nox_error_set(err, NOX_ERR_INVALID, "no results to post");
    json_t *doc;
    nox_status st = publish(c, results_authorization(c, tx, results, n, err), results_json(results, n), "post results",
                            "/v0/compute/results", &doc, fault, err);
    if (st) return st;
    st = read_counts(doc, counts, err);
    json_decref(doc);
    return st;
}

/* One POST /v0/compute/results/batch for reqs[0..n). */
static nox_status publish_batch(nox_gateway_client *c, nox_gateway_publish *reqs, size_t n, nox_gateway_fault *fault,
                                nox_error *err) {
    json_t *list = json_array(), *doc = NULL;
    nox_status st = list ? NOX_OK : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !st; i++) {
        json_t *auth = results_authorization(c, &reqs[i].tx, reqs[i].results, reqs[i].n, err);
        json_t *results = results_json(reqs[i].results, reqs[i].n);
        if (!auth || !results || json_array_append_new(list, json_pack("{s:o, s:o}", "authorization", auth,
                                                                       "results", results))) {
            if (!auth) json_decref(results);
            else if (!results) json_decref(auth); /* json_pack was not called: nothing stole it */
            st = err->code ? err->code : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        }
    }
    json_t *answers = NULL;
    if (!st)
        st = batch_exchange(c, "post results (batch)", "/v0/compute/results/batch", "transactions", list, NULL, n, &doc,
                            &answers, fault, err);
    json_decref(list);
    for (size_t i = 0; i < n; i++) {
        nox_gateway_publish *r = &reqs[i];
        nox_error_clear(&r->error);
        memset(&r->fault, 0, sizeof r->fault);
        memset(&r->counts, 0, sizeof r->counts);
        json_t *e = st ? NULL : json_array_get(answers, i);
        if (st) {
            r->status = nox_error_set(&r->error, st, "%s", err->message);
            if (fault) r->fault = *fault;
        } else if (!entry_fault(c, e, &r->fault, &r->status, &r->error, "post results")) {
            r->status = read_counts(e, &r->counts, &r->error);
        }
    }
    json_decref(doc);
    return st;
}

nox_status nox_gateway_post_results_batch(nox_gateway_client *c, nox_gateway_publish *reqs, size_t n,
                                          nox_error *err) {
    nox_status first = NOX_OK;
    size_t at = 0;
    while (at < n) {
        nox_gateway_publish *r = &reqs[at];
        if (r->n == 0 || r->n > NOX_GATEWAY_MAX_RESULTS_PER_REQUEST || atomic_load(&c->no_results_batch)) {
            nox_error_clear(&r->error);
            memset(&r->fault, 0, sizeof r->fault);
            r->status = nox_gateway_post_results(c, &r->tx, r->results, r->n, &r->counts, &r->fault, &r->error);
            at++;
            continue;
        }
        size_t k = 0, total = 0;
        while (at + k < n && k < NOX_GATEWAY_MAX_BATCH && reqs[at + k].n > 0 &&
               total + reqs[at + k].n <= NOX_GATEWAY_MAX_RESULTS_PER_REQUEST)
            total += reqs[at + k++].n;
        nox_gateway_fault fault = {0};
        nox_status st = publish_batch(c, r, k, &fault, err);
        if (st == NOX_ERR_REMOTE && fault.http_status == 404) {
            atomic_store(&c->no_results_batch, 1);
            continue;
        }
        if (st && !first) first = st;
        at += k;
    }
    return first;
}

/* One POST /v0/compute/failures of n <= NOX_GATEWAY_MAX_FAILURES_PER_REQUEST records. */
static nox_status post_failures_chunk(nox_gateway_client *c, const nox_gateway_tx *tx,
                                      const nox_gateway_failure *failures, size_t n, uint64_t *recorded,
                                      nox_gateway_fault *fault, nox_error *err) {
    char tx_hex[67];
    uint8_t digest[32], hash[32];
    json_t *body = json_array();
    nox_content_digest d;
    nox_content_digest_init(&d);
    for (size_t i = 0; body && i < n; i++) {
        char h[67], reason[NOX_GATEWAY_MAX_REASON + 1];
        const char *r = failures[i].reason ? failures[i].reason : "";
        size_t k = 0;
        for (; r[k] && k < NOX_GATEWAY_MAX_REASON; k++)
            reason[k] = (r[k] >= 0x20 && r[k] < 0x7f) ? r[k] : '?';
        if (k == 0) reason[k++] = '?';
        reason[k] = '\0';
        nox_content_digest_add_failure(&d, failures[i].handle.bytes, reason, k); /* the bytes sent */
        if (json_array_append_new(body, json_pack("{s:s, s:s}", "handle",
                                                  nox_hex_encode(failures[i].handle.bytes, 32, h), "reason", reason))) {
            json_decref(body);
            body = NULL;
        }
    }
    nox_content_digest_final(&d, digest);
    nox_eip712_runner_scope scope = scope_now(c, tx, tx_hex);
    json_t *payload = body ? content_head(&scope, "recordCount", d.count, "recordsDigest", digest) : NULL;
    if (!payload) {
        json_decref(body);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    nox_eip712_hash_failure_recording_authorization(&scope, d.count, digest, hash);
    json_t *doc;
    nox_status st = publish(c, signed_doc(c, tx->chain_id, payload, hash, err), body, "post failures",
                            "/v0/compute/failures", &doc, fault, err);
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
