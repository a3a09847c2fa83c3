/*
 * nox-bench pipeline: the Runner's per-message work, in process (no network),
 * for each (operator, type) pair, and the crypto floor it cannot go below.
 *
 * Set-up (not timed): a local KMS key pair (secp256k1), the Runner's RSA-2048
 * key pair and wallet (as nox-runner makes them at start), and per pair a pool
 * of POOL one-event TransactionMessages (spec §6, nox_message_to_json) whose
 * every input was ECIES-encrypted to the KMS public key with nox_ecies_encrypt,
 * as the Gateway does at POST /v0/secrets.
 *
 * Timed per message, in two parts measured separately:
 *   KMS     for each input, nox_delegation_delegate: ECDH of the KMS private
 *           key with the input's ephemeral key + RSA-OAEP encryption of x to
 *           the Runner's key (what nox-kms computes for the Gateway's
 *           POST /v0/delegate; its HTTP, EIP-712 check and JSON are not here);
 *   Runner  exactly services/runner/pipeline.c minus the network:
 *           nox_message_parse, nox_engine_find + nox_op_resolve, the EIP-712
 *           OperandAccessAuthorization signature (nox_gateway_fetch_operands
 *           signs one per fetch), per input nox_delegation_decrypt (RSA-OAEP
 *           unwrap + HKDF + AES-GCM) + nox_value_from_bytes, nox_call_eval,
 *           per output nox_value_to_bytes + nox_handle_value_tag +
 *           nox_ecies_encrypt to the KMS key (key generation + ECDH + HKDF +
 *           AES-GCM), the ResultPublishingAuthorization signature, and the wipes.
 * The pipeline number is the Runner part alone (the Runner's throughput); the
 * KMS part is reported next to it, and "with KMS" is both on one core.
 *
 * Floor: each primitive alone, through the same core calls (mean over
 * --seconds): RSA-2048 OAEP decrypt, RSA-2048 OAEP encrypt, secp256k1 ECDH,
 * secp256k1 key generation (k, k·G, compressed), HKDF + AES-256-GCM decrypt
 * (nox_ecies_decrypt_x) and encrypt (HKDF + nonce + AES-GCM, as
 * nox_ecies_encrypt does after its ECDH), secp256k1 ECDSA sign. For an
 * operator with i inputs and o outputs:
 *   floor = i·(RSA decrypt + HKDF/GCM decrypt) + o·(keygen + ECDH + HKDF/GCM encrypt) + 2·sign,
 *   ratio = Runner time per message / floor (target ≤ 1.15);
 *   KMS floor = i·(ECDH + RSA encrypt).
 * Both are measured at 1 thread and at --threads N (default nproc; the floor
 * too, so each ratio compares like with like).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "nox/delegation.h"
#include "nox/ecies.h"
#include "nox/eip712.h"
#include "nox/engine.h"
#include "nox/handle.h"
#include "nox/hex.h"
#include "nox/message.h"
#include "nox/operations.h"
#include "nox/rsa.h"
#include "nox/types.h"
#include "nox/value.h"

enum { POOL = 32, MAXIO = 3, PT_MAX = 64, MAX_THREADS = 256, RSA_BYTES = 256 };
#define CHAIN_ID 31337u
#define TARGET_RATIO 1.15

typedef struct enc_input {
    uint8_t ct[PT_MAX + NOX_ECIES_TAG_SIZE];
    size_t ct_len;
    uint8_t eph[NOX_ECIES_EPHEMERAL_SIZE];
    uint8_t nonce[NOX_ECIES_NONCE_SIZE];
} enc_input;

typedef struct pair {
    const nox_op *op;
    uint8_t type;
    unsigned n_in, n_out;
    char *json[POOL];
    size_t json_len[POOL];
    enc_input in[POOL][MAXIO];
} pair;

/* Shared, read-only while measuring. */
typedef struct ctx {
    nox_engine *engine;
    nox_ec_privkey kms;
    nox_ec_pubkey kms_pub;
    nox_rsa_key *rsa;     /* the Runner's key pair */
    nox_rsa_key *rsa_pub; /* its public part as the KMS imports it */
    char rsa_spki_hex[1200];
    nox_ec_privkey wallet; /* the Runner wallet */
} ctx;

/* ---- the two halves of one message ------------------------------------------------------ */

