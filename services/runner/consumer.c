/*
 * JetStream side of the Runner: the durable pull consumer (explicit ack),
 * the dead-letter stream, and the worker threads that fetch in batches,
 * authenticate, process, and ack / nak with delay / dead-letter.
 *
 * A message not signed by a trusted Ingestor over exactly what was delivered
 * (queue_auth.c, docs/PROTOCOL-EXTENSIONS.md §8) is dead-lettered and acked
 * before anything else is done with it: nothing is fetched, computed or
 * recorded. Every dead letter the Runner publishes is signed with its wallet.
 *
 * No connection callbacks (see the Ingestor's publisher.c): health asks
 * natsConnection_Status.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nats_util.h"
#include "nox/clock.h"
#include "nox/log.h"
#include "nox/rpc.h"
#include "runner.h"

#define NS_PER_S INT64_C(1000000000)
/* The dead-letter stream (spec §6): fixed by the protocol; its subjects are <dead_letter_subject>.> */
#define DEAD_STREAM "nox_dead"

static pthread_t *workers;
static size_t n_workers;

static atomic_int dead_stream_ok; /* nox_dead exists (found or made) */

static void on_connected(natsConnection *nc, void *closure) {
    (void)nc;
    (void)closure;
    nox_log(NOX_LOG_INFO, "connected to NATS");
}

static nox_status ensure_dead_stream(run_state *st, nox_error *err) {
    char w[256], subjects[160];
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    if (js_GetStreamInfo(&si, st->js, DEAD_STREAM, NULL, &jerr) == NATS_OK) {
        int64_t r = si->Config ? si->Config->Replicas : 1;
        if ((r ? r : 1) != (int64_t)st->cfg.replicas)
            nox_log(NOX_LOG_WARN, "stream nox_dead exists with %" PRId64 " replica(s), not nats.replicas %" PRIu64
                    " (nats stream edit nox_dead --replicas %" PRIu64 ")", r ? r : 1, st->cfg.replicas,
                    st->cfg.replicas);
        jsStreamInfo_Destroy(si);
        return NOX_OK;
    }
    snprintf(subjects, sizeof subjects, "%s.>", st->cfg.dead_subject);
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subj[1] = {subjects};
    sc.Name = DEAD_STREAM;
    sc.Subjects = subj;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    sc.Duplicates = 10 * 60 * NS_PER_S;
    sc.Replicas = (int64_t)st->cfg.replicas;
    natsStatus s = js_AddStream(&si, st->js, &sc, NULL, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        nox_log(NOX_LOG_INFO, "created JetStream stream nox_dead (subjects %s, %" PRIu64 " replica(s))", subjects,
                st->cfg.replicas);
        return NOX_OK;
    }
    if (jerr == JSStreamNameExistErr) return NOX_OK; /* created meanwhile (by the Ingestor or another worker) */
    if (jerr == JSStreamNameExistErr) return NOX_OK;
    return nox_error_set(err, NOX_ERR_IO, "cannot create stream nox_dead: %s", nox_nats_why(s, jerr, w, sizeof w));
}

static nox_status ensure_consumer(run_state *st, nox_error *err) {
    char w[256];
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    if (js_GetConsumerInfo(&ci, st->js, st->cfg.stream, st->cfg.consumer, NULL, &jerr) == NATS_OK) {
        /* the first Runner made it: its settings, not this YAML's, apply — say so when they differ */
        static atomic_int warned;
        const jsConsumerConfig *c = ci->Config;
        if (c && (c->AckWait != (int64_t)st->cfg.ack_wait_s * NS_PER_S ||
                  c->MaxAckPending != (int64_t)st->cfg.max_ack_pending) && !atomic_exchange(&warned, 1))
            nox_log(NOX_LOG_WARN,
                    "consumer %s on stream %s exists with ack_wait %" PRId64 " s and max_ack_pending %" PRId64
                    ", not this configuration's %" PRIu64 " s and %" PRIu64 ": those of the existing consumer "
                    "apply (change them on the consumer: nats consumer edit %s %s)",
                    st->cfg.consumer, st->cfg.stream, c->AckWait / NS_PER_S, c->MaxAckPending, st->cfg.ack_wait_s,
                    st->cfg.max_ack_pending, st->cfg.stream, st->cfg.consumer);
        jsConsumerInfo_Destroy(ci);
        return NOX_OK;
    }
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = st->cfg.consumer;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = (int64_t)st->cfg.ack_wait_s * NS_PER_S;
    /* No server-side delivery limit: every delivery ends in an ack, a nak or a dead letter decided here
     * (max_deliver transient failures, operand_wait_s of waiting for an operand). A server limit would
     * count the waits too and then stop delivering silently: a lost result. */
    cc.MaxDeliver = -1;
    cc.MaxAckPending = (int64_t)st->cfg.max_ack_pending;
    natsStatus s = js_AddConsumer(&ci, st->js, st->cfg.stream, &cc, NULL, &jerr);
    if (s == NATS_OK) {
        jsConsumerInfo_Destroy(ci);
        nox_log(NOX_LOG_INFO, "created durable consumer %s on stream %s", st->cfg.consumer, st->cfg.stream);
        return NOX_OK;
    }
    if (jerr == JSConsumerNameExistErr || jerr == JSConsumerExistingActiveErr) return NOX_OK;
    return nox_error_set(err, NOX_ERR_IO, "cannot create consumer %s on stream %s: %s (does the stream exist?)",
                         st->cfg.consumer, st->cfg.stream, nox_nats_why(s, jerr, w, sizeof w));
}

