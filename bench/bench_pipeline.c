/*
 * nox-bench pipeline: the Runner's per-message work, in process (no network),
 * for each (operator, type) pair and each delegation mode, and the crypto
 * floor it cannot go below.
 *
 * Modes (--threshold LIST, default 1,2; --legacy = --threshold 0):
 *   legacy  (t = 0) spec §4.2 as written: one RSA-OAEP-wrapped x per operand;
 *   t-of-n  (t ≥ 1, n = 2t−1: 1-of-1, 2-of-3, …) threshold delegation
 *           (docs/PROTOCOL-EXTENSIONS.md §11): the Runner fetches the operands
 *           of a batch of --batch B messages (default 32, the Runner's
 *           fetch_batch) in one Gateway request, whose answer carries t
 *           envelopes, one per KMS node (nodes 1..t answer).
 * The KMS key is split with nox_th_deal into each group, so every mode
 * decrypts the same inputs (encrypted to P = d·G).
 *
 * Set-up (not timed): a local KMS key pair (secp256k1) and its groups, the
 * Runner's RSA-2048 key pair and wallet (as nox-runner makes them at start),
 * and per pair a pool of POOL one-event TransactionMessages (spec §6,
 * nox_message_to_json) whose every input was ECIES-encrypted to the KMS public
 * key with nox_ecies_encrypt, as the Gateway does at POST /v0/secrets.
 *
 * Timed, in two parts measured separately (per message; a batch's time is
 * divided by its B messages):
 *   KMS     legacy: for each input, nox_delegation_delegate (ECDH of the KMS
 *           key with the input's ephemeral key + RSA-OAEP encryption of x to
 *           the Runner's key: POST /v0/delegate minus HTTP, EIP-712, JSON);
 *           t-of-n: per batch, for each of the t nodes,
 *           nox_delegation_seal_partials over the batch's B·i ephemeral keys
 *           (per item a partial d_j·K + DLEQ proof; one AES-256-GCM over all
 *           items; one RSA-OAEP of the envelope key: POST /v0/delegate/partials
 *           minus HTTP, EIP-712, JSON). The t nodes' work is summed: it is the
 *           KMS CPU a message costs, though the nodes run on their own machines.
 *   Runner  exactly services/runner/pipeline.c (and its Gateway client) minus
 *           the network: per batch (t-of-n only) t × nox_delegation_open_partials
 *           (one RSA-OAEP decryption + one AES-GCM open per envelope); per
 *           message nox_message_parse, nox_engine_find + nox_op_resolve, the
 *           EIP-712 OperandAccessAuthorization signature, per input either
 *           nox_delegation_decrypt (legacy: RSA-OAEP unwrap + HKDF + AES-GCM)
 *           or nox_delegation_decrypt_partials (combine t partials → x, HKDF +
 *           AES-GCM; the DLEQ proofs are only checked when the tag fails, which
 *           it does not here) + nox_value_from_bytes, nox_call_eval, per output
 *           nox_value_to_bytes + nox_handle_value_tag + nox_ecies_encrypt to the
 *           KMS key (key generation + ECDH + HKDF + AES-GCM), the
 *           ResultPublishingAuthorization signature, and the wipes.
 * The pipeline number is the Runner part alone (the Runner's throughput); the
 * KMS part is reported next to it, and "with KMS" is both on one core.
 *
 * Floor: each primitive alone, through the same core calls (mean over
 * --floor-seconds): RSA-2048 OAEP decrypt, RSA-2048 OAEP encrypt, secp256k1
 * ECDH, secp256k1 key generation (k, k·G, compressed), HKDF + AES-256-GCM
 * decrypt (nox_ecies_decrypt_x) and encrypt (HKDF + nonce + AES-GCM, as
 * nox_ecies_encrypt does after its ECDH), secp256k1 ECDSA sign; and for the
 * threshold modes: the partials of 2·B keys with their one batched DLEQ proof
 * (nox_th_partials), per key, a batch proof's verification per key
 * (nox_th_verify_partials: listed, not in the floor, since it only runs when
 * a tag fails), the Lagrange combine of t partials (nox_th_combine, for each t
 * measured; t = 1 is a point parse, no multiplication), and the envelope's
 * AES-256-GCM seal and open per item (nox_aes_gcm_seal/open over an envelope
 * of 2·B items — a batch of binary operations — divided by 2·B). For an
 * operator with i inputs and o outputs:
 *   out    = o·(keygen + ECDH + HKDF/GCM encrypt) + 2·sign
 *   legacy floor = i·(RSA decrypt + HKDF/GCM decrypt) + out
 *   t-of-n floor = t·RSA decrypt / B + i·(t·envelope open per item + combine_t + HKDF/GCM decrypt) + out
 *   ratio = Runner time per message / the floor of its mode (target ≤ 1.15);
 *   legacy KMS floor = i·(ECDH + RSA encrypt);
 *   t-of-n KMS floor = t·(RSA encrypt / B + i·(partial + envelope seal per item)).
 * Both are measured at 1 thread and at --threads N (default nproc; the floor
 * too, so each ratio compares like with like).
 *
 * CSV: the columns of the legacy-only version, then at the end `threshold`
 * (0 = legacy), `batch` (B; 1 for legacy rows: one RSA per operand) and
 * `other_cpu` (cores' worth of CPU the rest of the machine used during the
 * measurement, from /proc/stat, steal included: on a VM whose vCPUs share
 * physical cores a neighbour slows the measured threads without taking their
 * core, which `cpu_share` cannot see; a row is "contended" when cpu_share <
 * 0.95 or other_cpu > 0.10 + the tick granularity).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
#include "nox/threshold.h"
#include "nox/types.h"
#include "nox/value.h"

enum {
    POOL = 32,
    MAXIO = 3,
    PT_MAX = 64,
    MAX_THREADS = 256,
    RSA_BYTES = 256,
    MAX_MODES = 8,   /* thresholds in one run */
    MAX_TH = 16,     /* largest t (n = 2t−1 ≤ NOX_TH_MAX_NODES) */
    MAX_BATCH = 256, /* B·MAXIO ≤ NOX_DELEGATION_MAX_ITEMS */
};
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

