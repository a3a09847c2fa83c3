/*
 * nox/kms_group.h (the Gateway's client of a threshold KMS, docs/PROTOCOL-EXTENSIONS.md §11) against three real
 * nox-kms nodes of a 2-of-3 group, driven by kms_group_test.py.
 *
 * Environment: NOX_KMS_NODES ("1=URL,2=URL,3=URL"), NOX_KMS_GROUP_FILE (their group.json), NOX_KMS_KEY_FILE
 * (the key d that was split: the test's oracle), NOX_GATEWAY_KEY_FILE (the Gateway key the nodes admit).
 *
 * The nodes' life is driven through the driver: "@@<cmd> <node>" on a line of its own on stdout, then a line on
 * stdin ("ok" or "fail <why>"); cmd = freeze (SIGSTOP), thaw (SIGCONT), kill (SIGKILL), start (nox-kms again
 * on the same port), faulty (nox-kms-faulty, NOX_KMS_FAULT=wrong-partials, on the same port).
 *
 * Three group clients, made in setup, with their metrics on one nox_http_server (read back through GET
 * /metrics): `grp` for the all-up checks; `fz` (the hedge: first used once node 1 is frozen) and `og` (the
 * outages: first used once node 1 is killed). A client that has not yet heard from any node asks them in the
 * configured order, so node 1 is among the first two asked by fz and og: the checks on node 1 cannot pass by
 * never asking it.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nox/delegation.h"
#include "nox/ec.h"
#include "nox/ecies.h"
#include "nox/hex.h"
#include "nox/http_server.h"
#include "nox/kms_client.h"
#include "nox/kms_group.h"
#include "nox/rsa.h"
#include "nox/threshold.h"

#define CHAIN 31337u
#define N_NODES 3
#define BIT(i) ((uint64_t)1 << ((i) - 1))
#define HEDGE_MS 300u
#define HEX_KEY (2 * NOX_TH_POINT_SIZE + 3)

static char urls[N_NODES + 1][128]; /* by node index */
static nox_th_group group_file;
static nox_ec_privkey d, gateway_key;
static nox_ec_pubkey P;
static nox_rsa_key *rsa, *rsa2;        /* the requester's key pair; another one */
static char target_hex[2 * 2048 + 3]; /* rsa's SPKI */
static nox_http_server *server;
static nox_kms_group_client *grp, *fz, *og;

/* ---- helpers ------------------------------------------------------------------------------------------------- */

static double ms_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Asks the driver to act on a node; 1 when it did. */
static int drive(const char *cmd, unsigned node) {
    char line[512];
    printf("\n@@%s %u\n", cmd, node); /* on a line of its own: CUnit's "Test: ..." is still open */
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 0;
    if (strncmp(line, "ok", 2) != 0) {
        fprintf(stderr, "driver: @@%s %u: %s", cmd, node, line);
        return 0;
    }
    return 1;
}

/* m values ECIES-encrypted to P (spec §4.1): what a Gateway would hold, with the plaintexts kept. */
typedef struct batch {
    size_t m;
    uint8_t (*pt)[32];
    uint8_t (*ct)[32 + NOX_ECIES_TAG_SIZE];
    uint8_t (*eph)[NOX_TH_POINT_SIZE];
    uint8_t (*nonce)[NOX_ECIES_NONCE_SIZE];
    char (*hex)[HEX_KEY];
    const char **keys; /* hex[i] */
} batch;

static void batch_free(batch *b) {
    free(b->pt);
    free(b->ct);
    free(b->eph);
    free(b->nonce);
    free(b->hex);
    free(b->keys);
    memset(b, 0, sizeof *b);
}

static int batch_new(batch *b, size_t m) {
    memset(b, 0, sizeof *b);
    b->m = m;
    b->pt = calloc(m, sizeof *b->pt);
    b->ct = calloc(m, sizeof *b->ct);
    b->eph = calloc(m, sizeof *b->eph);
    b->nonce = calloc(m, sizeof *b->nonce);
    b->hex = calloc(m, sizeof *b->hex);
    b->keys = calloc(m, sizeof *b->keys);
    if (!b->pt || !b->ct || !b->eph || !b->nonce || !b->hex || !b->keys) goto fail;
    for (size_t i = 0; i < m; i++) {
        if (getrandom(b->pt[i], sizeof b->pt[i], 0) != (ssize_t)sizeof b->pt[i]) goto fail;
        if (nox_ecies_encrypt(&P, b->pt[i], sizeof b->pt[i], b->ct[i], b->eph[i], b->nonce[i], NULL)) goto fail;
        b->keys[i] = nox_hex_encode(b->eph[i], NOX_TH_POINT_SIZE, b->hex[i]);
    }
    return 1;
fail:
    batch_free(b);
    return 0;
}

static const uint8_t *item_of(const nox_partials *p, size_t j) { return p->items + j * NOX_DELEGATION_ITEM_SIZE; }

/* Opens every envelope of `a` with `key` into sets[] (verification keys from the group file); how many opened. */
static size_t open_all(const nox_kms_group_answer *a, const nox_rsa_key *key, nox_partials *sets) {
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++) {
        nox_error err;
        if (nox_delegation_open_partials(key, NULL, &a->sealed[i], CHAIN, &sets[k], &err) != NOX_OK) {
            fprintf(stderr, "open node %u: %s\n", a->sealed[i].node, err.message);
            continue;
        }
        memcpy(sets[k].verification_key, group_file.verification_keys[sets[k].node - 1], NOX_TH_POINT_SIZE);
        k++;
    }
    return k;
}