/* Copies m's header `name` (when it has it exactly once) to d as `as`, made a safe header value. */
static natsStatus copy_header(natsMsg *m, const char *name, natsMsg *d, const char *as) {
    const char *v = NULL;
    char clean[256];
    if (natsMsgHeader_Get(m, name, &v) != NATS_OK || !v) return NATS_OK;
    return natsMsgHeader_Set(d, as, nox_queue_header_text(v, clean, sizeof clean));
}

/*
 * Publishes the message to <dead_subject>.<last token of its subject> with the reason (Nox-Dead-Reason),
 * signed with the Runner's wallet over the dead-letter stream, that subject, the reason and the body
 * (docs/PROTOCOL-EXTENSIONS.md §8), so that an operator can tell the Runner's dead letters from planted
 * ones. The original's subject, signature and signer ride along as Nox-Original-Subject,
 * Nox-Original-Signature and Nox-Original-Signer (not covered by the Runner's signature: they are the
 * Ingestor's own proof), so that a genuine message can be replayed from nox_dead as it was signed.
 * `quiet`: the caller logs the outcome itself. 0 on success.
 */
static int dead_letter(run_state *st, natsMsg *m, const char *reason, int quiet) {
    const char *subj = natsMsg_GetSubject(m), *dot = strrchr(subj, '.');
    char subject[256], clean[512], sig[NOX_QUEUE_SIGNATURE_TEXT_LEN + 1], signer[NOX_QUEUE_SIGNER_TEXT_LEN + 1], w[256];
    snprintf(subject, sizeof subject, "%s.%s", st->cfg.dead_subject, dot ? dot + 1 : "unknown");
    nox_queue_header_text(reason, clean, sizeof clean); /* signed exactly as the header carries it */
    nox_queue_message q = nox_queue_message_of(DEAD_STREAM, subject, clean, natsMsg_GetData(m),
                                               (size_t)natsMsg_GetDataLength(m));
    nox_error e = {0};
    if (nox_queue_sign(&st->wallet, &q, sig, signer, &e)) {
        nox_log(NOX_LOG_WARN, "dead letter to %s not published: cannot sign it: %s", subject, e.message);
        return 1;
    }
    natsMsg *d = NULL;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s = natsMsg_Create(&d, subject, NULL, natsMsg_GetData(m), natsMsg_GetDataLength(m));
    if (s == NATS_OK) s = natsMsgHeader_Set(d, NOX_QUEUE_HEADER_REASON, clean);
    if (s == NATS_OK) s = natsMsgHeader_Set(d, NOX_QUEUE_HEADER_SIGNATURE, sig);
    if (s == NATS_OK) s = natsMsgHeader_Set(d, NOX_QUEUE_HEADER_SIGNER, signer);
    if (s == NATS_OK) s = natsMsgHeader_Set(d, "Nox-Original-Subject", nox_queue_header_text(subj, w, sizeof w));
    if (s == NATS_OK) s = copy_header(m, NOX_QUEUE_HEADER_SIGNATURE, d, "Nox-Original-Signature");
    if (s == NATS_OK) s = copy_header(m, NOX_QUEUE_HEADER_SIGNER, d, "Nox-Original-Signer");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectStream = DEAD_STREAM; /* the stream signed is the stream that stores it */
    if (s == NATS_OK) s = js_PublishMsg(&pa, st->js, d, &po, &jerr);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(d);
    if (s != NATS_OK) {
        nox_log(NOX_LOG_WARN, "dead-letter publish to %s failed: %s", subject, nox_nats_why(s, jerr, w, sizeof w));
        return 1;
    }
    if (!quiet) nox_log(NOX_LOG_WARN, "dead-lettered %s: %s", subject, clean);
    nox_counter_add(st->m.dead, 1);
    return 0;
}

