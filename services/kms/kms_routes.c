/*
 * The KMS API of spec §8:
 *   GET  /v0/public-key?chainId=N  -> {"publicKey", "proof"}
 *   POST /v0/delegate?chainId=N    -> {"encryptedSharedSecret"}
 *   POST /v0/delegate/batch?chainId=N -> {"encryptedSharedSecrets": [...]} (docs/PROTOCOL-EXTENSIONS.md §4)
 *   POST /v0/delegate/partials?chainId=N -> {"node", "wrappedKey", "iv", "ciphertext"} (§11: a threshold
 *        node's partials and DLEQ proofs, sealed to the requester in one envelope)
 *   GET  /v0/group -> the group file (§11: t, n, P, commitments, verification keys; public)
 * The KMS never decrypts data: a delegation is one ECDH (its key · the
 * stored ephemeral key) and one RSA-OAEP encryption of the x-coordinate to
 * the requester's key, for the configured Gateway only.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms.h"
#include "nox/clock.h"
#include "nox/delegation.h"
#include "nox/eip712.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/rsa.h"

/* The largest RSA key we accept is 16384 bits: its ciphertext is 2048 bytes. */
enum { MAX_RSA_BYTES = 2048 };

/* The chain of ?chainId=N, or NULL after answering 400. */
static const kms_chain *chain_of(const kms_state *st, const nox_http_request *req, nox_http_response *resp) {
    const char *text = nox_http_request_query(req, "chainId");
    if (!text) {
        nox_http_respond_error(resp, 400, "bad_request", "the query parameter chainId is required");
        return NULL;
    }
    char *end;
    unsigned long long id = strtoull(text, &end, 10);
    if (!(*text >= '0' && *text <= '9') || *end || id == 0 || id > UINT32_MAX) {
        nox_http_respond_error(resp, 400, "bad_request", "chainId must be a decimal integer in [1, 4294967295]");
        return NULL;
    }
    for (size_t i = 0; i < st->cfg.n_chains; i++)
        if (st->cfg.chains[i].chain_id == id) return &st->cfg.chains[i];
    nox_http_respond_error(resp, 400, "unknown_chain", "chain %llu is not served by this KMS", id);
    return NULL;
}

