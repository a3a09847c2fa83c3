/*
 * nox/kms_client.h against a real nox-kms, driven by kms_client_test.py.
 *
 * Environment: NOX_KMS_URL (the KMS base URL), NOX_KMS_WALLET (its wallet
 * address, 0x hex), NOX_GATEWAY_KEY_FILE (the Gateway's key file, the one
 * the KMS is configured with).
 *
 *   kms_client_test           the main suite
 *   kms_client_test restart   the stop/restart phase: prints "@@stop", waits
 *                             for a line on stdin (the KMS is then down),
 *                             prints "@@start", waits for a line (it is up
 *                             again on the same port)
 *   kms_client_test fake      against a fake KMS (NOX_KMS_FAKE set) that
 *                             answers malformed bodies and odd statuses
 */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nox/delegation.h"
#include "nox/ec.h"
#include "nox/hex.h"
#include "nox/kms_client.h"
#include "nox/rsa.h"

#define CHAIN 31337u

static const char *kms_url;
static uint8_t kms_wallet[NOX_ADDRESS_SIZE];
static nox_ec_privkey gateway_key;
static nox_kms_client *client;
static nox_rsa_key *rsa;          /* the requester's key pair */
static char target_hex[2 * 2048 + 3]; /* its SPKI */
static uint8_t kms_pub_bytes[NOX_EC_PUBKEY_COMPRESSED_SIZE];
static nox_ec_pubkey kms_pub;

static int setup(void) {
    kms_url = getenv("NOX_KMS_URL");
    const char *wallet = getenv("NOX_KMS_WALLET"), *key_file = getenv("NOX_GATEWAY_KEY_FILE");
    nox_error err;
    if (!kms_url || !wallet || !key_file) {
        fprintf(stderr, "NOX_KMS_URL, NOX_KMS_WALLET and NOX_GATEWAY_KEY_FILE must be set\n");
        return 1;
    }
    if (nox_hex_decode_exact(wallet, strlen(wallet), kms_wallet, sizeof kms_wallet, &err) ||
        nox_ec_key_load(&gateway_key, key_file, &err) || nox_rsa_generate(2048, &rsa, &err) ||
        nox_rsa_spki_hex(rsa, target_hex, sizeof target_hex, &err)) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 1;
    }
    nox_kms_options o;
    nox_kms_options_default(&o);
    o.url = kms_url;
    o.max_connections = 8;
    if (nox_kms_client_new(&o, &client, &err)) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 1;
    }
    if (getenv("NOX_KMS_FAKE")) return 0; /* a fake server: no public key to fetch */
    if (nox_kms_fetch_public_key(client, CHAIN, kms_wallet, kms_pub_bytes, NULL, &err) ||
        nox_ec_pubkey_parse_compressed(&kms_pub, kms_pub_bytes, sizeof kms_pub_bytes, &err)) {
        fprintf(stderr, "setup: public key: %s\n", err.message);
        return 1;
    }
    return 0;
}

static int teardown(void) {
    nox_kms_client_free(client);
    nox_rsa_free(rsa);
    nox_ec_key_wipe(&gateway_key);
    return 0;
}

/* A fresh ephemeral key k, its compressed public key as 0x hex, and x of k·P_kms. */
static void ephemeral(nox_ec_privkey *k, char hex[2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3], uint8_t x[32]) {
    nox_ec_pubkey pub;
    uint8_t bytes[NOX_EC_PUBKEY_COMPRESSED_SIZE];
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_generate(k, NULL), NOX_OK);
    CU_ASSERT_EQUAL_FATAL(nox_ec_pubkey_of(k, &pub, NULL), NOX_OK);
    nox_ec_pubkey_compressed(&pub, bytes);
    nox_hex_encode(bytes, sizeof bytes, hex);
    CU_ASSERT_EQUAL_FATAL(nox_ec_ecdh_x(k, &kms_pub, x, NULL), NOX_OK);
}

/* 1 when secret[0..len) RSA-decrypts to x. */
static int unwraps_to(const uint8_t *secret, size_t len, const uint8_t x[32]) {
    uint8_t got[NOX_ECIES_SECRET_SIZE];
    if (nox_delegation_unwrap(rsa, secret, len, got, NULL) != NOX_OK) return 0;
    return memcmp(got, x, 32) == 0;
}

