/*
 * nox-runner — consumes TransactionMessages from JetStream, computes on
 * plaintexts, stores encrypted results through the Gateway (spec §5, §6, §7.3-7.4).
 *
 *   nox-runner --config FILE [--ready-file FILE]
 *
 * SIGTERM/SIGINT: the workers stop fetching, finish the message in hand
 * (messages of the batch not started are nak-ed), and the process exits 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nox/attest.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/service.h"
#include "nats_util.h"
#include "runner.h"

static void usage(FILE *f) {
    fprintf(f, "usage: nox-runner --config FILE [--ready-file FILE]\n"
               "Runs the computations of the NoxCompute events queued in JetStream (spec §5-§7).\n"
               "Serves /health and /metrics; --ready-file receives their URL once served.\n");
}

nox_status run_kms_key(run_state *st, uint32_t chain_id, nox_ec_pubkey *out, nox_error *err) {
    pthread_mutex_lock(&st->kms_mu);
    nox_status s = NOX_OK;
    if (st->kms_chain != chain_id && st->kms_chain != UINT32_MAX) { /* UINT32_MAX: the group file's key, for all */
        uint8_t pub[NOX_EC_PUBKEY_COMPRESSED_SIZE];
        s = nox_kms_fetch_public_key(st->kms, chain_id, st->cfg.kms_address, pub, NULL, err);
        if (!s) s = nox_ec_pubkey_parse_compressed(&st->kms_key, pub, sizeof pub, err);
        if (!s) st->kms_chain = chain_id;
    }
    if (!s) *out = st->kms_key;
    pthread_mutex_unlock(&st->kms_mu);
    return s;
}

/* Probes the Gateway's and the KMS's /health, at most once a second (concurrent callers use the last answers). */
static void probe(run_state *st) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static struct timespec last;
    if (pthread_mutex_trylock(&mu)) return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (last.tv_sec == 0 || now.tv_sec - last.tv_sec >= 1) {
        nox_error e = {0};
        atomic_store(&st->gateway_ok, nox_gateway_ping(st->gw, "/health", &e) == NOX_OK);
        atomic_store(&st->kms_ok, !st->kms || nox_kms_ping(st->kms, &e) == NOX_OK); /* a group file: no KMS call */
        char why[sizeof st->stream_why];
        int ready = atomic_load(&st->nats_ready) && nox_nats_stream_ready(st->js, st->cfg.stream, 500, why, sizeof why);
        if (!ready) snprintf(st->stream_why, sizeof st->stream_why, "%s", atomic_load(&st->nats_ready) ? why : "no JetStream yet");
        atomic_store(&st->stream_ok, ready);
        last = now;
    }
    pthread_mutex_unlock(&mu);
}

static int health(void *user, char *reason, size_t cap) {
    run_state *st = user;
    probe(st);
    int n = atomic_load(&st->nats_ready) && natsConnection_Status(st->nc) == NATS_CONN_STATUS_CONNECTED;
    int g = atomic_load(&st->gateway_ok), k = atomic_load(&st->kms_ok), j = !n || atomic_load(&st->stream_ok);
    if (n && g && k && j) return 1;
    snprintf(reason, cap, "%s%s%s%s%s", n ? "" : "NATS unreachable; ", j ? "" : st->stream_why, j ? "" : "; ",
             g ? "" : "Gateway unhealthy; ", k ? "" : "KMS unhealthy");
    return 0;
}

static void *signal_thread(void *arg) {
    run_state *st = arg;
    nox_service_wait_for_shutdown();
    nox_log(NOX_LOG_INFO, "stopping: finishing the messages in hand");
    atomic_store(&st->stop, 1);
    return NULL;
}