/* A delegation mode: t = 0 legacy, else the t-of-n group the KMS key was split into. */
typedef struct mode {
    unsigned t, n;
    nox_th_group group;
    nox_ec_privkey shares[NOX_TH_MAX_NODES]; /* node j's at [j-1] */
} mode;

/* Shared, read-only while measuring. */
typedef struct ctx {
    nox_engine *engine;
    nox_ec_privkey kms;
    nox_ec_pubkey kms_pub;
    nox_rsa_key *rsa;     /* the Runner's key pair */
    nox_rsa_key *rsa_pub; /* its public part as the KMS imports it */
    char rsa_spki_hex[1200];
    nox_ec_privkey wallet; /* the Runner wallet */
    unsigned batch;        /* B: messages per Runner batch (threshold modes) */
} ctx;

/* Where a message's operands come from: legacy wrapped secrets, or the batch's opened envelopes. */
typedef struct operands {
    uint8_t (*esec)[RSA_BYTES]; /* legacy: one encryptedSharedSecret per input */
    const size_t *esec_len;
    nox_partials *sets;      /* t-of-n: t opened envelopes; this message's inputs are items first.. */
    unsigned t;
    size_t first;
} operands;

/* ---- the two halves of one message (legacy) or one batch (threshold) ----------------------- */

/* The KMS, legacy: one delegation per input. */
static int kms_message(const ctx *c, const pair *p, int k, uint8_t esec[MAXIO][RSA_BYTES], size_t esec_len[MAXIO],
                       nox_error *err) {
    for (unsigned i = 0; i < p->n_in; i++)
        if (nox_delegation_delegate(&c->kms, p->in[k][i].eph, NOX_ECIES_EPHEMERAL_SIZE, c->rsa_pub, esec[i],
                                    RSA_BYTES, &esec_len[i], err))
            return -1;
    return 0;
}