static void wipe_all(nox_partials *sets, size_t k) {
    for (size_t i = 0; i < k; i++) nox_partials_wipe(&sets[i]);
}

/* Bit per node of the answer's envelopes; 0 when two come from one node or a node is not 1..3. */
static uint64_t nodes_of(const nox_kms_group_answer *a) {
    uint64_t seen = 0;
    for (size_t i = 0; i < a->n; i++) {
        unsigned n = a->sealed[i].node;
        if (n < 1 || n > N_NODES || (seen & BIT(n))) return 0;
        seen |= BIT(n);
    }
    return seen;
}

/* 1 when the answer holds ≥ t envelopes of distinct nodes that open and decrypt every value of b. */
static int answer_decrypts(const nox_kms_group_answer *a, const batch *b) {
    nox_partials sets[NOX_TH_MAX_NODES];
    size_t k = open_all(a, rsa, sets);
    int ok = a->n >= 2 && k == a->n && nodes_of(a) != 0;
    for (size_t j = 0; ok && j < b->m; j++) {
        uint8_t out[32];
        uint64_t bad = 0;
        nox_error err;
        ok = nox_delegation_decrypt_partials(sets, k, 2, j, b->eph[j], b->nonce[j], b->ct[j], sizeof b->ct[j], out,
                                             &bad, &err) == NOX_OK &&
             memcmp(out, b->pt[j], sizeof out) == 0 && bad == 0;
        if (!ok) fprintf(stderr, "value %zu: %s\n", j, err.message);
    }
    wipe_all(sets, k);
    return ok;
}

/* One call for b on client c; its duration in *ms. */
static nox_status call(nox_kms_group_client *c, const batch *b, uint64_t exclude, nox_kms_group_answer *a,
                       nox_kms_fault *f, nox_error *err, double *ms) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nox_status st = nox_kms_group_partials(c, CHAIN, &gateway_key, b->keys, b->m, target_hex, exclude, a, f, err);
    if (ms) *ms = ms_since(&t0);
    return st;
}

/* GET /metrics of the test's server, as text (malloc'd), or NULL. */
static char *scrape(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(nox_http_server_port(server))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0) return NULL;
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char *text = NULL;
    size_t len = 0, cap = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && write(fd, req, sizeof req - 1) == (ssize_t)sizeof req - 1) {
        for (;;) {
            if (len + 4097 > cap) {
                char *t = realloc(text, cap = cap * 2 + 8192);
                if (!t) break;
                text = t;
            }
            ssize_t n = read(fd, text + len, 4096);
            if (n <= 0) break;
            len += (size_t)n;
        }
    }
    close(fd);
    if (text) text[len] = 0;
    return text;
}

/* The value of `name{node="i"}` in a scrape, or -1 when absent. */
static double metric(const char *text, const char *name, unsigned node) {
    char needle[160];
    snprintf(needle, sizeof needle, "\n%s{node=\"%u\"} ", name, node);
    const char *at = text ? strstr(text, needle) : NULL;
    return at ? strtod(at + strlen(needle), NULL) : -1;
}

/* Node i's metric of client prefix `p` (e.g. "nox_grp") in a fresh scrape; -1 when it cannot be read. */
static double metric_now(const char *p, const char *what, unsigned node) {
    char name[96], *text = scrape();
    snprintf(name, sizeof name, "%s_kms_node_%s", p, what);
    double v = metric(text, name, node);
    free(text);
    return v;
}

static int parse_nodes(const char *spec, nox_kms_node *nodes) {
    const char *p = spec;
    for (unsigned i = 1; i <= N_NODES; i++) {
        unsigned idx;
        int used = 0;
        if (sscanf(p, "%u=%n", &idx, &used) != 1 || idx != i) return 0;
        p += used;
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof urls[i]) return 0;
        memcpy(urls[i], p, n);
        urls[i][n] = 0;
        nodes[i - 1] = (nox_kms_node){.index = i, .url = urls[i]};
        p += n + (p[n] == ',');
    }
    return *p == 0;
}

static nox_status new_client(const nox_kms_node *nodes, unsigned timeout_ms, nox_kms_group_client **out,
                             const char *prefix, nox_error *err) {
    nox_kms_group_options o = {.group = &group_file, .nodes = nodes, .n_nodes = N_NODES, .hedge_ms = HEDGE_MS};
    nox_kms_options_default(&o.client);
    o.client.connect_timeout_ms = 2000;
    o.client.timeout_ms = timeout_ms;
    o.client.max_connections = 8;
    o.client.max_response = 1u << 20; /* an envelope of 1024 items is ~270 KB of hex */
    nox_status st = nox_kms_group_new(&o, out, err);
    if (!st) st = nox_kms_group_metrics(*out, server, prefix, err);
    return st;
}

