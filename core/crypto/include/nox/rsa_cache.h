/*
 * nox/rsa_cache.h — a small thread-safe cache of parsed RSA public keys,
 * keyed by their exact SPKI hex text as received.
 *
 * Why: OpenSSL 3.0 needs ~185 µs to decode (and re-encode, for the
 * canonical-DER check) an SPKI — three times the ECDH + RSA-OAEP work of a
 * delegation. A Runner sends the same key with every request, so the KMS
 * parses it once. Entries are reference-counted: evicting one never pulls a
 * key from under a thread that is using it.
 */
#ifndef NOX_RSA_CACHE_H
#define NOX_RSA_CACHE_H

#include <stddef.h>

#include "nox/error.h"
#include "nox/rsa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nox_rsa_cache nox_rsa_cache;

/** A cache of at most `capacity` keys (least recently used evicted). NULL when out of memory. */
nox_rsa_cache *nox_rsa_cache_new(size_t capacity);

/** Frees the cache and releases its references (keys still held by callers stay valid). NULL is fine. */
void nox_rsa_cache_free(nox_rsa_cache *cache);

/**
 * The key for `spki_hex` (0x + SPKI DER hex, as nox_rsa_from_spki_hex takes
 * it): from the cache, or parsed, validated and cached. The caller owns one
 * reference and releases it with nox_rsa_free. Refusals are
 * nox_rsa_from_spki_hex's, and are not cached.
 */
nox_status nox_rsa_cache_get(nox_rsa_cache *cache, const char *spki_hex, nox_rsa_key **out, nox_error *err);

/** Lookups answered from the cache, and lookups that had to parse (for metrics and tests). */
void nox_rsa_cache_stats(nox_rsa_cache *cache, unsigned long long *hits, unsigned long long *misses);

#ifdef __cplusplus
}
#endif

#endif /* NOX_RSA_CACHE_H */
