/*
 * JetStream (nats.c): the connection, the two streams of spec §6, and
 * synchronous publishes that wait for the stream's ack. Every publish is
 * signed here, the one place all of them pass (docs/PROTOCOL-EXTENSIONS.md
 * §8): messages, failure notices and dead letters alike.
 *
 * The connection reconnects by itself forever (max_reconnect -1); while it is
 * down a publish fails (no ack within its wait) and the loop retries it with
 * backoff. After any failure the streams are checked again before the next
 * publish: a stream deleted while we were away is re-created, one re-created
 * with another configuration is refused.
 *
 * No connection callbacks: nats.c runs them on its own thread, possibly
 * after natsConnection_Destroy has returned, so their closure could be freed
 * under them. The health check asks natsConnection_Status instead, under a
 * mutex that keeps the connection alive while it does.
 */
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingestor.h"
#include "nats_util.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/queue_signature.h"

/* Spec §6: max age 1 day, duplicate window 10 minutes (nats.c takes nanoseconds). */
#define NS_PER_S INT64_C(1000000000)
#define STREAM_MAX_AGE (24 * 3600 * NS_PER_S)
#define STREAM_DUPLICATES (10 * 60 * NS_PER_S)
/* How long a publish waits for its ack. */
#define PUBLISH_WAIT_MS 5000

struct ing_nats {
    const ing_config *cfg;
    const nox_ec_privkey *wallet; /* signs every publish (owned by the caller) */
    char signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1]; /* its address: the Nox-Signer header */
    char display[256];          /* the URL without user info: safe to log */
    char subjects[160];         /* <subject>.> */
    natsOptions *opts;
    pthread_mutex_t mu;         /* guards nc against the health check; only the loop changes it */
    natsConnection *nc;
    jsCtx *js;
    atomic_int streams_ok;      /* both streams checked since the last failure */
    atomic_int leader_ok;       /* the work stream had a leader at the last check (nox_nats_stream_ready) */
    int64_t leader_checked_ns;  /* when (the loop's clock; only the loop checks) */
    char leader_why[256];       /* why not, under mu */
};

nox_status ing_nats_new(const ing_config *cfg, const nox_ec_privkey *wallet, ing_nats **out, nox_error *err) {
    *out = NULL;
    struct ing_nats *n = calloc(1, sizeof *n);
    if (!n) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    n->cfg = cfg;
    n->wallet = wallet;
    uint8_t addr[NOX_ADDRESS_SIZE];
    if (nox_ec_key_address(wallet, addr, err)) {
        free(n);
        return err ? err->code : NOX_ERR_INVALID;
    }
    nox_hex_encode(addr, sizeof addr, n->signer);
    pthread_mutex_init(&n->mu, NULL);
    nox_nats_display(cfg->nats_url, n->display, sizeof n->display);
    snprintf(n->subjects, sizeof n->subjects, "%s.>", cfg->subject);
    if (nox_nats_options(&n->opts, cfg->nats_url, "nox-ingestor", cfg->nats_credentials, &cfg->nats_tls, NULL, err)) {
        ing_nats_free(n);
        return err ? err->code : NOX_ERR_CONFIG;
    }
    *out = n;
    return NOX_OK;
}

/* ---- streams ------------------------------------------------------------------------------- */

static int has_subject(const jsStreamConfig *c, const char *subject) {
    for (int i = 0; i < c->SubjectsLen; i++)
        if (c->Subjects[i] && !strcmp(c->Subjects[i], subject)) return 1;
    return 0;
}

static const char *storage_name(jsStorageType t) { return t == js_FileStorage ? "file" : "memory"; }

static const char *retention_name(jsRetentionPolicy r) {
    return r == js_LimitsPolicy ? "limits" : r == js_InterestPolicy ? "interest" : "workqueue";
}