static int setup(void) {
    const char *spec = getenv("NOX_KMS_NODES"), *gfile = getenv("NOX_KMS_GROUP_FILE"),
               *kfile = getenv("NOX_KMS_KEY_FILE"), *gwfile = getenv("NOX_GATEWAY_KEY_FILE");
    nox_kms_node nodes[N_NODES];
    nox_error err = {0};
    if (!spec || !gfile || !kfile || !gwfile || !parse_nodes(spec, nodes)) {
        fprintf(stderr, "NOX_KMS_NODES (1=URL,2=URL,3=URL), NOX_KMS_GROUP_FILE, NOX_KMS_KEY_FILE and "
                        "NOX_GATEWAY_KEY_FILE must be set\n");
        return 1;
    }
    nox_http_options ho;
    nox_http_options_default(&ho);
    ho.service = "grptest";
    ho.listen = "127.0.0.1:0";
    ho.threads = 2;
    ho.access_log = 0;
    if (nox_th_group_load(gfile, &group_file, &err) || nox_ec_key_load(&d, kfile, &err) ||
        nox_ec_pubkey_of(&d, &P, &err) || nox_ec_key_load(&gateway_key, gwfile, &err) ||
        nox_rsa_generate(2048, &rsa, &err) || nox_rsa_generate(2048, &rsa2, &err) ||
        nox_rsa_spki_hex(rsa, target_hex, sizeof target_hex, &err) || nox_http_server_new(&ho, &server, &err) ||
        new_client(nodes, 20000, &grp, "nox_grp", &err) || new_client(nodes, 5000, &fz, "nox_fz", &err) ||
        new_client(nodes, 5000, &og, "nox_og", &err) || nox_http_server_start(server, &err)) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 1;
    }
    return 0;
}

static int teardown(void) {
    nox_kms_group_free(grp); /* waits for late answers (a hedged third node) */
    nox_kms_group_free(fz);
    nox_kms_group_free(og);
    if (server) nox_http_server_stop(server);
    nox_http_server_free(server);
    nox_rsa_free(rsa);
    nox_rsa_free(rsa2);
    nox_ec_key_wipe(&d);
    nox_ec_key_wipe(&gateway_key);
    return 0;
}

/* ---- the group and the options ------------------------------------------------------------------------------ */

static void test_group_and_options(void) {
    const nox_th_group *g = nox_kms_group_group(grp);
    uint8_t p[NOX_TH_POINT_SIZE];
    nox_ec_pubkey_compressed(&P, p);
    CU_ASSERT_EQUAL(g->threshold, 2);
    CU_ASSERT_EQUAL(g->nodes, 3);
    CU_ASSERT_EQUAL(memcmp(g->public_key, p, sizeof p), 0); /* the split kept d's public key */
    CU_ASSERT_EQUAL(memcmp(g->verification_keys, group_file.verification_keys, 3 * NOX_TH_POINT_SIZE), 0);
    for (unsigned i = 1; i <= N_NODES; i++) CU_ASSERT_PTR_NOT_NULL(nox_kms_group_node_client(grp, i));
    CU_ASSERT_PTR_NULL(nox_kms_group_node_client(grp, 4));

    nox_kms_node bad[3] = {{1, urls[1]}, {4, urls[2]}, {3, urls[3]}};
    nox_kms_group_options o = {.group = &group_file, .nodes = bad, .n_nodes = 3};
    nox_kms_options_default(&o.client);
    nox_kms_group_client *c = (nox_kms_group_client *)1;
    nox_error err;
    CU_ASSERT_EQUAL(nox_kms_group_new(&o, &c, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "node 4"));
    bad[1].index = 1;
    CU_ASSERT_EQUAL(nox_kms_group_new(&o, &c, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "node 1 is listed twice"));
    o.n_nodes = 1;
    CU_ASSERT_EQUAL(nox_kms_group_new(&o, &c, &err), NOX_ERR_INVALID);
    bad[0].url = "ftp://127.0.0.1:9";
    o.n_nodes = 3;
    bad[1].index = 2;
    CU_ASSERT_EQUAL(nox_kms_group_new(&o, &c, &err), NOX_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "KMS node 1"));
}

/* The spec's endpoints need the whole key: every node answers the Gateway's signed POST /v0/delegate with 409. */
static void test_spec_delegate_409(void) {
    batch b;
    CU_ASSERT_FATAL(batch_new(&b, 1));
    for (unsigned i = 1; i <= N_NODES; i++) {
        uint8_t out[512];
        size_t n = 1;
        nox_kms_fault f;
        nox_error err;
        memset(&f, 0, sizeof f);
        CU_ASSERT_EQUAL(nox_kms_delegate(nox_kms_group_node_client(grp, i), CHAIN, &gateway_key, b.keys[0], target_hex,
                                         out, sizeof out, &n, &f, &err), NOX_ERR_REMOTE);
        CU_ASSERT_EQUAL(f.http_status, 409);
        CU_ASSERT_STRING_EQUAL(f.code, "threshold_share");
        CU_ASSERT_EQUAL(n, 0);
    }
    batch_free(&b);
}

/* ---- 1 and 8: partials of m keys, all nodes up ---------------------------------------------------------------- */