nox_status kms_prepare_public_keys(kms_state *st, nox_error *err) {
    char key_hex[2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3], sig_hex[2 * NOX_EC_SIGNATURE_SIZE + 3];
    nox_hex_encode(st->public_key, sizeof st->public_key, key_hex);
    for (size_t i = 0; i < st->cfg.n_chains; i++) {
        kms_chain *c = &st->cfg.chains[i];
        uint8_t hash[32], sig[NOX_EC_SIGNATURE_SIZE];
        nox_eip712_domain domain = nox_eip712_domain_kms_public_key(c->chain_id);
        nox_eip712_hash_public_key_proof(key_hex, hash);
        nox_status s = nox_eip712_sign(&st->wallet, &domain, hash, sig, err);
        if (s) return s;
        nox_hex_encode(sig, sizeof sig, sig_hex);
        json_t *body = json_pack("{s:s, s:s}", "publicKey", key_hex, "proof", sig_hex);
        c->public_key_json = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (!c->public_key_json) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    return NOX_OK;
}

void kms_handle_group(void *state, const nox_http_request *req, nox_http_response *resp) {
    (void)req;
    const kms_state *st = state;
    nox_http_respond_json(resp, 200, st->group_json);
}

void kms_handle_public_key(void *state, const nox_http_request *req, nox_http_response *resp) {
    const kms_chain *c = chain_of(state, req, resp);
    if (c) nox_http_respond_json(resp, 200, c->public_key_json);
}

/* The Gateway's signature from "Authorization: Bearer 0x<130 hex>", or 0 after answering 401. */
static int bearer_signature(const nox_http_request *req, nox_http_response *resp, uint8_t sig[NOX_EC_SIGNATURE_SIZE]) {
    const char *auth = nox_http_request_header(req, "Authorization");
    nox_error err;
    if (!auth) {
        nox_http_respond_error(resp, 401, "unauthorized", "missing header Authorization: Bearer 0x<65-byte signature>");
        return 0;
    }
    if (strncmp(auth, "Bearer ", 7) != 0 || nox_hex_decode_exact(auth + 7, strlen(auth + 7), sig, NOX_EC_SIGNATURE_SIZE, &err)) {
        nox_http_respond_error(resp, 401, "unauthorized",
                               "Authorization must be 'Bearer 0x' + 130 hex digits (a 65-byte signature)");
        return 0;
    }
    return 1;
}

/* A required string member of the body, or NULL after answering 400. */
static const char *string_field(json_t *body, const char *name, nox_http_response *resp) {
    json_t *v = json_object_get(body, name);
    if (!v) nox_http_respond_error(resp, 400, "bad_request", "missing field %s", name);
    else if (!json_is_string(v)) nox_http_respond_error(resp, 400, "bad_request", "%s must be a string", name);
    else return json_string_value(v);
    return NULL;
}

/* The JSON object body of a POST, or NULL after answering 400. */
static json_t *object_body(const nox_http_request *req, nox_http_response *resp) {
    size_t len;
    const char *text = nox_http_request_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (body && json_is_object(body)) return body;
    nox_http_respond_error(resp, 400, "bad_request", "the body must be a JSON object%s%s", body ? "" : ": ",
                           body ? "" : jerr.text);
    json_decref(body);
    return NULL;
}

/* 1 when `sig` over the struct hash recovers to chain c's Gateway; else answers 401. */
static int from_gateway(const kms_chain *c, const uint8_t hash[32], const uint8_t sig[NOX_EC_SIGNATURE_SIZE],
                        nox_http_response *resp) {
    uint8_t signer[NOX_ADDRESS_SIZE];
    nox_eip712_domain domain = nox_eip712_domain_kms_delegate(c->chain_id);
    nox_error err = {0};
    if (nox_eip712_recover(&domain, hash, sig, NOX_EC_SIGNATURE_SIZE, signer, &err)) {
        nox_http_respond_error(resp, 401, "unauthorized", "bad signature: %s", err.message);
        return 0;
    }
    if (memcmp(signer, c->gateway, NOX_ADDRESS_SIZE) != 0) {
        nox_http_respond_error(resp, 401, "unauthorized",
                               "the signature is not from the Gateway configured for chain %u", c->chain_id);
        return 0;
    }
    return 1;
}

/*
 * One delegation of ephemeral key `eph` (0x + 66 hex) to `rsa`: its encryptedSharedSecret as 0x hex
 * in out_hex (2 * MAX_RSA_BYTES + 3); 0 after answering 400 (`what` names the field).
 */
static int delegate_one(const kms_state *st, const char *what, const char *eph, const nox_rsa_key *rsa,
                        char *out_hex, nox_http_response *resp) {
    uint8_t eph_bytes[NOX_EC_PUBKEY_COMPRESSED_SIZE], out[MAX_RSA_BYTES];
    size_t out_len = 0;
    nox_error err = {0};
    if (nox_hex_decode_exact(eph, strlen(eph), eph_bytes, sizeof eph_bytes, &err)) {
        nox_http_respond_error(resp, 400, "bad_request",
                               "%s must be a compressed secp256k1 point (0x + 66 hex digits): %s", what, err.message);
        return 0;
    }
    if (nox_delegation_delegate(&st->key, eph_bytes, sizeof eph_bytes, rsa, out, sizeof out, &out_len, &err)) {
        nox_http_respond_error(resp, 400, "bad_request", "%s: %s", what, err.message);
        return 0;
    }
    nox_hex_encode(out, out_len, out_hex);
    return 1;
}

/* 409 when this node holds a share of a t > 1 group: its own d_i·K is not the shared secret. */
static int whole_key(const kms_state *st, nox_http_response *resp) {
    if (st->group.threshold == 1) return 1;
    nox_http_respond_error(resp, 409, "threshold_share",
                           "this KMS node holds share %u of a %u-of-%u key: ask for partials (POST "
                           "/v0/delegate/partials, docs/PROTOCOL-EXTENSIONS.md §11)",
                           st->index, st->group.threshold, st->group.nodes);
    return 0;
}

/* Validates, authenticates and performs one delegation; answers every outcome. */
static void delegate(const kms_state *st, const nox_http_request *req, nox_http_response *resp) {
    const kms_chain *c = chain_of(st, req, resp);
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    json_t *body;
    if (!c || !bearer_signature(req, resp, sig) || !(body = object_body(req, resp))) return;
    const char *eph = string_field(body, "ephemeralPubKey", resp);
    const char *target = eph ? string_field(body, "targetPubKey", resp) : NULL;
    /* The signature covers the strings exactly as sent: check it before looking inside them. */
    uint8_t hash[32];
    if (target) nox_eip712_hash_delegate_authorization(eph, target, hash);
    nox_rsa_key *rsa = NULL;
    nox_error err = {0};
    char out_hex[2 * MAX_RSA_BYTES + 3];
    if (!target || !from_gateway(c, hash, sig, resp) || !whole_key(st, resp)) {
        /* answered */
    } else if (nox_rsa_cache_get(st->target_keys, target, &rsa, &err)) {
        nox_http_respond_error(resp, 400, "bad_request", "targetPubKey: %s", err.message);
    } else if (delegate_one(st, "ephemeralPubKey", eph, rsa, out_hex, resp)) {
        nox_http_respond_value(resp, json_pack("{s:s}", "encryptedSharedSecret", out_hex));
    }
    nox_rsa_free(rsa);
    json_decref(body);
}

/* A request for n keys to one target: {"ephemeralPubKeys": [...], "targetPubKey"}, signed by the chain's Gateway. */
typedef struct keys_request {
    const kms_chain *chain;
    json_t *body;
    const char **eph; /* n strings inside body */
    size_t n;
    const char *target;
    nox_rsa_key *rsa;
} keys_request;

static void keys_request_free(keys_request *k) {
    nox_rsa_free(k->rsa);
    free(k->eph);
    json_decref(k->body);
}

typedef void (*keys_hash_fn)(const char *const *eph, size_t n, const char *target, uint8_t out[32]);

/* Parses and authenticates a keys request (its struct hashed by `hash`); 0 after answering 4xx/500. */
static int keys_request_parse(const kms_state *st, const nox_http_request *req, nox_http_response *resp,
                              keys_hash_fn hash_fn, keys_request *k) {
    memset(k, 0, sizeof *k);
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    if (!(k->chain = chain_of(st, req, resp)) || !bearer_signature(req, resp, sig) || !(k->body = object_body(req, resp)))
        return 0;
    json_t *keys = json_object_get(k->body, "ephemeralPubKeys");
    if (!(k->target = string_field(k->body, "targetPubKey", resp))) return 0;
    k->n = json_array_size(keys);
    if (!json_is_array(keys) || k->n == 0 || k->n > KMS_MAX_BATCH) {
        nox_http_respond_error(resp, 400, "bad_request", "ephemeralPubKeys must be an array of 1 to %d strings",
                               KMS_MAX_BATCH);
        return 0;
    }
    if (!(k->eph = calloc(k->n, sizeof *k->eph))) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        return 0;
    }
    for (size_t i = 0; i < k->n; i++) {
        json_t *v = json_array_get(keys, i);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            nox_http_respond_error(resp, 400, "bad_request", "ephemeralPubKeys[%zu] must be a string", i);
            return 0;
        }
        k->eph[i] = json_string_value(v);
    }
    /* The signature covers the strings exactly as sent: check it before looking inside them. */
    uint8_t hash[32];
    hash_fn(k->eph, k->n, k->target, hash);
    if (!from_gateway(k->chain, hash, sig, resp)) return 0;
    nox_error err = {0};
    if (nox_rsa_cache_get(st->target_keys, k->target, &k->rsa, &err)) {
        nox_http_respond_error(resp, 400, "bad_request", "targetPubKey: %s", err.message);
        return 0;
    }
    return 1;
}

