/*
 * POST /v0/secrets (spec §7.1): encrypt a user input, store it, sign its HandleProof — only while
 * NoxCompute.kmsPublicKey() is the KMS key it encrypts to (gw_kms_key_usable), else 503.
 * GET /v0/secrets/{handle} (spec §7.2): user decryption through the on-chain ACL and the KMS.
 * Plaintexts are wiped after use and never logged.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "nox/ecies.h"
#include "nox/eip712.h"
#include "nox/handle.h"
#include "nox/hex.h"
#include "nox/keccak.h"
#include "nox/log.h"
#include "nox/types.h"
#include "nox/value.h"

enum { PROOF_SIZE = 2 * NOX_ADDRESS_SIZE + 32 + NOX_EC_SIGNATURE_SIZE, MAX_RSA_BYTES = 2048, MAX_WINDOW = 3600 };

static json_t *body_object(const nox_http_request *req, nox_http_response *resp) {
    size_t len;
    const char *text = nox_http_request_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body || !json_is_object(body)) {
        nox_http_respond_error(resp, 400, "bad_request", "the body must be a JSON object%s%s", body ? "" : ": ",
                               body ? "" : jerr.text);
        json_decref(body);
        return NULL;
    }
    return body;
}

int gw_kms_key_usable(gw_state *st, const gw_chain *c, nox_http_response *resp) {
    int check = c->kms_check;
    if (check == GW_KMS_MATCH) return 1;
    char why[sizeof c->kms_check_reason];
    pthread_mutex_lock(&st->check_lock);
    snprintf(why, sizeof why, "%s", c->kms_check_reason);
    pthread_mutex_unlock(&st->check_lock);
    nox_http_respond_error(resp, 503, check == GW_KMS_MISMATCH ? "kms_key_mismatch" : "kms_key_unchecked",
                           "inputs of chain %u are refused: %s", c->chain_id,
                           why[0] ? why : "NoxCompute.kmsPublicKey() not checked yet");
    return 0;
}

/* Encrypts, stores and signs; `plain` holds the validated plaintext. */
static void store_secret(gw_state *st, const gw_chain *c, uint8_t type, const uint8_t *plain, size_t n,
                         const uint8_t owner[NOX_ADDRESS_SIZE], const uint8_t app[NOX_ADDRESS_SIZE],
                         nox_http_response *resp) {
    gw_row row;
    memset(&row, 0, sizeof row);
    uint8_t ct[GW_CIPHERTEXT_MAX], pre[NOX_PREHANDLE_SIZE];
    nox_error err = {0};
    if (nox_ecies_encrypt(&c->kms_key, plain, n, ct, row.public_key, row.nonce, &err)) {
        nox_http_respond_error(resp, 500, "storage", "encryption failed: %s", err.message);
        return;
    }
    if (RAND_bytes(pre, sizeof pre) != 1) {
        nox_http_respond_error(resp, 500, "storage", "the random number generator failed");
        return;
    }
    nox_handle_make(&row.handle, pre, c->chain_id, type);
    nox_handle_value_tag(&row.handle, plain, n, row.value_tag);
    row.chain_id = c->chain_id;
    row.type_code = type;
    row.ciphertext = ct;
    row.ciphertext_len = n + NOX_ECIES_TAG_SIZE;
    row.is_input = 1;
    memcpy(row.owner, owner, NOX_ADDRESS_SIZE);
    memcpy(row.application, app, NOX_ADDRESS_SIZE);
    nox_status s = gw_store_insert_input(st->store, &row, &err);
    if (s) {
        nox_http_respond_error(resp, 500, "storage", "could not store the secret: %s", err.message);
        return;
    }
    uint64_t created = (uint64_t)time(NULL);
    uint8_t hash[32], proof[PROOF_SIZE];
    nox_eip712_domain domain = nox_eip712_domain_input_proof(c->chain_id, c->nox_compute);
    nox_eip712_hash_handle_proof(row.handle.bytes, owner, app, created, hash);
    memcpy(proof, owner, NOX_ADDRESS_SIZE);
    memcpy(proof + NOX_ADDRESS_SIZE, app, NOX_ADDRESS_SIZE);
    memset(proof + 2 * NOX_ADDRESS_SIZE, 0, 32);
    for (int i = 0; i < 8; i++) proof[2 * NOX_ADDRESS_SIZE + 31 - i] = (uint8_t)(created >> (8 * i));
    if (nox_eip712_sign(&st->wallet, &domain, hash, proof + 2 * NOX_ADDRESS_SIZE + 32, &err)) {
        nox_http_respond_error(resp, 500, "storage", "signing failed: %s", err.message);
        return;
    }
    char htext[NOX_HANDLE_TEXT_LEN + 1], ptext[2 * PROOF_SIZE + 3];
    nox_http_respond_value(resp, json_pack("{s:s, s:s}", "handle", nox_handle_format(&row.handle, htext), "proof",
                                    nox_hex_encode(proof, sizeof proof, ptext)));
}

