/*
 * Envelope keys that last (nox/delegation.h, docs/PROTOCOL-EXTENSIONS.md §11): both halves of the cache
 * that lets a KMS node seal a requester's envelopes under one AES-256 key for a while, and the requester
 * unwrap that key once. Entries are secrets: wiped when they expire, are replaced, or the cache is freed.
 */
#include "nox/delegation.h"

#include "nox/clock.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    int used;
    uint8_t id[32];                   /* node: the target's fingerprint; requester: SHA-256(own fingerprint ‖ wrappedKey) */
    uint8_t key[NOX_ECIES_KEY_SIZE];  /* the envelope key */
    uint8_t wrapped[NOX_RSA_MAX_BITS / 8];
    size_t wrapped_len;
    uint64_t born_ms;
    uint64_t uses;
} entry;

struct nox_envelope_keys {
    pthread_mutex_t mu;
    uint64_t ttl_ms;
    size_t n;
    entry *e;
    uint64_t hits;
};

nox_envelope_keys *nox_envelope_keys_new(unsigned ttl_s, size_t entries) {
    if (ttl_s == 0 || entries == 0 || entries > 4096) return NULL;
    nox_envelope_keys *k = calloc(1, sizeof *k);
    if (!k || !(k->e = calloc(entries, sizeof *k->e))) {
        free(k);
        return NULL;
    }
    pthread_mutex_init(&k->mu, NULL);
    k->ttl_ms = (uint64_t)ttl_s * 1000u;
    k->n = entries;
    return k;
}

uint64_t nox_envelope_keys_hits(nox_envelope_keys *k) {
    pthread_mutex_lock(&k->mu);
    uint64_t h = k->hits;
    pthread_mutex_unlock(&k->mu);
    return h;
}

