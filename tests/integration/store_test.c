/*
 * The Gateway's PostgreSQL store against a real server (store_test.py starts
 * it and passes NOX_TEST_DATABASE_URL). Run in phases:
 *   store_test migrate   migrations applied, idempotent (open twice, two at once)
 *   store_test crud      inputs, batch reads, results created/unchanged/conflicted, concurrency
 *   store_test restart   interactive: prints "@@STOP" and waits for a line on stdin while the
 *                        server is stopped, expects NOX_ERR_IO, prints "@@START", waits, expects success
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../unit/test_util.h"
#include "store.h"

static const char *db_url;
static unsigned counter; /* makes every handle of a run unique */
static uint32_t run_salt;

static nox_handle make_handle(uint8_t type) {
    uint8_t pre[NOX_PREHANDLE_SIZE] = {0};
    unsigned c = ++counter;
    memcpy(pre, &run_salt, 4);
    memcpy(pre + 4, &c, sizeof c);
    pre[25] = 0x5a;
    nox_handle h;
    nox_handle_make(&h, pre, 31337, type);
    return h;
}

/* A row with recognisable bytes (seed) and a ciphertext of ct_len bytes. */
static gw_row make_row(nox_handle h, uint8_t seed, int is_input, uint8_t *ct, size_t ct_len) {
    gw_row r;
    memset(&r, 0, sizeof r);
    r.handle = h;
    for (size_t i = 0; i < ct_len; i++) ct[i] = (uint8_t)(seed + i);
    r.ciphertext = ct;
    r.ciphertext_len = ct_len;
    memset(r.public_key, 0x02, 1);
    memset(r.public_key + 1, seed, GW_PUBKEY_SIZE - 1);
    memset(r.nonce, seed ^ 0x11, GW_NONCE_SIZE);
    memset(r.value_tag, seed ^ 0x22, GW_TAG_SIZE);
    r.is_input = is_input;
    if (is_input) {
        memset(r.owner, 0xaa, GW_ADDRESS_SIZE);
        memset(r.application, 0xbb, GW_ADDRESS_SIZE);
    } else {
        memset(r.tx_hash, 0xcc, GW_TXHASH_SIZE);
    }
    return r;
}

