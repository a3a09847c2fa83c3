/*
 * JetStream side of the Runner: the durable pull consumer (explicit ack),
 * the dead-letter stream, and the worker threads that fetch in batches,
 * process, and ack / nak with delay / dead-letter.
 *
 * No connection callbacks (see the Ingestor's publisher.c): health asks
 * natsConnection_Status.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_util.h"
#include "nox/log.h"
#include "nox/rpc.h"
#include "runner.h"

#define NS_PER_S INT64_C(1000000000)

static pthread_t *workers;
static size_t n_workers;

static nox_status ensure_dead_stream(run_state *st, nox_error *err) {
    char w[256], subjects[160];
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    if (js_GetStreamInfo(&si, st->js, "nox_dead", NULL, &jerr) == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return NOX_OK;
    }
    snprintf(subjects, sizeof subjects, "%s.>", st->cfg.dead_subject);
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subj[1] = {subjects};
    sc.Name = "nox_dead";
    sc.Subjects = subj;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    sc.Duplicates = 10 * 60 * NS_PER_S;
    natsStatus s = js_AddStream(&si, st->js, &sc, NULL, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        nox_log(NOX_LOG_INFO, "created JetStream stream nox_dead (subjects %s)", subjects);
        return NOX_OK;
    }
    if (jerr == JSStreamNameExistErr) return NOX_OK;
    return nox_error_set(err, NOX_ERR_IO, "cannot create stream nox_dead: %s", nox_nats_why(s, jerr, w, sizeof w));
}

static nox_status ensure_consumer(run_state *st, nox_error *err) {
    char w[256];
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    if (js_GetConsumerInfo(&ci, st->js, st->cfg.stream, st->cfg.consumer, NULL, &jerr) == NATS_OK) {
        jsConsumerInfo_Destroy(ci);
        return NOX_OK;
    }
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = st->cfg.consumer;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = (int64_t)st->cfg.ack_wait_s * NS_PER_S;
    cc.MaxDeliver = (int64_t)st->cfg.max_deliver;
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

/* Publishes the message to <dead_subject>.<last token of its subject> with the reason; 0 on success. */
static int dead_letter(run_state *st, natsMsg *m, const char *reason) {
    const char *subj = natsMsg_GetSubject(m), *dot = strrchr(subj, '.');
    char subject[256], clean[512];
    snprintf(subject, sizeof subject, "%s.%s", st->cfg.dead_subject, dot ? dot + 1 : "unknown");
    size_t k = 0;
    for (const char *p = reason; *p && k + 1 < sizeof clean; p++) clean[k++] = (*p >= 32 && *p < 127) ? *p : '?';
    clean[k] = '\0';
    natsMsg *d = NULL;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s = natsMsg_Create(&d, subject, NULL, natsMsg_GetData(m), natsMsg_GetDataLength(m));
    if (s == NATS_OK) s = natsMsgHeader_Set(d, "Nox-Dead-Reason", clean);
    if (s == NATS_OK) s = js_PublishMsg(&pa, st->js, d, NULL, &jerr);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(d);
    if (s != NATS_OK) {
        char w[256];
        nox_log(NOX_LOG_WARN, "dead-letter publish to %s failed: %s", subject, nox_nats_why(s, jerr, w, sizeof w));
        return 1;
    }
    nox_log(NOX_LOG_WARN, "dead-lettered %s: %s", subject, clean);
    nox_counter_add(st->m.dead, 1);
    return 0;
}

static void handle(run_state *st, natsMsg *m) {
    uint64_t delivered = 1;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        delivered = meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    }
    if (delivered > 1) nox_counter_add(st->m.redeliveries, 1);
    atomic_fetch_add(&st->in_flight, 1);
    nox_gauge_set(st->m.in_flight, atomic_load(&st->in_flight));
    char reason[512] = "";
    enum run_outcome r = run_process(st, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), reason, sizeof reason);
    if (r == RUN_RETRY && delivered >= st->cfg.max_deliver) {
        char r2[sizeof reason];
        snprintf(r2, sizeof r2, "gave up after %" PRIu64 " deliveries: %.400s", delivered, reason);
        memcpy(reason, r2, sizeof reason);
        r = RUN_DEAD;
    }
    switch (r) {
    case RUN_OK:
        natsMsg_Ack(m, NULL);
        nox_counter_add(st->m.ok, 1);
        break;
    case RUN_RETRY: {
        int64_t delay = 250;
        for (uint64_t i = 1; i < delivered && delay < 30000; i++) delay *= 2;
        if (delay > 30000) delay = 30000;
        nox_log(NOX_LOG_INFO, "retrying %s in %" PRId64 " ms (delivery %" PRIu64 "): %s", natsMsg_GetSubject(m),
                delay, delivered, reason);
        natsMsg_NakWithDelay(m, delay, NULL);
        nox_counter_add(st->m.retried, 1);
        break;
    }
    case RUN_DEAD:
        if (dead_letter(st, m, reason)) natsMsg_NakWithDelay(m, 1000, NULL);
        else natsMsg_Ack(m, NULL);
        break;
    }
    atomic_fetch_sub(&st->in_flight, 1);
    nox_gauge_set(st->m.in_flight, atomic_load(&st->in_flight));
}

static void *worker(void *arg) {
    run_state *st = arg;
    natsSubscription *sub = NULL;
    while (!atomic_load(&st->stop)) {
        if (!sub) {
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
        for (int i = 0; i < list.Count; i++) {
            if (atomic_load(&st->stop)) natsMsg_Nak(list.Msgs[i], NULL); /* shutting down: hand it back */
            else handle(st, list.Msgs[i]);
        }
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
    nox_rpc_redact_url(st->cfg.nats_url, display, sizeof display);
    natsStatus s = nox_nats_options(&o, st->cfg.nats_url, "nox-runner");
    if (s == NATS_OK) s = natsConnection_Connect(&st->nc, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) return nox_error_set(err, NOX_ERR_IO, "cannot connect to NATS at %s: %s", display,
                                           nox_nats_why(s, 0, w, sizeof w));
    if ((s = natsConnection_JetStream(&st->js, st->nc, NULL)) != NATS_OK)
        return nox_error_set(err, NOX_ERR_IO, "no JetStream context: %s", nox_nats_why(s, 0, w, sizeof w));
    nox_status r = ensure_dead_stream(st, err);
    if (!r) r = ensure_consumer(st, err);
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