void gw_handle_post_secret(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    json_t *body = body_object(req, resp);
    if (!body) return;
    const char *value = NULL, *type_name = NULL;
    uint8_t owner[NOX_ADDRESS_SIZE], app[NOX_ADDRESS_SIZE], type = 0;
    uint64_t chain_id = st->cfg.default_chain_id;
    const gw_chain *c = NULL;
    nox_error err = {0};
    if (!(value = gw_json_string(body, "value", 400, "bad_request", resp))) goto out;
    if (!(type_name = gw_json_string(body, "solidityType", 400, "bad_request", resp))) goto out;
    if (!gw_json_address(body, "owner", 400, "bad_request", resp, owner)) goto out;
    if (!gw_json_address(body, "applicationContract", 400, "bad_request", resp, app)) goto out;
    if (json_object_get(body, "chainId") && !gw_json_uint(body, "chainId", 400, "bad_request", resp, &chain_id))
        goto out;
    if (!(c = gw_chain_of(st, chain_id))) {
        nox_http_respond_error(resp, 400, "unknown_chain", "chain %llu is not served by this Gateway",
                               (unsigned long long)chain_id);
        goto out;
    }
    if (!gw_kms_key_usable(st, c, resp)) goto out; /* never encrypt to a key the chain does not know */
    if (nox_type_from_name(type_name, &type, &err) || !nox_type_is_fixed(type)) {
        nox_http_respond_error(resp, 400, "invalid_type", "solidityType: unknown or unsupported type");
        goto out;
    }
    size_t size = nox_type_size(type), len = strlen(value), n = 0;
    uint8_t *plain = malloc(size + 1);
    nox_value v;
    if (!plain) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        goto out;
    }
    if (len > 2 * size + 2 || nox_hex_decode(value, len, plain, size, &n, &err)) {
        nox_http_respond_error(resp, 400, "invalid_value", "value must be 0x + %zu hex digits (a %s)", 2 * size,
                               nox_type_name(type));
    } else if (nox_value_from_bytes(&v, type, plain, n, &err)) {
        nox_http_respond_error(resp, 400, "invalid_value", "value: %s", err.message);
    } else {
        nox_value_wipe(&v);
        store_secret(st, c, type, plain, n, owner, app, resp);
    }
    OPENSSL_cleanse(plain, size + 1);
    free(plain);
out:
    json_decref(body);
}

/* ---- GET /v0/secrets/{handle} ------------------------------------------------- */

/* How long a request waits for a free isViewer connection before it answers 503. */
#define VIEWER_WAIT_MS 50

/* isViewer(handle, user) by eth_call on one of the chain's pooled connections (each call bounded by
 * viewer_timeout_ms): 1 yes, 0 no, -1 after answering 503. */