/* The KMS: one delegation per input. */
static int kms_message(const ctx *c, const pair *p, int k, uint8_t esec[MAXIO][RSA_BYTES], size_t esec_len[MAXIO],
                       nox_error *err) {
    for (unsigned i = 0; i < p->n_in; i++)
        if (nox_delegation_delegate(&c->kms, p->in[k][i].eph, NOX_ECIES_EPHEMERAL_SIZE, c->rsa_pub, esec[i],
                                    RSA_BYTES, &esec_len[i], err))
            return -1;
    return 0;
}

/* The Runner: services/runner/pipeline.c's work on one message, minus the two HTTP exchanges. */
static int runner_message(const ctx *c, const pair *p, int k, uint8_t esec[MAXIO][RSA_BYTES],
                          const size_t esec_len[MAXIO], nox_error *err) {
    nox_message m;
    if (nox_message_parse(p->json[k], p->json_len[k], &m, err)) return -1;
    int rc = -1;
    const nox_message_event *ev = &m.events[0];
    nox_value in[MAXIO], out[MAXIO];
    uint8_t pt[PT_MAX], tin[MAXIO], tout[MAXIO], hash[32], sig[NOX_EC_SIGNATURE_SIZE];
    nox_call call;
    const nox_op *op = nox_engine_find(c->engine, ev->op->name);
    if (!op) goto done;
    for (unsigned i = 0; i < ev->op->n_inputs; i++) tin[i] = nox_handle_type(&ev->inputs[i]);
    for (unsigned i = 0; i < ev->op->n_outputs; i++) tout[i] = nox_handle_type(&ev->outputs[i]);
    if (nox_op_resolve(op, tin, ev->op->n_inputs, tout, ev->op->n_outputs, &call, err)) goto done;

    /* GET /v0/compute/operands: the OperandAccessAuthorization the Gateway client signs. */
    char tx_hex[2 * 32 + 3], htext[MAXIO][2 * 32 + 3];
    const char *hptr[MAXIO];
    nox_hex_encode(m.tx_hash, 32, tx_hex);
    for (unsigned i = 0; i < ev->op->n_inputs; i++) hptr[i] = nox_hex_encode(ev->inputs[i].bytes, 32, htext[i]);
    nox_eip712_domain dom = nox_eip712_domain_runner_gateway(m.chain_id);
    nox_eip712_hash_operand_access_authorization(m.chain_id, m.block_number, m.caller, tx_hex, hptr,
                                                 ev->op->n_inputs, c->rsa_spki_hex, hash);
    if (nox_eip712_sign(&c->wallet, &dom, hash, sig, err)) goto done;

    /* Unwrap + decrypt every operand. */
    for (unsigned i = 0; i < ev->op->n_inputs; i++) {
        const enc_input *e = &p->in[k][i];
        nox_status s = nox_delegation_decrypt(c->rsa, esec[i], esec_len[i], e->nonce, e->ct, e->ct_len, pt, err);
        if (!s) s = nox_value_from_bytes(&in[i], tin[i], pt, e->ct_len - NOX_ECIES_TAG_SIZE, err);
        OPENSSL_cleanse(pt, sizeof pt);
        if (s) goto done;
    }
    if (nox_call_eval(&call, in, out, err)) goto done;

    /* Encrypt every output to the KMS key, with its handleValueTag. */
    for (unsigned i = 0; i < ev->op->n_outputs; i++) {
        uint8_t tag[32], rct[PT_MAX + NOX_ECIES_TAG_SIZE], reph[NOX_ECIES_EPHEMERAL_SIZE],
            rnonce[NOX_ECIES_NONCE_SIZE];
        size_t len = 0;
        nox_status s = nox_value_to_bytes(&out[i], pt, sizeof pt, &len, err);
        if (!s) {
            nox_handle_value_tag(&ev->outputs[i], pt, len, tag);
            s = nox_ecies_encrypt(&c->kms_pub, pt, len, rct, reph, rnonce, err);
        }
        OPENSSL_cleanse(pt, sizeof pt);
        if (s) goto done;
    }
    /* POST /v0/compute/results: the ResultPublishingAuthorization. */
    nox_eip712_hash_result_publishing_authorization(m.chain_id, m.block_number, m.caller, tx_hex, hash);
    if (nox_eip712_sign(&c->wallet, &dom, hash, sig, err)) goto done;
    rc = 0;
done:
    OPENSSL_cleanse(in, sizeof in);
    OPENSSL_cleanse(out, sizeof out);
    nox_message_free(&m);
    return rc;
}

/* ---- threads ------------------------------------------------------------------------------ */