/*
 * Transient failures per message (by stream sequence) seen by this process: the max_deliver budget.
 * JetStream's own delivery count cannot be used for it: it also counts the deliveries of a message
 * that waited for an operand (RUN_WAIT), which are bounded by time instead (operand_wait_s). A slot
 * taken over by another message only gives a message more attempts, never fewer.
 */
enum { TALLY_SLOTS = 4096 };
static struct {
    uint64_t seq;
    uint64_t failures;
} tally[TALLY_SLOTS];
static pthread_mutex_t tally_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t tally_bump(uint64_t seq) {
    pthread_mutex_lock(&tally_mu);
    size_t i = (size_t)(seq % TALLY_SLOTS);
    if (tally[i].seq != seq) {
        tally[i].seq = seq;
        tally[i].failures = 0;
    }
    uint64_t n = ++tally[i].failures;
    pthread_mutex_unlock(&tally_mu);
    return n;
}

static void tally_clear(uint64_t seq) {
    pthread_mutex_lock(&tally_mu);
    size_t i = (size_t)(seq % TALLY_SLOTS);
    if (tally[i].seq == seq) tally[i].seq = tally[i].failures = 0;
    pthread_mutex_unlock(&tally_mu);
}

/*
 * Progress: every stored result set is announced here, so that a message waiting for an operand
 * (usually produced by the transaction just before it, being computed by another worker) is tried
 * again at once instead of after a delay: a chain of dependent transactions then runs at compute
 * speed. A message is held at most HOLD_MS before it is nak-ed with a delay.
 */
enum { HOLD_MS = 1000 };
static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress_cv = PTHREAD_COND_INITIALIZER;
static uint64_t progress_count;

static void progress_announce(void) {
    pthread_mutex_lock(&progress_mu);
    progress_count++;
    pthread_cond_broadcast(&progress_cv);
    pthread_mutex_unlock(&progress_mu);
}

/* Waits until a result set is stored after `seen` (returns 1) or until `deadline` (returns 0). */
static int progress_wait(uint64_t seen, const struct timespec *deadline) {
    pthread_mutex_lock(&progress_mu);
    int rc = 0;
    while (progress_count == seen && rc == 0) rc = pthread_cond_timedwait(&progress_cv, &progress_mu, deadline);
    int moved = progress_count != seen;
    pthread_mutex_unlock(&progress_mu);
    return moved;
}

static uint64_t progress_now(void) {
    pthread_mutex_lock(&progress_mu);
    uint64_t n = progress_count;
    pthread_mutex_unlock(&progress_mu);
    return n;
}

static int64_t backoff_ms(uint64_t attempt, int64_t first, int64_t cap) {
    int64_t d = first;
    for (uint64_t i = 1; i < attempt && d < cap; i++) d *= 2;
    return d < cap ? d : cap;
}

/* The in-flight gauge: a fetched batch counts from its fetch until each message is acked, nak-ed or dead. */
static void in_flight_add(run_state *st, int d) {
    nox_gauge_set(st->m.in_flight, atomic_fetch_add(&st->in_flight, d) + d);
}

/*
 * Finishes one message whose first attempt (begun when progress was at `seen`) gave `r` with
 * `reason`: a wait is tried again as results get stored, for at most HOLD_MS; then ack, nak with a
 * delay, or dead-letter.
 */