static int is_viewer(const gw_chain *c, const nox_handle *h, const uint8_t user[NOX_ADDRESS_SIZE],
                     nox_http_response *resp) {
    static const char sig[] = "isViewer(bytes32,address)";
    uint8_t data[4 + 64], sel[32];
    nox_keccak256(sig, strlen(sig), sel);
    memcpy(data, sel, 4);
    memcpy(data + 4, h->bytes, 32);
    memset(data + 36, 0, 12);
    memcpy(data + 48, user, NOX_ADDRESS_SIZE);
    uint8_t *out = NULL;
    size_t out_len = 0;
    nox_rpc_fault fault;
    nox_error err = {0};
    /* a free connection now or very soon; else the node is slow and this thread must not queue for it */
    nox_rpc *rpc = nox_rpc_pool_take(c->viewers, VIEWER_WAIT_MS);
    if (!rpc) {
        nox_http_respond_error(resp, 503, "rpc", "isViewer: all %u RPC connections to chain %u are busy (a slow "
                               "node?); try again", nox_rpc_pool_size(c->viewers), c->chain_id);
        return -1;
    }
    nox_status s = nox_rpc_eth_call(rpc, c->nox_compute, data, sizeof data, NULL, &out, &out_len, &fault, &err);
    nox_rpc_pool_give(c->viewers, rpc);
    if (s) {
        nox_http_respond_error(resp, 503, "rpc", "isViewer call failed: %s", err.message);
        return -1;
    }
    int yes = out_len == 32 && out[31] == 1;
    for (size_t i = 0; yes && i < 31; i++) yes = out[i] == 0;
    if (out_len != 32) nox_http_respond_error(resp, 503, "rpc", "isViewer returned %zu bytes", out_len);
    free(out);
    return out_len == 32 ? yes : -1;
}

/* The {handle} of the path: well-formed and on a served chain (its chain), else NULL after a 400. */
static const gw_chain *handle_param(gw_state *st, const char *param, nox_handle *h, nox_http_response *resp) {
    nox_error err = {0};
    if (nox_handle_parse(h, param, strlen(param), &err) || nox_handle_validate(h, NULL, 0, &err)) {
        nox_http_respond_error(resp, 400, "bad_request", "handle: %s", err.message);
        return NULL;
    }
    const gw_chain *c = gw_chain_of(st, nox_handle_chain_id(h));
    if (!c)
        nox_http_respond_error(resp, 400, "unknown_chain", "chain %u is not served by this Gateway",
                               nox_handle_chain_id(h));
    return c;
}

/*
 * ?excludeNodes=2,3: KMS nodes whose partials the user found wrong (docs/PROTOCOL-EXTENSIONS.md §11), not to be asked
 * (noxctl asks again so). 0 after answering 400.
 */
static int exclude_query(const nox_http_request *req, uint64_t *mask, nox_http_response *resp) {
    const char *q = nox_http_request_query(req, "excludeNodes");
    *mask = 0;
    while (q && *q) {
        char *end;
        unsigned long i = strtoul(q, &end, 10);
        if (end == q || i < 1 || i > NOX_TH_MAX_NODES || (*end && *end != ',')) {
            nox_http_respond_error(resp, 400, "bad_request", "excludeNodes must list KMS node indices (1 to %d), "
                                   "comma-separated", NOX_TH_MAX_NODES);
            return 0;
        }
        *mask |= (uint64_t)1 << (i - 1);
        q = *end ? end + 1 : end;
    }
    return 1;
}

