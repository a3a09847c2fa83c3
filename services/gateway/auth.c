/* "Authorization: EIP712 <base64(JSON)>" decoding and the JSON field helpers shared by the routes. */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "nox/base64.h"
#include "nox/hex.h"

gw_chain *gw_chain_of(const gw_state *st, uint64_t id) {
    for (size_t i = 0; i < st->cfg.n_chains; i++)
        if (st->cfg.chains[i].chain_id == id) return &st->cfg.chains[i];
    return NULL;
}

const char *gw_json_string(json_t *obj, const char *name, unsigned status, const char *code, nox_http_response *resp) {
    json_t *v = json_object_get(obj, name);
    if (!v) nox_http_respond_error(resp, status, code, "missing field %s", name);
    else if (!json_is_string(v)) nox_http_respond_error(resp, status, code, "%s must be a string", name);
    else if (strlen(json_string_value(v)) != json_string_length(v))
        nox_http_respond_error(resp, status, code, "%s must not contain a NUL character", name);
    else return json_string_value(v);
    return NULL;
}

int gw_json_uint(json_t *obj, const char *name, unsigned status, const char *code, nox_http_response *resp,
                 uint64_t *out) {
    json_t *v = json_object_get(obj, name);
    if (!v) nox_http_respond_error(resp, status, code, "missing field %s", name);
    else if (!json_is_integer(v) || json_integer_value(v) < 0)
        nox_http_respond_error(resp, status, code, "%s must be a non-negative integer", name);
    else {
        *out = (uint64_t)json_integer_value(v);
        return 1;
    }
    return 0;
}

int gw_json_address(json_t *obj, const char *name, unsigned status, const char *code, nox_http_response *resp,
                    uint8_t out[NOX_ADDRESS_SIZE]) {
    const char *s = gw_json_string(obj, name, status, code, resp);
    nox_error err;
    if (!s) return 0;
    if (nox_hex_decode_exact(s, strlen(s), out, NOX_ADDRESS_SIZE, &err)) {
        nox_http_respond_error(resp, status, code, "%s must be an address (0x + 40 hex digits): %s", name,
                               err.message);
        return 0;
    }
    return 1;
}

void gw_respond_kms_error(nox_http_response *resp, nox_status s, const nox_kms_fault *fault, const nox_error *err) {
    if (s == NOX_ERR_REMOTE && fault->http_status == 400)
        nox_http_respond_error(resp, 400, "bad_request", "the KMS refused the delegation: %s", fault->message);
    else if (s == NOX_ERR_IO) /* fewer than t nodes answered: the message names the missing ones */
        nox_http_respond_error(resp, 503, "kms_unavailable", "%s", err->message);
    else nox_http_respond_error(resp, 502, "kms", "KMS delegation failed: %s", err->message);
}

/* "0x" + hex as a new JSON string, or NULL. */
static json_t *hex_json(const uint8_t *bytes, size_t len) {
    char *text = malloc(2 * len + 3);
    json_t *v = text ? json_string(nox_hex_encode(bytes, len, text)) : NULL;
    free(text);
    return v;
}

nox_status gw_kms_partials(gw_state *st, uint32_t chain_id, const char *const *eph, size_t m, const char *target,
                           uint64_t exclude, json_t **delegations, nox_kms_fault *fault, nox_error *err) {
    *delegations = NULL;
    nox_kms_group_answer a;
    memset(fault, 0, sizeof *fault);
    nox_status s = nox_kms_group_partials(st->kms, chain_id, &st->wallet, eph, m, target, exclude, &a, fault, err);
    if (s) return s;
    const nox_th_group *g = nox_kms_group_group(st->kms);
    json_t *list = json_array();
    for (size_t i = 0; list && i < a.n; i++) {
        const nox_sealed_partials *e = &a.sealed[i];
        json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o}", "node", (json_int_t)e->node, "verificationKey",
                              hex_json(g->verification_keys[e->node - 1], NOX_TH_POINT_SIZE), "wrappedKey",
                              hex_json(e->wrapped_key, e->wrapped_key_len), "iv", hex_json(e->iv, sizeof e->iv),
                              "ciphertext", hex_json(e->ciphertext, e->ciphertext_len));
        if (!o || json_array_append_new(list, o)) {
            json_decref(list);
            list = NULL;
        }
    }
    nox_kms_group_answer_free(&a);
    if (!list) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    *delegations = list;
    return NOX_OK;
}

int gw_add_delegations(json_t *obj, const gw_state *st, json_t *delegations) {
    return json_object_set_new(obj, "threshold", json_integer(nox_kms_group_group(st->kms)->threshold)) == 0 &&
           json_object_set(obj, "delegations", delegations) == 0;
}

int gw_auth_decode(const nox_http_request *req, nox_http_response *resp, json_t **doc, json_t **payload,
                   uint8_t sig[NOX_EC_SIGNATURE_SIZE]) {
    const char *auth = nox_http_request_header(req, "Authorization");
    *doc = *payload = NULL;
    if (!auth) {
        nox_http_respond_error(resp, 401, "unauthorized", "missing header Authorization: EIP712 <base64(JSON)>");
        return 0;
    }
    if (strncmp(auth, "EIP712 ", 7) != 0) {
        nox_http_respond_error(resp, 401, "unauthorized", "Authorization must be 'EIP712 <base64(JSON)>'");
        return 0;
    }
    const char *b64 = auth + 7;
    size_t len = strlen(b64), out_len = 0;
    uint8_t *raw = malloc(len / 4 * 3 + 3);
    nox_error err = {0};
    if (!raw) {
        nox_http_respond_error(resp, 500, "storage", "out of memory");
        return 0;
    }
    if (nox_base64_decode(b64, len, raw, len / 4 * 3 + 3, &out_len, &err)) {
        nox_http_respond_error(resp, 401, "unauthorized", "Authorization: bad base64: %s", err.message);
        free(raw);
        return 0;
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)raw, out_len, JSON_REJECT_DUPLICATES, &jerr);
    free(raw);
    if (!gw_auth_parts(j, payload, sig, resp)) {
        json_decref(j);
        return 0;
    }
    *doc = j;
    return 1;
}

int gw_auth_parts(json_t *j, json_t **payload, uint8_t sig[NOX_EC_SIGNATURE_SIZE], nox_http_response *resp) {
    json_t *p = j ? json_object_get(j, "payload") : NULL;
    const char *s = NULL;
    nox_error err = {0};
    *payload = NULL;
    if (!j || !json_is_object(j)) {
        nox_http_respond_error(resp, 401, "unauthorized", "Authorization: the decoded value must be a JSON object");
    } else if (!p || !json_is_object(p)) {
        nox_http_respond_error(resp, 401, "unauthorized", "Authorization: payload must be an object");
    } else if ((s = gw_json_string(j, "signature", 401, "unauthorized", resp)) != NULL) {
        if (nox_hex_decode_exact(s, strlen(s), sig, NOX_EC_SIGNATURE_SIZE, &err)) {
            nox_http_respond_error(resp, 401, "unauthorized",
                                   "Authorization: signature must be 0x + 130 hex digits (65 bytes)");
        } else {
            *payload = p;
            return 1;
        }
    }
    return 0;
}