/* The Runner: services/runner/pipeline.c's work on one message, minus the two HTTP exchanges. */
static int runner_message(const ctx *c, const pair *p, int k, const operands *src, nox_error *err) {
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

    /* Decrypt every operand: legacy, RSA unwrap + HKDF/GCM; threshold, combine t partials + HKDF/GCM. */
    for (unsigned i = 0; i < ev->op->n_inputs; i++) {
        const enc_input *e = &p->in[k][i];
        nox_status s;
        if (src->sets) {
            uint64_t bad = 0;
            s = nox_delegation_decrypt_partials(src->sets, src->t, src->t, src->first + i, e->eph, e->nonce, e->ct,
                                                e->ct_len, pt, &bad, err);
        } else
            s = nox_delegation_decrypt(c->rsa, src->esec[i], src->esec_len[i], e->nonce, e->ct, e->ct_len, pt, err);
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

/* A thread's buffers for one batch. */
typedef struct batch_buf {
    uint8_t (*eph)[NOX_TH_POINT_SIZE]; /* B·MAXIO */
    nox_sealed_partials sealed[NOX_TH_MAX_NODES];
    nox_partials sets[NOX_TH_MAX_NODES];
} batch_buf;

/* The KMS, t-of-n: nodes 1..t each seal the partials of the batch's B·i ephemeral keys (messages k0, k0+1, …). */
static int kms_batch(const ctx *c, const mode *md, const pair *p, int k0, batch_buf *b, nox_error *err) {
    size_t m = 0;
    for (unsigned j = 0; j < c->batch; j++) {
        int k = (int)((k0 + (int)j) % POOL);
        for (unsigned i = 0; i < p->n_in; i++) memcpy(b->eph[m++], p->in[k][i].eph, NOX_TH_POINT_SIZE);
    }
    for (unsigned s = 0; s < md->t; s++)
        if (nox_delegation_seal_partials(&md->shares[s], s + 1, CHAIN_ID, (const uint8_t(*)[NOX_TH_POINT_SIZE])b->eph,
                                         m, c->rsa_pub, NULL, &b->sealed[s], err))
            return -1;
    return 0;
}

/* The Runner, t-of-n: opens the t envelopes once, then each message of the batch. */
static int runner_batch(const ctx *c, const mode *md, const pair *p, int k0, batch_buf *b, nox_error *err) {
    int rc = -1;
    unsigned opened = 0;
    for (; opened < md->t; opened++) {
        if (nox_delegation_open_partials(c->rsa, NULL, &b->sealed[opened], CHAIN_ID, &b->sets[opened], err)) goto done;
        memcpy(b->sets[opened].verification_key, md->group.verification_keys[b->sets[opened].node - 1],
               NOX_TH_POINT_SIZE);
    }
    for (unsigned j = 0; j < c->batch; j++) {
        operands src = {.sets = b->sets, .t = md->t, .first = (size_t)j * p->n_in};
        if (runner_message(c, p, (int)((k0 + (int)j) % POOL), &src, err)) goto done;
    }
    rc = 0;
done:
    for (unsigned s = 0; s < opened; s++) nox_partials_wipe(&b->sets[s]);
    return rc;
}

static void batch_free(batch_buf *b) {
    for (unsigned s = 0; s < NOX_TH_MAX_NODES; s++) nox_sealed_partials_free(&b->sealed[s]);
}

/* ---- threads ------------------------------------------------------------------------------ */

static double thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct pworker {
    const ctx *c;
    const pair *p;    /* a pipeline run; NULL for a primitive */
    const mode *md;   /* its delegation mode */
    int primitive;    /* index into the primitives when p is NULL */
    double seconds;
    unsigned index;
    pthread_barrier_t *start;
    /* results */
    unsigned long long count;
    double runner_ns, kms_ns, elapsed_ns, cpu_ns; /* cpu_ns: this thread's CPU time while measuring */
    int failed;
    nox_error err;
} pworker;

/* A thread's state between steps. */
typedef struct pstate {
    uint8_t esec[MAXIO][RSA_BYTES];
    size_t esec_len[MAXIO];
    batch_buf b;
} pstate;

/*
 * One step from message k: one message (legacy) or one batch of B (t-of-n). Adds the KMS and Runner
 * times; returns the messages done, 0 on failure. *end is the time the Runner part ended.
 */
static unsigned step(pworker *w, pstate *s, int k, double *end) {
    double t0 = bench_now_ns(), t1, t2;
    unsigned done = 0;
    if (!w->md->t) {
        if (kms_message(w->c, w->p, k, s->esec, s->esec_len, &w->err)) return 0;
        t1 = bench_now_ns();
        operands src = {.esec = s->esec, .esec_len = s->esec_len};
        if (runner_message(w->c, w->p, k, &src, &w->err)) return 0;
        t2 = bench_now_ns();
        done = 1;
    } else {
        int ok = !kms_batch(w->c, w->md, w->p, k, &s->b, &w->err);
        t1 = bench_now_ns();
        ok = ok && !runner_batch(w->c, w->md, w->p, k, &s->b, &w->err);
        t2 = bench_now_ns();
        batch_free(&s->b); /* the Runner frees the answer after its last message: not timed (negligible) */
        if (!ok) return 0;
        done = w->c->batch;
    }
    w->kms_ns += t1 - t0;
    w->runner_ns += t2 - t1;
    *end = t2;
    return done;
}

static void *pipeline_thread(void *arg) {
    pworker *w = arg;
    pstate *s = calloc(1, sizeof *s);
    if (s) s->b.eph = calloc((size_t)w->c->batch * MAXIO, NOX_TH_POINT_SIZE);
    int k = (int)(w->index * 7) % POOL;
    double t2 = 0;
    /* one warm-up step */
    w->failed = !s || !s->b.eph || !step(w, s, k, &t2);
    if (!s || !s->b.eph) snprintf(w->err.message, sizeof w->err.message, "out of memory");
    w->kms_ns = w->runner_ns = 0;
    if (w->start) pthread_barrier_wait(w->start);
    if (!w->failed) {
        double start = bench_now_ns(), deadline = start + w->seconds * 1e9, c0 = thread_cpu_ns();
        t2 = start;
        do {
            k = (k + 1) % POOL;
            unsigned n = step(w, s, k, &t2);
            if (!n) {
                w->failed = 1;
                break;
            }
            w->count += n;
        } while (t2 < deadline || w->count < 3);
        w->elapsed_ns = t2 - start;
        w->cpu_ns = thread_cpu_ns() - c0;
    }
    if (s) {
        OPENSSL_cleanse(s->esec, sizeof s->esec);
        free(s->b.eph);
        free(s);
    }
    return NULL;
}

/* ---- the floor primitives ---------------------------------------------------------------- */

enum {
    P_RSA_DEC,
    P_RSA_ENC,
    P_ECDH,
    P_KEYGEN,
    P_GCM_DEC,
    P_GCM_ENC,
    P_SIGN,
    N_LEGACY_PRIMS,
    /* threshold delegation */
    P_PARTIAL = N_LEGACY_PRIMS,
    P_DLEQ_VERIFY,
    P_ENV_SEAL,
    P_ENV_OPEN,
    P_COMBINE, /* P_COMBINE + t − 1: the combine of t partials */
    N_PRIMS = P_COMBINE + MAX_TH,
};
static const char *const prim_names[P_COMBINE] = {
    "rsa2048_oaep_decrypt", "rsa2048_oaep_encrypt", "secp256k1_ecdh", "secp256k1_keygen",
    "hkdf_aes_gcm_decrypt", "hkdf_aes_gcm_encrypt", "secp256k1_ecdsa_sign", "th_partial_batch_dleq_per_item",
    "th_batch_dleq_verify_per_item", "envelope_aes_gcm_seal_per_item", "envelope_aes_gcm_open_per_item",
};
static const char *const prim_titles[P_COMBINE] = {
    "RSA-2048 OAEP decrypt", "RSA-2048 OAEP encrypt (KMS)", "secp256k1 ECDH", "secp256k1 key generation",
    "HKDF + AES-256-GCM decrypt", "HKDF + AES-256-GCM encrypt", "secp256k1 ECDSA sign (EIP-712)",
    "partial + batched DLEQ proof/item (KMS)", "batched DLEQ verify/item (tag failure)", "envelope AES-GCM seal/item (KMS)",
    "envelope AES-GCM open/item",
};

static void prim_name(int q, char *out, size_t cap) {
    if (q < P_COMBINE) snprintf(out, cap, "%s", prim_names[q]);
    else snprintf(out, cap, "th_combine_%d", q - P_COMBINE + 1);
}

static void prim_title(int q, char *out, size_t cap) {
    if (q < P_COMBINE) snprintf(out, cap, "%s", prim_titles[q]);
    else snprintf(out, cap, "Lagrange combine of %d partial%s", q - P_COMBINE + 1, q > P_COMBINE ? "s" : "");
}

/* Items per call: the envelope and proof primitives run over 2·B items (a batch of binary operations) and report
 * per item. */
static unsigned prim_items(const ctx *c, int q) {
    return q == P_ENV_SEAL || q == P_ENV_OPEN || q == P_PARTIAL || q == P_DLEQ_VERIFY ? 2 * c->batch : 1;
}

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

enum { AAD_SIZE = sizeof NOX_DELEGATION_AAD_LABEL - 1 + 4 + 8 };

/* One call of primitive `which`; the inputs are made once per thread. */
typedef struct prim_data {
    uint8_t rsa_ct[RSA_BYTES], x[32], pt[32], ct[32 + NOX_ECIES_TAG_SIZE], nonce[12], digest[32];
    size_t rsa_ct_len;
    nox_ec_privkey k;
    nox_ec_pubkey other;
    /* threshold */
    uint8_t (*ephs)[NOX_TH_POINT_SIZE], (*pairs)[NOX_TH_PAIR_SIZE], (*scratch)[NOX_TH_PAIR_SIZE]; /* 2·B each */
    uint8_t vk[NOX_TH_POINT_SIZE], proof[NOX_TH_PROOF_SIZE];
    uint8_t partials[MAX_TH][NOX_TH_POINT_SIZE];
    unsigned idx[MAX_TH];
    uint8_t env_key[NOX_ECIES_KEY_SIZE], env_iv[NOX_ECIES_NONCE_SIZE], aad[AAD_SIZE];
    uint8_t *items, *sealed, *opened; /* 2·B items; sealed: + tag */
    size_t env_len;
} prim_data;

static int prim_once(const ctx *c, int which, prim_data *d, nox_error *err) {
    uint8_t buf[RSA_BYTES], sig[NOX_EC_SIGNATURE_SIZE], proof[NOX_TH_PROOF_SIZE];
    size_t m = prim_items(c, P_PARTIAL);
    size_t n;
    int r = -1;
    switch (which) {
    case P_RSA_DEC: r = nox_rsa_decrypt(c->rsa, d->rsa_ct, d->rsa_ct_len, buf, sizeof buf, &n, err) ? -1 : 0; break;
    case P_RSA_ENC: return nox_rsa_encrypt(c->rsa_pub, d->x, 32, buf, sizeof buf, &n, err) ? -1 : 0;
    case P_ECDH: r = nox_ec_ecdh_x(&c->kms, &d->other, buf, err) ? -1 : 0; break;
    case P_KEYGEN: {
        nox_ec_privkey k;
        nox_ec_pubkey pub;
        r = nox_ec_key_generate(&k, err) || nox_ec_pubkey_of(&k, &pub, err) ? -1 : 0;
        if (!r) nox_ec_pubkey_compressed(&pub, buf);
        nox_ec_key_wipe(&k);
        break;
    }
    case P_GCM_DEC: r = nox_ecies_decrypt_x(d->x, d->nonce, d->ct, sizeof d->ct, buf, err) ? -1 : 0; break;
    case P_GCM_ENC: return gcm_encrypt_x(d->x, d->pt, sizeof d->pt, buf, sig, err);
    case P_SIGN: return nox_ec_sign(&c->wallet, d->digest, sig, err) ? -1 : 0;
    case P_PARTIAL:
        r = nox_th_partials(&c->kms, (const uint8_t(*)[NOX_TH_POINT_SIZE])d->ephs, m, d->scratch, proof, err) ? -1 : 0;
        OPENSSL_cleanse(d->scratch, m * NOX_TH_PAIR_SIZE);
        return r;
    case P_DLEQ_VERIFY:
        return nox_th_verify_partials(d->vk, (const uint8_t(*)[NOX_TH_PAIR_SIZE])d->pairs, m, d->proof, err) ? -1 : 0;
    case P_ENV_SEAL:
        return nox_aes_gcm_seal(d->env_key, d->env_iv, d->aad, sizeof d->aad, d->items, d->env_len, d->sealed, err)
                   ? -1
                   : 0;
    case P_ENV_OPEN:
        r = nox_aes_gcm_open(d->env_key, d->env_iv, d->aad, sizeof d->aad, d->sealed,
                             d->env_len + NOX_ECIES_TAG_SIZE, d->opened, err)
                ? -1
                : 0;
        OPENSSL_cleanse(d->opened, d->env_len);
        return r;
    default:
        if (which >= P_COMBINE && which < N_PRIMS) {
            size_t t = (size_t)(which - P_COMBINE + 1);
            r = nox_th_combine(d->idx, (const uint8_t(*)[NOX_TH_POINT_SIZE])d->partials, t, buf, err) ? -1 : 0;
        }
        break;
    }
    OPENSSL_cleanse(buf, sizeof buf); /* x, a plaintext, a combined secret */
    return r;
}

static void prim_data_wipe(prim_data *d) {
    if (d->items) OPENSSL_cleanse(d->items, d->env_len);
    free(d->ephs);
    free(d->pairs);
    free(d->scratch);
    free(d->items);
    free(d->sealed);
    free(d->opened);
    OPENSSL_cleanse(d, sizeof *d);
}

static int prim_data_init(const ctx *c, prim_data *d, nox_error *err) {
    memset(d, 0, sizeof *d);
    RAND_bytes(d->x, sizeof d->x);
    RAND_bytes(d->pt, sizeof d->pt);
    RAND_bytes(d->digest, sizeof d->digest);
    if (nox_rsa_encrypt(c->rsa_pub, d->x, 32, d->rsa_ct, sizeof d->rsa_ct, &d->rsa_ct_len, err) ||
        gcm_encrypt_x(d->x, d->pt, sizeof d->pt, d->ct, d->nonce, err) || nox_ec_key_generate(&d->k, err) ||
        nox_ec_pubkey_of(&d->k, &d->other, err))
        return -1;
    /* threshold: 2·B ephemeral keys, the KMS key's partials and proof for them, t partials of t random shares */
    size_t m = prim_items(c, P_PARTIAL);
    d->ephs = malloc(m * sizeof *d->ephs);
    d->pairs = malloc(m * sizeof *d->pairs);
    d->scratch = malloc(m * sizeof *d->scratch);
    if (!d->ephs || !d->pairs || !d->scratch) {
        nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t j = 0; j < m; j++) {
        nox_ec_privkey e;
        nox_ec_pubkey ep;
        int r = nox_ec_key_generate(&e, err) || nox_ec_pubkey_of(&e, &ep, err);
        nox_ec_key_wipe(&e);
        if (r) return -1;
        nox_ec_pubkey_compressed(&ep, d->ephs[j]);
    }
    nox_ec_pubkey kp;
    if (nox_ec_pubkey_of(&c->kms, &kp, err) ||
        nox_th_partials(&c->kms, (const uint8_t(*)[NOX_TH_POINT_SIZE])d->ephs, m, d->pairs, d->proof, err))
        return -1;
    nox_ec_pubkey_compressed(&kp, d->vk);
    for (unsigned j = 0; j < MAX_TH; j++) {
        nox_ec_privkey s;
        uint8_t one[1][NOX_TH_PAIR_SIZE], proof[NOX_TH_PROOF_SIZE];
        d->idx[j] = j + 1;
        int r = nox_ec_key_generate(&s, err) ||
                nox_th_partials(&s, (const uint8_t(*)[NOX_TH_POINT_SIZE])d->ephs, 1, one, proof, err);
        nox_ec_key_wipe(&s);
        if (r) return -1;
        memcpy(d->partials[j], one[0] + NOX_TH_POINT_SIZE, NOX_TH_POINT_SIZE);
    }
    d->env_len = (size_t)prim_items(c, P_ENV_SEAL) * NOX_DELEGATION_ITEM_SIZE;
    d->items = malloc(d->env_len);
    d->sealed = malloc(d->env_len + NOX_ECIES_TAG_SIZE);
    d->opened = malloc(d->env_len);
    if (!d->items || !d->sealed || !d->opened) {
        nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
        return -1;
    }
    memcpy(d->aad, NOX_DELEGATION_AAD_LABEL, sizeof NOX_DELEGATION_AAD_LABEL - 1); /* node 0, chain 0: any aad */
    RAND_bytes(d->items, (int)d->env_len);
    RAND_bytes(d->env_key, sizeof d->env_key);
    RAND_bytes(d->env_iv, sizeof d->env_iv);
    return nox_aes_gcm_seal(d->env_key, d->env_iv, d->aad, sizeof d->aad, d->items, d->env_len, d->sealed, err) ? -1
                                                                                                                  : 0;
}

static void *prim_thread(void *arg) {
    pworker *w = arg;
    prim_data d;
    w->failed = prim_data_init(w->c, &d, &w->err) || prim_once(w->c, w->primitive, &d, &w->err);
    if (w->start) pthread_barrier_wait(w->start);
    if (!w->failed) {
        double start = bench_now_ns(), deadline = start + w->seconds * 1e9, t = start, c0 = thread_cpu_ns();
        do {
            for (int i = 0; i < 8; i++)
                if (prim_once(w->c, w->primitive, &d, &w->err)) {
                    w->failed = 1;
                    break;
                }
            if (w->failed) break;
            w->count += 8;
            t = bench_now_ns();
        } while (t < deadline);
        w->elapsed_ns = t - start;
        w->runner_ns = t - start;
        w->cpu_ns = thread_cpu_ns() - c0;
    }
    prim_data_wipe(&d);
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
    double other;     /* CPU (in cores) that the rest of the machine used meanwhile, steal included (/proc/stat) */
    int contended;    /* cpu_share < 0.95, or other above 0.10 core (+ the tick granularity) */
    unsigned long long count;
} result;

/*
 * The machine's busy CPU time in seconds (/proc/stat: user + nice + system + irq + softirq + steal, all
 * CPUs), or -1. Minus this process's CPU time over the same interval, it is what other processes (and,
 * through steal, other guests) took: on a VM whose vCPUs share physical cores, a neighbour slows our
 * threads without taking their core, which cpu_share cannot see.
 */
static double machine_busy_s(void) {
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                       &v[6], &v[7])
              : 0;
    if (f) fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (n != 8 || hz <= 0) return -1;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)hz; /* not idle (3), not iowait (4) */
}

