/* Decryption delegation (spec §4.2): the KMS wraps x for a requester's RSA key; the requester unwraps it. */
#include "nox/delegation.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nox_status nox_delegation_delegate(const nox_ec_privkey *kms_key, const uint8_t *ephemeral, size_t ephemeral_len,
                                   const nox_rsa_key *target, uint8_t *out, size_t cap, size_t *out_len,
                                   nox_error *err) {
    nox_ec_pubkey pub_k;
    nox_status st = nox_ec_pubkey_parse_compressed(&pub_k, ephemeral, ephemeral_len, err);
    if (st) return nox_error_prefix(err, "ephemeral public key: ");
    uint8_t x[NOX_ECIES_SECRET_SIZE];
    st = nox_ec_ecdh_x(kms_key, &pub_k, x, err);
    if (!st) st = nox_rsa_encrypt(target, x, sizeof x, out, cap, out_len, err);
    OPENSSL_cleanse(x, sizeof x);
    return st;
}

nox_status nox_delegation_unwrap(const nox_rsa_key *key, const uint8_t *encrypted_secret, size_t encrypted_len,
                                 uint8_t x[NOX_ECIES_SECRET_SIZE], nox_error *err) {
    /* Room for any message the key can hold, so that every wrong length is reported as such. */
    uint8_t buf[NOX_RSA_MAX_BITS / 8];
    size_t n = 0;
    nox_status st = nox_rsa_decrypt(key, encrypted_secret, encrypted_len, buf, sizeof buf, &n, err);
    if (st) nox_error_prefix(err, "encryptedSharedSecret: ");
    else if (n != NOX_ECIES_SECRET_SIZE)
        st = nox_error_set(err, NOX_ERR_INVALID,
                           "encryptedSharedSecret decrypts to %zu bytes; a shared secret is exactly %d", n,
                           NOX_ECIES_SECRET_SIZE);
    if (!st) memcpy(x, buf, NOX_ECIES_SECRET_SIZE);
    else OPENSSL_cleanse(x, NOX_ECIES_SECRET_SIZE);
    OPENSSL_cleanse(buf, sizeof buf);
    return st;
}

nox_status nox_delegation_decrypt(const nox_rsa_key *key, const uint8_t *encrypted_secret, size_t encrypted_len,
                                  const uint8_t nonce[NOX_ECIES_NONCE_SIZE], const uint8_t *ciphertext,
                                  size_t ciphertext_len, uint8_t *plaintext, nox_error *err) {
    uint8_t x[NOX_ECIES_SECRET_SIZE];
    nox_status st = nox_delegation_unwrap(key, encrypted_secret, encrypted_len, x, err);
    if (!st) st = nox_ecies_decrypt_x(x, nonce, ciphertext, ciphertext_len, plaintext, err);
    else if (ciphertext_len > NOX_ECIES_TAG_SIZE && ciphertext_len - NOX_ECIES_TAG_SIZE <= NOX_ECIES_MAX_PLAINTEXT)
        OPENSSL_cleanse(plaintext, ciphertext_len - NOX_ECIES_TAG_SIZE); /* zeroed on failure, as documented */
    OPENSSL_cleanse(x, sizeof x);
    return st;
}

/* ---- threshold delegation: one sealed envelope per node per batch --------------------------------------------- */

void nox_sealed_partials_free(nox_sealed_partials *s) {
    if (!s) return;
    free(s->wrapped_key);
    free(s->ciphertext);
    memset(s, 0, sizeof *s);
}

void nox_partials_wipe(nox_partials *p) {
    if (!p) return;
    if (p->items) OPENSSL_cleanse(p->items, p->m * NOX_DELEGATION_ITEM_SIZE);
    free(p->items);
    memset(p, 0, sizeof *p);
}

enum { AAD_SIZE = sizeof NOX_DELEGATION_AAD_LABEL - 1 + 4 + 8 };

/* "nox/partials/v2" ‖ node (4 bytes BE) ‖ chain id (8 bytes BE): an envelope opens only as what it was sealed as. */
static void envelope_aad(unsigned node, uint64_t chain_id, uint8_t aad[AAD_SIZE]) {
    size_t at = sizeof NOX_DELEGATION_AAD_LABEL - 1;
    memcpy(aad, NOX_DELEGATION_AAD_LABEL, at);
    for (int i = 3; i >= 0; i--) aad[at++] = (uint8_t)(node >> (8 * i));
    for (int i = 7; i >= 0; i--) aad[at++] = (uint8_t)(chain_id >> (8 * i));
}