static gw_store *open_store(unsigned pool) {
    gw_store *st = NULL;
    nox_error err = {0};
    nox_status s = gw_store_open(&st, db_url, pool, &err);
    if (s) fprintf(stderr, "\n  open: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(s, NOX_OK);
    return st;
}

/* ---- migrate ------------------------------------------------------------------------------ */

static void *open_thread(void *arg) {
    nox_error err = {0};
    gw_store *st = NULL;
    *(nox_status *)arg = gw_store_open(&st, db_url, 1, &err);
    if (*(nox_status *)arg) fprintf(stderr, "\n  open (thread): %s\n", err.message);
    gw_store_close(st);
    return NULL;
}

static void test_migrations_idempotent(void) {
    /* two at once (the advisory lock serialises them), then twice more in a row */
    pthread_t t[2];
    nox_status s[2] = {NOX_ERR_IO, NOX_ERR_IO};
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, open_thread, &s[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(s[0], NOX_OK);
    CU_ASSERT_EQUAL(s[1], NOX_OK);
    for (int k = 0; k < 2; k++) {
        gw_store *st = open_store(2);
        int v = -1;
        nox_error err = {0};
        CU_ASSERT_EQUAL(gw_store_schema_version(st, &v, &err), NOX_OK);
        CU_ASSERT_EQUAL(v, gw_store_migrations_known());
        CU_ASSERT_EQUAL(gw_store_ping(st, &err), NOX_OK);
        gw_store_close(st);
    }
}

static void test_bad_password_redacted(void) {
    /* the same URL with a wrong password: refused, and the password is not in the message */
    const char *at = strchr(strstr(db_url, "://") + 3, '@');
    const char *colon = strchr(strstr(db_url, "://") + 3, ':');
    CU_ASSERT_FATAL(at && colon && colon < at);
    char url[1024];
    snprintf(url, sizeof url, "%.*sWrongSecret42%s", (int)(colon + 1 - db_url), db_url, at);
    gw_store *st = NULL;
    nox_error err = {0};
    CU_ASSERT_EQUAL(gw_store_open(&st, url, 1, &err), NOX_ERR_IO);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NULL(strstr(err.message, "WrongSecret42"));
    ASSERT_CONTAINS(err.message, "***");
    /* and the real password never shows either */
    char real[256];
    snprintf(real, sizeof real, "%.*s", (int)(at - colon - 1), colon + 1);
    CU_ASSERT_PTR_NULL(strstr(err.message, real));
    CU_ASSERT_EQUAL(gw_store_open(&st, db_url, 0, &err), NOX_ERR_INVALID);
    /* a password as a URL parameter or in a keyword conninfo is hidden too (port 1: refused) */
    const char *others[] = {"postgresql://nox@127.0.0.1:1/nox?password=Sekrit99&connect_timeout=2",
                            "host=127.0.0.1 port=1 password='Sekrit99 x' dbname=nox connect_timeout=2",
                            "host=127.0.0.1 port=1 password=Sekrit99 dbname=nox connect_timeout=2"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        CU_ASSERT_EQUAL(gw_store_open(&st, others[i], 1, &err), NOX_ERR_IO);
        CU_ASSERT_PTR_NULL(strstr(err.message, "Sekrit99"));
        ASSERT_CONTAINS(err.message, "***");
    }
}

/* ---- crud --------------------------------------------------------------------------------- */

static void test_input_and_batch_read(void) {
    gw_store *st = open_store(2);
    nox_error err = {0};
    uint8_t ct[3][48];
    gw_row in[3];
    for (int i = 0; i < 3; i++) {
        in[i] = make_row(make_handle(5), (uint8_t)(0x30 + i), 1, ct[i], 32 + (size_t)i);
        CU_ASSERT_EQUAL(gw_store_insert_input(st, &in[i], &err), NOX_OK);
    }
    /* the same handle again */
    CU_ASSERT_EQUAL(gw_store_insert_input(st, &in[0], &err), NOX_ERR_DUPLICATE);
    ASSERT_CONTAINS(err.message, "already stored");
    /* an input must have a ciphertext of a sane size */
    gw_row bad = in[1];
    bad.ciphertext_len = 3;
    CU_ASSERT_EQUAL(gw_store_insert_input(st, &bad, &err), NOX_ERR_INVALID);

    /* read in an order of our own, with one handle never stored */
    nox_handle absent = make_handle(5);
    nox_handle req[4] = {in[2].handle, absent, in[0].handle, in[1].handle};
    gw_row rows[4];
    size_t missing[4], n_missing = 9;
    CU_ASSERT_EQUAL(gw_store_read(st, req, 4, rows, missing, &n_missing, &err), NOX_ERR_NOT_FOUND);
    char text[NOX_HANDLE_TEXT_LEN + 1];
    ASSERT_CONTAINS(err.message, nox_handle_format(&absent, text));
    CU_ASSERT_EQUAL(n_missing, 1);
    CU_ASSERT_EQUAL(missing[0], 1);
    const int order[4] = {2, -1, 0, 1};
    for (int i = 0; i < 4; i++) {
        if (order[i] < 0) {
            CU_ASSERT_PTR_NULL(rows[i].ciphertext);
            continue;
        }
        const gw_row *w = &in[order[i]];
        CU_ASSERT_EQUAL(memcmp(rows[i].handle.bytes, w->handle.bytes, NOX_HANDLE_SIZE), 0);
        CU_ASSERT_EQUAL(rows[i].ciphertext_len, w->ciphertext_len);
        CU_ASSERT(rows[i].ciphertext && memcmp(rows[i].ciphertext, w->ciphertext, w->ciphertext_len) == 0);
        CU_ASSERT_EQUAL(memcmp(rows[i].public_key, w->public_key, GW_PUBKEY_SIZE), 0);
        CU_ASSERT_EQUAL(memcmp(rows[i].nonce, w->nonce, GW_NONCE_SIZE), 0);
        CU_ASSERT_EQUAL(memcmp(rows[i].value_tag, w->value_tag, GW_TAG_SIZE), 0);
        CU_ASSERT_EQUAL(memcmp(rows[i].owner, w->owner, GW_ADDRESS_SIZE), 0);
        CU_ASSERT_EQUAL(memcmp(rows[i].application, w->application, GW_ADDRESS_SIZE), 0);
        CU_ASSERT_EQUAL(rows[i].is_input, 1);
        CU_ASSERT_EQUAL(rows[i].chain_id, 31337);
        CU_ASSERT_EQUAL(rows[i].type_code, 5);
        CU_ASSERT(rows[i].created_at > 1700000000);
    }
    gw_rows_free(rows, 4);

    /* all present: NOX_OK */
    CU_ASSERT_EQUAL(gw_store_read(st, req + 2, 2, rows, missing, &n_missing, &err), NOX_OK);
    CU_ASSERT_EQUAL(n_missing, 0);
    gw_rows_free(rows, 2);
    gw_store_close(st);
}

static void test_publish_rules(void) {
    gw_store *st = open_store(2);
    nox_error err = {0};
    uint8_t ct[3][40], ct2[40];
    gw_row res[3];
    for (int i = 0; i < 3; i++) res[i] = make_row(make_handle(6), (uint8_t)(0x50 + i), 0, ct[i], 40);
    gw_publish_counts c;
    CU_ASSERT_EQUAL(gw_store_publish(st, res, 3, &c, &err), NOX_OK);
    CU_ASSERT(c.created == 3 && c.unchanged == 0 && c.conflicted == 0);
    /* a replay: unchanged */
    CU_ASSERT_EQUAL(gw_store_publish(st, res, 3, &c, &err), NOX_OK);
    CU_ASSERT(c.created == 0 && c.unchanged == 3 && c.conflicted == 0);
    /* one new, one replayed, one with another value (tag): conflicted, not overwritten */
    gw_row mix[3];
    uint8_t ct_new[40];
    mix[0] = make_row(make_handle(6), 0x70, 0, ct_new, 40);
    mix[1] = res[1];
    mix[2] = make_row(res[2].handle, 0x99, 0, ct2, 40);
    CU_ASSERT_EQUAL(gw_store_publish(st, mix, 3, &c, &err), NOX_OK);
    CU_ASSERT(c.created == 1 && c.unchanged == 1 && c.conflicted == 1);
    gw_row back[1];
    size_t missing[1], n_missing;
    CU_ASSERT_EQUAL(gw_store_read(st, &res[2].handle, 1, back, missing, &n_missing, &err), NOX_OK);
    CU_ASSERT(back[0].ciphertext && memcmp(back[0].ciphertext, res[2].ciphertext, 40) == 0);
    CU_ASSERT_EQUAL(memcmp(back[0].value_tag, res[2].value_tag, GW_TAG_SIZE), 0);
    CU_ASSERT_EQUAL(memcmp(back[0].tx_hash, res[2].tx_hash, GW_TXHASH_SIZE), 0);
    CU_ASSERT_EQUAL(back[0].is_input, 0);
    gw_rows_free(back, 1);
    /* an invalid row makes the whole batch fail and nothing is stored */
    uint8_t ct3[40], ct4[40];
    gw_row bad[2] = {make_row(make_handle(6), 0x10, 0, ct3, 40), make_row(make_handle(6), 0x11, 0, ct4, 40)};
    bad[1].ciphertext_len = 5000;
    CU_ASSERT_EQUAL(gw_store_publish(st, bad, 2, &c, &err), NOX_ERR_INVALID);
    CU_ASSERT_EQUAL(gw_store_read(st, &bad[0].handle, 1, back, missing, &n_missing, &err), NOX_ERR_NOT_FOUND);
    gw_rows_free(back, 1);
    gw_store_close(st);
}

#define BIG 1500
static void test_big_batch(void) {
    gw_store *st = open_store(2);
    nox_error err = {0};
    gw_row *rows = calloc(BIG, sizeof *rows);
    uint8_t(*ct)[20] = calloc(BIG, sizeof *ct);
    nox_handle *req = calloc(BIG + 1, sizeof *req);
    CU_ASSERT_FATAL(rows && ct && req);
    for (size_t i = 0; i < BIG; i++) rows[i] = make_row(make_handle(4), (uint8_t)i, 0, ct[i], 20);
    gw_publish_counts c;
    CU_ASSERT_EQUAL(gw_store_publish(st, rows, BIG, &c, &err), NOX_OK);
    CU_ASSERT_EQUAL(c.created, BIG);
    /* read back in reverse order plus one missing handle at the end */
    for (size_t i = 0; i < BIG; i++) req[i] = rows[BIG - 1 - i].handle;
    req[BIG] = make_handle(4);
    gw_row *back = calloc(BIG + 1, sizeof *back);
    size_t *missing = calloc(BIG + 1, sizeof *missing), n_missing = 0;
    CU_ASSERT_FATAL(back && missing);
    CU_ASSERT_EQUAL(gw_store_read(st, req, BIG + 1, back, missing, &n_missing, &err), NOX_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(n_missing, 1);
    CU_ASSERT_EQUAL(missing[0], BIG);
    size_t good = 0;
    for (size_t i = 0; i < BIG; i++)
        good += memcmp(back[i].handle.bytes, req[i].bytes, NOX_HANDLE_SIZE) == 0 && back[i].ciphertext_len == 20 &&
                memcmp(back[i].ciphertext, rows[BIG - 1 - i].ciphertext, 20) == 0;
    CU_ASSERT_EQUAL(good, BIG);
    gw_rows_free(back, BIG + 1);
    CU_ASSERT_EQUAL(gw_store_publish(st, rows, BIG, &c, &err), NOX_OK);
    CU_ASSERT_EQUAL(c.unchanged, BIG);
    free(back);
    free(missing);
    free(req);
    free(ct);
    free(rows);
    gw_store_close(st);
}

#define NRES 50
typedef struct pub_arg {
    gw_store *st;
    const gw_row *rows;
    gw_publish_counts c;
    nox_status s;
} pub_arg;

static void *publisher(void *p) {
    pub_arg *a = p;
    nox_error err = {0};
    a->s = gw_store_publish(a->st, a->rows, NRES, &a->c, &err);
    if (a->s) fprintf(stderr, "\n  publish (thread): %s\n", err.message);
    return NULL;
}

static void test_concurrent_publishers(void) {
    gw_store *st = open_store(4);
    gw_row rows[NRES];
    uint8_t ct[NRES][24];
    for (int i = 0; i < NRES; i++) rows[i] = make_row(make_handle(3), (uint8_t)(i * 3), 0, ct[i], 24);
    pthread_t t[4];
    pub_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (pub_arg){st, rows, {0, 0, 0}, NOX_ERR_IO};
        pthread_create(&t[i], NULL, publisher, &a[i]);
    }
    size_t created = 0, unchanged = 0, conflicted = 0, creators = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(a[i].s, NOX_OK);
        created += a[i].c.created;
        unchanged += a[i].c.unchanged;
        conflicted += a[i].c.conflicted;
        creators += a[i].c.created > 0;
    }
    CU_ASSERT_EQUAL(created, NRES);
    CU_ASSERT_EQUAL(unchanged, 3 * NRES);
    CU_ASSERT_EQUAL(conflicted, 0);
    CU_ASSERT_EQUAL(creators, 1);
    gw_store_close(st);
}

/* ---- restart ------------------------------------------------------------------------------ */

static void signal_and_wait(const char *what) {
    printf("\n%s\n", what);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "no answer from the driver after %s\n", what);
        exit(2);
    }
}

