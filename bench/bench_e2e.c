/*
 * nox-bench e2e --devnet: TransactionMessages through a running devnet
 * (scripts/devnet.sh up), as the Ingestor would queue them.
 *
 * Set-up (not timed): a pool of input handles per input type, encrypted by the
 * Gateway (POST /v0/secrets, libcurl); N one-event TransactionMessages (spec §6,
 * nox_message_to_json) drawn from --mix, each with a random transactionHash
 * and fresh random output handles of the declared types (spec §2).
 *
 * Each message is signed as the Ingestor signs (nox/queue_signature.h: headers
 * Nox-Signature and Nox-Signer) with the devnet Ingestor's wallet (NOX_INGESTOR_KEY
 * of the env file, or --key FILE): the Runners compute nothing else. It
 * publishes with the Ingestor's NATS credentials (NOX_INGESTOR_NATS_CREDENTIALS,
 * or --nats-credentials FILE): only the Ingestor may publish jobs. Signing
 * is set-up, not timed (bench_queue_sig measures it).
 *
 * Timed: a publisher thread sends every message to JetStream (subject
 * nox_ingestor.<txHash>, header Nats-Msg-Id = nox_message_id, asynchronous
 * publish) as fast as it can or at --rate R; a poller thread (one keep-alive
 * connection) asks GET {gateway}/v0/handles/{h}/status for the last output of
 * each message (the Runner stores a message's results in one call, all or
 * nothing). Scheduling of the poller: only the --poll-window oldest pending
 * handles are candidates (JetStream delivers in order, so results are stored
 * roughly in queue order); a handle is first asked about 1 ms after its
 * publication, then again no sooner than max(--poll-min-ms, 5 % of its age)
 * after the previous answer, the most overdue first, at most --poll-rate
 * requests per second; when a handle is found stored, every older pending one
 * is asked about next.
 *
 * Latency = the time of the "stored" answer - the time of the publish call: an
 * upper bound; the handle was stored after the previous "pending" answer was
 * requested, so each sample carries its own resolution (reported as p50/p99).
 * Throughput = stored messages per second over the steady part of the run (the
 * 10th to the 90th percentile of the store times), and over the whole run.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "nats_util.h"
#include "nox/engine.h"
#include "nox/handle.h"
#include "nox/hex.h"
#include "nox/message.h"
#include "nox/operations.h"
#include "nox/queue_signature.h"
#include "nox/types.h"
#include "nox/value.h"

#define TARGET_THROUGHPUT 1200.0 /* binary ops/s sustained, every service on the 2 cores */
#define TARGET_P99_MS 50.0       /* at half that load */

enum { MAX_MIX = 32, MAXIO = 3 };

typedef struct mix_entry {
    const nox_operation *proto;
    uint8_t type;
    unsigned weight, n_in, n_out;
    uint8_t in_types[NOX_MAX_ARITY], out_types[NOX_MAX_ARITY];
    unsigned long long stored; /* messages of this entry stored */
} mix_entry;

typedef struct input_pool {
    uint8_t type;
    size_t n;
    nox_handle *h;
} input_pool;

typedef struct msg {
    char *json;
    char subject[96];
    char id[NOX_MESSAGE_ID_LEN + 1];
    char sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1]; /* Nox-Signature, Nox-Signer */
    char status_url[640];
    int entry;
    /* timing (bench_now_s) */
    double t_pub, t_next, t_prev_req, t_stored, resolution;
    int stored;
    int tracked; /* latency and throughput are measured on the tracked messages (--sample) */
} msg;

typedef struct run {
    msg *msgs;
    size_t n;
    double rate; /* 0: as fast as possible */
    double poll_min_s, poll_frac, poll_rate, timeout_s;
    size_t window; /* only the oldest `window` pending handles are polled */
    size_t sample; /* every sample-th message is tracked (and the last one) */
    _Atomic size_t tracked_stored, verified;
    _Atomic size_t runner_seen; /* the Runner's stored result sets since the run began (progress only) */
    natsConnection *nc;
    jsCtx *js;
    _Atomic size_t published;
    _Atomic size_t stored;
    _Atomic int publisher_done;
    _Atomic unsigned long long polls;
    _Atomic int pub_errors;
    _Atomic int stop;
    double t_first_pub, t_last_pub;
    char fatal[1200];
} run;

/* ---- HTTP (libcurl) ------------------------------------------------------------------ */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg) {
    buf *b = arg;
    size_t len = size * nmemb;
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->n + len + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = 0;
    return len;
}

/* The devnet's CA (NOX_CA_FILE of its env) for its https:// services; "" = plaintext or the system's store. */
static char bench_ca[1024];

/* One request on a keep-alive handle; the parsed JSON answer in *reply (NULL when not JSON). -1 on transport failure. */
static int http_json(CURL *h, const char *url, const char *post_body, long *status, json_t **reply, char *why,
                     size_t cap) {
    buf b = {0};
    struct curl_slist *hdr = NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (bench_ca[0]) curl_easy_setopt(h, CURLOPT_CAINFO, bench_ca);
    if (post_body) {
        hdr = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post_body);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        snprintf(why, cap, "%s: %s", url, curl_easy_strerror(rc));
        free(b.p);
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    *reply = b.p ? json_loads(b.p, 0, NULL) : NULL;
    if (*status != 200) snprintf(why, cap, "%s: HTTP %ld: %.300s", url, *status, b.p ? b.p : "");
    free(b.p);
    return 0;
}