/* Why an existing stream contradicts spec §6 (NOX_ERR_CONFIG), or NOX_OK. */
static nox_status verify(const jsStreamConfig *c, const char *name, const char *subjects, int dead, int64_t replicas,
                         nox_error *err) {
    char what[160] = "";
    if (c->Replicas != replicas && !(c->Replicas == 0 && replicas == 1)) {
        snprintf(what, sizeof what, "has %" PRId64 " replica(s), the configuration (nats.replicas) says %" PRId64,
                 c->Replicas, replicas);
        return nox_error_set(err, NOX_ERR_CONFIG,
                             "JetStream stream %s %s; change one of them (nats stream edit %s --replicas %" PRId64
                             " on a cluster of at least that many servers)", name, what, name, replicas);
    }
    if (!has_subject(c, subjects))
        snprintf(what, sizeof what, "does not hold the subjects %s", subjects);
    else if (c->Storage != js_FileStorage)
        snprintf(what, sizeof what, "has %s storage, spec §6 requires file storage", storage_name(c->Storage));
    else if (!dead && c->Retention != js_LimitsPolicy)
        snprintf(what, sizeof what, "has %s retention, spec §6 requires limits retention", retention_name(c->Retention));
    else if (!dead && c->MaxAge != STREAM_MAX_AGE)
        snprintf(what, sizeof what, "has max age %" PRId64 " s, spec §6 requires 86400 s (1 day)", c->MaxAge / NS_PER_S);
    else if (!dead && c->Duplicates != STREAM_DUPLICATES)
        snprintf(what, sizeof what, "has a duplicate window of %" PRId64 " s, spec §6 requires 600 s (10 minutes)",
                 c->Duplicates / NS_PER_S);
    if (!*what) return NOX_OK;
    return nox_error_set(err, NOX_ERR_CONFIG,
                         "JetStream stream %s %s; correct it (nats stream edit %s) or, if its messages may be lost, "
                         "delete it (nats stream rm %s) and let the Ingestor create it", name, what, name, name);
}

/* Creates the stream when missing, else checks it. */
static nox_status ensure_stream(struct ing_nats *n, const char *name, const char *subjects, int dead, nox_error *err) {
    char w[256];
    for (int attempt = 0; attempt < 2; attempt++) {
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetStreamInfo(&si, n->js, name, NULL, &jerr);
        if (s == NATS_OK) {
            nox_status st = verify(si->Config, name, subjects, dead, (int64_t)n->cfg->replicas, err);
            jsStreamInfo_Destroy(si);
            return st;
        }
        if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)
            return nox_error_set(err, NOX_ERR_IO, "JetStream at %s does not answer for stream %s: %s (is JetStream "
                                 "enabled, nats-server -js?)", n->display, name, nox_nats_why(s, jerr, w, sizeof w));
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        const char *subj[1] = {subjects};
        sc.Name = name;
        sc.Subjects = subj;
        sc.SubjectsLen = 1;
        sc.Storage = js_FileStorage;
        sc.Retention = js_LimitsPolicy;
        sc.MaxAge = dead ? 0 : STREAM_MAX_AGE;   /* dead letters: kept until an operator removes them */
        sc.Duplicates = STREAM_DUPLICATES;
        sc.Replicas = (int64_t)n->cfg->replicas;
        jerr = 0;
        s = js_AddStream(&si, n->js, &sc, NULL, &jerr);
        if (s == NATS_OK) {
            jsStreamInfo_Destroy(si);
            nox_log(NOX_LOG_INFO, "created JetStream stream %s (subjects %s, file storage, %s, %" PRIu64 " replica(s))",
                    name, subjects, dead ? "no age limit" : "limits retention, max age 1 day, duplicate window 10 minutes",
                    n->cfg->replicas);
            return NOX_OK;
        }
        if (jerr == JSStreamNameExistErr) continue; /* created meanwhile by another process: check it */
        if (jerr == JSStreamSubjectOverlapErr)
            return nox_error_set(err, NOX_ERR_CONFIG, "cannot create JetStream stream %s: its subjects %s overlap "
                                 "another stream's; remove the overlap or configure another nats.subject", name,
                                 subjects);
        return nox_error_set(err, NOX_ERR_IO, "cannot create JetStream stream %s at %s: %s", name, n->display,
                             nox_nats_why(s, jerr, w, sizeof w));
    }
    return nox_error_set(err, NOX_ERR_IO, "JetStream stream %s: created and deleted concurrently; retrying", name);
}