static void test_restart(void) {
    gw_store *st = open_store(3);
    nox_error err = {0};
    uint8_t ct[2][32];
    gw_row rows[2] = {make_row(make_handle(5), 1, 0, ct[0], 32), make_row(make_handle(5), 2, 0, ct[1], 32)};
    nox_handle req[2] = {rows[0].handle, rows[1].handle};
    gw_publish_counts c;
    CU_ASSERT_EQUAL(gw_store_publish(st, rows, 1, &c, &err), NOX_OK);
    CU_ASSERT_EQUAL(gw_store_ping(st, &err), NOX_OK);

    signal_and_wait("@@STOP");
    gw_row back[2];
    size_t missing[2], n_missing;
    for (int i = 0; i < 5; i++) {
        nox_status s = gw_store_read(st, req, 1, back, missing, &n_missing, &err);
        CU_ASSERT_EQUAL(s, NOX_ERR_IO);
        if (s != NOX_ERR_IO) fprintf(stderr, "\n  read during outage: %s\n", err.message);
        ASSERT_CONTAINS(err.message, "cannot connect");
        ASSERT_CONTAINS(err.message, "nox:***@");
        gw_rows_free(back, 1);
    }
    CU_ASSERT_EQUAL(gw_store_publish(st, rows + 1, 1, &c, &err), NOX_ERR_IO);
    CU_ASSERT_EQUAL(gw_store_insert_input(st, &(gw_row){0}, &err), NOX_ERR_INVALID); /* checked before any I/O */
    CU_ASSERT_EQUAL(gw_store_ping(st, &err), NOX_ERR_IO);
    /* a store cannot open while the server is down: a clean error, no password */
    gw_store *st2 = NULL;
    CU_ASSERT_EQUAL(gw_store_open(&st2, db_url, 1, &err), NOX_ERR_IO);
    ASSERT_CONTAINS(err.message, "***");
    CU_ASSERT_PTR_NULL(st2);

    signal_and_wait("@@START");
    for (int i = 0; i < 5; i++) {
        nox_status s = gw_store_read(st, req, 1, back, missing, &n_missing, &err);
        if (s) fprintf(stderr, "\n  read after restart: %s\n", err.message);
        CU_ASSERT_EQUAL(s, NOX_OK);
        CU_ASSERT(back[0].ciphertext && memcmp(back[0].ciphertext, rows[0].ciphertext, 32) == 0);
        gw_rows_free(back, 1);
    }
    /* nothing of the failed publication was stored; now it goes through */
    CU_ASSERT_EQUAL(gw_store_publish(st, rows, 2, &c, &err), NOX_OK);
    CU_ASSERT(c.created == 1 && c.unchanged == 1);
    gw_store_close(st);
}