static double process_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_workers(pworker *ws, unsigned n, void *(*fn)(void *), result *r) {
    double busy0 = machine_busy_s(), own0 = process_cpu_s(), wall0 = bench_now_s();
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
    double busy1 = machine_busy_s(), own1 = process_cpu_s(), wall1 = bench_now_s();
    memset(r, 0, sizeof *r);
    r->cpu_share = 1;
    r->other = busy0 >= 0 && busy1 >= 0 && wall1 > wall0 ? (busy1 - busy0 - (own1 - own0)) / (wall1 - wall0) : -1;
    if (r->other < 0 && busy0 >= 0 && busy1 >= 0) r->other = 0; /* tick granularity */
    long hz = sysconf(_SC_CLK_TCK);
    double tolerance = 0.10 + (hz > 0 && wall1 > wall0 ? 3.0 / ((double)hz * (wall1 - wall0)) : 0);
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
    r->contended = r->cpu_share < 0.95 || r->other > tolerance;
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
            "                          [--threshold LIST | --legacy] [--batch B] [--csv FILE|-] [--plot DIR]\n"
            "  --op NAMES    protocol operators, comma-separated (default: every one the config enables)\n"
            "  --type T      one type (default: uint64 and uint256)\n"
            "  --seconds S   measuring time per (pair, mode, thread count) (default 0.5)\n"
            "  --floor-seconds S  measuring time per floor primitive and thread count (default: --seconds)\n"
            "  --threads N   the multi-thread run (default nproc); 1 thread is always measured\n"
            "  --threshold LIST  delegation modes, comma-separated t values (default 1,2): 0 = legacy (one RSA\n"
            "                per operand, spec §4.2), t >= 1 = t-of-(2t-1) threshold delegation (t envelopes\n"
            "                per batch); e.g. 0,1,2 for before/after in one run\n"
            "  --legacy      the same as --threshold 0\n"
            "  --batch B     messages per Runner batch in the threshold modes (default 32, 1..%d)\n",
            MAX_BATCH);
}