static void test_public_key(void) {
    uint8_t key[NOX_EC_PUBKEY_COMPRESSED_SIZE];
    nox_ec_pubkey pub;
    nox_error err;
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, CHAIN, kms_wallet, key, NULL, &err), NOX_OK);
    CU_ASSERT(key[0] == 2 || key[0] == 3);
    CU_ASSERT_EQUAL(nox_ec_pubkey_parse_compressed(&pub, key, sizeof key, NULL), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(key, kms_pub_bytes, sizeof key), 0);
}

static void test_public_key_wrong_wallet(void) {
    uint8_t wrong[NOX_ADDRESS_SIZE], key[NOX_EC_PUBKEY_COMPRESSED_SIZE];
    char want[2 * NOX_ADDRESS_SIZE + 3], real[2 * NOX_ADDRESS_SIZE + 3];
    memcpy(wrong, kms_wallet, sizeof wrong);
    wrong[7] ^= 0x5a;
    nox_error err;
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, CHAIN, wrong, key, NULL, &err), NOX_ERR_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, nox_hex_encode(wrong, sizeof wrong, want)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, nox_hex_encode(kms_wallet, sizeof kms_wallet, real)));
}

static void test_public_key_unknown_chain(void) {
    uint8_t key[NOX_EC_PUBKEY_COMPRESSED_SIZE];
    nox_kms_fault f;
    nox_error err;
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, 5, kms_wallet, key, &f, &err), NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(f.http_status, 400);
    CU_ASSERT_STRING_EQUAL(f.code, "unknown_chain");
}

static void test_delegate(void) {
    for (int i = 0; i < 3; i++) {
        nox_ec_privkey k;
        char eph[2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3];
        uint8_t x[32], out[2048];
        size_t n = 0;
        nox_error err;
        ephemeral(&k, eph, x);
        nox_status s = nox_kms_delegate(client, CHAIN, &gateway_key, eph, target_hex, out, sizeof out, &n, NULL, &err);
        CU_ASSERT_EQUAL(s, NOX_OK);
        if (s) fprintf(stderr, "delegate: %s\n", err.message);
        CU_ASSERT_EQUAL(n, nox_rsa_size(rsa));
        CU_ASSERT(unwraps_to(out, n, x));
        nox_ec_key_wipe(&k);
    }
}

static void test_delegate_wrong_gateway(void) {
    nox_ec_privkey k, other;
    char eph[2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3];
    uint8_t x[32], out[2048];
    size_t n = 1;
    nox_kms_fault f;
    nox_error err;
    ephemeral(&k, eph, x);
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_generate(&other, NULL), NOX_OK);
    CU_ASSERT_EQUAL(nox_kms_delegate(client, CHAIN, &other, eph, target_hex, out, sizeof out, &n, &f, &err),
                    NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(f.http_status, 401);
    CU_ASSERT_STRING_EQUAL(f.code, "unauthorized");
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "401"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "unauthorized"));
    /* the right key on another chain: the KMS does not serve it */
    CU_ASSERT_EQUAL(nox_kms_delegate(client, 5, &gateway_key, eph, target_hex, out, sizeof out, &n, &f, &err),
                    NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(f.http_status, 400);
    CU_ASSERT_STRING_EQUAL(f.code, "unknown_chain");
}