static void handle(run_state *st, natsMsg *m, uint64_t seen, enum run_outcome r, char reason[RUN_REASON_MAX]) {
    uint64_t delivered = 1, seq = 0;
    int64_t published_ns = 0;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        delivered = meta->NumDelivered;
        seq = meta->Sequence.Stream;
        published_ns = meta->Timestamp;
        jsMsgMetaData_Destroy(meta);
    }
    if (delivered > 1) nox_counter_add(st->m.redeliveries, 1);
    char r2[RUN_REASON_MAX];
    struct timespec hold_until = nox_clock_after_ms(CLOCK_REALTIME, HOLD_MS); /* progress_cv: the default clock */
    while (r == RUN_WAIT && !atomic_load(&st->stop) && progress_wait(seen, &hold_until)) {
        seen = progress_now();
        r = run_process(st, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), reason, RUN_REASON_MAX);
    }
    if (r == RUN_OK || r == RUN_PARTIAL) progress_announce(); /* results or failure records stored */
    uint64_t failures = 0;
    double waited = published_ns > 0 ? (double)(nats_NowInNanoSeconds() - published_ns) / 1e9 : 0;
    if (r == RUN_WAIT && waited >= (double)st->cfg.operand_wait_s) {
        snprintf(r2, sizeof r2, "operand(s) still not stored %.0f s after the message was queued: %.400s", waited,
                 reason);
        memcpy(reason, r2, sizeof r2);
        r = RUN_DEAD;
    }
    if (r == RUN_RETRY && (failures = tally_bump(seq)) >= st->cfg.max_deliver) {
        snprintf(r2, sizeof r2, "gave up after %" PRIu64 " attempts: %.400s", failures, reason);
        memcpy(reason, r2, sizeof r2);
        r = RUN_DEAD;
    }
    switch (r) {
    case RUN_OK:
        natsMsg_Ack(m, NULL);
        nox_counter_add(st->m.ok, 1);
        tally_clear(seq);
        break;
    case RUN_WAIT: { /* ordering between transactions: usually the previous one is being computed right now */
        int64_t delay = backoff_ms(delivered, 50, 2000);
        nox_log(NOX_LOG_DEBUG, "waiting for an operand of %s, again in %" PRId64 " ms (delivery %" PRIu64 "): %s",
                natsMsg_GetSubject(m), delay, delivered, reason);
        natsMsg_NakWithDelay(m, delay, NULL);
        nox_counter_add(st->m.waited, 1);
        break;
    }
    case RUN_RETRY: {
        int64_t delay = backoff_ms(failures, 250, 30000);
        nox_log(NOX_LOG_INFO, "retrying %s in %" PRId64 " ms (attempt %" PRIu64 " of %" PRIu64 "): %s",
                natsMsg_GetSubject(m), delay, failures, st->cfg.max_deliver, reason);
        natsMsg_NakWithDelay(m, delay, NULL);
        nox_counter_add(st->m.retried, 1);
        break;
    }
    case RUN_PARTIAL: /* the results stored, the failures recorded: a dead letter for inspection and replay */
        if (dead_letter(st, m, reason, 0)) {
            natsMsg_NakWithDelay(m, 1000, NULL); /* the redelivery recomputes: "unchanged" results, same records */
        } else {
            natsMsg_Ack(m, NULL);
            tally_clear(seq);
        }
        break;
    case RUN_DEAD:
        run_report_failures(st, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), reason);
        if (dead_letter(st, m, reason, 0)) {
            natsMsg_NakWithDelay(m, 1000, NULL);
        } else {
            natsMsg_Ack(m, NULL);
            tally_clear(seq);
        }
        break;
    }
    in_flight_add(st, -1);
}

/*
 * A message that failed run_authenticate: counted by verdict, one WARN line (the reason, never the body),
 * dead-lettered (signed by this Runner) and acked — nothing fetched, computed or recorded. A dead letter
 * that cannot be published is retried by a redelivery, which is refused again.
 */
static void reject(run_state *st, natsMsg *m, nox_queue_verdict v, const char *why) {
    char reason[RUN_REASON_MAX], subject[256];
    uint64_t seq = 0;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK && meta) {
        seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    nox_counter_add(st->m.rejected[v], 1);
    snprintf(reason, sizeof reason, "refused before any work (%s): %.400s", nox_queue_verdict_names[v], why);
    int failed = dead_letter(st, m, reason, 1);
    nox_log(NOX_LOG_WARN, "refused message %s (stream sequence %" PRIu64 "), computing nothing: %s: %s; %s",
            nox_queue_header_text(natsMsg_GetSubject(m), subject, sizeof subject), seq, nox_queue_verdict_names[v],
            why, failed ? "its dead letter failed, retried in 1 s" : "dead-lettered and acked");
    if (failed) natsMsg_NakWithDelay(m, 1000, NULL);
    else natsMsg_Ack(m, NULL);
    in_flight_add(st, -1);
}