/* Parses "0,1,2" into t[0..*n) (distinct, each 0..MAX_TH); -1 with a message when it is not that. */
static int parse_thresholds(const char *text, unsigned *t, unsigned *n) {
    *n = 0;
    for (const char *q = text; *q;) {
        char *end;
        unsigned long v = strtoul(q, &end, 10);
        if (end == q || (*end && *end != ',') || v > MAX_TH || *n == MAX_MODES) {
            fprintf(stderr, "nox-bench: --threshold: %s: not up to %d comma-separated numbers 0..%d\n", text,
                    MAX_MODES, MAX_TH);
            return -1;
        }
        for (unsigned i = 0; i < *n; i++)
            if (t[i] == v) {
                fprintf(stderr, "nox-bench: --threshold: %lu is repeated\n", v);
                return -1;
            }
        t[(*n)++] = (unsigned)v;
        q = *end ? end + 1 : end;
    }
    if (!*n) fprintf(stderr, "nox-bench: --threshold: no threshold given\n");
    return *n ? 0 : -1;
}

static void mode_label(const mode *md, char *out, size_t cap) {
    if (md->t) snprintf(out, cap, "%u-of-%u", md->t, md->n);
    else snprintf(out, cap, "legacy");
}

/* The Runner's floor per message for an operator with i inputs and o outputs (see the top comment). */
static double runner_floor(const double *fl, const mode *md, unsigned batch, unsigned i, unsigned o) {
    double out = o * (fl[P_KEYGEN] + fl[P_ECDH] + fl[P_GCM_ENC]) + 2 * fl[P_SIGN];
    if (!md->t) return i * (fl[P_RSA_DEC] + fl[P_GCM_DEC]) + out;
    return md->t * fl[P_RSA_DEC] / batch +
           i * (md->t * fl[P_ENV_OPEN] + fl[P_COMBINE + md->t - 1] + fl[P_GCM_DEC]) + out;
}

