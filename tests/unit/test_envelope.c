/*
 * Threshold delegation envelopes (nox/delegation.h, docs/PROTOCOL-EXTENSIONS.md §11): their layout, who can
 * open them, the envelope keys that last (node and requester caches: reuse, isolation between requesters,
 * expiry, eviction, threads), and the requester's proof check made once per envelope.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "nox/delegation.h"
#include "test_util.h"

enum { M = 5 };
static nox_rsa_key *alice, *bob;
static nox_ec_privkey shares[3], secret;
static nox_th_group group;
static uint8_t eph[M][33], nonce[M][12], ct[M][8 + 16], plain[M][8];

static void setup(void) {
    nox_ec_pubkey p;
    if (nox_rsa_generate(2048, &alice, NULL) || nox_rsa_generate(2048, &bob, NULL) ||
        nox_ec_key_generate(&secret, NULL) || nox_th_deal(&secret, 2, 3, &group, shares, NULL) ||
        nox_ec_pubkey_parse_compressed(&p, group.public_key, 33, NULL)) {
        fprintf(stderr, "cannot make the test keys\n");
        exit(2);
    }
    for (int j = 0; j < M; j++) {
        memset(plain[j], 0x40 + j, sizeof plain[j]);
        if (nox_ecies_encrypt(&p, plain[j], sizeof plain[j], ct[j], eph[j], nonce[j], NULL)) exit(2);
    }
}

static nox_status seal(unsigned node, const nox_rsa_key *to, nox_envelope_keys *keys, nox_sealed_partials *out) {
    nox_error err = {0};
    nox_status st = nox_delegation_seal_partials(&shares[node - 1], node, 31337, (const uint8_t(*)[33])eph, M, to,
                                                 keys, out, &err);
    if (st) fprintf(stderr, "seal: %s\n", err.message);
    return st;
}

static nox_status open_one(const nox_rsa_key *key, nox_envelope_keys *keys, const nox_sealed_partials *s,
                           nox_partials *out) {
    nox_error err = {0};
    nox_status st = nox_delegation_open_partials(key, keys, s, 31337, out, &err);
    if (st == NOX_OK) memcpy(out->verification_key, group.verification_keys[s->node - 1], 33);
    return st;
}

static void test_layout_and_who_opens(void) {
    nox_sealed_partials s1, s2;
    nox_partials p = {0};
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(seal(1, alice, NULL, &s1), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(seal(1, alice, NULL, &s2), NOX_OK);
    CU_ASSERT_EQUAL(s1.ciphertext_len, NOX_DELEGATION_SEALED_SIZE(M));
    CU_ASSERT_EQUAL(s1.ciphertext_len, 64 + M * 66 + 16);
    CU_ASSERT_EQUAL(s1.wrapped_key_len, 256);
    CU_ASSERT_NOT_EQUAL(memcmp(s1.wrapped_key, s2.wrapped_key, 256), 0); /* no cache: a fresh key each time */
    CU_ASSERT_EQUAL_FATAL(open_one(alice, NULL, &s1, &p), NOX_OK);
    CU_ASSERT_EQUAL(p.m, M);
    CU_ASSERT_EQUAL(p.node, 1);
    for (int j = 0; j < M; j++) CU_ASSERT_EQUAL(memcmp(p.items + j * NOX_DELEGATION_ITEM_SIZE, eph[j], 33), 0);
    CU_ASSERT_EQUAL(nox_th_verify_partials(group.verification_keys[0], (const uint8_t(*)[NOX_TH_PAIR_SIZE])p.items, p.m,
                                           p.proof, &err), NOX_OK);
    nox_partials_wipe(&p);
    /* another requester, another chain, another node's AAD, a flipped byte: nothing opens */
    CU_ASSERT_EQUAL(open_one(bob, NULL, &s1, &p), NOX_ERR_AUTH);
    CU_ASSERT_EQUAL(nox_delegation_open_partials(alice, NULL, &s1, 1, &p, &err), NOX_ERR_AUTH);
    s1.node = 2;
    CU_ASSERT_EQUAL(open_one(alice, NULL, &s1, &p), NOX_ERR_AUTH);
    s1.node = 1;
    s1.ciphertext[70] ^= 1;
    CU_ASSERT_EQUAL(open_one(alice, NULL, &s1, &p), NOX_ERR_AUTH);
    /* a length that is not a proof and whole items */
    s1.ciphertext_len -= 1;
    CU_ASSERT_EQUAL(nox_delegation_open_partials(alice, NULL, &s1, 31337, &p, &err), NOX_ERR_INVALID);
    ASSERT_CONTAINS(err.message, "not a proof, 1 to 1024 items of 66 bytes and a tag");
    s1.ciphertext_len = 64 + 16; /* a proof and no item */
    CU_ASSERT_EQUAL(nox_delegation_open_partials(alice, NULL, &s1, 31337, &p, &err), NOX_ERR_INVALID);
    nox_sealed_partials_free(&s1);
    nox_sealed_partials_free(&s2);
}