void nox_envelope_keys_free(nox_envelope_keys *k) {
    if (!k) return;
    OPENSSL_cleanse(k->e, k->n * sizeof *k->e);
    free(k->e);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static int fresh(const nox_envelope_keys *k, const entry *e, uint64_t now) {
    return e->used && now - e->born_ms < k->ttl_ms && e->uses < NOX_ENVELOPE_KEY_MAX_USES;
}

/* The live entry with this id (its use counted), or NULL; under k->mu. Expired entries are wiped on the way. */
static entry *find(nox_envelope_keys *k, const uint8_t id[32], uint64_t now) {
    entry *hit = NULL;
    for (size_t i = 0; i < k->n; i++) {
        entry *e = &k->e[i];
        if (e->used && !fresh(k, e, now)) OPENSSL_cleanse(e, sizeof *e);
        else if (e->used && !hit && CRYPTO_memcmp(e->id, id, 32) == 0) hit = e;
    }
    if (hit) {
        hit->uses++;
        k->hits++;
    }
    return hit;
}

/* A slot for a new entry: a free one, else the oldest; under k->mu. */
static entry *slot(nox_envelope_keys *k) {
    entry *best = &k->e[0];
    for (size_t i = 0; i < k->n; i++) {
        if (!k->e[i].used) return &k->e[i];
        if (k->e[i].born_ms < best->born_ms) best = &k->e[i];
    }
    OPENSSL_cleanse(best, sizeof *best);
    return best;
}

/* Remembers key under id (and, node side, its wrapping), in a free slot or the oldest one. */
static void remember(nox_envelope_keys *k, const uint8_t id[32], const uint8_t key[NOX_ECIES_KEY_SIZE],
                     const uint8_t *wrapped, size_t wrapped_len) {
    pthread_mutex_lock(&k->mu);
    entry *e = slot(k);
    e->used = 1;
    memcpy(e->id, id, 32);
    memcpy(e->key, key, NOX_ECIES_KEY_SIZE);
    if (wrapped) memcpy(e->wrapped, wrapped, wrapped_len);
    e->wrapped_len = wrapped ? wrapped_len : 0;
    e->born_ms = nox_clock_ms();
    e->uses = 1;
    pthread_mutex_unlock(&k->mu);
}

/* SHA-256 over a ‖ b. */
static nox_status digest2(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[32],
                          nox_error *err) {
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = h && EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(h, a, a_len) == 1 &&
             (!b_len || EVP_DigestUpdate(h, b, b_len) == 1) && EVP_DigestFinal_ex(h, out, &len) == 1 && len == 32;
    EVP_MD_CTX_free(h);
    return ok ? NOX_OK : nox_error_set(err, NOX_ERR_NOMEM, "OpenSSL cannot compute SHA-256");
}

/* node: the target's fingerprint; requester: SHA-256(its own fingerprint ‖ the wrappedKey). */
static nox_status spki_digest(const nox_rsa_key *rsa, const uint8_t *extra, size_t extra_len, uint8_t out[32],
                              nox_error *err) {
    if (!extra_len) {
        memcpy(out, nox_rsa_fingerprint(rsa), 32);
        return NOX_OK;
    }
    return digest2(nox_rsa_fingerprint(rsa), 32, extra, extra_len, out, err);
}

nox_status nox_envelope_key_for(nox_envelope_keys *k, const nox_rsa_key *target, uint8_t key[NOX_ECIES_KEY_SIZE],
                                uint8_t *wrapped, size_t cap, size_t *wrapped_len, nox_error *err) {
    uint8_t id[32];
    nox_status st = k ? spki_digest(target, NULL, 0, id, err) : NOX_OK;
    if (st) return st;
    if (k) {
        pthread_mutex_lock(&k->mu);
        entry *e = find(k, id, nox_clock_ms());
        int hit = e && e->wrapped_len <= cap;
        if (hit) {
            memcpy(key, e->key, NOX_ECIES_KEY_SIZE);
            memcpy(wrapped, e->wrapped, e->wrapped_len);
            *wrapped_len = e->wrapped_len;
        }
        pthread_mutex_unlock(&k->mu);
        if (hit) return NOX_OK;
    }
    /* a fresh key, wrapped once (outside the lock: two threads may both make one; the later one stays) */
    if (RAND_priv_bytes(key, NOX_ECIES_KEY_SIZE) != 1)
        return nox_error_set(err, NOX_ERR_IO, "the random number generator failed (envelope key)");
    st = nox_rsa_encrypt(target, key, NOX_ECIES_KEY_SIZE, wrapped, cap, wrapped_len, err);
    if (st) OPENSSL_cleanse(key, NOX_ECIES_KEY_SIZE);
    else if (k && *wrapped_len <= sizeof k->e[0].wrapped) remember(k, id, key, wrapped, *wrapped_len);
    return st;
}

nox_status nox_envelope_key_unwrap(nox_envelope_keys *k, const nox_rsa_key *key, const uint8_t *wrapped,
                                   size_t wrapped_len, uint8_t out[NOX_ECIES_KEY_SIZE], size_t *out_len,
                                   nox_error *err) {
    uint8_t id[32];
    nox_status st = k ? spki_digest(key, wrapped, wrapped_len, id, err) : NOX_OK;
    if (st) return st;
    if (k) {
        pthread_mutex_lock(&k->mu);
        entry *e = find(k, id, nox_clock_ms());
        if (e) memcpy(out, e->key, NOX_ECIES_KEY_SIZE);
        pthread_mutex_unlock(&k->mu);
        if (e) {
            *out_len = NOX_ECIES_KEY_SIZE;
            return NOX_OK;
        }
    }
    uint8_t buf[NOX_RSA_MAX_BITS / 8];
    size_t n = 0;
    st = nox_rsa_decrypt(key, wrapped, wrapped_len, buf, sizeof buf, &n, err);
    if (!st && n == NOX_ECIES_KEY_SIZE) memcpy(out, buf, NOX_ECIES_KEY_SIZE);
    *out_len = st ? 0 : n;
    OPENSSL_cleanse(buf, sizeof buf);
    if (!st && n == NOX_ECIES_KEY_SIZE && k) remember(k, id, out, NULL, 0);
    return st;
}