/*
 * POST /v0/delegate/batch (docs/PROTOCOL-EXTENSIONS.md §4): n delegations to one target key, one
 * DelegateBatchAuthorization signature; all or nothing (a 400 names the first bad key).
 */
static void delegate_batch(const kms_state *st, const nox_http_request *req, nox_http_response *resp) {
    keys_request k;
    json_t *answer = NULL, *list = NULL;
    if (!keys_request_parse(st, req, resp, nox_eip712_hash_delegate_batch_authorization, &k) || !whole_key(st, resp))
        goto out;
    if (!(answer = json_object()) || !(list = json_array()) || json_object_set_new(answer, "encryptedSharedSecrets", list)) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < k.n; i++) {
        char what[48], out_hex[2 * MAX_RSA_BYTES + 3];
        snprintf(what, sizeof what, "ephemeralPubKeys[%zu]", i);
        if (!delegate_one(st, what, k.eph[i], k.rsa, out_hex, resp)) goto out;
        if (json_array_append_new(list, json_string(out_hex))) {
            nox_http_respond_error(resp, 500, "storage", "out of memory");
            goto out;
        }
    }
    nox_http_respond_value(resp, answer);
    answer = NULL;
out:
    json_decref(answer);
    keys_request_free(&k);
}

/* "0x" + hex of `len` bytes as a new JSON string, or NULL. */
static json_t *hex_string(const uint8_t *bytes, size_t len) {
    char *text = malloc(2 * len + 3);
    json_t *v = text ? json_string(nox_hex_encode(bytes, len, text)) : NULL;
    free(text);
    return v;
}

