/* Parsed RSA public keys by SPKI text: a mutex-protected array with LRU eviction. */
#include "nox/rsa_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nox/keccak.h"

typedef struct entry {
    uint8_t digest[32]; /* keccak256 of the text: compared first, then the text itself */
    char *text;
    nox_rsa_key *key;
    uint64_t last_used;
} entry;

struct nox_rsa_cache {
    pthread_mutex_t lock;
    size_t capacity, n;
    uint64_t clock;
    unsigned long long hits, misses;
    entry *entries;
};

nox_rsa_cache *nox_rsa_cache_new(size_t capacity) {
    nox_rsa_cache *c = calloc(1, sizeof *c);
    if (!c || capacity == 0 || !(c->entries = calloc(capacity, sizeof *c->entries))) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity;
    return c;
}

void nox_rsa_cache_free(nox_rsa_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].text);
        nox_rsa_free(c->entries[i].key);
    }
    free(c->entries);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The entry for the text, or NULL. Called with the lock held. */
static entry *find(nox_rsa_cache *c, const uint8_t digest[32], const char *text) {
    for (size_t i = 0; i < c->n; i++)
        if (!memcmp(c->entries[i].digest, digest, 32) && !strcmp(c->entries[i].text, text)) return &c->entries[i];
    return NULL;
}

nox_status nox_rsa_cache_get(nox_rsa_cache *c, const char *spki_hex, nox_rsa_key **out, nox_error *err) {
    uint8_t digest[32];
    size_t len = strlen(spki_hex);
    nox_keccak256(spki_hex, len, digest);
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, digest, spki_hex);
    if (e) {
        e->last_used = ++c->clock;
        c->hits++;
        *out = nox_rsa_retain(e->key);
        pthread_mutex_unlock(&c->lock);
        return NOX_OK;
    }
    c->misses++;
    pthread_mutex_unlock(&c->lock);

    /* Parse outside the lock: it is the slow part. */
    nox_rsa_key *key;
    nox_status st = nox_rsa_from_spki_hex(spki_hex, len, &key, err);
    if (st) return st;
    char *text = strdup(spki_hex);
    if (!text) { /* still usable, just not cached */
        *out = key;
        return NOX_OK;
    }
    pthread_mutex_lock(&c->lock);
    if ((e = find(c, digest, spki_hex))) { /* another thread cached it meanwhile */
        free(text);
    } else {
        if (c->n < c->capacity) {
            e = &c->entries[c->n++];
        } else { /* evict the least recently used */
            e = &c->entries[0];
            for (size_t i = 1; i < c->n; i++)
                if (c->entries[i].last_used < e->last_used) e = &c->entries[i];
            free(e->text);
            nox_rsa_free(e->key);
        }
        memcpy(e->digest, digest, 32);
        e->text = text;
        e->key = nox_rsa_retain(key);
    }
    e->last_used = ++c->clock;
    pthread_mutex_unlock(&c->lock);
    *out = key;
    return NOX_OK;
}

void nox_rsa_cache_stats(nox_rsa_cache *c, unsigned long long *hits, unsigned long long *misses) {
    pthread_mutex_lock(&c->lock);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