static double thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct pworker {
    const ctx *c;
    const pair *p;   /* a pipeline run; NULL for a primitive */
    int primitive;   /* index into prims[] when p is NULL */
    double seconds;
    unsigned index;
    pthread_barrier_t *start;
    /* results */
    unsigned long long count;
    double runner_ns, kms_ns, elapsed_ns, cpu_ns; /* cpu_ns: this thread's CPU time while measuring */
    int failed;
    nox_error err;
} pworker;

static void *pipeline_thread(void *arg) {
    pworker *w = arg;
    uint8_t esec[MAXIO][RSA_BYTES];
    size_t esec_len[MAXIO];
    int k = (int)(w->index * 7) % POOL;
    /* one warm-up message */
    w->failed = kms_message(w->c, w->p, k, esec, esec_len, &w->err) ||
                runner_message(w->c, w->p, k, esec, esec_len, &w->err);
    if (w->start) pthread_barrier_wait(w->start);
    if (w->failed) return NULL;
    double start = bench_now_ns(), deadline = start + w->seconds * 1e9, t2 = start, c0 = thread_cpu_ns();
    do {
        k = (k + 1) % POOL;
        double t0 = bench_now_ns();
        if (kms_message(w->c, w->p, k, esec, esec_len, &w->err)) {
            w->failed = 1;
            break;
        }
        double t1 = bench_now_ns();
        if (runner_message(w->c, w->p, k, esec, esec_len, &w->err)) {
            w->failed = 1;
            break;
        }
        t2 = bench_now_ns();
        w->kms_ns += t1 - t0;
        w->runner_ns += t2 - t1;
        w->count++;
    } while (t2 < deadline || w->count < 3);
    w->elapsed_ns = t2 - start;
    w->cpu_ns = thread_cpu_ns() - c0;
    return NULL;
}

/* ---- the floor primitives ---------------------------------------------------------------- */

enum { P_RSA_DEC, P_RSA_ENC, P_ECDH, P_KEYGEN, P_GCM_DEC, P_GCM_ENC, P_SIGN, N_PRIMS };
static const char *const prim_names[N_PRIMS] = {
    "rsa2048_oaep_decrypt", "rsa2048_oaep_encrypt", "secp256k1_ecdh", "secp256k1_keygen",
    "hkdf_aes_gcm_decrypt", "hkdf_aes_gcm_encrypt", "secp256k1_ecdsa_sign",
};
static const char *const prim_titles[N_PRIMS] = {
    "RSA-2048 OAEP decrypt", "RSA-2048 OAEP encrypt (KMS)", "secp256k1 ECDH", "secp256k1 key generation",
    "HKDF + AES-256-GCM decrypt", "HKDF + AES-256-GCM encrypt", "secp256k1 ECDSA sign (EIP-712)",
};

/* HKDF + nonce + AES-256-GCM of 32 bytes: the tail of nox_ecies_encrypt (same EVP calls), without the ECDH. */
static int gcm_encrypt_x(const uint8_t x[32], const uint8_t *in, size_t len, uint8_t *out, uint8_t nonce[12],
                         nox_error *err) {
    uint8_t key[NOX_ECIES_KEY_SIZE];
    if (nox_ecies_derive_key(x, key, err) || RAND_bytes(nonce, NOX_ECIES_NONCE_SIZE) != 1) return -1;
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    int n = 0, ok = cx && EVP_EncryptInit_ex(cx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
                    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_IVLEN, NOX_ECIES_NONCE_SIZE, NULL) == 1 &&
                    EVP_EncryptInit_ex(cx, NULL, NULL, key, nonce) == 1 &&
                    EVP_EncryptUpdate(cx, out, &n, in, (int)len) == 1 && EVP_EncryptFinal_ex(cx, out + len, &n) == 1 &&
                    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, NOX_ECIES_TAG_SIZE, out + len) == 1;
    EVP_CIPHER_CTX_free(cx);
    OPENSSL_cleanse(key, sizeof key);
    return ok ? 0 : -1;
}

/* One call of primitive `which`; the inputs are made once per thread. */
typedef struct prim_data {
    uint8_t rsa_ct[RSA_BYTES], x[32], pt[32], ct[32 + NOX_ECIES_TAG_SIZE], nonce[12], digest[32];
    size_t rsa_ct_len;
    nox_ec_privkey k;
    nox_ec_pubkey other;
} prim_data;