/*
 * POST /v0/delegate/partials (docs/PROTOCOL-EXTENSIONS.md §11): this node's partial d_i·K and its DLEQ proof
 * for every key, sealed in one envelope to the target key (one RSA-OAEP per request, not per key).
 */
static void delegate_partials(const kms_state *st, const nox_http_request *req, nox_http_response *resp) {
    keys_request k;
    uint8_t (*eph)[NOX_TH_POINT_SIZE] = NULL;
    nox_sealed_partials sealed = {0};
    if (!keys_request_parse(st, req, resp, nox_eip712_hash_partial_delegation_authorization, &k)) goto out;
    if (!(eph = calloc(k.n, sizeof *eph))) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    nox_error err = {0};
    for (size_t i = 0; i < k.n; i++)
        if (nox_hex_decode_exact(k.eph[i], strlen(k.eph[i]), eph[i], NOX_TH_POINT_SIZE, &err)) {
            nox_http_respond_error(resp, 400, "bad_request", "ephemeralPubKeys[%zu] must be a compressed secp256k1 "
                                   "point (0x + 66 hex digits): %s", i, err.message);
            goto out;
        }
    nox_status s = nox_delegation_seal_partials(&st->key, st->index, k.chain->chain_id, (const uint8_t(*)[NOX_TH_POINT_SIZE])eph,
                                                k.n, k.rsa, st->envelope_keys, &sealed, &err);
    if (s == NOX_ERR_INVALID) { /* "ephemeral key [i]: …" */
        const char *m = err.message;
        nox_http_respond_error(resp, 400, "bad_request", "ephemeralPubKeys%s",
                               strncmp(m, "ephemeral key ", 14) == 0 ? m + 14 : m);
        goto out;
    }
    if (s) {
        nox_http_respond_error(resp, 500, "internal", "the partials could not be sealed");
        nox_log(NOX_LOG_ERROR, "sealing partials: %s", err.message);
        goto out;
    }
    json_t *answer = json_pack("{s:I, s:o, s:o, s:o}", "node", (json_int_t)st->index, "wrappedKey",
                               hex_string(sealed.wrapped_key, sealed.wrapped_key_len), "iv",
                               hex_string(sealed.iv, sizeof sealed.iv), "ciphertext",
                               hex_string(sealed.ciphertext, sealed.ciphertext_len));
    if (answer) nox_http_respond_value(resp, answer);
    else nox_http_respond_error(resp, 500, "storage", "out of memory");
out:
    nox_sealed_partials_free(&sealed);
    free(eph);
    keys_request_free(&k);
}

void kms_handle_delegate_partials(void *state, const nox_http_request *req, nox_http_response *resp) {
    const kms_state *st = state;
    double t0 = nox_clock_seconds();
    delegate_partials(st, req, resp);
    nox_histogram_observe(st->partials_seconds, nox_clock_seconds() - t0);
}

void kms_handle_delegate(void *state, const nox_http_request *req, nox_http_response *resp) {
    const kms_state *st = state;
    double t0 = nox_clock_seconds();
    delegate(st, req, resp);
    nox_histogram_observe(st->delegation_seconds, nox_clock_seconds() - t0);
}

void kms_handle_delegate_batch(void *state, const nox_http_request *req, nox_http_response *resp) {
    const kms_state *st = state;
    double t0 = nox_clock_seconds();
    delegate_batch(st, req, resp);
    nox_histogram_observe(st->batch_seconds, nox_clock_seconds() - t0);
}
