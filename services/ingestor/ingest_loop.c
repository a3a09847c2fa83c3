/*
 * The Ingestor's loop: poll the head, take the next range of confirmed
 * blocks after the checkpoint, fetch NoxCompute's operation logs, group them
 * per transaction, publish one message per transaction (waiting for each
 * ack), then move the checkpoint past the range.
 *
 * Never skip, never exit on a transient failure: every RPC or NATS failure
 * is retried with capped exponential backoff, at the same place (a failed
 * publish is retried alone, not the whole range, so that a long NATS outage
 * does not re-publish messages older than JetStream's duplicate window).
 * A refusal that no retry can fix (a message larger than NATS accepts) is
 * not retried: the transaction is dead-lettered, the outputs the Ingestor
 * knows of are sent to the Runners as failed, and the loop goes on, so that
 * no transaction can hold up the ones after it.
 *
 * Delivery is at-least-once: a crash between a publish and the checkpoint
 * publishes the range again on restart, and JetStream drops the repeats by
 * their Nats-Msg-Id within its 10-minute duplicate window (spec §6).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingestor.h"
#include "nox/clock.h"
#include "nox/events.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/message.h"

/* ---- stopping and sleeping --------------------------------------------------------------- */

nox_status ing_state_init(ing_state *st, nox_error *err) {
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) || pthread_condattr_setclock(&a, CLOCK_MONOTONIC) || pthread_cond_init(&st->cv, &a))
        return nox_error_set(err, NOX_ERR_NOMEM, "cannot create a condition variable");
    pthread_condattr_destroy(&a);
    pthread_mutex_init(&st->mu, NULL);
    st->rpc_outage.what = "RPC node";
    st->nats_outage.what = "NATS";
    st->state_outage.what = "state file";
    return NOX_OK;
}

void ing_state_destroy(ing_state *st) {
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
}

static int stopping(ing_state *st) { return atomic_load(&st->stop); }