int main(int argc, char **argv) {
    db_url = getenv("NOX_TEST_DATABASE_URL");
    if (argc != 2 || !db_url) {
        fprintf(stderr, "usage: NOX_TEST_DATABASE_URL=postgresql://... store_test migrate|crud|restart\n");
        return 2;
    }
    run_salt = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
    static CU_TestInfo migrate_tests[] = {{"migrations applied once, idempotent", test_migrations_idempotent},
                                          {"bad password: refused, redacted", test_bad_password_redacted},
                                          CU_TEST_INFO_NULL};
    static CU_TestInfo crud_tests[] = {{"inputs and a batch read in request order", test_input_and_batch_read},
                                       {"results: created, unchanged, conflicted", test_publish_rules},
                                       {"a batch of 1500", test_big_batch},
                                       {"4 concurrent publishers", test_concurrent_publishers},
                                       CU_TEST_INFO_NULL};
    static CU_TestInfo restart_tests[] = {{"PostgreSQL restart", test_restart}, CU_TEST_INFO_NULL};
    if (!strcmp(argv[1], "migrate")) return nox_test_main("store migrate", migrate_tests);
    if (!strcmp(argv[1], "crud")) return nox_test_main("store crud", crud_tests);
    if (!strcmp(argv[1], "restart")) return nox_test_main("store restart", restart_tests);
    fprintf(stderr, "unknown phase %s\n", argv[1]);
    return 2;
}