static void test_delegate_malformed_ephemeral(void) {
    uint8_t out[2048];
    size_t n;
    nox_kms_fault f;
    nox_error err;
    const char *bad[] = {"0x1234", "0x04", "not hex at all",
                         /* right length, but x = p, the field prime: no point */
                         "0x02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&f, 0, sizeof f);
        CU_ASSERT_EQUAL(nox_kms_delegate(client, CHAIN, &gateway_key, bad[i], target_hex, out, sizeof out, &n, &f,
                                         &err), NOX_ERR_REMOTE);
        CU_ASSERT_EQUAL(f.http_status, 400);
        CU_ASSERT_STRING_EQUAL(f.code, "bad_request");
    }
    /* a bad target key too */
    nox_ec_privkey k;
    char eph[2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3];
    uint8_t x[32];
    ephemeral(&k, eph, x);
    CU_ASSERT_EQUAL(nox_kms_delegate(client, CHAIN, &gateway_key, eph, "0xdeadbeef", out, sizeof out, &n, &f, &err),
                    NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(f.http_status, 400);
    /* an output buffer too small for the answer: the answer is refused as such */
    CU_ASSERT_EQUAL(nox_kms_delegate(client, CHAIN, &gateway_key, eph, target_hex, out, 16, &n, &f, &err),
                    NOX_ERR_INVALID);
}

#define BATCH 64

static void test_batch(void) {
    static nox_ec_privkey keys[BATCH];
    static char ephs[BATCH][2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3];
    static uint8_t xs[BATCH][32], outs[BATCH][512], single[BATCH][512];
    static nox_kms_delegation items[BATCH];
    size_t single_len[BATCH];
    nox_error err;
    for (int i = 0; i < BATCH; i++) {
        ephemeral(&keys[i], ephs[i], xs[i]);
        memset(&items[i], 0, sizeof items[i]);
        items[i].ephemeral_pub_key = ephs[i];
        items[i].target_pub_key = target_hex;
        items[i].out = outs[i];
        items[i].cap = sizeof outs[i];
    }
    /* one malformed item: its own status, the others unaffected */
    items[17].ephemeral_pub_key = "0x1234";
    nox_status s = nox_kms_delegate_batch(client, CHAIN, &gateway_key, items, BATCH, 0, &err);
    CU_ASSERT_EQUAL(s, NOX_ERR_REMOTE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "1 of 64"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "item 17"));
    CU_ASSERT_EQUAL(items[17].status, NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(items[17].fault.http_status, 400);
    items[17].ephemeral_pub_key = ephs[17];

    s = nox_kms_delegate_batch(client, CHAIN, &gateway_key, items, BATCH, 0, &err);
    CU_ASSERT_EQUAL(s, NOX_OK);
    if (s) fprintf(stderr, "batch: %s\n", err.message);
    int good = 0, single_good = 0;
    for (int i = 0; i < BATCH; i++) {
        good += items[i].status == NOX_OK && items[i].out_len == 256 && unwraps_to(outs[i], items[i].out_len, xs[i]);
        single_good += nox_kms_delegate(client, CHAIN, &gateway_key, ephs[i], target_hex, single[i],
                                        sizeof single[i], &single_len[i], NULL, NULL) == NOX_OK &&
                       unwraps_to(single[i], single_len[i], xs[i]);
    }
    CU_ASSERT_EQUAL(good, BATCH);
    CU_ASSERT_EQUAL(single_good, BATCH);
    /* a bounded fan-out (2 workers) gives the same */
    s = nox_kms_delegate_batch(client, CHAIN, &gateway_key, items, BATCH, 2, &err);
    CU_ASSERT_EQUAL(s, NOX_OK);
    good = 0;
    for (int i = 0; i < BATCH; i++) good += items[i].status == NOX_OK && unwraps_to(outs[i], items[i].out_len, xs[i]);
    CU_ASSERT_EQUAL(good, BATCH);
    for (int i = 0; i < BATCH; i++) nox_ec_key_wipe(&keys[i]);
}

#define THREADS 8
#define PER_THREAD 50

static void *thread_main(void *arg) {
    int *good = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        nox_ec_privkey k;
        nox_ec_pubkey pub;
        uint8_t bytes[NOX_EC_PUBKEY_COMPRESSED_SIZE], x[32], out[512];
        char eph[2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3];
        size_t n;
        nox_error err;
        if (nox_ec_key_generate(&k, NULL) || nox_ec_pubkey_of(&k, &pub, NULL) || nox_ec_ecdh_x(&k, &kms_pub, x, NULL))
            continue;
        nox_ec_pubkey_compressed(&pub, bytes);
        nox_hex_encode(bytes, sizeof bytes, eph);
        if (nox_kms_delegate(client, CHAIN, &gateway_key, eph, target_hex, out, sizeof out, &n, NULL, &err) == NOX_OK &&
            unwraps_to(out, n, x))
            (*good)++;
        else
            fprintf(stderr, "thread delegation: %s\n", err.message);
    }
    return NULL;
}