/* POST /v0/secrets of a random value of `type`; the new handle in *out. */
static int make_secret(CURL *h, const char *gateway, uint32_t chain, uint8_t type, uint64_t *rng, nox_handle *out,
                       char *why, size_t cap) {
    nox_value v;
    nox_value_zero(&v, type);
    unsigned bits = nox_type_bits(type), nl = nox_type_limbs(type);
    for (unsigned i = 0; i < nl; i++) v.limb[i] = bench_rng(rng);
    if (bits % 64) v.limb[nl - 1] &= ((uint64_t)1 << (bits % 64)) - 1;
    /* keep amounts small so that transfers mostly succeed (either way the work is the same) */
    if (type != NOX_TYPE_BOOL && bits > 32) {
        for (unsigned i = 1; i < nl; i++) v.limb[i] = 0;
        v.limb[0] &= 0xffffffffu;
    }
    char hex[2 * 64 + 3], url[1024], body[1024];
    nox_error err = {0};
    if (nox_value_format_hex(&v, hex, sizeof hex, &err)) {
        snprintf(why, cap, "%s", err.message);
        return -1;
    }
    snprintf(body, sizeof body,
             "{\"value\":\"%s\",\"solidityType\":\"%s\",\"owner\":\"0x%s\",\"applicationContract\":\"0x%s\","
             "\"chainId\":%u}",
             hex, nox_type_name(type), "1111111111111111111111111111111111111111",
             "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", chain);
    snprintf(url, sizeof url, "%s/v0/secrets", gateway);
    long status = 0;
    json_t *reply = NULL;
    if (http_json(h, url, body, &status, &reply, why, cap)) return -1;
    const char *ht = json_string_value(json_object_get(reply, "handle"));
    int rc = -1;
    if (status == 200 && ht && !nox_handle_parse(out, ht, strlen(ht), &err)) rc = 0;
    else if (status == 200) snprintf(why, cap, "POST /v0/secrets: no handle in the answer");
    json_decref(reply);
    return rc;
}

/* ---- publisher ---------------------------------------------------------------------- */

static void on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure) {
    (void)js;
    (void)pae;
    run *r = closure;
    atomic_fetch_add(&r->pub_errors, 1);
}