/* The KMS's floor per message: all t nodes' work. */
static double kms_floor(const double *fl, const mode *md, unsigned batch, unsigned i) {
    if (!md->t) return i * (fl[P_ECDH] + fl[P_RSA_ENC]);
    return md->t * (fl[P_RSA_ENC] / batch + i * (fl[P_PARTIAL] + fl[P_ENV_SEAL]));
}

int bench_pipeline_main(int argc, char **argv) {
    const char *config = getenv("NOX_OPERATORS_CONFIG");
    if (!config || !*config) config = "config/operators.yaml";
    const char *only_op = NULL, *csv_path = NULL, *plot_dir = NULL;
    int only_type = -1;
    double seconds = 0.5, floor_seconds = -1, threads_d = bench_nproc(), batch_d = 32;
    unsigned th[MAX_MODES] = {1, 2}, n_modes = 2;
    nox_error err = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--legacy")) {
            th[0] = 0;
            n_modes = 1;
            continue;
        }
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
        } else if (!strcmp(a, "--batch")) {
            if (bench_parse_double("--batch", argv[++i], 1, MAX_BATCH, &batch_d) || batch_d != (unsigned)batch_d)
                return 2;
        } else if (!strcmp(a, "--threshold")) {
            if (parse_thresholds(argv[++i], th, &n_modes)) return 2;
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
    c.batch = (unsigned)batch_d;
    int rc = 1;
    FILE *csv = NULL;
    pworker *ws = calloc(MAX_THREADS, sizeof *ws);
    pair *p = calloc(1, sizeof *p);
    mode *modes = calloc(n_modes, sizeof *modes);
    c.engine = nox_engine_new();
    if (!ws || !p || !modes || !c.engine || nox_engine_load_config(c.engine, config, &err)) {
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
    /* The KMS key split t-of-(2t−1) for each threshold mode: P stays the KMS public key. */
    int any_threshold = 0;
    for (unsigned m = 0; m < n_modes; m++) {
        modes[m].t = th[m];
        if (!th[m]) continue;
        any_threshold = 1;
        modes[m].n = 2 * th[m] - 1;
        if (nox_th_deal(&c.kms, modes[m].t, modes[m].n, &modes[m].group, modes[m].shares, &err)) {
            fprintf(stderr, "nox-bench: set-up: %u-of-%u group: %s\n", modes[m].t, modes[m].n, err.message);
            goto out;
        }
    }
    if (csv_path && !(csv = bench_csv_open(csv_path))) goto out;
    FILE *o = bench_table_stream(csv);
    if (csv)
        fprintf(csv, "kind,op,type,n_in,n_out,threads,us_per_op,ops_per_s,kms_us_per_op,kms_ops_per_s,"
                     "with_kms_ops_per_s,floor_us,kms_floor_us,ratio,meets_target,count,cpu_share,"
                     "threshold,batch,other_cpu\n");

    unsigned counts[2] = {1, threads};
    int n_counts = threads > 1 ? 2 : 1;

    /* The floor: the legacy primitives, and the threshold ones (a combine per threshold) when a mode needs them. */
    int prims[N_PRIMS], n_prims = 0;
    for (int q = 0; q < N_LEGACY_PRIMS; q++) prims[n_prims++] = q;
    if (any_threshold) {
        for (int q = P_PARTIAL; q < P_COMBINE; q++) prims[n_prims++] = q;
        for (unsigned m = 0; m < n_modes; m++)
            if (modes[m].t) prims[n_prims++] = P_COMBINE + (int)modes[m].t - 1;
    }
    double floor_ns[2][N_PRIMS];
    memset(floor_ns, 0, sizeof floor_ns);
    int floor_contended = 0;
    fprintf(o, "# nox-bench pipeline: crypto floor, each primitive alone through the core's own calls, "
               "mean over %.3g s; envelope rows: per item of a %u-item envelope\n",
            floor_seconds, 2 * c.batch);
    fprintf(o, "%-34s", "primitive");
    for (int t = 0; t < n_counts; t++) fprintf(o, "  %4u thr: us/op  ops/s (all)", counts[t]);
    fputc('\n', o);
    for (int pi = 0; pi < n_prims; pi++) {
        int q = prims[pi];
        char name[64], title[64];
        prim_name(q, name, sizeof name);
        prim_title(q, title, sizeof title);
        unsigned items = prim_items(&c, q);
        fprintf(o, "%-34s", title);
        for (int t = 0; t < n_counts; t++) {
            for (unsigned w = 0; w < counts[t]; w++) {
                ws[w].c = &c;
                ws[w].p = NULL;
                ws[w].md = NULL;
                ws[w].primitive = q;
                ws[w].seconds = floor_seconds;
            }
            result r;
            if (run_workers(ws, counts[t], prim_thread, &r)) goto out;
            floor_ns[t][q] = r.ns / items;
            floor_contended += r.contended;
            fprintf(o, "  %15.2f %12.0f%s", r.ns / items / 1e3, r.agg * items, r.contended ? "*" : " ");
            if (csv) {
                fprintf(csv, "primitive,%s,,,,%u,%.3f,%.1f,,,,,,,,%llu,%.3f,", name, counts[t], r.ns / items / 1e3,
                        r.agg * items, r.count * items, r.cpu_share);
                if (q >= P_COMBINE) fprintf(csv, "%d,", q - P_COMBINE + 1);
                else if (items > 1) fprintf(csv, ",%u", c.batch);
                else fputs(",", csv);
                fprintf(csv, ",%.3f\n", r.other);
            }
        }
        fputc('\n', o);
        fflush(o);
    }
    if (any_threshold) { /* derived: one RSA per envelope, shared by the B messages of a batch */
        fprintf(o, "%-34s", "RSA-2048 OAEP decrypt / B (derived)");
        for (int t = 0; t < n_counts; t++) fprintf(o, "  %15.2f %12s", floor_ns[t][P_RSA_DEC] / c.batch / 1e3, "");
        fprintf(o, "\n%-34s", "RSA-2048 OAEP encrypt / B (derived)");
        for (int t = 0; t < n_counts; t++) fprintf(o, "  %15.2f %12s", floor_ns[t][P_RSA_ENC] / c.batch / 1e3, "");
        fputc('\n', o);
    }

    /* The pipeline. */
    fprintf(o,
            "# nox-bench pipeline: the Runner's per-message work (parse, resolve, 2 EIP-712 signatures, operand "
            "decryption, eval, tag + ECIES encrypt per output), no network; one event per message; %.3g s per pair, "
            "mode and thread count; batch B = %u (threshold modes)\n"
            "# operand decryption: legacy = per input RSA unwrap + HKDF/GCM; t-of-n = per batch t x (RSA unwrap + "
            "envelope open), per input combine of t partials + HKDF/GCM\n"
            "# runner us/msg: per thread; msgs/s: all threads; out = o*(keygen + ECDH + GCM enc) + 2*sign; "
            "floor: legacy i*(RSA dec + GCM dec) + out; t-of-n t*RSA dec/B + i*(t*env open/item + combine_t + GCM dec) "
            "+ out; ratio target <= %.2f\n"
            "# KMS (reported apart, all t nodes summed): legacy per input ECDH + RSA-OAEP encrypt; t-of-n per batch "
            "and node: per item partial + DLEQ proof, one AES-GCM, one RSA-OAEP encrypt\n",
            seconds, c.batch, TARGET_RATIO);
    fprintf(o, "%-9s %-8s %3s %-7s %4s %10s %10s %10s %7s %14s %10s %10s %5s %5s\n", "op", "type", "i/o", "mode",
            "thr", "runner us", "msgs/s", "floor us", "ratio", "target", "kms us/msg", "+kms msg/s", "cpu%", "oth%");
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
            for (unsigned m = 0; m < n_modes; m++) {
                const mode *md = &modes[m];
                char ml[16];
                mode_label(md, ml, sizeof ml);
                unsigned batch = md->t ? c.batch : 1;
                double per_thread[2] = {0}, agg[2] = {0};
                for (int t = 0; t < n_counts; t++) {
                    for (unsigned w = 0; w < counts[t]; w++) {
                        ws[w].c = &c;
                        ws[w].p = p;
                        ws[w].md = md;
                        ws[w].seconds = seconds;
                    }
                    result r;
                    if (run_workers(ws, counts[t], pipeline_thread, &r)) {
                        fprintf(stderr, "nox-bench: %s %s %s failed\n", nox_op_name(op), nox_type_name(code), ml);
                        goto out;
                    }
                    double floor = runner_floor(floor_ns[t], md, c.batch, p->n_in, p->n_out);
                    double kfloor = kms_floor(floor_ns[t], md, c.batch, p->n_in);
                    double ratio = r.ns / floor;
                    int ok = ratio <= TARGET_RATIO;
                    if (!ok) missed++;
                    per_thread[t] = r.ns;
                    agg[t] = r.agg;
                    char io[8];
                    snprintf(io, sizeof io, "%u/%u", p->n_in, p->n_out);
                    fprintf(o, "%-9s %-8s %3s %-7s %4u %10.1f %10.0f %10.1f %7.3f %14s %10.1f %10.0f %5.0f %5.0f%s\n",
                            nox_op_name(op), nox_type_name(code), io, ml, counts[t], r.ns / 1e3, r.agg, floor / 1e3,
                            ratio, ok ? "<=1.15 ok" : "<=1.15 MISSED", r.kms_ns / 1e3, r.both_agg,
                            100 * r.cpu_share, 100 * r.other, r.contended ? " contended" : "");
                    contended += r.contended;
                    fflush(o);
                    if (csv)
                        fprintf(csv,
                                "pipeline,%s,%s,%u,%u,%u,%.3f,%.1f,%.3f,%.1f,%.1f,%.3f,%.3f,%.4f,%s,%llu,%.3f,"
                                "%u,%u,%.3f\n",
                                nox_op_name(op), nox_type_name(code), p->n_in, p->n_out, counts[t], r.ns / 1e3, r.agg,
                                r.kms_ns / 1e3, r.kms_agg, r.both_agg, floor / 1e3, kfloor / 1e3, ratio,
                                ok ? "yes" : "no", r.count, r.cpu_share, md->t, batch, r.other);
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
                    char label[80];
                    if (n_modes > 1)
                        snprintf(label, sizeof label, "%s %s %s", nox_op_name(op), nox_type_name(code), ml);
                    else snprintf(label, sizeof label, "%s %s", nox_op_name(op), nox_type_name(code));
                    labels[n_plot] = strdup(label);
                    plot1[n_plot] = agg[0];
                    plotN[n_plot] = agg[n_counts - 1];
                    plot_us[n_plot] = per_thread[0] / 1e3;
                    plot_floor[n_plot++] = runner_floor(floor_ns[0], md, c.batch, p->n_in, p->n_out) / 1e3;
                }
            }
        }
    }
    fprintf(o, "# %d pairs measured in %u mode(s); %d (pair, mode, thread count) rows missed the ratio target\n", pairs,
            n_modes, missed);
    if (contended || floor_contended)
        fprintf(o, "# WARNING: %d row(s) and %d floor measurement(s) (marked *) were contended: a thread got less than "
                   "95 %% of a core (cpu%%), or other processes used more than 0.1 core meanwhile (oth%%: on a VM "
                   "whose vCPUs share physical cores that slows this one without taking it); re-run them on an "
                   "idle machine\n",
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
    if (modes) {
        for (unsigned m = 0; m < n_modes; m++)
            for (unsigned j = 0; j < NOX_TH_MAX_NODES; j++) nox_ec_key_wipe(&modes[m].shares[j]);
        free(modes);
    }
    nox_ec_key_wipe(&c.kms);
    nox_ec_key_wipe(&c.wallet);
    nox_rsa_free(c.rsa);
    nox_rsa_free(c.rsa_pub);
    nox_engine_free(c.engine);
    return rc;
}