static void test_envelope_keys_reused_per_requester(void) {
    nox_envelope_keys *node = nox_envelope_keys_new(60, 8), *runner = nox_envelope_keys_new(120, 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(node);
    CU_ASSERT_PTR_NOT_NULL_FATAL(runner);
    nox_sealed_partials a1, a2, b1;
    nox_partials p = {0};
    CU_ASSERT_EQUAL_FATAL(seal(1, alice, node, &a1), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(seal(1, alice, node, &a2), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(seal(1, bob, node, &b1), NOX_OK);
    CU_ASSERT_EQUAL(nox_envelope_keys_hits(node), 1);
    /* the same requester: the same wrappedKey, its own IV; another requester: another key */
    CU_ASSERT_EQUAL(a1.wrapped_key_len, a2.wrapped_key_len);
    CU_ASSERT_EQUAL(memcmp(a1.wrapped_key, a2.wrapped_key, a1.wrapped_key_len), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a1.iv, a2.iv, sizeof a1.iv), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a1.wrapped_key, b1.wrapped_key, a1.wrapped_key_len), 0);
    /* the requester decrypts RSA once for both of alice's envelopes */
    CU_ASSERT_EQUAL(open_one(alice, runner, &a1, &p), NOX_OK);
    nox_partials_wipe(&p);
    CU_ASSERT_EQUAL(nox_envelope_keys_hits(runner), 0);
    CU_ASSERT_EQUAL(open_one(alice, runner, &a2, &p), NOX_OK);
    nox_partials_wipe(&p);
    CU_ASSERT_EQUAL(nox_envelope_keys_hits(runner), 1);
    /* bob, sharing the same cache object, is not served alice's key: his own RSA key decides (and refuses) */
    CU_ASSERT_EQUAL(open_one(bob, runner, &a1, &p), NOX_ERR_AUTH);
    CU_ASSERT_EQUAL(nox_envelope_keys_hits(runner), 1);
    CU_ASSERT_EQUAL(open_one(bob, runner, &b1, &p), NOX_OK);
    nox_partials_wipe(&p);
    /* a wrappedKey altered by the carrier is not a cache hit: RSA refuses it */
    a2.wrapped_key[10] ^= 1;
    CU_ASSERT_EQUAL(open_one(alice, runner, &a2, &p), NOX_ERR_AUTH);
    nox_sealed_partials_free(&a1);
    nox_sealed_partials_free(&a2);
    nox_sealed_partials_free(&b1);
    nox_envelope_keys_free(node);
    nox_envelope_keys_free(runner);
    CU_ASSERT_PTR_NULL(nox_envelope_keys_new(0, 8));
    CU_ASSERT_PTR_NULL(nox_envelope_keys_new(60, 0));
}

static void test_envelope_keys_expire_and_evict(void) {
    nox_envelope_keys *node = nox_envelope_keys_new(1, 1);
    nox_sealed_partials s1, s2, s3;
    CU_ASSERT_EQUAL_FATAL(seal(2, alice, node, &s1), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(seal(2, bob, node, &s2), NOX_OK); /* one entry: alice's is replaced */
    CU_ASSERT_EQUAL_FATAL(seal(2, alice, node, &s3), NOX_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(s1.wrapped_key, s3.wrapped_key, s1.wrapped_key_len), 0);
    nox_sealed_partials_free(&s1);
    nox_sealed_partials_free(&s2);
    CU_ASSERT_EQUAL_FATAL(seal(2, alice, node, &s1), NOX_OK); /* alive: reused */
    CU_ASSERT_EQUAL(memcmp(s1.wrapped_key, s3.wrapped_key, s1.wrapped_key_len), 0);
    nox_sealed_partials_free(&s1);
    usleep(1100 * 1000); /* past the TTL: a new key */
    CU_ASSERT_EQUAL_FATAL(seal(2, alice, node, &s1), NOX_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(s1.wrapped_key, s3.wrapped_key, s1.wrapped_key_len), 0);
    nox_sealed_partials_free(&s1);
    nox_sealed_partials_free(&s3);
    nox_envelope_keys_free(node);
}

static nox_envelope_keys *shared_node, *shared_runner;

static void *hammer(void *arg) {
    const nox_rsa_key *who = (long)arg % 2 ? alice : bob;
    long bad = 0;
    for (int i = 0; i < 6; i++) {
        nox_sealed_partials s;
        nox_partials p = {0};
        if (seal(3, who, shared_node, &s) || open_one(who, shared_runner, &s, &p)) bad++;
        nox_partials_wipe(&p);
        nox_sealed_partials_free(&s);
    }
    return (void *)bad;
}

static void test_envelope_keys_threads(void) {
    shared_node = nox_envelope_keys_new(60, 1); /* two requesters, one slot: constant replacement */
    shared_runner = nox_envelope_keys_new(60, 1);
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        CU_ASSERT_EQUAL((long)bad, 0);
    }
    nox_envelope_keys_free(shared_node);
    nox_envelope_keys_free(shared_runner);
}

/* Node 2 answers with another share: its partials are wrong, its proof fails; checked once, then remembered. */
static void test_proof_checked_once_per_envelope(void) {
    nox_ec_privkey wrong;
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_generate(&wrong, NULL), NOX_OK);
    nox_sealed_partials s[3];
    nox_partials sets[3] = {{0}};
    nox_error err = {0};
    CU_ASSERT_EQUAL_FATAL(seal(1, alice, NULL, &s[0]), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_delegation_seal_partials(&wrong, 2, 31337, (const uint8_t(*)[33])eph, M, alice, NULL, &s[1],
                                                       &err), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(seal(3, alice, NULL, &s[2]), NOX_OK);
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL_FATAL(open_one(alice, NULL, &s[i], &sets[i]), NOX_OK);
    uint64_t bad = 0;
    uint8_t out[8];
    for (int j = 0; j < M; j++) {
        /* nodes 2 and 1 first: the tag fails, node 2's proof fails, node 3 replaces it */
        nox_partials order[3] = {sets[1], sets[0], sets[2]};
        CU_ASSERT_EQUAL(nox_delegation_decrypt_partials(order, 3, 2, (size_t)j, eph[j], nonce[j], ct[j], sizeof ct[j],
                                                        out, &bad, &err), NOX_OK);
        CU_ASSERT_EQUAL(memcmp(out, plain[j], sizeof out), 0);
        CU_ASSERT_EQUAL(bad, 2); /* node 2's bit */
        CU_ASSERT_EQUAL(order[0].proof_state, -1);
        CU_ASSERT_EQUAL(order[1].proof_state, 1);
        sets[1].proof_state = order[0].proof_state; /* as one answer's sets would keep it */
        sets[0].proof_state = order[1].proof_state;
        bad = 0;
    }
    /* only the liar and one honest node: no value, the liar named */
    CU_ASSERT_EQUAL(nox_delegation_decrypt_partials(sets, 2, 2, 0, eph[0], nonce[0], ct[0], sizeof ct[0], out, &bad,
                                                    &err), NOX_ERR_REMOTE);
    ASSERT_CONTAINS(err.message, "node(s) 2");
    for (int i = 0; i < 3; i++) {
        nox_partials_wipe(&sets[i]);
        nox_sealed_partials_free(&s[i]);
    }
    nox_ec_key_wipe(&wrong);
}

int main(void) {
    setup();
    CU_TestInfo tests[] = {
        {"envelope layout; only its requester, chain and node open it", test_layout_and_who_opens},
        {"envelope keys: one per requester, unwrapped once", test_envelope_keys_reused_per_requester},
        {"envelope keys: expiry and replacement", test_envelope_keys_expire_and_evict},
        {"envelope keys: four threads, two requesters, one slot", test_envelope_keys_threads},
        {"a lying node's proof: checked once per envelope, the node named", test_proof_checked_once_per_envelope},
        CU_TEST_INFO_NULL,
    };
    int rc = nox_test_main("envelope", tests);
    nox_rsa_free(alice);
    nox_rsa_free(bob);
    for (int i = 0; i < 3; i++) nox_ec_key_wipe(&shares[i]);
    nox_ec_key_wipe(&secret);
    return rc;
}