static void sleep_until(double t_s) {
    for (;;) {
        double d = t_s - bench_now_s();
        if (d <= 0) return;
        struct timespec ts = {.tv_sec = (time_t)d, .tv_nsec = (long)((d - floor(d)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static void *publisher(void *arg) {
    run *r = arg;
    double t0 = bench_now_s();
    r->t_first_pub = t0;
    for (size_t i = 0; i < r->n && !atomic_load(&r->stop); i++) {
        msg *m = &r->msgs[i];
        if (r->rate > 0) sleep_until(t0 + (double)i / r->rate);
        natsMsg *nm = NULL;
        natsStatus s = natsMsg_Create(&nm, m->subject, NULL, m->json, (int)strlen(m->json));
        if (s == NATS_OK) s = natsMsgHeader_Set(nm, "Nats-Msg-Id", m->id);
        if (s == NATS_OK) s = natsMsgHeader_Set(nm, NOX_QUEUE_HEADER_SIGNATURE, m->sig);
        if (s == NATS_OK) s = natsMsgHeader_Set(nm, NOX_QUEUE_HEADER_SIGNER, m->signer);
        m->t_pub = bench_now_s();
        m->t_prev_req = m->t_pub;
        m->t_next = m->t_pub + 0.001;
        if (s == NATS_OK) s = js_PublishMsgAsync(r->js, &nm, NULL);
        natsMsg_Destroy(nm); /* NULL after a successful publish */
        if (s != NATS_OK) {
            char why[256];
            snprintf(r->fatal, sizeof r->fatal, "publish: %s", nox_nats_why(s, 0, why, sizeof why));
            atomic_store(&r->stop, 1);
            break;
        }
        atomic_store(&r->published, i + 1);
    }
    r->t_last_pub = bench_now_s();
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    natsStatus s = js_PublishAsyncComplete(r->js, &po);
    if (s != NATS_OK && !r->fatal[0]) {
        char why[256];
        snprintf(r->fatal, sizeof r->fatal, "waiting for JetStream's acks: %s", nox_nats_why(s, 0, why, sizeof why));
    }
    atomic_store(&r->publisher_done, 1);
    return NULL;
}

/* ---- poller ------------------------------------------------------------------------- */

static void *poller(void *arg) {
    run *r = arg;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(r->fatal, sizeof r->fatal, "curl_easy_init failed");
        atomic_store(&r->stop, 1);
        return NULL;
    }
    size_t head = 0; /* every message before head is stored */
    double min_gap = r->poll_rate > 0 ? 1.0 / r->poll_rate : 0, last_req = 0, deadline = 0;
    char why[1024];
    while (!atomic_load(&r->stop)) {
        size_t pub = atomic_load(&r->published);
        int pub_done = atomic_load(&r->publisher_done);
        while (head < pub && (r->msgs[head].stored || !r->msgs[head].tracked)) head++;
        if (pub_done && deadline == 0) deadline = r->t_last_pub + r->timeout_s;
        if (pub_done && head >= pub) break;
        if (deadline > 0 && bench_now_s() > deadline) break;
        /* the most overdue of the `window` oldest pending handles */
        double now = bench_now_s(), best_t = INFINITY;
        size_t best = SIZE_MAX, seen = 0;
        for (size_t i = head; i < pub && seen < r->window; i++) {
            if (r->msgs[i].stored || !r->msgs[i].tracked) continue;
            seen++;
            if (r->msgs[i].t_next < best_t) {
                best_t = r->msgs[i].t_next;
                best = i;
            }
        }
        double wake = best == SIZE_MAX ? now + 0.0005 : best_t;
        if (last_req + min_gap > wake) wake = last_req + min_gap;
        if (wake > now) {
            sleep_until(wake < now + 0.002 ? wake : now + 0.002);
            continue;
        }
        msg *m = &r->msgs[best];
        long status = 0;
        json_t *reply = NULL;
        double t_req = bench_now_s();
        last_req = t_req;
        int bad = http_json(h, m->status_url, NULL, &status, &reply, why, sizeof why);
        double t_resp = bench_now_s();
        atomic_fetch_add(&r->polls, 1);
        const char *st = json_string_value(json_object_get(reply, "status"));
        if (bad || status != 200 || !st) {
            snprintf(r->fatal, sizeof r->fatal, "GET status: %s", bad || status != 200 ? why : "no status");
            json_decref(reply);
            atomic_store(&r->stop, 1);
            break;
        }
        if (!strcmp(st, "stored")) {
            m->stored = 1;
            m->t_stored = t_resp;
            m->resolution = t_resp - m->t_prev_req;
            atomic_fetch_add(&r->stored, 1);
            atomic_fetch_add(&r->tracked_stored, 1);
            for (size_t i = head; i < best; i++) /* older ones are probably stored too: ask next */
                if (!r->msgs[i].stored && r->msgs[i].tracked) r->msgs[i].t_next = 0;
        } else {
            m->t_prev_req = t_req;
            double age = t_resp - m->t_pub, gap = age * r->poll_frac;
            m->t_next = t_resp + (gap > r->poll_min_s ? gap : r->poll_min_s);
        }
        json_decref(reply);
    }
    /* Not timed: every untracked message must be stored too. */
    for (size_t i = 0; i < r->n && !atomic_load(&r->stop) && !r->fatal[0]; i++) {
        msg *m = &r->msgs[i];
        if (m->tracked || i >= atomic_load(&r->published)) continue;
        while (!atomic_load(&r->stop)) {
            long status = 0;
            json_t *reply = NULL;
            if (http_json(h, m->status_url, NULL, &status, &reply, why, sizeof why) || status != 200) {
                snprintf(r->fatal, sizeof r->fatal, "GET status: %s", why);
                json_decref(reply);
                break;
            }
            const char *st = json_string_value(json_object_get(reply, "status"));
            int ok = st && !strcmp(st, "stored");
            json_decref(reply);
            if (ok) {
                m->stored = 1;
                atomic_fetch_add(&r->stored, 1);
                break;
            }
            if (deadline > 0 && bench_now_s() > deadline) break;
            sleep_until(bench_now_s() + 0.01);
        }
        if (deadline > 0 && bench_now_s() > deadline) break;
    }
    curl_easy_cleanup(h);
    return NULL;
}

/* nox_runner_messages_ok_total from the Runner's /metrics; -1 when unavailable. */
static double runner_ok_total(CURL *h, const char *url) {
    buf b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (bench_ca[0]) curl_easy_setopt(h, CURLOPT_CAINFO, bench_ca);
    double v = -1;
    if (curl_easy_perform(h) == CURLE_OK && b.p) {
        const char *k = "\nnox_runner_messages_ok_total ";
        const char *p = strstr(b.p, k);
        if (p) v = strtod(p + strlen(k), NULL);
    }
    free(b.p);
    return v;
}

/* ---- options, set-up, report --------------------------------------------------------- */

static void usage(void) {
    fprintf(stderr,
            "usage: nox-bench e2e --devnet [--env FILE] [--messages N] [--mix op[/type][:weight],...] [--type T]\n"
            "                     [--rate R] [--pool P] [--poll-rate Q] [--poll-min-ms M] [--poll-window W]\n"
            "                     [--sample K] [--timeout S]\n"
            "                     [--config FILE] [--key FILE] [--nats-credentials FILE] [--csv FILE|-] [--plot DIR]\n"
            "  --env FILE       the devnet's env file (default $NOX_DEVNET_DIR/env, else build/devnet/env)\n"
            "  --key FILE       the Ingestor wallet that signs the messages (default NOX_INGESTOR_KEY of the env)\n"
            "  --nats-credentials FILE  the NATS credentials it publishes with: the Ingestor's, as only it may\n"
            "                   publish jobs (default NOX_INGESTOR_NATS_CREDENTIALS of the env)\n"
            "  --messages N     TransactionMessages to publish, one event each (default 6000)\n"
            "  --mix SPEC       operators and weights, e.g. add:4,transfer:1 or add/uint256:1 (default add:1)\n"
            "  --type T         the type of mix entries without /type (default uint64)\n"
            "  --rate R         publish R messages per second (default: as fast as possible)\n"
            "  --pool P         input handles per input type, made with POST /v0/secrets (default 64)\n"
            "  --poll-rate Q    at most Q status requests per second (default 1000 with --rate, 200 at full load:\n"
            "                   each request is Gateway and PostgreSQL work taken from the measured system)\n"
            "  --poll-min-ms M  shortest re-poll interval of one handle (default 2)\n"
            "  --poll-window W  poll only the W oldest pending tracked handles (default 128)\n"
            "  --sample K       track every K-th message (default: 1 when --rate R <= poll-rate/4, else enough\n"
            "                   that the tracked rate stays under poll-rate/4; 8 at full load); the others are\n"
            "                   only checked to be stored, after the run\n"
            "  --timeout S      give up S seconds after the last publish (default 120)\n");
}

/* Reads KEY=VALUE / export KEY=VALUE lines; the value of `key` into out. */
static int env_get(const char *path, const char *key, char *out, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int found = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        if (!strncmp(p, "export ", 7)) p += 7;
        if (strncmp(p, key, kl) || p[kl] != '=') continue;
        p += kl + 1;
        p[strcspn(p, "\r\n")] = 0;
        size_t n = strlen(p);
        if (n >= 2 && (p[0] == '"' || p[0] == '\'') && p[n - 1] == p[0]) {
            p[n - 1] = 0;
            p++;
        }
        snprintf(out, cap, "%s", p);
        found = 0;
    }
    fclose(f);
    return found;
}

static int parse_mix(const nox_engine *e, const char *spec, uint8_t default_type, mix_entry *mix, int *n_mix) {
    char *copy = strdup(spec), *save = NULL;
    int n = 0, rc = 0;
    nox_error err = {0};
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_MIX) {
            fprintf(stderr, "nox-bench: --mix: at most %d entries\n", MAX_MIX);
            rc = -1;
            break;
        }
        mix_entry *m = &mix[n];
        memset(m, 0, sizeof *m);
        m->weight = 1;
        m->type = default_type;
        char *colon = strchr(tok, ':'), *slash = strchr(tok, '/');
        if (colon) {
            *colon = 0;
            char *end;
            long w = strtol(colon + 1, &end, 10);
            if (*end || w < 1 || w > 1000000) {
                fprintf(stderr, "nox-bench: --mix: bad weight '%s'\n", colon + 1);
                rc = -1;
                break;
            }
            m->weight = (unsigned)w;
        }
        if (slash) {
            *slash = 0;
            if (nox_type_from_name(slash + 1, &m->type, &err)) {
                fprintf(stderr, "nox-bench: --mix: %s\n", err.message);
                rc = -1;
                break;
            }
        }
        m->proto = nox_operation_by_name(tok);
        const nox_op *op = nox_engine_find(e, tok);
        nox_call call;
        if (!m->proto || !op || !strcmp(tok, "plaintext_to_encrypted")) {
            fprintf(stderr, "nox-bench: --mix: '%s' is not a protocol operator enabled in the config\n", tok);
            rc = -1;
        } else if (nox_op_instantiate(op, m->type, m->in_types, &err) ||
                   nox_op_resolve(op, m->in_types, nox_op_n_inputs(op), NULL, nox_op_n_outputs(op), &call, &err)) {
            fprintf(stderr, "nox-bench: --mix: %s on %s: %s\n", tok, nox_type_name(m->type), err.message);
            rc = -1;
        } else {
            m->n_in = nox_op_n_inputs(op);
            m->n_out = nox_op_n_outputs(op);
            memcpy(m->out_types, call.out_types, m->n_out);
            n++;
        }
    }
    free(copy);
    if (!rc && n == 0) {
        fprintf(stderr, "nox-bench: --mix is empty\n");
        rc = -1;
    }
    *n_mix = n;
    return rc;
}

static void progress(const run *r, double t0, int final) {
    static double last_line;
    int tty = isatty(2);
    if (!tty && !final && bench_now_s() - last_line < 2) return;
    last_line = bench_now_s();
    /* While polling, only every K-th message is asked for: estimate from the tracked ones, or take
     * the Runner's own count when it is known, whichever is higher (the final line is exact). */
    size_t pub = atomic_load(&r->published), st = atomic_load(&r->stored);
    size_t est = atomic_load(&r->tracked_stored) * r->sample, seen = atomic_load(&r->runner_seen);
    if (!final) {
        if (est > pub) est = pub;
        if (seen > pub) seen = pub;
        if (est > st) st = est;
        if (seen > st) st = seen;
    }
    double el = bench_now_s() - t0;
    int width = 30, done = r->n ? (int)((double)st / (double)r->n * width) : 0;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < done ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r[%s] %3.0f%%  stored %zu/%zu  published %zu  %.0f stored/s  %.1f s%s", bar,
            r->n ? 100.0 * (double)st / (double)r->n : 0, st, r->n, pub, el > 0 ? (double)st / el : 0, el,
            final || !tty ? "\n" : "   ");
}

