/*
 * The KMS API of spec §8:
 *   GET  /v0/public-key?chainId=N  -> {"publicKey", "proof"}
 *   POST /v0/delegate?chainId=N    -> {"encryptedSharedSecret"}
 * The KMS never decrypts data: a delegation is one ECDH (its key · the
 * stored ephemeral key) and one RSA-OAEP encryption of the x-coordinate to
 * the requester's key, for the configured Gateway only.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kms.h"
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

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Validates, authenticates and performs one delegation; answers every outcome. */
static void delegate(const kms_state *st, const nox_http_request *req, nox_http_response *resp) {
    const kms_chain *c = chain_of(st, req, resp);
    uint8_t sig[NOX_EC_SIGNATURE_SIZE];
    if (!c || !bearer_signature(req, resp, sig)) return;

    size_t len;
    const char *text = nox_http_request_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body || !json_is_object(body)) {
        nox_http_respond_error(resp, 400, "bad_request", "the body must be a JSON object%s%s", body ? "" : ": ",
                               body ? "" : jerr.text);
        json_decref(body);
        return;
    }
    const char *eph = string_field(body, "ephemeralPubKey", resp);
    const char *target = eph ? string_field(body, "targetPubKey", resp) : NULL;
    if (!eph || !target) {
        json_decref(body);
        return;
    }

    /* The signature covers the strings exactly as sent: check it before looking inside them. */
    uint8_t hash[32], signer[NOX_ADDRESS_SIZE];
    nox_eip712_domain domain = nox_eip712_domain_kms_delegate(c->chain_id);
    nox_error err = {0};
    nox_eip712_hash_delegate_authorization(eph, target, hash);
    if (nox_eip712_recover(&domain, hash, sig, sizeof sig, signer, &err)) {
        nox_http_respond_error(resp, 401, "unauthorized", "bad signature: %s", err.message);
    } else if (memcmp(signer, c->gateway, NOX_ADDRESS_SIZE) != 0) {
        nox_http_respond_error(resp, 401, "unauthorized",
                               "the signature is not from the Gateway configured for chain %u", c->chain_id);
    } else {
        uint8_t eph_bytes[NOX_EC_PUBKEY_COMPRESSED_SIZE], out[MAX_RSA_BYTES];
        char out_hex[2 * MAX_RSA_BYTES + 3];
        size_t out_len = 0;
        nox_rsa_key *rsa = NULL;
        if (nox_hex_decode_exact(eph, strlen(eph), eph_bytes, sizeof eph_bytes, &err)) {
            nox_http_respond_error(resp, 400, "bad_request",
                                   "ephemeralPubKey must be a compressed secp256k1 point (0x + 66 hex digits): %s",
                                   err.message);
        } else if (nox_rsa_cache_get(st->target_keys, target, &rsa, &err)) {
            nox_http_respond_error(resp, 400, "bad_request", "targetPubKey: %s", err.message);
        } else if (nox_delegation_delegate(&st->key, eph_bytes, sizeof eph_bytes, rsa, out, sizeof out, &out_len,
                                           &err)) {
            nox_http_respond_error(resp, 400, "bad_request", "%s", err.message);
        } else {
            json_t *answer = json_pack("{s:s}", "encryptedSharedSecret", nox_hex_encode(out, out_len, out_hex));
            char *json = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
            if (json) nox_http_respond_json(resp, 200, json);
            else nox_http_respond_error(resp, 500, "storage", "out of memory");
            free(json);
            json_decref(answer);
        }
        nox_rsa_free(rsa);
    }
    json_decref(body);
}

void kms_handle_delegate(void *state, const nox_http_request *req, nox_http_response *resp) {
    const kms_state *st = state;
    double t0 = now_seconds();
    delegate(st, req, resp);
    nox_histogram_observe(st->delegation_seconds, now_seconds() - t0);
}