static void partials_of(size_t m) {
    batch b;
    nox_kms_group_answer a;
    nox_kms_fault f;
    nox_error err;
    double ms;
    CU_ASSERT_FATAL(batch_new(&b, m));
    nox_status st = call(grp, &b, 0, &a, &f, &err, &ms);
    CU_ASSERT_EQUAL(st, NOX_OK);
    if (st) {
        fprintf(stderr, "partials of %zu: %s\n", m, err.message);
        batch_free(&b);
        return;
    }
    printf("\ntiming: %zu key(s): %.0f ms, envelopes of nodes", m, ms);
    for (size_t i = 0; i < a.n; i++) printf(" %u", a.sealed[i].node);
    printf("\n");
    CU_ASSERT(a.n >= 2 && a.n <= 3);
    CU_ASSERT(nodes_of(&a) != 0); /* distinct, each of the group */
    for (size_t i = 0; i < a.n; i++)
        CU_ASSERT_EQUAL(a.sealed[i].ciphertext_len, NOX_DELEGATION_SEALED_SIZE(m));

    nox_partials sets[NOX_TH_MAX_NODES];
    size_t k = open_all(&a, rsa, sets);
    CU_ASSERT_EQUAL(k, a.n);
    size_t good = 0, x_right = 0, proofs = 0, keys_match = 0, leaked = 0;
    for (size_t j = 0; j < m && k >= 2; j++) {
        uint8_t out[32], x[32], want[32], R[2][NOX_TH_POINT_SIZE];
        uint64_t bad = 0;
        if (nox_delegation_decrypt_partials(sets, k, 2, j, b.eph[j], b.nonce[j], b.ct[j], sizeof b.ct[j], out, &bad,
                                            &err) == NOX_OK && bad == 0 && memcmp(out, b.pt[j], 32) == 0)
            good++;
        else if (good + 8 > j)
            fprintf(stderr, "value %zu of %zu: %s\n", j, m, err.message);
        /* d·K from the partials of the first two nodes = the ECDH x with the key that was split */
        unsigned idx[2] = {sets[0].node, sets[1].node};
        memcpy(R[0], item_of(&sets[0], j) + NOX_TH_POINT_SIZE, NOX_TH_POINT_SIZE);
        memcpy(R[1], item_of(&sets[1], j) + NOX_TH_POINT_SIZE, NOX_TH_POINT_SIZE);
        nox_ec_pubkey K;
        if (nox_th_combine(idx, (const uint8_t(*)[NOX_TH_POINT_SIZE])R, 2, x, NULL) == NOX_OK &&
            nox_ec_pubkey_parse_compressed(&K, b.eph[j], NOX_TH_POINT_SIZE, NULL) == NOX_OK &&
            nox_ec_ecdh_x(&d, &K, want, NULL) == NOX_OK && memcmp(x, want, 32) == 0)
            x_right++;
        for (size_t s = 0; s < k; s++) {
            const uint8_t *it = item_of(&sets[s], j);
            keys_match += memcmp(it, b.eph[j], NOX_TH_POINT_SIZE) == 0;
            /* 8: what the Gateway holds is sealed: no partial appears in clear in an envelope */
            if (j < 32)
                for (size_t e = 0; e < a.n; e++)
                    leaked += memmem(a.sealed[e].ciphertext, a.sealed[e].ciphertext_len, it + NOX_TH_POINT_SIZE,
                                     NOX_TH_POINT_SIZE) != NULL ||
                              memmem(a.sealed[e].wrapped_key, a.sealed[e].wrapped_key_len, it + NOX_TH_POINT_SIZE,
                                     NOX_TH_POINT_SIZE) != NULL;
        }
        memset(x, 0, sizeof x);
        memset(want, 0, sizeof want);
        memset(R, 0, sizeof R);
    }
    CU_ASSERT_EQUAL(good, m);
    CU_ASSERT_EQUAL(x_right, m);
    CU_ASSERT_EQUAL(keys_match, m * k);
    for (size_t s = 0; s < k; s++) /* one batched proof per envelope, for all m partials */
        proofs += nox_th_verify_partials(sets[s].verification_key, (const uint8_t(*)[NOX_TH_PAIR_SIZE])sets[s].items,
                                         sets[s].m, sets[s].proof, NULL) == NOX_OK;
    CU_ASSERT_EQUAL(proofs, k);
    CU_ASSERT_EQUAL(leaked, 0);
    wipe_all(sets, k);

    /* 8: only the requester opens them: not another RSA key, not for another chain */
    for (size_t i = 0; i < a.n; i++) {
        nox_partials p;
        CU_ASSERT_EQUAL(nox_delegation_open_partials(rsa2, NULL, &a.sealed[i], CHAIN, &p, &err), NOX_ERR_AUTH);
        CU_ASSERT_EQUAL(nox_delegation_open_partials(rsa, NULL, &a.sealed[i], 1, &p, &err), NOX_ERR_AUTH);
    }
    nox_kms_group_answer_free(&a);
    CU_ASSERT_EQUAL(a.n, 0);
    batch_free(&b);
}

static void test_partials_1(void) { partials_of(1); }
static void test_partials_7(void) { partials_of(7); }
static void test_partials_1024(void) { partials_of(NOX_DELEGATION_MAX_ITEMS); }

/* ---- 2: per-node metrics ----------------------------------------------------------------------------------- */