/* ---- connection ------------------------------------------------------------------------- */

static void disconnect(struct ing_nats *n) {
    if (n->js) jsCtx_Destroy(n->js);
    n->js = NULL;
    pthread_mutex_lock(&n->mu);
    natsConnection *nc = n->nc;
    n->nc = NULL;
    pthread_mutex_unlock(&n->mu);
    if (nc) {
        natsConnection_Close(nc);
        natsConnection_Destroy(nc);
    }
    atomic_store(&n->streams_ok, 0);
}

static void check_leader(ing_nats *n);

nox_status ing_nats_ready(ing_nats *n, nox_error *err) {
    char w[256];
    if (n->nc && natsConnection_IsClosed(n->nc)) disconnect(n);
    if (!n->nc) {
        natsConnection *nc = NULL;
        natsStatus s = nox_nats_connect(&nc, n->opts, 3); /* nats.c 3.4 refuses ~1 login in 256 */
        if (s != NATS_OK)
            return nox_error_set(err, NOX_ERR_IO, "cannot connect to NATS at %s: %s", n->display,
                                 nox_nats_why(s, 0, w, sizeof w));
        pthread_mutex_lock(&n->mu);
        n->nc = nc;
        pthread_mutex_unlock(&n->mu);
        s = natsConnection_JetStream(&n->js, n->nc, NULL);
        if (s != NATS_OK) {
            disconnect(n);
            return nox_error_set(err, NOX_ERR_IO, "NATS at %s: no JetStream context: %s", n->display,
                                 nox_nats_why(s, 0, w, sizeof w));
        }
        nox_log(NOX_LOG_INFO, "connected to NATS at %s", n->display);
    }
    if (natsConnection_Status(n->nc) != NATS_CONN_STATUS_CONNECTED) {
        atomic_store(&n->streams_ok, 0); /* check them again once reconnected */
        return nox_error_set(err, NOX_ERR_IO, "connection to %s lost, reconnecting", n->display);
    }
    if (atomic_load(&n->streams_ok)) {
        check_leader(n);
        return NOX_OK;
    }
    nox_status st = ensure_stream(n, n->cfg->stream, n->subjects, 0, err);
    if (!st) st = ensure_stream(n, ING_DEAD_STREAM, ING_DEAD_SUBJECT ".>", 1, err);
    if (!st) {
        atomic_store(&n->streams_ok, 1);
        n->leader_checked_ns = 0;
        check_leader(n);
    }
    return st;
}

/* Once a second, from the loop: does the work stream have a leader (a replicated stream may lose it)? */
static void check_leader(ing_nats *n) {
    int64_t now = nats_NowInNanoSeconds();
    if (n->leader_checked_ns && now - n->leader_checked_ns < 1000000000LL) return;
    n->leader_checked_ns = now;
    char why[256];
    int ok = n->js && nox_nats_stream_ready(n->js, n->cfg->stream, 500, why, sizeof why);
    if (!ok) {
        pthread_mutex_lock(&n->mu);
        snprintf(n->leader_why, sizeof n->leader_why, "%s", n->js ? why : "no JetStream context");
        pthread_mutex_unlock(&n->mu);
    }
    atomic_store(&n->leader_ok, ok);
}

int ing_nats_healthy(ing_nats *n, char *why, size_t cap) {
    if (!n) return 0;
    pthread_mutex_lock(&n->mu);
    int up = n->nc && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
    int leader = atomic_load(&n->leader_ok);
    snprintf(why, cap, "%s", !up || !atomic_load(&n->streams_ok) ? "NATS unreachable" : leader ? "" : n->leader_why);
    pthread_mutex_unlock(&n->mu);
    return up && atomic_load(&n->streams_ok) && leader;
}