/* Authenticated messages of a fetched batch: the first attempt of all of them together (run_process_batch), then
 * each finished (counted in flight already). */
static void process_list(run_state *st, natsMsg **msgs, size_t n) {
    const char **data = calloc(n, sizeof *data);
    size_t *lens = calloc(n, sizeof *lens);
    enum run_outcome *outcomes = calloc(n, sizeof *outcomes);
    char(*reasons)[RUN_REASON_MAX] = calloc(n, sizeof *reasons);
    uint64_t seen = progress_now();
    int batched = data && lens && outcomes && reasons && !atomic_load(&st->stop);
    if (batched) {
        for (size_t i = 0; i < n; i++) {
            data[i] = natsMsg_GetData(msgs[i]);
            lens[i] = (size_t)natsMsg_GetDataLength(msgs[i]);
        }
        run_process_batch(st, data, lens, n, outcomes, reasons);
        for (size_t i = 0; i < n; i++) /* stored results: a message of the batch waiting for one goes again now */
            if (outcomes[i] == RUN_OK || outcomes[i] == RUN_PARTIAL) {
                progress_announce();
                break;
            }
    }
    for (size_t i = 0; i < n; i++) {
        if (atomic_load(&st->stop) && !batched) {
            natsMsg_Nak(msgs[i], NULL); /* shutting down: hand it back */
            in_flight_add(st, -1);
        } else if (batched) {
            handle(st, msgs[i], seen, outcomes[i], reasons[i]);
        } else { /* out of memory for the batch: one at a time */
            char reason[RUN_REASON_MAX] = "";
            uint64_t now = progress_now();
            handle(st, msgs[i], now,
                   run_process(st, natsMsg_GetData(msgs[i]), (size_t)natsMsg_GetDataLength(msgs[i]), reason,
                               sizeof reason),
                   reason);
        }
    }
    free(data);
    free(lens);
    free(outcomes);
    free(reasons);
}

/* A fetched batch: every message authenticated first; the refused ones are dead-lettered at once, the others
 * processed together. */
static void handle_list(run_state *st, natsMsg **msgs, size_t n) {
    in_flight_add(st, (int)n);
    natsMsg **ok = calloc(n, sizeof *ok);
    size_t n_ok = 0;
    for (size_t i = 0; i < n; i++) {
        char why[RUN_REASON_MAX];
        nox_queue_verdict v = run_authenticate(st, msgs[i], why, sizeof why);
        if (v != NOX_QUEUE_OK) reject(st, msgs[i], v, why);
        else if (ok) ok[n_ok++] = msgs[i];
        else process_list(st, &msgs[i], 1); /* out of memory for the list: one at a time */
    }
    if (n_ok) process_list(st, ok, n_ok);
    free(ok);
}

static void *worker(void *arg) {
    run_state *st = arg;
    natsSubscription *sub = NULL;
    unsigned waiting = 0;
    while (!atomic_load(&st->stop)) {
        if (!sub) {
            nox_error e = {0};
            if (!atomic_load(&dead_stream_ok)) { /* once per process, by whichever worker gets there */
                if (ensure_dead_stream(st, &e)) {
                    nox_log(waiting++ ? NOX_LOG_DEBUG : NOX_LOG_WARN, "%s; retrying every 0.25 s", e.message);
                    for (int i = 0; i < 5 && !atomic_load(&st->stop); i++) nats_Sleep(50);
                    continue;
                }
                atomic_store(&dead_stream_ok, 1);
            }
            if (ensure_consumer(st, &e)) { /* e.g. the stream is not there yet: the Ingestor creates it */
                nox_log(waiting++ ? NOX_LOG_DEBUG : NOX_LOG_WARN, "%s; retrying every 0.25 s", e.message);
                for (int i = 0; i < 5 && !atomic_load(&st->stop); i++) nats_Sleep(50);
                continue;
            }
            jsSubOptions so;
            jsSubOptions_Init(&so);
            so.Stream = st->cfg.stream;
            so.Consumer = st->cfg.consumer;
            jsErrCode jerr = 0;
            natsStatus s = js_PullSubscribe(&sub, st->js, NULL, NULL, NULL, &so, &jerr);
            if (s != NATS_OK) {
                char w[256];
                nox_log(NOX_LOG_WARN, "cannot bind consumer %s: %s; retrying", st->cfg.consumer,
                        nox_nats_why(s, jerr, w, sizeof w));
                sub = NULL;
                nats_Sleep(1000);
                continue;
            }
        }
        natsMsgList list = {0};
        natsStatus s = natsSubscription_Fetch(&list, sub, (int)st->cfg.fetch_batch, 1000, NULL);
        if (s != NATS_OK && s != NATS_TIMEOUT) nats_Sleep(200);
        if (list.Count > 0) handle_list(st, list.Msgs, (size_t)list.Count);
        natsMsgList_Destroy(&list);
    }
    if (sub) {
        natsSubscription_Unsubscribe(sub); /* leaves the durable consumer in place */
        natsSubscription_Destroy(sub);
    }
    return NULL;
}