static void test_threads(void) {
    pthread_t t[THREADS];
    int good[THREADS] = {0};
    for (int i = 0; i < THREADS; i++) CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, thread_main, &good[i]), 0);
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        total += good[i];
    }
    CU_ASSERT_EQUAL(total, THREADS * PER_THREAD);
}

static void test_bad_options(void) {
    nox_kms_options o;
    nox_kms_client *c = (nox_kms_client *)1;
    nox_error err;
    nox_kms_options_default(&o);
    CU_ASSERT_EQUAL(nox_kms_client_new(&o, &c, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NULL(c);
    o.url = "ftp://example.org";
    CU_ASSERT_EQUAL(nox_kms_client_new(&o, &c, &err), NOX_ERR_INVALID);
    o.url = "http://user:secret@127.0.0.1:9/path?apikey=secret";
    CU_ASSERT_EQUAL(nox_kms_client_new(&o, &c, &err), NOX_OK);
    CU_ASSERT_STRING_EQUAL(nox_kms_client_display_url(c), "http://127.0.0.1:9");
    nox_kms_client_free(c);
}

/* ---- the restart phase ---- */

static void wait_line(const char *announce) {
    char line[64];
    printf("\n%s\n", announce); /* on a line of its own: CUnit's "Test: ..." is still open */
    fflush(stdout);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fgets(line, sizeof line, stdin));
}

static nox_status one_delegation(nox_error *err) {
    nox_ec_privkey k;
    char eph[2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3];
    uint8_t x[32], out[512];
    size_t n = 0;
    ephemeral(&k, eph, x);
    nox_status s = nox_kms_delegate(client, CHAIN, &gateway_key, eph, target_hex, out, sizeof out, &n, NULL, err);
    if (s == NOX_OK && !unwraps_to(out, n, x)) s = NOX_ERR_AUTH;
    return s;
}

static void test_restart(void) {
    nox_error err;
    nox_status s = one_delegation(&err);
    CU_ASSERT_EQUAL(s, NOX_OK);
    wait_line("@@stop");
    for (int i = 0; i < 2; i++) {
        s = one_delegation(&err);
        CU_ASSERT_EQUAL(s, NOX_ERR_IO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "cannot reach the KMS"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, kms_url));
        CU_ASSERT_PTR_NULL(strstr(err.message, "Bearer"));
        CU_ASSERT(strlen(err.message) < 200);
        fprintf(stderr, "KMS down: %s\n", err.message);
    }
    uint8_t key[NOX_EC_PUBKEY_COMPRESSED_SIZE];
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, CHAIN, kms_wallet, key, NULL, &err), NOX_ERR_IO);
    wait_line("@@start");
    s = one_delegation(&err);
    CU_ASSERT_EQUAL(s, NOX_OK);
    if (s) fprintf(stderr, "after restart: %s\n", err.message);
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, CHAIN, kms_wallet, key, NULL, &err), NOX_OK);
    CU_ASSERT_EQUAL(memcmp(key, kms_pub_bytes, sizeof key), 0);
}

/* ---- against a fake KMS (kms_client_test.py's), answering by chainId ---- */