/*
 * Signs what is about to be published. The chain id comes from the body (nox_queue_chain_id), as every
 * consumer derives it; a body of another chain than ours would be a bug, refused like a message NATS
 * refuses for good (logged, dead-lettered, skipped) rather than signed.
 */
static nox_status sign(const ing_nats *n, const char *stream, const char *subject, const char *reason,
                       const char *data, size_t len, char sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], nox_error *err) {
    nox_queue_message q = nox_queue_message_of(stream, subject, reason, data, len);
    if (q.chain_id != n->cfg->chain_id)
        return nox_error_set(err, NOX_ERR_INVALID, "not signed: the body's chainId is %llu, not chain_id %u (a bug "
                             "in the Ingestor: please report it)", (unsigned long long)q.chain_id, n->cfg->chain_id);
    return nox_queue_sign(n->wallet, &q, sig, NULL, err); /* Nox-Signer: n->signer, derived once */
}

nox_status ing_nats_publish(ing_nats *n, const char *stream, const char *subject, const char *msg_id,
                            const char *dead_reason, const char *data, size_t len, int *duplicate, nox_error *err) {
    char w[256], reason[401], sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1];
    *duplicate = 0;
    if (!n->js) return nox_error_set(err, NOX_ERR_IO, "NATS at %s: not connected", n->display);
    /* the reason exactly as the header will carry it: printable, trimmed, at most 400 characters */
    if (dead_reason) nox_queue_header_text(dead_reason, reason, sizeof reason);
    nox_status st = sign(n, stream, subject, dead_reason ? reason : NULL, data, len, sig, err);
    if (st) return st == NOX_ERR_NOMEM ? st : NOX_ERR_INVALID;
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, data, (int)len);
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id);
    if (s == NATS_OK && dead_reason) s = natsMsgHeader_Set(m, NOX_QUEUE_HEADER_REASON, reason);
    if (s == NATS_OK) s = natsMsgHeader_Set(m, NOX_QUEUE_HEADER_SIGNATURE, sig);
    if (s == NATS_OK) s = natsMsgHeader_Set(m, NOX_QUEUE_HEADER_SIGNER, n->signer);
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        return nox_error_set(err, s == NATS_NO_MEMORY ? NOX_ERR_NOMEM : NOX_ERR_IO, "cannot build the message for %s: %s",
                             subject, nox_nats_why(s, 0, w, sizeof w));
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = PUBLISH_WAIT_MS;
    po.ExpectStream = stream;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    s = js_PublishMsg(&pa, n->js, m, &po, &jerr);
    natsMsg_Destroy(m);
    if (s == NATS_OK) {
        *duplicate = pa->Duplicate;
        jsPubAck_Destroy(pa);
        return NOX_OK;
    }
    if (s == NATS_MAX_PAYLOAD || jerr == JSStreamMessageExceedsMaximumErr)
        return nox_error_set(err, NOX_ERR_INVALID, "NATS refuses its message of %zu bytes for good (the server's "
                             "max_payload is %lld bytes): %s", len, (long long)ing_nats_max_payload(n),
                             nox_nats_why(s, jerr, w, sizeof w));
    if (jerr == JSStreamNotMatchErr)
        return nox_error_set(err, NOX_ERR_CONFIG, "subject %s is stored by another JetStream stream than %s; remove "
                             "the overlapping stream or configure another nats.subject", subject, stream);
    atomic_store(&n->streams_ok, 0); /* check the streams again before the retry */
    return nox_error_set(err, NOX_ERR_IO, "publish to %s at %s: %s", subject, n->display,
                         nox_nats_why(s, jerr, w, sizeof w));
}

int64_t ing_nats_max_payload(ing_nats *n) {
    pthread_mutex_lock(&n->mu);
    int64_t max = n->nc ? natsConnection_GetMaxPayload(n->nc) : 0;
    pthread_mutex_unlock(&n->mu);
    return max > 0 ? max : 1024 * 1024;
}

void ing_nats_free(ing_nats *n) {
    if (!n) return;
    disconnect(n);
    natsOptions_Destroy(n->opts);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

void ing_nats_shutdown(void) { nox_nats_shutdown(2000); }