static int prim_once(const ctx *c, int which, prim_data *d, nox_error *err) {
    uint8_t buf[RSA_BYTES], sig[NOX_EC_SIGNATURE_SIZE];
    size_t n;
    switch (which) {
    case P_RSA_DEC: return nox_rsa_decrypt(c->rsa, d->rsa_ct, d->rsa_ct_len, buf, sizeof buf, &n, err) ? -1 : 0;
    case P_RSA_ENC: return nox_rsa_encrypt(c->rsa_pub, d->x, 32, buf, sizeof buf, &n, err) ? -1 : 0;
    case P_ECDH: return nox_ec_ecdh_x(&c->kms, &d->other, buf, err) ? -1 : 0;
    case P_KEYGEN: {
        nox_ec_privkey k;
        nox_ec_pubkey pub;
        int r = nox_ec_key_generate(&k, err) || nox_ec_pubkey_of(&k, &pub, err) ? -1 : 0;
        if (!r) nox_ec_pubkey_compressed(&pub, buf);
        nox_ec_key_wipe(&k);
        return r;
    }
    case P_GCM_DEC: return nox_ecies_decrypt_x(d->x, d->nonce, d->ct, sizeof d->ct, buf, err) ? -1 : 0;
    case P_GCM_ENC: return gcm_encrypt_x(d->x, d->pt, sizeof d->pt, buf, sig, err);
    case P_SIGN: return nox_ec_sign(&c->wallet, d->digest, sig, err) ? -1 : 0;
    }
    return -1;
}

static void *prim_thread(void *arg) {
    pworker *w = arg;
    prim_data d;
    memset(&d, 0, sizeof d);
    size_t n;
    RAND_bytes(d.x, sizeof d.x);
    RAND_bytes(d.pt, sizeof d.pt);
    RAND_bytes(d.digest, sizeof d.digest);
    w->failed = nox_rsa_encrypt(w->c->rsa_pub, d.x, 32, d.rsa_ct, sizeof d.rsa_ct, &d.rsa_ct_len, &w->err) ||
                gcm_encrypt_x(d.x, d.pt, sizeof d.pt, d.ct, d.nonce, &w->err) ||
                nox_ec_key_generate(&d.k, &w->err) || nox_ec_pubkey_of(&d.k, &d.other, &w->err) ||
                prim_once(w->c, w->primitive, &d, &w->err);
    (void)n;
    if (w->start) pthread_barrier_wait(w->start);
    if (w->failed) return NULL;
    double start = bench_now_ns(), deadline = start + w->seconds * 1e9, t = start, c0 = thread_cpu_ns();
    do {
        for (int i = 0; i < 8; i++)
            if (prim_once(w->c, w->primitive, &d, &w->err)) {
                w->failed = 1;
                return NULL;
            }
        w->count += 8;
        t = bench_now_ns();
    } while (t < deadline);
    w->elapsed_ns = t - start;
    w->runner_ns = t - start;
    w->cpu_ns = thread_cpu_ns() - c0;
    return NULL;
}

/*
 * Runs n workers (inline when n is 1). In the result: ns = the per-thread mean time of the timed
 * part (the Runner part, or the primitive), agg = the aggregate rate (the sum over threads of count
 * divided by that thread's time); kms_ns and kms_agg the same for the KMS part; both_agg for both.
 */
typedef struct result {
    double ns, agg, kms_ns, kms_agg, both_agg;
    double cpu_share; /* the lowest thread CPU time / wall time: below ~0.95 another process took the core */
    unsigned long long count;
} result;

