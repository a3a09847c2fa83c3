/*
 * nox/delegation_json.h — the JSON form of threshold delegation (docs/PROTOCOL-EXTENSIONS.md §11), for
 * whoever decrypts what the Gateway returns (the Runner's Gateway client, noxctl decrypt):
 *   the answer:  "threshold": t, "delegations": [{"node", "verificationKey", "wrappedKey", "iv", "ciphertext"}, …]
 *   a value:     {"ciphertext", "iv", "publicKey" (its ephemeral key K), "item" (its place in every envelope)}
 */
#ifndef NOX_DELEGATION_JSON_H
#define NOX_DELEGATION_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "nox/delegation.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An answer's envelopes, opened with the requester's key: secret until nox_opened_partials_wipe. */
typedef struct nox_opened_partials {
    nox_partials sets[NOX_TH_MAX_NODES];
    size_t k;
    unsigned t;
} nox_opened_partials;

void nox_opened_partials_wipe(nox_opened_partials *o);

/**
 * Opens the "delegations" of `answer` (one RSA decryption per envelope, unless `keys`, the requester's
 * envelope-key cache (NULL: none), remembers its wrappedKey). An envelope that does not open is
 * skipped and its node added to *unopened (the caller logs it). NOX_ERR_INVALID for a malformed member;
 * NOX_ERR_IO when fewer than t envelopes opened (ask again).
 */
nox_status nox_delegations_open(const nox_rsa_key *key, nox_envelope_keys *keys, json_t *answer, uint64_t chain_id,
                                nox_opened_partials *o, uint64_t *unopened, nox_error *err);

/**
 * Decrypts one value object with the opened envelopes (nox_delegation_decrypt_partials: nodes in *bad are
 * left out; a node whose proof fails is added). Writes ciphertext − 16 bytes (at most cap) and *len.
 * NOX_ERR_INVALID for a malformed value or one larger than cap; else as nox_delegation_decrypt_partials.
 */
nox_status nox_delegations_decrypt_value(nox_opened_partials *o, json_t *value, uint8_t *plaintext, size_t cap,
                                         size_t *len, uint64_t *bad, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_DELEGATION_JSON_H */