int bench_e2e_main(int argc, char **argv) {
    const char *env_path = NULL, *csv_path = NULL, *plot_dir = NULL, *mix_spec = "add:1", *config = NULL,
               *key_path = NULL, *creds_path = NULL;
    double messages = 6000, rate = 0, pool_d = 64, poll_rate = 0, poll_min_ms = 2, timeout = 120, window = 128, sample = 0;
    uint8_t default_type = NOX_TYPE_UINT64;
    int devnet = 0;
    nox_error err = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--devnet")) {
            devnet = 1;
            continue;
        }
        if (!strcmp(a, "--help") || i + 1 >= argc) {
            usage();
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--env")) env_path = v;
        else if (!strcmp(a, "--csv")) csv_path = v;
        else if (!strcmp(a, "--plot")) plot_dir = v;
        else if (!strcmp(a, "--mix")) mix_spec = v;
        else if (!strcmp(a, "--config")) config = v;
        else if (!strcmp(a, "--key")) key_path = v;
        else if (!strcmp(a, "--nats-credentials")) creds_path = v;
        else if (!strcmp(a, "--type")) {
            if (nox_type_from_name(v, &default_type, &err)) {
                fprintf(stderr, "nox-bench: %s\n", err.message);
                return 2;
            }
        } else if (!strcmp(a, "--messages")) {
            if (bench_parse_double("--messages", v, 1, 10000000, &messages) || messages != floor(messages)) return 2;
        } else if (!strcmp(a, "--rate")) {
            if (bench_parse_double("--rate", v, 0.01, 1e6, &rate)) return 2;
        } else if (!strcmp(a, "--pool")) {
            if (bench_parse_double("--pool", v, 1, 100000, &pool_d) || pool_d != floor(pool_d)) return 2;
        } else if (!strcmp(a, "--poll-rate")) {
            if (bench_parse_double("--poll-rate", v, 1, 1e6, &poll_rate)) return 2;
        } else if (!strcmp(a, "--sample")) {
            if (bench_parse_double("--sample", v, 1, 1e6, &sample) || sample != floor(sample)) return 2;
        } else if (!strcmp(a, "--poll-window")) {
            if (bench_parse_double("--poll-window", v, 1, 1e6, &window) || window != floor(window)) return 2;
        } else if (!strcmp(a, "--poll-min-ms")) {
            if (bench_parse_double("--poll-min-ms", v, 0.05, 10000, &poll_min_ms)) return 2;
        } else if (!strcmp(a, "--timeout")) {
            if (bench_parse_double("--timeout", v, 1, 86400, &timeout)) return 2;
        } else {
            usage();
            return 2;
        }
    }
    if (!devnet) {
        fprintf(stderr, "nox-bench e2e: only --devnet is supported (a devnet started by scripts/devnet.sh up)\n");
        usage();
        return 2;
    }
    char env_default[4096];
    if (!env_path) {
        const char *dir = getenv("NOX_DEVNET_DIR");
        snprintf(env_default, sizeof env_default, "%s/env", dir && *dir ? dir : "build/devnet");
        env_path = env_default;
    }
    char gateway[500], nats_url[512], chain_text[32], cfg_env[4096];
    if (env_get(env_path, "NOX_GATEWAY_URL", gateway, sizeof gateway) ||
        env_get(env_path, "NOX_NATS_URL", nats_url, sizeof nats_url) ||
        env_get(env_path, "NOX_CHAIN_ID", chain_text, sizeof chain_text)) {
        fprintf(stderr, "nox-bench: %s: no NOX_GATEWAY_URL, NOX_NATS_URL and NOX_CHAIN_ID (is the devnet up?)\n",
                env_path);
        return 1;
    }
    uint32_t chain = (uint32_t)strtoul(chain_text, NULL, 10);
    char key_env[4096];
    if (!key_path && !env_get(env_path, "NOX_INGESTOR_KEY", key_env, sizeof key_env)) key_path = key_env;
    if (!key_path) {
        fprintf(stderr, "nox-bench: %s has no NOX_INGESTOR_KEY and no --key was given: the Runners compute only "
                        "messages signed by the Ingestor's wallet\n", env_path);
        return 1;
    }
    if (env_get(env_path, "NOX_CA_FILE", bench_ca, sizeof bench_ca)) bench_ca[0] = '\0';
    char creds_env[4096];
    if (!creds_path && !env_get(env_path, "NOX_INGESTOR_NATS_CREDENTIALS", creds_env, sizeof creds_env))
        creds_path = creds_env;
    static nox_ec_privkey wallet; /* wiped before return */
    if (nox_ec_key_load(&wallet, key_path, &err)) {
        fprintf(stderr, "nox-bench: --key: %s\n", err.message);
        return 1;
    }
    if (!config) {
        const char *c = getenv("NOX_OPERATORS_CONFIG");
        if (c && *c) config = c;
        else if (!env_get(env_path, "NOX_OPERATORS_CONFIG", cfg_env, sizeof cfg_env)) config = cfg_env;
        else config = "config/operators.yaml";
    }

    int rc = 1;
    FILE *csv = NULL;
    run r;
    memset(&r, 0, sizeof r);
    mix_entry mix[MAX_MIX];
    int n_mix = 0;
    input_pool pools[MAX_MIX * MAXIO];
    size_t n_pools = 0;
    CURL *h = NULL;
    natsOptions *no = NULL;
    double *lat = NULL, *res = NULL, *tst = NULL;
    nox_engine *engine = nox_engine_new();
    if (!engine || nox_engine_load_config(engine, config, &err)) {
        fprintf(stderr, "nox-bench: %s\n", engine ? err.message : "out of memory");
        goto out;
    }
    if (parse_mix(engine, mix_spec, default_type, mix, &n_mix)) goto out;
    if (csv_path && !(csv = bench_csv_open(csv_path))) goto out;
    FILE *o = bench_table_stream(csv);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    if (!h) goto out;

    /* Inputs, through the Gateway. */
    uint64_t rng;
    RAND_bytes((unsigned char *)&rng, sizeof rng);
    rng |= 1;
    char why[1024];
    size_t pool_n = (size_t)pool_d;
    double ts = bench_now_s();
    for (int e = 0; e < n_mix; e++)
        for (unsigned k = 0; k < mix[e].n_in; k++) {
            uint8_t t = mix[e].in_types[k];
            size_t pi = 0;
            while (pi < n_pools && pools[pi].type != t) pi++;
            if (pi < n_pools) continue;
            pools[n_pools].type = t;
            pools[n_pools].n = pool_n;
            pools[n_pools].h = calloc(pool_n, sizeof(nox_handle));
            if (!pools[n_pools].h) goto out;
            n_pools++;
            for (size_t j = 0; j < pool_n; j++)
                if (make_secret(h, gateway, chain, t, &rng, &pools[pi].h[j], why, sizeof why)) {
                    fprintf(stderr, "nox-bench: POST /v0/secrets: %s\n", why);
                    goto out;
                }
        }
    fprintf(stderr, "nox-bench: %zu input handles made with POST /v0/secrets in %.2f s\n", n_pools * pool_n,
            bench_now_s() - ts);

    /* The messages. */
    r.n = (size_t)messages;
    r.msgs = calloc(r.n, sizeof *r.msgs);
    if (!r.msgs) goto out;
    unsigned total_w = 0;
    for (int e = 0; e < n_mix; e++) total_w += mix[e].weight;
    for (size_t i = 0; i < r.n; i++) {
        msg *m = &r.msgs[i];
        unsigned pick = (unsigned)(bench_rng(&rng) % total_w);
        int e = 0;
        while (pick >= mix[e].weight) pick -= mix[e].weight, e++;
        m->entry = e;
        nox_message_event ev;
        memset(&ev, 0, sizeof ev);
        ev.op = mix[e].proto;
        memset(ev.caller, 0x11, sizeof ev.caller);
        for (unsigned k = 0; k < mix[e].n_in; k++) {
            size_t pi = 0;
            while (pools[pi].type != mix[e].in_types[k]) pi++;
            /* distinct operands inside one event */
            size_t j;
            int again;
            do {
                j = (size_t)(bench_rng(&rng) % pools[pi].n);
                again = 0;
                for (unsigned q = 0; q < k && pools[pi].n > MAXIO; q++)
                    again |= !memcmp(ev.inputs[q].bytes, pools[pi].h[j].bytes, NOX_HANDLE_SIZE);
            } while (again);
            ev.inputs[k] = pools[pi].h[j];
        }
        for (unsigned k = 0; k < mix[e].n_out; k++) {
            uint8_t pre[NOX_PREHANDLE_SIZE];
            RAND_bytes(pre, sizeof pre);
            nox_handle_make(&ev.outputs[k], pre, chain, mix[e].out_types[k]);
        }
        nox_message nm;
        memset(&nm, 0, sizeof nm);
        nm.chain_id = chain;
        memset(nm.caller, 0x11, sizeof nm.caller);
        nm.block_number = 5;
        RAND_bytes(nm.tx_hash, sizeof nm.tx_hash);
        nm.n_events = 1;
        nm.events = &ev;
        if (nox_message_to_json(&nm, &m->json, &err)) {
            fprintf(stderr, "nox-bench: message: %s\n", err.message);
            goto out;
        }
        char tx[2 * 32 + 3], ht[NOX_HANDLE_TEXT_LEN + 1];
        snprintf(m->subject, sizeof m->subject, "nox_ingestor.%s", nox_hex_encode(nm.tx_hash, 32, tx));
        nox_message_id(chain, nm.tx_hash, m->id);
        nox_queue_message q = nox_queue_message_of("nox_ingestor", m->subject, NULL, m->json, strlen(m->json));
        if (nox_queue_sign(&wallet, &q, m->sig, m->signer, &err)) {
            fprintf(stderr, "nox-bench: signing: %s\n", err.message);
            goto out;
        }
        snprintf(m->status_url, sizeof m->status_url, "%s/v0/handles/%s/status", gateway,
                 nox_handle_format(&ev.outputs[mix[e].n_out - 1], ht));
    }

    /* JetStream. */
    jsOptions jo;
    nox_tls_client nats_tls = {0}; /* the devnet's CA when its NATS speaks TLS */
    snprintf(nats_tls.ca_file, sizeof nats_tls.ca_file, "%s", bench_ca);
    if (nox_nats_options(&no, nats_url, "nox-bench", creds_path, &nats_tls, NULL, &err)) {
        fprintf(stderr, "nox-bench: %s\n", err.message);
        goto out;
    }
    natsStatus s = nox_nats_connect(&r.nc, no, 5); /* nats.c 3.4 refuses ~1 login in 256 (nats_util.h) */
    if (s == NATS_OK) s = jsOptions_Init(&jo);
    if (s == NATS_OK) {
        jo.PublishAsync.MaxPending = 1024;
        jo.PublishAsync.ErrHandler = on_pub_error;
        jo.PublishAsync.ErrHandlerClosure = &r;
        s = natsConnection_JetStream(&r.js, r.nc, &jo);
    }
    if (s != NATS_OK) {
        fprintf(stderr, "nox-bench: %s: %s\n", nats_url, nox_nats_why(s, 0, why, sizeof why));
        goto out;
    }

    r.rate = rate;
    r.poll_min_s = poll_min_ms / 1e3;
    r.poll_frac = 0.05;
    if (poll_rate == 0) poll_rate = rate > 0 ? 1000 : 200;
    r.poll_rate = poll_rate;
    r.window = (size_t)window;
    if (sample == 0) sample = rate > 0 ? ceil(rate * 4 / poll_rate) : 8;
    r.sample = (size_t)sample;
    for (size_t i = 0; i < r.n; i++) r.msgs[i].tracked = i % r.sample == 0 || i == r.n - 1;
    r.timeout_s = timeout;
    fprintf(stderr, "nox-bench: publishing %zu messages (%s, %s) to %s\n", r.n, mix_spec,
            rate > 0 ? "fixed rate" : "as fast as possible", nats_url);
    /* The Runner's own count of stored result sets, sampled with the progress bar (when the env names it). */
    char runner_url[500] = "", metrics_url[600] = "";
    CURL *hm = NULL;
    size_t n_samp = 0, cap_samp = 0;
    double *samp_t = NULL, *samp_v = NULL;
    if (!env_get(env_path, "NOX_RUNNER_URL", runner_url, sizeof runner_url) && runner_url[0]) {
        snprintf(metrics_url, sizeof metrics_url, "%s/metrics", runner_url);
        hm = curl_easy_init();
    }
    pthread_t tp, tq;
    double t0 = bench_now_s();
    pthread_create(&tp, NULL, publisher, &r);
    pthread_create(&tq, NULL, poller, &r);
    for (;;) {
        if (hm) {
            double v = runner_ok_total(hm, metrics_url);
            if (v >= 0) {
                if (n_samp == cap_samp) {
                    cap_samp = cap_samp ? 2 * cap_samp : 1024;
                    samp_t = realloc(samp_t, cap_samp * sizeof *samp_t);
                    samp_v = realloc(samp_v, cap_samp * sizeof *samp_v);
                    if (!samp_t || !samp_v) abort();
                }
                samp_t[n_samp] = bench_now_s();
                samp_v[n_samp++] = v;
                atomic_store(&r.runner_seen, (size_t)(v - samp_v[0]));
            }
        }
        struct timespec d = {0, 100 * 1000 * 1000};
        nanosleep(&d, NULL);
        progress(&r, t0, 0);
        if (atomic_load(&r.stop)) break;
        if (atomic_load(&r.publisher_done) && atomic_load(&r.stored) >= atomic_load(&r.published)) break;
        if (atomic_load(&r.publisher_done) && bench_now_s() > r.t_last_pub + timeout + 1) break;
    }
    atomic_store(&r.stop, 1);
    pthread_join(tp, NULL);
    pthread_join(tq, NULL);
    progress(&r, t0, 1);
    if (r.fatal[0]) fprintf(stderr, "nox-bench: %s\n", r.fatal);
    if (hm) curl_easy_cleanup(hm);

    /* Results: latency and throughput over the tracked messages. */
    size_t n_st = 0, n_all = atomic_load(&r.stored), n_tracked = 0;
    lat = malloc(r.n * sizeof *lat);
    res = malloc(r.n * sizeof *res);
    tst = malloc(r.n * sizeof *tst);
    if (!lat || !res || !tst) goto out;
    double first_pub = r.msgs[0].t_pub, last_store = first_pub;
    for (size_t i = 0; i < r.n; i++) {
        if (r.msgs[i].stored) mix[r.msgs[i].entry].stored++;
        if (!r.msgs[i].tracked) continue;
        n_tracked++;
        if (!r.msgs[i].stored) continue;
        lat[n_st] = (r.msgs[i].t_stored - r.msgs[i].t_pub) * 1e3;
        res[n_st] = r.msgs[i].resolution * 1e3;
        tst[n_st++] = r.msgs[i].t_stored;
        if (r.msgs[i].t_stored > last_store) last_store = r.msgs[i].t_stored;
    }
    size_t published = atomic_load(&r.published);
    double *lat_sorted = malloc((n_st ? n_st : 1) * sizeof *lat_sorted);
    if (!lat_sorted) goto out;
    memcpy(lat_sorted, lat, n_st * sizeof *lat);
    qsort(lat_sorted, n_st, sizeof *lat_sorted, bench_cmp_double);
    qsort(res, n_st, sizeof *res, bench_cmp_double);
    qsort(tst, n_st, sizeof *tst, bench_cmp_double);
    /* every tracked message stands for r.sample messages */
    double whole = n_st > 1 ? (double)r.n / (last_store - first_pub) : 0;
    size_t a = n_st / 10, b = n_st * 9 / 10;
    double steady = b > a + 1 && tst[b - 1] > tst[a]
                        ? (double)(b - 1 - a) * (double)r.n / (double)n_tracked / (tst[b - 1] - tst[a])
                        : whole;
    /* the Runner's count: from 10 % to 90 % of the messages */
    double runner_rate = 0;
    if (n_samp > 2) {
        double v0 = samp_v[0], ta = -1, va = 0, tb = -1, vb = 0;
        for (size_t i = 0; i < n_samp; i++) {
            if (ta < 0 && samp_v[i] - v0 >= 0.1 * (double)r.n) ta = samp_t[i], va = samp_v[i];
            if (tb < 0 && samp_v[i] - v0 >= 0.9 * (double)r.n) tb = samp_t[i], vb = samp_v[i];
        }
        if (ta >= 0 && tb > ta) runner_rate = (vb - va) / (tb - ta);
    }
    free(samp_t);
    free(samp_v);
    double pub_rate = r.t_last_pub > first_pub ? (double)published / (r.t_last_pub - first_pub) : 0;
    double p50 = bench_quantile(lat_sorted, n_st, 0.5), p90 = bench_quantile(lat_sorted, n_st, 0.9),
           p99 = bench_quantile(lat_sorted, n_st, 0.99), pmax = n_st ? lat_sorted[n_st - 1] : 0;
    double r50 = bench_quantile(res, n_st, 0.5), r99 = bench_quantile(res, n_st, 0.99);
    int all_binary = 1;
    for (int e = 0; e < n_mix; e++) all_binary &= mix[e].n_in == 2 && mix[e].n_out == 1;
    unsigned long long polls = atomic_load(&r.polls);
    int pub_errors = atomic_load(&r.pub_errors);

    fprintf(o, "# nox-bench e2e: %zu one-event messages (%s, default type %s) to %s, %s\n", r.n, mix_spec,
            nox_type_name(default_type), gateway, rate > 0 ? "fixed rate" : "as fast as possible");
    fprintf(o, "published        %zu in %.2f s (%.0f msgs/s offered%s), %d publish error(s)\n", published,
            r.t_last_pub - first_pub, pub_rate, rate > 0 ? "" : ", as fast as possible", pub_errors);
    fprintf(o, "stored           %zu/%zu%s; %zu tracked (every %zu-th message and the last)\n", n_all, r.n,
            n_all < r.n ? "  (NOT ALL: see the Runner's log)" : "", n_tracked, r.sample);
    fprintf(o, "throughput       %.0f msgs/s steady (10th..90th percentile of the tracked store times), %.0f over the run\n",
            steady, whole);
    if (runner_rate > 0)
        fprintf(o, "                 %.0f msgs/s by the Runner's nox_runner_messages_ok_total (10 %%..90 %%, sampled every 0.1 s)\n",
                runner_rate);
    fprintf(o, "latency          p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms  (publish -> \"stored\" answer)\n",
            p50, p90, p99, pmax);
    fprintf(o, "resolution       p50 %.2f ms  p99 %.2f ms  (each sample: stored after the previous pending poll)\n",
            r50, r99);
    fprintf(o, "polls            %llu status requests (%.1f per tracked message; the final check of the others not counted)\n", polls,
            n_st ? (double)polls / (double)n_st : 0);
    for (int e = 0; e < n_mix; e++)
        fprintf(o, "  %-10s %-8s weight %u: %llu stored\n", mix[e].proto->name, nox_type_name(mix[e].type),
                mix[e].weight, mix[e].stored);
    const char *tp_verdict = "n/a", *lat_verdict = "n/a";
    if (rate == 0 && all_binary) {
        tp_verdict = steady >= TARGET_THROUGHPUT && n_all == r.n ? "ok" : "MISSED";
        fprintf(o, "target           >= %.0f binary ops/s sustained: %.0f  %s\n", TARGET_THROUGHPUT, steady, tp_verdict);
    } else if (rate == 0)
        fprintf(o, "target           >= %.0f binary ops/s: n/a (the mix is not all binary operators)\n",
                TARGET_THROUGHPUT);
    if (rate > 0) {
        lat_verdict = p99 < TARGET_P99_MS && n_all == r.n ? "ok" : "MISSED";
        fprintf(o,
                "target           p99 < %.0f ms at half the sustained load (here %.0f msgs/s offered): %.1f ms  %s\n",
                TARGET_P99_MS, rate, p99, lat_verdict);
    } else
        fprintf(o, "                 (latency at full load is mostly queueing; the p99 target is for --rate = half "
                   "the sustained throughput)\n");
    if (csv) {
        fprintf(csv, "mix,default_type,messages,rate,published,publish_s,stored,tracked,throughput_steady,throughput_run,"
                     "throughput_runner_metric,p50_ms,p90_ms,p99_ms,max_ms,resolution_p50_ms,resolution_p99_ms,polls,"
                     "publish_errors,throughput_target,p99_target\n");
        fprintf(csv, "\"%s\",%s,%zu,%.1f,%zu,%.3f,%zu,%zu,%.1f,%.1f,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%llu,%d,%s,%s\n",
                mix_spec, nox_type_name(default_type), r.n, rate, published, r.t_last_pub - first_pub, n_all,
                n_st, steady, whole, runner_rate, p50, p90, p99, pmax, r50, r99, polls, pub_errors, tp_verdict,
                lat_verdict);
    }
    if (plot_dir) {
        char title[256];
        snprintf(title, sizeof title, "publish to stored, %s, %s (%zu messages)", mix_spec,
                 rate > 0 ? "fixed rate" : "full load", n_st);
        char file[64];
        snprintf(file, sizeof file, "e2e_latency_%s.svg", rate > 0 ? "rate" : "full");
        const char *labels[MAX_MIX];
        char lab[MAX_MIX][48];
        double per_op[MAX_MIX];
        double span = n_st > 1 ? last_store - first_pub : 1;
        for (int e = 0; e < n_mix; e++) {
            snprintf(lab[e], sizeof lab[e], "%s %s", mix[e].proto->name, nox_type_name(mix[e].type));
            labels[e] = lab[e];
            per_op[e] = (double)mix[e].stored / span;
        }
        snprintf(file, sizeof file, "e2e_latency_%s.svg", rate > 0 ? "rate" : "full");
        if (svg_latency(plot_dir, file, title, lat, n_st)) goto out;
        snprintf(file, sizeof file, "e2e_throughput_%s.svg", rate > 0 ? "rate" : "full");
        snprintf(title, sizeof title, "results stored per second by operator, %s", rate > 0 ? "fixed rate" : "full load");
        if (svg_bars(plot_dir, file, title, "messages stored per second (over the run)", (size_t)n_mix, labels, per_op,
                     "stored/s", NULL, NULL))
            goto out;
    }
    free(lat_sorted);
    rc = n_all == r.n && !r.fatal[0] && !pub_errors ? 0 : 1;
out:
    bench_csv_close(csv);
    if (r.js) jsCtx_Destroy(r.js);
    if (r.nc) natsConnection_Destroy(r.nc);
    natsOptions_Destroy(no);
    if (h) curl_easy_cleanup(h);
    for (size_t i = 0; r.msgs && i < r.n; i++) free(r.msgs[i].json);
    free(r.msgs);
    for (size_t i = 0; i < n_pools; i++) free(pools[i].h);
    free(lat);
    free(res);
    free(tst);
    nox_engine_free(engine);
    nox_ec_key_wipe(&wallet);
    nox_nats_shutdown(2000);
    return rc;
}