static nox_status add_metrics(nox_http_server *s, run_state *st, nox_error *err) {
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
    static const char *const stages[RUN_STAGES] = {"fetch", "decrypt", "eval", "encrypt", "publish"};
    run_metrics *m = &st->m;
    nox_status r = nox_http_counter(s, "nox_runner_messages_ok_total", "Messages whose results are stored (acked).",
                                    &m->ok, err);
    if (!r) r = nox_http_counter(s, "nox_runner_messages_waiting_total",
                                 "Messages nak-ed because an operand is not stored yet (its transaction in flight).",
                                 &m->waited, err);
    if (!r) r = nox_http_counter(s, "nox_runner_messages_retried_total",
                                 "Messages nak-ed with a delay after a transient failure.", &m->retried, err);
    if (!r) r = nox_http_counter(s, "nox_runner_messages_dead_total",
                                 "Messages published to the dead-letter stream: given up on as a whole, or with "
                                 "failed events (after their other results were stored).",
                                 &m->dead, err);
    if (!r) r = nox_http_counter(s, "nox_runner_redeliveries_total", "Messages received more than once.",
                                 &m->redeliveries, err);
    if (!r) r = nox_http_gauge(s, "nox_runner_in_flight", "Messages being processed.", &m->in_flight, err);
    for (size_t i = 0; !r && i < RUN_STAGES; i++) {
        char name[96], help[128];
        snprintf(name, sizeof name, "nox_runner_%s_seconds", stages[i]);
        snprintf(help, sizeof help, "Latency of the %s stage per message.", stages[i]);
        r = nox_http_histogram(s, name, help, bounds, sizeof bounds / sizeof bounds[0], &m->stage[i], err);
    }
    /* one counter per cause, named like events_by_op */
    static const char *const why[RUN_CAUSES] = {
        [RUN_CAUSE_UNKNOWN_OPERATOR] = "its operator (name or id) is not enabled on this Runner",
        [RUN_CAUSE_NAME_MISMATCH] = "its type is not this Runner's name for its operator id",
        [RUN_CAUSE_TYPE_ERROR] = "the operator refuses its operand or declared output types",
        [RUN_CAUSE_UNSUPPORTED_TYPE] = "a plaintext_to_encrypted of a type the Runner cannot encode",
        [RUN_CAUSE_PLUGIN_ERROR] = "the operator's plugin misbehaved",
        [RUN_CAUSE_FAILED_OPERAND] = "it consumes a handle that has a failure record",
        [RUN_CAUSE_DEPENDENCY] = "it consumes an output of a failed event of its message",
        [RUN_CAUSE_MESSAGE] = "its whole message was dead-lettered",
    };
    for (size_t c = 0; !r && c < RUN_CAUSES; c++) {
        char name[96], help[160];
        snprintf(name, sizeof name, "nox_runner_failed_events_%s_total", run_cause_names[c]);
        snprintf(help, sizeof help, "Events whose outputs were recorded failed: %s.", why[c]);
        r = nox_http_counter(s, name, help, &m->failed_events[c], err);
    }
    if (!r) r = nox_http_counter(s, "nox_runner_results_created_total",
                                 "Results the Gateway stored (POST /v0/compute/results: created).", &m->results_created,
                                 err);
    if (!r) r = nox_http_counter(s, "nox_runner_results_unchanged_total",
                                 "Results the Gateway already had with the same handleValueTag (a redelivery or a "
                                 "replay: nothing stored).", &m->results_unchanged, err);
    if (!r) r = nox_http_counter(s, "nox_runner_results_conflicted_total",
                                 "Results the Gateway refused: another value is stored for the handle.",
                                 &m->results_conflicted, err);
    /* messages refused before any work (docs/PROTOCOL-EXTENSIONS.md §8), one counter per verdict */
    static const char *const refused[NOX_QUEUE_VERDICTS] = {
        [NOX_QUEUE_UNSIGNED] = "no Nox-Signature header",
        [NOX_QUEUE_MALFORMED] = "a malformed or repeated signature header (hex, v, r/s, high s), or no Nox-Signer",
        [NOX_QUEUE_UNKNOWN_SIGNER] = "signed by an address not in ingestor_addresses",
        [NOX_QUEUE_MISMATCH] = "the signature is not over this body, subject, stream, reason and chain",
    };
    for (size_t v = NOX_QUEUE_OK + 1; !r && v < NOX_QUEUE_VERDICTS; v++) {
        char name[96], help[200];
        snprintf(name, sizeof name, "nox_runner_rejected_messages_%s_total", nox_queue_verdict_names[v]);
        snprintf(help, sizeof help, "Messages dead-lettered unprocessed, not signed by a trusted Ingestor: %s.",
                 refused[v]);
        r = nox_http_counter(s, name, help, &m->rejected[v], err);
    }
    { /* docs/PROTOCOL-EXTENSIONS.md §11: a KMS node named by a failed DLEQ proof */
        char labels[NOX_TH_MAX_NODES][8];
        const char *values[NOX_TH_MAX_NODES];
        for (unsigned i = 0; i < NOX_TH_MAX_NODES; i++) {
            snprintf(labels[i], sizeof labels[i], "%u", i + 1);
            values[i] = labels[i];
        }
        if (!r) r = nox_http_counters(s, "nox_runner_kms_bad_partials_total",
                                      "Operands whose partial from this KMS node failed its DLEQ proof (the node was "
                                      "left out of the combination).", "node", values, NOX_TH_MAX_NODES,
                                      m->bad_partials, err);
    }
    size_t n_ops = nox_engine_op_count(st->engine);
    m->events_by_op = calloc(n_ops ? n_ops : 1, sizeof *m->events_by_op);
    if (!m->events_by_op && !r) r = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !r && i < n_ops; i++) {
        char name[128];
        snprintf(name, sizeof name, "nox_runner_events_%s_total", nox_op_name(nox_engine_op_at(st->engine, i)));
        r = nox_http_counter(s, name, "Events evaluated by this operator.", &m->events_by_op[i], err);
    }
    return r;
}