void ing_request_stop(ing_state *st) {
    pthread_mutex_lock(&st->mu);
    atomic_store(&st->stop, 1);
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* Sleeps ms milliseconds, or less when a stop is requested. */
static void nap(ing_state *st, unsigned ms) {
    struct timespec until = nox_clock_after_ms(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&st->mu);
    while (!stopping(st) && pthread_cond_timedwait(&st->cv, &st->mu, &until) == 0) {
    }
    pthread_mutex_unlock(&st->mu);
}

static void back_off(ing_state *st) { nap(st, ing_backoff_next(&st->backoff)); }

/* ---- bookkeeping --------------------------------------------------------------------------- */

static void rpc_failed(ing_state *st, const nox_error *e) {
    if (e->code == NOX_ERR_IO) atomic_store(&st->rpc_ok, 0); /* otherwise the node answered: it is reachable */
    nox_counter_add(st->m.rpc_errors, 1);
    ing_outage_fail(&st->rpc_outage, e->code, e->message);
}

static void rpc_succeeded(ing_state *st) {
    atomic_store(&st->rpc_ok, 1);
    ing_outage_ok(&st->rpc_outage);
}

/* The last block whose transactions are all published: the checkpoint, else the block before start_block. */
static double published_through(const ing_state *st) {
    return st->cp.present ? (double)st->cp.block_number : (double)st->cfg.start_block - 1;
}

static void update_gauges(ing_state *st, uint64_t head) {
    nox_gauge_set(st->m.head_block, (double)head);
    nox_gauge_set(st->m.checkpoint_block, st->cp.present ? (double)st->cp.block_number : 0);
    double lag = (double)head - published_through(st);
    nox_gauge_set(st->m.lag_blocks, lag > 0 ? lag : 0);
}

/* Saves the checkpoint, retrying until it is on disk or a stop is requested (then 1 is returned). */
static int save_checkpoint(ing_state *st) {
    for (;;) {
        nox_error e;
        if (!ing_checkpoint_save(st->cfg.state_file, st->cfg.chain_id, st->cfg.nox_compute, &st->cp, &e)) {
            ing_outage_ok(&st->state_outage);
            return 0;
        }
        ing_outage_fail(&st->state_outage, e.code, e.message);
        if (stopping(st)) return 1;
        back_off(st);
    }
}

/* ---- publishing ------------------------------------------------------------------------------ */

/*
 * One publish, retried across transient failures until JetStream acks it (*duplicate: it had it
 * already). NOX_OK when acked; NOX_ERR_INVALID when NATS refuses it for good (err says why: counted
 * and logged by the caller); NOX_ERR_IO when a stop was requested first; NOX_ERR_CONFIG or
 * NOX_ERR_NOMEM (fatal, err set).
 */
static nox_status publish_retrying(ing_state *st, const char *stream, const char *subject, const char *id,
                                   const char *dead_reason, const char *body, int *duplicate, nox_error *err) {
    while (!stopping(st)) {
        nox_error e;
        *duplicate = 0;
        nox_status s = ing_nats_ready(st->nats, &e);
        if (!s) s = ing_nats_publish(st->nats, stream, subject, id, dead_reason, body, strlen(body), duplicate, &e);
        if (!s) {
            ing_outage_ok(&st->nats_outage);
            ing_backoff_reset(&st->backoff);
            if (*duplicate) nox_counter_add(st->m.duplicates, 1);
            nox_log(NOX_LOG_DEBUG, "published %s (%zu bytes, id %s)%s", subject, strlen(body), id,
                    *duplicate ? ": a duplicate, JetStream kept the first" : "");
            return NOX_OK;
        }
        if (s == NOX_ERR_INVALID || s == NOX_ERR_CONFIG || s == NOX_ERR_NOMEM) {
            if (s == NOX_ERR_INVALID) ing_outage_ok(&st->nats_outage); /* NATS answered */
            *err = e;
            return s;
        }
        nox_counter_add(st->m.publish_errors, 1);
        ing_outage_fail(&st->nats_outage, e.code, e.message);
        back_off(st);
    }
    return NOX_ERR_IO;
}

/* A permanent refusal: one ERROR line, counted; the caller goes on. */
static void refused(ing_state *st, const char *what, const char *hash, const nox_error *e) {
    nox_counter_add(st->m.refusals, 1);
    nox_log(NOX_LOG_ERROR, "transaction %s: %s refused for good, skipped: %s", hash, what, e->message);
}

/* The bounded dead letter of tx on nox_dead.<txHash> with `reason`. Same statuses as publish_retrying, but a
 * permanent refusal is counted, logged and answered NOX_OK. */
static nox_status publish_dead_letter(ing_state *st, const nox_event_tx *tx, const char *hash, const char *id,
                                      const char *reason, nox_error *err) {
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s", ING_DEAD_SUBJECT, hash);
    char *body = ing_dead_letter_body(st->cfg.chain_id, tx, reason);
    if (!body) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory building a dead letter");
    int duplicate = 0;
    nox_status s = publish_retrying(st, ING_DEAD_STREAM, subject, id, reason, body, &duplicate, err);
    free(body);
    if (!s) nox_counter_add(st->m.dead_letters, 1);
    if (s == NOX_ERR_INVALID) {
        refused(st, "its dead letter", hash, err);
        s = NOX_OK;
    }
    return s;
}

/*
 * Failure notices for every output of tx that the Ingestor knows of, on the work subject of tx
 * (docs/PROTOCOL-EXTENSIONS.md §5): as many as the server's max_payload requires, the first with the
 * transaction's message id (it replaces the message that could not be queued), the k-th with "<id>/k".
 * A Runner records a failure with `reason` for each handle. Statuses as publish_dead_letter.
 */
static nox_status publish_failure_notices(ing_state *st, const nox_event_tx *tx, const char *hash, const char *id,
                                          const char *reason, nox_error *err) {
    nox_handle *outs = NULL;
    size_t n = ing_known_outputs(tx, st->cfg.chain_id, &outs);
    if (!outs) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory listing the outputs of transaction %s", hash);
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s", st->cfg.subject, hash);
    /* ~69 bytes of JSON a handle; 1 KiB for the rest of the notice, and room for the signed headers
     * (max_payload counts headers and data) */
    int64_t room = (ing_nats_max_payload(st->nats) - 1024 - ING_SIGNED_HEADERS_MAX) / 69;
    size_t per = room < 1 ? 1 : room > NOX_MESSAGE_MAX_FAILED ? NOX_MESSAGE_MAX_FAILED : (size_t)room;
    nox_status s = NOX_OK;
    size_t sent = 0;
    for (size_t at = 0, k = 0; !s && at < n; at += per, k++) {
        char *body = NULL, kid[NOX_MESSAGE_ID_LEN + 24];
        size_t count = n - at < per ? n - at : per;
        snprintf(kid, sizeof kid, k ? "%s/%zu" : "%s", id, k);
        if ((s = ing_failure_notice(st->cfg.chain_id, tx, reason, outs + at, count, &body, err))) break;
        int duplicate = 0;
        s = publish_retrying(st, st->cfg.stream, subject, kid, NULL, body, &duplicate, err);
        free(body);
        if (!s) {
            nox_counter_add(st->m.failure_notices, 1);
            sent += count;
        } else if (s == NOX_ERR_INVALID) {
            refused(st, "a failure notice", hash, err);
            s = NOX_OK;
        }
    }
    free(outs);
    if (!s && n)
        nox_log(NOX_LOG_ERROR, "transaction %s: %zu of its %zu known output handle(s) sent to the Runners as failed "
                "(%s)", hash, sent, n, reason);
    return s;
}

/*
 * Publishes one transaction: its message; or, when it cannot become one, its dead letter and failure
 * notices for the outputs the Ingestor knows of. A message that NATS refuses for good (larger than
 * max_payload, or than the stream's maximum message size) is treated the same way: the refusal is
 * logged at ERROR and counted, and the loop goes on, so that no transaction can hold up the others.
 * Returns NOX_OK when done (*was_duplicate: the message was in JetStream already), NOX_ERR_CONFIG
 * (fatal) or NOX_ERR_NOMEM with err set, or NOX_ERR_IO when a stop was requested first.
 */
static nox_status publish_tx(ing_state *st, const nox_event_tx *tx, int *was_duplicate, int *was_dead,
                             nox_error *err) {
    char hash[67], subject[256], id[NOX_MESSAGE_ID_LEN + 1], reason[NOX_ERROR_MAX + 128];
    nox_hex_encode(tx->tx_hash, 32, hash);
    nox_message_id(st->cfg.chain_id, tx->tx_hash, id);
    *was_dead = 1;
    if (tx->status == NOX_OK) {
        char *body = NULL;
        /* the message was validated when it was built: only memory can fail here */
        nox_status s = nox_message_to_json(&tx->msg, &body, err);
        if (s) return s;
        snprintf(subject, sizeof subject, "%s.%s", st->cfg.subject, hash);
        s = publish_retrying(st, st->cfg.stream, subject, id, NULL, body, was_duplicate, err);
        free(body);
        if (s != NOX_ERR_INVALID) {
            if (!s) {
                *was_dead = 0;
                nox_counter_add(st->m.published, 1);
            }
            return s;
        }
        refused(st, "its message", hash, err);
        snprintf(reason, sizeof reason, "the Ingestor could not queue the transaction: %s", err->message);
    } else {
        nox_log(NOX_LOG_ERROR, "transaction %s (block %" PRIu64 ", %zu NoxCompute log(s)) cannot become a queue "
                "message: %s; publishing its logs to %s.%s for an operator (spec §6: never silently dropped)", hash,
                tx->block_number, tx->n_logs, tx->error.message, ING_DEAD_SUBJECT, hash);
        snprintf(reason, sizeof reason, "%s", tx->error.message);
    }
    nox_status s = publish_dead_letter(st, tx, hash, id, reason, err);
    if (!s) s = publish_failure_notices(st, tx, hash, id, reason, err);
    return s;
}

/* ---- one range of blocks ---------------------------------------------------------------------- */

/*
 * A stop during a range: the checkpoint moves to the last block whose
 * transactions are all acked (the block before the first unpublished one),
 * if it is past the old checkpoint and its hash can be read at once.
 */
static void save_partial(ing_state *st, uint64_t from, const nox_event_tx *txs, size_t n_txs, size_t done) {
    if (done == 0) return;
    uint64_t last = done < n_txs ? txs[done].block_number - 1 : txs[n_txs - 1].block_number;
    if (last < from) return;
    nox_rpc_block b;
    nox_error e;
    if (nox_rpc_get_block(st->rpc, last, &b, &e)) {
        nox_log(NOX_LOG_WARN, "stopping: cannot read block %" PRIu64 " for the checkpoint (%s); the next start "
                "publishes from block %" PRIu64 " again (JetStream drops the repeats within 10 minutes)", last,
                e.message, from);
        return;
    }
    st->cp.present = 1;
    st->cp.block_number = last;
    memcpy(st->cp.block_hash, b.hash, 32);
    save_checkpoint(st);
}

/*
 * Processes blocks from..to. Returns NOX_OK when the range is published and
 * the checkpoint saved (or a stop interrupted it, after saving what is
 * complete), NOX_ERR_CONFIG / NOX_ERR_NOMEM (fatal, err set), or another
 * status after a transient failure that was already counted and logged.
 */
static nox_status process_range(ing_state *st, uint64_t from, uint64_t to, const uint8_t (*topics)[32],
                                size_t n_topics, nox_error *err) {
    nox_error e;
    nox_rpc_block end;
    nox_status s = nox_rpc_get_block(st->rpc, to, &end, &e);
    if (s) {
        rpc_failed(st, &e);
        return s;
    }
    nox_rpc_log_filter f;
    memset(&f, 0, sizeof f);
    memcpy(f.address, st->cfg.nox_compute, NOX_ADDRESS_SIZE);
    f.topic0 = topics;
    f.n_topic0 = n_topics;
    f.from_block = from;
    f.to_block = to;
    nox_rpc_log *logs = NULL;
    size_t n_logs = 0;
    s = nox_rpc_get_logs(st->rpc, &f, &logs, &n_logs, &e);
    if (s) {
        rpc_failed(st, &e);
        if ((s == NOX_ERR_REMOTE || s == NOX_ERR_INVALID) && to > from) {
            st->range = (to - from + 1) / 2;
            nox_log(NOX_LOG_WARN, "eth_getLogs over blocks %" PRIu64 "..%" PRIu64 " failed; asking for %" PRIu64
                    " block(s) at a time", from, to, st->range);
        }
        return s;
    }
    nox_event_tx *txs = NULL;
    size_t n_txs = 0;
    s = nox_events_group(logs, n_logs, st->cfg.chain_id, st->cfg.nox_compute, &txs, &n_txs, &e);
    for (size_t i = 0; !s && i < n_logs; i++)
        if (logs[i].block_number == to && memcmp(logs[i].block_hash, end.hash, 32))
            s = nox_error_set(&e, NOX_ERR_INVALID, "block %" PRIu64 " changed between eth_getBlockByNumber and "
                              "eth_getLogs: the range is being reorganised", to);
    if (s) {
        nox_event_txs_free(txs, n_txs);
        nox_rpc_logs_free(logs, n_logs);
        if (s == NOX_ERR_NOMEM) {
            *err = e;
            return s;
        }
        rpc_failed(st, &e);
        return s;
    }
    rpc_succeeded(st);
    ing_name_generic_events(st->engine, txs, n_txs);

    size_t done = 0, dead = 0, repeats = 0;
    for (; done < n_txs; done++) {
        int duplicate = 0, was_dead = 0;
        s = publish_tx(st, &txs[done], &duplicate, &was_dead, err);
        if (s) break;
        dead += (size_t)was_dead;
        repeats += (size_t)duplicate;
    }
    if (s == NOX_ERR_IO) { /* stopped before the ack */
        save_partial(st, from, txs, n_txs, done);
        s = NOX_OK;
    } else if (!s) {
        st->cp.present = 1;
        st->cp.block_number = to;
        memcpy(st->cp.block_hash, end.hash, 32);
        save_checkpoint(st);
        if (n_txs)
            nox_log(NOX_LOG_INFO, "blocks %" PRIu64 "..%" PRIu64 ": %zu transaction(s) published, %zu dead-lettered%s",
                    from, to, n_txs - dead, dead,
                    repeats == n_txs ? " (all already in JetStream: a re-published range)"
                    : repeats ? " (some already in JetStream: a re-published range)" : "");
        else
            nox_log(NOX_LOG_DEBUG, "blocks %" PRIu64 "..%" PRIu64 ": no NoxCompute events", from, to);
        if (st->range < st->cfg.max_block_range)
            st->range = st->range * 2 < st->cfg.max_block_range ? st->range * 2 : st->cfg.max_block_range;
    }
    nox_event_txs_free(txs, n_txs);
    nox_rpc_logs_free(logs, n_logs);
    return s;
}

/*
 * A reorganisation deeper than `confirmations` replaced the checkpoint block.
 * What was published from the replaced blocks cannot be taken back, and how
 * far back the fork goes is unknown, so the Ingestor does not guess: it says
 * so loudly, adopts the new hash (one alert per reorganisation) and goes on
 * after the checkpoint. An operator who wants the new blocks re-scanned
 * lowers blockNumber in the state file and restarts.
 */
static nox_status check_reorg(ing_state *st) {
    nox_rpc_block b;
    nox_error e;
    nox_status s = nox_rpc_get_block(st->rpc, st->cp.block_number, &b, &e);
    if (s) {
        rpc_failed(st, &e);
        return s;
    }
    if (!memcmp(b.hash, st->cp.block_hash, 32)) return NOX_OK;
    char was[67], now[67];
    nox_log(NOX_LOG_ERROR, "REORGANISATION DEEPER THAN %" PRIu64 " CONFIRMATIONS: block %" PRIu64 " (the checkpoint) "
            "is now %s, it was %s when its transactions were published. Messages already published from replaced "
            "blocks may describe transactions that no longer exist, and transactions of the new blocks up to %" PRIu64
            " are not published. The Ingestor continues after block %" PRIu64 "; to re-scan, stop it, lower "
            "blockNumber in %s and start it again, and raise confirmations", st->cfg.confirmations,
            st->cp.block_number, nox_hex_encode(b.hash, 32, now), nox_hex_encode(st->cp.block_hash, 32, was),
            st->cp.block_number, st->cp.block_number, st->cfg.state_file);
    nox_counter_add(st->m.reorgs, 1);
    memcpy(st->cp.block_hash, b.hash, 32);
    save_checkpoint(st);
    return NOX_OK;
}

/* Waits for the node, then checks that it serves the configured chain (a mismatch is fatal). */
static nox_status check_chain(ing_state *st, nox_error *err) {
    uint64_t chain = 0;
    for (;;) {
        if (stopping(st)) return NOX_OK;
        nox_error e;
        if (!nox_rpc_chain_id(st->rpc, &chain, &e)) break;
        rpc_failed(st, &e);
        back_off(st);
    }
    rpc_succeeded(st);
    ing_backoff_reset(&st->backoff);
    if (chain != st->cfg.chain_id)
        return nox_error_set(err, NOX_ERR_CONFIG, "the node at %s serves chain %" PRIu64 ", the configuration says "
                             "chain_id %" PRIu32 "; point rpc_url at a node of chain %" PRIu32 " or correct chain_id",
                             nox_rpc_display_url(st->rpc), chain, st->cfg.chain_id, st->cfg.chain_id);
    char addr[2 * NOX_ADDRESS_SIZE + 3];
    nox_hex_encode(st->cfg.nox_compute, NOX_ADDRESS_SIZE, addr);
    json_t *code = NULL;
    nox_error e;
    if (!nox_rpc_call(st->rpc, "eth_getCode", json_pack("[ss]", addr, "latest"), &code, NULL, &e) &&
        json_is_string(code) && json_string_length(code) <= 2)
        nox_log(NOX_LOG_WARN, "there is no contract at nox_compute %s on chain %" PRIu32 " (yet?): check the "
                "address; the Ingestor polls it anyway", addr, st->cfg.chain_id);
    json_decref(code);
    return NOX_OK;
}

nox_status ing_run(ing_state *st, nox_error *err) {
    size_t n_topics = nox_event_count();
    uint8_t topics[32][32];
    for (size_t i = 0; i < n_topics; i++) memcpy(topics[i], nox_event_at(i)->topic0, 32);
    st->range = st->cfg.max_block_range;

    nox_status s = check_chain(st, err);
    if (s || stopping(st)) return s;
    while (!stopping(st)) {
        nox_error e;
        s = ing_nats_ready(st->nats, &e);
        if (s == NOX_ERR_CONFIG) {
            *err = e;
            return s;
        }
        if (s) {
            ing_outage_fail(&st->nats_outage, e.code, e.message);
            back_off(st);
            continue;
        }
        ing_outage_ok(&st->nats_outage);

        uint64_t head;
        if (nox_rpc_block_number(st->rpc, &head, &e)) {
            rpc_failed(st, &e);
            back_off(st);
            continue;
        }
        rpc_succeeded(st);
        update_gauges(st, head);
        uint64_t next = st->cp.present ? st->cp.block_number + 1 : st->cfg.start_block;
        if (st->cp.present && head < st->cp.block_number && !st->head_behind)
            nox_log(NOX_LOG_WARN, "the node's head %" PRIu64 " is below the checkpoint %" PRIu64 ": a node still "
                    "syncing, or a chain that was reset (then point state_file at a new path); waiting", head,
                    st->cp.block_number);
        st->head_behind = st->cp.present && head < st->cp.block_number;
        if (head < st->cfg.confirmations || head - st->cfg.confirmations < next) {
            ing_backoff_reset(&st->backoff);
            nap(st, (unsigned)st->cfg.poll_interval_ms);
            continue;
        }
        uint64_t safe = head - st->cfg.confirmations;
        if (st->cp.present && check_reorg(st)) {
            back_off(st);
            continue;
        }
        uint64_t to = next + st->range - 1;
        if (to > safe || to < next) to = safe;
        s = process_range(st, next, to, (const uint8_t(*)[32])topics, n_topics, err);
        if (s == NOX_ERR_CONFIG || s == NOX_ERR_NOMEM) return s;
        if (s) {
            back_off(st);
            continue;
        }
        ing_backoff_reset(&st->backoff);
        update_gauges(st, head);
        if (to >= safe) nap(st, (unsigned)st->cfg.poll_interval_ms);
    }
    return NOX_OK;
}

void ing_name_generic_events(const nox_engine *engine, nox_event_tx *txs, size_t n) {
    for (size_t t = 0; engine && t < n; t++) {
        nox_event_tx *tx = &txs[t];
        if (tx->status != NOX_OK) continue;
        int renamed = 0;
        for (size_t i = 0; i < tx->msg.n_events; i++) {
            nox_message_event *e = &tx->msg.events[i];
            const nox_op *op = e->op ? NULL : nox_engine_find_id(engine, e->operator_id);
            if (!op) continue;
            snprintf(e->name, sizeof e->name, "%s", nox_op_name(op));
            renamed = 1;
        }
        if (renamed && (tx->status = nox_message_validate(&tx->msg, &tx->error)) != NOX_OK)
            nox_message_free(&tx->msg);
    }
}
