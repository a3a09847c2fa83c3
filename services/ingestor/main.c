/*
 * nox-ingestor — NoxCompute events to JetStream, one message per transaction
 * (spec §6, §9).
 *
 *   nox-ingestor --config FILE [--ready-file FILE]
 *
 * The main thread runs the loop (ingest_loop.c); a signal thread turns
 * SIGTERM/SIGINT into a stop request, after which the publish in flight is
 * finished (acked or abandoned by its own timeout), the checkpoint saved,
 * and the process exits 0. It exits 1 only for what waiting cannot fix: a
 * bad configuration, a node of another chain, a stream that contradicts
 * spec §6, an unreadable state file or wallet key file.
 *
 * Every message it publishes is signed with its wallet (wallet_key_file,
 * created 0600 when missing): docs/PROTOCOL-EXTENSIONS.md §8.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ingestor.h"
#include "nats_util.h"
#include "nox/events.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/service.h"

static void usage(FILE *f) {
    fprintf(f, "usage: nox-ingestor --config FILE [--ready-file FILE]\n"
               "Polls the chain for NoxCompute events and publishes one JetStream message per transaction\n"
               "(spec §6). Serves /health and /metrics; --ready-file receives their URL once served.\n");
}

static void *signal_thread(void *arg) {
    ing_state *st = arg;
    int sig = nox_service_wait_for_shutdown();
    if (!atomic_load(&st->stop))
        nox_log(NOX_LOG_INFO, "%s: stopping after the publish in flight; the checkpoint is saved",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
    ing_request_stop(st);
    return NULL;
}

/* GET /health: 200 when the RPC node answered the last call and NATS is connected with its streams checked. */
static int health(void *user, char *reason, size_t cap) {
    ing_state *st = user;
    char why[256];
    int rpc = atomic_load(&st->rpc_ok), nats = ing_nats_healthy(st->nats, why, sizeof why);
    if (rpc && nats) return 1;
    snprintf(reason, cap, "%s%s%s", rpc ? "" : "RPC node unreachable", !rpc && !nats ? ", " : "", nats ? "" : why);
    return 0;
}

static nox_status add_metrics(nox_http_server *s, ing_metrics *m, nox_error *err) {
    nox_status st = nox_http_gauge(s, "nox_ingestor_head_block", "The chain's latest block number.", &m->head_block, err);
    if (!st) st = nox_http_gauge(s, "nox_ingestor_checkpoint_block",
                                 "The last block whose transactions are all published (0 before the first).",
                                 &m->checkpoint_block, err);
    if (!st) st = nox_http_gauge(s, "nox_ingestor_lag_blocks", "Blocks between the head and the checkpoint.",
                                 &m->lag_blocks, err);
    if (!st) st = nox_http_counter(s, "nox_ingestor_messages_published_total",
                                   "Transaction messages acked by JetStream.", &m->published, err);
    if (!st) st = nox_http_counter(s, "nox_ingestor_duplicates_total",
                                   "Publishes JetStream acked as duplicates of an earlier one (re-published ranges).",
                                   &m->duplicates, err);
    if (!st) st = nox_http_counter(s, "nox_ingestor_dead_letters_total",
                                   "Transactions that could not become a message, published to nox_dead.",
                                   &m->dead_letters, err);
    if (!st) st = nox_http_counter(s, "nox_ingestor_refusals_total",
                                   "Messages, dead letters or failure notices NATS refused for good (skipped).",
                                   &m->refusals, err);
    if (!st) st = nox_http_counter(s, "nox_ingestor_failure_notices_total",
                                   "Failure notices published for the outputs of transactions that could not be queued.",
                                   &m->failure_notices, err);
    if (!st) st = nox_http_counter(s, "nox_ingestor_publish_errors_total", "Failed publish attempts (retried).",
                                   &m->publish_errors, err);
    if (!st) st = nox_http_counter(s, "nox_ingestor_rpc_errors_total", "Failed JSON-RPC calls (retried).",
                                   &m->rpc_errors, err);
    if (!st) st = nox_http_counter(s, "nox_ingestor_reorgs_total",
                                   "Checkpoint blocks replaced by a reorganisation deeper than confirmations.",
                                   &m->reorgs, err);
    return st;
}

static nox_status start_http(ing_state *st, const char *ready_file, nox_http_server **out, nox_error *err) {
    nox_http_options o;
    nox_http_options_default(&o);
    o.service = "ingestor";
    o.listen = st->cfg.listen;
    o.tls = &st->cfg.tls;
    o.metrics_listen = st->cfg.metrics_listen[0] ? st->cfg.metrics_listen : NULL;
    o.threads = 2;
    nox_http_server *server = NULL;
    nox_status s = nox_http_server_new(&o, &server, err);
    if (!s) s = add_metrics(server, &st->m, err);
    if (!s) {
        nox_http_set_health(server, health, st);
        s = nox_http_server_start(server, err);
    }
    if (s) {
        nox_http_server_free(server);
        return s;
    }
    if ((s = nox_service_announce(server, st->cfg.listen, "serving /health and /metrics", ready_file, err))) {
        nox_http_server_stop(server);
        nox_http_server_free(server);
        return s;
    }
    *out = server;
    return NOX_OK;
}

/* The wallet that signs every published message (docs/PROTOCOL-EXTENSIONS.md §8): loaded, or created (0600)
 * when its file is missing, as the Gateway's and the Runner's are. Only its address is logged. */