static void test_metrics(void) {
    batch b;
    CU_ASSERT_FATAL(batch_new(&b, 2));
    char *before = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    for (unsigned i = 1; i <= N_NODES; i++) CU_ASSERT_EQUAL(metric(before, "nox_grp_kms_node_up", i), 1);
    /* node 1 left out: exactly nodes 2 and 3 are asked, each time */
    int ok = 0;
    for (int r = 0; r < 5; r++) {
        nox_kms_group_answer a;
        nox_error err;
        nox_status st = call(grp, &b, BIT(1), &a, NULL, &err, NULL);
        ok += st == NOX_OK && nodes_of(&a) == (BIT(2) | BIT(3)) && answer_decrypts(&a, &b);
        if (st) fprintf(stderr, "metrics call: %s\n", err.message);
        nox_kms_group_answer_free(&a);
    }
    CU_ASSERT_EQUAL(ok, 5);
    char *mid = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(mid);
    const char *req = "nox_grp_kms_node_requests_total", *fail = "nox_grp_kms_node_failures_total",
               *count = "nox_grp_kms_node_seconds_count";
    CU_ASSERT_EQUAL(metric(mid, req, 1) - metric(before, req, 1), 0);
    CU_ASSERT_EQUAL(metric(mid, req, 2) - metric(before, req, 2), 5);
    CU_ASSERT_EQUAL(metric(mid, req, 3) - metric(before, req, 3), 5);
    CU_ASSERT_EQUAL(metric(mid, count, 2) - metric(before, count, 2), 5);
    CU_ASSERT_EQUAL(metric(mid, count, 3) - metric(before, count, 3), 5);
    for (unsigned i = 1; i <= N_NODES; i++) CU_ASSERT_EQUAL(metric(mid, fail, i) - metric(before, fail, i), 0);
    /* nobody left out: every node that answered was counted; 2 to 3 requests per call */
    unsigned seen[N_NODES + 1] = {0};
    ok = 0;
    for (int r = 0; r < 6; r++) {
        nox_kms_group_answer a;
        if (call(grp, &b, 0, &a, NULL, NULL, NULL) == NOX_OK && answer_decrypts(&a, &b)) ok++;
        for (size_t i = 0; i < a.n; i++) seen[a.sealed[i].node]++;
        nox_kms_group_answer_free(&a);
    }
    CU_ASSERT_EQUAL(ok, 6);
    char *after = scrape();
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    double total = 0;
    for (unsigned i = 1; i <= N_NODES; i++) {
        double asked = metric(after, req, i) - metric(mid, req, i);
        CU_ASSERT(asked >= seen[i]);
        total += asked;
        CU_ASSERT_EQUAL(metric(after, "nox_grp_kms_node_up", i), 1);
    }
    CU_ASSERT(total >= 12 && total <= 18);
    CU_ASSERT_PTR_NOT_NULL(strstr(after, "# TYPE nox_grp_kms_node_seconds histogram"));
    free(before);
    free(mid);
    free(after);
    batch_free(&b);
}

/* ---- 6: a request every node refuses ---------------------------------------------------------------------- */

static void test_bad_key(void) {
    batch b;
    CU_ASSERT_FATAL(batch_new(&b, 3));
    /* right length, but x = p (the field prime): not a point */
    static const char not_on_curve[] = "0x02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f";
    const char *keys[3] = {b.keys[0], not_on_curve, b.keys[2]};
    double fail_before[N_NODES + 1];
    for (unsigned i = 1; i <= N_NODES; i++) fail_before[i] = metric_now("nox_grp", "failures_total", i);
    nox_kms_group_answer a;
    nox_kms_fault f;
    nox_error err;
    memset(&f, 0, sizeof f);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nox_status st = nox_kms_group_partials(grp, CHAIN, &gateway_key, keys, 3, target_hex, 0, &a, &f, &err);
    double ms = ms_since(&t0);
    printf("\ntiming: a key off the curve refused in %.0f ms: %s\n", ms, err.message);
    CU_ASSERT_EQUAL(st, NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(f.http_status, 400);
    CU_ASSERT_STRING_EQUAL(f.code, "bad_request");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "ephemeralPubKeys[1]"));
    CU_ASSERT_EQUAL(a.n, 0);
    CU_ASSERT(ms < 1000);
    /* a bad target key too */
    st = nox_kms_group_partials(grp, CHAIN, &gateway_key, b.keys, 3, "0xdeadbeef", 0, &a, &f, &err);
    CU_ASSERT_EQUAL(st, NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(f.http_status, 400);
    /* another signer: 401, a refusal of the request, not of the nodes */
    nox_ec_privkey other;
    CU_ASSERT_EQUAL_FATAL(nox_ec_key_generate(&other, NULL), NOX_OK);
    st = nox_kms_group_partials(grp, CHAIN, &other, b.keys, 3, target_hex, 0, &a, &f, &err);
    CU_ASSERT_EQUAL(st, NOX_ERR_REMOTE);
    CU_ASSERT_EQUAL(f.http_status, 401);
    nox_ec_key_wipe(&other);
    /* the nodes are not marked down: the next call succeeds at once, every node still up, no failure counted */
    st = call(grp, &b, 0, &a, NULL, &err, &ms);
    CU_ASSERT_EQUAL(st, NOX_OK);
    CU_ASSERT(st == NOX_OK && answer_decrypts(&a, &b));
    CU_ASSERT(ms < 1000);
    nox_kms_group_answer_free(&a);
    char *text = scrape();
    for (unsigned i = 1; i <= N_NODES; i++) {
        CU_ASSERT_EQUAL(metric(text, "nox_grp_kms_node_up", i), 1);
        CU_ASSERT_EQUAL(metric(text, "nox_grp_kms_node_failures_total", i), fail_before[i]);
    }
    free(text);
    batch_free(&b);
}