nox_status nox_delegation_seal_partials(const nox_ec_privkey *share, unsigned node, uint64_t chain_id,
                                        const uint8_t (*eph)[NOX_TH_POINT_SIZE], size_t m, const nox_rsa_key *target,
                                        nox_envelope_keys *keys, nox_sealed_partials *out, nox_error *err) {
    memset(out, 0, sizeof *out);
    if (m == 0 || m > NOX_DELEGATION_MAX_ITEMS)
        return nox_error_set(err, NOX_ERR_INVALID, "an envelope holds 1 to %d items, not %zu", NOX_DELEGATION_MAX_ITEMS, m);
    size_t len = NOX_DELEGATION_SEALED_SIZE(m) - NOX_ECIES_TAG_SIZE; /* proof ‖ items */
    uint8_t *items = malloc(len), key[NOX_ECIES_KEY_SIZE], aad[AAD_SIZE];
    out->node = node;
    out->ciphertext = malloc(len + NOX_ECIES_TAG_SIZE);
    out->wrapped_key = malloc(nox_rsa_size(target));
    nox_status st = items && out->ciphertext && out->wrapped_key ? NOX_OK
                                                                  : nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    if (!st)
        st = nox_th_partials(share, eph, m, (uint8_t(*)[NOX_TH_PAIR_SIZE])(items + NOX_TH_PROOF_SIZE), items, err);
    if (!st && RAND_bytes(out->iv, sizeof out->iv) != 1)
        st = nox_error_set(err, NOX_ERR_IO, "the random number generator failed (envelope iv)");
    if (!st)
        st = nox_envelope_key_for(keys, target, key, out->wrapped_key, nox_rsa_size(target), &out->wrapped_key_len, err);
    envelope_aad(node, chain_id, aad);
    if (!st) st = nox_aes_gcm_seal(key, out->iv, aad, sizeof aad, items, len, out->ciphertext, err);
    out->ciphertext_len = st ? 0 : len + NOX_ECIES_TAG_SIZE;
    OPENSSL_cleanse(key, sizeof key);
    if (items) OPENSSL_cleanse(items, len);
    free(items);
    if (st) nox_sealed_partials_free(out);
    return st;
}