/* Whose signed messages are computed (docs/PROTOCOL-EXTENSIONS.md §8); a warning when this Runner's own wallet is
 * among them: its dead letters carry the bodies it refused, and one key should not play both roles. */
static void log_ingestors(const run_state *st) {
    char list[RUN_MAX_INGESTORS * (2 * NOX_ADDRESS_SIZE + 4)] = "", hex[2 * NOX_ADDRESS_SIZE + 3];
    uint8_t own[NOX_ADDRESS_SIZE];
    nox_error err = {0};
    int own_listed = 0, have_own = nox_ec_key_address(&st->wallet, own, &err) == NOX_OK;
    for (size_t i = 0; i < st->cfg.n_ingestors; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                 nox_hex_encode(st->cfg.ingestors[i], NOX_ADDRESS_SIZE, hex));
        own_listed |= have_own && !memcmp(own, st->cfg.ingestors[i], NOX_ADDRESS_SIZE);
    }
    nox_log(NOX_LOG_INFO, "computing only messages signed by the Ingestor wallet(s) %s; any other is refused "
            "unprocessed", list);
    if (own_listed)
        nox_log(NOX_LOG_WARN, "ingestor_addresses lists this Runner's own wallet: give the Ingestor a wallet of its "
                "own (a Runner's key should never be able to queue work)");
}

static nox_status start_http(run_state *st, const char *ready_file, nox_http_server **out, nox_error *err) {
    nox_http_options o;
    nox_http_options_default(&o);
    o.service = "runner";
    o.listen = st->cfg.listen;
    o.tls = &st->cfg.tls;
    o.metrics_listen = st->cfg.metrics_listen[0] ? st->cfg.metrics_listen : NULL;
    o.threads = 2;
    nox_http_server *server = NULL;
    nox_status s = nox_http_server_new(&o, &server, err);
    if (!s) s = add_metrics(server, st, err);
    if (!s) nox_gateway_client_set_requester(st->gw, st->rsa, st->m.bad_partials);
    if (!s) {
        nox_http_set_health(server, health, st);
        s = nox_http_server_start(server, err);
    }
    if (s) {
        nox_http_server_free(server);
        return s;
    }
    *out = server;
    return nox_service_announce(server, st->cfg.listen, "serving /health and /metrics", ready_file, err);
}