/* ---- 7: the requester leaves out too many nodes -------------------------------------------------------------- */

static void test_exclude_too_many(void) {
    batch b;
    CU_ASSERT_FATAL(batch_new(&b, 1));
    double asked3 = metric_now("nox_grp", "requests_total", 3);
    nox_kms_group_answer a;
    nox_error err;
    double ms;
    nox_status st = call(grp, &b, BIT(1) | BIT(2), &a, NULL, &err, &ms);
    printf("\ntiming: nodes 1 and 2 excluded: %.1f ms: %s\n", ms, err.message);
    CU_ASSERT_EQUAL(st, NOX_ERR_IO);
    CU_ASSERT_EQUAL(a.n, 0);
    char want[256];
    for (unsigned i = 1; i <= 2; i++) {
        snprintf(want, sizeof want, "node %u (%s): excluded by the requester", i, urls[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
    }
    snprintf(want, sizeof want, "node 3 (%s)", urls[3]);
    CU_ASSERT_PTR_NULL(strstr(err.message, want)); /* usable: not missing */
    /* fewer than t usable: it fails at once, without asking the one node left (its answer could not help) */
    CU_ASSERT_EQUAL(metric_now("nox_grp", "requests_total", 3), asked3);
    CU_ASSERT(ms < 200);
    st = call(grp, &b, BIT(1) | BIT(2) | BIT(3), &a, NULL, &err, NULL);
    CU_ASSERT_EQUAL(st, NOX_ERR_IO);
    for (unsigned i = 1; i <= N_NODES; i++) {
        snprintf(want, sizeof want, "node %u (%s): excluded by the requester", i, urls[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
    }
    /* one left out: fine */
    st = call(grp, &b, BIT(2), &a, NULL, &err, NULL);
    CU_ASSERT(st == NOX_OK && nodes_of(&a) == (BIT(1) | BIT(3)) && answer_decrypts(&a, &b));
    nox_kms_group_answer_free(&a);
    batch_free(&b);
}

/* ---- a node that hangs (SIGSTOP): the hedge ------------------------------------------------------------------ */

static void test_frozen_node_hedged(void) {
    batch b;
    CU_ASSERT_FATAL(batch_new(&b, 1));
    CU_ASSERT_FATAL(drive("freeze", 1));
    /* fz has heard from no node: it asks 1 and 2 first, and node 1 (no answer, so no latency) stays first */
    int ok = 0, hedged = 0;
    for (int r = 0; r < 5; r++) {
        nox_kms_group_answer a;
        nox_error err;
        double ms;
        nox_status st = call(fz, &b, 0, &a, NULL, &err, &ms);
        printf("\ntiming: node 1 frozen, call %d: %.0f ms\n", r, ms);
        ok += st == NOX_OK && nodes_of(&a) == (BIT(2) | BIT(3)) && answer_decrypts(&a, &b);
        hedged += ms >= HEDGE_MS - 20 && ms < 1000; /* waited for the hedge, not for the 5 s timeout */
        if (st) fprintf(stderr, "frozen: %s\n", err.message);
        nox_kms_group_answer_free(&a);
    }
    CU_ASSERT_EQUAL(ok, 5);
    CU_ASSERT_EQUAL(hedged, 5);
    CU_ASSERT(metric_now("nox_fz", "requests_total", 1) >= 5);
    CU_ASSERT_EQUAL(metric_now("nox_fz", "failures_total", 1), 0); /* not yet timed out */
    CU_ASSERT_FATAL(drive("thaw", 1));
    batch_free(&b);
}

/* ---- 3: one node killed ------------------------------------------------------------------------------------ */

static void test_one_node_down(void) {
    batch b;
    CU_ASSERT_FATAL(batch_new(&b, 2));
    CU_ASSERT_FATAL(drive("kill", 1));
    nox_kms_group_answer a;
    nox_error err;
    double first, worst = 0;
    nox_status st = call(og, &b, 0, &a, NULL, &err, &first);
    CU_ASSERT_EQUAL(st, NOX_OK);
    CU_ASSERT(st == NOX_OK && nodes_of(&a) == (BIT(2) | BIT(3)) && answer_decrypts(&a, &b));
    if (st) fprintf(stderr, "one down, first call: %s\n", err.message);
    nox_kms_group_answer_free(&a);
    CU_ASSERT_EQUAL(metric_now("nox_og", "up", 1), 0);
    double asked1 = metric_now("nox_og", "requests_total", 1);
    CU_ASSERT(asked1 >= 1); /* it was asked: the first call found it down */
    int ok = 0, fast = 0;
    for (int r = 0; r < 20; r++) {
        double ms;
        st = call(og, &b, 0, &a, NULL, &err, &ms);
        ok += st == NOX_OK && nodes_of(&a) == (BIT(2) | BIT(3)) && answer_decrypts(&a, &b);
        fast += ms < 1000;
        if (ms > worst) worst = ms;
        if (st) fprintf(stderr, "one down: %s\n", err.message);
        nox_kms_group_answer_free(&a);
        sleep_ms(50); /* 20 calls over more than a second: the back-off (250 ms, doubling) expires now and then */
    }
    double retried = metric_now("nox_og", "requests_total", 1) - asked1;
    printf("\ntiming: node 1 down: first call %.0f ms, the next 20 at most %.0f ms; node 1 retried %.0f times\n",
           first, worst, retried);
    CU_ASSERT_EQUAL(ok, 20);
    CU_ASSERT_EQUAL(fast, 20);
    CU_ASSERT(retried >= 1 && retried <= 8); /* backed off: not asked by each call, but tried again */
    CU_ASSERT_EQUAL(metric_now("nox_og", "failures_total", 1), metric_now("nox_og", "requests_total", 1));
    CU_ASSERT_EQUAL(metric_now("nox_og", "up", 1), 0);
    CU_ASSERT_EQUAL(metric_now("nox_og", "up", 2), 1);
    CU_ASSERT_EQUAL(metric_now("nox_og", "up", 3), 1);
    batch_free(&b);
}

/* ---- 4: two, then three nodes down; back again --------------------------------------------------------- */

static void test_two_nodes_down(void) {
    batch b;
    CU_ASSERT_FATAL(batch_new(&b, 2));
    CU_ASSERT_FATAL(drive("kill", 2));
    nox_kms_group_answer a;
    nox_error err;
    char want[256];
    for (int r = 0; r < 3; r++) {
        double ms;
        nox_status st = call(og, &b, 0, &a, NULL, &err, &ms);
        printf("\ntiming: nodes 1 and 2 down, call %d: %.0f ms: %s\n", r, ms, err.message);
        CU_ASSERT_EQUAL(st, NOX_ERR_IO);
        CU_ASSERT_EQUAL(a.n, 0);
        CU_ASSERT(ms < 1000);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "2 of 3 nodes needed"));
        for (unsigned i = 1; i <= 2; i++) {
            snprintf(want, sizeof want, "node %u (%s): ", i, urls[i]);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
        }
        snprintf(want, sizeof want, "node 3 (%s)", urls[3]);
        CU_ASSERT_PTR_NULL(strstr(err.message, want));
    }
    /* all three down: every call fails at once; once the client has found node 3 down too (it is asked again
     * with node 1 or 2 when their back-off ends) and all three are backing off, the message names each of them:
     * index, URL and why, within the NOX_ERROR_MAX of an error message */
    CU_ASSERT_FATAL(drive("kill", 3));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int calls = 0, at_once = 0, all_named = 0;
    nox_status st;
    while (!all_named && ms_since(&t0) < 6000) {
        double ms;
        st = call(og, &b, 0, &a, NULL, &err, &ms);
        calls++;
        at_once += st == NOX_ERR_IO && ms < 1000;
        all_named = 1;
        for (unsigned i = 1; i <= N_NODES; i++) {
            snprintf(want, sizeof want, "node %u (%s): backing off for ", i, urls[i]);
            all_named &= strstr(err.message, want) != NULL;
        }
        if (!all_named) sleep_ms(50);
    }
    printf("\ntiming: every node down (%d calls, %.0f ms): %zu chars: %s\n", calls, ms_since(&t0),
           strlen(err.message), err.message);
    CU_ASSERT_EQUAL(at_once, calls);
    CU_ASSERT(all_named);
    CU_ASSERT_EQUAL(metric_now("nox_og", "up", 3), 0);
    /* nodes 1 and 3 back: within the back-off (≤ 5 s), the same client gets partials again */
    CU_ASSERT_FATAL(drive("start", 1));
    CU_ASSERT_FATAL(drive("start", 3));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = NOX_ERR_IO;
    int tries = 0;
    while (st && ms_since(&t0) < 8000) {
        st = call(og, &b, 0, &a, NULL, &err, NULL);
        tries++;
        if (st == NOX_OK) break;
        sleep_ms(100);
    }
    double back = ms_since(&t0);
    printf("\ntiming: nodes 1 and 3 restarted: partials again after %.0f ms (%d calls)\n", back, tries);
    CU_ASSERT_EQUAL(st, NOX_OK);
    CU_ASSERT(back < 6000);
    CU_ASSERT(st == NOX_OK && nodes_of(&a) == (BIT(1) | BIT(3)) && answer_decrypts(&a, &b));
    nox_kms_group_answer_free(&a);
    CU_ASSERT_EQUAL(metric_now("nox_og", "up", 1), 1);
    CU_ASSERT_EQUAL(metric_now("nox_og", "up", 2), 0);
    CU_ASSERT_EQUAL(metric_now("nox_og", "up", 3), 1);
    /* node 2 back too (for what follows) */
    CU_ASSERT_FATAL(drive("start", 2));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = NOX_ERR_IO;
    while (ms_since(&t0) < 8000) {
        st = call(og, &b, BIT(1), &a, NULL, &err, NULL); /* needs node 2 */
        if (st == NOX_OK) break;
        sleep_ms(100);
    }
    CU_ASSERT_EQUAL(st, NOX_OK);
    CU_ASSERT(st == NOX_OK && answer_decrypts(&a, &b));
    nox_kms_group_answer_free(&a);
    CU_ASSERT(ms_since(&t0) < 6000);
    batch_free(&b);
}

/* ---- 5: a node that answers wrong partials ---------------------------------------------------------------- */

static void test_wrong_partials(void) {
    enum { M = 5 };
    batch b;
    CU_ASSERT_FATAL(batch_new(&b, M));
    CU_ASSERT_FATAL(drive("faulty", 3));
    /* node 3 is among the t asked when node 1 is left out; it may first fail once (its old connection) */
    nox_kms_group_answer with3, without3;
    nox_error err;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nox_status st = NOX_ERR_IO;
    while (ms_since(&t0) < 8000) {
        st = call(og, &b, BIT(1), &with3, NULL, &err, NULL);
        if (st == NOX_OK) break;
        sleep_ms(100);
    }
    CU_ASSERT_EQUAL_FATAL(st, NOX_OK);
    CU_ASSERT_EQUAL(nodes_of(&with3), BIT(2) | BIT(3));
    st = call(og, &b, BIT(3), &without3, NULL, &err, NULL);
    CU_ASSERT_EQUAL_FATAL(st, NOX_OK);
    CU_ASSERT_EQUAL(nodes_of(&without3), BIT(1) | BIT(2));
    /* the client cannot tell (the envelopes are sealed to the requester): node 3 is up for it */
    CU_ASSERT_EQUAL(metric_now("nox_og", "up", 3), 1);

    /* sets: node 3 first (so that it is combined), node 2, then node 1 from the other answer */
    nox_partials sets[NOX_TH_MAX_NODES], other[NOX_TH_MAX_NODES];
    size_t k1 = open_all(&with3, rsa, sets), k2 = open_all(&without3, rsa, other);
    CU_ASSERT_FATAL(k1 == 2 && k2 == 2);
    if (sets[0].node != 3) {
        nox_partials t = sets[0];
        sets[0] = sets[1];
        sets[1] = t;
    }
    nox_partials all[3] = {sets[0], sets[1], other[0].node == 1 ? other[0] : other[1]};
    CU_ASSERT_EQUAL(all[0].node, 3);
    CU_ASSERT_EQUAL(all[1].node, 2);
    CU_ASSERT_EQUAL(all[2].node, 1);
    int refused = 0, named = 0, recovered = 0, blamed = 0, proofs_fail3 = 0, proofs_hold = 0;
    for (size_t j = 0; j < M; j++) {
        uint8_t out[32];
        uint64_t bad = 0;
        /* t = 2 envelopes, one of them wrong: no value, node 3 named */
        st = nox_delegation_decrypt_partials(all, 2, 2, j, b.eph[j], b.nonce[j], b.ct[j], sizeof b.ct[j], out, &bad,
                                             &err);
        refused += st == NOX_ERR_REMOTE && bad == BIT(3);
        named += strstr(err.message, "node(s) 3,") != NULL || strstr(err.message, "node(s) 3 ") != NULL;
        if (j == 0) printf("\nnode 3 wrong, 2 envelopes: %s\n", err.message);
        /* a third good envelope: the right value, node 3 blamed */
        bad = 0;
        st = nox_delegation_decrypt_partials(all, 3, 2, j, b.eph[j], b.nonce[j], b.ct[j], sizeof b.ct[j], out, &bad,
                                             &err);
        recovered += st == NOX_OK && memcmp(out, b.pt[j], 32) == 0;
        blamed += bad == BIT(3);
    }
    for (size_t s = 0; s < 3; s++) { /* the batch proofs: node 3's fails, the others hold */
        nox_status v = nox_th_verify_partials(all[s].verification_key, (const uint8_t(*)[NOX_TH_PAIR_SIZE])all[s].items,
                                              all[s].m, all[s].proof, NULL);
        if (all[s].node == 3) proofs_fail3 += v == NOX_ERR_AUTH;
        else proofs_hold += v == NOX_OK;
    }
    CU_ASSERT_EQUAL(refused, M);
    CU_ASSERT_EQUAL(named, M);
    CU_ASSERT_EQUAL(recovered, M);
    CU_ASSERT_EQUAL(blamed, M);
    CU_ASSERT_EQUAL(proofs_fail3, 1);
    CU_ASSERT_EQUAL(proofs_hold, 2);
    wipe_all(sets, k1);
    wipe_all(other, k2);
    nox_kms_group_answer_free(&with3);
    nox_kms_group_answer_free(&without3);
    batch_free(&b);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"the group; bad options -> INVALID naming the node", test_group_and_options},
        {"POST /v0/delegate on a 2-of-3 node -> 409 threshold_share", test_spec_delegate_409},
        {"1 key: t envelopes, every value back, x = ECDH(d, K), sealed", test_partials_1},
        {"7 keys: the same", test_partials_7},
        {"1024 keys: the same", test_partials_1024},
        {"per-node metrics count the nodes asked", test_metrics},
        {"a key off the curve -> REMOTE 400 at once, nodes not marked down", test_bad_key},
        {"fewer than t nodes left by exclude -> IO at once, naming them", test_exclude_too_many},
        {"a frozen node costs the hedge, not the timeout", test_frozen_node_hedged},
        {"one node killed: calls succeed and stop waiting on it", test_one_node_down},
        {"two, then three nodes down -> IO at once naming them; back -> OK again", test_two_nodes_down},
        {"a node with wrong partials: caught by its proofs, named, recovered", test_wrong_partials},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"kms_group", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
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