static nox_status load_wallet(ing_state *st, nox_error *err) {
    int created = 0;
    nox_status s = nox_ec_key_load_or_create(&st->wallet, st->cfg.wallet_key_file, &created, err);
    if (!s && created) nox_log(NOX_LOG_INFO, "created the wallet key file %s (mode 0600)", st->cfg.wallet_key_file);
    uint8_t addr[NOX_ADDRESS_SIZE];
    char text[2 * NOX_ADDRESS_SIZE + 3];
    if (!s) s = nox_ec_key_address(&st->wallet, addr, err);
    if (!s)
        nox_log(NOX_LOG_INFO, "wallet address %s: it signs every message published; list it in the Runners' "
                "ingestor_addresses", nox_hex_encode(addr, sizeof addr, text));
    return s;
}

static void log_start(const ing_state *st) {
    char addr[2 * NOX_ADDRESS_SIZE + 3], hash[67], nats[256];
    nox_hex_encode(st->cfg.nox_compute, NOX_ADDRESS_SIZE, addr);
    if (st->cp.present)
        nox_log(NOX_LOG_INFO, "resuming after the checkpoint: block %llu (%s)", (unsigned long long)st->cp.block_number,
                nox_hex_encode(st->cp.block_hash, 32, hash));
    else
        nox_log(NOX_LOG_INFO, "no checkpoint in %s: starting at start_block %llu", st->cfg.state_file,
                (unsigned long long)st->cfg.start_block);
    nox_log(NOX_LOG_INFO, "chain %u at %s, NoxCompute %s, %zu event topics, %llu confirmation(s), polling every %llu ms, "
            "up to %llu blocks per eth_getLogs; publishing to stream %s (%s.<txHash>) at %s", st->cfg.chain_id,
            nox_rpc_display_url(st->rpc), addr, nox_event_count(), (unsigned long long)st->cfg.confirmations,
            (unsigned long long)st->cfg.poll_interval_ms, (unsigned long long)st->cfg.max_block_range, st->cfg.stream,
            st->cfg.subject, nox_nats_display(st->cfg.nats_url, nats, sizeof nats));
}

int main(int argc, char **argv) {
    nox_service_block_signals(); /* before any thread exists */
    { /* it holds keys or plaintexts: never in a core dump, never traceable by another process */
        nox_error core_err = {0};
        if (nox_service_no_core_dumps(&core_err)) {
            fprintf(stderr, "nox-ingestor: %s\n", core_err.message);
            return 1;
        }
    }
    const char *config, *ready_file;
    switch (nox_service_parse_args(argc, argv, &config, &ready_file)) {
    case NOX_ARGS_HELP: usage(stdout); return 0;
    case NOX_ARGS_USAGE: usage(stderr); return 2;
    case NOX_ARGS_RUN: break;
    }
    nox_log_init("ingestor", NOX_LOG_INFO);
    static ing_state st; /* zeroed */
    nox_error err = {0};
    nox_http_server *server = NULL;
    pthread_t sig_thread;
    int sig_started = 0;
    nox_status s = ing_state_init(&st, &err);
    if (!s) s = ing_config_load(config, &st.cfg, &err);
    if (!s) {
        nox_log_init("ingestor", st.cfg.log_level);
        nox_log_set_json(st.cfg.log_json);
        s = ing_checkpoint_prepare(st.cfg.state_file, &err);
        if (!s) s = ing_checkpoint_load(st.cfg.state_file, st.cfg.chain_id, st.cfg.nox_compute, &st.cp, &err);
    }
    if (!s && st.cfg.operators[0]) {
        st.engine = nox_engine_new();
        if (!st.engine) s = nox_error_set(&err, NOX_ERR_NOMEM, "out of memory");
        else s = nox_engine_load_config(st.engine, st.cfg.operators, &err);
        if (!s)
            nox_log(NOX_LOG_INFO, "generic events named from %s (%zu operators)", st.cfg.operators,
                    nox_engine_op_count(st.engine));
    }
    if (!s) {
        nox_rpc_options o;
        nox_rpc_options_default(&o);
        o.url = st.cfg.rpc_url;
        o.tls = &st.cfg.rpc_tls;
        s = nox_rpc_new(&o, &st.rpc, &err);
    }
    if (!s) s = load_wallet(&st, &err);
    if (!s) s = ing_nats_new(&st.cfg, &st.wallet, &st.nats, &err);
    if (!s) s = start_http(&st, ready_file, &server, &err);
    if (!s) {
        if (pthread_create(&sig_thread, NULL, signal_thread, &st) == 0) sig_started = 1;
        else s = nox_error_set(&err, NOX_ERR_NOMEM, "cannot start the signal thread");
    }
    if (!s) {
        log_start(&st);
        s = ing_run(&st, &err);
    }
    if (s) nox_log(NOX_LOG_ERROR, "%s", err.message);
    if (sig_started) {
        if (!atomic_load(&st.stop)) { /* a fatal error: wake the signal thread so that it can be joined */
            ing_request_stop(&st);
            pthread_kill(sig_thread, SIGTERM);
        }
        pthread_join(sig_thread, NULL);
    }
    if (server) {
        nox_http_server_stop(server);
        nox_http_server_free(server);
    }
    ing_nats_free(st.nats);
    ing_nats_shutdown();
    nox_rpc_free(st.rpc);
    nox_engine_free(st.engine);
    nox_ec_key_wipe(&st.wallet);
    ing_state_destroy(&st);
    if (!s) nox_log(NOX_LOG_INFO, "stopped");
    return s ? 1 : 0;
}