int main(int argc, char **argv) {
    nox_service_block_signals();
    { /* it holds keys or plaintexts: never in a core dump, never traceable by another process */
        nox_error core_err = {0};
        if (nox_service_no_core_dumps(&core_err)) {
            fprintf(stderr, "nox-runner: %s\n", core_err.message);
            return 1;
        }
    }
    const char *config, *ready_file;
    switch (nox_service_parse_args(argc, argv, &config, &ready_file)) {
    case NOX_ARGS_HELP: usage(stdout); return 0;
    case NOX_ARGS_USAGE: usage(stderr); return 2;
    case NOX_ARGS_RUN: break;
    }
    nox_log_init("runner", NOX_LOG_INFO);
    static run_state st;
    pthread_mutex_init(&st.kms_mu, NULL);
    nox_error err = {0};
    nox_http_server *server = NULL;
    nox_status s = run_config_load(config, &st.cfg, &err);
    if (!s) {
        nox_log_init("runner", st.cfg.log_level);
        nox_log_set_json(st.cfg.log_json);
        st.engine = nox_engine_new();
        s = st.engine ? nox_engine_load_config(st.engine, st.cfg.operators, &err)
                      : nox_error_set(&err, NOX_ERR_NOMEM, "out of memory");
    }
    if (!s) s = nox_ec_key_load_or_create(&st.wallet, st.cfg.wallet_key_file, NULL, &err);
    if (!s) s = nox_rsa_generate(2048, &st.rsa, &err);
    if (!s) s = nox_rsa_spki_hex(st.rsa, st.rsa_spki_hex, sizeof st.rsa_spki_hex, &err);
    if (!s) {
        nox_gateway_signing sg = {.lifetime_s = (unsigned)st.cfg.authorization_lifetime_s};
        memcpy(sg.gateway_address, st.cfg.gateway_address, NOX_ADDRESS_SIZE);
        s = nox_gateway_client_new(st.cfg.gateway_url, &st.cfg.gateway_tls, &st.wallet, &sg, 10000, &st.gw, &err);
        if (!s) nox_gateway_client_set_requester(st.gw, st.rsa, NULL); /* the counters: start_http */
    }
    if (!s && st.cfg.attestation_provider[0]) { /* a TEE quote for each Gateway URL (docs/operators.md §14) */
        s = nox_attest_provider_load(st.cfg.attestation_provider, st.cfg.attestation_config, &st.attest, &err);
        if (!s) s = nox_gateway_client_set_attestation(st.gw, st.attest, st.cfg.gateway_tls.cert_file, &err);
        nox_error aerr = {0};
        if (!s && nox_gateway_client_attest(st.gw, &aerr)) /* logged; asked again when a Gateway requires it */
            nox_log(NOX_LOG_WARN, "attestation at start did not succeed everywhere: requests will present a quote "
                    "again when a Gateway answers attestation_required");
    }
    if (!s && st.cfg.kms_group_file[0]) { /* the group's key, pinned: every chain, no KMS call */
        nox_th_group g;
        s = nox_th_group_load(st.cfg.kms_group_file, &g, &err);
        if (!s) s = nox_ec_pubkey_parse_compressed(&st.kms_key, g.public_key, sizeof g.public_key, &err);
        st.kms_chain = UINT32_MAX;
    } else if (!s) {
        nox_kms_options o;
        nox_kms_options_default(&o);
        o.url = st.cfg.kms_url;
        o.tls = &st.cfg.kms_tls;
        s = nox_kms_client_new(&o, &st.kms, &err);
    }
    if (!s) {
        uint8_t addr[NOX_ADDRESS_SIZE];
        char hex[2 * NOX_ADDRESS_SIZE + 3];
        nox_ec_key_address(&st.wallet, addr, &err);
        char gw_hex[2 * NOX_ADDRESS_SIZE + 3];
        nox_log(NOX_LOG_INFO, "Runner wallet %s; Gateway %s (wallet %s, authorizations valid %llu s); KMS %s; %zu "
                "operator(s)", nox_hex_encode(addr, sizeof addr, hex), nox_gateway_client_display_url(st.gw),
                nox_hex_encode(st.cfg.gateway_address, NOX_ADDRESS_SIZE, gw_hex),
                (unsigned long long)st.cfg.authorization_lifetime_s,
                st.kms ? nox_kms_client_display_url(st.kms) : st.cfg.kms_group_file,
                nox_engine_op_count(st.engine));
    }
    if (!s) log_ingestors(&st);
    if (!s) s = start_http(&st, ready_file, &server, &err);
    if (!s) { /* before NATS: SIGTERM must also end the wait for a NATS server that does not answer */
        pthread_t sig;
        pthread_create(&sig, NULL, signal_thread, &st);
        pthread_detach(sig);
    }
    if (!s) s = run_nats_start(&st, &err);
    if (s) atomic_store(&st.stop, 1);
    run_nats_wait(&st); /* joins the workers started, if any */
    if (server) { /* before the NATS connection goes: /health reads it */
        nox_http_server_stop(server);
        nox_http_server_free(server);
    }
    run_nats_close(&st);
    int rc = 0;
    if (s) {
        nox_log(NOX_LOG_ERROR, "%s", err.message);
        rc = 1;
    } else {
        nox_log(NOX_LOG_INFO, "stopped");
    }
    nox_gateway_client_free(st.gw);
    nox_attest_provider_free(st.attest);
    nox_kms_client_free(st.kms);
    nox_rsa_free(st.rsa);
    nox_engine_free(st.engine);
    nox_ec_key_wipe(&st.wallet);
    free(st.m.events_by_op);
    nox_nats_shutdown(2000);
    return rc;
}