nox_status nox_delegation_open_partials(const nox_rsa_key *key, nox_envelope_keys *keys,
                                        const nox_sealed_partials *sealed, uint64_t chain_id, nox_partials *out,
                                        nox_error *err) {
    memset(out, 0, sizeof *out);
    if (sealed->ciphertext_len < NOX_DELEGATION_SEALED_SIZE(1) ||
        (sealed->ciphertext_len - NOX_DELEGATION_SEALED_SIZE(0)) % NOX_DELEGATION_ITEM_SIZE != 0 ||
        sealed->ciphertext_len > NOX_DELEGATION_SEALED_SIZE(NOX_DELEGATION_MAX_ITEMS))
        return nox_error_set(err, NOX_ERR_INVALID, "node %u's envelope is %zu bytes: not a proof, 1 to %d items of %d "
                             "bytes and a tag", sealed->node, sealed->ciphertext_len, NOX_DELEGATION_MAX_ITEMS,
                             NOX_DELEGATION_ITEM_SIZE);
    uint8_t buf[NOX_RSA_MAX_BITS / 8], aad[AAD_SIZE];
    size_t n = 0, len = sealed->ciphertext_len - NOX_ECIES_TAG_SIZE; /* proof ‖ items */
    nox_status st = nox_envelope_key_unwrap(keys, key, sealed->wrapped_key, sealed->wrapped_key_len, buf, &n, err);
    if (st) nox_error_prefix(err, "node %u's wrappedKey: ", sealed->node);
    else if (n != NOX_ECIES_KEY_SIZE)
        st = nox_error_set(err, NOX_ERR_INVALID, "node %u's wrappedKey decrypts to %zu bytes, not %d", sealed->node, n,
                           NOX_ECIES_KEY_SIZE);
    if (!st && !(out->items = malloc(len))) st = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    envelope_aad(sealed->node, chain_id, aad);
    if (!st) {
        st = nox_aes_gcm_open(buf, sealed->iv, aad, sizeof aad, sealed->ciphertext, sealed->ciphertext_len, out->items, err);
        if (st) nox_error_set(err, st, "node %u's envelope does not open (sealed for another requester, node or chain, "
                              "or altered)", sealed->node);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (st) {
        free(out->items);
        out->items = NULL;
        return st;
    }
    /* the proof moves to its own field, the items to the start of the buffer */
    memcpy(out->proof, out->items, NOX_TH_PROOF_SIZE);
    memmove(out->items, out->items + NOX_TH_PROOF_SIZE, len - NOX_TH_PROOF_SIZE);
    OPENSSL_cleanse(out->items + len - NOX_TH_PROOF_SIZE, NOX_TH_PROOF_SIZE);
    out->node = sealed->node;
    out->m = (len - NOX_TH_PROOF_SIZE) / NOX_DELEGATION_ITEM_SIZE;
    return NOX_OK;
}

static const uint8_t *item_of(const nox_partials *p, size_t item) { return p->items + item * NOX_DELEGATION_ITEM_SIZE; }

static uint64_t node_bit(unsigned node) { return node >= 1 && node <= 64 ? (uint64_t)1 << (node - 1) : 0; }

/* Combines the first t sets not marked bad and decrypts; NOX_ERR_REMOTE when fewer than t remain. */
static nox_status combine_and_decrypt(const nox_partials *sets, size_t k, unsigned t, size_t item, uint64_t bad,
                                      const uint8_t nonce[NOX_ECIES_NONCE_SIZE], const uint8_t *ct, size_t ct_len,
                                      uint8_t *plaintext, nox_error *err) {
    unsigned idx[NOX_TH_MAX_NODES];
    uint8_t partials[NOX_TH_MAX_NODES][NOX_TH_POINT_SIZE], x[NOX_ECIES_SECRET_SIZE];
    size_t used = 0;
    for (size_t s = 0; s < k && used < t && used < NOX_TH_MAX_NODES; s++) {
        if (bad & node_bit(sets[s].node)) continue;
        idx[used] = sets[s].node;
        memcpy(partials[used++], item_of(&sets[s], item) + NOX_TH_POINT_SIZE, NOX_TH_POINT_SIZE);
    }
    nox_status st = used < t ? nox_error_set(err, NOX_ERR_REMOTE, "%zu good partials of the %u needed", used, t)
                             : nox_th_combine(idx, (const uint8_t(*)[NOX_TH_POINT_SIZE])partials, used, x, err);
    if (!st) st = nox_ecies_decrypt_x(x, nonce, ct, ct_len, plaintext, err);
    OPENSSL_cleanse(x, sizeof x);
    OPENSSL_cleanse(partials, sizeof partials);
    return st;
}

nox_status nox_delegation_decrypt_partials(nox_partials *sets, size_t k, unsigned t, size_t item,
                                           const uint8_t ephemeral[NOX_TH_POINT_SIZE],
                                           const uint8_t nonce[NOX_ECIES_NONCE_SIZE], const uint8_t *ciphertext,
                                           size_t ct_len, uint8_t *plaintext, uint64_t *bad, nox_error *err) {
    for (size_t s = 0; s < k; s++) {
        if (item >= sets[s].m)
            return nox_error_set(err, NOX_ERR_INVALID, "node %u's envelope has %zu items, item %zu was asked for",
                                 sets[s].node, sets[s].m, item);
        if (memcmp(item_of(&sets[s], item), ephemeral, NOX_TH_POINT_SIZE) != 0)
            return nox_error_set(err, NOX_ERR_INVALID, "node %u's item %zu is for another ephemeral key than the "
                                 "value's (items mixed up on the way)", sets[s].node, item);
    }
    nox_status st = combine_and_decrypt(sets, k, t, item, *bad, nonce, ciphertext, ct_len, plaintext, err);
    if (st != NOX_ERR_AUTH) return st;
    /* The tag failed: now, and only now, check who lied. */
    uint64_t found = 0;
    for (size_t s = 0; s < k; s++) {
        nox_error e2;
        if (!sets[s].proof_state)
            sets[s].proof_state = nox_th_verify_partials(sets[s].verification_key,
                                                         (const uint8_t(*)[NOX_TH_PAIR_SIZE])sets[s].items, sets[s].m,
                                                         sets[s].proof, &e2) ? -1 : 1;
        if (sets[s].proof_state < 0) found |= node_bit(sets[s].node);
    }
    if (!found)
        return nox_error_set(err, NOX_ERR_AUTH, "the value does not decrypt although every node's DLEQ proof holds: "
                             "the stored ciphertext is not what was encrypted");
    *bad |= found;
    st = combine_and_decrypt(sets, k, t, item, *bad, nonce, ciphertext, ct_len, plaintext, err);
    if (st == NOX_ERR_REMOTE) {
        char names[160] = "";
        size_t at = 0;
        for (unsigned i = 1; i <= 64 && at < sizeof names - 8; i++)
            if (*bad & node_bit(i)) at += (size_t)snprintf(names + at, sizeof names - at, "%s%u", at ? ", " : "", i);
        nox_error_set(err, NOX_ERR_REMOTE, "wrong partials (their DLEQ proofs fail) from KMS node(s) %s, and fewer "
                      "than %u good ones remain", names, t);
    }
    return st;
}