nox_status run_nats_start(run_state *st, nox_error *err) {
    char w[256], display[256];
    natsOptions *o = NULL;
    nox_nats_display(st->cfg.nats_url, display, sizeof display);
    if (nox_nats_options(&o, st->cfg.nats_url, "nox-runner", st->cfg.nats_credentials, &st->cfg.nats_tls, NULL, err))
        return err ? err->code : NOX_ERR_CONFIG;
    /* Start when no server answers yet: /health already serves (503 "NATS unreachable") while this tries
     * every server of nats.url(s) every 0.5 s until one answers; from then on nats.c reconnects by itself.
     * (Not natsOptions_SetRetryOnFailedConnect: nats.c 3.4 gives up for good on a refused login there, and
     * it refuses ~1 in 256 by a bug of its own — nats_util.h.) */
    natsConnection *nc = NULL;
    natsStatus s = NATS_ERR;
    for (int tries = 0; !atomic_load(&st->stop); tries++) {
        s = nox_nats_connect(&nc, o, 3);
        if (s == NATS_OK) break;
        nox_log(tries ? NOX_LOG_DEBUG : NOX_LOG_WARN, "no NATS server of %s answers yet (%s): retrying every 0.5 s",
                display, nox_nats_why(s, 0, w, sizeof w));
        nats_Sleep(500);
    }
    natsOptions_Destroy(o);
    if (s != NATS_OK) { /* SIGTERM while waiting: nothing was started, nothing to finish */
        nox_log(NOX_LOG_INFO, "stopped before a NATS server of %s answered", display);
        return NOX_OK;
    }
    on_connected(nc, st);
    st->nc = nc;
    if ((s = natsConnection_JetStream(&st->js, st->nc, NULL)) != NATS_OK)
        return nox_error_set(err, NOX_ERR_IO, "no JetStream context: %s", nox_nats_why(s, 0, w, sizeof w));
    atomic_store(&st->nats_ready, 1); /* publishes nc and js to the health check's thread */
    nox_status r = NOX_OK;
    /* the consumer is made (or found) by each worker before it binds: a missing stream is waited for */
    if (st->cfg.max_ack_pending < 2 * st->cfg.workers * st->cfg.fetch_batch)
        nox_log(NOX_LOG_WARN,
                "nats.max_ack_pending %" PRIu64 " is below 2 x workers x fetch_batch (%" PRIu64 "): a Runner killed "
                "without warning leaves its fetched batches unacked for ack_wait_s, and two such crashes can "
                "stop every delivery until then; raise it or lower fetch_batch",
                st->cfg.max_ack_pending, 2 * st->cfg.workers * st->cfg.fetch_batch);
    if (r) return r;
    n_workers = (size_t)st->cfg.workers;
    workers = calloc(n_workers, sizeof *workers);
    if (!workers) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_workers; i++)
        if (pthread_create(&workers[i], NULL, worker, st)) {
            n_workers = i;
            return nox_error_set(err, NOX_ERR_IO, "cannot start worker threads");
        }
    nox_log(NOX_LOG_INFO, "consuming %s/%s at %s with %zu worker(s), batches of %" PRIu64, st->cfg.stream,
            st->cfg.consumer, display, n_workers, st->cfg.fetch_batch);
    return NOX_OK;
}

void run_nats_wait(run_state *st) {
    (void)st;
    for (size_t i = 0; i < n_workers; i++) pthread_join(workers[i], NULL);
    free(workers);
    workers = NULL;
    n_workers = 0;
}

void run_nats_close(run_state *st) {
    if (st->js) jsCtx_Destroy(st->js);
    st->js = NULL;
    if (st->nc) {
        natsConnection_Close(st->nc);
        natsConnection_Destroy(st->nc);
    }
    st->nc = NULL;
}
