/* The parsed-RSA-key cache: hits, misses, refusals, eviction, references, threads. */
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "nox/rsa_cache.h"
#include "test_util.h"

static char spki[1200], spki_upper[1200], spki_mixed[1200];

static void make_keys(void) {
    nox_rsa_key *k; /* before CUnit runs: failures here abort the program */
    if (nox_rsa_generate(2048, &k, NULL) || nox_rsa_spki_hex(k, spki, sizeof spki, NULL)) {
        fprintf(stderr, "cannot make the test key\n");
        exit(2);
    }
    nox_rsa_free(k);
    /* the same key written three ways: three distinct cache texts */
    strcpy(spki_upper, spki);
    for (char *p = spki_upper + 2; *p; p++) *p = (char)toupper((unsigned char)*p);
    strcpy(spki_mixed, spki); /* one hex letter upper-cased */
    char *letter = strpbrk(spki_mixed + 2, "abcdef");
    if (!letter) exit(2);
    *letter = (char)toupper((unsigned char)*letter);
}

static void test_hits_misses_refusals(void) {
    nox_rsa_cache *c = nox_rsa_cache_new(4);
    nox_rsa_key *a, *b;
    unsigned long long hits, misses;
    nox_error err = {0};
    CU_ASSERT_EQUAL(nox_rsa_cache_get(c, spki, &a, &err), NOX_OK);
    CU_ASSERT_EQUAL(nox_rsa_cache_get(c, spki, &b, &err), NOX_OK);
    CU_ASSERT_PTR_EQUAL(a, b); /* the same parsed key, two references */
    CU_ASSERT_EQUAL(nox_rsa_size(a), 256);
    nox_rsa_cache_stats(c, &hits, &misses);
    CU_ASSERT_EQUAL(hits, 1);
    CU_ASSERT_EQUAL(misses, 1);
    /* refusals are reported and not cached */
    nox_rsa_key *bad = (nox_rsa_key *)1;
    CU_ASSERT_EQUAL(nox_rsa_cache_get(c, "0x3082", &bad, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_rsa_cache_get(c, "0x3082", &bad, &err), NOX_ERR_INVALID);
    nox_rsa_cache_stats(c, &hits, &misses);
    CU_ASSERT_EQUAL(misses, 3);
    /* the caller's references outlive the cache */
    nox_rsa_cache_free(c);
    CU_ASSERT_EQUAL(nox_rsa_size(a), 256);
    nox_rsa_free(a);
    nox_rsa_free(b);
}

static void test_eviction(void) {
    nox_rsa_cache *c = nox_rsa_cache_new(2);
    nox_rsa_key *k;
    unsigned long long hits, misses;
    const char *seq[] = {spki, spki_upper, spki, spki_mixed, spki, spki_upper};
    /* capacity 2, LRU: spki stays (used often); spki_upper is evicted by spki_mixed and parsed again */
    for (size_t i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(nox_rsa_cache_get(c, seq[i], &k, NULL), NOX_OK);
        nox_rsa_free(k);
    }
    nox_rsa_cache_stats(c, &hits, &misses);
    CU_ASSERT_EQUAL(hits, 2);   /* spki at steps 3 and 5 */
    CU_ASSERT_EQUAL(misses, 4); /* spki, upper, mixed, upper again */
    nox_rsa_cache_free(c);
}

static nox_rsa_cache *shared;
static void *hammer(void *arg) {
    const char *texts[] = {spki, spki_upper, spki_mixed};
    long bad = 0;
    for (int i = 0; i < 300; i++) {
        nox_rsa_key *k;
        if (nox_rsa_cache_get(shared, texts[(i + (long)arg) % 3], &k, NULL) != NOX_OK || nox_rsa_size(k) != 256) bad++;
        else nox_rsa_free(k);
    }
    return (void *)bad;
}

static void test_threads(void) {
    /* capacity 2 with 3 texts: constant eviction while 4 threads hold and release references */
    shared = nox_rsa_cache_new(2);
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        CU_ASSERT_EQUAL((long)bad, 0);
    }
    unsigned long long hits, misses;
    nox_rsa_cache_stats(shared, &hits, &misses);
    CU_ASSERT_EQUAL(hits + misses, 1200);
    nox_rsa_cache_free(shared);
}

int main(void) {
    make_keys();
    CU_TestInfo tests[] = {
        {"hits, misses, refusals not cached, references outlive the cache", test_hits_misses_refusals},
        {"least recently used is evicted", test_eviction},
        {"four threads under constant eviction", test_threads},
        CU_TEST_INFO_NULL,
    };
    return nox_test_main("rsa_cache", tests);
}