static void test_fake_answers(void) {
    uint8_t key[NOX_EC_PUBKEY_COMPRESSED_SIZE], out[512];
    size_t n = 1;
    nox_kms_fault f;
    nox_error err;
    const char *eph = "0x02aa", *target = "0xbb";
    /* chain 1: 200 with a body that is not JSON */
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, 1, kms_wallet, key, NULL, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_kms_delegate(client, 1, &gateway_key, eph, target, out, sizeof out, &n, NULL, &err),
                    NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(n, 0);
    /* chain 2: 200 with JSON of the wrong shape */
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, 2, kms_wallet, key, NULL, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(nox_kms_delegate(client, 2, &gateway_key, eph, target, out, sizeof out, &n, NULL, &err),
                    NOX_ERR_INVALID);
    /* chain 3: 503 {"error":"storage"} -> IO (retryable), the fault still filled */
    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL(nox_kms_delegate(client, 3, &gateway_key, eph, target, out, sizeof out, &n, &f, &err), NOX_ERR_IO);
    CU_ASSERT_EQUAL(f.http_status, 503);
    CU_ASSERT_STRING_EQUAL(f.code, "storage");
    /* chain 4: a redirect is not followed -> INVALID */
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, 4, kms_wallet, key, NULL, &err), NOX_ERR_INVALID);
    /* chain 5: 429 without a JSON body -> REMOTE with the status, no code */
    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, 5, kms_wallet, key, &f, &err), NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(f.http_status, 429);
    CU_ASSERT_STRING_EQUAL(f.code, "");
    /* chain 6: a well-formed answer whose proof is not from the expected wallet -> AUTH */
    CU_ASSERT_EQUAL(nox_kms_fetch_public_key(client, 6, kms_wallet, key, NULL, &err), NOX_ERR_AUTH);
}

/* chain 7: a KMS without POST /v0/delegate/batch (404), whose /v0/delegate answers 0xabab...:
 * a batch falls back to one request per item */
static void test_fake_no_batch_endpoint(void) {
    enum { N = 5 };
    uint8_t outs[N][512];
    nox_kms_delegation items[N];
    nox_error err;
    memset(items, 0, sizeof items);
    for (int i = 0; i < N; i++) {
        items[i].ephemeral_pub_key = "0x02aa";
        items[i].target_pub_key = "0xbb";
        items[i].out = outs[i];
        items[i].cap = sizeof outs[i];
    }
    CU_ASSERT_EQUAL(nox_kms_delegate_batch(client, 7, &gateway_key, items, N, 0, &err), NOX_OK);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(items[i].status, NOX_OK);
        CU_ASSERT_EQUAL(items[i].out_len, 256);
        CU_ASSERT_EQUAL(outs[i][0], 0xab);
        CU_ASSERT_EQUAL(outs[i][255], 0xab);
    }
    /* chain 3 (503 everywhere): a failed batch request is every item's answer, not a fallback */
    CU_ASSERT_EQUAL(nox_kms_delegate_batch(client, 3, &gateway_key, items, N, 0, &err), NOX_ERR_IO);
    for (int i = 0; i < N; i++) CU_ASSERT_EQUAL(items[i].status, NOX_ERR_IO);
}

int main(int argc, char **argv) {
    int restart = argc > 1 && strcmp(argv[1], "restart") == 0;
    int fake = argc > 1 && strcmp(argv[1], "fake") == 0;
    CU_TestInfo main_tests[] = {
        {"options and URL redaction", test_bad_options},
        {"public key fetched and verified", test_public_key},
        {"public key: wrong expected wallet -> AUTH", test_public_key_wrong_wallet},
        {"public key: unknown chain -> REMOTE 400", test_public_key_unknown_chain},
        {"delegation RSA-decrypts to ECDH x", test_delegate},
        {"wrong gateway key -> REMOTE 401 unauthorized", test_delegate_wrong_gateway},
        {"malformed keys -> REMOTE 400", test_delegate_malformed_ephemeral},
        {"batch of 64 = 64 single delegations, in order", test_batch},
        {"8 threads x 50 delegations, one client", test_threads},
        CU_TEST_INFO_NULL,
    };
    CU_TestInfo restart_tests[] = {
        {"KMS down -> IO, restarted -> OK", test_restart},
        CU_TEST_INFO_NULL,
    };
    CU_TestInfo fake_tests[] = {
        {"malformed 2xx -> INVALID, 5xx -> IO, 4xx -> REMOTE, bad proof -> AUTH", test_fake_answers},
        {"a KMS without the batch endpoint: one request per item", test_fake_no_batch_endpoint},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {
        {restart ? "kms_client_restart" : fake ? "kms_client_fake" : "kms_client", setup, teardown, NULL, NULL,
         restart ? restart_tests : fake ? fake_tests : main_tests},
        CU_SUITE_INFO_NULL,
    };
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return failed || ran == 0 ? 1 : 0;
}