void gw_handle_get_secret(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    const char *param = nox_http_request_param(req);
    nox_handle h;
    nox_error err = {0};
    const gw_chain *c = handle_param(st, param, &h, resp);
    uint64_t exclude = 0;
    if (!c || !exclude_query(req, &exclude, resp)) return;
    json_t *doc, *p;
    uint8_t sig[NOX_EC_SIGNATURE_SIZE], user[NOX_ADDRESS_SIZE], signer[NOX_ADDRESS_SIZE];
    if (!gw_auth_decode(req, resp, &doc, &p, sig)) return;
    uint64_t not_before = 0, expires_at = 0, now = (uint64_t)time(NULL);
    const char *key = NULL;
    if (!gw_json_address(p, "userAddress", 401, "unauthorized", resp, user) ||
        !(key = gw_json_string(p, "encryptionPubKey", 401, "unauthorized", resp)) ||
        !gw_json_uint(p, "notBefore", 401, "unauthorized", resp, &not_before) ||
        !gw_json_uint(p, "expiresAt", 401, "unauthorized", resp, &expires_at))
        goto out;
    if (!(not_before <= now && now < expires_at)) {
        nox_http_respond_error(resp, 401, "unauthorized", "the authorization is not valid now (notBefore %llu, "
                               "expiresAt %llu, now %llu)", (unsigned long long)not_before,
                               (unsigned long long)expires_at, (unsigned long long)now);
        goto out;
    }
    if (expires_at - not_before > MAX_WINDOW) {
        nox_http_respond_error(resp, 401, "unauthorized", "the authorization window exceeds %d seconds", MAX_WINDOW);
        goto out;
    }
    uint8_t hash[32];
    nox_eip712_domain domain = nox_eip712_domain_user_decryption(c->chain_id, c->nox_compute);
    nox_eip712_hash_data_access_authorization(user, key, not_before, expires_at, hash);
    if (nox_eip712_recover(&domain, hash, sig, sizeof sig, signer, &err) ||
        memcmp(signer, user, NOX_ADDRESS_SIZE) != 0) {
        nox_http_respond_error(resp, 401, "unauthorized", "the signature is not from userAddress");
        goto out;
    }
    int viewer = is_viewer(c, &h, user, resp);
    if (viewer < 0) goto out;
    if (!viewer) {
        nox_http_respond_error(resp, 403, "forbidden", "userAddress is not a viewer of this handle");
        goto out;
    }
    gw_row row;
    memset(&row, 0, sizeof row);
    size_t missing, n_missing = 0;
    nox_status s = gw_store_read(st->store, &h, 1, &row, &missing, &n_missing, &err);
    if (s == NOX_ERR_NOT_FOUND) {
        nox_http_respond_error(resp, 404, "not_found", "handle %s is not stored", param);
    } else if (s) {
        nox_http_respond_error(resp, 500, "storage", "%s", err.message);
    } else {
        char eph[2 * GW_PUBKEY_SIZE + 3];
        const char *keys[1] = {eph};
        json_t *delegations = NULL;
        nox_kms_fault fault;
        nox_hex_encode(row.public_key, sizeof row.public_key, eph);
        /* one item: the envelope of each node is sealed to the user's key (docs/PROTOCOL-EXTENSIONS.md §11) */
        s = gw_kms_partials(st, c->chain_id, keys, 1, key, exclude, &delegations, &fault, &err);
        if (s) {
            gw_respond_kms_error(resp, s, &fault, &err);
        } else {
            char *ct = malloc(2 * row.ciphertext_len + 3), iv[2 * GW_NONCE_SIZE + 3], htext[NOX_HANDLE_TEXT_LEN + 1];
            json_t *answer = ct ? json_pack("{s:s, s:s, s:s, s:s, s:i}", "handle", nox_handle_format(&h, htext),
                                            "ciphertext", nox_hex_encode(row.ciphertext, row.ciphertext_len, ct),
                                            "iv", nox_hex_encode(row.nonce, sizeof row.nonce, iv), "publicKey", eph,
                                            "item", 0)
                                : NULL;
            if (answer && gw_add_delegations(answer, st, delegations)) nox_http_respond_value(resp, answer);
            else json_decref(answer), nox_http_respond_error(resp, 500, "storage", "out of memory");
            free(ct);
        }
        json_decref(delegations);
    }
    gw_rows_free(&row, 1);
out:
    json_decref(doc);
}

/* GET /v0/handles/{handle}/status: whether a handle's ciphertext is stored. Handles are public, so is this. */
void gw_handle_status(void *state, const nox_http_request *req, nox_http_response *resp) {
    gw_state *st = state;
    nox_handle h;
    nox_error err = {0};
    if (!handle_param(st, nox_http_request_param(req), &h, resp)) return;
    gw_status_info info;
    nox_status s = gw_store_status(st->store, &h, &info, &err);
    char htext[NOX_HANDLE_TEXT_LEN + 1];
    nox_handle_format(&h, htext);
    if (s)
        nox_http_respond_error(resp, 500, "storage", "%s", err.message);
    else if (info.stored) /* a ciphertext wins: a later successful replay supersedes a failure record */
        nox_http_respond_value(resp, json_pack("{s:s, s:s}", "handle", htext, "status", "stored"));
    else if (info.failed)
        nox_http_respond_value(resp, json_pack("{s:s, s:s, s:s}", "handle", htext, "status", "failed", "reason", info.reason));
    else
        nox_http_respond_value(resp, json_pack("{s:s, s:s}", "handle", htext, "status", "pending"));
}
