/* The JSON form of threshold delegation (nox/delegation_json.h): parse, open, decrypt. */
#include "nox/delegation_json.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "nox/hex.h"

/* A 0x hex member decoded into out (cap); 0 when absent, not hex or too long. */
static int hex_member(json_t *o, const char *name, uint8_t *out, size_t cap, size_t *len) {
    json_t *v = json_object_get(o, name);
    nox_error e = {0};
    return json_is_string(v) && nox_hex_decode(json_string_value(v), json_string_length(v), out, cap, len, &e) == NOX_OK;
}

void nox_opened_partials_wipe(nox_opened_partials *o) {
    for (size_t i = 0; i < o->k; i++) nox_partials_wipe(&o->sets[i]);
    o->k = 0;
}

/* Envelope i of the list: decoded into *sealed (its ciphertext malloc'd) and the verification key. */
static nox_status read_envelope(json_t *d, size_t i, uint64_t *seen, nox_sealed_partials *sealed,
                                uint8_t vk[NOX_TH_POINT_SIZE], nox_error *err) {
    json_t *node = json_object_get(d, "node"), *ct = json_object_get(d, "ciphertext");
    long long idx = json_is_integer(node) ? (long long)json_integer_value(node) : 0;
    size_t vk_len = 0, iv_len = 0, cap = json_is_string(ct) ? json_string_length(ct) / 2 : 0;
    if (idx < 1 || idx > NOX_TH_MAX_NODES || (*seen & ((uint64_t)1 << (idx - 1))))
        return nox_error_set(err, NOX_ERR_INVALID, "delegations[%zu] has no node index of its own", i);
    *seen |= (uint64_t)1 << (idx - 1);
    sealed->node = (unsigned)idx;
    if (!(sealed->wrapped_key = malloc(NOX_RSA_MAX_BITS / 8)) || !cap || !(sealed->ciphertext = malloc(cap)))
        return nox_error_set(err, cap ? NOX_ERR_NOMEM : NOX_ERR_INVALID, "delegations[%zu]: no ciphertext", i);
    if (!hex_member(d, "verificationKey", vk, NOX_TH_POINT_SIZE, &vk_len) || vk_len != NOX_TH_POINT_SIZE ||
        !hex_member(d, "wrappedKey", sealed->wrapped_key, NOX_RSA_MAX_BITS / 8, &sealed->wrapped_key_len) ||
        !hex_member(d, "iv", sealed->iv, sizeof sealed->iv, &iv_len) || iv_len != sizeof sealed->iv ||
        !hex_member(d, "ciphertext", sealed->ciphertext, cap, &sealed->ciphertext_len))
        return nox_error_set(err, NOX_ERR_INVALID, "delegations[%zu] is malformed", i);
    return NOX_OK;
}

nox_status nox_delegations_open(const nox_rsa_key *key, nox_envelope_keys *keys, json_t *answer, uint64_t chain_id,
                                nox_opened_partials *o, uint64_t *unopened, nox_error *err) {
    memset(o, 0, sizeof *o);
    *unopened = 0;
    json_t *t = json_object_get(answer, "threshold"), *list = json_object_get(answer, "delegations"), *d;
    if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > NOX_TH_MAX_NODES ||
        !json_is_array(list) || json_array_size(list) < (size_t)json_integer_value(t) ||
        json_array_size(list) > NOX_TH_MAX_NODES)
        return nox_error_set(err, NOX_ERR_INVALID, "the answer lacks a threshold and at least that many delegations");
    o->t = (unsigned)json_integer_value(t);
    uint64_t seen = 0;
    size_t i;
    json_array_foreach(list, i, d) {
        nox_sealed_partials sealed = {0};
        uint8_t vk[NOX_TH_POINT_SIZE];
        nox_status st = read_envelope(d, i, &seen, &sealed, vk, err);
        nox_error e2 = {0};
        if (!st && nox_delegation_open_partials(key, keys, &sealed, chain_id, &o->sets[o->k], &e2) == NOX_OK)
            memcpy(o->sets[o->k++].verification_key, vk, NOX_TH_POINT_SIZE);
        else if (!st)
            *unopened |= (uint64_t)1 << (sealed.node - 1);
        nox_sealed_partials_free(&sealed);
        if (st) {
            nox_opened_partials_wipe(o);
            return st;
        }
    }
    if (o->k < o->t) {
        nox_opened_partials_wipe(o);
        return nox_error_set(err, NOX_ERR_IO, "%u KMS envelopes needed, %zu opened", o->t, o->k);
    }
    return NOX_OK;
}

nox_status nox_delegations_decrypt_value(nox_opened_partials *o, json_t *value, uint8_t *plaintext, size_t cap,
                                         size_t *len, uint64_t *bad, nox_error *err) {
    json_t *item = json_object_get(value, "item"), *ct_json = json_object_get(value, "ciphertext");
    size_t ct_len = 0, iv_len = 0, k_len = 0, ct_cap = json_is_string(ct_json) ? json_string_length(ct_json) / 2 : 0;
    uint8_t iv[NOX_ECIES_NONCE_SIZE], k[NOX_TH_POINT_SIZE], *ct = ct_cap ? malloc(ct_cap) : NULL;
    *len = 0;
    nox_status st = NOX_OK;
    if (!ct || !hex_member(value, "ciphertext", ct, ct_cap, &ct_len) || ct_len < NOX_ECIES_TAG_SIZE ||
        !hex_member(value, "iv", iv, sizeof iv, &iv_len) || iv_len != sizeof iv ||
        !hex_member(value, "publicKey", k, sizeof k, &k_len) || k_len != sizeof k || !json_is_integer(item) ||
        json_integer_value(item) < 0)
        st = nox_error_set(err, NOX_ERR_INVALID, "the value lacks a ciphertext, iv, publicKey or item");
    else if (ct_len - NOX_ECIES_TAG_SIZE > cap)
        st = nox_error_set(err, NOX_ERR_INVALID, "the value is %zu bytes, more than %zu", ct_len - NOX_ECIES_TAG_SIZE, cap);
    else
        st = nox_delegation_decrypt_partials(o->sets, o->k, o->t, (size_t)json_integer_value(item), k, iv, ct, ct_len,
                                             plaintext, bad, err);
    if (!st) *len = ct_len - NOX_ECIES_TAG_SIZE;
    free(ct);
    return st;
}