static int run_workers(pworker *ws, unsigned n, void *(*fn)(void *), result *r) {
    pthread_barrier_t barrier;
    pthread_t tids[MAX_THREADS];
    if (n > 1) pthread_barrier_init(&barrier, NULL, n);
    for (unsigned t = 0; t < n; t++) {
        ws[t].index = t;
        ws[t].start = n > 1 ? &barrier : NULL;
        ws[t].count = 0;
        ws[t].runner_ns = ws[t].kms_ns = ws[t].elapsed_ns = 0;
        ws[t].failed = 0;
        memset(&ws[t].err, 0, sizeof ws[t].err);
    }
    if (n == 1) fn(&ws[0]);
    else {
        for (unsigned t = 0; t < n; t++) pthread_create(&tids[t], NULL, fn, &ws[t]);
        for (unsigned t = 0; t < n; t++) pthread_join(tids[t], NULL);
        pthread_barrier_destroy(&barrier);
    }
    memset(r, 0, sizeof *r);
    r->cpu_share = 1;
    double sum_ns = 0, sum_kms = 0;
    for (unsigned t = 0; t < n; t++) {
        if (ws[t].failed || !ws[t].count) {
            fprintf(stderr, "nox-bench: %s\n", ws[t].err.message[0] ? ws[t].err.message : "measurement failed");
            return -1;
        }
        double c = (double)ws[t].count;
        sum_ns += ws[t].runner_ns / c;
        sum_kms += ws[t].kms_ns / c;
        r->agg += c / (ws[t].runner_ns / 1e9);
        if (ws[t].kms_ns > 0) r->kms_agg += c / (ws[t].kms_ns / 1e9);
        r->both_agg += c / (ws[t].elapsed_ns / 1e9);
        r->count += ws[t].count;
        double share = ws[t].cpu_ns / ws[t].elapsed_ns;
        if (share < r->cpu_share) r->cpu_share = share;
    }
    r->ns = sum_ns / n;
    r->kms_ns = sum_kms / n;
    return 0;
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void random_value(nox_value *v, uint8_t type, uint64_t *rng) {
    nox_value_zero(v, type);
    unsigned bits = nox_type_bits(type), n = nox_type_limbs(type);
    for (unsigned i = 0; i < n; i++) v->limb[i] = bench_rng(rng);
    if (bits % 64) v->limb[n - 1] &= ((uint64_t)1 << (bits % 64)) - 1;
}

static void random_handle(nox_handle *h, uint8_t type, uint64_t *rng) {
    uint8_t pre[NOX_PREHANDLE_SIZE];
    for (size_t i = 0; i < sizeof pre; i++) pre[i] = (uint8_t)bench_rng(rng);
    nox_handle_make(h, pre, CHAIN_ID, type);
}

/* The pool of messages and encrypted inputs of one pair (the Gateway's part). */
static int pair_setup(const ctx *c, pair *p, const uint8_t *in_types, const uint8_t *out_types, uint64_t *rng,
                      nox_error *err) {
    const nox_operation *proto = nox_operation_by_name(nox_op_name(p->op));
    for (int k = 0; k < POOL; k++) {
        nox_message_event ev;
        memset(&ev, 0, sizeof ev);
        ev.op = proto;
        for (size_t i = 0; i < 20; i++) ev.caller[i] = 0x11;
        for (unsigned i = 0; i < p->n_in; i++) {
            random_handle(&ev.inputs[i], in_types[i], rng);
            nox_value v;
            uint8_t pt[PT_MAX];
            size_t len;
            random_value(&v, in_types[i], rng);
            enc_input *e = &p->in[k][i];
            if (nox_value_to_bytes(&v, pt, sizeof pt, &len, err) ||
                nox_ecies_encrypt(&c->kms_pub, pt, len, e->ct, e->eph, e->nonce, err))
                return -1;
            e->ct_len = len + NOX_ECIES_TAG_SIZE;
        }
        for (unsigned i = 0; i < p->n_out; i++) random_handle(&ev.outputs[i], out_types[i], rng);
        nox_message m;
        memset(&m, 0, sizeof m);
        m.chain_id = CHAIN_ID;
        memcpy(m.caller, ev.caller, 20);
        m.block_number = 5;
        for (size_t i = 0; i < 32; i++) m.tx_hash[i] = (uint8_t)bench_rng(rng);
        m.n_events = 1;
        m.events = &ev;
        if (nox_message_to_json(&m, &p->json[k], err)) return -1;
        p->json_len[k] = strlen(p->json[k]);
    }
    return 0;
}

/* 1 when `name` is in the comma-separated `list` (NULL: every name). */
static int in_list(const char *list, const char *name) {
    if (!list) return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && !strncmp(p, name, n)) return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: nox-bench pipeline [--config FILE] [--op NAME] [--type T] [--seconds S] [--threads N]\n"
            "                          [--csv FILE|-] [--plot DIR]\n"
            "  --op NAMES    protocol operators, comma-separated (default: every one the config enables)\n"
            "  --type T      one type (default: uint64 and uint256)\n"
            "  --seconds S   measuring time per (pair, thread count) (default 0.5)\n"
            "  --floor-seconds S  measuring time per floor primitive and thread count (default: --seconds)\n"
            "  --threads N   the multi-thread run (default nproc); 1 thread is always measured\n");
}

int bench_pipeline_main(int argc, char **argv) {
    const char *config = getenv("NOX_OPERATORS_CONFIG");
    if (!config || !*config) config = "config/operators.yaml";
    const char *only_op = NULL, *csv_path = NULL, *plot_dir = NULL;
    int only_type = -1;
    double seconds = 0.5, floor_seconds = -1, threads_d = bench_nproc();
    nox_error err = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        if (!strcmp(a, "--config")) config = argv[++i];
        else if (!strcmp(a, "--op")) only_op = argv[++i];
        else if (!strcmp(a, "--csv")) csv_path = argv[++i];
        else if (!strcmp(a, "--plot")) plot_dir = argv[++i];
        else if (!strcmp(a, "--seconds")) {
            if (bench_parse_double("--seconds", argv[++i], 1e-3, 600, &seconds)) return 2;
        } else if (!strcmp(a, "--floor-seconds")) {
            if (bench_parse_double("--floor-seconds", argv[++i], 1e-3, 600, &floor_seconds)) return 2;
        } else if (!strcmp(a, "--threads")) {
            if (bench_parse_double("--threads", argv[++i], 1, MAX_THREADS, &threads_d) ||
                threads_d != (unsigned)threads_d)
                return 2;
        } else if (!strcmp(a, "--type")) {
            uint8_t t;
            if (nox_type_from_name(argv[++i], &t, &err)) {
                fprintf(stderr, "nox-bench: %s\n", err.message);
                return 2;
            }
            only_type = t;
        } else {
            usage();
            return 2;
        }
    }
    unsigned threads = (unsigned)threads_d;
    if (floor_seconds < 0) floor_seconds = seconds;
    for (const char *q = only_op; q && *q;) {
        size_t len = strcspn(q, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), q);
        if (!nox_operation_by_name(name)) {
            fprintf(stderr, "nox-bench: %s is not a protocol operation (spec §6): it cannot be in a message\n", name);
            return 2;
        }
        q += len + (q[len] == ',');
    }

    ctx c;
    memset(&c, 0, sizeof c);
    int rc = 1;
    FILE *csv = NULL;
    pworker *ws = calloc(MAX_THREADS, sizeof *ws);
    pair *p = calloc(1, sizeof *p);
    c.engine = nox_engine_new();
    if (!ws || !p || !c.engine || nox_engine_load_config(c.engine, config, &err)) {
        fprintf(stderr, "nox-bench: %s\n", c.engine ? err.message : "out of memory");
        goto out;
    }
    uint8_t spki[NOX_RSA_MAX_SPKI_SIZE];
    size_t spki_len;
    if (nox_ec_key_generate(&c.kms, &err) || nox_ec_pubkey_of(&c.kms, &c.kms_pub, &err) ||
        nox_ec_key_generate(&c.wallet, &err) || nox_rsa_generate(2048, &c.rsa, &err) ||
        nox_rsa_spki(c.rsa, spki, sizeof spki, &spki_len, &err) ||
        nox_rsa_from_spki(spki, spki_len, &c.rsa_pub, &err) ||
        nox_rsa_spki_hex(c.rsa, c.rsa_spki_hex, sizeof c.rsa_spki_hex, &err)) {
        fprintf(stderr, "nox-bench: set-up: %s\n", err.message);
        goto out;
    }
    if (csv_path && !(csv = bench_csv_open(csv_path))) goto out;
    FILE *o = bench_table_stream(csv);
    if (csv)
        fprintf(csv, "kind,op,type,n_in,n_out,threads,us_per_op,ops_per_s,kms_us_per_op,kms_ops_per_s,"
                     "with_kms_ops_per_s,floor_us,kms_floor_us,ratio,meets_target,count,cpu_share\n");

    unsigned counts[2] = {1, threads};
    int n_counts = threads > 1 ? 2 : 1;

    /* The floor. */
    double floor_ns[2][N_PRIMS];
    int floor_contended = 0;
    fprintf(o, "# nox-bench pipeline: crypto floor, each primitive alone through the core's own calls, "
               "mean over %.3g s\n",
            floor_seconds);
    fprintf(o, "%-32s", "primitive");
    for (int t = 0; t < n_counts; t++) fprintf(o, "  %4u thr: us/op  ops/s (all)", counts[t]);
    fputc('\n', o);
    for (int q = 0; q < N_PRIMS; q++) {
        fprintf(o, "%-32s", prim_titles[q]);
        for (int t = 0; t < n_counts; t++) {
            for (unsigned w = 0; w < counts[t]; w++) {
                ws[w].c = &c;
                ws[w].p = NULL;
                ws[w].primitive = q;
                ws[w].seconds = floor_seconds;
            }
            result r;
            if (run_workers(ws, counts[t], prim_thread, &r)) goto out;
            floor_ns[t][q] = r.ns;
            floor_contended += r.cpu_share < 0.95;
            fprintf(o, "  %15.2f %12.0f", r.ns / 1e3, r.agg);
            if (csv)
                fprintf(csv, "primitive,%s,,,,%u,%.3f,%.1f,,,,,,,,%llu,%.3f\n", prim_names[q], counts[t],
                        r.ns / 1e3, r.agg, r.count, r.cpu_share);
        }
        fputc('\n', o);
        fflush(o);
    }

    /* The pipeline. */
    fprintf(o,
            "# nox-bench pipeline: the Runner's per-message work (parse, resolve, 2 EIP-712 signatures, RSA unwrap + "
            "HKDF/GCM decrypt per input, eval, tag + ECIES encrypt per output), no network; one event per message; "
            "%.3g s per pair and thread count\n"
            "# runner us/msg: per thread; msgs/s: all threads; floor: i*(RSA dec + GCM dec) + o*(keygen + ECDH + "
            "GCM enc) + 2*sign; ratio target <= %.2f; KMS: per input ECDH + RSA-OAEP encrypt, reported apart\n",
            seconds, TARGET_RATIO);
    fprintf(o, "%-9s %-8s %3s %4s %10s %10s %10s %7s %14s %10s %10s %5s\n", "op", "type", "i/o", "thr", "runner us",
            "msgs/s", "floor us", "ratio", "target", "kms us/msg", "+kms msg/s", "cpu%");
    uint64_t rng = 0x5eed5eed5eed5eedull;
    int pairs = 0, missed = 0, contended = 0;
    size_t n_plot = 0, cap_plot = 0;
    char **labels = NULL;
    double *plot1 = NULL, *plotN = NULL, *plot_us = NULL, *plot_floor = NULL;
    for (size_t oi = 0; oi < nox_engine_op_count(c.engine); oi++) {
        const nox_op *op = nox_engine_op_at(c.engine, oi);
        if (!nox_operation_by_name(nox_op_name(op))) continue; /* an extension operator: never in a message */
        if (!in_list(only_op, nox_op_name(op))) continue;
        for (unsigned code = 0; code <= NOX_TYPE_LAST; code++) {
            if (only_type >= 0 ? (int)code != only_type : code != NOX_TYPE_UINT64 && code != NOX_TYPE_UINT256)
                continue;
            uint8_t tin[NOX_MAX_ARITY];
            nox_call call;
            if (nox_op_instantiate(op, (uint8_t)code, tin, NULL) ||
                nox_op_resolve(op, tin, nox_op_n_inputs(op), NULL, nox_op_n_outputs(op), &call, NULL))
                continue;
            if (nox_op_n_inputs(op) > MAXIO || nox_op_n_outputs(op) > MAXIO) continue;
            int too_big = 0;
            for (unsigned i = 0; i < nox_op_n_inputs(op); i++) too_big |= nox_type_size(tin[i]) > PT_MAX;
            for (unsigned i = 0; i < nox_op_n_outputs(op); i++) too_big |= nox_type_size(call.out_types[i]) > PT_MAX;
            if (too_big) continue;
            for (int k = 0; k < POOL; k++) free(p->json[k]);
            memset(p, 0, sizeof *p);
            p->op = op;
            p->type = (uint8_t)code;
            p->n_in = nox_op_n_inputs(op);
            p->n_out = nox_op_n_outputs(op);
            if (pair_setup(&c, p, tin, call.out_types, &rng, &err)) {
                fprintf(stderr, "nox-bench: %s %s: set-up: %s\n", nox_op_name(op), nox_type_name(code), err.message);
                goto out;
            }
            pairs++;
            double per_thread[2] = {0}, agg[2] = {0};
            for (int t = 0; t < n_counts; t++) {
                for (unsigned w = 0; w < counts[t]; w++) {
                    ws[w].c = &c;
                    ws[w].p = p;
                    ws[w].seconds = seconds;
                }
                result r;
                if (run_workers(ws, counts[t], pipeline_thread, &r)) {
                    fprintf(stderr, "nox-bench: %s %s failed\n", nox_op_name(op), nox_type_name(code));
                    goto out;
                }
                const double *fl = floor_ns[t];
                double floor = p->n_in * (fl[P_RSA_DEC] + fl[P_GCM_DEC]) +
                               p->n_out * (fl[P_KEYGEN] + fl[P_ECDH] + fl[P_GCM_ENC]) + 2 * fl[P_SIGN];
                double kms_floor = p->n_in * (fl[P_ECDH] + fl[P_RSA_ENC]);
                double ratio = r.ns / floor;
                int ok = ratio <= TARGET_RATIO;
                if (!ok) missed++;
                per_thread[t] = r.ns;
                agg[t] = r.agg;
                char io[8];
                snprintf(io, sizeof io, "%u/%u", p->n_in, p->n_out);
                fprintf(o, "%-9s %-8s %3s %4u %10.1f %10.0f %10.1f %7.3f %14s %10.1f %10.0f %4.0f%s\n",
                        nox_op_name(op), nox_type_name(code), io, counts[t], r.ns / 1e3, r.agg, floor / 1e3, ratio,
                        ok ? "<=1.15 ok" : "<=1.15 MISSED", r.kms_ns / 1e3, r.both_agg, 100 * r.cpu_share,
                        r.cpu_share < 0.95 ? " contended" : "");
                contended += r.cpu_share < 0.95;
                fflush(o);
                if (csv)
                    fprintf(csv, "pipeline,%s,%s,%u,%u,%u,%.3f,%.1f,%.3f,%.1f,%.1f,%.3f,%.3f,%.4f,%s,%llu,%.3f\n",
                            nox_op_name(op), nox_type_name(code), p->n_in, p->n_out, counts[t], r.ns / 1e3, r.agg,
                            r.kms_ns / 1e3, r.kms_agg, r.both_agg, floor / 1e3, kms_floor / 1e3, ratio,
                            ok ? "yes" : "no", r.count, r.cpu_share);
            }
            if (plot_dir) {
                if (n_plot == cap_plot) {
                    cap_plot = cap_plot ? 2 * cap_plot : 64;
                    labels = realloc(labels, cap_plot * sizeof *labels);
                    plot1 = realloc(plot1, cap_plot * sizeof *plot1);
                    plotN = realloc(plotN, cap_plot * sizeof *plotN);
                    plot_us = realloc(plot_us, cap_plot * sizeof *plot_us);
                    plot_floor = realloc(plot_floor, cap_plot * sizeof *plot_floor);
                    if (!labels || !plot1 || !plotN || !plot_us || !plot_floor) abort();
                }
                char label[64];
                snprintf(label, sizeof label, "%s %s", nox_op_name(op), nox_type_name(code));
                labels[n_plot] = strdup(label);
                plot1[n_plot] = agg[0];
                plotN[n_plot] = agg[n_counts - 1];
                plot_us[n_plot] = per_thread[0] / 1e3;
                const double *fl = floor_ns[0];
                plot_floor[n_plot++] = (p->n_in * (fl[P_RSA_DEC] + fl[P_GCM_DEC]) +
                                        p->n_out * (fl[P_KEYGEN] + fl[P_ECDH] + fl[P_GCM_ENC]) + 2 * fl[P_SIGN]) /
                                       1e3;
            }
        }
    }
    fprintf(o, "# %d pairs measured; %d (pair, thread count) rows missed the ratio target\n", pairs, missed);
    if (contended || floor_contended)
        fprintf(o, "# WARNING: %d row(s) and %d floor measurement(s) got less than 95 %% of a core (cpu%% column): "
                   "another process competed for the cores; re-run them on an idle machine\n",
                contended, floor_contended);
    rc = pairs ? 0 : 1;
    if (!pairs) fprintf(stderr, "nox-bench: no (operator, type) pair matched\n");
    if (plot_dir && n_plot) {
        char s1[64], s2[64];
        snprintf(s1, sizeof s1, "1 thread");
        snprintf(s2, sizeof s2, "%u threads", threads);
        if (svg_bars(plot_dir, "pipeline.svg", "Runner pipeline throughput (no network)", "messages per second",
                     n_plot, (const char *const *)labels, plot1, s1, n_counts > 1 ? plotN : NULL, s2) ||
            svg_bars(plot_dir, "pipeline_floor.svg", "Runner time per message vs its crypto floor (1 thread)",
                     "microseconds per message", n_plot, (const char *const *)labels, plot_us, "pipeline",
                     plot_floor, "floor (sum of the primitives)"))
            rc = 1;
    }
    for (size_t k = 0; k < n_plot; k++) free(labels[k]);
    free(labels);
    free(plot1);
    free(plotN);
    free(plot_us);
    free(plot_floor);
out:
    bench_csv_close(csv);
    if (p)
        for (int k = 0; k < POOL; k++) free(p->json[k]);
    free(p);
    free(ws);
    nox_ec_key_wipe(&c.kms);
    nox_ec_key_wipe(&c.wallet);
    nox_rsa_free(c.rsa);
    nox_rsa_free(c.rsa_pub);
    nox_engine_free(c.engine);
    return rc;
}
